//! PACE v2 with Generic Mapping over ECDH (ICAO 9303 Part 11, 4.4 and Appendix G), MRZ- or
//! CAN-based, for 3DES and AES-128/192/256 on every standardised curve from 224 bits up
//! (secp224r1, secp256r1, secp384r1, secp521r1, brainpoolP224r1 to brainpoolP512r1).
//!
//! Sans-IO: [`PaceTerminal`] turns each General Authenticate response into the next command;
//! [`PaceChip`] is the chip side (test doubles, the virtual ePassport). Chip Authentication
//! Mapping (AES) is supported; Integrated Mapping and DH groups are not, and are reported as
//! such.
//!
//! The curve arithmetic is OpenSSL's ([`crate::crypto::ecc`]): every multiplication by a
//! secret (mapping key, ephemeral key, nonce, chip key) is a single-term multiplication,
//! computed in constant time, and secret scalars are cleared when dropped.

use std::fmt;

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::apdu::CommandApdu;
use crate::authenticity::curves;
use crate::crypto::ecc::{EcCurve, EcError, Point, Scalar};
use crate::crypto::{self, CipherSuite, CryptoError, KdfCounter, SessionKeys};
use crate::mrz::MrzInformation;
use crate::security_info::{ID_PACE, ObjectIdentifier, PaceInfo};
use crate::sm::SecureMessaging;
use crate::tlv::{self, TlvError};

/// Errors of PACE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaceError {
    /// The protocol OID is not a PACE variant this implementation runs.
    #[error("unsupported PACE protocol {0}")]
    UnsupportedProtocol(ObjectIdentifier),
    /// The domain parameters are not one of the supported standardised curves.
    #[error("unsupported PACE domain parameter id {0:?}")]
    UnsupportedParameters(Option<u64>),
    /// Cipher failure.
    #[error("PACE crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// Bad point or scalar.
    #[error("PACE elliptic curve: {0}")]
    Ec(#[from] EcError),
    /// Malformed dynamic authentication data.
    #[error("PACE dynamic authentication data: {0}")]
    Tlv(#[from] TlvError),
    /// A nonce of the wrong length.
    #[error("PACE nonce of {0} bytes")]
    NonceLength(usize),
    /// The mapping or key agreement produced the point at infinity.
    #[error("PACE mapping produced the point at infinity")]
    Infinity,
    /// Both sides sent the same ephemeral public key (reflection).
    #[error("PACE ephemeral public keys are identical")]
    ReflectedKey,
    /// The authentication token does not verify (wrong password, or tampering).
    #[error("PACE authentication token does not verify (wrong MRZ/CAN?)")]
    TokenMismatch,
    /// Steps were called out of order.
    #[error("PACE step called out of order")]
    OutOfOrder,
    /// Chip Authentication Mapping data missing, or the chip's static key is not set (chip side).
    #[error("PACE chip authentication data missing")]
    ChipAuthenticationDataMissing,
    /// The chip authentication data does not match the chip's static public key.
    #[error("PACE chip authentication mapping does not verify")]
    ChipAuthenticationFailed,
}

/// The password PACE derives K_pi from. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub enum PacePassword {
    /// MRZ information (document number, birth and expiry dates with check digits).
    Mrz(MrzInformation),
    /// Card access number printed on the document.
    Can(String),
}

impl fmt::Debug for PacePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacePassword::Mrz(_) => f.write_str("PacePassword::Mrz(<redacted>)"),
            PacePassword::Can(_) => f.write_str("PacePassword::Can(<redacted>)"),
        }
    }
}

impl Drop for PacePassword {
    fn drop(&mut self) {
        // The MRZ variant zeroizes itself.
        if let PacePassword::Can(can) = self {
            zeroize::Zeroize::zeroize(can);
        }
    }
}

impl PacePassword {
    /// Password reference for MSE:Set AT (`01` MRZ, `02` CAN).
    pub fn reference(&self) -> u8 {
        match self {
            PacePassword::Mrz(_) => 1,
            PacePassword::Can(_) => 2,
        }
    }

    /// K_pi = KDF(f(password), 3).
    pub fn key(&self, cipher: CipherSuite) -> Vec<u8> {
        match self {
            PacePassword::Mrz(info) => {
                crypto::kdf(&Sha1::digest(info.as_bytes()), KdfCounter::Pace, cipher)
            }
            PacePassword::Can(can) => crypto::kdf(can.as_bytes(), KdfCounter::Pace, cipher),
        }
    }
}

/// Nonce mapping of a PACE variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mapping {
    /// Generic Mapping (ECDH).
    Generic,
    /// Chip Authentication Mapping: Generic Mapping plus encrypted chip authentication data
    /// in the last step, verified against the chip's static key from EF.CardSecurity.
    ChipAuthentication,
}

/// Mapping and cipher suite of a PACE protocol OID (ECDH-GM with 3DES/AES, ECDH-CAM with
/// AES), or an error for unsupported variants (DH, Integrated Mapping).
pub fn protocol_parameters(
    protocol: &ObjectIdentifier,
) -> Result<(Mapping, CipherSuite), PaceError> {
    let unsupported = || PaceError::UnsupportedProtocol(protocol.clone());
    let cipher = |c: u8| match c {
        1 => Some(CipherSuite::Tdes),
        2 => Some(CipherSuite::Aes128),
        3 => Some(CipherSuite::Aes192),
        4 => Some(CipherSuite::Aes256),
        _ => None,
    };
    match protocol.0.strip_prefix(ID_PACE) {
        // 2 = ECDH-GM, 6 = ECDH-CAM; then 1 3DES, 2 AES-128, 3 AES-192, 4 AES-256.
        Some([2, c]) => cipher(*c)
            .map(|c| (Mapping::Generic, c))
            .ok_or_else(unsupported),
        Some([6, c]) if *c >= 2 => cipher(*c)
            .map(|c| (Mapping::ChipAuthentication, c))
            .ok_or_else(unsupported),
        _ => Err(unsupported()),
    }
}

/// The ICAO 9303 Part 11 standardised domain parameter ids PACE runs on here: every
/// elliptic curve from 224 bits up (10 secp224r1, 11 brainpoolP224r1, 12 secp256r1,
/// 13 brainpoolP256r1, 14 brainpoolP320r1, 15 secp384r1, 16 brainpoolP384r1,
/// 17 brainpoolP512r1, 18 secp521r1). Not yet: the DH groups (0-2) and the 192-bit curves (8, 9).
const PACE_PARAMETER_IDS: [u64; 9] = [10, 11, 12, 13, 14, 15, 16, 17, 18];

/// The named curve of a PACE standardised domain parameter id, if supported.
fn pace_curve(id: Option<u64>) -> Option<&'static curves::NamedCurve> {
    id.filter(|id| PACE_PARAMETER_IDS.contains(id))
        .and_then(curves::named_by_standard_id)
}

/// True if this implementation can run the PACEInfo (ECDH-GM on a supported curve).
pub fn is_supported(info: &PaceInfo) -> bool {
    protocol_parameters(&info.protocol).is_ok() && pace_curve(info.parameter_id).is_some()
}

/// MSE:Set AT selecting PACE. The parameter id (tag 0x84) is included when asked, which
/// ICAO requires when the chip offers several parameter sets and some chips require always.
pub fn mse_set_at(
    info: &PaceInfo,
    password: &PacePassword,
    include_parameter_id: bool,
) -> CommandApdu {
    let mut data = tlv::encode(0x80, &info.protocol.0);
    data.extend(tlv::encode(0x83, &[password.reference()]));
    if include_parameter_id && let Some(id) = info.parameter_id {
        data.extend(tlv::encode(0x84, &[u8::try_from(id).unwrap_or(u8::MAX)]));
    }
    CommandApdu::new(0x00, 0x22, 0xC1, 0xA4).with_data(data)
}

/// GENERAL AUTHENTICATE with dynamic authentication data `7C { inner }`; all but the last step
/// use command chaining (CLA 0x10).
pub fn general_authenticate(inner: &[u8], last: bool) -> CommandApdu {
    CommandApdu::new(if last { 0x00 } else { 0x10 }, 0x86, 0x00, 0x00)
        .with_data(tlv::encode(0x7C, inner))
        .with_le(256)
}

/// The value of `tag` inside dynamic authentication data `7C {...}`.
fn dynamic_object(data: &[u8], tag: u32) -> Result<Vec<u8>, PaceError> {
    let (outer, _) = tlv::parse_one(data)?;
    let outer = outer.expect_tag(0x7C)?;
    Ok(tlv::require(outer.value, tag)?.value.to_vec())
}

/// Shared protocol context of both sides.
struct Context {
    curve: EcCurve,
    curve_name: &'static str,
    mapping: Mapping,
    cipher: CipherSuite,
    protocol: ObjectIdentifier,
    k_pi: Vec<u8>,
}

impl Drop for Context {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.k_pi);
    }
}

impl Context {
    fn new(info: &PaceInfo, password: &PacePassword) -> Result<Context, PaceError> {
        let (mapping, cipher) = protocol_parameters(&info.protocol)?;
        let named = pace_curve(info.parameter_id)
            .ok_or(PaceError::UnsupportedParameters(info.parameter_id))?;
        Ok(Context {
            curve: EcCurve::new(named.curve)?,
            curve_name: named.name,
            mapping,
            cipher,
            protocol: info.protocol.clone(),
            k_pi: password.key(cipher),
        })
    }

    /// Generic Mapping: G~ = s * G + H, with H = sk_map * pk_map_other. Each product has one
    /// secret factor and is computed alone (OpenSSL's constant-time ladder); the sum adds
    /// two points.
    fn map(&self, nonce: &[u8], sk_map: &Scalar, pk_map_other: &Point) -> Result<Point, PaceError> {
        let h = self.curve.mul(sk_map, pk_map_other)?;
        if self.curve.is_infinity(&h) {
            return Err(PaceError::Infinity);
        }
        let s = self.curve.scalar_from_bytes(nonce)?;
        let g = self.curve.add(&self.curve.mul_generator(&s)?, &h)?;
        if self.curve.is_infinity(&g) {
            return Err(PaceError::Infinity);
        }
        Ok(g)
    }

    /// K = x(sk_eph * pk_eph_other), session keys from K.
    fn agree(
        &self,
        sk_eph: &Scalar,
        pk_own: &Point,
        pk_other: &Point,
    ) -> Result<SessionKeys, PaceError> {
        if self.curve.equal(pk_own, pk_other)? {
            return Err(PaceError::ReflectedKey);
        }
        let shared = self.curve.mul(sk_eph, pk_other)?;
        if self.curve.is_infinity(&shared) {
            return Err(PaceError::Infinity);
        }
        let x = Zeroizing::new(self.curve.x_coordinate(&shared)?);
        Ok(SessionKeys::derive(&x, self.cipher))
    }

    /// A point's encoding; the point at infinity (only from degenerate fixed keys) has none.
    fn encode(&self, point: &Point) -> Result<Vec<u8>, PaceError> {
        self.curve.encode(point).map_err(|e| match e {
            EcError::Infinity => PaceError::Infinity,
            other => PaceError::Ec(other),
        })
    }

    fn token_input(&self, point: &Point) -> Result<Vec<u8>, PaceError> {
        let mut inner = tlv::encode(0x06, &self.protocol.0);
        inner.extend(tlv::encode(0x86, &self.encode(point)?));
        Ok(tlv::encode(0x7F49, &inner))
    }

    /// Authentication token over the other side's ephemeral public key.
    fn token(&self, keys: &SessionKeys, point: &Point) -> Result<[u8; 8], PaceError> {
        let input = self.token_input(point)?;
        Ok(match self.cipher {
            CipherSuite::Tdes => crypto::mac(self.cipher, &keys.mac, &crypto::pad(&input, 8))?,
            _ => crypto::mac(self.cipher, &keys.mac, &input)?,
        })
    }

    /// IV for the chip authentication data: E(KSenc, all-ones block).
    fn cam_iv(&self, keys: &SessionKeys) -> Result<Vec<u8>, CryptoError> {
        crypto::encrypt_block(self.cipher, &keys.enc, &vec![0xFF; self.cipher.block_len()])
    }

    fn scalar(&self, bytes: Option<&[u8]>) -> Result<Scalar, PaceError> {
        match bytes {
            Some(b) => Ok(self.curve.scalar_from_bytes(b)?),
            None => Ok(self.curve.random_scalar()?),
        }
    }
}

/// Where a PACE run is.
enum Stage {
    Nonce,
    Mapping {
        nonce: Vec<u8>,
    },
    Agreement {
        generator: Point,
    },
    Token {
        keys: SessionKeys,
        own: Point,
        other: Point,
    },
    Done,
}

/// Terminal side of PACE-ECDH-GM.
pub struct PaceTerminal {
    ctx: Context,
    sk_map: Scalar,
    sk_eph: Scalar,
    stage: Stage,
    pk_map_ic: Option<Point>,
    chip_authentication_data: Option<Scalar>,
}

impl fmt::Debug for PaceTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PaceTerminal({}, {:?})",
            self.ctx.curve_name, self.ctx.cipher
        )
    }
}

impl PaceTerminal {
    /// Starts PACE with random ephemeral keys.
    pub fn new(info: &PaceInfo, password: &PacePassword) -> Result<PaceTerminal, PaceError> {
        Self::build(info, password, None, None)
    }

    /// Starts PACE with fixed mapping and ephemeral private keys (reproducing test vectors).
    pub fn with_keys(
        info: &PaceInfo,
        password: &PacePassword,
        sk_map: &[u8],
        sk_eph: &[u8],
    ) -> Result<PaceTerminal, PaceError> {
        Self::build(info, password, Some(sk_map), Some(sk_eph))
    }

    fn build(
        info: &PaceInfo,
        password: &PacePassword,
        sk_map: Option<&[u8]>,
        sk_eph: Option<&[u8]>,
    ) -> Result<PaceTerminal, PaceError> {
        let ctx = Context::new(info, password)?;
        Ok(PaceTerminal {
            sk_map: ctx.scalar(sk_map)?,
            sk_eph: ctx.scalar(sk_eph)?,
            ctx,
            stage: Stage::Nonce,
            pk_map_ic: None,
            chip_authentication_data: None,
        })
    }

    /// Nonce mapping of the protocol.
    pub fn mapping(&self) -> Mapping {
        self.ctx.mapping
    }

    /// Session cipher.
    pub fn cipher(&self) -> CipherSuite {
        self.ctx.cipher
    }

    /// Step 1 command: request the encrypted nonce.
    pub fn first_command(&self) -> CommandApdu {
        general_authenticate(&[], false)
    }

    /// Handles the step 1 response (encrypted nonce) and returns the step 2 command (mapping key).
    pub fn handle_nonce(&mut self, response_data: &[u8]) -> Result<CommandApdu, PaceError> {
        if !matches!(self.stage, Stage::Nonce) {
            return Err(PaceError::OutOfOrder);
        }
        let z = dynamic_object(response_data, 0x80)?;
        if z.is_empty() || z.len() % self.ctx.cipher.block_len() != 0 {
            return Err(PaceError::NonceLength(z.len()));
        }
        let nonce = crypto::cbc_decrypt(
            self.ctx.cipher,
            &self.ctx.k_pi,
            &vec![0; self.ctx.cipher.block_len()],
            &z,
        )?;
        let pk_map = self.ctx.curve.mul_generator(&self.sk_map)?;
        let encoded = self.ctx.encode(&pk_map)?;
        self.stage = Stage::Mapping { nonce };
        Ok(general_authenticate(&tlv::encode(0x81, &encoded), false))
    }

    /// Handles the step 2 response (chip mapping key) and returns the step 3 command
    /// (terminal ephemeral key on the mapped generator).
    pub fn handle_mapping(&mut self, response_data: &[u8]) -> Result<CommandApdu, PaceError> {
        let Stage::Mapping { nonce } = &self.stage else {
            return Err(PaceError::OutOfOrder);
        };
        let pk_map_ic = self
            .ctx
            .curve
            .decode(&dynamic_object(response_data, 0x82)?)?;
        let generator = self.ctx.map(nonce, &self.sk_map, &pk_map_ic)?;
        let pk_eph = self.ctx.curve.mul(&self.sk_eph, &generator)?;
        let encoded = self.ctx.encode(&pk_eph)?;
        self.stage = Stage::Agreement { generator };
        self.pk_map_ic = Some(pk_map_ic);
        Ok(general_authenticate(&tlv::encode(0x83, &encoded), false))
    }

    /// Handles the step 3 response (chip ephemeral key) and returns the step 4 command
    /// (terminal authentication token).
    pub fn handle_key_agreement(&mut self, response_data: &[u8]) -> Result<CommandApdu, PaceError> {
        let Stage::Agreement { generator } = &self.stage else {
            return Err(PaceError::OutOfOrder);
        };
        let other = self
            .ctx
            .curve
            .decode(&dynamic_object(response_data, 0x84)?)?;
        let own = self.ctx.curve.mul(&self.sk_eph, generator)?;
        let keys = self.ctx.agree(&self.sk_eph, &own, &other)?;
        let token = self.ctx.token(&keys, &other)?;
        self.stage = Stage::Token { keys, own, other };
        Ok(general_authenticate(&tlv::encode(0x85, &token), true))
    }

    /// Verifies the chip's token (step 4 response) and returns the secure messaging session.
    pub fn finish(&mut self, response_data: &[u8]) -> Result<SecureMessaging, PaceError> {
        let Stage::Token { keys, own, .. } = &self.stage else {
            return Err(PaceError::OutOfOrder);
        };
        let received = dynamic_object(response_data, 0x86)?;
        let expected = self.ctx.token(keys, own)?;
        if !crypto::mac_eq(&received, &expected) {
            return Err(PaceError::TokenMismatch);
        }
        if self.ctx.mapping == Mapping::ChipAuthentication {
            let encrypted = dynamic_object(response_data, 0x8A)
                .map_err(|_| PaceError::ChipAuthenticationDataMissing)?;
            let plain = crypto::cbc_decrypt(
                self.ctx.cipher,
                &keys.enc,
                &self.ctx.cam_iv(keys)?,
                &encrypted,
            )?;
            let ca = self.ctx.curve.scalar_from_bytes(crypto::unpad(&plain)?)?;
            self.chip_authentication_data = Some(ca);
        }
        let sm = SecureMessaging::new(keys.clone(), &[]);
        self.stage = Stage::Done;
        Ok(sm)
    }

    /// Chip Authentication Mapping: checks `CA_IC * PK_IC == PK_map,IC` with the chip's
    /// static public key (uncompressed point, from EF.CardSecurity). Only after [`Self::finish`]
    /// of a CAM run. Proves the chip holds the key of EF.CardSecurity; that file's signature
    /// still has to be verified (passive authentication) for the proof to mean anything.
    pub fn verify_chip_authentication(&self, chip_public_key: &[u8]) -> Result<(), PaceError> {
        let (Some(ca), Some(pk_map_ic)) = (&self.chip_authentication_data, &self.pk_map_ic) else {
            return Err(PaceError::ChipAuthenticationDataMissing);
        };
        let pk_ic = self.ctx.curve.decode(chip_public_key)?;
        if self
            .ctx
            .curve
            .equal(&self.ctx.curve.mul(ca, &pk_ic)?, pk_map_ic)?
        {
            Ok(())
        } else {
            Err(PaceError::ChipAuthenticationFailed)
        }
    }
}

/// Chip side of PACE-ECDH-GM, for test doubles and the virtual ePassport.
pub struct PaceChip {
    ctx: Context,
    nonce: Vec<u8>,
    sk_map: Scalar,
    sk_eph: Scalar,
    stage: Stage,
    chip_key: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for PaceChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PaceChip({}, {:?})",
            self.ctx.curve_name, self.ctx.cipher
        )
    }
}

impl PaceChip {
    /// Starts with a random nonce and random keys.
    pub fn new(info: &PaceInfo, password: &PacePassword) -> Result<PaceChip, PaceError> {
        let ctx = Context::new(info, password)?;
        let mut nonce = vec![0u8; ctx.cipher.block_len()];
        crypto::random_bytes(&mut nonce)?;
        Ok(PaceChip {
            sk_map: ctx.scalar(None)?,
            sk_eph: ctx.scalar(None)?,
            ctx,
            nonce,
            stage: Stage::Nonce,
            chip_key: None,
        })
    }

    /// Sets the chip's static private key, needed for Chip Authentication Mapping.
    pub fn with_chip_key(mut self, private_key: &[u8]) -> PaceChip {
        self.chip_key = Some(Zeroizing::new(private_key.to_vec()));
        self
    }

    /// Starts with a fixed nonce and keys (reproducing test vectors).
    pub fn with_secrets(
        info: &PaceInfo,
        password: &PacePassword,
        nonce: &[u8],
        sk_map: &[u8],
        sk_eph: &[u8],
    ) -> Result<PaceChip, PaceError> {
        let ctx = Context::new(info, password)?;
        if nonce.len() != ctx.cipher.block_len() {
            return Err(PaceError::NonceLength(nonce.len()));
        }
        Ok(PaceChip {
            sk_map: ctx.scalar(Some(sk_map))?,
            sk_eph: ctx.scalar(Some(sk_eph))?,
            ctx,
            nonce: nonce.to_vec(),
            stage: Stage::Nonce,
            chip_key: None,
        })
    }

    /// Handles one GENERAL AUTHENTICATE command data field; returns the response data and,
    /// after the last step, the chip's secure messaging session.
    pub fn general_authenticate(
        &mut self,
        command_data: &[u8],
    ) -> Result<(Vec<u8>, Option<SecureMessaging>), PaceError> {
        let curve = &self.ctx.curve;
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Nonce => {
                let (outer, _) = tlv::parse_one(command_data)?;
                outer.expect_tag(0x7C)?;
                let z = crypto::cbc_encrypt(
                    self.ctx.cipher,
                    &self.ctx.k_pi,
                    &vec![0; self.nonce.len()],
                    &self.nonce,
                )?;
                self.stage = Stage::Mapping { nonce: Vec::new() };
                Ok((tlv::encode(0x7C, &tlv::encode(0x80, &z)), None))
            }
            Stage::Mapping { .. } => {
                let pk_map_ifd = curve.decode(&dynamic_object(command_data, 0x81)?)?;
                let pk_map = curve.mul_generator(&self.sk_map)?;
                let generator = self.ctx.map(&self.nonce, &self.sk_map, &pk_map_ifd)?;
                let encoded = self.ctx.encode(&pk_map)?;
                self.stage = Stage::Agreement { generator };
                Ok((tlv::encode(0x7C, &tlv::encode(0x82, &encoded)), None))
            }
            Stage::Agreement { generator } => {
                let other = curve.decode(&dynamic_object(command_data, 0x83)?)?;
                let own = curve.mul(&self.sk_eph, &generator)?;
                let keys = self.ctx.agree(&self.sk_eph, &own, &other)?;
                let encoded = self.ctx.encode(&own)?;
                self.stage = Stage::Token { keys, own, other };
                Ok((tlv::encode(0x7C, &tlv::encode(0x84, &encoded)), None))
            }
            Stage::Token { keys, own, other } => {
                let received = dynamic_object(command_data, 0x85)?;
                if !crypto::mac_eq(&received, &self.ctx.token(&keys, &own)?) {
                    return Err(PaceError::TokenMismatch);
                }
                let token = self.ctx.token(&keys, &other)?;
                let mut inner = tlv::encode(0x86, &token);
                if self.ctx.mapping == Mapping::ChipAuthentication {
                    // CA_IC = SK_map,IC * SK_IC^-1 mod n, so that CA_IC * PK_IC = PK_map,IC.
                    let sk_ic = self
                        .chip_key
                        .as_ref()
                        .ok_or(PaceError::ChipAuthenticationDataMissing)?;
                    let sk_ic = curve.scalar_from_bytes(sk_ic)?;
                    let ca = curve.mul_inverse(&self.sk_map, &sk_ic)?;
                    let ca = Zeroizing::new(curve.scalar_bytes(&ca)?);
                    let plain = crypto::pad(&ca, self.ctx.cipher.block_len());
                    let encrypted = crypto::cbc_encrypt(
                        self.ctx.cipher,
                        &keys.enc,
                        &self.ctx.cam_iv(&keys)?,
                        &plain,
                    )?;
                    inner.extend(tlv::encode(0x8A, &encrypted));
                }
                Ok((
                    tlv::encode(0x7C, &inner),
                    Some(SecureMessaging::new(keys, &[])),
                ))
            }
            Stage::Done => Err(PaceError::OutOfOrder),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::StatusWord;
    use crate::security_info::{pace_infos, parse_security_infos};

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn appendix_g() -> (PaceInfo, PacePassword) {
        let infos =
            parse_security_infos(&h("31143012060A04007F0007020204020202010202010D")).unwrap();
        let info = pace_infos(&infos).remove(0);
        let password =
            PacePassword::Mrz(MrzInformation::new("T22000129", "640812", "101031").unwrap());
        (info, password)
    }

    const TERMINAL_SK_MAP: &str =
        "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99";
    const TERMINAL_SK_EPH: &str =
        "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595";
    const CHIP_SK_MAP: &str = "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560";
    const CHIP_SK_EPH: &str = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A";
    const NONCE: &str = "3F00C4D39D153F2B2A214A078D899B22";

    #[test]
    fn reproduces_appendix_g_brainpool_p256() {
        let (info, password) = appendix_g();
        assert_eq!(
            Sha1::digest(match &password {
                PacePassword::Mrz(i) => i.as_bytes(),
                PacePassword::Can(_) => unreachable!(),
            })
            .to_vec(),
            h("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
        );
        assert_eq!(
            password.key(CipherSuite::Aes128),
            h("89DED1B26624EC1E634C1989302849DD")
        );
        assert_eq!(
            mse_set_at(&info, &password, false).to_bytes().unwrap(),
            h("0022C1A40F800A04007F00070202040202830101")
        );

        let mut chip = PaceChip::with_secrets(
            &info,
            &password,
            &h(NONCE),
            &h(CHIP_SK_MAP),
            &h(CHIP_SK_EPH),
        )
        .unwrap();
        let mut terminal =
            PaceTerminal::with_keys(&info, &password, &h(TERMINAL_SK_MAP), &h(TERMINAL_SK_EPH))
                .unwrap();

        let cmd = terminal.first_command();
        assert_eq!(cmd.to_bytes().unwrap(), h("10860000027C0000"));
        let (resp, _) = chip.general_authenticate(&cmd.data).unwrap();
        assert_eq!(resp, h("7C12801095A3A016522EE98D01E76CB6B98B42C3"));

        let cmd = terminal.handle_nonce(&resp).unwrap();
        assert_eq!(
            cmd.data,
            h(
                "7C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
            )
        );
        let (resp, _) = chip.general_authenticate(&cmd.data).unwrap();
        assert_eq!(
            resp,
            h(
                "7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
            )
        );
        // Mapped generator and H, computed independently here.
        let ctx = Context::new(&info, &password).unwrap();
        let curve = &ctx.curve;
        let sk_map = curve.scalar_from_bytes(&h(TERMINAL_SK_MAP)).unwrap();
        let pk_map_ic = curve.decode(&resp[4..]).unwrap();
        let encoded = |p: &Point| hex::encode_upper(curve.encode(p).unwrap());
        assert_eq!(
            encoded(&curve.mul(&sk_map, &pk_map_ic).unwrap()),
            "04\
             60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5\
             0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"
        );
        assert_eq!(
            encoded(&ctx.map(&h(NONCE), &sk_map, &pk_map_ic).unwrap()),
            "04\
             8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2\
             8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"
        );

        let cmd = terminal.handle_mapping(&resp).unwrap();
        let mut expected = h("7C43834104");
        expected.extend(h(
            "2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C",
        ));
        expected.extend(h(
            "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462",
        ));
        assert_eq!(cmd.data, expected);
        let (resp, _) = chip.general_authenticate(&cmd.data).unwrap();
        let mut expected = h("7C43844104");
        expected.extend(h(
            "9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB",
        ));
        expected.extend(h(
            "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094",
        ));
        assert_eq!(resp, expected);
        let chip_pk = curve.decode(&resp[4..]).unwrap();
        assert_eq!(
            ctx.token_input(&chip_pk).unwrap(),
            h(
                "7F494F060A04007F000702020402028641049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
            )
        );
        let generator = ctx.map(&h(NONCE), &sk_map, &pk_map_ic).unwrap();
        let sk_eph = curve.scalar_from_bytes(&h(TERMINAL_SK_EPH)).unwrap();
        let own = curve.mul(&sk_eph, &generator).unwrap();
        let keys = ctx.agree(&sk_eph, &own, &chip_pk).unwrap();
        assert_eq!(keys.enc, h("F5F0E35C0D7161EE6724EE513A0D9A7F"));
        assert_eq!(keys.mac, h("FE251C7858B356B24514B3BD5F4297D1"));
        assert_eq!(
            curve
                .x_coordinate(&curve.mul(&sk_eph, &chip_pk).unwrap())
                .unwrap(),
            h("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")
        );

        let cmd = terminal.handle_key_agreement(&resp).unwrap();
        assert_eq!(
            cmd.to_bytes().unwrap(),
            h("008600000C7C0A8508C2B0BD78D94BA86600")
        );
        let (resp, chip_sm) = chip.general_authenticate(&cmd.data).unwrap();
        assert_eq!(resp, h("7C0A86083ABB9674BCE93C08"));
        let mut sm = terminal.finish(&resp).unwrap();
        let mut chip_sm = chip_sm.unwrap();
        assert_eq!(sm.ssc(), [0u8; 16]);
        let read = CommandApdu::new(0, 0xB0, 0, 0).with_le(4);
        assert_eq!(
            chip_sm
                .unwrap_command(&sm.wrap_command(&read).unwrap())
                .unwrap(),
            read
        );
        let resp = chip_sm
            .wrap_response(&[1, 2, 3, 4], StatusWord::SUCCESS, false)
            .unwrap();
        assert_eq!(sm.unwrap_response(&resp).unwrap().data, [1, 2, 3, 4]);
    }

    #[test]
    fn all_supported_suites_agree_and_wrong_password_fails() {
        let mrz = PacePassword::Mrz(MrzInformation::new("T22000129", "640812", "101031").unwrap());
        for (cipher, curve) in [
            (2u8, 12u64),
            (3, 16),
            (4, 15),
            (4, 13),
            (1, 13),
            (1, 10),
            (2, 11),
            (3, 14),
            (4, 17),
            (4, 18),
        ] {
            let mut oid = ID_PACE.to_vec();
            oid.extend([2, cipher]);
            let info = PaceInfo {
                protocol: ObjectIdentifier(oid),
                version: 2,
                parameter_id: Some(curve),
            };
            assert!(is_supported(&info));
            for password in [mrz.clone(), PacePassword::Can("123456".into())] {
                let mut chip = PaceChip::new(&info, &password).unwrap();
                let mut terminal = PaceTerminal::new(&info, &password).unwrap();
                let (r1, _) = chip
                    .general_authenticate(&terminal.first_command().data)
                    .unwrap();
                let (r2, _) = chip
                    .general_authenticate(&terminal.handle_nonce(&r1).unwrap().data)
                    .unwrap();
                let (r3, _) = chip
                    .general_authenticate(&terminal.handle_mapping(&r2).unwrap().data)
                    .unwrap();
                let (r4, chip_sm) = chip
                    .general_authenticate(&terminal.handle_key_agreement(&r3).unwrap().data)
                    .unwrap();
                let mut sm = terminal.finish(&r4).unwrap();
                let mut chip_sm = chip_sm.unwrap();
                let read = CommandApdu::new(0, 0xB0, 0, 0).with_le(300);
                assert_eq!(
                    chip_sm
                        .unwrap_command(&sm.wrap_command(&read).unwrap())
                        .unwrap(),
                    read
                );
            }
            // Wrong CAN: the chip rejects the terminal token.
            let mut chip = PaceChip::new(&info, &PacePassword::Can("123456".into())).unwrap();
            let mut terminal =
                PaceTerminal::new(&info, &PacePassword::Can("654321".into())).unwrap();
            let (r1, _) = chip
                .general_authenticate(&terminal.first_command().data)
                .unwrap();
            let (r2, _) = chip
                .general_authenticate(&terminal.handle_nonce(&r1).unwrap().data)
                .unwrap();
            let (r3, _) = chip
                .general_authenticate(&terminal.handle_mapping(&r2).unwrap().data)
                .unwrap();
            let err = chip.general_authenticate(&terminal.handle_key_agreement(&r3).unwrap().data);
            assert_eq!(err.err(), Some(PaceError::TokenMismatch));
        }
    }

    #[test]
    fn chip_authentication_mapping_verifies_static_key() {
        let password = PacePassword::Can("123456".into());
        for (cipher, curve_id) in [(2u8, 13u64), (4, 16), (2, 10), (3, 14), (4, 17), (4, 18)] {
            let mut oid = ID_PACE.to_vec();
            oid.extend([6, cipher]);
            let info = PaceInfo {
                protocol: ObjectIdentifier(oid),
                version: 2,
                parameter_id: Some(curve_id),
            };
            assert!(is_supported(&info));
            let curve = EcCurve::new(pace_curve(Some(curve_id)).unwrap().curve).unwrap();
            let sk_ic = curve.random_scalar().unwrap();
            let sk_ic_bytes = curve.scalar_bytes(&sk_ic).unwrap();
            let pk_ic = curve.encode(&curve.mul_generator(&sk_ic).unwrap()).unwrap();
            let mut chip = PaceChip::new(&info, &password)
                .unwrap()
                .with_chip_key(&sk_ic_bytes);
            let mut terminal = PaceTerminal::new(&info, &password).unwrap();
            assert_eq!(terminal.mapping(), Mapping::ChipAuthentication);
            let (r1, _) = chip
                .general_authenticate(&terminal.first_command().data)
                .unwrap();
            let (r2, _) = chip
                .general_authenticate(&terminal.handle_nonce(&r1).unwrap().data)
                .unwrap();
            let (r3, _) = chip
                .general_authenticate(&terminal.handle_mapping(&r2).unwrap().data)
                .unwrap();
            let (r4, _) = chip
                .general_authenticate(&terminal.handle_key_agreement(&r3).unwrap().data)
                .unwrap();
            assert_eq!(
                terminal.verify_chip_authentication(&pk_ic).err(),
                Some(PaceError::ChipAuthenticationDataMissing),
                "not before finish"
            );
            terminal.finish(&r4).unwrap();
            terminal.verify_chip_authentication(&pk_ic).unwrap();
            let other = curve
                .encode(
                    &curve
                        .mul_generator(&curve.random_scalar().unwrap())
                        .unwrap(),
                )
                .unwrap();
            assert_eq!(
                terminal.verify_chip_authentication(&other).err(),
                Some(PaceError::ChipAuthenticationFailed)
            );

            // A CAM response without the 8A object is rejected by the terminal.
            let mut chip = PaceChip::new(&info, &password)
                .unwrap()
                .with_chip_key(&sk_ic_bytes);
            let mut terminal = PaceTerminal::new(&info, &password).unwrap();
            let (r1, _) = chip
                .general_authenticate(&terminal.first_command().data)
                .unwrap();
            let (r2, _) = chip
                .general_authenticate(&terminal.handle_nonce(&r1).unwrap().data)
                .unwrap();
            let (r3, _) = chip
                .general_authenticate(&terminal.handle_mapping(&r2).unwrap().data)
                .unwrap();
            let (r4, _) = chip
                .general_authenticate(&terminal.handle_key_agreement(&r3).unwrap().data)
                .unwrap();
            let token = dynamic_object(&r4, 0x86).unwrap();
            let stripped = tlv::encode(0x7C, &tlv::encode(0x86, &token));
            assert_eq!(
                terminal.finish(&stripped).err(),
                Some(PaceError::ChipAuthenticationDataMissing)
            );

            // A CAM chip without its static key cannot answer.
            let mut chip = PaceChip::new(&info, &password).unwrap();
            let mut terminal = PaceTerminal::new(&info, &password).unwrap();
            let (r1, _) = chip
                .general_authenticate(&terminal.first_command().data)
                .unwrap();
            let (r2, _) = chip
                .general_authenticate(&terminal.handle_nonce(&r1).unwrap().data)
                .unwrap();
            let (r3, _) = chip
                .general_authenticate(&terminal.handle_mapping(&r2).unwrap().data)
                .unwrap();
            let step4 = terminal.handle_key_agreement(&r3).unwrap();
            assert_eq!(
                chip.general_authenticate(&step4.data).err(),
                Some(PaceError::ChipAuthenticationDataMissing)
            );
        }
        // CAM with 3DES does not exist.
        let mut oid = ID_PACE.to_vec();
        oid.extend([6, 1]);
        assert!(protocol_parameters(&ObjectIdentifier(oid)).is_err());
    }

    #[test]
    fn openssl_arithmetic_matches_the_textbook_curves_on_every_parameter_set() {
        // The mapping and the ephemeral key on the mapped generator, by OpenSSL and by the
        // crate's former num-bigint arithmetic (an independent implementation), per curve.
        use num_bigint::BigUint;
        let password = PacePassword::Can("123456".into());
        for id in PACE_PARAMETER_IDS {
            let mut oid = ID_PACE.to_vec();
            oid.extend([2, 2]);
            let info = PaceInfo {
                protocol: ObjectIdentifier(oid),
                version: 2,
                parameter_id: Some(id),
            };
            let ctx = Context::new(&info, &password).unwrap();
            let curve = &ctx.curve;
            let textbook = crate::authenticity::curves::by_standard_id(id).unwrap();
            let big = |k: &Scalar| BigUint::from_bytes_be(&curve.scalar_bytes(k).unwrap());
            let sk_map = curve.random_scalar().unwrap();
            let other = curve
                .mul_generator(&curve.random_scalar().unwrap())
                .unwrap();
            let nonce = [0x5A; 16];
            let mapped = ctx.map(&nonce, &sk_map, &other).unwrap();
            let other_textbook = textbook.decode(&curve.encode(&other).unwrap()).unwrap();
            let mapped_textbook = textbook.add(
                &textbook.mul(&BigUint::from_bytes_be(&nonce), textbook.generator()),
                &textbook.mul(&big(&sk_map), &other_textbook),
            );
            assert_eq!(
                curve.encode(&mapped).unwrap(),
                textbook.encode(&mapped_textbook),
                "{id}"
            );
            let sk_eph = curve.random_scalar().unwrap();
            assert_eq!(
                curve.encode(&curve.mul(&sk_eph, &mapped).unwrap()).unwrap(),
                textbook.encode(&textbook.mul(&big(&sk_eph), &mapped_textbook)),
                "{id}"
            );
        }
    }

    #[test]
    fn rejects_unsupported_and_out_of_order() {
        let (mut info, password) = appendix_g();
        let mut terminal = PaceTerminal::new(&info, &password).unwrap();
        assert_eq!(
            terminal.handle_mapping(&h("7C00")).err(),
            Some(PaceError::OutOfOrder)
        );
        assert!(matches!(
            terminal.handle_nonce(&h("7C00")),
            Err(PaceError::Tlv(_))
        ));
        for unsupported in [0, 2, 8, 9, 19] {
            info.parameter_id = Some(unsupported);
            assert!(!is_supported(&info), "{unsupported}");
        }
        info.parameter_id = Some(2);
        assert!(matches!(
            PaceTerminal::new(&info, &password),
            Err(PaceError::UnsupportedParameters(_))
        ));
        info.protocol.0[ID_PACE.len()] = 4; // ECDH-IM
        assert!(matches!(
            PaceTerminal::new(&info, &password),
            Err(PaceError::UnsupportedProtocol(_))
        ));
        assert_eq!(
            mse_set_at(&appendix_g().0, &password, true).data,
            h("800A04007F0007020204020283010184010D")
        );
    }
}

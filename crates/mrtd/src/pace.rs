//! PACE v2 (ICAO 9303 Part 11, 4.4 and Appendices G-I), MRZ- or CAN-based, for 3DES and
//! AES-128/192/256, on every standardised domain parameter set (Part 11, 9.5.1): the DH groups
//! of RFC 5114 (ids 0, 1, 2) and the curves secp192r1 to secp521r1 and brainpoolP192r1 to
//! brainpoolP512r1 (ids 8 to 18), with
//! - Generic Mapping over DH and ECDH,
//! - Integrated Mapping over DH and ECDH (the pseudo-random function `R_p` with AES or 3DES,
//!   and the point encoding of Appendix B; not on secp224r1, whose `p = 1 mod 4` the
//!   encoding of Appendix B does not cover),
//! - Chip Authentication Mapping (ECDH, AES).
//!
//! Sans-IO: [`PaceTerminal`] turns each General Authenticate response into the next command;
//! [`PaceChip`] is the chip side (test doubles, the virtual ePassport).
//!
//! The arithmetic is OpenSSL's ([`crate::crypto::ecc`], [`crate::crypto::dh`]): every
//! multiplication (exponentiation) by a secret (mapping key, ephemeral key, nonce, chip key) is
//! a single-term one computed in constant time (Montgomery ladder; `BN_FLG_CONSTTIME`
//! exponents), the Integrated Mapping's field arithmetic on the nonce-derived value is constant
//! time, and secrets are cleared when dropped.
//!
//! The 1024-bit DH group (id 0) and the 192-bit curves (ids 8, 9) are standardised and
//! supported here; a gate that refuses them says so with
//! [`crate::reader::ReaderOptions::legacy_pace_groups`] ([`LegacyPaceGroups`]).

use std::fmt;

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::apdu::CommandApdu;
use crate::authenticity::curves;
use crate::crypto::dh::{DhElement, DhError, DhGroup, DhSecret};
use crate::crypto::ecc::{EcCurve, EcError, PaceOnlyCurve, Point, Scalar};
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
    /// Bad DH public value (outside the group), or an OpenSSL failure in DH arithmetic.
    #[error("PACE DH: {0}")]
    Dh(#[from] DhError),
    /// The protocol OID's key agreement (DH or ECDH) does not match the domain parameters.
    #[error("PACE protocol {0} does not match domain parameter id {1:?}")]
    MismatchedParameters(ObjectIdentifier, Option<u64>),
    /// Malformed dynamic authentication data.
    #[error("PACE dynamic authentication data: {0}")]
    Tlv(#[from] TlvError),
    /// A nonce of the wrong length.
    #[error("PACE nonce of {0} bytes")]
    NonceLength(usize),
    /// The mapping or key agreement produced the point at infinity (or, over DH, 1).
    #[error("PACE mapping produced the point at infinity (the neutral element)")]
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
    /// Generic Mapping (DH or ECDH): the mapped generator is `s * G + H` (`g^s * h`).
    Generic,
    /// Integrated Mapping (DH or ECDH): the mapped generator is `f(R_p(s, t))`, with the
    /// terminal's nonce `t`.
    Integrated,
    /// Chip Authentication Mapping: Generic Mapping plus encrypted chip authentication data
    /// in the last step, verified against the chip's static key from EF.CardSecurity.
    ChipAuthentication,
}

/// Key agreement of a PACE protocol or domain parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAgreement {
    /// Finite-field Diffie-Hellman.
    Dh,
    /// Elliptic-curve Diffie-Hellman.
    Ecdh,
}

/// Key agreement, mapping and cipher suite of a PACE protocol OID (id-PACE-DH-GM 1,
/// ECDH-GM 2, DH-IM 3, ECDH-IM 4, ECDH-CAM 6; then 1 3DES, 2 AES-128, 3 AES-192, 4 AES-256),
/// or an error for anything else (CAM with 3DES does not exist).
pub fn protocol_suite(
    protocol: &ObjectIdentifier,
) -> Result<(KeyAgreement, Mapping, CipherSuite), PaceError> {
    let unsupported = || PaceError::UnsupportedProtocol(protocol.clone());
    let cipher = |c: u8| match c {
        1 => Some(CipherSuite::Tdes),
        2 => Some(CipherSuite::Aes128),
        3 => Some(CipherSuite::Aes192),
        4 => Some(CipherSuite::Aes256),
        _ => None,
    };
    let Some([m, c]) = protocol.0.strip_prefix(ID_PACE) else {
        return Err(unsupported());
    };
    let (agreement, mapping) = match m {
        1 => (KeyAgreement::Dh, Mapping::Generic),
        2 => (KeyAgreement::Ecdh, Mapping::Generic),
        3 => (KeyAgreement::Dh, Mapping::Integrated),
        4 => (KeyAgreement::Ecdh, Mapping::Integrated),
        6 if *c >= 2 => (KeyAgreement::Ecdh, Mapping::ChipAuthentication),
        _ => return Err(unsupported()),
    };
    cipher(*c)
        .map(|c| (agreement, mapping, c))
        .ok_or_else(unsupported)
}

/// Mapping and cipher suite of a PACE protocol OID (see [`protocol_suite`]).
pub fn protocol_parameters(
    protocol: &ObjectIdentifier,
) -> Result<(Mapping, CipherSuite), PaceError> {
    protocol_suite(protocol).map(|(_, mapping, cipher)| (mapping, cipher))
}

/// Whether a gate accepts PACE on the standardised groups below 112-bit security: the
/// 1024-bit DH group (id 0, ~80 bits) and the 192-bit curves secp192r1 and brainpoolP192r1
/// (ids 8 and 9, ~96 bits). ICAO 9303-11 still standardises them and documents may use them;
/// BSI TR-02102 and NIST SP 800-57 no longer recommend them for new systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegacyPaceGroups {
    /// Run PACE on them like on any other standardised set (the default: a document that
    /// offers only such a set is still opened, and passive authentication still decides).
    #[default]
    Accept,
    /// Do not run PACE on them: the reader falls back to BAC if allowed, else refuses the
    /// document ("no supported PACEInfo").
    Refuse,
}

/// One of ICAO 9303-11's standardised PACE domain parameter sets (9.5.1, table 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardDomain {
    /// Standardised domain parameter id.
    pub id: u64,
    /// Name (`brainpoolP256r1`, `RFC 5114 1024-bit MODP, 160-bit subgroup`...).
    pub name: &'static str,
    /// DH or ECDH.
    pub key_agreement: KeyAgreement,
    /// Below 112-bit security (ids 0, 8, 9), see [`LegacyPaceGroups`].
    pub legacy: bool,
}

/// Every standardised domain parameter set PACE runs on here (ids 3-7 and 19-31 are
/// reserved in ICAO 9303-11).
pub const STANDARD_DOMAINS: [StandardDomain; 14] = {
    const fn dh(id: u64, name: &'static str, legacy: bool) -> StandardDomain {
        StandardDomain {
            id,
            name,
            key_agreement: KeyAgreement::Dh,
            legacy,
        }
    }
    const fn ec(id: u64, name: &'static str, legacy: bool) -> StandardDomain {
        StandardDomain {
            id,
            name,
            key_agreement: KeyAgreement::Ecdh,
            legacy,
        }
    }
    [
        dh(0, "RFC 5114 1024-bit MODP group, 160-bit subgroup", true),
        dh(1, "RFC 5114 2048-bit MODP group, 224-bit subgroup", false),
        dh(2, "RFC 5114 2048-bit MODP group, 256-bit subgroup", false),
        ec(8, "secp192r1", true),
        ec(9, "brainpoolP192r1", true),
        ec(10, "secp224r1", false),
        ec(11, "brainpoolP224r1", false),
        ec(12, "secp256r1", false),
        ec(13, "brainpoolP256r1", false),
        ec(14, "brainpoolP320r1", false),
        ec(15, "secp384r1", false),
        ec(16, "brainpoolP384r1", false),
        ec(17, "brainpoolP512r1", false),
        ec(18, "secp521r1", false),
    ]
};

/// The standardised domain parameter set `id`, if PACE runs on it.
pub fn standard_domain(id: Option<u64>) -> Option<&'static StandardDomain> {
    id.and_then(|id| STANDARD_DOMAINS.iter().find(|d| d.id == id))
}

/// The group of a standardised domain parameter id.
fn group_of(domain: &StandardDomain) -> Result<Group, PaceError> {
    Ok(match domain.id {
        0 => Group::Dh(DhGroup::rfc5114_1024_160()?),
        1 => Group::Dh(DhGroup::rfc5114_2048_224()?),
        2 => Group::Dh(DhGroup::rfc5114_2048_256()?),
        8 => Group::Ec(EcCurve::pace_only(PaceOnlyCurve::Secp192r1)?),
        9 => Group::Ec(EcCurve::pace_only(PaceOnlyCurve::BrainpoolP192r1)?),
        id => {
            let named = curves::named_by_standard_id(id)
                .ok_or(PaceError::UnsupportedParameters(Some(id)))?;
            Group::Ec(EcCurve::new(named.curve)?)
        }
    })
}

/// True if this implementation can run the PACEInfo: a known protocol on a standardised
/// domain parameter set of the same key agreement (Integrated Mapping not on secp224r1).
pub fn is_supported(info: &PaceInfo) -> bool {
    let Ok((agreement, mapping, _)) = protocol_suite(&info.protocol) else {
        return false;
    };
    standard_domain(info.parameter_id).is_some_and(|d| {
        d.key_agreement == agreement && !(mapping == Mapping::Integrated && d.id == 10)
    })
}

/// True if the PACEInfo is supported and allowed under `legacy` (see [`LegacyPaceGroups`]).
pub fn is_allowed(info: &PaceInfo, legacy: LegacyPaceGroups) -> bool {
    is_supported(info)
        && (legacy == LegacyPaceGroups::Accept
            || standard_domain(info.parameter_id).is_some_and(|d| !d.legacy))
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

/// The constants `c0`, `c1` of the pseudo-random function `R_p` (ICAO 9303-11 4.4.3.3.2):
/// `l = 128` for 3DES and AES-128, `l = 256` for AES-192 and AES-256.
fn pseudo_random_constants(cipher: CipherSuite) -> (&'static [u8], &'static [u8]) {
    const C0_128: [u8; 16] = [
        0xa6, 0x68, 0x89, 0x2a, 0x7c, 0x41, 0xe3, 0xca, 0x73, 0x9f, 0x40, 0xb0, 0x57, 0xd8, 0x59,
        0x04,
    ];
    const C1_128: [u8; 16] = [
        0xa4, 0xe1, 0x36, 0xac, 0x72, 0x5f, 0x73, 0x8b, 0x01, 0xc1, 0xf6, 0x02, 0x17, 0xc1, 0x88,
        0xad,
    ];
    const C0_256: [u8; 32] = [
        0xd4, 0x63, 0xd6, 0x52, 0x34, 0x12, 0x4e, 0xf7, 0x89, 0x70, 0x54, 0x98, 0x6d, 0xca, 0x0a,
        0x17, 0x4e, 0x28, 0xdf, 0x75, 0x8c, 0xba, 0xa0, 0x3f, 0x24, 0x06, 0x16, 0x41, 0x4d, 0x5a,
        0x16, 0x76,
    ];
    const C1_256: [u8; 32] = [
        0x54, 0xbd, 0x72, 0x55, 0xf0, 0xaa, 0xf8, 0x31, 0xbe, 0xc3, 0x42, 0x3f, 0xcf, 0x39, 0xd6,
        0x9b, 0x6c, 0xbf, 0x06, 0x66, 0x77, 0xd0, 0xfa, 0xae, 0x5a, 0xad, 0xd9, 0x9d, 0xf8, 0xe5,
        0x35, 0x17,
    ];
    match cipher {
        CipherSuite::Tdes | CipherSuite::Aes128 => (&C0_128, &C1_128),
        CipherSuite::Aes192 | CipherSuite::Aes256 => (&C0_256, &C1_256),
    }
}

/// Length of the chip's nonce `s`: the block length for Generic and Chip Authentication
/// Mapping; `l` bits of `R_p` for Integrated Mapping (16 bytes for 3DES and AES-128, 32 for
/// AES-192/256).
fn nonce_len(mapping: Mapping, cipher: CipherSuite) -> usize {
    match mapping {
        Mapping::Integrated => pseudo_random_constants(cipher).0.len(),
        _ => cipher.block_len(),
    }
}

/// `R_p(s, t)` before the reduction modulo `p` (ICAO 9303-11 4.4.3.3.2, figure 2): the
/// block cipher in CBC mode with IV 0, `k_0 = E(t, s)`, then `x_i = E(k_i, c1)` and
/// `k_{i+1} = E(k_i, c0)` (keys truncated to the cipher's key length), for the smallest `n`
/// with `n * l >= log2(p) + 64`. The output is secret (cleared on drop).
pub fn pseudo_random(
    cipher: CipherSuite,
    s: &[u8],
    t: &[u8],
    p_bits: usize,
) -> Result<Zeroizing<Vec<u8>>, PaceError> {
    let (c0, c1) = pseudo_random_constants(cipher);
    let l = c0.len() * 8;
    let n = (p_bits + 64).div_ceil(l);
    let iv = vec![0; cipher.block_len()];
    let mut key = Zeroizing::new(crypto::cbc_encrypt(cipher, t, &iv, s)?);
    let mut out = Zeroizing::new(Vec::with_capacity(n * c0.len()));
    for _ in 0..n {
        key.truncate(cipher.key_len());
        out.extend(crypto::cbc_encrypt(cipher, &key, &iv, c1)?);
        key = Zeroizing::new(crypto::cbc_encrypt(cipher, &key, &iv, c0)?);
    }
    Ok(out)
}

/// The group PACE computes in: an elliptic curve or a DH group.
enum Group {
    Ec(EcCurve),
    Dh(DhGroup),
}

/// A group element: a point or a DH value.
enum Element {
    Ec(Point),
    Dh(DhElement),
}

/// A secret scalar or exponent (constant time, cleared on drop).
enum Secret {
    Ec(Scalar),
    Dh(DhSecret),
}

impl Group {
    fn secret(&self, bytes: Option<&[u8]>) -> Result<Secret, PaceError> {
        Ok(match (self, bytes) {
            (Group::Ec(c), Some(b)) => Secret::Ec(c.scalar_from_bytes(b)?),
            (Group::Ec(c), None) => Secret::Ec(c.random_scalar()?),
            (Group::Dh(g), Some(b)) => Secret::Dh(g.secret_from_bytes(b)?),
            (Group::Dh(g), None) => Secret::Dh(g.random_secret()?),
        })
    }

    /// An element or secret of the other kind of group (never built by this module).
    fn mismatch() -> PaceError {
        PaceError::UnsupportedParameters(None)
    }

    /// `k * G` (`g^k`).
    fn mul_generator(&self, k: &Secret) -> Result<Element, PaceError> {
        Ok(match (self, k) {
            (Group::Ec(c), Secret::Ec(k)) => Element::Ec(c.mul_generator(k)?),
            (Group::Dh(g), Secret::Dh(k)) => Element::Dh(g.pow(&g.generator()?, k)?),
            _ => return Err(Self::mismatch()),
        })
    }

    /// `k * P` (`P^k`).
    fn mul(&self, k: &Secret, p: &Element) -> Result<Element, PaceError> {
        Ok(match (self, k, p) {
            (Group::Ec(c), Secret::Ec(k), Element::Ec(p)) => Element::Ec(c.mul(k, p)?),
            (Group::Dh(g), Secret::Dh(k), Element::Dh(p)) => Element::Dh(g.pow(p, k)?),
            _ => return Err(Self::mismatch()),
        })
    }

    /// `P + Q` (`P * Q mod p`).
    fn add(&self, p: &Element, q: &Element) -> Result<Element, PaceError> {
        Ok(match (self, p, q) {
            (Group::Ec(c), Element::Ec(p), Element::Ec(q)) => Element::Ec(c.add(p, q)?),
            (Group::Dh(g), Element::Dh(p), Element::Dh(q)) => Element::Dh(g.mul(p, q)?),
            _ => return Err(Self::mismatch()),
        })
    }

    /// The neutral element (point at infinity, or 1).
    fn is_neutral(&self, p: &Element) -> bool {
        match (self, p) {
            (Group::Ec(c), Element::Ec(p)) => c.is_infinity(p),
            (Group::Dh(g), Element::Dh(p)) => g.is_one(p),
            _ => true,
        }
    }

    fn equal(&self, p: &Element, q: &Element) -> Result<bool, PaceError> {
        Ok(match (self, p, q) {
            (Group::Ec(c), Element::Ec(p), Element::Ec(q)) => c.equal(p, q)?,
            (Group::Dh(g), Element::Dh(p), Element::Dh(q)) => g.equal(p, q),
            _ => false,
        })
    }

    /// A peer's public element: a point on the curve, or a DH value in the subgroup.
    fn decode(&self, bytes: &[u8]) -> Result<Element, PaceError> {
        Ok(match self {
            Group::Ec(c) => Element::Ec(c.decode(bytes)?),
            Group::Dh(g) => Element::Dh(g.decode(bytes)?),
        })
    }

    /// The element's encoding in General Authenticate: an uncompressed point, or the DH value
    /// of the modulus length. The neutral element has none.
    fn encode(&self, p: &Element) -> Result<Vec<u8>, PaceError> {
        if self.is_neutral(p) {
            return Err(PaceError::Infinity);
        }
        match (self, p) {
            (Group::Ec(c), Element::Ec(p)) => c.encode(p).map_err(|e| match e {
                EcError::Infinity => PaceError::Infinity,
                other => PaceError::Ec(other),
            }),
            (Group::Dh(g), Element::Dh(p)) => Ok(g.encode(p)?),
            _ => Err(Self::mismatch()),
        }
    }

    /// The public key data object's key (ICAO 9303-11 9.4.5): `86` point, or `84` unsigned
    /// integer (no leading zero octets).
    fn public_key_object(&self, p: &Element) -> Result<Vec<u8>, PaceError> {
        let encoded = self.encode(p)?;
        Ok(match self {
            Group::Ec(_) => tlv::encode(0x86, &encoded),
            Group::Dh(_) => {
                let first = encoded.iter().position(|&b| b != 0).unwrap_or(0);
                tlv::encode(0x84, &encoded[first..])
            }
        })
    }

    /// The shared secret's octets for the key derivation: the x coordinate, or the DH value
    /// (both of the field / modulus length).
    fn shared_secret_bytes(&self, p: &Element) -> Result<Vec<u8>, PaceError> {
        match (self, p) {
            (Group::Ec(c), Element::Ec(p)) => Ok(c.x_coordinate(p)?),
            (Group::Dh(g), Element::Dh(p)) => Ok(g.encode(p)?),
            _ => Err(Self::mismatch()),
        }
    }

    /// Bit length of the field prime or the modulus.
    fn prime_bits(&self) -> usize {
        match self {
            Group::Ec(c) => c.field_bits(),
            Group::Dh(g) => g.modulus_bits(),
        }
    }

    /// Integrated Mapping's `f_G` / `f_g` of the pseudo-random octets.
    fn map_pseudo_random(&self, x: &[u8]) -> Result<Element, PaceError> {
        Ok(match self {
            Group::Ec(c) => Element::Ec(c.map_field_element(x)?),
            Group::Dh(g) => Element::Dh(g.map_to_subgroup(x)?),
        })
    }
}

/// Shared protocol context of both sides.
struct Context {
    group: Group,
    domain_name: &'static str,
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
        let (agreement, mapping, cipher) = protocol_suite(&info.protocol)?;
        let domain = standard_domain(info.parameter_id)
            .ok_or(PaceError::UnsupportedParameters(info.parameter_id))?;
        if domain.key_agreement != agreement {
            return Err(PaceError::MismatchedParameters(
                info.protocol.clone(),
                info.parameter_id,
            ));
        }
        if !is_supported(info) {
            return Err(PaceError::UnsupportedParameters(info.parameter_id));
        }
        Ok(Context {
            group: group_of(domain)?,
            domain_name: domain.name,
            mapping,
            cipher,
            protocol: info.protocol.clone(),
            k_pi: password.key(cipher),
        })
    }

    /// Generic Mapping: G~ = s * G + H, with H = sk_map * pk_map_other (g~ = g^s * h). Each
    /// product has one secret factor and is computed alone (constant time); the sum adds two
    /// elements.
    fn map(
        &self,
        nonce: &[u8],
        sk_map: &Secret,
        pk_map_other: &Element,
    ) -> Result<Element, PaceError> {
        let h = self.group.mul(sk_map, pk_map_other)?;
        if self.group.is_neutral(&h) {
            return Err(PaceError::Infinity);
        }
        let s = self.group.secret(Some(nonce))?;
        let g = self.group.add(&self.group.mul_generator(&s)?, &h)?;
        if self.group.is_neutral(&g) {
            return Err(PaceError::Infinity);
        }
        Ok(g)
    }

    /// Integrated Mapping: G~ = f_G(R_p(s, t)) (g~ = f_g(R_p(s, t)), which must not be 1).
    fn map_integrated(&self, s: &[u8], t: &[u8]) -> Result<Element, PaceError> {
        let x = pseudo_random(self.cipher, s, t, self.group.prime_bits())?;
        let g = self.group.map_pseudo_random(&x)?;
        if self.group.is_neutral(&g) {
            return Err(PaceError::Infinity);
        }
        Ok(g)
    }

    /// K = x(sk_eph * pk_eph_other) (pk_eph_other^sk_eph), session keys from K.
    fn agree(
        &self,
        sk_eph: &Secret,
        pk_own: &Element,
        pk_other: &Element,
    ) -> Result<SessionKeys, PaceError> {
        if self.group.equal(pk_own, pk_other)? {
            return Err(PaceError::ReflectedKey);
        }
        let shared = self.group.mul(sk_eph, pk_other)?;
        if self.group.is_neutral(&shared) {
            return Err(PaceError::Infinity);
        }
        let x = Zeroizing::new(self.group.shared_secret_bytes(&shared)?);
        Ok(SessionKeys::derive(&x, self.cipher))
    }

    fn token_input(&self, point: &Element) -> Result<Vec<u8>, PaceError> {
        let mut inner = tlv::encode(0x06, &self.protocol.0);
        inner.extend(self.group.public_key_object(point)?);
        Ok(tlv::encode(0x7F49, &inner))
    }

    /// Authentication token over the other side's ephemeral public key.
    fn token(&self, keys: &SessionKeys, point: &Element) -> Result<[u8; 8], PaceError> {
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

    /// The curve, for Chip Authentication Mapping (ECDH only).
    fn curve(&self) -> Result<&EcCurve, PaceError> {
        match &self.group {
            Group::Ec(c) => Ok(c),
            Group::Dh(_) => Err(PaceError::UnsupportedProtocol(self.protocol.clone())),
        }
    }
}

/// Where a PACE run is.
enum Stage {
    Nonce,
    Mapping {
        nonce: Zeroizing<Vec<u8>>,
    },
    Agreement {
        generator: Element,
    },
    Token {
        keys: SessionKeys,
        own: Element,
        other: Element,
    },
    Done,
}

/// Terminal side of PACE.
pub struct PaceTerminal {
    ctx: Context,
    /// Generic / CAM: the mapping key.
    sk_map: Secret,
    /// Integrated Mapping: the terminal's nonce `t` (key length).
    nonce_t: Zeroizing<Vec<u8>>,
    sk_eph: Secret,
    stage: Stage,
    pk_map_ic: Option<Element>,
    chip_authentication_data: Option<Scalar>,
}

impl fmt::Debug for PaceTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PaceTerminal({}, {:?}, {:?})",
            self.ctx.domain_name, self.ctx.mapping, self.ctx.cipher
        )
    }
}

impl PaceTerminal {
    /// Starts PACE with random keys (and, for Integrated Mapping, a random nonce `t`).
    pub fn new(info: &PaceInfo, password: &PacePassword) -> Result<PaceTerminal, PaceError> {
        Self::build(info, password, None, None)
    }

    /// Starts PACE with a fixed mapping secret and ephemeral private key (reproducing test
    /// vectors). The mapping secret is the mapping private key for Generic and Chip
    /// Authentication Mapping, and the nonce `t` (of the cipher's key length) for Integrated
    /// Mapping.
    pub fn with_keys(
        info: &PaceInfo,
        password: &PacePassword,
        mapping_secret: &[u8],
        sk_eph: &[u8],
    ) -> Result<PaceTerminal, PaceError> {
        Self::build(info, password, Some(mapping_secret), Some(sk_eph))
    }

    fn build(
        info: &PaceInfo,
        password: &PacePassword,
        mapping_secret: Option<&[u8]>,
        sk_eph: Option<&[u8]>,
    ) -> Result<PaceTerminal, PaceError> {
        let ctx = Context::new(info, password)?;
        let integrated = ctx.mapping == Mapping::Integrated;
        let nonce_t = match (integrated, mapping_secret) {
            (true, Some(t)) => {
                if t.len() != ctx.cipher.key_len() {
                    return Err(PaceError::NonceLength(t.len()));
                }
                t.to_vec()
            }
            (true, None) => {
                let mut t = vec![0; ctx.cipher.key_len()];
                crypto::random_bytes(&mut t)?;
                t
            }
            (false, _) => Vec::new(),
        };
        let sk_map = ctx.group.secret(if integrated {
            Some(&[1])
        } else {
            mapping_secret
        })?;
        Ok(PaceTerminal {
            sk_map,
            nonce_t: Zeroizing::new(nonce_t),
            sk_eph: ctx.group.secret(sk_eph)?,
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

    /// Handles the step 1 response (encrypted nonce) and returns the step 2 command (mapping
    /// key, or the nonce `t` for Integrated Mapping).
    pub fn handle_nonce(&mut self, response_data: &[u8]) -> Result<CommandApdu, PaceError> {
        if !matches!(self.stage, Stage::Nonce) {
            return Err(PaceError::OutOfOrder);
        }
        let z = dynamic_object(response_data, 0x80)?;
        let bad_length = match self.ctx.mapping {
            Mapping::Integrated => z.len() != nonce_len(Mapping::Integrated, self.ctx.cipher),
            _ => z.is_empty() || z.len() % self.ctx.cipher.block_len() != 0,
        };
        if bad_length {
            return Err(PaceError::NonceLength(z.len()));
        }
        let nonce = Zeroizing::new(crypto::cbc_decrypt(
            self.ctx.cipher,
            &self.ctx.k_pi,
            &vec![0; self.ctx.cipher.block_len()],
            &z,
        )?);
        let mapping_data = match self.ctx.mapping {
            Mapping::Integrated => self.nonce_t.to_vec(),
            _ => {
                let pk_map = self.ctx.group.mul_generator(&self.sk_map)?;
                self.ctx.group.encode(&pk_map)?
            }
        };
        self.stage = Stage::Mapping { nonce };
        Ok(general_authenticate(
            &tlv::encode(0x81, &mapping_data),
            false,
        ))
    }

    /// Handles the step 2 response (chip mapping key, empty for Integrated Mapping) and
    /// returns the step 3 command (terminal ephemeral key on the mapped generator).
    pub fn handle_mapping(&mut self, response_data: &[u8]) -> Result<CommandApdu, PaceError> {
        let Stage::Mapping { nonce } = &self.stage else {
            return Err(PaceError::OutOfOrder);
        };
        let mapping_data = dynamic_object(response_data, 0x82)?;
        let generator = match self.ctx.mapping {
            Mapping::Integrated => self.ctx.map_integrated(nonce, &self.nonce_t)?,
            _ => {
                let pk_map_ic = self.ctx.group.decode(&mapping_data)?;
                let generator = self.ctx.map(nonce, &self.sk_map, &pk_map_ic)?;
                self.pk_map_ic = Some(pk_map_ic);
                generator
            }
        };
        let pk_eph = self.ctx.group.mul(&self.sk_eph, &generator)?;
        let encoded = self.ctx.group.encode(&pk_eph)?;
        self.stage = Stage::Agreement { generator };
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
            .group
            .decode(&dynamic_object(response_data, 0x84)?)?;
        let own = self.ctx.group.mul(&self.sk_eph, generator)?;
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
            let plain = Zeroizing::new(crypto::cbc_decrypt(
                self.ctx.cipher,
                &keys.enc,
                &self.ctx.cam_iv(keys)?,
                &encrypted,
            )?);
            let ca = self
                .ctx
                .curve()?
                .scalar_from_bytes(crypto::unpad(&plain)?)?;
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
        let (Some(ca), Some(Element::Ec(pk_map_ic))) =
            (&self.chip_authentication_data, &self.pk_map_ic)
        else {
            return Err(PaceError::ChipAuthenticationDataMissing);
        };
        let curve = self.ctx.curve()?;
        let pk_ic = curve.decode(chip_public_key)?;
        if curve.equal(&curve.mul(ca, &pk_ic)?, pk_map_ic)? {
            Ok(())
        } else {
            Err(PaceError::ChipAuthenticationFailed)
        }
    }
}

/// Chip side of PACE, for test doubles and the virtual ePassport.
pub struct PaceChip {
    ctx: Context,
    nonce: Zeroizing<Vec<u8>>,
    sk_map: Secret,
    sk_eph: Secret,
    stage: Stage,
    chip_key: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for PaceChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PaceChip({}, {:?}, {:?})",
            self.ctx.domain_name, self.ctx.mapping, self.ctx.cipher
        )
    }
}

impl PaceChip {
    /// Starts with a random nonce and random keys.
    pub fn new(info: &PaceInfo, password: &PacePassword) -> Result<PaceChip, PaceError> {
        let ctx = Context::new(info, password)?;
        let mut nonce = vec![0u8; nonce_len(ctx.mapping, ctx.cipher)];
        crypto::random_bytes(&mut nonce)?;
        Ok(PaceChip {
            sk_map: ctx.group.secret(None)?,
            sk_eph: ctx.group.secret(None)?,
            ctx,
            nonce: Zeroizing::new(nonce),
            stage: Stage::Nonce,
            chip_key: None,
        })
    }

    /// Sets the chip's static private key, needed for Chip Authentication Mapping.
    pub fn with_chip_key(mut self, private_key: &[u8]) -> PaceChip {
        self.chip_key = Some(Zeroizing::new(private_key.to_vec()));
        self
    }

    /// Starts with a fixed nonce and keys (reproducing test vectors); `sk_map` is not used by
    /// Integrated Mapping.
    pub fn with_secrets(
        info: &PaceInfo,
        password: &PacePassword,
        nonce: &[u8],
        sk_map: &[u8],
        sk_eph: &[u8],
    ) -> Result<PaceChip, PaceError> {
        let ctx = Context::new(info, password)?;
        if nonce.len() != nonce_len(ctx.mapping, ctx.cipher) {
            return Err(PaceError::NonceLength(nonce.len()));
        }
        Ok(PaceChip {
            sk_map: ctx.group.secret(Some(sk_map))?,
            sk_eph: ctx.group.secret(Some(sk_eph))?,
            ctx,
            nonce: Zeroizing::new(nonce.to_vec()),
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
        let group = &self.ctx.group;
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Nonce => {
                let (outer, _) = tlv::parse_one(command_data)?;
                outer.expect_tag(0x7C)?;
                let z = crypto::cbc_encrypt(
                    self.ctx.cipher,
                    &self.ctx.k_pi,
                    &vec![0; self.ctx.cipher.block_len()],
                    &self.nonce,
                )?;
                self.stage = Stage::Mapping {
                    nonce: Zeroizing::new(Vec::new()),
                };
                Ok((tlv::encode(0x7C, &tlv::encode(0x80, &z)), None))
            }
            Stage::Mapping { .. } => {
                let mapping_data = dynamic_object(command_data, 0x81)?;
                let (generator, response) = match self.ctx.mapping {
                    Mapping::Integrated => {
                        if mapping_data.len() != self.ctx.cipher.key_len() {
                            return Err(PaceError::NonceLength(mapping_data.len()));
                        }
                        let generator = self.ctx.map_integrated(&self.nonce, &mapping_data)?;
                        (generator, Vec::new())
                    }
                    _ => {
                        let pk_map_ifd = group.decode(&mapping_data)?;
                        let pk_map = group.mul_generator(&self.sk_map)?;
                        let generator = self.ctx.map(&self.nonce, &self.sk_map, &pk_map_ifd)?;
                        (generator, group.encode(&pk_map)?)
                    }
                };
                self.stage = Stage::Agreement { generator };
                Ok((tlv::encode(0x7C, &tlv::encode(0x82, &response)), None))
            }
            Stage::Agreement { generator } => {
                let other = group.decode(&dynamic_object(command_data, 0x83)?)?;
                let own = group.mul(&self.sk_eph, &generator)?;
                let keys = self.ctx.agree(&self.sk_eph, &own, &other)?;
                let encoded = group.encode(&own)?;
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
                    let curve = self.ctx.curve()?;
                    let Secret::Ec(sk_map) = &self.sk_map else {
                        return Err(PaceError::ChipAuthenticationDataMissing);
                    };
                    let sk_ic = curve.scalar_from_bytes(sk_ic)?;
                    let ca = curve.mul_inverse(sk_map, &sk_ic)?;
                    let ca = Zeroizing::new(curve.scalar_bytes(&ca)?);
                    let plain = Zeroizing::new(crypto::pad(&ca, self.ctx.cipher.block_len()));
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
        let group = &ctx.group;
        let sk_map = group.secret(Some(&h(TERMINAL_SK_MAP))).unwrap();
        let pk_map_ic = group.decode(&resp[4..]).unwrap();
        let encoded = |p: &Element| hex::encode_upper(group.encode(p).unwrap());
        assert_eq!(
            encoded(&group.mul(&sk_map, &pk_map_ic).unwrap()),
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
        let chip_pk = group.decode(&resp[4..]).unwrap();
        assert_eq!(
            ctx.token_input(&chip_pk).unwrap(),
            h(
                "7F494F060A04007F000702020402028641049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
            )
        );
        let generator = ctx.map(&h(NONCE), &sk_map, &pk_map_ic).unwrap();
        let sk_eph = group.secret(Some(&h(TERMINAL_SK_EPH))).unwrap();
        let own = group.mul(&sk_eph, &generator).unwrap();
        let keys = ctx.agree(&sk_eph, &own, &chip_pk).unwrap();
        assert_eq!(keys.enc, h("F5F0E35C0D7161EE6724EE513A0D9A7F"));
        assert_eq!(keys.mac, h("FE251C7858B356B24514B3BD5F4297D1"));
        assert_eq!(
            group
                .shared_secret_bytes(&group.mul(&sk_eph, &chip_pk).unwrap())
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
            let curve =
                EcCurve::new(curves::named_by_standard_id(curve_id).unwrap().curve).unwrap();
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
        for id in 10..=18 {
            let mut oid = ID_PACE.to_vec();
            oid.extend([2, 2]);
            let info = PaceInfo {
                protocol: ObjectIdentifier(oid),
                version: 2,
                parameter_id: Some(id),
            };
            let ctx = Context::new(&info, &password).unwrap();
            let curve = ctx.curve().unwrap();
            let textbook = crate::authenticity::curves::by_standard_id(id).unwrap();
            let big = |k: &Scalar| BigUint::from_bytes_be(&curve.scalar_bytes(k).unwrap());
            let sk_map = curve.random_scalar().unwrap();
            let other = curve
                .mul_generator(&curve.random_scalar().unwrap())
                .unwrap();
            let nonce = [0x5A; 16];
            let (sk_map, other) = (Secret::Ec(sk_map), Element::Ec(other));
            let mapped = ctx.map(&nonce, &sk_map, &other).unwrap();
            let (Secret::Ec(sk_map), Element::Ec(other), Element::Ec(mapped)) =
                (sk_map, other, mapped)
            else {
                unreachable!()
            };
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
        // DH ids with an ECDH protocol, reserved ids, none.
        for unsupported in [Some(0), Some(2), Some(3), Some(7), Some(19), None] {
            info.parameter_id = unsupported;
            assert!(!is_supported(&info), "{unsupported:?}");
        }
        info.parameter_id = Some(2);
        assert!(matches!(
            PaceTerminal::new(&info, &password),
            Err(PaceError::MismatchedParameters(_, Some(2)))
        ));
        info.parameter_id = Some(19);
        assert!(matches!(
            PaceTerminal::new(&info, &password),
            Err(PaceError::UnsupportedParameters(Some(19)))
        ));
        info.parameter_id = Some(13);
        info.protocol.0[ID_PACE.len()] = 5; // unassigned
        assert!(matches!(
            PaceTerminal::new(&info, &password),
            Err(PaceError::UnsupportedProtocol(_))
        ));
        // Integrated Mapping is not defined here for secp224r1 (p = 1 mod 4).
        info.protocol.0[ID_PACE.len()] = 4;
        info.parameter_id = Some(10);
        assert!(!is_supported(&info));
        // Legacy groups: supported, refused on request.
        for (mapping, id) in [(4u8, 8u64), (4, 9), (3, 0)] {
            info.protocol.0[ID_PACE.len()] = mapping;
            info.parameter_id = Some(id);
            assert!(is_allowed(&info, LegacyPaceGroups::Accept), "{id}");
            assert!(!is_allowed(&info, LegacyPaceGroups::Refuse), "{id}");
        }
        info.parameter_id = Some(1);
        assert!(is_allowed(&info, LegacyPaceGroups::Refuse));
        assert_eq!(
            mse_set_at(&appendix_g().0, &password, true).data,
            h("800A04007F0007020204020283010184010D")
        );
    }

    fn info(mapping: u8, cipher: u8, id: u64) -> PaceInfo {
        let mut oid = ID_PACE.to_vec();
        oid.extend([mapping, cipher]);
        PaceInfo {
            protocol: ObjectIdentifier(oid),
            version: 2,
            parameter_id: Some(id),
        }
    }

    /// Hex with spaces and line breaks as printed in the sources.
    fn hx(s: &str) -> Vec<u8> {
        h(&s.split_whitespace().collect::<String>())
    }

    /// Runs the terminal against recorded chip responses (`7C` contents) and checks each
    /// terminal command's data object against the worked example.
    fn run_terminal_against_record(
        terminal: &mut PaceTerminal,
        chip: [Vec<u8>; 4],
        expected_terminal: [Vec<u8>; 3],
    ) -> SecureMessaging {
        let [r1, r2, r3, r4] = chip.map(|inner| tlv::encode(0x7C, &inner));
        let [m, e, t] = expected_terminal.map(|inner| tlv::encode(0x7C, &inner));
        assert_eq!(terminal.handle_nonce(&r1).unwrap().data, m, "mapping data");
        assert_eq!(
            terminal.handle_mapping(&r2).unwrap().data,
            e,
            "ephemeral key"
        );
        assert_eq!(terminal.handle_key_agreement(&r3).unwrap().data, t, "token");
        terminal.finish(&r4).unwrap()
    }

    /// ICAO Doc 9303 Part 11 (8th ed., 2021), Appendix G.2: PACE DH Generic Mapping,
    /// id-PACE-DH-GM-AES-CBC-CMAC-128 on the 1024-bit MODP group with 160-bit subgroup
    /// (id 0), MRZ T22000129 / 640812 / 101031 (the MRZ of G.1). Values as transcribed in
    /// github.com/zienit/icao-examples, src/test/java/nl/zienit/icao_examples/PACE_DH_GMTest.java.
    #[test]
    fn reproduces_appendix_g2_dh_generic_mapping() {
        let info = info(1, 2, 0);
        let password =
            PacePassword::Mrz(MrzInformation::new("T22000129", "640812", "101031").unwrap());
        assert_eq!(
            password.key(CipherSuite::Aes128),
            hx("89DED1B2 6624EC1E 634C1989 302849DD")
        );
        let ctx = Context::new(&info, &password).unwrap();
        let group = &ctx.group;
        let nonce = hx("FA5B7E3E 49753A0D B9178B7B 9BD898C8");
        let sk_map = hx("5265030F 751F4AD1 8B08AC56 5FC7AC95 2E41618D");
        let pk_map_ifd = hx(
            "23FB3749 EA030D2A 25B278D2 A562047A DE3F01B7 4F17A154 02CB7352 CA7D2B3E
            B71C343D B13D1DEB CE9A3666 DBCFC920 B49174A6 02CB4796 5CAA73DC 702489A4
            4D41DB91 4DE9613D C5E98C94 160551C0 DF86274B 9359BC04 90D01B03 AD54022D
            CB4F57FA D6322497 D7A1E28D 46710F46 1AFE710F BBBC5F8B A166F431 1975EC6C",
        );
        let pk_map_ic = hx(
            "78879F57 225AA808 0D52ED0F C890A4B2 5336F699 AA89A2D3 A189654A F70729E6
            23EA5738 B26381E4 DA19E004 706FACE7 B235C2DB F2F38748 312F3C98 C2DD4882
            A41947B3 24AA1259 AC22579D B93F7085 655AF308 89DBB845 D9E6783F E42C9F24
            49400306 254C8AE8 EE9DD812 A804C0B6 6E8CAFC1 4F84D825 8950A91B 44126EE6",
        );
        let shared_h = hx(
            "5BABEBEF 5B74E5BA 94B5C063 FDA15F1F 1CDE9487 3EE0A5D3 A2FCAB49 F258D07F
            544F13CB 66658C3A FEE9E727 389BE3F6 CBBBD321 28A8C21D D6EEA3CF 7091CDDF
            B08B8D00 7D40318D CCA4FFBF 51208790 FB4BD111 E5A968ED 6B6F08B2 6CA87C41
            0B3CE0C3 10CE104E ABD16629 AA48620C 1279270C B0750C0D 37C57FFF E302AE7F",
        );
        let mapped = hx(
            "7C9CBFE9 8F9FBDDA 8D143506 FA7D9306 F4CB17E3 C71707AF F5E1C1A1 23702496
            84D64EE3 7AF44B8D BD9D45BF 6023919C BAA027AB 97ACC771 666C8E98 FF483301
            BFA4872D EDE9034E DFACB708 14166B7F 36067682 9B826BEA 57291B5A D69FBC84
            EF1E7790 32A30580 3F743417 93E86974 2D401325 B37EE856 5FFCDEE6 18342DC5",
        );
        let sk_eph = hx("89CCD99B 0E8D3B1F 11E1296D CA68EC53 411CF2CA");
        let pk_eph_ifd = hx(
            "907D89 E2D425A1 78AA81AF 4A7774EC 8E388C11 5CAE6703 1E85EECE 520BD911
            551B9AE4 D04369F2 9A02626C 86FBC674 7CC7BC35 2645B616 1A2A42D4 4EDA80A0
            8FA8D61B 76D3A154 AD8A5A51 786B0BC0 71470578 71A92221 2C5F67F4 31731722
            36B7747D 1671E6D6 92A3C7D4 0A0C3C5C E397545D 015C175E B5130551 EDBC2EE5 D4",
        );
        let pk_eph_ic = hx(
            "075693D9 AE941877 573E634B 6E644F8E 60AF17A0 076B8B12 3D920107 4D36152B
            D8B3A213 F53820C4 2ADC79AB 5D0AEEC3 AEFB9139 4DA476BD 97B9B14D 0A65C1FC
            71A0E019 CB08AF55 E1F72900 5FBA7E3F A5DC4189 9238A250 767A6D46 DB974064
            386CD456 743585F8 E5D90CC8 B4004B1F 6D866C79 CE0584E4 9687FF61 BC29AEA1",
        );
        let shared_k = hx(
            "6BABC7B3 A72BCD7E A385E4C6 2DB2625B D8613B24 149E146A 629311C4 CA6698E3
            8B834B6A 9E9CD718 4BA8834A FF5043D4 36950C4C 1E783236 7C10CB8C 314D40E5
            990B0DF7 013E64B4 549E2270 923D06F0 8CFF6BD3 E977DDE6 ABE4C31D 55C0FA2E
            465E553E 77BDF75E 3193D383 4FC26E8E B1EE2FA1 E4FC97C1 8C3F6CFF FE2607FD",
        );

        // The arithmetic step by step.
        let secret = group.secret(Some(&sk_map)).unwrap();
        assert_eq!(
            group
                .encode(&group.mul_generator(&secret).unwrap())
                .unwrap(),
            pk_map_ifd
        );
        let chip_map = group.decode(&pk_map_ic).unwrap();
        assert_eq!(
            group
                .encode(&group.mul(&secret, &chip_map).unwrap())
                .unwrap(),
            shared_h
        );
        let generator = ctx.map(&nonce, &secret, &chip_map).unwrap();
        assert_eq!(group.encode(&generator).unwrap(), mapped);
        let eph = group.secret(Some(&sk_eph)).unwrap();
        let own = group.mul(&eph, &generator).unwrap();
        assert_eq!(group.encode(&own).unwrap(), pk_eph_ifd);
        let chip_eph = group.decode(&pk_eph_ic).unwrap();
        assert_eq!(
            group
                .shared_secret_bytes(&group.mul(&eph, &chip_eph).unwrap())
                .unwrap(),
            shared_k
        );
        let keys = ctx.agree(&eph, &own, &chip_eph).unwrap();
        assert_eq!(keys.enc, hx("2F7F46AD CC9E7E52 1B45D192 FAFA9126"));
        assert_eq!(keys.mac, hx("805A1D27 D45A5116 F73C5446 9462B7D8"));
        assert_eq!(
            ctx.token(&keys, &chip_eph).unwrap().to_vec(),
            hx("B46DD9BD 4D98381F")
        );
        assert_eq!(
            ctx.token(&keys, &own).unwrap().to_vec(),
            hx("917F37B5 C0E6D8D1")
        );

        // The terminal's commands against the chip's recorded answers.
        let mut terminal = PaceTerminal::with_keys(&info, &password, &sk_map, &sk_eph).unwrap();
        let sm = run_terminal_against_record(
            &mut terminal,
            [
                tlv::encode(0x80, &hx("854D8DF5 827FA685 2D1A4FA7 01CDDDCA")),
                tlv::encode(0x82, &pk_map_ic),
                tlv::encode(0x84, &pk_eph_ic),
                tlv::encode(0x86, &hx("917F37B5 C0E6D8D1")),
            ],
            [
                tlv::encode(0x81, &pk_map_ifd),
                tlv::encode(0x83, &pk_eph_ifd),
                tlv::encode(0x85, &hx("B46DD9BD 4D98381F")),
            ],
        );
        assert_eq!(sm.ssc(), [0u8; 16]);
        // A wrong chip token is refused.
        let mut terminal = PaceTerminal::with_keys(&info, &password, &sk_map, &sk_eph).unwrap();
        terminal
            .handle_nonce(&tlv::encode(
                0x7C,
                &tlv::encode(0x80, &hx("854D8DF5 827FA685 2D1A4FA7 01CDDDCA")),
            ))
            .unwrap();
        terminal
            .handle_mapping(&tlv::encode(0x7C, &tlv::encode(0x82, &pk_map_ic)))
            .unwrap();
        terminal
            .handle_key_agreement(&tlv::encode(0x7C, &tlv::encode(0x84, &pk_eph_ic)))
            .unwrap();
        assert_eq!(
            terminal
                .finish(&tlv::encode(
                    0x7C,
                    &tlv::encode(0x86, &hx("917F37B5 C0E6D8D0"))
                ))
                .err(),
            Some(PaceError::TokenMismatch)
        );
    }

    /// ICAO Doc 9303 Part 11 (8th ed., 2021), Appendix H.1: PACE ECDH Integrated Mapping,
    /// id-PACE-ECDH-IM-AES-CBC-CMAC-128 on brainpoolP256r1 (id 13), CAN 123456. Values as
    /// transcribed in github.com/zienit/icao-examples,
    /// src/test/java/nl/zienit/icao_examples/PACE_IMTest.java.
    #[test]
    fn reproduces_appendix_h1_ecdh_integrated_mapping() {
        let info = info(4, 2, 13);
        let password = PacePassword::Can("123456".into());
        assert_eq!(
            password.key(CipherSuite::Aes128),
            hx("591468CD A83D6521 9CCCB856 0233600F")
        );
        let s = hx("2923BE84 E16CD6AE 529049F1 F1BBE9EB");
        let t = hx("5DD4CBFC 96F5453B 130D890A 1CDBAE32");
        assert_eq!(
            &*pseudo_random(CipherSuite::Aes128, &s, &t, 256).unwrap(),
            &hx(
                "E4447E2D FB3586BA C05DDB00 156B57FB B2179A39 49294C97 25418980 0C517BAA
                 8DA0FF39 7ED8C445 D3E421E4 FEB57322"
            )
        );
        let ctx = Context::new(&info, &password).unwrap();
        let group = &ctx.group;
        let generator = ctx.map_integrated(&s, &t).unwrap();
        assert_eq!(
            group.encode(&generator).unwrap(),
            hx(
                "04 8E82D315 59ED0FDE 92A4D049 8ADD3C23 BABA94FB 77691E31 E90AEA77 FB17D427
                4C1AE14B D0C3DBAC 0C871B7F 36081693 64437CA3 0AC243A0 89D3F266 C1E60FAD"
            )
        );
        let sk_eph = hx("A73FB703 AC1436A1 8E0CFA5A BB3F7BEC 7A070E7A 6788486B EE230C4A 22762595");
        let pk_eph_ifd = hx(
            "04 89CBA23F FE96AA18 D824627C 3E934E54 A9FD0B87 A95D1471 DC1C0ABF DCD640D4
            6755DE9B 7B778280 B6BEBD57 439ADFEB 0E21FD4E D6DF4257 8C13418A 59B34C37",
        );
        let pk_eph_ic = hx(
            "04 67F78E5F 7F768608 2B293E8D 087E0569 16D0F74B C01A5F89 57D0DE45 691E51E8
            932B69A9 62B52A09 85AD2C0A 271EE6A1 3A8ADDDC D1A3A994 B9DED257 F4D22753",
        );
        let eph = group.secret(Some(&sk_eph)).unwrap();
        let own = group.mul(&eph, &generator).unwrap();
        let chip_eph = group.decode(&pk_eph_ic).unwrap();
        assert_eq!(
            group
                .shared_secret_bytes(&group.mul(&eph, &chip_eph).unwrap())
                .unwrap(),
            hx("4F150FDE 1D4F0E38 E95017B8 91BAE171 33A0DF45 B0D3E18B 60BA7BEA FDC2C713")
        );
        let keys = ctx.agree(&eph, &own, &chip_eph).unwrap();
        assert_eq!(keys.enc, hx("0D3FEB33 251A6370 893D62AE 8DAAF51B"));
        assert_eq!(keys.mac, hx("B01E89E3 D9E8719E 586B50B4 A7506E0B"));

        let mut terminal = PaceTerminal::with_keys(&info, &password, &t, &sk_eph).unwrap();
        assert_eq!(terminal.mapping(), Mapping::Integrated);
        run_terminal_against_record(
            &mut terminal,
            [
                tlv::encode(0x80, &hx("143DC40C 08C8E891 FBED7DED B92B64AD")),
                tlv::encode(0x82, &[]),
                tlv::encode(0x84, &pk_eph_ic),
                tlv::encode(0x86, &hx("75D4D96E 8D5B0308")),
            ],
            [
                tlv::encode(0x81, &t),
                tlv::encode(0x83, &pk_eph_ifd),
                tlv::encode(0x85, &hx("450F02B8 6F6A0909")),
            ],
        );
    }

    /// ICAO Doc 9303 Part 11 (8th ed., 2021), Appendix H.2: PACE DH Integrated Mapping,
    /// id-PACE-DH-IM-AES-CBC-CMAC-128 on the 1024-bit MODP group with 160-bit subgroup (id 0),
    /// CAN 123456. Values as transcribed in github.com/zienit/icao-examples,
    /// src/test/java/nl/zienit/icao_examples/PACE_DH_IMTest.java.
    #[test]
    fn reproduces_appendix_h2_dh_integrated_mapping() {
        let info = info(3, 2, 0);
        let password = PacePassword::Can("123456".into());
        let s = hx("FA5B7E3E 49753A0D B9178B7B 9BD898C8");
        let t = hx("B3A6DB3C 870C3E99 245E0D1C 06B747DE");
        assert_eq!(
            &*pseudo_random(CipherSuite::Aes128, &s, &t, 1024).unwrap(),
            &hx(
                "EAB98D13 E0905295 2AA72990 7C3C9461 84DEA0FE 74AD2B3A F506F0A8 3018459C
                 38099CD1 F7FF4EA0 A078DB1F AC136550 5E3DC855 00EF95E2 0B4EEF2E 88489233
                 BEE0546B 472F994B 618D1687 02406791 DEEF3CB4 810932EC 278F3533 FDB860EB
                 4835C36F A4F1BF3F A0B828A7 18C96BDE 88FBA38A 3E6C35AA A1095925 1EB5FC71
                 0FC18725 8995944C 0F926E24 9373F485"
            )
        );
        let ctx = Context::new(&info, &password).unwrap();
        let group = &ctx.group;
        let generator = ctx.map_integrated(&s, &t).unwrap();
        assert_eq!(
            group.encode(&generator).unwrap(),
            hx(
                "1D7D767F 11E333BC D6DBAEF4 0E799E7A 926B9697 3550656F F3C83072 6D118D61
                C276CDCC 61D475CF 03A98E0C 0E79CAEB A5BE2557 8BD4551D 0B109032 36F0B0F9
                76852FA7 8EEA14EA 0ACA87D1 E91F688F E0DFF897 BBE35A47 2621D343 564B262F
                34223AE8 FC59B664 BFEDFA2B FE7516CA 5510A6BB B633D517 EC25D4E0 BBAA16C2"
            )
        );
        let sk_eph = hx(
            "4BD0E547 40F9A028 E6A515BF DAF96784 8C4F5F5F FF65AA09 15947FFD 1A0DF2FA
            6981271B C905F355 1457B7E0 3AC3B806 6DE4AA40 6C1171FB 43DD939C 4BA16175
            103BA3DE E16419AA 248118F9 0CC36A3D 6F4C3736 52E0C3CC E7F0F1D0 C5425B36
            00F0F0D6 A67F004C 8BBA33F2 B4733C72 52445C1D FC4F1107 203F71D2 EFB28161",
        );
        let pk_eph_ifd = hx(
            "0F0CC629 45A80292 51FB7EF3 C094E12E C68E4EF0 7F27CB9D 9CD04C5C 4250FAE0
            E4F8A951 557E929A EB48E5C6 DD47F2F5 CD7C351A 9BD2CD72 2C07EDE1 66770F08
            FFCB3702 62CF308D D7B07F2E 0DA9CAAA 1492344C 85290691 9538C98A 4BA4187E
            76CE9D87 832386D3 19CE2E04 3C3343AE AE6EDBA1 A9894DC5 094D22F7 FE1351D5",
        );
        let pk_eph_ic = hx(
            "928D9A0F 9DBA450F 13FC859C 6F290D1D 36E42431 138A4378 500BEB4E 0401854C
            FF111F71 CB6DC1D0 335807A1 1388CC8E AA87B079 07AAD9FB A6B169AF 6D8C26AF
            8DDDC39A DC3AD2E3 FF882B84 D23E9768 E95A80E4 746FB07A 9767679F E92133B4
            D379935C 771BD7FB ED6C7BB4 B1708B27 5EA75679 524CDC9C 6A91370C C662A2F3",
        );
        let eph = group.secret(Some(&sk_eph)).unwrap();
        let chip_eph = group.decode(&pk_eph_ic).unwrap();
        assert_eq!(
            group
                .shared_secret_bytes(&group.mul(&eph, &chip_eph).unwrap())
                .unwrap(),
            hx(
                "419410D6 C0A17A4C 07C54872 CE1CBCEB 0A2705C1 A434C8A8 9A4CFE41 F1D78124
                CA7EC52B DE7615E5 345E48AB 1ABB6E7D 1D59A57F 3174084D 3CA45703 97C1F622
                28BDFDB2 DA191EA2 239E2C06 0DBE3BBC 23C2FCD0 AF12E0F9 E0B99FCF 91FF1959
                011D5798 B2FCBC1F 14FCC24E 441F4C8F 9B08D977 E9498560 E63E7FFA B3134EA7"
            )
        );
        let own = group.mul(&eph, &generator).unwrap();
        let keys = ctx.agree(&eph, &own, &chip_eph).unwrap();
        assert_eq!(keys.enc, hx("01AFC10C F87BE36D 8179E873 70171F07"));
        assert_eq!(keys.mac, hx("23F0FBD0 5FD6C7B8 B88F4C83 09669061"));

        let mut terminal = PaceTerminal::with_keys(&info, &password, &t, &sk_eph).unwrap();
        run_terminal_against_record(
            &mut terminal,
            [
                tlv::encode(0x80, &hx("9ABB8864 CA0FF155 1E620D1E F4E13510")),
                tlv::encode(0x82, &[]),
                tlv::encode(0x84, &pk_eph_ic),
                tlv::encode(0x86, &hx("C2F04230 187E1525")),
            ],
            [
                tlv::encode(0x81, &t),
                tlv::encode(0x83, &pk_eph_ifd),
                tlv::encode(0x85, &hx("55D61977 CBF5307E")),
            ],
        );
    }

    /// Runs both sides in process; returns both secure messaging sessions or the chip's error.
    fn run_both(
        info: &PaceInfo,
        chip_password: &PacePassword,
        terminal_password: &PacePassword,
    ) -> Result<(SecureMessaging, SecureMessaging), PaceError> {
        let mut chip = PaceChip::new(info, chip_password)?;
        let mut terminal = PaceTerminal::new(info, terminal_password)?;
        let (r1, _) = chip.general_authenticate(&terminal.first_command().data)?;
        let (r2, _) = chip.general_authenticate(&terminal.handle_nonce(&r1)?.data)?;
        let (r3, _) = chip.general_authenticate(&terminal.handle_mapping(&r2)?.data)?;
        let (r4, chip_sm) = chip.general_authenticate(&terminal.handle_key_agreement(&r3)?.data)?;
        Ok((terminal.finish(&r4)?, chip_sm.ok_or(PaceError::OutOfOrder)?))
    }

    #[test]
    fn every_standardised_set_and_mapping_agrees_and_wrong_password_fails() {
        let mrz = PacePassword::Mrz(MrzInformation::new("T22000129", "640812", "101031").unwrap());
        let can = PacePassword::Can("123456".into());
        let mut runs = 0;
        for domain in STANDARD_DOMAINS {
            let (gm, im) = match domain.key_agreement {
                KeyAgreement::Dh => (1u8, 3u8),
                KeyAgreement::Ecdh => (2, 4),
            };
            for mapping in [gm, im] {
                for cipher in 1u8..=4 {
                    let info = info(mapping, cipher, domain.id);
                    if mapping == 4 && domain.id == 10 {
                        assert!(!is_supported(&info));
                        continue;
                    }
                    assert!(is_supported(&info), "{info:?}");
                    for password in [&mrz, &can] {
                        let (mut sm, mut chip_sm) = run_both(&info, password, password)
                            .unwrap_or_else(|e| panic!("{info:?}: {e}"));
                        let read = CommandApdu::new(0, 0xB0, 0, 0).with_le(300);
                        assert_eq!(
                            chip_sm
                                .unwrap_command(&sm.wrap_command(&read).unwrap())
                                .unwrap(),
                            read
                        );
                        runs += 1;
                    }
                    assert_eq!(
                        run_both(&info, &can, &PacePassword::Can("654321".into())).err(),
                        Some(PaceError::TokenMismatch),
                        "{info:?}"
                    );
                }
            }
        }
        // 14 sets x 2 mappings x 4 ciphers x 2 passwords, less IM on secp224r1.
        assert_eq!(runs, (14 * 2 - 1) * 4 * 2);
    }

    #[test]
    fn pseudo_random_function_lengths_per_cipher() {
        // n blocks of l bits with n * l >= log2(p) + 64; keys truncated to the key length.
        for (cipher, t_len, s_len, p_bits, out_len) in [
            (CipherSuite::Tdes, 16, 16, 256, 48),
            (CipherSuite::Aes128, 16, 16, 2048, 272),
            (CipherSuite::Aes192, 24, 32, 384, 64),
            (CipherSuite::Aes256, 32, 32, 521, 96),
        ] {
            let out = pseudo_random(cipher, &vec![1; s_len], &vec![2; t_len], p_bits).unwrap();
            assert_eq!(out.len(), out_len, "{cipher:?}");
            assert_eq!(nonce_len(Mapping::Integrated, cipher), s_len);
        }
    }

    #[test]
    fn dh_values_outside_the_subgroup_and_wrong_nonce_lengths_are_refused() {
        let password = PacePassword::Can("123456".into());
        let p = crate::crypto::dh::DhGroup::rfc5114_1024_160()
            .unwrap()
            .parameters()
            .0;
        let mut p_minus_1 = p.clone();
        *p_minus_1.last_mut().unwrap() -= 1;
        // 1, p - 1, p, and 2 (not in the subgroup of order q) as the chip's mapping key.
        for bad in [vec![1u8], p_minus_1, p, vec![2]] {
            let info = info(1, 2, 0);
            let mut chip = PaceChip::new(&info, &password).unwrap();
            let mut terminal = PaceTerminal::new(&info, &password).unwrap();
            let (r1, _) = chip
                .general_authenticate(&terminal.first_command().data)
                .unwrap();
            terminal.handle_nonce(&r1).unwrap();
            let bad_mapping = tlv::encode(0x7C, &tlv::encode(0x82, &bad));
            assert_eq!(
                terminal.handle_mapping(&bad_mapping).err(),
                Some(PaceError::Dh(DhError::OutOfGroup))
            );
        }
        // Integrated Mapping: the chip's nonce has l bits, the terminal's the key length.
        let info = info(4, 2, 13);
        let mut terminal = PaceTerminal::new(&info, &password).unwrap();
        let long_z = tlv::encode(0x7C, &tlv::encode(0x80, &[0u8; 32]));
        assert_eq!(
            terminal.handle_nonce(&long_z).err(),
            Some(PaceError::NonceLength(32))
        );
        let mut chip = PaceChip::new(&info, &password).unwrap();
        chip.general_authenticate(&h("7C00")).unwrap();
        let short_t = tlv::encode(0x7C, &tlv::encode(0x81, &[0u8; 8]));
        assert_eq!(
            chip.general_authenticate(&short_t).err(),
            Some(PaceError::NonceLength(8))
        );
        assert_eq!(
            PaceTerminal::with_keys(&info, &password, &[0; 8], &[1; 32]).err(),
            Some(PaceError::NonceLength(8))
        );
        // CAM over DH does not exist.
        let mut oid = ID_PACE.to_vec();
        oid.extend([6, 2]);
        assert!(matches!(
            protocol_suite(&ObjectIdentifier(oid)),
            Ok((KeyAgreement::Ecdh, Mapping::ChipAuthentication, _))
        ));
        assert!(!is_supported(&info_cam_dh()));
    }

    /// CAM on a DH group (`info` is shadowed in the test above).
    fn info_cam_dh() -> PaceInfo {
        info(6, 2, 0)
    }
}

//! Chip Authentication v1 (ICAO 9303 Part 11, 6.2; BSI TR-03110): ephemeral-static ECDH
//! with the chip's static key from DG14, then secure messaging restarted with keys derived
//! from the shared secret. Only a chip holding the DG14 private key can answer under the
//! new keys, so a copied chip is detected at the first command after the switch.
//!
//! ECDH with 3DES (MSE:Set KAT) and AES-128/192/256 (MSE:Set AT + General Authenticate) is
//! implemented; DH-based Chip Authentication (id-CA-DH-*) is not and is reported as an
//! unsupported algorithm.
//!
//! DG14 must itself be verified by passive authentication first.

use num_bigint::BigUint;

use super::der::{self, tag};
use super::signature::{self, SignatureError};
use crate::apdu::{CardTransport, CommandApdu, StatusWord};
use crate::crypto::{CipherSuite, SessionKeys};
use crate::ec::{Curve, Point};
use crate::lds::{Dg14, FileId};
use crate::reader::{ChipReader, ReadError};
use crate::security_info::{ID_CA, ID_PK, ObjectIdentifier, SecurityInfoKind};
use crate::sm::SecureMessaging;
use crate::tlv;

/// Why chip authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum ChipAuthError {
    /// DG14 holds no usable ChipAuthenticationInfo / public key, or they are malformed.
    #[error("Chip Authentication data in DG14: {0}")]
    KeyInvalid(String),
    /// DH, an unknown cipher or curve.
    #[error("Chip Authentication: unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The chip refused a Chip Authentication command.
    #[error("{step}: chip answered {sw}")]
    ChipRefused {
        /// The command.
        step: &'static str,
        /// Status word.
        sw: StatusWord,
    },
    /// The chip did not answer correctly under the new session keys: it does not hold the
    /// private key of DG14 (a copied chip), or answered something else than before.
    #[error("chip failed to prove its DG14 key: {0}")]
    ProofFailed(String),
    /// Communication failed before the key switch.
    #[error("Chip Authentication: {0}")]
    Read(#[from] ReadError),
}

impl ChipAuthError {
    /// The stable reason code of this failure.
    pub fn reason_code(&self) -> &'static str {
        match self {
            ChipAuthError::KeyInvalid(_) => "CA_KEY_INVALID",
            ChipAuthError::UnsupportedAlgorithm(_) => "UNSUPPORTED_ALGORITHM",
            ChipAuthError::ChipRefused { .. } | ChipAuthError::ProofFailed(_) => "CA_FAILED",
            ChipAuthError::Read(_) => "CHIP_READ_FAILED",
        }
    }
}

/// The Chip Authentication parameters found in DG14.
pub struct ChipAuthParameters {
    /// The CA protocol OID (id-CA-ECDH-...).
    pub protocol: ObjectIdentifier,
    /// Session cipher after the switch.
    pub cipher: CipherSuite,
    /// Key id, when DG14 has several keys.
    pub key_id: Option<u64>,
    /// The chip's curve.
    pub curve: Curve,
    /// The chip's static public key.
    pub chip_key: Point,
}

impl std::fmt::Debug for ChipAuthParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipAuthParameters")
            .field("protocol", &self.protocol)
            .field("cipher", &self.cipher)
            .field("key_id", &self.key_id)
            .field("curve", &self.curve.name)
            .finish()
    }
}

/// What succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipAuthReport {
    /// `CA-ECDH-AES-128 brainpoolP256r1`...
    pub protocol: String,
}

/// The cipher of an id-CA-ECDH-* protocol (`None` for DH or unknown ones).
pub fn ecdh_cipher(protocol: &ObjectIdentifier) -> Option<CipherSuite> {
    let rest = protocol.0.strip_prefix(ID_CA)?;
    match rest {
        [2, 1] => Some(CipherSuite::Tdes),
        [2, 2] => Some(CipherSuite::Aes128),
        [2, 3] => Some(CipherSuite::Aes192),
        [2, 4] => Some(CipherSuite::Aes256),
        _ => None,
    }
}

/// `SEQUENCE { id-PK-*, SubjectPublicKeyInfo, keyId? }` -> (key id, curve, point).
fn parse_public_key_info(raw: &[u8]) -> Result<(Option<u64>, Curve, Point), ChipAuthError> {
    let what = "ChipAuthenticationPublicKeyInfo";
    let bad = |e: der::DerError| ChipAuthError::KeyInvalid(e.to_string());
    let seq = der::parse_exact(raw, tag::SEQUENCE, what).map_err(bad)?;
    let mut r = seq.reader(what);
    let protocol = der::oid(&r.read().map_err(bad)?, what).map_err(bad)?;
    if protocol.0.strip_prefix(ID_PK) != Some(&[2]) {
        return Err(ChipAuthError::UnsupportedAlgorithm(format!(
            "chip key {}",
            protocol.dotted()
        )));
    }
    let spki = r.read_tag(tag::SEQUENCE).map_err(bad)?;
    let key_id = match r.optional(tag::INTEGER).map_err(bad)? {
        Some(e) => Some(der::small_integer(&e, what).map_err(bad)?),
        None => None,
    };
    r.finish().map_err(bad)?;
    let mut s = spki.reader(what);
    let alg = signature::AlgorithmIdentifier::parse(&s.read().map_err(bad)?, what).map_err(bad)?;
    let point = der::bit_string_octets(&s.read().map_err(bad)?, what).map_err(bad)?;
    s.finish().map_err(bad)?;
    let params = alg
        .parameters
        .ok_or_else(|| ChipAuthError::KeyInvalid("chip key without domain parameters".into()))?;
    let curve = signature::ec_curve(&params).map_err(|e| match e {
        SignatureError::Unsupported(what) => ChipAuthError::UnsupportedAlgorithm(what),
        other => ChipAuthError::KeyInvalid(other.to_string()),
    })?;
    let point = curve
        .decode(point)
        .map_err(|e| ChipAuthError::KeyInvalid(format!("chip key point: {e}")))?;
    Ok((key_id, curve, point))
}

/// Finds the Chip Authentication protocol and key in DG14 (raw file). When there are
/// several, the ECDH protocol with the strongest cipher and the key with its key id.
/// `Ok(None)` if DG14 offers no Chip Authentication at all.
pub fn parameters_from_dg14(dg14: &[u8]) -> Result<Option<ChipAuthParameters>, ChipAuthError> {
    let infos = Dg14::parse(dg14).map_err(|e| ChipAuthError::KeyInvalid(e.to_string()))?;
    let protocols: Vec<_> = infos
        .infos
        .iter()
        .filter_map(|i| match i.kind {
            SecurityInfoKind::ChipAuthentication { key_id, .. } => {
                Some((i.protocol.clone(), key_id))
            }
            _ => None,
        })
        .collect();
    let keys: Vec<_> = infos
        .infos
        .iter()
        .filter(|i| i.kind == SecurityInfoKind::ChipAuthenticationPublicKey)
        .collect();
    if protocols.is_empty() && keys.is_empty() {
        return Ok(None);
    }
    let Some((protocol, key_id, cipher)) = protocols
        .iter()
        .filter_map(|(p, k)| ecdh_cipher(p).map(|c| (p.clone(), *k, c)))
        .max_by_key(|(_, _, c)| c.key_len())
    else {
        let names: Vec<String> = protocols.iter().map(|(p, _)| p.dotted()).collect();
        return Err(ChipAuthError::UnsupportedAlgorithm(format!(
            "Chip Authentication protocols [{}] (only ECDH is implemented)",
            names.join(", ")
        )));
    };
    let mut found = None;
    for info in keys {
        let (id, curve, point) = parse_public_key_info(&info.raw)?;
        if key_id.is_none() || id == key_id {
            found = Some((id, curve, point));
            break;
        }
    }
    let (found_id, curve, chip_key) = found.ok_or_else(|| {
        ChipAuthError::KeyInvalid("no ChipAuthenticationPublicKeyInfo for the protocol".into())
    })?;
    Ok(Some(ChipAuthParameters {
        protocol,
        cipher,
        key_id: key_id.or(found_id),
        curve,
        chip_key,
    }))
}

fn key_id_object(key_id: Option<u64>) -> Vec<u8> {
    key_id
        .map(|id| {
            let bytes = id.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
            tlv::encode(0x84, &bytes[skip..])
        })
        .unwrap_or_default()
}

/// The commands that hand the terminal's ephemeral key to the chip: MSE:Set KAT for 3DES,
/// MSE:Set AT + General Authenticate for AES.
pub fn key_agreement_commands(
    params: &ChipAuthParameters,
    ephemeral_public: &[u8],
) -> Vec<CommandApdu> {
    let key_id = key_id_object(params.key_id);
    if params.cipher == CipherSuite::Tdes {
        let data = [tlv::encode(0x91, ephemeral_public), key_id].concat();
        vec![CommandApdu::new(0x00, 0x22, 0x41, 0xA6).with_data(data)]
    } else {
        let data = [tlv::encode(0x80, &params.protocol.0), key_id].concat();
        let dynamic = tlv::encode(0x7C, &tlv::encode(0x80, ephemeral_public));
        vec![
            CommandApdu::new(0x00, 0x22, 0x41, 0xA4).with_data(data),
            CommandApdu::new(0x00, 0x86, 0x00, 0x00)
                .with_data(dynamic)
                .with_le(256),
        ]
    }
}

/// The secure messaging session after Chip Authentication: keys from the x coordinate of
/// the shared point, send sequence counter zero. Used by both sides.
pub fn session_after_key_agreement(
    curve: &Curve,
    private_key: &BigUint,
    peer_public: &Point,
    cipher: CipherSuite,
) -> Result<SecureMessaging, ChipAuthError> {
    if !curve.is_on_curve(peer_public) {
        return Err(ChipAuthError::KeyInvalid(
            "peer key is not on the curve".into(),
        ));
    }
    let Point::Affine { x, .. } = curve.mul(private_key, peer_public) else {
        return Err(ChipAuthError::KeyInvalid("shared point at infinity".into()));
    };
    let secret = zeroize::Zeroizing::new(curve.field_bytes(&x));
    Ok(SecureMessaging::new(
        SessionKeys::derive(&secret, cipher),
        &[],
    ))
}

/// Runs Chip Authentication after the document was read: key agreement under the current
/// session, switch to the new keys, then proof by re-reading EF.COM, which must arrive
/// correctly protected under the new keys and equal `com` (as read before).
pub fn run_chip_authentication<T: CardTransport>(
    reader: &mut ChipReader<T>,
    params: &ChipAuthParameters,
    com: &[u8],
) -> Result<ChipAuthReport, ChipAuthError> {
    let curve = &params.curve;
    let private_key = curve
        .random_scalar()
        .map_err(|e| ChipAuthError::KeyInvalid(format!("ephemeral key: {e}")))?;
    let public = curve.encode(&curve.mul(&private_key, curve.generator()));
    let steps = ["MSE:Set KAT/AT", "General Authenticate"];
    for (command, step) in key_agreement_commands(params, &public).iter().zip(steps) {
        let response = reader.send_command(command, step)?;
        if !response.sw.is_success() {
            return Err(ChipAuthError::ChipRefused {
                step,
                sw: response.sw,
            });
        }
    }
    let sm = session_after_key_agreement(curve, &private_key, &params.chip_key, params.cipher)?;
    reader.restart_secure_messaging(sm);
    match reader.read_file(FileId::Com) {
        Ok(Some(again)) if again == com => Ok(ChipAuthReport {
            protocol: format!("CA-ECDH-{:?} {}", params.cipher, curve.name),
        }),
        Ok(_) => Err(ChipAuthError::ProofFailed(
            "EF.COM differs after the key switch".into(),
        )),
        Err(ReadError::SecureMessaging { source, .. }) => {
            Err(ChipAuthError::ProofFailed(source.to_string()))
        }
        Err(ReadError::Status { sw, .. }) => {
            Err(ChipAuthError::ProofFailed(format!("chip answered {sw}")))
        }
        Err(other) => Err(ChipAuthError::Read(other)),
    }
}

/// Chip side of the key agreement (for chip simulators and tests): the terminal's ephemeral
/// public key from MSE:Set KAT (tag 91) or the General Authenticate data (7C { 80 }).
pub fn terminal_key_from_command(data: &[u8]) -> Option<Vec<u8>> {
    let objects = tlv::parse_all(data).ok()?;
    if let Some(key) = objects.iter().find(|o| o.tag == 0x91) {
        return Some(key.value.to_vec());
    }
    let dynamic = objects.iter().find(|o| o.tag == 0x7C)?;
    tlv::find(dynamic.value, 0x80)
        .ok()?
        .map(|k| k.value.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_derive_the_same_session() {
        let curve = super::super::curves::by_standard_id(13).unwrap();
        let chip_sk = curve.random_scalar().unwrap();
        let chip_pk = curve.mul(&chip_sk, curve.generator());
        let term_sk = curve.random_scalar().unwrap();
        let term_pk = curve.mul(&term_sk, curve.generator());
        let mut terminal =
            session_after_key_agreement(&curve, &term_sk, &chip_pk, CipherSuite::Aes128).unwrap();
        let mut chip =
            session_after_key_agreement(&curve, &chip_sk, &term_pk, CipherSuite::Aes128).unwrap();
        let command = CommandApdu::new(0x00, 0xB0, 0x9E, 0x00).with_le(4);
        let wrapped = terminal.wrap_command(&command).unwrap();
        assert_eq!(chip.unwrap_command(&wrapped).unwrap(), command);
        let mut expected_ssc = [0u8; 16];
        expected_ssc[15] = 1;
        assert_eq!(terminal.ssc(), &expected_ssc);
    }

    #[test]
    fn dg14_parameters() {
        let curve = super::super::curves::by_standard_id(13).unwrap();
        let point = curve.encode(curve.generator());
        let key_info = crate::lds::build::chip_authentication_public_key_info(13, &point);
        // ChipAuthenticationInfo id-CA-ECDH-AES-CBC-CMAC-128, version 1.
        let mut ca_info = tlv::encode(0x06, &[ID_CA, &[2, 2]].concat());
        ca_info.extend(tlv::encode(0x02, &[1]));
        let ca_info = tlv::encode(0x30, &ca_info);
        let dg14 = tlv::encode(0x6E, &tlv::encode(0x31, &[ca_info, key_info].concat()));
        let params = parameters_from_dg14(&dg14).unwrap().unwrap();
        assert_eq!(params.cipher, CipherSuite::Aes128);
        assert_eq!(params.curve.name, "brainpoolP256r1");
        let commands = key_agreement_commands(&params, &point);
        assert_eq!(commands.len(), 2);
        assert_eq!(terminal_key_from_command(&commands[1].data).unwrap(), point);
        // No CA at all.
        let empty = tlv::encode(0x6E, &tlv::encode(0x31, &[]));
        assert!(parameters_from_dg14(&empty).unwrap().is_none());
    }
}

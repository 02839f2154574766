//! Active Authentication (ICAO 9303 Part 11, 6.1): the chip signs a terminal challenge with
//! the private key of the DG15 public key, which proves the chip is not a copy. RSA keys
//! sign with ISO/IEC 9796-2 digital signature scheme 1 (message recovery); EC keys with
//! ECDSA in the plain `r || s` format of BSI TR-03111, the hash given by the
//! ActiveAuthenticationInfo in DG14.
//!
//! DG15 (and DG14) must themselves be verified by passive authentication: a key that is
//! not covered by the SOD proves nothing.

use super::der::{self, tag};
use super::signature::{PublicKey, Scheme, SignatureError};
use crate::apdu::{CardTransport, CommandApdu, StatusWord};
use crate::crypto::verify::RsaPublicKey;
use crate::lds::{Dg14, Dg15, HashAlgorithm};
use crate::reader::{ChipReader, ReadError};
use crate::security_info::SecurityInfoKind;

/// Why active authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum ActiveAuthError {
    /// DG15 (or DG14's ActiveAuthenticationInfo) is malformed or the key unusable.
    #[error("Active Authentication key: {0}")]
    KeyInvalid(String),
    /// An algorithm this implementation does not support.
    #[error("Active Authentication: unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The chip's signature does not verify: the chip does not hold the DG15 private key.
    #[error("Active Authentication signature does not verify")]
    SignatureInvalid,
    /// The chip refused INTERNAL AUTHENTICATE.
    #[error("INTERNAL AUTHENTICATE: chip answered {0}")]
    ChipRefused(StatusWord),
    /// Communication failed.
    #[error("Active Authentication: {0}")]
    Read(#[from] ReadError),
}

impl ActiveAuthError {
    /// The stable reason code of this failure.
    pub fn reason_code(&self) -> &'static str {
        match self {
            ActiveAuthError::KeyInvalid(_) => "AA_KEY_INVALID",
            ActiveAuthError::UnsupportedAlgorithm(_) => "UNSUPPORTED_ALGORITHM",
            ActiveAuthError::SignatureInvalid => "AA_SIGNATURE_INVALID",
            ActiveAuthError::ChipRefused(_) => "AA_FAILED",
            ActiveAuthError::Read(_) => "CHIP_READ_FAILED",
        }
    }
}

/// What succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAuthReport {
    /// The AA key (`RSA-1024`, `EC brainpoolP256r1`).
    pub key: String,
    /// The signature scheme (`ISO9796-2-SHA1`, `ECDSA-PLAIN-SHA256`...).
    pub scheme: String,
}

/// The INTERNAL AUTHENTICATE command for an 8-byte challenge (Le 256 covers RSA-2048).
pub fn internal_authenticate(challenge: &[u8; 8]) -> CommandApdu {
    CommandApdu::new(0x00, 0x88, 0x00, 0x00)
        .with_data(challenge.to_vec())
        .with_le(256)
}

/// The ECDSA hash named by DG14's ActiveAuthenticationInfo
/// (`SEQUENCE { id-icao-mrtd-security-aaProtocolObject, version, signatureAlgorithm }`).
fn aa_hash_from_dg14(dg14: &[u8]) -> Result<HashAlgorithm, ActiveAuthError> {
    let infos = Dg14::parse(dg14).map_err(|e| ActiveAuthError::KeyInvalid(e.to_string()))?;
    let info = infos
        .infos
        .iter()
        .find(|i| i.kind == SecurityInfoKind::ActiveAuthentication)
        .ok_or_else(|| {
            ActiveAuthError::KeyInvalid(
                "DG14 has no ActiveAuthenticationInfo for the EC key".into(),
            )
        })?;
    let what = "ActiveAuthenticationInfo";
    let bad = |e: der::DerError| ActiveAuthError::KeyInvalid(e.to_string());
    let seq = der::parse_exact(&info.raw, tag::SEQUENCE, what).map_err(bad)?;
    let mut r = seq.reader(what);
    r.read_tag(tag::OID).map_err(bad)?;
    r.read_tag(tag::INTEGER).map_err(bad)?;
    let algorithm = der::oid(&r.read().map_err(bad)?, what).map_err(bad)?;
    let alg = super::signature::AlgorithmIdentifier {
        oid: algorithm,
        parameters: None,
    };
    match Scheme::from_algorithm(&alg, None) {
        Ok(Scheme::EcdsaPlain(hash) | Scheme::EcdsaDer(hash)) => Ok(hash),
        _ => Err(ActiveAuthError::UnsupportedAlgorithm(format!(
            "AA signature algorithm {}",
            alg.oid.dotted()
        ))),
    }
}

/// ISO/IEC 10118-3 hash identifiers used in the two-byte trailer `xx CC`.
fn hash_from_trailer(id: u8) -> Option<HashAlgorithm> {
    match id {
        0x33 => Some(HashAlgorithm::Sha1),
        0x34 => Some(HashAlgorithm::Sha256),
        0x35 => Some(HashAlgorithm::Sha512),
        0x36 => Some(HashAlgorithm::Sha384),
        0x38 => Some(HashAlgorithm::Sha224),
        _ => None,
    }
}

/// Verifies an ISO/IEC 9796-2 scheme 1 signature (partial message recovery) over
/// `M1 || challenge`, where M1 is recovered from the signature. Returns the hash used.
pub fn verify_iso9796_2(
    key: &RsaPublicKey,
    challenge: &[u8],
    signature: &[u8],
) -> Result<HashAlgorithm, ActiveAuthError> {
    // F = header 6A || M1 || H || trailer, of the modulus length (the RSA public operation
    // is OpenSSL's).
    let k = key.size();
    let f = key
        .public_operation(signature)
        .ok_or(ActiveAuthError::SignatureInvalid)?;
    let (hash, trailer_len) = match f.as_slice() {
        [.., 0xBC] => (HashAlgorithm::Sha1, 1),
        [.., id, 0xCC] => (
            hash_from_trailer(*id).ok_or_else(|| {
                ActiveAuthError::UnsupportedAlgorithm(format!("ISO 9796-2 hash id {id:02X}"))
            })?,
            2,
        ),
        _ => return Err(ActiveAuthError::SignatureInvalid),
    };
    let h_len = super::signature::hash_len(hash);
    if f.first() != Some(&0x6A) || k < 1 + h_len + trailer_len {
        return Err(ActiveAuthError::SignatureInvalid);
    }
    let digest_at = k - trailer_len - h_len;
    let m1 = &f[1..digest_at];
    let digest = &f[digest_at..k - trailer_len];
    if hash.digest(&[m1, challenge].concat()) == digest {
        Ok(hash)
    } else {
        Err(ActiveAuthError::SignatureInvalid)
    }
}

/// Verifies the chip's answer to INTERNAL AUTHENTICATE for `challenge`, with the DG15 key
/// (`dg15` is the raw file) and, for EC keys, the hash from DG14's ActiveAuthenticationInfo.
pub fn verify_active_authentication(
    dg15: &[u8],
    dg14: Option<&[u8]>,
    challenge: &[u8],
    signature: &[u8],
) -> Result<ActiveAuthReport, ActiveAuthError> {
    let dg15 = Dg15::parse(dg15).map_err(|e| ActiveAuthError::KeyInvalid(e.to_string()))?;
    let key = PublicKey::from_spki(&dg15.subject_public_key_info).map_err(|e| match e {
        SignatureError::Unsupported(what) => ActiveAuthError::UnsupportedAlgorithm(what),
        other => ActiveAuthError::KeyInvalid(other.to_string()),
    })?;
    match &key {
        PublicKey::Rsa(rsa) => {
            let hash = verify_iso9796_2(rsa, challenge, signature)?;
            Ok(ActiveAuthReport {
                key: key.describe(),
                scheme: format!("ISO9796-2-{}", format!("{hash:?}").to_uppercase()),
            })
        }
        PublicKey::Ec { curve, .. } => {
            let dg14 = dg14.ok_or_else(|| {
                ActiveAuthError::KeyInvalid("EC Active Authentication key without DG14".into())
            })?;
            let hash = aa_hash_from_dg14(dg14)?;
            let order_len = curve.order_len();
            // Plain r || s per TR-03111; some chips answer a DER Ecdsa-Sig-Value instead.
            let scheme = if signature.len() == 2 * order_len {
                Scheme::EcdsaPlain(hash)
            } else {
                Scheme::EcdsaDer(hash)
            };
            key.verify(scheme, challenge, signature)
                .map_err(|_| ActiveAuthError::SignatureInvalid)?;
            Ok(ActiveAuthReport {
                key: key.describe(),
                scheme: scheme.name(),
            })
        }
    }
}

/// Runs Active Authentication over an established secure messaging session: a random
/// challenge, INTERNAL AUTHENTICATE, verification.
pub fn run_active_authentication<T: CardTransport>(
    reader: &mut ChipReader<T>,
    dg15: &[u8],
    dg14: Option<&[u8]>,
) -> Result<ActiveAuthReport, ActiveAuthError> {
    let mut challenge = [0u8; 8];
    crate::crypto::random_bytes(&mut challenge)
        .map_err(|e| ActiveAuthError::KeyInvalid(format!("random challenge: {e}")))?;
    let response =
        reader.send_command(&internal_authenticate(&challenge), "INTERNAL AUTHENTICATE")?;
    if !response.sw.is_success() {
        return Err(ActiveAuthError::ChipRefused(response.sw));
    }
    verify_active_authentication(dg15, dg14, &challenge, &response.data)
}

//! The BioCart hand-over record and its sealing to the inspection booth's public key.
//!
//! The BioCart profile is the one place personal and biometric data leaves the gate: the
//! document data of DG1, both index fingers as ISO/IEC 19794-4 finger image records, and the
//! face photo go to the inspection booth the traveller walks to next. The record is
//!
//! 1. serialised as JSON with binary fields in base64 ([`HandOverRecord::to_plaintext`]),
//! 2. sealed with HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//!    ChaCha20-Poly1305) to the booth's X25519 public key, with the gate id and transaction
//!    id as associated data ([`seal`]),
//! 3. queued in the outbox's hand-over table (never mixed with events), pushed to central,
//!    which stores a blob it cannot read, and deleted on the gate once central acknowledges
//!    it (with SQLite `secure_delete` on),
//! 4. fetched by the booth, opened with its private key ([`open`]) and acknowledged.
//!
//! Memory hygiene: [`HandOverRecord`] and [`BoothPrivateKey`] wipe their bytes on drop
//! (`zeroize`), and the plaintext buffers made while sealing and opening are
//! [`Zeroizing`]. This is best effort: copies made by the caller before building the record
//! (camera frames, chip buffers) are the caller's to wipe. Nothing here logs record content.

use std::path::{Path, PathBuf};

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::wire::{HANDOVER_SUITE, SealedHandOver, base64_bytes};

/// Schema version of [`HandOverRecord`] written by this build.
pub const HANDOVER_SCHEMA_VERSION: u32 = 1;

/// HPKE `info` string: binds the key schedule to this use.
pub const HPKE_INFO: &[u8] = b"open-gate-controller/biocart-handover/v1";

/// Length of X25519 keys.
pub const KEY_LEN: usize = 32;

/// Errors of building, sealing and opening hand-over records.
#[derive(Debug, thiserror::Error)]
pub enum HandOverError {
    /// A key file could not be read.
    #[error("booth key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key is not 64 hex digits (32 bytes) or not a valid X25519 key.
    #[error("booth key{}: {detail}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    BadKey {
        /// The file it came from, if any.
        path: Option<PathBuf>,
        /// What is wrong.
        detail: String,
    },
    /// The record is incomplete (no gate id, malformed transaction id, ...).
    #[error("hand-over record invalid: {0}")]
    Invalid(String),
    /// The record could not be encoded or the opened plaintext decoded.
    #[error("hand-over record {operation}: {source}")]
    Json {
        /// Encoding or decoding.
        operation: &'static str,
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
    },
    /// The sealed record is addressed to another key or uses another suite.
    #[error("sealed hand-over {id}: {detail}")]
    NotForThisKey {
        /// The record id.
        id: Uuid,
        /// What did not match.
        detail: String,
    },
    /// HPKE sealing failed, or opening failed: wrong key, tampered ciphertext, or associated
    /// data (gate id, transaction id) that differs from what was sealed.
    #[error("HPKE {operation} failed: {detail}")]
    Crypto {
        /// Seal or open.
        operation: &'static str,
        /// The HPKE error.
        detail: String,
    },
}

/// A finger of the BioCart capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandOverFinger {
    /// Left index finger (ISO/IEC 19794-4 position 7).
    LeftIndex,
    /// Right index finger (ISO/IEC 19794-4 position 2).
    RightIndex,
}

/// Document data the booth needs, from DG1 (the MRZ on the chip).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct DocumentData {
    /// Document code, e.g. `P`.
    pub document_code: String,
    /// Issuing state (ICAO 3-letter code).
    pub issuing_state: String,
    /// Document number.
    pub document_number: String,
    /// Nationality (ICAO 3-letter code).
    pub nationality: String,
    /// Primary identifier (surname) as in the MRZ, fillers replaced by spaces.
    pub primary_identifier: String,
    /// Secondary identifier (given names).
    pub secondary_identifier: String,
    /// Date of birth as in the MRZ, `YYMMDD`.
    pub date_of_birth: String,
}

/// One captured finger.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct FingerCapture {
    /// Which finger.
    #[zeroize(skip)]
    pub finger: HandOverFinger,
    /// Quality score 0..=100 of the accepted capture.
    pub quality: u8,
    /// Capture attempts it took.
    pub attempts: u8,
    /// When the accepted capture was taken (unix ms).
    pub captured_at_ms: i64,
    /// The ISO/IEC 19794-4:2005 finger image record
    /// (`devices::fingerprint::iso19794_4::FingerImageRecord::encode`).
    #[serde(with = "base64_bytes")]
    pub iso_19794_4: Vec<u8>,
}

/// The face photo taken at the BioCart.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct FacePhoto {
    /// When it was taken (unix ms).
    pub captured_at_ms: i64,
    /// Quality score 0..=100 from the face pipeline.
    pub quality: u8,
    /// JPEG bytes.
    #[serde(with = "base64_bytes")]
    pub jpeg: Vec<u8>,
}

/// The BioCart record for the inspection booth. Holds personal and biometric data in the
/// clear: it wipes itself on drop, prints nothing of its content in `Debug`, and leaves the
/// gate only sealed ([`seal`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct HandOverRecord {
    /// [`HANDOVER_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The gate (BioCart) id.
    pub gate_id: String,
    /// The traveller transaction id, 32 lower-case hex digits.
    pub transaction_id: String,
    /// When the transaction started (unix ms).
    pub started_at_ms: i64,
    /// When the record was assembled (unix ms).
    pub completed_at_ms: i64,
    /// Document data from DG1.
    pub document: DocumentData,
    /// Both index fingers.
    pub fingers: Vec<FingerCapture>,
    /// The face photo.
    pub face: FacePhoto,
}

impl std::fmt::Debug for HandOverRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandOverRecord")
            .field("gate_id", &self.gate_id)
            .field("transaction_id", &self.transaction_id)
            .field("fingers", &self.fingers.len())
            .field("content", &format_args!("redacted"))
            .finish()
    }
}

impl HandOverRecord {
    /// Checks what the booth and the sealing rely on: gate id, a 32-hex-digit transaction id,
    /// both index fingers once each with a record, a face photo.
    pub fn validate(&self) -> Result<(), HandOverError> {
        let invalid = |detail: &str| Err(HandOverError::Invalid(detail.to_owned()));
        if self.gate_id.is_empty() {
            return invalid("gate id is empty");
        }
        if self.transaction_id.len() != 32
            || !self
                .transaction_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return invalid("transaction id is not 32 lower-case hex digits");
        }
        let has = |finger| self.fingers.iter().filter(|f| f.finger == finger).count();
        if self.fingers.len() != 2
            || has(HandOverFinger::LeftIndex) != 1
            || has(HandOverFinger::RightIndex) != 1
        {
            return invalid("needs exactly one left and one right index finger");
        }
        if self.fingers.iter().any(|f| f.iso_19794_4.is_empty()) {
            return invalid("a finger record is empty");
        }
        if self.face.jpeg.is_empty() {
            return invalid("face photo is empty");
        }
        Ok(())
    }

    /// The record as JSON (binary fields base64), in a buffer wiped on drop. The buffer is
    /// sized up front so it does not grow (a growing buffer would leave unwiped copies).
    pub fn to_plaintext(&self) -> Result<Zeroizing<Vec<u8>>, HandOverError> {
        let binary: usize = self
            .fingers
            .iter()
            .map(|f| f.iso_19794_4.len())
            .sum::<usize>()
            + self.face.jpeg.len();
        let mut buffer = Zeroizing::new(Vec::with_capacity(binary / 3 * 4 + 4096));
        serde_json::to_writer(&mut *buffer, self).map_err(|source| HandOverError::Json {
            operation: "encode",
            source,
        })?;
        Ok(buffer)
    }

    /// Decodes [`HandOverRecord::to_plaintext`] output.
    pub fn from_plaintext(plaintext: &[u8]) -> Result<Self, HandOverError> {
        serde_json::from_slice(plaintext).map_err(|source| HandOverError::Json {
            operation: "decode",
            source,
        })
    }
}

fn parse_hex_key(
    text: &str,
    path: Option<&Path>,
) -> Result<Zeroizing<[u8; KEY_LEN]>, HandOverError> {
    let bad = |detail: String| HandOverError::BadKey {
        path: path.map(Path::to_owned),
        detail,
    };
    let digits: Zeroizing<Vec<u8>> =
        Zeroizing::new(text.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
    if digits.len() != 2 * KEY_LEN {
        return Err(bad(format!(
            "expected {} hex digits, found {}",
            2 * KEY_LEN,
            digits.len()
        )));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    for (index, pair) in digits.chunks_exact(2).enumerate() {
        let nibble = |b: u8| (b as char).to_digit(16);
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => key[index] = (high * 16 + low) as u8,
            _ => return Err(bad("not hexadecimal".into())),
        }
    }
    Ok(key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_key_file(path: &Path) -> Result<Zeroizing<String>, HandOverError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| HandOverError::KeyFile {
            path: path.to_owned(),
            source,
        })
}

/// An inspection booth's X25519 public key (what the gate seals to).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BoothPublicKey([u8; KEY_LEN]);

impl std::fmt::Debug for BoothPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BoothPublicKey({})", self.to_hex())
    }
}

impl BoothPublicKey {
    /// The key from its 32 bytes (refused if it is not a usable X25519 public key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HandOverError> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| HandOverError::BadKey {
            path: None,
            detail: format!("public key must be {KEY_LEN} bytes, got {}", bytes.len()),
        })?;
        <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(&array).map_err(|error| {
            HandOverError::BadKey {
                path: None,
                detail: error.to_string(),
            }
        })?;
        Ok(Self(array))
    }

    /// The key from 64 hex digits (whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, HandOverError> {
        Self::from_bytes(&*parse_hex_key(text, None)?)
    }

    /// The key from a file holding 64 hex digits (the gate config's booth key file).
    pub fn from_file(path: &Path) -> Result<Self, HandOverError> {
        let text = read_key_file(path)?;
        let key = parse_hex_key(&text, Some(path))?;
        Self::from_bytes(&*key).map_err(|error| match error {
            HandOverError::BadKey { detail, .. } => HandOverError::BadKey {
                path: Some(path.to_owned()),
                detail,
            },
            other => other,
        })
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

/// An inspection booth's X25519 private key. Wiped on drop; `Debug` shows only the public key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BoothPrivateKey([u8; KEY_LEN]);

impl std::fmt::Debug for BoothPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.public_key() {
            Ok(public) => write!(f, "BoothPrivateKey(public {})", public.to_hex()),
            Err(_) => f.write_str("BoothPrivateKey(invalid)"),
        }
    }
}

impl BoothPrivateKey {
    /// A fresh key pair (from the operating system's random generator, through `rand`).
    pub fn generate() -> Result<Self, HandOverError> {
        use rand::RngCore;
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(&mut *seed);
        let (private, _) = X25519HkdfSha256::derive_keypair(&*seed);
        let mut bytes = private.to_bytes();
        let key = Self::from_bytes(&bytes);
        bytes.as_mut_slice().zeroize();
        key
    }

    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HandOverError> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| HandOverError::BadKey {
            path: None,
            detail: format!("private key must be {KEY_LEN} bytes, got {}", bytes.len()),
        })?;
        let key = Self(array);
        key.hpke_key()?;
        Ok(key)
    }

    /// The key from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, HandOverError> {
        Self::from_bytes(&*parse_hex_key(text, None)?)
    }

    /// The key from a file holding 64 hex digits (the booth's secret; keep it mode 0600).
    pub fn from_file(path: &Path) -> Result<Self, HandOverError> {
        let text = read_key_file(path)?;
        Self::from_bytes(&*parse_hex_key(&text, Some(path))?)
    }

    /// 64 hex digits of the private key, in a string wiped on drop (for writing the key file).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex(&self.0))
    }

    fn hpke_key(&self) -> Result<<X25519HkdfSha256 as Kem>::PrivateKey, HandOverError> {
        <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(&self.0).map_err(|error| {
            HandOverError::BadKey {
                path: None,
                detail: error.to_string(),
            }
        })
    }

    /// The matching public key (to give to the gates).
    pub fn public_key(&self) -> Result<BoothPublicKey, HandOverError> {
        let public = X25519HkdfSha256::sk_to_pk(&self.hpke_key()?);
        BoothPublicKey::from_bytes(&public.to_bytes())
    }
}

/// HPKE associated data: a label, then the gate id and the transaction id, each with a
/// 2-byte big-endian length. Tampering with either at central makes opening fail.
pub fn associated_data(gate_id: &str, transaction_id: &str) -> Vec<u8> {
    let mut aad = b"biocart-handover/v1".to_vec();
    for part in [gate_id, transaction_id] {
        let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
        aad.extend_from_slice(&len.to_be_bytes());
        aad.extend_from_slice(&part.as_bytes()[..usize::from(len)]);
    }
    aad
}

/// Seals `record` to `booth_key` for booth `booth_id`. The result holds no plaintext and may
/// be stored and sent anywhere.
pub fn seal(
    record: &HandOverRecord,
    booth_id: &str,
    booth_key: &BoothPublicKey,
    sealed_at_ms: i64,
) -> Result<SealedHandOver, HandOverError> {
    record.validate()?;
    if booth_id.is_empty() {
        return Err(HandOverError::Invalid("booth id is empty".into()));
    }
    let plaintext = record.to_plaintext()?;
    let recipient = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(booth_key.as_bytes())
        .map_err(|error| HandOverError::BadKey {
            path: None,
            detail: error.to_string(),
        })?;
    let aad = associated_data(&record.gate_id, &record.transaction_id);
    let (encapsulated, ciphertext) = hpke::single_shot_seal::<
        ChaCha20Poly1305,
        HkdfSha256,
        X25519HkdfSha256,
    >(&OpModeS::Base, &recipient, HPKE_INFO, &plaintext, &aad)
    .map_err(|error| HandOverError::Crypto {
        operation: "seal",
        detail: error.to_string(),
    })?;
    Ok(SealedHandOver {
        id: Uuid::now_v7(),
        gate_id: record.gate_id.clone(),
        transaction_id: record.transaction_id.clone(),
        booth_id: booth_id.to_owned(),
        booth_key: booth_key.as_bytes().to_vec(),
        suite: HANDOVER_SUITE.to_owned(),
        encapsulated_key: encapsulated.to_bytes().to_vec(),
        ciphertext,
        sealed_at_ms,
    })
}

/// Opens a sealed record with the booth's private key: checks the addressee and suite,
/// decrypts (authenticating gate id and transaction id), decodes, and checks the record
/// inside names the same gate and transaction as the envelope.
pub fn open(
    sealed: &SealedHandOver,
    key: &BoothPrivateKey,
) -> Result<HandOverRecord, HandOverError> {
    let not_for_us = |detail: String| HandOverError::NotForThisKey {
        id: sealed.id,
        detail,
    };
    if sealed.suite != HANDOVER_SUITE {
        return Err(not_for_us(format!("unknown suite {:?}", sealed.suite)));
    }
    let public = key.public_key()?;
    if sealed.booth_key != public.as_bytes() {
        return Err(not_for_us(
            "sealed to another booth key than this private key's".into(),
        ));
    }
    let crypto = |error: hpke::HpkeError| HandOverError::Crypto {
        operation: "open",
        detail: error.to_string(),
    };
    let encapsulated = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&sealed.encapsulated_key)
        .map_err(crypto)?;
    let aad = associated_data(&sealed.gate_id, &sealed.transaction_id);
    let plaintext = Zeroizing::new(
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &OpModeR::Base,
            &key.hpke_key()?,
            &encapsulated,
            HPKE_INFO,
            &sealed.ciphertext,
            &aad,
        )
        .map_err(crypto)?,
    );
    let record = HandOverRecord::from_plaintext(&plaintext)?;
    if record.gate_id != sealed.gate_id || record.transaction_id != sealed.transaction_id {
        return Err(HandOverError::Invalid(
            "the record inside names another gate or transaction than its envelope".into(),
        ));
    }
    Ok(record)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A complete record with recognisable fake data.
    pub(crate) fn sample_record(gate: &str, transaction: u128) -> HandOverRecord {
        let finger = |finger, fill: u8| FingerCapture {
            finger,
            quality: 80,
            attempts: 1,
            captured_at_ms: 1_795_701_600_000,
            iso_19794_4: [b"FIR\x00010\x00".as_slice(), &vec![fill; 2000]].concat(),
        };
        HandOverRecord {
            schema_version: HANDOVER_SCHEMA_VERSION,
            gate_id: gate.into(),
            transaction_id: format!("{transaction:032x}"),
            started_at_ms: 1_795_701_590_000,
            completed_at_ms: 1_795_701_610_000,
            document: DocumentData {
                document_code: "P".into(),
                issuing_state: "UTO".into(),
                document_number: "L898902C3".into(),
                nationality: "UTO".into(),
                primary_identifier: "ERIKSSON".into(),
                secondary_identifier: "ANNA MARIA".into(),
                date_of_birth: "740812".into(),
            },
            fingers: vec![
                finger(HandOverFinger::LeftIndex, 7),
                finger(HandOverFinger::RightIndex, 2),
            ],
            face: FacePhoto {
                captured_at_ms: 1_795_701_605_000,
                quality: 90,
                jpeg: [&[0xFF, 0xD8][..], &[0x42; 5000], &[0xFF, 0xD9]].concat(),
            },
        }
    }

    #[test]
    fn sealed_record_opens_only_with_the_booth_key() {
        let booth = BoothPrivateKey::generate().unwrap();
        let other = BoothPrivateKey::generate().unwrap();
        let record = sample_record("biocart-1", 0xABC);
        let sealed = seal(&record, "booth-1", &booth.public_key().unwrap(), 5).unwrap();
        assert_eq!(sealed.transaction_id, format!("{:032x}", 0xABC));
        // No plaintext in the envelope.
        let wire = serde_json::to_string(&sealed).unwrap();
        for secret in ["L898902C3", "ERIKSSON", "740812", "QkJCQkJC"] {
            assert!(!wire.contains(secret), "{secret} leaked");
        }
        assert_eq!(open(&sealed, &booth).unwrap(), record);
        // Another private key: refused before decryption, and decryption itself fails too.
        assert!(matches!(
            open(&sealed, &other),
            Err(HandOverError::NotForThisKey { .. })
        ));
        let mut readdressed = sealed.clone();
        readdressed.booth_key = other.public_key().unwrap().as_bytes().to_vec();
        assert!(matches!(
            open(&readdressed, &other),
            Err(HandOverError::Crypto { .. })
        ));
    }

    #[test]
    fn tampered_associated_data_or_ciphertext_fails() {
        let booth = BoothPrivateKey::generate().unwrap();
        let sealed = seal(
            &sample_record("biocart-1", 1),
            "booth-1",
            &booth.public_key().unwrap(),
            5,
        )
        .unwrap();
        let mut other_gate = sealed.clone();
        other_gate.gate_id = "biocart-2".into();
        assert!(matches!(
            open(&other_gate, &booth),
            Err(HandOverError::Crypto { .. })
        ));
        let mut other_transaction = sealed.clone();
        other_transaction.transaction_id = format!("{:032x}", 2);
        assert!(matches!(
            open(&other_transaction, &booth),
            Err(HandOverError::Crypto { .. })
        ));
        let mut flipped = sealed;
        flipped.ciphertext[10] ^= 1;
        assert!(matches!(
            open(&flipped, &booth),
            Err(HandOverError::Crypto { .. })
        ));
    }

    #[test]
    fn incomplete_records_are_not_sealed() {
        let booth = BoothPrivateKey::generate().unwrap().public_key().unwrap();
        let mut one_finger = sample_record("g", 1);
        one_finger.fingers.pop();
        assert!(seal(&one_finger, "b", &booth, 0).is_err());
        let mut bad_id = sample_record("g", 1);
        bad_id.transaction_id = "XYZ".into();
        assert!(seal(&bad_id, "b", &booth, 0).is_err());
        assert!(seal(&sample_record("g", 1), "", &booth, 0).is_err());
    }

    #[test]
    fn keys_round_trip_through_hex_files() {
        let dir = tempfile::tempdir().unwrap();
        let private = BoothPrivateKey::generate().unwrap();
        let public = private.public_key().unwrap();
        std::fs::write(dir.path().join("booth.key"), private.to_hex().as_bytes()).unwrap();
        std::fs::write(
            dir.path().join("booth.pub"),
            format!("{}\n", public.to_hex()),
        )
        .unwrap();
        let loaded = BoothPrivateKey::from_file(&dir.path().join("booth.key")).unwrap();
        assert_eq!(loaded.public_key().unwrap(), public);
        assert_eq!(
            BoothPublicKey::from_file(&dir.path().join("booth.pub")).unwrap(),
            public
        );
        std::fs::write(dir.path().join("short.pub"), "abcd").unwrap();
        assert!(matches!(
            BoothPublicKey::from_file(&dir.path().join("short.pub")),
            Err(HandOverError::BadKey { path: Some(_), .. })
        ));
        assert!(BoothPublicKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(matches!(
            BoothPublicKey::from_file(&dir.path().join("missing")),
            Err(HandOverError::KeyFile { .. })
        ));
        assert!(!format!("{private:?}").contains(private.to_hex().as_str()));
    }

    #[test]
    fn debug_and_plaintext_shape() {
        let record = sample_record("g", 3);
        let text = format!("{record:?}");
        assert!(
            !text.contains("L898902C3") && !text.contains("ERIKSSON"),
            "{text}"
        );
        let plaintext = record.to_plaintext().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&plaintext).unwrap();
        assert_eq!(json["fingers"][0]["finger"], "left_index");
        assert_eq!(json["document"]["nationality"], "UTO");
        assert_eq!(HandOverRecord::from_plaintext(&plaintext).unwrap(), record);
    }

    #[test]
    fn zeroize_wipes_the_record() {
        let mut record = sample_record("g", 3);
        record.zeroize();
        assert!(record.document.document_number.is_empty());
        assert!(record.fingers.is_empty());
        assert!(record.face.jpeg.is_empty());
    }
}

//! What the core may know about a travel document: facts for the eligibility rules, never the
//! document number itself (only its keyed hash).

use crate::reason::ReasonCode;
use crate::time::Date;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A keyed hash (HMAC-SHA-256 with the gate's secret) of the issuing state and document number.
///
/// It lets central correlate events and match denylists without ever holding the number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentHash(pub [u8; 32]);

impl DocumentHash {
    /// Lower-case hex, as stored in events and lists.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for DocumentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentHash({})", self.to_hex())
    }
}

impl Serialize for DocumentHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for DocumentHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// The document facts the decision policy needs, taken from the chip's DG1 after reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFacts {
    /// Keyed hash of issuing state + document number.
    pub hash: DocumentHash,
    /// Document code from the MRZ, e.g. `P`, `PD`, `ID`, `V`.
    pub document_code: String,
    /// Issuing state or organisation (ICAO three-letter code).
    pub issuing_state: String,
    /// Holder's nationality (ICAO three-letter code).
    pub nationality: String,
    /// Holder's date of birth, when the MRZ gives a full date.
    pub birth_date: Option<Date>,
    /// Date of expiry.
    pub expiry_date: Date,
}

/// How far the document's authenticity was established (passive, active, chip authentication).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Authenticity {
    /// Every check the policy requires passed.
    Verified,
    /// The checks were not run (e.g. no trust store configured): only allowed if the policy says so.
    NotChecked,
    /// A check failed; the reason names which.
    Failed {
        /// The stable reason for the failed check.
        reason: ReasonCode,
    },
}

/// The result of reading the document presented at the gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ChipReadResult {
    /// The chip was read; facts and authenticity verdict follow.
    Read {
        /// Facts for the eligibility rules.
        facts: DocumentFacts,
        /// The authenticity verdict.
        authenticity: Authenticity,
        /// Whether the document hash is on the denylist the gate holds.
        denylisted: bool,
    },
    /// Reading failed; the reason names how.
    Failed {
        /// The stable reason for the failure.
        reason: ReasonCode,
    },
}

/// How long the document reader worked on one read, as the daemon measured it (monotonic
/// milliseconds). The core adds them to the outcome record's [`crate::Timings`]; a reader that
/// cannot tell leaves them `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChipReadTimings {
    /// Waiting for the chip, opening it (PACE or BAC) and reading its data groups.
    pub read_ms: Option<u64>,
    /// Checking the document's authenticity (passive, chip and active authentication, or the
    /// consistency checks when no trust store is configured).
    pub authenticity_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trip() {
        let hash = DocumentHash([0xab; 32]);
        let hex = hash.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(DocumentHash::from_hex(&hex), Some(hash));
        assert_eq!(DocumentHash::from_hex("zz"), None);
        assert_eq!(DocumentHash::from_hex(&"g".repeat(64)), None);
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(serde_json::from_str::<DocumentHash>(&json).unwrap(), hash);
    }
}

//! The lists central publishes and the gate pulls (see `outbox::sync`), as typed values.
//!
//! - `denylist`: keyed document hashes (64 hex digits) of lost, stolen or revoked documents.
//! - `enrolments` (fingerprint gates): `{"document_hash": HEX, "fingers": [{"finger":
//!   "right_index", "template": HEX}]}` per enrolled traveller.

use gate_core::{DocumentHash, Finger, GateProfile};
use outbox::{Outbox, OutboxError};
use serde::Deserialize;
use zeroize::Zeroizing;

/// A down-synced list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    /// Documents that must be refused.
    Denylist,
    /// Fingerprint enrolments by document hash.
    Enrolments,
}

impl List {
    /// The list's name at central and in the outbox.
    pub const fn name(self) -> &'static str {
        match self {
            List::Denylist => "denylist",
            List::Enrolments => "enrolments",
        }
    }

    /// The lists a gate of `profile` pulls from central.
    pub fn for_profile(profile: GateProfile) -> Vec<List> {
        match profile {
            GateProfile::FingerprintGate => vec![List::Denylist, List::Enrolments],
            GateProfile::FaceGate | GateProfile::BioCart => vec![List::Denylist],
        }
    }
}

/// One traveller's entry in the `enrolments` list.
#[derive(Debug, Deserialize)]
pub struct Enrolment {
    /// Keyed hash of the document, 64 hex digits.
    pub document_hash: String,
    /// The enrolled fingers.
    pub fingers: Vec<EnrolledFinger>,
}

/// One enrolled finger.
#[derive(Deserialize)]
pub struct EnrolledFinger {
    /// Which finger.
    pub finger: Finger,
    /// The module's template, hex.
    pub template: Zeroizing<String>,
}

impl std::fmt::Debug for EnrolledFinger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnrolledFinger({:?}, template redacted)", self.finger)
    }
}

/// Enrolled fingers with their templates (wiped on drop).
pub type EnrolledTemplates = Vec<(Finger, Zeroizing<Vec<u8>>)>;

/// Whether `hash` is on the denylist.
pub fn is_denylisted(outbox: &Outbox, hash: &DocumentHash) -> Result<bool, OutboxError> {
    outbox.list_contains(
        List::Denylist.name(),
        &serde_json::Value::String(hash.to_hex()),
    )
}

/// The enrolled fingers of the document with `hash` (empty: not enrolled). Malformed entries
/// are skipped with a warning.
pub fn enrolment(outbox: &Outbox, hash: &DocumentHash) -> Result<EnrolledTemplates, OutboxError> {
    let wanted = hash.to_hex();
    let mut fingers = Vec::new();
    for item in outbox.list_items(List::Enrolments.name())? {
        if item.get("document_hash").and_then(|h| h.as_str()) != Some(wanted.as_str()) {
            continue;
        }
        let enrolment = match serde_json::from_value::<Enrolment>(item) {
            Ok(enrolment) => enrolment,
            Err(err) => {
                tracing::warn!(error = %err, "malformed enrolment entry skipped");
                continue;
            }
        };
        for entry in enrolment.fingers {
            match hex::decode(entry.template.as_bytes()) {
                Ok(template) => fingers.push((entry.finger, Zeroizing::new(template))),
                Err(_) => {
                    tracing::warn!(finger = ?entry.finger, "malformed enrolment template skipped")
                }
            }
        }
    }
    Ok(fingers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrolments_are_read_as_typed_entries_and_malformed_ones_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(
            dir.path().join("o.sqlite"),
            outbox::OutboxConfig::new("G", outbox::OutboxLimits::default()),
        )
        .unwrap();
        let hash = DocumentHash([7; 32]);
        let items = vec![
            serde_json::json!({"document_hash": hash.to_hex(), "fingers": [
                {"finger": "right_index", "template": "0a0b"},
                {"finger": "left_index", "template": "not hex"},
            ]}),
            serde_json::json!({"document_hash": hash.to_hex(), "fingers": "wrong"}),
            serde_json::json!({"document_hash": DocumentHash([8; 32]).to_hex(), "fingers": []}),
        ];
        outbox
            .replace_list(List::Enrolments.name(), 1, &items)
            .unwrap();
        let fingers = enrolment(&outbox, &hash).unwrap();
        assert_eq!(fingers.len(), 1);
        assert_eq!(fingers[0].0, Finger::RightIndex);
        assert_eq!(fingers[0].1.as_slice(), [0x0a, 0x0b]);
        assert!(
            enrolment(&outbox, &DocumentHash([9; 32]))
                .unwrap()
                .is_empty()
        );
        assert!(!is_denylisted(&outbox, &hash).unwrap());
    }
}

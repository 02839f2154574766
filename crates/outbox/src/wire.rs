//! JSON bodies of the gate <-> central HTTP API (see `crates/central/openapi.yaml`).
//!
//! The sync client and the reference server both use these types, so they cannot drift apart.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Schema version of [`EventEnvelope`] written by this build.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// One event as it travels to central. Unknown fields are ignored (forward compatibility).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// UUIDv7 assigned by the outbox; central is idempotent on it.
    pub id: Uuid,
    /// The gate that recorded the event.
    pub gate_id: String,
    /// Per-gate sequence number, starting at 1 and increasing by one per event.
    pub sequence: u64,
    /// Schema version of the envelope and payload.
    pub schema_version: u32,
    /// Event kind, e.g. `transaction.outcome`.
    pub kind: String,
    /// When the event happened at the gate (unix milliseconds, gate clock).
    pub occurred_at_ms: i64,
    /// Kind-specific body (decision, reason codes, scores, timings, keyed document hash).
    pub payload: serde_json::Value,
}

/// Body of `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// The sending gate; every event must carry the same id.
    pub gate_id: String,
    /// Events in ascending sequence order.
    pub events: Vec<EventEnvelope>,
}

/// Answer to `POST /v1/events`: which events central now holds durably.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchAck {
    /// Ids central holds (newly stored or already stored before).
    pub acked: Vec<Uuid>,
    /// How many were newly stored.
    pub stored: u64,
    /// How many central already had (retransmissions).
    pub duplicates: u64,
}

/// An event as central returns it from `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedEvent {
    /// The event as the gate sent it.
    #[serde(flatten)]
    pub event: EventEnvelope,
    /// When central stored it (unix milliseconds, central clock).
    pub received_at_ms: i64,
    /// Central's arrival counter: increases with every newly stored event.
    pub arrival: i64,
}

/// Answer to `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// Events ordered by gate id, then sequence.
    pub events: Vec<ReceivedEvent>,
}

/// A versioned list as central serves it (`GET /v1/lists/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedList {
    /// List name, e.g. `denylist`.
    pub name: String,
    /// Version; increases with every publication.
    pub version: u64,
    /// Items (opaque JSON values: hashes, enrolment records, certificate bundles).
    pub items: Vec<serde_json::Value>,
}

/// Body of `PUT /v1/lists/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishList {
    /// New version; must be greater than the published one.
    pub version: u64,
    /// The complete new content.
    pub items: Vec<serde_json::Value>,
}

/// Answer to `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when storage answers.
    pub status: String,
    /// Storage backend: `sqlite` or `postgres`.
    pub storage: String,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, for humans.
    pub error: String,
}

/// Base64 (standard alphabet, padded) for binary fields in JSON.
pub(crate) mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserializer, Serializer};

    /// Serialises bytes as a base64 string.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        // The text is a copy of (possibly sensitive) bytes: wipe it after use.
        let text = zeroize::Zeroizing::new(STANDARD.encode(bytes));
        serializer.serialize_str(&text)
    }

    struct Visitor;

    impl serde::de::Visitor<'_> for Visitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a base64 string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
            STANDARD.decode(text).map_err(E::custom)
        }
    }

    /// Deserialises a base64 string (borrowed from the input when possible, so no extra
    /// copy of the text is made).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_str(Visitor)
    }
}

/// HPKE suite of [`SealedHandOver`]: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
/// ChaCha20-Poly1305 (RFC 9180 ids 0x0020, 0x0001, 0x0003), base mode.
pub const HANDOVER_SUITE: &str = "HPKE-Base/X25519-HKDF-SHA256/HKDF-SHA256/ChaCha20Poly1305";

/// A BioCart hand-over record sealed to an inspection booth's public key. Central stores and
/// forwards it but cannot read it; only the booth's private key opens it
/// (`outbox::handover::open`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedHandOver {
    /// UUIDv7 chosen when sealing; central and the booth are idempotent on it.
    pub id: Uuid,
    /// The gate that captured the record (authenticated as HPKE associated data).
    pub gate_id: String,
    /// The traveller transaction, 32 hex digits (authenticated as HPKE associated data).
    pub transaction_id: String,
    /// The booth the record is addressed to.
    pub booth_id: String,
    /// The booth public key it was sealed to (X25519, 32 bytes).
    #[serde(with = "base64_bytes")]
    pub booth_key: Vec<u8>,
    /// [`HANDOVER_SUITE`].
    pub suite: String,
    /// HPKE encapsulated key (X25519 ephemeral public key, 32 bytes).
    #[serde(with = "base64_bytes")]
    pub encapsulated_key: Vec<u8>,
    /// HPKE ciphertext of the record (with the 16-byte Poly1305 tag).
    #[serde(with = "base64_bytes")]
    pub ciphertext: Vec<u8>,
    /// When it was sealed (unix ms, gate clock).
    pub sealed_at_ms: i64,
}

impl std::fmt::Debug for SealedHandOver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedHandOver")
            .field("id", &self.id)
            .field("gate_id", &self.gate_id)
            .field("transaction_id", &self.transaction_id)
            .field("booth_id", &self.booth_id)
            .field("ciphertext_bytes", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Body of `POST /v1/gates/{gate}/handovers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOverBatch {
    /// Sealed records of the gate named in the path.
    pub handovers: Vec<SealedHandOver>,
}

/// Answer to `POST /v1/gates/{gate}/handovers`: the records central now holds durably (or
/// already delivered); the gate deletes its copies of exactly these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandOverAck {
    /// Ids central holds or already handed to the booth.
    pub acked: Vec<Uuid>,
    /// How many were newly stored.
    pub stored: u64,
    /// How many central already had.
    pub duplicates: u64,
}

/// A sealed record as a booth receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedHandOver {
    /// The record as the gate sealed it.
    #[serde(flatten)]
    pub sealed: SealedHandOver,
    /// When central stored it (unix ms, central clock).
    pub received_at_ms: i64,
}

/// Answer to `GET /v1/booths/{booth}/handovers`: records not yet acknowledged by the booth,
/// oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandOverPage {
    /// The records.
    pub handovers: Vec<ReceivedHandOver>,
}

/// Body of `POST /v1/booths/{booth}/handovers/ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoothAck {
    /// Records the booth has stored (or no longer needs); central erases their ciphertext.
    pub ids: Vec<Uuid>,
}

/// Answer to `POST /v1/booths/{booth}/handovers/ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothAckResult {
    /// How many records were newly acknowledged (already acknowledged or unknown ids count 0).
    pub acknowledged: u64,
}

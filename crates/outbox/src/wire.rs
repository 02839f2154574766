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

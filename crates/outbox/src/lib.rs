//! Durable SQLite event outbox and list store of a gate, and its sync client.
//!
//! * [`Outbox`]: the gate's durable queue of events (WAL, `synchronous=FULL`, integrity check
//!   at open with quarantine of a corrupt file, per-gate sequence numbers, bounded disk use
//!   with a high-water mark) plus the store of down-synced versioned lists.
//! * [`sync`]: the HTTP/JSON client that pushes pending events to central in per-gate order
//!   and pulls lists, with exponential back-off and jitter, over rustls (optionally mutual TLS).
//! * [`wire`]: the JSON bodies of the central API, shared with the `central` server.
//! * [`handover`]: the BioCart hand-over record, sealed with HPKE to the inspection booth's
//!   public key; the outbox queues sealed records in their own table and deletes each once
//!   central has acknowledged it.
//!
//! The crate knows nothing of gate policy: gated serialises its outcome record into a
//! [`NewEvent`] payload (with a keyed hash of the document number, never the number itself)
//! and calls [`Outbox::append`].

mod error;
pub mod handover;
mod store;
pub mod sync;
pub mod wire;

pub use error::{OutboxError, Result};
pub use store::{
    AppendReceipt, Clock, ExpiredHandOver, HANDOVER_EXPIRED_EVENT, HandOverQueueStatus,
    HandOverReceipt, ListFreshness, ListInfo, NewEvent, Outbox, OutboxConfig, OutboxLimits,
    OutboxStatus, StoredEvent, StoredHandOver, SyncState, system_clock,
};

/// The SQLite binding, re-exported so [`Outbox::append_with`] callers use the same version.
pub use rusqlite;

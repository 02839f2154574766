//! Errors of the outbox store.

use std::path::PathBuf;

/// Everything that can go wrong in the outbox store.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// An SQLite call failed; `operation` names what the store was doing.
    #[error("outbox {operation}: {source}")]
    Sqlite {
        /// What the store was doing, e.g. "append" or "mark delivered".
        operation: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database failed its integrity check at open and was moved aside. The gate must enter
    /// safe mode and raise an alarm; a later `open` starts a fresh, empty database.
    #[error("outbox database {path} is corrupt ({detail}); moved aside to {moved_to}")]
    Corrupt {
        /// Where the database was.
        path: PathBuf,
        /// Where the corrupt file now is (kept for forensics).
        moved_to: PathBuf,
        /// What the integrity check or SQLite reported.
        detail: String,
    },
    /// A corrupt database could not be moved aside.
    #[error("outbox database {path} is corrupt ({detail}) and could not be moved aside: {source}")]
    QuarantineFailed {
        /// Where the database is.
        path: PathBuf,
        /// What the integrity check or SQLite reported.
        detail: String,
        /// The rename error.
        #[source]
        source: std::io::Error,
    },
    /// Disk use passed the high-water mark: the gate must refuse new travellers (events of
    /// travellers already in the gate can still be appended up to `max_bytes`).
    #[error("outbox above high-water mark: {used_bytes} bytes used, high-water {high_water_bytes}")]
    HighWater {
        /// Bytes in use by the database.
        used_bytes: u64,
        /// The configured high-water mark.
        high_water_bytes: u64,
    },
    /// Appending would make the database exceed its hard size limit; nothing was written.
    #[error("outbox full: {used_bytes} bytes used + {needed_bytes} needed > limit {max_bytes}")]
    Full {
        /// Bytes in use by the database.
        used_bytes: u64,
        /// Estimated bytes the refused write needs.
        needed_bytes: u64,
        /// The configured hard limit.
        max_bytes: u64,
    },
    /// The database belongs to another gate.
    #[error("outbox database {path} belongs to gate {stored:?}, but this gate is {configured:?}")]
    GateIdMismatch {
        /// The database path.
        path: PathBuf,
        /// Gate id stored in the database.
        stored: String,
        /// Gate id this process was configured with.
        configured: String,
    },
    /// The database was written by newer software.
    #[error(
        "outbox database {path} has schema version {found}; this build supports up to {supported}"
    )]
    SchemaTooNew {
        /// The database path.
        path: PathBuf,
        /// Version found in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// The database file does not exist (only for [`crate::Outbox::attach`]).
    #[error("outbox database {path} does not exist")]
    Missing {
        /// The database path.
        path: PathBuf,
    },
    /// A JSON value could not be encoded or a stored one decoded.
    #[error("outbox {operation}: JSON: {source}")]
    Json {
        /// What the store was doing.
        operation: &'static str,
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored row holds a value this build cannot read.
    #[error("outbox row is unreadable: {detail}")]
    BadRow {
        /// What was wrong.
        detail: String,
    },
    /// A list update offered a version older than the stored one.
    #[error("list {name:?}: offered version {offered} is older than stored version {stored}")]
    ListVersionRegressed {
        /// List name.
        name: String,
        /// Version offered.
        offered: u64,
        /// Version stored.
        stored: u64,
    },
    /// The configuration is unusable.
    #[error("outbox configuration: {0}")]
    Config(String),
}

/// Shorthand for results of the outbox store.
pub type Result<T, E = OutboxError> = std::result::Result<T, E>;

/// Returns a mapper that wraps an SQLite error with the operation it happened in.
pub(crate) fn sql(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> OutboxError {
    move |source| OutboxError::Sqlite { operation, source }
}

/// Returns a mapper that wraps a JSON error with the operation it happened in.
pub(crate) fn json(operation: &'static str) -> impl FnOnce(serde_json::Error) -> OutboxError {
    move |source| OutboxError::Json { operation, source }
}

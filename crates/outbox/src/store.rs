//! The durable event queue: open, integrity check, migrations, append, delivery, retention.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{OutboxError, Result, json, sql};
use crate::wire::{EVENT_SCHEMA_VERSION, EventEnvelope, SealedHandOver};

/// A source of wall-clock time in unix milliseconds (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// Disk and retention limits of an outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Hard limit on bytes used by the database: an append that would pass it is refused with
    /// [`OutboxError::Full`]. Events are never dropped or overwritten to make room.
    pub max_bytes: u64,
    /// Soft limit: above it [`Outbox::check_admission`] refuses new travellers with
    /// [`OutboxError::HighWater`], so the events of travellers already inside still fit.
    pub high_water_bytes: u64,
    /// How long delivered events are kept before [`Outbox::purge_delivered`] removes them.
    pub delivered_retention: Duration,
}

impl Default for OutboxLimits {
    /// 1 GiB hard limit, high-water at 90 %, delivered events kept 30 days.
    fn default() -> Self {
        Self {
            max_bytes: 1 << 30,
            high_water_bytes: (1 << 30) / 10 * 9,
            delivered_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// What [`Outbox::open`] needs.
#[derive(Clone)]
pub struct OutboxConfig {
    /// This gate's id; stored in the database at creation and checked on every open.
    pub gate_id: String,
    /// Disk and retention limits.
    pub limits: OutboxLimits,
    /// Wall clock (unix ms) used for record, delivery and purge times.
    pub clock: Clock,
}

impl OutboxConfig {
    /// A configuration with the system clock.
    pub fn new(gate_id: impl Into<String>, limits: OutboxLimits) -> Self {
        Self {
            gate_id: gate_id.into(),
            limits,
            clock: system_clock(),
        }
    }
}

impl std::fmt::Debug for OutboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxConfig")
            .field("gate_id", &self.gate_id)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// An event to append; the outbox adds id, gate id, sequence and schema version.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// Event kind, e.g. `transaction.outcome`.
    pub kind: &'a str,
    /// When it happened (unix milliseconds).
    pub occurred_at_ms: i64,
    /// Body. Must never contain a document number, MRZ, image, template or embedding:
    /// the caller puts a keyed hash of the document number here instead.
    pub payload: &'a serde_json::Value,
}

/// What an append assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// The event's UUIDv7.
    pub id: Uuid,
    /// Its per-gate sequence number.
    pub sequence: u64,
}

/// An event as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// The envelope sent to central.
    pub envelope: EventEnvelope,
    /// When it was appended (unix ms).
    pub recorded_at_ms: i64,
    /// When central acknowledged it, if it has.
    pub delivered_at_ms: Option<i64>,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
}

/// Counts and sizes for monitoring (`gatectl outbox status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxStatus {
    /// This outbox's gate id.
    pub gate_id: String,
    /// Events not yet acknowledged by central.
    pub pending: u64,
    /// Delivered events still kept (within retention).
    pub delivered: u64,
    /// Sequence number the next event will get.
    pub next_sequence: u64,
    /// Sequence of the oldest pending event.
    pub oldest_pending_sequence: Option<u64>,
    /// Age of the oldest pending event (ms since it was recorded).
    pub oldest_pending_age_ms: Option<i64>,
    /// Bytes in use inside the database (pages minus free pages).
    pub used_bytes: u64,
    /// Bytes on disk (database file plus write-ahead log).
    pub file_bytes: u64,
    /// The configured hard limit.
    pub max_bytes: u64,
    /// The configured high-water mark.
    pub high_water_bytes: u64,
    /// Whether `used_bytes` is at or above the high-water mark (new travellers refused).
    pub above_high_water: bool,
    /// Sync bookkeeping written by the sync client.
    pub sync: SyncState,
}

/// What the sync client last recorded (shared through the database, so `gatectl` can read it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncState {
    /// Last time a push or pull succeeded (unix ms).
    pub last_success_ms: Option<i64>,
    /// Last time a push or pull failed (unix ms).
    pub last_failure_ms: Option<i64>,
    /// The last failure message.
    pub last_error: Option<String>,
    /// When a technician last asked for an immediate retry (unix ms).
    pub retry_requested_ms: Option<i64>,
}

/// How old a down-synced list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFreshness {
    /// Fetched (or confirmed current) within the allowed age.
    Fresh {
        /// The stored version.
        version: u64,
    },
    /// Not confirmed for longer than the allowed age: the gate must refuse travellers.
    Stale {
        /// The stored version.
        version: u64,
        /// Milliseconds since the list was last fetched or confirmed.
        age_ms: i64,
    },
    /// Never fetched.
    Missing,
}

/// Metadata of a stored list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListInfo {
    /// List name.
    pub name: String,
    /// Stored version.
    pub version: u64,
    /// Number of items.
    pub item_count: u64,
    /// When central last served or confirmed this version (unix ms).
    pub fetched_at_ms: i64,
    /// When this version was written locally (unix ms).
    pub applied_at_ms: i64,
}

/// Schema migrations; entry `i` moves `PRAGMA user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE events (
    sequence        INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at_ms  INTEGER NOT NULL,
    recorded_at_ms  INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    delivered_at_ms INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
) STRICT;
CREATE INDEX events_pending ON events (sequence) WHERE delivered_at_ms IS NULL;
CREATE INDEX events_delivered ON events (delivered_at_ms) WHERE delivered_at_ms IS NOT NULL;
CREATE TABLE lists (
    name           TEXT PRIMARY KEY NOT NULL,
    version        INTEGER NOT NULL,
    item_count     INTEGER NOT NULL,
    fetched_at_ms  INTEGER NOT NULL,
    applied_at_ms  INTEGER NOT NULL
) STRICT;
CREATE TABLE list_items (
    name     TEXT NOT NULL,
    position INTEGER NOT NULL,
    item     TEXT NOT NULL,
    PRIMARY KEY (name, position)
) STRICT;
CREATE INDEX list_items_by_value ON list_items (name, item);
"#,
    r#"
CREATE TABLE handovers (
    id              TEXT PRIMARY KEY NOT NULL,
    transaction_id  TEXT NOT NULL UNIQUE,
    booth_id        TEXT NOT NULL,
    sealed          BLOB NOT NULL,
    sealed_at_ms    INTEGER NOT NULL,
    recorded_at_ms  INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
) STRICT;
CREATE INDEX handovers_expiry ON handovers (expires_at_ms);
"#,
];

/// Kind of the event appended when a sealed hand-over record expires unsent.
pub const HANDOVER_EXPIRED_EVENT: &str = "biocart.handover.expired";

const META_GATE_ID: &str = "gate_id";
const META_NEXT_SEQUENCE: &str = "next_sequence";
const META_MAX_BYTES: &str = "limits.max_bytes";
const META_HIGH_WATER: &str = "limits.high_water_bytes";
const META_RETENTION_MS: &str = "limits.delivered_retention_ms";
const META_SYNC_SUCCESS: &str = "sync.last_success_ms";
const META_SYNC_FAILURE: &str = "sync.last_failure_ms";
const META_SYNC_ERROR: &str = "sync.last_error";
const META_RETRY_REQUESTED: &str = "sync.retry_requested_ms";

/// Rough per-row overhead (ids, integers, index entries) added to the payload size when
/// estimating how much an append needs.
const ROW_OVERHEAD_BYTES: u64 = 256;

/// The gate's durable event outbox and list store: one SQLite database.
///
/// # Durability
/// The database runs in WAL mode with `synchronous=FULL`. In WAL mode SQLite appends each
/// committed transaction to the write-ahead log and, with `FULL`, fsyncs the log before
/// `COMMIT` returns. So once [`Outbox::append`] returns `Ok`, the event survives a process
/// kill and a power loss (given a disk that honours fsync). `NORMAL` would only fsync at
/// checkpoints and could lose the last transactions on power loss, which is not acceptable
/// for legal records. The cost is one fsync per append (see the bench in the README).
///
/// # Concurrency
/// One `Outbox` is one connection and is not `Sync`. A second handle on the same file (for
/// the sync thread, or `gatectl`) is made with [`Outbox::attach`]; SQLite's WAL lets readers
/// run alongside the single writer and a 5 s busy timeout serialises writers.
pub struct Outbox {
    connection: Connection,
    path: PathBuf,
    gate_id: String,
    limits: OutboxLimits,
    clock: Clock,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.path)
            .field("gate_id", &self.gate_id)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn is_corruption(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Runs `PRAGMA integrity_check` on an existing file. `Ok(None)` means healthy,
/// `Ok(Some(detail))` corrupt; other errors (locked, permission) are returned as errors and
/// must not make the file be moved aside.
fn integrity_problem(path: &Path) -> Result<Option<String>> {
    let connection = match Connection::open(path) {
        Ok(connection) => connection,
        Err(error) if is_corruption(&error) => return Ok(Some(error.to_string())),
        Err(error) => return Err(sql("open for integrity check")(error)),
    };
    let checked = connection
        .busy_timeout(Duration::from_secs(5))
        .and_then(|()| {
            let mut statement = connection.prepare("PRAGMA integrity_check")?;
            let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
        });
    match checked {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(None),
        Ok(lines) => Ok(Some(
            lines.into_iter().take(5).collect::<Vec<_>>().join("; "),
        )),
        Err(error) if is_corruption(&error) => Ok(Some(error.to_string())),
        Err(error) => Err(sql("integrity check")(error)),
    }
}

fn quarantine(path: &Path, now_ms: i64, detail: String) -> OutboxError {
    let moved_to = sidecar(path, &format!(".corrupt-{now_ms}"));
    if let Err(source) = std::fs::rename(path, &moved_to) {
        return OutboxError::QuarantineFailed {
            path: path.to_owned(),
            detail,
            source,
        };
    }
    for suffix in ["-wal", "-shm"] {
        let side = sidecar(path, suffix);
        if side.exists() {
            // Best effort: a leftover log beside a fresh database would be replayed into it.
            let target = sidecar(&moved_to, suffix);
            if let Err(source) = std::fs::rename(&side, &target) {
                return OutboxError::QuarantineFailed {
                    path: side,
                    detail,
                    source,
                };
            }
        }
    }
    tracing::error!(path = %path.display(), moved_to = %moved_to.display(), %detail, "outbox database corrupt; moved aside");
    OutboxError::Corrupt {
        path: path.to_owned(),
        moved_to,
        detail,
    }
}

/// SQLite's page cache per connection, KiB. SQLite's default (2 MiB) fills slowly as the
/// outbox grows (kept events stay `retention_days`), which reads as a leak on a small gate;
/// the outbox is appended to and read by index, and half a megabyte per connection holds its
/// hot pages (measured: `crates/gated/benches/soak.rs`).
pub const PAGE_CACHE_KIB: u32 = 512;

fn configure(connection: &Connection) -> Result<()> {
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(sql("set busy timeout"))?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(sql("enable WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OutboxError::Config(format!(
            "SQLite refused WAL mode (got {mode:?})"
        )));
    }
    connection
        .execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=16777216; \
             PRAGMA secure_delete=ON;",
        )
        .map_err(sql("set pragmas"))?;
    connection
        .execute_batch(&format!("PRAGMA cache_size=-{PAGE_CACHE_KIB};"))
        .map_err(sql("set the page cache"))?;
    Ok(())
}

fn u64_from(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| OutboxError::BadRow {
        detail: format!("{what} is negative: {value}"),
    })
}

fn i64_from(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| OutboxError::Config(format!("{what} too large: {value}")))
}

impl Outbox {
    /// Opens (or creates) the outbox at `path`: integrity check, WAL + `synchronous=FULL`,
    /// migrations, gate id check.
    ///
    /// A file that fails `PRAGMA integrity_check` (or is not an SQLite database at all) is
    /// renamed to `PATH.corrupt-<unix ms>` (with its `-wal`/`-shm`) and
    /// [`OutboxError::Corrupt`] is returned: the caller enters safe mode and raises the
    /// alarm. Opening again afterwards creates a fresh database.
    pub fn open(path: impl AsRef<Path>, config: OutboxConfig) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if config.gate_id.is_empty() {
            return Err(OutboxError::Config("gate id is empty".into()));
        }
        if config.limits.high_water_bytes > config.limits.max_bytes {
            return Err(OutboxError::Config(format!(
                "high-water mark {} is above the hard limit {}",
                config.limits.high_water_bytes, config.limits.max_bytes
            )));
        }
        let existing = std::fs::metadata(&path)
            .map(|meta| meta.len() > 0)
            .unwrap_or(false);
        if existing && let Some(detail) = integrity_problem(&path)? {
            return Err(quarantine(&path, (config.clock)(), detail));
        }
        let mut connection = Connection::open(&path).map_err(sql("open"))?;
        configure(&connection)?;
        migrate(&mut connection, &path)?;
        let outbox = Self {
            connection,
            path,
            gate_id: config.gate_id,
            limits: config.limits,
            clock: config.clock,
        };
        outbox.claim_gate_id()?;
        Ok(outbox)
    }

    /// Opens a second handle on an existing outbox (sync thread, `gatectl`): no integrity
    /// check, no migration. Gate id and limits are read from the database (the last
    /// [`Outbox::open`] stored them).
    pub fn attach(path: impl AsRef<Path>, clock: Clock) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if !path.exists() {
            return Err(OutboxError::Missing { path });
        }
        let connection = Connection::open(&path).map_err(sql("open"))?;
        configure(&connection)?;
        let version: u32 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(sql("read schema version"))?;
        let supported = u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX);
        if version != supported {
            return Err(OutboxError::SchemaTooNew {
                path,
                found: version,
                supported,
            });
        }
        let gate_id: String = connection
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [META_GATE_ID],
                |row| row.get(0),
            )
            .map_err(sql("read gate id"))?;
        let mut outbox = Self {
            connection,
            path,
            gate_id,
            limits: OutboxLimits::default(),
            clock,
        };
        let stored_limit = |key: &str| -> Result<Option<u64>> {
            Ok(outbox.get_meta(key)?.and_then(|value| value.parse().ok()))
        };
        let defaults = OutboxLimits::default();
        let limits = OutboxLimits {
            max_bytes: stored_limit(META_MAX_BYTES)?.unwrap_or(defaults.max_bytes),
            high_water_bytes: stored_limit(META_HIGH_WATER)?.unwrap_or(defaults.high_water_bytes),
            delivered_retention: stored_limit(META_RETENTION_MS)?
                .map(Duration::from_millis)
                .unwrap_or(defaults.delivered_retention),
        };
        outbox.limits = limits;
        Ok(outbox)
    }

    fn claim_gate_id(&self) -> Result<()> {
        let stored: Option<String> = self
            .connection
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [META_GATE_ID],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql("read gate id"))?;
        match stored {
            Some(stored) if stored != self.gate_id => Err(OutboxError::GateIdMismatch {
                path: self.path.clone(),
                stored,
                configured: self.gate_id.clone(),
            }),
            Some(_) => self.store_limits(),
            None => {
                self.connection
                    .execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2), (?3, '1')",
                        params![META_GATE_ID, self.gate_id, META_NEXT_SEQUENCE],
                    )
                    .map_err(sql("store gate id"))?;
                self.store_limits()
            }
        }
    }

    /// Stores the configured limits so [`Outbox::attach`] handles (gatectl) see them.
    fn store_limits(&self) -> Result<()> {
        let retention_ms = self.limits.delivered_retention.as_millis().to_string();
        Self::put_meta(
            &self.connection,
            META_MAX_BYTES,
            &self.limits.max_bytes.to_string(),
        )?;
        Self::put_meta(
            &self.connection,
            META_HIGH_WATER,
            &self.limits.high_water_bytes.to_string(),
        )?;
        Self::put_meta(&self.connection, META_RETENTION_MS, &retention_ms)
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The gate id this outbox belongs to.
    pub fn gate_id(&self) -> &str {
        &self.gate_id
    }

    /// The configured limits.
    pub fn limits(&self) -> &OutboxLimits {
        &self.limits
    }

    /// Current time from the configured clock (unix ms).
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    fn used_bytes(connection: &Connection) -> Result<u64> {
        let (pages, free, page_size): (i64, i64, i64) = connection
            .query_row(
                "SELECT (SELECT page_count FROM pragma_page_count()), \
                        (SELECT freelist_count FROM pragma_freelist_count()), \
                        (SELECT page_size FROM pragma_page_size())",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .map_err(sql("measure size"))?;
        Ok(u64::try_from((pages - free).max(0) * page_size).unwrap_or(0))
    }

    /// Refuses new travellers when disk use is at or above the high-water mark.
    ///
    /// gated calls this before admitting a traveller; on `Err(HighWater)` it shows the
    /// refusal and raises the alarm. Events of travellers already admitted are still
    /// accepted by [`Outbox::append`] up to `max_bytes`.
    pub fn check_admission(&self) -> Result<()> {
        let used_bytes = Self::used_bytes(&self.connection)?;
        if used_bytes >= self.limits.high_water_bytes {
            return Err(OutboxError::HighWater {
                used_bytes,
                high_water_bytes: self.limits.high_water_bytes,
            });
        }
        Ok(())
    }

    /// Appends one event in its own transaction (durable when this returns `Ok`).
    pub fn append(&mut self, event: &NewEvent<'_>) -> Result<AppendReceipt> {
        let (receipts, ()) = self.append_all_with(std::slice::from_ref(event), |_| Ok(()))?;
        receipts
            .into_iter()
            .next()
            .ok_or_else(|| OutboxError::BadRow {
                detail: "append produced no receipt".into(),
            })
    }

    /// Appends several events in one transaction: all or none.
    pub fn append_batch(&mut self, events: &[NewEvent<'_>]) -> Result<Vec<AppendReceipt>> {
        self.append_all_with(events, |_| Ok(())).map(|(r, ())| r)
    }

    /// Appends one event and runs `write_own_state` in the same SQLite transaction, so the
    /// caller's own state (e.g. "transaction T finished") commits atomically with the event.
    /// If the closure fails, nothing is written.
    pub fn append_with<T>(
        &mut self,
        event: &NewEvent<'_>,
        write_own_state: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<(AppendReceipt, T)> {
        let (receipts, value) =
            self.append_all_with(std::slice::from_ref(event), write_own_state)?;
        let receipt = receipts
            .into_iter()
            .next()
            .ok_or_else(|| OutboxError::BadRow {
                detail: "append produced no receipt".into(),
            })?;
        Ok((receipt, value))
    }

    /// Runs `write_own_state` in its own immediate SQLite transaction on this database and
    /// commits it (durable when this returns `Ok`, like an append): for a caller's own tables
    /// (gated's journal of transactions in progress). Its rows count towards the disk budget
    /// like events; nothing is written when the closure fails.
    pub fn write_own_state<T>(
        &mut self,
        write_own_state: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin own state"))?;
        let value = write_own_state(&transaction).map_err(sql("caller state"))?;
        transaction.commit().map_err(sql("commit own state"))?;
        Ok(value)
    }

    /// Reads a caller's own tables (see [`Outbox::write_own_state`]).
    pub fn read_own_state<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        read(&self.connection).map_err(sql("read caller state"))
    }

    fn append_all_with<T>(
        &mut self,
        events: &[NewEvent<'_>],
        write_own_state: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<(Vec<AppendReceipt>, T)> {
        let payloads = events
            .iter()
            .map(|event| serde_json::to_string(event.payload).map_err(json("encode payload")))
            .collect::<Result<Vec<String>>>()?;
        let needed_bytes: u64 = payloads
            .iter()
            .zip(events)
            .map(|(payload, event)| payload.len() as u64 + event.kind.len() as u64)
            .map(|bytes| bytes + ROW_OVERHEAD_BYTES)
            .sum();
        let now_ms = (self.clock)();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin append"))?;
        let used_bytes = Self::used_bytes(&transaction)?;
        if used_bytes.saturating_add(needed_bytes) > self.limits.max_bytes {
            return Err(OutboxError::Full {
                used_bytes,
                needed_bytes,
                max_bytes: self.limits.max_bytes,
            });
        }
        let receipts = Self::insert_events(&transaction, events, &payloads, now_ms)?;
        let value = write_own_state(&transaction).map_err(sql("caller state in append"))?;
        transaction.commit().map_err(sql("commit append"))?;
        Ok((receipts, value))
    }

    /// Inserts events (with their encoded payloads) in an open transaction and advances the
    /// sequence counter.
    fn insert_events(
        transaction: &Transaction<'_>,
        events: &[NewEvent<'_>],
        payloads: &[String],
        now_ms: i64,
    ) -> Result<Vec<AppendReceipt>> {
        let next: i64 = transaction
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1",
                [META_NEXT_SEQUENCE],
                |row| row.get(0),
            )
            .map_err(sql("read next sequence"))?;
        let mut receipts = Vec::with_capacity(events.len());
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO events (sequence, id, kind, schema_version, occurred_at_ms, \
                     recorded_at_ms, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql("prepare append"))?;
            for (offset, (event, payload)) in events.iter().zip(payloads).enumerate() {
                let sequence = next + offset as i64;
                let id = Uuid::now_v7();
                insert
                    .execute(params![
                        sequence,
                        id.to_string(),
                        event.kind,
                        EVENT_SCHEMA_VERSION,
                        event.occurred_at_ms,
                        now_ms,
                        payload
                    ])
                    .map_err(sql("append"))?;
                receipts.push(AppendReceipt {
                    id,
                    sequence: u64_from(sequence, "sequence")?,
                });
            }
        }
        transaction
            .execute(
                "UPDATE meta SET value = ?2 WHERE key = ?1",
                params![META_NEXT_SEQUENCE, (next + events.len() as i64).to_string()],
            )
            .map_err(sql("advance sequence"))?;
        Ok(receipts)
    }

    fn read_events(&self, sql_text: &str, args: impl rusqlite::Params) -> Result<Vec<StoredEvent>> {
        let mut statement = self
            .connection
            .prepare_cached(sql_text)
            .map_err(sql("prepare read"))?;
        let rows = statement
            .query_map(args, |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, u32>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, Option<i64>>(7)?,
                    row.get::<_, u32>(8)?,
                    row.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(sql("read events"))?;
        let mut events = Vec::new();
        for row in rows {
            let (
                sequence,
                id,
                kind,
                schema_version,
                occurred,
                recorded,
                payload,
                delivered,
                attempts,
                last_error,
            ) = row.map_err(sql("read events"))?;
            let id = Uuid::parse_str(&id).map_err(|error| OutboxError::BadRow {
                detail: format!("event {sequence} id {id:?}: {error}"),
            })?;
            let payload = serde_json::from_str(&payload).map_err(json("decode payload"))?;
            events.push(StoredEvent {
                envelope: EventEnvelope {
                    id,
                    gate_id: self.gate_id.clone(),
                    sequence: u64_from(sequence, "sequence")?,
                    schema_version,
                    kind,
                    occurred_at_ms: occurred,
                    payload,
                },
                recorded_at_ms: recorded,
                delivered_at_ms: delivered,
                attempts,
                last_error,
            });
        }
        Ok(events)
    }

    /// Up to `limit` undelivered events in sequence order (oldest first).
    pub fn pending(&self, limit: usize) -> Result<Vec<StoredEvent>> {
        self.read_events(
            "SELECT sequence, id, kind, schema_version, occurred_at_ms, recorded_at_ms, payload, \
             delivered_at_ms, attempts, last_error FROM events WHERE delivered_at_ms IS NULL \
             ORDER BY sequence LIMIT ?1",
            [i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    /// Events with sequence greater than `after_sequence`, delivered or not, in order.
    pub fn events_after(&self, after_sequence: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.read_events(
            "SELECT sequence, id, kind, schema_version, occurred_at_ms, recorded_at_ms, payload, \
             delivered_at_ms, attempts, last_error FROM events WHERE sequence > ?1 \
             ORDER BY sequence LIMIT ?2",
            [
                i64_from(after_sequence, "sequence")?,
                i64::try_from(limit).unwrap_or(i64::MAX),
            ],
        )
    }

    /// Marks events delivered. Call only after central acknowledged them. Idempotent:
    /// returns how many were newly marked (already delivered or unknown ids count zero).
    pub fn mark_delivered(&mut self, ids: &[Uuid]) -> Result<usize> {
        let now_ms = (self.clock)();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin mark delivered"))?;
        let mut marked = 0;
        {
            let mut update = transaction
                .prepare_cached(
                    "UPDATE events SET delivered_at_ms = ?2, last_error = NULL \
                     WHERE id = ?1 AND delivered_at_ms IS NULL",
                )
                .map_err(sql("prepare mark delivered"))?;
            for id in ids {
                marked += update
                    .execute(params![id.to_string(), now_ms])
                    .map_err(sql("mark delivered"))?;
            }
        }
        Self::put_meta(&transaction, META_SYNC_SUCCESS, &now_ms.to_string())?;
        transaction.commit().map_err(sql("commit mark delivered"))?;
        Ok(marked)
    }

    /// Records a failed delivery attempt of `ids` (attempt counter, last error, sync state).
    pub fn record_delivery_failure(&mut self, ids: &[Uuid], error: &str) -> Result<()> {
        let now_ms = (self.clock)();
        let transaction = self
            .connection
            .transaction()
            .map_err(sql("begin record failure"))?;
        {
            let mut update = transaction
                .prepare_cached(
                    "UPDATE events SET attempts = attempts + 1, last_error = ?2 \
                     WHERE id = ?1 AND delivered_at_ms IS NULL",
                )
                .map_err(sql("prepare record failure"))?;
            for id in ids {
                update
                    .execute(params![id.to_string(), error])
                    .map_err(sql("record failure"))?;
            }
        }
        Self::put_meta(&transaction, META_SYNC_FAILURE, &now_ms.to_string())?;
        Self::put_meta(&transaction, META_SYNC_ERROR, error)?;
        transaction.commit().map_err(sql("commit record failure"))
    }

    /// Records a sync success that delivered nothing (e.g. a list pull).
    pub fn record_sync_success(&mut self) -> Result<()> {
        let now_ms = (self.clock)();
        Self::put_meta(&self.connection, META_SYNC_SUCCESS, &now_ms.to_string())
    }

    /// Records a sync failure not tied to events (e.g. a list pull).
    pub fn record_sync_failure(&mut self, error: &str) -> Result<()> {
        let now_ms = (self.clock)();
        Self::put_meta(&self.connection, META_SYNC_FAILURE, &now_ms.to_string())?;
        Self::put_meta(&self.connection, META_SYNC_ERROR, error)
    }

    /// Asks the sync client to retry now (used by `gatectl outbox retry`): resets the attempt
    /// counters of pending events and stores a retry request the sync loop polls for.
    /// Returns the number of pending events.
    pub fn request_retry(&mut self) -> Result<usize> {
        let now_ms = (self.clock)();
        let transaction = self.connection.transaction().map_err(sql("begin retry"))?;
        let pending = transaction
            .execute(
                "UPDATE events SET attempts = 0 WHERE delivered_at_ms IS NULL",
                [],
            )
            .map_err(sql("reset attempts"))?;
        Self::put_meta(&transaction, META_RETRY_REQUESTED, &now_ms.to_string())?;
        transaction.commit().map_err(sql("commit retry"))?;
        Ok(pending)
    }

    /// The last retry request time, if any (the sync loop compares it with what it saw).
    pub fn retry_requested_ms(&self) -> Result<Option<i64>> {
        Ok(self
            .get_meta(META_RETRY_REQUESTED)?
            .and_then(|value| value.parse().ok()))
    }

    /// Deletes delivered events older than the retention period. Pending events are never
    /// deleted. Returns how many were removed.
    pub fn purge_delivered(&mut self) -> Result<usize> {
        let retention_ms =
            i64::try_from(self.limits.delivered_retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = (self.clock)().saturating_sub(retention_ms);
        self.purge_delivered_before(cutoff)
    }

    /// Deletes delivered events acknowledged at or before `cutoff_ms` (technician purge).
    pub fn purge_delivered_before(&mut self, cutoff_ms: i64) -> Result<usize> {
        self.connection
            .execute(
                "DELETE FROM events WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms <= ?1",
                [cutoff_ms],
            )
            .map_err(sql("purge delivered"))
    }

    /// Counts, sizes and sync state.
    pub fn status(&self) -> Result<OutboxStatus> {
        let (pending, delivered, oldest_sequence, oldest_recorded): (
            i64,
            i64,
            Option<i64>,
            Option<i64>,
        ) = self
            .connection
            .query_row(
                "SELECT (SELECT count(*) FROM events WHERE delivered_at_ms IS NULL), \
                        (SELECT count(*) FROM events WHERE delivered_at_ms IS NOT NULL), \
                        (SELECT min(sequence) FROM events WHERE delivered_at_ms IS NULL), \
                        (SELECT recorded_at_ms FROM events WHERE delivered_at_ms IS NULL \
                         ORDER BY sequence LIMIT 1)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .map_err(sql("status"))?;
        let next_sequence = self
            .get_meta(META_NEXT_SEQUENCE)?
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(1);
        let used_bytes = Self::used_bytes(&self.connection)?;
        let file_bytes = [self.path.clone(), sidecar(&self.path, "-wal")]
            .iter()
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|meta| meta.len())
            .sum();
        let now_ms = (self.clock)();
        let parse = |value: Option<String>| value.and_then(|v| v.parse::<i64>().ok());
        Ok(OutboxStatus {
            gate_id: self.gate_id.clone(),
            pending: u64_from(pending, "count")?,
            delivered: u64_from(delivered, "count")?,
            next_sequence,
            oldest_pending_sequence: oldest_sequence
                .map(|s| u64_from(s, "sequence"))
                .transpose()?,
            oldest_pending_age_ms: oldest_recorded.map(|recorded| now_ms.saturating_sub(recorded)),
            used_bytes,
            file_bytes,
            max_bytes: self.limits.max_bytes,
            high_water_bytes: self.limits.high_water_bytes,
            above_high_water: used_bytes >= self.limits.high_water_bytes,
            sync: SyncState {
                last_success_ms: parse(self.get_meta(META_SYNC_SUCCESS)?),
                last_failure_ms: parse(self.get_meta(META_SYNC_FAILURE)?),
                last_error: self.get_meta(META_SYNC_ERROR)?,
                retry_requested_ms: parse(self.get_meta(META_RETRY_REQUESTED)?),
            },
        })
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>> {
        self.connection
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sql("read meta"))
    }

    fn put_meta(connection: &Connection, key: &str, value: &str) -> Result<()> {
        connection
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(sql("write meta"))?;
        Ok(())
    }

    // ----- list store -----

    /// Replaces list `name` with `items` at `version`, atomically (readers see the old or the
    /// new list, never a mix) and durably. Offering the stored version again only refreshes
    /// the fetched-at time; an older version is refused with
    /// [`OutboxError::ListVersionRegressed`].
    pub fn replace_list(
        &mut self,
        name: &str,
        version: u64,
        items: &[serde_json::Value],
    ) -> Result<()> {
        let encoded = items
            .iter()
            .map(|item| serde_json::to_string(item).map_err(json("encode list item")))
            .collect::<Result<Vec<String>>>()?;
        let now_ms = (self.clock)();
        let version_sql = i64_from(version, "list version")?;
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin replace list"))?;
        let stored: Option<i64> = transaction
            .query_row("SELECT version FROM lists WHERE name = ?1", [name], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sql("read list version"))?;
        if let Some(stored) = stored {
            let stored = u64_from(stored, "list version")?;
            if version < stored {
                return Err(OutboxError::ListVersionRegressed {
                    name: name.to_owned(),
                    offered: version,
                    stored,
                });
            }
            if version == stored {
                transaction
                    .execute(
                        "UPDATE lists SET fetched_at_ms = ?2 WHERE name = ?1",
                        params![name, now_ms],
                    )
                    .map_err(sql("touch list"))?;
                return transaction.commit().map_err(sql("commit touch list"));
            }
        }
        transaction
            .execute("DELETE FROM list_items WHERE name = ?1", [name])
            .map_err(sql("clear list"))?;
        {
            let mut insert = transaction
                .prepare_cached("INSERT INTO list_items (name, position, item) VALUES (?1, ?2, ?3)")
                .map_err(sql("prepare list insert"))?;
            for (position, item) in encoded.iter().enumerate() {
                insert
                    .execute(params![name, position as i64, item])
                    .map_err(sql("insert list item"))?;
            }
        }
        transaction
            .execute(
                "INSERT INTO lists (name, version, item_count, fetched_at_ms, applied_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET \
                 version = excluded.version, item_count = excluded.item_count, \
                 fetched_at_ms = excluded.fetched_at_ms, applied_at_ms = excluded.applied_at_ms",
                params![name, version_sql, encoded.len() as i64, now_ms],
            )
            .map_err(sql("write list header"))?;
        transaction.commit().map_err(sql("commit replace list"))
    }

    /// Records that central confirmed list `name` is current (refreshes its fetched-at time).
    /// Returns false when the list is not stored.
    pub fn touch_list(&mut self, name: &str) -> Result<bool> {
        let now_ms = (self.clock)();
        let changed = self
            .connection
            .execute(
                "UPDATE lists SET fetched_at_ms = ?2 WHERE name = ?1",
                params![name, now_ms],
            )
            .map_err(sql("touch list"))?;
        Ok(changed > 0)
    }

    /// The stored version of list `name`.
    pub fn list_version(&self, name: &str) -> Result<Option<u64>> {
        Ok(self.list_info(name)?.map(|info| info.version))
    }

    /// Metadata of list `name`.
    pub fn list_info(&self, name: &str) -> Result<Option<ListInfo>> {
        Ok(self.read_list_infos(Some(name))?.into_iter().next())
    }

    /// Metadata of all stored lists, by name.
    pub fn lists(&self) -> Result<Vec<ListInfo>> {
        self.read_list_infos(None)
    }

    fn read_list_infos(&self, name: Option<&str>) -> Result<Vec<ListInfo>> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT name, version, item_count, fetched_at_ms, applied_at_ms FROM lists \
                 WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
            )
            .map_err(sql("prepare list info"))?;
        let rows = statement
            .query_map([name], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            })
            .map_err(sql("read list info"))?;
        let mut infos = Vec::new();
        for row in rows {
            let (name, version, count, fetched, applied) = row.map_err(sql("read list info"))?;
            infos.push(ListInfo {
                name,
                version: u64_from(version, "list version")?,
                item_count: u64_from(count, "item count")?,
                fetched_at_ms: fetched,
                applied_at_ms: applied,
            });
        }
        Ok(infos)
    }

    /// All items of list `name` in published order (empty when absent).
    pub fn list_items(&self, name: &str) -> Result<Vec<serde_json::Value>> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT item FROM list_items WHERE name = ?1 ORDER BY position")
            .map_err(sql("prepare list items"))?;
        let rows = statement
            .query_map([name], |row| row.get::<_, String>(0))
            .map_err(sql("read list items"))?;
        let mut items = Vec::new();
        for row in rows {
            let text = row.map_err(sql("read list items"))?;
            items.push(serde_json::from_str(&text).map_err(json("decode list item"))?);
        }
        Ok(items)
    }

    /// Whether list `name` holds `item` (e.g. a denylisted document hash). Indexed lookup.
    pub fn list_contains(&self, name: &str, item: &serde_json::Value) -> Result<bool> {
        let encoded = serde_json::to_string(item).map_err(json("encode list item"))?;
        self.connection
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM list_items WHERE name = ?1 AND item = ?2)",
                params![name, encoded],
                |row| row.get(0),
            )
            .map_err(sql("look up list item"))
    }

    /// Whether list `name` was fetched or confirmed within `max_age`. gated refuses
    /// travellers with a clear reason when a list it needs is `Stale` or `Missing`.
    pub fn list_freshness(&self, name: &str, max_age: Duration) -> Result<ListFreshness> {
        let Some(info) = self.list_info(name)? else {
            return Ok(ListFreshness::Missing);
        };
        let age_ms = (self.clock)().saturating_sub(info.fetched_at_ms);
        let max_age_ms = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        Ok(if age_ms > max_age_ms {
            ListFreshness::Stale {
                version: info.version,
                age_ms,
            }
        } else {
            ListFreshness::Fresh {
                version: info.version,
            }
        })
    }
}

fn migrate(connection: &mut Connection, path: &Path) -> Result<()> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("begin migration"))?;
    let found: u32 = transaction
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sql("read schema version"))?;
    let supported = u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX);
    if found > supported {
        return Err(OutboxError::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        transaction
            .execute_batch(migration)
            .map_err(sql("migrate schema"))?;
        transaction
            .pragma_update(None, "user_version", index as u32 + 1)
            .map_err(sql("write schema version"))?;
    }
    transaction.commit().map_err(sql("commit migration"))
}

/// What [`Outbox::append_handover`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandOverReceipt {
    /// Id of the queued sealed record (the one given, or the one already queued for the
    /// same transaction).
    pub id: Uuid,
    /// False when a record for this transaction was already queued (nothing was written).
    pub newly_queued: bool,
}

/// A sealed hand-over record waiting in the outbox for central's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHandOver {
    /// The sealed record (ciphertext only).
    pub sealed: SealedHandOver,
    /// When it was queued (unix ms).
    pub recorded_at_ms: i64,
    /// When it is deleted unsent if central has not acknowledged it (unix ms).
    pub expires_at_ms: i64,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
}

/// A sealed record deleted unsent by [`Outbox::expire_handovers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredHandOver {
    /// The record id.
    pub handover_id: Uuid,
    /// Its transaction.
    pub transaction_id: String,
    /// The booth it was addressed to.
    pub booth_id: String,
    /// When it was queued (unix ms).
    pub recorded_at_ms: i64,
    /// Its expiry time (unix ms).
    pub expires_at_ms: i64,
}

/// Counts of the hand-over queue (for `gatectl` and health).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HandOverQueueStatus {
    /// Sealed records waiting for central.
    pub pending: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// When the oldest was queued (unix ms).
    pub oldest_recorded_at_ms: Option<i64>,
    /// The earliest expiry time (unix ms).
    pub next_expiry_ms: Option<i64>,
}

type HandOverRow = (String, Vec<u8>, i64, i64, u32, Option<String>);

/// The hand-over queue: sealed BioCart records, in their own table (never mixed with events).
///
/// Sealed records hold only ciphertext (see [`crate::handover`]); still, they are deleted as
/// soon as central has acknowledged them, with `PRAGMA secure_delete=ON` (set on every
/// connection) so the freed pages are overwritten with zeros, followed by a best-effort WAL
/// checkpoint so the old page images in the write-ahead log are overwritten too.
impl Outbox {
    /// Queues a sealed hand-over record durably (one transaction; `synchronous=FULL`), to be
    /// deleted unsent after `ttl` if central has not acknowledged it by then. Queuing the same
    /// transaction again writes nothing and returns the queued record's id. Refused with
    /// [`OutboxError::Full`] when it would pass the hard size limit.
    pub fn append_handover(
        &mut self,
        sealed: &SealedHandOver,
        ttl: Duration,
    ) -> Result<HandOverReceipt> {
        self.append_handover_inner(sealed, ttl, None)
            .map(|(receipt, _)| receipt)
    }

    /// [`Outbox::append_handover`] and an event (e.g. the transaction outcome) in one
    /// transaction: both or neither. When the transaction's record was already queued,
    /// nothing is written and the event receipt is `None`.
    pub fn append_handover_and_event(
        &mut self,
        sealed: &SealedHandOver,
        ttl: Duration,
        event: &NewEvent<'_>,
    ) -> Result<(HandOverReceipt, Option<AppendReceipt>)> {
        self.append_handover_inner(sealed, ttl, Some(event))
    }

    fn append_handover_inner(
        &mut self,
        sealed: &SealedHandOver,
        ttl: Duration,
        event: Option<&NewEvent<'_>>,
    ) -> Result<(HandOverReceipt, Option<AppendReceipt>)> {
        if sealed.gate_id != self.gate_id {
            return Err(OutboxError::Config(format!(
                "hand-over record of gate {:?} offered to the outbox of gate {:?}",
                sealed.gate_id, self.gate_id
            )));
        }
        let encoded = serde_json::to_vec(sealed).map_err(json("encode sealed hand-over"))?;
        let payload = event
            .map(|event| serde_json::to_string(event.payload).map_err(json("encode payload")))
            .transpose()?;
        let needed_bytes = encoded.len() as u64
            + ROW_OVERHEAD_BYTES
            + payload
                .as_ref()
                .map_or(0, |p| p.len() as u64 + ROW_OVERHEAD_BYTES);
        let now_ms = (self.clock)();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin append hand-over"))?;
        let existing: Option<String> = transaction
            .query_row(
                "SELECT id FROM handovers WHERE transaction_id = ?1",
                [&sealed.transaction_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql("look up hand-over"))?;
        if let Some(existing) = existing {
            let id = Uuid::parse_str(&existing).map_err(|error| OutboxError::BadRow {
                detail: format!("hand-over id {existing:?}: {error}"),
            })?;
            return Ok((
                HandOverReceipt {
                    id,
                    newly_queued: false,
                },
                None,
            ));
        }
        let used_bytes = Self::used_bytes(&transaction)?;
        if used_bytes.saturating_add(needed_bytes) > self.limits.max_bytes {
            return Err(OutboxError::Full {
                used_bytes,
                needed_bytes,
                max_bytes: self.limits.max_bytes,
            });
        }
        transaction
            .execute(
                "INSERT INTO handovers (id, transaction_id, booth_id, sealed, sealed_at_ms, \
                 recorded_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    sealed.id.to_string(),
                    sealed.transaction_id,
                    sealed.booth_id,
                    encoded,
                    sealed.sealed_at_ms,
                    now_ms,
                    now_ms.saturating_add(ttl_ms)
                ],
            )
            .map_err(sql("append hand-over"))?;
        let event_receipt = match (event, payload) {
            (Some(event), Some(payload)) => Self::insert_events(
                &transaction,
                std::slice::from_ref(event),
                &[payload],
                now_ms,
            )?
            .into_iter()
            .next(),
            _ => None,
        };
        transaction
            .commit()
            .map_err(sql("commit append hand-over"))?;
        Ok((
            HandOverReceipt {
                id: sealed.id,
                newly_queued: true,
            },
            event_receipt,
        ))
    }

    fn decode_handover(row: HandOverRow) -> Result<StoredHandOver> {
        let (id, sealed, recorded_at_ms, expires_at_ms, attempts, last_error) = row;
        let sealed: SealedHandOver =
            serde_json::from_slice(&sealed).map_err(|error| OutboxError::BadRow {
                detail: format!("sealed hand-over {id}: {error}"),
            })?;
        Ok(StoredHandOver {
            sealed,
            recorded_at_ms,
            expires_at_ms,
            attempts,
            last_error,
        })
    }

    /// Up to `limit` queued sealed records, oldest first.
    pub fn pending_handovers(&self, limit: usize) -> Result<Vec<StoredHandOver>> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT id, sealed, recorded_at_ms, expires_at_ms, attempts, last_error \
                 FROM handovers ORDER BY recorded_at_ms, id LIMIT ?1",
            )
            .map_err(sql("prepare read hand-overs"))?;
        let rows = statement
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .map_err(sql("read hand-overs"))?;
        let mut records = Vec::new();
        for row in rows {
            records.push(Self::decode_handover(row.map_err(sql("read hand-overs"))?)?);
        }
        Ok(records)
    }

    /// Deletes the sealed records central acknowledged (call only with ids from central's
    /// answer). Idempotent: returns how many were deleted.
    pub fn delete_handovers(&mut self, ids: &[Uuid]) -> Result<usize> {
        let now_ms = (self.clock)();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin delete hand-overs"))?;
        let mut deleted = 0;
        {
            let mut delete = transaction
                .prepare_cached("DELETE FROM handovers WHERE id = ?1")
                .map_err(sql("prepare delete hand-over"))?;
            for id in ids {
                deleted += delete
                    .execute([id.to_string()])
                    .map_err(sql("delete hand-over"))?;
            }
        }
        Self::put_meta(&transaction, META_SYNC_SUCCESS, &now_ms.to_string())?;
        transaction
            .commit()
            .map_err(sql("commit delete hand-overs"))?;
        if deleted > 0 {
            self.checkpoint_after_delete();
        }
        Ok(deleted)
    }

    /// Copies the WAL back into the database and truncates it, so the page images of deleted
    /// records do not linger in the log. Best effort: a busy reader makes it a no-op.
    fn checkpoint_after_delete(&self) {
        if let Err(error) = self
            .connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::debug!(%error, "checkpoint after hand-over delete did not run");
        }
    }

    /// Records a failed delivery attempt of sealed records.
    pub fn record_handover_failure(&mut self, ids: &[Uuid], error: &str) -> Result<()> {
        let now_ms = (self.clock)();
        let transaction = self
            .connection
            .transaction()
            .map_err(sql("begin record hand-over failure"))?;
        {
            let mut update = transaction
                .prepare_cached(
                    "UPDATE handovers SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                )
                .map_err(sql("prepare record hand-over failure"))?;
            for id in ids {
                update
                    .execute(params![id.to_string(), error])
                    .map_err(sql("record hand-over failure"))?;
            }
        }
        Self::put_meta(&transaction, META_SYNC_FAILURE, &now_ms.to_string())?;
        Self::put_meta(&transaction, META_SYNC_ERROR, error)?;
        transaction
            .commit()
            .map_err(sql("commit record hand-over failure"))
    }

    /// Deletes sealed records whose time to live has passed without central's
    /// acknowledgement and, in the same transaction, appends one
    /// [`HANDOVER_EXPIRED_EVENT`] event per record (ids, booth, times: no personal data), so
    /// central learns that a traveller's record never reached the booth.
    pub fn expire_handovers(&mut self) -> Result<Vec<ExpiredHandOver>> {
        let now_ms = (self.clock)();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin expire hand-overs"))?;
        let mut expired = Vec::new();
        {
            let mut select = transaction
                .prepare_cached(
                    "SELECT id, transaction_id, booth_id, recorded_at_ms, expires_at_ms \
                     FROM handovers WHERE expires_at_ms <= ?1 ORDER BY recorded_at_ms, id",
                )
                .map_err(sql("prepare expire hand-overs"))?;
            let rows = select
                .query_map([now_ms], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                })
                .map_err(sql("read expired hand-overs"))?;
            for row in rows {
                let (id, transaction_id, booth_id, recorded_at_ms, expires_at_ms) =
                    row.map_err(sql("read expired hand-overs"))?;
                let handover_id = Uuid::parse_str(&id).map_err(|error| OutboxError::BadRow {
                    detail: format!("hand-over id {id:?}: {error}"),
                })?;
                expired.push(ExpiredHandOver {
                    handover_id,
                    transaction_id,
                    booth_id,
                    recorded_at_ms,
                    expires_at_ms,
                });
            }
        }
        if expired.is_empty() {
            return Ok(expired);
        }
        let payloads = expired
            .iter()
            .map(|record| serde_json::to_value(record).map_err(json("encode expiry event")))
            .collect::<Result<Vec<_>>>()?;
        let events: Vec<NewEvent<'_>> = payloads
            .iter()
            .map(|payload| NewEvent {
                kind: HANDOVER_EXPIRED_EVENT,
                occurred_at_ms: now_ms,
                payload,
            })
            .collect();
        let encoded = payloads
            .iter()
            .map(|payload| serde_json::to_string(payload).map_err(json("encode payload")))
            .collect::<Result<Vec<_>>>()?;
        Self::insert_events(&transaction, &events, &encoded, now_ms)?;
        {
            let mut delete = transaction
                .prepare_cached("DELETE FROM handovers WHERE id = ?1")
                .map_err(sql("prepare delete expired hand-over"))?;
            for record in &expired {
                delete
                    .execute([record.handover_id.to_string()])
                    .map_err(sql("delete expired hand-over"))?;
            }
        }
        transaction
            .commit()
            .map_err(sql("commit expire hand-overs"))?;
        self.checkpoint_after_delete();
        tracing::warn!(
            count = expired.len(),
            "sealed hand-over records expired unsent and were deleted"
        );
        Ok(expired)
    }

    /// Counts and sizes of the hand-over queue.
    pub fn handover_status(&self) -> Result<HandOverQueueStatus> {
        let (pending, bytes, oldest, next_expiry): (i64, Option<i64>, Option<i64>, Option<i64>) =
            self.connection
                .query_row(
                    "SELECT count(*), sum(length(sealed)), min(recorded_at_ms), \
                     min(expires_at_ms) FROM handovers",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .map_err(sql("hand-over status"))?;
        Ok(HandOverQueueStatus {
            pending: u64_from(pending, "count")?,
            bytes: u64_from(bytes.unwrap_or(0), "bytes")?,
            oldest_recorded_at_ms: oldest,
            next_expiry_ms: next_expiry,
        })
    }
}

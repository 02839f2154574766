//! Storage behind the central API: one trait, an embedded SQLite store and a PostgreSQL store.
//!
//! Both stores are synchronous; the HTTP layer calls them from `spawn_blocking`. Neither keeps
//! state that matters outside the database, so several central replicas can share one
//! PostgreSQL database.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use outbox::wire::{
    EventEnvelope, PublishList, PublishedList, ReceivedEvent, ReceivedHandOver, SealedHandOver,
};
use uuid::Uuid;

/// Errors of a storage backend.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The `--database` URL is not `sqlite:PATH` or `postgres://...`.
    #[error("database URL {url:?}: {detail}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// SQLite failed.
    #[error("sqlite {operation}: {source}")]
    Sqlite {
        /// What the store was doing.
        operation: &'static str,
        /// The error.
        #[source]
        source: rusqlite::Error,
    },
    /// PostgreSQL failed.
    #[error("postgres {operation}: {source}")]
    Postgres {
        /// What the store was doing.
        operation: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// A list publication was not newer than the published version.
    #[error("list {name:?}: version {offered} is not newer than published version {current}")]
    ListVersionConflict {
        /// List name.
        name: String,
        /// Offered version.
        offered: u64,
        /// Published version.
        current: u64,
    },
    /// A stored value could not be read back.
    #[error("stored value unreadable: {0}")]
    BadRow(String),
    /// No pooled PostgreSQL connection could be had (database down or every connection busy).
    #[error("postgres connection pool: {0}")]
    Pool(String),
}

/// Maps a SQLite error of `operation` into the storage error.
pub(crate) fn sqlite(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StorageError {
    move |source| StorageError::Sqlite { operation, source }
}

/// Maps a PostgreSQL error of `operation` into the storage error.
pub(crate) fn pg(operation: &'static str) -> impl FnOnce(postgres::Error) -> StorageError {
    move |source| StorageError::Postgres { operation, source }
}

/// Filter of `GET /v1/events`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only this gate.
    pub gate: Option<String>,
    /// Occurred at or after (unix ms).
    pub since_ms: Option<i64>,
    /// Occurred before (unix ms).
    pub until_ms: Option<i64>,
    /// Sequence greater than this (paging within one gate).
    pub after_sequence: Option<u64>,
    /// At most this many events.
    pub limit: u32,
}

/// Result of storing a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Newly stored events.
    pub stored: u64,
    /// Events already stored before (same id).
    pub duplicates: u64,
}

/// The newest event central holds of one gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateHead {
    /// The gate.
    pub gate_id: String,
    /// The latest `occurred_at_ms` (gate clock) among its stored events.
    pub newest_occurred_at_ms: i64,
    /// When central last stored one of its events (central clock).
    pub last_received_at_ms: i64,
}

/// One event as central ingests it: the fields of [`EventEnvelope`], with the payload kept as
/// the JSON text the gate sent (checked to be JSON by the parser, stored without being decoded
/// into a tree and encoded again). Unknown fields are ignored, as in `EventEnvelope`.
#[derive(Debug, serde::Deserialize)]
pub struct IncomingEvent {
    /// UUIDv7 assigned by the gate's outbox; ingest is idempotent on it.
    pub id: Uuid,
    /// The gate that recorded the event.
    pub gate_id: String,
    /// Per-gate sequence number.
    pub sequence: u64,
    /// Schema version of the envelope and payload.
    pub schema_version: u32,
    /// Event kind, e.g. `transaction.outcome`.
    pub kind: String,
    /// When the event happened at the gate (unix milliseconds, gate clock).
    pub occurred_at_ms: i64,
    /// The kind-specific body, as sent.
    pub payload: Box<serde_json::value::RawValue>,
}

impl IncomingEvent {
    /// The events of `envelopes` as ingest takes them (their payloads encoded once).
    pub fn from_envelopes(envelopes: &[EventEnvelope]) -> Result<Vec<Self>, StorageError> {
        envelopes
            .iter()
            .map(|envelope| {
                Ok(Self {
                    id: envelope.id,
                    gate_id: envelope.gate_id.clone(),
                    sequence: envelope.sequence,
                    schema_version: envelope.schema_version,
                    kind: envelope.kind.clone(),
                    occurred_at_ms: envelope.occurred_at_ms,
                    payload: serde_json::value::to_raw_value(&envelope.payload)
                        .map_err(|e| StorageError::BadRow(format!("payload: {e}")))?,
                })
            })
            .collect()
    }
}

/// The body of `POST /v1/events` as central reads it (the wire type is
/// `outbox::wire::EventBatch`; this one keeps the payloads as sent).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingBatch {
    /// The sending gate; every event must carry the same id.
    pub gate_id: String,
    /// Events in ascending sequence order.
    pub events: Vec<IncomingEvent>,
}

/// A central storage backend.
pub trait Storage:
    crate::reports::ReportStore + crate::console::ConsoleStore + Send + Sync
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Stores events durably, ignoring ids already stored. All or nothing.
    fn ingest(
        &self,
        events: &[EventEnvelope],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError> {
        self.ingest_incoming(&IncomingEvent::from_envelopes(events)?, received_at_ms)
    }
    /// [`Storage::ingest`] of events as the API receives them (payloads as sent).
    fn ingest_incoming(
        &self,
        events: &[IncomingEvent],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError>;
    /// Events matching `query`, ordered by gate id, then sequence.
    fn events(&self, query: &EventQuery) -> Result<Vec<ReceivedEvent>, StorageError>;
    /// Publishes a new version of list `name`; refuses a version not above the current one.
    fn publish_list(&self, name: &str, list: &PublishList, now_ms: i64)
    -> Result<(), StorageError>;
    /// The published version of list `name`.
    fn list_version(&self, name: &str) -> Result<Option<u64>, StorageError>;
    /// The published list `name`.
    fn list(&self, name: &str) -> Result<Option<PublishedList>, StorageError>;
    /// Checks the database answers.
    fn health(&self) -> Result<(), StorageError>;
    /// Per gate, its newest stored event's time and the last time one was stored (read once
    /// at start-up for the metrics, from the per-gate summary the reports keep at ingest: one
    /// row per gate, however many events are stored).
    fn gate_heads(&self) -> Result<Vec<GateHead>, StorageError>;
    /// Stores sealed hand-over records durably, ignoring ids already stored (also those the
    /// booth has acknowledged since: a gate's resend never reaches the booth twice).
    fn store_handovers(
        &self,
        records: &[SealedHandOver],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError>;
    /// Up to `limit` records addressed to `booth_id` and not yet acknowledged, oldest first.
    fn booth_handovers(
        &self,
        booth_id: &str,
        limit: u32,
    ) -> Result<Vec<ReceivedHandOver>, StorageError>;
    /// Marks records of `booth_id` acknowledged and erases their sealed content (the id stays
    /// as a tombstone so resends are recognised). Returns how many were newly acknowledged.
    fn ack_handovers(&self, booth_id: &str, ids: &[Uuid], now_ms: i64)
    -> Result<u64, StorageError>;
}

fn encode_sealed(record: &SealedHandOver) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(record)
        .map_err(|e| StorageError::BadRow(format!("encode hand-over {}: {e}", record.id)))
}

fn decode_sealed(
    id: &str,
    sealed: &[u8],
    received_at_ms: i64,
) -> Result<ReceivedHandOver, StorageError> {
    Ok(ReceivedHandOver {
        sealed: serde_json::from_slice(sealed)
            .map_err(|e| StorageError::BadRow(format!("hand-over {id}: {e}")))?,
        received_at_ms,
    })
}

/// Opens the store named by a `--database` URL: `sqlite:PATH` or `postgres://...`
/// (`postgresql://` too). `pool_size` is the number of PostgreSQL connections.
pub fn open_storage(url: &str, pool_size: usize) -> Result<Box<dyn Storage>, StorageError> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(StorageError::Url {
                url: url.to_owned(),
                detail: "sqlite: needs a path".into(),
            });
        }
        return Ok(Box::new(SqliteStorage::open(PathBuf::from(path))?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(PostgresStorage::connect(url, pool_size.max(1))?));
    }
    Err(StorageError::Url {
        url: url.to_owned(),
        detail: "expected sqlite:PATH or postgres://...".into(),
    })
}

fn u64_from(value: i64, what: &str) -> Result<u64, StorageError> {
    u64::try_from(value).map_err(|_| StorageError::BadRow(format!("{what} is negative: {value}")))
}

/// A stored count or version as SQL's signed integer (saturating).
pub(crate) fn i64_from(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------- SQLite

/// Embedded store: one SQLite file (WAL, `synchronous=FULL`, so an acknowledged event
/// survives power loss). Zero setup; one process at a time.
#[derive(Debug)]
pub struct SqliteStorage {
    connection: Mutex<rusqlite::Connection>,
}

impl SqliteStorage {
    /// Opens or creates the database at `path`.
    pub fn open(path: PathBuf) -> Result<Self, StorageError> {
        let connection = rusqlite::Connection::open(&path).map_err(sqlite("open"))?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(sqlite("busy timeout"))?;
        connection
            .query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(sqlite("enable WAL"))?;
        connection
            .execute_batch(
                "PRAGMA synchronous=FULL;
                 CREATE TABLE IF NOT EXISTS events (
                     arrival        INTEGER PRIMARY KEY AUTOINCREMENT,
                     id             TEXT NOT NULL UNIQUE,
                     gate_id        TEXT NOT NULL,
                     sequence       INTEGER NOT NULL,
                     schema_version INTEGER NOT NULL,
                     kind           TEXT NOT NULL,
                     occurred_at_ms INTEGER NOT NULL,
                     received_at_ms INTEGER NOT NULL,
                     payload        TEXT NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS events_gate_sequence ON events (gate_id, sequence);
                 CREATE INDEX IF NOT EXISTS events_gate_time ON events (gate_id, occurred_at_ms);
                 CREATE TABLE IF NOT EXISTS lists (
                     name            TEXT PRIMARY KEY NOT NULL,
                     version         INTEGER NOT NULL,
                     items           TEXT NOT NULL,
                     published_at_ms INTEGER NOT NULL
                 );
                 PRAGMA secure_delete=ON;
                 CREATE TABLE IF NOT EXISTS handovers (
                     id             TEXT PRIMARY KEY NOT NULL,
                     gate_id        TEXT NOT NULL,
                     booth_id       TEXT NOT NULL,
                     transaction_id TEXT NOT NULL,
                     sealed         BLOB,
                     received_at_ms INTEGER NOT NULL,
                     acked_at_ms    INTEGER
                 );
                 CREATE INDEX IF NOT EXISTS handovers_for_booth
                     ON handovers (booth_id, received_at_ms) WHERE acked_at_ms IS NULL;",
            )
            .map_err(sqlite("create schema"))?;
        crate::reports::sqlite::prepare(&connection)?;
        connection
            .execute_batch(crate::console::store::SQLITE_SCHEMA)
            .map_err(sqlite("create console schema"))?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn ingest_incoming(
        &self,
        events: &[IncomingEvent],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(sqlite("begin ingest"))?;
        let mut stored = 0u64;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (id, gate_id, sequence, schema_version, kind, \
                     occurred_at_ms, received_at_ms, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(sqlite("prepare ingest"))?;
            for event in events {
                stored += insert
                    .execute(rusqlite::params![
                        event.id.to_string(),
                        event.gate_id,
                        i64_from(event.sequence),
                        event.schema_version,
                        event.kind,
                        event.occurred_at_ms,
                        received_at_ms,
                        event.payload.get(),
                    ])
                    .map_err(sqlite("ingest"))? as u64;
            }
        }
        transaction.commit().map_err(sqlite("commit ingest"))?;
        Ok(IngestOutcome {
            stored,
            duplicates: events.len() as u64 - stored,
        })
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<ReceivedEvent>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT id, gate_id, sequence, schema_version, kind, occurred_at_ms, payload, \
                 received_at_ms, arrival FROM events \
                 WHERE (?1 IS NULL OR gate_id = ?1) AND (?2 IS NULL OR occurred_at_ms >= ?2) \
                 AND (?3 IS NULL OR occurred_at_ms < ?3) AND (?4 IS NULL OR sequence > ?4) \
                 ORDER BY gate_id, sequence, arrival LIMIT ?5",
            )
            .map_err(sqlite("prepare query"))?;
        let rows = statement
            .query_map(
                rusqlite::params![
                    query.gate,
                    query.since_ms,
                    query.until_ms,
                    query.after_sequence.map(i64_from),
                    query.limit
                ],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, u32>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, String>(6)?,
                        row.get::<_, i64>(7)?,
                        row.get::<_, i64>(8)?,
                    ))
                },
            )
            .map_err(sqlite("query events"))?;
        let mut events = Vec::new();
        for row in rows {
            let (id, gate_id, sequence, schema_version, kind, occurred, payload, received, arrival) =
                row.map_err(sqlite("query events"))?;
            events.push(ReceivedEvent {
                event: EventEnvelope {
                    id: Uuid::parse_str(&id)
                        .map_err(|e| StorageError::BadRow(format!("event id {id:?}: {e}")))?,
                    gate_id,
                    sequence: u64_from(sequence, "sequence")?,
                    schema_version,
                    kind,
                    occurred_at_ms: occurred,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StorageError::BadRow(format!("payload of {id}: {e}")))?,
                },
                received_at_ms: received,
                arrival,
            });
        }
        Ok(events)
    }

    fn publish_list(
        &self,
        name: &str,
        list: &PublishList,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let items = serde_json::Value::Array(list.items.clone()).to_string();
        let connection = self.lock();
        let changed = connection
            .execute(
                "INSERT INTO lists (name, version, items, published_at_ms) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
                 items = excluded.items, published_at_ms = excluded.published_at_ms \
                 WHERE lists.version < excluded.version",
                rusqlite::params![name, i64_from(list.version), items, now_ms],
            )
            .map_err(sqlite("publish list"))?;
        if changed == 0 {
            drop(connection);
            return Err(StorageError::ListVersionConflict {
                name: name.to_owned(),
                offered: list.version,
                current: self.list_version(name)?.unwrap_or(0),
            });
        }
        Ok(())
    }

    fn list_version(&self, name: &str) -> Result<Option<u64>, StorageError> {
        use rusqlite::OptionalExtension;
        let version: Option<i64> = self
            .lock()
            .query_row("SELECT version FROM lists WHERE name = ?1", [name], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sqlite("read list version"))?;
        version.map(|v| u64_from(v, "list version")).transpose()
    }

    fn list(&self, name: &str) -> Result<Option<PublishedList>, StorageError> {
        use rusqlite::OptionalExtension;
        let row: Option<(i64, String)> = self
            .lock()
            .query_row(
                "SELECT version, items FROM lists WHERE name = ?1",
                [name],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(sqlite("read list"))?;
        row.map(|(version, items)| {
            Ok(PublishedList {
                name: name.to_owned(),
                version: u64_from(version, "list version")?,
                items: serde_json::from_str(&items)
                    .map_err(|e| StorageError::BadRow(format!("items of list {name}: {e}")))?,
            })
        })
        .transpose()
    }

    fn health(&self) -> Result<(), StorageError> {
        self.lock()
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(sqlite("health"))
    }

    fn gate_heads(&self) -> Result<Vec<GateHead>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT gate_id, last_occurred_ms, last_received_ms FROM report_gates \
                 ORDER BY gate_id",
            )
            .map_err(sqlite("prepare gate heads"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(GateHead {
                    gate_id: row.get(0)?,
                    newest_occurred_at_ms: row.get(1)?,
                    last_received_at_ms: row.get(2)?,
                })
            })
            .map_err(sqlite("gate heads"))?;
        rows.collect::<Result<_, _>>().map_err(sqlite("gate heads"))
    }

    fn store_handovers(
        &self,
        records: &[SealedHandOver],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError> {
        let encoded = records
            .iter()
            .map(encode_sealed)
            .collect::<Result<Vec<_>, _>>()?;
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .map_err(sqlite("begin store hand-overs"))?;
        let mut stored = 0u64;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO handovers (id, gate_id, booth_id, transaction_id,                      sealed, received_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sqlite("prepare store hand-over"))?;
            for (record, sealed) in records.iter().zip(&encoded) {
                stored += insert
                    .execute(rusqlite::params![
                        record.id.to_string(),
                        record.gate_id,
                        record.booth_id,
                        record.transaction_id,
                        sealed,
                        received_at_ms
                    ])
                    .map_err(sqlite("store hand-over"))? as u64;
            }
        }
        transaction
            .commit()
            .map_err(sqlite("commit store hand-overs"))?;
        Ok(IngestOutcome {
            stored,
            duplicates: records.len() as u64 - stored,
        })
    }

    fn booth_handovers(
        &self,
        booth_id: &str,
        limit: u32,
    ) -> Result<Vec<ReceivedHandOver>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT id, sealed, received_at_ms FROM handovers                  WHERE booth_id = ?1 AND acked_at_ms IS NULL                  ORDER BY received_at_ms, id LIMIT ?2",
            )
            .map_err(sqlite("prepare booth hand-overs"))?;
        let rows = statement
            .query_map(rusqlite::params![booth_id, limit], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(sqlite("read booth hand-overs"))?;
        let mut records = Vec::new();
        for row in rows {
            let (id, sealed, received) = row.map_err(sqlite("read booth hand-overs"))?;
            records.push(decode_sealed(&id, &sealed, received)?);
        }
        Ok(records)
    }

    fn ack_handovers(
        &self,
        booth_id: &str,
        ids: &[Uuid],
        now_ms: i64,
    ) -> Result<u64, StorageError> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .map_err(sqlite("begin ack hand-overs"))?;
        let mut acknowledged = 0u64;
        {
            let mut update = transaction
                .prepare_cached(
                    "UPDATE handovers SET sealed = NULL, acked_at_ms = ?3                      WHERE id = ?1 AND booth_id = ?2 AND acked_at_ms IS NULL",
                )
                .map_err(sqlite("prepare ack hand-over"))?;
            for id in ids {
                acknowledged += update
                    .execute(rusqlite::params![id.to_string(), booth_id, now_ms])
                    .map_err(sqlite("ack hand-over"))? as u64;
            }
        }
        transaction
            .commit()
            .map_err(sqlite("commit ack hand-overs"))?;
        Ok(acknowledged)
    }
}

// ---------------------------------------------------------------- PostgreSQL

const PG_SCHEMA: &str = r#"
SELECT pg_advisory_xact_lock(7263541);
CREATE SEQUENCE IF NOT EXISTS events_arrival_seq;
CREATE TABLE IF NOT EXISTS events (
    arrival         bigint NOT NULL DEFAULT nextval('events_arrival_seq'),
    id              uuid NOT NULL,
    gate_id         text NOT NULL,
    sequence        bigint NOT NULL,
    schema_version  integer NOT NULL,
    kind            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    occurred_at_ms  bigint NOT NULL,
    received_at_ms  bigint NOT NULL,
    payload         jsonb NOT NULL,
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX IF NOT EXISTS events_gate_sequence ON events (gate_id, sequence);
CREATE INDEX IF NOT EXISTS events_gate_time ON events (gate_id, occurred_at);
CREATE TABLE IF NOT EXISTS lists (
    name            text PRIMARY KEY,
    version         bigint NOT NULL,
    items           jsonb NOT NULL,
    published_at_ms bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS handovers (
    id              uuid PRIMARY KEY,
    gate_id         text NOT NULL,
    booth_id        text NOT NULL,
    transaction_id  text NOT NULL,
    sealed          bytea,
    received_at_ms  bigint NOT NULL,
    acked_at_ms     bigint
);
CREATE INDEX IF NOT EXISTS handovers_for_booth
    ON handovers (booth_id, received_at_ms) WHERE acked_at_ms IS NULL;
CREATE OR REPLACE FUNCTION central_ensure_month_partition(month_start timestamptz)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    part text := 'events_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                       part, month_start, month_start + interval '1 month');
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
        NULL; -- another replica created it first
    END;
END
$fn$;
"#;

/// PostgreSQL store: events in a table range-partitioned by month of `occurred_at`
/// (partitions are created on demand), an r2d2 connection pool, no process-local state
/// except a cache of partitions known to exist. Several replicas can share one database.
pub struct PostgresStorage {
    /// `None` only while dropping (see the `Drop` impl).
    pool: Option<PgPool>,
    known_months: Mutex<HashSet<i64>>,
}

/// The maintained pool (r2d2) of PostgreSQL connections.
type PgPool = r2d2::Pool<r2d2_postgres::PostgresConnectionManager<postgres::NoTls>>;

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("pool", &self.pool.as_ref().map(r2d2::Pool::state))
            .finish_non_exhaustive()
    }
}

/// Sets every new pooled connection to UTC (partition bounds are months in UTC).
#[derive(Debug)]
struct UtcSession;

impl r2d2::CustomizeConnection<postgres::Client, postgres::Error> for UtcSession {
    fn on_acquire(&self, client: &mut postgres::Client) -> Result<(), postgres::Error> {
        client.batch_execute("SET TIME ZONE 'UTC'")
    }
}

/// Logs the pool's connection failures (they happen on the pool's own threads).
#[derive(Debug)]
struct PoolErrorLog;

impl r2d2::HandleError<postgres::Error> for PoolErrorLog {
    fn handle_error(&self, error: postgres::Error) {
        tracing::warn!(%error, "PostgreSQL connection failed");
    }
}

/// How long a request waits for a free pooled connection (and start-up for the first ones)
/// before it is answered 503.
const PG_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        // `postgres::Client` blocks on its own runtime when dropped, which panics on a tokio
        // worker thread (where the last `Arc<dyn Storage>` may go at shutdown): drop the
        // pool, and with it the connections, on a plain thread.
        if let Some(pool) = self.pool.take()
            && std::thread::spawn(move || drop(pool)).join().is_err()
        {
            tracing::warn!("closing PostgreSQL connections failed");
        }
    }
}

/// Month index (months since 1970-01) of a unix-ms timestamp, UTC.
fn month_index(unix_ms: i64) -> i64 {
    let days = unix_ms.div_euclid(86_400_000);
    // Civil-from-days (H. Hinnant), enough to find year and month.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year - 1970) * 12 + (month - 1)
}

impl PostgresStorage {
    /// Opens a pool of `pool_size` connections and creates the schema if needed (under an
    /// advisory lock, so replicas starting together do not race).
    ///
    /// The pool (r2d2) does not test a connection before each use (that would cost a round
    /// trip per request); a connection found broken is dropped when it is returned and
    /// replaced, so after a database restart each stale connection fails one request (503;
    /// gates retry) and is then replaced.
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, StorageError> {
        let config: postgres::Config = url.parse().map_err(pg("parse the URL"))?;
        let manager = r2d2_postgres::PostgresConnectionManager::new(config, postgres::NoTls);
        let size = u32::try_from(pool_size.max(1)).unwrap_or(u32::MAX);
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(size))
            .test_on_check_out(false)
            .connection_timeout(PG_CHECKOUT_TIMEOUT)
            .connection_customizer(Box::new(UtcSession))
            .error_handler(Box::new(PoolErrorLog))
            .build(manager)
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        let storage = Self {
            pool: Some(pool),
            known_months: Mutex::new(HashSet::new()),
        };
        storage.with_client(|client| {
            let mut transaction = client.transaction().map_err(pg("begin schema"))?;
            transaction
                .batch_execute(PG_SCHEMA)
                .map_err(pg("create schema"))?;
            transaction
                .batch_execute(crate::console::store::PG_SCHEMA)
                .map_err(pg("create console schema"))?;
            crate::reports::postgres::prepare(&mut transaction)?;
            transaction.commit().map_err(pg("commit schema"))
        })?;
        Ok(storage)
    }

    /// Runs `work` on a pooled connection (waiting up to 5 s for a free one).
    pub(crate) fn with_client<T>(
        &self,
        work: impl FnOnce(&mut postgres::Client) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| StorageError::Pool("the pool is closed".into()))?;
        let mut client = pool.get().map_err(|e| StorageError::Pool(e.to_string()))?;
        work(&mut client)
    }

    fn ensure_partitions(&self, events: &[IncomingEvent]) -> Result<(), StorageError> {
        let mut missing: Vec<i64> = Vec::new();
        {
            let known = self
                .known_months
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for event in events {
                let month = month_index(event.occurred_at_ms);
                if !known.contains(&month) && !missing.contains(&month) {
                    missing.push(month);
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let samples: Vec<i64> = missing
            .iter()
            .filter_map(|month| {
                events
                    .iter()
                    .find(|e| month_index(e.occurred_at_ms) == *month)
                    .map(|e| e.occurred_at_ms)
            })
            .collect();
        self.with_client(|client| {
            client
                .execute(
                    "SELECT central_ensure_month_partition(m) FROM (SELECT DISTINCT \
                     date_trunc('month', to_timestamp(x / 1000.0), 'UTC') AS m \
                     FROM unnest($1::bigint[]) AS x) AS months",
                    &[&samples],
                )
                .map_err(pg("create partition"))
        })?;
        self.known_months
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(missing);
        Ok(())
    }
}

impl Storage for PostgresStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn ingest_incoming(
        &self,
        events: &[IncomingEvent],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError> {
        if events.is_empty() {
            return Ok(IngestOutcome {
                stored: 0,
                duplicates: 0,
            });
        }
        self.ensure_partitions(events)?;
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        let gates: Vec<&str> = events.iter().map(|e| e.gate_id.as_str()).collect();
        let sequences: Vec<i64> = events.iter().map(|e| i64_from(e.sequence)).collect();
        let versions: Vec<i32> = events
            .iter()
            .map(|e| i32::try_from(e.schema_version).unwrap_or(i32::MAX))
            .collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let occurred: Vec<i64> = events.iter().map(|e| e.occurred_at_ms).collect();
        let payloads: Vec<&str> = events.iter().map(|e| e.payload.get()).collect();
        let stored = self.with_client(|client| {
            client
                .execute(
                    "INSERT INTO events (id, gate_id, sequence, schema_version, kind, occurred_at, \
                     occurred_at_ms, received_at_ms, payload) \
                     SELECT u.id, u.gate, u.seq, u.ver, u.kind, to_timestamp(u.occ / 1000.0), \
                     u.occ, $7, u.payload::jsonb \
                     FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::int[], $5::text[], \
                     $6::bigint[], $8::text[]) AS u(id, gate, seq, ver, kind, occ, payload) \
                     ORDER BY u.gate, u.seq \
                     ON CONFLICT DO NOTHING",
                    &[
                        &ids,
                        &gates,
                        &sequences,
                        &versions,
                        &kinds,
                        &occurred,
                        &received_at_ms,
                        &payloads,
                    ],
                )
                .map_err(pg("ingest"))
        })?;
        Ok(IngestOutcome {
            stored,
            duplicates: events.len() as u64 - stored,
        })
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<ReceivedEvent>, StorageError> {
        let after = query.after_sequence.map(i64_from);
        let limit = i64::from(query.limit);
        let rows =
            self.with_client(|client| {
                client
                .query(
                    "SELECT id, gate_id, sequence, schema_version, kind, occurred_at_ms, payload, \
                     received_at_ms, arrival FROM events \
                     WHERE ($1::text IS NULL OR gate_id = $1) \
                     AND ($2::bigint IS NULL OR occurred_at >= to_timestamp($2 / 1000.0)) \
                     AND ($3::bigint IS NULL OR occurred_at < to_timestamp($3 / 1000.0)) \
                     AND ($4::bigint IS NULL OR sequence > $4) \
                     ORDER BY gate_id, sequence, arrival LIMIT $5",
                    &[&query.gate, &query.since_ms, &query.until_ms, &after, &limit],
                )
                .map_err(pg("query events"))
            })?;
        rows.iter()
            .map(|row| {
                let read = || -> Result<ReceivedEvent, postgres::Error> {
                    Ok(ReceivedEvent {
                        event: EventEnvelope {
                            id: row.try_get(0)?,
                            gate_id: row.try_get(1)?,
                            sequence: u64::try_from(row.try_get::<_, i64>(2)?).unwrap_or(0),
                            schema_version: u32::try_from(row.try_get::<_, i32>(3)?).unwrap_or(0),
                            kind: row.try_get(4)?,
                            occurred_at_ms: row.try_get(5)?,
                            payload: row.try_get(6)?,
                        },
                        received_at_ms: row.try_get(7)?,
                        arrival: row.try_get(8)?,
                    })
                };
                read().map_err(pg("read event row"))
            })
            .collect()
    }

    fn publish_list(
        &self,
        name: &str,
        list: &PublishList,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let items = serde_json::Value::Array(list.items.clone()).to_string();
        let version = i64_from(list.version);
        let changed = self.with_client(|client| {
            client
                .execute(
                    "INSERT INTO lists (name, version, items, published_at_ms) \
                     VALUES ($1, $2, $3::text::jsonb, $4) \
                     ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
                     items = excluded.items, published_at_ms = excluded.published_at_ms \
                     WHERE lists.version < excluded.version",
                    &[&name, &version, &items, &now_ms],
                )
                .map_err(pg("publish list"))
        })?;
        if changed == 0 {
            return Err(StorageError::ListVersionConflict {
                name: name.to_owned(),
                offered: list.version,
                current: self.list_version(name)?.unwrap_or(0),
            });
        }
        Ok(())
    }

    fn list_version(&self, name: &str) -> Result<Option<u64>, StorageError> {
        let row = self.with_client(|client| {
            client
                .query_opt("SELECT version FROM lists WHERE name = $1", &[&name])
                .map_err(pg("read list version"))
        })?;
        row.map(|row| {
            row.try_get::<_, i64>(0)
                .map_err(pg("read list version"))
                .and_then(|v| u64_from(v, "list version"))
        })
        .transpose()
    }

    fn list(&self, name: &str) -> Result<Option<PublishedList>, StorageError> {
        let row = self.with_client(|client| {
            client
                .query_opt("SELECT version, items FROM lists WHERE name = $1", &[&name])
                .map_err(pg("read list"))
        })?;
        row.map(|row| {
            let version: i64 = row.try_get(0).map_err(pg("read list"))?;
            let items: serde_json::Value = row.try_get(1).map_err(pg("read list"))?;
            let serde_json::Value::Array(items) = items else {
                return Err(StorageError::BadRow(format!(
                    "items of list {name} are not an array"
                )));
            };
            Ok(PublishedList {
                name: name.to_owned(),
                version: u64_from(version, "list version")?,
                items,
            })
        })
        .transpose()
    }

    fn health(&self) -> Result<(), StorageError> {
        self.with_client(|client| {
            client
                .simple_query("SELECT 1")
                .map(|_| ())
                .map_err(pg("health"))
        })
    }

    fn gate_heads(&self) -> Result<Vec<GateHead>, StorageError> {
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT gate_id, last_occurred_ms, last_received_ms FROM report_gates \
                     ORDER BY gate_id",
                    &[],
                )
                .map_err(pg("gate heads"))?;
            Ok(rows
                .iter()
                .map(|row| GateHead {
                    gate_id: row.get(0),
                    newest_occurred_at_ms: row.get(1),
                    last_received_at_ms: row.get(2),
                })
                .collect())
        })
    }

    fn store_handovers(
        &self,
        records: &[SealedHandOver],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError> {
        if records.is_empty() {
            return Ok(IngestOutcome {
                stored: 0,
                duplicates: 0,
            });
        }
        let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
        let gates: Vec<&str> = records.iter().map(|r| r.gate_id.as_str()).collect();
        let booths: Vec<&str> = records.iter().map(|r| r.booth_id.as_str()).collect();
        let transactions: Vec<&str> = records.iter().map(|r| r.transaction_id.as_str()).collect();
        let sealed = records
            .iter()
            .map(encode_sealed)
            .collect::<Result<Vec<_>, _>>()?;
        let stored = self.with_client(|client| {
            client
                .execute(
                    "INSERT INTO handovers (id, gate_id, booth_id, transaction_id, sealed,                      received_at_ms)                      SELECT u.id, u.gate, u.booth, u.tx, u.sealed, $6                      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[])                      AS u(id, gate, booth, tx, sealed)                      ON CONFLICT (id) DO NOTHING",
                    &[&ids, &gates, &booths, &transactions, &sealed, &received_at_ms],
                )
                .map_err(pg("store hand-overs"))
        })?;
        Ok(IngestOutcome {
            stored,
            duplicates: records.len() as u64 - stored,
        })
    }

    fn booth_handovers(
        &self,
        booth_id: &str,
        limit: u32,
    ) -> Result<Vec<ReceivedHandOver>, StorageError> {
        let limit = i64::from(limit);
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT id, sealed, received_at_ms FROM handovers                      WHERE booth_id = $1 AND acked_at_ms IS NULL                      ORDER BY received_at_ms, id LIMIT $2",
                    &[&booth_id, &limit],
                )
                .map_err(pg("read booth hand-overs"))
        })?;
        rows.iter()
            .map(|row| {
                let id: Uuid = row.try_get(0).map_err(pg("read booth hand-overs"))?;
                let sealed: Vec<u8> = row.try_get(1).map_err(pg("read booth hand-overs"))?;
                let received: i64 = row.try_get(2).map_err(pg("read booth hand-overs"))?;
                decode_sealed(&id.to_string(), &sealed, received)
            })
            .collect()
    }

    fn ack_handovers(
        &self,
        booth_id: &str,
        ids: &[Uuid],
        now_ms: i64,
    ) -> Result<u64, StorageError> {
        let ids = ids.to_vec();
        self.with_client(|client| {
            client
                .execute(
                    "UPDATE handovers SET sealed = NULL, acked_at_ms = $3                      WHERE id = ANY($1) AND booth_id = $2 AND acked_at_ms IS NULL",
                    &[&ids, &booth_id, &now_ms],
                )
                .map_err(pg("ack hand-overs"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_index_matches_calendar() {
        assert_eq!(month_index(0), 0);
        // 2026-11-26T14:00:00Z
        assert_eq!(month_index(1_795_701_600_000), (2026 - 1970) * 12 + 10);
        // 2024-02-29T23:59:59.999Z and 2024-03-01T00:00:00Z
        assert_eq!(month_index(1_709_251_199_999), (2024 - 1970) * 12 + 1);
        assert_eq!(month_index(1_709_251_200_000), (2024 - 1970) * 12 + 2);
        // 1969-12-31T23:59:59.999Z
        assert_eq!(month_index(-1), -1);
    }

    #[test]
    fn database_urls_are_checked() {
        assert!(matches!(
            open_storage("mysql://x", 1),
            Err(StorageError::Url { .. })
        ));
        assert!(matches!(
            open_storage("sqlite:", 1),
            Err(StorageError::Url { .. })
        ));
    }

    fn event(gate: &str, sequence: u64) -> EventEnvelope {
        EventEnvelope {
            id: Uuid::now_v7(),
            gate_id: gate.into(),
            sequence,
            schema_version: 1,
            kind: "transaction.outcome".into(),
            occurred_at_ms: 1_795_701_600_000 + sequence as i64,
            payload: serde_json::json!({"decision": "pass", "n": sequence}),
        }
    }

    #[test]
    fn sqlite_ingest_is_idempotent_and_queries_filter() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        let batch: Vec<_> = (1..=5).map(|n| event("g1", n)).collect();
        assert_eq!(
            store.ingest(&batch, 1).unwrap(),
            IngestOutcome {
                stored: 5,
                duplicates: 0
            }
        );
        assert_eq!(
            store.ingest(&batch[3..], 2).unwrap(),
            IngestOutcome {
                stored: 0,
                duplicates: 2
            }
        );
        store.ingest(&[event("g2", 1)], 3).unwrap();
        let all = store
            .events(&EventQuery {
                limit: 100,
                ..EventQuery::default()
            })
            .unwrap();
        assert_eq!(all.len(), 6);
        let g1 = store
            .events(&EventQuery {
                gate: Some("g1".into()),
                since_ms: Some(1_795_701_600_002),
                until_ms: Some(1_795_701_600_005),
                limit: 100,
                ..EventQuery::default()
            })
            .unwrap();
        let sequences: Vec<u64> = g1.iter().map(|e| e.event.sequence).collect();
        assert_eq!(sequences, vec![2, 3, 4]);
        assert_eq!(g1[0].event, batch[1]);
    }

    #[test]
    fn sqlite_lists_only_move_forward() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        assert_eq!(store.list("denylist").unwrap(), None);
        let v2 = PublishList {
            version: 2,
            items: vec![serde_json::json!("ab")],
        };
        store.publish_list("denylist", &v2, 1).unwrap();
        let error = store.publish_list("denylist", &v2, 2).unwrap_err();
        assert!(
            matches!(error, StorageError::ListVersionConflict { current: 2, .. }),
            "{error}"
        );
        assert_eq!(store.list_version("denylist").unwrap(), Some(2));
        assert_eq!(store.list("denylist").unwrap().unwrap().items, v2.items);
    }
}

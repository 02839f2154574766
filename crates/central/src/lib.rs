//! Reference central server: event ingest, queries and list publishing for gates.
//!
//! * [`console`]: the operator console (`/console`): accounts and roles, the audit trail,
//!   list publication with validation and diff, fleet and activity pages.
//! * [`http`]: the HTTP/JSON API on axum, documented in `openapi.yaml` (routes in
//!   [`http::ROUTES`]; [`http::router`] is the whole application).
//! * [`storage`]: the [`storage::Storage`] trait with an embedded SQLite store (zero setup)
//!   and a PostgreSQL store (time-partitioned, r2d2 connection pool, shared by stateless
//!   replicas).
//! * [`tls`]: rustls server configuration with mandatory client certificates.
//! * [`reports`]: the read side for the airport's people ([`reports::ReportStore`]: fleet,
//!   activity, incidents, outbox lag, published waiting times).
//! * [`metrics`]: Prometheus metrics at `GET /metrics` (ingest per gate, per-gate lag,
//!   storage latency, HTTP requests).
//!
//! Ingest is idempotent by event id: a retransmitted event is acknowledged again but stored
//! once. Events of a batch must belong to one gate and ascend in sequence; gaps between
//! batches are accepted (central records what it receives and the gate never skips a
//! sequence number, so a gap can only mean a replaced outbox database; the query API shows it).

pub mod console;
pub mod http;
pub mod metrics;
pub mod reports;
pub mod storage;
pub mod tls;

/// Now, in Unix milliseconds (central's clock: receipt, sessions, audit, report windows).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

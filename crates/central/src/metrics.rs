//! Central's Prometheus metrics (`GET /metrics`): ingest per gate, how far each gate's
//! record lags, storage latency and HTTP requests. Labels are bounded: a gate id (the fleet),
//! a route template, a method, a status code, a storage operation; never an event id or
//! anything from a payload.
//!
//! Nothing here depends on the HTTP router: the router calls [`CentralMetrics::observe_request`]
//! and answers `GET /metrics` with [`CentralMetrics::exposition`]; the storage is wrapped in
//! [`MeteredStorage`]. Every metric is listed with its meaning in the crate README.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gate_metrics::Format;
use outbox::wire::{PublishList, PublishedList, ReceivedEvent, ReceivedHandOver, SealedHandOver};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use uuid::Uuid;

use crate::storage::{EventQuery, GateHead, IncomingEvent, IngestOutcome, Storage, StorageError};

/// Upper bounds of the storage and request histograms, seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the ingest delay histogram (event occurred to stored), seconds.
pub const DELAY_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GateLabels {
    gate: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    version: &'static str,
    storage: &'static str,
}

type Seconds = Gauge<f64, std::sync::atomic::AtomicU64>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// What central knows of each gate's newest event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    newest_occurred_at_ms: i64,
    last_received_at_ms: i64,
}

/// Central's metrics registry.
#[derive(Debug)]
pub struct CentralMetrics {
    registry: Registry,
    stored: Family<GateLabels, Counter>,
    duplicates: Family<GateLabels, Counter>,
    ingest_delay: Histogram,
    last_event: Family<GateLabels, Seconds>,
    last_received: Family<GateLabels, Seconds>,
    lag: Family<GateLabels, Seconds>,
    storage: Histograms<OperationLabels>,
    storage_errors: Family<OperationLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histograms<RouteLabels>,
    heads: Mutex<HashMap<String, Head>>,
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1_000.0
}

impl CentralMetrics {
    /// Every metric at zero, for a server on `storage` (`sqlite` or `postgres`).
    pub fn new(storage: &'static str) -> Self {
        let mut registry = Registry::default();
        let info = Family::<InfoLabels, Gauge>::default();
        registry.register(
            "gate_central_info",
            "This central: its version and storage backend (always 1)",
            info.clone(),
        );
        info.get_or_create(&InfoLabels {
            version: env!("CARGO_PKG_VERSION"),
            storage,
        })
        .set(1);
        let stored = Family::<GateLabels, Counter>::default();
        registry.register(
            "gate_central_events_stored",
            "Events newly stored, per gate (the ingest rate: rate() of it)",
            stored.clone(),
        );
        let duplicates = Family::<GateLabels, Counter>::default();
        registry.register(
            "gate_central_events_duplicate",
            "Events a gate sent again that were already stored (acknowledged again, stored once), per gate",
            duplicates.clone(),
        );
        let ingest_delay = Histogram::new(DELAY_BUCKETS);
        registry.register_with_unit(
            "gate_central_ingest_delay",
            "From an event's occurrence at the gate (gate clock) to its batch being stored here, for every event of an acknowledged batch",
            Unit::Seconds,
            ingest_delay.clone(),
        );
        let last_event = Family::<GateLabels, Seconds>::default();
        registry.register_with_unit(
            "gate_central_gate_last_event_timestamp",
            "Per gate, when its newest stored event occurred (gate clock, Unix time)",
            Unit::Seconds,
            last_event.clone(),
        );
        let last_received = Family::<GateLabels, Seconds>::default();
        registry.register_with_unit(
            "gate_central_gate_last_received_timestamp",
            "Per gate, when central last stored one of its events (Unix time)",
            Unit::Seconds,
            last_received.clone(),
        );
        let lag = Family::<GateLabels, Seconds>::default();
        registry.register_with_unit(
            "gate_central_gate_sync_lag",
            "Per gate, now minus the occurrence of its newest stored event: how far central's record of the gate is behind (an idle gate's grows too; compare the gate's own gate_sync_lag_seconds)",
            Unit::Seconds,
            lag.clone(),
        );
        let storage: Histograms<OperationLabels> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "gate_central_storage_operation_duration",
            "Time of each storage operation (ingest, events, publish_list, list_version, list, health, store_handovers, booth_handovers, ack_handovers, gate_heads), failed ones included",
            Unit::Seconds,
            storage.clone(),
        );
        let storage_errors = Family::<OperationLabels, Counter>::default();
        registry.register(
            "gate_central_storage_errors",
            "Storage operations that failed, per operation",
            storage_errors.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "gate_central_http_requests",
            "HTTP requests answered, by route template, method and status code",
            requests.clone(),
        );
        let request_duration: Histograms<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "gate_central_http_request_duration",
            "Time to answer an HTTP request (body read to response built), by route template",
            Unit::Seconds,
            request_duration.clone(),
        );
        Self {
            registry,
            stored,
            duplicates,
            ingest_delay,
            last_event,
            last_received,
            lag,
            storage,
            storage_errors,
            requests,
            request_duration,
            heads: Mutex::new(HashMap::new()),
        }
    }

    fn heads(&self) -> std::sync::MutexGuard<'_, HashMap<String, Head>> {
        self.heads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the per-gate figures from what the database holds (at start-up).
    pub fn seed(&self, heads: &[GateHead]) {
        let mut known = self.heads();
        for head in heads {
            let entry = known.entry(head.gate_id.clone()).or_insert(Head {
                newest_occurred_at_ms: head.newest_occurred_at_ms,
                last_received_at_ms: head.last_received_at_ms,
            });
            entry.newest_occurred_at_ms =
                entry.newest_occurred_at_ms.max(head.newest_occurred_at_ms);
            entry.last_received_at_ms = entry.last_received_at_ms.max(head.last_received_at_ms);
        }
    }

    /// Counts an acknowledged batch of one gate's events, stored at `received_at_ms`.
    pub fn ingested(&self, events: &[IncomingEvent], outcome: IngestOutcome, received_at_ms: i64) {
        let Some(gate) = events.first().map(|e| e.gate_id.clone()) else {
            return;
        };
        let labels = GateLabels { gate: gate.clone() };
        self.stored.get_or_create(&labels).inc_by(outcome.stored);
        self.duplicates
            .get_or_create(&labels)
            .inc_by(outcome.duplicates);
        for event in events {
            self.ingest_delay.observe(seconds(
                received_at_ms.saturating_sub(event.occurred_at_ms).max(0),
            ));
        }
        if outcome.stored == 0 {
            return;
        }
        let newest = events.iter().map(|e| e.occurred_at_ms).max().unwrap_or(0);
        let mut heads = self.heads();
        let head = heads.entry(gate).or_insert(Head {
            newest_occurred_at_ms: newest,
            last_received_at_ms: received_at_ms,
        });
        head.newest_occurred_at_ms = head.newest_occurred_at_ms.max(newest);
        head.last_received_at_ms = head.last_received_at_ms.max(received_at_ms);
    }

    /// Times one storage operation.
    pub fn storage_operation(&self, operation: &'static str, took: Duration, ok: bool) {
        let labels = OperationLabels { operation };
        self.storage
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        if !ok {
            self.storage_errors.get_or_create(&labels).inc();
        }
    }

    /// Counts one answered request: its route template (or `unmatched`), method (`other` for
    /// one the API does not use) and status code.
    pub fn observe_request(&self, route: &'static str, method: &str, code: u16, took: Duration) {
        let method = match method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "DELETE" => "DELETE",
            "HEAD" => "HEAD",
            _ => "other",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                code,
            })
            .inc();
        self.request_duration
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// The metrics in `format`, with the per-gate figures as of `now_ms`.
    pub fn encode(&self, format: Format, now_ms: i64) -> String {
        for (gate, head) in self.heads().iter() {
            let labels = GateLabels { gate: gate.clone() };
            self.last_event
                .get_or_create(&labels)
                .set(seconds(head.newest_occurred_at_ms));
            self.last_received
                .get_or_create(&labels)
                .set(seconds(head.last_received_at_ms));
            self.lag.get_or_create(&labels).set(seconds(
                now_ms.saturating_sub(head.newest_occurred_at_ms).max(0),
            ));
        }
        gate_metrics::encode(&self.registry, format)
    }

    /// The answer to `GET /metrics` for a client sending `accept`: content type and body.
    pub fn exposition(&self, accept: Option<&str>, now_ms: i64) -> (&'static str, String) {
        let format = Format::for_accept(accept);
        (format.content_type(), self.encode(format, now_ms))
    }
}

/// A [`Storage`] that times every operation into [`CentralMetrics`] and counts what ingest
/// stored.
pub struct MeteredStorage {
    inner: Arc<dyn Storage>,
    metrics: Arc<CentralMetrics>,
}

impl MeteredStorage {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Storage>, metrics: Arc<CentralMetrics>) -> Self {
        Self { inner, metrics }
    }

    fn timed<T>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&dyn Storage) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let started = Instant::now();
        let result = work(self.inner.as_ref());
        self.metrics
            .storage_operation(operation, started.elapsed(), result.is_ok());
        result
    }
}

impl crate::reports::ReportStore for MeteredStorage {
    fn fleet(&self, now_ms: i64) -> Result<crate::reports::Fleet, StorageError> {
        self.timed("fleet", |s| s.fleet(now_ms))
    }

    fn activity(
        &self,
        query: &crate::reports::ActivityQuery,
    ) -> Result<crate::reports::Activity, StorageError> {
        self.timed("activity", |s| s.activity(query))
    }

    fn incidents(
        &self,
        query: &crate::reports::IncidentQuery,
    ) -> Result<crate::reports::Incidents, StorageError> {
        self.timed("incidents", |s| s.incidents(query))
    }

    fn outbox_lag(
        &self,
        query: &crate::reports::ActivityQuery,
    ) -> Result<crate::reports::OutboxLag, StorageError> {
        self.timed("outbox_lag", |s| s.outbox_lag(query))
    }

    fn waiting_times(&self, now_ms: i64) -> Result<crate::reports::WaitingTimes, StorageError> {
        self.timed("waiting_times", |s| s.waiting_times(now_ms))
    }
}

impl Storage for MeteredStorage {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn ingest_incoming(
        &self,
        events: &[IncomingEvent],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError> {
        let outcome = self.timed("ingest", |s| s.ingest_incoming(events, received_at_ms))?;
        self.metrics.ingested(events, outcome, received_at_ms);
        Ok(outcome)
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<ReceivedEvent>, StorageError> {
        self.timed("events", |s| s.events(query))
    }

    fn publish_list(
        &self,
        name: &str,
        list: &PublishList,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.timed("publish_list", |s| s.publish_list(name, list, now_ms))
    }

    fn list_version(&self, name: &str) -> Result<Option<u64>, StorageError> {
        self.timed("list_version", |s| s.list_version(name))
    }

    fn list(&self, name: &str) -> Result<Option<PublishedList>, StorageError> {
        self.timed("list", |s| s.list(name))
    }

    fn health(&self) -> Result<(), StorageError> {
        self.timed("health", |s| s.health())
    }

    fn gate_heads(&self) -> Result<Vec<GateHead>, StorageError> {
        self.timed("gate_heads", |s| s.gate_heads())
    }

    fn store_handovers(
        &self,
        records: &[SealedHandOver],
        received_at_ms: i64,
    ) -> Result<IngestOutcome, StorageError> {
        self.timed("store_handovers", |s| {
            s.store_handovers(records, received_at_ms)
        })
    }

    fn booth_handovers(
        &self,
        booth_id: &str,
        limit: u32,
    ) -> Result<Vec<ReceivedHandOver>, StorageError> {
        self.timed("booth_handovers", |s| s.booth_handovers(booth_id, limit))
    }

    fn ack_handovers(
        &self,
        booth_id: &str,
        ids: &[Uuid],
        now_ms: i64,
    ) -> Result<u64, StorageError> {
        self.timed("ack_handovers", |s| s.ack_handovers(booth_id, ids, now_ms))
    }
}

impl crate::console::ConsoleStore for MeteredStorage {
    fn create_account(
        &self,
        account: &crate::console::store::Account,
        audit: &crate::console::store::AuditEntry,
    ) -> Result<bool, StorageError> {
        self.timed("console_create_account", |s| {
            s.create_account(account, audit)
        })
    }

    fn account(&self, name: &str) -> Result<Option<crate::console::store::Account>, StorageError> {
        self.timed("console_account", |s| s.account(name))
    }

    fn accounts(&self) -> Result<Vec<crate::console::store::Account>, StorageError> {
        self.timed("console_accounts", |s| s.accounts())
    }

    fn update_account(
        &self,
        name: &str,
        change: &crate::console::store::AccountChange,
        audit: &crate::console::store::AuditEntry,
    ) -> Result<bool, StorageError> {
        self.timed("console_update_account", |s| {
            s.update_account(name, change, audit)
        })
    }

    fn create_session(
        &self,
        session: &crate::console::store::SessionRecord,
    ) -> Result<(), StorageError> {
        self.timed("console_create_session", |s| s.create_session(session))
    }

    fn session(
        &self,
        token_hash: &str,
    ) -> Result<Option<crate::console::store::SessionRecord>, StorageError> {
        self.timed("console_session", |s| s.session(token_hash))
    }

    fn touch_session(&self, token_hash: &str, now_ms: i64) -> Result<(), StorageError> {
        self.timed("console_touch_session", |s| {
            s.touch_session(token_hash, now_ms)
        })
    }

    fn end_session(&self, token_hash: &str) -> Result<(), StorageError> {
        self.timed("console_end_session", |s| s.end_session(token_hash))
    }

    fn end_expired_sessions(
        &self,
        created_before_ms: i64,
        idle_since_ms: i64,
    ) -> Result<u64, StorageError> {
        self.timed("console_end_expired_sessions", |s| {
            s.end_expired_sessions(created_before_ms, idle_since_ms)
        })
    }

    fn record_audit(&self, entry: &crate::console::store::AuditEntry) -> Result<(), StorageError> {
        self.timed("console_record_audit", |s| s.record_audit(entry))
    }

    fn audit_trail(
        &self,
        limit: u32,
    ) -> Result<Vec<crate::console::store::AuditEntry>, StorageError> {
        self.timed("console_audit_trail", |s| s.audit_trail(limit))
    }

    fn recent_login_failures(
        &self,
        account: &str,
        address: &str,
        since_ms: i64,
    ) -> Result<crate::console::store::RecentFailures, StorageError> {
        self.timed("console_recent_login_failures", |s| {
            s.recent_login_failures(account, address, since_ms)
        })
    }

    fn publish_list_version(
        &self,
        name: &str,
        list: &PublishList,
        audit: &crate::console::store::AuditEntry,
    ) -> Result<(), StorageError> {
        self.timed("console_publish_list_version", |s| {
            s.publish_list_version(name, list, audit)
        })
    }

    fn list_history(
        &self,
        name: &str,
    ) -> Result<Vec<crate::console::store::ListVersionInfo>, StorageError> {
        self.timed("console_list_history", |s| s.list_history(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;
    use gate_metrics::Samples;
    use outbox::wire::EventEnvelope;

    fn event(gate: &str, sequence: u64, occurred_at_ms: i64) -> EventEnvelope {
        EventEnvelope {
            id: Uuid::now_v7(),
            gate_id: gate.into(),
            sequence,
            schema_version: 1,
            kind: "transaction.outcome".into(),
            occurred_at_ms,
            payload: serde_json::json!({}),
        }
    }

    #[test]
    fn ingest_counts_per_gate_and_the_lag_follows_the_newest_event() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Storage> =
            Arc::new(SqliteStorage::open(dir.path().join("c.sqlite")).unwrap());
        let metrics = Arc::new(CentralMetrics::new("sqlite"));
        let storage = MeteredStorage::new(inner.clone(), metrics.clone());
        let batch = [event("G-1", 1, 10_000), event("G-1", 2, 12_000)];
        storage.ingest(&batch, 15_000).unwrap();
        storage.ingest(&batch[1..], 16_000).unwrap();
        let samples = Samples::parse(&metrics.encode(Format::PrometheusText, 20_000));
        let gate = [("gate", "G-1")];
        assert_eq!(
            samples.value("gate_central_events_stored_total", &gate),
            2.0
        );
        assert_eq!(
            samples.value("gate_central_events_duplicate_total", &gate),
            1.0
        );
        assert_eq!(
            samples.value("gate_central_gate_sync_lag_seconds", &gate),
            8.0
        );
        assert_eq!(
            samples.value("gate_central_gate_last_event_timestamp_seconds", &gate),
            12.0
        );
        assert_eq!(
            samples.value("gate_central_ingest_delay_seconds_count", &[]),
            3.0
        );
        assert_eq!(
            samples.value(
                "gate_central_storage_operation_duration_seconds_count",
                &[("operation", "ingest")]
            ),
            2.0
        );

        // A restarted central starts the per-gate figures from the database.
        let fresh = CentralMetrics::new("sqlite");
        fresh.seed(&inner.gate_heads().unwrap());
        let samples = Samples::parse(&fresh.encode(Format::PrometheusText, 20_000));
        assert_eq!(
            samples.value("gate_central_gate_sync_lag_seconds", &gate),
            8.0
        );
        assert_eq!(
            samples.value("gate_central_gate_last_received_timestamp_seconds", &gate),
            15.0
        );
    }
}

//! The gate's Prometheus metrics (`[metrics]`): what a fleet's operators watch, and nothing
//! personal. Labels have a bounded set of values (outcome, reason code, stage, device, state,
//! condition, alarm); never a transaction id, a document hash or a score.
//!
//! The main loop updates them where it already learns the facts: an outcome recorded
//! ([`GateMetrics::record_outcome`]: counts by outcome and reason code, the stage timings of
//! the record as histograms), a document turned away, a door alarm, and after every wake-up the
//! state gauges ([`GateMetrics::set_state`]: device health, out-of-service conditions, the
//! outbox and the sync). [`serve`] answers `GET /metrics` on `[metrics] listen`;
//! [`write_textfile`] writes the node-exporter textfile. Every metric is listed with its
//! meaning in the crate README ("Metrics").

use crate::store::OutboxView;
use gate_core::{Condition, GateProfile, OutcomeRecord, ReasonCode};
use gate_metrics::Format;
use gate_protocol::Health;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tracing::{info, warn};

/// Upper bounds of the stage histograms, seconds: from a fast chip read to a slow passage.
pub const STAGE_BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0,
];

/// Every out-of-service condition, so each has its series (0 or 1) from the start.
const CONDITIONS: [Condition; 10] = [
    Condition::CameraDown,
    Condition::ChipReaderDown,
    Condition::FingerprintReaderDown,
    Condition::DoorFault,
    Condition::OutboxFull,
    Condition::OutboxCorrupt,
    Condition::ListsStale,
    Condition::FireAlarm,
    Condition::Maintenance,
    Condition::DoorTamper,
];

const HEALTH_STATES: [(Health, &str); 3] = [
    (Health::Up, "up"),
    (Health::Degraded, "degraded"),
    (Health::Down, "down"),
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    condition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlarmLabels {
    alarm: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    gate_id: String,
    profile: &'static str,
    version: &'static str,
}

type Seconds = Gauge<f64, AtomicU64>;

/// What the main loop knows of the gate's state, for the state gauges.
#[derive(Debug)]
pub struct GateState<'a> {
    /// Each configured device (and the outbox) with its health, as `gatectl status` shows it.
    pub devices: Vec<(&'a str, Health)>,
    /// The conditions holding in the core.
    pub conditions: &'a [Condition],
    /// Documents the core turned away since start-up (its own counter).
    pub turned_away: u64,
    /// The outbox as the writer last saw it.
    pub outbox: &'a OutboxView,
}

/// The gate's metrics registry (shared by the main loop, which updates it, and the server or
/// textfile writer, which encode it).
#[derive(Debug)]
pub struct GateMetrics {
    registry: Registry,
    outcomes: Family<OutcomeLabels, Counter>,
    reasons: Family<ReasonLabels, Counter>,
    stages: Family<StageLabels, Histogram, fn() -> Histogram>,
    turned_away: Counter,
    door_alarms: Family<AlarmLabels, Counter>,
    devices: Family<DeviceLabels, Gauge>,
    conditions: Family<ConditionLabels, Gauge>,
    in_service: Gauge,
    outbox_pending: Gauge,
    outbox_oldest: Seconds,
    outbox_used: Gauge,
    outbox_high_water: Gauge,
    outbox_readable: Gauge,
    sync_lag: Seconds,
    sync_success: Seconds,
    sync_failure: Seconds,
}

fn stage_histogram() -> Histogram {
    Histogram::new(STAGE_BUCKETS)
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1_000.0
}

/// A condition's name as the core writes it (`camera_down`).
fn condition_name(condition: Condition) -> String {
    serde_json::to_value(condition)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{condition:?}"))
}

/// An outcome's name as the record writes it (`timed_out`).
fn outcome_name(outcome: gate_core::Outcome) -> &'static str {
    use gate_core::Outcome;
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Denied => "denied",
        Outcome::Completed => "completed",
        Outcome::Abandoned => "abandoned",
        Outcome::TimedOut => "timed_out",
        Outcome::Aborted => "aborted",
    }
}

impl GateMetrics {
    /// A registry for gate `gate_id` of `profile`, every metric at zero.
    pub fn new(gate_id: &str, profile: GateProfile) -> Self {
        let mut registry = Registry::default();
        let info = Family::<InfoLabels, Gauge>::default();
        registry.register(
            "gate_info",
            "This gate: its id, profile and gated's version (always 1)",
            info.clone(),
        );
        info.get_or_create(&InfoLabels {
            gate_id: gate_id.to_owned(),
            profile: profile.as_str(),
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
        let started = Seconds::default();
        registry.register_with_unit(
            "gate_start_time",
            "When gated started (Unix time)",
            Unit::Seconds,
            started.clone(),
        );
        started.set(crate::unix_ms() as f64 / 1_000.0);

        let outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "gate_transactions",
            "Traveller transactions ended, by outcome (passed, denied, completed, abandoned, timed_out, aborted)",
            outcomes.clone(),
        );
        let reasons = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "gate_transaction_reasons",
            "Reason codes of the transactions that did not pass, by outcome and stable reason code (a transaction with several reasons counts once under each)",
            reasons.clone(),
        );
        let stages: Family<StageLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(stage_histogram);
        registry.register_with_unit(
            "gate_stage_duration",
            "Time per transaction stage from the outcome records: document, chip_read, authenticity, face_burst (each attempt), biometric, decision, passage, transaction (the whole)",
            Unit::Seconds,
            stages.clone(),
        );
        let turned_away = Counter::default();
        registry.register(
            "gate_documents_turned_away",
            "Documents presented while the gate was out of service or busy",
            turned_away.clone(),
        );
        let door_alarms = Family::<AlarmLabels, Counter>::default();
        registry.register(
            "gate_door_alarms",
            "Security alarms raised by the door, by reason code",
            door_alarms.clone(),
        );
        let devices = Family::<DeviceLabels, Gauge>::default();
        registry.register(
            "gate_device_health",
            "Health of each configured device and the outbox: 1 for the state it is in (up, degraded, down), 0 for the others",
            devices.clone(),
        );
        let conditions = Family::<ConditionLabels, Gauge>::default();
        registry.register(
            "gate_condition",
            "Out-of-service conditions: 1 while the condition holds",
            conditions.clone(),
        );
        for condition in CONDITIONS {
            conditions
                .get_or_create(&ConditionLabels {
                    condition: condition_name(condition),
                })
                .set(0);
        }
        let in_service = Gauge::default();
        registry.register(
            "gate_in_service",
            "1 while no condition keeps the gate from accepting travellers",
            in_service.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "gate_outbox_pending_events",
            "Events in the outbox not yet acknowledged by central",
            outbox_pending.clone(),
        );
        let outbox_oldest = Seconds::default();
        registry.register_with_unit(
            "gate_outbox_oldest_pending_age",
            "How long the oldest event not yet acknowledged by central has waited (0 when none waits)",
            Unit::Seconds,
            outbox_oldest.clone(),
        );
        let outbox_used = Gauge::default();
        registry.register_with_unit(
            "gate_outbox_used",
            "Bytes used inside the outbox database",
            Unit::Bytes,
            outbox_used.clone(),
        );
        let outbox_high_water = Gauge::default();
        registry.register_with_unit(
            "gate_outbox_high_water",
            "The outbox's high-water mark: at or above it new travellers are refused",
            Unit::Bytes,
            outbox_high_water.clone(),
        );
        let outbox_readable = Gauge::default();
        registry.register(
            "gate_outbox_status_readable",
            "1 when the outbox's status could be read (0: the outbox figures are stale)",
            outbox_readable.clone(),
        );
        let sync_lag = Seconds::default();
        registry.register_with_unit(
            "gate_sync_lag",
            "How long events have waited without central taking any: 0 when none waits, else the time since the later of the last successful exchange with central and the oldest waiting event",
            Unit::Seconds,
            sync_lag.clone(),
        );
        let sync_success = Seconds::default();
        registry.register_with_unit(
            "gate_sync_last_success_timestamp",
            "When the sync last exchanged with central successfully (Unix time; 0: never)",
            Unit::Seconds,
            sync_success.clone(),
        );
        let sync_failure = Seconds::default();
        registry.register_with_unit(
            "gate_sync_last_failure_timestamp",
            "When a push to or pull from central last failed (Unix time; 0: never)",
            Unit::Seconds,
            sync_failure.clone(),
        );
        Self {
            registry,
            outcomes,
            reasons,
            stages,
            turned_away,
            door_alarms,
            devices,
            conditions,
            in_service,
            outbox_pending,
            outbox_oldest,
            outbox_used,
            outbox_high_water,
            outbox_readable,
            sync_lag,
            sync_success,
            sync_failure,
        }
    }

    /// Counts a finished transaction and observes the time of every stage its record has.
    pub fn record_outcome(&self, record: &OutcomeRecord) {
        let outcome = outcome_name(record.outcome);
        self.outcomes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        for reason in &record.reasons {
            self.reasons
                .get_or_create(&ReasonLabels {
                    outcome,
                    reason: reason.as_str(),
                })
                .inc();
        }
        let t = &record.timings;
        let observe = |stage: &'static str, ms: Option<u64>| {
            if let Some(ms) = ms {
                self.stages
                    .get_or_create(&StageLabels { stage })
                    .observe(seconds(ms));
            }
        };
        observe("document", t.document_ms);
        observe("chip_read", t.chip_read_ms);
        observe("authenticity", t.authenticity_ms);
        for burst in &t.face_bursts_ms {
            observe("face_burst", Some(*burst));
        }
        observe("biometric", t.biometric_ms);
        observe("decision", t.decision_ms);
        observe("passage", t.passage_ms);
        observe("transaction", Some(t.total_ms));
    }

    /// Counts a door alarm.
    pub fn door_alarm(&self, reason: ReasonCode) {
        self.door_alarms
            .get_or_create(&AlarmLabels {
                alarm: reason.as_str(),
            })
            .inc();
    }

    /// Sets the state gauges: devices, conditions, outbox, sync.
    pub fn set_state(&self, state: &GateState<'_>) {
        for (device, health) in &state.devices {
            for (candidate, name) in HEALTH_STATES {
                self.devices
                    .get_or_create(&DeviceLabels {
                        device: (*device).to_owned(),
                        state: name,
                    })
                    .set(i64::from(*health == candidate));
            }
        }
        for condition in CONDITIONS {
            self.conditions
                .get_or_create(&ConditionLabels {
                    condition: condition_name(condition),
                })
                .set(i64::from(state.conditions.contains(&condition)));
        }
        self.in_service.set(i64::from(state.conditions.is_empty()));
        // The core counts the documents it turns away; the counter follows it.
        let counted = self.turned_away.get();
        if state.turned_away > counted {
            self.turned_away.inc_by(state.turned_away - counted);
        }
        let outbox = state.outbox;
        self.outbox_readable.set(i64::from(outbox.error.is_none()));
        if outbox.error.is_some() {
            return;
        }
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.outbox_pending.set(count(outbox.pending));
        self.outbox_used.set(count(outbox.used_bytes));
        self.outbox_high_water.set(count(outbox.high_water_bytes));
        let age = |ms: Option<i64>| ms.unwrap_or(0).max(0) as f64 / 1_000.0;
        self.outbox_oldest.set(age(outbox.oldest_pending_age_ms));
        self.sync_lag.set(age(Some(outbox.sync_lag_ms)));
        self.sync_success.set(age(outbox.sync_last_success_ms));
        self.sync_failure.set(age(outbox.sync_last_failure_ms));
    }

    /// The metrics in `format`.
    pub fn encode(&self, format: Format) -> String {
        gate_metrics::encode(&self.registry, format)
    }
}

/// Serves `GET /metrics` on `listener` until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<GateMetrics>) {
    use http_body_util::Full;
    use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
    use hyper::{Method, Response, StatusCode};
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "metrics: http://{addr}/metrics");
    }
    crate::http::serve(
        listener,
        "metrics",
        |_| true,
        move |request| {
            let metrics = metrics.clone();
            async move {
                let (status, content_type, body) = match (request.method(), request.uri().path()) {
                    (&Method::GET, "/metrics") => {
                        let format = Format::for_accept(
                            request
                                .headers()
                                .get(ACCEPT)
                                .and_then(|value| value.to_str().ok()),
                        );
                        (
                            StatusCode::OK,
                            format.content_type(),
                            metrics.encode(format),
                        )
                    }
                    (_, "/metrics") => (
                        StatusCode::METHOD_NOT_ALLOWED,
                        "text/plain; charset=utf-8",
                        "GET only\n".to_owned(),
                    ),
                    _ => (
                        StatusCode::NOT_FOUND,
                        "text/plain; charset=utf-8",
                        "see /metrics\n".to_owned(),
                    ),
                };
                let mut response = Response::new(Full::new(bytes::Bytes::from(body)));
                *response.status_mut() = status;
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                response
            }
        },
    )
    .await;
}

/// Writes the metrics to `path` (Prometheus text format) every `every`, until aborted:
/// written beside it first, then renamed over it, so node-exporter never reads half a file.
pub async fn write_textfile(path: PathBuf, every: Duration, metrics: Arc<GateMetrics>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let text = metrics.encode(Format::PrometheusText);
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || write_atomically(&target, &text)).await;
        match written {
            Ok(Ok(())) if failing => {
                info!(path = %path.display(), "metrics textfile written again");
                failing = false;
            }
            Ok(Ok(())) => {}
            Ok(Err(err)) if !failing => {
                warn!(path = %path.display(), error = %err, "metrics textfile not written");
                failing = true;
            }
            Ok(Err(_)) => {}
            Err(err) => warn!(error = %err, "metrics textfile writer failed"),
        }
    }
}

/// Writes `text` to a hidden file beside `path` (which node-exporter ignores: it reads
/// `*.prom` only), then renames it over `path`.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gated.prom".into());
    let aside = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&aside)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        // Readable by node-exporter's user, whatever gated's umask.
        std::fs::set_permissions(
            &aside,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644),
        )?;
        std::fs::rename(&aside, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_core::examples::example_policy;
    use gate_core::{Command, Event, Gate, Now, TransactionId};
    use gate_metrics::Samples;

    /// A face-gate deny after three mismatches, through the real core.
    fn denied_record() -> OutcomeRecord {
        let mut gate = Gate::new(GateProfile::FaceGate, example_policy());
        let mut now = Now::new(0, 1_800_000_000_000);
        let id = TransactionId(7);
        gate.handle(now, Event::DocumentPresented { transaction_id: id });
        now = now.after_ms(1_200);
        gate.handle(
            now,
            Event::ChipRead {
                transaction_id: id,
                result: gate_core::ChipReadResult::Read {
                    facts: gate_core::examples::specimen_facts(gate_core::DocumentHash([1; 32])),
                    authenticity: gate_core::Authenticity::Verified,
                    denylisted: false,
                },
                timings: gate_core::ChipReadTimings {
                    read_ms: Some(900),
                    authenticity_ms: Some(200),
                },
            },
        );
        let mut record = None;
        for _ in 0..3 {
            now = now.after_ms(700);
            for command in gate.handle(
                now,
                Event::FaceCaptured {
                    transaction_id: id,
                    attempt: gate_core::FaceAttempt::Compared {
                        score: 0.1,
                        attack_score: 0.0,
                        quality: 80,
                    },
                },
            ) {
                if let Command::RecordOutcome { record: r } = command {
                    record = Some(r);
                }
            }
        }
        record.expect("a deny")
    }

    #[test]
    fn an_outcome_counts_by_reason_and_observes_every_stage_it_went_through() {
        let metrics = GateMetrics::new("GATE-1", GateProfile::FaceGate);
        let record = denied_record();
        metrics.record_outcome(&record);
        let samples = Samples::parse(&metrics.encode(Format::PrometheusText));
        assert_eq!(
            samples.value("gate_transactions_total", &[("outcome", "denied")]),
            1.0
        );
        assert_eq!(
            samples.value(
                "gate_transaction_reasons_total",
                &[("outcome", "denied"), ("reason", "FACE_MISMATCH")]
            ),
            1.0
        );
        let count = |stage| samples.value("gate_stage_duration_seconds_count", &[("stage", stage)]);
        let sum = |stage| samples.value("gate_stage_duration_seconds_sum", &[("stage", stage)]);
        for stage in [
            "document",
            "chip_read",
            "authenticity",
            "biometric",
            "decision",
            "transaction",
        ] {
            assert_eq!(count(stage), 1.0, "{stage}");
        }
        assert_eq!(count("face_burst"), 3.0);
        assert_eq!(count("passage"), 0.0, "never reached");
        assert!((sum("biometric") - 2.1).abs() < 1e-9);
        assert!((sum("chip_read") - 0.9).abs() < 1e-9);
        assert_eq!(
            samples.value(
                "gate_info",
                &[
                    ("gate_id", "GATE-1"),
                    ("profile", "face_gate"),
                    ("version", env!("CARGO_PKG_VERSION"))
                ]
            ),
            1.0
        );
    }

    #[test]
    fn state_gauges_follow_devices_conditions_and_the_outbox() {
        let metrics = GateMetrics::new("GATE-1", GateProfile::FaceGate);
        let outbox = OutboxView {
            pending: 4,
            used_bytes: 8192,
            high_water_bytes: 1 << 20,
            oldest_pending_age_ms: Some(12_500),
            sync_last_success_ms: Some(1_800_000_000_000),
            sync_last_failure_ms: None,
            sync_lag_ms: 3_000,
            error: None,
        };
        metrics.set_state(&GateState {
            devices: vec![("camera", Health::Down), ("outbox", Health::Up)],
            conditions: &[Condition::CameraDown],
            turned_away: 2,
            outbox: &outbox,
        });
        let samples = Samples::parse(&metrics.encode(Format::PrometheusText));
        let health = |device, state| {
            samples.value(
                "gate_device_health",
                &[("device", device), ("state", state)],
            )
        };
        assert_eq!(
            (health("camera", "down"), health("camera", "up")),
            (1.0, 0.0)
        );
        assert_eq!(health("outbox", "up"), 1.0);
        assert_eq!(
            samples.value("gate_condition", &[("condition", "camera_down")]),
            1.0
        );
        assert_eq!(
            samples.get("gate_condition", &[("condition", "fire_alarm")]),
            Some(0.0)
        );
        assert_eq!(samples.value("gate_in_service", &[]), 0.0);
        assert_eq!(samples.value("gate_outbox_pending_events", &[]), 4.0);
        assert_eq!(
            samples.value("gate_outbox_oldest_pending_age_seconds", &[]),
            12.5
        );
        assert_eq!(samples.value("gate_sync_lag_seconds", &[]), 3.0);
        assert_eq!(
            samples.value("gate_sync_last_success_timestamp_seconds", &[]),
            1.8e9
        );
        assert_eq!(samples.value("gate_outbox_used_bytes", &[]), 8192.0);
        assert_eq!(samples.value("gate_documents_turned_away_total", &[]), 2.0);
    }

    #[test]
    fn the_textfile_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gated.prom");
        write_atomically(&path, "a 1\n").unwrap();
        write_atomically(&path, "a 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["gated.prom"], "nothing left beside it");
    }
}

//! The read side (`central::reports::ReportStore`) on real SQLite and a real PostgreSQL: a
//! scenario of heartbeats, outcomes, door alarms and officer actions is ingested through the
//! storage, in batches as gates send them, and every figure of the fleet, activity, incident
//! and outbox-lag reports is compared with the value worked out by hand from the scenario.
#![allow(clippy::unwrap_used)]

#[path = "support/pg.rs"]
mod pg;

use central::reports::{
    ActivityQuery, GateStatus, HOUR_MS, IncidentKind, IncidentQuery, OutcomeCounts, Site,
};
use central::storage::{PostgresStorage, SqliteStorage, Storage};
use outbox::wire::EventEnvelope;
use serde_json::json;
use uuid::Uuid;

/// 2026-11-26T14:00:00Z, an hour boundary.
const T0: i64 = 1_795_701_600_000;
const MIN: i64 = 60_000;

struct Gate {
    id: &'static str,
    next_sequence: u64,
}

impl Gate {
    fn new(id: &'static str) -> Self {
        Self {
            id,
            next_sequence: 1,
        }
    }

    fn event(&mut self, kind: &str, at: i64, payload: serde_json::Value) -> EventEnvelope {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        EventEnvelope {
            id: Uuid::now_v7(),
            gate_id: self.id.into(),
            sequence,
            schema_version: 1,
            kind: kind.into(),
            occurred_at_ms: at,
            payload,
        }
    }
}

fn site(zone: &str) -> serde_json::Value {
    json!({"airport": "HND", "terminal": "T3", "zone": zone})
}

fn heartbeat(profile: &str, zone: &str, in_service: bool, reasons: &[&str]) -> serde_json::Value {
    json!({
        "gate_id": "ignored-by-central",
        "profile": profile,
        "site": site(zone),
        "software_version": "0.1.0",
        "uptime_s": 100,
        "interval_s": 60,
        "state": "idle",
        "in_service": in_service,
        "out_of_service_reasons": reasons,
        "conditions": [],
        "devices": [
            {"name": "camera", "backend": "simulated", "health": "up", "detail": ""},
            {"name": "door", "backend": "simulated", "health": if in_service { "up" } else { "down" }, "detail": "no line"},
        ],
        "counters": {},
        "outbox": {"pending": 3, "used_bytes": 1000, "high_water_bytes": 1_000_000, "oldest_pending_age_ms": 4_000},
        "sync": {"last_success_ms": T0, "last_failure_ms": null, "lag_ms": 2_500},
    })
}

fn outcome(
    outcome: &str,
    decision: Option<&str>,
    reasons: &[&str],
    profile: &str,
) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "transaction_id": "0123456789abcdef0123456789abcdef",
        "profile": profile,
        "outcome": outcome,
        "decision": decision,
        "reasons": reasons,
        "document_hash": null,
        "scores": {},
        "attempts": {},
        "timings": {},
        "started_at_unix_ms": 0,
        "ended_at_unix_ms": 0,
    })
}

/// The scenario; `now` is T0 + 90 min.
///
/// * `FACE-1` (departures, face gate): beats at T0+85, T0+89 min (in service). Hour T0:
///   3 passes, 2 denials (FACE_MISMATCH; FACE_MISMATCH + DOCUMENT_EXPIRED), 1 referral
///   (timed_out, no decision, TRANSACTION_TIMEOUT), 1 officer-cancelled abort (other).
///   Hour T0+1h: 1 pass at T0+80 min. A door alarm (tailgating) at T0+10 and an officer
///   clear_call at T0+11 min. All received 1 s after they occurred, except the pass at
///   T0+80 received at T0+80+30 s.
/// * `FACE-2` (departures): beat at T0+20 min only: silent at T0+90 (70 min > 3 x 60 s).
/// * `CART-1` (arrivals, BioCart): beats at T0+88, out of service (CAMERA_UNAVAILABLE).
/// * `FP-1` (arrivals, fingerprint gate): beats at T0+89, no transaction: idle.
/// * `OLD-1`: one outcome at T0+89 min, no heartbeat ever: unknown.
fn scenario(storage: &dyn Storage) {
    let mut face1 = Gate::new("FACE-1");
    let face = |o, d, r: &[&str]| outcome(o, d, r, "face_gate");
    let hour0 = vec![
        face1.event("transaction.outcome", T0 + MIN, face("passed", Some("pass"), &[])),
        face1.event("transaction.outcome", T0 + 2 * MIN, face("passed", Some("pass"), &[])),
        face1.event("transaction.outcome", T0 + 3 * MIN, face("denied", Some("deny"), &["FACE_MISMATCH"])),
        face1.event(
            "transaction.outcome",
            T0 + 4 * MIN,
            face("denied", Some("deny"), &["FACE_MISMATCH", "DOCUMENT_EXPIRED"]),
        ),
        face1.event("transaction.outcome", T0 + 5 * MIN, face("timed_out", None, &["TRANSACTION_TIMEOUT"])),
        face1.event("transaction.outcome", T0 + 6 * MIN, face("aborted", None, &["OFFICER_CANCELLED"])),
        face1.event("transaction.outcome", T0 + 7 * MIN, face("passed", Some("pass"), &[])),
        face1.event(
            "door.alarm",
            T0 + 10 * MIN,
            json!({"event": "tailgating", "transaction_id": "0123456789abcdef0123456789abcdef"}),
        ),
        face1.event(
            "officer.action",
            T0 + 11 * MIN,
            json!({"action": "clear_call", "by": "officer-7", "via": "control",
                   "transaction_id": "0123456789abcdef0123456789abcdef", "reasons": ["FACE_MISMATCH"]}),
        ),
    ];
    // Received one second after the last of the batch occurred... per event: 1 s after each.
    for event in &hour0 {
        storage
            .ingest(std::slice::from_ref(event), event.occurred_at_ms + 1_000)
            .unwrap();
    }
    let late_pass = face1.event(
        "transaction.outcome",
        T0 + 80 * MIN,
        face("passed", Some("pass"), &[]),
    );
    storage
        .ingest(&[late_pass], T0 + 80 * MIN + 30_000)
        .unwrap();
    let beats = vec![
        face1.event(
            "gate.heartbeat",
            T0 + 85 * MIN,
            heartbeat("face_gate", "departures", true, &[]),
        ),
        face1.event(
            "gate.heartbeat",
            T0 + 89 * MIN,
            heartbeat("face_gate", "departures", true, &[]),
        ),
    ];
    storage.ingest(&beats, T0 + 89 * MIN + 1_000).unwrap();
    // A resend of the same batch changes nothing.
    storage.ingest(&beats, T0 + 89 * MIN + 2_000).unwrap();

    let mut face2 = Gate::new("FACE-2");
    let beat = face2.event(
        "gate.heartbeat",
        T0 + 20 * MIN,
        heartbeat("face_gate", "departures", true, &[]),
    );
    storage.ingest(&[beat], T0 + 20 * MIN + 1_000).unwrap();

    let mut cart = Gate::new("CART-1");
    let beat = cart.event(
        "gate.heartbeat",
        T0 + 88 * MIN,
        heartbeat("bio_cart", "arrivals", false, &["CAMERA_UNAVAILABLE"]),
    );
    storage.ingest(&[beat], T0 + 88 * MIN + 1_000).unwrap();

    let mut fingerprint = Gate::new("FP-1");
    let beat = fingerprint.event(
        "gate.heartbeat",
        T0 + 89 * MIN,
        heartbeat("fingerprint_gate", "arrivals", true, &[]),
    );
    storage.ingest(&[beat], T0 + 89 * MIN + 1_000).unwrap();

    let mut old = Gate::new("OLD-1");
    let event = old.event(
        "transaction.outcome",
        T0 + 89 * MIN,
        face("passed", Some("pass"), &[]),
    );
    storage.ingest(&[event], T0 + 89 * MIN + 1_000).unwrap();
}

fn check(storage: &dyn Storage) {
    scenario(storage);
    let now = T0 + 90 * MIN;

    let fleet = storage.fleet(now).unwrap();
    let status: Vec<(&str, GateStatus)> = fleet
        .gates
        .iter()
        .map(|g| (g.gate_id.as_str(), g.status))
        .collect();
    // Ordered by site (arrivals < departures), gates without a site last.
    assert_eq!(
        status,
        vec![
            ("CART-1", GateStatus::OutOfService),
            ("FP-1", GateStatus::Idle),
            // Beat 1 min ago, last outcome 10 min ago (< 15 min): active.
            ("FACE-1", GateStatus::Active),
            // Last beat 70 min ago > 3 x 60 s.
            ("FACE-2", GateStatus::Silent),
            ("OLD-1", GateStatus::Unknown),
        ]
    );
    let face1 = &fleet.gates[2];
    assert_eq!(
        face1.site,
        Some(Site {
            airport: "HND".into(),
            terminal: "T3".into(),
            zone: "departures".into()
        })
    );
    assert_eq!(face1.profile.as_deref(), Some("face_gate"));
    assert_eq!(face1.last_heartbeat_ms, Some(T0 + 89 * MIN));
    assert_eq!(face1.last_heard_ms, T0 + 89 * MIN + 1_000);
    assert_eq!(face1.last_outcome_ms, Some(T0 + 80 * MIN));
    // 7 outcomes, an alarm and an action in hour 0, one late pass, two beats (the resend not
    // counted).
    assert_eq!(face1.events, 12);
    assert_eq!(face1.outbox_pending, Some(3));
    assert_eq!(face1.outbox_oldest_pending_age_ms, Some(4_000));
    assert_eq!(face1.sync_lag_ms, Some(2_500));
    assert_eq!(face1.software_version.as_deref(), Some("0.1.0"));
    let cart = &fleet.gates[0];
    assert_eq!(cart.in_service, Some(false));
    assert_eq!(cart.out_of_service_reasons, vec!["CAMERA_UNAVAILABLE"]);
    assert_eq!(cart.devices[1].health, "down");
    assert_eq!(fleet.gates[4].site, None);

    let window = ActivityQuery {
        since_ms: T0,
        until_ms: now,
    };
    let activity = storage.activity(&window).unwrap();
    let gate = activity
        .gates
        .iter()
        .find(|g| g.gate_id == "FACE-1")
        .unwrap();
    // Hour T0: passed 3, denied 2, referred 1 (the time-out without decision), other 1 (the
    // officer's cancel). Hour T0+1h: passed 1.
    assert_eq!(gate.hours.len(), 2);
    assert_eq!(gate.hours[0].hour_ms, T0);
    assert_eq!(
        gate.hours[0].counts,
        OutcomeCounts {
            passed: 3,
            denied: 2,
            referred: 1,
            completed: 0,
            other: 1
        }
    );
    assert_eq!(gate.hours[1].hour_ms, T0 + HOUR_MS);
    assert_eq!(gate.hours[1].counts.passed, 1);
    assert_eq!(gate.totals.passed, 4);
    let reasons: Vec<(&str, i64)> = gate
        .deny_reasons
        .iter()
        .map(|r| (r.reason.as_str(), r.count))
        .collect();
    assert_eq!(reasons, vec![("FACE_MISMATCH", 2), ("DOCUMENT_EXPIRED", 1)]);
    let departures = activity
        .sites
        .iter()
        .find(|s| s.site.as_ref().is_some_and(|s| s.zone == "departures"))
        .unwrap();
    assert_eq!(departures.totals.passed, 4);
    assert_eq!(departures.totals.denied, 2);
    // OLD-1's pass is counted under "no site".
    let unsited = activity.sites.last().unwrap();
    assert_eq!((unsited.site.clone(), unsited.totals.passed), (None, 1));

    let incidents = storage
        .incidents(&IncidentQuery {
            since_ms: T0,
            until_ms: now,
            limit: 10,
        })
        .unwrap();
    let list: Vec<(IncidentKind, &str, i64, Option<&str>)> = incidents
        .recent
        .iter()
        .map(|i| {
            (
                i.kind,
                i.code.as_str(),
                i.occurred_at_ms,
                i.detail.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        list,
        vec![
            (
                IncidentKind::OfficerAction,
                "clear_call",
                T0 + 11 * MIN,
                Some("via control FACE_MISMATCH")
            ),
            (IncidentKind::DoorAlarm, "TAILGATING", T0 + 10 * MIN, None),
            (
                IncidentKind::Referral,
                "TRANSACTION_TIMEOUT",
                T0 + 5 * MIN,
                Some("timed_out")
            ),
        ]
    );
    let counts: Vec<(IncidentKind, &str, &str, i64)> = incidents
        .counts
        .iter()
        .map(|c| (c.kind, c.gate_id.as_str(), c.code.as_str(), c.count))
        .collect();
    assert_eq!(
        counts,
        vec![
            (IncidentKind::DoorAlarm, "FACE-1", "TAILGATING", 1),
            (IncidentKind::OfficerAction, "FACE-1", "clear_call", 1),
            (IncidentKind::Referral, "FACE-1", "TRANSACTION_TIMEOUT", 1),
        ]
    );
    // The officer's id is not in the report.
    assert!(
        !serde_json::to_string(&incidents)
            .unwrap()
            .contains("officer-7")
    );

    let lag = storage.outbox_lag(&window).unwrap();
    let face1 = lag.gates.iter().find(|g| g.gate_id == "FACE-1").unwrap();
    // 12 events: 9 at 1 s, the late pass at 30 s, two beats at 1 s and (T0+89m+1s - T0+85m)
    // = 241 s. Sum = 9 x 1,000 + 30,000 + 1,000 + 241,000 = 281,000; mean = 281,000 / 12 =
    // 23,416 (integer division); max = 241,000.
    assert_eq!(face1.events, 12);
    assert_eq!(face1.mean_delivery_lag_ms, Some(23_416));
    assert_eq!(face1.max_delivery_lag_ms, Some(241_000));
    assert_eq!(face1.outbox_pending, Some(3));
}

/// After the report tables are dropped (a database from before the reports), opening the
/// store again fills them from the stored events: the same figures.
fn check_backfill(storage: &dyn Storage) {
    let fleet = storage.fleet(T0 + 90 * MIN).unwrap();
    let status: Vec<GateStatus> = fleet.gates.iter().map(|g| g.status).collect();
    assert_eq!(
        status,
        vec![
            GateStatus::OutOfService,
            GateStatus::Idle,
            GateStatus::Active,
            GateStatus::Silent,
            GateStatus::Unknown
        ]
    );
    assert_eq!(fleet.gates[2].events, 12);
    assert_eq!(fleet.gates[2].last_heartbeat_ms, Some(T0 + 89 * MIN));
    let window = ActivityQuery {
        since_ms: T0,
        until_ms: T0 + 90 * MIN,
    };
    let activity = storage.activity(&window).unwrap();
    let gate = activity
        .gates
        .iter()
        .find(|g| g.gate_id == "FACE-1")
        .unwrap();
    assert_eq!(
        gate.totals,
        OutcomeCounts {
            passed: 4,
            denied: 2,
            referred: 1,
            completed: 0,
            other: 1
        }
    );
    assert_eq!(gate.deny_reasons[0].count, 2);
    let incidents = storage
        .incidents(&IncidentQuery {
            since_ms: T0,
            until_ms: T0 + 90 * MIN,
            limit: 10,
        })
        .unwrap();
    assert_eq!(incidents.recent.len(), 3);
    let lag = storage.outbox_lag(&window).unwrap();
    let face1 = lag.gates.iter().find(|g| g.gate_id == "FACE-1").unwrap();
    assert_eq!(face1.mean_delivery_lag_ms, Some(23_416));
}

const DROP_REPORTS: &str = "DROP TABLE report_gates; DROP TABLE report_gate_hours; \
    DROP TABLE report_deny_reasons; DROP TABLE report_incidents; DROP TABLE report_handovers;";

#[test]
fn reports_on_sqlite_match_the_scenario_and_fill_from_stored_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.db");
    let storage = SqliteStorage::open(path.clone()).unwrap();
    check(&storage);
    drop(storage);
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.execute_batch(DROP_REPORTS).unwrap();
    drop(connection);
    check_backfill(&SqliteStorage::open(path).unwrap());
}

#[test]
fn reports_on_postgres_match_the_scenario_and_fill_from_stored_events() {
    let cluster = pg::PgCluster::start();
    let storage = PostgresStorage::connect(&cluster.url(), 2).unwrap();
    check(&storage);
    drop(storage);
    let mut client = postgres::Client::connect(&cluster.url(), postgres::NoTls).unwrap();
    client.batch_execute(DROP_REPORTS).unwrap();
    drop(client);
    check_backfill(&PostgresStorage::connect(&cluster.url(), 2).unwrap());
}

/// Payloads no gated sends (missing fields, wrong types, nulls) are stored all the same: the
/// report triggers never make an ingest fail, and the reports skip what they cannot read.
fn odd_payloads_never_fail_ingest(storage: &dyn Storage) {
    let mut gate = Gate::new("ODD-1");
    let batch = vec![
        gate.event("transaction.outcome", T0, json!({})),
        gate.event(
            "transaction.outcome",
            T0 + 1,
            json!({"outcome": "denied", "reasons": "FACE_MISMATCH"}),
        ),
        gate.event(
            "transaction.outcome",
            T0 + 2,
            json!({"outcome": "denied", "reasons": [null, 3, "FACE_MISMATCH"]}),
        ),
        gate.event(
            "transaction.outcome",
            T0 + 3,
            json!({"outcome": 7, "decision": null, "reasons": {"a": 1}}),
        ),
        gate.event("door.alarm", T0 + 4, json!({})),
        gate.event(
            "officer.action",
            T0 + 5,
            json!({"action": 3, "reasons": "x"}),
        ),
        gate.event(
            "gate.heartbeat",
            T0 + 6,
            json!({"site": 5, "interval_s": "x", "devices": {}}),
        ),
        gate.event("gate.heartbeat", T0 + 7, json!(null)),
    ];
    assert_eq!(storage.ingest(&batch, T0 + 10).unwrap().stored, 8);
    let fleet = storage.fleet(T0 + 60_000).unwrap();
    let odd = fleet.gates.iter().find(|g| g.gate_id == "ODD-1").unwrap();
    assert_eq!((odd.events, odd.site.clone()), (8, None));
    let activity = storage
        .activity(&ActivityQuery {
            since_ms: T0,
            until_ms: T0 + HOUR_MS,
        })
        .unwrap();
    let odd = activity
        .gates
        .iter()
        .find(|g| g.gate_id == "ODD-1")
        .unwrap();
    assert_eq!(odd.totals.denied, 2);
    let reasons: Vec<&str> = odd.deny_reasons.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons.contains(&"FACE_MISMATCH"), "{reasons:?}");
    let incidents = storage
        .incidents(&IncidentQuery {
            since_ms: T0,
            until_ms: T0 + HOUR_MS,
            limit: 10,
        })
        .unwrap();
    assert_eq!(incidents.recent.len(), 2, "{incidents:?}");
}

#[test]
fn odd_payloads_never_fail_ingest_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    odd_payloads_never_fail_ingest(&SqliteStorage::open(dir.path().join("central.db")).unwrap());
}

#[test]
fn odd_payloads_never_fail_ingest_on_postgres() {
    let cluster = pg::PgCluster::start();
    odd_payloads_never_fail_ingest(&PostgresStorage::connect(&cluster.url(), 1).unwrap());
}

//! The read side at scale (ignored by default; minutes): a million events of 200 gates in a
//! real PostgreSQL, loaded through the storage's own ingest (one multi-row insert per batch,
//! so the report triggers run as in production), then the console's and the public page's
//! queries timed over repeated runs, and the same answers computed straight from `events`
//! (what the summary tables replace) timed for comparison. The ingest cost of the triggers is
//! measured on the first 200,000 events, loaded in batches of 50 (the scale bench's online
//! batches) alternately into two databases of one cluster, one with the report trigger
//! disabled.
//!
//! ```sh
//! cargo test -p central --release --test reports_scale -- --ignored --nocapture
//! ```
//!
//! Then the pages themselves, end to end: a release `central` on the same database, an
//! operator logged in, `GET /console/fleet` (all 200 gates) timed over HTTP. Prints the figures and writes them to `target/central-artefacts/reports-scale.json`.
#![allow(clippy::unwrap_used)]

#[path = "support/accounts.rs"]
mod accounts;
#[path = "support/central.rs"]
mod central_process;
#[path = "support/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use central::reports::{ActivityQuery, IncidentQuery, ReportStore};
use central::storage::{PostgresStorage, Storage};
use outbox::wire::EventEnvelope;
use serde_json::json;
use uuid::Uuid;

/// 2026-11-26T14:00:00Z: the end of the generated day.
const END: i64 = 1_795_701_600_000;
const GATES: usize = 200;
const EVENTS: usize = 1_000_000;
/// Events per gate per batch (a gate's sync batch after a while offline; the scale bench's
/// online batches are 50).
const BATCH: usize = 500;
const COMPARED_EVENTS: usize = 200_000;
/// Batch size while the trigger's cost is measured: the online batches of the scale bench
/// (the trigger runs once per statement, so small batches are its worst case).
const COMPARED_BATCH: usize = 50;
const RUNS: usize = 30;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct SimGate {
    id: String,
    profile: &'static str,
    site: serde_json::Value,
    sequence: u64,
    clock_ms: i64,
    next_beat_ms: i64,
}

fn gates() -> Vec<SimGate> {
    // 1,000,000 events over 200 gates = 5,000 per gate; at about two events a minute (a beat,
    // a transaction, now and then the officer's action) that is about 40 hours.
    let start = END - 40 * 3_600_000;
    (0..GATES)
        .map(|n| {
            let (profile, zone) = match n % 10 {
                0 | 1 => ("bio_cart", "arrivals"),
                2 => ("fingerprint_gate", "arrivals"),
                _ => ("face_gate", "departures"),
            };
            let airport = if n % 20 < 10 { "HND" } else { "NRT" };
            let terminal = format!("T{}", 1 + (n / 20) % 3);
            SimGate {
                id: format!("{airport}-{terminal}-{n:03}"),
                profile,
                site: json!({"airport": airport, "terminal": terminal, "zone": zone}),
                sequence: 0,
                clock_ms: start + (n as i64) * 997,
                next_beat_ms: start,
            }
        })
        .collect()
}

fn outcome_payload(gate: &SimGate, rng: &mut Rng, at: i64) -> (serde_json::Value, bool) {
    let roll = rng.below(1000);
    let (outcome, decision, reasons): (&str, Option<&str>, Vec<&str>) =
        if gate.profile == "bio_cart" {
            if roll < 930 {
                ("completed", Some("pass"), vec![])
            } else {
                ("abandoned", None, vec!["FINGER_NOT_PRESENTED"])
            }
        } else if roll < 850 {
            ("passed", Some("pass"), vec![])
        } else if roll < 930 {
            let reason = [
                "FACE_MISMATCH",
                "DOCUMENT_EXPIRED",
                "CHIP_READ_FAILED",
                "DENYLIST_HIT",
            ][rng.below(4) as usize];
            ("denied", Some("deny"), vec![reason])
        } else if roll < 950 {
            ("timed_out", None, vec!["TRANSACTION_TIMEOUT"])
        } else {
            ("abandoned", None, vec!["TRAVELLER_CANCELLED"])
        };
    let payload = json!({
        "schema_version": 1,
        "transaction_id": format!("{:032x}", rng.next()),
        "profile": gate.profile,
        "outcome": outcome,
        "decision": decision,
        "reasons": reasons,
        "document_hash": format!("{:064x}", u128::from(rng.next()) << 64 | u128::from(rng.next())),
        "scores": {"face_match": 0.71, "face_attack": 0.02, "face_quality": 83},
        "attempts": {"chip_reads": 1, "face_bursts": 1, "fingerprint_captures": 0},
        "timings": {"read_document_ms": 2300, "match_face_ms": 1800, "passage_ms": 3100, "total_ms": 7400},
        "started_at_unix_ms": at - 7_400,
        "ended_at_unix_ms": at,
    });
    (payload, outcome == "denied")
}

fn heartbeat_payload(gate: &SimGate, at: i64, pending: u64) -> serde_json::Value {
    json!({
        "gate_id": gate.id,
        "profile": gate.profile,
        "site": gate.site,
        "software_version": "0.1.0",
        "uptime_s": 86_400,
        "interval_s": 60,
        "state": "idle",
        "in_service": true,
        "out_of_service_reasons": [],
        "conditions": [],
        "devices": [
            {"name": "camera", "backend": "v4l2", "health": "up", "detail": "/dev/video0"},
            {"name": "chip_reader", "backend": "pcsc", "health": "up", "detail": "ACS ACR1252"},
            {"name": "door", "backend": "gpio-cdev", "health": "up", "detail": "/dev/gpiochip0"},
            {"name": "outbox", "backend": "sqlite", "health": "up", "detail": ""},
        ],
        "counters": {"started": 100, "passed": 85, "denied": 8},
        "outbox": {"pending": pending, "used_bytes": 120_000, "high_water_bytes": 1_000_000_000,
                   "oldest_pending_age_ms": if pending > 0 { 2_000 } else { 0 }},
        "sync": {"last_success_ms": at - 1_000, "last_failure_ms": null, "lag_ms": 1_000},
    })
}

/// Appends the gate's next event to `events`.
fn push(
    events: &mut Vec<EventEnvelope>,
    gate: &mut SimGate,
    kind: &str,
    at: i64,
    payload: serde_json::Value,
) {
    gate.sequence += 1;
    events.push(EventEnvelope {
        id: Uuid::now_v7(),
        gate_id: gate.id.clone(),
        sequence: gate.sequence,
        schema_version: 1,
        kind: kind.into(),
        occurred_at_ms: at,
        payload,
    });
}

/// The next `BATCH` events of `gate` (a realistic mix: a beat a minute, a transaction every
/// 15 to 45 s otherwise, the officer clearing each denial, a rare door alarm).
fn next_batch(gate: &mut SimGate, rng: &mut Rng) -> Vec<EventEnvelope> {
    let mut events = Vec::with_capacity(BATCH);
    while events.len() < BATCH {
        gate.clock_ms += 15_000 + rng.below(30_000) as i64;
        let at = gate.clock_ms;
        if at >= gate.next_beat_ms {
            let beat = heartbeat_payload(gate, at, rng.below(5));
            push(&mut events, gate, "gate.heartbeat", at, beat);
            gate.next_beat_ms = at + 60_000;
            continue;
        }
        let (payload, denied) = outcome_payload(gate, rng, at);
        push(&mut events, gate, "transaction.outcome", at, payload);
        if denied && events.len() < BATCH {
            push(
                &mut events,
                gate,
                "officer.action",
                at + 20_000,
                json!({"action": "clear_call", "by": "officer-1", "via": "control", "reasons": ["FACE_MISMATCH"]}),
            );
        }
        if rng.below(500) == 0 && events.len() < BATCH {
            push(
                &mut events,
                gate,
                "door.alarm",
                at + 5_000,
                json!({"event": "tailgating", "transaction_id": format!("{:032x}", rng.next())}),
            );
        }
    }
    events.truncate(BATCH);
    events
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1_000.0
}

/// p50 and p95 (ms, nearest rank) of `RUNS` runs of `work` after one warm-up run.
fn timed<T>(name: &str, runs: usize, mut work: impl FnMut() -> T) -> serde_json::Value {
    work();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(work());
            started.elapsed()
        })
        .collect();
    times.sort();
    let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
    eprintln!("{name:<48} p50 {p50:8.1} ms   p95 {p95:8.1} ms   ({runs} runs)");
    json!({"query": name, "p50_ms": p50, "p95_ms": p95, "runs": runs})
}

fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("central-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "minutes: loads a million events into PostgreSQL (see the module docs for the command)"]
fn a_million_events_fleet_and_activity_queries() {
    let cluster = pg::PgCluster::start();
    let url = cluster.url();
    let storage = PostgresStorage::connect(&url, 2).unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute("CREATE DATABASE without_reports")
        .unwrap();
    let plain_url = format!("{}/without_reports", url.strip_suffix("/postgres").unwrap());
    let plain = PostgresStorage::connect(&plain_url, 1).unwrap();
    let mut plain_admin = postgres::Client::connect(&plain_url, postgres::NoTls).unwrap();
    plain_admin
        .batch_execute("ALTER TABLE events DISABLE TRIGGER report_after_events")
        .unwrap();

    let mut gates = gates();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut loaded = 0usize;
    let (mut with_reports, mut without_reports) = (Duration::ZERO, Duration::ZERO);
    let load_started = Instant::now();
    while loaded < EVENTS {
        for gate in &mut gates {
            let batch = next_batch(gate, &mut rng);
            let received = batch.last().unwrap().occurred_at_ms + 1_500;
            if loaded < COMPARED_EVENTS {
                // Same batch into both databases, alternating which goes first.
                for (n, chunk) in batch.chunks(COMPARED_BATCH).enumerate() {
                    let first_plain = n % 2 == 0;
                    for plain_turn in [first_plain, !first_plain] {
                        let started = Instant::now();
                        if plain_turn {
                            plain.ingest(chunk, received).unwrap();
                            without_reports += started.elapsed();
                        } else {
                            storage.ingest(chunk, received).unwrap();
                            with_reports += started.elapsed();
                        }
                    }
                }
            } else {
                storage.ingest(&batch, received).unwrap();
            }
            loaded += batch.len();
        }
    }
    let load_s = load_started.elapsed().as_secs_f64();
    drop(plain);
    drop(plain_admin);
    let rate = |d: Duration| COMPARED_EVENTS as f64 / d.as_secs_f64();
    eprintln!(
        "loaded {loaded} events of {GATES} gates in {load_s:.1} s; first {COMPARED_EVENTS} \
         events, batches of {COMPARED_BATCH}: {:.0} events/s with the report trigger, {:.0} without \
         (trigger cost {:.1} %)",
        rate(with_reports),
        rate(without_reports),
        100.0 * (with_reports.as_secs_f64() / without_reports.as_secs_f64() - 1.0)
    );
    admin.batch_execute("VACUUM ANALYZE").unwrap();
    let stored: i64 = admin
        .query_one("SELECT count(*) FROM events", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored as usize, EVENTS);
    let kinds: Vec<(String, i64)> = admin
        .query(
            "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    eprintln!("mix: {kinds:?}");

    let now = gates.iter().map(|g| g.clock_ms).max().unwrap() + 30_000;
    let fleet = storage.fleet(now).unwrap();
    assert_eq!(fleet.gates.len(), GATES);
    let day = ActivityQuery::last_hours(now, 24);
    let activity = storage.activity(&day).unwrap();
    let passed: i64 = activity.gates.iter().map(|g| g.totals.passed).sum();
    // The summaries agree with the events they summarise.
    let passed_in_events: i64 = admin
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'transaction.outcome' \
             AND payload->>'outcome' = 'passed' AND occurred_at_ms >= $1 AND occurred_at_ms < $2",
            &[&central::reports::hour_of(day.since_ms), &day.until_ms],
        )
        .unwrap()
        .get(0);
    assert_eq!(passed, passed_in_events);

    let mut figures = vec![
        timed("fleet (report_gates)", RUNS, || storage.fleet(now).unwrap()),
        timed("activity, last 24 h (report_gate_hours)", RUNS, || {
            storage.activity(&day).unwrap()
        }),
        timed("incidents, newest 50", RUNS, || {
            storage
                .incidents(&IncidentQuery {
                    since_ms: now - 86_400_000,
                    until_ms: now,
                    limit: 50,
                })
                .unwrap()
        }),
        timed("outbox lag, last 24 h", RUNS, || {
            storage.outbox_lag(&day).unwrap()
        }),
        timed("waiting times (public page)", RUNS, || {
            storage.waiting_times(now).unwrap()
        }),
    ];
    // What the summary tables replace: the same answers straight from the events table.
    figures.push(timed("fleet straight from events (for comparison)", 5, || {
        admin
            .query(
                "SELECT g.gate_id, g.last_received, g.last_occurred, b.payload FROM \
                 (SELECT gate_id, max(received_at_ms) AS last_received, \
                         max(occurred_at_ms) AS last_occurred FROM events GROUP BY gate_id) AS g \
                 LEFT JOIN LATERAL (SELECT payload FROM events AS e WHERE e.gate_id = g.gate_id \
                    AND e.kind = 'gate.heartbeat' ORDER BY e.occurred_at DESC LIMIT 1) AS b ON true",
                &[],
            )
            .unwrap()
    }));
    figures.push(timed(
        "activity, last 24 h, straight from events (comparison)",
        5,
        || {
            admin
                .query(
                    "SELECT gate_id, occurred_at_ms / 3600000, \
                 count(*) FILTER (WHERE payload->>'outcome' = 'passed'), \
                 count(*) FILTER (WHERE payload->>'outcome' = 'denied') \
                 FROM events WHERE kind = 'transaction.outcome' \
                 AND occurred_at >= to_timestamp($1::bigint / 1000.0) GROUP BY 1, 2",
                    &[&day.since_ms],
                )
                .unwrap()
        },
    ));
    // The pages end to end, as an operator's browser gets them: a central on this database.
    let pages = page_timings(&url);
    figures.extend(pages);
    let report = json!({
        "events": EVENTS,
        "gates": GATES,
        "batch": BATCH,
        "load_seconds": load_s,
        "mix": kinds,
        "ingest_compared_events": COMPARED_EVENTS,
        "ingest_compared_batch": COMPARED_BATCH,
        "ingest_events_per_s_with_report_trigger": rate(with_reports),
        "ingest_events_per_s_without_report_trigger": rate(without_reports),
        "queries": figures,
    });
    let path = artefacts().join("reports-scale.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    eprintln!("written to {}", path.display());
    let fleet_p95 = report["queries"][0]["p95_ms"].as_f64().unwrap();
    assert!(fleet_p95 < 200.0, "fleet p95 {fleet_p95} ms");
    let page = |name: &str| {
        report["queries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["query"] == name)
            .unwrap()["p95_ms"]
            .as_f64()
            .unwrap()
    };
    let fleet_page_p95 = page(FLEET_PAGE);
    assert!(fleet_page_p95 < 200.0, "fleet page p95 {fleet_page_p95} ms");
}

const FLEET_PAGE: &str = "GET /console/fleet over HTTP (200 gates)";

/// Starts the built `central` on `database`, makes an operator, logs in and times the console's
/// fleet page over HTTP.
fn page_timings(database: &str) -> Vec<serde_json::Value> {
    const PASSWORD: &str = "a long enough scale password";
    accounts::add_account(
        Path::new(env!("CARGO_BIN_EXE_central")),
        database,
        "vera",
        "viewer",
        PASSWORD,
    );
    let central = central_process::Central::start(database);
    let base = central.base_url();
    let cookie = accounts::cookie_pair(&accounts::log_in(&base, "vera", PASSWORD));
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let get = |path: &str| {
        let page = agent
            .get(&format!("{base}{path}"))
            .set("Cookie", &cookie)
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        assert!(page.len() > 1_000, "{path}: {page}");
        page
    };
    let fleet = get("/console/fleet");
    assert!(
        fleet.matches("<tr").count() > GATES,
        "every gate has a row: {fleet}"
    );
    // The fleet page is the one page whose content does not depend on the time of day: the
    // activity and waiting pages look at the last hours before now, which hold none of the
    // generated day (it ends at END), so timing them here would time empty pages.
    vec![timed(FLEET_PAGE, RUNS, || get("/console/fleet"))]
}

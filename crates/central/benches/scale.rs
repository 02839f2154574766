//! Central at scale: many gates syncing at once to central on PostgreSQL, against the ceiling of
//! the same rows loaded by a bare `COPY` into the same table.
//!
//! ```sh
//! cargo bench -p central --bench scale -- [--gates 200] \
//!     [--batch 50] [--seconds 30] [--replicas 1]
//! ```
//!
//! It starts a throwaway PostgreSQL cluster (Debian's `postgresql`, as in the tests) and
//! `--replicas` processes of `central` (the release build cargo makes for benches) behind that
//! one database. Each simulated gate is a
//! thread that does what gated's sync does: POST a batch of `transaction.outcome` events (the
//! shape a face gate sends, about 700 bytes of payload each) to `/v1/events`, wait for the
//! acknowledgement, send the next, for `--seconds`. Then the stored rows are copied out and
//! loaded again with `COPY events FROM STDIN` after a `TRUNCATE`, with user triggers switched
//! off (the report summaries' trigger is work central does at ingest): the ceiling. It prints and
//! writes to `target/scale-bench.json`: events per second acknowledged, acknowledgement latency
//! (p50, p99, max), the COPY ceiling in rows per second and the ratio between the two.

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/central.rs"]
mod central;
#[path = "../tests/support/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What to run.
struct Options {
    gates: usize,
    batch: usize,
    seconds: u64,
    replicas: usize,
}

impl Options {
    fn from_args() -> Result<Self, String> {
        let mut options = Options {
            gates: 200,
            batch: 50,
            seconds: 30,
            replicas: 1,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> Result<u64, String> {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("{name} needs a number"))
            };
            match arg.as_str() {
                "--gates" => options.gates = value("--gates")? as usize,
                "--batch" => options.batch = value("--batch")? as usize,
                "--seconds" => options.seconds = value("--seconds")?,
                "--replicas" => options.replicas = value("--replicas")? as usize,
                "--bench" => {}
                other => return Err(format!("unknown argument {other}")),
            }
        }
        if options.gates == 0 || options.batch == 0 || options.replicas == 0 {
            return Err("--gates, --batch and --replicas must be at least 1".into());
        }
        Ok(options)
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// A UUID (version 7 layout) unique to this gate and sequence.
fn event_id(gate: usize, sequence: u64, start_ms: u64) -> String {
    let ms = start_ms + sequence;
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        (ms >> 16) as u32,
        (ms & 0xffff) as u16,
        gate & 0xfff,
        (sequence >> 48) & 0xfff,
        sequence & 0xffff_ffff_ffff
    )
}

/// A face gate's outcome record, as gated sends it (no personal data: a keyed hash), already
/// encoded: the load generator shares the machine with central and PostgreSQL, so it writes
/// its JSON with `format!` rather than building `serde_json::Value`s (a tenth of the CPU).
fn outcome_payload(gate: usize, sequence: u64, now_ms: u64) -> String {
    let passed = !sequence.is_multiple_of(10);
    let (outcome, decision, reasons) = if passed {
        ("passed", "pass", "")
    } else {
        ("denied", "deny", "\"FACE_MISMATCH\"")
    };
    format!(
        r#"{{"schema_version":1,"transaction_id":"{gate:016x}{sequence:016x}","profile":"face_gate","outcome":"{outcome}","decision":"{decision}","reasons":[{reasons}],"document_hash":"{hash:064x}","issuing_state":"UTO","scores":{{"face_similarity":0.71,"attack":0.003,"face_quality":82}},"attempts":{{"chip_reads":1,"face_captures":1,"finger_placements":0}},"timings":{{"document_ms":231,"chip_read_ms":19,"authenticity_ms":5,"biometric_ms":668,"face_bursts_ms":[668],"decision_ms":899,"passage_ms":1516,"total_ms":2415}},"started_at_unix_ms":{started},"ended_at_unix_ms":{now_ms}}}"#,
        hash = (gate as u64) << 32 | sequence,
        started = now_ms - 2415,
    )
}

/// One `POST /v1/events` body: `batch` outcome records of `gate_id` from `sequence + 1`.
fn batch_body(
    gate: usize,
    gate_id: &str,
    sequence: &mut u64,
    batch: usize,
    start_ms: u64,
    now_ms: u64,
) -> String {
    let mut body = String::with_capacity(batch * 900);
    body.push_str(&format!(r#"{{"gate_id":"{gate_id}","events":["#));
    for index in 0..batch {
        *sequence += 1;
        if index > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"id":"{id}","gate_id":"{gate_id}","sequence":{sequence},"schema_version":1,"kind":"transaction.outcome","occurred_at_ms":{now_ms},"payload":{payload}}}"#,
            id = event_id(gate, *sequence, start_ms),
            payload = outcome_payload(gate, *sequence, now_ms),
        ));
    }
    body.push_str("]}");
    body
}

/// What one gate achieved.
#[derive(Default)]
struct GateResult {
    stored: u64,
    latencies_us: Vec<u64>,
    errors: u64,
}

fn run_gate(
    gate: usize,
    url: String,
    batch: usize,
    stop: Arc<AtomicBool>,
    start_ms: u64,
) -> GateResult {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let gate_id = format!("SCALE-{gate:03}");
    let mut sequence = 0u64;
    let mut result = GateResult::default();
    while !stop.load(Ordering::Relaxed) {
        let now_ms = start_ms + u64::try_from(result.latencies_us.len()).unwrap_or(0);
        let body = batch_body(gate, &gate_id, &mut sequence, batch, start_ms, now_ms);
        let sent = Instant::now();
        match agent
            .post(&format!("{url}/v1/events"))
            .set("Content-Type", "application/json")
            .send_string(&body)
        {
            Ok(response) => {
                let latency = sent.elapsed();
                let ack: serde_json::Value = response.into_json().unwrap_or_default();
                result.stored += ack["stored"].as_u64().unwrap_or(0);
                result
                    .latencies_us
                    .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
            }
            Err(error) => {
                result.errors += 1;
                eprintln!("{gate_id}: {error}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    result
}

fn psql(database: &str, sql: &str) -> Command {
    let mut command = Command::new("psql");
    command.args([database, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]);
    command
}

/// Copies the stored rows out, truncates, and loads them again with COPY: rows per second.
fn copy_ceiling(database: &str, work: &Path) -> (u64, f64) {
    let columns = "id, gate_id, sequence, schema_version, kind, occurred_at, occurred_at_ms, \
                   received_at_ms, payload";
    let file = work.join("events.copy");
    let out = psql(
        database,
        &format!(
            "\\copy (SELECT {columns} FROM events) TO '{}'",
            file.display()
        ),
    )
    .output()
    .unwrap_or_else(|e| panic!("psql: {e}"));
    assert!(
        out.status.success(),
        "copy out: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = std::fs::read_to_string(&file)
        .map(|text| text.lines().count() as u64)
        .unwrap_or(0);
    let out = psql(database, "TRUNCATE events").output().unwrap();
    assert!(
        out.status.success(),
        "truncate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A bare COPY: the table's constraints and indexes, but not the report summaries' trigger
    // (`session_replication_role = replica` switches user triggers off for this session), so
    // the ceiling is what the events table alone can take and the ratio charges central for
    // everything it does at ingest.
    let started = Instant::now();
    let out = Command::new("psql")
        .args([
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            "SET session_replication_role = replica",
            "-c",
            &format!("\\copy events ({columns}) FROM '{}'", file.display()),
        ])
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "copy in: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (rows, rows as f64 / elapsed)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index] as f64 / 1_000.0
}

fn main() {
    let options = Options::from_args().unwrap_or_else(|e| {
        eprintln!("scale: {e}");
        std::process::exit(2)
    });
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let cluster = pg::PgCluster::start();
    let database = cluster.url();
    // The bench profile's (release) build of central, as cargo builds it for benches.
    let replicas: Vec<central::Central> = (0..options.replicas)
        .map(|_| central::Central::start(&database))
        .collect();
    eprintln!(
        "scale: {} gates, batches of {}, {} s, {} replica(s) of central on PostgreSQL",
        options.gates, options.batch, options.seconds, options.replicas
    );
    let stop = Arc::new(AtomicBool::new(false));
    let start_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let started = Instant::now();
    let threads: Vec<_> = (0..options.gates)
        .map(|gate| {
            let url = replicas[gate % replicas.len()].base_url();
            let stop = Arc::clone(&stop);
            let batch = options.batch;
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || run_gate(gate, url, batch, stop, start_ms))
                .unwrap_or_else(|e| panic!("thread: {e}"))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(options.seconds));
    stop.store(true, Ordering::Relaxed);
    let results: Vec<GateResult> = threads
        .into_iter()
        .map(|t| t.join().unwrap_or_default())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    drop(replicas);
    let stored: u64 = results.iter().map(|r| r.stored).sum();
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    let mut latencies: Vec<u64> = results
        .iter()
        .flat_map(|r| r.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let ingest_rate = stored as f64 / elapsed;
    let (rows, copy_rate) = copy_ceiling(&database, work.path());
    let report = serde_json::json!({
        "gates": options.gates,
        "batch": options.batch,
        "seconds": elapsed,
        "replicas": options.replicas,
        "events_stored": stored,
        "errors": errors,
        "events_per_s": ingest_rate,
        "ack_latency_ms": {
            "p50": percentile(&latencies, 0.50),
            "p99": percentile(&latencies, 0.99),
            "max": percentile(&latencies, 1.0),
            "requests": latencies.len(),
        },
        "copy_rows": rows,
        "copy_rows_per_s": copy_rate,
        "ratio_to_copy": ingest_rate / copy_rate,
    });
    println!(
        "scale: {stored} events from {} gates in {elapsed:.1} s = {ingest_rate:.0} events/s; \
         ack p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests, {errors} errors)",
        options.gates,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        latencies.len()
    );
    println!(
        "scale: COPY ceiling {rows} rows at {copy_rate:.0} rows/s; ingest / COPY = {:.2}",
        ingest_rate / copy_rate
    );
    let out = target_dir().join("scale-bench.json");
    if let Err(e) = std::fs::write(&out, format!("{report:#}\n")) {
        eprintln!("scale: cannot write {}: {e}", out.display());
    }
    drop(cluster);
}

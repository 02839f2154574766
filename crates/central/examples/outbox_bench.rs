//! Benchmark (not a test): durable outbox append rate and latency, sync throughput to an
//! in-process central on loopback for SQLite and PostgreSQL, and time to drain a backlog.
//!
//! `cargo run --release -p central --example outbox_bench -- [--appends N] [--backlog N]
//!  [--batch N] [--dir DIR] [--skip-postgres]`
//!
//! PostgreSQL mode starts a throwaway cluster like the tests do (needs the `postgresql`
//! package; run as root it uses `runuser -u postgres`).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

#[path = "../tests/support/pg.rs"]
mod pg;

use std::sync::Arc;
use std::time::{Duration, Instant};

use outbox::sync::{SyncClient, SyncConfig};
use outbox::{NewEvent, Outbox, OutboxConfig, OutboxLimits};
use serde_json::json;

struct Options {
    appends: usize,
    backlog: usize,
    batch: usize,
    dir: Option<std::path::PathBuf>,
    postgres: bool,
}

fn options() -> Options {
    let mut options = Options {
        appends: 2_000,
        backlog: 100_000,
        batch: 500,
        dir: None,
        postgres: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match arg.as_str() {
            "--appends" => options.appends = number(),
            "--backlog" => options.backlog = number(),
            "--batch" => options.batch = number(),
            "--dir" => options.dir = Some(args.next().expect("a directory").into()),
            "--skip-postgres" => options.postgres = false,
            other => panic!("unknown argument {other:?}"),
        }
    }
    options
}

fn payload(n: usize) -> serde_json::Value {
    json!({
        "transaction_id": format!("{n:032x}"),
        "decision": "pass",
        "reason_codes": ["OK"],
        "scores": {"face_match": 0.83, "liveness": 0.97, "quality": 0.71},
        "timings_ms": {"document": 1830, "chip": 2410, "face": 930, "total": 6120},
        "doc_hash": format!("{:064x}", n as u128 * 7919),
        "profile": "face_gate",
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn bench_append(dir: &std::path::Path, appends: usize) {
    let mut outbox = Outbox::open(
        dir.join("append.db"),
        OutboxConfig::new("bench-gate", OutboxLimits::default()),
    )
    .unwrap();
    let bodies: Vec<_> = (0..appends).map(payload).collect();
    let mut latencies = Vec::with_capacity(appends);
    let start = Instant::now();
    for body in &bodies {
        let begin = Instant::now();
        outbox
            .append(&NewEvent {
                kind: "transaction.outcome",
                occurred_at_ms: 1_795_701_600_000,
                payload: body,
            })
            .unwrap();
        latencies.push(begin.elapsed());
    }
    let total = start.elapsed();
    latencies.sort();
    println!(
        "durable append (one event per transaction, WAL + synchronous=FULL): {appends} events in {:.2} s = {:.0} events/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total.as_secs_f64(),
        appends as f64 / total.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
}

/// Runs central in-process on a loopback port; returns its URL and a stopper.
fn start_central(
    database: String,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let storage: Arc<dyn central::storage::Storage> = Arc::from(
                tokio::task::spawn_blocking(move || central::storage::open_storage(&database, 8))
                    .await
                    .unwrap()
                    .unwrap(),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            central::http::serve(listener, storage, None, async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        });
    });
    let address = addr_rx.recv().unwrap();
    (format!("http://{address}"), stop_tx, thread)
}

fn bench_drain(label: &str, dir: &std::path::Path, database: String, backlog: usize, batch: usize) {
    let (url, stop, thread) = start_central(database);
    let path = dir.join(format!("backlog-{label}.db"));
    let mut outbox = Outbox::open(
        &path,
        OutboxConfig::new(format!("bench-{label}"), OutboxLimits::default()),
    )
    .unwrap();
    let bodies: Vec<_> = (0..1_000).map(payload).collect();
    let fill = Instant::now();
    let mut remaining = backlog;
    while remaining > 0 {
        let chunk = remaining.min(1_000);
        let events: Vec<_> = bodies[..chunk]
            .iter()
            .map(|body| NewEvent {
                kind: "transaction.outcome",
                occurred_at_ms: 1_795_701_600_000,
                payload: body,
            })
            .collect();
        outbox.append_batch(&events).unwrap();
        remaining -= chunk;
    }
    let fill = fill.elapsed();
    let client = SyncClient::new(&SyncConfig::new(url)).unwrap();
    let start = Instant::now();
    let delivered = client.drain(&mut outbox, batch).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(delivered as usize, backlog);
    assert_eq!(outbox.status().unwrap().pending, 0);
    println!(
        "{label}: backlog of {backlog} events (filled in {:.1} s) drained to central on loopback in {:.2} s = {:.0} events/s (batches of {batch})",
        fill.as_secs_f64(),
        elapsed.as_secs_f64(),
        backlog as f64 / elapsed.as_secs_f64()
    );
    drop(outbox);
    let reopen = Instant::now();
    let outbox = Outbox::open(
        &path,
        OutboxConfig::new(format!("bench-{label}"), OutboxLimits::default()),
    )
    .unwrap();
    println!(
        "{label}: Outbox::open with PRAGMA integrity_check on the {backlog}-event database ({} bytes): {:.0} ms",
        outbox.status().unwrap().used_bytes,
        reopen.elapsed().as_secs_f64() * 1e3
    );
    let _ = stop.send(());
    thread.join().unwrap();
}

fn main() {
    let options = options();
    let temp =
        tempfile::tempdir_in(options.dir.clone().unwrap_or_else(std::env::temp_dir)).unwrap();
    let dir = temp.path();
    println!("bench directory: {}", dir.display());
    bench_append(dir, options.appends);
    bench_drain(
        "sqlite",
        dir,
        format!("sqlite:{}", dir.join("central.db").display()),
        options.backlog,
        options.batch,
    );
    if options.postgres {
        let cluster = pg::PgCluster::start();
        bench_drain(
            "postgres",
            dir,
            cluster.url(),
            options.backlog,
            options.batch,
        );
    }
}

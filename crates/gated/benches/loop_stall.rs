//! Benchmark: the main loop's longest stalls under load.
//!
//! Runs gated in this process on the system clock for each profile (face gate, fingerprint
//! gate, BioCart, all devices simulated with 5 ms delays), sends travellers back to back while
//! a second client asks for the status every 5 ms and a throughput period ends every second,
//! then reads the loop's own histogram of how long each wake-up kept it busy (the stall a
//! traveller, the door or `gatectl` waits behind) and the status round trips seen by the
//! client. A benchmark, not a test: it prints figures and asserts nothing about time.
//!
//! ```sh
//! cargo bench -p gated --bench loop_stall            # 1000 travellers per profile
//! cargo bench -p gated --bench loop_stall -- 200      # fewer
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use gate_config::GateConfig;
use gate_core::GateProfile;
use gate_protocol::{Request, Response};
use gated::clock::Clock;
use gated::daemon::stats::LoopStats;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::InProcess;

const DELAY_MS: u64 = 5;

fn config(profile: GateProfile) -> GateConfig {
    let mut config = support::sim_profile_config(profile, DELAY_MS);
    config.reporting.throughput_period_s = 1;
    config.policy.timeouts.deny_hold_ms = 0;
    config
}

struct Figures {
    profile: GateProfile,
    travellers: usize,
    wall: Duration,
    busy: LoopStats,
    status_round_trips: LoopStats,
}

fn run(profile: GateProfile, travellers: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let gate = InProcess::start_in(dir.path(), &config(profile), Clock::system());
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let done = Arc::clone(&done);
        let socket = gate.socket.clone();
        std::thread::spawn(move || {
            let client = support::Client {
                socket,
                state_dir: std::path::PathBuf::new(),
                log: None,
            };
            let mut round_trips = LoopStats::default();
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                client.status();
                round_trips.record(started.elapsed());
                std::thread::sleep(Duration::from_millis(5));
            }
            round_trips
        })
    };
    let started = Instant::now();
    let mut admitted = 0;
    while admitted < travellers {
        match gate.ok(Request::Simulate {
            traveller: support::traveller_mix(admitted),
        }) {
            Response::SimulationStarted {
                transaction_id: Some(_),
            } => admitted += 1,
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    gate.wait_for("the last traveller", |s| {
        s.transaction_id.is_none() && s.counters.started as usize == travellers
    });
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let status_round_trips = poller.join().unwrap();
    let busy = gate.probe().busy;
    gate.stop();
    Figures {
        profile,
        travellers,
        wall,
        busy,
        status_round_trips,
    }
}

fn main() {
    let travellers: usize = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1_000);
    println!(
        "main loop busy time per wake-up, {travellers} travellers per profile, simulated devices ({DELAY_MS} ms), status every 5 ms"
    );
    println!(
        "{:<17} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}   status round trip p50 / p99 / max",
        "profile", "wake-ups", "tx/s", "p50", "p99", "p99.9", "max"
    );
    let mut all = LoopStats::default();
    for profile in [
        GateProfile::FaceGate,
        GateProfile::FingerprintGate,
        GateProfile::BioCart,
    ] {
        let f = run(profile, travellers);
        all.merge(&f.busy);
        println!(
            "{:<17} {:>9} {:>9.1} {:>10.3?} {:>10.3?} {:>10.3?} {:>10.3?}   {:.3?} / {:.3?} / {:.3?}",
            f.profile.as_str(),
            f.busy.count(),
            f.travellers as f64 / f.wall.as_secs_f64(),
            f.busy.percentile(50.0),
            f.busy.percentile(99.0),
            f.busy.percentile(99.9),
            f.busy.max(),
            f.status_round_trips.percentile(50.0),
            f.status_round_trips.percentile(99.0),
            f.status_round_trips.max(),
        );
    }
    println!(
        "{:<17} {:>9} {:>9} {:>10.3?} {:>10.3?} {:>10.3?} {:>10.3?}",
        "all",
        all.count(),
        "",
        all.percentile(50.0),
        all.percentile(99.0),
        all.percentile(99.9),
        all.max()
    );
    println!("target: p99 of the loop's busy time under 5 ms");
}

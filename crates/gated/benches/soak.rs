//! Soak benchmark: 20,000 simulated transactions through three gated processes (face gate,
//! fingerprint gate, BioCart) syncing to one real central server, with each gated's resident
//! memory, open files and threads sampled from /proc throughout. At the end every gate's
//! outbox must be drained to central, and central must hold every event each gate committed,
//! once, in order. A benchmark, not a test: it prints figures; it exits 1 only when something
//! was lost or doubled.
//!
//! ```sh
//! cargo build --release -p central && cargo bench -p gated --bench soak           # 20,000
//! cargo build --release -p central && cargo bench -p gated --bench soak -- 3000    # fewer
//! ```
//!
//! Growth is measured after warm-up: the median of the samples taken while the travellers
//! 10-20 % went through is the baseline, the median of the samples of the last 10 % is compared
//! with it (medians, so that a control connection open at the moment of a sample is not taken
//! for a leak; a leak moves the median). Target: under 5 % for each quantity and gate.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use gate_config::GateConfig;
use gate_core::GateProfile;
use gate_protocol::{Request, Response};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Gated, central_section, curl, start_central};

const DELAY_MS: u64 = 2;

fn config(profile: GateProfile, id: &str, central: &str, key_file: &Path) -> GateConfig {
    let mut config = support::sim_profile_config(profile, DELAY_MS);
    config.gate.id = id.to_owned();
    config.central = Some(central_section(central, 200, 3600));
    config.privacy.document_hash_key_file = Some(key_file.to_owned());
    config.reporting.throughput_period_s = 60;
    // Refused travellers do not hold the gate for an officer: the soak keeps going.
    config.policy.timeouts.deny_hold_ms = 0;
    config
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    done: usize,
    /// Taken after the gate's last traveller (the gate idle while the others finish).
    idle: bool,
    rss_kb: u64,
    fds: u64,
    threads: u64,
}

fn sample(pid: u32, done: usize, idle: bool) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse::<u64>().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample {
        done,
        idle,
        rss_kb: field("VmRSS:")?,
        fds,
        threads: field("Threads:")?,
    })
}

struct Gate {
    name: &'static str,
    gated: Gated,
    share: usize,
    done: AtomicUsize,
    finished: std::sync::atomic::AtomicBool,
    samples: Mutex<Vec<Sample>>,
}

fn drive(gate: &Gate) {
    let mut admitted = 0;
    while admitted < gate.share {
        match gate.gated.request(Request::Simulate {
            traveller: support::traveller_mix(admitted),
        }) {
            gate_protocol::ResponseEnvelope {
                result:
                    Some(Response::SimulationStarted {
                        transaction_id: Some(_),
                    }),
                ..
            } => {
                admitted += 1;
                gate.done.store(admitted, Ordering::Relaxed);
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    gate.gated.wait_for("the last traveller", |s| {
        s.transaction_id.is_none() && s.counters.started as usize == gate.share
    });
    gate.finished.store(true, Ordering::Relaxed);
}

fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

fn shown(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The median of `value` over the samples taken while the gate's travellers `from`..`to` %
/// went through.
fn window(
    samples: &[Sample],
    share: usize,
    from: usize,
    to: usize,
    value: impl Fn(&Sample) -> u64,
) -> Option<u64> {
    median(
        samples
            .iter()
            .filter(|s| !s.idle && s.done * 100 >= share * from && s.done * 100 <= share * to)
            .map(value)
            .collect(),
    )
}

/// Baseline (median of the 10-20 % window) and end (median of the last 10 %) of one quantity,
/// and the growth in percent (none without samples in both windows).
fn growth(
    samples: &[Sample],
    share: usize,
    value: impl Fn(&Sample) -> u64 + Copy,
) -> (Option<u64>, Option<u64>, Option<f64>) {
    let baseline = window(samples, share, 10, 20, value);
    let end = window(samples, share, 90, 100, value);
    let percent = match (baseline, end) {
        (Some(baseline), Some(end)) if baseline > 0 => {
            Some((end as f64 / baseline as f64 - 1.0) * 100.0)
        }
        _ => None,
    };
    (baseline, end, percent)
}

fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(20_000);
    let work = tempfile::tempdir().unwrap();
    let central = start_central(work.path());
    for list in ["denylist", "enrolments"] {
        support::publish_list(&central.url, list, &[]);
    }
    let key_file = work.path().join("document-hash.key");
    std::fs::write(&key_file, [0x5a_u8; 32]).unwrap();
    let profiles = [
        ("SOAK-FACE", GateProfile::FaceGate),
        ("SOAK-FINGER", GateProfile::FingerprintGate),
        ("SOAK-BIOCART", GateProfile::BioCart),
    ];
    let gates: Vec<Arc<Gate>> = profiles
        .iter()
        .enumerate()
        .map(|(i, (name, profile))| {
            let root = work.path().join(name);
            std::fs::create_dir_all(&root).unwrap();
            let gated = Gated::start_in_with_env(
                &root,
                &config(*profile, name, &central.url, &key_file),
                &[("GATED_LOG", std::ffi::OsStr::new("warn"))],
            );
            gated.wait_for("the lists", |s| s.out_of_service_reasons.is_empty());
            Arc::new(Gate {
                name,
                gated,
                share: total / 3 + usize::from(i < total % 3),
                done: AtomicUsize::new(0),
                finished: std::sync::atomic::AtomicBool::new(false),
                samples: Mutex::new(Vec::new()),
            })
        })
        .collect();
    println!(
        "soak: {total} travellers through {} gates (simulated devices, {DELAY_MS} ms), central on SQLite",
        gates.len()
    );
    let started = Instant::now();
    let drivers: Vec<_> = gates
        .iter()
        .map(|gate| {
            let gate = Arc::clone(gate);
            std::thread::spawn(move || drive(&gate))
        })
        .collect();
    let mut next_report = Instant::now() + Duration::from_secs(30);
    while drivers.iter().any(|driver| !driver.is_finished()) {
        for gate in &gates {
            let done = gate.done.load(Ordering::Relaxed);
            let idle = gate.finished.load(Ordering::Relaxed);
            if let Some(s) = sample(gate.gated.child.id(), done, idle) {
                gate.samples.lock().unwrap().push(s);
            }
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(30);
            let progress: Vec<String> = gates
                .iter()
                .map(|g| format!("{} {}", g.name, g.done.load(Ordering::Relaxed)))
                .collect();
            println!("  {:?}: {}", started.elapsed(), progress.join(", "));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    for driver in drivers {
        driver.join().unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "all travellers through in {elapsed:.1?} ({:.1} per second)",
        total as f64 / elapsed.as_secs_f64()
    );

    println!(
        "{:<13} {:>7} {:>22} {:>16} {:>16}",
        "gate", "samples", "RSS kB base/end (%)", "fds base/end (%)", "threads base/end"
    );
    let mut worst: f64 = 0.0;
    for gate in &gates {
        let samples = gate.samples.lock().unwrap();
        let (rss0, rss1, rss) = growth(&samples, gate.share, |s| s.rss_kb);
        let (fd0, fd1, fds) = growth(&samples, gate.share, |s| s.fds);
        let (th0, th1, threads) = growth(&samples, gate.share, |s| s.threads);
        for percent in [rss, fds, threads].into_iter().flatten() {
            worst = worst.max(percent);
        }
        let pct = |p: Option<f64>| p.map_or_else(|| "-".to_owned(), |p| format!("{p:+.1}"));
        println!(
            "{:<13} {:>7} {:>9}/{:<7} ({}) {:>5}/{:<4} ({}) {:>5}/{:<4} ({})",
            gate.name,
            samples.len(),
            shown(rss0),
            shown(rss1),
            pct(rss),
            shown(fd0),
            shown(fd1),
            pct(fds),
            shown(th0),
            shown(th1),
            pct(threads)
        );
    }
    println!("largest growth after warm-up: {worst:+.1} % (target under 5 %)");
    println!(
        "resident memory (kB, median) by tenth of each gate's travellers, then idle after its last:"
    );
    for gate in &gates {
        let samples = gate.samples.lock().unwrap();
        let rss = |s: &Sample| s.rss_kb;
        let tenths: Vec<String> = (0..10)
            .map(|tenth| {
                shown(window(
                    &samples,
                    gate.share,
                    tenth * 10,
                    tenth * 10 + 10,
                    rss,
                ))
            })
            .collect();
        let idle = median(samples.iter().filter(|s| s.idle).map(rss).collect());
        println!(
            "{:<13} {} | idle {}",
            gate.name,
            tenths.join(" "),
            shown(idle)
        );
    }

    // Nothing lost: each gate's outbox drains, and central holds exactly what it committed.
    let mut lost = false;
    for gate in &gates {
        gate.gated
            .wait_for_long("the outbox to drain", Duration::from_secs(600), |s| {
                s.outbox_pending == 0
            });
        let committed: Vec<String> = gate
            .gated
            .all_outbox_events()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        let page = curl(&[&format!(
            "{}/v1/events?gate={}&limit=100000",
            central.url, gate.name
        )]);
        let received: Vec<String> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        let unique: HashSet<&String> = received.iter().collect();
        let outcomes = gate
            .gated
            .all_outbox_events()
            .iter()
            .filter(|e| e["kind"] == gated::event_kind::TRANSACTION_OUTCOME)
            .count();
        let same = received == committed && unique.len() == received.len();
        lost |= !same || outcomes != gate.share;
        println!(
            "{:<13} {} travellers, {outcomes} outcome records, {} events committed, {} at central: {}",
            gate.name,
            gate.share,
            committed.len(),
            received.len(),
            if same && outcomes == gate.share {
                "all there, once, in order"
            } else {
                "MISMATCH"
            }
        );
    }
    if lost {
        std::process::exit(1);
    }
}

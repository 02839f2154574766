//! Crash test: many simulated transactions through gated while gated and central are killed
//! with SIGKILL at random points and restarted; afterwards central (on PostgreSQL) must hold
//! every event the gate committed, exactly once, in per-gate order.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "../../central/tests/support/pg.rs"]
#[allow(dead_code, missing_docs)]
mod pg;

use gate_protocol::{Request, Response, SimulatedTraveller};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::{
    Gated, central_section, curl, free_port, publish_list, sim_config_with_delays, start_central_on,
};

/// Transactions the gate must admit before the test stops killing things.
const TRANSACTIONS: u64 = 1_000;

/// A small deterministic generator (xorshift), so a failing run can be replayed by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn sigkill_gated_and_central_at_random_points_loses_and_doubles_nothing() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed {seed} (rerun with CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let cluster = pg::PgCluster::start();
    let database = cluster.url();
    let port = free_port();
    let mut central = start_central_on(port, &database);
    publish_list(&central.url, "denylist", &[]);
    let root = tempfile::tempdir().unwrap();
    let key_file = root.path().join("key");
    std::fs::write(&key_file, [9u8; 32]).unwrap();
    let mut config = sim_config_with_delays(2, 2, 2);
    config.privacy.document_hash_key_file = Some(key_file.clone());
    config.central = Some(central_section(&central.url, 20, 24 * 3600));

    let started = Instant::now();
    let mut admitted = 0u64;
    let mut gated_kills = 0;
    let mut central_kills = 0;
    while admitted < TRANSACTIONS {
        let mut gated = Gated::start_in(root.path(), &config);
        let run_for = Duration::from_millis(200 + rng.next(1_300));
        let until = Instant::now() + run_for;
        while Instant::now() < until && admitted < TRANSACTIONS {
            let answer = gated.request(Request::Simulate {
                traveller: SimulatedTraveller::default(),
            });
            match answer.result {
                Some(Response::SimulationStarted {
                    transaction_id: Some(_),
                }) => admitted += 1,
                // Busy with the previous traveller (or lists not yet confirmed): try again.
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        gated.kill();
        gated_kills += 1;
        if rng.next(3) == 0 {
            // central dies too, at a random moment of its own.
            std::thread::sleep(Duration::from_millis(rng.next(50)));
            let _ = central.child.kill();
            let _ = central.child.wait();
            central_kills += 1;
            central = start_central_on(port, &database);
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "crash test too slow: {admitted} transactions after {:?}",
            started.elapsed()
        );
    }

    // Let the last gate drain its outbox, then compare both sides.
    let gated = Gated::start_in(root.path(), &config);
    gated.wait_for("the outbox to drain", |s| s.outbox_pending == 0);
    let committed = gated.all_outbox_events();
    drop(gated);
    let page = curl(&[&format!(
        "{}/v1/events?gate=SIM-FACE-01&limit=100000",
        central.url
    )]);
    let received = page["events"].as_array().unwrap();
    eprintln!(
        "admitted {admitted} transactions, {} committed events, {gated_kills} gated kills, \
         {central_kills} central kills, {:?}",
        committed.len(),
        started.elapsed()
    );
    assert!(committed.len() as u64 >= TRANSACTIONS - gated_kills as u64 - 1);
    let ids = |events: &[serde_json::Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let committed_ids = ids(&committed);
    let received_ids = ids(received);
    let unique: HashSet<&String> = received_ids.iter().collect();
    assert_eq!(unique.len(), received_ids.len(), "central holds duplicates");
    assert_eq!(
        received_ids, committed_ids,
        "central differs from the gate's committed events"
    );
    let sequences: Vec<u64> = received
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=sequences.len() as u64).collect();
    assert_eq!(sequences, expected, "per-gate order broken");
}

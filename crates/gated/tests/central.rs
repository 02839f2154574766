//! gated with its sync worker against the real central server (built beside gated by
//! `cargo test --workspace`): lists pulled before travellers are admitted, the denylist applied,
//! events delivered in order.
#![allow(clippy::unwrap_used)]

mod support;

use gate_protocol::{Request, Response, SimulatedTraveller};
use gated::hashing::DocumentHasher;
use std::time::{Duration, Instant};
use support::{Gated, central_section, curl, fast_sim_config, publish_list, start_central};

#[test]
fn gate_refuses_until_lists_arrive_applies_the_denylist_and_delivers_events() {
    let work = tempfile::tempdir().unwrap();
    let central = start_central(work.path());
    let key = [0x5a_u8; 32];
    let key_file = work.path().join("document-hash.key");
    std::fs::write(&key_file, key).unwrap();
    let mut config = fast_sim_config();
    config.privacy.document_hash_key_file = Some(key_file.clone());
    config.central = Some(central_section(&central.url, 50, 3600));
    let gated = Gated::start(&config);
    // No list yet: out of service.
    let status = gated.status();
    assert_eq!(
        status.out_of_service_reasons,
        [gate_core::ReasonCode::ListsStale],
        "{status:#?}"
    );
    // Publish a denylist holding the second simulated document (SIM000002).
    let hasher = DocumentHasher::from_file(&key_file).unwrap();
    let stolen = hasher.hash("UTO", "SIM000002").to_hex();
    publish_list(&central.url, "denylist", &[serde_json::json!(stolen)]);
    gated.wait_for("lists to arrive", |s| s.out_of_service_reasons.is_empty());

    let admitted = |gated: &Gated| match gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    }) {
        Response::SimulationStarted {
            transaction_id: Some(id),
        } => id,
        other => panic!("not admitted: {other:?}"),
    };
    admitted(&gated);
    gated.wait_for("the pass", |s| s.counters.passed == 1);
    admitted(&gated);
    let status = gated.wait_for("the deny", |s| s.counters.denied == 1);
    assert_eq!(
        status.last_outcome.unwrap().reasons,
        [gate_core::ReasonCode::DenylistHit]
    );
    // Both events reach central, in order, and leave the gate's pending queue.
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        let page = curl(&[&format!("{}/v1/events?gate=SIM-FACE-01", central.url)]);
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.len() == 2 {
            break events;
        }
        assert!(Instant::now() < deadline, "central holds {page}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let sequences: Vec<u64> = events
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, [1, 2]);
    assert_eq!(events[1]["payload"]["reasons"][0], "DENYLIST_HIT");
    assert_eq!(events[1]["payload"]["document_hash"], stolen);
    gated.wait_for("the queue to drain", |s| s.outbox_pending == 0);
}

#[test]
fn heartbeats_tell_central_where_the_gate_stands_and_how_it_is() {
    let work = tempfile::tempdir().unwrap();
    let central = start_central(work.path());
    let mut config = fast_sim_config();
    config.central = Some(central_section(&central.url, 50, 3600));
    config.gate.site = Some(gate_config::schema::Site {
        airport: "HND".into(),
        terminal: "T3".into(),
        zone: "departures".into(),
    });
    config.reporting.heartbeat_s = 1;
    let gated = Gated::start(&config);
    // No list yet: the gate is out of service and its heartbeat says why.
    let deadline = Instant::now() + Duration::from_secs(30);
    let beat = loop {
        let page = curl(&[&format!("{}/v1/events?gate=SIM-FACE-01", central.url)]);
        let beats: Vec<serde_json::Value> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "gate.heartbeat")
            .map(|e| e["payload"].clone())
            .collect();
        if let Some(beat) = beats.first() {
            break beat.clone();
        }
        assert!(Instant::now() < deadline, "no heartbeat at central: {page}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        beat["site"],
        serde_json::json!({"airport": "HND", "terminal": "T3", "zone": "departures"})
    );
    assert_eq!(beat["software_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(beat["interval_s"], 1);
    assert_eq!(beat["in_service"], false, "{beat}");
    assert_eq!(
        beat["out_of_service_reasons"],
        serde_json::json!(["LISTS_STALE"])
    );
    let devices: Vec<&str> = beat["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        devices.contains(&"chip_reader") && devices.contains(&"outbox"),
        "{beat}"
    );

    // Lists arrive: the next heartbeats say the gate is in service, and when it last reached
    // central.
    publish_list(&central.url, "denylist", &[]);
    gated.wait_for("lists to arrive", |s| s.out_of_service_reasons.is_empty());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = curl(&[&format!("{}/v1/events?gate=SIM-FACE-01", central.url)]);
        let in_service = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "gate.heartbeat")
            .any(|e| {
                e["payload"]["in_service"] == true
                    && e["payload"]["sync"]["last_success_ms"].as_i64().is_some()
            });
        if in_service {
            break;
        }
        assert!(Instant::now() < deadline, "no in-service heartbeat: {page}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

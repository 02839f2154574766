//! The real gated binary with simulated devices, driven through its control socket.
#![allow(clippy::unwrap_used)]

mod support;

use gate_core::{Outcome, ReasonCode};
use gate_protocol::{ErrorCode, Health, Request, SimulatedDocument, SimulatedTraveller};
use support::{Gated, fast_sim_config, raw_exchange};

fn outcome_of(event: &serde_json::Value) -> (String, Vec<String>) {
    let payload = &event["payload"];
    let reasons = payload["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    (payload["outcome"].as_str().unwrap().to_owned(), reasons)
}

#[test]
fn status_answers_over_the_socket() {
    let gated = Gated::start(&fast_sim_config());
    let status = gated.status();
    assert_eq!(status.gate_id, "SIM-FACE-01");
    assert_eq!(status.profile, gate_core::GateProfile::FaceGate);
    assert_eq!(status.state, "idle");
    assert!(!status.door_unlocked, "door locked at start");
    let names: Vec<&str> = status.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["chip_reader", "camera", "door", "outbox"]);
    assert!(status.devices.iter().all(|d| d.health == Health::Up));
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    let json = serde_json::to_value(&status).unwrap();
    for key in [
        "gate_id", "profile", "state", "devices", "counters", "uptime_s", "version",
    ] {
        assert!(json.get(key).is_some(), "status --json lacks {key}");
    }
}

#[test]
fn genuine_traveller_passes_and_the_outcome_is_durable_without_personal_data() {
    let gated = Gated::start(&fast_sim_config());
    let id = gated.admit(SimulatedTraveller::default());
    let status = gated.wait_for("the pass", |s| s.counters.passed == 1);
    assert_eq!(status.last_outcome.unwrap().transaction_id, id);
    assert_eq!(status.state, "idle");
    assert!(!status.door_unlocked);
    let events = gated.outbox_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "transaction.outcome");
    assert_eq!(events[0]["sequence"], 1);
    assert_eq!(outcome_of(&events[0]).0, "passed");
    let text = events[0].to_string();
    assert!(
        !text.contains("SIM0"),
        "document number leaked into the event: {text}"
    );
    assert_eq!(
        events[0]["payload"]["document_hash"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let log = gated.log_text();
    assert!(!log.contains("SIM0"), "document number leaked into the log");
    assert!(log.contains("door: lock released") && log.contains("door: lock engaged"));
}

#[test]
fn impostor_is_denied_and_the_gate_holds_until_the_officer_resets_it() {
    let gated = Gated::start(&fast_sim_config());
    let traveller = SimulatedTraveller {
        face_scores: vec![0.05, 0.1, 0.12],
        ..SimulatedTraveller::default()
    };
    gated.admit(traveller);
    let status = gated.wait_for("the deny", |s| s.counters.denied == 1);
    let last = status.last_outcome.unwrap();
    assert_eq!(last.outcome, Outcome::Denied);
    assert_eq!(last.reasons, [ReasonCode::FaceMismatch]);
    assert_eq!(status.state, "holding");
    assert!(!status.door_unlocked);
    // A second traveller is turned away while the officer is on the way.
    gated.officer_clears_the_hold();
    gated.admit(SimulatedTraveller::default());
    gated.wait_for("the next pass", |s| s.counters.passed == 1);
}

#[test]
fn a_second_traveller_while_one_is_inside_is_turned_away_without_disturbing_the_first() {
    let gated = Gated::start(&fast_sim_config());
    gated.admit(SimulatedTraveller::default());
    assert_eq!(
        gated.simulate(SimulatedTraveller {
            document: SimulatedDocument::Forged,
            ..SimulatedTraveller::default()
        }),
        None,
        "turned away"
    );
    let status = gated.wait_for("the first traveller's pass", |s| s.counters.passed == 1);
    assert_eq!(status.counters.turned_away, 1);
    assert_eq!(status.counters.denied, 0);
}

#[test]
fn every_document_problem_has_its_reason_code() {
    let gated = Gated::start(&fast_sim_config());
    let cases = [
        (SimulatedDocument::Expired, ReasonCode::DocumentExpired),
        (SimulatedDocument::Denylisted, ReasonCode::DenylistHit),
        (SimulatedDocument::Forged, ReasonCode::DocumentNotAuthentic),
        (SimulatedDocument::Unreadable, ReasonCode::ChipReadFailed),
    ];
    for (n, (document, reason)) in cases.into_iter().enumerate() {
        gated.admit(SimulatedTraveller {
            document,
            ..SimulatedTraveller::default()
        });
        let status = gated.wait_for("the deny", |s| s.counters.denied == n as u64 + 1);
        assert_eq!(status.last_outcome.unwrap().reasons, [reason]);
        gated.ok(Request::OfficerReset);
    }
    // Each outcome, then the officer's reset recorded with who did it (the test's user, on
    // the control socket).
    let events = gated.outbox_events();
    let sequences: Vec<u64> = events
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5, 6, 7, 8]);
    let uid = nix::unistd::getuid().as_raw();
    for pair in events.chunks(2) {
        assert_eq!(pair[0]["kind"], "transaction.outcome");
        assert_eq!(pair[1]["kind"], "officer.action");
        assert_eq!(pair[1]["payload"]["action"], "clear_call");
        assert_eq!(pair[1]["payload"]["by"], format!("uid:{uid}"));
        assert_eq!(pair[1]["payload"]["via"], "control_socket");
        assert_eq!(pair[1]["payload"]["reasons"], pair[0]["payload"]["reasons"]);
    }
}

#[test]
fn corrupt_outbox_is_moved_aside_and_the_gate_runs_in_safe_mode() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("outbox.sqlite"),
        b"this is not an SQLite database, it is garbage",
    )
    .unwrap();
    let gated = Gated::start_in(dir.path(), &fast_sim_config());
    let status = gated.status();
    assert_eq!(status.out_of_service_reasons, [ReasonCode::OutboxCorrupt]);
    let outbox = status.devices.iter().find(|d| d.name == "outbox").unwrap();
    assert_eq!(outbox.health, Health::Degraded);
    assert!(outbox.detail.contains("safe mode"), "{}", outbox.detail);
    assert_eq!(
        gated.simulate(SimulatedTraveller::default()),
        None,
        "turned away"
    );
    let moved: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("corrupt"))
        .collect();
    assert_eq!(
        moved.len(),
        1,
        "the corrupt file is kept for forensics: {moved:?}"
    );
    assert!(gated.log_text().contains("safe mode"));
}

#[test]
fn outbox_at_its_high_water_mark_turns_travellers_away_and_raises_the_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    // Fill the gate's outbox (1 MiB budget, high water at 90 %) with undelivered events, as a
    // long central outage would.
    let limits = outbox::OutboxLimits {
        max_bytes: 1 << 20,
        high_water_bytes: (1 << 20) / 10 * 9,
        delivered_retention: std::time::Duration::from_secs(86_400),
    };
    let mut filler = outbox::Outbox::open(
        state.join("outbox.sqlite"),
        outbox::OutboxConfig::new("SIM-FACE-01", limits),
    )
    .unwrap();
    let payload = serde_json::json!({ "padding": "x".repeat(4_000) });
    while filler.check_admission().is_ok() {
        filler
            .append(&outbox::NewEvent {
                kind: "test.filler",
                occurred_at_ms: 0,
                payload: &payload,
            })
            .unwrap();
    }
    let pending_before = filler.status().unwrap().pending;
    drop(filler);
    let mut config = fast_sim_config();
    config.storage.outbox_max_mb = 1;
    let gated = Gated::start_in(dir.path(), &config);
    let status = gated.wait_for("the high-water alarm", |s| {
        s.out_of_service_reasons == [ReasonCode::OutboxFull]
    });
    assert_eq!(
        status.outbox_pending, pending_before,
        "nothing dropped to make room"
    );
    assert_eq!(
        gated.simulate(SimulatedTraveller::default()),
        None,
        "turned away"
    );
    assert!(gated.log_text().contains("outbox above high-water mark"));
}

#[test]
fn maintenance_mode_turns_travellers_away() {
    let gated = Gated::start(&fast_sim_config());
    gated.ok(Request::SetMaintenance { on: true });
    let status = gated.status();
    assert_eq!(status.out_of_service_reasons, [ReasonCode::MaintenanceMode]);
    assert_eq!(
        gated.simulate(SimulatedTraveller::default()),
        None,
        "turned away"
    );
    assert_eq!(gated.status().counters.turned_away, 1);
    gated.ok(Request::SetMaintenance { on: false });
    gated.admit(SimulatedTraveller::default());
}

#[test]
fn sigterm_mid_transaction_locks_the_door_and_records_the_abort() {
    let mut gated = Gated::start(&fast_sim_config());
    // Cleared, the door is released, but the traveller does not walk through.
    gated.admit(SimulatedTraveller {
        walks_through: false,
        ..SimulatedTraveller::default()
    });
    gated.wait_for("the door release", |s| s.door_unlocked);
    let exit = gated.terminate();
    assert!(exit.success(), "gated exited with {exit}");
    let log = gated.log_text();
    let sigterm = log.find("SIGTERM received").expect("SIGTERM logged");
    let locked = log[sigterm..]
        .find("door: lock engaged")
        .expect("door locked after SIGTERM");
    let aborted = log[sigterm..]
        .find("transaction ended")
        .expect("transaction recorded");
    assert!(locked < aborted, "lock before record:\n{log}");
    let events = gated.outbox_events();
    let (outcome, reasons) = outcome_of(events.last().unwrap());
    assert_eq!(outcome, "aborted");
    assert_eq!(reasons, ["SHUTDOWN"]);
    assert!(!gated.socket.exists(), "socket removed at exit");
}

#[test]
fn malformed_and_foreign_version_requests_get_clear_errors() {
    let gated = Gated::start(&fast_sim_config());
    let garbage = raw_exchange(&gated.socket, "this is not json\n");
    assert_eq!(garbage.error.unwrap().code, ErrorCode::BadRequest);
    let future = raw_exchange(
        &gated.socket,
        "{\"version\":99,\"id\":5,\"request\":{\"type\":\"status\"}}\n",
    );
    let error = future.error.unwrap();
    assert_eq!(error.code, ErrorCode::UnsupportedVersion);
    assert_eq!(future.id, 5);
    let huge = format!("{}\n", "x".repeat(gate_protocol::MAX_LINE_BYTES + 10));
    let too_long = raw_exchange(&gated.socket, &huge);
    assert_eq!(too_long.error.unwrap().code, ErrorCode::BadRequest);
    // Still serving.
    assert_eq!(gated.status().state, "idle");
}

#[test]
fn peers_outside_the_allowed_users_are_refused_by_peer_credentials() {
    if !nix_is_root() {
        eprintln!("skipped: switching to another uid needs root");
        return;
    }
    let gated = Gated::start(&fast_sim_config());
    // Simulate an installer mistake: the socket and its directory opened to everyone. The file
    // mode no longer protects it; SO_PEERCRED still does.
    use std::os::unix::fs::PermissionsExt;
    let dir = gated.socket.parent().unwrap();
    for path in [gated.root.as_path(), dir, gated.socket.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let script = format!(
        // The daemon may answer and close before the request is fully sent: a broken pipe on
        // send is fine as long as the refusal arrives.
        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\ntry:\n    s.sendall(b'{{\"version\":1,\"id\":1,\"request\":{{\"type\":\"status\"}}}}\\n')\nexcept BrokenPipeError:\n    pass\nsys.stdout.write(s.makefile().readline())",
        gated.socket.display().to_string()
    );
    let output = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response = gate_protocol::parse_response(answer.trim_end()).unwrap();
    assert_eq!(response.error.unwrap().code, ErrorCode::PermissionDenied);
    // Root still gets in.
    assert_eq!(gated.status().state, "idle");
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn door_pulse_needs_maintenance_mode_is_recorded_and_relocks_by_itself() {
    let gated = Gated::start(&fast_sim_config());
    let refused = gated.request(Request::DoorPulse { ms: 300 });
    assert_eq!(refused.error.unwrap().code, ErrorCode::NotAvailable);
    assert!(!gated.status().door_unlocked);
    let out_of_range = gated.request(Request::DoorPulse { ms: 60_000 });
    assert_eq!(out_of_range.error.unwrap().code, ErrorCode::BadRequest);

    gated.ok(Request::SetMaintenance { on: true });
    gated.ok(Request::DoorPulse { ms: 400 });
    let status = gated.status();
    assert!(status.door_unlocked);
    assert_eq!(status.door.outputs.get("lock_release"), Some(&true));
    let status = gated.wait_for("the lock to engage again", |s| !s.door_unlocked);
    assert_eq!(status.door.outputs.get("lock_release"), Some(&false));
    let events = gated.outbox_events();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "door.manual_release" && e["payload"]["ms"] == 400),
        "{events:?}"
    );

    // `door lock` ends a pulse at once.
    gated.ok(Request::DoorPulse { ms: 10_000 });
    assert!(gated.status().door_unlocked, "{}", gated.log_text());
    gated.ok(Request::DoorLock);
    assert!(!gated.status().door_unlocked);
}

#[test]
fn throughput_figures_are_recorded_each_period_for_published_waiting_times() {
    let mut config = fast_sim_config();
    config.reporting.throughput_period_s = 2;
    let gated = Gated::start(&config);
    gated.admit(SimulatedTraveller::default());
    gated.wait_for("the first pass", |s| s.counters.passed == 1);
    gated.admit(SimulatedTraveller::default());
    gated.wait_for("the second pass", |s| s.counters.passed == 2);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let figures: Vec<serde_json::Value> = gated
            .outbox_events()
            .into_iter()
            .filter(|e| e["kind"] == "gate.throughput")
            .map(|e| e["payload"].clone())
            .collect();
        let travellers: u64 = figures
            .iter()
            .map(|f| f["travellers"].as_u64().unwrap())
            .sum();
        if travellers == 2 {
            let busy = figures
                .iter()
                .find(|f| f["travellers"].as_u64() > Some(0))
                .unwrap();
            assert!(busy["mean_ms"].as_u64().unwrap() > 0, "{busy}");
            assert!(
                busy["travellers_per_hour"].as_f64().unwrap() > 0.0,
                "{busy}"
            );
            assert!(busy["p90_ms"].as_u64().unwrap() >= busy["p50_ms"].as_u64().unwrap());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "figures so far: {figures:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn an_outcome_that_cannot_be_recorded_leaves_the_screen_out_of_service() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_sim_config();
    config.policy.timeouts.door_open_ms = 1_000;
    let gated = Gated::start_in(dir.path(), &config);
    // Cleared and the door released, but the traveller stays put: the transaction ends when
    // the door's time runs out.
    gated.admit(SimulatedTraveller {
        walks_through: false,
        ..SimulatedTraveller::default()
    });
    gated.wait_for("the door release", |s| s.door_unlocked);
    // Another writer holds the database: the outcome cannot be written when the door's time
    // is up.
    let blocker =
        outbox::rusqlite::Connection::open(gated.state_dir.join("outbox.sqlite")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let status = gated.wait_for("the outbox alarm", |s| {
        s.out_of_service_reasons.contains(&ReasonCode::OutboxFull)
    });
    assert_eq!(status.state, "idle");
    assert_eq!(
        status.display,
        gate_core::Prompt::OutOfService,
        "the screen invites the next traveller while the gate is out of service"
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    // Once the database is free again the outcome is written and the gate takes travellers.
    let status = gated.wait_for("the outcome to be written", |s| {
        s.out_of_service_reasons.is_empty()
    });
    assert_eq!(status.display, gate_core::Prompt::PlaceDocument);
    let events = gated.outbox_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(outcome_of(&events[0]).1, ["PASSAGE_NOT_COMPLETED"]);
}

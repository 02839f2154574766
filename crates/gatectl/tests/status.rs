//! `gatectl status`, `simulate`, `officer-reset`, `maintenance` and `config validate` against
//! the real gated binary (built beside gatectl by `cargo test --workspace`).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Output;

use gate_config::schema::{CameraConfig, ChipReaderConfig, DoorConfig};
use support::{Daemon, root, shipped, text};

/// The simulated face gate with fast simulated devices.
fn start_gated() -> Daemon {
    let mut config = shipped("sim-face-gate.toml");
    config.devices.chip_reader = Some(ChipReaderConfig::Simulated {
        read_ms: 30,
        photo: None,
    });
    config.devices.camera = Some(CameraConfig::Simulated { capture_ms: 30 });
    config.devices.door = Some(DoorConfig::Simulated { passage_ms: 30 });
    support::start_gated(&config)
}

fn gatectl(args: &[&str], socket: Option<&Path>) -> Output {
    let mut args: Vec<&str> = args.to_vec();
    if let Some(socket) = socket {
        args.extend(["--socket", socket.to_str().unwrap()]);
    }
    support::gatectl(&args)
}

#[test]
fn status_json_is_stable_and_human_status_is_a_table() {
    let daemon = start_gated();
    let output = gatectl(&["status", "--json"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["gate_id"], "SIM-FACE-01");
    assert_eq!(json["profile"], "face_gate");
    assert_eq!(json["state"], "idle");
    assert_eq!(json["door_unlocked"], false);
    assert!(json["uptime_s"].is_u64());
    assert!(json["counters"]["passed"].is_u64());
    assert_eq!(json["devices"][0]["name"], "chip_reader");
    assert_eq!(json["devices"][0]["health"], "up");

    let output = gatectl(&["status"], Some(&daemon.socket));
    let human = text(&output);
    assert_eq!(output.status.code(), Some(0), "{human}");
    assert!(human.contains("SIM-FACE-01 (face_gate)"), "{human}");
    assert!(
        human.contains("DEVICE") && human.contains("HEALTH"),
        "{human}"
    );
    assert!(human.contains("in service"), "{human}");
}

#[test]
fn simulate_maintenance_and_officer_reset() {
    let daemon = start_gated();
    let output = gatectl(&["simulate", "impostor", "--json"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    support::wait_for(&daemon, "deny", |json| json["state"] == "holding");
    assert_eq!(
        support::status(&daemon)["last_outcome"]["reasons"][0],
        "FACE_MISMATCH"
    );
    // Busy with the officer: the gate does not take the next traveller (exit 1).
    let output = gatectl(&["simulate", "genuine"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("did not take the traveller"),
        "{}",
        text(&output)
    );
    let output = gatectl(&["officer-reset"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let output = gatectl(&["maintenance", "on"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(0));
    let output = gatectl(&["status"], Some(&daemon.socket));
    assert!(
        text(&output).contains("OUT OF SERVICE: MAINTENANCE_MODE"),
        "{}",
        text(&output)
    );
}

#[test]
fn simulate_says_what_the_gate_decided() {
    let daemon = start_gated();
    // A traveller the gate denies is reported denied, never "admitted".
    let output = gatectl(&["simulate", "impostor"], Some(&daemon.socket));
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains(": denied (FACE_MISMATCH)"), "{said}");
    assert!(!said.contains("admitted"), "{said}");
    let output = gatectl(&["officer-reset"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    // One who passes is reported passed, with the transaction that recorded it.
    let output = gatectl(&["simulate", "genuine", "--json"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["outcome"], "passed", "{json}");
    assert_eq!(json["reasons"], serde_json::json!([]));
    assert_eq!(
        json["transaction_id"],
        support::status(&daemon)["last_outcome"]["transaction_id"]
    );
}

#[test]
fn exit_codes_for_failures_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nobody-home.sock");
    let output = gatectl(&["status"], Some(&missing));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains("cannot connect to gated"),
        "{}",
        text(&output)
    );
    let output = gatectl(&["status", "--frobnicate"], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let output = gatectl(&["launch-rockets"], None);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn config_validate_matches_check_config() {
    let good = root().join("firmware-config/fingerprint-gate-example.toml");
    let output = gatectl(&["config", "validate", good.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let broken = std::fs::read_to_string(&good)
        .unwrap()
        .replace("baud = 57600", "baud = 12345")
        .replace("[central]", "[central]\nretries = 3");
    std::fs::write(&bad, broken).unwrap();
    let output = gatectl(
        &["config", "validate", "--json", bad.to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], false);
    let keys: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["central.retries", "devices.fingerprint.baud"]);
}

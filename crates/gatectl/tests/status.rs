//! `gatectl status`, `simulate`, `officer-reset`, `maintenance` and `config validate` against
//! the real gated binary (built beside gatectl by `cargo test --workspace`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn gated_binary() -> PathBuf {
    let gatectl = Path::new(env!("CARGO_BIN_EXE_gatectl"));
    let gated = gatectl.with_file_name("gated");
    assert!(
        gated.exists(),
        "{} not built: run the workspace tests (cargo test --workspace) or `cargo build -p gated`",
        gated.display()
    );
    gated
}

struct Daemon {
    child: Child,
    _dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gated() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gate.toml");
    let text = std::fs::read_to_string(root().join("firmware-config/sim-face-gate.toml"))
        .unwrap()
        .replace("read_ms = 600", "read_ms = 30")
        .replace("capture_ms = 700", "capture_ms = 30")
        .replace("passage_ms = 1500", "passage_ms = 30");
    std::fs::write(&config, text).unwrap();
    let socket = dir.path().join("control.sock");
    let child = Command::new(gated_binary())
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "gated did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Daemon {
        child,
        _dir: dir,
        socket,
    }
}

fn gatectl(args: &[&str], socket: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatectl"));
    cmd.args(args);
    if let Some(socket) = socket {
        cmd.arg("--socket").arg(socket);
    }
    cmd.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
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
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let output = gatectl(&["status", "--json"], Some(&daemon.socket));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        if json["state"] == "holding" {
            assert_eq!(json["last_outcome"]["reasons"][0], "FACE_MISMATCH");
            break;
        }
        assert!(Instant::now() < deadline, "no deny: {json}");
        std::thread::sleep(Duration::from_millis(30));
    }
    // Busy with the officer: the next traveller is not admitted (exit 1).
    let output = gatectl(&["simulate", "genuine"], Some(&daemon.socket));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
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

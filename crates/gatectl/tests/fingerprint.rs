//! `gatectl fingerprint ...` against the module simulator: the standalone `simulate` command
//! driven by the technician commands, and enrol/verify/capture against an in-process simulator.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use devices::fingerprint::simulator::{ModuleSimulator, SimulatedFinger, SimulatorOptions};

fn gatectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(args)
        .output()
        .unwrap()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatectl-fp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn simulate_serves_the_module_for_info_library_and_verify() {
    let dir = scratch_dir("simulate");
    let link = dir.join("fingerprint");
    let link_arg = link.to_str().unwrap();
    let mut simulate = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_gatectl"))
            .args([
                "fingerprint",
                "simulate",
                "--link",
                link_arg,
                "--templates",
                "3",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(&link);

    let info = gatectl(&["fingerprint", "info", "--port", link_arg, "--json"]);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let info = json(&info);
    assert_eq!(info["templates"], 3);
    assert_eq!(info["library_capacity"], 1000);
    assert_eq!(info["baud_rate"], 57600);

    let library = json(&gatectl(&[
        "fingerprint",
        "library",
        "--port",
        link_arg,
        "--json",
    ]));
    assert_eq!(library["pages"], serde_json::json!([0, 1, 2]));

    // Finger identity 2 was pre-enrolled at page 1.
    let stdin = simulate.0.stdin.as_mut().unwrap();
    writeln!(stdin, "place 2").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let verified = gatectl(&[
        "fingerprint",
        "verify",
        "--page",
        "1",
        "--port",
        link_arg,
        "--json",
    ]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_eq!(json(&verified)["matched"], true);
    let wrong = gatectl(&[
        "fingerprint",
        "verify",
        "--page",
        "0",
        "--port",
        link_arg,
        "--json",
    ]);
    assert_eq!(wrong.status.code(), Some(4));
    assert_eq!(json(&wrong)["matched"], false);
    drop(simulate);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn enroll_then_capture_against_an_in_process_simulator() {
    let sim = ModuleSimulator::start(SimulatorOptions {
        pace_to_baud_rate: false,
        ..SimulatorOptions::default()
    })
    .unwrap();
    let port = sim.port_path();
    let port = port.to_str().unwrap();
    let finger = SimulatedFinger::good(77);
    // First capture, then lifted, then placed again.
    sim.queue_fingers([Some(finger), None, Some(finger)]);
    let enrolled = gatectl(&[
        "fingerprint",
        "enroll",
        "--page",
        "12",
        "--port",
        port,
        "--json",
    ]);
    assert!(
        enrolled.status.success(),
        "{}",
        String::from_utf8_lossy(&enrolled.stderr)
    );
    assert_eq!(json(&enrolled)["page"], 12);
    assert!(sim.with_module(|module| module.has_template(12)));

    let dir = scratch_dir("capture");
    let file = dir.join("finger.pgm");
    sim.place_finger(finger);
    let captured = gatectl(&[
        "fingerprint",
        "capture",
        file.to_str().unwrap(),
        "--port",
        port,
        "--json",
    ]);
    assert!(
        captured.status.success(),
        "{}",
        String::from_utf8_lossy(&captured.stderr)
    );
    assert!(json(&captured)["quality_score"].as_u64().unwrap() >= 70);
    let pgm = std::fs::read(&file).unwrap();
    assert!(pgm.starts_with(b"P5\n256 288\n255\n"));

    sim.remove_finger();
    let no_finger = gatectl(&[
        "fingerprint",
        "capture",
        file.to_str().unwrap(),
        "--port",
        port,
        "--timeout",
        "1",
    ]);
    assert_eq!(no_finger.status.code(), Some(3));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_absent_module_fails_with_a_message() {
    let output = gatectl(&["fingerprint", "info", "--port", "/nonexistent/fingerprint"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/fingerprint"), "{stderr}");
}

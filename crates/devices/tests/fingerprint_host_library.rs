//! The module simulator speaks the real protocol: the outside host library `pyfingerprint`
//! (PyPI) drives it over a real pty at 57600 baud through enrolment, search and 1:1 match.
//!
//! Needs `python3` with pyfingerprint: `python3 -m pip install pyfingerprint` (pulls pyserial
//! and Pillow). The test fails with that instruction when the package is missing.
#![cfg(feature = "serial")]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use devices::fingerprint::simulator::{ModuleSimulator, SimulatedFinger, SimulatorOptions};

const PRELOADED: u16 = 5;

#[test]
fn pyfingerprint_enrols_searches_and_matches_against_the_simulator() {
    let sim = ModuleSimulator::start(SimulatorOptions::default()).unwrap();
    sim.with_module(|module| {
        for page in 0..PRELOADED {
            module.enroll_synthetic(page, SimulatedFinger::good(5000 + u64::from(page)));
        }
    });
    let finger_a = SimulatedFinger::good(1);
    let finger_b = SimulatedFinger::good(2);
    sim.queue_fingers([
        None,
        Some(finger_a),
        Some(finger_a),
        Some(finger_a),
        Some(finger_b),
    ]);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fingerprint_pyfingerprint.py");
    let started = Instant::now();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(sim.port_path())
        .arg(PRELOADED.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed to run the host-library test");
    // Never hang: kill the script if it runs far longer than the exchange needs.
    let deadline = started + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pyfingerprint script did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        status.code(),
        Some(3),
        "pyfingerprint is not installed: run `python3 -m pip install pyfingerprint`\n{stdout}"
    );
    assert!(
        status.success() && stdout.lines().any(|line| line == "PASS"),
        "pyfingerprint run failed ({status}):\n{stdout}\n{stderr}"
    );
    for step in [
        "OK enrol position=5",
        "OK search position=5",
        "OK match score=",
        "OK wrong finger rejected",
    ] {
        assert!(stdout.contains(step), "missing step {step:?}:\n{stdout}");
    }
    // The simulator saw the same thing.
    assert_eq!(
        sim.with_module(|module| module.template_count()),
        usize::from(PRELOADED)
    );
    assert!(sim.with_module(|module| module.stats().commands) >= 20);
}

//! `gated --check-config` and the systemd unit.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn check(path: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gated"))
        .arg("--check-config")
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap(), text)
}

#[test]
fn check_config_accepts_every_shipped_file() {
    for entry in std::fs::read_dir(root().join("firmware-config")).unwrap() {
        let path = entry.unwrap().path();
        let (code, text) = check(&path);
        assert_eq!(code, 0, "{}: {text}", path.display());
        assert!(text.contains(": ok"), "{text}");
    }
}

#[test]
fn check_config_names_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(root().join("firmware-config/sim-face-gate.toml"))
        .unwrap()
        .replace("[gate]\n", "[gate]\nflavour = \"x\"\n")
        .replace("max_attempts = 3\ncapture_timeout_ms = 15000", "max_attempts = 30\ncapture_timeout_ms = 15000")
        .replace("outbox_max_mb = 64", "outbox_max_mb = \"lots\"")
        .replace(
            "[devices.camera]\nbackend = \"simulated\"\ncapture_ms = 700",
            "[devices.camera]\nbackend = \"v4l2\"\nformat = \"mjpeg\"\nwidth = 640\nheight = 480\nfps = 30",
        );
    std::fs::write(&path, text).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 1, "{text}");
    for key in [
        "gate.flavour",
        "storage.outbox_max_mb",
        "devices.camera.device",
        "policy.face.max_attempts",
    ] {
        assert!(
            text.contains(&format!("broken.toml: {key}: ")),
            "{key} not named in:\n{text}"
        );
    }
    let (code, text) = check(&dir.path().join("missing.toml"));
    assert_eq!(code, 1);
    assert!(text.contains("cannot read"), "{text}");
}

#[test]
fn systemd_unit_verifies_and_is_scored() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        panic!("systemd-analyze not found: run `cargo xtask setup`");
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("systemd/gated.service"))
        .unwrap()
        .replace("/usr/bin/gated", env!("CARGO_BIN_EXE_gated"));
    let path = dir.path().join("gated.service");
    std::fs::write(&path, unit).unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&verify.stderr);
    // Lines about the host (other units, missing users on a build machine) are not ours.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("gated.service"))
        .filter(|line| !line.contains("User=") && !line.contains("Group="))
        .collect();
    assert!(
        verify.status.success() && ours.is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let score_line = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "no score in:\n{report}{}",
                String::from_utf8_lossy(&security.stderr)
            )
        });
    eprintln!("systemd-analyze security: {score_line}");
    let score: f32 = score_line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap();
    assert!(
        score <= 3.0,
        "exposure {score} is worse than the 3.0 we hold the unit to:\n{report}"
    );
}

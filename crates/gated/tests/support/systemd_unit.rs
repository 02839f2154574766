//! systemd unit checks shared by the tests of gated's and central's units (central's tests
//! include this file by path): `systemd-analyze verify` and the offline exposure score.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// `systemd-analyze verify` accepts the unit at `path`: it exits 0 and names no problem of that
/// unit (users and groups the packages create are not on the test machine: ignored).
pub fn assert_unit_verifies(path: &Path) {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        panic!("systemd-analyze not found: run `cargo xtask setup`");
    };
    assert!(version.status.success());
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&verify.stderr);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(name.as_str()))
        .filter(|line| !line.contains("User=") && !line.contains("Group="))
        .collect();
    assert!(
        verify.status.success() && ours.is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );
}

/// The unit's overall exposure level from `systemd-analyze security --offline=yes`, with the
/// whole report for an assertion message.
pub fn exposure(path: &Path) -> (f32, String) {
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout).into_owned();
    let score = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.parse().ok()))
        .unwrap_or_else(|| {
            panic!(
                "no score in:\n{report}{}",
                String::from_utf8_lossy(&security.stderr)
            )
        });
    eprintln!("systemd-analyze security {}: {score}", path.display());
    (score, report)
}

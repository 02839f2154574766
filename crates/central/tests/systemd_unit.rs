//! The packaged unit `systemd/gate-central.service`: `systemd-analyze verify` accepts it with
//! the built binary in place of /usr/bin/gate-central, its hardening scores at most 2.0, and
//! the settings file the package ships (`debian/central.env`) gives every variable it uses.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The unit with the built binary and a copy of the packaged settings file, in `dir`.
fn unit_in(dir: &Path) -> std::path::PathBuf {
    let env_file = dir.join("central.env");
    std::fs::copy(root().join("crates/central/debian/central.env"), &env_file).unwrap();
    let unit = std::fs::read_to_string(root().join("systemd/gate-central.service"))
        .unwrap()
        .replace("/usr/bin/gate-central", env!("CARGO_BIN_EXE_central"))
        .replace(
            "/etc/gate-central/central.env",
            &env_file.display().to_string(),
        );
    let path = dir.join("gate-central.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_central_unit_verifies_and_is_hardened() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        panic!("systemd-analyze not found: run `cargo xtask setup`");
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = unit_in(dir.path());
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&verify.stderr);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("gate-central.service"))
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
    let score: f32 = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.parse().ok()))
        .unwrap_or_else(|| panic!("no score in:\n{report}"));
    eprintln!("systemd-analyze security gate-central.service: {score}");
    assert!(
        score <= 2.0,
        "exposure {score} is worse than the 2.0 we hold the unit to:\n{report}"
    );
}

#[test]
fn the_packaged_settings_give_every_variable_the_unit_uses() {
    let unit = std::fs::read_to_string(root().join("systemd/gate-central.service")).unwrap();
    let settings =
        std::fs::read_to_string(root().join("crates/central/debian/central.env")).unwrap();
    for variable in ["CENTRAL_LISTEN", "CENTRAL_DATABASE", "CENTRAL_TLS"] {
        assert!(unit.contains(variable), "the unit does not use {variable}");
        assert!(
            settings
                .lines()
                .any(|l| l.starts_with(&format!("{variable}="))),
            "central.env does not set {variable}"
        );
    }
    // The default database lives in the unit's state directory, the only place it may write.
    assert!(unit.contains("StateDirectory=gate-central"));
    assert!(settings.contains("CENTRAL_DATABASE=sqlite:/var/lib/gate-central/"));
}

//! The packaged unit `systemd/gate-central.service`: `systemd-analyze verify` accepts it with
//! the built binary in place of /usr/bin/gate-central, its hardening scores at most 2.0, and
//! the settings file the package ships (`debian/central.env`) gives every variable it uses.
#![allow(clippy::unwrap_used)]

#[path = "../../gated/tests/support/systemd_unit.rs"]
mod unit_checks;

use std::path::Path;

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
    let dir = tempfile::tempdir().unwrap();
    let path = unit_in(dir.path());
    unit_checks::assert_unit_verifies(&path);
    let (score, report) = unit_checks::exposure(&path);
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
    for variable in [
        "CENTRAL_LISTEN",
        "CENTRAL_DATABASE",
        "CENTRAL_TLS",
        "CENTRAL_PUBLIC",
    ] {
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

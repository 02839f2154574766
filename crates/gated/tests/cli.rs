//! `gated --check-config` and the systemd unit.
#![allow(clippy::unwrap_used)]

#[path = "support/systemd_unit.rs"]
mod systemd_unit;

use std::path::Path;
use std::process::Command;
use systemd_unit::{assert_unit_verifies, exposure};

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

/// The shipped face-gate example with its `[face]` models pointing at the repository's (what
/// the package installs under /usr/share/gated/models), as typed values.
fn example_with_repository_models() -> gate_config::GateConfig {
    let mut config = gate_config::load(&root().join("firmware-config/face-gate-example.toml"))
        .unwrap()
        .config;
    let models = root().join("models").canonicalize().unwrap();
    let face = config.face.as_mut().unwrap();
    face.detector = models.join("mtcnn.toml");
    face.embedder = models.join("dlib_resnet128.toml");
    face.attack = Some(models.join("face_antispoofing_expo.toml"));
    config
}

#[test]
fn check_config_logs_the_resolved_thresholds_and_refuses_a_pin_to_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.toml");
    let config = example_with_repository_models();
    std::fs::write(&path, config.to_toml().unwrap()).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("policy.face.match: target FMR 5e-4 -> threshold"),
        "{text}"
    );
    assert!(
        text.contains("policy.face.attack: target BPCER 1e-2"),
        "{text}"
    );

    // The same number, pinned to a model file the gate does not load (the int8 or the
    // face-api copy of the network, say): refused, naming the key.
    let mut pinned = config.clone();
    pinned.face_policy.target_fmr = None;
    pinned.face_policy.match_threshold = Some(gate_config::schema::ThresholdSetting::Pinned(
        gate_config::schema::PinnedThreshold {
            value: 0.53,
            model_sha256: "ea0b3d226733329291d579bcb3405fe3e515ec63b471ecb156d304ec49932e9b".into(),
        },
    ));
    std::fs::write(&path, pinned.to_toml().unwrap()).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "gate.toml: policy.face.match_threshold: pinned to model file sha256 ea0b3d22"
        ),
        "{text}"
    );
    // A bare number, as the examples used to ship.
    let mut bare = config;
    bare.face_policy.target_fmr = None;
    bare.face_policy.match_threshold = Some(gate_config::schema::ThresholdSetting::Bare(0.36));
    std::fs::write(&path, bare.to_toml().unwrap()).unwrap();
    let (code, text) = check(&path);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("policy.face.match_threshold: a bare threshold (0.36) means nothing"),
        "{text}"
    );
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
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root().join("systemd/gated.service"))
        .unwrap()
        .replace("/usr/bin/gated", env!("CARGO_BIN_EXE_gated"));
    let path = dir.path().join("gated.service");
    std::fs::write(&path, unit).unwrap();
    assert_unit_verifies(&path);
    let (score, report) = exposure(&path);
    assert!(
        score <= 3.0,
        "exposure {score} is worse than the 3.0 we hold the unit to:\n{report}"
    );
}

#[test]
fn the_screen_kiosk_unit_verifies_and_shows_the_configured_page() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("systemd/gate-screen.service")).unwrap();
    // The page it shows is the one the shipped examples serve.
    let example = gate_config::load(&root().join("firmware-config/face-gate-example.toml"))
        .unwrap_or_else(|err| panic!("{err}"))
        .config;
    let listen = example.screen.expect("the example has a [screen]").listen;
    assert!(
        text.contains(&format!("http://{listen}/")),
        "gate-screen.service does not show http://{listen}/"
    );
    let path = dir.path().join("gate-screen.service");
    std::fs::write(&path, &text).unwrap();
    assert_unit_verifies(&path);
}

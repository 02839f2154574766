use super::*;

const SIM: &str = include_str!("../../../firmware-config/sim-face-gate.toml");

fn problems_of(text: &str) -> Vec<Problem> {
    match parse(text, Path::new("test.toml")) {
        Ok(loaded) => panic!("accepted: {:?}", loaded.config.gate),
        Err(err) => err.problems,
    }
}

fn keys_of(text: &str) -> Vec<String> {
    problems_of(text).into_iter().map(|p| p.key).collect()
}

#[test]
fn every_shipped_file_is_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firmware-config");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let loaded = load(&path).unwrap_or_else(|err| panic!("{err}"));
            assert!(!loaded.config.gate.id.is_empty());
            count += 1;
        }
    }
    assert!(count >= 3, "expected the simulated gate and the examples");
}

#[test]
fn simulated_gate_is_fully_simulated() {
    let loaded = parse(SIM, Path::new("sim.toml")).unwrap();
    assert!(loaded.config.fully_simulated());
    assert_eq!(loaded.config.control_mode, 0o660);
    assert_eq!(loaded.config.gate.profile, GateProfile::FaceGate);
    // No key file: warned, not refused.
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.key == "privacy.document_hash_key_file")
    );
}

#[test]
fn unknown_keys_are_named() {
    let text = SIM.replace("[gate]\n", "[gate]\ncolour = \"blue\"\n");
    let text = text.replace(
        "max_attempts = 3\ncapture_timeout_ms = 15000",
        "max_attempts = 3\ncapture_timeout_ms = 15000\nthreshhold = 1",
    );
    let text = format!("{text}\n[extras]\nx = 1\n");
    assert_eq!(
        keys_of(&text),
        ["gate.colour", "policy.face.threshhold", "extras"]
    );
}

#[test]
fn wrong_type_is_named() {
    let text = SIM.replace("match_threshold = 0.36", "match_threshold = \"high\"");
    let problems = problems_of(&text);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "policy.face.match_threshold");
    assert!(
        problems[0].message.contains("invalid type"),
        "{}",
        problems[0].message
    );
}

#[test]
fn out_of_range_values_are_all_named() {
    let text = SIM
        .replace("match_threshold = 0.36", "match_threshold = 1.5")
        .replace("outbox_max_mb = 64", "outbox_max_mb = 0")
        .replace("mode = \"0660\"", "mode = \"0666\"");
    assert_eq!(
        keys_of(&text),
        [
            "control.mode",
            "storage.outbox_max_mb",
            "policy.face.match_threshold"
        ]
    );
}

#[test]
fn missing_device_path_is_named() {
    let text = SIM.replace(
        "[devices.camera]\nbackend = \"simulated\"\ncapture_ms = 700",
        "[devices.camera]\nbackend = \"v4l2\"\nformat = \"yuyv\"\nwidth = 640\nheight = 480\nfps = 30",
    );
    let keys = keys_of(&text);
    assert!(
        keys.contains(&"devices.camera.device".to_owned()),
        "{keys:?}"
    );
}

#[test]
fn relative_device_path_is_refused_and_absent_one_warned() {
    let text = SIM.replace(
        "[devices.camera]\nbackend = \"simulated\"\ncapture_ms = 700",
        "[devices.camera]\nbackend = \"v4l2\"\ndevice = \"video0\"\nformat = \"yuyv\"\nwidth = 640\nheight = 480\nfps = 30",
    );
    assert!(keys_of(&text).contains(&"devices.camera.device".to_owned()));
    let text = SIM
        .replace(
            "[devices.camera]\nbackend = \"simulated\"\ncapture_ms = 700",
            "[devices.camera]\nbackend = \"v4l2\"\ndevice = \"/dev/no-such-camera\"\nformat = \"yuyv\"\nwidth = 640\nheight = 480\nfps = 30",
        )
        .replace("autopilot_interval_ms = 0", "")
        + "\n[face]\nonnxruntime = \"/x.so\"\ndetector = \"/d.toml\"\nembedder = \"/e.toml\"\n";
    let loaded = parse(&text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.key == "devices.camera.device")
    );
}

#[test]
fn profile_requires_its_devices() {
    let text = SIM.replace(
        "[devices.door]\nbackend = \"simulated\"\npassage_ms = 1500\n",
        "",
    );
    assert_eq!(keys_of(&text), ["devices.door"]);
    let text = SIM.replace("profile = \"face_gate\"", "profile = \"bio_cart\"");
    assert_eq!(keys_of(&text), ["devices.fingerprint"]);
}

#[test]
fn duplicate_gpio_lines_are_refused() {
    let text = include_str!("../../../firmware-config/fingerprint-gate-example.toml")
        .replace("red_light = { line = 22 }", "red_light = { line = 17 }");
    let problems = problems_of(&text);
    assert_eq!(problems[0].key, "devices.door.outputs.red_light.line");
    assert!(problems[0].message.contains("lock_release"));
}

#[test]
fn syntax_errors_are_reported_not_panicked() {
    let problems = problems_of("[gate\nid = ");
    assert_eq!(problems[0].key, "(syntax)");
    assert_eq!(keys_of(""), ["gate", "policy", "devices"]);
}

#[test]
fn display_names_file_and_key() {
    let err = parse(
        "[gate]\nid = \"x\"\nprofile = \"tram\"\n",
        Path::new("/etc/g.toml"),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("/etc/g.toml: gate.profile: unknown variant `tram`"),
        "{text}"
    );
}

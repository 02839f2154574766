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
fn every_shipped_file_survives_a_typed_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firmware-config");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let loaded = load(&path).unwrap_or_else(|err| panic!("{err}"));
        let text = loaded.config.to_toml().unwrap();
        let again = parse(&text, &path).unwrap_or_else(|err| panic!("{err}\n{text}"));
        assert_eq!(again.config, loaded.config, "{}", path.display());
    }
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
    let text = SIM.replace("target_fmr = 0.0005", "target_fmr = \"low\"");
    let problems = problems_of(&text);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "policy.face.target_fmr");
    assert!(
        problems[0].message.contains("invalid type"),
        "{}",
        problems[0].message
    );
}

#[test]
fn out_of_range_values_are_all_named() {
    let text = SIM
        .replace("target_fmr = 0.0005", "target_fmr = 1.5")
        .replace("outbox_max_mb = 64", "outbox_max_mb = 0")
        .replace("mode = \"0660\"", "mode = \"0666\"");
    assert_eq!(
        keys_of(&text),
        [
            "control.mode",
            "storage.outbox_max_mb",
            "policy.face.target_fmr"
        ]
    );
}

#[test]
fn a_bare_threshold_is_refused_with_what_to_write_instead() {
    let text = SIM.replace("target_fmr = 0.0005", "match_threshold = 0.36");
    let problems = problems_of(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "policy.face.match_threshold");
    for hint in ["target_fmr = 0.0005", "model_sha256"] {
        assert!(
            problems[0].message.contains(hint),
            "{}",
            problems[0].message
        );
    }
}

#[test]
fn the_simulated_camera_resolves_every_target_to_its_fixed_threshold() {
    let loaded = parse(SIM, Path::new("sim.toml")).unwrap();
    assert_eq!(
        loaded.config.policy.face.match_threshold,
        operating_point::SIMULATOR_THRESHOLD
    );
    let notes = loaded.config.operating_point_notes();
    assert!(notes[0].message.contains("simulated camera"), "{notes:?}");
    // Nothing to pin to.
    let text = SIM.replace(
        "target_fmr = 0.0005",
        &format!(
            "match_threshold = {{ value = 0.5, model_sha256 = \"{}\" }}",
            "a".repeat(64)
        ),
    );
    assert_eq!(keys_of(&text), ["policy.face.match_threshold"]);
}

/// A face gate on a frame-folder camera whose models live in a temporary directory: an embedder
/// and an attack model (stand-in ONNX files: resolution only hashes them) with calibrations.
struct ModelDir {
    dir: tempfile::TempDir,
    embedder_sha256: String,
    attack_sha256: String,
}

impl ModelDir {
    fn new() -> Self {
        use face::calibration::{AttackCalibration, MatchCalibration, Provenance};
        let dir = tempfile::tempdir().unwrap();
        let mut shas = Vec::new();
        for (name, task, section) in [
            (
                "emb",
                "embedder",
                "[embedder]\noutput = \"e\"\nembedding_size = 4\nalignment = { template = \"arcface\", size = 112 }\ndistance = \"cosine\"\ncalibration = \"emb.calibration.toml\"\n",
            ),
            (
                "pad",
                "attack",
                "[attack]\nrule = \"deep_tree_leaf_sum\"\nclass_output = \"a\"\nleaf_mask_output = \"b\"\ncalibration = \"pad.calibration.toml\"\n",
            ),
        ] {
            let model = dir.path().join(format!("{name}.onnx"));
            std::fs::write(&model, format!("stand-in model {name}")).unwrap();
            let sha = face::runtime::sha256_file(&model).unwrap();
            let manifest = format!(
                "name = \"{name}\"\ntask = \"{task}\"\nlicence = \"test\"\nsource = \"test\"\n[[files]]\nrole = \"main\"\npath = \"{name}.onnx\"\nsha256 = \"{sha}\"\ninput = {{ layout = \"NCHW\", colour = \"rgb\", mean = [0.0, 0.0, 0.0], std = [1.0, 1.0, 1.0], size = [8, 8] }}\n{section}"
            );
            std::fs::write(dir.path().join(format!("{name}.toml")), manifest).unwrap();
            shas.push(sha);
        }
        let provenance = |sha: &str| Provenance {
            model: "m".into(),
            model_sha256: sha.into(),
            detector: "d".into(),
            detector_sha256: "0".repeat(64),
            dataset: "synthetic scores".into(),
            created: "2026-12-07".into(),
            command: "test".into(),
            images_without_face: 0,
        };
        // 100,000 impostor scores evenly over 0..1: FMR 5e-4 -> about 0.9995.
        let impostors: Vec<f32> = (0..100_000).map(|i| i as f32 / 100_000.0).collect();
        MatchCalibration::from_scores(
            provenance(&shas[0]),
            "cosine".into(),
            impostors,
            100_000,
            &[0.99; 10],
        )
        .save(&dir.path().join("emb.calibration.toml"))
        .unwrap();
        let bona_fide: Vec<f32> = (0..1_000).map(|i| i as f32 / 1_000.0).collect();
        AttackCalibration::from_scores(provenance(&shas[1]), "not measured".into(), &bona_fide)
            .save(&dir.path().join("pad.calibration.toml"))
            .unwrap();
        Self {
            embedder_sha256: shas[0].clone(),
            attack_sha256: shas[1].clone(),
            dir,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The simulated gate with a frame-folder camera, these models and `face_policy` as the
    /// operating-point lines of `[policy.face]`.
    fn gate(&self, face_policy: &str) -> String {
        let text = SIM.replace(
            "[devices.camera]\nbackend = \"simulated\"\ncapture_ms = 700",
            &format!(
                "[devices.camera]\nbackend = \"frames\"\ndir = \"{}\"\nfps = 10",
                self.dir.path().display()
            ),
        );
        let text = text.replace("autopilot_interval_ms = 0", "");
        let start = text.find("[policy.face]").unwrap();
        let end = start + text[start..].find("max_attempts").unwrap();
        format!(
            "{}[policy.face]\n{face_policy}\n{}\n[face]\nonnxruntime = \"/x.so\"\ndetector = \"{}\"\nembedder = \"{}\"\nattack = \"{}\"\n",
            &text[..start],
            &text[end..],
            self.path("det.toml"),
            self.path("emb.toml"),
            self.path("pad.toml")
        )
    }
}

#[test]
fn targets_resolve_through_the_calibrations_of_the_configured_models() {
    let models = ModelDir::new();
    let loaded = parse(
        &models.gate("target_fmr = 0.0005\nattack_target_bpcer = 0.01"),
        Path::new("t.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let face = &loaded.config.policy.face;
    // The 50 highest of 100,000 impostors are accepted at FMR 5e-4.
    assert!((face.match_threshold - 0.99950).abs() < 2e-5, "{face:?}");
    assert!((face.attack_threshold - 0.989).abs() < 1e-6, "{face:?}");
    let notes = loaded.config.operating_point_notes();
    assert!(notes[0].message.contains("target FMR 5e-4"), "{notes:?}");
    assert!(notes[1].message.contains("target BPCER 1e-2"), "{notes:?}");
    // Between rows: the stricter row.
    let loaded = parse(
        &models.gate("target_fmr = 0.0007\nattack_target_bpcer = 0.01"),
        Path::new("t.toml"),
    )
    .unwrap();
    assert!((loaded.config.policy.face.match_threshold - 0.99950).abs() < 2e-5);
}

#[test]
fn a_threshold_pinned_to_another_model_file_is_refused_and_its_own_accepted() {
    let models = ModelDir::new();
    let other = "b".repeat(64);
    let problems = problems_of(&models.gate(&format!(
        "match_threshold = {{ value = 0.6, model_sha256 = \"{other}\" }}\nattack_target_bpcer = 0.01"
    )));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "policy.face.match_threshold");
    assert!(
        problems[0].message.contains(&other),
        "{}",
        problems[0].message
    );
    assert!(problems[0].message.contains(&models.embedder_sha256));
    let loaded = parse(
        &models.gate(&format!(
            "match_threshold = {{ value = 0.6, model_sha256 = \"{}\" }}\nattack_threshold = {{ value = 0.3, model_sha256 = \"{}\" }}",
            models.embedder_sha256, models.attack_sha256
        )),
        Path::new("t.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.policy.face.match_threshold, 0.6);
    assert_eq!(loaded.config.policy.face.attack_threshold, 0.3);
}

#[test]
fn targets_the_calibration_cannot_support_are_refused() {
    let models = ModelDir::new();
    // 100,000 impostor comparisons support FMR 3e-5 at best.
    let problems = problems_of(&models.gate("target_fmr = 0.00001\nattack_target_bpcer = 0.01"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "policy.face.target_fmr");
    assert!(
        problems[0].message.contains("below the smallest"),
        "{}",
        problems[0].message
    );
    // 1,000 bona fide faces support BPCER 0.003 at best.
    let problems = problems_of(&models.gate("target_fmr = 0.0005\nattack_target_bpcer = 0.001"));
    assert_eq!(problems[0].key, "policy.face.attack_target_bpcer");
}

#[test]
fn a_model_without_calibration_and_a_calibration_of_another_model_are_refused() {
    let models = ModelDir::new();
    let manifest = models.dir.path().join("emb.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("calibration = \"emb.calibration.toml\"\n", ""),
    )
    .unwrap();
    let problems = problems_of(&models.gate("target_fmr = 0.0005\nattack_target_bpcer = 0.01"));
    assert_eq!(problems[0].key, "policy.face.target_fmr");
    assert!(
        problems[0].message.contains("no calibration"),
        "{}",
        problems[0].message
    );
    // A table measured with another model file.
    std::fs::write(&manifest, &text).unwrap();
    let table = models.dir.path().join("emb.calibration.toml");
    let measured = std::fs::read_to_string(&table).unwrap();
    std::fs::write(
        &table,
        measured.replace(&models.embedder_sha256, &"c".repeat(64)),
    )
    .unwrap();
    let problems = problems_of(&models.gate("target_fmr = 0.0005\nattack_target_bpcer = 0.01"));
    assert_eq!(problems[0].key, "face.embedder", "{problems:?}");
    assert!(
        problems[0].message.contains("recalibrate"),
        "{}",
        problems[0].message
    );
}

#[test]
fn both_a_target_and_a_pinned_threshold_is_refused_and_neither_is_required() {
    let models = ModelDir::new();
    let problems = problems_of(&models.gate(&format!(
        "target_fmr = 0.0005\nmatch_threshold = {{ value = 0.6, model_sha256 = \"{}\" }}\nattack_target_bpcer = 0.01",
        models.embedder_sha256
    )));
    assert_eq!(problems[0].key, "policy.face.match_threshold");
    assert!(problems[0].message.contains("not both"));
    let problems = problems_of(&models.gate("attack_target_bpcer = 0.01"));
    assert_eq!(problems[0].key, "policy.face.target_fmr");
    assert!(problems[0].message.contains("required"));
}

#[test]
fn models_missing_on_this_machine_are_a_warning_and_leave_the_strictest_thresholds() {
    if Path::new("/usr/share/gated/models/dlib_resnet128.toml").exists() {
        return; // an installed gate resolves for real
    }
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firmware-config/face-gate-example.toml");
    let loaded = load(&example).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        loaded.config.face_operating_points,
        operating_point::FaceOperatingPoints::Unavailable { .. }
    ));
    assert_eq!(
        loaded.config.policy.face.match_threshold,
        operating_point::STRICTEST_MATCH
    );
    assert!(
        loaded.warnings.iter().any(|w| w.key == "policy.face"),
        "{:?}",
        loaded.warnings
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

#[test]
fn fingerprint_module_address_and_password_default_to_the_factory_values() {
    let text = include_str!("../../../firmware-config/fingerprint-gate-example.toml");
    let loaded = parse(text, Path::new("fingerprint-gate-example.toml")).unwrap();
    assert!(
        matches!(
            loaded.config.devices.fingerprint,
            Some(FingerprintConfig::R30x {
                address: None,
                password: None,
                baud: 57_600,
                ..
            })
        ),
        "{:?}",
        loaded.config.devices.fingerprint
    );
    // A module whose address and password were changed, written in hex as its manual does.
    let changed: FingerprintConfig = toml::from_str(
        "backend = \"r30x\"\nport = \"/dev/gate/fingerprint\"\naddress = 0x0000_0001\npassword = 0x0BAD_CAFE\n",
    )
    .unwrap();
    assert!(matches!(
        changed,
        FingerprintConfig::R30x {
            address: Some(1),
            password: Some(0x0BAD_CAFE),
            ..
        }
    ));
}

#[test]
fn real_door_timings_and_input_debounce_are_configurable() {
    let example = include_str!("../../../firmware-config/face-gate-example.toml");
    let line = "exit_beam = { line = 10, active_low = true }";
    assert!(
        example.contains(line),
        "the example's exit beam line changed"
    );
    let text = format!(
        "{example}\n[devices.door.timings]\nheld_open_ms = 20000\nbeam_debounce_ms = 30\n"
    )
    .replace(
        line,
        "exit_beam = { line = 10, active_low = true, bias = \"pull-up\", debounce_ms = 10 }",
    );
    let loaded = parse(&text, Path::new("test.toml")).unwrap_or_else(|err| panic!("{err}"));
    let door = loaded.config.devices.door.unwrap();
    let machine = door.machine_config();
    assert_eq!(machine.timings.held_open_ms, 20_000);
    assert_eq!(machine.timings.beam_debounce_ms, 30);
    assert_eq!(
        machine.timings.door_debounce_ms,
        gate_core::turnstile::TurnstileTimings::default().door_debounce_ms
    );
    let exit = door.io_config().inputs.exit_beam.unwrap();
    assert_eq!(exit.debounce_ms, 10);
    assert_eq!(exit.bias, devices::turnstile::InputBias::PullUp);
    // Out of range: named by key.
    let keys = keys_of(&text.replace("held_open_ms = 20000", "held_open_ms = 5"));
    assert_eq!(keys, ["devices.door.timings.held_open_ms"]);
    let keys = keys_of(&text.replace("debounce_ms = 10 }", "debounce_ms = 5000 }"));
    assert_eq!(keys, ["devices.door.inputs.exit_beam.debounce_ms"]);
}

#[test]
fn a_screen_section_is_checked_by_key() {
    let mut config = parse(SIM, Path::new("sim.toml")).unwrap().config;
    let mut screen = config.screen.clone().expect("the demo has a screen");
    screen.listen = "0.0.0.0:8088".parse().unwrap();
    screen.default_language = "fr".into();
    screen.languages = vec!["ja".into(), "tlh".into()];
    screen
        .nationality_languages
        .insert("Fra".into(), "en".into());
    screen.outcome_s = 0;
    screen.officers = vec![
        screen::OfficerCredential {
            id: "NRT 1".into(),
            secret_sha256: "ABC".into(),
        },
        screen::OfficerCredential {
            id: "NRT-2".into(),
            secret_sha256: "0".repeat(64),
        },
        screen::OfficerCredential {
            id: "NRT-2".into(),
            secret_sha256: "0".repeat(64),
        },
    ];
    config.screen = Some(screen);
    let keys = keys_of(&config.to_toml().unwrap());
    for key in [
        "screen.listen",
        "screen.default_language",
        "screen.languages",
        "screen.nationality_languages.Fra",
        "screen.outcome_s",
        "screen.officers[0].id",
        "screen.officers[0].secret_sha256",
        "screen.officers[2].id",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} not named in {keys:?}");
    }
    // A language the agency adds with a catalogue file is accepted.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fr.ftl"), "language-name = Français\n").unwrap();
    let mut config = parse(SIM, Path::new("sim.toml")).unwrap().config;
    let mut screen = config.screen.clone().unwrap();
    screen.catalogues = Some(dir.path().to_owned());
    screen.languages.push("fr".into());
    screen
        .nationality_languages
        .insert("FRA".into(), "fr".into());
    config.screen = Some(screen);
    let text = config.to_toml().unwrap();
    parse(&text, Path::new("fr.toml")).unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn a_metrics_section_is_checked_by_key() {
    // Absent: metrics off.
    let mut config = parse(SIM, Path::new("sim.toml")).unwrap().config;
    config.metrics = None;
    let off = parse(&config.to_toml().unwrap(), Path::new("off.toml")).unwrap();
    assert_eq!(off.config.metrics, None);

    // Neither an address nor a file: refused, the section named.
    config.metrics = Some(metrics::MetricsSection {
        listen: None,
        textfile: None,
        textfile_interval_s: 15,
    });
    assert_eq!(keys_of(&config.to_toml().unwrap()), ["metrics"]);

    // A relative textfile, a file the collector would not read, an interval out of range.
    for (textfile, interval, key) in [
        ("gated.prom", 15, "metrics.textfile"),
        (
            "/var/lib/prometheus/node-exporter/gated.txt",
            15,
            "metrics.textfile",
        ),
        ("/tmp/gated.prom", 0, "metrics.textfile_interval_s"),
        ("/tmp/gated.prom", 3601, "metrics.textfile_interval_s"),
    ] {
        config.metrics = Some(metrics::MetricsSection {
            listen: None,
            textfile: Some(textfile.into()),
            textfile_interval_s: interval,
        });
        assert_eq!(
            keys_of(&config.to_toml().unwrap()),
            [key],
            "{textfile} {interval}"
        );
    }

    // An address off loopback and a directory missing here are warnings, not refusals.
    config.metrics = Some(metrics::MetricsSection {
        listen: Some("0.0.0.0:9464".parse().unwrap()),
        textfile: Some("/nonexistent-collector-dir/gated.prom".into()),
        textfile_interval_s: 30,
    });
    let loaded = parse(&config.to_toml().unwrap(), Path::new("m.toml")).unwrap();
    let warned: Vec<&str> = loaded.warnings.iter().map(|w| w.key.as_str()).collect();
    assert!(warned.contains(&"metrics.listen"), "{warned:?}");
    assert!(warned.contains(&"metrics.textfile"), "{warned:?}");
    assert_eq!(loaded.config.metrics, config.metrics, "a typed round trip");

    // An unknown key in the section is named.
    let text = format!(
        "{}\n[metrics]\nlisten = \"127.0.0.1:9464\"\nport = 9464\n",
        {
            let mut c = config.clone();
            c.metrics = None;
            c.to_toml().unwrap()
        }
    );
    assert!(
        keys_of(&text).iter().any(|k| k.starts_with("metrics")),
        "{:?}",
        keys_of(&text)
    );
}

#[test]
fn every_shipped_file_has_a_metrics_block_that_parses_once_uncommented() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firmware-config");
    for name in [
        "sim-face-gate.toml",
        "face-gate-example.toml",
        "biocart-example.toml",
        "fingerprint-gate-example.toml",
    ] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        // The block: `#[metrics]` and the `#key = value` lines after it.
        let mut on = false;
        let uncommented: Vec<String> = text
            .lines()
            .map(|line| {
                on = line == "#[metrics]"
                    || (on && line.starts_with('#') && !line.starts_with("# "));
                if on {
                    line[1..].to_owned()
                } else {
                    line.to_owned()
                }
            })
            .collect();
        let loaded = parse(&uncommented.join("\n"), &path).unwrap_or_else(|err| panic!("{err}"));
        let metrics = loaded.config.metrics.expect(name);
        assert_eq!(
            metrics.listen,
            Some("127.0.0.1:9464".parse().unwrap()),
            "{name}"
        );
        assert_eq!(
            metrics.textfile.as_deref(),
            Some(Path::new("/var/lib/prometheus/node-exporter/gated.prom")),
            "{name}"
        );
        assert!(
            load(&path).unwrap().config.metrics.is_none(),
            "{name}: off as shipped"
        );
    }
}

#[test]
fn the_site_and_the_heartbeat_are_checked_by_key() {
    let with_site = |site: &str| {
        SIM.replace(
            "site = { airport = \"HND\", terminal = \"T3\", zone = \"demo\" }",
            site,
        )
    };
    assert!(parse(&with_site(""), Path::new("t.toml")).is_ok());
    assert_eq!(
        keys_of(&with_site(
            "site = { airport = \"hnd\", terminal = \"\", zone = \"dep/1\" }"
        )),
        ["gate.site.airport", "gate.site.terminal", "gate.site.zone"]
    );
    assert_eq!(
        keys_of(&with_site(
            "site = { airport = \"RJTT\", terminal = \"T3\", zone = \"departures\", gate = 1 }"
        )),
        ["gate.site.gate"]
    );
    assert_eq!(
        keys_of(&(SIM.to_owned() + "\n[reporting]\nheartbeat_s = 0\n")),
        ["reporting.heartbeat_s"]
    );
    // Without a site a gate that syncs is warned: central lists it under no site.
    let text = with_site("") + "\n[central]\nurl = \"http://127.0.0.1:8090\"\n";
    let loaded = parse(&text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.iter().any(|w| w.key == "gate.site"));
}

#[test]
fn legacy_pace_groups_default_to_accept_and_refuse_round_trips_with_its_warning() {
    let key = "devices.chip_reader.legacy_pace_groups";
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firmware-config/face-gate-example.toml");
    let shipped = load(&example).unwrap_or_else(|err| panic!("{err}"));
    // The example does not name the key: PACE on the legacy sets is accepted.
    let Some(ChipReaderConfig::Pcsc {
        legacy_pace_groups, ..
    }) = &shipped.config.devices.chip_reader
    else {
        panic!("the example's chip reader is not PC/SC")
    };
    assert_eq!(*legacy_pace_groups, LegacyPaceGroups::Accept);
    assert!(shipped.warnings.iter().all(|w| w.key != key));

    // The same gate, typed, refusing the legacy sets: with BAC allowed it is warned about (such
    // chips are read with BAC), PACE-only it is not.
    for allow_bac in [true, false] {
        let mut config = shipped.config.clone();
        let Some(ChipReaderConfig::Pcsc {
            legacy_pace_groups,
            allow_bac: bac,
            ..
        }) = &mut config.devices.chip_reader
        else {
            unreachable!()
        };
        *legacy_pace_groups = LegacyPaceGroups::Refuse;
        *bac = allow_bac;
        let text = config.to_toml().unwrap();
        let loaded = parse(&text, &example).unwrap_or_else(|err| panic!("{err}\n{text}"));
        assert_eq!(loaded.config, config);
        assert_eq!(
            loaded.warnings.iter().any(|w| w.key == key),
            allow_bac,
            "{:?}",
            loaded.warnings
        );
    }
}

//! The pre-registered fingerprint gate with its real R30x driver talking, over a real
//! pseudo-terminal at 57600 baud, to the module simulator (a test tool speaking the module's
//! protocol); enrolments come from the real central server as a down-synced list. The chip
//! reader and door are the simulated ones.
//!
//! Configurations are the shipped example files read as typed values, with the parts this
//! machine does not have (PC/SC reader, GPIO door, TLS to central) replaced by simulators and
//! temporary files, and written back as TOML for gated. The `[devices.fingerprint]` section
//! stays as shipped but for its port.
#![allow(clippy::unwrap_used)]

#[path = "../../devices/tests/support/r30x_manual.rs"]
mod r30x_manual;
mod support;

use devices::fingerprint::r30x::{R30xConfig, ReconnectPolicy, SerialR30x, SerialSettings};
use devices::fingerprint::simulator::{
    ModuleSimulator, SimulatedFinger, SimulatedModuleConfig, SimulatorOptions,
};
use devices::fingerprint::{FingerprintSensor, Template, TemplateSlot};
use gate_config::GateConfig;
use gate_config::schema::{
    CameraConfig, CentralSection, ChipReaderConfig, DoorConfig, FingerprintConfig,
};
use gate_protocol::{Health, Request, Response, SimulatedTraveller, StatusReport};
use gated::hashing::DocumentHasher;
use std::path::Path;
use support::{Gated, curl, start_central};

/// The module's password in the tests of a module whose password was changed.
const CHANGED_PASSWORD: u32 = 0x0BAD_CAFE;

fn load(name: &str) -> GateConfig {
    support::shipped(name)
}

/// The shipped example `name` with the module on `module_port`, everything else that needs
/// hardware or outside services replaced by simulators and files under `root`.
fn shipped_example(name: &str, root: &Path, module_port: &Path) -> GateConfig {
    let mut config = load(name);
    match config.devices.fingerprint.as_mut() {
        Some(FingerprintConfig::R30x { port, .. }) => *port = module_port.to_owned(),
        other => panic!("{name} has no R30x module: {other:?}"),
    }
    config.devices.chip_reader = Some(ChipReaderConfig::Simulated {
        read_ms: 40,
        photo: None,
    });
    config.devices.door = Some(DoorConfig::Simulated { passage_ms: 60 });
    if config.devices.camera.is_some() {
        config.devices.camera = Some(CameraConfig::Simulated { capture_ms: 40 });
        config.face = None;
    }
    config.central = None;
    config.trust = None;
    config.control.group = None;
    // The simulated chip reader's documents are Utopian.
    config.policy.eligibility = load("sim-face-gate.toml").policy.eligibility;
    let key_file = root.join("document-hash.key");
    std::fs::write(&key_file, [0x3c_u8; 32]).unwrap();
    config.privacy.document_hash_key_file = Some(key_file);
    if let Some(biocart) = config.biocart.as_mut() {
        let booth = outbox::handover::BoothPrivateKey::generate().unwrap();
        let booth_key = root.join("booth.pub");
        std::fs::write(&booth_key, booth.public_key().unwrap().to_hex()).unwrap();
        biocart.booth_public_key_file = booth_key;
    }
    config
}

fn fingerprint_health(status: &StatusReport) -> (Health, String) {
    let device = status
        .devices
        .iter()
        .find(|d| d.name == "fingerprint")
        .unwrap();
    (device.health, device.detail.clone())
}

/// Whether the gate is out of service for its fingerprint reader.
fn reader_unavailable(status: &StatusReport) -> bool {
    status
        .out_of_service_reasons
        .iter()
        .any(|r| r.as_str() == "FINGERPRINT_READER_UNAVAILABLE")
}

#[test]
fn the_shipped_examples_bring_a_factory_default_module_into_service() {
    for example_name in ["fingerprint-gate-example.toml", "biocart-example.toml"] {
        let root = tempfile::tempdir().unwrap();
        // A module as it leaves the factory: address FFFFFFFF, password 00000000.
        let simulator = ModuleSimulator::start(SimulatorOptions::default()).unwrap();
        let config = shipped_example(example_name, root.path(), &simulator.port_path());
        let gated = Gated::start_in(root.path(), &config);
        let status = gated.wait_for(&format!("{example_name}: the module in service"), |s| {
            fingerprint_health(s).0 == Health::Up
        });
        assert!(!reader_unavailable(&status), "{example_name}: {status:#?}");
    }
}

#[test]
fn a_module_with_another_password_is_down_for_that_reason_in_plain_words() {
    let root = tempfile::tempdir().unwrap();
    let simulator = ModuleSimulator::start(SimulatorOptions {
        module: SimulatedModuleConfig {
            password: CHANGED_PASSWORD,
            ..SimulatedModuleConfig::default()
        },
        ..SimulatorOptions::default()
    })
    .unwrap();
    let mut config = shipped_example(
        "fingerprint-gate-example.toml",
        root.path(),
        &simulator.port_path(),
    );
    let gated = Gated::start_in(root.path(), &config);
    let status = gated.wait_for("the wrong password to be reported", |s| {
        fingerprint_health(s).1.starts_with("wrong password")
    });
    let (health, detail) = fingerprint_health(&status);
    assert_eq!(health, Health::Down);
    assert!(
        detail.contains("devices.fingerprint.password") && detail.contains("00000000"),
        "{detail}"
    );
    assert!(reader_unavailable(&status), "{status:#?}");
    // The reason holds while the module keeps refusing (no "gone", no retry timings).
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(fingerprint_health(&gated.status()).1, detail);
    drop(gated);

    // With the module's password configured it comes into service.
    if let Some(FingerprintConfig::R30x { password, .. }) = config.devices.fingerprint.as_mut() {
        *password = Some(CHANGED_PASSWORD);
    }
    let state = tempfile::tempdir().unwrap();
    let gated = Gated::start_in(state.path(), &config);
    gated.wait_for("the module in service with its password", |s| {
        fingerprint_health(s).0 == Health::Up
    });
}

/// The template the module makes of `finger` (enrolled at library page 0, uploaded), as the
/// enrolment office would have stored it at central.
fn enrolment_template(simulator: &ModuleSimulator, finger: SimulatedFinger) -> Template {
    simulator.with_module(|module| module.enroll_synthetic(0, finger));
    let mut sensor = SerialR30x::open(
        SerialSettings::new(simulator.port_path()),
        R30xConfig::default(),
        ReconnectPolicy::default(),
    )
    .unwrap();
    sensor.load_template(0, TemplateSlot::First).unwrap();
    sensor.upload_template(TemplateSlot::First).unwrap()
}

/// `template` with its first `count` feature bits flipped (the simulator's templates carry
/// their features after an 8-byte header): a poorer enrolment of the same finger.
fn with_flipped_features(template: &Template, count: usize) -> Template {
    let mut bytes = template.as_bytes().to_vec();
    for bit in 0..count {
        bytes[8 + bit / 8] ^= 1 << (bit % 8);
    }
    Template::from_bytes(bytes)
}

fn put_list(central_url: &str, name: &str, items: serde_json::Value) {
    let body = serde_json::json!({ "version": 1, "items": items }).to_string();
    curl(&[
        "-X",
        "PUT",
        "-H",
        "content-type: application/json",
        "--data",
        &body,
        &format!("{central_url}/v1/lists/{name}"),
    ]);
}

#[test]
fn enrolled_traveller_passes_unregistered_wrong_and_near_miss_fingers_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let central = start_central(work.path());
    let simulator = ModuleSimulator::start(SimulatorOptions {
        record_traffic: true,
        ..SimulatorOptions::default()
    })
    .unwrap();
    let mut config = shipped_example(
        "fingerprint-gate-example.toml",
        work.path(),
        &simulator.port_path(),
    );
    config.central = Some(CentralSection {
        url: central.url.clone(),
        ca_file: None,
        client_cert: None,
        client_key: None,
        batch_size: 200,
        max_list_age_s: 3600,
    });
    let hasher =
        DocumentHasher::from_file(config.privacy.document_hash_key_file.as_ref().unwrap()).unwrap();

    let alice = SimulatedFinger::good(7);
    let mallory = SimulatedFinger::good(99);
    let alice_template = enrolment_template(&simulator, alice);
    // A poor enrolment of Alice's finger: 1750 of its 4032 feature bits differ, so her live
    // finger scores about 35 against it, under the module's threshold.
    let alice_poor_enrolment = with_flipped_features(&alice_template, 1750);
    // The simulated chip reader hands out SIM000001, SIM000002, ... in order: the first and
    // third documents are enrolled with Alice's right index, the second is not, the fourth
    // with the poor enrolment.
    let enrolled = |number: &str, template: &Template| {
        serde_json::json!({
            "document_hash": hasher.hash("UTO", number).to_hex(),
            "fingers": [{ "finger": "right_index", "template": hex::encode(template.as_bytes()) }],
        })
    };
    put_list(&central.url, "denylist", serde_json::json!([]));
    put_list(
        &central.url,
        "enrolments",
        serde_json::json!([
            enrolled("SIM000001", &alice_template),
            enrolled("SIM000003", &alice_template),
            enrolled("SIM000004", &alice_poor_enrolment),
        ]),
    );

    let threshold = u64::from(config.policy.fingerprint.match_threshold);
    let attempts = usize::from(config.policy.fingerprint.max_attempts);
    let gated = Gated::start_in(work.path(), &config);
    gated.wait_for("the module and the lists", |s| {
        s.out_of_service_reasons.is_empty() && fingerprint_health(s).0 == Health::Up
    });
    let traveller = |gated: &Gated| match gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    }) {
        Response::SimulationStarted {
            transaction_id: Some(id),
        } => id,
        other => panic!("not admitted: {other:?}"),
    };
    let last_reasons = |gated: &Gated| {
        gated
            .status()
            .last_outcome
            .unwrap()
            .reasons
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect::<Vec<_>>()
    };

    // 1. Alice, enrolled, puts her finger on the sensor: the door opens.
    simulator.place_finger(alice);
    traveller(&gated);
    gated.wait_for("the enrolled traveller to pass", |s| s.counters.passed == 1);

    // 2. An unregistered document: refused before any finger is asked for.
    traveller(&gated);
    gated.wait_for("the unregistered traveller's deny", |s| {
        s.counters.denied == 1
    });
    assert_eq!(last_reasons(&gated), ["NOT_ENROLLED"]);
    gated.ok(Request::OfficerReset);

    // 3. Alice's document, Mallory's finger: refused after the allowed attempts.
    simulator.place_finger(mallory);
    traveller(&gated);
    gated.wait_for("the wrong finger's deny", |s| s.counters.denied == 2);
    assert_eq!(
        last_reasons(&gated),
        ["FINGERPRINT_MISMATCH"],
        "{}",
        gated.log_text()
    );
    gated.ok(Request::OfficerReset);

    // 4. Alice against her poor enrolment: the module refuses the match; the score it sent
    //    is what the outcome records (an agency tunes its threshold on these).
    simulator.place_finger(alice);
    let near_miss = traveller(&gated);
    gated.wait_for("the near miss's deny", |s| s.counters.denied == 3);
    assert_eq!(last_reasons(&gated), ["FINGERPRINT_MISMATCH"]);
    let outcome = gated
        .all_outbox_events()
        .into_iter()
        .find(|e| {
            e["kind"] == "transaction.outcome"
                && e["payload"]["transaction_id"] == serde_json::to_value(near_miss).unwrap()
        })
        .unwrap();
    let recorded = outcome["payload"]["scores"]["fingerprint_match"]
        .as_u64()
        .unwrap();
    assert!(
        recorded > 0 && recorded < threshold,
        "recorded score {recorded}: {outcome}"
    );

    // On the wire: every verification downloaded the enrolment from central into the module
    // (DownChar, ZFM-70 §6.3.14: command 09H with the BufferID, acknowledged 00H, then the
    // template in data packages of the module's size, 128 bytes from the factory (§4.3.3), the
    // last one an end package) and matched the live finger against it (Match, §6.3.19).
    let traffic = simulator.traffic();
    let exchanges = r30x_manual::conversation(&traffic.from_host, &traffic.to_host);
    let verifications: Vec<_> = exchanges
        .windows(2)
        .filter(|pair| pair[0].command.payload[0] == 0x09)
        .collect();
    assert_eq!(
        verifications.len(),
        1 + 2 * attempts,
        "Alice once, Mallory and the near miss at every attempt"
    );
    for pair in &verifications {
        let (down_char, matched) = (&pair[0], &pair[1]);
        assert_eq!(down_char.command.payload, [0x09, 0x02], "into CharBuffer2");
        assert_eq!(down_char.ack.payload, [0x00], "ready for the data packages");
        let packages = &down_char.host_data;
        assert_eq!(packages.len(), 4, "512 bytes in packages of 128");
        for (index, package) in packages.iter().enumerate() {
            let last = index + 1 == packages.len();
            let identifier = if last {
                r30x_manual::END_OF_DATA
            } else {
                r30x_manual::DATA
            };
            assert_eq!(package.identifier, identifier);
            assert_eq!(package.length_field, 128 + 2);
        }
        assert_eq!(matched.command.payload, [0x03], "Match follows");
        assert_eq!(
            matched.ack.length_field, 0x05,
            "with its score, matched or not"
        );
    }
    let downloaded = |pair: &[r30x_manual::Exchange]| -> Vec<u8> {
        pair[0]
            .host_data
            .iter()
            .flat_map(|package| package.payload.clone())
            .collect()
    };
    assert_eq!(downloaded(verifications[0]), alice_template.as_bytes());
    assert_eq!(verifications[0][1].ack.payload[0], 0x00, "Alice matches");
    let last = verifications.last().unwrap();
    assert_eq!(downloaded(last), alice_poor_enrolment.as_bytes());
    let refusal = &last[1].ack.payload;
    assert_eq!(refusal[0], 0x08, "the module refused the near miss");
    assert_eq!(
        u64::from(u16::from_be_bytes([refusal[1], refusal[2]])),
        recorded,
        "the outcome records the score the module sent"
    );

    let log = gated.log_text();
    assert!(log.contains("finger verified"), "{log}");
    let template_hex = hex::encode(alice_template.as_bytes());
    assert!(!log.contains(&template_hex[..32]), "template in the log");
    assert!(!log.contains("SIM0000"), "document number in the log");
}

//! The pre-registered fingerprint gate with its real R30x driver talking, over a real
//! pseudo-terminal at 57600 baud, to the module simulator (a test tool speaking the module's
//! protocol); enrolments come from the real central server as a down-synced list. The chip
//! reader and door are the simulated ones.
#![allow(clippy::unwrap_used)]

mod support;

use devices::fingerprint::r30x::{R30xConfig, ReconnectPolicy, SerialR30x, SerialSettings};
use devices::fingerprint::simulator::{ModuleSimulator, SimulatedFinger, SimulatorOptions};
use devices::fingerprint::{FingerprintSensor, TemplateSlot};
use gate_protocol::{Health, Request, Response, SimulatedTraveller};
use gated::hashing::DocumentHasher;
use support::{Gated, curl, fast_sim_config, start_central};

/// The template the module makes of `finger` (enrolled at library page 0, uploaded), as the
/// enrolment office would have stored it at central.
fn enrolment_template(simulator: &ModuleSimulator, finger: SimulatedFinger) -> String {
    simulator.with_module(|module| module.enroll_synthetic(0, finger));
    let mut sensor = SerialR30x::open(
        SerialSettings::new(simulator.port_path()),
        R30xConfig::default(),
        ReconnectPolicy::default(),
    )
    .unwrap();
    sensor.load_template(0, TemplateSlot::First).unwrap();
    let template = sensor.upload_template(TemplateSlot::First).unwrap();
    hex::encode(template.as_bytes())
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
fn enrolled_traveller_passes_unregistered_and_wrong_finger_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let central = start_central(work.path());
    let key_file = work.path().join("document-hash.key");
    std::fs::write(&key_file, [0x3c_u8; 32]).unwrap();
    let hasher = DocumentHasher::from_file(&key_file).unwrap();

    let simulator = ModuleSimulator::start(SimulatorOptions::default()).unwrap();
    let alice = SimulatedFinger::good(7);
    let mallory = SimulatedFinger::good(99);
    let alice_template = enrolment_template(&simulator, alice);
    // The simulated chip reader hands out SIM000001, SIM000002, ... in order: the first and
    // third documents are enrolled (both with Alice's right index), the second is not.
    let enrolled = |number: &str| {
        serde_json::json!({
            "document_hash": hasher.hash("UTO", number).to_hex(),
            "fingers": [{ "finger": "right_index", "template": alice_template }],
        })
    };
    put_list(&central.url, "denylist", serde_json::json!([]));
    put_list(
        &central.url,
        "enrolments",
        serde_json::json!([enrolled("SIM000001"), enrolled("SIM000003")]),
    );

    let config = fast_sim_config()
        .replace("profile = \"face_gate\"", "profile = \"fingerprint_gate\"")
        .replace(
            "[devices.camera]\nbackend = \"simulated\"\ncapture_ms = 40\n",
            &format!(
                "[devices.fingerprint]\nbackend = \"r30x\"\nport = {:?}\nbaud = 57600\naddress = 4294967295\npassword = 0\n",
                simulator.port_path().display().to_string()
            ),
        )
        .replace(
            "[simulation]",
            &format!(
                "[privacy]\ndocument_hash_key_file = {:?}\n\n[simulation]",
                key_file.display().to_string()
            ),
        );
    let config = format!(
        "{config}\n[central]\nurl = \"{}\"\nmax_list_age_s = 3600\n",
        central.url
    );
    let gated = Gated::start(&config);
    gated.wait_for("the module and the lists", |s| {
        s.out_of_service_reasons.is_empty()
            && s.devices
                .iter()
                .any(|d| d.name == "fingerprint" && d.health == Health::Up)
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

    let log = gated.log_text();
    assert!(log.contains("finger verified"), "{log}");
    assert!(!log.contains(&alice_template[..32]), "template in the log");
    assert!(!log.contains("SIM0000"), "document number in the log");
}

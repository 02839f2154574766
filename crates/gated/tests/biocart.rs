//! The BioCart with its real parts: the R30x driver over a real pseudo-terminal to the module
//! simulator (a test tool), the ONNX face pipeline on a frame-folder camera for the photo, and
//! the record sealed to the inspection booth's key in the outbox. The chip reader is the
//! simulated one.
#![allow(clippy::unwrap_used)]

#[path = "../../face/tests/support/artefacts.rs"]
mod artefacts;
mod support;

use devices::fingerprint::iso19794_4::FingerImageRecord;
use devices::fingerprint::simulator::{ModuleSimulator, SimulatedFinger, SimulatorOptions};
use gate_config::GateConfig;
use gate_config::schema::{BioCartSection, CameraConfig, FaceSection, FingerprintConfig};
use gate_core::GateProfile;
use gate_protocol::{Health, Request, Response, SimulatedTraveller};
use outbox::handover::{BoothPrivateKey, HandOverFinger};
use std::path::Path;
use support::{Gated, fast_sim_config};

fn biocart_config(root: &Path, module_port: &Path, booth_key_file: &Path) -> GateConfig {
    let photos = artefacts::photos_dir();
    let frames = root.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    for i in 0..3 {
        std::fs::copy(photos.join("obama2.jpg"), frames.join(format!("f{i}.jpg"))).unwrap();
    }
    let models = artefacts::workspace()
        .join("models")
        .canonicalize()
        .unwrap();
    let mut config = fast_sim_config();
    config.gate.profile = GateProfile::BioCart;
    // A BioCart has no door.
    config.devices.door = None;
    config.devices.camera = Some(CameraConfig::Frames {
        dir: frames,
        fps: 25,
    });
    config.devices.fingerprint = Some(FingerprintConfig::R30x {
        port: module_port.to_owned(),
        baud: 57_600,
        address: Some(0xFFFF_FFFF),
        password: Some(0),
    });
    config.face = Some(FaceSection {
        onnxruntime: artefacts::ort_library(),
        detector: models.join(face::engine::DEFAULT_DETECTOR_MANIFEST),
        embedder: models.join(face::engine::DEFAULT_EMBEDDER_MANIFEST),
        attack: None,
        threads: 1,
        burst_frames: 3,
        match_calibration: None,
        attack_calibration: None,
    });
    config.biocart = Some(BioCartSection {
        booth_id: "NRT-T1-BOOTH-07".into(),
        booth_public_key_file: booth_key_file.to_owned(),
        handover_ttl_hours: 24,
    });
    config.policy.fingerprint.capture_timeout_ms = 4000;
    config
}

#[test]
fn a_visitor_gives_both_fingers_and_a_photo_and_only_the_booth_can_read_the_record() {
    let root = tempfile::tempdir().unwrap();
    let booth = BoothPrivateKey::generate().unwrap();
    let booth_key_file = root.path().join("booth.pub");
    std::fs::write(&booth_key_file, booth.public_key().unwrap().to_hex()).unwrap();
    let simulator = ModuleSimulator::start(SimulatorOptions {
        // The image upload is ~37 KB: at a paced 57600 baud that is 6 s per finger.
        pace_to_baud_rate: false,
        ..SimulatorOptions::default()
    })
    .unwrap();
    let config = biocart_config(root.path(), &simulator.port_path(), &booth_key_file);
    let gated = Gated::start_in(root.path(), &config);
    gated.wait_for("the module and camera", |s| {
        s.devices
            .iter()
            .filter(|d| d.name == "fingerprint" || d.name == "camera")
            .all(|d| d.health == Health::Up)
            && s.out_of_service_reasons.is_empty()
    });

    // A visitor with good fingers completes.
    simulator.place_finger(SimulatedFinger::good(11));
    let Response::SimulationStarted {
        transaction_id: Some(id),
    } = gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    })
    else {
        panic!("not admitted");
    };
    gated.wait_for("the visitor to complete", |s| s.counters.completed == 1);

    let outbox = outbox::Outbox::attach(
        gated.state_dir.join("outbox.sqlite"),
        outbox::system_clock(),
    )
    .unwrap();
    let queued = outbox.pending_handovers(10).unwrap();
    assert_eq!(queued.len(), 1);
    let sealed = &queued[0].sealed;
    assert_eq!(sealed.booth_id, "NRT-T1-BOOTH-07");
    assert_eq!(sealed.transaction_id, id.to_string());
    // Nobody but the booth can open it.
    assert!(outbox::handover::open(sealed, &BoothPrivateKey::generate().unwrap()).is_err());
    let record = outbox::handover::open(sealed, &booth).unwrap();
    assert_eq!(record.fingers.len(), 2);
    for finger in [HandOverFinger::LeftIndex, HandOverFinger::RightIndex] {
        let capture = record.fingers.iter().find(|f| f.finger == finger).unwrap();
        let parsed = FingerImageRecord::parse(&capture.iso_19794_4).unwrap();
        assert_eq!(parsed.views.len(), 1);
    }
    let photo = face::image::load_from_memory(&record.face.jpeg).unwrap();
    assert!(photo.width() >= 64 && photo.height() >= 64);
    assert!(record.face.quality > 0);

    // The outcome event carries no biometric data; the log neither.
    let events = gated.outbox_events();
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains("iso_19794_4") && !text.contains("jpeg"),
        "{text}"
    );
    assert!(events.iter().any(|e| e["kind"] == "biocart.record"));
    let log = gated.log_text();
    assert!(log.contains("BioCart record sealed and queued"), "{log}");

    // A visitor whose fingers image too poorly: refused after the allowed attempts.
    simulator.place_finger(SimulatedFinger {
        identity: 12,
        quality: 25,
    });
    gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    });
    let status = gated.wait_for("the poor fingers to end the visit", |s| {
        s.last_outcome
            .as_ref()
            .is_some_and(|o| o.transaction_id != id)
    });
    let reasons: Vec<&str> = status
        .last_outcome
        .as_ref()
        .unwrap()
        .reasons
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(
        reasons,
        ["FINGERPRINT_QUALITY_TOO_LOW"],
        "{}",
        gated.log_text()
    );
    assert_eq!(outbox.pending_handovers(10).unwrap().len(), 1);
    gated.ok(Request::OfficerReset);

    // A visitor who walks off after the left finger: the visit ends without a record, and
    // what was captured is wiped.
    simulator.remove_finger();
    simulator.queue_fingers([Some(SimulatedFinger::good(13))]);
    let Response::SimulationStarted {
        transaction_id: Some(walked_off),
    } = gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    })
    else {
        panic!("not admitted");
    };
    let status = gated.wait_for("the abandoned visit to end", |s| {
        s.last_outcome
            .as_ref()
            .is_some_and(|o| o.transaction_id == walked_off)
    });
    let last = status.last_outcome.unwrap();
    assert_ne!(last.outcome, gate_core::Outcome::Completed);
    assert_eq!(
        last.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        ["FINGER_NOT_PRESENTED"]
    );
    assert_eq!(outbox.pending_handovers(10).unwrap().len(), 1);
}

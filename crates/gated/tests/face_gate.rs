//! The face gate with its real face pipeline: ONNX models on real photos, a frame-folder camera
//! and the simulated chip reader holding a real chip photo. Needs the artefacts `cargo xtask
//! setup` installs (ONNX Runtime, public-domain test photos).
#![allow(clippy::unwrap_used)]

#[path = "../../face/tests/support/artefacts.rs"]
mod artefacts;
mod face_config;
mod support;

use face_config::{face_gate, frames_of};
use gate_protocol::{Health, Request, Response, SimulatedTraveller};
use support::Gated;

fn start(chip: &str, frames: Option<&str>) -> (tempfile::TempDir, Gated) {
    let photos = artefacts::photos_dir();
    let root = tempfile::tempdir().unwrap();
    let frame_dir = match frames {
        Some(name) => frames_of(root.path(), &photos.join(name), 3),
        None => root.path().join("no-camera-here"),
    };
    let config = face_gate(&photos.join(chip), &frame_dir);
    let gated = Gated::start_in(root.path(), &config);
    (root, gated)
}

fn wait_until_in_service(gated: &Gated) {
    let status = gated.wait_for("the camera and models to come up", |s| {
        s.devices
            .iter()
            .any(|d| d.name == "camera" && d.health == Health::Up)
            && s.state == "idle"
            && s.out_of_service_reasons.is_empty()
    });
    let camera = status.devices.iter().find(|d| d.name == "camera").unwrap();
    assert_eq!(camera.backend, "frames");
    assert!(
        camera.detail.contains("frame-sequence"),
        "{}",
        camera.detail
    );
}

fn last_outcome(gated: &Gated) -> (String, Vec<String>) {
    let events = gated.outbox_events();
    let payload = &events.last().unwrap()["payload"];
    let reasons = payload["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    (payload["outcome"].as_str().unwrap().to_owned(), reasons)
}

#[test]
fn the_holder_matches_the_chip_photo_and_walks_through() {
    let (_root, gated) = start("obama.jpg", Some("obama2.jpg"));
    wait_until_in_service(&gated);
    gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    });
    gated.wait_for("the pass", |s| s.counters.passed == 1);
    let (outcome, reasons) = last_outcome(&gated);
    assert_eq!(outcome, "passed", "reasons {reasons:?}");
    let events = gated.outbox_events();
    let score = events[0]["payload"]["scores"]["face_match"]
        .as_f64()
        .unwrap();
    let photos = artefacts::photos_dir();
    let threshold = face_gate(&photos.join("obama.jpg"), &photos)
        .policy
        .face
        .match_threshold;
    assert!(
        score >= f64::from(threshold),
        "face score {score} below the threshold {threshold}"
    );
    let log = gated.log_text();
    assert!(log.contains("face burst compared"), "{log}");
}

#[test]
fn another_person_is_refused_as_a_face_mismatch() {
    let (_root, gated) = start("obama.jpg", Some("biden.jpg"));
    wait_until_in_service(&gated);
    gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    });
    gated.wait_for("the deny", |s| s.counters.denied == 1);
    let (outcome, reasons) = last_outcome(&gated);
    assert_eq!(outcome, "denied");
    assert_eq!(reasons, ["FACE_MISMATCH"]);
}

#[test]
fn a_vanished_camera_takes_the_gate_out_of_service() {
    let (_root, gated) = start("obama.jpg", None);
    let status = gated.wait_for("the camera to be reported down", |s| {
        s.devices.iter().any(|d| {
            d.name == "camera" && d.health == Health::Down && !d.detail.contains("starting")
        })
    });
    assert!(
        status
            .out_of_service_reasons
            .iter()
            .any(|r| r.as_str() == "CAMERA_UNAVAILABLE"),
        "{status:#?}"
    );
    // The traveller's document is turned away: no transaction starts.
    let answer = gated.ok(Request::Simulate {
        traveller: SimulatedTraveller::default(),
    });
    assert_eq!(
        answer,
        Response::SimulationStarted {
            transaction_id: None
        }
    );
    let status = gated.status();
    assert_eq!(status.counters.started, 0);
    assert_eq!(status.counters.passed, 0);
}

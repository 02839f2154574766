//! The face gate on its real face pipeline, as typed values: the repository's ONNX models, a
//! frame-folder camera and the simulated chip reader holding a real chip photo. Needs the
//! artefacts `cargo xtask setup` installs (ONNX Runtime, public-domain test photos). For tests
//! that declare `mod artefacts` (the face crate's) and `mod support` beside it.

use crate::artefacts;
use gate_config::GateConfig;
use gate_config::schema::{CameraConfig, ChipReaderConfig, DoorConfig, FaceSection};
use std::path::{Path, PathBuf};

/// The simulated gate (`firmware-config/sim-face-gate.toml`, as typed values) with the
/// simulated chip reader holding `chip_photo`, a camera playing the files in `frames`, the
/// repository's models and the shipped operating point resolved through their calibrations.
pub fn face_gate(chip_photo: &Path, frames: &Path) -> GateConfig {
    let models = artefacts::workspace()
        .join("models")
        .canonicalize()
        .unwrap();
    let mut config = crate::support::shipped_sim_config();
    config.devices.chip_reader = Some(ChipReaderConfig::Simulated {
        read_ms: 40,
        photo: Some(chip_photo.to_owned()),
    });
    config.devices.camera = Some(CameraConfig::Frames {
        dir: frames.to_owned(),
        fps: 25,
    });
    config.devices.door = Some(DoorConfig::Simulated { passage_ms: 60 });
    config.face = Some(FaceSection {
        onnxruntime: artefacts::ort_library(),
        detector: models.join(face::engine::DEFAULT_DETECTOR_MANIFEST),
        embedder: models.join(face::engine::DEFAULT_EMBEDDER_MANIFEST),
        attack: Some(models.join(face::engine::DEFAULT_ATTACK_MANIFEST)),
        threads: 1,
        burst_frames: 3,
        match_calibration: None,
        attack_calibration: None,
    });
    // One burst per traveller, and time enough for it on a loaded test machine.
    config.policy.face.max_attempts = 1;
    config.policy.face.capture_timeout_ms = 120_000;
    let (problems, _) = config.resolve_face_operating_points();
    assert!(problems.is_empty(), "{problems:?}");
    config
}

/// A frame folder holding `copies` copies of `photo`.
pub fn frames_of(root: &Path, photo: &Path, copies: usize) -> PathBuf {
    let dir = root.join("frames");
    std::fs::create_dir_all(&dir).unwrap();
    let extension = photo.extension().unwrap().to_str().unwrap();
    for i in 0..copies {
        std::fs::copy(photo, dir.join(format!("frame{i:02}.{extension}"))).unwrap();
    }
    dir
}

//! End-to-end tests on real photos (public-domain White House and NASA photos fetched by
//! `cargo xtask setup`), with the committed default models and ONNX Runtime 1.31.1.
//!
//! Photos: `GATE_TEST_PHOTOS` or `<workspace>/.cache/test-photos`; runtime: `ORT_DYLIB_PATH` or
//! `<workspace>/.cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1`. Missing artefacts fail the
//! tests with a message naming `cargo xtask setup`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use face::engine::FaceConfig;
use face::quality::QualityIssue;
use face::{FaceEngine, FaceError, RgbImage, decode_image, pick_best_frame};

#[path = "support/artefacts.rs"]
mod artefacts;

use artefacts::{ort_library, photos_dir, workspace};

fn engine() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = FaceConfig::with_models_dir(&workspace().join("models"));
        config.onnxruntime_library = Some(ort_library());
        config.intra_op_threads = 2;
        FaceEngine::load(&config).unwrap_or_else(|e| panic!("cannot load the face engine: {e}"))
    })
}

fn photo(name: &str) -> RgbImage {
    let path = photos_dir().join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`)", path.display()));
    decode_image(&bytes).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn score(a: &RgbImage, b: &RgbImage) -> face::MatchResult {
    let engine = engine();
    let reference = engine.reference_from_image(a).unwrap();
    let frame = engine.analyse(b).unwrap();
    engine.compare(&reference, &frame).unwrap()
}

#[test]
fn same_person_matches() {
    let result = score(&photo("obama.jpg"), &photo("obama2.jpg"));
    assert!(result.is_match, "{result:?}");
    let result = score(&photo("obama2.jpg"), &photo("obama3.jpg"));
    assert!(result.is_match, "{result:?}");
}

#[test]
fn different_people_do_not_match() {
    for (a, b) in [
        ("obama.jpg", "biden.jpg"),
        ("obama2.jpg", "biden.jpg"),
        ("astronaut.png", "obama.jpg"),
    ] {
        let result = score(&photo(a), &photo(b));
        assert!(!result.is_match, "{a} vs {b}: {result:?}");
    }
}

#[test]
fn jpeg2000_chip_photo_matches_camera_photo() {
    let engine = engine();
    // Bare J2K codestream, 360x450, made from obama.jpg (public domain) with OpenJPEG at 40:1.
    let chip = engine
        .reference_from_chip_photo(&fixture("obama_chip.j2k"))
        .unwrap();
    for camera in ["obama2.jpg", "obama3.jpg"] {
        let frame = engine.analyse(&photo(camera)).unwrap();
        let result = engine.compare(&chip, &frame).unwrap();
        assert!(result.is_match, "J2K chip vs {camera}: {result:?}");
    }
    // JP2 container, 240x300.
    let chip = engine
        .reference_from_chip_photo(&fixture("obama_chip.jp2"))
        .unwrap();
    let frame = engine.analyse(&photo("obama2.jpg")).unwrap();
    assert!(engine.compare(&chip, &frame).unwrap().is_match);
    let impostor = engine.analyse(&photo("biden.jpg")).unwrap();
    assert!(!engine.compare(&chip, &impostor).unwrap().is_match);
}

#[test]
fn frame_without_face_is_reported_as_no_face() {
    let engine = engine();
    let blank = RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
    let gradient = RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let reference = engine.reference_from_image(&photo("obama.jpg")).unwrap();
    for frame in [blank, gradient] {
        let analysis = engine.analyse(&frame).unwrap();
        assert!(analysis.best.is_none() && analysis.faces.is_empty());
        assert!(matches!(
            engine.compare(&reference, &analysis),
            Err(FaceError::NoFace)
        ));
        assert!(matches!(
            engine.reference_from_image(&frame),
            Err(FaceError::NoFace)
        ));
    }
}

fn side_by_side(left: &RgbImage, right: &RgbImage, height: u32) -> RgbImage {
    let resize = |image: &RgbImage| {
        let width = image.width() * height / image.height();
        image::imageops::resize(image, width, height, image::imageops::FilterType::Triangle)
    };
    let (left, right) = (resize(left), resize(right));
    let mut canvas = RgbImage::new(left.width() + right.width(), height);
    image::imageops::replace(&mut canvas, &left, 0, 0);
    image::imageops::replace(&mut canvas, &right, i64::from(left.width()), 0);
    canvas
}

#[test]
fn two_faces_are_reported() {
    let engine = engine();
    let pair = side_by_side(&photo("obama.jpg"), &photo("obama2.jpg"), 600);
    let analysis = engine.analyse(&pair).unwrap();
    assert!(analysis.faces.len() >= 2, "{:?}", analysis.faces.len());
    assert!(analysis.best.is_some());
    assert!(
        analysis.second_face.is_some(),
        "a second face of similar size must be reported"
    );
}

#[test]
fn tiny_faces_are_not_found_or_flagged_too_small() {
    let engine = engine();
    let obama = photo("obama.jpg");
    // Face about 20 px wide: below the detector's 40 px minimum; if found at all, it is flagged.
    let tiny = image::imageops::resize(&obama, 40, 50, image::imageops::FilterType::Triangle);
    let mut canvas = RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]));
    image::imageops::replace(&mut canvas, &tiny, 300, 215);
    let analysis = engine.analyse(&canvas).unwrap();
    if let Some(best) = &analysis.best {
        assert!(
            best.quality.issues.contains(&QualityIssue::TooSmall),
            "a 20 px face must not pass: {:?}",
            best.quality
        );
    }
    // Face about 50 px wide: found, but the inter-eye distance is below the limit.
    let small = image::imageops::resize(&obama, 130, 162, image::imageops::FilterType::Triangle);
    let mut canvas = RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]));
    image::imageops::replace(&mut canvas, &small, 255, 160);
    let analysis = engine.analyse(&canvas).unwrap();
    let best = analysis.best.expect("a 50 px face is detected");
    assert!(
        best.quality.issues.contains(&QualityIssue::TooSmall),
        "{:?}",
        best.quality
    );
}

#[test]
fn best_frame_of_a_burst_is_the_sharp_full_size_one() {
    let engine = engine();
    let obama = photo("obama2.jpg");
    let blurred = image::imageops::blur(&obama, 6.0);
    let small = image::imageops::resize(
        &obama,
        obama.width() / 6,
        obama.height() / 6,
        image::imageops::FilterType::Triangle,
    );
    let burst = [blurred, obama, small];
    let analyses: Vec<_> = burst
        .iter()
        .map(|frame| engine.analyse(frame).unwrap())
        .collect();
    let picked = pick_best_frame(analyses.iter().map(|a| a.best.as_ref().map(|b| &b.quality)));
    assert_eq!(picked, Some(1));
    let sharp = analyses[1].best.as_ref().unwrap();
    assert!(sharp.quality.acceptable(), "{:?}", sharp.quality);
}

#[test]
fn attack_score_is_computed_for_a_live_photo() {
    let engine = engine();
    let analysis = engine.analyse(&photo("astronaut.png")).unwrap();
    let best = analysis.best.unwrap();
    let score = best.attack_score.unwrap();
    assert!(score.is_finite() && score >= 0.0, "{score}");
    assert!(best.is_attack.is_some());
}

/// The engine without the attack model, for the decision outcomes of bursts (the attack model
/// is trained on camera captures, and these test photos are themselves photographs of prints).
fn engine_without_attack() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = FaceConfig::with_models_dir(&workspace().join("models"));
        config.onnxruntime_library = Some(ort_library());
        config.intra_op_threads = 2;
        config.attack = None;
        FaceEngine::load(&config).unwrap_or_else(|e| panic!("cannot load the face engine: {e}"))
    })
}

fn canvas_with(face: &RgbImage, width: u32, x: i64, y: i64) -> RgbImage {
    let height = face.height() * width / face.width();
    let small = image::imageops::resize(face, width, height, image::imageops::FilterType::Triangle);
    let mut canvas = RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]));
    image::imageops::replace(&mut canvas, &small, x, y);
    canvas
}

#[test]
fn burst_against_jpeg2000_chip_photo_picks_the_good_frame_and_matches() {
    let engine = engine_without_attack();
    let obama = photo("obama2.jpg");
    let burst = [
        image::imageops::blur(&obama, 6.0),
        obama.clone(),
        RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])),
    ];
    let verification = engine
        .verify_burst(&fixture("obama_chip.j2k"), &burst)
        .unwrap();
    assert!(
        matches!(verification.outcome, face::GateOutcome::Match { .. }),
        "{:?}",
        verification.outcome
    );
    assert_eq!(verification.chosen_frame, Some(1));
    assert_eq!(verification.frames.len(), 3);
    assert_eq!(verification.frames[2], face::FrameStatus::NoFace);
    assert!(verification.reference_quality.is_some());

    let impostor = [photo("biden.jpg")];
    let verification = engine
        .verify_burst(&fixture("obama_chip.j2k"), &impostor)
        .unwrap();
    assert!(
        matches!(verification.outcome, face::GateOutcome::NoMatch { .. }),
        "{:?}",
        verification.outcome
    );
}

#[test]
fn burst_outcomes_for_no_face_two_faces_and_tiny_face() {
    let engine = engine_without_attack();
    let reference = engine.reference_from_image(&photo("obama.jpg")).unwrap();
    let blank = RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
    let verification = engine
        .verify_burst_with_reference(&reference, std::slice::from_ref(&blank))
        .unwrap();
    assert_eq!(verification.outcome, face::GateOutcome::NoFace);
    assert_eq!(verification.chosen_frame, None);

    let pair = side_by_side(&photo("obama.jpg"), &photo("obama2.jpg"), 600);
    let verification = engine
        .verify_burst_with_reference(&reference, &[photo("obama2.jpg"), pair])
        .unwrap();
    assert_eq!(verification.outcome, face::GateOutcome::MultipleFaces);

    // Face about 50 px wide in a 640x480 frame: found, inter-eye distance below 25 px.
    let small = canvas_with(&photo("obama.jpg"), 130, 255, 160);
    let verification = engine
        .verify_burst_with_reference(&reference, &[small, blank])
        .unwrap();
    assert!(
        matches!(
            verification.outcome,
            face::GateOutcome::FaceTooSmall { inter_eye_px, min_inter_eye_px }
                if inter_eye_px < min_inter_eye_px
        ),
        "{:?}",
        verification.outcome
    );
    assert!(!verification.outcome.is_decision());
}

#[test]
fn chip_photo_without_face_is_its_own_outcome() {
    let engine = engine_without_attack();
    let blank = RgbImage::from_pixel(240, 320, image::Rgb([200, 200, 200]));
    let mut jpeg = Vec::new();
    blank
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let verification = engine.verify_burst(&jpeg, &[photo("obama2.jpg")]).unwrap();
    assert_eq!(verification.outcome, face::GateOutcome::ReferenceNoFace);
    assert!(matches!(
        engine.verify_burst(&jpeg, &[]),
        Err(FaceError::Config(_))
    ));
    assert!(engine.verify_burst(b"not an image", &[blank]).is_err());
}

#[test]
fn burst_with_the_attack_model_reports_an_attack_score() {
    let engine = engine();
    let verification = engine
        .verify_burst(&fixture("obama_chip.j2k"), &[photo("obama2.jpg")])
        .unwrap();
    match verification.outcome {
        face::GateOutcome::Match { attack_score, .. }
        | face::GateOutcome::NoMatch { attack_score, .. } => {
            assert!(attack_score.is_some_and(f32::is_finite));
        }
        face::GateOutcome::AttackSuspected {
            attack_score,
            attack_threshold,
            ..
        } => assert!(attack_score > attack_threshold),
        other => panic!("expected a decision, got {other:?}"),
    }
}

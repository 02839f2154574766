//! `gatectl face compare` and `gatectl face eval` run as a real binary on real photos.
//!
//! Needs the artefacts of `cargo xtask setup`: test photos (`GATE_TEST_PHOTOS`, default
//! `<workspace>/.cache/test-photos`) and ONNX Runtime (`ORT_DYLIB_PATH`, default
//! `<workspace>/.cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1`).
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[path = "../../face/tests/support/artefacts.rs"]
mod artefacts;

use artefacts::{ort_library, photos_dir as photos, workspace};

fn gatectl(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(args)
        .env("ORT_DYLIB_PATH", ort_library())
        .env("GATE_FACE_MODELS", workspace().join("models"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

fn photo(name: &str) -> String {
    photos().join(name).display().to_string()
}

#[test]
fn compare_reports_match_and_non_match_with_exit_0() {
    let (code, out) = gatectl(&[
        "face",
        "compare",
        &photo("obama.jpg"),
        &photo("obama2.jpg"),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let value: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(value["match"], true, "{out}");
    assert!(
        value["a"]["quality"]["inter_eye_px"].as_f64().unwrap() > 25.0,
        "{out}"
    );
    let (code, out) = gatectl(&[
        "face",
        "compare",
        &photo("obama.jpg"),
        &photo("biden.jpg"),
        "--no-attack",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NO MATCH"), "{out}");
}

#[test]
fn compare_without_face_exits_3_and_errors_exit_1() {
    let dir = std::env::temp_dir().join(format!("gatectl-face-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let blank = dir.join("blank.png");
    face::RgbImage::from_pixel(320, 240, image_pixel())
        .save(&blank)
        .unwrap();
    let (code, out) = gatectl(&[
        "face",
        "compare",
        &photo("obama.jpg"),
        blank.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("no_face"), "{out}");
    let (code, out) = gatectl(&["face", "compare", &photo("obama.jpg"), "/nonexistent.jpg"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("/nonexistent.jpg"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn image_pixel() -> face::image::Rgb<u8> {
    face::image::Rgb([90, 90, 90])
}

#[test]
fn eval_reports_rates_on_a_small_pairs_file() {
    let dir = std::env::temp_dir().join(format!("gatectl-face-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pairs = dir.join("pairs.tsv");
    std::fs::write(
        &pairs,
        "fold\timg_a\timg_b\tsame\n1\tobama.jpg\tobama2.jpg\t1\n1\tobama.jpg\tbiden.jpg\t0\n\
         6\tobama2.jpg\tobama3.jpg\t1\n6\tobama3.jpg\tbiden.jpg\t0\n",
    )
    .unwrap();
    let images = photos();
    let (code, out) = gatectl(&[
        "face",
        "eval",
        "--pairs",
        pairs.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let value: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(value["pairs"], 4, "{out}");
    assert_eq!(value["images_without_face"], 0, "{out}");
    assert_eq!(value["test_folds"], serde_json::json!([6]), "{out}");
    assert_eq!(value["test_accuracy"], 1.0, "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

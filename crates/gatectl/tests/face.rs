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

/// `gatectl face calibrate` compares every image with every image of the other "people" (the
/// image's directory): 25 directories of one image each give 25·24/2 = 300 impostor
/// comparisons, just what FMR 1e-2 needs (3 / 0.01). The directories here hold renditions of
/// five test photos (crops, mirror images, exposure), so this checks the command's bookkeeping
/// and the table it writes, not accuracy; with three directories it refuses and says why.
#[test]
fn calibrate_writes_a_table_tied_to_the_model_and_refuses_too_few_people() {
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "biden.jpg",
        "astronaut.png",
    ];
    let mut lines = String::from("fold\timg_a\timg_b\tsame\n");
    let mut people = Vec::new();
    for (s, source) in sources.iter().enumerate() {
        let image = face::image::open(photos().join(source)).unwrap().to_rgb8();
        for variant in 0..5u32 {
            let (w, h) = (image.width(), image.height());
            let inset = variant * w / 40;
            let mut rendition =
                face::image::imageops::crop_imm(&image, inset, inset, w - 2 * inset, h - 2 * inset)
                    .to_image();
            if variant % 2 == 1 {
                rendition = face::image::imageops::flip_horizontal(&rendition);
            }
            if variant == 4 {
                face::image::imageops::colorops::brighten_in_place(&mut rendition, 25);
            }
            let person = format!("p{s}{variant}");
            std::fs::create_dir_all(dir.path().join(&person)).unwrap();
            rendition
                .save(dir.path().join(&person).join("0001.jpg"))
                .unwrap();
            people.push(person);
        }
    }
    for pair in people.chunks(2) {
        if let [a, b] = pair {
            lines.push_str(&format!("1\t{a}/0001.jpg\t{b}/0001.jpg\t0\n"));
        }
    }
    // The 25th directory, in a genuine pair with itself.
    lines.push_str(&format!(
        "1\t{}/0001.jpg\t{}/0001.jpg\t1\n",
        people[24], people[24]
    ));
    let pairs = dir.path().join("pairs.tsv");
    std::fs::write(&pairs, &lines).unwrap();
    let out = dir.path().join("table.toml");
    let args = |pairs: &std::path::Path| {
        vec![
            "face".to_owned(),
            "calibrate".into(),
            "--pairs".into(),
            pairs.display().to_string(),
            "--images".into(),
            dir.path().display().to_string(),
            "--sides".into(),
            "symmetric".into(),
            "--dataset".into(),
            "test renditions".into(),
            "--out".into(),
            out.display().to_string(),
        ]
    };
    let run = |args: Vec<String>| gatectl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (code, text) = run(args(&pairs));
    assert_eq!(code, 0, "{text}");
    let table = face::calibration::MatchCalibration::load(&out).unwrap();
    assert_eq!(table.impostor_comparisons, 300, "{text}");
    assert_eq!(table.rows.len(), 1, "only FMR 1e-2 is supported: {text}");
    assert_eq!(table.rows[0].fmr, 0.01);
    assert!(table.rows[0].impostors_accepted <= 3);
    assert!(
        text.contains("warning: FMR 1e-2"),
        "few comparisons are warned: {text}"
    );
    let manifest = face::manifest::ModelManifest::load(
        &workspace()
            .join("models")
            .join(face::engine::DEFAULT_EMBEDDER_MANIFEST),
    )
    .unwrap();
    assert_eq!(table.provenance.model_sha256, manifest.main_sha256());
    assert!(table.provenance.command.contains("face calibrate"));

    // Three people: 3 comparisons cannot support any row.
    let few = dir.path().join("few.tsv");
    std::fs::write(
        &few,
        format!(
            "fold\timg_a\timg_b\tsame\n1\t{}/0001.jpg\t{}/0001.jpg\t0\n1\t{}/0001.jpg\t{}/0001.jpg\t1\n",
            people[0], people[5], people[10], people[10]
        ),
    )
    .unwrap();
    let (code, text) = run(args(&few));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("cannot support even FMR 1e-2"), "{text}");
}

//! `gatectl camera` against the frame-sequence simulator, through the built binary.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gatectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(args)
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("gatectl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn image_folder(name: &str) -> PathBuf {
    let folder = scratch(name);
    image::RgbImage::from_pixel(32, 24, image::Rgb([200, 40, 40]))
        .save(folder.join("0001.png"))
        .unwrap();
    image::RgbImage::from_pixel(32, 24, image::Rgb([40, 40, 200]))
        .save(folder.join("0002.png"))
        .unwrap();
    folder
}

#[test]
fn camera_snapshot_writes_the_frame_from_a_frame_sequence() {
    let folder = image_folder("snapshot");
    let out = folder.join("snap.png");
    let output = gatectl(&[
        "camera",
        "snapshot",
        out.to_str().unwrap(),
        "--backend",
        "frame-sequence",
        "--device",
        folder.to_str().unwrap(),
        "--skip",
        "1",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["width"], 32);
    assert_eq!(report["sequence"], 1);
    // Frame 0 was skipped, so the snapshot is the second (blue) image.
    let saved = image::open(&out).unwrap().into_rgb8();
    assert_eq!(saved.dimensions(), (32, 24));
    assert_eq!(saved.get_pixel(0, 0).0, [40, 40, 200]);
}

#[test]
fn camera_info_reports_the_source_in_text_and_json() {
    let folder = image_folder("info");
    let args = [
        "camera",
        "info",
        "--backend",
        "frame-sequence",
        "--device",
        folder.to_str().unwrap(),
    ];
    let text = gatectl(&args);
    assert!(text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("frame-sequence-simulator") && stdout.contains("32x24"),
        "{stdout}"
    );
    let json = gatectl(&[&args[..], &["--json"]].concat());
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["info"]["backend"], "frame-sequence-simulator");
    assert_eq!(report["health"]["state"], "up");
}

#[test]
fn camera_failures_exit_1_with_the_reason_and_bad_usage_exits_2() {
    let output = gatectl(&["camera", "info", "--device", "/dev/video-gatectl-absent"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Without the v4l2 feature the backend is missing; with it the device is.
    assert!(
        stderr.contains("feature `v4l2`") || stderr.contains("no such device"),
        "{stderr}"
    );
    let usage = gatectl(&["camera", "info", "--formats", "h264"]);
    assert_eq!(usage.status.code(), Some(2));
}

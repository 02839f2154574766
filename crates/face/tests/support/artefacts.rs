//! Where the tests find the artefacts `cargo xtask setup` installs: the ONNX Runtime library
//! and the public-domain test photos. Shared by the face crate's tests and gatectl's (included
//! there by path), so both look in the same places and fail with the same hint.
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root (both including crates sit two levels below it).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The test photos: `GATE_TEST_PHOTOS`, or `<workspace>/.cache/test-photos`.
pub fn photos_dir() -> PathBuf {
    let dir = std::env::var_os("GATE_TEST_PHOTOS")
        .map_or_else(|| workspace().join(".cache/test-photos"), PathBuf::from);
    assert!(
        dir.join("obama.jpg").is_file(),
        "test photos missing in {} (set GATE_TEST_PHOTOS or run `cargo xtask setup`)",
        dir.display()
    );
    dir
}

/// The ONNX Runtime library: `ORT_DYLIB_PATH`, or the copy under `<workspace>/.cache`.
pub fn ort_library() -> PathBuf {
    let path = std::env::var_os("ORT_DYLIB_PATH").map_or_else(
        || workspace().join(".cache/onnxruntime/1.31.1/libonnxruntime.so.1.31.1"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "ONNX Runtime library missing at {} (set ORT_DYLIB_PATH or run `cargo xtask setup`)",
        path.display()
    );
    path
}

//! Writes the aligned chip of the best face of each image (debugging alignment).
//!
//! `dump_chip EMBEDDER.toml OUT_DIR IMAGE...` (detector: models/mtcnn.toml).

use std::path::PathBuf;
use std::process::ExitCode;

use face::engine::FaceConfig;
use face::{FaceEngine, decode_image};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [embedder, out, images @ ..] = args.as_slice() else {
        eprintln!("usage: dump_chip EMBEDDER.toml OUT_DIR IMAGE...");
        return ExitCode::FAILURE;
    };
    let mut config = FaceConfig::with_models_dir(std::path::Path::new("models"));
    config.embedder = PathBuf::from(embedder);
    config.attack = None;
    let engine = match FaceEngine::load(&config) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("dump_chip: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (index, path) in images.iter().enumerate() {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok(image) = decode_image(&bytes) else {
            continue;
        };
        let Ok(assessment) = engine.assess_frame(&image) else {
            continue;
        };
        if let Some(face) = assessment.best {
            let target = PathBuf::from(out).join(format!("chip_{index}.png"));
            if let Err(e) = face.chip().save(&target) {
                eprintln!("{}: {e}", target.display());
            }
        }
    }
    ExitCode::SUCCESS
}

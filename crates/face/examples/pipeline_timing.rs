//! Times each pipeline stage (decode, detect, align warp, embed, attack) over a list of images.
//!
//! `cargo run --release -p face --example pipeline_timing -- MODELS_DIR IMAGE...`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use face::align::align_face;
use face::engine::{FaceConfig, choose_best_face};
use face::{FaceEngine, decode_image};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(models) = args.next() else {
        eprintln!("usage: pipeline_timing MODELS_DIR IMAGE...");
        return ExitCode::FAILURE;
    };
    let images: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let mut config = FaceConfig::with_models_dir(&PathBuf::from(models));
    config.intra_op_threads = std::env::var("FACE_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    if std::env::var_os("FACE_NO_ATTACK").is_some() {
        config.attack = None;
    }
    let cold = Instant::now();
    let engine = match FaceEngine::load(&config) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("pipeline_timing: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "engine load (runtime + models, hashes checked): {:.1} ms",
        cold.elapsed().as_secs_f64() * 1e3
    );
    let inference_before = engine.inference_nanos();
    let mut totals = [Duration::ZERO; 4];
    let mut warp = Duration::ZERO;
    let mut counted = 0u32;
    for path in &images {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let t0 = Instant::now();
        let Ok(image) = decode_image(&bytes) else {
            continue;
        };
        let t1 = Instant::now();
        let Ok(faces) = engine.detect(&image) else {
            continue;
        };
        let t2 = Instant::now();
        if let Some(best) = choose_best_face(&faces, image.width() as f32, image.height() as f32) {
            let w0 = Instant::now();
            for _ in 0..10 {
                let _ = align_face(
                    &image,
                    &faces[best].landmarks,
                    face::manifest::AlignmentTemplate::DlibChip {
                        size: 150,
                        padding: 0.25,
                    },
                );
            }
            warp += w0.elapsed() / 10;
        }
        let t3 = Instant::now();
        let _ = engine.analyse_detections(&image, faces);
        let t4 = Instant::now();
        totals[0] += t1 - t0;
        totals[1] += t2 - t1;
        totals[2] += t4 - t3;
        totals[3] += t4 - t0 - (t3 - t2);
        counted += 1;
    }
    let inference = Duration::from_nanos(engine.inference_nanos() - inference_before);
    let per = |d: Duration| d.as_secs_f64() * 1e3 / f64::from(counted.max(1));
    println!("images: {counted}, threads: {}", config.intra_op_threads);
    println!(
        "decode {:.2} ms, detect {:.2} ms, align+quality+embed+attack {:.2} ms, warp alone {:.3} ms, total {:.2} ms per image",
        per(totals[0]),
        per(totals[1]),
        per(totals[2]),
        per(warp),
        per(totals[3])
    );
    // Pipeline time excluding decode (the camera delivers RGB) versus bare ONNX Runtime time.
    let pipeline = totals[3] - totals[0];
    println!(
        "bare ONNX Runtime {:.2} ms, pipeline without decode {:.2} ms per image: our overhead {:.1} %",
        per(inference),
        per(pipeline),
        100.0 * (pipeline.as_secs_f64() - inference.as_secs_f64())
            / inference.as_secs_f64().max(1e-9)
    );
    ExitCode::SUCCESS
}

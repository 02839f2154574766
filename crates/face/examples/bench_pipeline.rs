//! Throughput, memory, overhead and cold start of the whole pipeline over a list of image files,
//! the Rust side of `bench/compare_insightface.sh`.
//!
//! `bench_pipeline --detector M.toml --embedder M.toml --list FILES.txt [--threads N]`
//!
//! Per image: read the file, decode, detect, choose the best face, align, embed (no attack
//! model: InsightFace's pipeline has none). Prints one JSON object: images per second, peak RSS
//! (VmHWM), cold start to the first decision, time inside ONNX Runtime versus the pipeline
//! without decoding (our overhead).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use face::engine::FaceConfig;
use face::{FaceEngine, decode_image};

fn main() -> ExitCode {
    let started = Instant::now();
    match run(started) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("bench_pipeline: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn run(started: Instant) -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let (mut detector, mut embedder, mut list) = (None, None, None);
    let mut threads = 1usize;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--detector" => detector = Some(PathBuf::from(value()?)),
            "--embedder" => embedder = Some(PathBuf::from(value()?)),
            "--list" => list = Some(PathBuf::from(value()?)),
            "--threads" => threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(detector), Some(embedder), Some(list)) = (detector, embedder, list) else {
        return Err("usage: --detector M --embedder M --list FILES.txt [--threads N]".into());
    };
    let images: Vec<PathBuf> = std::fs::read_to_string(&list)
        .map_err(|e| format!("{}: {e}", list.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect();
    let first = images.first().ok_or("empty image list")?;

    let mut config = FaceConfig::with_models_dir(std::path::Path::new("."));
    config.detector = detector;
    config.embedder = embedder;
    config.attack = None;
    config.intra_op_threads = threads;
    let engine = FaceEngine::load(&config).map_err(|e| e.to_string())?;
    let loaded = started.elapsed();
    // Cold start to the first decision: load, then one image through the whole path and a 1:1
    // decision against itself.
    let bytes = std::fs::read(first).map_err(|e| format!("{}: {e}", first.display()))?;
    let image = decode_image(&bytes).map_err(|e| e.to_string())?;
    let analysis = engine.analyse(&image).map_err(|e| e.to_string())?;
    if let Some(face) = &analysis.best {
        let _ = engine.compare_embeddings(&face.embedding, &face.embedding);
    }
    let first_decision = started.elapsed();

    let inference_before = engine.inference_nanos();
    let mut decode_time = Duration::ZERO;
    let mut faces_found = 0usize;
    let run_start = Instant::now();
    for path in &images {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let t0 = Instant::now();
        let image = decode_image(&bytes).map_err(|e| e.to_string())?;
        decode_time += t0.elapsed();
        let analysis = engine.analyse(&image).map_err(|e| e.to_string())?;
        faces_found += usize::from(analysis.best.is_some());
    }
    let total = run_start.elapsed();
    let inference = Duration::from_nanos(engine.inference_nanos() - inference_before);
    let count = images.len() as f64;
    let pipeline_ms = (total - decode_time).as_secs_f64() * 1e3 / count;
    let inference_ms = inference.as_secs_f64() * 1e3 / count;
    Ok(format!(
        "{{\"side\": \"face (Rust)\", \"threads\": {threads}, \"images\": {}, \"faces_found\": {faces_found}, \
         \"images_per_second\": {:.2}, \"peak_rss_mib\": {:.1}, \"load_ms\": {:.1}, \"cold_start_to_first_decision_ms\": {:.1}, \
         \"decode_ms_per_image\": {:.2}, \"pipeline_ms_per_image_without_decode\": {:.2}, \"onnxruntime_ms_per_image\": {:.2}, \
         \"overhead_percent\": {:.1}}}",
        images.len(),
        count / total.as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN),
        loaded.as_secs_f64() * 1e3,
        first_decision.as_secs_f64() * 1e3,
        decode_time.as_secs_f64() * 1e3 / count,
        pipeline_ms,
        inference_ms,
        100.0 * (pipeline_ms - inference_ms) / inference_ms.max(1e-9),
    ))
}

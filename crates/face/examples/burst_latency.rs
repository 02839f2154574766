//! Latency of the gate's face step: from the first frame of a burst to the decision.
//!
//! `burst_latency --pairs pairs.tsv --images DIR [--models DIR] [--embedder M.toml]
//!  [--attack M.toml] [--burst 5] [--fps 30] [--runs 100] [--threads 1]`
//!
//! For each of the first `runs` genuine pairs of the pairs file (chip-live set: first column a
//! chip photo, second a camera frame) the chip photo's reference is made beforehand (the gate
//! makes it while the traveller walks up to the camera), then a burst of `burst` frames arrives
//! at the camera's rate, `fps`. Two ways are timed, from the arrival of the first frame to the
//! decision: **streaming** (what gated does: each frame is detected, aligned and assessed as it
//! arrives, then the best acceptable one is embedded and attack-scored) and **capture, then
//! verify** (the whole burst first). Prints p50, p95 and max per way, as TOML, and for the
//! streaming way also over the bursts that ended in a decision (the others stop before the
//! embedding and the attack model: a quality refusal is cheaper).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use face::engine::FaceConfig;
use face::{BurstVerifier, FaceEngine, decode_image, eval};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("burst_latency: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(serde::Serialize)]
struct Way {
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
}

#[derive(serde::Serialize)]
struct Report {
    runs: usize,
    burst: usize,
    fps: f64,
    threads: usize,
    embedder: String,
    attack: String,
    capture_ms: f64,
    decisions: usize,
    streaming: Way,
    capture_then_verify: Way,
    /// Streaming, only the bursts that ended in a decision (embedding and attack model run).
    streaming_decisions: Way,
}

fn percentiles(mut values: Vec<f64>) -> Way {
    values.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    Way {
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: at(1.0),
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut pairs, mut images) = (None, None);
    let mut models = PathBuf::from("models");
    let (mut embedder, mut attack) = (None, None);
    let (mut burst, mut fps, mut runs, mut threads) = (5usize, 30.0f64, 100usize, 1usize);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--pairs" => pairs = Some(PathBuf::from(value()?)),
            "--images" => images = Some(PathBuf::from(value()?)),
            "--models" => models = PathBuf::from(value()?),
            "--embedder" => embedder = Some(PathBuf::from(value()?)),
            "--attack" => attack = Some(PathBuf::from(value()?)),
            "--burst" => burst = value()?.parse().map_err(|e| format!("--burst: {e}"))?,
            "--fps" => fps = value()?.parse().map_err(|e| format!("--fps: {e}"))?,
            "--runs" => runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--threads" => threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(pairs), Some(images)) = (pairs, images) else {
        return Err("usage: --pairs TSV --images DIR [--models DIR] [--embedder M] [--attack M] [--burst N] [--fps F] [--runs N] [--threads N]".into());
    };
    let mut config = FaceConfig::with_models_dir(&models);
    if let Some(embedder) = embedder {
        config.embedder = embedder;
    }
    if let Some(attack) = attack {
        config.attack = Some(attack);
    }
    config.intra_op_threads = threads;
    let engine = FaceEngine::load(&config).map_err(|e| e.to_string())?;
    let pairs: Vec<eval::Pair> = eval::read_pairs(&pairs)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|p| p.same)
        .take(runs)
        .collect();
    let read = |name: &str| -> Result<face::RgbImage, String> {
        let bytes = std::fs::read(images.join(name)).map_err(|e| format!("{name}: {e}"))?;
        decode_image(&bytes).map_err(|e| format!("{name}: {e}"))
    };
    let period = Duration::from_secs_f64(1.0 / fps);
    let (mut streaming, mut batch, mut decided) = (Vec::new(), Vec::new(), Vec::new());
    let mut decisions = 0;
    for pair in &pairs {
        let Ok(reference) = engine.reference_from_image(&read(&pair.image_a)?) else {
            continue;
        };
        let frame = read(&pair.image_b)?;
        // Streaming: frame k arrives at start + k * period.
        let start = Instant::now();
        let mut verifier = BurstVerifier::new(&engine, &reference).map_err(|e| e.to_string())?;
        for k in 0..burst {
            let due = start + period * k as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            verifier.push(&frame).map_err(|e| e.to_string())?;
        }
        let verification = verifier.finish().map_err(|e| e.to_string())?;
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        streaming.push(elapsed);
        if verification.outcome.is_decision() {
            decisions += 1;
            decided.push(elapsed);
        }
        // Capture the whole burst, then verify.
        let start = Instant::now();
        let frames = vec![frame; burst];
        std::thread::sleep(period * (burst as u32 - 1));
        engine
            .verify_burst_with_reference(&reference, &frames)
            .map_err(|e| e.to_string())?;
        batch.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    if decided.is_empty() {
        return Err("no burst ended in a decision".into());
    }
    let models = engine.models();
    let report = Report {
        runs: streaming.len(),
        burst,
        fps,
        threads,
        embedder: models.embedder.0.clone(),
        attack: models
            .attack
            .as_ref()
            .map_or_else(|| "none".into(), |a| a.0.clone()),
        capture_ms: period.as_secs_f64() * 1000.0 * (burst - 1) as f64,
        decisions,
        streaming: percentiles(streaming),
        capture_then_verify: percentiles(batch),
        streaming_decisions: percentiles(decided),
    };
    println!(
        "{}",
        toml::to_string(&report).map_err(|e| format!("cannot print: {e}"))?
    );
    Ok(())
}

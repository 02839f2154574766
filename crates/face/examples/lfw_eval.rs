//! LFW-style evaluation of any detector/embedder pair of manifests (used to fill the model table).
//!
//! `cargo run --release -p face --example lfw_eval -- --detector M.toml --embedder M.toml
//!  --pairs pairs.tsv --images DIR [--folds 1,6] [--threads 2]`; prints the JSON report.

use std::path::PathBuf;
use std::process::ExitCode;

use face::engine::FaceConfig;
use face::{FaceEngine, eval};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lfw_eval: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut detector, mut pairs, mut images) = (None, None, None);
    let mut embedders: Vec<PathBuf> = Vec::new();
    let mut folds: Option<Vec<u32>> = None;
    let mut threads = 2usize;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--detector" => detector = Some(PathBuf::from(value()?)),
            "--embedder" => embedders.push(PathBuf::from(value()?)),
            "--pairs" => pairs = Some(PathBuf::from(value()?)),
            "--images" => images = Some(PathBuf::from(value()?)),
            "--threads" => threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--folds" => {
                let list = value()?;
                folds = Some(
                    list.split(',')
                        .map(|f| f.trim().parse::<u32>().map_err(|e| format!("--folds: {e}")))
                        .collect::<Result<_, _>>()?,
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(detector), Some(pairs), Some(images)) = (detector, pairs, images) else {
        return Err("usage: --detector M --embedder M [--embedder M ...] --pairs TSV --images DIR [--folds LIST] [--threads N]".into());
    };
    let mut engines = Vec::new();
    for embedder in &embedders {
        let mut config = FaceConfig::with_models_dir(std::path::Path::new("."));
        config.detector = detector.clone();
        config.embedder = embedder.clone();
        config.attack = None;
        config.intra_op_threads = threads;
        engines.push((
            embedder.display().to_string(),
            FaceEngine::load(&config).map_err(|e| e.to_string())?,
        ));
    }
    let pairs = eval::read_pairs(&pairs).map_err(|e| e.to_string())?;
    let named: Vec<(&str, &FaceEngine)> = engines
        .iter()
        .map(|(name, engine)| (name.as_str(), engine))
        .collect();
    let detector_name = detector.display().to_string();
    let reports = eval::evaluate_many(
        &named,
        &pairs,
        &images,
        folds.as_deref(),
        &detector_name,
        |done, total| {
            if done % 500 == 0 || done == total {
                eprintln!("{done}/{total} images");
            }
        },
    )
    .map_err(|e| e.to_string())?;
    for report in &reports {
        println!("{}", serde_json_like(report));
    }
    Ok(())
}

/// The report as TOML (serde_json is not a dependency of the library crate).
fn serde_json_like(report: &eval::EvalReport) -> String {
    toml::to_string(report).unwrap_or_else(|e| format!("cannot serialise report: {e}"))
}

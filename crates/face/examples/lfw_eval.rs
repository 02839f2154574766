//! 1:1 verification evaluation of any detector/embedder pair of manifests on an LFW-style pairs
//! file (used to fill the model tables in `crates/face/README.md`).
//!
//! `lfw_eval --detector M.toml --embedder M.toml [--embedder M.toml …] --pairs pairs.tsv
//!  --images DIR [--sides symmetric|columns] [--folds 1,6] [--threads 1]`
//!
//! Prints, per embedder, as TOML:
//! - `[official]`: the listed pairs' protocol: accuracy on folds 6-10 at the best-accuracy
//!   threshold of folds 1-5, TAR at FMR 1e-3 / 1e-4 from the listed impostor pairs, and the
//!   10-fold accuracy;
//! - `[cross_identity]`: every image against every image of other people (`symmetric`: each
//!   unordered pair once, for a set of one kind of image such as LFW; `columns`: first column
//!   against second, for the chip-live set): thresholds at FMR 1e-3, 5e-4 and 1e-4 from folds
//!   1-5, FNMR and the measured FMR on folds 6-10.
//!
//! With `--write-calibration DIR --dataset TEXT`, each embedder's match calibration over all the
//! selected folds is also written to `DIR/<model>.calibration.toml` from the same embeddings
//! (what `gatectl face calibrate` writes, without embedding the images again).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use face::FaceEngine;
use face::engine::FaceConfig;
use face::eval::{self, ImpostorSides};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lfw_eval: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(serde::Serialize)]
struct Report {
    embedder: String,
    detector: String,
    images: usize,
    images_without_face: usize,
    images_per_second: f64,
    official: eval::EvalReport,
    cross_identity: eval::CrossIdentityReport,
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut detector, mut pairs, mut images) = (None, None, None);
    let mut embedders: Vec<PathBuf> = Vec::new();
    let mut folds: Option<Vec<u32>> = None;
    let mut threads = 1usize;
    let mut sides = ImpostorSides::Symmetric;
    let mut write_calibration: Option<PathBuf> = None;
    let mut dataset = String::new();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--detector" => detector = Some(PathBuf::from(value()?)),
            "--embedder" => embedders.push(PathBuf::from(value()?)),
            "--pairs" => pairs = Some(PathBuf::from(value()?)),
            "--images" => images = Some(PathBuf::from(value()?)),
            "--threads" => threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--write-calibration" => write_calibration = Some(PathBuf::from(value()?)),
            "--dataset" => dataset = value()?,
            "--sides" => {
                sides = match value()?.as_str() {
                    "symmetric" => ImpostorSides::Symmetric,
                    "columns" => ImpostorSides::Columns,
                    other => return Err(format!("--sides: {other:?} is not symmetric or columns")),
                }
            }
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
        return Err("usage: --detector M --embedder M [--embedder M ...] --pairs TSV --images DIR [--sides symmetric|columns] [--folds LIST] [--threads N]".into());
    };
    let mut engines = Vec::new();
    for embedder in &embedders {
        let mut config = FaceConfig::with_models_dir(std::path::Path::new("."));
        config.detector = detector.clone();
        config.embedder = embedder.clone();
        config.attack = None;
        config.intra_op_threads = threads;
        engines.push(FaceEngine::load(&config).map_err(|e| e.to_string())?);
    }
    let pairs: Vec<eval::Pair> = eval::read_pairs(&pairs)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|p| folds.as_ref().is_none_or(|f| f.contains(&p.fold)))
        .collect();
    let names: BTreeSet<&str> = pairs
        .iter()
        .flat_map(|p| [p.image_a.as_str(), p.image_b.as_str()])
        .collect();
    let started = Instant::now();
    let engine_refs: Vec<&FaceEngine> = engines.iter().collect();
    let caches = eval::embed_images(&engine_refs, &names, &images, |done, total| {
        if done % 500 == 0 || done == total {
            eprintln!("{done}/{total} images");
        }
    })
    .map_err(|e| e.to_string())?;
    let images_per_second = names.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    for ((engine, cache), embedder) in engines.iter().zip(&caches).zip(&embedders) {
        let rule = engine.score_rule();
        let scored: Vec<eval::ScoredPair> = pairs
            .iter()
            .map(|p| eval::ScoredPair {
                fold: p.fold,
                score: eval::pair_score(p, cache, rule),
                same: p.same,
            })
            .collect();
        let report = Report {
            embedder: embedder.display().to_string(),
            detector: detector.display().to_string(),
            images: names.len(),
            images_without_face: cache.values().filter(|e| e.is_none()).count(),
            images_per_second,
            official: eval::metrics(
                &scored,
                &detector.display().to_string(),
                &embedder.display().to_string(),
            ),
            cross_identity: eval::cross_identity_report(
                &pairs,
                cache,
                rule,
                sides,
                &[1e-3, 5e-4, 1e-4],
            ),
        };
        println!(
            "{}",
            toml::to_string(&report).map_err(|e| format!("cannot print the report: {e}"))?
        );
        if let Some(dir) = &write_calibration {
            let models = engine.models();
            let provenance = face::calibration::Provenance {
                model: models.embedder.0.clone(),
                model_sha256: models.embedder.1.clone(),
                detector: models.detector.0.clone(),
                detector_sha256: models.detector.1.clone(),
                dataset: dataset.clone(),
                created: face::calibration::utc_date(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                ),
                command: std::env::args().collect::<Vec<_>>().join(" "),
                images_without_face: report.images_without_face as u64,
            };
            let table = eval::match_calibration(&pairs, cache, rule, sides, provenance);
            let path = dir.join(format!("{}.calibration.toml", models.embedder.0));
            table.save(&path).map_err(|e| e.to_string())?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

//! `gatectl face ...`: offline face comparison and verification evaluation.
//!
//! Exit codes of `compare`: 0 with a decision (match or not), 3 when no face is found in an
//! image, 1 on other errors. Never prints embeddings or image data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use face::engine::FaceConfig;
use face::{AnalysedFace, FaceEngine, FaceError, FrameAnalysis, decode_image, eval};

/// Exit code when an image has no face.
const EXIT_NO_FACE: u8 = 3;

/// Face subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum FaceCommand {
    /// Compare the faces of two images (JPEG, PNG, JP2 or J2K): score, threshold, decision and
    /// the quality of each. Exit 0 with the decision, 3 when no face is found, 1 on errors.
    Compare {
        /// First image (e.g. the chip photo).
        image_a: PathBuf,
        /// Second image (e.g. the camera frame).
        image_b: PathBuf,
        #[command(flatten)]
        models: ModelArgs,
        /// Print JSON (stable for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Evaluate 1:1 verification on a pairs file (`fold img_a img_b same`, tab-separated):
    /// thresholds chosen on folds 1-5, rates on folds 6-10, and the 10-fold accuracy.
    Eval {
        /// Pairs file.
        #[arg(long)]
        pairs: PathBuf,
        /// Directory the pair paths are relative to.
        #[arg(long)]
        images: PathBuf,
        /// Only these folds (comma-separated).
        #[arg(long, value_delimiter = ',')]
        folds: Option<Vec<u32>>,
        #[command(flatten)]
        models: ModelArgs,
        /// Print JSON (stable for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Calibrate the embedder (or, with --attack, the presentation-attack model) on a pairs file:
    /// writes the table from an error rate to the threshold that gives it, which gated resolves
    /// `[policy.face] target_fmr` / `attack_target_bpcer` through. Every image is compared with
    /// every image of other people (the person is the image's directory), so a few thousand
    /// images give millions of impostor comparisons; the genuine pairs are the pairs file's
    /// matched pairs. Re-run it on the gate's own data and point `[face] match_calibration` at
    /// the result.
    Calibrate {
        /// Pairs file (`fold img_a img_b same`, tab-separated).
        #[arg(long)]
        pairs: PathBuf,
        /// Directory the pair paths are relative to.
        #[arg(long)]
        images: PathBuf,
        /// Only these folds (comma-separated).
        #[arg(long, value_delimiter = ',')]
        folds: Option<Vec<u32>>,
        /// `columns`: first column (references, e.g. chip photos) against second column
        /// (probes, e.g. camera frames); `symmetric`: every image against every other.
        #[arg(long, value_enum, default_value_t = Sides::Columns)]
        sides: Sides,
        /// Calibrate the attack model on the second column's faces (all bona fide) instead.
        #[arg(long)]
        attack: bool,
        /// What the data is, for the table's provenance.
        #[arg(long)]
        dataset: String,
        /// Where to write the table (TOML).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        models: ModelArgs,
    },
}

/// Which images are compared as impostors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sides {
    /// First column against second column.
    Columns,
    /// Every image against every other person's images.
    Symmetric,
}

/// Where the models and the runtime are.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// Face engine configuration (TOML); the flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory holding the default model manifests (the repository's `models/`).
    #[arg(long, env = "GATE_FACE_MODELS")]
    models: Option<PathBuf>,
    /// Detector manifest instead of the default.
    #[arg(long)]
    detector: Option<PathBuf>,
    /// Embedder manifest instead of the default.
    #[arg(long)]
    embedder: Option<PathBuf>,
    /// ONNX Runtime library (libonnxruntime.so.1.31.1).
    #[arg(long, env = "ORT_DYLIB_PATH")]
    ort_lib: Option<PathBuf>,
    /// Intra-op threads per model.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Match threshold instead of the embedder's calibration at FMR 5e-4.
    #[arg(long)]
    threshold: Option<f32>,
    /// Skip the presentation-attack model.
    #[arg(long)]
    no_attack: bool,
}

impl ModelArgs {
    fn config(&self) -> anyhow::Result<FaceConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => {
                FaceConfig::with_models_dir(&self.models.clone().unwrap_or_else(default_models_dir))
            }
        };
        if let (Some(models), Some(_)) = (&self.models, &self.config) {
            let defaults = FaceConfig::with_models_dir(models);
            config.detector = defaults.detector;
            config.embedder = defaults.embedder;
            config.attack = defaults.attack;
        }
        if let Some(detector) = &self.detector {
            config.detector = detector.clone();
        }
        if let Some(embedder) = &self.embedder {
            config.embedder = embedder.clone();
        }
        if self.ort_lib.is_some() {
            config.onnxruntime_library = self.ort_lib.clone();
        }
        if self.threshold.is_some() {
            config.match_threshold = self.threshold;
        }
        if self.no_attack {
            config.attack = None;
        }
        config.intra_op_threads = self.threads;
        Ok(config)
    }
}

/// The repository's `models/` directory, for runs from a source checkout.
fn default_models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// Runs a face subcommand.
pub fn run(command: FaceCommand) -> anyhow::Result<ExitCode> {
    match command {
        FaceCommand::Compare {
            image_a,
            image_b,
            models,
            json,
        } => compare(&image_a, &image_b, &models, json),
        FaceCommand::Eval {
            pairs,
            images,
            folds,
            models,
            json,
        } => evaluate(&pairs, &images, folds.as_deref(), &models, json),
        FaceCommand::Calibrate {
            pairs,
            images,
            folds,
            sides,
            attack,
            dataset,
            out,
            models,
        } => {
            let request = CalibrationRequest {
                pairs: &pairs,
                images: &images,
                folds: folds.as_deref(),
                sides: match sides {
                    Sides::Columns => eval::ImpostorSides::Columns,
                    Sides::Symmetric => eval::ImpostorSides::Symmetric,
                },
                dataset: &dataset,
                out: &out,
            };
            if attack {
                calibrate_attack(&request, &models)
            } else {
                calibrate_match(&request, &models)
            }
        }
    }
}

/// What `gatectl face calibrate` was asked for.
struct CalibrationRequest<'a> {
    pairs: &'a Path,
    images: &'a Path,
    folds: Option<&'a [u32]>,
    sides: eval::ImpostorSides,
    dataset: &'a str,
    out: &'a Path,
}

impl CalibrationRequest<'_> {
    fn read_pairs(&self) -> anyhow::Result<Vec<eval::Pair>> {
        Ok(eval::read_pairs(self.pairs)?
            .into_iter()
            .filter(|p| self.folds.is_none_or(|f| f.contains(&p.fold)))
            .collect())
    }

    fn provenance(
        &self,
        model: &(String, String),
        detector: &(String, String),
        images_without_face: u64,
    ) -> face::calibration::Provenance {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let folds = match self.folds {
            Some(folds) => format!(
                " (folds {})",
                folds
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            None => String::new(),
        };
        face::calibration::Provenance {
            model: model.0.clone(),
            model_sha256: model.1.clone(),
            detector: detector.0.clone(),
            detector_sha256: detector.1.clone(),
            dataset: format!("{}{folds}", self.dataset),
            created: face::calibration::utc_date(now),
            command: std::env::args()
                .map(|a| if a.contains(' ') { format!("{a:?}") } else { a })
                .collect::<Vec<_>>()
                .join(" "),
            images_without_face,
        }
    }
}

fn progress(done: usize, total: usize) {
    if done.is_multiple_of(500) || done == total {
        eprintln!("{done}/{total} images");
    }
}

fn calibrate_match(
    request: &CalibrationRequest<'_>,
    models: &ModelArgs,
) -> anyhow::Result<ExitCode> {
    let mut config = models.config()?;
    config.attack = None;
    let engine = FaceEngine::load(&config).context("loading the face engine")?;
    let pairs = request.read_pairs()?;
    let images: std::collections::BTreeSet<&str> = pairs
        .iter()
        .flat_map(|p| [p.image_a.as_str(), p.image_b.as_str()])
        .collect();
    let caches = eval::embed_images(&[&engine], &images, request.images, progress)?;
    let cache = caches
        .first()
        .context("the face engine produced no embeddings")?;
    let without_face = cache.values().filter(|e| e.is_none()).count() as u64;
    let loaded = engine.models();
    let table = eval::match_calibration(
        &pairs,
        cache,
        engine.score_rule(),
        request.sides,
        request.provenance(&loaded.embedder, &loaded.detector, without_face),
    );
    anyhow::ensure!(
        !table.rows.is_empty(),
        "{} impostor comparisons cannot support even FMR 1e-2 (at least 300 are needed): use more people",
        table.impostor_comparisons
    );
    table.save(request.out)?;
    println!(
        "{}: {} genuine pairs, {} impostor comparisons, {} images without a face",
        request.out.display(),
        table.genuine_pairs,
        table.impostor_comparisons,
        without_face
    );
    for row in &table.rows {
        println!(
            "FMR {:<8e} threshold {:.4}  FNMR {:>6.2}%  ({} of {} impostor comparisons accepted)",
            row.fmr,
            row.threshold,
            row.fnmr * 100.0,
            row.impostors_accepted,
            row.impostor_comparisons
        );
        if let Some(warning) = &row.warning {
            eprintln!("warning: FMR {:e}: {warning}", row.fmr);
        }
    }
    if table.genuine_pairs < 300 {
        eprintln!(
            "warning: only {} genuine pairs: the FNMR column is uncertain",
            table.genuine_pairs
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn calibrate_attack(
    request: &CalibrationRequest<'_>,
    models: &ModelArgs,
) -> anyhow::Result<ExitCode> {
    let config = models.config()?;
    anyhow::ensure!(
        config.attack.is_some(),
        "--attack needs an attack model (drop --no-attack)"
    );
    let engine = FaceEngine::load(&config).context("loading the face engine")?;
    let pairs = request.read_pairs()?;
    let images: std::collections::BTreeSet<&str> =
        pairs.iter().map(|p| p.image_b.as_str()).collect();
    let mut scores = Vec::with_capacity(images.len());
    let mut without_face = 0u64;
    for (done, image) in images.iter().enumerate() {
        let path = request.images.join(image);
        match analyse(&engine, &path)?
            .best
            .and_then(|face| face.attack_score)
        {
            Some(score) => scores.push(score),
            None => without_face += 1,
        }
        progress(done + 1, images.len());
    }
    let loaded = engine.models();
    let attack = loaded
        .attack
        .as_ref()
        .context("the engine loaded no attack model")?;
    let table = face::calibration::AttackCalibration::from_scores(
        request.provenance(attack, &loaded.detector, without_face),
        "not measured: this table comes from bona fide faces only; measure APCER with          presentation-attack instruments (prints, screens, masks) before relying on the attack check"
            .into(),
        &scores,
    );
    anyhow::ensure!(
        !table.rows.is_empty(),
        "{} bona fide faces cannot support even BPCER 0.2",
        scores.len()
    );
    table.save(request.out)?;
    println!(
        "{}: {} bona fide faces, {} images without a face",
        request.out.display(),
        scores.len(),
        without_face
    );
    for row in &table.rows {
        println!(
            "BPCER {:<6} threshold {:.4}  ({} of {} bona fide refused)",
            row.bpcer, row.threshold, row.bona_fide_refused, row.bona_fide_samples
        );
        if let Some(warning) = &row.warning {
            eprintln!("warning: BPCER {}: {warning}", row.bpcer);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn analyse(engine: &FaceEngine, path: &Path) -> anyhow::Result<FrameAnalysis> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let image = decode_image(&bytes).with_context(|| format!("decoding {}", path.display()))?;
    engine
        .analyse(&image)
        .with_context(|| format!("analysing {}", path.display()))
}

fn face_json(analysis: &FrameAnalysis, face: &AnalysedFace) -> serde_json::Value {
    serde_json::json!({
        "faces": analysis.faces.len(),
        "second_face": analysis.second_face.is_some(),
        "detector_score": face.detection.score,
        "box": face.detection.bbox,
        "quality": face.quality,
        "acceptable": face.quality.acceptable(),
        "attack_score": face.attack_score,
        "is_attack": face.is_attack,
    })
}

fn face_text(label: &str, analysis: &FrameAnalysis, face: &AnalysedFace) -> String {
    let q = &face.quality;
    let mut line = format!(
        "{label}: {} face(s), inter-eye {:.0} px, yaw {:.0} deg, roll {:.0} deg, sharpness {:.0}, brightness {:.0}, quality {:.2} {}",
        analysis.faces.len(),
        q.inter_eye_px,
        q.yaw_deg,
        q.roll_deg,
        q.sharpness,
        q.brightness,
        q.score,
        if q.acceptable() {
            "ok".to_owned()
        } else {
            format!("{:?}", q.issues)
        },
    );
    if analysis.second_face.is_some() {
        line.push_str(", SECOND FACE close behind");
    }
    if let (Some(score), Some(attack)) = (face.attack_score, face.is_attack) {
        line.push_str(&format!(
            ", attack score {score:.3}{}",
            if attack { " ATTACK" } else { "" }
        ));
    }
    line
}

fn compare(
    image_a: &Path,
    image_b: &Path,
    models: &ModelArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let engine = FaceEngine::load(&models.config()?).context("loading the face engine")?;
    let a = analyse(&engine, image_a)?;
    let b = analyse(&engine, image_b)?;
    let (face_a, face_b) = match (&a.best, &b.best) {
        (Some(face_a), Some(face_b)) => (face_a, face_b),
        _ => {
            let missing: Vec<&str> = [(&a, "a"), (&b, "b")]
                .iter()
                .filter(|(x, _)| x.best.is_none())
                .map(|(_, n)| *n)
                .collect();
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "error": "no_face", "images": missing })
                );
            } else {
                let names: Vec<String> = missing
                    .iter()
                    .map(|n| {
                        if *n == "a" {
                            image_a.display().to_string()
                        } else {
                            image_b.display().to_string()
                        }
                    })
                    .collect();
                println!("no face found in {}", names.join(" and "));
            }
            return Ok(ExitCode::from(EXIT_NO_FACE));
        }
    };
    let result = engine.compare_embeddings(&face_a.embedding, &face_b.embedding);
    let threshold = match result.threshold {
        Some(threshold) => format!("{threshold:.4}"),
        None => "none (the embedder has no calibration)".into(),
    };
    if json {
        let value = serde_json::json!({
            "score": result.score,
            "threshold": result.threshold,
            "match": result.is_match,
            "a": face_json(&a, face_a),
            "b": face_json(&b, face_b),
        });
        println!("{value}");
    } else {
        println!(
            "score {:.4}  threshold {threshold}  {}",
            result.score,
            if result.is_match { "MATCH" } else { "NO MATCH" }
        );
        println!("{}", face_text("A", &a, face_a));
        println!("{}", face_text("B", &b, face_b));
    }
    Ok(ExitCode::SUCCESS)
}

fn evaluate(
    pairs: &Path,
    images: &Path,
    folds: Option<&[u32]>,
    models: &ModelArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut config = models.config()?;
    config.attack = None;
    let engine = FaceEngine::load(&config).context("loading the face engine")?;
    let pairs = eval::read_pairs(pairs)?;
    let names = (
        config.detector.display().to_string(),
        config.embedder.display().to_string(),
    );
    let report = eval::evaluate(
        &engine,
        &pairs,
        images,
        folds,
        (&names.0, &names.1),
        |done, total| {
            if !json && (done % 500 == 0 || done == total) {
                eprintln!("{done}/{total} images");
            }
        },
    )
    .map_err(|e: FaceError| anyhow::anyhow!(e))?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let pct = |v: f64| {
            if v.is_nan() {
                "n/a".to_owned()
            } else {
                format!("{:.2}%", v * 100.0)
            }
        };
        println!("detector {}, embedder {}", report.detector, report.embedder);
        println!(
            "{} pairs, {} images, {} without a face, {:.1} images/s",
            report.pairs, report.images, report.images_without_face, report.images_per_second
        );
        println!(
            "calibration folds {:?}, test folds {:?}",
            report.calibration_folds, report.test_folds
        );
        println!(
            "accuracy threshold {:.4}: test accuracy {}",
            report.accuracy_threshold,
            pct(report.test_accuracy)
        );
        for point in [&report.at_fmr_1e3, &report.at_fmr_1e4] {
            println!(
                "FMR {:e}: threshold {:.4}, TAR {}, FNMR {}, measured FMR {}",
                point.target_fmr,
                point.threshold,
                pct(point.tar),
                pct(point.fnmr),
                pct(point.fmr)
            );
        }
        println!(
            "10-fold accuracy {} (std {})",
            pct(report.ten_fold_accuracy),
            pct(report.ten_fold_std)
        );
    }
    Ok(ExitCode::SUCCESS)
}

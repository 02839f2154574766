//! Failure to acquire per quality limit, and whether each limit refuses what would fail
//! matching: the measurements behind the default `QualityThresholds`.
//!
//! `quality_survey --pairs pairs.tsv --images DIR [--side b|all] [--rotations 10,20,30]`
//!
//! For every probe image (second column with `--side b`, the default; every image with `all`)
//! the default detector and embedder find, align and measure the face. Printed as TOML:
//! - the distribution (percentiles) of each measure;
//! - per limit, the share of faces it refuses at the default value (failure to acquire);
//! - per limit, the FNMR at the embedder's calibrated threshold of the genuine pairs whose probe
//!   fails it against those that pass every limit (a limit worth having refuses faces that
//!   would not match anyway);
//! - with `--rotations`, the roll estimate checked against faces rotated in the image plane by
//!   known angles (mean and largest error in degrees);
//! - a sweep of candidate values per limit: the share of probes (and of frontal, well-lit ones)
//!   each refuses, and the FNMR of the pairs it refuses against the pairs it keeps;
//! - with `--dump FILE`, one line per genuine pair (numbers only: the probe's measures and the
//!   pair's score at the calibrated threshold), for sweeping limits offline.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use face::engine::FaceConfig;
use face::quality::{FaceQuality, QualityIssue, QualityThresholds};
use face::{FaceEngine, decode_image, eval, image};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quality_survey: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(serde::Serialize)]
struct Distribution {
    measure: &'static str,
    p1: f32,
    p5: f32,
    p50: f32,
    p95: f32,
    p99: f32,
}

#[derive(serde::Serialize)]
struct LimitRow {
    issue: String,
    faces_refused: usize,
    failure_to_acquire: f64,
    genuine_pairs_refused: usize,
    fnmr_of_refused: f64,
}

#[derive(serde::Serialize)]
struct Report {
    images: usize,
    no_face: usize,
    threshold: f32,
    limits: QualityThresholds,
    failure_to_acquire_any: f64,
    fnmr_all_pairs: f64,
    fnmr_pairs_passing_every_limit: f64,
    distributions: Vec<Distribution>,
    per_limit: Vec<LimitRow>,
    sweep: Vec<SweepRow>,
    roll_check: Option<RollCheck>,
}

/// One candidate value of one limit, over the genuine pairs whose probe was measured.
#[derive(serde::Serialize)]
struct SweepRow {
    limit: &'static str,
    value: f32,
    /// Share of probes refused.
    refused: f64,
    /// Share of frontal, well-lit probes refused (|yaw| and |pitch| at most 15°, brightness
    /// 80-180).
    refused_frontal_well_lit: f64,
    /// FNMR at the calibrated threshold of the pairs whose probe it refuses.
    fnmr_refused: f64,
    /// FNMR of the pairs it keeps.
    fnmr_kept: f64,
}

type Refuses = fn(&FaceQuality, f32) -> bool;

/// Candidate values of each limit (the default among them).
const SWEEP: [(&str, Refuses, [f32; 5]); 8] = [
    (
        "min_inter_eye_px",
        |q, v| q.inter_eye_px < v,
        [20.0, 25.0, 30.0, 35.0, 40.0],
    ),
    (
        "max_abs_yaw_deg",
        |q, v| q.yaw_deg.abs() > v,
        [20.0, 25.0, 30.0, 35.0, 40.0],
    ),
    (
        "max_abs_roll_deg",
        |q, v| q.roll_deg.abs() > v,
        [10.0, 15.0, 20.0, 25.0, 30.0],
    ),
    (
        "max_abs_pitch_deg",
        |q, v| q.pitch_deg.abs() > v,
        [15.0, 20.0, 25.0, 30.0, 35.0],
    ),
    (
        "min_sharpness",
        |q, v| q.sharpness < v,
        [5.0, 8.0, 10.0, 15.0, 20.0],
    ),
    (
        "brightness_min",
        |q, v| q.brightness < v,
        [30.0, 40.0, 50.0, 60.0, 70.0],
    ),
    (
        "brightness_max",
        |q, v| q.brightness > v,
        [190.0, 200.0, 210.0, 220.0, 230.0],
    ),
    (
        "max_clipped_fraction",
        |q, v| q.clipped_fraction > v,
        [0.1, 0.2, 0.25, 0.3, 0.4],
    ),
];

/// A genuine pair's score and its probe's quality.
type MeasuredPair = (f32, FaceQuality);

fn sweep(pairs: &[MeasuredPair], threshold: f32) -> Vec<SweepRow> {
    let frontal = |q: &FaceQuality| {
        q.yaw_deg.abs() <= 15.0
            && q.pitch_deg.abs() <= 15.0
            && (80.0..=180.0).contains(&q.brightness)
    };
    let share = |part: usize, whole: usize| part as f64 / whole.max(1) as f64;
    let fnmr = |rows: &[&(f32, FaceQuality)]| {
        share(
            rows.iter().filter(|(s, _)| *s < threshold).count(),
            rows.len(),
        )
    };
    let frontal_count = pairs.iter().filter(|(_, q)| frontal(q)).count();
    let mut rows = Vec::new();
    for (limit, refuses, values) in SWEEP {
        for value in values {
            let (refused, kept): (Vec<&MeasuredPair>, Vec<&MeasuredPair>) =
                pairs.iter().partition(|(_, q)| refuses(q, value));
            rows.push(SweepRow {
                limit,
                value,
                refused: share(refused.len(), pairs.len()),
                refused_frontal_well_lit: share(
                    refused.iter().filter(|(_, q)| frontal(q)).count(),
                    frontal_count,
                ),
                fnmr_refused: fnmr(&refused),
                fnmr_kept: fnmr(&kept),
            });
        }
    }
    rows
}

#[derive(serde::Serialize)]
struct RollCheck {
    faces: usize,
    mean_abs_error_deg: f32,
    max_abs_error_deg: f32,
}

fn percentile(sorted: &[f32], p: f32) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let index = ((sorted.len() - 1) as f32 * p).round() as usize;
    sorted[index]
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut pairs, mut images) = (None, None);
    let mut all_sides = false;
    let mut rotations: Vec<f32> = Vec::new();
    let mut models = PathBuf::from("models");
    let mut dump: Option<PathBuf> = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--pairs" => pairs = Some(PathBuf::from(value()?)),
            "--images" => images = Some(PathBuf::from(value()?)),
            "--models" => models = PathBuf::from(value()?),
            "--dump" => dump = Some(PathBuf::from(value()?)),
            "--side" => all_sides = value()? == "all",
            "--rotations" => {
                rotations = value()?
                    .split(',')
                    .map(|v| {
                        v.trim()
                            .parse::<f32>()
                            .map_err(|e| format!("--rotations: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(pairs), Some(images)) = (pairs, images) else {
        return Err(
            "usage: --pairs TSV --images DIR [--side b|all] [--rotations DEG,...] [--models DIR]"
                .into(),
        );
    };
    let mut config = FaceConfig::with_models_dir(&models);
    config.attack = None;
    // Measure every face: the survey applies the limits itself.
    config.quality = QualityThresholds {
        min_inter_eye_px: 0.0,
        max_abs_yaw_deg: 90.0,
        max_abs_roll_deg: 180.0,
        max_abs_pitch_deg: 90.0,
        min_sharpness: 0.0,
        brightness_range: [0.0, 255.0],
        max_clipped_fraction: 1.0,
    };
    let engine = FaceEngine::load(&config).map_err(|e| e.to_string())?;
    let threshold = engine
        .match_threshold()
        .ok_or("the default embedder has no calibration")?;
    let limits = QualityThresholds::default();
    let pairs = eval::read_pairs(&pairs).map_err(|e| e.to_string())?;
    let probes: BTreeSet<&str> = pairs
        .iter()
        .flat_map(|p| {
            if all_sides {
                vec![p.image_a.as_str(), p.image_b.as_str()]
            } else {
                vec![p.image_b.as_str()]
            }
        })
        .collect();
    let references: BTreeSet<&str> = pairs
        .iter()
        .filter(|p| p.same)
        .map(|p| p.image_a.as_str())
        .collect();
    let all: BTreeSet<&str> = probes.union(&references).copied().collect();
    let mut measured: HashMap<&str, Option<(FaceQuality, face::Embedding)>> = HashMap::new();
    let mut roll_errors = Vec::new();
    for (done, name) in all.iter().enumerate() {
        let image = read(&images, name)?;
        let analysis = engine.analyse(&image).map_err(|e| format!("{name}: {e}"))?;
        if probes.contains(name)
            && !rotations.is_empty()
            && done % 5 == 0
            && let Some(face) = &analysis.best
        {
            for angle in &rotations {
                for signed in [*angle, -*angle] {
                    let rotated = rotate(&image, signed);
                    if let Ok(assessment) = engine.assess_frame(&rotated)
                        && let Some(turned) = assessment.best
                    {
                        // Image y points down: a counter-clockwise turn of the picture lowers
                        // the roll by the angle.
                        let expected = face.quality.roll_deg - signed;
                        roll_errors.push((turned.quality.roll_deg - expected).abs());
                    }
                }
            }
        }
        measured.insert(name, analysis.best.map(|f| (f.quality, f.embedding)));
        if (done + 1) % 500 == 0 || done + 1 == all.len() {
            eprintln!("{}/{} images", done + 1, all.len());
        }
    }
    let probe_qualities: Vec<&FaceQuality> = probes
        .iter()
        .filter_map(|p| measured.get(p).and_then(|m| m.as_ref()).map(|(q, _)| q))
        .collect();
    let no_face = probes.len() - probe_qualities.len();
    let issues_of = |q: &FaceQuality| limits.issues(q);
    let rule = engine.score_rule();
    let genuine: Vec<(f32, Vec<QualityIssue>)> = pairs
        .iter()
        .filter(|p| p.same)
        .filter_map(|p| {
            let (_, a) = measured.get(p.image_a.as_str())?.as_ref()?;
            let (q, b) = measured.get(p.image_b.as_str())?.as_ref()?;
            Some((rule.score(a, b), issues_of(q)))
        })
        .collect();
    if let Some(path) = &dump {
        let mut text = String::from(
            "score\tinter_eye_px\tyaw_deg\troll_deg\tpitch_deg\tsharpness\tbrightness\tclipped_fraction\n",
        );
        for p in pairs.iter().filter(|p| p.same) {
            let a = measured.get(p.image_a.as_str()).and_then(|m| m.as_ref());
            let b = measured.get(p.image_b.as_str()).and_then(|m| m.as_ref());
            if let (Some((_, ea)), Some((q, eb))) = (a, b) {
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    rule.score(ea, eb),
                    q.inter_eye_px,
                    q.yaw_deg,
                    q.roll_deg,
                    q.pitch_deg,
                    q.sharpness,
                    q.brightness,
                    q.clipped_fraction
                ));
            }
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let fnmr = |rows: &[&(f32, Vec<QualityIssue>)]| {
        rows.iter().filter(|(s, _)| *s < threshold).count() as f64 / rows.len().max(1) as f64
    };
    let all_rows: Vec<&(f32, Vec<QualityIssue>)> = genuine.iter().collect();
    let passing: Vec<&(f32, Vec<QualityIssue>)> =
        genuine.iter().filter(|(_, i)| i.is_empty()).collect();
    let mut per_limit = Vec::new();
    for issue in [
        QualityIssue::TooSmall,
        QualityIssue::Turned,
        QualityIssue::Tilted,
        QualityIssue::Pitched,
        QualityIssue::Blurred,
        QualityIssue::TooDark,
        QualityIssue::TooBright,
        QualityIssue::Clipped,
    ] {
        let refused = probe_qualities
            .iter()
            .filter(|q| issues_of(q).contains(&issue))
            .count();
        let refused_pairs: Vec<&(f32, Vec<QualityIssue>)> =
            genuine.iter().filter(|(_, i)| i.contains(&issue)).collect();
        per_limit.push(LimitRow {
            issue: format!("{issue:?}"),
            faces_refused: refused,
            failure_to_acquire: refused as f64 / probe_qualities.len().max(1) as f64,
            genuine_pairs_refused: refused_pairs.len(),
            fnmr_of_refused: fnmr(&refused_pairs),
        });
    }
    let measure = |name: &'static str, f: &dyn Fn(&FaceQuality) -> f32| {
        let mut values: Vec<f32> = probe_qualities.iter().map(|q| f(q)).collect();
        values.sort_by(|a, b| a.total_cmp(b));
        Distribution {
            measure: name,
            p1: percentile(&values, 0.01),
            p5: percentile(&values, 0.05),
            p50: percentile(&values, 0.5),
            p95: percentile(&values, 0.95),
            p99: percentile(&values, 0.99),
        }
    };
    let measured_pairs: Vec<(f32, FaceQuality)> = pairs
        .iter()
        .filter(|p| p.same)
        .filter_map(|p| {
            let (_, a) = measured.get(p.image_a.as_str())?.as_ref()?;
            let (q, b) = measured.get(p.image_b.as_str())?.as_ref()?;
            Some((rule.score(a, b), q.clone()))
        })
        .collect();
    let report = Report {
        sweep: sweep(&measured_pairs, threshold),
        images: probes.len(),
        no_face,
        threshold,
        limits: limits.clone(),
        failure_to_acquire_any: probe_qualities
            .iter()
            .filter(|q| !issues_of(q).is_empty())
            .count() as f64
            / probe_qualities.len().max(1) as f64,
        fnmr_all_pairs: fnmr(&all_rows),
        fnmr_pairs_passing_every_limit: fnmr(&passing),
        distributions: vec![
            measure("inter_eye_px", &|q| q.inter_eye_px),
            measure("abs_yaw_deg", &|q| q.yaw_deg.abs()),
            measure("abs_roll_deg", &|q| q.roll_deg.abs()),
            measure("abs_pitch_deg", &|q| q.pitch_deg.abs()),
            measure("pitch_deg", &|q| q.pitch_deg),
            measure("sharpness", &|q| q.sharpness),
            measure("brightness", &|q| q.brightness),
            measure("clipped_fraction", &|q| q.clipped_fraction),
        ],
        per_limit,
        roll_check: (!roll_errors.is_empty()).then(|| RollCheck {
            faces: roll_errors.len(),
            mean_abs_error_deg: roll_errors.iter().sum::<f32>() / roll_errors.len() as f32,
            max_abs_error_deg: roll_errors.iter().copied().fold(0.0, f32::max),
        }),
    };
    println!(
        "{}",
        toml::to_string(&report).map_err(|e| format!("cannot print: {e}"))?
    );
    Ok(())
}

fn read(dir: &Path, name: &str) -> Result<image::RgbImage, String> {
    let bytes = std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
    decode_image(&bytes).map_err(|e| format!("{name}: {e}"))
}

/// The image turned counter-clockwise by `degrees` about its centre (bilinear, grey outside).
fn rotate(source: &image::RgbImage, degrees: f32) -> image::RgbImage {
    let (w, h) = (source.width() as f32, source.height() as f32);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w / 2.0, h / 2.0);
    image::RgbImage::from_fn(source.width(), source.height(), |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        // Inverse map: output pixel -> source position.
        let sx = cos * dx - sin * dy + cx - 0.5;
        let sy = sin * dx + cos * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > w - 1.0 || sy > h - 1.0 {
            return image::Rgb([128, 128, 128]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let (x1, y1) = (
            (x0 + 1).min(source.width() - 1),
            (y0 + 1).min(source.height() - 1),
        );
        let p = |x: u32, y: u32, c: usize| f32::from(source.get_pixel(x, y).0[c]);
        image::Rgb([0, 1, 2].map(|c| {
            (p(x0, y0, c) * (1.0 - fx) * (1.0 - fy)
                + p(x1, y0, c) * fx * (1.0 - fy)
                + p(x0, y1, c) * (1.0 - fx) * fy
                + p(x1, y1, c) * fx * fy)
                .round() as u8
        }))
    })
}

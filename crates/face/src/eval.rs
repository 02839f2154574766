//! 1:1 verification evaluation on an LFW-style pairs file, with threshold calibration.
//!
//! Protocol (see `shared/datasets/lfw/README.md`): thresholds are chosen on folds 1-5 and the
//! rates are measured on folds 6-10; the 10-fold accuracy uses, for each fold, the
//! best-accuracy threshold of the other folds. A pair with an image where no face was found
//! counts as a non-match (score minus infinity).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::calibration::next_up;
use crate::embed::Embedding;
use crate::engine::FaceEngine;
use crate::error::{FaceError, Result};
use crate::imaging::decode_image;

/// One pair of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Fold number (1-based).
    pub fold: u32,
    /// First image, relative to the images directory.
    pub image_a: String,
    /// Second image.
    pub image_b: String,
    /// Same person.
    pub same: bool,
}

/// Reads `fold<TAB>img_a<TAB>img_b<TAB>same` lines (a header line is skipped; `same` is 1/0 or true/false).
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    let text = std::fs::read_to_string(path).map_err(|source| FaceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_pairs(&text, path)
}

/// Parses pairs text (`origin` names it in errors).
pub fn parse_pairs(text: &str, origin: &Path) -> Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let error = |message: String| FaceError::EvalInput {
            path: origin.to_path_buf(),
            line: index + 1,
            message,
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 4 {
            return Err(error(format!(
                "expected 4 tab-separated fields, found {}",
                fields.len()
            )));
        }
        let Ok(fold) = fields[0].trim().parse::<u32>() else {
            if index == 0 {
                continue; // header
            }
            return Err(error(format!("fold {:?} is not a number", fields[0])));
        };
        let same = match fields[3].trim() {
            "1" | "true" | "True" => true,
            "0" | "false" | "False" => false,
            other => {
                return Err(error(format!(
                    "same must be 1/0/true/false, found {other:?}"
                )));
            }
        };
        pairs.push(Pair {
            fold,
            image_a: fields[1].to_owned(),
            image_b: fields[2].to_owned(),
            same,
        });
    }
    Ok(pairs)
}

/// A scored pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    /// Fold number.
    pub fold: u32,
    /// Normalised score (minus infinity when a face was missing).
    pub score: f32,
    /// Same person.
    pub same: bool,
}

/// Threshold that maximises accuracy (`score >= threshold` means match), and that accuracy.
pub fn best_accuracy_threshold(scores: &[ScoredPair]) -> (f32, f64) {
    let mut sorted: Vec<&ScoredPair> = scores.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let total = sorted.len().max(1) as f64;
    let impostors = sorted.iter().filter(|p| !p.same).count();
    // Accept nothing: all impostors right.
    let mut best = (
        sorted.first().map_or(0.0, |p| next_up(p.score)),
        impostors as f64 / total,
    );
    let (mut genuine_accepted, mut impostors_accepted) = (0usize, 0usize);
    for (i, pair) in sorted.iter().enumerate() {
        if pair.same {
            genuine_accepted += 1;
        } else {
            impostors_accepted += 1;
        }
        let next_differs = sorted.get(i + 1).is_none_or(|next| next.score < pair.score);
        if !next_differs || !pair.score.is_finite() {
            continue;
        }
        let correct = genuine_accepted + (impostors - impostors_accepted);
        let accuracy = correct as f64 / total;
        if accuracy > best.1 {
            let threshold = match sorted.get(i + 1) {
                Some(next) if next.score.is_finite() => (pair.score + next.score) / 2.0,
                _ => pair.score,
            };
            best = (threshold, accuracy);
        }
    }
    best
}

/// Lowest threshold at which at most `fmr` of the impostor scores are accepted.
pub fn threshold_at_fmr(impostor_scores: &[f32], fmr: f64) -> f32 {
    let mut sorted: Vec<f32> = impostor_scores.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fmr * sorted.len() as f64).floor() as usize;
    match sorted.get(allowed) {
        Some(&score) => next_up(score),
        None => f32::NEG_INFINITY,
    }
}

/// (accuracy, true-accept rate, false-accept rate) at a threshold; NaN for an empty set.
pub fn rates_at(scores: &[ScoredPair], threshold: f32) -> (f64, f64, f64) {
    if scores.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let genuine = scores.iter().filter(|p| p.same).count().max(1) as f64;
    let impostor = scores.iter().filter(|p| !p.same).count().max(1) as f64;
    let true_accepts = scores
        .iter()
        .filter(|p| p.same && p.score >= threshold)
        .count() as f64;
    let false_accepts = scores
        .iter()
        .filter(|p| !p.same && p.score >= threshold)
        .count() as f64;
    let correct = true_accepts + (impostor - false_accepts);
    (
        correct / scores.len().max(1) as f64,
        true_accepts / genuine,
        false_accepts / impostor,
    )
}

/// Rates at a calibrated threshold.
#[derive(Debug, Clone, Serialize)]
pub struct OperatingPoint {
    /// Target false-match rate.
    pub target_fmr: f64,
    /// Threshold chosen on the calibration folds.
    pub threshold: f32,
    /// True-accept rate on the test folds.
    pub tar: f64,
    /// False-non-match rate on the test folds (1 - TAR).
    pub fnmr: f64,
    /// False-match rate measured on the test folds.
    pub fmr: f64,
}

/// The evaluation report.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Detector manifest.
    pub detector: String,
    /// Embedder manifest.
    pub embedder: String,
    /// Pairs evaluated.
    pub pairs: usize,
    /// Distinct images.
    pub images: usize,
    /// Images where no face was found.
    pub images_without_face: usize,
    /// Folds used to choose thresholds.
    pub calibration_folds: Vec<u32>,
    /// Folds the rates are measured on.
    pub test_folds: Vec<u32>,
    /// Best-accuracy threshold on the calibration folds.
    pub accuracy_threshold: f32,
    /// Accuracy on the test folds at that threshold.
    pub test_accuracy: f64,
    /// TAR/FNMR at FMR 1e-3 (threshold from the calibration folds).
    pub at_fmr_1e3: OperatingPoint,
    /// TAR/FNMR at FMR 1e-4 (threshold from the calibration folds; with 1,500 impostor pairs this
    /// is the threshold just above the highest impostor score).
    pub at_fmr_1e4: OperatingPoint,
    /// Mean accuracy over folds, each with the best threshold of the other folds.
    pub ten_fold_accuracy: f64,
    /// Standard deviation of the per-fold accuracies.
    pub ten_fold_std: f64,
    /// Images analysed per second (decode + detect + align + embed), this run.
    pub images_per_second: f64,
}

/// Metrics from scored pairs (pure: no models involved).
pub fn metrics(scores: &[ScoredPair], detector: &str, embedder: &str) -> EvalReport {
    let folds: BTreeSet<u32> = scores.iter().map(|p| p.fold).collect();
    let calibration_folds: Vec<u32> = folds.iter().copied().filter(|f| *f <= 5).collect();
    let test_folds: Vec<u32> = folds.iter().copied().filter(|f| *f > 5).collect();
    let calibration: Vec<ScoredPair> = scores.iter().copied().filter(|p| p.fold <= 5).collect();
    let test: Vec<ScoredPair> = scores.iter().copied().filter(|p| p.fold > 5).collect();
    let (accuracy_threshold, _) = best_accuracy_threshold(&calibration);
    let (test_accuracy, _, _) = rates_at(&test, accuracy_threshold);
    let impostors: Vec<f32> = calibration
        .iter()
        .filter(|p| !p.same)
        .map(|p| p.score)
        .collect();
    let point = |target_fmr: f64| {
        let threshold = threshold_at_fmr(&impostors, target_fmr);
        let (_, tar, fmr) = rates_at(&test, threshold);
        OperatingPoint {
            target_fmr,
            threshold,
            tar,
            fnmr: 1.0 - tar,
            fmr,
        }
    };
    let per_fold: Vec<f64> = folds
        .iter()
        .filter(|_| folds.len() > 1)
        .map(|&fold| {
            let others: Vec<ScoredPair> =
                scores.iter().copied().filter(|p| p.fold != fold).collect();
            let this: Vec<ScoredPair> = scores.iter().copied().filter(|p| p.fold == fold).collect();
            let (threshold, _) = best_accuracy_threshold(&others);
            rates_at(&this, threshold).0
        })
        .collect();
    let n = per_fold.len().max(1) as f64;
    let mean = per_fold.iter().sum::<f64>() / n;
    let std = (per_fold
        .iter()
        .map(|a| (a - mean) * (a - mean))
        .sum::<f64>()
        / n)
        .sqrt();
    EvalReport {
        detector: detector.to_owned(),
        embedder: embedder.to_owned(),
        pairs: scores.len(),
        images: 0,
        images_without_face: 0,
        calibration_folds,
        test_folds,
        accuracy_threshold,
        test_accuracy,
        at_fmr_1e3: point(1e-3),
        at_fmr_1e4: point(1e-4),
        ten_fold_accuracy: mean,
        ten_fold_std: std,
        images_per_second: 0.0,
    }
}

/// Runs the engine over every image of the pairs (each image once) and reports the metrics.
/// `folds` restricts the pairs; `progress` is called with (done, total) images.
pub fn evaluate(
    engine: &FaceEngine,
    pairs: &[Pair],
    images_dir: &Path,
    folds: Option<&[u32]>,
    names: (&str, &str),
    progress: impl FnMut(usize, usize),
) -> Result<EvalReport> {
    let mut reports = evaluate_many(
        &[(names.1, engine)],
        pairs,
        images_dir,
        folds,
        names.0,
        progress,
    )?;
    reports
        .pop()
        .ok_or_else(|| FaceError::Config("no engine evaluated".into()))
}

/// Evaluates several engines on the same detections: the first engine's detector finds the
/// faces once per image, every engine aligns and embeds them with its own model.
pub fn evaluate_many(
    engines: &[(&str, &FaceEngine)],
    pairs: &[Pair],
    images_dir: &Path,
    folds: Option<&[u32]>,
    detector_name: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<EvalReport>> {
    let selected: Vec<&Pair> = pairs
        .iter()
        .filter(|p| folds.is_none_or(|f| f.contains(&p.fold)))
        .collect();
    let images: BTreeSet<&str> = selected
        .iter()
        .flat_map(|p| [p.image_a.as_str(), p.image_b.as_str()])
        .collect();
    let started = Instant::now();
    let only_engines: Vec<&FaceEngine> = engines.iter().map(|(_, e)| *e).collect();
    let caches = embed_images(&only_engines, &images, images_dir, &mut progress)?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut reports = Vec::with_capacity(engines.len());
    for ((name, engine), cache) in engines.iter().zip(&caches) {
        let scores: Vec<ScoredPair> = selected
            .iter()
            .map(|p| ScoredPair {
                fold: p.fold,
                score: pair_score(p, cache, engine.score_rule()),
                same: p.same,
            })
            .collect();
        let mut report = metrics(&scores, detector_name, name);
        report.images = images.len();
        report.images_without_face = cache.values().filter(|e| e.is_none()).count();
        // Shared detection: the rate covers every engine together when several are evaluated.
        report.images_per_second = if elapsed > 0.0 {
            images.len() as f64 / elapsed
        } else {
            0.0
        };
        reports.push(report);
    }
    Ok(reports)
}

/// The person an image shows: its directory name (LFW layout `Name/Name_0001.jpg`; the chip-live
/// set's `chip/Name/Name_0001.jp2` and `live/Name/Name_0001.jpg` too).
pub fn identity_of(path: &str) -> &str {
    let mut parts = path.rsplit('/');
    let _file = parts.next();
    parts.next().unwrap_or(path)
}

/// The embedding of every image of `images` by each engine (the first engine's detector finds
/// the faces once per image); `None` where no face was found.
pub fn embed_images<'a>(
    engines: &[&FaceEngine],
    images: &BTreeSet<&'a str>,
    images_dir: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<HashMap<&'a str, Option<Embedding>>>> {
    let Some(detecting) = engines.first() else {
        return Ok(Vec::new());
    };
    let mut caches: Vec<HashMap<&str, Option<Embedding>>> =
        vec![HashMap::with_capacity(images.len()); engines.len()];
    for (done, image) in images.iter().enumerate() {
        let path: PathBuf = images_dir.join(image);
        let bytes = std::fs::read(&path).map_err(|source| FaceError::Io {
            path: path.clone(),
            source,
        })?;
        let decoded = decode_image(&bytes)?;
        let faces = detecting.detect(&decoded)?;
        for (engine, cache) in engines.iter().zip(caches.iter_mut()) {
            let analysis = engine.analyse_detections(&decoded, faces.clone())?;
            cache.insert(image, analysis.best.map(|face| face.embedding));
        }
        progress(done + 1, images.len());
    }
    Ok(caches)
}

/// Which images are compared as impostors: every reference-side image against every probe-side
/// image of another person. With `symmetric`, both sides hold every image of the pairs and each
/// unordered pair of images is compared once (a gallery of one kind of image, e.g. LFW against
/// LFW); otherwise the references are the first column and the probes the second (chip against
/// live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpostorSides {
    /// First column against second column.
    Columns,
    /// Every image against every other person's images, each unordered pair once.
    Symmetric,
}

/// Reference and probe images with their person, for cross-identity comparisons.
#[derive(Debug, Clone)]
pub struct CrossIdentitySet<'a> {
    references: Vec<(&'a str, usize)>,
    probes: Vec<(&'a str, usize)>,
    symmetric: bool,
}

impl<'a> CrossIdentitySet<'a> {
    /// The images of `pairs` arranged by `sides`.
    pub fn new(pairs: &[&'a Pair], sides: ImpostorSides) -> Self {
        let mut people: HashMap<&str, usize> = HashMap::new();
        let mut person = |image: &'a str| {
            let next = people.len();
            *people.entry(identity_of(image)).or_insert(next)
        };
        let (first, second): (BTreeSet<&'a str>, BTreeSet<&'a str>) = match sides {
            ImpostorSides::Columns => (
                pairs.iter().map(|p| p.image_a.as_str()).collect(),
                pairs.iter().map(|p| p.image_b.as_str()).collect(),
            ),
            ImpostorSides::Symmetric => {
                let all: BTreeSet<&str> = pairs
                    .iter()
                    .flat_map(|p| [p.image_a.as_str(), p.image_b.as_str()])
                    .collect();
                (all.clone(), all)
            }
        };
        Self {
            references: first.into_iter().map(|i| (i, person(i))).collect(),
            probes: second.into_iter().map(|i| (i, person(i))).collect(),
            symmetric: sides == ImpostorSides::Symmetric,
        }
    }

    /// Calls `visit` with the score of every impostor comparison whose two images have a face;
    /// returns how many comparisons were skipped because one of them has none.
    pub fn for_each_impostor(
        &self,
        embeddings: &HashMap<&str, Option<Embedding>>,
        rule: crate::embed::ScoreRule,
        mut visit: impl FnMut(f32),
    ) -> u64 {
        let lookup = |side: &[(&'a str, usize)]| -> Vec<(usize, Option<&Embedding>)> {
            side.iter()
                .map(|(image, person)| (*person, embeddings.get(image).and_then(Option::as_ref)))
                .collect()
        };
        let references = lookup(&self.references);
        let probes = lookup(&self.probes);
        let mut skipped = 0u64;
        for (r, (ref_person, ref_embedding)) in references.iter().enumerate() {
            // Symmetric sets hold the same images on both sides, in the same order: compare
            // each unordered pair once.
            let start = if self.symmetric { r + 1 } else { 0 };
            for (probe_person, probe_embedding) in &probes[start..] {
                if probe_person == ref_person {
                    continue;
                }
                match (ref_embedding, probe_embedding) {
                    (Some(a), Some(b)) => visit(rule.score(a, b)),
                    _ => skipped += 1,
                }
            }
        }
        skipped
    }
}

/// Rates measured on held-out folds at a threshold chosen on the calibration folds.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOutPoint {
    /// Target false-match rate.
    pub target_fmr: f64,
    /// Threshold chosen on the calibration folds' cross-identity impostors.
    pub threshold: f32,
    /// False-non-match rate of the test folds' genuine pairs.
    pub fnmr: f64,
    /// False-match rate over the test folds' cross-identity impostor comparisons.
    pub measured_fmr: f64,
    /// Impostor comparisons of the test folds accepted at the threshold.
    pub impostors_accepted: u64,
}

/// A cross-identity evaluation: thresholds from every impostor comparison of folds 1-5, rates on
/// folds 6-10.
#[derive(Debug, Clone, Serialize)]
pub struct CrossIdentityReport {
    /// Impostor comparisons on the calibration folds.
    pub calibration_impostors: u64,
    /// Impostor comparisons on the test folds.
    pub test_impostors: u64,
    /// Genuine pairs on the test folds.
    pub test_genuine: u64,
    /// Operating points.
    pub points: Vec<HeldOutPoint>,
}

/// Splits pairs into the calibration folds (1-5) and the test folds (6-10).
fn halves(pairs: &[Pair]) -> (Vec<&Pair>, Vec<&Pair>) {
    pairs.iter().partition(|p| p.fold <= 5)
}

/// Cross-identity held-out evaluation of one engine's embeddings at `targets`.
pub fn cross_identity_report(
    pairs: &[Pair],
    embeddings: &HashMap<&str, Option<Embedding>>,
    rule: crate::embed::ScoreRule,
    sides: ImpostorSides,
    targets: &[f64],
) -> CrossIdentityReport {
    let (calibration, test) = halves(pairs);
    let calibration_set = CrossIdentitySet::new(&calibration, sides);
    let largest = targets.iter().copied().fold(0.0, f64::max);
    let mut total = 0u64;
    calibration_set.for_each_impostor(embeddings, rule, |_| total += 1);
    let mut top = crate::calibration::TopScores::new((largest * total as f64).ceil() as usize + 2);
    calibration_set.for_each_impostor(embeddings, rule, |s| top.push(s));
    let (mut kept, calibration_total) = top.finish();
    kept.sort_by(|a, b| b.total_cmp(a));
    let thresholds: Vec<f32> = targets
        .iter()
        .map(|fmr| {
            let allowed = (fmr * calibration_total as f64).floor() as usize;
            kept.get(allowed).map_or(f32::NEG_INFINITY, |s| next_up(*s))
        })
        .collect();
    let test_set = CrossIdentitySet::new(&test, sides);
    let mut accepted = vec![0u64; targets.len()];
    let mut test_total = 0u64;
    test_set.for_each_impostor(embeddings, rule, |s| {
        test_total += 1;
        for (count, threshold) in accepted.iter_mut().zip(&thresholds) {
            if s >= *threshold {
                *count += 1;
            }
        }
    });
    let genuine: Vec<f32> = test
        .iter()
        .filter(|p| p.same)
        .map(|p| pair_score(p, embeddings, rule))
        .collect();
    let points = targets
        .iter()
        .zip(&thresholds)
        .zip(&accepted)
        .map(|((target, threshold), accepted)| HeldOutPoint {
            target_fmr: *target,
            threshold: *threshold,
            fnmr: genuine.iter().filter(|s| **s < *threshold).count() as f64
                / genuine.len().max(1) as f64,
            measured_fmr: *accepted as f64 / test_total.max(1) as f64,
            impostors_accepted: *accepted,
        })
        .collect();
    CrossIdentityReport {
        calibration_impostors: calibration_total,
        test_impostors: test_total,
        test_genuine: genuine.len() as u64,
        points,
    }
}

/// Score of a listed pair (minus infinity when either image has no face).
pub fn pair_score(
    pair: &Pair,
    embeddings: &HashMap<&str, Option<Embedding>>,
    rule: crate::embed::ScoreRule,
) -> f32 {
    match (
        embeddings.get(pair.image_a.as_str()),
        embeddings.get(pair.image_b.as_str()),
    ) {
        (Some(Some(a)), Some(Some(b))) => rule.score(a, b),
        _ => f32::NEG_INFINITY,
    }
}

/// A match calibration table from every cross-identity impostor comparison and every listed
/// genuine pair of `pairs` (already restricted to the folds to calibrate on).
pub fn match_calibration(
    pairs: &[Pair],
    embeddings: &HashMap<&str, Option<Embedding>>,
    rule: crate::embed::ScoreRule,
    sides: ImpostorSides,
    provenance: crate::calibration::Provenance,
) -> crate::calibration::MatchCalibration {
    let all: Vec<&Pair> = pairs.iter().collect();
    let set = CrossIdentitySet::new(&all, sides);
    let mut total = 0u64;
    set.for_each_impostor(embeddings, rule, |_| total += 1);
    let largest = crate::calibration::STANDARD_FMRS[0];
    let mut top = crate::calibration::TopScores::new((largest * total as f64).ceil() as usize + 2);
    set.for_each_impostor(embeddings, rule, |s| top.push(s));
    let (kept, impostor_total) = top.finish();
    let genuine: Vec<f32> = pairs
        .iter()
        .filter(|p| p.same)
        .map(|p| pair_score(p, embeddings, rule))
        .collect();
    let score = match rule {
        crate::embed::ScoreRule::Cosine => "cosine similarity of L2-normalised embeddings".into(),
        crate::embed::ScoreRule::Euclidean { scale } => {
            format!("1 - euclidean distance / {scale}")
        }
    };
    crate::calibration::MatchCalibration::from_scores(
        provenance,
        score,
        kept,
        impostor_total,
        &genuine,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(fold: u32, score: f32, same: bool) -> ScoredPair {
        ScoredPair { fold, score, same }
    }

    #[test]
    fn parses_pairs_with_header() {
        let text = "fold\timg_a\timg_b\tsame\n1\tA/A_0001.jpg\tA/A_0002.jpg\t1\n6\tA/A_0001.jpg\tB/B_0001.jpg\t0\n";
        let pairs = parse_pairs(text, Path::new("p.tsv")).unwrap();
        assert_eq!(pairs.len(), 2);
        assert!(pairs[0].same && !pairs[1].same && pairs[1].fold == 6);
        assert!(parse_pairs("1\ta\tb\tmaybe\n", Path::new("p.tsv")).is_err());
        assert!(parse_pairs("1\ta\tb\n", Path::new("p.tsv")).is_err());
    }

    #[test]
    fn separable_scores_give_perfect_accuracy() {
        let scores = [
            pair(1, 0.9, true),
            pair(1, 0.8, true),
            pair(1, 0.3, false),
            pair(1, 0.1, false),
        ];
        let (threshold, accuracy) = best_accuracy_threshold(&scores);
        assert!((accuracy - 1.0).abs() < 1e-12);
        assert!(threshold > 0.3 && threshold <= 0.8, "{threshold}");
    }

    #[test]
    fn missing_faces_are_rejections() {
        let scores = [
            pair(1, f32::NEG_INFINITY, true),
            pair(1, 0.9, true),
            pair(1, 0.1, false),
        ];
        let (threshold, accuracy) = best_accuracy_threshold(&scores);
        assert!(threshold.is_finite());
        assert!((accuracy - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn fmr_threshold_admits_at_most_the_allowed_impostors() {
        let impostors: Vec<f32> = (0..2000).map(|i| i as f32 / 2000.0).collect();
        let threshold = threshold_at_fmr(&impostors, 1e-3);
        let accepted = impostors.iter().filter(|s| **s >= threshold).count();
        assert_eq!(accepted, 2);
        let strict = threshold_at_fmr(&impostors, 1e-4);
        assert_eq!(impostors.iter().filter(|s| **s >= strict).count(), 0);
    }

    #[test]
    fn metrics_split_calibration_and_test_folds() {
        let mut scores = Vec::new();
        for fold in 1..=10 {
            scores.push(pair(fold, 0.9, true));
            scores.push(pair(fold, 0.2, false));
        }
        scores.push(pair(7, 0.1, true)); // one genuine pair below every threshold
        let report = metrics(&scores, "d", "e");
        assert_eq!(report.calibration_folds, vec![1, 2, 3, 4, 5]);
        assert_eq!(report.test_folds, vec![6, 7, 8, 9, 10]);
        assert!(
            (report.at_fmr_1e3.fnmr - 1.0 / 6.0).abs() < 1e-9,
            "{report:?}"
        );
        assert!(report.ten_fold_accuracy < 1.0 && report.ten_fold_accuracy > 0.95);
    }

    #[test]
    fn identity_is_the_directory() {
        assert_eq!(identity_of("A_B/A_B_0001.jpg"), "A_B");
        assert_eq!(identity_of("chip/A_B/A_B_0001.jp2"), "A_B");
        assert_eq!(identity_of("x.jpg"), "x.jpg");
    }

    fn p(fold: u32, a: &str, b: &str, same: bool) -> Pair {
        Pair {
            fold,
            image_a: a.into(),
            image_b: b.into(),
            same,
        }
    }

    #[test]
    fn cross_identity_comparisons_skip_the_same_person_and_count_pairs_once() {
        let pairs = [
            p(1, "A/A_1.jpg", "A/A_2.jpg", true),
            p(1, "B/B_1.jpg", "C/C_1.jpg", false),
        ];
        let refs: Vec<&Pair> = pairs.iter().collect();
        let embeddings: HashMap<&str, Option<Embedding>> = [
            ("A/A_1.jpg", Some(vec![1.0, 0.0])),
            ("A/A_2.jpg", Some(vec![0.9, 0.1])),
            ("B/B_1.jpg", Some(vec![0.0, 1.0])),
            ("C/C_1.jpg", None),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.map(Embedding::from_values)))
        .collect();
        let rule = crate::embed::ScoreRule::Cosine;
        // Symmetric: 4 images, 1 same-person pair -> 5 unordered impostor pairs, 2 with C (no face).
        let symmetric = CrossIdentitySet::new(&refs, ImpostorSides::Symmetric);
        let mut scores = Vec::new();
        let skipped = symmetric.for_each_impostor(&embeddings, rule, |s| scores.push(s));
        assert_eq!((scores.len(), skipped), (2, 3));
        // Columns: references {A_1, B_1}, probes {A_2, C_1}: A_1-C_1 and B_1-A_2 and B_1-C_1.
        let columns = CrossIdentitySet::new(&refs, ImpostorSides::Columns);
        let mut scores = Vec::new();
        let skipped = columns.for_each_impostor(&embeddings, rule, |s| scores.push(s));
        assert_eq!((scores.len(), skipped), (1, 2));
        assert!((scores[0] - 0.1).abs() < 1e-6);
    }
}

//! Operating points: tables from an error rate to the threshold that gives it, measured for one
//! model, and the rule that turns a target rate into a threshold.
//!
//! A bare threshold means nothing without the model (and the data) that produced it; a border
//! agency states error rates instead. Each shipped model carries a calibration file beside its
//! manifest (`calibration = "…"` in the manifest's `[embedder]` or `[attack]` section):
//!
//! - **match** tables ([`MatchCalibration`]) map a false-match rate (FMR) to the score threshold
//!   at which at most that fraction of impostor comparisons is accepted, with the false-non-match
//!   rate (FNMR) measured on the genuine pairs at that threshold. `gatectl face calibrate` writes
//!   them from a pairs file, comparing every image with every image of other people (embed once,
//!   compare many) so the table reaches FMRs far below what the listed impostor pairs support.
//! - **attack** tables ([`AttackCalibration`]) map a bona fide presentation classification error
//!   rate (BPCER, ISO/IEC 30107-3) to the attack-score threshold that refuses at most that
//!   fraction of bona fide faces. The attack presentation error rate (APCER) needs attack
//!   samples (prints, screens, masks) and is stated separately when measured.
//!
//! [`MatchCalibration::resolve`] picks the row with the largest FMR not above the target and
//! refuses a target the data cannot support: fewer than [`MIN_ERRORS_BEHIND_RATE`] / FMR impostor
//! comparisons behind it (at FMR 5e-4, about 6,000).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{FaceError, Result};

/// A rate is supported by a table only if the comparisons behind it would show at least this
/// many errors at that rate (comparisons >= 3 / rate).
pub const MIN_ERRORS_BEHIND_RATE: f64 = 3.0;

/// Below this many expected errors at a rate a row is kept but marked uncertain (the relative
/// uncertainty of the rate is then above about 30 %).
pub const FEW_ERRORS_BEHIND_RATE: f64 = 10.0;

/// The false-match rates a match table is computed for, from 1e-2 down to 1e-7 (rows the
/// impostor count cannot support are left out).
pub const STANDARD_FMRS: [f64; 16] = [
    1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5, 5e-6, 2e-6, 1e-6, 5e-7, 2e-7, 1e-7,
];

/// The bona fide rejection rates an attack table is computed for.
pub const STANDARD_BPCERS: [f64; 8] = [0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];

/// The FMR the engine uses when no threshold or target is given (the EU Entry/Exit System's
/// operating point for 1:1 face verification: FNMR below 1 % at FMR 0.05 %).
pub const DEFAULT_TARGET_FMR: f64 = 5e-4;

/// The BPCER the engine uses for the attack model when no threshold or target is given.
pub const DEFAULT_TARGET_BPCER: f64 = 0.01;

/// Where a table's numbers come from: which model, which data, when and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The model manifest's `name`.
    pub model: String,
    /// sha256 of the model's main ONNX file: the table holds only for this file.
    pub model_sha256: String,
    /// The detector manifest's `name` the faces were found with.
    pub detector: String,
    /// sha256 of the detector's first ONNX file.
    pub detector_sha256: String,
    /// What the data set is (name, version, how it was built).
    pub dataset: String,
    /// Date the table was made (YYYY-MM-DD, UTC).
    pub created: String,
    /// The command that made it.
    pub command: String,
    /// Images in which no face was found (their comparisons count as non-matches / are left out).
    #[serde(default)]
    pub images_without_face: u64,
}

/// One row of a match table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRow {
    /// False-match rate the threshold was chosen for.
    pub fmr: f64,
    /// Score threshold (`score >= threshold` is a match).
    pub threshold: f32,
    /// Impostor comparisons behind the row.
    pub impostor_comparisons: u64,
    /// Impostor comparisons accepted at the threshold (at most `fmr * impostor_comparisons`).
    pub impostors_accepted: u64,
    /// Genuine pairs behind the FNMR.
    pub genuine_pairs: u64,
    /// False-non-match rate of the genuine pairs at the threshold (on the calibration data).
    pub fnmr: f64,
    /// Set when the row rests on few comparisons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A match calibration: FMR -> threshold for one embedder (and the detector it ran behind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchCalibration {
    /// Always `"match"`.
    pub kind: CalibrationKind,
    /// Model, data and command.
    pub provenance: Provenance,
    /// How scores are computed (e.g. `1 - euclidean / 1.2`), for the reader.
    pub score: String,
    /// Genuine pairs in the data.
    pub genuine_pairs: u64,
    /// Impostor comparisons in the data.
    pub impostor_comparisons: u64,
    /// Rows, largest FMR first.
    pub rows: Vec<MatchRow>,
}

/// One row of an attack table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackRow {
    /// Bona fide presentation classification error rate the threshold was chosen for.
    pub bpcer: f64,
    /// Attack-score threshold (`score > threshold` is an attack).
    pub threshold: f32,
    /// Bona fide samples behind the row.
    pub bona_fide_samples: u64,
    /// Bona fide samples refused at the threshold.
    pub bona_fide_refused: u64,
    /// Set when the row rests on few samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// An attack calibration: BPCER -> threshold for one presentation-attack model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackCalibration {
    /// Always `"attack"`.
    pub kind: CalibrationKind,
    /// Model, data and command.
    pub provenance: Provenance,
    /// Bona fide samples in the data.
    pub bona_fide_samples: u64,
    /// What is known of the attack presentation error rate (APCER) at these thresholds.
    pub apcer: String,
    /// Rows, largest BPCER first.
    pub rows: Vec<AttackRow>,
}

/// Which table a calibration file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationKind {
    /// FMR -> match threshold.
    Match,
    /// BPCER -> attack threshold.
    Attack,
}

/// Why a target rate cannot be turned into a threshold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OperatingPointError {
    /// The target is not a rate.
    #[error("{target} is not a rate between 0 and 1 (exclusive)")]
    NotARate {
        /// The target.
        target: f64,
    },
    /// The table has no row at or below the target.
    #[error(
        "{target:e} is below the smallest rate the calibration holds ({smallest:e}); recalibrate on more data"
    )]
    BelowTable {
        /// The target.
        target: f64,
        /// The table's smallest rate.
        smallest: f64,
    },
    /// Too few comparisons behind the row the target falls on.
    #[error(
        "{target:e} needs at least {needed} comparisons behind it (about 3/rate); the calibration has {have}"
    )]
    Unsupported {
        /// The target.
        target: f64,
        /// Comparisons needed.
        needed: u64,
        /// Comparisons in the table.
        have: u64,
    },
}

/// A target rate turned into a threshold through a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedRate {
    /// The rate asked for.
    pub target: f64,
    /// The rate of the row used (the largest not above the target).
    pub row_rate: f64,
    /// The threshold of that row.
    pub threshold: f32,
    /// Comparisons (or samples) behind the row.
    pub comparisons: u64,
    /// The other error rate at that threshold on the calibration data (FNMR for match tables,
    /// none for attack tables).
    pub other_rate: Option<f64>,
}

/// `comparisons >= 3 / rate`, with a little slack for rounding.
pub fn supports(comparisons: u64, rate: f64) -> bool {
    comparisons as f64 * rate >= MIN_ERRORS_BEHIND_RATE * (1.0 - 1e-9)
}

fn check_rate(target: f64) -> Result<(), OperatingPointError> {
    if target.is_finite() && target > 0.0 && target < 1.0 {
        Ok(())
    } else {
        Err(OperatingPointError::NotARate { target })
    }
}

/// The row with the largest rate not above `target` (within rounding), from `(rate, comparisons)`.
fn pick_row(
    rows: impl Iterator<Item = (usize, f64, u64)> + Clone,
    target: f64,
) -> Result<usize, OperatingPointError> {
    check_rate(target)?;
    let chosen = rows
        .clone()
        .filter(|(_, rate, _)| *rate <= target * (1.0 + 1e-9))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((index, rate, comparisons)) = chosen else {
        let smallest = rows.map(|(_, rate, _)| rate).fold(f64::INFINITY, f64::min);
        return Err(OperatingPointError::BelowTable { target, smallest });
    };
    if !supports(comparisons, rate) {
        return Err(OperatingPointError::Unsupported {
            target,
            needed: (MIN_ERRORS_BEHIND_RATE / rate).ceil() as u64,
            have: comparisons,
        });
    }
    Ok(index)
}

impl MatchCalibration {
    /// The threshold for a target false-match rate.
    pub fn resolve(&self, target_fmr: f64) -> Result<ResolvedRate, OperatingPointError> {
        let index = pick_row(
            self.rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i, r.fmr, r.impostor_comparisons)),
            target_fmr,
        )?;
        let row = &self.rows[index];
        Ok(ResolvedRate {
            target: target_fmr,
            row_rate: row.fmr,
            threshold: row.threshold,
            comparisons: row.impostor_comparisons,
            other_rate: Some(row.fnmr),
        })
    }

    /// Builds a table from impostor and genuine scores (`score >= threshold` accepts).
    /// `impostor_top` holds the largest impostor scores, at least `1e-2 * impostor_total` of
    /// them, in any order; `impostor_total` counts every impostor comparison made.
    pub fn from_scores(
        provenance: Provenance,
        score: String,
        mut impostor_top: Vec<f32>,
        impostor_total: u64,
        genuine: &[f32],
    ) -> Self {
        impostor_top.sort_by(|a, b| b.total_cmp(a));
        let mut rows = Vec::new();
        for fmr in STANDARD_FMRS {
            if !supports(impostor_total, fmr) {
                break;
            }
            let allowed = (fmr * impostor_total as f64).floor() as usize;
            // The threshold sits just above the first impostor score that must be refused.
            let Some(&refused) = impostor_top.get(allowed) else {
                break;
            };
            let threshold = next_up(refused);
            let accepted = impostor_top.iter().take_while(|s| **s >= threshold).count() as u64;
            let false_non_matches = genuine.iter().filter(|s| **s < threshold).count();
            let expected_errors = fmr * impostor_total as f64;
            rows.push(MatchRow {
                fmr,
                threshold,
                impostor_comparisons: impostor_total,
                impostors_accepted: accepted,
                genuine_pairs: genuine.len() as u64,
                fnmr: false_non_matches as f64 / genuine.len().max(1) as f64,
                warning: (expected_errors < FEW_ERRORS_BEHIND_RATE).then(|| {
                    format!(
                        "only {expected_errors:.1} impostor comparisons would be accepted at this FMR: \
                         the threshold is uncertain; calibrate on more people"
                    )
                }),
            });
        }
        Self {
            kind: CalibrationKind::Match,
            provenance,
            score,
            genuine_pairs: genuine.len() as u64,
            impostor_comparisons: impostor_total,
            rows,
        }
    }

    /// Reads a match table.
    pub fn load(path: &Path) -> Result<Self> {
        let table: Self = read_toml(path)?;
        if table.kind != CalibrationKind::Match {
            return Err(calibration_error(path, "kind must be \"match\""));
        }
        check_rows(
            path,
            table.rows.iter().map(|r| (r.fmr, r.threshold)),
            |a, b| a <= b,
        )?;
        Ok(table)
    }

    /// Writes the table as TOML (with a header naming what it is).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_toml(
            path,
            self,
            "Face match calibration: false-match rate -> score threshold (written by `gatectl face calibrate`).",
        )
    }
}

impl AttackCalibration {
    /// The threshold for a target bona fide rejection rate.
    pub fn resolve(&self, target_bpcer: f64) -> Result<ResolvedRate, OperatingPointError> {
        let index = pick_row(
            self.rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i, r.bpcer, r.bona_fide_samples)),
            target_bpcer,
        )?;
        let row = &self.rows[index];
        Ok(ResolvedRate {
            target: target_bpcer,
            row_rate: row.bpcer,
            threshold: row.threshold,
            comparisons: row.bona_fide_samples,
            other_rate: None,
        })
    }

    /// Builds a table from the attack scores of bona fide faces (`score > threshold` refuses).
    pub fn from_scores(provenance: Provenance, apcer: String, bona_fide: &[f32]) -> Self {
        let mut sorted: Vec<f32> = bona_fide.iter().copied().filter(|s| !s.is_nan()).collect();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let total = bona_fide.len() as u64;
        let mut rows = Vec::new();
        for bpcer in STANDARD_BPCERS {
            if !supports(total, bpcer) {
                break;
            }
            let allowed = (bpcer * total as f64).floor() as usize;
            // Refuse at most `allowed` samples: the threshold is the score of the first one kept.
            let Some(&kept) = sorted.get(allowed) else {
                break;
            };
            let refused = sorted.iter().take_while(|s| **s > kept).count() as u64;
            let expected_errors = bpcer * total as f64;
            rows.push(AttackRow {
                bpcer,
                threshold: kept,
                bona_fide_samples: total,
                bona_fide_refused: refused,
                warning: (expected_errors < FEW_ERRORS_BEHIND_RATE).then(|| {
                    format!(
                        "only {expected_errors:.1} bona fide samples would be refused at this BPCER: \
                         the threshold is uncertain"
                    )
                }),
            });
        }
        Self {
            kind: CalibrationKind::Attack,
            provenance,
            bona_fide_samples: total,
            apcer,
            rows,
        }
    }

    /// Reads an attack table.
    pub fn load(path: &Path) -> Result<Self> {
        let table: Self = read_toml(path)?;
        if table.kind != CalibrationKind::Attack {
            return Err(calibration_error(path, "kind must be \"attack\""));
        }
        // Refusing fewer bona fide faces needs a higher (more lenient) threshold.
        check_rows(
            path,
            table.rows.iter().map(|r| (r.bpcer, r.threshold)),
            |a, b| a <= b,
        )?;
        Ok(table)
    }

    /// Writes the table as TOML.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_toml(
            path,
            self,
            "Presentation-attack calibration: bona fide rejection rate (BPCER) -> attack-score threshold.",
        )
    }
}

/// Rows must have rates in (0, 1), strictly decreasing, and thresholds ordered by `ordered`
/// (previous, next).
fn check_rows(
    path: &Path,
    rows: impl Iterator<Item = (f64, f32)>,
    ordered: impl Fn(f32, f32) -> bool,
) -> Result<()> {
    let mut previous: Option<(f64, f32)> = None;
    let mut count = 0;
    for (rate, threshold) in rows {
        count += 1;
        if check_rate(rate).is_err() || !threshold.is_finite() {
            return Err(calibration_error(
                path,
                &format!("row {count}: rate {rate} or threshold {threshold} out of range"),
            ));
        }
        if let Some((last_rate, last_threshold)) = previous
            && (rate >= last_rate || !ordered(last_threshold, threshold))
        {
            return Err(calibration_error(
                path,
                &format!(
                    "row {count}: rows must go from the largest rate down, thresholds in step"
                ),
            ));
        }
        previous = Some((rate, threshold));
    }
    if count == 0 {
        return Err(calibration_error(path, "no rows"));
    }
    Ok(())
}

fn calibration_error(path: &Path, message: &str) -> FaceError {
    FaceError::Calibration {
        path: path.to_path_buf(),
        message: message.to_owned(),
    }
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| FaceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|err| calibration_error(path, err.message()))
}

fn write_toml<T: Serialize>(path: &Path, value: &T, header: &str) -> Result<()> {
    let body = toml::to_string(value).map_err(|err| calibration_error(path, &err.to_string()))?;
    let text = format!(
        "# {header}\n# Regenerate with the command in [provenance]; do not edit by hand.\n\n{body}"
    );
    std::fs::write(path, text).map_err(|source| FaceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The smallest f32 above `x` that is distinguishable at score precision.
pub(crate) fn next_up(x: f32) -> f32 {
    if x.is_finite() {
        x + (x.abs() * 1e-6).max(1e-6)
    } else {
        x
    }
}

/// Resolves a calibration path named in a manifest (relative to the manifest's directory).
pub fn resolve_path(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time, for [`Provenance::created`].
pub fn utc_date(unix_seconds: u64) -> String {
    // Days to civil date (Howard Hinnant's algorithm), valid for any date after 1970.
    let days = (unix_seconds / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Keeps the largest scores of a long stream without storing all of it: scores are buffered and,
/// whenever the buffer is full, cut down to the `keep` largest.
#[derive(Debug, Clone)]
pub struct TopScores {
    keep: usize,
    buffer: Vec<f32>,
    total: u64,
}

impl TopScores {
    /// Keeps at least the `keep` largest scores.
    pub fn new(keep: usize) -> Self {
        Self {
            keep: keep.max(1),
            buffer: Vec::new(),
            total: 0,
        }
    }

    /// Adds one score.
    pub fn push(&mut self, score: f32) {
        self.total += 1;
        self.buffer.push(score);
        if self.buffer.len() >= self.keep.saturating_mul(4).max(1 << 20) {
            self.cut();
        }
    }

    fn cut(&mut self) {
        if self.buffer.len() > self.keep {
            self.buffer
                .select_nth_unstable_by(self.keep - 1, |a, b| b.total_cmp(a));
            self.buffer.truncate(self.keep);
        }
    }

    /// Scores pushed so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept scores (the `keep` largest, unordered) and the total count.
    pub fn finish(mut self) -> (Vec<f32>, u64) {
        self.cut();
        (self.buffer, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            model: "m".into(),
            model_sha256: "0".repeat(64),
            detector: "d".into(),
            detector_sha256: "1".repeat(64),
            dataset: "synthetic".into(),
            created: "2026-12-07".into(),
            command: "test".into(),
            images_without_face: 0,
        }
    }

    /// 100,000 impostor scores evenly spread over 0..1, genuine scores around 0.9.
    fn table() -> MatchCalibration {
        let impostors: Vec<f32> = (0..100_000).map(|i| i as f32 / 100_000.0).collect();
        let genuine: Vec<f32> = (0..1000).map(|i| 0.85 + i as f32 / 10_000.0).collect();
        let mut top = TopScores::new(2_000);
        for score in &impostors {
            top.push(*score);
        }
        let (kept, total) = top.finish();
        MatchCalibration::from_scores(provenance(), "cosine".into(), kept, total, &genuine)
    }

    #[test]
    fn rows_accept_at_most_the_allowed_impostors_down_to_the_supported_rate() {
        let table = table();
        // 100,000 comparisons support FMR 3e-5 and above: the 2e-5 row is left out.
        let rates: Vec<f64> = table.rows.iter().map(|r| r.fmr).collect();
        assert_eq!(rates.last().copied(), Some(5e-5), "{rates:?}");
        for row in &table.rows {
            assert!(
                row.impostors_accepted as f64 <= row.fmr * 100_000.0,
                "{row:?}"
            );
            assert!(row.impostors_accepted as f64 >= row.fmr * 100_000.0 - 1.0);
        }
        let at_1e3 = table.resolve(1e-3).unwrap();
        assert!((at_1e3.threshold - 0.999).abs() < 1e-4, "{at_1e3:?}");
        assert!(table.rows[0].warning.is_none());
        assert!(table.rows.last().unwrap().warning.is_some());
    }

    #[test]
    fn a_target_between_rows_takes_the_stricter_row() {
        let table = table();
        let resolved = table.resolve(7e-4).unwrap();
        assert_eq!(resolved.row_rate, 5e-4);
        let at_5e4 = table.resolve(5e-4).unwrap();
        assert_eq!(resolved.threshold, at_5e4.threshold);
    }

    #[test]
    fn unsupported_and_out_of_range_targets_are_refused() {
        let table = table();
        assert!(matches!(
            table.resolve(1e-6),
            Err(OperatingPointError::BelowTable { .. })
        ));
        assert!(matches!(
            table.resolve(0.0),
            Err(OperatingPointError::NotARate { .. })
        ));
        assert!(matches!(
            table.resolve(1.5),
            Err(OperatingPointError::NotARate { .. })
        ));
        // A hand-edited table claiming a rate its comparisons cannot show.
        let mut thin = table.clone();
        for row in &mut thin.rows {
            row.impostor_comparisons = 1_000;
        }
        let error = thin.resolve(5e-4).unwrap_err();
        assert!(
            matches!(
                error,
                OperatingPointError::Unsupported {
                    needed: 6000,
                    have: 1000,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn tables_round_trip_and_bad_tables_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.calibration.toml");
        let table = table();
        table.save(&path).unwrap();
        assert_eq!(MatchCalibration::load(&path).unwrap(), table);
        // An attack table is not a match table.
        assert!(AttackCalibration::load(&path).is_err());
        let mut reversed = table.clone();
        reversed.rows.reverse();
        reversed.save(&path).unwrap();
        let error = MatchCalibration::load(&path).unwrap_err().to_string();
        assert!(error.contains("largest rate"), "{error}");
    }

    #[test]
    fn attack_table_refuses_at_most_the_allowed_bona_fide_faces() {
        let bona_fide: Vec<f32> = (0..1_000).map(|i| i as f32 / 1_000.0).collect();
        let table = AttackCalibration::from_scores(provenance(), "not measured".into(), &bona_fide);
        let rates: Vec<f64> = table.rows.iter().map(|r| r.bpcer).collect();
        assert_eq!(rates, [0.2, 0.1, 0.05, 0.02, 0.01, 0.005]);
        for row in &table.rows {
            let refused = bona_fide.iter().filter(|s| **s > row.threshold).count();
            assert_eq!(refused as u64, row.bona_fide_refused);
            assert!(refused as f64 <= row.bpcer * 1_000.0, "{row:?}");
        }
        let resolved = table.resolve(0.01).unwrap();
        assert!((resolved.threshold - 0.989).abs() < 1e-6, "{resolved:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        table.save(&path).unwrap();
        assert_eq!(AttackCalibration::load(&path).unwrap(), table);
    }

    #[test]
    fn dates_are_civil_utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_796_601_600), "2026-12-07");
    }

    #[test]
    fn top_scores_keep_the_largest() {
        let mut top = TopScores::new(10);
        for i in 0..3_000_000u32 {
            top.push(((u64::from(i) * 2_654_435_761) % 3_000_000) as f32);
        }
        let (mut kept, total) = top.finish();
        kept.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(total, 3_000_000);
        assert_eq!(kept.len(), 10);
        assert_eq!(kept[0], 2_999_999.0);
        assert_eq!(kept[9], 2_999_990.0);
    }
}

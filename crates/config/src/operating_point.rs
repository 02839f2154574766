//! The face gate's operating point: `[policy.face] target_fmr` (and `attack_target_bpcer`)
//! resolved into thresholds through the calibration of the model files the gate will load.
//!
//! A threshold only means something for the model that produced it, so the configuration states
//! error rates and each model carries a calibration table (see `face::calibration`). Resolution
//! reads the model manifests named in `[face]` (and the model file itself, to check its hash),
//! so `gated --check-config` and `gatectl config validate` refuse a threshold pinned to another
//! model file, a target the calibration cannot support and a model without calibration, naming
//! the key; gated logs the thresholds it chose and checks, once the engine is loaded, that the
//! files it loaded are the ones the thresholds were resolved for.

use std::fmt;
use std::path::{Path, PathBuf};

use face::calibration::{AttackCalibration, MatchCalibration, ResolvedRate};
use face::manifest::ModelManifest;

use crate::Problem;
use crate::schema::{FacePolicySection, FaceSection, PinnedThreshold, ThresholdSetting};

/// The simulated camera reports the scores the simulation scenario gives (genuine travellers
/// 0.72, impostors 0.11-0.18, attacks 0.87-0.9); it has no model, so every target resolves to
/// this fixed threshold, for matching and attacks alike.
pub const SIMULATOR_THRESHOLD: f32 = 0.5;

/// How one threshold was chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum ThresholdSource {
    /// A target rate resolved through a calibration table.
    Calibrated {
        /// `fmr` or `bpcer`.
        metric: &'static str,
        /// The resolution (target, row used, comparisons behind it, FNMR there).
        resolved: ResolvedRate,
        /// The calibration file.
        calibration: PathBuf,
        /// Data set the table was measured on.
        dataset: String,
    },
    /// A raw threshold pinned to the model file.
    Pinned,
    /// The simulated camera's fixed threshold.
    Simulator,
}

/// One resolved threshold, tied to the model file it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedThreshold {
    /// The threshold handed to the core and the engine.
    pub threshold: f32,
    /// Model manifest name (`simulator` for the simulated camera).
    pub model: String,
    /// sha256 of the model's main ONNX file (empty for the simulator).
    pub model_sha256: String,
    /// How it was chosen.
    pub source: ThresholdSource,
}

impl fmt::Display for ResolvedThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            ThresholdSource::Calibrated {
                metric,
                resolved,
                calibration,
                dataset,
            } => {
                write!(
                    f,
                    "target {metric} {:e} -> threshold {:.4} (row {metric} {:e}, {} comparisons",
                    resolved.target, self.threshold, resolved.row_rate, resolved.comparisons
                )?;
                if let Some(fnmr) = resolved.other_rate {
                    write!(f, ", FNMR there {:.2} %", fnmr * 100.0)?;
                }
                write!(
                    f,
                    ") for model {} (sha256 {}), calibration {} on {dataset}",
                    self.model,
                    short(&self.model_sha256),
                    calibration.display()
                )
            }
            ThresholdSource::Pinned => write!(
                f,
                "pinned threshold {:.4} for model {} (sha256 {})",
                self.threshold,
                self.model,
                short(&self.model_sha256)
            ),
            ThresholdSource::Simulator => write!(
                f,
                "threshold {:.2} of the simulated camera (no model)",
                self.threshold
            ),
        }
    }
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// The face gate's resolved thresholds, or why there are none.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum FaceOperatingPoints {
    /// This profile does not match faces (the core's face thresholds are unused).
    #[default]
    NotUsed,
    /// Resolved: the match threshold and, with an attack model, the attack threshold.
    Resolved {
        /// Match threshold.
        matching: Box<ResolvedThreshold>,
        /// Attack threshold (None without an attack model).
        attack: Option<Box<ResolvedThreshold>>,
    },
    /// The models are not on this machine, so nothing could be resolved (a warning for
    /// `--check-config` on a workstation; gated refuses to start).
    Unavailable {
        /// Why.
        reason: String,
    },
}

impl FaceOperatingPoints {
    /// The (match, attack) thresholds for the core: the resolved ones, or the strictest values
    /// (nothing matches, everything is an attack) when there are none.
    pub fn thresholds(&self) -> (f32, f32) {
        match self {
            Self::Resolved { matching, attack } => (
                matching.threshold,
                attack.as_ref().map_or(STRICTEST_ATTACK, |a| a.threshold),
            ),
            Self::NotUsed | Self::Unavailable { .. } => (STRICTEST_MATCH, STRICTEST_ATTACK),
        }
    }
}

/// The core's match threshold when none was resolved: nothing matches.
pub const STRICTEST_MATCH: f32 = 1.0;
/// The core's attack threshold when none was resolved (or no attack model scores): a score of
/// exactly 0 passes, anything else is an attack.
pub const STRICTEST_ATTACK: f32 = 0.0;

/// What kind of camera feeds the face gate.
pub(crate) enum FaceSource<'a> {
    /// No face matching in this profile.
    NotUsed,
    /// The simulated camera.
    Simulator,
    /// Real models, from `[face]`.
    Models(&'a FaceSection),
    /// A real camera but no `[face]` section (already a problem elsewhere).
    Missing,
}

/// Resolves `[policy.face]` for `source`, recording problems and warnings by key path.
pub(crate) fn resolve(
    policy: &FacePolicySection,
    source: FaceSource<'_>,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> FaceOperatingPoints {
    let mut bad = |key: &str, message: String| {
        problems.push(Problem {
            key: key.into(),
            message,
        })
    };
    check_shape(policy, &mut bad);
    match source {
        FaceSource::NotUsed | FaceSource::Missing => FaceOperatingPoints::NotUsed,
        FaceSource::Simulator => {
            for (key, setting) in [
                ("policy.face.match_threshold", &policy.match_threshold),
                ("policy.face.attack_threshold", &policy.attack_threshold),
            ] {
                if let Some(ThresholdSetting::Pinned(_)) = setting {
                    bad(
                        key,
                        "the simulated camera has no model file to pin a threshold to: use target_fmr / attack_target_bpcer".into(),
                    );
                }
            }
            let simulator = || ResolvedThreshold {
                threshold: SIMULATOR_THRESHOLD,
                model: "simulator".into(),
                model_sha256: String::new(),
                source: ThresholdSource::Simulator,
            };
            FaceOperatingPoints::Resolved {
                matching: Box::new(simulator()),
                attack: Some(Box::new(simulator())),
            }
        }
        FaceSource::Models(face) => match resolve_models(policy, face, &mut bad, warnings) {
            Ok(points) => points,
            Err(reason) => FaceOperatingPoints::Unavailable { reason },
        },
    }
}

/// Exactly one of each pair of keys; bare numbers refused with what to write instead.
fn check_shape(policy: &FacePolicySection, bad: &mut impl FnMut(&str, String)) {
    let pairs = [
        (
            "target_fmr",
            policy.target_fmr,
            "match_threshold",
            &policy.match_threshold,
            "0.0005",
        ),
        (
            "attack_target_bpcer",
            policy.attack_target_bpcer,
            "attack_threshold",
            &policy.attack_threshold,
            "0.01",
        ),
    ];
    for (target_key, target, threshold_key, threshold, example) in pairs {
        if let Some(rate) = target
            && !(rate.is_finite() && rate > 0.0 && rate < 0.5)
        {
            bad(
                &format!("policy.face.{target_key}"),
                format!("{rate} is not an error rate between 0 and 0.5 (e.g. {example})"),
            );
        }
        match threshold {
            Some(ThresholdSetting::Bare(value)) => bad(
                &format!("policy.face.{threshold_key}"),
                format!(
                    "a bare threshold ({value}) means nothing without the model that produced it: \
                     set {target_key} = {example} (resolved through the model's calibration), or pin it: \
                     {threshold_key} = {{ value = {value}, model_sha256 = \"<sha256 of the model's ONNX file>\" }}"
                ),
            ),
            Some(ThresholdSetting::Pinned(pinned)) => {
                if !pinned.value.is_finite() {
                    bad(
                        &format!("policy.face.{threshold_key}.value"),
                        "must be a finite number".into(),
                    );
                }
                if pinned.model_sha256.len() != 64
                    || !pinned.model_sha256.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    bad(
                        &format!("policy.face.{threshold_key}.model_sha256"),
                        "must be the 64 hex digits of the model file's sha256".into(),
                    );
                }
                if target.is_some() {
                    bad(
                        &format!("policy.face.{threshold_key}"),
                        format!("give either {target_key} or {threshold_key}, not both"),
                    );
                }
            }
            None => {}
        }
    }
}

/// Resolves both thresholds through the manifests of `[face]`; `Err` when the files are not on
/// this machine (a warning, recorded here).
fn resolve_models(
    policy: &FacePolicySection,
    face: &FaceSection,
    bad: &mut impl FnMut(&str, String),
    warnings: &mut Vec<Problem>,
) -> Result<FaceOperatingPoints, String> {
    let mut missing = Vec::new();
    for path in std::iter::once(&face.embedder).chain(face.attack.iter()) {
        if !path.exists() {
            missing.push(path.display().to_string());
        }
    }
    if !missing.is_empty() {
        let reason = format!(
            "{} not on this machine: the face thresholds cannot be resolved (gated refuses to start until they can)",
            missing.join(", ")
        );
        warnings.push(Problem {
            key: "policy.face".into(),
            message: reason.clone(),
        });
        return Err(reason);
    }
    let matching = resolve_one(
        Kind::Match,
        policy.target_fmr,
        policy.match_threshold.as_ref(),
        &face.embedder,
        face.match_calibration.as_deref(),
        bad,
    );
    let attack = match &face.attack {
        Some(manifest) => resolve_one(
            Kind::Attack,
            policy.attack_target_bpcer,
            policy.attack_threshold.as_ref(),
            manifest,
            face.attack_calibration.as_deref(),
            bad,
        ),
        None => {
            if policy.attack_target_bpcer.is_some() || policy.attack_threshold.is_some() {
                warnings.push(Problem {
                    key: "face.attack".into(),
                    message: "no attack model: presentation attacks are not checked and the attack operating point is unused".into(),
                });
            }
            None
        }
    };
    Ok(match matching {
        Some(matching) => FaceOperatingPoints::Resolved {
            matching: Box::new(matching),
            attack: attack.map(Box::new),
        },
        None => FaceOperatingPoints::Unavailable {
            reason: "the match threshold could not be resolved".into(),
        },
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Match,
    Attack,
}

impl Kind {
    fn keys(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::Match => (
                "policy.face.target_fmr",
                "policy.face.match_threshold",
                "face.embedder",
                "face.match_calibration",
            ),
            Self::Attack => (
                "policy.face.attack_target_bpcer",
                "policy.face.attack_threshold",
                "face.attack",
                "face.attack_calibration",
            ),
        }
    }
}

/// One threshold; `None` after recording a problem.
fn resolve_one(
    kind: Kind,
    target: Option<f64>,
    pinned: Option<&ThresholdSetting>,
    manifest_path: &Path,
    calibration_override: Option<&Path>,
    bad: &mut impl FnMut(&str, String),
) -> Option<ResolvedThreshold> {
    let (target_key, threshold_key, manifest_key, calibration_key) = kind.keys();
    let manifest = match ModelManifest::load(manifest_path) {
        Ok(manifest) => manifest,
        Err(err) => {
            bad(manifest_key, err.to_string());
            return None;
        }
    };
    // The file on disk must be the one the manifest (and so any calibration or pin) names.
    let main = manifest
        .files
        .iter()
        .find(|f| f.role == "main")
        .or(manifest.files.first())?;
    if let Err(err) = manifest.verified_path(main) {
        bad(manifest_key, err.to_string());
        return None;
    }
    let model = manifest.name.clone();
    let model_sha256 = manifest.main_sha256().to_owned();
    match (target, pinned) {
        (_, Some(ThresholdSetting::Bare(_))) => None, // refused by check_shape
        (None, None) => {
            bad(
                target_key,
                format!(
                    "required: the error rate to run {} at (e.g. {})",
                    model,
                    if kind == Kind::Match {
                        "0.0005"
                    } else {
                        "0.01"
                    }
                ),
            );
            None
        }
        (Some(_), Some(_)) => None, // refused by check_shape
        (
            None,
            Some(ThresholdSetting::Pinned(PinnedThreshold {
                value,
                model_sha256: pinned_to,
            })),
        ) => {
            if !pinned_to.eq_ignore_ascii_case(&model_sha256) {
                bad(
                    threshold_key,
                    format!(
                        "pinned to model file sha256 {pinned_to}, but {manifest_key} ({}) is {model} with sha256 {model_sha256}: \
                         a threshold does not carry over to another model; use {} instead",
                        manifest_path.display(),
                        target_key.rsplit('.').next().unwrap_or(target_key)
                    ),
                );
                return None;
            }
            Some(ResolvedThreshold {
                threshold: *value,
                model,
                model_sha256,
                source: ThresholdSource::Pinned,
            })
        }
        (Some(target), None) => {
            let (path, key) = match calibration_override {
                Some(path) => (path.to_path_buf(), calibration_key),
                None => match manifest.calibration_path() {
                    Some(path) => (path, manifest_key),
                    None => {
                        bad(
                            target_key,
                            format!(
                                "{model} ({}) has no calibration, so no threshold can be chosen for a target: \
                                 calibrate it with `gatectl face calibrate` and set {calibration_key}",
                                manifest_path.display()
                            ),
                        );
                        return None;
                    }
                },
            };
            let loaded = match kind {
                Kind::Match => MatchCalibration::load(&path).and_then(|table| {
                    face::engine::check_calibration_model(&path, &table.provenance, &manifest)?;
                    Ok((table.resolve(target), table.provenance.dataset))
                }),
                Kind::Attack => AttackCalibration::load(&path).and_then(|table| {
                    face::engine::check_calibration_model(&path, &table.provenance, &manifest)?;
                    Ok((table.resolve(target), table.provenance.dataset))
                }),
            };
            match loaded {
                Err(err) => {
                    bad(key, err.to_string());
                    None
                }
                Ok((Err(err), _)) => {
                    bad(target_key, format!("{err} ({})", path.display()));
                    None
                }
                Ok((Ok(resolved), dataset)) => Some(ResolvedThreshold {
                    threshold: resolved.threshold,
                    model,
                    model_sha256,
                    source: ThresholdSource::Calibrated {
                        metric: if kind == Kind::Match { "FMR" } else { "BPCER" },
                        resolved,
                        calibration: path,
                        dataset,
                    },
                }),
            }
        }
    }
}

//! The face engine: configuration, frame analysis, chip-photo references and decisions.

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::attack::AttackModel;
use crate::calibration::{
    AttackCalibration, DEFAULT_TARGET_BPCER, DEFAULT_TARGET_FMR, MatchCalibration, Provenance,
};
use crate::detect::{Detection, Detector};
use crate::embed::{Embedder, Embedding, ScoreRule};
use crate::error::{FaceError, Result};
use crate::imaging::decode_image;
use crate::manifest::ModelManifest;
use crate::quality::{FaceQuality, QualityThresholds, assess};
use crate::runtime::{RuntimeOptions, ensure_runtime};

/// Face engine configuration (TOML/JSON; unknown fields are rejected).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaceConfig {
    /// Path of `libonnxruntime.so`; `ORT_DYLIB_PATH` when absent.
    #[serde(default)]
    pub onnxruntime_library: Option<PathBuf>,
    /// Expected sha256 of the library; the pinned 1.31.1 hash for this architecture when absent.
    #[serde(default)]
    pub onnxruntime_sha256: Option<String>,
    /// Detector manifest.
    pub detector: PathBuf,
    /// Embedder manifest.
    pub embedder: PathBuf,
    /// Presentation-attack manifest (no attack score when absent).
    #[serde(default)]
    pub attack: Option<PathBuf>,
    /// Intra-op threads per ONNX session.
    #[serde(default = "default_threads")]
    pub intra_op_threads: usize,
    /// Match threshold on the normalised score (a gate resolves it from its target FMR through
    /// the model's calibration); when absent, the embedder's calibration at
    /// [`DEFAULT_TARGET_FMR`](crate::calibration::DEFAULT_TARGET_FMR), and no decisions at all
    /// for a model without calibration.
    #[serde(default)]
    pub match_threshold: Option<f32>,
    /// Attack threshold (score above = attack); when absent, the attack model's calibration at
    /// [`DEFAULT_TARGET_BPCER`](crate::calibration::DEFAULT_TARGET_BPCER).
    #[serde(default)]
    pub attack_threshold: Option<f32>,
    /// A second face whose box area is at least this fraction of the chosen face's is reported.
    #[serde(default = "default_second_face_ratio")]
    pub second_face_area_ratio: f32,
    /// Quality limits.
    #[serde(default)]
    pub quality: QualityThresholds,
}

fn default_threads() -> usize {
    1
}

fn default_second_face_ratio() -> f32 {
    0.3
}

impl FaceConfig {
    /// The default models of a directory laid out like the repository's `models/`.
    pub fn with_models_dir(models: &Path) -> Self {
        Self {
            onnxruntime_library: None,
            onnxruntime_sha256: None,
            detector: models.join(DEFAULT_DETECTOR_MANIFEST),
            embedder: models.join(DEFAULT_EMBEDDER_MANIFEST),
            attack: Some(models.join(DEFAULT_ATTACK_MANIFEST)),
            intra_op_threads: default_threads(),
            match_threshold: None,
            attack_threshold: None,
            second_face_area_ratio: default_second_face_ratio(),
            quality: QualityThresholds::default(),
        }
    }

    fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.intra_op_threads) {
            return Err(FaceError::Config(format!(
                "intra_op_threads must be 1..=64, got {}",
                self.intra_op_threads
            )));
        }
        if !(0.0..=1.0).contains(&self.second_face_area_ratio) {
            return Err(FaceError::Config(
                "second_face_area_ratio must be within 0..=1".into(),
            ));
        }
        if self.match_threshold.is_some_and(|t| !t.is_finite())
            || self.attack_threshold.is_some_and(|t| !t.is_finite())
        {
            return Err(FaceError::Config("thresholds must be finite".into()));
        }
        Ok(())
    }
}

/// Default detector manifest file name in `models/`.
pub const DEFAULT_DETECTOR_MANIFEST: &str = "mtcnn.toml";
/// Default embedder manifest file name in `models/`.
pub const DEFAULT_EMBEDDER_MANIFEST: &str = "dlib_resnet128.toml";
/// Default attack manifest file name in `models/`.
pub const DEFAULT_ATTACK_MANIFEST: &str = "face_antispoofing_expo.toml";

/// The face chosen in a frame, with everything the gate needs about it.
#[derive(Debug, Clone)]
pub struct AnalysedFace {
    /// Its detection.
    pub detection: Detection,
    /// Its quality.
    pub quality: FaceQuality,
    /// Its embedding (Debug-redacted).
    pub embedding: Embedding,
    /// Presentation-attack score, when an attack model is loaded.
    pub attack_score: Option<f32>,
    /// Whether the attack score exceeds the threshold.
    pub is_attack: Option<bool>,
}

/// Result of analysing one frame.
#[derive(Debug, Clone)]
pub struct FrameAnalysis {
    /// Every detected face, best detector score first.
    pub faces: Vec<Detection>,
    /// The chosen face (largest and most central), if any.
    pub best: Option<AnalysedFace>,
    /// Another face close behind the chosen one (single-person rule).
    pub second_face: Option<Detection>,
}

/// The chosen face of a frame after alignment and quality, before the embedding. Its `Debug`
/// leaves the chip out (face images are biometric data).
#[derive(Clone)]
pub struct AssessedFace {
    /// Its detection.
    pub detection: Detection,
    /// Its quality.
    pub quality: FaceQuality,
    /// The aligned chip the embedder takes (biometric data: not logged).
    chip: RgbImage,
}

impl AssessedFace {
    /// The aligned chip (biometric data: never log or store it outside the gate's rules).
    pub fn chip(&self) -> &RgbImage {
        &self.chip
    }
}

impl std::fmt::Debug for AssessedFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssessedFace")
            .field("detection", &self.detection)
            .field("quality", &self.quality)
            .field("chip", &"redacted")
            .finish()
    }
}

/// Result of assessing one frame (no embedding yet).
#[derive(Debug, Clone)]
pub struct FrameAssessment {
    /// Every detected face, best detector score first.
    pub faces: Vec<Detection>,
    /// The chosen face (largest and most central), if any.
    pub best: Option<AssessedFace>,
    /// Another face close behind the chosen one (single-person rule).
    pub second_face: Option<Detection>,
}

/// A reference template, e.g. from the document chip photo.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Embedding of the reference face (Debug-redacted).
    pub embedding: Embedding,
    /// Quality of the reference face.
    pub quality: FaceQuality,
}

/// A 1:1 decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchResult {
    /// Normalised similarity (higher = more similar).
    pub score: f32,
    /// Threshold in force (`None` for a model without calibration).
    pub threshold: Option<f32>,
    /// `score >= threshold`.
    pub is_match: bool,
}

/// Loaded models and settings. Sessions are created once and reused; `analyse` takes `&self`.
#[derive(Debug)]
pub struct FaceEngine {
    detector: Detector,
    embedder: Embedder,
    attack: Option<AttackModel>,
    match_threshold: Option<f32>,
    attack_threshold: Option<f32>,
    models: LoadedModels,
    config: FaceConfig,
}

/// Which model files an engine loaded (sha256 of each main ONNX file, checked at load), so a
/// caller can tie thresholds and calibrations to the files actually in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedModels {
    /// Detector manifest name and sha256 of its first file.
    pub detector: (String, String),
    /// Embedder manifest name and sha256 of its main file.
    pub embedder: (String, String),
    /// Attack manifest name and sha256 of its main file.
    pub attack: Option<(String, String)>,
}

impl FaceEngine {
    /// Loads the runtime (checked by hash) and every model (checked by hash).
    pub fn load(config: &FaceConfig) -> Result<Self> {
        config.validate()?;
        let environment = ensure_runtime(&RuntimeOptions {
            library: config.onnxruntime_library.clone(),
            expected_sha256: config.onnxruntime_sha256.clone(),
        })?;
        let threads = config.intra_op_threads;
        let detector_manifest = ModelManifest::load(&config.detector)?;
        let embedder_manifest = ModelManifest::load(&config.embedder)?;
        let attack_manifest = config
            .attack
            .as_deref()
            .map(ModelManifest::load)
            .transpose()?;
        let detector = Detector::load(&detector_manifest, environment, threads)?;
        let embedder = Embedder::load(&embedder_manifest, environment, threads)?;
        let attack = match &attack_manifest {
            Some(manifest) => Some(AttackModel::load(manifest, environment, threads)?),
            None => None,
        };
        let match_threshold = match config.match_threshold {
            Some(threshold) => Some(threshold),
            None => calibrated_match_threshold(&embedder_manifest)?,
        };
        let attack_threshold = match (&attack_manifest, config.attack_threshold) {
            (None, _) => None,
            (Some(_), Some(threshold)) => Some(threshold),
            (Some(manifest), None) => calibrated_attack_threshold(manifest)?,
        };
        let named = |m: &ModelManifest| (m.name.clone(), m.main_sha256().to_owned());
        Ok(Self {
            detector,
            embedder,
            attack,
            match_threshold,
            attack_threshold,
            models: LoadedModels {
                detector: named(&detector_manifest),
                embedder: named(&embedder_manifest),
                attack: attack_manifest.as_ref().map(named),
            },
            config: config.clone(),
        })
    }

    /// The model files in use.
    pub fn models(&self) -> &LoadedModels {
        &self.models
    }

    /// Time all models of this engine have spent inside ONNX Runtime so far, nanoseconds
    /// (pipeline time minus this is our own overhead).
    pub fn inference_nanos(&self) -> u64 {
        self.detector.inference_nanos()
            + self.embedder.inference_nanos()
            + self.attack.as_ref().map_or(0, AttackModel::inference_nanos)
    }

    /// The match threshold in force (`None`: the embedder has no calibration and none was
    /// given, so the engine scores but does not decide).
    pub fn match_threshold(&self) -> Option<f32> {
        self.match_threshold
    }

    /// How scores are computed.
    pub fn score_rule(&self) -> ScoreRule {
        self.embedder.score_rule()
    }

    /// Detects faces only.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        self.detector.detect(image)
    }

    /// Detection, best-face choice, alignment, quality, embedding and attack score.
    pub fn analyse(&self, image: &RgbImage) -> Result<FrameAnalysis> {
        let faces = self.detector.detect(image)?;
        self.analyse_detections(image, faces)
    }

    /// Everything after detection, for detections made elsewhere (e.g. by another engine's
    /// detector, so that several embedders can be evaluated on the same faces).
    pub fn analyse_detections(
        &self,
        image: &RgbImage,
        faces: Vec<Detection>,
    ) -> Result<FrameAnalysis> {
        let assessment = self.assess_detections(image, faces)?;
        let best = match &assessment.best {
            Some(face) => Some(self.complete(image, face)?),
            None => None,
        };
        Ok(FrameAnalysis {
            faces: assessment.faces,
            best,
            second_face: assessment.second_face,
        })
    }

    /// Detection, best-face choice, alignment and quality, without the embedding and attack
    /// score (cheap enough for every frame of a burst; see [`FaceEngine::complete`]).
    pub fn assess_frame(&self, image: &RgbImage) -> Result<FrameAssessment> {
        let faces = self.detector.detect(image)?;
        self.assess_detections(image, faces)
    }

    /// [`FaceEngine::assess_frame`] for detections made elsewhere.
    pub fn assess_detections(
        &self,
        image: &RgbImage,
        faces: Vec<Detection>,
    ) -> Result<FrameAssessment> {
        let Some(best_index) =
            choose_best_face(&faces, image.width() as f32, image.height() as f32)
        else {
            return Ok(FrameAssessment {
                faces,
                best: None,
                second_face: None,
            });
        };
        let chosen = faces[best_index];
        let second_face = faces
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                *i != best_index
                    && f.bbox.area() >= self.config.second_face_area_ratio * chosen.bbox.area()
            })
            .map(|(_, f)| *f)
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()));
        let (chip, _) = self
            .embedder
            .align(image, &chosen.landmarks)
            .ok_or(FaceError::NoFace)?;
        let quality = assess(&chosen, &chip, &self.config.quality);
        Ok(FrameAssessment {
            faces,
            best: Some(AssessedFace {
                detection: chosen,
                quality,
                chip,
            }),
            second_face,
        })
    }

    /// Embedding and attack score of an assessed face (`image` is the frame it came from).
    pub fn complete(&self, image: &RgbImage, face: &AssessedFace) -> Result<AnalysedFace> {
        let embedding = self.embedder.embed(&face.chip)?;
        let attack_score = match &self.attack {
            Some(model) => Some(model.score(image, &face.detection)?),
            None => None,
        };
        let is_attack = attack_score
            .zip(self.attack_threshold)
            .map(|(score, threshold)| score > threshold);
        Ok(AnalysedFace {
            detection: face.detection,
            quality: face.quality.clone(),
            embedding,
            attack_score,
            is_attack,
        })
    }

    /// The attack threshold in force (None without an attack model).
    pub fn attack_threshold(&self) -> Option<f32> {
        self.attack_threshold
    }

    /// The quality limits in force.
    pub fn quality_limits(&self) -> &QualityThresholds {
        &self.config.quality
    }

    /// Decodes a chip photo (JPEG, JP2 or J2K) or any image file and makes a reference from its best face.
    pub fn reference_from_chip_photo(&self, bytes: &[u8]) -> Result<Reference> {
        let image = decode_image(bytes)?;
        self.reference_from_image(&image)
    }

    /// Makes a reference from the best face of a decoded image.
    /// The document photo is not scored by the attack model (it is not a live presentation).
    pub fn reference_from_image(&self, image: &RgbImage) -> Result<Reference> {
        let assessment = self.assess_frame(image)?;
        let best = assessment.best.ok_or(FaceError::NoFace)?;
        Ok(Reference {
            embedding: self.embedder.embed(&best.chip)?,
            quality: best.quality,
        })
    }

    /// Compares a reference with the chosen face of a frame.
    pub fn compare(&self, reference: &Reference, frame: &FrameAnalysis) -> Result<MatchResult> {
        let face = frame.best.as_ref().ok_or(FaceError::NoFace)?;
        Ok(self.compare_embeddings(&reference.embedding, &face.embedding))
    }

    /// Compares two embeddings at the threshold in force (never a match without one).
    pub fn compare_embeddings(&self, a: &Embedding, b: &Embedding) -> MatchResult {
        let score = self.embedder.score_rule().score(a, b);
        MatchResult {
            score,
            threshold: self.match_threshold,
            is_match: self.match_threshold.is_some_and(|t| score >= t),
        }
    }
}

/// The embedder's calibrated threshold at the default target FMR (`None` without calibration).
fn calibrated_match_threshold(manifest: &ModelManifest) -> Result<Option<f32>> {
    let Some(path) = manifest.calibration_path() else {
        return Ok(None);
    };
    let table = MatchCalibration::load(&path)?;
    check_calibration_model(&path, &table.provenance, manifest)?;
    let resolved = table
        .resolve(DEFAULT_TARGET_FMR)
        .map_err(|err| FaceError::Calibration {
            path: path.clone(),
            message: err.to_string(),
        })?;
    Ok(Some(resolved.threshold))
}

/// The attack model's calibrated threshold at the default target BPCER.
fn calibrated_attack_threshold(manifest: &ModelManifest) -> Result<Option<f32>> {
    let Some(path) = manifest.calibration_path() else {
        return Ok(None);
    };
    let table = AttackCalibration::load(&path)?;
    check_calibration_model(&path, &table.provenance, manifest)?;
    let resolved = table
        .resolve(DEFAULT_TARGET_BPCER)
        .map_err(|err| FaceError::Calibration {
            path: path.clone(),
            message: err.to_string(),
        })?;
    Ok(Some(resolved.threshold))
}

/// A calibration holds only for the model file it was measured with.
pub fn check_calibration_model(
    path: &Path,
    provenance: &Provenance,
    manifest: &ModelManifest,
) -> Result<()> {
    if provenance
        .model_sha256
        .eq_ignore_ascii_case(manifest.main_sha256())
    {
        Ok(())
    } else {
        Err(FaceError::Calibration {
            path: path.to_path_buf(),
            message: format!(
                "measured with model file sha256 {}, but {} names {} (sha256 {}): recalibrate with `gatectl face calibrate`",
                provenance.model_sha256,
                manifest.manifest_path.display(),
                manifest.name,
                manifest.main_sha256()
            ),
        })
    }
}

/// Picks the largest, most central face: area weighted down by distance from the image centre.
pub fn choose_best_face(faces: &[Detection], width: f32, height: f32) -> Option<usize> {
    let half_diagonal = ((width * width + height * height).sqrt() / 2.0).max(1.0);
    let rank = |f: &Detection| {
        let cx = (f.bbox.x1 + f.bbox.x2) / 2.0 - width / 2.0;
        let cy = (f.bbox.y1 + f.bbox.y2) / 2.0 - height / 2.0;
        let off_centre = (cx * cx + cy * cy).sqrt() / half_diagonal;
        f.bbox.area() * (1.0 - 0.5 * off_centre.min(1.0))
    };
    faces
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| rank(a).total_cmp(&rank(b)))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::BoxF;

    fn face(x1: f32, y1: f32, side: f32) -> Detection {
        Detection {
            bbox: BoxF {
                x1,
                y1,
                x2: x1 + side,
                y2: y1 + side,
            },
            score: 0.9,
            landmarks: [[0.0; 2]; 5],
        }
    }

    #[test]
    fn engine_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FaceEngine>();
        assert_send_sync::<Reference>();
    }

    #[test]
    fn best_face_is_large_and_central() {
        let faces = [
            face(0.0, 0.0, 50.0),
            face(75.0, 75.0, 50.0),
            face(150.0, 150.0, 45.0),
        ];
        assert_eq!(choose_best_face(&faces, 200.0, 200.0), Some(1));
        let big_corner = [face(0.0, 0.0, 120.0), face(75.0, 75.0, 50.0)];
        assert_eq!(choose_best_face(&big_corner, 200.0, 200.0), Some(0));
        assert_eq!(choose_best_face(&[], 200.0, 200.0), None);
    }

    #[test]
    fn config_rejects_unknown_fields_and_bad_threads() {
        let text = "detector = \"d.toml\"\nembedder = \"e.toml\"\nintra_op_threads = 0\n";
        let config: FaceConfig = toml::from_str(text).unwrap();
        assert!(config.validate().is_err());
        assert!(
            toml::from_str::<FaceConfig>("detector = \"d\"\nembedder = \"e\"\nspeed = 3\n")
                .is_err()
        );
    }
}

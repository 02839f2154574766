//! Model manifests: one TOML file per model describing its files, tensors and meaning.
//!
//! Any model a manifest describes works without code changes, within the supported detector
//! families ([`DetectorFamily`]), alignment templates ([`AlignmentTemplate`]) and attack-score rules.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{FaceError, Result};
use crate::runtime::sha256_file;

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelTask {
    /// Face detection with five landmarks.
    Detector,
    /// Face recognition: aligned face chip to embedding.
    Embedder,
    /// Presentation-attack (spoof) scoring.
    Attack,
}

/// Memory layout of an image input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TensorLayout {
    /// batch, channel, row, column.
    Nchw,
    /// batch, row, column, channel.
    Nhwc,
    /// batch, column, row, channel (the transposed layout of the Keras MTCNN port).
    Nwhc,
}

/// Channel order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColourOrder {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red.
    Bgr,
}

/// How pixels become tensor values: `(pixel - mean[c]) / std[c]`, pixel in 0..=255.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input tensor name (the first input when absent).
    pub name: Option<String>,
    /// Tensor layout.
    pub layout: TensorLayout,
    /// Colour order.
    pub colour: ColourOrder,
    /// Per-channel mean subtracted from 0..255 pixel values (in the model's colour order).
    pub mean: [f32; 3],
    /// Per-channel divisor.
    pub std: [f32; 3],
    /// Fixed batch size of the graph (the image is repeated to fill it); 1 when absent.
    #[serde(default = "one")]
    pub batch: usize,
    /// Fixed input height and width for single-scale models (`[height, width]`).
    pub size: Option<[usize; 2]>,
}

fn one() -> usize {
    1
}

/// One ONNX file of a model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Role of the file within the model (`main`, or `pnet`/`rnet`/`onet` for MTCNN).
    pub role: String,
    /// Path, relative to the manifest's directory unless absolute.
    pub path: PathBuf,
    /// Expected sha256, lower-case hex.
    pub sha256: String,
    /// How to feed the file's image input.
    pub input: InputSpec,
}

/// Supported detector families: each has its own decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorFamily {
    /// MTCNN cascade (P-Net, R-Net, O-Net), Zhang et al. 2016.
    Mtcnn,
    /// SCRFD with key points (InsightFace), anchor-free distances at strides 8/16/32.
    Scrfd,
}

/// Detector parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    /// Which decoder to use.
    pub family: DetectorFamily,
    /// Final face score threshold (MTCNN: the O-Net threshold).
    pub score_threshold: f32,
    /// MTCNN: P-Net and R-Net thresholds.
    #[serde(default)]
    pub stage_thresholds: Option<[f32; 2]>,
    /// Smallest face side searched for, in pixels (MTCNN pyramid start).
    #[serde(default)]
    pub min_face_px: Option<f32>,
    /// MTCNN pyramid scale step.
    #[serde(default)]
    pub pyramid_factor: Option<f32>,
    /// Non-maximum-suppression IoU threshold.
    #[serde(default = "default_nms")]
    pub nms_iou: f32,
}

fn default_nms() -> f32 {
    0.4
}

/// Named 5-point alignment templates.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", tag = "template", deny_unknown_fields)]
pub enum AlignmentTemplate {
    /// InsightFace/ArcFace 112x112 five-point template, scaled to `size`.
    Arcface {
        /// Output side in pixels.
        size: usize,
    },
    /// dlib's `get_face_chip_details` frame (size, padding), with eye centres taken as the
    /// midpoints of dlib's eye-corner targets and nose/mouth placed by the ArcFace geometry.
    DlibChip {
        /// Output side in pixels (dlib: 150).
        size: usize,
        /// Padding around the face (dlib recognition: 0.25).
        padding: f32,
    },
}

/// Distance between embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceKind {
    /// Cosine similarity of L2-normalised embeddings; the score is the cosine.
    Cosine,
    /// Euclidean distance of raw embeddings; the score is `1 - distance / euclidean_scale`.
    Euclidean,
}

/// Embedder parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedderSpec {
    /// Output tensor name.
    pub output: String,
    /// Embedding length.
    pub embedding_size: usize,
    /// Alignment the model was trained with.
    pub alignment: AlignmentTemplate,
    /// How embeddings compare.
    pub distance: DistanceKind,
    /// For Euclidean models: distance that maps to score 0 (score = 1 - d / scale).
    #[serde(default)]
    pub euclidean_scale: Option<f32>,
    /// The match calibration (FMR -> threshold table, [`crate::calibration::MatchCalibration`]),
    /// relative to the manifest's directory unless absolute. A model without one can be
    /// evaluated and calibrated but makes no decisions.
    #[serde(default)]
    pub calibration: Option<PathBuf>,
    /// Test-time augmentation: average the embeddings of the chip and its mirror image.
    #[serde(default)]
    pub flip_augment: bool,
    /// A landmark model run on the detected face before alignment (dlib chips: dlib's own
    /// 5-point shape model, so the chip is cut from the points the embedder was trained with).
    #[serde(default)]
    pub landmarks: Option<LandmarkModelSpec>,
}

/// Kinds of landmark models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandmarkModelKind {
    /// dlib `shape_predictor` with 5 points (eye corners, nose bottom), dlib's serialisation.
    DlibShapePredictor5,
}

/// A landmark model file (not ONNX) referenced by an embedder manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarkModelSpec {
    /// What the file is.
    pub kind: LandmarkModelKind,
    /// Path, relative to the manifest's directory unless absolute.
    pub path: PathBuf,
    /// Expected sha256, lower-case hex.
    pub sha256: String,
}

/// How the attack model's outputs become a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackScoreRule {
    /// `sum(abs(class_output) * leaf_mask_output)` (deep tree learning, Liu et al. 2019).
    DeepTreeLeafSum,
}

/// Presentation-attack model parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackSpec {
    /// Score rule.
    pub rule: AttackScoreRule,
    /// Output holding per-leaf class predictions.
    pub class_output: String,
    /// Output holding the leaf mask.
    pub leaf_mask_output: String,
    /// The attack calibration (BPCER -> threshold table,
    /// [`crate::calibration::AttackCalibration`]), relative to the manifest's directory unless
    /// absolute.
    #[serde(default)]
    pub calibration: Option<PathBuf>,
    /// Enlargement of the square face box before cropping (1.0 = the box itself).
    #[serde(default = "one_f32")]
    pub crop_scale: f32,
}

fn one_f32() -> f32 {
    1.0
}

/// A model manifest (`<model>.toml` beside the ONNX files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    /// Short name.
    pub name: String,
    /// What the model does.
    pub task: ModelTask,
    /// Licence of the weights as stated by their source.
    pub licence: String,
    /// Where the files came from.
    pub source: String,
    /// The ONNX files.
    pub files: Vec<ModelFile>,
    /// Detector section (task = detector).
    pub detector: Option<DetectorSpec>,
    /// Embedder section (task = embedder).
    pub embedder: Option<EmbedderSpec>,
    /// Attack section (task = attack).
    pub attack: Option<AttackSpec>,
    /// Directory the manifest was read from (set by [`ModelManifest::load`]).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Path of the manifest itself.
    #[serde(skip)]
    pub manifest_path: PathBuf,
}

impl ModelManifest {
    /// Reads and checks a manifest (sections match the task, files exist).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| FaceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut manifest = Self::parse(&text, path)?;
        manifest.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        manifest.manifest_path = path.to_path_buf();
        Ok(manifest)
    }

    /// Parses manifest text (`origin` only names it in errors).
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let error = |message: String| FaceError::Manifest {
            path: origin.to_path_buf(),
            message,
        };
        let manifest: Self = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        let section_ok = match manifest.task {
            ModelTask::Detector => manifest.detector.is_some(),
            ModelTask::Embedder => manifest.embedder.is_some(),
            ModelTask::Attack => manifest.attack.is_some(),
        };
        if !section_ok {
            return Err(error(format!(
                "task {:?} needs its own section",
                manifest.task
            )));
        }
        if manifest.files.is_empty() {
            return Err(error("no files listed".into()));
        }
        for file in &manifest.files {
            if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(error(format!(
                    "file {}: sha256 must be 64 hex digits",
                    file.path.display()
                )));
            }
            if file.input.std.contains(&0.0) {
                return Err(error(format!(
                    "file {}: std must not be 0",
                    file.path.display()
                )));
            }
        }
        Ok(manifest)
    }

    /// The file with the given role.
    pub fn file(&self, role: &str) -> Result<&ModelFile> {
        self.files
            .iter()
            .find(|f| f.role == role)
            .ok_or_else(|| FaceError::Manifest {
                path: self.manifest_path.clone(),
                message: format!("no file with role {role:?}"),
            })
    }

    /// sha256 of the main ONNX file (the first file when none has role `main`) as the manifest
    /// states it (what calibrations and pinned thresholds are tied to); the file's own hash is checked against it when it is loaded.
    pub fn main_sha256(&self) -> &str {
        self.files
            .iter()
            .find(|f| f.role == "main")
            .or(self.files.first())
            .map_or("", |f| f.sha256.as_str())
    }

    /// The calibration file the manifest names (embedder or attack section), resolved against
    /// the manifest's directory.
    pub fn calibration_path(&self) -> Option<PathBuf> {
        let named = match self.task {
            ModelTask::Embedder => self.embedder.as_ref().and_then(|e| e.calibration.clone()),
            ModelTask::Attack => self.attack.as_ref().and_then(|a| a.calibration.clone()),
            ModelTask::Detector => None,
        }?;
        Some(crate::calibration::resolve_path(&self.base_dir, &named))
    }

    /// Absolute path of a file, checked against the manifest's sha256.
    pub fn verified_path(&self, file: &ModelFile) -> Result<PathBuf> {
        self.verify(&file.path, &file.sha256)
    }

    /// Resolves `path` against the manifest's directory and checks its sha256.
    pub fn verify(&self, path: &Path, sha256: &str) -> Result<PathBuf> {
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        };
        let actual = sha256_file(&path)?;
        if !actual.eq_ignore_ascii_case(sha256) {
            return Err(FaceError::ModelHashMismatch {
                path,
                expected: sha256.to_string(),
                actual,
            });
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMBEDDER: &str = r#"
name = "example"
task = "embedder"
licence = "CC0"
source = "test"
[[files]]
role = "main"
path = "x.onnx"
sha256 = "ea0b3d226733329291d579bcb3405fe3e515ec63b471ecb156d304ec49932e9b"
input = { layout = "NCHW", colour = "rgb", mean = [0.0, 0.0, 0.0], std = [1.0, 1.0, 1.0] }
[embedder]
output = "embedding"
embedding_size = 128
alignment = { template = "dlib_chip", size = 150, padding = 0.25 }
distance = "euclidean"
euclidean_scale = 1.2
calibration = "example.calibration.toml"
"#;

    #[test]
    fn parses_embedder_manifest() {
        let manifest = ModelManifest::parse(EMBEDDER, Path::new("t.toml")).unwrap();
        let embedder = manifest.embedder.unwrap();
        assert_eq!(
            embedder.alignment,
            AlignmentTemplate::DlibChip {
                size: 150,
                padding: 0.25
            }
        );
        assert_eq!(manifest.files[0].input.batch, 1);
        assert_eq!(manifest.files[0].input.layout, TensorLayout::Nchw);
    }

    #[test]
    fn rejects_unknown_fields_and_missing_sections() {
        let unknown = EMBEDDER.replace("licence = \"CC0\"", "licence = \"CC0\"\ncolour_space = 1");
        assert!(ModelManifest::parse(&unknown, Path::new("t.toml")).is_err());
        let wrong_task = EMBEDDER.replace("task = \"embedder\"", "task = \"detector\"");
        let error = ModelManifest::parse(&wrong_task, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("section"), "{error}");
    }

    #[test]
    fn rejects_bad_hash() {
        let bad = EMBEDDER.replace("ea0b3d22", "zz");
        assert!(ModelManifest::parse(&bad, Path::new("t.toml")).is_err());
    }
}

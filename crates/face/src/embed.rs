//! Face embeddings from aligned chips, and their comparison.

use image::RgbImage;

use crate::align::{Affine, Landmarks, align_face, align_points, dlib_five_point_targets};
use crate::error::{FaceError, Result};
use crate::imaging::{tensor_shape, write_tensor_u8};
use crate::manifest::{
    AlignmentTemplate, DistanceKind, EmbedderSpec, InputSpec, LandmarkModelKind, ModelManifest,
};
use crate::runtime::OnnxModel;
use crate::shape::ShapePredictor;

/// A face embedding. Its `Debug` shows only the length: embeddings are biometric data.
#[derive(Clone, PartialEq)]
pub struct Embedding {
    values: Vec<f32>,
}

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedding({} values, redacted)", self.values.len())
    }
}

impl Embedding {
    /// Wraps raw values (e.g. read back from protected storage).
    pub fn from_values(values: Vec<f32>) -> Self {
        Self { values }
    }
    /// The values.
    pub fn values(&self) -> &[f32] {
        &self.values
    }
    /// Number of dimensions.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// True for an empty embedding.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// How raw distances become the normalised score (higher = more similar).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreRule {
    /// Cosine similarity of L2-normalised embeddings, in -1..1.
    Cosine,
    /// `1 - euclidean_distance / scale`.
    Euclidean {
        /// Distance mapped to score 0.
        scale: f32,
    },
}

impl ScoreRule {
    /// Normalised similarity of two embeddings (higher = more similar). NaN-free: mismatched
    /// lengths give the lowest possible score.
    pub fn score(&self, a: &Embedding, b: &Embedding) -> f32 {
        if a.len() != b.len() || a.is_empty() {
            return f32::NEG_INFINITY;
        }
        match self {
            Self::Cosine => a.values.iter().zip(&b.values).map(|(x, y)| x * y).sum(),
            Self::Euclidean { scale } => {
                let distance = a
                    .values
                    .iter()
                    .zip(&b.values)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f32>()
                    .sqrt();
                1.0 - distance / scale
            }
        }
    }
}

/// A loaded recognition model.
pub struct Embedder {
    model: OnnxModel,
    input: InputSpec,
    spec: EmbedderSpec,
    rule: ScoreRule,
    shape: Option<ShapePredictor>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model", &self.model.name)
            .field("size", &self.spec.embedding_size)
            .finish()
    }
}

impl Embedder {
    /// Loads the embedder a manifest describes.
    pub fn load(
        manifest: &ModelManifest,
        environment: &ort::environment::Environment,
        threads: usize,
    ) -> Result<Self> {
        let manifest_error = |message: &str| FaceError::Manifest {
            path: manifest.manifest_path.clone(),
            message: message.into(),
        };
        let spec = manifest
            .embedder
            .clone()
            .ok_or_else(|| manifest_error("not an embedder manifest"))?;
        let file = manifest.file("main")?;
        let path = manifest.verified_path(file)?;
        let rule = match spec.distance {
            DistanceKind::Cosine => ScoreRule::Cosine,
            DistanceKind::Euclidean => ScoreRule::Euclidean {
                scale: spec
                    .euclidean_scale
                    .filter(|s| *s > 0.0)
                    .ok_or_else(|| manifest_error("euclidean models need euclidean_scale > 0"))?,
            },
        };
        let shape = match &spec.landmarks {
            Some(landmarks) => {
                let path = manifest.verify(&landmarks.path, &landmarks.sha256)?;
                let model = ShapePredictor::load(&path)?;
                match (landmarks.kind, spec.alignment) {
                    (
                        LandmarkModelKind::DlibShapePredictor5,
                        AlignmentTemplate::DlibChip { .. },
                    ) if model.num_points() == 5 => {}
                    _ => {
                        return Err(manifest_error(
                            "dlib_shape_predictor5 needs a 5-point model and the dlib_chip alignment",
                        ));
                    }
                }
                Some(model)
            }
            None => None,
        };
        Ok(Self {
            model: OnnxModel::load(environment, &path, file.input.name.as_deref(), threads)?,
            input: file.input.clone(),
            spec,
            rule,
            shape,
        })
    }

    /// Cuts the chip this model expects from a detected face: with a landmark model (dlib's
    /// 5-point shape model) its points are fitted to dlib's chip targets; otherwise the
    /// detector's five landmarks are fitted to the template. None for degenerate landmarks.
    pub fn align(&self, image: &RgbImage, landmarks: &Landmarks) -> Option<(RgbImage, Affine)> {
        match (&self.shape, self.spec.alignment) {
            (Some(shape), AlignmentTemplate::DlibChip { size, padding }) => {
                let points = shape.refine(image, landmarks)?;
                align_points(
                    image,
                    &points,
                    &dlib_five_point_targets(size, padding),
                    size,
                )
            }
            _ => align_face(image, landmarks, self.spec.alignment),
        }
    }

    /// The alignment this model was trained with.
    pub fn alignment(&self) -> AlignmentTemplate {
        self.spec.alignment
    }

    /// How scores are computed.
    pub fn score_rule(&self) -> ScoreRule {
        self.rule
    }

    /// Time spent inside ONNX Runtime so far, nanoseconds.
    pub fn inference_nanos(&self) -> u64 {
        self.model.inference_nanos()
    }

    /// Embeds an aligned chip (its size must be the template's).
    pub fn embed(&self, chip: &RgbImage) -> Result<Embedding> {
        let mut values = self.raw_embedding(chip)?;
        if self.spec.flip_augment {
            let mirrored = self.raw_embedding(&image::imageops::flip_horizontal(chip))?;
            values
                .iter_mut()
                .zip(&mirrored)
                .for_each(|(v, m)| *v = (*v + m) / 2.0);
        }
        if self.rule == ScoreRule::Cosine {
            let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                values.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Ok(Embedding { values })
    }

    /// The model's output for one chip, before normalisation.
    fn raw_embedding(&self, chip: &RgbImage) -> Result<Vec<f32>> {
        let (w, h) = (chip.width() as usize, chip.height() as usize);
        let batch = self.input.batch.max(1);
        let mut tensor = vec![0f32; batch * w * h * 3];
        for slot in 0..batch {
            write_tensor_u8(chip, &self.input, slot, &mut tensor);
        }
        let shape = tensor_shape(self.input.layout, batch, w, h);
        let outputs = self.model.run(&shape, tensor)?;
        let (_, data) = outputs.get(&self.model.name, &self.spec.output)?;
        let size = self.spec.embedding_size;
        if data.len() < size || data.len() % size != 0 {
            return Err(FaceError::ModelOutput {
                model: self.model.name.clone(),
                message: format!(
                    "embedding output has {} values, manifest says {size}",
                    data.len()
                ),
            });
        }
        let values = data[..size].to_vec();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(FaceError::ModelOutput {
                model: self.model.name.clone(),
                message: "non-finite embedding".into(),
            });
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_print_values() {
        let embedding = Embedding::from_values(vec![0.123_456, 0.654_321]);
        let shown = format!("{embedding:?}");
        assert!(!shown.contains("0.123"), "{shown}");
        assert!(shown.contains("2 values"));
    }

    #[test]
    fn scores_follow_the_rule() {
        let a = Embedding::from_values(vec![1.0, 0.0]);
        let b = Embedding::from_values(vec![0.0, 1.0]);
        assert!((ScoreRule::Cosine.score(&a, &a) - 1.0).abs() < 1e-6);
        assert!(ScoreRule::Cosine.score(&a, &b).abs() < 1e-6);
        let euclid = ScoreRule::Euclidean {
            scale: 2.0_f32.sqrt() * 2.0,
        };
        assert!((euclid.score(&a, &b) - 0.5).abs() < 1e-6);
        let short = Embedding::from_values(vec![1.0]);
        assert_eq!(ScoreRule::Cosine.score(&a, &short), f32::NEG_INFINITY);
    }
}

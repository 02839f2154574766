//! Presentation-attack (print/replay) score from a face crop.

use image::RgbImage;

use crate::detect::Detection;
use crate::error::{FaceError, Result};
use crate::imaging::{crop_resize, tensor_shape, write_tensor};
use crate::manifest::{AttackScoreRule, AttackSpec, InputSpec, ModelManifest};
use crate::runtime::OnnxModel;

/// A loaded presentation-attack model.
pub struct AttackModel {
    model: OnnxModel,
    input: InputSpec,
    spec: AttackSpec,
    size: [usize; 2],
}

impl std::fmt::Debug for AttackModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttackModel")
            .field("model", &self.model.name)
            .finish()
    }
}

impl AttackModel {
    /// Loads the attack model a manifest describes.
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
            .attack
            .clone()
            .ok_or_else(|| manifest_error("not an attack manifest"))?;
        let file = manifest.file("main")?;
        let size = file
            .input
            .size
            .ok_or_else(|| manifest_error("attack model needs input.size"))?;
        let path = manifest.verified_path(file)?;
        Ok(Self {
            model: OnnxModel::load(environment, &path, file.input.name.as_deref(), threads)?,
            input: file.input.clone(),
            spec,
            size,
        })
    }

    /// Time spent inside ONNX Runtime so far, nanoseconds.
    pub fn inference_nanos(&self) -> u64 {
        self.model.inference_nanos()
    }

    /// Attack score of one detected face (higher = more likely an attack).
    pub fn score(&self, image: &RgbImage, face: &Detection) -> Result<f32> {
        let square = face.bbox.to_square();
        let grow = (self.spec.crop_scale - 1.0) * square.width() / 2.0;
        let region = crate::imaging::BoxF {
            x1: square.x1 - grow,
            y1: square.y1 - grow,
            x2: square.x2 + grow,
            y2: square.y2 + grow,
        };
        let [h, w] = self.size;
        let pixels = crop_resize(image, region, w, h);
        let mut tensor = vec![0f32; w * h * 3];
        write_tensor(&pixels, w, h, &self.input, 0, &mut tensor);
        let outputs = self
            .model
            .run(&tensor_shape(self.input.layout, 1, w, h), tensor)?;
        let (_, classes) = outputs.get(&self.model.name, &self.spec.class_output)?;
        let (_, mask) = outputs.get(&self.model.name, &self.spec.leaf_mask_output)?;
        if classes.len() != mask.len() || classes.is_empty() {
            return Err(FaceError::ModelOutput {
                model: self.model.name.clone(),
                message: "class and leaf-mask outputs differ in length".into(),
            });
        }
        match self.spec.rule {
            AttackScoreRule::DeepTreeLeafSum => {
                Ok(classes.iter().zip(mask).map(|(c, m)| c.abs() * m).sum())
            }
        }
    }
}

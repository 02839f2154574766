//! SCRFD decoder (InsightFace): scores, box distances and key-point offsets at strides 8/16/32,
//! two anchors per cell. Outputs are taken in InsightFace's export order: three score maps,
//! three box maps, three key-point maps.

use image::RgbImage;

use super::{Detection, Overlap, nms, output_len_check};
use crate::error::{FaceError, Result};
use crate::imaging::{BoxF, crop_resize, tensor_shape, write_tensor};
use crate::manifest::{DetectorSpec, InputSpec, ModelManifest};
use crate::runtime::OnnxModel;

const STRIDES: [usize; 3] = [8, 16, 32];
const ANCHORS_PER_CELL: usize = 2;

pub(super) struct Scrfd {
    model: OnnxModel,
    input: InputSpec,
    input_w: usize,
    input_h: usize,
    score_threshold: f32,
    nms_iou: f32,
}

impl Scrfd {
    pub(super) fn load(
        manifest: &ModelManifest,
        spec: &DetectorSpec,
        environment: &ort::environment::Environment,
        threads: usize,
    ) -> Result<Self> {
        let file = manifest.file("main")?;
        let path = manifest.verified_path(file)?;
        let [input_h, input_w] = file.input.size.ok_or_else(|| FaceError::Manifest {
            path: manifest.manifest_path.clone(),
            message: "scrfd needs input.size = [height, width]".into(),
        })?;
        if input_w % 32 != 0 || input_h % 32 != 0 || input_w == 0 || input_h == 0 {
            return Err(FaceError::Manifest {
                path: manifest.manifest_path.clone(),
                message: "scrfd input size must be a positive multiple of 32".into(),
            });
        }
        Ok(Self {
            model: OnnxModel::load(environment, &path, file.input.name.as_deref(), threads)?,
            input: file.input.clone(),
            input_w,
            input_h,
            score_threshold: spec.score_threshold,
            nms_iou: spec.nms_iou,
        })
    }

    pub(super) fn inference_nanos(&self) -> u64 {
        self.model.inference_nanos()
    }

    pub(super) fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        let (width, height) = (image.width() as f32, image.height() as f32);
        // Scale to fit, keep the aspect ratio, pad right/bottom with black.
        let det_scale = (self.input_w as f32 / width).min(self.input_h as f32 / height);
        let region = BoxF {
            x1: 0.0,
            y1: 0.0,
            x2: self.input_w as f32 / det_scale,
            y2: self.input_h as f32 / det_scale,
        };
        let pixels = crop_resize(image, region, self.input_w, self.input_h);
        let mut tensor = vec![0f32; self.input_w * self.input_h * 3];
        write_tensor(
            &pixels,
            self.input_w,
            self.input_h,
            &self.input,
            0,
            &mut tensor,
        );
        let shape = tensor_shape(self.input.layout, 1, self.input_w, self.input_h);
        let outputs = self.model.run(&shape, tensor)?;
        let name = &self.model.name;
        let all = outputs.all();
        if all.len() < 9 {
            return Err(FaceError::ModelOutput {
                model: name.clone(),
                message: format!("expected 9 outputs, got {}", all.len()),
            });
        }
        let mut faces = Vec::new();
        for (level, stride) in STRIDES.iter().enumerate() {
            let (cols, rows) = (self.input_w / stride, self.input_h / stride);
            let count = cols * rows * ANCHORS_PER_CELL;
            let scores = &all[level].2;
            let distances = &all[level + 3].2;
            let key_points = &all[level + 6].2;
            output_len_check(name, &all[level].0, scores, count)?;
            output_len_check(name, &all[level + 3].0, distances, count * 4)?;
            output_len_check(name, &all[level + 6].0, key_points, count * 10)?;
            let s = *stride as f32;
            for i in 0..count {
                let score = scores[i];
                if score < self.score_threshold {
                    continue;
                }
                let cell = i / ANCHORS_PER_CELL;
                let cx = (cell % cols) as f32 * s;
                let cy = (cell / cols) as f32 * s;
                let d = &distances[i * 4..i * 4 + 4];
                let bbox = BoxF {
                    x1: (cx - d[0] * s) / det_scale,
                    y1: (cy - d[1] * s) / det_scale,
                    x2: (cx + d[2] * s) / det_scale,
                    y2: (cy + d[3] * s) / det_scale,
                };
                let k = &key_points[i * 10..i * 10 + 10];
                let landmarks = std::array::from_fn(|j| {
                    [
                        (cx + k[2 * j] * s) / det_scale,
                        (cy + k[2 * j + 1] * s) / det_scale,
                    ]
                });
                faces.push(Detection {
                    bbox,
                    score,
                    landmarks,
                });
            }
        }
        let boxes: Vec<BoxF> = faces.iter().map(|f| f.bbox).collect();
        let scores: Vec<f32> = faces.iter().map(|f| f.score).collect();
        Ok(nms(&boxes, &scores, self.nms_iou, Overlap::Union)
            .into_iter()
            .map(|i| faces[i])
            .collect())
    }
}

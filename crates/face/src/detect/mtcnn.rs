//! MTCNN cascade decoder (Zhang et al. 2016), for the Keras port whose tensors are NWHC.

use image::RgbImage;

use super::{Detection, Overlap, nms, output_len_check};
use crate::error::{FaceError, Result};
use crate::imaging::{BoxF, crop_resize, tensor_shape, write_tensor};
use crate::manifest::{DetectorSpec, InputSpec, ModelManifest};
use crate::runtime::OnnxModel;

/// The three networks and their parameters.
pub(super) struct Mtcnn {
    pnet: Stage,
    rnet: Stage,
    onet: Stage,
    thresholds: [f32; 3],
    min_face_px: f32,
    factor: f32,
}

struct Stage {
    model: OnnxModel,
    input: InputSpec,
}

/// Largest number of boxes sent to the refinement networks in one batch.
const MAX_CANDIDATES: usize = 512;

impl Mtcnn {
    pub(super) fn load(
        manifest: &ModelManifest,
        spec: &DetectorSpec,
        environment: &ort::environment::Environment,
        threads: usize,
    ) -> Result<Self> {
        let stage = |role: &str| -> Result<Stage> {
            let file = manifest.file(role)?;
            let path = manifest.verified_path(file)?;
            Ok(Stage {
                model: OnnxModel::load(environment, &path, file.input.name.as_deref(), threads)?,
                input: file.input.clone(),
            })
        };
        let [p, r] = spec.stage_thresholds.unwrap_or([0.6, 0.7]);
        Ok(Self {
            pnet: stage("pnet")?,
            rnet: stage("rnet")?,
            onet: stage("onet")?,
            thresholds: [p, r, spec.score_threshold],
            min_face_px: spec.min_face_px.unwrap_or(20.0).max(12.0),
            factor: spec.pyramid_factor.unwrap_or(0.709).clamp(0.3, 0.95),
        })
    }

    pub(super) fn inference_nanos(&self) -> u64 {
        self.pnet.model.inference_nanos()
            + self.rnet.model.inference_nanos()
            + self.onet.model.inference_nanos()
    }

    pub(super) fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        let candidates = self.proposals(image)?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let refined = self.refine(image, &candidates)?;
        if refined.is_empty() {
            return Ok(Vec::new());
        }
        self.output(image, &refined)
    }

    /// Stage 1: P-Net over an image pyramid.
    fn proposals(&self, image: &RgbImage) -> Result<Vec<BoxF>> {
        let (width, height) = (image.width() as f32, image.height() as f32);
        let mut scale = 12.0 / self.min_face_px;
        let mut min_layer = width.min(height) * scale;
        let mut boxes = Vec::new();
        let mut scores = Vec::new();
        let mut regressions = Vec::new();
        let full = BoxF {
            x1: 0.0,
            y1: 0.0,
            x2: width,
            y2: height,
        };
        while min_layer >= 12.0 {
            let ws = (width * scale).ceil() as usize;
            let hs = (height * scale).ceil() as usize;
            // The whole image is resampled to ws x hs; map cells back with the exact per-axis scales.
            let (scale_x, scale_y) = (ws as f32 / width, hs as f32 / height);
            let pixels = crop_resize(image, full, ws, hs);
            let mut tensor = vec![0f32; ws * hs * 3];
            write_tensor(&pixels, ws, hs, &self.pnet.input, 0, &mut tensor);
            let shape = tensor_shape(self.pnet.input.layout, 1, ws, hs);
            let outputs = self.pnet.model.run(&shape, tensor)?;
            let (reg_shape, reg) = outputs
                .get(&self.pnet.model.name, "conv2d_4")
                .or_else(|_| first_with_channels(&outputs, &self.pnet.model.name, 4))?;
            let (_, prob) = outputs
                .get(&self.pnet.model.name, "softmax")
                .or_else(|_| first_with_channels(&outputs, &self.pnet.model.name, 2))?;
            // Output spatial order follows the input layout: NWHC -> [1, W', H', C].
            let (out_w, out_h) = match self.pnet.input.layout {
                crate::manifest::TensorLayout::Nwhc => (reg_shape[1], reg_shape[2]),
                _ => (reg_shape[2], reg_shape[1]),
            };
            output_len_check(&self.pnet.model.name, "softmax", prob, out_w * out_h * 2)?;
            output_len_check(&self.pnet.model.name, "conv2d_4", reg, out_w * out_h * 4)?;
            let mut level_boxes = Vec::new();
            let mut level_scores = Vec::new();
            let mut level_regs = Vec::new();
            for cx in 0..out_w {
                for cy in 0..out_h {
                    let cell = match self.pnet.input.layout {
                        crate::manifest::TensorLayout::Nwhc => cx * out_h + cy,
                        _ => cy * out_w + cx,
                    };
                    let score = prob[cell * 2 + 1];
                    if score < self.thresholds[0] {
                        continue;
                    }
                    level_boxes.push(BoxF {
                        x1: (2.0 * cx as f32) / scale_x,
                        y1: (2.0 * cy as f32) / scale_y,
                        x2: (2.0 * cx as f32 + 12.0) / scale_x,
                        y2: (2.0 * cy as f32 + 12.0) / scale_y,
                    });
                    level_scores.push(score);
                    level_regs.push([
                        reg[cell * 4],
                        reg[cell * 4 + 1],
                        reg[cell * 4 + 2],
                        reg[cell * 4 + 3],
                    ]);
                }
            }
            for i in nms(&level_boxes, &level_scores, 0.5, Overlap::Union) {
                boxes.push(level_boxes[i]);
                scores.push(level_scores[i]);
                regressions.push(level_regs[i]);
            }
            scale *= self.factor;
            min_layer *= self.factor;
        }
        let mut keep = nms(&boxes, &scores, 0.7, Overlap::Union);
        keep.truncate(MAX_CANDIDATES);
        Ok(keep
            .into_iter()
            .map(|i| regress(boxes[i], regressions[i]).to_square())
            .collect())
    }

    /// Stage 2: R-Net on 24x24 crops.
    fn refine(&self, image: &RgbImage, candidates: &[BoxF]) -> Result<Vec<BoxF>> {
        let outputs = run_crops(&self.rnet, image, candidates, 24)?;
        let name = &self.rnet.model.name;
        let (_, reg) = outputs
            .get(name, "dense_2")
            .or_else(|_| first_with_channels(&outputs, name, 4))?;
        let (_, prob) = outputs
            .get(name, "softmax_1")
            .or_else(|_| first_with_channels(&outputs, name, 2))?;
        output_len_check(name, "dense_2", reg, candidates.len() * 4)?;
        output_len_check(name, "softmax_1", prob, candidates.len() * 2)?;
        let mut boxes = Vec::new();
        let mut scores = Vec::new();
        let mut regs = Vec::new();
        for (i, candidate) in candidates.iter().enumerate() {
            let score = prob[i * 2 + 1];
            if score > self.thresholds[1] {
                boxes.push(*candidate);
                scores.push(score);
                regs.push([reg[i * 4], reg[i * 4 + 1], reg[i * 4 + 2], reg[i * 4 + 3]]);
            }
        }
        Ok(nms(&boxes, &scores, 0.7, Overlap::Union)
            .into_iter()
            .map(|i| regress(boxes[i], regs[i]).to_square())
            .collect())
    }

    /// Stage 3: O-Net on 48x48 crops, with landmarks.
    fn output(&self, image: &RgbImage, candidates: &[BoxF]) -> Result<Vec<Detection>> {
        let outputs = run_crops(&self.onet, image, candidates, 48)?;
        let name = &self.onet.model.name;
        let (_, reg) = outputs
            .get(name, "dense_5")
            .or_else(|_| first_with_channels(&outputs, name, 4))?;
        let (_, points) = outputs
            .get(name, "dense_6")
            .or_else(|_| first_with_channels(&outputs, name, 10))?;
        let (_, prob) = outputs
            .get(name, "softmax_2")
            .or_else(|_| first_with_channels(&outputs, name, 2))?;
        output_len_check(name, "dense_5", reg, candidates.len() * 4)?;
        output_len_check(name, "dense_6", points, candidates.len() * 10)?;
        output_len_check(name, "softmax_2", prob, candidates.len() * 2)?;
        let mut faces = Vec::new();
        for (i, candidate) in candidates.iter().enumerate() {
            let score = prob[i * 2 + 1];
            if score <= self.thresholds[2] {
                continue;
            }
            let (w, h) = (candidate.width(), candidate.height());
            let p = &points[i * 10..i * 10 + 10];
            let landmarks =
                std::array::from_fn(|k| [candidate.x1 + w * p[k], candidate.y1 + h * p[5 + k]]);
            let bbox = regress(
                *candidate,
                [reg[i * 4], reg[i * 4 + 1], reg[i * 4 + 2], reg[i * 4 + 3]],
            );
            faces.push(Detection {
                bbox,
                score,
                landmarks,
            });
        }
        let boxes: Vec<BoxF> = faces.iter().map(|f| f.bbox).collect();
        let scores: Vec<f32> = faces.iter().map(|f| f.score).collect();
        Ok(nms(&boxes, &scores, 0.7, Overlap::Min)
            .into_iter()
            .map(|i| faces[i])
            .collect())
    }
}

/// Applies MTCNN's box regression (offsets relative to the box size).
fn regress(b: BoxF, r: [f32; 4]) -> BoxF {
    let (w, h) = (b.width(), b.height());
    BoxF {
        x1: b.x1 + r[0] * w,
        y1: b.y1 + r[1] * h,
        x2: b.x2 + r[2] * w,
        y2: b.y2 + r[3] * h,
    }
}

fn run_crops(
    stage: &Stage,
    image: &RgbImage,
    boxes: &[BoxF],
    side: usize,
) -> Result<crate::runtime::ModelOutputs> {
    let per_image = side * side * 3;
    let mut tensor = vec![0f32; boxes.len() * per_image];
    for (slot, b) in boxes.iter().enumerate() {
        let pixels = crop_resize(image, *b, side, side);
        write_tensor(&pixels, side, side, &stage.input, slot, &mut tensor);
    }
    let shape = tensor_shape(stage.input.layout, boxes.len(), side, side);
    stage.model.run(&shape, tensor)
}

/// Fallback for re-exported graphs with other output names: the first output whose last
/// dimension is `channels`.
fn first_with_channels<'a>(
    outputs: &'a crate::runtime::ModelOutputs,
    model: &str,
    channels: usize,
) -> Result<(&'a [usize], &'a [f32])> {
    outputs
        .find_by_last_dim(channels)
        .ok_or_else(|| FaceError::ModelOutput {
            model: model.to_owned(),
            message: format!("no output with {channels} channels"),
        })
}

//! Face detection with five landmarks; one decoder per detector family.

mod mtcnn;
mod scrfd;

use image::RgbImage;

use crate::align::Landmarks;
use crate::error::{FaceError, Result};
use crate::imaging::BoxF;
use crate::manifest::{DetectorFamily, DetectorSpec, ModelManifest};

/// One detected face.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Detection {
    /// Face box in image pixels.
    pub bbox: BoxF,
    /// Detector confidence in 0..1.
    pub score: f32,
    /// Left eye, right eye (as seen in the image), nose tip, left and right mouth corner.
    pub landmarks: Landmarks,
}

/// A loaded detector (sessions created once and reused).
pub struct Detector {
    inner: DetectorImpl,
}

enum DetectorImpl {
    Mtcnn(Box<mtcnn::Mtcnn>),
    Scrfd(Box<scrfd::Scrfd>),
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let family = match self.inner {
            DetectorImpl::Mtcnn(_) => "mtcnn",
            DetectorImpl::Scrfd(_) => "scrfd",
        };
        f.debug_struct("Detector").field("family", &family).finish()
    }
}

impl Detector {
    /// Loads the detector a manifest describes.
    pub fn load(
        manifest: &ModelManifest,
        environment: &ort::environment::Environment,
        threads: usize,
    ) -> Result<Self> {
        let spec = detector_spec(manifest)?;
        let inner = match spec.family {
            DetectorFamily::Mtcnn => DetectorImpl::Mtcnn(Box::new(mtcnn::Mtcnn::load(
                manifest,
                spec,
                environment,
                threads,
            )?)),
            DetectorFamily::Scrfd => DetectorImpl::Scrfd(Box::new(scrfd::Scrfd::load(
                manifest,
                spec,
                environment,
                threads,
            )?)),
        };
        Ok(Self { inner })
    }

    /// Time spent inside ONNX Runtime so far, nanoseconds.
    pub fn inference_nanos(&self) -> u64 {
        match &self.inner {
            DetectorImpl::Mtcnn(model) => model.inference_nanos(),
            DetectorImpl::Scrfd(model) => model.inference_nanos(),
        }
    }

    /// All faces in the image, best score first.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>> {
        if image.width() < 12 || image.height() < 12 {
            return Err(FaceError::ImageTooSmall {
                width: image.width(),
                height: image.height(),
            });
        }
        let mut faces = match &self.inner {
            DetectorImpl::Mtcnn(model) => model.detect(image)?,
            DetectorImpl::Scrfd(model) => model.detect(image)?,
        };
        faces.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(faces)
    }
}

fn detector_spec(manifest: &ModelManifest) -> Result<&DetectorSpec> {
    manifest
        .detector
        .as_ref()
        .ok_or_else(|| FaceError::Manifest {
            path: manifest.manifest_path.clone(),
            message: "not a detector manifest".into(),
        })
}

/// How overlap is measured during non-maximum suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// Intersection over union.
    Union,
    /// Intersection over the smaller box.
    Min,
}

/// Greedy non-maximum suppression; returns kept indices, best score first.
pub(crate) fn nms(boxes: &[BoxF], scores: &[f32], threshold: f32, overlap: Overlap) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len().min(scores.len())).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut keep = Vec::new();
    let mut suppressed = vec![false; boxes.len()];
    for (position, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        for &j in &order[position + 1..] {
            if suppressed[j] {
                continue;
            }
            let inter = boxes[i].intersection(&boxes[j]);
            let ratio = match overlap {
                Overlap::Union => {
                    let union = boxes[i].area() + boxes[j].area() - inter;
                    if union > 0.0 { inter / union } else { 0.0 }
                }
                Overlap::Min => {
                    let smaller = boxes[i].area().min(boxes[j].area());
                    if smaller > 0.0 { inter / smaller } else { 0.0 }
                }
            };
            if ratio > threshold {
                suppressed[j] = true;
            }
        }
    }
    keep
}

/// Fetches an output and checks its element count.
pub(crate) fn output_len_check(
    model: &str,
    name: &str,
    data: &[f32],
    expected: usize,
) -> Result<()> {
    if data.len() != expected {
        return Err(FaceError::ModelOutput {
            model: model.to_owned(),
            message: format!(
                "output {name} has {} values, expected {expected}",
                data.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nms_keeps_best_of_overlapping_boxes() {
        let boxes = [
            BoxF {
                x1: 0.0,
                y1: 0.0,
                x2: 10.0,
                y2: 10.0,
            },
            BoxF {
                x1: 1.0,
                y1: 1.0,
                x2: 11.0,
                y2: 11.0,
            },
            BoxF {
                x1: 50.0,
                y1: 50.0,
                x2: 60.0,
                y2: 60.0,
            },
            BoxF {
                x1: 2.0,
                y1: 2.0,
                x2: 6.0,
                y2: 6.0,
            },
        ];
        let scores = [0.8, 0.9, 0.5, 0.7];
        assert_eq!(nms(&boxes, &scores, 0.5, Overlap::Union), vec![1, 3, 2]);
        // The small box lies inside the best one: Min overlap removes it.
        assert_eq!(nms(&boxes, &scores, 0.5, Overlap::Min), vec![1, 2]);
    }
}

//! dlib's five-point face shape model (an ensemble of regression trees, Kazemi & Sullivan 2014),
//! read from dlib's own serialisation (`shape_predictor_5_face_landmarks.dat`, CC0) and run in
//! Rust, so that the dlib recognition chip is cut from the same five points dlib uses: the outer
//! and inner corner of each eye and the bottom of the nose.
//!
//! dlib starts the cascade from its mean shape placed in the detector's rectangle. Our detector
//! is not dlib's, so the start frame is fitted to the detector's five landmarks instead (a
//! similarity, so in-plane rotation is removed before the trees look at the pixels); the trees
//! then run exactly as in `dlib::shape_predictor::operator()`.

use image::RgbImage;

use crate::align::{ARCFACE_112, Affine, Landmarks, similarity_transform};
use crate::error::{FaceError, Result};

/// One split of a regression tree: go left when `pixel[first] - pixel[second] > threshold`.
/// (8 bytes, so that a tree's splits share one or two cache lines.)
#[derive(Debug, Clone, Copy)]
struct Split {
    first: u16,
    second: u16,
    threshold: f32,
}

/// One cascade level: the pixels it samples and its trees, stored contiguously (the trees are
/// complete and of one depth, so tree `t` owns `splits[t * splits_per_tree..]` and
/// `leaves[t * (splits_per_tree + 1) * shape_len..]`; walking the trees in order then reads
/// memory forwards).
#[derive(Debug, Clone)]
struct CascadeLevel {
    splits_per_tree: usize,
    splits: Vec<Split>,
    /// Leaf increments, `shape_len` values per leaf.
    leaves: Vec<f32>,
    /// Shape point each feature pixel is anchored to.
    anchors: Vec<usize>,
    /// Offset of each feature pixel from its anchor, in the mean-shape frame.
    deltas: Vec<[f32; 2]>,
}

/// dlib's shape predictor.
#[derive(Clone)]
pub struct ShapePredictor {
    /// Mean shape in the unit detection frame, `x0 y0 x1 y1 ...`.
    initial_shape: Vec<f32>,
    levels: Vec<CascadeLevel>,
}

impl std::fmt::Debug for ShapePredictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapePredictor")
            .field("points", &self.num_points())
            .field("cascade_levels", &self.levels.len())
            .finish()
    }
}

/// Reader of dlib's serialisation primitives.
struct DlibReader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> DlibReader<'a> {
    fn error(&self, message: impl Into<String>) -> String {
        format!("{} at byte {}", message.into(), self.position)
    }

    fn byte(&mut self) -> Result<u8, String> {
        let value = *self
            .data
            .get(self.position)
            .ok_or_else(|| self.error("unexpected end of file"))?;
        self.position += 1;
        Ok(value)
    }

    /// dlib integer: a control byte (low nibble = byte count, 0x80 = negative), then the
    /// magnitude little-endian.
    fn integer(&mut self) -> Result<i64, String> {
        let control = self.byte()?;
        let size = usize::from(control & 0x0F);
        if size > 8 || control & 0x70 != 0 {
            return Err(self.error(format!("bad integer control byte {control:#04x}")));
        }
        let mut magnitude: u64 = 0;
        for shift in 0..size {
            magnitude |= u64::from(self.byte()?) << (8 * shift);
        }
        let value = i64::try_from(magnitude).map_err(|_| self.error("integer overflow"))?;
        Ok(if control & 0x80 != 0 { -value } else { value })
    }

    fn count(&mut self, limit: usize) -> Result<usize, String> {
        let value = self.integer()?;
        usize::try_from(value)
            .ok()
            .filter(|v| *v <= limit)
            .ok_or_else(|| self.error(format!("count {value} out of range")))
    }

    /// dlib float: mantissa and exponent as integers, value = mantissa * 2^exponent.
    fn float(&mut self) -> Result<f32, String> {
        let mantissa = self.integer()?;
        let exponent = self.integer()?;
        if mantissa == 0 {
            return Ok(0.0);
        }
        if !(-1100..=1100).contains(&exponent) {
            return Err(self.error("non-finite float"));
        }
        // exponent is within ±1100 (checked), so the cast cannot truncate.
        let value = mantissa as f64 * 2f64.powi(exponent as i32);
        if !value.is_finite() {
            return Err(self.error("non-finite float"));
        }
        Ok(value as f32)
    }

    /// dlib column vector (`matrix<float,0,1>`): `-rows`, `-cols`, then the values.
    fn column(&mut self) -> Result<Vec<f32>, String> {
        let rows = self.integer()?.unsigned_abs();
        let cols = self.integer()?.unsigned_abs();
        if cols != 1 || rows > 10_000 {
            return Err(self.error(format!("expected a column vector, got {rows}x{cols}")));
        }
        (0..rows).map(|_| self.float()).collect()
    }
}

const MAX_ITEMS: usize = 1 << 20;

impl ShapePredictor {
    /// Parses dlib's `shape_predictor` serialisation.
    pub fn from_dlib_bytes(bytes: &[u8]) -> Result<Self, String> {
        let mut reader = DlibReader {
            data: bytes,
            position: 0,
        };
        if reader.integer()? != 1 {
            return Err("not a dlib shape_predictor (version 1)".into());
        }
        let initial_shape = reader.column()?;
        if initial_shape.is_empty() || initial_shape.len() % 2 != 0 {
            return Err("mean shape must hold x, y pairs".into());
        }
        let shape_len = initial_shape.len();
        let level_count = reader.count(1000)?;
        let mut forests = Vec::with_capacity(level_count);
        for _ in 0..level_count {
            let tree_count = reader.count(MAX_ITEMS)?;
            let mut splits_per_tree = None;
            let mut splits = Vec::new();
            let mut leaves = Vec::new();
            for _ in 0..tree_count {
                let split_count = reader.count(MAX_ITEMS)?;
                if *splits_per_tree.get_or_insert(split_count) != split_count {
                    return Err(reader.error("trees of one level differ in depth"));
                }
                for _ in 0..split_count {
                    let first = reader.count(usize::from(u16::MAX))?;
                    let second = reader.count(usize::from(u16::MAX))?;
                    let threshold = reader.float()?;
                    splits.push(Split {
                        // Bounded by u16::MAX above.
                        first: first as u16,
                        second: second as u16,
                        threshold,
                    });
                }
                let leaf_count = reader.count(MAX_ITEMS)?;
                if leaf_count != split_count + 1 {
                    return Err(reader.error("a tree needs one leaf more than splits"));
                }
                for _ in 0..leaf_count {
                    let leaf = reader.column()?;
                    if leaf.len() != shape_len {
                        return Err(reader.error("leaf size differs from the shape size"));
                    }
                    leaves.extend(leaf);
                }
            }
            forests.push((splits_per_tree.unwrap_or(0), splits, leaves));
        }
        let points = shape_len / 2;
        let mut anchors = Vec::with_capacity(level_count);
        if reader.count(1000)? != level_count {
            return Err(reader.error("anchor lists differ from the cascade levels"));
        }
        for _ in 0..level_count {
            let count = reader.count(MAX_ITEMS)?;
            let list = (0..count)
                .map(|_| reader.count(points.saturating_sub(1)))
                .collect::<Result<Vec<_>, _>>()?;
            anchors.push(list);
        }
        if reader.count(1000)? != level_count {
            return Err(reader.error("delta lists differ from the cascade levels"));
        }
        let mut levels = Vec::with_capacity(level_count);
        for ((splits_per_tree, splits, leaves), anchors) in forests.into_iter().zip(anchors) {
            let count = reader.count(MAX_ITEMS)?;
            if count != anchors.len() {
                return Err(reader.error("deltas and anchors differ in number"));
            }
            let deltas = (0..count)
                .map(|_| Ok([reader.float()?, reader.float()?]))
                .collect::<Result<Vec<_>, String>>()?;
            if splits
                .iter()
                .any(|s| usize::from(s.first) >= count || usize::from(s.second) >= count)
            {
                return Err(reader.error("split refers to a pixel that does not exist"));
            }
            levels.push(CascadeLevel {
                splits_per_tree,
                splits,
                leaves,
                anchors,
                deltas,
            });
        }
        if reader.position != bytes.len() {
            return Err(reader.error("trailing bytes after the model"));
        }
        Ok(Self {
            initial_shape,
            levels,
        })
    }

    /// Reads a model file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| FaceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_dlib_bytes(&bytes).map_err(|message| FaceError::Manifest {
            path: path.to_path_buf(),
            message: format!("dlib shape predictor: {message}"),
        })
    }

    /// Number of points the model predicts.
    pub fn num_points(&self) -> usize {
        self.initial_shape.len() / 2
    }

    /// Mean shape point `index` in the unit frame.
    fn mean_point(&self, index: usize) -> [f32; 2] {
        [
            self.initial_shape[2 * index],
            self.initial_shape[2 * index + 1],
        ]
    }

    /// Runs the cascade in the frame `to_image` (unit frame to image pixels) and returns the
    /// points in image pixels.
    pub fn predict(&self, image: &RgbImage, to_image: &Affine) -> Vec<[f32; 2]> {
        let mut shape = self.initial_shape.clone();
        let mut pixels = Vec::new();
        let (width, height) = (i64::from(image.width()), i64::from(image.height()));
        for level in &self.levels {
            // 2x2 part of the similarity from the mean shape to the current shape.
            let current: Vec<[f32; 2]> = shape.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
            let mean: Vec<[f32; 2]> = (0..self.num_points()).map(|i| self.mean_point(i)).collect();
            let [[a, b, _], [c, d, _]] = similarity_transform(&mean, &current)
                .unwrap_or(Affine([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
                .0;
            pixels.clear();
            for (anchor, delta) in level.anchors.iter().zip(&level.deltas) {
                let unit = [
                    a * delta[0] + b * delta[1] + shape[2 * anchor],
                    c * delta[0] + d * delta[1] + shape[2 * anchor + 1],
                ];
                let [x, y] = to_image.apply(unit);
                let (px, py) = ((x + 0.5).floor() as i64, (y + 0.5).floor() as i64);
                let intensity = if px >= 0 && py >= 0 && px < width && py < height {
                    // In range (checked above), so the casts are lossless.
                    let [r, g, b] = image.get_pixel(px as u32, py as u32).0;
                    ((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as f32
                } else {
                    0.0
                };
                pixels.push(intensity);
            }
            let shape_len = shape.len();
            let per_tree = level.splits_per_tree;
            let leaf_block = (per_tree + 1) * shape_len;
            let tree_count = level.leaves.len() / leaf_block.max(1);
            for tree in 0..tree_count {
                let splits = &level.splits[tree * per_tree..(tree + 1) * per_tree];
                let leaves = &level.leaves[tree * leaf_block..(tree + 1) * leaf_block];
                let mut node = 0usize;
                while node < per_tree {
                    let split = splits[node];
                    let difference =
                        pixels[usize::from(split.first)] - pixels[usize::from(split.second)];
                    node = 2 * node + if difference > split.threshold { 1 } else { 2 };
                }
                let leaf = node - per_tree;
                let increment = &leaves[leaf * shape_len..(leaf + 1) * shape_len];
                shape.iter_mut().zip(increment).for_each(|(s, i)| *s += i);
            }
        }
        shape
            .chunks_exact(2)
            .map(|p| to_image.apply([p[0], p[1]]))
            .collect()
    }

    /// Fits the unit frame to a detector's five landmarks (left eye, right eye, nose tip, mouth
    /// corners): the mean shape's eye centres go onto the detected eye centres, nose tip and
    /// mouth by the ArcFace template's proportions. None for degenerate landmarks or a model
    /// that is not dlib's 5-point model.
    pub fn start_frame(&self, landmarks: &Landmarks) -> Option<Affine> {
        if self.num_points() != 5 {
            return None;
        }
        let midpoint = |i: usize, j: usize| {
            let (p, q) = (self.mean_point(i), self.mean_point(j));
            [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0]
        };
        // dlib's points 0, 1: the image-right eye; 2, 3: the image-left eye.
        let (left_eye, right_eye) = (midpoint(2, 3), midpoint(0, 1));
        let arcface_to_unit = similarity_transform(&ARCFACE_112[..2], &[left_eye, right_eye])?;
        let reference = ARCFACE_112.map(|p| arcface_to_unit.apply(p));
        similarity_transform(&reference, landmarks)
    }

    /// dlib's five points for a detected face: start frame from the landmarks, then the cascade.
    pub fn refine(&self, image: &RgbImage, landmarks: &Landmarks) -> Option<Vec<[f32; 2]>> {
        let frame = self.start_frame(landmarks)?;
        Some(self.predict(image, &frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serialises like dlib: control byte + little-endian magnitude.
    fn int(out: &mut Vec<u8>, value: i64) {
        let magnitude = value.unsigned_abs();
        let bytes: Vec<u8> = magnitude
            .to_le_bytes()
            .into_iter()
            .rev()
            .skip_while(|b| *b == 0)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let bytes = if bytes.is_empty() { vec![0] } else { bytes };
        out.push(bytes.len() as u8 | if value < 0 { 0x80 } else { 0 });
        out.extend(bytes);
    }

    /// dlib float with a fixed exponent of -16 (exact for the test values).
    fn float(out: &mut Vec<u8>, value: f32) {
        int(out, (value * 65536.0).round() as i64);
        int(out, -16);
    }

    fn column(out: &mut Vec<u8>, values: &[f32]) {
        int(out, -(values.len() as i64));
        int(out, -1);
        values.iter().for_each(|v| float(out, *v));
    }

    /// A one-point model with one level of one depth-1 tree: if pixel 0 is brighter than
    /// pixel 1 by more than 10, move the point right by 0.25, else down by 0.25.
    fn tiny_model() -> Vec<u8> {
        let mut out = Vec::new();
        int(&mut out, 1);
        column(&mut out, &[0.5, 0.5]);
        int(&mut out, 1); // levels
        int(&mut out, 1); // trees
        int(&mut out, 1); // splits
        int(&mut out, 0);
        int(&mut out, 1);
        float(&mut out, 10.0);
        int(&mut out, 2); // leaves
        column(&mut out, &[0.25, 0.0]);
        column(&mut out, &[0.0, 0.25]);
        int(&mut out, 1); // anchor lists
        int(&mut out, 2);
        int(&mut out, 0);
        int(&mut out, 0);
        int(&mut out, 1); // delta lists
        int(&mut out, 2);
        float(&mut out, -0.25);
        float(&mut out, 0.0);
        float(&mut out, 0.25);
        float(&mut out, 0.0);
        out
    }

    #[test]
    fn parses_and_runs_a_tree() {
        let model = ShapePredictor::from_dlib_bytes(&tiny_model()).unwrap();
        assert_eq!(model.num_points(), 1);
        // Unit frame = a 40x40 box at (10, 10): feature pixels at (20, 30) and (40, 30).
        let frame = Affine([[40.0, 0.0, 10.0], [0.0, 40.0, 10.0]]);
        let mut image = RgbImage::new(64, 64);
        image.put_pixel(20, 30, image::Rgb([90, 90, 90]));
        let bright_left = model.predict(&image, &frame);
        assert!((bright_left[0][0] - 40.0).abs() < 1e-4 && (bright_left[0][1] - 30.0).abs() < 1e-4);
        let dark = model.predict(&RgbImage::new(64, 64), &frame);
        assert!((dark[0][0] - 30.0).abs() < 1e-4 && (dark[0][1] - 40.0).abs() < 1e-4);
    }

    #[test]
    fn rejects_truncated_and_trailing_data() {
        let bytes = tiny_model();
        assert!(ShapePredictor::from_dlib_bytes(&bytes[..bytes.len() - 3]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ShapePredictor::from_dlib_bytes(&longer).is_err());
        assert!(ShapePredictor::from_dlib_bytes(&[]).is_err());
    }
}

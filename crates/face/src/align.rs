//! Five-point similarity alignment: least-squares (Umeyama) fit and a bilinear affine warp.

use image::RgbImage;

use crate::manifest::AlignmentTemplate;

/// Five facial landmarks in image pixels: left eye, right eye (as seen in the image), nose tip,
/// left mouth corner, right mouth corner.
pub type Landmarks = [[f32; 2]; 5];

/// ArcFace's 112x112 template (InsightFace `arcface_dst`).
pub const ARCFACE_112: Landmarks = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// dlib's `get_face_chip_details` targets for its 5-point shape model, in the unit face frame:
/// outer and inner corner of the image-right eye, outer and inner corner of the image-left eye,
/// bottom of the nose.
const DLIB_FIVE_POINT_TARGETS: [[f32; 2]; 5] = [
    [0.859_567_46, 0.213_498_15],
    [0.646_060_5, 0.228_967_44],
    [0.120_575_06, 0.213_727_45],
    [0.334_085_06, 0.229_064_24],
    [0.490_112_3, 0.627_797_5],
];

/// A 2x3 affine matrix `[a, b, tx; c, d, ty]` mapping (x, y) to (a x + b y + tx, c x + d y + ty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [[f32; 3]; 2]);

impl Affine {
    /// Applies the transform to a point.
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let m = &self.0;
        [
            m[0][0] * p[0] + m[0][1] * p[1] + m[0][2],
            m[1][0] * p[0] + m[1][1] * p[1] + m[1][2],
        ]
    }

    /// The inverse transform (None when singular).
    pub fn inverse(&self) -> Option<Self> {
        let [[a, b, tx], [c, d, ty]] = self.0;
        let det = a * d - b * c;
        if det.abs() < 1e-12 {
            return None;
        }
        let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
        Some(Self([
            [ia, ib, -(ia * tx + ib * ty)],
            [ic, id, -(ic * tx + id * ty)],
        ]))
    }

    /// Scale factor of a similarity transform.
    pub fn scale(&self) -> f32 {
        (self.0[0][0] * self.0[0][0] + self.0[1][0] * self.0[1][0]).sqrt()
    }
}

/// Least-squares similarity transform (rotation, uniform scale, translation) mapping `from`
/// onto `to` (Umeyama 1991, closed form in 2-D). None when the source points coincide.
pub fn similarity_transform(from: &[[f32; 2]], to: &[[f32; 2]]) -> Option<Affine> {
    let n = from.len().min(to.len());
    if n < 2 {
        return None;
    }
    let count = n as f64;
    let mean = |points: &[[f32; 2]]| {
        let (sx, sy) = points[..n].iter().fold((0f64, 0f64), |(sx, sy), p| {
            (sx + f64::from(p[0]), sy + f64::from(p[1]))
        });
        (sx / count, sy / count)
    };
    let (fx, fy) = mean(from);
    let (tx, ty) = mean(to);
    // a = sum(x'u + y'v), b = sum(x'v - y'u) over centred points, var = sum(x'^2 + y'^2).
    let (mut a, mut b, mut variance) = (0f64, 0f64, 0f64);
    for (p, q) in from[..n].iter().zip(&to[..n]) {
        let (x, y) = (f64::from(p[0]) - fx, f64::from(p[1]) - fy);
        let (u, v) = (f64::from(q[0]) - tx, f64::from(q[1]) - ty);
        a += x * u + y * v;
        b += x * v - y * u;
        variance += x * x + y * y;
    }
    if variance < 1e-12 {
        return None;
    }
    // Rotation-scale [[c, -s], [s, c]] with c = a/var, s = b/var minimises the squared error.
    let c = a / variance;
    let s = b / variance;
    let offset_x = tx - (c * fx - s * fy);
    let offset_y = ty - (s * fx + c * fy);
    Some(Affine([
        [c as f32, -s as f32, offset_x as f32],
        [s as f32, c as f32, offset_y as f32],
    ]))
}

/// Target landmark positions and output size for a template.
pub fn template_points(template: AlignmentTemplate) -> (Landmarks, usize) {
    match template {
        AlignmentTemplate::Arcface { size } => {
            let factor = size as f32 / 112.0;
            (ARCFACE_112.map(|[x, y]| [x * factor, y * factor]), size)
        }
        AlignmentTemplate::DlibChip { size, padding } => (dlib_chip_template(size, padding), size),
    }
}

/// Five-point targets in dlib's chip frame: eye centres at the midpoints of dlib's eye-corner
/// targets; nose tip and mouth corners placed by the ArcFace template's geometry relative to the
/// eyes (the similarity that maps ArcFace's eye centres onto dlib's).
fn dlib_chip_template(size: usize, padding: f32) -> Landmarks {
    let to_chip = |[x, y]: [f32; 2]| {
        let factor = size as f32 / (1.0 + 2.0 * padding);
        [(padding + x) * factor, (padding + y) * factor]
    };
    let t = DLIB_FIVE_POINT_TARGETS.map(to_chip);
    let left_eye = [(t[2][0] + t[3][0]) / 2.0, (t[2][1] + t[3][1]) / 2.0];
    let right_eye = [(t[0][0] + t[1][0]) / 2.0, (t[0][1] + t[1][1]) / 2.0];
    match similarity_transform(&ARCFACE_112[..2], &[left_eye, right_eye]) {
        Some(eyes_to_chip) => ARCFACE_112.map(|p| eyes_to_chip.apply(p)),
        // Unreachable for these constants (distinct eye points); keep ArcFace scaled as a fallback.
        None => ARCFACE_112.map(|[x, y]| [x * size as f32 / 112.0, y * size as f32 / 112.0]),
    }
}

/// dlib's five-point targets (`get_face_chip_details`) in chip pixels: outer and inner corner of
/// the image-right eye, outer and inner corner of the image-left eye, bottom of the nose — the
/// order of dlib's 5-point shape model.
pub fn dlib_five_point_targets(size: usize, padding: f32) -> [[f32; 2]; 5] {
    let factor = size as f32 / (1.0 + 2.0 * padding);
    DLIB_FIVE_POINT_TARGETS.map(|[x, y]| [(padding + x) * factor, (padding + y) * factor])
}

/// Warps `source` into a `size` x `size` chip so that `points` land on `targets` (least-squares
/// similarity). Returns the chip and the image-to-chip transform.
pub fn align_points(
    source: &RgbImage,
    points: &[[f32; 2]],
    targets: &[[f32; 2]],
    size: usize,
) -> Option<(RgbImage, Affine)> {
    let to_chip = similarity_transform(points, targets)?;
    let to_source = to_chip.inverse()?;
    Some((warp_affine(source, &to_source, size, size), to_chip))
}

/// Warps `source` into a `size` x `size` chip so that `landmarks` land on the template
/// (bilinear, black outside). Returns the chip and the image-to-chip transform.
pub fn align_face(
    source: &RgbImage,
    landmarks: &Landmarks,
    template: AlignmentTemplate,
) -> Option<(RgbImage, Affine)> {
    let (targets, size) = template_points(template);
    align_points(source, landmarks, &targets, size)
}

/// Samples `source` at `to_source(x, y)` for every output pixel (bilinear, black outside).
pub fn warp_affine(source: &RgbImage, to_source: &Affine, out_w: usize, out_h: usize) -> RgbImage {
    let (w, h) = (source.width() as i64, source.height() as i64);
    let raw = source.as_raw();
    let stride = source.width() as usize * 3;
    let mut out = vec![0u8; out_w * out_h * 3];
    let [[a, b, tx], [c, d, ty]] = to_source.0;
    for oy in 0..out_h {
        let row_x = b * oy as f32 + tx;
        let row_y = d * oy as f32 + ty;
        let out_row = &mut out[oy * out_w * 3..(oy + 1) * out_w * 3];
        for (ox, pixel) in out_row.chunks_exact_mut(3).enumerate() {
            let sx = a * ox as f32 + row_x;
            let sy = c * ox as f32 + row_y;
            let x0 = sx.floor();
            let y0 = sy.floor();
            let (xi, yi) = (x0 as i64, y0 as i64);
            if xi < -1 || yi < -1 || xi >= w || yi >= h {
                continue;
            }
            let fx = sx - x0;
            let fy = sy - y0;
            if xi >= 0 && yi >= 0 && xi + 1 < w && yi + 1 < h {
                // Fast path: all four neighbours inside.
                let p00 = yi as usize * stride + xi as usize * 3;
                let p10 = p00 + 3;
                let p01 = p00 + stride;
                let p11 = p01 + 3;
                for ch in 0..3 {
                    let top = f32::from(raw[p00 + ch])
                        + fx * (f32::from(raw[p10 + ch]) - f32::from(raw[p00 + ch]));
                    let bottom = f32::from(raw[p01 + ch])
                        + fx * (f32::from(raw[p11 + ch]) - f32::from(raw[p01 + ch]));
                    pixel[ch] = (top + fy * (bottom - top) + 0.5).clamp(0.0, 255.0) as u8;
                }
            } else {
                let mut acc = [0f32; 3];
                for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
                    for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                        let (px, py) = (xi + dx, yi + dy);
                        if px < 0 || py < 0 || px >= w || py >= h {
                            continue;
                        }
                        let p = py as usize * stride + px as usize * 3;
                        for ch in 0..3 {
                            acc[ch] += wx * wy * f32::from(raw[p + ch]);
                        }
                    }
                }
                for ch in 0..3 {
                    pixel[ch] = (acc[ch] + 0.5).clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    // The buffer has exactly out_w * out_h * 3 bytes, so from_raw cannot fail; fall back to black.
    RgbImage::from_raw(out_w as u32, out_h as u32, out)
        .unwrap_or_else(|| RgbImage::new(out_w as u32, out_h as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umeyama_recovers_a_known_similarity() {
        let angle = 0.3f32;
        let scale = 1.7f32;
        let truth = Affine([
            [scale * angle.cos(), -scale * angle.sin(), 12.0],
            [scale * angle.sin(), scale * angle.cos(), -5.0],
        ]);
        let from = ARCFACE_112;
        let to = from.map(|p| truth.apply(p));
        let fitted = similarity_transform(&from, &to).unwrap();
        for (row_f, row_t) in fitted.0.iter().zip(truth.0.iter()) {
            for (f, t) in row_f.iter().zip(row_t.iter()) {
                assert!((f - t).abs() < 1e-3, "{fitted:?} vs {truth:?}");
            }
        }
        assert!((fitted.scale() - scale).abs() < 1e-4);
        let back = fitted.inverse().unwrap().apply(to[2]);
        assert!((back[0] - from[2][0]).abs() < 1e-3 && (back[1] - from[2][1]).abs() < 1e-3);
    }

    #[test]
    fn coincident_points_have_no_transform() {
        assert!(similarity_transform(&[[1.0, 1.0]; 5], &ARCFACE_112).is_none());
    }

    #[test]
    fn dlib_template_puts_eyes_at_dlib_positions() {
        let (points, size) = template_points(AlignmentTemplate::DlibChip {
            size: 150,
            padding: 0.25,
        });
        assert_eq!(size, 150);
        // Midpoint of dlib's image-left eye corners: ((0.1206 + 0.3341) / 2 + 0.25) * 100.
        assert!((points[0][0] - 47.733).abs() < 0.01, "{points:?}");
        assert!((points[1][0] - 100.281).abs() < 0.01, "{points:?}");
        // The nose tip lies above dlib's nose-bottom target (y = 87.8).
        assert!(points[2][1] < 87.8 && points[2][1] > 70.0, "{points:?}");
    }

    #[test]
    fn warp_with_translation_moves_pixels() {
        let mut source = RgbImage::new(10, 10);
        source.put_pixel(5, 4, image::Rgb([200, 100, 50]));
        let shift = Affine([[1.0, 0.0, 3.0], [0.0, 1.0, 2.0]]);
        let out = warp_affine(&source, &shift, 8, 8);
        assert_eq!(out.get_pixel(2, 2).0, [200, 100, 50]);
        assert_eq!(out.get_pixel(3, 2).0, [0, 0, 0]);
        // Outside the source is black, not garbage.
        let far = Affine([[1.0, 0.0, 100.0], [0.0, 1.0, 100.0]]);
        assert!(
            warp_affine(&source, &far, 4, 4)
                .as_raw()
                .iter()
                .all(|&v| v == 0)
        );
    }
}

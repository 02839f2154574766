//! Image decoding (JPEG, PNG, JPEG 2000) and the resampling used before inference.

use image::RgbImage;

use crate::error::{FaceError, Result};
use crate::manifest::{ColourOrder, InputSpec, TensorLayout};

const JP2_SIGNATURE: &[u8] = b"\x00\x00\x00\x0C\x6A\x50\x20\x20";
const J2K_SIGNATURE: &[u8] = b"\xFF\x4F\xFF\x51";

/// Container formats recognised by [`decode_image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (JFIF/EXIF).
    Jpeg,
    /// PNG.
    Png,
    /// JPEG 2000 in a JP2 container.
    Jp2,
    /// A bare JPEG 2000 codestream (starts FF4FFF51), as found in some ePassport DG2s.
    J2k,
}

/// Recognises the format by its signature bytes.
pub fn sniff_format(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(JP2_SIGNATURE) {
        Some(ImageFormat::Jp2)
    } else if bytes.starts_with(J2K_SIGNATURE) {
        Some(ImageFormat::J2k)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else {
        None
    }
}

/// Decodes JPEG, PNG, JP2 or a bare J2K codestream into 8-bit RGB.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage> {
    match sniff_format(bytes) {
        Some(ImageFormat::Jp2) => decode_jpeg2000(bytes, "JP2"),
        Some(ImageFormat::J2k) => decode_jpeg2000(bytes, "J2K"),
        Some(format @ (ImageFormat::Jpeg | ImageFormat::Png)) => {
            let name = if format == ImageFormat::Jpeg {
                "JPEG"
            } else {
                "PNG"
            };
            image::load_from_memory(bytes)
                .map(|decoded| decoded.to_rgb8())
                .map_err(|e| FaceError::ImageDecode {
                    format: name,
                    message: e.to_string(),
                })
        }
        None => Err(FaceError::ImageDecode {
            format: "unknown",
            message: "not a JPEG, PNG, JP2 or J2K file (signature not recognised)".into(),
        }),
    }
}

fn decode_jpeg2000(bytes: &[u8], format: &'static str) -> Result<RgbImage> {
    let error = |message: String| FaceError::ImageDecode { format, message };
    let image = hayro_jpeg2000::Image::new(bytes, &hayro_jpeg2000::DecodeSettings::default())
        .map_err(|e| error(format!("{e:?}")))?;
    let (width, height) = (image.width(), image.height());
    let channels = usize::from(image.color_space().num_channels()) + usize::from(image.has_alpha());
    let gray = matches!(image.color_space(), hayro_jpeg2000::ColorSpace::Gray);
    let rgb_like = matches!(image.color_space(), hayro_jpeg2000::ColorSpace::RGB)
        || matches!(
            image.color_space(),
            hayro_jpeg2000::ColorSpace::Icc {
                num_channels: 3,
                ..
            }
        );
    let gray_like = gray
        || matches!(
            image.color_space(),
            hayro_jpeg2000::ColorSpace::Icc {
                num_channels: 1,
                ..
            }
        );
    if !rgb_like && !gray_like {
        return Err(error(format!(
            "unsupported colour space {:?}",
            image.color_space().num_channels()
        )));
    }
    let mut context = hayro_jpeg2000::DecoderContext::default();
    let decoded = image
        .decode(&mut context)
        .map_err(|e| error(format!("{e:?}")))?;
    let samples = decoded.data_u8();
    let pixel_count = usize::try_from(u64::from(width) * u64::from(height)).unwrap_or(usize::MAX);
    if samples.len() != pixel_count.saturating_mul(channels) {
        return Err(error(format!(
            "decoder returned {} samples for {width}x{height}x{channels}",
            samples.len()
        )));
    }
    let mut rgb = Vec::with_capacity(pixel_count * 3);
    for pixel in samples.chunks_exact(channels) {
        if gray_like {
            rgb.extend_from_slice(&[pixel[0], pixel[0], pixel[0]]);
        } else {
            rgb.extend_from_slice(&pixel[..3]);
        }
    }
    RgbImage::from_raw(width, height, rgb).ok_or_else(|| error("buffer size mismatch".into()))
}

/// An axis-aligned box in pixel coordinates (x1, y1) top-left, (x2, y2) bottom-right, exclusive.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BoxF {
    /// Left.
    pub x1: f32,
    /// Top.
    pub y1: f32,
    /// Right.
    pub x2: f32,
    /// Bottom.
    pub y2: f32,
}

impl BoxF {
    /// Width.
    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }
    /// Height.
    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }
    /// Area (0 for degenerate boxes).
    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    /// Intersection over union.
    pub fn iou(&self, other: &Self) -> f32 {
        let inter = self.intersection(other);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
    /// Intersection area.
    pub fn intersection(&self, other: &Self) -> f32 {
        let w = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let h = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        w * h
    }
    /// The square with the same centre and the longer side.
    pub fn to_square(&self) -> Self {
        let side = self.width().max(self.height());
        let cx = (self.x1 + self.x2) / 2.0;
        let cy = (self.y1 + self.y2) / 2.0;
        Self {
            x1: cx - side / 2.0,
            y1: cy - side / 2.0,
            x2: cx + side / 2.0,
            y2: cy + side / 2.0,
        }
    }
}

/// Crops `region` of `source` (zero outside the image) and resamples it to `out_w` x `out_h`:
/// area averaging when shrinking, bilinear when enlarging. Returns interleaved RGB as f32.
pub fn crop_resize(source: &RgbImage, region: BoxF, out_w: usize, out_h: usize) -> Vec<f32> {
    let mut out = vec![0f32; out_w * out_h * 3];
    if out_w == 0 || out_h == 0 || region.width() <= 0.0 || region.height() <= 0.0 {
        return out;
    }
    let scale_x = region.width() / out_w as f32;
    let scale_y = region.height() / out_h as f32;
    let (w, h) = (source.width() as usize, source.height() as usize);
    let raw = source.as_raw();
    if scale_x > 1.0 || scale_y > 1.0 {
        // Separable area averaging: rows first into a (out_h x w) buffer, then columns. Same
        // weights as the 2-D footprint (the weights are a product of the two axes).
        let columns = area_weights(region.x1, scale_x, out_w, w);
        let rows = area_weights(region.y1, scale_y, out_h, h);
        // Only the source columns the region covers.
        let first_column = columns
            .iter()
            .flatten()
            .map(|(sx, _)| *sx)
            .min()
            .unwrap_or(0);
        let last_column = columns
            .iter()
            .flatten()
            .map(|(sx, _)| *sx + 1)
            .max()
            .unwrap_or(0);
        let span = last_column.saturating_sub(first_column) * 3;
        let mut vertical = vec![0f32; out_h * span];
        for (oy, row_weights) in rows.iter().enumerate() {
            let target = &mut vertical[oy * span..(oy + 1) * span];
            for &(sy, wy) in row_weights {
                let start = (sy * w + first_column) * 3;
                let source = &raw[start..start + span];
                for (t, &v) in target.iter_mut().zip(source) {
                    *t += wy * f32::from(v);
                }
            }
        }
        for oy in 0..out_h {
            let line = &vertical[oy * span..(oy + 1) * span];
            for (ox, column_weights) in columns.iter().enumerate() {
                let mut acc = [0f32; 3];
                for &(sx, wx) in column_weights {
                    let p = (sx - first_column) * 3;
                    acc[0] += wx * line[p];
                    acc[1] += wx * line[p + 1];
                    acc[2] += wx * line[p + 2];
                }
                let o = (oy * out_w + ox) * 3;
                out[o..o + 3].copy_from_slice(&acc);
            }
        }
    } else {
        for oy in 0..out_h {
            let sy = region.y1 + (oy as f32 + 0.5) * scale_y - 0.5;
            for ox in 0..out_w {
                let sx = region.x1 + (ox as f32 + 0.5) * scale_x - 0.5;
                let o = (oy * out_w + ox) * 3;
                let pixel = bilinear_zero_padded(raw, w, h, sx, sy);
                out[o..o + 3].copy_from_slice(&pixel);
            }
        }
    }
    out
}

/// For each output index, the source indices overlapping its footprint and their weights
/// (normalised over the footprint, so pixels outside the image count as black).
fn area_weights(start: f32, scale: f32, out_len: usize, src_len: usize) -> Vec<Vec<(usize, f32)>> {
    (0..out_len)
        .map(|o| {
            let a = start + o as f32 * scale;
            let b = a + scale;
            let first = a.floor().max(0.0) as usize;
            let last = (b.ceil().max(0.0) as usize).min(src_len);
            (first..last)
                .filter_map(|s| {
                    let overlap = (b.min(s as f32 + 1.0) - a.max(s as f32)).max(0.0);
                    (overlap > 0.0).then_some((s, overlap / scale))
                })
                .collect()
        })
        .collect()
}

fn bilinear_zero_padded(raw: &[u8], w: usize, h: usize, x: f32, y: f32) -> [f32; 3] {
    let x0 = x.floor();
    let y0 = y.floor();
    let fx = x - x0;
    let fy = y - y0;
    let mut acc = [0f32; 3];
    for (dy, wy) in [(0i64, 1.0 - fy), (1, fy)] {
        for (dx, wx) in [(0i64, 1.0 - fx), (1, fx)] {
            let sx = x0 as i64 + dx;
            let sy = y0 as i64 + dy;
            if sx < 0 || sy < 0 || sx >= w as i64 || sy >= h as i64 {
                continue;
            }
            let p = (sy as usize * w + sx as usize) * 3;
            let weight = wx * wy;
            acc[0] += weight * f32::from(raw[p]);
            acc[1] += weight * f32::from(raw[p + 1]);
            acc[2] += weight * f32::from(raw[p + 2]);
        }
    }
    acc
}

/// Writes one interleaved-RGB image (`width` x `height`, values 0..255) into a tensor buffer
/// according to `spec` (layout, colour order, normalisation), at batch slot `slot`.
pub fn write_tensor(
    rgb: &[f32],
    width: usize,
    height: usize,
    spec: &InputSpec,
    slot: usize,
    tensor: &mut [f32],
) {
    write_tensor_from(rgb, width, height, spec, slot, tensor, |v| v);
}

/// [`write_tensor`] straight from 8-bit pixels (no intermediate f32 image).
pub fn write_tensor_u8(image: &RgbImage, spec: &InputSpec, slot: usize, tensor: &mut [f32]) {
    let (width, height) = (image.width() as usize, image.height() as usize);
    write_tensor_from(image.as_raw(), width, height, spec, slot, tensor, f32::from);
}

/// The layout/colour/normalisation logic of [`write_tensor`], hoisted out of the pixel loop.
fn write_tensor_from<T: Copy>(
    rgb: &[T],
    width: usize,
    height: usize,
    spec: &InputSpec,
    slot: usize,
    tensor: &mut [f32],
    to_f32: impl Fn(T) -> f32,
) {
    let plane = width * height;
    let base = slot * plane * 3;
    let pixels = plane.min(rgb.len() / 3);
    let Some(target) = tensor.get_mut(base..base + plane * 3) else {
        return;
    };
    // value = pixel * scale[c] + offset[c], reading source channel source[c] for tensor channel c.
    let source = match spec.colour {
        ColourOrder::Rgb => [0, 1, 2],
        ColourOrder::Bgr => [2, 1, 0],
    };
    let scale = spec.std.map(|s| 1.0 / s);
    let offset = [0, 1, 2].map(|c| -spec.mean[c] * scale[c]);
    match spec.layout {
        TensorLayout::Nchw => {
            let (first, rest) = target.split_at_mut(plane);
            let (second, third) = rest.split_at_mut(plane);
            for (c, channel) in [first, second, third].into_iter().enumerate() {
                let (s, k, o) = (source[c], scale[c], offset[c]);
                for (i, value) in channel.iter_mut().take(pixels).enumerate() {
                    *value = to_f32(rgb[i * 3 + s]) * k + o;
                }
            }
        }
        TensorLayout::Nhwc => {
            for (i, value) in target.chunks_exact_mut(3).take(pixels).enumerate() {
                for c in 0..3 {
                    value[c] = to_f32(rgb[i * 3 + source[c]]) * scale[c] + offset[c];
                }
            }
        }
        TensorLayout::Nwhc => {
            for y in 0..height {
                for x in 0..width {
                    let p = (y * width + x) * 3;
                    let t = (x * height + y) * 3;
                    if p + 2 >= rgb.len() {
                        continue;
                    }
                    for c in 0..3 {
                        target[t + c] = to_f32(rgb[p + source[c]]) * scale[c] + offset[c];
                    }
                }
            }
        }
    }
}

/// Tensor shape for `batch` images of `width` x `height` in the given layout.
pub fn tensor_shape(layout: TensorLayout, batch: usize, width: usize, height: usize) -> [usize; 4] {
    match layout {
        TensorLayout::Nchw => [batch, 3, height, width],
        TensorLayout::Nhwc => [batch, height, width, 3],
        TensorLayout::Nwhc => [batch, width, height, 3],
    }
}

/// Converts an 8-bit RGB image to the f32 interleaved buffer used by [`write_tensor`].
pub fn rgb_to_f32(image: &RgbImage) -> Vec<f32> {
    image.as_raw().iter().map(|&v| f32::from(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_signatures() {
        assert_eq!(
            sniff_format(b"\xFF\x4F\xFF\x51rest"),
            Some(ImageFormat::J2k)
        );
        assert_eq!(
            sniff_format(b"\x00\x00\x00\x0C\x6A\x50\x20\x20\x0D\x0A"),
            Some(ImageFormat::Jp2)
        );
        assert_eq!(sniff_format(b"\xFF\xD8\xFF\xE0"), Some(ImageFormat::Jpeg));
        assert_eq!(sniff_format(b"GIF89a"), None);
        assert!(decode_image(b"GIF89a").is_err());
    }

    #[test]
    fn area_resize_of_uniform_image_keeps_value_and_pads_black() {
        let image = RgbImage::from_pixel(40, 40, image::Rgb([100, 150, 200]));
        let inside = crop_resize(
            &image,
            BoxF {
                x1: 0.0,
                y1: 0.0,
                x2: 40.0,
                y2: 40.0,
            },
            10,
            10,
        );
        assert!(
            inside
                .chunks(3)
                .all(|p| (p[0] - 100.0).abs() < 1e-3 && (p[2] - 200.0).abs() < 1e-3)
        );
        // Half of the region lies left of the image: the left half of the output is black.
        let padded = crop_resize(
            &image,
            BoxF {
                x1: -40.0,
                y1: 0.0,
                x2: 40.0,
                y2: 40.0,
            },
            8,
            4,
        );
        assert!(padded[0].abs() < 1e-3);
        assert!((padded[(3 * 8 + 7) * 3] - 100.0).abs() < 1e-3);
    }

    #[test]
    fn tensor_layouts_place_values() {
        let spec = InputSpec {
            name: None,
            layout: TensorLayout::Nchw,
            colour: ColourOrder::Bgr,
            mean: [0.0; 3],
            std: [1.0; 3],
            batch: 1,
            size: None,
        };
        // 2x1 image: pixel0 = (1,2,3), pixel1 = (4,5,6)
        let rgb = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut tensor = vec![0.0; 6];
        write_tensor(&rgb, 2, 1, &spec, 0, &mut tensor);
        assert_eq!(tensor, vec![3.0, 6.0, 2.0, 5.0, 1.0, 4.0]);
        let nwhc = InputSpec {
            layout: TensorLayout::Nwhc,
            colour: ColourOrder::Rgb,
            ..spec
        };
        // 1x2 image (one column, two rows): NWHC puts rows innermost before channels.
        write_tensor(&rgb, 1, 2, &nwhc, 0, &mut tensor);
        assert_eq!(tensor, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }
}

//! A chip-style vs live-style evaluation set built from a public face data set (LFW layout:
//! `Name/Name_NNNN.jpg`, deep-funneled 250x250 images), deterministically.
//!
//! At the gate the reference is the document's chip photo (ICAO Doc 9303 DG2: a small, strongly
//! compressed portrait in the ISO/IEC 19794-5 frontal framing, JPEG or JPEG 2000) and the probe is
//! a camera frame (gate distance, sensor noise, exposure, motion). Comparing two press photos
//! (LFW against LFW) hides what that costs. For every image of the pairs this module writes:
//!
//! - a **chip rendition** (`chip/<Name>/<Name>_NNNN.jp2` or `.jpg`): the ICAO token framing
//!   (inter-eye distance a quarter of the width, eye line at 0.6 widths from the top, 35:45
//!   aspect) cut around the data set's mean eye position with a few pixels of per-image jitter,
//!   then compressed to [`ChipLiveRecipe::chip_bits_per_pixel`] (0.5 by default: a 16 KB
//!   480x640 chip photo has about 0.42 bits per pixel; the same framing at LFW's resolution gets
//!   the same bits per pixel), JPEG 2000 for half of the people (by a hash of the name) and
//!   baseline JPEG for the other half, as documents in circulation use both;
//! - a **live rendition** (`live/<Name>/<Name>_NNNN.jpg`): the photo scaled by 0.75-1.05 and
//!   placed off-centre on a 640x480 frame over a plain, noisy background with a feathered edge,
//!   then exposure gain 0.6-1.3, gamma 0.8-1.25, a white-balance cast of ±8 % per channel, linear
//!   motion blur of 0-5 pixels at a random angle, Gaussian sensor noise of sigma 1.5-5 grey
//!   levels, and MJPEG-like compression at quality 85.
//!
//! Every random choice is drawn from a generator seeded with the image's relative path and the
//! recipe version, so the same inputs give byte-identical outputs (JPEG 2000 through Debian's
//! `opj_compress`, OpenJPEG 2.5). The pairs file written beside them (`pairs.tsv`) holds each
//! listed pair in both directions (chip of one image, live rendition of the other); evaluations
//! add every chip against every live image of other people as impostor comparisons.
//!
//! The images are derived from the source data set and carry its terms: never commit them.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{Rgb, RgbImage, imageops};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{FaceError, Result};
use crate::eval::Pair;

/// Version of the recipe; part of every seed, so changing it changes every image.
pub const RECIPE_VERSION: &str = "chip-live-v1";

/// The parameters of the set (see the module documentation for their meaning).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChipLiveRecipe {
    /// Mean eye-centre midpoint of the source images, pixels (x, y).
    pub source_eye_midpoint: [f32; 2],
    /// Mean inter-eye distance of the source images, pixels.
    pub source_inter_eye_px: f32,
    /// Per-image framing jitter, pixels (uniform in ±this).
    pub chip_jitter_px: f32,
    /// Compressed size of a chip photo in bits per pixel.
    pub chip_bits_per_pixel: f32,
    /// Camera frame size (width, height).
    pub live_frame: [u32; 2],
    /// Scale range of the face in the frame relative to the source.
    pub live_scale: [f32; 2],
    /// Exposure gain range.
    pub live_gain: [f32; 2],
    /// Gamma range.
    pub live_gamma: [f32; 2],
    /// Largest white-balance deviation per channel (fraction).
    pub live_white_balance: f32,
    /// Largest motion-blur length, pixels.
    pub live_motion_blur_px: f32,
    /// Sensor noise sigma range, grey levels.
    pub live_noise_sigma: [f32; 2],
    /// JPEG quality of the camera frame.
    pub live_jpeg_quality: u8,
}

impl Default for ChipLiveRecipe {
    fn default() -> Self {
        Self {
            // LFW deep-funneled: mean over 1,643 of the View 2 images (every seventh) with the
            // default detector: eye midpoint (125.4, 112.5), inter-eye distance 42.2 (median 42.2).
            source_eye_midpoint: [125.0, 113.0],
            source_inter_eye_px: 42.0,
            chip_jitter_px: 3.0,
            chip_bits_per_pixel: 0.5,
            live_frame: [640, 480],
            live_scale: [0.75, 1.05],
            live_gain: [0.6, 1.3],
            live_gamma: [0.8, 1.25],
            live_white_balance: 0.08,
            live_motion_blur_px: 5.0,
            live_noise_sigma: [1.5, 5.0],
            live_jpeg_quality: 85,
        }
    }
}

/// Which codec a chip rendition uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChipCodec {
    /// JPEG 2000 in a JP2 file.
    Jpeg2000,
    /// Baseline JPEG.
    Jpeg,
}

/// A small deterministic generator (SplitMix64): enough for image jitter, reproducible
/// everywhere without a dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded from the sha256 of `label`.
    pub fn from_label(label: &str) -> Self {
        let digest = Sha256::digest(label.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Self(u64::from_le_bytes(seed))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [low, high).
    pub fn between(&mut self, [low, high]: [f32; 2]) -> f32 {
        low + (high - low) * self.unit()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }
}

/// The chip rendition of one source image: the encoded bytes and the codec.
pub fn chip_rendition(
    source: &RgbImage,
    label: &str,
    recipe: &ChipLiveRecipe,
    scratch: &Path,
) -> Result<(Vec<u8>, ChipCodec)> {
    let mut rng = SplitMix64::from_label(&format!("{RECIPE_VERSION}/chip/{label}"));
    let width = (4.0 * recipe.source_inter_eye_px).round();
    let height = (width * 45.0 / 35.0).round();
    let [eye_x, eye_y] = recipe.source_eye_midpoint;
    let jitter = [-recipe.chip_jitter_px, recipe.chip_jitter_px];
    let x0 = (eye_x - width / 2.0 + rng.between(jitter)).round();
    let y0 = (eye_y - 0.6 * width + rng.between(jitter)).round();
    let crop = crop_clamped(source, x0 as i64, y0 as i64, width as u32, height as u32);
    let codec = if identity_hash(label).is_multiple_of(2) {
        ChipCodec::Jpeg2000
    } else {
        ChipCodec::Jpeg
    };
    let budget = (f64::from(crop.width() * crop.height()) * f64::from(recipe.chip_bits_per_pixel)
        / 8.0)
        .round() as usize;
    let bytes = match codec {
        ChipCodec::Jpeg2000 => encode_jp2(&crop, recipe.chip_bits_per_pixel, scratch)?,
        ChipCodec::Jpeg => encode_jpeg_within(&crop, budget)?,
    };
    Ok((bytes, codec))
}

/// The live (camera-style) rendition of one source image, JPEG-encoded.
pub fn live_rendition(source: &RgbImage, label: &str, recipe: &ChipLiveRecipe) -> Result<Vec<u8>> {
    let mut rng = SplitMix64::from_label(&format!("{RECIPE_VERSION}/live/{label}"));
    let [frame_w, frame_h] = recipe.live_frame;
    // Background: a plain wall with a gentle gradient.
    let base = [
        rng.between([70.0, 190.0]),
        rng.between([70.0, 190.0]),
        rng.between([70.0, 190.0]),
    ];
    let slope = rng.between([-0.08, 0.08]);
    let mut frame = RgbImage::from_fn(frame_w, frame_h, |x, y| {
        let shade =
            1.0 + slope * (x as f32 / frame_w as f32 - 0.5) - 0.05 * (y as f32 / frame_h as f32);
        Rgb(base.map(|c| (c * shade).clamp(0.0, 255.0) as u8))
    });
    // The traveller: scaled, off-centre, edges feathered into the wall.
    let scale = rng.between(recipe.live_scale);
    let side_w = (source.width() as f32 * scale).round().max(8.0) as u32;
    let side_h = (source.height() as f32 * scale).round().max(8.0) as u32;
    let person = imageops::resize(source, side_w, side_h, imageops::FilterType::Triangle);
    let dx = rng.between([-60.0, 60.0]).round() as i64;
    let dy = rng.between([-30.0, 30.0]).round() as i64;
    let left = (i64::from(frame_w) - i64::from(side_w)) / 2 + dx;
    let top = (i64::from(frame_h) - i64::from(side_h)) / 2 + dy;
    let feather = (side_w.min(side_h) as f32 * 0.08).max(1.0);
    for y in 0..side_h {
        for x in 0..side_w {
            let (fx, fy) = (left + i64::from(x), top + i64::from(y));
            if fx < 0 || fy < 0 || fx >= i64::from(frame_w) || fy >= i64::from(frame_h) {
                continue;
            }
            let edge = (x.min(side_w - 1 - x).min(y).min(side_h - 1 - y)) as f32;
            let alpha = (edge / feather).clamp(0.0, 1.0);
            let p = person.get_pixel(x, y).0;
            let q = frame.get_pixel_mut(fx as u32, fy as u32);
            for (out, source) in q.0.iter_mut().zip(p) {
                *out = (f32::from(source) * alpha + f32::from(*out) * (1.0 - alpha)).round() as u8;
            }
        }
    }
    // Optics and sensor: exposure, tone, white balance, motion, noise.
    let gain = rng.between(recipe.live_gain);
    let gamma = rng.between(recipe.live_gamma);
    let balance = [0; 3]
        .map(|_: i32| 1.0 + rng.between([-recipe.live_white_balance, recipe.live_white_balance]));
    let blur_length = rng.between([0.0, recipe.live_motion_blur_px]);
    let blur_angle = rng.between([0.0, std::f32::consts::PI]);
    let sigma = rng.between(recipe.live_noise_sigma);
    let toned: Vec<f32> = frame
        .as_raw()
        .chunks_exact(3)
        .flat_map(|p| {
            [0, 1, 2].map(|c| {
                let linear = (f32::from(p[c]) / 255.0 * gain * balance[c]).clamp(0.0, 1.0);
                linear.powf(gamma) * 255.0
            })
        })
        .collect();
    let blurred = motion_blur(
        &toned,
        frame_w as usize,
        frame_h as usize,
        blur_length,
        blur_angle,
    );
    let noisy: Vec<u8> = blurred
        .iter()
        .map(|v| (v + sigma * rng.normal()).round().clamp(0.0, 255.0) as u8)
        .collect();
    let frame = RgbImage::from_raw(frame_w, frame_h, noisy)
        .ok_or_else(|| FaceError::Config("live frame buffer has the wrong size".into()))?;
    encode_jpeg(&frame, recipe.live_jpeg_quality)
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SetSummary {
    /// The recipe version.
    pub version: String,
    /// The parameters.
    pub recipe: ChipLiveRecipe,
    /// Source images rendered.
    pub images: usize,
    /// Chip renditions in JPEG 2000.
    pub chips_jpeg2000: usize,
    /// Chip renditions in JPEG.
    pub chips_jpeg: usize,
    /// Mean chip size, bytes.
    pub mean_chip_bytes: usize,
    /// Pairs written to `pairs.tsv` (each source pair in both directions).
    pub pairs: usize,
    /// sha256 over every output file's relative path and sha256, in path order: the same
    /// inputs give the same digest.
    pub digest: String,
    /// The OpenJPEG encoder used for JPEG 2000 (`opj_compress -h` first line).
    pub jpeg2000_encoder: String,
}

/// Renders the chip and live versions of every image of `pairs` (paths relative to
/// `source_dir`) into `out_dir` and writes `pairs.tsv` and `SET.toml` there.
pub fn generate(
    pairs: &[Pair],
    source_dir: &Path,
    out_dir: &Path,
    recipe: &ChipLiveRecipe,
    mut progress: impl FnMut(usize, usize),
) -> Result<SetSummary> {
    let images: BTreeSet<&str> = pairs
        .iter()
        .flat_map(|p| [p.image_a.as_str(), p.image_b.as_str()])
        .collect();
    let scratch = out_dir.join(".scratch");
    create_dir(&scratch)?;
    let mut chip_paths = std::collections::HashMap::new();
    let mut files: Vec<(String, String)> = Vec::new();
    let (mut jp2, mut jpeg, mut chip_bytes) = (0usize, 0usize, 0usize);
    for (done, image) in images.iter().enumerate() {
        let path = source_dir.join(image);
        let bytes = std::fs::read(&path).map_err(|source| FaceError::Io {
            path: path.clone(),
            source,
        })?;
        let source = crate::imaging::decode_image(&bytes)?;
        let (chip, codec) = chip_rendition(&source, image, recipe, &scratch)?;
        let extension = match codec {
            ChipCodec::Jpeg2000 => {
                jp2 += 1;
                "jp2"
            }
            ChipCodec::Jpeg => {
                jpeg += 1;
                "jpg"
            }
        };
        chip_bytes += chip.len();
        let chip_rel = format!("chip/{}", with_extension(image, extension));
        let live_rel = format!("live/{}", with_extension(image, "jpg"));
        let live = live_rendition(&source, image, recipe)?;
        for (rel, data) in [(&chip_rel, &chip), (&live_rel, &live)] {
            write_file(&out_dir.join(rel), data)?;
            files.push((rel.clone(), hex::encode(Sha256::digest(data))));
        }
        chip_paths.insert(*image, (chip_rel, live_rel));
        progress(done + 1, images.len());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let mut tsv = String::from("fold\timg_a\timg_b\tsame\n");
    let mut pair_count = 0;
    for pair in pairs {
        let (Some(a), Some(b)) = (
            chip_paths.get(pair.image_a.as_str()),
            chip_paths.get(pair.image_b.as_str()),
        ) else {
            continue;
        };
        for (chip, live) in [(&a.0, &b.1), (&b.0, &a.1)] {
            tsv.push_str(&format!(
                "{}\t{chip}\t{live}\t{}\n",
                pair.fold,
                u8::from(pair.same)
            ));
            pair_count += 1;
        }
    }
    write_file(&out_dir.join("pairs.tsv"), tsv.as_bytes())?;
    files.push((
        "pairs.tsv".into(),
        hex::encode(Sha256::digest(tsv.as_bytes())),
    ));
    files.sort();
    let mut digest = Sha256::new();
    for (path, hash) in &files {
        digest.update(path.as_bytes());
        digest.update(b"\t");
        digest.update(hash.as_bytes());
        digest.update(b"\n");
    }
    let summary = SetSummary {
        version: RECIPE_VERSION.into(),
        recipe: recipe.clone(),
        images: images.len(),
        chips_jpeg2000: jp2,
        chips_jpeg: jpeg,
        mean_chip_bytes: chip_bytes / images.len().max(1),
        pairs: pair_count,
        digest: hex::encode(digest.finalize()),
        jpeg2000_encoder: opj_version(),
    };
    let text = toml::to_string(&summary).map_err(|e| FaceError::Config(e.to_string()))?;
    write_file(
        &out_dir.join("SET.toml"),
        format!(
            "# Chip-style vs live-style evaluation set: derived images, never commit them.\n{text}"
        )
        .as_bytes(),
    )?;
    Ok(summary)
}

fn with_extension(path: &str, extension: &str) -> String {
    PathBuf::from(path)
        .with_extension(extension)
        .to_string_lossy()
        .into_owned()
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| FaceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    std::fs::write(path, data).map_err(|source| FaceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Stable hash of the person's name (the directory of `label`), so one person's chips all use
/// the same codec, like one issuing state.
fn identity_hash(label: &str) -> u64 {
    let name = label.split('/').next().unwrap_or(label);
    SplitMix64::from_label(name).next_u64()
}

/// Crops `width` x `height` at (x0, y0), replicating edge pixels outside the image.
fn crop_clamped(source: &RgbImage, x0: i64, y0: i64, width: u32, height: u32) -> RgbImage {
    let max_x = i64::from(source.width()) - 1;
    let max_y = i64::from(source.height()) - 1;
    RgbImage::from_fn(width, height, |x, y| {
        let sx = (x0 + i64::from(x)).clamp(0, max_x) as u32;
        let sy = (y0 + i64::from(y)).clamp(0, max_y) as u32;
        *source.get_pixel(sx, sy)
    })
}

/// Averages each pixel along a line of `length` pixels at `angle` (radians).
fn motion_blur(pixels: &[f32], width: usize, height: usize, length: f32, angle: f32) -> Vec<f32> {
    let taps = length.round() as i32;
    if taps < 1 {
        return pixels.to_vec();
    }
    let (sin, cos) = angle.sin_cos();
    let offsets: Vec<(i64, i64)> = (-taps..=taps)
        .map(|t| {
            let s = t as f32 / 2.0;
            ((s * cos).round() as i64, (s * sin).round() as i64)
        })
        .collect();
    let weight = 1.0 / offsets.len() as f32;
    let mut out = vec![0.0f32; pixels.len()];
    for y in 0..height as i64 {
        for x in 0..width as i64 {
            let mut sum = [0.0f32; 3];
            for (ox, oy) in &offsets {
                let sx = (x + ox).clamp(0, width as i64 - 1) as usize;
                let sy = (y + oy).clamp(0, height as i64 - 1) as usize;
                let index = (sy * width + sx) * 3;
                for (total, value) in sum.iter_mut().zip(&pixels[index..index + 3]) {
                    *total += value;
                }
            }
            let index = (y as usize * width + x as usize) * 3;
            for (value, total) in out[index..index + 3].iter_mut().zip(sum) {
                *value = total * weight;
            }
        }
    }
    out
}

fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .map_err(|e| FaceError::Config(format!("JPEG encoding failed: {e}")))?;
    Ok(bytes)
}

/// The highest JPEG quality whose file fits in `budget` bytes (quality 5 if none does).
fn encode_jpeg_within(image: &RgbImage, budget: usize) -> Result<Vec<u8>> {
    let (mut low, mut high) = (5u8, 95u8);
    let mut best = encode_jpeg(image, low)?;
    while low < high {
        let mid = (low + high).div_ceil(2);
        let bytes = encode_jpeg(image, mid)?;
        if bytes.len() <= budget {
            best = bytes;
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Ok(best)
}

/// JPEG 2000 (JP2 container) at `bits_per_pixel` through OpenJPEG's `opj_compress`.
fn encode_jp2(image: &RgbImage, bits_per_pixel: f32, scratch: &Path) -> Result<Vec<u8>> {
    let input = scratch.join("chip.ppm");
    let output = scratch.join("chip.jp2");
    let mut ppm = Vec::with_capacity(image.as_raw().len() + 32);
    let _ = write!(ppm, "P6\n{} {}\n255\n", image.width(), image.height());
    ppm.extend_from_slice(image.as_raw());
    write_file(&input, &ppm)?;
    let ratio = 24.0 / bits_per_pixel;
    let result = Command::new("opj_compress")
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["-r", &format!("{ratio:.3}")])
        .output()
        .map_err(|e| {
            FaceError::Config(format!(
                "cannot run opj_compress (Debian package libopenjp2-tools): {e}"
            ))
        })?;
    if !result.status.success() {
        return Err(FaceError::Config(format!(
            "opj_compress failed: {}",
            String::from_utf8_lossy(&result.stderr).trim()
        )));
    }
    std::fs::read(&output).map_err(|source| FaceError::Io {
        path: output,
        source,
    })
}

fn opj_version() -> String {
    Command::new("opj_compress")
        .arg("-h")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&o.stderr).lines())
                .find(|l| l.contains("openjp2 library"))
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face_like(width: u32, height: u32) -> RgbImage {
        // Smooth shading, as a face's: what a chip budget is sized for.
        RgbImage::from_fn(width, height, |x, y| {
            let v = 128.0 + 60.0 * (x as f32 / 20.0).sin() * (y as f32 / 25.0).cos();
            Rgb([v as u8, (v * 0.8) as u8, (255.0 - v) as u8])
        })
    }

    #[test]
    fn renditions_are_deterministic_and_differ_between_images() {
        let source = face_like(250, 250);
        let recipe = ChipLiveRecipe::default();
        let a = live_rendition(&source, "A/A_0001.jpg", &recipe).unwrap();
        let b = live_rendition(&source, "A/A_0001.jpg", &recipe).unwrap();
        let c = live_rendition(&source, "A/A_0002.jpg", &recipe).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let frame = crate::imaging::decode_image(&a).unwrap();
        assert_eq!((frame.width(), frame.height()), (640, 480));
    }

    #[test]
    fn jpeg_chips_fit_their_bit_budget_and_keep_the_icao_aspect() {
        let source = face_like(250, 250);
        let recipe = ChipLiveRecipe::default();
        let scratch = tempfile::tempdir().unwrap();
        // Find a name whose person gets JPEG.
        let label = (0..)
            .map(|i| format!("P{i}/P{i}_0001.jpg"))
            .find(|l| !identity_hash(l).is_multiple_of(2))
            .unwrap();
        let (bytes, codec) = chip_rendition(&source, &label, &recipe, scratch.path()).unwrap();
        assert_eq!(codec, ChipCodec::Jpeg);
        let chip = crate::imaging::decode_image(&bytes).unwrap();
        assert_eq!((chip.width(), chip.height()), (168, 216));
        let budget = 168.0 * 216.0 * recipe.chip_bits_per_pixel / 8.0;
        assert!((bytes.len() as f32) <= budget, "{} > {budget}", bytes.len());
        assert!(
            (bytes.len() as f32) > budget * 0.5,
            "{} << {budget}",
            bytes.len()
        );
    }

    #[test]
    fn the_generator_is_uniform_and_normal_enough() {
        let mut rng = SplitMix64::from_label("x");
        let n = 20_000;
        let mean = (0..n).map(|_| rng.unit()).sum::<f32>() / n as f32;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let normals: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        let variance = normals.iter().map(|v| v * v).sum::<f32>() / n as f32;
        assert!((variance - 1.0).abs() < 0.05, "{variance}");
    }
}

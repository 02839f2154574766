//! Fingerprint images: 256 x 288 pixels, 8-bit grey on the host, 4 bits per pixel on the wire.

use thiserror::Error;

/// Image width of the R30x sensor family.
pub const IMAGE_WIDTH: usize = 256;
/// Image height of the R30x sensor family.
pub const IMAGE_HEIGHT: usize = 288;
/// Bytes of an image on the wire (two pixels per byte, high nibble first).
pub const PACKED_IMAGE_LEN: usize = IMAGE_WIDTH * IMAGE_HEIGHT / 2;

/// Why image bytes could not be turned into a [`FingerImage`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Wrong number of bytes.
    #[error("fingerprint image needs {expected} bytes, got {got}")]
    WrongLength {
        /// Expected byte count.
        expected: usize,
        /// Received byte count.
        got: usize,
    },
}

/// A grey-scale fingerprint image (row major, 0 = black ridge, 255 = white background).
///
/// `Debug` prints only the size: images are biometric data and must not reach logs.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerImage {
    pixels: Vec<u8>,
}

impl std::fmt::Debug for FingerImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FingerImage({IMAGE_WIDTH}x{IMAGE_HEIGHT}, content redacted)"
        )
    }
}

impl FingerImage {
    /// An image from 8-bit pixels (`IMAGE_WIDTH * IMAGE_HEIGHT` bytes, row major).
    pub fn from_gray8(pixels: Vec<u8>) -> Result<Self, ImageError> {
        let expected = IMAGE_WIDTH * IMAGE_HEIGHT;
        if pixels.len() != expected {
            return Err(ImageError::WrongLength {
                expected,
                got: pixels.len(),
            });
        }
        Ok(FingerImage { pixels })
    }

    /// An image whose pixel at column `x`, row `y` is `pixel(x, y)`, called in row-major
    /// order.
    pub fn from_fn(mut pixel: impl FnMut(usize, usize) -> u8) -> Self {
        let mut pixels = Vec::with_capacity(IMAGE_WIDTH * IMAGE_HEIGHT);
        for y in 0..IMAGE_HEIGHT {
            for x in 0..IMAGE_WIDTH {
                pixels.push(pixel(x, y));
            }
        }
        FingerImage { pixels }
    }

    /// Unpack the wire form: two pixels per byte, high nibble first, each nibble scaled to
    /// 0..=255 (x 17).
    pub fn from_packed_4bpp(packed: &[u8]) -> Result<Self, ImageError> {
        if packed.len() != PACKED_IMAGE_LEN {
            return Err(ImageError::WrongLength {
                expected: PACKED_IMAGE_LEN,
                got: packed.len(),
            });
        }
        let pixels = packed
            .iter()
            .flat_map(|byte| [(byte >> 4) * 17, (byte & 0x0F) * 17])
            .collect();
        Ok(FingerImage { pixels })
    }

    /// The wire form (4 bits per pixel; the low 4 bits of each pixel are dropped).
    pub fn to_packed_4bpp(&self) -> Vec<u8> {
        self.pixels
            .chunks_exact(2)
            .map(|pair| (quantise(pair[0]) << 4) | quantise(pair[1]))
            .collect()
    }

    /// 8-bit pixels, row major.
    pub fn gray8(&self) -> &[u8] {
        &self.pixels
    }

    /// The image as a binary PGM (P5) file, readable by any image viewer.
    pub fn to_pgm(&self) -> Vec<u8> {
        let mut out = format!("P5\n{IMAGE_WIDTH} {IMAGE_HEIGHT}\n255\n").into_bytes();
        out.extend_from_slice(&self.pixels);
        out
    }

    /// A simple host-side quality estimate; see [`ImageQuality`].
    pub fn quality(&self) -> ImageQuality {
        const BLOCK: usize = 16;
        const FOREGROUND_STD_DEV: f32 = 20.0;
        let blocks_x = IMAGE_WIDTH / BLOCK;
        let blocks_y = IMAGE_HEIGHT / BLOCK;
        let mut foreground = 0usize;
        let mut contrast_sum = 0.0f32;
        for by in 0..blocks_y {
            for bx in 0..blocks_x {
                let mut sum = 0.0f32;
                let mut sum_sq = 0.0f32;
                for y in by * BLOCK..(by + 1) * BLOCK {
                    let row = &self.pixels[y * IMAGE_WIDTH + bx * BLOCK..][..BLOCK];
                    for &p in row {
                        let p = f32::from(p);
                        sum += p;
                        sum_sq += p * p;
                    }
                }
                let n = (BLOCK * BLOCK) as f32;
                let mean = sum / n;
                let std_dev = (sum_sq / n - mean * mean).max(0.0).sqrt();
                if std_dev >= FOREGROUND_STD_DEV {
                    foreground += 1;
                    contrast_sum += std_dev;
                }
            }
        }
        let total = (blocks_x * blocks_y) as f32;
        let coverage = foreground as f32 / total;
        let contrast = if foreground == 0 {
            0.0
        } else {
            (contrast_sum / foreground as f32 / 127.5).min(1.0)
        };
        // Coverage counts most: a partial finger yields few features. 60 % coverage and
        // strong ridges give 100.
        let coverage_part = (coverage / 0.6).min(1.0);
        let score = (100.0 * coverage_part * (0.4 + 0.6 * (contrast / 0.5).min(1.0))).round();
        ImageQuality {
            coverage,
            contrast,
            score: score.clamp(0.0, 100.0) as u8,
        }
    }
}

fn quantise(pixel: u8) -> u8 {
    // Nearest of the 16 levels 0, 17, ..., 255.
    ((u16::from(pixel) + 8) / 17).min(15) as u8
}

/// A simple, documented image quality heuristic computed on the host.
///
/// It is NOT NFIQ 2 (ISO/IEC 29794-4): it measures how much of the image is covered by a
/// textured finger print (16 x 16 blocks whose grey-level standard deviation is at least 20)
/// and how strong the ridge contrast is there. Good enough to ask a traveller to press again;
/// enrolment quality for EES needs a real NFIQ 2 implementation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageQuality {
    /// Fraction of blocks that contain finger texture, 0..=1.
    pub coverage: f32,
    /// Mean ridge contrast of those blocks, 0..=1.
    pub contrast: f32,
    /// Combined score 0..=100 (higher is better).
    pub score: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip_on_4bit_levels() {
        let pixels: Vec<u8> = (0..IMAGE_WIDTH * IMAGE_HEIGHT)
            .map(|i| ((i * 31) % 16) as u8 * 17)
            .collect();
        let image = FingerImage::from_gray8(pixels.clone()).unwrap();
        let packed = image.to_packed_4bpp();
        assert_eq!(packed.len(), PACKED_IMAGE_LEN);
        assert_eq!(
            FingerImage::from_packed_4bpp(&packed).unwrap().gray8(),
            &pixels[..]
        );
        assert_eq!(packed[0] >> 4, 0, "first pixel in the high nibble");
    }

    #[test]
    fn rejects_wrong_sizes() {
        assert!(FingerImage::from_packed_4bpp(&[0; 10]).is_err());
        assert!(FingerImage::from_gray8(vec![0; 10]).is_err());
    }

    #[test]
    fn blank_image_has_zero_quality_and_stripes_score_high() {
        let blank = FingerImage::from_gray8(vec![255; IMAGE_WIDTH * IMAGE_HEIGHT]).unwrap();
        assert_eq!(blank.quality().score, 0);
        let stripes: Vec<u8> = (0..IMAGE_WIDTH * IMAGE_HEIGHT)
            .map(|i| {
                if (i % IMAGE_WIDTH / 4).is_multiple_of(2) {
                    0
                } else {
                    255
                }
            })
            .collect();
        let striped = FingerImage::from_gray8(stripes).unwrap();
        assert!(striped.quality().score > 90, "{:?}", striped.quality());
    }

    #[test]
    fn pgm_header() {
        let image = FingerImage::from_gray8(vec![128; IMAGE_WIDTH * IMAGE_HEIGHT]).unwrap();
        let pgm = image.to_pgm();
        assert!(pgm.starts_with(b"P5\n256 288\n255\n"));
        assert_eq!(pgm.len(), 15 + IMAGE_WIDTH * IMAGE_HEIGHT);
    }

    #[test]
    fn debug_does_not_print_pixels() {
        let image = FingerImage::from_gray8(vec![7; IMAGE_WIDTH * IMAGE_HEIGHT]).unwrap();
        assert_eq!(
            format!("{image:?}"),
            "FingerImage(256x288, content redacted)"
        );
    }
}

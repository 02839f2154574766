//! Synthetic fingers for the module simulator: images, templates and matching.
//!
//! Nothing here is a real fingerprint algorithm. A simulated finger is an `identity` (a
//! number) plus a capture `quality` (0..=100):
//!
//! * its **image** is a 256 x 288 ridge pattern whose ridge spacing and curvature derive from
//!   the identity, whose finger area and contrast grow with quality, plus pixel noise;
//! * its **template** is 512 bytes: the magic `SIMF`, a version byte, the capture quality, two
//!   reserved bytes, then 504 feature bytes = a pseudo-random bit pattern seeded by the identity
//!   with a few percent of the bits flipped per capture (more for poorer quality);
//! * **matching** compares feature bits only: score = `300 * max(0, 2 * agreement - 1)`, so two
//!   captures of the same finger score roughly 150-270 and different fingers roughly 0-15.

use crate::fingerprint::image::{FingerImage, IMAGE_HEIGHT, IMAGE_WIDTH};
use crate::fingerprint::r30x::TEMPLATE_LEN;

/// Magic at the start of every simulator template.
pub const TEMPLATE_MAGIC: [u8; 4] = *b"SIMF";
/// Template format version.
pub const TEMPLATE_VERSION: u8 = 1;
/// Offset of the feature bytes in a template.
pub const FEATURE_OFFSET: usize = 8;
/// Number of feature bytes.
pub const FEATURE_LEN: usize = TEMPLATE_LEN - FEATURE_OFFSET;

/// A finger placed on the simulated sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimulatedFinger {
    /// Who the finger belongs to (same identity = same finger).
    pub identity: u64,
    /// Capture quality 0..=100: below 5 the capture fails, below 20 the image is too messy,
    /// below 35 it has too few features, above that it extracts fine.
    pub quality: u8,
}

impl SimulatedFinger {
    /// A finger with good quality (90).
    pub fn good(identity: u64) -> Self {
        SimulatedFinger {
            identity,
            quality: 90,
        }
    }
}

/// SplitMix64: small, fast, deterministic.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64-bit FNV-1a, used to give downloaded images a stable identity.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

fn unit(state: &mut u64) -> f64 {
    (splitmix64(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// Per-bit flip probability of one capture at `quality`.
fn flip_probability(quality: u8) -> f64 {
    0.02 + 0.10 * f64::from(100 - quality.min(100)) / 100.0
}

/// The template one capture of `finger` yields (`capture_seed` makes captures differ).
pub fn capture_template(finger: SimulatedFinger, capture_seed: u64) -> Vec<u8> {
    let mut template = Vec::with_capacity(TEMPLATE_LEN);
    template.extend_from_slice(&TEMPLATE_MAGIC);
    template.push(TEMPLATE_VERSION);
    template.push(finger.quality.min(100));
    template.extend_from_slice(&[0, 0]);
    let mut identity_state = finger.identity ^ 0x5EED_F1A6_0000_0000;
    let mut noise_state = finger
        .identity
        .wrapping_mul(0x2545_F491_4F6C_DD1D)
        .wrapping_add(capture_seed);
    let p = flip_probability(finger.quality);
    for _ in 0..FEATURE_LEN {
        let mut byte = (splitmix64(&mut identity_state) & 0xFF) as u8;
        for bit in 0..8 {
            if unit(&mut noise_state) < p {
                byte ^= 1 << bit;
            }
        }
        template.push(byte);
    }
    template
}

/// Match score between two templates (feature bits only; see the module docs).
pub fn match_score(a: &[u8], b: &[u8]) -> u16 {
    if a.len() != TEMPLATE_LEN || b.len() != TEMPLATE_LEN {
        return 0;
    }
    let differing: u32 = a[FEATURE_OFFSET..]
        .iter()
        .zip(&b[FEATURE_OFFSET..])
        .map(|(x, y)| (x ^ y).count_ones())
        .sum();
    let bits = (FEATURE_LEN * 8) as f64;
    let agreement = 1.0 - f64::from(differing) / bits;
    (300.0 * (2.0 * agreement - 1.0).max(0.0)).round() as u16
}

/// Combine two captures into an enrolment template: feature bits where the captures agree are
/// kept, disagreeing bits are taken from the first capture; quality is the better one.
pub fn combine(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    if let (Some(qa), Some(qb)) = (a.get(5), b.get(5)) {
        out[5] = (*qa).max(*qb);
    }
    out
}

/// The image one capture of `finger` yields.
pub fn capture_image(finger: SimulatedFinger, capture_seed: u64) -> FingerImage {
    let quality = f64::from(finger.quality.min(100));
    let mut shape = finger.identity ^ 0xF1A6_E600_0000_0000;
    let period = 6.0 + 4.0 * unit(&mut shape);
    let curl_a = 6.0 * unit(&mut shape) - 3.0;
    let curl_b = 6.0 * unit(&mut shape) - 3.0;
    let mut noise = capture_seed
        .wrapping_mul(0x9E37_79B9)
        .wrapping_add(finger.identity);
    let centre_x = IMAGE_WIDTH as f64 / 2.0 + 10.0 * (unit(&mut noise) - 0.5);
    let centre_y = IMAGE_HEIGHT as f64 / 2.0 + 10.0 * (unit(&mut noise) - 0.5);
    let radius_x = 40.0 + 0.7 * quality;
    let radius_y = 50.0 + 0.8 * quality;
    let amplitude = 40.0 + 0.87 * quality;
    let pixel_noise = 1.2 * (100.0 - quality);
    FingerImage::from_fn(|x, y| {
        let dx = x as f64 - centre_x;
        let dy = y as f64 - centre_y;
        let inside = (dx / radius_x).powi(2) + (dy / radius_y).powi(2) <= 1.0;
        let jitter = pixel_noise * (unit(&mut noise) - 0.5);
        let value = if inside {
            let r = (dx * dx + dy * dy).sqrt();
            let theta = dy.atan2(dx);
            let phase = std::f64::consts::TAU * r / period
                + curl_a * theta.cos()
                + curl_b * (2.0 * theta).sin();
            128.0 + amplitude * phase.sin() + jitter
        } else {
            245.0 + jitter.min(10.0) * 0.5
        };
        value.clamp(0.0, 255.0) as u8
    })
}

/// An all-white image (nothing on the sensor).
pub fn blank_image() -> FingerImage {
    FingerImage::from_fn(|_, _| 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_finger_scores_high_different_fingers_low() {
        for identity in 1..20u64 {
            let a = capture_template(SimulatedFinger::good(identity), 1);
            let b = capture_template(SimulatedFinger::good(identity), 2);
            let other = capture_template(SimulatedFinger::good(identity + 1000), 3);
            assert_ne!(a, b, "captures differ");
            let same = match_score(&a, &b);
            let different = match_score(&a, &other);
            assert!(same >= 150, "same finger {identity}: {same}");
            assert!(different <= 30, "different fingers {identity}: {different}");
        }
    }

    #[test]
    fn poor_captures_still_match_but_lower() {
        let good = capture_template(SimulatedFinger::good(7), 1);
        let poor = capture_template(
            SimulatedFinger {
                identity: 7,
                quality: 40,
            },
            2,
        );
        let good_again = capture_template(SimulatedFinger::good(7), 3);
        let score = match_score(&good, &poor);
        let good_score = match_score(&good, &good_again);
        assert!(
            score >= 100 && score < good_score,
            "{score} vs {good_score}"
        );
    }

    #[test]
    fn templates_have_the_documented_layout() {
        let template = capture_template(SimulatedFinger::good(5), 9);
        assert_eq!(template.len(), TEMPLATE_LEN);
        assert_eq!(&template[..4], b"SIMF");
        assert_eq!(template[4], TEMPLATE_VERSION);
        assert_eq!(template[5], 90);
        assert_eq!(capture_template(SimulatedFinger::good(5), 9), template);
    }

    #[test]
    fn image_quality_follows_simulated_quality() {
        let good = capture_image(SimulatedFinger::good(3), 1).quality();
        let poor = capture_image(
            SimulatedFinger {
                identity: 3,
                quality: 25,
            },
            1,
        )
        .quality();
        assert!(good.score >= 80, "{good:?}");
        assert!(poor.score < good.score, "{poor:?} vs {good:?}");
        assert_eq!(blank_image().quality().score, 0);
    }
}

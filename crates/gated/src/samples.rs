//! Biometric samples the BioCart collects for the inspection booth. They travel from the
//! device threads to the main loop with the result they belong to (one message), are held in
//! the transaction's data, sealed to the booth's key at hand-over and wiped when the
//! transaction's data is dropped. Nothing here is ever logged.

use zeroize::Zeroizing;

/// An accepted finger capture as an ISO/IEC 19794-4 finger image record.
pub struct FingerSample {
    /// Image quality, 0..=100.
    pub quality: u8,
    /// The encoded record.
    pub record: Zeroizing<Vec<u8>>,
    /// When it was taken (unix ms).
    pub captured_at_ms: i64,
}

/// The face photo (JPEG of the best frame's face).
pub struct PhotoSample {
    /// Quality, 0..=100.
    pub quality: u8,
    /// JPEG bytes.
    pub jpeg: Zeroizing<Vec<u8>>,
    /// When it was taken (unix ms).
    pub captured_at_ms: i64,
}

impl std::fmt::Debug for FingerSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerSample(redacted)")
    }
}

impl std::fmt::Debug for PhotoSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhotoSample(redacted)")
    }
}

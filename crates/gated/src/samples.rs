//! Biometric samples the BioCart collects for the inspection booth: they travel from the device
//! threads to the main loop in memory only, are sealed to the booth's key at hand-over and are
//! wiped when the transaction's data is discarded. Nothing here is ever logged.

use gate_core::{Finger, TransactionId};
use zeroize::Zeroizing;

/// One sample of a BioCart transaction.
pub enum Sample {
    /// An accepted finger capture as an ISO/IEC 19794-4 finger image record.
    Finger {
        /// The transaction.
        transaction_id: TransactionId,
        /// Which finger.
        finger: Finger,
        /// Image quality, 0..=100.
        quality: u8,
        /// The encoded record.
        record: Zeroizing<Vec<u8>>,
        /// When it was taken (unix ms).
        captured_at_ms: i64,
    },
    /// The face photo (JPEG of the best frame's face).
    FacePhoto {
        /// The transaction.
        transaction_id: TransactionId,
        /// Quality, 0..=100.
        quality: u8,
        /// JPEG bytes.
        jpeg: Zeroizing<Vec<u8>>,
        /// When it was taken (unix ms).
        captured_at_ms: i64,
    },
}

impl Sample {
    /// The transaction the sample belongs to.
    pub fn transaction_id(&self) -> TransactionId {
        match self {
            Sample::Finger { transaction_id, .. } | Sample::FacePhoto { transaction_id, .. } => {
                *transaction_id
            }
        }
    }
}

impl std::fmt::Debug for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sample::Finger { finger, .. } => write!(f, "Sample::Finger({finger:?}, redacted)"),
            Sample::FacePhoto { .. } => f.write_str("Sample::FacePhoto(redacted)"),
        }
    }
}

//! The personal data of the one transaction in progress, in one value that the daemon drops
//! whole when the core says [`gate_core::Command::DiscardTransactionData`].
//!
//! Devices hand their results to the main loop with the data they produced; the loop keeps
//! the data here only if it belongs to the transaction the core is running, and drops it at
//! once otherwise (a late answer for a transaction that already ended). Whatever is added to
//! a transaction later goes into this struct and so leaves with it.

use crate::chip_worker::ReadDocument;
use crate::lists::EnrolledTemplates;
use crate::samples::{FingerSample, PhotoSample};
use gate_core::{DocumentHash, Finger, TransactionId};
use outbox::handover::DocumentData;
use zeroize::Zeroizing;

/// Everything personal held for one transaction (wiped when dropped).
pub struct TransactionData {
    id: TransactionId,
    /// The keyed hash of the document read.
    pub document_hash: Option<DocumentHash>,
    /// The document read, while its denylist lookup runs.
    pub read: Option<Box<ReadDocument>>,
    /// How long the reader took on it (nothing personal; goes to the core with the read).
    pub read_timings: gate_core::ChipReadTimings,
    /// The document data for the BioCart's booth record.
    pub document: Option<DocumentData>,
    /// The enrolled fingers and their templates (fingerprint gate).
    pub enrolment: EnrolledTemplates,
    /// Captured fingers (BioCart), one per finger, the latest kept.
    pub fingers: Vec<(Finger, FingerSample)>,
    /// The face photo (BioCart), the latest kept.
    pub photo: Option<PhotoSample>,
}

impl std::fmt::Debug for TransactionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TransactionData({}, redacted)", self.id)
    }
}

impl TransactionData {
    /// Nothing held yet for `id`.
    pub fn new(id: TransactionId) -> Self {
        Self {
            id,
            document_hash: None,
            read: None,
            read_timings: gate_core::ChipReadTimings::default(),
            document: None,
            enrolment: Vec::new(),
            fingers: Vec::new(),
            photo: None,
        }
    }

    /// The transaction this data belongs to.
    pub fn id(&self) -> TransactionId {
        self.id
    }

    /// The enrolled template of `finger`, if any.
    pub fn template(&self, finger: Finger) -> Option<Zeroizing<Vec<u8>>> {
        self.enrolment
            .iter()
            .find(|(f, _)| *f == finger)
            .map(|(_, template)| template.clone())
    }

    /// Keeps a finger capture; a retaken finger replaces the earlier one.
    pub fn keep_finger(&mut self, finger: Finger, sample: FingerSample) {
        self.fingers.retain(|(f, _)| *f != finger);
        self.fingers.push((finger, sample));
    }
}

//! The BioCart's record for the inspection booth: assembled from the transaction's data (the
//! data moves into the record, nothing of it stays behind) and handed to the outbox writer,
//! which seals it to the booth's key and queues it with its event in one transaction.

use super::Daemon;
use crate::chip_worker::ReadDocument;
use crate::store::StoreJob;
use gate_core::{Finger, TransactionId};
use outbox::handover::{
    DocumentData, FacePhoto, FingerCapture, HANDOVER_SCHEMA_VERSION, HandOverFinger, HandOverRecord,
};

/// The document data the booth receives, from the chip.
pub fn document_data(document: &ReadDocument) -> DocumentData {
    DocumentData {
        document_code: document.document_code.clone(),
        issuing_state: document.issuing_state.clone(),
        document_number: document.document_number.to_string(),
        nationality: document.nationality.clone(),
        primary_identifier: document.primary_identifier.to_string(),
        secondary_identifier: document.secondary_identifier.to_string(),
        date_of_birth: document.birth_date_mrz.to_string(),
    }
}

impl Daemon {
    /// Commits the BioCart record for the booth. Without `[biocart]` (a simulated BioCart) the
    /// record's event says it is simulated and carries no biometric data.
    pub(super) fn hand_over(&mut self, transaction_id: TransactionId) {
        let now = self.clock.unix_ms();
        let gate_id = self.config.gate.id.clone();
        let sealed_for = match self.booth.clone() {
            Some(booth) => {
                let data = self.data.take_if(|data| data.id() == transaction_id);
                let mut fingers = Vec::new();
                let mut face = FacePhoto {
                    captured_at_ms: 0,
                    quality: 0,
                    jpeg: Vec::new(),
                };
                let mut document = DocumentData::default();
                if let Some(mut data) = data {
                    for (finger, sample) in std::mem::take(&mut data.fingers) {
                        fingers.push(FingerCapture {
                            finger: match finger {
                                Finger::LeftIndex => HandOverFinger::LeftIndex,
                                Finger::RightIndex => HandOverFinger::RightIndex,
                            },
                            quality: sample.quality,
                            attempts: 1,
                            captured_at_ms: sample.captured_at_ms,
                            iso_19794_4: sample.record.to_vec(),
                        });
                    }
                    if let Some(photo) = data.photo.take() {
                        face = FacePhoto {
                            captured_at_ms: photo.captured_at_ms,
                            quality: photo.quality,
                            jpeg: photo.jpeg.to_vec(),
                        };
                    }
                    if let Some(taken) = data.document.take() {
                        document = taken;
                    }
                    // What is left of the transaction's data (its hash) stays until discard.
                    self.data = Some(data);
                }
                let started_at_ms = fingers
                    .iter()
                    .map(|f| f.captured_at_ms)
                    .chain([face.captured_at_ms])
                    .filter(|ms| *ms > 0)
                    .min()
                    .unwrap_or(now);
                let record = HandOverRecord {
                    schema_version: HANDOVER_SCHEMA_VERSION,
                    gate_id,
                    transaction_id: transaction_id.to_string(),
                    started_at_ms,
                    completed_at_ms: now,
                    document,
                    fingers,
                    face,
                };
                Some((Box::new(record), booth))
            }
            None => None,
        };
        self.store.send(StoreJob::HandOver {
            transaction_id,
            sealed_for,
        });
    }
}

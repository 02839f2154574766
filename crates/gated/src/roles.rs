//! The gate's device roles as dispatch sees them: the document reader, the camera and the
//! fingerprint reader. A real device (a worker thread: [`crate::chip_worker`],
//! [`crate::face_worker`], [`crate::finger_worker`]) and a simulated one ([`crate::sim`]) sit
//! behind the same trait and answer through the same [`DeviceReport`]s, so the command
//! dispatch never asks which one it is talking to.

use crate::chip_worker::ReadDocument;
use crate::lists::EnrolledTemplates;
use crate::samples::{FingerSample, PhotoSample};
use gate_core::{
    ChipReadTimings, DocumentHash, FaceAttempt, Finger, FingerAttempt, ReasonCode, TransactionId,
};
use zeroize::Zeroizing;

/// What a device tells the main loop. A result and the personal data it produced travel in
/// one message, so the data is with the loop before the result reaches the core.
pub enum DeviceReport {
    /// A document was laid on the reader; the transaction id is new.
    DocumentPresented {
        /// The transaction this document starts (if the core accepts it).
        transaction_id: TransactionId,
    },
    /// The document was read (or not).
    DocumentRead {
        /// The transaction.
        transaction_id: TransactionId,
        /// The document, or why it could not be read.
        result: Result<Box<ReadDocument>, ReasonCode>,
        /// How long the reader took (nothing personal).
        timings: ChipReadTimings,
    },
    /// A face burst was compared with the chip photo.
    FaceCompared {
        /// The transaction.
        transaction_id: TransactionId,
        /// The result.
        attempt: FaceAttempt,
    },
    /// The BioCart face photo was taken.
    FacePhoto {
        /// The transaction.
        transaction_id: TransactionId,
        /// Its quality, `None` when no face was found.
        quality: Option<u8>,
        /// The photo itself (real cameras only).
        photo: Option<PhotoSample>,
    },
    /// A finger was verified (fingerprint gate) or captured (BioCart).
    Finger {
        /// The transaction.
        transaction_id: TransactionId,
        /// Which finger.
        finger: Finger,
        /// The result.
        attempt: FingerAttempt,
        /// The captured image record (a real module on a BioCart).
        sample: Option<FingerSample>,
    },
    /// The enrolment of the document was looked up.
    Enrolment {
        /// The transaction.
        transaction_id: TransactionId,
        /// The enrolled fingers and their templates (none for simulated enrolments).
        fingers: EnrolledTemplates,
    },
    /// The traveller gave up (simulated travellers).
    TravellerCancelled,
}

impl std::fmt::Debug for DeviceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceReport::DocumentPresented { transaction_id } => {
                write!(f, "DocumentPresented({transaction_id})")
            }
            DeviceReport::DocumentRead { transaction_id, .. } => {
                write!(f, "DocumentRead({transaction_id}, redacted)")
            }
            DeviceReport::FaceCompared { transaction_id, .. } => {
                write!(f, "FaceCompared({transaction_id})")
            }
            DeviceReport::FacePhoto { transaction_id, .. } => {
                write!(f, "FacePhoto({transaction_id}, redacted)")
            }
            DeviceReport::Finger {
                transaction_id,
                finger,
                ..
            } => write!(f, "Finger({transaction_id}, {finger:?}, redacted)"),
            DeviceReport::Enrolment { transaction_id, .. } => {
                write!(f, "Enrolment({transaction_id}, redacted)")
            }
            DeviceReport::TravellerCancelled => f.write_str("TravellerCancelled"),
        }
    }
}

/// The document reader: MRZ and chip.
pub trait DocumentReader: Send {
    /// Reads the chip of the document that started `transaction_id`; answers
    /// [`DeviceReport::DocumentRead`].
    fn read(&self, transaction_id: TransactionId);
    /// The transaction is over (or was refused): forget its document.
    fn discard(&self, transaction_id: TransactionId);
    /// Loads the document trust store again (SIGHUP).
    fn reload_trust(&self) {}
}

/// The camera and the face models behind it.
pub trait FaceCamera: Send {
    /// The chip photo of `transaction_id`, the reference for its captures.
    fn set_reference(&self, transaction_id: TransactionId, photo: Zeroizing<Vec<u8>>);
    /// Captures a burst and compares it; answers [`DeviceReport::FaceCompared`].
    fn capture(&self, transaction_id: TransactionId, attempt: u8);
    /// Takes the BioCart face photo; answers [`DeviceReport::FacePhoto`].
    fn photo(&self, transaction_id: TransactionId);
    /// Forgets everything about `transaction_id`.
    fn discard(&self, transaction_id: TransactionId);
}

/// The fingerprint reader.
pub trait FingerReader: Send {
    /// Looks up the enrolment of the document with `hash`; answers
    /// [`DeviceReport::Enrolment`] (or the store does, for a real module).
    fn lookup_enrolment(&self, transaction_id: TransactionId, hash: DocumentHash);
    /// Verifies `finger` 1:1 against its enrolled `template` (fingerprint gate); answers
    /// [`DeviceReport::Finger`]. Without a template the placement fails.
    fn verify(
        &self,
        transaction_id: TransactionId,
        finger: Finger,
        template: Option<Zeroizing<Vec<u8>>>,
    );
    /// Captures `finger` (BioCart); answers [`DeviceReport::Finger`].
    fn capture(&self, transaction_id: TransactionId, finger: Finger);
    /// Forgets everything about `transaction_id`.
    fn discard(&self, transaction_id: TransactionId);
}

/// The traveller at the door once it opens for them: real people at a real door (nothing to
/// drive), the simulated traveller at the simulated door.
pub trait Traveller: Send {
    /// The door was released for `transaction_id`'s traveller.
    fn door_released(&self, transaction_id: TransactionId);
    /// `transaction_id` is over: its traveller is gone.
    fn gone(&self, transaction_id: TransactionId);
}

/// Travellers at a real door walk through by themselves.
#[derive(Clone, Copy, Debug)]
pub struct RealTravellers;

impl Traveller for RealTravellers {
    fn door_released(&self, _transaction_id: TransactionId) {}
    fn gone(&self, _transaction_id: TransactionId) {}
}

/// The gate's devices by role (absent: the profile has no such device).
pub struct Roles {
    /// The document reader.
    pub reader: Option<Box<dyn DocumentReader>>,
    /// The camera.
    pub camera: Option<Box<dyn FaceCamera>>,
    /// The fingerprint reader.
    pub finger: Option<Box<dyn FingerReader>>,
    /// Who walks through the door.
    pub traveller: Box<dyn Traveller>,
}

//! What goes into the core ([`Event`]) and what comes out ([`Command`]).

use crate::document::{ChipReadResult, ChipReadTimings};
use crate::reason::ReasonCode;
use crate::record::OutcomeRecord;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A random identifier of one traveller transaction, chosen by the daemon.
///
/// It serialises as 32 lower-case hex digits (JSON numbers cannot carry 128 bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub u128);

impl Serialize for TransactionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:032x}", self.0))
    }
}

impl<'de> Deserialize<'de> for TransactionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.len() != 32 {
            return Err(serde::de::Error::custom("expected 32 hex digits"));
        }
        u128::from_str_radix(&text, 16)
            .map(TransactionId)
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A finger, as far as the gates care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finger {
    /// Left index finger.
    LeftIndex,
    /// Right index finger.
    RightIndex,
}

/// A face-quality limit a capture can miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceQualityCheck {
    /// Inter-eye distance in pixels below the minimum (step closer).
    TooSmall,
    /// Yaw (degrees) above the maximum (look at the camera).
    Turned,
    /// Roll (degrees) above the maximum (hold the head straight).
    Tilted,
    /// Pitch (degrees) above the maximum (raise or lower the chin).
    Pitched,
    /// Sharpness below the minimum (hold still).
    Blurred,
    /// Mean brightness below the minimum.
    TooDark,
    /// Mean brightness above the maximum.
    TooBright,
    /// Fraction of clipped pixels above the maximum.
    Clipped,
}

/// One face-quality limit the best face of a burst missed: the measured value and the limit
/// (numbers only, never pixels), recorded with the transaction's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceQualityShortfall {
    /// The limit.
    pub check: FaceQualityCheck,
    /// What was measured.
    pub measured: f32,
    /// The limit in force.
    pub limit: f32,
}

/// The result of one face-capture attempt (a burst of frames, best frame compared).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum FaceAttempt {
    /// A usable face was found and compared with the chip photo.
    Compared {
        /// Similarity between live face and chip photo.
        score: f32,
        /// Presentation-attack score of the best frame.
        attack_score: f32,
        /// Quality of the best frame, 0..=100.
        quality: u8,
    },
    /// No face in the burst.
    NoFace,
    /// Faces were found but none met the quality limits.
    QualityTooLow {
        /// Quality of the best face seen, 0..=100.
        quality: u8,
        /// The limits that face missed.
        shortfalls: Vec<FaceQualityShortfall>,
    },
    /// More than one face close to the camera.
    MultipleFaces,
    /// The chip photo could not serve as a reference.
    ReferenceUnusable,
}

/// The result of one finger placement.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum FingerAttempt {
    /// A finger image was captured (BioCart capture).
    Captured {
        /// Image quality, 0..=100.
        quality: u8,
    },
    /// The live finger was matched 1:1 against the enrolled template (fingerprint gate).
    Verified {
        /// Image quality, 0..=100.
        quality: u8,
        /// Match score on the module's scale, also when the matcher refused the pair (it is
        /// recorded: an agency tunes its threshold on these).
        score: u16,
        /// The matcher's own verdict at its configured security level (an R30x module's Match
        /// confirmation). A pass needs it as well as `score` at the policy's threshold, so a
        /// threshold set below the module's never admits a finger the module refused.
        matched: bool,
    },
    /// No finger arrived within the placement time.
    NoFinger,
}

/// Conditions that keep the gate from accepting travellers while they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The camera is down.
    CameraDown,
    /// The chip reader is down.
    ChipReaderDown,
    /// The fingerprint module is down.
    FingerprintReaderDown,
    /// Door fault or tamper.
    DoorFault,
    /// The outbox is at its disk high-water mark.
    OutboxFull,
    /// The outbox failed its integrity check (safe mode).
    OutboxCorrupt,
    /// Down-synced lists are older than the configured age.
    ListsStale,
    /// Fire alarm: doors released.
    FireAlarm,
    /// Put out of service by an officer or technician.
    Maintenance,
    /// The door's tamper switch is open.
    DoorTamper,
}

impl Condition {
    /// The reason code reported while this condition holds.
    pub const fn reason(self) -> ReasonCode {
        match self {
            Condition::CameraDown => ReasonCode::CameraUnavailable,
            Condition::ChipReaderDown => ReasonCode::ChipReaderUnavailable,
            Condition::FingerprintReaderDown => ReasonCode::FingerprintReaderUnavailable,
            Condition::DoorFault => ReasonCode::DoorFault,
            Condition::OutboxFull => ReasonCode::OutboxFull,
            Condition::OutboxCorrupt => ReasonCode::OutboxCorrupt,
            Condition::ListsStale => ReasonCode::ListsStale,
            Condition::FireAlarm => ReasonCode::FireAlarm,
            Condition::Maintenance => ReasonCode::MaintenanceMode,
            Condition::DoorTamper => ReasonCode::DoorFault,
        }
    }
}

/// A security alarm raised by the door (see [`crate::turnstile`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorAlarm {
    /// A second person passed on one authorisation.
    Tailgating,
    /// Someone passed with no authorisation.
    UnauthorisedPassage,
    /// The door was opened while locked.
    ForcedEntry,
    /// Someone came through from the exit side.
    ReversePassage,
    /// The door was held open too long.
    DoorHeldOpen,
}

impl DoorAlarm {
    /// The reason code reported for this alarm.
    pub const fn reason(self) -> ReasonCode {
        match self {
            DoorAlarm::Tailgating => ReasonCode::Tailgating,
            DoorAlarm::UnauthorisedPassage => ReasonCode::UnauthorisedPassage,
            DoorAlarm::ForcedEntry => ReasonCode::ForcedEntry,
            DoorAlarm::ReversePassage => ReasonCode::ReversePassage,
            DoorAlarm::DoorHeldOpen => ReasonCode::DoorHeldOpen,
        }
    }
}

/// Everything that can happen to a gate. Results carry the transaction they belong to, so a late
/// answer for an earlier transaction is ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Time passed; fired by the daemon at [`crate::Gate::next_deadline`].
    Tick,
    /// A traveller laid a document on the reader; the daemon chose a fresh transaction id.
    DocumentPresented {
        /// The new transaction.
        transaction_id: TransactionId,
    },
    /// The chip was read (or failed to be).
    ChipRead {
        /// The transaction that asked for it.
        transaction_id: TransactionId,
        /// What was read.
        result: ChipReadResult,
        /// How long the reader took (absent in older serialisations: unknown).
        #[serde(default)]
        timings: ChipReadTimings,
    },
    /// One face-capture attempt finished.
    FaceCaptured {
        /// The transaction that asked for it.
        transaction_id: TransactionId,
        /// Its result.
        attempt: FaceAttempt,
    },
    /// One finger placement finished.
    FingerCaptured {
        /// The transaction that asked for it.
        transaction_id: TransactionId,
        /// Which finger was asked for.
        finger: Finger,
        /// Its result.
        attempt: FingerAttempt,
    },
    /// A BioCart face photo was taken.
    FacePhotoCaptured {
        /// The transaction that asked for it.
        transaction_id: TransactionId,
        /// Face quality 0..=100, or `None` when no face was found.
        quality: Option<u8>,
    },
    /// The fingerprint-gate enrolment lookup answered.
    EnrolmentLookedUp {
        /// The transaction that asked for it.
        transaction_id: TransactionId,
        /// Enrolled fingers (empty: not enrolled).
        fingers: Vec<Finger>,
    },
    /// The BioCart record was committed for hand-over to the booth (or failed).
    RecordHandedOver {
        /// The transaction that asked for it.
        transaction_id: TransactionId,
        /// Whether the record is durably queued for the booth.
        ok: bool,
    },
    /// The exit passage sensor confirmed the traveller went through.
    PassageConfirmed,
    /// The traveller pressed cancel or walked away (presence lost).
    TravellerCancelled,
    /// An officer cleared a deny (or cancelled the transaction in progress).
    OfficerReset,
    /// A condition started to hold.
    ConditionRaised {
        /// The condition.
        condition: Condition,
    },
    /// A condition stopped holding.
    ConditionCleared {
        /// The condition.
        condition: Condition,
    },
    /// The door raised a security alarm; the gate calls an officer.
    DoorAlarm {
        /// The transaction whose authorisation the alarm concerns, if any.
        transaction_id: Option<TransactionId>,
        /// Which alarm.
        alarm: DoorAlarm,
    },
    /// The daemon is stopping.
    Shutdown,
}

/// What the traveller sees on the gate's display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Ready: "place your passport on the reader".
    PlaceDocument,
    /// "Reading your passport, keep it still".
    ReadingDocument,
    /// "Your passport could not be read: lay it down again" (a chip read the traveller can
    /// fix failed; the gate reads it again).
    ReplaceDocument,
    /// "Look at the camera".
    LookAtCamera,
    /// "Place your left index finger".
    PlaceLeftIndex,
    /// "Place your right index finger".
    PlaceRightIndex,
    /// "Please try again".
    TryAgain,
    /// "Please proceed".
    Proceed,
    /// "Please wait, an officer will assist you".
    SeeOfficer,
    /// "Done: proceed to the inspection booth".
    ProceedToBooth,
    /// "This gate is closed; please use a staffed booth".
    OutOfService,
}

/// Everything the core asks the daemon to do. The daemon executes commands in order.
// `RecordOutcome` carries the whole record, once per transaction, and is moved, not copied,
// until the outbox writer boxes it: boxing it here would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Show a prompt.
    Show {
        /// The prompt.
        prompt: Prompt,
    },
    /// Set the signal lights.
    SetLights {
        /// The light to show.
        lights: Lights,
    },
    /// Read and verify the document on the reader.
    ReadChip {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// Capture a burst of frames and compare the best with the chip photo.
    CaptureFace {
        /// The transaction.
        transaction_id: TransactionId,
        /// 1-based attempt number.
        attempt: u8,
    },
    /// Capture (BioCart) or verify (fingerprint gate) a finger.
    CaptureFinger {
        /// The transaction.
        transaction_id: TransactionId,
        /// Which finger.
        finger: Finger,
        /// 1-based attempt number.
        attempt: u8,
    },
    /// Take the BioCart face photo.
    CaptureFacePhoto {
        /// The transaction.
        transaction_id: TransactionId,
        /// 1-based attempt number.
        attempt: u8,
    },
    /// Look up the fingerprint-gate enrolment for the document's hash.
    LookupEnrolment {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// Commit the BioCart record for the inspection booth.
    HandOverRecord {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// Release the door lock for one passage.
    UnlockDoor {
        /// The transaction whose positive decision this is.
        transaction_id: TransactionId,
        /// How long the lock stays released, in milliseconds.
        for_ms: u64,
    },
    /// Engage the door lock.
    LockDoor,
    /// Call an officer to the gate.
    CallOfficer {
        /// The transaction, if one is in progress.
        transaction_id: Option<TransactionId>,
        /// Why.
        reasons: Vec<ReasonCode>,
    },
    /// Write the transaction's outcome to the outbox (exactly once per transaction).
    RecordOutcome {
        /// The record.
        record: OutcomeRecord,
    },
    /// Drop every image, template, embedding and document datum held for the transaction.
    DiscardTransactionData {
        /// The transaction.
        transaction_id: TransactionId,
    },
}

/// Signal lights above the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lights {
    /// Nothing lit (idle).
    Off,
    /// Green: proceed.
    Green,
    /// Red: stop, officer called.
    Red,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_id_is_hex_in_json() {
        let id = TransactionId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0123456789abcdef0011223344556677\"");
        assert_eq!(serde_json::from_str::<TransactionId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TransactionId>("\"12\"").is_err());
        assert!(serde_json::from_str::<TransactionId>("5").is_err());
    }
}

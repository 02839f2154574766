//! Stable reason codes: every deny, abandon and abort names why, in words that never change.
//!
//! The codes are part of the event schema that central and the agency's reporting read: a code
//! may be added, never renamed or reused. Each serialises as its `SCREAMING_SNAKE_CASE` name.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! reason_codes {
    ($( $(#[$doc:meta])* $variant:ident => $text:literal, )*) => {
        /// Why a transaction did not end in a pass (or why the gate refused to start one).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum ReasonCode {
            $( $(#[$doc])* #[serde(rename = $text)] $variant, )*
        }

        impl ReasonCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ReasonCode] = &[ $( ReasonCode::$variant, )* ];

            /// The stable text of the code, as stored in events.
            pub const fn as_str(self) -> &'static str {
                match self { $( ReasonCode::$variant => $text, )* }
            }

            /// The code with this stable text, if there is one.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $( $text => Some(ReasonCode::$variant), )* _ => None }
            }
        }
    };
}

reason_codes! {
    // --- the document and its chip ---
    /// The chip could not be read (communication failure, card removed, unsupported chip).
    ChipReadFailed => "CHIP_READ_FAILED",
    /// Chip access control (BAC/PACE) failed: wrong MRZ/CAN or a chip that refuses us.
    ChipAccessDenied => "CHIP_ACCESS_DENIED",
    /// The chip did not answer within the policy's time.
    ChipReadTimeout => "CHIP_READ_TIMEOUT",
    /// The document's data could not be parsed (malformed MRZ, DG1 or DG2).
    DocumentMalformed => "DOCUMENT_MALFORMED",
    /// Passive/active/chip authentication failed or could not be completed.
    DocumentNotAuthentic => "DOCUMENT_NOT_AUTHENTIC",
    /// The document expired before today.
    DocumentExpired => "DOCUMENT_EXPIRED",
    /// This document type may not use this gate.
    DocumentTypeNotEligible => "DOCUMENT_TYPE_NOT_ELIGIBLE",
    /// This nationality may not use this gate.
    NationalityNotEligible => "NATIONALITY_NOT_ELIGIBLE",
    /// The traveller is younger than the gate's minimum age.
    UnderMinimumAge => "UNDER_MINIMUM_AGE",
    /// The document's keyed hash is on the denylist (lost, stolen, revoked).
    DenylistHit => "DENYLIST_HIT",
    // --- face ---
    /// The live face did not match the chip photo within the allowed attempts.
    FaceMismatch => "FACE_MISMATCH",
    /// No usable face was found in the camera frames.
    FaceNotFound => "FACE_NOT_FOUND",
    /// Faces were found but none met the quality floor.
    FaceQualityTooLow => "FACE_QUALITY_TOO_LOW",
    /// More than one person in front of the camera (possible tailgating).
    MultipleFaces => "MULTIPLE_FACES",
    /// The presentation-attack detector scored above its threshold.
    PresentationAttack => "PRESENTATION_ATTACK",
    /// The face capture step ran out of time.
    FaceCaptureTimeout => "FACE_CAPTURE_TIMEOUT",
    /// The chip photo could not be used as a reference (no face, undecodable image).
    ReferencePhotoUnusable => "REFERENCE_PHOTO_UNUSABLE",
    // --- fingerprints ---
    /// The document holder has no fingerprint enrolment for this gate.
    NotEnrolled => "NOT_ENROLLED",
    /// The live finger did not match the enrolled template within the allowed attempts.
    FingerprintMismatch => "FINGERPRINT_MISMATCH",
    /// Finger images stayed below the quality floor within the allowed attempts.
    FingerprintQualityTooLow => "FINGERPRINT_QUALITY_TOO_LOW",
    /// No finger was placed on the sensor in time.
    FingerNotPresented => "FINGER_NOT_PRESENTED",
    /// The BioCart face photo stayed below the quality floor within the allowed attempts.
    FacePhotoQualityTooLow => "FACE_PHOTO_QUALITY_TOO_LOW",
    /// The BioCart record could not be handed to the inspection booth.
    HandoverFailed => "HANDOVER_FAILED",
    // --- the transaction ---
    /// The door was unlocked but the traveller did not pass in time.
    PassageNotCompleted => "PASSAGE_NOT_COMPLETED",
    /// The whole transaction exceeded its time limit.
    TransactionTimeout => "TRANSACTION_TIMEOUT",
    /// The traveller cancelled or walked away.
    TravellerCancelled => "TRAVELLER_CANCELLED",
    /// An officer cancelled the transaction.
    OfficerCancelled => "OFFICER_CANCELLED",
    /// The daemon was stopping; the transaction was cut short.
    Shutdown => "SHUTDOWN",
    /// The daemon died (power loss, a watchdog kill) while the transaction ran; it was closed
    /// when the daemon started again, with the stage it had reached.
    AbortedByRestart => "ABORTED_BY_RESTART",
    /// A device the transaction needed failed while it ran.
    DeviceFault => "DEVICE_FAULT",
    // --- conditions that keep the gate out of service ---
    /// The camera is not delivering frames.
    CameraUnavailable => "CAMERA_UNAVAILABLE",
    /// The chip reader is not available.
    ChipReaderUnavailable => "CHIP_READER_UNAVAILABLE",
    /// The fingerprint module is not available.
    FingerprintReaderUnavailable => "FINGERPRINT_READER_UNAVAILABLE",
    /// The door or its sensors report a fault or tamper.
    DoorFault => "DOOR_FAULT",
    /// The outbox reached its disk high-water mark: no new traveller until events drain.
    OutboxFull => "OUTBOX_FULL",
    /// The outbox database failed its integrity check: the gate runs in safe mode.
    OutboxCorrupt => "OUTBOX_CORRUPT",
    /// Down-synced lists (denylist, enrolments, trust anchors) are older than allowed.
    ListsStale => "LISTS_STALE",
    /// The fire alarm has released the doors.
    FireAlarm => "FIRE_ALARM",
    /// An officer or technician put the gate out of service.
    MaintenanceMode => "MAINTENANCE_MODE",
    // --- door alarms (raised by the turnstile machine) ---
    /// A second person passed through the door on one authorisation.
    Tailgating => "TAILGATING",
    /// Someone passed through the door with no authorisation.
    UnauthorisedPassage => "UNAUTHORISED_PASSAGE",
    /// The door was opened while it was locked.
    ForcedEntry => "FORCED_ENTRY",
    /// Someone came through the door from the exit side.
    ReversePassage => "REVERSE_PASSAGE",
    /// The door was held open longer than allowed.
    DoorHeldOpen => "DOOR_HELD_OPEN",
    // --- document authenticity (passive, chip and active authentication) ---
    /// EF.SOD is not a well-formed CMS SignedData / LDS security object.
    SodMalformed => "SOD_MALFORMED",
    /// A signature or hash algorithm the gate does not support.
    UnsupportedAlgorithm => "UNSUPPORTED_ALGORITHM",
    /// EF.SOD carries no document signer certificate.
    DsCertificateMissing => "DS_CERTIFICATE_MISSING",
    /// The SOD's signed attributes (content type, message digest) are wrong.
    SodSignedAttributesInvalid => "SOD_SIGNED_ATTRIBUTES_INVALID",
    /// The SOD signature does not verify with the document signer's key.
    SodSignatureInvalid => "SOD_SIGNATURE_INVALID",
    /// The document signer certificate is not valid yet.
    DsCertificateNotYetValid => "DS_CERTIFICATE_NOT_YET_VALID",
    /// The document signer certificate has expired.
    DsCertificateExpired => "DS_CERTIFICATE_EXPIRED",
    /// The document signer certificate may not sign documents.
    DsKeyUsageInvalid => "DS_KEY_USAGE_INVALID",
    /// The document signer certificate is malformed.
    DsCertificateInvalid => "DS_CERTIFICATE_INVALID",
    /// The document signer certificate is on its CSCA's revocation list.
    DsCertificateRevoked => "DS_CERTIFICATE_REVOKED",
    /// No valid revocation list of the issuing CSCA is available and the policy requires one.
    CrlUnavailable => "CRL_UNAVAILABLE",
    /// No trusted CSCA issued the document signer certificate.
    CscaUnknown => "CSCA_UNKNOWN",
    /// The document signer certificate's signature does not verify with the CSCA key.
    DsCertificateSignatureInvalid => "DS_CERTIFICATE_SIGNATURE_INVALID",
    /// The issuing CSCA certificate has expired.
    CscaCertificateExpired => "CSCA_CERTIFICATE_EXPIRED",
    /// A data group read from the chip has no hash in the SOD.
    DgNotInSod => "DG_NOT_IN_SOD",
    /// A data group does not match its hash in the SOD (tampered chip data).
    DgHashMismatch => "DG_HASH_MISMATCH",
    /// The chip's DG1 differs from the MRZ printed on the data page.
    Dg1MrzMismatch => "DG1_MRZ_MISMATCH",
    /// The issuing state differs from the signing certificates' country.
    IssuingStateMismatch => "ISSUING_STATE_MISMATCH",
    /// Chip Authentication failed (possible cloned chip).
    CaFailed => "CA_FAILED",
    /// The DG14 chip key is unusable.
    CaKeyInvalid => "CA_KEY_INVALID",
    /// Chip Authentication is required and the chip does not offer it.
    CaUnavailable => "CA_UNAVAILABLE",
    /// Active Authentication failed (possible cloned chip).
    AaFailed => "AA_FAILED",
    /// The DG15 key is unusable.
    AaKeyInvalid => "AA_KEY_INVALID",
    /// The Active Authentication signature does not verify.
    AaSignatureInvalid => "AA_SIGNATURE_INVALID",
    /// Active Authentication is required and the chip has no DG15.
    AaUnavailable => "AA_UNAVAILABLE",
    /// The signed EF.SOD lists DG14 or DG15 but the chip did not give it (a copied chip hiding
    /// its clone-check keys).
    DgNotRead => "DG_NOT_READ",
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for code in ReasonCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert_eq!(ReasonCode::parse(code.as_str()), Some(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            );
        }
    }
}

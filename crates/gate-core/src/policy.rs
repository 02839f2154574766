//! The decision policy as data: thresholds, attempt limits, time limits and eligibility rules.
//!
//! Policies are plain serde structures so the daemon can read them from the gate's TOML file;
//! [`Policy::validate`] reports every out-of-range value with its key path.

use crate::document::{Authenticity, DocumentFacts};
use crate::reason::ReasonCode;
use crate::time::Date;
use serde::{Deserialize, Serialize};

/// The three kinds of self-service machine this controller runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateProfile {
    /// Departure gate: passport chip photo against the live face, no pre-registration.
    FaceGate,
    /// Arrival-queue kiosk: both index fingerprints and a face photo, handed to the booth.
    BioCart,
    /// Gate for pre-registered travellers: passport plus fingerprint 1:1.
    FingerprintGate,
}

impl GateProfile {
    /// The profile's name as written in configuration and events.
    pub const fn as_str(self) -> &'static str {
        match self {
            GateProfile::FaceGate => "face_gate",
            GateProfile::BioCart => "bio_cart",
            GateProfile::FingerprintGate => "fingerprint_gate",
        }
    }
}

/// Who may use the gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    /// Accepted MRZ document codes, matched by prefix (`"P"` accepts `P`, `PD`, `PO`...).
    pub document_codes: Vec<String>,
    /// Nationalities allowed to use the gate.
    #[serde(default)]
    pub nationalities: NationalityRule,
    /// Minimum age in completed years (0 = no limit).
    #[serde(default)]
    pub minimum_age_years: u8,
    /// Refuse documents whose expiry date is before today.
    #[serde(default = "default_true")]
    pub require_unexpired: bool,
    /// Refuse documents whose authenticity was not verified (passive authentication and the
    /// chip checks the trust policy demands).
    #[serde(default = "default_true")]
    pub require_authentic_chip: bool,
    /// The site's offset from UTC in minutes, for "today" in expiry and age rules.
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

fn default_true() -> bool {
    true
}

/// Which nationalities are eligible.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", content = "codes", rename_all = "snake_case")]
pub enum NationalityRule {
    /// Every nationality.
    #[default]
    Any,
    /// Only these ICAO three-letter codes.
    Only(Vec<String>),
    /// Every nationality except these (e.g. a BioCart collects from foreign visitors only).
    AllExcept(Vec<String>),
}

impl NationalityRule {
    fn admits(&self, nationality: &str) -> bool {
        match self {
            NationalityRule::Any => true,
            NationalityRule::Only(codes) => codes.iter().any(|c| c == nationality),
            NationalityRule::AllExcept(codes) => !codes.iter().any(|c| c == nationality),
        }
    }
}

impl Eligibility {
    /// Every reason this document may not use the gate today (empty when eligible).
    pub fn check(
        &self,
        facts: &DocumentFacts,
        authenticity: Authenticity,
        denylisted: bool,
        today: Date,
    ) -> Vec<ReasonCode> {
        let mut reasons = Vec::new();
        match authenticity {
            Authenticity::Verified => {}
            Authenticity::NotChecked if !self.require_authentic_chip => {}
            Authenticity::NotChecked => reasons.push(ReasonCode::DocumentNotAuthentic),
            Authenticity::Failed { reason } => reasons.push(reason),
        }
        if denylisted {
            reasons.push(ReasonCode::DenylistHit);
        }
        if !self
            .document_codes
            .iter()
            .any(|code| facts.document_code.starts_with(code.as_str()))
        {
            reasons.push(ReasonCode::DocumentTypeNotEligible);
        }
        if !self.nationalities.admits(&facts.nationality) {
            reasons.push(ReasonCode::NationalityNotEligible);
        }
        if self.require_unexpired && facts.expiry_date < today {
            reasons.push(ReasonCode::DocumentExpired);
        }
        if self.minimum_age_years > 0 {
            let old_enough = facts
                .birth_date
                .is_some_and(|born| born.age_on(today) >= i32::from(self.minimum_age_years));
            if !old_enough {
                reasons.push(ReasonCode::UnderMinimumAge);
            }
        }
        reasons
    }
}

/// Face-matching rules (face gate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacePolicy {
    /// Similarity at or above which the live face matches the chip photo (calibrated for a
    /// target false-match rate by `gatectl face eval`).
    pub match_threshold: f32,
    /// Presentation-attack score above which the capture is treated as an attack.
    pub attack_threshold: f32,
    /// Capture attempts (bursts) before the traveller is referred to an officer.
    pub max_attempts: u8,
    /// Time allowed for the whole face step, in milliseconds.
    pub capture_timeout_ms: u64,
}

/// Fingerprint rules (BioCart capture and fingerprint-gate verification).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintPolicy {
    /// Matching score at or above which a 1:1 verification succeeds (module scale).
    pub match_threshold: u16,
    /// Image quality (0..=100) below which a capture is retried.
    pub quality_floor: u8,
    /// Attempts per finger before giving up.
    pub max_attempts: u8,
    /// Time allowed for each finger placement, in milliseconds.
    pub capture_timeout_ms: u64,
}

/// BioCart face-photo rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacePhotoPolicy {
    /// Face quality (0..=100) below which the photo is retaken.
    pub quality_floor: u8,
    /// Attempts before giving up.
    pub max_attempts: u8,
    /// Time allowed for each attempt, in milliseconds.
    pub capture_timeout_ms: u64,
}

/// Time limits of the transaction as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Time allowed to read and verify the chip, in milliseconds.
    pub chip_read_ms: u64,
    /// Time the door stays unlocked waiting for the traveller to pass, in milliseconds.
    pub door_open_ms: u64,
    /// Upper bound for a whole transaction, in milliseconds.
    pub transaction_ms: u64,
    /// After a deny, how long the gate waits for an officer before accepting the next traveller.
    pub deny_hold_ms: u64,
    /// Time allowed to look up an enrolment or hand a record over, in milliseconds.
    pub lookup_ms: u64,
}

/// Reading the document's chip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentPolicy {
    /// How many times the chip is read when a read fails for a reason the traveller can fix
    /// (the passport moved off the reader, a transient communication or secure-messaging
    /// error, an MRZ the scanner misread): between tries the traveller is asked to lay the
    /// passport down again. 1 means no second try.
    #[serde(default = "default_read_attempts")]
    pub read_attempts: u8,
}

fn default_read_attempts() -> u8 {
    3
}

impl Default for DocumentPolicy {
    fn default() -> Self {
        Self {
            read_attempts: default_read_attempts(),
        }
    }
}

impl DocumentPolicy {
    /// Whether a chip read that failed with `reason` is worth another try by the traveller.
    pub fn traveller_can_fix(reason: crate::ReasonCode) -> bool {
        use crate::ReasonCode;
        matches!(
            reason,
            ReasonCode::ChipReadFailed | ReasonCode::ChipReadTimeout | ReasonCode::ChipAccessDenied
        )
    }
}

/// The complete decision policy of one gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Who may use the gate.
    pub eligibility: Eligibility,
    /// Face matching (face gate).
    pub face: FacePolicy,
    /// Fingerprints (BioCart, fingerprint gate).
    pub fingerprint: FingerprintPolicy,
    /// Face photo (BioCart).
    pub face_photo: FacePhotoPolicy,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Reading the chip.
    #[serde(default)]
    pub document: DocumentPolicy,
}

/// One out-of-range policy value, named by its key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyProblem {
    /// Dotted key path below the policy table, e.g. `face.match_threshold`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl Policy {
    /// Every problem with the values (empty when the policy is usable).
    pub fn validate(&self) -> Vec<PolicyProblem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| {
            problems.push(PolicyProblem {
                key: key.to_owned(),
                message,
            })
        };
        if self.eligibility.document_codes.is_empty() {
            bad(
                "eligibility.document_codes",
                "must list at least one document code".into(),
            );
        }
        for code in &self.eligibility.document_codes {
            if code.is_empty() || code.len() > 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                bad(
                    "eligibility.document_codes",
                    format!("{code:?} is not an MRZ document code (1-2 capital letters)"),
                );
            }
        }
        if let NationalityRule::Only(codes) | NationalityRule::AllExcept(codes) =
            &self.eligibility.nationalities
        {
            for code in codes {
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase() || b == b'<') {
                    bad(
                        "eligibility.nationalities.codes",
                        format!("{code:?} is not an ICAO three-letter code"),
                    );
                }
            }
        }
        if !(1..=5).contains(&self.document.read_attempts) {
            bad(
                "document.read_attempts",
                format!("{} is outside 1..=5", self.document.read_attempts),
            );
        }
        if !(-14 * 60..=14 * 60).contains(&self.eligibility.utc_offset_minutes) {
            bad(
                "eligibility.utc_offset_minutes",
                "must be within -840..=840".into(),
            );
        }
        if !(self.face.match_threshold.is_finite()
            && (-1.0..=1.0).contains(&self.face.match_threshold))
        {
            bad(
                "face.match_threshold",
                format!("{} is outside -1.0..=1.0", self.face.match_threshold),
            );
        }
        if !(self.face.attack_threshold.is_finite()
            && (0.0..=1.0).contains(&self.face.attack_threshold))
        {
            bad(
                "face.attack_threshold",
                format!("{} is outside 0.0..=1.0", self.face.attack_threshold),
            );
        }
        for (key, value) in [
            ("face.max_attempts", self.face.max_attempts),
            ("fingerprint.max_attempts", self.fingerprint.max_attempts),
            ("face_photo.max_attempts", self.face_photo.max_attempts),
        ] {
            if !(1..=10).contains(&value) {
                bad(key, format!("{value} is outside 1..=10"));
            }
        }
        for (key, value) in [
            ("fingerprint.quality_floor", self.fingerprint.quality_floor),
            ("face_photo.quality_floor", self.face_photo.quality_floor),
        ] {
            if value > 100 {
                bad(key, format!("{value} is outside 0..=100"));
            }
        }
        for (key, value, min, max) in [
            (
                "face.capture_timeout_ms",
                self.face.capture_timeout_ms,
                1_000,
                120_000,
            ),
            (
                "fingerprint.capture_timeout_ms",
                self.fingerprint.capture_timeout_ms,
                1_000,
                120_000,
            ),
            (
                "face_photo.capture_timeout_ms",
                self.face_photo.capture_timeout_ms,
                1_000,
                120_000,
            ),
            (
                "timeouts.chip_read_ms",
                self.timeouts.chip_read_ms,
                500,
                60_000,
            ),
            (
                "timeouts.door_open_ms",
                self.timeouts.door_open_ms,
                1_000,
                60_000,
            ),
            (
                "timeouts.transaction_ms",
                self.timeouts.transaction_ms,
                5_000,
                600_000,
            ),
            (
                "timeouts.deny_hold_ms",
                self.timeouts.deny_hold_ms,
                0,
                600_000,
            ),
            ("timeouts.lookup_ms", self.timeouts.lookup_ms, 100, 60_000),
        ] {
            if !(min..=max).contains(&value) {
                bad(key, format!("{value} is outside {min}..={max}"));
            }
        }
        problems
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::document::DocumentHash;

    /// A policy with sensible values for tests.
    pub(crate) fn sample_policy() -> Policy {
        crate::examples::example_policy()
    }

    pub(crate) fn facts(nationality: &str, born: Date, expiry: Date) -> DocumentFacts {
        DocumentFacts {
            hash: DocumentHash([7; 32]),
            document_code: "P".into(),
            issuing_state: nationality.into(),
            nationality: nationality.into(),
            birth_date: Some(born),
            expiry_date: expiry,
        }
    }

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn sample_policy_is_valid() {
        assert_eq!(sample_policy().validate(), vec![]);
    }

    #[test]
    fn validation_names_every_bad_key() {
        let mut policy = sample_policy();
        policy.face.match_threshold = 3.0;
        policy.fingerprint.max_attempts = 0;
        policy.timeouts.door_open_ms = 5;
        policy.eligibility.document_codes = vec!["passport".into()];
        let keys: Vec<_> = policy.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "eligibility.document_codes",
                "face.match_threshold",
                "fingerprint.max_attempts",
                "timeouts.door_open_ms"
            ]
        );
    }

    #[test]
    fn eligibility_lists_every_reason() {
        let policy = sample_policy();
        let today = d(2026, 11, 26);
        let ok = facts("UTO", d(1974, 8, 12), d(2030, 1, 1));
        assert!(
            policy
                .eligibility
                .check(&ok, Authenticity::Verified, false, today)
                .is_empty()
        );
        let child_expired = facts("UTO", d(2020, 1, 1), d(2026, 11, 25));
        assert_eq!(
            policy
                .eligibility
                .check(&child_expired, Authenticity::NotChecked, true, today),
            [
                ReasonCode::DocumentNotAuthentic,
                ReasonCode::DenylistHit,
                ReasonCode::DocumentExpired,
                ReasonCode::UnderMinimumAge
            ]
        );
    }

    #[test]
    fn nationality_rules() {
        let mut policy = sample_policy();
        let today = d(2026, 11, 26);
        policy.eligibility.nationalities = NationalityRule::AllExcept(vec!["JPN".into()]);
        let jpn = facts("JPN", d(1980, 1, 1), d(2030, 1, 1));
        assert_eq!(
            policy
                .eligibility
                .check(&jpn, Authenticity::Verified, false, today),
            [ReasonCode::NationalityNotEligible]
        );
        policy.eligibility.nationalities = NationalityRule::Only(vec!["JPN".into()]);
        assert!(
            policy
                .eligibility
                .check(&jpn, Authenticity::Verified, false, today)
                .is_empty()
        );
    }

    #[test]
    fn expiry_is_inclusive_of_today() {
        let policy = sample_policy();
        let today = d(2026, 11, 26);
        let expires_today = facts("UTO", d(1980, 1, 1), today);
        assert!(
            policy
                .eligibility
                .check(&expires_today, Authenticity::Verified, false, today)
                .is_empty()
        );
    }
}

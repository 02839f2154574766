//! Ready-made values for documentation, tests and simulators.
//!
//! The policy here is a sensible starting point, not a calibrated one: a real gate takes its
//! thresholds from `gatectl face eval` and its rules from the agency.

use crate::document::{DocumentFacts, DocumentHash};
use crate::policy::{
    DocumentPolicy, Eligibility, FacePhotoPolicy, FacePolicy, FingerprintPolicy, NationalityRule,
    Policy, Timeouts,
};
use crate::time::Date;

/// A policy with plausible values: passports only, age 12+, three attempts per step.
pub fn example_policy() -> Policy {
    Policy {
        eligibility: Eligibility {
            document_codes: vec!["P".into()],
            nationalities: NationalityRule::Any,
            minimum_age_years: 12,
            require_unexpired: true,
            require_authentic_chip: true,
            utc_offset_minutes: 540,
        },
        face: FacePolicy {
            match_threshold: 0.36,
            attack_threshold: 0.2,
            max_attempts: 3,
            capture_timeout_ms: 15_000,
        },
        fingerprint: FingerprintPolicy {
            match_threshold: 50,
            quality_floor: 40,
            max_attempts: 3,
            capture_timeout_ms: 10_000,
        },
        face_photo: FacePhotoPolicy {
            quality_floor: 50,
            max_attempts: 3,
            capture_timeout_ms: 10_000,
        },
        timeouts: Timeouts {
            chip_read_ms: 8_000,
            door_open_ms: 10_000,
            transaction_ms: 90_000,
            deny_hold_ms: 30_000,
            lookup_ms: 3_000,
        },
        document: DocumentPolicy::default(),
    }
}

/// Facts of ICAO 9303's specimen passport holder (Anna Maria Eriksson, Utopia), with the expiry
/// moved to 2034 so it is valid today, and the given document hash.
pub fn specimen_facts(hash: DocumentHash) -> DocumentFacts {
    DocumentFacts {
        hash,
        document_code: "P".into(),
        issuing_state: "UTO".into(),
        nationality: "UTO".into(),
        birth_date: Date::new(1974, 8, 12).ok(),
        expiry_date: Date::new(2034, 4, 15).unwrap_or(Date {
            year: 2034,
            month: 4,
            day: 15,
        }),
    }
}

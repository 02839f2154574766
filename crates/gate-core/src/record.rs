//! The outcome record of a transaction: the legal record that goes to the outbox and central.
//!
//! It carries the keyed document hash, the decision, reason codes, scores and timings; never a
//! document number, image, template or embedding.

use crate::document::DocumentHash;
use crate::event::{Finger, TransactionId};
use crate::machine::Step;
use crate::policy::GateProfile;
use crate::reason::ReasonCode;
use serde::{Deserialize, Serialize};

/// Version of the [`OutcomeRecord`] layout; bumped on any incompatible change.
pub const OUTCOME_SCHEMA_VERSION: u16 = 1;

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Positive decision and the passage was confirmed.
    Passed,
    /// Negative decision: door kept shut, officer called.
    Denied,
    /// BioCart record complete and handed over.
    Completed,
    /// The traveller cancelled or walked away.
    Abandoned,
    /// A time limit ran out (including an unused door release).
    TimedOut,
    /// Cut short by shutdown, an officer or a device fault.
    Aborted,
}

/// The gate's decision on the traveller, when one was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Every check passed.
    Pass,
    /// At least one check failed.
    Deny,
}

/// Scores and qualities seen during the transaction (the best or last of each kind).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Last face similarity.
    pub face_match: Option<f32>,
    /// Last presentation-attack score.
    pub face_attack: Option<f32>,
    /// Quality of the last compared frame.
    pub face_quality: Option<u8>,
    /// The quality limits the last refused capture missed, with measured values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub face_quality_shortfalls: Vec<crate::event::FaceQualityShortfall>,
    /// Fingerprint match score (fingerprint gate).
    pub fingerprint_match: Option<u16>,
    /// Best quality per captured finger.
    pub finger_quality: Vec<(Finger, u8)>,
    /// BioCart face-photo quality.
    pub face_photo_quality: Option<u8>,
}

/// Attempt counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    /// Face capture attempts.
    pub face: u8,
    /// Finger placements (all fingers).
    pub finger: u8,
    /// BioCart face-photo attempts.
    pub face_photo: u8,
}

/// Time spent per stage, in milliseconds (monotonic clock).
///
/// Every stage the transaction went through has its time, however the transaction ended: a
/// deny after three face captures has its `biometric_ms`, a refused document its `document_ms`,
/// and a stage cut short (a timeout, a fault, the traveller walking away) the time until it
/// ended. A stage the transaction never reached is `None`. Fields added after the first layout
/// read as `None` (or empty) from an older record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// The document step: reading and verifying the chip (every read, when the traveller laid
    /// the passport down again) and the denylist lookup, until the eligibility decision.
    pub document_ms: Option<u64>,
    /// Of that, the reader's own time on the chip (waiting for it, opening it, reading its data
    /// groups), summed over the reads, as the reader measured it.
    #[serde(default)]
    pub chip_read_ms: Option<u64>,
    /// Of that, the authenticity checks (passive, chip, active authentication), summed over the
    /// reads, as the reader measured it.
    #[serde(default)]
    pub authenticity_ms: Option<u64>,
    /// Biometric capture and matching (every attempt).
    pub biometric_ms: Option<u64>,
    /// Each face capture attempt (burst and comparison) in order, from the capture command to
    /// its result; an attempt cut short by the end of the transaction is not listed.
    #[serde(default)]
    pub face_bursts_ms: Vec<u64>,
    /// From the document presented to the gate's decision: the door released for a pass, the
    /// deny, or a BioCart record complete. `None` when no decision was reached.
    #[serde(default)]
    pub decision_ms: Option<u64>,
    /// From door release to passage (or relock).
    pub passage_ms: Option<u64>,
    /// The whole transaction.
    pub total_ms: u64,
}

/// The record of one finished transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// Layout version, [`OUTCOME_SCHEMA_VERSION`].
    pub schema_version: u16,
    /// The transaction.
    pub transaction_id: TransactionId,
    /// The gate profile that ran it.
    pub profile: GateProfile,
    /// How it ended.
    pub outcome: Outcome,
    /// The decision, if one was reached.
    pub decision: Option<Decision>,
    /// Why it did not pass (empty for a pass or a completed BioCart record).
    pub reasons: Vec<ReasonCode>,
    /// Keyed hash of the document, once read.
    pub document_hash: Option<DocumentHash>,
    /// Scores and qualities.
    pub scores: Scores,
    /// Attempt counters.
    pub attempts: Attempts,
    /// Stage timings.
    pub timings: Timings,
    /// Wall-clock start, Unix milliseconds.
    pub started_at_unix_ms: i64,
    /// Wall-clock end, Unix milliseconds.
    pub ended_at_unix_ms: i64,
    /// The stage the transaction had reached when the daemon died, for a transaction closed at
    /// the next start ([`ReasonCode::AbortedByRestart`]); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_at: Option<Step>,
}

/// What the daemon keeps on disk about a transaction while it runs (nothing personal), so it
/// can close it after a crash: see [`OutcomeRecord::aborted_by_restart`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenTransaction {
    /// The transaction.
    pub transaction_id: TransactionId,
    /// The gate profile that ran it.
    pub profile: GateProfile,
    /// Wall-clock start, Unix milliseconds.
    pub started_at_unix_ms: i64,
    /// The last stage it was known to have reached.
    pub stage: Step,
    /// The decision, once one was reached (a pass is on disk before the door opens).
    pub decision: Option<Decision>,
    /// Keyed hash of the document, once read.
    pub document_hash: Option<DocumentHash>,
}

impl OutcomeRecord {
    /// The record of a transaction the daemon was running when it died, closed at
    /// `ended_at_unix_ms` by the next start: aborted, [`ReasonCode::AbortedByRestart`], with
    /// the stage and decision it had reached.
    pub fn aborted_by_restart(open: &OpenTransaction, ended_at_unix_ms: i64) -> Self {
        let total = ended_at_unix_ms.saturating_sub(open.started_at_unix_ms);
        Self {
            schema_version: OUTCOME_SCHEMA_VERSION,
            transaction_id: open.transaction_id,
            profile: open.profile,
            outcome: Outcome::Aborted,
            decision: open.decision,
            reasons: vec![ReasonCode::AbortedByRestart],
            document_hash: open.document_hash,
            scores: Scores::default(),
            attempts: Attempts::default(),
            timings: Timings {
                total_ms: u64::try_from(total).unwrap_or(0),
                ..Timings::default()
            },
            started_at_unix_ms: open.started_at_unix_ms,
            ended_at_unix_ms,
            interrupted_at: Some(open.stage),
        }
    }
}

//! Property tests: whatever the order and timing of events, (1) the door is never commanded
//! open without a positive decision for the current transaction, and (2) every transaction
//! ends in exactly one recorded outcome.

mod support;

use gate_core::examples::{example_policy, specimen_facts};
use gate_core::{
    Authenticity, ChipReadResult, Command, Condition, Date, DocumentHash, Event, FaceAttempt,
    Finger, FingerAttempt, GateProfile, Policy, ReasonCode, TransactionId,
};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use support::Harness;

/// An event with the transaction it names left symbolic: the current one or a stale one.
#[derive(Clone, Debug)]
enum Stimulus {
    Tick,
    Present,
    Chip {
        current: bool,
        result: ChipReadResult,
    },
    Face {
        current: bool,
        attempt: FaceAttempt,
    },
    Finger {
        current: bool,
        finger: Finger,
        attempt: FingerAttempt,
    },
    FacePhoto {
        current: bool,
        quality: Option<u8>,
    },
    Enrolment {
        current: bool,
        fingers: Vec<Finger>,
    },
    HandOver {
        current: bool,
        ok: bool,
    },
    Passage,
    Cancel,
    Officer,
    Raise(Condition),
    Clear(Condition),
}

fn finger() -> impl Strategy<Value = Finger> {
    prop_oneof![Just(Finger::LeftIndex), Just(Finger::RightIndex)]
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        Just(Condition::CameraDown),
        Just(Condition::OutboxFull),
        Just(Condition::ListsStale),
    ]
}

fn chip_result() -> impl Strategy<Value = ChipReadResult> {
    let facts = (1930i32..2022, 2019i32..2035, prop::bool::weighted(0.9)).prop_map(
        |(born, expires, passport)| {
            let mut facts = specimen_facts(DocumentHash([9; 32]));
            facts.birth_date = Date::new(born, 6, 1).ok();
            facts.expiry_date = Date::new(expires, 6, 1).unwrap_or(facts.expiry_date);
            if !passport {
                facts.document_code = "ID".into();
            }
            facts
        },
    );
    let authenticity = prop_oneof![
        6 => Just(Authenticity::Verified),
        1 => Just(Authenticity::NotChecked),
        1 => Just(Authenticity::Failed { reason: ReasonCode::DocumentNotAuthentic }),
    ];
    prop_oneof![
        8 => (facts, authenticity, prop::bool::weighted(0.1)).prop_map(
            |(facts, authenticity, denylisted)| ChipReadResult::Read { facts, authenticity, denylisted }
        ),
        1 => Just(ChipReadResult::Failed { reason: ReasonCode::ChipReadFailed }),
    ]
}

fn face_attempt() -> impl Strategy<Value = FaceAttempt> {
    prop_oneof![
        6 => (-0.2f32..1.0, 0.0f32..0.4, 0u8..=100).prop_map(|(score, attack_score, quality)| {
            FaceAttempt::Compared { score, attack_score, quality }
        }),
        1 => Just(FaceAttempt::NoFace),
        1 => Just(FaceAttempt::MultipleFaces),
        1 => (0u8..60).prop_map(|quality| FaceAttempt::QualityTooLow {
            quality,
            shortfalls: vec![gate_core::FaceQualityShortfall {
                check: gate_core::FaceQualityCheck::Blurred,
                measured: 12.0,
                limit: 20.0,
            }],
        }),
    ]
}

fn finger_attempt() -> impl Strategy<Value = FingerAttempt> {
    prop_oneof![
        (0u8..=100).prop_map(|quality| FingerAttempt::Captured { quality }),
        (0u8..=100, 0u16..300, any::<bool>()).prop_map(|(quality, score, matched)| {
            FingerAttempt::Verified {
                quality,
                score,
                matched,
            }
        }),
        Just(FingerAttempt::NoFinger),
    ]
}

fn stimulus() -> impl Strategy<Value = Stimulus> {
    let current = prop::bool::weighted(0.85);
    prop_oneof![
        3 => Just(Stimulus::Tick),
        3 => Just(Stimulus::Present),
        4 => (current, chip_result()).prop_map(|(current, result)| Stimulus::Chip { current, result }),
        4 => (current, face_attempt()).prop_map(|(current, attempt)| Stimulus::Face { current, attempt }),
        4 => (current, finger(), finger_attempt())
            .prop_map(|(current, finger, attempt)| Stimulus::Finger { current, finger, attempt }),
        2 => (current, prop::option::weighted(0.9, 0u8..=100))
            .prop_map(|(current, quality)| Stimulus::FacePhoto { current, quality }),
        2 => (current, prop::collection::vec(finger(), 0..=2))
            .prop_map(|(current, fingers)| Stimulus::Enrolment { current, fingers }),
        1 => (current, prop::bool::weighted(0.8)).prop_map(|(current, ok)| Stimulus::HandOver { current, ok }),
        2 => Just(Stimulus::Passage),
        1 => Just(Stimulus::Cancel),
        1 => Just(Stimulus::Officer),
        1 => condition().prop_map(Stimulus::Raise),
        1 => condition().prop_map(Stimulus::Clear),
    ]
}

/// What the test knows, independently of the machine, about each transaction.
#[derive(Default)]
struct Oracle {
    /// Transactions the gate accepted, in order.
    accepted: Vec<TransactionId>,
    /// Index of the event at which the document was read and eligible.
    eligible_at: HashMap<TransactionId, usize>,
    /// Whether a positive biometric result arrived after eligibility.
    biometric_ok: HashSet<TransactionId>,
    /// Enrolled fingers seen for the transaction (fingerprint gate).
    enrolled: HashMap<TransactionId, Vec<Finger>>,
    recorded: HashMap<TransactionId, usize>,
    unlocked: HashMap<TransactionId, usize>,
    /// The stages each transaction was seen to enter, from the commands that start them.
    entered: HashMap<TransactionId, Entered>,
}

/// Stages a transaction entered, as the commands show them.
#[derive(Default)]
struct Entered {
    document: bool,
    biometric: bool,
    passage: bool,
}

fn run(profile: GateProfile, script: Vec<(u64, Stimulus)>) -> Result<(), TestCaseError> {
    let policy: Policy = example_policy();
    let mut h = Harness::new(profile);
    let mut oracle = Oracle::default();
    let mut next_id = 1u128;
    let stale = TransactionId(u128::MAX);
    for (index, (delta, stimulus)) in script.into_iter().enumerate() {
        h.now = h.now.after_ms(delta);
        let current = oracle.accepted.last().copied().unwrap_or(stale);
        let pick = |is_current: bool| if is_current { current } else { stale };
        let event = match stimulus {
            Stimulus::Tick => Event::Tick,
            Stimulus::Present => {
                next_id += 1;
                Event::DocumentPresented {
                    transaction_id: TransactionId(next_id),
                }
            }
            Stimulus::Chip { current: c, result } => {
                let id = pick(c);
                if let ChipReadResult::Read {
                    facts,
                    authenticity,
                    denylisted,
                } = &result
                {
                    let today = h.now.local_date(policy.eligibility.utc_offset_minutes);
                    let eligible = policy
                        .eligibility
                        .check(facts, *authenticity, *denylisted, today)
                        .is_empty();
                    if eligible && h.gate.current_transaction() == Some(id) {
                        oracle.eligible_at.entry(id).or_insert(index);
                    }
                }
                Event::ChipRead {
                    transaction_id: id,
                    result,
                    timings: Default::default(),
                }
            }
            Stimulus::Face {
                current: c,
                attempt,
            } => {
                let id = pick(c);
                if let FaceAttempt::Compared {
                    score,
                    attack_score,
                    ..
                } = attempt
                    && oracle.eligible_at.contains_key(&id)
                    && score >= policy.face.match_threshold
                    && attack_score <= policy.face.attack_threshold
                {
                    oracle.biometric_ok.insert(id);
                }
                Event::FaceCaptured {
                    transaction_id: id,
                    attempt,
                }
            }
            Stimulus::Finger {
                current: c,
                finger,
                attempt,
            } => {
                let id = pick(c);
                if let FingerAttempt::Verified {
                    quality,
                    score,
                    matched,
                } = attempt
                {
                    let enrolled_first = oracle.enrolled.get(&id).and_then(|f| f.first().copied());
                    if oracle.eligible_at.contains_key(&id)
                        && enrolled_first == Some(finger)
                        && quality >= policy.fingerprint.quality_floor
                        && matched
                        && score >= policy.fingerprint.match_threshold
                    {
                        oracle.biometric_ok.insert(id);
                    }
                }
                Event::FingerCaptured {
                    transaction_id: id,
                    finger,
                    attempt,
                }
            }
            Stimulus::FacePhoto {
                current: c,
                quality,
            } => Event::FacePhotoCaptured {
                transaction_id: pick(c),
                quality,
            },
            Stimulus::Enrolment {
                current: c,
                fingers,
            } => {
                let id = pick(c);
                if oracle.eligible_at.contains_key(&id) {
                    oracle.enrolled.entry(id).or_insert_with(|| fingers.clone());
                }
                Event::EnrolmentLookedUp {
                    transaction_id: id,
                    fingers,
                }
            }
            Stimulus::HandOver { current: c, ok } => Event::RecordHandedOver {
                transaction_id: pick(c),
                ok,
            },
            Stimulus::Passage => Event::PassageConfirmed,
            Stimulus::Cancel => Event::TravellerCancelled,
            Stimulus::Officer => Event::OfficerReset,
            Stimulus::Raise(condition) => Event::ConditionRaised { condition },
            Stimulus::Clear(condition) => Event::ConditionCleared { condition },
        };
        let presented = match &event {
            Event::DocumentPresented { transaction_id } => Some(*transaction_id),
            _ => None,
        };
        let out = h.send(event);
        check_batch(&mut oracle, presented, &out)?;
    }
    // Shutdown ends whatever is in progress: then every accepted transaction has one record.
    let out = h.send(Event::Shutdown);
    check_batch(&mut oracle, None, &out)?;
    if profile == GateProfile::BioCart {
        prop_assert!(!h.unlocked(), "a BioCart has no door to open");
    }
    prop_assert!(out.contains(&Command::LockDoor));
    for id in &oracle.accepted {
        prop_assert_eq!(
            oracle.recorded.get(id),
            Some(&1),
            "transaction {} records",
            id
        );
    }
    Ok(())
}

fn check_batch(
    oracle: &mut Oracle,
    presented: Option<TransactionId>,
    out: &[Command],
) -> Result<(), TestCaseError> {
    if let Some(id) = presented
        && out.contains(&Command::ReadChip { transaction_id: id })
    {
        oracle.accepted.push(id);
    }
    let current = oracle.accepted.last().copied();
    for (at, command) in out.iter().enumerate() {
        match command {
            Command::ReadChip { transaction_id } => {
                oracle.entered.entry(*transaction_id).or_default().document = true;
            }
            Command::CaptureFace { transaction_id, .. }
            | Command::CaptureFinger { transaction_id, .. }
            | Command::CaptureFacePhoto { transaction_id, .. } => {
                oracle.entered.entry(*transaction_id).or_default().biometric = true;
            }
            _ => {}
        }
        match command {
            Command::UnlockDoor { transaction_id, .. } => {
                prop_assert_eq!(
                    Some(*transaction_id),
                    current,
                    "door opened for a stale transaction"
                );
                prop_assert!(
                    oracle.eligible_at.contains_key(transaction_id),
                    "door opened without an eligible, authentic document"
                );
                prop_assert!(
                    oracle.biometric_ok.contains(transaction_id),
                    "door opened without a positive biometric result"
                );
                prop_assert!(
                    !oracle.recorded.contains_key(transaction_id),
                    "door opened after the outcome"
                );
                *oracle.unlocked.entry(*transaction_id).or_default() += 1;
                oracle.entered.entry(*transaction_id).or_default().passage = true;
                prop_assert_eq!(
                    oracle.unlocked[transaction_id],
                    1,
                    "door opened twice for one decision"
                );
            }
            Command::RecordOutcome { record } => {
                let id = record.transaction_id;
                prop_assert!(
                    oracle.accepted.contains(&id),
                    "record for a transaction never started"
                );
                *oracle.recorded.entry(id).or_default() += 1;
                prop_assert_eq!(oracle.recorded[&id], 1, "second record for {}", id);
                prop_assert!(
                    out[at..].contains(&Command::DiscardTransactionData { transaction_id: id }),
                    "transaction data not discarded after the record"
                );
                prop_assert!(
                    out[..at].contains(&Command::LockDoor),
                    "record without locking first"
                );
                check_timings(record, oracle.entered.get(&id))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every stage the transaction went through has its time, whatever the ending; no stage time
/// exceeds the whole; a decision has its time.
fn check_timings(
    record: &gate_core::OutcomeRecord,
    entered: Option<&Entered>,
) -> Result<(), TestCaseError> {
    let t = &record.timings;
    let id = record.transaction_id;
    let entered = entered.ok_or_else(|| TestCaseError::fail(format!("{id}: no stage seen")))?;
    prop_assert_eq!(
        t.document_ms.is_some(),
        entered.document,
        "{} document_ms",
        id
    );
    prop_assert_eq!(
        t.biometric_ms.is_some(),
        entered.biometric,
        "{} biometric_ms",
        id
    );
    prop_assert_eq!(t.passage_ms.is_some(), entered.passage, "{} passage_ms", id);
    prop_assert_eq!(
        t.decision_ms.is_some(),
        record.decision.is_some(),
        "{} decision_ms",
        id
    );
    for stage in [t.document_ms, t.biometric_ms, t.passage_ms, t.decision_ms]
        .into_iter()
        .flatten()
    {
        prop_assert!(stage <= t.total_ms, "{}: a stage longer than the whole", id);
    }
    prop_assert!(t.face_bursts_ms.len() <= usize::from(record.attempts.face));
    let bursts: u64 = t.face_bursts_ms.iter().sum();
    prop_assert!(
        bursts <= t.biometric_ms.unwrap_or(0),
        "{}: bursts beyond biometric",
        id
    );
    Ok(())
}

fn script() -> impl Strategy<Value = Vec<(u64, Stimulus)>> {
    prop::collection::vec(
        (
            prop_oneof![3 => 0u64..2_000, 1 => 2_000u64..40_000],
            stimulus(),
        ),
        1..80,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn face_gate_invariants(script in script()) {
        run(GateProfile::FaceGate, script)?;
    }

    #[test]
    fn fingerprint_gate_invariants(script in script()) {
        run(GateProfile::FingerprintGate, script)?;
    }

    #[test]
    fn biocart_invariants_and_no_door(script in script()) {
        run(GateProfile::BioCart, script)?;
    }
}

//! Scenario tests: one traveller at a time through each profile, with time as an input.

mod support;

use gate_core::examples::specimen_facts;
use gate_core::{
    Authenticity, ChipReadResult, ChipReadTimings, Command, Condition, Date, DocumentHash, Event,
    FaceAttempt, Finger, FingerAttempt, GateProfile, Lights, Outcome, Prompt, ReasonCode,
    TransactionId,
};
use support::{Harness, has};

const T1: TransactionId = TransactionId(1);

fn compared(score: f32, attack_score: f32) -> Event {
    Event::FaceCaptured {
        transaction_id: T1,
        attempt: FaceAttempt::Compared {
            score,
            attack_score,
            quality: 80,
        },
    }
}

fn finger(finger: Finger, attempt: FingerAttempt) -> Event {
    Event::FingerCaptured {
        transaction_id: T1,
        finger,
        attempt,
    }
}

#[test]
fn face_gate_happy_path_opens_once_and_records_pass() {
    let mut h = Harness::new(GateProfile::FaceGate);
    assert_eq!(
        h.log[0],
        Command::LockDoor,
        "door locked before anything else"
    );
    let out = h.present(1);
    assert!(has(&out, &Command::ReadChip { transaction_id: T1 }));
    h.now = h.now.after_ms(1_200);
    let out = h.chip_ok(1);
    assert!(has(
        &out,
        &Command::CaptureFace {
            transaction_id: T1,
            attempt: 1
        }
    ));
    assert!(!h.unlocked());
    h.now = h.now.after_ms(900);
    let out = h.send(compared(0.71, 0.01));
    assert!(has(
        &out,
        &Command::UnlockDoor {
            transaction_id: T1,
            for_ms: 10_000
        }
    ));
    assert!(has(
        &out,
        &Command::SetLights {
            lights: Lights::Green
        }
    ));
    h.now = h.now.after_ms(3_000);
    let out = h.send(Event::PassageConfirmed);
    assert!(has(&out, &Command::LockDoor));
    assert!(has(
        &out,
        &Command::DiscardTransactionData { transaction_id: T1 }
    ));
    let records = h.records();
    assert_eq!(records.len(), 1);
    let record = records[0];
    assert_eq!(record.outcome, Outcome::Passed);
    assert!(record.reasons.is_empty());
    assert_eq!(record.document_hash, Some(DocumentHash([0x42; 32])));
    assert_eq!(record.scores.face_match, Some(0.71));
    assert_eq!(record.timings.document_ms, Some(1_200));
    assert_eq!(record.timings.biometric_ms, Some(900));
    assert_eq!(record.timings.passage_ms, Some(3_000));
    assert_eq!(record.timings.total_ms, 5_100);
    assert_eq!(h.gate.snapshot().state, "idle");
    assert_eq!(h.gate.snapshot().counters.passed, 1);
}

#[test]
fn face_mismatch_retries_then_denies_and_holds_for_officer() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    let out = h.send(compared(0.10, 0.0));
    assert!(has(
        &out,
        &Command::CaptureFace {
            transaction_id: T1,
            attempt: 2
        }
    ));
    h.send(Event::FaceCaptured {
        transaction_id: T1,
        attempt: FaceAttempt::NoFace,
    });
    let out = h.send(compared(0.20, 0.0));
    assert!(has(
        &out,
        &Command::CallOfficer {
            transaction_id: Some(T1),
            reasons: vec![ReasonCode::FaceMismatch]
        }
    ));
    assert!(has(
        &out,
        &Command::SetLights {
            lights: Lights::Red
        }
    ));
    assert!(!h.unlocked());
    let record = h.records()[0].clone();
    assert_eq!(record.outcome, Outcome::Denied);
    assert_eq!(record.attempts.face, 3);
    // Holding: the next traveller waits for the officer.
    assert_eq!(h.gate.snapshot().state, "holding");
    h.present(2);
    assert_eq!(h.gate.current_transaction(), None);
    let out = h.send(Event::OfficerReset);
    assert!(has(
        &out,
        &Command::Show {
            prompt: Prompt::PlaceDocument
        }
    ));
    h.present(3);
    assert_eq!(h.gate.current_transaction(), Some(TransactionId(3)));
}

#[test]
fn deny_hold_expires_by_itself() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    // A document the traveller cannot fix: denied at once.
    h.send(Event::ChipRead {
        transaction_id: T1,
        result: ChipReadResult::Failed {
            reason: ReasonCode::DocumentMalformed,
        },
        timings: Default::default(),
    });
    assert_eq!(h.records()[0].reasons, [ReasonCode::DocumentMalformed]);
    assert_eq!(h.gate.next_deadline(), Some(h.now.monotonic_ms + 30_000));
    h.advance(29_999);
    assert_eq!(h.gate.snapshot().state, "holding");
    h.advance(1);
    assert_eq!(h.gate.snapshot().state, "idle");
}

#[test]
fn a_deny_hold_restored_after_a_restart_calls_the_officer_and_holds_until_reset_or_expiry() {
    let mut h = Harness::new(GateProfile::FaceGate);
    let out = h
        .gate
        .restore_hold(h.now, T1, vec![ReasonCode::FaceMismatch], 10_000);
    assert_eq!(
        out,
        [
            Command::LockDoor,
            Command::SetLights {
                lights: Lights::Red
            },
            Command::Show {
                prompt: Prompt::SeeOfficer
            },
            Command::CallOfficer {
                transaction_id: Some(T1),
                reasons: vec![ReasonCode::FaceMismatch]
            },
        ]
    );
    assert_eq!(h.gate.snapshot().state, "holding");
    assert_eq!(h.gate.holding_until(), Some(h.now.monotonic_ms + 10_000));
    // Not a second time, and not while holding.
    assert!(
        h.gate
            .restore_hold(h.now, T1, vec![ReasonCode::FaceMismatch], 10_000)
            .is_empty()
    );
    h.present(2);
    assert_eq!(h.gate.current_transaction(), None, "travellers wait");
    h.advance(9_999);
    assert_eq!(h.gate.snapshot().state, "holding");
    h.advance(1);
    assert_eq!(h.gate.snapshot().state, "idle");
    assert_eq!(h.gate.holding_until(), None);

    // An officer's reset ends a restored hold at once; a transaction in progress is never
    // turned into a hold.
    let mut h = Harness::new(GateProfile::FaceGate);
    h.gate
        .restore_hold(h.now, T1, vec![ReasonCode::DenylistHit], 60_000);
    h.send(Event::OfficerReset);
    assert_eq!(h.gate.snapshot().state, "idle");
    h.present(3);
    assert!(
        h.gate
            .restore_hold(h.now, T1, vec![ReasonCode::DenylistHit], 60_000)
            .is_empty()
    );
    assert_eq!(h.gate.current_transaction(), Some(TransactionId(3)));
}

#[test]
fn a_transaction_cut_by_a_crash_is_recorded_with_its_stage_and_decision() {
    let open = gate_core::OpenTransaction {
        transaction_id: T1,
        profile: GateProfile::FaceGate,
        started_at_unix_ms: 1_795_662_000_000,
        stage: gate_core::Step::Passage,
        decision: Some(gate_core::Decision::Pass),
        document_hash: Some(DocumentHash([0x42; 32])),
    };
    let record = gate_core::OutcomeRecord::aborted_by_restart(&open, 1_795_662_004_500);
    assert_eq!(record.outcome, Outcome::Aborted);
    assert_eq!(record.reasons, [ReasonCode::AbortedByRestart]);
    assert_eq!(record.decision, Some(gate_core::Decision::Pass));
    assert_eq!(record.interrupted_at, Some(gate_core::Step::Passage));
    assert_eq!(record.timings.total_ms, 4_500);
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["interrupted_at"], "passage");
    assert_eq!(json["reasons"], serde_json::json!(["ABORTED_BY_RESTART"]));
    // Records of transactions that ended normally carry no such field.
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.advance(60_000);
    let normal = serde_json::to_value(h.records()[0]).unwrap();
    assert!(normal.get("interrupted_at").is_none(), "{normal}");
}

#[test]
fn presentation_attack_denies_at_once_even_with_a_high_match() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    h.send(compared(0.95, 0.9));
    let record = &h.records()[0];
    assert_eq!(record.reasons, [ReasonCode::PresentationAttack]);
    assert_eq!(record.attempts.face, 1);
    assert!(!h.unlocked());
}

#[test]
fn ineligible_documents_are_denied_with_every_reason() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    let mut facts = specimen_facts(DocumentHash([1; 32]));
    facts.expiry_date = Date::new(2020, 1, 1).unwrap();
    facts.document_code = "ID".into();
    h.send(Event::ChipRead {
        transaction_id: T1,
        result: ChipReadResult::Read {
            facts,
            authenticity: Authenticity::Failed {
                reason: ReasonCode::DocumentNotAuthentic,
            },
            denylisted: true,
        },
        timings: Default::default(),
    });
    assert_eq!(
        h.records()[0].reasons,
        [
            ReasonCode::DocumentNotAuthentic,
            ReasonCode::DenylistHit,
            ReasonCode::DocumentTypeNotEligible,
            ReasonCode::DocumentExpired
        ]
    );
    assert!(!h.unlocked());
}

#[test]
fn chip_read_timeout_denies() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.advance(8_000);
    assert_eq!(h.records()[0].reasons, [ReasonCode::ChipReadTimeout]);
    // A late answer for the finished transaction changes nothing.
    let out = h.chip_ok(1);
    assert!(out.is_empty());
}

#[test]
fn face_capture_timeout_denies() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    h.advance(14_999);
    assert!(h.records().is_empty());
    h.advance(1);
    assert_eq!(h.records()[0].reasons, [ReasonCode::FaceCaptureTimeout]);
}

#[test]
fn unused_door_release_relocks_and_times_out() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    h.send(compared(0.8, 0.0));
    let out = h.advance(10_000);
    assert!(has(&out, &Command::LockDoor));
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::TimedOut);
    assert_eq!(record.reasons, [ReasonCode::PassageNotCompleted]);
    assert_eq!(record.timings.passage_ms, Some(10_000));
}

#[test]
fn results_of_another_transaction_are_ignored() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    let stale = h.send(Event::ChipRead {
        transaction_id: TransactionId(99),
        result: support::good_read(),
        timings: Default::default(),
    });
    assert!(stale.is_empty());
    h.chip_ok(1);
    let out = h.send(Event::FaceCaptured {
        transaction_id: TransactionId(99),
        attempt: FaceAttempt::Compared {
            score: 0.99,
            attack_score: 0.0,
            quality: 90,
        },
    });
    assert!(out.is_empty());
    assert!(!h.unlocked());
}

#[test]
fn a_condition_aborts_the_transaction_and_keeps_the_gate_closed() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    let out = h.send(Event::ConditionRaised {
        condition: Condition::CameraDown,
    });
    assert!(has(&out, &Command::LockDoor));
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::Aborted);
    assert_eq!(record.reasons, [ReasonCode::CameraUnavailable]);
    h.send(Event::OfficerReset);
    let out = h.present(2);
    assert_eq!(
        out,
        [Command::Show {
            prompt: Prompt::OutOfService
        }]
    );
    assert_eq!(
        h.gate.snapshot().out_of_service_reasons,
        [ReasonCode::CameraUnavailable]
    );
    let out = h.send(Event::ConditionCleared {
        condition: Condition::CameraDown,
    });
    assert!(has(
        &out,
        &Command::Show {
            prompt: Prompt::PlaceDocument
        }
    ));
    h.present(3);
    assert_eq!(h.gate.current_transaction(), Some(TransactionId(3)));
}

#[test]
fn shutdown_mid_transaction_locks_and_records_aborted() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    h.send(compared(0.9, 0.0));
    assert!(h.unlocked());
    let out = h.send(Event::Shutdown);
    let lock_at = out.iter().position(|c| *c == Command::LockDoor).unwrap();
    let record_at = out
        .iter()
        .position(|c| matches!(c, Command::RecordOutcome { .. }))
        .unwrap();
    assert!(lock_at < record_at, "lock first, then record");
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::Aborted);
    assert_eq!(record.reasons, [ReasonCode::Shutdown]);
    assert_eq!(h.gate.snapshot().state, "stopped");
    let out = h.present(2);
    assert_eq!(
        out,
        [Command::Show {
            prompt: Prompt::OutOfService
        }]
    );
}

#[test]
fn biocart_completes_with_a_retry_and_never_opens_a_door() {
    let mut h = Harness::new(GateProfile::BioCart);
    h.present(1);
    let out = h.chip_ok(1);
    assert!(has(
        &out,
        &Command::Show {
            prompt: Prompt::PlaceLeftIndex
        }
    ));
    let out = h.send(finger(
        Finger::LeftIndex,
        FingerAttempt::Captured { quality: 30 },
    ));
    assert!(has(
        &out,
        &Command::CaptureFinger {
            transaction_id: T1,
            finger: Finger::LeftIndex,
            attempt: 2
        }
    ));
    // The right finger is not what the cart asked for yet.
    assert!(
        h.send(finger(
            Finger::RightIndex,
            FingerAttempt::Captured { quality: 99 }
        ))
        .is_empty()
    );
    h.send(finger(
        Finger::LeftIndex,
        FingerAttempt::Captured { quality: 80 },
    ));
    let out = h.send(finger(
        Finger::RightIndex,
        FingerAttempt::Captured { quality: 90 },
    ));
    assert!(has(
        &out,
        &Command::CaptureFacePhoto {
            transaction_id: T1,
            attempt: 1
        }
    ));
    let out = h.send(Event::FacePhotoCaptured {
        transaction_id: T1,
        quality: Some(70),
    });
    assert!(has(&out, &Command::HandOverRecord { transaction_id: T1 }));
    let out = h.send(Event::RecordHandedOver {
        transaction_id: T1,
        ok: true,
    });
    assert!(has(
        &out,
        &Command::Show {
            prompt: Prompt::ProceedToBooth
        }
    ));
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::Completed);
    assert_eq!(
        record.scores.finger_quality,
        [(Finger::LeftIndex, 80), (Finger::RightIndex, 90)]
    );
    assert_eq!(record.attempts.finger, 3);
    assert!(!h.unlocked());
}

#[test]
fn biocart_traveller_abandons_half_way() {
    let mut h = Harness::new(GateProfile::BioCart);
    h.present(1);
    h.chip_ok(1);
    h.send(finger(
        Finger::LeftIndex,
        FingerAttempt::Captured { quality: 80 },
    ));
    let out = h.send(Event::TravellerCancelled);
    assert!(has(
        &out,
        &Command::DiscardTransactionData { transaction_id: T1 }
    ));
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::Abandoned);
    assert_eq!(record.reasons, [ReasonCode::TravellerCancelled]);
    assert_eq!(h.gate.snapshot().state, "idle");
}

#[test]
fn biocart_quality_fails_three_times() {
    let mut h = Harness::new(GateProfile::BioCart);
    h.present(1);
    h.chip_ok(1);
    for _ in 0..3 {
        h.send(finger(
            Finger::LeftIndex,
            FingerAttempt::Captured { quality: 10 },
        ));
    }
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::Denied);
    assert_eq!(record.reasons, [ReasonCode::FingerprintQualityTooLow]);
}

#[test]
fn biocart_walk_away_times_out_as_abandoned() {
    let mut h = Harness::new(GateProfile::BioCart);
    h.present(1);
    h.chip_ok(1);
    h.advance(10_000);
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::Abandoned);
}

fn enrolled(h: &mut Harness, fingers: Vec<Finger>) -> Vec<Command> {
    h.send(Event::EnrolmentLookedUp {
        transaction_id: T1,
        fingers,
    })
}

#[test]
fn fingerprint_gate_enrolled_traveller_passes() {
    let mut h = Harness::new(GateProfile::FingerprintGate);
    h.present(1);
    let out = h.chip_ok(1);
    assert!(has(&out, &Command::LookupEnrolment { transaction_id: T1 }));
    let out = enrolled(&mut h, vec![Finger::RightIndex, Finger::LeftIndex]);
    assert!(has(
        &out,
        &Command::CaptureFinger {
            transaction_id: T1,
            finger: Finger::RightIndex,
            attempt: 1
        }
    ));
    let out = h.send(finger(
        Finger::RightIndex,
        FingerAttempt::Verified {
            quality: 70,
            score: 180,
            matched: true,
        },
    ));
    assert!(has(
        &out,
        &Command::UnlockDoor {
            transaction_id: T1,
            for_ms: 10_000
        }
    ));
    h.send(Event::PassageConfirmed);
    let record = &h.records()[0];
    assert_eq!(record.outcome, Outcome::Passed);
    assert_eq!(record.scores.fingerprint_match, Some(180));
}

#[test]
fn fingerprint_gate_refuses_unregistered_traveller() {
    let mut h = Harness::new(GateProfile::FingerprintGate);
    h.present(1);
    h.chip_ok(1);
    enrolled(&mut h, vec![]);
    assert_eq!(h.records()[0].reasons, [ReasonCode::NotEnrolled]);
    assert!(!h.unlocked());
}

#[test]
fn fingerprint_gate_refuses_wrong_finger() {
    let mut h = Harness::new(GateProfile::FingerprintGate);
    h.present(1);
    h.chip_ok(1);
    enrolled(&mut h, vec![Finger::LeftIndex]);
    for _ in 0..3 {
        h.send(finger(
            Finger::LeftIndex,
            FingerAttempt::Verified {
                quality: 70,
                score: 12,
                matched: false,
            },
        ));
    }
    let record = &h.records()[0];
    assert_eq!(record.reasons, [ReasonCode::FingerprintMismatch]);
    assert_eq!(record.attempts.finger, 3);
    assert!(!h.unlocked());
}

#[test]
fn a_finger_the_module_refused_never_passes_and_its_score_is_recorded() {
    // The policy's threshold may sit below the module's own (here 60 >= 50 of the policy):
    // the module's refusal still stands, and the score it sent is on the record.
    let mut h = Harness::new(GateProfile::FingerprintGate);
    h.present(1);
    h.chip_ok(1);
    enrolled(&mut h, vec![Finger::RightIndex]);
    for _ in 0..3 {
        h.send(finger(
            Finger::RightIndex,
            FingerAttempt::Verified {
                quality: 70,
                score: 60,
                matched: false,
            },
        ));
    }
    let record = &h.records()[0];
    assert_eq!(record.reasons, [ReasonCode::FingerprintMismatch]);
    assert_eq!(record.scores.fingerprint_match, Some(60));
    assert!(!h.unlocked());
}

#[test]
fn record_serialises_with_stable_field_names() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    h.send(compared(0.9, 0.0));
    h.send(Event::PassageConfirmed);
    let json = serde_json::to_value(h.records()[0]).unwrap();
    assert_eq!(json["outcome"], "passed");
    assert_eq!(json["profile"], "face_gate");
    assert_eq!(json["decision"], "pass");
    assert_eq!(json["document_hash"], "42".repeat(32));
    assert_eq!(json["schema_version"], 1);
    // The timings' names are read by central and listed in its OpenAPI file.
    let timings = json["timings"].as_object().unwrap();
    let mut names: Vec<&str> = timings.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "authenticity_ms",
            "biometric_ms",
            "chip_read_ms",
            "decision_ms",
            "document_ms",
            "face_bursts_ms",
            "passage_ms",
            "total_ms"
        ]
    );
    // A record written before the newer timings existed still reads.
    let mut old = json.clone();
    for name in [
        "chip_read_ms",
        "authenticity_ms",
        "face_bursts_ms",
        "decision_ms",
    ] {
        old["timings"].as_object_mut().unwrap().remove(name);
    }
    let read: gate_core::OutcomeRecord = serde_json::from_value(old).unwrap();
    assert_eq!(read.timings.decision_ms, None);
    assert!(read.timings.face_bursts_ms.is_empty());
}

#[test]
fn a_pass_records_every_stage_it_went_through() {
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.now = h.now.after_ms(1_500);
    h.send(Event::ChipRead {
        transaction_id: T1,
        result: support::good_read(),
        timings: ChipReadTimings {
            read_ms: Some(1_100),
            authenticity_ms: Some(250),
        },
    });
    h.now = h.now.after_ms(700);
    h.send(compared(0.2, 0.0));
    h.now = h.now.after_ms(800);
    h.send(compared(0.9, 0.0));
    h.now = h.now.after_ms(2_000);
    h.send(Event::PassageConfirmed);
    let t = &h.records()[0].timings;
    assert_eq!(t.document_ms, Some(1_500));
    assert_eq!(
        (t.chip_read_ms, t.authenticity_ms),
        (Some(1_100), Some(250))
    );
    assert_eq!(t.face_bursts_ms, [700, 800]);
    assert_eq!(t.biometric_ms, Some(1_500));
    assert_eq!(
        t.decision_ms,
        Some(3_000),
        "the door released after the match"
    );
    assert_eq!(t.passage_ms, Some(2_000));
    assert_eq!(t.total_ms, 5_000);
}

#[test]
fn a_deny_records_the_time_of_the_stage_it_ended_in() {
    // Three face captures, all mismatches: the biometric time is there (it used to be null).
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.now = h.now.after_ms(1_000);
    h.chip_ok(1);
    for _ in 0..3 {
        h.now = h.now.after_ms(600);
        h.send(compared(0.1, 0.0));
    }
    let record = h.records()[0].clone();
    assert_eq!(record.outcome, Outcome::Denied);
    assert_eq!(record.reasons, [ReasonCode::FaceMismatch]);
    assert_eq!(record.attempts.face, 3);
    let t = &record.timings;
    assert_eq!(t.document_ms, Some(1_000));
    assert_eq!(t.biometric_ms, Some(1_800));
    assert_eq!(t.face_bursts_ms, [600, 600, 600]);
    assert_eq!(t.decision_ms, Some(2_800), "the deny is the decision");
    assert_eq!(t.passage_ms, None, "never reached");
    assert_eq!(t.total_ms, 2_800);

    // A refused document: the document time, the reader's own times, nothing after.
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.now = h.now.after_ms(2_000);
    h.send(Event::ChipRead {
        transaction_id: T1,
        result: ChipReadResult::Failed {
            reason: ReasonCode::DocumentMalformed,
        },
        timings: ChipReadTimings {
            read_ms: Some(1_900),
            authenticity_ms: None,
        },
    });
    let t = &h.records()[0].timings;
    assert_eq!(t.document_ms, Some(2_000));
    assert_eq!((t.chip_read_ms, t.authenticity_ms), (Some(1_900), None));
    assert_eq!((t.biometric_ms, t.passage_ms), (None, None));
    assert!(t.face_bursts_ms.is_empty());
    assert_eq!(t.decision_ms, Some(2_000));

    // A face capture that never answered: the biometric time until the timeout, no decision
    // time for the burst cut short.
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.chip_ok(1);
    let timeout = h.gate.policy().face.capture_timeout_ms;
    h.advance(timeout);
    let record = h.records()[0].clone();
    assert_eq!(record.reasons, [ReasonCode::FaceCaptureTimeout]);
    assert_eq!(record.timings.biometric_ms, Some(timeout));
    assert!(record.timings.face_bursts_ms.is_empty());

    // Aborted by a fault while reading: the document time so far, no decision.
    let mut h = Harness::new(GateProfile::FaceGate);
    h.present(1);
    h.now = h.now.after_ms(400);
    h.send(Event::ConditionRaised {
        condition: Condition::ChipReaderDown,
    });
    let t = &h.records()[0].timings;
    assert_eq!(t.document_ms, Some(400));
    assert_eq!(t.decision_ms, None);
}

fn chip_failed(reason: ReasonCode) -> Event {
    Event::ChipRead {
        transaction_id: T1,
        result: ChipReadResult::Failed { reason },
        timings: Default::default(),
    }
}

#[test]
fn a_chip_read_the_traveller_can_fix_is_tried_again_before_an_officer_is_called() {
    let mut h = Harness::new(GateProfile::FaceGate);
    let attempts = h.gate.policy().document.read_attempts;
    assert_eq!(attempts, 3, "the default");
    h.present(1);
    // The passport moved: lay it down again, read again with a fresh time limit.
    h.now = h.now.after_ms(7_000);
    let out = h.send(chip_failed(ReasonCode::ChipReadFailed));
    assert!(has(
        &out,
        &Command::Show {
            prompt: Prompt::ReplaceDocument
        }
    ));
    assert!(has(&out, &Command::ReadChip { transaction_id: T1 }));
    assert!(h.records().is_empty(), "no deny, no officer");
    h.now = h.now.after_ms(7_000);
    assert!(
        h.send(Event::Tick).is_empty(),
        "the second read has its own 8 s"
    );
    // The second read works: on to the face.
    let out = h.chip_ok(1);
    assert!(has(
        &out,
        &Command::CaptureFace {
            transaction_id: T1,
            attempt: 1
        }
    ));

    // Failures the traveller cannot fix are denied at once; fixable ones after the last try.
    for (reason, tries) in [
        (ReasonCode::DocumentMalformed, 1),
        (ReasonCode::ChipAccessDenied, attempts),
        (ReasonCode::ChipReadTimeout, attempts),
    ] {
        let mut h = Harness::new(GateProfile::BioCart);
        h.present(1);
        for _ in 1..tries {
            let out = h.send(chip_failed(reason));
            assert!(
                has(&out, &Command::ReadChip { transaction_id: T1 }),
                "{reason}"
            );
        }
        h.send(chip_failed(reason));
        let records = h.records();
        assert_eq!(records.len(), 1, "{reason}");
        assert_eq!(records[0].reasons, [reason]);
    }
}

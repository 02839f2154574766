//! gated in process on a clock the test moves (as mini-redis and quinn test theirs): nothing
//! personal survives a transaction whatever its outcome, time limits run on the gate's clock,
//! and a deny hold restored after a restart ends when it was due.
#![allow(clippy::unwrap_used)]

mod support;

use gate_config::schema::ChipReaderConfig;
use gate_core::{GateProfile, Outcome, ReasonCode};
use gate_protocol::{Request, Response, SimulatedDocument, SimulatedTraveller, StatusReport};
use gated::clock::Clock;
use std::time::Duration;
use support::{EPOCH_UNIX_MS, InProcess, fast_sim_config, sim_profile_config};

const STEP: Duration = Duration::from_millis(10);

/// Runs the gate's clock until `id` has ended; returns its outcome and reasons.
fn until_ended(
    gate: &InProcess,
    id: gate_core::TransactionId,
    at_most: Duration,
) -> (Outcome, Vec<ReasonCode>) {
    let ended = |s: &StatusReport| {
        s.last_outcome
            .as_ref()
            .is_some_and(|o| o.transaction_id == id)
    };
    let status = gate.advance_until("the end of the transaction", STEP, at_most, ended);
    let last = status.last_outcome.unwrap();
    (last.outcome, last.reasons)
}

/// After every transaction, whatever its end: the loop holds nothing of it.
fn assert_nothing_held(gate: &InProcess, case: &str) {
    // One more wake-up of the loop, then its probe.
    gate.status();
    let probe = gate.probe();
    assert_eq!(probe.transaction, None, "{case}");
    assert_eq!(
        probe.holding_data_of, None,
        "{case}: personal data survived"
    );
}

fn reset_if_holding(gate: &InProcess) {
    if gate.status().state == "holding" {
        assert_eq!(gate.ok(Request::OfficerReset), Response::Done);
    }
}

#[test]
fn nothing_personal_survives_a_face_gate_transaction_whatever_its_outcome() {
    let gate = InProcess::start(&fast_sim_config());
    let cases: Vec<(&str, SimulatedTraveller, Outcome, Vec<ReasonCode>)> = vec![
        (
            "genuine",
            SimulatedTraveller::default(),
            Outcome::Passed,
            vec![],
        ),
        (
            "impostor",
            SimulatedTraveller {
                face_scores: vec![0.05],
                ..SimulatedTraveller::default()
            },
            Outcome::Denied,
            vec![ReasonCode::FaceMismatch],
        ),
        (
            "expired",
            SimulatedTraveller {
                document: SimulatedDocument::Expired,
                ..SimulatedTraveller::default()
            },
            Outcome::Denied,
            vec![ReasonCode::DocumentExpired],
        ),
        (
            "denylisted",
            SimulatedTraveller {
                document: SimulatedDocument::Denylisted,
                ..SimulatedTraveller::default()
            },
            Outcome::Denied,
            vec![ReasonCode::DenylistHit],
        ),
        (
            "stays put",
            SimulatedTraveller {
                walks_through: false,
                ..SimulatedTraveller::default()
            },
            Outcome::TimedOut,
            vec![ReasonCode::PassageNotCompleted],
        ),
    ];
    for (case, traveller, outcome, reasons) in cases {
        let id = gate.admit(traveller);
        // The document is read: the loop holds its data while the transaction runs.
        gate.advance_until("the document read", STEP, Duration::from_secs(5), |s| {
            s.state != "reading_document"
        });
        if gate.status().transaction_id == Some(id) {
            assert_eq!(gate.probe().holding_data_of, Some(id), "{case}");
        }
        assert_eq!(
            until_ended(&gate, id, Duration::from_secs(60)),
            (outcome, reasons),
            "{case}"
        );
        assert_nothing_held(&gate, case);
        reset_if_holding(&gate);
    }

    // Cut short by an officer, and by a condition, in the middle of the face step.
    let mut slow = fast_sim_config();
    slow.devices.camera = Some(gate_config::schema::CameraConfig::Simulated { capture_ms: 5_000 });
    drop(gate);
    let gate = InProcess::start(&slow);
    for (case, cut) in [
        ("officer", Request::OfficerReset),
        ("maintenance", Request::SetMaintenance { on: true }),
    ] {
        let id = gate.admit(SimulatedTraveller::default());
        gate.advance_until("the face step", STEP, Duration::from_secs(5), |s| {
            s.state == "matching_face"
        });
        assert_eq!(gate.probe().holding_data_of, Some(id), "{case}");
        gate.ok(cut);
        let (outcome, _) = until_ended(&gate, id, Duration::from_secs(1));
        assert_eq!(outcome, Outcome::Aborted, "{case}");
        assert_nothing_held(&gate, case);
        // The face burst under way still ends, late: nothing of it is kept either.
        gate.advance(Duration::from_secs(6));
        assert_nothing_held(&gate, case);
        gate.ok(Request::SetMaintenance { on: false });
        reset_if_holding(&gate);
    }
}

#[test]
fn a_document_read_that_arrives_after_its_transaction_timed_out_is_dropped_at_once() {
    // The reader answers after the core has given up on it.
    let mut config = fast_sim_config();
    config.devices.chip_reader = Some(ChipReaderConfig::Simulated {
        read_ms: 10_000,
        photo: None,
    });
    let gate = InProcess::start(&config);
    let id = gate.admit(SimulatedTraveller::default());
    let (outcome, reasons) = until_ended(&gate, id, Duration::from_secs(9));
    assert_eq!(
        (outcome, reasons),
        (Outcome::Denied, vec![ReasonCode::ChipReadTimeout])
    );
    assert_nothing_held(&gate, "timed out");
    // The read arrives two seconds later, for a transaction that is over.
    gate.advance(Duration::from_secs(3));
    assert_nothing_held(&gate, "late read");
}

#[test]
fn nothing_personal_survives_biocart_and_fingerprint_gate_transactions() {
    let biocart = InProcess::start(&sim_profile_config(GateProfile::BioCart, 40));
    for (case, traveller, outcome) in [
        (
            "complete",
            SimulatedTraveller::default(),
            Outcome::Completed,
        ),
        (
            "walks off",
            SimulatedTraveller {
                cancel_after_steps: Some(2),
                ..SimulatedTraveller::default()
            },
            Outcome::Abandoned,
        ),
    ] {
        let id = biocart.admit(traveller);
        biocart.advance_until("the document read", STEP, Duration::from_secs(5), |s| {
            s.state != "reading_document"
        });
        assert_eq!(biocart.probe().holding_data_of, Some(id), "BioCart {case}");
        let (ended, _) = until_ended(&biocart, id, Duration::from_secs(30));
        assert_eq!(ended, outcome, "BioCart {case}");
        assert_nothing_held(&biocart, case);
    }
    drop(biocart);

    let gate = InProcess::start(&sim_profile_config(GateProfile::FingerprintGate, 40));
    for (case, enrolled, outcome) in [
        ("enrolled", true, Outcome::Passed),
        ("not enrolled", false, Outcome::Denied),
    ] {
        let id = gate.admit(SimulatedTraveller {
            enrolled,
            ..SimulatedTraveller::default()
        });
        let (ended, _) = until_ended(&gate, id, Duration::from_secs(30));
        assert_eq!(ended, outcome, "fingerprint gate {case}");
        assert_nothing_held(&gate, case);
        reset_if_holding(&gate);
    }
}

#[test]
fn a_deny_hold_restored_by_a_restart_ends_when_it_was_due() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_sim_config();
    let gate = InProcess::start_in(root.path(), &config, Clock::manual(EPOCH_UNIX_MS));
    let id = gate.admit(SimulatedTraveller {
        face_scores: vec![0.05],
        ..SimulatedTraveller::default()
    });
    until_ended(&gate, id, Duration::from_secs(10));
    assert_eq!(gate.status().state, "holding");
    // Ten seconds into the 30 s hold, gated is restarted.
    gate.advance(Duration::from_secs(10));
    let stopped_at = gate.clock.unix_ms();
    gate.stop();
    let gate = InProcess::start_in(root.path(), &config, Clock::manual(stopped_at));
    assert_eq!(gate.status().state, "holding");
    let held_for = config.policy.timeouts.deny_hold_ms;
    let left = Duration::from_millis(held_for) - Duration::from_secs(10);
    gate.advance(left - Duration::from_secs(1));
    assert_eq!(gate.status().state, "holding", "still within the hold");
    gate.advance(Duration::from_secs(1));
    assert_eq!(
        gate.status().state,
        "idle",
        "the hold ended when it was due"
    );
}

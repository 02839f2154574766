//! gated killed with SIGKILL (power loss, a watchdog kill) and started again on the same
//! state: every transaction it was in the middle of is closed with a record naming the stage
//! it had reached, a pass decision is on disk before the door opens, a deny hold and its
//! referral come back, and the door is driven to its safe state before anything else.
#![allow(clippy::unwrap_used)]

mod support;

use gate_core::{Lights, Prompt, ReasonCode};
use gate_protocol::SimulatedTraveller;
use support::{Gated, fast_sim_config, sim_config_with_delays};

/// The outcome events of `transaction_id` in the gate's outbox.
fn outcomes_of(gated: &Gated, transaction_id: gate_core::TransactionId) -> Vec<serde_json::Value> {
    gated
        .all_outbox_events()
        .into_iter()
        .filter(|e| {
            e["kind"] == "transaction.outcome"
                && e["payload"]["transaction_id"] == serde_json::json!(transaction_id)
        })
        .map(|e| e["payload"].clone())
        .collect()
}

#[test]
fn killed_after_the_pass_decision_the_restart_records_the_released_door() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_sim_config();
    let mut gated = Gated::start_in(root.path(), &config);
    // Cleared, the door released, the traveller still in front of it: then the power goes.
    let id = gated.admit(SimulatedTraveller {
        walks_through: false,
        ..SimulatedTraveller::default()
    });
    gated.wait_for("the door release", |s| s.door_unlocked);
    gated.kill();

    let gated = Gated::start_in(root.path(), &config);
    let status = gated.status();
    assert!(!status.door_unlocked, "locked after the restart");
    let outcomes = outcomes_of(&gated, id);
    assert_eq!(
        outcomes.len(),
        1,
        "one record of the cut transaction: {outcomes:?}"
    );
    let record = &outcomes[0];
    assert_eq!(record["outcome"], "aborted");
    assert_eq!(record["reasons"], serde_json::json!(["ABORTED_BY_RESTART"]));
    assert_eq!(record["decision"], "pass", "the door was opened on a pass");
    assert_eq!(record["interrupted_at"], "passage");
    assert_eq!(record["document_hash"].as_str().unwrap().len(), 64);
    assert!(
        !serde_json::to_string(record).unwrap().contains("SIM0"),
        "nothing personal in the record: {record}"
    );
    // A second restart does not record it again.
    drop(gated);
    let gated = Gated::start_in(root.path(), &config);
    assert_eq!(outcomes_of(&gated, id).len(), 1);
}

#[test]
fn a_transaction_cut_in_any_stage_is_closed_on_start_up_with_that_stage() {
    // The chip read, then the face capture, takes long: the gate dies in that stage (in
    // the first, only the transaction's start is on disk).
    for (stage, state, config) in [
        (
            "read_document",
            "reading_document",
            sim_config_with_delays(30_000, 40, 60),
        ),
        (
            "match_face",
            "matching_face",
            sim_config_with_delays(40, 60_000, 60),
        ),
    ] {
        let root = tempfile::tempdir().unwrap();
        let mut config = config;
        config.policy.timeouts.chip_read_ms = 60_000;
        config.policy.face.capture_timeout_ms = 120_000;
        let mut gated = Gated::start_in(root.path(), &config);
        let id = gated.admit(SimulatedTraveller::default());
        gated.wait_for(stage, |s| s.state == state);
        gated.kill();

        let gated = Gated::start_in(root.path(), &config);
        let outcomes = outcomes_of(&gated, id);
        assert_eq!(outcomes.len(), 1, "{stage}: {outcomes:?}");
        let record = &outcomes[0];
        assert_eq!(record["outcome"], "aborted", "{stage}");
        assert_eq!(record["reasons"], serde_json::json!(["ABORTED_BY_RESTART"]));
        assert_eq!(record["decision"], serde_json::Value::Null);
        assert_eq!(record["interrupted_at"], stage);
        assert_eq!(gated.status().state, "idle");
    }
}

#[test]
fn a_deny_hold_and_its_referral_survive_a_restart_until_the_officer_resets() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_sim_config();
    let mut gated = Gated::start_in(root.path(), &config);
    gated.admit(SimulatedTraveller {
        face_scores: vec![0.05],
        ..SimulatedTraveller::default()
    });
    gated.wait_for("the deny hold", |s| s.state == "holding");
    gated.kill();
    let first_run = gated.log_text().len();
    drop(gated);

    let gated = Gated::start_in(root.path(), &config);
    let status = gated.status();
    assert_eq!(status.state, "holding", "{status:#?}");
    assert_eq!(status.lights, Lights::Red);
    assert_eq!(status.display, Prompt::SeeOfficer);
    let log = gated.log_text();
    let second_run = &log[first_run..];
    let paged_again = second_run
        .find("officer called")
        .unwrap_or_else(|| panic!("the officer is not called again:\n{second_run}"));
    assert!(
        second_run[paged_again..]
            .lines()
            .next()
            .unwrap()
            .contains(ReasonCode::FaceMismatch.as_str()),
        "the officer is called again with the deny's reasons:\n{second_run}"
    );
    gated.officer_clears_the_hold();
    // Cleared by the officer: a further restart comes back in service.
    drop(gated);
    let gated = Gated::start_in(root.path(), &config);
    let status = gated.status();
    assert_eq!(status.state, "idle");
    assert_eq!(status.display, Prompt::PlaceDocument);
}

#[test]
fn the_door_is_driven_to_its_safe_state_before_the_outbox_is_opened() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("outbox.sqlite"), b"not a database at all").unwrap();
    let gated = Gated::start_in(root.path(), &fast_sim_config());
    let log = gated.log_text();
    let door = log
        .find("door: outputs at their safe state")
        .unwrap_or_else(|| panic!("no safe-state line:\n{log}"));
    let outbox = log
        .find("outbox database corrupt")
        .unwrap_or_else(|| panic!("no outbox line:\n{log}"));
    assert!(door < outbox, "the door comes first:\n{log}");
}

//! The traveller transaction state machine shared by the three gate profiles.
//!
//! Each profile is a fixed plan of [`Step`]s. The machine runs one transaction at a time through
//! its plan: a step starts by emitting commands, and ends when its result event arrives (advance,
//! retry or deny) or its deadline passes. The door is only released by the `Passage` step, which
//! is reached only after every earlier step of the same transaction succeeded.

use crate::document::{ChipReadResult, ChipReadTimings, DocumentHash};
use crate::event::{
    Command, Condition, Event, FaceAttempt, Finger, FingerAttempt, Lights, Prompt, TransactionId,
};
use crate::policy::{DocumentPolicy, GateProfile, Policy};
use crate::reason::ReasonCode;
use crate::record::{
    Attempts, Decision, OUTCOME_SCHEMA_VERSION, Outcome, OutcomeRecord, Scores, Timings,
};
use crate::time::Now;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One stage of a traveller transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Read and verify the chip, then apply the eligibility rules.
    ReadDocument,
    /// Look up the fingerprint enrolment for the document.
    LookupEnrolment,
    /// Capture the live face and compare it with the chip photo.
    MatchFace,
    /// Verify an enrolled finger 1:1.
    VerifyFinger,
    /// Capture one finger for the BioCart record.
    CaptureFinger(Finger),
    /// Take the BioCart face photo.
    CaptureFacePhoto,
    /// Door released, waiting for the traveller to pass.
    Passage,
    /// Commit the BioCart record for the inspection booth.
    HandOver,
}

impl GateProfile {
    /// The fixed plan of steps a transaction of this profile runs through.
    pub const fn plan(self) -> &'static [Step] {
        match self {
            GateProfile::FaceGate => &[Step::ReadDocument, Step::MatchFace, Step::Passage],
            GateProfile::BioCart => &[
                Step::ReadDocument,
                Step::CaptureFinger(Finger::LeftIndex),
                Step::CaptureFinger(Finger::RightIndex),
                Step::CaptureFacePhoto,
                Step::HandOver,
            ],
            GateProfile::FingerprintGate => &[
                Step::ReadDocument,
                Step::LookupEnrolment,
                Step::VerifyFinger,
                Step::Passage,
            ],
        }
    }
}

/// Running totals since the daemon started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Transactions started.
    pub started: u64,
    /// Ended [`Outcome::Passed`].
    pub passed: u64,
    /// Ended [`Outcome::Denied`].
    pub denied: u64,
    /// Ended [`Outcome::Completed`].
    pub completed: u64,
    /// Ended [`Outcome::Abandoned`].
    pub abandoned: u64,
    /// Ended [`Outcome::TimedOut`].
    pub timed_out: u64,
    /// Ended [`Outcome::Aborted`].
    pub aborted: u64,
    /// Documents presented while the gate was out of service or busy.
    pub turned_away: u64,
}

/// What the machine is doing, for status displays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The profile.
    pub profile: GateProfile,
    /// `idle`, `holding`, `stopped` or the current step's name.
    pub state: String,
    /// The transaction in progress.
    pub transaction_id: Option<TransactionId>,
    /// Attempts made in the current step.
    pub step_attempts: u8,
    /// Conditions keeping the gate out of service.
    pub conditions: Vec<Condition>,
    /// Reason codes of those conditions.
    pub out_of_service_reasons: Vec<ReasonCode>,
    /// Running totals.
    pub counters: Counters,
}

#[derive(Debug)]
struct Transaction {
    id: TransactionId,
    started: Now,
    step_index: usize,
    step_started_ms: u64,
    step_deadline_ms: u64,
    deadline_ms: u64,
    step_attempts: u8,
    /// When the capture in progress (face burst) was asked for.
    attempt_started_ms: u64,
    document_hash: Option<DocumentHash>,
    verify_finger: Option<Finger>,
    biometric_started_ms: Option<u64>,
    decision: Option<Decision>,
    scores: Scores,
    attempts: Attempts,
    timings: Timings,
}

#[derive(Debug)]
enum State {
    Idle,
    Active(Box<Transaction>),
    Holding { until_ms: u64 },
    Stopped,
}

/// How a transaction ends.
struct Ending {
    outcome: Outcome,
    decision: Option<Decision>,
    reasons: Vec<ReasonCode>,
    call_officer: bool,
}

impl Ending {
    fn deny(reasons: Vec<ReasonCode>) -> Self {
        Self {
            outcome: Outcome::Denied,
            decision: Some(Decision::Deny),
            reasons,
            call_officer: true,
        }
    }
}

/// The gate: one profile, one policy, at most one transaction at a time.
#[derive(Debug)]
pub struct Gate {
    profile: GateProfile,
    policy: Policy,
    state: State,
    conditions: BTreeSet<Condition>,
    counters: Counters,
}

impl Gate {
    /// A gate in the idle state. The caller should execute [`Gate::start`]'s commands first.
    pub fn new(profile: GateProfile, policy: Policy) -> Self {
        Self {
            profile,
            policy,
            state: State::Idle,
            conditions: BTreeSet::new(),
            counters: Counters::default(),
        }
    }

    /// The commands that put the hardware into the idle state at start-up: door locked first.
    pub fn start(&self) -> Vec<Command> {
        vec![
            Command::LockDoor,
            Command::SetLights {
                lights: Lights::Off,
            },
            Command::Show {
                prompt: self.idle_prompt(),
            },
        ]
    }

    /// The profile this gate runs.
    pub fn profile(&self) -> GateProfile {
        self.profile
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The transaction in progress, if any.
    pub fn current_transaction(&self) -> Option<TransactionId> {
        match &self.state {
            State::Active(txn) => Some(txn.id),
            _ => None,
        }
    }

    /// The monotonic time at which the daemon must deliver [`Event::Tick`], if any.
    pub fn next_deadline(&self) -> Option<u64> {
        match &self.state {
            State::Active(txn) => Some(txn.step_deadline_ms.min(txn.deadline_ms)),
            State::Holding { until_ms } => Some(*until_ms),
            State::Idle | State::Stopped => None,
        }
    }

    /// While the gate holds after a deny (waiting for an officer): the monotonic time at which
    /// the hold ends by itself.
    pub fn holding_until(&self) -> Option<u64> {
        match &self.state {
            State::Holding { until_ms } => Some(*until_ms),
            _ => None,
        }
    }

    /// Whether the gate is stopped ([`Event::Shutdown`]).
    pub fn is_stopped(&self) -> bool {
        matches!(self.state, State::Stopped)
    }

    /// Puts an idle gate back into the deny hold it was in when the daemon stopped or died:
    /// red light, "see an officer", the officer called again with the deny's reasons, until an
    /// [`Event::OfficerReset`] or `remaining_ms` from `now`. Does nothing unless the gate is
    /// idle with no transaction.
    pub fn restore_hold(
        &mut self,
        now: Now,
        transaction_id: TransactionId,
        reasons: Vec<ReasonCode>,
        remaining_ms: u64,
    ) -> Vec<Command> {
        if !matches!(self.state, State::Idle) || remaining_ms == 0 {
            return Vec::new();
        }
        self.state = State::Holding {
            until_ms: now.monotonic_ms.saturating_add(remaining_ms),
        };
        vec![
            Command::LockDoor,
            Command::SetLights {
                lights: Lights::Red,
            },
            Command::Show {
                prompt: Prompt::SeeOfficer,
            },
            Command::CallOfficer {
                transaction_id: Some(transaction_id),
                reasons,
            },
        ]
    }

    /// What the gate is doing now.
    pub fn snapshot(&self) -> Snapshot {
        let (state, transaction_id, step_attempts) = match &self.state {
            State::Idle => ("idle".to_owned(), None, 0),
            State::Holding { .. } => ("holding".to_owned(), None, 0),
            State::Stopped => ("stopped".to_owned(), None, 0),
            State::Active(txn) => (
                step_name(self.profile.plan()[txn.step_index]).to_owned(),
                Some(txn.id),
                txn.step_attempts,
            ),
        };
        Snapshot {
            profile: self.profile,
            state,
            transaction_id,
            step_attempts,
            conditions: self.conditions.iter().copied().collect(),
            out_of_service_reasons: self.conditions.iter().map(|c| c.reason()).collect(),
            counters: self.counters.clone(),
        }
    }

    /// Feeds one event at time `now`; returns the commands to execute, in order.
    pub fn handle(&mut self, now: Now, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        match event {
            Event::Tick => self.on_tick(now, &mut out),
            Event::DocumentPresented { transaction_id } => {
                self.on_document(now, transaction_id, &mut out)
            }
            Event::Shutdown => self.on_shutdown(now, &mut out),
            Event::ConditionRaised { condition } => self.on_condition(now, condition, &mut out),
            Event::ConditionCleared { condition } => {
                self.conditions.remove(&condition);
                if self.conditions.is_empty() && matches!(self.state, State::Idle) {
                    out.push(Command::Show {
                        prompt: self.idle_prompt(),
                    });
                }
            }
            Event::OfficerReset => match &self.state {
                State::Holding { .. } => self.enter_idle(&mut out),
                State::Active(_) => {
                    let ending = Ending {
                        outcome: Outcome::Aborted,
                        decision: None,
                        reasons: vec![ReasonCode::OfficerCancelled],
                        call_officer: false,
                    };
                    self.end(now, ending, &mut out);
                }
                State::Idle | State::Stopped => {}
            },
            Event::TravellerCancelled => {
                if self
                    .current_step()
                    .is_some_and(|step| step != Step::Passage)
                {
                    let ending = Ending {
                        outcome: Outcome::Abandoned,
                        decision: None,
                        reasons: vec![ReasonCode::TravellerCancelled],
                        call_officer: false,
                    };
                    self.end(now, ending, &mut out);
                }
            }
            Event::DoorAlarm {
                transaction_id,
                alarm,
            } => out.push(Command::CallOfficer {
                transaction_id: transaction_id.or(self.current_transaction()),
                reasons: vec![alarm.reason()],
            }),
            Event::PassageConfirmed => {
                if self.current_step() == Some(Step::Passage) {
                    let ending = Ending {
                        outcome: Outcome::Passed,
                        decision: Some(Decision::Pass),
                        reasons: Vec::new(),
                        call_officer: false,
                    };
                    self.end(now, ending, &mut out);
                }
            }
            Event::ChipRead {
                transaction_id,
                result,
                timings,
            } => {
                if self.expects(transaction_id, |s| s == Step::ReadDocument) {
                    self.add_chip_timings(timings);
                    self.on_chip_read(now, result, &mut out);
                }
            }
            Event::FaceCaptured {
                transaction_id,
                attempt,
            } => {
                if self.expects(transaction_id, |s| s == Step::MatchFace) {
                    self.on_face(now, attempt, &mut out);
                }
            }
            Event::FingerCaptured {
                transaction_id,
                finger,
                attempt,
            } => {
                let wanted = self.wanted_finger();
                if wanted == Some(finger)
                    && self.expects(transaction_id, |s| {
                        matches!(s, Step::CaptureFinger(_) | Step::VerifyFinger)
                    })
                {
                    self.on_finger(now, finger, attempt, &mut out);
                }
            }
            Event::FacePhotoCaptured {
                transaction_id,
                quality,
            } => {
                if self.expects(transaction_id, |s| s == Step::CaptureFacePhoto) {
                    self.on_face_photo(now, quality, &mut out);
                }
            }
            Event::EnrolmentLookedUp {
                transaction_id,
                fingers,
            } => {
                if self.expects(transaction_id, |s| s == Step::LookupEnrolment) {
                    match fingers.first() {
                        None => {
                            self.end(now, Ending::deny(vec![ReasonCode::NotEnrolled]), &mut out)
                        }
                        Some(&finger) => {
                            if let State::Active(txn) = &mut self.state {
                                txn.verify_finger = Some(finger);
                            }
                            self.advance(now, &mut out);
                        }
                    }
                }
            }
            Event::RecordHandedOver { transaction_id, ok } => {
                if self.expects(transaction_id, |s| s == Step::HandOver) {
                    if ok {
                        self.advance(now, &mut out);
                    } else {
                        self.end(
                            now,
                            Ending::deny(vec![ReasonCode::HandoverFailed]),
                            &mut out,
                        );
                    }
                }
            }
        }
        out
    }

    fn idle_prompt(&self) -> Prompt {
        if self.conditions.is_empty() {
            Prompt::PlaceDocument
        } else {
            Prompt::OutOfService
        }
    }

    /// The step the transaction in progress is in, if any.
    pub fn current_step(&self) -> Option<Step> {
        match &self.state {
            State::Active(txn) => self.profile.plan().get(txn.step_index).copied(),
            _ => None,
        }
    }

    fn wanted_finger(&self) -> Option<Finger> {
        match (&self.state, self.current_step()) {
            (_, Some(Step::CaptureFinger(finger))) => Some(finger),
            (State::Active(txn), Some(Step::VerifyFinger)) => txn.verify_finger,
            _ => None,
        }
    }

    /// True when a result for `id` is what the current step waits for.
    fn expects(&self, id: TransactionId, step_matches: impl Fn(Step) -> bool) -> bool {
        match &self.state {
            State::Active(txn) if txn.id == id => self.current_step().is_some_and(step_matches),
            _ => false,
        }
    }

    fn txn_mut(&mut self) -> Option<&mut Transaction> {
        match &mut self.state {
            State::Active(txn) => Some(txn),
            _ => None,
        }
    }

    fn on_document(&mut self, now: Now, id: TransactionId, out: &mut Vec<Command>) {
        let accepting = matches!(self.state, State::Idle) && self.conditions.is_empty();
        if !accepting {
            self.counters.turned_away += 1;
            if !self.conditions.is_empty() || matches!(self.state, State::Stopped) {
                out.push(Command::Show {
                    prompt: Prompt::OutOfService,
                });
            }
            return;
        }
        self.counters.started += 1;
        let ms = now.monotonic_ms;
        self.state = State::Active(Box::new(Transaction {
            id,
            started: now,
            step_index: 0,
            step_started_ms: ms,
            step_deadline_ms: ms,
            deadline_ms: ms.saturating_add(self.policy.timeouts.transaction_ms),
            step_attempts: 0,
            attempt_started_ms: ms,
            document_hash: None,
            verify_finger: None,
            biometric_started_ms: None,
            decision: None,
            scores: Scores::default(),
            attempts: Attempts::default(),
            timings: Timings::default(),
        }));
        self.enter_step(now, out);
    }

    /// Emits the commands that start the current step and sets its deadline.
    fn enter_step(&mut self, now: Now, out: &mut Vec<Command>) {
        let Some(step) = self.current_step() else {
            // Past the last step: only BioCart plans end without a passage.
            let ending = Ending {
                outcome: Outcome::Completed,
                decision: Some(Decision::Pass),
                reasons: Vec::new(),
                call_officer: false,
            };
            self.end(now, ending, out);
            return;
        };
        let policy = self.policy.clone();
        let Some(txn) = self.txn_mut() else {
            return;
        };
        let id = txn.id;
        let ms = now.monotonic_ms;
        txn.step_started_ms = ms;
        txn.step_attempts = 1;
        let step_ms = match step {
            Step::ReadDocument => {
                out.push(Command::Show {
                    prompt: Prompt::ReadingDocument,
                });
                out.push(Command::ReadChip { transaction_id: id });
                policy.timeouts.chip_read_ms
            }
            Step::LookupEnrolment => {
                out.push(Command::LookupEnrolment { transaction_id: id });
                policy.timeouts.lookup_ms
            }
            Step::MatchFace => {
                txn.biometric_started_ms.get_or_insert(ms);
                txn.attempt_started_ms = ms;
                txn.attempts.face += 1;
                out.push(Command::Show {
                    prompt: Prompt::LookAtCamera,
                });
                out.push(Command::CaptureFace {
                    transaction_id: id,
                    attempt: 1,
                });
                policy.face.capture_timeout_ms
            }
            Step::CaptureFinger(_) | Step::VerifyFinger => {
                txn.biometric_started_ms.get_or_insert(ms);
                txn.attempts.finger += 1;
                let finger = match step {
                    Step::CaptureFinger(finger) => finger,
                    _ => txn.verify_finger.unwrap_or(Finger::RightIndex),
                };
                out.push(Command::Show {
                    prompt: finger_prompt(finger),
                });
                out.push(Command::CaptureFinger {
                    transaction_id: id,
                    finger,
                    attempt: 1,
                });
                policy.fingerprint.capture_timeout_ms
            }
            Step::CaptureFacePhoto => {
                txn.attempts.face_photo += 1;
                out.push(Command::Show {
                    prompt: Prompt::LookAtCamera,
                });
                out.push(Command::CaptureFacePhoto {
                    transaction_id: id,
                    attempt: 1,
                });
                policy.face_photo.capture_timeout_ms
            }
            Step::Passage => {
                txn.decision = Some(Decision::Pass);
                txn.timings.decision_ms = Some(ms.saturating_sub(txn.started.monotonic_ms));
                out.push(Command::SetLights {
                    lights: Lights::Green,
                });
                out.push(Command::Show {
                    prompt: Prompt::Proceed,
                });
                out.push(Command::UnlockDoor {
                    transaction_id: id,
                    for_ms: policy.timeouts.door_open_ms,
                });
                policy.timeouts.door_open_ms
            }
            Step::HandOver => {
                out.push(Command::HandOverRecord { transaction_id: id });
                policy.timeouts.lookup_ms
            }
        };
        txn.step_deadline_ms = ms.saturating_add(step_ms);
    }

    /// Adds the reader's own timings of one chip read to the transaction's.
    fn add_chip_timings(&mut self, measured: ChipReadTimings) {
        fn add(total: &mut Option<u64>, part: Option<u64>) {
            if let Some(part) = part {
                *total = Some(total.unwrap_or(0).saturating_add(part));
            }
        }
        if let Some(txn) = self.txn_mut() {
            add(&mut txn.timings.chip_read_ms, measured.read_ms);
            add(&mut txn.timings.authenticity_ms, measured.authenticity_ms);
        }
    }

    /// Records how long the step in progress has taken, by stage: when it finishes, and when
    /// the transaction ends in it (a deny, a timeout, a fault), so that every stage the
    /// transaction went through has its time.
    fn close_stage_timing(&mut self, now: Now) {
        let step = self.current_step();
        let Some(txn) = self.txn_mut() else {
            return;
        };
        let ms = now.monotonic_ms;
        let elapsed = ms.saturating_sub(txn.step_started_ms);
        match step {
            Some(Step::ReadDocument) => txn.timings.document_ms = Some(elapsed),
            Some(Step::Passage) => txn.timings.passage_ms = Some(elapsed),
            // Looking up an enrolment and handing a record over are no capture.
            Some(Step::LookupEnrolment | Step::HandOver) => {}
            Some(_) => {
                if let Some(start) = txn.biometric_started_ms {
                    txn.timings.biometric_ms = Some(ms.saturating_sub(start));
                }
            }
            None => {}
        }
    }

    fn advance(&mut self, now: Now, out: &mut Vec<Command>) {
        self.close_stage_timing(now);
        if let Some(txn) = self.txn_mut() {
            txn.step_index += 1;
        }
        self.enter_step(now, out);
    }

    /// Asks for another attempt at the current step, or ends the transaction with `reason`.
    fn retry_or(&mut self, now: Now, reason: ReasonCode, out: &mut Vec<Command>) {
        let step = self.current_step();
        let max = match step {
            Some(Step::MatchFace) => self.policy.face.max_attempts,
            Some(Step::CaptureFinger(_) | Step::VerifyFinger) => {
                self.policy.fingerprint.max_attempts
            }
            Some(Step::CaptureFacePhoto) => self.policy.face_photo.max_attempts,
            _ => 1,
        };
        let finger = self.wanted_finger();
        let Some(txn) = self.txn_mut() else {
            return;
        };
        if txn.step_attempts >= max {
            self.end(now, Ending::deny(vec![reason]), out);
            return;
        }
        txn.step_attempts += 1;
        let attempt = txn.step_attempts;
        let id = txn.id;
        out.push(Command::Show {
            prompt: Prompt::TryAgain,
        });
        match step {
            Some(Step::MatchFace) => {
                txn.attempts.face += 1;
                txn.attempt_started_ms = now.monotonic_ms;
                out.push(Command::CaptureFace {
                    transaction_id: id,
                    attempt,
                });
            }
            Some(Step::CaptureFinger(_) | Step::VerifyFinger) => {
                txn.attempts.finger += 1;
                let finger = finger.unwrap_or(Finger::RightIndex);
                out.push(Command::Show {
                    prompt: finger_prompt(finger),
                });
                out.push(Command::CaptureFinger {
                    transaction_id: id,
                    finger,
                    attempt,
                });
            }
            Some(Step::CaptureFacePhoto) => {
                txn.attempts.face_photo += 1;
                out.push(Command::CaptureFacePhoto {
                    transaction_id: id,
                    attempt,
                });
            }
            _ => {}
        }
    }

    fn on_chip_read(&mut self, now: Now, result: ChipReadResult, out: &mut Vec<Command>) {
        match result {
            ChipReadResult::Failed { reason } => {
                let attempts = self.policy.document.read_attempts;
                let read_ms = self.policy.timeouts.chip_read_ms;
                let retry = DocumentPolicy::traveller_can_fix(reason)
                    && self
                        .txn_mut()
                        .is_some_and(|txn| txn.step_attempts < attempts);
                match self.txn_mut().filter(|_| retry) {
                    Some(txn) => {
                        // Another read, with its own time: the traveller lays it down again.
                        txn.step_attempts += 1;
                        txn.step_deadline_ms = now.monotonic_ms.saturating_add(read_ms);
                        let transaction_id = txn.id;
                        out.push(Command::Show {
                            prompt: Prompt::ReplaceDocument,
                        });
                        out.push(Command::ReadChip { transaction_id });
                    }
                    None => self.end(now, Ending::deny(vec![reason]), out),
                }
            }
            ChipReadResult::Read {
                facts,
                authenticity,
                denylisted,
            } => {
                let today = now.local_date(self.policy.eligibility.utc_offset_minutes);
                let reasons =
                    self.policy
                        .eligibility
                        .check(&facts, authenticity, denylisted, today);
                if let Some(txn) = self.txn_mut() {
                    txn.document_hash = Some(facts.hash);
                }
                if reasons.is_empty() {
                    self.advance(now, out);
                } else {
                    self.end(now, Ending::deny(reasons), out);
                }
            }
        }
    }

    fn on_face(&mut self, now: Now, attempt: FaceAttempt, out: &mut Vec<Command>) {
        let face = self.policy.face.clone();
        if let Some(txn) = self.txn_mut() {
            let burst = now.monotonic_ms.saturating_sub(txn.attempt_started_ms);
            txn.timings.face_bursts_ms.push(burst);
        }
        match attempt {
            FaceAttempt::Compared {
                score,
                attack_score,
                quality,
            } => {
                if let Some(txn) = self.txn_mut() {
                    txn.scores.face_match = Some(score);
                    txn.scores.face_attack = Some(attack_score);
                    txn.scores.face_quality = Some(quality);
                    txn.scores.face_quality_shortfalls.clear();
                }
                let attack = !attack_score.is_finite() || attack_score > face.attack_threshold;
                if attack {
                    self.end(now, Ending::deny(vec![ReasonCode::PresentationAttack]), out);
                } else if score.is_finite() && score >= face.match_threshold {
                    self.advance(now, out);
                } else {
                    self.retry_or(now, ReasonCode::FaceMismatch, out);
                }
            }
            FaceAttempt::NoFace => self.retry_or(now, ReasonCode::FaceNotFound, out),
            FaceAttempt::QualityTooLow {
                quality,
                shortfalls,
            } => {
                if let Some(txn) = self.txn_mut() {
                    txn.scores.face_quality = Some(quality);
                    txn.scores.face_quality_shortfalls = shortfalls;
                }
                self.retry_or(now, ReasonCode::FaceQualityTooLow, out)
            }
            FaceAttempt::MultipleFaces => self.retry_or(now, ReasonCode::MultipleFaces, out),
            FaceAttempt::ReferenceUnusable => self.end(
                now,
                Ending::deny(vec![ReasonCode::ReferencePhotoUnusable]),
                out,
            ),
        }
    }

    fn on_finger(
        &mut self,
        now: Now,
        finger: Finger,
        attempt: FingerAttempt,
        out: &mut Vec<Command>,
    ) {
        let policy = self.policy.fingerprint.clone();
        let verifying = self.current_step() == Some(Step::VerifyFinger);
        let record_quality = |txn: &mut Transaction, quality: u8| match txn
            .scores
            .finger_quality
            .iter_mut()
            .find(|(f, _)| *f == finger)
        {
            Some((_, best)) => *best = (*best).max(quality),
            None => txn.scores.finger_quality.push((finger, quality)),
        };
        match (attempt, verifying) {
            (FingerAttempt::NoFinger, _) => self.retry_or(now, ReasonCode::FingerNotPresented, out),
            (FingerAttempt::Captured { quality }, false) => {
                if let Some(txn) = self.txn_mut() {
                    record_quality(txn, quality);
                }
                if quality >= policy.quality_floor {
                    self.advance(now, out);
                } else {
                    self.retry_or(now, ReasonCode::FingerprintQualityTooLow, out);
                }
            }
            (
                FingerAttempt::Verified {
                    quality,
                    score,
                    matched,
                },
                true,
            ) => {
                if let Some(txn) = self.txn_mut() {
                    record_quality(txn, quality);
                    txn.scores.fingerprint_match = Some(score);
                }
                if quality < policy.quality_floor {
                    self.retry_or(now, ReasonCode::FingerprintQualityTooLow, out);
                } else if matched && score >= policy.match_threshold {
                    self.advance(now, out);
                } else {
                    self.retry_or(now, ReasonCode::FingerprintMismatch, out);
                }
            }
            // A capture where a verification was asked for (or the reverse) is not an answer.
            (FingerAttempt::Captured { .. }, true) | (FingerAttempt::Verified { .. }, false) => {}
        }
    }

    fn on_face_photo(&mut self, now: Now, quality: Option<u8>, out: &mut Vec<Command>) {
        let floor = self.policy.face_photo.quality_floor;
        if let (Some(txn), Some(q)) = (self.txn_mut(), quality) {
            txn.scores.face_photo_quality = Some(txn.scores.face_photo_quality.unwrap_or(0).max(q));
        }
        match quality {
            Some(q) if q >= floor => self.advance(now, out),
            Some(_) => self.retry_or(now, ReasonCode::FacePhotoQualityTooLow, out),
            None => self.retry_or(now, ReasonCode::FaceNotFound, out),
        }
    }

    fn on_tick(&mut self, now: Now, out: &mut Vec<Command>) {
        let ms = now.monotonic_ms;
        match &self.state {
            State::Holding { until_ms } if ms >= *until_ms => self.enter_idle(out),
            State::Active(txn) => {
                let (step_due, txn_due) = (ms >= txn.step_deadline_ms, ms >= txn.deadline_ms);
                if !(step_due || txn_due) {
                    return;
                }
                let step = self.current_step();
                let ending = if step == Some(Step::Passage) {
                    Ending {
                        outcome: Outcome::TimedOut,
                        decision: Some(Decision::Pass),
                        reasons: vec![ReasonCode::PassageNotCompleted],
                        call_officer: false,
                    }
                } else if txn_due {
                    Ending {
                        outcome: Outcome::TimedOut,
                        decision: None,
                        reasons: vec![ReasonCode::TransactionTimeout],
                        call_officer: true,
                    }
                } else {
                    match step {
                        Some(Step::ReadDocument) => Ending::deny(vec![ReasonCode::ChipReadTimeout]),
                        Some(Step::MatchFace) => Ending::deny(vec![ReasonCode::FaceCaptureTimeout]),
                        Some(Step::CaptureFinger(_) | Step::CaptureFacePhoto) => Ending {
                            outcome: Outcome::Abandoned,
                            decision: None,
                            reasons: vec![ReasonCode::FingerNotPresented],
                            call_officer: false,
                        },
                        Some(Step::VerifyFinger) => {
                            Ending::deny(vec![ReasonCode::FingerNotPresented])
                        }
                        Some(Step::HandOver) => Ending::deny(vec![ReasonCode::HandoverFailed]),
                        _ => Ending::deny(vec![ReasonCode::DeviceFault]),
                    }
                };
                self.end(now, ending, out);
            }
            _ => {}
        }
    }

    fn on_condition(&mut self, now: Now, condition: Condition, out: &mut Vec<Command>) {
        self.conditions.insert(condition);
        match &self.state {
            State::Active(_) => {
                let ending = Ending {
                    outcome: Outcome::Aborted,
                    decision: None,
                    reasons: vec![condition.reason()],
                    call_officer: true,
                };
                self.end(now, ending, out);
            }
            State::Idle => out.push(Command::Show {
                prompt: Prompt::OutOfService,
            }),
            State::Holding { .. } | State::Stopped => {}
        }
    }

    fn on_shutdown(&mut self, now: Now, out: &mut Vec<Command>) {
        if matches!(self.state, State::Active(_)) {
            let ending = Ending {
                outcome: Outcome::Aborted,
                decision: None,
                reasons: vec![ReasonCode::Shutdown],
                call_officer: true,
            };
            self.end(now, ending, out);
        }
        self.state = State::Stopped;
        out.push(Command::LockDoor);
        out.push(Command::SetLights {
            lights: Lights::Off,
        });
        out.push(Command::Show {
            prompt: Prompt::OutOfService,
        });
    }

    fn enter_idle(&mut self, out: &mut Vec<Command>) {
        self.state = State::Idle;
        out.push(Command::SetLights {
            lights: Lights::Off,
        });
        out.push(Command::Show {
            prompt: self.idle_prompt(),
        });
    }

    /// Ends the transaction in progress: lock, lights, officer, record (once), discard.
    fn end(&mut self, now: Now, ending: Ending, out: &mut Vec<Command>) {
        // The step the transaction ends in has its time too (a deny after face attempts has
        // its biometric time, a refused document its document time).
        self.close_stage_timing(now);
        let State::Active(txn) = std::mem::replace(&mut self.state, State::Idle) else {
            return;
        };
        let mut txn = *txn;
        txn.timings.total_ms = now.monotonic_ms.saturating_sub(txn.started.monotonic_ms);
        let decision = ending.decision.or(txn.decision);
        if decision.is_some() && txn.timings.decision_ms.is_none() {
            txn.timings.decision_ms = Some(txn.timings.total_ms);
        }
        let counter = match ending.outcome {
            Outcome::Passed => &mut self.counters.passed,
            Outcome::Denied => &mut self.counters.denied,
            Outcome::Completed => &mut self.counters.completed,
            Outcome::Abandoned => &mut self.counters.abandoned,
            Outcome::TimedOut => &mut self.counters.timed_out,
            Outcome::Aborted => &mut self.counters.aborted,
        };
        *counter += 1;
        out.push(Command::LockDoor);
        out.push(Command::SetLights {
            lights: if ending.call_officer {
                Lights::Red
            } else {
                Lights::Off
            },
        });
        if ending.call_officer {
            out.push(Command::Show {
                prompt: Prompt::SeeOfficer,
            });
            out.push(Command::CallOfficer {
                transaction_id: Some(txn.id),
                reasons: ending.reasons.clone(),
            });
        }
        out.push(Command::RecordOutcome {
            record: OutcomeRecord {
                schema_version: OUTCOME_SCHEMA_VERSION,
                transaction_id: txn.id,
                profile: self.profile,
                outcome: ending.outcome,
                decision,
                reasons: ending.reasons,
                document_hash: txn.document_hash,
                scores: txn.scores,
                attempts: txn.attempts,
                timings: txn.timings,
                started_at_unix_ms: txn.started.unix_ms,
                ended_at_unix_ms: now.unix_ms,
                interrupted_at: None,
            },
        });
        out.push(Command::DiscardTransactionData {
            transaction_id: txn.id,
        });
        let hold_ms = self.policy.timeouts.deny_hold_ms;
        if ending.call_officer && hold_ms > 0 {
            self.state = State::Holding {
                until_ms: now.monotonic_ms.saturating_add(hold_ms),
            };
        } else {
            match ending.outcome {
                Outcome::Completed => out.push(Command::Show {
                    prompt: Prompt::ProceedToBooth,
                }),
                _ => out.push(Command::Show {
                    prompt: self.idle_prompt(),
                }),
            }
        }
    }
}

fn finger_prompt(finger: Finger) -> Prompt {
    match finger {
        Finger::LeftIndex => Prompt::PlaceLeftIndex,
        Finger::RightIndex => Prompt::PlaceRightIndex,
    }
}

/// The name of a step as shown in status output.
pub fn step_name(step: Step) -> &'static str {
    match step {
        Step::ReadDocument => "reading_document",
        Step::LookupEnrolment => "looking_up_enrolment",
        Step::MatchFace => "matching_face",
        Step::VerifyFinger => "verifying_finger",
        Step::CaptureFinger(Finger::LeftIndex) => "capturing_left_index",
        Step::CaptureFinger(Finger::RightIndex) => "capturing_right_index",
        Step::CaptureFacePhoto => "capturing_face_photo",
        Step::Passage => "awaiting_passage",
        Step::HandOver => "handing_over",
    }
}

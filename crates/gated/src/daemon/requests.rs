//! Control socket requests, the technician's door pulse and the demo autopilot.

use super::{Answer, Awaited, Daemon, Pulse, WaitingReply};
use crate::control::{Actor, ControlRequest};
use crate::demo_bench;
use crate::event_kind;
use crate::store::StoreJob;
use gate_core::{Condition, Event, TransactionId};
use gate_protocol::{
    ErrorCode, Request, Response, ResponseEnvelope, SimulatedDocument, SimulatedTraveller,
};
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::{info, warn};

/// How long a control request waits for the door to confirm a pulse or a lock.
const DOOR_CONFIRMATION: Duration = Duration::from_millis(500);
/// How long an officer's reset waits for the end of the hold to be on disk.
const STORE_CONFIRMATION: Duration = Duration::from_secs(5);
/// How long a status waits for the journal entries and outcomes before it to be written (the
/// outbox's own 5 s wait for a busy database and a second; within `gatectl`'s 10 s).
const OUTCOME_CONFIRMATION: Duration = Duration::from_secs(6);

impl Daemon {
    /// Serves one control request; requests about the door are answered once the door has
    /// done what they asked (without the loop waiting for it).
    pub(super) fn control(&mut self, request: ControlRequest) {
        let ControlRequest {
            request,
            id,
            reply,
            actor,
        } = request;
        let ok = |response| ResponseEnvelope::ok(id, response);
        let answer = match request {
            Request::Status if self.writes.1 < self.writes.0 => {
                // What the status shows of a transaction (its stage, its end) is on disk.
                let until = Awaited::Written(self.writes.0);
                self.waiting.push(WaitingReply {
                    until,
                    deadline: tokio::time::Instant::now() + OUTCOME_CONFIRMATION,
                    reply,
                    answer: Answer::Status { id },
                });
                return;
            }
            Request::Status => ok(Response::Status(Box::new(self.status()))),
            Request::OfficerReset => {
                self.record_officer_action("clear_call", &actor);
                let cleared = self.progress.holds_cleared.0;
                self.feed(Event::OfficerReset);
                if self.progress.holds_cleared.0 > cleared {
                    // Answered once the end of the hold is on disk: a restart after "done"
                    // does not bring the hold back.
                    let until = Awaited::HoldCleared(self.progress.holds_cleared.0);
                    self.wait_for(until, STORE_CONFIRMATION, reply, ok(Response::Done));
                    return;
                }
                ok(Response::Done)
            }
            Request::SetMaintenance { on } => {
                let action = if on {
                    "out_of_service"
                } else {
                    "back_in_service"
                };
                self.record_officer_action(action, &actor);
                if !on {
                    self.end_door_pulse();
                }
                let condition = Condition::Maintenance;
                self.feed(if on {
                    Event::ConditionRaised { condition }
                } else {
                    Event::ConditionCleared { condition }
                });
                ok(Response::Done)
            }
            Request::DoorPulse { ms } => match self.start_door_pulse(ms) {
                Ok(()) => {
                    self.pulse = Some(Pulse::Recording {
                        reply: Some((id, reply)),
                    });
                    return;
                }
                Err((code, message)) => ResponseEnvelope::error(id, code, message),
            },
            Request::DoorLock => {
                match self.pulse.take() {
                    Some(Pulse::Open { .. }) => {
                        info!("door: maintenance pulse over");
                        self.door.lock();
                    }
                    Some(Pulse::Recording { reply: pulse }) => {
                        // Called off before the door opened.
                        if let Some((pulse_id, pulse_reply)) = pulse {
                            let _ = pulse_reply.send(ResponseEnvelope::error(
                                pulse_id,
                                ErrorCode::NotAvailable,
                                "the pulse was called off by `gatectl door lock`",
                            ));
                        }
                    }
                    None if self.gate.current_transaction().is_some()
                        && self.door.state().lock_released() =>
                    {
                        let _ = reply.send(ResponseEnvelope::error(
                            id,
                            ErrorCode::NotAvailable,
                            "the door is open for a traveller; `gatectl officer-reset` cancels the transaction and locks it",
                        ));
                        return;
                    }
                    None => {
                        self.door.lock();
                    }
                }
                let locked = Awaited::DoorLocked(self.door.last_lock());
                self.wait_for(locked, DOOR_CONFIRMATION, reply, ok(Response::Done));
                return;
            }
            Request::Simulate { traveller } => {
                if let Some(bench) = self.config.simulation.demo_bench.clone() {
                    if !self.free_for_a_traveller() {
                        ok(Response::SimulationStarted {
                            transaction_id: None,
                        })
                    } else {
                        // The bench lays the passport down and shows the face; the gate's own
                        // devices take it from there. Answered without the loop waiting.
                        tokio::spawn(async move {
                            let answer = match demo_bench::hand_over(&bench, traveller).await {
                                Ok(scene) => {
                                    ResponseEnvelope::ok(id, Response::DemoTravellerSent { scene })
                                }
                                Err(error) => ResponseEnvelope::error(
                                    id,
                                    ErrorCode::NotAvailable,
                                    error.to_string(),
                                ),
                            };
                            let _ = reply.send(answer);
                        });
                        return;
                    }
                } else if !self.config.accepts_simulated_travellers() || self.simulator.is_none() {
                    ResponseEnvelope::error(
                        id,
                        ErrorCode::NotAvailable,
                        "this gate reads real documents or drives a real door; simulated travellers are refused",
                    )
                } else {
                    let transaction_id = self.simulate(traveller);
                    ok(Response::SimulationStarted { transaction_id })
                }
            }
        };
        let _ = reply.send(answer);
    }

    /// Records who cleared a call or took the gate out of or back into service, before it is
    /// done (an `officer.action` event; the officer's id, never anything of the traveller's).
    fn record_officer_action(&mut self, action: &'static str, actor: &Actor) {
        let mut payload = serde_json::json!({
            "action": action,
            "by": actor.recorded_as(),
            "via": actor.via(),
        });
        if action == "clear_call" {
            if let Some(transaction_id) = self.gate.current_transaction() {
                payload["transaction_id"] = serde_json::json!(transaction_id);
                payload["cancelled_in_progress"] = serde_json::json!(true);
            } else if self.gate.holding_until().is_some()
                && let Some(last) = &self.last_outcome
            {
                payload["transaction_id"] = serde_json::json!(last.transaction_id);
                payload["reasons"] = serde_json::json!(last.reasons);
            }
        }
        info!(action, by = %actor.recorded_as(), "officer action");
        self.store
            .append(event_kind::OFFICER_ACTION, self.clock.unix_ms(), payload);
    }

    fn wait_for(
        &mut self,
        until: Awaited,
        at_most: Duration,
        reply: oneshot::Sender<ResponseEnvelope>,
        answer: ResponseEnvelope,
    ) {
        self.waiting.push(WaitingReply {
            until,
            deadline: tokio::time::Instant::now() + at_most,
            reply,
            answer: Answer::Ready(answer),
        });
        self.answer_waiting();
    }

    /// Answers the requests whose condition now holds (or whose time is up: the answer
    /// stands, the status shows the gate as it is).
    pub(super) fn answer_waiting(&mut self) {
        let state = self.door.state();
        let now = tokio::time::Instant::now();
        let (done, waiting): (Vec<WaitingReply>, Vec<WaitingReply>) =
            std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|w| {
                    now >= w.deadline
                        || match w.until {
                            Awaited::DoorReleased => state.lock_released(),
                            Awaited::DoorLocked(ticket) => state.locks_applied >= ticket.0,
                            Awaited::HoldCleared(seq) => self.progress.holds_cleared.1 >= seq,
                            Awaited::Written(seq) => self.writes.1 >= seq,
                        }
                });
        self.waiting = waiting;
        for waiting in done {
            if now >= waiting.deadline {
                warn!(until = ?waiting.until, "not confirmed in time");
            }
            let answer = match waiting.answer {
                Answer::Ready(answer) => answer,
                Answer::Status { id } => {
                    ResponseEnvelope::ok(id, Response::Status(Box::new(self.status())))
                }
            };
            let _ = waiting.reply.send(answer);
        }
    }

    /// A technician's door pulse: only in maintenance mode, with no traveller at the gate,
    /// recorded before the door opens.
    fn start_door_pulse(&mut self, ms: u32) -> Result<(), (ErrorCode, String)> {
        if !(100..=10_000).contains(&ms) {
            return Err((
                ErrorCode::BadRequest,
                format!("pulse of {ms} ms is outside 100..=10000"),
            ));
        }
        if !self.raised(Condition::Maintenance) {
            return Err((
                ErrorCode::NotAvailable,
                "a door pulse needs maintenance mode first (gatectl maintenance on)".into(),
            ));
        }
        if self.gate.current_transaction().is_some() {
            return Err((
                ErrorCode::NotAvailable,
                "a traveller's transaction is in progress".into(),
            ));
        }
        if self.pulse.is_some() {
            return Err((
                ErrorCode::NotAvailable,
                "a door pulse is already in progress".into(),
            ));
        }
        self.store.send(StoreJob::ManualRelease {
            ms,
            occurred_at_ms: self.clock.unix_ms(),
        });
        Ok(())
    }

    /// The pulse is recorded (or could not be: an unrecorded manual release must not happen).
    pub(super) fn manual_release_recorded(&mut self, ms: u32, result: Result<(), String>) {
        let Some(Pulse::Recording { reply }) = self.pulse.take() else {
            return;
        };
        let Some((id, reply)) = reply else {
            return;
        };
        if let Err(err) = result {
            let _ = reply.send(ResponseEnvelope::error(
                id,
                ErrorCode::Internal,
                format!("the release could not be recorded: {err}"),
            ));
            return;
        }
        if !self.raised(Condition::Maintenance) || self.gate.current_transaction().is_some() {
            let _ = reply.send(ResponseEnvelope::error(
                id,
                ErrorCode::NotAvailable,
                "maintenance mode ended or a traveller arrived before the door opened",
            ));
            return;
        }
        warn!(
            ms,
            "door: lock released by a technician (maintenance pulse)"
        );
        let duration = Duration::from_millis(u64::from(ms));
        self.pulse = Some(Pulse::Open {
            until_ms: self.clock.monotonic_ms().saturating_add(u64::from(ms)),
        });
        // A pulse is an authorisation of its own: one passage is credited, a second is
        // tailgating, exactly as for a traveller.
        self.door.authorise(TransactionId(rand::random()), duration);
        self.wait_for(
            Awaited::DoorReleased,
            DOOR_CONFIRMATION,
            reply,
            ResponseEnvelope::ok(id, Response::Done),
        );
    }

    /// Ends a technician's door pulse (timer, `gatectl door lock`, maintenance off).
    pub(super) fn end_door_pulse(&mut self) {
        if matches!(self.pulse, Some(Pulse::Open { .. })) {
            self.pulse = None;
            info!("door: maintenance pulse over");
            self.door.lock();
        }
    }

    /// Demo mode: the next simulated traveller steps up when the gate is free; after a deny a
    /// simulated officer attends and clears it.
    pub(super) fn autopilot(&mut self) {
        if self.gate.current_transaction().is_some() {
            return;
        }
        if self.gate.holding_until().is_some() {
            info!("simulated officer attends and clears the deny");
            self.feed(Event::OfficerReset);
            return;
        }
        if let Some(bench) = self.config.simulation.demo_bench.clone() {
            if self.free_for_a_traveller() {
                tokio::spawn(async move {
                    match demo_bench::hand_over(&bench, demo_bench_traveller()).await {
                        Ok(scene) => info!(%scene, "autopilot: a traveller steps up to the bench"),
                        Err(error) => warn!(%error, "autopilot: no traveller"),
                    }
                });
            }
            return;
        }
        let roll: u8 = rand::random_range(0..100);
        let mut traveller = SimulatedTraveller::default();
        match roll {
            0..70 => {}
            70..80 => traveller.face_scores = vec![0.12, 0.18, 0.15],
            80..88 => traveller.document = SimulatedDocument::Expired,
            88..93 => traveller.document = SimulatedDocument::Forged,
            93..97 => traveller.walks_through = false,
            _ => traveller.attack_score = 0.9,
        }
        traveller.enrolled = roll < 85;
        let _ = self.simulate(traveller);
    }

    /// No traveller inside, no deny hold and nothing keeping the gate out of service.
    fn free_for_a_traveller(&self) -> bool {
        self.gate.current_transaction().is_none()
            && self.gate.holding_until().is_none()
            && self.gate.snapshot().out_of_service_reasons.is_empty()
    }

    fn simulate(&mut self, traveller: SimulatedTraveller) -> Option<TransactionId> {
        let simulator = self.simulator.clone()?;
        let id = TransactionId(rand::random());
        // A traveller arriving while another is inside must not disturb the simulated devices
        // serving the one inside; the core still sees (and counts) the refused document.
        let busy = self.gate.current_transaction().is_some();
        if !busy {
            simulator.arrive(id, traveller);
        }
        self.feed(Event::DocumentPresented { transaction_id: id });
        if self.gate.current_transaction() == Some(id) {
            Some(id)
        } else {
            if !busy {
                simulator.transaction_over(id);
            }
            None
        }
    }
}

/// The autopilot's next traveller at a demo bench: mostly genuine, with the impostors, expired,
/// forged and once-unreadable passports a bench can play.
fn demo_bench_traveller() -> SimulatedTraveller {
    let mut traveller = SimulatedTraveller::default();
    match rand::random_range(0..100_u8) {
        0..70 => {}
        70..82 => traveller.face_scores = vec![0.1],
        82..88 => traveller.document = SimulatedDocument::Expired,
        88..94 => traveller.document = SimulatedDocument::Forged,
        _ => traveller.document = SimulatedDocument::UnreadableOnce,
    }
    traveller
}

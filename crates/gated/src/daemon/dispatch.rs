//! Driving the core, the way quinn's driver drives `quinn-proto`: an event goes into a queue;
//! the queue is drained one event at a time, and every command the core returns for an event
//! is executed before the next event is handled. A command that produces an event (a failed
//! record, a lookup answered at once) queues it; nothing calls back into the core while
//! commands execute.

use super::Daemon;
use super::transaction::TransactionData;
use crate::journal::DenyHold;
use crate::store::{JournalEntry, StoreJob};
use gate_core::{
    Command, Condition, Decision, Event, GateProfile, OpenTransaction, Step, TransactionId,
};
use std::time::Duration;
use tracing::{error, info, warn};

/// The transaction a command belongs to, if any.
fn command_transaction(command: &Command) -> Option<TransactionId> {
    match command {
        Command::ReadChip { transaction_id }
        | Command::CaptureFace { transaction_id, .. }
        | Command::CaptureFinger { transaction_id, .. }
        | Command::CaptureFacePhoto { transaction_id, .. }
        | Command::LookupEnrolment { transaction_id }
        | Command::HandOverRecord { transaction_id }
        | Command::UnlockDoor { transaction_id, .. }
        | Command::DiscardTransactionData { transaction_id } => Some(*transaction_id),
        Command::RecordOutcome { record } => Some(record.transaction_id),
        Command::CallOfficer { transaction_id, .. } => *transaction_id,
        Command::Show { .. } | Command::SetLights { .. } | Command::LockDoor => None,
    }
}

impl Daemon {
    /// Queues `event` and, unless the queue is already being drained (a command executing
    /// queued it), drains it.
    pub(super) fn feed(&mut self, event: Event) {
        self.pending.push_back(event);
        if self.feeding {
            return;
        }
        self.feeding = true;
        while let Some(event) = self.pending.pop_front() {
            if let Some(screen) = &mut self.screen {
                screen.guide.observe(&event, self.gate.policy());
            }
            let now = self.clock.now();
            let commands = self.gate.handle(now, event);
            // One span per traveller transaction: every line logged while executing its
            // commands carries the random transaction id (and nothing personal).
            let span = commands
                .iter()
                .find_map(command_transaction)
                .map(|id| self.transaction_span(id))
                .unwrap_or_else(tracing::Span::none);
            let _entered = span.enter();
            for command in commands {
                self.execute(command);
            }
            self.record_progress();
        }
        self.feeding = false;
        self.publish_screen();
    }

    /// Queues an event made while executing a command; it is handled after the commands of
    /// the current event.
    pub(super) fn queue(&mut self, event: Event) {
        self.pending.push_back(event);
    }

    fn transaction_span(&mut self, id: TransactionId) -> tracing::Span {
        match &self.span {
            Some((current, span)) if *current == id => span.clone(),
            _ => {
                let span = tracing::info_span!("transaction", transaction_id = %id);
                self.span = Some((id, span.clone()));
                span
            }
        }
    }

    /// The personal data of `transaction_id`, created on first use, if it is the transaction
    /// the core runs; `None` for any other (the caller drops what it brought).
    pub(super) fn data_of(
        &mut self,
        transaction_id: TransactionId,
    ) -> Option<&mut TransactionData> {
        if self.gate.current_transaction() != Some(transaction_id) {
            return None;
        }
        if self.data.as_ref().map(TransactionData::id) != Some(transaction_id) {
            self.data = Some(TransactionData::new(transaction_id));
        }
        self.data.as_mut()
    }

    /// The journal of transactions in progress follows the core: a new transaction or a new
    /// stage is written (the pass decision separately, before the door opens), and the end of
    /// a deny hold.
    fn record_progress(&mut self) {
        let transaction = self.gate.current_transaction();
        let step = self.gate.current_step();
        let started = match (transaction, self.progress.transaction) {
            (Some(id), Some((known, started))) if id == known => Some(started),
            (Some(_), _) => Some(self.clock.unix_ms()),
            (None, _) => None,
        };
        if let (Some(id), Some(step), Some(started)) = (transaction, step, started) {
            let new = self.progress.transaction.map(|(t, _)| t) != Some(id);
            let open = self.open_transaction(id, started, step, None);
            if new {
                self.journal(JournalEntry::Start, open);
            } else if self.progress.step != Some(step) && step != Step::Passage {
                self.journal(JournalEntry::Progress, open);
            }
        }
        self.progress.transaction = transaction.zip(started);
        self.progress.step = step;
        let holding = self.gate.holding_until().is_some();
        if self.progress.holding && !holding && !self.gate.is_stopped() {
            self.progress.holds_cleared.0 += 1;
            self.store.send(StoreJob::ClearHold {
                seq: self.progress.holds_cleared.0,
            });
        }
        self.progress.holding = holding;
    }

    /// Numbers a durable write (journal entry or outcome) the status waits for.
    fn next_write(&mut self) -> u64 {
        self.writes.0 += 1;
        self.writes.0
    }

    fn journal(&mut self, entry: JournalEntry, open: OpenTransaction) {
        let seq = self.next_write();
        self.store.send(StoreJob::Journal { seq, entry, open });
    }

    fn open_transaction(
        &self,
        transaction_id: TransactionId,
        started_at_unix_ms: i64,
        stage: Step,
        decision: Option<Decision>,
    ) -> OpenTransaction {
        OpenTransaction {
            transaction_id,
            profile: self.config.gate.profile,
            started_at_unix_ms,
            stage,
            decision,
            document_hash: self.document_hash(transaction_id),
        }
    }

    pub(super) fn execute(&mut self, command: Command) {
        match command {
            Command::Show { prompt } => {
                self.display = prompt;
                info!(?prompt, "display");
            }
            Command::SetLights { lights } => {
                self.lights = lights;
                self.door.indicate(lights);
                info!(?lights, "lights");
            }
            Command::ReadChip { transaction_id } => {
                if self.progress.transaction.map(|(id, _)| id) == Some(transaction_id) {
                    // Read again (the traveller laid the passport down again): the start is
                    // on disk since the first read.
                    info!("reading chip again");
                    if let Some(reader) = &self.roles.reader {
                        reader.read(transaction_id);
                    }
                } else {
                    // The transaction's start goes to disk first; the read starts when it is
                    // there.
                    self.pending_read = Some(transaction_id);
                }
            }
            Command::CaptureFace {
                transaction_id,
                attempt,
            } => {
                info!(attempt, "capturing face");
                match &self.roles.camera {
                    Some(camera) => camera.capture(transaction_id, attempt),
                    None => error!("no camera configured"),
                }
            }
            Command::CaptureFinger {
                transaction_id,
                finger,
                attempt,
            } => {
                info!(?finger, attempt, "capturing finger");
                let template = self
                    .data
                    .as_ref()
                    .filter(|data| data.id() == transaction_id)
                    .and_then(|data| data.template(finger));
                match (&self.roles.finger, self.config.gate.profile) {
                    (Some(reader), GateProfile::FingerprintGate) => {
                        reader.verify(transaction_id, finger, template);
                    }
                    (Some(reader), _) => reader.capture(transaction_id, finger),
                    (None, _) => error!("no fingerprint reader configured"),
                }
            }
            Command::CaptureFacePhoto {
                transaction_id,
                attempt,
            } => {
                info!(attempt, "capturing face photo");
                match &self.roles.camera {
                    Some(camera) => camera.photo(transaction_id),
                    None => error!("no camera configured"),
                }
            }
            Command::LookupEnrolment { transaction_id } => {
                match (&self.roles.finger, self.document_hash(transaction_id)) {
                    (Some(reader), Some(hash)) => reader.lookup_enrolment(transaction_id, hash),
                    _ => {
                        warn!("no document hash or reader for the enrolment lookup: not enrolled");
                        self.queue(Event::EnrolmentLookedUp {
                            transaction_id,
                            fingers: Vec::new(),
                        });
                    }
                }
            }
            Command::HandOverRecord { transaction_id } => self.hand_over(transaction_id),
            Command::UnlockDoor {
                transaction_id,
                for_ms,
            } => {
                // The pass decision goes to disk first; the door opens when it is there.
                let started = self
                    .progress
                    .transaction
                    .filter(|(id, _)| *id == transaction_id)
                    .map_or_else(|| self.clock.unix_ms(), |(_, started)| started);
                let open = self.open_transaction(
                    transaction_id,
                    started,
                    Step::Passage,
                    Some(Decision::Pass),
                );
                self.pending_unlock = Some((transaction_id, for_ms));
                self.journal(JournalEntry::Decision, open);
                info!(
                    for_ms,
                    "door: passage authorised once the decision is recorded"
                );
            }
            Command::LockDoor => {
                self.pending_unlock = None;
                if matches!(self.pulse, Some(super::Pulse::Open { .. })) {
                    self.pulse = None;
                }
                self.door.lock();
            }
            // The transaction id is the span's.
            Command::CallOfficer { reasons, .. } => {
                warn!(
                    reason = gate_logging::list(&reasons).as_deref(),
                    "officer called"
                );
            }
            Command::RecordOutcome { record } => {
                self.last_outcome = Some(gate_protocol::LastOutcome {
                    transaction_id: record.transaction_id,
                    outcome: record.outcome,
                    reasons: record.reasons.clone(),
                    ended_at_unix_ms: record.ended_at_unix_ms,
                });
                self.throughput.count(record.timings.total_ms);
                self.metrics.record_outcome(&record);
                // The core is already in the hold this outcome leads to (if any): record the
                // hold with the outcome, so a restart restores it.
                let now = self.clock.now();
                let hold = self.gate.holding_until().map(|until_ms| DenyHold {
                    transaction_id: record.transaction_id,
                    reasons: record.reasons.clone(),
                    until_unix_ms: now.unix_ms.saturating_add(
                        i64::try_from(until_ms.saturating_sub(now.monotonic_ms))
                            .unwrap_or(i64::MAX),
                    ),
                });
                let seq = self.next_write();
                self.store.send(StoreJob::Outcome {
                    seq,
                    record: Box::new(record),
                    hold,
                    after_lock: self.door.last_lock(),
                });
            }
            Command::DiscardTransactionData { transaction_id } => {
                if let Some(reader) = &self.roles.reader {
                    reader.discard(transaction_id);
                }
                if let Some(camera) = &self.roles.camera {
                    camera.discard(transaction_id);
                }
                if let Some(finger) = &self.roles.finger {
                    finger.discard(transaction_id);
                }
                self.roles.traveller.gone(transaction_id);
                if self.data.as_ref().map(TransactionData::id) == Some(transaction_id) {
                    // Dropped whole: every field is wiped on drop.
                    self.data = None;
                }
            }
        }
    }

    /// The start of `transaction_id` is on disk (or could not be written): read its document
    /// if the core still waits for it, or take the gate out of service.
    pub(super) fn start_recorded(&mut self, transaction_id: TransactionId, ok: bool) {
        let pending = self.pending_read.take_if(|id| *id == transaction_id);
        if self.go_on(pending.is_some(), transaction_id, ok, Step::ReadDocument) {
            // After the disk write: outside the transaction's span.
            info!(transaction_id = %transaction_id, "reading chip");
            match &self.roles.reader {
                Some(reader) => reader.read(transaction_id),
                None => error!("no document reader configured"),
            }
        }
    }

    /// The pass decision of `transaction_id` is on disk (or could not be written): open the
    /// door for it if the core still waits for its passage, or take the gate out of service.
    pub(super) fn decision_recorded(&mut self, transaction_id: TransactionId, ok: bool) {
        let pending = self.pending_unlock.take_if(|(id, _)| *id == transaction_id);
        let for_ms = pending.map_or(0, |(_, for_ms)| for_ms);
        if self.go_on(pending.is_some(), transaction_id, ok, Step::Passage) {
            self.door
                .authorise(transaction_id, Duration::from_millis(for_ms));
            self.roles.traveller.door_released(transaction_id);
            info!(transaction_id = %transaction_id, for_ms, "door: passage authorised");
        }
    }

    /// Whether what waited for a journal entry of `transaction_id` may now happen: it was
    /// waiting, the entry is on disk (`ok`, else the gate goes out of service) and the core is
    /// still at `step` of that transaction.
    fn go_on(
        &mut self,
        waiting: bool,
        transaction_id: TransactionId,
        ok: bool,
        step: Step,
    ) -> bool {
        if !waiting {
            return false;
        }
        if !ok {
            self.feed(Event::ConditionRaised {
                condition: Condition::OutboxFull,
            });
            return false;
        }
        self.gate.current_transaction() == Some(transaction_id)
            && self.gate.current_step() == Some(step)
    }

    /// Resubmits the outcomes that could not be written.
    pub(super) fn retry_unrecorded(&mut self) {
        for (record, hold) in std::mem::take(&mut self.unrecorded) {
            let seq = self.next_write();
            self.store.send(StoreJob::Outcome {
                seq,
                record,
                hold,
                after_lock: crate::door::LockTicket(0),
            });
        }
    }
}

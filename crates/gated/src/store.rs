//! The outbox writer: one worker thread owns the gate's outbox database, so that no fsync'd
//! write, list lookup or HPKE sealing ever runs on the main loop.
//!
//! The main loop queues [`StoreJob`]s and hears back through [`StoreReport`]s; what `gatectl
//! status` shows of the outbox is published on a `watch` channel ([`OutboxView`]). Jobs run in
//! the order they were queued. An outcome is written only once the door has confirmed the
//! lock that preceded it ([`StoreJob::Outcome::after_lock`]), so every record is made with the
//! door locked.

use crate::door::{DoorState, LockTicket};
use crate::event_kind;
use crate::journal::{self, DenyHold};
use crate::lists::{self, EnrolledTemplates, List};
use crate::worker::{Inbox, Jobs, Next, Worker, WorkerError, serve};
use gate_core::{DocumentHash, OpenTransaction, OutcomeRecord, TransactionId};
use outbox::handover::{BoothPublicKey, HandOverRecord};
use outbox::sync::SyncSignal;
use outbox::{ListFreshness, NewEvent, Outbox};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

/// How long an outcome waits for the door to confirm the lock before it is written anyway.
const LOCK_CONFIRMATION: Duration = Duration::from_millis(200);
/// How often the outbox view is refreshed after writes, at most.
const VIEW_REFRESH: Duration = Duration::from_millis(250);
/// How long the worker waits for a job before it refreshes the view anyway.
const IDLE: Duration = Duration::from_secs(1);

/// The inspection booth BioCart records are sealed to.
#[derive(Debug)]
pub struct Booth {
    /// The booth's id.
    pub id: String,
    /// Its public key.
    pub key: BoothPublicKey,
    /// How long a sealed record waits for central's acknowledgement.
    pub ttl: Duration,
}

/// Work for the outbox writer.
pub enum StoreJob {
    /// Append one event.
    Append {
        /// Event kind ([`crate::event_kind`]).
        kind: &'static str,
        /// When it happened (Unix ms).
        occurred_at_ms: i64,
        /// The payload (nothing personal).
        payload: serde_json::Value,
    },
    /// Record a technician's door release before it happens; answered with
    /// [`StoreReport::ManualRelease`].
    ManualRelease {
        /// How long the door is to be released.
        ms: u32,
        /// When (Unix ms).
        occurred_at_ms: i64,
    },
    /// Record a transaction in progress (its start, a new stage, its pass decision); answered
    /// with [`StoreReport::Journaled`].
    Journal {
        /// The write's number (counted by the main loop with the outcomes).
        seq: u64,
        /// What it is.
        entry: JournalEntry,
        /// The transaction as it stands.
        open: OpenTransaction,
    },
    /// Write a transaction's outcome (closing its journal entry, recording the deny hold it
    /// led to) once the door has applied lock request `after_lock`.
    Outcome {
        /// The outcome's number (counted by the main loop), answered in
        /// [`StoreReport::OutcomeWritten`] or [`StoreReport::OutcomeFailed`].
        seq: u64,
        /// The record.
        record: Box<OutcomeRecord>,
        /// The deny hold the gate entered with it.
        hold: Option<DenyHold>,
        /// The lock request that must be confirmed first.
        after_lock: LockTicket,
    },
    /// The deny hold ended; answered with [`StoreReport::HoldCleared`].
    ClearHold {
        /// Which end of a hold this is (counted by the main loop).
        seq: u64,
    },
    /// Seal the BioCart record to the booth's key and queue it with its event; answered with
    /// [`StoreReport::HandedOver`].
    HandOver {
        /// The transaction.
        transaction_id: TransactionId,
        /// The record (wiped when dropped) and the booth it is sealed to; `None` for a
        /// simulated BioCart (an event saying so, without biometric data).
        sealed_for: Option<(Box<HandOverRecord>, Arc<Booth>)>,
    },
    /// Look `hash` up in the denylist; answered with [`StoreReport::Denylist`].
    Denylist {
        /// The transaction.
        transaction_id: TransactionId,
        /// The document's keyed hash.
        hash: DocumentHash,
    },
    /// Look up the enrolment of `hash`; answered with [`StoreReport::Enrolment`].
    Enrolment {
        /// The transaction.
        transaction_id: TransactionId,
        /// The document's keyed hash.
        hash: DocumentHash,
    },
    /// Admission (high-water mark), list freshness, purge of delivered events; answered with
    /// [`StoreReport::Housekeeping`].
    Housekeeping {
        /// The lists to check and their age limit.
        lists: Option<(Vec<List>, Duration)>,
    },
}

impl std::fmt::Debug for StoreJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            StoreJob::Append { kind, .. } => kind,
            StoreJob::ManualRelease { .. } => "manual release",
            StoreJob::Journal { .. } => "journal",
            StoreJob::Outcome { .. } => "outcome",
            StoreJob::ClearHold { .. } => "clear hold",
            StoreJob::HandOver { .. } => "hand-over",
            StoreJob::Denylist { .. } => "denylist",
            StoreJob::Enrolment { .. } => "enrolment",
            StoreJob::Housekeeping { .. } => "housekeeping",
        };
        write!(f, "StoreJob({name})")
    }
}

/// What a journal entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalEntry {
    /// The transaction started: its document is read once this is on disk.
    Start,
    /// It reached a new stage.
    Progress,
    /// Its pass decision: the door opens once this is on disk.
    Decision,
}

impl JournalEntry {
    fn failure(self) -> &'static str {
        match self {
            JournalEntry::Start => "transaction start not recorded: it does not go on",
            JournalEntry::Progress => "transaction progress not recorded",
            JournalEntry::Decision => "pass decision not recorded: the door stays locked",
        }
    }
}

/// What the outbox writer tells the main loop.
pub enum StoreReport {
    /// An outcome is durable.
    OutcomeWritten {
        /// Its number.
        seq: u64,
    },
    /// An outcome could not be written; the loop keeps it and retries.
    OutcomeFailed {
        /// Its number.
        seq: u64,
        /// The record.
        record: Box<OutcomeRecord>,
        /// Its deny hold.
        hold: Option<DenyHold>,
    },
    /// A journal entry is durable (`ok`) or could not be written.
    Journaled {
        /// The write's number.
        seq: u64,
        /// What it was.
        entry: JournalEntry,
        /// The transaction.
        transaction_id: TransactionId,
        /// Whether it is on disk.
        ok: bool,
    },
    /// A BioCart record is queued for the booth (or not).
    HandedOver {
        /// The transaction.
        transaction_id: TransactionId,
        /// Whether it is durably queued.
        ok: bool,
    },
    /// The denylist answered (a failed lookup counts as a hit: fail safe).
    Denylist {
        /// The transaction.
        transaction_id: TransactionId,
        /// Whether the document is listed.
        listed: bool,
    },
    /// The enrolment lookup answered (a failed lookup: not enrolled).
    Enrolment {
        /// The transaction.
        transaction_id: TransactionId,
        /// The enrolled fingers and templates.
        fingers: EnrolledTemplates,
    },
    /// The end of a deny hold was written (or its failure logged).
    HoldCleared {
        /// The end's number, from [`StoreJob::ClearHold`].
        seq: u64,
    },
    /// A technician's door release is recorded (`Ok`) or could not be.
    ManualRelease {
        /// How long the door is to be released.
        ms: u32,
        /// Whether it is durable, or why not.
        result: Result<(), String>,
    },
    /// Housekeeping results.
    Housekeeping {
        /// The outbox is at or above its high-water mark (or cannot tell).
        full: bool,
        /// Lists missing or stale, with why.
        stale_lists: Vec<String>,
    },
}

impl std::fmt::Debug for StoreReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreReport::Enrolment {
                transaction_id,
                fingers,
            } => write!(f, "Enrolment({transaction_id}, {} fingers)", fingers.len()),
            StoreReport::OutcomeWritten { seq } => write!(f, "OutcomeWritten({seq})"),
            StoreReport::OutcomeFailed { record, .. } => {
                write!(f, "OutcomeFailed({})", record.transaction_id)
            }
            StoreReport::Journaled {
                entry,
                transaction_id,
                ok,
                ..
            } => write!(f, "Journaled({entry:?}, {transaction_id}, {ok})"),
            StoreReport::HandedOver { transaction_id, ok } => {
                write!(f, "HandedOver({transaction_id}, {ok})")
            }
            StoreReport::Denylist {
                transaction_id,
                listed,
            } => write!(f, "Denylist({transaction_id}, {listed})"),
            StoreReport::ManualRelease { ms, result } => {
                write!(f, "ManualRelease({ms} ms, {result:?})")
            }
            StoreReport::HoldCleared { seq } => write!(f, "HoldCleared({seq})"),
            StoreReport::Housekeeping { full, stale_lists } => {
                write!(f, "Housekeeping(full {full}, stale {stale_lists:?})")
            }
        }
    }
}

/// The outbox as `gatectl status` and the metrics show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxView {
    /// Events not yet at central.
    pub pending: u64,
    /// Bytes used.
    pub used_bytes: u64,
    /// The high-water mark: at or above it new travellers are refused.
    pub high_water_bytes: u64,
    /// How long the oldest event not yet at central has waited, ms (`None`: none waits).
    pub oldest_pending_age_ms: Option<i64>,
    /// When the sync last exchanged with central successfully / failed (Unix ms).
    pub sync_last_success_ms: Option<i64>,
    /// When a push or pull last failed (Unix ms).
    pub sync_last_failure_ms: Option<i64>,
    /// How long events have waited without central taking any: 0 when none waits, else the
    /// time since the later of the last successful exchange and the oldest event's recording
    /// (ms). A backlog that drains keeps it small; a central out of reach makes it grow.
    pub sync_lag_ms: i64,
    /// Why the status could not be read, if it could not.
    pub error: Option<String>,
}

/// The outbox writer's handle (cheap to clone).
#[derive(Clone, Debug)]
pub struct Store {
    jobs: Jobs<StoreJob>,
    view: watch::Receiver<OutboxView>,
}

impl Store {
    /// Starts the writer on `outbox`. Reports go to `reports`; the door's state tells it when
    /// a lock is confirmed; `sync` is woken after every append.
    pub fn start(
        outbox: Outbox,
        reports: mpsc::Sender<StoreReport>,
        door: watch::Receiver<DoorState>,
        sync: Option<SyncSignal>,
    ) -> Result<(Self, Worker), WorkerError> {
        let (view_tx, view) = watch::channel(OutboxView::default());
        let mut writer = Writer {
            outbox,
            reports,
            door,
            sync,
            view: view_tx,
            refreshed: None,
        };
        writer.refresh_view();
        let (jobs, worker) = serve("outbox", move |inbox| writer.run(&inbox))?;
        Ok((Self { jobs, view }, worker))
    }

    /// Queues a job.
    pub fn send(&self, job: StoreJob) {
        self.jobs.send(job);
    }

    /// Queues an event with no one waiting for it.
    pub fn append(&self, kind: &'static str, occurred_at_ms: i64, payload: serde_json::Value) {
        self.send(StoreJob::Append {
            kind,
            occurred_at_ms,
            payload,
        });
    }

    /// The outbox as last seen by the writer.
    pub fn view(&self) -> OutboxView {
        self.view.borrow().clone()
    }
}

struct Writer {
    outbox: Outbox,
    reports: mpsc::Sender<StoreReport>,
    door: watch::Receiver<DoorState>,
    sync: Option<SyncSignal>,
    view: watch::Sender<OutboxView>,
    refreshed: Option<Instant>,
}

impl Writer {
    fn run(&mut self, inbox: &Inbox<StoreJob>) {
        loop {
            match inbox.next(IDLE) {
                Next::Job(job) => self.job(job),
                Next::Idle => self.refresh_view(),
                Next::Stop => return,
            }
        }
    }

    fn report(&self, report: StoreReport) {
        // Fails only when the main loop has stopped reading (shutting down).
        let _ = self.reports.blocking_send(report);
    }

    fn appended(&mut self) {
        if let Some(sync) = &self.sync {
            sync.notify();
        }
        if self.refreshed.is_none_or(|at| at.elapsed() >= VIEW_REFRESH) {
            self.refresh_view();
        }
    }

    fn append(
        &mut self,
        kind: &'static str,
        occurred_at_ms: i64,
        payload: &serde_json::Value,
    ) -> Result<(), String> {
        match self.outbox.append(&NewEvent {
            kind,
            occurred_at_ms,
            payload,
        }) {
            Ok(_) => {
                self.appended();
                Ok(())
            }
            Err(err) => {
                error!(error = %err, kind, "event not recorded");
                Err(err.to_string())
            }
        }
    }

    fn refresh_view(&mut self) {
        self.refreshed = Some(Instant::now());
        let view = match self.outbox.status() {
            Ok(status) => {
                let now_ms = self.outbox.now_ms();
                let waited = status.oldest_pending_age_ms.unwrap_or(0).max(0);
                let since_success = status
                    .sync
                    .last_success_ms
                    .map_or(waited, |at| now_ms.saturating_sub(at).max(0));
                OutboxView {
                    pending: status.pending,
                    used_bytes: status.used_bytes,
                    high_water_bytes: status.high_water_bytes,
                    oldest_pending_age_ms: status.oldest_pending_age_ms,
                    sync_last_success_ms: status.sync.last_success_ms,
                    sync_last_failure_ms: status.sync.last_failure_ms,
                    sync_lag_ms: if status.pending == 0 {
                        0
                    } else {
                        waited.min(since_success)
                    },
                    error: None,
                }
            }
            Err(err) => OutboxView {
                error: Some(err.to_string()),
                ..OutboxView::default()
            },
        };
        self.view.send_replace(view);
    }

    fn job(&mut self, job: StoreJob) {
        match job {
            StoreJob::Append {
                kind,
                occurred_at_ms,
                payload,
            } => {
                let _ = self.append(kind, occurred_at_ms, &payload);
            }
            StoreJob::ManualRelease { ms, occurred_at_ms } => {
                let payload = serde_json::json!({ "ms": ms });
                let result = self.append(event_kind::DOOR_MANUAL_RELEASE, occurred_at_ms, &payload);
                self.report(StoreReport::ManualRelease { ms, result });
            }
            StoreJob::Journal { seq, entry, open } => {
                let ok = match journal::write_open(&mut self.outbox, &open) {
                    Ok(()) => true,
                    Err(err) => {
                        error!(error = %err, transaction_id = %open.transaction_id, "{}", entry.failure());
                        false
                    }
                };
                self.report(StoreReport::Journaled {
                    seq,
                    entry,
                    transaction_id: open.transaction_id,
                    ok,
                });
            }
            StoreJob::Outcome {
                seq,
                record,
                hold,
                after_lock,
            } => self.outcome(seq, record, hold, after_lock),
            StoreJob::ClearHold { seq } => {
                if let Err(err) = journal::clear_hold(&mut self.outbox) {
                    error!(error = %err, "the end of the deny hold was not recorded");
                }
                self.report(StoreReport::HoldCleared { seq });
            }
            StoreJob::HandOver {
                transaction_id,
                sealed_for,
            } => {
                let ok = self.hand_over(transaction_id, sealed_for);
                self.report(StoreReport::HandedOver { transaction_id, ok });
            }
            StoreJob::Denylist {
                transaction_id,
                hash,
            } => {
                let listed = lists::is_denylisted(&self.outbox, &hash).unwrap_or_else(|err| {
                    error!(error = %err, "denylist lookup failed: treating as a hit");
                    true
                });
                self.report(StoreReport::Denylist {
                    transaction_id,
                    listed,
                });
            }
            StoreJob::Enrolment {
                transaction_id,
                hash,
            } => {
                let fingers = lists::enrolment(&self.outbox, &hash).unwrap_or_else(|err| {
                    error!(error = %err, "enrolment lookup failed: treated as not enrolled");
                    Vec::new()
                });
                self.report(StoreReport::Enrolment {
                    transaction_id,
                    fingers,
                });
            }
            StoreJob::Housekeeping { lists } => self.housekeeping(lists),
        }
    }

    /// Waits (briefly) until the door has applied lock request `ticket`.
    fn wait_for_lock(&self, ticket: LockTicket) {
        let deadline = Instant::now() + LOCK_CONFIRMATION;
        while self.door.borrow().locks_applied < ticket.0 {
            if Instant::now() >= deadline {
                error!("door: the door thread did not confirm the lock");
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn outcome(
        &mut self,
        seq: u64,
        record: Box<OutcomeRecord>,
        hold: Option<DenyHold>,
        after: LockTicket,
    ) {
        self.wait_for_lock(after);
        let payload = match serde_json::to_value(&*record) {
            Ok(payload) => payload,
            Err(err) => {
                error!(error = %err, "outcome record not encodable");
                self.report(StoreReport::OutcomeFailed { seq, record, hold });
                return;
            }
        };
        let event = NewEvent {
            kind: event_kind::TRANSACTION_OUTCOME,
            occurred_at_ms: record.ended_at_unix_ms,
            payload: &payload,
        };
        match journal::close(
            &mut self.outbox,
            &event,
            record.transaction_id,
            hold.as_ref(),
        ) {
            Ok(_) => {
                info!(
                    transaction_id = %record.transaction_id,
                    outcome = ?record.outcome,
                    reason = gate_logging::list(&record.reasons).as_deref(),
                    total_ms = record.timings.total_ms,
                    "transaction ended"
                );
                self.appended();
                self.report(StoreReport::OutcomeWritten { seq });
            }
            Err(err) => {
                error!(error = %err, transaction_id = %record.transaction_id, "outcome not yet durable; kept in memory and retried");
                self.report(StoreReport::OutcomeFailed { seq, record, hold });
            }
        }
    }

    /// Seals the record to the booth's key and queues it with its event in one transaction.
    /// Without a booth (a simulated BioCart) the event says it is simulated and carries no
    /// biometric data.
    fn hand_over(
        &mut self,
        transaction_id: TransactionId,
        sealed_for: Option<(Box<HandOverRecord>, Arc<Booth>)>,
    ) -> bool {
        let now = self.outbox.now_ms();
        let Some((record, booth)) = sealed_for else {
            let payload = serde_json::json!({
                "transaction_id": transaction_id,
                "simulated": true,
            });
            return self
                .append(event_kind::BIOCART_RECORD, now, &payload)
                .is_ok();
        };
        let sealed = outbox::handover::seal(&record, &booth.id, &booth.key, now);
        drop(record);
        let sealed = match sealed {
            Ok(sealed) => sealed,
            Err(err) => {
                error!(error = %err, "BioCart record not sealed");
                return false;
            }
        };
        let payload = serde_json::json!({
            "transaction_id": transaction_id,
            "booth_id": booth.id,
            "record_id": sealed.id,
        });
        let event = NewEvent {
            kind: event_kind::BIOCART_RECORD,
            occurred_at_ms: now,
            payload: &payload,
        };
        match self
            .outbox
            .append_handover_and_event(&sealed, booth.ttl, &event)
        {
            Ok(_) => {
                info!(booth = %booth.id, "BioCart record sealed and queued for the booth");
                self.appended();
                true
            }
            Err(err) => {
                error!(error = %err, "BioCart record could not be queued");
                false
            }
        }
    }

    fn housekeeping(&mut self, lists: Option<(Vec<List>, Duration)>) {
        let stale_lists = match lists {
            Some((lists, max_age)) => stale_lists(&self.outbox, &lists, max_age),
            None => Vec::new(),
        };
        let full = self.outbox.check_admission().is_err();
        if let Err(err) = self.outbox.purge_delivered() {
            warn!(error = %err, "purging delivered events failed");
        }
        self.refresh_view();
        self.report(StoreReport::Housekeeping { full, stale_lists });
    }
}

/// The lists among `lists` that are missing or older than `max_age`, each with why.
pub fn stale_lists(outbox: &Outbox, lists: &[List], max_age: Duration) -> Vec<String> {
    let mut stale = Vec::new();
    for list in lists {
        let name = list.name();
        match outbox.list_freshness(name, max_age) {
            Ok(ListFreshness::Fresh { .. }) => {}
            Ok(other) => stale.push(format!("{name}: {other:?}")),
            Err(err) => stale.push(format!("{name}: {err}")),
        }
    }
    stale
}

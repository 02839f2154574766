//! What the workers report, turned into core events: device results (with the personal data
//! they carry, kept in the transaction's data), the door's steps, the outbox writer's answers
//! and device health.

use super::Daemon;
use crate::door::DriverStep;
use crate::event_kind;
use crate::health::HealthReport;
use crate::roles::DeviceReport;
use crate::store::{JournalEntry, StoreJob, StoreReport};
use gate_core::{ChipReadResult, Condition, DocumentFacts, Event, GateProfile, TransactionId};
use gate_protocol::Health;
use tracing::{error, info, warn};

impl Daemon {
    /// A device's result: its data goes into the transaction's data (or is dropped at once
    /// when the transaction is not the one in progress), then its event to the core.
    pub(super) fn device_report(&mut self, report: DeviceReport) {
        match report {
            DeviceReport::DocumentPresented { transaction_id } => {
                self.feed(Event::DocumentPresented { transaction_id });
                if self.gate.current_transaction() != Some(transaction_id)
                    && let Some(reader) = &self.roles.reader
                {
                    // Refused (busy, out of service): the reader takes the next document.
                    reader.discard(transaction_id);
                }
            }
            DeviceReport::DocumentRead {
                transaction_id,
                result: Err(reason),
                timings,
            } => self.feed(Event::ChipRead {
                transaction_id,
                result: ChipReadResult::Failed { reason },
                timings,
            }),
            DeviceReport::DocumentRead {
                transaction_id,
                result: Ok(mut document),
                timings,
            } => {
                let hash = self
                    .hasher
                    .hash(&document.issuing_state, &document.document_number);
                let biocart = self.config.gate.profile == GateProfile::BioCart;
                let photo = document.photo.take();
                let Some(data) = self.data_of(transaction_id) else {
                    // A late read: the transaction is over; its document is dropped here.
                    return;
                };
                data.document_hash = Some(hash);
                data.read_timings = timings;
                if biocart {
                    data.document = Some(super::biocart::document_data(&document));
                }
                data.read = Some(document);
                if let (Some(camera), Some(photo)) = (&self.roles.camera, photo) {
                    camera.set_reference(transaction_id, photo);
                }
                self.store.send(StoreJob::Denylist {
                    transaction_id,
                    hash,
                });
            }
            DeviceReport::FaceCompared {
                transaction_id,
                attempt,
            } => self.feed(Event::FaceCaptured {
                transaction_id,
                attempt,
            }),
            DeviceReport::FacePhoto {
                transaction_id,
                quality,
                photo,
            } => {
                if let (Some(photo), Some(data)) = (photo, self.data_of(transaction_id)) {
                    data.photo = Some(photo);
                }
                self.feed(Event::FacePhotoCaptured {
                    transaction_id,
                    quality,
                });
            }
            DeviceReport::Finger {
                transaction_id,
                finger,
                attempt,
                sample,
            } => {
                if let (Some(sample), Some(data)) = (sample, self.data_of(transaction_id)) {
                    data.keep_finger(finger, sample);
                }
                self.feed(Event::FingerCaptured {
                    transaction_id,
                    finger,
                    attempt,
                });
            }
            DeviceReport::Enrolment {
                transaction_id,
                fingers,
            } => self.enrolment_found(transaction_id, fingers),
            DeviceReport::TravellerCancelled => self.feed(Event::TravellerCancelled),
        }
    }

    fn enrolment_found(
        &mut self,
        transaction_id: TransactionId,
        fingers: crate::lists::EnrolledTemplates,
    ) {
        let listed: Vec<gate_core::Finger> = fingers.iter().map(|(finger, _)| *finger).collect();
        info!(fingers = listed.len(), "enrolment looked up");
        if let Some(data) = self.data_of(transaction_id) {
            data.enrolment = fingers;
        }
        self.feed(Event::EnrolmentLookedUp {
            transaction_id,
            fingers: listed,
        });
    }

    /// The outbox writer's answers.
    pub(super) fn store_report(&mut self, report: StoreReport) {
        match report {
            StoreReport::Denylist {
                transaction_id,
                listed,
            } => {
                let Some((document, timings)) = self
                    .data_of(transaction_id)
                    .and_then(|data| Some((data.read.take()?, data.read_timings)))
                else {
                    return;
                };
                let Some(hash) = self.document_hash(transaction_id) else {
                    return;
                };
                let document = *document;
                let result = ChipReadResult::Read {
                    facts: DocumentFacts {
                        hash,
                        document_code: document.document_code.clone(),
                        issuing_state: document.issuing_state.clone(),
                        nationality: document.nationality.clone(),
                        birth_date: document.birth_date,
                        expiry_date: document.expiry_date,
                    },
                    authenticity: document.authenticity,
                    denylisted: listed || document.simulated_denylist_hit,
                };
                // The document number and names are dropped (wiped) here.
                drop(document);
                self.feed(Event::ChipRead {
                    transaction_id,
                    result,
                    timings,
                });
            }
            StoreReport::Enrolment {
                transaction_id,
                fingers,
            } => self.enrolment_found(transaction_id, fingers),
            StoreReport::Journaled {
                seq,
                entry,
                transaction_id,
                ok,
            } => {
                self.writes.1 = seq;
                match entry {
                    JournalEntry::Start => self.start_recorded(transaction_id, ok),
                    JournalEntry::Decision => self.decision_recorded(transaction_id, ok),
                    JournalEntry::Progress => {}
                }
                self.answer_waiting();
            }
            StoreReport::HandedOver { transaction_id, ok } => {
                self.feed(Event::RecordHandedOver { transaction_id, ok })
            }
            StoreReport::OutcomeWritten { seq } => {
                self.writes.1 = seq;
                self.answer_waiting();
            }
            StoreReport::OutcomeFailed { seq, record, hold } => {
                self.writes.1 = seq;
                self.unrecorded.push((record, hold));
                self.raise(Condition::OutboxFull, true);
                self.answer_waiting();
            }
            StoreReport::ManualRelease { ms, result } => self.manual_release_recorded(ms, result),
            StoreReport::HoldCleared { seq } => {
                self.progress.holds_cleared.1 = seq;
                self.answer_waiting();
            }
            StoreReport::Housekeeping { full, stale_lists } => {
                if self.lists.is_some() {
                    if !stale_lists.is_empty() && !self.raised(Condition::ListsStale) {
                        warn!(lists = ?stale_lists, "down-synced lists missing or stale: refusing travellers");
                    } else if stale_lists.is_empty() && self.raised(Condition::ListsStale) {
                        info!("down-synced lists fresh again");
                    }
                    self.raise(Condition::ListsStale, !stale_lists.is_empty());
                }
                let full = full || !self.unrecorded.is_empty();
                if full && !self.raised(Condition::OutboxFull) {
                    warn!("outbox above high-water mark: refusing new travellers");
                } else if !full && self.raised(Condition::OutboxFull) {
                    info!("outbox below high-water mark again");
                }
                self.raise(Condition::OutboxFull, full);
            }
        }
    }

    /// Whether `condition` holds in the core.
    pub(super) fn raised(&self, condition: Condition) -> bool {
        self.gate.snapshot().conditions.contains(&condition)
    }

    /// Raises (`on`) or clears `condition` in the core, if it is not so already.
    pub(super) fn raise(&mut self, condition: Condition, on: bool) {
        match (on, self.raised(condition)) {
            (true, false) => self.feed(Event::ConditionRaised { condition }),
            (false, true) => self.feed(Event::ConditionCleared { condition }),
            _ => {}
        }
    }

    /// What the door thread reports: turnstile events to the core (passage, alarms, fire,
    /// tamper) and alarms to the outbox, faults as a condition.
    pub(super) fn door_step(&mut self, step: DriverStep) {
        for event in &step.events {
            if let Some(alarm) = event.alarm() {
                warn!(?event, "door alarm");
                self.metrics.door_alarm(alarm.reason());
                match serde_json::to_value(event) {
                    Ok(payload) => {
                        self.store
                            .append(event_kind::DOOR_ALARM, self.clock.unix_ms(), payload)
                    }
                    Err(err) => error!(error = %err, "door alarm not encodable"),
                }
            } else {
                info!(?event, "door");
            }
            if let Some(gate_event) = event.gate_event() {
                self.feed(gate_event);
            }
        }
        if !step.faults.is_empty() {
            let fault = step
                .faults
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            error!(%fault, "door fault");
            self.door_fault = Some(fault);
            self.feed(Event::ConditionRaised {
                condition: Condition::DoorFault,
            });
        }
    }

    /// Records a device's health and raises or clears its out-of-service condition.
    pub(super) fn health_report(&mut self, report: HealthReport) {
        let condition = report.role.condition();
        let down = report.health == Health::Down;
        self.device_health
            .insert(report.role, (report.health, report.detail));
        self.raise(condition, down);
    }
}

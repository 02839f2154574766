//! Simulated devices: a chip reader, camera-and-matcher, fingerprint module and door that answer
//! from a scripted [`SimulatedTraveller`] instead of hardware.
//!
//! This is a simulator, used by the demo gate (`firmware-config/sim-face-gate.toml`) and the
//! integration tests. It produces the same events as real devices, after realistic delays, so
//! the daemon, the core and the outbox run exactly as on a real gate.

use crate::hashing::DocumentHasher;
use devices::turnstile::{InMemoryTurnstileHandle, Input};
use gate_config::GateConfig;
use gate_config::schema::{CameraConfig, ChipReaderConfig, DoorConfig, FingerprintConfig};
use gate_core::examples::specimen_facts;
use gate_core::{
    Authenticity, ChipReadResult, Date, Event, FaceAttempt, Finger, FingerAttempt, ReasonCode,
    TransactionId,
};
use gate_protocol::{SimulatedDocument, SimulatedTraveller};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Delays of the simulated devices.
#[derive(Clone, Copy, Debug)]
pub struct SimTiming {
    /// Chip read.
    pub read_ms: u64,
    /// Face capture burst.
    pub capture_ms: u64,
    /// Finger placement.
    pub placement_ms: u64,
    /// From unlock to passage.
    pub passage_ms: u64,
}

impl SimTiming {
    /// Timing from the configuration's simulated devices (defaults for absent ones).
    pub fn from_config(config: &GateConfig) -> Self {
        let d = &config.devices;
        Self {
            read_ms: match d.chip_reader {
                Some(ChipReaderConfig::Simulated { read_ms, .. }) => read_ms,
                _ => 600,
            },
            capture_ms: match d.camera {
                Some(CameraConfig::Simulated { capture_ms }) => capture_ms,
                _ => 700,
            },
            placement_ms: match d.fingerprint {
                Some(FingerprintConfig::Simulated { placement_ms }) => placement_ms,
                _ => 500,
            },
            passage_ms: match d.door {
                Some(DoorConfig::Simulated { passage_ms }) => passage_ms,
                _ => 1_500,
            },
        }
    }
}

struct Visit {
    id: TransactionId,
    traveller: SimulatedTraveller,
    document_number: String,
    face_attempts: usize,
    finger_attempts: usize,
    steps: u8,
}

/// The simulated devices of one gate.
pub struct SimulatedDevices {
    timing: SimTiming,
    events: mpsc::Sender<Event>,
    visit: Option<Visit>,
    passage: Option<JoinHandle<()>>,
    door: Option<InMemoryTurnstileHandle>,
    verify_fingers: bool,
    next_document: u32,
}

impl SimulatedDevices {
    /// Simulators that send their results to `events`. `verify_fingers` selects 1:1
    /// verification (fingerprint gate) instead of capture (BioCart). The traveller walks
    /// through the in-memory turnstile behind `door` (none: a real door), tripping its exit
    /// sensor.
    pub fn new(
        timing: SimTiming,
        events: mpsc::Sender<Event>,
        door: Option<InMemoryTurnstileHandle>,
        verify_fingers: bool,
    ) -> Self {
        Self {
            timing,
            events,
            visit: None,
            passage: None,
            door,
            verify_fingers,
            next_document: 1,
        }
    }

    /// A traveller lays a document on the reader for transaction `id`.
    pub fn arrive(&mut self, id: TransactionId, traveller: SimulatedTraveller) {
        let document_number = format!("SIM{:06}", self.next_document);
        self.next_document += 1;
        self.visit = Some(Visit {
            id,
            traveller,
            document_number,
            face_attempts: 0,
            finger_attempts: 0,
            steps: 0,
        });
    }

    /// Forgets everything about transaction `id` (its "document" and "biometrics").
    pub fn discard(&mut self, id: TransactionId) {
        if self.visit.as_ref().is_some_and(|v| v.id == id) {
            self.visit = None;
        }
    }

    fn visit(&mut self, id: TransactionId) -> Option<&mut Visit> {
        self.visit.as_mut().filter(|v| v.id == id)
    }

    fn later(&self, delay_ms: u64, event: Event) -> JoinHandle<()> {
        let events = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            // The main loop may be gone at shutdown; nothing to do then.
            let _ = events.send(event).await;
        })
    }

    /// Counts a capture step; returns true when the traveller gives up instead.
    fn cancels(&mut self, id: TransactionId) -> bool {
        let delay = self.timing.placement_ms;
        let Some(visit) = self.visit(id) else {
            return false;
        };
        visit.steps += 1;
        if visit.traveller.cancel_after_steps == Some(visit.steps) {
            self.later(delay, Event::TravellerCancelled);
            true
        } else {
            false
        }
    }

    /// Reads the simulated document; `denylisted` looks its keyed hash up in the gate's
    /// down-synced denylist.
    pub fn read_chip(
        &mut self,
        id: TransactionId,
        hasher: &DocumentHasher,
        denylisted: impl Fn(&gate_core::DocumentHash) -> bool,
    ) {
        let Some(visit) = self.visit(id) else {
            return;
        };
        let hash = hasher.hash("UTO", &visit.document_number);
        let mut facts = specimen_facts(hash);
        let mut authenticity = Authenticity::Verified;
        let mut on_denylist = denylisted(&hash);
        let result = match visit.traveller.document {
            SimulatedDocument::Unreadable => ChipReadResult::Failed {
                reason: ReasonCode::ChipReadFailed,
            },
            document => {
                match document {
                    SimulatedDocument::Expired => {
                        facts.expiry_date = Date::new(2021, 3, 31).unwrap_or(facts.expiry_date)
                    }
                    SimulatedDocument::Denylisted => on_denylist = true,
                    SimulatedDocument::Forged => {
                        authenticity = Authenticity::Failed {
                            reason: ReasonCode::DocumentNotAuthentic,
                        }
                    }
                    _ => {}
                }
                ChipReadResult::Read {
                    facts,
                    authenticity,
                    denylisted: on_denylist,
                }
            }
        };
        let delay = self.timing.read_ms;
        self.later(
            delay,
            Event::ChipRead {
                transaction_id: id,
                result,
            },
        );
    }

    /// Captures a simulated face burst and "compares" it.
    pub fn capture_face(&mut self, id: TransactionId) {
        if self.cancels(id) {
            return;
        }
        let Some(visit) = self.visit(id) else {
            return;
        };
        let scores = &visit.traveller.face_scores;
        let score = scores
            .get(visit.face_attempts)
            .or(scores.last())
            .copied()
            .unwrap_or(0.0);
        visit.face_attempts += 1;
        let attempt = FaceAttempt::Compared {
            score,
            attack_score: visit.traveller.attack_score,
            quality: 82,
        };
        let delay = self.timing.capture_ms;
        self.later(
            delay,
            Event::FaceCaptured {
                transaction_id: id,
                attempt,
            },
        );
    }

    /// Takes a simulated BioCart face photo.
    pub fn capture_face_photo(&mut self, id: TransactionId) {
        if self.cancels(id) {
            return;
        }
        let delay = self.timing.capture_ms;
        self.later(
            delay,
            Event::FacePhotoCaptured {
                transaction_id: id,
                quality: Some(78),
            },
        );
    }

    /// A simulated finger placement.
    pub fn capture_finger(&mut self, id: TransactionId, finger: Finger) {
        if self.cancels(id) {
            return;
        }
        let verify = self.verify_fingers;
        let Some(visit) = self.visit(id) else {
            return;
        };
        let pick = |list: &[u8], i: usize| list.get(i).or(list.last()).copied().unwrap_or(0);
        let quality = pick(&visit.traveller.finger_qualities, visit.finger_attempts);
        let scores = &visit.traveller.finger_scores;
        let score = scores
            .get(visit.finger_attempts)
            .or(scores.last())
            .copied()
            .unwrap_or(0);
        visit.finger_attempts += 1;
        let attempt = if verify {
            // The simulated matcher has no threshold of its own: the policy's decides.
            FingerAttempt::Verified {
                quality,
                score,
                matched: true,
            }
        } else {
            FingerAttempt::Captured { quality }
        };
        let delay = self.timing.placement_ms;
        self.later(
            delay,
            Event::FingerCaptured {
                transaction_id: id,
                finger,
                attempt,
            },
        );
    }

    /// Looks up the simulated enrolment.
    pub fn lookup_enrolment(&mut self, id: TransactionId) {
        let Some(visit) = self.visit(id) else {
            return;
        };
        let fingers = if visit.traveller.enrolled {
            vec![Finger::RightIndex, Finger::LeftIndex]
        } else {
            Vec::new()
        };
        self.later(
            50,
            Event::EnrolmentLookedUp {
                transaction_id: id,
                fingers,
            },
        );
    }

    /// The door was released for `id`: the traveller walks through (or not), interrupting
    /// the exit sensor's beam for a moment.
    pub fn door_unlocked(&mut self, id: TransactionId) {
        // A traveller with a real document (no scripted visit) walks through the simulated door.
        let walks = self.visit(id).is_none_or(|v| v.traveller.walks_through);
        if let (true, Some(door)) = (walks, &self.door) {
            let delay = self.timing.passage_ms;
            let door = door.clone();
            // A walker needs about 150 ms through the beam; fast simulations walk faster.
            let in_beam = Duration::from_millis(delay.clamp(1, 150));
            self.passage = Some(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                door.set_input(Input::DoorClosed, false);
                door.set_input(Input::ExitPassage, true);
                tokio::time::sleep(in_beam).await;
                door.set_input(Input::ExitPassage, false);
                tokio::time::sleep(in_beam / 3).await;
                door.set_input(Input::DoorClosed, true);
            }));
        }
    }

    /// The door was locked: a passage still under way in the simulation is called off, and
    /// a traveller who already went through has cleared the exit beam.
    pub fn door_locked(&mut self) {
        if let Some(passage) = self.passage.take() {
            passage.abort();
        }
        if let Some(door) = &self.door {
            door.set_input(Input::ExitPassage, false);
            door.set_input(Input::DoorClosed, true);
        }
    }
}

//! Simulated devices: a document reader, camera-and-matcher and fingerprint module that answer
//! from a scripted [`SimulatedTraveller`] instead of hardware, and a traveller who walks
//! through the simulated (in-memory) door once it opens.
//!
//! This is a simulator, used by the demo gate (`firmware-config/sim-face-gate.toml`), the
//! tests and the benchmarks. It sits behind the same role traits as the real devices
//! ([`crate::roles`]) and answers with the same [`DeviceReport`]s, after the configured delays
//! on the daemon's clock, so the daemon, the core and the outbox run exactly as on a real gate.
//! It runs as one task (the worker shape of [`crate::worker`]).

use crate::chip_worker::ReadDocument;
use crate::clock::Clock;
use crate::door::DoorState;
use crate::roles::{DeviceReport, DocumentReader, FaceCamera, FingerReader, Traveller};
use crate::worker::Worker;
use devices::turnstile::{InMemoryTurnstileHandle, Input};
use gate_config::GateConfig;
use gate_config::schema::{CameraConfig, ChipReaderConfig, DoorConfig, FingerprintConfig};
use gate_core::examples::specimen_facts;
use gate_core::{
    Authenticity, Date, DocumentHash, FaceAttempt, Finger, FingerAttempt, GateProfile, ReasonCode,
    TransactionId,
};
use gate_protocol::{SimulatedDocument, SimulatedTraveller};
use tokio::sync::{mpsc, oneshot, watch};
use zeroize::Zeroizing;

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

/// How long the simulated enrolment lookup takes.
const LOOKUP_MS: u64 = 50;

enum Job {
    Arrive {
        id: TransactionId,
        traveller: Box<SimulatedTraveller>,
    },
    ReadChip(TransactionId),
    CaptureFace(TransactionId),
    Photo(TransactionId),
    Finger(TransactionId, Finger),
    Enrolment(TransactionId),
    Discard(TransactionId),
    DoorAuthorised(TransactionId),
}

/// The simulated devices' handle: one per gate, cloned into every simulated role.
#[derive(Clone, Debug)]
pub struct Simulator {
    jobs: mpsc::UnboundedSender<Job>,
}

/// The simulated door the traveller walks through, with what it publishes.
pub struct SimulatedDoor {
    /// The in-memory lines' input side.
    pub lines: InMemoryTurnstileHandle,
    /// The door's published state (the traveller walks once it shows the lock released).
    pub state: watch::Receiver<DoorState>,
}

impl Simulator {
    /// Starts the simulated devices of `config` on `clock`, answering on `reports`; the
    /// traveller walks through `door` when it is the simulated one.
    pub fn start(
        config: &GateConfig,
        clock: Clock,
        reports: mpsc::Sender<DeviceReport>,
        door: Option<SimulatedDoor>,
    ) -> (Self, Worker) {
        let (jobs, inbox) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let photo = match &config.devices.chip_reader {
            Some(ChipReaderConfig::Simulated {
                photo: Some(path), ..
            }) => match std::fs::read(path) {
                Ok(bytes) => Some(Zeroizing::new(bytes)),
                Err(err) => {
                    tracing::error!(error = %err, path = %path.display(), "simulated chip photo unreadable");
                    None
                }
            },
            _ => None,
        };
        let state = Simulation {
            timing: SimTiming::from_config(config),
            verify_fingers: config.gate.profile == GateProfile::FingerprintGate,
            photo,
            clock,
            reports,
            door,
            visit: None,
            next_document: 1,
            timers: Vec::new(),
            next_timer: 0,
            walk_for: None,
        };
        let worker = Worker::task(
            "simulator",
            move || {
                let _ = stop.send(());
            },
            state.run(inbox, stopped),
        );
        (Self { jobs }, worker)
    }

    fn send(&self, job: Job) {
        // Fails only when the simulator has stopped (shutdown).
        let _ = self.jobs.send(job);
    }

    /// A traveller lays a document on the reader for transaction `id`.
    pub fn arrive(&self, id: TransactionId, traveller: SimulatedTraveller) {
        self.send(Job::Arrive {
            id,
            traveller: Box::new(traveller),
        });
    }

    /// Transaction `id` is over: its traveller and everything scripted for them are gone (a
    /// walk through the door still under way is called off).
    pub fn transaction_over(&self, id: TransactionId) {
        self.send(Job::Discard(id));
    }

    /// The door was authorised for the traveller of `id`: they walk through once it opens
    /// (unless their script says they stay put).
    pub fn door_authorised(&self, id: TransactionId) {
        self.send(Job::DoorAuthorised(id));
    }
}

impl DocumentReader for Simulator {
    fn read(&self, transaction_id: TransactionId) {
        self.send(Job::ReadChip(transaction_id));
    }

    fn discard(&self, transaction_id: TransactionId) {
        self.transaction_over(transaction_id);
    }
}

impl FaceCamera for Simulator {
    fn set_reference(&self, _transaction_id: TransactionId, _photo: Zeroizing<Vec<u8>>) {}

    fn capture(&self, transaction_id: TransactionId, _attempt: u8) {
        self.send(Job::CaptureFace(transaction_id));
    }

    fn photo(&self, transaction_id: TransactionId) {
        self.send(Job::Photo(transaction_id));
    }

    fn discard(&self, transaction_id: TransactionId) {
        self.transaction_over(transaction_id);
    }
}

impl Traveller for Simulator {
    fn door_released(&self, transaction_id: TransactionId) {
        self.door_authorised(transaction_id);
    }

    fn gone(&self, transaction_id: TransactionId) {
        self.transaction_over(transaction_id);
    }
}

impl FingerReader for Simulator {
    fn lookup_enrolment(&self, transaction_id: TransactionId, _hash: DocumentHash) {
        self.send(Job::Enrolment(transaction_id));
    }

    fn verify(
        &self,
        transaction_id: TransactionId,
        finger: Finger,
        _template: Option<Zeroizing<Vec<u8>>>,
    ) {
        self.send(Job::Finger(transaction_id, finger));
    }

    fn capture(&self, transaction_id: TransactionId, finger: Finger) {
        self.send(Job::Finger(transaction_id, finger));
    }

    fn discard(&self, transaction_id: TransactionId) {
        self.transaction_over(transaction_id);
    }
}

struct Visit {
    id: TransactionId,
    traveller: SimulatedTraveller,
    document_number: String,
    face_attempts: usize,
    finger_attempts: usize,
    chip_reads: usize,
    steps: u8,
}

enum Action {
    Report(DeviceReport),
    Door(Input, bool),
}

struct Timer {
    at_ms: u64,
    seq: u64,
    /// The transaction it belongs to (dropped with it).
    owner: Option<TransactionId>,
    action: Action,
}

struct Simulation {
    timing: SimTiming,
    verify_fingers: bool,
    photo: Option<Zeroizing<Vec<u8>>>,
    clock: Clock,
    reports: mpsc::Sender<DeviceReport>,
    door: Option<SimulatedDoor>,
    visit: Option<Visit>,
    next_document: u32,
    timers: Vec<Timer>,
    next_timer: u64,
    /// A traveller waiting for the door to open for this transaction.
    walk_for: Option<TransactionId>,
}

impl Simulation {
    async fn run(
        mut self,
        mut jobs: mpsc::UnboundedReceiver<Job>,
        mut stopped: oneshot::Receiver<()>,
    ) {
        let mut door_changes = self.door.as_ref().map(|door| door.state.clone());
        loop {
            let next = self.timers.iter().map(|t| t.at_ms).min();
            let clock = self.clock.clone();
            tokio::select! {
                biased;
                _ = &mut stopped => return,
                job = jobs.recv() => match job {
                    Some(job) => self.job(job),
                    None => return,
                },
                () = sleep_until(&clock, next) => self.fire_due().await,
                changed = door_changed(&mut door_changes), if self.walk_for.is_some() => {
                    if changed {
                        self.walk_if_open();
                    } else {
                        door_changes = None;
                    }
                }
            }
        }
    }

    fn job(&mut self, job: Job) {
        match job {
            Job::Arrive { id, traveller } => {
                let document_number = format!("SIM{:06}", self.next_document);
                self.next_document += 1;
                self.visit = Some(Visit {
                    id,
                    traveller: *traveller,
                    document_number,
                    face_attempts: 0,
                    chip_reads: 0,
                    finger_attempts: 0,
                    steps: 0,
                });
            }
            Job::ReadChip(id) => self.read_chip(id),
            Job::CaptureFace(id) => self.capture_face(id),
            Job::Photo(id) => {
                if !self.cancels(id) && self.visit(id).is_some() {
                    self.later(
                        self.timing.capture_ms,
                        id,
                        DeviceReport::FacePhoto {
                            transaction_id: id,
                            quality: Some(78),
                            photo: None,
                        },
                    );
                }
            }
            Job::Finger(id, finger) => self.finger(id, finger),
            Job::Enrolment(id) => {
                let Some(visit) = self.visit(id) else {
                    return;
                };
                let fingers = if visit.traveller.enrolled {
                    vec![
                        (Finger::RightIndex, Zeroizing::new(Vec::new())),
                        (Finger::LeftIndex, Zeroizing::new(Vec::new())),
                    ]
                } else {
                    Vec::new()
                };
                self.later(
                    LOOKUP_MS,
                    id,
                    DeviceReport::Enrolment {
                        transaction_id: id,
                        fingers,
                    },
                );
            }
            Job::Discard(id) => self.discard(id),
            Job::DoorAuthorised(id) => {
                // A traveller with a real document (no scripted visit) walks through.
                let walks = self
                    .visit
                    .as_ref()
                    .filter(|v| v.id == id)
                    .is_none_or(|v| v.traveller.walks_through);
                if walks && self.door.is_some() {
                    self.walk_for = Some(id);
                    self.walk_if_open();
                }
            }
        }
    }

    fn visit(&mut self, id: TransactionId) -> Option<&mut Visit> {
        self.visit.as_mut().filter(|v| v.id == id)
    }

    fn schedule(&mut self, delay_ms: u64, owner: Option<TransactionId>, action: Action) {
        self.next_timer += 1;
        self.timers.push(Timer {
            at_ms: self.clock.monotonic_ms().saturating_add(delay_ms),
            seq: self.next_timer,
            owner,
            action,
        });
    }

    fn later(&mut self, delay_ms: u64, owner: TransactionId, report: DeviceReport) {
        self.schedule(delay_ms, Some(owner), Action::Report(report));
    }

    async fn fire_due(&mut self) {
        let now = self.clock.monotonic_ms();
        let mut due: Vec<Timer> = Vec::new();
        let mut i = 0;
        while i < self.timers.len() {
            if self.timers[i].at_ms <= now {
                due.push(self.timers.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|t| (t.at_ms, t.seq));
        for timer in due {
            match timer.action {
                // Fails only when the main loop is gone (shutdown).
                Action::Report(report) => {
                    let _ = self.reports.send(report).await;
                }
                Action::Door(input, active) => {
                    if let Some(door) = &self.door {
                        door.lines.set_input(input, active);
                    }
                }
            }
        }
    }

    /// Counts a capture step; returns true when the traveller gives up instead.
    fn cancels(&mut self, id: TransactionId) -> bool {
        let delay = self.timing.placement_ms;
        let Some(visit) = self.visit(id) else {
            return false;
        };
        visit.steps += 1;
        if visit.traveller.cancel_after_steps == Some(visit.steps) {
            self.later(delay, id, DeviceReport::TravellerCancelled);
            true
        } else {
            false
        }
    }

    fn read_chip(&mut self, id: TransactionId) {
        let photo = self.photo.clone();
        let delay = self.timing.read_ms;
        let Some(visit) = self.visit(id) else {
            return;
        };
        let facts = specimen_facts(DocumentHash([0; 32]));
        let first_read = visit.chip_reads == 0;
        visit.chip_reads += 1;
        let result = match visit.traveller.document {
            SimulatedDocument::Unreadable => Err(ReasonCode::ChipReadFailed),
            SimulatedDocument::UnreadableOnce if first_read => Err(ReasonCode::ChipReadFailed),
            document => Ok(Box::new(ReadDocument {
                document_code: facts.document_code,
                issuing_state: facts.issuing_state,
                nationality: visit
                    .traveller
                    .nationality
                    .clone()
                    .unwrap_or(facts.nationality),
                document_number: Zeroizing::new(visit.document_number.clone()),
                primary_identifier: Zeroizing::new("ERIKSSON".into()),
                secondary_identifier: Zeroizing::new("ANNA<MARIA".into()),
                birth_date_mrz: Zeroizing::new("740812".into()),
                birth_date: facts.birth_date,
                expiry_date: if document == SimulatedDocument::Expired {
                    Date::new(2021, 3, 31).unwrap_or(facts.expiry_date)
                } else {
                    facts.expiry_date
                },
                photo,
                authenticity: if document == SimulatedDocument::Forged {
                    Authenticity::Failed {
                        reason: ReasonCode::DocumentNotAuthentic,
                    }
                } else {
                    Authenticity::Verified
                },
                simulated_denylist_hit: document == SimulatedDocument::Denylisted,
            })),
        };
        // The simulated read takes its configured time; its verdict takes none.
        let timings = gate_core::ChipReadTimings {
            read_ms: Some(delay),
            authenticity_ms: result.is_ok().then_some(0),
        };
        self.later(
            delay,
            id,
            DeviceReport::DocumentRead {
                transaction_id: id,
                result,
                timings,
            },
        );
    }

    fn capture_face(&mut self, id: TransactionId) {
        if self.cancels(id) {
            return;
        }
        let delay = self.timing.capture_ms;
        let Some(visit) = self.visit(id) else {
            return;
        };
        let problems = &visit.traveller.face_quality_problems;
        let attempt = match problems.get(visit.face_attempts) {
            Some(&check) => FaceAttempt::QualityTooLow {
                quality: 20,
                // The simulator's stand-in figures: a real face worker reports what it measured.
                shortfalls: vec![gate_core::FaceQualityShortfall {
                    check,
                    measured: 0.0,
                    limit: 1.0,
                }],
            },
            None => {
                let scores = &visit.traveller.face_scores;
                let index = visit.face_attempts - problems.len().min(visit.face_attempts);
                let score = scores.get(index).or(scores.last()).copied().unwrap_or(0.0);
                FaceAttempt::Compared {
                    score,
                    attack_score: visit.traveller.attack_score,
                    quality: 82,
                }
            }
        };
        visit.face_attempts += 1;
        self.later(
            delay,
            id,
            DeviceReport::FaceCompared {
                transaction_id: id,
                attempt,
            },
        );
    }

    fn finger(&mut self, id: TransactionId, finger: Finger) {
        if self.cancels(id) {
            return;
        }
        let verify = self.verify_fingers;
        let delay = self.timing.placement_ms;
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
        self.later(
            delay,
            id,
            DeviceReport::Finger {
                transaction_id: id,
                finger,
                attempt,
                sample: None,
            },
        );
    }

    /// The transaction is over: its traveller is gone (a passage still under way is called
    /// off and the door left closed with the beam clear). Results already under way still
    /// arrive, late, as a real device's would.
    fn discard(&mut self, id: TransactionId) {
        if self.visit.as_ref().is_some_and(|v| v.id == id) {
            self.visit = None;
        }
        let walk = |t: &Timer| t.owner == Some(id) && matches!(t.action, Action::Door(..));
        let walking = self.timers.iter().any(walk);
        self.timers.retain(|t| !walk(t));
        if self.walk_for == Some(id) {
            self.walk_for = None;
        }
        if walking && let Some(door) = &self.door {
            door.lines.set_input(Input::ExitBeam, false);
            door.lines.set_input(Input::DoorClosed, true);
        }
    }

    /// Starts the walk once the door shows the lock released for the waiting traveller: the
    /// door opens and the exit beam is interrupted for a moment, then the door closes.
    fn walk_if_open(&mut self) {
        let (Some(id), Some(door)) = (self.walk_for, &self.door) else {
            return;
        };
        if door.state.borrow().unlocked_for() != Some(id) {
            return;
        }
        self.walk_for = None;
        let delay = self.timing.passage_ms;
        // A walker needs about 150 ms through the beam; fast simulations walk faster.
        let in_beam = delay.clamp(1, 150);
        for (at, input, active) in [
            (delay, Input::DoorClosed, false),
            (delay, Input::ExitBeam, true),
            (delay + in_beam, Input::ExitBeam, false),
            (delay + in_beam + in_beam / 3, Input::DoorClosed, true),
        ] {
            self.schedule(at, Some(id), Action::Door(input, active));
        }
    }
}

async fn sleep_until(clock: &Clock, at_ms: Option<u64>) {
    match at_ms {
        Some(at) => clock.sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Waits for the door's next published state; false when the door is gone.
async fn door_changed(door: &mut Option<watch::Receiver<DoorState>>) -> bool {
    match door {
        Some(door) => door.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

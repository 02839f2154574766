//! The door: one worker thread runs the pure turnstile machine
//! ([`gate_core::turnstile`]) against the door's lines (any [`TurnstileIo`] backend) through
//! [`TurnstileDriver`]. The machine drives the outputs to their safe state before anything
//! else, credits one passage per authorisation and raises the door alarms (tailgating, forced
//! entry, reverse passage, held open); the fire alarm releases the door over everything.
//!
//! The main loop never waits on the door thread: it sends requests ([`Door::authorise`],
//! [`Door::lock`], [`Door::indicate`]) and the thread publishes what the door is doing on a
//! `watch` channel ([`DoorState`]: the machine's state, line levels, the last lock request it
//! applied) and sends every step with events, applied outputs or faults on a channel.

pub mod driver;

use crate::worker::{Inbox, Jobs, Next, Worker, WorkerError, serve};
use devices::turnstile::{
    InMemoryTurnstile, InMemoryTurnstileHandle, Input, Output, TurnstileBackend, TurnstileIo,
    TurnstileIoError,
};
pub use driver::{
    DriverStep, TurnstileDriver, TurnstileDriverError, input_of, output_of, sensor_of,
};
use gate_config::schema::DoorConfig;
use gate_core::turnstile::{TurnstileConfig, TurnstileOutput, TurnstileState, TurnstileStatus};
use gate_core::{Lights, TransactionId};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

/// How long the thread waits for an input edge before looking at queued requests.
const POLL: Duration = Duration::from_millis(5);

/// Why the door could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DoorStartError {
    /// The line mapping is wrong for the backend.
    #[error("devices.door: {0}")]
    Config(#[from] devices::turnstile::TurnstileConfigError),
    /// The backend could not be opened.
    #[error("devices.door: {0}")]
    Io(#[from] TurnstileIoError),
    /// The state machine refused the configuration or the backend.
    #[error("devices.door: {0}")]
    Driver(#[from] TurnstileDriverError),
    /// The thread could not be started.
    #[error("door: {0}")]
    Worker(#[from] WorkerError),
}

/// What the door is doing, as its thread last published it.
#[derive(Clone, Debug, PartialEq)]
pub struct DoorState {
    /// The machine's state, sensor levels and output levels.
    pub status: TurnstileStatus,
    /// The ticket of the last [`Door::lock`] the thread has applied.
    pub locks_applied: u64,
}

impl DoorState {
    /// Whether the lock release output is asserted (door free).
    pub fn lock_released(&self) -> bool {
        Self::released(&self.status)
    }

    fn released(status: &TurnstileStatus) -> bool {
        status
            .outputs
            .iter()
            .any(|(output, level)| *output == TurnstileOutput::LockRelease && *level == Some(true))
    }

    /// The level an output was last driven to.
    pub fn output(&self, output: TurnstileOutput) -> Option<bool> {
        self.status
            .outputs
            .iter()
            .find(|(o, _)| *o == output)
            .and_then(|(_, level)| *level)
    }

    /// The transaction the lock is released for, if any.
    pub fn unlocked_for(&self) -> Option<TransactionId> {
        match self.status.state {
            TurnstileState::Unlocked { transaction_id, .. } => Some(transaction_id),
            _ => None,
        }
    }

    /// Outputs and fitted inputs by name (the names of `[devices.door]`), for the status.
    pub fn lines(&self, fitted: &[Input]) -> (BTreeMap<String, bool>, BTreeMap<String, bool>) {
        let outputs = self
            .status
            .outputs
            .iter()
            .filter_map(|(output, level)| level.map(|level| (output_of(*output), level)))
            .map(|(output, level): (Output, bool)| (output.name().to_owned(), level))
            .collect();
        let inputs = fitted
            .iter()
            .map(|input| {
                (
                    input.name().to_owned(),
                    self.status.sensors.get(sensor_of(*input)),
                )
            })
            .collect();
        (outputs, inputs)
    }
}

/// A lock request's ticket: the lock is confirmed once [`DoorState::locks_applied`] reaches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockTicket(pub u64);

enum Request {
    Authorise {
        transaction_id: TransactionId,
        unlock_for: Duration,
    },
    Lock {
        ticket: LockTicket,
    },
    Indicate {
        lights: Lights,
    },
}

/// The door worker's handle.
#[derive(Debug)]
pub struct Door {
    requests: Jobs<Request>,
    state: watch::Receiver<DoorState>,
    next_ticket: u64,
    fitted: Vec<Input>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Authorise { transaction_id, .. } => write!(f, "Authorise({transaction_id})"),
            Request::Lock { ticket } => write!(f, "Lock({})", ticket.0),
            Request::Indicate { lights } => write!(f, "Indicate({lights:?})"),
        }
    }
}

/// Opens the door's backend from `[devices.door]`: the in-memory lines of the simulated door
/// (with the handle the simulated traveller walks through, the door starting closed) or the
/// GPIO lines. Opening drives every output to its safe state.
pub fn open(
    config: &DoorConfig,
) -> Result<(Box<dyn TurnstileIo>, Option<InMemoryTurnstileHandle>), DoorStartError> {
    let io_config = config.io_config();
    if io_config.backend == TurnstileBackend::InMemory {
        let (io, handle) = InMemoryTurnstile::new(&io_config)?;
        handle.set_input(Input::DoorClosed, true);
        return Ok((Box::new(io), Some(handle)));
    }
    Ok((io_config.open()?, None))
}

impl Door {
    /// Takes over the backend (outputs to their safe state, inputs read, machine powered up),
    /// publishes the first state and starts the thread. Steps go to `steps`, the first one
    /// before this returns.
    pub fn start(
        io: Box<dyn TurnstileIo>,
        machine: TurnstileConfig,
        steps: mpsc::Sender<DriverStep>,
    ) -> Result<(Self, Worker), DoorStartError> {
        let fitted: Vec<Input> = io.inputs();
        let (driver, first) = TurnstileDriver::start(io, machine)?;
        info!("door: outputs at their safe state");
        let (state_tx, state) = watch::channel(DoorState {
            status: driver.status(),
            locks_applied: 0,
        });
        log_step(&first);
        let _ = steps.try_send(first);
        let (requests, worker) = serve("door", move |inbox| {
            run(driver, &inbox, &state_tx, &steps);
        })?;
        Ok((
            Self {
                requests,
                state,
                next_ticket: 0,
                fitted,
            },
            worker,
        ))
    }

    /// Releases the lock for one passage of `transaction_id`.
    pub fn authorise(&self, transaction_id: TransactionId, unlock_for: Duration) {
        self.requests.send(Request::Authorise {
            transaction_id,
            unlock_for,
        });
    }

    /// Withdraws any authorisation: lock engaged. The lock is confirmed when
    /// [`DoorState::locks_applied`] reaches the returned ticket.
    pub fn lock(&mut self) -> LockTicket {
        self.next_ticket += 1;
        let ticket = LockTicket(self.next_ticket);
        self.requests.send(Request::Lock { ticket });
        ticket
    }

    /// The ticket of the last lock request sent.
    pub fn last_lock(&self) -> LockTicket {
        LockTicket(self.next_ticket)
    }

    /// Shows `lights`.
    pub fn indicate(&self, lights: Lights) {
        self.requests.send(Request::Indicate { lights });
    }

    /// What the door thread last published (never waits for the thread).
    pub fn state(&self) -> DoorState {
        self.state.borrow().clone()
    }

    /// A receiver of the published state, for those who wait for changes.
    pub fn watch(&self) -> watch::Receiver<DoorState> {
        self.state.clone()
    }

    /// The inputs wired.
    pub fn fitted(&self) -> &[Input] {
        &self.fitted
    }
}

/// The door thread: requests first (they are short and the loop waits on them), then one poll
/// of the lines; every step that did something is published, then sent.
fn run(
    mut driver: TurnstileDriver<Box<dyn TurnstileIo>>,
    inbox: &Inbox<Request>,
    state: &watch::Sender<DoorState>,
    steps: &mpsc::Sender<DriverStep>,
) {
    let mut locks_applied = 0;
    loop {
        let mut step = DriverStep::default();
        let mut lock_applied = false;
        let mut stop = false;
        loop {
            match inbox.try_next() {
                Next::Job(Request::Authorise {
                    transaction_id,
                    unlock_for,
                }) => step.merge(driver.authorise(transaction_id, unlock_for)),
                Next::Job(Request::Lock { ticket }) => {
                    step.merge(driver.lock());
                    locks_applied = ticket.0;
                    lock_applied = true;
                }
                Next::Job(Request::Indicate { lights }) => step.merge(driver.indicate(lights)),
                Next::Stop => {
                    stop = true;
                    break;
                }
                Next::Idle => break,
            }
        }
        if stop {
            let mut status = driver.status();
            let (_io, last) = driver.shutdown();
            log_step(&last);
            status.state = TurnstileState::Stopped;
            for (output, active) in &last.applied {
                if let Some(entry) = status
                    .outputs
                    .iter_mut()
                    .find(|(o, _)| output_of(*o) == *output)
                {
                    entry.1 = Some(*active);
                }
            }
            state.send_replace(DoorState {
                status,
                locks_applied,
            });
            step.merge(last);
            // The main loop has stopped reading: never wait for it here.
            let _ = steps.try_send(step);
            return;
        }
        if lock_applied {
            if DoorState::released(&driver.status()) {
                warn!("door: lock engaged by the machine, but a fire alarm holds it released");
            } else {
                info!("door: lock engaged");
            }
        }
        step.merge(driver.poll(POLL));
        if !step.is_empty() || lock_applied {
            log_step(&step);
            state.send_replace(DoorState {
                status: driver.status(),
                locks_applied,
            });
            if !step.is_empty() {
                // Fails only when the main loop is gone (stopping); the door stays safe until
                // it is stopped.
                let _ = steps.blocking_send(step);
            }
        }
    }
}

fn log_step(step: &DriverStep) {
    for (output, active) in &step.applied {
        if *output == Output::LockRelease {
            if *active {
                info!("door: lock released");
            } else {
                tracing::debug!("door: lock line off");
            }
        }
    }
}

//! The door task: one thread runs the pure turnstile state machine
//! ([`gate_core::turnstile`]) against the turnstile I/O (any [`TurnstileIo`] backend) through
//! [`TurnstileDriver`], and reports its steps (events, applied outputs, faults) to the main
//! loop. The machine drives the outputs to their safe state before anything else, credits one
//! passage per authorisation and raises the door alarms (tailgating, forced entry, reverse
//! passage, held open); the fire alarm releases the door over everything.

use devices::turnstile::{
    ActiveLevel, DriverRequest, DriverStep, InMemoryTurnstile, InMemoryTurnstileHandle, InputBias,
    InputLine, InputLines, OutputLine, OutputLines, SafeState, TurnstileBackend, TurnstileDriver,
    TurnstileDriverError, TurnstileIo, TurnstileIoConfig, TurnstileIoError,
};
use gate_config::schema::{DoorConfig, DoorInputs, DoorOutputs, LineConfig};
use gate_core::turnstile::{TurnstileConfig, TurnstileStatus, TurnstileTimings};
use gate_core::{Lights, TransactionId};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the door thread reports.
#[derive(Debug)]
pub enum DoorReport {
    /// Something happened: events, output changes, faults.
    Step(DriverStep),
}

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
    /// The thread could not be spawned.
    #[error("door thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Handle of the door thread.
pub struct DoorDriver {
    requests: std_mpsc::Sender<DriverRequest>,
    thread: Option<JoinHandle<()>>,
}

/// How long the thread waits for an input edge before looking at queued requests.
const POLL: Duration = Duration::from_millis(5);

/// The turnstile I/O configuration of a gate's `[devices.door]`.
///
/// The simulated door is an in-memory turnstile with the lock, both lights, the door switch
/// and the exit beam (the simulated traveller opens the door, interrupts the beam and lets the
/// door close).
pub fn io_config(door: Option<&DoorConfig>) -> TurnstileIoConfig {
    let output = |line: &LineConfig, safe_state: SafeState| OutputLine {
        chip: None,
        line: line.line,
        active: level(line),
        safe_state,
    };
    let input = |line: &LineConfig| InputLine {
        chip: None,
        line: line.line,
        active: level(line),
        bias: InputBias::AsIs,
        debounce_ms: 0,
    };
    let lines = |outputs: &DoorOutputs, inputs: &DoorInputs| {
        let lock_safe = if outputs.lock_fail_safe {
            SafeState::Active
        } else {
            SafeState::Inactive
        };
        (
            OutputLines {
                lock_release: output(&outputs.lock_release, lock_safe),
                green_light: Some(output(&outputs.green_light, SafeState::Inactive)),
                red_light: Some(output(&outputs.red_light, SafeState::Inactive)),
                buzzer: outputs
                    .buzzer
                    .as_ref()
                    .map(|line| output(line, SafeState::Inactive)),
            },
            InputLines {
                door_closed: inputs.door_closed.as_ref().map(input),
                entry_passage: inputs.entry_sensor.as_ref().map(input),
                exit_passage: Some(input(&inputs.exit_sensor)),
                fire_alarm: inputs.fire_alarm.as_ref().map(input),
                tamper: inputs.tamper.as_ref().map(input),
            },
        )
    };
    let (backend, chip, (outputs, inputs), timings) = match door {
        Some(DoorConfig::GpioCdev {
            chip,
            outputs,
            inputs,
        }) => (
            TurnstileBackend::GpioCdev,
            Some(chip.clone()),
            lines(outputs, inputs),
            TurnstileTimings::default(),
        ),
        Some(DoorConfig::Rppal { outputs, inputs }) => (
            TurnstileBackend::Rppal,
            None,
            lines(outputs, inputs),
            TurnstileTimings::default(),
        ),
        Some(DoorConfig::Simulated { .. }) | None => {
            let line = |line| LineConfig {
                line,
                active_low: false,
            };
            let simulated = lines(
                &DoorOutputs {
                    lock_release: line(0),
                    green_light: line(1),
                    red_light: line(2),
                    buzzer: None,
                    lock_fail_safe: false,
                },
                &DoorInputs {
                    door_closed: Some(line(4)),
                    entry_sensor: None,
                    exit_sensor: line(3),
                    fire_alarm: None,
                    tamper: None,
                },
            );
            // In-memory lines do not chatter: no debounce needed, so fast simulations can send
            // travellers through a few milliseconds apart.
            let timings = TurnstileTimings {
                door_debounce_ms: 1,
                beam_debounce_ms: 1,
                ..TurnstileTimings::default()
            };
            (TurnstileBackend::InMemory, None, simulated, timings)
        }
    };
    TurnstileIoConfig {
        backend,
        chip,
        consumer: "gated".into(),
        outputs,
        inputs,
        timings,
    }
}

fn level(line: &LineConfig) -> ActiveLevel {
    if line.active_low {
        ActiveLevel::Low
    } else {
        ActiveLevel::High
    }
}

/// Opens the door's backend: the in-memory turnstile (with its handle, for the simulated
/// traveller) or the GPIO lines.
pub fn open(
    config: &TurnstileIoConfig,
) -> Result<(Box<dyn TurnstileIo>, Option<InMemoryTurnstileHandle>), DoorStartError> {
    if config.backend == TurnstileBackend::InMemory {
        let (io, handle) = InMemoryTurnstile::new(config)?;
        // The simulated door starts closed.
        handle.set_input(devices::turnstile::Input::DoorClosed, true);
        return Ok((Box::new(io), Some(handle)));
    }
    Ok((config.open()?, None))
}

impl DoorDriver {
    /// Takes over the backend (outputs to their safe state, inputs read, machine powered up)
    /// and starts the thread. The first step goes to `reports` before this returns.
    pub fn spawn(
        io: Box<dyn TurnstileIo>,
        machine: TurnstileConfig,
        reports: mpsc::Sender<DoorReport>,
    ) -> Result<Self, DoorStartError> {
        let (driver, first) = TurnstileDriver::start(io, machine)?;
        let _ = reports.try_send(DoorReport::Step(first));
        let (requests, queue) = std_mpsc::channel::<DriverRequest>();
        let thread = std::thread::Builder::new()
            .name("door".into())
            .spawn(move || {
                let _io = driver.run(&queue, POLL, |step| {
                    reports.blocking_send(DoorReport::Step(step)).is_ok()
                });
            })?;
        Ok(Self {
            requests,
            thread: Some(thread),
        })
    }

    fn send(&self, request: DriverRequest) {
        if self.requests.send(request).is_err() {
            tracing::error!("door thread gone: request not served");
        }
    }

    /// Releases the lock for one passage of `transaction_id`.
    pub fn authorise(&self, transaction_id: TransactionId, unlock_for: Duration) {
        self.send(DriverRequest::Authorise {
            transaction_id,
            unlock_for,
        });
    }

    /// Withdraws any authorisation: lock engaged.
    pub fn lock(&self) {
        self.send(DriverRequest::Lock);
    }

    /// Shows `lights`.
    pub fn indicate(&self, lights: Lights) {
        self.send(DriverRequest::Indicate { lights });
    }

    /// The machine's state, sensors and outputs (waits at most 200 ms for the thread).
    pub fn status(&self) -> Option<TurnstileStatus> {
        let (reply, answer) = std_mpsc::channel();
        self.send(DriverRequest::Status { reply });
        answer.recv_timeout(Duration::from_millis(200)).ok()
    }

    /// Withdraws everything, drives every output to its safe state and stops the thread.
    pub fn stop(mut self) {
        self.send(DriverRequest::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

//! [`TurnstileDriver`]: the pure turnstile machine ([`gate_core::turnstile::Turnstile`])
//! running against turnstile I/O ([`TurnstileIo`], any backend of `devices::turnstile`). It
//! stamps each input edge with the machine's clock, delivers ticks at the machine's deadlines,
//! applies the machine's output commands in order and returns the machine's events. Everything
//! is blocking: the door worker ([`super::Door`]) runs it on a dedicated thread.
//!
//! Start-up order ([`TurnstileDriver::start`]): the backend's outputs are driven to their safe
//! state (lock engaged when fail-secure) before anything else, then the inputs are read, then
//! the machine powers up (safe defaults again, then the state the sensors call for).
//!
//! Inputs have one name everywhere: the backend's [`Input`] and the machine's [`Sensor`] are
//! the same five (`door_closed`, `entry_beam`, `exit_beam`, `fire_alarm`, `tamper`).

use std::time::{Duration, Instant};

use gate_core::turnstile::{
    Sensor, SensorSnapshot, TurnstileCommand, TurnstileConfig, TurnstileEvent, TurnstileInput,
    TurnstileOutput, TurnstileStatus,
};
use gate_core::{Lights, TransactionId, Turnstile};

use devices::turnstile::{Input, Output, TurnstileIo, TurnstileIoError};

/// At most this many queued edges are dropped at start-up (a chattering line must not keep
/// `start` busy).
const MAX_STALE_EDGES: usize = 1024;

/// The backend input for a machine sensor.
pub const fn input_of(sensor: Sensor) -> Input {
    match sensor {
        Sensor::DoorClosed => Input::DoorClosed,
        Sensor::EntryBeam => Input::EntryBeam,
        Sensor::ExitBeam => Input::ExitBeam,
        Sensor::FireAlarm => Input::FireAlarm,
        Sensor::Tamper => Input::Tamper,
    }
}

/// The machine sensor for a backend input.
pub const fn sensor_of(input: Input) -> Sensor {
    match input {
        Input::DoorClosed => Sensor::DoorClosed,
        Input::EntryBeam => Sensor::EntryBeam,
        Input::ExitBeam => Sensor::ExitBeam,
        Input::FireAlarm => Sensor::FireAlarm,
        Input::Tamper => Sensor::Tamper,
    }
}

/// The backend output for a machine output.
pub const fn output_of(output: TurnstileOutput) -> Output {
    match output {
        TurnstileOutput::LockRelease => Output::LockRelease,
        TurnstileOutput::GreenLight => Output::GreenLight,
        TurnstileOutput::RedLight => Output::RedLight,
        TurnstileOutput::Buzzer => Output::Buzzer,
    }
}

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum TurnstileDriverError {
    /// The machine configuration is unusable.
    #[error("turnstile machine config: {key}: {message}")]
    Config {
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The machine expects a sensor the backend does not map to a line.
    #[error("the turnstile machine expects input {input}, but no line is mapped for it")]
    SensorNotMapped {
        /// The input.
        input: Input,
    },
    /// The backend has no lock release line.
    #[error("the turnstile backend maps no lock_release output")]
    NoLockRelease,
    /// Driving the safe state or reading the inputs at start-up failed.
    #[error("turnstile start-up: {0}")]
    Io(#[from] TurnstileIoError),
}

/// What one call of the driver did.
#[derive(Debug, Default)]
pub struct DriverStep {
    /// The machine's events, in order.
    pub events: Vec<TurnstileEvent>,
    /// Output changes applied to the backend, in order (logical levels).
    pub applied: Vec<(Output, bool)>,
    /// Backend failures (an output that could not be driven, an edge that could not be read).
    /// The machine keeps running; the daemon should raise a door fault.
    pub faults: Vec<TurnstileIoError>,
}

impl DriverStep {
    /// Appends what `other` did.
    pub fn merge(&mut self, other: DriverStep) {
        self.events.extend(other.events);
        self.applied.extend(other.applied);
        self.faults.extend(other.faults);
    }

    /// True when nothing happened.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.applied.is_empty() && self.faults.is_empty()
    }
}

/// The pure turnstile machine running against a [`TurnstileIo`] backend.
#[derive(Debug)]
pub struct TurnstileDriver<I: TurnstileIo> {
    io: I,
    machine: Turnstile,
    epoch: Instant,
    mapped_outputs: Vec<Output>,
}

impl<I: TurnstileIo> TurnstileDriver<I> {
    /// Takes over the backend: safe state first, inputs read, machine powered up.
    ///
    /// Every sensor the configuration marks fitted must be mapped by the backend (use
    /// `gate_config::schema::DoorConfig::machine_config` to derive one that is).
    pub fn start(
        mut io: I,
        config: TurnstileConfig,
    ) -> Result<(Self, DriverStep), TurnstileDriverError> {
        if let Some(problem) = config.validate().into_iter().next() {
            return Err(TurnstileDriverError::Config {
                key: problem.key,
                message: problem.message,
            });
        }
        let mapped_outputs = io.outputs();
        if !mapped_outputs.contains(&Output::LockRelease) {
            return Err(TurnstileDriverError::NoLockRelease);
        }
        let mapped_inputs = io.inputs();
        for sensor in Sensor::ALL {
            let input = input_of(sensor);
            if config.sensors.has(sensor) && !mapped_inputs.contains(&input) {
                return Err(TurnstileDriverError::SensorNotMapped { input });
            }
        }
        io.drive_safe_state()?;
        // Edges queued before now are stale: drop them, then read the levels. An edge after
        // the read either changes a level (fed later by `poll`) or repeats the level read
        // (ignored by the machine).
        for _ in 0..MAX_STALE_EDGES {
            if io.wait_edge(Duration::ZERO)?.is_none() {
                break;
            }
        }
        let mut sensors = SensorSnapshot::default();
        for sensor in Sensor::ALL {
            if config.sensors.has(sensor) {
                let active = io.read_input(input_of(sensor))?;
                match sensor {
                    Sensor::DoorClosed => sensors.door_closed = active,
                    Sensor::EntryBeam => sensors.entry_beam = active,
                    Sensor::ExitBeam => sensors.exit_beam = active,
                    Sensor::FireAlarm => sensors.fire_alarm = active,
                    Sensor::Tamper => sensors.tamper = active,
                }
            }
        }
        let mut driver = Self {
            io,
            machine: Turnstile::new(config),
            epoch: Instant::now(),
            mapped_outputs,
        };
        let step = driver.feed(0, TurnstileInput::PowerUp { sensors });
        Ok((driver, step))
    }

    fn ms_at(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Milliseconds since the driver started (the machine's clock).
    pub fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// Feeds one input at `now_ms` and applies the resulting commands.
    fn feed(&mut self, now_ms: u64, input: TurnstileInput) -> DriverStep {
        let commands = self.machine.handle(now_ms, input);
        self.apply(commands)
    }

    fn apply(&mut self, commands: Vec<TurnstileCommand>) -> DriverStep {
        let mut step = DriverStep::default();
        for command in commands {
            match command {
                TurnstileCommand::SetOutput { output, active } => {
                    let output = output_of(output);
                    if !self.mapped_outputs.contains(&output) {
                        continue;
                    }
                    match self.io.set_output(output, active) {
                        Ok(()) => step.applied.push((output, active)),
                        Err(error) => step.faults.push(error),
                    }
                }
                TurnstileCommand::Report { event } => step.events.push(event),
            }
        }
        step
    }

    /// Feeds any input now (authorisations, lock, lights, sensor overrides for tests).
    pub fn handle(&mut self, input: TurnstileInput) -> DriverStep {
        let now = self.now_ms();
        self.feed(now, input)
    }

    /// A positive decision: release the lock for one passage of `transaction_id`.
    pub fn authorise(&mut self, transaction_id: TransactionId, unlock_for: Duration) -> DriverStep {
        let unlock_for_ms = u64::try_from(unlock_for.as_millis()).unwrap_or(u64::MAX);
        self.handle(TurnstileInput::Authorise {
            transaction_id,
            unlock_for_ms,
        })
    }

    /// Withdraw any authorisation: lock engaged.
    pub fn lock(&mut self) -> DriverStep {
        self.handle(TurnstileInput::Lock)
    }

    /// The lights the transaction machine asks for.
    pub fn indicate(&mut self, lights: Lights) -> DriverStep {
        self.handle(TurnstileInput::Indicate { lights })
    }

    /// Waits up to `max_wait` (less if a machine deadline comes first) for one input edge,
    /// feeds it, delivers a tick when a deadline has passed, and applies the outputs.
    pub fn poll(&mut self, max_wait: Duration) -> DriverStep {
        let mut step = DriverStep::default();
        let wait = match self.machine.next_deadline() {
            Some(deadline) => {
                let until = Duration::from_millis(deadline.saturating_sub(self.now_ms()));
                until.min(max_wait)
            }
            None => max_wait,
        };
        match self.io.wait_edge(wait) {
            Ok(Some(edge)) => {
                let at = self.ms_at(edge.received_at);
                let input = TurnstileInput::Sensor {
                    sensor: sensor_of(edge.input),
                    active: edge.active,
                };
                step.merge(self.feed(at, input));
            }
            Ok(None) => {}
            Err(error) => step.faults.push(error),
        }
        let now = self.now_ms();
        if self
            .machine
            .next_deadline()
            .is_some_and(|deadline| deadline <= now)
        {
            step.merge(self.feed(now, TurnstileInput::Tick));
        }
        step
    }

    /// Shuts the machine down (authorisations withdrawn, outputs to their safe defaults) and
    /// returns the backend with the last step.
    pub fn shutdown(mut self) -> (I, DriverStep) {
        let step = self.handle(TurnstileInput::Shutdown);
        (self.io, step)
    }

    /// The machine's status.
    pub fn status(&self) -> TurnstileStatus {
        self.machine.status()
    }

    /// The backend.
    pub fn io(&self) -> &I {
        &self.io
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devices::turnstile::{
        InMemoryTurnstile, InputLine, OutputLine, TurnstileBackend, TurnstileIoConfig,
    };
    use gate_core::turnstile::FittedSensors;

    /// The lock, an exit beam and a door switch.
    fn io_config() -> TurnstileIoConfig {
        let mut config = TurnstileIoConfig::new(TurnstileBackend::InMemory, OutputLine::on(0));
        config.inputs.exit_beam = Some(InputLine::on(1));
        config.inputs.door_closed = Some(InputLine::on(2));
        config
    }

    fn machine() -> TurnstileConfig {
        TurnstileConfig {
            sensors: FittedSensors {
                door_closed: true,
                entry_beam: false,
                exit_beam: true,
                fire_alarm: false,
                tamper: false,
            },
            ..TurnstileConfig::default()
        }
    }

    #[test]
    fn start_refuses_a_machine_that_expects_unmapped_sensors() {
        let (io, _) = InMemoryTurnstile::new(&io_config()).unwrap();
        let error = TurnstileDriver::start(io, TurnstileConfig::default()).unwrap_err();
        assert!(
            matches!(
                error,
                TurnstileDriverError::SensorNotMapped {
                    input: Input::EntryBeam
                }
            ),
            "{error}"
        );
        let (io, _) = InMemoryTurnstile::new(&io_config()).unwrap();
        assert!(TurnstileDriver::start(io, machine()).is_ok());
    }

    #[test]
    fn unmapped_outputs_are_skipped() {
        let (io, handle) = InMemoryTurnstile::new(&io_config()).unwrap();
        let (mut driver, step) = TurnstileDriver::start(io, machine()).unwrap();
        assert!(step.faults.is_empty(), "{:?}", step.faults);
        assert_eq!(step.applied, [(Output::LockRelease, false)]);
        let step = driver.authorise(TransactionId(5), Duration::from_secs(5));
        assert_eq!(step.applied, [(Output::LockRelease, true)]);
        assert_eq!(handle.output(Output::LockRelease), Some(true));
    }

    #[test]
    fn inputs_and_sensors_are_the_same_five_by_name() {
        for sensor in Sensor::ALL {
            assert_eq!(sensor_of(input_of(sensor)), sensor);
            let name = serde_json::to_value(sensor).unwrap();
            assert_eq!(name, input_of(sensor).name(), "{sensor:?}");
        }
    }
}

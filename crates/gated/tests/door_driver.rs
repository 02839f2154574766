//! The door worker runs gate-core's turnstile machine against the in-memory backend on its own
//! thread, as gated does: requests in, input edges injected through the backend's handle,
//! steps (events and applied outputs) out and the door's state published on a watch channel.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::{Duration, Instant};

use devices::turnstile::{
    InMemoryTurnstile, InMemoryTurnstileHandle, Input, InputLine, Output, OutputLine, SafeState,
    TurnstileBackend, TurnstileIo, TurnstileIoConfig,
};
use gate_core::turnstile::{
    FittedSensors, OutputSafeDefaults, SafeDefault, TurnstileConfig, TurnstileEvent,
    TurnstileState, TurnstileTimings,
};
use gate_core::{Lights, TransactionId};
use gated::door::{Door, DriverStep, TurnstileDriver};
use gated::worker::Worker;
use tokio::sync::mpsc;

/// Every output and input on its own in-memory line.
fn io_config() -> TurnstileIoConfig {
    let mut config = TurnstileIoConfig::new(TurnstileBackend::InMemory, OutputLine::on(0));
    config.outputs.green_light = Some(OutputLine::on(1));
    config.outputs.red_light = Some(OutputLine::on(2));
    config.outputs.buzzer = Some(OutputLine::on(3));
    config.inputs.door_closed = Some(InputLine::on(4));
    config.inputs.entry_beam = Some(InputLine::on(5));
    config.inputs.exit_beam = Some(InputLine::on(6));
    config.inputs.fire_alarm = Some(InputLine::on(7));
    config.inputs.tamper = Some(InputLine::on(8));
    config
}

/// Every sensor fitted, short debounce.
fn machine() -> TurnstileConfig {
    TurnstileConfig {
        safe_defaults: OutputSafeDefaults::default(),
        sensors: FittedSensors::default(),
        timings: TurnstileTimings {
            door_debounce_ms: 20,
            beam_debounce_ms: 10,
            ..TurnstileTimings::default()
        },
    }
}

const T1: TransactionId = TransactionId(0x11);
const T2: TransactionId = TransactionId(0x22);

struct Running {
    runtime: tokio::runtime::Runtime,
    door: Door,
    worker: Worker,
    steps: mpsc::Receiver<DriverStep>,
    handle: InMemoryTurnstileHandle,
}

impl Running {
    /// Starts the door worker with the door closed and everything else inactive.
    fn start(io_config: &TurnstileIoConfig, machine: TurnstileConfig) -> (Self, DriverStep) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (io, handle) = InMemoryTurnstile::new(io_config).unwrap();
        handle.set_input(Input::DoorClosed, true);
        let (steps_tx, mut steps) = mpsc::channel(64);
        let (door, worker) = Door::start(Box::new(io), machine, steps_tx).unwrap();
        let first = steps.try_recv().unwrap();
        (
            Self {
                runtime,
                door,
                worker,
                steps,
                handle,
            },
            first,
        )
    }

    fn next_step(&mut self, wait: Duration) -> Option<DriverStep> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(step) = self.steps.try_recv() {
                return Some(step);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Collects events until `wanted` arrives (or fails after 5 s).
    fn events_until(&mut self, wanted: TurnstileEvent) -> Vec<TurnstileEvent> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Some(step) = self.next_step(Duration::from_millis(50)) {
                assert!(step.faults.is_empty(), "{:?}", step.faults);
                seen.extend(step.events);
                if seen.contains(&wanted) {
                    return seen;
                }
            }
        }
        panic!("{wanted:?} did not arrive; saw {seen:?}");
    }

    /// Events arriving within `window`.
    fn events_within(&mut self, window: Duration) -> Vec<TurnstileEvent> {
        let deadline = Instant::now() + window;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Some(step) = self.next_step(left) {
                seen.extend(step.events);
            }
        }
        seen
    }

    /// The state the door thread published: never waits for the thread.
    fn status(&self) -> gate_core::turnstile::TurnstileStatus {
        self.door.state().status
    }

    fn input(&self, input: Input, active: bool) {
        assert!(self.handle.set_input(input, active));
        thread::sleep(Duration::from_millis(40));
    }

    fn stop(self) -> InMemoryTurnstileHandle {
        self.runtime.block_on(self.worker.stop()).unwrap();
        self.handle
    }
}

#[test]
fn start_drives_the_safe_state_before_anything_else() {
    let (io, handle) = InMemoryTurnstile::new(&io_config()).unwrap();
    // A previous process crashed mid-unlock: the lines are left released.
    let mut io = io;
    io.set_output(Output::LockRelease, true).unwrap();
    io.set_output(Output::GreenLight, true).unwrap();
    let before = handle.output_history().len();
    handle.set_input(Input::DoorClosed, true);
    let (driver, step) = TurnstileDriver::start(io, machine()).unwrap();
    let history = handle.output_history();
    assert_eq!(
        (history[before].output, history[before].active),
        (Output::LockRelease, false),
        "the first write after the restart engages the lock"
    );
    assert!(
        history[before..]
            .iter()
            .all(|change| !(change.output == Output::LockRelease && change.active))
    );
    assert!(step.events.is_empty());
    assert_eq!(driver.status().state, TurnstileState::Locked);
    assert_eq!(handle.output(Output::GreenLight), Some(false));
}

#[test]
fn authorised_passage_on_a_thread_then_tailgating() {
    let (mut rig, _) = Running::start(&io_config(), machine());
    rig.door.indicate(Lights::Green);
    rig.door.authorise(T1, Duration::from_secs(10));
    rig.events_until(TurnstileEvent::Unlocked { transaction_id: T1 });
    assert_eq!(rig.handle.output(Output::LockRelease), Some(true));
    assert_eq!(rig.handle.output(Output::GreenLight), Some(true));
    rig.input(Input::EntryBeam, true);
    rig.input(Input::DoorClosed, false);
    rig.input(Input::EntryBeam, false);
    rig.input(Input::ExitBeam, true);
    let seen = rig.events_until(TurnstileEvent::PassageCompleted { transaction_id: T1 });
    assert_eq!(
        seen,
        [TurnstileEvent::PassageCompleted { transaction_id: T1 }]
    );
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    // A second person follows through the open door.
    rig.input(Input::ExitBeam, false);
    rig.input(Input::EntryBeam, true);
    rig.input(Input::ExitBeam, true);
    rig.events_until(TurnstileEvent::Tailgating { transaction_id: T1 });
    assert_eq!(rig.handle.output(Output::Buzzer), Some(true));
    assert_eq!(rig.handle.output(Output::RedLight), Some(true));
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    let handle = rig.stop();
    assert_eq!(handle.output(Output::LockRelease), Some(false));
    assert_eq!(
        handle.output(Output::Buzzer),
        Some(false),
        "safe state at stop"
    );
}

#[test]
fn unlock_times_out_on_the_driver_clock() {
    let (mut rig, _) = Running::start(&io_config(), machine());
    let started = Instant::now();
    rig.door.authorise(T1, Duration::from_millis(300));
    let seen = rig.events_until(TurnstileEvent::UnlockTimedOut { transaction_id: T1 });
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        seen,
        [
            TurnstileEvent::Unlocked { transaction_id: T1 },
            TurnstileEvent::UnlockTimedOut { transaction_id: T1 }
        ]
    );
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    rig.stop();
}

#[test]
fn forced_entry_fire_alarm_and_status_through_the_driver() {
    let (mut rig, _) = Running::start(&io_config(), machine());
    rig.input(Input::DoorClosed, false);
    rig.events_until(TurnstileEvent::ForcedEntry);
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    rig.input(Input::DoorClosed, true);
    rig.input(Input::FireAlarm, true);
    rig.events_until(TurnstileEvent::FireAlarmRelease);
    assert_eq!(rig.handle.output(Output::LockRelease), Some(true));
    assert_eq!(rig.status().state, TurnstileState::FireRelease);
    rig.door.authorise(T2, Duration::from_secs(5));
    let refused = rig.events_within(Duration::from_millis(200));
    assert!(
        matches!(
            refused.as_slice(),
            [TurnstileEvent::AuthorisationRefused {
                transaction_id: T2,
                ..
            }]
        ),
        "{refused:?}"
    );
    rig.input(Input::ExitBeam, true);
    rig.input(Input::FireAlarm, false);
    rig.events_until(TurnstileEvent::FireAlarmCleared);
    assert_eq!(
        rig.handle.output(Output::LockRelease),
        Some(true),
        "someone still in the passage"
    );
    rig.input(Input::ExitBeam, false);
    rig.events_until(TurnstileEvent::RelockedAfterFire);
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    let status = rig.status();
    assert_eq!(status.state, TurnstileState::Locked);
    assert!(status.sensors.door_closed);
    rig.stop();
}

#[test]
fn fail_safe_lock_is_released_again_at_stop() {
    let mut io = io_config();
    io.outputs.lock_release.safe_state = SafeState::Active;
    let mut fail_safe = machine();
    fail_safe.safe_defaults.lock_release = SafeDefault::Active;
    let (rig, first) = Running::start(&io, fail_safe);
    assert_eq!(
        first.applied[0],
        (Output::LockRelease, true),
        "safe default first"
    );
    assert_eq!(
        rig.handle.output(Output::LockRelease),
        Some(false),
        "then locked in control"
    );
    let handle = rig.stop();
    assert_eq!(handle.output(Output::LockRelease), Some(true));
}

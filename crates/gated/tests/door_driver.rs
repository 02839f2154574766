//! The turnstile driver runs gate-core's turnstile machine against the in-memory backend on its
//! own thread, as gated does: requests in over a channel, input edges injected through the
//! backend's handle, events and applied outputs out.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use devices::turnstile::{
    DriverRequest, DriverStep, InMemoryTurnstile, InMemoryTurnstileHandle, Input, Output,
    TurnstileDriver, TurnstileIoConfig,
};
use gate_core::turnstile::{TurnstileEvent, TurnstileState};
use gate_core::{Lights, TransactionId};

const CONFIG: &str = r#"
backend = "in-memory"
[outputs.lock_release]
line = 0
[outputs.green_light]
line = 1
[outputs.red_light]
line = 2
[outputs.buzzer]
line = 3
[inputs.door_closed]
line = 4
[inputs.entry_passage]
line = 5
[inputs.exit_passage]
line = 6
[inputs.fire_alarm]
line = 7
[inputs.tamper]
line = 8
[timings]
door_debounce_ms = 20
beam_debounce_ms = 10
"#;

const T1: TransactionId = TransactionId(0x11);
const T2: TransactionId = TransactionId(0x22);

struct Running {
    requests: mpsc::Sender<DriverRequest>,
    steps: mpsc::Receiver<DriverStep>,
    handle: InMemoryTurnstileHandle,
    thread: thread::JoinHandle<InMemoryTurnstile>,
}

impl Running {
    /// Starts the driver with the door closed and everything else inactive.
    fn start(config_text: &str) -> (Self, DriverStep) {
        let io_config: TurnstileIoConfig = toml::from_str(config_text).unwrap();
        let (io, handle) = InMemoryTurnstile::new(&io_config).unwrap();
        handle.set_input(Input::DoorClosed, true);
        let (driver, first) =
            TurnstileDriver::start(io, io_config.machine_config().unwrap()).unwrap();
        let (requests, queue) = mpsc::channel();
        let (step_tx, steps) = mpsc::channel();
        let thread = thread::spawn(move || {
            driver.run(&queue, Duration::from_millis(5), |step| {
                step_tx.send(step).is_ok()
            })
        });
        (
            Self {
                requests,
                steps,
                handle,
                thread,
            },
            first,
        )
    }

    fn send(&self, request: DriverRequest) {
        self.requests.send(request).unwrap();
    }

    /// Collects events until `wanted` arrives (or fails after 5 s).
    fn events_until(&self, wanted: TurnstileEvent) -> Vec<TurnstileEvent> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(step) = self.steps.recv_timeout(Duration::from_millis(50)) {
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
    fn events_within(&self, window: Duration) -> Vec<TurnstileEvent> {
        let deadline = Instant::now() + window;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Ok(step) = self.steps.recv_timeout(left) {
                seen.extend(step.events);
            }
        }
        seen
    }

    fn status(&self) -> gate_core::turnstile::TurnstileStatus {
        let (reply, answer) = mpsc::channel();
        self.send(DriverRequest::Status { reply });
        answer.recv_timeout(Duration::from_secs(5)).unwrap()
    }

    fn input(&self, input: Input, active: bool) {
        assert!(self.handle.set_input(input, active));
        thread::sleep(Duration::from_millis(40));
    }

    fn stop(self) -> InMemoryTurnstileHandle {
        self.send(DriverRequest::Stop);
        self.thread.join().unwrap();
        self.handle
    }
}

#[test]
fn start_drives_the_safe_state_before_anything_else() {
    let io_config: TurnstileIoConfig = toml::from_str(CONFIG).unwrap();
    let (io, handle) = InMemoryTurnstile::new(&io_config).unwrap();
    // A previous process crashed mid-unlock: the lines are left released.
    let mut io = io;
    devices::turnstile::TurnstileIo::set_output(&mut io, Output::LockRelease, true).unwrap();
    devices::turnstile::TurnstileIo::set_output(&mut io, Output::GreenLight, true).unwrap();
    let before = handle.output_history().len();
    handle.set_input(Input::DoorClosed, true);
    let (driver, step) = TurnstileDriver::start(io, io_config.machine_config().unwrap()).unwrap();
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
    let (rig, _) = Running::start(CONFIG);
    rig.send(DriverRequest::Indicate {
        lights: Lights::Green,
    });
    rig.send(DriverRequest::Authorise {
        transaction_id: T1,
        unlock_for: Duration::from_secs(10),
    });
    rig.events_until(TurnstileEvent::Unlocked { transaction_id: T1 });
    assert_eq!(rig.handle.output(Output::LockRelease), Some(true));
    assert_eq!(rig.handle.output(Output::GreenLight), Some(true));
    rig.input(Input::EntryPassage, true);
    rig.input(Input::DoorClosed, false);
    rig.input(Input::EntryPassage, false);
    rig.input(Input::ExitPassage, true);
    let seen = rig.events_until(TurnstileEvent::PassageCompleted { transaction_id: T1 });
    assert_eq!(
        seen,
        [TurnstileEvent::PassageCompleted { transaction_id: T1 }]
    );
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    // A second person follows through the open door.
    rig.input(Input::ExitPassage, false);
    rig.input(Input::EntryPassage, true);
    rig.input(Input::ExitPassage, true);
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
    let (rig, _) = Running::start(CONFIG);
    let started = Instant::now();
    rig.send(DriverRequest::Authorise {
        transaction_id: T1,
        unlock_for: Duration::from_millis(300),
    });
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
    let (rig, _) = Running::start(CONFIG);
    rig.input(Input::DoorClosed, false);
    rig.events_until(TurnstileEvent::ForcedEntry);
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    rig.input(Input::DoorClosed, true);
    rig.input(Input::FireAlarm, true);
    rig.events_until(TurnstileEvent::FireAlarmRelease);
    assert_eq!(rig.handle.output(Output::LockRelease), Some(true));
    assert_eq!(rig.status().state, TurnstileState::FireRelease);
    rig.send(DriverRequest::Authorise {
        transaction_id: T2,
        unlock_for: Duration::from_secs(5),
    });
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
    rig.input(Input::ExitPassage, true);
    rig.input(Input::FireAlarm, false);
    rig.events_until(TurnstileEvent::FireAlarmCleared);
    assert_eq!(
        rig.handle.output(Output::LockRelease),
        Some(true),
        "someone still in the passage"
    );
    rig.input(Input::ExitPassage, false);
    rig.events_until(TurnstileEvent::RelockedAfterFire);
    assert_eq!(rig.handle.output(Output::LockRelease), Some(false));
    let status = rig.status();
    assert_eq!(status.state, TurnstileState::Locked);
    assert!(status.sensors.door_closed);
    rig.stop();
}

#[test]
fn fail_safe_lock_is_released_again_at_stop() {
    let text = CONFIG.replace(
        "[outputs.lock_release]\nline = 0\n",
        "[outputs.lock_release]\nline = 0\nsafe_state = \"fail-safe\"\n",
    );
    let (rig, first) = Running::start(&text);
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

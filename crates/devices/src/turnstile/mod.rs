//! Turnstile / door I/O behind one narrow trait, [`TurnstileIo`]: outputs (lock release,
//! lights, buzzer) and inputs (door position, passage sensors, fire-alarm release, tamper),
//! each mapped to a GPIO line with its active level by [`TurnstileIoConfig`].
//!
//! This is the hardware side only. The policy (one passage per decision, tailgating, forced
//! entry, fire alarm...) is a pure state machine in `gate-core`; the gate daemon runs it
//! against any backend here, feeding it the [`InputEdge`]s read here and applying its
//! commands with [`TurnstileIo::set_output`].
//!
//! Values are *logical* everywhere: `true` means "asserted" (lock released, light on, door
//! closed, person in the beam, fire alarm releasing, tamper switch open); the configured
//! [`ActiveLevel`] maps it to the electrical level.
//!
//! Backends:
//! - [`GpiocdevTurnstile`] (feature `gpio-cdev`): the Linux GPIO character device, any board.
//! - [`RppalTurnstile`] (feature `rppal`): Raspberry Pi GPIO through `rppal`.
//! - [`InMemoryTurnstile`] (always compiled): the test double, with a handle to inject input
//!   edges and observe outputs.
//!
//! Power-up and crash behaviour: every backend requests its output lines already at their
//! configured safe state ([`OutputLine::safe_state`]), so opening the backend is itself the
//! first "drive to safe state"; [`TurnstileIo::drive_safe_state`] does it again on demand.

mod config;
#[cfg(feature = "gpio-cdev")]
mod gpiocdev;
mod memory;
#[cfg(feature = "rppal")]
mod rppal;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use config::{
    ActiveLevel, InputBias, InputLine, InputLines, MAX_DEBOUNCE_MS, OutputLine, OutputLines,
    SafeState, TurnstileBackend, TurnstileConfigError, TurnstileIoConfig,
};
#[cfg(feature = "gpio-cdev")]
pub use gpiocdev::GpiocdevTurnstile;
pub use memory::{InMemoryTurnstile, InMemoryTurnstileHandle, OutputChange};
#[cfg(feature = "rppal")]
pub use rppal::RppalTurnstile;

/// An output line of the turnstile controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// Releases the lock (asserted = unlocked).
    LockRelease,
    /// Green "go" light.
    GreenLight,
    /// Red "stop" light.
    RedLight,
    /// Buzzer / sounder.
    Buzzer,
}

impl Output {
    /// Every output, in a fixed order.
    pub const ALL: [Output; 4] = [
        Output::LockRelease,
        Output::GreenLight,
        Output::RedLight,
        Output::Buzzer,
    ];

    /// The config / CLI name (`lock_release`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Output::LockRelease => "lock_release",
            Output::GreenLight => "green_light",
            Output::RedLight => "red_light",
            Output::Buzzer => "buzzer",
        }
    }
}

/// An input line of the turnstile controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// Door / leaf position switch (asserted = closed).
    DoorClosed,
    /// Passage beam on the entry side (asserted = beam interrupted).
    EntryBeam,
    /// Passage beam on the exit side (asserted = beam interrupted).
    ExitBeam,
    /// Fire-alarm release contact (asserted = the fire panel demands free exit).
    FireAlarm,
    /// Tamper switch (asserted = housing open).
    Tamper,
}

impl Input {
    /// Every input, in a fixed order.
    pub const ALL: [Input; 5] = [
        Input::DoorClosed,
        Input::EntryBeam,
        Input::ExitBeam,
        Input::FireAlarm,
        Input::Tamper,
    ];

    /// The config / CLI name (`door_closed`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Input::DoorClosed => "door_closed",
            Input::EntryBeam => "entry_beam",
            Input::ExitBeam => "exit_beam",
            Input::FireAlarm => "fire_alarm",
            Input::Tamper => "tamper",
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Output {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Output::ALL
            .into_iter()
            .find(|output| output.name() == text)
            .ok_or_else(|| format!("unknown output {text:?} (expected one of lock_release, green_light, red_light, buzzer)"))
    }
}

impl FromStr for Input {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Input::ALL.into_iter().find(|input| input.name() == text).ok_or_else(|| {
            format!(
                "unknown input {text:?} (expected one of door_closed, entry_beam, exit_beam, fire_alarm, tamper)"
            )
        })
    }
}

/// A change of a (logical) input value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InputEdge {
    /// Which input changed.
    pub input: Input,
    /// Its new logical value (`true` = asserted).
    pub active: bool,
    /// When the edge happened on the source's monotonic clock: the kernel's CLOCK_MONOTONIC
    /// for the GPIO backends, time since creation for [`InMemoryTurnstile`]. For ordering and
    /// intervals between edges, not wall-clock time.
    pub timestamp: Duration,
    /// When this process received the edge.
    #[serde(skip)]
    pub received_at: Instant,
}

/// Errors from turnstile I/O, with the line they concern.
#[derive(Debug, thiserror::Error)]
pub enum TurnstileIoError {
    /// The configuration cannot be used with this backend.
    #[error("turnstile config: {0}")]
    Config(#[from] TurnstileConfigError),
    /// The output or input is not mapped to a line in the configuration.
    #[error("{what} is not mapped to a GPIO line in the turnstile config")]
    NotMapped {
        /// `output lock_release`, `input tamper`, ...
        what: String,
    },
    /// A GPIO operation failed.
    #[error("GPIO {chip}{}: {operation} failed: {detail}", line.map(|line| format!(" line {line}")).unwrap_or_default())]
    Gpio {
        /// Chip path (or `rppal`).
        chip: PathBuf,
        /// Line offset / BCM number, when the failure concerns one line.
        line: Option<u32>,
        /// What was being done.
        operation: &'static str,
        /// The backend's error message.
        detail: String,
    },
    /// The rppal backend runs only on a Raspberry Pi; this machine is not one.
    #[error(
        "rppal backend: this machine is not a Raspberry Pi ({detail}); use backend = \"gpio-cdev\""
    )]
    NotARaspberryPi {
        /// rppal's own message.
        detail: String,
    },
    /// The backend was not compiled in.
    #[error(
        "turnstile backend {backend} is not compiled in (enable the cargo feature `{feature}`)"
    )]
    BackendNotCompiled {
        /// Backend name.
        backend: &'static str,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
}

/// The turnstile's lines: set outputs, read inputs, wait for input edges.
///
/// All calls are blocking and short except [`wait_edge`](TurnstileIo::wait_edge), which
/// waits up to its timeout; the daemon runs the backend on a dedicated thread.
pub trait TurnstileIo: Send {
    /// Sets an output to its logical value (`true` = asserted).
    fn set_output(&mut self, output: Output, active: bool) -> Result<(), TurnstileIoError>;

    /// Reads an input's current logical value.
    fn read_input(&mut self, input: Input) -> Result<bool, TurnstileIoError>;

    /// Waits up to `timeout` for the next input edge; `Ok(None)` when none came.
    fn wait_edge(&mut self, timeout: Duration) -> Result<Option<InputEdge>, TurnstileIoError>;

    /// Drives every configured output to its configured safe state (by default all
    /// inactive: lock engaged = fail-secure, lights and buzzer off).
    fn drive_safe_state(&mut self) -> Result<(), TurnstileIoError>;

    /// The outputs mapped in the configuration.
    fn outputs(&self) -> Vec<Output>;

    /// The inputs mapped in the configuration.
    fn inputs(&self) -> Vec<Input>;
}

impl<T: TurnstileIo + ?Sized> TurnstileIo for Box<T> {
    fn set_output(&mut self, output: Output, active: bool) -> Result<(), TurnstileIoError> {
        (**self).set_output(output, active)
    }
    fn read_input(&mut self, input: Input) -> Result<bool, TurnstileIoError> {
        (**self).read_input(input)
    }
    fn wait_edge(&mut self, timeout: Duration) -> Result<Option<InputEdge>, TurnstileIoError> {
        (**self).wait_edge(timeout)
    }
    fn drive_safe_state(&mut self) -> Result<(), TurnstileIoError> {
        (**self).drive_safe_state()
    }
    fn outputs(&self) -> Vec<Output> {
        (**self).outputs()
    }
    fn inputs(&self) -> Vec<Input> {
        (**self).inputs()
    }
}

impl TurnstileIoConfig {
    /// Opens the configured backend; its outputs start at their safe state.
    ///
    /// [`TurnstileBackend::InMemory`] gives an [`InMemoryTurnstile`] whose inputs never
    /// change (a gate without turnstile hardware); tests and simulations use
    /// [`InMemoryTurnstile::new`] to keep the injection handle.
    pub fn open(&self) -> Result<Box<dyn TurnstileIo>, TurnstileIoError> {
        match self.backend {
            TurnstileBackend::InMemory => Ok(Box::new(InMemoryTurnstile::new(self)?.0)),
            #[cfg(feature = "gpio-cdev")]
            TurnstileBackend::GpioCdev => Ok(Box::new(GpiocdevTurnstile::open(self)?)),
            #[cfg(not(feature = "gpio-cdev"))]
            TurnstileBackend::GpioCdev => Err(TurnstileIoError::BackendNotCompiled {
                backend: "gpio-cdev",
                feature: "gpio-cdev",
            }),
            #[cfg(feature = "rppal")]
            TurnstileBackend::Rppal => Ok(Box::new(RppalTurnstile::open(self)?)),
            #[cfg(not(feature = "rppal"))]
            TurnstileBackend::Rppal => Err(TurnstileIoError::BackendNotCompiled {
                backend: "rppal",
                feature: "rppal",
            }),
        }
    }
}

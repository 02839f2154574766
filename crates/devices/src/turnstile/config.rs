//! [`TurnstileIoConfig`]: which line each output and input is on, and how it is wired.
//!
//! This is a typed value, not a file format: the gate's configuration (`[devices.door]`,
//! crate `gate-config`) is the one schema technicians write, and it builds this.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Input, Output};

/// Longest debounce period accepted for an input.
pub const MAX_DEBOUNCE_MS: u32 = 1000;

/// Which turnstile I/O backend to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TurnstileBackend {
    /// Linux GPIO character device (`/dev/gpiochipN`), feature `gpio-cdev`.
    GpioCdev,
    /// Raspberry Pi GPIO by BCM number, feature `rppal`.
    Rppal,
    /// In-memory lines (no hardware): the test double.
    InMemory,
}

/// The electrical level that means "asserted".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActiveLevel {
    /// Asserted = high (the default).
    #[default]
    High,
    /// Asserted = low.
    Low,
}

/// The logical state an output is driven to at power-up, on `drive_safe_state` and on a
/// controlled shutdown.
///
/// For `lock_release`, `inactive` (the default) keeps the lock engaged: **fail-secure**;
/// `active` releases it: **fail-safe** (free passage, for example where the authority
/// requires an escape route). What happens when the controller loses power altogether is
/// decided by the lock hardware, not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SafeState {
    /// Not asserted (lock engaged, light off, buzzer silent). Also spelled `fail-secure`.
    #[default]
    #[serde(alias = "fail-secure")]
    Inactive,
    /// Asserted. Also spelled `fail-safe`.
    #[serde(alias = "fail-safe")]
    Active,
}

impl SafeState {
    /// The logical value of this state.
    pub const fn is_active(self) -> bool {
        matches!(self, SafeState::Active)
    }
}

/// Internal pull resistor for an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputBias {
    /// Leave the line's bias as it is (external resistor; the default).
    #[default]
    AsIs,
    /// Internal pull-up.
    PullUp,
    /// Internal pull-down.
    PullDown,
    /// No pull.
    Disabled,
}

/// One output line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// GPIO chip (`/dev/gpiochip0`); defaults to the top-level `chip`. Not used by rppal.
    pub chip: Option<PathBuf>,
    /// Line offset on the chip (BCM GPIO number for rppal).
    pub line: u32,
    /// Electrical level meaning "asserted".
    pub active: ActiveLevel,
    /// State at power-up and on `drive_safe_state`.
    pub safe_state: SafeState,
}

impl OutputLine {
    /// Line `line` of the default chip, active high, safe state inactive.
    pub const fn on(line: u32) -> Self {
        Self {
            chip: None,
            line,
            active: ActiveLevel::High,
            safe_state: SafeState::Inactive,
        }
    }
}

/// One input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLine {
    /// GPIO chip (`/dev/gpiochip0`); defaults to the top-level `chip`. Not used by rppal.
    pub chip: Option<PathBuf>,
    /// Line offset on the chip (BCM GPIO number for rppal).
    pub line: u32,
    /// Electrical level meaning "asserted".
    pub active: ActiveLevel,
    /// Internal pull resistor.
    pub bias: InputBias,
    /// Debounce period in milliseconds (0 = none), at most [`MAX_DEBOUNCE_MS`].
    pub debounce_ms: u32,
}

impl InputLine {
    /// Line `line` of the default chip, active high, bias as is, no debounce.
    pub const fn on(line: u32) -> Self {
        Self {
            chip: None,
            line,
            active: ActiveLevel::High,
            bias: InputBias::AsIs,
            debounce_ms: 0,
        }
    }

    /// The debounce period.
    pub fn debounce(&self) -> Duration {
        Duration::from_millis(u64::from(self.debounce_ms))
    }
}

/// The output lines; only `lock_release` is mandatory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLines {
    /// Lock release (asserted = unlocked).
    pub lock_release: OutputLine,
    /// Green light.
    pub green_light: Option<OutputLine>,
    /// Red light.
    pub red_light: Option<OutputLine>,
    /// Buzzer.
    pub buzzer: Option<OutputLine>,
}

/// The input lines; all optional (the policy decides what it needs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputLines {
    /// Door closed switch.
    pub door_closed: Option<InputLine>,
    /// Entry-side passage beam.
    pub entry_beam: Option<InputLine>,
    /// Exit-side passage beam.
    pub exit_beam: Option<InputLine>,
    /// Fire-alarm release contact.
    pub fire_alarm: Option<InputLine>,
    /// Tamper switch.
    pub tamper: Option<InputLine>,
}

/// Turnstile I/O configuration: the backend and, for every output and input, its line and
/// wiring. Built from the gate's `[devices.door]` by `gate-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnstileIoConfig {
    /// Which backend.
    pub backend: TurnstileBackend,
    /// Default GPIO chip for lines that name none (gpio-cdev).
    pub chip: Option<PathBuf>,
    /// Consumer label shown by `gpioinfo` for the requested lines.
    pub consumer: String,
    /// Output lines.
    pub outputs: OutputLines,
    /// Input lines.
    pub inputs: InputLines,
}

impl TurnstileIoConfig {
    /// A configuration for `backend` with only the lock release mapped, consumer `gated`.
    pub fn new(backend: TurnstileBackend, lock_release: OutputLine) -> Self {
        Self {
            backend,
            chip: None,
            consumer: "gated".to_owned(),
            outputs: OutputLines {
                lock_release,
                green_light: None,
                red_light: None,
                buzzer: None,
            },
            inputs: InputLines::default(),
        }
    }
}

/// What is wrong with a [`TurnstileIoConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnstileConfigError {
    /// A gpio-cdev line has no chip and there is no top-level `chip`.
    #[error("{what}: no chip (set `chip` on the line or at the top level)")]
    MissingChip {
        /// `outputs.lock_release`, ...
        what: String,
    },
    /// rppal addresses lines by BCM number only.
    #[error("{what}: `chip` is not used by the rppal backend (lines are BCM GPIO numbers)")]
    ChipNotSupported {
        /// `outputs.lock_release`, ...
        what: String,
    },
    /// Two functions share one line.
    #[error("{first} and {second} are both on {chip} line {line}")]
    DuplicateLine {
        /// Chip path (`bcm` for rppal).
        chip: PathBuf,
        /// Line offset.
        line: u32,
        /// First user.
        first: String,
        /// Second user.
        second: String,
    },
    /// A debounce period above the limit.
    #[error("{what}: debounce_ms {debounce_ms} is above {MAX_DEBOUNCE_MS}")]
    DebounceTooLong {
        /// `inputs.door_closed`, ...
        what: String,
        /// The configured value.
        debounce_ms: u32,
    },
    /// The config names another backend than the one being opened.
    #[error("backend {configured:?} is configured, but {opened:?} was opened")]
    WrongBackend {
        /// The backend being opened.
        opened: TurnstileBackend,
        /// The backend in the config.
        configured: TurnstileBackend,
    },
    /// rppal line numbers are BCM GPIO numbers (0..=255).
    #[error("{what}: line {line} is not a BCM GPIO number")]
    LineOutOfRange {
        /// `outputs.lock_release`, ...
        what: String,
        /// The configured line.
        line: u32,
    },
}

impl TurnstileIoConfig {
    /// The mapped outputs with their line config, in [`Output::ALL`] order.
    pub fn output_lines(&self) -> Vec<(Output, &OutputLine)> {
        let lines = &self.outputs;
        [
            (Output::LockRelease, Some(&lines.lock_release)),
            (Output::GreenLight, lines.green_light.as_ref()),
            (Output::RedLight, lines.red_light.as_ref()),
            (Output::Buzzer, lines.buzzer.as_ref()),
        ]
        .into_iter()
        .filter_map(|(output, line)| line.map(|line| (output, line)))
        .collect()
    }

    /// The mapped inputs with their line config, in [`Input::ALL`] order.
    pub fn input_lines(&self) -> Vec<(Input, &InputLine)> {
        let lines = &self.inputs;
        [
            (Input::DoorClosed, lines.door_closed.as_ref()),
            (Input::EntryBeam, lines.entry_beam.as_ref()),
            (Input::ExitBeam, lines.exit_beam.as_ref()),
            (Input::FireAlarm, lines.fire_alarm.as_ref()),
            (Input::Tamper, lines.tamper.as_ref()),
        ]
        .into_iter()
        .filter_map(|(input, line)| line.map(|line| (input, line)))
        .collect()
    }

    /// The chip a line is on: its own `chip`, else the top-level one.
    pub fn chip_of(&self, line_chip: Option<&PathBuf>) -> Option<PathBuf> {
        line_chip.or(self.chip.as_ref()).cloned()
    }

    /// Checks the config for the configured backend: chips present (gpio-cdev) or absent
    /// (rppal), no line used twice, debounce within limits.
    pub fn validate(&self) -> Result<(), TurnstileConfigError> {
        let mut used: BTreeMap<(PathBuf, u32), String> = BTreeMap::new();
        let mut entries: Vec<(String, Option<&PathBuf>, u32)> = Vec::new();
        for (output, line) in self.output_lines() {
            entries.push((format!("outputs.{output}"), line.chip.as_ref(), line.line));
        }
        for (input, line) in self.input_lines() {
            let what = format!("inputs.{input}");
            if line.debounce_ms > MAX_DEBOUNCE_MS {
                return Err(TurnstileConfigError::DebounceTooLong {
                    what,
                    debounce_ms: line.debounce_ms,
                });
            }
            entries.push((what, line.chip.as_ref(), line.line));
        }
        for (what, line_chip, line) in entries {
            let chip = match self.backend {
                TurnstileBackend::Rppal => {
                    if line_chip.is_some() || self.chip.is_some() {
                        return Err(TurnstileConfigError::ChipNotSupported { what });
                    }
                    if line > u32::from(u8::MAX) {
                        return Err(TurnstileConfigError::LineOutOfRange { what, line });
                    }
                    PathBuf::from("bcm")
                }
                TurnstileBackend::GpioCdev => self
                    .chip_of(line_chip)
                    .ok_or_else(|| TurnstileConfigError::MissingChip { what: what.clone() })?,
                TurnstileBackend::InMemory => self
                    .chip_of(line_chip)
                    .unwrap_or_else(|| PathBuf::from("memory")),
            };
            if let Some(first) = used.insert((chip.clone(), line), what.clone()) {
                return Err(TurnstileConfigError::DuplicateLine {
                    chip,
                    line,
                    first,
                    second: what,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gpio-cdev on /dev/gpiochip0: lock (active low), green light (safe state active), door
    /// switch (pull-up, active low, 10 ms debounce) and a fire alarm on another chip.
    fn example() -> TurnstileIoConfig {
        let mut config = TurnstileIoConfig::new(
            TurnstileBackend::GpioCdev,
            OutputLine {
                active: ActiveLevel::Low,
                ..OutputLine::on(17)
            },
        );
        config.chip = Some(PathBuf::from("/dev/gpiochip0"));
        config.outputs.green_light = Some(OutputLine {
            safe_state: SafeState::Active,
            ..OutputLine::on(27)
        });
        config.inputs.door_closed = Some(InputLine {
            active: ActiveLevel::Low,
            bias: InputBias::PullUp,
            debounce_ms: 10,
            ..InputLine::on(22)
        });
        config.inputs.fire_alarm = Some(InputLine {
            chip: Some(PathBuf::from("/dev/gpiochip1")),
            ..InputLine::on(17)
        });
        config
    }

    #[test]
    fn lines_are_listed_in_a_fixed_order_with_their_chip() {
        let config = example();
        config.validate().unwrap();
        assert_eq!(config.consumer, "gated");
        let outputs = config.output_lines();
        assert_eq!(
            outputs
                .iter()
                .map(|(output, _)| *output)
                .collect::<Vec<_>>(),
            vec![Output::LockRelease, Output::GreenLight]
        );
        assert_eq!(outputs[0].1.active, ActiveLevel::Low);
        assert_eq!(outputs[0].1.safe_state, SafeState::Inactive);
        assert_eq!(outputs[1].1.safe_state, SafeState::Active);
        let inputs = config.input_lines();
        assert_eq!(
            inputs.iter().map(|(input, _)| *input).collect::<Vec<_>>(),
            vec![Input::DoorClosed, Input::FireAlarm]
        );
        assert_eq!(inputs[0].1.bias, InputBias::PullUp);
        assert_eq!(inputs[0].1.debounce(), Duration::from_millis(10));
        // Same offset on another chip is a different line.
        assert_eq!(
            config.chip_of(inputs[1].1.chip.as_ref()),
            Some(PathBuf::from("/dev/gpiochip1"))
        );
    }

    #[test]
    fn validation_names_the_offending_lines() {
        let mut duplicate = example();
        duplicate.outputs.green_light = Some(OutputLine::on(17));
        assert_eq!(
            duplicate.validate(),
            Err(TurnstileConfigError::DuplicateLine {
                chip: PathBuf::from("/dev/gpiochip0"),
                line: 17,
                first: "outputs.lock_release".to_owned(),
                second: "outputs.green_light".to_owned(),
            })
        );
        let mut no_chip = example();
        no_chip.chip = None;
        assert!(
            matches!(no_chip.validate(), Err(TurnstileConfigError::MissingChip { what }) if what == "outputs.lock_release")
        );
        let mut rppal_with_chip = example();
        rppal_with_chip.backend = TurnstileBackend::Rppal;
        assert!(matches!(
            rppal_with_chip.validate(),
            Err(TurnstileConfigError::ChipNotSupported { .. })
        ));
        let mut slow = example();
        if let Some(line) = slow.inputs.door_closed.as_mut() {
            line.debounce_ms = 5000;
        }
        assert!(matches!(
            slow.validate(),
            Err(TurnstileConfigError::DebounceTooLong {
                debounce_ms: 5000,
                ..
            })
        ));
    }
}

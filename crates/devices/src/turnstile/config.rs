//! [`TurnstileIoConfig`]: which line each output and input is on, and how it is wired.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use gate_core::turnstile::{
    FittedSensors, OutputSafeDefaults, SafeDefault, TurnstileConfig, TurnstileTimings,
};

use super::{Input, Output};

/// Longest debounce period accepted for an input.
const MAX_DEBOUNCE_MS: u32 = 1000;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputLine {
    /// GPIO chip (`/dev/gpiochip0`); defaults to the top-level `chip`. Not used by rppal.
    #[serde(default)]
    pub chip: Option<PathBuf>,
    /// Line offset on the chip (BCM GPIO number for rppal).
    pub line: u32,
    /// Electrical level meaning "asserted".
    #[serde(default)]
    pub active: ActiveLevel,
    /// State at power-up and on `drive_safe_state`.
    #[serde(default)]
    pub safe_state: SafeState,
}

/// One input line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLine {
    /// GPIO chip (`/dev/gpiochip0`); defaults to the top-level `chip`. Not used by rppal.
    #[serde(default)]
    pub chip: Option<PathBuf>,
    /// Line offset on the chip (BCM GPIO number for rppal).
    pub line: u32,
    /// Electrical level meaning "asserted".
    #[serde(default)]
    pub active: ActiveLevel,
    /// Internal pull resistor.
    #[serde(default)]
    pub bias: InputBias,
    /// Debounce period in milliseconds (0 = none), at most 1000.
    #[serde(default)]
    pub debounce_ms: u32,
}

impl InputLine {
    /// The debounce period.
    pub fn debounce(&self) -> Duration {
        Duration::from_millis(u64::from(self.debounce_ms))
    }
}

/// The output lines; only `lock_release` is mandatory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputLines {
    /// Lock release (asserted = unlocked).
    pub lock_release: OutputLine,
    /// Green light.
    #[serde(default)]
    pub green_light: Option<OutputLine>,
    /// Red light.
    #[serde(default)]
    pub red_light: Option<OutputLine>,
    /// Buzzer.
    #[serde(default)]
    pub buzzer: Option<OutputLine>,
}

/// The input lines; all optional (the policy decides what it needs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLines {
    /// Door closed switch.
    #[serde(default)]
    pub door_closed: Option<InputLine>,
    /// Entry-side passage sensor.
    #[serde(default)]
    pub entry_passage: Option<InputLine>,
    /// Exit-side passage sensor.
    #[serde(default)]
    pub exit_passage: Option<InputLine>,
    /// Fire-alarm release contact.
    #[serde(default)]
    pub fire_alarm: Option<InputLine>,
    /// Tamper switch.
    #[serde(default)]
    pub tamper: Option<InputLine>,
}

/// Turnstile I/O configuration, to embed in the gate config (for example as `[turnstile]`).
///
/// ```toml
/// backend = "gpio-cdev"
/// chip = "/dev/gpiochip0"
///
/// [outputs.lock_release]
/// line = 17
/// active = "low"          # relay board switches on a low level
/// safe_state = "inactive" # fail-secure (the default)
/// [outputs.green_light]
/// line = 27
///
/// [inputs.door_closed]
/// line = 22
/// bias = "pull-up"
/// active = "low"          # switch to ground when closed
/// debounce_ms = 10
/// [inputs.fire_alarm]
/// line = 23
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnstileIoConfig {
    /// Which backend.
    pub backend: TurnstileBackend,
    /// Default GPIO chip for lines that name none (gpio-cdev).
    #[serde(default)]
    pub chip: Option<PathBuf>,
    /// Consumer label shown by `gpioinfo` for the requested lines.
    #[serde(default = "default_consumer")]
    pub consumer: String,
    /// Output lines.
    pub outputs: OutputLines,
    /// Input lines.
    #[serde(default)]
    pub inputs: InputLines,
    /// Time limits of the turnstile state machine (`[turnstile.timings]`; defaults apply).
    #[serde(default)]
    pub timings: TurnstileTimings,
}

fn default_consumer() -> String {
    "gated".to_owned()
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
    /// The turnstile state machine cannot run with this config (missing exit beam, a time
    /// limit out of range).
    #[error("turnstile {key}: {message}")]
    Machine {
        /// Dotted key below the turnstile table (`timings.held_open_ms`, `inputs.exit_passage`).
        key: String,
        /// What is wrong.
        message: String,
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
            (Input::EntryPassage, lines.entry_passage.as_ref()),
            (Input::ExitPassage, lines.exit_passage.as_ref()),
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

    /// The configuration of the pure turnstile state machine ([`gate_core::turnstile`]):
    /// safe defaults from each output's `safe_state` (unmapped outputs: inactive), fitted
    /// sensors from the mapped inputs, and `timings`. Checked: the machine needs an
    /// `exit_passage` input and time limits in range.
    pub fn machine_config(&self) -> Result<TurnstileConfig, TurnstileConfigError> {
        let safe = |line: Option<&OutputLine>| match line.map(|line| line.safe_state) {
            Some(SafeState::Active) => SafeDefault::Active,
            Some(SafeState::Inactive) | None => SafeDefault::Inactive,
        };
        let outputs = &self.outputs;
        let inputs = &self.inputs;
        let config = TurnstileConfig {
            safe_defaults: OutputSafeDefaults {
                lock_release: safe(Some(&outputs.lock_release)),
                green_light: safe(outputs.green_light.as_ref()),
                red_light: safe(outputs.red_light.as_ref()),
                buzzer: safe(outputs.buzzer.as_ref()),
            },
            sensors: FittedSensors {
                door_closed: inputs.door_closed.is_some(),
                entry_beam: inputs.entry_passage.is_some(),
                exit_beam: inputs.exit_passage.is_some(),
                fire_alarm: inputs.fire_alarm.is_some(),
                tamper: inputs.tamper.is_some(),
            },
            timings: self.timings,
        };
        match config.validate().into_iter().next() {
            None => Ok(config),
            Some(problem) => Err(TurnstileConfigError::Machine {
                key: if problem.key == "sensors.exit_beam" {
                    "inputs.exit_passage".to_owned()
                } else {
                    problem.key
                },
                message: problem.message,
            }),
        }
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

    const EXAMPLE: &str = r#"
backend = "gpio-cdev"
chip = "/dev/gpiochip0"
[outputs.lock_release]
line = 17
active = "low"
[outputs.green_light]
line = 27
safe_state = "active"
[inputs.door_closed]
line = 22
bias = "pull-up"
active = "low"
debounce_ms = 10
[inputs.fire_alarm]
chip = "/dev/gpiochip1"
line = 17
"#;

    fn parse(text: &str) -> Result<TurnstileIoConfig, String> {
        toml::from_str(text).map_err(|error| error.to_string())
    }

    #[test]
    fn parses_the_documented_example_with_defaults() {
        let config = parse(EXAMPLE).unwrap();
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
        assert_eq!(inputs[0].1.bias, InputBias::PullUp);
        assert_eq!(inputs[0].1.debounce(), Duration::from_millis(10));
        // Same offset on another chip is a different line.
        assert_eq!(
            config.chip_of(inputs[1].1.chip.as_ref()),
            Some(PathBuf::from("/dev/gpiochip1"))
        );
    }

    #[test]
    fn rejects_unknown_fields_and_names() {
        let unknown_field =
            parse(&EXAMPLE.replace("debounce_ms = 10", "debounce = 10")).unwrap_err();
        assert!(unknown_field.contains("debounce"), "{unknown_field}");
        let unknown_input =
            parse(&EXAMPLE.replace("[inputs.fire_alarm]", "[inputs.smoke]")).unwrap_err();
        assert!(unknown_input.contains("smoke"), "{unknown_input}");
        let missing_lock =
            parse("backend = \"gpio-cdev\"\n[outputs.buzzer]\nline = 1\n").unwrap_err();
        assert!(missing_lock.contains("lock_release"), "{missing_lock}");
    }

    #[test]
    fn machine_config_follows_the_lines_and_safe_states() {
        let mut text = EXAMPLE.replace("safe_state = \"active\"", "safe_state = \"fail-safe\"");
        let no_exit = parse(&text).unwrap().machine_config().unwrap_err();
        assert!(
            matches!(&no_exit, TurnstileConfigError::Machine { key, .. } if key == "inputs.exit_passage"),
            "{no_exit}"
        );
        text.push_str("[inputs.exit_passage]\nline = 30\n[timings]\nheld_open_ms = 20000\n");
        let config = parse(&text).unwrap();
        let machine = config.machine_config().unwrap();
        assert_eq!(machine.safe_defaults.lock_release, SafeDefault::Inactive);
        assert_eq!(machine.safe_defaults.green_light, SafeDefault::Active);
        assert_eq!(machine.safe_defaults.buzzer, SafeDefault::Inactive);
        assert!(machine.sensors.door_closed && machine.sensors.exit_beam);
        assert!(!machine.sensors.entry_beam && !machine.sensors.tamper);
        assert_eq!(machine.timings.held_open_ms, 20_000);
        assert_eq!(
            machine.timings.max_unlock_ms,
            TurnstileTimings::default().max_unlock_ms
        );
        let bad = parse(&text.replace("held_open_ms = 20000", "held_open_ms = 5")).unwrap();
        assert!(matches!(
            bad.machine_config(),
            Err(TurnstileConfigError::Machine { key, .. }) if key == "timings.held_open_ms"
        ));
        let secure =
            parse(&EXAMPLE.replace("safe_state = \"active\"", "safe_state = \"fail-secure\""));
        assert_eq!(
            secure.unwrap().outputs.green_light.unwrap().safe_state,
            SafeState::Inactive
        );
    }

    #[test]
    fn validation_names_the_offending_lines() {
        let duplicate = parse(&EXAMPLE.replace("line = 27", "line = 17")).unwrap();
        assert_eq!(
            duplicate.validate(),
            Err(TurnstileConfigError::DuplicateLine {
                chip: PathBuf::from("/dev/gpiochip0"),
                line: 17,
                first: "outputs.lock_release".to_owned(),
                second: "outputs.green_light".to_owned(),
            })
        );
        let no_chip = parse(&EXAMPLE.replace("chip = \"/dev/gpiochip0\"\n", "")).unwrap();
        assert!(
            matches!(no_chip.validate(), Err(TurnstileConfigError::MissingChip { what }) if what == "outputs.lock_release")
        );
        let rppal_with_chip = parse(&EXAMPLE.replace("gpio-cdev", "rppal")).unwrap();
        assert!(matches!(
            rppal_with_chip.validate(),
            Err(TurnstileConfigError::ChipNotSupported { .. })
        ));
        let slow = parse(&EXAMPLE.replace("debounce_ms = 10", "debounce_ms = 5000")).unwrap();
        assert!(matches!(
            slow.validate(),
            Err(TurnstileConfigError::DebounceTooLong {
                debounce_ms: 5000,
                ..
            })
        ));
    }
}

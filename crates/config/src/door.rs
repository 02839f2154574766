//! `[devices.door]`, the one schema of the door: gated and `gatectl io` both read it and turn
//! it into the door's two halves, the lines ([`DoorConfig::io_config`], for the backends in
//! `devices::turnstile`) and the pure turnstile machine ([`DoorConfig::machine_config`], in
//! `gate_core::turnstile`). Inputs carry the same names everywhere: `door_closed`,
//! `entry_beam`, `exit_beam`, `fire_alarm`, `tamper` (keys here, `devices::turnstile::Input`
//! names, `gate_core::turnstile::Sensor` variants, gated's status, `gatectl io`).

use crate::schema::{DoorConfig, DoorInputs, DoorOutputs, InputLineConfig, LineConfig};
use crate::{ConfigError, Problem, take};
use devices::turnstile::{
    ActiveLevel, InputLine, InputLines, MAX_DEBOUNCE_MS, OutputLine, OutputLines, SafeState,
    TurnstileBackend, TurnstileIoConfig,
};
use gate_core::turnstile::{
    FittedSensors, OutputSafeDefaults, SafeDefault, TurnstileConfig, TurnstileTimings,
};
use std::path::Path;

/// The simulated door's lines: lock on 0, green light on 1, red light on 2, the exit beam on 3
/// and the door switch on 4 (the simulated traveller opens the door, interrupts the beam and
/// lets the door close), lock fail-secure.
fn simulated_lines() -> (DoorOutputs, DoorInputs) {
    let line = |line| LineConfig {
        line,
        active_low: false,
    };
    (
        DoorOutputs {
            lock_release: line(0),
            green_light: line(1),
            red_light: line(2),
            buzzer: None,
            lock_fail_safe: false,
        },
        DoorInputs {
            door_closed: Some(InputLineConfig::on(4)),
            entry_beam: None,
            exit_beam: InputLineConfig::on(3),
            fire_alarm: Some(InputLineConfig::on(5)),
            tamper: None,
        },
    )
}

/// The simulated door's machine timings: in-memory lines do not chatter, so no debounce is
/// needed and fast simulations can send travellers through a few milliseconds apart.
fn simulated_timings() -> TurnstileTimings {
    TurnstileTimings {
        door_debounce_ms: 1,
        beam_debounce_ms: 1,
        ..TurnstileTimings::default()
    }
}

fn level(active_low: bool) -> ActiveLevel {
    if active_low {
        ActiveLevel::Low
    } else {
        ActiveLevel::High
    }
}

impl DoorConfig {
    /// The door of a gate without `[devices.door]` (a BioCart): the simulated one.
    pub fn absent() -> Self {
        DoorConfig::Simulated { passage_ms: 1_500 }
    }

    fn parts(&self) -> (DoorOutputs, DoorInputs, TurnstileTimings) {
        match self {
            DoorConfig::GpioCdev {
                outputs,
                inputs,
                timings,
                ..
            }
            | DoorConfig::Rppal {
                outputs,
                inputs,
                timings,
            } => (outputs.clone(), inputs.clone(), *timings),
            DoorConfig::Simulated { .. } => {
                let (outputs, inputs) = simulated_lines();
                (outputs, inputs, simulated_timings())
            }
        }
    }

    /// The lines: backend, chip, and every output and input with its wiring.
    pub fn io_config(&self) -> TurnstileIoConfig {
        let (outputs, inputs, _) = self.parts();
        let output = |line: &LineConfig, safe_state: SafeState| OutputLine {
            active: level(line.active_low),
            safe_state,
            ..OutputLine::on(line.line)
        };
        let input = |line: &InputLineConfig| InputLine {
            active: level(line.active_low),
            bias: line.bias,
            debounce_ms: line.debounce_ms,
            ..InputLine::on(line.line)
        };
        let lock_safe = if outputs.lock_fail_safe {
            SafeState::Active
        } else {
            SafeState::Inactive
        };
        let (backend, chip) = match self {
            DoorConfig::GpioCdev { chip, .. } => (TurnstileBackend::GpioCdev, Some(chip.clone())),
            DoorConfig::Rppal { .. } => (TurnstileBackend::Rppal, None),
            DoorConfig::Simulated { .. } => (TurnstileBackend::InMemory, None),
        };
        TurnstileIoConfig {
            backend,
            chip,
            consumer: "gated".into(),
            outputs: OutputLines {
                lock_release: output(&outputs.lock_release, lock_safe),
                green_light: Some(output(&outputs.green_light, SafeState::Inactive)),
                red_light: Some(output(&outputs.red_light, SafeState::Inactive)),
                buzzer: outputs
                    .buzzer
                    .as_ref()
                    .map(|line| output(line, SafeState::Inactive)),
            },
            inputs: InputLines {
                door_closed: inputs.door_closed.as_ref().map(input),
                entry_beam: inputs.entry_beam.as_ref().map(input),
                exit_beam: Some(input(&inputs.exit_beam)),
                fire_alarm: inputs.fire_alarm.as_ref().map(input),
                tamper: inputs.tamper.as_ref().map(input),
            },
        }
    }

    /// The turnstile machine: the lock's safe default (fail-secure unless `lock_fail_safe`),
    /// the sensors fitted (the inputs wired) and the timings.
    pub fn machine_config(&self) -> TurnstileConfig {
        let (outputs, inputs, timings) = self.parts();
        TurnstileConfig {
            safe_defaults: OutputSafeDefaults {
                lock_release: if outputs.lock_fail_safe {
                    SafeDefault::Active
                } else {
                    SafeDefault::Inactive
                },
                ..OutputSafeDefaults::default()
            },
            sensors: FittedSensors {
                door_closed: inputs.door_closed.is_some(),
                entry_beam: inputs.entry_beam.is_some(),
                exit_beam: true,
                fire_alarm: inputs.fire_alarm.is_some(),
                tamper: inputs.tamper.is_some(),
            },
            timings,
        }
    }

    /// Every problem of the section, by key path (`devices.door.inputs.exit_beam.line`, ...).
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if matches!(self, DoorConfig::Simulated { .. }) {
            return problems;
        }
        let (outputs, inputs, _) = self.parts();
        line_problems(&outputs, &inputs, &mut problems);
        for problem in self.machine_config().validate() {
            problems.push(Problem {
                key: format!("devices.door.{}", problem.key),
                message: problem.message,
            });
        }
        problems
    }
}

fn line_problems(outputs: &DoorOutputs, inputs: &DoorInputs, problems: &mut Vec<Problem>) {
    let mut bad = |key: String, message: String| problems.push(Problem { key, message });
    let output_lines = [
        ("lock_release", Some(&outputs.lock_release)),
        ("green_light", Some(&outputs.green_light)),
        ("red_light", Some(&outputs.red_light)),
        ("buzzer", outputs.buzzer.as_ref()),
    ];
    let input_lines = [
        ("door_closed", inputs.door_closed.as_ref()),
        ("entry_beam", inputs.entry_beam.as_ref()),
        ("exit_beam", Some(&inputs.exit_beam)),
        ("fire_alarm", inputs.fire_alarm.as_ref()),
        ("tamper", inputs.tamper.as_ref()),
    ];
    let mut used: Vec<(String, u32)> = Vec::new();
    for (name, line) in output_lines {
        if let Some(line) = line {
            used.push((format!("devices.door.outputs.{name}"), line.line));
        }
    }
    for (name, line) in input_lines {
        if let Some(line) = line {
            let key = format!("devices.door.inputs.{name}");
            if line.debounce_ms > MAX_DEBOUNCE_MS {
                bad(
                    format!("{key}.debounce_ms"),
                    format!("{} is outside 0..={MAX_DEBOUNCE_MS}", line.debounce_ms),
                );
            }
            used.push((key, line.line));
        }
    }
    for (i, (key, line)) in used.iter().enumerate() {
        if *line > 511 {
            bad(format!("{key}.line"), format!("{line} is outside 0..=511"));
        }
        if let Some((other, _)) = used[..i].iter().find(|(_, l)| l == line) {
            bad(
                format!("{key}.line"),
                format!("line {line} is already used by {other}"),
            );
        }
    }
}

/// Reads only `[devices.door]` of a gate configuration file, validated as gated validates it
/// (for `gatectl io`, which needs the lines and nothing else of the gate).
pub fn load_door(path: &Path) -> Result<DoorConfig, ConfigError> {
    let fail = |problems| ConfigError {
        file: path.to_owned(),
        problems,
    };
    let problem = |key: &str, message: String| Problem {
        key: key.into(),
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|err| fail(vec![problem("(file)", format!("cannot read: {err}"))]))?;
    let mut table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
        fail(vec![problem(
            "(syntax)",
            err.to_string().trim().replace('\n', " "),
        )])
    })?;
    let mut devices = match table.remove("devices") {
        Some(toml::Value::Table(devices)) => devices,
        _ => return Err(fail(vec![problem("devices", "missing section".into())])),
    };
    let mut problems = Vec::new();
    let door: Option<DoorConfig> = take(&mut devices, "door", "devices.door", true, &mut problems);
    match door {
        Some(door) => {
            problems.extend(door.problems());
            if problems.is_empty() {
                Ok(door)
            } else {
                Err(fail(problems))
            }
        }
        None => Err(fail(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devices::turnstile::{Input, InputBias, Output};
    use std::path::PathBuf;

    fn gpio_door() -> DoorConfig {
        let line = |line| LineConfig {
            line,
            active_low: false,
        };
        DoorConfig::GpioCdev {
            chip: PathBuf::from("/dev/gpiochip1"),
            outputs: DoorOutputs {
                lock_release: line(0),
                green_light: line(1),
                red_light: line(2),
                buzzer: Some(line(3)),
                lock_fail_safe: false,
            },
            inputs: DoorInputs {
                door_closed: Some(InputLineConfig {
                    active_low: true,
                    bias: InputBias::PullUp,
                    ..InputLineConfig::on(8)
                }),
                entry_beam: None,
                exit_beam: InputLineConfig {
                    debounce_ms: 10,
                    ..InputLineConfig::on(10)
                },
                fire_alarm: Some(InputLineConfig::on(11)),
                tamper: None,
            },
            timings: TurnstileTimings {
                held_open_ms: 20_000,
                ..TurnstileTimings::default()
            },
        }
    }

    #[test]
    fn lines_and_machine_follow_the_section() {
        let door = gpio_door();
        assert!(door.problems().is_empty(), "{:?}", door.problems());
        let io = door.io_config();
        assert_eq!(io.backend, TurnstileBackend::GpioCdev);
        assert_eq!(io.chip, Some(PathBuf::from("/dev/gpiochip1")));
        io.validate().unwrap();
        let inputs: Vec<(Input, u32, u32)> = io
            .input_lines()
            .into_iter()
            .map(|(input, line)| (input, line.line, line.debounce_ms))
            .collect();
        assert_eq!(
            inputs,
            [
                (Input::DoorClosed, 8, 0),
                (Input::ExitBeam, 10, 10),
                (Input::FireAlarm, 11, 0)
            ]
        );
        let door_closed = io.inputs.door_closed.as_ref().unwrap();
        assert_eq!(door_closed.active, ActiveLevel::Low);
        assert_eq!(door_closed.bias, InputBias::PullUp);
        assert_eq!(io.output_lines().len(), 4);
        assert_eq!(io.output_lines()[0].0, Output::LockRelease);
        let machine = door.machine_config();
        assert_eq!(machine.timings.held_open_ms, 20_000);
        assert_eq!(machine.safe_defaults.lock_release, SafeDefault::Inactive);
        assert!(machine.sensors.door_closed && machine.sensors.exit_beam);
        assert!(!machine.sensors.entry_beam && !machine.sensors.tamper);
        assert!(machine.sensors.fire_alarm);
    }

    #[test]
    fn problems_are_named_by_key() {
        let DoorConfig::GpioCdev {
            chip,
            mut outputs,
            mut inputs,
            mut timings,
        } = gpio_door()
        else {
            unreachable!()
        };
        outputs.green_light.line = 0;
        inputs.exit_beam.debounce_ms = 5_000;
        timings.held_open_ms = 5;
        outputs.lock_fail_safe = true;
        let door = DoorConfig::GpioCdev {
            chip,
            outputs,
            inputs,
            timings,
        };
        let keys: Vec<String> = door.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "devices.door.inputs.exit_beam.debounce_ms",
                "devices.door.outputs.green_light.line",
                "devices.door.timings.held_open_ms",
            ]
        );
        assert_eq!(
            door.machine_config().safe_defaults.lock_release,
            SafeDefault::Active,
            "fail-safe lock"
        );
    }

    #[test]
    fn the_simulated_door_is_an_in_memory_door_with_a_switch_an_exit_beam_and_a_fire_contact() {
        let door = DoorConfig::Simulated { passage_ms: 60 };
        let io = door.io_config();
        assert_eq!(io.backend, TurnstileBackend::InMemory);
        let inputs: Vec<Input> = io.input_lines().into_iter().map(|(i, _)| i).collect();
        assert_eq!(
            inputs,
            [Input::DoorClosed, Input::ExitBeam, Input::FireAlarm]
        );
        assert!(door.machine_config().validate().is_empty());
        assert_eq!(door.machine_config().timings.beam_debounce_ms, 1);
    }
}

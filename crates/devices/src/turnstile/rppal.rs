//! [`RppalTurnstile`]: turnstile I/O on Raspberry Pi GPIO through `rppal` (feature `rppal`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rppal::gpio::{Gpio, InputPin, Level, OutputPin, Trigger};

use super::{
    ActiveLevel, Input, InputBias, InputEdge, Output, TurnstileBackend, TurnstileConfigError,
    TurnstileIo, TurnstileIoConfig, TurnstileIoError,
};

/// Turnstile I/O on a Raspberry Pi, lines addressed by BCM GPIO number.
///
/// Off a Raspberry Pi, [`RppalTurnstile::open`] returns [`TurnstileIoError::NotARaspberryPi`]
/// (rppal's `UnknownModel`); use the `gpio-cdev` backend on other boards. Output pins keep
/// their level when dropped (no reset to input), so a lock stays where the safe state put it.
pub struct RppalTurnstile {
    gpio: Gpio,
    outputs: BTreeMap<Output, (OutputPin, ActiveLevel, bool)>,
    inputs: BTreeMap<Input, (InputPin, ActiveLevel)>,
}

fn rppal_error(
    line: Option<u32>,
    operation: &'static str,
) -> impl FnOnce(rppal::gpio::Error) -> TurnstileIoError {
    move |error| match error {
        rppal::gpio::Error::UnknownModel => TurnstileIoError::NotARaspberryPi {
            detail: error.to_string(),
        },
        other => TurnstileIoError::Gpio {
            chip: PathBuf::from("rppal"),
            line,
            operation,
            detail: other.to_string(),
        },
    }
}

fn level_for(active: bool, level: ActiveLevel) -> Level {
    match (active, level) {
        (true, ActiveLevel::High) | (false, ActiveLevel::Low) => Level::High,
        (true, ActiveLevel::Low) | (false, ActiveLevel::High) => Level::Low,
    }
}

fn logical(level: Level, active: ActiveLevel) -> bool {
    (level == Level::High) == (active == ActiveLevel::High)
}

fn bcm(line: u32, what: String) -> Result<u8, TurnstileIoError> {
    u8::try_from(line)
        .map_err(|_| TurnstileIoError::Config(TurnstileConfigError::LineOutOfRange { what, line }))
}

impl RppalTurnstile {
    /// Validates `config` (backend must be `rppal`) and claims its pins.
    pub fn open(config: &TurnstileIoConfig) -> Result<Self, TurnstileIoError> {
        config.validate()?;
        if config.backend != TurnstileBackend::Rppal {
            return Err(TurnstileIoError::Config(
                TurnstileConfigError::WrongBackend {
                    opened: TurnstileBackend::Rppal,
                    configured: config.backend,
                },
            ));
        }
        let gpio = Gpio::new().map_err(rppal_error(None, "open GPIO"))?;
        let mut outputs = BTreeMap::new();
        for (output, line) in config.output_lines() {
            let pin = gpio
                .get(bcm(line.line, format!("outputs.{output}"))?)
                .map_err(rppal_error(Some(line.line), "claim pin"))?;
            let safe = line.safe_state.is_active();
            let mut pin = match level_for(safe, line.active) {
                Level::High => pin.into_output_high(),
                Level::Low => pin.into_output_low(),
            };
            pin.set_reset_on_drop(false);
            outputs.insert(output, (pin, line.active, safe));
        }
        let mut inputs = BTreeMap::new();
        for (input, line) in config.input_lines() {
            let pin = gpio
                .get(bcm(line.line, format!("inputs.{input}"))?)
                .map_err(rppal_error(Some(line.line), "claim pin"))?;
            let mut pin = match line.bias {
                InputBias::PullUp => pin.into_input_pullup(),
                InputBias::PullDown => pin.into_input_pulldown(),
                InputBias::AsIs | InputBias::Disabled => pin.into_input(),
            };
            let debounce = (line.debounce_ms > 0).then(|| line.debounce());
            pin.set_interrupt(Trigger::Both, debounce)
                .map_err(rppal_error(Some(line.line), "enable edge interrupt"))?;
            inputs.insert(input, (pin, line.active));
        }
        Ok(RppalTurnstile {
            gpio,
            outputs,
            inputs,
        })
    }
}

impl TurnstileIo for RppalTurnstile {
    fn set_output(&mut self, output: Output, active: bool) -> Result<(), TurnstileIoError> {
        let Some((pin, level, _)) = self.outputs.get_mut(&output) else {
            return Err(TurnstileIoError::NotMapped {
                what: format!("output {output}"),
            });
        };
        pin.write(level_for(active, *level));
        Ok(())
    }

    fn read_input(&mut self, input: Input) -> Result<bool, TurnstileIoError> {
        let Some((pin, level)) = self.inputs.get(&input) else {
            return Err(TurnstileIoError::NotMapped {
                what: format!("input {input}"),
            });
        };
        Ok(logical(pin.read(), *level))
    }

    fn wait_edge(&mut self, timeout: Duration) -> Result<Option<InputEdge>, TurnstileIoError> {
        if self.inputs.is_empty() {
            std::thread::sleep(timeout);
            return Ok(None);
        }
        let pins: Vec<&InputPin> = self.inputs.values().map(|(pin, _)| pin).collect();
        let Some((pin, event)) = self
            .gpio
            .poll_interrupts(&pins, false, Some(timeout))
            .map_err(rppal_error(None, "poll interrupts"))?
        else {
            return Ok(None);
        };
        let number = pin.pin();
        let Some((input, (_, level))) =
            self.inputs.iter().find(|(_, (pin, _))| pin.pin() == number)
        else {
            return Ok(None);
        };
        let high = event.trigger == Trigger::RisingEdge;
        Ok(Some(InputEdge {
            input: *input,
            active: high == (*level == ActiveLevel::High),
            timestamp: event.timestamp,
            received_at: Instant::now(),
        }))
    }

    fn drive_safe_state(&mut self) -> Result<(), TurnstileIoError> {
        for (pin, level, safe) in self.outputs.values_mut() {
            pin.write(level_for(*safe, *level));
        }
        Ok(())
    }

    fn outputs(&self) -> Vec<Output> {
        self.outputs.keys().copied().collect()
    }

    fn inputs(&self) -> Vec<Input> {
        self.inputs.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_a_raspberry_pi() -> bool {
        std::fs::read_to_string("/proc/device-tree/model")
            .is_ok_and(|model| model.contains("Raspberry Pi"))
    }

    #[test]
    fn off_a_pi_open_reports_not_a_raspberry_pi() {
        if on_a_raspberry_pi() {
            eprintln!("running on a Raspberry Pi: the off-Pi error cannot be observed here");
            return;
        }
        let config =
            TurnstileIoConfig::new(TurnstileBackend::Rppal, super::super::OutputLine::on(17));
        let error = RppalTurnstile::open(&config)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("not a Raspberry Pi"), "{error}");
    }

    #[test]
    fn levels_follow_the_active_setting() {
        assert_eq!(level_for(true, ActiveLevel::High), Level::High);
        assert_eq!(level_for(true, ActiveLevel::Low), Level::Low);
        assert!(logical(Level::Low, ActiveLevel::Low));
        assert!(!logical(Level::Low, ActiveLevel::High));
    }
}

//! [`GpiocdevTurnstile`]: turnstile I/O on the Linux GPIO character device (feature `gpio-cdev`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gpiocdev::line::{Bias, EdgeDetection, EdgeKind, Value};
use gpiocdev::request::Request;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::{
    ActiveLevel, Input, InputBias, InputEdge, Output, TurnstileBackend, TurnstileConfigError,
    TurnstileIo, TurnstileIoConfig, TurnstileIoError,
};

#[derive(Debug, Clone, Copy)]
struct LineRef {
    chip: usize,
    offset: u32,
}

struct ChipRequest {
    path: PathBuf,
    request: Request,
    has_inputs: bool,
}

/// Turnstile I/O on `/dev/gpiochipN` lines through the `gpiocdev` crate (GPIO uAPI v2).
///
/// All lines of one chip are taken in one line request (consumer label from the config).
/// Outputs are requested already at their safe state, with the configured active level
/// (active-low is done by the kernel, so values here are logical); inputs get the configured
/// bias, debounce and edge detection on both edges, with kernel CLOCK_MONOTONIC timestamps.
/// The lines are released when the value is dropped (the kernel then keeps the last driven
/// value on most chips; call [`TurnstileIo::drive_safe_state`] before dropping).
pub struct GpiocdevTurnstile {
    chips: Vec<ChipRequest>,
    outputs: BTreeMap<Output, (LineRef, bool)>,
    inputs: BTreeMap<Input, LineRef>,
    input_by_line: HashMap<(usize, u32), Input>,
    pending_edges: VecDeque<InputEdge>,
}

fn gpio_error(
    chip: &std::path::Path,
    line: Option<u32>,
    operation: &'static str,
) -> impl FnOnce(gpiocdev::Error) -> TurnstileIoError {
    let chip = chip.to_path_buf();
    move |error| TurnstileIoError::Gpio {
        chip,
        line,
        operation,
        detail: error.to_string(),
    }
}

fn logical(value: Value) -> bool {
    value == Value::Active
}

impl GpiocdevTurnstile {
    /// Validates `config` (backend must be `gpio-cdev`) and requests its lines.
    pub fn open(config: &TurnstileIoConfig) -> Result<Self, TurnstileIoError> {
        config.validate()?;
        if config.backend != TurnstileBackend::GpioCdev {
            return Err(TurnstileIoError::Config(
                TurnstileConfigError::WrongBackend {
                    opened: TurnstileBackend::GpioCdev,
                    configured: config.backend,
                },
            ));
        }
        // Group lines by chip, in a stable order.
        let mut chip_paths: Vec<PathBuf> = Vec::new();
        let mut chip_index = |path: PathBuf| -> usize {
            if let Some(index) = chip_paths.iter().position(|known| *known == path) {
                return index;
            }
            chip_paths.push(path);
            chip_paths.len() - 1
        };
        let mut output_specs = Vec::new();
        for (output, line) in config.output_lines() {
            let chip = config.chip_of(line.chip.as_ref()).ok_or_else(|| {
                TurnstileConfigError::MissingChip {
                    what: format!("outputs.{output}"),
                }
            })?;
            output_specs.push((output, chip_index(chip), line.clone()));
        }
        let mut input_specs = Vec::new();
        for (input, line) in config.input_lines() {
            let chip = config.chip_of(line.chip.as_ref()).ok_or_else(|| {
                TurnstileConfigError::MissingChip {
                    what: format!("inputs.{input}"),
                }
            })?;
            input_specs.push((input, chip_index(chip), line.clone()));
        }

        let mut chips = Vec::new();
        for (index, path) in chip_paths.iter().enumerate() {
            let mut builder = Request::builder();
            builder
                .on_chip(path.clone())
                .with_consumer(config.consumer.clone());
            for (_, _, line) in output_specs.iter().filter(|(_, chip, _)| *chip == index) {
                builder.with_line(line.line).with_bias(None);
                match line.active {
                    ActiveLevel::High => builder.as_active_high(),
                    ActiveLevel::Low => builder.as_active_low(),
                };
                builder.as_output(Value::from(line.safe_state.is_active()));
            }
            let mut has_inputs = false;
            for (_, _, line) in input_specs.iter().filter(|(_, chip, _)| *chip == index) {
                has_inputs = true;
                builder.with_line(line.line).as_input();
                match line.active {
                    ActiveLevel::High => builder.as_active_high(),
                    ActiveLevel::Low => builder.as_active_low(),
                };
                builder.with_bias(match line.bias {
                    InputBias::AsIs => None,
                    InputBias::PullUp => Some(Bias::PullUp),
                    InputBias::PullDown => Some(Bias::PullDown),
                    InputBias::Disabled => Some(Bias::Disabled),
                });
                builder.with_edge_detection(EdgeDetection::BothEdges);
                if line.debounce_ms > 0 {
                    builder.with_debounce_period(line.debounce());
                }
            }
            let request = builder
                .request()
                .map_err(gpio_error(path, None, "line request"))?;
            chips.push(ChipRequest {
                path: path.clone(),
                request,
                has_inputs,
            });
        }
        let outputs = output_specs
            .iter()
            .map(|(output, chip, line)| {
                (
                    *output,
                    (
                        LineRef {
                            chip: *chip,
                            offset: line.line,
                        },
                        line.safe_state.is_active(),
                    ),
                )
            })
            .collect();
        let inputs: BTreeMap<Input, LineRef> = input_specs
            .iter()
            .map(|(input, chip, line)| {
                (
                    *input,
                    LineRef {
                        chip: *chip,
                        offset: line.line,
                    },
                )
            })
            .collect();
        let input_by_line = inputs
            .iter()
            .map(|(input, line)| ((line.chip, line.offset), *input))
            .collect();
        tracing::info!(chips = ?chip_paths, outputs = output_specs.len(), inputs = inputs.len(), "GPIO lines requested");
        Ok(GpiocdevTurnstile {
            chips,
            outputs,
            inputs,
            input_by_line,
            pending_edges: VecDeque::new(),
        })
    }

    /// Reads every edge event the kernel has queued for one chip request into `pending_edges`.
    ///
    /// Deliberately not `Request::read_edge_event`: in gpiocdev 0.8.0 (uAPI v2 only) it reads
    /// into a buffer sized for eight events and returns the first, silently dropping the rest
    /// (seen on gpio-sim: two back-to-back edges, one lost).
    fn read_events(&mut self, chip: usize) -> Result<(), TurnstileIoError> {
        const EVENTS_PER_READ: usize = 16;
        let chip_request = &self.chips[chip];
        let event_words = chip_request.request.edge_event_u64_size();
        let mut buffer = vec![0u64; event_words * EVENTS_PER_READ];
        let words = chip_request
            .request
            .read_edge_events_into_slice(&mut buffer)
            .map_err(gpio_error(&chip_request.path, None, "read edge events"))?;
        let received_at = Instant::now();
        for raw in buffer[..words.min(buffer.len())].chunks_exact(event_words) {
            let event = chip_request
                .request
                .edge_event_from_slice(raw)
                .map_err(gpio_error(&chip_request.path, None, "decode edge event"))?;
            if let Some(input) = self.input_by_line.get(&(chip, event.offset)) {
                self.pending_edges.push_back(InputEdge {
                    input: *input,
                    active: event.kind == EdgeKind::Rising,
                    timestamp: Duration::from_nanos(event.timestamp_ns),
                    received_at,
                });
            }
        }
        Ok(())
    }
}

impl TurnstileIo for GpiocdevTurnstile {
    fn set_output(&mut self, output: Output, active: bool) -> Result<(), TurnstileIoError> {
        let Some((line, _)) = self.outputs.get(&output) else {
            return Err(TurnstileIoError::NotMapped {
                what: format!("output {output}"),
            });
        };
        let chip = &self.chips[line.chip];
        chip.request
            .set_value(line.offset, Value::from(active))
            .map_err(gpio_error(&chip.path, Some(line.offset), "set value"))
    }

    fn read_input(&mut self, input: Input) -> Result<bool, TurnstileIoError> {
        let Some(line) = self.inputs.get(&input) else {
            return Err(TurnstileIoError::NotMapped {
                what: format!("input {input}"),
            });
        };
        let chip = &self.chips[line.chip];
        chip.request
            .value(line.offset)
            .map(logical)
            .map_err(gpio_error(&chip.path, Some(line.offset), "get value"))
    }

    fn wait_edge(&mut self, timeout: Duration) -> Result<Option<InputEdge>, TurnstileIoError> {
        if let Some(edge) = self.pending_edges.pop_front() {
            return Ok(Some(edge));
        }
        let watched: Vec<usize> = (0..self.chips.len())
            .filter(|index| self.chips[*index].has_inputs)
            .collect();
        if watched.is_empty() {
            std::thread::sleep(timeout);
            return Ok(None);
        }
        let poll_timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let ready: Vec<usize> = {
            let mut fds: Vec<PollFd<'_>> = watched
                .iter()
                .map(|index| PollFd::new(self.chips[*index].request.as_fd(), PollFlags::POLLIN))
                .collect();
            let count = nix::poll::poll(&mut fds, poll_timeout).map_err(|errno| {
                TurnstileIoError::Gpio {
                    chip: self.chips[watched[0]].path.clone(),
                    line: None,
                    operation: "poll for edge events",
                    detail: errno.to_string(),
                }
            })?;
            if count == 0 {
                return Ok(None);
            }
            watched
                .iter()
                .zip(&fds)
                .filter(|(_, fd)| fd.revents().is_some_and(|events| !events.is_empty()))
                .map(|(index, _)| *index)
                .collect()
        };
        for chip in ready {
            self.read_events(chip)?;
        }
        Ok(self.pending_edges.pop_front())
    }

    fn drive_safe_state(&mut self) -> Result<(), TurnstileIoError> {
        let safe: Vec<(Output, bool)> = self
            .outputs
            .iter()
            .map(|(output, (_, safe))| (*output, *safe))
            .collect();
        for (output, active) in safe {
            self.set_output(output, active)?;
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

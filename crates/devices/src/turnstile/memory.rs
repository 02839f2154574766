//! [`InMemoryTurnstile`]: the test double for turnstile I/O.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Input, InputEdge, Output, TurnstileIo, TurnstileIoConfig, TurnstileIoError};

/// One recorded output write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputChange {
    /// Which output.
    pub output: Output,
    /// The logical value written.
    pub active: bool,
    /// When it was written.
    pub at: Instant,
}

/// How many output writes an [`InMemoryTurnstileHandle`] remembers.
pub const HISTORY_LIMIT: usize = 4096;

#[derive(Debug, Default)]
struct State {
    outputs: BTreeMap<Output, bool>,
    inputs: BTreeMap<Input, bool>,
    pending_edges: VecDeque<InputEdge>,
    history: VecDeque<OutputChange>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    edge_ready: Condvar,
    created: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock (only possible in a test) must not hide the state.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Turnstile I/O kept in memory: **the test double** for logic and daemon tests (no hardware).
///
/// It behaves like the real backends: only configured lines exist (others give
/// [`TurnstileIoError::NotMapped`]), outputs start at their configured safe state, inputs start
/// inactive, and input changes arrive as [`InputEdge`]s. The paired
/// [`InMemoryTurnstileHandle`] (cloneable, usable from another thread) injects input changes
/// and observes outputs and their history.
#[derive(Debug)]
pub struct InMemoryTurnstile {
    shared: Arc<Shared>,
    safe_states: BTreeMap<Output, bool>,
    inputs: Vec<Input>,
}

/// The test side of an [`InMemoryTurnstile`]: inject input changes, observe outputs.
#[derive(Debug, Clone)]
pub struct InMemoryTurnstileHandle {
    shared: Arc<Shared>,
}

impl InMemoryTurnstile {
    /// Creates the lines of `config` (any backend value; only the mapping and safe states are
    /// used) and returns the turnstile with its handle.
    pub fn new(
        config: &TurnstileIoConfig,
    ) -> Result<(Self, InMemoryTurnstileHandle), TurnstileIoError> {
        config.validate()?;
        let safe_states: BTreeMap<Output, bool> = config
            .output_lines()
            .into_iter()
            .map(|(output, line)| (output, line.safe_state.is_active()))
            .collect();
        let inputs: Vec<Input> = config
            .input_lines()
            .into_iter()
            .map(|(input, _)| input)
            .collect();
        let state = State {
            outputs: safe_states.clone(),
            inputs: inputs.iter().map(|input| (*input, false)).collect(),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            edge_ready: Condvar::new(),
            created: Instant::now(),
        });
        let handle = InMemoryTurnstileHandle {
            shared: Arc::clone(&shared),
        };
        Ok((
            InMemoryTurnstile {
                shared,
                safe_states,
                inputs,
            },
            handle,
        ))
    }

    /// Every output and input mapped (distinct in-memory lines), all safe states inactive.
    pub fn with_all_lines() -> (Self, InMemoryTurnstileHandle) {
        let safe_states: BTreeMap<Output, bool> = Output::ALL
            .into_iter()
            .map(|output| (output, false))
            .collect();
        let state = State {
            outputs: safe_states.clone(),
            inputs: Input::ALL.into_iter().map(|input| (input, false)).collect(),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            edge_ready: Condvar::new(),
            created: Instant::now(),
        });
        let handle = InMemoryTurnstileHandle {
            shared: Arc::clone(&shared),
        };
        (
            InMemoryTurnstile {
                shared,
                safe_states,
                inputs: Input::ALL.to_vec(),
            },
            handle,
        )
    }
}

impl InMemoryTurnstileHandle {
    /// Sets an input's logical value. A change queues an [`InputEdge`] and wakes a waiting
    /// [`TurnstileIo::wait_edge`]; setting the current value does nothing. Returns whether it
    /// changed. Panics never; an unmapped input is ignored and returns false.
    pub fn set_input(&self, input: Input, active: bool) -> bool {
        let mut state = self.shared.lock();
        let Some(current) = state.inputs.get_mut(&input) else {
            return false;
        };
        if *current == active {
            return false;
        }
        *current = active;
        let received_at = Instant::now();
        let timestamp = received_at.duration_since(self.shared.created);
        state.pending_edges.push_back(InputEdge {
            input,
            active,
            timestamp,
            received_at,
        });
        drop(state);
        self.shared.edge_ready.notify_all();
        true
    }

    /// An output's current logical value (`None` when not mapped).
    pub fn output(&self, output: Output) -> Option<bool> {
        self.shared.lock().outputs.get(&output).copied()
    }

    /// The last [`HISTORY_LIMIT`] output writes, oldest first (including writes of an
    /// unchanged value).
    pub fn output_history(&self) -> Vec<OutputChange> {
        self.shared.lock().history.iter().cloned().collect()
    }

    /// An input's current logical value (`None` when not mapped).
    pub fn input(&self, input: Input) -> Option<bool> {
        self.shared.lock().inputs.get(&input).copied()
    }
}

fn not_mapped(kind: &str, name: &str) -> TurnstileIoError {
    TurnstileIoError::NotMapped {
        what: format!("{kind} {name}"),
    }
}

impl TurnstileIo for InMemoryTurnstile {
    fn set_output(&mut self, output: Output, active: bool) -> Result<(), TurnstileIoError> {
        let mut state = self.shared.lock();
        let Some(current) = state.outputs.get_mut(&output) else {
            return Err(not_mapped("output", output.name()));
        };
        *current = active;
        if state.history.len() == HISTORY_LIMIT {
            // A simulated door runs for as long as the gate: keep only the recent writes.
            state.history.pop_front();
        }
        state.history.push_back(OutputChange {
            output,
            active,
            at: Instant::now(),
        });
        Ok(())
    }

    fn read_input(&mut self, input: Input) -> Result<bool, TurnstileIoError> {
        self.shared
            .lock()
            .inputs
            .get(&input)
            .copied()
            .ok_or_else(|| not_mapped("input", input.name()))
    }

    fn wait_edge(&mut self, timeout: Duration) -> Result<Option<InputEdge>, TurnstileIoError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(edge) = state.pending_edges.pop_front() {
                return Ok(Some(edge));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            state = self
                .shared
                .edge_ready
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    fn drive_safe_state(&mut self) -> Result<(), TurnstileIoError> {
        let safe_states = self.safe_states.clone();
        for (output, active) in safe_states {
            self.set_output(output, active)?;
        }
        Ok(())
    }

    fn outputs(&self) -> Vec<Output> {
        self.safe_states.keys().copied().collect()
    }

    fn inputs(&self) -> Vec<Input> {
        self.inputs.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::turnstile::{InputLine, OutputLine, SafeState, TurnstileBackend};

    /// Lock, green light (safe state active), entry beam and fire alarm.
    fn config() -> TurnstileIoConfig {
        let mut config = TurnstileIoConfig::new(TurnstileBackend::InMemory, OutputLine::on(0));
        config.outputs.green_light = Some(OutputLine {
            safe_state: SafeState::Active,
            ..OutputLine::on(1)
        });
        config.inputs.entry_beam = Some(InputLine::on(4));
        config.inputs.fire_alarm = Some(InputLine::on(5));
        config
    }

    #[test]
    fn outputs_start_at_their_safe_state_and_are_observable() {
        let (mut io, handle) = InMemoryTurnstile::new(&config()).unwrap();
        assert_eq!(handle.output(Output::LockRelease), Some(false));
        assert_eq!(handle.output(Output::GreenLight), Some(true));
        assert_eq!(handle.output(Output::Buzzer), None);
        io.set_output(Output::LockRelease, true).unwrap();
        io.set_output(Output::GreenLight, false).unwrap();
        assert_eq!(handle.output(Output::LockRelease), Some(true));
        io.drive_safe_state().unwrap();
        assert_eq!(handle.output(Output::LockRelease), Some(false));
        assert_eq!(handle.output(Output::GreenLight), Some(true));
        let history: Vec<(Output, bool)> = handle
            .output_history()
            .iter()
            .map(|c| (c.output, c.active))
            .collect();
        assert_eq!(
            history,
            vec![
                (Output::LockRelease, true),
                (Output::GreenLight, false),
                (Output::LockRelease, false),
                (Output::GreenLight, true),
            ]
        );
        assert!(matches!(
            io.set_output(Output::Buzzer, true),
            Err(TurnstileIoError::NotMapped { .. })
        ));
        assert_eq!(io.outputs(), vec![Output::LockRelease, Output::GreenLight]);
    }

    #[test]
    fn injected_input_changes_arrive_as_ordered_edges() {
        let (mut io, handle) = InMemoryTurnstile::new(&config()).unwrap();
        assert_eq!(io.wait_edge(Duration::from_millis(5)).unwrap(), None);
        assert!(handle.set_input(Input::EntryBeam, true));
        assert!(
            !handle.set_input(Input::EntryBeam, true),
            "no edge without a change"
        );
        assert!(handle.set_input(Input::EntryBeam, false));
        assert!(!handle.set_input(Input::Tamper, true), "unmapped input");
        let first = io.wait_edge(Duration::from_millis(5)).unwrap().unwrap();
        let second = io.wait_edge(Duration::from_millis(5)).unwrap().unwrap();
        assert_eq!(
            (first.input, first.active, second.active),
            (Input::EntryBeam, true, false)
        );
        assert!(first.timestamp <= second.timestamp);
        assert_eq!(io.wait_edge(Duration::from_millis(5)).unwrap(), None);
        assert!(!io.read_input(Input::EntryBeam).unwrap());
        assert!(matches!(
            io.read_input(Input::Tamper),
            Err(TurnstileIoError::NotMapped { .. })
        ));
    }

    #[test]
    fn wait_edge_wakes_up_for_an_edge_from_another_thread() {
        let (mut io, handle) = InMemoryTurnstile::with_all_lines();
        let injector = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            handle.set_input(Input::FireAlarm, true);
        });
        let started = Instant::now();
        let edge = io.wait_edge(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!((edge.input, edge.active), (Input::FireAlarm, true));
        assert!(started.elapsed() < Duration::from_secs(4));
        assert!(io.read_input(Input::FireAlarm).unwrap());
        injector.join().unwrap();
    }
}

//! The door task: one thread owns the turnstile I/O (any [`TurnstileIo`] backend), applies
//! output changes in order and reports input edges and faults to the main loop.

use devices::turnstile::{InputEdge, Output, TurnstileIo};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the door thread reports.
#[derive(Debug)]
pub enum DoorReport {
    /// An input changed.
    Edge(InputEdge),
    /// An output could not be driven or inputs could not be read.
    Fault(String),
}

enum DoorOp {
    Set(Output, bool),
    Stop,
}

/// Handle of the door thread.
pub struct DoorDriver {
    ops: std_mpsc::Sender<DoorOp>,
    thread: Option<JoinHandle<()>>,
}

/// How long the thread waits for an input edge before looking at queued output changes.
const POLL: Duration = Duration::from_millis(5);

impl DoorDriver {
    /// Starts the thread. The backend's outputs are driven to their safe state first.
    pub fn spawn(mut io: Box<dyn TurnstileIo>, reports: mpsc::Sender<DoorReport>) -> Self {
        let (ops, queue) = std_mpsc::channel::<DoorOp>();
        let thread = std::thread::Builder::new()
            .name("door".into())
            .spawn(move || {
                if let Err(err) = io.drive_safe_state() {
                    let _ = reports.blocking_send(DoorReport::Fault(err.to_string()));
                }
                loop {
                    loop {
                        match queue.try_recv() {
                            Ok(DoorOp::Set(output, active)) => {
                                if let Err(err) = io.set_output(output, active) {
                                    let _ = reports.blocking_send(DoorReport::Fault(err.to_string()));
                                }
                            }
                            Ok(DoorOp::Stop) | Err(std_mpsc::TryRecvError::Disconnected) => {
                                if let Err(err) = io.drive_safe_state() {
                                    tracing::error!(error = %err, "door: safe state not reached at stop");
                                }
                                return;
                            }
                            Err(std_mpsc::TryRecvError::Empty) => break,
                        }
                    }
                    match io.wait_edge(POLL) {
                        Ok(Some(edge)) => {
                            if reports.blocking_send(DoorReport::Edge(edge)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(err) => {
                            let _ = reports.blocking_send(DoorReport::Fault(err.to_string()));
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            });
        let thread = match thread {
            Ok(thread) => Some(thread),
            Err(err) => {
                tracing::error!(error = %err, "door thread could not start");
                None
            }
        };
        Self { ops, thread }
    }

    /// Drives one output (logical value: `true` = asserted).
    pub fn set(&self, output: Output, active: bool) {
        if self.ops.send(DoorOp::Set(output, active)).is_err() {
            tracing::error!(?output, active, "door thread gone: output not driven");
        }
    }

    /// Drives every output to its safe state and stops the thread.
    pub fn stop(mut self) {
        let _ = self.ops.send(DoorOp::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

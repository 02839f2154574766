//! Serving a [`SimulatedModule`] on a pty pair.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use thiserror::Error;
use tracing::{debug, warn};

use super::module::{SimulatedModule, SimulatedModuleConfig};
use super::synthetic::SimulatedFinger;
use crate::fingerprint::r30x::FACTORY_BAUD_RATE;
use crate::fingerprint::r30x::frame::{FrameDecoder, Packet};

/// Errors starting the simulator.
#[derive(Debug, Error)]
pub enum SimulatorError {
    /// The pty pair could not be created or configured.
    #[error("cannot create pty pair: {0}")]
    Pty(#[from] serialport::Error),
    /// The link could not be created.
    #[error("cannot link {link} to {target}: {source}")]
    Link {
        /// Requested link path.
        link: PathBuf,
        /// Slave pty path.
        target: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The pty has no slave path.
    #[error("pty pair has no slave path")]
    NoSlavePath,
    /// The serving thread could not be started.
    #[error("cannot start simulator thread: {0}")]
    Thread(std::io::Error),
}

/// A fault to inject into the simulated module's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Send these bytes before the next response.
    GarbageBeforeNextResponse(Vec<u8>),
    /// Send the first bytes of a frame whose length field promises more than ever comes,
    /// before the next response.
    HalfFrameBeforeNextResponse,
    /// Do not send packet number `index` (0 = the acknowledgement) of the next response.
    DropPacketOfNextResponse {
        /// Index in the response (ack first, then data packets).
        index: usize,
    },
    /// Flip a checksum bit of packet number `index` of the next response.
    CorruptChecksumOfNextResponse {
        /// Index in the response (ack first, then data packets).
        index: usize,
    },
    /// Close the pty (the host sees the device vanish) and remove the link; with
    /// `reappear_after`, create a new pty after that time and point the link at it (a replug).
    Vanish {
        /// Time until the device comes back, `None` for never.
        reappear_after: Option<Duration>,
    },
}

/// How to run the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatorOptions {
    /// The simulated module.
    pub module: SimulatedModuleConfig,
    /// Baud rate set on the pty and used for pacing.
    pub baud_rate: u32,
    /// Pace traffic to the baud rate (10 bits per byte) as a real UART would.
    pub pace_to_baud_rate: bool,
    /// Extra time the module takes per command (a slow module).
    pub processing_delay: Duration,
    /// Symlink to create to the slave pty (replaced if it exists).
    pub link: Option<PathBuf>,
    /// Keep every byte that crosses the line, both ways, for [`ModuleSimulator::traffic`]
    /// (tests checking the framing on the wire). It holds templates and images: test use only.
    pub record_traffic: bool,
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        SimulatorOptions {
            module: SimulatedModuleConfig::default(),
            baud_rate: FACTORY_BAUD_RATE,
            pace_to_baud_rate: true,
            processing_delay: Duration::ZERO,
            link: None,
            record_traffic: false,
        }
    }
}

/// The bytes that crossed the simulated line, each direction in order (see
/// [`SimulatorOptions::record_traffic`]). `Debug` shows only the lengths: the bytes hold
/// templates and images.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes the host sent to the module, as received.
    pub from_host: Vec<u8>,
    /// Bytes the module sent to the host, as written (injected faults included).
    pub to_host: Vec<u8>,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("from_host_len", &self.from_host.len())
            .field("to_host_len", &self.to_host.len())
            .finish()
    }
}

#[derive(Debug, Default)]
struct PendingFaults {
    /// One fault per response, in injection order.
    per_response: VecDeque<Fault>,
    vanish: Option<Option<Duration>>,
}

struct Shared {
    module: SimulatedModule,
    faults: PendingFaults,
    processing_delay: Duration,
    slave_path: PathBuf,
    present: bool,
    traffic: Option<Traffic>,
}

/// A simulated fingerprint module served on a pty until dropped. See the module docs.
pub struct ModuleSimulator {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    link: Option<PathBuf>,
}

impl std::fmt::Debug for ModuleSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleSimulator")
            .field("port_path", &self.port_path())
            .finish_non_exhaustive()
    }
}

struct Pty {
    master: TTYPort,
    // Held open so the master never sees a hang-up while the host reconnects.
    _slave: TTYPort,
    path: PathBuf,
}

fn open_pty(baud_rate: u32, link: Option<&Path>) -> Result<Pty, SimulatorError> {
    let (mut master, mut slave) = TTYPort::pair()?;
    slave.set_baud_rate(baud_rate)?;
    master.set_timeout(Duration::from_millis(5))?;
    let path = PathBuf::from(slave.name().ok_or(SimulatorError::NoSlavePath)?);
    if let Some(link) = link {
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(&path, link).map_err(|source| SimulatorError::Link {
            link: link.to_path_buf(),
            target: path.clone(),
            source,
        })?;
    }
    Ok(Pty {
        master,
        _slave: slave,
        path,
    })
}

fn wire_time(bytes: usize, baud_rate: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(baud_rate.max(1)))
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic in a test closure must not take the simulator down with a poisoned lock.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ModuleSimulator {
    /// Create the pty pair (and link), start serving on a background thread.
    pub fn start(options: SimulatorOptions) -> Result<Self, SimulatorError> {
        let pty = open_pty(options.baud_rate, options.link.as_deref())?;
        let shared = Arc::new(Mutex::new(Shared {
            module: SimulatedModule::new(options.module.clone()),
            faults: PendingFaults::default(),
            processing_delay: options.processing_delay,
            slave_path: pty.path.clone(),
            present: true,
            traffic: options.record_traffic.then(Traffic::default),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("fingerprint-simulator".into())
            .spawn({
                let shared = Arc::clone(&shared);
                let stop = Arc::clone(&stop);
                let options = options.clone();
                move || serve(pty, &shared, &stop, &options)
            })
            .map_err(SimulatorError::Thread)?;
        Ok(ModuleSimulator {
            shared,
            stop,
            thread: Some(thread),
            link: options.link,
        })
    }

    /// The path a host should open: the link if one was requested, else the slave pty.
    pub fn port_path(&self) -> PathBuf {
        match &self.link {
            Some(link) => link.clone(),
            None => lock(&self.shared).slave_path.clone(),
        }
    }

    /// The current slave pty path (changes after a vanish-and-reappear).
    pub fn slave_path(&self) -> PathBuf {
        lock(&self.shared).slave_path.clone()
    }

    /// Whether the pty exists right now (false while vanished).
    pub fn is_present(&self) -> bool {
        lock(&self.shared).present
    }

    /// Put a finger on the sensor.
    pub fn place_finger(&self, finger: SimulatedFinger) {
        lock(&self.shared).module.place_finger(finger);
    }

    /// Lift the finger.
    pub fn remove_finger(&self) {
        lock(&self.shared).module.remove_finger();
    }

    /// Script the next GenImg results (see [`SimulatedModule::queue_fingers`]).
    pub fn queue_fingers(&self, fingers: impl IntoIterator<Item = Option<SimulatedFinger>>) {
        lock(&self.shared).module.queue_fingers(fingers);
    }

    /// Change the per-command processing delay.
    pub fn set_processing_delay(&self, delay: Duration) {
        lock(&self.shared).processing_delay = delay;
    }

    /// Inject a fault (see [`Fault`]). Response faults queue up: each response consumes one,
    /// so injecting the same fault three times hits the next three responses.
    pub fn inject(&self, fault: Fault) {
        let mut shared = lock(&self.shared);
        match fault {
            Fault::Vanish { reappear_after } => shared.faults.vanish = Some(reappear_after),
            other => shared.faults.per_response.push_back(other),
        }
    }

    /// The bytes that crossed the line so far (empty unless
    /// [`SimulatorOptions::record_traffic`]).
    pub fn traffic(&self) -> Traffic {
        lock(&self.shared).traffic.clone().unwrap_or_default()
    }

    /// Inspect or change the simulated module (library, fingers) directly.
    pub fn with_module<T>(&self, operation: impl FnOnce(&mut SimulatedModule) -> T) -> T {
        operation(&mut lock(&self.shared).module)
    }

    /// Stop serving and close the pty.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
    }
}

impl Drop for ModuleSimulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(pty: Pty, shared: &Mutex<Shared>, stop: &AtomicBool, options: &SimulatorOptions) {
    let mut pty = Some(pty);
    let mut decoder = FrameDecoder::new();
    let mut chunk = [0u8; 512];
    // When the last received byte has finished arriving at the paced line rate.
    let mut rx_line_free_at = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let vanish = lock(shared).faults.vanish.take();
        if let Some(reappear_after) = vanish {
            debug!("simulated fingerprint module vanishes");
            pty = None;
            decoder.clear();
            if let Some(link) = &options.link {
                let _ = std::fs::remove_file(link);
            }
            lock(shared).present = false;
            let Some(after) = reappear_after else {
                continue;
            };
            let until = Instant::now() + after;
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            match open_pty(options.baud_rate, options.link.as_deref()) {
                Ok(new_pty) => {
                    let mut shared = lock(shared);
                    shared.slave_path = new_pty.path.clone();
                    shared.present = true;
                    pty = Some(new_pty);
                }
                Err(error) => warn!(%error, "simulated fingerprint module cannot reappear"),
            }
        }
        let Some(current) = pty.as_mut() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        match current.master.read(&mut chunk) {
            Ok(0) => continue,
            Ok(n) => {
                decoder.push(&chunk[..n]);
                if let Some(traffic) = lock(shared).traffic.as_mut() {
                    traffic.from_host.extend_from_slice(&chunk[..n]);
                }
                if options.pace_to_baud_rate {
                    rx_line_free_at =
                        rx_line_free_at.max(Instant::now()) + wire_time(n, options.baud_rate);
                }
            }
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(error) => {
                debug!(%error, "simulator pty read failed");
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
        }
        while let Some(frame) = decoder.next_frame() {
            let Ok(packet) = frame else {
                // A real module answers a corrupted command with nothing useful; the host
                // times out and retries.
                continue;
            };
            if options.pace_to_baud_rate {
                let now = Instant::now();
                if rx_line_free_at > now {
                    std::thread::sleep(rx_line_free_at - now);
                }
            }
            let (responses, delay, fault) = {
                let mut shared = lock(shared);
                let responses = shared.module.handle(&packet);
                let fault = if responses.is_empty() {
                    None
                } else {
                    shared.faults.per_response.pop_front()
                };
                (responses, shared.processing_delay, fault)
            };
            if responses.is_empty() {
                continue;
            }
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            let mut written = Vec::new();
            if let Err(error) = send(&mut current.master, responses, fault, options, &mut written) {
                debug!(%error, "simulator pty write failed");
            }
            if let Some(traffic) = lock(shared).traffic.as_mut() {
                traffic.to_host.extend_from_slice(&written);
            }
        }
    }
}

/// Write `responses` (with `fault` applied); every byte written is appended to `written`.
fn send(
    master: &mut TTYPort,
    responses: Vec<Packet>,
    fault: Option<Fault>,
    options: &SimulatorOptions,
    written: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut prefix = Vec::new();
    let mut drop_index = None;
    let mut corrupt_index = None;
    if let Some(fault) = fault {
        match fault {
            Fault::GarbageBeforeNextResponse(bytes) => prefix.extend(bytes),
            Fault::HalfFrameBeforeNextResponse => {
                // EF01, address, ack, length 0x0040, then only 3 of the 64 promised bytes.
                prefix.extend([
                    0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x40, 0x00, 0x11, 0x22,
                ]);
            }
            Fault::DropPacketOfNextResponse { index } => drop_index = Some(index),
            Fault::CorruptChecksumOfNextResponse { index } => corrupt_index = Some(index),
            Fault::Vanish { .. } => {}
        }
    }
    let mut write_paced = |bytes: &[u8]| -> std::io::Result<()> {
        if options.pace_to_baud_rate {
            std::thread::sleep(wire_time(bytes.len(), options.baud_rate));
        }
        master.write_all(bytes)?;
        written.extend_from_slice(bytes);
        master.flush()
    };
    if !prefix.is_empty() {
        write_paced(&prefix)?;
        // Let a partial frame sit on the line alone for a moment, as a glitch would.
        std::thread::sleep(Duration::from_millis(5));
    }
    for (index, packet) in responses.into_iter().enumerate() {
        if drop_index == Some(index) {
            continue;
        }
        let Ok(mut bytes) = packet.encode() else {
            continue;
        };
        if corrupt_index == Some(index)
            && let Some(last) = bytes.last_mut()
        {
            *last ^= 0x01;
        }
        write_paced(&bytes)?;
    }
    Ok(())
}

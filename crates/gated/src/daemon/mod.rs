//! The daemon: start-up, the main loop, command dispatch, and what the loop answers.
//!
//! One task owns the [`gate_core::Gate`]. It takes one input at a time (a device's result, the
//! door's step, the outbox writer's answer, a control request, a timer on the daemon's
//! [`Clock`]), feeds the core the events it makes and executes every command the core returns
//! before it takes the next event ([`dispatch`]). It never waits on a device or the disk:
//! devices, the door, the outbox writer and the sync thread are workers
//! ([`crate::worker`]) that report through channels and publish their state on `watch`
//! channels.
//!
//! Modules: [`startup`] (the start-up order: door first), [`dispatch`] (the event queue and
//! the commands), [`transaction`] (one transaction's personal data), [`reports`] (what the
//! workers report), [`requests`] (control socket requests, the technician's door pulse, the
//! demo autopilot), [`status`], [`throughput`], [`heartbeat`], [`biocart`] (the booth record), [`stats`] (the
//! loop's busy times).

pub mod biocart;
pub mod dispatch;
pub mod heartbeat;
pub mod reports;
pub mod requests;
pub mod startup;
pub mod stats;
pub mod status;
pub mod throughput;
pub mod transaction;

use crate::clock::Clock;
use crate::control::ControlRequest;
use crate::door::{Door, DriverStep, LockTicket};
use crate::hashing::DocumentHasher;
use crate::health::{DeviceRole, HealthReport};
use crate::journal::DenyHold;
use crate::lists::List;
use crate::roles::{DeviceReport, Roles};
use crate::sim::Simulator;
use crate::store::{Booth, Store, StoreReport};
use crate::systemd;
use crate::worker::Worker;
use gate_config::GateConfig;
use gate_core::{DocumentHash, Event, Gate, Lights, OutcomeRecord, Prompt, Step, TransactionId};
use gate_protocol::{Health, LastOutcome, ResponseEnvelope};
use stats::LoopStats;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

pub use startup::StartError;

/// Where the daemon's files go, after command-line overrides.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The control socket.
    pub socket: PathBuf,
    /// The state directory (outbox database, see [`gate_config::schema::outbox_in`]).
    pub state_dir: PathBuf,
}

/// How the daemon is run besides its configuration: its clock, and what it shows of itself
/// to an in-process harness or a benchmark.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The clock of the core and of every timer of the loop and the simulated devices.
    pub clock: Clock,
    /// Where the loop publishes a [`Probe`] after every wake-up (tests and benchmarks).
    pub probe: Option<watch::Sender<Probe>>,
    /// Where start-up hands over the simulated door's lines (`[devices.door] backend =
    /// "simulated"`), so a harness can act as the fire panel or a passer-by.
    pub door_lines: Option<watch::Sender<Option<devices::turnstile::InMemoryTurnstileHandle>>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            clock: Clock::system(),
            probe: None,
            door_lines: None,
        }
    }
}

/// What the main loop shows of itself to an in-process harness or a benchmark.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// The transaction whose personal data the loop holds, if any.
    pub holding_data_of: Option<TransactionId>,
    /// The transaction the core runs, if any.
    pub transaction: Option<TransactionId>,
    /// How long each wake-up kept the loop busy.
    pub busy: LoopStats,
}

/// Runs the daemon until `shutdown` resolves, on the system clock; then locks the door,
/// records the transaction in progress as aborted, stops and joins every worker and returns.
pub async fn run(
    config: GateConfig,
    paths: Paths,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    run_with(config, paths, RunOptions::default(), shutdown).await
}

/// [`run`] with a chosen clock and probe.
pub async fn run_with(
    config: GateConfig,
    paths: Paths,
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let (daemon, channels) = startup::start(config, &paths, options).await?;
    daemon.serve(channels, &paths, shutdown).await;
    Ok(())
}

/// A control request answered once what it asked for has happened, without the loop waiting
/// for it: a technician's pulse once the door is released, `door lock` once it is engaged,
/// an officer's reset once the end of the deny hold is on disk.
struct WaitingReply {
    until: Awaited,
    deadline: tokio::time::Instant,
    reply: oneshot::Sender<ResponseEnvelope>,
    answer: Answer,
}

/// What a [`WaitingReply`] answers: a fixed answer, or the status as it is then.
enum Answer {
    Ready(ResponseEnvelope),
    Status { id: u64 },
}

/// What a [`WaitingReply`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaited {
    DoorReleased,
    DoorLocked(LockTicket),
    HoldCleared(u64),
    /// Every durable write up to this number done (or failed): the status then shows no
    /// stage or end of a transaction whose record is not on disk.
    Written(u64),
}

/// The technician's door pulse in progress (or being recorded before it starts).
#[derive(Debug)]
enum Pulse {
    /// The release is being recorded; the door opens when it is durable.
    Recording {
        reply: Option<(u64, oneshot::Sender<ResponseEnvelope>)>,
    },
    /// The door is released until this monotonic time.
    Open { until_ms: u64 },
}

/// What the journal last heard of the transaction in progress and the deny hold.
#[derive(Debug, Default)]
struct Progress {
    transaction: Option<(TransactionId, i64)>,
    step: Option<Step>,
    holding: bool,
    /// Ends of deny holds sent to the outbox writer, and confirmed by it.
    holds_cleared: (u64, u64),
}

/// The main loop's state.
pub(crate) struct Daemon {
    config: GateConfig,
    clock: Clock,
    gate: Gate,
    hasher: DocumentHasher,
    roles: Roles,
    door: Door,
    /// The simulated devices, for simulated travellers.
    simulator: Option<Simulator>,
    store: Store,
    booth: Option<Arc<Booth>>,
    lists: Option<(Vec<List>, Duration)>,
    data: Option<transaction::TransactionData>,
    pending: VecDeque<Event>,
    feeding: bool,
    progress: Progress,
    /// A chip read waiting for its transaction's start to be on disk.
    pending_read: Option<TransactionId>,
    /// A door release waiting for its pass decision to be on disk.
    pending_unlock: Option<(TransactionId, u64)>,
    device_health: HashMap<DeviceRole, (Health, String)>,
    display: Prompt,
    lights: Lights,
    door_fault: Option<String>,
    pulse: Option<Pulse>,
    waiting: Vec<WaitingReply>,
    unrecorded: Vec<(Box<OutcomeRecord>, Option<DenyHold>)>,
    /// Durable writes (journal entries, outcomes) sent to the outbox writer, and answered.
    writes: (u64, u64),
    outbox_problem: Option<String>,
    throughput: throughput::Throughput,
    heartbeat: heartbeat::Heartbeat,
    last_outcome: Option<LastOutcome>,
    span: Option<(TransactionId, tracing::Span)>,
    workers: Vec<Worker>,
    door_worker: Option<Worker>,
    stats: LoopStats,
    probe: Option<watch::Sender<Probe>>,
    /// The traveller's screen, when `[screen]` is configured.
    screen: Option<ScreenFeed>,
    /// The metrics (`[metrics]`), kept whether or not anything exposes them.
    metrics: Arc<crate::metrics::GateMetrics>,
}

/// What the main loop keeps for the traveller's screen.
pub(crate) struct ScreenFeed {
    guide: crate::screen::Guide,
    tx: watch::Sender<crate::screen::ScreenState>,
    seq: u64,
    /// How long an outcome the core leaves on display (the BioCart's "proceed to the booth")
    /// stays on the screen once the gate is idle, ms.
    outcome_ms: u64,
    /// Since when (gate clock, ms) the idle gate has shown that outcome.
    outcome_since: Option<u64>,
}

/// The receiving ends of the loop's inputs.
pub(crate) struct Channels {
    door_steps: mpsc::Receiver<DriverStep>,
    door_state: watch::Receiver<crate::door::DoorState>,
    devices: mpsc::Receiver<DeviceReport>,
    health: mpsc::Receiver<HealthReport>,
    store: mpsc::Receiver<StoreReport>,
    control: mpsc::Receiver<ControlRequest>,
    server: tokio::task::JoinHandle<()>,
    screen_server: Option<tokio::task::JoinHandle<()>>,
    /// The metrics server and textfile writer (`[metrics]`).
    metrics_tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What woke the loop.
enum Wake {
    Shutdown,
    Tick,
    PulseOver,
    Door(DriverStep),
    DoorChanged,
    Store(StoreReport),
    Device(DeviceReport),
    Health(HealthReport),
    Control(ControlRequest),
    WaitingExpired,
    Hangup,
    Watchdog,
    Housekeeping,
    Autopilot,
}

/// Every this often: outcomes not yet durable retried, the outbox's high-water mark, list
/// freshness, purge, throughput period.
const HOUSEKEEPING: Duration = Duration::from_secs(2);

impl Daemon {
    async fn serve(
        mut self,
        mut channels: Channels,
        paths: &Paths,
        shutdown: impl Future<Output = ()>,
    ) {
        let mut watchdog = tokio::time::interval(systemd::watchdog_period());
        let autopilot_ms = self.config.simulation.autopilot_interval_ms;
        let autopilot_every = autopilot_ms.max(1_000);
        let mut next_autopilot = self.clock.monotonic_ms() + autopilot_every;
        let housekeeping_ms = u64::try_from(HOUSEKEEPING.as_millis()).unwrap_or(2_000);
        let mut next_housekeeping = self.clock.monotonic_ms() + housekeeping_ms;
        // SIGHUP (`systemctl reload gated`) reloads the document trust store.
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(signal) => Some(signal),
            Err(err) => {
                warn!(error = %err, "no SIGHUP handler: trust store reload needs a restart");
                None
            }
        };
        tokio::pin!(shutdown);
        loop {
            let clock = self.clock.clone();
            let deadline = self.gate.next_deadline();
            let pulse_over = match self.pulse {
                Some(Pulse::Open { until_ms }) => Some(until_ms),
                _ => None,
            };
            let waiting_deadline = self.waiting.iter().map(|w| w.deadline).min();
            let wake = tokio::select! {
                biased;
                () = &mut shutdown => Wake::Shutdown,
                () = sleep_until(&clock, deadline) => Wake::Tick,
                () = sleep_until(&clock, pulse_over) => Wake::PulseOver,
                Some(step) = channels.door_steps.recv() => Wake::Door(step),
                Ok(()) = channels.door_state.changed(), if !self.waiting.is_empty() => Wake::DoorChanged,
                Some(report) = channels.store.recv() => Wake::Store(report),
                Some(report) = channels.devices.recv() => Wake::Device(report),
                Some(report) = channels.health.recv() => Wake::Health(report),
                Some(request) = channels.control.recv() => Wake::Control(request),
                () = real_sleep_until(waiting_deadline) => Wake::WaitingExpired,
                Some(()) = next_hangup(&mut hangup) => Wake::Hangup,
                _ = watchdog.tick() => Wake::Watchdog,
                () = clock.sleep_until(next_housekeeping) => Wake::Housekeeping,
                () = clock.sleep_until(next_autopilot), if autopilot_ms > 0 => Wake::Autopilot,
            };
            let started = std::time::Instant::now();
            match wake {
                Wake::Shutdown => break,
                Wake::Tick => self.feed(Event::Tick),
                Wake::PulseOver => self.end_door_pulse(),
                Wake::Door(step) => self.door_step(step),
                Wake::DoorChanged | Wake::WaitingExpired => self.answer_waiting(),
                Wake::Store(report) => self.store_report(report),
                Wake::Device(report) => self.device_report(report),
                Wake::Health(report) => self.health_report(report),
                Wake::Control(request) => self.control(request),
                Wake::Hangup => {
                    info!("SIGHUP: reloading the trust store");
                    if let Some(reader) = &self.roles.reader {
                        reader.reload_trust();
                    }
                }
                Wake::Watchdog => systemd::watchdog(),
                Wake::Housekeeping => {
                    next_housekeeping = self.clock.monotonic_ms() + housekeeping_ms;
                    self.housekeeping();
                }
                Wake::Autopilot => {
                    next_autopilot = self.clock.monotonic_ms() + autopilot_every;
                    self.autopilot();
                }
            }
            self.stats.record(started.elapsed());
            self.publish_metrics();
            self.publish_probe();
        }
        self.stop(channels, paths).await;
    }

    /// Publishes the traveller's screen when what it shows changed.
    pub(super) fn publish_screen(&mut self) {
        let Some(screen) = &mut self.screen else {
            return;
        };
        let snapshot = self.gate.snapshot();
        let now_ms = self.clock.monotonic_ms();
        // An outcome left on display by an idle core gives way to the idle screen.
        let idle = self.gate.current_transaction().is_none() && self.gate.holding_until().is_none();
        let mut prompt = self.display;
        if idle && prompt == Prompt::ProceedToBooth {
            let since = *screen.outcome_since.get_or_insert(now_ms);
            if now_ms.saturating_sub(since) >= screen.outcome_ms {
                prompt = Prompt::PlaceDocument;
            }
        } else {
            screen.outcome_since = None;
        }
        let facts = crate::screen::Facts {
            profile: self.config.gate.profile,
            prompt,
            conditions: &snapshot.conditions,
            step: self.gate.current_step(),
            step_attempts: snapshot.step_attempts,
            policy: self.gate.policy(),
            holding_remaining_ms: self.gate.holding_until().map(|u| u.saturating_sub(now_ms)),
        };
        // Wall-clock time, not the gate's clock: the page measures its delay against it.
        let wall_ms = crate::unix_ms();
        let state = screen.guide.state(&facts, screen.seq + 1, wall_ms);
        let changed = {
            let shown = screen.tx.borrow();
            shown.seq == 0 || !shown.shows_the_same_as(&state)
        };
        if changed {
            screen.seq += 1;
            screen.tx.send_replace(state);
        }
    }

    /// Sets the metrics' state gauges from what the loop holds (devices, conditions, outbox),
    /// when something exposes them (`[metrics]`): the gauges are only ever read by the metrics
    /// server and textfile, so a gate without them does none of this work on its loop.
    fn publish_metrics(&self) {
        if self.config.metrics.is_none() {
            return;
        }
        let snapshot = self.gate.snapshot();
        let outbox = self.store.view();
        let devices = self.device_healths(&outbox);
        self.metrics.set_state(&crate::metrics::GateState {
            devices: devices
                .iter()
                .map(|(name, health, _)| (*name, *health))
                .collect(),
            conditions: &snapshot.conditions,
            turned_away: snapshot.counters.turned_away,
            outbox: &outbox,
        });
    }

    fn publish_probe(&self) {
        if let Some(probe) = &self.probe {
            probe.send_replace(Probe {
                holding_data_of: self.data.as_ref().map(|data| data.id()),
                transaction: self.gate.current_transaction(),
                busy: self.stats.clone(),
            });
        }
    }

    /// Shutdown: door locked and the transaction in progress recorded as aborted by the core;
    /// then every worker stopped and joined, the door last (it drives its safe state).
    async fn stop(mut self, channels: Channels, paths: &Paths) {
        info!("stopping");
        systemd::stopping();
        self.feed(Event::Shutdown);
        self.retry_unrecorded();
        self.publish_probe();
        info!(stats = %self.stats, "main loop");
        // Nobody reads the workers' reports any more: their sends must not wait for us.
        let Channels {
            door_steps,
            devices,
            health,
            store,
            control,
            server,
            screen_server,
            metrics_tasks,
            ..
        } = channels;
        server.abort();
        for task in metrics_tasks {
            task.abort();
        }
        if let Some(screen) = screen_server {
            screen.abort();
        }
        drop((devices, health, store, control));
        // Devices first, then the outbox writer (it finishes the records queued, which wait
        // for the door's lock) and the sync thread, then the door.
        let mut workers = std::mem::take(&mut self.workers);
        workers.sort_by_key(|worker| match worker.name() {
            "outbox" => 1,
            "sync" => 2,
            _ => 0,
        });
        for worker in workers {
            let name = worker.name();
            if let Err(err) = worker.stop().await {
                error!(error = %err, worker = name, "worker did not stop cleanly");
            }
        }
        drop(door_steps);
        if let Some(door) = self.door_worker.take()
            && let Err(err) = door.stop().await
        {
            error!(error = %err, "door worker did not stop cleanly");
        }
        let _ = std::fs::remove_file(&paths.socket);
        info!("stopped");
    }

    /// The document hash of the transaction in progress, from its data.
    fn document_hash(&self, transaction_id: TransactionId) -> Option<DocumentHash> {
        self.data
            .as_ref()
            .filter(|data| data.id() == transaction_id)
            .and_then(|data| data.document_hash)
    }
}

async fn sleep_until(clock: &Clock, at_ms: Option<u64>) {
    match at_ms {
        Some(at) => clock.sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn real_sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_hangup(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

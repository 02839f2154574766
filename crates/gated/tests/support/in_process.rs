//! gated in this test's process, as mini-redis tests its server: the test hands the daemon its
//! configuration (a typed value), its paths, a clock it moves by hand and a shutdown future,
//! and talks to it over its real control socket. Transaction time limits, deny holds and
//! throughput periods then run when the test says, not after real seconds.

use super::Client;
use gate_config::GateConfig;
use gated::clock::Clock;
use gated::daemon::{Paths, Probe, RunOptions, StartError};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// 2026-11-26T03:00:00Z, where the manual clocks of these tests start.
pub const EPOCH_UNIX_MS: i64 = 1_795_662_000_000;

/// The daemon running in this process.
pub struct InProcess {
    runtime: tokio::runtime::Runtime,
    /// The daemon's clock.
    pub clock: Clock,
    probe: watch::Receiver<Probe>,
    door_lines: watch::Receiver<Option<devices::turnstile::InMemoryTurnstileHandle>>,
    stop: Option<oneshot::Sender<()>>,
    daemon: Option<tokio::task::JoinHandle<Result<(), StartError>>>,
    /// Where socket and state live.
    pub root: PathBuf,
    owned_dir: Option<tempfile::TempDir>,
    client: Client,
}

impl std::ops::Deref for InProcess {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl InProcess {
    /// Starts the daemon with `config` in a fresh directory on a manual clock.
    pub fn start(config: &GateConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut gate = Self::start_in(dir.path(), config, Clock::manual(EPOCH_UNIX_MS));
        gate.owned_dir = Some(dir);
        gate
    }

    /// Starts the daemon on the state kept in `root` (for restarts) with `clock`.
    pub fn start_in(root: &Path, config: &GateConfig, clock: Clock) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let paths = Paths {
            socket: root.join("run/control.sock"),
            state_dir: root.join("state"),
        };
        let client = Client {
            socket: paths.socket.clone(),
            state_dir: paths.state_dir.clone(),
            log: None,
        };
        let (probe_tx, probe) = watch::channel(Probe::default());
        let (door_lines_tx, door_lines) = watch::channel(None);
        let (stop, stopped) = oneshot::channel::<()>();
        let options = RunOptions {
            clock: clock.clone(),
            probe: Some(probe_tx),
            door_lines: Some(door_lines_tx),
        };
        let daemon = runtime.spawn(gated::daemon::run_with(
            config.clone(),
            paths,
            options,
            async {
                let _ = stopped.await;
            },
        ));
        client.wait_for_socket();
        Self {
            runtime,
            clock,
            probe,
            door_lines,
            stop: Some(stop),
            daemon: Some(daemon),
            root: root.to_owned(),
            owned_dir: None,
            client,
        }
    }

    /// Moves the daemon's clock forward; what falls due runs before the next request is
    /// served.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by).unwrap();
    }

    /// Moves the clock in steps of `step` until `done` holds; fails when it has not after
    /// `at_most` of the daemon's time (or 20 s of real time). The door's lines and the
    /// device threads run in real time, so every step leaves them a moment.
    pub fn advance_until(
        &self,
        what: &str,
        step: Duration,
        at_most: Duration,
        done: impl Fn(&gate_protocol::StatusReport) -> bool,
    ) -> gate_protocol::StatusReport {
        let started = self.clock.monotonic_ms();
        let real_deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            let spent = Duration::from_millis(self.clock.monotonic_ms() - started);
            assert!(
                spent < at_most && std::time::Instant::now() < real_deadline,
                "no {what} after {spent:?} of the gate's time; last status {status:#?}"
            );
            self.advance(step);
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The simulated door's lines (a gate with `[devices.door] backend = "simulated"`): the
    /// test acts as the fire panel or a passer-by.
    pub fn door_lines(&self) -> devices::turnstile::InMemoryTurnstileHandle {
        self.door_lines
            .borrow()
            .clone()
            .expect("the gate has a simulated door")
    }

    /// What the main loop showed of itself after its last wake-up.
    pub fn probe(&self) -> Probe {
        self.probe.borrow().clone()
    }

    /// Stops the daemon as SIGTERM does and waits until it has returned (every worker
    /// joined).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(daemon) = self.daemon.take() {
            self.runtime.block_on(daemon).unwrap().unwrap();
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.shutdown();
        }
    }
}

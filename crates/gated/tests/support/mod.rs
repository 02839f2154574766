//! Runs gated with simulated devices in a temporary directory, as a child process
//! ([`Gated`]: signals, kills, restarts) or in process ([`InProcess`]: a clock the test moves),
//! and talks to it over its control socket ([`Client`]). Configurations are typed values.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

pub mod browser;
mod in_process;
#[allow(unused_imports)]
pub use in_process::{EPOCH_UNIX_MS, InProcess};

use gate_config::GateConfig;
use gate_config::schema::{
    CameraConfig, CentralSection, ChipReaderConfig, DoorConfig, FingerprintConfig,
};
use gate_core::{GateProfile, TransactionId};
use gate_protocol::{Request, RequestEnvelope, Response, ResponseEnvelope, StatusReport};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shipped simulated face gate, `firmware-config/sim-face-gate.toml`.
pub fn shipped_sim_config() -> GateConfig {
    shipped("sim-face-gate.toml")
}

/// A shipped configuration, `firmware-config/NAME`, as typed values, with its screen (if
/// any) on a free port: parallel test gates cannot share the shipped one.
pub fn shipped(name: &str) -> GateConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../firmware-config")
        .join(name);
    let mut config = gate_config::load(&path)
        .unwrap_or_else(|err| panic!("{err}"))
        .config;
    if let Some(screen) = &mut config.screen {
        screen.listen.set_port(free_port());
    }
    config
}

/// A gated as seen through its socket and its state directory.
pub struct Client {
    /// The control socket.
    pub socket: PathBuf,
    /// The state directory (the outbox).
    pub state_dir: PathBuf,
    /// gated's log, when it writes one to a file.
    pub log: Option<PathBuf>,
}

/// The gated binary as a child process.
pub struct Gated {
    pub child: Child,
    /// The temporary directory, when this `Gated` owns it.
    pub owned_dir: Option<tempfile::TempDir>,
    /// Where config, socket, state and log live.
    pub root: PathBuf,
    client: Client,
}

impl std::ops::Deref for Gated {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// The simulated face gate with fast simulated devices: chip read and face capture in 40 ms,
/// the traveller through the door 60 ms after it opens.
pub fn fast_sim_config() -> GateConfig {
    sim_config_with_delays(40, 40, 60)
}

/// The simulated face gate with the given simulated device delays (milliseconds).
pub fn sim_config_with_delays(read_ms: u64, capture_ms: u64, passage_ms: u64) -> GateConfig {
    let mut config = shipped_sim_config();
    config.devices.chip_reader = Some(ChipReaderConfig::Simulated {
        read_ms,
        photo: None,
    });
    config.devices.camera = Some(CameraConfig::Simulated { capture_ms });
    config.devices.door = Some(DoorConfig::Simulated { passage_ms });
    config
}

/// A gate of `profile` with every device it needs simulated, each answering after `delay_ms`
/// (a BioCart has no door, a fingerprint gate no camera).
pub fn sim_profile_config(profile: GateProfile, delay_ms: u64) -> GateConfig {
    let mut config = sim_config_with_delays(delay_ms, delay_ms, delay_ms);
    config.gate.profile = profile;
    config.devices.fingerprint =
        (profile != GateProfile::FaceGate).then_some(FingerprintConfig::Simulated {
            placement_ms: delay_ms,
        });
    if profile == GateProfile::BioCart {
        config.devices.door = None;
    }
    if profile == GateProfile::FingerprintGate {
        config.devices.camera = None;
    }
    config
}

/// Simulated traveller number `n` of a mix for long runs: most pass; one in twenty each is an
/// impostor, has an expired document, is not enrolled (fingerprint gate), gives up half way
/// (BioCart, fingerprint gate) or has a forged document.
pub fn traveller_mix(n: usize) -> gate_protocol::SimulatedTraveller {
    use gate_protocol::{SimulatedDocument, SimulatedTraveller};
    let mut traveller = SimulatedTraveller {
        enrolled: true,
        ..SimulatedTraveller::default()
    };
    match n % 20 {
        0 => traveller.face_scores = vec![0.05],
        1 => traveller.document = SimulatedDocument::Expired,
        2 => traveller.enrolled = false,
        3 => traveller.cancel_after_steps = Some(2),
        4 => traveller.document = SimulatedDocument::Forged,
        _ => {}
    }
    traveller
}

/// Publishes list `name` with `items` (version 1) at the central at `url`.
pub fn publish_list(url: &str, name: &str, items: &[serde_json::Value]) {
    let body = serde_json::json!({ "version": 1, "items": items }).to_string();
    curl(&[
        "-X",
        "PUT",
        "-H",
        "content-type: application/json",
        "--data",
        &body,
        &format!("{url}/v1/lists/{name}"),
    ]);
}

/// `[central]` for a test central at `url` (plain http on loopback).
pub fn central_section(url: &str, batch_size: u32, max_list_age_s: u64) -> CentralSection {
    CentralSection {
        url: url.to_owned(),
        ca_file: None,
        client_cert: None,
        client_key: None,
        batch_size,
        max_list_age_s,
    }
}

impl Gated {
    pub fn start(config: &GateConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut gated = Self::start_in(dir.path(), config);
        gated.owned_dir = Some(dir);
        gated
    }

    /// Starts gated on the state kept in `root` (for restarts).
    pub fn start_in(root: &Path, config: &GateConfig) -> Self {
        Self::start_in_with_env(root, config, &[])
    }

    /// Like [`Gated::start_in`], with extra environment variables for gated.
    pub fn start_in_with_env(
        root: &Path,
        config: &GateConfig,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Self {
        let child = Self::spawn(root, config, env);
        child.wait_for_socket();
        child
    }

    /// Starts gated without waiting for its socket (for start-up failures).
    pub fn spawn(root: &Path, config: &GateConfig, env: &[(&str, &std::ffi::OsStr)]) -> Self {
        Self::spawn_via(&[], root, config, env)
    }

    /// Like [`Gated::spawn`], through `launcher` (a program and its arguments that ends by
    /// running the command it is given: `unshare`, `systemd-cat`, …), which gated replaces by
    /// exec, keeping its process id.
    pub fn spawn_via(
        launcher: &[&std::ffi::OsStr],
        root: &Path,
        config: &GateConfig,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Self {
        let config_text = config.to_toml().unwrap();
        let config = root.join("gate.toml");
        std::fs::write(&config, config_text).unwrap();
        let socket = root.join("run/control.sock");
        let state_dir = root.join("state");
        let log = root.join("gated.log");
        let gated = std::ffi::OsStr::new(env!("CARGO_BIN_EXE_gated"));
        let (program, launcher_args) = launcher.split_first().unwrap_or((&gated, &[]));
        let child = Command::new(program)
            .args(launcher_args)
            .args((!launcher.is_empty()).then_some(gated))
            .arg("--config")
            .arg(&config)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(&state_dir)
            .env("GATED_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        Gated {
            child,
            owned_dir: None,
            root: root.to_owned(),
            client: Client {
                socket,
                state_dir,
                log: Some(log),
            },
        }
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "gated did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Client {
    /// Waits (20 s at most) until the socket takes connections.
    pub fn wait_for_socket(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("gated did not open its socket; log:\n{}", self.log_text());
    }

    /// gated's log so far (empty for an in-process gated: its log goes to the test's output).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|log| std::fs::read_to_string(log).ok())
            .unwrap_or_default()
    }

    pub fn request(&self, request: Request) -> ResponseEnvelope {
        raw_exchange(
            &self.socket,
            &RequestEnvelope::new(1, request).to_line().unwrap(),
        )
    }

    pub fn ok(&self, request: Request) -> Response {
        let envelope = self.request(request);
        assert!(envelope.error.is_none(), "error: {:?}", envelope.error);
        envelope.result.unwrap()
    }

    /// Sends a simulated traveller; the transaction the gate started for them, `None` when it
    /// turned them away.
    pub fn simulate(&self, traveller: gate_protocol::SimulatedTraveller) -> Option<TransactionId> {
        match self.ok(Request::Simulate { traveller }) {
            Response::SimulationStarted { transaction_id } => transaction_id,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Sends a simulated traveller the gate must admit; their transaction.
    pub fn admit(&self, traveller: gate_protocol::SimulatedTraveller) -> TransactionId {
        self.simulate(traveller)
            .unwrap_or_else(|| panic!("traveller not admitted; log:\n{}", self.log_text()))
    }

    /// While the gate holds after a deny: a traveller is turned away, and the officer's reset
    /// frees the gate.
    pub fn officer_clears_the_hold(&self) {
        assert_eq!(
            self.simulate(gate_protocol::SimulatedTraveller::default()),
            None,
            "turned away while the gate holds"
        );
        assert_eq!(self.ok(Request::OfficerReset), Response::Done);
        assert_eq!(self.status().state, "idle");
    }

    pub fn status(&self) -> StatusReport {
        match self.ok(Request::Status) {
            Response::Status(report) => *report,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Polls the status until `done` holds (or fails after 20 s).
    pub fn wait_for(&self, what: &str, done: impl Fn(&StatusReport) -> bool) -> StatusReport {
        self.wait_for_long(what, Duration::from_secs(20), done)
    }

    /// Polls the status until `done` holds (or fails after `limit`).
    pub fn wait_for_long(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&StatusReport) -> bool,
    ) -> StatusReport {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last status {status:#?}\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Every event in the outbox database, delivered or not, as JSON envelopes (heartbeats
    /// aside: they come with time, not with travellers).
    pub fn all_outbox_events(&self) -> Vec<serde_json::Value> {
        let path = gate_config::schema::outbox_in(&self.state_dir);
        let outbox = outbox::Outbox::attach(&path, outbox::system_clock()).unwrap();
        without_heartbeats(outbox.events_after(0, 1_000_000).unwrap())
    }

    /// Events not yet delivered, as JSON (kind, payload...), heartbeats aside.
    pub fn outbox_events(&self) -> Vec<serde_json::Value> {
        let path = gate_config::schema::outbox_in(&self.state_dir);
        let outbox = outbox::Outbox::attach(&path, outbox::system_clock()).unwrap();
        without_heartbeats(outbox.pending(10_000).unwrap())
    }
}

impl Drop for Gated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The envelopes of `events` as JSON, without the gate's heartbeats.
fn without_heartbeats(events: Vec<outbox::StoredEvent>) -> Vec<serde_json::Value> {
    events
        .into_iter()
        .map(|event| serde_json::to_value(event.envelope).unwrap())
        .filter(|event| event["kind"] != "gate.heartbeat")
        .collect()
}

/// Sends one raw line and reads one response line.
pub fn raw_exchange(socket: &Path, line: &str) -> ResponseEnvelope {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(line.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).unwrap();
    gate_protocol::parse_response(answer.trim_end()).unwrap()
}

/// A binary of the workspace built beside gated (`central`, `gatectl`, `demo-bench`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_gated")).with_file_name(name);
    assert!(
        path.exists(),
        "{} not built: run the workspace tests (cargo test --workspace) or `cargo build --workspace`",
        path.display()
    );
    path
}

pub fn central_binary() -> PathBuf {
    workspace_binary("central")
}

pub struct Central {
    pub child: Child,
    pub url: String,
    pub port: u16,
}

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// central with an SQLite database in `dir`, on a free port.
pub fn start_central(dir: &Path) -> Central {
    let database = format!("sqlite:{}", dir.join("central.sqlite").display());
    start_central_on(free_port(), &database)
}

/// central on `port` with `database` (`sqlite:PATH` or `postgres://...`).
pub fn start_central_on(port: u16, database: &str) -> Central {
    let child = Command::new(central_binary())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            database,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "central did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Central {
        child,
        url: format!("http://127.0.0.1:{port}"),
        port,
    }
}

pub fn curl(args: &[&str]) -> serde_json::Value {
    let output = Command::new("curl")
        .args(["-sS", "--fail-with-body"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "curl {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

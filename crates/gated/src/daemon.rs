//! The daemon's main loop: one task owns the gate core and executes its commands.

use crate::chip_worker::{ChipReport, ChipWorker, ChipWorkerConfig, ReadDocument};
use crate::control::{self, ControlRequest};
use crate::door::{DoorDriver, DoorReport};
use crate::face_worker::{ExpectedModels, FaceWorker, FaceWorkerConfig, OperatingPointsFor};
use crate::finger_worker::{FingerWorker, FingerWorkerConfig};
use crate::hashing::DocumentHasher;
use crate::health::{DeviceRole, HealthReport, HealthSender};
use crate::samples::Sample;
use crate::sim::{SimTiming, SimulatedDevices};
use crate::systemd;
use crate::unix_ms;
use devices::turnstile::Output;
use gate_config::GateConfig;
use gate_config::operating_point::FaceOperatingPoints;
use gate_config::schema::{
    CameraConfig, ChipReaderConfig, CloneCheckRequirement, FingerprintConfig,
};
use gate_core::{
    ChipReadResult, Command, Condition, Event, Gate, GateProfile, Lights, Now, OutcomeRecord,
    Prompt, TransactionId,
};
use gate_protocol::{
    DeviceStatus, DoorLines, ErrorCode, Health, LastOutcome, Request, Response, ResponseEnvelope,
    SimulatedDocument, SimulatedTraveller, StatusReport,
};
use mrtd::authenticity::passive::PassiveAuthPolicy;
use mrtd::authenticity::trust::TrustStoreConfig;
use mrtd::authenticity::verify::{AuthenticityPolicy, Requirement};
use outbox::sync::{SyncClient, SyncConfig, SyncError, SyncSignal, TlsFiles, run_sync_loop};
use outbox::{ListFreshness, NewEvent, Outbox, OutboxConfig, OutboxError, OutboxLimits};
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{error, info, warn};

/// Where the daemon's files go, after command-line overrides.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The control socket.
    pub socket: PathBuf,
    /// The state directory (outbox database).
    pub state_dir: PathBuf,
}

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The booth's public key could not be read.
    #[error("biocart.booth_public_key_file: {0}")]
    BoothKey(outbox::handover::HandOverError),
    /// The door could not be taken over.
    #[error(transparent)]
    Door(crate::door::DoorStartError),
    /// The document hash key could not be loaded.
    #[error(transparent)]
    Key(#[from] crate::hashing::KeyError),
    /// The state directory could not be created.
    #[error("cannot create state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The outbox could not be opened at all.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The control socket could not be set up.
    #[error(transparent)]
    Control(#[from] control::ControlError),
    /// The sync client could not be built (TLS files, URL).
    #[error("central sync: {0}")]
    Sync(#[from] SyncError),
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Thread(std::io::Error),
    /// `central.ca_file` is needed for an https URL.
    #[error("central.ca_file is required for {0}")]
    MissingCa(String),
}

/// The thread that pushes events to central and pulls its lists.
struct SyncWorker {
    signal: SyncSignal,
    lists: Vec<String>,
    max_list_age: Duration,
}

/// Lists a gate of `profile` pulls from central.
fn lists_for(profile: GateProfile) -> Vec<String> {
    let mut lists = vec!["denylist".to_owned()];
    if profile == GateProfile::FingerprintGate {
        lists.push("enrolments".to_owned());
    }
    lists
}

/// Starts the sync thread on its own handle of the outbox, when `[central]` is configured.
fn start_sync(
    config: &GateConfig,
    outbox_path: &std::path::Path,
) -> Result<Option<SyncWorker>, StartError> {
    let Some(central) = &config.central else {
        return Ok(None);
    };
    let mut sync_config = SyncConfig::new(central.url.clone());
    sync_config.batch_size = central.batch_size as usize;
    sync_config.lists = lists_for(config.gate.profile);
    if central.url.starts_with("https://") {
        let ca_certs = central
            .ca_file
            .clone()
            .ok_or_else(|| StartError::MissingCa(central.url.clone()))?;
        sync_config.tls = Some(TlsFiles {
            ca_certs,
            client_cert: central.client_cert.clone(),
            client_key: central.client_key.clone(),
        });
    }
    let client = SyncClient::new(&sync_config)?;
    let mut handle = Outbox::attach(outbox_path, outbox::system_clock())?;
    let signal = SyncSignal::new();
    let thread_signal = signal.clone();
    let lists = sync_config.lists.clone();
    std::thread::Builder::new()
        .name("sync".into())
        .spawn(move || run_sync_loop(&client, &sync_config, &mut handle, &thread_signal))
        .map_err(StartError::Thread)?;
    info!(url = %central.url, "syncing with central");
    Ok(Some(SyncWorker {
        signal,
        lists,
        max_list_age: Duration::from_secs(central.max_list_age_s),
    }))
}

struct DoorState {
    unlocked: bool,
    lights: Lights,
    fault: Option<String>,
    /// Outputs as last driven and inputs as last reported, by line name.
    lines: DoorLines,
    /// End of a technician's door pulse in progress.
    pulse_until: Option<Instant>,
    /// The door sensors fitted (shown in the status).
    fitted: gate_core::turnstile::FittedSensors,
}

struct Daemon {
    config: GateConfig,
    gate: Gate,
    started: Instant,
    hasher: DocumentHasher,
    sim: SimulatedDevices,
    chip: Option<ChipWorker>,
    face: Option<FaceWorker>,
    finger: Option<FingerWorker>,
    /// The document hash of the transaction in progress (from its chip read).
    document: Option<(TransactionId, gate_core::DocumentHash)>,
    /// The enrolled templates of the transaction in progress (fingerprint gate).
    enrolment: Option<(TransactionId, EnrolledFingers)>,
    /// The document data of the transaction in progress (BioCart booth record only).
    document_data: Option<(TransactionId, outbox::handover::DocumentData)>,
    /// Biometric samples of the transaction in progress (BioCart).
    samples: Vec<Sample>,
    /// The booth the BioCart's records are sealed to.
    booth: Option<(String, outbox::handover::BoothPublicKey, Duration)>,
    /// Transaction durations of the current throughput period.
    throughput: Throughput,
    device_health: HashMap<DeviceRole, (Health, String)>,
    door_driver: DoorDriver,
    sync: Option<SyncWorker>,
    outbox: Outbox,
    outbox_problem: Option<String>,
    unrecorded: Vec<OutcomeRecord>,
    door: DoorState,
    display: Prompt,
    last_outcome: Option<LastOutcome>,
    span: Option<(TransactionId, tracing::Span)>,
}

/// Transaction durations of one throughput period.
struct Throughput {
    period_start_ms: i64,
    durations_ms: Vec<u64>,
}

impl Throughput {
    fn new(period_start_ms: i64) -> Self {
        Self {
            period_start_ms,
            durations_ms: Vec::new(),
        }
    }
}

/// Enrolled fingers and their templates (zeroised on drop).
type EnrolledFingers = Vec<(gate_core::Finger, zeroize::Zeroizing<Vec<u8>>)>;

/// The transaction a command belongs to, if any.
fn command_transaction(command: &Command) -> Option<TransactionId> {
    match command {
        Command::ReadChip { transaction_id }
        | Command::CaptureFace { transaction_id, .. }
        | Command::CaptureFinger { transaction_id, .. }
        | Command::CaptureFacePhoto { transaction_id, .. }
        | Command::LookupEnrolment { transaction_id }
        | Command::HandOverRecord { transaction_id }
        | Command::UnlockDoor { transaction_id, .. }
        | Command::DiscardTransactionData { transaction_id } => Some(*transaction_id),
        Command::RecordOutcome { record } => Some(record.transaction_id),
        Command::CallOfficer { transaction_id, .. } => *transaction_id,
        Command::Show { .. } | Command::SetLights { .. } | Command::LockDoor => None,
    }
}

/// Whether `hash` is on the down-synced denylist; a failed lookup counts as a hit (fail safe).
fn on_denylist(outbox: &Outbox, hash: &gate_core::DocumentHash) -> bool {
    outbox
        .list_contains("denylist", &serde_json::Value::String(hash.to_hex()))
        .unwrap_or_else(|err| {
            error!(error = %err, "denylist lookup failed: treating as a hit");
            true
        })
}

fn backend_name<T: serde::Serialize>(device: &T) -> String {
    serde_json::to_value(device)
        .ok()
        .and_then(|v| v.get("backend").and_then(|b| b.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The document reader's settings when the chip reader is real.
fn chip_worker_config(config: &GateConfig) -> Option<ChipWorkerConfig> {
    match config.devices.chip_reader.as_ref()? {
        ChipReaderConfig::Simulated { .. } => None,
        ChipReaderConfig::Pcsc {
            reader,
            mrz_scanner,
            allow_bac,
            card_wait_ms,
        } => Some(ChipWorkerConfig {
            reader: reader.clone(),
            scanner_port: mrz_scanner.port.clone(),
            scanner_baud: mrz_scanner.baud,
            card_wait: Duration::from_millis(*card_wait_ms),
            allow_bac: *allow_bac,
            trust: config.trust.as_ref().map(|trust| TrustStoreConfig {
                csca_paths: trust.csca.clone(),
                master_list_paths: trust.master_lists.clone(),
                master_list_signer_paths: trust.master_list_signers.clone(),
                crl_paths: trust.crls.clone(),
            }),
            authenticity: AuthenticityPolicy {
                passive: PassiveAuthPolicy {
                    require_crl: config.trust.as_ref().is_some_and(|t| t.require_crl),
                },
                chip_authentication: requirement(
                    config.trust.as_ref().map(|t| t.chip_authentication),
                ),
                active_authentication: requirement(
                    config.trust.as_ref().map(|t| t.active_authentication),
                ),
            },
        }),
    }
}

fn requirement(configured: Option<CloneCheckRequirement>) -> Requirement {
    match configured.unwrap_or_default() {
        CloneCheckRequirement::Never => Requirement::Never,
        CloneCheckRequirement::IfAvailable => Requirement::IfAvailable,
        CloneCheckRequirement::Required => Requirement::Required,
    }
}

/// The face worker's settings when the camera is real (V4L2 or a frame folder).
fn face_worker_config(config: &GateConfig) -> Option<FaceWorkerConfig> {
    let section = config.face.as_ref()?;
    let camera = match config.devices.camera.as_ref()? {
        CameraConfig::Simulated { .. } => return None,
        CameraConfig::V4l2 {
            device,
            format,
            width,
            height,
            fps,
        } => devices::camera::CameraConfig {
            backend: devices::camera::CameraBackend::V4l2,
            device: device.clone(),
            formats: vec![match format {
                gate_config::schema::PixelFormat::Mjpeg => devices::camera::PixelFormat::Mjpeg,
                gate_config::schema::PixelFormat::Yuyv => devices::camera::PixelFormat::Yuyv,
            }],
            width: *width,
            height: *height,
            fps: *fps,
        },
        CameraConfig::Frames { dir, fps } => devices::camera::CameraConfig {
            backend: devices::camera::CameraBackend::FrameSequence,
            device: dir.clone(),
            formats: Vec::new(),
            width: 0,
            height: 0,
            fps: *fps,
        },
    };
    let mut engine = face::FaceConfig {
        onnxruntime_library: Some(section.onnxruntime.clone()),
        detector: section.detector.clone(),
        embedder: section.embedder.clone(),
        attack: section.attack.clone(),
        intra_op_threads: usize::from(section.threads),
        ..face::FaceConfig::with_models_dir(Path::new("models"))
    };
    // The core decides on the score with the policy's thresholds, resolved by the configuration
    // from the operating point through the calibration of these very model files; the worker
    // checks after loading that the engine loaded the files they were resolved for.
    let operating_points = match &config.face_operating_points {
        FaceOperatingPoints::Resolved { matching, attack } => {
            engine.match_threshold = Some(matching.threshold);
            engine.attack_threshold = attack.as_ref().map(|a| a.threshold);
            Ok(ExpectedModels {
                embedder_sha256: matching.model_sha256.clone(),
                attack_sha256: attack.as_ref().map(|a| a.model_sha256.clone()),
            })
        }
        FaceOperatingPoints::Unavailable { reason } => Err(reason.clone()),
        FaceOperatingPoints::NotUsed => {
            // A BioCart takes photos and matches nothing: no decision thresholds.
            engine.match_threshold = None;
            engine.attack_threshold = None;
            Err(String::new())
        }
    };
    Some(FaceWorkerConfig {
        engine,
        camera,
        burst_frames: usize::from(section.burst_frames),
        operating_points: match operating_points {
            Ok(expected) => OperatingPointsFor::Matching(expected),
            Err(reason) if reason.is_empty() => OperatingPointsFor::PhotosOnly,
            Err(reason) => OperatingPointsFor::Unavailable(reason),
        },
    })
}

/// Opens the outbox; a corrupt database is moved aside, a fresh one opened, and the gate put in
/// safe mode (the returned problem raises [`Condition::OutboxCorrupt`]).
fn open_outbox(
    config: &GateConfig,
    state_dir: &std::path::Path,
) -> Result<(Outbox, Option<String>), StartError> {
    std::fs::create_dir_all(state_dir).map_err(|source| StartError::StateDir {
        path: state_dir.to_owned(),
        source,
    })?;
    let max_bytes = config.storage.outbox_max_mb * 1024 * 1024;
    let limits = OutboxLimits {
        max_bytes,
        high_water_bytes: max_bytes / 10 * 9,
        delivered_retention: Duration::from_secs(u64::from(config.storage.retention_days) * 86_400),
    };
    let path = state_dir.join("outbox.sqlite");
    let outbox_config = OutboxConfig::new(config.gate.id.clone(), limits);
    match Outbox::open(&path, outbox_config.clone()) {
        Ok(outbox) => Ok((outbox, None)),
        Err(err @ OutboxError::Corrupt { .. }) => {
            error!(error = %err, "outbox database corrupt: safe mode");
            let outbox = Outbox::open(&path, outbox_config)?;
            Ok((outbox, Some(err.to_string())))
        }
        Err(err) => Err(err.into()),
    }
}

/// Runs the daemon until `shutdown` resolves; then locks the door, records the transaction in
/// progress as aborted and returns.
pub async fn run(
    config: GateConfig,
    paths: Paths,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let hasher = match &config.privacy.document_hash_key_file {
        Some(path) => DocumentHasher::from_file(path)?,
        None => {
            warn!("no privacy.document_hash_key_file: using a random key for this run (demo only)");
            DocumentHasher::ephemeral()?
        }
    };
    let (outbox, outbox_problem) = open_outbox(&config, &paths.state_dir)?;
    let sync = start_sync(&config, outbox.path())?;
    let (events_tx, mut events_rx) = mpsc::channel::<Event>(256);
    let (control_tx, mut control_rx) = mpsc::channel::<ControlRequest>(64);
    let (door_tx, mut door_rx) = mpsc::channel::<DoorReport>(64);
    let (health_tx, mut health_rx) = mpsc::channel::<HealthReport>(64);
    let health = HealthSender::new(health_tx);
    let (samples_tx, mut samples_rx) = mpsc::channel::<Sample>(16);
    let profile = config.gate.profile;
    // The simulated door is the in-memory turnstile behind the same trait as the GPIO backends;
    // the door thread drives its outputs to the safe state before anything else happens.
    let door_io_config = crate::door::io_config(config.devices.door.as_ref());
    let machine = door_io_config
        .machine_config()
        .map_err(|err| StartError::Door(err.into()))?;
    let (door_io, door_handle) = crate::door::open(&door_io_config).map_err(StartError::Door)?;
    let fitted = machine.sensors;
    let door_driver = DoorDriver::spawn(door_io, machine, door_tx).map_err(StartError::Door)?;
    let sim = SimulatedDevices::new(
        SimTiming::from_config(&config),
        events_tx.clone(),
        door_handle,
        profile == GateProfile::FingerprintGate,
    );
    match &config.face_operating_points {
        FaceOperatingPoints::Resolved { matching, attack } => {
            info!(operating_point = %matching, "face match threshold");
            match attack {
                Some(attack) => info!(operating_point = %attack, "face attack threshold"),
                None => warn!("no attack model: presentation attacks are not checked"),
            }
        }
        FaceOperatingPoints::Unavailable { reason } => {
            error!(%reason, "face thresholds unresolved: the gate refuses travellers");
        }
        FaceOperatingPoints::NotUsed => {}
    }
    let face = match face_worker_config(&config) {
        Some(face_config) => Some(
            FaceWorker::spawn(
                face_config,
                events_tx.clone(),
                samples_tx.clone(),
                health.clone(),
            )
            .map_err(StartError::Thread)?,
        ),
        None => None,
    };
    let (chip_tx, mut chip_rx) = mpsc::channel::<ChipReport>(16);
    let booth = match &config.biocart {
        Some(biocart) => Some((
            biocart.booth_id.clone(),
            outbox::handover::BoothPublicKey::from_file(&biocart.booth_public_key_file)
                .map_err(StartError::BoothKey)?,
            Duration::from_secs(u64::from(biocart.handover_ttl_hours) * 3_600),
        )),
        None => None,
    };
    let chip = match chip_worker_config(&config) {
        Some(chip_config) => Some(
            ChipWorker::spawn(chip_config, chip_tx, health.clone()).map_err(StartError::Thread)?,
        ),
        None => None,
    };
    let finger = match &config.devices.fingerprint {
        Some(FingerprintConfig::R30x {
            port,
            baud,
            address,
            password,
        }) => Some(
            FingerWorker::spawn(
                FingerWorkerConfig {
                    port: port.clone(),
                    baud: *baud,
                    // Not configured: the module's factory values.
                    address: address.unwrap_or(devices::fingerprint::r30x::FACTORY_ADDRESS),
                    password: password.unwrap_or(devices::fingerprint::r30x::FACTORY_PASSWORD),
                    placement_timeout: Duration::from_millis(
                        config.policy.fingerprint.capture_timeout_ms,
                    ),
                },
                events_tx.clone(),
                samples_tx.clone(),
                health.clone(),
            )
            .map_err(StartError::Thread)?,
        ),
        _ => None,
    };
    let mut device_health = HashMap::new();
    if finger.is_some() {
        device_health.insert(
            DeviceRole::Fingerprint,
            (Health::Down, "starting: opening the module".to_owned()),
        );
    }
    if chip.is_some() {
        device_health.insert(
            DeviceRole::ChipReader,
            (
                Health::Down,
                "starting: opening scanner and reader".to_owned(),
            ),
        );
    }
    if face.is_some() {
        // Down until the worker has loaded its models and seen a frame.
        device_health.insert(
            DeviceRole::Camera,
            (Health::Down, "starting: loading face models".to_owned()),
        );
    }
    let gate = Gate::new(profile, config.policy.clone());
    let mut daemon = Daemon {
        gate,
        started: Instant::now(),
        hasher,
        sim,
        chip,
        face,
        finger,
        document: None,
        enrolment: None,
        document_data: None,
        samples: Vec::new(),
        booth,
        throughput: Throughput::new(unix_ms()),
        device_health,
        door_driver,
        sync,
        outbox,
        outbox_problem,
        unrecorded: Vec::new(),
        door: DoorState {
            unlocked: true,
            lights: Lights::Off,
            fault: None,
            lines: DoorLines::default(),
            pulse_until: None,
            fitted,
        },
        display: Prompt::OutOfService,
        last_outcome: None,
        span: None,
        config,
    };
    // Outputs to their safe state before anything else.
    for command in daemon.gate.start() {
        daemon.execute(command);
    }
    // Lists are checked before the first traveller: a gate that never synced refuses.
    daemon.check_lists();
    let starting: Vec<DeviceRole> = daemon.device_health.keys().copied().collect();
    for role in starting {
        daemon.feed(Event::ConditionRaised {
            condition: role.condition(),
        });
    }
    if daemon.outbox_problem.is_some() {
        daemon.feed(Event::ConditionRaised {
            condition: Condition::OutboxCorrupt,
        });
    }
    let (listener, access) = control::bind(
        &paths.socket,
        daemon.config.control_mode,
        daemon.config.control.group.as_deref(),
    )?;
    let server = tokio::spawn(control::serve(listener, access, control_tx));
    info!(
        gate = %daemon.config.gate.id,
        profile = profile.as_str(),
        socket = %paths.socket.display(),
        "gated ready"
    );
    systemd::ready(&format!("{} ready", daemon.config.gate.id));

    let mut watchdog = tokio::time::interval(systemd::watchdog_period());
    let mut housekeeping = tokio::time::interval(Duration::from_secs(2));
    let autopilot_ms = daemon.config.simulation.autopilot_interval_ms;
    let mut autopilot = tokio::time::interval(Duration::from_millis(autopilot_ms.max(1_000)));
    autopilot.tick().await;
    // SIGHUP (`systemctl reload gated`) reloads the document trust store.
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(err) => {
            warn!(error = %err, "no SIGHUP handler: trust store reload needs a restart");
            None
        }
    };
    tokio::pin!(shutdown);
    loop {
        let deadline = daemon
            .gate
            .next_deadline()
            .map(|ms| daemon.started + Duration::from_millis(ms));
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(event) = events_rx.recv() => daemon.feed(event),
            Some(report) = door_rx.recv() => daemon.door_report(report),
            Some(report) = health_rx.recv() => daemon.health_report(report),
            Some(report) = chip_rx.recv() => daemon.chip_report(report),
            Some(sample) = samples_rx.recv() => daemon.sample(sample),
            Some(request) = control_rx.recv() => {
                let answer = daemon.control(request.id, request.request);
                let _ = request.reply.send(answer);
            }
            () = sleep_until(deadline) => daemon.feed(Event::Tick),
            () = sleep_until(daemon.door.pulse_until) => daemon.end_door_pulse(),
            Some(()) = next_hangup(&mut hangup) => {
                info!("SIGHUP: reloading the trust store");
                if let Some(chip) = &daemon.chip {
                    chip.reload_trust();
                }
            }
            _ = watchdog.tick() => systemd::watchdog(),
            _ = housekeeping.tick() => daemon.housekeeping(),
            _ = autopilot.tick(), if autopilot_ms > 0 => daemon.autopilot(),
        }
    }
    info!("stopping");
    systemd::stopping();
    daemon.feed(Event::Shutdown);
    daemon.retry_unrecorded();
    daemon.door_driver.stop();
    if let Some(chip) = daemon.chip.take() {
        chip.stop();
    }
    if let Some(finger) = daemon.finger.take() {
        finger.stop();
    }
    if let Some(face) = daemon.face.take() {
        // The worker may be in the middle of a burst; it answers the stop after it.
        drop(health_rx);
        face.stop();
    }
    if let Some(sync) = &daemon.sync {
        sync.signal.stop();
    }
    server.abort();
    let _ = std::fs::remove_file(&paths.socket);
    info!("stopped");
    Ok(())
}

/// Whether the lock release output is asserted, per the turnstile's status.
fn lock_released(status: &gate_core::turnstile::TurnstileStatus) -> Option<bool> {
    status
        .outputs
        .iter()
        .find(|(output, _)| *output == gate_core::turnstile::TurnstileOutput::LockRelease)
        .and_then(|(_, level)| *level)
}

async fn next_hangup(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Daemon {
    fn now(&self) -> Now {
        let mono = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Now::new(mono, unix_ms())
    }

    fn feed(&mut self, event: Event) {
        if let Event::ChipRead {
            transaction_id,
            result: ChipReadResult::Read { facts, .. },
        } = &event
        {
            self.document = Some((*transaction_id, facts.hash));
        }
        let now = self.now();
        let commands = self.gate.handle(now, event);
        // One span per traveller transaction: every line logged while executing its commands
        // carries the random transaction id (and nothing personal).
        let span = commands
            .iter()
            .find_map(command_transaction)
            .map(|id| self.transaction_span(id))
            .unwrap_or_else(tracing::Span::none);
        let _entered = span.enter();
        for command in commands {
            self.execute(command);
        }
    }

    fn transaction_span(&mut self, id: TransactionId) -> tracing::Span {
        match &self.span {
            Some((current, span)) if *current == id => span.clone(),
            _ => {
                let span = tracing::info_span!("transaction", id = %id);
                self.span = Some((id, span.clone()));
                span
            }
        }
    }

    fn execute(&mut self, command: Command) {
        match command {
            Command::Show { prompt } => {
                self.display = prompt;
                info!(?prompt, "display");
            }
            Command::SetLights { lights } => {
                self.door.lights = lights;
                self.door_driver.indicate(lights);
                info!(?lights, "lights");
            }
            Command::ReadChip { transaction_id } => {
                info!("reading chip");
                if let Some(chip) = &self.chip {
                    chip.read(transaction_id);
                    return;
                }
                let outbox = &self.outbox;
                self.sim.read_chip(transaction_id, &self.hasher, |hash| {
                    on_denylist(outbox, hash)
                });
                self.hand_simulated_photo(transaction_id);
            }
            Command::CaptureFace {
                transaction_id,
                attempt,
            } => {
                info!(attempt, "capturing face");
                match &self.face {
                    Some(face) => face.capture(transaction_id, attempt),
                    None => self.sim.capture_face(transaction_id),
                }
            }
            Command::CaptureFinger {
                transaction_id,
                finger,
                attempt,
            } => {
                info!(?finger, attempt, "capturing finger");
                self.capture_finger(transaction_id, finger);
            }
            Command::CaptureFacePhoto {
                transaction_id,
                attempt,
            } => {
                info!(attempt, "capturing face photo");
                match &self.face {
                    Some(face) => face.photo(transaction_id),
                    None => self.sim.capture_face_photo(transaction_id),
                }
            }
            Command::LookupEnrolment { transaction_id } => {
                if self.finger.is_some() {
                    self.lookup_enrolment(transaction_id);
                } else {
                    self.sim.lookup_enrolment(transaction_id);
                }
            }
            Command::HandOverRecord { transaction_id } => {
                let ok = self.hand_over(transaction_id);
                self.feed(Event::RecordHandedOver { transaction_id, ok });
            }
            Command::UnlockDoor {
                transaction_id,
                for_ms,
            } => {
                self.door_driver
                    .authorise(transaction_id, Duration::from_millis(for_ms));
                info!(for_ms, "door: passage authorised");
            }
            Command::LockDoor => {
                self.door.pulse_until = None;
                self.lock_door_now();
                self.sim.door_locked();
            }
            Command::CallOfficer {
                transaction_id,
                reasons,
            } => {
                let reasons: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
                warn!(transaction = ?transaction_id, ?reasons, "officer called");
            }
            Command::RecordOutcome { record } => {
                info!(
                    transaction = %record.transaction_id,
                    outcome = ?record.outcome,
                    reasons = ?record.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    total_ms = record.timings.total_ms,
                    "transaction ended"
                );
                self.throughput.durations_ms.push(record.timings.total_ms);
                self.last_outcome = Some(LastOutcome {
                    transaction_id: record.transaction_id,
                    outcome: record.outcome,
                    reasons: record.reasons.clone(),
                    ended_at_unix_ms: record.ended_at_unix_ms,
                });
                if let Err(err) = self.record(&record) {
                    error!(error = %err, transaction = %record.transaction_id, "outcome not yet durable; kept in memory and retried");
                    self.unrecorded.push(record);
                    self.feed(Event::ConditionRaised {
                        condition: Condition::OutboxFull,
                    });
                }
            }
            Command::DiscardTransactionData { transaction_id } => {
                self.sim.discard(transaction_id);
                if let Some(face) = &self.face {
                    face.discard(transaction_id);
                }
                if let Some(chip) = &self.chip {
                    chip.discard(transaction_id);
                }
                if self.document.is_some_and(|(id, _)| id == transaction_id) {
                    self.document = None;
                }
                if self
                    .enrolment
                    .as_ref()
                    .is_some_and(|(id, _)| *id == transaction_id)
                {
                    self.enrolment = None;
                }
                if self
                    .document_data
                    .as_ref()
                    .is_some_and(|(id, _)| *id == transaction_id)
                {
                    self.document_data = None;
                }
                self.samples
                    .retain(|s| s.transaction_id() != transaction_id);
            }
        }
    }

    /// Gives the face worker the simulated chip's photo, when the configuration has one.
    fn hand_simulated_photo(&mut self, transaction_id: TransactionId) {
        let (
            Some(face),
            Some(ChipReaderConfig::Simulated {
                photo: Some(path), ..
            }),
        ) = (&self.face, &self.config.devices.chip_reader)
        else {
            return;
        };
        match std::fs::read(path) {
            Ok(bytes) => face.set_reference(transaction_id, zeroize::Zeroizing::new(bytes)),
            Err(err) => {
                error!(error = %err, path = %path.display(), "simulated chip photo unreadable")
            }
        }
    }

    /// Looks the document's enrolment up in the down-synced `enrolments` list: items
    /// `{"document_hash": HEX, "fingers": [{"finger": "right_index", "template": HEX}]}`.
    fn lookup_enrolment(&mut self, transaction_id: TransactionId) {
        let mut fingers = Vec::new();
        if let Some((_, hash)) = self.document.filter(|(id, _)| *id == transaction_id) {
            let wanted = hash.to_hex();
            match self.outbox.list_items("enrolments") {
                Ok(items) => {
                    for item in items
                        .iter()
                        .filter(|item| item["document_hash"].as_str() == Some(wanted.as_str()))
                    {
                        for entry in item["fingers"].as_array().into_iter().flatten() {
                            let finger = serde_json::from_value::<gate_core::Finger>(
                                entry["finger"].clone(),
                            );
                            let template =
                                entry["template"].as_str().and_then(|t| hex::decode(t).ok());
                            match (finger, template) {
                                (Ok(finger), Some(template)) => {
                                    fingers.push((finger, zeroize::Zeroizing::new(template)));
                                }
                                _ => warn!("malformed enrolment entry skipped"),
                            }
                        }
                    }
                }
                Err(err) => {
                    error!(error = %err, "enrolment lookup failed: treated as not enrolled")
                }
            }
        }
        let listed: Vec<gate_core::Finger> = fingers.iter().map(|(finger, _)| *finger).collect();
        info!(fingers = listed.len(), "enrolment looked up");
        self.enrolment = Some((transaction_id, fingers));
        self.feed(Event::EnrolmentLookedUp {
            transaction_id,
            fingers: listed,
        });
    }

    /// One finger placement: 1:1 verification on the fingerprint gate, image capture on the
    /// BioCart; the simulator when the module is simulated.
    fn capture_finger(&mut self, transaction_id: TransactionId, finger: gate_core::Finger) {
        let Some(worker) = &self.finger else {
            self.sim.capture_finger(transaction_id, finger);
            return;
        };
        if self.config.gate.profile != GateProfile::FingerprintGate {
            worker.capture(transaction_id, finger);
            return;
        }
        let template = self
            .enrolment
            .as_ref()
            .filter(|(id, _)| *id == transaction_id)
            .and_then(|(_, fingers)| fingers.iter().find(|(f, _)| *f == finger))
            .map(|(_, template)| template.clone());
        match template {
            Some(template) => worker.verify(transaction_id, finger, template),
            None => {
                // The core only asks for enrolled fingers; answer as a failed placement.
                warn!(?finger, "no enrolled template for this finger");
                self.feed(Event::FingerCaptured {
                    transaction_id,
                    finger,
                    attempt: gate_core::FingerAttempt::NoFinger,
                });
            }
        }
    }

    /// Turns the document reader's reports into core events.
    fn chip_report(&mut self, report: ChipReport) {
        match report {
            ChipReport::Presented { transaction_id } => {
                self.feed(Event::DocumentPresented { transaction_id });
                if self.gate.current_transaction() != Some(transaction_id)
                    && let Some(chip) = &self.chip
                {
                    // Refused (busy, out of service): the reader takes the next document.
                    chip.discard(transaction_id);
                }
            }
            ChipReport::Read {
                transaction_id,
                result,
            } => {
                let result = match result {
                    Ok(document) => self.chip_facts(transaction_id, *document),
                    Err(reason) => ChipReadResult::Failed { reason },
                };
                self.feed(Event::ChipRead {
                    transaction_id,
                    result,
                });
            }
        }
    }

    /// Hashes the document number, looks the hash up in the denylist and hands the photo to
    /// the face worker; the document number is dropped (zeroised) here.
    fn chip_facts(
        &mut self,
        transaction_id: TransactionId,
        document: ReadDocument,
    ) -> ChipReadResult {
        let hash = self
            .hasher
            .hash(&document.issuing_state, &document.document_number);
        let denylisted = on_denylist(&self.outbox, &hash);
        if self.config.gate.profile == GateProfile::BioCart {
            self.document_data = Some((
                transaction_id,
                outbox::handover::DocumentData {
                    document_code: document.document_code.clone(),
                    issuing_state: document.issuing_state.clone(),
                    document_number: document.document_number.to_string(),
                    nationality: document.nationality.clone(),
                    primary_identifier: document.primary_identifier.to_string(),
                    secondary_identifier: document.secondary_identifier.to_string(),
                    date_of_birth: document.birth_date_mrz.to_string(),
                },
            ));
        }
        if let (Some(face), Some(photo)) = (&self.face, document.photo) {
            face.set_reference(transaction_id, photo);
        }
        ChipReadResult::Read {
            facts: gate_core::DocumentFacts {
                hash,
                document_code: document.document_code,
                issuing_state: document.issuing_state,
                nationality: document.nationality,
                birth_date: document.birth_date,
                expiry_date: document.expiry_date,
            },
            authenticity: document.authenticity,
            denylisted,
        }
    }

    /// Records a device's health and raises or clears its out-of-service condition.
    fn health_report(&mut self, report: HealthReport) {
        let condition = report.role.condition();
        let down = report.health == Health::Down;
        self.device_health
            .insert(report.role, (report.health, report.detail));
        let raised = self.gate.snapshot().conditions.contains(&condition);
        if down && !raised {
            self.feed(Event::ConditionRaised { condition });
        } else if !down && raised {
            self.feed(Event::ConditionCleared { condition });
        }
    }

    /// A technician's door pulse: only in maintenance mode, with no traveller at the gate.
    fn start_door_pulse(&mut self, ms: u32) -> Result<(), (ErrorCode, String)> {
        if !(100..=10_000).contains(&ms) {
            return Err((
                ErrorCode::BadRequest,
                format!("pulse of {ms} ms is outside 100..=10000"),
            ));
        }
        let snapshot = self.gate.snapshot();
        if !snapshot.conditions.contains(&Condition::Maintenance) {
            return Err((
                ErrorCode::NotAvailable,
                "a door pulse needs maintenance mode first (gatectl maintenance on)".into(),
            ));
        }
        if self.gate.current_transaction().is_some() {
            return Err((
                ErrorCode::NotAvailable,
                "a traveller's transaction is in progress".into(),
            ));
        }
        let payload = serde_json::json!({ "ms": ms });
        if let Err(err) = self.outbox.append(&NewEvent {
            kind: "door.manual_release",
            occurred_at_ms: unix_ms(),
            payload: &payload,
        }) {
            // An unrecorded manual release must not happen.
            return Err((
                ErrorCode::Internal,
                format!("the release could not be recorded: {err}"),
            ));
        }
        warn!(
            ms,
            "door: lock released by a technician (maintenance pulse)"
        );
        let duration = Duration::from_millis(u64::from(ms));
        self.door.pulse_until = Some(Instant::now() + duration);
        // A pulse is an authorisation of its own: one passage is credited, a second is
        // tailgating, exactly as for a traveller.
        self.door_driver
            .authorise(TransactionId(rand::random()), duration);
        Ok(())
    }

    /// Ends a technician's door pulse (timer or `gatectl door lock`).
    fn end_door_pulse(&mut self) {
        if self.door.pulse_until.take().is_some() {
            info!("door: maintenance pulse over");
            self.lock_door_now();
        }
    }

    /// Engages the lock and waits (briefly) until the door thread confirms it, so that what
    /// follows (the outcome record) happens with the door locked.
    fn lock_door_now(&mut self) {
        self.door_driver.lock();
        match self.door_driver.status() {
            Some(status) if lock_released(&status) == Some(false) => {
                self.door.unlocked = false;
                info!("door: lock engaged");
            }
            Some(_) => {
                warn!("door: lock engaged by the machine, but a fire alarm holds it released")
            }
            None => error!("door: the door thread did not confirm the lock"),
        }
    }

    /// The door's lines as the door thread sees them now.
    fn door_now(&self) -> (bool, DoorLines) {
        let Some(status) = self.door_driver.status() else {
            return (self.door.unlocked, self.door.lines.clone());
        };
        let outputs = status
            .outputs
            .iter()
            .filter_map(|(output, level)| {
                level.map(|level| {
                    (
                        devices::turnstile::output_of(*output).name().to_owned(),
                        level,
                    )
                })
            })
            .collect();
        let sensors = status.sensors;
        let inputs = gate_core::turnstile::Sensor::ALL
            .into_iter()
            .filter(|sensor| self.door.fitted.has(*sensor))
            .map(|sensor| {
                let active = match sensor {
                    gate_core::turnstile::Sensor::DoorClosed => sensors.door_closed,
                    gate_core::turnstile::Sensor::EntryBeam => sensors.entry_beam,
                    gate_core::turnstile::Sensor::ExitBeam => sensors.exit_beam,
                    gate_core::turnstile::Sensor::FireAlarm => sensors.fire_alarm,
                    gate_core::turnstile::Sensor::Tamper => sensors.tamper,
                };
                (
                    devices::turnstile::input_of(sensor).name().to_owned(),
                    active,
                )
            })
            .collect();
        (
            lock_released(&status).unwrap_or(self.door.unlocked),
            DoorLines { outputs, inputs },
        )
    }

    /// Applies what the door thread reports: outputs for the status, turnstile events to the
    /// core (passage, alarms, fire, tamper) and to the outbox (alarms), faults as a condition.
    fn door_report(&mut self, report: DoorReport) {
        let DoorReport::Step(step) = report;
        for (output, active) in &step.applied {
            self.door
                .lines
                .outputs
                .insert(output.name().to_owned(), *active);
            if *output == Output::LockRelease {
                self.door.unlocked = *active;
                if *active {
                    info!("door: lock released");
                } else {
                    tracing::debug!("door: lock line off");
                }
            }
        }
        for event in &step.events {
            if event.alarm().is_some() {
                warn!(?event, "door alarm");
                let payload = serde_json::to_value(event).unwrap_or_default();
                if let Err(err) = self.outbox.append(&NewEvent {
                    kind: "door.alarm",
                    occurred_at_ms: unix_ms(),
                    payload: &payload,
                }) {
                    error!(error = %err, "door alarm not recorded");
                }
            } else {
                info!(?event, "door");
            }
            if let gate_core::turnstile::TurnstileEvent::Unlocked { transaction_id } = event
                && self.gate.current_transaction() == Some(*transaction_id)
            {
                // A simulated traveller walks once the lock is really released (not for a
                // technician's pulse: nobody is there).
                self.sim.door_unlocked(*transaction_id);
            }
            if let Some(gate_event) = event.gate_event() {
                self.feed(gate_event);
            }
        }
        if !step.faults.is_empty() {
            let fault = step
                .faults
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            error!(%fault, "door fault");
            self.door.fault = Some(fault);
            self.feed(Event::ConditionRaised {
                condition: Condition::DoorFault,
            });
        }
    }

    fn record(&mut self, record: &OutcomeRecord) -> Result<(), OutboxError> {
        let payload =
            serde_json::to_value(record).map_err(|err| OutboxError::Config(err.to_string()))?;
        self.outbox.append(&NewEvent {
            kind: "transaction.outcome",
            occurred_at_ms: record.ended_at_unix_ms,
            payload: &payload,
        })?;
        if let Some(sync) = &self.sync {
            sync.signal.notify();
        }
        Ok(())
    }

    /// Records the throughput of the period just ended (travellers, per hour, time per
    /// traveller) so the agency can publish waiting times; starts the next period.
    fn report_throughput(&mut self) {
        let now = unix_ms();
        let period = std::mem::replace(&mut self.throughput, Throughput::new(now));
        let mut durations = period.durations_ms;
        durations.sort_unstable();
        let travellers = durations.len();
        let span_ms = (now - period.period_start_ms).max(1);
        let percentile =
            |p: usize| (!durations.is_empty()).then(|| durations[(durations.len() - 1) * p / 100]);
        let payload = serde_json::json!({
            "gate_id": self.config.gate.id,
            "profile": self.config.gate.profile.as_str(),
            "period_start_ms": period.period_start_ms,
            "period_end_ms": now,
            "travellers": travellers,
            "travellers_per_hour": (travellers as f64) * 3_600_000.0 / (span_ms as f64),
            "mean_ms": (travellers > 0).then(|| durations.iter().sum::<u64>() / travellers as u64),
            "p50_ms": percentile(50),
            "p90_ms": percentile(90),
        });
        if let Err(err) = self.outbox.append(&NewEvent {
            kind: "gate.throughput",
            occurred_at_ms: now,
            payload: &payload,
        }) {
            warn!(error = %err, "throughput figures not recorded");
        }
    }

    /// Keeps a BioCart sample of the transaction in progress (others are dropped, wiped).
    fn sample(&mut self, sample: Sample) {
        if self.gate.current_transaction() == Some(sample.transaction_id()) {
            // A retaken finger or photo replaces the earlier one.
            let replaces = |held: &Sample| match (held, &sample) {
                (Sample::Finger { finger: a, .. }, Sample::Finger { finger: b, .. }) => a == b,
                (Sample::FacePhoto { .. }, Sample::FacePhoto { .. }) => true,
                _ => false,
            };
            self.samples.retain(|held| !replaces(held));
            self.samples.push(sample);
        }
    }

    /// Commits the BioCart record for the booth: sealed to the booth's key and queued in the
    /// outbox with its event, in one transaction. Without `[biocart]` (a simulated BioCart)
    /// the record says it is simulated and carries no biometric data.
    fn hand_over(&mut self, transaction_id: TransactionId) -> bool {
        let Some((booth_id, booth_key, ttl)) = self.booth.clone() else {
            let payload = serde_json::json!({
                "transaction_id": transaction_id,
                "simulated": true,
            });
            return match self.outbox.append(&NewEvent {
                kind: "biocart.record",
                occurred_at_ms: unix_ms(),
                payload: &payload,
            }) {
                Ok(_) => true,
                Err(err) => {
                    error!(error = %err, "BioCart record could not be queued");
                    false
                }
            };
        };
        let record = self.booth_record(transaction_id);
        let sealed = match outbox::handover::seal(&record, &booth_id, &booth_key, unix_ms()) {
            Ok(sealed) => sealed,
            Err(err) => {
                error!(error = %err, "BioCart record not sealed");
                return false;
            }
        };
        drop(record);
        let payload = serde_json::json!({
            "transaction_id": transaction_id,
            "booth_id": booth_id,
            "record_id": sealed.id,
        });
        let event = NewEvent {
            kind: "biocart.record",
            occurred_at_ms: unix_ms(),
            payload: &payload,
        };
        match self.outbox.append_handover_and_event(&sealed, ttl, &event) {
            Ok(_) => {
                info!(booth = %booth_id, "BioCart record sealed and queued for the booth");
                self.samples
                    .retain(|s| s.transaction_id() != transaction_id);
                if let Some(sync) = &self.sync {
                    sync.signal.notify();
                }
                true
            }
            Err(err) => {
                error!(error = %err, "BioCart record could not be queued");
                false
            }
        }
    }

    /// The booth record of `transaction_id` from the samples and document data held.
    fn booth_record(&self, transaction_id: TransactionId) -> outbox::handover::HandOverRecord {
        use outbox::handover::{FacePhoto, FingerCapture, HandOverFinger, HandOverRecord};
        let mut fingers = Vec::new();
        let mut face = FacePhoto {
            captured_at_ms: 0,
            quality: 0,
            jpeg: Vec::new(),
        };
        for sample in self
            .samples
            .iter()
            .filter(|s| s.transaction_id() == transaction_id)
        {
            match sample {
                Sample::Finger {
                    finger,
                    quality,
                    record,
                    captured_at_ms,
                    ..
                } => fingers.push(FingerCapture {
                    finger: match finger {
                        gate_core::Finger::LeftIndex => HandOverFinger::LeftIndex,
                        gate_core::Finger::RightIndex => HandOverFinger::RightIndex,
                    },
                    quality: *quality,
                    attempts: 1,
                    captured_at_ms: *captured_at_ms,
                    iso_19794_4: record.to_vec(),
                }),
                Sample::FacePhoto {
                    quality,
                    jpeg,
                    captured_at_ms,
                    ..
                } => {
                    face = FacePhoto {
                        captured_at_ms: *captured_at_ms,
                        quality: *quality,
                        jpeg: jpeg.to_vec(),
                    }
                }
            }
        }
        let document = self
            .document_data
            .as_ref()
            .filter(|(id, _)| *id == transaction_id)
            .map(|(_, data)| data.clone())
            .unwrap_or_default();
        let started_at_ms = fingers
            .iter()
            .map(|f| f.captured_at_ms)
            .chain([face.captured_at_ms])
            .filter(|ms| *ms > 0)
            .min()
            .unwrap_or_else(unix_ms);
        HandOverRecord {
            schema_version: outbox::handover::HANDOVER_SCHEMA_VERSION,
            gate_id: self.config.gate.id.clone(),
            transaction_id: transaction_id.to_string(),
            started_at_ms,
            completed_at_ms: unix_ms(),
            document,
            fingers,
            face,
        }
    }

    fn retry_unrecorded(&mut self) {
        let pending = std::mem::take(&mut self.unrecorded);
        for record in pending {
            if let Err(err) = self.record(&record) {
                error!(error = %err, transaction = %record.transaction_id, "outcome still not durable");
                self.unrecorded.push(record);
            }
        }
    }

    /// Raises or clears [`Condition::ListsStale`] from the age of the down-synced lists.
    fn check_lists(&mut self) {
        let Some(sync) = &self.sync else {
            return;
        };
        let mut stale = Vec::new();
        for name in &sync.lists {
            match self.outbox.list_freshness(name, sync.max_list_age) {
                Ok(ListFreshness::Fresh { .. }) => {}
                Ok(other) => stale.push(format!("{name}: {other:?}")),
                Err(err) => stale.push(format!("{name}: {err}")),
            }
        }
        let condition = Condition::ListsStale;
        let raised = self.gate.snapshot().conditions.contains(&condition);
        if !stale.is_empty() && !raised {
            warn!(lists = ?stale, "down-synced lists missing or stale: refusing travellers");
            self.feed(Event::ConditionRaised { condition });
        } else if stale.is_empty() && raised {
            info!("down-synced lists fresh again");
            self.feed(Event::ConditionCleared { condition });
        }
    }

    fn housekeeping(&mut self) {
        self.retry_unrecorded();
        let period_ms =
            i64::try_from(self.config.reporting.throughput_period_s * 1_000).unwrap_or(i64::MAX);
        if unix_ms() - self.throughput.period_start_ms >= period_ms {
            self.report_throughput();
        }
        self.check_lists();
        let full = !self.unrecorded.is_empty() || self.outbox.check_admission().is_err();
        let condition = Condition::OutboxFull;
        let raised = self.gate.snapshot().conditions.contains(&condition);
        if full && !raised {
            warn!("outbox above high-water mark: refusing new travellers");
            self.feed(Event::ConditionRaised { condition });
        } else if !full && raised {
            info!("outbox below high-water mark again");
            self.feed(Event::ConditionCleared { condition });
        }
        if let Err(err) = self.outbox.purge_delivered() {
            warn!(error = %err, "purging delivered events failed");
        }
    }

    /// Demo mode: the next simulated traveller steps up when the gate is free; after a deny a
    /// simulated officer attends and clears it.
    fn autopilot(&mut self) {
        if self.gate.current_transaction().is_some() {
            return;
        }
        if self.gate.snapshot().state == "holding" {
            info!("simulated officer attends and clears the deny");
            self.feed(Event::OfficerReset);
            return;
        }
        let roll: u8 = rand::random_range(0..100);
        let mut traveller = SimulatedTraveller::default();
        match roll {
            0..70 => {}
            70..80 => traveller.face_scores = vec![0.12, 0.18, 0.15],
            80..88 => traveller.document = SimulatedDocument::Expired,
            88..93 => traveller.document = SimulatedDocument::Forged,
            93..97 => traveller.walks_through = false,
            _ => traveller.attack_score = 0.9,
        }
        traveller.enrolled = roll < 85;
        let _ = self.simulate(traveller);
    }

    fn simulate(&mut self, traveller: SimulatedTraveller) -> Option<TransactionId> {
        let id = TransactionId(rand::random());
        // A traveller arriving while another is inside must not disturb the simulated devices
        // serving the one inside; the core still sees (and counts) the refused document.
        let busy = self.gate.current_transaction().is_some();
        if !busy {
            self.sim.arrive(id, traveller);
        }
        self.feed(Event::DocumentPresented { transaction_id: id });
        if self.gate.current_transaction() == Some(id) {
            Some(id)
        } else {
            if !busy {
                self.sim.discard(id);
            }
            None
        }
    }

    fn control(&mut self, id: u64, request: Request) -> ResponseEnvelope {
        match request {
            Request::Status => ResponseEnvelope::ok(id, Response::Status(Box::new(self.status()))),
            Request::OfficerReset => {
                self.feed(Event::OfficerReset);
                ResponseEnvelope::ok(id, Response::Done)
            }
            Request::SetMaintenance { on } => {
                if !on {
                    self.end_door_pulse();
                }
                let condition = Condition::Maintenance;
                self.feed(if on {
                    Event::ConditionRaised { condition }
                } else {
                    Event::ConditionCleared { condition }
                });
                ResponseEnvelope::ok(id, Response::Done)
            }
            Request::DoorPulse { ms } => match self.start_door_pulse(ms) {
                Ok(()) => ResponseEnvelope::ok(id, Response::Done),
                Err((code, message)) => ResponseEnvelope::error(id, code, message),
            },
            Request::DoorLock => {
                if self.door.pulse_until.is_some() {
                    self.end_door_pulse();
                    ResponseEnvelope::ok(id, Response::Done)
                } else if self.gate.current_transaction().is_some() && self.door.unlocked {
                    ResponseEnvelope::error(
                        id,
                        ErrorCode::NotAvailable,
                        "the door is open for a traveller; `gatectl officer-reset` cancels the transaction and locks it",
                    )
                } else {
                    self.lock_door_now();
                    ResponseEnvelope::ok(id, Response::Done)
                }
            }
            Request::Simulate { traveller } => {
                if !self.config.accepts_simulated_travellers() {
                    return ResponseEnvelope::error(
                        id,
                        ErrorCode::NotAvailable,
                        "this gate reads real documents or drives a real door; simulated travellers are refused",
                    );
                }
                let transaction_id = self.simulate(traveller);
                ResponseEnvelope::ok(id, Response::SimulationStarted { transaction_id })
            }
        }
    }

    fn status(&self) -> StatusReport {
        let snapshot = self.gate.snapshot();
        let (door_unlocked, door_lines) = self.door_now();
        let d = &self.config.devices;
        let mut devices: Vec<DeviceStatus> = [
            ("chip_reader", d.chip_reader.as_ref().map(backend_name)),
            ("camera", d.camera.as_ref().map(backend_name)),
            ("door", d.door.as_ref().map(backend_name)),
            ("fingerprint", d.fingerprint.as_ref().map(backend_name)),
        ]
        .into_iter()
        .filter_map(|(name, backend)| {
            backend.map(|backend| {
                let reported = self
                    .device_health
                    .iter()
                    .find(|(role, _)| role.name() == name)
                    .map(|(_, (health, detail))| (*health, detail.clone()));
                let fault = (name == "door")
                    .then_some(self.door.fault.clone())
                    .flatten();
                let (health, detail) = match (fault, reported) {
                    (Some(fault), _) => (Health::Down, fault),
                    (None, Some(reported)) => reported,
                    (None, None) => (Health::Up, "simulator".into()),
                };
                DeviceStatus {
                    name: name.into(),
                    backend,
                    health,
                    detail,
                }
            })
        })
        .collect();
        let outbox_status = self.outbox.status();
        let (health, detail, pending) = match (&outbox_status, &self.outbox_problem) {
            (Ok(status), None) => (
                if self.unrecorded.is_empty() {
                    Health::Up
                } else {
                    Health::Degraded
                },
                format!("{} pending, {} bytes", status.pending, status.used_bytes),
                status.pending,
            ),
            (Ok(status), Some(problem)) => (
                Health::Degraded,
                format!("safe mode: {problem}"),
                status.pending,
            ),
            (Err(err), _) => (Health::Down, err.to_string(), 0),
        };
        devices.push(DeviceStatus {
            name: "outbox".into(),
            backend: "sqlite".into(),
            health,
            detail,
        });
        StatusReport {
            gate_id: self.config.gate.id.clone(),
            profile: self.config.gate.profile,
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_s: self.started.elapsed().as_secs(),
            state: snapshot.state,
            transaction_id: snapshot.transaction_id,
            conditions: snapshot.conditions,
            out_of_service_reasons: snapshot.out_of_service_reasons,
            door_unlocked,
            lights: self.door.lights,
            display: self.display,
            devices,
            counters: snapshot.counters,
            last_outcome: self.last_outcome.clone(),
            outbox_pending: pending,
            door: door_lines,
        }
    }
}

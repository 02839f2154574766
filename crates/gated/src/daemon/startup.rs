//! Start-up, in the order a gate must come up: the door is driven to its safe state before
//! anything else (keys, the outbox's integrity check, central, devices); then the outbox is
//! opened, the transactions a crash left open are closed with their stage and the deny hold is
//! restored; then the workers start, the core's first commands run and the socket opens.

use super::{Channels, Daemon, Paths, Progress, RunOptions};
use crate::chip_worker::{ChipWorkerConfig, PcscDocumentReader};
use crate::clock::Clock;
use crate::control;
use crate::door::{self, Door, DoorStartError};
use crate::event_kind;
use crate::face_worker::{ExpectedModels, FaceWorker, FaceWorkerConfig, OperatingPointsFor};
use crate::finger_worker::{FingerWorker, FingerWorkerConfig};
use crate::hashing::DocumentHasher;
use crate::health::{DeviceRole, HealthSender};
use crate::journal;
use crate::lists::List;
use crate::roles::{DocumentReader, FaceCamera, FingerReader, RealTravellers, Roles, Traveller};
use crate::sim::{SimulatedDoor, Simulator};
use crate::store::{self, Booth, Store};
use crate::systemd;
use crate::worker::{Worker, WorkerError};
use gate_config::GateConfig;
use gate_config::operating_point::FaceOperatingPoints;
use gate_config::schema::{
    CameraConfig, ChipReaderConfig, CloneCheckRequirement, DoorConfig, FingerprintConfig,
    LegacyPaceGroups,
};
use gate_core::{Condition, Event, Gate, Lights, Prompt};
use gate_protocol::Health;
use mrtd::authenticity::passive::PassiveAuthPolicy;
use mrtd::authenticity::trust::TrustStoreConfig;
use mrtd::authenticity::verify::{AuthenticityPolicy, Requirement};
use outbox::sync::{SyncClient, SyncConfig, SyncError, SyncSignal, TlsFiles, run_sync_loop};
use outbox::{Outbox, OutboxConfig, OutboxError, OutboxLimits};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The booth's public key could not be read.
    #[error("biocart.booth_public_key_file: {0}")]
    BoothKey(outbox::handover::HandOverError),
    /// The door could not be taken over.
    #[error(transparent)]
    Door(#[from] DoorStartError),
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
    /// The outbox could not be opened at all, or the journal of transactions in progress not
    /// read.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The control socket could not be set up.
    #[error(transparent)]
    Control(#[from] control::ControlError),
    /// The sync client could not be built (TLS files, URL).
    #[error("central sync: {0}")]
    Sync(#[from] SyncError),
    /// A worker could not be started.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// `central.ca_file` is needed for an https URL.
    #[error("central.ca_file is required for {0}")]
    MissingCa(String),
    /// The traveller's screen could not start (a catalogue that does not parse, the port in
    /// use).
    #[error("screen: {0}")]
    Screen(String),
    /// The metrics could not be served (the port in use).
    #[error("metrics: {0}")]
    Metrics(String),
}

/// Starts the sync thread on its own handle of the outbox, when `[central]` is configured.
fn start_sync(
    config: &GateConfig,
    outbox_path: &Path,
) -> Result<Option<(SyncSignal, Worker)>, StartError> {
    let Some(central) = &config.central else {
        return Ok(None);
    };
    let mut sync_config = SyncConfig::new(central.url.clone());
    sync_config.batch_size = central.batch_size as usize;
    sync_config.lists = List::for_profile(config.gate.profile)
        .into_iter()
        .map(|list| list.name().to_owned())
        .collect();
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
    let (thread_signal, stopper) = (signal.clone(), signal.clone());
    let worker = Worker::thread(
        "sync",
        move || stopper.stop(),
        move || run_sync_loop(&client, &sync_config, &mut handle, &thread_signal),
    )?;
    info!(url = %central.url, "syncing with central");
    Ok(Some((signal, worker)))
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
            legacy_pace_groups,
        } => Some(ChipWorkerConfig {
            reader: reader.clone(),
            scanner_port: mrz_scanner.port.clone(),
            scanner_baud: mrz_scanner.baud,
            card_wait: Duration::from_millis(*card_wait_ms),
            allow_bac: *allow_bac,
            legacy_pace_groups: match legacy_pace_groups {
                LegacyPaceGroups::Accept => mrtd::pace::LegacyPaceGroups::Accept,
                LegacyPaceGroups::Refuse => mrtd::pace::LegacyPaceGroups::Refuse,
            },
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
    state_dir: &Path,
    clock: &Clock,
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
    let path = gate_config::schema::outbox_in(state_dir);
    let outbox_clock = clock.clone();
    let outbox_config = OutboxConfig {
        clock: Arc::new(move || outbox_clock.unix_ms()),
        ..OutboxConfig::new(config.gate.id.clone(), limits)
    };
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

fn log_operating_points(config: &GateConfig) {
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
}

/// The gate's devices: real ones on their worker threads, simulated ones from one simulator.
struct Started {
    roles: Roles,
    simulator: Option<Simulator>,
    workers: Vec<Worker>,
    device_health: HashMap<DeviceRole, (Health, String)>,
}

fn start_devices(
    config: &GateConfig,
    clock: &Clock,
    reports: &mpsc::Sender<crate::roles::DeviceReport>,
    health: &HealthSender,
    store: &Store,
    door: &Door,
    simulated_lines: Option<devices::turnstile::InMemoryTurnstileHandle>,
) -> Result<Started, StartError> {
    let d = &config.devices;
    let simulated = matches!(d.chip_reader, Some(ChipReaderConfig::Simulated { .. }))
        || matches!(d.camera, Some(CameraConfig::Simulated { .. }))
        || matches!(d.fingerprint, Some(FingerprintConfig::Simulated { .. }))
        || simulated_lines.is_some();
    let mut workers = Vec::new();
    let simulator = simulated.then(|| {
        let door = simulated_lines.map(|lines| SimulatedDoor {
            lines,
            state: door.watch(),
        });
        let (simulator, worker) = Simulator::start(config, clock.clone(), reports.clone(), door);
        workers.push(worker);
        simulator
    });
    let simulated_role = |simulator: &Option<Simulator>| simulator.clone();
    let mut device_health = HashMap::new();
    let reader: Option<Box<dyn DocumentReader>> = match (chip_worker_config(config), &d.chip_reader)
    {
        (Some(chip_config), _) => {
            let (reader, worker) =
                PcscDocumentReader::start(chip_config, reports.clone(), health.clone())?;
            workers.push(worker);
            device_health.insert(
                DeviceRole::ChipReader,
                (
                    Health::Down,
                    "starting: opening scanner and reader".to_owned(),
                ),
            );
            Some(Box::new(reader))
        }
        (None, Some(_)) => {
            simulated_role(&simulator).map(|s| Box::new(s) as Box<dyn DocumentReader>)
        }
        (None, None) => None,
    };
    let camera: Option<Box<dyn FaceCamera>> = match (face_worker_config(config), &d.camera) {
        (Some(face_config), _) => {
            let (camera, worker) = FaceWorker::start(face_config, reports.clone(), health.clone())?;
            workers.push(worker);
            // Down until the worker has loaded its models and seen a frame.
            device_health.insert(
                DeviceRole::Camera,
                (Health::Down, "starting: loading face models".to_owned()),
            );
            Some(Box::new(camera))
        }
        (None, Some(CameraConfig::Simulated { .. })) => {
            simulated_role(&simulator).map(|s| Box::new(s) as Box<dyn FaceCamera>)
        }
        (None, _) => None,
    };
    let finger: Option<Box<dyn FingerReader>> = match &d.fingerprint {
        Some(FingerprintConfig::R30x {
            port,
            baud,
            address,
            password,
        }) => {
            let (finger, worker) = FingerWorker::start(
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
                reports.clone(),
                health.clone(),
                store.clone(),
            )?;
            workers.push(worker);
            device_health.insert(
                DeviceRole::Fingerprint,
                (Health::Down, "starting: opening the module".to_owned()),
            );
            Some(Box::new(finger))
        }
        Some(FingerprintConfig::Simulated { .. }) => {
            simulated_role(&simulator).map(|s| Box::new(s) as Box<dyn FingerReader>)
        }
        None => None,
    };
    let simulated_door = matches!(
        d.door.as_ref().unwrap_or(&DoorConfig::absent()),
        DoorConfig::Simulated { .. }
    );
    let traveller: Box<dyn Traveller> = match simulated_role(&simulator) {
        Some(simulator) if simulated_door => Box::new(simulator),
        _ => Box::new(RealTravellers),
    };
    let simulator =
        simulator.filter(|_| matches!(d.chip_reader, Some(ChipReaderConfig::Simulated { .. })));
    Ok(Started {
        roles: Roles {
            reader,
            camera,
            finger,
            traveller,
        },
        simulator,
        workers,
        device_health,
    })
}

/// Starts everything in order and returns the daemon ready to serve.
pub(super) async fn start(
    config: GateConfig,
    paths: &Paths,
    options: RunOptions,
) -> Result<(Daemon, Channels), StartError> {
    let clock = options.clock;
    // The door before anything else: its outputs to their safe state.
    let door_config = config
        .devices
        .door
        .clone()
        .unwrap_or_else(DoorConfig::absent);
    let (door_steps_tx, door_steps) = mpsc::channel(64);
    let (io, simulated_lines) = door::open(&door_config)?;
    if let (Some(lines), Some(handover)) = (&simulated_lines, &options.door_lines) {
        handover.send_replace(Some(lines.clone()));
    }
    let (door, door_worker) = Door::start(io, door_config.machine_config(), door_steps_tx)?;

    let hasher = match &config.privacy.document_hash_key_file {
        Some(path) => DocumentHasher::from_file(path)?,
        None => {
            warn!("no privacy.document_hash_key_file: using a random key for this run (demo only)");
            DocumentHasher::ephemeral()?
        }
    };
    // The outbox: integrity check, the transactions a crash left open, list freshness; then
    // its writer thread owns it.
    let (mut outbox, outbox_problem) = open_outbox(&config, &paths.state_dir, &clock)?;
    let recovery = journal::recover(
        &mut outbox,
        event_kind::TRANSACTION_OUTCOME,
        clock.unix_ms(),
    )?;
    let lists = config.central.as_ref().map(|central| {
        (
            List::for_profile(config.gate.profile),
            Duration::from_secs(central.max_list_age_s),
        )
    });
    // Lists are checked before the first traveller: a gate that never synced refuses.
    let stale_lists = lists
        .as_ref()
        .map(|(lists, max_age)| store::stale_lists(&outbox, lists, *max_age))
        .unwrap_or_default();
    let sync = start_sync(&config, outbox.path())?;
    let (store_tx, store_rx) = mpsc::channel(256);
    let (store, store_worker) = Store::start(
        outbox,
        store_tx,
        door.watch(),
        sync.as_ref().map(|(signal, _)| signal.clone()),
    )?;
    let mut workers = vec![store_worker];
    if let Some((_, sync_worker)) = sync {
        workers.push(sync_worker);
    }
    let booth = match &config.biocart {
        Some(biocart) => Some(Arc::new(Booth {
            id: biocart.booth_id.clone(),
            key: outbox::handover::BoothPublicKey::from_file(&biocart.booth_public_key_file)
                .map_err(StartError::BoothKey)?,
            ttl: Duration::from_secs(u64::from(biocart.handover_ttl_hours) * 3_600),
        })),
        None => None,
    };

    log_operating_points(&config);
    let (device_tx, device_rx) = mpsc::channel(64);
    let (health_tx, health_rx) = mpsc::channel(64);
    let health = HealthSender::new(health_tx);
    let started = start_devices(
        &config,
        &clock,
        &device_tx,
        &health,
        &store,
        &door,
        simulated_lines,
    )?;
    workers.extend(started.workers);

    let now_unix = clock.unix_ms();
    let gate = Gate::new(config.gate.profile, config.policy.clone());
    let metrics = Arc::new(crate::metrics::GateMetrics::new(
        &config.gate.id,
        config.gate.profile,
    ));
    // The transactions a crash left open count with the others.
    for record in &recovery.closed {
        metrics.record_outcome(record);
    }
    let (control_tx, control_rx) = mpsc::channel(64);
    let door_state = door.watch();
    let mut daemon = Daemon {
        throughput: super::throughput::Throughput::new(now_unix),
        heartbeat: super::heartbeat::Heartbeat::new(now_unix, config.reporting.heartbeat_s),
        gate,
        hasher,
        roles: started.roles,
        door,
        simulator: started.simulator,
        store,
        booth,
        lists,
        data: None,
        pending: VecDeque::new(),
        feeding: false,
        progress: Progress::default(),
        pending_read: None,
        pending_unlock: None,
        device_health: started.device_health,
        display: Prompt::OutOfService,
        lights: Lights::Off,
        door_fault: None,
        pulse: None,
        waiting: Vec::new(),
        unrecorded: Vec::new(),
        writes: (0, 0),
        outbox_problem,
        last_outcome: None,
        span: None,
        workers,
        door_worker: Some(door_worker),
        stats: Default::default(),
        probe: options.probe,
        screen: None,
        metrics,
        clock,
        config,
    };
    // The core's idle state (door locked first), then the deny hold a restart interrupted.
    for command in daemon.gate.start() {
        daemon.execute(command);
    }
    if let Some(hold) = recovery.hold {
        let remaining = u64::try_from(hold.until_unix_ms - now_unix).unwrap_or(0);
        warn!(
            transaction_id = %hold.transaction_id,
            remaining_ms = remaining,
            "restoring the deny hold the gate was in"
        );
        let now = daemon.clock.now();
        for command in daemon
            .gate
            .restore_hold(now, hold.transaction_id, hold.reasons, remaining)
        {
            daemon.execute(command);
        }
        daemon.progress.holding = daemon.gate.holding_until().is_some();
    }
    if !stale_lists.is_empty() {
        warn!(lists = ?stale_lists, "down-synced lists missing or stale: refusing travellers");
        daemon.feed(Event::ConditionRaised {
            condition: Condition::ListsStale,
        });
    }
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
    // The metrics' port before the socket: a scrape right after the socket appears is answered.
    let metrics_tasks = match &daemon.config.metrics {
        Some(section) => start_metrics(section, &daemon.metrics).await?,
        None => Vec::new(),
    };
    daemon.publish_metrics();
    let (listener, access) = control::bind(
        &paths.socket,
        daemon.config.control_mode,
        daemon.config.control.group.as_deref(),
    )?;
    let screen_server = match &daemon.config.screen {
        Some(section) => {
            let (feed, task) = start_screen(section, &daemon.config, control_tx.clone()).await?;
            daemon.screen = Some(feed);
            daemon.publish_screen();
            Some(task)
        }
        None => None,
    };
    let server = tokio::spawn(control::serve(listener, access, control_tx));
    info!(
        gate = %daemon.config.gate.id,
        profile = daemon.config.gate.profile.as_str(),
        socket = %paths.socket.display(),
        "gated ready"
    );
    systemd::ready(&format!("{} ready", daemon.config.gate.id));
    Ok((
        daemon,
        Channels {
            door_steps,
            door_state,
            devices: device_rx,
            health: health_rx,
            store: store_rx,
            control: control_rx,
            server,
            screen_server,
            metrics_tasks,
        },
    ))
}

/// Binds `[metrics] listen` (a port in use stops gated with the cause) and starts its server,
/// and the textfile writer when `[metrics] textfile` is set.
async fn start_metrics(
    section: &gate_config::metrics::MetricsSection,
    metrics: &Arc<crate::metrics::GateMetrics>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, StartError> {
    let mut tasks = Vec::new();
    if let Some(listen) = section.listen {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|err| {
            StartError::Metrics(format!(
                "cannot listen on {listen}: {err} (another program holds the port? `ss -ltnp | grep {}`)",
                listen.port()
            ))
        })?;
        tasks.push(tokio::spawn(crate::metrics::serve(
            listener,
            metrics.clone(),
        )));
    }
    if let Some(path) = &section.textfile {
        info!(path = %path.display(), every_s = section.textfile_interval_s, "metrics textfile");
        tasks.push(tokio::spawn(crate::metrics::write_textfile(
            path.clone(),
            Duration::from_secs(u64::from(section.textfile_interval_s)),
            metrics.clone(),
        )));
    }
    Ok(tasks)
}

/// Loads the catalogues, binds the screen's port and starts its server.
async fn start_screen(
    section: &gate_config::screen::ScreenSection,
    config: &GateConfig,
    control: mpsc::Sender<crate::control::ControlRequest>,
) -> Result<(super::ScreenFeed, tokio::task::JoinHandle<()>), StartError> {
    use crate::screen::{self, catalogue::Catalogues, officer::Officers, server};
    let catalogues = Catalogues::load(section.catalogues.as_deref())
        .map_err(|err| StartError::Screen(err.to_string()))?;
    let listener = server::bind(section.listen).await.map_err(|err| {
        StartError::Screen(format!(
            "cannot listen on {}: {err} (another program holds the port? `ss -ltnp | grep {}`)",
            section.listen,
            section.listen.port()
        ))
    })?;
    let listen = listener.local_addr().unwrap_or(section.listen);
    let initial = screen::ScreenState::starting(config.gate.profile);
    let (state_tx, state_rx) = tokio::sync::watch::channel(initial);
    let (choice, _) = tokio::sync::watch::channel(server::Choice::default());
    let shared = std::sync::Arc::new(server::ScreenContext {
        catalogues,
        languages: section.languages.clone(),
        default_language: section.default_language.clone(),
        state: state_rx,
        choice,
        officers: Officers::new(&section.officers),
        control,
        listen,
    });
    let task = tokio::spawn(server::serve(listener, shared));
    let feed = super::ScreenFeed {
        guide: screen::Guide::new(section.nationality_map()),
        tx: state_tx,
        seq: 0,
        outcome_ms: u64::from(section.outcome_s) * 1_000,
        outcome_since: None,
    };
    Ok((feed, task))
}

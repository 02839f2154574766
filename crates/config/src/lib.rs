//! The gate's configuration: one TOML file per gate in `firmware-config/`.
//!
//! Reading happens in two stages, following the raw/validated split of firecracker's machine
//! config: each section is deserialised on its own with unknown keys rejected (so one bad
//! section does not hide problems in the others), then the whole is validated into a
//! [`GateConfig`]. Every problem is reported with its dotted key path, e.g.
//! `devices.camera.device: required when backend = "v4l2"`.
//!
//! ```
//! let text = include_str!("../../../firmware-config/sim-face-gate.toml");
//! let loaded = gate_config::parse(text, std::path::Path::new("sim-face-gate.toml")).unwrap();
//! assert_eq!(loaded.config.gate.id, "SIM-FACE-01");
//! ```

pub mod door;
pub mod metrics;
pub mod operating_point;
pub mod schema;
pub mod screen;

pub use door::load_door;

use gate_core::policy::FacePolicy;
use gate_core::{GateProfile, Policy};
use operating_point::{FaceOperatingPoints, FaceSource};
use schema::{
    BioCartSection, CameraConfig, CentralSection, ChipReaderConfig, ControlSection, Devices,
    DoorConfig, FacePolicySection, FaceSection, FingerprintConfig, GateSection, LegacyPaceGroups,
    PolicySection, PrivacySection, ReportingSection, SimulationSection, StorageSection,
    TrustSection,
};
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::{Path, PathBuf};

/// A validated gate configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct GateConfig {
    /// `[gate]`.
    pub gate: GateSection,
    /// `[control]`.
    pub control: ControlSection,
    /// `[storage]`.
    pub storage: StorageSection,
    /// `[privacy]`.
    pub privacy: PrivacySection,
    /// `[devices.*]`.
    pub devices: Devices,
    /// `[face]`.
    pub face: Option<FaceSection>,
    /// `[central]`.
    pub central: Option<CentralSection>,
    /// `[trust]`: CSCAs, master lists and CRLs for document authenticity.
    pub trust: Option<TrustSection>,
    /// `[biocart]`: the inspection booth the BioCart's records go to.
    pub biocart: Option<BioCartSection>,
    /// `[reporting]`: throughput figures.
    pub reporting: ReportingSection,
    /// `[screen]`: the traveller's screen and the officer's view (off when absent).
    pub screen: Option<screen::ScreenSection>,
    /// `[metrics]`: Prometheus metrics over HTTP or as a textfile (off when absent).
    pub metrics: Option<metrics::MetricsSection>,
    /// `[policy]`, with the face thresholds resolved from `[policy.face]`'s operating point
    /// (see [`GateConfig::face_operating_points`]).
    pub policy: Policy,
    /// `[policy.face]`'s operating point as written (targets or pinned thresholds); its
    /// attempts and time limit are the ones in `policy.face`.
    pub face_policy: FacePolicySection,
    /// How the face thresholds in `policy` were chosen, for the log and the technician.
    pub face_operating_points: FaceOperatingPoints,
    /// `[simulation]`.
    pub simulation: SimulationSection,
    /// The socket's file mode, parsed from `control.mode`.
    pub control_mode: u32,
}

impl GateConfig {
    /// What a technician should read about the face thresholds: one line per resolved
    /// threshold (`policy.face.target_fmr: target FMR 5e-4 -> threshold …`).
    pub fn operating_point_notes(&self) -> Vec<Problem> {
        match &self.face_operating_points {
            FaceOperatingPoints::Resolved { matching, attack } => {
                let mut notes = vec![Problem {
                    key: "policy.face.match".into(),
                    message: matching.to_string(),
                }];
                if let Some(attack) = attack {
                    notes.push(Problem {
                        key: "policy.face.attack".into(),
                        message: attack.to_string(),
                    });
                }
                notes
            }
            FaceOperatingPoints::NotUsed | FaceOperatingPoints::Unavailable { .. } => Vec::new(),
        }
    }

    /// Resolves `[policy.face]`'s operating point through the models of `[face]` and sets the
    /// core's face thresholds (done by [`load`]; call it again after changing `face` or
    /// `face_policy` in a typed config). Returns the problems and warnings, by key path.
    pub fn resolve_face_operating_points(&mut self) -> (Vec<Problem>, Vec<Problem>) {
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        self.resolve_face_thresholds(&mut problems, &mut warnings);
        for problem in self.policy.validate() {
            problems.push(Problem {
                key: format!("policy.{}", problem.key),
                message: problem.message,
            });
        }
        (problems, warnings)
    }

    fn resolve_face_thresholds(
        &mut self,
        problems: &mut Vec<Problem>,
        warnings: &mut Vec<Problem>,
    ) {
        let source = match (self.gate.profile, &self.devices.camera, &self.face) {
            (GateProfile::FaceGate, Some(CameraConfig::Simulated { .. }), _) => {
                FaceSource::Simulator
            }
            (GateProfile::FaceGate, Some(_), Some(face)) => FaceSource::Models(face),
            (GateProfile::FaceGate, _, _) => FaceSource::Missing,
            _ => FaceSource::NotUsed,
        };
        self.face_operating_points =
            operating_point::resolve(&self.face_policy, source, problems, warnings);
        let (match_threshold, attack_threshold) = self.face_operating_points.thresholds();
        self.policy.face.match_threshold = match_threshold;
        self.policy.face.attack_threshold = attack_threshold;
    }

    /// The configuration as a TOML file that [`parse`] reads back to the same configuration
    /// (derived values such as the resolved thresholds are recomputed on reading). Tests and
    /// tools build configurations as typed values and write them with this, instead of
    /// editing TOML text.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let mut table = toml::Table::new();
        let mut put = |key: &str,
                       value: Result<toml::Value, toml::ser::Error>|
         -> Result<(), toml::ser::Error> {
            table.insert(key.to_owned(), value?);
            Ok(())
        };
        put("gate", toml::Value::try_from(&self.gate))?;
        put("control", toml::Value::try_from(&self.control))?;
        put("storage", toml::Value::try_from(&self.storage))?;
        put("privacy", toml::Value::try_from(&self.privacy))?;
        put("devices", toml::Value::try_from(&self.devices))?;
        if let Some(face) = &self.face {
            put("face", toml::Value::try_from(face))?;
        }
        if let Some(central) = &self.central {
            put("central", toml::Value::try_from(central))?;
        }
        if let Some(trust) = &self.trust {
            put("trust", toml::Value::try_from(trust))?;
        }
        if let Some(biocart) = &self.biocart {
            put("biocart", toml::Value::try_from(biocart))?;
        }
        put("reporting", toml::Value::try_from(&self.reporting))?;
        if let Some(screen) = &self.screen {
            put("screen", toml::Value::try_from(screen))?;
        }
        if let Some(metrics) = &self.metrics {
            put("metrics", toml::Value::try_from(metrics))?;
        }
        let policy = PolicySection {
            eligibility: self.policy.eligibility.clone(),
            // The operating point as written; attempts and time limits from the core's policy.
            face: FacePolicySection {
                max_attempts: self.policy.face.max_attempts,
                capture_timeout_ms: self.policy.face.capture_timeout_ms,
                ..self.face_policy.clone()
            },
            fingerprint: self.policy.fingerprint.clone(),
            face_photo: self.policy.face_photo.clone(),
            timeouts: self.policy.timeouts.clone(),
            document: self.policy.document.clone(),
        };
        put("policy", toml::Value::try_from(&policy))?;
        put("simulation", toml::Value::try_from(&self.simulation))?;
        toml::to_string(&table)
    }

    /// True when every configured device is a simulator.
    pub fn fully_simulated(&self) -> bool {
        let d = &self.devices;
        matches!(
            d.chip_reader,
            None | Some(ChipReaderConfig::Simulated { .. })
        ) && matches!(d.camera, None | Some(CameraConfig::Simulated { .. }))
            && matches!(d.door, None | Some(DoorConfig::Simulated { .. }))
            && matches!(
                d.fingerprint,
                None | Some(FingerprintConfig::Simulated { .. })
            )
    }

    /// True when simulated travellers may be sent through this gate: its documents come from
    /// the simulated chip reader and its door is simulated. A gate with a real door never
    /// opens it for a simulated traveller; a real camera or fingerprint module may take part.
    pub fn accepts_simulated_travellers(&self) -> bool {
        let d = &self.devices;
        matches!(d.chip_reader, Some(ChipReaderConfig::Simulated { .. }))
            && matches!(d.door, None | Some(DoorConfig::Simulated { .. }))
    }
}

/// One problem, named by its key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `policy.face.match_threshold`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The problems, in file order as far as known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {problem}", self.file.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A configuration that validated, with warnings that do not stop the gate from starting
/// (a device node absent on this machine, an ephemeral hash key).
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The configuration.
    pub config: GateConfig,
    /// Things a technician should know.
    pub warnings: Vec<Problem>,
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
        file: path.to_owned(),
        problems: vec![Problem {
            key: "(file)".into(),
            message: format!("cannot read: {err}"),
        }],
    })?;
    parse(&text, path)
}

/// Parses and validates configuration text; `origin` names it in messages.
pub fn parse(text: &str, origin: &Path) -> Result<Loaded, ConfigError> {
    let fail = |problems| ConfigError {
        file: origin.to_owned(),
        problems,
    };
    let mut table: toml::Table = match text.parse() {
        Ok(table) => table,
        Err(err) => {
            return Err(fail(vec![Problem {
                key: "(syntax)".into(),
                message: err.to_string().trim().replace('\n', " "),
            }]));
        }
    };
    let mut problems = Vec::new();
    let gate: Option<GateSection> = take(&mut table, "gate", "gate", true, &mut problems);
    let control: Option<ControlSection> =
        take(&mut table, "control", "control", false, &mut problems);
    let storage: Option<StorageSection> =
        take(&mut table, "storage", "storage", false, &mut problems);
    let privacy: Option<PrivacySection> =
        take(&mut table, "privacy", "privacy", false, &mut problems);
    let face: Option<FaceSection> = take(&mut table, "face", "face", false, &mut problems);
    let central: Option<CentralSection> =
        take(&mut table, "central", "central", false, &mut problems);
    let trust: Option<TrustSection> = take(&mut table, "trust", "trust", false, &mut problems);
    let biocart: Option<BioCartSection> =
        take(&mut table, "biocart", "biocart", false, &mut problems);
    let reporting: Option<ReportingSection> =
        take(&mut table, "reporting", "reporting", false, &mut problems);
    let policy: Option<PolicySection> = take(&mut table, "policy", "policy", true, &mut problems);
    let screen: Option<screen::ScreenSection> =
        take(&mut table, "screen", "screen", false, &mut problems);
    let metrics: Option<metrics::MetricsSection> =
        take(&mut table, "metrics", "metrics", false, &mut problems);
    let simulation: Option<SimulationSection> =
        take(&mut table, "simulation", "simulation", false, &mut problems);
    let mut devices = Devices::default();
    match table.remove("devices") {
        None => problems.push(Problem {
            key: "devices".into(),
            message: "missing section".into(),
        }),
        Some(toml::Value::Table(mut devices_table)) => {
            devices.chip_reader = take(
                &mut devices_table,
                "chip_reader",
                "devices.chip_reader",
                false,
                &mut problems,
            );
            devices.camera = take(
                &mut devices_table,
                "camera",
                "devices.camera",
                false,
                &mut problems,
            );
            devices.door = take(
                &mut devices_table,
                "door",
                "devices.door",
                false,
                &mut problems,
            );
            devices.fingerprint = take(
                &mut devices_table,
                "fingerprint",
                "devices.fingerprint",
                false,
                &mut problems,
            );
            for key in devices_table.keys() {
                problems.push(Problem {
                    key: format!("devices.{key}"),
                    message: "unknown key (expected chip_reader, camera, door, fingerprint)".into(),
                });
            }
        }
        Some(other) => problems.push(Problem {
            key: "devices".into(),
            message: format!("expected a table, found {}", other.type_str()),
        }),
    }
    for key in table.keys() {
        problems.push(Problem {
            key: key.clone(),
            message: "unknown key".into(),
        });
    }
    let (Some(gate), Some(policy)) = (gate, policy.clone()) else {
        // Without [gate] the profile rules cannot run, but the policy's values still can.
        for problem in policy.iter().flat_map(|p| core_policy(p).validate()) {
            problems.push(Problem {
                key: format!("policy.{}", problem.key),
                message: problem.message,
            });
        }
        return Err(fail(problems));
    };
    let raw = GateConfig {
        gate,
        control: control.unwrap_or_default(),
        storage: storage.unwrap_or_default(),
        privacy: privacy.unwrap_or_default(),
        devices,
        face,
        central,
        trust,
        biocart,
        reporting: reporting.unwrap_or_default(),
        screen,
        metrics,
        policy: core_policy(&policy),
        face_policy: policy.face,
        face_operating_points: FaceOperatingPoints::NotUsed,
        simulation: simulation.unwrap_or_default(),
        control_mode: 0,
    };
    let mut warnings = Vec::new();
    let config = validate(raw, &mut problems, &mut warnings);
    if problems.is_empty() {
        Ok(Loaded { config, warnings })
    } else {
        Err(fail(problems))
    }
}

/// The core's policy from `[policy]`, with the strictest face thresholds until the operating
/// point is resolved.
fn core_policy(section: &PolicySection) -> Policy {
    let (match_threshold, attack_threshold) = FaceOperatingPoints::NotUsed.thresholds();
    Policy {
        eligibility: section.eligibility.clone(),
        face: FacePolicy {
            match_threshold,
            attack_threshold,
            max_attempts: section.face.max_attempts,
            capture_timeout_ms: section.face.capture_timeout_ms,
        },
        fingerprint: section.fingerprint.clone(),
        face_photo: section.face_photo.clone(),
        timeouts: section.timeouts.clone(),
        document: section.document.clone(),
    }
}

/// Removes `key` from `table` and deserialises it, recording any problem under `path`.
pub(crate) fn take<T: DeserializeOwned>(
    table: &mut toml::Table,
    key: &str,
    path: &str,
    required: bool,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let Some(value) = table.remove(key) else {
        if required {
            problems.push(Problem {
                key: path.into(),
                message: "missing section".into(),
            });
        }
        return None;
    };
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(section) => Some(section),
        Err(err) => {
            let inner = err.path().to_string();
            let message = err.inner().to_string().trim().replace('\n', " ");
            let mut key = if inner == "." || inner.is_empty() {
                path.to_owned()
            } else {
                format!("{path}.{inner}")
            };
            // Name the offending key itself for unknown and missing fields.
            for marker in ["unknown field `", "missing field `"] {
                if let Some(rest) = message.split(marker).nth(1)
                    && let Some(name) = rest.split('`').next()
                    && !key.ends_with(&format!(".{name}"))
                {
                    key = format!("{key}.{name}");
                }
            }
            problems.push(Problem { key, message });
            None
        }
    }
}

fn validate(
    mut config: GateConfig,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> GateConfig {
    let mut bad = |key: &str, message: String| {
        problems.push(Problem {
            key: key.into(),
            message,
        })
    };
    let id = &config.gate.id;
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        bad(
            "gate.id",
            format!("{id:?} must be 1-64 characters of A-Z, a-z, 0-9, '-', '_', '.'"),
        );
    }
    if !config.control.socket.is_absolute() {
        bad(
            "control.socket",
            format!(
                "{} must be an absolute path",
                config.control.socket.display()
            ),
        );
    }
    match u32::from_str_radix(config.control.mode.trim_start_matches("0o"), 8) {
        Ok(mode) if mode & 0o002 != 0 || mode > 0o777 => bad(
            "control.mode",
            format!(
                "{:?}: the socket must not be writable by others",
                config.control.mode
            ),
        ),
        Ok(mode) => config.control_mode = mode,
        Err(_) => bad(
            "control.mode",
            format!(
                "{:?} is not an octal file mode such as \"0660\"",
                config.control.mode
            ),
        ),
    }
    if !(1..=1_000_000).contains(&config.storage.outbox_max_mb) {
        bad(
            "storage.outbox_max_mb",
            format!("{} is outside 1..=1000000", config.storage.outbox_max_mb),
        );
    }
    if !(1..=3650).contains(&config.storage.retention_days) {
        bad(
            "storage.retention_days",
            format!("{} is outside 1..=3650", config.storage.retention_days),
        );
    }
    config.resolve_face_thresholds(problems, warnings);
    let mut bad = |key: &str, message: String| {
        problems.push(Problem {
            key: key.into(),
            message,
        })
    };
    for problem in config.policy.validate() {
        bad(&format!("policy.{}", problem.key), problem.message);
    }

    let devices = &config.devices;
    let required: &[(&str, bool)] = match config.gate.profile {
        GateProfile::FaceGate => &[
            ("chip_reader", devices.chip_reader.is_some()),
            ("camera", devices.camera.is_some()),
            ("door", devices.door.is_some()),
        ],
        GateProfile::BioCart => &[
            ("chip_reader", devices.chip_reader.is_some()),
            ("camera", devices.camera.is_some()),
            ("fingerprint", devices.fingerprint.is_some()),
        ],
        GateProfile::FingerprintGate => &[
            ("chip_reader", devices.chip_reader.is_some()),
            ("fingerprint", devices.fingerprint.is_some()),
            ("door", devices.door.is_some()),
        ],
    };
    for (role, present) in required {
        if !present {
            bad(
                &format!("devices.{role}"),
                format!("required for profile {}", config.gate.profile.as_str()),
            );
        }
    }
    let mut device_paths: Vec<(&str, &Path)> = Vec::new();
    if let Some(CameraConfig::V4l2 {
        device,
        width,
        height,
        fps,
        ..
    }) = &devices.camera
    {
        device_paths.push(("devices.camera.device", device));
        if !(160..=4096).contains(width) {
            bad(
                "devices.camera.width",
                format!("{width} is outside 160..=4096"),
            );
        }
        if !(120..=4096).contains(height) {
            bad(
                "devices.camera.height",
                format!("{height} is outside 120..=4096"),
            );
        }
        if !(1..=120).contains(fps) {
            bad("devices.camera.fps", format!("{fps} is outside 1..=120"));
        }
    }
    if let Some(CameraConfig::Frames { dir, fps }) = &devices.camera {
        device_paths.push(("devices.camera.dir", dir));
        if !(1..=120).contains(fps) {
            bad("devices.camera.fps", format!("{fps} is outside 1..=120"));
        }
    }
    if let Some(ChipReaderConfig::Simulated {
        photo: Some(photo), ..
    }) = &devices.chip_reader
    {
        device_paths.push(("devices.chip_reader.photo", photo));
    }
    if let Some(ChipReaderConfig::Pcsc {
        reader,
        mrz_scanner,
        card_wait_ms,
        allow_bac,
        legacy_pace_groups,
    }) = &devices.chip_reader
    {
        if *legacy_pace_groups == LegacyPaceGroups::Refuse && *allow_bac {
            warnings.push(Problem {
                key: "devices.chip_reader.legacy_pace_groups".into(),
                message: "\"refuse\" with allow_bac = true reads chips that offer only these PACE sets with BAC, which is weaker still (set allow_bac = false to refuse such documents)".into(),
            });
        }
        if reader.trim().is_empty() {
            bad(
                "devices.chip_reader.reader",
                "must name the PC/SC reader".into(),
            );
        }
        device_paths.push(("devices.chip_reader.mrz_scanner.port", &mrz_scanner.port));
        if !(100..=30_000).contains(card_wait_ms) {
            bad(
                "devices.chip_reader.card_wait_ms",
                format!("{card_wait_ms} is outside 100..=30000"),
            );
        }
    }
    if let Some(door) = &devices.door {
        if let DoorConfig::GpioCdev { chip, .. } = door {
            device_paths.push(("devices.door.chip", chip));
        }
        for problem in door.problems() {
            bad(&problem.key, problem.message);
        }
    }
    if let Some(FingerprintConfig::R30x { port, baud, .. }) = &devices.fingerprint {
        device_paths.push(("devices.fingerprint.port", port));
        if ![9_600, 19_200, 38_400, 57_600, 115_200].contains(baud) {
            bad(
                "devices.fingerprint.baud",
                format!(
                    "{baud} is not a module baud rate (9600..115200 in steps of 9600: use 9600, 19200, 38400, 57600 or 115200)"
                ),
            );
        }
    }
    for (key, path) in device_paths {
        if !path.is_absolute() {
            bad(key, format!("{} must be an absolute path", path.display()));
        } else if !path.exists() {
            warnings.push(Problem {
                key: key.into(),
                message: format!(
                    "{} does not exist on this machine (the device will show as down until it appears)",
                    path.display()
                ),
            });
        }
    }
    if !(1..=3_600).contains(&config.reporting.heartbeat_s) {
        bad(
            "reporting.heartbeat_s",
            format!("{} is outside 1..=3600", config.reporting.heartbeat_s),
        );
    }
    match &config.gate.site {
        Some(site) => {
            let airport = &site.airport;
            if !(3..=4).contains(&airport.len())
                || !airport
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                bad(
                    "gate.site.airport",
                    format!("{airport:?} is not an IATA (3) or ICAO (4) airport code"),
                );
            }
            for (key, value) in [
                ("gate.site.terminal", &site.terminal),
                ("gate.site.zone", &site.zone),
            ] {
                if value.is_empty()
                    || value.len() > 32
                    || !value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_. ".contains(&b))
                {
                    bad(
                        key,
                        format!(
                            "{value:?} must be 1-32 characters of A-Z, a-z, 0-9, '-', '_', '.', ' '"
                        ),
                    );
                }
            }
        }
        None if config.central.is_some() => warnings.push(Problem {
            key: "gate.site".into(),
            message:
                "not set: central's fleet console and waiting times list this gate under no site"
                    .into(),
        }),
        None => {}
    }
    if !(1..=86_400).contains(&config.reporting.throughput_period_s) {
        bad(
            "reporting.throughput_period_s",
            format!(
                "{} is outside 1..=86400",
                config.reporting.throughput_period_s
            ),
        );
    }
    if let Some(biocart) = &config.biocart {
        if biocart.booth_id.trim().is_empty() {
            bad("biocart.booth_id", "must name the inspection booth".into());
        }
        if !biocart.booth_public_key_file.is_absolute() {
            bad(
                "biocart.booth_public_key_file",
                format!(
                    "{} must be an absolute path",
                    biocart.booth_public_key_file.display()
                ),
            );
        }
        if !(1..=168).contains(&biocart.handover_ttl_hours) {
            bad(
                "biocart.handover_ttl_hours",
                format!("{} is outside 1..=168", biocart.handover_ttl_hours),
            );
        }
    }
    if let Some(screen) = &config.screen {
        let mut found = Vec::new();
        screen.validate(&mut found);
        for problem in found {
            bad(&problem.key, problem.message);
        }
    }
    if let Some(metrics) = &config.metrics {
        let mut found = Vec::new();
        metrics.validate(&mut found, warnings);
        for problem in found {
            bad(&problem.key, problem.message);
        }
    }
    if config.gate.profile == GateProfile::BioCart
        && matches!(devices.fingerprint, Some(FingerprintConfig::R30x { .. }))
        && config.biocart.is_none()
    {
        bad(
            "biocart",
            "required on a BioCart with a real fingerprint module (its records go only to a booth)"
                .into(),
        );
    }
    if let Some(trust) = &config.trust {
        if trust.csca.is_empty() && trust.master_lists.is_empty() {
            bad(
                "trust",
                "needs at least one `csca` or `master_lists` path (nothing could be trusted)"
                    .into(),
            );
        }
        if !trust.master_lists.is_empty() && trust.master_list_signers.is_empty() {
            bad(
                "trust.master_list_signers",
                "required with master_lists (a master list is only as good as its signer)".into(),
            );
        }
        for (key, paths) in [
            ("trust.csca", &trust.csca),
            ("trust.master_lists", &trust.master_lists),
            ("trust.master_list_signers", &trust.master_list_signers),
            ("trust.crls", &trust.crls),
        ] {
            for path in paths {
                if !path.is_absolute() {
                    bad(key, format!("{} must be an absolute path", path.display()));
                }
            }
        }
    }
    if let Some(face) = &config.face {
        if !(1..=16).contains(&face.threads) {
            bad(
                "face.threads",
                format!("{} is outside 1..=16", face.threads),
            );
        }
        if !(1..=30).contains(&face.burst_frames) {
            bad(
                "face.burst_frames",
                format!("{} is outside 1..=30", face.burst_frames),
            );
        }
    }
    let needs_face = matches!(
        devices.camera,
        Some(CameraConfig::V4l2 { .. } | CameraConfig::Frames { .. })
    );
    if needs_face && config.face.is_none() {
        bad("face", "required when the camera is not simulated".into());
    }
    if let Some(central) = &config.central {
        let url = central.url.as_str();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bad(
                "central.url",
                format!("{url:?} must start with https:// or http://"),
            );
        } else if url.starts_with("http://")
            && !(url.starts_with("http://127.")
                || url.starts_with("http://localhost")
                || url.starts_with("http://[::1]"))
        {
            bad(
                "central.url",
                "plain http is only allowed to a loopback address; use https".into(),
            );
        }
        if url.starts_with("https://") && central.ca_file.is_none() {
            bad(
                "central.ca_file",
                "required for https: the CA that signs central's certificate".into(),
            );
        }
        if central.client_cert.is_some() != central.client_key.is_some() {
            bad(
                "central.client_cert",
                "client_cert and client_key must be given together".into(),
            );
        }
        if !(1..=10_000).contains(&central.batch_size) {
            bad(
                "central.batch_size",
                format!("{} is outside 1..=10000", central.batch_size),
            );
        }
    }
    match &config.privacy.document_hash_key_file {
        None => warnings.push(Problem {
            key: "privacy.document_hash_key_file".into(),
            message: "not set: a random key is drawn at each start, so document hashes match nothing at central (demo only)".into(),
        }),
        Some(path) if !path.is_absolute() => bad(
            "privacy.document_hash_key_file",
            format!("{} must be an absolute path", path.display()),
        ),
        Some(_) => {}
    }
    if config.simulation.autopilot_interval_ms > 0
        && !config.fully_simulated()
        && config.simulation.demo_bench.is_none()
    {
        bad(
            "simulation.autopilot_interval_ms",
            "the autopilot needs every device simulated or a demo bench (simulation.demo_bench)"
                .into(),
        );
    }
    match &config.simulation.demo_bench {
        Some(path) if !path.is_absolute() => bad(
            "simulation.demo_bench",
            format!("{} must be an absolute path", path.display()),
        ),
        Some(_) if config.accepts_simulated_travellers() => bad(
            "simulation.demo_bench",
            "this gate's chip reader is simulated: it simulates its travellers itself".into(),
        ),
        Some(_) => warnings.push(Problem {
            key: "simulation.demo_bench".into(),
            message: "a demo bench (TEST TOOL) plays the travellers of this gate: never in service"
                .into(),
        }),
        None => {}
    }
    config
}

#[cfg(test)]
mod tests;

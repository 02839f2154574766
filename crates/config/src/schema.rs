//! The sections of a gate's configuration file, as serde structures with unknown keys rejected.

use devices::turnstile::InputBias;
use gate_core::GateProfile;
use gate_core::turnstile::TurnstileTimings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[gate]`: who this gate is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSection {
    /// Unique id of the gate within the agency, e.g. `HND-T3-DEP-07`.
    pub id: String,
    /// Which machine this is.
    pub profile: GateProfile,
    /// Free text for technicians.
    #[serde(default)]
    pub description: String,
    /// Where the gate stands: the fleet console groups gates by site, and waiting times are
    /// published per site.
    #[serde(default)]
    pub site: Option<Site>,
}

/// `gate.site`: where a gate stands, e.g. `{ airport = "HND", terminal = "T3", zone =
/// "departures" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Airport: IATA three-letter or ICAO four-letter code, e.g. `HND` or `RJTT`.
    pub airport: String,
    /// Terminal, e.g. `T3`.
    pub terminal: String,
    /// Zone within the terminal, e.g. `departures` or `arrivals-north`.
    pub zone: String,
}

/// `[control]`: the technicians' Unix socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlSection {
    /// Path of the socket.
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
    /// Group whose members may connect (besides root and gated's own user).
    #[serde(default)]
    pub group: Option<String>,
    /// File mode of the socket, octal text such as `"0660"`.
    #[serde(default = "default_mode")]
    pub mode: String,
}

/// gated's control socket when `control.socket` is not set (and `gatectl`'s default).
pub const DEFAULT_SOCKET: &str = "/run/gated/control.sock";
/// gated's state directory when `storage.state_dir` is not set.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/gated";
/// The file name of the outbox database in the state directory.
pub const OUTBOX_FILE: &str = "outbox.sqlite";

/// The outbox database of a gate whose state directory is `state_dir`: the one place every
/// path to it is derived from (gated, `gatectl outbox`, tests).
pub fn outbox_in(state_dir: &Path) -> PathBuf {
    state_dir.join(OUTBOX_FILE)
}

fn default_socket() -> PathBuf {
    PathBuf::from(DEFAULT_SOCKET)
}

fn default_mode() -> String {
    "0660".into()
}

impl Default for ControlSection {
    fn default() -> Self {
        Self {
            socket: default_socket(),
            group: None,
            mode: default_mode(),
        }
    }
}

/// `[storage]`: where gated keeps its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// Directory for the outbox database and list store.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// Disk budget of the outbox in MiB; at the limit the gate refuses new travellers.
    #[serde(default = "default_outbox_max_mb")]
    pub outbox_max_mb: u64,
    /// Days delivered events are kept before they are purged.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from(DEFAULT_STATE_DIR)
}
fn default_outbox_max_mb() -> u64 {
    512
}
fn default_retention_days() -> u32 {
    30
}

impl StorageSection {
    /// The outbox database in [`StorageSection::state_dir`].
    pub fn outbox_path(&self) -> PathBuf {
        outbox_in(&self.state_dir)
    }
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            state_dir: default_state_dir(),
            outbox_max_mb: default_outbox_max_mb(),
            retention_days: default_retention_days(),
        }
    }
}

/// `[privacy]`: keyed hashing of document numbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySection {
    /// File holding the secret key (at least 32 bytes) for the document-number hash. When absent
    /// a random key is drawn at every start: hashes then match nothing at central.
    #[serde(default)]
    pub document_hash_key_file: Option<PathBuf>,
}

/// `[devices.chip_reader]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ChipReaderConfig {
    /// A simulator answering with the simulated traveller's document.
    Simulated {
        /// How long a simulated read takes, in milliseconds.
        #[serde(default = "default_sim_read_ms")]
        read_ms: u64,
        /// The simulated chip's face photo (JPEG or JPEG 2000), for gates whose camera and
        /// face matcher are real: the live face is then matched against this photo.
        #[serde(default)]
        photo: Option<PathBuf>,
    },
    /// A PC/SC contactless reader (pcscd) for the chip, with a page scanner that sends the MRZ
    /// over a serial line (the chip's access key comes from the MRZ).
    Pcsc {
        /// A substring of the reader's PC/SC name.
        reader: String,
        /// The MRZ scanner.
        mrz_scanner: MrzScannerConfig,
        /// Allow BAC for chips without PACE (default true; PACE-only gates set false).
        #[serde(default = "default_true")]
        allow_bac: bool,
        /// How long to wait for the chip after the MRZ was read, in milliseconds.
        #[serde(default = "default_card_wait_ms")]
        card_wait_ms: u64,
        /// PACE on the standardised sets below 112-bit security (`"accept"`, the default, or
        /// `"refuse"`); see [`LegacyPaceGroups`].
        #[serde(default)]
        legacy_pace_groups: LegacyPaceGroups,
    },
}

/// Whether the chip reader runs PACE on ICAO 9303-11's standardised sets below 112-bit
/// security: the 1024-bit DH group (parameter id 0) and the 192-bit curves secp192r1 and
/// brainpoolP192r1 (ids 8 and 9). Documents in circulation use them; BSI TR-02102 and
/// NIST SP 800-57 no longer recommend them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LegacyPaceGroups {
    /// Run PACE on them like on any other set (a chip offering only such a set is still
    /// opened; passive authentication still decides).
    #[default]
    Accept,
    /// Skip them: the reader falls back to BAC when `allow_bac` is true, else the document is
    /// refused as having no supported PACE.
    Refuse,
}

fn default_sim_read_ms() -> u64 {
    600
}

fn default_true() -> bool {
    true
}

fn default_card_wait_ms() -> u64 {
    3_000
}

/// `[devices.chip_reader.mrz_scanner]`: a page/OCR scanner sending MRZ lines as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MrzScannerConfig {
    /// Serial port or udev symlink, e.g. `/dev/gate/mrz`.
    pub port: PathBuf,
    /// Baud rate (8N1).
    #[serde(default = "default_mrz_baud")]
    pub baud: u32,
}

fn default_mrz_baud() -> u32 {
    9_600
}

/// Pixel formats a camera may be asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// Motion JPEG.
    Mjpeg,
    /// YUYV 4:2:2.
    Yuyv,
}

/// `[devices.camera]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CameraConfig {
    /// A simulator answering with the simulated traveller's face scores.
    Simulated {
        /// How long a simulated capture burst takes, in milliseconds.
        #[serde(default = "default_sim_capture_ms")]
        capture_ms: u64,
    },
    /// A V4L2 camera.
    V4l2 {
        /// Device node or udev symlink, e.g. `/dev/gate/camera`.
        device: PathBuf,
        /// Pixel format to negotiate.
        format: PixelFormat,
        /// Frame width in pixels.
        width: u32,
        /// Frame height in pixels.
        height: u32,
        /// Frames per second.
        fps: u32,
    },
    /// A folder of still images played as a camera (demos, tests).
    Frames {
        /// Folder of JPEG/PNG frames.
        dir: PathBuf,
        /// Frames per second.
        fps: u32,
    },
}

fn default_sim_capture_ms() -> u64 {
    700
}

/// One GPIO output line and how it is wired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// Line offset on the chip (BCM number on a Raspberry Pi).
    pub line: u32,
    /// The line is active when low.
    #[serde(default)]
    pub active_low: bool,
}

/// One GPIO input line: how it is wired and debounced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLineConfig {
    /// Line offset on the chip (BCM number on a Raspberry Pi).
    pub line: u32,
    /// The line is active when low.
    #[serde(default)]
    pub active_low: bool,
    /// Internal pull resistor: `as-is` (external resistor, the default), `pull-up`,
    /// `pull-down` or `disabled`.
    #[serde(default)]
    pub bias: InputBias,
    /// Debounce period of the line in milliseconds, done by the GPIO driver (0, the default:
    /// none; at most 1000). The door machine's own filters are in `[devices.door.timings]`.
    #[serde(default)]
    pub debounce_ms: u32,
}

impl InputLineConfig {
    /// Line `line`, active high, no bias, no debounce.
    pub const fn on(line: u32) -> Self {
        Self {
            line,
            active_low: false,
            bias: InputBias::AsIs,
            debounce_ms: 0,
        }
    }
}

/// Door outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoorOutputs {
    /// Lock release (active = unlocked).
    pub lock_release: LineConfig,
    /// Green light.
    pub green_light: LineConfig,
    /// Red light.
    pub red_light: LineConfig,
    /// Buzzer.
    #[serde(default)]
    pub buzzer: Option<LineConfig>,
    /// Whether the lock opens when power or software fails (fail-safe, e.g. fire egress) rather
    /// than staying locked (fail-secure, the default for border gates).
    #[serde(default)]
    pub lock_fail_safe: bool,
}

/// Door inputs, by the names gated's status and `gatectl io` use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoorInputs {
    /// Door closed switch (active = closed).
    #[serde(default)]
    pub door_closed: Option<InputLineConfig>,
    /// Entry-side passage beam (active = interrupted).
    #[serde(default)]
    pub entry_beam: Option<InputLineConfig>,
    /// Exit-side passage beam (active = interrupted); confirms the passage.
    pub exit_beam: InputLineConfig,
    /// Fire-alarm release input.
    #[serde(default)]
    pub fire_alarm: Option<InputLineConfig>,
    /// Tamper switch.
    #[serde(default)]
    pub tamper: Option<InputLineConfig>,
}

/// `[devices.door]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DoorConfig {
    /// An in-memory door whose exit sensor fires when a simulated traveller walks through.
    Simulated {
        /// Time from unlock to the simulated passage, in milliseconds.
        #[serde(default = "default_sim_passage_ms")]
        passage_ms: u64,
    },
    /// Linux GPIO character device (any board).
    GpioCdev {
        /// The chip, e.g. `/dev/gpiochip0`.
        chip: PathBuf,
        /// Output lines.
        outputs: DoorOutputs,
        /// Input lines.
        inputs: DoorInputs,
        /// Time limits and filters of the door machine (`[devices.door.timings]`: unlock
        /// window, held-open alarm, door and beam debounce, passage window, alarm sound).
        #[serde(default)]
        timings: TurnstileTimings,
    },
    /// Raspberry Pi GPIO through rppal.
    Rppal {
        /// Output lines (BCM numbers).
        outputs: DoorOutputs,
        /// Input lines (BCM numbers).
        inputs: DoorInputs,
        /// Time limits and filters of the door machine, as for `gpio-cdev`.
        #[serde(default)]
        timings: TurnstileTimings,
    },
}

fn default_sim_passage_ms() -> u64 {
    1_500
}

/// `[devices.fingerprint]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FingerprintConfig {
    /// A simulator answering with the simulated traveller's finger results.
    Simulated {
        /// How long a simulated placement takes, in milliseconds.
        #[serde(default = "default_sim_finger_ms")]
        placement_ms: u64,
    },
    /// An R30x / ZFM / AS608 module on a serial port.
    R30x {
        /// Serial port, e.g. `/dev/gate/fingerprint`.
        port: PathBuf,
        /// Baud rate (the module's default is 57600).
        #[serde(default = "default_baud")]
        baud: u32,
        /// Module address; absent means the factory address, `FFFFFFFF` (gated takes it from
        /// `devices::fingerprint::r30x::FACTORY_ADDRESS`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<u32>,
        /// Module password; absent means the factory password, `00000000`, with which a
        /// module straight from the factory works (`r30x::FACTORY_PASSWORD`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<u32>,
    },
}

fn default_sim_finger_ms() -> u64 {
    500
}
fn default_baud() -> u32 {
    57_600
}

/// `[devices]`: one entry per device role; which are required depends on the profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Devices {
    /// The passport chip reader.
    pub chip_reader: Option<ChipReaderConfig>,
    /// The camera.
    pub camera: Option<CameraConfig>,
    /// The turnstile / door.
    pub door: Option<DoorConfig>,
    /// The fingerprint module.
    pub fingerprint: Option<FingerprintConfig>,
}

/// `[face]`: the face-matching models and runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaceSection {
    /// Path of the ONNX Runtime shared library.
    pub onnxruntime: PathBuf,
    /// Model manifest of the detector.
    pub detector: PathBuf,
    /// Model manifest of the embedder.
    pub embedder: PathBuf,
    /// Model manifest of the presentation-attack detector.
    #[serde(default)]
    pub attack: Option<PathBuf>,
    /// Inference threads.
    #[serde(default = "default_threads")]
    pub threads: u8,
    /// Frames per capture burst (the best is compared).
    #[serde(default = "default_burst")]
    pub burst_frames: u8,
    /// A match calibration of the agency's own (`gatectl face calibrate`) instead of the one the
    /// embedder's manifest names.
    #[serde(default)]
    pub match_calibration: Option<PathBuf>,
    /// An attack calibration of the agency's own instead of the one the attack manifest names.
    #[serde(default)]
    pub attack_calibration: Option<PathBuf>,
}

fn default_threads() -> u8 {
    2
}
fn default_burst() -> u8 {
    5
}

/// A threshold as written in `[policy.face]`: pinned to the model file it was measured with, or
/// (refused, with a message saying what to write instead) a bare number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThresholdSetting {
    /// `{ value = 0.53, model_sha256 = "…" }`.
    Pinned(PinnedThreshold),
    /// A bare number: meaningless without its model, refused.
    Bare(f32),
}

/// A raw threshold tied to the model file (sha256 of its main ONNX file) it was measured with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedThreshold {
    /// The threshold.
    pub value: f32,
    /// sha256 of the model's main ONNX file (as its manifest states it).
    pub model_sha256: String,
}

/// `[policy.face]`: the face gate's operating point and capture rules. Thresholds are set as
/// error rates and resolved through the calibration of the model gated actually loads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacePolicySection {
    /// Target false-match rate (e.g. 0.0005, the EU Entry/Exit System's point).
    #[serde(default)]
    pub target_fmr: Option<f64>,
    /// A raw match threshold pinned to its model (instead of `target_fmr`).
    #[serde(default)]
    pub match_threshold: Option<ThresholdSetting>,
    /// Target bona fide presentation classification error rate of the attack check (ISO/IEC
    /// 30107-3 BPCER: the share of real faces the attack model wrongly refuses), e.g. 0.01.
    #[serde(default)]
    pub attack_target_bpcer: Option<f64>,
    /// A raw attack threshold pinned to its model (instead of `attack_target_bpcer`).
    #[serde(default)]
    pub attack_threshold: Option<ThresholdSetting>,
    /// Capture attempts (bursts) before the traveller is referred to an officer.
    pub max_attempts: u8,
    /// Time allowed for the whole face step, in milliseconds.
    pub capture_timeout_ms: u64,
}

/// `[policy]` as written: the core's policy, with the face thresholds still as operating points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// Who may use the gate.
    pub eligibility: gate_core::policy::Eligibility,
    /// Face matching.
    pub face: FacePolicySection,
    /// Fingerprints.
    pub fingerprint: gate_core::policy::FingerprintPolicy,
    /// BioCart face photo.
    pub face_photo: gate_core::policy::FacePhotoPolicy,
    /// Time limits.
    pub timeouts: gate_core::policy::Timeouts,
    /// Reading the chip (how often a traveller may lay the passport down again).
    #[serde(default)]
    pub document: gate_core::policy::DocumentPolicy,
}

/// `[biocart]`: where the BioCart's record for the inspection booth goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BioCartSection {
    /// The inspection booth that receives this kiosk's records.
    pub booth_id: String,
    /// The booth's X25519 public key (64 hex digits): records are sealed to it and only the
    /// booth can open them.
    pub booth_public_key_file: PathBuf,
    /// Hours a record waits for central's acknowledgement before it is deleted unsent.
    #[serde(default = "default_handover_ttl_hours")]
    pub handover_ttl_hours: u32,
}

fn default_handover_ttl_hours() -> u32 {
    24
}

/// When a clone-detection protocol (chip or active authentication) must run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloneCheckRequirement {
    /// Never run it.
    Never,
    /// Run it when the chip offers it; a failure refuses the document, absence does not.
    #[default]
    IfAvailable,
    /// Refuse documents whose chip does not offer it.
    Required,
}

/// `[trust]`: what the gate trusts to verify documents (passive authentication), and which
/// clone checks it requires. Reloaded on SIGHUP without restarting gated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    /// CSCA certificate files or directories (DER or PEM).
    #[serde(default)]
    pub csca: Vec<PathBuf>,
    /// ICAO CSCA master list files or directories.
    #[serde(default)]
    pub master_lists: Vec<PathBuf>,
    /// Certificates master lists must be signed with (the signer or its CSCA).
    #[serde(default)]
    pub master_list_signers: Vec<PathBuf>,
    /// CRL files or directories (DER or PEM).
    #[serde(default)]
    pub crls: Vec<PathBuf>,
    /// Refuse documents when no current CRL of the signer's CSCA is loaded.
    #[serde(default)]
    pub require_crl: bool,
    /// Chip Authentication (DG14 or PACE-CAM).
    #[serde(default)]
    pub chip_authentication: CloneCheckRequirement,
    /// Active Authentication (DG15).
    #[serde(default)]
    pub active_authentication: CloneCheckRequirement,
}

/// `[central]`: the server events go to and lists come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralSection {
    /// Base URL, `https://...` (or `http://127.0.0.1:...` for demos).
    pub url: String,
    /// CA certificate(s) that sign central's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// This gate's client certificate (mutual TLS).
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// This gate's client key.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Events per upload batch.
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// Age in seconds beyond which down-synced lists are stale and the gate refuses travellers.
    #[serde(default = "default_max_list_age")]
    pub max_list_age_s: u64,
}

fn default_batch() -> u32 {
    200
}
fn default_max_list_age() -> u64 {
    24 * 3600
}

/// `[reporting]`: figures the gate reports for the agency (published waiting times).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingSection {
    /// Length of a throughput period in seconds: at its end the gate records one
    /// `gate.throughput` event (travellers, travellers per hour, time per traveller).
    #[serde(default = "default_throughput_period_s")]
    pub throughput_period_s: u64,
    /// Seconds between two `gate.heartbeat` events (devices' health, out-of-service reasons,
    /// software version, outbox depth, last sync): central tells a silent gate from an idle one.
    #[serde(default = "default_heartbeat_s")]
    pub heartbeat_s: u64,
}

impl Default for ReportingSection {
    fn default() -> Self {
        Self {
            throughput_period_s: default_throughput_period_s(),
            heartbeat_s: default_heartbeat_s(),
        }
    }
}

fn default_throughput_period_s() -> u64 {
    900
}

fn default_heartbeat_s() -> u64 {
    60
}

/// `[simulation]`: settings for simulated devices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationSection {
    /// When non-zero, a simulated traveller arrives every this many milliseconds (demo mode).
    #[serde(default)]
    pub autopilot_interval_ms: u64,
    /// TEST TOOL: the Unix socket of a demo bench (`demo-bench` of the `virtual-epassport`
    /// crate) standing in front of a gate whose devices are real. `gatectl simulate` and the
    /// autopilot hand their traveller to it: it lays a virtual passport on the PC/SC reader,
    /// types its MRZ on the scanner and shows a photo to the frame-folder camera, and the gate
    /// reads, verifies and matches them like any traveller's. Never set on a gate in service.
    #[serde(default)]
    pub demo_bench: Option<PathBuf>,
}

//! `gatectl fingerprint ...`: technician tools for the serial fingerprint module, and the module
//! simulator for demos and tests.
//!
//! The module is reached the way gated reaches it: `--config FILE` (the gate's configuration)
//! gives the port, baud rate, address and password of `[devices.fingerprint]` and the quality
//! floor and attempts of `[policy.fingerprint]`; flags override it; without either, the
//! module's factory values apply (`devices::fingerprint::r30x::FACTORY_*`).
//!
//! Exit codes: 0 ok, 1 failure (device, link, module error, refused request), 2 usage, 3 no
//! finger within the timeout, 4 finger does not match (verify), 5 image quality under the
//! floor (capture --check). Templates and images are never printed; `capture` writes the image
//! only to the file the technician names.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use devices::fingerprint::image::PACKED_IMAGE_LEN;
use devices::fingerprint::r30x::{
    FACTORY_ADDRESS, FACTORY_BAUD_RATE, FACTORY_PASSWORD, R30xConfig, ReconnectPolicy, SerialR30x,
    SerialSettings,
};
use devices::fingerprint::simulator::{Fault, ModuleSimulator, SimulatedFinger, SimulatorOptions};
use devices::fingerprint::{Capture, FingerprintError, FingerprintSensor, TemplateSlot};
use gate_config::schema::FingerprintConfig;

/// Exit code: no finger was placed within the timeout.
const EXIT_NO_FINGER: u8 = 3;
/// Exit code: the finger does not match.
const EXIT_NO_MATCH: u8 = 4;
/// Exit code: the image quality is under the floor (`capture --check`).
const EXIT_UNDER_FLOOR: u8 = 5;
/// The port when neither a flag nor the configuration names one (the udev link).
const DEFAULT_PORT: &str = "/dev/gate/fingerprint";
/// Finger placements per verification when no configuration says (the shipped policies' value).
const DEFAULT_ATTEMPTS: u8 = 3;

/// Where and how to reach the module.
#[derive(Debug, clap::Args)]
pub struct PortArgs {
    /// The gate's configuration file: port, baud rate, address and password from
    /// [devices.fingerprint], quality floor and attempts from [policy.fingerprint].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serial device of the module [default: the configuration's, else /dev/gate/fingerprint].
    #[arg(long)]
    port: Option<PathBuf>,
    /// Baud rate [default: the configuration's, else the factory 57600].
    #[arg(long)]
    baud: Option<u32>,
    /// Module address in hex, as in devices.fingerprint.address [default: the
    /// configuration's, else the factory FFFFFFFF].
    #[arg(long, value_parser = parse_hex_u32)]
    address: Option<u32>,
    /// Module password in hex [default: the configuration's, else the factory 00000000].
    #[arg(long, value_parser = parse_hex_u32)]
    password: Option<u32>,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Fingerprint subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum FingerprintCommand {
    /// Run the fingerprint module SIMULATOR on a new pty linked at PATH, at 57600 baud, until
    /// killed. Reads control lines on stdin: `place ID [QUALITY]`, `remove`, `garbage`,
    /// `halfframe`, `drop`, `corrupt`, `slow MS`, `vanish MS`.
    Simulate {
        /// Symlink to create to the pty (replaced if it exists).
        #[arg(long, value_name = "PATH")]
        link: PathBuf,
        /// Templates to pre-enrol: simulated finger identities 1..=N at pages 0..N-1.
        #[arg(long, default_value_t = 0)]
        templates: u16,
        /// Put the finger with this identity on the sensor from the start.
        #[arg(long)]
        finger: Option<u64>,
        /// Do not pace traffic to the baud rate (a pty is otherwise instantaneous).
        #[arg(long)]
        no_pacing: bool,
    },
    /// Show module parameters and the number of stored templates.
    Info {
        #[command(flatten)]
        port: PortArgs,
    },
    /// Wait for a finger, upload its image, write it to FILE as PGM and rate its quality
    /// against the floor (policy.fingerprint.quality_floor of --config, or --floor).
    Capture {
        /// Output file (PGM).
        file: PathBuf,
        #[command(flatten)]
        port: PortArgs,
        /// Seconds to wait for a finger.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Quality floor (0..=100) instead of the configuration's.
        #[arg(long)]
        floor: Option<u8>,
        /// Exit 5 when the quality is under the floor (needs a floor).
        #[arg(long)]
        check: bool,
    },
    /// Enrol a finger (two captures) into library PAGE, which must be free unless --force.
    Enroll {
        /// Library page to store the template at.
        #[arg(long)]
        page: u16,
        /// Overwrite a template already stored at PAGE.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        port: PortArgs,
        /// Seconds to wait for each finger placement.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Verify a live finger 1:1 against the template at library PAGE (exit 4 if no match).
    /// Like the gate, a placement the module cannot image is retried, up to the attempts of
    /// the policy (--attempts).
    Verify {
        /// Library page of the enrolled template.
        #[arg(long)]
        page: u16,
        #[command(flatten)]
        port: PortArgs,
        /// Seconds to wait for the finger, per placement.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Placements before giving up [default: policy.fingerprint.max_attempts of --config,
        /// else 3].
        #[arg(long)]
        attempts: Option<u8>,
    },
    /// List the occupied library pages.
    Library {
        #[command(flatten)]
        port: PortArgs,
    },
    /// Delete COUNT templates from library PAGE on.
    Delete {
        /// First library page to delete.
        #[arg(long)]
        page: u16,
        /// Number of templates.
        #[arg(long, default_value_t = 1)]
        count: u16,
        #[command(flatten)]
        port: PortArgs,
    },
    /// Delete every template in the module's library.
    Empty {
        /// Confirm: the whole library is erased.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        port: PortArgs,
    },
}

fn parse_hex_u32(text: &str) -> Result<u32, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text)
        .replace('_', "");
    u32::from_str_radix(&digits, 16).map_err(|error| format!("not a hex number: {error}"))
}

/// Runs a fingerprint subcommand.
pub fn run(command: FingerprintCommand) -> anyhow::Result<ExitCode> {
    match command {
        FingerprintCommand::Simulate {
            link,
            templates,
            finger,
            no_pacing,
        } => simulate(link, templates, finger, !no_pacing),
        FingerprintCommand::Info { port } => info(&Module::resolve(&port)?),
        FingerprintCommand::Capture {
            file,
            port,
            timeout,
            floor,
            check,
        } => capture(
            &file,
            &Module::resolve(&port)?,
            Duration::from_secs(timeout),
            floor,
            check,
        ),
        FingerprintCommand::Enroll {
            page,
            force,
            port,
            timeout,
        } => enroll(
            page,
            force,
            &Module::resolve(&port)?,
            Duration::from_secs(timeout),
        ),
        FingerprintCommand::Verify {
            page,
            port,
            timeout,
            attempts,
        } => {
            let module = Module::resolve(&port)?;
            let attempts = attempts.unwrap_or(module.attempts);
            verify(page, &module, Duration::from_secs(timeout), attempts)
        }
        FingerprintCommand::Library { port } => library(&Module::resolve(&port)?),
        FingerprintCommand::Delete { page, count, port } => {
            delete(page, count, &Module::resolve(&port)?)
        }
        FingerprintCommand::Empty { yes, port } => empty(yes, &Module::resolve(&port)?),
    }
}

/// The module to talk to and the policy that applies to it, from flags, the gate's
/// configuration and the factory values, in that order.
#[derive(Debug)]
struct Module {
    port: PathBuf,
    baud: u32,
    address: u32,
    password: u32,
    json: bool,
    /// The quality floor and the file it came from.
    floor: Option<(u8, PathBuf)>,
    attempts: u8,
}

impl Module {
    fn resolve(args: &PortArgs) -> anyhow::Result<Self> {
        let mut module = Module {
            port: PathBuf::from(DEFAULT_PORT),
            baud: FACTORY_BAUD_RATE,
            address: FACTORY_ADDRESS,
            password: FACTORY_PASSWORD,
            json: args.json,
            floor: None,
            attempts: DEFAULT_ATTEMPTS,
        };
        if let Some(file) = &args.config {
            let config = gate_config::load(file)
                .map_err(|error| anyhow::anyhow!("{error}"))?
                .config;
            if let Some(FingerprintConfig::R30x {
                port,
                baud,
                address,
                password,
            }) = &config.devices.fingerprint
            {
                module.port = port.clone();
                module.baud = *baud;
                module.address = address.unwrap_or(FACTORY_ADDRESS);
                module.password = password.unwrap_or(FACTORY_PASSWORD);
            }
            module.floor = Some((config.policy.fingerprint.quality_floor, file.clone()));
            module.attempts = config.policy.fingerprint.max_attempts;
        }
        if let Some(port) = &args.port {
            module.port = port.clone();
        }
        module.baud = args.baud.unwrap_or(module.baud);
        module.address = args.address.unwrap_or(module.address);
        module.password = args.password.unwrap_or(module.password);
        Ok(module)
    }

    /// Open the module and handshake, or explain in plain words what to check.
    fn open(&self) -> anyhow::Result<SerialR30x> {
        let settings = SerialSettings {
            baud_rate: self.baud,
            ..SerialSettings::new(&self.port)
        };
        let config = R30xConfig {
            address: self.address,
            password: self.password,
            ..R30xConfig::default()
        };
        SerialR30x::open(settings, config, ReconnectPolicy::default())
            .map_err(|error| self.unreachable(error))
    }

    fn unreachable(&self, error: FingerprintError) -> anyhow::Error {
        let port = self.port.display();
        if matches!(error.cause(), FingerprintError::InUse { .. }) {
            anyhow::anyhow!(
                "{error}: gatectl needs the module to itself; stop that program first (gated: systemctl stop gated)"
            )
        } else if error.is_wrong_password() {
            anyhow::anyhow!(
                "the module on {port} refused the password {:08X}: give its password with --password or the gate's file with --config (a module from the factory has {FACTORY_PASSWORD:08X})",
                self.password
            )
        } else if error.is_no_answer() {
            anyhow::anyhow!(
                "no valid answer from a module on {port} at {} baud, address {:08X}: check the baud rate (--baud; factory {FACTORY_BAUD_RATE}), the address (--address; factory {FACTORY_ADDRESS:08X}) and the wiring (module TX to adapter RX, RX to TX, power) [{error}]",
                self.baud,
                self.address
            )
        } else {
            anyhow::Error::new(error)
                .context(format!("cannot reach the fingerprint module on {port}"))
        }
    }
}

/// Human progress messages go to stderr so `--json` stdout stays one object.
fn say(message: &str) {
    eprintln!("{message}");
}

fn info(module: &Module) -> anyhow::Result<ExitCode> {
    let mut sensor = module.open()?;
    let info = sensor.info()?;
    let count = sensor.template_count()?;
    if module.json {
        println!(
            "{}",
            serde_json::json!({
                "family": format!("{:?}", info.family),
                "device": info.device,
                "library_capacity": info.library_capacity,
                "templates": count,
                "security_level": info.security_level,
                "packet_size": info.packet_size,
                "baud_rate": info.baud_rate,
                "address": format!("{:08X}", info.address),
            })
        );
    } else {
        println!(
            "{:?} module on {}: {count}/{} templates, security level {}, packets of {} bytes, {} baud, address {:08X}",
            info.family,
            info.device,
            info.library_capacity,
            info.security_level,
            info.packet_size,
            info.baud_rate,
            info.address
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn wait_for_finger(sensor: &mut SerialR30x, timeout: Duration) -> anyhow::Result<bool> {
    Ok(sensor.wait_for_finger(timeout, Duration::from_millis(100))? == Capture::FingerImaged)
}

fn wait_for_lift(sensor: &mut SerialR30x, timeout: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if sensor.capture()? == Capture::NoFinger {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(false)
}

fn capture(
    file: &Path,
    module: &Module,
    timeout: Duration,
    floor: Option<u8>,
    check: bool,
) -> anyhow::Result<ExitCode> {
    let floor = match (floor, &module.floor) {
        (Some(floor), _) => Some((floor, "--floor".to_owned())),
        (None, Some((floor, file))) => Some((
            *floor,
            format!("policy.fingerprint.quality_floor in {}", file.display()),
        )),
        (None, None) => None,
    };
    if check && floor.is_none() {
        bail!("--check needs a quality floor: give the gate's file with --config, or --floor");
    }
    let mut sensor = module.open()?;
    let packet_size = sensor.with_driver(|driver| Ok(driver.packet_size()))?;
    say("place a finger on the sensor");
    if !wait_for_finger(&mut sensor, timeout)? {
        say("no finger within the timeout");
        return Ok(ExitCode::from(EXIT_NO_FINGER));
    }
    let estimate = packet_size.transfer_time(PACKED_IMAGE_LEN, module.baud);
    say(&format!(
        "uploading the image: {PACKED_IMAGE_LEN} bytes in {}-byte packets, about {:.1} s at {} baud",
        packet_size.bytes(),
        estimate.as_secs_f64(),
        module.baud
    ));
    let image = sensor.upload_image()?;
    std::fs::write(file, image.to_pgm())
        .with_context(|| format!("cannot write {}", file.display()))?;
    let quality = image.quality();
    let meets_floor = floor.as_ref().map(|(floor, _)| quality.score >= *floor);
    if module.json {
        println!(
            "{}",
            serde_json::json!({
                "file": file.display().to_string(),
                "width": 256,
                "height": 288,
                "quality_score": quality.score,
                "coverage": quality.coverage,
                "contrast": quality.contrast,
                "floor": floor.as_ref().map(|(floor, _)| floor),
                "meets_floor": meets_floor,
            })
        );
    } else {
        println!(
            "wrote {} (256x288 PGM); quality {} (coverage {:.2}, contrast {:.2}; host heuristic, not NFIQ 2)",
            file.display(),
            quality.score,
            quality.coverage,
            quality.contrast
        );
        match &floor {
            Some((floor, source)) if quality.score >= *floor => {
                println!(
                    "at or above the floor {floor} ({source}): the gate would accept this image"
                );
            }
            Some((floor, source)) => println!(
                "UNDER the floor {floor} ({source}): the gate would ask for the finger again"
            ),
            None => println!("no floor to compare with (give --config or --floor)"),
        }
    }
    Ok(if check && meets_floor == Some(false) {
        ExitCode::from(EXIT_UNDER_FLOOR)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether library `page` holds a template (ReadIndexTable, 256 pages per index page).
fn page_used(sensor: &mut SerialR30x, page: u16) -> anyhow::Result<bool> {
    let index_page = u8::try_from(page / 256).context("page beyond the index table")?;
    let table = sensor.with_driver(|driver| driver.read_index_table(index_page))?;
    Ok(table.get(usize::from(page % 256)).copied().unwrap_or(false))
}

fn enroll(page: u16, force: bool, module: &Module, timeout: Duration) -> anyhow::Result<ExitCode> {
    let mut sensor = module.open()?;
    // Checked before anyone is asked for a finger.
    let capacity = sensor.info()?.library_capacity;
    if page >= capacity {
        bail!(
            "page {page} is beyond the module's library of {capacity} pages (0..={}); nothing was enrolled",
            capacity.saturating_sub(1)
        );
    }
    if page_used(&mut sensor, page)? && !force {
        bail!(
            "page {page} already holds a template; choose a free page (gatectl fingerprint library) or add --force to overwrite it"
        );
    }
    for (index, slot) in [TemplateSlot::First, TemplateSlot::Second]
        .into_iter()
        .enumerate()
    {
        if index == 1 {
            say("lift the finger");
            if !wait_for_lift(&mut sensor, timeout)? {
                say("the finger was not lifted within the timeout");
                return Ok(ExitCode::from(EXIT_NO_FINGER));
            }
            say("place the same finger again");
        } else {
            say("place the finger");
        }
        if !wait_for_finger(&mut sensor, timeout)? {
            say("no finger within the timeout");
            return Ok(ExitCode::from(EXIT_NO_FINGER));
        }
        sensor
            .extract_template(slot)
            .with_context(|| format!("capture {} unusable", index + 1))?;
    }
    sensor
        .combine_slots()
        .context("the two captures do not combine (different fingers?)")?;
    sensor.store_template(TemplateSlot::First, page)?;
    if module.json {
        println!("{}", serde_json::json!({ "enrolled": true, "page": page }));
    } else {
        println!("enrolled at page {page}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One placement: `Ok(None)` when no finger came within the timeout, `Err` for a finger or
/// image the module could not use (present it again) or any other fault.
fn placement(sensor: &mut SerialR30x, timeout: Duration) -> Result<Option<()>, FingerprintError> {
    if sensor.wait_for_finger(timeout, Duration::from_millis(100))? == Capture::NoFinger {
        return Ok(None);
    }
    sensor.extract_template(TemplateSlot::First)?;
    Ok(Some(()))
}

fn verify(page: u16, module: &Module, timeout: Duration, attempts: u8) -> anyhow::Result<ExitCode> {
    let mut sensor = module.open()?;
    sensor
        .load_template(page, TemplateSlot::Second)
        .with_context(|| format!("no usable template at page {page}"))?;
    let attempts = attempts.max(1);
    let mut imaged = false;
    for attempt in 1..=attempts {
        say("place the finger");
        match placement(&mut sensor, timeout) {
            Ok(Some(())) => {
                imaged = true;
                break;
            }
            Ok(None) => {
                say("no finger within the timeout");
                return Ok(ExitCode::from(EXIT_NO_FINGER));
            }
            // As the gate does: a placement the module could not image counts as one attempt.
            Err(error) if error.is_finger_problem() => {
                say(&format!(
                    "attempt {attempt} of {attempts} gave no usable image: {error}"
                ));
            }
            Err(error) => return Err(error.into()),
        }
    }
    if !imaged {
        say(&format!("no usable finger image in {attempts} attempts"));
        return Ok(ExitCode::from(EXIT_NO_FINGER));
    }
    let outcome = sensor.compare_slots()?;
    if module.json {
        println!(
            "{}",
            serde_json::json!({ "page": page, "matched": outcome.matched, "score": outcome.score })
        );
    } else if outcome.matched {
        println!("match with page {page} (score {})", outcome.score);
    } else {
        println!("no match with page {page} (score {})", outcome.score);
    }
    Ok(if outcome.matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NO_MATCH)
    })
}

/// The occupied pages of the library.
fn occupied_pages(sensor: &mut SerialR30x) -> anyhow::Result<(u16, Vec<u16>)> {
    let capacity = sensor.info()?.library_capacity;
    let mut pages = Vec::new();
    let index_pages = capacity.div_ceil(256).min(4) as u8;
    for index_page in 0..index_pages {
        let table = sensor.with_driver(|driver| driver.read_index_table(index_page))?;
        for (offset, used) in table.into_iter().enumerate() {
            let page = u16::from(index_page) * 256 + offset as u16;
            if used && page < capacity {
                pages.push(page);
            }
        }
    }
    Ok((capacity, pages))
}

fn library(module: &Module) -> anyhow::Result<ExitCode> {
    let mut sensor = module.open()?;
    let (capacity, pages) = occupied_pages(&mut sensor)?;
    if module.json {
        println!(
            "{}",
            serde_json::json!({ "capacity": capacity, "templates": pages.len(), "pages": pages })
        );
    } else {
        println!("{} of {capacity} pages used: {pages:?}", pages.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn delete(page: u16, count: u16, module: &Module) -> anyhow::Result<ExitCode> {
    let mut sensor = module.open()?;
    let capacity = sensor.info()?.library_capacity;
    let end = u32::from(page) + u32::from(count);
    if count == 0 || end > u32::from(capacity) {
        bail!(
            "pages {page}..{end} are not within the module's library of {capacity} pages; nothing was deleted"
        );
    }
    sensor.delete_templates(page, count)?;
    let remaining = sensor.template_count()?;
    if module.json {
        println!(
            "{}",
            serde_json::json!({ "deleted_from": page, "count": count, "templates": remaining })
        );
    } else {
        println!(
            "deleted pages {page}..{}; {remaining} templates remain",
            end - 1
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn empty(yes: bool, module: &Module) -> anyhow::Result<ExitCode> {
    if !yes {
        eprintln!(
            "gatectl: this erases every template in the module's library; add --yes to confirm"
        );
        return Ok(ExitCode::from(2));
    }
    let mut sensor = module.open()?;
    let before = sensor.template_count()?;
    sensor.clear_library()?;
    if module.json {
        println!(
            "{}",
            serde_json::json!({ "deleted": before, "templates": 0 })
        );
    } else {
        println!("library emptied ({before} templates deleted)");
    }
    Ok(ExitCode::SUCCESS)
}

fn simulate(
    link: PathBuf,
    templates: u16,
    finger: Option<u64>,
    pacing: bool,
) -> anyhow::Result<ExitCode> {
    let simulator = ModuleSimulator::start(SimulatorOptions {
        link: Some(link.clone()),
        pace_to_baud_rate: pacing,
        ..SimulatorOptions::default()
    })
    .context("cannot start the fingerprint module simulator")?;
    let capacity = simulator.with_module(|module| module.config().library_capacity);
    anyhow::ensure!(
        templates <= capacity,
        "--templates {templates} exceeds the simulated library capacity {capacity}"
    );
    simulator.with_module(|module| {
        for page in 0..templates {
            module.enroll_synthetic(page, SimulatedFinger::good(u64::from(page) + 1));
        }
    });
    if let Some(identity) = finger {
        simulator.place_finger(SimulatedFinger::good(identity));
    }
    println!(
        "SIMULATED fingerprint module (R30x protocol) on {} -> {} at {FACTORY_BAUD_RATE} baud, {templates} templates (finger identities 1..={templates} at pages 0..{}); Ctrl-C to stop",
        link.display(),
        simulator.slave_path().display(),
        templates.saturating_sub(1),
    );
    say(
        "stdin: place ID [QUALITY] | remove | garbage | halfframe | drop | corrupt | slow MS | vanish MS",
    );
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        match control(&simulator, &line) {
            Ok(reply) => say(&reply),
            Err(error) => say(&format!("? {error}")),
        }
    }
    // stdin closed (e.g. started in the background): keep serving until killed.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn control(simulator: &ModuleSimulator, line: &str) -> Result<String, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let number = |index: usize| -> Result<u64, String> {
        words
            .get(index)
            .ok_or_else(|| format!("missing argument {index}"))?
            .parse::<u64>()
            .map_err(|error| error.to_string())
    };
    match words.first().copied() {
        Some("place") => {
            let identity = number(1)?;
            let quality = if words.len() > 2 {
                number(2)?.min(100) as u8
            } else {
                90
            };
            simulator.place_finger(SimulatedFinger { identity, quality });
            Ok(format!("finger {identity} placed (quality {quality})"))
        }
        Some("remove") => {
            simulator.remove_finger();
            Ok("finger removed".into())
        }
        Some("garbage") => {
            simulator.inject(Fault::GarbageBeforeNextResponse(vec![
                0x00, 0xEF, 0x55, 0xAA,
            ]));
            Ok("garbage before the next answer".into())
        }
        Some("halfframe") => {
            simulator.inject(Fault::HalfFrameBeforeNextResponse);
            Ok("half frame before the next answer".into())
        }
        Some("drop") => {
            simulator.inject(Fault::DropPacketOfNextResponse { index: 0 });
            Ok("next acknowledgement dropped".into())
        }
        Some("corrupt") => {
            simulator.inject(Fault::CorruptChecksumOfNextResponse { index: 0 });
            Ok("next acknowledgement corrupted".into())
        }
        Some("slow") => {
            simulator.set_processing_delay(Duration::from_millis(number(1)?));
            Ok("processing delay set".into())
        }
        Some("vanish") => {
            simulator.inject(Fault::Vanish {
                reappear_after: Some(Duration::from_millis(number(1)?)),
            });
            Ok("device vanishes".into())
        }
        Some(other) => Err(format!("unknown command {other:?}")),
        None => Ok(String::new()),
    }
}

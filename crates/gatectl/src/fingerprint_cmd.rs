//! `gatectl fingerprint ...`: technician tools for the serial fingerprint module, and the module
//! simulator for demos and tests.
//!
//! Exit codes: 0 ok, 1 failure (device, link, module error), 2 usage, 3 no finger within the
//! timeout, 4 finger does not match (verify). Templates and images are never printed; `capture`
//! writes the image only to the file the technician names.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use devices::fingerprint::r30x::{R30xConfig, ReconnectPolicy, SerialR30x, SerialSettings};
use devices::fingerprint::simulator::{Fault, ModuleSimulator, SimulatedFinger, SimulatorOptions};
use devices::fingerprint::{Capture, FingerprintSensor, TemplateSlot};

/// Exit code: no finger was placed within the timeout.
const EXIT_NO_FINGER: u8 = 3;
/// Exit code: the finger does not match.
const EXIT_NO_MATCH: u8 = 4;

/// Where and how to reach the module.
#[derive(Debug, clap::Args)]
pub struct PortArgs {
    /// Serial device of the module.
    #[arg(long, default_value = "/dev/gate/fingerprint")]
    port: PathBuf,
    /// Baud rate.
    #[arg(long, default_value_t = 57_600)]
    baud: u32,
    /// Module password (hex, e.g. 00000000).
    #[arg(long, default_value = "00000000", value_parser = parse_hex_u32)]
    password: u32,
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
    /// Wait for a finger, upload its image and write it to FILE as PGM.
    Capture {
        /// Output file (PGM).
        file: PathBuf,
        #[command(flatten)]
        port: PortArgs,
        /// Seconds to wait for a finger.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Enrol a finger (two captures) into library PAGE.
    Enroll {
        /// Library page to store the template at.
        #[arg(long)]
        page: u16,
        #[command(flatten)]
        port: PortArgs,
        /// Seconds to wait for each finger placement.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Verify a live finger 1:1 against the template at library PAGE (exit 4 if no match).
    Verify {
        /// Library page of the enrolled template.
        #[arg(long)]
        page: u16,
        #[command(flatten)]
        port: PortArgs,
        /// Seconds to wait for the finger.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// List the occupied library pages.
    Library {
        #[command(flatten)]
        port: PortArgs,
    },
}

fn parse_hex_u32(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|error| format!("not a hex number: {error}"))
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
        FingerprintCommand::Info { port } => info(&port),
        FingerprintCommand::Capture {
            file,
            port,
            timeout,
        } => capture(&file, &port, Duration::from_secs(timeout)),
        FingerprintCommand::Enroll {
            page,
            port,
            timeout,
        } => enroll(page, &port, Duration::from_secs(timeout)),
        FingerprintCommand::Verify {
            page,
            port,
            timeout,
        } => verify(page, &port, Duration::from_secs(timeout)),
        FingerprintCommand::Library { port } => library(&port),
    }
}

fn open(args: &PortArgs) -> anyhow::Result<SerialR30x> {
    let mut settings = SerialSettings::new(&args.port);
    settings.baud_rate = args.baud;
    let config = R30xConfig {
        password: args.password,
        ..R30xConfig::default()
    };
    SerialR30x::open(settings, config, ReconnectPolicy::default()).with_context(|| {
        format!(
            "cannot reach the fingerprint module on {}",
            args.port.display()
        )
    })
}

/// Human progress messages go to stderr so `--json` stdout stays one object.
fn say(message: &str) {
    eprintln!("{message}");
}

fn info(args: &PortArgs) -> anyhow::Result<ExitCode> {
    let mut sensor = open(args)?;
    let info = sensor.info()?;
    let count = sensor.template_count()?;
    if args.json {
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

fn capture(file: &Path, args: &PortArgs, timeout: Duration) -> anyhow::Result<ExitCode> {
    let mut sensor = open(args)?;
    say("place a finger on the sensor");
    if !wait_for_finger(&mut sensor, timeout)? {
        say("no finger within the timeout");
        return Ok(ExitCode::from(EXIT_NO_FINGER));
    }
    say("uploading the image (about 7 s at 57600 baud)");
    let image = sensor.upload_image()?;
    std::fs::write(file, image.to_pgm())
        .with_context(|| format!("cannot write {}", file.display()))?;
    let quality = image.quality();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "file": file.display().to_string(),
                "width": 256,
                "height": 288,
                "quality_score": quality.score,
                "coverage": quality.coverage,
                "contrast": quality.contrast,
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
    }
    Ok(ExitCode::SUCCESS)
}

fn enroll(page: u16, args: &PortArgs, timeout: Duration) -> anyhow::Result<ExitCode> {
    let mut sensor = open(args)?;
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
    if args.json {
        println!("{}", serde_json::json!({ "enrolled": true, "page": page }));
    } else {
        println!("enrolled at page {page}");
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(page: u16, args: &PortArgs, timeout: Duration) -> anyhow::Result<ExitCode> {
    let mut sensor = open(args)?;
    sensor
        .load_template(page, TemplateSlot::Second)
        .with_context(|| format!("no usable template at page {page}"))?;
    say("place the finger");
    if !wait_for_finger(&mut sensor, timeout)? {
        say("no finger within the timeout");
        return Ok(ExitCode::from(EXIT_NO_FINGER));
    }
    sensor.extract_template(TemplateSlot::First)?;
    let outcome = sensor.compare_slots()?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "page": page, "matched": outcome.matched, "score": outcome.score })
        );
    } else if outcome.matched {
        println!("match with page {page} (score {})", outcome.score);
    } else {
        println!("no match with page {page}");
    }
    Ok(if outcome.matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NO_MATCH)
    })
}

fn library(args: &PortArgs) -> anyhow::Result<ExitCode> {
    let mut sensor = open(args)?;
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
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "capacity": capacity, "templates": pages.len(), "pages": pages })
        );
    } else {
        println!("{} of {capacity} pages used: {pages:?}", pages.len());
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
        "SIMULATED fingerprint module (R30x protocol) on {} -> {} at 57600 baud, {templates} templates (finger identities 1..={templates} at pages 0..{}); Ctrl-C to stop",
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

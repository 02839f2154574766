//! `gatectl io watch`: live door input states, offline (stop gated first: the GPIO lines can
//! be requested by one process at a time).
//!
//! It reads the gate's own configuration file, `[devices.door]` only (the one door schema,
//! validated as gated validates it), and names the inputs as gated's status does. Opening the
//! lines drives every configured output to its safe state (lock engaged unless configured
//! fail-safe), exactly like gated at start-up. The gpio-cdev and rppal backends need gatectl
//! built with the cargo features `gpio-cdev` / `rppal`. Exit codes: 0 ok, 1 failure, 2 usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use devices::turnstile::TurnstileIo;

/// I/O subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IoCommand {
    /// Print every mapped input's state, then each input edge as it happens.
    Watch {
        /// The gate's configuration file (its `[devices.door]` is read).
        #[arg(long)]
        config: PathBuf,
        /// Stop after this many edges.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<u64>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an I/O subcommand.
pub fn run(command: IoCommand) -> anyhow::Result<ExitCode> {
    match command {
        IoCommand::Watch {
            config,
            count,
            duration,
            json,
        } => watch(&config, count, duration.map(Duration::from_secs), json),
    }
}

fn watch(
    config: &Path,
    count: Option<u64>,
    duration: Option<Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let door = gate_config::load_door(config).map_err(|err| anyhow::anyhow!("{err}"))?;
    let mut io = door
        .io_config()
        .open()
        .context("cannot open the door's lines")?;
    for input in io.inputs() {
        let active = io
            .read_input(input)
            .with_context(|| format!("cannot read input {input}"))?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "state": { "input": input, "active": active } })
            );
        } else {
            println!("{input:<14} {}", if active { "active" } else { "inactive" });
        }
    }
    let started = Instant::now();
    let mut seen = 0u64;
    while count.is_none_or(|count| seen < count) {
        let remaining = match duration {
            Some(duration) => match duration.checked_sub(started.elapsed()) {
                Some(remaining) if !remaining.is_zero() => remaining,
                _ => break,
            },
            None => Duration::from_secs(1),
        };
        let Some(edge) = io.wait_edge(remaining.min(Duration::from_secs(1)))? else {
            continue;
        };
        seen += 1;
        if json {
            println!(
                "{}",
                serde_json::json!({ "edge": {
                    "input": edge.input,
                    "active": edge.active,
                    "timestamp_ns": u64::try_from(edge.timestamp.as_nanos()).unwrap_or(u64::MAX),
                } })
            );
        } else {
            println!(
                "{:>14.6} s  {:<14} {}",
                edge.timestamp.as_secs_f64(),
                edge.input,
                if edge.active { "active" } else { "inactive" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

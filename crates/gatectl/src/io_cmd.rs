//! `gatectl io watch`: live turnstile input states, offline (stop gated first: the GPIO lines
//! can be requested by one process at a time).
//!
//! Opening the lines drives every configured output to its safe state (lock engaged unless
//! configured fail-safe), exactly like gated at start-up. The gpio-cdev and rppal backends need
//! gatectl built with the cargo features `gpio-cdev` / `rppal`. Exit codes: 0 ok, 1 failure,
//! 2 usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use devices::turnstile::{TurnstileIo, TurnstileIoConfig};

/// I/O subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IoCommand {
    /// Print every mapped input's state, then each input edge as it happens.
    Watch {
        /// TOML file with the turnstile I/O config, either at the top level or as a
        /// `[turnstile]` table (so a gate config file works as is).
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

fn load_config(path: &Path) -> anyhow::Result<TurnstileIoConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    let config: TurnstileIoConfig = match table.get("turnstile") {
        Some(section) => section.clone().try_into(),
        None => toml::Value::Table(table).try_into(),
    }
    .with_context(|| format!("{}: invalid turnstile config", path.display()))?;
    config
        .validate()
        .with_context(|| format!("{}: invalid turnstile config", path.display()))?;
    Ok(config)
}

fn watch(
    config: &Path,
    count: Option<u64>,
    duration: Option<Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = load_config(config)?;
    let mut io = config.open().context("cannot open the turnstile lines")?;
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

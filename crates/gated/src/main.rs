//! `gated`: the gate daemon. See the crate documentation of the `gated` library.

use anyhow::Context;
use clap::Parser;
use gated::daemon::{self, Paths};
use std::path::PathBuf;
use std::process::ExitCode;

/// The gate daemon.
#[derive(Debug, Parser)]
#[command(name = "gated", version, about)]
struct Cli {
    /// The gate's configuration file.
    #[arg(
        long,
        short,
        value_name = "FILE",
        required_unless_present = "check_config"
    )]
    config: Option<PathBuf>,
    /// Validate FILE, print every problem with its key path and exit (0 valid, 1 invalid).
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    check_config: Option<PathBuf>,
    /// Override `control.socket`.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Override `storage.state_dir`.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Simulated gates and gates before a demo bench only: send a random simulated traveller
    /// every MS milliseconds (demo).
    #[arg(long, value_name = "MS")]
    simulate_travellers_every_ms: Option<u64>,
    /// Where to log: the journal under systemd (auto), the journal's native socket, or text or
    /// JSON lines on stderr. Filter with GATED_LOG (e.g. `info,gated::door=debug`).
    #[arg(long, value_enum, value_name = "WHERE", default_value_t)]
    log: gate_logging::LogFormat,
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match gate_config::load(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{}: warning: {warning}", path.display());
            }
            for note in loaded.config.operating_point_notes() {
                println!("{}: {note}", path.display());
            }
            println!(
                "{}: ok ({} gate {})",
                path.display(),
                loaded.config.gate.profile.as_str(),
                loaded.config.gate.id
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            eprintln!("{}: {} problem(s)", path.display(), err.problems.len());
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        _ => {
            tracing::error!("cannot install signal handlers; stop with SIGKILL only");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let path = cli.config.context("--config is required")?;
    let loaded = gate_config::load(&path).map_err(|err| anyhow::anyhow!("{err}"))?;
    for warning in &loaded.warnings {
        tracing::warn!(key = %warning.key, "{}", warning.message);
    }
    let mut config = loaded.config;
    if let Some(ms) = cli.simulate_travellers_every_ms {
        anyhow::ensure!(
            config.fully_simulated() || config.simulation.demo_bench.is_some(),
            "--simulate-travellers-every-ms needs a gate whose devices are all simulated or a demo bench"
        );
        config.simulation.autopilot_interval_ms = ms;
    }
    let paths = Paths {
        socket: cli.socket.unwrap_or_else(|| config.control.socket.clone()),
        state_dir: cli
            .state_dir
            .unwrap_or_else(|| config.storage.state_dir.clone()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(daemon::run(config, paths, shutdown_signal()))?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.check_config {
        return check_config(path);
    }
    if let Err(err) = gate_logging::init(cli.log, "GATED_LOG") {
        eprintln!("gated: {err}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("gated: {err:#}");
            ExitCode::FAILURE
        }
    }
}

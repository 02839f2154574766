//! Diagnostics CLI for gate technicians: talks to gated over its control socket and runs offline checks.

use std::process::ExitCode;

use clap::Parser;

mod fingerprint_cmd;
mod face_cmd;
mod mrz_cmd;

/// Command line of gatectl.
#[derive(Debug, Parser)]
#[command(name = "gatectl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Top-level commands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Offline machine readable zone checks.
    #[command(subcommand)]
    Mrz(mrz_cmd::MrzCommand),
    /// Offline face comparison and verification evaluation.
    #[command(subcommand)]
    Face(face_cmd::FaceCommand),
    /// Serial fingerprint module: technician tools and the module simulator.
    #[command(subcommand)]
    Fingerprint(fingerprint_cmd::FingerprintCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mrz(cmd) => mrz_cmd::run(cmd),
        Command::Face(cmd) => face_cmd::run(cmd),
        Command::Fingerprint(cmd) => fingerprint_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gatectl: {error:#}");
            ExitCode::FAILURE
        }
    }
}

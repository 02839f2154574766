//! Diagnostics CLI for gate technicians: talks to gated over its control socket and runs offline checks.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod camera_cmd;
mod chip_cmd;
mod config_cmd;
mod daemon_cmd;
mod door_cmd;
mod face_cmd;
mod fingerprint_cmd;
mod io_cmd;
mod mrz_cmd;
mod outbox_cmd;
mod trust_cmd;

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
    /// Show the gate's status: profile, devices, transaction, counters, outbox.
    Status {
        #[command(flatten)]
        socket: daemon_cmd::SocketArg,
        /// Print the status as JSON (stable for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Gate configuration files.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Send a simulated traveller through a gate whose devices are all simulated, or through the
    /// demo bench before a demo gate's real devices, and say what the gate decided (exit 1 if it
    /// did not take the traveller or decide within --wait).
    Simulate {
        #[command(flatten)]
        socket: daemon_cmd::SocketArg,
        /// What kind of traveller.
        #[arg(value_enum)]
        kind: daemon_cmd::TravellerKind,
        /// Seconds to wait for the gate's decision on the traveller.
        #[arg(long, default_value_t = 60)]
        wait: u64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Clear a deny after an officer attended (or cancel the transaction in progress).
    OfficerReset {
        #[command(flatten)]
        socket: daemon_cmd::SocketArg,
    },
    /// Take the gate out of service for maintenance (`on`) or put it back (`off`).
    Maintenance {
        #[command(flatten)]
        socket: daemon_cmd::SocketArg,
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Offline machine readable zone checks.
    #[command(subcommand)]
    Mrz(mrz_cmd::MrzCommand),
    /// Read a document chip through a PC/SC reader.
    #[command(subcommand)]
    Chip(chip_cmd::ChipCommand),
    /// Offline face comparison and verification evaluation.
    #[command(subcommand)]
    Face(face_cmd::FaceCommand),
    /// Serial fingerprint module: technician tools and the module simulator.
    #[command(subcommand)]
    Fingerprint(fingerprint_cmd::FingerprintCommand),
    /// Camera: show the negotiated format, save a snapshot (offline, opens the device directly).
    #[command(subcommand)]
    Camera(camera_cmd::CameraCommand),
    /// Door through gated: technician pulse (maintenance mode only), lock, line states.
    #[command(subcommand)]
    Door(door_cmd::DoorCommand),
    /// Turnstile I/O: watch input lines live (offline, requests the lines directly).
    #[command(subcommand)]
    Io(io_cmd::IoCommand),
    /// Event outbox: status, pending events, retry, purge (reads the database by path).
    #[command(subcommand)]
    Outbox(outbox_cmd::OutboxCommand),
    /// Sync with central: last results and down-synced list versions.
    #[command(subcommand)]
    Sync(outbox_cmd::SyncCommand),
    /// Document trust store: CSCAs, master lists, CRLs; passive authentication of a saved read.
    #[command(subcommand)]
    Trust(trust_cmd::TrustCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Status { socket, json } => daemon_cmd::status(&socket.socket, json),
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Simulate {
            socket,
            kind,
            wait,
            json,
        } => daemon_cmd::simulate(&socket.socket, kind, Duration::from_secs(wait), json),
        Command::OfficerReset { socket } => {
            daemon_cmd::simple(&socket.socket, gate_protocol::Request::OfficerReset)
        }
        Command::Maintenance { socket, state } => daemon_cmd::simple(
            &socket.socket,
            gate_protocol::Request::SetMaintenance { on: state == "on" },
        ),
        Command::Mrz(cmd) => mrz_cmd::run(cmd),
        Command::Chip(cmd) => chip_cmd::run(cmd),
        Command::Face(cmd) => face_cmd::run(cmd),
        Command::Fingerprint(cmd) => fingerprint_cmd::run(cmd),
        Command::Camera(cmd) => camera_cmd::run(cmd),
        Command::Door(cmd) => door_cmd::run(cmd),
        Command::Io(cmd) => io_cmd::run(cmd),
        Command::Outbox(cmd) => outbox_cmd::run_outbox(cmd),
        Command::Sync(cmd) => outbox_cmd::run_sync(cmd),
        Command::Trust(cmd) => trust_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gatectl: {error:#}");
            ExitCode::FAILURE
        }
    }
}

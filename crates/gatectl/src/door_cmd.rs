//! `gatectl door`: the technician's door test through gated (pulse, lock, line states).

use crate::daemon_cmd::{self, SocketArg};
use anyhow::bail;
use gate_protocol::{Request, Response};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Door subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DoorCommand {
    /// Release the lock for a moment, then lock again. gated refuses unless the gate is in
    /// maintenance mode (`gatectl maintenance on`) with no traveller; the release is recorded.
    Pulse {
        #[command(flatten)]
        socket: SocketArg,
        /// How long the lock stays released, in milliseconds (100..=10000).
        #[arg(long, default_value_t = 1_000)]
        ms: u32,
    },
    /// Lock the door now (ends a pulse).
    Lock {
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show the door's outputs and inputs as gated drives and reads them.
    Status {
        #[command(flatten)]
        socket: SocketArg,
        /// Print JSON (stable for scripts).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a door subcommand.
pub fn run(command: DoorCommand) -> anyhow::Result<ExitCode> {
    match command {
        DoorCommand::Pulse { socket, ms } => {
            daemon_cmd::simple(&socket.socket, Request::DoorPulse { ms })
        }
        DoorCommand::Lock { socket } => daemon_cmd::simple(&socket.socket, Request::DoorLock),
        DoorCommand::Status { socket, json } => {
            let Response::Status(report) = daemon_cmd::call(&socket.socket, Request::Status)?
            else {
                bail!("unexpected answer to a status request");
            };
            if json {
                let value = serde_json::json!({
                    "unlocked": report.door_unlocked,
                    "lights": report.lights,
                    "outputs": report.door.outputs,
                    "inputs": report.door.inputs,
                    "device": report.devices.iter().find(|d| d.name == "door"),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", render(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn render(report: &gate_protocol::StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Door      {}",
        if report.door_unlocked {
            "UNLOCKED"
        } else {
            "locked"
        }
    );
    if let Some(device) = report.devices.iter().find(|d| d.name == "door") {
        let _ = writeln!(
            out,
            "Device    {} ({:?}) {}",
            device.backend, device.health, device.detail
        );
    }
    for (title, lines) in [
        ("Outputs", &report.door.outputs),
        ("Inputs", &report.door.inputs),
    ] {
        let shown: Vec<String> = lines
            .iter()
            .map(|(name, active)| format!("{name}={}", if *active { "on" } else { "off" }))
            .collect();
        let _ = writeln!(
            out,
            "{title:<9} {}",
            if shown.is_empty() {
                "(none reported yet)".to_owned()
            } else {
                shown.join("  ")
            }
        );
    }
    out
}

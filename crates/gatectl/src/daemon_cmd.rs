//! Commands that talk to a running gated over its control socket.

use anyhow::{Context, bail};
use gate_protocol::{
    Health, Request, RequestEnvelope, Response, SimulatedDocument, SimulatedTraveller,
    StatusReport, parse_response,
};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Default socket path, as in `systemd/gated.service`.
pub const DEFAULT_SOCKET: &str = gate_config::schema::DEFAULT_SOCKET;

/// Where to find gated.
#[derive(Debug, clap::Args)]
pub struct SocketArg {
    /// gated's control socket.
    #[arg(long, env = "GATECTL_SOCKET", default_value = DEFAULT_SOCKET, value_name = "PATH")]
    pub socket: PathBuf,
}

/// Sends one request and waits for its answer.
pub fn call(socket: &Path, request: Request) -> anyhow::Result<Response> {
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot connect to gated at {} (is it running? do you have access?)",
            socket.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let line = RequestEnvelope::new(1, request).to_line()?;
    // gated may refuse (and close) before reading the request; its answer is still readable.
    if let Err(err) = stream.write_all(line.as_bytes())
        && err.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(err.into());
    }
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader
        .read_line(&mut answer)
        .context("no answer from gated")?;
    if answer.is_empty() {
        bail!("gated closed the connection without answering");
    }
    let envelope = parse_response(answer.trim_end())?;
    if let Some(error) = envelope.error {
        bail!("gated refused: {:?}: {}", error.code, error.message);
    }
    envelope
        .result
        .context("gated sent neither result nor error")
}

/// `gatectl status`.
pub fn status(socket: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let Response::Status(report) = call(socket, Request::Status)? else {
        bail!("unexpected answer to status");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_status(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn snake<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The human-readable status table.
pub fn render_status(report: &StatusReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Gate      {} ({})   gated {}, up {}",
        report.gate_id,
        report.profile.as_str(),
        report.version,
        duration(report.uptime_s)
    );
    let transaction = report
        .transaction_id
        .map(|t| format!("   transaction {t}"))
        .unwrap_or_default();
    let _ = writeln!(out, "State     {}{transaction}", report.state,);
    let _ = writeln!(
        out,
        "Door      {}   lights {}   display {}",
        if report.door_unlocked {
            "UNLOCKED"
        } else {
            "locked"
        },
        snake(&report.lights),
        snake(&report.display)
    );
    if report.out_of_service_reasons.is_empty() {
        let _ = writeln!(out, "Service   in service");
    } else {
        let reasons: Vec<&str> = report
            .out_of_service_reasons
            .iter()
            .map(|r| r.as_str())
            .collect();
        let _ = writeln!(out, "Service   OUT OF SERVICE: {}", reasons.join(", "));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<12} {:<10} {:<9} DETAIL",
        "DEVICE", "BACKEND", "HEALTH"
    );
    for device in &report.devices {
        let health = match device.health {
            Health::Up => "up",
            Health::Degraded => "DEGRADED",
            Health::Down => "DOWN",
            Health::Absent => "absent",
        };
        let _ = writeln!(
            out,
            "{:<12} {:<10} {:<9} {}",
            device.name, device.backend, health, device.detail
        );
    }
    let c = &report.counters;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Counters  started {}  passed {}  denied {}  completed {}  abandoned {}  timed out {}  aborted {}  turned away {}",
        c.started,
        c.passed,
        c.denied,
        c.completed,
        c.abandoned,
        c.timed_out,
        c.aborted,
        c.turned_away
    );
    match &report.last_outcome {
        Some(last) => {
            let reasons: Vec<&str> = last.reasons.iter().map(|r| r.as_str()).collect();
            let _ = writeln!(
                out,
                "Last      {} {}{}",
                last.transaction_id,
                snake(&last.outcome),
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", reasons.join(", "))
                }
            );
        }
        None => {
            let _ = writeln!(out, "Last      none yet");
        }
    }
    let _ = writeln!(
        out,
        "Outbox    {} event(s) waiting for central",
        report.outbox_pending
    );
    out
}

/// The scripted traveller kinds `gatectl simulate` offers.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TravellerKind {
    /// A genuine, eligible traveller whose face matches.
    Genuine,
    /// The face does not match the chip photo.
    Impostor,
    /// The passport has expired.
    Expired,
    /// The passport is on the denylist.
    Denylisted,
    /// The chip fails passive authentication.
    Forged,
    /// The chip does not answer.
    Unreadable,
    /// A photo held up to the camera.
    Attack,
    /// Cleared, but never walks through the door.
    Hesitant,
    /// Pre-registered for the fingerprint gate, right finger.
    Enrolled,
    /// Not registered for the fingerprint gate.
    Unregistered,
    /// Registered, but presents a finger that does not match.
    WrongFinger,
    /// BioCart: gives up after the first finger.
    Abandons,
    /// BioCart: finger quality stays too low.
    PoorFingers,
}

impl TravellerKind {
    /// The script of this kind of traveller.
    pub fn traveller(self) -> SimulatedTraveller {
        let mut t = SimulatedTraveller::default();
        match self {
            TravellerKind::Genuine => {}
            TravellerKind::Impostor => t.face_scores = vec![0.11, 0.17, 0.14],
            TravellerKind::Expired => t.document = SimulatedDocument::Expired,
            TravellerKind::Denylisted => t.document = SimulatedDocument::Denylisted,
            TravellerKind::Forged => t.document = SimulatedDocument::Forged,
            TravellerKind::Unreadable => t.document = SimulatedDocument::Unreadable,
            TravellerKind::Attack => t.attack_score = 0.87,
            TravellerKind::Hesitant => t.walks_through = false,
            TravellerKind::Enrolled => t.enrolled = true,
            TravellerKind::Unregistered => t.enrolled = false,
            TravellerKind::WrongFinger => {
                t.enrolled = true;
                t.finger_scores = vec![12];
            }
            TravellerKind::Abandons => t.cancel_after_steps = Some(2),
            TravellerKind::PoorFingers => t.finger_qualities = vec![15],
        }
        t
    }
}

/// `gatectl simulate KIND`: sends the traveller, then waits until the gate has decided on that
/// transaction (at most `wait`) and says what it decided. A traveller the gate did not take
/// (busy, holding, out of service) exits 1; so does a transaction still undecided after `wait`.
pub fn simulate(
    socket: &Path,
    kind: TravellerKind,
    wait: Duration,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let Response::Status(report) = call(socket, Request::Status)? else {
        bail!("unexpected answer to status");
    };
    let before = report.last_outcome.map(|last| last.transaction_id);
    // A simulated gate names the transaction at once; in front of a demo bench the transaction
    // starts when the gate has read the passport the bench laid down: the next decision.
    let awaited = match call(
        socket,
        Request::Simulate {
            traveller: kind.traveller(),
        },
    )? {
        Response::SimulationStarted {
            transaction_id: Some(id),
        } => Some(id),
        Response::SimulationStarted {
            transaction_id: None,
        } => {
            if json {
                println!("{}", serde_json::json!({ "transaction_id": null }));
            } else {
                println!("the gate did not take the traveller (busy, holding or out of service)");
            }
            return Ok(ExitCode::FAILURE);
        }
        Response::DemoTravellerSent { scene } => {
            if !json {
                println!("demo bench: {scene}");
            }
            None
        }
        other => bail!("unexpected answer to simulate: {other:?}"),
    };
    let deadline = std::time::Instant::now() + wait;
    let ended = loop {
        let Response::Status(report) = call(socket, Request::Status)? else {
            bail!("unexpected answer to status");
        };
        let decided = report.last_outcome.filter(|last| match awaited {
            Some(id) => last.transaction_id == id,
            None => Some(last.transaction_id) != before,
        });
        if let Some(last) = decided {
            break Some(last);
        }
        if std::time::Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let Some(ended) = ended else {
        if json {
            println!(
                "{}",
                serde_json::json!({ "transaction_id": awaited, "outcome": null })
            );
        } else {
            let which = awaited.map_or_else(
                || "the traveller".to_owned(),
                |id| format!("transaction {id}"),
            );
            println!(
                "{which}: no decision within {} s (see gatectl status)",
                wait.as_secs()
            );
        }
        return Ok(ExitCode::FAILURE);
    };
    let id = ended.transaction_id;
    let reasons: Vec<&str> = ended.reasons.iter().map(|r| r.as_str()).collect();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "transaction_id": id,
                "outcome": ended.outcome,
                "reasons": reasons,
            })
        );
    } else if reasons.is_empty() {
        println!("transaction {id}: {}", snake(&ended.outcome));
    } else {
        println!(
            "transaction {id}: {} ({})",
            snake(&ended.outcome),
            reasons.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Requests that expect a plain `done`.
pub fn simple(socket: &Path, request: Request) -> anyhow::Result<ExitCode> {
    match call(socket, request)? {
        Response::Done => {
            println!("done");
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unexpected answer: {other:?}"),
    }
}

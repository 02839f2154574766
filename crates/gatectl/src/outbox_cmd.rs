//! `gatectl outbox status|list|retry|purge` and `gatectl sync status`: read and maintain the
//! gate's outbox database directly by path (works while gated runs: SQLite WAL lets readers
//! and one writer share the file).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use outbox::Outbox;

/// The outbox database gated writes with the default state directory.
fn default_db() -> PathBuf {
    gate_config::schema::StorageSection::default().outbox_path()
}

/// Path of the outbox database.
#[derive(Debug, clap::Args)]
pub struct DbArg {
    /// Outbox database file (gated's is `<storage.state_dir>/outbox.sqlite`).
    #[arg(long, default_value_os_t = default_db())]
    db: PathBuf,
    /// Print JSON (stable for scripts).
    #[arg(long)]
    json: bool,
}

/// `gatectl outbox ...`
#[derive(Debug, clap::Subcommand)]
pub enum OutboxCommand {
    /// Counts, sizes, high-water state and the last sync result.
    Status {
        #[command(flatten)]
        db: DbArg,
    },
    /// List events in sequence order (pending only unless --all).
    List {
        #[command(flatten)]
        db: DbArg,
        /// Include delivered events still kept.
        #[arg(long)]
        all: bool,
        /// Start after this sequence number (with --all).
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many events.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Ask the running sync worker to retry now (resets attempt counters, cuts back-off short).
    Retry {
        #[command(flatten)]
        db: DbArg,
    },
    /// Delete delivered events acknowledged more than --older-than-hours ago (pending events
    /// are never deleted).
    Purge {
        #[command(flatten)]
        db: DbArg,
        /// Age in hours; 0 deletes every delivered event.
        #[arg(long, default_value_t = 0)]
        older_than_hours: u64,
    },
}

/// `gatectl sync ...`
#[derive(Debug, clap::Subcommand)]
pub enum SyncCommand {
    /// Last sync success and failure, pending events and the down-synced lists.
    Status {
        #[command(flatten)]
        db: DbArg,
    },
}

fn attach(path: &Path) -> anyhow::Result<Outbox> {
    Outbox::attach(path, outbox::system_clock())
        .with_context(|| format!("opening outbox {}", path.display()))
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn age(now_ms: i64, at_ms: Option<i64>) -> String {
    match at_ms {
        Some(at) => format!("{:.1} s ago", (now_ms - at) as f64 / 1000.0),
        None => "never".into(),
    }
}

/// Runs `gatectl outbox ...`.
pub fn run_outbox(command: OutboxCommand) -> anyhow::Result<ExitCode> {
    match command {
        OutboxCommand::Status { db } => {
            let outbox = attach(&db.db)?;
            let status = outbox.status()?;
            if db.json {
                print_json(&serde_json::to_value(&status)?)?;
            } else {
                let now = outbox.now_ms();
                println!("gate:            {}", status.gate_id);
                println!("pending:         {}", status.pending);
                println!("delivered kept:  {}", status.delivered);
                println!("next sequence:   {}", status.next_sequence);
                match (status.oldest_pending_sequence, status.oldest_pending_age_ms) {
                    (Some(sequence), Some(age_ms)) => println!(
                        "oldest pending:  #{sequence}, {:.1} s old",
                        age_ms as f64 / 1000.0
                    ),
                    _ => println!("oldest pending:  none"),
                }
                println!(
                    "disk:            {} bytes used, {} on disk, high-water {}, limit {}{}",
                    status.used_bytes,
                    status.file_bytes,
                    status.high_water_bytes,
                    status.max_bytes,
                    if status.above_high_water {
                        "  ABOVE HIGH-WATER: new travellers refused"
                    } else {
                        ""
                    }
                );
                println!("last sync ok:    {}", age(now, status.sync.last_success_ms));
                println!("last sync error: {}", age(now, status.sync.last_failure_ms));
                if let Some(error) = &status.sync.last_error {
                    println!("  {error}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::List {
            db,
            all,
            after,
            limit,
        } => {
            let outbox = attach(&db.db)?;
            let events = if all {
                outbox.events_after(after, limit)?
            } else {
                outbox.pending(limit)?
            };
            if db.json {
                print_json(&serde_json::to_value(&events)?)?;
            } else {
                println!(
                    "{:>8}  {:<36}  {:<22}  {:<10}  attempts",
                    "seq", "id", "kind", "state"
                );
                for event in &events {
                    println!(
                        "{:>8}  {:<36}  {:<22}  {:<10}  {}",
                        event.envelope.sequence,
                        event.envelope.id,
                        event.envelope.kind,
                        if event.delivered_at_ms.is_some() {
                            "delivered"
                        } else {
                            "pending"
                        },
                        event.attempts
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Retry { db } => {
            let mut outbox = attach(&db.db)?;
            let pending = outbox.request_retry()?;
            if db.json {
                print_json(&serde_json::json!({ "retry_requested": true, "pending": pending }))?;
            } else {
                println!("retry requested; {pending} events pending");
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Purge {
            db,
            older_than_hours,
        } => {
            let mut outbox = attach(&db.db)?;
            let age_ms = i64::try_from(older_than_hours.saturating_mul(3_600_000))
                .context("--older-than-hours too large")?;
            let purged = outbox.purge_delivered_before(outbox.now_ms().saturating_sub(age_ms))?;
            if db.json {
                print_json(&serde_json::json!({ "purged": purged }))?;
            } else {
                println!("purged {purged} delivered events");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `gatectl sync ...`.
pub fn run_sync(command: SyncCommand) -> anyhow::Result<ExitCode> {
    match command {
        SyncCommand::Status { db } => {
            let outbox = attach(&db.db)?;
            let status = outbox.status()?;
            let lists = outbox.lists()?;
            if db.json {
                print_json(&serde_json::json!({
                    "gate_id": status.gate_id,
                    "pending": status.pending,
                    "sync": status.sync,
                    "lists": lists,
                }))?;
            } else {
                let now = outbox.now_ms();
                println!("gate:            {}", status.gate_id);
                println!("pending events:  {}", status.pending);
                println!("last sync ok:    {}", age(now, status.sync.last_success_ms));
                println!("last sync error: {}", age(now, status.sync.last_failure_ms));
                if let Some(error) = &status.sync.last_error {
                    println!("  {error}");
                }
                if lists.is_empty() {
                    println!("lists:           none fetched");
                }
                for list in &lists {
                    println!(
                        "list {:<14} version {:<6} {:>8} items, fetched {}",
                        list.name,
                        list.version,
                        list.item_count,
                        age(now, Some(list.fetched_at_ms))
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! `central accounts ...` and `central lists ...`: operator accounts and list publication on
//! the central host, straight against the database (`--database`, as central is started with).
//! Every change is recorded in the audit trail as done by `unix:USER` (the user running the
//! command; under sudo, the user who ran sudo) from address `local`.

use crate::now_ms;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::auth::{hash_password, valid_account_name};
use super::store::{
    AUDIT_ACCOUNT_CREATED, AUDIT_ACCOUNT_DISABLED, AUDIT_ACCOUNT_ENABLED, AUDIT_ACCOUNT_PASSWORD,
    AUDIT_ACCOUNT_ROLE, Account, AccountChange, AuditEntry, Role,
};
use crate::storage::{Storage, open_storage};

/// `central accounts`: operator accounts of the console.
#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// Central's database, as given to `central --database` (`sqlite:PATH` or `postgres://...`).
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: AccountAction,
}

/// One `central accounts` action. Passwords are read from the terminal (twice, not echoed)
/// or, when stdin is not a terminal, as its first line; never from the command line.
#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Creates an account.
    Add {
        /// Login name (1..=64 of a-z A-Z 0-9 - _ .).
        name: String,
        /// What the operator may do.
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Sets a new password (ends the account's sessions).
    Passwd {
        /// Login name.
        name: String,
    },
    /// Disables an account (ends its sessions; it can no longer log in).
    Disable {
        /// Login name.
        name: String,
    },
    /// Enables a disabled account.
    Enable {
        /// Login name.
        name: String,
    },
    /// Changes an account's role (ends its sessions).
    Role {
        /// Login name.
        name: String,
        /// The new role.
        #[arg(value_enum)]
        role: Role,
    },
    /// Lists the accounts: name, role, state, when created and last changed (UTC).
    List,
}

/// `central lists`: list publication.
#[derive(Debug, Args)]
pub struct ListsArgs {
    /// Central's database, as given to `central --database` (`sqlite:PATH` or `postgres://...`).
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: ListAction,
}

/// One `central lists` action.
#[derive(Debug, Subcommand)]
pub enum ListAction {
    /// Validates FILE (a JSON array of items, or `{"items": [...]}`) as list NAME, shows the
    /// difference to the published version and publishes it as the next version.
    Publish {
        /// The file: a JSON array of the list's items, or an object with an `items` array.
        file: PathBuf,
        /// Which list: `denylist`, `enrolments` or `trust`.
        #[arg(long)]
        name: String,
        /// Only validate and show the difference; publish nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Shows the published versions of list NAME: who published each and when.
    History {
        /// Which list.
        #[arg(long)]
        name: String,
    },
}

fn open(database: Option<&str>) -> anyhow::Result<Box<dyn Storage>> {
    let url = database.context("--database is required (as central is started with)")?;
    open_storage(url, 1).with_context(|| format!("opening {url}"))
}

/// Who runs the command, for the audit trail: `unix:USER`, the user who ran sudo when run
/// through sudo, else the account of the process's real uid (from `/proc/self/status` and
/// `/etc/passwd`), else `$USER`.
pub fn unix_actor() -> String {
    let from_uid = || {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let uid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))?
            .split_whitespace()
            .next()?
            .to_owned();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Some(
            passwd
                .lines()
                .map(|line| line.split(':').collect::<Vec<_>>())
                .find(|fields| fields.get(2) == Some(&uid.as_str()))
                .and_then(|fields| fields.first().map(|name| (*name).to_owned()))
                .unwrap_or(format!("uid {uid}")),
        )
    };
    let user = std::env::var("SUDO_USER")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(from_uid)
        .or_else(|| std::env::var("USER").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("unix:{user}")
}

fn local_audit(action: &str, target: &str, detail: String) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        actor: unix_actor(),
        address: "local".to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
    }
}

/// Turns the terminal's echo off while it lives (with `stty`, on the terminal on stdin).
struct EchoOff;

impl EchoOff {
    fn new() -> Option<Self> {
        std::process::Command::new("stty")
            .arg("-echo")
            .stdin(std::process::Stdio::inherit())
            .status()
            .ok()
            .filter(std::process::ExitStatus::success)
            .map(|_| EchoOff)
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = std::process::Command::new("stty")
            .arg("echo")
            .stdin(std::process::Stdio::inherit())
            .status();
        eprintln!();
    }
}

fn read_line(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let _echo = if terminal {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        let echo = EchoOff::new();
        if echo.is_none() {
            bail!("cannot turn off the terminal's echo (stty) to read a password");
        }
        echo
    } else {
        None
    };
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password given");
    }
    Ok(password)
}

/// Reads a new password: from a terminal twice (must match), else stdin's first line.
fn read_new_password() -> anyhow::Result<String> {
    let password = read_line("New password: ")?;
    if std::io::stdin().is_terminal() && read_line("Again: ")? != password {
        bail!("the passwords differ");
    }
    Ok(password)
}

/// Formats unix ms as `YYYY-MM-DD HH:MM:SSZ` (UTC).
pub fn utc(unix_ms: i64) -> String {
    let seconds = unix_ms.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Civil-from-days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Runs `central accounts ...`.
pub fn accounts(args: AccountsArgs) -> anyhow::Result<()> {
    let store = open(args.database.as_deref())?;
    let change = |name: &str, change: AccountChange, action: &str, detail: String| {
        let audit = local_audit(action, name, detail);
        if !store.update_account(name, &change, &audit)? {
            bail!("no account {name:?}");
        }
        Ok(())
    };
    match args.action {
        AccountAction::Add { name, role } => {
            if !valid_account_name(&name) {
                bail!("account names are 1 to 64 of a-z A-Z 0-9 - _ .");
            }
            if store.account(&name)?.is_some() {
                bail!("account {name:?} exists");
            }
            let password_hash = hash_password(&read_new_password()?)?;
            let now = now_ms();
            let account = Account {
                name: name.clone(),
                role,
                password_hash,
                disabled: false,
                created_at_ms: now,
                changed_at_ms: now,
            };
            let audit = local_audit(AUDIT_ACCOUNT_CREATED, &name, role.as_str().to_owned());
            if !store.create_account(&account, &audit)? {
                bail!("account {name:?} exists");
            }
            eprintln!("account {name} created ({})", role.as_str());
        }
        AccountAction::Passwd { name } => {
            if store.account(&name)?.is_none() {
                bail!("no account {name:?}");
            }
            let hash = hash_password(&read_new_password()?)?;
            change(
                &name,
                AccountChange::Password(hash),
                AUDIT_ACCOUNT_PASSWORD,
                String::new(),
            )?;
            eprintln!("password of {name} changed; its sessions ended");
        }
        AccountAction::Disable { name } => {
            change(
                &name,
                AccountChange::Disabled(true),
                AUDIT_ACCOUNT_DISABLED,
                String::new(),
            )?;
            eprintln!("account {name} disabled; its sessions ended");
        }
        AccountAction::Enable { name } => {
            change(
                &name,
                AccountChange::Disabled(false),
                AUDIT_ACCOUNT_ENABLED,
                String::new(),
            )?;
            eprintln!("account {name} enabled");
        }
        AccountAction::Role { name, role } => {
            change(
                &name,
                AccountChange::Role(role),
                AUDIT_ACCOUNT_ROLE,
                role.as_str().to_owned(),
            )?;
            eprintln!(
                "account {name} is now {}; its sessions ended",
                role.as_str()
            );
        }
        AccountAction::List => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<24} {:<15} {:<9} {:<21} CHANGED",
                "NAME", "ROLE", "STATE", "CREATED"
            )?;
            for account in store.accounts()? {
                writeln!(
                    out,
                    "{:<24} {:<15} {:<9} {:<21} {}",
                    account.name,
                    account.role.as_str(),
                    if account.disabled {
                        "disabled"
                    } else {
                        "active"
                    },
                    utc(account.created_at_ms),
                    utc(account.changed_at_ms)
                )?;
            }
        }
    }
    Ok(())
}

/// Runs `central lists ...`.
pub fn lists(args: ListsArgs) -> anyhow::Result<()> {
    let store = open(args.database.as_deref())?;
    match args.action {
        ListAction::Publish {
            file,
            name,
            dry_run,
        } => {
            let text =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let actor = unix_actor();
            let outcome = super::lists::prepare(store.as_ref(), &name, &text, now_ms())?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", outcome.diff.summary())?;
            for line in outcome.diff.lines(20) {
                writeln!(out, "  {line}")?;
            }
            if dry_run {
                writeln!(out, "dry run: nothing published")?;
                return Ok(());
            }
            let version =
                super::lists::publish(store.as_ref(), &name, outcome, &actor, "local", now_ms())?;
            writeln!(out, "published {name} version {version} as {actor}")?;
        }
        ListAction::History { name } => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:>8} {:>9} {:<21} BY",
                "VERSION", "ITEMS", "PUBLISHED"
            )?;
            for version in store.list_history(&name)? {
                writeln!(
                    out,
                    "{:>8} {:>9} {:<21} {}",
                    version.version,
                    version.item_count,
                    utc(version.published_at_ms),
                    version.published_by
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_the_calendar() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(1_709_251_199_999), "2024-02-29 23:59:59Z");
        assert_eq!(utc(1_795_701_600_000), "2026-11-26 14:00:00Z");
    }

    #[test]
    fn the_command_line_actor_is_a_unix_account() {
        let actor = unix_actor();
        assert!(actor.starts_with("unix:") && actor.len() > 5, "{actor}");
        assert_ne!(actor, "unix:unknown");
    }
}

//! Logging for the gate's daemons (gated and central), chosen with their `--log` option.
//!
//! - Under systemd (`auto`, the default): systemd connects stderr to the journal and names that
//!   stream in `JOURNAL_STREAM`; the daemon then writes each event to the journal's native socket,
//!   `/run/systemd/journal/socket`, so that every `tracing` field is a journal field of its own
//!   (`journalctl -u gated REASON=FACE_MISMATCH`). Elsewhere `auto` writes text lines to stderr.
//! - `journald`: the native socket whatever stderr is.
//! - `text`, `json`: lines on stderr (without timestamps when stderr is the journal, which stamps
//!   every line itself).
//!
//! When the journal was wanted but its socket is missing, the daemon logs text to stderr and says
//! so in one warning line.
//!
//! Journal fields are the `tracing` field names upper-cased, without a prefix: the span field
//! `transaction_id` becomes `TRANSACTION_ID`, `reason` becomes `REASON`, `device` becomes `DEVICE`.
//! The message is `MESSAGE`; the level is `PRIORITY` (error 3, warn 4, info 5, debug 6, trace 7);
//! the journal adds `TARGET`, `CODE_FILE`, `CODE_LINE` and `SPAN_NAME` (and `SPAN_TARGET`, …) of
//! the enclosing spans. A field must therefore not take the name of a journal field (`priority`,
//! `target`, `code_line`, `syslog_identifier`, …); a field named `message` is the message.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The journal's native socket (the path is fixed in `tracing-journald` and in systemd).
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Where and how a daemon logs: its `--log` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// The journal when systemd connected stderr to it (`JOURNAL_STREAM`), else text on stderr.
    #[default]
    Auto,
    /// The journal's native protocol, one journal field per `tracing` field.
    Journald,
    /// Text lines on stderr.
    Text,
    /// JSON lines on stderr.
    Json,
}

/// Where the log went, as installed by [`init`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// The journal's native socket.
    Journal,
    /// Text lines on stderr.
    Text,
    /// JSON lines on stderr.
    Json,
}

/// Logging could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Another global subscriber was installed first.
    #[error("cannot install the {installed:?} logger: {source}")]
    AlreadyInstalled {
        /// What was being installed.
        installed: Installed,
        /// The subscriber's refusal.
        source: tracing_subscriber::util::TryInitError,
    },
}

/// Installs the process's logger for `format`, filtered by the environment variable
/// `filter_env` (`EnvFilter` directives such as `info,gated::door=debug`; `info` when unset or
/// invalid), and returns where the log goes. Falls back to text on stderr, with one warning line,
/// when the journal is wanted but its socket cannot be reached.
pub fn init(format: LogFormat, filter_env: &str) -> Result<Installed, LogError> {
    let filter = EnvFilter::try_from_env(filter_env).unwrap_or_else(|_| EnvFilter::new("info"));
    let to_journal = stderr_is_journal();
    let wants_journal = match format {
        LogFormat::Auto => to_journal,
        LogFormat::Journald => true,
        LogFormat::Text | LogFormat::Json => false,
    };
    let mut unreachable = None;
    if wants_journal {
        match tracing_journald::layer() {
            Ok(journal) => {
                let journal = journal.with_field_prefix(None);
                return install(journal.boxed(), filter, Installed::Journal);
            }
            Err(err) => unreachable = Some(err),
        }
    }
    let installed = if format == LogFormat::Json {
        Installed::Json
    } else {
        Installed::Text
    };
    let installed = install(stderr_layer(installed, !to_journal), filter, installed)?;
    if let Some(err) = unreachable {
        tracing::warn!(
            "journal socket {JOURNAL_SOCKET} not reachable ({err}): logging text to stderr instead"
        );
    }
    Ok(installed)
}

/// Several values as one field, since a `tracing` field holds one value: `FACE_MISMATCH` or
/// `FACE_MISMATCH,ATTACK_SUSPECTED`; `None`, which logs no field at all, when there are none.
/// Use as `reason = gate_logging::list(&reasons).as_deref()`.
pub fn list<T: std::fmt::Display>(values: &[T]) -> Option<String> {
    let texts: Vec<String> = values.iter().map(ToString::to_string).collect();
    (!texts.is_empty()).then(|| texts.join(","))
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

fn install(
    layer: BoxedLayer,
    filter: EnvFilter,
    installed: Installed,
) -> Result<Installed, LogError> {
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .map_err(|source| LogError::AlreadyInstalled { installed, source })?;
    Ok(installed)
}

fn stderr_layer(installed: Installed, timestamps: bool) -> BoxedLayer {
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match (installed, timestamps) {
        (Installed::Json, _) => layer.json().boxed(),
        (_, true) => layer.boxed(),
        (_, false) => layer.without_time().boxed(),
    }
}

/// Whether stderr is the journal stream systemd connected: `JOURNAL_STREAM` holds its
/// `DEVICE:INODE` (a child whose stderr was redirected inherits the variable, not the stream).
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    std::fs::metadata("/proc/self/fd/2")
        .is_ok_and(|stderr| names_stream(&stream, stderr.dev(), stderr.ino()))
}

/// Whether a `JOURNAL_STREAM` value names the file with this device and inode.
fn names_stream(value: &OsStr, dev: u64, ino: u64) -> bool {
    let parsed = value
        .to_str()
        .and_then(|text| text.split_once(':'))
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)));
    parsed == Some((dev, ino))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_one_comma_separated_field_or_none() {
        assert_eq!(list::<&str>(&[]), None);
        assert_eq!(list(&["FACE_MISMATCH"]).as_deref(), Some("FACE_MISMATCH"));
        assert_eq!(list(&["A", "B"]).as_deref(), Some("A,B"));
    }

    #[test]
    fn journal_stream_names_exactly_one_device_and_inode() {
        assert!(names_stream(OsStr::new("9:4415784"), 9, 4_415_784));
        assert!(!names_stream(OsStr::new("9:4415784"), 9, 4_415_785));
        assert!(!names_stream(OsStr::new("8:4415784"), 9, 4_415_784));
        assert!(!names_stream(OsStr::new("9"), 9, 0));
        assert!(!names_stream(OsStr::new(""), 0, 0));
        assert!(!names_stream(OsStr::new("a:b"), 0, 0));
    }
}

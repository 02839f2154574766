//! systemd integration: READY, WATCHDOG, STOPPING and STATUS notifications.
//!
//! Every call is a no-op when gated does not run under systemd (no `NOTIFY_SOCKET`).

use sd_notify::NotifyState;
use std::time::Duration;

fn notify(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(err) = sd_notify::notify(states) {
        tracing::warn!(error = %err, "systemd notification failed");
    }
}

/// Start-up finished: devices initialised, socket listening.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// The main loop is alive.
pub fn watchdog() {
    notify(&[NotifyState::Watchdog]);
}

/// Shutting down.
pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// A one-line status for `systemctl status`.
pub fn status(text: &str) {
    notify(&[NotifyState::Status(text)]);
}

/// How often to send WATCHDOG=1: half the unit's WatchdogSec, or every 10 s without one.
pub fn watchdog_period() -> Duration {
    sd_notify::watchdog_enabled()
        .map(|timeout| timeout / 2)
        .unwrap_or(Duration::from_secs(10))
        .max(Duration::from_millis(100))
}

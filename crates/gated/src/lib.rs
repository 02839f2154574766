//! The gate daemon, `gated`.
//!
//! It reads the gate's configuration, drives every output to its safe state, opens the durable
//! outbox, starts the devices, serves the control socket and runs the [`gate_core::Gate`] state
//! machine: device results become events, the core's commands are executed in order. It talks
//! to systemd (READY, WATCHDOG, STOPPING) and stops cleanly on SIGTERM: door locked, the
//! transaction in progress recorded as aborted.
//!
//! Modules: [`daemon`] (main loop and command execution), [`control`] (the Unix socket),
//! [`sim`] (simulated devices), [`hashing`] (keyed document hash), [`systemd`].

pub mod chip_worker;
pub mod control;
pub mod daemon;
pub mod door;
pub mod face_worker;
pub mod finger_worker;
pub mod hashing;
pub mod health;
pub mod samples;
pub mod sim;
pub mod systemd;

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

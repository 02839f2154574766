//! The gate daemon, `gated`.
//!
//! It reads the gate's configuration, drives the door to its safe state before anything else,
//! opens the durable outbox (closing the transactions a crash left open), starts the devices,
//! serves the control socket and runs the [`gate_core::Gate`] state machine: device results
//! become events, the core's commands are executed in order. It talks to systemd (READY,
//! WATCHDOG, STOPPING) and stops cleanly on SIGTERM: door locked, the transaction in progress
//! recorded as aborted, every worker stopped and joined.
//!
//! Modules: [`daemon`] (start-up, main loop and command dispatch), [`worker`] (the one shape of
//! every worker), [`door`] (the turnstile machine on the door's lines), [`store`] (the outbox
//! writer) and [`journal`] (what survives a crash), [`roles`] (the device roles real and simulated
//! devices share), [`chip_worker`], [`face_worker`], [`finger_worker`], [`sim`] (simulated
//! devices), [`clock`], [`lists`], [`event_kind`], [`control`] (the Unix socket), [`hashing`]
//! (keyed document hash), [`demo_bench`] (a demo's stand-in traveller), [`screen`] (the traveller's
//! screen and the officer's view), [`metrics`] (Prometheus metrics, `[metrics]`), [`http`] (the
//! accept loop of the screen's and the metrics' servers), [`systemd`].

pub mod chip_worker;
pub mod clock;
pub mod control;
pub mod daemon;
pub mod demo_bench;
pub mod door;
pub mod event_kind;
pub mod face_worker;
pub mod finger_worker;
pub mod hashing;
pub mod health;
pub mod http;
pub mod journal;
pub mod lists;
pub mod metrics;
pub mod roles;
pub mod samples;
pub mod screen;
pub mod sim;
pub mod store;
pub mod systemd;
pub mod worker;

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

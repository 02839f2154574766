//! The gate's heartbeat: every `reporting.heartbeat_s` a `gate.heartbeat` event with what the
//! agency's fleet console needs to tell a silent gate from an idle one: where the gate stands,
//! its software version, each device's health, why it is out of service, the outbox's depth
//! and age, and when it last exchanged with central. Nothing of any traveller.
//!
//! The first beat comes one interval after start, so a gate that restarts in a loop shows as
//! silent rather than healthy.

use super::Daemon;
use crate::event_kind;
use crate::store::OutboxView;
use gate_protocol::StatusReport;

/// When the next beat is due.
#[derive(Debug)]
pub struct Heartbeat {
    next_ms: i64,
}

impl Heartbeat {
    /// The schedule of a gate started at `now_ms` (Unix ms) beating every `interval_s`.
    pub fn new(now_ms: i64, interval_s: u64) -> Self {
        Self {
            next_ms: now_ms.saturating_add(interval_ms(interval_s)),
        }
    }
}

fn interval_ms(interval_s: u64) -> i64 {
    i64::try_from(interval_s.saturating_mul(1_000)).unwrap_or(i64::MAX)
}

/// The heartbeat's payload from the gate's status and its outbox.
pub fn payload(
    status: &StatusReport,
    site: Option<&gate_config::schema::Site>,
    outbox: &OutboxView,
    interval_s: u64,
) -> serde_json::Value {
    serde_json::json!({
        "gate_id": status.gate_id,
        "profile": status.profile,
        "site": site,
        "software_version": status.version,
        "uptime_s": status.uptime_s,
        "interval_s": interval_s,
        "state": status.state,
        "in_service": status.out_of_service_reasons.is_empty(),
        "out_of_service_reasons": status.out_of_service_reasons,
        "conditions": status.conditions,
        "devices": status.devices,
        "counters": status.counters,
        "outbox": {
            "pending": outbox.pending,
            "used_bytes": outbox.used_bytes,
            "high_water_bytes": outbox.high_water_bytes,
            "oldest_pending_age_ms": outbox.oldest_pending_age_ms,
        },
        "sync": {
            "last_success_ms": outbox.sync_last_success_ms,
            "last_failure_ms": outbox.sync_last_failure_ms,
            "lag_ms": outbox.sync_lag_ms,
        },
    })
}

impl Daemon {
    /// Appends a heartbeat when one is due (called from housekeeping).
    pub(super) fn heartbeat_if_due(&mut self) {
        let now = self.clock.unix_ms();
        if now < self.heartbeat.next_ms {
            return;
        }
        let interval_s = self.config.reporting.heartbeat_s;
        self.heartbeat.next_ms = now.saturating_add(interval_ms(interval_s));
        let status = self.status();
        let view = self.store.view();
        let payload = payload(&status, self.config.gate.site.as_ref(), &view, interval_s);
        self.store.append(event_kind::GATE_HEARTBEAT, now, payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_beat_is_one_interval_after_start() {
        let beat = Heartbeat::new(1_000, 60);
        assert_eq!(beat.next_ms, 61_000);
        assert_eq!(Heartbeat::new(i64::MAX - 5, 60).next_ms, i64::MAX);
    }
}

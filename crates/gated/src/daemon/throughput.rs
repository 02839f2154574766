//! Housekeeping every few seconds: outcomes not yet durable retried, the outbox's high-water
//! mark and the lists' freshness checked (by the outbox writer), and at the end of each
//! reporting period the throughput figures recorded (travellers, per hour, time per
//! traveller) so the agency can publish waiting times.

use super::Daemon;
use crate::event_kind;
use crate::store::StoreJob;

/// Transaction durations of one throughput period.
#[derive(Debug)]
pub struct Throughput {
    period_start_ms: i64,
    durations_ms: Vec<u64>,
}

impl Throughput {
    /// A period starting at `period_start_ms` (Unix ms).
    pub fn new(period_start_ms: i64) -> Self {
        Self {
            period_start_ms,
            durations_ms: Vec::new(),
        }
    }

    /// Counts one traveller who took `total_ms`.
    pub fn count(&mut self, total_ms: u64) {
        self.durations_ms.push(total_ms);
    }

    /// The figures of the period ending at `now_ms`, as the event's payload.
    fn figures(mut self, gate_id: &str, profile: &str, now_ms: i64) -> serde_json::Value {
        let durations = &mut self.durations_ms;
        durations.sort_unstable();
        let travellers = durations.len();
        let span_ms = (now_ms - self.period_start_ms).max(1);
        let percentile =
            |p: usize| (!durations.is_empty()).then(|| durations[(durations.len() - 1) * p / 100]);
        serde_json::json!({
            "gate_id": gate_id,
            "profile": profile,
            "period_start_ms": self.period_start_ms,
            "period_end_ms": now_ms,
            "travellers": travellers,
            "travellers_per_hour": (travellers as f64) * 3_600_000.0 / (span_ms as f64),
            "mean_ms": (travellers > 0).then(|| durations.iter().sum::<u64>() / travellers as u64),
            "p50_ms": percentile(50),
            "p90_ms": percentile(90),
        })
    }
}

impl Daemon {
    pub(super) fn housekeeping(&mut self) {
        self.retry_unrecorded();
        // An outcome whose time on the traveller's screen is over gives way to the idle screen.
        self.publish_screen();
        let period_ms =
            i64::try_from(self.config.reporting.throughput_period_s * 1_000).unwrap_or(i64::MAX);
        let now = self.clock.unix_ms();
        if now - self.throughput.period_start_ms >= period_ms {
            let period = std::mem::replace(&mut self.throughput, Throughput::new(now));
            let payload =
                period.figures(&self.config.gate.id, self.config.gate.profile.as_str(), now);
            self.store.append(event_kind::GATE_THROUGHPUT, now, payload);
        }
        self.heartbeat_if_due();
        self.store.send(StoreJob::Housekeeping {
            lists: self.lists.clone(),
        });
    }
}

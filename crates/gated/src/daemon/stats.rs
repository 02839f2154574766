//! How long the main loop is busy per wake-up: the loop's longest stalls are what a traveller,
//! the door and `gatectl` wait for. Kept as a histogram of bounded size (log-scale buckets,
//! 10 % wide), so it can run for the daemon's whole life.

use std::time::Duration;

/// Buckets: bucket `i` holds durations up to `1.1^i` microseconds; 256 buckets reach hours.
const BUCKETS: usize = 256;
const RATIO: f64 = 1.1;

/// A histogram of the main loop's busy times.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopStats {
    counts: Vec<u64>,
    total: u64,
    max: Duration,
}

impl Default for LoopStats {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: Duration::ZERO,
        }
    }
}

fn bucket(busy: Duration) -> usize {
    let micros = busy.as_secs_f64() * 1e6;
    if micros <= 1.0 {
        return 0;
    }
    let index = (micros.ln() / RATIO.ln()).ceil();
    (index as usize).min(BUCKETS - 1)
}

fn upper(index: usize) -> Duration {
    Duration::from_secs_f64(RATIO.powi(i32::try_from(index).unwrap_or(i32::MAX)) / 1e6)
}

impl LoopStats {
    /// Counts one wake-up that kept the loop busy for `busy`.
    pub fn record(&mut self, busy: Duration) {
        self.counts[bucket(busy)] += 1;
        self.total += 1;
        self.max = self.max.max(busy);
    }

    /// Wake-ups counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The longest one.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The `p`-th percentile (0..=100), to within the bucket width (10 %, never above the
    /// maximum seen); zero when nothing was counted.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper(index).min(self.max);
            }
        }
        self.max
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &LoopStats) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }
}

impl std::fmt::Display for LoopStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} wake-ups, busy p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
            self.total,
            self.percentile(50.0),
            self.percentile(99.0),
            self.percentile(99.9),
            self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_a_bucket_of_the_truth() {
        let mut stats = LoopStats::default();
        for micros in 1..=1000u64 {
            stats.record(Duration::from_micros(micros));
        }
        assert_eq!(stats.count(), 1000);
        assert_eq!(stats.max(), Duration::from_micros(1000));
        for (p, truth) in [(50.0, 500.0), (99.0, 990.0)] {
            let got = stats.percentile(p).as_secs_f64() * 1e6;
            assert!(
                got >= truth && got <= truth * RATIO,
                "p{p}: {got} vs {truth}"
            );
        }
        assert_eq!(stats.percentile(100.0), Duration::from_micros(1000));
        assert_eq!(LoopStats::default().percentile(99.0), Duration::ZERO);
    }
}

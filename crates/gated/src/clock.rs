//! The daemon's clock: time is an input of the core ([`gate_core::Now`]), and every timer of
//! the main loop and of the simulated devices waits on this clock.
//!
//! [`Clock::system`] is the real one (tokio's monotonic clock and the system's wall clock).
//! [`Clock::manual`] only moves when [`Clock::advance`] is called: the in-process test harness
//! uses it to run transaction time limits, deny holds and throughput periods in an instant and
//! in a known order. Device threads (door lines, camera, chip reader) always run in real time.

use gate_core::Now;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// A shared clock; cheap to clone.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Source>);

#[derive(Debug)]
enum Source {
    System {
        origin: Instant,
    },
    Manual {
        unix_origin_ms: i64,
        now_ms: watch::Sender<u64>,
    },
}

/// [`Clock::advance`] on the system clock.
#[derive(Debug, thiserror::Error)]
#[error("the system clock cannot be advanced by hand")]
pub struct NotManual;

impl Clock {
    /// The real clock; monotonic time counts from now.
    pub fn system() -> Self {
        Self(Arc::new(Source::System {
            origin: Instant::now(),
        }))
    }

    /// A clock standing at monotonic 0 and wall-clock `unix_origin_ms` until advanced.
    pub fn manual(unix_origin_ms: i64) -> Self {
        let (now_ms, _) = watch::channel(0);
        Self(Arc::new(Source::Manual {
            unix_origin_ms,
            now_ms,
        }))
    }

    /// Milliseconds since the clock started.
    pub fn monotonic_ms(&self) -> u64 {
        match &*self.0 {
            Source::System { origin } => {
                u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
            }
            Source::Manual { now_ms, .. } => *now_ms.borrow(),
        }
    }

    /// Wall-clock time in Unix milliseconds.
    pub fn unix_ms(&self) -> i64 {
        match &*self.0 {
            Source::System { .. } => crate::unix_ms(),
            Source::Manual {
                unix_origin_ms,
                now_ms,
            } => unix_origin_ms.saturating_add(i64::try_from(*now_ms.borrow()).unwrap_or(0)),
        }
    }

    /// Both, for the core.
    pub fn now(&self) -> Now {
        Now::new(self.monotonic_ms(), self.unix_ms())
    }

    /// Completes once the monotonic time is at or past `at_ms`.
    pub async fn sleep_until(&self, at_ms: u64) {
        match &*self.0 {
            Source::System { origin } => {
                tokio::time::sleep_until(*origin + Duration::from_millis(at_ms)).await;
            }
            Source::Manual { now_ms, .. } => {
                let mut now = now_ms.subscribe();
                // The sender lives as long as this clock, which the caller holds.
                let _ = now.wait_for(|now| *now >= at_ms).await;
            }
        }
    }

    /// Completes `after` from now.
    pub async fn sleep(&self, after: Duration) {
        let at = self
            .monotonic_ms()
            .saturating_add(u64::try_from(after.as_millis()).unwrap_or(u64::MAX));
        self.sleep_until(at).await;
    }

    /// Moves a manual clock forward (and wakes everything due); refused by the system clock.
    pub fn advance(&self, by: Duration) -> Result<(), NotManual> {
        match &*self.0 {
            Source::System { .. } => Err(NotManual),
            Source::Manual { now_ms, .. } => {
                let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
                now_ms.send_modify(|now| *now = now.saturating_add(by));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_only_when_advanced_past_their_time() {
        let clock = Clock::manual(1_000_000);
        assert_eq!(clock.now(), Now::new(0, 1_000_000));
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(5_000).await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_millis(4_999)).unwrap();
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_millis(1)).unwrap();
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(clock.now(), Now::new(5_000, 1_005_000));
        assert!(Clock::system().advance(Duration::from_secs(1)).is_err());
    }
}

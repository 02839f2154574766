//! Surviving a vanished camera: [`Backoff`] and [`ReconnectingCamera`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Camera, CameraError, CameraHealth, CameraInfo, Frame};

/// Exponential back-off between reopen attempts: `initial`, doubling, capped at `max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// A back-off starting at `initial` and never waiting longer than `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.min(max);
        Backoff {
            initial,
            max,
            current: initial,
        }
    }

    /// The delay before the next attempt; each call doubles the following one (up to `max`).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.current;
        self.current = (self.current * 2).min(self.max);
        delay
    }

    /// Back to `initial` after a success.
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

impl Default for Backoff {
    /// 250 ms doubling up to 10 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(10))
    }
}

/// Any camera made resilient: when the device is lost ([`CameraError::is_device_lost`]) the
/// inner camera is dropped, [`Camera::health`] turns [`CameraHealth::Down`], and later calls to
/// [`Camera::next_frame`] reopen it through `opener` with exponential [`Backoff`]. While down,
/// `next_frame` waits (at most its timeout) for the next attempt and returns
/// [`CameraError::Down`] if it is not due or fails, so a capture loop never spins.
pub struct ReconnectingCamera<O> {
    device: PathBuf,
    opener: O,
    camera: Option<Box<dyn Camera>>,
    info: CameraInfo,
    backoff: Backoff,
    retry_at: Instant,
    down_reason: String,
}

impl<O> ReconnectingCamera<O>
where
    O: FnMut() -> Result<Box<dyn Camera>, CameraError> + Send,
{
    /// Tries `opener` once now; if that fails the camera starts down and retries later
    /// (the error is kept as the down reason, not returned: a daemon starts without its camera).
    pub fn new(device: PathBuf, mut opener: O, mut backoff: Backoff) -> Self {
        let now = Instant::now();
        let (camera, down_reason, retry_at) = match opener() {
            Ok(camera) => (Some(camera), String::new(), now),
            Err(error) => (None, error.to_string(), now + backoff.next_delay()),
        };
        let info = camera
            .as_ref()
            .map(|camera| camera.info().clone())
            .unwrap_or_else(|| CameraInfo {
                backend: "not opened yet".to_owned(),
                device: device.clone(),
                driver: String::new(),
                card: String::new(),
                bus: String::new(),
                pixel_format: None,
                width: 0,
                height: 0,
                fps: 0.0,
            });
        ReconnectingCamera {
            device,
            opener,
            camera,
            info,
            backoff,
            retry_at,
            down_reason,
        }
    }

    fn down_error(&self, now: Instant) -> CameraError {
        CameraError::Down {
            device: self.device.clone(),
            reason: self.down_reason.clone(),
            retry_in: self.retry_at.saturating_duration_since(now),
        }
    }
}

impl<O> Camera for ReconnectingCamera<O>
where
    O: FnMut() -> Result<Box<dyn Camera>, CameraError> + Send,
{
    fn info(&self) -> &CameraInfo {
        &self.info
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let started = Instant::now();
        if self.camera.is_none() {
            let wait = self.retry_at.saturating_duration_since(started);
            if wait > timeout {
                std::thread::sleep(timeout);
                return Err(self.down_error(Instant::now()));
            }
            std::thread::sleep(wait);
            match (self.opener)() {
                Ok(camera) => {
                    tracing::info!(device = %self.device.display(), "camera reopened");
                    self.info = camera.info().clone();
                    self.camera = Some(camera);
                    self.backoff.reset();
                    self.down_reason.clear();
                }
                Err(error) => {
                    self.down_reason = error.to_string();
                    self.retry_at = Instant::now() + self.backoff.next_delay();
                    return Err(self.down_error(Instant::now()));
                }
            }
        }
        let remaining = timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        let Some(camera) = self.camera.as_mut() else {
            return Err(self.down_error(Instant::now()));
        };
        match camera.next_frame(remaining) {
            Err(error) if error.is_device_lost() => {
                tracing::warn!(device = %self.device.display(), %error, "camera lost; will reopen");
                self.camera = None;
                self.down_reason = error.to_string();
                self.retry_at = Instant::now() + self.backoff.next_delay();
                Err(error)
            }
            other => other,
        }
    }

    fn health(&self) -> CameraHealth {
        match &self.camera {
            Some(camera) => camera.health(),
            None => CameraHealth::Down {
                reason: self.down_reason.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A scripted camera: yields frames until told the device vanished.
    struct ScriptedCamera {
        info: CameraInfo,
        vanish_after: usize,
        delivered: usize,
    }

    impl Camera for ScriptedCamera {
        fn info(&self) -> &CameraInfo {
            &self.info
        }
        fn next_frame(&mut self, _timeout: Duration) -> Result<Frame, CameraError> {
            if self.delivered == self.vanish_after {
                return Err(CameraError::Disconnected {
                    device: self.info.device.clone(),
                    operation: "VIDIOC_DQBUF",
                    source: std::io::Error::from_raw_os_error(19),
                });
            }
            self.delivered += 1;
            Ok(Frame {
                width: 1,
                height: 1,
                data: vec![0, 0, 0],
                captured_at: Instant::now(),
                sequence: self.delivered as u64,
            })
        }
        fn health(&self) -> CameraHealth {
            CameraHealth::Up
        }
    }

    fn info() -> CameraInfo {
        CameraInfo {
            backend: "scripted".to_owned(),
            device: PathBuf::from("/dev/video-test"),
            driver: String::new(),
            card: String::new(),
            bus: String::new(),
            pixel_format: None,
            width: 1,
            height: 1,
            fps: 30.0,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let delays: Vec<u128> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 350, 350, 350]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn goes_down_on_disconnect_and_comes_back_after_failed_reopens() {
        // Opening succeeds at first, then fails twice (device gone), then succeeds.
        let attempts = Arc::new(Mutex::new(0usize));
        let counter = Arc::clone(&attempts);
        let opener = move || -> Result<Box<dyn Camera>, CameraError> {
            let mut count = counter.lock().unwrap();
            *count += 1;
            if *count == 2 || *count == 3 {
                return Err(CameraError::NotFound {
                    device: PathBuf::from("/dev/video-test"),
                });
            }
            Ok(Box::new(ScriptedCamera {
                info: info(),
                vanish_after: 2,
                delivered: 0,
            }))
        };
        let backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(20));
        let mut camera = ReconnectingCamera::new(PathBuf::from("/dev/video-test"), opener, backoff);
        assert!(camera.health().is_up());
        let timeout = Duration::from_millis(200);
        assert!(camera.next_frame(timeout).is_ok());
        assert!(camera.next_frame(timeout).is_ok());
        let lost = camera.next_frame(timeout).unwrap_err();
        assert!(matches!(lost, CameraError::Disconnected { .. }), "{lost}");
        assert!(!camera.health().is_up());
        // Two failing reopen attempts, each reported as Down with the cause.
        for _ in 0..2 {
            let error = camera.next_frame(timeout).unwrap_err();
            assert!(
                matches!(&error, CameraError::Down { reason, .. } if reason.contains("no such device")),
                "{error}"
            );
            assert!(!camera.health().is_up());
        }
        assert!(camera.next_frame(timeout).is_ok());
        assert!(camera.health().is_up());
        assert_eq!(*attempts.lock().unwrap(), 4);
    }

    #[test]
    fn starts_down_when_the_first_open_fails_and_waits_instead_of_spinning() {
        let opener = || -> Result<Box<dyn Camera>, CameraError> {
            Err(CameraError::NotFound {
                device: PathBuf::from("/dev/video9"),
            })
        };
        let backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(5));
        let mut camera = ReconnectingCamera::new(PathBuf::from("/dev/video9"), opener, backoff);
        assert!(!camera.health().is_up());
        let started = Instant::now();
        let error = camera.next_frame(Duration::from_millis(30)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(
            matches!(error, CameraError::Down { retry_in, .. } if retry_in > Duration::from_secs(4))
        );
    }
}

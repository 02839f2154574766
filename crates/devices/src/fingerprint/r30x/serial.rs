//! The R30x driver on a real serial device, with reopen after the device vanishes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::FACTORY_BAUD_RATE;
use super::command::{SystemParameter, SystemParameters};
use super::driver::{R30x, R30xConfig};
use crate::fingerprint::{
    Capture, FingerImage, FingerprintError, FingerprintSensor, MatchOutcome, SearchHit, SensorInfo,
    Template, TemplateSlot,
};

/// How to open the serial device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    /// Device path, e.g. `/dev/gate/fingerprint` (the udev link) or `/dev/ttyUSB0`.
    pub path: PathBuf,
    /// Baud rate (module default [`FACTORY_BAUD_RATE`]).
    pub baud_rate: u32,
    /// Read poll interval: the port timeout the driver's deadlines are built on.
    pub read_poll: Duration,
    /// Open the port exclusively (TIOCEXCL + flock) so no other process talks to the module;
    /// a port another program holds that way is reported as [`FingerprintError::InUse`].
    pub exclusive: bool,
}

impl SerialSettings {
    /// Defaults for `path`: the factory baud rate, 20 ms read poll, exclusive.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SerialSettings {
            path: path.into(),
            baud_rate: FACTORY_BAUD_RATE,
            read_poll: Duration::from_millis(20),
            exclusive: true,
        }
    }
}

/// Back-off between reconnection attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Wait after the first failed attempt.
    pub initial_backoff: Duration,
    /// Upper bound of the doubling wait.
    pub max_backoff: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

type Port = Box<dyn serialport::SerialPort>;

/// An R30x module on a serial device that survives being unplugged.
///
/// When an operation finds the device gone it returns [`FingerprintError::DeviceGone`] and
/// drops the port. Later operations try to reopen it (open, VfyPwd, ReadSysPara); a failed
/// attempt doubles the back-off up to [`ReconnectPolicy::max_backoff`], and operations during
/// the back-off fail fast with [`FingerprintError::NotConnected`] (carrying why the last
/// attempt failed) instead of blocking.
pub struct SerialR30x {
    settings: SerialSettings,
    config: R30xConfig,
    policy: ReconnectPolicy,
    driver: Option<R30x<Port>>,
    backoff: Duration,
    next_attempt: Instant,
    times_opened: u64,
    last_failure: Option<FingerprintError>,
}

impl std::fmt::Debug for SerialR30x {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialR30x")
            .field("settings", &self.settings)
            .field("connected", &self.driver.is_some())
            .field("times_opened", &self.times_opened)
            .finish_non_exhaustive()
    }
}

impl SerialR30x {
    /// Open the device and run the handshake; fails if the module is not there now.
    pub fn open(
        settings: SerialSettings,
        config: R30xConfig,
        policy: ReconnectPolicy,
    ) -> Result<Self, FingerprintError> {
        let mut sensor = Self::disconnected(settings, config, policy);
        sensor.ensure_connected()?;
        Ok(sensor)
    }

    /// A handle that connects lazily on the first operation (for a daemon that must start
    /// even while the module is unplugged).
    pub fn disconnected(
        settings: SerialSettings,
        config: R30xConfig,
        policy: ReconnectPolicy,
    ) -> Self {
        SerialR30x {
            settings,
            config,
            policy,
            driver: None,
            backoff: policy.initial_backoff,
            next_attempt: Instant::now(),
            times_opened: 0,
            last_failure: None,
        }
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.settings.path
    }

    /// Whether a port is open right now.
    pub fn is_connected(&self) -> bool {
        self.driver.is_some()
    }

    /// How many times the port was opened successfully (1 after the first connection, more
    /// after reconnections).
    pub fn times_opened(&self) -> u64 {
        self.times_opened
    }

    /// Keep trying to reconnect (honouring the back-off) until connected or `within` passes.
    pub fn reconnect_within(&mut self, within: Duration) -> Result<(), FingerprintError> {
        let deadline = Instant::now() + within;
        loop {
            match self.ensure_connected() {
                Ok(()) => return Ok(()),
                Err(error) if error.is_device_gone() => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(error);
                    }
                    let wake = self.next_attempt.min(deadline).max(now);
                    std::thread::sleep(wake - now);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Change the module's baud rate (SetSysPara 4) and then the port's.
    pub fn set_baud_rate(&mut self, baud_rate: u32) -> Result<(), FingerprintError> {
        if !baud_rate.is_multiple_of(9600) || !(9600..=115_200).contains(&baud_rate) {
            return Err(FingerprintError::InvalidArgument(format!(
                "baud rate {baud_rate} is not a multiple of 9600 between 9600 and 115200"
            )));
        }
        let multiplier = (baud_rate / 9600) as u8;
        self.with_driver(|driver| {
            driver.set_system_parameter(SystemParameter::BaudMultiplier, multiplier)?;
            let device = driver.device().to_string();
            driver.port_mut().set_baud_rate(baud_rate).map_err(|error| {
                FingerprintError::DeviceGone {
                    device,
                    reason: format!("cannot set port baud rate: {error}"),
                }
            })
        })?;
        self.settings.baud_rate = baud_rate;
        Ok(())
    }

    /// Run `operation` on the underlying protocol driver (full command set).
    pub fn with_driver<T>(
        &mut self,
        operation: impl FnOnce(&mut R30x<Port>) -> Result<T, FingerprintError>,
    ) -> Result<T, FingerprintError> {
        self.ensure_connected()?;
        let Some(driver) = self.driver.as_mut() else {
            return Err(self.gone("not connected".into()));
        };
        let result = operation(driver);
        if let Err(error) = &result
            && error.is_device_gone()
        {
            warn!(device = %self.settings.path.display(), %error, "fingerprint module vanished");
            self.driver = None;
            self.backoff = self.policy.initial_backoff;
            self.next_attempt = Instant::now();
        }
        result
    }

    /// Current system parameters.
    pub fn system_parameters(&mut self) -> Result<SystemParameters, FingerprintError> {
        self.with_driver(|driver| driver.read_system_parameters())
    }

    fn gone(&self, reason: String) -> FingerprintError {
        FingerprintError::DeviceGone {
            device: self.settings.path.display().to_string(),
            reason,
        }
    }

    fn ensure_connected(&mut self) -> Result<(), FingerprintError> {
        if self.driver.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if now < self.next_attempt {
            let retry_in = self.next_attempt - now;
            return Err(match &self.last_failure {
                Some(cause) => FingerprintError::NotConnected {
                    device: self.settings.path.display().to_string(),
                    cause: Box::new(cause.clone()),
                    retry_in,
                },
                None => self.gone(format!(
                    "reconnect back-off, next attempt in {} ms",
                    retry_in.as_millis()
                )),
            });
        }
        match self.try_open() {
            Ok(driver) => {
                if self.times_opened > 0 {
                    info!(device = %self.settings.path.display(), "fingerprint module reconnected");
                }
                self.driver = Some(driver);
                self.times_opened += 1;
                self.backoff = self.policy.initial_backoff;
                self.last_failure = None;
                Ok(())
            }
            Err(error) => {
                self.next_attempt = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(self.policy.max_backoff);
                self.last_failure = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Fails with [`FingerprintError::InUse`] when another program holds the device: its
    /// exclusive open (TIOCEXCL) refuses ours, or its exclusive lock (flock, which serial
    /// programs take; TIOCEXCL does not stop root) is taken.
    fn check_not_in_use(&self) -> Result<(), FingerprintError> {
        use std::fs::{OpenOptions, TryLockError};
        use std::os::unix::fs::OpenOptionsExt;
        let in_use = || FingerprintError::InUse {
            device: self.settings.path.display().to_string(),
            holder: lock_holder(&self.settings.path),
        };
        // No controlling terminal, and no wait for a carrier on a real serial line.
        let probe = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(&self.settings.path);
        match probe {
            Err(error) if error.raw_os_error() == Some(libc::EBUSY) => Err(in_use()),
            // Absent, no permission...: the real open reports it.
            Err(_) => Ok(()),
            Ok(file) => match file.try_lock() {
                Err(TryLockError::WouldBlock) => Err(in_use()),
                // Unlocked again when `file` closes here.
                Ok(()) | Err(TryLockError::Error(_)) => Ok(()),
            },
        }
    }

    fn try_open(&self) -> Result<R30x<Port>, FingerprintError> {
        if self.settings.exclusive {
            self.check_not_in_use()?;
        }
        let path = self.settings.path.display().to_string();
        let port = serialport::new(path.clone(), self.settings.baud_rate)
            .timeout(self.settings.read_poll)
            .open_native()
            .map_err(|error| self.gone(format!("cannot open: {error}")))?;
        let mut port = port;
        if !self.settings.exclusive {
            port.set_exclusive(false)
                .map_err(|error| self.gone(format!("cannot release exclusive mode: {error}")))?;
        }
        let mut driver = R30x::new(Box::new(port) as Port, path, self.config.clone());
        driver.handshake()?;
        Ok(driver)
    }
}

/// Who holds an exclusive lock (flock) on the device at `path`, from `/proc/locks`, e.g.
/// `gated (pid 812)`; `None` when nobody does or it cannot be told.
fn lock_holder(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    // /proc/locks names a file by its filesystem's device (major:minor, hex) and inode.
    let dev = metadata.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let file = format!("{major:02x}:{minor:02x}:{}", metadata.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // "1: FLOCK  ADVISORY  WRITE 812 00:19:3 0 EOF"; waiters read "1: -> FLOCK ...".
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) == Some(&"->") {
            return None;
        }
        let at = fields.iter().position(|field| *field == "FLOCK")?;
        if fields.get(at + 4) != Some(&file.as_str()) {
            return None;
        }
        let pid = fields.get(at + 3)?;
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|comm| comm.trim().to_owned())
            .unwrap_or_else(|_| "a process".to_owned());
        Some(format!("{name} (pid {pid})"))
    })
}

impl FingerprintSensor for SerialR30x {
    fn info(&mut self) -> Result<SensorInfo, FingerprintError> {
        self.with_driver(|d| d.info())
    }
    fn capture(&mut self) -> Result<Capture, FingerprintError> {
        self.with_driver(|d| d.capture())
    }
    fn upload_image(&mut self) -> Result<FingerImage, FingerprintError> {
        self.with_driver(|d| d.upload_image())
    }
    fn extract_template(&mut self, slot: TemplateSlot) -> Result<(), FingerprintError> {
        self.with_driver(|d| d.extract_template(slot))
    }
    fn combine_slots(&mut self) -> Result<(), FingerprintError> {
        self.with_driver(|d| d.combine_slots())
    }
    fn upload_template(&mut self, slot: TemplateSlot) -> Result<Template, FingerprintError> {
        self.with_driver(|d| d.upload_template(slot))
    }
    fn download_template(
        &mut self,
        slot: TemplateSlot,
        template: &Template,
    ) -> Result<(), FingerprintError> {
        self.with_driver(|d| d.download_template(slot, template))
    }
    fn compare_slots(&mut self) -> Result<MatchOutcome, FingerprintError> {
        self.with_driver(|d| d.compare_slots())
    }
    fn search_library(
        &mut self,
        slot: TemplateSlot,
    ) -> Result<Option<SearchHit>, FingerprintError> {
        self.with_driver(|d| d.search_library(slot))
    }
    fn store_template(&mut self, slot: TemplateSlot, page: u16) -> Result<(), FingerprintError> {
        self.with_driver(|d| d.store_template(slot, page))
    }
    fn load_template(&mut self, page: u16, slot: TemplateSlot) -> Result<(), FingerprintError> {
        self.with_driver(|d| d.load_template(page, slot))
    }
    fn delete_templates(&mut self, page: u16, count: u16) -> Result<(), FingerprintError> {
        self.with_driver(|d| d.delete_templates(page, count))
    }
    fn clear_library(&mut self) -> Result<(), FingerprintError> {
        self.with_driver(|d| d.clear_library())
    }
    fn template_count(&mut self) -> Result<u16, FingerprintError> {
        self.with_driver(|d| d.template_count())
    }
}

//! Device health as the device threads see it: each real device thread reports changes, the
//! main loop turns them into out-of-service conditions and into `gatectl status` lines.

use gate_core::Condition;
use gate_protocol::Health;
use tokio::sync::mpsc;

/// A device role of the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceRole {
    /// The document chip reader.
    ChipReader,
    /// The camera (and the face models behind it).
    Camera,
    /// The turnstile / door.
    Door,
    /// The fingerprint module.
    Fingerprint,
}

impl DeviceRole {
    /// The name used in status reports and config (`[devices.NAME]`).
    pub const fn name(self) -> &'static str {
        match self {
            DeviceRole::ChipReader => "chip_reader",
            DeviceRole::Camera => "camera",
            DeviceRole::Door => "door",
            DeviceRole::Fingerprint => "fingerprint",
        }
    }

    /// The condition that takes the gate out of service while this device is down.
    pub const fn condition(self) -> Condition {
        match self {
            DeviceRole::ChipReader => Condition::ChipReaderDown,
            DeviceRole::Camera => Condition::CameraDown,
            DeviceRole::Door => Condition::DoorFault,
            DeviceRole::Fingerprint => Condition::FingerprintReaderDown,
        }
    }
}

/// One health change of one device.
#[derive(Clone, Debug)]
pub struct HealthReport {
    /// Which device.
    pub role: DeviceRole,
    /// Its health now.
    pub health: Health,
    /// What a technician should know (never personal data).
    pub detail: String,
}

/// The sending side for device threads (blocking send; never call from async code).
#[derive(Clone, Debug)]
pub struct HealthSender(mpsc::Sender<HealthReport>);

impl HealthSender {
    /// Wraps the main loop's health channel.
    pub fn new(sender: mpsc::Sender<HealthReport>) -> Self {
        Self(sender)
    }

    /// Reports a change; silently dropped when the main loop is gone (shutdown).
    pub fn send(&self, report: HealthReport) {
        let _ = self.0.blocking_send(report);
    }
}

/// One device thread's reporting: sends a report when the health changes, or when the detail
/// of a device that is not up changes (a new reason), and logs the change. A device thread
/// may call [`HealthReporter::report`] after every operation; repeats are not sent.
#[derive(Debug)]
pub struct HealthReporter {
    role: DeviceRole,
    sender: HealthSender,
    last: Option<(Health, String)>,
}

impl HealthReporter {
    /// A reporter for `role` that has reported nothing yet.
    pub fn new(role: DeviceRole, sender: HealthSender) -> Self {
        Self {
            role,
            sender,
            last: None,
        }
    }

    /// Reports `health` with `detail` if it is news.
    pub fn report(&mut self, health: Health, detail: String) {
        let news = self
            .last
            .as_ref()
            .is_none_or(|(h, d)| *h != health || (health != Health::Up && *d != detail));
        if !news {
            return;
        }
        if health == Health::Up {
            tracing::info!(device = self.role.name(), %detail, "device up");
        } else {
            tracing::warn!(device = self.role.name(), %detail, "device down");
        }
        self.last = Some((health, detail.clone()));
        self.sender.send(HealthReport {
            role: self.role,
            health,
            detail,
        });
    }
}

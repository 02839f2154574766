//! Fingerprint modules on a serial port.
//!
//! * [`FingerprintSensor`] is the narrow, family-independent interface the daemon uses:
//!   capture, quality, feature extraction into one of two template slots, template
//!   download/upload, 1:1 comparison of the slots, library search/store/delete/count and image
//!   upload. A second module family (GT-521Fxx) can be added behind it.
//! * [`r30x`] implements the R30x / ZFM / AS608 packet protocol over any `Read + Write` port
//!   ([`r30x::R30x`]) and over a real serial device with reconnection ([`r30x::SerialR30x`],
//!   feature `serial`).
//! * [`simulator`] is a module simulator (a test and demo tool, not a sensor): it speaks the
//!   same protocol on one end of a pty pair with synthetic fingers, templates and faults.
//!
//! Privacy: [`Template`] and [`FingerImage`] never print their content in `Debug`, and nothing
//! in this module logs biometric data.

pub mod image;
pub mod iso19794_4;
pub mod r30x;
pub mod simulator;

use std::time::{Duration, Instant};

use thiserror::Error;

pub use image::{FingerImage, ImageQuality};

/// The module family behind a [`FingerprintSensor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleFamily {
    /// R30x / ZFM / AS608 (EF01 packet protocol).
    R30x,
}

/// Which of the module's two working template (feature) slots to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateSlot {
    /// Slot 1 (R30x CharBuffer1).
    First,
    /// Slot 2 (R30x CharBuffer2).
    Second,
}

/// Static facts about a connected module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorInfo {
    /// Module family.
    pub family: ModuleFamily,
    /// Device path or label.
    pub device: String,
    /// Template library capacity (pages).
    pub library_capacity: u16,
    /// Matching security level reported by the module (R30x: 1..=5).
    pub security_level: u16,
    /// Data packet size in bytes.
    pub packet_size: usize,
    /// Baud rate the module reports.
    pub baud_rate: u32,
    /// Module address.
    pub address: u32,
}

/// Result of one capture attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// A finger was imaged; the image is in the module's image buffer.
    FingerImaged,
    /// Nothing on the sensor.
    NoFinger,
}

/// Result of a 1:1 comparison of the two template slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchOutcome {
    /// Whether the module considers the slots the same finger at its security level.
    pub matched: bool,
    /// The module's matching score, also when it refused the match (R30x: the refusal's
    /// acknowledgement carries the score too).
    pub score: u16,
}

/// A library hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchHit {
    /// Library page id of the matching template.
    pub page: u16,
    /// Match score.
    pub score: u16,
}

/// A module-format fingerprint template (R30x: 512 bytes).
///
/// `Debug` prints only the length: templates are biometric data and must not reach logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Template(Vec<u8>);

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Template({} bytes, content redacted)", self.0.len())
    }
}

impl Template {
    /// Wrap template bytes (as uploaded by a module or synced from central).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Template(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Take the raw bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Errors of any fingerprint module backend.
#[derive(Debug, Clone, Error)]
pub enum FingerprintError {
    /// The device disappeared (unplugged, port closed, read/write failure) or cannot be
    /// opened. The serial backend reconnects with back-off on later calls.
    #[error("fingerprint module {device} is gone: {reason}")]
    DeviceGone {
        /// Device path or label.
        device: String,
        /// What happened.
        reason: String,
    },
    /// No valid answer within the timeout, retries included.
    #[error("{command}: no valid answer from fingerprint module {device} within {timeout:?}")]
    Timeout {
        /// Device path or label.
        device: String,
        /// Datasheet name of the command.
        command: &'static str,
        /// Per-attempt timeout.
        timeout: Duration,
    },
    /// Answers kept arriving corrupted (checksum or framing) until retries ran out.
    #[error("{command}: answer from fingerprint module {device} corrupted on the line ({detail})")]
    Corrupted {
        /// Device path or label.
        device: String,
        /// Datasheet name of the command.
        command: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The module answered with an error confirmation code.
    #[error("{command}: fingerprint module {device} refused: {code}")]
    Module {
        /// Device path or label.
        device: String,
        /// Datasheet name of the command.
        command: &'static str,
        /// The typed confirmation code (part of the message, so not also a `source`: a
        /// report of the error chain names it once).
        code: r30x::ConfirmationError,
    },
    /// Another program holds the device (it opened it exclusively).
    #[error("fingerprint module {device} is in use by {}", holder.as_deref().unwrap_or("another program"))]
    InUse {
        /// Device path or label.
        device: String,
        /// The holder, e.g. `gated (pid 812)`, when it could be found out.
        holder: Option<String>,
    },
    /// Not connected: the last attempt to open the device and handshake failed with `cause`,
    /// and the next attempt waits for the reconnection back-off.
    #[error("fingerprint module {device} not connected ({cause}); next attempt in {} ms", retry_in.as_millis())]
    NotConnected {
        /// Device path or label.
        device: String,
        /// Why the last attempt failed.
        cause: Box<FingerprintError>,
        /// Time until the next attempt.
        retry_in: Duration,
    },
    /// A well-formed answer that does not fit the command (wrong packet kind, short payload,
    /// wrong transfer length).
    #[error("{command}: unexpected answer from fingerprint module {device}: {detail}")]
    Protocol {
        /// Device path or label.
        device: String,
        /// Datasheet name of the command.
        command: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The caller passed something the module cannot take.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl FingerprintError {
    /// Whether the traveller should simply present the finger again (no finger, poor image),
    /// as opposed to a device or link fault.
    pub fn is_finger_problem(&self) -> bool {
        matches!(self, FingerprintError::Module { code, .. } if code.is_finger_problem())
    }

    /// Whether the device vanished or is not connected (waiting to reconnect).
    pub fn is_device_gone(&self) -> bool {
        matches!(
            self,
            FingerprintError::DeviceGone { .. } | FingerprintError::NotConnected { .. }
        )
    }

    /// The error behind a [`FingerprintError::NotConnected`] (the error itself otherwise).
    pub fn cause(&self) -> &FingerprintError {
        match self {
            FingerprintError::NotConnected { cause, .. } => cause.cause(),
            other => other,
        }
    }

    /// Whether the module refused the password (VfyPwd answered 13H): it is there and
    /// answering, but configured with another password than the one sent.
    pub fn is_wrong_password(&self) -> bool {
        matches!(
            self.cause(),
            FingerprintError::Module {
                code: r30x::ConfirmationError::WrongPassword,
                ..
            }
        )
    }

    /// Whether nothing valid came back (no answer, or only corrupted ones): a wrong baud rate,
    /// a wrong module address or a wiring fault look like this.
    pub fn is_no_answer(&self) -> bool {
        matches!(
            self.cause(),
            FingerprintError::Timeout { .. } | FingerprintError::Corrupted { .. }
        )
    }
}

/// The narrow interface the gate uses for any fingerprint module family.
///
/// Expected outcomes are values (`Capture::NoFinger`, `matched: false`, `None` from a search);
/// errors are faults, except the finger/image problems flagged by
/// [`FingerprintError::is_finger_problem`] (e.g. too few features at extraction).
/// Every call is bounded by the backend's timeouts: none blocks forever.
pub trait FingerprintSensor {
    /// Module facts (reads them from the module).
    fn info(&mut self) -> Result<SensorInfo, FingerprintError>;

    /// One capture attempt: image the finger into the module's image buffer, if there is one.
    fn capture(&mut self) -> Result<Capture, FingerprintError>;

    /// Poll [`FingerprintSensor::capture`] every `poll_interval` until a finger is imaged or
    /// `timeout` passes (then `Capture::NoFinger`).
    fn wait_for_finger(
        &mut self,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<Capture, FingerprintError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.capture()? == Capture::FingerImaged {
                return Ok(Capture::FingerImaged);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Capture::NoFinger);
            }
            std::thread::sleep(poll_interval.min(deadline - now));
        }
    }

    /// Transfer the image buffer to the host.
    fn upload_image(&mut self) -> Result<FingerImage, FingerprintError>;

    /// Quality of the captured image (default: upload it and apply the host-side heuristic
    /// [`FingerImage::quality`]; a family with on-module quality can override this).
    fn image_quality(&mut self) -> Result<ImageQuality, FingerprintError> {
        Ok(self.upload_image()?.quality())
    }

    /// Extract features from the captured image into `slot`.
    fn extract_template(&mut self, slot: TemplateSlot) -> Result<(), FingerprintError>;

    /// Combine slots 1 and 2 (two captures of the same finger) into one enrolment template,
    /// left in both slots. Fails with a `Module` error (R30x `CombineFailed`) if they differ.
    fn combine_slots(&mut self) -> Result<(), FingerprintError>;

    /// Transfer the template in `slot` to the host.
    fn upload_template(&mut self, slot: TemplateSlot) -> Result<Template, FingerprintError>;

    /// Put a host template (e.g. an enrolment synced from central) into `slot`.
    fn download_template(
        &mut self,
        slot: TemplateSlot,
        template: &Template,
    ) -> Result<(), FingerprintError>;

    /// Compare slot 1 with slot 2 (1:1 verification).
    fn compare_slots(&mut self) -> Result<MatchOutcome, FingerprintError>;

    /// Search the whole module library with the template in `slot` (1:N).
    fn search_library(&mut self, slot: TemplateSlot)
    -> Result<Option<SearchHit>, FingerprintError>;

    /// Store the template in `slot` at library `page`.
    fn store_template(&mut self, slot: TemplateSlot, page: u16) -> Result<(), FingerprintError>;

    /// Load the library template at `page` into `slot`.
    fn load_template(&mut self, page: u16, slot: TemplateSlot) -> Result<(), FingerprintError>;

    /// Delete `count` templates starting at `page`.
    fn delete_templates(&mut self, page: u16, count: u16) -> Result<(), FingerprintError>;

    /// Delete every template in the library.
    fn clear_library(&mut self) -> Result<(), FingerprintError>;

    /// Number of templates stored in the library.
    fn template_count(&mut self) -> Result<u16, FingerprintError>;
}

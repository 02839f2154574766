//! Camera capture behind one narrow trait, [`Camera`], delivering RGB8 frames.
//!
//! Backends:
//! - [`V4l2Camera`] (feature `v4l2`): Linux V4L2 through the `v4l` crate: open by path or udev
//!   symlink, negotiate MJPEG/YUYV, size and frame rate, mmap streaming, convert to RGB8.
//! - [`FrameSequenceSimulator`] (always compiled): a folder of JPEG/PNG images played in name
//!   order at a set rate, looping. A simulator for demos and tests, not a camera.
//!
//! [`ReconnectingCamera`] wraps any backend opener and turns a vanished device into health
//! [`CameraHealth::Down`] plus reopen attempts with exponential back-off, so the daemon keeps
//! running (and refuses travellers) until the camera is back.
//!
//! Frames are never logged: they are biometric data.

mod convert;
mod reconnect;
mod sequence;
#[cfg(feature = "v4l2")]
mod v4l2;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use convert::{ConvertError, mjpeg_to_rgb, yuyv_to_rgb};
pub use reconnect::{Backoff, ReconnectingCamera};
pub use sequence::FrameSequenceSimulator;
#[cfg(feature = "v4l2")]
pub use v4l2::V4l2Camera;

/// A pixel format a camera can deliver on the wire (before conversion to RGB8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// Motion JPEG: each frame is a JPEG image (possibly without Huffman tables).
    Mjpeg,
    /// YUYV 4:2:2 (`YUY2`), two bytes per pixel, BT.601.
    Yuyv,
}

impl PixelFormat {
    /// The V4L2 four-character code of this format.
    pub const fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Mjpeg => *b"MJPG",
            PixelFormat::Yuyv => *b"YUYV",
        }
    }

    /// The format with this V4L2 four-character code, if it is one we convert.
    pub fn from_fourcc(code: [u8; 4]) -> Option<Self> {
        match &code {
            b"MJPG" => Some(PixelFormat::Mjpeg),
            b"YUYV" => Some(PixelFormat::Yuyv),
            _ => None,
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PixelFormat::Mjpeg => "mjpeg",
            PixelFormat::Yuyv => "yuyv",
        })
    }
}

impl FromStr for PixelFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "mjpeg" | "mjpg" => Ok(PixelFormat::Mjpeg),
            "yuyv" | "yuy2" => Ok(PixelFormat::Yuyv),
            other => Err(format!(
                "unknown pixel format {other:?} (expected mjpeg or yuyv)"
            )),
        }
    }
}

/// What to ask a camera for. The backend picks the first format of `formats` the device
/// offers; the driver may adjust size and rate to the nearest it supports, and
/// [`Camera::info`] tells what was negotiated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// Acceptable wire formats, most preferred first (must not be empty).
    #[serde(default = "default_formats")]
    pub formats: Vec<PixelFormat>,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

fn default_formats() -> Vec<PixelFormat> {
    vec![PixelFormat::Mjpeg, PixelFormat::Yuyv]
}

impl Default for CaptureRequest {
    fn default() -> Self {
        CaptureRequest {
            formats: default_formats(),
            width: 1280,
            height: 720,
            fps: 30,
        }
    }
}

/// What a camera is and what was negotiated with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraInfo {
    /// Backend name: `"v4l2"` or `"frame-sequence-simulator"`.
    pub backend: String,
    /// The path the camera was opened by (device node, udev symlink or image folder).
    pub device: PathBuf,
    /// Kernel driver name (V4L2) or a description of the source.
    pub driver: String,
    /// Card / product name as the driver reports it.
    pub card: String,
    /// Bus the device sits on (for example `usb-0000:00:14.0-1`), empty when not applicable.
    pub bus: String,
    /// Negotiated wire format; `None` for image sequences (files are decoded directly).
    pub pixel_format: Option<PixelFormat>,
    /// Negotiated frame width in pixels.
    pub width: u32,
    /// Negotiated frame height in pixels.
    pub height: u32,
    /// Negotiated frame rate.
    pub fps: f64,
}

/// One captured frame converted to packed RGB8 (`width * height * 3` bytes, row-major).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Packed RGB8 pixels, `width * height * 3` bytes.
    pub data: Vec<u8>,
    /// When the frame was captured (the driver's timestamp where it has one, mapped to
    /// `Instant`), for frame-age checks.
    pub captured_at: Instant,
    /// Sequence number of the frame as counted by the source.
    pub sequence: u64,
}

impl fmt::Debug for Frame {
    // Never print pixels: frames are biometric data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

/// Whether a camera can currently deliver frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum CameraHealth {
    /// The camera is open and streaming (or ready to).
    Up,
    /// The camera is gone or failing; `reason` says why. The gate must refuse travellers.
    Down {
        /// Human-readable cause (no image data).
        reason: String,
    },
}

impl CameraHealth {
    /// True when frames can be captured.
    pub fn is_up(&self) -> bool {
        matches!(self, CameraHealth::Up)
    }
}

/// Errors from cameras, with the device they concern.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The device node (or its udev symlink) does not exist.
    #[error("camera {device}: no such device")]
    NotFound {
        /// The path that was opened.
        device: PathBuf,
    },
    /// Opening the device was refused (check the `video` group / udev rules).
    #[error("camera {device}: permission denied")]
    PermissionDenied {
        /// The path that was opened.
        device: PathBuf,
    },
    /// The device is not a streaming video capture device.
    #[error("camera {device}: not a streaming capture device ({reason})")]
    NotACaptureDevice {
        /// The path that was opened.
        device: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// None of the requested formats is offered by the device.
    #[error(
        "camera {device}: none of the formats {requested:?} is offered (device offers {available:?})"
    )]
    FormatNotSupported {
        /// The path that was opened.
        device: PathBuf,
        /// What was asked for.
        requested: Vec<PixelFormat>,
        /// The four-character codes the device offers.
        available: Vec<String>,
    },
    /// The request itself is unusable (for example no formats or a zero size).
    #[error("camera {device}: invalid capture request: {reason}")]
    InvalidRequest {
        /// The path that was opened.
        device: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The device vanished (unplugged, driver unbound): reopen it later.
    #[error("camera {device}: device disconnected during {operation}: {source}")]
    Disconnected {
        /// The path that was opened.
        device: PathBuf,
        /// What was being done.
        operation: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No frame arrived within the timeout.
    #[error("camera {device}: no frame within {waited:?}")]
    Timeout {
        /// The path that was opened.
        device: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// Another OS error.
    #[error("camera {device}: {operation} failed: {source}")]
    Io {
        /// The path that was opened.
        device: PathBuf,
        /// What was being done.
        operation: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A frame could not be converted to RGB8 (corrupt JPEG, short buffer).
    #[error("camera {device}: frame {sequence} could not be converted: {source}")]
    Convert {
        /// The path that was opened.
        device: PathBuf,
        /// The frame's sequence number.
        sequence: u64,
        /// What went wrong.
        #[source]
        source: ConvertError,
    },
    /// The image folder of a frame sequence is unusable.
    #[error("frame sequence {folder}: {reason}")]
    Sequence {
        /// The folder.
        folder: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The camera is down and the next reopen attempt is not due yet.
    #[error("camera {device} is down ({reason}); next reopen attempt in {retry_in:?}")]
    Down {
        /// The path of the camera.
        device: PathBuf,
        /// Why it went down.
        reason: String,
        /// Time until the next reopen attempt.
        retry_in: Duration,
    },
    /// The backend was not compiled in.
    #[error("camera backend {backend} is not compiled in (enable the cargo feature `{feature}`)")]
    BackendNotCompiled {
        /// Backend name.
        backend: &'static str,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
}

impl CameraError {
    /// True when the device is gone (or never appeared) and reopening later may help.
    pub fn is_device_lost(&self) -> bool {
        matches!(
            self,
            CameraError::Disconnected { .. }
                | CameraError::NotFound { .. }
                | CameraError::Down { .. }
        )
    }
}

/// A source of RGB8 frames.
///
/// Implementations are opened (and negotiated) by their constructors; the trait covers the
/// steady state. `next_frame` blocks for at most `timeout`. Run it on a dedicated thread.
pub trait Camera: Send {
    /// What the camera is and what was negotiated.
    fn info(&self) -> &CameraInfo;

    /// Waits for the next frame, at most `timeout`, and returns it converted to RGB8.
    ///
    /// Errors: [`CameraError::Timeout`] when nothing arrived in time,
    /// [`CameraError::Disconnected`] when the device vanished (health becomes down),
    /// [`CameraError::Convert`] for a frame that could not be decoded (the stream goes on).
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError>;

    /// Current health as seen by the last operation.
    fn health(&self) -> CameraHealth;
}

impl<C: Camera + ?Sized> Camera for Box<C> {
    fn info(&self) -> &CameraInfo {
        (**self).info()
    }
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        (**self).next_frame(timeout)
    }
    fn health(&self) -> CameraHealth {
        (**self).health()
    }
}

/// Which camera backend to open (the `[camera]` table of a gate config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CameraBackend {
    /// Linux V4L2 device (feature `v4l2`).
    V4l2,
    /// Folder of images played at the requested rate ([`FrameSequenceSimulator`]).
    FrameSequence,
}

/// Camera configuration: backend, device and capture request.
///
/// ```toml
/// backend = "v4l2"
/// device = "/dev/v4l/by-id/usb-Logitech_C920-video-index0"
/// formats = ["mjpeg", "yuyv"]
/// width = 1280
/// height = 720
/// fps = 30
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Which backend.
    pub backend: CameraBackend,
    /// Device node or udev symlink (V4L2), or image folder (frame sequence).
    pub device: PathBuf,
    /// Acceptable wire formats, most preferred first (V4L2 only).
    #[serde(default = "default_formats")]
    pub formats: Vec<PixelFormat>,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

impl CameraConfig {
    /// The capture request part of this config.
    pub fn request(&self) -> CaptureRequest {
        CaptureRequest {
            formats: self.formats.clone(),
            width: self.width,
            height: self.height,
            fps: self.fps,
        }
    }

    /// Opens the configured camera once (wrap it in [`ReconnectingCamera`] to survive unplugs).
    pub fn open(&self) -> Result<Box<dyn Camera>, CameraError> {
        match self.backend {
            CameraBackend::FrameSequence => Ok(Box::new(FrameSequenceSimulator::open(
                &self.device,
                self.fps,
            )?)),
            #[cfg(feature = "v4l2")]
            CameraBackend::V4l2 => Ok(Box::new(V4l2Camera::open(&self.device, &self.request())?)),
            #[cfg(not(feature = "v4l2"))]
            CameraBackend::V4l2 => Err(CameraError::BackendNotCompiled {
                backend: "v4l2",
                feature: "v4l2",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_format_round_trips_through_fourcc_and_text() {
        for format in [PixelFormat::Mjpeg, PixelFormat::Yuyv] {
            assert_eq!(PixelFormat::from_fourcc(format.fourcc()), Some(format));
            assert_eq!(format.to_string().parse::<PixelFormat>(), Ok(format));
        }
        assert_eq!(PixelFormat::from_fourcc(*b"NV12"), None);
        assert!("h264".parse::<PixelFormat>().is_err());
    }

    #[test]
    fn camera_config_parses_and_rejects_unknown_fields() {
        let config: CameraConfig = toml::from_str(
            "backend = \"v4l2\"\ndevice = \"/dev/video0\"\nwidth = 640\nheight = 480\nfps = 30\n",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(config.formats, vec![PixelFormat::Mjpeg, PixelFormat::Yuyv]);
        assert_eq!(config.request().width, 640);
        let error = toml::from_str::<CameraConfig>(
            "backend = \"v4l2\"\ndevice = \"/dev/video0\"\nwidth = 640\nheight = 480\nfps = 30\nzoom = 2\n",
        )
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
        assert!(error.contains("zoom"), "{error}");
    }

    #[test]
    fn frame_debug_does_not_print_pixels() {
        let frame = Frame {
            width: 1,
            height: 1,
            data: vec![171, 205, 239],
            captured_at: Instant::now(),
            sequence: 7,
        };
        let text = format!("{frame:?}");
        assert!(!text.contains("171"), "{text}");
        assert!(text.contains("sequence: 7"), "{text}");
    }
}

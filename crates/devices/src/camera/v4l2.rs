//! [`V4l2Camera`]: Linux V4L2 capture through the `v4l` crate (feature `v4l2`).

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use v4l::buffer::Type as BufferType;
use v4l::capability::Flags as CapabilityFlags;
use v4l::io::mmap::Stream as MmapStream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::video::capture::Parameters;
use v4l::{Device, Format, FourCC};

use super::convert::{mjpeg_to_rgb, yuyv_to_rgb};
use super::{Camera, CameraError, CameraHealth, CameraInfo, CaptureRequest, Frame, PixelFormat};

/// Number of mmap buffers queued to the driver.
const BUFFER_COUNT: u32 = 4;
/// Longest timeout handed to the driver poll (the `v4l` crate takes milliseconds as i32).
const MAX_POLL: Duration = Duration::from_secs(3600);

/// errno values that mean "the device is gone" (ENODEV, ENXIO, EIO after unplug, ESHUTDOWN).
fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(19) | Some(6) | Some(5) | Some(108)
    )
}

/// A V4L2 video capture device streaming through mmap buffers, converting each frame to RGB8.
///
/// Open it by device node (`/dev/video0`) or by a stable udev symlink
/// (`/dev/v4l/by-id/...`, `/dev/v4l/by-path/...`). Dropping it stops the stream and closes
/// the device.
pub struct V4l2Camera {
    // Field order matters: the stream must be dropped (STREAMOFF, unmap) before the device.
    stream: MmapStream<'static>,
    _device: Device,
    path: PathBuf,
    info: CameraInfo,
    format: PixelFormat,
    stride: usize,
    health: CameraHealth,
}

impl V4l2Camera {
    /// Opens `path`, checks it is a streaming capture device, picks the first of
    /// `request.formats` it offers, asks for the size and rate (the driver may adjust them;
    /// [`Camera::info`] tells the result), and maps the capture buffers.
    pub fn open(path: &Path, request: &CaptureRequest) -> Result<Self, CameraError> {
        let device_path = path.to_path_buf();
        if request.formats.is_empty()
            || request.width == 0
            || request.height == 0
            || request.fps == 0
        {
            return Err(CameraError::InvalidRequest {
                device: device_path,
                reason: format!(
                    "need at least one format and non-zero size and rate, got {request:?}"
                ),
            });
        }
        let io_error = |operation: &'static str| {
            let device = device_path.clone();
            move |source: io::Error| {
                if is_disconnect(&source) {
                    CameraError::Disconnected {
                        device,
                        operation,
                        source,
                    }
                } else {
                    CameraError::Io {
                        device,
                        operation,
                        source,
                    }
                }
            }
        };
        let device = Device::with_path(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => CameraError::NotFound {
                device: device_path.clone(),
            },
            io::ErrorKind::PermissionDenied => CameraError::PermissionDenied {
                device: device_path.clone(),
            },
            _ => io_error("open")(source),
        })?;
        let caps = device.query_caps().map_err(io_error("VIDIOC_QUERYCAP"))?;
        for (flag, name) in [
            (CapabilityFlags::VIDEO_CAPTURE, "video capture"),
            (CapabilityFlags::STREAMING, "streaming I/O"),
        ] {
            if !caps.capabilities.contains(flag) {
                return Err(CameraError::NotACaptureDevice {
                    device: device_path,
                    reason: format!("no {name} capability (driver {})", caps.driver),
                });
            }
        }
        let offered = device.enum_formats().map_err(io_error("VIDIOC_ENUM_FMT"))?;
        let offered_codes: Vec<[u8; 4]> = offered
            .iter()
            .map(|description| description.fourcc.repr)
            .collect();
        let Some(format) = request
            .formats
            .iter()
            .copied()
            .find(|format| offered_codes.contains(&format.fourcc()))
        else {
            return Err(CameraError::FormatNotSupported {
                device: device_path,
                requested: request.formats.clone(),
                available: offered_codes
                    .iter()
                    .map(|code| String::from_utf8_lossy(code).into_owned())
                    .collect(),
            });
        };
        let wanted = Format::new(request.width, request.height, FourCC::new(&format.fourcc()));
        let actual = device
            .set_format(&wanted)
            .map_err(io_error("VIDIOC_S_FMT"))?;
        if actual.fourcc.repr != format.fourcc() {
            return Err(CameraError::FormatNotSupported {
                device: device_path,
                requested: vec![format],
                available: vec![String::from_utf8_lossy(&actual.fourcc.repr).into_owned()],
            });
        }
        let params = device
            .set_params(&Parameters::with_fps(request.fps))
            .map_err(io_error("VIDIOC_S_PARM"))?;
        let fps = if params.interval.numerator == 0 {
            0.0
        } else {
            f64::from(params.interval.denominator) / f64::from(params.interval.numerator)
        };
        if (actual.width, actual.height) != (request.width, request.height) {
            tracing::warn!(
                device = %device_path.display(),
                requested = %format_args!("{}x{}", request.width, request.height),
                negotiated = %format_args!("{}x{}", actual.width, actual.height),
                "driver adjusted the frame size"
            );
        }
        let stride = if actual.stride == 0 {
            actual.width as usize * 2
        } else {
            actual.stride as usize
        };
        let stream = MmapStream::with_buffers(&device, BufferType::VideoCapture, BUFFER_COUNT)
            .map_err(io_error("VIDIOC_REQBUFS/mmap"))?;
        let info = CameraInfo {
            backend: "v4l2".to_owned(),
            device: device_path.clone(),
            driver: caps.driver,
            card: caps.card,
            bus: caps.bus,
            pixel_format: Some(format),
            width: actual.width,
            height: actual.height,
            fps,
        };
        tracing::info!(
            device = %device_path.display(), format = %format, width = actual.width,
            height = actual.height, fps, "camera opened"
        );
        Ok(V4l2Camera {
            stream,
            _device: device,
            path: device_path,
            info,
            format,
            stride,
            health: CameraHealth::Up,
        })
    }

    fn lost(&mut self, operation: &'static str, source: io::Error) -> CameraError {
        if is_disconnect(&source) {
            self.health = CameraHealth::Down {
                reason: format!("{operation}: {source}"),
            };
            CameraError::Disconnected {
                device: self.path.clone(),
                operation,
                source,
            }
        } else {
            CameraError::Io {
                device: self.path.clone(),
                operation,
                source,
            }
        }
    }
}

/// Maps a V4L2 buffer timestamp (CLOCK_MONOTONIC, the V4L2 default) to an `Instant`.
fn monotonic_to_instant(seconds: i64, microseconds: i64) -> Instant {
    let now = Instant::now();
    let Ok(clock) = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) else {
        return now;
    };
    let now_us = i128::from(clock.tv_sec()) * 1_000_000 + i128::from(clock.tv_nsec()) / 1_000;
    let frame_us = i128::from(seconds) * 1_000_000 + i128::from(microseconds);
    let age_us = now_us - frame_us;
    if !(0..=60_000_000).contains(&age_us) {
        // Not a monotonic timestamp (or a nonsense one): the dequeue time is the best we have.
        return now;
    }
    let age = Duration::from_micros(u64::try_from(age_us).unwrap_or(0));
    now.checked_sub(age).unwrap_or(now)
}

impl Camera for V4l2Camera {
    fn info(&self) -> &CameraInfo {
        &self.info
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        self.stream
            .set_timeout(timeout.clamp(Duration::from_millis(1), MAX_POLL));
        let (buffer, meta) = match CaptureStream::next(&mut self.stream) {
            Ok(dequeued) => dequeued,
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                return Err(CameraError::Timeout {
                    device: self.path.clone(),
                    waited: timeout,
                });
            }
            Err(error) => return Err(self.lost("VIDIOC_QBUF/DQBUF", error)),
        };
        let used = (meta.bytesused as usize).min(buffer.len());
        let bytes = &buffer[..used];
        let sequence = u64::from(meta.sequence);
        // time_t is i64 on 64-bit targets and i32 on 32-bit ARM: widen explicitly.
        #[allow(clippy::useless_conversion)]
        let captured_at = monotonic_to_instant(
            i64::from(meta.timestamp.sec),
            i64::from(meta.timestamp.usec),
        );
        let mut data = Vec::new();
        let converted = match self.format {
            PixelFormat::Yuyv => yuyv_to_rgb(
                bytes,
                self.info.width as usize,
                self.info.height as usize,
                self.stride,
                &mut data,
            )
            .map(|()| (self.info.width, self.info.height)),
            PixelFormat::Mjpeg => mjpeg_to_rgb(bytes, &mut data),
        };
        let (width, height) = converted.map_err(|source| CameraError::Convert {
            device: self.path.clone(),
            sequence,
            source,
        })?;
        self.health = CameraHealth::Up;
        Ok(Frame {
            width,
            height,
            data,
            captured_at,
            sequence,
        })
    }

    fn health(&self) -> CameraHealth {
        self.health.clone()
    }
}

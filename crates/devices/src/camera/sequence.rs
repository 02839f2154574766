//! [`FrameSequenceSimulator`]: a folder of JPEG/PNG images played as a camera.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Camera, CameraError, CameraHealth, CameraInfo, Frame};

/// A simulated camera that plays the JPEG/PNG images of a folder in file-name order at a
/// fixed rate, looping forever. For demos and tests; it is not a camera.
///
/// Every image is decoded when its turn comes (nothing is cached), so a folder of any length
/// costs no memory beyond one frame. Images may differ in size; each [`Frame`] carries its own.
pub struct FrameSequenceSimulator {
    folder: PathBuf,
    files: Vec<PathBuf>,
    period: Duration,
    next_index: usize,
    next_due: Instant,
    sequence: u64,
    info: CameraInfo,
    health: CameraHealth,
}

impl FrameSequenceSimulator {
    /// Opens `folder` and plays its `*.jpg`, `*.jpeg` and `*.png` files at `fps` frames per
    /// second. The first image is decoded now to check the folder and fill [`CameraInfo`].
    pub fn open(folder: &Path, fps: u32) -> Result<Self, CameraError> {
        let sequence_error = |reason: String| CameraError::Sequence {
            folder: folder.to_path_buf(),
            reason,
        };
        if fps == 0 {
            return Err(sequence_error("fps must be at least 1".to_owned()));
        }
        let entries =
            std::fs::read_dir(folder).map_err(|error| sequence_error(error.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|error| sequence_error(error.to_string()))?
                .path();
            let is_image = path
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| {
                    matches!(
                        extension.to_ascii_lowercase().as_str(),
                        "jpg" | "jpeg" | "png"
                    )
                });
            if is_image && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let Some(first) = files.first() else {
            return Err(sequence_error("no .jpg, .jpeg or .png files".to_owned()));
        };
        let (width, height) = image::image_dimensions(first)
            .map_err(|error| sequence_error(format!("{}: {error}", first.display())))?;
        let info = CameraInfo {
            backend: "frame-sequence-simulator".to_owned(),
            device: folder.to_path_buf(),
            driver: format!("frame sequence simulator ({} images, looping)", files.len()),
            card: "simulator".to_owned(),
            bus: String::new(),
            pixel_format: None,
            width,
            height,
            fps: f64::from(fps),
        };
        Ok(FrameSequenceSimulator {
            folder: folder.to_path_buf(),
            files,
            period: Duration::from_secs(1) / fps,
            next_index: 0,
            next_due: Instant::now(),
            sequence: 0,
            info,
            health: CameraHealth::Up,
        })
    }

    /// Number of images in one loop.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Always false: opening fails on an empty folder.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl Camera for FrameSequenceSimulator {
    fn info(&self) -> &CameraInfo {
        &self.info
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let now = Instant::now();
        let wait = self.next_due.saturating_duration_since(now);
        if wait > timeout {
            std::thread::sleep(timeout);
            return Err(CameraError::Timeout {
                device: self.folder.clone(),
                waited: timeout,
            });
        }
        std::thread::sleep(wait);
        let captured_at = Instant::now();
        // Keep the cadence, but never try to catch up on frames a slow reader missed.
        self.next_due = if captured_at > self.next_due + self.period {
            captured_at + self.period
        } else {
            self.next_due + self.period
        };
        let path = &self.files[self.next_index];
        self.next_index = (self.next_index + 1) % self.files.len();
        let decoded = image::open(path).map_err(|error| CameraError::Sequence {
            folder: self.folder.clone(),
            reason: format!("{}: {error}", path.display()),
        });
        let image = match decoded {
            Ok(image) => {
                self.health = CameraHealth::Up;
                image.into_rgb8()
            }
            Err(error) => {
                self.health = CameraHealth::Down {
                    reason: error.to_string(),
                };
                return Err(error);
            }
        };
        let sequence = self.sequence;
        self.sequence += 1;
        Ok(Frame {
            width: image.width(),
            height: image.height(),
            data: image.into_raw(),
            captured_at,
            sequence,
        })
    }

    fn health(&self) -> CameraHealth {
        self.health.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_image(folder: &Path, name: &str, colour: [u8; 3]) {
        let image = image::RgbImage::from_pixel(8, 6, image::Rgb(colour));
        image.save(folder.join(name)).unwrap();
    }

    #[test]
    fn plays_images_in_name_order_at_the_set_rate_and_loops() {
        let folder = tempfile::tempdir().unwrap();
        write_image(folder.path(), "b.png", [0, 255, 0]);
        write_image(folder.path(), "a.png", [255, 0, 0]);
        std::fs::write(folder.path().join("notes.txt"), "ignored").unwrap();
        let mut camera = FrameSequenceSimulator::open(folder.path(), 50).unwrap();
        assert_eq!(camera.len(), 2);
        assert_eq!((camera.info().width, camera.info().height), (8, 6));
        let started = Instant::now();
        let frames: Vec<Frame> = (0..5)
            .map(|_| camera.next_frame(Duration::from_secs(1)).unwrap())
            .collect();
        // Five frames at 50 fps: the last is due 4 periods (80 ms) after the first.
        assert!(
            started.elapsed() >= Duration::from_millis(75),
            "{:?}",
            started.elapsed()
        );
        let firsts: Vec<[u8; 3]> = frames
            .iter()
            .map(|f| [f.data[0], f.data[1], f.data[2]])
            .collect();
        assert_eq!(
            firsts,
            vec![
                [255, 0, 0],
                [0, 255, 0],
                [255, 0, 0],
                [0, 255, 0],
                [255, 0, 0]
            ]
        );
        assert_eq!(
            frames.iter().map(|f| f.sequence).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(
            frames
                .windows(2)
                .all(|pair| pair[0].captured_at < pair[1].captured_at)
        );
        assert_eq!(frames[0].data.len(), 8 * 6 * 3);
        assert!(camera.health().is_up());
    }

    #[test]
    fn times_out_when_the_next_frame_is_not_due() {
        let folder = tempfile::tempdir().unwrap();
        write_image(folder.path(), "only.jpg", [10, 20, 30]);
        let mut camera = FrameSequenceSimulator::open(folder.path(), 1).unwrap();
        camera.next_frame(Duration::from_millis(10)).unwrap();
        assert!(matches!(
            camera.next_frame(Duration::from_millis(10)),
            Err(CameraError::Timeout { .. })
        ));
    }

    #[test]
    fn rejects_empty_folders_zero_rate_and_reports_vanished_files() {
        let folder = tempfile::tempdir().unwrap();
        assert!(matches!(
            FrameSequenceSimulator::open(folder.path(), 5),
            Err(CameraError::Sequence { .. })
        ));
        write_image(folder.path(), "a.png", [1, 2, 3]);
        assert!(FrameSequenceSimulator::open(folder.path(), 0).is_err());
        let mut camera = FrameSequenceSimulator::open(folder.path(), 100).unwrap();
        std::fs::remove_file(folder.path().join("a.png")).unwrap();
        assert!(matches!(
            camera.next_frame(Duration::from_secs(1)),
            Err(CameraError::Sequence { .. })
        ));
        assert!(!camera.health().is_up());
    }
}

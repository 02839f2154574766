//! `gatectl camera info|snapshot`: open a camera directly (offline: stop gated first, a V4L2
//! device streams to one process at a time), show what was negotiated, save one frame.
//!
//! V4L2 needs gatectl built with the cargo feature `v4l2`; the frame-sequence simulator
//! (`--backend frame-sequence --device FOLDER`) is always there. Exit codes: 0 ok, 1 failure,
//! 2 usage. The snapshot goes only to the file the technician names; nothing else is written.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use devices::camera::{Camera, CameraBackend, CameraConfig, PixelFormat};

/// How to open the camera.
#[derive(Debug, clap::Args)]
pub struct CameraArgs {
    /// Device node or udev symlink (v4l2), or image folder (frame-sequence).
    #[arg(long, default_value = "/dev/video0")]
    device: PathBuf,
    /// Backend: `v4l2` or `frame-sequence`.
    #[arg(long, default_value = "v4l2", value_parser = parse_backend)]
    backend: CameraBackend,
    /// Acceptable wire formats, most preferred first (comma separated: mjpeg,yuyv).
    #[arg(long, value_delimiter = ',', default_value = "mjpeg,yuyv")]
    formats: Vec<PixelFormat>,
    /// Frame width.
    #[arg(long, default_value_t = 1280)]
    width: u32,
    /// Frame height.
    #[arg(long, default_value_t = 720)]
    height: u32,
    /// Frames per second.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Camera subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CameraCommand {
    /// Open the camera and show driver, card, bus and the negotiated format, size and rate.
    Info {
        #[command(flatten)]
        camera: CameraArgs,
    },
    /// Capture one frame and write it to FILE (format from the extension: .png, .jpg).
    Snapshot {
        /// Output image file.
        file: PathBuf,
        #[command(flatten)]
        camera: CameraArgs,
        /// Frames to drop first (auto exposure settles over the first frames of a webcam).
        #[arg(long, default_value_t = 0)]
        skip: u32,
        /// Seconds to wait for each frame.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
}

fn parse_backend(text: &str) -> Result<CameraBackend, String> {
    match text {
        "v4l2" => Ok(CameraBackend::V4l2),
        "frame-sequence" => Ok(CameraBackend::FrameSequence),
        other => Err(format!(
            "unknown backend {other:?} (expected v4l2 or frame-sequence)"
        )),
    }
}

/// Runs a camera subcommand.
pub fn run(command: CameraCommand) -> anyhow::Result<ExitCode> {
    match command {
        CameraCommand::Info { camera } => info(&camera),
        CameraCommand::Snapshot {
            file,
            camera,
            skip,
            timeout,
        } => snapshot(&file, &camera, skip, Duration::from_secs(timeout)),
    }
}

fn open(args: &CameraArgs) -> anyhow::Result<Box<dyn Camera>> {
    let config = CameraConfig {
        backend: args.backend,
        device: args.device.clone(),
        formats: args.formats.clone(),
        width: args.width,
        height: args.height,
        fps: args.fps,
    };
    config
        .open()
        .with_context(|| format!("cannot open camera {}", args.device.display()))
}

fn info(args: &CameraArgs) -> anyhow::Result<ExitCode> {
    let camera = open(args)?;
    let info = camera.info();
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "info": info, "health": camera.health() }))?
        );
    } else {
        println!("device:   {}", info.device.display());
        println!("backend:  {}", info.backend);
        println!("driver:   {}", info.driver);
        println!("card:     {}", info.card);
        if !info.bus.is_empty() {
            println!("bus:      {}", info.bus);
        }
        let format = info
            .pixel_format
            .map_or_else(|| "image files".to_owned(), |format| format.to_string());
        println!("format:   {format}");
        println!("size:     {}x{}", info.width, info.height);
        println!("rate:     {:.2} fps", info.fps);
    }
    Ok(ExitCode::SUCCESS)
}

fn snapshot(
    file: &std::path::Path,
    args: &CameraArgs,
    skip: u32,
    timeout: Duration,
) -> anyhow::Result<ExitCode> {
    let mut camera = open(args)?;
    for _ in 0..skip {
        camera
            .next_frame(timeout)
            .context("capturing a frame to skip")?;
    }
    let started = Instant::now();
    let frame = camera
        .next_frame(timeout)
        .context("capturing the snapshot")?;
    let waited = started.elapsed();
    let (width, height) = (frame.width, frame.height);
    let image = image::RgbImage::from_raw(width, height, frame.data)
        .context("frame size does not match its pixel data")?;
    image
        .save(file)
        .with_context(|| format!("cannot write {}", file.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "file": file,
                "width": width,
                "height": height,
                "sequence": frame.sequence,
                "waited_ms": waited.as_secs_f64() * 1e3,
                "info": camera.info(),
            })
        );
    } else {
        println!(
            "wrote {} ({width}x{height}, frame {}, from {} via {})",
            file.display(),
            frame.sequence,
            camera.info().device.display(),
            camera.info().backend
        );
    }
    Ok(ExitCode::SUCCESS)
}

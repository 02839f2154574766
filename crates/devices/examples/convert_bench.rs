//! Capture-to-RGB conversion cost per frame: YUYV (hand-written BT.601) and MJPEG (zune-jpeg,
//! and the `image` crate's JPEG path for comparison) at 640x480 and 1280x720.
//!
//! `cargo run --release -p devices --example convert_bench [ITERATIONS]`
//!
//! Frames are synthetic: a YUYV gradient, and a JPEG (quality 85) encoded from a textured RGB
//! image. Prints min, median and mean per frame (min is the figure least disturbed by other load).
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use devices::camera::{mjpeg_to_rgb, yuyv_to_rgb};

fn textured_rgb(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x1234_5678u32;
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            // Gradient plus some noise so the JPEG has realistic entropy.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 24) as u8;
            pixels.extend_from_slice(&[
                ((x * 255 / width) as u8).saturating_add(noise),
                ((y * 255 / height) as u8).saturating_add(noise),
                (((x + y) * 127 / (width + height)) as u8).saturating_add(noise),
            ]);
        }
    }
    pixels
}

fn yuyv_frame(width: u32, height: u32) -> Vec<u8> {
    let mut frame = Vec::with_capacity((width * height * 2) as usize);
    for y in 0..height {
        for x in (0..width).step_by(2) {
            frame.extend_from_slice(&[
                (16 + (x * 219 / width)) as u8,
                (16 + (y * 224 / height)) as u8,
                (16 + ((x + 1) * 219 / width)) as u8,
                (240 - (y * 224 / height)) as u8,
            ]);
        }
    }
    frame
}

fn measure(label: &str, iterations: usize, mut run: impl FnMut()) {
    run(); // warm up
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / iterations as u32;
    println!(
        "{label:<34} min {:>7.3} ms   median {:>7.3} ms   mean {:>7.3} ms   ({iterations} frames)",
        samples[0].as_secs_f64() * 1e3,
        samples[iterations / 2].as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: usize = std::env::args()
        .nth(1)
        .map(|arg| arg.parse())
        .transpose()?
        .unwrap_or(200);
    for (width, height) in [(640u32, 480u32), (1280, 720)] {
        let yuyv = yuyv_frame(width, height);
        let mut out = Vec::new();
        measure(
            &format!("YUYV  {width}x{height} -> RGB"),
            iterations,
            || {
                yuyv_to_rgb(
                    &yuyv,
                    width as usize,
                    height as usize,
                    width as usize * 2,
                    &mut out,
                )
                .ok();
            },
        );
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85).encode(
            &textured_rgb(width, height),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )?;
        let kib = jpeg.len() / 1024;
        mjpeg_to_rgb(&jpeg, &mut out)?;
        measure(
            &format!("MJPEG {width}x{height} ({kib} KiB) zune"),
            iterations,
            || {
                mjpeg_to_rgb(&jpeg, &mut out).ok();
            },
        );
        measure(
            &format!("MJPEG {width}x{height} image crate"),
            iterations,
            || {
                let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
                    .map(|i| i.into_rgb8());
                std::hint::black_box(decoded.ok());
            },
        );
    }
    Ok(())
}

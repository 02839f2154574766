//! Hardware tests on real kernel drivers: V4L2 against `vivid`, GPIO against `gpio-sim`.
//!
//! They run only inside the qemu VM that `tests/vm/run` boots (its init sets up gpio-sim and
//! the `GATE_VM_*` variables and runs this binary with `--ignored`); on the host they are
//! ignored. Lines starting with `VM-MEASURE:` are measurements for the report.
#![allow(clippy::unwrap_used)]
#![cfg(all(feature = "v4l2", feature = "gpio-cdev"))]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use devices::camera::{
    Backoff, Camera, CameraError, CaptureRequest, PixelFormat, ReconnectingCamera, V4l2Camera,
};
use devices::turnstile::{GpiocdevTurnstile, Input, Output, TurnstileIo};

#[path = "support/vm_gpio.rs"]
mod vm_gpio;
use vm_gpio::{gpio_config, guest_var, line_level, pull, write_sysfs};

fn video_device() -> PathBuf {
    PathBuf::from(guest_var("GATE_VM_VIDEO_DEVICE"))
}

fn capture(width: u32, height: u32, frames: usize) {
    let request = CaptureRequest {
        formats: vec![PixelFormat::Mjpeg, PixelFormat::Yuyv],
        width,
        height,
        fps: 30,
    };
    let mut camera = V4l2Camera::open(&video_device(), &request).unwrap();
    let info = camera.info().clone();
    println!("vivid negotiated: {info:?}");
    // vivid offers no MJPEG, so negotiation must fall through to YUYV.
    assert_eq!(info.pixel_format, Some(PixelFormat::Yuyv));
    assert_eq!(info.driver, "vivid");
    assert_eq!((info.width, info.height), (width, height));
    assert!(info.fps > 0.0);
    let mut previous: Option<devices::camera::Frame> = None;
    let mut per_frame = Vec::new();
    for _ in 0..frames {
        let started = Instant::now();
        let frame = camera.next_frame(Duration::from_secs(10)).unwrap();
        per_frame.push(started.elapsed());
        assert_eq!((frame.width, frame.height), (width, height));
        assert_eq!(frame.data.len(), (width * height * 3) as usize);
        // vivid draws colour bars: many distinct colours in one row.
        let row: std::collections::BTreeSet<&[u8]> =
            frame.data[..(width * 3) as usize].chunks_exact(3).collect();
        assert!(
            row.len() >= 4,
            "only {} distinct colours in the first row",
            row.len()
        );
        assert!(frame.captured_at <= Instant::now());
        if let Some(previous) = &previous {
            assert!(frame.sequence > previous.sequence);
            assert!(frame.captured_at > previous.captured_at);
        }
        previous = Some(frame);
    }
    assert!(camera.health().is_up());
    per_frame.sort();
    println!(
        "VM-MEASURE: vivid YUYV {width}x{height}: next_frame (wait + dequeue + YUYV->RGB) median {:?}, max {:?} over {frames} frames (TCG emulation)",
        per_frame[per_frame.len() / 2],
        per_frame[per_frame.len() - 1]
    );
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn vivid_streams_yuyv_640x480_as_rgb() {
    capture(640, 480, 12);
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn vivid_streams_yuyv_1280x720_as_rgb() {
    capture(1280, 720, 6);
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn vivid_refuses_an_mjpeg_only_request_with_the_offered_formats() {
    let request = CaptureRequest {
        formats: vec![PixelFormat::Mjpeg],
        width: 640,
        height: 480,
        fps: 30,
    };
    match V4l2Camera::open(&video_device(), &request) {
        Err(CameraError::FormatNotSupported { available, .. }) => {
            assert!(available.iter().any(|code| code == "YUYV"), "{available:?}");
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("vivid has no MJPEG, open must fail"),
    }
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn missing_device_is_a_typed_not_found() {
    let request = CaptureRequest::default();
    assert!(matches!(
        V4l2Camera::open(Path::new("/dev/video-absent"), &request),
        Err(CameraError::NotFound { .. })
    ));
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn vivid_unbind_makes_the_camera_down_and_rebind_brings_it_back() {
    let driver = Path::new("/sys/bus/platform/drivers/vivid");
    let device = video_device();
    let opener_device = device.clone();
    let request = CaptureRequest {
        formats: vec![PixelFormat::Yuyv],
        width: 640,
        height: 480,
        fps: 30,
    };
    let opener = move || -> Result<Box<dyn Camera>, CameraError> {
        Ok(Box::new(V4l2Camera::open(&opener_device, &request)?))
    };
    let backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(400));
    let mut camera = ReconnectingCamera::new(device.clone(), opener, backoff);
    camera.next_frame(Duration::from_secs(10)).unwrap();
    assert!(camera.health().is_up());

    write_sysfs(&driver.join("unbind"), "vivid.0");
    let mut lost = None;
    for _ in 0..20 {
        match camera.next_frame(Duration::from_secs(2)) {
            Ok(_) => continue,
            Err(error) => {
                lost = Some(error);
                break;
            }
        }
    }
    let lost = lost.expect("frames kept coming after the driver was unbound");
    println!("after unbind: {lost}");
    assert!(lost.is_device_lost(), "{lost}");
    assert!(!camera.health().is_up());
    // Still down while the device is absent.
    let down = camera.next_frame(Duration::from_millis(600)).unwrap_err();
    assert!(matches!(down, CameraError::Down { .. }), "{down}");

    write_sysfs(&driver.join("bind"), "vivid.0");
    let started = Instant::now();
    let mut back = false;
    while started.elapsed() < Duration::from_secs(20) {
        if camera.next_frame(Duration::from_secs(2)).is_ok() {
            back = true;
            break;
        }
    }
    assert!(back, "camera did not come back after rebind");
    assert!(camera.health().is_up());
    println!(
        "VM-MEASURE: camera back {:?} after rebind (back-off 50..400 ms)",
        started.elapsed()
    );
}

// ------------------------------------------------------------------ GPIO on gpio-sim

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn gpio_sim_outputs_start_safe_and_follow_set_output() {
    let mut io = GpiocdevTurnstile::open(&gpio_config()).unwrap();
    // Safe state at request time: lock engaged (0), green off (active-low: 1), red off (0),
    // buzzer configured active-safe (1).
    assert_eq!(
        [line_level(0), line_level(1), line_level(2), line_level(3)],
        [0, 1, 0, 1]
    );
    io.set_output(Output::LockRelease, true).unwrap();
    io.set_output(Output::GreenLight, true).unwrap();
    io.set_output(Output::Buzzer, false).unwrap();
    assert_eq!(
        [line_level(0), line_level(1), line_level(2), line_level(3)],
        [1, 0, 0, 0]
    );
    io.drive_safe_state().unwrap();
    assert_eq!(
        [line_level(0), line_level(1), line_level(2), line_level(3)],
        [0, 1, 0, 1]
    );

    // Decision-to-line-change latency: from the set_output call until the simulator's line
    // value (read through sysfs) shows the new level. Also timed: the set_output call alone
    // and one sysfs read alone, to tell the parts apart.
    let mut to_line = Vec::new();
    let mut call = Vec::new();
    let mut read = Vec::new();
    for round in 0..200 {
        let active = round % 2 == 0;
        let started = Instant::now();
        io.set_output(Output::LockRelease, active).unwrap();
        call.push(started.elapsed());
        while line_level(0) != u8::from(active) {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "line 0 never changed"
            );
        }
        to_line.push(started.elapsed());
        let read_started = Instant::now();
        line_level(0);
        read.push(read_started.elapsed());
    }
    for (label, samples) in [
        ("set_output -> line value seen in sysfs", &mut to_line),
        (
            "set_output call alone (GPIO_V2_LINE_SET_VALUES ioctl)",
            &mut call,
        ),
        ("one sysfs value read alone", &mut read),
    ] {
        samples.sort();
        println!(
            "VM-MEASURE: {label}: median {:?}, p99 {:?}, max {:?} over {} changes (TCG)",
            samples[samples.len() / 2],
            samples[samples.len() * 99 / 100],
            samples[samples.len() - 1],
            samples.len()
        );
    }
    io.drive_safe_state().unwrap();
    assert_eq!(line_level(0), 0);
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn gpio_sim_pulls_arrive_as_timestamped_input_edges() {
    // gpio-sim lines start pulled down: door_closed inactive, entry_beam (active-low) active.
    for line in 4..8 {
        pull(line, false);
    }
    let mut io = GpiocdevTurnstile::open(&gpio_config()).unwrap();
    assert!(!io.read_input(Input::DoorClosed).unwrap());
    assert!(io.read_input(Input::EntryBeam).unwrap());
    assert_eq!(io.wait_edge(Duration::from_millis(50)).unwrap(), None);

    let injected = Instant::now();
    pull(4, true);
    let edge = io
        .wait_edge(Duration::from_secs(2))
        .unwrap()
        .expect("no edge for door_closed");
    let edge_latency = edge.received_at.duration_since(injected);
    assert_eq!((edge.input, edge.active), (Input::DoorClosed, true));
    assert!(io.read_input(Input::DoorClosed).unwrap());

    pull(5, true); // active-low input released
    let edge2 = io
        .wait_edge(Duration::from_secs(2))
        .unwrap()
        .expect("no edge for entry_beam");
    assert_eq!((edge2.input, edge2.active), (Input::EntryBeam, false));
    assert!(
        edge2.timestamp > edge.timestamp,
        "kernel timestamps must increase"
    );

    pull(7, true);
    pull(4, false);
    let mut later = Vec::new();
    while let Some(edge) = io.wait_edge(Duration::from_millis(500)).unwrap() {
        println!(
            "edge: {:?} {} at {:?}",
            edge.input, edge.active, edge.timestamp
        );
        later.push((edge.input, edge.active));
    }
    assert_eq!(
        later,
        vec![(Input::FireAlarm, true), (Input::DoorClosed, false)]
    );
    println!("first injected edge received after {edge_latency:?}");
    // Injected-edge latency over many toggles of exit_beam (line 6).
    let mut samples = Vec::new();
    for round in 0..50 {
        let up = round % 2 == 0;
        let injected = Instant::now();
        pull(6, up);
        let edge = io
            .wait_edge(Duration::from_secs(2))
            .unwrap()
            .expect("no edge for exit_beam");
        assert_eq!((edge.input, edge.active), (Input::ExitBeam, up));
        samples.push(edge.received_at.duration_since(injected));
    }
    samples.sort();
    println!(
        "VM-MEASURE: gpio-sim pull write -> InputEdge received: median {:?}, p99 {:?} over {} edges (TCG)",
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
        samples.len()
    );
    for line in 4..8 {
        pull(line, false);
    }
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn gpio_lines_in_use_are_reported_with_the_chip() {
    let _first = GpiocdevTurnstile::open(&gpio_config()).unwrap();
    let error = GpiocdevTurnstile::open(&gpio_config())
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert!(error.contains(&guest_var("GATE_VM_GPIO_CHIP")), "{error}");
}

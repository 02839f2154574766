//! The R30x driver against the module simulator over a real pty at 57600 baud: enrolment,
//! search, 1:1 match, and every link fault (garbage, half frame, dropped packet, checksum
//! error, slow module, vanished device), each recovered or reported within bounded time.
#![cfg(feature = "serial")]
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use devices::fingerprint::r30x::{
    CharBuffer, ConfirmationError, R30xConfig, ReconnectPolicy, SerialR30x, SerialSettings,
    SystemParameter,
};
use devices::fingerprint::simulator::{Fault, ModuleSimulator, SimulatedFinger, SimulatorOptions};
use devices::fingerprint::{Capture, FingerprintError, FingerprintSensor, Template, TemplateSlot};

fn config() -> R30xConfig {
    R30xConfig {
        response_timeout: Duration::from_millis(400),
        ..R30xConfig::default()
    }
}

fn simulator(options: SimulatorOptions) -> ModuleSimulator {
    ModuleSimulator::start(options).unwrap()
}

/// A module (not paced) whose password was changed to `password`.
fn module_with_password(password: u32) -> ModuleSimulator {
    simulator(SimulatorOptions {
        pace_to_baud_rate: false,
        module: devices::fingerprint::simulator::SimulatedModuleConfig {
            password,
            ..Default::default()
        },
        ..SimulatorOptions::default()
    })
}

fn connect(simulator: &ModuleSimulator, config: R30xConfig) -> SerialR30x {
    SerialR30x::open(
        SerialSettings::new(simulator.port_path()),
        config,
        ReconnectPolicy {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
        },
    )
    .unwrap()
}

fn scratch_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fingerprint-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Two captures of the finger on the sensor, combined and stored at `page`.
fn enrol(sensor: &mut impl FingerprintSensor, page: u16) {
    for slot in [TemplateSlot::First, TemplateSlot::Second] {
        assert_eq!(sensor.capture().unwrap(), Capture::FingerImaged);
        sensor.extract_template(slot).unwrap();
    }
    sensor.combine_slots().unwrap();
    sensor.store_template(TemplateSlot::First, page).unwrap();
}

#[test]
fn enrol_search_and_one_to_one_match() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    let info = sensor.info().unwrap();
    assert_eq!(info.baud_rate, 57_600);
    assert_eq!(info.packet_size, 128);
    assert_eq!(info.library_capacity, 1000);

    sensor.clear_library().unwrap();
    assert_eq!(sensor.capture().unwrap(), Capture::NoFinger);
    sim.place_finger(SimulatedFinger::good(1001));
    enrol(&mut sensor, 3);
    sim.place_finger(SimulatedFinger::good(2002));
    enrol(&mut sensor, 4);
    assert_eq!(sensor.template_count().unwrap(), 2);

    // 1:N search finds the right page.
    sim.place_finger(SimulatedFinger::good(1001));
    sensor.capture().unwrap();
    sensor.extract_template(TemplateSlot::First).unwrap();
    let hit = sensor.search_library(TemplateSlot::First).unwrap().unwrap();
    assert_eq!(hit.page, 3);
    assert!(hit.score >= 50, "{hit:?}");

    // An unknown finger is not found.
    sim.place_finger(SimulatedFinger::good(3003));
    sensor.capture().unwrap();
    sensor.extract_template(TemplateSlot::First).unwrap();
    assert_eq!(sensor.search_library(TemplateSlot::First).unwrap(), None);

    // 1:1: enrolment template from the host into slot 2, live finger in slot 1.
    sensor.load_template(4, TemplateSlot::First).unwrap();
    let enrolled: Template = sensor.upload_template(TemplateSlot::First).unwrap();
    assert_eq!(enrolled.as_bytes().len(), 512);
    assert!(format!("{enrolled:?}").contains("redacted"));
    sim.place_finger(SimulatedFinger::good(2002));
    sensor.capture().unwrap();
    sensor.extract_template(TemplateSlot::First).unwrap();
    sensor
        .download_template(TemplateSlot::Second, &enrolled)
        .unwrap();
    let same = sensor.compare_slots().unwrap();
    assert!(same.matched && same.score >= 50, "{same:?}");

    // Wrong finger against the same enrolment.
    sim.place_finger(SimulatedFinger::good(1001));
    sensor.capture().unwrap();
    sensor.extract_template(TemplateSlot::First).unwrap();
    let wrong = sensor.compare_slots().unwrap();
    assert!(!wrong.matched, "{wrong:?}");

    // Delete.
    sensor.delete_templates(3, 1).unwrap();
    assert_eq!(sensor.template_count().unwrap(), 1);
}

#[test]
fn finger_problems_are_typed_and_flagged() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.place_finger(SimulatedFinger {
        identity: 5,
        quality: 25,
    });
    sensor.capture().unwrap();
    let error = sensor.extract_template(TemplateSlot::First).unwrap_err();
    assert!(error.is_finger_problem(), "{error}");
    assert!(matches!(
        error,
        FingerprintError::Module {
            code: ConfirmationError::TooFewFeatures,
            ..
        }
    ));
    // Two different fingers do not combine into one enrolment.
    sim.queue_fingers([
        Some(SimulatedFinger::good(6)),
        Some(SimulatedFinger::good(7)),
    ]);
    sensor.capture().unwrap();
    sensor.extract_template(TemplateSlot::First).unwrap();
    sensor.capture().unwrap();
    sensor.extract_template(TemplateSlot::Second).unwrap();
    assert!(matches!(
        sensor.combine_slots(),
        Err(FingerprintError::Module {
            code: ConfirmationError::CombineFailed,
            ..
        })
    ));
    // Out-of-range page.
    assert!(matches!(
        sensor.load_template(5000, TemplateSlot::First),
        Err(FingerprintError::Module {
            code: ConfirmationError::PageOutOfRange,
            ..
        })
    ));
}

#[test]
fn wait_for_finger_polls_until_placed_or_times_out() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.queue_fingers([None, None, Some(SimulatedFinger::good(9))]);
    let started = Instant::now();
    assert_eq!(
        sensor
            .wait_for_finger(Duration::from_secs(3), Duration::from_millis(10))
            .unwrap(),
        Capture::FingerImaged
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    let started = Instant::now();
    assert_eq!(
        sensor
            .wait_for_finger(Duration::from_millis(200), Duration::from_millis(20))
            .unwrap(),
        Capture::NoFinger
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn garbage_bytes_before_an_answer_are_skipped() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.with_module(|module| module.enroll_synthetic(0, SimulatedFinger::good(1)));
    sim.inject(Fault::GarbageBeforeNextResponse(vec![
        0x00, 0xEF, 0x13, 0xEF, 0x01, 0x42, 0xFF, 0x55,
    ]));
    assert_eq!(sensor.template_count().unwrap(), 1);
    let stats = sensor.with_driver(|d| Ok(d.decoder_stats())).unwrap();
    assert!(stats.garbage_bytes >= 4, "{stats:?}");
}

#[test]
fn a_half_frame_is_abandoned_and_the_real_answer_found() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.inject(Fault::HalfFrameBeforeNextResponse);
    let started = Instant::now();
    assert_eq!(sensor.template_count().unwrap(), 0);
    assert!(started.elapsed() < Duration::from_secs(2));
    let stats = sensor.with_driver(|d| Ok(d.decoder_stats())).unwrap();
    assert!(stats.rejected_frames >= 1, "{stats:?}");
}

#[test]
fn a_dropped_acknowledgement_is_retried() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.with_module(|module| module.enroll_synthetic(0, SimulatedFinger::good(1)));
    sim.inject(Fault::DropPacketOfNextResponse { index: 0 });
    assert_eq!(sensor.template_count().unwrap(), 1);
    let commands = sim.with_module(|module| module.stats().commands);
    assert!(
        commands >= 4,
        "handshake 2 + TemplateNum twice, got {commands}"
    );
}

#[test]
fn a_dropped_data_packet_in_a_template_upload_is_retried() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.with_module(|module| module.enroll_synthetic(0, SimulatedFinger::good(1)));
    sensor.load_template(0, TemplateSlot::First).unwrap();
    let clean = sensor.upload_template(TemplateSlot::First).unwrap();
    sim.inject(Fault::DropPacketOfNextResponse { index: 2 });
    let retried = sensor.upload_template(TemplateSlot::First).unwrap();
    assert_eq!(clean, retried);
}

#[test]
fn a_checksum_error_is_detected_and_retried() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(
        &sim,
        R30xConfig {
            response_timeout: Duration::from_secs(3),
            ..R30xConfig::default()
        },
    );
    sim.with_module(|module| module.enroll_synthetic(0, SimulatedFinger::good(1)));
    sim.inject(Fault::CorruptChecksumOfNextResponse { index: 0 });
    let started = Instant::now();
    assert_eq!(sensor.template_count().unwrap(), 1);
    // Detected by the quiet gap (60 ms), not by waiting out the 3 s response timeout.
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    let stats = sensor.with_driver(|d| Ok(d.decoder_stats())).unwrap();
    assert_eq!(stats.checksum_errors, 1);
}

#[test]
fn persistent_faults_are_reported_not_hung_on() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    // Retries = 2: three attempts, all lose their answer.
    for _ in 0..3 {
        sim.inject(Fault::DropPacketOfNextResponse { index: 0 });
    }
    let started = Instant::now();
    let error = sensor.template_count().unwrap_err();
    assert!(
        matches!(
            error,
            FingerprintError::Timeout {
                command: "TemplateNum",
                ..
            }
        ),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    for _ in 0..3 {
        sim.inject(Fault::CorruptChecksumOfNextResponse { index: 0 });
    }
    let error = sensor.template_count().unwrap_err();
    assert!(
        matches!(error, FingerprintError::Corrupted { .. }),
        "{error}"
    );
    // The link is fine again afterwards.
    assert_eq!(sensor.template_count().unwrap(), 0);
}

#[test]
fn a_non_idempotent_command_is_not_blindly_retried() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.place_finger(SimulatedFinger::good(4));
    for slot in [TemplateSlot::First, TemplateSlot::Second] {
        sensor.capture().unwrap();
        sensor.extract_template(slot).unwrap();
    }
    sim.inject(Fault::DropPacketOfNextResponse { index: 0 });
    let error = sensor.combine_slots().unwrap_err();
    assert!(
        matches!(
            error,
            FingerprintError::Timeout {
                command: "RegModel",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_slow_module_times_out_and_its_late_answer_does_not_confuse_the_next_command() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(
        &sim,
        R30xConfig {
            response_timeout: Duration::from_millis(150),
            retries: 0,
            ..R30xConfig::default()
        },
    );
    sim.with_module(|module| module.enroll_synthetic(0, SimulatedFinger::good(1)));
    sim.set_processing_delay(Duration::from_millis(400));
    let error = sensor.capture().unwrap_err();
    assert!(
        matches!(
            error,
            FingerprintError::Timeout {
                command: "GenImg",
                ..
            }
        ),
        "{error}"
    );
    sim.set_processing_delay(Duration::ZERO);
    // The late GenImg answer (no finger, 0x02) arrives while this command waits: the driver
    // must not take it for TemplateNum's answer (which would be too short) and must recover.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(sensor.template_count().unwrap(), 1);
}

#[test]
fn a_vanished_device_is_reported_and_reopened_after_it_returns() {
    let dir = scratch_dir();
    let link = dir.join("fingerprint");
    let sim = simulator(SimulatorOptions {
        link: Some(link.clone()),
        ..SimulatorOptions::default()
    });
    let mut sensor = connect(&sim, config());
    sim.with_module(|module| module.enroll_synthetic(0, SimulatedFinger::good(1)));
    assert_eq!(sensor.template_count().unwrap(), 1);

    sim.inject(Fault::Vanish {
        reappear_after: Some(Duration::from_millis(300)),
    });
    let started = Instant::now();
    while sim.is_present() && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let error = sensor.template_count().unwrap_err();
    assert!(error.is_device_gone(), "{error}");
    assert!(!sensor.is_connected());
    // Operations during back-off fail fast instead of blocking.
    let fast = Instant::now();
    assert!(sensor.template_count().unwrap_err().is_device_gone());
    assert!(fast.elapsed() < Duration::from_millis(500));

    sensor.reconnect_within(Duration::from_secs(5)).unwrap();
    assert!(sim.is_present());
    assert_eq!(sensor.template_count().unwrap(), 1, "library survived");
    assert_eq!(sensor.times_opened(), 2);
    drop(sim);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_device_that_stays_away_is_reported_within_the_deadline() {
    let dir = scratch_dir();
    let link = dir.join("fingerprint");
    let sim = simulator(SimulatorOptions {
        link: Some(link.clone()),
        ..SimulatorOptions::default()
    });
    let mut sensor = connect(&sim, config());
    sim.inject(Fault::Vanish {
        reappear_after: None,
    });
    std::thread::sleep(Duration::from_millis(100));
    assert!(sensor.template_count().unwrap_err().is_device_gone());
    let started = Instant::now();
    let error = sensor
        .reconnect_within(Duration::from_millis(500))
        .unwrap_err();
    assert!(error.is_device_gone(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!link.exists());
    drop(sim);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_absent_device_is_a_typed_error() {
    let error = SerialR30x::open(
        SerialSettings::new("/nonexistent/fingerprint"),
        config(),
        ReconnectPolicy::default(),
    )
    .unwrap_err();
    assert!(error.is_device_gone(), "{error}");
}

#[test]
fn image_upload_at_57600_baud_and_quality() {
    let sim = simulator(SimulatorOptions::default());
    let mut sensor = connect(&sim, config());
    sim.place_finger(SimulatedFinger::good(77));
    sensor.capture().unwrap();
    let started = Instant::now();
    let image = sensor.upload_image().unwrap();
    let elapsed = started.elapsed();
    // 36864 bytes in 288 packets of 139 bytes = 40032 bytes on the wire, 10 bits each.
    assert!(
        elapsed >= Duration::from_secs(6),
        "paced like a real UART: {elapsed:?}"
    );
    assert!(image.quality().score >= 70, "{:?}", image.quality());
}

#[test]
fn host_images_packet_sizes_and_password() {
    let sim = module_with_password(0x0BAD_CAFE);
    // Wrong password is refused with its typed code.
    let error = SerialR30x::open(
        SerialSettings::new(sim.port_path()),
        config(),
        ReconnectPolicy::default(),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        FingerprintError::Module {
            code: ConfirmationError::WrongPassword,
            ..
        }
    ));
    let mut sensor = connect(
        &sim,
        R30xConfig {
            password: 0x0BAD_CAFE,
            ..config()
        },
    );

    // Capture a good and a poor image, upload both, compare host-side quality.
    sim.place_finger(SimulatedFinger::good(12));
    sensor.capture().unwrap();
    let good = sensor.upload_image().unwrap();
    sim.place_finger(SimulatedFinger {
        identity: 12,
        quality: 40,
    });
    sensor.capture().unwrap();
    let poor_quality = sensor.image_quality().unwrap();
    assert!(poor_quality.score < good.quality().score);

    // DownImage the good image back and extract from it, twice: same image, same template.
    sensor
        .with_driver(|d| d.down_image(&good.to_packed_4bpp()))
        .unwrap();
    sensor.extract_template(TemplateSlot::First).unwrap();
    sensor
        .with_driver(|d| d.down_image(&good.to_packed_4bpp()))
        .unwrap();
    sensor.extract_template(TemplateSlot::Second).unwrap();
    assert!(sensor.compare_slots().unwrap().matched);

    // Smaller data packets: the template now arrives in 16 packets of 32 bytes.
    sensor
        .with_driver(|d| d.set_system_parameter(SystemParameter::PacketSize, 0))
        .unwrap();
    assert_eq!(sensor.info().unwrap().packet_size, 32);
    let template = sensor.upload_template(TemplateSlot::First).unwrap();
    assert_eq!(template.as_bytes().len(), 512);
    sensor
        .with_driver(|d| d.down_char(CharBuffer::Two, template.as_bytes()))
        .unwrap();
    assert!(sensor.compare_slots().unwrap().matched);
    // High-speed search and the index table.
    sensor.store_template(TemplateSlot::First, 260).unwrap();
    let hit = sensor
        .with_driver(|d| d.search(CharBuffer::Two, 0, 1000, true))
        .unwrap()
        .unwrap();
    assert_eq!(hit.page, 260);
    let table = sensor.with_driver(|d| d.read_index_table(1)).unwrap();
    assert!(table[4] && table.iter().filter(|used| **used).count() == 1);
    // Invalid arguments never reach the wire.
    assert!(matches!(
        sensor.with_driver(|d| d.down_char(CharBuffer::One, &[0; 10])),
        Err(FingerprintError::InvalidArgument(_))
    ));
}

/// `template` with its first `count` feature bits flipped (the simulator's templates carry
/// their features after an 8-byte header).
fn with_flipped_features(template: &Template, count: usize) -> Template {
    let mut bytes = template.as_bytes().to_vec();
    for bit in 0..count {
        bytes[8 + bit / 8] ^= 1 << (bit % 8);
    }
    Template::from_bytes(bytes)
}

#[test]
fn a_refused_match_reports_the_score_the_module_sent() {
    let sim = simulator(SimulatorOptions {
        pace_to_baud_rate: false,
        ..SimulatorOptions::default()
    });
    let mut sensor = connect(&sim, config());
    sim.with_module(|module| module.enroll_synthetic(0, SimulatedFinger::good(5)));
    sensor.load_template(0, TemplateSlot::First).unwrap();
    let enrolled = sensor.upload_template(TemplateSlot::First).unwrap();
    // 1828 of the 4032 feature bits differ: the simulated matcher scores that
    // 300 * (2 * (1 - 1828 / 4032) - 1) = 28, under the threshold of security level 3 (50).
    let near_miss = with_flipped_features(&enrolled, 1828);
    sensor
        .download_template(TemplateSlot::Second, &near_miss)
        .unwrap();
    let outcome = sensor.compare_slots().unwrap();
    assert_eq!(
        (outcome.matched, outcome.score),
        (false, 28),
        "the refused Match reply carries the module's score (ZFM-70 §6.3.19)"
    );
    // The same pair the other way round, through the 1:N search: not found, no score.
    sensor.store_template(TemplateSlot::Second, 1).unwrap();
    sensor.delete_templates(0, 1).unwrap();
    assert_eq!(sensor.search_library(TemplateSlot::First).unwrap(), None);
}

#[test]
fn a_port_another_opener_holds_is_in_use_and_names_the_holder() {
    let sim = simulator(SimulatorOptions {
        pace_to_baud_rate: false,
        ..SimulatorOptions::default()
    });
    let _first = connect(&sim, config());
    let error = SerialR30x::open(
        SerialSettings::new(sim.port_path()),
        config(),
        ReconnectPolicy::default(),
    )
    .unwrap_err();
    // Root passes TIOCEXCL, so the exclusive lock is what tells; the holder is this process.
    let own = format!("(pid {})", std::process::id());
    match &error {
        FingerprintError::InUse {
            holder: Some(holder),
            ..
        } => assert!(holder.ends_with(&own), "{holder}"),
        other => panic!("not InUse: {other}"),
    }
    assert!(error.to_string().contains("is in use by"), "{error}");
}

#[test]
fn while_reconnecting_the_cause_of_the_last_attempt_is_kept() {
    let sim = module_with_password(0x0BAD_CAFE);
    let mut sensor = SerialR30x::disconnected(
        SerialSettings::new(sim.port_path()),
        config(),
        ReconnectPolicy {
            initial_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
        },
    );
    let first = sensor.template_count().unwrap_err();
    assert!(
        first.is_wrong_password() && !first.is_device_gone(),
        "{first}"
    );
    // During the back-off: not connected, and still saying why.
    let later = sensor.template_count().unwrap_err();
    assert!(
        matches!(later, FingerprintError::NotConnected { .. }),
        "{later}"
    );
    assert!(
        later.is_device_gone() && later.is_wrong_password(),
        "{later}"
    );
    assert!(
        later.to_string().contains("wrong module password"),
        "{later}"
    );
    assert!(!sensor.is_connected());
}

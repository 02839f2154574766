//! `gatectl fingerprint ...` against the module simulator: the standalone `simulate` command
//! driven by the technician commands, and every technician command against an in-process
//! simulator over a real pty (a module as it leaves the factory unless a test says otherwise).
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use devices::fingerprint::r30x::{FACTORY_BAUD_RATE, PacketSize};
use devices::fingerprint::simulator::{
    ModuleSimulator, SimulatedFinger, SimulatedModuleConfig, SimulatorOptions,
};
use gate_config::schema::FingerprintConfig;
use support::{gatectl, text};

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatectl-fp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn simulate_serves_the_module_for_info_library_and_verify() {
    let dir = scratch_dir("simulate");
    let link = dir.join("fingerprint");
    let link_arg = link.to_str().unwrap();
    let mut simulate = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_gatectl"))
            .args([
                "fingerprint",
                "simulate",
                "--link",
                link_arg,
                "--templates",
                "3",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(&link);

    let info = gatectl(&["fingerprint", "info", "--port", link_arg, "--json"]);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let info = json(&info);
    assert_eq!(info["templates"], 3);
    assert_eq!(info["library_capacity"], 1000);
    assert_eq!(info["baud_rate"], 57600);

    let library = json(&gatectl(&[
        "fingerprint",
        "library",
        "--port",
        link_arg,
        "--json",
    ]));
    assert_eq!(library["pages"], serde_json::json!([0, 1, 2]));

    // Finger identity 2 was pre-enrolled at page 1.
    let stdin = simulate.0.stdin.as_mut().unwrap();
    writeln!(stdin, "place 2").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let verified = gatectl(&[
        "fingerprint",
        "verify",
        "--page",
        "1",
        "--port",
        link_arg,
        "--json",
    ]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_eq!(json(&verified)["matched"], true);
    let wrong = gatectl(&[
        "fingerprint",
        "verify",
        "--page",
        "0",
        "--port",
        link_arg,
        "--json",
    ]);
    assert_eq!(wrong.status.code(), Some(4));
    assert_eq!(json(&wrong)["matched"], false);
    drop(simulate);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn enroll_then_capture_against_an_in_process_simulator() {
    let sim = ModuleSimulator::start(SimulatorOptions {
        pace_to_baud_rate: false,
        ..SimulatorOptions::default()
    })
    .unwrap();
    let port = sim.port_path();
    let port = port.to_str().unwrap();
    let finger = SimulatedFinger::good(77);
    // First capture, then lifted, then placed again.
    sim.queue_fingers([Some(finger), None, Some(finger)]);
    let enrolled = gatectl(&[
        "fingerprint",
        "enroll",
        "--page",
        "12",
        "--port",
        port,
        "--json",
    ]);
    assert!(
        enrolled.status.success(),
        "{}",
        String::from_utf8_lossy(&enrolled.stderr)
    );
    assert_eq!(json(&enrolled)["page"], 12);
    assert!(sim.with_module(|module| module.has_template(12)));

    let dir = scratch_dir("capture");
    let file = dir.join("finger.pgm");
    sim.place_finger(finger);
    let captured = gatectl(&[
        "fingerprint",
        "capture",
        file.to_str().unwrap(),
        "--port",
        port,
        "--json",
    ]);
    assert!(
        captured.status.success(),
        "{}",
        String::from_utf8_lossy(&captured.stderr)
    );
    assert!(json(&captured)["quality_score"].as_u64().unwrap() >= 70);
    let pgm = std::fs::read(&file).unwrap();
    assert!(pgm.starts_with(b"P5\n256 288\n255\n"));

    sim.remove_finger();
    let no_finger = gatectl(&[
        "fingerprint",
        "capture",
        file.to_str().unwrap(),
        "--port",
        port,
        "--timeout",
        "1",
    ]);
    assert_eq!(no_finger.status.code(), Some(3));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_absent_module_fails_with_a_message() {
    let output = gatectl(&["fingerprint", "info", "--port", "/nonexistent/fingerprint"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/fingerprint"), "{stderr}");
}

/// A simulator on a pty, not paced (the tests are about the commands, not the line speed).
fn module(config: SimulatedModuleConfig) -> ModuleSimulator {
    ModuleSimulator::start(SimulatorOptions {
        module: config,
        pace_to_baud_rate: false,
        ..SimulatorOptions::default()
    })
    .unwrap()
}

fn factory_module() -> ModuleSimulator {
    module(SimulatedModuleConfig::default())
}

/// `gatectl fingerprint COMMAND ARGS... --port PORT`.
fn fingerprint(sim: &ModuleSimulator, command: &[&str]) -> Output {
    let port = sim.port_path();
    let mut args = vec!["fingerprint"];
    args.extend_from_slice(command);
    args.extend(["--port", port.to_str().unwrap()]);
    gatectl(&args)
}

fn captures(sim: &ModuleSimulator) -> u64 {
    sim.with_module(|module| module.stats().captures)
}

#[test]
fn a_module_refusal_is_printed_once() {
    let sim = factory_module();
    // Page 5 is empty: LoadChar is refused with 0CH.
    let output = fingerprint(&sim, &["verify", "--page", "5"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("no usable template at page 5"), "{said}");
    assert_eq!(said.matches("(0x0C)").count(), 1, "{said}");
    assert_eq!(said.matches("invalid template").count(), 1, "{said}");
}

#[test]
fn enroll_checks_the_page_before_asking_for_a_finger_and_overwrites_only_with_force() {
    let sim = factory_module();
    sim.with_module(|module| module.enroll_synthetic(3, SimulatedFinger::good(30)));
    // Beyond the library of 1000 pages: refused before any capture.
    let output = fingerprint(&sim, &["enroll", "--page", "1000"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("library of 1000 pages"), "{said}");
    assert!(!said.contains("place the finger"), "{said}");
    // An occupied page: refused without --force, still without asking for a finger.
    let output = fingerprint(&sim, &["enroll", "--page", "3"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("already holds a template") && said.contains("--force"),
        "{said}"
    );
    assert_eq!(captures(&sim), 0, "no finger asked for");
    let before = sim.with_module(|module| module.template_count());
    // With --force the page is enrolled again (first capture, lift, second capture).
    let finger = SimulatedFinger::good(31);
    sim.queue_fingers([Some(finger), None, Some(finger)]);
    let output = fingerprint(&sim, &["enroll", "--page", "3", "--force", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(sim.with_module(|module| module.template_count()), before);
    sim.place_finger(finger);
    let output = fingerprint(&sim, &["verify", "--page", "3", "--json"]);
    assert_eq!(json(&output)["matched"], true, "{}", text(&output));
}

#[test]
fn capture_rates_the_image_against_the_configured_floor() {
    let sim = factory_module();
    let dir = scratch_dir("floor");
    let file = dir.join("finger.pgm");
    let gate = support::root().join("firmware-config/fingerprint-gate-example.toml");
    let floor = u64::from(
        support::shipped("fingerprint-gate-example.toml")
            .policy
            .fingerprint
            .quality_floor,
    );
    let capture = |check: bool| {
        let mut args = vec![
            "capture",
            file.to_str().unwrap(),
            "--config",
            gate.to_str().unwrap(),
            "--json",
        ];
        if check {
            args.push("--check");
        }
        fingerprint(&sim, &args)
    };
    // A good finger: at or above the floor, exit 0 also when checking.
    sim.place_finger(SimulatedFinger::good(40));
    let output = capture(true);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let good = json(&output);
    assert_eq!(good["floor"], floor);
    assert_eq!(good["meets_floor"], true);
    assert!(good["quality_score"].as_u64().unwrap() >= floor);
    // A poor one: under the floor; only --check makes that the exit code (5).
    sim.place_finger(SimulatedFinger {
        identity: 40,
        quality: 25,
    });
    let output = capture(false);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(json(&output)["meets_floor"], false);
    let output = capture(true);
    assert_eq!(output.status.code(), Some(5), "{}", text(&output));
    assert!(json(&output)["quality_score"].as_u64().unwrap() < floor);
    // In words, naming where the floor comes from.
    let output = fingerprint(
        &sim,
        &[
            "capture",
            file.to_str().unwrap(),
            "--config",
            gate.to_str().unwrap(),
        ],
    );
    let said = text(&output);
    assert!(
        said.contains(&format!("UNDER the floor {floor}"))
            && said.contains("policy.fingerprint.quality_floor"),
        "{said}"
    );
    // --check without a floor is a usage mistake, found before anyone places a finger.
    let output = fingerprint(&sim, &["capture", file.to_str().unwrap(), "--check"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("--check needs a quality floor"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_upload_estimate_follows_the_packet_size() {
    let dir = scratch_dir("estimate");
    let file = dir.join("finger.pgm");
    // The 36864-byte image (256 x 288 pixels at 4 bits) in packets of N bytes, each with 11
    // bytes of framing (ZFM-70 §5.1), after a 12-byte acknowledgement, 10 bits a byte.
    let expected = |packet: usize| {
        let bytes = 12 + 36_864 + 36_864_usize.div_ceil(packet) * 11;
        format!(
            "about {:.1} s at 57600 baud",
            bytes as f64 * 10.0 / f64::from(FACTORY_BAUD_RATE)
        )
    };
    for (size, bytes) in [(PacketSize::Bytes32, 32), (PacketSize::Bytes256, 256)] {
        let sim = module(SimulatedModuleConfig {
            packet_size: size,
            ..SimulatedModuleConfig::default()
        });
        sim.place_finger(SimulatedFinger::good(50));
        let output = fingerprint(&sim, &["capture", file.to_str().unwrap()]);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(0), "{said}");
        assert!(
            said.contains(&format!("in {bytes}-byte packets, {}", expected(bytes))),
            "{said}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verify_retries_a_placement_the_module_could_not_image_as_the_gate_does() {
    let sim = factory_module();
    let finger = SimulatedFinger::good(60);
    sim.with_module(|module| module.enroll_synthetic(2, finger));
    // No finger yet (02H), then a placement the sensor fails to image (03H), then the finger.
    sim.queue_fingers([
        None,
        Some(SimulatedFinger {
            identity: 60,
            quality: 1,
        }),
    ]);
    sim.place_finger(finger);
    let output = fingerprint(&sim, &["verify", "--page", "2", "--json"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(
        said.contains("attempt 1 of 3 gave no usable image") && said.contains("(0x03)"),
        "{said}"
    );
    assert_eq!(json(&output)["matched"], true);
    // Out of attempts: no usable image, exit 3, as the gate would refer the traveller.
    sim.remove_finger();
    sim.queue_fingers(std::iter::repeat_n(
        Some(SimulatedFinger {
            identity: 60,
            quality: 1,
        }),
        2,
    ));
    let output = fingerprint(&sim, &["verify", "--page", "2", "--attempts", "2"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(3), "{said}");
    assert!(
        said.contains("no usable finger image in 2 attempts"),
        "{said}"
    );
}

#[test]
fn delete_and_empty_the_library() {
    let sim = factory_module();
    sim.with_module(|module| {
        for page in 0..4 {
            module.enroll_synthetic(page, SimulatedFinger::good(u64::from(page) + 70));
        }
    });
    let output = fingerprint(&sim, &["delete", "--page", "1", "--count", "2", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(json(&output)["templates"], 2);
    let library = json(&fingerprint(&sim, &["library", "--json"]));
    assert_eq!(library["pages"], serde_json::json!([0, 3]));
    // Outside the library: refused, nothing deleted.
    let output = fingerprint(&sim, &["delete", "--page", "999", "--count", "2"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(sim.with_module(|module| module.template_count()), 2);
    // Emptying needs --yes.
    let output = fingerprint(&sim, &["empty"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert_eq!(sim.with_module(|module| module.template_count()), 2);
    let output = fingerprint(&sim, &["empty", "--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("2 templates deleted"));
    assert_eq!(sim.with_module(|module| module.template_count()), 0);
}

#[test]
fn address_and_password_like_gated_and_no_answer_names_what_to_check() {
    let sim = module(SimulatedModuleConfig {
        address: 0x1234_5678,
        password: 0x0BAD_CAFE,
        ..SimulatedModuleConfig::default()
    });
    // The factory address: the module ignores every packet.
    let output = fingerprint(&sim, &["info"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("no valid answer")
            && said.contains("baud rate")
            && said.contains("--address")
            && said.contains("wiring"),
        "{said}"
    );
    // Its address, the factory password: refused, in words.
    let output = fingerprint(&sim, &["info", "--address", "12345678"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("refused the password 00000000") && said.contains("--password"),
        "{said}"
    );
    // Both given, as gated's devices.fingerprint would.
    let output = fingerprint(
        &sim,
        &[
            "info",
            "--address",
            "0x12345678",
            "--password",
            "0BADCAFE",
            "--json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(json(&output)["address"], "12345678");
}

/// gated running the simulated gate, with `sim` as its fingerprint module (factory address and
/// password: none configured).
fn gated_with(sim: &ModuleSimulator) -> support::Daemon {
    let mut config = support::shipped("sim-face-gate.toml");
    config.devices.fingerprint = Some(FingerprintConfig::R30x {
        port: sim.port_path(),
        baud: FACTORY_BAUD_RATE,
        address: None,
        password: None,
    });
    support::start_gated(&config)
}

#[test]
fn a_port_held_by_gated_is_in_use_by_gated() {
    let sim = factory_module();
    let daemon = gated_with(&sim);
    support::wait_for(&daemon, "fingerprint module up", |json| {
        json["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|device| device["name"] == "fingerprint" && device["health"] == "up")
    });
    let output = fingerprint(&sim, &["info"]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("is in use by gated (pid "), "{said}");
    assert!(said.contains("systemctl stop gated"), "{said}");
}

#[test]
fn status_says_in_plain_words_that_the_module_refused_the_password() {
    let sim = module(SimulatedModuleConfig {
        password: 0x0BAD_CAFE,
        ..SimulatedModuleConfig::default()
    });
    // gated sends the factory password (none configured); this module has another one.
    let daemon = gated_with(&sim);
    support::wait_for(&daemon, "the wrong password reported", |json| {
        json["devices"].as_array().unwrap().iter().any(|device| {
            device["name"] == "fingerprint"
                && device["detail"]
                    .as_str()
                    .is_some_and(|detail| detail.starts_with("wrong password"))
        })
    });
    let output = gatectl(&["status", "--socket", daemon.socket.to_str().unwrap()]);
    let said = text(&output);
    let line = said
        .lines()
        .find(|line| line.starts_with("fingerprint"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        line.contains("DOWN")
            && line.contains("wrong password: the module on")
            && line.contains("refused the configured password")
            && line.contains("set devices.fingerprint.password"),
        "{line}"
    );
    assert!(said.contains("FINGERPRINT_READER_UNAVAILABLE"), "{said}");
}

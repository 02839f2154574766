//! The README's demo as shipped: `demo-bench` (the TEST TOOL `cargo xtask gate` runs) with
//! `firmware-config/demo-face-gate.toml` unchanged starts pcscd with the vpcd driver, central
//! and gated on the real engine; `gatectl simulate` sends travellers through the bench, and the
//! gate reads each virtual passport's chip through pcscd, verifies it against the bench's test
//! CSCA, matches the chip photo against the camera with the ONNX models and reports to central.
//!
//! Needs root, pcscd, vsmartcard-vpcd, the ONNX Runtime library and the test photos (`cargo
//! xtask setup`), and the workspace's binaries (`cargo test --workspace` builds them). It uses
//! the demo's fixed root `/run/gate-demo` and ports: a demo left running makes it fail with
//! "another demo bench is running".
#![allow(clippy::unwrap_used)]

#[path = "../../face/tests/support/artefacts.rs"]
mod artefacts;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = "firmware-config/demo-face-gate.toml";
const SOCKET: &str = "/run/gate-demo/control.sock";
const CENTRAL: &str = "http://127.0.0.1:8090";

/// The running bench, stopped with SIGTERM (as Ctrl-C would) when dropped.
struct Bench {
    child: Child,
    log: PathBuf,
}

impl Bench {
    fn start(work: &Path) -> Bench {
        let root = artefacts::workspace();
        let log = work.join("bench.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(support::workspace_binary("demo-bench"))
            .arg("--config")
            .arg(root.join(CONFIG))
            .arg("--bin-dir")
            .arg(support::workspace_binary("gated").parent().unwrap())
            .arg("--photos")
            .arg(artefacts::photos_dir())
            .arg("--models")
            .arg(root.join("models"))
            .arg("--onnxruntime")
            .arg(artefacts::ort_library())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Bench { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the bench did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// `gatectl ARGS --socket SOCKET` (with `--json` for `status` and `simulate`), parsed.
fn gatectl(args: &[&str]) -> (bool, serde_json::Value) {
    let json: &[&str] = if matches!(args[0], "status" | "simulate") {
        &["--json"]
    } else {
        &[]
    };
    let output = Command::new(support::workspace_binary("gatectl"))
        .args(args)
        .args(["--socket", SOCKET])
        .args(json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(text.trim()).unwrap_or(serde_json::Value::Null);
    (output.status.success(), value)
}

fn simulate(kind: &str) -> (String, Vec<String>) {
    let (ok, answer) = gatectl(&["simulate", kind, "--wait", "60"]);
    assert!(ok, "gatectl simulate {kind}: {answer}");
    let reasons = answer["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    (answer["outcome"].as_str().unwrap().to_owned(), reasons)
}

#[test]
fn the_demo_reads_the_chip_matches_the_face_and_reports_to_central() {
    let work = tempfile::tempdir().unwrap();
    let mut bench = Bench::start(work.path());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (ok, status) = gatectl(&["status"]);
        let devices_up = status["devices"].as_array().is_some_and(|devices| {
            devices
                .iter()
                .filter(|d| d["name"] == "chip_reader" || d["name"] == "camera")
                .all(|d| d["health"] == "up")
        });
        if ok
            && devices_up
            && status["out_of_service_reasons"]
                .as_array()
                .is_some_and(Vec::is_empty)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo gate did not come into service: {status}\n{}",
            bench.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    assert_eq!(
        simulate("genuine"),
        ("passed".to_owned(), vec![]),
        "{}",
        bench.log()
    );
    assert_eq!(
        simulate("impostor"),
        ("denied".to_owned(), vec!["FACE_MISMATCH".to_owned()]),
        "{}",
        bench.log()
    );
    assert!(gatectl(&["officer-reset"]).0);
    assert_eq!(
        simulate("forged"),
        ("denied".to_owned(), vec!["DG_HASH_MISMATCH".to_owned()]),
        "{}",
        bench.log()
    );
    // A kind the bench cannot play is refused with its reason, and the gate stays free.
    assert!(gatectl(&["officer-reset"]).0);
    let refused = Command::new(support::workspace_binary("gatectl"))
        .args(["simulate", "attack", "--socket", SOCKET])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("presentation-attack"),
        "{refused:?}"
    );

    // The three decisions reach central, in order, with the stages the gate really ran.
    let deadline = Instant::now() + Duration::from_secs(30);
    let outcomes = loop {
        let page = support::curl(&[&format!("{CENTRAL}/v1/events?gate=DEMO-FACE-01")]);
        let outcomes: Vec<serde_json::Value> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "transaction.outcome")
            .map(|e| e["payload"].clone())
            .collect();
        if outcomes.len() == 3 {
            break outcomes;
        }
        assert!(Instant::now() < deadline, "central holds {page}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let decided: Vec<&str> = outcomes
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(decided, ["passed", "denied", "denied"]);
    for outcome in &outcomes[..2] {
        assert!(
            outcome["timings"]["chip_read_ms"].as_u64().is_some(),
            "{outcome}"
        );
        assert!(
            outcome["timings"]["biometric_ms"].as_u64().is_some(),
            "{outcome}"
        );
    }
    assert!(
        outcomes[0]["scores"].to_string().contains("0."),
        "{}",
        outcomes[0]
    );

    // The operator console of the demo's central: the account the README and the banner give
    // logs in, and the fleet page shows the gate that just decided.
    let jar = work.path().join("console-cookies");
    let login = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-c"])
        .arg(&jar)
        .args([
            "-H",
            &format!("Origin: {CENTRAL}"),
            "--data-urlencode",
            "name=demo-admin",
            "--data-urlencode",
            "password=demo-console-password",
            &format!("{CENTRAL}/console/login"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&login.stdout), "303", "{login:?}");
    let fleet = Command::new("curl")
        .args(["-sS", "--fail", "-b"])
        .arg(&jar)
        .arg(format!("{CENTRAL}/console/fleet"))
        .output()
        .unwrap();
    let fleet = String::from_utf8_lossy(&fleet.stdout);
    assert!(fleet.contains("DEMO-FACE-01"), "{fleet}");

    // Nothing of the passports outside the gate's memory: no document number, name or date
    // of birth in the events or in the logs of gated, central and the bench.
    // The operator's view of the same three travellers: the demo's Prometheus endpoint.
    let metrics = Command::new("curl")
        .args(["-sS", "--fail", "http://127.0.0.1:9464/metrics"])
        .output()
        .unwrap();
    assert!(metrics.status.success(), "{metrics:?}");
    let samples = gate_metrics::Samples::parse(&String::from_utf8_lossy(&metrics.stdout));
    assert_eq!(
        samples.value("gate_transactions_total", &[("outcome", "passed")]),
        1.0
    );
    assert_eq!(
        samples.value("gate_transactions_total", &[("outcome", "denied")]),
        2.0
    );
    assert_eq!(
        samples.value(
            "gate_stage_duration_seconds_count",
            &[("stage", "chip_read")]
        ),
        3.0,
        "{samples:?}"
    );

    let events = support::curl(&[&format!("{CENTRAL}/v1/events?gate=DEMO-FACE-01")]);
    let status = bench.stop();
    assert!(status.success(), "{status}\n{}", bench.log());
    let log = bench.log();
    for secret in ["D00000001", "D00000002", "ERIKSSON", "740812", "ZE184226B"] {
        assert!(!log.contains(secret), "{secret} in the log");
        assert!(!events.to_string().contains(secret), "{secret} at central");
    }
    // The bench stopped what it started.
    for port in [8090, 8088] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} still taken after the bench stopped"
        );
    }
}

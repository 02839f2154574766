//! gated and central log to a real systemd-journald, read back with `journalctl -o json`.
//!
//! The host's PID 1 need not be systemd: the test runs Debian's own `systemd-journald` in a
//! private mount namespace whose `/run` is a temporary directory, and starts gated and central
//! the way systemd starts a service (in the same kind of namespace, stderr connected to the
//! journal by `systemd-cat`, `JOURNAL_STREAM` naming that stream), with their default
//! `--log auto`. Needs root, util-linux (`unshare`) and the `systemd` package.
#![allow(clippy::unwrap_used)]

#[path = "../../face/tests/support/artefacts.rs"]
mod artefacts;
mod face_config;
mod support;

use face_config::{face_gate, frames_of};
use gate_protocol::SimulatedTraveller;
use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{
    Central, Gated, central_binary, central_section, curl, fast_sim_config, free_port, publish_list,
};

/// What the simulated chip holds (see gated's `sim.rs`): none of it may reach the journal.
const PERSONAL: &[&str] = &["SIM0", "ERIKSSON", "ANNA", "740812"];

/// Runs `"$@"` as systemd runs a service's main process: `/run` is the test journal's, stderr
/// (and stdout) a journal stream, and `JOURNAL_STREAM` names that stream.
const AS_A_SERVICE: &str = r#"set -e
run=$1; shift
mount --bind "$run" /run
exec systemd-cat --identifier=service-stderr sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); export JOURNAL_STREAM; exec "$@"' sh "$@"
"#;

/// A systemd-journald of our own, its `/run` (socket, journal files) in a temporary directory.
struct Journal {
    journald: Child,
    /// Bound over `/run` in the namespaces of the journal and of the services logging to it.
    run: PathBuf,
    /// The script starting a service against this journal.
    script: PathBuf,
}

impl Journal {
    fn start(dir: &Path) -> Self {
        let run = dir.join("run");
        let config = run.join("systemd/journald.conf.d");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::create_dir_all(run.join("log")).unwrap();
        // Only what it is sent: no kernel messages, nothing forwarded to the host's console,
        // syslog or wall; files under /run (the temporary directory).
        std::fs::write(
            config.join("test.conf"),
            "[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\n\
             ForwardToConsole=no\nForwardToWall=no\n",
        )
        .unwrap();
        let script = dir.join("as-a-service.sh");
        std::fs::write(&script, AS_A_SERVICE).unwrap();
        let journald = [
            "/lib/systemd/systemd-journald",
            "/usr/lib/systemd/systemd-journald",
        ]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("systemd-journald not installed (Debian package systemd)");
        let journald = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-ec"])
            .arg(r#"mount --bind "$0" /run; exec "$1""#)
            .arg(&run)
            .arg(journald)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let journal = Journal {
            journald,
            run,
            script,
        };
        let stream = journal.run.join("systemd/journal/stdout");
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&stream).is_err() {
            assert!(Instant::now() < deadline, "systemd-journald did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        journal
    }

    /// The launcher for a service logging to this journal (see [`Gated::spawn_via`]).
    fn launcher(&self) -> Vec<&OsStr> {
        vec![
            OsStr::new("unshare"),
            OsStr::new("--mount"),
            OsStr::new("--propagation"),
            OsStr::new("private"),
            OsStr::new("sh"),
            self.script.as_os_str(),
            self.run.as_os_str(),
        ]
    }

    /// Stops journald (which writes everything out) and returns every entry, with the raw
    /// journal files.
    fn stop_and_read(mut self) -> (Vec<Value>, Vec<u8>) {
        signal_term(self.journald.id());
        assert!(self.journald.wait().unwrap().success());
        let files = self.run.join("log/journal");
        let output = Command::new("journalctl")
            .arg("--directory")
            .arg(&files)
            .args(["--output", "json", "--no-pager"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "journalctl: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let entries = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let mut raw = Vec::new();
        for entry in walk(&files) {
            raw.extend(std::fs::read(entry).unwrap());
        }
        (entries, raw)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.journald.kill();
        let _ = self.journald.wait();
    }
}

fn signal_term(pid: u32) {
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The entries `identifier` sent natively (not through its stderr).
fn native<'a>(entries: &'a [Value], identifier: &str) -> Vec<&'a Value> {
    entries
        .iter()
        .filter(|e| e["SYSLOG_IDENTIFIER"] == identifier && e["_TRANSPORT"] == "journal")
        .collect()
}

/// The one entry among `entries` with `message`.
fn entry<'a>(entries: &[&'a Value], message: &str) -> &'a Value {
    let found: Vec<&Value> = entries
        .iter()
        .copied()
        .filter(|e| e["MESSAGE"] == message)
        .collect();
    assert_eq!(found.len(), 1, "one {message:?} entry in {entries:#?}");
    found[0]
}

#[test]
fn gated_and_central_write_structured_entries_to_the_journal_and_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::start(dir.path());

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let central = Command::new(journal.launcher()[0])
        .args(&journal.launcher()[1..])
        .arg(central_binary())
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database")
        .arg(format!(
            "sqlite:{}",
            dir.path().join("central.sqlite").display()
        ))
        .env("RUST_LOG", "info,central=debug")
        .spawn()
        .unwrap();
    let mut central = Central {
        child: central,
        url: url.clone(),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "central did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    publish_list(&url, "denylist", &[]);

    let root = dir.path().join("gate");
    std::fs::create_dir_all(&root).unwrap();
    // The real face pipeline: the chip holds one man's photo, the camera sees another.
    let photos = artefacts::photos_dir();
    let frames = frames_of(&root, &photos.join("biden.jpg"), 3);
    let mut config = face_gate(&photos.join("obama.jpg"), &frames);
    config.central = Some(central_section(&url, 50, 3600));
    let mut gated = Gated::spawn_via(&journal.launcher(), &root, &config, &[]);
    gated.wait_for_socket();
    gated.wait_for_long(
        "the models, the camera and the lists",
        Duration::from_secs(60),
        |s| s.state == "idle" && s.out_of_service_reasons.is_empty(),
    );
    let transaction = gated.admit(SimulatedTraveller::default()).to_string();
    gated.wait_for("the deny", |s| s.counters.denied == 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while curl(&[&format!("{url}/v1/events?gate=SIM-FACE-01")])["events"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        assert!(Instant::now() < deadline, "the deny did not reach central");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Central's answer, sent after its "ingested batch" line, has reached the gate.
    gated.wait_for("central's acknowledgement", |s| s.outbox_pending == 0);
    assert!(gated.terminate().success());
    signal_term(central.child.id());
    assert!(central.child.wait().unwrap().success());
    let (entries, raw) = journal.stop_and_read();

    // gated: the transaction's id, the reason and the outcome are fields of their own.
    let gated = native(&entries, "gated");
    let ended = entry(&gated, "transaction ended");
    assert_eq!(ended["TRANSACTION_ID"], transaction.as_str(), "{ended:#}");
    assert_eq!(ended["REASON"], "FACE_MISMATCH");
    assert_eq!(ended["OUTCOME"], "Denied");
    assert_eq!(ended["PRIORITY"], "5", "info is notice");
    let officer = entry(&gated, "officer called");
    assert_eq!(
        officer["TRANSACTION_ID"],
        transaction.as_str(),
        "from its span"
    );
    assert_eq!(officer["SPAN_NAME"], "transaction");
    assert_eq!(officer["REASON"], "FACE_MISMATCH");
    assert_eq!(officer["PRIORITY"], "4", "warn is warning");
    // In the span or, on the workers' threads, a field of their own.
    for message in ["reading chip", "capturing face", "face burst compared"] {
        let logged = entry(&gated, message);
        assert_eq!(logged["TRANSACTION_ID"], transaction.as_str(), "{logged:#}");
    }
    let devices: Vec<&Value> = gated
        .iter()
        .filter(|e| e["MESSAGE"] == "device up")
        .map(|e| &e["DEVICE"])
        .collect();
    assert_eq!(
        devices,
        ["camera"],
        "the one device with a worker of its own"
    );
    // central: the gate and the counts of each batch it stored.
    let central_entries = native(&entries, "central");
    let listening = central_entries
        .iter()
        .find(|e| {
            e["MESSAGE"]
                .as_str()
                .unwrap_or("")
                .starts_with("central listening")
        })
        .expect("central's listening entry");
    assert_eq!(listening["ADDRESS"], format!("127.0.0.1:{port}").as_str());
    assert_eq!(listening["STORAGE"], "sqlite");
    let ingested = central_entries
        .iter()
        .find(|e| e["MESSAGE"] == "ingested batch" && e["STORED"] != "0")
        .expect("an ingested batch");
    assert_eq!(ingested["GATE"], "SIM-FACE-01");
    assert_eq!(ingested["PRIORITY"], "6", "debug is info");
    // Natively logged: nothing came through the daemons' stderr.
    let stderr: Vec<&Value> = entries
        .iter()
        .filter(|e| e["SYSLOG_IDENTIFIER"] == "service-stderr")
        .collect();
    assert!(stderr.is_empty(), "written to stderr: {stderr:#?}");
    // Nothing personal anywhere: neither in the entries nor in the files.
    let text = serde_json::to_string(&entries).unwrap();
    for personal in PERSONAL {
        assert!(!text.contains(personal), "{personal} in the journal");
        assert!(
            !raw.windows(personal.len())
                .any(|w| w == personal.as_bytes()),
            "{personal} in the journal files"
        );
    }
}

#[test]
fn without_a_journal_socket_gated_says_so_once_and_logs_text_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // A /run without the journal's socket, whatever the host runs.
    let launcher = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-ec",
        r#"mount -t tmpfs none /run; exec "$@" --log journald"#,
        "sh",
    ]
    .map(OsStr::new);
    let mut gated = Gated::spawn_via(&launcher, dir.path(), &fast_sim_config(), &[]);
    gated.wait_for_socket();
    assert!(gated.terminate().success());
    let log = gated.log_text();
    let first = log.lines().next().unwrap_or_default();
    assert!(
        first.contains("WARN")
            && first.contains("journal socket /run/systemd/journal/socket not reachable")
            && first.ends_with("logging text to stderr instead"),
        "first line: {first}"
    );
    assert_eq!(log.matches("journal socket").count(), 1, "{log}");
    assert!(
        log.contains(" INFO ") && log.contains("gated ready"),
        "{log}"
    );
}

//! The real gated binary (built beside gatectl by `cargo test --workspace`) under a typed
//! configuration, for the tests that talk to it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gate_config::GateConfig;

/// The workspace root.
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A shipped configuration, as typed values.
pub fn shipped(name: &str) -> GateConfig {
    let mut config = gate_config::load(&root().join("firmware-config").join(name))
        .unwrap()
        .config;
    // Parallel gates cannot share the shipped screen port: each test gate gets a free one.
    if let Some(screen) = &mut config.screen {
        screen.listen.set_port(
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(),
        );
    }
    config
}

fn gated_binary() -> PathBuf {
    let gatectl = Path::new(env!("CARGO_BIN_EXE_gatectl"));
    let gated = gatectl.with_file_name("gated");
    assert!(
        gated.exists(),
        "{} not built: run the workspace tests (cargo test --workspace) or `cargo build -p gated`",
        gated.display()
    );
    gated
}

/// A running gated, killed on drop.
pub struct Daemon {
    child: Child,
    _dir: tempfile::TempDir,
    /// Its control socket.
    pub socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts gated with `config` (written as TOML) in a temporary directory.
pub fn start_gated(config: &GateConfig) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gate.toml");
    std::fs::write(&file, config.to_toml().unwrap()).unwrap();
    let socket = dir.path().join("control.sock");
    let child = Command::new(gated_binary())
        .arg("--config")
        .arg(&file)
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "gated did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Daemon {
        child,
        _dir: dir,
        socket,
    }
}

/// Runs gatectl with `args`.
pub fn gatectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(args)
        .output()
        .unwrap()
}

/// stdout and stderr together, for messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `gatectl status --json` of `daemon`.
pub fn status(daemon: &Daemon) -> serde_json::Value {
    let output = gatectl(&[
        "status",
        "--json",
        "--socket",
        daemon.socket.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Polls `gatectl status --json` until `done` holds (fails after 20 s).
pub fn wait_for(daemon: &Daemon, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let json = status(daemon);
        if done(&json) {
            return;
        }
        assert!(Instant::now() < deadline, "no {what}: {json:#}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

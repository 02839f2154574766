//! A `central` process for tests: the built binary on a loopback port, killed on drop.
#![allow(dead_code)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `central` process.
pub struct Central {
    child: Child,
    port: u16,
}

impl Central {
    /// Starts central on a free port over `database`.
    pub fn start(database: &str) -> Self {
        Self::start_on(free_port(), database, &[])
    }

    /// Starts central on `port` with extra arguments and waits until it listens.
    pub fn start_on(port: u16, database: &str, extra: &[&str]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_central"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                database,
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut central = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = central.child.try_wait().unwrap() {
                panic!("central exited early: {status}");
            }
            assert!(Instant::now() < deadline, "central did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        central
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Central {
    fn drop(&mut self) {
        self.kill();
    }
}

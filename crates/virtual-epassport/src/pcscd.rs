//! An isolated pcscd for tests: its own vpcd port pair and its own client socket, so several
//! tests (and a system pcscd) can run side by side.
//!
//! pcscd's socket and pid file paths are fixed (`/run/pcscd`), so the daemon is started in a
//! private mount namespace (`unshare -m`, needs root) with a temporary directory bound over
//! `/run/pcscd`; clients reach it by setting `PCSCLITE_CSOCK_NAME` to
//! [`IsolatedPcscd::socket`]. The vpcd driver is configured through a private reader.conf.d
//! (`pcscd -c`) to listen on a free port (slot 0) and the next one (slot 1).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's vsmartcard-vpcd installs the driver.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// Errors starting pcscd.
#[derive(Debug, thiserror::Error)]
pub enum PcscdError {
    /// pcscd, unshare or the vpcd driver is missing.
    #[error("{0} (install: apt-get install -y pcscd vsmartcard-vpcd util-linux)")]
    Missing(String),
    /// Setting up or starting failed.
    #[error("starting pcscd: {0}")]
    Start(String),
}

/// A running pcscd with the vpcd driver, killed on drop.
#[derive(Debug)]
pub struct IsolatedPcscd {
    child: Child,
    dir: PathBuf,
    port: u16,
}

fn free_port_pair() -> Result<u16, PcscdError> {
    for _ in 0..50 {
        let first =
            TcpListener::bind("127.0.0.1:0").map_err(|e| PcscdError::Start(e.to_string()))?;
        let port = first
            .local_addr()
            .map_err(|e| PcscdError::Start(e.to_string()))?
            .port();
        if port < u16::MAX && TcpListener::bind(("0.0.0.0", port + 1)).is_ok() {
            return Ok(port);
        }
    }
    Err(PcscdError::Start("no free port pair".into()))
}

fn find_program(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

impl IsolatedPcscd {
    /// Starts pcscd under `dir` (created; holds the socket and the config) and waits until
    /// its socket exists and vpcd listens.
    pub fn start(dir: &Path) -> Result<IsolatedPcscd, PcscdError> {
        let pcscd = find_program("pcscd").ok_or(PcscdError::Missing("pcscd not found".into()))?;
        let unshare =
            find_program("unshare").ok_or(PcscdError::Missing("unshare not found".into()))?;
        if !Path::new(VPCD_DRIVER).exists() {
            return Err(PcscdError::Missing(format!("{VPCD_DRIVER} not found")));
        }
        let run = dir.join("run");
        let conf = dir.join("reader.conf.d");
        for d in [&run, &conf] {
            std::fs::create_dir_all(d)
                .map_err(|e| PcscdError::Start(format!("{}: {e}", d.display())))?;
        }
        std::fs::create_dir_all("/run/pcscd")
            .map_err(|e| PcscdError::Start(format!("/run/pcscd: {e}")))?;
        let port = free_port_pair()?;
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x{port:04X}\nLIBPATH      {VPCD_DRIVER}\nCHANNELID    0x{port:04X}\n"
            ),
        )
        .map_err(|e| PcscdError::Start(e.to_string()))?;
        let log = std::fs::File::create(dir.join("pcscd.log"))
            .map_err(|e| PcscdError::Start(e.to_string()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| PcscdError::Start(e.to_string()))?;
        let script = format!(
            "mount --bind '{}' /run/pcscd && exec '{}' --foreground -c '{}'",
            run.display(),
            pcscd.display(),
            conf.display()
        );
        let child = Command::new(unshare)
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| PcscdError::Start(format!("unshare: {e}")))?;
        let mut pcscd = IsolatedPcscd {
            child,
            dir: dir.to_path_buf(),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // vpcd listening shows as the port being taken (a connection would look like a card).
            if pcscd.socket().exists() && TcpListener::bind(("0.0.0.0", port)).is_err() {
                return Ok(pcscd);
            }
            if let Ok(Some(status)) = pcscd.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("pcscd.log")).unwrap_or_default();
                return Err(PcscdError::Start(format!(
                    "pcscd exited with {status}: {log}"
                )));
            }
            if Instant::now() > deadline {
                return Err(PcscdError::Start(
                    "pcscd did not come up within 10 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The client socket: set `PCSCLITE_CSOCK_NAME` to it.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("run").join("pcscd.comm")
    }

    /// The vpcd address of reader slot 0 ("Virtual PCD 00 00").
    pub fn vpcd_address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The PC/SC name of reader slot 0.
    pub fn reader_name(&self) -> &'static str {
        "Virtual PCD 00 00"
    }
}

impl Drop for IsolatedPcscd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

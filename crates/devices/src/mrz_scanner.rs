//! Document page scanners that deliver the machine readable zone as text over a serial line.
//!
//! OCR swipe and full-page readers (Access-IS, 3M/Gemalto, DESKO, Regula in their "serial MRZ"
//! or USB-CDC modes) send each MRZ line as ASCII text, usually ended by CR and/or LF and often
//! framed by STX/ETX. This module turns such a byte stream into candidate MRZs: two lines of 44
//! (TD3, MRV-A) or 36 (TD2, MRV-B) characters, or three lines of 30 (TD1), consecutive and
//! made only of MRZ characters. It checks the shape only; check digits and fields are the
//! `mrtd` crate's job (this crate knows nothing of ICAO 9303 semantics).
//!
//! Lines never appear in logs or errors: they carry a document number.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest line kept while waiting for its end (longer input is garbage and dropped).
const MAX_LINE: usize = 128;
/// Silence after which a partial group of lines is forgotten (a new document starts).
const GROUP_GAP: Duration = Duration::from_millis(1_500);

/// Errors of a serial MRZ scanner.
#[derive(Debug, thiserror::Error)]
pub enum MrzScannerError {
    /// The port could not be opened.
    #[error("cannot open MRZ scanner {path}: {reason}")]
    Open {
        /// Device path.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The device vanished or failed while reading (unplugged, I/O error).
    #[error("MRZ scanner {path} failed: {reason}")]
    Disconnected {
        /// Device path.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
}

/// Splits a scanner's byte stream into candidate MRZs. Pure: feed it bytes with their arrival
/// time, collect candidates. Used by [`SerialMrzScanner`] and directly by tests and fuzzing.
#[derive(Default)]
pub struct MrzLineAssembler {
    partial: Vec<u8>,
    overflowed: bool,
    lines: Vec<String>,
    last_byte_at: Option<Instant>,
}

impl std::fmt::Debug for MrzLineAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MrzLineAssembler")
            .field("partial_len", &self.partial.len())
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

impl MrzLineAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes received at `now`; returns the candidate MRZs they complete, in order.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Vec<Vec<String>> {
        if self
            .last_byte_at
            .is_some_and(|last| now.saturating_duration_since(last) > GROUP_GAP)
        {
            self.partial.clear();
            self.overflowed = false;
            self.lines.clear();
        }
        if !bytes.is_empty() {
            self.last_byte_at = Some(now);
        }
        let mut found = Vec::new();
        for &byte in bytes {
            match byte {
                b'\r' | b'\n' | 0x03 => {
                    if let Some(candidate) = self.end_line() {
                        found.push(candidate);
                    }
                }
                // STX starts a new frame: whatever came before it is not part of this MRZ.
                0x02 => {
                    self.partial.clear();
                    self.overflowed = false;
                    self.lines.clear();
                }
                b' ' | b'\t' => {}
                _ if self.partial.len() >= MAX_LINE => self.overflowed = true,
                _ => self.partial.push(byte),
            }
        }
        found
    }

    fn end_line(&mut self) -> Option<Vec<String>> {
        let line = std::mem::take(&mut self.partial);
        let overflowed = std::mem::replace(&mut self.overflowed, false);
        if line.is_empty() {
            return None;
        }
        let is_mrz_line = !overflowed
            && matches!(line.len(), 30 | 36 | 44)
            && line
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'<');
        if !is_mrz_line {
            self.lines.clear();
            return None;
        }
        let line = String::from_utf8(line).ok()?;
        if self
            .lines
            .last()
            .is_some_and(|last| last.len() != line.len())
        {
            self.lines.clear();
        }
        self.lines.push(line);
        let needed = if self.lines[0].len() == 30 { 3 } else { 2 };
        (self.lines.len() == needed).then(|| std::mem::take(&mut self.lines))
    }
}

/// A page scanner on a serial port (or USB-CDC, or a pseudo-terminal in tests).
#[cfg(feature = "serial")]
pub struct SerialMrzScanner {
    path: PathBuf,
    port: Box<dyn serialport::SerialPort>,
    assembler: MrzLineAssembler,
    ready: std::collections::VecDeque<Vec<String>>,
}

#[cfg(feature = "serial")]
impl std::fmt::Debug for SerialMrzScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialMrzScanner")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "serial")]
impl SerialMrzScanner {
    /// Opens the scanner at `path` with `baud` (8N1, no flow control).
    pub fn open(path: &Path, baud: u32) -> Result<Self, MrzScannerError> {
        let port = serialport::new(path.display().to_string(), baud)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|err| MrzScannerError::Open {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
        Ok(Self {
            path: path.to_owned(),
            port,
            assembler: MrzLineAssembler::new(),
            ready: std::collections::VecDeque::new(),
        })
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits up to `timeout` for the next candidate MRZ (2 or 3 lines). `Ok(None)` when none
    /// arrived in time.
    pub fn next_candidate(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Vec<String>>, MrzScannerError> {
        let deadline = Instant::now() + timeout;
        let mut buffer = [0u8; 256];
        loop {
            if let Some(candidate) = self.ready.pop_front() {
                return Ok(Some(candidate));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            match std::io::Read::read(&mut self.port, &mut buffer) {
                // A pseudo-terminal whose other side closed reads 0 bytes at once: treat a
                // zero read like a short wait so a vanished peer does not spin.
                Ok(0) => std::thread::sleep(Duration::from_millis(50)),
                Ok(n) => {
                    let found = self.assembler.feed(&buffer[..n], Instant::now());
                    self.ready.extend(found);
                }
                Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {
                    self.assembler.feed(&[], Instant::now());
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => {
                    return Err(MrzScannerError::Disconnected {
                        path: self.path.clone(),
                        reason: err.to_string(),
                    });
                }
            }
            if !self.path.exists() {
                return Err(MrzScannerError::Disconnected {
                    path: self.path.clone(),
                    reason: "device node gone".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];

    fn feed_all(assembler: &mut MrzLineAssembler, text: &[u8]) -> Vec<Vec<String>> {
        assembler.feed(text, Instant::now())
    }

    #[test]
    fn two_line_and_three_line_zones_are_assembled() {
        let mut a = MrzLineAssembler::new();
        let text = format!("{}\r\n{}\r\n", TD3[0], TD3[1]);
        assert_eq!(
            feed_all(&mut a, text.as_bytes()),
            vec![TD3.map(String::from).to_vec()]
        );
        let text = format!("\x02{}\r{}\r{}\r\x03", TD1[0], TD1[1], TD1[2]);
        assert_eq!(
            feed_all(&mut a, text.as_bytes()),
            vec![TD1.map(String::from).to_vec()]
        );
    }

    #[test]
    fn bytes_may_arrive_in_any_pieces() {
        let mut a = MrzLineAssembler::new();
        let text = format!("{}\n{}\n", TD3[0], TD3[1]);
        let mut found = Vec::new();
        for chunk in text.as_bytes().chunks(7) {
            found.extend(a.feed(chunk, Instant::now()));
        }
        assert_eq!(found, vec![TD3.map(String::from).to_vec()]);
    }

    #[test]
    fn garbage_and_wrong_lengths_reset_the_group() {
        let mut a = MrzLineAssembler::new();
        // Garbage line between the two lines: no candidate.
        let text = format!("{}\n#~garbage\n{}\n", TD3[0], TD3[1]);
        assert!(feed_all(&mut a, text.as_bytes()).is_empty());
        // Mixed lengths: no candidate.
        let text = format!("{}\n{}\n", TD1[0], TD3[1]);
        assert!(feed_all(&mut a, text.as_bytes()).is_empty());
        // Overlong line: dropped, then a good MRZ still comes through.
        let long = "A".repeat(500);
        let text = format!("{long}\n{}\n{}\n", TD3[0], TD3[1]);
        assert_eq!(feed_all(&mut a, text.as_bytes()).len(), 1);
        // Lower case is not MRZ.
        let text = format!("{}\n{}\n", TD3[0].to_lowercase(), TD3[1]);
        assert!(feed_all(&mut a, text.as_bytes()).is_empty());
    }

    #[test]
    fn a_pause_between_lines_starts_a_new_document() {
        let mut a = MrzLineAssembler::new();
        let t0 = Instant::now();
        assert!(a.feed(format!("{}\n", TD3[0]).as_bytes(), t0).is_empty());
        let later = t0 + GROUP_GAP + Duration::from_millis(10);
        assert!(a.feed(format!("{}\n", TD3[1]).as_bytes(), later).is_empty());
    }

    #[test]
    fn debug_output_carries_no_mrz_text() {
        let mut a = MrzLineAssembler::new();
        a.feed(format!("{}\n", TD3[0]).as_bytes(), Instant::now());
        assert!(!format!("{a:?}").contains("ERIKSSON"));
    }
}

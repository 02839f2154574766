//! The card side of vsmartcard's vpcd protocol: the virtual card connects over TCP to the
//! vpcd reader driver loaded by pcscd (default 127.0.0.1:35963). Every message in both
//! directions is a 2-byte big-endian length and a payload. From vpcd, a 1-byte payload is a
//! control code (00 power off, 01 power on, 02 reset, 04 get ATR; only "get ATR" is answered,
//! with the ATR), anything longer is a command APDU answered with the response APDU.
//! An open connection means "card in the reader"; closing it removes the card.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::chip::{ChipAction, VirtualChip};

/// The vpcd default port (reader slot 0).
pub const DEFAULT_PORT: u16 = 35963;

/// Errors of the vpcd link.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// The serving thread panicked.
    #[error("virtual card thread panicked")]
    ThreadPanicked,
    /// Any I/O failure that is not a normal disconnect.
    #[error("vpcd link: {0}")]
    Io(#[from] io::Error),
}

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcdOptions {
    /// vpcd address (host:port).
    pub address: String,
    /// After the card was pulled (or vpcd closed the link), put it back after this delay;
    /// `None` leaves it out until stopped.
    pub reinsert_after: Option<Duration>,
    /// Pause between connection attempts while vpcd is not listening.
    pub retry_interval: Duration,
}

impl Default for VpcdOptions {
    fn default() -> Self {
        VpcdOptions {
            address: format!("127.0.0.1:{DEFAULT_PORT}"),
            reinsert_after: Some(Duration::from_secs(1)),
            retry_interval: Duration::from_millis(100),
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionEnd {
    /// The chip left the field (misbehaviour switch).
    Pulled,
    /// vpcd closed the link (pcscd stopped) or we were stopped.
    Closed,
}

fn send(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 65535 bytes"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// Acknowledges at once: vpcd writes the length and the payload of a message separately,
/// so with Nagle on its side a delayed ACK here would cost ~40 ms per APDU.
fn quick_ack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

fn session(stream: &mut TcpStream, chip: &mut VirtualChip) -> io::Result<SessionEnd> {
    chip.reset();
    loop {
        quick_ack(stream);
        let mut header = [0u8; 2];
        match stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if is_disconnect(&e) => return Ok(SessionEnd::Closed),
            Err(e) => return Err(e),
        }
        quick_ack(stream);
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(header))];
        match stream.read_exact(&mut payload) {
            Ok(()) => {}
            Err(e) if is_disconnect(&e) => return Ok(SessionEnd::Closed),
            Err(e) => return Err(e),
        }
        match payload.as_slice() {
            [0x00] | [0x01] | [0x02] => chip.reset(),
            [0x04] => send(stream, &chip.atr())?,
            [] | [_] => {}
            apdu => match chip.handle_apdu(apdu) {
                ChipAction::Respond(response) => send(stream, &response)?,
                ChipAction::Pull => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return Ok(SessionEnd::Pulled);
                }
            },
        }
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
    )
}

/// Stops a running card from another thread.
#[derive(Debug, Clone, Default)]
pub struct StopHandle {
    stopped: Arc<AtomicBool>,
    stream: Arc<Mutex<Option<TcpStream>>>,
}

impl StopHandle {
    /// Asks the card to stop: closes the link (the card leaves the reader).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let guard = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stream) = guard.as_ref() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// True once [`StopHandle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn set_stream(&self, stream: Option<TcpStream>) {
        *self.stream.lock().unwrap_or_else(PoisonError::into_inner) = stream;
    }
}

/// Serves `chip` to vpcd until `stop` is triggered (blocking): connects (retrying while
/// vpcd is not there), answers vpcd, and reconnects after a pull or a closed link.
pub fn run(
    chip: &mut VirtualChip,
    options: &VpcdOptions,
    stop: &StopHandle,
) -> Result<(), VpcdError> {
    while !stop.is_stopped() {
        let mut stream = match TcpStream::connect(&options.address) {
            Ok(s) => s,
            Err(_) => {
                std::thread::sleep(options.retry_interval);
                continue;
            }
        };
        stream.set_nodelay(true)?;
        stop.set_stream(stream.try_clone().ok());
        if stop.is_stopped() {
            break;
        }
        let end = session(&mut stream, chip);
        stop.set_stream(None);
        match end {
            Ok(_) | Err(_) if stop.is_stopped() => break,
            Ok(SessionEnd::Pulled) | Ok(SessionEnd::Closed) => match options.reinsert_after {
                Some(delay) => std::thread::sleep(delay),
                None => {
                    while !stop.is_stopped() {
                        std::thread::sleep(options.retry_interval);
                    }
                }
            },
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A virtual card served on its own thread.
#[derive(Debug)]
pub struct VirtualCard {
    stop: StopHandle,
    thread: Option<JoinHandle<Result<(), VpcdError>>>,
}

impl VirtualCard {
    /// Starts serving `chip` to vpcd at `options.address`.
    pub fn spawn(mut chip: VirtualChip, options: VpcdOptions) -> VirtualCard {
        let stop = StopHandle::default();
        let handle = stop.clone();
        let thread = std::thread::spawn(move || run(&mut chip, &options, &handle));
        VirtualCard {
            stop,
            thread: Some(thread),
        }
    }

    /// Removes the card and ends the thread.
    pub fn stop(mut self) -> Result<(), VpcdError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), VpcdError> {
        self.stop.stop();
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| VpcdError::ThreadPanicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    use crate::document::{Document, DocumentConfig};
    use crate::pki::{Pki, PkiOptions};

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u16).to_be_bytes().to_vec();
        f.extend_from_slice(payload);
        f
    }

    fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).unwrap();
        let mut payload = vec![0; usize::from(u16::from_be_bytes(header))];
        stream.read_exact(&mut payload).unwrap();
        payload
    }

    #[test]
    fn speaks_the_vpcd_framing() {
        // Play vpcd: accept the card, power it on, ask the ATR, send an APDU.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let pki = Pki::generate(&PkiOptions::default()).unwrap();
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11,
            0x00, 0xFF, 0xD9,
        ];
        let config = DocumentConfig::new(&crate::TEST_TD3, jpeg.to_vec());
        let document = Arc::new(Document::build(&config, &pki).unwrap());
        let chip = VirtualChip::new(document, crate::chip::Misbehaviour::default());
        let atr = chip.atr();
        let card = VirtualCard::spawn(
            chip,
            VpcdOptions {
                address,
                ..VpcdOptions::default()
            },
        );
        let (mut vpcd, _) = listener.accept().unwrap();
        vpcd.write_all(&frame(&[0x01])).unwrap();
        vpcd.write_all(&frame(&[0x04])).unwrap();
        assert_eq!(read_frame(&mut vpcd), atr);
        // READ BINARY EF.CardAccess by SFI 1C, Le 256: plain, before access control.
        vpcd.write_all(&frame(&[0x00, 0xB0, 0x9C, 0x00, 0x00]))
            .unwrap();
        let response = read_frame(&mut vpcd);
        assert_eq!(response[0], 0x31);
        assert_eq!(response[response.len() - 2..], [0x90, 0x00]);
        // DG1 before access control: refused.
        vpcd.write_all(&frame(&[
            0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
        ]))
        .unwrap();
        assert_eq!(read_frame(&mut vpcd), [0x90, 0x00]);
        vpcd.write_all(&frame(&[0x00, 0xB0, 0x81, 0x00, 0x00]))
            .unwrap();
        assert_eq!(read_frame(&mut vpcd), [0x69, 0x82]);
        card.stop().unwrap();
    }
}

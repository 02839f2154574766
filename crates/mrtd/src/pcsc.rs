//! PC/SC transport (feature `pcsc`): reader listing and selection, waiting for a card,
//! connecting with T=1 or T=0, APDU exchange as a [`CardTransport`], reconnection after a card
//! reset or removal, and whether extended length APDUs can be used.
//!
//! Blocking API, meant for a dedicated thread:
//!
//! ```no_run
//! use std::time::Duration;
//! use mrtd::pcsc::PcscReader;
//! use mrtd::reader::{ChipReader, ReaderOptions};
//! use mrtd::pace::PacePassword;
//!
//! let reader = PcscReader::open("Virtual PCD")?;
//! let card = reader.wait_for_card(Duration::from_secs(10))?;
//! let options = ReaderOptions {
//!     extended_length: card.supports_extended_length(),
//!     ..ReaderOptions::default()
//! };
//! let password = PacePassword::Can("123456".into());
//! let document = ChipReader::new(card, options).read_document(&password);
//! # drop(document);
//! # Ok::<(), mrtd::pcsc::PcscError>(())
//! ```
//!
//! Errors distinguish "no reader", "no card" (timeout while waiting), and a card removed
//! during a read ([`TransportErrorKind::CardRemoved`], see
//! [`crate::reader::ReadError::is_card_removed`]).

use std::ffi::CString;
use std::fmt;
use std::time::{Duration, Instant};

use pcsc::{Attribute, Context, Disposition, Error as PcscLibError, Protocols, Scope, ShareMode};

use crate::apdu::{CardTransport, TransportError, TransportErrorKind};
use crate::reader::atr_supports_extended_length;

/// Largest short command APDU (header, Lc, 255 data bytes, Le).
const SHORT_APDU_MAX: usize = 261;

/// Errors of the PC/SC layer. None carries card data.
#[derive(Debug, thiserror::Error)]
pub enum PcscError {
    /// The PC/SC service is not reachable (pcscd not running, no permission).
    #[error("PC/SC service not available (is pcscd running?): {0}")]
    Service(#[source] PcscLibError),
    /// The service knows no reader at all.
    #[error("no smart-card reader connected")]
    NoReaders,
    /// No reader name matches.
    #[error("no reader matches {wanted:?}; readers: {available:?}")]
    ReaderNotFound {
        /// The requested name.
        wanted: String,
        /// The readers present.
        available: Vec<String>,
    },
    /// Several readers contain the requested name and none equals it.
    #[error("reader name {wanted:?} is ambiguous: {matches:?}")]
    AmbiguousReader {
        /// The requested name.
        wanted: String,
        /// The readers containing it.
        matches: Vec<String>,
    },
    /// No card arrived before the timeout.
    #[error("no card in reader {reader:?} after {timeout:?}")]
    NoCard {
        /// Reader name.
        reader: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The card stayed in the reader past the timeout (waiting for removal).
    #[error("card still in reader {reader:?} after {timeout:?}")]
    CardStillPresent {
        /// Reader name.
        reader: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The card left the reader (during connect or a read).
    #[error("card removed from reader {reader:?}")]
    CardRemoved {
        /// Reader name.
        reader: String,
    },
    /// The card is present but does not answer (no ATR, mute).
    #[error("card in reader {reader:?} does not respond")]
    CardMute {
        /// Reader name.
        reader: String,
    },
    /// The reader was unplugged or the service stopped.
    #[error("reader {reader:?} became unavailable: {source}")]
    ReaderUnavailable {
        /// Reader name.
        reader: String,
        /// PC/SC error.
        source: PcscLibError,
    },
    /// A wait was cancelled through [`WaitCanceller::cancel`].
    #[error("waiting on reader {reader:?} was cancelled")]
    Cancelled {
        /// Reader name.
        reader: String,
    },
    /// Any other PC/SC failure.
    #[error("{operation} on reader {reader:?}: {source}")]
    Other {
        /// What was being done.
        operation: &'static str,
        /// Reader name.
        reader: String,
        /// PC/SC error.
        source: PcscLibError,
    },
}

impl PcscError {
    fn from_lib(operation: &'static str, reader: &str, source: PcscLibError) -> PcscError {
        let reader = reader.to_string();
        match source {
            PcscLibError::NoService | PcscLibError::ServiceStopped => PcscError::Service(source),
            PcscLibError::NoReadersAvailable => PcscError::NoReaders,
            PcscLibError::RemovedCard | PcscLibError::NoSmartcard => {
                PcscError::CardRemoved { reader }
            }
            PcscLibError::UnresponsiveCard | PcscLibError::UnpoweredCard => {
                PcscError::CardMute { reader }
            }
            PcscLibError::ReaderUnavailable | PcscLibError::UnknownReader => {
                PcscError::ReaderUnavailable { reader, source }
            }
            PcscLibError::Cancelled => PcscError::Cancelled { reader },
            source => PcscError::Other {
                operation,
                reader,
                source,
            },
        }
    }
}

/// Lists the readers the PC/SC service knows (empty if none).
pub fn list_readers() -> Result<Vec<String>, PcscError> {
    let context = Context::establish(Scope::User).map_err(PcscError::Service)?;
    reader_names(&context)
}

fn reader_names(context: &Context) -> Result<Vec<String>, PcscError> {
    match context.list_readers_owned() {
        Ok(names) => Ok(names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect()),
        Err(PcscLibError::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(PcscError::from_lib("list readers", "", e)),
    }
}

/// Picks the reader named `wanted`: an exact name first, else the one reader whose name
/// contains `wanted` (case-insensitive); when several contain it, the contactless
/// interface of a dual reader ("... PICC ..."), else the first slot of one device.
pub fn select_reader(available: &[String], wanted: &str) -> Result<String, PcscError> {
    if available.is_empty() {
        return Err(PcscError::NoReaders);
    }
    if let Some(exact) = available.iter().find(|n| n.as_str() == wanted) {
        return Ok(exact.clone());
    }
    let needle = wanted.to_lowercase();
    let matches: Vec<String> = available
        .iter()
        .filter(|n| n.to_lowercase().contains(&needle))
        .cloned()
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(PcscError::ReaderNotFound {
            wanted: wanted.to_string(),
            available: available.to_vec(),
        }),
        _ => preferred_slot(&matches).ok_or_else(|| PcscError::AmbiguousReader {
            wanted: wanted.to_string(),
            matches: matches.clone(),
        }),
    }
}

/// Among several readers matching a name: the one contactless interface of a dual reader
/// ("... PICC ...", e.g. the ACR1252's PICC and SAM slots), else the first slot when all are
/// slots of one device (names equal but for the trailing slot numbers, e.g. vpcd's
/// "Virtual PCD 00 00" / "Virtual PCD 00 01").
fn preferred_slot(matches: &[String]) -> Option<String> {
    let contactless: Vec<&String> = matches
        .iter()
        .filter(|n| {
            let lower = n.to_lowercase();
            lower.contains("picc") || lower.contains("contactless")
        })
        .collect();
    if let [one] = contactless.as_slice() {
        return Some((*one).clone());
    }
    let stem = |n: &str| {
        n.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
            .to_string()
    };
    let first = matches.iter().min()?;
    matches
        .iter()
        .all(|n| stem(n) == stem(first))
        .then(|| first.clone())
}

/// Cancels a blocking [`PcscReader::wait_for_card`] / [`PcscReader::wait_for_removal`] from
/// another thread (e.g. at daemon shutdown).
#[derive(Clone)]
pub struct WaitCanceller(Context);

impl fmt::Debug for WaitCanceller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaitCanceller")
    }
}

impl WaitCanceller {
    /// Makes the pending wait return [`PcscError::Cancelled`].
    pub fn cancel(&self) -> Result<(), PcscError> {
        self.0
            .cancel()
            .map_err(|e| PcscError::from_lib("cancel", "", e))
    }
}

/// One PC/SC reader, chosen by name.
pub struct PcscReader {
    context: Context,
    name: CString,
    display_name: String,
}

impl fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscReader")
            .field("name", &self.display_name)
            .finish()
    }
}

/// What [`PcscReader::card_state`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardState {
    /// No card.
    Absent,
    /// A card that answered with an ATR.
    Present,
    /// A card that does not answer.
    Mute,
}

impl PcscReader {
    /// Opens the reader named `name`: exact, or a case-insensitive part of the name such as
    /// "ACS ACR1252" or "Virtual PCD" (several slots of one device: the contactless one, else
    /// the first; see [`select_reader`]).
    pub fn open(name: &str) -> Result<PcscReader, PcscError> {
        let context = Context::establish(Scope::User).map_err(PcscError::Service)?;
        let available = reader_names(&context)?;
        let display_name = select_reader(&available, name)?;
        let name = CString::new(display_name.clone()).map_err(|_| PcscError::ReaderNotFound {
            wanted: name.to_string(),
            available,
        })?;
        Ok(PcscReader {
            context,
            name,
            display_name,
        })
    }

    /// The reader's full name.
    pub fn name(&self) -> &str {
        &self.display_name
    }

    /// A handle that cancels a pending wait on this reader from another thread.
    pub fn canceller(&self) -> WaitCanceller {
        WaitCanceller(self.context.clone())
    }

    fn reader_state(&self, timeout: Option<Duration>) -> Result<pcsc::ReaderState, PcscError> {
        let mut states = [pcsc::ReaderState::new(
            self.name.clone(),
            pcsc::State::UNAWARE,
        )];
        self.context
            .get_status_change(timeout.unwrap_or(Duration::ZERO), &mut states)
            .map_err(|e| PcscError::from_lib("get status", &self.display_name, e))?;
        let [state] = states;
        Ok(state)
    }

    /// Whether a card is in the reader now.
    pub fn card_state(&self) -> Result<CardState, PcscError> {
        let state = self.reader_state(None)?;
        Ok(classify(state.event_state()))
    }

    /// Waits until the reader's state satisfies `done` or `timeout` passes; returns the last
    /// state seen (`None` on timeout).
    fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(CardState) -> bool,
    ) -> Result<Option<CardState>, PcscError> {
        let deadline = Instant::now() + timeout;
        let mut states = [pcsc::ReaderState::new(
            self.name.clone(),
            pcsc::State::UNAWARE,
        )];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.context.get_status_change(remaining, &mut states) {
                Ok(()) => {}
                Err(PcscLibError::Timeout) => return Ok(None),
                Err(e) => return Err(PcscError::from_lib("wait", &self.display_name, e)),
            }
            let [state] = &mut states;
            let event = state.event_state();
            if event.contains(pcsc::State::UNKNOWN) || event.contains(pcsc::State::UNAVAILABLE) {
                return Err(PcscError::ReaderUnavailable {
                    reader: self.display_name.clone(),
                    source: PcscLibError::ReaderUnavailable,
                });
            }
            let card = classify(event);
            if done(card) {
                return Ok(Some(card));
            }
            if remaining.is_zero() {
                return Ok(None);
            }
            state.sync_current_state();
        }
    }

    /// Waits up to `timeout` for a card and connects to it (T=1 preferred, T=0 accepted).
    pub fn wait_for_card(&self, timeout: Duration) -> Result<PcscCard, PcscError> {
        match self.wait_until(timeout, |s| s != CardState::Absent)? {
            None => Err(PcscError::NoCard {
                reader: self.display_name.clone(),
                timeout,
            }),
            Some(CardState::Mute) => Err(PcscError::CardMute {
                reader: self.display_name.clone(),
            }),
            Some(_) => self.connect(),
        }
    }

    /// Waits up to `timeout` for the card to leave the reader.
    pub fn wait_for_removal(&self, timeout: Duration) -> Result<(), PcscError> {
        match self.wait_until(timeout, |s| s == CardState::Absent)? {
            Some(_) => Ok(()),
            None => Err(PcscError::CardStillPresent {
                reader: self.display_name.clone(),
                timeout,
            }),
        }
    }

    /// Connects to the card in the reader now.
    pub fn connect(&self) -> Result<PcscCard, PcscError> {
        let card = self
            .context
            .connect(&self.name, ShareMode::Shared, Protocols::T1 | Protocols::T0)
            .map_err(|e| PcscError::from_lib("connect", &self.display_name, e))?;
        PcscCard::new(card, self.display_name.clone())
    }
}

fn classify(state: pcsc::State) -> CardState {
    if !state.contains(pcsc::State::PRESENT) {
        CardState::Absent
    } else if state.contains(pcsc::State::MUTE) {
        CardState::Mute
    } else {
        CardState::Present
    }
}

/// A connected card: a [`CardTransport`] for [`crate::reader::ChipReader`].
pub struct PcscCard {
    card: pcsc::Card,
    reader: String,
    atr: Vec<u8>,
    protocol: Option<pcsc::Protocol>,
    max_input: Option<usize>,
    receive: Vec<u8>,
}

impl fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("protocol", &self.protocol)
            .finish()
    }
}

impl PcscCard {
    fn new(card: pcsc::Card, reader: String) -> Result<PcscCard, PcscError> {
        let status = card
            .status2_owned()
            .map_err(|e| PcscError::from_lib("card status", &reader, e))?;
        // SCARD_ATTR_MAXINPUT: the reader's largest command; not every driver reports it.
        let max_input = card
            .get_attribute_owned(Attribute::Maxinput)
            .ok()
            .and_then(|v| v.get(..4).map(|b| [b[0], b[1], b[2], b[3]]))
            .map(|b| u32::from_le_bytes(b) as usize)
            .filter(|&n| n > 0);
        Ok(PcscCard {
            atr: status.atr().to_vec(),
            protocol: status.protocol2(),
            card,
            reader,
            max_input,
            receive: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        })
    }

    /// The card's ATR.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The reader's name.
    pub fn reader_name(&self) -> &str {
        &self.reader
    }

    /// The transmission protocol in use ("T=0", "T=1", "raw").
    pub fn protocol_name(&self) -> &'static str {
        match self.protocol {
            Some(pcsc::Protocol::T0) => "T=0",
            Some(pcsc::Protocol::T1) => "T=1",
            Some(pcsc::Protocol::RAW) => "raw",
            None => "undetermined",
        }
    }

    /// True if extended length APDUs can be used: the ATR announces them (card capabilities
    /// in the historical bytes) and the reader, when it reports its largest command
    /// (SCARD_ATTR_MAXINPUT), accepts more than a short APDU.
    pub fn supports_extended_length(&self) -> bool {
        atr_supports_extended_length(&self.atr) && self.max_input.is_none_or(|n| n > SHORT_APDU_MAX)
    }

    /// Reconnects the handle after a reset or a removal-and-reinsertion (the card is reset,
    /// so any secure messaging session is gone); refreshes the ATR.
    pub fn reconnect(&mut self) -> Result<(), PcscError> {
        self.card
            .reconnect(
                ShareMode::Shared,
                Protocols::T1 | Protocols::T0,
                Disposition::ResetCard,
            )
            .map_err(|e| PcscError::from_lib("reconnect", &self.reader, e))?;
        let status = self
            .card
            .status2_owned()
            .map_err(|e| PcscError::from_lib("card status", &self.reader, e))?;
        self.atr = status.atr().to_vec();
        self.protocol = status.protocol2();
        Ok(())
    }

    /// Disconnects, leaving the card powered.
    pub fn disconnect(self) -> Result<(), PcscError> {
        let reader = self.reader;
        self.card
            .disconnect(Disposition::LeaveCard)
            .map_err(|(_, e)| PcscError::from_lib("disconnect", &reader, e))
    }
}

fn transport_error(reader: &str, error: PcscLibError) -> TransportError {
    let kind = match error {
        PcscLibError::RemovedCard | PcscLibError::NoSmartcard => TransportErrorKind::CardRemoved,
        PcscLibError::ResetCard => TransportErrorKind::CardReset,
        PcscLibError::Timeout | PcscLibError::UnresponsiveCard => TransportErrorKind::Timeout,
        PcscLibError::ReaderUnavailable
        | PcscLibError::UnknownReader
        | PcscLibError::NoService
        | PcscLibError::ServiceStopped => TransportErrorKind::ReaderUnavailable,
        _ => TransportErrorKind::Other,
    };
    let what = match kind {
        TransportErrorKind::CardRemoved => "card removed during the exchange",
        TransportErrorKind::CardReset => "card was reset during the exchange",
        TransportErrorKind::Timeout => "card did not answer",
        TransportErrorKind::ReaderUnavailable => "reader unavailable",
        TransportErrorKind::Other => "transmit failed",
    };
    TransportError::new(kind, format!("{what} (reader {reader:?}: {error})"))
}

impl PcscCard {
    /// After a failed or empty exchange: is the card gone? Some drivers (vpcd) report a
    /// vanished card as an empty response, and the reader notices the removal only on its
    /// next poll, so this asks a few times over ~0.5 s.
    fn card_gone(&self) -> bool {
        for _ in 0..10 {
            match self.card.status2_owned() {
                Err(PcscLibError::RemovedCard | PcscLibError::NoSmartcard) => return true,
                Ok(status) if !status.status().contains(pcsc::Status::PRESENT) => return true,
                Ok(_) | Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        false
    }
}

impl CardTransport for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = self
            .card
            .transmit(apdu, &mut self.receive)
            .map(<[u8]>::to_vec);
        match result {
            Ok(response) if response.len() >= 2 => Ok(response),
            Ok(response) => {
                let len = response.len();
                if self.card_gone() {
                    Err(transport_error(&self.reader, PcscLibError::RemovedCard))
                } else {
                    Err(TransportError::other(format!(
                        "reader {:?} returned a {len}-byte response without status word",
                        self.reader
                    )))
                }
            }
            Err(PcscLibError::ResetCard) => {
                // Someone reset the card: reacquire the handle so the next read can start
                // over, but fail this exchange (the chip's session keys are gone).
                let reconnected = self.reconnect().is_ok();
                let mut error = transport_error(&self.reader, PcscLibError::ResetCard);
                if reconnected {
                    error
                        .message
                        .push_str("; reconnected, start the read again");
                }
                Err(error)
            }
            Err(e @ (PcscLibError::RemovedCard | PcscLibError::NoSmartcard)) => {
                Err(transport_error(&self.reader, e))
            }
            Err(e) if self.card_gone() => {
                let mut error = transport_error(&self.reader, PcscLibError::RemovedCard);
                error.message.push_str(&format!(" ({e})"));
                Err(error)
            }
            Err(e) => Err(transport_error(&self.reader, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selects_exact_then_unique_substring() {
        let readers = names(&[
            "Virtual PCD 00 00",
            "Virtual PCD 00 01",
            "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 00",
        ]);
        assert_eq!(
            select_reader(&readers, "Virtual PCD 00 01").unwrap(),
            "Virtual PCD 00 01"
        );
        assert_eq!(
            select_reader(&readers, "acr1252").unwrap(),
            "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 00"
        );
        // Slots of one device: the first; a dual reader: its contactless interface.
        assert_eq!(
            select_reader(&readers, "Virtual PCD").unwrap(),
            "Virtual PCD 00 00"
        );
        let dual = names(&[
            "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader SAM] 00 01",
            "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 00",
        ]);
        assert_eq!(
            select_reader(&dual, "ACS ACR1252").unwrap(),
            "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 00"
        );
        // Two different devices: ambiguous.
        let two_devices = names(&[
            "Identiv uTrust 3700 F CL Reader 00 00",
            "Gemalto PC Twin Reader 00 00",
        ]);
        assert!(matches!(
            select_reader(&two_devices, "reader"),
            Err(PcscError::AmbiguousReader { matches, .. }) if matches.len() == 2
        ));
        assert!(matches!(
            select_reader(&readers, "Omnikey"),
            Err(PcscError::ReaderNotFound { .. })
        ));
        assert!(matches!(select_reader(&[], "x"), Err(PcscError::NoReaders)));
    }

    #[test]
    fn removal_and_reset_map_to_distinct_kinds() {
        assert_eq!(
            transport_error("r", PcscLibError::RemovedCard).kind,
            TransportErrorKind::CardRemoved
        );
        assert_eq!(
            transport_error("r", PcscLibError::ResetCard).kind,
            TransportErrorKind::CardReset
        );
        assert_eq!(
            transport_error("r", PcscLibError::ReaderUnavailable).kind,
            TransportErrorKind::ReaderUnavailable
        );
        assert!(matches!(
            PcscError::from_lib("x", "r", PcscLibError::RemovedCard),
            PcscError::CardRemoved { .. }
        ));
        assert!(matches!(
            PcscError::from_lib("x", "r", PcscLibError::NoService),
            PcscError::Service(_)
        ));
    }
}

//! Command and response APDUs (ISO/IEC 7816-4), short and extended length, status words
//! and the transport trait.

use std::fmt;

/// What went wrong below the APDU layer; callers branch on it (e.g. wait for the next card
/// after [`TransportErrorKind::CardRemoved`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportErrorKind {
    /// The card left the field (or the virtual card disconnected) during the exchange.
    CardRemoved,
    /// The card was reset by someone else; its session state (secure messaging) is gone.
    CardReset,
    /// The card did not answer in time.
    Timeout,
    /// The reader disappeared or the smart-card service stopped.
    ReaderUnavailable,
    /// Anything else.
    Other,
}

/// Errors of the transport below the APDU layer (reader gone, card removed, timeout...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("card transport failed: {message}")]
pub struct TransportError {
    /// The class of failure.
    pub kind: TransportErrorKind,
    /// What happened (no card data).
    pub message: String,
}

impl TransportError {
    /// An error of `kind`.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        TransportError {
            kind,
            message: message.into(),
        }
    }

    /// An error of kind [`TransportErrorKind::Other`].
    pub fn other(message: impl Into<String>) -> Self {
        TransportError::new(TransportErrorKind::Other, message)
    }

    /// True if the card was removed during the exchange.
    pub fn is_card_removed(&self) -> bool {
        self.kind == TransportErrorKind::CardRemoved
    }
}

/// The one thing a chip reader needs from a card connection: send a command APDU, get the
/// response APDU including SW1 SW2. Implemented by the PC/SC backend and by test doubles.
pub trait CardTransport {
    /// Sends `apdu` and returns the response, data followed by SW1 SW2.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: CardTransport + ?Sized> CardTransport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit(apdu)
    }
}

/// Errors while encoding or decoding APDUs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Command data longer than 65535 bytes, or Le of 0 or above 65536.
    #[error("APDU field out of range: data {data_len} bytes, Le {le:?}")]
    TooLong {
        /// Data length.
        data_len: usize,
        /// Expected response length.
        le: Option<usize>,
    },
    /// A command APDU whose length fields do not match its size.
    #[error("malformed command APDU of {len} bytes")]
    MalformedCommand {
        /// Total length.
        len: usize,
    },
    /// A response shorter than the two status bytes.
    #[error("response APDU of {len} bytes has no status word")]
    MissingStatus {
        /// Total length.
        len: usize,
    },
}

/// A command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandApdu {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (may be empty).
    pub data: Vec<u8>,
    /// Expected response length (`Some(256)` encodes as short `00`, `Some(65536)` as extended `0000`).
    pub le: Option<usize>,
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Data may hold personal or key material: show only its length.
        write!(
            f,
            "CommandApdu({:02X} {:02X} {:02X} {:02X}, {} data bytes, Le {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl CommandApdu {
    /// A command without data or Le.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// Sets the command data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets Le.
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// True if the APDU needs extended length fields.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|le| le > 256)
    }

    /// Encodes the APDU, in extended form when a field needs it.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        if self.data.len() > 65535 || self.le.is_some_and(|le| le > 65536 || le == 0) {
            return Err(ApduError::TooLong {
                data_len: self.data.len(),
                le: self.le,
            });
        }
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        let extended = self.is_extended();
        if extended {
            out.push(0);
            if !self.data.is_empty() {
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.extend_from_slice(&((le % 65536) as u16).to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push((le % 256) as u8);
            }
        }
        Ok(out)
    }

    /// Decodes a command APDU (ISO 7816-3 cases 1 to 4, short and extended).
    pub fn parse(bytes: &[u8]) -> Result<CommandApdu, ApduError> {
        let malformed = ApduError::MalformedCommand { len: bytes.len() };
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(malformed);
        };
        let mut apdu = CommandApdu::new(*cla, *ins, *p1, *p2);
        match body {
            [] => {}
            [le] => apdu.le = Some(if *le == 0 { 256 } else { usize::from(*le) }),
            [0, rest @ ..] if rest.len() >= 2 => {
                let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let rest = &rest[2..];
                let ext_le = |b: &[u8]| {
                    let v = usize::from(u16::from_be_bytes([b[0], b[1]]));
                    if v == 0 { 65536 } else { v }
                };
                if rest.is_empty() {
                    apdu.le = Some(if n == 0 { 65536 } else { n });
                } else if n > 0 && rest.len() == n {
                    apdu.data = rest.to_vec();
                } else if n > 0 && rest.len() == n + 2 {
                    apdu.data = rest[..n].to_vec();
                    apdu.le = Some(ext_le(&rest[n..]));
                } else {
                    return Err(malformed);
                }
            }
            [lc, rest @ ..] => {
                let n = usize::from(*lc);
                if rest.len() == n {
                    apdu.data = rest.to_vec();
                } else if rest.len() == n + 1 {
                    apdu.data = rest[..n].to_vec();
                    let le = rest[n];
                    apdu.le = Some(if le == 0 { 256 } else { usize::from(le) });
                } else {
                    return Err(malformed);
                }
            }
        }
        Ok(apdu)
    }
}

/// A status word SW1 SW2.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.meaning())
    }
}

impl StatusWord {
    /// 9000.
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    /// 6282: end of file reached before reading Le bytes.
    pub const END_OF_FILE: StatusWord = StatusWord(0x6282);
    /// 6A82: file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// 6982: security status not satisfied.
    pub const SECURITY_STATUS_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// 6987: expected secure messaging data objects missing.
    pub const SM_OBJECTS_MISSING: StatusWord = StatusWord(0x6987);
    /// 6988: secure messaging data objects incorrect.
    pub const SM_OBJECTS_INCORRECT: StatusWord = StatusWord(0x6988);
    /// 6300: authentication failed.
    pub const AUTHENTICATION_FAILED: StatusWord = StatusWord(0x6300);
    /// 6B00: wrong parameters P1-P2 (offset beyond end of file).
    pub const WRONG_PARAMETERS: StatusWord = StatusWord(0x6B00);
    /// 6D00: instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);

    /// From SW1 and SW2.
    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    /// True for 9000 (and 61XX, more data available).
    pub fn is_success(self) -> bool {
        self.0 == 0x9000 || self.0 >> 8 == 0x61
    }

    /// SW1 SW2 as bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// A short English meaning.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x9000 => "success",
            0x6282 => "end of file reached before Le bytes",
            0x6300 => "authentication failed",
            0x6700 => "wrong length",
            0x6982 => "security status not satisfied",
            0x6983 => "authentication method blocked",
            0x6985 => "conditions of use not satisfied",
            0x6987 => "expected secure messaging objects missing",
            0x6988 => "secure messaging objects incorrect",
            0x6A80 => "incorrect data",
            0x6A82 => "file not found",
            0x6A86 => "incorrect P1-P2",
            0x6A88 => "referenced data not found",
            0x6B00 => "wrong parameters (offset outside file)",
            0x6D00 => "instruction not supported",
            0x6E00 => "class not supported",
            sw if sw >> 8 == 0x61 => "more data available",
            sw if sw >> 8 == 0x6C => "wrong Le",
            _ => "unknown status",
        }
    }
}

/// A response APDU split into data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseApdu {
    /// Response data.
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl fmt::Debug for ResponseApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResponseApdu({} data bytes, SW {:?})",
            self.data.len(),
            self.sw
        )
    }
}

impl ResponseApdu {
    /// Splits raw response bytes.
    pub fn parse(bytes: &[u8]) -> Result<ResponseApdu, ApduError> {
        match bytes {
            [data @ .., sw1, sw2] => Ok(ResponseApdu {
                data: data.to_vec(),
                sw: StatusWord::from_bytes(*sw1, *sw2),
            }),
            _ => Err(ApduError::MissingStatus { len: bytes.len() }),
        }
    }

    /// Encodes data followed by SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_extended_round_trip() {
        let cases = [
            CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x1E]),
            CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(256),
            CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4),
            CommandApdu::new(0x00, 0x86, 0x00, 0x00)
                .with_data(vec![0x7C, 0x00])
                .with_le(256),
            CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(65536),
            CommandApdu::new(0x0C, 0xB0, 0x00, 0x00)
                .with_data(vec![7; 300])
                .with_le(1000),
            CommandApdu::new(0x0C, 0xB0, 0x00, 0x00).with_data(vec![7; 300]),
            CommandApdu::new(0x00, 0x84, 0x00, 0x00),
        ];
        for apdu in cases {
            let bytes = apdu.to_bytes().unwrap();
            assert_eq!(CommandApdu::parse(&bytes).unwrap(), apdu, "{bytes:02X?}");
        }
        assert_eq!(
            CommandApdu::new(0x00, 0xB0, 0x00, 0x00)
                .with_le(65536)
                .to_bytes()
                .unwrap(),
            [0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]
        );
        assert!(CommandApdu::parse(&[0, 0xA4, 0, 0, 5, 1]).is_err());
        assert!(CommandApdu::parse(&[0, 0xA4, 0]).is_err());
    }

    #[test]
    fn response_split() {
        let r = ResponseApdu::parse(&[1, 2, 0x62, 0x82]).unwrap();
        assert_eq!(r.sw, StatusWord::END_OF_FILE);
        assert_eq!(r.data, [1, 2]);
        assert!(ResponseApdu::parse(&[0x90]).is_err());
        assert_eq!(
            format!("{}", StatusWord::FILE_NOT_FOUND),
            "6A82 (file not found)"
        );
    }
}

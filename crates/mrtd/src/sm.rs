//! Secure messaging (ICAO 9303 Part 11, 9.8) for 3DES and AES sessions: command wrapping
//! (DO87/DO85, DO97, DO8E), response unwrapping with the MAC checked on every response
//! (DO87/DO85, DO99, DO8E), send sequence counter handling and extended length.
//!
//! Both sides are provided: [`SecureMessaging::wrap_command`] /
//! [`SecureMessaging::unwrap_response`] for the terminal, and
//! [`SecureMessaging::unwrap_command`] / [`SecureMessaging::wrap_response`] for a chip
//! implementation (test doubles, the virtual ePassport).

use std::fmt;

use crate::apdu::{ApduError, CommandApdu, ResponseApdu, StatusWord};
use crate::crypto::{self, CipherSuite, CryptoError, SessionKeys};
use crate::tlv::{self, TlvError};

/// Errors of secure messaging. Any error ends the session: the caller must not reuse it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmError {
    /// A cipher or padding failure.
    #[error("secure messaging crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// An APDU that cannot be encoded or decoded.
    #[error("secure messaging APDU: {0}")]
    Apdu(#[from] ApduError),
    /// Malformed secure messaging data objects.
    #[error("secure messaging data objects: {0}")]
    Tlv(#[from] TlvError),
    /// The chip answered without any secure messaging objects (typically an error such as
    /// 6987/6988, after which the chip has dropped the session).
    #[error("unprotected response with status {sw}")]
    Unprotected {
        /// Status word of the plain response.
        sw: StatusWord,
    },
    /// No DO8E (cryptographic checksum) in the message.
    #[error("secure messaging MAC (DO8E) missing")]
    MissingMac,
    /// The MAC does not verify.
    #[error("secure messaging MAC mismatch")]
    MacMismatch,
    /// No DO99 (processing status) in a response.
    #[error("secure messaging status (DO99) missing")]
    MissingStatus,
    /// A data object that is not allowed here, or a bad padding-content indicator.
    #[error("unexpected secure messaging object 0x{tag:X}")]
    UnexpectedObject {
        /// The tag.
        tag: u32,
    },
    /// A command without the SM class bits (chip side).
    #[error("command class 0x{cla:02X} does not indicate secure messaging")]
    NotProtected {
        /// Class byte.
        cla: u8,
    },
}

/// A secure messaging session: keys and send sequence counter.
pub struct SecureMessaging {
    keys: SessionKeys,
    ssc: Vec<u8>,
}

impl fmt::Debug for SecureMessaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecureMessaging({:?})", self.keys.cipher)
    }
}

impl SecureMessaging {
    /// Starts a session with the given keys and initial send sequence counter (BAC: 8 bytes
    /// from the nonces; PACE: zero of the block length). A counter of the wrong length is
    /// left-padded with zeros or truncated to its last block-length bytes.
    pub fn new(keys: SessionKeys, ssc: &[u8]) -> SecureMessaging {
        let len = keys.cipher.block_len();
        let mut counter = vec![0u8; len];
        let take = ssc.len().min(len);
        counter[len - take..].copy_from_slice(&ssc[ssc.len() - take..]);
        SecureMessaging { keys, ssc: counter }
    }

    /// The cipher of this session.
    pub fn cipher(&self) -> CipherSuite {
        self.keys.cipher
    }

    /// Current send sequence counter (for tests and diagnostics).
    pub fn ssc(&self) -> &[u8] {
        &self.ssc
    }

    fn increment(&mut self) {
        for b in self.ssc.iter_mut().rev() {
            let (v, overflow) = b.overflowing_add(1);
            *b = v;
            if !overflow {
                break;
            }
        }
    }

    fn iv(&self) -> Result<Vec<u8>, CryptoError> {
        match self.keys.cipher {
            CipherSuite::Tdes => Ok(vec![0; 8]),
            c => crypto::encrypt_block(c, &self.keys.enc, &self.ssc),
        }
    }

    fn compute_mac(&self, header: Option<&[u8]>, objects: &[u8]) -> Result<[u8; 8], CryptoError> {
        let bl = self.keys.cipher.block_len();
        let mut input = self.ssc.clone();
        if let Some(h) = header {
            input.extend_from_slice(&crypto::pad(h, bl));
        }
        if !objects.is_empty() {
            input.extend_from_slice(&crypto::pad(objects, bl));
        }
        crypto::mac(self.keys.cipher, &self.keys.mac, &input)
    }

    fn encrypt_object(&self, odd_ins: bool, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cryptogram = crypto::cbc_encrypt(
            self.keys.cipher,
            &self.keys.enc,
            &self.iv()?,
            &crypto::pad(data, self.keys.cipher.block_len()),
        )?;
        Ok(if odd_ins {
            tlv::encode(0x85, &cryptogram)
        } else {
            let mut value = vec![0x01];
            value.extend_from_slice(&cryptogram);
            tlv::encode(0x87, &value)
        })
    }

    fn decrypt_object(&self, tag: u32, value: &[u8]) -> Result<Vec<u8>, SmError> {
        let cryptogram = match (tag, value) {
            (0x87, [0x01, rest @ ..]) => rest,
            (0x85, _) => value,
            _ => return Err(SmError::UnexpectedObject { tag }),
        };
        let plain = crypto::cbc_decrypt(self.keys.cipher, &self.keys.enc, &self.iv()?, cryptogram)?;
        Ok(crypto::unpad(&plain)?.to_vec())
    }

    /// Terminal side: protects a command APDU (increments the counter).
    pub fn wrap_command(&mut self, apdu: &CommandApdu) -> Result<Vec<u8>, SmError> {
        self.increment();
        let header = [apdu.cla | 0x0C, apdu.ins, apdu.p1, apdu.p2];
        let mut objects = Vec::new();
        if !apdu.data.is_empty() {
            objects.extend(self.encrypt_object(apdu.ins & 1 == 1, &apdu.data)?);
        }
        let extended_le = apdu.le.is_some_and(|le| le > 256);
        if let Some(le) = apdu.le {
            if extended_le {
                objects.extend(tlv::encode(0x97, &((le % 65536) as u16).to_be_bytes()));
            } else {
                objects.push(0x97);
                objects.push(1);
                objects.push((le % 256) as u8);
            }
        }
        let mac = self.compute_mac(Some(&header), &objects)?;
        objects.extend(tlv::encode(0x8E, &mac));
        let extended = extended_le || objects.len() > 255 || apdu.is_extended();
        let wrapped = CommandApdu {
            cla: header[0],
            ins: apdu.ins,
            p1: apdu.p1,
            p2: apdu.p2,
            data: objects,
            le: Some(if extended { 65536 } else { 256 }),
        };
        Ok(wrapped.to_bytes()?)
    }

    /// Terminal side: verifies and decrypts a protected response (increments the counter).
    /// The returned status word is the MAC-protected one from DO99.
    pub fn unwrap_response(&mut self, response: &[u8]) -> Result<ResponseApdu, SmError> {
        let outer = ResponseApdu::parse(response)?;
        self.increment();
        if outer.data.is_empty() {
            return Err(SmError::Unprotected { sw: outer.sw });
        }
        let mut covered = Vec::new();
        let mut cryptogram = None;
        let mut status = None;
        let mut mac = None;
        for obj in tlv::parse_all(&outer.data)? {
            match obj.tag {
                0x8E => mac = Some(obj.value),
                _ if mac.is_some() => return Err(SmError::UnexpectedObject { tag: obj.tag }),
                0x87 | 0x85 => {
                    cryptogram = Some((obj.tag, obj.value));
                    covered.extend_from_slice(obj.raw);
                }
                0x99 => {
                    status = Some(obj.value);
                    covered.extend_from_slice(obj.raw);
                }
                tag => return Err(SmError::UnexpectedObject { tag }),
            }
        }
        let mac = mac.ok_or(SmError::MissingMac)?;
        let expected = self.compute_mac(None, &covered)?;
        if !crypto::mac_eq(mac, &expected) {
            return Err(SmError::MacMismatch);
        }
        let sw = match status {
            Some([sw1, sw2]) => StatusWord::from_bytes(*sw1, *sw2),
            Some(_) => return Err(SmError::UnexpectedObject { tag: 0x99 }),
            None => return Err(SmError::MissingStatus),
        };
        let data = match cryptogram {
            Some((tag, value)) => self.decrypt_object(tag, value)?,
            None => Vec::new(),
        };
        Ok(ResponseApdu { data, sw })
    }

    /// Chip side: verifies and decrypts a protected command (increments the counter).
    pub fn unwrap_command(&mut self, wrapped: &[u8]) -> Result<CommandApdu, SmError> {
        let outer = CommandApdu::parse(wrapped)?;
        if outer.cla & 0x0C != 0x0C {
            return Err(SmError::NotProtected { cla: outer.cla });
        }
        self.increment();
        let header = [outer.cla, outer.ins, outer.p1, outer.p2];
        let mut covered = Vec::new();
        let mut cryptogram = None;
        let mut le = None;
        let mut mac = None;
        for obj in tlv::parse_all(&outer.data)? {
            match obj.tag {
                0x8E => mac = Some(obj.value),
                _ if mac.is_some() => return Err(SmError::UnexpectedObject { tag: obj.tag }),
                0x87 | 0x85 => {
                    cryptogram = Some((obj.tag, obj.value));
                    covered.extend_from_slice(obj.raw);
                }
                0x97 => {
                    le = Some(match obj.value {
                        [0] => 256,
                        [b] => usize::from(*b),
                        [0, 0] => 65536,
                        [hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])),
                        _ => return Err(SmError::UnexpectedObject { tag: 0x97 }),
                    });
                    covered.extend_from_slice(obj.raw);
                }
                tag => return Err(SmError::UnexpectedObject { tag }),
            }
        }
        let mac = mac.ok_or(SmError::MissingMac)?;
        let expected = self.compute_mac(Some(&header), &covered)?;
        if !crypto::mac_eq(mac, &expected) {
            return Err(SmError::MacMismatch);
        }
        let data = match cryptogram {
            Some((tag, value)) => self.decrypt_object(tag, value)?,
            None => Vec::new(),
        };
        Ok(CommandApdu {
            cla: outer.cla & !0x0C,
            ins: outer.ins,
            p1: outer.p1,
            p2: outer.p2,
            data,
            le,
        })
    }

    /// Chip side: protects a response (increments the counter). `odd_ins` selects DO85
    /// instead of DO87 for the data.
    pub fn wrap_response(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        odd_ins: bool,
    ) -> Result<Vec<u8>, SmError> {
        self.increment();
        let mut objects = Vec::new();
        if !data.is_empty() {
            objects.extend(self.encrypt_object(odd_ins, data)?);
        }
        objects.extend(tlv::encode(0x99, &sw.to_bytes()));
        let mac = self.compute_mac(None, &objects)?;
        objects.extend(tlv::encode(0x8E, &mac));
        objects.extend_from_slice(&sw.to_bytes());
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn appendix_d_session() -> SecureMessaging {
        let keys = SessionKeys {
            cipher: CipherSuite::Tdes,
            enc: h("979EC13B1CBFE9DCD01AB0FED307EAE5"),
            mac: h("F1CB1F1FB5ADF208806B89DC579DC1F8"),
        };
        SecureMessaging::new(keys, &h("887022120C06C226"))
    }

    #[test]
    fn reproduces_appendix_d4_apdus() {
        let mut sm = appendix_d_session();
        let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(h("011E"));
        assert_eq!(
            sm.wrap_command(&select).unwrap(),
            h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
        );
        let r = sm
            .unwrap_response(&h("990290008E08FA855A5D4C50A8ED9000"))
            .unwrap();
        assert_eq!(r.sw, StatusWord::SUCCESS);
        assert!(r.data.is_empty());

        let read = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4);
        assert_eq!(
            sm.wrap_command(&read).unwrap(),
            h("0CB000000D9701048E08ED6705417E96BA5500")
        );
        let r = sm
            .unwrap_response(&h("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
            .unwrap();
        assert_eq!(r.data, h("60145F01"));

        let read = CommandApdu::new(0x00, 0xB0, 0x00, 0x04).with_le(0x12);
        assert_eq!(
            sm.wrap_command(&read).unwrap(),
            h("0CB000040D9701128E082EA28A70F3C7B53500")
        );
        let r = sm
            .unwrap_response(&h(
                "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
            ))
            .unwrap();
        assert_eq!(r.data, h("04303130365F36063034303030305C026175"));
    }

    #[test]
    fn chip_side_reproduces_appendix_d4_and_round_trips() {
        let mut terminal = appendix_d_session();
        let mut chip = appendix_d_session();
        let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(h("011E"));
        let wrapped = terminal.wrap_command(&select).unwrap();
        assert_eq!(chip.unwrap_command(&wrapped).unwrap(), select);
        let resp = chip.wrap_response(&[], StatusWord::SUCCESS, false).unwrap();
        assert_eq!(resp, h("990290008E08FA855A5D4C50A8ED9000"));
        terminal.unwrap_response(&resp).unwrap();
    }

    #[test]
    fn aes_extended_length_round_trip() {
        for cipher in [
            CipherSuite::Aes128,
            CipherSuite::Aes192,
            CipherSuite::Aes256,
        ] {
            let keys = SessionKeys::derive(b"shared secret", cipher);
            let mut terminal = SecureMessaging::new(keys.clone(), &[]);
            let mut chip = SecureMessaging::new(keys, &[]);
            let read = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4000);
            let wrapped = terminal.wrap_command(&read).unwrap();
            assert_eq!(&wrapped[4..5], &[0], "extended form");
            assert_eq!(chip.unwrap_command(&wrapped).unwrap(), read);
            let data = vec![0x5A; 4000];
            let resp = chip
                .wrap_response(&data, StatusWord::END_OF_FILE, false)
                .unwrap();
            let r = terminal.unwrap_response(&resp).unwrap();
            assert_eq!(r.data, data);
            assert_eq!(r.sw, StatusWord::END_OF_FILE);
            assert_eq!(terminal.ssc(), chip.ssc());
            assert_eq!(terminal.ssc().len(), 16);
        }
    }

    #[test]
    fn tampered_or_unprotected_responses_are_rejected() {
        let mut terminal = appendix_d_session();
        let mut chip = appendix_d_session();
        let read = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4);
        chip.unwrap_command(&terminal.wrap_command(&read).unwrap())
            .unwrap();
        let mut resp = chip
            .wrap_response(&[1, 2, 3, 4], StatusWord::SUCCESS, false)
            .unwrap();
        resp[5] ^= 1;
        assert_eq!(terminal.unwrap_response(&resp), Err(SmError::MacMismatch));
        let mut t = appendix_d_session();
        assert_eq!(
            t.unwrap_response(&h("6988")),
            Err(SmError::Unprotected {
                sw: StatusWord::SM_OBJECTS_INCORRECT
            })
        );
        assert_eq!(
            t.unwrap_response(&h("990290009000")),
            Err(SmError::MissingMac)
        );
        assert!(matches!(
            t.unwrap_response(&h("87FF9000")),
            Err(SmError::Tlv(_))
        ));
        assert!(matches!(t.unwrap_response(&h("90")), Err(SmError::Apdu(_))));
        // Replay: the same response twice fails because the counter moved on.
        let mut terminal = appendix_d_session();
        let mut chip = appendix_d_session();
        chip.unwrap_command(&terminal.wrap_command(&read).unwrap())
            .unwrap();
        let resp = chip
            .wrap_response(&[1], StatusWord::SUCCESS, false)
            .unwrap();
        terminal.unwrap_response(&resp).unwrap();
        terminal.wrap_command(&read).unwrap();
        assert_eq!(terminal.unwrap_response(&resp), Err(SmError::MacMismatch));
    }
}

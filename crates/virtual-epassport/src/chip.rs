//! The chip side: ISO 7816-4 / ICAO 9303 command processing for a [`Document`] (SELECT,
//! READ BINARY by SFI / offset / odd INS, GET CHALLENGE + EXTERNAL AUTHENTICATE for BAC,
//! MSE:Set AT + GENERAL AUTHENTICATE for PACE (DH/ECDH, Generic, Integrated or Chip
//! Authentication Mapping), secure messaging, Chip Authentication (MSE:Set KAT, or MSE:Set AT +
//! GENERAL AUTHENTICATE), INTERNAL AUTHENTICATE), with switches that make it misbehave the way
//! real chips and real travellers do.

use std::sync::Arc;
use std::time::Duration;

use mrtd::apdu::{CommandApdu, StatusWord};
use mrtd::bac::{self, BacKeys};
use mrtd::crypto;
use mrtd::lds::FileId;
use mrtd::pace::{PaceChip, PacePassword};
use mrtd::reader::EMRTD_AID;
use mrtd::security_info::{self, PaceInfo};
use mrtd::sm::SecureMessaging;
use mrtd::tlv;

use crate::document::Document;

/// Misbehaviour switches (all off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Corrupt the MAC of every protected response after this many good ones.
    pub wrong_mac_after: Option<usize>,
    /// Serve DG2 cut to half its length while its TLV header keeps the full length.
    pub truncated_tlv: bool,
    /// Answer 6282 (end of file) when a read asks for more bytes than remain, instead of
    /// returning the short block with 9000.
    pub end_of_file_6282: bool,
    /// Wait this long before answering each APDU (a slow chip or a weak field).
    pub apdu_delay: Duration,
    /// Leave the field (drop the vpcd connection) when this APDU arrives (1-based count since
    /// power-on), without answering it.
    pub pull_at_apdu: Option<usize>,
    /// Do not announce extended length in the ATR, and refuse extended APDUs with 6700.
    pub no_extended_length: bool,
    /// Corrupt the MAC of this one protected response only (1-based, counted over the card's
    /// whole life, across power-ons): a transient secure-messaging error that a second read
    /// does not meet.
    pub wrong_mac_once_at: Option<usize>,
    /// Answer 6A82 (file not found) to READ BINARY by short file identifier, as some chips and
    /// emulators do: their files are read after SELECT by file identifier only.
    pub no_short_file_ids: bool,
}

/// What the chip does with one APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChipAction {
    /// Send this response (data and SW1 SW2).
    Respond(Vec<u8>),
    /// The card leaves the field: answer nothing, drop the connection.
    Pull,
}

/// A virtual eMRTD chip serving one document.
pub struct VirtualChip {
    document: Arc<Document>,
    /// The misbehaviour switches.
    pub misbehaviour: Misbehaviour,
    bac_keys: BacKeys,
    pace_infos: Vec<PaceInfo>,
    pace: Option<PaceChip>,
    sm: Option<SecureMessaging>,
    /// Chip Authentication: the session the chip switches to after its answer to the key
    /// agreement command went out under the old one.
    sm_after_response: Option<SecureMessaging>,
    rnd_ic: Option<[u8; 8]>,
    app_selected: bool,
    current: Option<FileId>,
    protected_responses: usize,
    protected_responses_ever: usize,
    apdus_since_power_on: usize,
    total_apdus: usize,
}

impl std::fmt::Debug for VirtualChip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualChip")
            .field("document", &self.document)
            .field("misbehaviour", &self.misbehaviour)
            .field("secure_messaging", &self.sm.is_some())
            .finish_non_exhaustive()
    }
}

fn sw(sw: StatusWord) -> (Vec<u8>, StatusWord) {
    (Vec::new(), sw)
}

impl VirtualChip {
    /// A chip for `document`.
    pub fn new(document: Arc<Document>, misbehaviour: Misbehaviour) -> VirtualChip {
        let pace_infos = document
            .files
            .get(&FileId::CardAccess)
            .and_then(|ca| security_info::parse_security_infos(ca).ok())
            .map(|infos| security_info::pace_infos(&infos))
            .unwrap_or_default();
        VirtualChip {
            bac_keys: BacKeys::from_mrz(&document.mrz_information),
            document,
            misbehaviour,
            pace_infos,
            pace: None,
            sm: None,
            sm_after_response: None,
            rnd_ic: None,
            app_selected: false,
            current: None,
            protected_responses: 0,
            protected_responses_ever: 0,
            apdus_since_power_on: 0,
            total_apdus: 0,
        }
    }

    /// The document served.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// APDUs received since the chip was created.
    pub fn total_apdus(&self) -> usize {
        self.total_apdus
    }

    /// Power-on / reset: forgets the session, the selection and the access rights.
    pub fn reset(&mut self) {
        self.pace = None;
        self.sm = None;
        self.sm_after_response = None;
        self.rnd_ic = None;
        self.app_selected = false;
        self.current = None;
        self.protected_responses = 0;
        self.apdus_since_power_on = 0;
    }

    /// The ATR: T=0 and T=1 offered, historical bytes with the card capabilities (extended
    /// Lc/Le unless switched off).
    pub fn atr(&self) -> Vec<u8> {
        let capabilities = if self.misbehaviour.no_extended_length {
            0x80
        } else {
            0xC0
        };
        let historical = [0x80, 0x73, 0xC0, 0x21, capabilities];
        let mut atr = vec![0x3B, 0x80 | historical.len() as u8, 0x80, 0x01];
        atr.extend_from_slice(&historical);
        let check = atr[1..].iter().fold(0u8, |acc, b| acc ^ b);
        atr.push(check);
        atr
    }

    fn file_content(&self, file: FileId) -> Option<&[u8]> {
        let content = self.document.files.get(&file)?;
        if self.misbehaviour.truncated_tlv && file == FileId::DataGroup(2) {
            return content.get(..content.len() / 2);
        }
        Some(content)
    }

    fn visible(&self, file: FileId) -> bool {
        file.in_master_file() != self.app_selected
    }

    fn find_file(&self, matches: impl Fn(FileId) -> bool) -> Option<FileId> {
        self.document
            .files
            .keys()
            .copied()
            .find(|&f| self.visible(f) && matches(f))
    }

    fn readable(&self, file: FileId) -> bool {
        file == FileId::CardAccess || self.sm.is_some()
    }

    fn read(&self, file: FileId, offset: usize, le: usize) -> (Vec<u8>, StatusWord) {
        let Some(content) = self.file_content(file) else {
            return sw(StatusWord::FILE_NOT_FOUND);
        };
        if offset > content.len() {
            return sw(StatusWord::WRONG_PARAMETERS);
        }
        let end = offset.saturating_add(le).min(content.len());
        let status = if offset + le > content.len() && self.misbehaviour.end_of_file_6282 {
            StatusWord::END_OF_FILE
        } else {
            StatusWord::SUCCESS
        };
        (content[offset..end].to_vec(), status)
    }

    /// Processes a plain (or unwrapped) command.
    fn process(&mut self, cmd: &CommandApdu) -> (Vec<u8>, StatusWord) {
        let le = cmd.le.unwrap_or(0);
        match (cmd.ins, cmd.p1, cmd.p2) {
            (0xA4, 0x04, _) => {
                if cmd.data == EMRTD_AID {
                    self.app_selected = true;
                    self.current = None;
                    sw(StatusWord::SUCCESS)
                } else {
                    sw(StatusWord::FILE_NOT_FOUND)
                }
            }
            (0xA4, 0x00, _) if cmd.data.is_empty() || cmd.data == [0x3F, 0x00] => {
                self.app_selected = false;
                self.current = None;
                sw(StatusWord::SUCCESS)
            }
            (0xA4, 0x02, _) => {
                let [hi, lo] = cmd.data[..] else {
                    return sw(StatusWord(0x6700));
                };
                let fid = u16::from_be_bytes([hi, lo]);
                match self.find_file(|f| f.fid() == fid) {
                    Some(f) if self.readable(f) => {
                        self.current = Some(f);
                        sw(StatusWord::SUCCESS)
                    }
                    Some(_) => sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
                    None => sw(StatusWord::FILE_NOT_FOUND),
                }
            }
            // INTERNAL AUTHENTICATE (Active Authentication): sign the terminal's challenge.
            (0x88, 0x00, 0x00) if self.sm.is_some() => {
                match &self.document.active_authentication_key {
                    Some(key) if cmd.data.len() == 8 => (key.sign(&cmd.data), StatusWord::SUCCESS),
                    Some(_) => sw(StatusWord(0x6700)),
                    None => sw(StatusWord::INS_NOT_SUPPORTED),
                }
            }
            (0xB0, p1, _) if p1 & 0x80 != 0 && self.misbehaviour.no_short_file_ids => {
                sw(StatusWord::FILE_NOT_FOUND)
            }
            (0xB0, p1, p2) if p1 & 0x80 != 0 => match self.find_file(|f| f.sfi() == p1 & 0x1F) {
                Some(f) if self.readable(f) => {
                    self.current = Some(f);
                    self.read(f, usize::from(p2), le)
                }
                Some(_) => sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED),
                None => sw(StatusWord::FILE_NOT_FOUND),
            },
            (0xB0, p1, p2) => match self.current {
                Some(f) if self.readable(f) => {
                    self.read(f, usize::from(u16::from_be_bytes([p1, p2])), le)
                }
                _ => sw(StatusWord(0x6986)),
            },
            (0xB1, _, _) => {
                let offset = match tlv::parse_one(&cmd.data) {
                    Ok((object, _)) if object.tag == 0x54 && object.value.len() <= 4 => object
                        .value
                        .iter()
                        .fold(0usize, |a, &b| (a << 8) | usize::from(b)),
                    _ => return sw(StatusWord(0x6A80)),
                };
                match self.current {
                    Some(f) if self.readable(f) => {
                        // Le covers the 53 wrapper (up to 4 header bytes).
                        let (data, status) = self.read(f, offset, le.saturating_sub(4));
                        (tlv::encode(0x53, &data), status)
                    }
                    _ => sw(StatusWord(0x6986)),
                }
            }
            (0x84, _, _) if self.document.bac => {
                let mut rnd = [0u8; 8];
                if crypto::random_bytes(&mut rnd).is_err() {
                    return sw(StatusWord(0x6F00));
                }
                self.rnd_ic = Some(rnd);
                (rnd.to_vec(), StatusWord::SUCCESS)
            }
            (0x82, _, _) if self.document.bac => {
                let Some(rnd_ic) = self.rnd_ic.take() else {
                    return sw(StatusWord(0x6985));
                };
                let mut k_ic = [0u8; 16];
                if crypto::random_bytes(&mut k_ic).is_err() {
                    return sw(StatusWord(0x6F00));
                }
                match bac::chip_authenticate(&self.bac_keys, &rnd_ic, &k_ic, &cmd.data) {
                    Ok((response, sm)) => {
                        self.sm = Some(sm);
                        (response.to_vec(), StatusWord::SUCCESS)
                    }
                    Err(_) => sw(StatusWord::AUTHENTICATION_FAILED),
                }
            }
            (0x22, 0xC1, 0xA4) => self.mse_set_at(&cmd.data),
            // Chip Authentication (under secure messaging): MSE:Set AT selects the AES
            // protocol, its General Authenticate or MSE:Set KAT (3DES) carries the terminal's
            // ephemeral key.
            (0x22, 0x41, 0xA4) if self.sm.is_some() && self.pace.is_none() => {
                match &self.document.chip_authentication_key {
                    Some(_) => sw(StatusWord::SUCCESS),
                    None => sw(StatusWord(0x6A80)),
                }
            }
            (0x22, 0x41, 0xA6) if self.sm.is_some() => self.chip_authentication(&cmd.data, true),
            (0x86, _, _) if self.sm.is_some() && self.pace.is_none() => {
                self.chip_authentication(&cmd.data, false)
            }
            (0x86, _, _) => {
                let Some(pace) = self.pace.as_mut() else {
                    return sw(StatusWord(0x6985));
                };
                match pace.general_authenticate(&cmd.data) {
                    Ok((response, session)) => {
                        if let Some(session) = session {
                            self.sm = Some(session);
                            self.pace = None;
                        }
                        (response, StatusWord::SUCCESS)
                    }
                    Err(_) => {
                        self.pace = None;
                        sw(StatusWord::AUTHENTICATION_FAILED)
                    }
                }
            }
            _ => sw(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    /// Chip Authentication's key agreement with the document's key: the new session is kept
    /// for after this response (sent under the current one). `kat`: MSE:Set KAT (3DES).
    fn chip_authentication(&mut self, data: &[u8], kat: bool) -> (Vec<u8>, StatusWord) {
        use mrtd::authenticity::chip as ca;
        use mrtd::authenticity::chip::ChipAuthError;
        let Some((key, cipher)) = &self.document.chip_authentication_key else {
            return sw(StatusWord::INS_NOT_SUPPORTED);
        };
        if kat != (*cipher == mrtd::crypto::CipherSuite::Tdes) {
            return sw(StatusWord(0x6985));
        }
        let Some(terminal_key) = ca::terminal_key_from_command(data) else {
            return sw(StatusWord(0x6A80));
        };
        let invalid = |e: &dyn std::fmt::Display| ChipAuthError::KeyInvalid(e.to_string());
        let session = match key {
            crate::document::ChipAuthenticationKey::Ec {
                parameter_id,
                private,
            } => mrtd::authenticity::curves::named_by_standard_id(*parameter_id)
                .ok_or_else(|| invalid(&"curve"))
                .and_then(|named| {
                    mrtd::crypto::ecc::EcCurve::new(named.curve).map_err(|e| invalid(&e))
                })
                .and_then(|curve| {
                    let secret = curve.scalar_from_bytes(private).map_err(|e| invalid(&e))?;
                    ca::session_after_key_agreement(&curve, &secret, &terminal_key, *cipher)
                }),
            crate::document::ChipAuthenticationKey::Dh { p, g, q, private } => {
                mrtd::crypto::dh::DhGroup::new(p, g, Some(q))
                    .map_err(|e| invalid(&e))
                    .and_then(|group| {
                        let secret = group.secret_from_bytes(private).map_err(|e| invalid(&e))?;
                        ca::dh_session_after_key_agreement(&group, &secret, &terminal_key, *cipher)
                    })
            }
        };
        match session {
            Ok(session) => {
                self.sm_after_response = Some(session);
                let data = if kat { Vec::new() } else { vec![0x7C, 0x00] };
                (data, StatusWord::SUCCESS)
            }
            Err(_) => sw(StatusWord(0x6A80)),
        }
    }

    fn mse_set_at(&mut self, data: &[u8]) -> (Vec<u8>, StatusWord) {
        let Ok(objects) = tlv::parse_all(data) else {
            return sw(StatusWord(0x6A80));
        };
        let value = |tag| objects.iter().find(|o| o.tag == tag).map(|o| o.value);
        let (Some(protocol), Some(&[reference])) = (value(0x80), value(0x83)) else {
            return sw(StatusWord(0x6A80));
        };
        let Some(info) = self.pace_infos.iter().find(|i| i.protocol.0 == protocol) else {
            return sw(StatusWord(0x6A80));
        };
        let password = match (reference, &self.document.can) {
            (1, _) => PacePassword::Mrz(self.document.mrz_information.clone()),
            (2, Some(can)) => PacePassword::Can(can.clone()),
            _ => return sw(StatusWord(0x6A88)),
        };
        match PaceChip::new(info, &password) {
            Ok(mut chip) => {
                if let Some(key) = &self.document.chip_private_key {
                    chip = chip.with_chip_key(key);
                }
                self.sm = None;
                self.pace = Some(chip);
                sw(StatusWord::SUCCESS)
            }
            Err(_) => sw(StatusWord(0x6A80)),
        }
    }

    /// Handles one command APDU as received from the reader.
    pub fn handle_apdu(&mut self, apdu: &[u8]) -> ChipAction {
        self.total_apdus += 1;
        self.apdus_since_power_on += 1;
        if self
            .misbehaviour
            .pull_at_apdu
            .is_some_and(|n| self.apdus_since_power_on >= n)
        {
            return ChipAction::Pull;
        }
        if !self.misbehaviour.apdu_delay.is_zero() {
            std::thread::sleep(self.misbehaviour.apdu_delay);
        }
        ChipAction::Respond(self.respond(apdu))
    }

    fn respond(&mut self, apdu: &[u8]) -> Vec<u8> {
        let extended_on_wire = apdu.len() > 5 && apdu[4] == 0;
        if extended_on_wire && self.misbehaviour.no_extended_length {
            return StatusWord(0x6700).to_bytes().to_vec();
        }
        let Ok(cmd) = CommandApdu::parse(apdu) else {
            return StatusWord(0x6700).to_bytes().to_vec();
        };
        if cmd.cla & 0x0C == 0x0C {
            let Some(sm) = self.sm.as_mut() else {
                return StatusWord::SM_OBJECTS_INCORRECT.to_bytes().to_vec();
            };
            let inner = match sm.unwrap_command(apdu) {
                Ok(inner) => inner,
                Err(_) => {
                    self.sm = None;
                    return StatusWord::SM_OBJECTS_INCORRECT.to_bytes().to_vec();
                }
            };
            let (data, status) = self.process(&inner);
            let Some(sm) = self.sm.as_mut() else {
                // The command ended the session (a new MSE:Set AT).
                return status.to_bytes().to_vec();
            };
            let Ok(mut response) = sm.wrap_response(&data, status, inner.ins & 1 == 1) else {
                self.sm = None;
                return StatusWord(0x6F00).to_bytes().to_vec();
            };
            if let Some(next) = self.sm_after_response.take() {
                self.sm = Some(next);
            }
            self.protected_responses += 1;
            self.protected_responses_ever += 1;
            let once = self.misbehaviour.wrong_mac_once_at == Some(self.protected_responses_ever);
            if (once
                || self
                    .misbehaviour
                    .wrong_mac_after
                    .is_some_and(|n| self.protected_responses > n))
                && response.len() >= 3
            {
                let len = response.len();
                response[len - 3] ^= 0x01; // last byte of the DO8E MAC
            }
            return response;
        }
        if self.sm.is_some() && !(cmd.ins == 0xA4 && cmd.p1 == 0x04) && cmd.ins != 0x22 {
            // A plain command after SM was established ends the session.
            self.sm = None;
            return StatusWord::SM_OBJECTS_MISSING.to_bytes().to_vec();
        }
        let (mut data, status) = self.process(&cmd);
        data.extend_from_slice(&status.to_bytes());
        data
    }
}

/// The chip as an in-process [`mrtd::apdu::CardTransport`] (no reader): for tests and
/// benchmarks of the chip logic. A pulled card gives a `CardRemoved` transport error.
impl mrtd::apdu::CardTransport for VirtualChip {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, mrtd::apdu::TransportError> {
        match self.handle_apdu(apdu) {
            ChipAction::Respond(response) => Ok(response),
            ChipAction::Pull => Err(mrtd::apdu::TransportError::new(
                mrtd::apdu::TransportErrorKind::CardRemoved,
                "virtual card pulled",
            )),
        }
    }
}

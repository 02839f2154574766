//! `TestDoubleChip`: an in-memory eMRTD chip for tests. It is a TEST DOUBLE, not a real
//! chip and not the virtual ePassport: it implements just enough of the chip side (SELECT,
//! READ BINARY with SFI / offsets / odd INS, GET CHALLENGE, EXTERNAL AUTHENTICATE, MSE:Set AT,
//! GENERAL AUTHENTICATE, secure messaging) with the crate's own chip-side crypto, plus switches
//! for misbehaviour.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use mrtd::apdu::{CardTransport, CommandApdu, StatusWord, TransportError};
use mrtd::bac::{self, BacKeys};
use mrtd::crypto;
use mrtd::lds::FileId;
use mrtd::pace::{PaceChip, PacePassword};
use mrtd::reader::EMRTD_AID;
use mrtd::security_info::{self, PaceInfo};
use mrtd::sm::SecureMessaging;
use mrtd::tlv;

/// Misbehaviour switches.
#[derive(Debug, Clone, Default)]
pub struct Misbehaviour {
    /// Corrupt the MAC of every protected response after this many protected responses.
    pub wrong_mac_after: Option<usize>,
    /// Refuse extended length APDUs with 6700.
    pub no_extended_length: bool,
    /// Refuse READ BINARY by short file identifier (6A86), forcing SELECT.
    pub no_sfi: bool,
    /// Answer MSE:Set AT with 6A80 (PACE unusable), forcing the BAC fallback.
    pub reject_pace: bool,
    /// Stop the card after this many APDUs (card pulled).
    pub pulled_after: Option<usize>,
    /// Answer General Authenticate commands that carry Le with 6700 (and drop the PACE run).
    pub no_le_in_general_authenticate: bool,
    /// Refuse MSE:Set AT without the parameter id (tag 84) with 6A80.
    pub require_parameter_id: bool,
}

pub struct TestDoubleChip {
    files: BTreeMap<FileId, Vec<u8>>,
    bac_keys: BacKeys,
    password_mrz: PacePassword,
    can: Option<String>,
    chip_key: Option<Vec<u8>>,
    pace_infos: Vec<PaceInfo>,
    pace: Option<PaceChip>,
    sm: Option<SecureMessaging>,
    rnd_ic: Option<[u8; 8]>,
    app_selected: bool,
    current: Option<FileId>,
    protected_responses: usize,
    pub misbehaviour: Misbehaviour,
    /// Every command APDU received, as sent on the wire.
    pub log: Vec<Vec<u8>>,
}

impl TestDoubleChip {
    pub fn new(mrz_info: mrtd::mrz::MrzInformation, files: BTreeMap<FileId, Vec<u8>>) -> Self {
        let pace_infos = files
            .get(&FileId::CardAccess)
            .map(|ca| security_info::pace_infos(&security_info::parse_security_infos(ca).unwrap()))
            .unwrap_or_default();
        TestDoubleChip {
            bac_keys: BacKeys::from_mrz(&mrz_info),
            password_mrz: PacePassword::Mrz(mrz_info),
            can: None,
            chip_key: None,
            files,
            pace_infos,
            pace: None,
            sm: None,
            rnd_ic: None,
            app_selected: false,
            current: None,
            protected_responses: 0,
            misbehaviour: Misbehaviour::default(),
            log: Vec::new(),
        }
    }

    pub fn with_can(mut self, can: &str) -> Self {
        self.can = Some(can.to_string());
        self
    }

    /// Files visible in the current context: master file before the application is selected.
    fn visible(&self, f: &FileId) -> bool {
        f.in_master_file() != self.app_selected
    }

    fn file_by_sfi(&self, sfi: u8) -> Option<FileId> {
        self.files
            .keys()
            .copied()
            .find(|f| self.visible(f) && f.sfi() == sfi)
    }

    fn file_by_fid(&self, fid: u16) -> Option<FileId> {
        self.files
            .keys()
            .copied()
            .find(|f| self.visible(f) && f.fid() == fid)
    }

    fn readable(&self, file: FileId) -> bool {
        file == FileId::CardAccess || self.sm.is_some()
    }

    /// Sets the static chip key used for PACE Chip Authentication Mapping.
    pub fn with_chip_key(mut self, key: &[u8]) -> Self {
        self.chip_key = Some(key.to_vec());
        self
    }

    fn read(&self, file: FileId, offset: usize, le: usize) -> (Vec<u8>, StatusWord) {
        let content = &self.files[&file];
        if offset > content.len() {
            return (Vec::new(), StatusWord::WRONG_PARAMETERS);
        }
        let end = (offset + le).min(content.len());
        let sw = if offset + le > content.len() {
            StatusWord::END_OF_FILE
        } else {
            StatusWord::SUCCESS
        };
        (content[offset..end].to_vec(), sw)
    }

    /// Processes a plain (or unwrapped) command.
    fn process(&mut self, cmd: &CommandApdu, extended_on_wire: bool) -> (Vec<u8>, StatusWord) {
        if extended_on_wire && self.misbehaviour.no_extended_length {
            return (Vec::new(), StatusWord(0x6700));
        }
        let le = cmd.le.unwrap_or(0);
        match (cmd.ins, cmd.p1, cmd.p2) {
            (0xA4, 0x04, _) => {
                if cmd.data == EMRTD_AID {
                    self.app_selected = true;
                    (Vec::new(), StatusWord::SUCCESS)
                } else {
                    (Vec::new(), StatusWord::FILE_NOT_FOUND)
                }
            }
            (0xA4, 0x02, _) => {
                let fid = u16::from_be_bytes([cmd.data[0], cmd.data[1]]);
                match self.file_by_fid(fid) {
                    Some(f) if self.readable(f) => {
                        self.current = Some(f);
                        (Vec::new(), StatusWord::SUCCESS)
                    }
                    Some(_) => (Vec::new(), StatusWord::SECURITY_STATUS_NOT_SATISFIED),
                    None => (Vec::new(), StatusWord::FILE_NOT_FOUND),
                }
            }
            (0xB0, p1, p2) if p1 & 0x80 != 0 => {
                if self.misbehaviour.no_sfi {
                    return (Vec::new(), StatusWord(0x6A86));
                }
                match self.file_by_sfi(p1 & 0x1F) {
                    Some(f) if self.readable(f) => {
                        self.current = Some(f);
                        self.read(f, usize::from(p2), le)
                    }
                    Some(_) => (Vec::new(), StatusWord::SECURITY_STATUS_NOT_SATISFIED),
                    None => (Vec::new(), StatusWord::FILE_NOT_FOUND),
                }
            }
            (0xB0, p1, p2) => match self.current {
                Some(f) if self.readable(f) => {
                    self.read(f, usize::from(u16::from_be_bytes([p1, p2])), le)
                }
                _ => (Vec::new(), StatusWord(0x6986)),
            },
            (0xB1, _, _) => {
                let offset_obj = tlv::parse_one(&cmd.data).unwrap().0;
                let offset = offset_obj
                    .value
                    .iter()
                    .fold(0usize, |a, &b| (a << 8) | usize::from(b));
                match self.current {
                    Some(f) if self.readable(f) => {
                        // Le covers the 53 wrapper; keep the data a little shorter.
                        let (data, sw) = self.read(f, offset, le.saturating_sub(4));
                        (tlv::encode(0x53, &data), sw)
                    }
                    _ => (Vec::new(), StatusWord(0x6986)),
                }
            }
            (0x84, _, _) => {
                let mut rnd = [0u8; 8];
                crypto::random_bytes(&mut rnd).unwrap();
                self.rnd_ic = Some(rnd);
                (rnd.to_vec(), StatusWord::SUCCESS)
            }
            (0x82, _, _) => {
                let Some(rnd_ic) = self.rnd_ic.take() else {
                    return (Vec::new(), StatusWord(0x6985));
                };
                let mut k_ic = [0u8; 16];
                crypto::random_bytes(&mut k_ic).unwrap();
                match bac::chip_authenticate(&self.bac_keys, &rnd_ic, &k_ic, &cmd.data) {
                    Ok((resp, sm)) => {
                        self.sm = Some(sm);
                        (resp.to_vec(), StatusWord::SUCCESS)
                    }
                    Err(_) => (Vec::new(), StatusWord::AUTHENTICATION_FAILED),
                }
            }
            (0x22, 0xC1, 0xA4) => {
                if self.misbehaviour.reject_pace {
                    return (Vec::new(), StatusWord(0x6A80));
                }
                let objects = tlv::parse_all(&cmd.data).unwrap();
                let oid = objects.iter().find(|o| o.tag == 0x80).unwrap().value;
                let reference = objects.iter().find(|o| o.tag == 0x83).unwrap().value[0];
                if self.misbehaviour.require_parameter_id && !objects.iter().any(|o| o.tag == 0x84)
                {
                    return (Vec::new(), StatusWord(0x6A80));
                }
                let Some(info) = self.pace_infos.iter().find(|i| i.protocol.0 == oid) else {
                    return (Vec::new(), StatusWord(0x6A80));
                };
                let password = match (reference, &self.can) {
                    (1, _) => self.password_mrz.clone(),
                    (2, Some(can)) => PacePassword::Can(can.clone()),
                    _ => return (Vec::new(), StatusWord(0x6A88)),
                };
                let mut chip = PaceChip::new(info, &password).unwrap();
                if let Some(key) = &self.chip_key {
                    chip = chip.with_chip_key(key);
                }
                self.pace = Some(chip);
                (Vec::new(), StatusWord::SUCCESS)
            }
            (0x86, _, _) if self.misbehaviour.no_le_in_general_authenticate && cmd.le.is_some() => {
                self.pace = None;
                (Vec::new(), StatusWord(0x6700))
            }
            (0x86, _, _) => {
                let Some(pace) = self.pace.as_mut() else {
                    return (Vec::new(), StatusWord(0x6985));
                };
                match pace.general_authenticate(&cmd.data) {
                    Ok((resp, sm)) => {
                        if let Some(sm) = sm {
                            self.sm = Some(sm);
                            self.pace = None;
                        }
                        (resp, StatusWord::SUCCESS)
                    }
                    Err(_) => {
                        self.pace = None;
                        (Vec::new(), StatusWord::AUTHENTICATION_FAILED)
                    }
                }
            }
            _ => (Vec::new(), StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

impl CardTransport for TestDoubleChip {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.log.push(apdu.to_vec());
        if self
            .misbehaviour
            .pulled_after
            .is_some_and(|n| self.log.len() > n)
        {
            return Err(TransportError::new(
                mrtd::apdu::TransportErrorKind::CardRemoved,
                "card removed (test double)",
            ));
        }
        let cmd = match CommandApdu::parse(apdu) {
            Ok(c) => c,
            Err(_) => return Ok(vec![0x67, 0x00]),
        };
        let extended_on_wire = apdu.len() > 5 && apdu[4] == 0;
        if cmd.cla & 0x0C == 0x0C {
            let Some(sm) = self.sm.as_mut() else {
                return Ok(vec![0x69, 0x88]);
            };
            let inner = match sm.unwrap_command(apdu) {
                Ok(c) => c,
                Err(_) => {
                    self.sm = None;
                    return Ok(vec![0x69, 0x88]);
                }
            };
            let (data, sw) = self.process(&inner, extended_on_wire);
            let sm = self.sm.as_mut().unwrap();
            let mut resp = sm.wrap_response(&data, sw, inner.ins & 1 == 1).unwrap();
            self.protected_responses += 1;
            // A short command can only get a short (<= 256 data bytes) response.
            assert!(
                extended_on_wire || resp.len() <= 258,
                "short response of {} bytes",
                resp.len()
            );
            if self
                .misbehaviour
                .wrong_mac_after
                .is_some_and(|n| self.protected_responses > n)
            {
                let len = resp.len();
                resp[len - 3] ^= 0x01; // last MAC byte
            }
            return Ok(resp);
        }
        if self.sm.is_some() && matches!(cmd.ins, 0xB0 | 0xB1 | 0xA4) && cmd.p1 != 0x04 {
            // Plain access after SM was established ends the session.
            self.sm = None;
            return Ok(vec![0x69, 0x87]);
        }
        let (mut data, sw) = self.process(&cmd, extended_on_wire);
        data.extend_from_slice(&sw.to_bytes());
        Ok(data)
    }
}

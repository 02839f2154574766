//! Transport-agnostic chip reading: access control (PACE first, BAC fallback), application
//! selection and file reading under secure messaging with as few APDUs as the chip allows.
//!
//! [`ChipReader`] drives any [`CardTransport`]. It reads EF.CardAccess; if it lists a
//! supported PACE variant it runs PACE with the MRZ or CAN, otherwise (or when PACE fails and
//! [`ReaderOptions::allow_bac`] is set) BAC with the MRZ. It then selects the eMRTD
//! application and reads EF.COM, DG1, DG2, the optional data groups listed in EF.COM and
//! EF.SOD, using READ BINARY with short file identifiers (no separate SELECT), large Le,
//! extended length when enabled, odd-INS READ BINARY beyond offset 32767, and it accepts
//! 6282 (end of file) as a short final block.

use std::collections::BTreeMap;
use std::fmt;

use crate::apdu::{
    ApduError, CardTransport, CommandApdu, ResponseApdu, StatusWord, TransportError,
};
use crate::bac::{self, BacError, BacKeys, BacTerminal};
use crate::crypto::CipherSuite;
use crate::lds::{CardSecurity, Dg1, Dg2, EfCom, FileId, LdsError, Sod};
use crate::pace::{self, PaceError, PacePassword, PaceTerminal};
use crate::security_info::{self, ObjectIdentifier, PaceInfo};
use crate::sm::{SecureMessaging, SmError};
use crate::tlv::{self, TlvError};

/// AID of the eMRTD LDS1 application.
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// Largest file accepted (DG2/DG3 rarely exceed 100 KB).
pub const MAX_FILE_LEN: usize = 1 << 20;

/// Errors while reading a chip. None of them carries personal data.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The transport failed (card removed, reader gone, timeout).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// An APDU could not be encoded or the response had no status word.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// Secure messaging failed (MAC mismatch, unprotected error...); the session is closed.
    #[error("secure messaging during {step}: {source}")]
    SecureMessaging {
        /// What was being done.
        step: String,
        /// The SM error.
        source: SmError,
    },
    /// BAC failed.
    #[error("BAC: {0}")]
    Bac(#[from] BacError),
    /// PACE failed and BAC was not allowed or not possible.
    #[error("PACE: {0}")]
    Pace(#[from] PaceError),
    /// The chip answered a command with an unexpected status word.
    #[error("{step}: chip answered {sw}")]
    Status {
        /// The command.
        step: String,
        /// Status word.
        sw: StatusWord,
    },
    /// A file ended before the length its TLV header declares.
    #[error("{file} truncated: header declares {declared} bytes, chip gave {read}")]
    FileTruncated {
        /// The file.
        file: FileId,
        /// Declared total length.
        declared: usize,
        /// Bytes read.
        read: usize,
    },
    /// The first bytes of a file are not a TLV header.
    #[error("{file} header: {source}")]
    FileHeader {
        /// The file.
        file: FileId,
        /// The TLV problem.
        source: TlvError,
    },
    /// A file declares more than [`MAX_FILE_LEN`] bytes.
    #[error("{file} declares {declared} bytes, more than the limit")]
    FileTooLarge {
        /// The file.
        file: FileId,
        /// Declared length.
        declared: usize,
    },
    /// A mandatory file (EF.COM, DG1, EF.SOD) is missing.
    #[error("mandatory file {0} not found on the chip")]
    MissingFile(FileId),
    /// EF.COM could not be parsed.
    #[error(transparent)]
    Lds(#[from] LdsError),
    /// No access protocol is possible (CAN given for a chip without PACE, or BAC disabled).
    #[error("no usable access protocol: {0}")]
    NoAccessProtocol(&'static str),
}

impl ReadError {
    /// True if the card was removed (or pulled out of the field) during the read: the
    /// caller should wait for the next card rather than report a faulty document.
    pub fn is_card_removed(&self) -> bool {
        matches!(self, ReadError::Transport(e) if e.is_card_removed())
    }
}

/// Reader settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Try PACE when EF.CardAccess offers a supported variant (default true).
    pub try_pace: bool,
    /// Use BAC when PACE is unavailable or fails (default true). A chip that offers PACE can
    /// then be downgraded to BAC by an active attacker; gates that only accept PACE documents
    /// turn this off.
    pub allow_bac: bool,
    /// Always send the domain parameter id (tag 0x84) in MSE:Set AT; it is sent anyway when
    /// the chip lists several PACEInfos (default false).
    pub always_send_parameter_id: bool,
    /// Send Le in the PACE General Authenticate commands, as ICAO 9303 Appendix G does
    /// (default true). When a chip answers the first one with 6700 the reader restarts PACE
    /// without Le by itself.
    pub general_authenticate_le: bool,
    /// The chip supports extended length APDUs (from the ATR, see
    /// [`atr_supports_extended_length`], or EF.ATR/INFO) (default false).
    pub extended_length: bool,
    /// Plain bytes per READ BINARY with short APDUs (default 0xDF, the most that fits a short
    /// SM response for 3DES and AES).
    pub short_read_len: usize,
    /// Plain bytes per READ BINARY with extended APDUs (default 0x1000).
    pub extended_read_len: usize,
    /// Optional data groups read when EF.COM lists them (default 7, 11, 12, 14, 15).
    pub optional_data_groups: Vec<u8>,
    /// PACE on the standardised sets below 112-bit security (the 1024-bit DH group, the
    /// 192-bit curves): accepted by default, see [`pace::LegacyPaceGroups`].
    pub legacy_pace_groups: pace::LegacyPaceGroups,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            try_pace: true,
            allow_bac: true,
            always_send_parameter_id: false,
            general_authenticate_le: true,
            extended_length: false,
            short_read_len: 0xDF,
            extended_read_len: 0x1000,
            optional_data_groups: vec![7, 11, 12, 14, 15],
            legacy_pace_groups: pace::LegacyPaceGroups::Accept,
        }
    }
}

/// True if the ATR's historical bytes announce extended Lc/Le (card capabilities, compact
/// TLV tag `7x`, third byte bit 0x40; ISO/IEC 7816-4 8.1.1.2.7).
pub fn atr_supports_extended_length(atr: &[u8]) -> bool {
    let historical = atr_historical_bytes(atr);
    let Some((&category, mut rest)) = historical.split_first() else {
        return false;
    };
    if category != 0x80 {
        return false;
    }
    while let Some((&header, tail)) = rest.split_first() {
        let len = usize::from(header & 0x0F);
        let Some(value) = tail.get(..len) else {
            return false;
        };
        if header >> 4 == 0x7 && len >= 3 {
            return value[2] & 0x40 != 0;
        }
        rest = &tail[len..];
    }
    false
}

/// Historical bytes of an ATR (empty if the ATR is malformed).
pub fn atr_historical_bytes(atr: &[u8]) -> &[u8] {
    let Some(&t0) = atr.get(1) else {
        return &[];
    };
    let count = usize::from(t0 & 0x0F);
    let mut pos = 2;
    let mut indicator = t0 >> 4;
    loop {
        let next_td = indicator & 0x8 != 0;
        pos += (indicator & 0x7).count_ones() as usize;
        if !next_td {
            break;
        }
        let Some(&td) = atr.get(pos) else {
            return &[];
        };
        pos += 1;
        indicator = td >> 4;
    }
    atr.get(pos..pos + count).unwrap_or(&[])
}

/// Outcome of PACE Chip Authentication Mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChipAuthentication {
    /// Generic Mapping: no chip authentication during PACE.
    NotUsed,
    /// The chip proved it holds the private key of the public key in EF.CardSecurity (whose
    /// signature must still be checked by passive authentication).
    Verified,
    /// CAM ran but could not be checked here (reason given); the data was not contradicted.
    Unverifiable(&'static str),
}

/// How access was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessProtocol {
    /// PACE with this protocol.
    Pace {
        /// Protocol OID.
        protocol: ObjectIdentifier,
        /// Domain parameter id.
        parameter_id: Option<u64>,
        /// Session cipher.
        cipher: CipherSuite,
        /// Chip Authentication Mapping outcome.
        chip_authentication: ChipAuthentication,
    },
    /// Basic Access Control.
    Bac,
}

impl fmt::Display for AccessProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessProtocol::Pace {
                parameter_id,
                cipher,
                chip_authentication,
                protocol,
            } => {
                let (agreement, mapping) = match pace::protocol_suite(protocol) {
                    Ok((pace::KeyAgreement::Dh, mapping, _)) => ("DH", mapping),
                    Ok((pace::KeyAgreement::Ecdh, mapping, _)) => ("ECDH", mapping),
                    Err(_) => ("?", pace::Mapping::Generic),
                };
                let mapping = match (mapping, chip_authentication) {
                    (pace::Mapping::Integrated, _) => "IM",
                    (_, ChipAuthentication::NotUsed) => "GM",
                    _ => "CAM",
                };
                write!(
                    f,
                    "PACE-{agreement}-{mapping} {cipher:?} (parameter id {parameter_id:?})"
                )
            }
            AccessProtocol::Bac => f.write_str("BAC"),
        }
    }
}

/// What was read from a chip: raw file contents (parse them with [`crate::lds`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ChipDocument {
    /// The access protocol used.
    pub access: AccessProtocol,
    /// Why PACE was not used although the chip offered it (BAC fallback), if so.
    pub pace_fallback: Option<String>,
    /// EF.CardAccess, if the chip has one.
    pub card_access: Option<Vec<u8>>,
    /// EF.CardSecurity, if read (PACE-CAM).
    pub card_security: Option<Vec<u8>>,
    /// EF.COM.
    pub com: Vec<u8>,
    /// Data groups read, by number.
    pub data_groups: BTreeMap<u8, Vec<u8>>,
    /// EF.SOD.
    pub sod: Vec<u8>,
    /// APDUs exchanged for the whole read.
    pub apdu_count: usize,
}

impl fmt::Debug for ChipDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChipDocument")
            .field("access", &self.access)
            .field(
                "data_groups",
                &self
                    .data_groups
                    .iter()
                    .map(|(n, d)| (n, d.len()))
                    .collect::<Vec<_>>(),
            )
            .field("sod_len", &self.sod.len())
            .field("apdu_count", &self.apdu_count)
            .finish()
    }
}

impl ChipDocument {
    /// Raw data group `n`, if read.
    pub fn data_group(&self, n: u8) -> Option<&[u8]> {
        self.data_groups.get(&n).map(Vec::as_slice)
    }

    /// Parsed DG1.
    pub fn dg1(&self) -> Result<Dg1, LdsError> {
        Dg1::parse(self.data_group(1).unwrap_or(&[]))
    }

    /// Parsed DG2.
    pub fn dg2(&self) -> Result<Dg2, LdsError> {
        Dg2::parse(self.data_group(2).unwrap_or(&[]))
    }

    /// Parsed EF.SOD.
    pub fn parsed_sod(&self) -> Result<Sod, LdsError> {
        Sod::parse(&self.sod)
    }

    /// Compares every data group read with its hash in EF.SOD: `Some(true)` match,
    /// `Some(false)` mismatch, `None` not listed or unknown hash algorithm. This is one step
    /// of passive authentication only: the SOD signature and certificate chain are not
    /// checked here.
    pub fn check_hashes(&self) -> Result<Vec<(u8, Option<bool>)>, LdsError> {
        let sod = self.parsed_sod()?;
        Ok(self
            .data_groups
            .iter()
            .map(|(n, content)| (*n, sod.hash_matches(*n, content)))
            .collect())
    }
}

/// Reads an eMRTD chip through a [`CardTransport`].
pub struct ChipReader<T> {
    transport: T,
    options: ReaderOptions,
    sm: Option<SecureMessaging>,
    card_security: Option<Vec<u8>>,
    apdu_count: usize,
    extended: bool,
}

impl<T> fmt::Debug for ChipReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChipReader")
            .field("secure_messaging", &self.sm.is_some())
            .field("apdu_count", &self.apdu_count)
            .finish()
    }
}

fn status(step: impl Into<String>, sw: StatusWord) -> ReadError {
    ReadError::Status {
        step: step.into(),
        sw,
    }
}

impl<T: CardTransport> ChipReader<T> {
    /// A reader over `transport`.
    pub fn new(transport: T, options: ReaderOptions) -> Self {
        let extended = options.extended_length;
        ChipReader {
            transport,
            options,
            sm: None,
            card_security: None,
            apdu_count: 0,
            extended,
        }
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// APDUs sent so far.
    pub fn apdu_count(&self) -> usize {
        self.apdu_count
    }

    /// Sends one command, through secure messaging once access control is done. Hook for
    /// the protocols run after reading (Active and Chip Authentication in
    /// [`crate::authenticity`]); any SM failure closes the session as for reads.
    pub fn send_command(
        &mut self,
        apdu: &CommandApdu,
        step: &str,
    ) -> Result<ResponseApdu, ReadError> {
        self.transmit(apdu, step)
    }

    /// Replaces the secure messaging session: Chip Authentication re-keys it
    /// ([`crate::authenticity::chip`]) and every later command uses the new session.
    pub fn restart_secure_messaging(&mut self, sm: SecureMessaging) {
        self.sm = Some(sm);
    }

    fn transmit_plain(&mut self, apdu: &CommandApdu) -> Result<ResponseApdu, ReadError> {
        let bytes = apdu.to_bytes()?;
        self.apdu_count += 1;
        let raw = self.transport.transmit(&bytes)?;
        Ok(ResponseApdu::parse(&raw)?)
    }

    /// Sends a command, through secure messaging once established.
    fn transmit(&mut self, apdu: &CommandApdu, step: &str) -> Result<ResponseApdu, ReadError> {
        let Some(sm) = self.sm.as_mut() else {
            return self.transmit_plain(apdu);
        };
        let sm_err = |source| ReadError::SecureMessaging {
            step: step.to_string(),
            source,
        };
        let wrapped = sm.wrap_command(apdu).map_err(sm_err)?;
        self.apdu_count += 1;
        let raw = self.transport.transmit(&wrapped)?;
        match sm.unwrap_response(&raw) {
            Ok(r) => Ok(r),
            Err(e) => {
                // Any SM failure ends the session on both sides.
                self.sm = None;
                Err(sm_err(e))
            }
        }
    }

    /// Reads the whole document: access control, application selection, EF.COM, DG1, DG2,
    /// optional data groups listed in EF.COM, and EF.SOD.
    pub fn read_document(&mut self, password: &PacePassword) -> Result<ChipDocument, ReadError> {
        let start_count = self.apdu_count;
        let card_access = self.read_card_access()?;
        let (access, pace_fallback) = self.establish_access(password, card_access.as_deref())?;
        let com = self
            .read_file(FileId::Com)?
            .ok_or(ReadError::MissingFile(FileId::Com))?;
        let listed = EfCom::parse(&com)?.data_groups;
        let mut data_groups = BTreeMap::new();
        let wanted: Vec<u8> = [1u8, 2]
            .into_iter()
            .chain(
                self.options
                    .optional_data_groups
                    .iter()
                    .copied()
                    .filter(|&n| n > 2 && n <= 16),
            )
            .collect();
        for n in wanted {
            let file = FileId::DataGroup(n);
            if n > 2 && !listed.contains(&file) {
                continue;
            }
            match self.read_file(file)? {
                Some(data) => {
                    data_groups.insert(n, data);
                }
                None if n <= 2 => return Err(ReadError::MissingFile(file)),
                None => {}
            }
        }
        let sod = self
            .read_file(FileId::Sod)?
            .ok_or(ReadError::MissingFile(FileId::Sod))?;
        Ok(ChipDocument {
            access,
            pace_fallback,
            card_access,
            card_security: self.card_security.take(),
            com,
            data_groups,
            sod,
            apdu_count: self.apdu_count - start_count,
        })
    }

    /// Reads EF.CardAccess from the master file (plain, by short file identifier);
    /// `None` if the chip has none.
    pub fn read_card_access(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        match self.read_file(FileId::CardAccess) {
            Ok(found) => Ok(found),
            // A chip without PACE may reject the SFI read in any number of ways.
            Err(
                ReadError::Status { .. }
                | ReadError::FileHeader { .. }
                | ReadError::FileTruncated { .. },
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Runs PACE (if offered and supported) or BAC, and selects the eMRTD application.
    /// Returns the protocol used and, after a fallback, why PACE was not used.
    pub fn establish_access(
        &mut self,
        password: &PacePassword,
        card_access: Option<&[u8]>,
    ) -> Result<(AccessProtocol, Option<String>), ReadError> {
        let infos = card_access
            .and_then(|ca| security_info::parse_security_infos(ca).ok())
            .map(|i| security_info::pace_infos(&i))
            .unwrap_or_default();
        let mut fallback = None;
        if self.options.try_pace && !infos.is_empty() {
            // Prefer Chip Authentication Mapping (clone detection), then the longest key.
            let preferred = infos
                .iter()
                .filter(|i| pace::is_allowed(i, self.options.legacy_pace_groups))
                .max_by_key(|i| {
                    let legacy = pace::standard_domain(i.parameter_id).is_none_or(|d| d.legacy);
                    pace::protocol_parameters(&i.protocol)
                        .map(|(mapping, cipher)| {
                            let aes = cipher != CipherSuite::Tdes;
                            (
                                mapping == pace::Mapping::ChipAuthentication,
                                !legacy,
                                aes,
                                cipher.key_len(),
                            )
                        })
                        .unwrap_or((false, false, false, 0))
                });
            match preferred {
                Some(info) => {
                    let ambiguous = infos.len() > 1;
                    match self.run_pace(info, password, ambiguous) {
                        Ok(access) => {
                            self.select_application()?;
                            return Ok((access, None));
                        }
                        // A chip that fails Chip Authentication Mapping may be a clone: never
                        // fall back to BAC for it.
                        Err(
                            e @ (ReadError::Transport(_)
                            | ReadError::Apdu(_)
                            | ReadError::Pace(PaceError::ChipAuthenticationFailed)),
                        ) => return Err(e),
                        // No BAC without the MRZ: a CAN-based failure is the answer.
                        Err(e)
                            if !self.options.allow_bac
                                || matches!(password, PacePassword::Can(_)) =>
                        {
                            return Err(e);
                        }
                        Err(e) => fallback = Some(format!("PACE failed: {e}")),
                    }
                }
                None => fallback = Some("no supported PACEInfo in EF.CardAccess".to_string()),
            }
        }
        if !self.options.allow_bac {
            return Err(ReadError::NoAccessProtocol(
                "PACE not available and BAC disabled",
            ));
        }
        let PacePassword::Mrz(info) = password else {
            return Err(ReadError::NoAccessProtocol(
                "BAC needs the MRZ, a CAN was given",
            ));
        };
        self.sm = None;
        self.select_application()?;
        self.run_bac(&BacKeys::from_mrz(info))?;
        Ok((AccessProtocol::Bac, fallback))
    }

    fn run_pace(
        &mut self,
        info: &PaceInfo,
        password: &PacePassword,
        ambiguous: bool,
    ) -> Result<AccessProtocol, ReadError> {
        let mut terminal = PaceTerminal::new(info, password)?;
        let with_id = ambiguous || self.options.always_send_parameter_id;
        let mut mse = pace::mse_set_at(info, password, with_id);
        let mut r = self.transmit_plain(&mse)?;
        if r.sw != StatusWord::SUCCESS && !with_id && info.parameter_id.is_some() {
            // Some chips require the parameter id even with a single PACEInfo.
            mse = pace::mse_set_at(info, password, true);
            r = self.transmit_plain(&mse)?;
        }
        if r.sw != StatusWord::SUCCESS {
            return Err(status("MSE:Set AT", r.sw));
        }
        let mut with_le = self.options.general_authenticate_le;
        let mut command = terminal.first_command();
        for step in 1..=4 {
            if !with_le {
                command.le = None;
            }
            let mut r = self.transmit_plain(&command)?;
            if step == 1 && with_le && r.sw == StatusWord(0x6700) {
                // Some chips refuse Le in General Authenticate: restart without it.
                with_le = false;
                let again = self.transmit_plain(&mse)?;
                if again.sw != StatusWord::SUCCESS {
                    return Err(status("MSE:Set AT", again.sw));
                }
                command.le = None;
                r = self.transmit_plain(&command)?;
            }
            if r.sw != StatusWord::SUCCESS {
                return Err(status(format!("General Authenticate step {step}"), r.sw));
            }
            command = match step {
                1 => terminal.handle_nonce(&r.data)?,
                2 => terminal.handle_mapping(&r.data)?,
                3 => terminal.handle_key_agreement(&r.data)?,
                _ => {
                    self.sm = Some(terminal.finish(&r.data)?);
                    break;
                }
            };
        }
        let chip_authentication = match terminal.mapping() {
            pace::Mapping::Generic | pace::Mapping::Integrated => ChipAuthentication::NotUsed,
            pace::Mapping::ChipAuthentication => {
                self.check_chip_authentication(&terminal, info.parameter_id)?
            }
        };
        Ok(AccessProtocol::Pace {
            protocol: info.protocol.clone(),
            parameter_id: info.parameter_id,
            cipher: terminal.cipher(),
            chip_authentication,
        })
    }

    /// PACE-CAM: reads EF.CardSecurity (master file, under SM) and checks the chip
    /// authentication data against its chip public key. A mismatch is an error.
    fn check_chip_authentication(
        &mut self,
        terminal: &PaceTerminal,
        parameter_id: Option<u64>,
    ) -> Result<ChipAuthentication, ReadError> {
        let Some(raw) = self.read_file(FileId::CardSecurity)? else {
            return Ok(ChipAuthentication::Unverifiable("EF.CardSecurity missing"));
        };
        let key = CardSecurity::parse(&raw)
            .ok()
            .and_then(|cs| parameter_id.and_then(|id| cs.chip_public_key(id)));
        self.card_security = Some(raw);
        let Some(key) = key else {
            return Ok(ChipAuthentication::Unverifiable(
                "no chip public key for the PACE domain parameters in EF.CardSecurity",
            ));
        };
        terminal.verify_chip_authentication(&key)?;
        Ok(ChipAuthentication::Verified)
    }

    fn run_bac(&mut self, keys: &BacKeys) -> Result<(), ReadError> {
        let r = self.transmit_plain(&bac::get_challenge())?;
        if r.sw != StatusWord::SUCCESS {
            return Err(status("GET CHALLENGE", r.sw));
        }
        let rnd_ic: [u8; 8] = r.data.as_slice().try_into().map_err(|_| BacError::Length {
            found: r.data.len(),
        })?;
        let terminal = BacTerminal::new(keys.clone(), rnd_ic)?;
        let r = self.transmit_plain(&bac::external_authenticate(
            &terminal.external_authenticate_data()?,
        ))?;
        if r.sw != StatusWord::SUCCESS {
            return Err(status("EXTERNAL AUTHENTICATE", r.sw));
        }
        self.sm = Some(terminal.finish(&r.data)?);
        Ok(())
    }

    fn select_application(&mut self) -> Result<(), ReadError> {
        let select = CommandApdu::new(0x00, 0xA4, 0x04, 0x0C).with_data(EMRTD_AID.to_vec());
        let r = self.transmit(&select, "SELECT eMRTD application")?;
        if r.sw != StatusWord::SUCCESS {
            return Err(status("SELECT eMRTD application", r.sw));
        }
        Ok(())
    }

    fn read_len(&self) -> usize {
        if self.extended {
            self.options.extended_read_len.clamp(16, 65536)
        } else {
            self.options.short_read_len.clamp(16, 256)
        }
    }

    /// One READ BINARY: by SFI at offset 0 (`sfi = Some`), or at `offset` of the current file
    /// (odd INS with an offset data object beyond 32767). Retries once with the length the
    /// chip asks for (6Cxx) and falls back to short APDUs if extended ones are refused (6700).
    fn read_binary(
        &mut self,
        file: FileId,
        sfi: bool,
        offset: usize,
        le: usize,
    ) -> Result<ResponseApdu, ReadError> {
        let step = format!("READ BINARY {file}");
        let mut le = le;
        for _ in 0..3 {
            let command = if sfi {
                CommandApdu::new(0x00, 0xB0, 0x80 | file.sfi(), 0x00).with_le(le)
            } else if offset <= 0x7FFF {
                CommandApdu::new(0x00, 0xB0, (offset >> 8) as u8, (offset & 0xFF) as u8).with_le(le)
            } else {
                let bytes = (offset as u32).to_be_bytes();
                let skip = bytes.iter().take_while(|&&b| b == 0).count().min(2);
                // Le covers the DO53 wrapper around the data (up to 4 header bytes).
                CommandApdu::new(0x00, 0xB1, 0x00, 0x00)
                    .with_data(tlv::encode(0x54, &bytes[skip..]))
                    .with_le((le + 4).min(self.read_len()))
            };
            let mut r = self.transmit(&command, &step)?;
            match r.sw.0 {
                0x6700 if self.extended && le > 256 => {
                    self.extended = false;
                    le = self.read_len();
                    continue;
                }
                sw if sw >> 8 == 0x6C && sw & 0xFF != 0 => {
                    le = usize::from((sw & 0xFF) as u8);
                    continue;
                }
                _ => {}
            }
            if command.ins == 0xB1 && (r.sw.is_success() || r.sw == StatusWord::END_OF_FILE) {
                let inner = tlv::parse_one(&r.data)
                    .and_then(|(t, _)| t.expect_tag(0x53))
                    .map_err(|source| ReadError::FileHeader { file, source })?;
                r.data = inner.value.to_vec();
            }
            return Ok(r);
        }
        Err(status(step, StatusWord(0x6700)))
    }

    /// Reads a whole file (plain before access control, under SM after). `None` if the chip
    /// says the file does not exist (6A82).
    pub fn read_file(&mut self, file: FileId) -> Result<Option<Vec<u8>>, ReadError> {
        let chunk = self.read_len();
        let first = self.read_binary(file, true, 0, chunk)?;
        let first = match first.sw {
            sw if sw.is_success() || sw == StatusWord::END_OF_FILE => first,
            // Chips without SFI support (some answer 6A82, others another error): select the
            // file by its identifier, then read. A file is absent only when SELECT says so; the
            // cost is one APDU for a file the document really lacks.
            _ => {
                let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C)
                    .with_data(file.fid().to_be_bytes().to_vec());
                let r = self.transmit(&select, &format!("SELECT {file}"))?;
                match r.sw {
                    StatusWord::SUCCESS => {}
                    StatusWord::FILE_NOT_FOUND => return Ok(None),
                    sw => return Err(status(format!("SELECT {file}"), sw)),
                }
                let r = self.read_binary(file, false, 0, chunk)?;
                if !(r.sw.is_success() || r.sw == StatusWord::END_OF_FILE) {
                    return Err(status(format!("READ BINARY {file}"), r.sw));
                }
                r
            }
        };
        let mut data = first.data;
        let (_, header_len, value_len) =
            tlv::parse_header(&data).map_err(|source| ReadError::FileHeader { file, source })?;
        let total = header_len + value_len;
        if total > MAX_FILE_LEN {
            return Err(ReadError::FileTooLarge {
                file,
                declared: total,
            });
        }
        let mut ended = first.sw == StatusWord::END_OF_FILE;
        while data.len() < total && !ended {
            let le = chunk.min(total - data.len());
            let r = self.read_binary(file, false, data.len(), le)?;
            if !(r.sw.is_success() || r.sw == StatusWord::END_OF_FILE) {
                return Err(status(
                    format!("READ BINARY {file} at offset {}", data.len()),
                    r.sw,
                ));
            }
            ended = r.sw == StatusWord::END_OF_FILE || r.data.is_empty();
            data.extend_from_slice(&r.data);
        }
        if data.len() < total {
            return Err(ReadError::FileTruncated {
                file,
                declared: total,
                read: data.len(),
            });
        }
        data.truncate(total);
        Ok(Some(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_extended_length_flag() {
        // Historical bytes 80 73 C0 21 C0: card capabilities with the extended length bit.
        let atr = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x56];
        assert_eq!(atr_historical_bytes(&atr), &[0x80, 0x73, 0xC0, 0x21, 0xC0]);
        assert!(atr_supports_extended_length(&atr));
        let atr = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0x80, 0x56];
        assert!(!atr_supports_extended_length(&atr));
        assert!(!atr_supports_extended_length(&[0x3B]));
        assert!(!atr_supports_extended_length(&[]));
        assert!(!atr_supports_extended_length(&[0x3B, 0x8F, 0x80]));
    }
}

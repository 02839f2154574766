//! The R30x driver over any byte port.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::command::{CharBuffer, Command, PacketSize, SystemParameter, SystemParameters};
use super::confirmation::{CONFIRMATION_OK, ConfirmationError};
use super::frame::{FrameDecoder, FrameRejection, Packet, PacketKind};
use super::{FACTORY_ADDRESS, FACTORY_PASSWORD};
use crate::fingerprint::image::PACKED_IMAGE_LEN;
use crate::fingerprint::{
    Capture, FingerImage, FingerprintError, FingerprintSensor, MatchOutcome, ModuleFamily,
    SearchHit, SensorInfo, Template, TemplateSlot,
};

/// Length of an R30x template / character file on the wire.
pub const TEMPLATE_LEN: usize = 512;

/// Driver settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct R30xConfig {
    /// Module address (default [`FACTORY_ADDRESS`]).
    pub address: u32,
    /// Module password sent with VfyPwd during [`R30x::handshake`] (default
    /// [`FACTORY_PASSWORD`]).
    pub password: u32,
    /// Time allowed for each answer packet (per attempt).
    pub response_timeout: Duration,
    /// Extra attempts for idempotent commands after a lost or corrupted answer.
    pub retries: u8,
    /// Silence after which a partially received frame is abandoned and the decoder rescans,
    /// and the quiet period awaited before a retry.
    pub quiet_gap: Duration,
}

impl Default for R30xConfig {
    fn default() -> Self {
        R30xConfig {
            address: FACTORY_ADDRESS,
            password: FACTORY_PASSWORD,
            response_timeout: Duration::from_secs(2),
            retries: 2,
            quiet_gap: Duration::from_millis(60),
        }
    }
}

/// What one attempt of a command ended with.
enum AttemptError {
    /// Worth retrying (answer lost, corrupted, or the module reported a receive error).
    Retryable(FingerprintError),
    /// Not worth retrying.
    Fatal(FingerprintError),
}

/// A decoded acknowledgement plus any data transferred after it.
struct Answer {
    confirmation: u8,
    ack_data: Vec<u8>,
    transfer: Vec<u8>,
}

/// The R30x protocol driver over any `Read + Write` port.
///
/// The protocol has no sequence numbers. After a command fails without a clean answer the
/// driver drains the line (until it has been quiet for `quiet_gap`) before the next command,
/// so a late answer is not taken for the next command's; an answer later than that can still
/// be mistaken, so set `response_timeout` above the module's slowest command.
///
/// The port's `read` must return within a short time when no data is available (an `Err` of
/// kind `TimedOut`/`WouldBlock`, or `Ok(0)`): the driver enforces its own deadlines on top.
/// Serial ports from the `serialport` crate do this with their timeout setting. Any other read
/// or write error is reported as [`FingerprintError::DeviceGone`].
pub struct R30x<P> {
    port: P,
    device: String,
    config: R30xConfig,
    decoder: FrameDecoder,
    packet_size: PacketSize,
    /// A command failed without a clean answer: a late answer may still arrive, so drain the
    /// line before the next command.
    line_dirty: bool,
    /// Library capacity from the last ReadSysPara.
    library_capacity: Option<u16>,
}

impl<P> std::fmt::Debug for R30x<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("R30x")
            .field("device", &self.device)
            .field("config", &self.config)
            .field("packet_size", &self.packet_size)
            .finish_non_exhaustive()
    }
}

fn buffer_of(slot: TemplateSlot) -> CharBuffer {
    match slot {
        TemplateSlot::First => CharBuffer::One,
        TemplateSlot::Second => CharBuffer::Two,
    }
}

impl<P: Read + Write> R30x<P> {
    /// A driver on `port`; `device` names it in errors. No I/O happens until the first call;
    /// call [`R30x::handshake`] to verify the password and learn the packet size.
    pub fn new(port: P, device: impl Into<String>, config: R30xConfig) -> Self {
        R30x {
            port,
            device: device.into(),
            config,
            decoder: FrameDecoder::new(),
            packet_size: PacketSize::Bytes128,
            line_dirty: false,
            library_capacity: None,
        }
    }

    /// Device path or label.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The underlying port.
    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    /// Decoder counters (garbage skipped, frames rejected) for diagnostics.
    pub fn decoder_stats(&self) -> super::frame::DecoderStats {
        self.decoder.stats()
    }

    /// The data packet size currently used for transfers.
    pub fn packet_size(&self) -> PacketSize {
        self.packet_size
    }

    /// VfyPwd with the configured password, then ReadSysPara; adopts the module's packet size.
    pub fn handshake(&mut self) -> Result<SystemParameters, FingerprintError> {
        self.verify_password(self.config.password)?;
        self.read_system_parameters()
    }

    /// VfyPwd.
    pub fn verify_password(&mut self, password: u32) -> Result<(), FingerprintError> {
        self.simple(Command::VfyPwd { password })
    }

    /// ReadSysPara; adopts the module's packet size for later transfers.
    pub fn read_system_parameters(&mut self) -> Result<SystemParameters, FingerprintError> {
        let command = Command::ReadSysPara;
        let data = self.ok_with_data(command, SystemParameters::LEN)?;
        let parameters = SystemParameters::parse(&data).ok_or_else(|| {
            self.protocol(
                command,
                format!("system parameters too short: {} bytes", data.len()),
            )
        })?;
        self.library_capacity = Some(parameters.library_capacity);
        self.packet_size = parameters.packet_size().ok_or_else(|| {
            self.protocol(
                command,
                format!("invalid packet size code {}", parameters.packet_size_code),
            )
        })?;
        Ok(parameters)
    }

    /// SetSysPara. Changing the packet size also changes the size this driver sends. Changing
    /// the baud rate only changes the module side: the caller must reconfigure the port
    /// ([`super::SerialR30x::set_baud_rate`] does both).
    pub fn set_system_parameter(
        &mut self,
        parameter: SystemParameter,
        value: u8,
    ) -> Result<(), FingerprintError> {
        self.simple(Command::SetSysPara { parameter, value })?;
        if parameter == SystemParameter::PacketSize
            && let Some(size) = PacketSize::from_code(u16::from(value))
        {
            self.packet_size = size;
        }
        Ok(())
    }

    /// GenImg: `Ok(false)` when there is no finger.
    pub fn gen_img(&mut self) -> Result<bool, FingerprintError> {
        match self.simple(Command::GenImg) {
            Ok(()) => Ok(true),
            Err(FingerprintError::Module {
                code: ConfirmationError::NoFinger,
                ..
            }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Img2Tz into `buffer`.
    pub fn img_2_tz(&mut self, buffer: CharBuffer) -> Result<(), FingerprintError> {
        self.simple(Command::Img2Tz { buffer })
    }

    /// Match CharBuffer1 against CharBuffer2.
    ///
    /// The acknowledgement carries the matching score whether the module accepts the pair
    /// (00H) or refuses it (08H): its length is fixed at 05H (ZFM-70 user manual §6.3.19). The
    /// score of a refusal is reported too: it is what an operator tunes the threshold on. A
    /// module that leaves the score out of a refusal gets score 0.
    pub fn match_buffers(&mut self) -> Result<MatchOutcome, FingerprintError> {
        let command = Command::Match;
        let answer = self.exchange(command, None, 0)?;
        let score = |data: &[u8]| match data {
            [high, low, ..] => u16::from_be_bytes([*high, *low]),
            _ => 0,
        };
        match ConfirmationError::check(answer.confirmation) {
            Ok(()) if answer.ack_data.len() >= 2 => Ok(MatchOutcome {
                matched: true,
                score: score(&answer.ack_data),
            }),
            Ok(()) => Err(self.protocol(
                command,
                format!(
                    "acknowledgement carries {} data bytes, expected 2",
                    answer.ack_data.len()
                ),
            )),
            Err(ConfirmationError::NoMatch) => Ok(MatchOutcome {
                matched: false,
                score: score(&answer.ack_data),
            }),
            Err(code) => Err(FingerprintError::Module {
                device: self.device.clone(),
                command: command.name(),
                code,
            }),
        }
    }

    /// Search (or HiSpeedSearch when `high_speed`) `page_count` pages from `start_page`.
    pub fn search(
        &mut self,
        buffer: CharBuffer,
        start_page: u16,
        page_count: u16,
        high_speed: bool,
    ) -> Result<Option<SearchHit>, FingerprintError> {
        let command = if high_speed {
            Command::HiSpeedSearch {
                buffer,
                start_page,
                page_count,
            }
        } else {
            Command::Search {
                buffer,
                start_page,
                page_count,
            }
        };
        match self.ok_with_data(command, 4) {
            Ok(data) => Ok(Some(SearchHit {
                page: u16::from_be_bytes([data[0], data[1]]),
                score: u16::from_be_bytes([data[2], data[3]]),
            })),
            Err(FingerprintError::Module {
                code: ConfirmationError::NotFound,
                ..
            }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// RegModel.
    pub fn reg_model(&mut self) -> Result<(), FingerprintError> {
        self.simple(Command::RegModel)
    }

    /// Store `buffer` at `page`.
    pub fn store(&mut self, buffer: CharBuffer, page: u16) -> Result<(), FingerprintError> {
        self.simple(Command::Store { buffer, page })
    }

    /// LoadChar `page` into `buffer`.
    pub fn load_char(&mut self, buffer: CharBuffer, page: u16) -> Result<(), FingerprintError> {
        self.simple(Command::LoadChar { buffer, page })
    }

    /// UpChar: the template in `buffer`.
    pub fn up_char(&mut self, buffer: CharBuffer) -> Result<Vec<u8>, FingerprintError> {
        self.upload(Command::UpChar { buffer }, TEMPLATE_LEN)
    }

    /// DownChar: put `template` (512 bytes) into `buffer`.
    pub fn down_char(
        &mut self,
        buffer: CharBuffer,
        template: &[u8],
    ) -> Result<(), FingerprintError> {
        if template.len() != TEMPLATE_LEN {
            return Err(FingerprintError::InvalidArgument(format!(
                "R30x templates are {TEMPLATE_LEN} bytes, got {}",
                template.len()
            )));
        }
        self.download(Command::DownChar { buffer }, template)
    }

    /// UpImage: the packed 4-bit image.
    pub fn up_image(&mut self) -> Result<Vec<u8>, FingerprintError> {
        self.upload(Command::UpImage, PACKED_IMAGE_LEN)
    }

    /// DownImage: put a packed 4-bit image into the image buffer.
    pub fn down_image(&mut self, packed: &[u8]) -> Result<(), FingerprintError> {
        if packed.len() != PACKED_IMAGE_LEN {
            return Err(FingerprintError::InvalidArgument(format!(
                "packed images are {PACKED_IMAGE_LEN} bytes, got {}",
                packed.len()
            )));
        }
        self.download(Command::DownImage, packed)
    }

    /// Delete `count` templates from `start_page`.
    pub fn delete(&mut self, start_page: u16, count: u16) -> Result<(), FingerprintError> {
        self.simple(Command::Delete { start_page, count })
    }

    /// Empty the library.
    pub fn empty(&mut self) -> Result<(), FingerprintError> {
        self.simple(Command::Empty)
    }

    /// TemplateNum.
    pub fn template_num(&mut self) -> Result<u16, FingerprintError> {
        let data = self.ok_with_data(Command::TemplateNum, 2)?;
        Ok(u16::from_be_bytes([data[0], data[1]]))
    }

    /// ReadIndexTable: which of the 256 slots of `index_page` (0..=3) hold a template.
    pub fn read_index_table(&mut self, index_page: u8) -> Result<Vec<bool>, FingerprintError> {
        let data = self.ok_with_data(Command::ReadIndexTable { index_page }, 32)?;
        Ok(data
            .iter()
            .take(32)
            .flat_map(|byte| (0..8).map(move |bit| byte & (1 << bit) != 0))
            .collect())
    }

    // --- transaction machinery -------------------------------------------------------------

    fn protocol(&self, command: Command, detail: String) -> FingerprintError {
        FingerprintError::Protocol {
            device: self.device.clone(),
            command: command.name(),
            detail,
        }
    }

    fn gone(&self, reason: String) -> FingerprintError {
        FingerprintError::DeviceGone {
            device: self.device.clone(),
            reason,
        }
    }

    /// A command whose ack carries only the confirmation code.
    fn simple(&mut self, command: Command) -> Result<(), FingerprintError> {
        self.ok_with_data(command, 0).map(|_| ())
    }

    /// A command whose ack must be OK and carry at least `min_data` bytes after the code.
    fn ok_with_data(
        &mut self,
        command: Command,
        min_data: usize,
    ) -> Result<Vec<u8>, FingerprintError> {
        let answer = self.exchange(command, None, 0)?;
        self.check(command, answer.confirmation)?;
        if answer.ack_data.len() < min_data {
            return Err(self.protocol(
                command,
                format!(
                    "acknowledgement carries {} data bytes, expected {min_data}",
                    answer.ack_data.len()
                ),
            ));
        }
        Ok(answer.ack_data)
    }

    fn check(&self, command: Command, confirmation: u8) -> Result<(), FingerprintError> {
        ConfirmationError::check(confirmation).map_err(|code| FingerprintError::Module {
            device: self.device.clone(),
            command: command.name(),
            code,
        })
    }

    fn upload(&mut self, command: Command, expected: usize) -> Result<Vec<u8>, FingerprintError> {
        let answer = self.exchange(command, None, expected)?;
        self.check(command, answer.confirmation)?;
        Ok(answer.transfer)
    }

    fn download(&mut self, command: Command, data: &[u8]) -> Result<(), FingerprintError> {
        let answer = self.exchange(command, Some(data), 0)?;
        self.check(command, answer.confirmation)
    }

    /// Run `command` with retries for idempotent commands.
    fn exchange(
        &mut self,
        command: Command,
        outgoing: Option<&[u8]>,
        incoming_len: usize,
    ) -> Result<Answer, FingerprintError> {
        let attempts = 1 + if command.is_idempotent() {
            usize::from(self.config.retries)
        } else {
            0
        };
        let mut last_error = None;
        if self.line_dirty {
            self.drain_until_quiet()?;
            self.line_dirty = false;
        }
        for attempt in 0..attempts {
            if attempt > 0 {
                debug!(
                    command = command.name(),
                    attempt, "retrying fingerprint command"
                );
                self.drain_until_quiet()?;
            }
            match self.attempt(command, outgoing, incoming_len) {
                Ok(answer) => return Ok(answer),
                Err(AttemptError::Fatal(error)) => {
                    self.line_dirty = true;
                    return Err(error);
                }
                Err(AttemptError::Retryable(error)) => {
                    warn!(command = command.name(), device = %self.device, %error, "fingerprint command attempt failed");
                    last_error = Some(error);
                }
            }
        }
        self.line_dirty = true;
        Err(last_error.unwrap_or_else(|| FingerprintError::Timeout {
            device: self.device.clone(),
            command: command.name(),
            timeout: self.config.response_timeout,
        }))
    }

    fn attempt(
        &mut self,
        command: Command,
        outgoing: Option<&[u8]>,
        incoming_len: usize,
    ) -> Result<Answer, AttemptError> {
        self.decoder.clear();
        self.send(PacketKind::Command, command.encode())
            .map_err(AttemptError::Fatal)?;
        let ack = self.receive(command)?;
        if ack.kind != PacketKind::Ack {
            return Err(AttemptError::Retryable(self.protocol(
                command,
                format!("expected an acknowledgement, got {:?}", ack.kind),
            )));
        }
        let Some((&confirmation, ack_data)) = ack.payload.split_first() else {
            return Err(AttemptError::Retryable(
                self.protocol(command, "empty acknowledgement".into()),
            ));
        };
        if confirmation == ConfirmationError::PacketReceive.to_byte() {
            // The module did not understand our packet (line noise on its side): resend.
            return Err(AttemptError::Retryable(FingerprintError::Module {
                device: self.device.clone(),
                command: command.name(),
                code: ConfirmationError::PacketReceive,
            }));
        }
        let mut answer = Answer {
            confirmation,
            ack_data: ack_data.to_vec(),
            transfer: Vec::new(),
        };
        if confirmation != CONFIRMATION_OK {
            return Ok(answer);
        }
        if let Some(data) = outgoing {
            let chunk_len = self.packet_size.bytes();
            let chunks: Vec<&[u8]> = data.chunks(chunk_len).collect();
            for (index, chunk) in chunks.iter().enumerate() {
                let kind = if index + 1 == chunks.len() {
                    PacketKind::EndOfData
                } else {
                    PacketKind::Data
                };
                self.send(kind, chunk.to_vec())
                    .map_err(AttemptError::Fatal)?;
            }
        }
        if incoming_len > 0 {
            loop {
                let packet = self.receive(command)?;
                match packet.kind {
                    PacketKind::Data | PacketKind::EndOfData => {
                        if answer.transfer.len() + packet.payload.len() > incoming_len {
                            return Err(AttemptError::Retryable(self.protocol(
                                command,
                                format!("transfer exceeds the expected {incoming_len} bytes"),
                            )));
                        }
                        answer.transfer.extend_from_slice(&packet.payload);
                        if packet.kind == PacketKind::EndOfData {
                            break;
                        }
                    }
                    other => {
                        return Err(AttemptError::Retryable(self.protocol(
                            command,
                            format!("expected a data packet, got {other:?}"),
                        )));
                    }
                }
            }
            if answer.transfer.len() != incoming_len {
                // A data packet went missing on the way.
                return Err(AttemptError::Retryable(self.protocol(
                    command,
                    format!(
                        "transfer of {} bytes, expected {incoming_len} (packet lost)",
                        answer.transfer.len()
                    ),
                )));
            }
        }
        Ok(answer)
    }

    fn send(&mut self, kind: PacketKind, payload: Vec<u8>) -> Result<(), FingerprintError> {
        let bytes = Packet::new(self.config.address, kind, payload)
            .encode()
            .map_err(|error| FingerprintError::InvalidArgument(error.to_string()))?;
        let result = self.port.write_all(&bytes).and_then(|()| self.port.flush());
        result.map_err(|error| self.gone(format!("write failed: {error}")))
    }

    /// Read until one valid packet for our address arrives, the deadline passes, or the device
    /// goes away.
    fn receive(&mut self, command: Command) -> Result<Packet, AttemptError> {
        let deadline = Instant::now() + self.config.response_timeout;
        let mut last_rejection: Option<FrameRejection> = None;
        let mut last_byte_at = Instant::now();
        let mut chunk = [0u8; 512];
        loop {
            while let Some(frame) = self.decoder.next_frame() {
                match frame {
                    Ok(packet) if packet.address == self.config.address => return Ok(packet),
                    Ok(packet) => {
                        debug!(
                            address = packet.address,
                            "ignoring packet for another address"
                        );
                    }
                    Err(rejection) => {
                        debug!(%rejection, "fingerprint frame rejected");
                        last_rejection = Some(rejection);
                    }
                }
            }
            let now = Instant::now();
            let quiet = now.duration_since(last_byte_at) >= self.config.quiet_gap;
            if quiet && self.decoder.buffered_len() > 0 {
                // A half frame followed by silence: give it up and rescan what is left.
                self.decoder.abandon_partial();
                last_rejection = Some(FrameRejection::Truncated);
                continue;
            }
            if quiet && last_rejection.is_some() {
                // Something arrived but it was corrupted and nothing more is coming.
                return Err(AttemptError::Retryable(
                    self.corrupted(command, last_rejection),
                ));
            }
            if now >= deadline {
                return Err(AttemptError::Retryable(match last_rejection {
                    Some(_) => self.corrupted(command, last_rejection),
                    None => FingerprintError::Timeout {
                        device: self.device.clone(),
                        command: command.name(),
                        timeout: self.config.response_timeout,
                    },
                }));
            }
            match self.port.read(&mut chunk) {
                Ok(0) => std::thread::sleep(Duration::from_millis(1)),
                Ok(n) => {
                    self.decoder.push(&chunk[..n]);
                    last_byte_at = Instant::now();
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    return Err(AttemptError::Fatal(
                        self.gone(format!("read failed: {error}")),
                    ));
                }
            }
        }
    }

    fn corrupted(&self, command: Command, rejection: Option<FrameRejection>) -> FingerprintError {
        FingerprintError::Corrupted {
            device: self.device.clone(),
            command: command.name(),
            detail: rejection.map_or_else(|| "unknown".to_string(), |r| r.to_string()),
        }
    }

    /// Discard input until the line has been quiet for `quiet_gap` (bounded by the response
    /// timeout), so a late answer to a failed attempt is not taken for the next one's.
    fn drain_until_quiet(&mut self) -> Result<(), FingerprintError> {
        let give_up = Instant::now() + self.config.response_timeout;
        let mut quiet_since = Instant::now();
        let mut chunk = [0u8; 512];
        while Instant::now() < give_up
            && Instant::now().duration_since(quiet_since) < self.config.quiet_gap
        {
            match self.port.read(&mut chunk) {
                Ok(0) => std::thread::sleep(Duration::from_millis(1)),
                Ok(_) => quiet_since = Instant::now(),
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                    ) => {}
                Err(error) => return Err(self.gone(format!("read failed: {error}"))),
            }
        }
        self.decoder.clear();
        Ok(())
    }
}

impl<P: Read + Write> FingerprintSensor for R30x<P> {
    fn info(&mut self) -> Result<SensorInfo, FingerprintError> {
        let parameters = self.read_system_parameters()?;
        Ok(SensorInfo {
            family: ModuleFamily::R30x,
            device: self.device.clone(),
            library_capacity: parameters.library_capacity,
            security_level: parameters.security_level,
            packet_size: self.packet_size.bytes(),
            baud_rate: parameters.baud_rate(),
            address: parameters.device_address,
        })
    }

    fn capture(&mut self) -> Result<Capture, FingerprintError> {
        Ok(if self.gen_img()? {
            Capture::FingerImaged
        } else {
            Capture::NoFinger
        })
    }

    fn upload_image(&mut self) -> Result<FingerImage, FingerprintError> {
        let packed = self.up_image()?;
        FingerImage::from_packed_4bpp(&packed).map_err(|error| FingerprintError::Protocol {
            device: self.device.clone(),
            command: "UpImage",
            detail: error.to_string(),
        })
    }

    fn extract_template(&mut self, slot: TemplateSlot) -> Result<(), FingerprintError> {
        self.img_2_tz(buffer_of(slot))
    }

    fn combine_slots(&mut self) -> Result<(), FingerprintError> {
        self.reg_model()
    }

    fn upload_template(&mut self, slot: TemplateSlot) -> Result<Template, FingerprintError> {
        Ok(Template::from_bytes(self.up_char(buffer_of(slot))?))
    }

    fn download_template(
        &mut self,
        slot: TemplateSlot,
        template: &Template,
    ) -> Result<(), FingerprintError> {
        self.down_char(buffer_of(slot), template.as_bytes())
    }

    fn compare_slots(&mut self) -> Result<MatchOutcome, FingerprintError> {
        self.match_buffers()
    }

    fn search_library(
        &mut self,
        slot: TemplateSlot,
    ) -> Result<Option<SearchHit>, FingerprintError> {
        let capacity = match self.library_capacity {
            Some(capacity) => capacity,
            None => self.read_system_parameters()?.library_capacity,
        };
        self.search(buffer_of(slot), 0, capacity, false)
    }

    fn store_template(&mut self, slot: TemplateSlot, page: u16) -> Result<(), FingerprintError> {
        self.store(buffer_of(slot), page)
    }

    fn load_template(&mut self, page: u16, slot: TemplateSlot) -> Result<(), FingerprintError> {
        self.load_char(buffer_of(slot), page)
    }

    fn delete_templates(&mut self, page: u16, count: u16) -> Result<(), FingerprintError> {
        self.delete(page, count)
    }

    fn clear_library(&mut self) -> Result<(), FingerprintError> {
        self.empty()
    }

    fn template_count(&mut self) -> Result<u16, FingerprintError> {
        self.template_num()
    }
}

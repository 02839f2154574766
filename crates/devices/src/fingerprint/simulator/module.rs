//! The simulated module's logic, without I/O: packets in, packets out.

use std::collections::{BTreeMap, VecDeque};

use super::synthetic::{self, SimulatedFinger};
use crate::fingerprint::image::{FingerImage, PACKED_IMAGE_LEN};
use crate::fingerprint::r30x::command::{
    CharBuffer, Command, CommandParseError, PacketSize, SystemParameter, SystemParameters,
    instruction,
};
use crate::fingerprint::r30x::confirmation::{CONFIRMATION_OK, ConfirmationError};
use crate::fingerprint::r30x::frame::{Packet, PacketKind};
use crate::fingerprint::r30x::{FACTORY_ADDRESS, FACTORY_PASSWORD, TEMPLATE_LEN};

/// Settings of the simulated module; the default is a module as it leaves the factory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedModuleConfig {
    /// Module address.
    pub address: u32,
    /// Password; while it is the factory value commands work without VfyPwd (ZFM-70 user
    /// manual §4.5), otherwise every command but VfyPwd is refused (21H) until it is verified.
    pub password: u32,
    /// Template library capacity.
    pub library_capacity: u16,
    /// Security level 1..=5 (match thresholds 30, 40, 50, 65, 80).
    pub security_level: u8,
    /// Data packet size.
    pub packet_size: PacketSize,
    /// Baud rate multiple of 9600 reported (6 = 57600).
    pub baud_multiplier: u8,
    /// System identifier reported by ReadSysPara.
    pub system_id: u16,
}

impl Default for SimulatedModuleConfig {
    fn default() -> Self {
        SimulatedModuleConfig {
            address: FACTORY_ADDRESS,
            password: FACTORY_PASSWORD,
            library_capacity: 1000,
            security_level: 3,
            packet_size: PacketSize::Bytes128,
            baud_multiplier: 6,
            system_id: 0x0009,
        }
    }
}

/// What is in the simulated image buffer.
#[derive(Debug, Clone)]
enum ImageBuffer {
    /// A capture of a simulated finger.
    Captured {
        finger: SimulatedFinger,
        capture_seed: u64,
        image: FingerImage,
    },
    /// An image downloaded by the host (DownImage).
    Downloaded { image: FingerImage },
}

/// A host-to-module transfer in progress.
#[derive(Debug)]
enum Download {
    Template { buffer: CharBuffer, data: Vec<u8> },
    Image { data: Vec<u8> },
}

/// Counters of what the simulated module did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedModuleStats {
    /// Command packets handled.
    pub commands: u64,
    /// GenImg commands.
    pub captures: u64,
    /// Packets ignored (wrong address, data outside a transfer).
    pub ignored_packets: u64,
}

/// The simulated R30x module: library, buffers, finger on the sensor.
#[derive(Debug)]
pub struct SimulatedModule {
    config: SimulatedModuleConfig,
    password_verified: bool,
    image: Option<ImageBuffer>,
    buffers: [Option<Vec<u8>>; 2],
    library: BTreeMap<u16, Vec<u8>>,
    finger_on_sensor: Option<SimulatedFinger>,
    finger_script: VecDeque<Option<SimulatedFinger>>,
    download: Option<Download>,
    capture_counter: u64,
    /// The last Match or Search found a match (status register bit 1, "Pass").
    passed: bool,
    stats: SimulatedModuleStats,
}

fn slot(buffer: CharBuffer) -> usize {
    match buffer {
        CharBuffer::One => 0,
        CharBuffer::Two => 1,
    }
}

impl SimulatedModule {
    /// A module with an empty library and no finger on the sensor.
    pub fn new(config: SimulatedModuleConfig) -> Self {
        SimulatedModule {
            config,
            password_verified: false,
            image: None,
            buffers: [None, None],
            library: BTreeMap::new(),
            finger_on_sensor: None,
            finger_script: VecDeque::new(),
            download: None,
            capture_counter: 0,
            passed: false,
            stats: SimulatedModuleStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SimulatedModuleConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> SimulatedModuleStats {
        self.stats
    }

    /// Put a finger on the sensor (stays until removed or replaced).
    pub fn place_finger(&mut self, finger: SimulatedFinger) {
        self.finger_on_sensor = Some(finger);
    }

    /// Lift the finger.
    pub fn remove_finger(&mut self) {
        self.finger_on_sensor = None;
    }

    /// Script what the next GenImg commands see, one entry per GenImg (`None` = no finger).
    /// When the script is used up, the finger set with [`SimulatedModule::place_finger`] (or
    /// none) is seen again.
    pub fn queue_fingers(&mut self, fingers: impl IntoIterator<Item = Option<SimulatedFinger>>) {
        self.finger_script.extend(fingers);
    }

    /// Store a template of `finger` at `page` as if it had been enrolled (enrolment combines
    /// two captures, as RegModel does).
    pub fn enroll_synthetic(&mut self, page: u16, finger: SimulatedFinger) -> bool {
        if page >= self.config.library_capacity {
            return false;
        }
        self.capture_counter += 2;
        let first = synthetic::capture_template(finger, self.capture_counter - 1);
        let second = synthetic::capture_template(finger, self.capture_counter);
        self.library
            .insert(page, synthetic::combine(&first, &second));
        true
    }

    /// Number of stored templates.
    pub fn template_count(&self) -> usize {
        self.library.len()
    }

    /// Whether `page` holds a template.
    pub fn has_template(&self, page: u16) -> bool {
        self.library.contains_key(&page)
    }

    /// Update the baud multiplier (the simulator runner reads it after SetSysPara).
    pub fn baud_rate(&self) -> u32 {
        u32::from(self.config.baud_multiplier) * 9600
    }

    /// Handle one packet from the host and return the packets to send back (possibly none).
    pub fn handle(&mut self, packet: &Packet) -> Vec<Packet> {
        if packet.address != self.config.address {
            self.stats.ignored_packets += 1;
            return Vec::new();
        }
        match packet.kind {
            PacketKind::Command => {
                // A new command aborts any unfinished download.
                self.download = None;
                self.stats.commands += 1;
                self.command(&packet.payload)
            }
            PacketKind::Data | PacketKind::EndOfData => {
                self.data(packet);
                Vec::new()
            }
            PacketKind::Ack => {
                self.stats.ignored_packets += 1;
                Vec::new()
            }
        }
    }

    fn ack(&self, confirmation: u8, data: &[u8]) -> Packet {
        let mut payload = Vec::with_capacity(1 + data.len());
        payload.push(confirmation);
        payload.extend_from_slice(data);
        Packet::new(self.config.address, PacketKind::Ack, payload)
    }

    /// A refusal; [`SimulatedModule::command`] pads it to the instruction's fixed length.
    fn refuse(&self, error: ConfirmationError) -> Vec<Packet> {
        vec![self.ack(error.to_byte(), &[])]
    }

    fn ok(&self, data: &[u8]) -> Vec<Packet> {
        vec![self.ack(CONFIRMATION_OK, data)]
    }

    fn ok_then_transfer(&self, data: &[u8]) -> Vec<Packet> {
        let mut packets = self.ok(&[]);
        let chunks: Vec<&[u8]> = data.chunks(self.config.packet_size.bytes()).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            let kind = if index + 1 == chunks.len() {
                PacketKind::EndOfData
            } else {
                PacketKind::Data
            };
            packets.push(Packet::new(self.config.address, kind, chunk.to_vec()));
        }
        packets
    }

    fn threshold(&self) -> u16 {
        match self.config.security_level {
            0 | 1 => 30,
            2 => 40,
            3 => 50,
            4 => 65,
            _ => 80,
        }
    }

    fn system_parameters(&self) -> SystemParameters {
        let mut status = 0u16;
        if self.passed {
            status |= 1 << 1;
        }
        if self.password_verified {
            status |= 1 << 2;
        }
        if self.image.is_some() {
            status |= 1 << 3;
        }
        SystemParameters {
            status_register: status,
            system_id: self.config.system_id,
            library_capacity: self.config.library_capacity,
            security_level: u16::from(self.config.security_level),
            device_address: self.config.address,
            packet_size_code: u16::from(self.config.packet_size.code()),
            baud_multiplier: u16::from(self.config.baud_multiplier),
        }
    }

    /// Execute one command. The acknowledgement has the instruction's fixed length whatever
    /// its confirmation (ZFM-70 user manual §6.2, §6.3): a refusal carries zeros where a
    /// success carries its parameters, but for Match, whose refusal carries the score.
    fn command(&mut self, payload: &[u8]) -> Vec<Packet> {
        let mut replies = self.execute(payload);
        let fixed_len = payload
            .first()
            .copied()
            .and_then(instruction::ack_params_len);
        if let (Some(ack), Some(len)) = (replies.first_mut(), fixed_len)
            && ack.kind == PacketKind::Ack
        {
            ack.payload.resize(1 + len, 0);
        }
        replies
    }

    fn execute(&mut self, payload: &[u8]) -> Vec<Packet> {
        let command = match Command::parse(payload) {
            Ok(command) => command,
            Err(CommandParseError::UnknownInstruction(_)) => {
                return self.refuse(ConfirmationError::UnsupportedCommand);
            }
            Err(CommandParseError::InvalidParameter { .. }) if payload.first() == Some(&0x0E) => {
                return self.refuse(ConfirmationError::InvalidRegister);
            }
            Err(_) => return self.refuse(ConfirmationError::PacketReceive),
        };
        let locked = self.config.password != 0 && !self.password_verified;
        if locked && !matches!(command, Command::VfyPwd { .. }) {
            return self.refuse(ConfirmationError::PasswordNotVerified);
        }
        match command {
            Command::VfyPwd { password } => {
                if password == self.config.password {
                    self.password_verified = true;
                    self.ok(&[])
                } else {
                    self.refuse(ConfirmationError::WrongPassword)
                }
            }
            Command::ReadSysPara => self.ok(&self.system_parameters().encode()),
            Command::SetSysPara { parameter, value } => self.set_parameter(parameter, value),
            Command::TemplateNum => {
                let count = self.library.len() as u16;
                self.ok(&count.to_be_bytes())
            }
            Command::ReadIndexTable { index_page } => {
                if index_page > 3 {
                    return self.refuse(ConfirmationError::PageOutOfRange);
                }
                let mut table = [0u8; 32];
                let base = u16::from(index_page) * 256;
                for page in self.library.keys() {
                    if let Some(offset) = page.checked_sub(base).filter(|o| *o < 256) {
                        table[usize::from(offset / 8)] |= 1 << (offset % 8);
                    }
                }
                self.ok(&table)
            }
            Command::GenImg => self.gen_img(),
            Command::Img2Tz { buffer } => self.img_2_tz(buffer),
            Command::Match => {
                // An empty buffer compares like an all-zero one: score 0.
                let score = match (&self.buffers[0], &self.buffers[1]) {
                    (Some(a), Some(b)) => synthetic::match_score(a, b),
                    _ => 0,
                };
                self.passed = score >= self.threshold();
                let confirmation = if self.passed {
                    CONFIRMATION_OK
                } else {
                    ConfirmationError::NoMatch.to_byte()
                };
                // §6.3.19: the score is in the acknowledgement either way.
                vec![self.ack(confirmation, &score.to_be_bytes())]
            }
            Command::Search {
                buffer,
                start_page,
                page_count,
            }
            | Command::HiSpeedSearch {
                buffer,
                start_page,
                page_count,
            } => self.search(buffer, start_page, page_count),
            Command::RegModel => match (&self.buffers[0], &self.buffers[1]) {
                (Some(a), Some(b)) if synthetic::match_score(a, b) >= self.threshold() => {
                    let combined = synthetic::combine(a, b);
                    self.buffers = [Some(combined.clone()), Some(combined)];
                    self.ok(&[])
                }
                _ => self.refuse(ConfirmationError::CombineFailed),
            },
            Command::Store { buffer, page } => {
                if page >= self.config.library_capacity {
                    return self.refuse(ConfirmationError::PageOutOfRange);
                }
                match self.buffers[slot(buffer)].clone() {
                    Some(template) => {
                        self.library.insert(page, template);
                        self.ok(&[])
                    }
                    None => self.refuse(ConfirmationError::TemplateEmpty),
                }
            }
            Command::LoadChar { buffer, page } => {
                if page >= self.config.library_capacity {
                    return self.refuse(ConfirmationError::PageOutOfRange);
                }
                match self.library.get(&page).cloned() {
                    Some(template) => {
                        self.buffers[slot(buffer)] = Some(template);
                        self.ok(&[])
                    }
                    None => self.refuse(ConfirmationError::InvalidTemplate),
                }
            }
            Command::UpChar { buffer } => match &self.buffers[slot(buffer)] {
                Some(template) => self.ok_then_transfer(template),
                None => self.refuse(ConfirmationError::TemplateUploadFailed),
            },
            Command::DownChar { buffer } => {
                self.download = Some(Download::Template {
                    buffer,
                    data: Vec::with_capacity(TEMPLATE_LEN),
                });
                self.ok(&[])
            }
            Command::UpImage => match &self.image {
                Some(ImageBuffer::Captured { image, .. } | ImageBuffer::Downloaded { image }) => {
                    self.ok_then_transfer(&image.to_packed_4bpp())
                }
                None => self.refuse(ConfirmationError::ImageUploadFailed),
            },
            Command::DownImage => {
                self.download = Some(Download::Image {
                    data: Vec::with_capacity(PACKED_IMAGE_LEN),
                });
                self.ok(&[])
            }
            Command::Delete { start_page, count } => {
                let end = u32::from(start_page) + u32::from(count);
                if count == 0 || end > u32::from(self.config.library_capacity) {
                    // §6.3.17 knows only "fail to delete templates" for this.
                    return self.refuse(ConfirmationError::DeleteFailed);
                }
                self.library.retain(|page, _| {
                    !(start_page..start_page.saturating_add(count)).contains(page)
                });
                self.ok(&[])
            }
            Command::Empty => {
                self.library.clear();
                self.ok(&[])
            }
        }
    }

    fn set_parameter(&mut self, parameter: SystemParameter, value: u8) -> Vec<Packet> {
        match parameter {
            SystemParameter::BaudMultiplier if (1..=12).contains(&value) => {
                self.config.baud_multiplier = value;
            }
            SystemParameter::SecurityLevel if (1..=5).contains(&value) => {
                self.config.security_level = value;
            }
            SystemParameter::PacketSize => match PacketSize::from_code(u16::from(value)) {
                Some(size) => self.config.packet_size = size,
                None => return self.refuse(ConfirmationError::InvalidRegisterValue),
            },
            _ => return self.refuse(ConfirmationError::InvalidRegisterValue),
        }
        self.ok(&[])
    }

    fn gen_img(&mut self) -> Vec<Packet> {
        self.stats.captures += 1;
        let finger = match self.finger_script.pop_front() {
            Some(scripted) => scripted,
            None => self.finger_on_sensor,
        };
        let Some(finger) = finger else {
            return self.refuse(ConfirmationError::NoFinger);
        };
        if finger.quality < 5 {
            self.image = None;
            return self.refuse(ConfirmationError::ImageCaptureFailed);
        }
        self.capture_counter += 1;
        let capture_seed = self.capture_counter;
        self.image = Some(ImageBuffer::Captured {
            finger,
            capture_seed,
            image: synthetic::capture_image(finger, capture_seed),
        });
        self.ok(&[])
    }

    fn img_2_tz(&mut self, buffer: CharBuffer) -> Vec<Packet> {
        let (finger, capture_seed) = match &self.image {
            None => return self.refuse(ConfirmationError::InvalidImage),
            Some(ImageBuffer::Captured {
                finger,
                capture_seed,
                ..
            }) => (*finger, *capture_seed),
            Some(ImageBuffer::Downloaded { image }) => (
                SimulatedFinger {
                    identity: synthetic::fnv1a64(&image.to_packed_4bpp()),
                    quality: image.quality().score,
                },
                0,
            ),
        };
        if finger.quality < 20 {
            return self.refuse(ConfirmationError::ImageTooMessy);
        }
        if finger.quality < 35 {
            return self.refuse(ConfirmationError::TooFewFeatures);
        }
        self.buffers[slot(buffer)] = Some(synthetic::capture_template(finger, capture_seed));
        self.ok(&[])
    }

    fn search(&mut self, buffer: CharBuffer, start_page: u16, page_count: u16) -> Vec<Packet> {
        self.passed = false;
        let Some(probe) = &self.buffers[slot(buffer)] else {
            return self.refuse(ConfirmationError::NotFound);
        };
        let end = start_page.saturating_add(page_count);
        let best = self
            .library
            .range(start_page..end)
            .map(|(page, template)| (*page, synthetic::match_score(probe, template)))
            .max_by_key(|(page, score)| (*score, std::cmp::Reverse(*page)));
        match best {
            Some((page, score)) if score >= self.threshold() => {
                self.passed = true;
                let mut data = page.to_be_bytes().to_vec();
                data.extend_from_slice(&score.to_be_bytes());
                self.ok(&data)
            }
            _ => self.refuse(ConfirmationError::NotFound),
        }
    }

    fn data(&mut self, packet: &Packet) {
        let Some(download) = self.download.as_mut() else {
            self.stats.ignored_packets += 1;
            return;
        };
        let (data, limit) = match download {
            Download::Template { data, .. } => (data, TEMPLATE_LEN),
            Download::Image { data } => (data, PACKED_IMAGE_LEN),
        };
        if data.len() + packet.payload.len() > limit {
            // Oversized transfer: the module discards it.
            self.download = None;
            return;
        }
        data.extend_from_slice(&packet.payload);
        if packet.kind != PacketKind::EndOfData {
            return;
        }
        match self.download.take() {
            Some(Download::Template { buffer, data }) if data.len() == TEMPLATE_LEN => {
                self.buffers[slot(buffer)] = Some(data);
            }
            Some(Download::Image { data }) => {
                if let Ok(image) = FingerImage::from_packed_4bpp(&data) {
                    self.image = Some(ImageBuffer::Downloaded { image });
                }
            }
            // Incomplete template: dropped, as a real module leaves the buffer unusable.
            Some(Download::Template { buffer, .. }) => self.buffers[slot(buffer)] = None,
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(module: &mut SimulatedModule, command: Command) -> Vec<Packet> {
        module.handle(&Packet::new(
            FACTORY_ADDRESS,
            PacketKind::Command,
            command.encode(),
        ))
    }

    fn confirmation(packets: &[Packet]) -> u8 {
        packets[0].payload[0]
    }

    #[test]
    fn enrol_then_search_and_match() {
        let mut module = SimulatedModule::new(SimulatedModuleConfig::default());
        assert_eq!(confirmation(&command(&mut module, Command::GenImg)), 0x02);
        module.place_finger(SimulatedFinger::good(42));
        for buffer in [CharBuffer::One, CharBuffer::Two] {
            assert_eq!(confirmation(&command(&mut module, Command::GenImg)), 0);
            assert_eq!(
                confirmation(&command(&mut module, Command::Img2Tz { buffer })),
                0
            );
        }
        assert_eq!(confirmation(&command(&mut module, Command::RegModel)), 0);
        let stored = command(
            &mut module,
            Command::Store {
                buffer: CharBuffer::One,
                page: 7,
            },
        );
        assert_eq!(confirmation(&stored), 0);
        assert_eq!(module.template_count(), 1);

        assert_eq!(confirmation(&command(&mut module, Command::GenImg)), 0);
        command(
            &mut module,
            Command::Img2Tz {
                buffer: CharBuffer::One,
            },
        );
        let hit = command(
            &mut module,
            Command::Search {
                buffer: CharBuffer::One,
                start_page: 0,
                page_count: 1000,
            },
        );
        assert_eq!(confirmation(&hit), 0);
        assert_eq!(&hit[0].payload[1..3], &[0, 7]);

        module.place_finger(SimulatedFinger::good(43));
        command(&mut module, Command::GenImg);
        command(
            &mut module,
            Command::Img2Tz {
                buffer: CharBuffer::Two,
            },
        );
        assert_eq!(confirmation(&command(&mut module, Command::Match)), 0x08);
    }

    #[test]
    fn poor_quality_and_password_and_ranges() {
        let mut module = SimulatedModule::new(SimulatedModuleConfig {
            password: 0x1234,
            ..SimulatedModuleConfig::default()
        });
        assert_eq!(confirmation(&command(&mut module, Command::GenImg)), 0x21);
        assert_eq!(
            confirmation(&command(&mut module, Command::VfyPwd { password: 1 })),
            0x13
        );
        assert_eq!(
            confirmation(&command(&mut module, Command::VfyPwd { password: 0x1234 })),
            0
        );
        module.queue_fingers([Some(SimulatedFinger {
            identity: 1,
            quality: 30,
        })]);
        assert_eq!(confirmation(&command(&mut module, Command::GenImg)), 0);
        let extracted = command(
            &mut module,
            Command::Img2Tz {
                buffer: CharBuffer::One,
            },
        );
        assert_eq!(confirmation(&extracted), 0x07);
        assert_eq!(
            confirmation(&command(
                &mut module,
                Command::LoadChar {
                    buffer: CharBuffer::One,
                    page: 5000
                }
            )),
            0x0B
        );
        assert_eq!(
            confirmation(&command(
                &mut module,
                Command::SetSysPara {
                    parameter: SystemParameter::SecurityLevel,
                    value: 9
                }
            )),
            0x1B
        );
    }

    #[test]
    fn template_transfer_both_ways() {
        let mut module = SimulatedModule::new(SimulatedModuleConfig::default());
        module.enroll_synthetic(0, SimulatedFinger::good(9));
        command(
            &mut module,
            Command::LoadChar {
                buffer: CharBuffer::One,
                page: 0,
            },
        );
        let upload = command(
            &mut module,
            Command::UpChar {
                buffer: CharBuffer::One,
            },
        );
        assert_eq!(upload.len(), 1 + 4, "ack + 4 packets of 128 bytes");
        assert_eq!(upload.last().unwrap().kind, PacketKind::EndOfData);
        let template: Vec<u8> = upload[1..].iter().flat_map(|p| p.payload.clone()).collect();
        assert_eq!(&template[..4], b"SIMF");

        assert_eq!(
            confirmation(&command(
                &mut module,
                Command::DownChar {
                    buffer: CharBuffer::Two
                }
            )),
            0
        );
        for (index, chunk) in template.chunks(128).enumerate() {
            let kind = if index == 3 {
                PacketKind::EndOfData
            } else {
                PacketKind::Data
            };
            assert!(
                module
                    .handle(&Packet::new(FACTORY_ADDRESS, kind, chunk.to_vec()))
                    .is_empty()
            );
        }
        assert_eq!(confirmation(&command(&mut module, Command::Match)), 0);
    }
}

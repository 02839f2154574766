//! Instructions of the R30x / ZFM / AS608 family and their payload encoding.
//!
//! The first payload byte of a command packet is the instruction code; the rest are its
//! parameters, big endian. [`Command::parse`] is the inverse of [`Command::encode`] (the module
//! simulator uses it).

use thiserror::Error;

/// One of the module's two character (feature) buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CharBuffer {
    /// CharBuffer1 (id 1).
    One,
    /// CharBuffer2 (id 2).
    Two,
}

impl CharBuffer {
    /// The buffer id on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            CharBuffer::One => 1,
            CharBuffer::Two => 2,
        }
    }

    /// Parse a buffer id.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(CharBuffer::One),
            2 => Some(CharBuffer::Two),
            _ => None,
        }
    }

    /// The buffer a module uses for a BufferID parameter: 1 is CharBuffer1, any other value
    /// CharBuffer2 (ZFM-70 user manual §6.3.11, §6.3.13 to §6.3.16, §6.3.20).
    pub fn from_module_byte(byte: u8) -> Self {
        if byte == 1 {
            CharBuffer::One
        } else {
            CharBuffer::Two
        }
    }
}

/// Data packet payload size (system parameter 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketSize {
    /// 32 bytes (code 0).
    Bytes32,
    /// 64 bytes (code 1).
    Bytes64,
    /// 128 bytes (code 2), the factory default.
    Bytes128,
    /// 256 bytes (code 3).
    Bytes256,
}

impl PacketSize {
    /// Payload bytes per data packet.
    pub fn bytes(self) -> usize {
        match self {
            PacketSize::Bytes32 => 32,
            PacketSize::Bytes64 => 64,
            PacketSize::Bytes128 => 128,
            PacketSize::Bytes256 => 256,
        }
    }

    /// The code used in the system parameters.
    pub fn code(self) -> u8 {
        match self {
            PacketSize::Bytes32 => 0,
            PacketSize::Bytes64 => 1,
            PacketSize::Bytes128 => 2,
            PacketSize::Bytes256 => 3,
        }
    }

    /// How long a transfer of `data_len` bytes in packets of this size takes on the line at
    /// `baud_rate`, acknowledgement included: every packet adds its 9-byte header and 2-byte
    /// checksum (ZFM-70 user manual §5.1), every byte takes 10 bits (start, 8 data, stop).
    pub fn transfer_time(self, data_len: usize, baud_rate: u32) -> std::time::Duration {
        const FRAMING: usize = 9 + 2;
        let packets = data_len.div_ceil(self.bytes());
        let bytes = FRAMING + 1 + packets * FRAMING + data_len;
        std::time::Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(baud_rate.max(1)))
    }

    /// Parse the code used in the system parameters.
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            0 => Some(PacketSize::Bytes32),
            1 => Some(PacketSize::Bytes64),
            2 => Some(PacketSize::Bytes128),
            3 => Some(PacketSize::Bytes256),
            _ => None,
        }
    }
}

/// Writable system parameters (SetSysPara parameter numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SystemParameter {
    /// 4: baud rate as a multiple N of 9600 (N = 1..=12).
    BaudMultiplier,
    /// 5: security level 1..=5 (match threshold; higher is stricter).
    SecurityLevel,
    /// 6: data packet size code 0..=3, see [`PacketSize`].
    PacketSize,
}

impl SystemParameter {
    /// Parameter number on the wire.
    pub fn number(self) -> u8 {
        match self {
            SystemParameter::BaudMultiplier => 4,
            SystemParameter::SecurityLevel => 5,
            SystemParameter::PacketSize => 6,
        }
    }

    /// Parse a parameter number.
    pub fn from_number(number: u8) -> Option<Self> {
        match number {
            4 => Some(SystemParameter::BaudMultiplier),
            5 => Some(SystemParameter::SecurityLevel),
            6 => Some(SystemParameter::PacketSize),
            _ => None,
        }
    }
}

/// Instruction codes.
pub mod instruction {
    /// GenImg: capture a finger image into the image buffer.
    pub const GEN_IMG: u8 = 0x01;
    /// Img2Tz: extract features from the image buffer into a character buffer.
    pub const IMG_2_TZ: u8 = 0x02;
    /// Match: compare CharBuffer1 with CharBuffer2.
    pub const MATCH: u8 = 0x03;
    /// Search: search the library with a character buffer.
    pub const SEARCH: u8 = 0x04;
    /// RegModel: combine both character buffers into a template.
    pub const REG_MODEL: u8 = 0x05;
    /// Store: store a character buffer in the library.
    pub const STORE: u8 = 0x06;
    /// LoadChar: load a library template into a character buffer.
    pub const LOAD_CHAR: u8 = 0x07;
    /// UpChar: upload a character buffer to the host.
    pub const UP_CHAR: u8 = 0x08;
    /// DownChar: download a template from the host into a character buffer.
    pub const DOWN_CHAR: u8 = 0x09;
    /// UpImage: upload the image buffer to the host.
    pub const UP_IMAGE: u8 = 0x0A;
    /// DownImage: download an image from the host into the image buffer.
    pub const DOWN_IMAGE: u8 = 0x0B;
    /// Delete: delete templates from the library.
    pub const DELETE: u8 = 0x0C;
    /// Empty: clear the library.
    pub const EMPTY: u8 = 0x0D;
    /// SetSysPara: write a system parameter.
    pub const SET_SYS_PARA: u8 = 0x0E;
    /// ReadSysPara: read the system parameters.
    pub const READ_SYS_PARA: u8 = 0x0F;
    /// VfyPwd: verify the module password.
    pub const VFY_PWD: u8 = 0x13;
    /// HiSpeedSearch: fast library search.
    pub const HI_SPEED_SEARCH: u8 = 0x1B;
    /// TemplateNum: number of stored templates.
    pub const TEMPLATE_NUM: u8 = 0x1D;
    /// ReadIndexTable: occupancy bitmap of one library page of 256 slots.
    pub const READ_INDEX_TABLE: u8 = 0x1F;

    /// Bytes after the confirmation code in the acknowledgement of `instruction`. The length
    /// is fixed per instruction, whatever the confirmation: the manual gives one acknowledge
    /// package format per instruction (ZFM-70 user manual §6.2, §6.3), e.g. Match carries its
    /// score also when it refuses, a search PageID and score (both 0 when nothing is found).
    /// `None` for an instruction outside this family's set.
    pub const fn ack_params_len(instruction: u8) -> Option<usize> {
        match instruction {
            // §6.3.19 matching score; §6.2.7 template number.
            MATCH | TEMPLATE_NUM => Some(2),
            // §6.3.20 PageID + MatchScore (HiSpeedSearch alike, R30x manual).
            SEARCH | HI_SPEED_SEARCH => Some(4),
            // §6.2.5 basic parameter list.
            READ_SYS_PARA => Some(16),
            // §6.2.6 index table of 256 bits.
            READ_INDEX_TABLE => Some(32),
            GEN_IMG | IMG_2_TZ | REG_MODEL | STORE | LOAD_CHAR | UP_CHAR | DOWN_CHAR | UP_IMAGE
            | DOWN_IMAGE | DELETE | EMPTY | SET_SYS_PARA | VFY_PWD => Some(0),
            _ => None,
        }
    }
}

/// A host-to-module instruction with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// GenImg (0x01).
    GenImg,
    /// Img2Tz (0x02).
    Img2Tz {
        /// Destination buffer.
        buffer: CharBuffer,
    },
    /// Match (0x03).
    Match,
    /// Search (0x04).
    Search {
        /// Buffer with the probe features.
        buffer: CharBuffer,
        /// First library page to search.
        start_page: u16,
        /// Number of pages to search.
        page_count: u16,
    },
    /// RegModel (0x05).
    RegModel,
    /// Store (0x06).
    Store {
        /// Source buffer.
        buffer: CharBuffer,
        /// Library page id.
        page: u16,
    },
    /// LoadChar (0x07).
    LoadChar {
        /// Destination buffer.
        buffer: CharBuffer,
        /// Library page id.
        page: u16,
    },
    /// UpChar (0x08); the module answers with an ack then data packets.
    UpChar {
        /// Source buffer.
        buffer: CharBuffer,
    },
    /// DownChar (0x09); after the ack the host sends data packets.
    DownChar {
        /// Destination buffer.
        buffer: CharBuffer,
    },
    /// UpImage (0x0A); the module answers with an ack then data packets.
    UpImage,
    /// DownImage (0x0B); after the ack the host sends data packets.
    DownImage,
    /// Delete (0x0C).
    Delete {
        /// First page id to delete.
        start_page: u16,
        /// Number of templates to delete.
        count: u16,
    },
    /// Empty (0x0D).
    Empty,
    /// SetSysPara (0x0E).
    SetSysPara {
        /// Parameter to write.
        parameter: SystemParameter,
        /// New value.
        value: u8,
    },
    /// ReadSysPara (0x0F).
    ReadSysPara,
    /// VfyPwd (0x13).
    VfyPwd {
        /// Password to check.
        password: u32,
    },
    /// HiSpeedSearch (0x1B).
    HiSpeedSearch {
        /// Buffer with the probe features.
        buffer: CharBuffer,
        /// First library page to search.
        start_page: u16,
        /// Number of pages to search.
        page_count: u16,
    },
    /// TemplateNum (0x1D).
    TemplateNum,
    /// ReadIndexTable (0x1F): occupancy of 256 library slots per index page (0..=3).
    ReadIndexTable {
        /// Index page.
        index_page: u8,
    },
}

/// Why a command payload could not be parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CommandParseError {
    /// Empty payload.
    #[error("empty command payload")]
    Empty,
    /// Unknown instruction code.
    #[error("unknown instruction {0:#04x}")]
    UnknownInstruction(u8),
    /// Wrong parameter length for the instruction.
    #[error("instruction {instruction:#04x} needs {expected} parameter bytes, got {got}")]
    WrongLength {
        /// Instruction code.
        instruction: u8,
        /// Expected parameter bytes.
        expected: usize,
        /// Received parameter bytes.
        got: usize,
    },
    /// Invalid parameter value (buffer id, parameter number).
    #[error("instruction {instruction:#04x} has an invalid parameter")]
    InvalidParameter {
        /// Instruction code.
        instruction: u8,
    },
}

impl Command {
    /// The instruction code.
    pub fn instruction(&self) -> u8 {
        use instruction::*;
        match self {
            Command::GenImg => GEN_IMG,
            Command::Img2Tz { .. } => IMG_2_TZ,
            Command::Match => MATCH,
            Command::Search { .. } => SEARCH,
            Command::RegModel => REG_MODEL,
            Command::Store { .. } => STORE,
            Command::LoadChar { .. } => LOAD_CHAR,
            Command::UpChar { .. } => UP_CHAR,
            Command::DownChar { .. } => DOWN_CHAR,
            Command::UpImage => UP_IMAGE,
            Command::DownImage => DOWN_IMAGE,
            Command::Delete { .. } => DELETE,
            Command::Empty => EMPTY,
            Command::SetSysPara { .. } => SET_SYS_PARA,
            Command::ReadSysPara => READ_SYS_PARA,
            Command::VfyPwd { .. } => VFY_PWD,
            Command::HiSpeedSearch { .. } => HI_SPEED_SEARCH,
            Command::TemplateNum => TEMPLATE_NUM,
            Command::ReadIndexTable { .. } => READ_INDEX_TABLE,
        }
    }

    /// Datasheet name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::GenImg => "GenImg",
            Command::Img2Tz { .. } => "Img2Tz",
            Command::Match => "Match",
            Command::Search { .. } => "Search",
            Command::RegModel => "RegModel",
            Command::Store { .. } => "Store",
            Command::LoadChar { .. } => "LoadChar",
            Command::UpChar { .. } => "UpChar",
            Command::DownChar { .. } => "DownChar",
            Command::UpImage => "UpImage",
            Command::DownImage => "DownImage",
            Command::Delete { .. } => "Delete",
            Command::Empty => "Empty",
            Command::SetSysPara { .. } => "SetSysPara",
            Command::ReadSysPara => "ReadSysPara",
            Command::VfyPwd { .. } => "VfyPwd",
            Command::HiSpeedSearch { .. } => "HiSpeedSearch",
            Command::TemplateNum => "TemplateNum",
            Command::ReadIndexTable { .. } => "ReadIndexTable",
        }
    }

    /// Whether sending the command twice has the same effect as once, so the driver may retry
    /// it after a lost or corrupted answer. RegModel overwrites its own inputs and is not.
    pub fn is_idempotent(&self) -> bool {
        !matches!(self, Command::RegModel)
    }

    /// Command packet payload: instruction code then parameters.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.instruction()];
        match *self {
            Command::GenImg
            | Command::Match
            | Command::RegModel
            | Command::UpImage
            | Command::DownImage
            | Command::Empty
            | Command::ReadSysPara
            | Command::TemplateNum => {}
            Command::Img2Tz { buffer }
            | Command::UpChar { buffer }
            | Command::DownChar { buffer } => out.push(buffer.to_byte()),
            Command::Search {
                buffer,
                start_page,
                page_count,
            }
            | Command::HiSpeedSearch {
                buffer,
                start_page,
                page_count,
            } => {
                out.push(buffer.to_byte());
                out.extend_from_slice(&start_page.to_be_bytes());
                out.extend_from_slice(&page_count.to_be_bytes());
            }
            Command::Store { buffer, page } | Command::LoadChar { buffer, page } => {
                out.push(buffer.to_byte());
                out.extend_from_slice(&page.to_be_bytes());
            }
            Command::Delete { start_page, count } => {
                out.extend_from_slice(&start_page.to_be_bytes());
                out.extend_from_slice(&count.to_be_bytes());
            }
            Command::SetSysPara { parameter, value } => {
                out.push(parameter.number());
                out.push(value);
            }
            Command::VfyPwd { password } => out.extend_from_slice(&password.to_be_bytes()),
            Command::ReadIndexTable { index_page } => out.push(index_page),
        }
        out
    }

    /// Parse a command packet payload as the module reads it (any BufferID but 1 means
    /// CharBuffer2).
    pub fn parse(payload: &[u8]) -> Result<Command, CommandParseError> {
        use instruction::*;
        let (&code, params) = payload.split_first().ok_or(CommandParseError::Empty)?;
        let expect = |expected: usize| {
            if params.len() == expected {
                Ok(())
            } else {
                Err(CommandParseError::WrongLength {
                    instruction: code,
                    expected,
                    got: params.len(),
                })
            }
        };
        let invalid = CommandParseError::InvalidParameter { instruction: code };
        // As the module reads it: any BufferID but 1 is CharBuffer2.
        let buffer_at = |index: usize| -> Result<CharBuffer, CommandParseError> {
            params
                .get(index)
                .copied()
                .map(CharBuffer::from_module_byte)
                .ok_or(invalid.clone())
        };
        let u16_at = |index: usize| u16::from_be_bytes([params[index], params[index + 1]]);
        let command = match code {
            GEN_IMG => {
                expect(0)?;
                Command::GenImg
            }
            IMG_2_TZ => {
                expect(1)?;
                Command::Img2Tz {
                    buffer: buffer_at(0)?,
                }
            }
            MATCH => {
                expect(0)?;
                Command::Match
            }
            SEARCH | HI_SPEED_SEARCH => {
                expect(5)?;
                let (buffer, start_page, page_count) = (buffer_at(0)?, u16_at(1), u16_at(3));
                if code == SEARCH {
                    Command::Search {
                        buffer,
                        start_page,
                        page_count,
                    }
                } else {
                    Command::HiSpeedSearch {
                        buffer,
                        start_page,
                        page_count,
                    }
                }
            }
            REG_MODEL => {
                expect(0)?;
                Command::RegModel
            }
            STORE | LOAD_CHAR => {
                expect(3)?;
                let (buffer, page) = (buffer_at(0)?, u16_at(1));
                if code == STORE {
                    Command::Store { buffer, page }
                } else {
                    Command::LoadChar { buffer, page }
                }
            }
            UP_CHAR | DOWN_CHAR => {
                expect(1)?;
                let buffer = buffer_at(0)?;
                if code == UP_CHAR {
                    Command::UpChar { buffer }
                } else {
                    Command::DownChar { buffer }
                }
            }
            UP_IMAGE => {
                expect(0)?;
                Command::UpImage
            }
            DOWN_IMAGE => {
                expect(0)?;
                Command::DownImage
            }
            DELETE => {
                expect(4)?;
                Command::Delete {
                    start_page: u16_at(0),
                    count: u16_at(2),
                }
            }
            EMPTY => {
                expect(0)?;
                Command::Empty
            }
            SET_SYS_PARA => {
                expect(2)?;
                Command::SetSysPara {
                    parameter: SystemParameter::from_number(params[0]).ok_or(invalid)?,
                    value: params[1],
                }
            }
            READ_SYS_PARA => {
                expect(0)?;
                Command::ReadSysPara
            }
            VFY_PWD => {
                expect(4)?;
                Command::VfyPwd {
                    password: u32::from_be_bytes([params[0], params[1], params[2], params[3]]),
                }
            }
            TEMPLATE_NUM => {
                expect(0)?;
                Command::TemplateNum
            }
            READ_INDEX_TABLE => {
                expect(1)?;
                Command::ReadIndexTable {
                    index_page: params[0],
                }
            }
            other => return Err(CommandParseError::UnknownInstruction(other)),
        };
        Ok(command)
    }
}

/// The 16 bytes returned by ReadSysPara.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemParameters {
    /// Status register: bit 0 busy, bit 1 finger matched, bit 2 password verified,
    /// bit 3 image buffer holds a valid image.
    pub status_register: u16,
    /// System identifier code.
    pub system_id: u16,
    /// Template library capacity (pages).
    pub library_capacity: u16,
    /// Security level 1..=5.
    pub security_level: u16,
    /// Module address.
    pub device_address: u32,
    /// Data packet size code (see [`PacketSize`]).
    pub packet_size_code: u16,
    /// Baud rate as a multiple of 9600.
    pub baud_multiplier: u16,
}

impl SystemParameters {
    /// Encoded length.
    pub const LEN: usize = 16;

    /// Serialise as in the ReadSysPara acknowledgement (after the confirmation byte).
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0..2].copy_from_slice(&self.status_register.to_be_bytes());
        out[2..4].copy_from_slice(&self.system_id.to_be_bytes());
        out[4..6].copy_from_slice(&self.library_capacity.to_be_bytes());
        out[6..8].copy_from_slice(&self.security_level.to_be_bytes());
        out[8..12].copy_from_slice(&self.device_address.to_be_bytes());
        out[12..14].copy_from_slice(&self.packet_size_code.to_be_bytes());
        out[14..16].copy_from_slice(&self.baud_multiplier.to_be_bytes());
        out
    }

    /// Parse the ReadSysPara acknowledgement data (after the confirmation byte).
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < Self::LEN {
            return None;
        }
        let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        Some(SystemParameters {
            status_register: u16_at(0),
            system_id: u16_at(2),
            library_capacity: u16_at(4),
            security_level: u16_at(6),
            device_address: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            packet_size_code: u16_at(12),
            baud_multiplier: u16_at(14),
        })
    }

    /// The configured data packet size, if the code is valid.
    pub fn packet_size(&self) -> Option<PacketSize> {
        PacketSize::from_code(self.packet_size_code)
    }

    /// The configured baud rate.
    pub fn baud_rate(&self) -> u32 {
        u32::from(self.baud_multiplier) * 9600
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_commands() -> Vec<Command> {
        use CharBuffer::*;
        vec![
            Command::GenImg,
            Command::Img2Tz { buffer: Two },
            Command::Match,
            Command::Search {
                buffer: One,
                start_page: 3,
                page_count: 0x0123,
            },
            Command::RegModel,
            Command::Store {
                buffer: Two,
                page: 0x0201,
            },
            Command::LoadChar {
                buffer: One,
                page: 7,
            },
            Command::UpChar { buffer: One },
            Command::DownChar { buffer: Two },
            Command::UpImage,
            Command::DownImage,
            Command::Delete {
                start_page: 5,
                count: 2,
            },
            Command::Empty,
            Command::SetSysPara {
                parameter: SystemParameter::PacketSize,
                value: 3,
            },
            Command::ReadSysPara,
            Command::VfyPwd {
                password: 0xDEAD_BEEF,
            },
            Command::HiSpeedSearch {
                buffer: Two,
                start_page: 0,
                page_count: 1000,
            },
            Command::TemplateNum,
            Command::ReadIndexTable { index_page: 2 },
        ]
    }

    #[test]
    fn every_command_round_trips() {
        for command in all_commands() {
            let payload = command.encode();
            assert_eq!(payload[0], command.instruction());
            assert_eq!(Command::parse(&payload), Ok(command), "{}", command.name());
        }
    }

    #[test]
    fn datasheet_layouts() {
        assert_eq!(
            Command::Search {
                buffer: CharBuffer::One,
                start_page: 0,
                page_count: 0x03E8
            }
            .encode(),
            vec![0x04, 0x01, 0x00, 0x00, 0x03, 0xE8]
        );
        assert_eq!(
            Command::VfyPwd { password: 0 }.encode(),
            vec![0x13, 0, 0, 0, 0]
        );
        assert_eq!(
            Command::SetSysPara {
                parameter: SystemParameter::BaudMultiplier,
                value: 6
            }
            .encode(),
            vec![0x0E, 4, 6]
        );
    }

    #[test]
    fn rejects_malformed_payloads() {
        assert_eq!(Command::parse(&[]), Err(CommandParseError::Empty));
        assert_eq!(
            Command::parse(&[0x99]),
            Err(CommandParseError::UnknownInstruction(0x99))
        );
        assert!(matches!(
            Command::parse(&[0x04, 1, 0]),
            Err(CommandParseError::WrongLength { .. })
        ));
        assert!(matches!(
            Command::parse(&[0x0E, 9, 1]),
            Err(CommandParseError::InvalidParameter { .. })
        ));
        // Any BufferID but 1 is CharBuffer2 to the module.
        assert_eq!(
            Command::parse(&[0x02, 3]),
            Ok(Command::Img2Tz {
                buffer: CharBuffer::Two
            })
        );
    }

    #[test]
    fn every_instruction_has_a_fixed_acknowledgement_length() {
        for command in all_commands() {
            assert!(
                instruction::ack_params_len(command.instruction()).is_some(),
                "{}",
                command.name()
            );
        }
        assert_eq!(instruction::ack_params_len(0x99), None);
    }

    #[test]
    fn transfer_time_counts_every_packet_on_the_line() {
        // The 36864-byte image at 57600 baud: 288 packets of 128 bytes, 11 bytes of framing
        // each, plus the 12-byte acknowledgement: 40044 bytes of 10 bits.
        let image = PacketSize::Bytes128.transfer_time(36_864, 57_600);
        assert_eq!(image.as_millis(), 6_952);
        assert_eq!(
            PacketSize::Bytes32
                .transfer_time(36_864, 57_600)
                .as_millis(),
            8_602
        );
        assert!(PacketSize::Bytes256.transfer_time(36_864, 115_200) < image / 2);
    }

    #[test]
    fn system_parameters_round_trip() {
        let parameters = SystemParameters {
            status_register: 0b1100,
            system_id: 9,
            library_capacity: 1000,
            security_level: 3,
            device_address: 0xFFFF_FFFF,
            packet_size_code: 2,
            baud_multiplier: 6,
        };
        assert_eq!(
            SystemParameters::parse(&parameters.encode()),
            Some(parameters)
        );
        assert_eq!(parameters.packet_size(), Some(PacketSize::Bytes128));
        assert_eq!(parameters.baud_rate(), 57_600);
        assert_eq!(SystemParameters::parse(&[0; 15]), None);
    }
}

//! The R30x / ZFM packet framing exactly as the ZFM-70 user manual's §5.1 gives it, written
//! independently of the crate's encoder so tests can hold the simulator and the driver to the
//! manual: `EF01`, module address (4), package identifier (1), package length (2: payload + 2),
//! payload, checksum (2: 16-bit sum of identifier, length bytes and payload).
#![allow(dead_code, clippy::unwrap_used)]

/// Package identifiers (§5.1).
pub const COMMAND: u8 = 0x01;
/// A data package with more to follow.
pub const DATA: u8 = 0x02;
/// An acknowledge package.
pub const ACK: u8 = 0x07;
/// The last data package.
pub const END_OF_DATA: u8 = 0x08;
/// The factory module address (§4.6).
pub const FACTORY_ADDRESS: [u8; 4] = [0xFF; 4];

/// One package for the factory address.
pub fn package(identifier: u8, payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len() + 2).unwrap();
    let mut bytes = vec![0xEF, 0x01];
    bytes.extend_from_slice(&FACTORY_ADDRESS);
    bytes.push(identifier);
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(payload);
    let sum = bytes[6..]
        .iter()
        .fold(0u16, |sum, byte| sum.wrapping_add(u16::from(*byte)));
    bytes.extend_from_slice(&sum.to_be_bytes());
    bytes
}

/// A package as it crossed the line.
#[derive(Debug, Clone)]
pub struct Package {
    /// Package identifier.
    pub identifier: u8,
    /// The package length field (payload + 2).
    pub length_field: u16,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Split a byte stream into packages, asserting the §5.1 framing of each (header, factory
/// address, length, checksum).
pub fn packages(mut bytes: &[u8]) -> Vec<Package> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 11, "truncated package: {bytes:02X?}");
        assert_eq!(&bytes[..2], &[0xEF, 0x01], "header");
        assert_eq!(&bytes[2..6], &FACTORY_ADDRESS, "module address");
        let identifier = bytes[6];
        let length_field = u16::from_be_bytes([bytes[7], bytes[8]]);
        let end = 9 + usize::from(length_field);
        assert!(bytes.len() >= end, "package shorter than its length field");
        let payload = bytes[9..end - 2].to_vec();
        let sum = bytes[6..end - 2]
            .iter()
            .fold(0u16, |sum, byte| sum.wrapping_add(u16::from(*byte)));
        assert_eq!(
            u16::from_be_bytes([bytes[end - 2], bytes[end - 1]]),
            sum,
            "checksum"
        );
        out.push(Package {
            identifier,
            length_field,
            payload,
        });
        bytes = &bytes[end..];
    }
    out
}

/// One command of a recorded conversation: the host's command package, the data packages the
/// host sent after it (DownChar, DownImage), the module's acknowledgement and the data
/// packages the module sent after it (UpChar, UpImage).
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The command package.
    pub command: Package,
    /// Data packages from the host.
    pub host_data: Vec<Package>,
    /// The acknowledgement.
    pub ack: Package,
    /// Data packages from the module.
    pub module_data: Vec<Package>,
}

/// Pair the host's commands with the module's answers, in order (a clean line: every command
/// answered once).
pub fn conversation(from_host: &[u8], to_host: &[u8]) -> Vec<Exchange> {
    let mut answers = packages(to_host).into_iter().peekable();
    let mut exchanges: Vec<Exchange> = Vec::new();
    for package in packages(from_host) {
        if package.identifier != COMMAND {
            exchanges.last_mut().unwrap().host_data.push(package);
            continue;
        }
        let ack = answers.next().unwrap();
        assert_eq!(
            ack.identifier, ACK,
            "an answer starts with its acknowledgement"
        );
        let mut module_data = Vec::new();
        while let Some(data) = answers.next_if(|p| p.identifier != ACK) {
            module_data.push(data);
        }
        exchanges.push(Exchange {
            command: package,
            host_data: Vec::new(),
            ack,
            module_data,
        });
    }
    exchanges
}

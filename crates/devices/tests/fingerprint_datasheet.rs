//! The module SIMULATOR against the datasheet, byte for byte, over a real pty: raw command
//! packets built here from the manual (not with our encoder), raw replies parsed here and
//! checked against the reply lengths the manual gives for every instruction, on success and on
//! refusal.
//!
//! Source: ZFM-70 series fingerprint identification module user manual (Hangzhou Zhian
//! Technologies; the same protocol as the R30x / AS608 manuals): §5.1 package format, §6.2
//! system instructions, §6.3 fingerprint instructions. HiSpeedSearch (1BH) is not in the ZFM-70
//! manual; the R30x (R305/R307) manual gives it the acknowledge of Search.
#![cfg(feature = "serial")]
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use devices::fingerprint::simulator::{
    ModuleSimulator, SimulatedFinger, SimulatedModuleConfig, SimulatorOptions,
};
use serialport::SerialPort;

#[path = "support/r30x_manual.rs"]
mod r30x_manual;
use r30x_manual::{ACK, COMMAND, DATA, END_OF_DATA, FACTORY_ADDRESS, Package, package, packages};

/// The acknowledge package length field (payload + 2 checksum bytes) of every instruction, as
/// the manual's "Acknowledge package format" tables give it. It is the same on success and on
/// refusal: the manual lists one fixed format per instruction.
const MANUAL: &[(&str, u8, &str, u16)] = &[
    ("GenImg", 0x01, "§6.3.1", 0x0003),
    ("Img2Tz", 0x02, "§6.3.11", 0x0003),
    ("Match", 0x03, "§6.3.19", 0x0005),
    ("Search", 0x04, "§6.3.20", 0x0007),
    ("RegModel", 0x05, "§6.3.12", 0x0003),
    ("Store", 0x06, "§6.3.15", 0x0003),
    ("LoadChar", 0x07, "§6.3.16", 0x0003),
    ("UpChar", 0x08, "§6.3.13", 0x0003),
    ("DownChar", 0x09, "§6.3.14", 0x0003),
    ("UpImage", 0x0A, "§6.3.9", 0x0003),
    ("DownImage", 0x0B, "§6.3.10", 0x0003),
    ("DeletChar", 0x0C, "§6.3.17", 0x0003),
    ("Empty", 0x0D, "§6.3.18", 0x0003),
    ("SetSysPara", 0x0E, "§6.2.4", 0x0003),
    ("ReadSysPara", 0x0F, "§6.2.5", 0x0013),
    ("VfyPwd", 0x13, "§6.2.1", 0x0003),
    ("HiSpeedSearch", 0x1B, "R30x manual", 0x0007),
    ("TemplateNum", 0x1D, "§6.2.7", 0x0005),
    ("ReadConList", 0x1F, "§6.2.6", 0x0023),
];

fn manual_length(instruction: u8) -> (&'static str, u16) {
    let (_, _, section, length) = MANUAL
        .iter()
        .find(|(_, code, _, _)| *code == instruction)
        .unwrap();
    (section, *length)
}

/// The simulator and a raw serial line to it.
struct Bench {
    simulator: ModuleSimulator,
    line: Box<dyn SerialPort>,
}

impl Bench {
    fn start(module: SimulatedModuleConfig) -> Self {
        let simulator = ModuleSimulator::start(SimulatorOptions {
            module,
            pace_to_baud_rate: false,
            ..SimulatorOptions::default()
        })
        .unwrap();
        let line = serialport::new(simulator.port_path().display().to_string(), 57_600)
            .timeout(Duration::from_millis(20))
            .open()
            .unwrap();
        Bench { simulator, line }
    }

    fn factory() -> Self {
        Self::start(SimulatedModuleConfig::default())
    }

    /// A module whose password was changed and not verified yet: it refuses every instruction
    /// but VfyPwd with 21H (§4.5).
    fn locked() -> Self {
        Self::start(SimulatedModuleConfig {
            password: 0x0000_1234,
            ..SimulatedModuleConfig::default()
        })
    }

    /// Send raw bytes, collect what comes back until the line has been quiet for a while.
    fn raw(&mut self, bytes: &[u8]) -> Vec<Package> {
        self.line.write_all(bytes).unwrap();
        self.line.flush().unwrap();
        let mut received = Vec::new();
        let started = Instant::now();
        let mut last_byte = Instant::now();
        let mut chunk = [0u8; 1024];
        while started.elapsed() < Duration::from_secs(5)
            && (received.is_empty() || last_byte.elapsed() < Duration::from_millis(150))
        {
            match self.line.read(&mut chunk) {
                Ok(n) if n > 0 => {
                    received.extend_from_slice(&chunk[..n]);
                    last_byte = Instant::now();
                }
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::TimedOut => {}
                Err(error) => panic!("{error}"),
            }
        }
        packages(&received)
    }

    /// Send one command package (instruction + parameters).
    fn command(&mut self, instruction: u8, parameters: &[u8]) -> Vec<Package> {
        let mut payload = vec![instruction];
        payload.extend_from_slice(parameters);
        self.raw(&package(COMMAND, &payload))
    }

    /// Send a command that must succeed; only its acknowledgement is returned.
    fn ok(&mut self, instruction: u8, parameters: &[u8]) -> Package {
        let mut replies = self.command(instruction, parameters);
        assert_eq!(
            replies[0].payload[0], 0x00,
            "{instruction:#04x}: {replies:?}"
        );
        replies.remove(0)
    }
}

/// Check one acknowledgement against the manual's table; returns its confirmation code.
fn check(instruction: u8, ack: &Package) -> u8 {
    let (section, length) = manual_length(instruction);
    assert_eq!(
        ack.identifier, ACK,
        "{instruction:#04x}: acknowledge identifier"
    );
    assert_eq!(
        ack.length_field, length,
        "{instruction:#04x} ({section}): acknowledge package length, confirmation {:#04x}",
        ack.payload[0]
    );
    assert_eq!(usize::from(ack.length_field), ack.payload.len() + 2);
    ack.payload[0]
}

/// The only reply to `instruction` is one acknowledgement; check it, return the confirmation.
fn only_ack(instruction: u8, replies: &[Package]) -> u8 {
    assert_eq!(replies.len(), 1, "{instruction:#04x}: {replies:?}");
    check(instruction, &replies[0])
}

/// Put a template of `finger` into library `page` (no wire traffic).
fn enrolled(bench: &Bench, page: u16, finger: SimulatedFinger) {
    assert!(
        bench
            .simulator
            .with_module(|module| module.enroll_synthetic(page, finger))
    );
}

/// Every instruction refuses with 21H on a locked module, in its fixed reply length.
fn refused_while_locked(instruction: u8, parameters: &[u8]) {
    let mut bench = Bench::locked();
    let replies = bench.command(instruction, parameters);
    assert_eq!(only_ack(instruction, &replies), 0x21);
}

#[test]
fn gen_img_0x01() {
    let mut bench = Bench::factory();
    // §5.3 gives this exchange byte for byte: no finger, confirmation 02H.
    bench
        .line
        .write_all(&[
            0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x03, 0x01, 0x00, 0x05,
        ])
        .unwrap();
    let replies = bench.raw(&[]);
    assert_eq!(only_ack(0x01, &replies), 0x02);
    assert_eq!(
        package(ACK, &[0x02]),
        [
            0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x03, 0x02, 0x00, 0x0C
        ]
    );
    bench.simulator.place_finger(SimulatedFinger::good(1));
    assert_eq!(only_ack(0x01, &bench.command(0x01, &[])), 0x00);
    refused_while_locked(0x01, &[]);
}

#[test]
fn img_2_tz_0x02() {
    let mut bench = Bench::factory();
    // No image yet: 15H.
    assert_eq!(only_ack(0x02, &bench.command(0x02, &[1])), 0x15);
    bench.simulator.place_finger(SimulatedFinger::good(2));
    bench.ok(0x01, &[]);
    assert_eq!(only_ack(0x02, &bench.command(0x02, &[1])), 0x00);
    refused_while_locked(0x02, &[1]);
}

#[test]
fn match_0x03() {
    let mut bench = Bench::factory();
    enrolled(&bench, 0, SimulatedFinger::good(3));
    enrolled(&bench, 1, SimulatedFinger::good(4));
    enrolled(&bench, 2, SimulatedFinger::good(3));
    // Different fingers: 08H, and the matching score is still there (§6.3.19: length 05H).
    bench.ok(0x07, &[1, 0, 0]);
    bench.ok(0x07, &[2, 0, 1]);
    let refused = bench.command(0x03, &[]);
    assert_eq!(only_ack(0x03, &refused), 0x08);
    assert_eq!(refused[0].payload.len(), 3, "confirmation + 2-byte score");
    // The same finger: 00H with its score.
    bench.ok(0x07, &[2, 0, 2]);
    let matched = bench.command(0x03, &[]);
    assert_eq!(only_ack(0x03, &matched), 0x00);
    assert!(u16::from_be_bytes([matched[0].payload[1], matched[0].payload[2]]) > 0);
    refused_while_locked(0x03, &[]);
}

/// Search and HiSpeedSearch answer alike: PageID and score, both 0 when nothing is found.
fn search(instruction: u8) {
    let mut bench = Bench::factory();
    enrolled(&bench, 5, SimulatedFinger::good(6));
    enrolled(&bench, 9, SimulatedFinger::good(7));
    bench.ok(0x07, &[1, 0, 9]);
    // BufferID 1, StartPage 0, PageNum 5: page 9 is outside the range searched.
    let missed = bench.command(instruction, &[1, 0, 0, 0, 5]);
    assert_eq!(only_ack(instruction, &missed), 0x09);
    assert_eq!(
        missed[0].payload[1..],
        [0, 0, 0, 0],
        "PageID and score are 0"
    );
    let found = bench.command(instruction, &[1, 0, 0, 0x03, 0xE8]);
    assert_eq!(only_ack(instruction, &found), 0x00);
    assert_eq!(found[0].payload[1..3], [0, 9], "PageID");
    // A command package of the wrong length: 01H, still in the instruction's reply length.
    let garbled = bench.command(instruction, &[1, 0, 0]);
    assert_eq!(only_ack(instruction, &garbled), 0x01);
    refused_while_locked(instruction, &[1, 0, 0, 0x03, 0xE8]);
}

#[test]
fn search_0x04() {
    search(0x04);
}

#[test]
fn hi_speed_search_0x1b() {
    search(0x1B);
}

#[test]
fn reg_model_0x05() {
    let mut bench = Bench::factory();
    enrolled(&bench, 0, SimulatedFinger::good(10));
    enrolled(&bench, 1, SimulatedFinger::good(11));
    bench.ok(0x07, &[1, 0, 0]);
    bench.ok(0x07, &[2, 0, 1]);
    assert_eq!(only_ack(0x05, &bench.command(0x05, &[])), 0x0A);
    bench.ok(0x07, &[2, 0, 0]);
    assert_eq!(only_ack(0x05, &bench.command(0x05, &[])), 0x00);
    refused_while_locked(0x05, &[]);
}

#[test]
fn store_0x06() {
    let mut bench = Bench::factory();
    enrolled(&bench, 0, SimulatedFinger::good(12));
    bench.ok(0x07, &[1, 0, 0]);
    // Page 1000 is beyond a 1000-page library: 0BH.
    assert_eq!(only_ack(0x06, &bench.command(0x06, &[1, 0x03, 0xE8])), 0x0B);
    assert_eq!(only_ack(0x06, &bench.command(0x06, &[1, 0, 1])), 0x00);
    refused_while_locked(0x06, &[1, 0, 1]);
}

#[test]
fn load_char_0x07() {
    let mut bench = Bench::factory();
    enrolled(&bench, 0, SimulatedFinger::good(13));
    // An empty page: 0CH.
    assert_eq!(only_ack(0x07, &bench.command(0x07, &[1, 0, 1])), 0x0C);
    assert_eq!(only_ack(0x07, &bench.command(0x07, &[1, 0, 0])), 0x00);
    refused_while_locked(0x07, &[1, 0, 0]);
}

#[test]
fn up_char_0x08() {
    let mut bench = Bench::factory();
    // Nothing in the buffer: 0DH and no data packets.
    assert_eq!(only_ack(0x08, &bench.command(0x08, &[1])), 0x0D);
    enrolled(&bench, 0, SimulatedFinger::good(14));
    bench.ok(0x07, &[1, 0, 0]);
    let replies = bench.command(0x08, &[1]);
    assert_eq!(check(0x08, &replies[0]), 0x00);
    // Then the template in data packets of the factory size (128 bytes, §4.3.3), the last one
    // an end package (§6.3.13).
    let data = &replies[1..];
    assert_eq!(data.len(), 4);
    for (index, packet) in data.iter().enumerate() {
        let last = index + 1 == data.len();
        assert_eq!(packet.identifier, if last { END_OF_DATA } else { DATA });
        assert_eq!(packet.length_field, 128 + 2);
    }
    refused_while_locked(0x08, &[1]);
}

#[test]
fn down_char_0x09() {
    let mut bench = Bench::factory();
    enrolled(&bench, 0, SimulatedFinger::good(15));
    bench.ok(0x07, &[1, 0, 0]);
    let template: Vec<u8> = bench.command(0x08, &[1])[1..]
        .iter()
        .flat_map(|packet| packet.payload.clone())
        .collect();
    assert_eq!(only_ack(0x09, &bench.command(0x09, &[2])), 0x00);
    // The host's data packets get no answer (§6.3.14)...
    for (index, chunk) in template.chunks(128).enumerate() {
        let identifier = if index == 3 { END_OF_DATA } else { DATA };
        assert!(bench.raw(&package(identifier, chunk)).is_empty());
    }
    // ...and the template is in CharBuffer2: it matches its own copy in CharBuffer1.
    assert_eq!(only_ack(0x03, &bench.command(0x03, &[])), 0x00);
    refused_while_locked(0x09, &[2]);
}

#[test]
fn up_image_0x0a() {
    let mut bench = Bench::factory();
    assert_eq!(only_ack(0x0A, &bench.command(0x0A, &[])), 0x0F);
    bench.simulator.place_finger(SimulatedFinger::good(16));
    bench.ok(0x01, &[]);
    let replies = bench.command(0x0A, &[]);
    assert_eq!(check(0x0A, &replies[0]), 0x00);
    // 256 x 288 pixels, two 4-bit pixels per byte: 36864 bytes in 288 packets of 128.
    assert_eq!(replies.len(), 1 + 288);
    let bytes: usize = replies[1..].iter().map(|packet| packet.payload.len()).sum();
    assert_eq!(bytes, 36_864);
    assert_eq!(replies.last().unwrap().identifier, END_OF_DATA);
    refused_while_locked(0x0A, &[]);
}

#[test]
fn down_image_0x0b() {
    let mut bench = Bench::factory();
    assert_eq!(only_ack(0x0B, &bench.command(0x0B, &[])), 0x00);
    refused_while_locked(0x0B, &[]);
}

#[test]
fn delet_char_0x0c() {
    let mut bench = Bench::factory();
    enrolled(&bench, 3, SimulatedFinger::good(17));
    // N = 0 templates, or a range past the library: 10H (fail to delete templates).
    assert_eq!(only_ack(0x0C, &bench.command(0x0C, &[0, 3, 0, 0])), 0x10);
    assert_eq!(
        only_ack(0x0C, &bench.command(0x0C, &[0x03, 0xE7, 0, 2])),
        0x10
    );
    assert_eq!(only_ack(0x0C, &bench.command(0x0C, &[0, 3, 0, 1])), 0x00);
    assert!(!bench.simulator.with_module(|module| module.has_template(3)));
    refused_while_locked(0x0C, &[0, 3, 0, 1]);
}

#[test]
fn empty_0x0d() {
    let mut bench = Bench::factory();
    enrolled(&bench, 3, SimulatedFinger::good(18));
    assert_eq!(only_ack(0x0D, &bench.command(0x0D, &[])), 0x00);
    assert_eq!(
        bench
            .simulator
            .with_module(|module| module.template_count()),
        0
    );
    refused_while_locked(0x0D, &[]);
}

#[test]
fn set_sys_para_0x0e() {
    let mut bench = Bench::factory();
    // Register 7 does not exist: 1AH (§6.2.4).
    assert_eq!(only_ack(0x0E, &bench.command(0x0E, &[7, 1])), 0x1A);
    // Security level 4 (§4.3.2).
    assert_eq!(only_ack(0x0E, &bench.command(0x0E, &[5, 4])), 0x00);
    refused_while_locked(0x0E, &[5, 4]);
}

#[test]
fn read_sys_para_0x0f() {
    let mut bench = Bench::factory();
    let reply = bench.ok(0x0F, &[]);
    check(0x0F, &reply);
    // §6.2.5: system identifier 0009H, library size, security level, address, packet size
    // code, baud multiple N; the factory values (§4.3, §4.6).
    let words = &reply.payload[1..];
    assert_eq!(words[2..4], [0x00, 0x09], "system identifier code");
    assert_eq!(words[6..8], [0x00, 0x03], "security level 3");
    assert_eq!(words[8..12], FACTORY_ADDRESS, "device address");
    assert_eq!(words[12..14], [0x00, 0x02], "128-byte packets");
    assert_eq!(words[14..16], [0x00, 0x06], "57600 baud");
    refused_while_locked(0x0F, &[]);
}

#[test]
fn vfy_pwd_0x13() {
    let mut bench = Bench::factory();
    // The factory password is 00000000 (§4.5); anything else is wrong: 13H.
    assert_eq!(only_ack(0x13, &bench.command(0x13, &[0xFF; 4])), 0x13);
    assert_eq!(only_ack(0x13, &bench.command(0x13, &[0; 4])), 0x00);
    // A module with its own password answers only that one.
    let mut locked = Bench::locked();
    assert_eq!(only_ack(0x13, &locked.command(0x13, &[0; 4])), 0x13);
    assert_eq!(
        only_ack(0x13, &locked.command(0x13, &[0, 0, 0x12, 0x34])),
        0x00
    );
    assert_eq!(only_ack(0x1D, &locked.command(0x1D, &[])), 0x00);
}

#[test]
fn template_num_0x1d() {
    let mut bench = Bench::factory();
    enrolled(&bench, 3, SimulatedFinger::good(19));
    enrolled(&bench, 700, SimulatedFinger::good(20));
    let reply = bench.ok(0x1D, &[]);
    check(0x1D, &reply);
    assert_eq!(reply.payload[1..], [0, 2]);
    refused_while_locked(0x1D, &[]);
}

#[test]
fn read_con_list_0x1f() {
    let mut bench = Bench::factory();
    enrolled(&bench, 1, SimulatedFinger::good(21));
    enrolled(&bench, 258, SimulatedFinger::good(22));
    let first = bench.ok(0x1F, &[0]);
    check(0x1F, &first);
    // §6.2.6: template n of the list page is bit (n mod 8) of byte n / 8.
    assert_eq!(first.payload[1], 0b0000_0010);
    let second = bench.ok(0x1F, &[1]);
    assert_eq!(second.payload[1], 0b0000_0100);
    refused_while_locked(0x1F, &[0]);
}

#[test]
fn every_instruction_of_the_table_is_tested() {
    // One test above per row; this keeps the table and the tests from drifting apart.
    let source = include_str!("fingerprint_datasheet.rs");
    for (name, code, section, _) in MANUAL {
        let suffix = format!("_{code:#04x}()").to_lowercase();
        assert!(
            source.contains(&suffix),
            "no test for {name} ({code:#04x}, {section})"
        );
    }
}

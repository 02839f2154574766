//! Every parser that reads outside bytes gets random and mutated inputs; none may panic.
//! (The cargo-fuzz targets in `fuzz/` do the same with coverage guidance.)
#![allow(clippy::unwrap_used)]

use mrtd::apdu::{CommandApdu, ResponseApdu};
use mrtd::crypto::{CipherSuite, SessionKeys};
use mrtd::lds::{self, build};
use mrtd::sm::SecureMessaging;
use mrtd::{mrz, reader, security_info, tlv};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
    /// A copy of `seed` with a few random edits (flip, truncate, insert, length-byte tweak).
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut v = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            match self.below(4) {
                0 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] ^= 1 << self.below(8);
                }
                1 => v.truncate(self.below(v.len() + 1)),
                2 => {
                    let i = self.below(v.len() + 1);
                    v.insert(i, self.next() as u8);
                }
                _ if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] = [0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF][self.below(7)];
                }
                _ => {}
            }
        }
        v
    }
}

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

fn parse_everything(data: &[u8]) {
    let _ = lds::EfCom::parse(data);
    let _ = lds::Dg1::parse(data);
    let _ = lds::Dg2::parse(data);
    let _ = lds::Dg7::parse(data);
    let _ = lds::Dg11::parse(data);
    let _ = lds::Dg12::parse(data);
    let _ = lds::Dg14::parse(data);
    let _ = lds::Dg15::parse(data);
    let _ = lds::Sod::parse(data);
    let _ = lds::parse_facial_block(data);
    let _ = security_info::parse_security_infos(data);
    let _ = tlv::parse_all(data);
    let _ = CommandApdu::parse(data);
    let _ = ResponseApdu::parse(data);
    let _ = reader::atr_supports_extended_length(data);
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    let _ = mrz::Mrz::parse(&lines);
    for cipher in [CipherSuite::Tdes, CipherSuite::Aes128] {
        let mut sm = SecureMessaging::new(SessionKeys::derive(b"k", cipher), &[]);
        let _ = sm.unwrap_response(data);
        let _ = sm.unwrap_command(data);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let data = rng.bytes(300);
        parse_everything(&data);
    }
}

#[test]
fn mutated_valid_inputs_never_panic() {
    let seeds = [
        build::ef_com(&[lds::FileId::DataGroup(1), lds::FileId::DataGroup(2)]),
        build::dg1(&TD3),
        build::dg2(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4], 10, 10, false),
        build::sod_unsigned(&[(1, b"one"), (2, b"two")]),
        hex::decode("31143012060A04007F0007020204020202010202010D").unwrap(),
        hex::decode("0CB000000D9701048E08ED6705417E96BA5500").unwrap(),
        format!("{}\n{}", TD3[0], TD3[1]).into_bytes(),
    ];
    let mut rng = Rng(42);
    for _ in 0..4000 {
        let seed = &seeds[rng.below(seeds.len())];
        let data = rng.mutate(seed);
        parse_everything(&data);
    }
}

#[test]
fn pace_and_bac_terminals_survive_garbage_responses() {
    use mrtd::bac::{BacKeys, BacTerminal};
    use mrtd::mrz::MrzInformation;
    use mrtd::pace::PacePassword;

    let password = PacePassword::Can("123456".into());
    let mut rng = Rng(7);
    // ECDH-GM brainpoolP256r1 (ICAO Appendix G), DH-GM on the 2048-bit group, ECDH-IM on
    // secp192r1 with 3DES, DH-IM on the 1024-bit group, ECDH-CAM on brainpoolP384r1.
    for (mapping, cipher, id, rounds) in [
        (2u8, 2u8, 13u64, 60),
        (1, 2, 2, 12),
        (4, 1, 8, 40),
        (3, 4, 0, 20),
        (6, 4, 16, 20),
    ] {
        let mut oid = security_info::ID_PACE.to_vec();
        oid.extend([mapping, cipher]);
        let info = security_info::PaceInfo {
            protocol: security_info::ObjectIdentifier(oid),
            version: 2,
            parameter_id: Some(id),
        };
        garbage_rounds(&info, &password, &mut rng, rounds);
    }
    let keys = BacKeys::from_mrz(&MrzInformation::new("L898902C", "690806", "940623").unwrap());
    for _ in 0..500 {
        let terminal = BacTerminal::new(keys.clone(), [1; 8]).unwrap();
        assert!(terminal.finish(&rng.bytes(60)).is_err());
    }
}

/// `rounds` PACE runs whose chip response at a rotating step is mutated: the terminal must
/// return an error or go on, never panic.
fn garbage_rounds(
    info: &security_info::PaceInfo,
    password: &mrtd::pace::PacePassword,
    rng: &mut Rng,
    rounds: usize,
) {
    use mrtd::pace::{PaceChip, PaceTerminal};
    for round in 0..rounds {
        // Valid exchanges up to a random step, then a mutated chip response.
        // A chip key for CAM (ignored by the other mappings).
        let mut chip = PaceChip::new(info, password)
            .unwrap()
            .with_chip_key(&[0x11; 32]);
        let mut terminal = PaceTerminal::new(info, password).unwrap();
        let stop = round % 4;
        let mut command = terminal.first_command();
        for step in 0..4 {
            let (response, _) = chip.general_authenticate(&command.data).unwrap();
            let response = if step == stop {
                rng.mutate(&response)
            } else {
                response
            };
            let next = match step {
                0 => terminal.handle_nonce(&response),
                1 => terminal.handle_mapping(&response),
                2 => terminal.handle_key_agreement(&response),
                _ => terminal.finish(&response).map(|_| command.clone()),
            };
            match next {
                Ok(c) => command = c,
                Err(_) => break,
            }
            if step == stop {
                break;
            }
        }
    }
}

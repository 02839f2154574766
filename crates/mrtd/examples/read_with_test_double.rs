//! Measures APDU count and wall time of a full document read (EF.CardAccess probe, access
//! control, EF.COM, DG1, a ~20 KB DG2, EF.SOD) against the in-memory `TestDoubleChip` of the
//! integration tests. This measures this crate's protocol and crypto cost only: no reader, no
//! radio. Run: `cargo run --release -p mrtd --example read_with_test_double`.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use mrtd::lds::{FileId, build};
use mrtd::mrz::Mrz;
use mrtd::pace::PacePassword;
use mrtd::reader::{ChipReader, ReaderOptions};

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

fn main() {
    let info = Mrz::parse(&TD3).unwrap().mrz_information().clone();
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend((0..20_000 - 4).map(|i| (i * 31 % 251) as u8));
    let cases = [
        ("BAC 3DES", None),
        (
            "PACE brainpoolP256r1 AES-128",
            Some("31143012060A04007F0007020204020202010202010D"),
        ),
        (
            "PACE brainpoolP384r1 AES-256",
            Some("31143012060A04007F00070202040204020102020110"),
        ),
        (
            "PACE secp256r1 AES-128",
            Some("31143012060A04007F0007020204020202010202010C"),
        ),
    ];
    println!(
        "{:<32} {:>9} {:>7} {:>10}",
        "access", "extended", "APDUs", "time (ms)"
    );
    for (name, card_access) in cases {
        for extended_length in [false, true] {
            let mut files = BTreeMap::new();
            if let Some(ca) = card_access {
                files.insert(FileId::CardAccess, hex::decode(ca).unwrap());
            }
            let dg1 = build::dg1(&TD3);
            let dg2 = build::dg2(&jpeg, 480, 640, false);
            files.insert(
                FileId::Com,
                build::ef_com(&[FileId::DataGroup(1), FileId::DataGroup(2)]),
            );
            files.insert(FileId::Sod, build::sod_unsigned(&[(1, &dg1), (2, &dg2)]));
            files.insert(FileId::DataGroup(1), dg1);
            files.insert(FileId::DataGroup(2), dg2);
            let runs = 5;
            let mut apdus = 0;
            let start = Instant::now();
            for _ in 0..runs {
                let chip = common::TestDoubleChip::new(info.clone(), files.clone());
                let options = ReaderOptions {
                    extended_length,
                    ..ReaderOptions::default()
                };
                let doc = ChipReader::new(chip, options)
                    .read_document(&PacePassword::Mrz(info.clone()))
                    .unwrap();
                apdus = doc.apdu_count;
            }
            let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
            println!("{name:<32} {extended_length:>9} {apdus:>7} {ms:>10.1}");
        }
    }
}

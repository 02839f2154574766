//! Writes valid seed inputs for the cargo-fuzz targets: `cargo run -p mrtd --example
//! write_fuzz_seeds -- crates/mrtd/fuzz/corpus`. Seeds are synthetic (ICAO specimen data).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use mrtd::lds::{FileId, build};

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];
const TD1: [&str; 3] = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
];

fn write(root: &Path, target: &str, name: &str, data: &[u8]) {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .expect("usage: write_fuzz_seeds DIR");
    let root = Path::new(&root);
    write(root, "mrz", "td3", TD3.join("\n").as_bytes());
    write(root, "mrz", "td1", TD1.join("\n").as_bytes());
    write(
        root,
        "ef_com",
        "appendix_d",
        &hex::decode("60145F0104303130365F36063034303030305C026175").unwrap(),
    );
    write(
        root,
        "ef_com",
        "many",
        &build::ef_com(&(1..=16).map(FileId::DataGroup).collect::<Vec<_>>()),
    );
    write(root, "dg1", "td3", &build::dg1(&TD3));
    write(root, "dg1", "td1", &build::dg1(&TD1));
    write(
        root,
        "dg2",
        "jpeg",
        &build::dg2(
            &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46],
            480,
            640,
            false,
        ),
    );
    write(
        root,
        "dg2",
        "j2k",
        &build::dg2(&[0xFF, 0x4F, 0xFF, 0x51, 0, 0x2F], 480, 640, true),
    );
    write(
        root,
        "sod",
        "two_groups",
        &build::sod_unsigned(&[(1, &build::dg1(&TD3)), (2, b"dg2")]),
    );
    write(
        root,
        "card_access",
        "appendix_g",
        &hex::decode("31143012060A04007F0007020204020202010202010D").unwrap(),
    );
    write(
        root,
        "card_access",
        "aa_and_unknown",
        &hex::decode("3118300B06066781080101050201013009060453454354020101").unwrap(),
    );
    write(
        root,
        "lds_misc",
        "dg12",
        &mrtd::tlv::encode(0x6C, &mrtd::tlv::encode(0x5F26, b"20120415")),
    );
    write(
        root,
        "sm_unwrap",
        "d4_response",
        &hex::decode("00990290008E08FA855A5D4C50A8ED9000").unwrap(),
    );
    write(
        root,
        "sm_unwrap",
        "valid_mac_do87",
        &hex::decode("808709019FF0EC34F9922651990290").unwrap(),
    );
    write(
        root,
        "apdu",
        "d4_select",
        &hex::decode("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800").unwrap(),
    );
    write(
        root,
        "apdu",
        "extended",
        &hex::decode("00B00000000100").unwrap(),
    );
    write(
        root,
        "card_access",
        "card_security",
        &build::card_security_unsigned(&[]),
    );
    // A complete, valid PACE-GM exchange for the terminal keys the pace_responses target uses.
    let info = mrtd::security_info::PaceInfo {
        protocol: mrtd::security_info::ObjectIdentifier(vec![
            0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 2, 2,
        ]),
        version: 2,
        parameter_id: Some(13),
    };
    let password = mrtd::pace::PacePassword::Can("123456".into());
    let mut chip =
        mrtd::pace::PaceChip::with_secrets(&info, &password, &[3; 16], &[5; 32], &[6; 32]).unwrap();
    let mut terminal =
        mrtd::pace::PaceTerminal::with_keys(&info, &password, &[7; 32], &[9; 32]).unwrap();
    let mut seed = vec![0u8];
    let mut command = terminal.first_command();
    for step in 0..4 {
        let (response, _) = chip.general_authenticate(&command.data).unwrap();
        seed.push(response.len() as u8);
        seed.extend_from_slice(&response);
        command = match step {
            0 => terminal.handle_nonce(&response).unwrap(),
            1 => terminal.handle_mapping(&response).unwrap(),
            2 => terminal.handle_key_agreement(&response).unwrap(),
            _ => {
                terminal.finish(&response).unwrap();
                command
            }
        };
    }
    write(root, "pace_responses", "gm_bp256", &seed);
}

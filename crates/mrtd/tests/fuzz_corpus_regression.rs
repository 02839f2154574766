//! Replays the committed cargo-fuzz corpus (`fuzz/corpus/`) through the same parsers on
//! stable Rust, so inputs the fuzzers once found interesting stay covered in normal test runs.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use mrtd::crypto::{CipherSuite, SessionKeys};
use mrtd::sm::SecureMessaging;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "fuzz corpus {} missing ({e}); it is part of the repository",
            dir.display()
        )
    });
    let inputs: Vec<Vec<u8>> = entries
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(!inputs.is_empty(), "empty corpus for {target}");
    inputs
}

#[test]
fn lds_corpora_replay_without_panic() {
    for data in corpus("ef_com") {
        let _ = mrtd::lds::EfCom::parse(&data);
    }
    for data in corpus("dg1") {
        let _ = mrtd::lds::Dg1::parse(&data);
    }
    for data in corpus("dg2") {
        let _ = mrtd::lds::Dg2::parse(&data);
        let _ = mrtd::lds::parse_facial_block(&data);
    }
    for data in corpus("sod") {
        let _ = mrtd::lds::Sod::parse(&data);
    }
    for data in corpus("card_access") {
        let _ = mrtd::security_info::parse_security_infos(&data);
        let _ = mrtd::lds::Dg14::parse(&data);
        let _ = mrtd::lds::CardSecurity::parse(&data);
    }
    for data in corpus("lds_misc") {
        let _ = mrtd::lds::Dg7::parse(&data);
        let _ = mrtd::lds::Dg11::parse(&data);
        let _ = mrtd::lds::Dg12::parse(&data);
        let _ = mrtd::lds::Dg15::parse(&data);
        let _ = mrtd::tlv::parse_all(&data);
    }
}

#[test]
fn mrz_apdu_and_sm_corpora_replay_without_panic() {
    let mut valid_mrz = 0;
    for data in corpus("mrz") {
        let text = String::from_utf8_lossy(&data);
        let lines: Vec<&str> = text.split('\n').collect();
        valid_mrz += usize::from(mrtd::mrz::Mrz::parse(&lines).is_ok());
    }
    assert!(
        valid_mrz > 0,
        "the MRZ corpus keeps at least the valid seeds"
    );
    for data in corpus("apdu") {
        if let Ok(apdu) = mrtd::apdu::CommandApdu::parse(&data)
            && let Ok(bytes) = apdu.to_bytes()
        {
            assert_eq!(mrtd::apdu::CommandApdu::parse(&bytes).unwrap(), apdu);
        }
    }
    for data in corpus("sm_unwrap") {
        let mut sm = SecureMessaging::new(
            SessionKeys::derive(b"fuzz session", CipherSuite::Aes128),
            &[0x11; 8],
        );
        let _ = sm.unwrap_response(&data);
        let _ = sm.unwrap_command(&data);
    }
}

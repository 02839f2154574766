//! PACE terminal fed with arbitrary chip responses: the input is split into up to four
//! length-prefixed responses for the four General Authenticate steps (Appendix G setup,
//! fixed terminal keys).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrtd::pace::{PacePassword, PaceTerminal};
use mrtd::security_info::{ObjectIdentifier, PaceInfo};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    // ECDH-GM or ECDH-CAM, AES-128, brainpoolP256r1 or secp256r1.
    let mapping = if selector & 1 == 0 { 2 } else { 6 };
    let curve = if selector & 2 == 0 { 13 } else { 12 };
    let info = PaceInfo {
        protocol: ObjectIdentifier(vec![0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, mapping, 0x02]),
        version: 2,
        parameter_id: Some(curve),
    };
    let password = PacePassword::Can("123456".into());
    let Ok(mut terminal) = PaceTerminal::with_keys(&info, &password, &[7; 32], &[9; 32]) else {
        return;
    };
    for step in 0..4 {
        let Some((&len, tail)) = rest.split_first() else {
            return;
        };
        let len = usize::from(len).min(tail.len());
        let (response, tail) = tail.split_at(len);
        rest = tail;
        let ok = match step {
            0 => terminal.handle_nonce(response).is_ok(),
            1 => terminal.handle_mapping(response).is_ok(),
            2 => terminal.handle_key_agreement(response).is_ok(),
            _ => terminal.finish(response).is_ok(),
        };
        if !ok {
            return;
        }
    }
    let _ = terminal.verify_chip_authentication(rest);
});

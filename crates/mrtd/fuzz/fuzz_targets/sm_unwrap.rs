//! Secure messaging response unwrapping. The first byte picks the mode: raw bytes as the
//! chip's response (MAC checks reject almost everything), or arbitrary data objects given a
//! correct MAC so the decryption and padding paths after the MAC check are reached too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrtd::crypto::{self, CipherSuite, SessionKeys};
use mrtd::sm::SecureMessaging;

fn session(cipher: CipherSuite) -> SecureMessaging {
    SecureMessaging::new(SessionKeys::derive(b"fuzz session", cipher), &[0x11; 8])
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let cipher = match mode & 0x03 {
        0 => CipherSuite::Tdes,
        1 => CipherSuite::Aes128,
        2 => CipherSuite::Aes192,
        _ => CipherSuite::Aes256,
    };
    let mut sm = session(cipher);
    if mode & 0x80 == 0 {
        let _ = sm.unwrap_response(body);
        let _ = session(cipher).unwrap_command(body);
        return;
    }
    // Next counter value, then a MAC over the fuzzed objects.
    let mut ssc = sm.ssc().to_vec();
    for b in ssc.iter_mut().rev() {
        let (v, overflow) = b.overflowing_add(1);
        *b = v;
        if !overflow {
            break;
        }
    }
    let keys = SessionKeys::derive(b"fuzz session", cipher);
    let mut input = ssc;
    input.extend(crypto::pad(body, cipher.block_len()));
    let Ok(mac) = crypto::mac(cipher, &keys.mac, &input) else {
        return;
    };
    let mut response = body.to_vec();
    response.extend([0x8E, 0x08]);
    response.extend(mac);
    response.extend([0x90, 0x00]);
    let _ = sm.unwrap_response(&response);
});

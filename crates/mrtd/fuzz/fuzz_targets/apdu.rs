//! Command APDU decoding and the reader-side ATR parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(apdu) = mrtd::apdu::CommandApdu::parse(data) {
        // What decodes must re-encode to something that decodes to the same command.
        if let Ok(bytes) = apdu.to_bytes() {
            assert_eq!(mrtd::apdu::CommandApdu::parse(&bytes).ok(), Some(apdu));
        }
    }
    let _ = mrtd::apdu::ResponseApdu::parse(data);
    let _ = mrtd::reader::atr_supports_extended_length(data);
});

//! DG1 parser (TLV + MRZ).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mrtd::lds::Dg1::parse(data);
});

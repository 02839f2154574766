//! EF.SOD parser (CMS SignedData + LDSSecurityObject).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sod) = mrtd::lds::Sod::parse(data) {
        let _ = sod.hash_matches(1, data);
    }
});

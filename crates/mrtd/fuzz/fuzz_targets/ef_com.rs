//! EF.COM parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mrtd::lds::EfCom::parse(data);
});

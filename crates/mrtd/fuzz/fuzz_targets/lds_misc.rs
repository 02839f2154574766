//! DG7, DG11, DG12, DG15 and the generic TLV decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mrtd::lds::Dg7::parse(data);
    let _ = mrtd::lds::Dg11::parse(data);
    let _ = mrtd::lds::Dg12::parse(data);
    let _ = mrtd::lds::Dg15::parse(data);
    if let Ok(all) = mrtd::tlv::parse_all(data) {
        for t in all {
            let _ = t.children();
        }
    }
});

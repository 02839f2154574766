//! DG2 parser (CBEFF + ISO/IEC 19794-5 facial record), and the bare facial block parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(dg2) = mrtd::lds::Dg2::parse(data) {
        for face in &dg2.faces {
            assert!(face.data.len() <= data.len());
        }
    }
    let _ = mrtd::lds::parse_facial_block(data);
});

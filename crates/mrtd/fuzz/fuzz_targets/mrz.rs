//! MRZ parser: arbitrary text split into lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    if let Ok(mrz) = mrtd::mrz::Mrz::parse(&lines) {
        // A valid MRZ always yields MRZ information and resolvable dates.
        assert!(!mrz.mrz_information().as_bytes().is_empty());
        let _ = mrz.birth_date.birth_year(2026);
        let _ = mrz.expiry_date.expiry_year(2026);
        let _ = mrz.document_number.masked();
    }
    let _ = mrtd::mrz::check_digit(data);
    let _ = mrtd::mrz::MrzDate::parse(data, true);
});

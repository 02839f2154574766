//! MRZ parser: arbitrary text split into lines; the first two bytes also give the
//! "current year" for century resolution.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let current_year = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 2026,
    };
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    if let Ok(mrz) = mrtd::mrz::Mrz::parse(&lines) {
        // A valid MRZ always yields MRZ information and resolvable dates.
        assert!(!mrz.mrz_information().as_bytes().is_empty());
        let _ = mrz.birth_date.birth_year(current_year);
        let _ = mrz.expiry_date.expiry_year(current_year);
        let _ = mrz.document_number.masked();
    }
    let _ = mrtd::mrz::check_digit(data);
    if let Ok(date) = mrtd::mrz::MrzDate::parse(data, true) {
        let _ = date.birth_year(current_year);
        let _ = date.expiry_year(current_year);
    }
});

//! ISO/IEC 19794-4 finger image records: the validating parser on arbitrary bytes. Must never
//! panic; whatever it accepts must re-encode and parse again to the same record (reserved
//! bytes are written as zero, so the bytes themselves may differ there).
#![no_main]

use devices::fingerprint::iso19794_4::FingerImageRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = FingerImageRecord::parse(data) {
        let encoded = record.encode().expect("a parsed record re-encodes");
        assert_eq!(encoded.len(), data.len(), "re-encoding changes the length");
        assert_eq!(FingerImageRecord::parse(&encoded).as_ref(), Ok(&record));
        for view in &record.views {
            let _ = view.to_finger_image(&record);
        }
    }
});

//! A BioCart's hand-over record for tests: both index fingers (ISO/IEC 19794-4 stand-in
//! bytes) and a face photo (JPEG stand-in bytes) of one specimen traveller.

use outbox::handover::{
    DocumentData, FacePhoto, FingerCapture, HANDOVER_SCHEMA_VERSION, HandOverFinger, HandOverRecord,
};

/// The record of `transaction` at BioCart `gate` (about 110 KB, the size of a real one).
pub fn record(gate: &str, transaction: u128) -> HandOverRecord {
    let finger = |finger, fill: u8| FingerCapture {
        finger,
        quality: 75,
        attempts: 2,
        captured_at_ms: 1_795_701_600_000,
        // Stand-in bytes: the ISO/IEC 19794-4 encoder is tested in the devices crate.
        iso_19794_4: [b"FIR\x00010\x00".as_slice(), &vec![fill; 40_000]].concat(),
    };
    HandOverRecord {
        schema_version: HANDOVER_SCHEMA_VERSION,
        gate_id: gate.into(),
        transaction_id: format!("{transaction:032x}"),
        started_at_ms: 1_795_701_590_000,
        completed_at_ms: 1_795_701_610_000,
        document: DocumentData {
            document_code: "P".into(),
            issuing_state: "UTO".into(),
            document_number: format!("L8989{transaction:04}"),
            nationality: "UTO".into(),
            primary_identifier: "ERIKSSON".into(),
            secondary_identifier: "ANNA MARIA".into(),
            date_of_birth: "740812".into(),
        },
        fingers: vec![
            finger(HandOverFinger::LeftIndex, 7),
            finger(HandOverFinger::RightIndex, 2),
        ],
        face: FacePhoto {
            captured_at_ms: 1_795_701_605_000,
            quality: 88,
            jpeg: [
                &[0xFF, 0xD8][..],
                &vec![transaction as u8; 30_000],
                &[0xFF, 0xD9],
            ]
            .concat(),
        },
    }
}

//! The hand-over queue of the outbox: durable, idempotent by transaction, bounded, separate
//! from events, securely deleted, expiring with an event.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use outbox::handover::{
    BoothPrivateKey, DocumentData, FacePhoto, FingerCapture, HANDOVER_SCHEMA_VERSION,
    HandOverFinger, HandOverRecord, seal,
};
use outbox::wire::SealedHandOver;
use outbox::{HANDOVER_EXPIRED_EVENT, Outbox, OutboxConfig, OutboxError, OutboxLimits};

fn manual_clock(start: i64) -> (Arc<AtomicI64>, outbox::Clock) {
    let time = Arc::new(AtomicI64::new(start));
    let shared = time.clone();
    (time, Arc::new(move || shared.load(Ordering::SeqCst)))
}

fn sealed(gate: &str, transaction: u128, image_bytes: usize) -> SealedHandOver {
    let finger = |finger| FingerCapture {
        finger,
        quality: 70,
        attempts: 1,
        captured_at_ms: 1,
        iso_19794_4: vec![0x5A; image_bytes],
    };
    let mut document = DocumentData::default();
    document.document_number = "L898902C3".into();
    let record = HandOverRecord {
        schema_version: HANDOVER_SCHEMA_VERSION,
        gate_id: gate.into(),
        transaction_id: format!("{transaction:032x}"),
        started_at_ms: 1,
        completed_at_ms: 2,
        document,
        fingers: vec![
            finger(HandOverFinger::LeftIndex),
            finger(HandOverFinger::RightIndex),
        ],
        face: FacePhoto {
            captured_at_ms: 1,
            quality: 90,
            jpeg: vec![0xFF, 0xD8, 0xFF, 0xD9],
        },
    };
    let key = BoothPrivateKey::generate().unwrap().public_key().unwrap();
    seal(&record, "booth-1", &key, 1_000).unwrap()
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn queued_records_survive_reopen_and_are_idempotent_by_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let first = sealed("gate-1", 1, 1000);
    {
        let mut outbox =
            Outbox::open(&path, OutboxConfig::new("gate-1", OutboxLimits::default())).unwrap();
        let receipt = outbox.append_handover(&first, HOUR).unwrap();
        assert!(receipt.newly_queued);
        // The same transaction again (e.g. a retried command): nothing new is written.
        let again = sealed("gate-1", 1, 1000);
        let receipt = outbox.append_handover(&again, HOUR).unwrap();
        assert_eq!((receipt.id, receipt.newly_queued), (first.id, false));
        // A record of another gate is refused.
        assert!(matches!(
            outbox.append_handover(&sealed("gate-2", 2, 10), HOUR),
            Err(OutboxError::Config(_))
        ));
    }
    let outbox = Outbox::open(&path, OutboxConfig::new("gate-1", OutboxLimits::default())).unwrap();
    let pending = outbox.pending_handovers(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].sealed, first);
    // Never mixed with events.
    assert_eq!(outbox.status().unwrap().pending, 0);
}

#[test]
fn a_record_past_the_hard_limit_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let limits = OutboxLimits {
        max_bytes: 400_000,
        high_water_bytes: 300_000,
        delivered_retention: HOUR,
    };
    let mut outbox =
        Outbox::open(dir.path().join("o.db"), OutboxConfig::new("gate-1", limits)).unwrap();
    let error = outbox
        .append_handover(&sealed("gate-1", 1, 300_000), HOUR)
        .unwrap_err();
    assert!(matches!(error, OutboxError::Full { .. }), "{error}");
    assert_eq!(outbox.handover_status().unwrap().pending, 0);
}

#[test]
fn deleted_records_leave_no_ciphertext_in_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let mut outbox =
        Outbox::open(&path, OutboxConfig::new("gate-1", OutboxLimits::default())).unwrap();
    let record = sealed("gate-1", 7, 20_000);
    outbox.append_handover(&record, HOUR).unwrap();
    // A 32-byte stretch of the ciphertext as it is stored (base64 in the row's JSON).
    let stored = serde_json::to_string(&record).unwrap();
    let at = stored.find("\"ciphertext\":\"").unwrap() + 20_000;
    let needle = stored.as_bytes()[at..at + 32].to_vec();
    let files_contain = |needle: &[u8]| {
        ["", "-wal"].iter().any(|suffix| {
            let bytes = std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default();
            bytes.windows(needle.len()).any(|window| window == needle)
        })
    };
    assert!(files_contain(&needle), "the test must see the stored bytes");
    assert_eq!(outbox.delete_handovers(&[record.id]).unwrap(), 1);
    assert_eq!(
        outbox.delete_handovers(&[record.id]).unwrap(),
        0,
        "idempotent"
    );
    assert!(
        !files_contain(&needle),
        "secure_delete + checkpoint must overwrite the deleted record"
    );
}

#[test]
fn unacknowledged_records_expire_with_an_event_and_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let (time, clock) = manual_clock(1_000_000);
    let mut config = OutboxConfig::new("gate-1", OutboxLimits::default());
    config.clock = clock;
    let mut outbox = Outbox::open(dir.path().join("o.db"), config).unwrap();
    let short = sealed("gate-1", 1, 100);
    let long = sealed("gate-1", 2, 100);
    outbox.append_handover(&short, HOUR).unwrap();
    outbox.append_handover(&long, 3 * HOUR).unwrap();
    assert!(outbox.expire_handovers().unwrap().is_empty());
    time.fetch_add(2 * 3_600_000, Ordering::SeqCst);
    let expired = outbox.expire_handovers().unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].handover_id, short.id);
    assert_eq!(expired[0].expires_at_ms, 1_000_000 + 3_600_000);
    let pending = outbox.pending_handovers(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].sealed.id, long.id);
    let events = outbox.pending(10).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].envelope.kind, HANDOVER_EXPIRED_EVENT);
    assert_eq!(events[0].envelope.sequence, 1);
    let payload = &events[0].envelope.payload;
    assert_eq!(payload["transaction_id"], short.transaction_id);
    assert_eq!(payload["booth_id"], "booth-1");
    assert!(!payload.to_string().contains("L898902C3"));
}

//! Outbox store: durability across reopen, ordering, delivery, limits, corruption, lists.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use outbox::{
    ListFreshness, NewEvent, Outbox, OutboxConfig, OutboxError, OutboxLimits, system_clock,
};
use proptest::prelude::*;
use serde_json::json;

fn config(gate: &str) -> OutboxConfig {
    OutboxConfig::new(gate, OutboxLimits::default())
}

fn manual_clock(start: i64) -> (Arc<AtomicI64>, outbox::Clock) {
    let time = Arc::new(AtomicI64::new(start));
    let shared = time.clone();
    (time, Arc::new(move || shared.load(Ordering::SeqCst)))
}

fn event(payload: &serde_json::Value) -> NewEvent<'_> {
    NewEvent {
        kind: "transaction.outcome",
        occurred_at_ms: 1_700_000_000_000,
        payload,
    }
}

#[test]
fn appended_events_survive_reopen_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let mut ids = Vec::new();
    {
        let mut outbox = Outbox::open(&path, config("gate-1")).unwrap();
        for n in 0..10 {
            let payload = json!({"decision": "pass", "n": n});
            ids.push(outbox.append(&event(&payload)).unwrap());
        }
    }
    let outbox = Outbox::open(&path, config("gate-1")).unwrap();
    let pending = outbox.pending(100).unwrap();
    assert_eq!(pending.len(), 10);
    for (n, (stored, receipt)) in pending.iter().zip(&ids).enumerate() {
        assert_eq!(stored.envelope.id, receipt.id);
        assert_eq!(stored.envelope.sequence, n as u64 + 1);
        assert_eq!(stored.envelope.gate_id, "gate-1");
        assert_eq!(
            stored.envelope.schema_version,
            outbox::wire::EVENT_SCHEMA_VERSION
        );
        assert_eq!(stored.envelope.payload["n"], n);
        assert_eq!(stored.envelope.id.get_version_num(), 7);
    }
    let journal: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn sequence_continues_after_purge_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let (_time, clock) = manual_clock(1_000);
    let limits = OutboxLimits {
        delivered_retention: Duration::ZERO,
        ..OutboxLimits::default()
    };
    let cfg = OutboxConfig {
        gate_id: "g".into(),
        limits,
        clock,
    };
    let payload = json!({});
    {
        let mut outbox = Outbox::open(&path, cfg.clone()).unwrap();
        let receipts = outbox
            .append_batch(&[event(&payload), event(&payload)])
            .unwrap();
        outbox
            .mark_delivered(&receipts.iter().map(|r| r.id).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(outbox.purge_delivered().unwrap(), 2);
    }
    let mut outbox = Outbox::open(&path, cfg).unwrap();
    assert_eq!(outbox.append(&event(&payload)).unwrap().sequence, 3);
}

#[test]
fn pending_is_in_sequence_order_and_limited() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path().join("o.db"), config("g")).unwrap();
    let payload = json!({"a": 1});
    let batch: Vec<_> = (0..25).map(|_| event(&payload)).collect();
    outbox.append_batch(&batch).unwrap();
    let first = outbox.pending(10).unwrap();
    let sequences: Vec<u64> = first.iter().map(|e| e.envelope.sequence).collect();
    assert_eq!(sequences, (1..=10).collect::<Vec<_>>());
    outbox
        .mark_delivered(&first.iter().map(|e| e.envelope.id).collect::<Vec<_>>())
        .unwrap();
    let next = outbox.pending(100).unwrap();
    assert_eq!(next.first().unwrap().envelope.sequence, 11);
    assert_eq!(next.len(), 15);
}

#[test]
fn mark_delivered_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path().join("o.db"), config("g")).unwrap();
    let payload = json!(null);
    let receipt = outbox.append(&event(&payload)).unwrap();
    assert_eq!(outbox.mark_delivered(&[receipt.id]).unwrap(), 1);
    assert_eq!(outbox.mark_delivered(&[receipt.id]).unwrap(), 0);
    assert_eq!(outbox.mark_delivered(&[uuid::Uuid::now_v7()]).unwrap(), 0);
    let status = outbox.status().unwrap();
    assert_eq!((status.pending, status.delivered), (0, 1));
}

#[test]
fn append_with_commits_caller_state_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path().join("o.db"), config("g")).unwrap();
    let payload = json!({"t": 1});
    // The caller's own table lives in the same database.
    outbox
        .append_with(&event(&payload), |tx| {
            tx.execute_batch("CREATE TABLE IF NOT EXISTS gate_state (k TEXT PRIMARY KEY, v TEXT)")
        })
        .unwrap();
    let failed = outbox.append_with(&event(&payload), |tx| {
        tx.execute("INSERT INTO gate_state (k, v) VALUES ('a', '1')", [])?;
        tx.execute("INSERT INTO no_such_table VALUES (1)", [])
    });
    assert!(matches!(failed, Err(OutboxError::Sqlite { .. })));
    let status = outbox.status().unwrap();
    assert_eq!(
        status.pending, 1,
        "the failed append must leave nothing behind"
    );
    assert_eq!(status.next_sequence, 2);
    let (_, rows) = outbox
        .append_with(&event(&payload), |tx| {
            tx.execute("INSERT INTO gate_state (k, v) VALUES ('a', '1')", [])
        })
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn caller_state_is_written_durably_on_its_own_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let mut outbox = Outbox::open(&path, config("g")).unwrap();
    outbox
        .write_own_state(|tx| {
            tx.execute_batch("CREATE TABLE gate_state (k TEXT PRIMARY KEY, v TEXT)")?;
            tx.execute("INSERT INTO gate_state (k, v) VALUES ('open', 'T1')", [])
        })
        .unwrap();
    let failed = outbox.write_own_state(|tx| {
        tx.execute("INSERT INTO gate_state (k, v) VALUES ('b', '2')", [])?;
        tx.execute("INSERT INTO no_such_table VALUES (1)", [])
    });
    assert!(matches!(failed, Err(OutboxError::Sqlite { .. })));
    drop(outbox);
    // Another handle (a restart) sees exactly the committed state, and no event was made.
    let again = Outbox::open(&path, config("g")).unwrap();
    let rows: Vec<(String, String)> = again
        .read_own_state(|connection| {
            let mut statement = connection.prepare("SELECT k, v FROM gate_state ORDER BY k")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        })
        .unwrap();
    assert_eq!(rows, [("open".to_owned(), "T1".to_owned())]);
    assert_eq!(again.status().unwrap().pending, 0);
}

#[test]
fn high_water_refuses_admission_and_full_refuses_append_without_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let limits = OutboxLimits {
        max_bytes: 256 * 1024,
        high_water_bytes: 160 * 1024,
        delivered_retention: Duration::from_secs(3600),
    };
    let mut outbox = Outbox::open(dir.path().join("o.db"), OutboxConfig::new("g", limits)).unwrap();
    let payload = json!({"filler": "x".repeat(2000)});
    outbox.check_admission().unwrap();
    let mut appended = 0u64;
    let mut admission_refused_at = None;
    let full = loop {
        if admission_refused_at.is_none()
            && let Err(OutboxError::HighWater { .. }) = outbox.check_admission()
        {
            admission_refused_at = Some(appended);
        }
        match outbox.append(&event(&payload)) {
            Ok(_) => appended += 1,
            Err(error) => break error,
        }
        assert!(appended < 10_000, "limit never reached");
    };
    assert!(matches!(full, OutboxError::Full { .. }), "{full}");
    let refused_at = admission_refused_at.expect("high-water was never signalled");
    assert!(
        refused_at < appended,
        "admission must be refused before the hard limit"
    );
    let status = outbox.status().unwrap();
    assert!(status.above_high_water);
    assert_eq!(status.pending, appended, "no event dropped or overwritten");
    assert!(status.used_bytes <= limits.max_bytes);
    // Delivering and purging frees room again.
    let ids: Vec<_> = outbox
        .pending(usize::MAX)
        .unwrap()
        .iter()
        .map(|e| e.envelope.id)
        .collect();
    outbox.mark_delivered(&ids).unwrap();
    outbox.purge_delivered_before(i64::MAX).unwrap();
    outbox.check_admission().unwrap();
    outbox.append(&event(&payload)).unwrap();
}

#[test]
fn garbage_file_is_detected_moved_aside_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    std::fs::write(&path, vec![0xA5u8; 8192]).unwrap();
    let error = Outbox::open(&path, config("g")).unwrap_err();
    let OutboxError::Corrupt { moved_to, .. } = &error else {
        panic!("expected Corrupt, got {error}");
    };
    assert!(moved_to.exists());
    assert!(!path.exists());
    assert_eq!(std::fs::read(moved_to).unwrap(), vec![0xA5u8; 8192]);
    let outbox = Outbox::open(&path, config("g")).unwrap();
    assert_eq!(outbox.status().unwrap().pending, 0);
}

#[test]
fn damaged_page_in_valid_database_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    {
        let mut outbox = Outbox::open(&path, config("g")).unwrap();
        let payload = json!({"filler": "y".repeat(500)});
        for _ in 0..200 {
            outbox.append(&event(&payload)).unwrap();
        }
        // Move everything from the log into the main file, then close.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 16 * 4096);
    // Overwrite pages 5..8 with garbage, keeping the header intact.
    for byte in &mut bytes[4 * 4096..8 * 4096] {
        *byte = 0x5A;
    }
    std::fs::write(&path, &bytes).unwrap();
    let error = Outbox::open(&path, config("g")).unwrap_err();
    assert!(matches!(error, OutboxError::Corrupt { .. }), "{error}");
}

#[test]
fn another_gates_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    drop(Outbox::open(&path, config("gate-a")).unwrap());
    let error = Outbox::open(&path, config("gate-b")).unwrap_err();
    assert!(
        matches!(error, OutboxError::GateIdMismatch { .. }),
        "{error}"
    );
}

#[test]
fn retention_purges_only_delivered_events_older_than_retention() {
    let dir = tempfile::tempdir().unwrap();
    let (time, clock) = manual_clock(1_000_000);
    let cfg = OutboxConfig {
        gate_id: "g".into(),
        limits: OutboxLimits {
            delivered_retention: Duration::from_secs(60),
            ..OutboxLimits::default()
        },
        clock,
    };
    let mut outbox = Outbox::open(dir.path().join("o.db"), cfg).unwrap();
    let payload = json!({});
    let receipts = outbox
        .append_batch(&[event(&payload), event(&payload), event(&payload)])
        .unwrap();
    outbox.mark_delivered(&[receipts[0].id]).unwrap();
    time.fetch_add(30_000, Ordering::SeqCst);
    outbox.mark_delivered(&[receipts[1].id]).unwrap();
    time.fetch_add(31_000, Ordering::SeqCst);
    assert_eq!(
        outbox.purge_delivered().unwrap(),
        1,
        "only the first is past 60 s"
    );
    time.fetch_add(3_600_000, Ordering::SeqCst);
    assert_eq!(outbox.purge_delivered().unwrap(), 1);
    let status = outbox.status().unwrap();
    assert_eq!(
        (status.pending, status.delivered),
        (1, 0),
        "pending is never purged"
    );
    assert_eq!(status.oldest_pending_sequence, Some(3));
    assert_eq!(
        status.oldest_pending_age_ms,
        Some(30_000 + 31_000 + 3_600_000)
    );
}

#[test]
fn lists_replace_atomically_and_track_freshness() {
    let dir = tempfile::tempdir().unwrap();
    let (time, clock) = manual_clock(5_000);
    let cfg = OutboxConfig {
        gate_id: "g".into(),
        limits: OutboxLimits::default(),
        clock,
    };
    let mut outbox = Outbox::open(dir.path().join("o.db"), cfg).unwrap();
    let max_age = Duration::from_secs(10);
    assert_eq!(
        outbox.list_freshness("denylist", max_age).unwrap(),
        ListFreshness::Missing
    );
    outbox
        .replace_list("denylist", 3, &[json!("aa11"), json!("bb22")])
        .unwrap();
    assert_eq!(outbox.list_version("denylist").unwrap(), Some(3));
    assert!(outbox.list_contains("denylist", &json!("bb22")).unwrap());
    assert!(!outbox.list_contains("denylist", &json!("cc33")).unwrap());
    outbox
        .replace_list("denylist", 4, &[json!("cc33")])
        .unwrap();
    assert_eq!(outbox.list_items("denylist").unwrap(), vec![json!("cc33")]);
    let error = outbox.replace_list("denylist", 2, &[]).unwrap_err();
    assert!(
        matches!(error, OutboxError::ListVersionRegressed { .. }),
        "{error}"
    );
    assert_eq!(outbox.list_items("denylist").unwrap(), vec![json!("cc33")]);
    time.fetch_add(11_000, Ordering::SeqCst);
    assert_eq!(
        outbox.list_freshness("denylist", max_age).unwrap(),
        ListFreshness::Stale {
            version: 4,
            age_ms: 11_000
        }
    );
    assert!(outbox.touch_list("denylist").unwrap());
    assert_eq!(
        outbox.list_freshness("denylist", max_age).unwrap(),
        ListFreshness::Fresh { version: 4 }
    );
    let infos = outbox.lists().unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].item_count, 1);
}

#[test]
fn attach_shares_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let limits = OutboxLimits {
        max_bytes: 10 << 20,
        high_water_bytes: 5 << 20,
        delivered_retention: Duration::from_secs(77),
    };
    let mut writer = Outbox::open(&path, OutboxConfig::new("gate-7", limits)).unwrap();
    let mut reader = Outbox::attach(&path, system_clock()).unwrap();
    assert_eq!(reader.gate_id(), "gate-7");
    assert_eq!(
        reader.limits(),
        writer.limits(),
        "limits are read from the database"
    );
    let payload = json!({});
    let receipt = writer.append(&event(&payload)).unwrap();
    assert_eq!(reader.pending(10).unwrap()[0].envelope.id, receipt.id);
    reader.mark_delivered(&[receipt.id]).unwrap();
    assert_eq!(writer.status().unwrap().pending, 0);
    let missing = Outbox::attach(dir.path().join("none.db"), system_clock());
    assert!(matches!(missing, Err(OutboxError::Missing { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    /// Whatever mix of batch appends, deliveries, purges and reopens happens, sequence numbers
    /// are assigned 1, 2, 3, ... without gaps or reuse.
    #[test]
    fn sequence_is_gapless_and_monotonic(ops in proptest::collection::vec(0u8..4, 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.db");
        let cfg = OutboxConfig::new("g", OutboxLimits {
            delivered_retention: Duration::ZERO,
            ..OutboxLimits::default()
        });
        let mut outbox = Outbox::open(&path, cfg.clone()).unwrap();
        let payload = json!({});
        let mut expected_next = 1u64;
        for op in ops {
            match op {
                0 => {
                    let receipt = outbox.append(&event(&payload)).unwrap();
                    prop_assert_eq!(receipt.sequence, expected_next);
                    expected_next += 1;
                }
                1 => {
                    let receipts = outbox.append_batch(&[event(&payload), event(&payload), event(&payload)]).unwrap();
                    for receipt in receipts {
                        prop_assert_eq!(receipt.sequence, expected_next);
                        expected_next += 1;
                    }
                }
                2 => {
                    let ids: Vec<_> = outbox.pending(2).unwrap().iter().map(|e| e.envelope.id).collect();
                    outbox.mark_delivered(&ids).unwrap();
                    outbox.purge_delivered_before(i64::MAX).unwrap();
                }
                _ => {
                    drop(outbox);
                    outbox = Outbox::open(&path, cfg.clone()).unwrap();
                }
            }
            let pending = outbox.pending(usize::MAX).unwrap();
            for pair in pending.windows(2) {
                prop_assert_eq!(pair[1].envelope.sequence, pair[0].envelope.sequence + 1);
            }
            prop_assert_eq!(outbox.status().unwrap().next_sequence, expected_next);
        }
    }
}

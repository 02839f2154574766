//! `gatectl outbox ...` and `gatectl sync status` against a real outbox database.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use outbox::{NewEvent, Outbox, OutboxConfig, OutboxLimits};

struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("gatectl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn db(&self) -> PathBuf {
        self.0.join("outbox.db")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn gatectl_json(args: &[&str], db: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(args)
        .arg("--db")
        .arg(db)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn outbox_and_sync_commands_read_and_maintain_the_database() {
    let temp = TempDb::new("outbox");
    let db = temp.db();
    {
        let mut outbox =
            Outbox::open(&db, OutboxConfig::new("gate-9", OutboxLimits::default())).unwrap();
        let payload = serde_json::json!({"decision": "deny", "reason_codes": ["DENYLIST"]});
        let event = NewEvent {
            kind: "transaction.outcome",
            occurred_at_ms: 1,
            payload: &payload,
        };
        let receipts = outbox.append_batch(&[event, event, event]).unwrap();
        outbox.mark_delivered(&[receipts[0].id]).unwrap();
        outbox
            .replace_list("denylist", 7, &[serde_json::json!("ab12")])
            .unwrap();
    }
    let status = gatectl_json(&["outbox", "status"], &db);
    assert_eq!(status["gate_id"], "gate-9");
    assert_eq!(
        (status["pending"].as_u64(), status["delivered"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(status["above_high_water"], false);

    let pending = gatectl_json(&["outbox", "list"], &db);
    let sequences: Vec<u64> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["envelope"]["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, vec![2, 3]);
    assert_eq!(
        gatectl_json(&["outbox", "list", "--all"], &db)
            .as_array()
            .unwrap()
            .len(),
        3
    );

    assert_eq!(gatectl_json(&["outbox", "retry"], &db)["pending"], 2);
    assert!(gatectl_json(&["outbox", "status"], &db)["sync"]["retry_requested_ms"].is_i64());

    assert_eq!(gatectl_json(&["outbox", "purge"], &db)["purged"], 1);
    assert_eq!(gatectl_json(&["outbox", "status"], &db)["delivered"], 0);

    let sync = gatectl_json(&["sync", "status"], &db);
    assert_eq!(sync["lists"][0]["name"], "denylist");
    assert_eq!(sync["lists"][0]["version"], 7);
    assert_eq!(sync["pending"], 2);

    let human = Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(["outbox", "status", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("pending:         2"));
}

#[test]
fn a_missing_database_is_a_failure() {
    let temp = TempDb::new("missing");
    let out = Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(["outbox", "status", "--db"])
        .arg(temp.0.join("none.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn the_default_database_is_the_one_gated_writes_with_default_paths() {
    // gated keeps its outbox in `storage.state_dir`; with the default state directory that is
    // where `gatectl outbox` must look when no --db is given.
    let gated_writes = gate_config::schema::StorageSection::default().outbox_path();
    assert_eq!(
        gated_writes,
        std::path::Path::new("/var/lib/gated/outbox.sqlite"),
        "the documented default"
    );
    for command in [["outbox", "status"], ["sync", "status"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_gatectl"))
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains(&format!("[default: {}]", gated_writes.display())),
            "{command:?}: {help}"
        );
    }
}

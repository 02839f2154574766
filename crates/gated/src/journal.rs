//! What gated keeps on disk so that a crash (power loss, a watchdog kill) loses nothing: the
//! transactions in progress (nothing personal: id, profile, start, the stage reached, the
//! decision once there is one, the keyed document hash) and the deny hold the gate is in.
//!
//! Both live in gated's own tables of the outbox database, so that closing a transaction is
//! one SQLite transaction with its outcome event. On start-up, [`recover`] closes every
//! transaction still open as aborted by the restart, with the stage it had reached, and
//! returns the deny hold to restore.

use gate_core::{OpenTransaction, OutcomeRecord, ReasonCode, TransactionId};
use outbox::rusqlite::{self, OptionalExtension, params};
use outbox::{AppendReceipt, NewEvent, Outbox, OutboxError};
use serde::{Deserialize, Serialize};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS gated_open_transactions (\
        transaction_id TEXT PRIMARY KEY, record TEXT NOT NULL);\
    CREATE TABLE IF NOT EXISTS gated_deny_hold (\
        id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL);";

/// A deny hold: the gate waits for an officer after `transaction_id` was refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenyHold {
    /// The refused transaction.
    pub transaction_id: TransactionId,
    /// Why it was refused (what the officer is called for).
    pub reasons: Vec<ReasonCode>,
    /// When the hold ends by itself (Unix ms).
    pub until_unix_ms: i64,
}

/// What [`recover`] found.
#[derive(Debug, Default)]
pub struct Recovery {
    /// The records of the transactions closed as aborted by the restart.
    pub closed: Vec<OutcomeRecord>,
    /// The deny hold to restore, when it has not ended yet.
    pub hold: Option<DenyHold>,
}

fn encode<T: Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|err| rusqlite::Error::ToSqlConversionFailure(err.into()))
}

fn id_text(id: TransactionId) -> String {
    id.to_string()
}

/// Creates gated's tables if they are missing.
pub fn prepare(outbox: &mut Outbox) -> Result<(), OutboxError> {
    outbox.write_own_state(|tx| tx.execute_batch(SCHEMA))
}

/// Records (or updates) a transaction in progress; durable when this returns `Ok`.
pub fn write_open(outbox: &mut Outbox, open: &OpenTransaction) -> Result<(), OutboxError> {
    outbox.write_own_state(|tx| {
        tx.execute(
            "INSERT OR REPLACE INTO gated_open_transactions (transaction_id, record) \
             VALUES (?1, ?2)",
            params![id_text(open.transaction_id), encode(open)?],
        )
        .map(|_| ())
    })
}

/// Appends `event` (the transaction's outcome), closes the transaction and records or clears
/// the deny hold, all in one SQLite transaction.
pub fn close(
    outbox: &mut Outbox,
    event: &NewEvent<'_>,
    transaction_id: TransactionId,
    hold: Option<&DenyHold>,
) -> Result<AppendReceipt, OutboxError> {
    let hold = hold.map(encode).transpose();
    let (receipt, ()) = outbox.append_with(event, |tx| {
        tx.execute(
            "DELETE FROM gated_open_transactions WHERE transaction_id = ?1",
            [id_text(transaction_id)],
        )?;
        if let Some(hold) = hold? {
            tx.execute(
                "INSERT OR REPLACE INTO gated_deny_hold (id, record) VALUES (1, ?1)",
                [hold],
            )?;
        }
        Ok(())
    })?;
    Ok(receipt)
}

/// The officer attended (or the hold ran out): nothing to restore any more.
pub fn clear_hold(outbox: &mut Outbox) -> Result<(), OutboxError> {
    outbox.write_own_state(|tx| tx.execute("DELETE FROM gated_deny_hold", []).map(|_| ()))
}

/// Closes every transaction left open by a crash, each as its own outcome event (kind
/// `kind`) and returns the deny hold still in force at `now_unix_ms` (an expired one is
/// cleared).
pub fn recover(outbox: &mut Outbox, kind: &str, now_unix_ms: i64) -> Result<Recovery, OutboxError> {
    prepare(outbox)?;
    let (open, hold): (Vec<String>, Option<String>) = outbox.read_own_state(|connection| {
        let mut statement =
            connection.prepare("SELECT record FROM gated_open_transactions ORDER BY rowid")?;
        let open = statement
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let hold = connection
            .query_row(
                "SELECT record FROM gated_deny_hold WHERE id = 1",
                [],
                |row| row.get(0),
            )
            .optional()?;
        Ok((open, hold))
    })?;
    let mut recovery = Recovery::default();
    for text in open {
        let open: OpenTransaction = match serde_json::from_str(&text) {
            Ok(open) => open,
            Err(err) => {
                tracing::error!(error = %err, "unreadable journal entry dropped");
                outbox.write_own_state(|tx| {
                    tx.execute(
                        "DELETE FROM gated_open_transactions WHERE record = ?1",
                        [&text],
                    )
                    .map(|_| ())
                })?;
                continue;
            }
        };
        let record = OutcomeRecord::aborted_by_restart(&open, now_unix_ms);
        let payload = serde_json::to_value(&record)
            .map_err(|err| OutboxError::Config(format!("outcome record: {err}")))?;
        close(
            outbox,
            &NewEvent {
                kind,
                occurred_at_ms: now_unix_ms,
                payload: &payload,
            },
            open.transaction_id,
            None,
        )?;
        tracing::warn!(
            transaction_id = %open.transaction_id,
            stage = ?open.stage,
            decision = ?open.decision,
            "transaction cut short by the restart recorded as aborted"
        );
        recovery.closed.push(record);
    }
    match hold.map(|text| serde_json::from_str::<DenyHold>(&text)) {
        Some(Ok(hold)) if hold.until_unix_ms > now_unix_ms => recovery.hold = Some(hold),
        Some(_) => clear_hold(outbox)?,
        None => {}
    }
    Ok(recovery)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_core::{Decision, DocumentHash, GateProfile, Outcome, Step};

    fn outbox(dir: &std::path::Path) -> Outbox {
        Outbox::open(
            dir.join("o.sqlite"),
            outbox::OutboxConfig::new("G", outbox::OutboxLimits::default()),
        )
        .unwrap()
    }

    fn open(id: u128, stage: Step, decision: Option<Decision>) -> OpenTransaction {
        OpenTransaction {
            transaction_id: TransactionId(id),
            profile: GateProfile::FaceGate,
            started_at_unix_ms: 1_000,
            stage,
            decision,
            document_hash: Some(DocumentHash([1; 32])),
        }
    }

    #[test]
    fn recovery_closes_what_a_crash_left_open_once_and_keeps_a_running_hold() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = outbox(dir.path());
        prepare(&mut outbox).unwrap();
        write_open(&mut outbox, &open(1, Step::ReadDocument, None)).unwrap();
        write_open(&mut outbox, &open(2, Step::MatchFace, None)).unwrap();
        // Transaction 2 moved on to the door before the crash.
        write_open(&mut outbox, &open(2, Step::Passage, Some(Decision::Pass))).unwrap();
        // Transaction 3 ended normally, into a deny hold until 50 000.
        write_open(&mut outbox, &open(3, Step::MatchFace, None)).unwrap();
        let hold = DenyHold {
            transaction_id: TransactionId(3),
            reasons: vec![ReasonCode::FaceMismatch],
            until_unix_ms: 50_000,
        };
        let payload = serde_json::json!({});
        close(
            &mut outbox,
            &NewEvent {
                kind: "transaction.outcome",
                occurred_at_ms: 2_000,
                payload: &payload,
            },
            TransactionId(3),
            Some(&hold),
        )
        .unwrap();

        let recovery = recover(&mut outbox, "transaction.outcome", 10_000).unwrap();
        let closed: Vec<(u128, Option<Step>, Option<Decision>)> = recovery
            .closed
            .iter()
            .map(|r| (r.transaction_id.0, r.interrupted_at, r.decision))
            .collect();
        assert_eq!(
            closed,
            [
                (1, Some(Step::ReadDocument), None),
                (2, Some(Step::Passage), Some(Decision::Pass)),
            ]
        );
        assert!(
            recovery
                .closed
                .iter()
                .all(|r| r.outcome == Outcome::Aborted)
        );
        assert_eq!(recovery.hold, Some(hold));
        assert_eq!(outbox.status().unwrap().pending, 3);
        // Closed once: a second start finds nothing open; the hold is still running.
        let again = recover(&mut outbox, "transaction.outcome", 20_000).unwrap();
        assert!(again.closed.is_empty());
        assert!(again.hold.is_some());
        // Past its end the hold is not restored, and is gone.
        assert_eq!(
            recover(&mut outbox, "transaction.outcome", 60_000)
                .unwrap()
                .hold,
            None
        );
        clear_hold(&mut outbox).unwrap();
        assert_eq!(outbox.status().unwrap().pending, 3);
    }
}

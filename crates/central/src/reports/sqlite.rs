//! The reports on SQLite: summary tables kept by row-level triggers (see the module docs of
//! [`crate::reports`]).

use rusqlite::Connection;

use super::IncidentCountRow;
use super::{
    AckedRecord, DenyRow, GateRow, HourRow, IncidentQuery, IncidentRow, OutcomeCounts, PassCount,
};
use crate::storage::{SqliteStorage, StorageError, sqlite};

/// Whether `NEW` (an `events` row) is a referral (see "Outcome classes").
const NEW_IS_REFERRAL: &str = "(NEW.kind = 'transaction.outcome' \
    AND json_extract(NEW.payload, '$.decision') IS NULL \
    AND json_extract(NEW.payload, '$.outcome') IN ('timed_out', 'aborted') \
    AND NOT EXISTS (SELECT 1 FROM json_each(NEW.payload, '$.reasons') WHERE value = 'OFFICER_CANCELLED'))";

/// The outcome of `NEW` when it is a `transaction.outcome`.
const NEW_OUTCOME: &str =
    "(CASE WHEN NEW.kind = 'transaction.outcome' THEN json_extract(NEW.payload, '$.outcome') END)";

const NEW_HOUR: &str =
    "(NEW.occurred_at_ms - ((NEW.occurred_at_ms % 3600000) + 3600000) % 3600000)";

const NEW_REASONS: &str =
    "(SELECT group_concat(value, ',') FROM json_each(NEW.payload, '$.reasons'))";

fn schema() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS report_gates (
             gate_id               TEXT PRIMARY KEY NOT NULL,
             events                INTEGER NOT NULL,
             last_received_ms      INTEGER NOT NULL,
             last_occurred_ms      INTEGER NOT NULL,
             last_outcome_ms       INTEGER,
             heartbeat             TEXT,
             heartbeat_occurred_ms INTEGER,
             heartbeat_received_ms INTEGER
         );
         CREATE TABLE IF NOT EXISTS report_gate_hours (
             gate_id        TEXT NOT NULL,
             hour_ms        INTEGER NOT NULL,
             events         INTEGER NOT NULL,
             passed         INTEGER NOT NULL,
             denied         INTEGER NOT NULL,
             referred       INTEGER NOT NULL,
             completed      INTEGER NOT NULL,
             other_outcomes INTEGER NOT NULL,
             lag_sum_ms     INTEGER NOT NULL,
             lag_max_ms     INTEGER NOT NULL,
             PRIMARY KEY (gate_id, hour_ms)
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS report_gate_hours_hour ON report_gate_hours (hour_ms);
         CREATE TABLE IF NOT EXISTS report_deny_reasons (
             gate_id TEXT NOT NULL,
             hour_ms INTEGER NOT NULL,
             reason  TEXT NOT NULL,
             count   INTEGER NOT NULL,
             PRIMARY KEY (gate_id, hour_ms, reason)
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS report_deny_reasons_hour ON report_deny_reasons (hour_ms);
         CREATE TABLE IF NOT EXISTS report_incidents (
             event_id       TEXT PRIMARY KEY NOT NULL,
             gate_id        TEXT NOT NULL,
             occurred_at_ms INTEGER NOT NULL,
             received_at_ms INTEGER NOT NULL,
             kind           TEXT NOT NULL,
             code           TEXT NOT NULL,
             detail         TEXT
         );
         CREATE INDEX IF NOT EXISTS report_incidents_time ON report_incidents (occurred_at_ms);
         CREATE TABLE IF NOT EXISTS report_handovers (
             id           TEXT PRIMARY KEY NOT NULL,
             sealed_at_ms INTEGER
         );
         CREATE INDEX IF NOT EXISTS report_handovers_acked ON handovers (acked_at_ms)
             WHERE acked_at_ms IS NOT NULL;
         CREATE INDEX IF NOT EXISTS report_outcomes_time ON events (occurred_at_ms)
             WHERE kind = 'transaction.outcome';
         DROP TRIGGER IF EXISTS report_after_event;
         CREATE TRIGGER report_after_event AFTER INSERT ON events BEGIN
             INSERT INTO report_gates (gate_id, events, last_received_ms, last_occurred_ms,
                                       last_outcome_ms)
             VALUES (NEW.gate_id, 1, NEW.received_at_ms, NEW.occurred_at_ms,
                     CASE WHEN NEW.kind = 'transaction.outcome' THEN NEW.occurred_at_ms END)
             ON CONFLICT (gate_id) DO UPDATE SET
                 events = events + 1,
                 last_received_ms = max(last_received_ms, excluded.last_received_ms),
                 last_occurred_ms = max(last_occurred_ms, excluded.last_occurred_ms),
                 last_outcome_ms = coalesce(max(last_outcome_ms, excluded.last_outcome_ms),
                                            last_outcome_ms, excluded.last_outcome_ms);
             UPDATE report_gates SET heartbeat = NEW.payload,
                 heartbeat_occurred_ms = NEW.occurred_at_ms,
                 heartbeat_received_ms = NEW.received_at_ms
             WHERE NEW.kind = 'gate.heartbeat' AND gate_id = NEW.gate_id
               AND (heartbeat_occurred_ms IS NULL OR heartbeat_occurred_ms <= NEW.occurred_at_ms);
             INSERT INTO report_gate_hours (gate_id, hour_ms, events, passed, denied, referred,
                                            completed, other_outcomes, lag_sum_ms, lag_max_ms)
             SELECT NEW.gate_id, {hour}, 1,
                    c.outcome IS 'passed', c.outcome IS 'denied', c.referral,
                    c.outcome IS 'completed',
                    c.outcome IS NOT NULL AND c.outcome NOT IN ('passed', 'denied', 'completed')
                        AND NOT c.referral,
                    max(NEW.received_at_ms - NEW.occurred_at_ms, 0),
                    max(NEW.received_at_ms - NEW.occurred_at_ms, 0)
             FROM (SELECT {outcome} AS outcome, ifnull({referral}, 0) AS referral) AS c
             WHERE true
             ON CONFLICT (gate_id, hour_ms) DO UPDATE SET
                 events = events + 1,
                 passed = passed + excluded.passed,
                 denied = denied + excluded.denied,
                 referred = referred + excluded.referred,
                 completed = completed + excluded.completed,
                 other_outcomes = other_outcomes + excluded.other_outcomes,
                 lag_sum_ms = lag_sum_ms + excluded.lag_sum_ms,
                 lag_max_ms = max(lag_max_ms, excluded.lag_max_ms);
             INSERT INTO report_deny_reasons (gate_id, hour_ms, reason, count)
             SELECT NEW.gate_id, {hour}, r.value, 1
             FROM json_each(NEW.payload, '$.reasons') AS r
             WHERE NEW.kind = 'transaction.outcome'
               AND json_extract(NEW.payload, '$.outcome') = 'denied' AND r.type = 'text'
             ON CONFLICT (gate_id, hour_ms, reason) DO UPDATE SET count = count + 1;
             INSERT OR IGNORE INTO report_incidents (event_id, gate_id, occurred_at_ms,
                                                     received_at_ms, kind, code, detail)
             SELECT NEW.id, NEW.gate_id, NEW.occurred_at_ms, NEW.received_at_ms, 'door_alarm',
                    upper(ifnull(json_extract(NEW.payload, '$.event'), 'unknown')), NULL
             WHERE NEW.kind = 'door.alarm'
             UNION ALL
             SELECT NEW.id, NEW.gate_id, NEW.occurred_at_ms, NEW.received_at_ms,
                    'officer_action', ifnull(json_extract(NEW.payload, '$.action'), 'unknown'),
                    nullif(trim(ifnull('via ' || json_extract(NEW.payload, '$.via'), '')
                                || ifnull(' ' || {reasons}, '')), '')
             WHERE NEW.kind = 'officer.action'
             UNION ALL
             SELECT NEW.id, NEW.gate_id, NEW.occurred_at_ms, NEW.received_at_ms, 'referral',
                    ifnull({reasons}, ''), json_extract(NEW.payload, '$.outcome')
             WHERE {referral};
         END;
         DROP TRIGGER IF EXISTS report_after_handover;
         CREATE TRIGGER report_after_handover AFTER INSERT ON handovers BEGIN
             INSERT OR IGNORE INTO report_handovers (id, sealed_at_ms)
             VALUES (NEW.id, CASE WHEN json_valid(CAST(NEW.sealed AS TEXT))
                             THEN json_extract(CAST(NEW.sealed AS TEXT), '$.sealed_at_ms') END);
         END;",
        hour = NEW_HOUR,
        outcome = NEW_OUTCOME,
        referral = NEW_IS_REFERRAL,
        reasons = NEW_REASONS,
    )
}

/// The summaries of the events and hand-overs stored before the reports existed: the
/// triggers' work done once, set-based, over `events AS e` and `handovers`.
fn backfill() -> String {
    let on_e = |expression: &str| expression.replace("NEW.", "e.");
    format!(
        "INSERT INTO report_gates (gate_id, events, last_received_ms, last_occurred_ms,
                                   last_outcome_ms)
         SELECT gate_id, count(*), max(received_at_ms), max(occurred_at_ms),
                max(CASE WHEN kind = 'transaction.outcome' THEN occurred_at_ms END)
         FROM events GROUP BY gate_id;
         UPDATE report_gates SET (heartbeat, heartbeat_occurred_ms, heartbeat_received_ms) =
             (SELECT payload, occurred_at_ms, received_at_ms FROM events AS e
              WHERE e.gate_id = report_gates.gate_id AND e.kind = 'gate.heartbeat'
              ORDER BY e.occurred_at_ms DESC, e.sequence DESC LIMIT 1)
         WHERE EXISTS (SELECT 1 FROM events AS e
                       WHERE e.gate_id = report_gates.gate_id AND e.kind = 'gate.heartbeat');
         INSERT INTO report_gate_hours (gate_id, hour_ms, events, passed, denied, referred,
                                        completed, other_outcomes, lag_sum_ms, lag_max_ms)
         SELECT gate_id, hour_ms, count(*), sum(outcome IS 'passed'), sum(outcome IS 'denied'),
                sum(referral), sum(outcome IS 'completed'),
                sum(outcome IS NOT NULL AND outcome NOT IN ('passed', 'denied', 'completed')
                    AND NOT referral),
                sum(lag), max(lag)
         FROM (SELECT e.gate_id, {hour} AS hour_ms,
                      max(e.received_at_ms - e.occurred_at_ms, 0) AS lag,
                      {outcome} AS outcome, ifnull({referral}, 0) AS referral
               FROM events AS e)
         GROUP BY gate_id, hour_ms;
         INSERT INTO report_deny_reasons (gate_id, hour_ms, reason, count)
         SELECT e.gate_id, {hour}, r.value, count(*)
         FROM events AS e, json_each(e.payload, '$.reasons') AS r
         WHERE e.kind = 'transaction.outcome' AND json_extract(e.payload, '$.outcome') = 'denied'
           AND r.type = 'text'
         GROUP BY 1, 2, 3;
         INSERT OR IGNORE INTO report_incidents (event_id, gate_id, occurred_at_ms,
                                                 received_at_ms, kind, code, detail)
         SELECT e.id, e.gate_id, e.occurred_at_ms, e.received_at_ms, 'door_alarm',
                upper(ifnull(json_extract(e.payload, '$.event'), 'unknown')), NULL
         FROM events AS e WHERE e.kind = 'door.alarm'
         UNION ALL
         SELECT e.id, e.gate_id, e.occurred_at_ms, e.received_at_ms, 'officer_action',
                ifnull(json_extract(e.payload, '$.action'), 'unknown'),
                nullif(trim(ifnull('via ' || json_extract(e.payload, '$.via'), '')
                            || ifnull(' ' || {reasons}, '')), '')
         FROM events AS e WHERE e.kind = 'officer.action'
         UNION ALL
         SELECT e.id, e.gate_id, e.occurred_at_ms, e.received_at_ms, 'referral',
                ifnull({reasons}, ''), json_extract(e.payload, '$.outcome')
         FROM events AS e WHERE {referral};
         INSERT OR IGNORE INTO report_handovers (id, sealed_at_ms)
         SELECT id, CASE WHEN json_valid(CAST(sealed AS TEXT))
                    THEN json_extract(CAST(sealed AS TEXT), '$.sealed_at_ms') END
         FROM handovers WHERE sealed IS NOT NULL;",
        hour = on_e(NEW_HOUR),
        outcome = on_e(NEW_OUTCOME),
        referral = on_e(NEW_IS_REFERRAL),
        reasons = on_e(NEW_REASONS),
    )
}

/// Creates the report tables, indexes and triggers (idempotent; triggers are replaced so a
/// new central brings its definitions) in one transaction; the first time, fills the
/// summaries from the events and hand-overs already stored. Called by
/// [`SqliteStorage::open`].
pub fn prepare(connection: &Connection) -> Result<(), StorageError> {
    let fresh: bool = connection
        .query_row(
            "SELECT count(*) = 0 FROM sqlite_master WHERE type = 'table' AND name = 'report_gates'",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite("look for the report schema"))?;
    let mut batch = format!("BEGIN IMMEDIATE;\n{}\n", schema());
    if fresh {
        batch.push_str(&backfill());
    }
    batch.push_str("\nCOMMIT;");
    connection.execute_batch(&batch).map_err(|source| {
        let _ = connection.execute_batch("ROLLBACK");
        StorageError::Sqlite {
            operation: "create report schema",
            source,
        }
    })
}

impl super::ReportRows for SqliteStorage {
    fn gate_rows(&self) -> Result<Vec<GateRow>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT gate_id, events, last_received_ms, last_occurred_ms, last_outcome_ms, \
                 heartbeat, heartbeat_occurred_ms FROM report_gates",
            )
            .map_err(sqlite("prepare fleet"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    GateRow {
                        gate_id: row.get(0)?,
                        events: row.get(1)?,
                        last_received_ms: row.get(2)?,
                        last_occurred_ms: row.get(3)?,
                        last_outcome_ms: row.get(4)?,
                        heartbeat: None,
                        heartbeat_occurred_ms: row.get(6)?,
                    },
                    row.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(sqlite("fleet"))?;
        let mut gates = Vec::new();
        for row in rows {
            let (mut gate, heartbeat) = row.map_err(sqlite("fleet"))?;
            gate.heartbeat = heartbeat
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| StorageError::BadRow(format!("heartbeat of {}: {e}", gate.gate_id)))?;
            gates.push(gate);
        }
        Ok(gates)
    }

    fn hour_rows(&self, since_hour: i64, until: i64) -> Result<Vec<HourRow>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT gate_id, hour_ms, events, passed, denied, referred, completed, \
                 other_outcomes, lag_sum_ms, lag_max_ms FROM report_gate_hours \
                 WHERE hour_ms >= ?1 AND hour_ms < ?2",
            )
            .map_err(sqlite("prepare activity"))?;
        let rows = statement
            .query_map([since_hour, until], |row| {
                Ok(HourRow {
                    gate_id: row.get(0)?,
                    hour_ms: row.get(1)?,
                    events: row.get(2)?,
                    counts: OutcomeCounts {
                        passed: row.get(3)?,
                        denied: row.get(4)?,
                        referred: row.get(5)?,
                        completed: row.get(6)?,
                        other: row.get(7)?,
                    },
                    lag_sum_ms: row.get(8)?,
                    lag_max_ms: row.get(9)?,
                })
            })
            .map_err(sqlite("activity"))?;
        rows.collect::<Result<_, _>>().map_err(sqlite("activity"))
    }

    fn deny_rows(&self, since_hour: i64, until: i64) -> Result<Vec<DenyRow>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT gate_id, reason, sum(count) FROM report_deny_reasons \
                 WHERE hour_ms >= ?1 AND hour_ms < ?2 GROUP BY gate_id, reason",
            )
            .map_err(sqlite("prepare deny reasons"))?;
        let rows = statement
            .query_map([since_hour, until], |row| {
                Ok(DenyRow {
                    gate_id: row.get(0)?,
                    reason: row.get(1)?,
                    count: row.get(2)?,
                })
            })
            .map_err(sqlite("deny reasons"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sqlite("deny reasons"))
    }

    fn incident_rows(&self, query: &IncidentQuery) -> Result<Vec<IncidentRow>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT kind, gate_id, occurred_at_ms, received_at_ms, code, detail \
                 FROM report_incidents WHERE occurred_at_ms >= ?1 AND occurred_at_ms < ?2 \
                 ORDER BY occurred_at_ms DESC, event_id LIMIT ?3",
            )
            .map_err(sqlite("prepare incidents"))?;
        let rows = statement
            .query_map(
                rusqlite::params![query.since_ms, query.until_ms, query.limit],
                |row| {
                    Ok(IncidentRow {
                        kind: row.get(0)?,
                        gate_id: row.get(1)?,
                        occurred_at_ms: row.get(2)?,
                        received_at_ms: row.get(3)?,
                        code: row.get(4)?,
                        detail: row.get(5)?,
                    })
                },
            )
            .map_err(sqlite("incidents"))?;
        rows.collect::<Result<_, _>>().map_err(sqlite("incidents"))
    }

    fn incident_counts(
        &self,
        query: &IncidentQuery,
    ) -> Result<Vec<IncidentCountRow>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT kind, gate_id, code, count(*) FROM report_incidents \
                 WHERE occurred_at_ms >= ?1 AND occurred_at_ms < ?2 GROUP BY kind, gate_id, code",
            )
            .map_err(sqlite("prepare incident counts"))?;
        let rows = statement
            .query_map([query.since_ms, query.until_ms], |row| {
                Ok(IncidentCountRow {
                    kind: row.get(0)?,
                    gate_id: row.get(1)?,
                    code: row.get(2)?,
                    count: row.get(3)?,
                })
            })
            .map_err(sqlite("incident counts"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sqlite("incident counts"))
    }

    fn acked_rows(&self, since: i64, until: i64) -> Result<Vec<AckedRecord>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT h.gate_id, r.sealed_at_ms, h.received_at_ms, h.acked_at_ms \
                 FROM handovers AS h LEFT JOIN report_handovers AS r ON r.id = h.id \
                 WHERE h.acked_at_ms >= ?1 AND h.acked_at_ms <= ?2",
            )
            .map_err(sqlite("prepare acknowledged hand-overs"))?;
        let rows = statement
            .query_map([since, until], |row| {
                Ok(AckedRecord {
                    gate_id: row.get(0)?,
                    sealed_at_ms: row.get(1)?,
                    received_at_ms: row.get(2)?,
                    acked_at_ms: row.get(3)?,
                })
            })
            .map_err(sqlite("acknowledged hand-overs"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sqlite("acknowledged hand-overs"))
    }

    fn pass_counts(
        &self,
        since: i64,
        split: i64,
        until: i64,
    ) -> Result<Vec<PassCount>, StorageError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare_cached(
                "SELECT gate_id, count(*), sum(occurred_at_ms >= ?2) FROM events \
                 WHERE kind = 'transaction.outcome' AND occurred_at_ms >= ?1 \
                 AND occurred_at_ms <= ?3 AND json_extract(payload, '$.outcome') = 'passed' \
                 AND json_extract(payload, '$.profile') = 'face_gate' GROUP BY gate_id",
            )
            .map_err(sqlite("prepare face-gate passes"))?;
        let rows = statement
            .query_map([since, split, until], |row| {
                Ok(PassCount {
                    gate_id: row.get(0)?,
                    last_hour: row.get(1)?,
                    last_15_min: row.get(2)?,
                })
            })
            .map_err(sqlite("face-gate passes"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sqlite("face-gate passes"))
    }
}

super::report_store_impl!(SqliteStorage);

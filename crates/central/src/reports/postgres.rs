//! The reports on PostgreSQL: summary tables kept by statement-level triggers over each
//! insert's transition table (one trigger run per ingested batch; see the module docs of
//! [`crate::reports`]).

use super::IncidentCountRow;
use super::{
    AckedRecord, DenyRow, GateRow, HourRow, IncidentQuery, IncidentRow, OutcomeCounts, PassCount,
};
use crate::storage::{PostgresStorage, StorageError, pg};

const TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS report_gates (
    gate_id               text PRIMARY KEY,
    events                bigint NOT NULL,
    last_received_ms      bigint NOT NULL,
    last_occurred_ms      bigint NOT NULL,
    last_outcome_ms       bigint,
    heartbeat             jsonb,
    heartbeat_occurred_ms bigint,
    heartbeat_received_ms bigint
);
CREATE TABLE IF NOT EXISTS report_gate_hours (
    gate_id        text NOT NULL,
    hour_ms        bigint NOT NULL,
    events         bigint NOT NULL,
    passed         bigint NOT NULL,
    denied         bigint NOT NULL,
    referred       bigint NOT NULL,
    completed      bigint NOT NULL,
    other_outcomes bigint NOT NULL,
    lag_sum_ms     bigint NOT NULL,
    lag_max_ms     bigint NOT NULL,
    PRIMARY KEY (gate_id, hour_ms)
);
CREATE INDEX IF NOT EXISTS report_gate_hours_hour ON report_gate_hours (hour_ms);
CREATE TABLE IF NOT EXISTS report_deny_reasons (
    gate_id text NOT NULL,
    hour_ms bigint NOT NULL,
    reason  text NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (gate_id, hour_ms, reason)
);
CREATE INDEX IF NOT EXISTS report_deny_reasons_hour ON report_deny_reasons (hour_ms);
CREATE TABLE IF NOT EXISTS report_incidents (
    event_id       uuid PRIMARY KEY,
    gate_id        text NOT NULL,
    occurred_at_ms bigint NOT NULL,
    received_at_ms bigint NOT NULL,
    kind           text NOT NULL,
    code           text NOT NULL,
    detail         text
);
CREATE INDEX IF NOT EXISTS report_incidents_time ON report_incidents (occurred_at_ms);
CREATE TABLE IF NOT EXISTS report_handovers (
    id           uuid PRIMARY KEY,
    sealed_at_ms bigint
);
CREATE INDEX IF NOT EXISTS report_handovers_acked ON handovers (acked_at_ms)
    WHERE acked_at_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS report_outcomes_time ON events (occurred_at)
    WHERE kind = 'transaction.outcome';
"#;

/// The aggregation of the rows of relation `{src}` (shaped like `events`) into the summary
/// tables: the trigger's body over its transition table, and the backfill over `events`.
const AGGREGATE: &str = r#"
INSERT INTO report_gates AS g (gate_id, events, last_received_ms, last_occurred_ms,
                               last_outcome_ms)
SELECT gate_id, count(*), max(received_at_ms), max(occurred_at_ms),
       max(occurred_at_ms) FILTER (WHERE kind = 'transaction.outcome')
FROM {src} GROUP BY gate_id ORDER BY gate_id
ON CONFLICT (gate_id) DO UPDATE SET
    events = g.events + excluded.events,
    last_received_ms = greatest(g.last_received_ms, excluded.last_received_ms),
    last_occurred_ms = greatest(g.last_occurred_ms, excluded.last_occurred_ms),
    last_outcome_ms = greatest(g.last_outcome_ms, excluded.last_outcome_ms);
UPDATE report_gates AS g SET heartbeat = b.payload, heartbeat_occurred_ms = b.occurred_at_ms,
       heartbeat_received_ms = b.received_at_ms
FROM (SELECT DISTINCT ON (gate_id) gate_id, payload, occurred_at_ms, received_at_ms
      FROM {src} WHERE kind = 'gate.heartbeat'
      ORDER BY gate_id, occurred_at_ms DESC, sequence DESC) AS b
WHERE g.gate_id = b.gate_id
  AND (g.heartbeat_occurred_ms IS NULL OR b.occurred_at_ms >= g.heartbeat_occurred_ms);
INSERT INTO report_gate_hours AS h (gate_id, hour_ms, events, passed, denied, referred,
                                    completed, other_outcomes, lag_sum_ms, lag_max_ms)
SELECT gate_id, hour_ms, count(*),
       count(*) FILTER (WHERE outcome = 'passed'),
       count(*) FILTER (WHERE outcome = 'denied'),
       count(*) FILTER (WHERE referral),
       count(*) FILTER (WHERE outcome = 'completed'),
       count(*) FILTER (WHERE outcome NOT IN ('passed', 'denied', 'completed') AND NOT referral),
       sum(lag), max(lag)
FROM (SELECT gate_id,
             occurred_at_ms - ((occurred_at_ms % 3600000) + 3600000) % 3600000 AS hour_ms,
             greatest(received_at_ms - occurred_at_ms, 0) AS lag,
             CASE WHEN kind = 'transaction.outcome' THEN payload->>'outcome' END AS outcome,
             coalesce(kind = 'transaction.outcome' AND payload->>'decision' IS NULL
                      AND payload->>'outcome' IN ('timed_out', 'aborted')
                      AND NOT coalesce(payload->'reasons' ? 'OFFICER_CANCELLED', false),
                      false) AS referral
      FROM {src}) AS e
GROUP BY gate_id, hour_ms ORDER BY gate_id, hour_ms
ON CONFLICT (gate_id, hour_ms) DO UPDATE SET
    events = h.events + excluded.events,
    passed = h.passed + excluded.passed,
    denied = h.denied + excluded.denied,
    referred = h.referred + excluded.referred,
    completed = h.completed + excluded.completed,
    other_outcomes = h.other_outcomes + excluded.other_outcomes,
    lag_sum_ms = h.lag_sum_ms + excluded.lag_sum_ms,
    lag_max_ms = greatest(h.lag_max_ms, excluded.lag_max_ms);
INSERT INTO report_deny_reasons AS r (gate_id, hour_ms, reason, count)
SELECT gate_id, occurred_at_ms - ((occurred_at_ms % 3600000) + 3600000) % 3600000, reason,
       count(*)
FROM {src},
     jsonb_array_elements_text(CASE WHEN jsonb_typeof(payload->'reasons') = 'array'
                                    THEN payload->'reasons' ELSE '[]'::jsonb END) AS reason
WHERE kind = 'transaction.outcome' AND payload->>'outcome' = 'denied' AND reason IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (gate_id, hour_ms, reason) DO UPDATE SET count = r.count + excluded.count;
INSERT INTO report_incidents (event_id, gate_id, occurred_at_ms, received_at_ms, kind, code,
                              detail)
SELECT id, gate_id, occurred_at_ms, received_at_ms,
       CASE kind WHEN 'door.alarm' THEN 'door_alarm'
                 WHEN 'officer.action' THEN 'officer_action' ELSE 'referral' END,
       CASE kind WHEN 'door.alarm' THEN upper(coalesce(payload->>'event', 'unknown'))
                 WHEN 'officer.action' THEN coalesce(payload->>'action', 'unknown')
                 ELSE coalesce(reasons, '') END,
       CASE kind WHEN 'door.alarm' THEN NULL
                 WHEN 'officer.action' THEN nullif(concat_ws(' ', 'via ' || (payload->>'via'),
                                                             reasons), '')
                 ELSE payload->>'outcome' END
FROM (SELECT *, (SELECT string_agg(x, ',') FROM jsonb_array_elements_text(
                     CASE WHEN jsonb_typeof(payload->'reasons') = 'array'
                          THEN payload->'reasons' ELSE '[]'::jsonb END) AS x) AS reasons
      FROM {src}
      WHERE kind IN ('door.alarm', 'officer.action')
         OR (kind = 'transaction.outcome' AND payload->>'decision' IS NULL
             AND payload->>'outcome' IN ('timed_out', 'aborted')
             AND NOT coalesce(payload->'reasons' ? 'OFFICER_CANCELLED', false))) AS i
ON CONFLICT (event_id) DO NOTHING;
"#;

fn triggers() -> String {
    format!(
        r#"
CREATE OR REPLACE FUNCTION report_after_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
{aggregate}
RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER report_after_events AFTER INSERT ON events
    REFERENCING NEW TABLE AS report_new_events
    FOR EACH STATEMENT EXECUTE FUNCTION report_after_events();
-- The gate's sealed_at_ms of a stored record (JSON of SealedHandOver); NULL rather than an
-- error for anything unexpected, so a report can never make a hand-over fail.
CREATE OR REPLACE FUNCTION report_sealed_at_ms(sealed bytea) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
    value jsonb;
BEGIN
    value := convert_from(sealed, 'UTF8')::jsonb -> 'sealed_at_ms';
    IF jsonb_typeof(value) = 'number' THEN
        RETURN (value #>> '{{}}')::numeric::bigint;
    END IF;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION report_after_handovers() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO report_handovers (id, sealed_at_ms)
    SELECT id, report_sealed_at_ms(sealed)
    FROM report_new_handovers WHERE sealed IS NOT NULL
    ON CONFLICT (id) DO NOTHING;
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER report_after_handovers AFTER INSERT ON handovers
    REFERENCING NEW TABLE AS report_new_handovers
    FOR EACH STATEMENT EXECUTE FUNCTION report_after_handovers();
"#,
        aggregate = AGGREGATE.replace("{src}", "report_new_events"),
    )
}

/// Creates the report tables, indexes and triggers in `transaction` (the storage's schema
/// transaction, under its advisory lock, so replicas starting together do not race); the first
/// time, fills the summaries from the events and hand-overs already stored. Called by
/// [`PostgresStorage::connect`].
pub fn prepare(transaction: &mut postgres::Transaction<'_>) -> Result<(), StorageError> {
    let fresh: bool = transaction
        .query_one("SELECT to_regclass('report_gates') IS NULL", &[])
        .map_err(pg("look for the report schema"))?
        .get(0);
    transaction
        .batch_execute(TABLES)
        .map_err(pg("create report tables"))?;
    transaction
        .batch_execute(&triggers())
        .map_err(pg("create report triggers"))?;
    if fresh {
        transaction
            .batch_execute(&AGGREGATE.replace("{src}", "events"))
            .map_err(pg("fill the reports from stored events"))?;
        transaction
            .batch_execute(
                "INSERT INTO report_handovers (id, sealed_at_ms) \
                 SELECT id, report_sealed_at_ms(sealed) \
                 FROM handovers WHERE sealed IS NOT NULL ON CONFLICT (id) DO NOTHING",
            )
            .map_err(pg("fill the hand-over times"))?;
    }
    Ok(())
}

impl super::ReportRows for PostgresStorage {
    fn gate_rows(&self) -> Result<Vec<GateRow>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT gate_id, events, last_received_ms, last_occurred_ms, \
                     last_outcome_ms, heartbeat, heartbeat_occurred_ms FROM report_gates",
                    &[],
                )
                .map_err(pg("fleet"))
        })?;
        rows.iter()
            .map(|row| {
                Ok(GateRow {
                    gate_id: row.try_get(0)?,
                    events: row.try_get(1)?,
                    last_received_ms: row.try_get(2)?,
                    last_occurred_ms: row.try_get(3)?,
                    last_outcome_ms: row.try_get(4)?,
                    heartbeat: row.try_get(5)?,
                    heartbeat_occurred_ms: row.try_get(6)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(pg("read fleet row"))
    }

    fn hour_rows(&self, since_hour: i64, until: i64) -> Result<Vec<HourRow>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT gate_id, hour_ms, events, passed, denied, referred, completed, \
                     other_outcomes, lag_sum_ms, lag_max_ms FROM report_gate_hours \
                     WHERE hour_ms >= $1 AND hour_ms < $2",
                    &[&since_hour, &until],
                )
                .map_err(pg("activity"))
        })?;
        rows.iter()
            .map(|row| {
                Ok(HourRow {
                    gate_id: row.try_get(0)?,
                    hour_ms: row.try_get(1)?,
                    events: row.try_get(2)?,
                    counts: OutcomeCounts {
                        passed: row.try_get(3)?,
                        denied: row.try_get(4)?,
                        referred: row.try_get(5)?,
                        completed: row.try_get(6)?,
                        other: row.try_get(7)?,
                    },
                    lag_sum_ms: row.try_get(8)?,
                    lag_max_ms: row.try_get(9)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(pg("read activity row"))
    }

    fn deny_rows(&self, since_hour: i64, until: i64) -> Result<Vec<DenyRow>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT gate_id, reason, sum(count)::bigint FROM report_deny_reasons \
                     WHERE hour_ms >= $1 AND hour_ms < $2 GROUP BY gate_id, reason",
                    &[&since_hour, &until],
                )
                .map_err(pg("deny reasons"))
        })?;
        rows.iter()
            .map(|row| {
                Ok(DenyRow {
                    gate_id: row.try_get(0)?,
                    reason: row.try_get(1)?,
                    count: row.try_get(2)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(pg("read deny reason row"))
    }

    fn incident_rows(&self, query: &IncidentQuery) -> Result<Vec<IncidentRow>, StorageError> {
        let limit = i64::from(query.limit);
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT kind, gate_id, occurred_at_ms, received_at_ms, code, detail \
                     FROM report_incidents WHERE occurred_at_ms >= $1 AND occurred_at_ms < $2 \
                     ORDER BY occurred_at_ms DESC, event_id LIMIT $3",
                    &[&query.since_ms, &query.until_ms, &limit],
                )
                .map_err(pg("incidents"))
        })?;
        rows.iter()
            .map(|row| {
                Ok(IncidentRow {
                    kind: row.try_get(0)?,
                    gate_id: row.try_get(1)?,
                    occurred_at_ms: row.try_get(2)?,
                    received_at_ms: row.try_get(3)?,
                    code: row.try_get(4)?,
                    detail: row.try_get(5)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(pg("read incident row"))
    }

    fn incident_counts(
        &self,
        query: &IncidentQuery,
    ) -> Result<Vec<IncidentCountRow>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT kind, gate_id, code, count(*) FROM report_incidents \
                     WHERE occurred_at_ms >= $1 AND occurred_at_ms < $2 GROUP BY kind, gate_id, code",
                    &[&query.since_ms, &query.until_ms],
                )
                .map_err(pg("incident counts"))
        })?;
        rows.iter()
            .map(|row| {
                Ok(IncidentCountRow {
                    kind: row.try_get(0)?,
                    gate_id: row.try_get(1)?,
                    code: row.try_get(2)?,
                    count: row.try_get(3)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(pg("read incident count row"))
    }

    fn acked_rows(&self, since: i64, until: i64) -> Result<Vec<AckedRecord>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT h.gate_id, r.sealed_at_ms, h.received_at_ms, h.acked_at_ms \
                     FROM handovers AS h LEFT JOIN report_handovers AS r ON r.id = h.id \
                     WHERE h.acked_at_ms >= $1 AND h.acked_at_ms <= $2",
                    &[&since, &until],
                )
                .map_err(pg("acknowledged hand-overs"))
        })?;
        rows.iter()
            .map(|row| {
                Ok(AckedRecord {
                    gate_id: row.try_get(0)?,
                    sealed_at_ms: row.try_get(1)?,
                    received_at_ms: row.try_get(2)?,
                    acked_at_ms: row.try_get(3)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(pg("read acknowledged hand-over row"))
    }

    fn pass_counts(
        &self,
        since: i64,
        split: i64,
        until: i64,
    ) -> Result<Vec<PassCount>, StorageError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT gate_id, count(*), count(*) FILTER (WHERE occurred_at_ms >= $2) \
                     FROM events WHERE kind = 'transaction.outcome' \
                     AND occurred_at >= to_timestamp($1::bigint / 1000.0) \
                     AND occurred_at <= to_timestamp($3::bigint / 1000.0) \
                     AND occurred_at_ms >= $1 AND occurred_at_ms <= $3 \
                     AND payload->>'outcome' = 'passed' AND payload->>'profile' = 'face_gate' \
                     GROUP BY gate_id",
                    &[&since, &split, &until],
                )
                .map_err(pg("face-gate passes"))
        })?;
        rows.iter()
            .map(|row| {
                Ok(PassCount {
                    gate_id: row.try_get(0)?,
                    last_hour: row.try_get(1)?,
                    last_15_min: row.try_get(2)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(pg("read face-gate pass row"))
    }
}

super::report_store_impl!(PostgresStorage);

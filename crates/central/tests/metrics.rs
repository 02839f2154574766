//! `GET /metrics` of the built `central` binary: events stored and retransmitted per gate,
//! per-gate lag (kept across a restart), storage latency and HTTP requests, in the Prometheus
//! text format `promtool check metrics` accepts, and OpenMetrics for Prometheus.
#![allow(clippy::unwrap_used)]

#[path = "support/central.rs"]
mod central_process;

use central_process::Central;
use gate_metrics::{Samples, promtool_check};
use outbox::wire::{EventBatch, EventEnvelope};
use std::time::Duration;
use uuid::Uuid;

fn scrape(base_url: &str, accept: Option<&str>) -> (String, String) {
    let mut request = ureq::get(&format!("{base_url}/metrics")).timeout(Duration::from_secs(5));
    if let Some(accept) = accept {
        request = request.set("Accept", accept);
    }
    let response = request.call().unwrap();
    let content_type = response.header("content-type").unwrap_or("").to_owned();
    (content_type, response.into_string().unwrap())
}

fn batch(gate: &str, sequences: std::ops::RangeInclusive<u64>, occurred_at_ms: i64) -> EventBatch {
    EventBatch {
        gate_id: gate.into(),
        events: sequences
            .map(|sequence| EventEnvelope {
                id: Uuid::now_v7(),
                gate_id: gate.into(),
                sequence,
                schema_version: 1,
                kind: "transaction.outcome".into(),
                occurred_at_ms,
                payload: serde_json::json!({ "outcome": "passed" }),
            })
            .collect(),
    }
}

fn post(base_url: &str, batch: &EventBatch) {
    ureq::post(&format!("{base_url}/v1/events"))
        .send_json(serde_json::to_value(batch).unwrap())
        .unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn metrics_count_ingest_per_gate_lag_storage_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("central.sqlite").display());
    let mut central = Central::start(&database);
    let base = central.base_url();

    let (content_type, text) = scrape(&base, None);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    promtool_check(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));

    // Gate A: three events a minute old, one of them sent again; gate B: one event.
    let minute_ago = now_ms() - 60_000;
    let first = batch("GATE-A", 1..=3, minute_ago);
    post(&base, &first);
    post(
        &base,
        &EventBatch {
            gate_id: "GATE-A".into(),
            events: first.events[2..].to_vec(),
        },
    );
    post(&base, &batch("GATE-B", 1..=1, now_ms()));
    let _ = ureq::get(&format!("{base}/v1/nothing")).call();

    let (_, text) = scrape(&base, None);
    promtool_check(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    let samples = Samples::parse(&text);
    let a = [("gate", "GATE-A")];
    let b = [("gate", "GATE-B")];
    assert_eq!(
        samples.value("gate_central_events_stored_total", &a),
        3.0,
        "{text}"
    );
    assert_eq!(
        samples.value("gate_central_events_duplicate_total", &a),
        1.0
    );
    assert_eq!(samples.value("gate_central_events_stored_total", &b), 1.0);
    let lag_a = samples.value("gate_central_gate_sync_lag_seconds", &a);
    assert!((59.0..120.0).contains(&lag_a), "{lag_a}");
    assert!(samples.value("gate_central_gate_sync_lag_seconds", &b) < 30.0);
    assert_eq!(
        samples.value("gate_central_ingest_delay_seconds_count", &[]),
        5.0
    );
    assert_eq!(
        samples.value(
            "gate_central_storage_operation_duration_seconds_count",
            &[("operation", "ingest")]
        ),
        3.0
    );
    assert!(
        samples.value(
            "gate_central_storage_operation_duration_seconds_count",
            &[("operation", "gate_heads")]
        ) >= 1.0,
        "read at start-up"
    );
    assert_eq!(
        samples.value(
            "gate_central_http_requests_total",
            &[("route", "/v1/events"), ("method", "POST"), ("code", "200")]
        ),
        3.0
    );
    assert_eq!(
        samples.value(
            "gate_central_http_requests_total",
            &[("route", "unmatched"), ("method", "GET"), ("code", "404")]
        ),
        1.0
    );
    assert!(
        !text.contains(&first.events[0].id.to_string()),
        "no event id in the metrics"
    );

    // OpenMetrics for Prometheus.
    let (content_type, open) = scrape(
        &base,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    );
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(open.ends_with("# EOF\n"));

    // A restarted central knows each gate's newest event from its database.
    central.terminate();
    let central = Central::start(&database);
    let samples = Samples::parse(&scrape(&central.base_url(), None).1);
    let lag_a = samples.value("gate_central_gate_sync_lag_seconds", &a);
    assert!((59.0..120.0).contains(&lag_a), "{lag_a}");
    assert_eq!(
        samples.value("gate_central_events_stored_total", &a),
        0.0,
        "counters start again"
    );
}

//! The real gated binary with `[metrics]`: simulated travellers pass and are denied, and the
//! metrics scraped over HTTP (and the node-exporter textfile) move as the outcome records do;
//! `promtool check metrics` finds no problem; a real Prometheus scrapes gated and central.
#![allow(clippy::unwrap_used)]

mod support;

use gate_config::metrics::MetricsSection;
use gate_metrics::{Samples, promtool_check};
use gate_protocol::{SimulatedDocument, SimulatedTraveller};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{Gated, central_section, fast_sim_config, free_port, start_central};

/// `GET url` with `accept`; the content type and the body.
fn scrape(url: &str, accept: Option<&str>) -> (String, String) {
    let mut request = ureq::get(url).timeout(Duration::from_secs(5));
    if let Some(accept) = accept {
        request = request.set("Accept", accept);
    }
    let response = request
        .call()
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    let content_type = response.header("content-type").unwrap_or("").to_owned();
    (content_type, response.into_string().unwrap())
}

fn metrics_on(port: u16) -> MetricsSection {
    MetricsSection::on(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Milliseconds of timing `name` summed over the outcome records in the outbox.
fn record_sum_ms(events: &[serde_json::Value], name: &str) -> u64 {
    events
        .iter()
        .filter(|e| e["kind"] == "transaction.outcome")
        .map(|e| {
            let value = &e["payload"]["timings"][name];
            match value.as_array() {
                Some(each) => each.iter().map(|v| v.as_u64().unwrap()).sum(),
                None => value.as_u64().unwrap_or(0),
            }
        })
        .sum()
}

#[test]
fn metrics_follow_passes_and_denials_by_reason_and_pass_promtool() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let textfile = dir.path().join("collector/gated.prom");
    std::fs::create_dir_all(textfile.parent().unwrap()).unwrap();
    let mut config = fast_sim_config();
    config.metrics = Some(MetricsSection {
        textfile: Some(textfile.clone()),
        textfile_interval_s: 1,
        ..metrics_on(port)
    });
    let gated = Gated::start_in(dir.path(), &config);
    let url = format!("http://127.0.0.1:{port}/metrics");

    // Before anyone: every outcome at zero, devices up, in service.
    let (content_type, text) = scrape(&url, None);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    promtool_check(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    let before = Samples::parse(&text);
    assert_eq!(before.sum("gate_transactions_total", &[]), 0.0);
    for device in ["chip_reader", "camera", "door", "outbox"] {
        assert_eq!(
            before.value("gate_device_health", &[("device", device), ("state", "up")]),
            1.0,
            "{device}\n{text}"
        );
    }
    assert_eq!(before.value("gate_in_service", &[]), 1.0);
    assert_eq!(
        before.value(
            "gate_info",
            &[
                ("gate_id", "SIM-FACE-01"),
                ("profile", "face_gate"),
                ("version", env!("CARGO_PKG_VERSION"))
            ]
        ),
        1.0
    );

    // A genuine traveller passes; an impostor is denied after three face captures; an expired
    // passport is denied at the document.
    gated.admit(SimulatedTraveller::default());
    gated.wait_for("the pass", |s| s.counters.passed == 1);
    gated.admit(SimulatedTraveller {
        face_scores: vec![0.05, 0.1, 0.12],
        ..SimulatedTraveller::default()
    });
    gated.wait_for("the impostor's deny", |s| s.counters.denied == 1);
    gated.officer_clears_the_hold();
    gated.admit(SimulatedTraveller {
        document: SimulatedDocument::Expired,
        ..SimulatedTraveller::default()
    });
    gated.wait_for("the expired passport's deny", |s| s.counters.denied == 2);
    gated.officer_clears_the_hold();
    let status = gated.wait_for("the outcomes on disk", |s| s.outbox_pending >= 3);

    let (_, text) = scrape(&url, None);
    promtool_check(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    let after = Samples::parse(&text);
    let outcomes = |outcome| after.value("gate_transactions_total", &[("outcome", outcome)]);
    assert_eq!(
        (outcomes("passed"), outcomes("denied")),
        (1.0, 2.0),
        "{text}"
    );
    let reason = |reason| {
        after.value(
            "gate_transaction_reasons_total",
            &[("outcome", "denied"), ("reason", reason)],
        )
    };
    assert_eq!(reason("FACE_MISMATCH"), 1.0, "{text}");
    assert_eq!(reason("DOCUMENT_EXPIRED"), 1.0, "{text}");
    assert_eq!(
        after.value("gate_documents_turned_away_total", &[]),
        2.0,
        "one per hold"
    );

    // The histograms saw exactly the stages the records have: the document and the decision
    // of all three, the face bursts of two (one, then three), the passage of one.
    let count = |stage| after.value("gate_stage_duration_seconds_count", &[("stage", stage)]);
    for (stage, expected) in [
        ("document", 3.0),
        ("chip_read", 3.0),
        ("authenticity", 3.0),
        ("decision", 3.0),
        ("transaction", 3.0),
        ("biometric", 2.0),
        ("face_burst", 4.0),
        ("passage", 1.0),
    ] {
        assert_eq!(count(stage), expected, "{stage}\n{text}");
    }
    // ... with the records' own values: a denied traveller's biometric time is there.
    let events = gated.outbox_events();
    let sum = |stage| after.value("gate_stage_duration_seconds_sum", &[("stage", stage)]);
    for (stage, field) in [
        ("biometric", "biometric_ms"),
        ("document", "document_ms"),
        ("face_burst", "face_bursts_ms"),
        ("transaction", "total_ms"),
    ] {
        let records_s = record_sum_ms(&events, field) as f64 / 1_000.0;
        assert!(
            (sum(stage) - records_s).abs() < 1e-6,
            "{stage}: metrics {} s, records {records_s} s",
            sum(stage)
        );
    }
    let denied_biometric: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["payload"]["reasons"][0] == "FACE_MISMATCH")
        .map(|e| &e["payload"]["timings"]["biometric_ms"])
        .collect();
    assert!(
        denied_biometric[0].as_u64().unwrap() > 0,
        "{denied_biometric:?}"
    );

    // The outbox: no central, so everything waits (the gauges follow within a few seconds).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let samples = Samples::parse(&scrape(&url, None).1);
        let pending = samples.value("gate_outbox_pending_events", &[]);
        if pending >= status.outbox_pending as f64
            && samples.value("gate_outbox_oldest_pending_age_seconds", &[]) > 0.0
        {
            assert!(samples.value("gate_sync_lag_seconds", &[]) > 0.0);
            assert_eq!(
                samples.value("gate_sync_last_success_timestamp_seconds", &[]),
                0.0
            );
            break;
        }
        assert!(Instant::now() < deadline, "outbox gauges: {pending}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Prometheus itself asks for OpenMetrics and gets it.
    let (content_type, open) = scrape(
        &url,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    );
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(open.ends_with("# EOF\n"));
    assert_eq!(
        Samples::parse(&open).value("gate_transactions_total", &[("outcome", "denied")]),
        2.0
    );

    // The textfile for node-exporter follows within its interval, whole, and passes promtool.
    let deadline = Instant::now() + Duration::from_secs(10);
    let file = loop {
        let text = std::fs::read_to_string(&textfile).unwrap_or_default();
        if Samples::parse(&text).value("gate_transactions_total", &[("outcome", "denied")]) == 2.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "textfile not written: {text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    promtool_check(&file).unwrap_or_else(|err| panic!("{err}\n{file}"));
    let beside: Vec<_> = std::fs::read_dir(textfile.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["gated.prom"]);

    let log = gated.log_text();
    assert!(
        log.contains(&format!("metrics: http://127.0.0.1:{port}/metrics")),
        "{log}"
    );
}

#[test]
fn a_device_down_shows_in_the_health_and_condition_gauges() {
    let port = free_port();
    let mut config = fast_sim_config();
    config.metrics = Some(metrics_on(port));
    let gated = Gated::start(&config);
    let url = format!("http://127.0.0.1:{port}/metrics");
    // Maintenance takes the gate out of service like any condition.
    assert_eq!(
        gated.ok(gate_protocol::Request::SetMaintenance { on: true }),
        gate_protocol::Response::Done
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let samples = Samples::parse(&scrape(&url, None).1);
        if samples.value("gate_condition", &[("condition", "maintenance")]) == 1.0 {
            assert_eq!(samples.value("gate_in_service", &[]), 0.0);
            break;
        }
        assert!(Instant::now() < deadline, "maintenance not shown");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_metrics_port_in_use_stops_gated_with_the_cause() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let mut config = fast_sim_config();
    config.metrics = Some(metrics_on(port));
    let dir = tempfile::tempdir().unwrap();
    let mut gated = Gated::spawn(dir.path(), &config, &[]);
    let status = gated.child.wait().unwrap();
    assert!(!status.success());
    let log = gated.log_text();
    assert!(
        log.contains(&format!("metrics: cannot listen on 127.0.0.1:{port}")),
        "{log}"
    );
}

/// A real Prometheus (Debian's package) on a free port, scraping `targets` every second.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(targets: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
        for (job, target) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ));
        }
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("prometheus (apt install prometheus): {err}"));
        let prometheus = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("{}/-/ready", prometheus.url))
            .call()
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "prometheus not ready: {}",
                prometheus.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The values of an instant query, each with its labels.
    fn query(&self, query: &str) -> Vec<(serde_json::Value, f64)> {
        let answer: serde_json::Value = ureq::get(&format!("{}/api/v1/query", self.url))
            .query("query", query)
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        assert_eq!(answer["status"], "success", "{answer}");
        answer["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|series| {
                let value = series["value"][1].as_str().unwrap().parse().unwrap();
                (series["metric"].clone(), value)
            })
            .collect()
    }

    /// Waits until `query` returns a series whose value satisfies `wanted`.
    fn wait_for(&self, query: &str, wanted: impl Fn(f64) -> bool) -> Vec<(serde_json::Value, f64)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = self.query(query);
            if result.iter().any(|(_, value)| wanted(*value)) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "{query}: {result:?}\nprometheus log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_gated_and_central() {
    let dir = tempfile::tempdir().unwrap();
    let central = start_central(dir.path());
    let port = free_port();
    let mut config = fast_sim_config();
    config.central = Some(central_section(&central.url, 100, 86_400));
    config.metrics = Some(metrics_on(port));
    // The face gate needs its denylist from central before it admits anyone.
    support::publish_list(&central.url, "denylist", &[]);
    let gated_dir = dir.path().join("gate");
    std::fs::create_dir_all(&gated_dir).unwrap();
    let gated = Gated::start_in(&gated_dir, &config);
    gated.wait_for("the lists", |s| s.conditions.is_empty());
    let prometheus = Prometheus::start(&[
        ("gated", format!("127.0.0.1:{port}")),
        ("central", format!("127.0.0.1:{}", central.port)),
    ]);
    gated.admit(SimulatedTraveller::default());
    gated.wait_for("the pass", |s| s.counters.passed == 1);
    gated.wait_for("the sync", |s| s.outbox_pending == 0);

    for job in ["gated", "central"] {
        prometheus.wait_for(&format!("up{{job=\"{job}\"}}"), |up| up == 1.0);
    }
    prometheus.wait_for("gate_transactions_total{outcome=\"passed\"}", |n| n == 1.0);
    prometheus.wait_for(
        "gate_stage_duration_seconds_count{stage=\"face_burst\"}",
        |n| n >= 1.0,
    );
    let stored = prometheus.wait_for(
        "gate_central_events_stored_total{gate=\"SIM-FACE-01\"}",
        |n| n >= 1.0,
    );
    assert_eq!(stored[0].0["job"], "central");
    prometheus.wait_for(
        "gate_central_gate_sync_lag_seconds{gate=\"SIM-FACE-01\"}",
        |s| s >= 0.0,
    );
    prometheus.wait_for("gate_outbox_pending_events", |n| n == 0.0);
    // Nothing a scrape failed to parse.
    let failed = prometheus.query("prometheus_target_scrapes_sample_out_of_order_total");
    assert!(failed.iter().all(|(_, v)| *v == 0.0), "{failed:?}");
}

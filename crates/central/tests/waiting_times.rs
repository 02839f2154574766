//! The published waiting times through central's real HTTP API, on real SQLite and a real
//! PostgreSQL: gates (their real outboxes and sync client) send heartbeats and outcomes,
//! a BioCart's sealed hand-over records go to central and a booth (the real booth client)
//! fetches and acknowledges them; `GET /v1/waiting-times` and the page `GET /waiting` must show
//! exactly the figures worked out by hand below. The browser test renders the page in headless
//! Chromium, checks the figure is visible, runs axe-core and keeps a screenshot under
//! `target/central-artefacts/waiting/`.
#![allow(clippy::unwrap_used)]

// Shared with gated's screen tests; this test does not use every helper.
#[allow(dead_code)]
#[path = "../../gated/tests/support/browser.rs"]
mod browser;
#[path = "support/central.rs"]
mod central_process;
#[path = "support/handover_record.rs"]
mod handover_record;
#[path = "support/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use central_process::{Central, free_port};
use handover_record::record;
use outbox::handover::{BoothPrivateKey, seal};
use outbox::sync::{BoothClient, SyncClient, SyncConfig};
use outbox::{NewEvent, Outbox, OutboxConfig, OutboxLimits};
use serde_json::{Value, json};

const MIN: i64 = 60_000;
const DAY: Duration = Duration::from_secs(24 * 3600);

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// One simulated gate: its own outbox database and sync client, as gated has.
struct Gate {
    outbox: Outbox,
    client: SyncClient,
}

impl Gate {
    fn new(dir: &Path, id: &str, central: &Central) -> Self {
        let outbox = Outbox::open(
            dir.join(format!("{id}.db")),
            OutboxConfig::new(id, OutboxLimits::default()),
        )
        .unwrap();
        let client = SyncClient::new(&SyncConfig::new(central.base_url())).unwrap();
        Self { outbox, client }
    }

    fn event(&mut self, kind: &str, occurred_at_ms: i64, payload: Value) {
        self.outbox
            .append(&NewEvent {
                kind,
                occurred_at_ms,
                payload: &payload,
            })
            .unwrap();
    }

    fn heartbeat(&mut self, profile: &str, terminal: &str, zone: &str, at: i64) {
        self.event(
            "gate.heartbeat",
            at,
            json!({
                "profile": profile,
                "site": {"airport": "HND", "terminal": terminal, "zone": zone},
                "software_version": "0.1.0",
                "interval_s": 60,
                "state": "idle",
                "in_service": true,
                "out_of_service_reasons": [],
                "devices": [],
                "outbox": {"pending": 0, "oldest_pending_age_ms": null},
                "sync": {"last_success_ms": at, "lag_ms": 0},
            }),
        );
    }

    fn outcome(&mut self, outcome: &str, decision: &str, at: i64) {
        self.event(
            "transaction.outcome",
            at,
            json!({
                "schema_version": 1,
                "transaction_id": format!("{:032x}", at),
                "profile": "face_gate",
                "outcome": outcome,
                "decision": decision,
                "reasons": if outcome == "denied" { json!(["FACE_MISMATCH"]) } else { json!([]) },
                "started_at_unix_ms": at - 20_000,
                "ended_at_unix_ms": at,
            }),
        );
    }

    fn sync(&mut self) {
        self.client.drain(&mut self.outbox, 100).unwrap();
        assert!(self.outbox.pending(1).unwrap().is_empty());
    }
}

/// What the scenario must show.
struct Expected {
    arrivals_median_s: i64,
    arrivals_p90_s: i64,
    /// Seconds the acknowledgement may come after t (see the scenario): each wait is its
    /// sealed offset plus 0..=this.
    ack_slack_s: i64,
    arrivals_records: u64,
    departures_last_hour: u64,
    departures_last_15_min: u64,
}

/// The scenario, at the real time `t` (Unix ms) read just before the records are pushed:
///
/// Sites: HND T2 arrivals (`CART-B`, a BioCart with no record), HND T3 arrivals (`CART-A`),
/// HND T3 departures (face gates `FACE-D1`, `FACE-D2`). Every gate beats at t - 30 s.
///
/// Arrivals, `CART-A`: six records sealed at t - 240 s, t - 420 s, t - 300 s, t - 900 s,
/// t - 600 s, and t + 3,600 s (a gate clock an hour fast), pushed to central, fetched and
/// acknowledged by the booth at a time a in [t, done], where done - t = d is measured (well
/// under a second on a quiet machine; the test requires under 30 s). A seventh record stays
/// unacknowledged and does not count. The waits (ack - creation, creation = min(sealed_at,
/// central's receipt)), in whole seconds rounded down, are therefore
///   240 + e, 420 + e, 300 + e, 900 + e, 600 + e and e' (the fast clock's record counts from
///   central's receipt, which is between t and a), with 0 <= e, e' <= ceil(d / 1000) = slack;
/// sorted: e', 240 + e, 300 + e, 420 + e, 600 + e, 900 + e; n = 6.
///   median = nearest rank ceil(0.5 x 6) = 3rd = 300 s (+ e) -> page: floor(300..330 / 60) = 5 min;
///   p90    = nearest rank ceil(0.9 x 6) = ceil(5.4) = 6th = 900 s (+ e) -> page: 15 min.
/// With d under a second (the usual case) e = e' = 0 or 1 and the JSON says 300 and 900 (or
/// 301 and 901 when the second turned over between t and a).
///
/// Departures: `FACE-D1` passes at t - 5, t - 14, t - 30, t - 59 and t - 61 min and denies
/// one at t - 2 min; `FACE-D2` passes one at t - 10 min.
///   last 60 min: D1 4 (t - 61 is outside, the denial is not a pass) + D2 1 = 5;
///   last 15 min: D1 2 (t - 5, t - 14) + D2 1 (t - 10) = 3.
/// (The test runs in well under a minute, so none of these crosses a window boundary.)
fn drive_scenario(central: &Central, dir: &Path) -> Expected {
    let t = now_ms();
    let mut cart_b = Gate::new(dir, "CART-B", central);
    cart_b.heartbeat("bio_cart", "T2", "arrivals", t - 30_000);
    cart_b.sync();
    let mut face_1 = Gate::new(dir, "FACE-D1", central);
    face_1.heartbeat("face_gate", "T3", "departures", t - 30_000);
    for minutes in [61, 59, 30, 14, 5] {
        face_1.outcome("passed", "pass", t - minutes * MIN);
    }
    face_1.outcome("denied", "deny", t - 2 * MIN);
    face_1.sync();
    let mut face_2 = Gate::new(dir, "FACE-D2", central);
    face_2.heartbeat("face_gate", "T3", "departures", t - 30_000);
    face_2.outcome("passed", "pass", t - 10 * MIN);
    face_2.sync();
    let mut cart_a = Gate::new(dir, "CART-A", central);
    cart_a.heartbeat("bio_cart", "T3", "arrivals", t - 30_000);
    cart_a.sync();

    let booth_key = BoothPrivateKey::generate().unwrap();
    let public = booth_key.public_key().unwrap();
    let t = now_ms();
    let sealed_offsets_s = [-240, -420, -300, -900, -600, 3_600];
    let mut acked_ids = Vec::new();
    for (n, offset_s) in sealed_offsets_s.iter().enumerate() {
        let sealed = seal(
            &record("CART-A", n as u128),
            "booth-1",
            &public,
            t + offset_s * 1_000,
        )
        .unwrap();
        acked_ids.push(sealed.id);
        cart_a.outbox.append_handover(&sealed, DAY).unwrap();
    }
    let pushed = cart_a
        .client
        .push_handovers(&mut cart_a.outbox, 64)
        .unwrap();
    assert_eq!(pushed.acked, 6);
    let booth = BoothClient::new(&SyncConfig::new(central.base_url()), "booth-1").unwrap();
    let fetched: Vec<_> = booth
        .fetch(16)
        .unwrap()
        .iter()
        .map(|r| r.sealed.id)
        .collect();
    assert_eq!(fetched, acked_ids);
    assert_eq!(booth.acknowledge(&acked_ids).unwrap(), 6);
    let done = now_ms();
    assert!(
        done - t < 30_000,
        "push, fetch and acknowledgement took {} ms: the scenario's minute figures are only exact \
         when they take under 30 s",
        done - t
    );
    // Still queued at the booth: not counted.
    let waiting = seal(&record("CART-A", 99), "booth-1", &public, t - 1_000_000).unwrap();
    cart_a.outbox.append_handover(&waiting, DAY).unwrap();
    assert_eq!(
        cart_a
            .client
            .push_handovers(&mut cart_a.outbox, 64)
            .unwrap()
            .acked,
        1
    );

    Expected {
        arrivals_median_s: 300,
        arrivals_p90_s: 900,
        ack_slack_s: (done - t + 999) / 1_000,
        arrivals_records: 6,
        departures_last_hour: 5,
        departures_last_15_min: 3,
    }
}

fn get(url: &str) -> (u16, String, String) {
    let response = ureq::get(url).call().unwrap();
    let status = response.status();
    let content_type = response.header("content-type").unwrap_or("").to_owned();
    (status, content_type, response.into_string().unwrap())
}

fn check_published(central: &Central, expected: &Expected) {
    let (status, content_type, body) = get(&format!("{}/v1/waiting-times", central.base_url()));
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let figures: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(figures["window_ms"], 3_600_000);
    assert!(
        figures["definition"]
            .as_str()
            .unwrap()
            .contains("median and the 90th percentile")
    );
    let sites = figures["sites"].as_array().unwrap();
    let names: Vec<String> = sites
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["site"]["airport"], s["site"]["terminal"], s["site"]["zone"]
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            r#""HND" "T2" "arrivals""#,
            r#""HND" "T3" "arrivals""#,
            r#""HND" "T3" "departures""#
        ]
    );
    // T2 arrivals: a BioCart, no record acknowledged: no figure.
    assert_eq!(
        sites[0]["arrival"],
        json!({"records": 0, "median_s": null, "p90_s": null})
    );
    assert_eq!(sites[0]["departure"], Value::Null);
    let arrival = &sites[1]["arrival"];
    assert_eq!(arrival["records"], expected.arrivals_records, "{arrival}");
    for (key, hand) in [
        ("median_s", expected.arrivals_median_s),
        ("p90_s", expected.arrivals_p90_s),
    ] {
        let shown = arrival[key].as_i64().unwrap();
        assert!(
            (hand..=hand + expected.ack_slack_s).contains(&shown),
            "{key}: {shown} s shown, {hand} s (+ up to {} s for the acknowledgement's own time) by hand",
            expected.ack_slack_s
        );
    }
    assert_eq!(
        sites[2]["departure"],
        json!({
            "face_gates": 2,
            "passed_last_hour": expected.departures_last_hour,
            "passed_last_15_min": expected.departures_last_15_min,
        })
    );
    // Per site only: no gate id, no booth id.
    for private in ["CART-A", "CART-B", "FACE-D1", "booth-1"] {
        assert!(!body.contains(private), "{private} in the public JSON");
    }

    let (status, content_type, page) = get(&format!("{}/waiting", central.base_url()));
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    // 300 s = 5 min, 900 s = 15 min (rounded to the nearest minute).
    assert!(page.contains(r#"id="arrival-median-1">5 min<"#), "{page}");
    assert!(page.contains(r#"id="arrival-p90-1">15 min<"#), "{page}");
    assert!(page.contains(r#"id="departure-hour-2">5<"#), "{page}");
    assert!(page.contains(r#"id="departure-15-2">3<"#), "{page}");
    assert!(page.contains("No data"), "{page}");
    assert!(page.contains("データなし"), "{page}");
    assert!(page.contains("median and the 90th percentile"), "{page}");
    assert!(page.contains(r#"<html lang="en">"#));
    for private in [
        "CART-A", "CART-B", "FACE-D1", "booth-1", "ERIKSSON", "L8989",
    ] {
        assert!(!page.contains(private), "{private} on the public page");
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("central.db").display())
}

#[test]
fn sqlite_waiting_times_match_the_scenario_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&sqlite_url(dir.path()));
    let expected = drive_scenario(&central, dir.path());
    check_published(&central, &expected);
}

#[test]
fn postgres_waiting_times_match_the_scenario_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = pg::PgCluster::start();
    let central = Central::start(&cluster.url());
    let expected = drive_scenario(&central, dir.path());
    check_published(&central, &expected);
}

fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("central-artefacts").join("waiting");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn waiting_page_in_a_real_browser_shows_the_figure_and_passes_axe() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&sqlite_url(dir.path()));
    drive_scenario(&central, dir.path());
    let axe = browser::axe_script();
    let shots = artefacts();
    for (width, height, name) in [
        (1280, 900, "waiting-desktop.png"),
        (540, 960, "waiting-narrow.png"),
    ] {
        let browser = browser::Browser::start(width, height);
        browser.open(&format!("{}/waiting", central.base_url()));
        browser.wait_until(
            "the arrival figure",
            "return document.getElementById('arrival-median-1') !== null;",
            json!([]),
            Duration::from_secs(10),
        );
        // The figure is visible: rendered, in the layout, and its text is the hand-worked one.
        let figure = browser.run(
            "const e = document.getElementById('arrival-median-1');
             const r = e.getBoundingClientRect();
             const s = getComputedStyle(e);
             return { text: e.innerText, width: r.width, height: r.height,
                      visible: s.visibility === 'visible' && s.display !== 'none' };",
            json!([]),
        );
        assert_eq!(figure["text"], "5 min", "{figure}");
        assert_eq!(figure["visible"], true, "{figure}");
        assert!(figure["width"].as_f64().unwrap() > 0.0, "{figure}");
        let ja = browser.run(
            "return [...document.querySelectorAll('[lang=ja]')].length;",
            json!([]),
        );
        assert!(
            ja.as_u64().unwrap() >= 5,
            "Japanese labels carry lang=ja: {ja}"
        );
        browser.screenshot(&shots.join(name));
        let violations = browser.serious_accessibility_violations(&axe);
        assert!(violations.is_empty(), "{width}x{height}: {violations:?}");
        let foreign = browser.foreign_requests(&central.base_url());
        assert!(foreign.is_empty(), "requests elsewhere: {foreign:?}");
    }
    eprintln!("screenshots in {}", shots.display());
}

/// `--public-listen`: a second, plain-HTTP listener for travellers' screens and the airport's
/// web site serves the waiting times and health, and nothing else (no events, lists, console,
/// metrics), while the main listener keeps serving everything.
#[test]
fn the_public_listener_serves_only_the_public_pages() {
    let dir = tempfile::tempdir().unwrap();
    let public_port = free_port();
    let public_address = format!("127.0.0.1:{public_port}");
    let central = Central::start_on(
        free_port(),
        &sqlite_url(dir.path()),
        &["--public-listen", &public_address],
    );
    let public = format!("http://{public_address}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&public_address).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "public listener not up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = |method: &str, url: &str| match ureq::request(method, url).call() {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(error) => panic!("{method} {url}: {error}"),
    };
    for path in ["/waiting", "/v1/waiting-times", "/v1/health"] {
        assert_eq!(status("GET", &format!("{public}{path}")), 200, "{path}");
    }
    let (_, content_type, page) = get(&format!("{public}/waiting"));
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("<title>Waiting times"), "{page}");
    for (method, path) in [
        ("GET", "/v1/events"),
        ("POST", "/v1/events"),
        ("GET", "/v1/lists/denylist"),
        ("PUT", "/v1/lists/denylist"),
        ("GET", "/console/login"),
        ("GET", "/console/fleet"),
        ("GET", "/metrics"),
        ("GET", "/v1/booths/booth-1/handovers"),
    ] {
        assert_eq!(
            status(method, &format!("{public}{path}")),
            404,
            "{method} {path} on the public listener"
        );
    }
    // The main listener still serves the API and the console.
    let main = central.base_url();
    assert_eq!(status("GET", &format!("{main}/v1/events")), 200);
    assert_eq!(status("GET", &format!("{main}/console/login")), 200);
}

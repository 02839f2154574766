//! Gate outbox <-> central over loopback, with the built `central` binary: exactly once, in
//! per-gate order, across central kills (SIGKILL) and restarts, partitions, lost
//! acknowledgements, two replicas over one PostgreSQL, list down-sync and mutual TLS.
#![allow(clippy::unwrap_used, clippy::result_large_err)]

#[path = "support/central.rs"]
mod central_process;
#[path = "support/pg.rs"]
mod pg;

use central_process::{Central, free_port};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use outbox::sync::{Backoff, PullOutcome, SyncClient, SyncConfig, SyncError, SyncSignal, TlsFiles};
use outbox::wire::{EventPage, PublishList, ReceivedEvent};
use outbox::{NewEvent, Outbox, OutboxConfig, OutboxLimits};
use serde_json::json;
use uuid::Uuid;

fn central_events(base_url: &str, gate: &str) -> Vec<ReceivedEvent> {
    let page: EventPage = ureq::get(&format!("{base_url}/v1/events"))
        .query("gate", gate)
        .query("limit", "100000")
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    page.events
}

/// Central holds exactly `expected` (ids in sequence order 1..=n), each once, and stored
/// them in sequence order.
fn assert_exactly_once_in_order(base_url: &str, gate: &str, expected: &[Uuid]) {
    let events = central_events(base_url, gate);
    let ids: Vec<Uuid> = events.iter().map(|e| e.event.id).collect();
    assert_eq!(
        ids.len(),
        expected.len(),
        "gate {gate}: wrong number of events at central"
    );
    assert_eq!(ids, expected, "gate {gate}: events differ");
    for (index, event) in events.iter().enumerate() {
        assert_eq!(
            event.event.sequence,
            index as u64 + 1,
            "gate {gate}: sequence gap"
        );
    }
    for pair in events.windows(2) {
        assert!(
            pair[0].arrival < pair[1].arrival,
            "gate {gate}: sequence {} arrived after {}",
            pair[0].event.sequence,
            pair[1].event.sequence
        );
    }
}

fn outbox_config(gate: &str) -> OutboxConfig {
    OutboxConfig::new(gate, OutboxLimits::default())
}

fn append(outbox: &mut Outbox, n: u64) -> Uuid {
    let payload =
        json!({"decision": "pass", "reason_codes": [], "n": n, "doc_hash": format!("{n:064x}")});
    outbox
        .append(&NewEvent {
            kind: "transaction.outcome",
            occurred_at_ms: 1_795_701_600_000 + n as i64,
            payload: &payload,
        })
        .unwrap()
        .id
}

fn interleaved_gates_arrive_exactly_once(base_a: &str, base_b: &str, query_base: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut gate_a = Outbox::open(dir.path().join("a.db"), outbox_config("gate-a")).unwrap();
    let mut gate_b = Outbox::open(dir.path().join("b.db"), outbox_config("gate-b")).unwrap();
    let client_a = SyncClient::new(&SyncConfig::new(base_a)).unwrap();
    let client_b = SyncClient::new(&SyncConfig::new(base_b)).unwrap();
    let (mut ids_a, mut ids_b) = (Vec::new(), Vec::new());
    let mut n = 0;
    for _round in 0..8 {
        for _ in 0..37 {
            n += 1;
            ids_a.push(append(&mut gate_a, n));
        }
        for _ in 0..23 {
            n += 1;
            ids_b.push(append(&mut gate_b, n));
        }
        client_a.push_batch(&mut gate_a, 50).unwrap();
        client_b.push_batch(&mut gate_b, 50).unwrap();
    }
    client_a.drain(&mut gate_a, 50).unwrap();
    client_b.drain(&mut gate_b, 50).unwrap();
    assert_eq!(gate_a.status().unwrap().pending, 0);
    assert_eq!(gate_b.status().unwrap().pending, 0);
    assert_exactly_once_in_order(query_base, "gate-a", &ids_a);
    assert_exactly_once_in_order(query_base, "gate-b", &ids_b);
}

#[test]
fn sqlite_events_arrive_exactly_once_in_per_gate_order() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&format!(
        "sqlite:{}",
        dir.path().join("central.db").display()
    ));
    let base = central.base_url();
    interleaved_gates_arrive_exactly_once(&base, &base, &base);
}

#[test]
fn postgres_two_replicas_events_arrive_exactly_once_in_per_gate_order() {
    let cluster = pg::PgCluster::start();
    let replica_1 = Central::start(&cluster.url());
    let mut replica_2 = Central::start(&cluster.url());
    // Gate A talks to replica 1, gate B to replica 2; both are read back through replica 1.
    interleaved_gates_arrive_exactly_once(
        &replica_1.base_url(),
        &replica_2.base_url(),
        &replica_1.base_url(),
    );
    // Events live in a monthly partition created on demand.
    let mut client = postgres::Client::connect(&cluster.url(), postgres::NoTls).unwrap();
    let partitions: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'events'::regclass",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(partitions, vec!["events_2026_11".to_owned()]);
    assert!(
        replica_2.terminate().success(),
        "SIGTERM must end central cleanly"
    );
}

#[test]
fn lost_acknowledgement_is_resent_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&format!(
        "sqlite:{}",
        dir.path().join("central.db").display()
    ));
    let client = SyncClient::new(&SyncConfig::new(central.base_url())).unwrap();
    let path = dir.path().join("gate.db");
    let backup = dir.path().join("gate.db.before-ack");
    let mut ids = Vec::new();
    {
        let mut outbox = Outbox::open(&path, outbox_config("gate-l")).unwrap();
        for n in 1..=20 {
            ids.push(append(&mut outbox, n));
        }
    }
    // The state "central stored the batch, the gate never saw the answer" is the state
    // before the ack was recorded: keep a copy, deliver, then put the copy back.
    std::fs::copy(&path, &backup).unwrap();
    {
        let mut outbox = Outbox::open(&path, outbox_config("gate-l")).unwrap();
        assert_eq!(client.drain(&mut outbox, 8).unwrap(), 20);
    }
    std::fs::copy(&backup, &path).unwrap();
    let mut outbox = Outbox::open(&path, outbox_config("gate-l")).unwrap();
    assert_eq!(outbox.status().unwrap().pending, 20);
    assert_eq!(
        client.drain(&mut outbox, 8).unwrap(),
        20,
        "duplicates are acknowledged"
    );
    assert_eq!(outbox.status().unwrap().pending, 0);
    assert_exactly_once_in_order(&central.base_url(), "gate-l", &ids);
}

fn fast_sync_config(base_url: String) -> SyncConfig {
    let mut config = SyncConfig::new(base_url);
    config.batch_size = 50;
    config.request_timeout = Duration::from_secs(3);
    config.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(300),
    };
    config.idle_interval = Duration::from_millis(50);
    config
}

/// Appends `total` events while the sync loop runs and central is SIGKILLed and restarted
/// `kills` times; then everything must be at central exactly once, in order.
fn survives_central_kills(database: &str, total: u64, kills: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.db");
    let port = free_port();
    let mut central = Central::start_on(port, database, &[]);
    let mut writer = Outbox::open(&path, outbox_config("gate-k")).unwrap();
    let mut sync_outbox = Outbox::attach(&path, outbox::system_clock()).unwrap();
    ureq::put(&format!("{}/v1/lists/denylist", central.base_url()))
        .send_json(PublishList {
            version: 1,
            items: vec![json!("d1".repeat(32))],
        })
        .unwrap();
    let mut config = fast_sync_config(central.base_url());
    config.lists = vec!["denylist".into()];
    config.list_interval = Duration::from_millis(100);
    let client = SyncClient::new(&config).unwrap();
    let signal = SyncSignal::new();
    let sync_signal = signal.clone();
    let sync = std::thread::spawn(move || {
        outbox::sync::run_sync_loop(&client, &config, &mut sync_outbox, &sync_signal);
    });
    let append_signal = signal.clone();
    let appender = std::thread::spawn(move || {
        let mut ids = Vec::new();
        for n in 1..=total {
            ids.push(append(&mut writer, n));
            append_signal.notify();
            if n % 10 == 0 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        (ids, writer)
    });
    for kill in 0..kills {
        std::thread::sleep(Duration::from_millis(150 + 97 * kill as u64 % 300));
        central.kill();
        std::thread::sleep(Duration::from_millis(100));
        central = Central::start_on(port, database, &[]);
    }
    let (ids, writer) = appender.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while writer.status().unwrap().pending > 0 {
        assert!(
            Instant::now() < deadline,
            "events still pending: {:?}",
            writer.status().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal.stop();
    sync.join().unwrap();
    assert_exactly_once_in_order(&central.base_url(), "gate-k", &ids);
    assert_eq!(
        writer.list_version("denylist").unwrap(),
        Some(1),
        "lists pulled by the loop"
    );
}

#[test]
fn sqlite_central_killed_and_restarted_mid_sync_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    survives_central_kills(
        &format!("sqlite:{}", dir.path().join("central.db").display()),
        1_500,
        4,
    );
}

#[test]
fn postgres_central_killed_and_restarted_mid_sync_loses_and_doubles_nothing() {
    let cluster = pg::PgCluster::start();
    survives_central_kills(&cluster.url(), 1_500, 4);
}

#[test]
fn partition_queues_events_refuses_travellers_at_high_water_then_all_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let limits = OutboxLimits {
        max_bytes: 4 << 20,
        high_water_bytes: 1 << 20,
        delivered_retention: Duration::ZERO,
    };
    let mut outbox = Outbox::open(
        dir.path().join("gate.db"),
        OutboxConfig::new("gate-p", limits),
    )
    .unwrap();
    let client = SyncClient::new(&fast_sync_config(base.clone())).unwrap();
    // Central is unreachable: travellers keep coming until the high-water mark.
    let mut ids = Vec::new();
    let mut n = 0;
    while outbox.check_admission().is_ok() {
        n += 1;
        ids.push(append(&mut outbox, n));
        if n % 100 == 0 {
            let error = client.push_batch(&mut outbox, 50).unwrap_err();
            assert!(matches!(error, SyncError::Transport(_)), "{error}");
        }
        assert!(n < 100_000, "high-water never reached");
    }
    let status = outbox.status().unwrap();
    assert!(status.above_high_water);
    assert_eq!(
        status.pending,
        ids.len() as u64,
        "nothing dropped while partitioned"
    );
    assert!(status.sync.last_error.is_some());
    assert!(outbox.pending(1).unwrap()[0].attempts > 0);
    // The partition heals.
    let central = Central::start_on(
        port,
        &format!("sqlite:{}", dir.path().join("c.db").display()),
        &[],
    );
    assert_eq!(client.drain(&mut outbox, 500).unwrap(), ids.len() as u64);
    assert_exactly_once_in_order(&central.base_url(), "gate-p", &ids);
    outbox.purge_delivered().unwrap();
    outbox.check_admission().unwrap();
}

#[test]
fn lists_are_pulled_by_version_and_applied_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&format!(
        "sqlite:{}",
        dir.path().join("central.db").display()
    ));
    let base = central.base_url();
    let publish = |version: u64, items: Vec<serde_json::Value>| {
        ureq::put(&format!("{base}/v1/lists/denylist")).send_json(PublishList { version, items })
    };
    let mut outbox = Outbox::open(dir.path().join("gate.db"), outbox_config("gate-d")).unwrap();
    let client = SyncClient::new(&SyncConfig::new(base.clone())).unwrap();
    assert_eq!(
        client.pull_list(&mut outbox, "denylist").unwrap(),
        PullOutcome::NotPublished
    );
    publish(1, vec![json!("aa".repeat(32)), json!("bb".repeat(32))]).unwrap();
    assert_eq!(
        client.pull_list(&mut outbox, "denylist").unwrap(),
        PullOutcome::Updated { version: 1 }
    );
    assert!(
        outbox
            .list_contains("denylist", &json!("bb".repeat(32)))
            .unwrap()
    );
    assert_eq!(
        client.pull_list(&mut outbox, "denylist").unwrap(),
        PullOutcome::Unchanged
    );
    publish(2, vec![json!("cc".repeat(32))]).unwrap();
    match publish(2, vec![]) {
        Err(ureq::Error::Status(409, _)) => {}
        other => panic!("republishing version 2 must conflict: {other:?}"),
    }
    assert_eq!(
        client.pull_list(&mut outbox, "denylist").unwrap(),
        PullOutcome::Updated { version: 2 }
    );
    assert_eq!(
        outbox.list_items("denylist").unwrap(),
        vec![json!("cc".repeat(32))]
    );
    assert_eq!(client.health().unwrap().storage, "sqlite");
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

#[test]
fn mutual_tls_is_required_and_carries_events() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, Ia5String, IsCa, KeyPair, SanType};
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test gate CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issue = |names: Vec<String>, common_name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        if let Some(gate) = common_name.strip_prefix("gate:") {
            let uri = Ia5String::try_from(format!("urn:gate:{gate}")).unwrap();
            params.subject_alt_names.push(SanType::URI(uri));
        }
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = issue(vec!["localhost".into()], "central");
    let (client_cert, client_key) = issue(vec![], "gate:gate-t");
    let (other_cert, other_key) = issue(vec![], "gate:gate-x");
    let other_cert = write(&dir.path().join("other.pem"), &other_cert);
    let other_key = write(&dir.path().join("other.key"), &other_key);
    let ca_pem = write(&dir.path().join("ca.pem"), &ca.pem());
    let server_cert = write(&dir.path().join("server.pem"), &server_cert);
    let server_key = write(&dir.path().join("server.key"), &server_key);
    let client_cert = write(&dir.path().join("client.pem"), &client_cert);
    let client_key = write(&dir.path().join("client.key"), &client_key);
    let port = free_port();
    let _central = Central::start_on(
        port,
        &format!("sqlite:{}", dir.path().join("central.db").display()),
        &[
            "--tls-cert",
            server_cert.to_str().unwrap(),
            "--tls-key",
            server_key.to_str().unwrap(),
            "--client-ca",
            ca_pem.to_str().unwrap(),
        ],
    );
    let mut config = SyncConfig::new(format!("https://localhost:{port}"));
    config.tls = Some(TlsFiles {
        ca_certs: ca_pem.clone(),
        client_cert: Some(client_cert),
        client_key: Some(client_key),
    });
    let mut outbox = Outbox::open(dir.path().join("gate.db"), outbox_config("gate-t")).unwrap();
    for n in 1..=5 {
        append(&mut outbox, n);
    }
    // A valid certificate of another gate may not post this gate's events.
    let mut impostor = config.clone();
    impostor.tls = Some(TlsFiles {
        ca_certs: ca_pem.clone(),
        client_cert: Some(other_cert),
        client_key: Some(other_key),
    });
    let error = SyncClient::new(&impostor)
        .unwrap()
        .push_batch(&mut outbox, 10)
        .unwrap_err();
    assert!(error.to_string().contains("403"), "{error}");
    assert_eq!(outbox.status().unwrap().pending, 5);
    let client = SyncClient::new(&config).unwrap();
    assert_eq!(client.drain(&mut outbox, 10).unwrap(), 5);
    // Without a client certificate the handshake is refused.
    config.tls = Some(TlsFiles {
        ca_certs: ca_pem,
        client_cert: None,
        client_key: None,
    });
    append(&mut outbox, 6);
    let anonymous = SyncClient::new(&config).unwrap();
    let error = anonymous.push_batch(&mut outbox, 10).unwrap_err();
    assert!(matches!(error, SyncError::Transport(_)), "{error}");
    // Plain HTTP to the TLS port fails too.
    let plain = SyncClient::new(&SyncConfig::new(format!("http://127.0.0.1:{port}"))).unwrap();
    assert!(plain.push_batch(&mut outbox, 10).is_err());
    assert_eq!(outbox.status().unwrap().pending, 1);
}

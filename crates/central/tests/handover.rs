//! BioCart hand-over records end to end with the built `central` binary: sealed at the gate,
//! queued in the outbox, pushed to central, fetched, opened and acknowledged by the booth;
//! deleted at the gate after central's acknowledgement; kept while central is down; neither
//! lost nor doubled when the gate crashes between central's answer and the local delete;
//! readable only with the booth's private key; booth and gate identities checked under
//! mutual TLS.
#![allow(clippy::unwrap_used)]

#[path = "support/central.rs"]
mod central_process;
#[path = "support/handover_record.rs"]
mod handover_record;
#[path = "support/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use central_process::{Central, free_port};
use handover_record::record;
use outbox::handover::{BoothPrivateKey, HandOverError, HandOverRecord, open, seal};
use outbox::sync::{BoothClient, SyncClient, SyncConfig, SyncError, SyncSignal, TlsFiles};
use outbox::wire::{EventPage, SealedHandOver};
use outbox::{NewEvent, Outbox, OutboxConfig, OutboxLimits};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn queue(
    outbox: &mut Outbox,
    record: &HandOverRecord,
    booth: &str,
    key: &BoothPrivateKey,
) -> SealedHandOver {
    let sealed = seal(record, booth, &key.public_key().unwrap(), outbox.now_ms()).unwrap();
    assert!(outbox.append_handover(&sealed, DAY).unwrap().newly_queued);
    sealed
}

fn open_gate(path: &Path, gate: &str) -> Outbox {
    Outbox::open(path, OutboxConfig::new(gate, OutboxLimits::default())).unwrap()
}

/// Pushes until the queue is empty; returns records acknowledged.
fn push_all(client: &SyncClient, outbox: &mut Outbox) -> usize {
    let mut acked = 0;
    loop {
        let outcome = client.push_handovers(outbox, 2).unwrap();
        acked += outcome.acked;
        if outcome.sent == 0 {
            return acked;
        }
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("central.db").display())
}

fn handover_flow(database: &str) {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(database);
    let config = SyncConfig::new(central.base_url());
    let client = SyncClient::new(&config).unwrap();
    let booth_1 = BoothPrivateKey::generate().unwrap();
    let booth_2 = BoothPrivateKey::generate().unwrap();
    let mut gate = open_gate(&dir.path().join("gate.db"), "biocart-1");
    let records: Vec<_> = (1..=3).map(|n| record("biocart-1", n)).collect();
    let sealed: Vec<_> = records
        .iter()
        .map(|r| queue(&mut gate, r, "booth-1", &booth_1))
        .collect();
    let for_other_booth = queue(&mut gate, &record("biocart-1", 9), "booth-2", &booth_2);
    assert_eq!(gate.handover_status().unwrap().pending, 4);

    // Append -> sync -> central has it -> the gate's copies are deleted.
    assert_eq!(push_all(&client, &mut gate), 4);
    let status = gate.handover_status().unwrap();
    assert_eq!(
        (status.pending, status.bytes),
        (0, 0),
        "gate rows deleted after central's ack"
    );

    // The booth fetches only its own records and opens them with its private key.
    let booth = BoothClient::new(&config, "booth-1").unwrap();
    let fetched = booth.fetch(10).unwrap();
    let ids: Vec<_> = fetched.iter().map(|r| r.sealed.id).collect();
    assert_eq!(ids, sealed.iter().map(|s| s.id).collect::<Vec<_>>());
    for (received, original) in fetched.iter().zip(&records) {
        assert_eq!(&open(&received.sealed, &booth_1).unwrap(), original);
        // The wrong booth key cannot read it, not even when the envelope is re-addressed.
        assert!(open(&received.sealed, &booth_2).is_err());
        let mut readdressed = received.sealed.clone();
        readdressed.booth_key = booth_2.public_key().unwrap().as_bytes().to_vec();
        assert!(matches!(
            open(&readdressed, &booth_2),
            Err(HandOverError::Crypto { .. })
        ));
    }
    let other = BoothClient::new(&config, "booth-2")
        .unwrap()
        .fetch(10)
        .unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].sealed, for_other_booth);

    // Acknowledge two; they are gone from the booth's queue, acknowledging again is a no-op.
    assert_eq!(booth.acknowledge(&ids[..2]).unwrap(), 2);
    assert_eq!(booth.acknowledge(&ids[..2]).unwrap(), 0);
    // Another booth cannot acknowledge booth-1's record.
    assert_eq!(
        BoothClient::new(&config, "booth-2")
            .unwrap()
            .acknowledge(&ids[2..])
            .unwrap(),
        0
    );
    let left: Vec<_> = booth
        .fetch(10)
        .unwrap()
        .into_iter()
        .map(|r| r.sealed.id)
        .collect();
    assert_eq!(left, ids[2..]);

    // A resend of an acknowledged record (the gate never saw central's answer) is
    // acknowledged to the gate but never handed to the booth again.
    gate.append_handover(&sealed[0], DAY).unwrap();
    let resend = client.push_handovers(&mut gate, 10).unwrap();
    assert_eq!((resend.sent, resend.acked), (1, 1));
    let left: Vec<_> = booth
        .fetch(10)
        .unwrap()
        .into_iter()
        .map(|r| r.sealed.id)
        .collect();
    assert_eq!(left, ids[2..]);
}

#[test]
fn sqlite_handover_reaches_the_booth_and_leaves_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    handover_flow(&sqlite_url(dir.path()));
}

#[test]
fn postgres_handover_reaches_the_booth_and_leaves_the_gate() {
    let cluster = pg::PgCluster::start();
    handover_flow(&cluster.url());
}

#[test]
fn central_down_keeps_the_record_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = SyncConfig::new(format!("http://127.0.0.1:{port}"));
    let client = SyncClient::new(&config).unwrap();
    let booth_key = BoothPrivateKey::generate().unwrap();
    let mut gate = open_gate(&dir.path().join("gate.db"), "biocart-2");
    let sealed = queue(&mut gate, &record("biocart-2", 5), "booth-1", &booth_key);
    for _ in 0..3 {
        let error = client.push_handovers(&mut gate, 4).unwrap_err();
        assert!(matches!(error, SyncError::Transport(_)), "{error}");
    }
    let pending = gate.pending_handovers(10).unwrap();
    assert_eq!(pending.len(), 1, "record kept while central is down");
    assert_eq!(pending[0].sealed, sealed);
    assert_eq!(pending[0].attempts, 3);
    assert!(pending[0].last_error.is_some());
    // Central comes back.
    let central = Central::start_on(port, &sqlite_url(dir.path()), &[]);
    assert_eq!(push_all(&client, &mut gate), 1);
    assert_eq!(gate.handover_status().unwrap().pending, 0);
    let fetched = BoothClient::new(&SyncConfig::new(central.base_url()), "booth-1")
        .unwrap()
        .fetch(10)
        .unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(
        open(&fetched[0].sealed, &booth_key).unwrap(),
        record("biocart-2", 5)
    );
}

#[test]
fn crash_between_central_ack_and_local_delete_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&sqlite_url(dir.path()));
    let config = SyncConfig::new(central.base_url());
    let client = SyncClient::new(&config).unwrap();
    let booth_key = BoothPrivateKey::generate().unwrap();
    let path = dir.path().join("gate.db");
    let before = dir.path().join("gate.db.before-ack");
    let sealed: Vec<_> = {
        let mut gate = open_gate(&path, "biocart-3");
        (1..=3)
            .map(|n| queue(&mut gate, &record("biocart-3", n), "booth-1", &booth_key))
            .collect()
    };
    // Crash before the record was queued durably is the caller's concern (append returns
    // Ok only after the fsync). A crash after central stored the batch but before the gate
    // deleted its rows is the state "database as it was before the push": keep a copy,
    // push, put the copy back (WAL checkpointed by the close above).
    std::fs::copy(&path, &before).unwrap();
    {
        let mut gate = open_gate(&path, "biocart-3");
        assert_eq!(push_all(&client, &mut gate), 3);
    }
    std::fs::copy(&before, &path).unwrap();
    let mut gate = open_gate(&path, "biocart-3");
    assert_eq!(gate.handover_status().unwrap().pending, 3, "nothing lost");
    assert_eq!(
        push_all(&client, &mut gate),
        3,
        "central acknowledges the resend"
    );
    assert_eq!(gate.handover_status().unwrap().pending, 0);
    let fetched = BoothClient::new(&config, "booth-1")
        .unwrap()
        .fetch(100)
        .unwrap();
    let ids: Vec<_> = fetched.iter().map(|r| r.sealed.id).collect();
    assert_eq!(
        ids,
        sealed.iter().map(|s| s.id).collect::<Vec<_>>(),
        "nothing doubled"
    );
}

#[test]
fn sync_loop_delivers_events_and_handovers_and_expires_the_unsent() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::start(&sqlite_url(dir.path()));
    let path = dir.path().join("gate.db");
    let mut writer = open_gate(&path, "biocart-4");
    let booth_key = BoothPrivateKey::generate().unwrap();
    let mut config = SyncConfig::new(central.base_url());
    config.idle_interval = Duration::from_millis(50);
    let client = SyncClient::new(&config).unwrap();
    let signal = SyncSignal::new();
    let mut sync_outbox = Outbox::attach(&path, outbox::system_clock()).unwrap();
    let loop_signal = signal.clone();
    let loop_config = config.clone();
    let sync = std::thread::spawn(move || {
        outbox::sync::run_sync_loop(&client, &loop_config, &mut sync_outbox, &loop_signal);
    });
    let payload = serde_json::json!({"decision": "handed_over"});
    let sealed = seal(
        &record("biocart-4", 11),
        "booth-1",
        &booth_key.public_key().unwrap(),
        writer.now_ms(),
    )
    .unwrap();
    let (handover, event) = writer
        .append_handover_and_event(
            &sealed,
            DAY,
            &NewEvent {
                kind: "transaction.outcome",
                occurred_at_ms: writer.now_ms(),
                payload: &payload,
            },
        )
        .unwrap();
    assert!(handover.newly_queued && event.is_some());
    signal.notify();
    let deadline = Instant::now() + Duration::from_secs(30);
    while writer.handover_status().unwrap().pending > 0 || writer.status().unwrap().pending > 0 {
        assert!(Instant::now() < deadline, "sync loop did not deliver");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal.stop();
    sync.join().unwrap();
    let booth = BoothClient::new(&config, "booth-1").unwrap();
    assert_eq!(booth.fetch(10).unwrap()[0].sealed.id, sealed.id);

    // Expiry: a record central never acknowledged is deleted after its time to live and an
    // event (no personal data) says so; the event reaches central like any other.
    let late = seal(
        &record("biocart-4", 12),
        "booth-1",
        &booth_key.public_key().unwrap(),
        writer.now_ms(),
    )
    .unwrap();
    writer.append_handover(&late, Duration::ZERO).unwrap();
    let expired = writer.expire_handovers().unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].transaction_id, late.transaction_id);
    assert_eq!(writer.handover_status().unwrap().pending, 0);
    let client = SyncClient::new(&config).unwrap();
    client.drain(&mut writer, 10).unwrap();
    let page: EventPage = ureq::get(&format!("{}/v1/events", central.base_url()))
        .query("gate", "biocart-4")
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let kinds: Vec<_> = page.events.iter().map(|e| e.event.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["transaction.outcome", outbox::HANDOVER_EXPIRED_EVENT]
    );
    let text = page.events[1].event.payload.to_string();
    assert!(
        text.contains(&late.transaction_id) && !text.contains("L8989"),
        "{text}"
    );
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

#[test]
fn mutual_tls_binds_gates_and_booths_to_their_certificates() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, Ia5String, IsCa, KeyPair, SanType};
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let ca_pem = write(&dir.path().join("ca.pem"), &ca.pem());
    let issue = |name: &str, dns: Vec<String>, uri: Option<String>| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(dns).unwrap();
        if let Some(uri) = uri {
            params
                .subject_alt_names
                .push(SanType::URI(Ia5String::try_from(uri).unwrap()));
        }
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        let cert_path = write(&dir.path().join(format!("{name}.pem")), &cert.pem());
        let key_path = write(
            &dir.path().join(format!("{name}.key")),
            &key.serialize_pem(),
        );
        (cert_path, key_path)
    };
    let (server_cert, server_key) = issue("central", vec!["localhost".into()], None);
    let port = free_port();
    let tls_config = |name: &str, uri: &str| {
        let (cert, key) = issue(name, vec![], Some(uri.to_owned()));
        let mut config = SyncConfig::new(format!("https://localhost:{port}"));
        config.tls = Some(TlsFiles {
            ca_certs: ca_pem.clone(),
            client_cert: Some(cert),
            client_key: Some(key),
        });
        config
    };
    let _central = Central::start_on(
        port,
        &sqlite_url(dir.path()),
        &[
            "--tls-cert",
            server_cert.to_str().unwrap(),
            "--tls-key",
            server_key.to_str().unwrap(),
            "--client-ca",
            ca_pem.to_str().unwrap(),
        ],
    );
    let gate_config = tls_config("gate", "urn:gate:biocart-5");
    let other_gate = tls_config("other-gate", "urn:gate:biocart-6");
    let booth_config = tls_config("booth", "urn:booth:booth-1");
    let other_booth = tls_config("other-booth", "urn:booth:booth-2");
    let booth_key = BoothPrivateKey::generate().unwrap();
    let mut gate = open_gate(&dir.path().join("gate.db"), "biocart-5");
    queue(&mut gate, &record("biocart-5", 1), "booth-1", &booth_key);

    // Another gate's valid certificate may not post this gate's records; nor may a booth's.
    for impostor in [&other_gate, &booth_config] {
        let error = SyncClient::new(impostor)
            .unwrap()
            .push_handovers(&mut gate, 4)
            .unwrap_err();
        assert!(
            matches!(error, SyncError::Status { status: 403, .. }),
            "{error}"
        );
    }
    assert_eq!(gate.handover_status().unwrap().pending, 1);
    assert_eq!(
        push_all(&SyncClient::new(&gate_config).unwrap(), &mut gate),
        1
    );

    // Only booth-1's certificate reads and acknowledges booth-1's records.
    for impostor in [&other_booth, &gate_config] {
        let error = BoothClient::new(impostor, "booth-1")
            .unwrap()
            .fetch(10)
            .unwrap_err();
        assert!(
            matches!(error, SyncError::Status { status: 403, .. }),
            "{error}"
        );
    }
    let booth = BoothClient::new(&booth_config, "booth-1").unwrap();
    let fetched = booth.fetch(10).unwrap();
    assert_eq!(
        open(&fetched[0].sealed, &booth_key).unwrap(),
        record("biocart-5", 1)
    );
    let error = BoothClient::new(&other_booth, "booth-1")
        .unwrap()
        .acknowledge(&[fetched[0].sealed.id])
        .unwrap_err();
    assert!(
        matches!(error, SyncError::Status { status: 403, .. }),
        "{error}"
    );
    assert_eq!(booth.acknowledge(&[fetched[0].sealed.id]).unwrap(), 1);
    assert!(booth.fetch(10).unwrap().is_empty());
}

//! The operator console against the built `central` binary on SQLite (accounts made with
//! `central accounts add`): every console page and action refuses a request without a session,
//! roles are enforced on forged requests, CSRF and origin are checked, the security headers are
//! on every page, `PUT /v1/lists/{name}` validates and needs an operator credential off
//! loopback; and the console's store on a real PostgreSQL.
#![allow(clippy::unwrap_used)]

#[path = "support/accounts.rs"]
mod accounts;
#[path = "support/central.rs"]
mod central_process;
#[path = "support/pg.rs"]
mod pg;

use std::path::Path;
use std::process::{Command, Stdio};

use central::console::store::{
    AUDIT_LIST_PUBLISHED, AUDIT_LOGIN_FAILED, Account, AccountChange, AuditEntry, SessionRecord,
};
use central::console::web::Access;
use central::console::{CONSOLE_ROUTES, ConsoleStore, Role};
use central::storage::{Storage, StorageError};
use central_process::Central;
use outbox::wire::PublishList;

const PASSWORD: &str = "a long enough test password";

/// `central accounts --database DB add NAME --role ROLE`, the password on stdin.
fn add_account(database: &str, name: &str, role: &str) {
    accounts::add_account(
        Path::new(env!("CARGO_BIN_EXE_central")),
        database,
        name,
        role,
        PASSWORD,
    );
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

/// Status and response of a request, 4xx/5xx included.
fn answer(result: Result<ureq::Response, ureq::Error>) -> ureq::Response {
    match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{error}"),
    }
}

/// Logs in over HTTP as a browser's form would (with this server's Origin); the cookie.
fn log_in(base: &str, name: &str) -> String {
    let cookie = accounts::log_in(base, name, PASSWORD);
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(cookie.contains("Path=/console") && !cookie.contains("Secure"));
    accounts::cookie_pair(&cookie)
}

/// The CSRF token on a page (the logout form carries it).
fn csrf_of(base: &str, cookie: &str) -> String {
    let page = answer(
        agent()
            .get(&format!("{base}/console/lists"))
            .set("Cookie", cookie)
            .call(),
    )
    .into_string()
    .unwrap();
    let start = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[start..start + 64].to_owned()
}

fn concrete(path: &str) -> String {
    path.replace("{name}", "denylist")
}

#[test]
fn console_refuses_what_a_request_may_not_do() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("central.db").display());
    add_account(&database, "vera", "viewer");
    add_account(&database, "paul", "list_publisher");
    add_account(&database, "ada", "admin");
    let central = Central::start(&database);
    let base = central.base_url();

    // Without a session: every page redirects to the login page, every action is 401.
    let mut checked = 0;
    for route in CONSOLE_ROUTES {
        let url = format!("{base}{}", concrete(route.path));
        let response = answer(match route.method {
            "GET" => agent().get(&url).call(),
            _ => agent()
                .post(&url)
                .set("Origin", &base)
                .send_form(&[("csrf", &"0".repeat(64))]),
        });
        match route.access {
            Access::Page(_) => {
                assert_eq!(response.status(), 303, "{route:?}");
                assert_eq!(response.header("location"), Some("/console/login"));
            }
            Access::Action(_) => assert_eq!(response.status(), 401, "{route:?}"),
            Access::Public | Access::LoginAction => continue,
        }
        for header in [
            "content-security-policy",
            "x-frame-options",
            "referrer-policy",
            "cache-control",
        ] {
            assert!(
                response.header(header).is_some(),
                "{route:?} lacks {header}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} routes checked");
    let login = answer(agent().get(&format!("{base}/console/login")).call());
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    assert_eq!(login.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let csp = login.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("http"),
        "{csp}"
    );
    // A session cookie that was never issued is no session.
    let forged = answer(
        agent()
            .get(&format!("{base}/console/fleet"))
            .set("Cookie", &format!("central_console={}", "ab".repeat(32)))
            .call(),
    );
    assert_eq!(forged.status(), 303);

    // A login form posted from elsewhere is refused before the password is checked.
    let cross = answer(
        agent()
            .post(&format!("{base}/console/login"))
            .set("Origin", "http://evil.example")
            .send_form(&[("name", "ada"), ("password", PASSWORD)]),
    );
    assert_eq!(cross.status(), 403);
    let wrong = answer(
        agent()
            .post(&format!("{base}/console/login"))
            .set("Origin", &base)
            .send_form(&[("name", "ada"), ("password", "not the password at all")]),
    );
    assert_eq!(wrong.status(), 401);

    // A viewer: pages yes, publishing and administration no, even with a valid CSRF token.
    let viewer = log_in(&base, "vera");
    let viewer_csrf = csrf_of(&base, &viewer);
    let list_page = answer(
        agent()
            .get(&format!("{base}/console/lists/denylist"))
            .set("Cookie", &viewer)
            .call(),
    );
    assert_eq!(list_page.status(), 200);
    assert!(
        !list_page.into_string().unwrap().contains("/preview"),
        "viewer sees the publish form"
    );
    let items = serde_json::json!([hex::encode([7u8; 32])]).to_string();
    for path in [
        "/console/lists/denylist/preview",
        "/console/lists/denylist/publish",
    ] {
        let forged = answer(
            agent()
                .post(&format!("{base}{path}"))
                .set("Cookie", &viewer)
                .set("Origin", &base)
                .send_form(&[("csrf", &viewer_csrf), ("items", &items), ("base", "none")]),
        );
        assert_eq!(forged.status(), 403, "viewer may {path}");
    }
    for path in ["/console/accounts", "/console/audit"] {
        let page = answer(
            agent()
                .get(&format!("{base}{path}"))
                .set("Cookie", &viewer)
                .call(),
        );
        assert_eq!(page.status(), 403, "viewer sees {path}");
    }

    // A list publisher: without the CSRF token, with another session's, or from another
    // origin: refused; with it: previewed and published.
    let publisher = log_in(&base, "paul");
    let csrf = csrf_of(&base, &publisher);
    let preview = |fields: &[(&str, &str)], origin: Option<&str>| {
        let mut request = agent()
            .post(&format!("{base}/console/lists/denylist/preview"))
            .set("Cookie", &publisher);
        if let Some(origin) = origin {
            request = request.set("Origin", origin);
        }
        answer(request.send_form(fields))
    };
    assert_eq!(preview(&[("items", &items)], Some(&base)).status(), 403);
    assert_eq!(
        preview(&[("items", &items), ("csrf", &viewer_csrf)], Some(&base)).status(),
        403
    );
    assert_eq!(
        preview(
            &[("items", &items), ("csrf", &csrf)],
            Some("http://evil.example")
        )
        .status(),
        403
    );
    assert_eq!(
        preview(&[("items", &items), ("csrf", &csrf)], None).status(),
        403
    );
    let previewed = preview(&[("items", &items), ("csrf", &csrf)], Some(&base));
    assert_eq!(previewed.status(), 200);
    let page = previewed.into_string().unwrap();
    assert!(page.contains("1 added, 0 removed"), "{page}");
    let invalid = preview(&[("items", "[\"d1\"]"), ("csrf", &csrf)], Some(&base));
    assert_eq!(invalid.status(), 422);
    let published = answer(
        agent()
            .post(&format!("{base}/console/lists/denylist/publish"))
            .set("Cookie", &publisher)
            .set("Origin", &base)
            .send_form(&[("items", &items), ("csrf", &csrf), ("base", "none")]),
    );
    assert_eq!(published.status(), 303);
    let list: serde_json::Value = ureq::get(&format!("{base}/v1/lists/denylist"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(list["version"], 1);
    // Publishing the same preview again: the list moved on, refused.
    let again = answer(
        agent()
            .post(&format!("{base}/console/lists/denylist/publish"))
            .set("Cookie", &publisher)
            .set("Origin", &base)
            .send_form(&[("items", &items), ("csrf", &csrf), ("base", "none")]),
    );
    assert_eq!(again.status(), 409);
    assert_eq!(
        answer(
            agent()
                .get(&format!("{base}/console/accounts"))
                .set("Cookie", &publisher)
                .call()
        )
        .status(),
        403
    );

    // The admin sees the audit trail with all of it; logging out ends the session.
    let admin = log_in(&base, "ada");
    let audit = answer(
        agent()
            .get(&format!("{base}/console/audit"))
            .set("Cookie", &admin)
            .call(),
    )
    .into_string()
    .unwrap();
    for expected in [
        "account.created",
        "login.failed",
        AUDIT_LIST_PUBLISHED,
        "unix:",
    ] {
        assert!(audit.contains(expected), "audit lacks {expected}");
    }
    let admin_csrf = csrf_of(&base, &admin);
    // The admin makes an account, promotes it, disables it; a disabled account cannot log in.
    let admin_post = |path: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", admin_csrf.as_str())];
        all.extend_from_slice(fields);
        answer(
            agent()
                .post(&format!("{base}{path}"))
                .set("Cookie", &admin)
                .set("Origin", &base)
                .send_form(&all),
        )
    };
    let made = admin_post(
        "/console/accounts",
        &[("name", "tess"), ("role", "viewer"), ("password", PASSWORD)],
    );
    assert_eq!(made.status(), 303);
    assert_eq!(
        admin_post(
            "/console/accounts",
            &[("name", "tess"), ("role", "viewer"), ("password", PASSWORD)]
        )
        .status(),
        409
    );
    assert_eq!(
        admin_post(
            "/console/accounts",
            &[("name", "short"), ("role", "viewer"), ("password", "short")]
        )
        .status(),
        422
    );
    let tess = log_in(&base, "tess");
    assert_eq!(
        admin_post(
            "/console/accounts/tess",
            &[("action", "role"), ("role", "list_publisher")]
        )
        .status(),
        303
    );
    // The role change ended tess's session.
    assert_eq!(
        answer(
            agent()
                .get(&format!("{base}/console/fleet"))
                .set("Cookie", &tess)
                .call()
        )
        .status(),
        303
    );
    assert_eq!(
        admin_post("/console/accounts/tess", &[("action", "disable")]).status(),
        303
    );
    let disabled = answer(
        agent()
            .post(&format!("{base}/console/login"))
            .set("Origin", &base)
            .send_form(&[("name", "tess"), ("password", PASSWORD)]),
    );
    assert_eq!(disabled.status(), 401);
    assert_eq!(
        admin_post("/console/accounts/ada", &[("action", "disable")]).status(),
        403,
        "an admin disabled their own account"
    );
    let accounts = answer(
        agent()
            .get(&format!("{base}/console/accounts"))
            .set("Cookie", &admin)
            .call(),
    )
    .into_string()
    .unwrap();
    assert!(accounts.contains("tess") && accounts.contains("disabled"));
    let out = answer(
        agent()
            .post(&format!("{base}/console/logout"))
            .set("Cookie", &admin)
            .set("Origin", &base)
            .send_form(&[("csrf", &admin_csrf)]),
    );
    assert_eq!(out.status(), 303);
    assert_eq!(
        answer(
            agent()
                .get(&format!("{base}/console/audit"))
                .set("Cookie", &admin)
                .call()
        )
        .status(),
        303
    );
}

#[test]
fn json_list_publication_is_validated_and_needs_a_credential_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("central.db").display());
    add_account(&database, "paul", "list_publisher");
    add_account(&database, "vera", "viewer");
    // Listening on every address, so that a non-loopback address of this host reaches it.
    let port = central_process::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_central"))
        .args([
            "--listen",
            &format!("0.0.0.0:{port}"),
            "--database",
            &database,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let loopback = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let put =
        |base: &str, version: u64, items: serde_json::Value, credential: Option<(&str, &str)>| {
            let mut request = agent().put(&format!("{base}/v1/lists/denylist"));
            if let Some((name, password)) = credential {
                use base64::Engine;
                let basic =
                    base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"));
                request = request.set("Authorization", &format!("Basic {basic}"));
            }
            answer(request.send_json(serde_json::json!({"version": version, "items": items})))
                .status()
        };
    let hash = |n: u8| serde_json::json!(hex::encode([n; 32]));
    // Loopback, plain HTTP, no credential: accepted (tests and the demo bench), validated.
    assert_eq!(put(&loopback, 1, serde_json::json!(["d1"]), None), 400);
    assert_eq!(
        put(&loopback, 1, serde_json::json!([hash(1), hash(1)]), None),
        400
    );
    assert_eq!(put(&loopback, 1, serde_json::json!([hash(1)]), None), 200);
    assert_eq!(put(&loopback, 1, serde_json::json!([hash(2)]), None), 409);
    // A wrong password or a viewer's: refused even on loopback.
    assert_eq!(
        put(
            &loopback,
            2,
            serde_json::json!([hash(2)]),
            Some(("paul", "wrong password!!"))
        ),
        401
    );
    assert_eq!(
        put(
            &loopback,
            2,
            serde_json::json!([hash(2)]),
            Some(("vera", PASSWORD))
        ),
        403
    );
    assert_eq!(
        put(
            &loopback,
            2,
            serde_json::json!([hash(2)]),
            Some(("paul", PASSWORD))
        ),
        200
    );
    // Not on loopback: a credential is needed.
    let address = Command::new("hostname").arg("-I").output().unwrap();
    let address = String::from_utf8_lossy(&address.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| !a.is_loopback())
        })
        .map(str::to_owned);
    if let Some(address) = address {
        let outside = format!("http://{address}:{port}");
        assert_eq!(put(&outside, 3, serde_json::json!([hash(3)]), None), 401);
        assert_eq!(
            put(
                &outside,
                3,
                serde_json::json!([hash(3)]),
                Some(("paul", PASSWORD))
            ),
            200
        );
    } else {
        eprintln!("no non-loopback IPv4 address on this host: the off-loopback case is not run");
    }
    let history = Command::new(env!("CARGO_BIN_EXE_central"))
        .args([
            "lists",
            "--database",
            &database,
            "history",
            "--name",
            "denylist",
        ])
        .output()
        .unwrap();
    let history = String::from_utf8(history.stdout).unwrap();
    assert!(
        history.contains("anonymous") && history.contains("paul"),
        "{history}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn cli_publishes_a_file_after_validation() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("central.db").display());
    let file = dir.path().join("denylist.json");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_central"))
            .args(["lists", "--database", &database])
            .args(args)
            .output()
            .unwrap()
    };
    std::fs::write(&file, r#"["not a hash"]"#).unwrap();
    let refused = run(&["publish", file.to_str().unwrap(), "--name", "denylist"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("entry 1"),
        "{refused:?}"
    );
    std::fs::write(
        &file,
        serde_json::json!([hex::encode([1u8; 32])]).to_string(),
    )
    .unwrap();
    let published = run(&["publish", file.to_str().unwrap(), "--name", "denylist"]);
    assert!(published.status.success(), "{published:?}");
    let out = String::from_utf8_lossy(&published.stdout);
    assert!(
        out.contains("1 added") && out.contains("published denylist version 1 as unix:"),
        "{out}"
    );
    let store = central::storage::open_storage(&database, 1).unwrap();
    assert_eq!(store.list_version("denylist").unwrap(), Some(1));
    assert_eq!(store.list_history("denylist").unwrap()[0].item_count, 1);
}

fn audit(at_ms: i64, actor: &str, action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        at_ms,
        actor: actor.into(),
        address: "192.0.2.1".into(),
        action: action.into(),
        target: target.into(),
        detail: String::new(),
    }
}

/// The console's store contract, run on each backend.
fn store_contract(store: &dyn Storage) {
    let account = Account {
        name: "ada".into(),
        role: Role::Admin,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$x$y".into(),
        disabled: false,
        created_at_ms: 1_000,
        changed_at_ms: 1_000,
    };
    assert!(
        store
            .create_account(
                &account,
                &audit(1_000, "unix:root", "account.created", "ada")
            )
            .unwrap()
    );
    assert!(
        !store
            .create_account(
                &account,
                &audit(1_001, "unix:root", "account.created", "ada")
            )
            .unwrap()
    );
    assert_eq!(store.account("ada").unwrap(), Some(account.clone()));
    assert_eq!(store.accounts().unwrap().len(), 1);
    let session = SessionRecord {
        token_hash: "h1".into(),
        account: "ada".into(),
        created_at_ms: 2_000,
        last_seen_at_ms: 2_000,
        address: "192.0.2.1".into(),
    };
    store.create_session(&session).unwrap();
    store.touch_session("h1", 2_500).unwrap();
    assert_eq!(store.session("h1").unwrap().unwrap().last_seen_at_ms, 2_500);
    // A role change ends the account's sessions.
    assert!(
        store
            .update_account(
                "ada",
                &AccountChange::Role(Role::Viewer),
                &audit(3_000, "bob", "account.role", "ada")
            )
            .unwrap()
    );
    assert_eq!(store.session("h1").unwrap(), None);
    assert_eq!(store.account("ada").unwrap().unwrap().role, Role::Viewer);
    assert!(
        !store
            .update_account(
                "nobody",
                &AccountChange::Disabled(true),
                &audit(3_000, "bob", "account.disabled", "nobody")
            )
            .unwrap()
    );
    store
        .create_session(&SessionRecord {
            token_hash: "h2".into(),
            ..session.clone()
        })
        .unwrap();
    assert_eq!(store.end_expired_sessions(2_001, 0).unwrap(), 1);
    // Failed logins are counted per account and per address within the window.
    for at in [10_000, 11_000] {
        store
            .record_audit(&audit(at, "ada", AUDIT_LOGIN_FAILED, "ada"))
            .unwrap();
    }
    store
        .record_audit(&audit(12_000, "eve", AUDIT_LOGIN_FAILED, "eve"))
        .unwrap();
    let failures = store
        .recent_login_failures("ada", "192.0.2.1", 10_500)
        .unwrap();
    assert_eq!((failures.for_account, failures.from_address), (1, 2));
    // List versions: kept with who and when, and only forward.
    let v1 = PublishList {
        version: 1,
        items: vec![serde_json::json!("a")],
    };
    store
        .publish_list_version(
            "denylist",
            &v1,
            &audit(20_000, "ada", AUDIT_LIST_PUBLISHED, "denylist"),
        )
        .unwrap();
    let v2 = PublishList {
        version: 2,
        items: vec![serde_json::json!("a"), serde_json::json!("b")],
    };
    store
        .publish_list_version(
            "denylist",
            &v2,
            &audit(21_000, "bob", AUDIT_LIST_PUBLISHED, "denylist"),
        )
        .unwrap();
    let conflict = store
        .publish_list_version(
            "denylist",
            &v1,
            &audit(22_000, "bob", AUDIT_LIST_PUBLISHED, "denylist"),
        )
        .unwrap_err();
    assert!(
        matches!(
            conflict,
            StorageError::ListVersionConflict { current: 2, .. }
        ),
        "{conflict}"
    );
    let history = store.list_history("denylist").unwrap();
    let summary: Vec<(u64, u64, &str, i64)> = history
        .iter()
        .map(|v| {
            (
                v.version,
                v.item_count,
                v.published_by.as_str(),
                v.published_at_ms,
            )
        })
        .collect();
    assert_eq!(summary, [(2, 2, "bob", 21_000), (1, 1, "ada", 20_000)]);
    assert_eq!(store.list("denylist").unwrap().unwrap().items, v2.items);
    let trail = store.audit_trail(100).unwrap();
    assert_eq!(trail.len(), 7, "{trail:#?}");
    assert_eq!(trail[0].actor, "bob");
    assert_eq!(trail[0].action, AUDIT_LIST_PUBLISHED);
    assert_eq!(trail.last().unwrap().actor, "unix:root");
}

#[test]
fn console_store_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = central::storage::SqliteStorage::open(dir.path().join("c.db")).unwrap();
    store_contract(&store);
}

#[test]
fn console_store_on_postgres() {
    let cluster = pg::PgCluster::start();
    let store = central::storage::PostgresStorage::connect(&cluster.url(), 2).unwrap();
    store_contract(&store);
    // A second replica sees the same accounts and audit trail.
    let replica = central::storage::PostgresStorage::connect(&cluster.url(), 1).unwrap();
    assert_eq!(replica.account("ada").unwrap().unwrap().role, Role::Viewer);
    assert_eq!(replica.audit_trail(100).unwrap().len(), 7);
}

/// `curl` over mutual TLS: status code and headers of one request.
fn curl_tls(dir: &std::path::Path, client: &str, args: &[&str], url: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-D", "-", "-w", "%{http_code}"])
        .arg("--cacert")
        .arg(dir.join("ca.pem"))
        .arg("--cert")
        .arg(dir.join(format!("{client}.pem")))
        .arg("--key")
        .arg(dir.join(format!("{client}.key")))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let (headers, code) = text.split_at(text.len() - 3);
    (code.parse().unwrap(), headers.to_owned())
}

#[test]
fn under_mutual_tls_a_gate_certificate_alone_publishes_nothing_and_cookies_are_secure() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, Ia5String, IsCa, KeyPair, SanType};
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    for (file, names, gate) in [
        ("server", vec!["localhost".to_owned()], None),
        ("gate", vec![], Some("gate-t")),
    ] {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        if let Some(gate) = gate {
            let uri = Ia5String::try_from(format!("urn:gate:{gate}")).unwrap();
            params.subject_alt_names.push(SanType::URI(uri));
        }
        params.distinguished_name.push(DnType::CommonName, file);
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.path().join(format!("{file}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.path().join(format!("{file}.key")), key.serialize_pem()).unwrap();
    }
    let database = format!("sqlite:{}", dir.path().join("central.db").display());
    add_account(&database, "paul", "list_publisher");
    let port = central_process::free_port();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let _central = Central::start_on(
        port,
        &database,
        &[
            "--tls-cert",
            &path("server.pem"),
            "--tls-key",
            &path("server.key"),
            "--client-ca",
            &path("ca.pem"),
        ],
    );
    let base = format!("https://localhost:{port}");
    let list = format!("{base}/v1/lists/denylist");
    let body = serde_json::json!({"version": 1, "items": [hex::encode([1u8; 32])]}).to_string();
    let put = [
        "-X",
        "PUT",
        "-H",
        "content-type: application/json",
        "--data",
        &body,
    ];
    // A gate's certificate, no operator credential: refused (it was accepted before).
    let (code, headers) = curl_tls(dir.path(), "gate", &put, &list);
    assert_eq!(code, 401, "{headers}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("www-authenticate: basic")
    );
    // With a list publisher's password as well: published.
    let credential = format!("paul:{PASSWORD}");
    let with_basic = [&put[..], &["-u", &credential]].concat();
    assert_eq!(curl_tls(dir.path(), "gate", &with_basic, &list).0, 200);
    // The console over TLS: the session cookie is Secure.
    let login = [
        "-X",
        "POST",
        "-H",
        &format!("Origin: {base}"),
        "--data",
        &format!("name=paul&password={}", PASSWORD.replace(' ', "+")),
    ];
    let (code, headers) = curl_tls(dir.path(), "gate", &login, &format!("{base}/console/login"));
    assert_eq!(code, 303, "{headers}");
    let cookie = headers
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // An http:// Origin does not pass for an https server.
    let (code, _) = curl_tls(
        dir.path(),
        "gate",
        &[
            "-X",
            "POST",
            "-H",
            &format!("Origin: http://localhost:{port}"),
            "--data",
            "name=paul&password=x",
        ],
        &format!("{base}/console/login"),
    );
    assert_eq!(code, 403);
}

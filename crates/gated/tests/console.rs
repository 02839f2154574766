//! Central's operator console in a real browser (headless Chromium over WebDriver, see
//! `support/browser.rs`) against the built `central` binary on SQLite, with a running gated
//! syncing to it: an unauthenticated visit lands on the login page; a viewer sees pages but no
//! publish form, and a forged publish form from the viewer's session is refused; a list
//! publisher pastes a denylist, sees the diff, confirms, and the running gate then denies the
//! listed document; an admin sees the fleet with the gate, the activity, accounts and the audit
//! trail naming who published. Every page is checked with axe-core (no serious or critical
//! violation) and screenshotted at 1280x800 into `target/central-artefacts/console/`.
#![allow(clippy::unwrap_used)]

mod support;
// Central's own test helper for operator accounts.
#[path = "../../central/tests/support/accounts.rs"]
mod accounts;

use std::path::{Path, PathBuf};
use std::time::Duration;

use gate_protocol::{Request, Response, SimulatedTraveller};
use gated::hashing::DocumentHasher;
use serde_json::json;
use support::browser::{Browser, axe_script};
use support::{Gated, central_binary, central_section, fast_sim_config, start_central};

const PASSWORD: &str = "correct horse battery staple";

/// `target/central-artefacts/console/`, emptied.
fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("central-artefacts").join("console");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `central accounts add NAME --role ROLE`, the password on stdin (never on the command line).
fn add_account(database: &str, name: &str, role: &str) {
    accounts::add_account(&central_binary(), database, name, role, PASSWORD);
}

struct Console {
    browser: Browser,
    base: String,
    axe: String,
    shots: PathBuf,
}

impl Console {
    fn text(&self) -> String {
        self.browser
            .run("return document.body.innerText;", json!([]))
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn wait_for_path(&self, path: &str) {
        self.browser.wait_until(
            path,
            "return location.pathname === arguments[0] && document.readyState === 'complete';",
            json!([path]),
            Duration::from_secs(10),
        );
    }

    /// Opens `path` and waits for it.
    fn open(&self, path: &str) {
        self.browser.open(&format!("{}{path}", self.base));
        self.wait_for_path(path.split('?').next().unwrap());
    }

    /// axe-core finds nothing serious, and a screenshot is kept as `name.png`.
    fn check(&self, name: &str) {
        let violations = self.browser.serious_accessibility_violations(&self.axe);
        assert!(violations.is_empty(), "{name}: {violations:#?}");
        self.browser
            .screenshot(&self.shots.join(format!("{name}.png")));
    }

    fn log_in(&self, name: &str) {
        self.open("/console/login");
        self.browser.type_into("#name", name);
        self.browser.type_into("#password", PASSWORD);
        self.browser.click(".login button[type=submit]");
        self.wait_for_path("/console/fleet");
    }

    fn log_out(&self) {
        self.browser.click("header .who button");
        self.wait_for_path("/console/login");
    }

    fn nav(&self) -> Vec<String> {
        let labels = self.browser.run(
            "return [...document.querySelectorAll('header nav a')].map((a) => a.textContent);",
            json!([]),
        );
        labels
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect()
    }
}

#[test]
fn operators_work_in_the_console_and_a_published_denylist_reaches_a_running_gate() {
    let work = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", work.path().join("central.sqlite").display());
    add_account(&database, "vera", "viewer");
    add_account(&database, "paul", "list_publisher");
    add_account(&database, "ada", "admin");
    let central = start_central(work.path());

    let key_file = work.path().join("document-hash.key");
    std::fs::write(&key_file, [0x5a_u8; 32]).unwrap();
    let mut config = fast_sim_config();
    config.privacy.document_hash_key_file = Some(key_file.clone());
    config.central = Some(central_section(&central.url, 50, 3600));
    config.gate.site = Some(gate_config::schema::Site {
        airport: "HND".into(),
        terminal: "T3".into(),
        zone: "departures".into(),
    });
    config.reporting.heartbeat_s = 1;
    let gated = Gated::start(&config);
    assert_eq!(
        gated.status().out_of_service_reasons,
        [gate_core::ReasonCode::ListsStale]
    );

    let console = Console {
        browser: Browser::start(1280, 800),
        base: central.url.clone(),
        axe: axe_script(),
        shots: artefacts(),
    };

    // No session: the console sends the browser to the login page.
    console
        .browser
        .open(&format!("{}/console/audit", central.url));
    console.wait_for_path("/console/login");
    console.check("01-login");
    // A wrong password is refused on the page.
    console.browser.type_into("#name", "ada");
    console.browser.type_into("#password", "not the password");
    console.browser.click(".login button[type=submit]");
    console.browser.wait_until(
        "the refusal",
        "return document.body.innerText.includes('Wrong account or password');",
        json!([]),
        Duration::from_secs(10),
    );
    console.check("02-login-refused");

    // A viewer: no accounts or audit in the menu, no publish form, and a forged publish form
    // posted from the viewer's own page (with its CSRF token) is refused.
    console.log_in("vera");
    assert!(
        !console
            .nav()
            .iter()
            .any(|l| l == "Accounts" || l == "Audit")
    );
    console.open("/console/lists/denylist");
    assert_eq!(
        console.browser.run(
            "return document.querySelectorAll('textarea, form[action$=\"/preview\"]').length;",
            json!([])
        ),
        json!(0),
        "the viewer sees a publish form"
    );
    console.check("03-viewer-list");
    let stolen = DocumentHasher::from_file(&key_file)
        .unwrap()
        .hash("UTO", "SIM000002")
        .to_hex();
    let items = json!([stolen]).to_string();
    console.browser.run(
        "const form = document.createElement('form');
         form.method = 'post';
         form.action = '/console/lists/denylist/preview';
         const csrf = document.querySelector('input[name=csrf]').value;
         for (const [name, value] of [['csrf', csrf], ['items', arguments[0]]]) {
           const input = document.createElement('input');
           input.type = 'hidden'; input.name = name; input.value = value;
           form.appendChild(input);
         }
         document.body.appendChild(form);
         form.submit();",
        json!([items]),
    );
    console.browser.wait_until(
        "the refusal of the forged form",
        "return document.title.startsWith('Forbidden');",
        json!([]),
        Duration::from_secs(10),
    );
    assert!(
        console.text().contains("may not do this"),
        "{}",
        console.text()
    );
    console.check("04-viewer-forged-publish-refused");
    console.open("/console/fleet");
    console.log_out();

    // A list publisher pastes the denylist, sees what it adds, and publishes it.
    console.log_in("paul");
    console.open("/console/lists/denylist");
    console.check("05-publisher-list");
    console.browser.type_into("#items", &items);
    console
        .browser
        .click("form[action$='/preview'] button[type=submit]");
    console.wait_for_path("/console/lists/denylist/preview");
    let preview = console.text();
    assert!(
        preview.contains("1 added, 0 removed, 0 changed, 0 unchanged, 1 in all"),
        "{preview}"
    );
    assert!(preview.contains(&stolen), "{preview}");
    console.check("06-publish-preview");
    console
        .browser
        .click("form[action$='/publish'] button[type=submit]");
    console.wait_for_path("/console/lists/denylist");
    assert!(
        console.text().contains("Published version 1."),
        "{}",
        console.text()
    );
    console.check("07-published");
    console.log_out();

    // The running gate pulls it: in service, the first document passes, the listed one is
    // denied.
    gated.wait_for("the denylist to arrive", |s| {
        s.out_of_service_reasons.is_empty()
    });
    for expected in 1..=2 {
        match gated.ok(Request::Simulate {
            traveller: SimulatedTraveller::default(),
        }) {
            Response::SimulationStarted {
                transaction_id: Some(_),
            } => {}
            other => panic!("not admitted: {other:?}"),
        }
        gated.wait_for("the decision", |s| {
            s.counters.passed + s.counters.denied == expected
        });
    }
    let status = gated.status();
    assert_eq!((status.counters.passed, status.counters.denied), (1, 1));
    assert_eq!(
        status.last_outcome.unwrap().reasons,
        [gate_core::ReasonCode::DenylistHit]
    );
    gated.wait_for("the events to reach central", |s| s.outbox_pending == 0);

    // The admin sees everything: the gate in the fleet, its decisions, the accounts, and the
    // audit trail naming who published.
    console.log_in("ada");
    assert!(console.nav().iter().any(|l| l == "Audit"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        console.open("/console/fleet");
        let fleet = console.text();
        // In service with a traveller just now: active, no out-of-service reason.
        if fleet.contains("SIM-FACE-01")
            && fleet.contains("HND T3 departures")
            && fleet.contains("\tactive\t")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no gate on the fleet page: {fleet}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    console.check("08-fleet");
    console.open("/console/activity");
    assert!(
        console.text().contains("DENYLIST_HIT"),
        "{}",
        console.text()
    );
    console.check("09-activity");
    console.open("/console/incidents");
    console.check("10-incidents");
    console.open("/console/outbox");
    assert!(console.text().contains("SIM-FACE-01"));
    console.check("11-outbox");
    console.open("/console/lists");
    assert!(console.text().contains("paul"), "{}", console.text());
    console.check("12-lists");
    console.open("/console/accounts");
    console.check("13-accounts");
    console.open("/console/audit");
    let audit = console.text();
    for expected in [
        "list.published",
        "paul",
        "login.failed",
        "unix:",
        "account.created",
    ] {
        assert!(
            audit.contains(expected),
            "the audit trail lacks {expected}: {audit}"
        );
    }
    console.check("14-audit");
    let pages = std::fs::read_dir(&console.shots).unwrap().count();
    assert_eq!(pages, 14);
}

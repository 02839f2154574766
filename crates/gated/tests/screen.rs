//! The traveller's screen and the officer's view in a real browser (Debian's headless
//! Chromium over WebDriver), against gated running each profile on simulated devices.
//!
//! Travellers are driven through the gate and the page must show each prompt in the language
//! chosen by touch or by the document's nationality. Every prompt in every language is kept as
//! a screenshot at both panel sizes (`target/screen-artefacts/`), axe-core finds no serious or
//! critical accessibility violation, no text overflows its box, and nothing is loaded from
//! anywhere but the gate. The time from the main loop's publication of a state to the frame
//! that painted it, and the page's weight, are measured and written beside the screenshots.
#![allow(clippy::unwrap_used)]

mod support;

use gate_config::GateConfig;
use gate_config::screen::{OfficerCredential, ScreenSection};
use gate_core::{FaceQualityCheck, GateProfile, Prompt};
use gate_protocol::{Request, Response, SimulatedDocument, SimulatedTraveller};
use serde_json::{Value, json};
use sha2::Digest;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use support::browser::{Browser, artefact_dir, axe_script};
use support::{InProcess, free_port, sim_profile_config};

const PORTRAIT: (u32, u32) = (1080, 1920);
const LANDSCAPE: (u32, u32) = (1280, 800);
const LANGUAGES: [&str; 5] = ["ja", "en", "zh-Hans", "zh-Hant", "ko"];
const STEP: Duration = Duration::from_millis(50);
const OFFICER: &str = "NRT-4471";
const OFFICER_SECRET: &str = "correct horse battery staple";

/// A gate of `profile` on simulated devices that answer after `delay_ms` of the gate's clock,
/// with its screen on `port`.
fn screen_config(profile: GateProfile, port: u16, delay_ms: u64) -> GateConfig {
    let mut config = sim_profile_config(profile, delay_ms);
    let mut screen = ScreenSection::on(SocketAddr::from(([127, 0, 0, 1], port)));
    screen.officers = vec![OfficerCredential {
        id: OFFICER.into(),
        secret_sha256: hex::encode(sha2::Sha256::digest(OFFICER_SECRET.as_bytes())),
    }];
    config.screen = Some(screen);
    config
}

/// What the page is expected to show at one point of a traveller's way.
struct Expect {
    /// The core's prompt at that point.
    prompt: Prompt,
    /// The page's prompt id.
    id: &'static str,
    /// A hint the page must show with it.
    hint: Option<&'static str>,
}

fn expect(prompt: Prompt, id: &'static str) -> Expect {
    Expect {
        prompt,
        id,
        hint: None,
    }
}

/// The checks on one shown state: a screenshot, no overflowing text, no serious or critical
/// accessibility violation.
struct Checks<'a> {
    browser: &'a Browser,
    axe: &'a str,
    dir: &'a Path,
    size: &'static str,
    shots: usize,
    problems: Vec<String>,
}

impl Checks<'_> {
    fn shown(&mut self, profile: &str, lang: &str, id: &str, hint: Option<&str>) {
        let script = "const m = window.gateScreen && window.gateScreen.last;
             return Boolean(m) && m.prompt === arguments[0] && m.lang === arguments[1] &&
               (arguments[2] === null ||
                Boolean(document.querySelector('#hints li[data-hint=\"' + arguments[2] + '\"]')));";
        self.browser.wait_until(
            &format!("{id} in {lang} (hint {hint:?})"),
            script,
            json!([id, lang, hint]),
            Duration::from_secs(10),
        );
        // The text must be the catalogue's in that language, not a fallback id.
        let prompt_text = self.browser.run(
            "return document.getElementById('prompt').textContent;",
            json!([]),
        );
        let prompt_text = prompt_text.as_str().unwrap_or_default().to_owned();
        if prompt_text.is_empty() || prompt_text == id {
            self.problems.push(format!(
                "{profile} {lang} {id}: prompt text {prompt_text:?}"
            ));
        }
        let shot = self
            .dir
            .join(format!("{profile}-{}-{lang}-{id}.png", self.size));
        self.browser.screenshot(&shot);
        self.shots += 1;
        for overflow in self.browser.overflowing_text() {
            self.problems.push(format!(
                "{profile} {lang} {id} {}: overflows {overflow}",
                self.size
            ));
        }
        for overlap in self.browser.overlapping_blocks() {
            self.problems.push(format!(
                "{profile} {lang} {id} {}: overlap {overlap}",
                self.size
            ));
        }
        for violation in self.browser.serious_accessibility_violations(self.axe) {
            self.problems.push(format!(
                "{profile} {lang} {id} {}: axe {violation}",
                self.size
            ));
        }
    }
}

/// Drives the gate's clock until the core shows `prompt`.
fn until_prompt(gate: &InProcess, prompt: Prompt) {
    gate.advance_until(&format!("{prompt:?}"), STEP, Duration::from_secs(60), |s| {
        s.display == prompt
    });
}

/// Drives the gate's clock until the page shows `hint`.
fn until_page_hint(gate: &InProcess, browser: &Browser, hint: &str) {
    for _ in 0..1_200 {
        let shown = browser.run(
            "return Boolean(document.querySelector('#hints li[data-hint=\"' + arguments[0] + '\"]'));",
            json!([hint]),
        );
        if shown == Value::Bool(true) {
            return;
        }
        gate.advance(STEP);
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("the page never showed {hint}");
}

/// Drives the gate's clock until the page shows `prompt`.
fn until_page_prompt(gate: &InProcess, browser: &Browser, prompt: &str) {
    for _ in 0..1_200 {
        let shown = browser.run(
            "const m = window.gateScreen.last; return Boolean(m) && m.prompt === arguments[0];",
            json!([prompt]),
        );
        if shown == Value::Bool(true) {
            return;
        }
        gate.advance(STEP);
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("the page never showed {prompt}");
}

/// Drives the gate's clock until the page shows the idle screen.
fn until_page_idle(gate: &InProcess, browser: &Browser) {
    for _ in 0..1_200 {
        let idle = browser.run(
            "const m = window.gateScreen.last; return Boolean(m) && m.prompt === 'place-document';",
            json!([]),
        );
        if idle == Value::Bool(true) && gate.status().state == "idle" {
            return;
        }
        gate.advance(STEP);
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("the page never came back to the idle screen");
}

/// One traveller per language through `profile`'s gate, each prompt checked in that language.
fn every_prompt_in_every_language(
    profile: GateProfile,
    size: (u32, u32),
    travellers: &[(SimulatedTraveller, Vec<Expect>)],
    checks_dir: &Path,
    latencies: &mut Vec<f64>,
    weight: &mut u64,
) -> (usize, Vec<String>) {
    let port = free_port();
    let gate = InProcess::start(&screen_config(profile, port, 1_000));
    let origin = format!("http://127.0.0.1:{port}");
    let browser = Browser::start(size.0, size.1);
    browser.open(&format!("{origin}/"));
    let axe = axe_script();
    let size_name = if size == PORTRAIT {
        "portrait"
    } else {
        "landscape"
    };
    let mut checks = Checks {
        browser: &browser,
        axe: &axe,
        dir: checks_dir,
        size: size_name,
        shots: 0,
        problems: Vec::new(),
    };
    let name = profile.as_str();
    for lang in LANGUAGES {
        for (traveller, expected) in travellers {
            // The idle screen in the default language; the traveller touches a language.
            checks.shown(name, "ja", "place-document", None);
            browser.click(&format!("#language-buttons button[data-tag=\"{lang}\"]"));
            checks.shown(name, lang, "place-document", None);
            gate.admit(traveller.clone());
            for point in expected {
                until_prompt(&gate, point.prompt);
                if let Some(hint) = point.hint {
                    until_page_hint(&gate, &browser, hint);
                }
                checks.shown(name, lang, point.id, point.hint);
            }
            if gate.status().state == "holding" {
                assert_eq!(gate.ok(Request::OfficerReset), Response::Done);
            }
            // Back to idle (the outcome stays on screen a few seconds), in the default
            // language for the next traveller.
            until_page_idle(&gate, &browser);
        }
        // Out of service by an officer: the maintenance screen, in the language chosen last.
        checks.shown(name, "ja", "place-document", None);
        browser.click(&format!("#language-buttons button[data-tag=\"{lang}\"]"));
        gate.ok(Request::SetMaintenance { on: true });
        checks.shown(name, lang, "maintenance", None);
        gate.ok(Request::SetMaintenance { on: false });
        // The fire panel releases the doors (gates with a door): the exit is open.
        if profile != GateProfile::BioCart {
            let lines = gate.door_lines();
            assert!(lines.set_input(devices::turnstile::Input::FireAlarm, true));
            until_page_prompt(&gate, &browser, "fire-release");
            checks.shown(name, lang, "fire-release", None);
            lines.set_input(devices::turnstile::Input::FireAlarm, false);
            gate.advance_until(
                "the fire release to end",
                STEP,
                Duration::from_secs(30),
                |s| !s.conditions.contains(&gate_core::Condition::FireAlarm),
            );
        }
        // The traveller who chose it walks away: a new one finds the default language.
        gate.admit(SimulatedTraveller {
            cancel_after_steps: Some(1),
            ..SimulatedTraveller::default()
        });
        until_page_idle(&gate, &browser);
    }
    *weight = browser.page_weight();
    let foreign = browser.foreign_requests(&origin);
    assert!(foreign.is_empty(), "requests left the machine: {foreign:?}");
    let measured = browser.run("return window.gateScreen.latencies;", json!([]));
    latencies.extend(
        measured
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_f64),
    );
    (checks.shots, checks.problems)
}

fn face_gate_travellers() -> Vec<(SimulatedTraveller, Vec<Expect>)> {
    vec![
        (
            // Too far from the camera at first, then matched: through the gate.
            SimulatedTraveller {
                face_quality_problems: vec![FaceQualityCheck::TooSmall],
                ..SimulatedTraveller::default()
            },
            vec![
                expect(Prompt::ReadingDocument, "reading-document"),
                expect(Prompt::LookAtCamera, "look-at-camera"),
                Expect {
                    prompt: Prompt::TryAgain,
                    id: "try-again",
                    hint: Some("hint-too-small"),
                },
                expect(Prompt::Proceed, "proceed"),
            ],
        ),
        (
            // The passport slid off the reader: laid down again, read, through.
            SimulatedTraveller {
                document: SimulatedDocument::UnreadableOnce,
                ..SimulatedTraveller::default()
            },
            vec![
                Expect {
                    prompt: Prompt::ReplaceDocument,
                    id: "replace-document",
                    hint: Some("hint-chip-unreadable"),
                },
                expect(Prompt::LookAtCamera, "look-at-camera"),
                expect(Prompt::Proceed, "proceed"),
            ],
        ),
        (
            // Not the passport's holder: an officer is called.
            SimulatedTraveller {
                face_scores: vec![0.05],
                ..SimulatedTraveller::default()
            },
            vec![expect(Prompt::SeeOfficer, "see-officer")],
        ),
    ]
}

fn biocart_travellers() -> Vec<(SimulatedTraveller, Vec<Expect>)> {
    vec![(
        SimulatedTraveller::default(),
        vec![
            expect(Prompt::ReadingDocument, "reading-document"),
            expect(Prompt::PlaceLeftIndex, "place-left-index"),
            expect(Prompt::PlaceRightIndex, "place-right-index"),
            expect(Prompt::LookAtCamera, "face-photo"),
            expect(Prompt::ProceedToBooth, "proceed-to-booth"),
        ],
    )]
}

fn fingerprint_gate_travellers() -> Vec<(SimulatedTraveller, Vec<Expect>)> {
    vec![(
        // A poor first placement, then verified.
        SimulatedTraveller {
            enrolled: true,
            finger_qualities: vec![10, 80],
            ..SimulatedTraveller::default()
        },
        vec![
            expect(Prompt::ReadingDocument, "reading-document"),
            expect(Prompt::PlaceRightIndex, "place-right-index"),
            Expect {
                prompt: Prompt::PlaceRightIndex,
                id: "place-right-index",
                hint: Some("hint-finger-quality"),
            },
            expect(Prompt::Proceed, "proceed"),
        ],
    )]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[test]
fn every_prompt_of_every_profile_in_every_language_at_both_panel_sizes() {
    let dir = artefact_dir("prompts");
    let mut latencies = Vec::new();
    let mut weight = 0;
    let mut shots = 0;
    let mut problems = Vec::new();
    for (profile, travellers) in [
        (GateProfile::FaceGate, face_gate_travellers()),
        (GateProfile::BioCart, biocart_travellers()),
        (GateProfile::FingerprintGate, fingerprint_gate_travellers()),
    ] {
        for size in [PORTRAIT, LANDSCAPE] {
            let (n, found) = every_prompt_in_every_language(
                profile,
                size,
                &travellers,
                &dir,
                &mut latencies,
                &mut weight,
            );
            shots += n;
            problems.extend(found);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let report = json!({
        "what": "ms from the main loop publishing a screen state to the frame that painted it \
                 (headless Chromium, same machine)",
        "states": latencies.len(),
        "p50_ms": percentile(&latencies, 50.0),
        "p95_ms": percentile(&latencies, 95.0),
        "max_ms": latencies.last(),
        "screenshots": shots,
        "page_weight_bytes": weight,
    });
    std::fs::write(dir.join("latency.json"), report.to_string()).unwrap();
    eprintln!("screen: {report}\nscreenshots in {}", dir.display());
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Every prompt in every language at both sizes (and the idle screen between travellers).
    assert!(shots >= 5 * 2 * 15, "{shots} screenshots");
}

#[test]
fn a_gate_closed_by_a_fault_says_so_in_every_language_at_both_panel_sizes() {
    let dir = artefact_dir("closed");
    let axe = axe_script();
    for size in [PORTRAIT, LANDSCAPE] {
        // Central never answers: no lists, the gate stays out of service (LISTS_STALE).
        let port = free_port();
        let mut config = screen_config(GateProfile::FaceGate, port, 1_000);
        let nobody = format!("http://127.0.0.1:{}", free_port());
        config.central = Some(support::central_section(&nobody, 50, 3600));
        let gate = InProcess::start(&config);
        assert!(
            gate.status()
                .out_of_service_reasons
                .contains(&gate_core::ReasonCode::ListsStale)
        );
        let browser = Browser::start(size.0, size.1);
        browser.open(&format!("http://127.0.0.1:{port}/"));
        let mut checks = Checks {
            browser: &browser,
            axe: &axe,
            dir: &dir,
            size: if size == PORTRAIT {
                "portrait"
            } else {
                "landscape"
            },
            shots: 0,
            problems: Vec::new(),
        };
        checks.shown("face_gate", "ja", "out-of-service", None);
        // The other four languages under it, each in its own words.
        let also = browser.run(
            "return [...document.querySelectorAll('#also li')].map((li) => [li.lang, li.textContent]);",
            json!([]),
        );
        let tags: Vec<&str> = also
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| pair[0].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["en", "zh-Hans", "zh-Hant", "ko"]);
        for pair in also.as_array().unwrap() {
            assert!(pair[1].as_str().unwrap().len() > 10, "{pair}");
        }
        assert!(checks.problems.is_empty(), "{:#?}", checks.problems);
    }
}

/// An HTTP answer from the screen's server: status and body.
fn http(method: &str, url: &str, host: Option<&str>, form: Option<&str>) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut request = agent.request(method, url);
    if let Some(host) = host {
        request = request.set("Host", host);
    }
    let result = match form {
        Some(form) => request
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(form),
        None => request.call(),
    };
    match result {
        Ok(response) => (
            response.status(),
            response.into_string().unwrap_or_default(),
        ),
        Err(ureq::Error::Status(code, response)) => {
            (code, response.into_string().unwrap_or_default())
        }
        Err(err) => panic!("{method} {url}: {err}"),
    }
}

#[test]
fn the_officer_view_refuses_without_its_credential_and_every_officer_action_reaches_central() {
    let work = tempfile::tempdir().unwrap();
    let central = support::start_central(work.path());
    support::publish_list(&central.url, "denylist", &[]);
    let port = free_port();
    let mut config = screen_config(GateProfile::FaceGate, port, 100);
    config.gate.id = "SCREEN-OFFICER-01".into();
    config.central = Some(support::central_section(&central.url, 50, 3600));
    let gated = support::Gated::start(&config);
    gated.wait_for("lists", |s| s.out_of_service_reasons.is_empty());
    let origin = format!("http://127.0.0.1:{port}");

    // Without a session: refused; with a wrong secret: refused; from another host: refused.
    assert_eq!(
        http("GET", &format!("{origin}/officer/state"), None, None).0,
        401
    );
    let action = "action=out_of_service&csrf=x";
    assert_eq!(
        http(
            "POST",
            &format!("{origin}/officer/action"),
            None,
            Some(action)
        )
        .0,
        401
    );
    let (code, page) = http("GET", &format!("{origin}/officer"), None, None);
    assert_eq!(code, 200);
    assert!(page.contains("type=\"password\""), "{page}");
    let wrong = format!("id={OFFICER}&secret=guess");
    assert_eq!(
        http(
            "POST",
            &format!("{origin}/officer/login"),
            None,
            Some(&wrong)
        )
        .0,
        401
    );
    let rebinding = Some("gate.example:80");
    assert_eq!(http("GET", &format!("{origin}/"), rebinding, None).0, 421);
    assert!(
        gated.status().conditions.is_empty(),
        "a refused request changed the gate"
    );

    // The officer signs in in a real browser.
    let dir = artefact_dir("officer");
    let axe = axe_script();
    let browser = Browser::start(LANDSCAPE.0, LANDSCAPE.1);
    browser.open(&format!("{origin}/officer?lang=en"));
    browser.screenshot(&dir.join("sign-in.png"));
    browser.type_into("input[name=id]", OFFICER);
    browser.type_into("input[name=secret]", OFFICER_SECRET);
    browser.click("button[type=submit]");
    let loaded = "return document.body.dataset.loaded === 'yes';";
    browser.wait_until(
        "the officer view",
        loaded,
        json!([]),
        Duration::from_secs(10),
    );

    // A traveller whose face does not match: the gate calls an officer, who sees why.
    gated.admit(SimulatedTraveller {
        face_scores: vec![0.05],
        ..SimulatedTraveller::default()
    });
    gated.wait_for("the deny hold", |s| s.state == "holding");
    let call = "const li = document.querySelector('#reasons li[data-code=FACE_MISMATCH]');
                return !document.getElementById('call').hidden && Boolean(li) &&
                  li.textContent.includes('did not match');";
    browser.wait_until(
        "the call and its reason",
        call,
        json!([]),
        Duration::from_secs(10),
    );
    browser.screenshot(&dir.join("call.png"));
    let violations = browser.serious_accessibility_violations(&axe);
    assert!(violations.is_empty(), "{violations:?}");
    // Nothing personal in what the officer's page or the traveller's page received.
    for body in [
        browser
            .run("return document.body.innerText;", json!([]))
            .to_string(),
        http("GET", &format!("{origin}/state"), None, None).1,
    ] {
        for personal in ["SIM0", "ERIKSSON", "ANNA", "740812"] {
            assert!(!body.contains(personal), "{personal} shown: {body}");
        }
    }

    // Clear the call, take the gate out of service, put it back.
    let acted = |action: &str| {
        let script = "return document.body.dataset.lastAction === arguments[0];";
        browser.wait_until(
            action,
            script,
            json!([format!("{action}:ok")]),
            Duration::from_secs(10),
        );
    };
    browser.click("#clear");
    acted("clear_call");
    gated.wait_for("the cleared call", |s| s.state == "idle");
    browser.wait_until(
        "the take-out button",
        "return !document.getElementById('take-out').hidden;",
        json!([]),
        Duration::from_secs(10),
    );
    browser.click("#take-out");
    acted("out_of_service");
    gated.wait_for("maintenance", |s| {
        s.conditions.contains(&gate_core::Condition::Maintenance)
    });
    browser.screenshot(&dir.join("out-of-service.png"));
    browser.wait_until(
        "the put-back button",
        "return !document.getElementById('put-back').hidden;",
        json!([]),
        Duration::from_secs(10),
    );
    browser.click("#put-back");
    acted("back_in_service");
    gated.wait_for("back in service", |s| s.conditions.is_empty());
    // A form without the session's token is refused even with the session's cookie.
    let forged = browser.run_async(
        "const done = arguments[arguments.length - 1];
         fetch('/officer/action', { method: 'POST', credentials: 'same-origin',
           headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
           body: 'action=out_of_service&csrf=forged' }).then((r) => done(r.status));",
        json!([]),
    );
    assert_eq!(forged, json!(403));

    // Every action reached central, with who did it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let actions = loop {
        let page = support::curl(&[&format!("{}/v1/events?gate=SCREEN-OFFICER-01", central.url)]);
        let actions: Vec<Value> = page["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["kind"] == "officer.action")
            .collect();
        if actions.len() >= 3 || std::time::Instant::now() > deadline {
            break actions;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let done: Vec<(&str, &str, &str)> = actions
        .iter()
        .map(|e| {
            let p = &e["payload"];
            (
                p["action"].as_str().unwrap_or(""),
                p["by"].as_str().unwrap_or(""),
                p["via"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let by = format!("officer:{OFFICER}");
    assert_eq!(
        done,
        [
            ("clear_call", by.as_str(), "officer_view"),
            ("out_of_service", by.as_str(), "officer_view"),
            ("back_in_service", by.as_str(), "officer_view"),
        ]
    );
    assert_eq!(actions[0]["payload"]["reasons"], json!(["FACE_MISMATCH"]));
}

#[test]
fn the_language_follows_the_documents_nationality_unless_the_traveller_chose_one() {
    let port = free_port();
    let gate = InProcess::start(&screen_config(GateProfile::FaceGate, port, 1_000));
    let origin = format!("http://127.0.0.1:{port}");
    let state = || -> Value {
        serde_json::from_str(&http("GET", &format!("{origin}/state"), None, None).1).unwrap()
    };
    let until_language = |lang: &str| {
        for _ in 0..400 {
            let s = state();
            if s["lang"] == lang && s["prompt_id"] == "look-at-camera" {
                return s;
            }
            gate.advance(STEP);
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("never shown in {lang}: {}", state());
    };
    let slow_face = |nationality: &str| SimulatedTraveller {
        nationality: Some(nationality.into()),
        face_scores: vec![0.05],
        ..SimulatedTraveller::default()
    };
    until_page_state(&gate, &state, "place-document");
    assert_eq!(state()["lang"], "ja");
    // A Korean passport: Korean once the chip is read; a French one: English (not mapped).
    for (nationality, lang) in [
        ("KOR", "ko"),
        ("TWN", "zh-Hant"),
        ("FRA", "en"),
        ("JPN", "ja"),
    ] {
        gate.admit(slow_face(nationality));
        let shown = until_language(lang);
        assert!(shown["prompt"].as_str().unwrap().len() > 3, "{shown}");
        gate.ok(Request::OfficerReset);
        until_page_state(&gate, &state, "place-document");
        assert_eq!(
            state()["lang"],
            "ja",
            "the next traveller starts in the default"
        );
    }
    // A Chinese traveller who touched English on the idle screen keeps English.
    let (code, _) = http("POST", &format!("{origin}/language"), None, Some("lang=en"));
    assert_eq!(code, 204);
    assert_eq!(state()["lang"], "en");
    gate.admit(slow_face("CHN"));
    until_language("en");
    // A language the gate does not offer is refused.
    let (code, _) = http("POST", &format!("{origin}/language"), None, Some("lang=xx"));
    assert_eq!(code, 400);
}

/// Drives the gate's clock until the page's state shows `prompt`.
fn until_page_state(gate: &InProcess, state: &dyn Fn() -> Value, prompt: &str) {
    for _ in 0..1_200 {
        if state()["prompt_id"] == prompt {
            return;
        }
        gate.advance(STEP);
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("never {prompt}: {}", state());
}

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
use gate_protocol::{Request, Response, SimulatedTraveller};
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

/// A gate of `profile` on simulated devices that answer after a second of the gate's clock,
/// with its screen on `port`.
fn screen_config(profile: GateProfile, port: u16) -> GateConfig {
    let mut config = sim_profile_config(profile, 1_000);
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
) -> (usize, Vec<String>) {
    let port = free_port();
    let gate = InProcess::start(&screen_config(profile, port));
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
        // The traveller who chose it walks away: a new one finds the default language.
        gate.admit(SimulatedTraveller {
            cancel_after_steps: Some(1),
            ..SimulatedTraveller::default()
        });
        until_page_idle(&gate, &browser);
    }
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
    let mut shots = 0;
    let mut problems = Vec::new();
    for (profile, travellers) in [
        (GateProfile::FaceGate, face_gate_travellers()),
        (GateProfile::BioCart, biocart_travellers()),
        (GateProfile::FingerprintGate, fingerprint_gate_travellers()),
    ] {
        for size in [PORTRAIT, LANDSCAPE] {
            let (n, found) =
                every_prompt_in_every_language(profile, size, &travellers, &dir, &mut latencies);
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

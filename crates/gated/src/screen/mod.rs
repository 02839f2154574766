//! The traveller's screen and the officer's view.
//!
//! The main loop keeps a [`Guide`] beside the core: it watches the events the core is fed
//! for what a traveller can fix (a face too small, turned or blurred, a second face, a finger
//! pressed badly, a chip that did not answer) and for the document's nationality, and after
//! every batch of commands publishes a [`ScreenState`] on a `watch` channel. [`server`] serves
//! the traveller's page on loopback and pushes each state, rendered in the traveller's language
//! from Fluent catalogues ([`catalogue`]), as a server-sent event; [`officer`] is the officer's
//! view behind a credential.
//!
//! Nothing personal is ever in a state: a prompt and hints (catalogue ids), step and attempt
//! counts, seconds, and a language code. The nationality that chose the language stays in the
//! main loop for the moment it takes to look it up.

pub mod catalogue;
pub mod officer;
pub mod server;

use gate_core::{
    Condition, Event, FaceAttempt, FaceQualityCheck, FingerAttempt, GateProfile, Policy, Prompt,
    Step,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// What mode the gate is in, as the traveller sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Taking travellers.
    InService,
    /// Closed by a fault (a device down, the outbox full, lists stale, ...).
    OutOfService,
    /// Closed by an officer or technician.
    Maintenance,
    /// The fire alarm has released the doors.
    FireRelease,
}

/// How a traveller's transaction ended, as the screen shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Proceed through the gate.
    Pass,
    /// Wait for an officer.
    Officer,
    /// BioCart done: go to the inspection booth.
    Booth,
}

/// Guidance a traveller can act on, from what the gate measured on the last attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// The face is too small in the frame: step closer.
    TooSmall,
    /// The head is turned away.
    Turned,
    /// The head is tilted.
    Tilted,
    /// The chin is raised or lowered.
    Pitched,
    /// The face is blurred: hold still.
    Blurred,
    /// The face is too dark.
    TooDark,
    /// The face is too bright or clipped.
    TooBright,
    /// No face in front of the camera.
    NoFace,
    /// More than one face.
    MultipleFaces,
    /// The finger image was below the quality floor.
    FingerQuality,
    /// No finger arrived.
    NoFinger,
    /// The chip did not answer.
    ChipUnreadable,
}

impl Hint {
    /// Every hint, in the order they are shown.
    pub const ALL: &'static [Hint] = &[
        Hint::MultipleFaces,
        Hint::NoFace,
        Hint::TooSmall,
        Hint::Turned,
        Hint::Pitched,
        Hint::Tilted,
        Hint::Blurred,
        Hint::TooDark,
        Hint::TooBright,
        Hint::FingerQuality,
        Hint::NoFinger,
        Hint::ChipUnreadable,
    ];

    /// The catalogue id of the hint's message.
    pub const fn message_id(self) -> &'static str {
        match self {
            Hint::TooSmall => "hint-too-small",
            Hint::Turned => "hint-turned",
            Hint::Tilted => "hint-tilted",
            Hint::Pitched => "hint-pitched",
            Hint::Blurred => "hint-blurred",
            Hint::TooDark => "hint-too-dark",
            Hint::TooBright => "hint-too-bright",
            Hint::NoFace => "hint-no-face",
            Hint::MultipleFaces => "hint-multiple-faces",
            Hint::FingerQuality => "hint-finger-quality",
            Hint::NoFinger => "hint-no-finger",
            Hint::ChipUnreadable => "hint-chip-unreadable",
        }
    }

    fn from_face_check(check: FaceQualityCheck) -> Self {
        match check {
            FaceQualityCheck::TooSmall => Hint::TooSmall,
            FaceQualityCheck::Turned => Hint::Turned,
            FaceQualityCheck::Tilted => Hint::Tilted,
            FaceQualityCheck::Pitched => Hint::Pitched,
            FaceQualityCheck::Blurred => Hint::Blurred,
            FaceQualityCheck::TooDark => Hint::TooDark,
            FaceQualityCheck::TooBright | FaceQualityCheck::Clipped => Hint::TooBright,
        }
    }
}

/// A count out of a total (step 2 of 3, attempt 2 of 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    /// This one, from 1.
    pub n: u8,
    /// Out of.
    pub of: u8,
}

/// What the traveller's screen shows, before it is put into words: catalogue ids, counts and
/// seconds. Nothing personal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScreenState {
    /// Increases with every new state.
    pub seq: u64,
    /// When the main loop published it (Unix ms): the page measures how long it took to show.
    pub emitted_unix_ms: i64,
    /// The machine.
    pub profile: GateProfile,
    /// In service or why not.
    pub mode: Mode,
    /// The prompt's catalogue id.
    pub prompt: &'static str,
    /// What the traveller can fix, most important first.
    pub hints: Vec<Hint>,
    /// The traveller's step, counting only the steps the traveller takes part in.
    pub step: Option<Count>,
    /// The attempt at this step, from the second on.
    pub attempt: Option<Count>,
    /// How long until the gate takes the next traveller (a deny hold), in ms.
    pub countdown_ms: Option<u64>,
    /// How the transaction ended, while the screen says so.
    pub outcome: Option<Outcome>,
    /// Counts travellers: a language chosen by touch lasts until it changes.
    pub traveller: u64,
    /// The language the document's nationality asks for, once the chip is read.
    pub language_hint: Option<String>,
}

impl ScreenState {
    /// Whether the page would show the same as for `other`: everything but the numbering,
    /// the time of publication and the countdown's ticking (the page counts down itself).
    pub fn shows_the_same_as(&self, other: &ScreenState) -> bool {
        let content = |s: &ScreenState| ScreenState {
            seq: 0,
            emitted_unix_ms: 0,
            countdown_ms: s.countdown_ms.map(|_| 0),
            ..s.clone()
        };
        content(self) == content(other)
    }

    /// The state before the main loop has published one.
    pub fn starting(profile: GateProfile) -> Self {
        Self {
            seq: 0,
            emitted_unix_ms: 0,
            profile,
            mode: Mode::OutOfService,
            prompt: "out-of-service",
            hints: Vec::new(),
            step: None,
            attempt: None,
            countdown_ms: None,
            outcome: None,
            traveller: 0,
            language_hint: None,
        }
    }
}

/// What the core and the daemon know that the screen shows.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The machine.
    pub profile: GateProfile,
    /// The core's last prompt.
    pub prompt: Prompt,
    /// The conditions holding.
    pub conditions: &'a [Condition],
    /// The transaction's step, if one is running.
    pub step: Option<Step>,
    /// The attempt at that step (1-based).
    pub step_attempts: u8,
    /// The core's policy (attempt limits).
    pub policy: &'a Policy,
    /// Time left in a deny hold, ms.
    pub holding_remaining_ms: Option<u64>,
}

/// The steps a traveller takes part in (not the enrolment lookup, not the hand-over).
fn visible(step: Step) -> bool {
    !matches!(step, Step::LookupEnrolment | Step::HandOver)
}

/// The traveller's step number: the enrolment lookup counts as the document step, the
/// hand-over as the photo.
fn step_count(profile: GateProfile, step: Step) -> Option<Count> {
    let plan = profile.plan();
    let index = plan.iter().position(|s| *s == step)?;
    let n = plan[..=index].iter().filter(|s| visible(**s)).count();
    let of = plan.iter().filter(|s| visible(**s)).count();
    Some(Count {
        n: u8::try_from(n.max(1)).ok()?,
        of: u8::try_from(of).ok()?,
    })
}

fn max_attempts(policy: &Policy, step: Step) -> Option<u8> {
    match step {
        Step::ReadDocument => Some(policy.document.read_attempts),
        Step::MatchFace => Some(policy.face.max_attempts),
        Step::VerifyFinger | Step::CaptureFinger(_) => Some(policy.fingerprint.max_attempts),
        Step::CaptureFacePhoto => Some(policy.face_photo.max_attempts),
        _ => None,
    }
}

/// The screen for these facts and hints (`seq`, `emitted_unix_ms`, `traveller` and
/// `language_hint` are the publisher's).
pub fn derive(facts: &Facts<'_>, hints: &[Hint]) -> ScreenState {
    let mut state = ScreenState::starting(facts.profile);
    let (mode, prompt, outcome) = if facts.conditions.contains(&Condition::FireAlarm) {
        (Mode::FireRelease, "fire-release", None)
    } else {
        match facts.prompt {
            Prompt::OutOfService if facts.conditions.contains(&Condition::Maintenance) => {
                (Mode::Maintenance, "maintenance", None)
            }
            Prompt::OutOfService => (Mode::OutOfService, "out-of-service", None),
            Prompt::PlaceDocument => (Mode::InService, "place-document", None),
            Prompt::ReadingDocument => (Mode::InService, "reading-document", None),
            Prompt::ReplaceDocument => (Mode::InService, "replace-document", None),
            Prompt::LookAtCamera if facts.step == Some(Step::CaptureFacePhoto) => {
                (Mode::InService, "face-photo", None)
            }
            Prompt::LookAtCamera => (Mode::InService, "look-at-camera", None),
            Prompt::PlaceLeftIndex => (Mode::InService, "place-left-index", None),
            Prompt::PlaceRightIndex => (Mode::InService, "place-right-index", None),
            Prompt::TryAgain => (Mode::InService, "try-again", None),
            Prompt::Proceed => (Mode::InService, "proceed", Some(Outcome::Pass)),
            Prompt::SeeOfficer => (Mode::InService, "see-officer", Some(Outcome::Officer)),
            Prompt::ProceedToBooth => (Mode::InService, "proceed-to-booth", Some(Outcome::Booth)),
        }
    };
    state.mode = mode;
    state.prompt = prompt;
    state.outcome = outcome;
    // Hints are for a traveller who tries again: not on the idle screen, not with an outcome;
    // the chip's only while the passport is to be laid down again.
    if mode == Mode::InService
        && !matches!(facts.prompt, Prompt::PlaceDocument)
        && outcome.is_none()
    {
        let mut shown: Vec<Hint> = Hint::ALL
            .iter()
            .copied()
            .filter(|h| hints.contains(h))
            .filter(|h| *h != Hint::ChipUnreadable || facts.prompt == Prompt::ReplaceDocument)
            .collect();
        shown.truncate(2);
        state.hints = shown;
    }
    if let Some(step) = facts.step.filter(|_| mode == Mode::InService) {
        state.step = step_count(facts.profile, step);
        if facts.step_attempts > 1
            && let Some(of) = max_attempts(facts.policy, step)
        {
            state.attempt = Some(Count {
                n: facts.step_attempts.min(of),
                of,
            });
        }
    }
    state.countdown_ms = facts.holding_remaining_ms;
    state
}

/// What the main loop keeps for the screen between events: the hints from the last attempt,
/// the traveller count and the language the document asked for.
#[derive(Debug, Default)]
pub struct Guide {
    hints: Vec<Hint>,
    traveller: u64,
    language_hint: Option<String>,
    nationality_languages: BTreeMap<String, String>,
}

impl Guide {
    /// A guide that maps nationalities to languages with `nationality_languages` (others get
    /// English).
    pub fn new(nationality_languages: BTreeMap<String, String>) -> Self {
        Self {
            nationality_languages,
            ..Self::default()
        }
    }

    /// Learns from an event before the core handles it.
    pub fn observe(&mut self, event: &Event, policy: &Policy) {
        match event {
            Event::DocumentPresented { .. } => {
                self.hints.clear();
                self.traveller += 1;
                self.language_hint = None;
            }
            Event::ChipRead { result, .. } => match result {
                gate_core::ChipReadResult::Read { facts, .. } => {
                    self.hints.clear();
                    let language = self
                        .nationality_languages
                        .get(&facts.nationality)
                        .cloned()
                        .unwrap_or_else(|| "en".to_owned());
                    self.language_hint = Some(language);
                }
                gate_core::ChipReadResult::Failed { .. } => {
                    self.hints = vec![Hint::ChipUnreadable];
                }
            },
            Event::FaceCaptured { attempt, .. } => {
                self.hints = match attempt {
                    FaceAttempt::QualityTooLow { shortfalls, .. } => shortfalls
                        .iter()
                        .map(|s| Hint::from_face_check(s.check))
                        .collect(),
                    FaceAttempt::NoFace => vec![Hint::NoFace],
                    FaceAttempt::MultipleFaces => vec![Hint::MultipleFaces],
                    FaceAttempt::Compared { .. } | FaceAttempt::ReferenceUnusable => Vec::new(),
                };
            }
            Event::FingerCaptured { attempt, .. } => {
                let floor = policy.fingerprint.quality_floor;
                self.hints = match attempt {
                    FingerAttempt::Captured { quality }
                    | FingerAttempt::Verified { quality, .. }
                        if *quality < floor =>
                    {
                        vec![Hint::FingerQuality]
                    }
                    FingerAttempt::NoFinger => vec![Hint::NoFinger],
                    _ => Vec::new(),
                };
            }
            Event::FacePhotoCaptured { quality, .. } => {
                self.hints = match quality {
                    None => vec![Hint::NoFace],
                    Some(_) => Vec::new(),
                };
            }
            _ => {}
        }
    }

    /// The hints to show now.
    pub fn hints(&self) -> &[Hint] {
        &self.hints
    }

    /// The screen for `facts`, numbered `seq`, published at `now_unix_ms`.
    pub fn state(&mut self, facts: &Facts<'_>, seq: u64, now_unix_ms: i64) -> ScreenState {
        if facts.prompt == Prompt::PlaceDocument {
            // Back to idle: the next traveller starts clean.
            self.hints.clear();
            self.language_hint = None;
        }
        let mut state = derive(facts, &self.hints);
        state.seq = seq;
        state.emitted_unix_ms = now_unix_ms;
        state.traveller = self.traveller;
        state.language_hint = self.language_hint.clone();
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate_core::{FaceQualityShortfall, TransactionId};

    fn facts<'a>(
        prompt: Prompt,
        step: Option<Step>,
        attempts: u8,
        policy: &'a Policy,
    ) -> Facts<'a> {
        Facts {
            profile: GateProfile::FingerprintGate,
            prompt,
            conditions: &[],
            step,
            step_attempts: attempts,
            policy,
            holding_remaining_ms: None,
        }
    }

    #[test]
    fn steps_count_only_what_the_traveller_does() {
        let policy = gate_core::examples::example_policy();
        let lookup = derive(
            &facts(
                Prompt::ReadingDocument,
                Some(Step::LookupEnrolment),
                1,
                &policy,
            ),
            &[],
        );
        assert_eq!(lookup.step, Some(Count { n: 1, of: 3 }));
        let verify = derive(
            &facts(Prompt::TryAgain, Some(Step::VerifyFinger), 2, &policy),
            &[],
        );
        assert_eq!(verify.step, Some(Count { n: 2, of: 3 }));
        assert_eq!(
            verify.attempt,
            Some(Count {
                n: 2,
                of: policy.fingerprint.max_attempts
            })
        );
    }

    #[test]
    fn maintenance_and_fire_are_told_apart_from_faults() {
        let policy = gate_core::examples::example_policy();
        let mut f = facts(Prompt::OutOfService, None, 0, &policy);
        assert_eq!(derive(&f, &[]).mode, Mode::OutOfService);
        f.conditions = &[Condition::Maintenance];
        assert_eq!(derive(&f, &[]).prompt, "maintenance");
        f.conditions = &[Condition::Maintenance, Condition::FireAlarm];
        assert_eq!(derive(&f, &[]).prompt, "fire-release");
    }

    #[test]
    fn a_face_below_the_limits_becomes_hints_and_the_next_traveller_starts_clean() {
        let policy = gate_core::examples::example_policy();
        let mut guide = Guide::new(BTreeMap::from([("JPN".to_owned(), "ja".to_owned())]));
        let transaction_id = TransactionId(7);
        guide.observe(&Event::DocumentPresented { transaction_id }, &policy);
        let shortfall = |check| FaceQualityShortfall {
            check,
            measured: 1.0,
            limit: 2.0,
        };
        guide.observe(
            &Event::FaceCaptured {
                transaction_id,
                attempt: FaceAttempt::QualityTooLow {
                    quality: 10,
                    shortfalls: vec![
                        shortfall(FaceQualityCheck::Blurred),
                        shortfall(FaceQualityCheck::TooSmall),
                        shortfall(FaceQualityCheck::Clipped),
                    ],
                },
            },
            &policy,
        );
        let mut f = facts(Prompt::TryAgain, Some(Step::MatchFace), 2, &policy);
        f.profile = GateProfile::FaceGate;
        let state = guide.state(&f, 7, 1);
        // Most useful first, two at most.
        assert_eq!(state.hints, vec![Hint::TooSmall, Hint::Blurred]);
        assert_eq!(state.traveller, 1);
        // Not with an outcome: the traveller no longer tries.
        f.prompt = Prompt::SeeOfficer;
        assert!(guide.state(&f, 8, 2).hints.is_empty());
        f.prompt = Prompt::PlaceDocument;
        f.step = None;
        assert!(guide.state(&f, 9, 3).hints.is_empty());
    }
}

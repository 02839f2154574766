//! The turnstile (door) state machine: sans-IO, time as a value.
//!
//! [`Turnstile`] sits between the traveller transaction ([`crate::Gate`]) and the door's lines.
//! It is fed [`TurnstileInput`]s stamped with a monotonic time in milliseconds (authorisations
//! from the transaction machine, sensor changes, ticks, power-up, shutdown) and answers with
//! [`TurnstileCommand`]s: line changes ([`TurnstileCommand::SetOutput`], to apply in order) and
//! [`TurnstileEvent`]s (passage completed, unlock timed out, tailgating, forced entry...).
//!
//! # Safety rules (each one is a tested property)
//! - The lock release is driven active only while an authorisation is current (state
//!   [`TurnstileState::Unlocked`]) or while the fire alarm release holds
//!   ([`TurnstileState::FireRelease`] / [`TurnstileState::FireClearing`]). The one exception is
//!   an output configured **fail-safe** ([`SafeDefault::Active`]): it sits at its safe default
//!   before power-up, during the power-up step itself and after [`TurnstileInput::Shutdown`],
//!   i.e. whenever the controller is not in control of the door.
//! - One authorisation credits at most one passage. The first forward passage consumes it and
//!   re-engages the lock; a second forward passage before the door has closed again is
//!   [`TurnstileEvent::Tailgating`]. A transaction id is never authorised twice.
//! - [`TurnstileInput::PowerUp`] first drives **every** output to its configured safe default
//!   (fail-secure lock: engaged), then to the state the sensors call for. After a crash the
//!   daemon builds a fresh machine, so the lock is engaged before anything else happens.
//! - The fire alarm overrides everything: it releases the lock, withdraws any authorisation and
//!   silences the door alarms. When it clears, the lock is engaged again only once the door is
//!   closed and no one is in the passage.
//!
//! # States ([`TurnstileState`])
//! ```text
//!            PowerUp (fire off)                 Authorise T
//!   Off ──────────────────────► Locked ─────────────────────────► Unlocked(T)
//!    │                           ▲  ▲                               │  │  │
//!    │ PowerUp (fire on)         │  │ door closed + exit beam clear │  │  │ forward passage:
//!    │                           │  └───────── Relocking(T) ◄───────┘  │  │ PassageCompleted(T)
//!    │                           │     (queued authorisation starts)   │  │ unlock deadline:
//!    │                           │                                     │  │ UnlockTimedOut(T)
//!    ▼          fire on (from any state but Off/Stopped)               │  │ Lock / tamper:
//!   FireRelease ◄──────────────────────────────────────────────────────┘  │ Withdrawn(T)
//!    │  fire off                                                          │
//!    ▼                                                                    │
//!   FireClearing ── door closed + passage clear: RelockedAfterFire ──► Locked
//!   (fire on again: back to FireRelease)
//!
//!   Shutdown (from any state): Stopped — every output at its safe default (lock released
//!   while the fire alarm is on); nothing is authorised any more.
//! ```
//! - **Off**: created, not yet powered up; every input but `PowerUp` is ignored and
//!   authorisations are refused (`NotReady`).
//! - **Locked**: lock engaged, no authorisation. Door opening: [`TurnstileEvent::ForcedEntry`]
//!   (after the door debounce). A forward passage: [`TurnstileEvent::UnauthorisedPassage`].
//! - **Unlocked(T)**: lock released for transaction T until a forward passage is credited
//!   (→ Relocking, `PassageCompleted`), its deadline passes (→ Relocking, `UnlockTimedOut`) or
//!   it is withdrawn by [`TurnstileInput::Lock`] or tamper (→ Relocking, `Withdrawn`).
//! - **Relocking(T)**: lock engaged again, waiting for the door to close and the exit beam to
//!   clear (without a door sensor: for `passage_window_ms`). This is the tailgating window: a
//!   forward passage here is `Tailgating(T)` when T's passage was credited, otherwise
//!   `UnauthorisedPassage`. A new authorisation arriving here is **queued** (at most one) and
//!   released when Relocking ends, with the deadline it was given when it arrived.
//! - **FireRelease**: fire alarm on; lock released, green light on, alarms silenced.
//! - **FireClearing**: fire alarm off, lock still released until the door is closed and both
//!   beams are clear.
//! - **Stopped**: after shutdown; the controller no longer drives the door.
//!
//! # Second decision while one is pending
//! An authorisation arriving while another is current (Unlocked) is **refused** with
//! [`RefusalReason::Busy`]: the machine cannot tell whose passage the next beam interruption
//! is, so two live authorisations would let two people through on one decision. One arriving
//! during Relocking (the previous one already consumed, door not yet closed) is **queued**:
//! it is released as soon as the door is closed and the exit beam is clear, so a busy gate does
//! not turn the next traveller away while the door swings shut, and a tailgater of the previous
//! traveller is still caught as tailgating, never credited to the next one.
//!
//! # Passage detection
//! Two beams, entry side and exit side (the exit beam is mandatory). A *forward passage* is
//! credited when the exit beam is interrupted while the entry beam is interrupted, or within
//! `passage_window_ms` after it was; without an entry beam every exit interruption is forward.
//! A *reverse passage* is an entry-beam interruption following an exit-beam interruption that
//! was not a forward passage, within the same window. A beam re-interrupted within
//! `beam_debounce_ms` after clearing is chatter (the same interruption). Two people so close
//! that the exit beam never clears between them count as one: that is the limit of two beams.

use crate::event::{Lights, TransactionId};
use crate::policy::PolicyProblem;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// An output line of the door, as the machine commands it (logical: `true` = asserted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnstileOutput {
    /// Lock release (asserted = unlocked).
    LockRelease,
    /// Green "proceed" light.
    GreenLight,
    /// Red "stop" light.
    RedLight,
    /// Buzzer.
    Buzzer,
}

impl TurnstileOutput {
    /// Every output in the order commands are emitted (the lock first).
    pub const ALL: [TurnstileOutput; 4] = [
        TurnstileOutput::LockRelease,
        TurnstileOutput::GreenLight,
        TurnstileOutput::RedLight,
        TurnstileOutput::Buzzer,
    ];

    const fn index(self) -> usize {
        match self {
            TurnstileOutput::LockRelease => 0,
            TurnstileOutput::GreenLight => 1,
            TurnstileOutput::RedLight => 2,
            TurnstileOutput::Buzzer => 3,
        }
    }
}

/// A sensor input of the door (logical: `true` = asserted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensor {
    /// Door position switch (asserted = closed).
    DoorClosed,
    /// Entry-side passage beam (asserted = interrupted).
    EntryBeam,
    /// Exit-side passage beam (asserted = interrupted).
    ExitBeam,
    /// Fire-alarm release contact (asserted = the fire panel demands free exit).
    FireAlarm,
    /// Tamper switch (asserted = housing open).
    Tamper,
}

impl Sensor {
    /// Every sensor.
    pub const ALL: [Sensor; 5] = [
        Sensor::DoorClosed,
        Sensor::EntryBeam,
        Sensor::ExitBeam,
        Sensor::FireAlarm,
        Sensor::Tamper,
    ];
}

/// Where an output sits while the controller is not in control of the door (before power-up
/// completes, after shutdown): the electrical default the installation is designed around.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SafeDefault {
    /// Not asserted. For the lock release this is **fail-secure** (lock engaged).
    #[default]
    #[serde(alias = "fail-secure")]
    Inactive,
    /// Asserted. For the lock release this is **fail-safe** (door free).
    #[serde(alias = "fail-safe")]
    Active,
}

impl SafeDefault {
    /// The logical value of this default.
    pub const fn is_active(self) -> bool {
        matches!(self, SafeDefault::Active)
    }
}

/// The safe default of each output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSafeDefaults {
    /// Lock release: `inactive` = fail-secure (the default), `active` = fail-safe.
    pub lock_release: SafeDefault,
    /// Green light.
    pub green_light: SafeDefault,
    /// Red light (`active` shows "closed" while the controller is not running).
    pub red_light: SafeDefault,
    /// Buzzer.
    pub buzzer: SafeDefault,
}

impl OutputSafeDefaults {
    /// The safe default of one output.
    pub const fn of(&self, output: TurnstileOutput) -> SafeDefault {
        match output {
            TurnstileOutput::LockRelease => self.lock_release,
            TurnstileOutput::GreenLight => self.green_light,
            TurnstileOutput::RedLight => self.red_light,
            TurnstileOutput::Buzzer => self.buzzer,
        }
    }

    fn levels(&self) -> [bool; 4] {
        TurnstileOutput::ALL.map(|output| self.of(output).is_active())
    }
}

/// Which sensors are fitted. Changes of a sensor that is not fitted are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FittedSensors {
    /// Door position switch: without it there is no forced-entry or held-open detection.
    pub door_closed: bool,
    /// Entry beam: without it there is no reverse-passage detection.
    pub entry_beam: bool,
    /// Exit beam: mandatory, it credits passages.
    pub exit_beam: bool,
    /// Fire-alarm release contact.
    pub fire_alarm: bool,
    /// Tamper switch.
    pub tamper: bool,
}

impl Default for FittedSensors {
    fn default() -> Self {
        Self {
            door_closed: true,
            entry_beam: true,
            exit_beam: true,
            fire_alarm: true,
            tamper: true,
        }
    }
}

impl FittedSensors {
    /// Whether a sensor is fitted.
    pub const fn has(&self, sensor: Sensor) -> bool {
        match sensor {
            Sensor::DoorClosed => self.door_closed,
            Sensor::EntryBeam => self.entry_beam,
            Sensor::ExitBeam => self.exit_beam,
            Sensor::FireAlarm => self.fire_alarm,
            Sensor::Tamper => self.tamper,
        }
    }
}

/// The machine's time limits, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnstileTimings {
    /// Longest unlock window an authorisation may ask for (longer ones are cut to this).
    pub max_unlock_ms: u64,
    /// Door open longer than this raises [`TurnstileEvent::DoorHeldOpen`].
    pub held_open_ms: u64,
    /// A door opening while locked must last this long to be forced entry (contact bounce).
    pub door_debounce_ms: u64,
    /// A beam interrupted again within this time after clearing is the same interruption.
    pub beam_debounce_ms: u64,
    /// Longest time between one person's entry-beam and exit-beam interruptions; also the
    /// tailgating window after a passage when no door sensor is fitted.
    pub passage_window_ms: u64,
    /// How long the buzzer (and red light) sound for a forced entry, tailgating, reverse or
    /// unauthorised passage.
    pub alarm_buzzer_ms: u64,
}

impl Default for TurnstileTimings {
    fn default() -> Self {
        Self {
            max_unlock_ms: 30_000,
            held_open_ms: 15_000,
            door_debounce_ms: 50,
            beam_debounce_ms: 80,
            passage_window_ms: 4_000,
            alarm_buzzer_ms: 3_000,
        }
    }
}

/// Everything the turnstile machine is configured with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnstileConfig {
    /// Safe default (fail-secure / fail-safe) of each output.
    pub safe_defaults: OutputSafeDefaults,
    /// Which sensors are fitted.
    pub sensors: FittedSensors,
    /// Time limits.
    pub timings: TurnstileTimings,
}

impl TurnstileConfig {
    /// Every problem with the values (empty when the configuration is usable). Keys are dotted
    /// paths below the turnstile table.
    pub fn validate(&self) -> Vec<PolicyProblem> {
        let mut problems = Vec::new();
        if !self.sensors.exit_beam {
            problems.push(PolicyProblem {
                key: "sensors.exit_beam".into(),
                message: "an exit beam is needed to credit passages".into(),
            });
        }
        let t = &self.timings;
        for (key, value, min, max) in [
            ("timings.max_unlock_ms", t.max_unlock_ms, 1_000, 120_000),
            ("timings.held_open_ms", t.held_open_ms, 1_000, 600_000),
            ("timings.door_debounce_ms", t.door_debounce_ms, 0, 1_000),
            ("timings.beam_debounce_ms", t.beam_debounce_ms, 0, 1_000),
            (
                "timings.passage_window_ms",
                t.passage_window_ms,
                500,
                60_000,
            ),
            ("timings.alarm_buzzer_ms", t.alarm_buzzer_ms, 0, 60_000),
        ] {
            if !(min..=max).contains(&value) {
                problems.push(PolicyProblem {
                    key: key.into(),
                    message: format!("{value} is outside {min}..={max}"),
                });
            }
        }
        problems
    }
}

/// The sensor levels read at power-up (sensors that are not fitted are ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorSnapshot {
    /// Door closed.
    pub door_closed: bool,
    /// Entry beam interrupted.
    pub entry_beam: bool,
    /// Exit beam interrupted.
    pub exit_beam: bool,
    /// Fire alarm releasing.
    pub fire_alarm: bool,
    /// Tamper switch open.
    pub tamper: bool,
}

impl SensorSnapshot {
    /// The level of one sensor.
    pub const fn get(&self, sensor: Sensor) -> bool {
        match sensor {
            Sensor::DoorClosed => self.door_closed,
            Sensor::EntryBeam => self.entry_beam,
            Sensor::ExitBeam => self.exit_beam,
            Sensor::FireAlarm => self.fire_alarm,
            Sensor::Tamper => self.tamper,
        }
    }

    fn set(&mut self, sensor: Sensor, active: bool) {
        match sensor {
            Sensor::DoorClosed => self.door_closed = active,
            Sensor::EntryBeam => self.entry_beam = active,
            Sensor::ExitBeam => self.exit_beam = active,
            Sensor::FireAlarm => self.fire_alarm = active,
            Sensor::Tamper => self.tamper = active,
        }
    }
}

/// What goes into the turnstile machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum TurnstileInput {
    /// The controller (re)started: drive every output to its safe default, then take control.
    PowerUp {
        /// Sensor levels read before anything else.
        sensors: SensorSnapshot,
    },
    /// A positive decision: release the lock for one passage of `transaction_id`.
    Authorise {
        /// The transaction whose decision this is.
        transaction_id: TransactionId,
        /// How long the lock may stay released waiting for the passage, in milliseconds
        /// (cut to `max_unlock_ms`; 0 is refused).
        unlock_for_ms: u64,
    },
    /// Withdraw any current or queued authorisation (the transaction ended): lock engaged.
    Lock,
    /// What the transaction machine wants the lights to say ([`crate::Command::SetLights`]).
    /// Only `Red` has an effect: the green light follows the lock release.
    Indicate {
        /// The requested lights.
        lights: Lights,
    },
    /// A sensor changed (unchanged levels and unfitted sensors are ignored).
    Sensor {
        /// Which sensor.
        sensor: Sensor,
        /// Its new level.
        active: bool,
    },
    /// Time passed; deliver at [`Turnstile::next_deadline`].
    Tick,
    /// The controller is stopping: withdraw everything, outputs to their safe defaults.
    Shutdown,
}

/// Why an authorisation was not acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Before power-up or after shutdown.
    NotReady,
    /// Another authorisation is current (or one is already queued).
    Busy,
    /// The fire alarm release holds (the door is already free).
    FireAlarm,
    /// The tamper switch is open.
    Tamper,
    /// This transaction was already authorised once.
    AlreadyUsed,
    /// An unlock window of zero.
    ZeroWindow,
}

/// What the turnstile reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TurnstileEvent {
    /// The lock was released for this transaction.
    Unlocked {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// The authorisation waits for the previous passage's door to close.
    AuthorisationQueued {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// The authorisation was not acted on; the lock stays as it was.
    AuthorisationRefused {
        /// The transaction.
        transaction_id: TransactionId,
        /// Why.
        reason: RefusalReason,
    },
    /// The authorised passage happened; the lock is engaged again.
    PassageCompleted {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// No passage within the unlock window; the lock is engaged again (or the queued
    /// authorisation expired before the lock was ever released).
    UnlockTimedOut {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// The authorisation was withdrawn before a passage (lock request, tamper, fire alarm,
    /// shutdown); the lock is engaged again unless the fire alarm holds it released.
    Withdrawn {
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// A second forward passage on one authorisation.
    Tailgating {
        /// The authorisation whose door let the second person through.
        transaction_id: TransactionId,
    },
    /// A forward passage with no authorisation (door held or forced open, or after the unlock
    /// window ended).
    UnauthorisedPassage,
    /// The door opened while the lock was engaged.
    ForcedEntry,
    /// Someone came through from the exit side.
    ReversePassage {
        /// The authorisation current at the time, if any.
        transaction_id: Option<TransactionId>,
    },
    /// The door stayed open longer than `held_open_ms`.
    DoorHeldOpen,
    /// The fire alarm released the door (overriding everything).
    FireAlarmRelease,
    /// The fire alarm stopped; the lock stays released until the passage is clear.
    FireAlarmCleared,
    /// After a fire alarm, the door is closed and the passage clear: lock engaged.
    RelockedAfterFire,
    /// The tamper switch opened.
    TamperDetected,
    /// The tamper switch closed.
    TamperCleared,
}

impl TurnstileEvent {
    /// The transaction the event concerns, if any.
    pub const fn transaction_id(&self) -> Option<TransactionId> {
        match *self {
            TurnstileEvent::Unlocked { transaction_id }
            | TurnstileEvent::AuthorisationQueued { transaction_id }
            | TurnstileEvent::AuthorisationRefused { transaction_id, .. }
            | TurnstileEvent::PassageCompleted { transaction_id }
            | TurnstileEvent::UnlockTimedOut { transaction_id }
            | TurnstileEvent::Withdrawn { transaction_id }
            | TurnstileEvent::Tailgating { transaction_id } => Some(transaction_id),
            TurnstileEvent::ReversePassage { transaction_id } => transaction_id,
            _ => None,
        }
    }

    /// The door alarm this event raises, if it is one.
    pub const fn alarm(&self) -> Option<crate::event::DoorAlarm> {
        use crate::event::DoorAlarm;
        match self {
            TurnstileEvent::Tailgating { .. } => Some(DoorAlarm::Tailgating),
            TurnstileEvent::UnauthorisedPassage => Some(DoorAlarm::UnauthorisedPassage),
            TurnstileEvent::ForcedEntry => Some(DoorAlarm::ForcedEntry),
            TurnstileEvent::ReversePassage { .. } => Some(DoorAlarm::ReversePassage),
            TurnstileEvent::DoorHeldOpen => Some(DoorAlarm::DoorHeldOpen),
            _ => None,
        }
    }

    /// The event the transaction machine ([`crate::Gate`]) must be fed for this one, if any:
    /// passage → [`crate::Event::PassageConfirmed`]; alarms → [`crate::Event::DoorAlarm`];
    /// fire release / relock → `FireAlarm` condition raised / cleared; tamper → `DoorTamper`
    /// condition raised / cleared. Unlock timeouts need none (the gate times the passage
    /// step itself).
    pub fn gate_event(&self) -> Option<crate::event::Event> {
        use crate::event::{Condition, Event};
        if let Some(alarm) = self.alarm() {
            return Some(Event::DoorAlarm {
                transaction_id: self.transaction_id(),
                alarm,
            });
        }
        match self {
            TurnstileEvent::PassageCompleted { .. } => Some(Event::PassageConfirmed),
            TurnstileEvent::FireAlarmRelease => Some(Event::ConditionRaised {
                condition: Condition::FireAlarm,
            }),
            TurnstileEvent::RelockedAfterFire => Some(Event::ConditionCleared {
                condition: Condition::FireAlarm,
            }),
            TurnstileEvent::TamperDetected => Some(Event::ConditionRaised {
                condition: Condition::DoorTamper,
            }),
            TurnstileEvent::TamperCleared => Some(Event::ConditionCleared {
                condition: Condition::DoorTamper,
            }),
            _ => None,
        }
    }
}

/// What the turnstile machine asks for, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum TurnstileCommand {
    /// Drive an output line (logical level).
    SetOutput {
        /// Which output.
        output: TurnstileOutput,
        /// `true` = asserted.
        active: bool,
    },
    /// Report an event.
    Report {
        /// The event.
        event: TurnstileEvent,
    },
}

/// The state of the door, for status displays and tests (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TurnstileState {
    /// Not powered up yet.
    Off,
    /// Lock engaged, nothing authorised.
    Locked,
    /// Lock released for one passage of `transaction_id`.
    Unlocked {
        /// The authorised transaction.
        transaction_id: TransactionId,
        /// When the authorisation expires (monotonic ms).
        deadline_ms: u64,
    },
    /// Lock engaged again after `transaction_id`, waiting for the door to close.
    Relocking {
        /// The transaction whose authorisation just ended.
        transaction_id: TransactionId,
        /// Whether its passage was credited (a further passage is then tailgating).
        credited: bool,
    },
    /// Fire alarm on: lock released.
    FireRelease,
    /// Fire alarm off, lock released until the door is closed and the passage clear.
    FireClearing,
    /// Shut down.
    Stopped,
}

/// A status snapshot of the machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnstileStatus {
    /// The state.
    pub state: TurnstileState,
    /// An authorisation waiting for the door to close.
    pub queued: Option<TransactionId>,
    /// Sensor levels as last seen.
    pub sensors: SensorSnapshot,
    /// Output levels as last commanded (`None`: never commanded).
    pub outputs: Vec<(TurnstileOutput, Option<bool>)>,
    /// The held-open alarm is sounding.
    pub held_open_alarm: bool,
    /// An alarm buzzer (forced entry, tailgating...) is sounding.
    pub alarm_sounding: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Authorisation {
    transaction_id: TransactionId,
    deadline_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Off,
    Locked,
    Unlocked(Authorisation),
    Relocking {
        transaction_id: TransactionId,
        credited: bool,
        since_ms: u64,
    },
    FireRelease,
    FireClearing,
    Stopped,
}

/// What a beam interruption meant.
enum BeamMeaning {
    Nothing,
    Forward,
    Reverse,
}

/// How many consumed transaction ids are remembered to refuse a second authorisation.
const REMEMBERED_IDS: usize = 64;

/// The turnstile state machine. See the module documentation for states and rules.
#[derive(Clone, Debug)]
pub struct Turnstile {
    config: TurnstileConfig,
    mode: Mode,
    queued: Option<Authorisation>,
    sensors: SensorSnapshot,
    driven: [Option<bool>; 4],
    requested_red: bool,
    now_ms: u64,
    /// Forward passage armed by an entry interruption at this time.
    forward_armed_ms: Option<u64>,
    /// Reverse passage armed by a non-forward exit interruption at this time.
    reverse_armed_ms: Option<u64>,
    entry_cleared_ms: Option<u64>,
    exit_cleared_ms: Option<u64>,
    forced_check_ms: Option<u64>,
    held_open_due_ms: Option<u64>,
    held_open_alarm: bool,
    alarm_until_ms: u64,
    used_ids: VecDeque<TransactionId>,
}

impl Turnstile {
    /// A machine in state Off: it commands nothing until [`TurnstileInput::PowerUp`].
    pub fn new(config: TurnstileConfig) -> Self {
        Self {
            config,
            mode: Mode::Off,
            queued: None,
            sensors: SensorSnapshot::default(),
            driven: [None; 4],
            requested_red: false,
            now_ms: 0,
            forward_armed_ms: None,
            reverse_armed_ms: None,
            entry_cleared_ms: None,
            exit_cleared_ms: None,
            forced_check_ms: None,
            held_open_due_ms: None,
            held_open_alarm: false,
            alarm_until_ms: 0,
            used_ids: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TurnstileConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> TurnstileState {
        match self.mode {
            Mode::Off => TurnstileState::Off,
            Mode::Locked => TurnstileState::Locked,
            Mode::Unlocked(auth) => TurnstileState::Unlocked {
                transaction_id: auth.transaction_id,
                deadline_ms: auth.deadline_ms,
            },
            Mode::Relocking {
                transaction_id,
                credited,
                ..
            } => TurnstileState::Relocking {
                transaction_id,
                credited,
            },
            Mode::FireRelease => TurnstileState::FireRelease,
            Mode::FireClearing => TurnstileState::FireClearing,
            Mode::Stopped => TurnstileState::Stopped,
        }
    }

    /// A status snapshot.
    pub fn status(&self) -> TurnstileStatus {
        TurnstileStatus {
            state: self.state(),
            queued: self.queued.map(|auth| auth.transaction_id),
            sensors: self.sensors,
            outputs: TurnstileOutput::ALL
                .into_iter()
                .map(|output| (output, self.driven[output.index()]))
                .collect(),
            held_open_alarm: self.held_open_alarm,
            alarm_sounding: self.now_ms < self.alarm_until_ms,
        }
    }

    /// The level last commanded for an output (`None` before power-up).
    pub fn output(&self, output: TurnstileOutput) -> Option<bool> {
        self.driven[output.index()]
    }

    /// The monotonic time at which [`TurnstileInput::Tick`] must be delivered, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        let mut due: Option<u64> = None;
        let mut consider = |at: Option<u64>| {
            if let Some(at) = at {
                due = Some(due.map_or(at, |d| d.min(at)));
            }
        };
        match self.mode {
            Mode::Unlocked(auth) => consider(Some(auth.deadline_ms)),
            // Without a door sensor Relocking ends by time, once the exit beam is clear (while
            // it is interrupted, its clearing edge ends Relocking).
            Mode::Relocking { since_ms, .. }
                if !self.config.sensors.door_closed && !self.sensors.exit_beam =>
            {
                consider(Some(
                    since_ms.saturating_add(self.config.timings.passage_window_ms),
                ));
            }
            _ => {}
        }
        consider(self.queued.map(|auth| auth.deadline_ms));
        consider(self.forced_check_ms);
        if !self.held_open_alarm {
            consider(self.held_open_due_ms);
        }
        if self.alarm_until_ms > self.now_ms {
            consider(Some(self.alarm_until_ms));
        }
        due
    }

    /// Feeds one input at monotonic time `now_ms`; returns the commands to execute, in order.
    /// A time earlier than one already seen is taken as that time.
    pub fn handle(&mut self, now_ms: u64, input: TurnstileInput) -> Vec<TurnstileCommand> {
        let mut out = Vec::new();
        if matches!(self.mode, Mode::Off) {
            match input {
                TurnstileInput::PowerUp { sensors } => self.power_up(now_ms, sensors, &mut out),
                TurnstileInput::Authorise { transaction_id, .. } => {
                    report(
                        &mut out,
                        TurnstileEvent::AuthorisationRefused {
                            transaction_id,
                            reason: RefusalReason::NotReady,
                        },
                    );
                }
                _ => {}
            }
            return out;
        }
        self.now_ms = self.now_ms.max(now_ms);
        self.run_timers(&mut out);
        match input {
            // A second power-up of a running machine changes nothing: a restart is a new
            // machine (the daemon builds one).
            TurnstileInput::PowerUp { .. } | TurnstileInput::Tick => {}
            TurnstileInput::Authorise {
                transaction_id,
                unlock_for_ms,
            } => self.authorise(transaction_id, unlock_for_ms, &mut out),
            TurnstileInput::Lock => {
                if !matches!(self.mode, Mode::Stopped) {
                    self.withdraw_all(&mut out);
                }
            }
            TurnstileInput::Indicate { lights } => self.requested_red = lights == Lights::Red,
            TurnstileInput::Sensor { sensor, active } => self.sensor(sensor, active, &mut out),
            TurnstileInput::Shutdown => {
                if !matches!(self.mode, Mode::Stopped) {
                    self.withdraw_all(&mut out);
                    self.mode = Mode::Stopped;
                    self.forced_check_ms = None;
                    self.held_open_due_ms = None;
                    self.held_open_alarm = false;
                    self.alarm_until_ms = 0;
                }
            }
        }
        self.settle(&mut out);
        self.drive(&mut out);
        out
    }

    fn power_up(&mut self, now_ms: u64, snapshot: SensorSnapshot, out: &mut Vec<TurnstileCommand>) {
        self.now_ms = now_ms;
        // Safe defaults first, every output, whatever was there before (crash, power loss).
        let safe = self.config.safe_defaults.levels();
        for output in TurnstileOutput::ALL {
            let active = safe[output.index()];
            out.push(TurnstileCommand::SetOutput { output, active });
            self.driven[output.index()] = Some(active);
        }
        for sensor in Sensor::ALL {
            if self.config.sensors.has(sensor) {
                self.sensors.set(sensor, snapshot.get(sensor));
            }
        }
        if !self.config.sensors.door_closed {
            self.sensors.door_closed = true;
        }
        if self.sensors.entry_beam {
            // Someone already in the entry beam walks on forward.
            self.forward_armed_ms = Some(now_ms);
        }
        if self.sensors.fire_alarm {
            self.mode = Mode::FireRelease;
            report(out, TurnstileEvent::FireAlarmRelease);
        } else {
            self.mode = Mode::Locked;
            if !self.sensors.door_closed {
                self.held_open_due_ms =
                    Some(now_ms.saturating_add(self.config.timings.held_open_ms));
            }
        }
        if self.sensors.tamper {
            report(out, TurnstileEvent::TamperDetected);
        }
        self.drive(out);
    }

    fn fire_holds(&self) -> bool {
        matches!(self.mode, Mode::FireRelease | Mode::FireClearing)
    }

    fn lock_engaged(&self) -> bool {
        matches!(self.mode, Mode::Locked | Mode::Relocking { .. })
    }

    fn remember(&mut self, id: TransactionId) {
        if self.used_ids.len() == REMEMBERED_IDS {
            self.used_ids.pop_front();
        }
        self.used_ids.push_back(id);
    }

    fn authorise(
        &mut self,
        id: TransactionId,
        unlock_for_ms: u64,
        out: &mut Vec<TurnstileCommand>,
    ) {
        let refuse = |out: &mut Vec<TurnstileCommand>, reason| {
            report(
                out,
                TurnstileEvent::AuthorisationRefused {
                    transaction_id: id,
                    reason,
                },
            )
        };
        // A repeat of the current or queued authorisation is not a second decision.
        let current = match self.mode {
            Mode::Unlocked(auth) => Some(auth.transaction_id),
            _ => None,
        };
        if current == Some(id) || self.queued.map(|auth| auth.transaction_id) == Some(id) {
            return;
        }
        if matches!(self.mode, Mode::Stopped) {
            return refuse(out, RefusalReason::NotReady);
        }
        if unlock_for_ms == 0 {
            return refuse(out, RefusalReason::ZeroWindow);
        }
        if self.used_ids.contains(&id) {
            return refuse(out, RefusalReason::AlreadyUsed);
        }
        if self.fire_holds() {
            return refuse(out, RefusalReason::FireAlarm);
        }
        if self.sensors.tamper {
            return refuse(out, RefusalReason::Tamper);
        }
        let window = unlock_for_ms.min(self.config.timings.max_unlock_ms);
        let auth = Authorisation {
            transaction_id: id,
            deadline_ms: self.now_ms.saturating_add(window),
        };
        match self.mode {
            Mode::Locked => {
                self.remember(id);
                self.unlock(auth, out);
            }
            Mode::Relocking { .. } if self.queued.is_none() => {
                self.remember(id);
                self.queued = Some(auth);
                report(
                    out,
                    TurnstileEvent::AuthorisationQueued { transaction_id: id },
                );
            }
            _ => refuse(out, RefusalReason::Busy),
        }
    }

    fn unlock(&mut self, auth: Authorisation, out: &mut Vec<TurnstileCommand>) {
        self.mode = Mode::Unlocked(auth);
        report(
            out,
            TurnstileEvent::Unlocked {
                transaction_id: auth.transaction_id,
            },
        );
    }

    fn relock(&mut self, transaction_id: TransactionId, credited: bool) {
        self.mode = Mode::Relocking {
            transaction_id,
            credited,
            since_ms: self.now_ms,
        };
    }

    /// Withdraws the current and queued authorisations (reporting each).
    fn withdraw_all(&mut self, out: &mut Vec<TurnstileCommand>) {
        if let Mode::Unlocked(auth) = self.mode {
            self.relock(auth.transaction_id, false);
            report(
                out,
                TurnstileEvent::Withdrawn {
                    transaction_id: auth.transaction_id,
                },
            );
        }
        if let Some(auth) = self.queued.take() {
            report(
                out,
                TurnstileEvent::Withdrawn {
                    transaction_id: auth.transaction_id,
                },
            );
        }
    }

    fn run_timers(&mut self, out: &mut Vec<TurnstileCommand>) {
        let now = self.now_ms;
        if let Mode::Unlocked(auth) = self.mode
            && now >= auth.deadline_ms
        {
            self.relock(auth.transaction_id, false);
            report(
                out,
                TurnstileEvent::UnlockTimedOut {
                    transaction_id: auth.transaction_id,
                },
            );
        }
        if let Some(auth) = self.queued
            && now >= auth.deadline_ms
        {
            self.queued = None;
            report(
                out,
                TurnstileEvent::UnlockTimedOut {
                    transaction_id: auth.transaction_id,
                },
            );
        }
        if let Some(at) = self.forced_check_ms
            && now >= at
        {
            self.forced_check_ms = None;
            // The door opened while locked and stayed open past the debounce: forced, even if
            // an authorisation arrived in between.
            if !self.sensors.door_closed && !self.fire_holds() {
                self.raise_alarm(TurnstileEvent::ForcedEntry, out);
            }
        }
        if let Some(at) = self.held_open_due_ms
            && now >= at
            && !self.held_open_alarm
            && !self.sensors.door_closed
        {
            self.held_open_alarm = true;
            report(out, TurnstileEvent::DoorHeldOpen);
        }
        self.settle(out);
    }

    /// Ends Relocking / FireClearing once their conditions hold; starts a queued authorisation.
    fn settle(&mut self, out: &mut Vec<TurnstileCommand>) {
        match self.mode {
            Mode::Relocking { since_ms, .. } => {
                let door_done = if self.config.sensors.door_closed {
                    self.sensors.door_closed
                } else {
                    self.now_ms >= since_ms.saturating_add(self.config.timings.passage_window_ms)
                };
                if door_done && !self.sensors.exit_beam {
                    self.mode = Mode::Locked;
                    if let Some(auth) = self.queued.take() {
                        self.unlock(auth, out);
                    }
                }
            }
            Mode::FireClearing
                if self.sensors.door_closed
                    && !self.sensors.entry_beam
                    && !self.sensors.exit_beam =>
            {
                self.mode = Mode::Locked;
                report(out, TurnstileEvent::RelockedAfterFire);
            }
            _ => {}
        }
    }

    fn raise_alarm(&mut self, event: TurnstileEvent, out: &mut Vec<TurnstileCommand>) {
        self.alarm_until_ms = self.alarm_until_ms.max(
            self.now_ms
                .saturating_add(self.config.timings.alarm_buzzer_ms),
        );
        report(out, event);
    }

    fn sensor(&mut self, sensor: Sensor, active: bool, out: &mut Vec<TurnstileCommand>) {
        if !self.config.sensors.has(sensor) || self.sensors.get(sensor) == active {
            return;
        }
        self.sensors.set(sensor, active);
        if matches!(self.mode, Mode::Stopped) {
            // Only the fire alarm still matters (see `desired`).
            return;
        }
        let now = self.now_ms;
        let timings = self.config.timings;
        match (sensor, active) {
            (Sensor::FireAlarm, true) => {
                self.withdraw_all(out);
                self.mode = Mode::FireRelease;
                self.forced_check_ms = None;
                self.held_open_due_ms = None;
                self.held_open_alarm = false;
                self.alarm_until_ms = 0;
                report(out, TurnstileEvent::FireAlarmRelease);
            }
            (Sensor::FireAlarm, false) => {
                if self.mode == Mode::FireRelease {
                    self.mode = Mode::FireClearing;
                    report(out, TurnstileEvent::FireAlarmCleared);
                    if !self.sensors.door_closed {
                        self.held_open_due_ms = Some(now.saturating_add(timings.held_open_ms));
                    }
                }
            }
            (Sensor::Tamper, true) => {
                self.withdraw_all(out);
                report(out, TurnstileEvent::TamperDetected);
            }
            (Sensor::Tamper, false) => report(out, TurnstileEvent::TamperCleared),
            (Sensor::DoorClosed, false) => {
                if self.mode == Mode::FireRelease {
                    return;
                }
                self.held_open_due_ms = Some(now.saturating_add(timings.held_open_ms));
                if self.lock_engaged() {
                    if timings.door_debounce_ms == 0 {
                        self.raise_alarm(TurnstileEvent::ForcedEntry, out);
                    } else {
                        self.forced_check_ms = Some(now.saturating_add(timings.door_debounce_ms));
                    }
                }
            }
            (Sensor::DoorClosed, true) => {
                self.forced_check_ms = None;
                self.held_open_due_ms = None;
                self.held_open_alarm = false;
            }
            (Sensor::EntryBeam, true) => {
                let chatter = self
                    .entry_cleared_ms
                    .is_some_and(|at| now.saturating_sub(at) < timings.beam_debounce_ms);
                if !chatter {
                    let meaning = self.entry_interrupted();
                    self.on_beam(meaning, out);
                }
            }
            (Sensor::EntryBeam, false) => self.entry_cleared_ms = Some(now),
            (Sensor::ExitBeam, true) => {
                let chatter = self
                    .exit_cleared_ms
                    .is_some_and(|at| now.saturating_sub(at) < timings.beam_debounce_ms);
                if !chatter {
                    let meaning = self.exit_interrupted();
                    self.on_beam(meaning, out);
                }
            }
            (Sensor::ExitBeam, false) => self.exit_cleared_ms = Some(now),
        }
    }

    fn within_window(&self, at: Option<u64>) -> bool {
        at.is_some_and(|at| self.now_ms.saturating_sub(at) <= self.config.timings.passage_window_ms)
    }

    fn entry_interrupted(&mut self) -> BeamMeaning {
        if self.within_window(self.reverse_armed_ms) {
            self.reverse_armed_ms = None;
            self.forward_armed_ms = None;
            BeamMeaning::Reverse
        } else {
            self.reverse_armed_ms = None;
            self.forward_armed_ms = Some(self.now_ms);
            BeamMeaning::Nothing
        }
    }

    fn exit_interrupted(&mut self) -> BeamMeaning {
        let forward = !self.config.sensors.entry_beam
            || self.sensors.entry_beam
            || self.within_window(self.forward_armed_ms);
        if forward {
            self.forward_armed_ms = None;
            self.reverse_armed_ms = None;
            BeamMeaning::Forward
        } else {
            self.reverse_armed_ms = Some(self.now_ms);
            BeamMeaning::Nothing
        }
    }

    fn on_beam(&mut self, meaning: BeamMeaning, out: &mut Vec<TurnstileCommand>) {
        if self.fire_holds() {
            return; // free passage: nothing is an alarm
        }
        match meaning {
            BeamMeaning::Nothing => {}
            BeamMeaning::Reverse => {
                let transaction_id = match self.mode {
                    Mode::Unlocked(auth) => Some(auth.transaction_id),
                    _ => None,
                };
                self.raise_alarm(TurnstileEvent::ReversePassage { transaction_id }, out);
            }
            BeamMeaning::Forward => match self.mode {
                Mode::Unlocked(auth) => {
                    self.relock(auth.transaction_id, true);
                    report(
                        out,
                        TurnstileEvent::PassageCompleted {
                            transaction_id: auth.transaction_id,
                        },
                    );
                }
                Mode::Relocking {
                    transaction_id,
                    credited: true,
                    ..
                } => self.raise_alarm(TurnstileEvent::Tailgating { transaction_id }, out),
                _ => self.raise_alarm(TurnstileEvent::UnauthorisedPassage, out),
            },
        }
    }

    /// The output levels the current state calls for.
    fn desired(&self) -> [bool; 4] {
        let mut levels = self.config.safe_defaults.levels();
        match self.mode {
            Mode::Off => {}
            Mode::Stopped => {
                if self.sensors.fire_alarm {
                    levels[TurnstileOutput::LockRelease.index()] = true;
                }
            }
            _ => {
                let released = matches!(
                    self.mode,
                    Mode::Unlocked(_) | Mode::FireRelease | Mode::FireClearing
                );
                let alarm = self.now_ms < self.alarm_until_ms
                    || self.held_open_alarm
                    || self.sensors.tamper;
                levels = [
                    released,
                    released,
                    !released && (self.requested_red || alarm),
                    alarm,
                ];
            }
        }
        levels
    }

    /// Emits a command for every output whose desired level differs from the last one driven.
    fn drive(&mut self, out: &mut Vec<TurnstileCommand>) {
        let desired = self.desired();
        for output in TurnstileOutput::ALL {
            let active = desired[output.index()];
            if self.driven[output.index()] != Some(active) {
                self.driven[output.index()] = Some(active);
                out.push(TurnstileCommand::SetOutput { output, active });
            }
        }
    }
}

fn report(out: &mut Vec<TurnstileCommand>, event: TurnstileEvent) {
    out.push(TurnstileCommand::Report { event });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_bad_values_are_named() {
        assert!(TurnstileConfig::default().validate().is_empty());
        let mut config = TurnstileConfig::default();
        config.sensors.exit_beam = false;
        config.timings.held_open_ms = 10;
        let keys: Vec<String> = config.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["sensors.exit_beam", "timings.held_open_ms"]);
    }

    #[test]
    fn nothing_is_commanded_before_power_up() {
        let mut turnstile = Turnstile::new(TurnstileConfig::default());
        let out = turnstile.handle(
            0,
            TurnstileInput::Sensor {
                sensor: Sensor::FireAlarm,
                active: true,
            },
        );
        assert!(out.is_empty());
        assert_eq!(turnstile.next_deadline(), None);
        assert_eq!(turnstile.state(), TurnstileState::Off);
    }

    #[test]
    fn safe_default_accepts_fail_safe_and_fail_secure_spellings() {
        #[derive(Deserialize)]
        struct Wrapper {
            value: SafeDefault,
        }
        let parse = |text: &str| {
            serde_json::from_str::<Wrapper>(&format!("{{\"value\":\"{text}\"}}"))
                .map(|w| w.value)
                .ok()
        };
        assert_eq!(parse("fail-safe"), Some(SafeDefault::Active));
        assert_eq!(parse("fail-secure"), Some(SafeDefault::Inactive));
        assert_eq!(parse("active"), Some(SafeDefault::Active));
        assert_eq!(parse("open"), None);
    }
}

//! Turnstile scenarios (time as input), one per case of issue 6, the turnstile wired to the
//! transaction machine as the daemon wires them, and property tests over random input
//! sequences.

mod support;

use gate_core::turnstile::{
    FittedSensors, RefusalReason, SafeDefault, Sensor, SensorSnapshot, TurnstileOutput,
};
use gate_core::{
    Command, DoorAlarm, Event, ReasonCode, TransactionId, Turnstile, TurnstileCommand,
    TurnstileConfig, TurnstileEvent, TurnstileInput, TurnstileState,
};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

const T1: TransactionId = TransactionId(1);
const T2: TransactionId = TransactionId(2);
const LOCK: TurnstileOutput = TurnstileOutput::LockRelease;

fn closed_and_clear() -> SensorSnapshot {
    SensorSnapshot {
        door_closed: true,
        ..SensorSnapshot::default()
    }
}

struct Rig {
    turnstile: Turnstile,
    now: u64,
}

impl Rig {
    fn new(config: TurnstileConfig) -> (Self, Vec<TurnstileCommand>) {
        Self::powered(config, closed_and_clear())
    }

    fn powered(config: TurnstileConfig, sensors: SensorSnapshot) -> (Self, Vec<TurnstileCommand>) {
        let mut turnstile = Turnstile::new(config);
        let out = turnstile.handle(1_000, TurnstileInput::PowerUp { sensors });
        (
            Self {
                turnstile,
                now: 1_000,
            },
            out,
        )
    }

    fn default() -> Self {
        Self::new(TurnstileConfig::default()).0
    }

    fn send(&mut self, input: TurnstileInput) -> Vec<TurnstileCommand> {
        self.turnstile.handle(self.now, input)
    }

    /// Advances the clock and delivers a tick.
    fn wait(&mut self, ms: u64) -> Vec<TurnstileCommand> {
        self.now += ms;
        self.send(TurnstileInput::Tick)
    }

    fn sense(&mut self, sensor: Sensor, active: bool) -> Vec<TurnstileCommand> {
        self.send(TurnstileInput::Sensor { sensor, active })
    }

    /// Advances the clock by `ms` and then changes a sensor.
    fn sense_after(&mut self, ms: u64, sensor: Sensor, active: bool) -> Vec<TurnstileCommand> {
        self.now += ms;
        self.sense(sensor, active)
    }

    fn authorise(&mut self, transaction_id: TransactionId, ms: u64) -> Vec<TurnstileCommand> {
        self.send(TurnstileInput::Authorise {
            transaction_id,
            unlock_for_ms: ms,
        })
    }

    fn released(&self) -> bool {
        self.turnstile.output(LOCK) == Some(true)
    }

    fn output(&self, output: TurnstileOutput) -> bool {
        self.turnstile.output(output) == Some(true)
    }

    /// One person walking through from the entry side, door opening and closing; returns all
    /// events on the way.
    fn walk_through(&mut self) -> Vec<TurnstileEvent> {
        let mut out = Vec::new();
        out.extend(self.sense_after(200, Sensor::EntryBeam, true));
        out.extend(self.sense_after(100, Sensor::DoorClosed, false));
        out.extend(self.sense_after(400, Sensor::EntryBeam, false));
        out.extend(self.sense_after(300, Sensor::ExitBeam, true));
        out.extend(self.sense_after(400, Sensor::ExitBeam, false));
        out.extend(self.sense_after(800, Sensor::DoorClosed, true));
        events(&out)
    }
}

fn events(out: &[TurnstileCommand]) -> Vec<TurnstileEvent> {
    out.iter()
        .filter_map(|command| match command {
            TurnstileCommand::Report { event } => Some(*event),
            TurnstileCommand::SetOutput { .. } => None,
        })
        .collect()
}

fn sets(out: &[TurnstileCommand]) -> Vec<(TurnstileOutput, bool)> {
    out.iter()
        .filter_map(|command| match command {
            TurnstileCommand::SetOutput { output, active } => Some((*output, *active)),
            TurnstileCommand::Report { .. } => None,
        })
        .collect()
}

#[test]
fn authorised_passage_is_credited_once_and_relocks() {
    let mut rig = Rig::default();
    assert!(!rig.released());
    let out = rig.authorise(T1, 8_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::Unlocked { transaction_id: T1 }]
    );
    assert_eq!(
        sets(&out),
        [(LOCK, true), (TurnstileOutput::GreenLight, true)]
    );
    let walked = rig.walk_through();
    assert_eq!(
        walked,
        [TurnstileEvent::PassageCompleted { transaction_id: T1 }]
    );
    assert!(
        !rig.released(),
        "lock engaged as soon as the passage counts"
    );
    assert!(!rig.output(TurnstileOutput::GreenLight));
    assert_eq!(rig.turnstile.state(), TurnstileState::Locked);
    // The gate is told about the passage through its own event.
    assert_eq!(walked[0].gate_event(), Some(Event::PassageConfirmed));
    // No timeout fires later for a credited authorisation.
    assert!(events(&rig.wait(20_000)).is_empty());
}

#[test]
fn unlock_timeout_relocks_and_a_late_passage_is_unauthorised() {
    let mut rig = Rig::default();
    rig.authorise(T1, 5_000);
    assert_eq!(rig.turnstile.next_deadline(), Some(rig.now + 5_000));
    assert!(events(&rig.wait(4_999)).is_empty());
    assert!(rig.released());
    let out = rig.wait(1);
    assert_eq!(
        events(&out),
        [TurnstileEvent::UnlockTimedOut { transaction_id: T1 }]
    );
    assert_eq!(sets(&out)[0], (LOCK, false));
    assert!(!rig.released());
    // The door was never opened: relocking ends at once.
    assert_eq!(rig.turnstile.state(), TurnstileState::Locked);
    // Someone slips through afterwards (door forced): both alarms.
    let walked = rig.walk_through();
    assert!(walked.contains(&TurnstileEvent::ForcedEntry), "{walked:?}");
    assert!(
        walked.contains(&TurnstileEvent::UnauthorisedPassage),
        "{walked:?}"
    );
    assert!(
        !walked
            .iter()
            .any(|e| matches!(e, TurnstileEvent::PassageCompleted { .. }))
    );
}

#[test]
fn unlock_window_is_cut_to_the_configured_maximum_and_zero_is_refused() {
    let mut rig = Rig::default();
    let out = rig.authorise(T1, 0);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T1,
            reason: RefusalReason::ZeroWindow
        }]
    );
    rig.authorise(T2, 10_000_000);
    assert_eq!(rig.turnstile.next_deadline(), Some(rig.now + 30_000));
}

#[test]
fn tailgating_second_passage_on_one_unlock_is_reported_for_that_transaction() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let mut out = Vec::new();
    // Two people close together: the door stays open, each breaks both beams in turn.
    out.extend(rig.sense_after(100, Sensor::EntryBeam, true));
    out.extend(rig.sense_after(100, Sensor::DoorClosed, false));
    out.extend(rig.sense_after(300, Sensor::ExitBeam, true)); // first person credited
    out.extend(rig.sense_after(200, Sensor::ExitBeam, false));
    out.extend(rig.sense_after(100, Sensor::EntryBeam, false));
    out.extend(rig.sense_after(100, Sensor::EntryBeam, true)); // second person
    out.extend(rig.sense_after(300, Sensor::EntryBeam, false));
    out.extend(rig.sense_after(300, Sensor::ExitBeam, true));
    let seen = events(&out);
    assert_eq!(
        seen,
        [
            TurnstileEvent::PassageCompleted { transaction_id: T1 },
            TurnstileEvent::Tailgating { transaction_id: T1 },
        ]
    );
    assert!(!rig.released());
    assert!(rig.output(TurnstileOutput::Buzzer));
    assert!(rig.output(TurnstileOutput::RedLight));
    // The alarm reaches the gate, which calls an officer naming the transaction.
    let gate_event = seen[1].gate_event().unwrap();
    assert_eq!(
        gate_event,
        Event::DoorAlarm {
            transaction_id: Some(T1),
            alarm: DoorAlarm::Tailgating
        }
    );
    let mut gate = gate_core::Gate::new(
        gate_core::GateProfile::FaceGate,
        gate_core::examples::example_policy(),
    );
    let commands = gate.handle(gate_core::Now::new(0, 0), gate_event);
    assert_eq!(
        commands,
        [Command::CallOfficer {
            transaction_id: Some(T1),
            reasons: vec![ReasonCode::Tailgating]
        }]
    );
    // The buzzer stops after alarm_buzzer_ms.
    rig.sense_after(200, Sensor::ExitBeam, false);
    rig.sense_after(100, Sensor::DoorClosed, true);
    rig.wait(3_000);
    assert!(!rig.output(TurnstileOutput::Buzzer));
    assert!(!rig.output(TurnstileOutput::RedLight));
}

#[test]
fn forced_entry_when_the_door_opens_while_locked() {
    let mut rig = Rig::default();
    let out = rig.sense(Sensor::DoorClosed, false);
    assert!(events(&out).is_empty(), "debounce first");
    let out = rig.wait(50);
    assert_eq!(events(&out), [TurnstileEvent::ForcedEntry]);
    assert!(!rig.released(), "forcing the door never releases the lock");
    assert!(rig.output(TurnstileOutput::Buzzer));
    assert_eq!(
        TurnstileEvent::ForcedEntry.gate_event(),
        Some(Event::DoorAlarm {
            transaction_id: None,
            alarm: DoorAlarm::ForcedEntry
        })
    );
    // An authorisation arriving inside the debounce does not excuse the opening.
    let mut rig = Rig::default();
    rig.sense(Sensor::DoorClosed, false);
    rig.now += 10;
    rig.authorise(T1, 5_000);
    assert_eq!(events(&rig.wait(40)), [TurnstileEvent::ForcedEntry]);
}

#[test]
fn door_opening_during_an_authorisation_is_not_forced() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    rig.sense_after(100, Sensor::DoorClosed, false);
    assert!(events(&rig.wait(1_000)).is_empty());
}

#[test]
fn reverse_passage_from_the_exit_side_is_reported() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let mut out = Vec::new();
    out.extend(rig.sense_after(100, Sensor::DoorClosed, false));
    out.extend(rig.sense_after(100, Sensor::ExitBeam, true));
    out.extend(rig.sense_after(300, Sensor::ExitBeam, false));
    out.extend(rig.sense_after(300, Sensor::EntryBeam, true));
    assert_eq!(
        events(&out),
        [TurnstileEvent::ReversePassage {
            transaction_id: Some(T1)
        }]
    );
    assert!(
        rig.released(),
        "the authorised traveller can still pass (the alarm calls an officer)"
    );
    assert_eq!(
        TurnstileEvent::ReversePassage {
            transaction_id: None
        }
        .gate_event()
        .unwrap(),
        Event::DoorAlarm {
            transaction_id: None,
            alarm: DoorAlarm::ReversePassage
        }
    );
    // While locked, too.
    let mut rig = Rig::default();
    rig.sense_after(100, Sensor::ExitBeam, true);
    rig.sense_after(200, Sensor::ExitBeam, false);
    let out = rig.sense_after(200, Sensor::EntryBeam, true);
    assert_eq!(
        events(&out),
        [TurnstileEvent::ReversePassage {
            transaction_id: None
        }]
    );
}

#[test]
fn fire_alarm_while_locked_releases_and_relocks_when_cleared() {
    let mut rig = Rig::default();
    let out = rig.sense(Sensor::FireAlarm, true);
    assert_eq!(events(&out), [TurnstileEvent::FireAlarmRelease]);
    assert_eq!(sets(&out)[0], (LOCK, true));
    assert!(rig.released());
    assert!(rig.output(TurnstileOutput::GreenLight));
    assert_eq!(rig.turnstile.state(), TurnstileState::FireRelease);
    // People flee in both directions: no alarms, no credits.
    let walked = rig.walk_through();
    assert!(walked.is_empty(), "{walked:?}");
    rig.sense_after(100, Sensor::ExitBeam, true);
    rig.sense_after(100, Sensor::ExitBeam, false);
    let out = rig.sense_after(100, Sensor::EntryBeam, true);
    assert!(events(&out).is_empty());
    rig.sense_after(100, Sensor::EntryBeam, false);
    // Door held open for minutes during the fire: no held-open alarm.
    rig.sense_after(100, Sensor::DoorClosed, false);
    assert!(events(&rig.wait(120_000)).is_empty());
    rig.sense_after(100, Sensor::DoorClosed, true);
    // Authorisations are refused while the fire alarm holds the door.
    let out = rig.authorise(T1, 5_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T1,
            reason: RefusalReason::FireAlarm
        }]
    );
    // Clear with the door closed and passage empty: relocked at once.
    let out = rig.sense(Sensor::FireAlarm, false);
    assert_eq!(
        events(&out),
        [
            TurnstileEvent::FireAlarmCleared,
            TurnstileEvent::RelockedAfterFire
        ]
    );
    assert!(!rig.released());
    assert_eq!(
        TurnstileEvent::FireAlarmRelease.gate_event(),
        Some(Event::ConditionRaised {
            condition: gate_core::Condition::FireAlarm
        })
    );
    assert_eq!(
        TurnstileEvent::RelockedAfterFire.gate_event(),
        Some(Event::ConditionCleared {
            condition: gate_core::Condition::FireAlarm
        })
    );
}

#[test]
fn fire_alarm_while_unlocked_withdraws_the_authorisation() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let out = rig.sense_after(100, Sensor::FireAlarm, true);
    assert_eq!(
        events(&out),
        [
            TurnstileEvent::Withdrawn { transaction_id: T1 },
            TurnstileEvent::FireAlarmRelease
        ]
    );
    assert!(rig.released());
    // The traveller walks out during the fire: not credited to T1.
    assert!(rig.walk_through().is_empty());
    // No unlock timeout for a withdrawn authorisation.
    let out = rig.wait(10_000);
    assert!(events(&out).is_empty());
    assert!(rig.released(), "still released: the fire alarm holds");
    // T1 cannot be re-authorised after the fire either.
    rig.sense(Sensor::FireAlarm, false);
    let out = rig.authorise(T1, 8_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T1,
            reason: RefusalReason::AlreadyUsed
        }]
    );
}

#[test]
fn fire_alarm_during_a_passage_and_clear_waits_for_door_closed_and_passage_empty() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    rig.sense_after(100, Sensor::EntryBeam, true);
    rig.sense_after(100, Sensor::DoorClosed, false);
    rig.sense_after(100, Sensor::FireAlarm, true);
    rig.sense_after(100, Sensor::EntryBeam, false);
    rig.sense_after(100, Sensor::ExitBeam, true);
    // Alarm clears with someone still in the exit beam and the door open.
    let out = rig.sense_after(100, Sensor::FireAlarm, false);
    assert_eq!(events(&out), [TurnstileEvent::FireAlarmCleared]);
    assert!(rig.released(), "not relocked on someone in the passage");
    assert_eq!(rig.turnstile.state(), TurnstileState::FireClearing);
    let out = rig.sense_after(300, Sensor::ExitBeam, false);
    assert!(events(&out).is_empty());
    assert!(rig.released(), "door still open");
    let out = rig.sense_after(500, Sensor::DoorClosed, true);
    assert_eq!(events(&out), [TurnstileEvent::RelockedAfterFire]);
    assert!(!rig.released());
    // Fire again while clearing: back to release.
    let mut rig = Rig::default();
    rig.sense(Sensor::DoorClosed, false);
    rig.sense(Sensor::FireAlarm, true);
    rig.sense(Sensor::FireAlarm, false);
    let out = rig.sense(Sensor::FireAlarm, true);
    assert_eq!(events(&out), [TurnstileEvent::FireAlarmRelease]);
    assert!(rig.released());
}

#[test]
fn fire_alarm_at_power_up_and_after_shutdown_releases_the_lock() {
    let (rig, out) = Rig::powered(
        TurnstileConfig::default(),
        SensorSnapshot {
            door_closed: true,
            fire_alarm: true,
            ..SensorSnapshot::default()
        },
    );
    assert_eq!(sets(&out)[0], (LOCK, false), "safe default first");
    assert!(events(&out).contains(&TurnstileEvent::FireAlarmRelease));
    assert!(rig.released());
    let mut rig = Rig::default();
    rig.send(TurnstileInput::Shutdown);
    assert!(!rig.released());
    rig.sense(Sensor::FireAlarm, true);
    assert!(rig.released(), "fire overrides even a stopped controller");
    rig.sense(Sensor::FireAlarm, false);
    assert!(!rig.released());
}

#[test]
fn power_up_drives_every_output_to_its_safe_default_then_to_locked() {
    let (rig, out) = Rig::new(TurnstileConfig::default());
    assert_eq!(
        sets(&out),
        [
            (LOCK, false),
            (TurnstileOutput::GreenLight, false),
            (TurnstileOutput::RedLight, false),
            (TurnstileOutput::Buzzer, false),
        ]
    );
    assert!(events(&out).is_empty());
    assert_eq!(rig.turnstile.state(), TurnstileState::Locked);
    assert_eq!(rig.turnstile.next_deadline(), None);
    // Before power-up nothing is authorised.
    let mut cold = Turnstile::new(TurnstileConfig::default());
    let out = cold.handle(
        0,
        TurnstileInput::Authorise {
            transaction_id: T1,
            unlock_for_ms: 5_000,
        },
    );
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T1,
            reason: RefusalReason::NotReady
        }]
    );
    assert_eq!(cold.output(LOCK), None);
}

#[test]
fn restart_after_a_crash_mid_unlock_locks_before_anything_else() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    rig.sense_after(100, Sensor::DoorClosed, false);
    rig.sense_after(100, Sensor::EntryBeam, true);
    assert!(rig.released());
    // The daemon crashes here; the lines may still be released. The new process builds a new
    // machine and powers it up with what the sensors say now.
    drop(rig);
    let (mut rig, out) = Rig::powered(
        TurnstileConfig::default(),
        SensorSnapshot {
            door_closed: false,
            entry_beam: true,
            ..SensorSnapshot::default()
        },
    );
    assert_eq!(
        out[0],
        TurnstileCommand::SetOutput {
            output: LOCK,
            active: false
        },
        "lock engaged first"
    );
    assert!(!rig.released());
    assert!(!sets(&out).contains(&(LOCK, true)));
    // The old authorisation is gone: the person completing the passage is unauthorised, not
    // credited to anyone (the door was open at power-up, so that is not forced entry).
    rig.sense_after(100, Sensor::EntryBeam, false);
    let out = rig.sense_after(300, Sensor::ExitBeam, true);
    assert_eq!(events(&out), [TurnstileEvent::UnauthorisedPassage]);
    // The door left open since power-up raises the held-open alarm in time.
    rig.sense_after(100, Sensor::ExitBeam, false);
    let out = rig.wait(15_000);
    assert_eq!(events(&out), [TurnstileEvent::DoorHeldOpen]);
}

#[test]
fn fail_safe_and_fail_secure_outputs_follow_their_configuration() {
    let mut config = TurnstileConfig::default();
    config.safe_defaults.lock_release = SafeDefault::Active; // fail-safe lock (maglock)
    config.safe_defaults.red_light = SafeDefault::Active; // "closed" while not controlled
    let (mut rig, out) = Rig::new(config);
    // Safe defaults first (released, red on), then the controller takes the lock.
    assert_eq!(
        sets(&out),
        [
            (LOCK, true),
            (TurnstileOutput::GreenLight, false),
            (TurnstileOutput::RedLight, true),
            (TurnstileOutput::Buzzer, false),
            (LOCK, false),
            (TurnstileOutput::RedLight, false),
        ]
    );
    assert!(!rig.released(), "in control: locked without authorisation");
    // Shutdown hands the door back to its safe defaults: fail-safe releases.
    let out = rig.send(TurnstileInput::Shutdown);
    assert_eq!(
        sets(&out),
        [(LOCK, true), (TurnstileOutput::RedLight, true)]
    );
    assert_eq!(rig.turnstile.state(), TurnstileState::Stopped);
    // Fail-secure (the default) stays engaged at shutdown, even mid-unlock.
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let out = rig.send(TurnstileInput::Shutdown);
    assert_eq!(
        events(&out),
        [TurnstileEvent::Withdrawn { transaction_id: T1 }]
    );
    assert_eq!(sets(&out)[0], (LOCK, false));
    assert!(!rig.released());
    let out = rig.authorise(T2, 8_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T2,
            reason: RefusalReason::NotReady
        }]
    );
}

#[test]
fn held_open_door_raises_an_alarm_until_it_closes() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    rig.sense_after(100, Sensor::DoorClosed, false);
    rig.sense_after(200, Sensor::EntryBeam, true);
    rig.sense_after(300, Sensor::EntryBeam, false);
    rig.sense_after(300, Sensor::ExitBeam, true);
    rig.sense_after(300, Sensor::ExitBeam, false);
    // 15 s after the door opened (1.1 s ago).
    let out = rig.wait(15_000 - 1_100 - 1);
    assert!(events(&out).is_empty());
    let out = rig.wait(1);
    assert_eq!(events(&out), [TurnstileEvent::DoorHeldOpen]);
    assert!(rig.output(TurnstileOutput::Buzzer));
    assert_eq!(
        TurnstileEvent::DoorHeldOpen.gate_event(),
        Some(Event::DoorAlarm {
            transaction_id: None,
            alarm: DoorAlarm::DoorHeldOpen
        })
    );
    // Reported once, sounding until the door closes.
    assert!(events(&rig.wait(60_000)).is_empty());
    assert!(rig.output(TurnstileOutput::Buzzer));
    rig.sense_after(10, Sensor::DoorClosed, true);
    assert!(!rig.output(TurnstileOutput::Buzzer));
    assert_eq!(rig.turnstile.state(), TurnstileState::Locked);
}

#[test]
fn sensor_chatter_is_debounced() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let mut out = Vec::new();
    out.extend(rig.sense_after(100, Sensor::DoorClosed, false));
    out.extend(rig.sense_after(100, Sensor::EntryBeam, true));
    // Repeated levels are not edges.
    out.extend(rig.sense(Sensor::EntryBeam, true));
    out.extend(rig.sense_after(300, Sensor::ExitBeam, true));
    // The exit beam chatters (clothing, reflections) within the beam debounce.
    for _ in 0..5 {
        out.extend(rig.sense_after(10, Sensor::ExitBeam, false));
        out.extend(rig.sense_after(10, Sensor::ExitBeam, true));
    }
    out.extend(rig.sense_after(10, Sensor::EntryBeam, false));
    out.extend(rig.sense_after(5, Sensor::EntryBeam, true));
    out.extend(rig.sense_after(5, Sensor::EntryBeam, false));
    out.extend(rig.sense_after(300, Sensor::ExitBeam, false));
    assert_eq!(
        events(&out),
        [TurnstileEvent::PassageCompleted { transaction_id: T1 }]
    );
    // The door bounces as it shuts: no forced entry.
    rig.sense_after(500, Sensor::DoorClosed, true);
    rig.sense_after(10, Sensor::DoorClosed, false);
    let out = rig.sense_after(10, Sensor::DoorClosed, true);
    assert!(events(&out).is_empty());
    assert!(events(&rig.wait(1_000)).is_empty());
    // Unfitted sensors are ignored.
    let config = TurnstileConfig {
        sensors: FittedSensors {
            door_closed: false,
            ..FittedSensors::default()
        },
        ..TurnstileConfig::default()
    };
    let (mut rig, _) = Rig::new(config);
    assert!(events(&rig.sense(Sensor::DoorClosed, false)).is_empty());
    assert!(events(&rig.wait(60_000)).is_empty());
}

#[test]
fn second_decision_while_one_is_pending_is_refused() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let out = rig.authorise(T2, 8_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T2,
            reason: RefusalReason::Busy
        }]
    );
    // A repeat of the current decision is not a second one.
    assert!(rig.authorise(T1, 8_000).is_empty());
    // T1 still passes once; T2 was never current.
    let walked = rig.walk_through();
    assert_eq!(
        walked,
        [TurnstileEvent::PassageCompleted { transaction_id: T1 }]
    );
}

#[test]
fn decision_during_relocking_is_queued_until_the_door_closes() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    rig.sense_after(100, Sensor::DoorClosed, false);
    rig.sense_after(100, Sensor::EntryBeam, true);
    rig.sense_after(300, Sensor::EntryBeam, false);
    rig.sense_after(300, Sensor::ExitBeam, true);
    // T1 credited; door still open. The next traveller's decision arrives.
    let out = rig.authorise(T2, 6_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationQueued { transaction_id: T2 }]
    );
    assert!(!rig.released());
    rig.sense_after(300, Sensor::ExitBeam, false);
    assert!(!rig.released(), "door still open");
    let out = rig.sense_after(1_000, Sensor::DoorClosed, true);
    assert_eq!(
        events(&out),
        [TurnstileEvent::Unlocked { transaction_id: T2 }]
    );
    assert!(rig.released());
    // T2 keeps the deadline it was given when it arrived.
    assert_eq!(
        rig.turnstile.state(),
        TurnstileState::Unlocked {
            transaction_id: T2,
            deadline_ms: rig.now - 1_300 + 6_000
        }
    );
    assert_eq!(
        rig.walk_through(),
        [TurnstileEvent::PassageCompleted { transaction_id: T2 }]
    );
    // A queued decision whose window ends before the door closes times out unreleased, and
    // a lock request withdraws a queued one.
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    rig.sense_after(100, Sensor::DoorClosed, false);
    rig.sense_after(100, Sensor::EntryBeam, true);
    rig.sense_after(100, Sensor::ExitBeam, true);
    rig.authorise(T2, 2_000);
    let out = rig.wait(2_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::UnlockTimedOut { transaction_id: T2 }]
    );
    rig.authorise(TransactionId(3), 8_000);
    let out = rig.send(TurnstileInput::Lock);
    assert_eq!(
        events(&out),
        [TurnstileEvent::Withdrawn {
            transaction_id: TransactionId(3)
        }]
    );
    assert!(!rig.released());
}

#[test]
fn lock_request_withdraws_and_a_used_transaction_is_never_reauthorised() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let out = rig.send(TurnstileInput::Lock);
    assert_eq!(
        events(&out),
        [TurnstileEvent::Withdrawn { transaction_id: T1 }]
    );
    assert_eq!(sets(&out)[0], (LOCK, false));
    let out = rig.authorise(T1, 8_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T1,
            reason: RefusalReason::AlreadyUsed
        }]
    );
    assert!(!rig.released());
}

#[test]
fn tamper_withdraws_the_authorisation_and_refuses_new_ones_until_cleared() {
    let mut rig = Rig::default();
    rig.authorise(T1, 8_000);
    let out = rig.sense_after(100, Sensor::Tamper, true);
    assert_eq!(
        events(&out),
        [
            TurnstileEvent::Withdrawn { transaction_id: T1 },
            TurnstileEvent::TamperDetected
        ]
    );
    assert!(!rig.released());
    assert!(rig.output(TurnstileOutput::RedLight));
    assert!(rig.output(TurnstileOutput::Buzzer));
    let out = rig.authorise(T2, 8_000);
    assert_eq!(
        events(&out),
        [TurnstileEvent::AuthorisationRefused {
            transaction_id: T2,
            reason: RefusalReason::Tamper
        }]
    );
    let out = rig.sense(Sensor::Tamper, false);
    assert_eq!(events(&out), [TurnstileEvent::TamperCleared]);
    assert!(!rig.output(TurnstileOutput::Buzzer));
    assert_eq!(
        events(&rig.authorise(T2, 8_000)),
        [TurnstileEvent::Unlocked { transaction_id: T2 }]
    );
    assert_eq!(
        TurnstileEvent::TamperDetected.gate_event(),
        Some(Event::ConditionRaised {
            condition: gate_core::Condition::DoorTamper
        })
    );
}

#[test]
fn red_light_follows_the_gate_request_and_green_follows_the_lock() {
    let mut rig = Rig::default();
    rig.send(TurnstileInput::Indicate {
        lights: gate_core::Lights::Green,
    });
    assert!(
        !rig.output(TurnstileOutput::GreenLight),
        "no green without a released lock"
    );
    rig.send(TurnstileInput::Indicate {
        lights: gate_core::Lights::Red,
    });
    assert!(rig.output(TurnstileOutput::RedLight));
    rig.send(TurnstileInput::Indicate {
        lights: gate_core::Lights::Off,
    });
    assert!(!rig.output(TurnstileOutput::RedLight));
}

#[test]
fn without_a_door_sensor_the_tailgating_window_is_the_passage_window() {
    let mut config = TurnstileConfig::default();
    config.sensors.door_closed = false;
    let (mut rig, _) = Rig::new(config);
    rig.authorise(T1, 8_000);
    rig.sense_after(100, Sensor::EntryBeam, true);
    rig.sense_after(300, Sensor::ExitBeam, true);
    rig.sense_after(300, Sensor::EntryBeam, false);
    rig.sense_after(100, Sensor::ExitBeam, false);
    rig.sense_after(400, Sensor::EntryBeam, true);
    let out = rig.sense_after(300, Sensor::ExitBeam, true);
    assert_eq!(
        events(&out),
        [TurnstileEvent::Tailgating { transaction_id: T1 }]
    );
    rig.sense_after(300, Sensor::ExitBeam, false);
    rig.sense_after(100, Sensor::EntryBeam, false);
    rig.wait(4_000);
    assert_eq!(rig.turnstile.state(), TurnstileState::Locked);
}

// ---------------------------------------------------------------------------------------------
// The turnstile wired to the transaction machine, as the daemon does it

/// Routes gate commands to the turnstile (UnlockDoor -> Authorise, LockDoor -> Lock,
/// SetLights -> Indicate) and turnstile events back to the gate (`gate_event`).
struct Coupled {
    gate: support::Harness,
    door: Rig,
    officer_calls: Vec<(Option<TransactionId>, Vec<ReasonCode>)>,
}

impl Coupled {
    fn new() -> Self {
        let gate = support::Harness::new(gate_core::GateProfile::FaceGate);
        let start = gate.log.clone();
        let mut coupled = Self {
            gate,
            door: Rig::default(),
            officer_calls: Vec::new(),
        };
        coupled.route(start);
        coupled
    }

    fn tick(&mut self, ms: u64) {
        self.gate.now = self.gate.now.after_ms(ms);
        self.door.now += ms;
        let out = self.gate.send(Event::Tick);
        self.route(out);
        let out = self.door.send(TurnstileInput::Tick);
        self.door_out(out);
    }

    fn gate_event(&mut self, event: Event) {
        let out = self.gate.send(event);
        self.route(out);
    }

    fn sense(&mut self, ms: u64, sensor: Sensor, active: bool) {
        self.gate.now = self.gate.now.after_ms(ms);
        let out = self.door.sense_after(ms, sensor, active);
        self.door_out(out);
    }

    fn route(&mut self, commands: Vec<Command>) {
        for command in commands {
            let input = match command {
                Command::UnlockDoor {
                    transaction_id,
                    for_ms,
                } => TurnstileInput::Authorise {
                    transaction_id,
                    unlock_for_ms: for_ms,
                },
                Command::LockDoor => TurnstileInput::Lock,
                Command::SetLights { lights } => TurnstileInput::Indicate { lights },
                Command::CallOfficer {
                    transaction_id,
                    reasons,
                } => {
                    self.officer_calls.push((transaction_id, reasons));
                    continue;
                }
                _ => continue,
            };
            let out = self.door.send(input);
            self.door_out(out);
        }
    }

    fn door_out(&mut self, out: Vec<TurnstileCommand>) {
        for event in events(&out) {
            if let Some(gate_event) = event.gate_event() {
                self.gate_event(gate_event);
            }
        }
    }

    fn traveller_matches(&mut self, id: u128) {
        let out = self.gate.present(id);
        self.route(out);
        let out = self.gate.chip_ok(id);
        self.route(out);
        self.gate_event(Event::FaceCaptured {
            transaction_id: TransactionId(id),
            attempt: gate_core::FaceAttempt::Compared {
                score: 0.9,
                attack_score: 0.0,
                quality: 90,
            },
        });
    }

    fn outcomes(&self) -> Vec<(TransactionId, gate_core::Outcome)> {
        self.gate
            .records()
            .iter()
            .map(|record| (record.transaction_id, record.outcome))
            .collect()
    }
}

#[test]
fn gate_and_turnstile_pass_two_travellers_in_a_row() {
    let mut c = Coupled::new();
    assert!(!c.door.released());
    c.traveller_matches(1);
    assert!(c.door.released(), "the gate's decision released the lock");
    assert!(c.door.output(TurnstileOutput::GreenLight));
    c.sense(200, Sensor::EntryBeam, true);
    c.sense(100, Sensor::DoorClosed, false);
    c.sense(300, Sensor::EntryBeam, false);
    c.sense(300, Sensor::ExitBeam, true);
    assert_eq!(c.outcomes(), [(T1, gate_core::Outcome::Passed)]);
    assert!(!c.door.released());
    // The next traveller is quick: their decision arrives while the door still closes.
    c.traveller_matches(2);
    assert_eq!(c.door.turnstile.status().queued, Some(T2));
    assert!(!c.door.released());
    c.sense(300, Sensor::ExitBeam, false);
    c.sense(600, Sensor::DoorClosed, true);
    assert!(c.door.released(), "released once the door closed");
    c.sense(200, Sensor::EntryBeam, true);
    c.sense(100, Sensor::DoorClosed, false);
    c.sense(300, Sensor::EntryBeam, false);
    c.sense(300, Sensor::ExitBeam, true);
    assert_eq!(
        c.outcomes(),
        [
            (T1, gate_core::Outcome::Passed),
            (T2, gate_core::Outcome::Passed)
        ]
    );
    assert!(c.officer_calls.is_empty(), "{:?}", c.officer_calls);
}

#[test]
fn gate_calls_an_officer_for_tailgating_and_a_timed_out_passage_relocks() {
    let mut c = Coupled::new();
    c.traveller_matches(1);
    c.sense(200, Sensor::EntryBeam, true);
    c.sense(100, Sensor::DoorClosed, false);
    c.sense(300, Sensor::ExitBeam, true);
    c.sense(300, Sensor::ExitBeam, false);
    c.sense(100, Sensor::EntryBeam, false);
    c.sense(100, Sensor::EntryBeam, true);
    c.sense(300, Sensor::ExitBeam, true);
    assert_eq!(c.officer_calls, [(Some(T1), vec![ReasonCode::Tailgating])]);
    c.sense(300, Sensor::ExitBeam, false);
    c.sense(100, Sensor::EntryBeam, false);
    c.sense(500, Sensor::DoorClosed, true);
    // A traveller who never walks: the gate and the door time out together; locked.
    c.traveller_matches(2);
    assert!(c.door.released());
    c.tick(10_000);
    assert!(!c.door.released());
    assert_eq!(
        c.outcomes().last(),
        Some(&(T2, gate_core::Outcome::TimedOut))
    );
    assert_eq!(c.door.turnstile.state(), TurnstileState::Locked);
}

// ---------------------------------------------------------------------------------------------
// Properties

#[derive(Clone, Debug)]
enum Stimulus {
    Wait(u64),
    Authorise {
        id: u8,
        ms: u64,
    },
    Lock,
    Sensor(Sensor, bool),
    /// A person walking through (forward or reverse), 100 ms between edges, optionally
    /// opening the door first and leaving it open.
    Walk {
        forward: bool,
        open_door: bool,
    },
    Shutdown,
}

fn stimulus() -> impl Strategy<Value = Stimulus> {
    let sensor = prop_oneof![
        4 => Just(Sensor::DoorClosed),
        5 => Just(Sensor::EntryBeam),
        5 => Just(Sensor::ExitBeam),
        1 => Just(Sensor::FireAlarm),
        1 => Just(Sensor::Tamper),
    ];
    prop_oneof![
        6 => (0u64..3_000).prop_map(Stimulus::Wait),
        3 => (0u8..6, 0u64..12_000).prop_map(|(id, ms)| Stimulus::Authorise { id, ms }),
        1 => Just(Stimulus::Lock),
        12 => (sensor, any::<bool>()).prop_map(|(s, a)| Stimulus::Sensor(s, a)),
        3 => (prop::bool::weighted(0.8), any::<bool>())
            .prop_map(|(forward, open_door)| Stimulus::Walk { forward, open_door }),
        1 => Just(Stimulus::Shutdown),
    ]
}

fn snapshot() -> impl Strategy<Value = SensorSnapshot> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(door_closed, entry_beam, exit_beam, fire_alarm, tamper)| SensorSnapshot {
                door_closed,
                entry_beam,
                exit_beam,
                fire_alarm,
                tamper,
            },
        )
}

/// What an outside observer knows from the inputs it gave and the events it got.
#[derive(Default)]
struct Observer {
    /// Authorisations asked for (by the inputs).
    asked: HashSet<TransactionId>,
    /// The authorisation the machine says is current (Unlocked .. its end).
    current: Option<TransactionId>,
    /// The fire release the machine reported and has not yet relocked from.
    fire_release: bool,
    /// The fire alarm input level.
    fire_input: bool,
    unlocked: HashMap<TransactionId, u32>,
    credited: HashMap<TransactionId, u32>,
    lock: Option<bool>,
    stopped: bool,
}

impl Observer {
    fn observe(&mut self, out: &[TurnstileCommand]) -> Result<(), TestCaseError> {
        for command in out {
            match *command {
                TurnstileCommand::SetOutput { output, active } => {
                    if output == LOCK {
                        self.lock = Some(active);
                    }
                }
                TurnstileCommand::Report { event } => match event {
                    TurnstileEvent::Unlocked { transaction_id } => {
                        prop_assert!(self.asked.contains(&transaction_id));
                        prop_assert!(self.current.is_none(), "two current authorisations");
                        prop_assert!(!self.fire_input);
                        self.current = Some(transaction_id);
                        *self.unlocked.entry(transaction_id).or_default() += 1;
                    }
                    TurnstileEvent::PassageCompleted { transaction_id } => {
                        prop_assert_eq!(self.current, Some(transaction_id));
                        self.current = None;
                        *self.credited.entry(transaction_id).or_default() += 1;
                    }
                    TurnstileEvent::UnlockTimedOut { transaction_id }
                    | TurnstileEvent::Withdrawn { transaction_id }
                        if self.current == Some(transaction_id) =>
                    {
                        self.current = None;
                    }
                    TurnstileEvent::FireAlarmRelease => {
                        prop_assert!(self.fire_input, "fire release without the fire input");
                        prop_assert!(self.current.is_none());
                        self.fire_release = true;
                    }
                    TurnstileEvent::RelockedAfterFire => self.fire_release = false,
                    _ => {}
                },
            }
        }
        Ok(())
    }

    /// The lock may be released only for a current authorisation or a fire release.
    fn check_lock(&self, fail_safe_stopped: bool) -> Result<(), TestCaseError> {
        if self.lock == Some(true) {
            let stopped_fire = self.stopped && self.fire_input;
            prop_assert!(
                self.current.is_some() || self.fire_release || stopped_fire || fail_safe_stopped,
                "lock released without authorisation or fire alarm"
            );
        }
        Ok(())
    }
}

fn run_sequence(
    config: TurnstileConfig,
    initial: SensorSnapshot,
    stimuli: &[Stimulus],
) -> Result<(), TestCaseError> {
    let fail_safe = config.safe_defaults.lock_release == SafeDefault::Active;
    let mut turnstile = Turnstile::new(config);
    let mut now = 0u64;
    let mut observer = Observer {
        fire_input: initial.fire_alarm,
        ..Observer::default()
    };
    let out = turnstile.handle(now, TurnstileInput::PowerUp { sensors: initial });
    // Power-up: every output at its safe default before anything else.
    for (index, output) in TurnstileOutput::ALL.into_iter().enumerate() {
        prop_assert_eq!(
            out[index],
            TurnstileCommand::SetOutput {
                output,
                active: config.safe_defaults.of(output).is_active()
            }
        );
    }
    observer.lock = Some(config.safe_defaults.lock_release.is_active());
    observer.observe(&out[4..])?;
    observer.check_lock(false)?;
    let mut sensors = initial;
    let mut expanded = Vec::new();
    for stimulus in stimuli {
        match *stimulus {
            Stimulus::Walk { forward, open_door } => {
                let (first, second) = if forward {
                    (Sensor::EntryBeam, Sensor::ExitBeam)
                } else {
                    (Sensor::ExitBeam, Sensor::EntryBeam)
                };
                if open_door {
                    expanded.push(Stimulus::Sensor(Sensor::DoorClosed, false));
                }
                for (sensor, active) in [
                    (first, true),
                    (second, true),
                    (first, false),
                    (second, false),
                ] {
                    expanded.push(Stimulus::Wait(100));
                    expanded.push(Stimulus::Sensor(sensor, active));
                }
            }
            _ => expanded.push(stimulus.clone()),
        }
    }
    for stimulus in &expanded {
        let input = match stimulus {
            Stimulus::Wait(ms) => {
                now += ms;
                TurnstileInput::Tick
            }
            Stimulus::Authorise { id, ms } => {
                let transaction_id = TransactionId(u128::from(*id));
                observer.asked.insert(transaction_id);
                TurnstileInput::Authorise {
                    transaction_id,
                    unlock_for_ms: *ms,
                }
            }
            Stimulus::Lock => TurnstileInput::Lock,
            Stimulus::Sensor(sensor, active) => {
                if *sensor == Sensor::FireAlarm {
                    observer.fire_input = *active;
                }
                match sensor {
                    Sensor::DoorClosed => sensors.door_closed = *active,
                    Sensor::EntryBeam => sensors.entry_beam = *active,
                    Sensor::ExitBeam => sensors.exit_beam = *active,
                    Sensor::FireAlarm => sensors.fire_alarm = *active,
                    Sensor::Tamper => sensors.tamper = *active,
                }
                TurnstileInput::Sensor {
                    sensor: *sensor,
                    active: *active,
                }
            }
            Stimulus::Shutdown => {
                observer.stopped = true;
                TurnstileInput::Shutdown
            }
            Stimulus::Walk { .. } => continue,
        };
        let out = turnstile.handle(now, input);
        observer.observe(&out)?;
        if observer.stopped {
            observer.current = None;
            observer.fire_release = false;
        }
        observer.check_lock(observer.stopped && fail_safe)?;
        // The machine's own view agrees with what it drove.
        prop_assert_eq!(turnstile.output(LOCK), observer.lock);
        // Everything due has been handled: the next deadline lies in the future.
        if let Some(deadline) = turnstile.next_deadline() {
            prop_assert!(
                deadline > now,
                "deadline {} not after now {}",
                deadline,
                now
            );
        }
        // While the fire input is on and the controller is running, the lock is released.
        if sensors.fire_alarm && !observer.stopped {
            prop_assert_eq!(
                observer.lock,
                Some(true),
                "fire alarm must release the lock"
            );
        }
    }
    for (id, count) in &observer.credited {
        prop_assert!(*count <= 1, "{id:?} credited {count} times");
    }
    for (id, count) in &observer.unlocked {
        prop_assert!(*count <= 1, "{id:?} unlocked {count} times");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fail_secure_lock_is_released_only_for_an_authorisation_or_fire(
        initial in snapshot(),
        stimuli in prop::collection::vec(stimulus(), 0..80),
    ) {
        run_sequence(TurnstileConfig::default(), initial, &stimuli)?;
    }

    #[test]
    fn fail_safe_lock_is_released_outside_those_only_when_not_in_control(
        initial in snapshot(),
        stimuli in prop::collection::vec(stimulus(), 0..80),
        door_sensor in any::<bool>(),
        entry_beam in any::<bool>(),
    ) {
        let mut config = TurnstileConfig::default();
        config.safe_defaults.lock_release = SafeDefault::Active;
        config.sensors.door_closed = door_sensor;
        config.sensors.entry_beam = entry_beam;
        run_sequence(config, initial, &stimuli)?;
    }
}

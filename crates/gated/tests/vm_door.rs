//! gated's door driver (the turnstile machine on the door's lines) on the real `gpio-sim`
//! kernel driver, inside the qemu VM that `tests/vm/run` boots (its init sets up gpio-sim and
//! the `GATE_VM_*` variables and runs this binary with `--ignored`); on the host it is
//! ignored. Lines starting with `VM-MEASURE:` are measurements for the report.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use devices::turnstile::GpiocdevTurnstile;
use gate_core::TransactionId;
use gate_core::turnstile::{
    FittedSensors, OutputSafeDefaults, SafeDefault, TurnstileConfig, TurnstileEvent,
    TurnstileState, TurnstileTimings,
};
use gated::door::TurnstileDriver;

#[path = "../../devices/tests/support/vm_gpio.rs"]
mod vm_gpio;
use vm_gpio::{gpio_config, line_level, pull};

/// Polls the driver until an event matching `wanted` arrives; returns every event seen.
fn poll_until(
    driver: &mut TurnstileDriver<GpiocdevTurnstile>,
    wanted: impl Fn(&TurnstileEvent) -> bool,
) -> Vec<TurnstileEvent> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let step = driver.poll(Duration::from_millis(20));
        assert!(step.faults.is_empty(), "{:?}", step.faults);
        seen.extend(step.events);
        if seen.iter().any(&wanted) {
            return seen;
        }
    }
    panic!("wanted event did not arrive; saw {seen:?}");
}

/// Polls until no edge has arrived for 100 ms.
fn drain(driver: &mut TurnstileDriver<GpiocdevTurnstile>) -> Vec<TurnstileEvent> {
    let mut seen = Vec::new();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(100) {
        let step = driver.poll(Duration::from_millis(20));
        assert!(step.faults.is_empty(), "{:?}", step.faults);
        if !step.is_empty() {
            quiet_since = Instant::now();
        }
        seen.extend(step.events);
    }
    seen
}

fn wait_line(line: u32, level: u8, started: Instant) -> Duration {
    while line_level(line) != level {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "line {line} never went to {level}"
        );
    }
    started.elapsed()
}

#[test]
#[ignore = "runs only inside the qemu VM: tests/vm/run"]
fn gpio_sim_turnstile_driver_runs_the_machine_end_to_end() {
    // Door closed (line 4 high), entry beam clear (active-low line 5 high), exit beam and fire
    // alarm clear (lines 6, 7 low).
    for (line, up) in [(4, true), (5, true), (6, false), (7, false)] {
        pull(line, up);
    }
    // The buzzer's safe state is "active" in this config; beams without debounce so the
    // rounds below may follow each other quickly.
    let config = gpio_config();
    let machine = TurnstileConfig {
        safe_defaults: OutputSafeDefaults {
            buzzer: SafeDefault::Active,
            ..OutputSafeDefaults::default()
        },
        sensors: FittedSensors {
            tamper: false,
            ..FittedSensors::default()
        },
        timings: TurnstileTimings {
            beam_debounce_ms: 0,
            ..TurnstileTimings::default()
        },
    };
    let io = GpiocdevTurnstile::open(&config).unwrap();
    let (mut driver, first) = TurnstileDriver::start(io, machine).unwrap();
    assert!(first.faults.is_empty(), "{:?}", first.faults);
    assert!(first.events.is_empty(), "{:?}", first.events);
    // Locked, green off (active-low: 1), red off, buzzer off after power-up.
    assert_eq!(
        [line_level(0), line_level(1), line_level(2), line_level(3)],
        [0, 1, 0, 0]
    );
    assert_eq!(driver.status().state, TurnstileState::Locked);

    let mut decision_to_line = Vec::new();
    let mut authorise_call = Vec::new();
    let mut exit_edge_to_relock = Vec::new();
    for round in 0..30u128 {
        let id = TransactionId(round + 1);
        let started = Instant::now();
        let step = driver.authorise(id, Duration::from_secs(10));
        authorise_call.push(started.elapsed());
        decision_to_line.push(wait_line(0, 1, started));
        assert_eq!(
            step.events,
            [TurnstileEvent::Unlocked { transaction_id: id }]
        );
        assert_eq!(line_level(1), 0, "green on (active-low)");
        pull(5, false); // entry beam interrupted
        pull(4, false); // door opens
        pull(5, true); // entry beam clear
        assert_eq!(drain(&mut driver), []);
        let started = Instant::now();
        pull(6, true); // exit beam interrupted: the passage counts
        let seen = poll_until(&mut driver, |event| {
            matches!(event, TurnstileEvent::PassageCompleted { .. })
        });
        exit_edge_to_relock.push(wait_line(0, 0, started));
        assert_eq!(
            seen,
            [TurnstileEvent::PassageCompleted { transaction_id: id }]
        );
        pull(6, false);
        pull(4, true); // door closes
        assert_eq!(drain(&mut driver), []);
        assert_eq!(driver.status().state, TurnstileState::Locked);
    }

    // Forced entry, then the fire alarm releasing the lock through the real lines.
    pull(4, false);
    poll_until(&mut driver, |event| *event == TurnstileEvent::ForcedEntry);
    assert_eq!(line_level(0), 0, "forcing the door never releases the lock");
    assert_eq!(line_level(3), 1, "buzzer sounds");
    pull(4, true);
    let started = Instant::now();
    pull(7, true);
    poll_until(&mut driver, |event| {
        *event == TurnstileEvent::FireAlarmRelease
    });
    let fire_to_release = wait_line(0, 1, started);
    pull(7, false);
    poll_until(&mut driver, |event| {
        *event == TurnstileEvent::RelockedAfterFire
    });
    assert_eq!(line_level(0), 0);

    let (_io, last) = driver.shutdown();
    assert!(last.faults.is_empty(), "{:?}", last.faults);
    assert_eq!(
        line_level(0),
        0,
        "fail-secure lock stays engaged at shutdown"
    );
    assert_eq!(line_level(3), 1, "buzzer back at its safe state (active)");

    for (label, samples) in [
        (
            "turnstile driver: authorise() -> lock line high in sysfs (decision-to-line-change)",
            &mut decision_to_line,
        ),
        (
            "turnstile driver: authorise() call alone (machine + 2 line ioctls)",
            &mut authorise_call,
        ),
        (
            "turnstile driver: exit-beam pull write -> PassageCompleted and lock line low",
            &mut exit_edge_to_relock,
        ),
    ] {
        samples.sort();
        println!(
            "VM-MEASURE: {label}: median {:?}, max {:?} over {} passages (TCG)",
            samples[samples.len() / 2],
            samples[samples.len() - 1],
            samples.len()
        );
    }
    println!(
        "VM-MEASURE: turnstile driver: fire-alarm pull write -> lock line released: {fire_to_release:?} (TCG)"
    );
}

//! The gpio-sim chip of the VM test (tests/vm/run): its lines, their levels as the simulator
//! sees them, pulls, and the turnstile wiring the tests use. Shared by the devices guest tests
//! and gated's door driver guest test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use devices::turnstile::{
    ActiveLevel, InputLine, OutputLine, SafeState, TurnstileBackend, TurnstileIoConfig,
};

/// A variable the guest's init sets.
pub fn guest_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests run only inside the qemu VM, use tests/vm/run")
    })
}

/// Writes a sysfs attribute.
pub fn write_sysfs(path: &Path, value: &str) {
    std::fs::write(path, value)
        .unwrap_or_else(|error| panic!("write {value:?} to {}: {error}", path.display()));
}

/// Lines 0-3 outputs (lock, green active-low, red, buzzer with safe state active), lines 4-7
/// inputs (door closed, entry beam active-low, exit beam, fire alarm) on the gpio-sim chip.
pub fn gpio_config() -> TurnstileIoConfig {
    let mut config = TurnstileIoConfig::new(TurnstileBackend::GpioCdev, OutputLine::on(0));
    config.chip = Some(PathBuf::from(guest_var("GATE_VM_GPIO_CHIP")));
    config.consumer = "gate-vm-test".to_owned();
    config.outputs.green_light = Some(OutputLine {
        active: ActiveLevel::Low,
        ..OutputLine::on(1)
    });
    config.outputs.red_light = Some(OutputLine::on(2));
    config.outputs.buzzer = Some(OutputLine {
        safe_state: SafeState::Active,
        ..OutputLine::on(3)
    });
    config.inputs.door_closed = Some(InputLine::on(4));
    config.inputs.entry_beam = Some(InputLine {
        active: ActiveLevel::Low,
        ..InputLine::on(5)
    });
    config.inputs.exit_beam = Some(InputLine::on(6));
    config.inputs.fire_alarm = Some(InputLine::on(7));
    config
}

fn sim_line(line: u32) -> PathBuf {
    PathBuf::from(guest_var("GATE_VM_GPIO_SYSFS")).join(format!("sim_gpio{line}"))
}

/// The physical level of a gpio-sim line as the simulator sees it.
pub fn line_level(line: u32) -> u8 {
    let text = std::fs::read_to_string(sim_line(line).join("value")).unwrap();
    text.trim().parse().unwrap()
}

/// Pulls a gpio-sim line up or down (what a sensor does to an input).
pub fn pull(line: u32, up: bool) {
    write_sysfs(
        &sim_line(line).join("pull"),
        if up { "pull-up" } else { "pull-down" },
    );
}

//! `gatectl io watch` reads the gate's own `[devices.door]` (the file gated runs with) and
//! names every input as gated's status does.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use support::{gatectl, shipped, text};

/// `gatectl io watch --config FILE --duration 0` with `extra` arguments.
fn watch(file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "io",
        "watch",
        "--config",
        file.to_str().unwrap(),
        "--duration",
        "0",
    ];
    args.extend(extra);
    gatectl(&args)
}

#[test]
fn io_watch_reads_the_gates_door_section_and_names_inputs_as_gated_does() {
    let config = shipped("sim-face-gate.toml");
    // What gated calls the door's inputs in its status.
    let daemon = support::start_gated(&config);
    let status = support::status(&daemon);
    let gated_names: BTreeSet<String> = status["door"]["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    drop(daemon);
    assert!(!gated_names.is_empty(), "{status:#}");

    // The same file, read by the technician's tool (the lines belong to one process at a time).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gate.toml");
    std::fs::write(&file, config.to_toml().unwrap()).unwrap();
    let output = watch(&file, &["--json"]);
    assert!(output.status.success(), "{}", text(&output));
    let watched: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|line| line["state"]["input"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(watched, gated_names);
}

#[test]
fn io_watch_names_the_offending_key_of_a_bad_door_section() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gate.toml");
    let mut text_config = shipped("sim-face-gate.toml").to_toml().unwrap();
    text_config.push_str("\n[devices.door.blink]\nrate = 2\n");
    std::fs::write(&file, text_config).unwrap();
    let output = watch(&file, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("devices.door"), "{}", text(&output));
    assert!(text(&output).contains("blink"), "{}", text(&output));
}

//! The gate daemon: wires devices, face matching, chip reading and the outbox to gate-core.

fn main() {}

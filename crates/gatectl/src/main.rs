//! Diagnostics CLI for gate technicians: talks to gated over its control socket and runs offline checks.

fn main() {}

//! Project tasks: set up the machine, run the simulated gate, run every test.

fn main() {}

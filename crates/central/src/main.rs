//! Reference central server: event ingest, queries and list publishing for gates.

fn main() {}

//! Durable SQLite event outbox and list store of a gate.

//! The operator console: server-rendered HTML pages under `/console` for the agency's people
//! (fleet, activity, lists, accounts, audit), operator accounts with roles, and the audit trail.
//!
//! * [`store`]: accounts, sessions, the audit trail and list versions in central's database
//!   ([`ConsoleStore`], for SQLite and PostgreSQL).
//! * [`auth`]: argon2id passwords, session cookies, login throttling, CSRF tokens.
//! * [`lists`]: list formats, validation, size limits and the diff shown before publishing.
//! * [`cli`]: `central accounts ...` and `central lists ...` on the central host.

pub mod auth;
pub mod cli;
pub mod lists;
pub mod store;

pub use store::{ConsoleStore, Role};

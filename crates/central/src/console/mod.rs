//! The operator console: server-rendered HTML pages under `/console` for the agency's people
//! (fleet, activity, lists, accounts, audit), operator accounts with roles, and the audit trail.
//!
//! * [`store`]: accounts, sessions, the audit trail and list versions in central's database
//!   ([`ConsoleStore`], for SQLite and PostgreSQL).
//! * [`auth`]: argon2id passwords, session cookies, login throttling, CSRF tokens.
//! * [`lists`]: list formats, validation, size limits and the diff shown before publishing.
//! * [`web`]: the pages and actions ([`CONSOLE_ROUTES`], guarded by role, CSRF and origin).
//! * [`html`]: layout, escaping, the inline style and the CSP.
//! * [`api`]: `PUT /v1/lists/{name}` with validation and an operator credential.
//! * [`cli`]: `central accounts ...` and `central lists ...` on the central host.

pub mod api;
pub mod auth;
pub mod cli;
pub mod html;
pub mod lists;
pub mod store;
pub mod web;

pub use store::{ConsoleStore, Role};
pub use web::{CONSOLE_ROUTES, routes};

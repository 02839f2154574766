//! Operator accounts for tests: made with `central accounts add` as an operator runs it (the
//! password on stdin, never on the command line), and a login over HTTP as a browser's form
//! posts it. Used by central's console and scale tests and by gated's console browser test
//! (which passes its own path to the binary).
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// `central accounts --database DATABASE add NAME --role ROLE` with `password` on stdin.
pub fn add_account(central: &Path, database: &str, name: &str, role: &str, password: &str) {
    let mut child = Command::new(central)
        .args([
            "accounts",
            "--database",
            database,
            "add",
            name,
            "--role",
            role,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
}

/// Logs `name` in at `base` (with this server's Origin, as a browser's form would) and checks
/// the answer is the redirect to the fleet page; the whole `Set-Cookie` header.
pub fn log_in(base: &str, name: &str, password: &str) -> String {
    let response = match ureq::AgentBuilder::new()
        .redirects(0)
        .build()
        .post(&format!("{base}/console/login"))
        .set("Origin", base)
        .send_form(&[("name", name), ("password", password)])
    {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(response.status(), 303, "login of {name}");
    assert_eq!(response.header("location"), Some("/console/fleet"));
    response.header("set-cookie").unwrap().to_owned()
}

/// The `name=value` part of a `Set-Cookie` header (what a client sends back).
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

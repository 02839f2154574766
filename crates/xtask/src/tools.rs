//! Cargo subcommands the tasks run, built from crates.io at pinned versions into
//! `.cache/cargo-tools` (`cargo install --locked`), once: a tool already installed there at its
//! pinned version is used as it is.

use crate::{Result, cache, cargo, root, run};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// cargo-deny: the licence and crate policy of `deny.toml`.
const CARGO_DENY: (&str, &str) = ("cargo-deny", "0.20.2");

/// The `--root` of every pinned tool; its `bin/` holds them.
fn tools_root() -> PathBuf {
    cache().join("cargo-tools")
}

/// Whether `name` is installed under `tools_root()` at `version`.
fn installed(name: &str, version: &str) -> bool {
    let record = fs::read_to_string(tools_root().join(".crates.toml")).unwrap_or_default();
    tools_root().join("bin").join(name).exists() && listed(&record, name, version)
}

/// Whether cargo's record of installs (`.crates.toml`) lists `name` at `version`.
fn listed(record: &str, name: &str, version: &str) -> bool {
    let key = format!("\"{name} {version} (");
    record.lines().any(|line| line.starts_with(&key))
}

/// `name` at `version`, installed unless it is there; the path of its binary.
pub fn install((name, version): (&str, &str)) -> Result<PathBuf> {
    let binary = tools_root().join("bin").join(name);
    if installed(name, version) {
        eprintln!("xtask: {name} {version} present");
        return Ok(binary);
    }
    eprintln!("xtask: building {name} {version} from crates.io (once; minutes)");
    let started = Instant::now();
    run(cargo()
        .args(["install", "--locked", "--quiet"])
        .arg(format!("{name}@{version}"))
        .arg("--root")
        .arg(tools_root()))?;
    eprintln!(
        "xtask: {name} {version} built in {} s",
        started.elapsed().as_secs()
    );
    Ok(binary)
}

/// The licences and bans of `deny.toml` over the whole dependency graph. cargo-deny reads the
/// manifests of every locked crate, those of other platforms too: `cargo fetch` brings them
/// from crates.io first, and the check itself runs offline (no advisory database).
pub fn cargo_deny() -> Result<()> {
    let deny = install(CARGO_DENY)?;
    run(cargo().args(["fetch", "--quiet"]))?;
    run(Command::new(deny).current_dir(root()).args([
        "--offline",
        "check",
        "--hide-inclusion-graph",
        "licenses",
        "bans",
    ]))
}

#[cfg(test)]
mod tests {
    use super::listed;

    #[test]
    fn only_the_pinned_version_counts_as_installed() {
        let record = "[v1]\n\"cargo-deb 3.8.0 (registry+https://github.com/rust-lang/crates.io-index)\" = [\"cargo-deb\"]\n\"cargo-deny 0.20.2 (registry+https://github.com/rust-lang/crates.io-index)\" = [\"cargo-deny\"]\n";
        assert!(listed(record, "cargo-deny", "0.20.2"));
        assert!(!listed(record, "cargo-deny", "0.20.1"));
        assert!(!listed(record, "cargo-deny", "0.20"));
        assert!(!listed(record, "cargo-de", "0.20.2"));
        assert!(!listed("", "cargo-deny", "0.20.2"));
    }
}

//! Host side of the VM test: runs `tests/vm/run` (tiny kernel + qemu, vivid and gpio-sim)
//! and asserts the guest's PASS marker. Needs the packages `cargo xtask setup` installs.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn vm_tests_pass_on_real_kernel_drivers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("tests/vm/run");
    assert!(script.is_file(), "{} is missing", script.display());
    let output = Command::new(&script)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        panic!(
            "the VM test cannot run: prerequisites are missing. Run `cargo xtask setup`.\n{stderr}"
        );
    }
    // Keep the guest's measurements visible in the test log.
    for line in stdout
        .lines()
        .filter(|line| line.contains("VM-MEASURE:") || line.contains("test result:"))
    {
        println!("{line}");
    }
    assert!(
        output.status.success() && stdout.contains("GATE-VM-RESULT: PASS"),
        "tests/vm/run failed (status {:?})\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}",
        output.status.code(),
        tail(&stdout, 80),
        tail(&stderr, 40)
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

//! `gatectl mrz check` run as a real binary.
#![allow(clippy::unwrap_used)]

use std::process::Command;

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

fn gatectl(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

#[test]
fn valid_td3_exits_0_with_masked_number() {
    let (code, out) = gatectl(&["mrz", "check", TD3[0], TD3[1]]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("MRZ valid (td3)"), "{out}");
    assert!(out.contains("******2C3"), "{out}");
    assert!(
        !out.contains("L898902C3"),
        "document number must be masked: {out}"
    );
    assert!(!out.contains("ERIKSSON"), "names are not printed: {out}");
}

#[test]
fn valid_td1_json() {
    let (code, out) = gatectl(&[
        "mrz",
        "check",
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["format"], "td1");
    assert_eq!(v["document_number_masked"], "******890");
    assert_eq!(v["expiry_date"], "120415");
}

#[test]
fn invalid_check_digit_exits_1_naming_field_and_position() {
    let bad = "L898902C37UTO7408122F1204159ZE184226B<<<<<10";
    let (code, out) = gatectl(&["mrz", "check", TD3[0], bad]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("document number at line 2, column 10"),
        "{out}"
    );
    let (code, out) = gatectl(&["mrz", "check", TD3[0], bad, "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"]["kind"], "check_digit");
    assert_eq!(v["error"]["field"], "document_number");
    assert_eq!(v["error"]["line"], 2);
    assert_eq!(v["error"]["column"], 10);
    assert!(!out.contains("L898902C3"), "{out}");
}

#[test]
fn wrong_shape_is_invalid_and_missing_lines_is_usage_error() {
    let (code, out) = gatectl(&["mrz", "check", "ABC", "DEF", "--json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unknown_format"), "{out}");
    let (code, _) = gatectl(&["mrz", "check", TD3[0]]);
    assert_eq!(code, 2);
}

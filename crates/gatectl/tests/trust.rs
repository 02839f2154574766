//! `gatectl trust add|list|check` on the openssl-made test PKI of crates/mrtd
//! (crates/mrtd/tests/fixtures/authenticity, committed; no system packages needed).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// 2026-01-01, inside the fixtures' validity.
const TIME: &str = "1767225600";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mrtd/tests/fixtures/authenticity")
        .join(name)
}

fn gatectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn add(trust_dir: &Path, file: &str, kind: Option<&str>) -> Output {
    let file = fixture(file);
    let mut args = vec![
        "trust",
        "add",
        file.to_str().unwrap(),
        "--trust-dir",
        trust_dir.to_str().unwrap(),
        "--json",
    ];
    if let Some(kind) = kind {
        args.extend(["--kind", kind]);
    }
    gatectl(&args)
}

/// A saved chip read (`chip read --out` layout) with this SOD.
fn read_dir(root: &Path, sod: &str) -> PathBuf {
    let dir = root.join(sod);
    std::fs::create_dir_all(&dir).unwrap();
    let cms = std::fs::read(fixture(sod)).unwrap();
    std::fs::write(dir.join("sod.bin"), mrtd::tlv::encode(0x77, &cms)).unwrap();
    std::fs::copy(fixture("dg1.bin"), dir.join("dg1.bin")).unwrap();
    std::fs::copy(fixture("dg2.bin"), dir.join("dg2.bin")).unwrap();
    dir
}

fn check(trust_dir: &Path, read: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "trust",
        "check",
        "--trust-dir",
        trust_dir.to_str().unwrap(),
        "--read-dir",
        read.to_str().unwrap(),
        "--time",
        TIME,
        "--json",
    ];
    args.extend_from_slice(extra);
    gatectl(&args)
}

#[test]
fn add_list_and_check_a_trust_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");

    // A CSCA and its CRL are accepted; a DS certificate is not a CSCA.
    let out = add(&trust, "csca-rsa.pem", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out)["added"], true);
    assert!(add(&trust, "csca-rsa.crl", None).status.success());
    let out = add(&trust, "ds-rsa.der", None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["added"], false);
    // A CRL of a CSCA that is not trusted is refused.
    assert_eq!(add(&trust, "csca-ec.crl", None).status.code(), Some(1));

    let out = gatectl(&[
        "trust",
        "list",
        "--trust-dir",
        trust.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let listed = json(&out);
    assert_eq!(listed["cscas"].as_array().unwrap().len(), 1);
    assert_eq!(listed["cscas"][0]["country"], "UT");
    assert_eq!(listed["crls"][0]["revoked"], 1);

    // Genuine: exit 0; the printed MRZ matches DG1.
    let genuine = read_dir(tmp.path(), "sod-rsa-pss.cms");
    let out = check(
        &trust,
        &genuine,
        &[
            "--mrz",
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let verdict = json(&out);
    assert_eq!(verdict["authentic"], true);
    assert_eq!(verdict["signature"], "RSA-PSS-SHA256");
    assert_eq!(verdict["mrz_compared"], true);

    // Revoked DS and an unknown CSCA: exit 4 with the reason code.
    for (sod, reason) in [
        ("sod-revoked.cms", "DS_CERTIFICATE_REVOKED"),
        ("sod-ecdsa.cms", "CSCA_UNKNOWN"),
    ] {
        let out = check(&trust, &read_dir(tmp.path(), sod), &[]);
        assert_eq!(out.status.code(), Some(4), "{sod}");
        assert_eq!(json(&out)["reason"], reason, "{sod}");
    }
    // A tampered DG1.
    let mut dg1 = std::fs::read(genuine.join("dg1.bin")).unwrap();
    let last = dg1.len() - 1;
    dg1[last] ^= 1;
    std::fs::write(genuine.join("dg1.bin"), dg1).unwrap();
    let out = check(&trust, &genuine, &[]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json(&out)["reason"], "DG_HASH_MISMATCH");
    // Missing files are an error, not a verdict.
    let out = check(&trust, &tmp.path().join("nothing"), &[]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn master_lists_need_a_configured_signer() {
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust");
    // Without a master-list signer the list is refused.
    assert_eq!(add(&trust, "masterlist.ml", None).status.code(), Some(1));
    // The issuer of the master-list signer as anchor: the list loads both CSCAs.
    assert!(
        add(&trust, "csca-rsa.pem", Some("ml-signer"))
            .status
            .success()
    );
    let out = add(&trust, "masterlist.ml", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A list signed by someone else is refused.
    assert_eq!(
        add(&trust, "masterlist-untrusted.ml", None).status.code(),
        Some(1)
    );
    let out = gatectl(&[
        "trust",
        "list",
        "--trust-dir",
        trust.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(json(&out)["cscas"].as_array().unwrap().len(), 2);
    let out = check(&trust, &read_dir(tmp.path(), "sod-ecdsa.cms"), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

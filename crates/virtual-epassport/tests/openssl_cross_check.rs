//! Outside check: OpenSSL accepts the generated certificate chain and verifies EF.SOD's CMS
//! signature, returning the LDSSecurityObject. Needs the `openssl` command (Debian package
//! `openssl`).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use mrtd::lds::FileId;
use virtual_epassport::SPECIMEN_TD3;
use virtual_epassport::document::{Document, DocumentConfig};
use virtual_epassport::pki::{Pki, PkiOptions};

fn openssl(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl not runnable ({e}): apt-get install -y openssl"))
}

#[test]
fn openssl_verifies_the_chain_and_the_sod_signature() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    pki.write_certificates(dir.path()).unwrap();
    let jpeg = [
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xD9,
    ];
    let doc = Document::build(&DocumentConfig::new(&SPECIMEN_TD3, jpeg.to_vec()), &pki).unwrap();
    let sod = &doc.files[&FileId::Sod];
    let (wrapper, _) = mrtd::tlv::parse_one(sod).unwrap();
    std::fs::write(dir.path().join("sod.der"), wrapper.value).unwrap();

    let out = openssl(&["verify", "-CAfile", "csca.pem", "ds.pem"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = openssl(
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "sod.der",
            "-CAfile",
            "csca.pem",
            "-purpose",
            "any",
            "-out",
            "content.der",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let content = std::fs::read(dir.path().join("content.der")).unwrap();
    assert_eq!(content, mrtd::lds::Sod::parse(sod).unwrap().security_object);

    // A different CSCA does not verify it.
    let other = Pki::generate(&PkiOptions::default()).unwrap();
    let other_dir = dir.path().join("other");
    other.write_certificates(&other_dir).unwrap();
    let out = openssl(
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "sod.der",
            "-CAfile",
            "other/csca.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
}

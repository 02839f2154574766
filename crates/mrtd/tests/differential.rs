//! Differential verdicts (issue 18): every fixture, attack case and fuzz-corpus entry of the
//! authenticity code runs through passive authentication, EF.CardSecurity and master-list
//! verification, certificate / CRL / key parsing and signature verification, and Active
//! Authentication; each verdict (the reason code, or the error's shape: its variants with
//! every text replaced by `_`) is compared with `tests/differential/verdicts.txt`, recorded
//! with the implementation before the switch to maintained libraries. A changed verdict
//! fails the test and is listed.
//!
//! Re-record (only when a verdict change is intended, and say why in the commit):
//! `MRTD_RECORD_VERDICTS=1 cargo test -p mrtd --test differential`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use mrtd::authenticity::active;
use mrtd::authenticity::cms::SignedData;
use mrtd::authenticity::passive::{self, PassiveAuthInput, PassiveAuthPolicy};
use mrtd::authenticity::signature::{self, PublicKey, Scheme};
use mrtd::authenticity::trust::{self, TrustStore, TrustStoreConfig};
use mrtd::authenticity::x509::{Certificate, Crl};
use mrtd::lds::HashAlgorithm;
use mrtd::mrz::Mrz;
use mrtd::tlv;

/// 2026-01-01T00:00:00Z, as in the other authenticity tests.
const NOW: i64 = 1_767_225_600;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Files of `dir` ending in `suffix`, sorted by name.
fn files(dir: &Path, suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read(&p),
            )
        })
        .collect();
    out.sort();
    out
}

/// The `Debug` form of an error with every string literal replaced by `_`: the variants
/// (and numbers), not the wording of messages.
fn shape(error: &dyn Debug) -> String {
    let text = format!("{error:?}");
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            out.push('_');
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn verdict<T, E: Debug>(result: &Result<T, E>) -> String {
    match result {
        Ok(_) => "OK".into(),
        Err(e) => shape(e),
    }
}

fn passive_verdict<T>(result: &Result<T, passive::PassiveAuthError>) -> String {
    match result {
        Ok(_) => "OK".into(),
        Err(e) => e.reason_code().into(),
    }
}

/// Flips the lowest bit of the byte in the middle of the first occurrence of `part`.
fn flip_inside(data: &[u8], part: &[u8]) -> Option<Vec<u8>> {
    if part.is_empty() {
        return None;
    }
    let at = data.windows(part.len()).position(|w| w == part)?;
    let mut out = data.to_vec();
    out[at + part.len() / 2] ^= 0x01;
    Some(out)
}

struct Setup {
    trust: TrustStore,
    /// Every trusted CSCA (name, certificate).
    cscas: Vec<(String, Certificate)>,
    /// DG1 and DG2.
    groups: BTreeMap<u8, Vec<u8>>,
    /// DG1, DG2, DG14 and DG15 (for the SODs that list the clone-check groups).
    groups_full: BTreeMap<u8, Vec<u8>>,
    mrz: Mrz,
}

fn setup() -> Setup {
    let auth = root().join("tests/fixtures/authenticity");
    let bench = root().join("tests/fixtures/bench");
    let mut csca_paths = vec![auth.join("csca-rsa.pem"), auth.join("csca-ec.der")];
    csca_paths.extend(
        files(&bench, ".der")
            .into_iter()
            .map(|(name, _)| bench.join(name)),
    );
    let trust = TrustStore::load(
        &TrustStoreConfig {
            csca_paths: csca_paths.clone(),
            crl_paths: vec![auth.join("csca-rsa.crl"), auth.join("csca-ec.crl")],
            ..TrustStoreConfig::default()
        },
        NOW,
    )
    .unwrap();
    let cscas = csca_paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let data = read(p);
            let der = mrtd::authenticity::x509::pem_or_der(&data, "CERTIFICATE")
                .into_iter()
                .next()
                .unwrap();
            (name, Certificate::parse(&der).unwrap())
        })
        .collect();
    let groups = BTreeMap::from([
        (1u8, read(&auth.join("dg1.bin"))),
        (2u8, read(&auth.join("dg2.bin"))),
    ]);
    let mut groups_full = groups.clone();
    groups_full.insert(14, read(&auth.join("dg14.bin")));
    groups_full.insert(15, read(&auth.join("dg15.bin")));
    let mrz = Mrz::parse(&[
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ])
    .unwrap();
    Setup {
        trust,
        cscas,
        groups,
        groups_full,
        mrz,
    }
}

/// Passive authentication (default policy and CRL required) and EF.CardSecurity
/// verification of one CMS.
fn run_cms(setup: &Setup, case: &str, cms: &[u8], out: &mut BTreeMap<String, String>) {
    let sod = tlv::encode(0x77, cms);
    let input = PassiveAuthInput {
        sod: &sod,
        data_groups: if case.contains("sod-full") {
            &setup.groups_full
        } else {
            &setup.groups
        },
        optical_mrz: Some(&setup.mrz),
        time: NOW,
    };
    for (policy, name) in [
        (PassiveAuthPolicy::default(), "passive"),
        (PassiveAuthPolicy { require_crl: true }, "passive+crl"),
    ] {
        let result = passive::verify_passive(&input, &setup.trust, &policy);
        out.insert(format!("{case} {name}"), passive_verdict(&result));
    }
    let result =
        passive::verify_card_security(cms, &setup.trust, &PassiveAuthPolicy::default(), NOW);
    out.insert(format!("{case} card-security"), passive_verdict(&result));
}

/// A certificate's key and its signature checked with every trusted CSCA's key.
fn run_certificate(
    setup: &Setup,
    case: &str,
    cert: &Certificate,
    out: &mut BTreeMap<String, String>,
) {
    let key = PublicKey::from_spki(&cert.spki);
    out.insert(
        format!("{case} key"),
        match &key {
            Ok(key) => key.describe(),
            Err(e) => shape(e),
        },
    );
    if let Ok(key) = &key {
        out.insert(
            format!("{case} self-signed"),
            verdict(&cert.verify_signed_by(key)),
        );
    }
    for (name, csca) in &setup.cscas {
        if let Ok(issuer) = csca.public_key() {
            out.insert(
                format!("{case} signed-by {name}"),
                verdict(&cert.verify_signed_by(&issuer)),
            );
        }
    }
}

fn collect() -> BTreeMap<String, String> {
    let setup = setup();
    let mut out = BTreeMap::new();
    let auth = root().join("tests/fixtures/authenticity");
    let bench = root().join("tests/fixtures/bench");

    // Fixtures and attack cases: every CMS (EF.SOD, EF.CardSecurity, master lists) as it is,
    // with a bit flipped in its signature value, in the signer certificate's signature and
    // in the signer certificate's public key.
    let mut cms_fixtures = files(&auth, ".cms");
    cms_fixtures.extend(files(&auth, ".ml"));
    cms_fixtures.extend(
        files(&bench, ".cms")
            .into_iter()
            .map(|(n, d)| (format!("bench/{n}"), d)),
    );
    let signers: Vec<Certificate> = setup.cscas.iter().map(|(_, c)| c.clone()).collect();
    for (name, cms) in &cms_fixtures {
        run_cms(&setup, &format!("fixture {name}"), cms, &mut out);
        out.insert(
            format!("fixture {name} master-list"),
            verdict(&trust::verify_master_list(cms, &signers, NOW)),
        );
        let signed = SignedData::parse_content_info(cms).unwrap();
        let info = signed.signer_info().unwrap();
        let mut attacks = vec![("sod-signature", flip_inside(cms, &info.signature))];
        if let Ok(ds) = signed.signer_certificate(&[]) {
            attacks.push(("ds-signature", flip_inside(cms, &ds.signature)));
            attacks.push(("ds-key", flip_inside(cms, &ds.spki)));
            run_certificate(&setup, &format!("fixture {name} signer"), ds, &mut out);
        }
        for (attack, data) in attacks {
            let data = data.unwrap_or_else(|| panic!("{name}: {attack} not found"));
            run_cms(&setup, &format!("attack {name} {attack}"), &data, &mut out);
        }
    }
    // Certificates and CRLs of the test PKIs, each checked against every CSCA.
    let mut certificates = files(&auth, ".der");
    certificates.extend(
        files(&bench, ".der")
            .into_iter()
            .map(|(n, d)| (format!("bench/{n}"), d)),
    );
    for (name, der) in &certificates {
        let cert = Certificate::parse(der);
        out.insert(format!("certificate {name} parse"), verdict(&cert));
        if let Ok(cert) = cert {
            run_certificate(&setup, &format!("certificate {name}"), &cert, &mut out);
        }
    }
    for (name, der) in files(&auth, ".crl") {
        let crl = Crl::parse(&der).unwrap();
        for (csca_name, csca) in &setup.cscas {
            if let Ok(key) = csca.public_key() {
                out.insert(
                    format!("crl {name} signed-by {csca_name}"),
                    verdict(&crl.verify_signed_by(&key)),
                );
            }
        }
    }
    // Active Authentication with the openssl-made ECDSA signature, as it is and tampered.
    let dg15 = tlv::encode(0x6F, &read(&auth.join("aa-ec.spki")));
    let mut aa_info = tlv::encode(0x06, &[0x67, 0x81, 0x08, 0x01, 0x01, 0x05]);
    aa_info.extend(tlv::encode(0x02, &[1]));
    aa_info.extend(tlv::encode(
        0x06,
        &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01, 0x03],
    ));
    let dg14 = tlv::encode(0x6E, &tlv::encode(0x31, &tlv::encode(0x30, &aa_info)));
    let challenge = read(&auth.join("aa-challenge.bin"));
    let sig = read(&auth.join("aa-ec.sig"));
    let mut tampered = sig.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x01;
    for (case, sig) in [("aa-ec.sig", &sig), ("aa-ec.sig tampered", &tampered)] {
        let result = active::verify_active_authentication(&dg15, Some(&dg14), &challenge, sig);
        out.insert(
            format!("active {case}"),
            match result {
                Ok(report) => format!("OK {} {}", report.key, report.scheme),
                Err(e) => e.reason_code().into(),
            },
        );
    }

    // Fuzz corpora.
    let corpus = root().join("fuzz/corpus");
    for (name, data) in files(&corpus.join("authenticity_cms"), "") {
        run_cms(&setup, &format!("corpus cms {name}"), &data, &mut out);
        out.insert(
            format!("corpus cms {name} master-list"),
            verdict(&trust::verify_master_list(&data, &signers, NOW)),
        );
    }
    for (name, data) in files(&corpus.join("authenticity_x509"), "") {
        let case = format!("corpus x509 {name}");
        if let Ok(cert) = Certificate::parse(&data) {
            run_certificate(&setup, &case, &cert, &mut out);
        }
        if let Ok(crl) = Crl::parse(&data) {
            for (csca_name, csca) in &setup.cscas {
                if let Ok(key) = csca.public_key() {
                    out.insert(
                        format!("{case} crl signed-by {csca_name}"),
                        verdict(&crl.verify_signed_by(&key)),
                    );
                }
            }
        }
        match PublicKey::from_spki(&data) {
            Ok(key) => {
                out.insert(format!("{case} spki"), key.describe());
                let checks = [
                    (Scheme::EcdsaPlain(HashAlgorithm::Sha256), &[1u8; 64][..]),
                    (
                        Scheme::EcdsaDer(HashAlgorithm::Sha256),
                        &[0x30, 0x06, 2, 1, 1, 2, 1, 1],
                    ),
                    (Scheme::RsaPkcs1(HashAlgorithm::Sha256), &[1; 256]),
                    (
                        Scheme::RsaPss {
                            hash: HashAlgorithm::Sha256,
                            mgf_hash: HashAlgorithm::Sha256,
                            salt_len: 32,
                        },
                        &[1; 256],
                    ),
                ];
                for (scheme, sig) in checks {
                    out.insert(
                        format!("{case} spki verify {}", scheme.name()),
                        verdict(&key.verify(scheme, b"message", sig)),
                    );
                }
            }
            Err(e) => {
                out.insert(format!("{case} spki"), shape(&e));
            }
        }
        out.insert(
            format!("{case} ec-curve"),
            match signature::ec_curve(&data) {
                Ok(curve) => curve.name.to_string(),
                Err(e) => shape(&e),
            },
        );
        let dg15 = tlv::encode(0x6F, &data);
        out.insert(
            format!("{case} active"),
            match active::verify_active_authentication(&dg15, None, &[0; 8], &[1; 128]) {
                Ok(_) => "OK".into(),
                Err(e) => e.reason_code().into(),
            },
        );
    }
    out
}

#[test]
fn verdicts_are_unchanged() {
    let verdicts = collect();
    let file = root().join("tests/differential/verdicts.txt");
    let text: String = verdicts
        .iter()
        .map(|(case, v)| format!("{case}\t{v}\n"))
        .collect();
    if std::env::var_os("MRTD_RECORD_VERDICTS").is_some() {
        std::fs::write(&file, text).unwrap();
        return;
    }
    let recorded: BTreeMap<String, String> = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (record it: MRTD_RECORD_VERDICTS=1)",
                file.display()
            )
        })
        .lines()
        .map(|line| {
            let (case, v) = line.split_once('\t').unwrap();
            (case.to_string(), v.to_string())
        })
        .collect();
    let mut changes = Vec::new();
    for (case, v) in &verdicts {
        match recorded.get(case) {
            Some(r) if r == v => {}
            Some(r) => changes.push(format!("{case}: recorded {r}, now {v}")),
            None => changes.push(format!("{case}: new case, now {v}")),
        }
    }
    for case in recorded.keys().filter(|c| !verdicts.contains_key(*c)) {
        changes.push(format!("{case}: recorded, no longer run"));
    }
    assert!(
        changes.is_empty(),
        "{} verdicts changed:\n{}",
        changes.len(),
        changes.join("\n")
    );
    // The corpus really was run: both accepted and refused documents are among the verdicts.
    assert!(verdicts.len() > 3000, "{}", verdicts.len());
    assert!(verdicts.values().any(|v| v == "OK"));
    assert!(verdicts.values().any(|v| v == "SOD_SIGNATURE_INVALID"));
    assert!(
        verdicts
            .values()
            .any(|v| v == "DS_CERTIFICATE_SIGNATURE_INVALID")
    );
}

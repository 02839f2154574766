//! Replays the committed corpora of the `authenticity_cms` and `authenticity_x509` fuzz
//! targets on stable Rust: nothing the fuzzers found interesting may panic.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use mrtd::authenticity::passive::{self, PassiveAuthInput, PassiveAuthPolicy};
use mrtd::authenticity::signature::PublicKey;
use mrtd::authenticity::trust::{self, TrustStore, TrustStoreConfig};
use mrtd::authenticity::x509::{Certificate, Crl};

const NOW: i64 = 1_767_225_600;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fuzz corpus {} missing ({e})", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(inputs.len() > 10, "corpus {target} too small");
    inputs
}

#[test]
fn cms_corpus_replays_without_panic() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authenticity");
    let store = TrustStore::load(
        &TrustStoreConfig {
            csca_paths: vec![fixtures.join("csca-rsa.der"), fixtures.join("csca-ec.der")],
            crl_paths: vec![fixtures.join("csca-rsa.crl")],
            ..TrustStoreConfig::default()
        },
        NOW,
    )
    .unwrap();
    let signers: Vec<Certificate> = store
        .cscas()
        .iter()
        .map(|c| c.certificate.clone())
        .collect();
    let groups = BTreeMap::from([
        (1u8, std::fs::read(fixtures.join("dg1.bin")).unwrap()),
        (2u8, std::fs::read(fixtures.join("dg2.bin")).unwrap()),
    ]);
    let mut parsed = 0;
    for data in corpus("authenticity_cms") {
        let _ = trust::verify_master_list(&data, &signers, NOW);
        let _ = passive::verify_card_security(&data, &store, &PassiveAuthPolicy::default(), NOW);
        let sod = mrtd::tlv::encode(0x77, &data);
        let input = PassiveAuthInput {
            sod: &sod,
            data_groups: &groups,
            optical_mrz: None,
            time: NOW,
        };
        if let Err(e) = passive::verify_passive(&input, &store, &PassiveAuthPolicy::default()) {
            assert!(!e.reason_code().is_empty());
        }
        if mrtd::authenticity::cms::SignedData::parse_content_info(&data).is_ok() {
            parsed += 1;
        }
    }
    // The seeds (fixture SODs, master lists) are in the corpus and still parse.
    assert!(parsed >= 10, "{parsed}");
}

#[test]
fn x509_corpus_replays_without_panic() {
    let mut parsed = 0;
    for data in corpus("authenticity_x509") {
        if Certificate::parse(&data).is_ok() {
            parsed += 1;
        }
        let _ = Crl::parse(&data);
        if let Ok(key) = PublicKey::from_spki(&data) {
            let _ = key.describe();
        }
        let _ = mrtd::authenticity::signature::ec_curve(&data);
        let _ = mrtd::authenticity::chip::parameters_from_dg14(&mrtd::tlv::encode(0x6E, &data));
    }
    assert!(parsed >= 10, "{parsed}");
}

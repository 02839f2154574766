//! CMS SignedData as in EF.SOD, EF.CardSecurity and ICAO master lists: parsing and the whole
//! passive authentication / master-list verification on arbitrary bytes, against a trust
//! store built from the committed test PKI.
#![no_main]
use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mrtd::authenticity::passive::{self, PassiveAuthInput, PassiveAuthPolicy};
use mrtd::authenticity::trust::{self, CscaSource, TrustStore};
use mrtd::authenticity::x509::{Certificate, Crl};

const NOW: i64 = 1_767_225_600;

fn trust_store() -> &'static (TrustStore, Vec<Certificate>) {
    static STORE: OnceLock<(TrustStore, Vec<Certificate>)> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut store = TrustStore::new();
        let mut cscas = Vec::new();
        for der in [
            &include_bytes!("../../tests/fixtures/authenticity/csca-rsa.der")[..],
            &include_bytes!("../../tests/fixtures/authenticity/csca-ec.der")[..],
        ] {
            if let Ok(cert) = Certificate::parse(der) {
                cscas.push(cert.clone());
                store.add_csca(cert, CscaSource::Added);
            }
        }
        if let Ok(crl) = Crl::parse(include_bytes!(
            "../../tests/fixtures/authenticity/csca-rsa.crl"
        )) {
            let _ = store.add_crl(crl);
        }
        (store, cscas)
    })
}

fuzz_target!(|data: &[u8]| {
    let (store, cscas) = trust_store();
    let _ = mrtd::authenticity::cms::SignedData::parse_content_info(data);
    let _ = trust::verify_master_list(data, cscas, NOW);
    let _ =
        passive::verify_card_security(data, store, &PassiveAuthPolicy { require_crl: true }, NOW);
    let sod = mrtd::tlv::encode(0x77, data);
    let groups = BTreeMap::from([
        (
            1u8,
            include_bytes!("../../tests/fixtures/authenticity/dg1.bin").to_vec(),
        ),
        (
            2u8,
            include_bytes!("../../tests/fixtures/authenticity/dg2.bin").to_vec(),
        ),
    ]);
    let input = PassiveAuthInput {
        sod: &sod,
        data_groups: &groups,
        optical_mrz: None,
        time: NOW,
    };
    if let Err(e) = passive::verify_passive(&input, store, &PassiveAuthPolicy::default()) {
        let _ = e.reason_code();
    }
});

//! Bench binary: time of passive authentication (EF.SOD parse, CMS signature, DS checks, CRL,
//! chain to the CSCA, DG hashes, DG1 = MRZ, issuing state) for the committed test PKI, and of
//! trust store loading. Run: `cargo run --release -p mrtd --example authenticity_bench`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mrtd::authenticity::passive::{PassiveAuthInput, PassiveAuthPolicy, verify_passive};
use mrtd::authenticity::trust::{TrustStore, TrustStoreConfig};
use mrtd::mrz::Mrz;

const NOW: i64 = 1_767_225_600;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/authenticity")
        .join(name)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<F: FnMut()>(iterations: usize, mut f: F) -> Duration {
    f(); // warm-up
    median(
        (0..iterations)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let config = TrustStoreConfig {
        csca_paths: vec![path("csca-rsa.pem"), path("csca-ec.der")],
        crl_paths: vec![path("csca-rsa.crl"), path("csca-ec.crl")],
        ..TrustStoreConfig::default()
    };
    let ml_config = TrustStoreConfig {
        master_list_paths: vec![path("masterlist.ml")],
        master_list_signer_paths: vec![path("csca-rsa.pem")],
        crl_paths: vec![path("csca-rsa.crl")],
        ..TrustStoreConfig::default()
    };
    let load = time(20, || {
        TrustStore::load(&config, NOW).unwrap();
    });
    let load_ml = time(20, || {
        TrustStore::load(&ml_config, NOW).unwrap();
    });
    println!("trust store load (2 CSCA files + 2 CRLs):        {load:>10.2?}");
    println!("trust store load (master list of 2 + 1 CRL):    {load_ml:>10.2?}");

    let trust = TrustStore::load(&config, NOW).unwrap();
    let groups = BTreeMap::from([
        (1u8, std::fs::read(path("dg1.bin")).unwrap()),
        (2u8, std::fs::read(path("dg2.bin")).unwrap()),
    ]);
    let mrz = Mrz::parse(&[
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ])
    .unwrap();
    println!("passive authentication, median of 50 (DS + CSCA signatures, CRL, DG1 + 1 KB DG2):");
    for (cms, what) in [
        ("sod-rsa-v15.cms", "RSA-2048 PKCS#1 v1.5 SOD, RSA-2048 CSCA"),
        ("sod-rsa-pss.cms", "RSA-2048 PSS SOD, RSA-2048 CSCA"),
        (
            "sod-ecdsa.cms",
            "ECDSA brainpoolP256r1 SOD, brainpoolP256r1 CSCA",
        ),
        ("sod-p384.cms", "ECDSA P-384 SOD, brainpoolP256r1 CSCA"),
        ("sod-p521.cms", "ECDSA P-521 SOD, brainpoolP256r1 CSCA"),
    ] {
        let sod = mrtd::tlv::encode(0x77, &std::fs::read(path(cms)).unwrap());
        let input = PassiveAuthInput {
            sod: &sod,
            data_groups: &groups,
            optical_mrz: Some(&mrz),
            time: NOW,
        };
        let elapsed = time(50, || {
            verify_passive(&input, &trust, &PassiveAuthPolicy::default()).unwrap();
        });
        println!("  {what:<50} {elapsed:>10.2?}");
    }
}

//! Passive authentication and trust store against fixtures made by the openssl CLI
//! (`tests/fixtures/make-fixtures.sh`, an implementation independent of this crate).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use mrtd::authenticity::passive::{
    PassiveAuthError, PassiveAuthInput, PassiveAuthPolicy, verify_passive,
};
use mrtd::authenticity::trust::{MasterListError, TrustStore, TrustStoreConfig, TrustStoreError};
use mrtd::lds::HashAlgorithm;
use mrtd::mrz::Mrz;
use mrtd::tlv;

/// 2026-01-01T00:00:00Z: inside every fixture's validity except the expired DS.
const NOW: i64 = 1_767_225_600;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/authenticity")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn ef_sod(cms: &str) -> Vec<u8> {
    tlv::encode(0x77, &fixture(cms))
}

fn data_groups(dg1: &str) -> BTreeMap<u8, Vec<u8>> {
    BTreeMap::from([(1, fixture(dg1)), (2, fixture("dg2.bin"))])
}

fn optical() -> Mrz {
    Mrz::parse(&[
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ])
    .unwrap()
}

fn config() -> TrustStoreConfig {
    TrustStoreConfig {
        csca_paths: vec![path("csca-rsa.pem"), path("csca-ec.der")],
        crl_paths: vec![path("csca-rsa.crl"), path("csca-ec.crl")],
        ..TrustStoreConfig::default()
    }
}

fn trust() -> TrustStore {
    TrustStore::load(&config(), NOW).unwrap()
}

fn verify_with(
    sod: &[u8],
    groups: &BTreeMap<u8, Vec<u8>>,
    mrz: Option<&Mrz>,
    time: i64,
    trust: &TrustStore,
    policy: PassiveAuthPolicy,
) -> Result<mrtd::authenticity::passive::PassiveAuthReport, PassiveAuthError> {
    let input = PassiveAuthInput {
        sod,
        data_groups: groups,
        optical_mrz: mrz,
        time,
    };
    verify_passive(&input, trust, &policy)
}

fn verify(cms: &str) -> Result<mrtd::authenticity::passive::PassiveAuthReport, PassiveAuthError> {
    verify_with(
        &ef_sod(cms),
        &data_groups("dg1.bin"),
        Some(&optical()),
        NOW,
        &trust(),
        PassiveAuthPolicy::default(),
    )
}

#[test]
fn genuine_documents_pass_with_every_signature_scheme() {
    let cases = [
        (
            "sod-rsa-v15.cms",
            "RSA-PKCS1-SHA256",
            "RSA-2048",
            HashAlgorithm::Sha256,
        ),
        (
            "sod-rsa-pss.cms",
            "RSA-PSS-SHA256",
            "RSA-2048",
            HashAlgorithm::Sha256,
        ),
        (
            "sod-rsa-sha1.cms",
            "RSA-PKCS1-SHA1",
            "RSA-2048",
            HashAlgorithm::Sha1,
        ),
        (
            "sod-rsa-sha224.cms",
            "RSA-PKCS1-SHA224",
            "RSA-2048",
            HashAlgorithm::Sha256,
        ),
        (
            "sod-rsa-sha512.cms",
            "RSA-PKCS1-SHA512",
            "RSA-2048",
            HashAlgorithm::Sha512,
        ),
        (
            "sod-ecdsa.cms",
            "ECDSA-SHA256",
            "EC brainpoolP256r1",
            HashAlgorithm::Sha256,
        ),
        (
            "sod-p384.cms",
            "ECDSA-SHA384",
            "EC secp384r1",
            HashAlgorithm::Sha256,
        ),
        (
            "sod-p521.cms",
            "ECDSA-SHA512",
            "EC secp521r1",
            HashAlgorithm::Sha256,
        ),
    ];
    for (cms, scheme, key, hash) in cases {
        let report = verify(cms).unwrap_or_else(|e| panic!("{cms}: {e}"));
        assert_eq!(report.signature_scheme, scheme, "{cms}");
        assert_eq!(report.signer_key, key, "{cms}");
        assert_eq!(report.hash_algorithm, hash, "{cms}");
        assert_eq!(report.data_groups_verified, vec![1, 2], "{cms}");
        assert_eq!(report.country, "UT");
        assert!(report.crl_checked && report.mrz_compared);
    }
}

#[test]
fn explicit_curve_parameters_are_matched_to_the_named_curve() {
    // ds-ec.der spells brainpoolP256r1 out (openssl -param_enc explicit).
    let cert = mrtd::authenticity::x509::Certificate::parse(&fixture("ds-ec.der")).unwrap();
    assert_eq!(cert.public_key().unwrap().describe(), "EC brainpoolP256r1");
}

#[test]
fn tampered_data_groups_are_refused() {
    for number in [1u8, 2] {
        let mut groups = data_groups("dg1.bin");
        let dg = groups.get_mut(&number).unwrap();
        let last = dg.len() - 1;
        dg[last] ^= 0x01;
        let err = verify_with(
            &ef_sod("sod-rsa-v15.cms"),
            &groups,
            None,
            NOW,
            &trust(),
            PassiveAuthPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(err, PassiveAuthError::DataGroupHashMismatch(number));
        assert_eq!(err.reason_code(), "DG_HASH_MISMATCH");
    }
    let mut groups = data_groups("dg1.bin");
    groups.insert(3, vec![0x63, 0x00]);
    let err = verify_with(
        &ef_sod("sod-rsa-v15.cms"),
        &groups,
        None,
        NOW,
        &trust(),
        PassiveAuthPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(err, PassiveAuthError::DataGroupNotInSod(3));
}

#[test]
fn certificate_failures_each_have_their_own_error() {
    assert!(matches!(
        verify("sod-unknown-signer.cms").unwrap_err(),
        PassiveAuthError::CscaUnknown { .. }
    ));
    assert!(matches!(
        verify("sod-expired.cms").unwrap_err(),
        PassiveAuthError::DsCertificateExpired { .. }
    ));
    assert!(matches!(
        verify("sod-revoked.cms").unwrap_err(),
        PassiveAuthError::DsCertificateRevoked { .. }
    ));
    assert!(matches!(
        verify("sod-wrong-ku.cms").unwrap_err(),
        PassiveAuthError::DsKeyUsageInvalid { .. }
    ));
    assert!(matches!(
        verify("sod-wrong-csca.cms").unwrap_err(),
        PassiveAuthError::DsCertificateSignatureInvalid { .. }
    ));
    assert!(matches!(
        verify("sod-k256.cms").unwrap_err(),
        PassiveAuthError::UnsupportedAlgorithm(_)
    ));
    // Before the DS validity (2024-01-01).
    let err = verify_with(
        &ef_sod("sod-rsa-v15.cms"),
        &data_groups("dg1.bin"),
        None,
        1_600_000_000,
        &trust(),
        PassiveAuthPolicy::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        PassiveAuthError::DsCertificateNotYetValid { .. }
    ));
}

#[test]
fn revocation_needs_the_crl_and_the_policy_can_require_one() {
    let no_crl = TrustStore::load(
        &TrustStoreConfig {
            crl_paths: vec![],
            ..config()
        },
        NOW,
    )
    .unwrap();
    let groups = data_groups("dg1.bin");
    // Without the CRL the revoked DS is not detectable...
    assert!(
        verify_with(
            &ef_sod("sod-revoked.cms"),
            &groups,
            None,
            NOW,
            &no_crl,
            PassiveAuthPolicy::default()
        )
        .is_ok()
    );
    // ...which a policy requiring CRLs refuses.
    let strict = PassiveAuthPolicy { require_crl: true };
    let err = verify_with(
        &ef_sod("sod-rsa-v15.cms"),
        &groups,
        None,
        NOW,
        &no_crl,
        strict,
    )
    .unwrap_err();
    assert_eq!(err.reason_code(), "CRL_UNAVAILABLE");
    assert!(
        verify_with(
            &ef_sod("sod-rsa-v15.cms"),
            &groups,
            None,
            NOW,
            &trust(),
            strict
        )
        .is_ok()
    );
    // After the CRL's nextUpdate (2036) it is no longer current.
    let late = NOW + 11 * 365 * 86_400;
    let err = verify_with(
        &ef_sod("sod-rsa-v15.cms"),
        &groups,
        None,
        late,
        &trust(),
        strict,
    )
    .unwrap_err();
    assert_eq!(err.reason_code(), "CRL_UNAVAILABLE");
}

#[test]
fn a_crl_not_signed_by_a_trusted_csca_is_ignored() {
    let store = TrustStore::load(
        &TrustStoreConfig {
            csca_paths: vec![path("csca-ec.der")],
            crl_paths: vec![path("csca-rsa.crl")],
            ..TrustStoreConfig::default()
        },
        NOW,
    )
    .unwrap();
    assert!(store.crls().is_empty());
    assert_eq!(store.warnings().len(), 1);
}

#[test]
fn dg1_must_equal_the_optical_mrz() {
    let other = Mrz::parse(&[
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C<3UTO6908061F9406236ZE184226B<<<<<14",
    ])
    .unwrap();
    let err = verify_with(
        &ef_sod("sod-rsa-v15.cms"),
        &data_groups("dg1.bin"),
        Some(&other),
        NOW,
        &trust(),
        PassiveAuthPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(err, PassiveAuthError::Dg1MrzMismatch);
    assert_eq!(err.reason_code(), "DG1_MRZ_MISMATCH");
}

#[test]
fn issuing_state_must_match_the_certificates() {
    // A correctly signed SOD over a DG1 issued by "D" (Germany) under the UT PKI.
    let groups = data_groups("dg1-d.bin");
    let err = verify_with(
        &ef_sod("sod-state-d.cms"),
        &groups,
        None,
        NOW,
        &trust(),
        PassiveAuthPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        PassiveAuthError::IssuingStateMismatch {
            document: "D".into(),
            certificate: "UT".into()
        }
    );
}

#[test]
fn bad_signature_and_tampered_content_are_refused() {
    // Flip a bit inside the signature value (the last element of the SignerInfo).
    let mut cms = fixture("sod-rsa-v15.cms");
    let at = cms.len() - 10;
    cms[at] ^= 0x01;
    let err = verify_with(
        &tlv::encode(0x77, &cms),
        &data_groups("dg1.bin"),
        None,
        NOW,
        &trust(),
        PassiveAuthPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(err, PassiveAuthError::SodSignatureInvalid);
    assert_eq!(err.reason_code(), "SOD_SIGNATURE_INVALID");

    // Flip a bit of the DG2 hash inside the eContent: the message digest no longer matches.
    let mut cms = fixture("sod-ecdsa.cms");
    let lds_end = find(&cms, &fixture_hash_prefix()).unwrap() + 20;
    cms[lds_end] ^= 0x01;
    let err = verify_with(
        &tlv::encode(0x77, &cms),
        &data_groups("dg1.bin"),
        None,
        NOW,
        &trust(),
        PassiveAuthPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(err.reason_code(), "SOD_SIGNED_ATTRIBUTES_INVALID");
}

/// `30 25 02 01 02 04 20`: the DG2 DataGroupHash header in the SHA-256 LDS object.
fn fixture_hash_prefix() -> Vec<u8> {
    vec![0x30, 0x25, 0x02, 0x01, 0x02, 0x04, 0x20]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn reason_codes_are_distinct() {
    let errors = [
        verify("sod-unknown-signer.cms").unwrap_err(),
        verify("sod-expired.cms").unwrap_err(),
        verify("sod-revoked.cms").unwrap_err(),
        verify("sod-wrong-ku.cms").unwrap_err(),
        verify("sod-wrong-csca.cms").unwrap_err(),
        verify("sod-k256.cms").unwrap_err(),
        PassiveAuthError::Dg1MrzMismatch,
        PassiveAuthError::DataGroupHashMismatch(1),
        PassiveAuthError::SodSignatureInvalid,
        PassiveAuthError::IssuingStateMismatch {
            document: String::new(),
            certificate: String::new(),
        },
    ];
    let mut codes: Vec<_> = errors.iter().map(|e| e.reason_code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "{codes:?}");
}

#[test]
fn master_list_loads_and_a_csca_outside_it_is_rejected() {
    let ml_config = TrustStoreConfig {
        master_list_paths: vec![path("masterlist.ml")],
        // The master-list signer was issued by csca-rsa: configuring its issuer suffices.
        master_list_signer_paths: vec![path("csca-rsa.pem")],
        ..TrustStoreConfig::default()
    };
    let store = TrustStore::load(&ml_config, NOW).unwrap();
    assert_eq!(store.cscas().len(), 2);
    let groups = data_groups("dg1.bin");
    let policy = PassiveAuthPolicy::default();
    for cms in ["sod-rsa-pss.cms", "sod-ecdsa.cms"] {
        assert!(
            verify_with(&ef_sod(cms), &groups, None, NOW, &store, policy).is_ok(),
            "{cms}"
        );
    }
    let err = verify_with(
        &ef_sod("sod-unknown-signer.cms"),
        &groups,
        None,
        NOW,
        &store,
        policy,
    )
    .unwrap_err();
    assert_eq!(err.reason_code(), "CSCA_UNKNOWN");

    // The signer certificate itself works as the anchor too.
    let by_signer = TrustStoreConfig {
        master_list_signer_paths: vec![path("mls.der")],
        ..ml_config.clone()
    };
    assert_eq!(TrustStore::load(&by_signer, NOW).unwrap().cscas().len(), 2);

    // An entry that is not a certificate is skipped with a warning, the rest is trusted.
    let junk = TrustStoreConfig {
        master_list_paths: vec![path("masterlist-junk.ml")],
        ..ml_config.clone()
    };
    let store = TrustStore::load(&junk, NOW).unwrap();
    assert_eq!(store.cscas().len(), 2);
    assert_eq!(store.warnings().len(), 1, "{:?}", store.warnings());

    // A list signed by someone else is refused, and so is a tampered one.
    let untrusted = TrustStoreConfig {
        master_list_paths: vec![path("masterlist-untrusted.ml")],
        ..ml_config.clone()
    };
    match TrustStore::load(&untrusted, NOW) {
        Err(TrustStoreError::MasterList {
            source: MasterListError::SignerNotTrusted(_),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let mut ml = fixture("masterlist.ml");
    let at = ml.len() / 2;
    ml[at] ^= 0x01;
    let signer = mrtd::authenticity::x509::Certificate::parse(&fixture("csca-rsa.der")).unwrap();
    assert!(mrtd::authenticity::trust::verify_master_list(&ml, &[signer], NOW).is_err());
    // Without any signer configured, master lists are refused outright.
    let no_signer = TrustStoreConfig {
        master_list_signer_paths: vec![],
        ..ml_config
    };
    assert!(matches!(
        TrustStore::load(&no_signer, NOW),
        Err(TrustStoreError::NoMasterListSigner)
    ));
}

#[test]
fn directory_loading_reads_pem_and_der() {
    let store = TrustStore::load(
        &TrustStoreConfig {
            csca_paths: vec![path("")],
            ..TrustStoreConfig::default()
        },
        NOW,
    )
    .unwrap();
    // csca-*.der/.pem and every DS/mls certificate in the fixture directory, de-duplicated.
    let subjects: Vec<String> = store
        .cscas()
        .iter()
        .map(|c| c.certificate.subject.to_string())
        .collect();
    assert!(subjects.iter().any(|s| s.contains("CSCA Utopia TEST")));
    assert!(subjects.iter().any(|s| s.contains("CSCA Utopia EC TEST")));
    let unique: std::collections::BTreeSet<_> = store
        .cscas()
        .iter()
        .map(|c| c.certificate.raw.clone())
        .collect();
    assert_eq!(unique.len(), store.cscas().len());
}

#[test]
fn malformed_sods_give_errors_not_panics() {
    let sod = ef_sod("sod-rsa-pss.cms");
    let groups = data_groups("dg1.bin");
    let store = trust();
    for cut in (0..sod.len()).step_by(7) {
        let err = verify_with(
            &sod[..cut],
            &groups,
            None,
            NOW,
            &store,
            PassiveAuthPolicy::default(),
        );
        assert!(err.is_err(), "cut {cut}");
    }
    let mut state = 0x1234_5678u32;
    for _ in 0..2000 {
        let mut mutated = sod.clone();
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let at = state as usize % mutated.len();
        mutated[at] ^= (state >> 24) as u8 | 1;
        // Must not panic; a mutation of an unsigned part may still verify.
        let _ = verify_with(
            &mutated,
            &groups,
            None,
            NOW,
            &store,
            PassiveAuthPolicy::default(),
        );
    }
}

//! X.509 certificates, CRLs, SubjectPublicKeyInfos (RSA, EC named and explicit curves) and
//! Active Authentication keys (DG15) and Chip Authentication keys (DG14) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrtd::authenticity::signature::{PublicKey, Scheme};
use mrtd::authenticity::x509::{self, Certificate, Crl};
use mrtd::lds::HashAlgorithm;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::parse(data) {
        let _ = cert.subject.to_string();
        let _ = cert.subject.country();
        if let Ok(key) = cert.public_key() {
            let _ = cert.verify_signed_by(&key);
        }
    }
    if let Ok(crl) = Crl::parse(data) {
        let _ = crl.is_revoked(&[1]);
    }
    for block in x509::pem_or_der(data, "CERTIFICATE") {
        let _ = Certificate::parse(&block);
    }
    if let Ok(key) = PublicKey::from_spki(data) {
        let _ = key.verify(
            Scheme::EcdsaPlain(HashAlgorithm::Sha256),
            b"challenge",
            &[1; 64],
        );
        let _ = key.verify(
            Scheme::RsaPkcs1(HashAlgorithm::Sha256),
            b"message",
            &[1; 256],
        );
    }
    let _ = mrtd::authenticity::signature::ec_curve(data);
    // DG14 SecurityInfos (Chip Authentication, ECDH and DH keys).
    let _ = mrtd::authenticity::chip::parameters_from_dg14(&mrtd::tlv::encode(0x6E, data));
    let dg15 = mrtd::tlv::encode(0x6F, data);
    let _ =
        mrtd::authenticity::active::verify_active_authentication(&dg15, None, &[0; 8], &[1; 128]);
});

//! TEST PKI: a Country Signing CA (CSCA) and a Document Signer (DS) with ECDSA P-256 keys,
//! X.509 v3 certificates in DER/PEM, and the CMS SignedData of EF.SOD.
//!
//! Keys are random, or derived from a seed so that repeated runs give the same CSCA (a
//! verifier can then keep trusting it). These keys protect nothing: never use them for real
//! documents.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::der::{self, oid};

/// Errors of the test PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Random bytes or a seed did not give a valid P-256 key.
    #[error("could not make a P-256 key: {0}")]
    Key(String),
    /// Writing a certificate failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Settings of the generated PKI. The validity fields make expired or not-yet-valid
/// document signers easy to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiOptions {
    /// ISO 3166 alpha-2 country of both certificates (default "UT", the ICAO test state).
    pub country: String,
    /// Derive keys from this seed instead of random bytes.
    pub seed: Option<String>,
    /// CSCA validity as Unix seconds (not before, not after).
    pub csca_validity: (i64, i64),
    /// DS validity as Unix seconds (not before, not after).
    pub ds_validity: (i64, i64),
}

const DAY: i64 = 86_400;

impl Default for PkiOptions {
    fn default() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let today = now - now.rem_euclid(DAY);
        PkiOptions {
            country: "UT".to_string(),
            seed: None,
            csca_validity: (today - 365 * DAY, today + 15 * 365 * DAY),
            ds_validity: (today - 30 * DAY, today + 10 * 365 * DAY),
        }
    }
}

/// A key pair with its certificate.
#[derive(Clone)]
pub struct Credential {
    key: SigningKey,
    /// DER X.509 certificate.
    pub certificate: Vec<u8>,
    /// Issuer Name (DER) of the certificate.
    pub issuer: Vec<u8>,
    /// Serial number (DER INTEGER).
    pub serial: Vec<u8>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("certificate_len", &self.certificate.len())
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        *self.key.verifying_key()
    }

    /// Signs `message` (ECDSA P-256 with SHA-256), DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

/// The CSCA and the DS it issued.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Country Signing CA (self-signed).
    pub csca: Credential,
    /// Document Signer (issued by the CSCA).
    pub document_signer: Credential,
}

fn new_key(seed: Option<&str>, label: &str) -> Result<SigningKey, PkiError> {
    let bytes: [u8; 32] = match seed {
        Some(seed) => Sha256::new()
            .chain_update(b"virtual-epassport test pki\0")
            .chain_update(seed.as_bytes())
            .chain_update([0])
            .chain_update(label.as_bytes())
            .finalize()
            .into(),
        None => {
            let mut b = [0u8; 32];
            mrtd::crypto::random_bytes(&mut b).map_err(|e| PkiError::Key(e.to_string()))?;
            b
        }
    };
    SigningKey::from_slice(&bytes).map_err(|e| PkiError::Key(e.to_string()))
}

/// SubjectPublicKeyInfo of a P-256 key.
pub fn subject_public_key_info(key: &VerifyingKey) -> Vec<u8> {
    let point = key.to_encoded_point(false);
    der::sequence(&[
        &der::sequence(&[&der::oid(oid::EC_PUBLIC_KEY), &der::oid(oid::PRIME256V1)]),
        &der::bit_string(point.as_bytes()),
    ])
}

fn key_identifier(key: &VerifyingKey) -> Vec<u8> {
    Sha1::digest(key.to_encoded_point(false).as_bytes()).to_vec()
}

fn extension(extension_oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let critical = if critical {
        der::tlv(0x01, &[0xFF])
    } else {
        Vec::new()
    };
    der::sequence(&[
        &der::oid(extension_oid),
        &critical,
        &der::octet_string(value),
    ])
}

struct CertificateRequest<'a> {
    serial: Vec<u8>,
    issuer: Vec<u8>,
    subject: Vec<u8>,
    validity: (i64, i64),
    subject_key: &'a VerifyingKey,
    issuer_key: &'a SigningKey,
    ca: bool,
}

fn certificate(request: &CertificateRequest<'_>) -> Vec<u8> {
    let signature_algorithm = der::algorithm(oid::ECDSA_WITH_SHA256);
    let issuer_public = request.issuer_key.verifying_key();
    let mut extensions = vec![
        extension(
            oid::AUTHORITY_KEY_IDENTIFIER,
            false,
            &der::sequence(&[&der::tlv(0x80, &key_identifier(issuer_public))]),
        ),
        extension(
            oid::SUBJECT_KEY_IDENTIFIER,
            false,
            &der::octet_string(&key_identifier(request.subject_key)),
        ),
    ];
    if request.ca {
        // keyCertSign + cRLSign; CA with path length 0.
        extensions.push(extension(
            oid::KEY_USAGE,
            true,
            &der::tlv(0x03, &[0x01, 0x06]),
        ));
        extensions.push(extension(
            oid::BASIC_CONSTRAINTS,
            true,
            &der::sequence(&[&der::tlv(0x01, &[0xFF]), &der::small_uint(0)]),
        ));
    } else {
        // digitalSignature.
        extensions.push(extension(
            oid::KEY_USAGE,
            true,
            &der::tlv(0x03, &[0x07, 0x80]),
        ));
    }
    let tbs = der::sequence(&[
        &der::tlv(0xA0, &der::small_uint(2)),
        &request.serial,
        &signature_algorithm,
        &request.issuer,
        &der::sequence(&[
            &der::time(request.validity.0),
            &der::time(request.validity.1),
        ]),
        &request.subject,
        &subject_public_key_info(request.subject_key),
        &der::tlv(0xA3, &der::sequence(&[&extensions.concat()])),
    ]);
    let signature: Signature = request.issuer_key.sign(&tbs);
    der::sequence(&[
        &tbs,
        &signature_algorithm,
        &der::bit_string(signature.to_der().as_bytes()),
    ])
}

fn serial_for(key: &SigningKey) -> Vec<u8> {
    let mut bytes = key_identifier(key.verifying_key())[..8].to_vec();
    bytes[0] = (bytes[0] & 0x7F) | 0x01;
    der::uint(&bytes)
}

impl Pki {
    /// Generates a CSCA and a DS.
    pub fn generate(options: &PkiOptions) -> Result<Pki, PkiError> {
        let seed = options.seed.as_deref();
        let csca_key = new_key(seed, "csca")?;
        let ds_key = new_key(seed, "ds")?;
        let csca_name = der::name(
            &options.country,
            "Virtual ePassport TEST",
            "TEST CSCA (virtual-epassport, not for production)",
        );
        let ds_name = der::name(
            &options.country,
            "Virtual ePassport TEST",
            "TEST Document Signer (virtual-epassport)",
        );
        let csca_serial = serial_for(&csca_key);
        let csca_certificate = certificate(&CertificateRequest {
            serial: csca_serial.clone(),
            issuer: csca_name.clone(),
            subject: csca_name.clone(),
            validity: options.csca_validity,
            subject_key: csca_key.verifying_key(),
            issuer_key: &csca_key,
            ca: true,
        });
        let ds_serial = serial_for(&ds_key);
        let ds_certificate = certificate(&CertificateRequest {
            serial: ds_serial.clone(),
            issuer: csca_name.clone(),
            subject: ds_name,
            validity: options.ds_validity,
            subject_key: ds_key.verifying_key(),
            issuer_key: &csca_key,
            ca: false,
        });
        Ok(Pki {
            csca: Credential {
                key: csca_key,
                certificate: csca_certificate,
                issuer: csca_name.clone(),
                serial: csca_serial,
            },
            document_signer: Credential {
                key: ds_key,
                certificate: ds_certificate,
                issuer: csca_name,
                serial: ds_serial,
            },
        })
    }

    /// A version-2 CRL of this PKI's CSCA (ECDSA with SHA-256) revoking the certificates with
    /// the given serials (DER INTEGERs, e.g. `&pki.document_signer.serial`), valid from
    /// `this_update` to `next_update` (Unix seconds).
    pub fn crl(&self, revoked: &[&[u8]], this_update: i64, next_update: i64) -> Vec<u8> {
        let algorithm = der::algorithm(oid::ECDSA_WITH_SHA256);
        let entries: Vec<Vec<u8>> = revoked
            .iter()
            .map(|serial| der::sequence(&[serial, &der::time(this_update)]))
            .collect();
        let version = der::small_uint(1);
        let this = der::time(this_update);
        let next = der::time(next_update);
        let list = der::sequence(&entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let mut fields: Vec<&[u8]> = vec![
            &version,
            &algorithm,
            &self.document_signer.issuer,
            &this,
            &next,
        ];
        if !entries.is_empty() {
            fields.push(&list);
        }
        let tbs = der::sequence(&fields);
        let signature: Signature = self.csca.key.sign(&tbs);
        der::sequence(&[
            &tbs,
            &algorithm,
            &der::bit_string(signature.to_der().as_bytes()),
        ])
    }

    /// An ICAO CSCA master list (CMS SignedData, eContentType id-icao-cscaMasterList,
    /// 2.23.136.1.1.2) holding the `cscas` certificates, signed by this PKI's document signer
    /// acting as master-list signer (certified by this CSCA).
    pub fn master_list(&self, cscas: &[&[u8]]) -> Vec<u8> {
        let certificates: Vec<Vec<u8>> = cscas.iter().map(|c| c.to_vec()).collect();
        let content = der::sequence(&[&der::small_uint(0), &der::set_of(&certificates)]);
        signed_data(
            &[0x67, 0x81, 0x08, 0x01, 0x01, 0x02],
            &content,
            &self.document_signer,
        )
    }

    /// Writes `csca.der`, `csca.pem`, `ds.der` and `ds.pem` to `dir` (created if needed);
    /// returns the paths written.
    pub fn write_certificates(&self, dir: &Path) -> Result<Vec<PathBuf>, PkiError> {
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            fs::write(&path, bytes).map_err(|source| PkiError::Write {
                path: path.clone(),
                source,
            })?;
            Ok::<PathBuf, PkiError>(path)
        };
        fs::create_dir_all(dir).map_err(|source| PkiError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(vec![
            write("csca.der", &self.csca.certificate)?,
            write(
                "csca.pem",
                der::pem("CERTIFICATE", &self.csca.certificate).as_bytes(),
            )?,
            write("ds.der", &self.document_signer.certificate)?,
            write(
                "ds.pem",
                der::pem("CERTIFICATE", &self.document_signer.certificate).as_bytes(),
            )?,
        ])
    }
}

/// `ContentInfo { signedData }` around `content` of type `content_type`, signed by `signer`
/// with signed attributes (contentType, messageDigest), the signer's certificate included.
pub fn signed_data(content_type: &[u8], content: &[u8], signer: &Credential) -> Vec<u8> {
    let sha256 = der::algorithm(oid::SHA256);
    let digest = Sha256::digest(content);
    let attributes = [
        der::sequence(&[
            &der::oid(oid::CONTENT_TYPE),
            &der::set_of(&[der::oid(content_type)]),
        ]),
        der::sequence(&[
            &der::oid(oid::MESSAGE_DIGEST),
            &der::set_of(&[der::octet_string(&digest)]),
        ]),
    ];
    // The signature covers the attributes encoded as a SET (tag 31), stored as [0] IMPLICIT.
    let signed_attributes = der::set_of(&attributes);
    let signature = signer.sign(&signed_attributes);
    let mut implicit_attributes = signed_attributes;
    implicit_attributes[0] = 0xA0;
    let signer_info = der::sequence(&[
        &der::small_uint(1),
        &der::sequence(&[&signer.issuer, &signer.serial]),
        &sha256,
        &implicit_attributes,
        &der::algorithm(oid::ECDSA_WITH_SHA256),
        &der::octet_string(&signature),
    ]);
    let signed = der::sequence(&[
        &der::small_uint(3),
        &der::set_of(std::slice::from_ref(&sha256)),
        &der::sequence(&[
            &der::oid(content_type),
            &der::tlv(0xA0, &der::octet_string(content)),
        ]),
        &der::tlv(0xA0, &signer.certificate),
        &der::set_of(&[signer_info]),
    ]);
    der::sequence(&[&der::oid(oid::SIGNED_DATA), &der::tlv(0xA0, &signed)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrtd::tlv;
    use p256::ecdsa::signature::Verifier;

    /// Splits a certificate into (tbs, signature DER).
    fn split_certificate(cert: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (outer, _) = tlv::parse_one(cert).unwrap();
        let parts = outer.children().unwrap();
        let signature = parts[2].value[1..].to_vec();
        (parts[0].raw.to_vec(), signature)
    }

    #[test]
    fn certificates_chain_to_the_csca() {
        let pki = Pki::generate(&PkiOptions::default()).unwrap();
        for cert in [&pki.csca.certificate, &pki.document_signer.certificate] {
            let (tbs, signature) = split_certificate(cert);
            let signature = Signature::from_der(&signature).unwrap();
            pki.csca
                .verifying_key()
                .verify(&tbs, &signature)
                .expect("signed by the CSCA");
        }
        let (tbs, signature) = split_certificate(&pki.document_signer.certificate);
        let signature = Signature::from_der(&signature).unwrap();
        assert!(
            pki.document_signer
                .verifying_key()
                .verify(&tbs, &signature)
                .is_err()
        );
    }

    #[test]
    fn seeded_pki_is_reproducible() {
        let options = PkiOptions {
            seed: Some("test".into()),
            ..PkiOptions::default()
        };
        let a = Pki::generate(&options).unwrap();
        let b = Pki::generate(&options).unwrap();
        assert_eq!(a.csca.verifying_key(), b.csca.verifying_key());
        let other = Pki::generate(&PkiOptions {
            seed: Some("other".into()),
            ..options
        })
        .unwrap();
        assert_ne!(a.csca.verifying_key(), other.csca.verifying_key());
    }

    #[test]
    fn signed_data_parses_and_verifies() {
        let pki = Pki::generate(&PkiOptions::default()).unwrap();
        let content = der::sequence(&[&der::small_uint(0)]);
        let ci = signed_data(oid::LDS_SECURITY_OBJECT, &content, &pki.document_signer);
        let parsed = mrtd::lds::parse_signed_data(&ci, "test").unwrap();
        assert_eq!(parsed.content, content);
        assert_eq!(
            parsed.certificates.unwrap()[4..],
            pki.document_signer.certificate[..]
        );
        // SignerInfo: version, sid, digestAlg, [0] attrs, sigAlg, signature
        let (set, _) = tlv::parse_one(&parsed.signer_infos).unwrap();
        let info = set.children().unwrap()[0].children().unwrap();
        let mut attrs = info[3].raw.to_vec();
        attrs[0] = 0x31;
        let signature = Signature::from_der(info[5].value).unwrap();
        pki.document_signer
            .verifying_key()
            .verify(&attrs, &signature)
            .unwrap();
    }
}

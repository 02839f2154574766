//! Document authenticity: passive authentication of EF.SOD against a trust store of CSCA
//! certificates and CRLs, and the clone checks Chip Authentication (DG14) and Active
//! Authentication (DG15). [`verify::authenticate_document`] runs them all after a chip read;
//! every failure maps to a stable reason code (`reason_code()`).
//!
//! Parsing is this crate's own strict DER reader ([`der`]); the arithmetic is OpenSSL's:
//! signatures ([`crate::crypto::verify`]), Chip Authentication's ECDH and DH
//! ([`crate::crypto::ecc`], [`crate::crypto::dh`], constant time for the ephemeral secret). No
//! clock is read (the verification time is an input) and no error carries personal data.
//!
//! - [`der`]: strict DER decoding (shortest lengths, no indefinite forms, bounds checked).
//! - [`x509`]: certificates, names, CRLs, PEM.
//! - [`cms`]: CMS SignedData and SignerInfo verification (signed attributes, signature).
//! - [`signature`]: RSA PKCS#1 v1.5 / PSS and ECDSA (DER and plain) verification.
//! - [`curves`]: named curves by OID, explicit parameters or ICAO parameter id.
//! - [`trust`]: [`trust::TrustStore`] from CSCA files, master lists and CRLs.
//! - [`passive`]: [`passive::verify_passive`], the passive authentication steps in the
//!   Frontex ABC order, each failure with its own reason code.
//! - [`active`]: Active Authentication (ISO 9796-2 scheme 1, ECDSA plain).
//! - [`chip`]: Chip Authentication v1 with ECDH (3DES, AES), secure messaging re-keyed.
//! - [`verify`]: [`verify::authenticate_document`], the one call for the gate.
//! - [`country`]: MRZ issuing state to ISO 3166 alpha-2.
//!
//! ```no_run
//! use mrtd::authenticity::passive::{verify_passive, PassiveAuthInput, PassiveAuthPolicy};
//! use mrtd::authenticity::trust::{TrustStore, TrustStoreConfig};
//! # fn demo(document: &mrtd::reader::ChipDocument, optical: &mrtd::mrz::Mrz, now: i64) {
//! let config = TrustStoreConfig {
//!     csca_paths: vec!["/etc/gate/csca".into()],
//!     crl_paths: vec!["/etc/gate/crl".into()],
//!     ..TrustStoreConfig::default()
//! };
//! let trust = TrustStore::load(&config, now).expect("trust store");
//! let input = PassiveAuthInput::from_chip(document, Some(optical), now);
//! match verify_passive(&input, &trust, &PassiveAuthPolicy::default()) {
//!     Ok(report) => println!("genuine, signed by {}", report.document_signer),
//!     Err(e) => println!("refused: {} ({e})", e.reason_code()),
//! }
//! # }
//! ```

pub mod active;
pub mod chip;
pub mod cms;
pub mod country;
pub mod curves;
pub mod der;
pub mod passive;
pub mod signature;
pub mod trust;
pub mod verify;
pub mod x509;

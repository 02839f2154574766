//! TLS for the server: rustls (ring provider) with mandatory client certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Errors while building the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A PEM file could not be read or held nothing usable.
    #[error("TLS file {path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the certificates or key.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client CA: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsSetupError::File {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::File {
            path: path.to_owned(),
            detail: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// Server configuration presenting `cert` (PEM chain) with `key` (PEM) and requiring every
/// client to present a certificate that chains to a CA in `client_ca` (PEM).
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in certs(client_ca)? {
        roots.add(ca)?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsSetupError::File {
        path: key.to_owned(),
        detail: e.to_string(),
    })?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(cert)?, key)?;
    Ok(Arc::new(config))
}

/// Prefix of the subject-alternative-name URI that names a gate in its client certificate:
/// `urn:gate:HND-T3-DEP-07`.
pub const GATE_URI_PREFIX: &str = "urn:gate:";

/// Prefix of the subject-alternative-name URI that names an inspection booth in its client
/// certificate: `urn:booth:HND-T3-ARR-BOOTH-04`.
pub const BOOTH_URI_PREFIX: &str = "urn:booth:";

fn uri_ids(certificate: &CertificateDer<'_>, prefix: &str) -> Vec<String> {
    match webpki::EndEntityCert::try_from(certificate) {
        Ok(parsed) => parsed
            .valid_uri_names()
            .filter_map(|uri| uri.strip_prefix(prefix))
            .map(str::to_owned)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The gate ids a client certificate speaks for: its `urn:gate:ID` subject-alternative-name
/// URIs. Empty for a certificate that names no gate (or cannot be parsed).
pub fn gate_ids(certificate: &CertificateDer<'_>) -> Vec<String> {
    uri_ids(certificate, GATE_URI_PREFIX)
}

/// The inspection booth ids a client certificate speaks for: its `urn:booth:ID`
/// subject-alternative-name URIs (may fetch and acknowledge that booth's hand-over records).
pub fn booth_ids(certificate: &CertificateDer<'_>) -> Vec<String> {
    uri_ids(certificate, BOOTH_URI_PREFIX)
}

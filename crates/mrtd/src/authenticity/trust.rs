//! The trust store: CSCA certificates (from files, directories and ICAO CSCA master lists
//! verified against configured master-list signers) and CRLs (each verified against the
//! CSCA that issued it). [`TrustStore::load`] builds a fresh store from a
//! [`TrustStoreConfig`]; a daemon reloads by calling it again and swapping the result in
//! (e.g. behind an `ArcSwap` or `RwLock<Arc<_>>`), keeping the old store if loading fails.

use std::fmt;
use std::path::{Path, PathBuf};

use super::cms::{CmsError, SignedData};
use super::der::{self, DerError, tag};
use super::x509::{self, Certificate, Crl};

/// eContentType of an ICAO CSCA master list (id-icao-cscaMasterList, 2.23.136.1.1.2).
pub const OID_CSCA_MASTER_LIST: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x02];

/// Where the trust store comes from. Paths may be files or directories; directories are
/// read non-recursively, in name order, taking files with the extensions listed per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustStoreConfig {
    /// CSCA certificates, DER or PEM (directories: `.der`, `.cer`, `.crt`, `.pem`).
    pub csca_paths: Vec<PathBuf>,
    /// ICAO CSCA master lists, DER CMS (directories: `.ml`, `.der`, `.bin`, `.p7m`, `.p7b`).
    pub master_list_paths: Vec<PathBuf>,
    /// Certificates that master lists must be signed with: either the master-list signer
    /// certificate itself or the CSCA that issued it (DER or PEM files or directories).
    pub master_list_signer_paths: Vec<PathBuf>,
    /// CRLs, DER or PEM (directories: `.crl`, `.der`, `.pem`).
    pub crl_paths: Vec<PathBuf>,
}

/// Why a master list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterListError {
    /// Malformed CMS, list or certificate inside.
    #[error("malformed master list: {0}")]
    Malformed(#[from] DerError),
    /// eContentType is not id-icao-cscaMasterList.
    #[error("not a CSCA master list (content type {0})")]
    NotAMasterList(String),
    /// CMS verification failed (attributes, signature, signer certificate missing).
    #[error("master list signature: {0}")]
    Signature(#[from] CmsError),
    /// The signer is neither a configured master-list signer nor issued by one.
    #[error("master list signer {0} is not trusted")]
    SignerNotTrusted(String),
    /// The signer certificate is outside its validity period.
    #[error("master list signer {0} is not valid at the load time")]
    SignerExpired(String),
}

/// Why the trust store could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TrustStoreError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A certificate file does not parse.
    #[error("{path}: certificate: {source}")]
    Certificate {
        /// The path.
        path: PathBuf,
        /// The DER problem.
        source: DerError,
    },
    /// A CRL file does not parse.
    #[error("{path}: CRL: {source}")]
    Crl {
        /// The path.
        path: PathBuf,
        /// The DER problem.
        source: DerError,
    },
    /// A master list was refused.
    #[error("{path}: {source}")]
    MasterList {
        /// The path.
        path: PathBuf,
        /// Why.
        source: MasterListError,
    },
    /// Master lists are configured but no master-list signer certificate.
    #[error("master lists configured without any master-list signer certificate")]
    NoMasterListSigner,
    /// A file holds no certificate or CRL at all (e.g. empty PEM).
    #[error("{0}: no certificate or CRL found")]
    Empty(PathBuf),
}

/// Where a CSCA certificate came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CscaSource {
    /// A certificate file.
    File(PathBuf),
    /// A master list file.
    MasterList(PathBuf),
    /// Added by the caller.
    Added,
}

impl fmt::Display for CscaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CscaSource::File(p) => write!(f, "file {}", p.display()),
            CscaSource::MasterList(p) => write!(f, "master list {}", p.display()),
            CscaSource::Added => f.write_str("added"),
        }
    }
}

/// A trusted CSCA certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCsca {
    /// The certificate.
    pub certificate: Certificate,
    /// Where it came from.
    pub source: CscaSource,
}

/// Trusted CSCAs and verified CRLs.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    cscas: Vec<TrustedCsca>,
    crls: Vec<Crl>,
    warnings: Vec<String>,
}

fn files_in(path: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, TrustStoreError> {
    let io = |source| TrustStoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        let file = entry.path();
        let wanted = file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)));
        if wanted && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<Vec<u8>, TrustStoreError> {
    std::fs::read(path).map_err(|source| TrustStoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

const CERT_EXTENSIONS: &[&str] = &["der", "cer", "crt", "pem"];
const ML_EXTENSIONS: &[&str] = &["ml", "der", "bin", "p7m", "p7b"];
const CRL_EXTENSIONS: &[&str] = &["crl", "der", "pem"];

/// Reads every certificate of the given files and directories.
pub fn load_certificates(
    paths: &[PathBuf],
) -> Result<Vec<(PathBuf, Certificate)>, TrustStoreError> {
    let mut out = Vec::new();
    for path in paths {
        for file in files_in(path, CERT_EXTENSIONS)? {
            let blocks = x509::pem_or_der(&read(&file)?, "CERTIFICATE");
            if blocks.is_empty() {
                return Err(TrustStoreError::Empty(file));
            }
            for block in blocks {
                let cert =
                    Certificate::parse(&block).map_err(|source| TrustStoreError::Certificate {
                        path: file.clone(),
                        source,
                    })?;
                out.push((file.clone(), cert));
            }
        }
    }
    Ok(out)
}

/// The content of a verified master list.
#[derive(Debug, Clone)]
pub struct MasterList {
    /// The CSCA (and link) certificates that parse.
    pub certificates: Vec<Certificate>,
    /// Entries that are not certificates this parser accepts (skipped, not trusted).
    pub unparsable: usize,
}

/// Verifies an ICAO CSCA master list (DER ContentInfo) and returns its certificates.
/// The signer must be one of `signers` or be issued (name, key identifier and signature)
/// by one of them, and be valid at `time` (Unix seconds). Entries of the list that do not
/// parse are skipped and counted: one odd certificate does not discard a whole list.
pub fn verify_master_list(
    data: &[u8],
    signers: &[Certificate],
    time: i64,
) -> Result<MasterList, MasterListError> {
    let signed = SignedData::parse_content_info(data)?;
    if signed.content_type.0 != OID_CSCA_MASTER_LIST {
        return Err(MasterListError::NotAMasterList(
            signed.content_type.dotted(),
        ));
    }
    let verified = signed.verify_signer(&[])?;
    let signer = verified.certificate;
    let name = signer.subject.to_string();
    let trusted = signers.iter().any(|anchor| {
        anchor.raw == signer.raw
            || (signer.names_issuer(anchor)
                && anchor
                    .public_key()
                    .is_ok_and(|key| signer.verify_signed_by(&key).is_ok()))
    });
    if !trusted {
        return Err(MasterListError::SignerNotTrusted(name));
    }
    if !signer.valid_at(time) {
        return Err(MasterListError::SignerExpired(name));
    }
    // CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }
    let what = "CscaMasterList";
    let list = der::parse_exact(&signed.content, tag::SEQUENCE, what)?;
    let mut r = list.reader(what);
    der::small_integer(&r.read()?, what)?;
    let certs = r.read_tag(tag::SET)?;
    r.finish()?;
    let mut list = MasterList {
        certificates: Vec::new(),
        unparsable: 0,
    };
    for entry in certs.reader(what).all()? {
        match Certificate::parse(entry.raw) {
            Ok(cert) => list.certificates.push(cert),
            Err(_) => list.unparsable += 1,
        }
    }
    Ok(list)
}

impl TrustStore {
    /// An empty store.
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// Loads a complete store. `time` (Unix seconds) is the load time, used for the
    /// validity of master-list signers. CRLs whose issuer is not among the CSCAs, or whose
    /// signature does not verify, are left out with a warning (see [`TrustStore::warnings`]).
    pub fn load(config: &TrustStoreConfig, time: i64) -> Result<TrustStore, TrustStoreError> {
        let mut store = TrustStore::new();
        for (path, cert) in load_certificates(&config.csca_paths)? {
            store.add_csca(cert, CscaSource::File(path));
        }
        if !config.master_list_paths.is_empty() {
            let signers: Vec<Certificate> = load_certificates(&config.master_list_signer_paths)?
                .into_iter()
                .map(|(_, c)| c)
                .collect();
            if signers.is_empty() {
                return Err(TrustStoreError::NoMasterListSigner);
            }
            for path in &config.master_list_paths {
                for file in files_in(path, ML_EXTENSIONS)? {
                    let list =
                        verify_master_list(&read(&file)?, &signers, time).map_err(|source| {
                            TrustStoreError::MasterList {
                                path: file.clone(),
                                source,
                            }
                        })?;
                    if list.unparsable > 0 {
                        store.warnings.push(format!(
                            "{}: {} master list entries are not parsable certificates; skipped",
                            file.display(),
                            list.unparsable
                        ));
                    }
                    for cert in list.certificates {
                        store.add_csca(cert, CscaSource::MasterList(file.clone()));
                    }
                }
            }
        }
        for path in &config.crl_paths {
            for file in files_in(path, CRL_EXTENSIONS)? {
                let blocks = x509::pem_or_der(&read(&file)?, "X509 CRL");
                if blocks.is_empty() {
                    return Err(TrustStoreError::Empty(file));
                }
                for block in blocks {
                    let crl = Crl::parse(&block).map_err(|source| TrustStoreError::Crl {
                        path: file.clone(),
                        source,
                    })?;
                    if let Err(why) = store.add_crl(crl) {
                        store.warnings.push(format!("{}: {why}", file.display()));
                    }
                }
            }
        }
        Ok(store)
    }

    /// Adds a CSCA certificate (duplicates are ignored).
    pub fn add_csca(&mut self, certificate: Certificate, source: CscaSource) {
        if !self
            .cscas
            .iter()
            .any(|c| c.certificate.raw == certificate.raw)
        {
            self.cscas.push(TrustedCsca {
                certificate,
                source,
            });
        }
    }

    /// Adds a CRL after checking its signature against the CSCA that issued it.
    pub fn add_crl(&mut self, crl: Crl) -> Result<(), String> {
        let issuer = self
            .cscas
            .iter()
            .filter(|c| crl.issued_by(&c.certificate))
            .find(|c| {
                c.certificate
                    .public_key()
                    .is_ok_and(|key| crl.verify_signed_by(&key).is_ok())
            });
        match issuer {
            Some(_) => {
                if !self.crls.iter().any(|c| c.raw == crl.raw) {
                    self.crls.push(crl);
                }
                Ok(())
            }
            None => Err(format!(
                "CRL of {} not signed by any trusted CSCA; ignored",
                crl.issuer
            )),
        }
    }

    /// The trusted CSCAs.
    pub fn cscas(&self) -> &[TrustedCsca] {
        &self.cscas
    }

    /// The verified CRLs.
    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// Problems that did not stop loading (ignored CRLs).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

//! `gatectl trust list|add|check`: the document trust store (CSCA certificates, ICAO master
//! lists and their signers, CRLs) for technicians, offline.
//!
//! A trust directory holds `csca/`, `masterlists/`, `ml-signers/` and `crl/`; `--trust-dir`
//! stands for those four, and the explicit `--csca`, `--master-list`, `--ml-signer` and
//! `--crl` options add files or directories. `check` runs passive authentication on the
//! files `gatectl chip read --out DIR` wrote (`sod.bin`, `dg*.bin`). Exit codes: 0 ok, 1
//! error or refused file, 2 usage, 4 document not authentic (`check`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use mrtd::authenticity::cms::SignedData;
use mrtd::authenticity::passive::{PassiveAuthInput, PassiveAuthPolicy, verify_passive};
use mrtd::authenticity::trust::{self, TrustStore, TrustStoreConfig};
use mrtd::authenticity::x509::{self, Certificate, Crl, KEY_USAGE_KEY_CERT_SIGN};
use mrtd::mrz::Mrz;

/// Exit code of `check` when the document is not authentic.
const NOT_AUTHENTIC: u8 = 4;

/// Trust store subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TrustCommand {
    /// List the CSCAs and CRLs the trust sources yield (master lists verified, CRLs checked
    /// against their CSCA).
    List {
        #[command(flatten)]
        sources: TrustSources,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a CSCA certificate, master-list signer, CRL or master list and copy it into a
    /// trust directory. Exit 1 if it is refused.
    Add {
        /// The file (DER or PEM).
        file: PathBuf,
        /// The trust directory to add it to (created if missing).
        #[arg(long, value_name = "DIR")]
        trust_dir: PathBuf,
        /// What the file is; detected when omitted (a certificate is taken as a CSCA).
        #[arg(long, value_enum)]
        kind: Option<TrustFileKind>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Passive authentication of a chip read saved by `gatectl chip read --out DIR`.
    /// Exit 0 genuine, 4 not authentic (with the reason code), 1 other errors.
    Check {
        #[command(flatten)]
        sources: TrustSources,
        /// Directory with sod.bin and dg1.bin, dg2.bin, ... as written by `chip read --out`.
        #[arg(long, value_name = "DIR")]
        read_dir: PathBuf,
        /// The MRZ printed on the document (2 or 3 lines) to compare with DG1.
        #[arg(long, num_args = 2..=3, value_name = "LINE")]
        mrz: Option<Vec<String>>,
        /// Refuse when no current CRL of the document signer's CSCA is loaded.
        #[arg(long)]
        require_crl: bool,
        /// Verification time as Unix seconds (default: now).
        #[arg(long, value_name = "UNIX_SECONDS")]
        time: Option<i64>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// What a file added to the trust directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrustFileKind {
    /// A CSCA certificate (self-signed or a link certificate from a trusted CSCA).
    Csca,
    /// A certificate master lists must be signed with (or issued by).
    MlSigner,
    /// A CRL of a trusted CSCA.
    Crl,
    /// An ICAO CSCA master list signed by a configured master-list signer.
    MasterList,
}

impl TrustFileKind {
    fn subdir(self) -> &'static str {
        match self {
            TrustFileKind::Csca => "csca",
            TrustFileKind::MlSigner => "ml-signers",
            TrustFileKind::Crl => "crl",
            TrustFileKind::MasterList => "masterlists",
        }
    }

    fn name(self) -> &'static str {
        match self {
            TrustFileKind::Csca => "CSCA certificate",
            TrustFileKind::MlSigner => "master-list signer certificate",
            TrustFileKind::Crl => "CRL",
            TrustFileKind::MasterList => "master list",
        }
    }
}

/// Where the trust store comes from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrustSources {
    /// Trust directory with csca/, masterlists/, ml-signers/ and crl/ subdirectories.
    #[arg(long, value_name = "DIR")]
    trust_dir: Option<PathBuf>,
    /// CSCA certificate file or directory (repeatable).
    #[arg(long, value_name = "PATH")]
    csca: Vec<PathBuf>,
    /// ICAO master list file or directory (repeatable).
    #[arg(long, value_name = "PATH")]
    master_list: Vec<PathBuf>,
    /// Master-list signer certificate (or its issuer) file or directory (repeatable).
    #[arg(long, value_name = "PATH")]
    ml_signer: Vec<PathBuf>,
    /// CRL file or directory (repeatable).
    #[arg(long, value_name = "PATH")]
    crl: Vec<PathBuf>,
}

impl TrustSources {
    fn config(&self) -> TrustStoreConfig {
        let mut config = TrustStoreConfig {
            csca_paths: self.csca.clone(),
            master_list_paths: self.master_list.clone(),
            master_list_signer_paths: self.ml_signer.clone(),
            crl_paths: self.crl.clone(),
        };
        if let Some(dir) = &self.trust_dir {
            let existing = |sub: &str| Some(dir.join(sub)).filter(|p| p.is_dir());
            config.csca_paths.extend(existing("csca"));
            config.master_list_paths.extend(existing("masterlists"));
            config
                .master_list_signer_paths
                .extend(existing("ml-signers"));
            config.crl_paths.extend(existing("crl"));
        }
        config
    }

    fn load(&self, time: i64) -> anyhow::Result<TrustStore> {
        TrustStore::load(&self.config(), time).context("loading the trust store")
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `YYYY-MM-DD` of Unix seconds (proleptic Gregorian).
fn date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Runs a trust subcommand.
pub fn run(command: TrustCommand) -> anyhow::Result<ExitCode> {
    match command {
        TrustCommand::List { sources, json } => list(&sources, json),
        TrustCommand::Add {
            file,
            trust_dir,
            kind,
            json,
        } => add(&file, &trust_dir, kind, json),
        TrustCommand::Check {
            sources,
            read_dir,
            mrz,
            require_crl,
            time,
            json,
        } => check(&sources, &read_dir, mrz.as_deref(), require_crl, time, json),
    }
}

fn list(sources: &TrustSources, json: bool) -> anyhow::Result<ExitCode> {
    let time = now();
    let store = sources.load(time)?;
    if json {
        let cscas: Vec<_> = store
            .cscas()
            .iter()
            .map(|c| {
                let cert = &c.certificate;
                serde_json::json!({
                    "subject": cert.subject.to_string(),
                    "country": cert.subject.country(),
                    "serial": x509::hex_string(&cert.serial),
                    "subject_key_id": cert.subject_key_id.as_deref().map(x509::hex_string),
                    "not_before": date(cert.not_before),
                    "not_after": date(cert.not_after),
                    "valid_now": cert.valid_at(time),
                    "key": cert.public_key().map(|k| k.describe()).unwrap_or_else(|e| e.to_string()),
                    "source": c.source.to_string(),
                })
            })
            .collect();
        let crls: Vec<_> = store
            .crls()
            .iter()
            .map(|crl| {
                serde_json::json!({
                    "issuer": crl.issuer.to_string(),
                    "this_update": date(crl.this_update),
                    "next_update": crl.next_update.map(date),
                    "current": crl.next_update.is_none_or(|n| time <= n),
                    "revoked": crl.revoked.len(),
                })
            })
            .collect();
        let out = serde_json::json!({
            "cscas": cscas,
            "crls": crls,
            "warnings": store.warnings(),
        });
        println!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} CSCA certificate(s)", store.cscas().len());
    for c in store.cscas() {
        let cert = &c.certificate;
        let state = if cert.valid_at(time) {
            ""
        } else {
            "  NOT VALID NOW"
        };
        println!(
            "  {}  [{} .. {}]  {}  serial {}  ({}){state}",
            cert.subject,
            date(cert.not_before),
            date(cert.not_after),
            cert.public_key()
                .map(|k| k.describe())
                .unwrap_or_else(|e| e.to_string()),
            x509::hex_string(&cert.serial),
            c.source,
        );
    }
    println!("{} CRL(s)", store.crls().len());
    for crl in store.crls() {
        let next = crl.next_update.map(date).unwrap_or_else(|| "-".into());
        let stale = if crl.next_update.is_some_and(|n| time > n) {
            "  STALE"
        } else {
            ""
        };
        println!(
            "  {}  this update {}  next update {next}  {} revoked{stale}",
            crl.issuer,
            date(crl.this_update),
            crl.revoked.len()
        );
    }
    for warning in store.warnings() {
        println!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Detects what `data` is: a certificate, a CRL or a CMS master list.
fn detect(data: &[u8]) -> Option<TrustFileKind> {
    let cert = x509::pem_or_der(data, "CERTIFICATE");
    if cert.first().is_some_and(|c| Certificate::parse(c).is_ok()) {
        return Some(TrustFileKind::Csca);
    }
    let crl = x509::pem_or_der(data, "X509 CRL");
    if crl.first().is_some_and(|c| Crl::parse(c).is_ok()) {
        return Some(TrustFileKind::Crl);
    }
    SignedData::parse_content_info(data)
        .is_ok()
        .then_some(TrustFileKind::MasterList)
}

/// What to store for an accepted file.
struct Accepted {
    der: Vec<u8>,
    file_name: String,
    what: String,
}

/// Checks the file for its kind against the trust directory (`store`, and `ml_signers` for
/// master lists). Errors say why the file is refused.
fn vet(
    kind: TrustFileKind,
    data: &[u8],
    original_name: &str,
    store: &TrustStore,
    ml_signers: &[Certificate],
    time: i64,
) -> anyhow::Result<Accepted> {
    match kind {
        TrustFileKind::Csca | TrustFileKind::MlSigner => {
            let der = x509::pem_or_der(data, "CERTIFICATE")
                .into_iter()
                .next()
                .context("no certificate in the file")?;
            let cert = Certificate::parse(&der).context("not a DER/PEM X.509 certificate")?;
            let key = cert
                .public_key()
                .context("the certificate's public key is not supported")?;
            if !cert.valid_at(time) {
                bail!(
                    "certificate is not valid now ({} .. {})",
                    date(cert.not_before),
                    date(cert.not_after)
                );
            }
            if kind == TrustFileKind::Csca {
                if !cert.is_ca || !cert.has_key_usage(KEY_USAGE_KEY_CERT_SIGN) {
                    bail!("not a CA certificate with key usage keyCertSign");
                }
                let self_signed = cert.names_issuer(&cert) && cert.verify_signed_by(&key).is_ok();
                let linked = store.cscas().iter().any(|c| {
                    cert.names_issuer(&c.certificate)
                        && c.certificate
                            .public_key()
                            .is_ok_and(|k| cert.verify_signed_by(&k).is_ok())
                });
                if !self_signed && !linked {
                    bail!("neither self-signed nor a link certificate from a trusted CSCA");
                }
            }
            let file_name = format!(
                "{}-{}.der",
                cert.subject.country().unwrap_or_else(|| "XX".into()),
                x509::hex_string(cert.subject_key_id.as_deref().unwrap_or(&cert.serial))
            );
            Ok(Accepted {
                der,
                file_name,
                what: cert.subject.to_string(),
            })
        }
        TrustFileKind::Crl => {
            let der = x509::pem_or_der(data, "X509 CRL")
                .into_iter()
                .next()
                .context("no CRL in the file")?;
            let crl = Crl::parse(&der).context("not a DER/PEM CRL")?;
            let mut probe = store.clone();
            probe
                .add_crl(crl.clone())
                .map_err(|why| anyhow::anyhow!(why))?;
            let file_name = format!(
                "{}-{}.crl",
                crl.issuer.country().unwrap_or_else(|| "XX".into()),
                x509::hex_string(crl.authority_key_id.as_deref().unwrap_or(&[]))
            );
            Ok(Accepted {
                der,
                file_name,
                what: crl.issuer.to_string(),
            })
        }
        TrustFileKind::MasterList => {
            if ml_signers.is_empty() {
                bail!(
                    "no master-list signer in the trust directory (add one with --kind ml-signer)"
                );
            }
            let list = trust::verify_master_list(data, ml_signers, time)?;
            Ok(Accepted {
                der: data.to_vec(),
                file_name: original_name.to_string(),
                what: format!(
                    "{} CSCA certificate(s), {} unparsable entries skipped",
                    list.certificates.len(),
                    list.unparsable
                ),
            })
        }
    }
}

fn add(
    file: &Path,
    trust_dir: &Path,
    kind: Option<TrustFileKind>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let time = now();
    let sources = TrustSources {
        trust_dir: Some(trust_dir.to_path_buf()),
        ..TrustSources::default()
    };
    let original_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "masterlist.ml".into());
    let outcome = (|| -> anyhow::Result<(TrustFileKind, Accepted)> {
        let kind = match kind {
            Some(kind) => kind,
            None => detect(&data).context("not a certificate, CRL or CMS master list")?,
        };
        let store = sources.load(time)?;
        let ml_signers: Vec<Certificate> =
            trust::load_certificates(&sources.config().master_list_signer_paths)?
                .into_iter()
                .map(|(_, c)| c)
                .collect();
        let accepted = vet(kind, &data, &original_name, &store, &ml_signers, time)?;
        Ok((kind, accepted))
    })();
    match outcome {
        Ok((
            kind,
            Accepted {
                der,
                file_name,
                what,
            },
        )) => {
            let dir = trust_dir.join(kind.subdir());
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join(&file_name);
            std::fs::write(&path, der).with_context(|| format!("writing {}", path.display()))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"added": true, "kind": kind.name(), "what": what, "path": path})
                );
            } else {
                println!("added {}: {what} -> {}", kind.name(), path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"added": false, "error": format!("{error:#}")})
                );
            } else {
                println!("refused: {error:#}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn check(
    sources: &TrustSources,
    read_dir: &Path,
    mrz: Option<&[String]>,
    require_crl: bool,
    time: Option<i64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let time = time.unwrap_or_else(now);
    let store = sources.load(time)?;
    let sod_path = read_dir.join("sod.bin");
    let sod =
        std::fs::read(&sod_path).with_context(|| format!("reading {}", sod_path.display()))?;
    let mut data_groups = std::collections::BTreeMap::new();
    for number in 1u8..=16 {
        let path = read_dir.join(format!("dg{number}.bin"));
        if path.is_file() {
            let content =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            data_groups.insert(number, content);
        }
    }
    let optical = mrz
        .map(Mrz::parse)
        .transpose()
        .context("--mrz is not a valid MRZ")?;
    let input = PassiveAuthInput {
        sod: &sod,
        data_groups: &data_groups,
        optical_mrz: optical.as_ref(),
        time,
    };
    let verdict = verify_passive(&input, &store, &PassiveAuthPolicy { require_crl });
    match verdict {
        Ok(report) => {
            if json {
                let out = serde_json::json!({
                    "authentic": true,
                    "reason": serde_json::Value::Null,
                    "document_signer": report.document_signer,
                    "csca": report.csca,
                    "country": report.country,
                    "signature": report.signature_scheme,
                    "signer_key": report.signer_key,
                    "hash": format!("{:?}", report.hash_algorithm).to_uppercase(),
                    "data_groups": report.data_groups_verified,
                    "crl_checked": report.crl_checked,
                    "mrz_compared": report.mrz_compared,
                });
                println!("{out}");
            } else {
                println!("passive authentication: OK");
                println!("  document signer: {}", report.document_signer);
                println!("  CSCA:            {}", report.csca);
                println!(
                    "  signature:       {} ({})",
                    report.signature_scheme, report.signer_key
                );
                println!("  data groups:     {:?}", report.data_groups_verified);
                println!("  CRL checked:     {}", report.crl_checked);
                println!("  MRZ compared:    {}", report.mrz_compared);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if json {
                let out = serde_json::json!({
                    "authentic": false,
                    "reason": error.reason_code(),
                    "message": error.to_string(),
                });
                println!("{out}");
            } else {
                println!("passive authentication: FAILED {}", error.reason_code());
                println!("  {error}");
            }
            Ok(ExitCode::from(NOT_AUTHENTIC))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_709_208_000), "2024-02-29");
        assert_eq!(date(2_524_607_999), "2049-12-31");
    }
}

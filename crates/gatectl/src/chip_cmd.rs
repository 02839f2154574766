//! `gatectl chip read`: reads a document chip through a PC/SC reader (PACE first, BAC
//! fallback), prints what was read and optionally writes the raw files.
//!
//! Output never contains names, the date of birth or the full document number (masked to its
//! last three characters); the files written with `--out` do hold personal data and are for
//! the technician's eyes only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use mrtd::authenticity::passive::PassiveAuthPolicy;
use mrtd::authenticity::trust::{TrustStore, TrustStoreConfig};
use mrtd::authenticity::verify::{AuthenticityPolicy, authenticate_document};
use mrtd::lds::{Dg1, Dg2};
use mrtd::mrz::Mrz;
use mrtd::pace::PacePassword;
use mrtd::pcsc::PcscReader;
use mrtd::reader::{AccessProtocol, ChipDocument, ChipReader, ReaderOptions};

/// Exit status when the chip was read but a required authenticity check failed.
const EXIT_NOT_AUTHENTIC: u8 = 4;

/// Chip subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ChipCommand {
    /// Read a document chip: access protocol, data groups, DG1 fields, DG2 face image.
    /// Exit 0 on success, 4 when `--csca` is given and an authenticity check fails, 1 on any
    /// other failure (no reader, no card, access refused, read error, timeout, bad trust files).
    Read(ReadArgs),
}

/// Arguments of `gatectl chip read`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("access_key").required(true).args(["mrz", "can"])))]
pub struct ReadArgs {
    /// PC/SC reader: its full name or a unique part of it (e.g. "Virtual PCD 00 00").
    #[arg(long)]
    reader: String,
    /// MRZ lines (2 or 3; quote them, `<` is special to the shell): PACE or BAC with the MRZ.
    #[arg(long, num_args = 2..=3, value_name = "LINE")]
    mrz: Option<Vec<String>>,
    /// Card access number printed on the document: PACE with the CAN.
    #[arg(long, value_name = "NUMBER")]
    can: Option<String>,
    /// Write dg1.bin, dg2.bin, the face image (face.jpg / face.jp2 / face.j2k) and sod.bin here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds (waiting for the card plus reading it).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// Verify the document (passive authentication, then chip and active authentication when
    /// the chip offers them) against these CSCA certificates: a file or a directory (DER or
    /// PEM), or an ICAO master list when `--ml-signer` is given. Exit 4 when not authentic.
    #[arg(long, value_name = "FILE_DIR_OR_MASTERLIST")]
    csca: Option<PathBuf>,
    /// The certificate(s) master lists must be signed with (makes `--csca` a master list).
    #[arg(long, value_name = "FILE_OR_DIR", requires = "csca")]
    ml_signer: Option<PathBuf>,
    /// CRL files or directories (DER or PEM); repeatable.
    #[arg(long, value_name = "FILE_OR_DIR", requires = "csca")]
    crl: Vec<PathBuf>,
    /// Refuse when no current CRL of the signer's CSCA is loaded.
    #[arg(long, requires = "csca")]
    require_crl: bool,
}

/// The verdict of `--csca`.
enum Verdict {
    /// Every check passed.
    Authentic {
        /// What was established, for the technician.
        summary: String,
    },
    /// A check failed.
    NotAuthentic {
        /// The stable reason code.
        reason: &'static str,
        /// Why, in words.
        detail: String,
    },
}

/// Runs a chip subcommand.
pub fn run(command: ChipCommand) -> anyhow::Result<ExitCode> {
    match command {
        ChipCommand::Read(args) => Ok(read(&args)),
    }
}

/// A failed read, in words and as a class.
#[derive(Debug)]
struct Failure {
    message: String,
    kind: &'static str,
}

impl Failure {
    fn new(kind: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// What the worker thread hands back.
struct Outcome {
    verdict: Option<Verdict>,
    document: ChipDocument,
    reader: String,
    transmission_protocol: &'static str,
    extended_length: bool,
    elapsed: Duration,
}

fn read(args: &ReadArgs) -> ExitCode {
    match read_inner(args) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(EXIT_NOT_AUTHENTIC),
        Err(failure) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "ok": false,
                        "error": failure.message,
                        "error_kind": failure.kind,
                    })
                );
            } else {
                eprintln!("chip read failed ({}): {}", failure.kind, failure.message);
            }
            ExitCode::FAILURE
        }
    }
}

fn password(args: &ReadArgs) -> Result<(PacePassword, Option<Mrz>), Failure> {
    match (&args.mrz, &args.can) {
        (Some(lines), _) => {
            let mrz = Mrz::parse(lines)
                .map_err(|e| Failure::new("invalid_mrz", format!("MRZ invalid: {e}")))?;
            Ok((PacePassword::Mrz(mrz.mrz_information().clone()), Some(mrz)))
        }
        (None, Some(can)) if !can.is_empty() && can.bytes().all(|b| b.is_ascii_digit()) => {
            Ok((PacePassword::Can(can.clone()), None))
        }
        (None, Some(_)) => Err(Failure::new("invalid_can", "the CAN must be digits")),
        (None, None) => Err(Failure::new("usage", "give --mrz or --can")),
    }
}

/// Reads (and verifies, with `--csca`); `Ok(true)` when the document is not authentic.
fn read_inner(args: &ReadArgs) -> Result<bool, Failure> {
    let (password, mrz) = password(args)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let trust = match &args.csca {
        Some(csca) => {
            let config = match &args.ml_signer {
                Some(signer) => TrustStoreConfig {
                    master_list_paths: vec![csca.clone()],
                    master_list_signer_paths: vec![signer.clone()],
                    crl_paths: args.crl.clone(),
                    ..TrustStoreConfig::default()
                },
                None => TrustStoreConfig {
                    csca_paths: vec![csca.clone()],
                    crl_paths: args.crl.clone(),
                    ..TrustStoreConfig::default()
                },
            };
            let store = TrustStore::load(&config, now)
                .map_err(|e| Failure::new("trust", format!("trust store: {e}")))?;
            let policy = AuthenticityPolicy {
                passive: PassiveAuthPolicy {
                    require_crl: args.require_crl,
                },
                ..AuthenticityPolicy::default()
            };
            Some((store, policy, now))
        }
        None => None,
    };
    let optical_mrz = mrz.clone();
    let timeout = Duration::from_secs(args.timeout);
    let reader_name = args.reader.clone();
    let (sender, receiver) = mpsc::channel();
    // PC/SC calls block; the read runs on its own thread so a silent chip cannot hang us.
    // On timeout we return and the process exits, ending the thread.
    std::thread::spawn(move || {
        let _ = sender.send(read_chip(
            &reader_name,
            &password,
            timeout,
            trust.as_ref(),
            optical_mrz.as_ref(),
        ));
    });
    // A little grace so that a card that never comes is reported as "no card" by the worker.
    let outcome = match receiver.recv_timeout(timeout + Duration::from_millis(500)) {
        Ok(result) => result?,
        Err(_) => {
            return Err(Failure::new(
                "timeout",
                format!("no complete read within {} s", args.timeout),
            ));
        }
    };
    let written = match &args.out {
        Some(dir) => write_files(dir, &outcome.document)
            .map_err(|e| Failure::new("output", format!("{e:#}")))?,
        None => Vec::new(),
    };
    report(args, &outcome, mrz.as_ref(), &written)?;
    Ok(matches!(
        outcome.verdict,
        Some(Verdict::NotAuthentic { .. })
    ))
}

fn read_chip(
    reader_name: &str,
    password: &PacePassword,
    timeout: Duration,
    trust: Option<&(TrustStore, AuthenticityPolicy, i64)>,
    optical_mrz: Option<&Mrz>,
) -> Result<Outcome, Failure> {
    let start = Instant::now();
    let reader = PcscReader::open(reader_name).map_err(|e| {
        let kind = match e {
            mrtd::pcsc::PcscError::Service(_) => "no_service",
            mrtd::pcsc::PcscError::NoReaders | mrtd::pcsc::PcscError::ReaderNotFound { .. } => {
                "no_reader"
            }
            _ => "reader",
        };
        Failure::new(kind, e.to_string())
    })?;
    let card = reader.wait_for_card(timeout).map_err(|e| {
        let kind = match e {
            mrtd::pcsc::PcscError::NoCard { .. } => "no_card",
            mrtd::pcsc::PcscError::CardRemoved { .. } => "card_removed",
            _ => "reader",
        };
        Failure::new(kind, e.to_string())
    })?;
    let extended_length = card.supports_extended_length();
    let transmission_protocol = card.protocol_name();
    let options = ReaderOptions {
        extended_length,
        ..ReaderOptions::default()
    };
    let mut chip = ChipReader::new(card, options);
    let document = chip.read_document(password).map_err(|e| {
        let kind = if e.is_card_removed() {
            "card_removed"
        } else {
            match e {
                mrtd::reader::ReadError::SecureMessaging { .. } => "secure_messaging",
                mrtd::reader::ReadError::Pace(_)
                | mrtd::reader::ReadError::Bac(_)
                | mrtd::reader::ReadError::NoAccessProtocol(_) => "access_denied",
                mrtd::reader::ReadError::Transport(_) => "transport",
                _ => "read",
            }
        };
        Failure::new(kind, e.to_string())
    })?;
    // Chip and active authentication talk to the chip: verify while the session is open.
    let verdict = trust.map(|(store, policy, now)| {
        match authenticate_document(&mut chip, &document, optical_mrz, store, policy, *now) {
            Ok(report) => Verdict::Authentic {
                summary: format!(
                    "signed by {} under {} ({}, {}), data groups {:?} verified{}{}{}",
                    report.passive.document_signer,
                    report.passive.csca,
                    report.passive.signature_scheme,
                    report.passive.signer_key,
                    report.passive.data_groups_verified,
                    if report.passive.crl_checked {
                        ", CRL checked"
                    } else {
                        ""
                    },
                    if report.chip_authentication.is_some() {
                        ", chip authentication passed"
                    } else {
                        ""
                    },
                    if report.active_authentication.is_some() {
                        ", active authentication passed"
                    } else {
                        ""
                    },
                ),
            },
            Err(e) => Verdict::NotAuthentic {
                reason: e.reason_code(),
                detail: e.to_string(),
            },
        }
    });
    Ok(Outcome {
        verdict,
        document,
        reader: reader.name().to_string(),
        transmission_protocol,
        extended_length,
        elapsed: start.elapsed(),
    })
}

fn write_files(dir: &Path, document: &ChipDocument) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (n, content) in &document.data_groups {
        if *n == 1 || *n == 2 {
            files.push((format!("dg{n}.bin"), content.clone()));
        }
    }
    if let Some(face) = document
        .dg2()
        .ok()
        .and_then(|dg2| dg2.faces.into_iter().next())
    {
        files.push((format!("face.{}", face.format.extension()), face.data));
    }
    files.push(("sod.bin".to_string(), document.sod.clone()));
    let mut written = Vec::new();
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn access_name(access: &AccessProtocol) -> &'static str {
    match access {
        AccessProtocol::Pace { .. } => "PACE",
        AccessProtocol::Bac => "BAC",
    }
}

fn format_name(format: mrtd::lds::ImageFormat) -> &'static str {
    match format {
        mrtd::lds::ImageFormat::Jpeg => "JPEG",
        mrtd::lds::ImageFormat::Jp2 => "JPEG 2000 (JP2)",
        mrtd::lds::ImageFormat::J2k => "JPEG 2000 codestream (J2K)",
        mrtd::lds::ImageFormat::Unknown => "unknown",
    }
}

fn report(
    args: &ReadArgs,
    outcome: &Outcome,
    mrz: Option<&Mrz>,
    written: &[PathBuf],
) -> Result<(), Failure> {
    let document = &outcome.document;
    let dg1 = Dg1::parse(document.data_group(1).unwrap_or(&[]))
        .map_err(|e| Failure::new("dg1", format!("DG1 unreadable: {e}")))?;
    let dg2 = Dg2::parse(document.data_group(2).unwrap_or(&[]))
        .map_err(|e| Failure::new("dg2", format!("DG2 unreadable: {e}")))?;
    let face = dg2
        .faces
        .first()
        .ok_or_else(|| Failure::new("dg2", "DG2 holds no face image"))?;
    let matches_mrz = mrz.map(|m| m.mrz_information() == dg1.mrz.mrz_information());
    let hashes: BTreeMap<String, Option<bool>> = document
        .check_hashes()
        .map(|list| {
            list.into_iter()
                .map(|(n, ok)| (format!("DG{n}"), ok))
                .collect()
        })
        .unwrap_or_default();
    let groups: Vec<u8> = document.data_groups.keys().copied().collect();
    let m = &dg1.mrz;
    if args.json {
        let value = serde_json::json!({
            "ok": true,
            "reader": outcome.reader,
            "transmission_protocol": outcome.transmission_protocol,
            "extended_length": outcome.extended_length,
            "access": access_name(&document.access),
            "access_detail": document.access.to_string(),
            "pace_fallback": document.pace_fallback,
            "data_groups": groups,
            "apdu_count": document.apdu_count,
            "elapsed_ms": outcome.elapsed.as_millis() as u64,
            "dg1": {
                "format": m.format.name(),
                "document_code": m.document_code,
                "issuing_state": m.issuing_state,
                "nationality": m.nationality,
                "document_number_masked": m.document_number.masked(),
                "expiry_date": String::from_utf8_lossy(m.expiry_date.as_mrz()),
                "matches_given_mrz": matches_mrz,
            },
            "dg2": {
                "format": face.format.extension(),
                "width": face.width,
                "height": face.height,
                "image_bytes": face.data.len(),
            },
            "sod_hashes_match": hashes,
            "authenticity": match &outcome.verdict {
                None => serde_json::Value::Null,
                Some(Verdict::Authentic { summary }) => serde_json::json!({
                    "verdict": "authentic",
                    "detail": summary,
                }),
                Some(Verdict::NotAuthentic { reason, detail }) => serde_json::json!({
                    "verdict": "not_authentic",
                    "reason_code": reason,
                    "detail": detail,
                }),
            },
            "files_written": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        println!("{value}");
    } else {
        println!(
            "reader {} ({}, extended length {})",
            outcome.reader,
            outcome.transmission_protocol,
            if outcome.extended_length { "yes" } else { "no" }
        );
        println!(
            "access: {} ({})",
            access_name(&document.access),
            document.access
        );
        if let Some(reason) = &document.pace_fallback {
            println!("  PACE not used: {reason}");
        }
        println!(
            "data groups read: {}",
            groups
                .iter()
                .map(|n| format!("DG{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "DG1: {} document code {}, issuing state {}, nationality {}, document number {}, expiry {}{}",
            m.format.name(),
            m.document_code,
            m.issuing_state,
            m.nationality,
            m.document_number.masked(),
            String::from_utf8_lossy(m.expiry_date.as_mrz()),
            match matches_mrz {
                Some(true) => ", matches the MRZ given",
                Some(false) => ", DOES NOT match the MRZ given",
                None => "",
            }
        );
        println!(
            "DG2: {} {}x{}, {} bytes",
            format_name(face.format),
            face.width,
            face.height,
            face.data.len()
        );
        let hash_line: Vec<String> = hashes
            .iter()
            .map(|(dg, ok)| {
                let verdict = match ok {
                    Some(true) => "ok",
                    Some(false) => "MISMATCH",
                    None => "not listed",
                };
                format!("{dg} {verdict}")
            })
            .collect();
        println!(
            "EF.SOD hashes (signature not checked here): {}",
            hash_line.join(", ")
        );
        match &outcome.verdict {
            None => println!("authenticity: not checked (give --csca)"),
            Some(Verdict::Authentic { summary }) => println!("authenticity: AUTHENTIC: {summary}"),
            Some(Verdict::NotAuthentic { reason, detail }) => {
                println!("authenticity: NOT AUTHENTIC ({reason}): {detail}");
            }
        }
        println!(
            "{} APDUs in {} ms",
            document.apdu_count,
            outcome.elapsed.as_millis()
        );
        for path in written {
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

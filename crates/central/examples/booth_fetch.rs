//! An inspection booth's side of the BioCart hand-over, as a small example program.
//!
//! ```text
//! # once: make the booth key pair; give the printed public key to the BioCarts
//! cargo run -p central --example booth_fetch -- generate-key --key booth.key
//! # fetch, open and acknowledge the records addressed to booth-1
//! cargo run -p central --example booth_fetch -- fetch --central http://127.0.0.1:8080 \
//!     --booth booth-1 --key booth.key [--out DIR] [--ca ca.pem --cert booth.pem --tls-key booth.pem.key]
//! ```
//!
//! `fetch` opens every record with the booth's private key, writes it as
//! `DIR/<transaction id>.json` (mode 0600) when `--out` is given, prints a line per record
//! without personal data, and acknowledges the records it could open (central then erases
//! them). A record it cannot open is reported and left unacknowledged.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use outbox::handover::{BoothPrivateKey, open};
use outbox::sync::{BoothClient, SyncConfig, TlsFiles};

#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a booth key pair: the private key (hex) into FILE (mode 0600), the public key
    /// (hex) on standard output.
    GenerateKey {
        /// Where to write the private key.
        #[arg(long)]
        key: PathBuf,
    },
    /// Fetch, open and acknowledge the booth's records.
    Fetch {
        /// Central's base URL.
        #[arg(long)]
        central: String,
        /// This booth's id.
        #[arg(long)]
        booth: String,
        /// The booth's private key file (64 hex digits).
        #[arg(long)]
        key: PathBuf,
        /// Directory for the opened records (JSON, mode 0600).
        #[arg(long)]
        out: Option<PathBuf>,
        /// CA certificate(s) of central (https).
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The booth's client certificate (SAN URI `urn:booth:ID`).
        #[arg(long, requires = "tls_key")]
        cert: Option<PathBuf>,
        /// The client certificate's private key.
        #[arg(long, requires = "cert")]
        tls_key: Option<PathBuf>,
        /// Records per request.
        #[arg(long, default_value_t = 16)]
        limit: u32,
    },
}

fn write_private(path: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::GenerateKey { key } => {
            let private = BoothPrivateKey::generate()?;
            write_private(&key, private.to_hex().as_bytes())?;
            println!("{}", private.public_key()?.to_hex());
            Ok(())
        }
        Command::Fetch {
            central,
            booth,
            key,
            out,
            ca,
            cert,
            tls_key,
            limit,
        } => {
            let private = BoothPrivateKey::from_file(&key)?;
            let mut config = SyncConfig::new(central);
            if let Some(ca_certs) = ca {
                config.tls = Some(TlsFiles {
                    ca_certs,
                    client_cert: cert,
                    client_key: tls_key,
                });
            }
            let client = BoothClient::new(&config, &booth)?;
            let mut total = 0usize;
            loop {
                let page = client.fetch(limit)?;
                if page.is_empty() {
                    break;
                }
                let mut opened = Vec::new();
                for received in &page {
                    let sealed = &received.sealed;
                    match open(sealed, &private) {
                        Ok(record) => {
                            if let Some(dir) = &out {
                                let path = dir.join(format!("{}.json", record.transaction_id));
                                write_private(&path, &record.to_plaintext()?)?;
                            }
                            println!(
                                "{} gate {} transaction {} fingers {} opened",
                                sealed.id,
                                sealed.gate_id,
                                sealed.transaction_id,
                                record.fingers.len()
                            );
                            opened.push(sealed.id);
                        }
                        Err(error) => eprintln!("{}: cannot open: {error}", sealed.id),
                    }
                }
                if opened.is_empty() {
                    anyhow::bail!("no record of this page could be opened; stopping");
                }
                total += usize::try_from(client.acknowledge(&opened)?).unwrap_or(0);
            }
            println!("{total} records acknowledged");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("booth_fetch: {error:#}");
            ExitCode::FAILURE
        }
    }
}

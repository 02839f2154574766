//! `gatectl mrz ...`: offline machine readable zone checks for technicians.
//!
//! Output never contains the full document number: it is masked except its last three
//! characters. Names and the date of birth are not printed at all.

use std::process::ExitCode;

use mrtd::mrz::{Mrz, MrzError};

/// MRZ subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum MrzCommand {
    /// Validate an MRZ: 2 lines (TD2, TD3, visas) or 3 lines (TD1). Quote each line: `<` is
    /// special to the shell. Exit 0 if valid, 1 if invalid.
    Check {
        /// The MRZ lines.
        #[arg(required = true, num_args = 2..=3, value_name = "LINE")]
        lines: Vec<String>,
        /// Print a JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an MRZ subcommand.
pub fn run(command: MrzCommand) -> anyhow::Result<ExitCode> {
    match command {
        MrzCommand::Check { lines, json } => Ok(check(&lines, json)),
    }
}

fn check(lines: &[String], json: bool) -> ExitCode {
    match Mrz::parse(lines) {
        Ok(mrz) => {
            if json {
                println!("{}", valid_json(&mrz));
            } else {
                println!(
                    "MRZ valid ({}): document code {}, issuing state {}, nationality {}, document number {}, expiry {}",
                    mrz.format.name(),
                    mrz.document_code,
                    mrz.issuing_state,
                    mrz.nationality,
                    mrz.document_number.masked(),
                    String::from_utf8_lossy(mrz.expiry_date.as_mrz()),
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            if json {
                println!("{}", invalid_json(&error));
            } else {
                println!("MRZ invalid: {error}");
            }
            ExitCode::FAILURE
        }
    }
}

fn valid_json(mrz: &Mrz) -> serde_json::Value {
    serde_json::json!({
        "valid": true,
        "format": mrz.format.name(),
        "document_code": mrz.document_code,
        "issuing_state": mrz.issuing_state,
        "nationality": mrz.nationality,
        "document_number_masked": mrz.document_number.masked(),
        "expiry_date": String::from_utf8_lossy(mrz.expiry_date.as_mrz()),
    })
}

fn invalid_json(error: &MrzError) -> serde_json::Value {
    let (line, column) = match error.position() {
        Some((l, c)) => (Some(l), Some(c)),
        None => (None, None),
    };
    serde_json::json!({
        "valid": false,
        "error": {
            "kind": error.kind(),
            "field": error.field().map(|f| f.key()),
            "line": line,
            "column": column,
            "message": error.to_string(),
        }
    })
}

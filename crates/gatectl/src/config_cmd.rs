//! `gatectl config validate FILE`: the same checks as `gated --check-config`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Configuration commands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate a gate configuration file; every problem is named with its key path.
    Validate {
        /// The file.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a configuration command.
pub fn run(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Validate { file, json } = command;
    let result = gate_config::load(&file);
    let (valid, problems, warnings, notes) = match &result {
        Ok(loaded) => (
            true,
            Vec::new(),
            loaded.warnings.clone(),
            loaded.config.operating_point_notes(),
        ),
        Err(err) => (false, err.problems.clone(), Vec::new(), Vec::new()),
    };
    if json {
        let list = |items: &[gate_config::Problem]| {
            items
                .iter()
                .map(|p| serde_json::json!({ "key": p.key, "message": p.message }))
                .collect::<Vec<_>>()
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": file,
                "valid": valid,
                "problems": list(&problems),
                "warnings": list(&warnings),
                "operating_points": list(&notes),
            }))?
        );
    } else {
        for warning in &warnings {
            println!("{}: warning: {warning}", file.display());
        }
        for problem in &problems {
            println!("{}: {problem}", file.display());
        }
        for note in &notes {
            println!("{}: {note}", file.display());
        }
        if valid {
            println!("{}: ok", file.display());
        } else {
            println!("{}: {} problem(s)", file.display(), problems.len());
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

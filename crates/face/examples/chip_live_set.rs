//! Builds the chip-style vs live-style evaluation set (see `face::evalset`) from an LFW-layout
//! data set, deterministically.
//!
//! `chip_live_set --pairs pairs_available.tsv --images DIR --out DIR [--chip-bpp 0.5]`
//!
//! Writes `chip/…`, `live/…`, `pairs.tsv` (each pair in both directions) and `SET.toml` (the
//! recipe, counts and a digest of every file: two runs on the same inputs print the same
//! digest). The images are derived from the source data set: never commit them.

use std::path::PathBuf;
use std::process::ExitCode;

use face::eval;
use face::evalset::{ChipLiveRecipe, generate};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chip_live_set: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut pairs, mut images, mut out) = (None, None, None);
    let mut recipe = ChipLiveRecipe::default();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--pairs" => pairs = Some(PathBuf::from(value()?)),
            "--images" => images = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--chip-bpp" => {
                recipe.chip_bits_per_pixel =
                    value()?.parse().map_err(|e| format!("--chip-bpp: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(pairs), Some(images), Some(out)) = (pairs, images, out) else {
        return Err("usage: --pairs TSV --images DIR --out DIR [--chip-bpp BITS]".into());
    };
    let pairs = eval::read_pairs(&pairs).map_err(|e| e.to_string())?;
    let summary = generate(&pairs, &images, &out, &recipe, |done, total| {
        if done % 500 == 0 || done == total {
            eprintln!("{done}/{total} images");
        }
    })
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        toml::to_string(&summary).map_err(|e| format!("cannot print the summary: {e}"))?
    );
    Ok(())
}

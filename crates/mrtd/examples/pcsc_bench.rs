//! Bench: APDU count and wall time of a whole document read (EF.CardAccess, access control,
//! EF.COM, DG1, DG2, optional DGs, EF.SOD) through a real PC/SC reader, e.g. pcscd + vpcd +
//! the `virtual-epassport` test tool. Needs the `pcsc` feature:
//!
//! ```text
//! cargo run --release -p mrtd --features pcsc --example pcsc_bench -- \
//!     --reader "Virtual PCD 00 00" --runs 10 [--can 123456] [--short]
//! ```
//!
//! Without `--can` it uses the MRZ of the ICAO specimen passport (the virtual ePassport's
//! default document). `--short` disables extended length even when the card offers it.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use mrtd::mrz::Mrz;
use mrtd::pace::PacePassword;
use mrtd::pcsc::PcscReader;
use mrtd::reader::{ChipReader, ReaderOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut reader_name = "Virtual PCD 00 00".to_string();
    let mut runs = 10usize;
    let mut can = None;
    let mut short = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reader" => reader_name = args.next().ok_or("--reader NAME")?,
            "--runs" => runs = args.next().ok_or("--runs N")?.parse()?,
            "--can" => can = Some(args.next().ok_or("--can NUMBER")?),
            "--short" => short = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let password = match can {
        Some(can) => PacePassword::Can(can),
        None => PacePassword::Mrz(
            Mrz::parse(&[
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
            ])?
            .mrz_information()
            .clone(),
        ),
    };
    let reader = PcscReader::open(&reader_name)?;
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let card = reader.wait_for_card(Duration::from_secs(10))?;
        let options = ReaderOptions {
            extended_length: !short && card.supports_extended_length(),
            ..ReaderOptions::default()
        };
        let doc = ChipReader::new(card, options).read_document(&password)?;
        times.push(start.elapsed());
        last = Some(doc);
    }
    let doc = last.ok_or("no run")?;
    times.sort();
    let median = times[times.len() / 2];
    let sizes: Vec<String> = doc
        .data_groups
        .iter()
        .map(|(n, d)| format!("DG{n} {} B", d.len()))
        .collect();
    println!(
        "{} | {} | {} + SOD {} B | {} APDUs | median {:.1} ms, min {:.1} ms over {runs} runs",
        doc.access,
        if short {
            "short APDUs"
        } else {
            "extended if offered"
        },
        sizes.join(", "),
        doc.sod.len(),
        doc.apdu_count,
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
    );
    Ok(())
}

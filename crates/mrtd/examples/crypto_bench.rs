//! Bench binary (issue 18's before/after figures): per signature algorithm, the EF.SOD
//! signature verification, the DS certificate verification (the CSCA's signature, key parse
//! included) and the whole passive authentication (both, plus CRL look-up, DG1 + 1 KB DG2
//! hashes, DG1 = MRZ, issuing state); per PACE parameter set and mapping (Generic and
//! Integrated), the terminal side's work in a PACE run (mapping, key agreement, tokens) and
//! the whole run with the chip side.
//! Fixtures: `tests/fixtures/bench/` (`tests/fixtures/make-bench-fixtures.sh`, openssl CLI).
//! Run: `cargo run --release -p mrtd --example crypto_bench [-- --runs N]`.
//! Prints Markdown table rows; a benchmark, not a test: nothing is asserted about times.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mrtd::authenticity::cms::SignedData;
use mrtd::authenticity::passive::{PassiveAuthInput, PassiveAuthPolicy, verify_passive};
use mrtd::authenticity::trust::{CscaSource, TrustStore};
use mrtd::authenticity::x509::Certificate;
use mrtd::mrz::Mrz;
use mrtd::pace::{self, PaceChip, PacePassword, PaceTerminal};
use mrtd::security_info;
use mrtd::security_info::PaceInfo;

const NOW: i64 = 1_767_225_600;

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

/// (fixture name, SOD and DS certificate algorithm).
const ALGORITHMS: &[(&str, &str)] = &[
    ("rsa2048", "RSA-2048 PKCS#1 v1.5 SHA-256"),
    ("rsa3072", "RSA-3072 PKCS#1 v1.5 SHA-256"),
    ("rsa4096", "RSA-4096 PKCS#1 v1.5 SHA-256"),
    ("rsa2048-pss", "RSA-2048 PSS SHA-256"),
    ("p256", "ECDSA P-256 SHA-256"),
    ("p384", "ECDSA P-384 SHA-384"),
    ("p521", "ECDSA P-521 SHA-512"),
    ("bp256", "ECDSA brainpoolP256r1 SHA-256"),
    ("bp384", "ECDSA brainpoolP384r1 SHA-384"),
    ("bp512", "ECDSA brainpoolP512r1 SHA-512"),
];

/// The PACE runs timed: every standardised set with Generic Mapping, then Integrated Mapping
/// (not on secp224r1), each with the cipher a document would pair with its size (AES-128 up to
/// 256 bits, AES-192 for 320, AES-256 above; the 2048-bit DH groups with AES-128). Row label
/// and PACEInfo.
fn pace_sets() -> Vec<(String, PaceInfo)> {
    let mut sets = Vec::new();
    for (mapping_name, dh_arc, ec_arc) in [("GM", 1u8, 2u8), ("IM", 3, 4)] {
        for domain in pace::STANDARD_DOMAINS {
            if mapping_name == "IM" && domain.id == 10 {
                continue;
            }
            let (agreement, arc) = match domain.key_agreement {
                pace::KeyAgreement::Dh => ("DH", dh_arc),
                pace::KeyAgreement::Ecdh => ("ECDH", ec_arc),
            };
            let (cipher_name, cipher) = match domain.id {
                14 => ("AES-192", 3u8),
                15..=18 => ("AES-256", 4),
                _ => ("AES-128", 2),
            };
            let mut oid = security_info::ID_PACE.to_vec();
            oid.extend([arc, cipher]);
            sets.push((
                format!(
                    "{agreement}-{mapping_name} {} ({}) {cipher_name}",
                    domain.name, domain.id
                ),
                PaceInfo {
                    protocol: security_info::ObjectIdentifier(oid),
                    version: 2,
                    parameter_id: Some(domain.id),
                },
            ));
        }
    }
    sets
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Median and minimum of the samples (the machine is shared: the minimum is the undisturbed
/// cost, the median the typical one).
#[derive(Clone, Copy)]
struct Stats {
    median: Duration,
    min: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        median: samples[samples.len() / 2],
        min: samples[0],
    }
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Stats {
    f(); // warm-up
    stats(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn ms(s: Stats) -> String {
    format!(
        "{:.2} / {:.2} ms",
        s.median.as_secs_f64() * 1000.0,
        s.min.as_secs_f64() * 1000.0
    )
}

/// One PACE run between a terminal and a chip in this process; returns the time spent in the
/// terminal's steps and the whole run's time.
fn pace_run(info: &PaceInfo, password: &PacePassword) -> (Duration, Duration) {
    let start = Instant::now();
    let mut terminal_time = Duration::ZERO;
    let mut timed = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        terminal_time += t.elapsed();
    };
    let mut terminal = None;
    timed(&mut || terminal = Some(PaceTerminal::new(info, password).unwrap()));
    let mut terminal = terminal.unwrap();
    let mut chip = PaceChip::new(info, password).unwrap();
    let mut command = terminal.first_command();
    let (response, _) = chip.general_authenticate(&command.data).unwrap();
    timed(&mut || command = terminal.handle_nonce(&response).unwrap());
    let (response, _) = chip.general_authenticate(&command.data).unwrap();
    timed(&mut || command = terminal.handle_mapping(&response).unwrap());
    let (response, _) = chip.general_authenticate(&command.data).unwrap();
    timed(&mut || command = terminal.handle_key_agreement(&response).unwrap());
    let (response, sm) = chip.general_authenticate(&command.data).unwrap();
    assert!(sm.is_some());
    timed(&mut || {
        terminal.finish(&response).unwrap();
    });
    (terminal_time, start.elapsed())
}

fn main() {
    let mut runs = 21usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            other => panic!("unknown argument {other}; usage: crypto_bench [--runs N]"),
        }
    }
    let groups = BTreeMap::from([
        (1u8, fixture("authenticity", "dg1.bin")),
        (2u8, fixture("authenticity", "dg2.bin")),
    ]);
    let mrz = Mrz::parse(&TD3).unwrap();
    println!(
        "Passive authentication, median / minimum of {runs} (SOD and DS certificate of one algorithm):"
    );
    println!();
    println!("| algorithm | SOD signature | DS certificate | passive authentication |");
    println!("|---|---|---|---|");
    for (name, what) in ALGORITHMS {
        let csca = Certificate::parse(&fixture("bench", &format!("csca-{name}.der"))).unwrap();
        let mut trust = TrustStore::new();
        trust.add_csca(csca.clone(), CscaSource::Added);
        let cms = fixture("bench", &format!("sod-{name}.cms"));
        let signed = SignedData::parse_content_info(&cms).unwrap();
        let ds = signed.signer_certificate(&[]).unwrap().clone();
        let sod_signature = time(runs, || {
            signed.verify_signer(&[]).unwrap();
        });
        let ds_certificate = time(runs, || {
            ds.verify_signed_by(&csca.public_key().unwrap()).unwrap();
        });
        let sod = mrtd::tlv::encode(0x77, &cms);
        let input = PassiveAuthInput {
            sod: &sod,
            data_groups: &groups,
            optical_mrz: Some(&mrz),
            time: NOW,
        };
        let passive = time(runs, || {
            verify_passive(&input, &trust, &PassiveAuthPolicy::default()).unwrap();
        });
        println!(
            "| {what} | {} | {} | {} |",
            ms(sod_signature),
            ms(ds_certificate),
            ms(passive)
        );
    }
    println!();
    println!("PACE (MRZ), median / minimum of {runs}, in process (no APDU transport):");
    println!();
    println!("| parameter set | terminal side | whole run (terminal + chip) |");
    println!("|---|---|---|");
    let password = PacePassword::Mrz(mrz.mrz_information().clone());
    for (what, info) in pace_sets() {
        pace_run(&info, &password); // warm-up
        let (terminal, whole): (Vec<_>, Vec<_>) =
            (0..runs).map(|_| pace_run(&info, &password)).unzip();
        println!(
            "| {what} | {} | {} |",
            ms(stats(terminal)),
            ms(stats(whole))
        );
    }
}

//! Issue 18 item 1's evidence: would parsing with RustCrypto's `x509-cert` 0.2 / `cms` 0.2 /
//! `der` 0.7 change a verdict? Every input the differential test (`tests/differential.rs`)
//! gives this crate's parsers — the fixtures, the certificates inside each CMS and master
//! list, and the fuzz corpora `authenticity_x509` / `authenticity_cms` — is parsed with both;
//! the inputs one accepts and the other refuses are listed with the other side's error.
//! Then the serial-number question: every certificate this crate accepts is classified by
//! its serial's encoding, and a fixture CSCA re-encoded with a negative, a zero-padded and a
//! 0xFF-padded serial is given to `x509-cert`.
//!
//! Run: `cargo run -p mrtd --example rustcrypto_divergence`. Prints a report; nothing is
//! asserted (the README's "DER / X.509 / CMS parsing" section quotes its figures).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mrtd::authenticity::cms::SignedData;
use mrtd::authenticity::der::{Reader, tag};
use mrtd::authenticity::x509::{Certificate, Crl, pem_or_der};
use mrtd::tlv;
use x509_cert::der::Decode;
use x509_cert::der::oid::ObjectIdentifier;

/// id-signedData.
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Accept / refuse counts of one kind of input, and the inputs where the parsers disagree.
#[derive(Default)]
struct Comparison {
    both_accept: usize,
    both_refuse: usize,
    only_mrtd_accepts: Vec<String>,
    only_rustcrypto_accepts: Vec<String>,
}

impl Comparison {
    fn add<E: std::fmt::Debug>(
        &mut self,
        name: String,
        mrtd: Result<(), E>,
        rustcrypto: Result<(), String>,
    ) {
        match (mrtd, rustcrypto) {
            (Ok(()), Ok(())) => self.both_accept += 1,
            (Err(_), Err(_)) => self.both_refuse += 1,
            (Ok(()), Err(e)) => self.only_mrtd_accepts.push(format!("{name}: {e}")),
            (Err(e), Ok(())) => self.only_rustcrypto_accepts.push(format!("{name}: {e:?}")),
        }
    }

    fn print(&self, what: &str) {
        println!(
            "== {what}: both accept {}, both refuse {}, only mrtd accepts {}, only RustCrypto accepts {}",
            self.both_accept,
            self.both_refuse,
            self.only_mrtd_accepts.len(),
            self.only_rustcrypto_accepts.len()
        );
        for case in &self.only_mrtd_accepts {
            println!("  mrtd accepts, RustCrypto refuses: {case}");
        }
        for case in &self.only_rustcrypto_accepts {
            println!("  RustCrypto accepts, mrtd refuses ({case})");
        }
    }
}

fn rustcrypto_certificate(der: &[u8]) -> Result<(), String> {
    x509_cert::Certificate::from_der(der)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn rustcrypto_crl(der: &[u8]) -> Result<(), String> {
    x509_cert::crl::CertificateList::from_der(der)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn rustcrypto_signed_data(der: &[u8]) -> Result<(), String> {
    let info =
        cms::content_info::ContentInfo::from_der(der).map_err(|e| format!("ContentInfo: {e}"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err("ContentInfo: not signedData".into());
    }
    info.content
        .decode_as::<cms::signed_data::SignedData>()
        .map(|_| ())
        .map_err(|e| format!("SignedData: {e}"))
}

/// A certificate split into encoded elements.
struct CertificateParts {
    /// The tbsCertificate's elements (version, serial, ...).
    tbs: Vec<Vec<u8>>,
    /// The signature algorithm and value.
    rest: Vec<Vec<u8>>,
}

/// Splits a certificate into its tbsCertificate's elements and the rest.
fn certificate_parts(der: &[u8]) -> Option<CertificateParts> {
    let mut outer = Reader::new(der, "c");
    let certificate = outer.read().ok()?;
    let mut parts = certificate.reader("c").all().ok()?.into_iter();
    let tbs = parts.next()?;
    let tbs_elements = tbs.reader("t").all().ok()?;
    Some(CertificateParts {
        tbs: tbs_elements.iter().map(|e| e.raw.to_vec()).collect(),
        rest: parts.map(|e| e.raw.to_vec()).collect(),
    })
}

/// How the serial INTEGER of a certificate is encoded.
fn serial_encoding(der: &[u8]) -> &'static str {
    let Some(CertificateParts { tbs, .. }) = certificate_parts(der) else {
        return "unreadable";
    };
    let index = usize::from(tbs.first().and_then(|v| v.first()) == Some(&tag::CONTEXT_0));
    let Some(serial) = tbs.get(index) else {
        return "unreadable";
    };
    match serial.get(2..).unwrap_or_default() {
        [0x00, next, ..] if *next < 0x80 => "zero-padded (not DER)",
        [0xFF, next, ..] if *next >= 0x80 => "0xFF-padded (not DER)",
        [first, ..] if *first >= 0x80 => "negative",
        [0x00] => "zero",
        _ => "positive, DER",
    }
}

/// `der` with its serial INTEGER's value replaced by `serial` (the signature no longer
/// matches; parsing is what is tried).
fn with_serial(der: &[u8], serial: &[u8]) -> Vec<u8> {
    let CertificateParts { mut tbs, rest } = certificate_parts(der).unwrap();
    let index = usize::from(tbs[0][0] == tag::CONTEXT_0);
    tbs[index] = tlv::encode(tag::INTEGER.into(), serial);
    let mut certificate = tlv::encode(tag::SEQUENCE.into(), &tbs.concat());
    certificate.extend(rest.concat());
    tlv::encode(tag::SEQUENCE.into(), &certificate)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let auth = root.join("tests/fixtures/authenticity");
    let bench = root.join("tests/fixtures/bench");
    let corpus = root.join("fuzz/corpus");

    let mut certificates = Comparison::default();
    let mut crls = Comparison::default();
    let mut signed_data = Comparison::default();
    let mut certificate_inputs: Vec<(String, Vec<u8>)> = Vec::new();

    let fixtures = files(&auth).into_iter().chain(
        files(&bench)
            .into_iter()
            .map(|(n, d)| (format!("bench/{n}"), d)),
    );
    for (name, data) in fixtures {
        if name.ends_with(".der") || name.ends_with(".pem") {
            for (i, der) in pem_or_der(&data, "CERTIFICATE").into_iter().enumerate() {
                certificate_inputs.push((format!("fixture {name} #{i}"), der));
            }
        }
        if name.ends_with(".crl") {
            for (i, der) in pem_or_der(&data, "X509 CRL").into_iter().enumerate() {
                let ours = Crl::parse(&der).map(|_| ());
                crls.add(format!("fixture {name} #{i}"), ours, rustcrypto_crl(&der));
            }
        }
        if name.ends_with(".cms") || name.ends_with(".ml") {
            let ours = SignedData::parse_content_info(&data);
            let verdict = ours.as_ref().map(|_| ());
            signed_data.add(
                format!("fixture {name}"),
                verdict,
                rustcrypto_signed_data(&data),
            );
            let Ok(ours) = ours else { continue };
            for (i, cert) in ours.certificates.iter().enumerate() {
                certificate_inputs
                    .push((format!("fixture {name} certificate #{i}"), cert.raw.clone()));
            }
            // A master list's CscaMasterList { version, SET OF Certificate }.
            if name.ends_with(".ml") {
                let mut r = Reader::new(&ours.content, "ml");
                let list = r.read().unwrap();
                let mut r = list.reader("ml");
                r.read().unwrap();
                for (i, entry) in r
                    .read()
                    .unwrap()
                    .reader("ml")
                    .all()
                    .unwrap()
                    .iter()
                    .enumerate()
                {
                    certificate_inputs
                        .push((format!("fixture {name} entry #{i}"), entry.raw.to_vec()));
                }
            }
        }
    }
    for (name, data) in files(&corpus.join("authenticity_x509")) {
        let ours = Crl::parse(&data).map(|_| ());
        crls.add(format!("corpus x509 {name}"), ours, rustcrypto_crl(&data));
        certificate_inputs.push((format!("corpus x509 {name}"), data));
    }
    for (name, data) in files(&corpus.join("authenticity_cms")) {
        let ours = SignedData::parse_content_info(&data);
        let verdict = ours.as_ref().map(|_| ());
        signed_data.add(
            format!("corpus cms {name}"),
            verdict,
            rustcrypto_signed_data(&data),
        );
        if let Ok(ours) = ours {
            for (i, cert) in ours.certificates.iter().enumerate() {
                certificate_inputs.push((
                    format!("corpus cms {name} certificate #{i}"),
                    cert.raw.clone(),
                ));
            }
        }
    }

    let mut serials: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, der) in &certificate_inputs {
        let ours = Certificate::parse(der).map(|_| ());
        if ours.is_ok() {
            *serials.entry(serial_encoding(der)).or_default() += 1;
        }
        certificates.add(name.clone(), ours, rustcrypto_certificate(der));
    }
    certificates.print("Certificate (x509-cert 0.2 Certificate)");
    crls.print("CRL (x509-cert 0.2 crl::CertificateList)");
    signed_data.print("ContentInfo / SignedData (cms 0.2)");
    println!("== serial encodings of the certificates mrtd accepts: {serials:?}");

    let csca = pem_or_der(
        &std::fs::read(auth.join("csca-rsa.der")).unwrap(),
        "CERTIFICATE",
    )
    .remove(0);
    for (what, serial) in [
        ("negative (0x80 0x01)", &[0x80, 0x01][..]),
        ("zero-padded (0x00 0x01)", &[0x00, 0x01]),
        ("0xFF-padded (0xFF 0x80 0x01)", &[0xFF, 0x80, 0x01]),
        ("21 octets", &[0x01; 21]),
        ("22 octets", &[0x01; 22]),
    ] {
        let der = with_serial(&csca, serial);
        let ours = Certificate::parse(&der).map(|c| x509_string(&c.serial));
        println!(
            "== csca-rsa.der with a {what} serial: mrtd {:?}, x509-cert {:?}",
            ours,
            x509_cert::Certificate::from_der(&der)
                .map(|c| c.tbs_certificate.serial_number.to_string())
                .map_err(|e| e.to_string())
        );
    }
}

fn x509_string(bytes: &[u8]) -> String {
    mrtd::authenticity::x509::hex_string(bytes)
}

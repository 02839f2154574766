//! `gatectl chip read` end to end: a real pcscd with the vpcd driver, the virtual ePassport
//! (crates/virtual-epassport, a test tool) as the card, and the gatectl binary reading it.
//!
//! Each test starts its own pcscd in a private mount namespace with its own vpcd port
//! (`virtual_epassport::pcscd::IsolatedPcscd`), so the tests run in parallel with each other
//! and with a system pcscd. Needs root, `pcscd`, `vsmartcard-vpcd`, `unshare` (util-linux),
//! `opj_compress` (libopenjp2-tools) and the test photos (`cargo xtask setup`).
#![allow(clippy::unwrap_used)]

#[path = "../../face/tests/support/artefacts.rs"]
mod artefacts;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use virtual_epassport::SPECIMEN_TD3;
use virtual_epassport::chip::{Misbehaviour, VirtualChip};
use virtual_epassport::document::{
    ChipAuthenticationSuite, Document, DocumentConfig, PaceMapping, PaceSuite,
};
use virtual_epassport::pcscd::IsolatedPcscd;
use virtual_epassport::pki::{Pki, PkiOptions};
use virtual_epassport::vpcd::{VirtualCard, VpcdOptions};

/// A ~20 KB JPEG face from the test photos (downscaled).
fn face_jpeg() -> (Vec<u8>, image::RgbImage) {
    let photo = image::open(artefacts::photos_dir().join("obama.jpg")).unwrap();
    let small = photo
        .resize(300, 400, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 75)
        .encode_image(&small)
        .unwrap();
    (jpeg, small)
}

/// The same face as JPEG 2000 (`ext` "jp2" for the file format, "j2k" for a bare codestream),
/// made with opj_compress.
fn face_jpeg2000(dir: &Path, ext: &str) -> Vec<u8> {
    let (_, rgb) = face_jpeg();
    let png = dir.join("face.png");
    rgb.save(&png).unwrap();
    let out = dir.join(format!("face.{ext}"));
    let status = Command::new("opj_compress")
        .arg("-i")
        .arg(&png)
        .arg("-o")
        .arg(&out)
        .args(["-r", "30"])
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!("opj_compress not runnable ({e}): apt-get install -y libopenjp2-tools")
        });
    assert!(status.success(), "opj_compress failed");
    std::fs::read(out).unwrap()
}

struct Bench {
    pcscd: IsolatedPcscd,
    dir: tempfile::TempDir,
}

impl Bench {
    fn start() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let pcscd = IsolatedPcscd::start(&dir.path().join("pcscd"))
            .unwrap_or_else(|e| panic!("cannot start pcscd with vpcd for the chip tests: {e}"));
        Bench { pcscd, dir }
    }

    /// A trust directory holding `pki`'s CSCA: the `--csca` argument of `gatectl chip read`.
    fn trust_dir(&self, pki: &Pki) -> String {
        let trust = self.dir.path().join("trust");
        std::fs::create_dir_all(&trust).unwrap();
        std::fs::write(trust.join("csca.der"), &pki.csca.certificate).unwrap();
        trust.to_str().unwrap().to_owned()
    }

    /// Puts a virtual ePassport on the reader.
    fn insert(&self, config: &DocumentConfig, misbehaviour: Misbehaviour) -> VirtualCard {
        let pki = Pki::generate(&PkiOptions::default()).unwrap();
        self.insert_with(config, misbehaviour, &pki)
    }

    /// Puts a virtual ePassport signed under `pki` on the reader.
    fn insert_signed(&self, config: &DocumentConfig, pki: &Pki) -> VirtualCard {
        self.insert_with(config, Misbehaviour::default(), pki)
    }

    fn insert_with(
        &self,
        config: &DocumentConfig,
        misbehaviour: Misbehaviour,
        pki: &Pki,
    ) -> VirtualCard {
        let document = Arc::new(Document::build(config, pki).unwrap());
        VirtualCard::spawn(
            VirtualChip::new(document, misbehaviour),
            VpcdOptions {
                address: self.pcscd.vpcd_address(),
                reinsert_after: None,
                ..VpcdOptions::default()
            },
        )
    }

    /// Takes the card off the reader and waits until pcscd has noticed (it polls vpcd every
    /// 400 ms; a card swapped faster looks like the same card to it).
    fn remove(&self, card: VirtualCard) {
        card.stop().unwrap();
        std::thread::sleep(Duration::from_millis(1200));
    }

    /// Runs `gatectl chip read --reader ... ARGS`; fails the test if it runs over 60 s.
    fn read(&self, args: &[&str]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatectl"))
            .args(["chip", "read", "--reader", self.pcscd.reader_name()])
            .args(args)
            .env("PCSCLITE_CSOCK_NAME", self.pcscd.socket())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("gatectl chip read hung for 60 s with {args:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut stdout)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        let output = Output {
            status,
            stdout,
            stderr,
        };
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("panicked"),
            "gatectl panicked: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "gatectl failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

const MRZ_ARGS: [&str; 3] = ["--mrz", SPECIMEN_TD3[0], SPECIMEN_TD3[1]];

#[test]
fn bac_document_with_jpeg_photo_reads_end_to_end() {
    let bench = Bench::start();
    let (jpeg, _) = face_jpeg();
    let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg.clone());
    config.pace = None;
    config.dg15 = true;
    let _card = bench.insert(&config, Misbehaviour::default());
    let out = bench.dir.path().join("out");
    let output = bench.read(&[&MRZ_ARGS[..], &["--json", "--out", out.to_str().unwrap()]].concat());
    assert_success(&output);
    let v = json(&output);
    assert_eq!(v["access"], "BAC");
    // DG14 carries the ActiveAuthenticationInfo an EC key in DG15 needs.
    assert_eq!(v["data_groups"], serde_json::json!([1, 2, 14, 15]));
    assert_eq!(v["dg1"]["issuing_state"], "UTO");
    assert_eq!(v["dg1"]["document_number_masked"], "******2C3");
    assert_eq!(v["dg1"]["matches_given_mrz"], true);
    assert_eq!(v["dg2"]["format"], "jpg");
    assert_eq!(v["dg2"]["width"], 300);
    assert_eq!(v["dg2"]["image_bytes"], jpeg.len());
    for dg in ["DG1", "DG2", "DG14", "DG15"] {
        assert_eq!(v["sod_hashes_match"][dg], true, "{dg}");
    }
    assert_eq!(std::fs::read(out.join("face.jpg")).unwrap(), jpeg);
    for file in ["dg1.bin", "dg2.bin", "sod.bin"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // No name or date of birth in the output.
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("ERIKSSON") && !text.contains("740812"));
}

#[test]
fn pace_documents_with_jpeg2000_photos_read_with_can_and_mrz_and_a_clone_is_refused() {
    let bench = Bench::start();
    let jp2 = face_jpeg2000(bench.dir.path(), "jp2");
    let mut config = DocumentConfig::new(&SPECIMEN_TD3, jp2.clone());
    config.can = Some("123456".into());
    config.bac = false;
    config.pace = Some(PaceSuite::BrainpoolP256r1Aes128);
    let card = bench.insert(&config, Misbehaviour::default());
    let out = bench.dir.path().join("out");
    let output = bench.read(&["--can", "123456", "--out", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_success(&output);
    assert!(text.contains("access: PACE (PACE-ECDH-GM"), "{text}");
    assert!(text.contains("DG2: JPEG 2000 (JP2) 300x"), "{text}");
    assert!(text.contains("data groups read: DG1, DG2, DG14"), "{text}");
    assert_eq!(std::fs::read(out.join("face.jp2")).unwrap(), jp2);
    bench.remove(card);

    // A bare J2K codestream, PACE with the MRZ on secp256r1.
    let j2k = face_jpeg2000(bench.dir.path(), "j2k");
    config.face_image = j2k.clone();
    config.pace = Some(PaceSuite::Secp256r1Aes128);
    let card = bench.insert(&config, Misbehaviour::default());
    let output = bench.read(&[&MRZ_ARGS[..], &["--json", "--out", out.to_str().unwrap()]].concat());
    assert_success(&output);
    let v = json(&output);
    assert_eq!(v["access"], "PACE");
    assert_eq!(v["dg2"]["format"], "j2k");
    assert_eq!(std::fs::read(out.join("face.j2k")).unwrap(), j2k);
    bench.remove(card);

    // PACE with Chip Authentication Mapping: a genuine chip, then a clone of it.
    config.pace = Some(PaceSuite::BrainpoolP256r1Aes128);
    config.pace_mapping = PaceMapping::ChipAuthentication;
    let card = bench.insert(&config, Misbehaviour::default());
    let output = bench.read(&["--can", "123456", "--json"]);
    assert_success(&output);
    assert!(
        json(&output)["access_detail"]
            .as_str()
            .unwrap()
            .starts_with("PACE-ECDH-CAM"),
        "{}",
        json(&output)
    );
    bench.remove(card);
    config.cloned_chip = true;
    let _card = bench.insert(&config, Misbehaviour::default());
    let output = bench.read(&["--can", "123456", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let v = json(&output);
    assert_eq!(v["error_kind"], "access_denied", "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("chip authentication"),
        "{v}"
    );
}

/// Every standardised PACE parameter set (ICAO ids 0-2: the RFC 5114 DH groups; 8-18:
/// secp192r1 to secp521r1, brainpoolP192r1 to brainpoolP512r1) with every mapping it has
/// (Generic; Integrated, not on secp224r1; Chip Authentication on the curves with AES), on
/// PACE-only documents read with the MRZ through pcscd and verified against the test CSCA:
/// 37 reads, each authentic (a CAM chip's key proved and its EF.CardSecurity verified).
#[test]
fn every_pace_parameter_set_and_mapping_reads_through_pcscd() {
    let bench = Bench::start();
    let (jpeg, _) = face_jpeg();
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    let trust_arg = bench.trust_dir(&pki);
    let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg);
    config.bac = false;
    let mut reads = 0;
    for suite in PaceSuite::ALL {
        for mapping in [
            PaceMapping::Generic,
            PaceMapping::Integrated,
            PaceMapping::ChipAuthentication,
        ] {
            if suite.protocol_oid(mapping).is_none() {
                continue;
            }
            config.pace = Some(suite);
            config.pace_mapping = mapping;
            let card = bench.insert_signed(&config, &pki);
            let output = bench.read(&[&MRZ_ARGS[..], &["--json", "--csca", &trust_arg]].concat());
            assert_success(&output);
            let v = json(&output);
            assert_eq!(v["access"], "PACE", "{suite:?} {mapping:?}: {v}");
            let agreement = match suite.key_agreement() {
                mrtd::pace::KeyAgreement::Dh => "DH",
                mrtd::pace::KeyAgreement::Ecdh => "ECDH",
            };
            let mapping_name = match mapping {
                PaceMapping::Generic => "GM",
                PaceMapping::Integrated => "IM",
                PaceMapping::ChipAuthentication => "CAM",
            };
            let detail = v["access_detail"].as_str().unwrap();
            assert!(
                detail.starts_with(&format!("PACE-{agreement}-{mapping_name} "))
                    && detail.contains(&format!("(parameter id Some({}))", suite.parameter_id())),
                "{suite:?} {mapping:?}: {detail}"
            );
            assert_eq!(v["sod_hashes_match"]["DG1"], true, "{suite:?} {mapping:?}");
            assert_eq!(
                v["authenticity"]["verdict"], "authentic",
                "{suite:?} {mapping:?}: {v}"
            );
            if mapping == PaceMapping::ChipAuthentication {
                assert!(
                    v["authenticity"]["detail"]
                        .as_str()
                        .unwrap()
                        .contains("chip authentication passed"),
                    "{v}"
                );
            }
            bench.remove(card);
            reads += 1;
        }
    }
    // GM on 14 sets, IM on 13 (not secp224r1), CAM on the 10 curves offered with AES.
    assert_eq!(reads, 14 + 13 + 10);
}

/// Chip Authentication through pcscd with each key type the virtual ePassport publishes in
/// DG14 (ECDH secp256r1 AES-128, ECDH brainpoolP256r1 3DES, DH 2048-bit AES-128, DH 1024-bit
/// 3DES; explicit X9.42 parameters for DH), after BAC and after PACE: `gatectl chip read
/// --csca` reports it passed; a clone (the files without the chip's key) is CA_FAILED.
#[test]
fn chip_authentication_dh_and_ecdh_through_pcscd() {
    let bench = Bench::start();
    let (jpeg, _) = face_jpeg();
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    let trust_arg = bench.trust_dir(&pki);
    let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg);
    config.chip_authentication_key = true;
    for (suite, pace) in ChipAuthenticationSuite::ALL
        .into_iter()
        .zip([None, Some(PaceSuite::Secp256r1Aes128)].into_iter().cycle())
    {
        config.chip_authentication = suite;
        config.pace = pace;
        for cloned in [false, true] {
            config.cloned_chip = cloned;
            let card = bench.insert_signed(&config, &pki);
            let output = bench.read(&[&MRZ_ARGS[..], &["--json", "--csca", &trust_arg]].concat());
            let v = json(&output);
            if cloned {
                assert_eq!(output.status.code(), Some(4), "{suite:?}: {v}");
                assert_eq!(
                    v["authenticity"]["reason_code"], "CA_FAILED",
                    "{suite:?}: {v}"
                );
            } else {
                assert_success(&output);
                assert_eq!(v["authenticity"]["verdict"], "authentic", "{suite:?}: {v}");
                assert!(
                    v["authenticity"]["detail"]
                        .as_str()
                        .unwrap()
                        .contains("chip authentication passed"),
                    "{suite:?}: {v}"
                );
            }
            bench.remove(card);
        }
    }
}

#[test]
fn misbehaving_chips_and_readers_give_clear_errors() {
    let bench = Bench::start();
    let (jpeg, _) = face_jpeg();
    let config = DocumentConfig::new(&SPECIMEN_TD3, jpeg);

    // Each case: the switch, the expected error kind and a phrase of the message.
    let cases: [(Misbehaviour, &str, &str); 3] = [
        (
            Misbehaviour {
                wrong_mac_after: Some(3),
                ..Misbehaviour::default()
            },
            "secure_messaging",
            "secure messaging",
        ),
        (
            Misbehaviour {
                truncated_tlv: true,
                ..Misbehaviour::default()
            },
            "read",
            "DG2 truncated",
        ),
        (
            Misbehaviour {
                pull_at_apdu: Some(14),
                ..Misbehaviour::default()
            },
            "card_removed",
            "card removed",
        ),
    ];
    for (misbehaviour, kind, phrase) in cases {
        let card = bench.insert(&config, misbehaviour.clone());
        let output = bench.read(&[&MRZ_ARGS[..], &["--json"]].concat());
        assert_eq!(output.status.code(), Some(1), "{misbehaviour:?}");
        let v = json(&output);
        assert_eq!(v["ok"], false);
        assert_eq!(v["error_kind"], kind, "{misbehaviour:?}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains(phrase),
            "{misbehaviour:?}: {v}"
        );
        // Human output: one line on stderr.
        bench.remove(card);
        let card = bench.insert(&config, misbehaviour.clone());
        let output = bench.read(&MRZ_ARGS);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("chip read failed"), "{stderr}");
        bench.remove(card);
    }

    // 6282 at the end of files is a quirk the reader accepts.
    let card = bench.insert(
        &config,
        Misbehaviour {
            end_of_file_6282: true,
            ..Misbehaviour::default()
        },
    );
    let output = bench.read(&MRZ_ARGS);
    assert_success(&output);
    bench.remove(card);

    // A chip that answers 6A82 to every READ BINARY by short file identifier (as an independent
    // emulator does) is read after SELECT by file identifier: EF.COM is not "missing".
    let card = bench.insert(
        &config,
        Misbehaviour {
            no_short_file_ids: true,
            ..Misbehaviour::default()
        },
    );
    let output = bench.read(&MRZ_ARGS);
    assert_success(&output);
    bench.remove(card);

    // A slow chip: the read gives up at the timeout instead of hanging.
    let card = bench.insert(
        &config,
        Misbehaviour {
            apdu_delay: Duration::from_millis(1500),
            ..Misbehaviour::default()
        },
    );
    let start = Instant::now();
    let output = bench.read(&[&MRZ_ARGS[..], &["--json", "--timeout", "3"]].concat());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["error_kind"], "timeout");
    assert!(start.elapsed() < Duration::from_secs(10));
    bench.remove(card);

    // No card on the reader.
    let output = bench.read(&[&MRZ_ARGS[..], &["--json", "--timeout", "2"]].concat());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["error_kind"], "no_card");

    // A reader that is not there.
    let output = Command::new(env!("CARGO_BIN_EXE_gatectl"))
        .args([
            "chip",
            "read",
            "--reader",
            "No Such Reader",
            "--can",
            "123456",
        ])
        .env("PCSCLITE_CSOCK_NAME", bench.pcscd.socket())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no reader matches"), "{stderr}");
}

#[test]
fn csca_verification_passes_a_genuine_document_and_refuses_each_attack_with_its_reason() {
    let bench = Bench::start();
    let (jpeg, _) = face_jpeg();
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    let trust_arg = bench.trust_dir(&pki);
    let verify = |card: VirtualCard| {
        let output = bench.read(&[&MRZ_ARGS[..], &["--json", "--csca", &trust_arg]].concat());
        bench.remove(card);
        output
    };
    let verdict = |output: &Output| {
        let v = json(output);
        (
            output.status.code(),
            v["authenticity"]["verdict"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            v["authenticity"]["reason_code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };

    // Genuine: every check passes, exit 0.
    let genuine = DocumentConfig::new(&SPECIMEN_TD3, jpeg.clone());
    let output = verify(bench.insert_signed(&genuine, &pki));
    assert_eq!(
        verdict(&output),
        (Some(0), "authentic".into(), String::new())
    );

    // DG2 changed after signing.
    let mut tampered = genuine.clone();
    tampered.tamper_data_group = Some(2);
    let output = verify(bench.insert_signed(&tampered, &pki));
    assert_eq!(
        verdict(&output),
        (Some(4), "not_authentic".into(), "DG_HASH_MISMATCH".into())
    );

    // A document signer whose certificate expired.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expired_pki = Pki::generate(&PkiOptions {
        ds_validity: (now - 40 * 86_400, now - 10 * 86_400),
        ..PkiOptions::default()
    })
    .unwrap();
    let expired_trust = bench.dir.path().join("trust-expired");
    std::fs::create_dir_all(&expired_trust).unwrap();
    std::fs::write(
        expired_trust.join("csca.der"),
        &expired_pki.csca.certificate,
    )
    .unwrap();
    let card = bench.insert_signed(&genuine, &expired_pki);
    let output = bench.read(
        &[
            &MRZ_ARGS[..],
            &["--json", "--csca", expired_trust.to_str().unwrap()],
        ]
        .concat(),
    );
    bench.remove(card);
    assert_eq!(
        verdict(&output),
        (
            Some(4),
            "not_authentic".into(),
            "DS_CERTIFICATE_EXPIRED".into()
        )
    );

    // Signed under a CSCA the gate does not trust (the test PKI names every CSCA alike, so
    // the chain fails at the signature).
    let other = Pki::generate(&PkiOptions::default()).unwrap();
    let output = verify(bench.insert_signed(&genuine, &other));
    let (code, word, reason) = verdict(&output);
    assert_eq!((code, word.as_str()), (Some(4), "not_authentic"));
    assert!(
        ["DS_CERTIFICATE_SIGNATURE_INVALID", "CSCA_UNKNOWN"].contains(&reason.as_str()),
        "{reason}"
    );

    // Active Authentication: a genuine chip proves it holds the DG15 key; a clone (same
    // signed data, another key inside) is refused.
    let mut with_aa = genuine.clone();
    with_aa.dg14 = true;
    with_aa.dg15 = true;
    let output = verify(bench.insert_signed(&with_aa, &pki));
    assert_eq!(
        verdict(&output),
        (Some(0), "authentic".into(), String::new())
    );
    assert!(
        json(&output)["authenticity"]["detail"]
            .as_str()
            .unwrap()
            .contains("active authentication passed"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let mut clone = with_aa.clone();
    clone.cloned_chip = true;
    let output = verify(bench.insert_signed(&clone, &pki));
    assert_eq!(
        verdict(&output),
        (
            Some(4),
            "not_authentic".into(),
            "AA_SIGNATURE_INVALID".into()
        )
    );

    // EF.SOD names a hash algorithm the gate does not support.
    let mut odd_hash = genuine.clone();
    odd_hash.unsupported_hash_algorithm = true;
    let output = verify(bench.insert_signed(&odd_hash, &pki));
    assert_eq!(
        verdict(&output),
        (
            Some(4),
            "not_authentic".into(),
            "UNSUPPORTED_ALGORITHM".into()
        )
    );

    // The chip's DG1 names someone else than the printed page (same access key fields).
    let other_name = [
        "P<UTOSMITH<<JOHN<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
        SPECIMEN_TD3[1],
    ];
    let swapped = DocumentConfig::new(&other_name, jpeg);
    let output = verify(bench.insert_signed(&swapped, &pki));
    assert_eq!(
        verdict(&output),
        (Some(4), "not_authentic".into(), "DG1_MRZ_MISMATCH".into())
    );
}

#[test]
fn revoked_signers_and_master_lists_from_the_test_pki_are_applied_through_pcscd() {
    let bench = Bench::start();
    let (jpeg, _) = face_jpeg();
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    let other = Pki::generate(&PkiOptions::default()).unwrap();
    let dir = bench.dir.path();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let csca = write("csca.der", &pki.csca.certificate);
    let revoking = write(
        "revoking.crl",
        &pki.crl(&[&pki.document_signer.serial], now - 3_600, now + 86_400),
    );
    let clean = write("clean.crl", &pki.crl(&[], now - 3_600, now + 86_400));
    // Master lists signed by the PKI's signer: one holding our CSCA (and another), one not.
    let with_ours = write(
        "with-ours.ml",
        &pki.master_list(&[&pki.csca.certificate, &other.csca.certificate]),
    );
    let without_ours = write(
        "without-ours.ml",
        &pki.master_list(&[&other.csca.certificate]),
    );
    let genuine = DocumentConfig::new(&SPECIMEN_TD3, jpeg);
    let verdict = |extra: &[&str]| {
        let card = bench.insert_signed(&genuine, &pki);
        let output = bench.read(&[&MRZ_ARGS[..], &["--json"], extra].concat());
        bench.remove(card);
        let v = json(&output);
        (
            output.status.code(),
            v["authenticity"]["reason_code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };

    assert_eq!(
        verdict(&["--csca", &csca, "--crl", &revoking]),
        (Some(4), "DS_CERTIFICATE_REVOKED".into())
    );
    assert_eq!(
        verdict(&["--csca", &csca, "--crl", &clean, "--require-crl"]),
        (Some(0), String::new())
    );
    assert_eq!(
        verdict(&["--csca", &csca, "--require-crl"]),
        (Some(4), "CRL_UNAVAILABLE".into())
    );
    assert_eq!(
        verdict(&["--csca", &with_ours, "--ml-signer", &csca]),
        (Some(0), String::new())
    );
    let (code, reason) = verdict(&["--csca", &without_ours, "--ml-signer", &csca]);
    assert_eq!(code, Some(4));
    assert!(
        ["CSCA_UNKNOWN", "DS_CERTIFICATE_SIGNATURE_INVALID"].contains(&reason.as_str()),
        "{reason}"
    );
}

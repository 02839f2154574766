//! The virtual chip read by `mrtd::reader::ChipReader` in process (no pcscd): access
//! protocols, extended length, signed EF.SOD, and each misbehaviour switch.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use mrtd::lds::{Dg2, FileId, ImageFormat};
use mrtd::mrz::Mrz;
use mrtd::pace::PacePassword;
use mrtd::reader::{
    AccessProtocol, ChipReader, ReadError, ReaderOptions, atr_supports_extended_length,
};
use p256::ecdsa::signature::Verifier;
use virtual_epassport::SPECIMEN_TD3;
use virtual_epassport::chip::{Misbehaviour, VirtualChip};
use virtual_epassport::document::{
    ChipAuthenticationSuite, Document, DocumentConfig, PaceMapping, PaceSuite,
};
use virtual_epassport::pki::{Pki, PkiOptions};

/// A JPEG header with a SOF0 of 480x640 and ~20 KB of filler (the chip never decodes it).
fn jpeg_20k() -> Vec<u8> {
    let mut jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x02, 0x80, 0x01, 0xE0,
    ];
    jpeg.extend([0x01, 0x01, 0x11, 0x00]);
    jpeg.extend((0..20_000).map(|i| (i * 31 % 251) as u8));
    jpeg.extend([0xFF, 0xD9]);
    jpeg
}

fn mrz_password() -> PacePassword {
    PacePassword::Mrz(Mrz::parse(&SPECIMEN_TD3).unwrap().mrz_information().clone())
}

fn chip(config: &DocumentConfig, misbehaviour: Misbehaviour) -> (VirtualChip, Pki) {
    let pki = Pki::generate(&PkiOptions::default()).unwrap();
    let document = Arc::new(Document::build(config, &pki).unwrap());
    (VirtualChip::new(document, misbehaviour), pki)
}

fn read(
    config: &DocumentConfig,
    misbehaviour: Misbehaviour,
    password: &PacePassword,
) -> Result<mrtd::reader::ChipDocument, ReadError> {
    let (chip, _) = chip(config, misbehaviour);
    let options = ReaderOptions {
        extended_length: atr_supports_extended_length(&chip.atr()),
        ..ReaderOptions::default()
    };
    ChipReader::new(chip, options).read_document(password)
}

#[test]
fn bac_pace_mrz_and_pace_can_read_the_document() {
    let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
    config.can = Some("123456".into());
    config.pace = None;
    let doc = read(&config, Misbehaviour::default(), &mrz_password()).unwrap();
    assert_eq!(doc.access, AccessProtocol::Bac);
    assert_eq!(doc.dg1().unwrap().mrz.document_number.as_str(), "L898902C3");

    // Every standardised PACE parameter set (ids 0-2, 8-18), Generic and Integrated Mapping.
    for (suite, mapping) in PaceSuite::ALL
        .into_iter()
        .flat_map(|s| [(s, PaceMapping::Generic), (s, PaceMapping::Integrated)])
        .filter(|(s, m)| s.protocol_oid(*m).is_some())
    {
        config.pace = Some(suite);
        config.pace_mapping = mapping;
        config.bac = false;
        for password in [mrz_password(), PacePassword::Can("123456".into())] {
            let doc = read(&config, Misbehaviour::default(), &password).unwrap();
            match &doc.access {
                AccessProtocol::Pace {
                    protocol,
                    parameter_id,
                    ..
                } => {
                    assert_eq!(Some(&protocol.0), suite.protocol_oid(mapping).as_ref());
                    assert_eq!(*parameter_id, Some(suite.parameter_id()));
                }
                other => panic!("{suite:?} {mapping:?}: {other:?}"),
            }
            let face = &Dg2::parse(doc.data_group(2).unwrap()).unwrap().faces[0];
            assert_eq!(
                (face.format, face.width, face.height),
                (ImageFormat::Jpeg, 480, 640)
            );
            assert_eq!(face.data, jpeg_20k());
            assert!(
                doc.check_hashes()
                    .unwrap()
                    .iter()
                    .all(|(_, ok)| *ok == Some(true))
            );
        }
    }
    // A wrong CAN fails PACE, and BAC is off: a clear error.
    let err = read(
        &config,
        Misbehaviour::default(),
        &PacePassword::Can("654321".into()),
    )
    .unwrap_err();
    assert!(
        matches!(err, ReadError::Pace(_) | ReadError::Status { .. }),
        "{err}"
    );
}

#[test]
fn extended_length_cuts_the_apdu_count() {
    let config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
    let extended = read(&config, Misbehaviour::default(), &mrz_password()).unwrap();
    let short = read(
        &config,
        Misbehaviour {
            no_extended_length: true,
            ..Misbehaviour::default()
        },
        &mrz_password(),
    )
    .unwrap();
    assert!(
        extended.apdu_count * 3 < short.apdu_count,
        "{} vs {}",
        extended.apdu_count,
        short.apdu_count
    );
    assert_eq!(extended.data_groups, short.data_groups);
}

#[test]
fn sod_signature_verifies_with_the_written_document_signer() {
    let config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
    let (chip, pki) = chip(&config, Misbehaviour::default());
    let doc = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&mrz_password())
        .unwrap();
    let sod = doc.parsed_sod().unwrap();
    let (set, _) = mrtd::tlv::parse_one(&sod.signer_infos).unwrap();
    let info = set.children().unwrap()[0].children().unwrap();
    let mut attributes = info[3].raw.to_vec();
    attributes[0] = 0x31;
    let signature = p256::ecdsa::Signature::from_der(info[5].value).unwrap();
    pki.document_signer
        .verifying_key()
        .verify(&attributes, &signature)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = pki.write_certificates(dir.path()).unwrap();
    assert_eq!(written.len(), 4);
    assert_eq!(
        std::fs::read(dir.path().join("ds.der")).unwrap(),
        pki.document_signer.certificate
    );
}

#[test]
fn each_misbehaviour_gives_its_error() {
    let config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
    let err = read(
        &config,
        Misbehaviour {
            wrong_mac_after: Some(2),
            ..Misbehaviour::default()
        },
        &mrz_password(),
    )
    .unwrap_err();
    assert!(matches!(err, ReadError::SecureMessaging { .. }), "{err}");

    let err = read(
        &config,
        Misbehaviour {
            truncated_tlv: true,
            ..Misbehaviour::default()
        },
        &mrz_password(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ReadError::FileTruncated {
                file: FileId::DataGroup(2),
                ..
            }
        ),
        "{err}"
    );

    let err = read(
        &config,
        Misbehaviour {
            pull_at_apdu: Some(12),
            ..Misbehaviour::default()
        },
        &mrz_password(),
    )
    .unwrap_err();
    assert!(err.is_card_removed(), "{err}");

    // 6282 at the end of a file is an interoperability quirk the reader must accept.
    let doc = read(
        &config,
        Misbehaviour {
            end_of_file_6282: true,
            no_extended_length: true,
            ..Misbehaviour::default()
        },
        &mrz_password(),
    )
    .unwrap();
    assert_eq!(
        doc.data_group(2).unwrap().len(),
        Document::build(&config, &Pki::generate(&PkiOptions::default()).unwrap())
            .unwrap()
            .files[&FileId::DataGroup(2)]
            .len()
    );

    // A slow chip is slow, not wrong.
    let start = std::time::Instant::now();
    let doc = read(
        &config,
        Misbehaviour {
            apdu_delay: Duration::from_millis(5),
            ..Misbehaviour::default()
        },
        &mrz_password(),
    )
    .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(5) * doc.apdu_count as u32);
}

#[test]
fn a_dg2_over_32_kb_is_read_with_odd_ins() {
    let mut jpeg = jpeg_20k();
    jpeg.extend((0..30_000).map(|i| (i * 7 % 253) as u8));
    let config = DocumentConfig::new(&SPECIMEN_TD3, jpeg.clone());
    for no_extended_length in [false, true] {
        let doc = read(
            &config,
            Misbehaviour {
                no_extended_length,
                ..Misbehaviour::default()
            },
            &mrz_password(),
        )
        .unwrap();
        let face = &Dg2::parse(doc.data_group(2).unwrap()).unwrap().faces[0];
        assert_eq!(face.data, jpeg);
        assert!(
            doc.check_hashes()
                .unwrap()
                .iter()
                .all(|(_, ok)| *ok == Some(true))
        );
    }
}

/// Chip Authentication (ECDH and DH, AES and 3DES) after PACE and after BAC: the chip answers
/// the key agreement, switches to the new session keys, and the reader's proof (EF.COM read
/// again under them) passes; a cloned chip without the DG14 key fails the proof.
#[test]
fn chip_authentication_dh_and_ecdh_passes_and_a_clone_fails() {
    use mrtd::authenticity::chip::{self, ChipAuthError};
    for suite in ChipAuthenticationSuite::ALL {
        for pace in [Some(PaceSuite::BrainpoolP256r1Aes128), None] {
            let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
            config.pace = pace;
            config.chip_authentication_key = true;
            config.chip_authentication = suite;
            for cloned in [false, true] {
                config.cloned_chip = cloned;
                let (chip, _) = chip(&config, Misbehaviour::default());
                let mut reader = ChipReader::new(chip, ReaderOptions::default());
                let doc = reader.read_document(&mrz_password()).unwrap();
                let params = chip::parameters_from_dg14(doc.data_group(14).unwrap())
                    .unwrap()
                    .unwrap();
                let result = chip::run_chip_authentication(&mut reader, &params, &doc.com);
                match (cloned, result) {
                    (false, Ok(report)) => {
                        let expected = match suite {
                            ChipAuthenticationSuite::EcdhSecp256r1Aes128
                            | ChipAuthenticationSuite::DhModp2048Aes128 => "CA-Aes128",
                            _ => "CA-Tdes",
                        };
                        assert!(report.protocol.starts_with(expected), "{report:?}");
                    }
                    (true, Err(ChipAuthError::ProofFailed(_))) => {}
                    (cloned, other) => {
                        panic!("{suite:?} {pace:?} cloned {cloned}: {other:?}")
                    }
                }
            }
        }
    }
}

#[test]
fn pace_cam_authenticates_the_chip_and_exposes_a_clone() {
    // On every PACE curve with AES (the chip key is on the PACE curve; CAM has no DH or
    // 3DES variant).
    for suite in PaceSuite::ALL
        .into_iter()
        .filter(|s| s.protocol_oid(PaceMapping::ChipAuthentication).is_some())
    {
        let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
        config.pace = Some(suite);
        config.pace_mapping = PaceMapping::ChipAuthentication;
        let doc = read(&config, Misbehaviour::default(), &mrz_password()).unwrap();
        assert!(
            matches!(
                doc.access,
                AccessProtocol::Pace {
                    chip_authentication: mrtd::reader::ChipAuthentication::Verified,
                    ..
                }
            ),
            "{suite:?}: {:?}",
            doc.access
        );
        assert!(doc.card_security.is_some());

        config.cloned_chip = true;
        let err = read(&config, Misbehaviour::default(), &mrz_password()).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::Pace(mrtd::pace::PaceError::ChipAuthenticationFailed)
            ),
            "{suite:?}: {err}"
        );
    }
}

/// A chip that answers SELECT by file identifier but 6A82 to READ BINARY by short file
/// identifier (as an independent emulator does) is read whole, BAC and PACE alike, at the cost of
/// one SELECT per file; a file the document really lacks (DG15 here) is still absent.
#[test]
fn a_chip_without_short_file_identifiers_is_read_after_select() {
    let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
    for pace in [None, Some(PaceSuite::BrainpoolP256r1Aes128)] {
        config.pace = pace;
        let with_sfi = read(&config, Misbehaviour::default(), &mrz_password()).unwrap();
        let without_sfi = read(
            &config,
            Misbehaviour {
                no_short_file_ids: true,
                ..Misbehaviour::default()
            },
            &mrz_password(),
        )
        .unwrap();
        assert_eq!(without_sfi.com, with_sfi.com);
        // EF.SOD is signed under a fresh test PKI for each chip (random keys, so even the DER
        // length of the ECDSA signatures varies): compare the signed security object.
        let security_object = |sod: &[u8]| mrtd::lds::Sod::parse(sod).unwrap().security_object;
        assert_eq!(
            security_object(&without_sfi.sod),
            security_object(&with_sfi.sod)
        );
        assert_eq!(without_sfi.card_access, with_sfi.card_access);
        assert_eq!(without_sfi.data_groups, with_sfi.data_groups);
        assert!(!without_sfi.data_groups.contains_key(&15));
        assert!(
            without_sfi.apdu_count > with_sfi.apdu_count,
            "{} vs {}",
            without_sfi.apdu_count,
            with_sfi.apdu_count
        );
    }
}

/// The policy for the sets below 112-bit security (`ReaderOptions::legacy_pace_groups`):
/// accepted by default; refused, a document offering only such a set is read with BAC (the
/// fallback says why) or, when the reader allows no BAC, not at all.
#[test]
fn legacy_pace_groups_are_accepted_by_default_and_refused_on_request() {
    use mrtd::pace::LegacyPaceGroups;
    for suite in [
        PaceSuite::Modp1024s160Aes128,
        PaceSuite::Secp192r1Tdes,
        PaceSuite::BrainpoolP192r1Aes128,
    ] {
        let mut config = DocumentConfig::new(&SPECIMEN_TD3, jpeg_20k());
        config.pace = Some(suite);
        let read_with = |config: &DocumentConfig, legacy| {
            let (chip, _) = chip(config, Misbehaviour::default());
            let options = ReaderOptions {
                legacy_pace_groups: legacy,
                allow_bac: config.bac,
                ..ReaderOptions::default()
            };
            ChipReader::new(chip, options).read_document(&mrz_password())
        };
        let doc = read_with(&config, LegacyPaceGroups::Accept).unwrap();
        assert!(
            matches!(doc.access, AccessProtocol::Pace { .. }),
            "{suite:?}"
        );
        let doc = read_with(&config, LegacyPaceGroups::Refuse).unwrap();
        assert_eq!(doc.access, AccessProtocol::Bac, "{suite:?}");
        assert_eq!(
            doc.pace_fallback.as_deref(),
            Some("no supported PACEInfo in EF.CardAccess")
        );
        config.bac = false;
        assert!(matches!(
            read_with(&config, LegacyPaceGroups::Refuse),
            Err(ReadError::NoAccessProtocol(_))
        ));
    }
}

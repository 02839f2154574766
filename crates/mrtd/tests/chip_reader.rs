//! End-to-end reading through `ChipReader` against the in-memory `TestDoubleChip`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{Misbehaviour, TestDoubleChip};
use mrtd::lds::{FileId, ImageFormat, build};
use mrtd::mrz::{Mrz, MrzInformation};
use mrtd::pace::PacePassword;
use mrtd::reader::{AccessProtocol, ChipReader, ReadError, ReaderOptions};
use mrtd::sm::SmError;

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

/// A deterministic fake image of `len` bytes starting with the given magic.
fn image(magic: &[u8], len: usize) -> Vec<u8> {
    let mut v = magic.to_vec();
    v.extend((0..len - magic.len()).map(|i| (i * 31 % 251) as u8));
    v
}

fn files(
    card_access: Option<&str>,
    dg2_image: &[u8],
    extra: &[FileId],
) -> BTreeMap<FileId, Vec<u8>> {
    let mut files = BTreeMap::new();
    if let Some(ca) = card_access {
        files.insert(FileId::CardAccess, hex::decode(ca).unwrap());
    }
    let mut listed = vec![FileId::DataGroup(1), FileId::DataGroup(2)];
    listed.extend_from_slice(extra);
    files.insert(FileId::Com, build::ef_com(&listed));
    let dg1 = build::dg1(&TD3);
    let dg2 = build::dg2(
        dg2_image,
        480,
        640,
        dg2_image[0] != 0xFF || dg2_image[1] != 0xD8,
    );
    files.insert(FileId::Sod, build::sod_unsigned(&[(1, &dg1), (2, &dg2)]));
    files.insert(FileId::DataGroup(1), dg1);
    files.insert(FileId::DataGroup(2), dg2);
    for f in extra {
        files.insert(
            *f,
            mrtd::tlv::encode(u32::from(f.tag()), &[0x5F, 0x19, 0x02, b'X', b'Y']),
        );
    }
    files
}

fn mrz_info() -> MrzInformation {
    Mrz::parse(&TD3).unwrap().mrz_information().clone()
}

const CARD_ACCESS_BP256_AES128: &str = "31143012060A04007F0007020204020202010202010D";
// PACE-ECDH-GM-AES-256 on secp384r1 (parameter id 15).
const CARD_ACCESS_P384_AES256: &str = "31143012060A04007F0007020204020402010202010F";

#[test]
fn bac_document_read_end_to_end() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 20_000);
    let chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &[]));
    let mut reader = ChipReader::new(chip, ReaderOptions::default());
    let doc = reader
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert_eq!(doc.access, AccessProtocol::Bac);
    assert_eq!(doc.pace_fallback, None);
    assert_eq!(doc.dg1().unwrap().mrz, Mrz::parse(&TD3).unwrap());
    let dg2 = doc.dg2().unwrap();
    assert_eq!(dg2.faces[0].format, ImageFormat::Jpeg);
    assert_eq!(dg2.faces[0].data, jpeg);
    assert_eq!(
        doc.check_hashes().unwrap(),
        [(1, Some(true)), (2, Some(true))]
    );
    // CardAccess probe (READ BINARY by SFI, then SELECT: absent) + SELECT + GET CHALLENGE +
    // EXT AUTH + reads of COM, DG1, SOD (1 each) + DG2 in ceil(20_09x / 223) reads.
    let dg2_len = doc.data_group(2).unwrap().len();
    let expected = 5 + 3 + dg2_len.div_ceil(0xDF);
    assert_eq!(
        doc.apdu_count, expected,
        "APDUs for a 20 KB DG2 with short reads"
    );
}

#[test]
fn pace_document_read_with_mrz_and_can() {
    let jp2 = image(
        &[
            0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A,
        ],
        5_000,
    );
    for password in [
        PacePassword::Mrz(mrz_info()),
        PacePassword::Can("123456".into()),
    ] {
        let chip =
            TestDoubleChip::new(mrz_info(), files(Some(CARD_ACCESS_BP256_AES128), &jp2, &[]))
                .with_can("123456");
        let mut reader = ChipReader::new(chip, ReaderOptions::default());
        let doc = reader.read_document(&password).unwrap();
        assert!(
            matches!(
                doc.access,
                AccessProtocol::Pace {
                    parameter_id: Some(13),
                    ..
                }
            ),
            "{:?}",
            doc.access
        );
        assert_eq!(doc.dg2().unwrap().faces[0].format, ImageFormat::Jp2);
        let chip = reader.into_transport();
        // MSE:Set AT without Le and without parameter id (single PACEInfo).
        assert!(
            chip.log
                .iter()
                .any(|a| a == &hex::decode("0022C1A40F800A04007F00070202040202830101").unwrap())
                || matches!(password, PacePassword::Can(_))
        );
    }
}

#[test]
fn pace_aes256_p384_with_extended_length_uses_few_apdus() {
    let j2k = image(&[0xFF, 0x4F, 0xFF, 0x51], 20_000);
    let chip = TestDoubleChip::new(mrz_info(), files(Some(CARD_ACCESS_P384_AES256), &j2k, &[]));
    let options = ReaderOptions {
        extended_length: true,
        ..ReaderOptions::default()
    };
    let mut reader = ChipReader::new(chip, options);
    let doc = reader
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert!(matches!(
        doc.access,
        AccessProtocol::Pace {
            parameter_id: Some(15),
            cipher: mrtd::crypto::CipherSuite::Aes256,
            ..
        }
    ));
    assert_eq!(doc.dg2().unwrap().faces[0].format, ImageFormat::J2k);
    // CardAccess + MSE + 4 GA + SELECT + COM + DG1 + DG2 (6 reads of 4 KB) + SOD.
    assert_eq!(doc.apdu_count, 1 + 1 + 4 + 1 + 1 + 1 + 5 + 1);
}

#[test]
fn extended_length_refused_falls_back_to_short_reads() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 3_000);
    let mut chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &[]));
    chip.misbehaviour = Misbehaviour {
        no_extended_length: true,
        ..Misbehaviour::default()
    };
    let options = ReaderOptions {
        extended_length: true,
        ..ReaderOptions::default()
    };
    let doc = ChipReader::new(chip, options)
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert_eq!(doc.dg2().unwrap().faces[0].data, jpeg);
}

#[test]
fn large_dg2_beyond_32k_uses_odd_ins_read() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 40_000);
    for extended_length in [true, false] {
        let chip = TestDoubleChip::new(
            mrz_info(),
            files(Some(CARD_ACCESS_BP256_AES128), &jpeg, &[]),
        );
        let options = ReaderOptions {
            extended_length,
            ..ReaderOptions::default()
        };
        let mut reader = ChipReader::new(chip, options);
        let doc = reader
            .read_document(&PacePassword::Mrz(mrz_info()))
            .unwrap();
        assert_eq!(doc.dg2().unwrap().faces[0].data, jpeg);
        let log = reader.into_transport().log;
        // The wrapped odd-INS READ BINARY appears on the wire (CLA 0C, INS B1).
        assert!(log.iter().any(|a| a[0] == 0x0C && a[1] == 0xB1));
        if !extended_length {
            assert!(
                log.iter().all(|a| a.len() < 5 || a[4] != 0 || a.len() == 5),
                "only short APDUs"
            );
        }
    }
}

#[test]
fn optional_groups_listed_in_com_are_read() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 500);
    let extra = [FileId::DataGroup(12), FileId::DataGroup(3)];
    let chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &extra));
    let doc = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert_eq!(
        doc.data_groups.keys().copied().collect::<Vec<_>>(),
        [1, 2, 12]
    );
}

#[test]
fn chip_without_sfi_support_is_read_with_select() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 1_000);
    let mut chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &[]));
    chip.misbehaviour.no_sfi = true;
    let doc = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert_eq!(doc.dg2().unwrap().faces[0].data, jpeg);
}

#[test]
fn pace_rejected_falls_back_to_bac_or_fails_when_bac_disabled() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 1_000);
    let mut chip = TestDoubleChip::new(
        mrz_info(),
        files(Some(CARD_ACCESS_BP256_AES128), &jpeg, &[]),
    );
    chip.misbehaviour.reject_pace = true;
    let doc = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert_eq!(doc.access, AccessProtocol::Bac);
    assert!(doc.pace_fallback.unwrap().contains("6A80"));

    let mut chip = TestDoubleChip::new(
        mrz_info(),
        files(Some(CARD_ACCESS_BP256_AES128), &jpeg, &[]),
    );
    chip.misbehaviour.reject_pace = true;
    let options = ReaderOptions {
        allow_bac: false,
        ..ReaderOptions::default()
    };
    let err = ChipReader::new(chip, options)
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap_err();
    assert!(matches!(err, ReadError::Status { .. }), "{err}");

    // A CAN cannot be used for BAC.
    let chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &[]));
    let err = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Can("123456".into()))
        .unwrap_err();
    assert!(matches!(err, ReadError::NoAccessProtocol(_)));
}

#[test]
fn misbehaving_chips_give_clear_errors() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 2_000);
    // Wrong MAC in the middle of DG2.
    let mut chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &[]));
    chip.misbehaviour.wrong_mac_after = Some(5);
    let err = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReadError::SecureMessaging {
                source: SmError::MacMismatch,
                ..
            }
        ),
        "{err}"
    );

    // Wrong MRZ: BAC fails at the chip (6300).
    let wrong = MrzInformation::new("L898902C3", "740812", "120416").unwrap();
    let chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &[]));
    let err = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(wrong.clone()))
        .unwrap_err();
    assert!(err.to_string().contains("6300"), "{err}");

    // Wrong MRZ with PACE: fallback to BAC fails too; the error is reported, no panic.
    let chip = TestDoubleChip::new(
        mrz_info(),
        files(Some(CARD_ACCESS_BP256_AES128), &jpeg, &[]),
    );
    assert!(
        ChipReader::new(chip, ReaderOptions::default())
            .read_document(&PacePassword::Mrz(wrong))
            .is_err()
    );

    // Card pulled mid-read.
    let mut chip = TestDoubleChip::new(mrz_info(), files(None, &jpeg, &[]));
    chip.misbehaviour.pulled_after = Some(8);
    let err = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap_err();
    assert!(matches!(err, ReadError::Transport(_)), "{err}");

    // Truncated DG2 (TLV declares more than the file holds): 6282 then a clear error.
    let mut f = files(None, &jpeg, &[]);
    let dg2 = f.get_mut(&FileId::DataGroup(2)).unwrap();
    dg2.truncate(1_500);
    let chip = TestDoubleChip::new(mrz_info(), f);
    let err = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReadError::FileTruncated {
                file: FileId::DataGroup(2),
                read: 1_500,
                ..
            }
        ),
        "{err}"
    );

    // Errors never show the document number.
    assert!(!format!("{err:?} {err}").contains("L898902C"));
}

#[test]
fn pace_cam_document_verifies_chip_key_and_rejects_a_clone() {
    use mrtd::ec::Curve;
    use mrtd::reader::ChipAuthentication;
    // PACE-ECDH-CAM-AES-128 on brainpoolP256r1.
    let card_access = "31143012060A04007F0007020204060202010202010D";
    let curve = Curve::by_parameter_id(13).unwrap();
    let sk_ic = [0x42u8; 32];
    let pk_ic = curve.encode(&curve.mul(&num_bigint_from(&sk_ic), curve.generator()));
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 1_000);
    for (published_key, expect_ok) in [
        (pk_ic.clone(), true),
        (curve.encode(curve.generator()), false),
    ] {
        let mut f = files(Some(card_access), &jpeg, &[]);
        f.insert(
            FileId::CardSecurity,
            build::card_security_unsigned(&[build::chip_authentication_public_key_info(
                13,
                &published_key,
            )]),
        );
        let chip = TestDoubleChip::new(mrz_info(), f).with_chip_key(&sk_ic);
        let result = ChipReader::new(chip, ReaderOptions::default())
            .read_document(&PacePassword::Mrz(mrz_info()));
        if expect_ok {
            let doc = result.unwrap();
            assert!(
                matches!(
                    doc.access,
                    AccessProtocol::Pace {
                        chip_authentication: ChipAuthentication::Verified,
                        ..
                    }
                ),
                "{:?}",
                doc.access
            );
            assert!(doc.card_security.is_some());
            assert!(doc.access.to_string().starts_with("PACE-ECDH-CAM"));
        } else {
            // No BAC fallback for a chip that fails chip authentication.
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err,
                    ReadError::Pace(mrtd::pace::PaceError::ChipAuthenticationFailed)
                ),
                "{err}"
            );
        }
    }
    // Without EF.CardSecurity the result says so instead of claiming verification.
    let chip =
        TestDoubleChip::new(mrz_info(), files(Some(card_access), &jpeg, &[])).with_chip_key(&sk_ic);
    let doc = ChipReader::new(chip, ReaderOptions::default())
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert!(matches!(
        doc.access,
        AccessProtocol::Pace {
            chip_authentication: ChipAuthentication::Unverifiable(_),
            ..
        }
    ));
}

fn num_bigint_from(bytes: &[u8]) -> num_bigint::BigUint {
    num_bigint::BigUint::from_bytes_be(bytes)
}

#[test]
fn strongest_supported_pace_variant_is_chosen_with_parameter_id() {
    // Three PACEInfos: GM 3DES bp256, GM AES-256 bp384, IM AES-128 (unsupported).
    let mut set = Vec::new();
    for (mapping, cipher, param) in [(2u8, 1u8, 13u8), (2, 4, 16), (4, 2, 13)] {
        let oid = [
            0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, mapping, cipher,
        ];
        let mut info = mrtd::tlv::encode(0x06, &oid);
        info.extend(mrtd::tlv::encode(0x02, &[2]));
        info.extend(mrtd::tlv::encode(0x02, &[param]));
        set.extend(mrtd::tlv::encode(0x30, &info));
    }
    let card_access = hex::encode(mrtd::tlv::encode(0x31, &set));
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 500);
    let chip = TestDoubleChip::new(mrz_info(), files(Some(&card_access), &jpeg, &[]));
    let mut reader = ChipReader::new(chip, ReaderOptions::default());
    let doc = reader
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert!(
        matches!(
            doc.access,
            AccessProtocol::Pace {
                parameter_id: Some(16),
                cipher: mrtd::crypto::CipherSuite::Aes256,
                ..
            }
        ),
        "{:?}",
        doc.access
    );
    // Several parameter sets: MSE:Set AT names the one chosen (tag 84).
    let log = reader.into_transport().log;
    let mse = log.iter().find(|a| a[1] == 0x22).unwrap();
    assert!(mse.ends_with(&[0x84, 0x01, 16]), "{mse:02X?}");
}

#[test]
fn pace_restarts_without_le_when_the_chip_refuses_it() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 500);
    let mut chip = TestDoubleChip::new(
        mrz_info(),
        files(Some(CARD_ACCESS_BP256_AES128), &jpeg, &[]),
    );
    chip.misbehaviour.no_le_in_general_authenticate = true;
    let mut reader = ChipReader::new(chip, ReaderOptions::default());
    let doc = reader
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert!(matches!(doc.access, AccessProtocol::Pace { .. }));
    let log = reader.into_transport().log;
    // Two MSE:Set AT; the General Authenticate commands after the refusal carry no Le.
    assert_eq!(log.iter().filter(|a| a[1] == 0x22).count(), 2);
    let last_ga = log.iter().rfind(|a| a[1] == 0x86).unwrap();
    assert_eq!(last_ga[0], 0x00, "last step without chaining");
    assert_eq!(usize::from(last_ga[4]) + 5, last_ga.len(), "no Le byte");
}

#[test]
fn pace_retries_mse_set_at_with_parameter_id() {
    let jpeg = image(&[0xFF, 0xD8, 0xFF, 0xE0], 500);
    let mut chip = TestDoubleChip::new(
        mrz_info(),
        files(Some(CARD_ACCESS_BP256_AES128), &jpeg, &[]),
    );
    chip.misbehaviour.require_parameter_id = true;
    let mut reader = ChipReader::new(chip, ReaderOptions::default());
    let doc = reader
        .read_document(&PacePassword::Mrz(mrz_info()))
        .unwrap();
    assert!(
        matches!(doc.access, AccessProtocol::Pace { .. }),
        "{:?}",
        doc.access
    );
    let log = reader.into_transport().log;
    let mse: Vec<_> = log.iter().filter(|a| a[1] == 0x22).collect();
    assert_eq!(mse.len(), 2);
    assert!(mse[1].ends_with(&[0x84, 0x01, 0x0D]));
}

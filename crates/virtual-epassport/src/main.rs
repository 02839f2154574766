//! `virtual-epassport`: TEST TOOL. Serves a virtual ePassport chip to pcscd's vpcd reader
//! driver until killed. See the crate README.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use virtual_epassport::chip::{Misbehaviour, VirtualChip};
use virtual_epassport::document::{
    ChipAuthenticationSuite, Document, DocumentConfig, PaceMapping, PaceSuite,
};
use virtual_epassport::pki::{Pki, PkiOptions};
use virtual_epassport::vpcd::{self, StopHandle, VpcdOptions};

/// PACE offered in EF.CardAccess.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum PaceChoice {
    /// brainpoolP256r1, AES-128 (DE, AT).
    Brainpool256,
    /// secp256r1, AES-128.
    Secp256,
    /// brainpoolP384r1, AES-256.
    Brainpool384,
    /// secp224r1, AES-128.
    Secp224,
    /// brainpoolP224r1, AES-128.
    Brainpool224,
    /// brainpoolP320r1, AES-192.
    Brainpool320,
    /// secp384r1, AES-256.
    Secp384,
    /// brainpoolP512r1, AES-256.
    Brainpool512,
    /// secp521r1, AES-256.
    Secp521,
    /// RFC 5114 1024-bit MODP group, 160-bit subgroup (id 0), AES-128.
    Modp1024,
    /// RFC 5114 2048-bit MODP group, 224-bit subgroup (id 1), 3DES.
    Modp2048s224,
    /// RFC 5114 2048-bit MODP group, 256-bit subgroup (id 2), AES-256.
    Modp2048s256,
    /// secp192r1 (id 8), 3DES.
    Secp192,
    /// brainpoolP192r1 (id 9), AES-128.
    Brainpool192,
    /// No PACE: a BAC-only document without EF.CardAccess.
    None,
}

/// Chip Authentication offered in DG14.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum CaChoice {
    /// ECDH secp256r1, AES-128.
    EcdhP256Aes128,
    /// ECDH brainpoolP256r1, 3DES.
    EcdhBrainpool256Tdes,
    /// DH 2048-bit (RFC 5114, explicit parameters), AES-128.
    Dh2048Aes128,
    /// DH 1024-bit (RFC 5114, explicit parameters), 3DES.
    Dh1024Tdes,
}

/// TEST TOOL: a virtual ICAO 9303 ePassport (BAC, PACE on every standardised set with
/// Generic, Integrated or Chip Authentication Mapping, Chip Authentication, signed EF.SOD under a generated
/// test CSCA) served over vsmartcard's vpcd protocol to a real pcscd.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// vpcd address (the vpcd driver in pcscd listens there).
    #[arg(long, default_value = "127.0.0.1:35963")]
    vpcd: String,
    /// Face image for DG2: JPEG, JP2 or bare J2K codestream.
    #[arg(long)]
    face: PathBuf,
    /// MRZ lines (2 for TD3/TD2, 3 for TD1); default: the ICAO specimen passport.
    #[arg(long, num_args = 2..=3, value_names = ["LINE1", "LINE2"])]
    mrz: Option<Vec<String>>,
    /// Card access number (6 digits) accepted for PACE.
    #[arg(long)]
    can: Option<String>,
    /// PACE suite offered.
    #[arg(long, value_enum, default_value = "brainpool256")]
    pace: PaceChoice,
    /// Refuse BAC (a PACE-only document).
    #[arg(long)]
    no_bac: bool,
    /// Leave DG14 out.
    #[arg(long)]
    no_dg14: bool,
    /// Add a Chip Authentication public key to DG14 (and answer Chip Authentication).
    #[arg(long)]
    chip_authentication_key: bool,
    /// Chip Authentication key and protocol (with --chip-authentication-key).
    #[arg(long, value_enum, default_value = "ecdh-p256-aes128")]
    ca: CaChoice,
    /// Add DG15 (Active Authentication public key).
    #[arg(long)]
    dg15: bool,
    /// Directory for the test CSCA and DS certificates (csca.der/pem, ds.der/pem).
    #[arg(long)]
    cert_dir: Option<PathBuf>,
    /// Derive the test PKI keys from this seed (same CSCA on every run).
    #[arg(long)]
    pki_seed: Option<String>,
    /// Offer PACE with Chip Authentication Mapping (EF.CardSecurity with the chip key).
    #[arg(long, conflicts_with = "pace_im")]
    pace_cam: bool,
    /// Offer PACE with Integrated Mapping instead of Generic Mapping.
    #[arg(long)]
    pace_im: bool,
    /// ATTACK VARIANT (with --pace-cam or --dg15): a cloned chip without the genuine chip keys.
    #[arg(long)]
    cloned_chip: bool,
    /// ATTACK VARIANT: EF.SOD names SHA3-256 as its hash algorithm (unsupported by verifiers).
    #[arg(long)]
    unsupported_hash_algorithm: bool,
    /// ATTACK VARIANT: flip a byte of this data group after signing EF.SOD.
    #[arg(long, value_name = "N")]
    tamper_dg: Option<u8>,
    /// MISBEHAVIOUR: corrupt the MAC of protected responses after N good ones.
    #[arg(long, value_name = "N")]
    wrong_mac_after: Option<usize>,
    /// MISBEHAVIOUR: corrupt the MAC of the Nth protected response only (a transient error).
    #[arg(long, value_name = "N")]
    wrong_mac_once_at: Option<usize>,
    /// MISBEHAVIOUR: answer 6A82 to READ BINARY by short file identifier (files are read after
    /// SELECT only, as some chips and emulators do).
    #[arg(long)]
    no_sfi: bool,
    /// MISBEHAVIOUR: serve DG2 cut short while its TLV header keeps the full length.
    #[arg(long)]
    truncated_tlv: bool,
    /// MISBEHAVIOUR: answer 6282 when a read runs past the end of a file.
    #[arg(long)]
    eof_6282: bool,
    /// MISBEHAVIOUR: wait this many milliseconds before each response (slow chip).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    apdu_delay_ms: u64,
    /// MISBEHAVIOUR: leave the reader (drop the vpcd link) when APDU number N arrives.
    #[arg(long, value_name = "N")]
    pull_at_apdu: Option<usize>,
    /// Do not announce or accept extended length APDUs.
    #[arg(long)]
    no_extended_length: bool,
    /// After a pull, put the card back after this many milliseconds (default 1000).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    reinsert_after_ms: u64,
    /// After a pull, never put the card back.
    #[arg(long)]
    no_reinsert: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("virtual-epassport: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let face = std::fs::read(&args.face)
        .with_context(|| format!("reading face image {}", args.face.display()))?;
    let mrz_lines: Vec<String> = args.mrz.clone().unwrap_or_else(|| {
        virtual_epassport::SPECIMEN_TD3
            .iter()
            .map(|l| l.to_string())
            .collect()
    });
    let lines: Vec<&str> = mrz_lines.iter().map(String::as_str).collect();
    let mut config = DocumentConfig::new(&lines, face);
    config.can = args.can.clone();
    config.pace = match args.pace {
        PaceChoice::Brainpool256 => Some(PaceSuite::BrainpoolP256r1Aes128),
        PaceChoice::Secp256 => Some(PaceSuite::Secp256r1Aes128),
        PaceChoice::Brainpool384 => Some(PaceSuite::BrainpoolP384r1Aes256),
        PaceChoice::Secp224 => Some(PaceSuite::Secp224r1Aes128),
        PaceChoice::Brainpool224 => Some(PaceSuite::BrainpoolP224r1Aes128),
        PaceChoice::Brainpool320 => Some(PaceSuite::BrainpoolP320r1Aes192),
        PaceChoice::Secp384 => Some(PaceSuite::Secp384r1Aes256),
        PaceChoice::Brainpool512 => Some(PaceSuite::BrainpoolP512r1Aes256),
        PaceChoice::Secp521 => Some(PaceSuite::Secp521r1Aes256),
        PaceChoice::Modp1024 => Some(PaceSuite::Modp1024s160Aes128),
        PaceChoice::Modp2048s224 => Some(PaceSuite::Modp2048s224Tdes),
        PaceChoice::Modp2048s256 => Some(PaceSuite::Modp2048s256Aes256),
        PaceChoice::Secp192 => Some(PaceSuite::Secp192r1Tdes),
        PaceChoice::Brainpool192 => Some(PaceSuite::BrainpoolP192r1Aes128),
        PaceChoice::None => None,
    };
    config.bac = !args.no_bac;
    config.dg14 = !args.no_dg14;
    config.chip_authentication_key = args.chip_authentication_key;
    config.dg15 = args.dg15;
    config.tamper_data_group = args.tamper_dg;
    config.pace_mapping = if args.pace_cam {
        PaceMapping::ChipAuthentication
    } else if args.pace_im {
        PaceMapping::Integrated
    } else {
        PaceMapping::Generic
    };
    config.chip_authentication = match args.ca {
        CaChoice::EcdhP256Aes128 => ChipAuthenticationSuite::EcdhSecp256r1Aes128,
        CaChoice::EcdhBrainpool256Tdes => ChipAuthenticationSuite::EcdhBrainpoolP256r1Tdes,
        CaChoice::Dh2048Aes128 => ChipAuthenticationSuite::DhModp2048Aes128,
        CaChoice::Dh1024Tdes => ChipAuthenticationSuite::DhModp1024Tdes,
    };
    config.cloned_chip = args.cloned_chip;
    config.unsupported_hash_algorithm = args.unsupported_hash_algorithm;

    let pki = Pki::generate(&PkiOptions {
        seed: args.pki_seed.clone(),
        ..PkiOptions::default()
    })?;
    if let Some(dir) = &args.cert_dir {
        for path in pki.write_certificates(dir)? {
            println!("wrote {}", path.display());
        }
    }
    let document = Arc::new(Document::build(&config, &pki)?);
    let misbehaviour = Misbehaviour {
        wrong_mac_after: args.wrong_mac_after,
        truncated_tlv: args.truncated_tlv,
        end_of_file_6282: args.eof_6282,
        apdu_delay: Duration::from_millis(args.apdu_delay_ms),
        pull_at_apdu: args.pull_at_apdu,
        no_extended_length: args.no_extended_length,
        wrong_mac_once_at: args.wrong_mac_once_at,
        no_short_file_ids: args.no_sfi,
    };
    let mut chip = VirtualChip::new(document.clone(), misbehaviour);
    let options = VpcdOptions {
        address: args.vpcd.clone(),
        reinsert_after: (!args.no_reinsert).then(|| Duration::from_millis(args.reinsert_after_ms)),
        ..VpcdOptions::default()
    };
    println!(
        "virtual-epassport (TEST TOOL): serving {:?} face {}x{}, PACE {:?}, BAC {}, to vpcd at {}",
        document.face_format,
        document.face_size.0,
        document.face_size.1,
        config.pace,
        config.bac,
        options.address
    );
    vpcd::run(&mut chip, &options, &StopHandle::default())?;
    Ok(())
}

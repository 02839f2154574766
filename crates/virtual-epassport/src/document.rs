//! The document a virtual chip serves: LDS files built from MRZ lines and a face image, with
//! EF.SOD signed by the test Document Signer.
//!
//! [`DocumentConfig`] holds every choice; attack variants for verifier tests are options on
//! it (today: a data group tampered after signing; the signer, CSCA and DS validity come from
//! the [`Pki`] passed to [`Document::build`], so "unknown signer", "expired DS" and "wrong
//! CSCA" are a different `Pki` / [`crate::pki::PkiOptions`]).

use std::collections::BTreeMap;
use std::fmt;

use mrtd::lds::{FileId, ImageFormat, build};
use mrtd::mrz::{Mrz, MrzInformation};
use sha2::{Digest, Sha256};

use crate::der::{self, oid};
use crate::pki::{self, Pki};

/// Errors while building a document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The MRZ lines do not parse or their check digits are wrong.
    #[error("MRZ: {0}")]
    Mrz(#[from] mrtd::mrz::MrzError),
    /// The face image is not JPEG, JP2 or a J2K codestream, or its size is unreadable.
    #[error("face image: {0}")]
    Image(String),
    /// A CAN must be 6 digits.
    #[error("CAN must be 6 digits")]
    Can,
    /// An option names a data group the document does not have.
    #[error("data group {0} is not on this document")]
    NoSuchDataGroup(u8),
    /// The PACE domain parameters have no curve (or OpenSSL failed on it).
    #[error("no curve for PACE domain parameter id {0}")]
    UnsupportedCurve(u64),
    /// The PACE suite does not have the mapping asked for (CAM over DH or with 3DES, IM on
    /// secp224r1).
    #[error("PACE {0:?} has no {1:?} mapping here")]
    UnsupportedMapping(PaceSuite, PaceMapping),
    /// Key generation for DG14/DG15 failed.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
}

/// PACE domain parameters and cipher offered in EF.CardAccess; the mapping is
/// [`DocumentConfig::pace_mapping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceSuite {
    /// brainpoolP256r1 (id 13), AES-128.
    BrainpoolP256r1Aes128,
    /// secp256r1 (id 12), AES-128.
    Secp256r1Aes128,
    /// brainpoolP384r1 (id 16), AES-256.
    BrainpoolP384r1Aes256,
    /// secp224r1 (id 10), AES-128.
    Secp224r1Aes128,
    /// brainpoolP224r1 (id 11), AES-128.
    BrainpoolP224r1Aes128,
    /// brainpoolP320r1 (id 14), AES-192.
    BrainpoolP320r1Aes192,
    /// secp384r1 (id 15), AES-256.
    Secp384r1Aes256,
    /// brainpoolP512r1 (id 17), AES-256.
    BrainpoolP512r1Aes256,
    /// secp521r1 (id 18), AES-256.
    Secp521r1Aes256,
    /// RFC 5114 1024-bit MODP group with 160-bit subgroup (id 0), AES-128 (as ICAO 9303-11
    /// Appendices G.2 and H.2).
    Modp1024s160Aes128,
    /// RFC 5114 2048-bit MODP group with 224-bit subgroup (id 1), 3DES.
    Modp2048s224Tdes,
    /// RFC 5114 2048-bit MODP group with 256-bit subgroup (id 2), AES-256.
    Modp2048s256Aes256,
    /// secp192r1 (id 8), 3DES.
    Secp192r1Tdes,
    /// brainpoolP192r1 (id 9), AES-128.
    BrainpoolP192r1Aes128,
}

/// The PACE mapping offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaceMapping {
    /// Generic Mapping (DH or ECDH).
    #[default]
    Generic,
    /// Integrated Mapping (DH or ECDH; not on secp224r1).
    Integrated,
    /// Chip Authentication Mapping (ECDH, AES): the chip gets a static key on the PACE curve,
    /// published in EF.CardSecurity (signed by the DS).
    ChipAuthentication,
}

impl PaceSuite {
    /// Every suite, one per standardised domain parameter set (ids 0-2 and 8-18), in id
    /// order.
    pub const ALL: [PaceSuite; 14] = [
        PaceSuite::Modp1024s160Aes128,
        PaceSuite::Modp2048s224Tdes,
        PaceSuite::Modp2048s256Aes256,
        PaceSuite::Secp192r1Tdes,
        PaceSuite::BrainpoolP192r1Aes128,
        PaceSuite::Secp224r1Aes128,
        PaceSuite::BrainpoolP224r1Aes128,
        PaceSuite::Secp256r1Aes128,
        PaceSuite::BrainpoolP256r1Aes128,
        PaceSuite::BrainpoolP320r1Aes192,
        PaceSuite::Secp384r1Aes256,
        PaceSuite::BrainpoolP384r1Aes256,
        PaceSuite::BrainpoolP512r1Aes256,
        PaceSuite::Secp521r1Aes256,
    ];

    /// The cipher's number in the protocol OID (1 3DES, 2 AES-128, 3 AES-192, 4 AES-256).
    fn cipher_arc(self) -> u8 {
        match self {
            PaceSuite::Modp2048s224Tdes | PaceSuite::Secp192r1Tdes => 1,
            PaceSuite::BrainpoolP256r1Aes128
            | PaceSuite::Secp256r1Aes128
            | PaceSuite::Secp224r1Aes128
            | PaceSuite::BrainpoolP224r1Aes128
            | PaceSuite::Modp1024s160Aes128
            | PaceSuite::BrainpoolP192r1Aes128 => 2,
            PaceSuite::BrainpoolP320r1Aes192 => 3,
            PaceSuite::BrainpoolP384r1Aes256
            | PaceSuite::Secp384r1Aes256
            | PaceSuite::BrainpoolP512r1Aes256
            | PaceSuite::Secp521r1Aes256
            | PaceSuite::Modp2048s256Aes256 => 4,
        }
    }

    /// DH or ECDH.
    pub fn key_agreement(self) -> mrtd::pace::KeyAgreement {
        if self.parameter_id() <= 2 {
            mrtd::pace::KeyAgreement::Dh
        } else {
            mrtd::pace::KeyAgreement::Ecdh
        }
    }

    /// id-PACE-{DH,ECDH}-{GM,IM,CAM}-*; `None` for a mapping ICAO does not define on the set
    /// (CAM over DH or with 3DES) or the reader does not run (IM on secp224r1).
    pub fn protocol_oid(self, mapping: PaceMapping) -> Option<Vec<u8>> {
        let dh = self.key_agreement() == mrtd::pace::KeyAgreement::Dh;
        let arc = match (mapping, dh) {
            (PaceMapping::Generic, true) => 1,
            (PaceMapping::Generic, false) => 2,
            (PaceMapping::Integrated, true) => 3,
            (PaceMapping::Integrated, false) => 4,
            (PaceMapping::ChipAuthentication, false) => 6,
            (PaceMapping::ChipAuthentication, true) => return None,
        };
        let mut oid = mrtd::security_info::ID_PACE.to_vec();
        oid.extend([arc, self.cipher_arc()]);
        let info = mrtd::security_info::PaceInfo {
            protocol: mrtd::security_info::ObjectIdentifier(oid.clone()),
            version: 2,
            parameter_id: Some(self.parameter_id()),
        };
        mrtd::pace::is_supported(&info).then_some(oid)
    }

    /// The standardised domain parameter id.
    pub fn parameter_id(self) -> u64 {
        match self {
            PaceSuite::Modp1024s160Aes128 => 0,
            PaceSuite::Modp2048s224Tdes => 1,
            PaceSuite::Modp2048s256Aes256 => 2,
            PaceSuite::Secp192r1Tdes => 8,
            PaceSuite::BrainpoolP192r1Aes128 => 9,
            PaceSuite::Secp224r1Aes128 => 10,
            PaceSuite::BrainpoolP224r1Aes128 => 11,
            PaceSuite::Secp256r1Aes128 => 12,
            PaceSuite::BrainpoolP256r1Aes128 => 13,
            PaceSuite::BrainpoolP320r1Aes192 => 14,
            PaceSuite::Secp384r1Aes256 => 15,
            PaceSuite::BrainpoolP384r1Aes256 => 16,
            PaceSuite::BrainpoolP512r1Aes256 => 17,
            PaceSuite::Secp521r1Aes256 => 18,
        }
    }

    /// PACEInfo SEQUENCE with `mapping`, if the suite has that mapping (see
    /// [`Self::protocol_oid`]).
    pub fn pace_info(self, mapping: PaceMapping) -> Option<Vec<u8>> {
        let oid = self.protocol_oid(mapping)?;
        Some(der::sequence(&[
            &der::oid(&oid),
            &der::small_uint(2),
            &der::small_uint(self.parameter_id()),
        ]))
    }

    /// The curve of an ECDH suite.
    fn curve(self) -> Option<mrtd::crypto::ecc::EcCurve> {
        use mrtd::crypto::ecc::{EcCurve, PaceOnlyCurve};
        match self.parameter_id() {
            8 => EcCurve::pace_only(PaceOnlyCurve::Secp192r1).ok(),
            9 => EcCurve::pace_only(PaceOnlyCurve::BrainpoolP192r1).ok(),
            id => mrtd::authenticity::curves::named_by_standard_id(id)
                .and_then(|named| EcCurve::new(named.curve).ok()),
        }
    }
}

/// The Chip Authentication key and protocol DG14 publishes (with
/// [`DocumentConfig::chip_authentication_key`]); the chip answers Chip Authentication with
/// the private key (a clone with another one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChipAuthenticationSuite {
    /// ECDH on secp256r1 (standardised id 12), id-CA-ECDH-AES-CBC-CMAC-128.
    #[default]
    EcdhSecp256r1Aes128,
    /// ECDH on brainpoolP256r1 (id 13), id-CA-ECDH-3DES-CBC-CBC (MSE:Set KAT).
    EcdhBrainpoolP256r1Tdes,
    /// DH on the RFC 5114 2048-bit group with 256-bit subgroup, published as explicit X9.42
    /// domain parameters, id-CA-DH-AES-CBC-CMAC-128.
    DhModp2048Aes128,
    /// DH on the RFC 5114 1024-bit group with 160-bit subgroup (explicit parameters),
    /// id-CA-DH-3DES-CBC-CBC (MSE:Set KAT).
    DhModp1024Tdes,
}

impl ChipAuthenticationSuite {
    /// Every suite.
    pub const ALL: [ChipAuthenticationSuite; 4] = [
        ChipAuthenticationSuite::EcdhSecp256r1Aes128,
        ChipAuthenticationSuite::EcdhBrainpoolP256r1Tdes,
        ChipAuthenticationSuite::DhModp2048Aes128,
        ChipAuthenticationSuite::DhModp1024Tdes,
    ];

    /// id-CA-{DH,ECDH}-{3DES,AES128}.
    fn protocol_oid(self) -> Vec<u8> {
        let (agreement, cipher) = match self {
            ChipAuthenticationSuite::EcdhSecp256r1Aes128 => (2, 2),
            ChipAuthenticationSuite::EcdhBrainpoolP256r1Tdes => (2, 1),
            ChipAuthenticationSuite::DhModp2048Aes128 => (1, 2),
            ChipAuthenticationSuite::DhModp1024Tdes => (1, 1),
        };
        let mut oid = mrtd::security_info::ID_CA.to_vec();
        oid.extend([agreement, cipher]);
        oid
    }

    /// A fresh key pair: the private key the chip holds and the ChipAuthenticationPublicKeyInfo
    /// DG14 publishes.
    fn key_pair(self) -> Result<(ChipAuthenticationKey, Vec<u8>), DocumentError> {
        let key_error = |e: &dyn std::fmt::Display| {
            DocumentError::Pki(pki::PkiError::Key(format!("chip authentication key: {e}")))
        };
        match self {
            ChipAuthenticationSuite::EcdhSecp256r1Aes128
            | ChipAuthenticationSuite::EcdhBrainpoolP256r1Tdes => {
                let id = if self == ChipAuthenticationSuite::EcdhSecp256r1Aes128 {
                    12
                } else {
                    13
                };
                let curve = mrtd::authenticity::curves::named_by_standard_id(id)
                    .and_then(|named| mrtd::crypto::ecc::EcCurve::new(named.curve).ok())
                    .ok_or(DocumentError::UnsupportedCurve(id))?;
                let secret = curve.random_scalar().map_err(|e| key_error(&e))?;
                let public = curve
                    .mul_generator(&secret)
                    .and_then(|p| curve.encode(&p))
                    .map_err(|e| key_error(&e))?;
                let private = curve.scalar_bytes(&secret).map_err(|e| key_error(&e))?;
                Ok((
                    ChipAuthenticationKey::Ec {
                        parameter_id: id,
                        private,
                    },
                    build::chip_authentication_public_key_info(id as u8, &public),
                ))
            }
            ChipAuthenticationSuite::DhModp2048Aes128 | ChipAuthenticationSuite::DhModp1024Tdes => {
                use mrtd::crypto::dh::DhGroup;
                let group = if self == ChipAuthenticationSuite::DhModp2048Aes128 {
                    DhGroup::rfc5114_2048_256()
                } else {
                    DhGroup::rfc5114_1024_160()
                }
                .map_err(|e| key_error(&e))?;
                let (p, g, q) = group.parameters();
                let q = q.ok_or_else(|| key_error(&"group without subgroup order"))?;
                // The chip keeps its exponent as bytes: drawn here, uniformly in 1..q.
                let private = loop {
                    if let Some(bytes) = random_below(&q)? {
                        break bytes;
                    }
                };
                let secret = group
                    .secret_from_bytes(&private)
                    .map_err(|e| key_error(&e))?;
                let public = group.public_value(&secret).map_err(|e| key_error(&e))?;
                // dhpublicnumber (1.2.840.10046.2.1) with X9.42 DomainParameters { p, g, q }.
                let algorithm = der::sequence(&[
                    &der::oid(mrtd::authenticity::chip::OID_DH_PUBLIC_NUMBER),
                    &der::sequence(&[&der::uint(&p), &der::uint(&g), &der::uint(&q)]),
                ]);
                let spki = der::sequence(&[&algorithm, &der::bit_string(&der::uint(&public))]);
                let mut id_pk_dh = mrtd::security_info::ID_PK.to_vec();
                id_pk_dh.push(1);
                Ok((
                    ChipAuthenticationKey::Dh { p, g, q, private },
                    der::sequence(&[&der::oid(&id_pk_dh), &spki]),
                ))
            }
        }
    }
}

/// Random bytes of `q`'s length below `q` and above zero, or `None` (draw again).
fn random_below(q: &[u8]) -> Result<Option<Vec<u8>>, DocumentError> {
    let mut bytes = vec![0u8; q.len()];
    mrtd::crypto::random_bytes(&mut bytes)
        .map_err(|e| DocumentError::Pki(pki::PkiError::Key(e.to_string())))?;
    // Clear the bits above q's top bit, then reject values >= q and zero.
    let top_bits = 8 - q.first().copied().unwrap_or(0xFF).leading_zeros();
    if let Some(first) = bytes.first_mut() {
        *first &= u8::try_from((1u16 << top_bits) - 1).unwrap_or(0xFF);
    }
    Ok((bytes.as_slice() < q && bytes.iter().any(|&b| b != 0)).then_some(bytes))
}

/// The Chip Authentication private key a chip holds.
#[derive(Clone, PartialEq, Eq)]
pub enum ChipAuthenticationKey {
    /// ECDH: the standardised curve id and the private scalar (big-endian).
    Ec {
        /// Standardised domain parameter id of the curve.
        parameter_id: u64,
        /// Private scalar.
        private: Vec<u8>,
    },
    /// DH: the group and the private exponent (big-endian).
    Dh {
        /// Prime.
        p: Vec<u8>,
        /// Generator.
        g: Vec<u8>,
        /// Subgroup order.
        q: Vec<u8>,
        /// Private exponent.
        private: Vec<u8>,
    },
}

impl fmt::Debug for ChipAuthenticationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChipAuthenticationKey::Ec { parameter_id, .. } => {
                write!(f, "ChipAuthenticationKey::Ec(id {parameter_id}, <secret>)")
            }
            ChipAuthenticationKey::Dh { p, .. } => {
                write!(f, "ChipAuthenticationKey::Dh({} bytes, <secret>)", p.len())
            }
        }
    }
}

/// Everything that defines a virtual document.
#[derive(Clone)]
pub struct DocumentConfig {
    /// MRZ lines (2 for TD2/TD3, 3 for TD1).
    pub mrz_lines: Vec<String>,
    /// Card access number (6 digits) for PACE with CAN.
    pub can: Option<String>,
    /// Face image: JPEG, JPEG 2000 file (JP2) or bare codestream (J2K).
    pub face_image: Vec<u8>,
    /// PACE offered in EF.CardAccess (`None`: BAC-only document without EF.CardAccess).
    pub pace: Option<PaceSuite>,
    /// Answer BAC (GET CHALLENGE / EXTERNAL AUTHENTICATE). PACE-only documents turn it off.
    pub bac: bool,
    /// Put DG14 on the chip (SecurityInfos: the PACEInfo and, if set, a Chip Authentication
    /// public key; left out when it would hold nothing).
    pub dg14: bool,
    /// Include a Chip Authentication public key in DG14 (of [`Self::chip_authentication`]);
    /// the chip answers Chip Authentication with its private key.
    pub chip_authentication_key: bool,
    /// The Chip Authentication key type and protocol (with `chip_authentication_key`).
    pub chip_authentication: ChipAuthenticationSuite,
    /// Put DG15 (an Active Authentication public key, P-256) on the chip.
    pub dg15: bool,
    /// The PACE mapping offered (Generic by default; Chip Authentication Mapping gives the
    /// chip a static key on the PACE curve, published in EF.CardSecurity, signed by the DS).
    pub pace_mapping: PaceMapping,
    /// ATTACK VARIANT: change one byte of this data group after EF.SOD was signed, so its
    /// hash no longer matches.
    pub tamper_data_group: Option<u8>,
    /// ATTACK VARIANT: a cloned chip, which copies every file but not the chip's private keys:
    /// Chip Authentication Mapping (`pace_mapping`), Chip Authentication
    /// (`chip_authentication_key`) and Active Authentication (`dg15`) fail.
    pub cloned_chip: bool,
    /// ATTACK VARIANT: EF.SOD names SHA3-256 as its data-group hash algorithm (the hashes stay
    /// SHA-256), an algorithm verifiers are not required to support.
    pub unsupported_hash_algorithm: bool,
}

impl fmt::Debug for DocumentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentConfig")
            .field("face_image_len", &self.face_image.len())
            .field("pace", &self.pace)
            .field("bac", &self.bac)
            .field("dg14", &self.dg14)
            .field("dg15", &self.dg15)
            .field("tamper_data_group", &self.tamper_data_group)
            .finish_non_exhaustive()
    }
}

impl DocumentConfig {
    /// A BAC + PACE (brainpoolP256r1, AES-128) document with DG1, DG2 and DG14.
    pub fn new(mrz_lines: &[&str], face_image: Vec<u8>) -> DocumentConfig {
        DocumentConfig {
            mrz_lines: mrz_lines.iter().map(|l| l.to_string()).collect(),
            can: None,
            face_image,
            pace: Some(PaceSuite::BrainpoolP256r1Aes128),
            bac: true,
            dg14: true,
            chip_authentication_key: false,
            chip_authentication: ChipAuthenticationSuite::default(),
            dg15: false,
            pace_mapping: PaceMapping::Generic,
            tamper_data_group: None,
            cloned_chip: false,
            unsupported_hash_algorithm: false,
        }
    }
}

/// A built document: the files a chip serves and the secrets it checks.
#[derive(Clone)]
pub struct Document {
    /// Files by identifier (EF.CardAccess in the master file, the rest in the eMRTD application).
    pub files: BTreeMap<FileId, Vec<u8>>,
    /// MRZ information (BAC key seed, PACE MRZ password).
    pub mrz_information: MrzInformation,
    /// CAN for PACE.
    pub can: Option<String>,
    /// BAC answered.
    pub bac: bool,
    /// Format of the face image in DG2.
    pub face_format: ImageFormat,
    /// Face image width and height in pixels.
    pub face_size: (u16, u16),
    /// The chip's static private key for PACE-CAM (big-endian scalar), if any.
    pub chip_private_key: Option<Vec<u8>>,
    /// The key the chip answers Chip Authentication with (the DG14 key unless the chip is a
    /// clone), and the session cipher of its protocol.
    pub chip_authentication_key: Option<(ChipAuthenticationKey, mrtd::crypto::CipherSuite)>,
    /// The key the chip answers INTERNAL AUTHENTICATE with (Active Authentication, ECDSA P-256
    /// with SHA-256); the DG15 key unless the chip is a clone.
    pub active_authentication_key: Option<pki::Credential>,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field(
                "files",
                &self
                    .files
                    .iter()
                    .map(|(id, c)| (id.name(), c.len()))
                    .collect::<Vec<_>>(),
            )
            .field("face_format", &self.face_format)
            .finish_non_exhaustive()
    }
}

/// Width and height of a JPEG (SOFn), JP2 (ihdr box) or J2K codestream (SIZ marker).
pub fn image_size(image: &[u8]) -> Result<(ImageFormat, u16, u16), DocumentError> {
    let format = ImageFormat::detect(image);
    let bad = |what: &str| DocumentError::Image(format!("{what} ({format:?})"));
    let be16 = |at: usize| {
        image
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let be32 = |at: usize| {
        image
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let narrow = |v: u32| u16::try_from(v).map_err(|_| bad("image larger than 65535 pixels"));
    match format {
        ImageFormat::Jpeg => {
            let mut pos = 2;
            while let (Some(&0xFF), Some(&marker)) = (image.get(pos), image.get(pos + 1)) {
                let len = usize::from(be16(pos + 2).ok_or_else(|| bad("truncated JPEG"))?);
                let is_sof =
                    (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker);
                if is_sof {
                    let height = be16(pos + 5).ok_or_else(|| bad("truncated SOF"))?;
                    let width = be16(pos + 7).ok_or_else(|| bad("truncated SOF"))?;
                    return Ok((format, width, height));
                }
                pos += 2 + len;
            }
            Err(bad("no SOF marker before the image data"))
        }
        ImageFormat::Jp2 => {
            let at = image
                .windows(4)
                .position(|w| w == b"ihdr")
                .ok_or_else(|| bad("no ihdr box"))?;
            let height = narrow(be32(at + 4).ok_or_else(|| bad("truncated ihdr"))?)?;
            let width = narrow(be32(at + 8).ok_or_else(|| bad("truncated ihdr"))?)?;
            Ok((format, width, height))
        }
        ImageFormat::J2k => {
            // FF4F FF51 Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz
            let x = be32(8).ok_or_else(|| bad("truncated SIZ"))?;
            let y = be32(12).ok_or_else(|| bad("truncated SIZ"))?;
            let xo = be32(16).ok_or_else(|| bad("truncated SIZ"))?;
            let yo = be32(20).ok_or_else(|| bad("truncated SIZ"))?;
            Ok((
                format,
                narrow(x.saturating_sub(xo))?,
                narrow(y.saturating_sub(yo))?,
            ))
        }
        _ => Err(bad("not a JPEG, JP2 or J2K image")),
    }
}

/// LDSSecurityObject (version 0, SHA-256) over the given data groups.
pub fn lds_security_object(data_groups: &BTreeMap<u8, Vec<u8>>, hash_label: &[u8]) -> Vec<u8> {
    let hashes: Vec<Vec<u8>> = data_groups
        .iter()
        .map(|(n, content)| {
            der::sequence(&[
                &der::small_uint(u64::from(*n)),
                &der::octet_string(&Sha256::digest(content)),
            ])
        })
        .collect();
    der::sequence(&[
        &der::small_uint(0),
        &der::algorithm(hash_label),
        &der::sequence(&[&hashes.concat()]),
    ])
}

impl Document {
    /// Builds every file and signs EF.SOD with `pki`'s Document Signer.
    pub fn build(config: &DocumentConfig, pki: &Pki) -> Result<Document, DocumentError> {
        let lines: Vec<&str> = config.mrz_lines.iter().map(String::as_str).collect();
        let mrz = Mrz::parse(&lines)?;
        if let Some(can) = &config.can
            && (can.len() != 6 || !can.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(DocumentError::Can);
        }
        let (face_format, width, height) = image_size(&config.face_image)?;
        let jpeg2000 = face_format != ImageFormat::Jpeg;

        let mut data_groups = BTreeMap::new();
        data_groups.insert(1u8, build::dg1(&lines));
        data_groups.insert(2u8, build::dg2(&config.face_image, width, height, jpeg2000));
        let pace_info = config
            .pace
            .map(|suite| {
                suite
                    .pace_info(config.pace_mapping)
                    .ok_or(DocumentError::UnsupportedMapping(
                        suite,
                        config.pace_mapping,
                    ))
            })
            .transpose()?;
        let mut chip_private_key = None;
        let mut card_security = None;
        let cam = config.pace_mapping == PaceMapping::ChipAuthentication;
        if let (Some(suite), true, Some(info)) = (config.pace, cam, &pace_info) {
            let id = suite.parameter_id();
            let curve = suite.curve().ok_or(DocumentError::UnsupportedCurve(id))?;
            let key_error = |e: mrtd::crypto::ecc::EcError| {
                DocumentError::Pki(pki::PkiError::Key(e.to_string()))
            };
            // A chip key pair: the private scalar (big-endian, field length) and the point.
            let key_pair = || -> Result<(Vec<u8>, Vec<u8>), DocumentError> {
                let secret = curve.random_scalar().map_err(key_error)?;
                let public = curve
                    .mul_generator(&secret)
                    .and_then(|p| curve.encode(&p))
                    .map_err(key_error)?;
                Ok((curve.scalar_bytes(&secret).map_err(key_error)?, public))
            };
            let (secret, public) = key_pair()?;
            let infos = [
                info.clone(),
                build::chip_authentication_public_key_info(
                    u8::try_from(id).map_err(|_| DocumentError::UnsupportedCurve(id))?,
                    &public,
                ),
            ];
            // id-SecurityObject (0.4.0.127.0.7.3.2.1)
            card_security = Some(pki::signed_data(
                &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x02, 0x01],
                &der::set_of(&infos),
                &pki.document_signer,
            ));
            let held = if config.cloned_chip {
                key_pair()?.0
            } else {
                secret
            };
            chip_private_key = Some(held);
        }
        // Active Authentication key: published in DG15, held by the chip (a clone holds another).
        let aa_key = if config.dg15 {
            Some(Pki::generate(&pki::PkiOptions::default())?.csca)
        } else {
            None
        };
        let active_authentication_key = match &aa_key {
            Some(_) if config.cloned_chip => Some(Pki::generate(&pki::PkiOptions::default())?.csca),
            other => other.clone(),
        };
        let mut chip_authentication_key = None;
        if config.dg14 {
            let mut infos = Vec::new();
            if let Some(info) = &pace_info {
                infos.push(info.clone());
            }
            if aa_key.is_some() {
                // ActiveAuthenticationInfo: id-AA (2.23.136.1.1.5), version 1,
                // ecdsa-with-SHA256 (1.2.840.10045.4.3.2).
                infos.push(der::sequence(&[
                    &der::oid(&[0x67, 0x81, 0x08, 0x01, 0x01, 0x05]),
                    &der::small_uint(1),
                    &der::oid(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]),
                ]));
            }
            if config.chip_authentication_key {
                let suite = config.chip_authentication;
                let (key, public_key_info) = suite.key_pair()?;
                infos.push(public_key_info);
                // ChipAuthenticationInfo: the suite's id-CA-*, version 1.
                infos.push(der::sequence(&[
                    &der::oid(&suite.protocol_oid()),
                    &der::small_uint(1),
                ]));
                let held = if config.cloned_chip {
                    suite.key_pair()?.0
                } else {
                    key
                };
                let cipher = mrtd::authenticity::chip::protocol_parameters(
                    &mrtd::security_info::ObjectIdentifier(suite.protocol_oid()),
                )
                .map(|(_, cipher)| cipher)
                .ok_or_else(|| {
                    DocumentError::Pki(pki::PkiError::Key("chip authentication protocol".into()))
                })?;
                chip_authentication_key = Some((held, cipher));
            }
            if !infos.is_empty() {
                data_groups.insert(14u8, der::tlv(0x6E, &der::set_of(&infos)));
            }
        }
        if let Some(key) = &aa_key {
            data_groups.insert(
                15u8,
                der::tlv(0x6F, &pki::subject_public_key_info(&key.verifying_key())),
            );
        }
        // SHA3-256 (2.16.840.1.101.3.4.2.8), which no ICAO verifier is required to support.
        const SHA3_256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08];
        let hash_label = if config.unsupported_hash_algorithm {
            SHA3_256
        } else {
            oid::SHA256
        };
        let security_object = lds_security_object(&data_groups, hash_label);
        let sod = der::tlv(
            0x77,
            &pki::signed_data(
                oid::LDS_SECURITY_OBJECT,
                &security_object,
                &pki.document_signer,
            ),
        );
        if let Some(n) = config.tamper_data_group {
            let content = data_groups
                .get_mut(&n)
                .ok_or(DocumentError::NoSuchDataGroup(n))?;
            // Flip a bit in the last byte: the TLV structure stays valid, the hash does not.
            if let Some(last) = content.last_mut() {
                *last ^= 0x01;
            }
        }

        let mut files = BTreeMap::new();
        if let Some(info) = &pace_info {
            files.insert(FileId::CardAccess, der::set_of(std::slice::from_ref(info)));
        }
        if let Some(card_security) = card_security {
            files.insert(FileId::CardSecurity, card_security);
        }
        let listed: Vec<FileId> = data_groups.keys().map(|&n| FileId::DataGroup(n)).collect();
        files.insert(FileId::Com, build::ef_com(&listed));
        for (n, content) in data_groups {
            files.insert(FileId::DataGroup(n), content);
        }
        files.insert(FileId::Sod, sod);
        Ok(Document {
            files,
            mrz_information: mrz.mrz_information().clone(),
            can: config.can.clone(),
            bac: config.bac,
            face_format,
            face_size: (width, height),
            chip_private_key,
            chip_authentication_key,
            active_authentication_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::PkiOptions;

    pub(crate) const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];

    fn tiny_jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
        jpeg.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        jpeg.extend(height.to_be_bytes());
        jpeg.extend(width.to_be_bytes());
        jpeg.extend([0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9]);
        jpeg
    }

    #[test]
    fn reads_image_sizes() {
        assert_eq!(
            image_size(&tiny_jpeg(480, 640)).unwrap(),
            (ImageFormat::Jpeg, 480, 640)
        );
        let mut j2k = vec![0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00];
        for v in [410u32, 530, 10, 20] {
            j2k.extend(v.to_be_bytes());
        }
        assert_eq!(image_size(&j2k).unwrap(), (ImageFormat::J2k, 400, 510));
        assert!(image_size(b"GIF89a....").is_err());
    }

    #[test]
    fn builds_a_document_whose_sod_matches() {
        let pki = Pki::generate(&PkiOptions::default()).unwrap();
        let mut config = DocumentConfig::new(&TD3, tiny_jpeg(480, 640));
        config.dg15 = true;
        config.chip_authentication_key = true;
        let doc = Document::build(&config, &pki).unwrap();
        let sod = mrtd::lds::Sod::parse(&doc.files[&FileId::Sod]).unwrap();
        for n in [1u8, 2, 14, 15] {
            let content = &doc.files[&FileId::DataGroup(n)];
            assert_eq!(sod.hash_matches(n, content), Some(true), "DG{n}");
        }
        let dg2 = mrtd::lds::Dg2::parse(&doc.files[&FileId::DataGroup(2)]).unwrap();
        assert_eq!(dg2.faces[0].data, tiny_jpeg(480, 640));
        mrtd::lds::Dg14::parse(&doc.files[&FileId::DataGroup(14)]).unwrap();
        mrtd::lds::Dg15::parse(&doc.files[&FileId::DataGroup(15)]).unwrap();
        assert_eq!(
            doc.files[&FileId::CardAccess],
            mrtd::tlv::encode(
                0x31,
                &PaceSuite::BrainpoolP256r1Aes128
                    .pace_info(PaceMapping::Generic)
                    .unwrap()
            )
        );

        config.tamper_data_group = Some(1);
        let doc = Document::build(&config, &pki).unwrap();
        let sod = mrtd::lds::Sod::parse(&doc.files[&FileId::Sod]).unwrap();
        assert_eq!(
            sod.hash_matches(1, &doc.files[&FileId::DataGroup(1)]),
            Some(false)
        );
        mrtd::lds::Dg1::parse(&doc.files[&FileId::DataGroup(1)]).unwrap_err();
    }
}

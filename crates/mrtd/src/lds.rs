//! Logical Data Structure (ICAO 9303 Part 10): file identifiers and parsers for EF.COM, DG1,
//! DG2 (CBEFF + ISO/IEC 19794-5 face image), DG7, DG11, DG12, DG14, DG15 and EF.SOD.
//!
//! Every parser checks every length and offset against the bytes present and returns an
//! [`LdsError`] naming the file; none of them panics on any input (see the fuzz targets).
//! Types holding personal data implement `Debug` without it.

use std::fmt;

use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::mrz::{Mrz, MrzError};
use crate::security_info::{self, ObjectIdentifier, SecurityInfo, SecurityInfoError};
use crate::tlv::{self, Tlv, TlvError};

/// Errors while parsing LDS files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdsError {
    /// Malformed TLV in a file.
    #[error("{file}: {source}")]
    Tlv {
        /// The file.
        file: &'static str,
        /// The TLV problem.
        source: TlvError,
    },
    /// Valid TLV but wrong content.
    #[error("{file}: {what}")]
    Structure {
        /// The file.
        file: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// DG1 holds an invalid MRZ.
    #[error("DG1: {0}")]
    Mrz(#[from] MrzError),
    /// Bad SecurityInfos in DG14.
    #[error("DG14: {0}")]
    SecurityInfos(#[from] SecurityInfoError),
}

fn tlv_err(file: &'static str) -> impl Fn(TlvError) -> LdsError {
    move |source| LdsError::Tlv { file, source }
}

fn structure(file: &'static str, what: &'static str) -> LdsError {
    LdsError::Structure { file, what }
}

/// An elementary file of the eMRTD application (or EF.CardAccess in the master file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileId {
    /// EF.CardAccess (MF, 011C).
    CardAccess,
    /// EF.CardSecurity (MF, 011D; same identifiers as EF.SOD, but in the master file).
    CardSecurity,
    /// EF.COM (011E).
    Com,
    /// EF.SOD (011D).
    Sod,
    /// Data group 1 to 16 (0101 to 0110).
    DataGroup(u8),
}

impl FileId {
    /// File identifier for SELECT.
    pub fn fid(self) -> u16 {
        match self {
            FileId::CardAccess => 0x011C,
            FileId::CardSecurity => 0x011D,
            FileId::Com => 0x011E,
            FileId::Sod => 0x011D,
            FileId::DataGroup(n) => 0x0100 | u16::from(n),
        }
    }

    /// Short EF identifier for READ BINARY.
    pub fn sfi(self) -> u8 {
        match self {
            FileId::CardAccess => 0x1C,
            FileId::CardSecurity => 0x1D,
            FileId::Com => 0x1E,
            FileId::Sod => 0x1D,
            FileId::DataGroup(n) => n,
        }
    }

    /// The file's outer tag (`60` EF.COM, `77` EF.SOD, `61` DG1 ...; `31` EF.CardAccess,
    /// `30` EF.CardSecurity).
    pub fn tag(self) -> u8 {
        match self {
            FileId::CardAccess => 0x31,
            FileId::CardSecurity => 0x30,
            FileId::Com => 0x60,
            FileId::Sod => 0x77,
            FileId::DataGroup(n) => data_group_tag(n).unwrap_or(0),
        }
    }

    /// True for files of the master file (read before selecting the eMRTD application).
    pub fn in_master_file(self) -> bool {
        matches!(self, FileId::CardAccess | FileId::CardSecurity)
    }

    /// Data group for an EF.COM tag-list entry.
    pub fn from_tag(tag: u8) -> Option<FileId> {
        (1..=16)
            .find(|&n| data_group_tag(n) == Some(tag))
            .map(FileId::DataGroup)
    }

    /// Short name (`EF.COM`, `DG2`...).
    pub fn name(self) -> String {
        match self {
            FileId::CardAccess => "EF.CardAccess".into(),
            FileId::CardSecurity => "EF.CardSecurity".into(),
            FileId::Com => "EF.COM".into(),
            FileId::Sod => "EF.SOD".into(),
            FileId::DataGroup(n) => format!("DG{n}"),
        }
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

fn data_group_tag(n: u8) -> Option<u8> {
    const TAGS: [u8; 16] = [
        0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F,
        0x70,
    ];
    TAGS.get(usize::from(n).checked_sub(1)?).copied()
}

/// Decodes the single outer TLV of a file and checks its tag; trailing bytes (padding some
/// chips leave after the object) are ignored.
fn outer<'a>(data: &'a [u8], tag: u32, file: &'static str) -> Result<Tlv<'a>, LdsError> {
    let (t, _) = tlv::parse_one(data).map_err(tlv_err(file))?;
    t.expect_tag(tag).map_err(tlv_err(file))
}

fn children<'a>(t: &Tlv<'a>, file: &'static str) -> Result<Vec<Tlv<'a>>, LdsError> {
    t.children().map_err(tlv_err(file))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// EF.COM: LDS and Unicode versions and the list of data groups present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfCom {
    /// LDS version (`0107` = 1.7).
    pub lds_version: String,
    /// Unicode version (`040000` = 4.0.0).
    pub unicode_version: String,
    /// Data groups present.
    pub data_groups: Vec<FileId>,
}

impl EfCom {
    /// Parses EF.COM.
    pub fn parse(data: &[u8]) -> Result<EfCom, LdsError> {
        const FILE: &str = "EF.COM";
        let t = outer(data, 0x60, FILE)?;
        let mut com = EfCom {
            lds_version: String::new(),
            unicode_version: String::new(),
            data_groups: Vec::new(),
        };
        let mut saw_list = false;
        for c in children(&t, FILE)? {
            match c.tag {
                0x5F01 => com.lds_version = text(c.value),
                0x5F36 => com.unicode_version = text(c.value),
                0x5C => {
                    saw_list = true;
                    com.data_groups = c
                        .value
                        .iter()
                        .filter_map(|&tag| FileId::from_tag(tag))
                        .collect();
                }
                _ => {}
            }
        }
        if !saw_list {
            return Err(structure(FILE, "tag list 5C missing"));
        }
        Ok(com)
    }
}

/// DG1: the MRZ as stored on the chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dg1 {
    /// The parsed MRZ (its `Debug` is redacted).
    pub mrz: Mrz,
}

impl Dg1 {
    /// Parses DG1 (`61 { 5F1F mrz }`); the MRZ is split into lines by its total length
    /// (90 TD1, 72 TD2/MRV-B, 88 TD3/MRV-A) and fully validated.
    pub fn parse(data: &[u8]) -> Result<Dg1, LdsError> {
        const FILE: &str = "DG1";
        let t = outer(data, 0x61, FILE)?;
        let mrz = tlv::require(t.value, 0x5F1F).map_err(tlv_err(FILE))?.value;
        let width = match mrz.len() {
            90 => 30,
            72 => 36,
            88 => 44,
            _ => return Err(structure(FILE, "MRZ length is not 90, 72 or 88")),
        };
        let text = std::str::from_utf8(mrz).map_err(|_| structure(FILE, "MRZ is not ASCII"))?;
        if !text.is_ascii() {
            return Err(structure(FILE, "MRZ is not ASCII"));
        }
        let lines: Vec<&str> = (0..mrz.len() / width)
            .map(|i| &text[i * width..(i + 1) * width])
            .collect();
        Ok(Dg1 {
            mrz: Mrz::parse(&lines)?,
        })
    }
}

/// Image encoding found by looking at the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG (FF D8 FF).
    Jpeg,
    /// JPEG 2000 file format (JP2 signature box).
    Jp2,
    /// Bare JPEG 2000 codestream (FF 4F FF 51).
    J2k,
    /// Something else.
    Unknown,
}

impl ImageFormat {
    /// Detects the format from the first bytes.
    pub fn detect(data: &[u8]) -> ImageFormat {
        if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            ImageFormat::Jpeg
        } else if data.starts_with(&[
            0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A,
        ]) {
            ImageFormat::Jp2
        } else if data.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
            ImageFormat::J2k
        } else {
            ImageFormat::Unknown
        }
    }

    /// Usual file extension (`jpg`, `jp2`, `j2k`, `bin`).
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Jp2 => "jp2",
            ImageFormat::J2k => "j2k",
            ImageFormat::Unknown => "bin",
        }
    }
}

/// One facial image from DG2.
#[derive(Clone, PartialEq, Eq)]
pub struct FaceImage {
    /// Width in pixels (from the image information block).
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Image data type declared in the record (0 JPEG, 1 JPEG 2000).
    pub declared_type: u8,
    /// Format detected from the image bytes.
    pub format: ImageFormat,
    /// The encoded image.
    pub data: Vec<u8>,
}

impl fmt::Debug for FaceImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FaceImage({}x{}, {:?}, {} bytes)",
            self.width,
            self.height,
            self.format,
            self.data.len()
        )
    }
}

/// DG2: encoded face(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dg2 {
    /// All facial images of all biometric information templates.
    pub faces: Vec<FaceImage>,
}

/// Parses an ISO/IEC 19794-5 facial record data block (`FAC\0`).
pub fn parse_facial_block(block: &[u8]) -> Result<Vec<FaceImage>, LdsError> {
    const FILE: &str = "DG2";
    let err = |what| structure(FILE, what);
    let get = |start: usize, len: usize| {
        start
            .checked_add(len)
            .and_then(|end| block.get(start..end))
            .ok_or(err("facial block truncated"))
    };
    let be = |b: &[u8]| b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
    if get(0, 4)? != b"FAC\0" {
        return Err(err("facial block does not start with FAC"));
    }
    let count = be(get(12, 2)?);
    let mut pos = 14;
    let mut faces = Vec::new();
    for _ in 0..count {
        let record_len = be(get(pos, 4)?);
        let feature_points = be(get(pos + 4, 2)?);
        let record = get(pos, record_len)?;
        // 20-byte facial information, 8 bytes per feature point, 12-byte image information.
        let info_at = 20 + feature_points * 8;
        let info = record
            .get(info_at..info_at + 12)
            .ok_or(err("image information truncated"))?;
        let data = &record[info_at + 12..];
        faces.push(FaceImage {
            declared_type: info[1],
            width: u16::from_be_bytes([info[2], info[3]]),
            height: u16::from_be_bytes([info[4], info[5]]),
            format: ImageFormat::detect(data),
            data: data.to_vec(),
        });
        pos += record_len.max(1);
    }
    if faces.is_empty() {
        return Err(err("no facial image"));
    }
    Ok(faces)
}

impl Dg2 {
    /// Parses DG2: `75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E/7F2E block } ... } }`.
    pub fn parse(data: &[u8]) -> Result<Dg2, LdsError> {
        const FILE: &str = "DG2";
        let t = outer(data, 0x75, FILE)?;
        let group = tlv::require(t.value, 0x7F61).map_err(tlv_err(FILE))?;
        let mut faces = Vec::new();
        for template in children(&group, FILE)?.iter().filter(|c| c.tag == 0x7F60) {
            let block = children(template, FILE)?
                .into_iter()
                .find(|c| c.tag == 0x5F2E || c.tag == 0x7F2E)
                .ok_or(structure(FILE, "biometric data block missing"))?;
            faces.extend(parse_facial_block(block.value)?);
        }
        if faces.is_empty() {
            return Err(structure(FILE, "no biometric information template"));
        }
        Ok(Dg2 { faces })
    }
}

/// DG7: displayed signature or usual mark image(s).
#[derive(Clone, PartialEq, Eq)]
pub struct Dg7 {
    /// Images (format detected from the bytes).
    pub images: Vec<(ImageFormat, Vec<u8>)>,
}

impl fmt::Debug for Dg7 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dg7({} image(s))", self.images.len())
    }
}

impl Dg7 {
    /// Parses DG7: `67 { 02 count, 5F43 image ... }`.
    pub fn parse(data: &[u8]) -> Result<Dg7, LdsError> {
        const FILE: &str = "DG7";
        let t = outer(data, 0x67, FILE)?;
        let images = children(&t, FILE)?
            .into_iter()
            .filter(|c| c.tag == 0x5F43)
            .map(|c| (ImageFormat::detect(c.value), c.value.to_vec()))
            .collect();
        Ok(Dg7 { images })
    }
}

/// DG11: additional personal details. `Debug` shows only which fields are present.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Dg11 {
    /// Full name (5F0E).
    pub full_name: Option<String>,
    /// Other names (A0 / 5F0F).
    pub other_names: Vec<String>,
    /// Personal number (5F10).
    pub personal_number: Option<String>,
    /// Full date of birth YYYYMMDD (5F2B).
    pub full_date_of_birth: Option<String>,
    /// Place of birth (5F11).
    pub place_of_birth: Option<String>,
    /// Permanent address (5F42).
    pub address: Option<String>,
    /// Telephone (5F12).
    pub telephone: Option<String>,
    /// Profession (5F13).
    pub profession: Option<String>,
    /// Title (5F14).
    pub title: Option<String>,
    /// Personal summary (5F15).
    pub personal_summary: Option<String>,
    /// Other valid travel document numbers (5F17).
    pub other_travel_documents: Option<String>,
    /// Custody information (5F18).
    pub custody_information: Option<String>,
}

impl fmt::Debug for Dg11 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dg11(<redacted>)")
    }
}

impl Dg11 {
    /// Parses DG11.
    pub fn parse(data: &[u8]) -> Result<Dg11, LdsError> {
        const FILE: &str = "DG11";
        let t = outer(data, 0x6B, FILE)?;
        let mut dg = Dg11::default();
        for c in children(&t, FILE)? {
            let v = Some(text(c.value));
            match c.tag {
                0x5F0E => dg.full_name = v,
                0x5F10 => dg.personal_number = v,
                0x5F2B => dg.full_date_of_birth = v,
                0x5F11 => dg.place_of_birth = v,
                0x5F42 => dg.address = v,
                0x5F12 => dg.telephone = v,
                0x5F13 => dg.profession = v,
                0x5F14 => dg.title = v,
                0x5F15 => dg.personal_summary = v,
                0x5F17 => dg.other_travel_documents = v,
                0x5F18 => dg.custody_information = v,
                0xA0 => {
                    dg.other_names = children(&c, FILE)?
                        .into_iter()
                        .filter(|n| n.tag == 0x5F0F)
                        .map(|n| text(n.value))
                        .collect();
                }
                0x5F0F => dg.other_names.push(text(c.value)),
                _ => {}
            }
        }
        Ok(dg)
    }
}

/// DG12: additional document details.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Dg12 {
    /// Issuing authority (5F19).
    pub issuing_authority: Option<String>,
    /// Date of issue YYYYMMDD (5F26).
    pub date_of_issue: Option<String>,
    /// Endorsements and observations (5F1B).
    pub endorsements: Option<String>,
    /// Tax or exit requirements (5F1C).
    pub tax_exit_requirements: Option<String>,
    /// Image of the front of the document (5F1D).
    pub front_image: Option<Vec<u8>>,
    /// Image of the rear of the document (5F1E).
    pub rear_image: Option<Vec<u8>>,
    /// Personalisation date and time (5F55).
    pub personalization_time: Option<String>,
    /// Personalisation system serial number (5F56).
    pub personalization_device: Option<String>,
}

impl fmt::Debug for Dg12 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dg12")
            .field("issuing_authority", &self.issuing_authority)
            .field("date_of_issue", &self.date_of_issue)
            .field("front_image", &self.front_image.as_ref().map(Vec::len))
            .field("rear_image", &self.rear_image.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl Dg12 {
    /// Parses DG12.
    pub fn parse(data: &[u8]) -> Result<Dg12, LdsError> {
        const FILE: &str = "DG12";
        let t = outer(data, 0x6C, FILE)?;
        let mut dg = Dg12::default();
        for c in children(&t, FILE)? {
            let v = Some(text(c.value));
            match c.tag {
                0x5F19 => dg.issuing_authority = v,
                0x5F26 => dg.date_of_issue = v,
                0x5F1B => dg.endorsements = v,
                0x5F1C => dg.tax_exit_requirements = v,
                0x5F1D => dg.front_image = Some(c.value.to_vec()),
                0x5F1E => dg.rear_image = Some(c.value.to_vec()),
                0x5F55 => dg.personalization_time = v,
                0x5F56 => dg.personalization_device = v,
                _ => {}
            }
        }
        Ok(dg)
    }
}

/// DG14: SecurityInfos for Chip Authentication / PACE (raw kept for passive authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dg14 {
    /// The decoded SecurityInfos.
    pub infos: Vec<SecurityInfo>,
}

impl Dg14 {
    /// Parses DG14: `6E { SET OF SecurityInfo }`.
    pub fn parse(data: &[u8]) -> Result<Dg14, LdsError> {
        let t = outer(data, 0x6E, "DG14")?;
        Ok(Dg14 {
            infos: security_info::parse_security_infos(t.value)?,
        })
    }
}

/// DG15: Active Authentication public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dg15 {
    /// Algorithm OID of the SubjectPublicKeyInfo (rsaEncryption, id-ecPublicKey...).
    pub algorithm: ObjectIdentifier,
    /// The SubjectPublicKeyInfo DER.
    pub subject_public_key_info: Vec<u8>,
}

impl Dg15 {
    /// Parses DG15: `6F { SubjectPublicKeyInfo }`.
    pub fn parse(data: &[u8]) -> Result<Dg15, LdsError> {
        const FILE: &str = "DG15";
        let t = outer(data, 0x6F, FILE)?;
        let (spki, _) = tlv::parse_one(t.value).map_err(tlv_err(FILE))?;
        let spki = spki.expect_tag(0x30).map_err(tlv_err(FILE))?;
        let alg = tlv::require(spki.value, 0x30).map_err(tlv_err(FILE))?;
        let oid = tlv::require(alg.value, 0x06).map_err(tlv_err(FILE))?;
        Ok(Dg15 {
            algorithm: ObjectIdentifier(oid.value.to_vec()),
            subject_public_key_info: spki.raw.to_vec(),
        })
    }
}

/// Hash algorithm of the LDS security object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// From the DER value of the algorithm OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
        const NIST: [u8; 8] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
        match oid.0.as_slice() {
            [0x2B, 0x0E, 0x03, 0x02, 0x1A] => Some(HashAlgorithm::Sha1),
            [rest @ .., last] if rest == NIST => match last {
                1 => Some(HashAlgorithm::Sha256),
                2 => Some(HashAlgorithm::Sha384),
                3 => Some(HashAlgorithm::Sha512),
                4 => Some(HashAlgorithm::Sha224),
                _ => None,
            },
            _ => None,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha224 => Sha224::digest(data).to_vec(),
            HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// EF.SOD: the LDS security object and the CMS SignedData around it (signature not verified here).
#[derive(Clone, PartialEq, Eq)]
pub struct Sod {
    /// LDSSecurityObject version.
    pub version: u64,
    /// Hash algorithm OID.
    pub hash_algorithm_oid: ObjectIdentifier,
    /// Hash algorithm, if one this crate computes.
    pub hash_algorithm: Option<HashAlgorithm>,
    /// (data group number, hash value).
    pub data_group_hashes: Vec<(u8, Vec<u8>)>,
    /// The whole CMS SignedData SEQUENCE, for signature verification elsewhere.
    pub signed_data: Vec<u8>,
    /// The eContent (DER LDSSecurityObject), the signed bytes.
    pub security_object: Vec<u8>,
    /// The `[0]` certificates field (document signer certificate), if present.
    pub certificates: Option<Vec<u8>>,
    /// The signerInfos SET.
    pub signer_infos: Vec<u8>,
}

impl fmt::Debug for Sod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sod")
            .field("version", &self.version)
            .field("hash_algorithm", &self.hash_algorithm_oid)
            .field(
                "data_groups",
                &self
                    .data_group_hashes
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .field("signed_data_len", &self.signed_data.len())
            .finish()
    }
}

/// A CMS SignedData (RFC 5652) as used by EF.SOD and EF.CardSecurity: the encapsulated
/// content and the raw parts needed to verify the signature elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    /// eContentType OID.
    pub content_type: ObjectIdentifier,
    /// The eContent octets (the signed bytes).
    pub content: Vec<u8>,
    /// The whole SignedData SEQUENCE.
    pub raw: Vec<u8>,
    /// The `[0]` certificates field, if present.
    pub certificates: Option<Vec<u8>>,
    /// The signerInfos SET.
    pub signer_infos: Vec<u8>,
}

/// Parses `ContentInfo { id-signedData, [0] SignedData }` (the signature is not verified).
pub fn parse_signed_data(
    content_info_der: &[u8],
    file: &'static str,
) -> Result<SignedData, LdsError> {
    let e = tlv_err(file);
    let content_info = tlv::parse_one(content_info_der)
        .map_err(&e)?
        .0
        .expect_tag(0x30)
        .map_err(&e)?;
    let ci = children(&content_info, file)?;
    let [oid, explicit, ..] = ci.as_slice() else {
        return Err(structure(file, "ContentInfo too short"));
    };
    if oid.tag != 0x06 || oid.value != [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02] {
        return Err(structure(file, "ContentInfo is not signedData"));
    }
    let signed = tlv::parse_one(explicit.expect_tag(0xA0).map_err(&e)?.value)
        .map_err(&e)?
        .0
        .expect_tag(0x30)
        .map_err(&e)?;
    let parts = children(&signed, file)?;
    // version, digestAlgorithms, encapContentInfo, [0] certificates?, [1] crls?, signerInfos
    let encap = parts
        .iter()
        .find(|p| p.tag == 0x30)
        .ok_or(structure(file, "encapContentInfo missing"))?;
    let certificates = parts.iter().find(|p| p.tag == 0xA0).map(|p| p.raw.to_vec());
    let signer_infos = parts
        .iter()
        .skip(2)
        .rfind(|p| p.tag == 0x31)
        .ok_or(structure(file, "signerInfos missing"))?
        .raw
        .to_vec();
    let content_type = tlv::require(encap.value, 0x06).map_err(&e)?;
    let econtent = tlv::require(encap.value, 0xA0).map_err(&e)?;
    let octets = tlv::parse_one(econtent.value)
        .map_err(&e)?
        .0
        .expect_tag(0x04)
        .map_err(&e)?;
    Ok(SignedData {
        content_type: ObjectIdentifier(content_type.value.to_vec()),
        content: octets.value.to_vec(),
        raw: signed.raw.to_vec(),
        certificates,
        signer_infos,
    })
}

/// EF.CardSecurity (master file, 011D): SecurityInfos signed by the document signer, with the
/// chip's static public key for Chip Authentication (Mapping). Signature not verified here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSecurity {
    /// The signed SecurityInfos.
    pub infos: Vec<SecurityInfo>,
    /// The CMS structure.
    pub signed_data: SignedData,
}

impl CardSecurity {
    /// Parses EF.CardSecurity (a bare ContentInfo).
    pub fn parse(data: &[u8]) -> Result<CardSecurity, LdsError> {
        let signed_data = parse_signed_data(data, "EF.CardSecurity")?;
        Ok(CardSecurity {
            infos: security_info::parse_security_infos(&signed_data.content)?,
            signed_data,
        })
    }

    /// The uncompressed EC public key of the first ChipAuthenticationPublicKeyInfo whose
    /// algorithm names the standardised domain parameter `parameter_id`.
    pub fn chip_public_key(&self, parameter_id: u64) -> Option<Vec<u8>> {
        self.infos.iter().find_map(|info| {
            if info.kind != security_info::SecurityInfoKind::ChipAuthenticationPublicKey {
                return None;
            }
            // SEQUENCE { OID, SubjectPublicKeyInfo { AlgorithmIdentifier { OID, params }, BIT STRING }, keyId? }
            let (seq, _) = tlv::parse_one(&info.raw).ok()?;
            let spki = seq.children().ok()?.into_iter().find(|c| c.tag == 0x30)?;
            let parts = spki.children().ok()?;
            let alg = parts.iter().find(|c| c.tag == 0x30)?.children().ok()?;
            let id = alg.get(1).and_then(|p| security_info::der_uint(p).ok())?;
            let key = parts.iter().find(|c| c.tag == 0x03)?.value;
            match key {
                [0, point @ ..] if id == parameter_id => Some(point.to_vec()),
                _ => None,
            }
        })
    }
}

impl Sod {
    /// Parses EF.SOD: `77 { ContentInfo { signedData, [0] SignedData } }`.
    pub fn parse(data: &[u8]) -> Result<Sod, LdsError> {
        const FILE: &str = "EF.SOD";
        let e = tlv_err(FILE);
        let t = outer(data, 0x77, FILE)?;
        let signed = parse_signed_data(t.value, FILE)?;
        let so = tlv::parse_one(&signed.content)
            .map_err(&e)?
            .0
            .expect_tag(0x30)
            .map_err(&e)?;
        let fields = children(&so, FILE)?;
        let [version, alg, hashes, ..] = fields.as_slice() else {
            return Err(structure(FILE, "LDSSecurityObject too short"));
        };
        let version = security_info::der_uint(version)
            .map_err(|_| structure(FILE, "LDSSecurityObject version is not an INTEGER"))?;
        let alg_oid = tlv::require(alg.expect_tag(0x30).map_err(&e)?.value, 0x06).map_err(&e)?;
        let hash_algorithm_oid = ObjectIdentifier(alg_oid.value.to_vec());
        let mut data_group_hashes = Vec::new();
        for entry in children(&hashes.expect_tag(0x30).map_err(&e)?, FILE)? {
            let items = children(&entry.expect_tag(0x30).map_err(&e)?, FILE)?;
            let [number, hash, ..] = items.as_slice() else {
                return Err(structure(FILE, "DataGroupHash too short"));
            };
            let number = security_info::der_uint(number)
                .ok()
                .and_then(|n| u8::try_from(n).ok())
                .filter(|n| (1..=16).contains(n))
                .ok_or(structure(FILE, "data group number out of range"))?;
            let hash = hash.expect_tag(0x04).map_err(&e)?;
            data_group_hashes.push((number, hash.value.to_vec()));
        }
        Ok(Sod {
            version,
            hash_algorithm: HashAlgorithm::from_oid(&hash_algorithm_oid),
            hash_algorithm_oid,
            data_group_hashes,
            security_object: signed.content,
            signed_data: signed.raw,
            certificates: signed.certificates,
            signer_infos: signed.signer_infos,
        })
    }

    /// Compares the stored hash of data group `number` with the hash of `content`.
    /// `None` if the SOD lists no hash for it or its algorithm is unknown.
    pub fn hash_matches(&self, number: u8, content: &[u8]) -> Option<bool> {
        let algorithm = self.hash_algorithm?;
        let (_, stored) = self.data_group_hashes.iter().find(|(n, _)| *n == number)?;
        Some(algorithm.digest(content) == *stored)
    }
}

/// Builders for LDS files, used by tests, fuzz seeds and chip simulators (feature
/// `test-support`).
#[cfg(any(test, feature = "test-support"))]
pub mod build {
    use super::*;

    /// EF.COM listing the given data groups.
    pub fn ef_com(data_groups: &[FileId]) -> Vec<u8> {
        let mut inner = tlv::encode(0x5F01, b"0107");
        inner.extend(tlv::encode(0x5F36, b"040000"));
        inner.extend(tlv::encode(
            0x5C,
            &data_groups.iter().map(|d| d.tag()).collect::<Vec<_>>(),
        ));
        tlv::encode(0x60, &inner)
    }

    /// DG1 from MRZ lines.
    pub fn dg1(lines: &[&str]) -> Vec<u8> {
        tlv::encode(0x61, &tlv::encode(0x5F1F, lines.concat().as_bytes()))
    }

    /// DG2 holding one face image in an ISO/IEC 19794-5 record.
    pub fn dg2(image: &[u8], width: u16, height: u16, jpeg2000: bool) -> Vec<u8> {
        let record_len = (20 + 12 + image.len()) as u32;
        let mut block = b"FAC\x00010\x00".to_vec();
        block.extend((14 + record_len).to_be_bytes());
        block.extend(1u16.to_be_bytes());
        block.extend(record_len.to_be_bytes());
        block.extend([0, 0]); // feature points
        block.extend([0; 14]); // gender .. pose uncertainty
        block.extend([1, u8::from(jpeg2000)]);
        block.extend(width.to_be_bytes());
        block.extend(height.to_be_bytes());
        block.extend([1, 2, 0, 0, 0, 0]);
        block.extend_from_slice(image);
        let mut header = tlv::encode(0x80, &[1, 1]);
        header.extend(tlv::encode(0x87, &[1, 1]));
        header.extend(tlv::encode(0x88, &[0, 8]));
        let mut bit = tlv::encode(0xA1, &header);
        bit.extend(tlv::encode(0x5F2E, &block));
        let mut group = tlv::encode(0x02, &[1]);
        group.extend(tlv::encode(0x7F60, &bit));
        tlv::encode(0x75, &tlv::encode(0x7F61, &group))
    }

    /// EF.SOD with the given hashes (SHA-256) and an empty, unsigned signerInfos: a structure
    /// for parser tests only, not a verifiable signature.
    pub fn sod_unsigned(files: &[(u8, &[u8])]) -> Vec<u8> {
        let mut hashes = Vec::new();
        for (n, content) in files {
            let mut entry = tlv::encode(0x02, &[*n]);
            entry.extend(tlv::encode(0x04, &HashAlgorithm::Sha256.digest(content)));
            hashes.extend(tlv::encode(0x30, &entry));
        }
        let alg = tlv::encode(
            0x30,
            &tlv::encode(
                0x06,
                &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
            ),
        );
        let mut so = tlv::encode(0x02, &[0]);
        so.extend(alg);
        so.extend(tlv::encode(0x30, &hashes));
        let so = tlv::encode(0x30, &so);
        signed_data_unsigned(&[0x67, 0x81, 0x08, 0x01, 0x01, 0x01], &so, Some(0x77))
    }

    /// A ContentInfo/SignedData around `content` with an empty signerInfos (not verifiable),
    /// optionally wrapped in an application tag.
    pub fn signed_data_unsigned(
        content_type: &[u8],
        content: &[u8],
        wrapper: Option<u32>,
    ) -> Vec<u8> {
        let alg = tlv::encode(
            0x30,
            &tlv::encode(
                0x06,
                &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
            ),
        );
        let mut encap = tlv::encode(0x06, content_type);
        encap.extend(tlv::encode(0xA0, &tlv::encode(0x04, content)));
        let mut signed = tlv::encode(0x02, &[3]);
        signed.extend(tlv::encode(0x31, &alg));
        signed.extend(tlv::encode(0x30, &encap));
        signed.extend(tlv::encode(0x31, &[]));
        let mut ci = tlv::encode(
            0x06,
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02],
        );
        ci.extend(tlv::encode(0xA0, &tlv::encode(0x30, &signed)));
        let ci = tlv::encode(0x30, &ci);
        match wrapper {
            Some(tag) => tlv::encode(tag, &ci),
            None => ci,
        }
    }

    /// ChipAuthenticationPublicKeyInfo (id-PK-ECDH) for an uncompressed point on a
    /// standardised curve.
    pub fn chip_authentication_public_key_info(parameter_id: u8, point: &[u8]) -> Vec<u8> {
        let mut alg = tlv::encode(0x06, &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x02]); // standardizedDomainParameters
        alg.extend(tlv::encode(0x02, &[parameter_id]));
        let mut key = vec![0u8];
        key.extend_from_slice(point);
        let mut spki = tlv::encode(0x30, &alg);
        spki.extend(tlv::encode(0x03, &key));
        let mut info = tlv::encode(
            0x06,
            &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01, 0x02],
        );
        info.extend(tlv::encode(0x30, &spki));
        tlv::encode(0x30, &info)
    }

    /// EF.CardSecurity (unsigned) holding the given SecurityInfo encodings.
    pub fn card_security_unsigned(infos: &[Vec<u8>]) -> Vec<u8> {
        let set = tlv::encode(0x31, &infos.concat());
        // id-SecurityObject 0.4.0.127.0.7.3.2.1
        signed_data_unsigned(
            &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x02, 0x01],
            &set,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];

    #[test]
    fn parses_appendix_d_ef_com() {
        let com =
            EfCom::parse(&hex::decode("60145F0104303130365F36063034303030305C026175").unwrap())
                .unwrap();
        // The bytes say "0106" (LDS 1.6 encoding) even where the example is described as LDS 1.7.
        assert_eq!(com.lds_version, "0106");
        assert_eq!(com.unicode_version, "040000");
        assert_eq!(
            com.data_groups,
            [FileId::DataGroup(1), FileId::DataGroup(2)]
        );
        assert_eq!(
            EfCom::parse(&build::ef_com(&com.data_groups))
                .unwrap()
                .data_groups,
            com.data_groups
        );
        assert!(EfCom::parse(&hex::decode("60065F0102303130").unwrap()).is_err());
    }

    #[test]
    fn parses_dg1_td3_and_td1() {
        let dg1 = Dg1::parse(&build::dg1(&TD3)).unwrap();
        assert_eq!(dg1.mrz.document_number.as_str(), "L898902C3");
        let td1 = [
            "I<UTOD231458907<<<<<<<<<<<<<<<",
            "7408122F1204159UTO<<<<<<<<<<<6",
            "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        ];
        assert_eq!(
            Dg1::parse(&build::dg1(&td1)).unwrap().mrz.format,
            crate::mrz::MrzFormat::Td1
        );
        assert!(matches!(
            Dg1::parse(&build::dg1(&["SHORT"])),
            Err(LdsError::Structure { .. })
        ));
        let mut bad = build::dg1(&TD3);
        let n = bad.len();
        bad[n - 1] = b'9';
        assert!(matches!(Dg1::parse(&bad), Err(LdsError::Mrz(_))));
    }

    #[test]
    fn dg2_extracts_jpeg_jp2_and_j2k() {
        for (image, format) in [
            (vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], ImageFormat::Jpeg),
            (
                vec![
                    0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A, 9,
                ],
                ImageFormat::Jp2,
            ),
            (vec![0xFF, 0x4F, 0xFF, 0x51, 0, 0x2F], ImageFormat::J2k),
        ] {
            let dg2 =
                Dg2::parse(&build::dg2(&image, 480, 640, format != ImageFormat::Jpeg)).unwrap();
            assert_eq!(dg2.faces.len(), 1);
            assert_eq!(dg2.faces[0].data, image);
            assert_eq!(dg2.faces[0].format, format);
            assert_eq!((dg2.faces[0].width, dg2.faces[0].height), (480, 640));
        }
        let good = build::dg2(&[0xFF, 0xD8, 0xFF], 1, 1, false);
        for cut in 0..good.len() {
            assert!(Dg2::parse(&good[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn sod_parses_hashes_and_checks_them() {
        let dg1 = build::dg1(&TD3);
        let sod = Sod::parse(&build::sod_unsigned(&[(1, &dg1), (2, b"dg2")])).unwrap();
        assert_eq!(sod.hash_algorithm, Some(HashAlgorithm::Sha256));
        assert_eq!(sod.data_group_hashes.len(), 2);
        assert_eq!(sod.hash_matches(1, &dg1), Some(true));
        assert_eq!(sod.hash_matches(2, b"other"), Some(false));
        assert_eq!(sod.hash_matches(3, b""), None);
        let good = build::sod_unsigned(&[(1, &dg1)]);
        for cut in 0..good.len() {
            assert!(Sod::parse(&good[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn dg11_dg12_dg14_dg15_parse() {
        let mut inner = tlv::encode(0x5C, &[0x5F, 0x0E]);
        inner.extend(tlv::encode(0x5F0E, b"ERIKSSON<<ANNA MARIA"));
        inner.extend(tlv::encode(0x5F2B, b"19740812"));
        inner.extend(tlv::encode(
            0xA0,
            &[tlv::encode(0x02, &[1]), tlv::encode(0x5F0F, b"SMITH<<ANNA")].concat(),
        ));
        let dg11 = Dg11::parse(&tlv::encode(0x6B, &inner)).unwrap();
        assert_eq!(dg11.full_name.as_deref(), Some("ERIKSSON<<ANNA MARIA"));
        assert_eq!(dg11.other_names, ["SMITH<<ANNA"]);
        assert!(!format!("{dg11:?}").contains("ERIKSSON"));
        let dg12 = Dg12::parse(&tlv::encode(0x6C, &tlv::encode(0x5F26, b"20120415"))).unwrap();
        assert_eq!(dg12.date_of_issue.as_deref(), Some("20120415"));
        let dg14 = Dg14::parse(&tlv::encode(
            0x6E,
            &hex::decode("31143012060A04007F0007020204020202010202010D").unwrap(),
        ))
        .unwrap();
        assert_eq!(dg14.infos.len(), 1);
        let spki = tlv::encode(
            0x30,
            &[
                tlv::encode(
                    0x30,
                    &tlv::encode(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]),
                ),
                tlv::encode(0x03, &[0, 4]),
            ]
            .concat(),
        );
        let dg15 = Dg15::parse(&tlv::encode(0x6F, &spki)).unwrap();
        assert_eq!(dg15.algorithm.dotted(), "1.2.840.10045.2.1");
        let dg7 = Dg7::parse(&tlv::encode(
            0x67,
            &[
                tlv::encode(0x02, &[1]),
                tlv::encode(0x5F43, &[0xFF, 0xD8, 0xFF]),
            ]
            .concat(),
        ))
        .unwrap();
        assert_eq!(dg7.images[0].0, ImageFormat::Jpeg);
    }

    #[test]
    fn file_ids() {
        assert_eq!(FileId::DataGroup(2).fid(), 0x0102);
        assert_eq!(FileId::DataGroup(15).tag(), 0x6F);
        assert_eq!(FileId::from_tag(0x75), Some(FileId::DataGroup(2)));
        assert_eq!(FileId::Sod.sfi(), 0x1D);
        assert_eq!(FileId::DataGroup(0).tag(), 0);
    }
}

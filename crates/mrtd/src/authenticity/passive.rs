//! Passive authentication (ICAO 9303 Part 11 5.1, Frontex ABC order): SOD signature ->
//! document signer (DS) certificate validity and key usage -> DS revocation (CRL) -> DS
//! chains to a trusted CSCA -> data group hashes -> DG1 equals the MRZ read optically ->
//! issuing state matches the certificates. The first failing step decides the error.

use std::collections::BTreeMap;

use super::cms::{CmsError, SignedData};
use super::country;
use super::der::DerError;
use super::signature::SignatureError;
use super::trust::TrustStore;
use super::x509::{Certificate, KEY_USAGE_DIGITAL_SIGNATURE, KEY_USAGE_KEY_CERT_SIGN};
use crate::lds::{Dg1, HashAlgorithm, Sod};
use crate::mrz::Mrz;
use crate::reader::ChipDocument;
use crate::tlv;

/// eContentType of the LDS security object (id-icao-mrtd-security-ldsSecurityObject).
pub const OID_LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];

/// eContentType of EF.CardSecurity (id-SecurityObject, 0.4.0.127.0.7.3.2.1).
pub const OID_SECURITY_OBJECT: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x02, 0x01];

/// Why passive authentication failed. Each variant has its own stable reason code
/// ([`PassiveAuthError::reason_code`]). No variant carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassiveAuthError {
    /// EF.SOD is not a well-formed SignedData over an LDSSecurityObject.
    #[error("EF.SOD malformed: {0}")]
    SodMalformed(String),
    /// A signature, digest or key algorithm (or curve) this implementation does not support.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The SOD names a document signer certificate that it does not carry.
    #[error("document signer certificate not found in EF.SOD")]
    DsCertificateMissing,
    /// signedAttrs missing, or content-type / message-digest attributes missing or wrong.
    #[error("EF.SOD signed attributes invalid: {0}")]
    SignedAttributesInvalid(String),
    /// The SOD signature does not verify with the DS certificate's key.
    #[error("EF.SOD signature does not verify")]
    SodSignatureInvalid,
    /// The DS certificate is not yet valid at the verification time.
    #[error("document signer certificate {subject} not yet valid")]
    DsCertificateNotYetValid {
        /// DS subject.
        subject: String,
    },
    /// The DS certificate has expired at the verification time.
    #[error("document signer certificate {subject} expired")]
    DsCertificateExpired {
        /// DS subject.
        subject: String,
    },
    /// The DS certificate lacks keyUsage digitalSignature (or has no keyUsage).
    #[error("document signer certificate {subject} lacks key usage digitalSignature")]
    DsKeyUsageInvalid {
        /// DS subject.
        subject: String,
    },
    /// The DS certificate carries a critical extension this implementation does not know.
    #[error("document signer certificate has unknown critical extension {0}")]
    DsCertificateInvalid(String),
    /// The DS certificate is listed on its CSCA's CRL.
    #[error("document signer certificate {subject} (serial {serial}) is revoked")]
    DsCertificateRevoked {
        /// DS subject.
        subject: String,
        /// Serial number, hex.
        serial: String,
    },
    /// The policy requires a current CRL of the DS issuer and none is loaded.
    #[error("no current CRL of {issuer}")]
    CrlUnavailable {
        /// The issuer without a CRL.
        issuer: String,
    },
    /// No trusted CSCA has the DS certificate's issuer name.
    #[error("no trusted CSCA for issuer {issuer}")]
    CscaUnknown {
        /// DS issuer.
        issuer: String,
    },
    /// CSCAs with the issuer's name are trusted, but none of them signed the DS certificate.
    #[error("document signer certificate not signed by the trusted CSCA {issuer}")]
    DsCertificateSignatureInvalid {
        /// DS issuer.
        issuer: String,
    },
    /// The CSCA that signed the DS certificate is outside its validity period.
    #[error("CSCA {subject} not valid at the verification time")]
    CscaCertificateExpired {
        /// CSCA subject.
        subject: String,
    },
    /// A data group read from the chip has no hash in EF.SOD.
    #[error("DG{0} is not listed in EF.SOD")]
    DataGroupNotInSod(u8),
    /// A data group's hash differs from EF.SOD.
    #[error("DG{0} hash does not match EF.SOD")]
    DataGroupHashMismatch(u8),
    /// DG1 is missing or cannot be parsed.
    #[error("DG1 unusable: {0}")]
    Dg1Malformed(String),
    /// DG1 differs from the MRZ read optically (or given by the operator).
    #[error("DG1 differs from the MRZ read optically")]
    Dg1MrzMismatch,
    /// The issuing state of DG1 and the country of the certificates disagree.
    #[error("issuing state {document} does not match certificate country {certificate}")]
    IssuingStateMismatch {
        /// Issuing state of the document (three-letter code, e.g. `D`, `UTO`).
        document: String,
        /// Country of the certificates (two-letter).
        certificate: String,
    },
}

impl PassiveAuthError {
    /// The stable reason code of this failure (as stored in events).
    pub fn reason_code(&self) -> &'static str {
        match self {
            PassiveAuthError::SodMalformed(_) => "SOD_MALFORMED",
            PassiveAuthError::UnsupportedAlgorithm(_) => "UNSUPPORTED_ALGORITHM",
            PassiveAuthError::DsCertificateMissing => "DS_CERTIFICATE_MISSING",
            PassiveAuthError::SignedAttributesInvalid(_) => "SOD_SIGNED_ATTRIBUTES_INVALID",
            PassiveAuthError::SodSignatureInvalid => "SOD_SIGNATURE_INVALID",
            PassiveAuthError::DsCertificateNotYetValid { .. } => "DS_CERTIFICATE_NOT_YET_VALID",
            PassiveAuthError::DsCertificateExpired { .. } => "DS_CERTIFICATE_EXPIRED",
            PassiveAuthError::DsKeyUsageInvalid { .. } => "DS_KEY_USAGE_INVALID",
            PassiveAuthError::DsCertificateInvalid(_) => "DS_CERTIFICATE_INVALID",
            PassiveAuthError::DsCertificateRevoked { .. } => "DS_CERTIFICATE_REVOKED",
            PassiveAuthError::CrlUnavailable { .. } => "CRL_UNAVAILABLE",
            PassiveAuthError::CscaUnknown { .. } => "CSCA_UNKNOWN",
            PassiveAuthError::DsCertificateSignatureInvalid { .. } => {
                "DS_CERTIFICATE_SIGNATURE_INVALID"
            }
            PassiveAuthError::CscaCertificateExpired { .. } => "CSCA_CERTIFICATE_EXPIRED",
            PassiveAuthError::DataGroupNotInSod(_) => "DG_NOT_IN_SOD",
            PassiveAuthError::DataGroupHashMismatch(_) => "DG_HASH_MISMATCH",
            PassiveAuthError::Dg1Malformed(_) => "DOCUMENT_MALFORMED",
            PassiveAuthError::Dg1MrzMismatch => "DG1_MRZ_MISMATCH",
            PassiveAuthError::IssuingStateMismatch { .. } => "ISSUING_STATE_MISMATCH",
        }
    }
}

impl From<DerError> for PassiveAuthError {
    fn from(e: DerError) -> Self {
        PassiveAuthError::SodMalformed(e.to_string())
    }
}

fn from_signature_error(e: SignatureError, invalid: PassiveAuthError) -> PassiveAuthError {
    match e {
        SignatureError::Unsupported(what) => PassiveAuthError::UnsupportedAlgorithm(what),
        SignatureError::InvalidKey(_) | SignatureError::Invalid => invalid,
    }
}

impl From<CmsError> for PassiveAuthError {
    fn from(e: CmsError) -> Self {
        match e {
            CmsError::SignerCount(_) => PassiveAuthError::SodMalformed(e.to_string()),
            CmsError::SignerCertificateMissing => PassiveAuthError::DsCertificateMissing,
            CmsError::SignedAttributesInvalid(_)
            | CmsError::ContentTypeMismatch
            | CmsError::MessageDigestMismatch => {
                PassiveAuthError::SignedAttributesInvalid(e.to_string())
            }
            CmsError::Signature(s) => {
                from_signature_error(s, PassiveAuthError::SodSignatureInvalid)
            }
        }
    }
}

/// What passive authentication checks: the files read from the chip and the optical MRZ.
#[derive(Debug, Clone, Copy)]
pub struct PassiveAuthInput<'a> {
    /// EF.SOD as read (tag 0x77 around the ContentInfo).
    pub sod: &'a [u8],
    /// Every data group read, by number (all are checked against EF.SOD; DG1 is required).
    pub data_groups: &'a BTreeMap<u8, Vec<u8>>,
    /// The MRZ read optically or typed by an officer; `None` skips the DG1 comparison
    /// (e.g. a CAN-only read), which the caller's policy must allow.
    pub optical_mrz: Option<&'a Mrz>,
    /// Verification time, seconds since the Unix epoch (the library reads no clock).
    pub time: i64,
}

impl<'a> PassiveAuthInput<'a> {
    /// The input for a [`ChipDocument`] read by [`crate::reader::ChipReader`].
    pub fn from_chip(document: &'a ChipDocument, optical_mrz: Option<&'a Mrz>, time: i64) -> Self {
        PassiveAuthInput {
            sod: &document.sod,
            data_groups: &document.data_groups,
            optical_mrz,
            time,
        }
    }
}

/// Passive authentication policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassiveAuthPolicy {
    /// Refuse when no current (nextUpdate not passed) CRL of the DS issuer is loaded.
    pub require_crl: bool,
}

/// What a successful passive authentication established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveAuthReport {
    /// DS certificate subject.
    pub document_signer: String,
    /// CSCA certificate subject.
    pub csca: String,
    /// Country of the certificates (two letters).
    pub country: String,
    /// SOD signature scheme (`RSA-PSS-SHA256`, `ECDSA-SHA256`...).
    pub signature_scheme: String,
    /// DS key (`RSA-2048`, `EC brainpoolP256r1`...).
    pub signer_key: String,
    /// Data group hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// Data groups whose hash matched.
    pub data_groups_verified: Vec<u8>,
    /// Every data group EF.SOD has a hash for (read or not).
    pub data_groups_in_sod: Vec<u8>,
    /// True if a CRL of the DS issuer was consulted.
    pub crl_checked: bool,
    /// True if DG1 was compared with an optical MRZ.
    pub mrz_compared: bool,
}

/// The parsed EF.SOD: the CMS structure and the LDS security object.
#[derive(Debug, Clone)]
pub struct ParsedSod {
    /// The CMS SignedData.
    pub signed_data: SignedData,
    /// The LDS security object (hashes).
    pub security_object: Sod,
}

/// Parses EF.SOD strictly (tag 0x77, DER ContentInfo, LDSSecurityObject content type).
pub fn parse_sod(sod: &[u8]) -> Result<ParsedSod, PassiveAuthError> {
    let malformed = |e: String| PassiveAuthError::SodMalformed(e);
    let (outer, rest) = tlv::parse_one(sod).map_err(|e| malformed(e.to_string()))?;
    if outer.tag != 0x77 || !rest.is_empty() {
        return Err(malformed("not a 0x77 EF.SOD file".into()));
    }
    let signed_data = SignedData::parse_content_info(outer.value)?;
    if signed_data.content_type.0 != OID_LDS_SECURITY_OBJECT {
        return Err(malformed(format!(
            "eContentType {} is not ldsSecurityObject",
            signed_data.content_type.dotted()
        )));
    }
    let security_object = Sod::parse(sod).map_err(|e| malformed(e.to_string()))?;
    Ok(ParsedSod {
        signed_data,
        security_object,
    })
}

/// The verified signer of a SignedData: its DS certificate and the trusted CSCA.
#[derive(Debug, Clone)]
pub struct SignerChain {
    /// The document signer certificate.
    pub document_signer: Certificate,
    /// The trusted CSCA that issued it.
    pub csca: Certificate,
    /// The signature scheme of the SignedData.
    pub scheme: super::signature::Scheme,
    /// True if a CRL of the DS issuer was consulted.
    pub crl_checked: bool,
}

/// Passive authentication steps 1-4 for any document-signer-signed object (EF.SOD,
/// EF.CardSecurity): CMS signature, DS validity and key usage, revocation, chain to a
/// trusted CSCA.
pub fn verify_signer_chain(
    signed_data: &SignedData,
    trust: &TrustStore,
    policy: &PassiveAuthPolicy,
    time: i64,
) -> Result<SignerChain, PassiveAuthError> {
    // 1. SOD signature (signed attributes, then the signature with the DS key).
    let verified = signed_data.verify_signer(&[])?;
    let ds = verified.certificate;
    let ds_subject = ds.subject.to_string();

    // 2. DS certificate validity and key usage.
    if time < ds.not_before {
        return Err(PassiveAuthError::DsCertificateNotYetValid {
            subject: ds_subject,
        });
    }
    if time > ds.not_after {
        return Err(PassiveAuthError::DsCertificateExpired {
            subject: ds_subject,
        });
    }
    if !ds.has_key_usage(KEY_USAGE_DIGITAL_SIGNATURE) {
        return Err(PassiveAuthError::DsKeyUsageInvalid {
            subject: ds_subject,
        });
    }
    if let Some(oid) = ds.unknown_critical_extensions.first() {
        return Err(PassiveAuthError::DsCertificateInvalid(oid.dotted()));
    }

    // 3. Revocation: CRLs (already verified against their CSCA) naming the DS issuer.
    let crls: Vec<_> = trust
        .crls()
        .iter()
        .filter(|crl| crl.issuer.matches(&ds.issuer))
        .collect();
    if crls.iter().any(|crl| crl.is_revoked(&ds.serial)) {
        return Err(PassiveAuthError::DsCertificateRevoked {
            subject: ds_subject,
            serial: super::x509::hex_string(&ds.serial),
        });
    }
    let current_crl = crls
        .iter()
        .any(|crl| crl.this_update <= time && crl.next_update.is_none_or(|next| time <= next));
    if policy.require_crl && !current_crl {
        return Err(PassiveAuthError::CrlUnavailable {
            issuer: ds.issuer.to_string(),
        });
    }

    // 4. Chain to a trusted CSCA.
    let csca = chain_to_csca(ds, trust, time)?;

    Ok(SignerChain {
        document_signer: ds.clone(),
        csca: csca.clone(),
        scheme: verified.scheme,
        crl_checked: !crls.is_empty(),
    })
}

/// Verifies EF.CardSecurity (the chip key for PACE-CAM) like EF.SOD: signature, DS
/// certificate and chain (steps 1-4). Its SecurityInfos are then trustworthy.
pub fn verify_card_security(
    card_security: &[u8],
    trust: &TrustStore,
    policy: &PassiveAuthPolicy,
    time: i64,
) -> Result<SignerChain, PassiveAuthError> {
    let signed_data = SignedData::parse_content_info(card_security)?;
    if signed_data.content_type.0 != OID_SECURITY_OBJECT {
        return Err(PassiveAuthError::SodMalformed(format!(
            "EF.CardSecurity eContentType {} is not id-SecurityObject",
            signed_data.content_type.dotted()
        )));
    }
    verify_signer_chain(&signed_data, trust, policy, time)
}

/// Runs passive authentication in the Frontex order. See the module documentation.
pub fn verify_passive(
    input: &PassiveAuthInput<'_>,
    trust: &TrustStore,
    policy: &PassiveAuthPolicy,
) -> Result<PassiveAuthReport, PassiveAuthError> {
    let time = input.time;
    let parsed = parse_sod(input.sod)?;
    // Steps 1-4: signature, DS validity and key usage, revocation, chain.
    let chain = verify_signer_chain(&parsed.signed_data, trust, policy, time)?;
    let (ds, csca) = (&chain.document_signer, &chain.csca);
    let ds_subject = ds.subject.to_string();

    // 5. Data group hashes.
    let sod = &parsed.security_object;
    let hash_algorithm = sod.hash_algorithm.ok_or_else(|| {
        PassiveAuthError::UnsupportedAlgorithm(format!(
            "LDS hash algorithm {}",
            sod.hash_algorithm_oid.dotted()
        ))
    })?;
    let mut data_groups_verified = Vec::new();
    for (&number, content) in input.data_groups {
        match sod.hash_matches(number, content) {
            Some(true) => data_groups_verified.push(number),
            Some(false) => return Err(PassiveAuthError::DataGroupHashMismatch(number)),
            None => return Err(PassiveAuthError::DataGroupNotInSod(number)),
        }
    }

    // 6. DG1 equals the optical MRZ.
    let dg1 = input
        .data_groups
        .get(&1)
        .ok_or_else(|| PassiveAuthError::Dg1Malformed("DG1 not read".into()))?;
    let dg1 = Dg1::parse(dg1).map_err(|e| PassiveAuthError::Dg1Malformed(e.to_string()))?;
    if let Some(optical) = input.optical_mrz
        && *optical != dg1.mrz
    {
        return Err(PassiveAuthError::Dg1MrzMismatch);
    }

    // 7. Issuing state matches the certificates (DS issuer, DS subject, CSCA subject).
    let document = dg1.mrz.issuing_state.clone();
    let csca_country = csca.subject.country().unwrap_or_default();
    let countries = [
        ds.issuer.country(),
        ds.subject.country(),
        Some(csca_country.clone()),
    ];
    let expected = country::alpha2_of_issuing_state(&document);
    let consistent = countries
        .iter()
        .flatten()
        .all(|c| Some(c.as_str()) == expected);
    if !consistent || csca_country.is_empty() {
        return Err(PassiveAuthError::IssuingStateMismatch {
            document,
            certificate: csca_country,
        });
    }

    Ok(PassiveAuthReport {
        document_signer: ds_subject,
        csca: csca.subject.to_string(),
        country: csca_country,
        signature_scheme: chain.scheme.name(),
        signer_key: ds
            .public_key()
            .map(|k| k.describe())
            .unwrap_or_else(|_| "unknown".into()),
        hash_algorithm,
        data_groups_verified,
        data_groups_in_sod: sod.data_group_hashes.iter().map(|(n, _)| *n).collect(),
        crl_checked: chain.crl_checked,
        mrz_compared: input.optical_mrz.is_some(),
    })
}

/// Finds the trusted CSCA that signed `ds`: candidates by issuer name (key identifier
/// matches first), the first whose key verifies the DS signature; then its validity.
pub fn chain_to_csca<'a>(
    ds: &Certificate,
    trust: &'a TrustStore,
    time: i64,
) -> Result<&'a Certificate, PassiveAuthError> {
    let mut candidates: Vec<&Certificate> = trust
        .cscas()
        .iter()
        .map(|c| &c.certificate)
        .filter(|c| ds.issuer.matches(&c.subject))
        .collect();
    if candidates.is_empty() {
        return Err(PassiveAuthError::CscaUnknown {
            issuer: ds.issuer.to_string(),
        });
    }
    candidates.sort_by_key(|c| !ds.names_issuer(c));
    let mut unsupported = None;
    for csca in candidates {
        if csca.key_usage.is_some() && !csca.has_key_usage(KEY_USAGE_KEY_CERT_SIGN) {
            continue;
        }
        let verdict = csca.public_key().and_then(|key| ds.verify_signed_by(&key));
        match verdict {
            Ok(()) => {
                if !csca.valid_at(time) {
                    return Err(PassiveAuthError::CscaCertificateExpired {
                        subject: csca.subject.to_string(),
                    });
                }
                return Ok(csca);
            }
            Err(SignatureError::Unsupported(what)) => unsupported = Some(what),
            Err(_) => {}
        }
    }
    Err(match unsupported {
        Some(what) => PassiveAuthError::UnsupportedAlgorithm(what),
        None => PassiveAuthError::DsCertificateSignatureInvalid {
            issuer: ds.issuer.to_string(),
        },
    })
}

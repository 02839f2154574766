//! CMS SignedData (RFC 5652) as used by EF.SOD, EF.CardSecurity and ICAO master lists:
//! strict parsing and verification of the one SignerInfo (signed attributes content-type and
//! message-digest, signature with the signer certificate found by its identifier).

use super::der::{self, DerError, Element, tag};
use super::signature::{self, AlgorithmIdentifier, Scheme, SignatureError};
use super::x509::{Certificate, Name};
use crate::security_info::ObjectIdentifier;

const OID_SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
const OID_CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];

/// How a SignerInfo names its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerIdentifier {
    /// issuerAndSerialNumber.
    IssuerAndSerial {
        /// Issuer name.
        issuer: Name,
        /// Serial number magnitude.
        serial: Vec<u8>,
    },
    /// `[0]` subjectKeyIdentifier.
    SubjectKeyId(Vec<u8>),
}

impl SignerIdentifier {
    /// True if `cert` is the certificate this identifier names.
    pub fn matches(&self, cert: &Certificate) -> bool {
        match self {
            SignerIdentifier::IssuerAndSerial { issuer, serial } => {
                cert.serial == *serial && cert.issuer.matches(issuer)
            }
            SignerIdentifier::SubjectKeyId(id) => cert.subject_key_id.as_ref() == Some(id),
        }
    }
}

/// One SignerInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerInfo {
    /// The signer certificate's identifier.
    pub sid: SignerIdentifier,
    /// digestAlgorithm.
    pub digest_algorithm: AlgorithmIdentifier,
    /// signedAttrs DER re-tagged as SET (0x31): the bytes the signature covers.
    pub signed_attributes: Option<Vec<u8>>,
    /// The content-type attribute value.
    pub content_type: Option<ObjectIdentifier>,
    /// The message-digest attribute value.
    pub message_digest: Option<Vec<u8>>,
    /// signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifier,
    /// signature.
    pub signature: Vec<u8>,
}

/// A parsed SignedData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    /// eContentType.
    pub content_type: ObjectIdentifier,
    /// eContent octets.
    pub content: Vec<u8>,
    /// Certificates carried in the structure.
    pub certificates: Vec<Certificate>,
    /// SignerInfos.
    pub signer_infos: Vec<SignerInfo>,
}

/// Why a SignedData does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    /// Not exactly one SignerInfo.
    #[error("{0} SignerInfos (exactly one expected)")]
    SignerCount(usize),
    /// No certificate in the structure matches the SignerInfo's identifier.
    #[error("signer certificate not found in the SignedData")]
    SignerCertificateMissing,
    /// signedAttrs absent, or content-type / message-digest attribute missing or repeated.
    #[error("signed attributes: {0}")]
    SignedAttributesInvalid(&'static str),
    /// The content-type attribute differs from eContentType.
    #[error("content-type attribute does not match eContentType")]
    ContentTypeMismatch,
    /// The message-digest attribute differs from the hash of eContent.
    #[error("message-digest attribute does not match the content")]
    MessageDigestMismatch,
    /// Signature algorithm problem or invalid signature.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// Result of a successful SignerInfo verification.
#[derive(Debug)]
pub struct VerifiedSigner<'a> {
    /// The signer certificate (from the SignedData).
    pub certificate: &'a Certificate,
    /// The signature scheme used.
    pub scheme: Scheme,
}

/// The two signed attributes CMS requires, and whether either was repeated.
struct RequiredAttributes {
    content_type: Option<ObjectIdentifier>,
    message_digest: Option<Vec<u8>>,
    duplicate: bool,
}

fn parse_attributes(element: &Element<'_>) -> Result<RequiredAttributes, DerError> {
    let what = "signedAttrs";
    let mut content_type = None;
    let mut message_digest = None;
    let mut duplicate = false;
    for attribute in element.reader(what).all()? {
        let mut r = attribute.expect(tag::SEQUENCE, what)?.reader(what);
        let oid = der::oid(&r.read()?, what)?;
        let values = r.read_tag(tag::SET)?.reader(what).all()?;
        r.finish()?;
        let single = |values: &[Element<'_>]| values.len() == 1;
        match oid.0.as_slice() {
            OID_CONTENT_TYPE => {
                duplicate |= content_type.is_some() || !single(&values);
                if let Some(v) = values.first() {
                    content_type = Some(der::oid(v, what)?);
                }
            }
            OID_MESSAGE_DIGEST => {
                duplicate |= message_digest.is_some() || !single(&values);
                if let Some(v) = values.first() {
                    message_digest = Some(v.expect(tag::OCTET_STRING, what)?.value.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(RequiredAttributes {
        content_type,
        message_digest,
        duplicate,
    })
}

fn parse_signer_info(element: &Element<'_>) -> Result<(SignerInfo, bool), DerError> {
    let what = "SignerInfo";
    let mut r = element.expect(tag::SEQUENCE, what)?.reader(what);
    let version = der::small_integer(&r.read()?, what)?;
    let sid_element = r.read()?;
    let sid = match (version, sid_element.tag) {
        (1, tag::SEQUENCE) => {
            let mut s = sid_element.reader(what);
            let issuer = Name::parse_element(&s.read()?)?;
            let serial = der::serial_number(&s.read()?, what)?.to_vec();
            s.finish()?;
            SignerIdentifier::IssuerAndSerial { issuer, serial }
        }
        (3, tag::CONTEXT_0_PRIMITIVE) => SignerIdentifier::SubjectKeyId(sid_element.value.to_vec()),
        _ => {
            return Err(DerError::Value {
                what,
                detail: "version and signer identifier do not agree",
            });
        }
    };
    let digest_algorithm = AlgorithmIdentifier::parse(&r.read()?, what)?;
    let mut signed_attributes = None;
    let mut content_type = None;
    let mut message_digest = None;
    let mut duplicate = false;
    if let Some(attrs) = r.optional(tag::CONTEXT_0)? {
        let required = parse_attributes(&attrs)?;
        content_type = required.content_type;
        message_digest = required.message_digest;
        duplicate = required.duplicate;
        let mut set = attrs.raw.to_vec();
        set[0] = tag::SET;
        signed_attributes = Some(set);
    }
    let signature_algorithm = AlgorithmIdentifier::parse(&r.read()?, what)?;
    let signature = r.read_tag(tag::OCTET_STRING)?.value.to_vec();
    // unsignedAttrs [1] ignored.
    r.optional(tag::CONTEXT_1)?;
    r.finish()?;
    Ok((
        SignerInfo {
            sid,
            digest_algorithm,
            signed_attributes,
            content_type,
            message_digest,
            signature_algorithm,
            signature,
        },
        duplicate,
    ))
}

impl SignedData {
    /// Parses `ContentInfo { id-signedData, [0] SignedData }` (DER, nothing after it).
    /// Signer infos with repeated content-type or message-digest attributes keep them
    /// unset, which fails verification.
    pub fn parse_content_info(data: &[u8]) -> Result<SignedData, DerError> {
        let what = "ContentInfo";
        let info = der::parse_exact(data, tag::SEQUENCE, what)?;
        let mut r = info.reader(what);
        if der::oid(&r.read()?, what)?.0 != OID_SIGNED_DATA {
            return Err(DerError::Value {
                what,
                detail: "content type is not signedData",
            });
        }
        let explicit = r.read_tag(tag::CONTEXT_0)?;
        r.finish()?;
        let mut e = explicit.reader(what);
        let signed = e.read_tag(tag::SEQUENCE)?;
        e.finish()?;

        let what = "SignedData";
        let mut s = signed.reader(what);
        der::small_integer(&s.read()?, what)?;
        let digests = s.read_tag(tag::SET)?;
        for d in digests.reader(what).all()? {
            AlgorithmIdentifier::parse(&d, what)?;
        }
        let mut encap = s.read_tag(tag::SEQUENCE)?.reader(what);
        let content_type = der::oid(&encap.read()?, what)?;
        let explicit = encap.read_tag(tag::CONTEXT_0)?;
        encap.finish()?;
        let mut octets = explicit.reader(what);
        let content = octets.read_tag(tag::OCTET_STRING)?.value.to_vec();
        octets.finish()?;
        let mut certificates = Vec::new();
        if let Some(certs) = s.optional(tag::CONTEXT_0)? {
            for cert in certs.reader(what).all()? {
                if cert.tag == tag::SEQUENCE {
                    certificates.push(Certificate::parse(cert.raw)?);
                }
            }
        }
        // crls [1]: not used (CRLs come from the trust store).
        s.optional(tag::CONTEXT_1)?;
        let mut signer_infos = Vec::new();
        for si in s.read_tag(tag::SET)?.reader(what).all()? {
            let (mut info, duplicate) = parse_signer_info(&si)?;
            if duplicate {
                info.content_type = None;
                info.message_digest = None;
            }
            signer_infos.push(info);
        }
        s.finish()?;
        Ok(SignedData {
            content_type,
            content,
            certificates,
            signer_infos,
        })
    }

    /// The single SignerInfo.
    pub fn signer_info(&self) -> Result<&SignerInfo, CmsError> {
        match self.signer_infos.as_slice() {
            [one] => Ok(one),
            other => Err(CmsError::SignerCount(other.len())),
        }
    }

    /// The signer certificate among `certificates` and then `extra` (e.g. a trust store).
    pub fn signer_certificate<'a>(
        &'a self,
        extra: &'a [Certificate],
    ) -> Result<&'a Certificate, CmsError> {
        let info = self.signer_info()?;
        self.certificates
            .iter()
            .chain(extra)
            .find(|c| info.sid.matches(c))
            .ok_or(CmsError::SignerCertificateMissing)
    }

    /// Verifies the SignerInfo: signed attributes present with content-type equal to
    /// eContentType and message-digest equal to the hash of eContent, then the signature
    /// over the signed attributes with the signer certificate's key. The certificate itself
    /// (validity, chain) is NOT checked here.
    pub fn verify_signer<'a>(
        &'a self,
        extra: &'a [Certificate],
    ) -> Result<VerifiedSigner<'a>, CmsError> {
        let info = self.signer_info()?;
        let certificate = self.signer_certificate(extra)?;
        let digest = signature::hash_from_algorithm(&info.digest_algorithm)?;
        let scheme = Scheme::from_algorithm(&info.signature_algorithm, Some(digest))?;
        let attributes = info
            .signed_attributes
            .as_ref()
            .ok_or(CmsError::SignedAttributesInvalid("signedAttrs missing"))?;
        let content_type = info
            .content_type
            .as_ref()
            .ok_or(CmsError::SignedAttributesInvalid(
                "content-type attribute missing or repeated",
            ))?;
        let message_digest =
            info.message_digest
                .as_ref()
                .ok_or(CmsError::SignedAttributesInvalid(
                    "message-digest attribute missing or repeated",
                ))?;
        if *content_type != self.content_type {
            return Err(CmsError::ContentTypeMismatch);
        }
        if digest.digest(&self.content) != *message_digest {
            return Err(CmsError::MessageDigestMismatch);
        }
        let key = certificate.public_key()?;
        key.verify(scheme, attributes, &info.signature)?;
        Ok(VerifiedSigner {
            certificate,
            scheme,
        })
    }
}

//! X.509 certificates and CRLs (RFC 5280 profile of ICAO 9303 Part 12): the fields passive
//! authentication needs, parsed strictly, with the signed bytes kept for verification.

use std::fmt;

use super::der::{self, DerError, Element, tag};
use super::signature::{AlgorithmIdentifier, PublicKey, Scheme, SignatureError};
use crate::security_info::ObjectIdentifier;

const OID_COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x0F];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];
const OID_SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1D, 0x0E];
const OID_AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1D, 0x23];
const OID_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x25];

/// Extensions this implementation understands or may ignore when marked critical.
const KNOWN_EXTENSIONS: &[&[u8]] = &[
    OID_KEY_USAGE,
    OID_BASIC_CONSTRAINTS,
    OID_SUBJECT_KEY_ID,
    OID_AUTHORITY_KEY_ID,
    OID_EXTENDED_KEY_USAGE,
    &[0x55, 0x1D, 0x10],                         // privateKeyUsagePeriod
    &[0x55, 0x1D, 0x11],                         // subjectAltName
    &[0x55, 0x1D, 0x12],                         // issuerAltName
    &[0x55, 0x1D, 0x1F],                         // cRLDistributionPoints
    &[0x55, 0x1D, 0x20],                         // certificatePolicies
    &[0x67, 0x81, 0x08, 0x01, 0x01, 0x06, 0x01], // ICAO nameChange
    &[0x67, 0x81, 0x08, 0x01, 0x01, 0x06, 0x02], // ICAO documentTypeList
];

/// keyUsage bit: digitalSignature.
pub const KEY_USAGE_DIGITAL_SIGNATURE: u16 = 0x8000;
/// keyUsage bit: keyCertSign.
pub const KEY_USAGE_KEY_CERT_SIGN: u16 = 0x0400;
/// keyUsage bit: cRLSign.
pub const KEY_USAGE_CRL_SIGN: u16 = 0x0200;

/// A distinguished name: the DER and the attributes used for matching and display.
#[derive(Clone, PartialEq, Eq)]
pub struct Name {
    /// The Name DER (SEQUENCE OF RDN).
    pub raw: Vec<u8>,
    /// (attribute OID, value text) in order.
    pub attributes: Vec<(ObjectIdentifier, String)>,
}

impl Name {
    /// Parses a Name element.
    pub fn parse_element(element: &Element<'_>) -> Result<Name, DerError> {
        let what = "Name";
        let mut attributes = Vec::new();
        for rdn in element.expect(tag::SEQUENCE, what)?.reader(what).all()? {
            for atv in rdn.expect(tag::SET, what)?.reader(what).all()? {
                let mut r = atv.expect(tag::SEQUENCE, what)?.reader(what);
                let oid = der::oid(&r.read()?, what)?;
                let value = r.read()?;
                r.finish()?;
                let text = match value.tag {
                    // BMPString: UTF-16BE.
                    0x1E => {
                        let units: Vec<u16> = value
                            .value
                            .chunks(2)
                            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                            .collect();
                        String::from_utf16_lossy(&units)
                    }
                    _ => String::from_utf8_lossy(value.value).into_owned(),
                };
                attributes.push((oid, text));
            }
        }
        Ok(Name {
            raw: element.raw.to_vec(),
            attributes,
        })
    }

    fn attribute(&self, oid: &[u8]) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(o, _)| o.0 == oid)
            .map(|(_, v)| v.as_str())
    }

    /// The countryName (C) attribute, upper case.
    pub fn country(&self) -> Option<String> {
        self.attribute(OID_COUNTRY)
            .map(|c| c.trim().to_ascii_uppercase())
    }

    /// The commonName (CN) attribute.
    pub fn common_name(&self) -> Option<&str> {
        self.attribute(OID_COMMON_NAME)
    }

    /// Name matching (RFC 5280 7.1, simplified): equal DER, or the same attributes in the
    /// same order with values equal after trimming, collapsing spaces and ignoring case
    /// (string types may differ between a CSCA and the certificates it issued).
    pub fn matches(&self, other: &Name) -> bool {
        if self.raw == other.raw {
            return true;
        }
        let norm = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        self.attributes.len() == other.attributes.len()
            && self
                .attributes
                .iter()
                .zip(&other.attributes)
                .all(|((o1, v1), (o2, v2))| o1 == o2 && norm(v1) == norm(v2))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .attributes
            .iter()
            .map(|(oid, v)| {
                let key = match oid.0.as_slice() {
                    OID_COUNTRY => "C".to_string(),
                    OID_COMMON_NAME => "CN".to_string(),
                    [0x55, 0x04, 0x0A] => "O".to_string(),
                    [0x55, 0x04, 0x0B] => "OU".to_string(),
                    [0x55, 0x04, 0x05] => "serialNumber".to_string(),
                    _ => oid.dotted(),
                };
                format!("{key}={v}")
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// An X.509 v3 certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The whole certificate DER.
    pub raw: Vec<u8>,
    /// The TBSCertificate DER (the signed bytes).
    pub tbs: Vec<u8>,
    /// Serial number magnitude.
    pub serial: Vec<u8>,
    /// Issuer.
    pub issuer: Name,
    /// Subject.
    pub subject: Name,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
    /// Signature algorithm (outer).
    pub signature_algorithm: AlgorithmIdentifier,
    /// Signature value.
    pub signature: Vec<u8>,
    /// keyUsage bits (bit 0 = digitalSignature as 0x8000), if the extension is present.
    pub key_usage: Option<u16>,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// subjectKeyIdentifier.
    pub subject_key_id: Option<Vec<u8>>,
    /// authorityKeyIdentifier keyIdentifier.
    pub authority_key_id: Option<Vec<u8>>,
    /// extendedKeyUsage purposes.
    pub extended_key_usage: Vec<ObjectIdentifier>,
    /// Critical extensions this implementation does not know.
    pub unknown_critical_extensions: Vec<ObjectIdentifier>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &hex_string(&self.serial))
            .finish()
    }
}

/// Upper-case hex.
pub fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn extensions(
    element: &Element<'_>,
    mut each: impl FnMut(&ObjectIdentifier, bool, &[u8]) -> Result<(), DerError>,
) -> Result<(), DerError> {
    let what = "Extensions";
    let mut outer = element.reader(what);
    let list = outer.read_tag(tag::SEQUENCE)?;
    outer.finish()?;
    for ext in list.reader(what).all()? {
        let mut r = ext.expect(tag::SEQUENCE, what)?.reader(what);
        let oid = der::oid(&r.read()?, what)?;
        let critical = match r.optional(tag::BOOLEAN)? {
            Some(b) => b.value != [0],
            None => false,
        };
        let value = r.read_tag(tag::OCTET_STRING)?.value;
        r.finish()?;
        each(&oid, critical, value)?;
    }
    Ok(())
}

fn authority_key_id(value: &[u8]) -> Result<Option<Vec<u8>>, DerError> {
    let what = "authorityKeyIdentifier";
    let seq = der::parse_exact(value, tag::SEQUENCE, what)?;
    let mut r = seq.reader(what);
    Ok(r.optional(tag::CONTEXT_0_PRIMITIVE)?
        .map(|e| e.value.to_vec()))
}

impl Certificate {
    /// Parses a DER certificate.
    pub fn parse(data: &[u8]) -> Result<Certificate, DerError> {
        let what = "Certificate";
        let cert = der::parse_exact(data, tag::SEQUENCE, what)?;
        let mut r = cert.reader(what);
        let tbs = r.read_tag(tag::SEQUENCE)?;
        let signature_algorithm = AlgorithmIdentifier::parse(&r.read()?, what)?;
        let signature = der::bit_string_octets(&r.read()?, what)?.to_vec();
        r.finish()?;

        let what = "TBSCertificate";
        let mut t = tbs.reader(what);
        if let Some(version) = t.optional(tag::CONTEXT_0)? {
            let mut v = version.reader(what);
            let number = der::small_integer(&v.read()?, what)?;
            v.finish()?;
            if number > 2 {
                return Err(DerError::Value {
                    what,
                    detail: "unknown version",
                });
            }
        }
        let serial = der::serial_number(&t.read()?, what)?.to_vec();
        let inner_algorithm = AlgorithmIdentifier::parse(&t.read()?, what)?;
        if inner_algorithm.oid != signature_algorithm.oid {
            return Err(DerError::Value {
                what,
                detail: "inner and outer signature algorithms differ",
            });
        }
        let issuer = Name::parse_element(&t.read()?)?;
        let mut validity = t.read_tag(tag::SEQUENCE)?.reader(what);
        let not_before = der::time(&validity.read()?, what)?;
        let not_after = der::time(&validity.read()?, what)?;
        validity.finish()?;
        let subject = Name::parse_element(&t.read()?)?;
        let spki = t.read_tag(tag::SEQUENCE)?.raw.to_vec();
        // issuerUniqueID [1], subjectUniqueID [2]: skipped.
        t.optional(0x81)?;
        t.optional(0x82)?;
        let mut cert = Certificate {
            raw: data.to_vec(),
            tbs: tbs.raw.to_vec(),
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            spki,
            signature_algorithm,
            signature,
            key_usage: None,
            is_ca: false,
            subject_key_id: None,
            authority_key_id: None,
            extended_key_usage: Vec::new(),
            unknown_critical_extensions: Vec::new(),
        };
        if let Some(ext) = t.optional(tag::CONTEXT_3)? {
            extensions(&ext, |oid, critical, value| {
                match oid.0.as_slice() {
                    OID_KEY_USAGE => {
                        let bits = der::parse_exact(value, tag::BIT_STRING, "keyUsage")?;
                        let (unused, bytes) = bits.value.split_first().ok_or(DerError::Value {
                            what: "keyUsage",
                            detail: "empty BIT STRING",
                        })?;
                        if *unused > 7 || bytes.len() > 2 {
                            return Err(DerError::Value {
                                what: "keyUsage",
                                detail: "bad BIT STRING",
                            });
                        }
                        let hi = u16::from(bytes.first().copied().unwrap_or(0));
                        let lo = u16::from(bytes.get(1).copied().unwrap_or(0));
                        cert.key_usage = Some((hi << 8) | lo);
                    }
                    OID_BASIC_CONSTRAINTS => {
                        let seq = der::parse_exact(value, tag::SEQUENCE, "basicConstraints")?;
                        let mut r = seq.reader("basicConstraints");
                        cert.is_ca = r.optional(tag::BOOLEAN)?.is_some_and(|b| b.value != [0]);
                    }
                    OID_SUBJECT_KEY_ID => {
                        cert.subject_key_id = Some(
                            der::parse_exact(value, tag::OCTET_STRING, "subjectKeyIdentifier")?
                                .value
                                .to_vec(),
                        );
                    }
                    OID_AUTHORITY_KEY_ID => cert.authority_key_id = authority_key_id(value)?,
                    OID_EXTENDED_KEY_USAGE => {
                        let seq = der::parse_exact(value, tag::SEQUENCE, "extendedKeyUsage")?;
                        for purpose in seq.reader("extendedKeyUsage").all()? {
                            cert.extended_key_usage
                                .push(der::oid(&purpose, "extendedKeyUsage")?);
                        }
                    }
                    other if critical && !KNOWN_EXTENSIONS.contains(&other) => {
                        cert.unknown_critical_extensions.push(oid.clone());
                    }
                    _ => {}
                }
                Ok(())
            })?;
        }
        t.finish()?;
        Ok(cert)
    }

    /// The subject public key.
    pub fn public_key(&self) -> Result<PublicKey, SignatureError> {
        PublicKey::from_spki(&self.spki)
    }

    /// True if `time` (Unix seconds) is within the validity period.
    pub fn valid_at(&self, time: i64) -> bool {
        self.not_before <= time && time <= self.not_after
    }

    /// True if the keyUsage extension is present and has `bit`.
    pub fn has_key_usage(&self, bit: u16) -> bool {
        self.key_usage.is_some_and(|ku| ku & bit != 0)
    }

    /// Verifies this certificate's signature with `issuer_key`.
    pub fn verify_signed_by(&self, issuer_key: &PublicKey) -> Result<(), SignatureError> {
        let scheme = Scheme::from_algorithm(&self.signature_algorithm, None)?;
        issuer_key.verify(scheme, &self.tbs, &self.signature)
    }

    /// True if `issuer` could have issued this certificate by name and key identifier (the
    /// signature is not checked here).
    pub fn names_issuer(&self, issuer: &Certificate) -> bool {
        if !self.issuer.matches(&issuer.subject) {
            return false;
        }
        match (&self.authority_key_id, &issuer.subject_key_id) {
            (Some(aki), Some(ski)) => aki == ski,
            _ => true,
        }
    }
}

/// A certificate revocation list.
#[derive(Clone, PartialEq, Eq)]
pub struct Crl {
    /// The whole CRL DER.
    pub raw: Vec<u8>,
    /// TBSCertList DER (the signed bytes).
    pub tbs: Vec<u8>,
    /// Issuer.
    pub issuer: Name,
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
    /// nextUpdate, Unix seconds.
    pub next_update: Option<i64>,
    /// Serial numbers (magnitudes) of revoked certificates.
    pub revoked: Vec<Vec<u8>>,
    /// authorityKeyIdentifier of the CRL.
    pub authority_key_id: Option<Vec<u8>>,
    /// Signature algorithm.
    pub signature_algorithm: AlgorithmIdentifier,
    /// Signature value.
    pub signature: Vec<u8>,
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crl")
            .field("issuer", &self.issuer)
            .field("revoked", &self.revoked.len())
            .finish()
    }
}

impl Crl {
    /// Parses a DER CertificateList.
    pub fn parse(data: &[u8]) -> Result<Crl, DerError> {
        let what = "CertificateList";
        let list = der::parse_exact(data, tag::SEQUENCE, what)?;
        let mut r = list.reader(what);
        let tbs = r.read_tag(tag::SEQUENCE)?;
        let signature_algorithm = AlgorithmIdentifier::parse(&r.read()?, what)?;
        let signature = der::bit_string_octets(&r.read()?, what)?.to_vec();
        r.finish()?;
        let what = "TBSCertList";
        let mut t = tbs.reader(what);
        if t.peek_tag() == Some(tag::INTEGER) {
            der::small_integer(&t.read()?, what)?;
        }
        let inner_algorithm = AlgorithmIdentifier::parse(&t.read()?, what)?;
        if inner_algorithm.oid != signature_algorithm.oid {
            return Err(DerError::Value {
                what,
                detail: "inner and outer signature algorithms differ",
            });
        }
        let issuer = Name::parse_element(&t.read()?)?;
        let this_update = der::time(&t.read()?, what)?;
        let next_update = match t.peek_tag() {
            Some(tag::UTC_TIME | tag::GENERALIZED_TIME) => Some(der::time(&t.read()?, what)?),
            _ => None,
        };
        let mut revoked = Vec::new();
        if let Some(list) = t.optional(tag::SEQUENCE)? {
            for entry in list.reader(what).all()? {
                let mut e = entry.expect(tag::SEQUENCE, what)?.reader(what);
                revoked.push(der::serial_number(&e.read()?, what)?.to_vec());
                der::time(&e.read()?, what)?;
                e.optional(tag::SEQUENCE)?;
                e.finish()?;
            }
        }
        let mut authority_key_id = None;
        if let Some(ext) = t.optional(tag::CONTEXT_0)? {
            extensions(&ext, |oid, _, value| {
                if oid.0 == OID_AUTHORITY_KEY_ID {
                    authority_key_id = super::x509::authority_key_id(value)?;
                }
                Ok(())
            })?;
        }
        t.finish()?;
        Ok(Crl {
            raw: data.to_vec(),
            tbs: tbs.raw.to_vec(),
            issuer,
            this_update,
            next_update,
            revoked,
            authority_key_id,
            signature_algorithm,
            signature,
        })
    }

    /// Verifies the CRL signature with the issuer's key.
    pub fn verify_signed_by(&self, issuer_key: &PublicKey) -> Result<(), SignatureError> {
        let scheme = Scheme::from_algorithm(&self.signature_algorithm, None)?;
        issuer_key.verify(scheme, &self.tbs, &self.signature)
    }

    /// True if this CRL is issued by `issuer` (name and key identifier).
    pub fn issued_by(&self, issuer: &Certificate) -> bool {
        self.issuer.matches(&issuer.subject)
            && match (&self.authority_key_id, &issuer.subject_key_id) {
                (Some(aki), Some(ski)) => aki == ski,
                _ => true,
            }
    }

    /// True if the serial number is listed.
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked.iter().any(|s| s == serial)
    }
}

/// Decodes PEM blocks with the given label (`CERTIFICATE`, `X509 CRL`); DER input is
/// returned as the single element.
pub fn pem_or_der(data: &[u8], label: &str) -> Vec<Vec<u8>> {
    let Ok(text) = std::str::from_utf8(data) else {
        return vec![data.to_vec()];
    };
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    if !text.contains(&begin) {
        return vec![data.to_vec()];
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let Some(stop) = body.find(&end) else { break };
        if let Some(decoded) = base64_decode(&body[..stop]) {
            out.push(decoded);
        }
        rest = &body[stop + end.len()..];
    }
    out
}

/// Standard base64 with padding; whitespace ignored. `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode("TQ==\n").unwrap(), b"M");
        assert!(base64_decode("T*==").is_none());
    }
}

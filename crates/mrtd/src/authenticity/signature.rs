//! Signature verification for passive and active authentication: RSA PKCS#1 v1.5 and
//! RSASSA-PSS (RFC 8017) and ECDSA (X9.62 / BSI TR-03111) with SHA-1/224/256/384/512. This
//! module parses keys, signatures and algorithm identifiers (strict DER) and applies the
//! ICAO policy (key sizes, curves); the arithmetic is OpenSSL's, through
//! [`crate::crypto::verify`]. Only public-key operations happen here.

use super::curves::{self, NamedCurve};
use super::der::{self, DerError, Element, Reader, tag};
use crate::crypto::verify::{EcPublicKey, RsaPublicKey};
use crate::lds::HashAlgorithm;
use crate::security_info::ObjectIdentifier;

pub use crate::crypto::verify::{hash_len, hash_oid};

/// DER value bytes of the object identifiers used here.
pub mod oids {
    /// rsaEncryption (1.2.840.113549.1.1.1).
    pub const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    /// id-mgf1 (1.2.840.113549.1.1.8).
    pub const MGF1: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08];
    /// id-RSASSA-PSS (1.2.840.113549.1.1.10).
    pub const RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
    /// Prefix of sha*WithRSAEncryption (1.2.840.113549.1.1.x).
    pub const PKCS1_PREFIX: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
    /// id-ecPublicKey (1.2.840.10045.2.1).
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    /// prime-field (1.2.840.10045.1.1).
    pub const PRIME_FIELD: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01];
    /// ecdsa-with-SHA1 (1.2.840.10045.4.1).
    pub const ECDSA_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];
    /// Prefix of ecdsa-with-SHA224/256/384/512 (1.2.840.10045.4.3.x).
    pub const ECDSA_SHA2_PREFIX: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03];
    /// Prefix of BSI ecdsa-plain-SHA* (0.4.0.127.0.7.1.1.4.1.x).
    pub const ECDSA_PLAIN_PREFIX: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01];
}

/// Why a signature could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// An algorithm, curve or parameter set this implementation does not support.
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    /// The public key is malformed or unusable.
    #[error("invalid public key: {0}")]
    InvalidKey(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    Invalid,
}

impl From<DerError> for SignatureError {
    fn from(e: DerError) -> Self {
        SignatureError::InvalidKey(e.to_string())
    }
}

/// An AlgorithmIdentifier: OID and the raw parameters element, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmIdentifier {
    /// The algorithm.
    pub oid: ObjectIdentifier,
    /// The parameters element (tag, length, value), absent or NULL.
    pub parameters: Option<Vec<u8>>,
}

impl AlgorithmIdentifier {
    /// Parses `SEQUENCE { OID, parameters ANY OPTIONAL }`.
    pub fn parse(element: &Element<'_>, what: &'static str) -> Result<Self, DerError> {
        let mut r = element.expect(tag::SEQUENCE, what)?.reader(what);
        let oid = der::oid(&r.read_tag(tag::OID)?, what)?;
        let parameters = if r.is_empty() {
            None
        } else {
            Some(r.read()?.raw.to_vec())
        };
        r.finish()?;
        Ok(AlgorithmIdentifier { oid, parameters })
    }
}

/// The hash of a digest AlgorithmIdentifier.
pub fn hash_from_algorithm(alg: &AlgorithmIdentifier) -> Result<HashAlgorithm, SignatureError> {
    HashAlgorithm::from_oid(&alg.oid)
        .ok_or_else(|| SignatureError::Unsupported(format!("digest {}", alg.oid.dotted())))
}

/// A signature scheme with its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(HashAlgorithm),
    /// RSASSA-PSS with MGF1.
    RsaPss {
        /// Message hash.
        hash: HashAlgorithm,
        /// MGF1 hash.
        mgf_hash: HashAlgorithm,
        /// Salt length in bytes.
        salt_len: usize,
    },
    /// ECDSA, signature DER `Ecdsa-Sig-Value`.
    EcdsaDer(HashAlgorithm),
    /// ECDSA, plain `r || s` (BSI TR-03111).
    EcdsaPlain(HashAlgorithm),
}

impl Scheme {
    /// Short human-readable name (`RSA-PSS-SHA256`, `ECDSA-SHA384`...).
    pub fn name(&self) -> String {
        let h = |h: &HashAlgorithm| format!("{h:?}").to_uppercase();
        match self {
            Scheme::RsaPkcs1(hash) => format!("RSA-PKCS1-{}", h(hash)),
            Scheme::RsaPss { hash, .. } => format!("RSA-PSS-{}", h(hash)),
            Scheme::EcdsaDer(hash) => format!("ECDSA-{}", h(hash)),
            Scheme::EcdsaPlain(hash) => format!("ECDSA-PLAIN-{}", h(hash)),
        }
    }

    /// The scheme named by a signature AlgorithmIdentifier. `digest` is the separately given
    /// digest algorithm (CMS SignerInfo) used when the identifier names only the key type
    /// (`rsaEncryption`, `id-ecPublicKey`).
    pub fn from_algorithm(
        alg: &AlgorithmIdentifier,
        digest: Option<HashAlgorithm>,
    ) -> Result<Scheme, SignatureError> {
        let unsupported = || SignatureError::Unsupported(format!("signature {}", alg.oid.dotted()));
        let need_digest = || digest.ok_or_else(unsupported);
        let oid = alg.oid.0.as_slice();
        if oid == oids::RSA_ENCRYPTION {
            return Ok(Scheme::RsaPkcs1(need_digest()?));
        }
        if oid == oids::RSASSA_PSS {
            return pss_parameters(alg.parameters.as_deref());
        }
        if oid == oids::EC_PUBLIC_KEY {
            return Ok(Scheme::EcdsaDer(need_digest()?));
        }
        if oid == oids::ECDSA_SHA1 {
            return Ok(Scheme::EcdsaDer(HashAlgorithm::Sha1));
        }
        if let Some(rest) = oid.strip_prefix(oids::PKCS1_PREFIX) {
            return Ok(Scheme::RsaPkcs1(match rest {
                [0x05] => HashAlgorithm::Sha1,
                [0x0B] => HashAlgorithm::Sha256,
                [0x0C] => HashAlgorithm::Sha384,
                [0x0D] => HashAlgorithm::Sha512,
                [0x0E] => HashAlgorithm::Sha224,
                _ => return Err(unsupported()),
            }));
        }
        if let Some(rest) = oid.strip_prefix(oids::ECDSA_SHA2_PREFIX) {
            return Ok(Scheme::EcdsaDer(match rest {
                [1] => HashAlgorithm::Sha224,
                [2] => HashAlgorithm::Sha256,
                [3] => HashAlgorithm::Sha384,
                [4] => HashAlgorithm::Sha512,
                _ => return Err(unsupported()),
            }));
        }
        if let Some(rest) = oid.strip_prefix(oids::ECDSA_PLAIN_PREFIX) {
            return Ok(Scheme::EcdsaPlain(match rest {
                [1] => HashAlgorithm::Sha1,
                [2] => HashAlgorithm::Sha224,
                [3] => HashAlgorithm::Sha256,
                [4] => HashAlgorithm::Sha384,
                [5] => HashAlgorithm::Sha512,
                _ => return Err(unsupported()),
            }));
        }
        Err(unsupported())
    }

    /// The message hash.
    pub fn hash(&self) -> HashAlgorithm {
        match *self {
            Scheme::RsaPkcs1(h) | Scheme::EcdsaDer(h) | Scheme::EcdsaPlain(h) => h,
            Scheme::RsaPss { hash, .. } => hash,
        }
    }
}

/// RSASSA-PSS-params (RFC 8017 A.2.3), defaults SHA-1 / MGF1-SHA-1 / 20 / trailer 1.
fn pss_parameters(params: Option<&[u8]>) -> Result<Scheme, SignatureError> {
    let mut hash = HashAlgorithm::Sha1;
    let mut mgf_hash = HashAlgorithm::Sha1;
    let mut salt_len = 20usize;
    let what = "RSASSA-PSS parameters";
    let bad = |d: &str| SignatureError::Unsupported(format!("RSASSA-PSS parameters: {d}"));
    if let Some(params) = params {
        let seq = der::parse_exact(params, tag::SEQUENCE, what).map_err(|e| bad(&e.to_string()))?;
        let mut r = seq.reader(what);
        let inner = |e: &Element<'_>| -> Result<AlgorithmIdentifier, SignatureError> {
            let mut r = e.reader(what);
            let alg = AlgorithmIdentifier::parse(&r.read().map_err(|e| bad(&e.to_string()))?, what)
                .map_err(|e| bad(&e.to_string()))?;
            r.finish().map_err(|e| bad(&e.to_string()))?;
            Ok(alg)
        };
        let der_err = |e: DerError| bad(&e.to_string());
        if let Some(e) = r.optional(tag::CONTEXT_0).map_err(der_err)? {
            hash = hash_from_algorithm(&inner(&e)?)?;
        }
        if let Some(e) = r.optional(tag::CONTEXT_1).map_err(der_err)? {
            let mgf = inner(&e)?;
            if mgf.oid.0 != oids::MGF1 {
                return Err(bad("mask generation function is not MGF1"));
            }
            let mgf_params = mgf.parameters.ok_or_else(|| bad("MGF1 without hash"))?;
            let alg = AlgorithmIdentifier::parse(
                &der::parse_exact(&mgf_params, tag::SEQUENCE, what).map_err(der_err)?,
                what,
            )
            .map_err(der_err)?;
            mgf_hash = hash_from_algorithm(&alg)?;
        }
        if let Some(e) = r.optional(tag::CONTEXT_2).map_err(der_err)? {
            let mut inner = e.reader(what);
            let len = der::small_integer(&inner.read().map_err(der_err)?, what).map_err(der_err)?;
            inner.finish().map_err(der_err)?;
            salt_len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= 1024)
                .ok_or_else(|| bad("salt length"))?;
        }
        if let Some(e) = r.optional(tag::CONTEXT_3).map_err(der_err)? {
            let mut inner = e.reader(what);
            let trailer =
                der::small_integer(&inner.read().map_err(der_err)?, what).map_err(der_err)?;
            if trailer != 1 {
                return Err(bad("trailer field is not 1"));
            }
        }
        r.finish().map_err(der_err)?;
    }
    Ok(Scheme::RsaPss {
        hash,
        mgf_hash,
        salt_len,
    })
}

/// A public key from a SubjectPublicKeyInfo.
pub enum PublicKey {
    /// An RSA key.
    Rsa(RsaPublicKey),
    /// An EC point on a named (or matched explicit) curve.
    Ec {
        /// The curve.
        curve: &'static NamedCurve,
        /// The key.
        key: EcPublicKey,
    },
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo (rsaEncryption, RSASSA-PSS or id-ecPublicKey with a
    /// named curve or explicit parameters of a known curve).
    pub fn from_spki(spki: &[u8]) -> Result<PublicKey, SignatureError> {
        let what = "SubjectPublicKeyInfo";
        let seq = der::parse_exact(spki, tag::SEQUENCE, what)?;
        let mut r = seq.reader(what);
        let alg = AlgorithmIdentifier::parse(&r.read()?, what)?;
        let key = der::bit_string_octets(&r.read()?, what)?;
        r.finish()?;
        let oid = alg.oid.0.as_slice();
        if oid == oids::RSA_ENCRYPTION || oid == oids::RSASSA_PSS {
            return Self::rsa(key);
        }
        if oid == oids::EC_PUBLIC_KEY {
            let params = alg
                .parameters
                .ok_or_else(|| SignatureError::InvalidKey("EC key without curve".into()))?;
            let curve = ec_curve(&params)?;
            // Uncompressed points only (BSI TR-03111 and every document seen); OpenSSL
            // refuses points that are not on the curve.
            let field_len = curve.field_len();
            if key.len() != 1 + 2 * field_len || key[0] != 0x04 {
                return Err(SignatureError::InvalidKey(format!(
                    "EC point: point encoding of {} bytes",
                    key.len()
                )));
            }
            let key = EcPublicKey::from_point(curve.curve, key)
                .map_err(|e| SignatureError::InvalidKey(e.to_string()))?;
            return Ok(PublicKey::Ec { curve, key });
        }
        Err(SignatureError::Unsupported(format!(
            "public key {}",
            alg.oid.dotted()
        )))
    }

    /// Parses an RSAPublicKey `SEQUENCE { modulus, publicExponent }`.
    pub fn rsa(der_key: &[u8]) -> Result<PublicKey, SignatureError> {
        let what = "RSAPublicKey";
        let seq = der::parse_exact(der_key, tag::SEQUENCE, what)?;
        let mut r = seq.reader(what);
        let n = der::magnitude(der::unsigned_integer(&r.read()?, what)?);
        let e = der::magnitude(der::unsigned_integer(&r.read()?, what)?);
        r.finish()?;
        let n_bits = der::bit_length(n);
        if !(1000..=8192).contains(&n_bits) {
            return Err(SignatureError::InvalidKey(format!(
                "RSA modulus of {n_bits} bits"
            )));
        }
        let e_odd = e.last().is_some_and(|b| b & 1 == 1);
        if der::bit_length(e) > 64 || !e_odd || (e.len() == 1 && e[0] < 3) {
            return Err(SignatureError::InvalidKey("RSA public exponent".into()));
        }
        let key = RsaPublicKey::from_components(n, e)
            .map_err(|e| SignatureError::InvalidKey(e.to_string()))?;
        Ok(PublicKey::Rsa(key))
    }

    /// `RSA-2048`, `ECDSA brainpoolP256r1`...
    pub fn describe(&self) -> String {
        match self {
            PublicKey::Rsa(key) => format!("RSA-{}", key.bits()),
            PublicKey::Ec { curve, .. } => format!("EC {}", curve.name),
        }
    }

    /// Verifies `signature` over `message` with `scheme`.
    pub fn verify(
        &self,
        scheme: Scheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let digest = scheme.hash().digest(message);
        self.verify_digest(scheme, &digest, signature)
    }

    /// Verifies `signature` over an already computed message hash.
    pub fn verify_digest(
        &self,
        scheme: Scheme,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let ok = match (self, scheme) {
            (PublicKey::Rsa(key), Scheme::RsaPkcs1(hash)) => {
                key.verify_pkcs1_v15(hash, digest, signature)
            }
            (
                PublicKey::Rsa(key),
                Scheme::RsaPss {
                    hash,
                    mgf_hash,
                    salt_len,
                },
            ) => key.verify_pss(hash, mgf_hash, salt_len, digest, signature),
            (PublicKey::Ec { key, .. }, Scheme::EcdsaDer(_)) => {
                let (r, s) = ecdsa_der_signature(signature)?;
                key.verify_ecdsa(digest, r, s)
            }
            (PublicKey::Ec { curve, key }, Scheme::EcdsaPlain(_)) => {
                let (r, s) = ecdsa_plain_signature(curve, signature)?;
                key.verify_ecdsa(digest, r, s)
            }
            (key, scheme) => {
                return Err(SignatureError::Unsupported(format!(
                    "{} with a {} key",
                    scheme.name(),
                    key.describe()
                )));
            }
        };
        if ok {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

/// The curve of EC key parameters (the parameters element, tag included): a namedCurve
/// OID, explicit `ECParameters` matched against the known named curves, or (in DG14 and
/// EF.CardSecurity) an INTEGER standardised domain parameter id.
pub fn ec_curve(params: &[u8]) -> Result<&'static NamedCurve, SignatureError> {
    let what = "EC parameters";
    let mut outer = Reader::new(params, what);
    let element = outer.read()?;
    outer.finish()?;
    match element.tag {
        tag::OID => {
            let oid = der::oid(&element, what)?;
            curves::named_by_oid(&oid)
                .ok_or_else(|| SignatureError::Unsupported(format!("curve {}", oid.dotted())))
        }
        tag::SEQUENCE => {
            // ECParameters { version, fieldID { prime-field, p }, curve { a, b, seed? },
            //                base, order, cofactor? }
            let mut r = element.reader(what);
            der::small_integer(&r.read()?, what)?;
            let mut field = r.read_tag(tag::SEQUENCE)?.reader(what);
            if der::oid(&field.read()?, what)?.0 != oids::PRIME_FIELD {
                return Err(SignatureError::Unsupported(
                    "EC field is not a prime field".into(),
                ));
            }
            let p = der::unsigned_integer(&field.read()?, what)?;
            let mut curve = r.read_tag(tag::SEQUENCE)?.reader(what);
            let a = curve.read_tag(tag::OCTET_STRING)?.value;
            let b = curve.read_tag(tag::OCTET_STRING)?.value;
            let base = r.read_tag(tag::OCTET_STRING)?.value;
            let n = der::unsigned_integer(&r.read()?, what)?;
            let field_len = p.len();
            let (gx, gy) = match base {
                [0x04, xy @ ..] if xy.len() == 2 * field_len => xy.split_at(field_len),
                _ => {
                    return Err(SignatureError::Unsupported(
                        "explicit EC base point not uncompressed".into(),
                    ));
                }
            };
            curves::named_by_parameters(p, a, b, gx, gy, n).ok_or_else(|| {
                SignatureError::Unsupported("explicit EC parameters of an unknown curve".into())
            })
        }
        tag::INTEGER => {
            let id = der::small_integer(&element, what)?;
            curves::named_by_standard_id(id)
                .ok_or_else(|| SignatureError::Unsupported(format!("domain parameter id {id}")))
        }
        _ => Err(SignatureError::Unsupported(
            "implicitCA EC parameters".into(),
        )),
    }
}

/// `r` and `s` of a DER `Ecdsa-Sig-Value`, as big-endian magnitudes.
fn ecdsa_der_signature(signature: &[u8]) -> Result<(&[u8], &[u8]), SignatureError> {
    let what = "ECDSA signature";
    let seq =
        der::parse_exact(signature, tag::SEQUENCE, what).map_err(|_| SignatureError::Invalid)?;
    let mut r = seq.reader(what);
    let mut parse = || -> Result<&[u8], SignatureError> {
        let e = r.read().map_err(|_| SignatureError::Invalid)?;
        der::unsigned_integer(&e, what).map_err(|_| SignatureError::Invalid)
    };
    let (rr, s) = (parse()?, parse()?);
    r.finish().map_err(|_| SignatureError::Invalid)?;
    Ok((rr, s))
}

/// `r` and `s` of a plain `r || s` signature (BSI TR-03111), each of the order's length.
fn ecdsa_plain_signature<'a>(
    curve: &NamedCurve,
    signature: &'a [u8],
) -> Result<(&'a [u8], &'a [u8]), SignatureError> {
    let order_len = curve.order_len();
    if signature.len() != 2 * order_len {
        return Err(SignatureError::Invalid);
    }
    Ok(signature.split_at(order_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_round_trip_with_a_textbook_signer() {
        // Sign with the textbook formula (num-bigint, test only) and verify through OpenSSL,
        // plain and DER; a changed message, r = 0 and s = n must fail.
        use crate::ec::Point;
        use num_bigint::BigUint;
        let curve = curves::by_standard_id(13).unwrap();
        let named = curves::named_by_standard_id(13).unwrap();
        let n = curve.order().clone();
        let d = curve.random_scalar().unwrap();
        let q = curve.mul(&d, curve.generator());
        let key = PublicKey::Ec {
            curve: named,
            key: EcPublicKey::from_point(named.curve, &curve.encode(&q)).unwrap(),
        };
        let digest = HashAlgorithm::Sha256.digest(b"message");
        let e = BigUint::from_bytes_be(&digest);
        let k = curve.random_scalar().unwrap();
        let Point::Affine { x, .. } = curve.mul(&k, curve.generator()) else {
            panic!()
        };
        let r = x % &n;
        let s = (k.modpow(&(&n - 2u32), &n) * (e + &r * &d)) % &n;
        let plain =
            |r: &BigUint, s: &BigUint| [curve.field_bytes(r), curve.field_bytes(s)].concat();
        let scheme = Scheme::EcdsaPlain(HashAlgorithm::Sha256);
        assert_eq!(key.verify(scheme, b"message", &plain(&r, &s)), Ok(()));
        let int = |v: &BigUint| {
            let mut bytes = v.to_bytes_be();
            if bytes[0] & 0x80 != 0 {
                bytes.insert(0, 0);
            }
            crate::tlv::encode(u32::from(tag::INTEGER), &bytes)
        };
        let der_sig = crate::tlv::encode(u32::from(tag::SEQUENCE), &[int(&r), int(&s)].concat());
        let der_scheme = Scheme::EcdsaDer(HashAlgorithm::Sha256);
        assert_eq!(key.verify(der_scheme, b"message", &der_sig), Ok(()));
        assert_eq!(
            key.verify(scheme, b"messagf", &plain(&r, &s)),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            key.verify(scheme, b"message", &plain(&BigUint::ZERO, &s)),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            key.verify(scheme, b"message", &plain(&r, &n)),
            Err(SignatureError::Invalid)
        );
        assert!(matches!(
            key.verify(
                Scheme::RsaPkcs1(HashAlgorithm::Sha256),
                b"message",
                &der_sig
            ),
            Err(SignatureError::Unsupported(_))
        ));
    }

    #[test]
    fn scheme_from_algorithm() {
        let alg = |oid: &[u8]| AlgorithmIdentifier {
            oid: ObjectIdentifier(oid.to_vec()),
            parameters: None,
        };
        let mut sha256_rsa = oids::PKCS1_PREFIX.to_vec();
        sha256_rsa.push(0x0B);
        assert_eq!(
            Scheme::from_algorithm(&alg(&sha256_rsa), None).unwrap(),
            Scheme::RsaPkcs1(HashAlgorithm::Sha256)
        );
        assert!(Scheme::from_algorithm(&alg(oids::RSA_ENCRYPTION), None).is_err());
        assert_eq!(
            Scheme::from_algorithm(&alg(oids::RSASSA_PSS), None).unwrap(),
            Scheme::RsaPss {
                hash: HashAlgorithm::Sha1,
                mgf_hash: HashAlgorithm::Sha1,
                salt_len: 20
            }
        );
        assert!(matches!(
            Scheme::from_algorithm(&alg(&[0x2A, 0x03]), None),
            Err(SignatureError::Unsupported(_))
        ));
    }
}

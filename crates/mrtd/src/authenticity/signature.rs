//! Signature verification for passive and active authentication: RSA PKCS#1 v1.5 and
//! RSASSA-PSS (RFC 8017) and ECDSA (X9.62 / BSI TR-03111) with SHA-1/224/256/384/512, on
//! `num-bigint` and this crate's curve arithmetic. Only public-key operations happen here,
//! so nothing needs to be constant time.

use num_bigint::BigUint;

use super::curves;
use super::der::{self, DerError, Element, Reader, tag};
use crate::ec::{Curve, Point};
use crate::lds::HashAlgorithm;
use crate::security_info::ObjectIdentifier;

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

/// Byte length of a hash output.
pub fn hash_len(hash: HashAlgorithm) -> usize {
    match hash {
        HashAlgorithm::Sha1 => 20,
        HashAlgorithm::Sha224 => 28,
        HashAlgorithm::Sha256 => 32,
        HashAlgorithm::Sha384 => 48,
        HashAlgorithm::Sha512 => 64,
    }
}

/// DER value of the hash algorithm's OID.
pub fn hash_oid(hash: HashAlgorithm) -> &'static [u8] {
    match hash {
        HashAlgorithm::Sha1 => &[0x2B, 0x0E, 0x03, 0x02, 0x1A],
        HashAlgorithm::Sha224 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04],
        HashAlgorithm::Sha256 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
        HashAlgorithm::Sha384 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
        HashAlgorithm::Sha512 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
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
    /// RSA modulus and public exponent.
    Rsa {
        /// Modulus.
        n: BigUint,
        /// Public exponent.
        e: BigUint,
    },
    /// An EC point on a named (or matched explicit) curve.
    Ec {
        /// The curve.
        curve: Curve,
        /// The public point.
        point: Point,
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
            let point = curve
                .decode(key)
                .map_err(|e| SignatureError::InvalidKey(format!("EC point: {e}")))?;
            return Ok(PublicKey::Ec { curve, point });
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
        let n = BigUint::from_bytes_be(der::unsigned_integer(&r.read()?, what)?);
        let e = BigUint::from_bytes_be(der::unsigned_integer(&r.read()?, what)?);
        r.finish()?;
        if n.bits() < 1000 || n.bits() > 8192 {
            return Err(SignatureError::InvalidKey(format!(
                "RSA modulus of {} bits",
                n.bits()
            )));
        }
        if e < BigUint::from(3u32) || !e.bit(0) || e.bits() > 64 {
            return Err(SignatureError::InvalidKey("RSA public exponent".into()));
        }
        Ok(PublicKey::Rsa { n, e })
    }

    /// `RSA-2048`, `ECDSA brainpoolP256r1`...
    pub fn describe(&self) -> String {
        match self {
            PublicKey::Rsa { n, .. } => format!("RSA-{}", n.bits()),
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
            (PublicKey::Rsa { n, e }, Scheme::RsaPkcs1(hash)) => {
                let em = rsa_public(n, e, signature)?;
                pkcs1_v15_matches(&em, hash, digest)
            }
            (
                PublicKey::Rsa { n, e },
                Scheme::RsaPss {
                    hash,
                    mgf_hash,
                    salt_len,
                },
            ) => {
                let em = rsa_public(n, e, signature)?;
                pss_matches(&em, n.bits(), hash, mgf_hash, salt_len, digest)
            }
            (PublicKey::Ec { curve, point }, Scheme::EcdsaDer(_)) => {
                let (r, s) = ecdsa_der_signature(signature)?;
                ecdsa_verify(curve, point, digest, &r, &s)
            }
            (PublicKey::Ec { curve, point }, Scheme::EcdsaPlain(_)) => {
                let (r, s) = ecdsa_plain_signature(curve, signature)?;
                ecdsa_verify(curve, point, digest, &r, &s)
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
pub fn ec_curve(params: &[u8]) -> Result<Curve, SignatureError> {
    let what = "EC parameters";
    let mut outer = Reader::new(params, what);
    let element = outer.read()?;
    outer.finish()?;
    match element.tag {
        tag::OID => {
            let oid = der::oid(&element, what)?;
            curves::by_oid(&oid)
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
            curves::by_parameters(p, a, b, gx, gy, n).ok_or_else(|| {
                SignatureError::Unsupported("explicit EC parameters of an unknown curve".into())
            })
        }
        tag::INTEGER => {
            let id = der::small_integer(&element, what)?;
            curves::by_standard_id(id)
                .ok_or_else(|| SignatureError::Unsupported(format!("domain parameter id {id}")))
        }
        _ => Err(SignatureError::Unsupported(
            "implicitCA EC parameters".into(),
        )),
    }
}

/// `s^e mod n` as a big-endian block of the modulus length.
fn rsa_public(n: &BigUint, e: &BigUint, signature: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let k = n.bits().div_ceil(8) as usize;
    if signature.len() != k {
        return Err(SignatureError::Invalid);
    }
    let s = BigUint::from_bytes_be(signature);
    if &s >= n {
        return Err(SignatureError::Invalid);
    }
    let m = s.modpow(e, n).to_bytes_be();
    let mut em = vec![0u8; k - m.len()];
    em.extend_from_slice(&m);
    Ok(em)
}

/// EMSA-PKCS1-v1_5 comparison; DigestInfo with or without the NULL parameters.
fn pkcs1_v15_matches(em: &[u8], hash: HashAlgorithm, digest: &[u8]) -> bool {
    let oid = der::encode(tag::OID, hash_oid(hash));
    let with_null = [oid.clone(), vec![tag::NULL, 0]].concat();
    [with_null, oid].iter().any(|alg| {
        let digest_info = der::encode(
            tag::SEQUENCE,
            &[
                der::encode(tag::SEQUENCE, alg),
                der::encode(tag::OCTET_STRING, digest),
            ]
            .concat(),
        );
        let Some(ps_len) = em.len().checked_sub(digest_info.len() + 3) else {
            return false;
        };
        if ps_len < 8 {
            return false;
        }
        let mut expected = vec![0x00, 0x01];
        expected.extend(std::iter::repeat_n(0xFF, ps_len));
        expected.push(0x00);
        expected.extend_from_slice(&digest_info);
        expected == em
    })
}

/// MGF1 (RFC 8017 B.2.1).
pub fn mgf1(hash: HashAlgorithm, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter = 0u32;
    while out.len() < len {
        out.extend(hash.digest(&[seed, &counter.to_be_bytes()].concat()));
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// EMSA-PSS-VERIFY (RFC 8017 9.1.2) on the `k`-byte block `em` of a `mod_bits` modulus.
fn pss_matches(
    em_full: &[u8],
    mod_bits: u64,
    hash: HashAlgorithm,
    mgf_hash: HashAlgorithm,
    salt_len: usize,
    digest: &[u8],
) -> bool {
    let em_bits = (mod_bits - 1) as usize;
    let em_len = em_bits.div_ceil(8);
    let Some(skip) = em_full.len().checked_sub(em_len) else {
        return false;
    };
    if em_full[..skip].iter().any(|&b| b != 0) {
        return false;
    }
    let em = &em_full[skip..];
    let h_len = hash_len(hash);
    let needed = salt_len.checked_add(h_len + 2);
    if digest.len() != h_len || needed.is_none_or(|n| em_len < n) || em.last() != Some(&0xBC) {
        return false;
    }
    let db_len = em_len - h_len - 1;
    let (masked_db, rest) = em.split_at(db_len);
    let h = &rest[..h_len];
    let top_bits = 8 * em_len - em_bits;
    let top_mask = 0xFFu8.checked_shr(top_bits as u32).unwrap_or(0);
    if masked_db.first().is_some_and(|b| b & !top_mask != 0) {
        return false;
    }
    let mut db: Vec<u8> = masked_db
        .iter()
        .zip(mgf1(mgf_hash, h, db_len))
        .map(|(a, b)| a ^ b)
        .collect();
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    let ps_len = db_len - salt_len - 1;
    if db[..ps_len].iter().any(|&b| b != 0) || db[ps_len] != 0x01 {
        return false;
    }
    let salt = &db[ps_len + 1..];
    let m_prime = [&[0u8; 8][..], digest, salt].concat();
    hash.digest(&m_prime) == h
}

fn ecdsa_der_signature(signature: &[u8]) -> Result<(BigUint, BigUint), SignatureError> {
    let what = "ECDSA signature";
    let seq =
        der::parse_exact(signature, tag::SEQUENCE, what).map_err(|_| SignatureError::Invalid)?;
    let mut r = seq.reader(what);
    let parse = |r: &mut Reader<'_>| -> Result<BigUint, SignatureError> {
        let e = r.read().map_err(|_| SignatureError::Invalid)?;
        Ok(BigUint::from_bytes_be(
            der::unsigned_integer(&e, what).map_err(|_| SignatureError::Invalid)?,
        ))
    };
    let (rr, s) = (parse(&mut r)?, parse(&mut r)?);
    r.finish().map_err(|_| SignatureError::Invalid)?;
    Ok((rr, s))
}

fn ecdsa_plain_signature(
    curve: &Curve,
    signature: &[u8],
) -> Result<(BigUint, BigUint), SignatureError> {
    let order_len = curve.order().bits().div_ceil(8) as usize;
    if signature.len() != 2 * order_len {
        return Err(SignatureError::Invalid);
    }
    let (r, s) = signature.split_at(order_len);
    Ok((BigUint::from_bytes_be(r), BigUint::from_bytes_be(s)))
}

/// ECDSA verification (X9.62, BSI TR-03111 4.2.1.2).
pub fn ecdsa_verify(curve: &Curve, q: &Point, digest: &[u8], r: &BigUint, s: &BigUint) -> bool {
    let n = curve.order();
    let zero = BigUint::ZERO;
    if *r == zero || *s == zero || r >= n || s >= n || !curve.is_on_curve(q) {
        return false;
    }
    let mut e = BigUint::from_bytes_be(digest);
    let digest_bits = (digest.len() * 8) as u64;
    if digest_bits > n.bits() {
        e >>= digest_bits - n.bits();
    }
    let w = s.modpow(&(n - 2u32), n);
    let u1 = (e * &w) % n;
    let u2 = (r * &w) % n;
    let x = curve.add(&curve.mul(&u1, curve.generator()), &curve.mul(&u2, q));
    match x {
        Point::Infinity => false,
        Point::Affine { x, .. } => (x % n) == *r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mgf1_known_answer() {
        // MGF1-SHA1("foo", 3) = 1ac907 (widely published test value).
        assert_eq!(mgf1(HashAlgorithm::Sha1, b"foo", 3), vec![0x1A, 0xC9, 0x07]);
        assert_eq!(
            mgf1(HashAlgorithm::Sha1, b"bar", 5),
            vec![0xBC, 0x0C, 0x65, 0x5E, 0x01]
        );
    }

    #[test]
    fn ecdsa_round_trip_with_own_signer() {
        // Sign with the textbook formula and verify; a flipped bit must fail.
        let curve = curves::by_standard_id(13).unwrap();
        let n = curve.order().clone();
        let d = curve.random_scalar().unwrap();
        let q = curve.mul(&d, curve.generator());
        let digest = HashAlgorithm::Sha256.digest(b"message");
        let e = BigUint::from_bytes_be(&digest);
        let k = curve.random_scalar().unwrap();
        let Point::Affine { x, .. } = curve.mul(&k, curve.generator()) else {
            panic!()
        };
        let r = x % &n;
        let s = (k.modpow(&(&n - 2u32), &n) * (e + &r * &d)) % &n;
        assert!(ecdsa_verify(&curve, &q, &digest, &r, &s));
        let other = HashAlgorithm::Sha256.digest(b"messagf");
        assert!(!ecdsa_verify(&curve, &q, &other, &r, &s));
        assert!(!ecdsa_verify(&curve, &q, &digest, &BigUint::ZERO, &s));
        assert!(!ecdsa_verify(&curve, &q, &digest, &r, &n));
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

//! Public-key signature verification over OpenSSL (the `openssl` crate, linking the system's
//! libssl 3; not vendored): the RSA public operation, RSASSA-PKCS1-v1_5 and RSASSA-PSS
//! (RFC 8017), and ECDSA (X9.62 / BSI TR-03111) on the NIST and brainpool curves that ICAO 9303
//! and BSI TR-03110 use.
//!
//! Callers ([`crate::authenticity::signature`], [`crate::authenticity::active`]) parse keys and
//! signatures with the crate's strict DER reader and choose the scheme from the algorithm
//! identifiers; everything with big integers or curve points happens here, in OpenSSL. Only
//! public keys and public data are involved, so no secret enters these operations.
//!
//! A verification answers `true` or `false`: a signature OpenSSL cannot even process (too
//! long, out of range) is simply not valid. Key construction returns [`KeyError`].

use std::fmt;

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::error::ErrorStack;
use openssl::md::{Md, MdRef};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::RsaPssSaltlen;

use crate::lds::HashAlgorithm;
use crate::tlv;

/// A public key OpenSSL refused to build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// OpenSSL rejected the key material (the message is OpenSSL's).
    #[error("{what} rejected by OpenSSL: {detail}")]
    Rejected {
        /// Which key or part (`RSA public key`, `EC point`...).
        what: &'static str,
        /// OpenSSL's error stack, as text.
        detail: String,
    },
}

fn rejected(what: &'static str) -> impl FnOnce(ErrorStack) -> KeyError {
    move |e| KeyError::Rejected {
        what,
        detail: e.to_string(),
    }
}

/// The curves a signature or key agreement key may use, by OpenSSL's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurveId {
    /// secp224r1 (NIST P-224).
    Secp224r1,
    /// secp256r1 (NIST P-256, prime256v1).
    Secp256r1,
    /// secp384r1 (NIST P-384).
    Secp384r1,
    /// secp521r1 (NIST P-521).
    Secp521r1,
    /// brainpoolP224r1 (RFC 5639).
    BrainpoolP224r1,
    /// brainpoolP256r1.
    BrainpoolP256r1,
    /// brainpoolP320r1.
    BrainpoolP320r1,
    /// brainpoolP384r1.
    BrainpoolP384r1,
    /// brainpoolP512r1.
    BrainpoolP512r1,
}

impl CurveId {
    /// OpenSSL's identifier of the curve.
    pub(crate) fn nid(self) -> Nid {
        match self {
            CurveId::Secp224r1 => Nid::SECP224R1,
            CurveId::Secp256r1 => Nid::X9_62_PRIME256V1,
            CurveId::Secp384r1 => Nid::SECP384R1,
            CurveId::Secp521r1 => Nid::SECP521R1,
            CurveId::BrainpoolP224r1 => Nid::BRAINPOOL_P224R1,
            CurveId::BrainpoolP256r1 => Nid::BRAINPOOL_P256R1,
            CurveId::BrainpoolP320r1 => Nid::BRAINPOOL_P320R1,
            CurveId::BrainpoolP384r1 => Nid::BRAINPOOL_P384R1,
            CurveId::BrainpoolP512r1 => Nid::BRAINPOOL_P512R1,
        }
    }
}

fn message_digest(hash: HashAlgorithm) -> &'static MdRef {
    match hash {
        HashAlgorithm::Sha1 => Md::sha1(),
        HashAlgorithm::Sha224 => Md::sha224(),
        HashAlgorithm::Sha256 => Md::sha256(),
        HashAlgorithm::Sha384 => Md::sha384(),
        HashAlgorithm::Sha512 => Md::sha512(),
    }
}

/// Drops whatever OpenSSL left on this thread's error queue after a refused verification,
/// so that it cannot be reported later as the cause of an unrelated failure.
fn clear_errors() {
    drop(ErrorStack::get());
}

/// An RSA public key.
#[derive(Clone)]
pub struct RsaPublicKey {
    key: PKey<Public>,
    rsa: Rsa<Public>,
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey(RSA-{})", self.bits())
    }
}

impl RsaPublicKey {
    /// The key with modulus `n` and public exponent `e` (big-endian magnitudes). Size and
    /// exponent policy is the caller's; OpenSSL refuses what it cannot use.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<RsaPublicKey, KeyError> {
        let n = BigNum::from_slice(n).map_err(rejected("RSA modulus"))?;
        let e = BigNum::from_slice(e).map_err(rejected("RSA public exponent"))?;
        let rsa = Rsa::from_public_components(n, e).map_err(rejected("RSA public key"))?;
        let key = PKey::from_rsa(rsa.clone()).map_err(rejected("RSA public key"))?;
        Ok(RsaPublicKey { key, rsa })
    }

    /// Modulus length in bits.
    pub fn bits(&self) -> u32 {
        self.rsa.n().num_bits().unsigned_abs()
    }

    /// Modulus length in bytes (the signature length).
    pub fn size(&self) -> usize {
        self.rsa.size() as usize
    }

    /// The RSA public operation `s^e mod n` on a signature of the modulus length, as a block
    /// of the modulus length (for ISO/IEC 9796-2 message recovery). `None` if the signature
    /// has another length or is not below the modulus.
    pub fn public_operation(&self, signature: &[u8]) -> Option<Vec<u8>> {
        let k = self.size();
        if signature.len() != k {
            return None;
        }
        let mut out = vec![0u8; k];
        match self.rsa.public_decrypt(signature, &mut out, Padding::NONE) {
            Ok(len) if len == k => Some(out),
            Ok(_) => None,
            Err(_) => {
                clear_errors();
                None
            }
        }
    }

    /// RSASSA-PKCS1-v1_5 over the message hash `digest`. The DigestInfo is accepted with the
    /// NULL parameters (RFC 8017) and, as RFC 8017 section 9.2 note 2 allows, without them.
    pub fn verify_pkcs1_v15(&self, hash: HashAlgorithm, digest: &[u8], signature: &[u8]) -> bool {
        if signature.len() != self.size() || digest.len() != hash_len(hash) {
            return false;
        }
        let verified = (|| -> Result<bool, ErrorStack> {
            let mut ctx = PkeyCtx::new(&self.key)?;
            ctx.verify_init()?;
            ctx.set_rsa_padding(Padding::PKCS1)?;
            ctx.set_signature_md(message_digest(hash))?;
            ctx.verify(digest, signature)
        })();
        match verified {
            Ok(true) => true,
            _ => {
                clear_errors();
                self.pkcs1_v15_without_null(hash, digest, signature)
            }
        }
    }

    /// The DigestInfo recovered through OpenSSL's PKCS#1 type 1 padding check, compared with
    /// `SEQUENCE { SEQUENCE { hash OID }, OCTET STRING digest }` (no NULL parameters).
    fn pkcs1_v15_without_null(&self, hash: HashAlgorithm, digest: &[u8], signature: &[u8]) -> bool {
        let mut out = vec![0u8; self.size()];
        let Ok(len) = self.rsa.public_decrypt(signature, &mut out, Padding::PKCS1) else {
            clear_errors();
            return false;
        };
        let algorithm = tlv::encode(0x30, &tlv::encode(0x06, hash_oid(hash)));
        let expected = tlv::encode(0x30, &[algorithm, tlv::encode(0x04, digest)].concat());
        out.get(..len) == Some(expected.as_slice())
    }

    /// RSASSA-PSS over the message hash `digest`, MGF1 with `mgf_hash`, salt of exactly
    /// `salt_len` bytes, trailer field 0xBC.
    pub fn verify_pss(
        &self,
        hash: HashAlgorithm,
        mgf_hash: HashAlgorithm,
        salt_len: usize,
        digest: &[u8],
        signature: &[u8],
    ) -> bool {
        let Ok(salt_len) = i32::try_from(salt_len) else {
            return false;
        };
        if signature.len() != self.size() || digest.len() != hash_len(hash) {
            return false;
        }
        let verified = (|| -> Result<bool, ErrorStack> {
            let mut ctx = PkeyCtx::new(&self.key)?;
            ctx.verify_init()?;
            ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
            ctx.set_signature_md(message_digest(hash))?;
            ctx.set_rsa_mgf1_md(message_digest(mgf_hash))?;
            ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt_len))?;
            ctx.verify(digest, signature)
        })();
        match verified {
            Ok(ok) => ok,
            Err(_) => {
                clear_errors();
                false
            }
        }
    }
}

/// An EC public key on one of the [`CurveId`] curves.
#[derive(Clone)]
pub struct EcPublicKey {
    curve: CurveId,
    key: EcKey<Public>,
}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublicKey({:?})", self.curve)
    }
}

impl EcPublicKey {
    /// The point `encoded` (SEC 1 octet string) on `curve`; OpenSSL refuses a point that is not
    /// on the curve.
    pub fn from_point(curve: CurveId, encoded: &[u8]) -> Result<EcPublicKey, KeyError> {
        let group = EcGroup::from_curve_name(curve.nid()).map_err(rejected("EC curve"))?;
        let mut ctx = openssl::bn::BigNumContext::new().map_err(rejected("EC point"))?;
        let point = EcPoint::from_bytes(&group, encoded, &mut ctx).map_err(rejected("EC point"))?;
        let key = EcKey::from_public_key(&group, &point).map_err(rejected("EC public key"))?;
        Ok(EcPublicKey { curve, key })
    }

    /// The curve.
    pub fn curve(&self) -> CurveId {
        self.curve
    }

    /// ECDSA over the message hash `digest` (truncated to the order's length as X9.62 says)
    /// with the signature values `r` and `s` (big-endian magnitudes). Values outside `1..n`
    /// do not verify.
    pub fn verify_ecdsa(&self, digest: &[u8], r: &[u8], s: &[u8]) -> bool {
        let verified = (|| -> Result<bool, ErrorStack> {
            let signature =
                EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
            signature.verify(digest, &self.key)
        })();
        match verified {
            Ok(true) => true,
            _ => {
                clear_errors();
                false
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_curve_is_known_to_openssl() {
        for curve in [
            CurveId::Secp224r1,
            CurveId::Secp256r1,
            CurveId::Secp384r1,
            CurveId::Secp521r1,
            CurveId::BrainpoolP224r1,
            CurveId::BrainpoolP256r1,
            CurveId::BrainpoolP320r1,
            CurveId::BrainpoolP384r1,
            CurveId::BrainpoolP512r1,
        ] {
            assert!(EcGroup::from_curve_name(curve.nid()).is_ok(), "{curve:?}");
        }
    }

    #[test]
    fn a_point_off_the_curve_is_refused() {
        // The P-256 generator with its last byte changed.
        let mut g = hex::decode(
            "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296\
             4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
        )
        .unwrap();
        assert!(EcPublicKey::from_point(CurveId::Secp256r1, &g).is_ok());
        let last = g.len() - 1;
        g[last] ^= 1;
        assert!(matches!(
            EcPublicKey::from_point(CurveId::Secp256r1, &g),
            Err(KeyError::Rejected {
                what: "EC point",
                ..
            })
        ));
    }

    #[test]
    fn rsa_public_operation_needs_the_modulus_length() {
        // n = 2^1024 - 159 is not a real modulus but OpenSSL only computes with it.
        let mut n = vec![0xFF; 128];
        n[127] = 0x61;
        let key = RsaPublicKey::from_components(&n, &[1, 0, 1]).unwrap();
        assert_eq!(key.bits(), 1024);
        assert_eq!(key.public_operation(&[0; 128]), Some(vec![0; 128]));
        let mut one = vec![0; 128];
        one[127] = 1;
        assert_eq!(key.public_operation(&one), Some(one.clone()));
        assert_eq!(key.public_operation(&one[1..]), None);
        assert_eq!(
            key.public_operation(&[0xFF; 128]),
            None,
            "above the modulus"
        );
        assert!(!key.verify_pkcs1_v15(HashAlgorithm::Sha256, &[0; 32], &one));
    }
}

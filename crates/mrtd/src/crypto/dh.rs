//! Finite-field Diffie-Hellman over OpenSSL, for Chip Authentication with DH keys (explicit
//! X9.42 domain parameters `p`, `g`, `q` from DG14) and PACE on the standardised DH groups
//! (RFC 5114: [`DhGroup::rfc5114_1024_160`], [`DhGroup::rfc5114_2048_224`],
//! [`DhGroup::rfc5114_2048_256`]), whose Generic and Integrated Mappings need group elements
//! other than `g` ([`DhElement`]).
//!
//! The exponentiation with the private exponent is OpenSSL's constant-time one (the exponent
//! carries `BN_FLG_CONSTTIME`, so `BN_mod_exp` takes `BN_mod_exp_mont_consttime`); private
//! exponents are cleared when dropped. Public values are checked to lie in `2..p-1` and, when
//! the subgroup order is given, in that subgroup.

use std::fmt;

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::dh::Dh;
use openssl::error::ErrorStack;

/// A DH failure: OpenSSL's message, or a public value outside the group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DhError {
    /// A peer (or the group's own) public value outside `2..p-1` or the subgroup.
    #[error("DH public value out of the group")]
    OutOfGroup,
    /// OpenSSL failed (allocation, random generation).
    #[error("OpenSSL: {0}")]
    Library(String),
}

impl From<ErrorStack> for DhError {
    fn from(e: ErrorStack) -> Self {
        DhError::Library(e.to_string())
    }
}

/// A private exponent: constant-time flag set, cleared on drop.
pub struct DhSecret(BigNum);

impl Drop for DhSecret {
    fn drop(&mut self) {
        self.0.clear();
    }
}

impl fmt::Debug for DhSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DhSecret(..)")
    }
}

/// An element of a DH group (a public value, or a mapped generator). Its computation from
/// secrets is constant time; the value is cleared on drop (a mapped generator depends on the
/// PACE nonce).
pub struct DhElement(BigNum);

impl Drop for DhElement {
    fn drop(&mut self) {
        self.0.clear();
    }
}

impl fmt::Debug for DhElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DhElement(..)")
    }
}

/// A DH group: prime `p`, generator `g`, optional subgroup order `q`.
pub struct DhGroup {
    p: BigNum,
    g: BigNum,
    q: Option<BigNum>,
    len: usize,
}

impl fmt::Debug for DhGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DhGroup({} bits)", self.p.num_bits())
    }
}

fn secret(value: BigNum) -> DhSecret {
    let mut value = value;
    value.set_const_time();
    DhSecret(value)
}

impl DhGroup {
    /// The group of the big-endian magnitudes `p`, `g` and `q`.
    pub fn new(p: &[u8], g: &[u8], q: Option<&[u8]>) -> Result<DhGroup, DhError> {
        let p = BigNum::from_slice(p)?;
        let len = usize::try_from(p.num_bits()).unwrap_or(0).div_ceil(8);
        Ok(DhGroup {
            p,
            g: BigNum::from_slice(g)?,
            q: q.map(BigNum::from_slice).transpose()?,
            len,
        })
    }

    fn from_openssl(dh: &Dh<openssl::pkey::Params>) -> Result<DhGroup, DhError> {
        let q = dh.prime_q().map(|q| q.to_vec());
        DhGroup::new(
            &dh.prime_p().to_vec(),
            &dh.generator().to_vec(),
            q.as_deref(),
        )
    }

    /// RFC 5114 2.1: the 1024-bit MODP group with a 160-bit prime order subgroup (ICAO PACE
    /// standardised domain parameters id 0), OpenSSL's copy.
    pub fn rfc5114_1024_160() -> Result<DhGroup, DhError> {
        Self::from_openssl(&Dh::get_1024_160()?)
    }

    /// RFC 5114 2.2: the 2048-bit MODP group with a 224-bit prime order subgroup (id 1).
    pub fn rfc5114_2048_224() -> Result<DhGroup, DhError> {
        Self::from_openssl(&Dh::get_2048_224()?)
    }

    /// RFC 5114 2.3: the 2048-bit MODP group with a 256-bit prime order subgroup (id 2).
    pub fn rfc5114_2048_256() -> Result<DhGroup, DhError> {
        Self::from_openssl(&Dh::get_2048_256()?)
    }

    /// The domain parameters `p`, `g` and `q` (big-endian magnitudes), e.g. to publish them
    /// as X9.42 DomainParameters.
    pub fn parameters(&self) -> (Vec<u8>, Vec<u8>, Option<Vec<u8>>) {
        (
            self.p.to_vec(),
            self.g.to_vec(),
            self.q.as_ref().map(|q| q.to_vec()),
        )
    }

    /// Bit length of the modulus `p`.
    pub fn modulus_bits(&self) -> usize {
        usize::try_from(self.p.num_bits()).unwrap_or(0)
    }

    /// The generator `g`.
    pub fn generator(&self) -> Result<DhElement, DhError> {
        Ok(DhElement(self.g.to_owned()?))
    }

    /// Decodes a peer's element (big-endian) and checks it: `1 < v < p - 1` and, with `q`,
    /// in the subgroup of order `q`.
    pub fn decode(&self, bytes: &[u8]) -> Result<DhElement, DhError> {
        let v = BigNum::from_slice(bytes)?;
        self.check(&v)?;
        Ok(DhElement(v))
    }

    /// An element big-endian, of the modulus length.
    pub fn encode(&self, e: &DhElement) -> Result<Vec<u8>, DhError> {
        Ok(e.0.to_vec_padded(i32::try_from(self.len).unwrap_or(i32::MAX))?)
    }

    /// `base^x mod p` (constant time in `x`).
    pub fn pow(&self, base: &DhElement, x: &DhSecret) -> Result<DhElement, DhError> {
        let mut ctx = BigNumContext::new()?;
        let mut r = BigNum::new()?;
        r.set_const_time();
        r.mod_exp(&base.0, &x.0, &self.p, &mut ctx)?;
        Ok(DhElement(r))
    }

    /// `a * b mod p`.
    pub fn mul(&self, a: &DhElement, b: &DhElement) -> Result<DhElement, DhError> {
        let mut ctx = BigNumContext::new()?;
        let mut r = BigNum::new()?;
        r.set_const_time();
        r.mod_mul(&a.0, &b.0, &self.p, &mut ctx)?;
        Ok(DhElement(r))
    }

    /// Whether `e` is 1 (a degenerate mapped generator or shared value).
    pub fn is_one(&self, e: &DhElement) -> bool {
        e.0.num_bits() == 1 && !e.0.is_negative()
    }

    /// Whether two elements are equal.
    pub fn equal(&self, a: &DhElement, b: &DhElement) -> bool {
        a.0 == b.0
    }

    /// `x^((p-1)/q) mod p` for `x` big-endian (reduced modulo `p` first): PACE Integrated
    /// Mapping's `f_g` (ICAO 9303-11 4.4.3.3.2). `x` is secret (it comes from the nonce):
    /// the base carries `BN_FLG_CONSTTIME`, so OpenSSL exponentiates in constant time.
    /// Without `q` the group has no cofactor to raise to.
    pub fn map_to_subgroup(&self, x: &[u8]) -> Result<DhElement, DhError> {
        let q = self.q.as_ref().ok_or(DhError::OutOfGroup)?;
        let mut ctx = BigNumContext::new()?;
        let mut value = BigNum::from_slice(x)?;
        value.set_const_time();
        let mut reduced = BigNum::new()?;
        reduced.set_const_time();
        reduced.nnmod(&value, &self.p, &mut ctx)?;
        value.clear();
        let mut p_minus_1 = self.p.to_owned()?;
        p_minus_1.sub_word(1)?;
        let mut cofactor = BigNum::new()?;
        cofactor.checked_div(&p_minus_1, q, &mut ctx)?;
        let mut r = BigNum::new()?;
        r.set_const_time();
        r.mod_exp(&reduced, &cofactor, &self.p, &mut ctx)?;
        reduced.clear();
        Ok(DhElement(r))
    }

    /// Byte length of the modulus (of encoded public values and the shared secret).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero modulus (never for a usable group).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A private exponent from big-endian bytes (test doubles with a fixed key).
    pub fn secret_from_bytes(&self, bytes: &[u8]) -> Result<DhSecret, DhError> {
        Ok(secret(BigNum::from_slice(bytes)?))
    }

    /// A uniformly random private exponent in `1..q` (or `1..p-1` without `q`).
    pub fn random_secret(&self) -> Result<DhSecret, DhError> {
        let mut bound = match &self.q {
            Some(q) => BigNumRef::to_owned(q)?,
            None => {
                let mut b = self.p.to_owned()?;
                b.sub_word(1)?;
                b
            }
        };
        bound.sub_word(1)?;
        let mut x = BigNum::new()?;
        x.set_const_time();
        bound.rand_range(&mut x)?;
        x.add_word(1)?;
        Ok(secret(x))
    }

    /// Whether `v` (big-endian) is a valid public value: `1 < v < p - 1` and, with `q`,
    /// `v^q = 1 mod p`.
    pub fn check_public(&self, v: &[u8]) -> Result<(), DhError> {
        let v = BigNum::from_slice(v)?;
        self.check(&v)
    }

    fn check(&self, v: &BigNumRef) -> Result<(), DhError> {
        let one = BigNum::from_u32(1)?;
        let mut p_minus_1 = self.p.to_owned()?;
        p_minus_1.sub_word(1)?;
        if v <= &*one || v >= &*p_minus_1 {
            return Err(DhError::OutOfGroup);
        }
        if let Some(q) = &self.q {
            let mut ctx = BigNumContext::new()?;
            let mut r = BigNum::new()?;
            r.mod_exp(v, q, &self.p, &mut ctx)?;
            if r != one {
                return Err(DhError::OutOfGroup);
            }
        }
        Ok(())
    }

    /// `g^x mod p`, big-endian of the modulus length.
    pub fn public_value(&self, x: &DhSecret) -> Result<Vec<u8>, DhError> {
        self.power(&self.g, x)
    }

    /// `peer^x mod p` (the shared secret), big-endian of the modulus length; the peer value
    /// is checked first.
    pub fn shared_secret(&self, x: &DhSecret, peer: &[u8]) -> Result<Vec<u8>, DhError> {
        let peer = BigNum::from_slice(peer)?;
        self.check(&peer)?;
        self.power(&peer, x)
    }

    fn power(&self, base: &BigNumRef, x: &DhSecret) -> Result<Vec<u8>, DhError> {
        let mut ctx = BigNumContext::new()?;
        let mut r = BigNum::new()?;
        r.set_const_time();
        r.mod_exp(base, &x.0, &self.p, &mut ctx)?;
        let len = i32::try_from(self.len).unwrap_or(i32::MAX);
        let out = r.to_vec_padded(len)?;
        r.clear();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_and_bad_public_values_are_refused() {
        // p = 2q + 1 with q = 1019 (both prime); g = 4 generates the subgroup of order q.
        let p = 2039u32.to_be_bytes();
        let group = DhGroup::new(&p, &[4], Some(&1019u32.to_be_bytes())).unwrap();
        assert_eq!(group.len(), 2);
        let (a, b) = (
            group.random_secret().unwrap(),
            group.random_secret().unwrap(),
        );
        let (pa, pb) = (
            group.public_value(&a).unwrap(),
            group.public_value(&b).unwrap(),
        );
        group.check_public(&pa).unwrap();
        assert_eq!(
            group.shared_secret(&a, &pb).unwrap(),
            group.shared_secret(&b, &pa).unwrap()
        );
        // 4^3 mod 2039 = 64.
        let three = group.secret_from_bytes(&[3]).unwrap();
        assert_eq!(group.public_value(&three).unwrap(), vec![0, 64]);
        for bad in [&[1u8][..], &[0x07, 0xF6], &[0x07, 0xF7], &[7]] {
            // 1, p - 1, p, and 7 (a non-residue: not in the subgroup of order q).
            assert_eq!(group.check_public(bad), Err(DhError::OutOfGroup), "{bad:?}");
        }
    }
}

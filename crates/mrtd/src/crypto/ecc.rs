//! Elliptic-curve arithmetic with secret scalars over OpenSSL, for PACE (Generic Mapping,
//! Integrated Mapping's point encoding, key agreement, Chip Authentication Mapping).
//!
//! PACE needs what ordinary ECDH APIs do not offer: scalar multiplication of an arbitrary
//! (mapped) generator, and point addition. Constant time: every multiplication by a secret has
//! a single term (`k * G` or `k * P`, never `a * G + b * P`), which OpenSSL computes with its
//! Montgomery ladder (or its constant-time P-256 code); secret scalars carry
//! `BN_FLG_CONSTTIME` (modular reduction and inversion take OpenSSL's constant-time paths) and
//! are cleared when dropped. Points are public values: decoding (with the on-curve check),
//! addition and comparison need no protection.

use std::fmt;

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcPoint, PointConversionForm};
use openssl::error::ErrorStack;
use openssl::nid::Nid;

use super::verify::CurveId;

/// Errors of point decoding and curve arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcError {
    /// A point encoding that is not `04 || X || Y` of the curve's length.
    #[error("point encoding of {len} bytes is not uncompressed for this curve")]
    Encoding {
        /// Encoding length.
        len: usize,
    },
    /// A point that does not lie on the curve.
    #[error("point is not on the curve")]
    NotOnCurve,
    /// A computation produced the point at infinity where a finite point is required.
    #[error("result is the point at infinity")]
    Infinity,
    /// OpenSSL failed (allocation, random generation); its message.
    #[error("OpenSSL: {0}")]
    Library(String),
}

impl From<ErrorStack> for EcError {
    fn from(e: ErrorStack) -> Self {
        EcError::Library(e.to_string())
    }
}

/// A secret scalar modulo the group order: constant-time flag set, cleared on drop.
pub struct Scalar(BigNum);

impl Drop for Scalar {
    fn drop(&mut self) {
        self.0.clear();
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scalar(..)")
    }
}

/// A point of the curve (never the point at infinity when it comes from this module's
/// decoding; arithmetic results are checked by the callers that need a finite point).
pub struct Point(EcPoint);

impl fmt::Debug for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Point(..)")
    }
}

/// A named prime curve with OpenSSL's arithmetic.
pub struct EcCurve {
    nid: Nid,
    group: EcGroup,
    order: BigNum,
    field_len: usize,
}

impl fmt::Debug for EcCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcCurve({})", self.nid.short_name().unwrap_or("?"))
    }
}

/// The 192-bit curves ICAO 9303-11 standardises for PACE only (domain parameter ids 8 and
/// 9); signature verification does not accept them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceOnlyCurve {
    /// secp192r1 (NIST P-192, prime192v1), id 8.
    Secp192r1,
    /// brainpoolP192r1, id 9.
    BrainpoolP192r1,
}

impl EcCurve {
    /// The curve `curve`.
    pub fn new(curve: CurveId) -> Result<EcCurve, EcError> {
        Self::with_nid(curve.nid())
    }

    /// A 192-bit PACE curve.
    pub fn pace_only(curve: PaceOnlyCurve) -> Result<EcCurve, EcError> {
        Self::with_nid(match curve {
            PaceOnlyCurve::Secp192r1 => Nid::X9_62_PRIME192V1,
            PaceOnlyCurve::BrainpoolP192r1 => Nid::BRAINPOOL_P192R1,
        })
    }

    fn with_nid(nid: Nid) -> Result<EcCurve, EcError> {
        let group = EcGroup::from_curve_name(nid)?;
        let mut ctx = BigNumContext::new()?;
        let mut order = BigNum::new()?;
        group.order(&mut order, &mut ctx)?;
        let field_len = (group.degree() as usize).div_ceil(8);
        Ok(EcCurve {
            nid,
            group,
            order,
            field_len,
        })
    }

    /// Bit length of the field prime.
    pub fn field_bits(&self) -> usize {
        usize::try_from(self.group.degree()).unwrap_or(0)
    }

    /// PACE Integrated Mapping's point encoding `f_G` (ICAO 9303-11 4.4.3.3.2 and Appendix
    /// B.2: the affine version, for `p = 3 mod 4`, of Brier et al., "Efficient
    /// indifferentiable hashing into ordinary elliptic curves", 2010): maps the field element
    /// `t` (big-endian, reduced modulo `p` here) to a point of the curve. `t` is secret (it
    /// comes from the nonce): every value derived from it carries `BN_FLG_CONSTTIME` (the
    /// exponentiations by public exponents take OpenSSL's constant-time path), both candidate
    /// points are computed, and the choice between them is a constant-time byte select.
    /// Curves with `p = 1 mod 4` (secp224r1) are refused ([`EcError::Library`]).
    pub fn map_field_element(&self, t: &[u8]) -> Result<Point, EcError> {
        let mut ctx = BigNumContext::new()?;
        let (mut p, mut a, mut b) = (BigNum::new()?, BigNum::new()?, BigNum::new()?);
        self.group
            .components_gfp(&mut p, &mut a, &mut b, &mut ctx)?;
        if !p.is_bit_set(0) || !p.is_bit_set(1) {
            return Err(EcError::Library(
                "Integrated Mapping's point encoding needs p = 3 mod 4".into(),
            ));
        }
        let secret = || -> Result<BigNum, ErrorStack> {
            let mut v = BigNum::new()?;
            v.set_const_time();
            Ok(v)
        };
        let mut raw = BigNum::from_slice(t)?;
        raw.set_const_time();
        let mut t = secret()?;
        t.nnmod(&raw, &p, &mut ctx)?;
        raw.clear();
        // p - 2 (inversion by Fermat) and p - 1 - (p + 1) / 4 (the square-root exponent).
        let mut p_minus_2 = p.to_owned()?;
        p_minus_2.sub_word(2)?;
        let mut sqrt_exponent = p.to_owned()?;
        sqrt_exponent.add_word(1)?;
        let mut quarter = BigNum::new()?;
        quarter.rshift(&sqrt_exponent, 2)?;
        let mut p_minus_1 = p.to_owned()?;
        p_minus_1.sub_word(1)?;
        sqrt_exponent.checked_sub(&p_minus_1, &quarter)?;
        let three = BigNum::from_u32(3)?;
        let one = BigNum::from_u32(1)?;

        // 1. alpha = -t^2 mod p
        let mut t2 = secret()?;
        t2.mod_sqr(&t, &p, &mut ctx)?;
        let mut alpha = secret()?;
        alpha.mod_sub(&p, &t2, &p, &mut ctx)?;
        // 2. X2 = -b (1 + alpha + alpha^2) (a (alpha + alpha^2))^(p-2) mod p
        let mut alpha2 = secret()?;
        alpha2.mod_sqr(&alpha, &p, &mut ctx)?;
        let mut sum = secret()?;
        sum.mod_add(&alpha, &alpha2, &p, &mut ctx)?;
        let mut one_plus = secret()?;
        one_plus.mod_add(&sum, &one, &p, &mut ctx)?;
        let mut a_sum = secret()?;
        a_sum.mod_mul(&a, &sum, &p, &mut ctx)?;
        let mut inverse = secret()?;
        inverse.mod_exp(&a_sum, &p_minus_2, &p, &mut ctx)?;
        let mut minus_b = BigNum::new()?;
        minus_b.mod_sub(&p, &b, &p, &mut ctx)?;
        let mut x2 = secret()?;
        x2.mod_mul(&minus_b, &one_plus, &p, &mut ctx)?;
        let mut x2_final = secret()?;
        x2_final.mod_mul(&x2, &inverse, &p, &mut ctx)?;
        let x2 = x2_final;
        // 3. X3 = alpha X2 mod p
        let mut x3 = secret()?;
        x3.mod_mul(&alpha, &x2, &p, &mut ctx)?;
        // 4. h2 = X2^3 + a X2 + b mod p
        let mut x2_cubed = secret()?;
        x2_cubed.mod_exp(&x2, &three, &p, &mut ctx)?;
        let mut a_x2 = secret()?;
        a_x2.mod_mul(&a, &x2, &p, &mut ctx)?;
        let mut h2 = secret()?;
        h2.mod_add(&x2_cubed, &a_x2, &p, &mut ctx)?;
        let mut h2_final = secret()?;
        h2_final.mod_add(&h2, &b, &p, &mut ctx)?;
        let h2 = h2_final;
        // 6. U = t^3 h2 mod p
        let mut t3 = secret()?;
        t3.mod_exp(&t, &three, &p, &mut ctx)?;
        let mut u = secret()?;
        u.mod_mul(&t3, &h2, &p, &mut ctx)?;
        // 7. A = h2^(p - 1 - (p + 1) / 4) mod p
        let mut big_a = secret()?;
        big_a.mod_exp(&h2, &sqrt_exponent, &p, &mut ctx)?;
        // 8./9. (X2, A h2) if A^2 h2 = 1, else (X3, A U)
        let mut check = secret()?;
        check.mod_sqr(&big_a, &p, &mut ctx)?;
        let mut check_final = secret()?;
        check_final.mod_mul(&check, &h2, &p, &mut ctx)?;
        let mut y2 = secret()?;
        y2.mod_mul(&big_a, &h2, &p, &mut ctx)?;
        let mut y3 = secret()?;
        y3.mod_mul(&big_a, &u, &p, &mut ctx)?;
        let len = self.len_i32();
        let first =
            zeroize::Zeroizing::new([x2.to_vec_padded(len)?, y2.to_vec_padded(len)?].concat());
        let second =
            zeroize::Zeroizing::new([x3.to_vec_padded(len)?, y3.to_vec_padded(len)?].concat());
        let one_bytes = one.to_vec_padded(len)?;
        let check_bytes = zeroize::Zeroizing::new(check_final.to_vec_padded(len)?);
        let differs = check_bytes
            .iter()
            .zip(&one_bytes)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y));
        // mask = 0xFF when A^2 h2 = 1 (take the first candidate), 0x00 otherwise.
        let mask = (u16::from(differs).wrapping_sub(1) >> 8) as u8;
        let mut encoded = zeroize::Zeroizing::new(vec![0x04]);
        encoded.extend(
            first
                .iter()
                .zip(second.iter())
                .map(|(f, s)| (f & mask) | (s & !mask)),
        );
        for v in [
            &mut t,
            &mut t2,
            &mut alpha,
            &mut alpha2,
            &mut sum,
            &mut big_a,
            &mut y2,
            &mut y3,
            &mut u,
        ] {
            v.clear();
        }
        let point = EcPoint::from_bytes(&self.group, &encoded, &mut ctx)
            .map_err(|_| EcError::NotOnCurve)?;
        // 10. [f](x, y): every standardised PACE curve has cofactor 1.
        let mut cofactor = BigNum::new()?;
        self.group.cofactor(&mut cofactor, &mut ctx)?;
        if cofactor != one {
            let mut out = EcPoint::new(&self.group)?;
            out.mul2(&self.group, &point, &cofactor, &mut ctx)?;
            return Ok(Point(out));
        }
        Ok(Point(point))
    }

    /// Byte length of a field element.
    pub fn field_len(&self) -> usize {
        self.field_len
    }

    /// The scalar `bytes` (big-endian) reduced modulo the group order.
    pub fn scalar_from_bytes(&self, bytes: &[u8]) -> Result<Scalar, EcError> {
        let mut value = BigNum::from_slice(bytes)?;
        value.set_const_time();
        let mut reduced = BigNum::new()?;
        reduced.set_const_time();
        let mut ctx = BigNumContext::new()?;
        reduced.nnmod(&value, &self.order, &mut ctx)?;
        value.clear();
        Ok(Scalar(reduced))
    }

    /// A uniformly random scalar in `1..n` (OpenSSL's DRBG).
    pub fn random_scalar(&self) -> Result<Scalar, EcError> {
        let mut range = self.order.to_owned()?;
        range.sub_word(1)?;
        let mut k = BigNum::new()?;
        k.set_const_time();
        range.rand_range(&mut k)?;
        k.add_word(1)?;
        Ok(Scalar(k))
    }

    /// `k * G`.
    pub fn mul_generator(&self, k: &Scalar) -> Result<Point, EcError> {
        let mut ctx = BigNumContext::new()?;
        let mut out = EcPoint::new(&self.group)?;
        out.mul_generator2(&self.group, &k.0, &mut ctx)?;
        Ok(Point(out))
    }

    /// `k * P`.
    pub fn mul(&self, k: &Scalar, p: &Point) -> Result<Point, EcError> {
        let mut ctx = BigNumContext::new()?;
        let mut out = EcPoint::new(&self.group)?;
        out.mul2(&self.group, &p.0, &k.0, &mut ctx)?;
        Ok(Point(out))
    }

    /// `P + Q`.
    pub fn add(&self, p: &Point, q: &Point) -> Result<Point, EcError> {
        let mut ctx = BigNumContext::new()?;
        let mut out = EcPoint::new(&self.group)?;
        out.add(&self.group, &p.0, &q.0, &mut ctx)?;
        Ok(Point(out))
    }

    /// Whether `p` is the point at infinity.
    pub fn is_infinity(&self, p: &Point) -> bool {
        p.0.is_infinity(&self.group)
    }

    /// Whether `p == q`.
    pub fn equal(&self, p: &Point, q: &Point) -> Result<bool, EcError> {
        let mut ctx = BigNumContext::new()?;
        Ok(p.0.eq(&self.group, &q.0, &mut ctx)?)
    }

    /// Decodes an uncompressed point `04 || X || Y` and checks that it is on the curve.
    pub fn decode(&self, bytes: &[u8]) -> Result<Point, EcError> {
        if bytes.len() != 1 + 2 * self.field_len || bytes[0] != 0x04 {
            return Err(EcError::Encoding { len: bytes.len() });
        }
        let mut ctx = BigNumContext::new()?;
        EcPoint::from_bytes(&self.group, bytes, &mut ctx)
            .map(Point)
            .map_err(|_| EcError::NotOnCurve)
    }

    /// The uncompressed encoding `04 || X || Y`; the point at infinity has none.
    pub fn encode(&self, p: &Point) -> Result<Vec<u8>, EcError> {
        if self.is_infinity(p) {
            return Err(EcError::Infinity);
        }
        let mut ctx = BigNumContext::new()?;
        Ok(p.0.to_bytes(&self.group, PointConversionForm::UNCOMPRESSED, &mut ctx)?)
    }

    /// The x coordinate, as a field element of the field length.
    pub fn x_coordinate(&self, p: &Point) -> Result<Vec<u8>, EcError> {
        if self.is_infinity(p) {
            return Err(EcError::Infinity);
        }
        let mut ctx = BigNumContext::new()?;
        let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
        p.0.affine_coordinates(&self.group, &mut x, &mut y, &mut ctx)?;
        Ok(x.to_vec_padded(self.len_i32())?)
    }

    /// `a * b^-1 mod n` (Chip Authentication Mapping, chip side); `b` must not be zero.
    pub fn mul_inverse(&self, a: &Scalar, b: &Scalar) -> Result<Scalar, EcError> {
        let mut ctx = BigNumContext::new()?;
        let mut inverse = BigNum::new()?;
        inverse.set_const_time();
        inverse.mod_inverse(&b.0, &self.order, &mut ctx)?;
        let mut out = BigNum::new()?;
        out.set_const_time();
        out.mod_mul(&a.0, &inverse, &self.order, &mut ctx)?;
        inverse.clear();
        Ok(Scalar(out))
    }

    /// A scalar as big-endian bytes of the field length.
    pub fn scalar_bytes(&self, k: &Scalar) -> Result<Vec<u8>, EcError> {
        Ok(k.0.to_vec_padded(self.len_i32())?)
    }

    fn len_i32(&self) -> i32 {
        i32::try_from(self.field_len).unwrap_or(i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_times_order_minus_one_is_minus_generator() {
        for curve in [
            CurveId::Secp256r1,
            CurveId::BrainpoolP256r1,
            CurveId::Secp384r1,
            CurveId::BrainpoolP384r1,
            CurveId::BrainpoolP512r1,
            CurveId::Secp521r1,
        ] {
            let c = EcCurve::new(curve).unwrap();
            let one = c.scalar_from_bytes(&[1]).unwrap();
            let g = c.mul_generator(&one).unwrap();
            let mut n_minus_1 = c.order.to_owned().unwrap();
            n_minus_1.sub_word(1).unwrap();
            let minus_one = c.scalar_from_bytes(&n_minus_1.to_vec()).unwrap();
            let minus_g = c.mul(&minus_one, &g).unwrap();
            assert!(c.is_infinity(&c.add(&g, &minus_g).unwrap()), "{curve:?}");
            // Reduction modulo n: n + 1 is 1.
            let mut n_plus_1 = c.order.to_owned().unwrap();
            n_plus_1.add_word(1).unwrap();
            let also_one = c.scalar_from_bytes(&n_plus_1.to_vec()).unwrap();
            assert!(c.equal(&c.mul_generator(&also_one).unwrap(), &g).unwrap());
            // Round trip of the encoding, and a point off the curve refused.
            let k = c.random_scalar().unwrap();
            let p = c.mul_generator(&k).unwrap();
            let encoded = c.encode(&p).unwrap();
            assert_eq!(encoded.len(), 1 + 2 * c.field_len());
            assert!(c.equal(&c.decode(&encoded).unwrap(), &p).unwrap());
            let mut bad = encoded.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert_eq!(c.decode(&bad).err(), Some(EcError::NotOnCurve));
            assert_eq!(
                c.decode(&encoded[1..]).err(),
                Some(EcError::Encoding {
                    len: encoded.len() - 1
                })
            );
            // (a * b^-1) * (b * G) == a * G.
            let (a, b) = (c.random_scalar().unwrap(), c.random_scalar().unwrap());
            let ca = c.mul_inverse(&a, &b).unwrap();
            let lhs = c.mul(&ca, &c.mul_generator(&b).unwrap()).unwrap();
            assert!(c.equal(&lhs, &c.mul_generator(&a).unwrap()).unwrap());
        }
    }
}

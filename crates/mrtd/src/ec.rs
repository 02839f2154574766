//! Short-Weierstrass elliptic-curve arithmetic over prime fields with `num-bigint`.
//!
//! Nothing a gate runs uses it any more: PACE and Chip Authentication compute on OpenSSL
//! ([`crate::crypto::ecc`], [`crate::crypto::dh`], constant time for secrets) and signatures are
//! verified there too ([`crate::crypto::verify`]). It is left for test doubles and the virtual
//! ePassport (chip keys, textbook signers), behind the `test-support` feature. Affine
//! arithmetic for the standardised curves, checked by order checks (`n * G = O`) for every
//! curve.
//!
//! It is not constant time.

use std::fmt;

use num_bigint::BigUint;

use crate::crypto::{self, CryptoError};

/// Errors of point decoding and key generation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcError {
    /// A point encoding that is not `04 || X || Y` of the curve's length.
    #[error("point encoding of {len} bytes is not uncompressed for this curve")]
    Encoding {
        /// Encoding length.
        len: usize,
    },
    /// A point that does not lie on the curve (or is the point at infinity).
    #[error("point is not on the curve")]
    NotOnCurve,
    /// A computation produced the point at infinity where a finite point is required.
    #[error("result is the point at infinity")]
    Infinity,
    /// Random generation failed.
    #[error("{0}")]
    Random(#[from] CryptoError),
}

/// A point in affine coordinates, or the point at infinity.
#[derive(Clone, PartialEq, Eq)]
pub enum Point {
    /// The neutral element.
    Infinity,
    /// An affine point.
    Affine {
        /// X coordinate.
        x: BigUint,
        /// Y coordinate.
        y: BigUint,
    },
}

impl fmt::Debug for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::Infinity => f.write_str("Infinity"),
            Point::Affine { x, y } => write!(f, "Point({x:X}, {y:X})"),
        }
    }
}

/// Domain parameters of a prime curve `y^2 = x^3 + a x + b mod p`.
pub struct Curve {
    /// Curve name.
    pub name: &'static str,
    /// PACE standardised domain parameter id (ICAO 9303 Part 11, 9.5.1).
    pub parameter_id: u32,
    p: BigUint,
    a: BigUint,
    b: BigUint,
    g: Point,
    n: BigUint,
    field_len: usize,
}

impl fmt::Debug for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Curve({})", self.name)
    }
}

fn big(hex: &str) -> BigUint {
    // The constants below are valid hex literals; an empty value would fail every test.
    BigUint::parse_bytes(hex.as_bytes(), 16).unwrap_or_default()
}

impl Curve {
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &'static str,
        parameter_id: u32,
        p: &str,
        a: &str,
        b: &str,
        gx: &str,
        gy: &str,
        n: &str,
    ) -> Curve {
        Curve {
            name,
            parameter_id,
            field_len: p.len() / 2,
            p: big(p),
            a: big(a),
            b: big(b),
            g: Point::Affine {
                x: big(gx),
                y: big(gy),
            },
            n: big(n),
        }
    }

    /// A curve from big-endian hex domain parameters (`p` with its leading zeros, so that
    /// its length gives the field length). Used by [`crate::authenticity`] for signature
    /// curves beyond the four PACE ones (P-521, brainpoolP512r1...). The constants must be
    /// valid hex: a malformed value becomes zero and the curve is unusable.
    #[allow(clippy::too_many_arguments)]
    pub fn from_hex_parameters(
        name: &'static str,
        parameter_id: u32,
        p: &str,
        a: &str,
        b: &str,
        gx: &str,
        gy: &str,
        n: &str,
    ) -> Curve {
        Curve::new(name, parameter_id, p, a, b, gx, gy, n)
    }

    /// The curve for a PACE standardised domain parameter id, if supported
    /// (12 secp256r1, 13 brainpoolP256r1, 15 secp384r1, 16 brainpoolP384r1).
    pub fn by_parameter_id(id: u32) -> Option<Curve> {
        Some(match id {
            12 => Curve::new(
                "secp256r1",
                12,
                "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
                "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
                "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B",
                "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
                "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
                "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
            ),
            13 => Curve::new(
                "brainpoolP256r1",
                13,
                "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
                "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
                "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
                "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
                "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
                "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
            ),
            15 => Curve::new(
                "secp384r1",
                15,
                "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
                "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
                "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF",
                "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7",
                "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
                "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
            ),
            16 => Curve::new(
                "brainpoolP384r1",
                16,
                "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53",
                "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826",
                "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11",
                "1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E",
                "8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315",
                "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565",
            ),
            _ => return None,
        })
    }

    /// The base point G.
    pub fn generator(&self) -> &Point {
        &self.g
    }

    /// The group order n.
    pub fn order(&self) -> &BigUint {
        &self.n
    }

    /// Length in bytes of a field element (and of each coordinate in encodings).
    pub fn field_len(&self) -> usize {
        self.field_len
    }

    /// True if the point satisfies the curve equation (the point at infinity does not count).
    pub fn is_on_curve(&self, point: &Point) -> bool {
        match point {
            Point::Infinity => false,
            Point::Affine { x, y } => {
                if x >= &self.p || y >= &self.p {
                    return false;
                }
                let lhs = (y * y) % &self.p;
                let rhs = (x * x * x + &self.a * x + &self.b) % &self.p;
                lhs == rhs
            }
        }
    }

    fn sub_mod(&self, a: &BigUint, b: &BigUint) -> BigUint {
        ((a % &self.p) + &self.p - (b % &self.p)) % &self.p
    }

    fn inverse(&self, v: &BigUint) -> BigUint {
        // p is prime: v^(p-2) is the inverse of v != 0.
        v.modpow(&(&self.p - 2u32), &self.p)
    }

    /// Point addition.
    pub fn add(&self, p1: &Point, p2: &Point) -> Point {
        let (Point::Affine { x: x1, y: y1 }, Point::Affine { x: x2, y: y2 }) = (p1, p2) else {
            return if matches!(p1, Point::Infinity) {
                p2.clone()
            } else {
                p1.clone()
            };
        };
        let lambda = if x1 == x2 {
            if (y1 + y2) % &self.p == BigUint::ZERO {
                return Point::Infinity;
            }
            // Doubling: (3 x^2 + a) / (2 y).
            let num = (BigUint::from(3u32) * x1 * x1 + &self.a) % &self.p;
            let den = (BigUint::from(2u32) * y1) % &self.p;
            num * self.inverse(&den) % &self.p
        } else {
            let num = self.sub_mod(y2, y1);
            let den = self.sub_mod(x2, x1);
            num * self.inverse(&den) % &self.p
        };
        let x3 = self.sub_mod(&self.sub_mod(&(&lambda * &lambda), x1), x2);
        let y3 = self.sub_mod(&(lambda * self.sub_mod(x1, &x3)), y1);
        Point::Affine { x: x3, y: y3 }
    }

    /// Scalar multiplication `k * P` (double and add in Jacobian coordinates, one inversion).
    pub fn mul(&self, k: &BigUint, point: &Point) -> Point {
        let Point::Affine { x: px, y: py } = point else {
            return Point::Infinity;
        };
        let p = &self.p;
        let m = |a: &BigUint, b: &BigUint| (a * b) % p;
        let sub = |a: &BigUint, b: &BigUint| self.sub_mod(a, b);
        // (X, Y, Z) with Z = 0 for infinity.
        let mut acc: (BigUint, BigUint, BigUint) =
            (BigUint::ZERO, BigUint::from(1u32), BigUint::ZERO);
        let double = |(x, y, z): &(BigUint, BigUint, BigUint)| -> (BigUint, BigUint, BigUint) {
            if *z == BigUint::ZERO || *y == BigUint::ZERO {
                return (BigUint::ZERO, BigUint::from(1u32), BigUint::ZERO);
            }
            let xx = m(x, x);
            let yy = m(y, y);
            let yyyy = m(&yy, &yy);
            let zz = m(z, z);
            let s = m(&BigUint::from(4u32), &m(x, &yy));
            let mm = (BigUint::from(3u32) * &xx + m(&self.a, &m(&zz, &zz))) % p;
            let x3 = sub(&m(&mm, &mm), &((&s << 1u32) % p));
            let y3 = sub(&m(&mm, &sub(&s, &x3)), &((yyyy << 3u32) % p));
            let z3 = m(&((y << 1u32) % p), z);
            (x3, y3, z3)
        };
        for i in (0..k.bits()).rev() {
            acc = double(&acc);
            if k.bit(i) {
                if acc.2 == BigUint::ZERO {
                    acc = (px.clone(), py.clone(), BigUint::from(1u32));
                    continue;
                }
                let (x1, y1, z1) = &acc;
                let z1z1 = m(z1, z1);
                let u2 = m(px, &z1z1);
                let s2 = m(py, &m(z1, &z1z1));
                let hh_base = sub(&u2, x1);
                let r = sub(&s2, y1);
                if hh_base == BigUint::ZERO {
                    acc = if r == BigUint::ZERO {
                        double(&acc)
                    } else {
                        (BigUint::ZERO, BigUint::from(1u32), BigUint::ZERO)
                    };
                    continue;
                }
                let hh = m(&hh_base, &hh_base);
                let hhh = m(&hh_base, &hh);
                let v = m(x1, &hh);
                let x3 = sub(&sub(&m(&r, &r), &hhh), &((&v << 1u32) % p));
                let y3 = sub(&m(&r, &sub(&v, &x3)), &m(y1, &hhh));
                let z3 = m(z1, &hh_base);
                acc = (x3, y3, z3);
            }
        }
        let (x, y, z) = acc;
        if z == BigUint::ZERO {
            return Point::Infinity;
        }
        let zinv = self.inverse(&z);
        let zinv2 = m(&zinv, &zinv);
        Point::Affine {
            x: m(&x, &zinv2),
            y: m(&y, &m(&zinv2, &zinv)),
        }
    }

    /// Uncompressed encoding `04 || X || Y` (empty for the point at infinity).
    pub fn encode(&self, point: &Point) -> Vec<u8> {
        match point {
            Point::Infinity => Vec::new(),
            Point::Affine { x, y } => {
                let mut out = vec![0x04];
                out.extend(self.field_bytes(x));
                out.extend(self.field_bytes(y));
                out
            }
        }
    }

    /// A field element as fixed-length big-endian bytes.
    pub fn field_bytes(&self, v: &BigUint) -> Vec<u8> {
        let bytes = v.to_bytes_be();
        let mut out = vec![0u8; self.field_len.saturating_sub(bytes.len())];
        out.extend(bytes);
        out
    }

    /// Decodes and validates an uncompressed point.
    pub fn decode(&self, bytes: &[u8]) -> Result<Point, EcError> {
        if bytes.len() != 1 + 2 * self.field_len || bytes[0] != 0x04 {
            return Err(EcError::Encoding { len: bytes.len() });
        }
        let point = Point::Affine {
            x: BigUint::from_bytes_be(&bytes[1..1 + self.field_len]),
            y: BigUint::from_bytes_be(&bytes[1 + self.field_len..]),
        };
        if self.is_on_curve(&point) {
            Ok(point)
        } else {
            Err(EcError::NotOnCurve)
        }
    }

    /// A random private key in `1..n`.
    pub fn random_scalar(&self) -> Result<BigUint, EcError> {
        let mut bytes = vec![0u8; self.field_len + 8];
        crypto::random_bytes(&mut bytes)?;
        let one = BigUint::from(1u32);
        Ok(BigUint::from_bytes_be(&bytes) % (&self.n - &one) + one)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> BigUint {
        big(s)
    }

    #[test]
    fn generators_are_on_curve_with_right_order() {
        for id in [12, 13, 15, 16] {
            let c = Curve::by_parameter_id(id).unwrap();
            assert!(c.is_on_curve(c.generator()), "{}", c.name);
            assert_eq!(
                c.mul(c.order(), c.generator()),
                Point::Infinity,
                "{}",
                c.name
            );
            let k = c.random_scalar().unwrap();
            let j = c.random_scalar().unwrap();
            // (k + j) G = kG + jG
            let lhs = c.mul(&((&k + &j) % c.order()), c.generator());
            let rhs = c.add(&c.mul(&k, c.generator()), &c.mul(&j, c.generator()));
            assert_eq!(lhs, rhs, "{}", c.name);
            let enc = c.encode(&lhs);
            assert_eq!(c.decode(&enc).unwrap(), lhs);
        }
        assert!(Curve::by_parameter_id(99).is_none());
    }

    #[test]
    fn appendix_g_ecdh_values() {
        let c = Curve::by_parameter_id(13).unwrap();
        let sk = h("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99");
        let pk = c.mul(&sk, c.generator());
        assert_eq!(
            pk,
            Point::Affine {
                x: h("7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"),
                y: h("544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"),
            }
        );
    }

    #[test]
    fn p256_doubling_matches_published_2g() {
        // 2G on NIST P-256 (widely published point-multiplication test value).
        let c = Curve::by_parameter_id(12).unwrap();
        assert_eq!(
            c.mul(&BigUint::from(2u32), c.generator()),
            Point::Affine {
                x: h("7CF27B188D034F7E8A52380304B51AC3C08969E277F21B35A60B48FC47669978"),
                y: h("07775510DB8ED040293D9AC69F7430DBBA7DADE63CE982299E04B79D227873D1"),
            }
        );
        assert_eq!(
            c.mul(&BigUint::from(2u32), c.generator()),
            c.add(c.generator(), c.generator())
        );
    }

    #[test]
    fn decode_rejects_bad_points() {
        let c = Curve::by_parameter_id(12).unwrap();
        let mut enc = c.encode(c.generator());
        assert!(c.decode(&enc).is_ok());
        enc[10] ^= 1;
        assert_eq!(c.decode(&enc), Err(EcError::NotOnCurve));
        assert!(matches!(c.decode(&enc[1..]), Err(EcError::Encoding { .. })));
        assert!(matches!(c.decode(&[]), Err(EcError::Encoding { .. })));
    }
}

//! Named prime curves for signature keys (document signers, CSCAs, Active Authentication,
//! Chip Authentication), found by OID, by explicit domain parameters (real document signer
//! certificates often spell the curve out instead of naming it) or by the ICAO standardised
//! domain parameter id. The arithmetic on these curves is OpenSSL's ([`crate::crypto::verify`],
//! [`crate::crypto::ecc`]); the `by_*` functions returning the crate's textbook `ec::Curve`
//! are for test doubles (feature `test-support`).

use crate::crypto::verify::CurveId;
#[cfg(any(test, feature = "test-support"))]
use crate::ec::Curve;
use crate::security_info::ObjectIdentifier;

/// A named prime curve: its names, identifiers and domain parameters (hex).
#[derive(Debug)]
pub struct NamedCurve {
    /// Name (`brainpoolP256r1`, `secp384r1`...).
    pub name: &'static str,
    /// ICAO 9303 Part 11 standardised domain parameter id.
    pub id: u32,
    /// The curve for OpenSSL.
    pub curve: CurveId,
    oid: &'static [u8],
    p: &'static str,
    a: &'static str,
    b: &'static str,
    gx: &'static str,
    gy: &'static str,
    n: &'static str,
}

const CURVES: &[NamedCurve] = &[
    NamedCurve {
        name: "secp224r1",
        curve: CurveId::Secp224r1,
        id: 10,
        oid: &[0x2B, 0x81, 0x04, 0x00, 0x21],
        p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF000000000000000000000001",
        a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFE",
        b: "B4050A850C04B3ABF54132565044B0B7D7BFD8BA270B39432355FFB4",
        gx: "B70E0CBD6BB4BF7F321390B94A03C1D356C21122343280D6115C1D21",
        gy: "BD376388B5F723FB4C22DFE6CD4375A05A07476444D5819985007E34",
        n: "FFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D",
    },
    NamedCurve {
        name: "brainpoolP224r1",
        curve: CurveId::BrainpoolP224r1,
        id: 11,
        oid: &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x05],
        p: "D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF",
        a: "68A5E62CA9CE6C1C299803A6C1530B514E182AD8B0042A59CAD29F43",
        b: "2580F63CCFE44138870713B1A92369E33E2135D266DBB372386C400B",
        gx: "0D9029AD2C7E5CF4340823B2A87DC68C9E4CE3174C1E6EFDEE12C07D",
        gy: "58AA56F772C0726F24C6B89E4ECDAC24354B9E99CAA3F6D3761402CD",
        n: "D7C134AA264366862A18302575D0FB98D116BC4B6DDEBCA3A5A7939F",
    },
    NamedCurve {
        name: "secp256r1",
        curve: CurveId::Secp256r1,
        id: 12,
        oid: &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
        p: "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
        a: "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
        b: "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B",
        gx: "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
        gy: "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
        n: "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
    },
    NamedCurve {
        name: "brainpoolP256r1",
        curve: CurveId::BrainpoolP256r1,
        id: 13,
        oid: &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
        p: "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
        a: "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
        b: "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
        gx: "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
        gy: "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
        n: "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
    },
    NamedCurve {
        name: "brainpoolP320r1",
        curve: CurveId::BrainpoolP320r1,
        id: 14,
        oid: &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x09],
        p: "D35E472036BC4FB7E13C785ED201E065F98FCFA6F6F40DEF4F92B9EC7893EC28FCD412B1F1B32E27",
        a: "3EE30B568FBAB0F883CCEBD46D3F3BB8A2A73513F5EB79DA66190EB085FFA9F492F375A97D860EB4",
        b: "520883949DFDBC42D3AD198640688A6FE13F41349554B49ACC31DCCD884539816F5EB4AC8FB1F1A6",
        gx: "43BD7E9AFB53D8B85289BCC48EE5BFE6F20137D10A087EB6E7871E2A10A599C710AF8D0D39E20611",
        gy: "14FDD05545EC1CC8AB4093247F77275E0743FFED117182EAA9C77877AAAC6AC7D35245D1692E8EE1",
        n: "D35E472036BC4FB7E13C785ED201E065F98FCFA5B68F12A32D482EC7EE8658E98691555B44C59311",
    },
    NamedCurve {
        name: "secp384r1",
        curve: CurveId::Secp384r1,
        id: 15,
        oid: &[0x2B, 0x81, 0x04, 0x00, 0x22],
        p: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
        a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
        b: "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF",
        gx: "AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7",
        gy: "3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
        n: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    },
    NamedCurve {
        name: "brainpoolP384r1",
        curve: CurveId::BrainpoolP384r1,
        id: 16,
        oid: &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B],
        p: "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53",
        a: "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826",
        b: "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11",
        gx: "1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E",
        gy: "8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315",
        n: "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565",
    },
    NamedCurve {
        name: "brainpoolP512r1",
        curve: CurveId::BrainpoolP512r1,
        id: 17,
        oid: &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D],
        p: "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3",
        a: "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA",
        b: "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723",
        gx: "81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822",
        gy: "7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892",
        n: "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069",
    },
    NamedCurve {
        name: "secp521r1",
        curve: CurveId::Secp521r1,
        id: 18,
        oid: &[0x2B, 0x81, 0x04, 0x00, 0x23],
        p: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        a: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC",
        b: "0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00",
        gx: "00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66",
        gy: "011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650",
        n: "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
    },
];

impl NamedCurve {
    /// Byte length of a field element (of each coordinate of an uncompressed point).
    pub fn field_len(&self) -> usize {
        self.p.len() / 2
    }

    /// Byte length of the group order (of each half of a plain `r || s` ECDSA signature).
    pub fn order_len(&self) -> usize {
        let n = self.n.trim_start_matches('0');
        let top = n.chars().next().and_then(|c| c.to_digit(16)).unwrap_or(0);
        let bits = 4 * n.len() - (4 - (32 - top.leading_zeros()) as usize);
        bits.div_ceil(8)
    }
}

#[cfg(any(test, feature = "test-support"))]
fn build(c: &NamedCurve) -> Curve {
    Curve::from_hex_parameters(c.name, c.id, c.p, c.a, c.b, c.gx, c.gy, c.n)
}

/// The named curve of `oid` (namedCurve in an `id-ecPublicKey` key).
pub fn named_by_oid(oid: &ObjectIdentifier) -> Option<&'static NamedCurve> {
    CURVES.iter().find(|c| c.oid == oid.0.as_slice())
}

/// The named curve with ICAO standardised domain parameter id `id` (10, 11, 12 ... 18).
pub fn named_by_standard_id(id: u64) -> Option<&'static NamedCurve> {
    CURVES.iter().find(|c| u64::from(c.id) == id)
}

/// Whether the hex constant and the big-endian bytes are the same number.
fn same_number(hex: &str, bytes: &[u8]) -> bool {
    let hex = hex.trim_start_matches('0');
    let bytes = super::der::magnitude(bytes);
    let mut digits = String::with_capacity(2 * bytes.len());
    for b in bytes {
        digits.push_str(&format!("{b:02X}"));
    }
    digits.trim_start_matches('0') == hex
}

/// The named curve whose explicit domain parameters these are (`p`, `a`, `b`, the base
/// point coordinates and the order, as big-endian magnitudes). `None` for any curve not in
/// the table: arbitrary explicit parameters are never trusted as such.
pub fn named_by_parameters(
    p: &[u8],
    a: &[u8],
    b: &[u8],
    gx: &[u8],
    gy: &[u8],
    n: &[u8],
) -> Option<&'static NamedCurve> {
    CURVES.iter().find(|c| {
        [
            (c.p, p),
            (c.a, a),
            (c.b, b),
            (c.gx, gx),
            (c.gy, gy),
            (c.n, n),
        ]
        .iter()
        .all(|(known, given)| same_number(known, given))
    })
}

#[cfg(any(test, feature = "test-support"))]
/// The curve named by `oid`, for the crate's own arithmetic.
pub fn by_oid(oid: &ObjectIdentifier) -> Option<Curve> {
    named_by_oid(oid).map(build)
}

#[cfg(any(test, feature = "test-support"))]
/// The curve with ICAO standardised domain parameter id `id`, for the crate's own arithmetic.
pub fn by_standard_id(id: u64) -> Option<Curve> {
    named_by_standard_id(id).map(build)
}

#[cfg(any(test, feature = "test-support"))]
/// The named curve of explicit domain parameters (see [`named_by_parameters`]), for the
/// crate's own arithmetic.
pub fn by_parameters(
    p: &[u8],
    a: &[u8],
    b: &[u8],
    gx: &[u8],
    gy: &[u8],
    n: &[u8],
) -> Option<Curve> {
    named_by_parameters(p, a, b, gx, gy, n).map(build)
}

#[cfg(any(test, feature = "test-support"))]
/// The curve of a [`NamedCurve`], for the crate's own arithmetic.
pub fn arithmetic(curve: &NamedCurve) -> Curve {
    build(curve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec::Point;

    #[test]
    fn every_curve_has_its_generator_of_order_n() {
        for c in CURVES {
            let curve = build(c);
            assert_eq!(curve.name, c.name);
            assert!(curve.is_on_curve(curve.generator()), "{}", c.name);
            assert_eq!(
                curve.mul(curve.order(), curve.generator()),
                Point::Infinity,
                "{}",
                c.name
            );
            assert!(by_oid(&ObjectIdentifier(c.oid.to_vec())).is_some());
            assert_eq!(
                by_standard_id(u64::from(c.id)).map(|c| c.name),
                Some(c.name)
            );
        }
        assert!(by_standard_id(99).is_none());
        let order_lens: Vec<usize> = CURVES.iter().map(NamedCurve::order_len).collect();
        assert_eq!(order_lens, [28, 28, 32, 32, 40, 48, 48, 64, 66]);
        let bp256 = named_by_standard_id(13).unwrap();
        let hex = |s: &str| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect::<Vec<u8>>()
        };
        let mut p = vec![0, 0];
        p.extend(hex(bp256.p));
        let found = named_by_parameters(
            &p,
            &hex(bp256.a),
            &hex(bp256.b),
            &hex(bp256.gx),
            &hex(bp256.gy),
            &hex(bp256.n),
        );
        assert_eq!(found.map(|c| c.name), Some("brainpoolP256r1"));
        let mut n = hex(bp256.n);
        n[31] ^= 1;
        assert!(
            named_by_parameters(
                &p,
                &hex(bp256.a),
                &hex(bp256.b),
                &hex(bp256.gx),
                &hex(bp256.gy),
                &n
            )
            .is_none()
        );
    }
}

//! Minimal DER encoding for the certificates and CMS structures this tool writes.

use mrtd::tlv;

/// Object identifiers used here (DER content octets).
pub mod oid {
    /// ecdsa-with-SHA256 (1.2.840.10045.4.3.2).
    pub const ECDSA_WITH_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
    /// id-ecPublicKey (1.2.840.10045.2.1).
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    /// prime256v1 / secp256r1 (1.2.840.10045.3.1.7).
    pub const PRIME256V1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    /// id-sha256 (2.16.840.1.101.3.4.2.1).
    pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    /// id-signedData (1.2.840.113549.1.7.2).
    pub const SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
    /// id-contentType (1.2.840.113549.1.9.3).
    pub const CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
    /// id-messageDigest (1.2.840.113549.1.9.4).
    pub const MESSAGE_DIGEST: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];
    /// id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1).
    pub const LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
    /// countryName (2.5.4.6).
    pub const COUNTRY_NAME: &[u8] = &[0x55, 0x04, 0x06];
    /// organizationName (2.5.4.10).
    pub const ORGANIZATION_NAME: &[u8] = &[0x55, 0x04, 0x0A];
    /// commonName (2.5.4.3).
    pub const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    /// basicConstraints (2.5.29.19).
    pub const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];
    /// keyUsage (2.5.29.15).
    pub const KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x0F];
    /// subjectKeyIdentifier (2.5.29.14).
    pub const SUBJECT_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1D, 0x0E];
    /// authorityKeyIdentifier (2.5.29.35).
    pub const AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1D, 0x23];
}

/// A TLV.
pub fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    tlv::encode(tag, value)
}

/// SEQUENCE of the concatenated parts.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// SET of the parts, sorted by encoding as DER requires for SET OF.
pub fn set_of(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = parts.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

/// OBJECT IDENTIFIER.
pub fn oid(content: &[u8]) -> Vec<u8> {
    tlv(0x06, content)
}

/// OCTET STRING.
pub fn octet_string(value: &[u8]) -> Vec<u8> {
    tlv(0x04, value)
}

/// BIT STRING with no unused bits.
pub fn bit_string(value: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(value);
    tlv(0x03, &content)
}

/// INTEGER from an unsigned big-endian magnitude.
pub fn uint(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|&b| b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    tlv(0x02, &content)
}

/// INTEGER from a small number.
pub fn small_uint(value: u64) -> Vec<u8> {
    uint(&value.to_be_bytes())
}

/// AlgorithmIdentifier without parameters.
pub fn algorithm(algorithm_oid: &[u8]) -> Vec<u8> {
    sequence(&[&oid(algorithm_oid)])
}

/// A Name of countryName, organizationName and commonName.
pub fn name(country: &str, organization: &str, common_name: &str) -> Vec<u8> {
    let rdn = |attr: &[u8], tag: u32, value: &str| {
        set_of(&[sequence(&[&oid(attr), &tlv(tag, value.as_bytes())])])
    };
    sequence(&[
        &rdn(oid::COUNTRY_NAME, 0x13, country),
        &rdn(oid::ORGANIZATION_NAME, 0x0C, organization),
        &rdn(oid::COMMON_NAME, 0x0C, common_name),
    ])
}

/// Days since 1970-01-01 to (year, month, day) (proleptic Gregorian; H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// X.509 Time for a Unix timestamp: UTCTime up to 2049, GeneralizedTime after (RFC 5280).
pub fn time(unix_seconds: i64) -> Vec<u8> {
    let (year, month, day) = civil_from_days(unix_seconds.div_euclid(86_400));
    let secs = unix_seconds.rem_euclid(86_400);
    let clock = format!(
        "{month:02}{day:02}{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    if (1950..2050).contains(&year) {
        tlv(0x17, format!("{:02}{clock}", year % 100).as_bytes())
    } else {
        tlv(0x18, format!("{year:04}{clock}").as_bytes())
    }
}

/// PEM armour (base64, 64 columns).
pub fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3F) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(small_uint(0), [0x02, 0x01, 0x00]);
        assert_eq!(small_uint(127), [0x02, 0x01, 0x7F]);
        assert_eq!(small_uint(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 1, 2]), [0x02, 0x02, 0x01, 0x02]);
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        // 2026-01-02 03:04:05 UTC
        assert_eq!(time(1_767_323_045), tlv(0x17, b"260102030405Z"));
        // 2050-01-01 00:00:00 UTC
        assert_eq!(time(2_524_608_000), tlv(0x18, b"20500101000000Z"));
        assert_eq!(time(0), tlv(0x17, b"700101000000Z"));
    }

    #[test]
    fn pem_base64() {
        assert_eq!(
            pem("X", b"foob"),
            "-----BEGIN X-----\nZm9vYg==\n-----END X-----\n"
        );
        assert_eq!(
            pem("X", b"foo"),
            "-----BEGIN X-----\nZm9v\n-----END X-----\n"
        );
    }
}

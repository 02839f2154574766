//! A strict DER reader for X.509 certificates, CRLs and CMS (X.690 distinguished encoding
//! subset).
//!
//! Only single-byte tags (tag numbers below 31) and definite lengths in their shortest form
//! are accepted; every length is checked against the bytes available, so reading never
//! panics and never reads out of bounds. Nesting is bounded by the callers' fixed structure
//! (no recursion on input-controlled depth). Writing is [`crate::tlv::encode`], the crate's
//! one DER writer (the virtual ePassport's certificate and CMS builders use it too).

use crate::security_info::ObjectIdentifier;

/// Errors of DER decoding. Offsets are not reported: the structure name is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    /// The input ended inside a tag, a length or a value.
    #[error("{what}: DER truncated")]
    Truncated {
        /// The structure being read.
        what: &'static str,
    },
    /// High tag numbers, indefinite lengths, non-minimal lengths or lengths over 4 bytes.
    #[error("{what}: non-DER encoding ({detail})")]
    NotDer {
        /// The structure being read.
        what: &'static str,
        /// What is wrong.
        detail: &'static str,
    },
    /// A different tag was expected.
    #[error("{what}: expected tag 0x{expected:02X}, found 0x{found:02X}")]
    UnexpectedTag {
        /// The structure being read.
        what: &'static str,
        /// Expected tag.
        expected: u8,
        /// Found tag.
        found: u8,
    },
    /// A mandatory element is missing.
    #[error("{what}: missing element")]
    Missing {
        /// The structure being read.
        what: &'static str,
    },
    /// Bytes after the end of a structure.
    #[error("{what}: trailing bytes")]
    Trailing {
        /// The structure being read.
        what: &'static str,
    },
    /// A value that is not valid for its type (negative INTEGER, bad BIT STRING, bad time).
    #[error("{what}: invalid value ({detail})")]
    Value {
        /// The structure being read.
        what: &'static str,
        /// What is wrong.
        detail: &'static str,
    },
}

/// Universal and context tags used here.
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// UTCTime.
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub const SET: u8 = 0x31;
    /// `[0]` constructed.
    pub const CONTEXT_0: u8 = 0xA0;
    /// `[1]` constructed.
    pub const CONTEXT_1: u8 = 0xA1;
    /// `[2]` constructed.
    pub const CONTEXT_2: u8 = 0xA2;
    /// `[3]` constructed.
    pub const CONTEXT_3: u8 = 0xA3;
    /// `[0]` primitive.
    pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;
}

/// One element: tag, value and the whole encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// The (single-byte) tag.
    pub tag: u8,
    /// The value bytes.
    pub value: &'a [u8],
    /// Tag, length and value.
    pub raw: &'a [u8],
}

impl<'a> Element<'a> {
    /// A reader over this element's value (for constructed types).
    pub fn reader(&self, what: &'static str) -> Reader<'a> {
        Reader::new(self.value, what)
    }

    /// Checks the tag.
    pub fn expect(self, expected: u8, what: &'static str) -> Result<Element<'a>, DerError> {
        if self.tag == expected {
            Ok(self)
        } else {
            Err(DerError::UnexpectedTag {
                what,
                expected,
                found: self.tag,
            })
        }
    }
}

/// Sequential reader over the contents of a constructed element.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `input`; `what` names the structure in errors.
    pub fn new(input: &'a [u8], what: &'static str) -> Self {
        Reader { rest: input, what }
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next element.
    pub fn read(&mut self) -> Result<Element<'a>, DerError> {
        let what = self.what;
        let input = self.rest;
        let (&tag, after_tag) = input.split_first().ok_or(DerError::Truncated { what })?;
        if tag & 0x1F == 0x1F {
            return Err(DerError::NotDer {
                what,
                detail: "high tag number",
            });
        }
        let (&first, after_len) = after_tag
            .split_first()
            .ok_or(DerError::Truncated { what })?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 {
                return Err(DerError::NotDer {
                    what,
                    detail: "indefinite length",
                });
            }
            if count > 4 {
                return Err(DerError::NotDer {
                    what,
                    detail: "length over 4 bytes",
                });
            }
            let bytes = after_len.get(..count).ok_or(DerError::Truncated { what })?;
            if bytes[0] == 0 {
                return Err(DerError::NotDer {
                    what,
                    detail: "length with leading zero",
                });
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err(DerError::NotDer {
                    what,
                    detail: "long form for a short length",
                });
            }
            (len, 2 + count)
        };
        let end = header
            .checked_add(len)
            .ok_or(DerError::Truncated { what })?;
        if end > input.len() {
            return Err(DerError::Truncated { what });
        }
        self.rest = &input[end..];
        Ok(Element {
            tag,
            value: &input[header..end],
            raw: &input[..end],
        })
    }

    /// Reads the next element and checks its tag.
    pub fn read_tag(&mut self, expected: u8) -> Result<Element<'a>, DerError> {
        if self.is_empty() {
            return Err(DerError::Missing { what: self.what });
        }
        let what = self.what;
        self.read()?.expect(expected, what)
    }

    /// Reads the next element if it has this tag.
    pub fn optional(&mut self, expected: u8) -> Result<Option<Element<'a>>, DerError> {
        if self.peek_tag() == Some(expected) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails if bytes are left.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError::Trailing { what: self.what })
        }
    }

    /// Reads every remaining element.
    pub fn all(mut self) -> Result<Vec<Element<'a>>, DerError> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(self.read()?);
        }
        Ok(out)
    }
}

/// Decodes exactly one element spanning all of `input`.
pub fn parse_exact<'a>(
    input: &'a [u8],
    expected: u8,
    what: &'static str,
) -> Result<Element<'a>, DerError> {
    let mut reader = Reader::new(input, what);
    let element = reader.read_tag(expected)?;
    reader.finish()?;
    Ok(element)
}

/// A big-endian unsigned number without its leading zero bytes.
pub(crate) fn magnitude(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian unsigned number (leading zero bytes allowed).
pub(crate) fn bit_length(bytes: &[u8]) -> usize {
    match magnitude(bytes) {
        [] => 0,
        [top, rest @ ..] => 8 * rest.len() + (8 - top.leading_zeros() as usize),
    }
}

/// The magnitude bytes of a non-negative INTEGER (leading zero removed).
pub fn unsigned_integer<'a>(
    element: &Element<'a>,
    what: &'static str,
) -> Result<&'a [u8], DerError> {
    let element = element.expect(tag::INTEGER, what)?;
    match element.value {
        [] => Err(DerError::Value {
            what,
            detail: "empty INTEGER",
        }),
        [first, ..] if first & 0x80 != 0 => Err(DerError::Value {
            what,
            detail: "negative INTEGER",
        }),
        [0, next, ..] if next & 0x80 == 0 => Err(DerError::Value {
            what,
            detail: "INTEGER with a redundant leading zero",
        }),
        [0, rest @ ..] => Ok(rest),
        value => Ok(value),
    }
}

/// The value bytes of a certificate serial number, leniently: RFC 5280 wants positive
/// serials, but certificates with negative or zero-padded serials exist in national PKIs and
/// master lists. A redundant leading zero is dropped so that equal numbers compare equal.
pub fn serial_number<'a>(element: &Element<'a>, what: &'static str) -> Result<&'a [u8], DerError> {
    let element = element.expect(tag::INTEGER, what)?;
    match element.value {
        [] => Err(DerError::Value {
            what,
            detail: "empty INTEGER",
        }),
        [0, rest @ ..] if !rest.is_empty() => Ok(rest),
        value => Ok(value),
    }
}

/// A small non-negative INTEGER.
pub fn small_integer(element: &Element<'_>, what: &'static str) -> Result<u64, DerError> {
    let bytes = unsigned_integer(element, what)?;
    if bytes.len() > 8 {
        return Err(DerError::Value {
            what,
            detail: "INTEGER too large",
        });
    }
    Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// The content of a BIT STRING that has no unused bits (keys, signatures).
pub fn bit_string_octets<'a>(
    element: &Element<'a>,
    what: &'static str,
) -> Result<&'a [u8], DerError> {
    let element = element.expect(tag::BIT_STRING, what)?;
    match element.value {
        [0, rest @ ..] => Ok(rest),
        _ => Err(DerError::Value {
            what,
            detail: "BIT STRING with unused bits",
        }),
    }
}

/// An OBJECT IDENTIFIER.
pub fn oid(element: &Element<'_>, what: &'static str) -> Result<ObjectIdentifier, DerError> {
    let element = element.expect(tag::OID, what)?;
    if element.value.is_empty() || element.value.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(DerError::Value {
            what,
            detail: "malformed OBJECT IDENTIFIER",
        });
    }
    Ok(ObjectIdentifier(element.value.to_vec()))
}

/// Seconds since 1970-01-01T00:00:00Z of a UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or
/// GeneralizedTime (`YYYYMMDDHHMMSSZ`).
pub fn time(element: &Element<'_>, what: &'static str) -> Result<i64, DerError> {
    let bad = |detail| DerError::Value { what, detail };
    let text = element.value;
    let (year, rest) = match (element.tag, text.len()) {
        (tag::UTC_TIME, 13) => {
            let yy = digits(&text[..2]).ok_or(bad("UTCTime digits"))?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (tag::GENERALIZED_TIME, 15) => (
            digits(&text[..4]).ok_or(bad("GeneralizedTime digits"))?,
            &text[4..],
        ),
        (tag::UTC_TIME | tag::GENERALIZED_TIME, _) => return Err(bad("time is not YYMMDDHHMMSSZ")),
        _ => return Err(bad("not a time")),
    };
    if rest.last() != Some(&b'Z') {
        return Err(bad("time is not in UTC (Z)"));
    }
    let field = |i: usize| digits(&rest[i..i + 2]).ok_or(bad("time digits"));
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad("time field out of range"));
    }
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_and_rejects_non_der() {
        let data = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xAA];
        let seq = parse_exact(&data, tag::SEQUENCE, "t").unwrap();
        let mut r = seq.reader("t");
        assert_eq!(small_integer(&r.read().unwrap(), "t").unwrap(), 5);
        assert_eq!(r.read_tag(tag::OCTET_STRING).unwrap().value, &[0xAA]);
        assert!(r.finish().is_ok());
        // Truncation at every cut.
        for cut in 0..data.len() {
            assert!(parse_exact(&data[..cut], tag::SEQUENCE, "t").is_err());
        }
        // Indefinite, non-minimal, high tag, trailing.
        assert!(parse_exact(&[0x30, 0x80, 0, 0], tag::SEQUENCE, "t").is_err());
        assert!(parse_exact(&[0x04, 0x81, 0x01, 0xAA], tag::OCTET_STRING, "t").is_err());
        assert!(parse_exact(&[0x1F, 0x01, 0x00], 0x1F, "t").is_err());
        assert!(parse_exact(&[0x05, 0x00, 0x00], tag::NULL, "t").is_err());
        assert!(
            parse_exact(
                &[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
                tag::OCTET_STRING,
                "t"
            )
            .is_err()
        );
    }

    #[test]
    fn integers() {
        let e = |v: &'static [u8]| Element {
            tag: tag::INTEGER,
            value: v,
            raw: v,
        };
        assert_eq!(unsigned_integer(&e(&[0x00, 0x80]), "t").unwrap(), &[0x80]);
        assert!(unsigned_integer(&e(&[0x80]), "t").is_err());
        assert!(unsigned_integer(&e(&[0x00, 0x01]), "t").is_err());
        assert!(unsigned_integer(&e(&[]), "t").is_err());
        assert!(small_integer(&e(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), "t").is_err());
    }

    #[test]
    fn serial_numbers_are_lenient_but_normalised() {
        let e = |v: &'static [u8]| Element {
            tag: tag::INTEGER,
            value: v,
            raw: v,
        };
        assert_eq!(serial_number(&e(&[0x00, 0x80]), "t").unwrap(), &[0x80]);
        // Negative and zero-padded serials occur in real PKIs.
        assert_eq!(
            serial_number(&e(&[0x80, 0x01]), "t").unwrap(),
            &[0x80, 0x01]
        );
        assert_eq!(serial_number(&e(&[0x00, 0x01]), "t").unwrap(), &[0x01]);
        assert_eq!(serial_number(&e(&[0x00]), "t").unwrap(), &[0x00]);
        assert!(serial_number(&e(&[]), "t").is_err());
    }

    #[test]
    fn times() {
        let utc = Element {
            tag: tag::UTC_TIME,
            value: b"700101000000Z",
            raw: &[],
        };
        assert_eq!(time(&utc, "t").unwrap(), 0);
        let utc = Element {
            tag: tag::UTC_TIME,
            value: b"491231235959Z",
            raw: &[],
        };
        assert_eq!(time(&utc, "t").unwrap(), 2_524_607_999);
        let gen_time = Element {
            tag: tag::GENERALIZED_TIME,
            value: b"20240229120000Z",
            raw: &[],
        };
        assert_eq!(time(&gen_time, "t").unwrap(), 1_709_208_000);
        let bad = Element {
            tag: tag::UTC_TIME,
            value: b"701301000000Z",
            raw: &[],
        };
        assert!(time(&bad, "t").is_err());
        let local = Element {
            tag: tag::UTC_TIME,
            value: b"7001010000000",
            raw: &[],
        };
        assert!(time(&local, "t").is_err());
    }

    #[test]
    fn encode_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let value = vec![7u8; len];
            // The crate's one DER writer is `tlv::encode`.
            let enc = crate::tlv::encode(u32::from(tag::OCTET_STRING), &value);
            assert_eq!(
                parse_exact(&enc, tag::OCTET_STRING, "t").unwrap().value,
                &value[..]
            );
        }
    }
}

//! BER-TLV decoding and encoding (ISO/IEC 7816-4 / X.690 subset used by ICAO 9303).
//!
//! Multi-byte tags (up to 3 bytes) and definite lengths of up to 4 bytes are supported;
//! indefinite lengths are rejected. Every length is checked against the bytes available, so
//! decoding never panics and never reads out of bounds.

/// Errors while decoding BER-TLV data. Offsets are relative to the slice being decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The input ended inside a tag, a length or a value.
    #[error("TLV truncated at offset {offset}: need {needed} more byte(s), {available} available")]
    Truncated {
        /// Offset where the missing part starts.
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A tag longer than 3 bytes.
    #[error("TLV tag at offset {offset} is longer than 3 bytes")]
    TagTooLong {
        /// Offset of the tag.
        offset: usize,
    },
    /// A length field that is indefinite (0x80) or longer than 4 bytes.
    #[error("unsupported TLV length form 0x{first_byte:02X} at offset {offset}")]
    UnsupportedLength {
        /// Offset of the length.
        offset: usize,
        /// First length byte.
        first_byte: u8,
    },
    /// A different tag was expected here.
    #[error("expected tag 0x{expected:X}, found 0x{found:X}")]
    UnexpectedTag {
        /// Expected tag.
        expected: u32,
        /// Tag found.
        found: u32,
    },
    /// A mandatory tag is missing.
    #[error("mandatory tag 0x{tag:X} missing")]
    Missing {
        /// The missing tag.
        tag: u32,
    },
}

/// One decoded TLV, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes as a big-endian number (`0x5F1F`, `0x7F61`, `0x30`...).
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
    /// The whole encoding (tag, length, value).
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// True if the tag marks a constructed encoding (bit 6 of the first tag byte).
    pub fn is_constructed(&self) -> bool {
        self.raw.first().is_some_and(|b| b & 0x20 != 0)
    }

    /// Decodes the value as a sequence of TLVs.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, TlvError> {
        parse_all(self.value)
    }

    /// Checks the tag.
    pub fn expect_tag(self, expected: u32) -> Result<Tlv<'a>, TlvError> {
        if self.tag == expected {
            Ok(self)
        } else {
            Err(TlvError::UnexpectedTag {
                expected,
                found: self.tag,
            })
        }
    }
}

fn truncated(offset: usize, needed: usize, available: usize) -> TlvError {
    TlvError::Truncated {
        offset,
        needed,
        available,
    }
}

/// Decodes the tag and length at the start of `input`: returns (tag, header length, value length).
pub fn parse_header(input: &[u8]) -> Result<(u32, usize, usize), TlvError> {
    let first = *input.first().ok_or(truncated(0, 1, 0))?;
    let mut tag = u32::from(first);
    let mut pos = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *input.get(pos).ok_or(truncated(pos, 1, 0))?;
            tag = (tag << 8) | u32::from(b);
            pos += 1;
            if b & 0x80 == 0 {
                break;
            }
            if pos >= 3 {
                return Err(TlvError::TagTooLong { offset: 0 });
            }
        }
    }
    let len_offset = pos;
    let l0 = *input.get(pos).ok_or(truncated(pos, 1, 0))?;
    pos += 1;
    let length = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let count = usize::from(l0 & 0x7F);
        if count == 0 || count > 4 {
            return Err(TlvError::UnsupportedLength {
                offset: len_offset,
                first_byte: l0,
            });
        }
        let bytes = input.get(pos..pos + count).ok_or(truncated(
            pos,
            count,
            input.len().saturating_sub(pos),
        ))?;
        pos += count;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    Ok((tag, pos, length))
}

/// Decodes the TLV at the start of `input`; returns it and the rest of the input.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tag, header_len, length) = parse_header(input)?;
    let available = input.len() - header_len;
    if length > available {
        return Err(truncated(header_len, length, available));
    }
    let end = header_len + length;
    Ok((
        Tlv {
            tag,
            value: &input[header_len..end],
            raw: &input[..end],
        },
        &input[end..],
    ))
}

/// Decodes a whole buffer as a sequence of TLVs. Trailing `0x00`/`0xFF` padding bytes
/// between or after objects (allowed by ISO 7816-4) are skipped.
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while let Some(&b) = input.first() {
        if b == 0x00 || b == 0xFF {
            input = &input[1..];
            continue;
        }
        let (tlv, rest) = parse_one(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// Finds the first direct child with `tag` in a sequence of TLVs.
pub fn find(input: &[u8], tag: u32) -> Result<Option<Tlv<'_>>, TlvError> {
    Ok(parse_all(input)?.into_iter().find(|t| t.tag == tag))
}

/// Like [`find`] but the tag is mandatory.
pub fn require(input: &[u8], tag: u32) -> Result<Tlv<'_>, TlvError> {
    find(input, tag)?.ok_or(TlvError::Missing { tag })
}

/// Appends a DER length.
pub fn encode_length(length: usize, out: &mut Vec<u8>) {
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends tag bytes (big-endian, without leading zero bytes).
pub fn encode_tag(tag: u32, out: &mut Vec<u8>) {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(3);
    out.extend_from_slice(&bytes[skip..]);
}

/// Encodes one TLV.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    encode_tag(tag, &mut out);
    encode_length(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_multibyte_tags_and_long_lengths() {
        let mut data = vec![0x5F, 0x1F, 0x82, 0x01, 0x00];
        data.extend(std::iter::repeat_n(0xAA, 256));
        let (tlv, rest) = parse_one(&data).unwrap();
        assert_eq!(tlv.tag, 0x5F1F);
        assert_eq!(tlv.value.len(), 256);
        assert!(rest.is_empty());
        assert_eq!(encode(0x5F1F, tlv.value), data);
        let (tlv, _) = parse_one(&[0x7F, 0x61, 0x03, 0x02, 0x01, 0x01]).unwrap();
        assert!(tlv.is_constructed());
        assert_eq!(tlv.children().unwrap()[0].value, &[1]);
    }

    #[test]
    fn rejects_truncation_and_bad_lengths() {
        assert!(matches!(
            parse_one(&[0x61, 0x05, 0x01]),
            Err(TlvError::Truncated { .. })
        ));
        assert!(matches!(
            parse_one(&[0x61, 0x80]),
            Err(TlvError::UnsupportedLength { .. })
        ));
        assert!(matches!(
            parse_one(&[0x61, 0x85, 1, 1, 1, 1, 1]),
            Err(TlvError::UnsupportedLength { .. })
        ));
        assert!(matches!(
            parse_one(&[0x5F, 0x81, 0x81, 0x81]),
            Err(TlvError::TagTooLong { .. })
        ));
        assert!(matches!(
            parse_one(&[0x5F]),
            Err(TlvError::Truncated { .. })
        ));
        assert!(matches!(
            parse_one(&[0x61, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(TlvError::Truncated { .. })
        ));
        assert!(matches!(parse_one(&[]), Err(TlvError::Truncated { .. })));
    }
}

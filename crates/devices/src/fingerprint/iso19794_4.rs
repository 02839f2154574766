//! ISO/IEC 19794-4:2005 finger image records: encoder and validating parser.
//!
//! A record is a 32-byte general record header followed by one finger image record per view
//! (a 14-byte finger image header plus the image data). All integers are big-endian.
//!
//! General record header (32 bytes):
//!
//! | bytes | field |
//! | --- | --- |
//! | 4 | format identifier `FIR\0` |
//! | 4 | version `010\0` |
//! | 6 | record length (whole record, this header included) |
//! | 2 | capture device id (0 = unreported) |
//! | 2 | image acquisition level (10, 20, 30, 31, 40 or 41) |
//! | 1 | number of finger images (views) |
//! | 1 | scale units (1 pixels per inch, 2 pixels per centimetre) |
//! | 2 + 2 | scan resolution, horizontal and vertical |
//! | 2 + 2 | image resolution, horizontal and vertical |
//! | 1 | pixel depth (bits, 1..=16) |
//! | 1 | image compression algorithm (0 uncompressed, no bit packing; 1 uncompressed, bit packed; 2 WSQ; 3 JPEG; 4 JPEG 2000; 5 PNG) |
//! | 2 | reserved (0) |
//!
//! Finger image header (14 bytes): length of the finger data block (4, header included),
//! finger position (1; right index 2, left index 7), count of views (1), view number (1),
//! image quality (1; 0..=100, 254 = not computed), impression type (1; 0 live-scan plain),
//! horizontal and vertical line length in pixels (2 + 2), reserved (1).
//!
//! The layout was checked against NIST's public-domain biomdi library (`fir.h`: ISO general
//! header 32 bytes, view header 14 bytes; `biomdi.h`: compression code 5 = PNG).
//!
//! The R30x sensor images at 500 ppi, 256 x 288 pixels, with 4 bits per pixel on the wire;
//! [`super::FingerImage`] already widens the 16 grey levels to 8 bits (x 17), so the records
//! written here carry 8-bit grey, uncompressed (code 0) or PNG (code 5, lossless and about
//! 3-4x smaller). [`R30X_CAPTURE`] states the acquisition level as 30 (500 ppi, 8 bits): the
//! sensor's real grey resolution is 4 bits and it is not certified to any level, which a
//! reader should know.
//!
//! Privacy: finger images are biometric data. [`FingerView`]'s `Debug` prints only the sizes.

use thiserror::Error;

use super::image::{FingerImage, IMAGE_HEIGHT, IMAGE_WIDTH};

/// Format identifier at the start of every record.
pub const FORMAT_IDENTIFIER: [u8; 4] = *b"FIR\0";
/// Version of ISO/IEC 19794-4:2005 records.
pub const VERSION: [u8; 4] = *b"010\0";
/// Length of the general record header.
pub const GENERAL_HEADER_LEN: usize = 32;
/// Length of the finger image header that starts each view.
pub const FINGER_HEADER_LEN: usize = 14;
/// Largest value of the 6-byte record length field.
pub const MAX_RECORD_LEN: u64 = (1 << 48) - 1;
/// Image quality value meaning "not computed".
pub const QUALITY_NOT_COMPUTED: u8 = 254;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// Why a record could not be encoded or parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Iso19794Error {
    /// Fewer bytes than a header or a declared length needs.
    #[error("{what}: needs {needed} bytes, {available} available")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// The record does not start with `FIR\0`.
    #[error("not a finger image record: format identifier {found:02X?}")]
    FormatIdentifier {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// A version other than `010\0` (ISO/IEC 19794-4:2005).
    #[error("unsupported finger image record version {found:02X?}")]
    Version {
        /// Bytes 4..8.
        found: [u8; 4],
    },
    /// The record length field disagrees with the bytes given.
    #[error("record length field says {declared} bytes, the record has {actual}")]
    RecordLength {
        /// Value of the length field.
        declared: u64,
        /// Bytes given.
        actual: u64,
    },
    /// A header field holds a value the standard does not allow.
    #[error("{field}: invalid value {value}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A view's image data does not fit its dimensions and the record's compression.
    #[error("view {view}: image data {detail}")]
    ImageData {
        /// 1-based view index in the record.
        view: usize,
        /// What is wrong.
        detail: String,
    },
    /// Bytes left over after the declared views.
    #[error("{extra} bytes after the last finger view")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// The record to encode is inconsistent (no views, too many, too large).
    #[error("cannot encode: {0}")]
    Unencodable(String),
    /// PNG encoding or decoding failed.
    #[error("PNG: {0}")]
    Png(String),
}

/// Finger position code (ISO/IEC 19794-4 table 5; same codes as ANSI/NIST-ITL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FingerPosition(pub u8);

impl FingerPosition {
    /// Unknown finger.
    pub const UNKNOWN: Self = Self(0);
    /// Right index finger.
    pub const RIGHT_INDEX: Self = Self(2);
    /// Left index finger.
    pub const LEFT_INDEX: Self = Self(7);

    /// Whether the code is defined: 0..=15 for fingers and multi-finger plain images, 20..=36
    /// for palm codes.
    pub fn is_defined(self) -> bool {
        self.0 <= 15 || (20..=36).contains(&self.0)
    }
}

/// Impression type code (ISO/IEC 19794-4 table 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImpressionType(pub u8);

impl ImpressionType {
    /// Live-scan plain: a finger pressed on a live-scan sensor (the R30x case).
    pub const LIVE_SCAN_PLAIN: Self = Self(0);
    /// Live-scan rolled.
    pub const LIVE_SCAN_ROLLED: Self = Self(1);
    /// Non-live-scan plain (ink on paper).
    pub const NON_LIVE_SCAN_PLAIN: Self = Self(2);
    /// Non-live-scan rolled.
    pub const NON_LIVE_SCAN_ROLLED: Self = Self(3);
    /// Swipe sensor.
    pub const SWIPE: Self = Self(8);

    /// Whether the code is one of the defined types (0..=9 as listed by NIST biomdi).
    pub fn is_defined(self) -> bool {
        self.0 <= 9
    }
}

/// Image compression algorithm code of the general header (ISO/IEC 19794-4 table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// 0: uncompressed, one pixel per `ceil(depth / 8)` bytes, row major.
    Uncompressed,
    /// 1: uncompressed, pixels bit packed, row major.
    BitPacked,
    /// 2: WSQ.
    Wsq,
    /// 3: JPEG.
    Jpeg,
    /// 4: JPEG 2000.
    Jpeg2000,
    /// 5: PNG.
    Png,
}

impl Compression {
    /// The code written in the header.
    pub fn code(self) -> u8 {
        match self {
            Compression::Uncompressed => 0,
            Compression::BitPacked => 1,
            Compression::Wsq => 2,
            Compression::Jpeg => 3,
            Compression::Jpeg2000 => 4,
            Compression::Png => 5,
        }
    }

    /// The algorithm for a header code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Compression::Uncompressed,
            1 => Compression::BitPacked,
            2 => Compression::Wsq,
            3 => Compression::Jpeg,
            4 => Compression::Jpeg2000,
            5 => Compression::Png,
            _ => return None,
        })
    }
}

/// Scale units of the resolution fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScaleUnits {
    /// Pixels per inch (code 1).
    PixelsPerInch,
    /// Pixels per centimetre (code 2).
    PixelsPerCentimetre,
}

impl ScaleUnits {
    fn code(self) -> u8 {
        match self {
            ScaleUnits::PixelsPerInch => 1,
            ScaleUnits::PixelsPerCentimetre => 2,
        }
    }
}

/// What the general header says about the capture device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureDevice {
    /// Vendor-assigned capture device id (0 = unreported).
    pub device_id: u16,
    /// Image acquisition level (10, 20, 30, 31, 40, 41).
    pub acquisition_level: u16,
    /// Units of the resolutions.
    pub scale_units: ScaleUnits,
    /// Scan resolution (horizontal, vertical).
    pub scan_resolution: (u16, u16),
    /// Image resolution (horizontal, vertical).
    pub image_resolution: (u16, u16),
}

/// The R30x family: 500 ppi, device id unreported, acquisition level 30 (see the module docs
/// for why this is a statement about the format, not a certification).
pub const R30X_CAPTURE: CaptureDevice = CaptureDevice {
    device_id: 0,
    acquisition_level: 30,
    scale_units: ScaleUnits::PixelsPerInch,
    scan_resolution: (500, 500),
    image_resolution: (500, 500),
};

/// One finger image (a "view") of a record.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerView {
    /// Which finger.
    pub position: FingerPosition,
    /// How many views of this finger the record holds.
    pub view_count: u8,
    /// This view's number (1-based).
    pub view_number: u8,
    /// Quality 0..=100, or [`QUALITY_NOT_COMPUTED`].
    pub quality: u8,
    /// How the impression was taken.
    pub impression: ImpressionType,
    /// Width in pixels (horizontal line length).
    pub width: u16,
    /// Height in pixels (vertical line length).
    pub height: u16,
    /// Image data in the record's compression.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for FingerView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerView")
            .field("position", &self.position)
            .field("view", &(self.view_number, self.view_count))
            .field("quality", &self.quality)
            .field("impression", &self.impression)
            .field("size", &(self.width, self.height))
            .field("data", &format_args!("{} bytes, redacted", self.data.len()))
            .finish()
    }
}

/// A finger image record: general header facts plus the views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerImageRecord {
    /// Capture device facts.
    pub device: CaptureDevice,
    /// Bits per pixel (1..=16).
    pub pixel_depth: u8,
    /// Compression of every view's data.
    pub compression: Compression,
    /// The views (at least one, at most 255).
    pub views: Vec<FingerView>,
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Bytes of uncompressed image data for `width x height` pixels of `depth` bits.
fn uncompressed_len(width: u16, height: u16, depth: u8, compression: Compression) -> Option<u64> {
    let pixels = u64::from(width) * u64::from(height);
    match compression {
        Compression::Uncompressed => Some(pixels * u64::from(depth.div_ceil(8))),
        Compression::BitPacked => Some((pixels * u64::from(depth)).div_ceil(8)),
        _ => None,
    }
}

fn check_compressed_signature(compression: Compression, data: &[u8]) -> Result<(), String> {
    let ok = match compression {
        Compression::Png => data.starts_with(&PNG_SIGNATURE),
        Compression::Jpeg => data.starts_with(&[0xFF, 0xD8]),
        Compression::Wsq => data.starts_with(&[0xFF, 0xA0]),
        Compression::Jpeg2000 => {
            data.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
                || data.starts_with(&[0x00, 0x00, 0x00, 0x0C, b'j', b'P', b' ', b' '])
        }
        Compression::Uncompressed | Compression::BitPacked => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("does not start with the {compression:?} signature"))
    }
}

impl FingerImageRecord {
    /// One-view record of an R30x image: 8-bit grey, 500 ppi, live-scan plain, at `position`
    /// with `quality` (0..=100), stored uncompressed or as PNG.
    pub fn from_finger_image(
        image: &FingerImage,
        position: FingerPosition,
        quality: u8,
        compression: ImageEncoding,
    ) -> Result<Self, Iso19794Error> {
        let (compression, data) = match compression {
            ImageEncoding::Uncompressed => (Compression::Uncompressed, image.gray8().to_vec()),
            ImageEncoding::Png => (Compression::Png, encode_png(image)?),
        };
        Ok(FingerImageRecord {
            device: R30X_CAPTURE,
            pixel_depth: 8,
            compression,
            views: vec![FingerView {
                position,
                view_count: 1,
                view_number: 1,
                quality: quality.min(100),
                impression: ImpressionType::LIVE_SCAN_PLAIN,
                width: IMAGE_WIDTH as u16,
                height: IMAGE_HEIGHT as u16,
                data,
            }],
        })
    }

    /// The record's bytes. Fails on an inconsistent record (no view, more than 255, data that
    /// does not fit the dimensions, a length beyond the 6-byte field).
    pub fn encode(&self) -> Result<Vec<u8>, Iso19794Error> {
        if self.views.is_empty() || self.views.len() > 255 {
            return Err(Iso19794Error::Unencodable(format!(
                "{} views (1..=255 allowed)",
                self.views.len()
            )));
        }
        if !(1..=16).contains(&self.pixel_depth) {
            return Err(Iso19794Error::Unencodable(format!(
                "pixel depth {}",
                self.pixel_depth
            )));
        }
        let mut total = GENERAL_HEADER_LEN as u64;
        for (index, view) in self.views.iter().enumerate() {
            self.check_view(index + 1, view)?;
            total += (FINGER_HEADER_LEN + view.data.len()) as u64;
        }
        if total > MAX_RECORD_LEN {
            return Err(Iso19794Error::Unencodable(format!(
                "{total} bytes exceed the record length field"
            )));
        }
        let capacity = usize::try_from(total)
            .map_err(|_| Iso19794Error::Unencodable(format!("{total} bytes")))?;
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(&FORMAT_IDENTIFIER);
        out.extend_from_slice(&VERSION);
        out.extend_from_slice(&total.to_be_bytes()[2..]);
        out.extend_from_slice(&self.device.device_id.to_be_bytes());
        out.extend_from_slice(&self.device.acquisition_level.to_be_bytes());
        out.push(self.views.len() as u8);
        out.push(self.device.scale_units.code());
        for value in [
            self.device.scan_resolution.0,
            self.device.scan_resolution.1,
            self.device.image_resolution.0,
            self.device.image_resolution.1,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.push(self.pixel_depth);
        out.push(self.compression.code());
        out.extend_from_slice(&[0, 0]);
        for view in &self.views {
            let block = (FINGER_HEADER_LEN + view.data.len()) as u32;
            out.extend_from_slice(&block.to_be_bytes());
            out.push(view.position.0);
            out.push(view.view_count);
            out.push(view.view_number);
            out.push(view.quality);
            out.push(view.impression.0);
            out.extend_from_slice(&view.width.to_be_bytes());
            out.extend_from_slice(&view.height.to_be_bytes());
            out.push(0);
            out.extend_from_slice(&view.data);
        }
        Ok(out)
    }

    fn check_view(&self, index: usize, view: &FingerView) -> Result<(), Iso19794Error> {
        let invalid =
            |field: &'static str, value: u64| Iso19794Error::InvalidField { field, value };
        if !view.position.is_defined() {
            return Err(invalid("finger position", view.position.0.into()));
        }
        if view.view_count == 0 {
            return Err(invalid("count of views", 0));
        }
        if view.view_number == 0 || view.view_number > view.view_count {
            return Err(invalid("view number", view.view_number.into()));
        }
        if view.quality > 100 && view.quality != QUALITY_NOT_COMPUTED {
            return Err(invalid("finger image quality", view.quality.into()));
        }
        if !view.impression.is_defined() {
            return Err(invalid("impression type", view.impression.0.into()));
        }
        if view.width == 0 || view.height == 0 {
            return Err(Iso19794Error::ImageData {
                view: index,
                detail: format!("has zero size {}x{}", view.width, view.height),
            });
        }
        if u32::try_from(FINGER_HEADER_LEN + view.data.len()).is_err() {
            return Err(Iso19794Error::ImageData {
                view: index,
                detail: format!("of {} bytes exceeds the block length", view.data.len()),
            });
        }
        match uncompressed_len(view.width, view.height, self.pixel_depth, self.compression) {
            Some(expected) if expected != view.data.len() as u64 => Err(Iso19794Error::ImageData {
                view: index,
                detail: format!(
                    "is {} bytes, {}x{} at {} bits needs {expected}",
                    view.data.len(),
                    view.width,
                    view.height,
                    self.pixel_depth
                ),
            }),
            Some(_) => Ok(()),
            None => check_compressed_signature(self.compression, &view.data).map_err(|detail| {
                Iso19794Error::ImageData {
                    view: index,
                    detail,
                }
            }),
        }
    }

    /// Parses and validates a record: identifier and version, the record length against the
    /// bytes given, every header field against the values the standard allows, each view's
    /// block length against what is left, uncompressed data length against width x height x
    /// depth, the signature of compressed data, and no trailing bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, Iso19794Error> {
        let actual = bytes.len() as u64;
        if bytes.len() < GENERAL_HEADER_LEN {
            return Err(Iso19794Error::Truncated {
                what: "general record header",
                needed: GENERAL_HEADER_LEN as u64,
                available: actual,
            });
        }
        let mut found = [0u8; 4];
        found.copy_from_slice(&bytes[0..4]);
        if found != FORMAT_IDENTIFIER {
            return Err(Iso19794Error::FormatIdentifier { found });
        }
        found.copy_from_slice(&bytes[4..8]);
        if found != VERSION {
            return Err(Iso19794Error::Version { found });
        }
        let declared = be(&bytes[8..14]);
        if declared != actual {
            return Err(Iso19794Error::RecordLength { declared, actual });
        }
        let invalid =
            |field: &'static str, value: u64| Iso19794Error::InvalidField { field, value };
        let acquisition_level = u16_at(bytes, 16);
        if ![10, 20, 30, 31, 40, 41].contains(&acquisition_level) {
            return Err(invalid("image acquisition level", acquisition_level.into()));
        }
        let view_total = bytes[18];
        if view_total == 0 {
            return Err(invalid("number of finger images", 0));
        }
        let scale_units = match bytes[19] {
            1 => ScaleUnits::PixelsPerInch,
            2 => ScaleUnits::PixelsPerCentimetre,
            other => return Err(invalid("scale units", other.into())),
        };
        let resolutions = [
            u16_at(bytes, 20),
            u16_at(bytes, 22),
            u16_at(bytes, 24),
            u16_at(bytes, 26),
        ];
        if let Some(&zero) = resolutions.iter().find(|&&r| r == 0) {
            return Err(invalid("resolution", zero.into()));
        }
        let pixel_depth = bytes[28];
        if !(1..=16).contains(&pixel_depth) {
            return Err(invalid("pixel depth", pixel_depth.into()));
        }
        let compression = Compression::from_code(bytes[29])
            .ok_or_else(|| invalid("image compression algorithm", bytes[29].into()))?;
        let mut record = FingerImageRecord {
            device: CaptureDevice {
                device_id: u16_at(bytes, 14),
                acquisition_level,
                scale_units,
                scan_resolution: (resolutions[0], resolutions[1]),
                image_resolution: (resolutions[2], resolutions[3]),
            },
            pixel_depth,
            compression,
            views: Vec::with_capacity(usize::from(view_total)),
        };
        let mut rest = &bytes[GENERAL_HEADER_LEN..];
        for index in 1..=usize::from(view_total) {
            if rest.len() < FINGER_HEADER_LEN {
                return Err(Iso19794Error::Truncated {
                    what: "finger image header",
                    needed: FINGER_HEADER_LEN as u64,
                    available: rest.len() as u64,
                });
            }
            let block = be(&rest[0..4]);
            if block < FINGER_HEADER_LEN as u64 {
                return Err(invalid("finger data block length", block));
            }
            if block > rest.len() as u64 {
                return Err(Iso19794Error::Truncated {
                    what: "finger data block",
                    needed: block,
                    available: rest.len() as u64,
                });
            }
            // block <= rest.len(), so it fits in usize.
            let block = block as usize;
            let view = FingerView {
                position: FingerPosition(rest[4]),
                view_count: rest[5],
                view_number: rest[6],
                quality: rest[7],
                impression: ImpressionType(rest[8]),
                width: u16_at(rest, 9),
                height: u16_at(rest, 11),
                data: rest[FINGER_HEADER_LEN..block].to_vec(),
            };
            record.check_view(index, &view)?;
            record.views.push(view);
            rest = &rest[block..];
        }
        if !rest.is_empty() {
            return Err(Iso19794Error::TrailingBytes {
                extra: rest.len() as u64,
            });
        }
        Ok(record)
    }
}

/// How [`FingerImageRecord::from_finger_image`] stores the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageEncoding {
    /// Compression code 0: 8-bit pixels as they are (73,728 bytes for 256 x 288).
    Uncompressed,
    /// Compression code 5: lossless PNG, 8-bit grey.
    Png,
}

fn encode_png(image: &FingerImage) -> Result<Vec<u8>, Iso19794Error> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            image.gray8(),
            IMAGE_WIDTH as u32,
            IMAGE_HEIGHT as u32,
            image::ExtendedColorType::L8,
        )
        .map_err(|error| Iso19794Error::Png(error.to_string()))?;
    Ok(out)
}

impl FingerView {
    /// The view as an R30x-sized [`FingerImage`], for 8-bit uncompressed or PNG views of
    /// 256 x 288 pixels (what this crate writes).
    pub fn to_finger_image(
        &self,
        record: &FingerImageRecord,
    ) -> Result<FingerImage, Iso19794Error> {
        if usize::from(self.width) != IMAGE_WIDTH
            || usize::from(self.height) != IMAGE_HEIGHT
            || record.pixel_depth != 8
        {
            return Err(Iso19794Error::Unencodable(format!(
                "view is {}x{} at {} bits; FingerImage is {IMAGE_WIDTH}x{IMAGE_HEIGHT} at 8",
                self.width, self.height, record.pixel_depth
            )));
        }
        let pixels = match record.compression {
            Compression::Uncompressed => self.data.clone(),
            Compression::Png => {
                let decoded =
                    image::load_from_memory_with_format(&self.data, image::ImageFormat::Png)
                        .map_err(|error| Iso19794Error::Png(error.to_string()))?;
                if decoded.width() != u32::from(self.width)
                    || decoded.height() != u32::from(self.height)
                {
                    return Err(Iso19794Error::Png(format!(
                        "PNG is {}x{}, header says {}x{}",
                        decoded.width(),
                        decoded.height(),
                        self.width,
                        self.height
                    )));
                }
                decoded.into_luma8().into_raw()
            }
            other => {
                return Err(Iso19794Error::Unencodable(format!(
                    "decoding {other:?} is not supported"
                )));
            }
        };
        FingerImage::from_gray8(pixels).map_err(|error| Iso19794Error::ImageData {
            view: usize::from(self.view_number),
            detail: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ridges() -> FingerImage {
        FingerImage::from_fn(|x, y| if (x + y / 3) % 7 < 3 { 20 } else { 230 })
    }

    #[test]
    fn uncompressed_record_has_the_2005_layout_byte_for_byte() {
        let image = ridges();
        let record = FingerImageRecord::from_finger_image(
            &image,
            FingerPosition::LEFT_INDEX,
            87,
            ImageEncoding::Uncompressed,
        )
        .unwrap();
        let bytes = record.encode().unwrap();
        let total = 32 + 14 + 256 * 288;
        assert_eq!(bytes.len(), total);
        let header: Vec<u8> = [
            &b"FIR\x00010\x00"[..],
            &(total as u64).to_be_bytes()[2..],
            &[0, 0],                               // capture device id
            &[0, 30],                              // acquisition level
            &[1, 1],                               // one view, pixels per inch
            &[1, 0xF4, 1, 0xF4, 1, 0xF4, 1, 0xF4], // 500 ppi x4
            &[8, 0, 0, 0],                         // depth 8, uncompressed, reserved
        ]
        .concat();
        assert_eq!(&bytes[..32], &header[..]);
        let view_header: Vec<u8> = [
            &((14 + 256 * 288) as u32).to_be_bytes()[..],
            &[7, 1, 1, 87, 0],   // left index, 1 of 1, quality 87, live-scan plain
            &[1, 0, 1, 0x20, 0], // 256 x 288, reserved
        ]
        .concat();
        assert_eq!(&bytes[32..46], &view_header[..]);
        assert_eq!(&bytes[46..], image.gray8());
        let parsed = FingerImageRecord::parse(&bytes).unwrap();
        assert_eq!(parsed, record);
        assert_eq!(parsed.views[0].to_finger_image(&parsed).unwrap(), image);
    }

    #[test]
    fn a_wire_image_from_the_module_becomes_an_8_bit_record() {
        // What UpImage delivers: 4 bits per pixel, two pixels per byte.
        let packed: Vec<u8> = (0..super::super::image::PACKED_IMAGE_LEN)
            .map(|i| (i % 251) as u8)
            .collect();
        let image = FingerImage::from_packed_4bpp(&packed).unwrap();
        let bytes = FingerImageRecord::from_finger_image(
            &image,
            FingerPosition::RIGHT_INDEX,
            image.quality().score,
            ImageEncoding::Uncompressed,
        )
        .unwrap()
        .encode()
        .unwrap();
        assert_eq!(bytes[28], 8, "pixel depth 8 on the host");
        let pixels = &bytes[46..];
        assert_eq!(pixels.len(), 256 * 288);
        assert_eq!(
            (pixels[2], pixels[3]),
            (0, 17),
            "byte 0x01: nibbles widened x 17"
        );
        assert!(pixels.iter().all(|p| p % 17 == 0));
        let parsed = FingerImageRecord::parse(&bytes).unwrap();
        assert_eq!(parsed.views[0].to_finger_image(&parsed).unwrap(), image);
    }

    #[test]
    fn png_record_round_trips_losslessly_and_is_smaller() {
        let image = ridges();
        let record = FingerImageRecord::from_finger_image(
            &image,
            FingerPosition::RIGHT_INDEX,
            60,
            ImageEncoding::Png,
        )
        .unwrap();
        let bytes = record.encode().unwrap();
        assert_eq!(bytes[29], 5, "compression code 5 = PNG");
        assert_eq!(bytes[32 + 4], 2, "right index = 2");
        assert!(
            bytes.len() < 32 + 14 + 256 * 288 / 2,
            "{} bytes",
            bytes.len()
        );
        let parsed = FingerImageRecord::parse(&bytes).unwrap();
        assert_eq!(parsed.views[0].to_finger_image(&parsed).unwrap(), image);
    }

    #[test]
    fn two_views_parse_in_order() {
        let image = ridges();
        let mut record = FingerImageRecord::from_finger_image(
            &image,
            FingerPosition::LEFT_INDEX,
            50,
            ImageEncoding::Uncompressed,
        )
        .unwrap();
        let mut right = record.views[0].clone();
        right.position = FingerPosition::RIGHT_INDEX;
        record.views.push(right);
        let parsed = FingerImageRecord::parse(&record.encode().unwrap()).unwrap();
        let positions: Vec<_> = parsed.views.iter().map(|v| v.position).collect();
        assert_eq!(
            positions,
            [FingerPosition::LEFT_INDEX, FingerPosition::RIGHT_INDEX]
        );
    }

    fn valid_bytes() -> Vec<u8> {
        FingerImageRecord::from_finger_image(
            &ridges(),
            FingerPosition::LEFT_INDEX,
            70,
            ImageEncoding::Uncompressed,
        )
        .unwrap()
        .encode()
        .unwrap()
    }

    fn set_record_length(bytes: &mut [u8], length: u64) {
        bytes[8..14].copy_from_slice(&length.to_be_bytes()[2..]);
    }

    #[test]
    fn parser_rejects_every_broken_length_and_field() {
        let good = valid_bytes();
        // Truncations anywhere are caught (by the record length or the header size).
        for cut in [0, 10, 31, 32, 45, 46, good.len() - 1] {
            assert!(
                FingerImageRecord::parse(&good[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        // Truncated with a matching record length: the view block no longer fits.
        let mut short = good[..good.len() - 1].to_vec();
        let length = short.len() as u64;
        set_record_length(&mut short, length);
        assert!(matches!(
            FingerImageRecord::parse(&short),
            Err(Iso19794Error::Truncated {
                what: "finger data block",
                ..
            })
        ));
        // Block length and data length disagree with the dimensions.
        let mut wrong_block = short.clone();
        wrong_block[32..36].copy_from_slice(&((short.len() - 32) as u32).to_be_bytes());
        assert!(matches!(
            FingerImageRecord::parse(&wrong_block),
            Err(Iso19794Error::ImageData { view: 1, .. })
        ));
        // Block length below the header size.
        let mut tiny_block = good.clone();
        tiny_block[32..36].copy_from_slice(&13u32.to_be_bytes());
        assert!(FingerImageRecord::parse(&tiny_block).is_err());
        // Trailing bytes.
        let mut long = good.clone();
        long.push(0);
        let length = long.len() as u64;
        set_record_length(&mut long, length);
        assert!(matches!(
            FingerImageRecord::parse(&long),
            Err(Iso19794Error::TrailingBytes { extra: 1 })
        ));
        // Field values.
        let cases: &[(usize, u8, &str)] = &[
            (0, b'X', "identifier"),
            (5, b'2', "version"),
            (17, 99, "acquisition level"),
            (18, 0, "no views"),
            (19, 3, "scale units"),
            (21, 0, "zero resolution"),
            (28, 0, "pixel depth"),
            (29, 6, "compression"),
            (36, 16, "finger position"),
            (37, 0, "count of views"),
            (38, 2, "view number"),
            (39, 101, "quality"),
            (40, 10, "impression type"),
        ];
        for &(at, value, what) in cases {
            let mut broken = good.clone();
            if at == 21 {
                broken[20] = 0;
            }
            broken[at] = value;
            assert!(FingerImageRecord::parse(&broken).is_err(), "{what}");
        }
        // Quality 254 (not computed) is allowed.
        let mut unscored = good.clone();
        unscored[39] = QUALITY_NOT_COMPUTED;
        assert!(FingerImageRecord::parse(&unscored).is_ok());
        // PNG code with raw pixels: signature check.
        let mut fake_png = good;
        fake_png[29] = 5;
        assert!(matches!(
            FingerImageRecord::parse(&fake_png),
            Err(Iso19794Error::ImageData { .. })
        ));
    }

    #[test]
    fn encoder_refuses_inconsistent_records() {
        let mut record = FingerImageRecord::parse(&valid_bytes()).unwrap();
        record.views[0].data.pop();
        assert!(record.encode().is_err());
        record.views.clear();
        assert!(record.encode().is_err());
    }

    #[test]
    fn debug_redacts_pixels() {
        let record = FingerImageRecord::parse(&valid_bytes()).unwrap();
        let text = format!("{record:?}");
        assert!(text.contains("73728 bytes, redacted"), "{text}");
        assert!(text.len() < 600, "{text}");
    }
}

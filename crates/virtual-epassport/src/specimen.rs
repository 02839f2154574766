//! Specimen documents for tests and the demo bench: the MRZ of the ICAO Doc 9303 specimen
//! holder (ERIKSSON, ANNA MARIA, born 1974-08-12) on a document number, nationality and expiry
//! of the caller's choice, and a chip photo made from a photo file the way issuers make them.

use std::path::{Path, PathBuf};

/// Errors making a specimen.
#[derive(Debug, thiserror::Error)]
pub enum SpecimenError {
    /// The photo could not be read or encoded.
    #[error("photo {path}: {source}")]
    Photo {
        /// The photo file.
        path: PathBuf,
        /// What failed.
        source: image::ImageError,
    },
    /// A field cannot be written in an MRZ.
    #[error("MRZ field {field} {value:?}: {reason}")]
    Mrz {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it cannot be written.
        reason: &'static str,
    },
}

/// The specimen holder's date of birth (YYMMDD).
pub const SPECIMEN_BIRTH: &str = "740812";

/// The two MRZ lines of a TD3 passport of the specimen holder with document `number` (9
/// characters), issued by and for `nationality` (ICAO three-letter code), expiring on `expiry`
/// (YYMMDD), with valid check digits.
pub fn td3_mrz(
    nationality: &str,
    number: &str,
    expiry: &str,
) -> Result<[String; 2], SpecimenError> {
    let field_error = |field, value: &str, reason| SpecimenError::Mrz {
        field,
        value: value.to_owned(),
        reason,
    };
    if nationality.len() != 3 || !nationality.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(field_error(
            "nationality",
            nationality,
            "not an ICAO three-letter code",
        ));
    }
    if number.len() != 9 {
        return Err(field_error("document number", number, "not 9 characters"));
    }
    if expiry.len() != 6 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return Err(field_error("expiry", expiry, "not YYMMDD"));
    }
    let digit = |field, data: &str| {
        mrtd::mrz::check_digit(data.as_bytes())
            .map(|value| char::from(b'0' + value))
            .ok_or_else(|| field_error(field, data, "has characters an MRZ cannot hold"))
    };
    let optional = "ZE184226B<<<<<";
    let n = digit("document number", number)?;
    let b = digit("birth", SPECIMEN_BIRTH)?;
    let e = digit("expiry", expiry)?;
    let o = digit("optional data", optional)?;
    let composite = digit(
        "composite",
        &format!("{number}{n}{SPECIMEN_BIRTH}{b}{expiry}{e}{optional}{o}"),
    )?;
    let first = format!("P<{nationality}ERIKSSON<<ANNA<MARIA");
    Ok([
        format!("{first:<<44}"),
        format!("{number}{n}{nationality}{SPECIMEN_BIRTH}{b}F{expiry}{e}{optional}{o}{composite}"),
    ])
}

/// The chip photo of `photo` (a JPEG or PNG file): scaled to fit 300x400 and JPEG-encoded at
/// quality 80, about 20 KB, as issuers store the holder's face in DG2.
pub fn chip_photo(photo: &Path) -> Result<Vec<u8>, SpecimenError> {
    let error = |source| SpecimenError::Photo {
        path: photo.to_owned(),
        source,
    };
    let small = image::open(photo)
        .map_err(error)?
        .resize(300, 400, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&small)
        .map_err(error)?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specimen_mrz_parses_and_matches_icao_for_the_specimen_number() {
        let lines = td3_mrz("UTO", "L898902C3", "340415").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lines[0], "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<");
        assert!(lines[1].starts_with("L898902C36UTO7408122F340415"));
        assert!(mrtd::mrz::Mrz::parse(&lines).is_ok());
        let jpn = td3_mrz("JPN", "D00000001", "240415").unwrap_or_else(|e| panic!("{e}"));
        assert!(mrtd::mrz::Mrz::parse(&jpn).is_ok());
        assert!(td3_mrz("jp", "D00000001", "340415").is_err());
        assert!(td3_mrz("JPN", "D1", "340415").is_err());
        assert!(td3_mrz("JPN", "D00000001", "34-04").is_err());
    }
}

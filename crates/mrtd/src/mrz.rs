//! Machine readable zone (ICAO Doc 9303 Parts 3 to 7): parsing, check digits and the
//! BAC/PACE key seed.
//!
//! [`Mrz::parse`] accepts the lines of a TD1 (3 x 30), TD2 (2 x 36), TD3 (2 x 44), MRV-A
//! (2 x 44, document code `V`) or MRV-B (2 x 36, document code `V`) zone, checks the character set,
//! every check digit and the composite check digit, and returns a typed [`Mrz`]. Errors name the
//! field and its 1-based line and column.
//!
//! Privacy: [`Mrz`], [`DocumentNumber`] and [`MrzInformation`] implement `Debug` without the
//! document number, the names or the dates, so they can appear in error chains and logs safely.

use std::fmt;

/// Filler character of the MRZ.
pub const FILLER: u8 = b'<';

/// Errors found while parsing a machine readable zone. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// The number of lines (or their lengths) matches no MRZ format.
    #[error(
        "unrecognised MRZ shape: {lines} line(s) of length {first_line_length} (expected 3x30, 2x36 or 2x44)"
    )]
    UnknownFormat {
        /// Number of lines given.
        lines: usize,
        /// Length of the first line.
        first_line_length: usize,
    },
    /// One line has a different length from what the format requires.
    #[error("line {line} has {found} characters, expected {expected}")]
    LineLength {
        /// Line number (1-based).
        line: usize,
        /// Required length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// A character outside `A-Z`, `0-9` and `<`.
    #[error("invalid character {found:?} at line {line}, column {column}")]
    InvalidCharacter {
        /// Line number (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// The offending character.
        found: char,
    },
    /// A check digit does not match its field.
    #[error(
        "check digit of {field} at line {line}, column {column} is {found:?}, computed {computed}"
    )]
    CheckDigit {
        /// Field protected by the check digit.
        field: MrzField,
        /// Line of the check digit (1-based).
        line: usize,
        /// Column of the check digit (1-based).
        column: usize,
        /// Check digit computed from the field.
        computed: u8,
        /// Character found in the check digit position.
        found: char,
    },
    /// A field has an invalid value (bad date, bad sex marker, bad document code...).
    #[error("invalid {field} at line {line}, column {column}: {reason}")]
    InvalidField {
        /// The field.
        field: MrzField,
        /// Line of the field start (1-based).
        line: usize,
        /// Column of the field start (1-based).
        column: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl MrzError {
    /// Stable machine-readable kind (`unknown_format`, `line_length`, `invalid_character`,
    /// `check_digit`, `invalid_field`).
    pub fn kind(&self) -> &'static str {
        match self {
            MrzError::UnknownFormat { .. } => "unknown_format",
            MrzError::LineLength { .. } => "line_length",
            MrzError::InvalidCharacter { .. } => "invalid_character",
            MrzError::CheckDigit { .. } => "check_digit",
            MrzError::InvalidField { .. } => "invalid_field",
        }
    }

    /// The field concerned, if the error is about one field.
    pub fn field(&self) -> Option<MrzField> {
        match self {
            MrzError::CheckDigit { field, .. } | MrzError::InvalidField { field, .. } => {
                Some(*field)
            }
            _ => None,
        }
    }

    /// 1-based (line, column) of the problem; column 1 for whole-line problems, `None` when
    /// the shape of the zone is unknown.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            MrzError::UnknownFormat { .. } => None,
            MrzError::LineLength { line, .. } => Some((*line, 1)),
            MrzError::InvalidCharacter { line, column, .. }
            | MrzError::CheckDigit { line, column, .. }
            | MrzError::InvalidField { line, column, .. } => Some((*line, *column)),
        }
    }
}

/// Names of the MRZ fields, used in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MrzField {
    /// Document code (`P`, `I`, `A`, `C`, `V` plus one optional character).
    DocumentCode,
    /// Issuing state or organisation.
    IssuingState,
    /// Name of holder.
    Names,
    /// Document number.
    DocumentNumber,
    /// Nationality.
    Nationality,
    /// Date of birth.
    BirthDate,
    /// Sex.
    Sex,
    /// Date of expiry.
    ExpiryDate,
    /// Optional data / personal number.
    OptionalData,
    /// Composite check digit.
    Composite,
}

impl MrzField {
    /// Stable snake_case identifier (`document_number`, `birth_date`...).
    pub fn key(self) -> &'static str {
        match self {
            MrzField::DocumentCode => "document_code",
            MrzField::IssuingState => "issuing_state",
            MrzField::Names => "names",
            MrzField::DocumentNumber => "document_number",
            MrzField::Nationality => "nationality",
            MrzField::BirthDate => "birth_date",
            MrzField::Sex => "sex",
            MrzField::ExpiryDate => "expiry_date",
            MrzField::OptionalData => "optional_data",
            MrzField::Composite => "composite",
        }
    }
}

impl fmt::Display for MrzField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MrzField::DocumentCode => "document code",
            MrzField::IssuingState => "issuing state",
            MrzField::Names => "names",
            MrzField::DocumentNumber => "document number",
            MrzField::Nationality => "nationality",
            MrzField::BirthDate => "date of birth",
            MrzField::Sex => "sex",
            MrzField::ExpiryDate => "date of expiry",
            MrzField::OptionalData => "optional data",
            MrzField::Composite => "composite",
        })
    }
}

/// Physical format of the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MrzFormat {
    /// ID-1 card, 3 lines of 30 characters.
    Td1,
    /// ID-2 card, 2 lines of 36 characters.
    Td2,
    /// Passport booklet, 2 lines of 44 characters.
    Td3,
    /// Full-size visa, 2 lines of 44 characters.
    MrvA,
    /// Small visa, 2 lines of 36 characters.
    MrvB,
}

impl MrzFormat {
    /// Stable lowercase name (`td1`, `td2`, `td3`, `mrv-a`, `mrv-b`).
    pub fn name(self) -> &'static str {
        match self {
            MrzFormat::Td1 => "td1",
            MrzFormat::Td2 => "td2",
            MrzFormat::Td3 => "td3",
            MrzFormat::MrvA => "mrv-a",
            MrzFormat::MrvB => "mrv-b",
        }
    }
}

/// Sex of the holder as printed in the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `M`.
    Male,
    /// `F`.
    Female,
    /// `<` or `X`.
    Unspecified,
}

/// A YYMMDD date of the MRZ. Parts of a birth date may be unknown (filled with `<`);
/// the century is not in the MRZ and is resolved by the caller with
/// [`MrzDate::birth_year`] or [`MrzDate::expiry_year`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MrzDate {
    /// Two-digit year, `None` if unknown.
    pub year: Option<u8>,
    /// Month 1..=12, `None` if unknown.
    pub month: Option<u8>,
    /// Day 1..=31, `None` if unknown.
    pub day: Option<u8>,
    raw: [u8; 6],
}

impl fmt::Debug for MrzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzDate(<redacted>)")
    }
}

impl MrzDate {
    /// The six MRZ characters (`YYMMDD`, possibly with `<`).
    pub fn as_mrz(&self) -> &[u8; 6] {
        &self.raw
    }

    /// Parses six MRZ characters. Unknown parts (two fillers) are accepted only when
    /// `allow_unknown` is set (dates of birth).
    pub fn parse(raw: &[u8], allow_unknown: bool) -> Result<MrzDate, &'static str> {
        let raw: [u8; 6] = raw.try_into().map_err(|_| "a date has 6 characters")?;
        let part = |i: usize| -> Result<Option<u8>, &'static str> {
            match (raw[i], raw[i + 1]) {
                (FILLER, FILLER) if allow_unknown => Ok(None),
                (a, b) if a.is_ascii_digit() && b.is_ascii_digit() => {
                    Ok(Some((a - b'0') * 10 + (b - b'0')))
                }
                _ => Err("date parts must be two digits"),
            }
        };
        let (year, month, day) = (part(0)?, part(2)?, part(4)?);
        if let Some(m) = month
            && !(1..=12).contains(&m)
        {
            return Err("month out of range");
        }
        if let Some(d) = day {
            let max = match month {
                Some(2) => 29,
                Some(4 | 6 | 9 | 11) => 30,
                _ => 31,
            };
            if d == 0 || d > max {
                return Err("day out of range");
            }
        }
        Ok(MrzDate {
            year,
            month,
            day,
            raw,
        })
    }

    /// Full year of a date of birth: the latest year ending in these two digits that is not
    /// after `current_year`. `None` if the year is unknown.
    pub fn birth_year(&self, current_year: u16) -> Option<u16> {
        let yy = u32::from(self.year?);
        let current = u32::from(current_year);
        let candidate = current - current % 100 + yy;
        let year = if candidate > current {
            candidate.checked_sub(100)?
        } else {
            candidate
        };
        u16::try_from(year).ok()
    }

    /// Full year of a date of expiry: the year ending in these two digits closest to
    /// `current_year` within the window `current_year - 50 ..= current_year + 49`.
    pub fn expiry_year(&self, current_year: u16) -> Option<u16> {
        let yy = u32::from(self.year?);
        let current = u32::from(current_year);
        let mut candidate = current - current % 100 + yy;
        if candidate + 50 <= current {
            candidate += 100;
        } else if candidate > current + 49 {
            candidate = candidate.checked_sub(100)?;
        }
        u16::try_from(candidate).ok()
    }
}

/// A document number. `Debug` never shows it; use [`DocumentNumber::as_str`] deliberately.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DocumentNumber(String);

impl DocumentNumber {
    /// The document number without fillers.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number masked except its last three characters (`******890`), for display to the
    /// technician who typed it.
    pub fn masked(&self) -> String {
        let count = self.0.chars().count();
        self.0
            .chars()
            .enumerate()
            .map(|(i, c)| if i + 3 < count { '*' } else { c })
            .collect()
    }
}

impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DocumentNumber(<redacted>)")
    }
}

/// The "MRZ information" from which BAC and PACE derive their keys:
/// document number + check digit, date of birth + check digit, date of expiry + check digit
/// (ICAO 9303 Part 11, 4.3.1 and 9.7.2).
#[derive(Clone, PartialEq, Eq)]
pub struct MrzInformation(Vec<u8>);

impl fmt::Debug for MrzInformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzInformation(<redacted>)")
    }
}

impl Drop for MrzInformation {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl MrzInformation {
    /// Builds the MRZ information from the three fields (without check digits, which are
    /// computed here). Document numbers shorter than 9 characters are padded with `<`.
    pub fn new(
        document_number: &str,
        birth_yymmdd: &str,
        expiry_yymmdd: &str,
    ) -> Result<Self, MrzError> {
        let mut number = document_number.as_bytes().to_vec();
        while number.len() < 9 {
            number.push(FILLER);
        }
        let invalid = |field, bytes: &[u8]| -> Result<(), MrzError> {
            match bytes.iter().position(|&c| !is_mrz_char(c)) {
                Some(i) => Err(MrzError::InvalidCharacter {
                    line: 1,
                    column: i + 1,
                    found: char::from(bytes[i]),
                }),
                None if field == MrzField::DocumentNumber => Ok(()),
                None => MrzDate::parse(bytes, true).map(|_| ()).map_err(|reason| {
                    MrzError::InvalidField {
                        field,
                        line: 1,
                        column: 1,
                        reason,
                    }
                }),
            }
        };
        invalid(MrzField::DocumentNumber, &number)?;
        invalid(MrzField::BirthDate, birth_yymmdd.as_bytes())?;
        invalid(MrzField::ExpiryDate, expiry_yymmdd.as_bytes())?;
        let mut info = Vec::with_capacity(number.len() + 14);
        for field in [
            &number[..],
            birth_yymmdd.as_bytes(),
            expiry_yymmdd.as_bytes(),
        ] {
            info.extend_from_slice(field);
            // Characters were validated above, so the check digit exists.
            info.push(b'0' + check_digit(field).unwrap_or(0));
        }
        Ok(MrzInformation(info))
    }

    /// The ASCII bytes fed to the key derivation.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A parsed and validated machine readable zone.
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    /// Physical format.
    pub format: MrzFormat,
    /// Document code without fillers (`P`, `ID`, `I`, `V`, `AC`...).
    pub document_code: String,
    /// Issuing state or organisation without fillers (`UTO`, `D`).
    pub issuing_state: String,
    /// Primary identifier (surname), fillers turned into spaces.
    pub primary_identifier: String,
    /// Secondary identifier (given names), fillers turned into spaces.
    pub secondary_identifier: String,
    /// Document number, including the TD1/TD2 long-number extension.
    pub document_number: DocumentNumber,
    /// Nationality without fillers.
    pub nationality: String,
    /// Date of birth.
    pub birth_date: MrzDate,
    /// Sex.
    pub sex: Sex,
    /// Date of expiry.
    pub expiry_date: MrzDate,
    /// Optional data (TD1 line 1 after any long-number extension; TD2/TD3/MRV line 2),
    /// fillers trimmed at the end.
    pub optional_data: String,
    /// Second optional data field (TD1 line 2 only).
    pub optional_data_2: Option<String>,
    mrz_information: MrzInformation,
}

impl fmt::Debug for Mrz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mrz")
            .field("format", &self.format)
            .field("document_code", &self.document_code)
            .field("issuing_state", &self.issuing_state)
            .field("nationality", &self.nationality)
            .field("personal_data", &"<redacted>")
            .finish()
    }
}

/// Returns true for the MRZ character set `A-Z`, `0-9`, `<`.
pub fn is_mrz_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == FILLER
}

/// ICAO 9303 Part 3 check digit (weights 7, 3, 1; `<` = 0, `A` = 10 ... `Z` = 35).
/// `None` if `data` holds a character outside the MRZ set.
pub fn check_digit(data: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, &c) in data.iter().enumerate() {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            FILLER => 0,
            _ => return None,
        };
        sum += value * WEIGHTS[i % 3];
    }
    // sum % 10 < 10, so the cast cannot truncate.
    Some((sum % 10) as u8)
}

/// One MRZ line with its 1-based line number, for positioned errors.
struct Line<'a> {
    bytes: &'a [u8],
    number: usize,
}

impl<'a> Line<'a> {
    /// Characters at 0-based `start..start+len` (caller guarantees bounds by checking lengths).
    fn get(&self, start: usize, len: usize) -> &'a [u8] {
        self.bytes.get(start..start + len).unwrap_or(&[])
    }

    fn byte(&self, index: usize) -> u8 {
        self.bytes.get(index).copied().unwrap_or(FILLER)
    }

    fn field_error(&self, field: MrzField, start: usize, reason: &'static str) -> MrzError {
        MrzError::InvalidField {
            field,
            line: self.number,
            column: start + 1,
            reason,
        }
    }

    /// Verifies the check digit at `cd_index` against `data`.
    fn verify(&self, field: MrzField, data: &[u8], cd_index: usize) -> Result<(), MrzError> {
        let computed = check_digit(data).unwrap_or(0);
        let found = self.byte(cd_index);
        let found_value = match found {
            FILLER => Some(0),
            b'0'..=b'9' => Some(found - b'0'),
            _ => None,
        };
        if found_value == Some(computed) {
            Ok(())
        } else {
            Err(MrzError::CheckDigit {
                field,
                line: self.number,
                column: cd_index + 1,
                computed,
                found: char::from(found),
            })
        }
    }

    fn date(
        &self,
        field: MrzField,
        start: usize,
        allow_unknown: bool,
    ) -> Result<MrzDate, MrzError> {
        MrzDate::parse(self.get(start, 6), allow_unknown)
            .map_err(|reason| self.field_error(field, start, reason))
    }

    fn sex(&self, index: usize) -> Result<Sex, MrzError> {
        match self.byte(index) {
            b'M' => Ok(Sex::Male),
            b'F' => Ok(Sex::Female),
            b'<' | b'X' => Ok(Sex::Unspecified),
            _ => Err(self.field_error(MrzField::Sex, index, "expected M, F, X or <")),
        }
    }

    fn code(&self, field: MrzField, start: usize, len: usize) -> Result<String, MrzError> {
        let raw = self.get(start, len);
        if raw.iter().any(|c| c.is_ascii_digit()) {
            return Err(self.field_error(field, start, "must be letters or fillers"));
        }
        Ok(trim_filler(raw))
    }
}

/// Removes trailing fillers and turns inner fillers into spaces.
fn trim_filler(raw: &[u8]) -> String {
    let end = raw.iter().rposition(|&c| c != FILLER).map_or(0, |p| p + 1);
    raw[..end]
        .iter()
        .map(|&c| if c == FILLER { ' ' } else { char::from(c) })
        .collect()
}

fn parse_names(raw: &[u8]) -> (String, String) {
    let split = raw.windows(2).position(|w| w == b"<<");
    match split {
        Some(p) => (
            trim_filler(&raw[..p]),
            trim_filler(&raw[p + 2..]).trim().to_string(),
        ),
        None => (trim_filler(raw), String::new()),
    }
}

/// Document number field of 9 characters with its check digit, possibly extended into the
/// optional data (TD1/TD2 long document numbers, Part 5 4.2.4 / Part 6 4.2.4).
/// Returns the full number and the optional data left after the extension.
fn document_number(
    number_line: &Line<'_>,
    number_start: usize,
    optional_line: &Line<'_>,
    optional_start: usize,
    optional_len: usize,
    allow_extension: bool,
) -> Result<(Vec<u8>, Vec<u8>), MrzError> {
    let number = number_line.get(number_start, 9);
    let cd_index = number_start + 9;
    let optional = optional_line.get(optional_start, optional_len);
    if allow_extension && number_line.byte(cd_index) == FILLER && number.last() != Some(&FILLER) {
        // Long number: optional data starts with the remaining characters, then the check
        // digit of the whole number, then a filler.
        let end = optional
            .iter()
            .position(|&c| c == FILLER)
            .unwrap_or(optional.len());
        if end < 2 {
            return Err(number_line.field_error(
                MrzField::DocumentNumber,
                cd_index,
                "long document number extension missing from optional data",
            ));
        }
        let mut full = number.to_vec();
        full.extend_from_slice(&optional[..end - 1]);
        let cd_at = optional_start + end - 1;
        optional_line.verify(MrzField::DocumentNumber, &full, cd_at)?;
        let rest = optional.get(end + 1..).unwrap_or(&[]).to_vec();
        return Ok((full, rest));
    }
    number_line.verify(MrzField::DocumentNumber, number, cd_index)?;
    Ok((number.to_vec(), optional.to_vec()))
}

impl Mrz {
    /// Parses and validates MRZ lines (no line breaks inside a line; surrounding ASCII
    /// whitespace is trimmed).
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<Mrz, MrzError> {
        let trimmed: Vec<&[u8]> = lines.iter().map(|l| l.as_ref().trim().as_bytes()).collect();
        let first_len = trimmed.first().map_or(0, |l| l.len());
        let first_char = trimmed.first().and_then(|l| l.first()).copied();
        let format = match (trimmed.len(), first_len, first_char) {
            (3, 30, _) => MrzFormat::Td1,
            (2, 36, Some(b'V')) => MrzFormat::MrvB,
            (2, 36, _) => MrzFormat::Td2,
            (2, 44, Some(b'V')) => MrzFormat::MrvA,
            (2, 44, _) => MrzFormat::Td3,
            _ => {
                return Err(MrzError::UnknownFormat {
                    lines: trimmed.len(),
                    first_line_length: first_len,
                });
            }
        };
        let lines: Vec<Line<'_>> = trimmed
            .iter()
            .enumerate()
            .map(|(i, bytes)| Line {
                bytes,
                number: i + 1,
            })
            .collect();
        for line in &lines {
            if line.bytes.len() != first_len {
                return Err(MrzError::LineLength {
                    line: line.number,
                    expected: first_len,
                    found: line.bytes.len(),
                });
            }
            if let Some(i) = line.bytes.iter().position(|&c| !is_mrz_char(c)) {
                return Err(MrzError::InvalidCharacter {
                    line: line.number,
                    column: i + 1,
                    found: char::from(line.bytes[i]),
                });
            }
        }
        match format {
            MrzFormat::Td1 => Self::parse_td1(&lines),
            _ => Self::parse_two_line(format, &lines),
        }
    }

    fn check_document_code(line: &Line<'_>, format: MrzFormat) -> Result<String, MrzError> {
        let code = line.get(0, 2);
        let allowed: &[u8] = match format {
            MrzFormat::Td3 => b"P",
            MrzFormat::MrvA | MrzFormat::MrvB => b"V",
            MrzFormat::Td1 | MrzFormat::Td2 => b"ACI",
        };
        let (first, second) = (line.byte(0), line.byte(1));
        if !allowed.contains(&first) || second.is_ascii_digit() {
            return Err(line.field_error(
                MrzField::DocumentCode,
                0,
                "document code not valid for this format",
            ));
        }
        Ok(trim_filler(code))
    }

    fn parse_td1(lines: &[Line<'_>]) -> Result<Mrz, MrzError> {
        let (l1, l2, l3) = (&lines[0], &lines[1], &lines[2]);
        let document_code = Self::check_document_code(l1, MrzFormat::Td1)?;
        let issuing_state = l1.code(MrzField::IssuingState, 2, 3)?;
        let (number, optional) = document_number(l1, 5, l1, 15, 15, true)?;
        let birth_date = l2.date(MrzField::BirthDate, 0, true)?;
        l2.verify(MrzField::BirthDate, l2.get(0, 6), 6)?;
        let sex = l2.sex(7)?;
        let expiry_date = l2.date(MrzField::ExpiryDate, 8, false)?;
        l2.verify(MrzField::ExpiryDate, l2.get(8, 6), 14)?;
        let nationality = l2.code(MrzField::Nationality, 15, 3)?;
        let mut composite = l1.get(5, 25).to_vec();
        composite.extend_from_slice(l2.get(0, 7));
        composite.extend_from_slice(l2.get(8, 7));
        composite.extend_from_slice(l2.get(18, 11));
        l2.verify(MrzField::Composite, &composite, 29)?;
        let (primary_identifier, secondary_identifier) = parse_names(l3.bytes);
        Self::finish(Mrz {
            format: MrzFormat::Td1,
            document_code,
            issuing_state,
            primary_identifier,
            secondary_identifier,
            document_number: DocumentNumber(trim_filler(&number)),
            nationality,
            birth_date,
            sex,
            expiry_date,
            optional_data: trim_filler(&optional),
            optional_data_2: Some(trim_filler(l2.get(18, 11))),
            mrz_information: MrzInformation(Vec::new()),
        })
    }

    fn parse_two_line(format: MrzFormat, lines: &[Line<'_>]) -> Result<Mrz, MrzError> {
        let (l1, l2) = (&lines[0], &lines[1]);
        let width = l1.bytes.len();
        let document_code = Self::check_document_code(l1, format)?;
        let issuing_state = l1.code(MrzField::IssuingState, 2, 3)?;
        let (primary_identifier, secondary_identifier) = parse_names(l1.get(5, width - 5));
        // Optional data runs from column 29 to the end, minus the check digits that follow it.
        let optional_len = match format {
            MrzFormat::Td3 => 14,
            MrzFormat::Td2 => 7,
            MrzFormat::MrvA => 16,
            _ => 8,
        };
        let (number, optional) =
            document_number(l2, 0, l2, 28, optional_len, format == MrzFormat::Td2)?;
        let nationality = l2.code(MrzField::Nationality, 10, 3)?;
        let birth_date = l2.date(MrzField::BirthDate, 13, true)?;
        l2.verify(MrzField::BirthDate, l2.get(13, 6), 19)?;
        let sex = l2.sex(20)?;
        let expiry_date = l2.date(MrzField::ExpiryDate, 21, false)?;
        l2.verify(MrzField::ExpiryDate, l2.get(21, 6), 27)?;
        match format {
            MrzFormat::Td3 => {
                l2.verify(MrzField::OptionalData, l2.get(28, 14), 42)?;
                let mut composite = l2.get(0, 10).to_vec();
                composite.extend_from_slice(l2.get(13, 7));
                composite.extend_from_slice(l2.get(21, 22));
                l2.verify(MrzField::Composite, &composite, 43)?;
            }
            MrzFormat::Td2 => {
                let mut composite = l2.get(0, 10).to_vec();
                composite.extend_from_slice(l2.get(13, 7));
                composite.extend_from_slice(l2.get(21, 14));
                l2.verify(MrzField::Composite, &composite, 35)?;
            }
            // Visas carry no composite check digit.
            _ => {}
        }
        Self::finish(Mrz {
            format,
            document_code,
            issuing_state,
            primary_identifier,
            secondary_identifier,
            document_number: DocumentNumber(trim_filler(&number)),
            nationality,
            birth_date,
            sex,
            expiry_date,
            optional_data: trim_filler(&optional),
            optional_data_2: None,
            mrz_information: MrzInformation(Vec::new()),
        })
    }

    fn finish(mut mrz: Mrz) -> Result<Mrz, MrzError> {
        let birth = String::from_utf8_lossy(mrz.birth_date.as_mrz()).into_owned();
        let expiry = String::from_utf8_lossy(mrz.expiry_date.as_mrz()).into_owned();
        mrz.mrz_information = MrzInformation::new(mrz.document_number.as_str(), &birth, &expiry)?;
        Ok(mrz)
    }

    /// The MRZ information (document number, birth and expiry dates with their check digits)
    /// used as the BAC key seed input and the PACE MRZ password.
    pub fn mrz_information(&self) -> &MrzInformation {
        &self.mrz_information
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];

    #[test]
    fn check_digits_match_icao_examples() {
        assert_eq!(check_digit(b"520727"), Some(3));
        assert_eq!(check_digit(b"AB2134<<<"), Some(5));
        assert_eq!(check_digit(b"L898902C3"), Some(6));
        assert_eq!(check_digit(b"a"), None);
    }

    #[test]
    fn parses_icao_td3_specimen() {
        let mrz = Mrz::parse(&TD3).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td3);
        assert_eq!(mrz.document_code, "P");
        assert_eq!(mrz.issuing_state, "UTO");
        assert_eq!(mrz.primary_identifier, "ERIKSSON");
        assert_eq!(mrz.secondary_identifier, "ANNA MARIA");
        assert_eq!(mrz.document_number.as_str(), "L898902C3");
        assert_eq!(mrz.nationality, "UTO");
        assert_eq!(
            (
                mrz.birth_date.year,
                mrz.birth_date.month,
                mrz.birth_date.day
            ),
            (Some(74), Some(8), Some(12))
        );
        assert_eq!(mrz.sex, Sex::Female);
        assert_eq!(mrz.expiry_date.expiry_year(2010), Some(2012));
        assert_eq!(mrz.optional_data, "ZE184226B");
        assert_eq!(
            mrz.mrz_information().as_bytes(),
            b"L898902C3674081221204159"
        );
    }

    #[test]
    fn parses_icao_td1_specimen() {
        let mrz = Mrz::parse(&TD1).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td1);
        assert_eq!(mrz.document_code, "I");
        assert_eq!(mrz.document_number.as_str(), "D23145890");
        assert_eq!(mrz.primary_identifier, "ERIKSSON");
        assert_eq!(mrz.secondary_identifier, "ANNA MARIA");
        assert_eq!(mrz.optional_data, "");
        assert_eq!(mrz.optional_data_2.as_deref(), Some(""));
        assert_eq!(
            mrz.mrz_information().as_bytes(),
            b"D23145890774081221204159"
        );
    }

    #[test]
    fn td1_long_document_number_extends_into_optional_data() {
        // Number D23145890AB12 (13 chars): first 9 in the field, '<' in the check digit
        // position, "AB12" + check digit + '<' in the optional data.
        let full = b"D23145890AB12";
        let cd = check_digit(full).unwrap();
        let line1 = format!("I<UTOD23145890<AB12{cd}<XYZ<<<<<<");
        let mut l2 = *b"7408122F1204159UTO<<<<<<<<<<<0";
        let mut composite = line1.as_bytes()[5..30].to_vec();
        composite.extend_from_slice(&l2[0..7]);
        composite.extend_from_slice(&l2[8..15]);
        composite.extend_from_slice(&l2[18..29]);
        l2[29] = b'0' + check_digit(&composite).unwrap();
        let lines = [
            line1,
            String::from_utf8(l2.to_vec()).unwrap(),
            TD1[2].to_string(),
        ];
        let mrz = Mrz::parse(&lines).unwrap();
        assert_eq!(mrz.document_number.as_str(), "D23145890AB12");
        assert_eq!(mrz.optional_data, "XYZ");
        let mut expected = full.to_vec();
        expected.push(b'0' + cd);
        expected.extend_from_slice(b"74081221204159");
        assert_eq!(mrz.mrz_information().as_bytes(), expected);
    }

    #[test]
    fn bad_check_digit_names_field_and_position() {
        let bad = [TD3[0], "L898902C37UTO7408122F1204159ZE184226B<<<<<10"];
        let err = Mrz::parse(&bad).unwrap_err();
        assert_eq!(
            err,
            MrzError::CheckDigit {
                field: MrzField::DocumentNumber,
                line: 2,
                column: 10,
                computed: 6,
                found: '7'
            }
        );
        assert_eq!(err.kind(), "check_digit");
        assert_eq!(err.field().map(MrzField::key), Some("document_number"));
        assert_eq!(err.position(), Some((2, 10)));
        let bad = [TD3[0], "L898902C36UTO7408122F1204159ZE184226B<<<<<11"];
        assert!(matches!(
            Mrz::parse(&bad),
            Err(MrzError::CheckDigit {
                field: MrzField::Composite,
                column: 44,
                ..
            })
        ));
        let bad = [TD1[0], "7408122F1204158UTO<<<<<<<<<<<6", TD1[2]];
        assert!(matches!(
            Mrz::parse(&bad),
            Err(MrzError::CheckDigit {
                field: MrzField::ExpiryDate,
                line: 2,
                column: 15,
                ..
            })
        ));
    }

    #[test]
    fn rejects_bad_characters_lengths_and_dates() {
        let bad = [TD3[0], "L898902C36UTO7408122F1204159ZE184226b<<<<<10"];
        assert_eq!(
            Mrz::parse(&bad),
            Err(MrzError::InvalidCharacter {
                line: 2,
                column: 37,
                found: 'b'
            })
        );
        let bad = [TD3[0], &TD3[1][..43]];
        assert!(matches!(
            Mrz::parse(&bad),
            Err(MrzError::LineLength { line: 2, .. })
        ));
        assert!(matches!(
            Mrz::parse(&["ABC"]),
            Err(MrzError::UnknownFormat { .. })
        ));
        let bad_code = ["P<UTOD231458907<<<<<<<<<<<<<<<", TD1[1], TD1[2]];
        assert!(matches!(
            Mrz::parse(&bad_code),
            Err(MrzError::InvalidField {
                field: MrzField::DocumentCode,
                line: 1,
                column: 1,
                ..
            })
        ));
        let bad_sex = [TD3[0], "L898902C36UTO7408122Q1204159ZE184226B<<<<<10"];
        assert!(matches!(
            Mrz::parse(&bad_sex),
            Err(MrzError::InvalidField {
                field: MrzField::Sex,
                column: 21,
                ..
            })
        ));
    }

    #[test]
    fn visas_and_td2_parse() {
        // Built from the TD3 specimen data with recomputed check digits.
        let mrva = [
            "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
        ];
        let mrz = Mrz::parse(&mrva).unwrap();
        assert_eq!(mrz.format, MrzFormat::MrvA);
        assert_eq!(mrz.document_number.as_str(), "L8988901C");
        assert_eq!(mrz.optional_data, "6ZE184226B");
        let mrvb = [
            "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
            "L8988901C4XXX4009078F9612109<<<<<<<<",
        ];
        assert_eq!(Mrz::parse(&mrvb).unwrap().format, MrzFormat::MrvB);
        let td2 = [
            "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
            "D231458907UTO7408122F1204159<<<<<<<6",
        ];
        let mrz = Mrz::parse(&td2).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td2);
        assert_eq!(mrz.document_number.as_str(), "D23145890");
    }

    #[test]
    fn century_resolution() {
        let d = MrzDate::parse(b"740812", false).unwrap();
        assert_eq!(d.birth_year(2026), Some(1974));
        let d = MrzDate::parse(b"250101", false).unwrap();
        assert_eq!(d.birth_year(2026), Some(2025));
        assert_eq!(d.expiry_year(2026), Some(2025));
        let d = MrzDate::parse(b"990101", false).unwrap();
        assert_eq!(d.expiry_year(2026), Some(1999));
        assert_eq!(d.expiry_year(2060), Some(2099));
        assert_eq!(d.expiry_year(u16::MAX), Some(65499));
        assert_eq!(
            MrzDate::parse(b"400101", false)
                .unwrap()
                .expiry_year(u16::MAX),
            None
        );
        assert_eq!(d.birth_year(50), None);
        assert_eq!(d.birth_year(u16::MAX), Some(65499));
        let unknown = MrzDate::parse(b"74<<<<", true).unwrap();
        assert_eq!(unknown.month, None);
        assert!(MrzDate::parse(b"74<<<<", false).is_err());
        assert!(MrzDate::parse(b"741301", false).is_err());
        assert!(MrzDate::parse(b"740231", false).is_err());
    }

    #[test]
    fn debug_output_is_redacted() {
        let mrz = Mrz::parse(&TD3).unwrap();
        let text = format!(
            "{mrz:?} {:?} {:?}",
            mrz.document_number,
            mrz.mrz_information()
        );
        assert!(!text.contains("L898902C3"), "{text}");
        assert!(!text.contains("ERIKSSON"), "{text}");
        assert!(!text.contains("740812"), "{text}");
        assert_eq!(mrz.document_number.masked(), "******2C3");
    }

    #[test]
    fn mrz_information_from_fields_matches_appendix_d() {
        let info = MrzInformation::new("L898902C", "690806", "940623").unwrap();
        assert_eq!(info.as_bytes(), b"L898902C<369080619406236");
        let info = MrzInformation::new("T22000129", "640812", "101031").unwrap();
        assert_eq!(info.as_bytes(), b"T22000129364081251010318");
    }
}

//! ICAO Doc 9303 travel documents: MRZ, BAC, PACE, secure messaging and LDS parsing.

pub mod apdu;
pub mod bac;
pub mod crypto;
pub mod ec;
pub mod lds;
pub mod mrz;
pub mod pace;
pub mod reader;
pub mod security_info;
pub mod sm;
pub mod tlv;

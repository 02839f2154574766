//! ICAO Doc 9303 travel documents: MRZ, BAC, PACE, secure messaging and LDS parsing.

pub mod mrz;

//! ICAO Doc 9303 travel documents: MRZ, BAC, PACE, secure messaging and LDS parsing.
//!
//! The crate is transport-agnostic and sans-IO where it can be: the protocol steps are plain
//! functions and state machines, and [`reader::ChipReader`] drives them over any
//! [`apdu::CardTransport`] (a PC/SC backend, a test double, a virtual chip).
//!
//! Modules, bottom up:
//! - [`mrz`]: parse and validate TD1/TD2/TD3/MRV-A/MRV-B zones, check digits, the MRZ
//!   information used as the BAC/PACE key seed. Errors name the field, line and column.
//! - [`tlv`]: bounds-checked BER-TLV decoding/encoding.
//! - [`apdu`]: command/response APDUs (short and extended length), status words, the
//!   [`apdu::CardTransport`] trait.
//! - [`crypto`]: key derivation, 3DES/AES CBC, ISO 9797-1 padding and MAC algorithm 3,
//!   AES-CMAC, session keys; signature verification ([`crypto::verify`]) and PACE's curve
//!   arithmetic ([`crypto::ecc`], constant time for secrets) over OpenSSL.
//! - `ec` (feature `test-support`): `num-bigint` prime-curve arithmetic for test doubles and
//!   the virtual ePassport (nothing a gate runs uses it).
//! - [`bac`], [`pace`]: Basic Access Control and PACE-ECDH-GM / -CAM, terminal and chip sides.
//! - [`sm`]: secure messaging for 3DES and AES sessions, both directions.
//! - [`security_info`]: SecurityInfos of EF.CardAccess and DG14.
//! - [`lds`]: EF.CardSecurity, EF.COM, DG1, DG2 (face image JPEG/JP2/J2K), DG7, DG11, DG12, DG14, DG15, EF.SOD.
//! - [`reader`]: [`reader::ChipReader`], PACE first, BAC fallback, file reading with few APDUs.
//! - [`authenticity`]: passive authentication (EF.SOD signature, certificate chain to a
//!   trusted CSCA, CRLs, data group hashes), trust store with ICAO master lists.
//! - `pcsc` (feature `pcsc`): the PC/SC transport (reader selection, card presence, reconnect).
//!
//! Test vectors from ICAO 9303 Part 11 Appendix D (BAC, secure messaging) and Appendix G
//! (PACE-ECDH-GM on brainpoolP256r1) are reproduced byte for byte in the unit tests.
//!
//! Privacy: types holding a document number, names, dates, keys or images implement `Debug`
//! without them, and no error carries them.
//!
//! ```
//! use mrtd::mrz::Mrz;
//! use mrtd::bac::BacKeys;
//!
//! let mrz = Mrz::parse(&[
//!     "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
//!     "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
//! ])?;
//! assert_eq!(mrz.issuing_state, "UTO");
//! let _keys = BacKeys::from_mrz(mrz.mrz_information());
//! # Ok::<(), mrtd::mrz::MrzError>(())
//! ```

pub mod apdu;
pub mod authenticity;
pub mod bac;
pub mod crypto;
#[cfg(any(test, feature = "test-support"))]
pub mod ec;
pub mod lds;
pub mod mrz;
pub mod pace;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod reader;
pub mod security_info;
pub mod sm;
pub mod tlv;

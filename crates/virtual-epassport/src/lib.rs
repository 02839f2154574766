//! **A TEST TOOL**: a virtual ICAO 9303 ePassport chip for exercising real chip-reading code
//! through a real pcscd, with no document in reach. Never use its keys or certificates for
//! anything but tests.
//!
//! - [`pki`]: a generated test CSCA and Document Signer (ECDSA P-256), X.509 certificates
//!   written to disk for verifiers, CMS SignedData for EF.SOD.
//! - [`document`]: the LDS files (EF.CardAccess, EF.COM, DG1 from MRZ lines, DG2 with a real
//!   JPEG / JPEG 2000 face image in ISO 19794-5 + CBEFF, DG14, DG15, a signed EF.SOD with
//!   SHA-256 hashes), with attack variants as options.
//! - [`chip`]: the chip side (BAC, PACE-GM, secure messaging, SELECT, READ BINARY with
//!   SFI / offsets / extended length / odd INS) built on `mrtd`'s chip-side functions, with
//!   misbehaviour switches (wrong MAC, truncated TLV, 6282 at end of file, slow chip, card
//!   pulled mid-read).
//! - [`vpcd`]: the card side of vsmartcard's vpcd protocol (TCP to the vpcd driver in pcscd).
//! - [`pcscd`]: an isolated pcscd (private socket, private vpcd port) for tests.

pub mod chip;
pub mod der;
pub mod document;
pub mod pcscd;
pub mod pki;
pub mod specimen;
pub mod vpcd;

/// The ICAO Doc 9303 Part 4 specimen TD3 MRZ (fictitious holder Anna Maria Eriksson, Utopia).
pub const SPECIMEN_TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];

#[cfg(test)]
pub(crate) const TEST_TD3: [&str; 2] = SPECIMEN_TD3;

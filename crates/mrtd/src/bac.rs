//! Basic Access Control (ICAO 9303 Part 11, 4.3 and Appendix D): document basic access keys,
//! mutual authentication for the terminal and for the chip, and session key establishment.
//!
//! Terminal flow: GET CHALLENGE gives RND.IC; [`BacTerminal::new`] (random RND.IFD, K.IFD) or
//! [`BacTerminal::with_nonces`] (fixed values, tests); [`BacTerminal::external_authenticate_data`]
//! is the EXTERNAL AUTHENTICATE data; [`BacTerminal::finish`] checks the chip's answer and
//! returns the secure messaging session. The chip side is [`chip_authenticate`].

use std::fmt;

use sha1::{Digest, Sha1};

use crate::apdu::CommandApdu;
use crate::crypto::{self, CipherSuite, CryptoError, KdfCounter, SessionKeys};
use crate::mrz::MrzInformation;
use crate::sm::SecureMessaging;

/// Errors of BAC mutual authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacError {
    /// Crypto failure.
    #[error("BAC crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// The cryptogram has the wrong length.
    #[error("BAC cryptogram of {found} bytes, expected 40")]
    Length {
        /// Length received.
        found: usize,
    },
    /// The MAC over the cryptogram does not verify (wrong MRZ, or tampering).
    #[error("BAC cryptogram MAC does not verify (wrong MRZ data?)")]
    MacMismatch,
    /// The decrypted nonces do not match the ones sent.
    #[error("BAC nonce mismatch")]
    NonceMismatch,
}

/// Document basic access keys KEnc and KMac. `Debug` does not show them.
#[derive(Clone, PartialEq, Eq)]
pub struct BacKeys {
    /// KEnc (3DES, parity adjusted).
    pub enc: [u8; 16],
    /// KMac (3DES, parity adjusted).
    pub mac: [u8; 16],
}

impl fmt::Debug for BacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BacKeys(<redacted>)")
    }
}

impl Drop for BacKeys {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.enc);
        zeroize::Zeroize::zeroize(&mut self.mac);
    }
}

fn to16(v: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(v) {
        *o = *b;
    }
    out
}

impl BacKeys {
    /// Kseed: the first 16 bytes of SHA-1 of the MRZ information.
    pub fn seed(info: &MrzInformation) -> [u8; 16] {
        to16(&Sha1::digest(info.as_bytes()))
    }

    /// Derives KEnc and KMac from the MRZ information.
    pub fn from_mrz(info: &MrzInformation) -> BacKeys {
        BacKeys::from_seed(&BacKeys::seed(info))
    }

    /// Derives KEnc and KMac from Kseed.
    pub fn from_seed(seed: &[u8; 16]) -> BacKeys {
        BacKeys {
            enc: to16(&crypto::kdf(seed, KdfCounter::Enc, CipherSuite::Tdes)),
            mac: to16(&crypto::kdf(seed, KdfCounter::Mac, CipherSuite::Tdes)),
        }
    }

    fn encrypt_and_mac(&self, plain: &[u8]) -> Result<[u8; 40], BacError> {
        let e = crypto::cbc_encrypt(CipherSuite::Tdes, &self.enc, &[0; 8], plain)?;
        let m = crypto::retail_mac(&self.mac, &crypto::pad(&e, 8))?;
        let mut out = [0u8; 40];
        out[..32].copy_from_slice(&e);
        out[32..].copy_from_slice(&m);
        Ok(out)
    }

    fn check_and_decrypt(&self, data: &[u8]) -> Result<Vec<u8>, BacError> {
        if data.len() != 40 {
            return Err(BacError::Length { found: data.len() });
        }
        let expected = crypto::retail_mac(&self.mac, &crypto::pad(&data[..32], 8))?;
        if !crypto::mac_eq(&expected, &data[32..]) {
            return Err(BacError::MacMismatch);
        }
        Ok(crypto::cbc_decrypt(
            CipherSuite::Tdes,
            &self.enc,
            &[0; 8],
            &data[..32],
        )?)
    }
}

/// The GET CHALLENGE command (8-byte challenge).
pub fn get_challenge() -> CommandApdu {
    CommandApdu::new(0x00, 0x84, 0x00, 0x00).with_le(8)
}

/// Builds the EXTERNAL AUTHENTICATE command for the given cryptogram.
pub fn external_authenticate(data: &[u8; 40]) -> CommandApdu {
    CommandApdu::new(0x00, 0x82, 0x00, 0x00)
        .with_data(data.to_vec())
        .with_le(40)
}

/// Session keys and counter from the two key halves and nonces.
fn session(k_ifd: &[u8; 16], k_ic: &[u8], rnd_ic: &[u8; 8], rnd_ifd: &[u8; 8]) -> SecureMessaging {
    let seed: Vec<u8> = k_ifd.iter().zip(k_ic).map(|(a, b)| a ^ b).collect();
    let mut ssc = rnd_ic[4..].to_vec();
    ssc.extend_from_slice(&rnd_ifd[4..]);
    SecureMessaging::new(SessionKeys::derive(&seed, CipherSuite::Tdes), &ssc)
}

/// Terminal side of BAC after GET CHALLENGE.
pub struct BacTerminal {
    keys: BacKeys,
    rnd_ic: [u8; 8],
    rnd_ifd: [u8; 8],
    k_ifd: [u8; 16],
}

impl fmt::Debug for BacTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BacTerminal(<redacted>)")
    }
}

impl Drop for BacTerminal {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.k_ifd);
    }
}

impl BacTerminal {
    /// Starts with random RND.IFD and K.IFD.
    pub fn new(keys: BacKeys, rnd_ic: [u8; 8]) -> Result<BacTerminal, BacError> {
        let mut rnd_ifd = [0u8; 8];
        let mut k_ifd = [0u8; 16];
        crypto::random_bytes(&mut rnd_ifd)?;
        crypto::random_bytes(&mut k_ifd)?;
        Ok(BacTerminal::with_nonces(keys, rnd_ic, rnd_ifd, k_ifd))
    }

    /// Starts with fixed RND.IFD and K.IFD (reproducing test vectors).
    pub fn with_nonces(
        keys: BacKeys,
        rnd_ic: [u8; 8],
        rnd_ifd: [u8; 8],
        k_ifd: [u8; 16],
    ) -> BacTerminal {
        BacTerminal {
            keys,
            rnd_ic,
            rnd_ifd,
            k_ifd,
        }
    }

    /// E.IFD || M.IFD for EXTERNAL AUTHENTICATE.
    pub fn external_authenticate_data(&self) -> Result<[u8; 40], BacError> {
        let mut s = Vec::with_capacity(32);
        s.extend_from_slice(&self.rnd_ifd);
        s.extend_from_slice(&self.rnd_ic);
        s.extend_from_slice(&self.k_ifd);
        self.keys.encrypt_and_mac(&s)
    }

    /// Verifies E.IC || M.IC and derives the session.
    pub fn finish(self, response: &[u8]) -> Result<SecureMessaging, BacError> {
        let r = self.keys.check_and_decrypt(response)?;
        if !crypto::mac_eq(&r[..8], &self.rnd_ic) || !crypto::mac_eq(&r[8..16], &self.rnd_ifd) {
            return Err(BacError::NonceMismatch);
        }
        Ok(session(
            &self.k_ifd,
            &r[16..32],
            &self.rnd_ic,
            &self.rnd_ifd,
        ))
    }
}

/// Chip side of BAC: given the challenge it sent (RND.IC), its key half K.IC and the
/// terminal's EXTERNAL AUTHENTICATE data, checks the terminal and returns E.IC || M.IC and
/// the chip's secure messaging session.
pub fn chip_authenticate(
    keys: &BacKeys,
    rnd_ic: &[u8; 8],
    k_ic: &[u8; 16],
    command_data: &[u8],
) -> Result<([u8; 40], SecureMessaging), BacError> {
    let s = keys.check_and_decrypt(command_data)?;
    if !crypto::mac_eq(&s[8..16], rnd_ic) {
        return Err(BacError::NonceMismatch);
    }
    let mut rnd_ifd = [0u8; 8];
    rnd_ifd.copy_from_slice(&s[..8]);
    let mut r = Vec::with_capacity(32);
    r.extend_from_slice(rnd_ic);
    r.extend_from_slice(&rnd_ifd);
    r.extend_from_slice(k_ic);
    let response = keys.encrypt_and_mac(&r)?;
    let k_ifd = to16(&s[16..32]);
    Ok((response, session(&k_ifd, k_ic, rnd_ic, &rnd_ifd)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::StatusWord;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }
    fn a8(s: &str) -> [u8; 8] {
        h(s).try_into().unwrap()
    }
    fn a16(s: &str) -> [u8; 16] {
        h(s).try_into().unwrap()
    }

    #[test]
    fn reproduces_appendix_d_both_sides() {
        let info = MrzInformation::new("L898902C", "690806", "940623").unwrap();
        assert_eq!(
            BacKeys::seed(&info),
            a16("239AB9CB282DAF66231DC5A4DF6BFBAE")
        );
        let keys = BacKeys::from_mrz(&info);
        assert_eq!(keys.enc, a16("AB94FDECF2674FDFB9B391F85D7F76F2"));
        assert_eq!(keys.mac, a16("7962D9ECE03D1ACD4C76089DCE131543"));

        let rnd_ic = a8("4608F91988702212");
        let terminal = BacTerminal::with_nonces(
            keys.clone(),
            rnd_ic,
            a8("781723860C06C226"),
            a16("0B795240CB7049B01C19B33E32804F0B"),
        );
        let ea = terminal.external_authenticate_data().unwrap();
        assert_eq!(
            ea.to_vec(),
            h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7")
        );

        let (chip_response, mut chip_sm) = chip_authenticate(
            &keys,
            &rnd_ic,
            &a16("0B4F80323EB3191CB04970CB4052790B"),
            &ea,
        )
        .unwrap();
        assert_eq!(
            chip_response.to_vec(),
            h("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449")
        );

        let mut sm = terminal.finish(&chip_response).unwrap();
        assert_eq!(sm.ssc(), h("887022120C06C226"));
        // The session keys are the Appendix D ones: the D.4 SELECT is reproduced.
        let select = CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(h("011E"));
        let wrapped = sm.wrap_command(&select).unwrap();
        assert_eq!(
            wrapped,
            h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
        );
        chip_sm.unwrap_command(&wrapped).unwrap();
        let resp = chip_sm
            .wrap_response(&[], StatusWord::SUCCESS, false)
            .unwrap();
        assert_eq!(resp, h("990290008E08FA855A5D4C50A8ED9000"));
    }

    #[test]
    fn wrong_mrz_is_rejected_by_chip_and_terminal() {
        let right =
            BacKeys::from_mrz(&MrzInformation::new("L898902C", "690806", "940623").unwrap());
        let wrong =
            BacKeys::from_mrz(&MrzInformation::new("L898902C", "690806", "940624").unwrap());
        let rnd_ic = [1u8; 8];
        let terminal = BacTerminal::new(wrong.clone(), rnd_ic).unwrap();
        let ea = terminal.external_authenticate_data().unwrap();
        assert_eq!(
            chip_authenticate(&right, &rnd_ic, &[2; 16], &ea).err(),
            Some(BacError::MacMismatch)
        );
        // Chip answering for a different challenge.
        let terminal = BacTerminal::new(right.clone(), rnd_ic).unwrap();
        let ea = terminal.external_authenticate_data().unwrap();
        assert_eq!(
            chip_authenticate(&right, &[9; 8], &[2; 16], &ea).err(),
            Some(BacError::NonceMismatch)
        );
        let (resp, _) = chip_authenticate(&right, &rnd_ic, &[2; 16], &ea).unwrap();
        let mut tampered = resp;
        tampered[0] ^= 1;
        assert_eq!(
            terminal.finish(&tampered).err(),
            Some(BacError::MacMismatch)
        );
        let terminal = BacTerminal::new(right, rnd_ic).unwrap();
        assert_eq!(
            terminal.finish(&resp[..39]).err(),
            Some(BacError::Length { found: 39 })
        );
    }
}

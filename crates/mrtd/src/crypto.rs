//! Symmetric primitives of ICAO 9303 Part 11: key derivation, 3DES and AES in CBC mode,
//! ISO/IEC 9797-1 padding method 2, MAC algorithm 3 (retail MAC) and AES-CMAC; public-key
//! signature verification over OpenSSL in [`verify`], PACE's and Chip Authentication's
//! elliptic-curve arithmetic with secrets over OpenSSL in [`ecc`], Chip Authentication's DH in
//! [`dh`].

pub mod dh;
pub mod ecc;
pub mod verify;

use std::fmt;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use cmac::Mac;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Errors of the symmetric primitives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key of the wrong length for the cipher.
    #[error("key of {found} bytes for {cipher:?}, expected {expected}")]
    KeyLength {
        /// The cipher.
        cipher: CipherSuite,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// Data that should be a multiple of the block size is not.
    #[error("{len} bytes is not a multiple of the {block}-byte block")]
    NotBlockAligned {
        /// Data length.
        len: usize,
        /// Block size.
        block: usize,
    },
    /// Padding method 2 not found after decryption.
    #[error("invalid ISO 9797-1 method 2 padding")]
    BadPadding,
    /// The operating system random generator failed.
    #[error("random generator failed: {0}")]
    Random(String),
}

/// Block cipher used by BAC / PACE / secure messaging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// Two-key triple DES (BAC, PACE-3DES), retail MAC.
    Tdes,
    /// AES-128 with CMAC.
    Aes128,
    /// AES-192 with CMAC.
    Aes192,
    /// AES-256 with CMAC.
    Aes256,
}

impl CipherSuite {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            CipherSuite::Tdes | CipherSuite::Aes128 => 16,
            CipherSuite::Aes192 => 24,
            CipherSuite::Aes256 => 32,
        }
    }

    /// Block size in bytes (also the send sequence counter length).
    pub fn block_len(self) -> usize {
        match self {
            CipherSuite::Tdes => 8,
            _ => 16,
        }
    }
}

/// Key derivation counters (ICAO 9303 Part 11, 9.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfCounter {
    /// 1: encryption key.
    Enc = 1,
    /// 2: MAC key.
    Mac = 2,
    /// 3: PACE password key.
    Pace = 3,
}

/// Derives a key from a shared secret: SHA-1 for 3DES and AES-128, SHA-256 for AES-192/256;
/// 3DES keys are parity adjusted.
pub fn kdf(secret: &[u8], counter: KdfCounter, cipher: CipherSuite) -> Vec<u8> {
    let c = (counter as u32).to_be_bytes();
    let mut key = match cipher {
        CipherSuite::Tdes | CipherSuite::Aes128 => {
            let mut h = Sha1::new();
            h.update(secret);
            h.update(c);
            h.finalize().to_vec()
        }
        CipherSuite::Aes192 | CipherSuite::Aes256 => {
            let mut h = Sha256::new();
            h.update(secret);
            h.update(c);
            h.finalize().to_vec()
        }
    };
    key.truncate(cipher.key_len());
    if cipher == CipherSuite::Tdes {
        adjust_parity(&mut key);
    }
    key
}

/// Sets the DES odd parity bit of every byte.
pub fn adjust_parity(key: &mut [u8]) {
    for b in key {
        let ones = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
}

/// ISO/IEC 9797-1 padding method 2: `80` then zeros up to a multiple of `block`.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while out.len() % block != 0 {
        out.push(0);
    }
    out
}

/// Removes padding method 2.
pub fn unpad(data: &[u8]) -> Result<&[u8], CryptoError> {
    let end = data
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(CryptoError::BadPadding)?;
    if data[end] == 0x80 {
        Ok(&data[..end])
    } else {
        Err(CryptoError::BadPadding)
    }
}

/// A keyed block cipher.
enum Block {
    Tdes(Box<des::TdesEde2>),
    Aes128(Box<aes::Aes128>),
    Aes192(Box<aes::Aes192>),
    Aes256(Box<aes::Aes256>),
}

impl Block {
    fn new(cipher: CipherSuite, key: &[u8]) -> Result<Block, CryptoError> {
        let wrong = CryptoError::KeyLength {
            cipher,
            expected: cipher.key_len(),
            found: key.len(),
        };
        Ok(match cipher {
            CipherSuite::Tdes => Block::Tdes(Box::new(
                des::TdesEde2::new_from_slice(key).map_err(|_| wrong)?,
            )),
            CipherSuite::Aes128 => Block::Aes128(Box::new(
                aes::Aes128::new_from_slice(key).map_err(|_| wrong)?,
            )),
            CipherSuite::Aes192 => Block::Aes192(Box::new(
                aes::Aes192::new_from_slice(key).map_err(|_| wrong)?,
            )),
            CipherSuite::Aes256 => Block::Aes256(Box::new(
                aes::Aes256::new_from_slice(key).map_err(|_| wrong)?,
            )),
        })
    }

    /// `block` has exactly the block length (guaranteed by the callers' `chunks_exact`).
    fn encrypt(&self, block: &mut [u8]) {
        match self {
            Block::Tdes(c) => c.encrypt_block(GenericArray::from_mut_slice(block)),
            Block::Aes128(c) => c.encrypt_block(GenericArray::from_mut_slice(block)),
            Block::Aes192(c) => c.encrypt_block(GenericArray::from_mut_slice(block)),
            Block::Aes256(c) => c.encrypt_block(GenericArray::from_mut_slice(block)),
        }
    }

    fn decrypt(&self, block: &mut [u8]) {
        match self {
            Block::Tdes(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
            Block::Aes128(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
            Block::Aes192(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
            Block::Aes256(c) => c.decrypt_block(GenericArray::from_mut_slice(block)),
        }
    }
}

fn check_aligned(data: &[u8], block: usize) -> Result<(), CryptoError> {
    if data.len().is_multiple_of(block) {
        Ok(())
    } else {
        Err(CryptoError::NotBlockAligned {
            len: data.len(),
            block,
        })
    }
}

/// CBC encryption without padding; `iv` of block length (zeros for 3DES in 9303).
pub fn cbc_encrypt(
    cipher: CipherSuite,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let bl = cipher.block_len();
    check_aligned(data, bl)?;
    check_aligned(iv, bl)?;
    let block = Block::new(cipher, key)?;
    let mut prev = iv.get(..bl).unwrap_or(&[]).to_vec();
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks_exact(bl) {
        let mut b: Vec<u8> = chunk.iter().zip(&prev).map(|(x, y)| x ^ y).collect();
        block.encrypt(&mut b);
        out.extend_from_slice(&b);
        prev = b;
    }
    Ok(out)
}

/// CBC decryption without padding removal.
pub fn cbc_decrypt(
    cipher: CipherSuite,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let bl = cipher.block_len();
    check_aligned(data, bl)?;
    check_aligned(iv, bl)?;
    let block = Block::new(cipher, key)?;
    let mut prev = iv.get(..bl).unwrap_or(&[]).to_vec();
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks_exact(bl) {
        let mut b = chunk.to_vec();
        block.decrypt(&mut b);
        out.extend(b.iter().zip(&prev).map(|(x, y)| x ^ y));
        prev = chunk.to_vec();
    }
    Ok(out)
}

/// Encrypts one block in ECB mode (AES SM IV derivation).
pub fn encrypt_block(cipher: CipherSuite, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    cbc_encrypt(cipher, key, &vec![0; cipher.block_len()], data)
}

/// ISO/IEC 9797-1 MAC algorithm 3 with DES (retail MAC) over data already padded to 8 bytes;
/// `key` is the 16-byte 3DES key K1 || K2.
pub fn retail_mac(key: &[u8], padded: &[u8]) -> Result<[u8; 8], CryptoError> {
    check_aligned(padded, 8)?;
    let wrong = CryptoError::KeyLength {
        cipher: CipherSuite::Tdes,
        expected: 16,
        found: key.len(),
    };
    if key.len() != 16 || padded.is_empty() {
        return Err(wrong);
    }
    let k1 = des::Des::new_from_slice(&key[..8]).map_err(|_| wrong.clone())?;
    let k2 = des::Des::new_from_slice(&key[8..]).map_err(|_| wrong)?;
    let mut state = [0u8; 8];
    for chunk in padded.chunks_exact(8) {
        for (s, c) in state.iter_mut().zip(chunk) {
            *s ^= c;
        }
        k1.encrypt_block(GenericArray::from_mut_slice(&mut state));
    }
    k2.decrypt_block(GenericArray::from_mut_slice(&mut state));
    k1.encrypt_block(GenericArray::from_mut_slice(&mut state));
    Ok(state)
}

/// AES-CMAC truncated to 8 bytes.
pub fn cmac8(cipher: CipherSuite, key: &[u8], data: &[u8]) -> Result<[u8; 8], CryptoError> {
    macro_rules! run {
        ($c:ty) => {
            <cmac::Cmac<$c> as KeyInit>::new_from_slice(key)
                .ok()
                .and_then(|mut m| {
                    m.update(data);
                    m.finalize()
                        .into_bytes()
                        .get(..8)
                        .and_then(|t| <[u8; 8]>::try_from(t).ok())
                })
        };
    }
    let wrong = CryptoError::KeyLength {
        cipher,
        expected: cipher.key_len(),
        found: key.len(),
    };
    match cipher {
        CipherSuite::Aes128 => run!(aes::Aes128),
        CipherSuite::Aes192 => run!(aes::Aes192),
        CipherSuite::Aes256 => run!(aes::Aes256),
        CipherSuite::Tdes => None,
    }
    .ok_or(wrong)
}

/// The 8-byte MAC of ICAO 9303 secure messaging and authentication tokens: retail MAC for
/// 3DES (input must already be padded to 8 bytes), CMAC for AES (input MACed as given).
pub fn mac(cipher: CipherSuite, key: &[u8], data: &[u8]) -> Result<[u8; 8], CryptoError> {
    match cipher {
        CipherSuite::Tdes => retail_mac(key, data),
        _ => cmac8(cipher, key, data),
    }
}

/// Compares two MACs in constant time.
pub fn mac_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Fills `buf` from the operating system random generator.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

/// Session keys for secure messaging. `Debug` does not show them.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// Cipher.
    pub cipher: CipherSuite,
    /// Encryption key.
    pub enc: Vec<u8>,
    /// MAC key.
    pub mac: Vec<u8>,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKeys({:?}, <redacted>)", self.cipher)
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.enc);
        zeroize::Zeroize::zeroize(&mut self.mac);
    }
}

impl SessionKeys {
    /// Derives KSenc and KSmac from a shared secret.
    pub fn derive(secret: &[u8], cipher: CipherSuite) -> SessionKeys {
        SessionKeys {
            cipher,
            enc: kdf(secret, KdfCounter::Enc, cipher),
            mac: kdf(secret, KdfCounter::Mac, cipher),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn bac_kdf_matches_appendix_d() {
        let seed = h("239AB9CB282DAF66231DC5A4DF6BFBAE");
        assert_eq!(
            kdf(&seed, KdfCounter::Enc, CipherSuite::Tdes),
            h("AB94FDECF2674FDFB9B391F85D7F76F2")
        );
        assert_eq!(
            kdf(&seed, KdfCounter::Mac, CipherSuite::Tdes),
            h("7962D9ECE03D1ACD4C76089DCE131543")
        );
    }

    #[test]
    fn padding_round_trip_and_errors() {
        assert_eq!(pad(&[1, 2], 8), [1, 2, 0x80, 0, 0, 0, 0, 0]);
        assert_eq!(pad(&[0; 8], 8).len(), 16);
        assert_eq!(unpad(&pad(&[1, 2], 8)).unwrap(), &[1, 2]);
        assert_eq!(unpad(&[1, 2, 0, 0]), Err(CryptoError::BadPadding));
        assert_eq!(unpad(&[0, 0]), Err(CryptoError::BadPadding));
    }

    #[test]
    fn cbc_round_trip_all_ciphers() {
        for cipher in [
            CipherSuite::Tdes,
            CipherSuite::Aes128,
            CipherSuite::Aes192,
            CipherSuite::Aes256,
        ] {
            let key = vec![0x42; cipher.key_len()];
            let iv = vec![7; cipher.block_len()];
            let data = pad(b"hello secure messaging", cipher.block_len());
            let enc = cbc_encrypt(cipher, &key, &iv, &data).unwrap();
            assert_ne!(enc, data);
            assert_eq!(cbc_decrypt(cipher, &key, &iv, &enc).unwrap(), data);
            assert!(cbc_encrypt(cipher, &key[1..], &iv, &data).is_err());
        }
    }

    #[test]
    fn aes_cmac_matches_rfc4493() {
        // RFC 4493 example 2 (16-byte message), truncated to 8 bytes.
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let msg = h("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(
            cmac8(CipherSuite::Aes128, &key, &msg).unwrap().to_vec(),
            h("070a16b46b4d4144")
        );
    }
}

//! The keyed document hash: HMAC-SHA-256 over issuing state and document number.
//!
//! Events carry this hash instead of the number, so central can correlate a traveller's events
//! and match denylists without ever holding a document number. The key is a per-agency secret
//! shared with central's list publisher; it never appears in logs or events.

use gate_core::DocumentHash;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::path::{Path, PathBuf};

/// Minimum key length in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The secret key of the document hash.
#[derive(Clone)]
pub struct DocumentHasher {
    mac: Hmac<Sha256>,
    ephemeral: bool,
}

impl fmt::Debug for DocumentHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentHasher")
            .field("key", &"<redacted>")
            .field("ephemeral", &self.ephemeral)
            .finish()
    }
}

/// Why the key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read document hash key {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key was refused by the MAC.
    #[error("document hash key refused: {0}")]
    Invalid(String),
    /// The key file is too short.
    #[error("document hash key {path} holds {len} bytes; at least {MIN_KEY_BYTES} are required")]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
}

impl DocumentHasher {
    /// Loads the key from a file (raw bytes; at least [`MIN_KEY_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let key = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                path: path.to_owned(),
                len: key.len(),
            });
        }
        Self::with_key(&key, false)
    }

    /// A random key for this run only (demo gates without a configured key).
    pub fn ephemeral() -> Result<Self, KeyError> {
        let key: [u8; 32] = rand::random();
        Self::with_key(&key, true)
    }

    fn with_key(key: &[u8], ephemeral: bool) -> Result<Self, KeyError> {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .map_err(|err| KeyError::Invalid(err.to_string()))?;
        Ok(Self { mac, ephemeral })
    }

    /// Whether the key was drawn at random for this run.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    /// The keyed hash of a document.
    pub fn hash(&self, issuing_state: &str, document_number: &str) -> DocumentHash {
        let mut mac = self.mac.clone();
        mac.update(issuing_state.as_bytes());
        mac.update(b"\x1f");
        mac.update(document_number.trim_end_matches('<').as_bytes());
        DocumentHash(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_document_same_hash_other_key_other_hash() {
        let a = DocumentHasher::with_key(&[1; 32], false).unwrap();
        let b = DocumentHasher::with_key(&[2; 32], false).unwrap();
        assert_eq!(a.hash("UTO", "L898902C3"), a.hash("UTO", "L898902C3<"));
        assert_ne!(a.hash("UTO", "L898902C3"), a.hash("UTA", "L898902C3"));
        assert_ne!(a.hash("UTO", "L898902C3"), b.hash("UTO", "L898902C3"));
        assert!(format!("{a:?}").contains("redacted"));
    }

    #[test]
    fn short_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, [0u8; 16]).unwrap();
        assert!(matches!(
            DocumentHasher::from_file(&path),
            Err(KeyError::TooShort { len: 16, .. })
        ));
        std::fs::write(&path, [7u8; 32]).unwrap();
        assert!(!DocumentHasher::from_file(&path).unwrap().is_ephemeral());
    }
}

//! The master key encrypts signing keys at rest (XChaCha20-Poly1305), so a copy of
//! the database alone does not let anyone sign tokens.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};

const NONCE_LEN: usize = 24;

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// Given in the environment.
    Inline(SecretString),
    /// A file created with mode 0600 on first start.
    File(PathBuf),
}

pub struct MasterKey(XChaCha20Poly1305);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Loads the key from the environment, or from (creating on first start) the key file.
    pub fn load(source: &MasterKeySource) -> anyhow::Result<Self> {
        match source {
            MasterKeySource::Inline(encoded) => Self::decode(encoded),
            MasterKeySource::File(path) => Self::from_file(path),
        }
    }

    pub fn decode(encoded: &SecretString) -> anyhow::Result<Self> {
        let text = encoded.expose_secret().trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .context("TRIDENT_MASTER_KEY is not valid base64")?;
        if bytes.len() != 32 {
            bail!("TRIDENT_MASTER_KEY must decode to exactly 32 bytes");
        }
        Ok(Self(
            XChaCha20Poly1305::new_from_slice(&bytes).context("master key")?,
        ))
    }

    fn from_file(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            let key = XChaCha20Poly1305::generate_key(&mut OsRng);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .with_context(|| format!("creating master key file {}", path.display()))?;
            file.write_all(STANDARD.encode(key).as_bytes())
                .with_context(|| format!("writing master key file {}", path.display()))?;
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading master key file {}", path.display()))?;
        Self::decode(&SecretString::from(text))
    }

    /// Generates a fresh random key, base64-encoded, e.g. for `TRIDENT_MASTER_KEY`.
    pub fn generate_encoded() -> SecretString {
        SecretString::from(STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng)))
    }

    pub fn seal(&self, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(&nonce, plaintext)
            .map_err(|_| anyhow::anyhow!("encrypting with the master key"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            bail!("sealed value too short");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.0
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| anyhow::anyhow!("decryption failed: is TRIDENT_MASTER_KEY the key these signing keys were sealed with?"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_tampering_fails() {
        let key = MasterKey::decode(&MasterKey::generate_encoded()).unwrap();
        let sealed = key.seal(b"private key").unwrap();
        assert_eq!(key.open(&sealed).unwrap(), b"private key");
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.open(&tampered).is_err());
        let other = MasterKey::decode(&MasterKey::generate_encoded()).unwrap();
        assert!(other.open(&sealed).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("trident-mk-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("trident.db.key");
        let first = MasterKey::from_file(&path).unwrap();
        let sealed = first.seal(b"x").unwrap();
        let second = MasterKey::from_file(&path).unwrap();
        assert_eq!(second.open(&sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn wrong_length_keys_are_refused() {
        assert!(MasterKey::decode(&SecretString::from("c2hvcnQ=")).is_err());
        assert!(MasterKey::decode(&SecretString::from("not base64!")).is_err());
    }
}

//! Secrets at rest: every [`Value::Secret`] is encrypted with ChaCha20-Poly1305 before it is
//! written, under a key derived with Argon2id from a passphrase.
//!
//! The passphrase comes from `GIRDER_PASSPHRASE`, or from the file named by
//! `GIRDER_PASSPHRASE_FILE`. Without either, a random key is generated once into
//! `<state dir>/<stack>.key` (mode 0600) and a warning says so: that keeps a fresh checkout
//! working, while teams set a passphrase (and must, for remote state).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use girder_core::Value;

use crate::StateError;

/// The key under which an encrypted secret is written.
pub const ENCRYPTED_KEY: &str = "$girder.encrypted";

/// Encrypts and decrypts secret values.
#[derive(Clone)]
pub struct Crypter {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Crypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crypter([key])")
    }
}

/// Where the key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `GIRDER_PASSPHRASE`.
    Environment,
    /// `GIRDER_PASSPHRASE_FILE`.
    File(String),
    /// A generated key file next to the state.
    Generated(String),
}

impl Crypter {
    /// A crypter from raw key bytes.
    pub fn from_key(key: [u8; 32]) -> Crypter {
        Crypter {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    /// Derives the key from a passphrase and a per-state salt (Argon2id, default cost).
    pub fn from_passphrase(passphrase: &str, salt: &[u8]) -> Result<Crypter, StateError> {
        let mut key = [0u8; 32];
        argon2::Argon2::default()
            .hash_password_into(passphrase.as_bytes(), salt, &mut key)
            .map_err(|e| StateError::Crypto(format!("cannot derive the state key: {e}")))?;
        Ok(Crypter::from_key(key))
    }

    /// The crypter configured by the environment; `key_file` is where a generated key lives.
    pub fn from_environment(
        salt: &[u8],
        key_file: &Path,
    ) -> Result<(Crypter, KeySource), StateError> {
        if let Ok(passphrase) = std::env::var("GIRDER_PASSPHRASE") {
            return Ok((
                Crypter::from_passphrase(&passphrase, salt)?,
                KeySource::Environment,
            ));
        }
        if let Ok(file) = std::env::var("GIRDER_PASSPHRASE_FILE") {
            let passphrase = std::fs::read_to_string(&file).map_err(|e| {
                StateError::Crypto(format!(
                    "cannot read the passphrase file `{file}` (GIRDER_PASSPHRASE_FILE): {e}"
                ))
            })?;
            return Ok((
                Crypter::from_passphrase(passphrase.trim_end_matches(['\n', '\r']), salt)?,
                KeySource::File(file),
            ));
        }
        let key = match std::fs::read(key_file) {
            Ok(bytes) => {
                let decoded = STANDARD.decode(bytes.trim_ascii()).map_err(|e| {
                    StateError::Crypto(format!(
                        "the key file {} is damaged: {e}",
                        key_file.display()
                    ))
                })?;
                <[u8; 32]>::try_from(decoded.as_slice()).map_err(|_| {
                    StateError::Crypto(format!(
                        "the key file {} does not hold a 32-byte key",
                        key_file.display()
                    ))
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                write_private(key_file, STANDARD.encode(key).as_bytes())?;
                tracing::warn!(
                    "no GIRDER_PASSPHRASE set: secrets in the state are encrypted with a generated key in {}; keep it with the state, or set GIRDER_PASSPHRASE",
                    key_file.display()
                );
                key
            }
            Err(e) => {
                return Err(StateError::Crypto(format!(
                    "cannot read the key file {}: {e}",
                    key_file.display()
                )));
            }
        };
        Ok((
            Crypter::from_key(key),
            KeySource::Generated(key_file.display().to_string()),
        ))
    }

    fn encrypt_bytes(&self, plain: &[u8]) -> Result<String, StateError> {
        let nonce_bytes: [u8; 12] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(&nonce, plain)
            .map_err(|_| StateError::Crypto("encryption failed".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    fn decrypt_bytes(&self, encoded: &str) -> Result<Vec<u8>, StateError> {
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|e| StateError::Crypto(format!("an encrypted secret is damaged: {e}")))?;
        if bytes.len() < 12 {
            return Err(StateError::Crypto(
                "an encrypted secret is truncated".into(),
            ));
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| StateError::Crypto("bad nonce".into()))?;
        self.cipher.decrypt(&nonce, sealed).map_err(|_| {
            StateError::Crypto(
                "a secret in the state cannot be decrypted: the passphrase (GIRDER_PASSPHRASE / GIRDER_PASSPHRASE_FILE) or key file is not the one the state was written with".into(),
            )
        })
    }

    /// Replaces every secret in `value` by its encrypted form.
    pub fn seal(&self, value: &Value) -> Result<Value, StateError> {
        Ok(match value {
            Value::Secret(inner) => {
                let plain = serde_json::to_vec(&inner.to_json())
                    .map_err(|e| StateError::Crypto(e.to_string()))?;
                let mut map = std::collections::BTreeMap::new();
                map.insert(
                    ENCRYPTED_KEY.to_owned(),
                    Value::String(self.encrypt_bytes(&plain)?),
                );
                Value::Object(map)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.seal(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.seal(v)?)))
                    .collect::<Result<_, StateError>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Restores every encrypted secret in `value`.
    pub fn open(&self, value: &Value) -> Result<Value, StateError> {
        Ok(match value {
            Value::Object(map) if map.len() == 1 && map.contains_key(ENCRYPTED_KEY) => {
                let encoded = map[ENCRYPTED_KEY].as_str().unwrap_or_default();
                let plain = self.decrypt_bytes(encoded)?;
                let json: serde_json::Value = serde_json::from_slice(&plain).map_err(|e| {
                    StateError::Crypto(format!("a decrypted secret is not data: {e}"))
                })?;
                Value::from_json(json).into_secret()
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.open(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.open(v)?)))
                    .collect::<Result<_, StateError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// True if `value` holds an encrypted secret.
pub fn contains_encrypted(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.contains_key(ENCRYPTED_KEY) || map.values().any(contains_encrypted)
        }
        Value::Array(items) => items.iter().any(contains_encrypted),
        _ => false,
    }
}

/// Writes a file readable only by its owner.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        StateError::Crypto(format!(
            "cannot create the key file {}: {e}",
            path.display()
        ))
    })?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| {
            StateError::Crypto(format!("cannot write the key file {}: {e}", path.display()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use girder_core::object;

    #[test]
    fn seals_and_opens_nested_secrets() {
        let crypter = Crypter::from_passphrase("correct horse", b"0123456789abcdef").unwrap();
        let value = object! { "a" => 1, "pw" => Value::from("hunter2").into_secret(), "list" => vec![object!{"k" => "v"}.into_secret()] };
        let sealed = crypter.seal(&value).unwrap();
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains("hunter2"));
        assert!(text.contains(ENCRYPTED_KEY));
        assert_eq!(crypter.open(&sealed).unwrap(), value);
        let other = Crypter::from_passphrase("wrong", b"0123456789abcdef").unwrap();
        let error = other.open(&sealed).unwrap_err().to_string();
        assert!(error.contains("passphrase"), "{error}");
    }
}

//! Envelope encryption of personal data (complainants, officials held to
//! account). Each value is sealed with a fresh data key (AES-256-GCM), and
//! the data key is wrapped by a master key named by its id. The record it
//! belongs to is bound in as associated data, so a sealed value copied to
//! another record does not open there.
//!
//! Master keys rotate without downtime: the first configured key seals,
//! every configured key opens, and `rewrap` moves a value to the current
//! key by re-wrapping its data key only.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What a sealed value starts with; the format's version.
const PREFIX: &str = "v1";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SealError {
    #[error("no master key {0} is configured")]
    UnknownKey(String),
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value does not open: wrong key, wrong record, or tampered")]
    Tampered,
    #[error("a master key must be 32 bytes, base64-encoded")]
    BadKey,
}

/// The configured master keys; the first seals.
pub struct Sealer {
    current: String,
    keys: HashMap<String, LessSafeKey>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("current", &self.current)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn aes_key(bytes: &[u8]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::BadKey)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, SealError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| SealError::Malformed)
}

impl Sealer {
    /// Master keys as (id, 32 raw bytes), the current one first.
    pub fn new(keys: Vec<(String, Vec<u8>)>) -> Result<Sealer, SealError> {
        let current = keys.first().ok_or(SealError::BadKey)?.0.clone();
        let mut map = HashMap::new();
        for (id, raw) in keys {
            if raw.len() != 32 || id.is_empty() || id.contains('.') {
                return Err(SealError::BadKey);
            }
            map.insert(id, aes_key(&raw)?);
        }
        Ok(Sealer {
            current,
            keys: map,
            rng: SystemRandom::new(),
        })
    }

    fn random<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng.fill(&mut b).expect("system randomness");
        b
    }

    /// `key` seals `plain` with a fresh nonce: nonce then ciphertext.
    fn encrypt(&self, key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce = self.random::<NONCE_LEN>();
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .expect("AES-GCM seals any length we store");
        [nonce.as_slice(), &buf].concat()
    }

    fn decrypt(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
        let mut buf = rest.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| SealError::Tampered)?;
        Ok(plain.to_vec())
    }

    /// Seals `plain` for the record named by `record`.
    pub fn seal(&self, record: &str, plain: &str) -> String {
        let data_key = self.random::<32>();
        let key = aes_key(&data_key).expect("32 bytes");
        let body = self.encrypt(&key, record.as_bytes(), plain.as_bytes());
        self.wrap(&self.current, &data_key, &body)
    }

    fn wrap(&self, key_id: &str, data_key: &[u8], body: &[u8]) -> String {
        let master = &self.keys[key_id];
        let wrapped = self.encrypt(master, key_id.as_bytes(), data_key);
        format!("{PREFIX}.{key_id}.{}.{}", b64(&wrapped), b64(body))
    }

    /// The master key id, the data key and the encrypted body of a value.
    fn unwrap_parts(&self, sealed: &str) -> Result<(String, Vec<u8>, Vec<u8>), SealError> {
        let mut parts = sealed.split('.');
        let (Some(PREFIX), Some(key_id), Some(wrapped), Some(body), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SealError::Malformed);
        };
        let master = self
            .keys
            .get(key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_string()))?;
        let data_key = Self::decrypt(master, key_id.as_bytes(), &unb64(wrapped)?)?;
        Ok((key_id.to_string(), data_key, unb64(body)?))
    }

    /// Opens a value sealed for `record`.
    pub fn open(&self, record: &str, sealed: &str) -> Result<String, SealError> {
        let (_, data_key, body) = self.unwrap_parts(sealed)?;
        let key = aes_key(&data_key)?;
        let plain = Self::decrypt(&key, record.as_bytes(), &body)?;
        String::from_utf8(plain).map_err(|_| SealError::Malformed)
    }

    /// The value wrapped by the current master key (its body unchanged);
    /// None when it is already.
    pub fn rewrap(&self, sealed: &str) -> Result<Option<String>, SealError> {
        let (key_id, data_key, body) = self.unwrap_parts(sealed)?;
        if key_id == self.current {
            return Ok(None);
        }
        Ok(Some(self.wrap(&self.current, &data_key, &body)))
    }

    /// The master key id a value is wrapped with.
    pub fn key_of(sealed: &str) -> Option<&str> {
        sealed.split('.').nth(1)
    }

    /// Whether master key `key_id` is configured.
    pub fn knows(&self, key_id: &str) -> bool {
        self.keys.contains_key(key_id)
    }

    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.current
    }
}

/// The key file: master keys for personal data, the current one first.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct KeyFile {
    pub keys: Vec<KeyEntry>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct KeyEntry {
    pub id: String,
    /// 32 bytes, base64url without padding.
    pub key: String,
}

const KEY_FILE_HEADER: &str = "# Master keys for personal data (complainants, officials held to account).\n\
# The first key seals; every key listed opens. Keep this file secret and\n\
# backed up: values sealed with a key that is lost cannot be read again.\n";

impl KeyFile {
    pub fn read(path: &Path) -> anyhow::Result<KeyFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Replaces the file in one rename, so a reader never sees half of it.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = format!("{KEY_FILE_HEADER}\n{}", toml::to_string(self)?);
        let tmp = path.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        super::keys::write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
    }

    /// Adds a fresh random key, first (sealing from now on) when
    /// `current`, else last (opening only, until it is made current).
    /// Returns its id.
    pub fn add_key(&mut self, current: bool) -> String {
        let mut raw = [0u8; 32];
        SystemRandom::new()
            .fill(&mut raw)
            .expect("system randomness");
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
        let mut id = format!("k{stamp}");
        while self.keys.iter().any(|k| k.id == id) {
            id.push('a');
        }
        let entry = KeyEntry {
            id: id.clone(),
            key: b64(&raw),
        };
        if current {
            self.keys.insert(0, entry);
        } else {
            self.keys.push(entry);
        }
        id
    }

    /// Makes key `id` the one that seals.
    pub fn make_current(&mut self, id: &str) -> anyhow::Result<()> {
        let at = self
            .keys
            .iter()
            .position(|k| k.id == id)
            .with_context(|| format!("no key {id} in the key file"))?;
        let entry = self.keys.remove(at);
        self.keys.insert(0, entry);
        Ok(())
    }

    pub fn sealer(&self) -> anyhow::Result<Sealer> {
        let mut keys = Vec::new();
        for k in &self.keys {
            keys.push((
                k.id.clone(),
                unb64(&k.key).map_err(|e| anyhow::anyhow!("key {}: {e}", k.id))?,
            ));
        }
        Sealer::new(keys).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The keys at `path`, created with one fresh key when the file is
    /// missing.
    /// The sealer of the key file at `path`. A missing file is created
    /// only while nothing is sealed yet (`sealed` holds the newest sealed
    /// values): a lost key file is noticed at start, not when someone
    /// opens a petition.
    pub fn load_or_create(path: &Path, sealed: &[String]) -> anyhow::Result<Sealer> {
        if !path.exists() {
            if let Some(v) = sealed.first() {
                anyhow::bail!(
                    "the personal data key file {} is missing, but the database holds personal data \
                     sealed with key {}; restore the file, or set personal_data_keys to where it is",
                    path.display(),
                    Sealer::key_of(v).unwrap_or("?")
                );
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = KeyFile::default();
            file.add_key(true);
            file.write(path)?;
            tracing::info!(path = %path.display(), "created a new personal data key file");
        }
        let sealer = KeyFile::read(path)?
            .sealer()
            .with_context(|| format!("personal data keys in {}", path.display()))?;
        for v in sealed {
            if let Some(k) = Sealer::key_of(v)
                && !sealer.knows(k)
            {
                anyhow::bail!(
                    "personal data in the database is sealed with key {k}, which {} does not hold; \
                     add that key back to the file",
                    path.display()
                );
            }
        }
        Ok(sealer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Vec<u8> {
        vec![byte; 32]
    }

    #[test]
    fn sealed_values_open_only_for_their_record() {
        let s = Sealer::new(vec![("2026".into(), key(1))]).unwrap();
        let sealed = s.seal("petition/1", "13812345678");
        assert!(!sealed.contains("13812345678"));
        assert_eq!(s.open("petition/1", &sealed).unwrap(), "13812345678");
        assert_eq!(s.open("petition/2", &sealed), Err(SealError::Tampered));
        // Two seals of the same value differ.
        assert_ne!(sealed, s.seal("petition/1", "13812345678"));
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(s.open("petition/1", &tampered).is_err());
    }

    #[test]
    fn keys_rotate_without_losing_data() {
        let old = Sealer::new(vec![("2025".into(), key(1))]).unwrap();
        let sealed = old.seal("r", "张三");
        // The new key seals; the old one still opens.
        let both = Sealer::new(vec![("2026".into(), key(2)), ("2025".into(), key(1))]).unwrap();
        assert_eq!(both.open("r", &sealed).unwrap(), "张三");
        let moved = both.rewrap(&sealed).unwrap().unwrap();
        assert_eq!(Sealer::key_of(&moved), Some("2026"));
        assert_eq!(both.rewrap(&moved).unwrap(), None);
        // Once every value is moved, the old key can go.
        let new_only = Sealer::new(vec![("2026".into(), key(2))]).unwrap();
        assert_eq!(new_only.open("r", &moved).unwrap(), "张三");
        assert_eq!(
            new_only.open("r", &sealed),
            Err(SealError::UnknownKey("2025".into()))
        );
    }
}

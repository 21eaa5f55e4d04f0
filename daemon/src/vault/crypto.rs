//! Sealing secrets: AES-256-GCM under the vault's data key, and the
//! Argon2id wrapping of that key for the passphrase unlocker. All primitives
//! come from the RustCrypto crates; nothing here is hand-rolled.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

const NONCE_LEN: usize = 12;
/// Associated data for the sealed data key, so a sealed password can never
/// be passed off as a wrapped key or the other way round.
const KEY_WRAP_AAD: &[u8] = b"dbcreds/v1/data-key";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("a sealed value failed authentication (wrong key, or the vault was altered)")]
    Unseal,
    #[error("the passphrase unlocker's parameters are unreadable: {0}")]
    Params(String),
}

/// The 256-bit key every password is sealed under. Zeroed on drop; no Debug
/// that shows it.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl DataKey {
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(key.as_mut());
        Self(key)
    }

    /// Takes the key from bytes read out of a keyring; the caller's buffer is
    /// zeroed here.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Option<Self> {
        let key = <[u8; 32]>::try_from(bytes.as_slice())
            .ok()
            .map(|k| Self(Zeroizing::new(k)));
        bytes.zeroize();
        key
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_ref().into())
    }

    /// nonce || ciphertext+tag, with a fresh random nonce.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher(), aad, plaintext)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_with(&self.cipher(), aad, sealed)
    }
}

fn seal_with(cipher: &Aes256Gcm, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // AES-GCM encryption only fails for inputs beyond 64 GiB.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

fn open_with(
    cipher: &Aes256Gcm,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN {
        return Err(CryptoError::Unseal);
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Unseal)
}

/// Argon2id parameters and salt, stored next to the wrapped key so they can
/// be raised later without breaking old vaults.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PassphraseParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub salt_hex: String,
}

impl PassphraseParams {
    /// OWASP's recommended Argon2id minimum (19 MiB, 2 passes): a few hundred
    /// milliseconds per unlock on a small machine.
    pub fn new_random() -> Self {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Self {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
            salt_hex: hex(&salt),
        }
    }

    fn derive(&self, passphrase: &[u8]) -> Result<Aes256Gcm, CryptoError> {
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| CryptoError::Params(e.to_string()))?;
        let salt = unhex(&self.salt_hex).ok_or_else(|| CryptoError::Params("salt".into()))?;
        let mut kek = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, &salt, kek.as_mut())
            .map_err(|e| CryptoError::Params(e.to_string()))?;
        Ok(Aes256Gcm::new(kek.as_ref().into()))
    }
}

/// Seals the data key under a key derived from the passphrase.
pub fn wrap_key(
    key: &DataKey,
    params: &PassphraseParams,
    passphrase: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    Ok(seal_with(
        &params.derive(passphrase)?,
        KEY_WRAP_AAD,
        key.as_bytes(),
    ))
}

/// Opens the wrapped data key; [`CryptoError::Unseal`] means a wrong passphrase.
pub fn unwrap_key(
    wrapped: &[u8],
    params: &PassphraseParams,
    passphrase: &[u8],
) -> Result<DataKey, CryptoError> {
    let plain = open_with(&params.derive(passphrase)?, KEY_WRAP_AAD, wrapped)?;
    DataKey::from_bytes(plain.to_vec()).ok_or(CryptoError::Unseal)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A random identifier for a new vault: names its keyring entry.
pub fn new_vault_id() -> String {
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    hex(&id)
}

/// A random identifier for a new data key of a vault (its keyring entry).
pub fn new_key_id() -> String {
    let mut id = [0u8; 8];
    rand::rng().fill_bytes(&mut id);
    hex(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_binds_the_associated_data() {
        let key = DataKey::generate();
        let sealed = key.seal(b"prod", b"hunter2");
        assert_eq!(key.open(b"prod", &sealed).unwrap().as_slice(), b"hunter2");
        assert!(key.open(b"dev", &sealed).is_err());
        assert!(DataKey::generate().open(b"prod", &sealed).is_err());
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
    }

    #[test]
    fn nonces_are_fresh() {
        let key = DataKey::generate();
        assert_ne!(key.seal(b"a", b"x"), key.seal(b"a", b"x"));
    }

    #[test]
    fn passphrase_wrap_round_trip_and_wrong_passphrase() {
        let key = DataKey::generate();
        let mut params = PassphraseParams::new_random();
        params.m_cost_kib = 1024; // keep the unit test fast
        let wrapped = wrap_key(&key, &params, b"correct horse").unwrap();
        let back = unwrap_key(&wrapped, &params, b"correct horse").unwrap();
        assert_eq!(back.as_bytes(), key.as_bytes());
        assert!(matches!(
            unwrap_key(&wrapped, &params, b"wrong"),
            Err(CryptoError::Unseal)
        ));
    }
}

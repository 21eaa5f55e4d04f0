//! The OS keyring as an unlocker: the vault's data key sits in the platform
//! credential store (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows) under service `dbcreds`, user `vault:<vault id>` (a
//! vault as `init` made it) or `vault:<vault id>:<key id>` (a key made by
//! `rekey` or `restore`). The keyring unlocker's row names the entry, so
//! a new key gets an entry of its own and never overwrites the one the
//! committed vault still needs.
//!
//! keyring-core's calls block (D-Bus round trips, possibly a prompt), so they
//! run on tokio's blocking pool and are time-bounded: a locked collection or
//! a dead D-Bus gives a clear error instead of a hung agent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};

use crate::vault::crypto::DataKey;

const SERVICE: &str = "dbcreds";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "no OS keyring answered ({0}): unlock your login keyring, or use a passphrase (`dbcreds init --unlocker passphrase`)"
    )]
    Unavailable(String),
    #[error(
        "the OS keyring did not answer within {0:?} (is the login keyring locked?): unlock it and run `dbcreds unlock`, or use the passphrase unlocker"
    )]
    Timeout(Duration),
    #[error(
        "the OS keyring holds no key for this vault: run `dbcreds unlock` with the passphrase, or restore the keyring entry"
    )]
    NoEntry,
    #[error(
        "the OS keyring's entry for this vault is not a dbcreds key: it was overwritten; unlock with the passphrase"
    )]
    BadKey,
}

/// How long one keyring call may take. A prompt a person must answer can
/// take a while; a hang must not take forever.
pub fn timeout() -> Duration {
    match TIMEOUT_MS.load(Ordering::Relaxed) {
        0 => DEFAULT_TIMEOUT,
        ms => Duration::from_millis(ms),
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

/// Sets the bound on keyring calls (config `keyring_timeout`,
/// `DBCREDS_KEYRING_TIMEOUT`).
pub fn set_timeout(limit: Duration) {
    let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
    TIMEOUT_MS.store(ms, Ordering::Relaxed);
}

fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    #[cfg(target_os = "linux")]
    {
        zbus_secret_service_keyring_store::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| KeyringError::Unavailable(e.to_string()))
    }
    #[cfg(target_os = "macos")]
    {
        apple_native_keyring_store::keychain::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| KeyringError::Unavailable(e.to_string()))
    }
    #[cfg(target_os = "windows")]
    {
        windows_native_keyring_store::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| KeyringError::Unavailable(e.to_string()))
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    {
        Err(KeyringError::Unavailable(
            "no keyring support on this platform".into(),
        ))
    }
}

/// The entry (its user name under service `dbcreds`) of the key `init`
/// stores for vault `vault_id`.
pub fn default_entry(vault_id: &str) -> String {
    format!("vault:{vault_id}")
}

/// A fresh entry name for another key of vault `vault_id`: never the name
/// of an entry in use.
pub fn new_entry(vault_id: &str) -> String {
    format!("vault:{vault_id}:{}", crate::vault::crypto::new_key_id())
}

fn entry(user: &str) -> Result<Entry, KeyringError> {
    let store = platform_store()?;
    store
        .build(SERVICE, user, None)
        .map_err(|e| KeyringError::Unavailable(e.to_string()))
}

fn map_err(e: keyring_core::Error) -> KeyringError {
    match e {
        keyring_core::Error::NoEntry => KeyringError::NoEntry,
        other => KeyringError::Unavailable(other.to_string()),
    }
}

async fn bounded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    let limit = timeout();
    match tokio::time::timeout(limit, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(KeyringError::Unavailable(join.to_string())),
        // The blocking thread is abandoned; it ends when D-Bus gives up.
        Err(_) => Err(KeyringError::Timeout(limit)),
    }
}

/// Stores a data key in the entry `user` (see [`default_entry`], [`new_entry`]).
pub async fn store_key(user: &str, key: &DataKey) -> Result<(), KeyringError> {
    let user = user.to_owned();
    let bytes = zeroize::Zeroizing::new(key.as_bytes().to_vec());
    bounded(move || entry(&user)?.set_secret(&bytes).map_err(map_err)).await
}

/// Reads the data key in the entry `user`: one keyring access.
pub async fn fetch_key(user: &str) -> Result<DataKey, KeyringError> {
    let user = user.to_owned();
    let bytes = bounded(move || entry(&user)?.get_secret().map_err(map_err)).await?;
    DataKey::from_bytes(bytes).ok_or(KeyringError::BadKey)
}

/// Stores `key` in the entry `user` and reads it back: `Ok` only once the
/// keyring hands out exactly this key, so a vault never commits to an
/// entry that does not hold its key.
pub async fn store_key_verified(user: &str, key: &DataKey) -> Result<(), KeyringError> {
    store_key(user, key).await?;
    let back = fetch_key(user).await?;
    if back.as_bytes() == key.as_bytes() {
        Ok(())
    } else {
        Err(KeyringError::BadKey)
    }
}

/// Deletes the entry `user`; one that is not there is fine.
pub async fn delete_key(user: &str) -> Result<(), KeyringError> {
    let user = user.to_owned();
    bounded(move || match entry(&user)?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(e)),
    })
    .await
}

/// Reads the secret of any entry `user` of `service`: one keyring access,
/// bounded like the others. `Ok(None)` when there is no such entry. For
/// importing what other tools stored (the Python dbcreds); the caller
/// decides which entries may be read.
pub async fn fetch_secret(
    service: &str,
    user: &str,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, KeyringError> {
    let (service, user) = (service.to_owned(), user.to_owned());
    bounded(move || {
        let entry = platform_store()?
            .build(&service, &user, None)
            .map_err(|e| KeyringError::Unavailable(e.to_string()))?;
        match entry.get_secret() {
            Ok(s) => Ok(Some(zeroize::Zeroizing::new(s))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            // Two tools (or two runs of one) may have left duplicates with
            // the same service and user; any of them is the one they read.
            Err(keyring_core::Error::Ambiguous(entries)) => {
                tracing::warn!(
                    %service, %user, count = entries.len(),
                    "several keyring entries match; reading the first"
                );
                match entries.first().map(Entry::get_secret) {
                    Some(Ok(s)) => Ok(Some(zeroize::Zeroizing::new(s))),
                    Some(Err(e)) => Err(map_err(e)),
                    None => Ok(None),
                }
            }
            Err(e) => Err(map_err(e)),
        }
    })
    .await
}

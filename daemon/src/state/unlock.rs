//! Creating, unlocking and locking the vault: the data key comes from the
//! OS keyring or a passphrase, is checked against the vault's key-check
//! value, and every password is decrypted once into memory.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use dbcreds::Unlocker;
use dbcreds::unlocker::InitUnlocker;
use secrecy::{ExposeSecret, SecretString};

use super::{Agent, OpenVault, State, Unlocked, keys};
use crate::error::{AgentError, Result};
use crate::keyring;
use crate::vault::crypto::{self, DataKey, PassphraseParams};
use crate::vault::{Record, UnlockerRow, Vault, VaultError};

/// A sealed known value: tells a right data key from a wrong one even in a
/// vault with no environments yet.
pub(super) const KEY_CHECK_AAD: &[u8] = b"dbcreds/v1/key-check";
pub(super) const KEY_CHECK_PLAIN: &[u8] = b"dbcreds key check";

impl Agent {
    /// Creates the vault with `unlocker` (`Auto`: the keyring if it
    /// answers, and the passphrase too when one is given).
    pub async fn init(
        &self,
        unlocker: InitUnlocker,
        passphrase: Option<SecretString>,
    ) -> Result<Vec<Unlocker>> {
        let _gate = self.unlock_gate.lock().await;
        match &*self.state.read().await {
            State::Missing => {}
            State::Open(_) => {
                return Err(AgentError::AlreadyInitialized(
                    self.vault_path.display().to_string(),
                ));
            }
            State::Broken(e) => return Err(e.replay().into()),
        }
        if self.vault_path.exists() || crate::fsutil::is_symlink(&self.vault_path) {
            return Err(AgentError::AlreadyInitialized(
                self.vault_path.display().to_string(),
            ));
        }
        let key = DataKey::generate();
        let vault_id = crypto::new_vault_id();
        let mut rows = Vec::new();
        if unlocker.wants_keyring() {
            let entry = keyring::default_entry(&vault_id);
            match keyring::store_key(&entry, &key).await {
                Ok(()) => rows.push(keys::keyring_row(&entry)),
                Err(e) if unlocker == InitUnlocker::Auto && passphrase.is_some() => {
                    tracing::info!(error = %e, "no keyring; using the passphrase only");
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(p) = &passphrase {
            rows.push(passphrase_row(&key, p).await?);
        } else if unlocker == InitUnlocker::Only(Unlocker::Passphrase) {
            return Err(AgentError::BadRequest(
                "the passphrase unlocker needs a passphrase: pass --passphrase-stdin or set DBCREDS_PASSPHRASE_FILE".into(),
            ));
        }
        if let Some(dir) = self.vault_path.parent() {
            crate::fsutil::create_private_dir(dir).map_err(|e| {
                AgentError::Internal(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let vault = Vault::create(&self.vault_path).await?;
        let key_check = key.seal(KEY_CHECK_AAD, KEY_CHECK_PLAIN);
        vault
            .initialize(&vault_id, &crypto::hex(&key_check), &rows)
            .await?;
        let kinds = rows.iter().map(|r| r.kind).collect();
        *self.state.write().await = State::Open(Box::new(OpenVault {
            vault,
            vault_id,
            key_check,
            unlockers: rows,
            records: BTreeMap::new(),
            policies: BTreeMap::new(),
            sources: BTreeMap::new(),
            unlocked: Some(Unlocked::new(key, HashMap::new())),
        }));
        self.auto_unlock.store(true, Ordering::SeqCst);
        self.timers.unlocked();
        self.announce_unlocked();
        tracing::info!(vault = %self.vault_path.display(), "vault created");
        Ok(kinds)
    }

    /// Unlocks through the keyring (`None`) or a passphrase; returns the
    /// unlocker that worked. Unlocking an unlocked vault changes nothing,
    /// but a passphrase given is still checked: a script must not learn
    /// that a wrong one "worked".
    pub async fn unlock(&self, passphrase: Option<SecretString>) -> Result<Unlocker> {
        let _gate = self.unlock_gate.lock().await;
        let (vault_id, key_check, unlockers, unlocked) = match &*self.state.read().await {
            State::Missing => return Err(AgentError::NotInitialized),
            State::Broken(e) => return Err(e.replay().into()),
            State::Open(o) => (
                o.vault_id.clone(),
                o.key_check.clone(),
                o.unlockers.clone(),
                // Secrets forgotten after their policy's max_unlocked come
                // back only through an unlocker, as after a lock.
                o.unlocked.as_ref().is_some_and(|u| u.forgotten.is_empty()),
            ),
        };
        if unlocked {
            let Some(p) = passphrase else {
                return Ok(Unlocker::Keyring);
            };
            let Some(row) = unlockers.iter().find(|u| u.kind == Unlocker::Passphrase) else {
                return Err(AgentError::NoSuchUnlocker(
                    Unlocker::Passphrase,
                    "the vault is unlocked already (through the OS keyring)",
                ));
            };
            let key = unwrap_with_passphrase(row, p).await?;
            if key.open(KEY_CHECK_AAD, &key_check).is_err() {
                return Err(AgentError::WrongPassphrase);
            }
            return Ok(Unlocker::Passphrase);
        }
        let (key, how) = match passphrase {
            None => {
                let Some(row) = keys::find(&unlockers, Unlocker::Keyring) else {
                    return Err(AgentError::NoSuchUnlocker(
                        Unlocker::Keyring,
                        "unlock with the passphrase (`dbcreds unlock` prompts for it)",
                    ));
                };
                let entry = keys::keyring_entry(row, &vault_id);
                (keyring::fetch_key(&entry).await?, Unlocker::Keyring)
            }
            Some(p) => {
                let Some(row) = unlockers.iter().find(|u| u.kind == Unlocker::Passphrase) else {
                    return Err(AgentError::NoSuchUnlocker(
                        Unlocker::Passphrase,
                        "unlock through the OS keyring (`dbcreds unlock` without a passphrase)",
                    ));
                };
                (unwrap_with_passphrase(row, p).await?, Unlocker::Passphrase)
            }
        };
        if key.open(KEY_CHECK_AAD, &key_check).is_err() {
            return Err(match how {
                Unlocker::Keyring => keyring::KeyringError::BadKey.into(),
                Unlocker::Passphrase => AgentError::WrongPassphrase,
            });
        }
        let mut state = self.state.write().await;
        let State::Open(o) = &mut *state else {
            return Err(AgentError::NotInitialized);
        };
        if let Some(u) = o.unlocked.as_mut() {
            u.restore_forgotten(&o.records)?;
        } else {
            let secrets = decrypt_all(&key, &o.records)?;
            o.unlocked = Some(Unlocked::new(key, secrets));
        }
        self.loaded.notify_one();
        self.auto_unlock.store(true, Ordering::SeqCst);
        self.timers.unlocked();
        self.announce_unlocked();
        tracing::info!(
            unlocker = how.as_str(),
            environments = o.records.len(),
            "vault unlocked"
        );
        drop(state);
        crate::memory::release_free_memory();
        if how == Unlocker::Keyring {
            // The keyring answers: a good moment to delete the entry an
            // interrupted `rekey` left behind (a passphrase unlock may
            // happen where no keyring answers, and would wait for it).
            if let Err(e) = self.settle_rekey().await {
                tracing::warn!(error = %e, "an interrupted re-key's keyring entry is still there");
            }
        }
        Ok(how)
    }

    /// Unlocks through the keyring on the agent's own initiative (at start,
    /// or when a request finds the vault locked) unless the user locked it.
    /// Single flight: requests that arrive while an attempt runs wait for
    /// it and share its outcome instead of each making a keyring call.
    /// `Err` is `LockedBecause`, naming why the keyring did not unlock.
    pub async fn auto_unlock(&self) -> Result<bool> {
        if !self.auto_unlock.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let seen = self.auto_attempts.load(Ordering::SeqCst);
        let _flight = self.auto_flight.lock().await;
        if self.auto_attempts.load(Ordering::SeqCst) != seen {
            return match self.last_auto_failure() {
                Some(why) => Err(AgentError::LockedBecause(why)),
                None => Ok(self.is_unlocked().await),
            };
        }
        if !self.auto_unlock.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let has_keyring = match &*self.state.read().await {
            State::Open(o) => {
                o.unlocked.is_some() || o.unlockers.iter().any(|u| u.kind == Unlocker::Keyring)
            }
            _ => false,
        };
        if !has_keyring {
            return Ok(false);
        }
        let result = self.unlock(None).await;
        let failure = result.as_ref().err().map(ToString::to_string);
        if let Ok(mut last) = self.auto_failure.lock() {
            last.clone_from(&failure);
        }
        self.auto_attempts.fetch_add(1, Ordering::SeqCst);
        match failure {
            None => Ok(true),
            Some(why) => {
                // One failed attempt is enough: later requests fail fast as
                // "locked" and the user unlocks on purpose.
                self.auto_unlock.store(false, Ordering::SeqCst);
                tracing::warn!(error = %why, "automatic keyring unlock failed");
                Err(AgentError::LockedBecause(why))
            }
        }
    }

    fn last_auto_failure(&self) -> Option<String> {
        self.auto_failure.lock().ok().and_then(|f| f.clone())
    }

    async fn is_unlocked(&self) -> bool {
        matches!(&*self.state.read().await, State::Open(o) if o.unlocked.is_some())
    }

    /// Before a request that needs the data key: one automatic unlock if
    /// the vault is locked. `Ok` does not mean unlocked (the caller finds
    /// out); `Err` names why the keyring did not unlock it.
    pub(super) async fn unlock_for_request(&self) -> Result<()> {
        if self.is_unlocked().await {
            return Ok(());
        }
        self.auto_unlock().await.map(|_| ())
    }

    /// Unlocks with the passphrase in `file` (for services started without a
    /// person at hand).
    pub async fn unlock_with_file(&self, file: &Path) -> Result<()> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| AgentError::BadRequest(format!("cannot read {}: {e}", file.display())))?;
        let pass = SecretString::from(text.trim_end_matches(['\r', '\n']).to_owned());
        drop(text);
        self.unlock(Some(pass)).await.map(|_| ())
    }

    /// Drops the data key and every decrypted secret.
    pub async fn lock(&self, by_user: bool) {
        if by_user {
            self.auto_unlock.store(false, Ordering::SeqCst);
        }
        // Leases first, while the sessions still hold their logins.
        self.sources.clear().await;
        if let State::Open(o) = &mut *self.state.write().await
            && o.unlocked.take().is_some()
        {
            tracing::info!("vault locked");
        }
        self.unlocked_now
            .send_if_modified(|u| std::mem::replace(u, false));
        self.timers.locked();
        crate::memory::release_free_memory();
    }
}

pub(super) fn decrypt_all(
    key: &DataKey,
    records: &BTreeMap<String, Record>,
) -> Result<HashMap<String, SecretString>> {
    let mut out = HashMap::with_capacity(records.len());
    for (name, rec) in records {
        let plain = key.open(name.as_bytes(), &rec.sealed).map_err(|_| {
            AgentError::Vault(VaultError::Corrupt {
                path: PathBuf::new(),
                detail: format!("the password of '{name}' fails authentication"),
            })
        })?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| AgentError::Internal(format!("password of {name} is not UTF-8")))?;
        let secret = SecretString::from(text);
        crate::memory::lock_in_ram(secret.expose_secret().as_bytes());
        out.insert(name.clone(), secret);
    }
    Ok(out)
}

pub(super) async fn passphrase_row(
    key: &DataKey,
    passphrase: &SecretString,
) -> Result<UnlockerRow> {
    let params = PassphraseParams::new_random();
    let key_bytes = zeroize::Zeroizing::new(key.as_bytes().to_vec());
    let pass = passphrase.clone();
    let p = params.clone();
    let wrapped = tokio::task::spawn_blocking(move || {
        let key = DataKey::from_bytes(key_bytes.to_vec()).ok_or(crypto::CryptoError::Unseal)?;
        crypto::wrap_key(&key, &p, pass.expose_secret().as_bytes())
    })
    .await
    .map_err(|e| AgentError::Internal(e.to_string()))?
    .map_err(|e| AgentError::Internal(e.to_string()))?;
    Ok(UnlockerRow {
        kind: Unlocker::Passphrase,
        params: serde_json::to_string(&params).map_err(|e| AgentError::Internal(e.to_string()))?,
        wrapped_key: Some(wrapped),
    })
}

pub(super) async fn unwrap_with_passphrase(
    row: &UnlockerRow,
    passphrase: SecretString,
) -> Result<DataKey> {
    let params: PassphraseParams = serde_json::from_str(&row.params)
        .map_err(|e| AgentError::Internal(format!("passphrase params: {e}")))?;
    let wrapped = row.wrapped_key.clone().unwrap_or_default();
    tokio::task::spawn_blocking(move || {
        crypto::unwrap_key(&wrapped, &params, passphrase.expose_secret().as_bytes())
    })
    .await
    .map_err(|e| AgentError::Internal(e.to_string()))?
    .map_err(|e| match e {
        crypto::CryptoError::Unseal => AgentError::WrongPassphrase,
        other => AgentError::Internal(other.to_string()),
    })
}

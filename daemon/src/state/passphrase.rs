//! `passphrase add|change|remove`: the passphrase unlocker beside the
//! keyring one, the way back in when the keyring is lost.

use dbcreds::Unlocker;
use secrecy::SecretString;

use super::unlock::{passphrase_row, unwrap_with_passphrase};
use super::{Agent, OpenVault, State, keys, open_mut};
use crate::error::{AgentError, Result};
use crate::keyring;
use crate::vault::crypto::DataKey;

/// What to do with the passphrase unlocker.
pub enum PassphraseChange {
    /// Add one (the vault must be unlocked: the data key is wrapped under it).
    Add(SecretString),
    /// Replace it; the current passphrase opens the key, so the vault may
    /// be locked.
    Change {
        current: SecretString,
        new: SecretString,
    },
    /// Remove it, if another unlocker hands out the key right now.
    Remove,
}

impl Agent {
    /// Applies `change`; returns the unlockers afterwards.
    pub async fn change_passphrase(&self, change: PassphraseChange) -> Result<Vec<Unlocker>> {
        if !matches!(change, PassphraseChange::Change { .. }) {
            self.unlock_for_request().await?;
        }
        // No unlock, init, restore or re-key in between.
        let _gate = self.unlock_gate.lock().await;
        let (vault, unlockers) = match &*self.state.read().await {
            State::Open(o) => (o.vault.clone(), o.unlockers.clone()),
            State::Missing => return Err(AgentError::NotInitialized),
            State::Broken(e) => return Err(e.replay().into()),
        };
        let current = keys::find(&unlockers, Unlocker::Passphrase);
        let no_passphrase = || {
            AgentError::NoSuchUnlocker(
                Unlocker::Passphrase,
                "add one with `dbcreds passphrase add`",
            )
        };
        match change {
            PassphraseChange::Add(p) => {
                if current.is_some() {
                    return Err(AgentError::PassphraseExists);
                }
                let key = self.key_copy().await?;
                vault.put_unlocker(&passphrase_row(&key, &p).await?).await?;
            }
            PassphraseChange::Change { current: old, new } => {
                let row = current.ok_or_else(no_passphrase)?;
                let key = unwrap_with_passphrase(row, old).await?;
                self.check_key(&key).await?;
                vault
                    .put_unlocker(&passphrase_row(&key, &new).await?)
                    .await?;
            }
            PassphraseChange::Remove => {
                current.ok_or_else(no_passphrase)?;
                let key = self.key_copy().await?;
                self.other_unlocker_works(&unlockers, &key).await?;
                vault.delete_unlocker(Unlocker::Passphrase).await?;
            }
        }
        let rows = vault.unlockers().await?;
        let kinds = rows.iter().map(|r| r.kind).collect();
        let mut state = self.state.write().await;
        let o: &mut OpenVault = open_mut(&mut state)?;
        o.unlockers = rows;
        Ok(kinds)
    }

    /// A copy of the data key; `Locked` while locked.
    pub(super) async fn key_copy(&self) -> Result<DataKey> {
        self.with_key(|k| DataKey::from_bytes(k.as_bytes().to_vec()))
            .await?
            .ok_or_else(|| AgentError::Internal("data key length".into()))
    }

    /// Fails unless `key` opens this vault's key check.
    async fn check_key(&self, key: &DataKey) -> Result<()> {
        let state = self.state.read().await;
        let o = super::open(&state)?;
        key.open(super::unlock::KEY_CHECK_AAD, &o.key_check)
            .map(|_| ())
            .map_err(|_| AgentError::WrongPassphrase)
    }

    /// Refuses unless an unlocker other than the passphrase hands out `key`
    /// now: only the keyring can, and only if its entry holds this key.
    async fn other_unlocker_works(
        &self,
        unlockers: &[crate::vault::UnlockerRow],
        key: &DataKey,
    ) -> Result<()> {
        let vault_id = match &*self.state.read().await {
            State::Open(o) => o.vault_id.clone(),
            _ => return Err(AgentError::NotInitialized),
        };
        let Some(row) = keys::find(unlockers, Unlocker::Keyring) else {
            return Err(AgentError::LastUnlocker(
                "the passphrase is this vault's only unlocker: removing it would lock the vault for good; `dbcreds passphrase change` replaces it".into(),
            ));
        };
        let entry = keys::keyring_entry(row, &vault_id);
        match keyring::fetch_key(&entry).await {
            Ok(k) if k.as_bytes() == key.as_bytes() => Ok(()),
            Ok(_) => Err(AgentError::LastUnlocker(
                "the OS keyring's entry for this vault holds another key: the passphrase is the only way in, so it stays".into(),
            )),
            Err(e) => Err(AgentError::LastUnlocker(format!(
                "the OS keyring does not hand out this vault's key ({e}): the passphrase is the only way in now, so it stays"
            ))),
        }
    }
}

//! What database operations (connection tests, rotations) and the audit
//! writer need from the state, and nothing more.

use std::collections::BTreeMap;

use dbcreds::{EnvName, Environment};

use super::unlock::decrypt_all;
use super::{Agent, open, open_mut};
use crate::error::{AgentError, Result};
use crate::vault::crypto::DataKey;
use crate::vault::{Vault, VaultError};

/// What database operations (`crate::dbops`: connection tests, rotations)
/// need from the state, and nothing more: the data key to seal what they
/// store, and vault writes that never interleave with `put`/`update`.
impl Agent {
    /// Runs `f` with the data key; fails with `Locked` while locked.
    pub(crate) async fn with_key<T>(&self, f: impl FnOnce(&DataKey) -> T) -> Result<T> {
        let state = self.state.read().await;
        let u = open(&state)?.unlocked.as_ref().ok_or(AgentError::Locked)?;
        Ok(f(&u.key))
    }

    /// Runs `write` on the vault under the state's write lock, then reads
    /// `name`'s row back into memory (its password too, when unlocked).
    /// Holding the lock means a concurrent `update` cannot write back a
    /// stale copy of the row over what `write` stored.
    pub(crate) async fn write_and_reload<F, Fut>(
        &self,
        name: &EnvName,
        write: F,
    ) -> Result<Environment>
    where
        F: FnOnce(Vault) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<(), VaultError>>,
    {
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        if !o.records.contains_key(name.as_str()) {
            return Err(AgentError::NotFound(name.to_string()));
        }
        write(o.vault.clone()).await?;
        let rec = o
            .vault
            .load_one(name.as_str())
            .await?
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        // A forgotten secret stays forgotten: a rotation is no unlock.
        if let Some(u) = o
            .unlocked
            .as_mut()
            .filter(|u| !u.forgotten.contains_key(name.as_str()))
        {
            let one = BTreeMap::from([(name.to_string(), rec.clone())]);
            u.secrets.extend(decrypt_all(&u.key, &one)?);
        }
        let env = rec.env.clone();
        o.records.insert(name.to_string(), rec);
        Ok(env)
    }

    /// Changes whenever the vault is unlocked.
    pub(crate) fn unlock_events(&self) -> tokio::sync::watch::Receiver<u64> {
        self.unlocks.subscribe()
    }

    /// Whether the vault is unlocked, now and whenever that changes.
    pub(crate) fn unlocked_events(&self) -> tokio::sync::watch::Receiver<bool> {
        self.unlocked_now.subscribe()
    }

    /// Tells those waiting for an unlock (rotation recovery, watchers)
    /// that one happened.
    pub(super) fn announce_unlocked(&self) {
        self.unlocks.send_modify(|n| *n += 1);
        self.unlocked_now.send_replace(true);
    }

    /// The open vault, for reads that need no lock (rotation records, the
    /// audit log); the error says why there is none.
    pub(crate) async fn vault_or_error(&self) -> Result<Vault> {
        let state = self.state.read().await;
        Ok(open(&state)?.vault.clone())
    }
}

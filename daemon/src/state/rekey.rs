//! `rekey`: a new data key for the vault, every sealed value carried over
//! to it, every unlocker re-wrapped, and the old key gone. A SIGKILL at any
//! moment leaves either the old key or the new one in charge, never a mix.
//!
//! The SQLite side is one transaction ([`Vault::reseal_all`]). The keyring
//! is outside it, so its side is ordered around that transaction and
//! recorded in `meta` (key [`REKEY_META`]) before each step:
//!
//! 1. record `storing` with a new entry name (commit);
//! 2. store the new key in that new entry and read it back (the old entry,
//!    which the committed vault names, is untouched);
//! 3. one transaction: every value re-sealed, the key check, the unlocker
//!    rows (keyring: the new entry's name; passphrase: the new key wrapped
//!    under the same passphrase with a new salt), and `committed` with the
//!    old entry's name;
//! 4. delete the old entry;
//! 5. delete the record.
//!
//! The vault always names the entry that holds its committed key, so an
//! unlock never has to guess between two. A crash before 3 leaves a stray
//! new entry, after 3 a stale old one: [`Agent::settle_rekey`] (after the
//! next keyring unlock, and before the next re-key) deletes whichever the
//! record names.

use dbcreds::Unlocker;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::unlock::{KEY_CHECK_AAD, KEY_CHECK_PLAIN, passphrase_row, unwrap_with_passphrase};
use super::{Agent, State, keys, open_mut};
use crate::error::{AgentError, Result};
use crate::keyring;
use crate::testhooks::step;
use crate::vault::crypto::{self, DataKey};
use crate::vault::rekey::Rekeyed;
use crate::vault::{UnlockerRow, Vault};

/// The `meta` key of an unfinished re-key's keyring side.
pub(super) const REKEY_META: &str = "rekey";

/// Where the keyring side of a re-key stands.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
enum Stage {
    /// The new key is being stored in `new_entry`; the vault still uses the
    /// old key (and its entry).
    Storing { new_entry: String },
    /// The new key is committed; `old_entry` still holds the old one.
    Committed { old_entry: String },
}

impl Stage {
    fn json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| AgentError::Internal(e.to_string()))
    }

    /// The entry to delete now.
    fn stray_entry(self) -> String {
        match self {
            Self::Storing { new_entry } => new_entry,
            Self::Committed { old_entry } => old_entry,
        }
    }
}

/// What a re-key did.
pub struct RekeyDone {
    /// Sealed values carried over to the new key.
    pub sealed: usize,
    pub unlockers: Vec<Unlocker>,
}

/// What a re-key starts from, taken under the read lock.
struct Start {
    vault: Vault,
    vault_id: String,
    unlockers: Vec<UnlockerRow>,
    key: DataKey,
}

impl Agent {
    /// Gives the vault a new data key (see the module's documentation).
    /// `passphrase` is required when the vault has a passphrase unlocker:
    /// the new key is wrapped under it again. The caller keeps rotations
    /// from running meanwhile (their pending passwords are sealed too).
    pub async fn rekey(&self, passphrase: Option<SecretString>) -> Result<RekeyDone> {
        self.unlock_for_request().await?;
        let _gate = self.unlock_gate.lock().await;
        // A stray entry of an earlier, interrupted re-key goes first: the
        // record has room for one.
        self.settle_rekey().await?;
        let start = self.rekey_start().await?;
        let new_key = DataKey::generate();

        let mut rows = Vec::new();
        if let Some(row) = keys::find(&start.unlockers, Unlocker::Passphrase) {
            let Some(p) = passphrase else {
                return Err(AgentError::BadRequest(
                    "this vault has a passphrase unlocker: the new key must be wrapped under it again, so rekey needs the passphrase (prompted, --passphrase-stdin or DBCREDS_PASSPHRASE_FILE)".into(),
                ));
            };
            let theirs = unwrap_with_passphrase(row, p.clone()).await?;
            if theirs.as_bytes() != start.key.as_bytes() {
                return Err(AgentError::WrongPassphrase);
            }
            rows.push(passphrase_row(&new_key, &p).await?);
        } else if passphrase.is_some() {
            return Err(AgentError::NoSuchUnlocker(
                Unlocker::Passphrase,
                "rekey it without a passphrase",
            ));
        }

        let mut stage = None;
        if let Some(row) = keys::find(&start.unlockers, Unlocker::Keyring) {
            let old_entry = keys::keyring_entry(row, &start.vault_id);
            let new_entry = keyring::new_entry(&start.vault_id);
            let storing = Stage::Storing {
                new_entry: new_entry.clone(),
            };
            start.vault.set_meta(REKEY_META, &storing.json()?).await?;
            step("rekey:after_record").await;
            if let Err(e) = keyring::store_key_verified(&new_entry, &new_key).await {
                self.settle_after_failure().await;
                return Err(e.into());
            }
            step("rekey:after_keyring").await;
            rows.insert(0, keys::keyring_row(&new_entry));
            stage = Some(Stage::Committed { old_entry }.json()?);
        }

        let result = self.commit_new_key(&start, new_key, &rows, stage).await;
        if result.is_err() {
            self.settle_after_failure().await;
        }
        let sealed = result?;
        step("rekey:after_commit").await;
        if let Err(e) = self.settle_rekey().await {
            // The new key is in charge; only the old entry lingers until
            // the next keyring unlock or re-key deletes it.
            tracing::warn!(error = %e, "re-keyed, but the old keyring entry is still there");
        }
        tracing::info!(sealed, "vault re-keyed");
        Ok(RekeyDone {
            sealed,
            unlockers: rows.iter().map(|r| r.kind).collect(),
        })
    }

    async fn rekey_start(&self) -> Result<Start> {
        let state = self.state.read().await;
        let State::Open(o) = &*state else {
            return Err(AgentError::NotInitialized);
        };
        let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
        Ok(Start {
            vault: o.vault.clone(),
            vault_id: o.vault_id.clone(),
            unlockers: o.unlockers.clone(),
            key: DataKey::from_bytes(u.key.as_bytes().to_vec())
                .ok_or_else(|| AgentError::Internal("data key length".into()))?,
        })
    }

    /// Step 3, under the state's write lock, so no `put` or `update` seals
    /// a password under the old key after the transaction read the rows.
    async fn commit_new_key(
        &self,
        start: &Start,
        new_key: DataKey,
        rows: &[UnlockerRow],
        stage: Option<String>,
    ) -> Result<usize> {
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        let old = match &o.unlocked {
            // Locked meanwhile: it must be unlocked again first.
            None => return Err(AgentError::Locked),
            Some(u) if u.key.as_bytes() != start.key.as_bytes() => {
                return Err(AgentError::Internal(
                    "the data key changed during the re-key".into(),
                ));
            }
            Some(u) => &u.key,
        };
        let reseal = |aad: &[u8], sealed: &[u8]| -> std::result::Result<Vec<u8>, String> {
            let plain = old
                .open(aad, sealed)
                .map_err(|_| "fails authentication under the current key".to_owned())?;
            Ok(new_key.seal(aad, &plain))
        };
        let key_check = new_key.seal(KEY_CHECK_AAD, KEY_CHECK_PLAIN);
        let sealed = o
            .vault
            .reseal_all(
                &reseal,
                Rekeyed {
                    key_check_hex: &crypto::hex(&key_check),
                    unlockers: rows,
                    meta: (REKEY_META, stage.as_deref()),
                },
            )
            .await?;
        // The file is committed; memory follows it.
        o.records = o.vault.load().await?;
        o.key_check = key_check;
        o.unlockers = rows.to_vec();
        if let Some(u) = o.unlocked.as_mut() {
            u.key = new_key;
        }
        Ok(sealed)
    }

    async fn settle_after_failure(&self) {
        if let Err(e) = self.settle_rekey().await {
            tracing::warn!(error = %e, "the failed re-key's keyring entry is still there");
        }
    }

    /// Deletes the keyring entry an unfinished re-key left (see the
    /// module's documentation), then its record. Callers hold the unlock
    /// gate, so no re-key runs meanwhile.
    pub(super) async fn settle_rekey(&self) -> Result<()> {
        let (vault, in_use) = match &*self.state.read().await {
            State::Open(o) => (
                o.vault.clone(),
                keys::find(&o.unlockers, Unlocker::Keyring)
                    .map(|row| keys::keyring_entry(row, &o.vault_id)),
            ),
            _ => return Ok(()),
        };
        let Some(raw) = vault.meta(REKEY_META).await? else {
            return Ok(());
        };
        match serde_json::from_str::<Stage>(&raw) {
            Ok(stage) => {
                let stray = stage.stray_entry();
                // Never the entry the committed vault names (a record can
                // only say so if the file was edited by hand).
                if in_use.as_deref() != Some(stray.as_str()) {
                    keyring::delete_key(&stray).await?;
                    tracing::info!(
                        "deleted the keyring entry of an interrupted or finished re-key"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "unreadable re-key record; dropping it"),
        }
        step("rekey:after_delete").await;
        vault.delete_meta(REKEY_META).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timers::Limits;
    use crate::vault::rotation::pending_aad;
    use dbcreds::unlocker::InitUnlocker;
    use dbcreds::{DatabaseKind, EnvName, Environment};
    use secrecy::ExposeSecret;

    fn prod() -> Environment {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.host = "db.internal".into();
        env.database = "app".into();
        env.username = "app".into();
        env
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pending_rotations_follow_the_new_key_and_the_passphrase_opens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let agent = Agent::open(&path, Limits::default()).await;
        let pass = SecretString::from("correct horse");
        agent
            .init(InitUnlocker::Only(Unlocker::Passphrase), Some(pass.clone()))
            .await
            .unwrap();
        agent
            .put(prod(), SecretString::from("current"), false)
            .await
            .unwrap();
        let old_pending = agent
            .with_key(|k| k.seal(&pending_aad("prod"), b"pending"))
            .await
            .unwrap();
        let vault = agent.vault_or_error().await.unwrap();
        vault
            .rotation_begin("prod", &old_pending, None, chrono::Utc::now())
            .await
            .unwrap();

        assert!(matches!(
            agent.rekey(None).await,
            Err(AgentError::BadRequest(_))
        ));
        assert!(matches!(
            agent.rekey(Some(SecretString::from("wrong"))).await,
            Err(AgentError::WrongPassphrase)
        ));
        let done = agent.rekey(Some(pass.clone())).await.unwrap();
        assert_eq!(done.sealed, 2, "the current and the pending password");
        assert_eq!(done.unlockers, [Unlocker::Passphrase]);

        let row = vault.rotation("prod").await.unwrap().unwrap();
        let pending = row.sealed_pending.unwrap();
        assert_ne!(pending, old_pending);
        let opened = agent
            .with_key(|k| k.open(&pending_aad("prod"), &pending).map(|p| p.to_vec()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened, b"pending");
        assert!(
            agent
                .with_key(|k| k.open(&pending_aad("prod"), &old_pending).is_err())
                .await
                .unwrap(),
            "the old key is gone"
        );
        let name = EnvName::parse("prod").unwrap();
        assert_eq!(agent.get(&name).await.unwrap().1.expose_secret(), "current");
        agent.shutdown().await;

        // A new agent opens the re-keyed vault with the same passphrase.
        let again = Agent::open(&path, Limits::default()).await;
        again.unlock(Some(pass)).await.unwrap();
        assert_eq!(again.get(&name).await.unwrap().1.expose_secret(), "current");
        again.shutdown().await;
    }
}

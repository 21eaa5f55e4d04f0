//! Keeping the vault safe: backups and restores, every environment at
//! once, the passphrase unlocker, and a new data key.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use dbcreds_proto::{Wiped, v1};
use secrecy::{ExposeSecret, SecretString};

use super::vault::{LockState, unlockers as unlocker_names};
use super::{Client, environment, rpc};
use crate::error::{Error, InvalidInput, Result};
use crate::model::Credential;
use crate::unlocker::Unlocker;

/// What [`Client::backup`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupWritten {
    /// The file, as an absolute path.
    pub path: String,
    /// Environments in it.
    pub environments: u32,
    /// Its size.
    pub bytes: u64,
}

/// What [`Client::restore`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Restored {
    /// The agent's vault file, now the restored one.
    pub vault_path: String,
    /// Environments restored.
    pub environments: u32,
    /// Where the vault it replaced was kept, if there was one.
    pub previous_vault: Option<String>,
    /// The restored vault's unlockers.
    pub unlockers: Vec<Unlocker>,
    /// Why no keyring unlocker was added although one was asked for.
    pub keyring_error: Option<String>,
    /// When the backup was written, if it says.
    pub backup_created_at: Option<DateTime<Utc>>,
    /// The vault's state afterwards.
    pub state: LockState,
}

/// What [`Client::passphrase`] does to the passphrase unlocker.
#[derive(Clone, Copy, Debug)]
pub enum PassphraseAction<'a> {
    /// Add one (the vault must be unlocked).
    Add(&'a SecretString),
    /// Replace it; `current` opens the data key.
    Change {
        /// The passphrase now.
        current: &'a SecretString,
        /// The passphrase from now on.
        new: &'a SecretString,
    },
    /// Remove it; refused unless the OS keyring hands out the key.
    Remove,
}

/// What [`Client::rekey`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rekeyed {
    /// Passwords re-sealed under the new key.
    pub sealed: u32,
    /// The unlockers, each re-wrapped.
    pub unlockers: Vec<Unlocker>,
}

/// `path` made absolute against this process's working directory (the
/// agent's is another) and as UTF-8, for the wire.
fn wire_path(path: &Path) -> Result<String> {
    let bad = |why: String| {
        Error::Invalid(InvalidInput::Field {
            field: "FILE".into(),
            why,
        })
    };
    let abs = std::path::absolute(path).map_err(|e| bad(format!("'{}': {e}", path.display())))?;
    abs.to_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("'{}' is not UTF-8", path.display())))
}

fn secret(s: &SecretString) -> String {
    s.expose_secret().to_owned()
}

impl Client {
    /// Has the agent write a backup of the vault to `path`: one file,
    /// 0600, whose key opens with `passphrase` alone. Needs the vault
    /// unlocked; `overwrite` replaces an existing file.
    pub async fn backup(
        &mut self,
        path: &Path,
        passphrase: &SecretString,
        overwrite: bool,
    ) -> Result<BackupWritten> {
        let path = wire_path(path)?;
        let r: v1::BackupResponse = self
            .approved(rpc::BACKUP, |approval| {
                Wiped(v1::BackupRequest {
                    path: path.clone(),
                    passphrase: secret(passphrase),
                    overwrite,
                    approval: Some(approval),
                })
            })
            .await?;
        Ok(BackupWritten {
            path: r.path,
            environments: r.environments,
            bytes: r.bytes,
        })
    }

    /// Has the agent install the backup at `path` as its vault. `force`
    /// replaces an existing vault (kept beside it); `keyring` also stores
    /// the key in the OS keyring, when one answers.
    pub async fn restore(
        &mut self,
        path: &Path,
        passphrase: &SecretString,
        force: bool,
        keyring: bool,
    ) -> Result<Restored> {
        let path = wire_path(path)?;
        let r: v1::RestoreResponse = self
            .approved(rpc::RESTORE, |approval| {
                Wiped(v1::RestoreRequest {
                    path: path.clone(),
                    passphrase: secret(passphrase),
                    force,
                    keyring,
                    approval: Some(approval),
                })
            })
            .await?;
        let state = r.state().into();
        Ok(Restored {
            vault_path: r.vault_path,
            environments: r.environments,
            previous_vault: Some(r.previous_vault).filter(|p| !p.is_empty()),
            unlockers: unlocker_names(r.unlockers),
            keyring_error: Some(r.keyring_error).filter(|e| !e.is_empty()),
            backup_created_at: (r.backup_created_at != 0)
                .then(|| Utc.timestamp_opt(r.backup_created_at, 0).single())
                .flatten(),
            state,
        })
    }

    /// Every environment with its password, sorted by name. Each reveal is
    /// in the agent's audit log.
    pub async fn export_all(&mut self) -> Result<Vec<Credential>> {
        let mut r: v1::ExportAllResponse = self
            .approved(rpc::EXPORT_ALL, |approval| v1::ExportAllRequest {
                approval: Some(approval),
            })
            .await?;
        r.environments
            .iter_mut()
            .map(|e| {
                let env = environment(e.environment.take())?;
                let password = SecretString::from(std::mem::take(&mut e.password));
                Ok(Credential::new(env, password))
            })
            .collect()
    }

    /// Adds, changes or removes the passphrase unlocker; returns the
    /// vault's unlockers afterwards.
    pub async fn passphrase(&mut self, action: PassphraseAction<'_>) -> Result<Vec<Unlocker>> {
        let (name, current, new) = match action {
            PassphraseAction::Add(p) => ("add", None, Some(p)),
            PassphraseAction::Change { current, new } => ("change", Some(current), Some(new)),
            PassphraseAction::Remove => ("remove", None, None),
        };
        let r: v1::PassphraseResponse = self
            .approved(rpc::PASSPHRASE, |approval| {
                Wiped(v1::PassphraseRequest {
                    action: name.into(),
                    current: current.map(secret),
                    passphrase: new.map(secret),
                    approval: Some(approval),
                })
            })
            .await?;
        Ok(unlocker_names(r.unlockers))
    }

    /// Gives the vault a new data key. `passphrase` is the vault's
    /// passphrase, needed when it has a passphrase unlocker.
    pub async fn rekey(&mut self, passphrase: Option<&SecretString>) -> Result<Rekeyed> {
        let req = Wiped(v1::RekeyRequest {
            passphrase: passphrase.map(secret),
        });
        let r: v1::RekeyResponse = self.send_wiped(rpc::REKEY, req).await?;
        Ok(Rekeyed {
            sealed: r.sealed,
            unlockers: unlocker_names(r.unlockers),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_out_absolute() {
        let p = wire_path(Path::new("backup.db")).unwrap();
        assert!(Path::new(&p).is_absolute(), "{p}");
        assert!(p.ends_with("backup.db"));
        assert_eq!(wire_path(Path::new("/x/y.db")).unwrap(), "/x/y.db");
    }
}

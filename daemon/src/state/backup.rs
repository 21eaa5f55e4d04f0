//! `backup` and `restore`: the vault as one file that the recovery
//! passphrase alone opens, and that file installed as the vault again.
//!
//! A backup is an online copy (`VACUUM INTO`, one read transaction, so it
//! is whole while the agent serves) whose unlockers are replaced by one
//! passphrase row (the data key wrapped under the recovery passphrase,
//! Argon2id), out of WAL mode so the file alone is the whole vault. It is
//! made in a private scratch directory beside the target, checked the way
//! a restore will check it, synced, and renamed into place: the target is
//! either the old file or the whole new one.
//!
//! A restore copies the file (the original is never changed), opens and
//! migrates the copy, proves the passphrase opens its key and that every
//! password opens under it, optionally stores the key in the OS keyring,
//! and only then takes the vault's place: the old vault first gets a second
//! name (`vault.db.before-restore-<time>`, a hard link), then the copy is
//! renamed over `vault.db`. At every moment `vault.db` is the old vault or
//! the restored one, and the old one is never lost.

use std::path::{Path, PathBuf};

use chrono::Utc;
use dbcreds::Unlocker;
use secrecy::SecretString;

use super::rekey::REKEY_META;
use super::unlock::{KEY_CHECK_AAD, decrypt_all, passphrase_row, unwrap_with_passphrase};
use super::{Agent, State, Unlocked, keys, open, open_vault};
use crate::error::{AgentError, Result};
use crate::fsutil;
use crate::keyring;
use crate::vault::crypto::DataKey;
use crate::vault::{Vault, VaultError};

/// The `meta` key a backup carries: when it was written (Unix seconds).
const BACKUP_AT: &str = "backup_created_at";

pub struct BackupDone {
    pub path: PathBuf,
    pub environments: usize,
    pub bytes: u64,
}

pub struct RestoreDone {
    pub vault_path: PathBuf,
    pub environments: usize,
    /// Where the replaced vault was kept.
    pub previous: Option<PathBuf>,
    pub unlockers: Vec<Unlocker>,
    /// Why no keyring unlocker was added although one was asked for.
    pub keyring_error: Option<String>,
    pub backup_created_at: Option<i64>,
}

/// A backup's data key, once its passphrase opened it.
struct Opened {
    vault_id: String,
    key: DataKey,
    environments: usize,
}

/// The directory and file name of `path`, which must be absolute.
fn split(path: &Path) -> Result<(&Path, &std::ffi::OsStr)> {
    match (path.is_absolute(), path.parent(), path.file_name()) {
        (true, Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(AgentError::BadRequest(format!(
            "'{}' is not an absolute path to a file",
            path.display()
        ))),
    }
}

/// A private (0700) scratch directory in `dir`, removed when dropped.
fn scratch(dir: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".dbcreds-")
        .tempdir_in(dir)
        .map_err(|e| AgentError::file("write into", dir, e))
}

/// Whether `a` and `b` name the same file (both existing).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Proves `passphrase` opens the data key of the vault `copy` and that
/// every password opens under it: what makes a file a backup.
async fn open_backup(copy: &Vault, passphrase: SecretString) -> Result<Opened> {
    let corrupt = |detail: &str| {
        AgentError::Vault(VaultError::Corrupt {
            path: copy.path().to_owned(),
            detail: detail.to_owned(),
        })
    };
    let (vault_id, key_check) = copy.identity().await?;
    let unlockers = copy.unlockers().await?;
    let Some(row) = keys::find(&unlockers, Unlocker::Passphrase) else {
        return Err(corrupt(
            "it has no passphrase unlocker: a copy of a keyring-only vault needs that keyring; write a backup with `dbcreds backup FILE`",
        ));
    };
    let key = unwrap_with_passphrase(row, passphrase).await?;
    if key.open(KEY_CHECK_AAD, &key_check).is_err() {
        return Err(corrupt(
            "its passphrase-wrapped key does not open its key check",
        ));
    }
    let records = copy.load().await?;
    decrypt_all(&key, &records)?;
    Ok(Opened {
        vault_id,
        key,
        environments: records.len(),
    })
}

/// Errors about the copy of a backup, told about the file the caller named.
fn about(source: &Path) -> impl Fn(AgentError) -> AgentError + '_ {
    move |e| match e {
        AgentError::Vault(VaultError::Corrupt { detail, .. }) => AgentError::NotABackup {
            path: source.display().to_string(),
            detail,
        },
        AgentError::Vault(VaultError::TooNew { version, .. }) => {
            AgentError::Vault(VaultError::TooNew {
                path: source.to_owned(),
                version,
            })
        }
        other => other,
    }
}

impl Agent {
    /// Writes a backup of the vault to `target` (see the module's
    /// documentation), its key wrapped under `passphrase`.
    pub async fn backup(
        &self,
        target: &Path,
        passphrase: SecretString,
        overwrite: bool,
    ) -> Result<BackupDone> {
        let (dir, name) = split(target)?;
        if same_file(target, &self.vault_path) {
            return Err(AgentError::BadRequest(format!(
                "{} is the vault itself: write the backup somewhere else",
                target.display()
            )));
        }
        if !overwrite && (target.exists() || fsutil::is_symlink(target)) {
            return Err(AgentError::FileExists(target.display().to_string()));
        }
        self.unlock_for_request().await?;
        let key = self.key_copy().await?;
        let row = passphrase_row(&key, &passphrase).await?;
        let scratch = scratch(dir)?;
        let tmp = scratch.path().join(name);
        // Created here, 0600, so the copy is never readable by others.
        fsutil::create_new_private(&tmp).map_err(|e| AgentError::file("create", &tmp, e))?;
        let environments = {
            // Under the read lock: no re-key or restore swaps the vault
            // while it is copied.
            let state = self.state.read().await;
            let o = open(&state)?;
            o.vault.vacuum_into(&tmp).await?;
            o.records.len()
        };
        let copy = Vault::open(&tmp).await?;
        copy.replace_unlockers(std::slice::from_ref(&row)).await?;
        copy.delete_meta(REKEY_META).await?;
        copy.set_meta(BACKUP_AT, &Utc::now().timestamp().to_string())
            .await?;
        copy.make_self_contained().await?;
        copy.close().await;

        // Checked as `restore` will check it, so a backup that was written
        // is one that restores.
        let check = Vault::open_read_only(&tmp).await?;
        let opened = open_backup(&check, passphrase).await;
        check.close_read_only().await;
        let opened = opened?;
        if opened.key.as_bytes() != key.as_bytes() || opened.environments != environments {
            return Err(AgentError::Internal(
                "the backup does not match the vault it was taken from".into(),
            ));
        }
        let file = std::fs::File::open(&tmp).map_err(|e| AgentError::file("read", &tmp, e))?;
        file.sync_all()
            .map_err(|e| AgentError::file("write", &tmp, e))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        drop(file);
        std::fs::rename(&tmp, target).map_err(|e| AgentError::file("write", target, e))?;
        fsutil::sync_dir(dir).map_err(|e| AgentError::file("write into", dir, e))?;
        tracing::info!(target = %target.display(), environments, "backup written");
        Ok(BackupDone {
            path: target.to_owned(),
            environments,
            bytes,
        })
    }

    /// Installs the backup `source` as the vault (see the module's
    /// documentation). `force` replaces an existing vault; `keyring` also
    /// stores the key in the OS keyring, when one answers.
    pub async fn restore(
        &self,
        source: &Path,
        passphrase: SecretString,
        force: bool,
        keyring: bool,
    ) -> Result<RestoreDone> {
        split(source)?;
        let _gate = self.unlock_gate.lock().await;
        let has_vault = !matches!(&*self.state.read().await, State::Missing)
            || self.vault_path.exists()
            || fsutil::is_symlink(&self.vault_path);
        if has_vault && !force {
            return Err(AgentError::VaultExists(
                self.vault_path.display().to_string(),
            ));
        }
        if same_file(source, &self.vault_path) {
            return Err(AgentError::BadRequest(format!(
                "{} is this agent's vault itself: restore from a backup file",
                source.display()
            )));
        }
        let dir = self.vault_path.parent().unwrap_or(Path::new("."));
        fsutil::create_private_dir(dir).map_err(|e| AgentError::file("create", dir, e))?;
        let scratch = scratch(dir)?;
        let tmp = scratch.path().join("vault.db");
        copy_file(source, &tmp)?;

        let copy = Vault::open(&tmp)
            .await
            .map_err(|e| about(source)(e.into()))?;
        let opened = open_backup(&copy, passphrase)
            .await
            .map_err(about(source))?;
        let backup_created_at = copy.meta(BACKUP_AT).await?.and_then(|t| t.parse().ok());
        copy.delete_meta(BACKUP_AT).await?;
        copy.delete_meta(REKEY_META).await?;
        // A plain vault file may name a keyring entry that another vault
        // file (the one it was copied from) still needs: the restored vault
        // never uses it, so a later re-key can never delete it.
        copy.delete_unlocker(Unlocker::Keyring).await?;
        let mut keyring_error = None;
        if keyring {
            // A new entry, never one another vault file may still need.
            let entry = keyring::new_entry(&opened.vault_id);
            match keyring::store_key_verified(&entry, &opened.key).await {
                Ok(()) => copy.put_unlocker(&keys::keyring_row(&entry)).await?,
                Err(e) => {
                    let _ = keyring::delete_key(&entry).await;
                    keyring_error = Some(match e {
                        // Its own advice (`dbcreds init ...`) is no help here.
                        keyring::KeyringError::Unavailable(_) => "no OS keyring answered".into(),
                        other => other.to_string(),
                    });
                }
            }
        }
        copy.close().await;

        let mut state = self.state.write().await;
        if let State::Open(o) = &*state {
            o.vault.close().await;
        }
        let installed = install(&tmp, &self.vault_path);
        // Whatever `vault.db` is now (the restored vault, or the old one if
        // installing failed), the agent serves it.
        let reopened = open_vault(&self.vault_path).await;
        let (previous, mut o) = match (installed, reopened) {
            (Ok(previous), Ok(o)) => (previous, o),
            (installed, reopened) => {
                *state = match reopened {
                    Ok(o) => State::Open(Box::new(o)),
                    Err(e) => State::Broken(e),
                };
                // Reopened, it is locked (or unusable).
                self.unlocked_now.send_replace(false);
                return Err(match installed {
                    Err(e) => {
                        AgentError::file("install the restored vault as", &self.vault_path, e)
                    }
                    Ok(_) => AgentError::Internal("the restored vault does not open".into()),
                });
            }
        };
        // The passphrase opened it: it is unlocked.
        let secrets = decrypt_all(&opened.key, &o.records)?;
        o.unlocked = Some(Unlocked::new(opened.key, secrets));
        let done = RestoreDone {
            vault_path: self.vault_path.clone(),
            environments: o.records.len(),
            previous,
            unlockers: o.unlockers.iter().map(|u| u.kind).collect(),
            keyring_error,
            backup_created_at,
        };
        *state = State::Open(Box::new(o));
        drop(state);
        self.auto_unlock
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.timers.unlocked();
        self.announce_unlocked();
        tracing::info!(source = %source.display(), environments = done.environments, "vault restored");
        Ok(done)
    }
}

/// Copies `source` into the new file `dest` (0600) and syncs it.
fn copy_file(source: &Path, dest: &Path) -> Result<()> {
    let mut from = std::fs::File::open(source).map_err(|e| AgentError::file("read", source, e))?;
    if !from.metadata().is_ok_and(|m| m.is_file()) {
        return Err(AgentError::BadRequest(format!(
            "{} is not a file",
            source.display()
        )));
    }
    let mut to =
        fsutil::create_new_private(dest).map_err(|e| AgentError::file("create", dest, e))?;
    std::io::copy(&mut from, &mut to).map_err(|e| AgentError::file("copy", source, e))?;
    to.sync_all()
        .map_err(|e| AgentError::file("write", dest, e))
}

/// Puts `new` in the place of `vault`, keeping the old vault (and a WAL it
/// may have) under a `before-restore` name; returns that name.
fn install(new: &Path, vault: &Path) -> std::io::Result<Option<PathBuf>> {
    let dir = vault.parent().unwrap_or(Path::new("."));
    let side = |p: &Path, suffix: &str| {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let mut previous = None;
    if vault.exists() || fsutil::is_symlink(vault) {
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let mut aside = dir.join(format!("vault.db.before-restore-{stamp}"));
        let mut n = 1;
        while aside.exists() {
            n += 1;
            aside = dir.join(format!("vault.db.before-restore-{stamp}-{n}"));
        }
        for (from, to) in [
            (vault.to_owned(), aside.clone()),
            (side(vault, "-wal"), side(&aside, "-wal")),
        ] {
            if from.exists() {
                // A second name first, so the old vault is kept whatever
                // happens next; a file system without hard links gets a
                // rename (then a crash before the next rename leaves no
                // vault.db, but both files).
                std::fs::hard_link(&from, &to).or_else(|_| std::fs::rename(&from, &to))?;
            }
        }
        previous = Some(aside);
    }
    // A WAL or shared-memory file of the old vault must never be applied
    // to the new one.
    for stale in [side(vault, "-wal"), side(vault, "-shm")] {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::rename(new, vault)?;
    fsutil::sync_dir(dir)?;
    Ok(previous)
}

//! The agent's state machine: no vault, a broken vault, or an open vault
//! that is locked or unlocked. Unlocking decrypts every password into
//! memory once, so a `get` is a map lookup; locking drops the data key and
//! every decrypted secret (their `Drop` zeroes them).

mod access;
mod backup;
mod diagnose;
mod forget;
mod keeper;
mod keys;
mod passphrase;
mod policies;
mod rekey;
mod reveal;
mod sources;
mod unlock;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};

use chrono::{DateTime, Utc};
use dbcreds::edit::{self, Patch};
use dbcreds::{EnvName, Environment, Unlocker};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, RwLock};

use crate::error::{AgentError, Result};
use crate::sources::Sources;
use crate::timers::{Limits, Timers};
use crate::vault::crypto::DataKey;
use crate::vault::{PolicyRow, Record, SourceRow, UnlockerRow, Vault, VaultError};

pub use backup::{BackupDone, RestoreDone};
pub use diagnose::Check;
pub use keeper::run as run_keeper;
pub use passphrase::PassphraseChange;
pub use policies::PolicyView;
pub use rekey::RekeyDone;
pub use sources::SourceView;

enum State {
    Missing,
    Broken(VaultError),
    Open(Box<OpenVault>),
}

struct OpenVault {
    vault: Vault,
    vault_id: String,
    key_check: Vec<u8>,
    unlockers: Vec<UnlockerRow>,
    records: BTreeMap<String, Record>,
    /// Stored policies by environment (and `PRODUCTION_DEFAULT`); they work
    /// while locked.
    policies: BTreeMap<String, PolicyRow>,
    /// Configured sources, with their sealed logins.
    sources: BTreeMap<String, SourceRow>,
    unlocked: Option<Unlocked>,
}

struct Unlocked {
    key: DataKey,
    secrets: HashMap<String, SecretString>,
    at: DateTime<Utc>,
    /// When each secret came into memory (unlock, put, update): a
    /// policy's `max_unlocked` counts from there.
    loaded: HashMap<String, tokio::time::Instant>,
    /// Secrets dropped after their policy's `max_unlocked` (the limit that
    /// applied); only an unlock brings them back.
    forgotten: BTreeMap<String, std::time::Duration>,
}

/// A snapshot for `Status`.
pub struct StatusInfo {
    pub state: dbcreds::proto::v1::LockState,
    /// Why the vault cannot be used; empty when it can.
    pub vault_error: String,
    pub unlockers: Vec<Unlocker>,
    pub environments: u32,
    pub unlocked_at: Option<DateTime<Utc>>,
    /// Secrets forgotten after their policy's `max_unlocked`.
    pub forgotten: Vec<String>,
}

pub struct Agent {
    vault_path: PathBuf,
    state: RwLock<State>,
    /// Serializes unlock and init, so concurrent requests wait for one
    /// keyring access instead of each making their own.
    unlock_gate: Mutex<()>,
    /// True until the user locks on purpose: only then may a request unlock
    /// through the keyring by itself.
    auto_unlock: AtomicBool,
    /// One automatic keyring unlock at a time; the count of finished
    /// attempts and the last one's failure let waiters share its outcome.
    auto_flight: Mutex<()>,
    auto_attempts: AtomicU64,
    auto_failure: std::sync::Mutex<Option<String>>,
    pub timers: Timers,
    /// Bumped on every unlock (and init), so work that needs the data key
    /// (finishing interrupted rotations) can wait for one.
    unlocks: tokio::sync::watch::Sender<u64>,
    /// Whether the vault is unlocked, for `Watch`'s vault events.
    unlocked_now: tokio::sync::watch::Sender<bool>,
    /// Told whenever secrets come into memory, so the policies' forget
    /// timer finds the new deadlines.
    loaded: tokio::sync::Notify,
    /// Sessions of sources and the credentials fetched from them.
    pub(crate) sources: Sources,
}

impl VaultError {
    /// A copy to hand out while the agent keeps the original.
    fn replay(&self) -> VaultError {
        match self {
            Self::Corrupt { path, detail } => Self::Corrupt {
                path: path.clone(),
                detail: detail.clone(),
            },
            Self::TooNew { path, version } => Self::TooNew {
                path: path.clone(),
                version: *version,
            },
            Self::DiskFull { path } => Self::DiskFull { path: path.clone() },
            Self::Db(e) => Self::Corrupt {
                path: PathBuf::new(),
                detail: e.to_string(),
            },
        }
    }
}

impl Agent {
    /// Opens the vault at `vault_path` if there is one. A damaged vault or
    /// one from a newer dbcreds does not stop the agent: every request that
    /// needs it gets the error, and the file is left untouched.
    pub async fn open(vault_path: &Path, limits: Limits) -> Self {
        let state = if crate::fsutil::is_symlink(vault_path) {
            State::Broken(VaultError::Corrupt {
                path: vault_path.to_owned(),
                detail: "it is a symbolic link; dbcreds opens only a real file in its own directory: remove the link".into(),
            })
        } else if vault_path.exists() {
            match open_vault(vault_path).await {
                Ok(o) => State::Open(Box::new(o)),
                Err(e) => {
                    tracing::error!(error = %e, "vault unusable");
                    State::Broken(e)
                }
            }
        } else {
            State::Missing
        };
        crate::memory::release_free_memory();
        Self {
            vault_path: vault_path.to_owned(),
            state: RwLock::new(state),
            unlock_gate: Mutex::new(()),
            auto_unlock: AtomicBool::new(true),
            auto_flight: Mutex::new(()),
            auto_attempts: AtomicU64::new(0),
            auto_failure: std::sync::Mutex::new(None),
            timers: Timers::new(limits),
            unlocks: tokio::sync::watch::Sender::new(0),
            unlocked_now: tokio::sync::watch::Sender::new(false),
            loaded: tokio::sync::Notify::new(),
            sources: Sources::default(),
        }
    }

    /// Locks whenever a timer says so, for the agent's lifetime.
    pub async fn run_lock_timers(&self) {
        loop {
            self.timers.wait_due().await;
            tracing::info!("lock timer fired");
            self.lock(true).await;
        }
    }

    pub fn vault_path(&self) -> &Path {
        &self.vault_path
    }

    /// The open vault's storage, for the audit writer.
    pub async fn vault(&self) -> Option<Vault> {
        match &*self.state.read().await {
            State::Open(o) => Some(o.vault.clone()),
            _ => None,
        }
    }

    pub async fn status(&self) -> StatusInfo {
        use dbcreds::proto::v1::LockState;
        match &*self.state.read().await {
            State::Missing => StatusInfo {
                state: LockState::Uninitialized,
                vault_error: String::new(),
                unlockers: vec![],
                environments: 0,
                unlocked_at: None,
                forgotten: vec![],
            },
            State::Broken(e) => StatusInfo {
                state: match e {
                    VaultError::TooNew { .. } => LockState::TooNew,
                    _ => LockState::Damaged,
                },
                vault_error: e.to_string(),
                unlockers: vec![],
                environments: 0,
                unlocked_at: None,
                forgotten: vec![],
            },
            State::Open(o) => StatusInfo {
                vault_error: String::new(),
                state: if o.unlocked.is_some() {
                    LockState::Unlocked
                } else {
                    LockState::Locked
                },
                unlockers: o.unlockers.iter().map(|u| u.kind).collect(),
                environments: u32::try_from(o.records.len()).unwrap_or(u32::MAX),
                unlocked_at: o.unlocked.as_ref().map(|u| u.at),
                forgotten: o
                    .unlocked
                    .as_ref()
                    .map(|u| u.forgotten.keys().cloned().collect())
                    .unwrap_or_default(),
            },
        }
    }

    pub async fn list(&self) -> Result<Vec<Environment>> {
        match &*self.state.read().await {
            State::Open(o) => Ok(o
                .records
                .values()
                .map(|r| self.with_cached(r.env.clone()))
                .collect()),
            State::Missing => Err(AgentError::NotInitialized),
            State::Broken(e) => Err(e.replay().into()),
        }
    }

    pub async fn describe(&self, name: &EnvName) -> Result<Environment> {
        match &*self.state.read().await {
            State::Open(o) => o
                .records
                .get(name.as_str())
                .map(|r| self.with_cached(r.env.clone()))
                .ok_or_else(|| AgentError::NotFound(name.to_string())),
            State::Missing => Err(AgentError::NotInitialized),
            State::Broken(e) => Err(e.replay().into()),
        }
    }

    /// Creates `env`, or replaces it when `replace`.
    pub async fn put(
        &self,
        mut env: Environment,
        password: SecretString,
        replace: bool,
    ) -> Result<Environment> {
        edit::check_new(&env, &password)?;
        self.unlock_for_request().await?;
        if replace {
            self.sources.forget(env.name.as_str()).await;
        }
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        let existing = o.records.get(env.name.as_str());
        if existing.is_some() && !replace {
            return Err(AgentError::AlreadyExists(env.name.to_string()));
        }
        // `eu-prod` and `eu_prod` would read each other's DBCREDS_<ENV>_*
        // variables (inside `dbcreds exec`, in CI): one of them only.
        if let Some(other) = o
            .records
            .values()
            .find(|r| r.env.name.shares_variables_with(&env.name))
        {
            return Err(env.name.variables_clash(&other.env.name).into());
        }
        let now = Utc::now();
        env.created_at = existing.and_then(|r| r.env.created_at).or(Some(now));
        env.updated_at = Some(now);
        env.password_updated_at = env.password_updated_at.or(Some(now));
        let u = o.unlocked.as_mut().ok_or(AgentError::Locked)?;
        self.timers.touch();
        let sealed = u.key.seal(
            env.name.as_str().as_bytes(),
            password.expose_secret().as_bytes(),
        );
        let rec = Record { env, sealed };
        o.vault.upsert(&rec).await?;
        let name = rec.env.name.to_string();
        let out = rec.env.clone();
        crate::memory::lock_in_ram(password.expose_secret().as_bytes());
        u.insert(name.clone(), password);
        o.records.insert(name, rec);
        self.loaded.notify_one();
        Ok(out)
    }

    /// Changes the fields `patch` carries. A new password needs the vault
    /// unlocked; metadata alone does not.
    pub async fn update(&self, name: &EnvName, patch: Patch) -> Result<Environment> {
        patch.check()?;
        // A new password, or a mode without one (its empty password is
        // sealed like any other), needs the key.
        if patch.password.is_some() || patch.auth.is_some() {
            self.unlock_for_request().await?;
        }
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        let rec = o
            .records
            .get(name.as_str())
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        let mut env = rec.env.clone();
        patch.apply(&mut env)?;
        let now = Utc::now();
        env.updated_at = Some(now);
        // Leaving the password mode forgets the password.
        let new_password = match patch.password {
            Some(p) => Some(p),
            None if rec.env.auth.uses_password() && !env.auth.uses_password() => {
                Some(SecretString::from(String::new()))
            }
            None => None,
        };
        let sealed = match &new_password {
            Some(p) => {
                let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
                env.password_updated_at = Some(patch.password_changed_at.unwrap_or(now));
                u.key
                    .seal(name.as_str().as_bytes(), p.expose_secret().as_bytes())
            }
            None => rec.sealed.clone(),
        };
        let rec = Record { env, sealed };
        o.vault.upsert(&rec).await?;
        if let (Some(p), Some(u)) = (new_password, o.unlocked.as_mut()) {
            crate::memory::lock_in_ram(p.expose_secret().as_bytes());
            u.insert(name.to_string(), p);
            self.loaded.notify_one();
        }
        let out = rec.env.clone();
        o.records.insert(name.to_string(), rec);
        // New fields (host, user) may change what the source gives.
        self.sources.expire(name.as_str());
        Ok(out)
    }

    /// What the agent holds from the environment's source, for `show`.
    fn with_cached(&self, mut env: Environment) -> Environment {
        if env.source.is_some() {
            self.sources.describe(&mut env);
        }
        env
    }

    pub async fn remove(&self, name: &EnvName) -> Result<()> {
        self.sources.forget(name.as_str()).await;
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        if !o.records.contains_key(name.as_str()) {
            return Err(AgentError::NotFound(name.to_string()));
        }
        o.vault.delete(name.as_str()).await?;
        o.records.remove(name.as_str());
        o.policies.remove(name.as_str());
        if let Some(u) = o.unlocked.as_mut() {
            // Dropping the SecretString zeroes it.
            u.secrets.remove(name.as_str());
            u.loaded.remove(name.as_str());
            u.forgotten.remove(name.as_str());
        }
        Ok(())
    }

    /// Locks, then closes the vault: the shutdown path.
    pub async fn shutdown(&self) {
        self.lock(false).await;
        if let State::Open(o) = &*self.state.read().await {
            o.vault.close().await;
        }
    }
}

fn open(state: &State) -> Result<&OpenVault> {
    match state {
        State::Open(o) => Ok(o),
        State::Missing => Err(AgentError::NotInitialized),
        State::Broken(e) => Err(e.replay().into()),
    }
}

fn open_mut(state: &mut State) -> Result<&mut OpenVault> {
    match state {
        State::Open(o) => Ok(o),
        State::Missing => Err(AgentError::NotInitialized),
        State::Broken(e) => Err(e.replay().into()),
    }
}

async fn open_vault(path: &Path) -> Result<OpenVault, VaultError> {
    let vault = Vault::open(path).await?;
    let (vault_id, key_check) = vault.identity().await?;
    let unlockers = vault.unlockers().await?;
    let records = vault.load().await?;
    let policies = vault.load_policies().await?;
    let sources = vault.load_sources().await?;
    Ok(OpenVault {
        sources,
        vault,
        vault_id,
        key_check,
        unlockers,
        records,
        policies,
        unlocked: None,
    })
}

//! The agent's state machine: no vault, a broken vault, or an open vault
//! that is locked or unlocked. Unlocking decrypts every password into
//! memory once, so a `get` is a map lookup; locking drops the data key and
//! every decrypted secret (their `Drop` zeroes them).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use dbcreds::{EnvName, Environment};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, RwLock};

use crate::error::{AgentError, Result};
use crate::keyring;
use crate::timers::{Limits, Timers};
use crate::vault::crypto::{self, DataKey, PassphraseParams};
use crate::vault::{Record, UnlockerRow, Vault, VaultError};

pub const KEYRING: &str = "keyring";
pub const PASSPHRASE: &str = "passphrase";
/// A sealed known value: tells a right data key from a wrong one even in a
/// vault with no environments yet.
const KEY_CHECK_AAD: &[u8] = b"dbcreds/v1/key-check";
const KEY_CHECK_PLAIN: &[u8] = b"dbcreds key check";

/// Upper bound for a password, so one request cannot make the agent hold
/// arbitrary amounts of secret memory.
const MAX_PASSWORD_BYTES: usize = 4096;

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
    unlocked: Option<Unlocked>,
}

struct Unlocked {
    key: DataKey,
    secrets: HashMap<String, SecretString>,
    at: DateTime<Utc>,
}

/// A snapshot for `Status`.
pub struct StatusInfo {
    pub state: dbcreds::proto::v1::LockState,
    pub unlockers: Vec<String>,
    pub environments: u32,
    pub unlocked_at: Option<DateTime<Utc>>,
}

/// One finding of [`Agent::diagnose`].
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    pub fix: String,
}

impl Check {
    fn good(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    fn bad(name: &'static str, detail: impl Into<String>, fix: &str) -> Self {
        Self {
            name,
            ok: false,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

/// What a change to an environment may carry.
#[derive(Default)]
pub struct Patch {
    pub kind: Option<String>,
    pub host: Option<String>,
    pub port: Option<u32>,
    pub database: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub production: Option<bool>,
    pub description: Option<String>,
    pub expires_days: Option<u32>,
    pub options: BTreeMap<String, String>,
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
    pub timers: Timers,
    /// Bumped on every unlock (and init), so work that needs the data key
    /// (finishing interrupted rotations) can wait for one.
    unlocks: tokio::sync::watch::Sender<u64>,
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
        let state = if vault_path.exists() {
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
            timers: Timers::new(limits),
            unlocks: tokio::sync::watch::Sender::new(0),
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
            State::Missing | State::Broken(_) => StatusInfo {
                state: LockState::Uninitialized,
                unlockers: vec![],
                environments: 0,
                unlocked_at: None,
            },
            State::Open(o) => StatusInfo {
                state: if o.unlocked.is_some() {
                    LockState::Unlocked
                } else {
                    LockState::Locked
                },
                unlockers: o.unlockers.iter().map(|u| u.kind.clone()).collect(),
                environments: u32::try_from(o.records.len()).unwrap_or(u32::MAX),
                unlocked_at: o.unlocked.as_ref().map(|u| u.at),
            },
        }
    }

    /// Creates the vault. `unlocker`: "auto" (keyring if it answers; the
    /// passphrase too when one is given), "keyring" or "passphrase".
    pub async fn init(
        &self,
        unlocker: &str,
        passphrase: Option<SecretString>,
    ) -> Result<Vec<String>> {
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
        if self.vault_path.exists() {
            return Err(AgentError::AlreadyInitialized(
                self.vault_path.display().to_string(),
            ));
        }
        let key = DataKey::generate();
        let vault_id = crypto::new_vault_id();
        let mut rows = Vec::new();
        let want_keyring = matches!(unlocker, "auto" | KEYRING);
        if !matches!(unlocker, "auto" | KEYRING | PASSPHRASE) {
            return Err(AgentError::BadRequest(format!(
                "unknown unlocker '{unlocker}': use auto, keyring or passphrase"
            )));
        }
        if want_keyring {
            match keyring::store_key(&vault_id, &key).await {
                Ok(()) => rows.push(UnlockerRow {
                    kind: KEYRING.into(),
                    params: "{}".into(),
                    wrapped_key: None,
                }),
                Err(e) if unlocker == "auto" && passphrase.is_some() => {
                    tracing::info!(error = %e, "no keyring; using the passphrase only");
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(p) = &passphrase {
            rows.push(passphrase_row(&key, p).await?);
        } else if unlocker == PASSPHRASE {
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
        let kinds = rows.iter().map(|r| r.kind.clone()).collect();
        *self.state.write().await = State::Open(Box::new(OpenVault {
            vault,
            vault_id,
            key_check,
            unlockers: rows,
            records: BTreeMap::new(),
            unlocked: Some(Unlocked {
                key,
                secrets: HashMap::new(),
                at: Utc::now(),
            }),
        }));
        self.auto_unlock.store(true, Ordering::SeqCst);
        self.timers.unlocked();
        self.unlocks.send_modify(|n| *n += 1);
        tracing::info!(vault = %self.vault_path.display(), "vault created");
        Ok(kinds)
    }

    /// Unlocks through the keyring (`None`) or a passphrase; returns the
    /// unlocker that worked. Unlocking an unlocked vault is a no-op.
    pub async fn unlock(&self, passphrase: Option<SecretString>) -> Result<&'static str> {
        let _gate = self.unlock_gate.lock().await;
        let (vault_id, key_check, unlockers) = match &*self.state.read().await {
            State::Missing => return Err(AgentError::NotInitialized),
            State::Broken(e) => return Err(e.replay().into()),
            State::Open(o) if o.unlocked.is_some() => {
                return Ok(if passphrase.is_some() {
                    PASSPHRASE
                } else {
                    KEYRING
                });
            }
            State::Open(o) => (o.vault_id.clone(), o.key_check.clone(), o.unlockers.clone()),
        };
        let (key, how) = match passphrase {
            None => {
                if !unlockers.iter().any(|u| u.kind == KEYRING) {
                    return Err(AgentError::NoSuchUnlocker(
                        KEYRING,
                        "unlock with the passphrase (`dbcreds unlock` prompts for it)",
                    ));
                }
                (keyring::fetch_key(&vault_id).await?, KEYRING)
            }
            Some(p) => {
                let Some(row) = unlockers.iter().find(|u| u.kind == PASSPHRASE) else {
                    return Err(AgentError::NoSuchUnlocker(
                        PASSPHRASE,
                        "unlock through the OS keyring (`dbcreds unlock` without a passphrase)",
                    ));
                };
                (unwrap_with_passphrase(row, p).await?, PASSPHRASE)
            }
        };
        if key.open(KEY_CHECK_AAD, &key_check).is_err() {
            return Err(match how {
                KEYRING => keyring::KeyringError::BadKey.into(),
                _ => AgentError::WrongPassphrase,
            });
        }
        let mut state = self.state.write().await;
        let State::Open(o) = &mut *state else {
            return Err(AgentError::NotInitialized);
        };
        let secrets = decrypt_all(&key, &o.records)?;
        o.unlocked = Some(Unlocked {
            key,
            secrets,
            at: Utc::now(),
        });
        self.auto_unlock.store(true, Ordering::SeqCst);
        self.timers.unlocked();
        self.unlocks.send_modify(|n| *n += 1);
        tracing::info!(
            unlocker = how,
            environments = o.records.len(),
            "vault unlocked"
        );
        drop(state);
        crate::memory::release_free_memory();
        Ok(how)
    }

    /// Unlocks through the keyring on the agent's own initiative (at start,
    /// or when a request finds the vault locked) unless the user locked it.
    pub async fn auto_unlock(&self) -> bool {
        if !self.auto_unlock.load(Ordering::SeqCst) {
            return false;
        }
        let has_keyring = match &*self.state.read().await {
            State::Open(o) => o.unlocked.is_some() || o.unlockers.iter().any(|u| u.kind == KEYRING),
            _ => false,
        };
        if !has_keyring {
            return false;
        }
        match self.unlock(None).await {
            Ok(_) => true,
            Err(e) => {
                // One failed attempt is enough: later requests fail fast as
                // "locked" and the user unlocks on purpose.
                self.auto_unlock.store(false, Ordering::SeqCst);
                tracing::warn!(error = %e, "automatic keyring unlock failed");
                false
            }
        }
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
        if let State::Open(o) = &mut *self.state.write().await
            && o.unlocked.take().is_some()
        {
            tracing::info!("vault locked");
        }
        self.timers.locked();
        crate::memory::release_free_memory();
    }

    pub async fn list(&self) -> Result<Vec<Environment>> {
        match &*self.state.read().await {
            State::Open(o) => Ok(o.records.values().map(|r| r.env.clone()).collect()),
            State::Missing => Err(AgentError::NotInitialized),
            State::Broken(e) => Err(e.replay().into()),
        }
    }

    pub async fn describe(&self, name: &EnvName) -> Result<Environment> {
        match &*self.state.read().await {
            State::Open(o) => o
                .records
                .get(name.as_str())
                .map(|r| r.env.clone())
                .ok_or_else(|| AgentError::NotFound(name.to_string())),
            State::Missing => Err(AgentError::NotInitialized),
            State::Broken(e) => Err(e.replay().into()),
        }
    }

    /// The environment and its password. Tries one automatic keyring unlock
    /// when the vault is locked and the user did not lock it.
    pub async fn get(&self, name: &EnvName) -> Result<(Environment, SecretString)> {
        match self.get_unlocked(name).await {
            Err(AgentError::Locked) if self.auto_unlock().await => self.get_unlocked(name).await,
            other => other,
        }
    }

    async fn get_unlocked(&self, name: &EnvName) -> Result<(Environment, SecretString)> {
        let state = self.state.read().await;
        let o = open(&state)?;
        let rec = o
            .records
            .get(name.as_str())
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
        self.timers.touch();
        let secret = u
            .secrets
            .get(name.as_str())
            .ok_or_else(|| AgentError::Internal(format!("no secret for {name}")))?;
        Ok((rec.env.clone(), secret.clone()))
    }

    /// Creates `env`, or replaces it when `replace`.
    pub async fn put(
        &self,
        mut env: Environment,
        password: SecretString,
        replace: bool,
    ) -> Result<Environment> {
        // A SQLite file has no password; every server kind needs one.
        if env.kind.has_server() || !password.expose_secret().is_empty() {
            check_password(&password)?;
        }
        validate(&env)?;
        if matches!(&*self.state.read().await, State::Open(o) if o.unlocked.is_none()) {
            self.auto_unlock().await;
        }
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        let existing = o.records.get(env.name.as_str());
        if existing.is_some() && !replace {
            return Err(AgentError::AlreadyExists(env.name.to_string()));
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
        u.secrets.insert(name.clone(), password);
        o.records.insert(name, rec);
        Ok(out)
    }

    /// Changes the fields `patch` carries. A new password needs the vault
    /// unlocked; metadata alone does not.
    pub async fn update(&self, name: &EnvName, patch: Patch) -> Result<Environment> {
        if let Some(p) = &patch.password {
            check_password(p)?;
            if matches!(&*self.state.read().await, State::Open(o) if o.unlocked.is_none()) {
                self.auto_unlock().await;
            }
        }
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        let rec = o
            .records
            .get(name.as_str())
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        let mut env = rec.env.clone();
        apply(&mut env, &patch)?;
        validate(&env)?;
        let now = Utc::now();
        env.updated_at = Some(now);
        let sealed = match &patch.password {
            Some(p) => {
                let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
                env.password_updated_at = Some(now);
                u.key
                    .seal(name.as_str().as_bytes(), p.expose_secret().as_bytes())
            }
            None => rec.sealed.clone(),
        };
        let rec = Record { env, sealed };
        o.vault.upsert(&rec).await?;
        if let (Some(p), Some(u)) = (patch.password, o.unlocked.as_mut()) {
            crate::memory::lock_in_ram(p.expose_secret().as_bytes());
            u.secrets.insert(name.to_string(), p);
        }
        let out = rec.env.clone();
        o.records.insert(name.to_string(), rec);
        Ok(out)
    }

    pub async fn remove(&self, name: &EnvName) -> Result<()> {
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        if !o.records.contains_key(name.as_str()) {
            return Err(AgentError::NotFound(name.to_string()));
        }
        o.vault.delete(name.as_str()).await?;
        o.records.remove(name.as_str());
        if let Some(u) = o.unlocked.as_mut() {
            // Dropping the SecretString zeroes it.
            u.secrets.remove(name.as_str());
        }
        Ok(())
    }

    /// The checks `dbcreds doctor` cannot make from outside: the vault's
    /// integrity and whether the keyring answers with this vault's key.
    pub async fn diagnose(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let (vault, vault_id, has_keyring) = match &*self.state.read().await {
            State::Missing => {
                checks.push(Check::bad(
                    "vault",
                    format!("no vault at {}", self.vault_path.display()),
                    "run `dbcreds init`",
                ));
                return checks;
            }
            State::Broken(e) => {
                checks.push(Check::bad(
                    "vault",
                    e.to_string(),
                    "see the message: restore the file from a backup or upgrade dbcreds",
                ));
                return checks;
            }
            State::Open(o) => (
                o.vault.clone(),
                o.vault_id.clone(),
                o.unlockers.iter().any(|u| u.kind == KEYRING),
            ),
        };
        checks.push(match vault.integrity_check().await {
            Ok(r) if r == "ok" => Check::good(
                "vault",
                format!(
                    "{} passes PRAGMA integrity_check",
                    self.vault_path.display()
                ),
            ),
            Ok(r) => Check::bad(
                "vault",
                format!("integrity_check found: {r}"),
                "restore the vault from a backup",
            ),
            Err(e) => Check::bad("vault", e.to_string(), "restore the vault from a backup"),
        });
        if has_keyring {
            checks.push(match keyring::fetch_key(&vault_id).await {
                Ok(_) => Check::good("keyring", "the OS keyring is reachable, unlocked and holds this vault's key"),
                Err(e) => Check::bad(
                    "keyring",
                    e.to_string(),
                    "unlock your login keyring (log in to the desktop session, or `gnome-keyring-daemon --unlock`), then `dbcreds unlock`",
                ),
            });
        } else {
            checks.push(Check::good(
                "keyring",
                "not used: this vault unlocks with a passphrase",
            ));
        }
        checks
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
    let corrupt = |detail: &str| VaultError::Corrupt {
        path: path.to_owned(),
        detail: detail.to_owned(),
    };
    let vault_id = vault
        .meta("vault_id")
        .await?
        .ok_or_else(|| corrupt("no vault id"))?;
    let key_check = vault
        .meta("key_check")
        .await?
        .and_then(|h| crypto::unhex(&h))
        .ok_or_else(|| corrupt("no key check"))?;
    let unlockers = vault.unlockers().await?;
    let records = vault.load().await?;
    Ok(OpenVault {
        vault,
        vault_id,
        key_check,
        unlockers,
        records,
        unlocked: None,
    })
}

fn decrypt_all(
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

async fn passphrase_row(key: &DataKey, passphrase: &SecretString) -> Result<UnlockerRow> {
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
        kind: PASSPHRASE.into(),
        params: serde_json::to_string(&params).map_err(|e| AgentError::Internal(e.to_string()))?,
        wrapped_key: Some(wrapped),
    })
}

async fn unwrap_with_passphrase(row: &UnlockerRow, passphrase: SecretString) -> Result<DataKey> {
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

fn check_password(p: &SecretString) -> Result<()> {
    let len = p.expose_secret().len();
    if len == 0 {
        return Err(field(
            "password",
            "it is empty; give the database user's password",
        ));
    }
    if len > MAX_PASSWORD_BYTES {
        return Err(field("password", "it is longer than 4096 bytes"));
    }
    Ok(())
}

fn field(field: &str, why: &str) -> AgentError {
    AgentError::Invalid(dbcreds::InvalidInput::Field {
        field: field.into(),
        why: why.into(),
    })
}

/// Rules beyond what the model's types already enforce.
fn validate(env: &Environment) -> Result<()> {
    if env.kind.has_server() && env.host.trim().is_empty() {
        return Err(field("host", "it is empty; pass --host"));
    }
    if !env.kind.has_server() && env.database.trim().is_empty() {
        return Err(field(
            "database",
            "a SQLite environment needs the file path; pass --database",
        ));
    }
    for (name, value, max) in [
        ("host", &env.host, 255),
        ("database", &env.database, 1024),
        ("username", &env.username, 256),
        ("description", &env.description, 4096),
    ] {
        if value.len() > max {
            return Err(field(name, &format!("it is longer than {max} bytes")));
        }
    }
    Ok(())
}

fn apply(env: &mut Environment, patch: &Patch) -> Result<()> {
    if let Some(k) = &patch.kind {
        env.kind = k.parse()?;
    }
    if let Some(h) = &patch.host {
        env.host.clone_from(h);
    }
    if let Some(p) = patch.port {
        env.port = dbcreds::model::check_port(p)?;
    }
    if let Some(d) = &patch.database {
        env.database.clone_from(d);
    }
    if let Some(u) = &patch.username {
        env.username.clone_from(u);
    }
    if let Some(p) = patch.production {
        env.production = p;
    }
    if let Some(d) = &patch.description {
        env.description.clone_from(d);
    }
    if let Some(days) = patch.expires_days {
        env.expires_days = (days > 0).then_some(days);
    }
    for (k, v) in &patch.options {
        if v.is_empty() {
            env.options.remove(k);
        } else {
            env.options.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

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
        if let Some(u) = o.unlocked.as_mut() {
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

    /// The open vault, for reads that need no lock (rotation records, the
    /// audit log); the error says why there is none.
    pub(crate) async fn vault_or_error(&self) -> Result<Vault> {
        let state = self.state.read().await;
        Ok(open(&state)?.vault.clone())
    }
}

//! Password rotation as a state machine persisted in the vault, in the
//! manner of AWS Secrets Manager's pending/current/previous labels:
//!
//! 1. generate the new password and store it as *pending* (committed before
//!    the server is touched);
//! 2. set it on the server: PostgreSQL `ALTER ROLE ... PASSWORD` with a
//!    SCRAM-SHA-256 verifier, MariaDB `SET PASSWORD = '*hash'` (or
//!    `ALTER USER ... IDENTIFIED BY PASSWORD '*hash'` through `--admin`),
//!    so the password itself is never in the SQL; recorded as *set*;
//! 3. verify by logging in with it; recorded as *verified*;
//! 4. promote it to current, keeping the old one as *previous*, in one
//!    transaction.
//!
//! At every moment one stored password logs in: before step 2 returns the
//! current one does, after it the pending one does, and both are stored.
//! [`settle`] (`dbcreds rotate --resume`, and every unlock of the agent)
//! finishes or undoes an interrupted rotation by probing, in order, the
//! pending, the current and the previous password: the first that logs in
//! is the truth.

use std::future::Future;

use chrono::Utc;
use dbcreds::{Credential, DatabaseKind, EnvName, Environment, Reason, TestResult};
use secrecy::{ExposeSecret, SecretString};

use super::connect::{self, Login};
use super::set_password::{Set, set_on_server};
use super::{DbOps, accounts, password};
use crate::error::{AgentError, DbError, Result};
use crate::testhooks::failpoint;
use crate::vault::rotation::{RotationState, pending_aad, previous_aad};
use crate::vault::{Vault, VaultError};

/// What the caller asked for.
#[derive(Clone, Debug, Default)]
pub struct RotateParams {
    pub length: Option<u32>,
    pub alphabet: Option<String>,
    pub admin: Option<EnvName>,
    pub resume: bool,
    /// MySQL/MariaDB: the hosts of the accounts to change (empty: found).
    pub hosts: Vec<String>,
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub env: Environment,
    pub outcome: Outcome,
    /// MySQL/MariaDB: the accounts whose password was set, `'user'@'host'`.
    pub accounts: Vec<String>,
    /// What the user should know beside the outcome.
    pub notes: Vec<String>,
}

impl Rotated {
    fn new((env, outcome): (Environment, Outcome)) -> Self {
        Self {
            env,
            outcome,
            accounts: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The outcome in words, with the accounts changed.
    pub fn words(&self) -> String {
        let w = self.outcome.words(&self.env.name);
        match self.accounts.as_slice() {
            [] => w,
            [one] => format!("{w} (account {one})"),
            many => format!("{w} (accounts {})", many.join(", ")),
        }
    }
}

/// How a rotation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new password is current.
    Rotated,
    /// An interrupted rotation completed: its pending password is current.
    Finished,
    /// An interrupted rotation was undone: the server kept the current one.
    RolledBack,
    /// Only the previous password logged in: it is current again.
    RestoredPrevious,
    /// No rotation was under way.
    NothingToResume,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotated => "rotated",
            Self::Finished => "finished",
            Self::RolledBack => "rolled_back",
            Self::RestoredPrevious => "restored_previous",
            Self::NothingToResume => "nothing_to_resume",
        }
    }

    pub fn changed_password(self) -> bool {
        matches!(
            self,
            Self::Rotated | Self::Finished | Self::RestoredPrevious
        )
    }

    /// The outcome in words, for people.
    pub fn words(self, name: &EnvName) -> String {
        match self {
            Self::Rotated => format!(
                "rotated the password of '{name}': the server has the new one, `dbcreds get {name}` prints it, the old one is kept as previous"
            ),
            Self::Finished => format!(
                "finished the interrupted rotation of '{name}': the server had the new password, which is now current"
            ),
            Self::RolledBack => format!(
                "rolled back the interrupted rotation of '{name}': the server still had the current password, which stays; run `dbcreds rotate {name}` to rotate again"
            ),
            Self::RestoredPrevious => format!(
                "only the previous password of '{name}' logged in, so it is current again; run `dbcreds rotate {name}` to rotate again"
            ),
            Self::NothingToResume => {
                format!("no rotation of '{name}' is unfinished; nothing to do")
            }
        }
    }
}

fn invalid(why: String) -> AgentError {
    AgentError::BadRequest(why)
}

fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}

/// Writes to the vault under the state lock, then reloads the environment.
async fn write<F, Fut>(ops: &DbOps, name: &EnvName, f: F) -> Result<Environment>
where
    F: FnOnce(Vault) -> Fut,
    Fut: Future<Output = std::result::Result<(), VaultError>>,
{
    ops.agent.write_and_reload(name, f).await
}

/// Starts a rotation of `name` (see the module's documentation).
pub async fn rotate(ops: &DbOps, name: &EnvName, params: &RotateParams) -> Result<Rotated> {
    // Everything that can be refused is checked before anything is stored.
    let length = password::length(params.length).map_err(invalid)?;
    let alphabet = password::alphabet(params.alphabet.as_deref()).map_err(invalid)?;
    let hosts = accounts::check_hosts(&params.hosts).map_err(invalid)?;
    let (env, current) = ops.agent.get(name).await?;
    if !env.auth.uses_password() {
        return Err(AgentError::NoPassword(
            name.to_string(),
            env.auth.describe(),
        ));
    }
    let user = Credential::new(env.clone(), current.clone());
    match env.kind {
        DatabaseKind::Mysql | DatabaseKind::Mariadb => {}
        DatabaseKind::Postgres if hosts.is_empty() => {}
        DatabaseKind::Postgres => {
            return Err(invalid(format!(
                "--hosts names MySQL/MariaDB accounts, but '{name}' is a PostgreSQL database: a role has one password, leave --hosts out"
            )));
        }
        DatabaseKind::Sqlite => {
            return Err(DbError {
                reason: Reason::Unsupported,
                message: format!(
                    "'{name}' is a SQLite database: it has no server password to rotate"
                ),
            }
            .into());
        }
        _ => return Err(connect::unsupported(&user, "rotate the password of").into()),
    }
    let vault = ops.agent.vault_or_error().await?;
    if vault
        .rotation(name.as_str())
        .await?
        .is_some_and(|r| r.state.is_unfinished())
    {
        return Err(AgentError::RotationUnfinished(name.to_string()));
    }
    let admin = match &params.admin {
        None => None,
        Some(a) if a == name => {
            return Err(invalid(format!(
                "--admin {a} names the environment being rotated: leave --admin out to rotate with its own login"
            )));
        }
        Some(a) => {
            let (aenv, apw) = ops.agent.get(a).await?;
            let family = |k: DatabaseKind| match k {
                DatabaseKind::Mysql | DatabaseKind::Mariadb => DatabaseKind::Mysql,
                other => other,
            };
            if family(aenv.kind) != family(env.kind) {
                return Err(invalid(format!(
                    "--admin {a} is a {} environment but '{name}' is {}: use an admin environment of the same database",
                    aenv.kind, env.kind
                )));
            }
            Some(Credential::new(aenv, apw))
        }
    };

    // 1. The new password, stored as pending before the server is touched.
    let new = password::generate(length, &alphabet);
    let sealed = ops
        .agent
        .with_key(|k| k.seal(&pending_aad(name.as_str()), new.expose_secret().as_bytes()))
        .await?;
    let admin_name = params.admin.as_ref().map(ToString::to_string);
    write(ops, name, |v| async move {
        v.rotation_begin(name.as_str(), &sealed, admin_name.as_deref(), now())
            .await
    })
    .await?;
    tracing::info!(environment = %name, "rotation: new password stored as pending");
    failpoint("rotate:after_pending");

    // 2. Set it on the server.
    let applied = match set_on_server(&user, admin.as_ref(), &new, &hosts).await {
        Ok(a) => a,
        Err(Set::Untouched(e)) => {
            // The statement never ran (or the server refused it whole): the
            // server has the current password still; drop the pending one.
            write(ops, name, |v| async move {
                v.rotation_roll_back(name.as_str(), now()).await
            })
            .await?;
            return Err(DbError {
                reason: e.reason,
                message: format!("{}; the rotation of '{name}' changed nothing", e.message),
            }
            .into());
        }
        Err(Set::Unknown(e)) => {
            // Whether the server took it is unknown: ask it.
            tracing::warn!(environment = %name, error = %e, "rotation: the server's answer was lost; probing");
            let partial = (e.reason == Reason::DatabaseError).then(|| e.message.clone());
            let mut r = settle_or(ops, name, e).await?;
            r.notes.extend(partial);
            return Ok(r);
        }
    };
    tracing::info!(environment = %name, "rotation: the server accepted the new password");
    failpoint("rotate:after_server");
    write(ops, name, |v| async move {
        v.rotation_mark(name.as_str(), RotationState::Set, now())
            .await
    })
    .await?;

    // 3. Verify by logging in with it.
    let new_cred = Credential::new(env.clone(), new.clone());
    let probe = match connect::probe(&new_cred).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(environment = %name, error = %e, "rotation: login with the new password failed; probing");
            let mut r = settle_or(ops, name, e).await?;
            r.notes.extend(applied.notes);
            return Ok(r);
        }
    };
    write(ops, name, |v| async move {
        v.rotation_mark(name.as_str(), RotationState::Verified, now())
            .await
    })
    .await?;
    tracing::info!(environment = %name, "rotation: logged in with the new password");
    failpoint("rotate:after_verify");

    // 4. Promote.
    let test = TestResult {
        at: now(),
        ok: true,
        detail: probe.version,
        latency_ms: super::millis(probe.latency),
        reason: String::new(),
        tls: probe.tls,
    };
    let env = promote(
        ops,
        name,
        &new,
        Some(&current),
        RotationState::Done,
        Some(test),
    )
    .await?;
    tracing::info!(environment = %name, "rotation: new password promoted to current");
    Ok(Rotated {
        env,
        outcome: Outcome::Rotated,
        accounts: applied.accounts,
        notes: applied.notes,
    })
}

/// After a failure whose effect on the server is unknown: settle by
/// probing, and if even that cannot decide, report the original failure
/// (with the rotation left for `--resume`).
async fn settle_or(ops: &DbOps, name: &EnvName, first: DbError) -> Result<Rotated> {
    match settle(ops, name).await.map(|r| (r.env, r.outcome)) {
        Ok((env, Outcome::RolledBack)) => {
            let _ = env;
            Err(DbError {
                reason: first.reason,
                message: format!(
                    "{}; the server kept the current password, so the rotation of '{name}' was rolled back and changed nothing",
                    first.message
                ),
            }
            .into())
        }
        // The server had the new password after all: the rotation is done.
        Ok((env, Outcome::Finished)) => Ok(Rotated::new((env, Outcome::Rotated))),
        Ok(other) => Ok(Rotated::new(other)),
        Err(_) => Err(DbError {
            reason: first.reason,
            message: format!(
                "{}; nothing was lost: the new password is kept as pending beside the current one; run `dbcreds rotate --resume {name}` once the server answers",
                first.message
            ),
        }
        .into()),
    }
}

/// Step 4 (and the recovery's end): makes `new` the current password, keeps
/// `old` (if given) as previous, resets the password clock, in one vault
/// transaction; stores the verifying login as the last test.
async fn promote(
    ops: &DbOps,
    name: &EnvName,
    new: &SecretString,
    old: Option<&SecretString>,
    outcome: RotationState,
    test: Option<TestResult>,
) -> Result<Environment> {
    let n = name.as_str();
    let (sealed_current, sealed_previous) = ops
        .agent
        .with_key(|k| {
            (
                k.seal(n.as_bytes(), new.expose_secret().as_bytes()),
                old.map(|o| k.seal(&previous_aad(n), o.expose_secret().as_bytes())),
            )
        })
        .await?;
    write(ops, name, |v| async move {
        v.rotation_promote(
            n,
            &sealed_current,
            sealed_previous.as_deref(),
            outcome,
            now(),
        )
        .await?;
        if let Some(t) = &test {
            v.set_last_test(n, t).await?;
        }
        Ok(())
    })
    .await
}

/// Finishes or undoes an interrupted rotation of `name` by probing the
/// pending, the current and the previous password, in that order; the first
/// that logs in wins. A probe that cannot tell (server unreachable, TLS
/// failure) stops the search: nothing is changed, and the error says so.
pub async fn settle(ops: &DbOps, name: &EnvName) -> Result<Rotated> {
    settle_inner(ops, name).await.map(Rotated::new)
}

async fn settle_inner(ops: &DbOps, name: &EnvName) -> Result<(Environment, Outcome)> {
    let vault = ops.agent.vault_or_error().await?;
    let row = vault.rotation(name.as_str()).await?;
    let (env, current) = ops.agent.get(name).await?;
    let Some(row) = row.filter(|r| r.state.is_unfinished()) else {
        return Ok((env, Outcome::NothingToResume));
    };
    let n = name.as_str();
    let open = |sealed: Option<Vec<u8>>, aad: Vec<u8>| async move {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = ops
            .agent
            .with_key(|k| k.open(&aad, &sealed))
            .await?
            .map_err(|_| {
                AgentError::Internal(format!("a rotation password of {n} fails authentication"))
            })?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| {
            AgentError::Internal(format!("a rotation password of {n} is not UTF-8"))
        })?;
        Ok::<_, AgentError>(Some(SecretString::from(text)))
    };
    let pending = open(row.sealed_pending.clone(), pending_aad(n)).await?;
    let previous = open(row.sealed_previous.clone(), previous_aad(n)).await?;
    let cred = |p: &SecretString| Credential::new(env.clone(), p.clone());
    let undecided = |e: DbError| -> AgentError {
        DbError {
            reason: e.reason,
            message: format!(
                "cannot tell which password the server of '{name}' has ({}); nothing was changed: the pending, current and previous passwords are all kept; retry `dbcreds rotate --resume {name}`",
                e.message
            ),
        }
        .into()
    };

    if let Some(p) = &pending {
        match connect::try_login(&cred(p)).await {
            Login::Works => {
                let env = promote(ops, name, p, Some(&current), RotationState::Done, None).await?;
                return Ok((env, Outcome::Finished));
            }
            Login::Refused => {}
            Login::Unknown(e) => return Err(undecided(e)),
        }
    }
    match connect::try_login(&cred(&current)).await {
        Login::Works => {
            let env = write(ops, name, |v| async move {
                v.rotation_roll_back(n, now()).await
            })
            .await?;
            return Ok((env, Outcome::RolledBack));
        }
        Login::Refused => {}
        Login::Unknown(e) => return Err(undecided(e)),
    }
    if let Some(p) = &previous {
        match connect::try_login(&cred(p)).await {
            Login::Works => {
                let env =
                    promote(ops, name, p, None, RotationState::RestoredPrevious, None).await?;
                return Ok((env, Outcome::RestoredPrevious));
            }
            Login::Refused => {}
            Login::Unknown(e) => return Err(undecided(e)),
        }
    }
    Err(DbError {
        reason: Reason::LoginFailed,
        message: format!(
            "none of the stored passwords of '{name}' (pending, current, previous) logs in; nothing was changed and all are kept: check the server, or set the password with `dbcreds update {name} --password`"
        ),
    }
    .into())
}

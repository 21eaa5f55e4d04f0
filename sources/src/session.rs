//! One logged-in source: what the agent holds per configured source while
//! unlocked. It keeps the login secret and the current token, renews or
//! repeats the login when it must, and turns each [`SecretRef`] into a
//! [`Fetched`].

use std::time::Duration;

use secrecy::SecretString;

use crate::{Fetched, Lease, SecretRef, SourceError, SourceSpec};

/// What an RDS IAM token (and, for error messages, any fetch) is for: the
/// environment's own fields.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub username: String,
}

/// What `status` and `check` report of a source.
#[derive(Debug, Clone)]
pub struct Health {
    /// The source answered.
    pub reachable: bool,
    /// The login token's remaining lifetime, when it has one.
    pub token_ttl: Option<Duration>,
    /// One line for people ("sealed", "token expires in 3m", ...).
    pub detail: String,
}

/// A configured source, ready to fetch. Cheap to share behind an `Arc`;
/// every method takes `&self`.
pub struct Session {
    spec: SourceSpec,
    inner: Inner,
}

// Boxed: a session is built once and lives long; the variants differ much
// in size.
enum Inner {
    Vault(Box<crate::vault::VaultSession>),
    Aws(Box<crate::aws::AwsSession>),
}

impl Session {
    /// Builds the session; does no I/O (the first fetch logs in).
    /// `login` is the sealed login secret for Vault sources (`None` for AWS).
    pub fn open(spec: SourceSpec, login: Option<SecretString>) -> Result<Self, SourceError> {
        let inner = match &spec.kind {
            crate::SourceKind::Openbao(v) | crate::SourceKind::Vault(v) => Inner::Vault(Box::new(
                crate::vault::VaultSession::new(&spec.name, v, login)?,
            )),
            crate::SourceKind::Aws(a) => {
                Inner::Aws(Box::new(crate::aws::AwsSession::new(&spec.name, a)?))
            }
        };
        Ok(Self { spec, inner })
    }

    pub fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    /// Fetches what `r` names. `pass` and commands do not need a session:
    /// see [`fetch_local`].
    pub async fn fetch(&self, r: &SecretRef, target: &Target) -> Result<Fetched, SourceError> {
        match &self.inner {
            Inner::Vault(v) => v.fetch(r).await,
            Inner::Aws(a) => a.fetch(r, target).await,
        }
    }

    /// Renews `lease` by `increment`; returns the lease's new duration
    /// (capped by the role's max_ttl: shorter than asked means it nears
    /// its end).
    pub async fn renew(&self, lease: &Lease, increment: Duration) -> Result<Duration, SourceError> {
        match &self.inner {
            Inner::Vault(v) => v.renew(lease, increment).await,
            Inner::Aws(_) => Ok(lease.duration),
        }
    }

    /// Revokes `lease` (the database user goes away).
    pub async fn revoke(&self, lease: &Lease) -> Result<(), SourceError> {
        match &self.inner {
            Inner::Vault(v) => v.revoke(lease).await,
            Inner::Aws(_) => Ok(()),
        }
    }

    /// Keeps the login alive: renews a renewable token, or logs in again
    /// (AppRole, userpass) when it cannot be renewed. Call it now and then
    /// while the session is used.
    pub async fn keep_login(&self) -> Result<(), SourceError> {
        match &self.inner {
            Inner::Vault(v) => v.keep_login().await,
            Inner::Aws(_) => Ok(()),
        }
    }

    /// Checks the source without fetching a secret.
    pub async fn health(&self) -> Health {
        match &self.inner {
            Inner::Vault(v) => v.health().await,
            Inner::Aws(a) => a.health().await,
        }
    }
}

/// Fetches a reference that needs no configured source: `pass` and
/// password commands. The program runs with the agent's environment.
pub async fn fetch_local(r: &SecretRef) -> Result<Fetched, SourceError> {
    fetch_local_with_env(r, &[]).await
}

/// [`fetch_local`] with variables added to the program's environment
/// (`PASSWORD_STORE_DIR`, `GNUPGHOME`, ...): for tests that run side by
/// side in one process, and for an agent that keeps per-source settings.
pub async fn fetch_local_with_env(
    r: &SecretRef,
    env: &[(String, String)],
) -> Result<Fetched, SourceError> {
    match r {
        SecretRef::Pass { name } => crate::pass::fetch(name, env).await,
        SecretRef::Command { command, cache_for } => {
            crate::command::run(command, *cache_for, env).await
        }
        other => Err(SourceError::Invalid(format!(
            "a {} secret needs a source",
            other.kind()
        ))),
    }
}

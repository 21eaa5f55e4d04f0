//! What a fetch brings back, and reading seed 001's JSON shape into it.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;

/// A credential from a source.
#[derive(Debug)]
pub struct Fetched {
    pub password: SecretString,
    /// Non-secret fields the secret carried, by dbcreds' names: `kind`,
    /// `host`, `port`, `database`, `username`, and driver options
    /// (`sslmode`, ...) under their own names. The agent fills only what
    /// the environment does not set.
    pub fields: BTreeMap<String, String>,
    /// A Vault lease to renew and revoke (dynamic credentials).
    pub lease: Option<Lease>,
    /// How long the agent may serve it from memory before fetching again:
    /// the lease duration, a static role's ttl, an IAM token's 15 minutes
    /// (less a margin), a command's `cache_for`; `None` for the agent's
    /// default (KV secrets, Secrets Manager).
    pub valid_for: Option<Duration>,
    /// The source's version of the secret (KV version, AWS VersionId), for
    /// `show` and the audit log; never secret.
    pub version: Option<String>,
}

/// A lease the source gave with a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `database/creds/app-ro/xEPD...`: a handle, not a secret, but the
    /// audit log records only [`Lease::suffix`].
    pub id: String,
    pub renewable: bool,
    pub duration: Duration,
}

impl Lease {
    /// The last 6 characters of the id, like Vault's accessors in logs.
    pub fn suffix(&self) -> &str {
        let n = self.id.len();
        self.id.get(n.saturating_sub(6)..).unwrap_or("")
    }
}

/// Reads a JSON object of seed 001's shape: `host`, `port`, `database` or
/// `dbname`, `user` or `username`, `password`, `engine` or `kind`, and any
/// other string field as a driver option. Fails when there is no password.
pub fn from_json_object(
    obj: &serde_json::Map<String, serde_json::Value>,
    what: &str,
) -> Result<(SecretString, BTreeMap<String, String>), crate::SourceError> {
    let _ = (obj, what);
    Err(crate::SourceError::Invalid("not built yet".into()))
}

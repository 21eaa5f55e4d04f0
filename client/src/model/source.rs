//! Where an environment's password comes from when it is not stored in the
//! vault, and what the agent holds from there. The agent owns the fetching
//! (crate `dbcreds-sources`); this side only names and shows it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::InvalidInput;

/// What kind of secret a [`SecretSource`] points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceRefKind {
    /// A KV (v2 or v1) secret of an OpenBao/Vault source.
    Kv,
    /// A database-engine role of an OpenBao/Vault source: a new user per lease.
    Dynamic,
    /// A static database role of an OpenBao/Vault source.
    Static,
    /// An AWS Secrets Manager secret.
    AwsSecret,
    /// An RDS IAM auth token, signed for the environment's host and user.
    RdsIam,
    /// An entry of the `pass` store.
    Pass,
    /// A program that prints the password.
    Command,
}

impl SourceRefKind {
    const ALL: [(Self, &'static str); 7] = [
        (Self::Kv, "kv"),
        (Self::Dynamic, "dynamic"),
        (Self::Static, "static"),
        (Self::AwsSecret, "aws-secret"),
        (Self::RdsIam, "rds-iam"),
        (Self::Pass, "pass"),
        (Self::Command, "command"),
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("kv", |(_, s)| s)
    }

    /// Whether it needs a named source (`pass` and commands do not).
    pub fn needs_source(self) -> bool {
        !matches!(self, Self::Pass | Self::Command)
    }

    /// Whether the secret may carry the connection fields (host, port, ...),
    /// so the environment may leave them empty.
    pub fn carries_fields(self) -> bool {
        matches!(self, Self::Kv | Self::AwsSecret | Self::Pass)
    }
}

impl FromStr for SourceRefKind {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == s)
            .map(|(k, _)| *k)
            .ok_or_else(|| InvalidInput::Field {
                field: "source".into(),
                why: format!(
                    "unknown kind '{s}': use kv, dynamic, static, aws-secret, rds-iam, pass or command"
                ),
            })
    }
}

impl fmt::Display for SourceRefKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an environment's password comes from.
///
/// ```
/// use dbcreds::{SecretSource, SourceRefKind};
/// let s = SecretSource::new(SourceRefKind::Kv, "team", "secret/db/prod");
/// assert_eq!(s.to_string(), "kv secret/db/prod (source team)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretSource {
    /// What it points at.
    pub kind: SourceRefKind,
    /// The named source; empty for `pass` and commands.
    pub source: String,
    /// The path, secret id, pass entry or command line.
    pub location: String,
    /// A command's output is kept this long.
    pub cache_for: Option<Duration>,
}

impl SecretSource {
    /// A reference without a cache time (set `cache_for` for commands).
    pub fn new(kind: SourceRefKind, source: &str, location: &str) -> Self {
        Self {
            kind,
            source: source.to_owned(),
            location: location.to_owned(),
            cache_for: None,
        }
    }

    /// Checks the parts fit together and their bounds.
    pub fn check(&self) -> Result<(), InvalidInput> {
        let bad = |why: String| InvalidInput::Field {
            field: "source".into(),
            why,
        };
        if self.kind.needs_source() {
            crate::EnvName::parse(&self.source).map_err(|_| {
                bad(format!(
                    "'{}' is no source name: see `dbcreds source list`",
                    self.source
                ))
            })?;
        } else if !self.source.is_empty() {
            return Err(bad(format!("a {} secret takes no named source", self.kind)));
        }
        let needs_location = self.kind != SourceRefKind::RdsIam;
        if needs_location && self.location.trim().is_empty() {
            return Err(bad(format!("a {} secret needs a path or name", self.kind)));
        }
        if self.location.len() > 4096 || self.location.chars().any(|c| c.is_control()) {
            return Err(bad(
                "the path or command is over 4096 bytes or holds a control character".into(),
            ));
        }
        if self.kind == SourceRefKind::Command && self.cache_for.is_none() {
            return Err(bad("a password command needs --cache-for".into()));
        }
        Ok(())
    }
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SourceRefKind::RdsIam => write!(f, "rds-iam token (source {})", self.source),
            SourceRefKind::Pass => write!(f, "pass {}", self.location),
            SourceRefKind::Command => write!(f, "command {}", self.location),
            k => write!(f, "{k} {} (source {})", self.location, self.source),
        }
    }
}

/// What the agent holds from a source for an environment right now.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CachedCredential {
    /// When it was fetched.
    pub fetched_at: Option<DateTime<Utc>>,
    /// When the agent fetches again; `None` for its default TTL.
    pub refresh_at: Option<DateTime<Utc>>,
    /// When the credential stops working (a lease's end), if known.
    pub valid_until: Option<DateTime<Utc>>,
    /// The lease id's last characters; empty without a lease.
    pub lease: String,
    /// Whether the agent can renew the lease.
    pub renewable: bool,
    /// The source's version of the secret.
    pub version: String,
    /// Fields of the environment the secret filled.
    pub from_source: Vec<String>,
}

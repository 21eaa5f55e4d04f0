//! What a source is and what an environment points at in it. Both are
//! stored in the vault as JSON (no secret in either: a source's login
//! secret is sealed beside it, like a password).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A named source, configured once with `dbcreds source add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSpec {
    /// 1-50 characters of [a-z0-9_-], like an environment name.
    pub name: String,
    #[serde(flatten)]
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceKind {
    /// OpenBao; the same HTTP API as HashiCorp Vault.
    Openbao(VaultSpec),
    /// HashiCorp Vault.
    Vault(VaultSpec),
    /// AWS: Secrets Manager and RDS IAM tokens, with the standard
    /// credential chain (no AWS keys are stored in dbcreds).
    Aws(AwsSpec),
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Openbao(_) => "openbao",
            Self::Vault(_) => "vault",
            Self::Aws(_) => "aws",
        }
    }

    /// Whether the source needs a login secret sealed in the vault.
    pub fn needs_login_secret(&self) -> bool {
        matches!(self, Self::Openbao(_) | Self::Vault(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultSpec {
    /// `https://bao.internal:8200`
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A PEM file of CA certificates to trust for the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    pub auth: VaultAuth,
    /// Per request; [`crate::DEFAULT_TIMEOUT`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub timeout: Option<Duration>,
}

/// How the agent logs in to a Vault/OpenBao source. The secret part (the
/// token, the AppRole secret-id, the userpass password) is not here: it is
/// sealed in the vault and handed to [`crate::Session::open`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum VaultAuth {
    Token,
    Approle {
        role_id: String,
        /// Where the AppRole method is mounted; `approle` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mount: Option<String>,
    },
    Userpass {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mount: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Another endpoint for Secrets Manager (a VPC endpoint, or a local
    /// test server); the AWS default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_secs")]
    pub timeout: Option<Duration>,
}

/// Where an environment's secret comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SecretRef {
    /// A KV (v2 or v1) secret of a Vault source holding seed 001's JSON
    /// shape (`host`, `port`, `database`/`dbname`, `user`/`username`,
    /// `password`, ...). `path` is as `bao kv get` takes it:
    /// `secret/db/prod` (the mount, then the path in it).
    Kv { source: String, path: String },
    /// A database-engine role of a Vault source (`database/creds/app-ro`):
    /// each lease is a fresh user and password.
    Dynamic { source: String, path: String },
    /// A static role (`database/static-creds/app`): Vault rotates the
    /// password; dbcreds reads it again after its `ttl`.
    Static { source: String, path: String },
    /// An AWS Secrets Manager secret (name or ARN), RDS JSON shape, read
    /// with `VersionStage=AWSCURRENT`.
    AwsSecret { source: String, id: String },
    /// No secret: an RDS IAM auth token signed for the environment's host,
    /// port and user (valid 15 minutes).
    RdsIam { source: String },
    /// An entry of the `pass` store: its first line, or the JSON shape.
    Pass { name: String },
    /// A program (run with `sh -c`) that prints the password.
    Command {
        command: String,
        #[serde(with = "secs")]
        cache_for: Duration,
    },
}

impl SecretRef {
    /// The named source it needs, if any (`pass` and commands need none).
    pub fn source(&self) -> Option<&str> {
        match self {
            Self::Kv { source, .. }
            | Self::Dynamic { source, .. }
            | Self::Static { source, .. }
            | Self::AwsSecret { source, .. }
            | Self::RdsIam { source } => Some(source),
            Self::Pass { .. } | Self::Command { .. } => None,
        }
    }

    /// One word for `show`, the audit log and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Kv { .. } => "kv",
            Self::Dynamic { .. } => "dynamic",
            Self::Static { .. } => "static",
            Self::AwsSecret { .. } => "aws-secret",
            Self::RdsIam { .. } => "rds-iam",
            Self::Pass { .. } => "pass",
            Self::Command { .. } => "command",
        }
    }

    /// What `show` prints after the kind. A command line is shown to the
    /// user who configured it but never logged (it may carry a token).
    pub fn location(&self) -> &str {
        match self {
            Self::Kv { path, .. } | Self::Dynamic { path, .. } | Self::Static { path, .. } => path,
            Self::AwsSecret { id, .. } => id,
            Self::RdsIam { .. } => "",
            Self::Pass { name } => name,
            Self::Command { command, .. } => command,
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_secs))
    }
}

//! Every way a source can fail, each with a message that says what to do.
//! No variant holds a secret: paths, addresses and names only.

/// Why a fetch, renewal, revocation or login failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No answer within the timeout, connection refused, DNS failure, TLS
    /// handshake failure.
    #[error(
        "source '{name}' at {address} did not answer ({detail}): check that it runs and the address is right"
    )]
    Unreachable {
        name: String,
        address: String,
        detail: String,
    },
    /// Vault/OpenBao answered 503: sealed (or in standby without a leader).
    #[error("source '{name}' is sealed: unseal it (`bao operator unseal`), then try again")]
    Sealed { name: String },
    /// 403 on a path: the login's policy does not allow it.
    #[error(
        "source '{name}' denied access to {path}: ask for a policy that allows it, or check `dbcreds source login {name}`"
    )]
    PermissionDenied { name: String, path: String },
    /// 404: no such secret, role or version.
    #[error(
        "source '{name}' has no {path}: check the path (`bao kv list`, `aws secretsmanager list-secrets`)"
    )]
    NotFound { name: String, path: String },
    /// The secret was read but holds no password field.
    #[error(
        "{what} holds no password field (looked for password, pass, secret): add one to the secret"
    )]
    NoPassword { what: String },
    /// The login was refused (bad token, secret-id, password).
    #[error("source '{name}' refused the login ({detail}): run `dbcreds source login {name}`")]
    LoginFailed { name: String, detail: String },
    /// No AWS credentials in the chain, or they expired.
    #[error(
        "no usable AWS credentials ({detail}): run `aws sso login` or `aws configure`, or set AWS_PROFILE"
    )]
    AwsCredentials { detail: String },
    /// `pass` (or gpg under it) failed; `detail` is the first line it wrote.
    #[error("pass failed for {entry}: {detail}")]
    Pass { entry: String, detail: String },
    /// A password command exited non-zero; `detail` is its first stderr line.
    #[error("the password command failed ({status}): {detail}")]
    CommandFailed { status: String, detail: String },
    /// A password command succeeded but printed nothing.
    #[error("the password command printed nothing: make it print the password on stdout")]
    CommandEmpty,
    /// The lease is gone (revoked outside dbcreds, or expired): renewing
    /// it cannot work; fetch a new credential.
    #[error("source '{name}' no longer knows the lease: a new credential is needed")]
    LeaseGone { name: String },
    /// The source answered something dbcreds does not understand.
    #[error("source '{name}' answered unexpectedly: {detail}")]
    Protocol { name: String, detail: String },
    /// A reference or spec that cannot work (missing host for RDS IAM...).
    #[error("{0}")]
    Invalid(String),
}

impl SourceError {
    /// Whether a cached credential should be served instead (the source is
    /// down, not saying no).
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Sealed { .. })
    }
}

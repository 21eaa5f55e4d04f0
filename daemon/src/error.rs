//! The agent's errors and the one table that turns them into gRPC statuses.
//! Internal failures get a generic message: details go to the log, never to
//! a status string that could carry a secret to another process.

use dbcreds::Reason;

use crate::keyring::KeyringError;
use crate::vault::VaultError;

/// A failed connection test or rotation step: the reason (which becomes the
/// CLI's exit code) and a one-line message with what to do. Never holds a
/// secret: drivers do not echo passwords, and no message here includes one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    pub reason: Reason,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Invalid(#[from] dbcreds::InvalidInput),
    #[error("environment '{0}' not found: see `dbcreds list`, or add it with `dbcreds add {0}`")]
    NotFound(String),
    #[error(
        "environment '{0}' already exists: pass --force to replace it, or change it with `dbcreds update {0}`"
    )]
    AlreadyExists(String),
    #[error("the vault is locked: run `dbcreds unlock`")]
    Locked,
    /// Locked, and the automatic keyring unlock just failed for this reason.
    #[error("the vault is locked ({0}): run `dbcreds unlock`")]
    LockedBecause(String),
    #[error("no vault yet: run `dbcreds init`")]
    NotInitialized,
    /// A password environment whose password was never set.
    #[error("environment '{0}' has no password yet: set it with `dbcreds update {0} --password`")]
    PasswordMissing(String),
    /// A password asked of an environment whose mode has none.
    #[error("environment '{0}' {1} and has no password to hand out")]
    NoPassword(String, &'static str),
    #[error("a vault already exists at {0}: nothing was changed")]
    AlreadyInitialized(String),
    #[error("wrong passphrase: the vault stays locked; try again")]
    WrongPassphrase,
    #[error("this vault has no {0} unlocker: {1}")]
    NoSuchUnlocker(dbcreds::Unlocker, &'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("internal error: {0}")]
    Internal(String),
    /// A connection test or rotation failed; the message is already one a
    /// person can act on and holds no secret.
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "a password rotation of '{0}' is unfinished: run `dbcreds rotate --resume {0}` to finish or roll it back first"
    )]
    RotationUnfinished(String),
    /// `backup` to a file that exists, without `--force`.
    #[error("{0} exists already: pass --force to replace it, or choose another file")]
    FileExists(String),
    /// `restore` over a vault, without `--force`.
    #[error(
        "a vault exists at {0}: pass --force to replace it (it is kept beside it as vault.db.before-restore-<time>)"
    )]
    VaultExists(String),
    /// `restore` of a file that is not a dbcreds vault, or is damaged.
    #[error("{path} is not a dbcreds backup, or it is damaged ({detail}): nothing was changed")]
    NotABackup { path: String, detail: String },
    /// `passphrase add` on a vault that has one.
    #[error(
        "this vault has a passphrase unlocker already: change it with `dbcreds passphrase change`"
    )]
    PassphraseExists,
    /// Removing an unlocker would leave none that works.
    #[error("{0}")]
    LastUnlocker(String),
    /// The policy's allow list does not name the program that would get
    /// the secret; the message names it and the list.
    #[error("{0}")]
    NotAllowed(String),
    /// A confirmation was refused, or nobody answered in time.
    #[error("{0}")]
    ApprovalRefused(String),
    /// The request waits for a confirmation (the client asked not to wait
    /// in the call): `id` is what it waits on and sends again.
    #[error("{message}")]
    ApprovalPending { id: u64, message: String },
    /// The secret was forgotten after the policy's `max_unlocked`.
    #[error(
        "the password of '{0}' was forgotten {1} after the unlock (its policy's max_unlocked): run `dbcreds unlock`"
    )]
    Forgotten(String, String),
    /// A source failed; the message says what to do and holds no secret.
    #[error(transparent)]
    Source(#[from] dbcreds_sources::SourceError),
    /// `RemoveSource` of a source environments still use.
    #[error("source '{0}' is used by {1}: remove those environments or point them elsewhere first")]
    SourceInUse(String, String),
    /// A file the caller named could not be read or written; the message
    /// names it (paths are no secret).
    #[error("cannot {what} {path}: {source}")]
    File {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
}

impl AgentError {
    /// A failed file operation on `path`.
    pub fn file(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::File {
            what,
            path: path.display().to_string(),
            source,
        }
    }

    /// The reason (and so the CLI's exit code) of a source's failure.
    pub fn reason_of_source(e: &dbcreds_sources::SourceError) -> Reason {
        use dbcreds_sources::SourceError as S;
        match e {
            S::Unreachable { .. } => Reason::SourceUnreachable,
            S::Sealed { .. } => Reason::SourceSealed,
            S::PermissionDenied { .. } => Reason::SourceDenied,
            S::NotFound { .. } => Reason::SourceNotFound,
            S::NoPassword { .. } => Reason::NoPassword,
            S::LoginFailed { .. } => Reason::SourceLoginFailed,
            S::AwsCredentials { .. } => Reason::AwsCredentials,
            S::Invalid(_) => Reason::Invalid,
            _ => Reason::SourceFailed,
        }
    }

    pub fn reason(&self) -> Reason {
        match self {
            Self::Invalid(_) | Self::BadRequest(_) => Reason::Invalid,
            Self::NotFound(_) => Reason::NotFound,
            Self::AlreadyExists(_) => Reason::AlreadyExists,
            Self::Locked | Self::LockedBecause(_) | Self::Forgotten(..) => Reason::Locked,
            Self::NotAllowed(_) => Reason::PermissionDenied,
            Self::ApprovalRefused(_) => Reason::ApprovalRefused,
            Self::ApprovalPending { .. } => Reason::ApprovalPending,
            Self::NotInitialized => Reason::NotInitialized,
            Self::PasswordMissing(_) | Self::NoPassword(..) => Reason::NoPassword,
            Self::AlreadyInitialized(_) => Reason::AlreadyInitialized,
            Self::WrongPassphrase => Reason::WrongPassphrase,
            Self::NoSuchUnlocker(..) | Self::Keyring(_) => Reason::KeyringUnavailable,
            Self::Vault(VaultError::Corrupt { .. }) => Reason::VaultCorrupt,
            Self::Vault(VaultError::TooNew { .. }) => Reason::VaultTooNew,
            Self::Vault(_) | Self::Internal(_) => Reason::Internal,
            Self::Db(e) => e.reason,
            Self::RotationUnfinished(_) => Reason::RotationUnfinished,
            Self::FileExists(_) | Self::PassphraseExists => Reason::AlreadyExists,
            Self::VaultExists(_) => Reason::AlreadyInitialized,
            Self::NotABackup { .. } => Reason::VaultCorrupt,
            Self::LastUnlocker(_) => Reason::Invalid,
            Self::Source(e) => Self::reason_of_source(e),
            Self::SourceInUse(..) => Reason::Invalid,
            Self::File { source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => Reason::PermissionDenied,
                // A path that names nothing is bad input.
                std::io::ErrorKind::NotFound => Reason::Invalid,
                _ => Reason::Internal,
            },
        }
    }
}

impl From<AgentError> for tonic::Status {
    fn from(e: AgentError) -> Self {
        let reason = e.reason();
        let message = match &e {
            AgentError::Vault(VaultError::Db(_)) | AgentError::Internal(_) => {
                tracing::error!(error = %e, "request failed");
                "internal agent error: see the agent's log".to_owned()
            }
            other => other.to_string(),
        };
        let mut status = reason.status(message);
        if let AgentError::ApprovalPending { id, .. } = &e
            && let Ok(v) = id.to_string().parse()
        {
            status
                .metadata_mut()
                .insert(dbcreds::error::APPROVAL_ID_KEY, v);
        }
        status
    }
}

impl From<DbError> for tonic::Status {
    fn from(e: DbError) -> Self {
        AgentError::from(e).into()
    }
}

pub type Result<T, E = AgentError> = std::result::Result<T, E>;

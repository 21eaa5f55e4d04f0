//! Errors of the library, as types a caller can match on.
//!
//! The agent sends every failure as a gRPC status whose trailing metadata
//! `dbcreds-reason` names a [`Reason`]; [`Error::from_status`] is the one
//! place that turns a status back into an [`Error`]. Messages come from the
//! agent, which writes them for people: what went wrong and what to run.

use std::path::PathBuf;

use thiserror::Error as ThisError;

/// Metadata key that carries the machine-readable [`Reason`] of a failure.
pub const REASON_KEY: &str = "dbcreds-reason";

/// Metadata key of an `approval_pending` status: the id of the pending
/// request, to wait on ([`crate::Client`] does) and to send again with.
pub const APPROVAL_ID_KEY: &str = "dbcreds-approval-id";

/// Input that breaks the model's rules. Each message names the problem and
/// the fix.
///
/// ```
/// let err = dbcreds::EnvName::parse("Prod DB!").unwrap_err();
/// assert!(err.to_string().contains("Prod DB!"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum InvalidInput {
    /// An environment name outside `[a-z0-9_-]{1,50}`.
    #[error("invalid environment name '{name}': {why}; use 1-50 characters of a-z, 0-9, _ and -")]
    Name {
        /// What was given.
        name: String,
        /// Which rule it breaks.
        why: String,
    },
    /// A database kind dbcreds does not know.
    #[error(
        "unknown database kind '{0}': use one of postgres, mysql, mariadb, sqlite, mssql, oracle, snowflake"
    )]
    Kind(String),
    /// A port of 0, above 65535, or not a number.
    #[error("invalid port '{0}': use a number from 1 to 65535")]
    Port(String),
    /// Any other field with a bad value.
    #[error("invalid {field}: {why}")]
    Field {
        /// The field's name.
        field: String,
        /// What is wrong and how to fix it.
        why: String,
    },
}

/// Why the agent refused a request; sent as the `dbcreds-reason` metadata.
///
/// ```
/// use dbcreds::error::Reason;
/// assert_eq!(Reason::parse("locked"), Some(Reason::Locked));
/// assert_eq!(Reason::Locked.as_str(), "locked");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Bad input.
    Invalid,
    /// No such environment.
    NotFound,
    /// The environment exists already.
    AlreadyExists,
    /// The vault is locked.
    Locked,
    /// No vault yet.
    NotInitialized,
    /// A vault exists already (on `init`).
    AlreadyInitialized,
    /// The passphrase did not open the vault.
    WrongPassphrase,
    /// The vault file is damaged or not a vault.
    VaultCorrupt,
    /// The vault was written by a newer dbcreds.
    VaultTooNew,
    /// The OS keyring did not answer, is locked, or lacks the key.
    KeyringUnavailable,
    /// The caller is not the agent's user.
    PermissionDenied,
    /// Anything else; details are in the agent's log.
    Internal,
    /// The database server did not answer: wrong host or port, down, or a
    /// firewall in the way (no answer within the connect timeout).
    Unreachable,
    /// The database server refused the login: wrong user or password, or
    /// its access rules (pg_hba.conf, account host) do not let it in.
    LoginFailed,
    /// The TLS handshake with the database server failed: the server has no
    /// TLS, or its certificate did not verify.
    TlsFailed,
    /// dbcreds has no driver for this database kind (mssql, oracle,
    /// snowflake), or the operation does not apply to it.
    Unsupported,
    /// The database server answered with an error (no such database, not
    /// allowed to change the password, ...).
    DatabaseError,
    /// A password rotation of the environment is unfinished: resume it
    /// first.
    RotationUnfinished,
    /// The environment has no password to hand out: its auth mode takes
    /// none (`none`, `cert`), or it is waiting for one (imported from
    /// metadata alone).
    NoPassword,
    /// A confirmation the environment's policy asks for was refused, or
    /// nobody answered in time (`dbcreds approve`, the askpass program).
    ApprovalRefused,
    /// The request waits for a confirmation (only with `Approval.defer`;
    /// [`crate::Client`] waits for it itself and never returns this).
    ApprovalPending,
    /// The environment's source (OpenBao/Vault, AWS) did not answer in time.
    SourceUnreachable,
    /// The OpenBao/Vault source is sealed.
    SourceSealed,
    /// The source's policy does not allow the path (the message names it).
    SourceDenied,
    /// The source has no such secret, role or version.
    SourceNotFound,
    /// The source refused the agent's login (token, AppRole, userpass).
    SourceLoginFailed,
    /// No usable AWS credentials (missing or expired).
    AwsCredentials,
    /// `pass`, gpg or a password command failed, or a source answered
    /// something unexpected.
    SourceFailed,
}

impl Reason {
    const TABLE: [(Reason, &'static str); 28] = [
        (Reason::Invalid, "invalid"),
        (Reason::NotFound, "not_found"),
        (Reason::AlreadyExists, "already_exists"),
        (Reason::Locked, "locked"),
        (Reason::NotInitialized, "not_initialized"),
        (Reason::AlreadyInitialized, "already_initialized"),
        (Reason::WrongPassphrase, "wrong_passphrase"),
        (Reason::VaultCorrupt, "vault_corrupt"),
        (Reason::VaultTooNew, "vault_too_new"),
        (Reason::KeyringUnavailable, "keyring_unavailable"),
        (Reason::PermissionDenied, "permission_denied"),
        (Reason::Internal, "internal"),
        (Reason::Unreachable, "unreachable"),
        (Reason::LoginFailed, "login_failed"),
        (Reason::TlsFailed, "tls_failed"),
        (Reason::Unsupported, "unsupported"),
        (Reason::DatabaseError, "database_error"),
        (Reason::RotationUnfinished, "rotation_unfinished"),
        (Reason::NoPassword, "no_password"),
        (Reason::ApprovalRefused, "approval_refused"),
        (Reason::ApprovalPending, "approval_pending"),
        (Reason::SourceUnreachable, "source_unreachable"),
        (Reason::SourceSealed, "source_sealed"),
        (Reason::SourceDenied, "source_denied"),
        (Reason::SourceNotFound, "source_not_found"),
        (Reason::SourceLoginFailed, "source_login_failed"),
        (Reason::AwsCredentials, "aws_credentials"),
        (Reason::SourceFailed, "source_failed"),
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("internal", |(_, s)| s)
    }

    /// Reads the wire spelling back.
    pub fn parse(s: &str) -> Option<Self> {
        Self::TABLE.iter().find(|(_, t)| *t == s).map(|(r, _)| *r)
    }

    /// The gRPC code that goes with the reason.
    pub fn code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::Invalid => Code::InvalidArgument,
            Self::NotFound => Code::NotFound,
            Self::AlreadyExists | Self::AlreadyInitialized => Code::AlreadyExists,
            Self::Locked | Self::NotInitialized | Self::VaultTooNew => Code::FailedPrecondition,
            Self::WrongPassphrase => Code::Unauthenticated,
            Self::VaultCorrupt => Code::DataLoss,
            Self::KeyringUnavailable => Code::Unavailable,
            Self::PermissionDenied | Self::ApprovalRefused => Code::PermissionDenied,
            Self::Internal => Code::Internal,
            Self::Unreachable | Self::TlsFailed => Code::Unavailable,
            Self::LoginFailed => Code::Unauthenticated,
            Self::Unsupported => Code::Unimplemented,
            Self::DatabaseError => Code::Aborted,
            Self::RotationUnfinished | Self::NoPassword | Self::ApprovalPending => {
                Code::FailedPrecondition
            }
            Self::SourceUnreachable | Self::SourceSealed => Code::Unavailable,
            Self::SourceDenied => Code::PermissionDenied,
            Self::SourceNotFound => Code::NotFound,
            Self::SourceLoginFailed | Self::AwsCredentials => Code::Unauthenticated,
            Self::SourceFailed => Code::Aborted,
        }
    }

    /// A status carrying this reason and a message for people.
    ///
    /// ```
    /// use dbcreds::error::Reason;
    /// let s = Reason::NotFound.status("environment 'x' not found");
    /// assert_eq!(s.code(), tonic::Code::NotFound);
    /// ```
    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        let mut status = tonic::Status::new(self.code(), message);
        if let Ok(v) = self.as_str().parse() {
            status.metadata_mut().insert(REASON_KEY, v);
        }
        status
    }
}

/// Everything that can go wrong between an application and its credentials.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// Input broke the model's rules.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The agent refused; `reason` says why, `message` says what to do.
    #[error("{message}")]
    Agent {
        /// Machine-readable reason.
        reason: Reason,
        /// The agent's message for people.
        message: String,
    },
    /// No agent listens on the socket.
    #[error("no dbcreds agent answers at {}: start it with `dbcreds agent start` (or `dbcreds-agent`), or point DBCREDS_SOCK at a running one", socket.display())]
    AgentUnreachable {
        /// Where the agent was looked for.
        socket: PathBuf,
        /// What the connect said.
        #[source]
        source: std::io::Error,
    },
    /// The agent took the connection but did not answer in time: it is
    /// stopped (SIGSTOP) or hung, or what listens there is no agent.
    #[error(
        "the dbcreds agent{} at {} did not answer within {}: it is stopped or hung; run `dbcreds agent stop` (it kills an agent that does not answer){}",
        pid_note(*.pid),
        .socket.display(),
        humantime::format_duration(*.waited),
        cont_note(*.pid)
    )]
    AgentUnresponsive {
        /// The agent's socket.
        socket: PathBuf,
        /// The agent's pid, from the socket's peer credentials.
        pid: Option<u32>,
        /// How long the client waited.
        waited: std::time::Duration,
    },
    /// The connection to the agent broke while a request was under way:
    /// the agent exited or crashed.
    #[error(
        "the connection to the dbcreds agent{} at {} broke during the request ({detail}): it exited or crashed (see its log); run the command again",
        pid_note(*.pid),
        .socket.display()
    )]
    AgentConnectionLost {
        /// The agent's socket.
        socket: PathBuf,
        /// The agent's pid, from the socket's peer credentials.
        pid: Option<u32>,
        /// What the transport said.
        detail: String,
    },
    /// The agent could not be started.
    #[error("could not start dbcreds-agent: {0}")]
    AgentStart(String),
    /// The agent speaks another protocol version.
    #[error(
        "the running dbcreds-agent speaks protocol {agent}, this client speaks {client}: restart it with `dbcreds agent restart`"
    )]
    ProtocolMismatch {
        /// The agent's protocol number.
        agent: u32,
        /// Ours.
        client: u32,
    },
    /// A `DBCREDS_<ENV>_*` variable is malformed.
    #[error("environment variable {var}: {why}")]
    EnvVar {
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        why: String,
    },
    /// The agent answered something this client cannot read.
    #[error("unexpected reply from the agent: {0}")]
    Protocol(String),
}

impl Error {
    /// Turns a gRPC status from the agent into an error, using the
    /// `dbcreds-reason` metadata where present and the status code otherwise.
    ///
    /// ```
    /// use dbcreds::error::{Error, Reason};
    /// let err = Error::from_status(Reason::Locked.status("the vault is locked: run `dbcreds unlock`"));
    /// assert_eq!(err.reason(), Some(Reason::Locked));
    /// ```
    pub fn from_status(status: tonic::Status) -> Self {
        // The transport's own failures ride in the status as its source.
        if let Some(t) = std::error::Error::source(&status)
            .and_then(|s| s.downcast_ref::<crate::transport::TransportError>())
        {
            return t.clone().into();
        }
        if too_large(&status) {
            return Self::Agent {
                reason: Reason::Invalid,
                message: format!(
                    "the request is larger than the agent takes ({} KiB): shorten the description or the options",
                    dbcreds_proto::MAX_REQUEST_BYTES / 1024
                ),
            };
        }
        let reason = status
            .metadata()
            .get(REASON_KEY)
            .and_then(|v| v.to_str().ok())
            .and_then(Reason::parse)
            .unwrap_or(match status.code() {
                tonic::Code::NotFound => Reason::NotFound,
                tonic::Code::AlreadyExists => Reason::AlreadyExists,
                tonic::Code::InvalidArgument => Reason::Invalid,
                tonic::Code::FailedPrecondition => Reason::Locked,
                tonic::Code::Unauthenticated => Reason::WrongPassphrase,
                tonic::Code::PermissionDenied => Reason::PermissionDenied,
                tonic::Code::DataLoss => Reason::VaultCorrupt,
                _ => Reason::Internal,
            });
        let message = match status.code() {
            tonic::Code::Unavailable | tonic::Code::Unknown if reason == Reason::Internal => {
                format!("the agent connection failed: {}", status.message())
            }
            _ => status.message().to_owned(),
        };
        Self::Agent { reason, message }
    }

    /// The agent's reason, when the agent refused.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Agent { reason, .. } => Some(*reason),
            Self::Invalid(_) => Some(Reason::Invalid),
            _ => None,
        }
    }
}

/// " (pid N)", or nothing when the pid is unknown.
fn pid_note(pid: Option<u32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

/// How to resume an agent stopped on purpose, when its pid is known.
fn cont_note(pid: Option<u32>) -> String {
    pid.map(|p| format!(", or `kill -CONT {p}` if you stopped it"))
        .unwrap_or_default()
}

/// A request over a size limit, refused by tonic on either side (the
/// agent's decoder, or this client's encoder before sending).
fn too_large(status: &tonic::Status) -> bool {
    status.metadata().get(REASON_KEY).is_none()
        && (status.code() == tonic::Code::ResourceExhausted
            || (status.code() == tonic::Code::OutOfRange
                && status.message().contains("message length too large")))
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Self::from_status(status)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_request_is_invalid_input_in_words() {
        for status in [
            tonic::Status::resource_exhausted("whatever"),
            tonic::Status::out_of_range(
                "Error, decoded message length too large: found 70000 bytes, the limit is: 65536 bytes",
            ),
        ] {
            let err = Error::from_status(status);
            assert_eq!(err.reason(), Some(Reason::Invalid));
            assert!(err.to_string().contains("64 KiB"), "{err}");
        }
    }

    #[test]
    fn a_transport_failure_survives_the_status() {
        let t = crate::transport::TransportError::Unresponsive {
            socket: PathBuf::from("/s"),
            pid: Some(7),
            waited: std::time::Duration::from_secs(4),
        };
        let err = Error::from_status(tonic::Status::from_error(Box::new(t)));
        assert!(
            matches!(err, Error::AgentUnresponsive { pid: Some(7), .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("kill -CONT 7"), "{err}");
    }

    #[test]
    fn every_reason_round_trips_through_its_wire_spelling() {
        let mut seen = std::collections::HashSet::new();
        for (reason, wire) in Reason::TABLE {
            assert!(seen.insert(wire), "{wire} listed twice");
            assert_eq!(reason.as_str(), wire);
            assert_eq!(Reason::parse(wire), Some(reason));
            let err = Error::from_status(reason.status("x"));
            assert_eq!(err.reason(), Some(reason), "{wire}");
        }
    }
}

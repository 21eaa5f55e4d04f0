//! Exit codes, and the one place that turns any failure into an exit code
//! and the one-line message printed as `dbcreds: <message>` on stderr.
//!
//! The codes are a stable interface for scripts: never renumber one, only
//! add new ones at the end. `dbcreds --help` prints [`TABLE`] and the README
//! copies it.

use std::fmt;

use dbcreds::{Error, InvalidInput, Reason};

/// Success.
pub const OK: u8 = 0;
/// Any error without a code of its own (an internal agent error, an
/// unreadable reply, an I/O error of the CLI itself).
pub const OTHER: u8 = 1;
/// Usage error or invalid input: bad arguments (clap's own errors use this
/// code too), a bad name, kind, port or option, a malformed
/// `DBCREDS_<ENV>_*` variable, a missing field with no terminal to ask on.
pub const USAGE: u8 = 2;
/// No environment of that name.
pub const NOT_FOUND: u8 = 3;
/// The vault is locked.
pub const LOCKED: u8 = 4;
/// The environment (or the vault, on `init`) exists already.
pub const ALREADY_EXISTS: u8 = 5;
/// No agent answers (none listens, or it is stopped or hung, or its
/// connection broke mid-request), it could not be started, or it speaks
/// another protocol.
pub const AGENT_UNREACHABLE: u8 = 6;
/// The vault file is damaged or not a vault.
pub const VAULT_CORRUPT: u8 = 7;
/// The vault was written by a newer dbcreds.
pub const VAULT_TOO_NEW: u8 = 8;
/// The passphrase did not open the vault.
pub const WRONG_PASSPHRASE: u8 = 9;
/// The OS keyring did not answer, is locked, or lacks the key.
pub const KEYRING_UNAVAILABLE: u8 = 10;
/// The password is past its expiry and `--require-fresh` was given.
pub const EXPIRED: u8 = 11;
/// There is no vault yet.
pub const NOT_INITIALIZED: u8 = 12;
/// The agent refused the caller: another user, a file it may not touch, a
/// program the environment's policy does not allow, or a confirmation that
/// was refused or not answered in time (`Reason::ApprovalRefused`: the same
/// code, since to a script both mean "not for you, not now").
pub const PERMISSION_DENIED: u8 = 13;

/// `dbcreds exec` refused to run inside `dbcreds exec` of another
/// environment (`DBCREDS_ENV` names it) without `--force`.
pub const NESTED: u8 = 14;
/// `test`/`rotate`: the database server did not answer (wrong host or
/// port, down, firewalled: nothing within the connect timeout).
pub const DB_UNREACHABLE: u8 = 15;
/// `test`/`rotate`: the database server refused the login (wrong password,
/// or its access rules).
pub const DB_LOGIN_FAILED: u8 = 16;
/// `test`/`rotate`: TLS with the database server failed (it has none, or
/// its certificate did not verify).
pub const DB_TLS_FAILED: u8 = 17;
/// `test`/`rotate`: no driver for the database kind (mssql, oracle,
/// snowflake), or the operation does not apply to it (rotating SQLite).
pub const DB_UNSUPPORTED: u8 = 18;
/// `test`/`rotate`: the database server answered with an error (no such
/// database, not allowed to change the password).
pub const DB_ERROR: u8 = 19;
/// `rotate`: a rotation of the environment is unfinished.
pub const ROTATION_UNFINISHED: u8 = 20;
/// The environment has no password to hand out: it logs in with a client
/// certificate or without a credential (`--auth cert|none`), or its
/// password was never set (`dbcreds update NAME --password`).
pub const NO_PASSWORD: u8 = 21;
/// The environment's source (OpenBao/Vault, AWS) did not answer in time.
pub const SOURCE_UNREACHABLE: u8 = 22;
/// The OpenBao/Vault source is sealed.
pub const SOURCE_SEALED: u8 = 23;
/// The source's policy does not allow the path.
pub const SOURCE_DENIED: u8 = 24;
/// The source has no such secret or role.
pub const SOURCE_NOT_FOUND: u8 = 25;
/// The source refused the agent's login.
pub const SOURCE_LOGIN_FAILED: u8 = 26;
/// No usable AWS credentials.
pub const AWS_CREDENTIALS: u8 = 27;
/// `pass`, gpg or a password command failed.
pub const SOURCE_FAILED: u8 = 28;
/// `dbcreds exec`: the command exists but cannot be run (not executable,
/// not a program). The shells' code for it.
pub const COMMAND_NOT_EXECUTABLE: u8 = 126;
/// `dbcreds exec`: no such command. The shells' code for it.
pub const COMMAND_NOT_FOUND: u8 = 127;

macro_rules! exit_code_table {
    () => {
        "Exit codes:
   0  success
   1  other error
   2  usage error or invalid input (name, kind, port, option, DBCREDS_<ENV>_* variable)
   3  environment not found
   4  vault locked (run `dbcreds unlock`)
   5  already exists (use --force to replace, or `dbcreds update`)
   6  agent unreachable, not answering, could not be started, or speaks another protocol
   7  vault corrupt
   8  vault written by a newer dbcreds
   9  wrong passphrase
  10  OS keyring unavailable
  11  password expired (get/export/exec --require-fresh; check: any expired)
  12  vault not initialized (run `dbcreds init`)
  13  permission denied (another user; a program the policy does not allow; a confirmation refused or not answered)
  14  exec refused inside `dbcreds exec` of another environment (use --force)
  15  database unreachable (test, rotate: wrong host or port, server down, connect timeout)
  16  database login failed (wrong password, or the server's access rules)
  17  TLS with the database failed (server without TLS, or its certificate did not verify)
  18  no driver for this database kind (mssql, oracle, snowflake), or not applicable to it
  19  the database server answered with an error (e.g. may not change the password)
  20  a password rotation is unfinished (run `dbcreds rotate --resume NAME`)
  21  no password: --auth cert/none, or not set yet (run `dbcreds update NAME --password`), or the source's secret has no password field
  22  the environment's source did not answer (OpenBao/Vault, AWS; a cached credential is served while still valid)
  23  the OpenBao/Vault source is sealed
  24  the source's policy does not allow the path (the message names it)
  25  the source has no such secret or role
  26  the source refused the agent's login (run `dbcreds source login NAME`)
  27  no usable AWS credentials (run `aws sso login` or `aws configure`)
  28  pass, gpg or the password command failed (its first line of stderr is shown)
 126  exec: the command cannot be run
 127  exec: command not found (any other code of exec is the command's own)"
    };
}
pub(crate) use exit_code_table;

/// The exit-code table as `dbcreds --help` prints it (its after-help is
/// built from the same macro at compile time; a test checks they agree).
#[cfg_attr(not(test), allow(dead_code))]
pub const TABLE: &str = exit_code_table!();

/// A failure on its way out: the exit code and a one-line message that says
/// what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The process exit code (see the constants above).
    pub code: u8,
    /// The message, without the `dbcreds: ` prefix.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message` (made one line).
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: one_line(&message.into()),
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// Any other error (exit code 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(OTHER, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<InvalidInput> for Failure {
    fn from(e: InvalidInput) -> Self {
        Self::usage(e.to_string())
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        from_error(&e)
    }
}

/// The exit code for a library error.
pub fn code_for(err: &Error) -> u8 {
    match err {
        Error::Invalid(_) | Error::EnvVar { .. } => USAGE,
        Error::AgentUnreachable { .. }
        | Error::AgentUnresponsive { .. }
        | Error::AgentConnectionLost { .. }
        | Error::AgentStart(_)
        | Error::ProtocolMismatch { .. } => AGENT_UNREACHABLE,
        Error::Agent { reason, .. } => code_for_reason(*reason),
        _ => OTHER,
    }
}

/// The exit code for a reason the agent gave.
pub fn code_for_reason(reason: Reason) -> u8 {
    match reason {
        Reason::Invalid => USAGE,
        Reason::NotFound => NOT_FOUND,
        Reason::AlreadyExists | Reason::AlreadyInitialized => ALREADY_EXISTS,
        Reason::Locked => LOCKED,
        Reason::NotInitialized => NOT_INITIALIZED,
        Reason::WrongPassphrase => WRONG_PASSPHRASE,
        Reason::VaultCorrupt => VAULT_CORRUPT,
        Reason::VaultTooNew => VAULT_TOO_NEW,
        Reason::KeyringUnavailable => KEYRING_UNAVAILABLE,
        Reason::PermissionDenied => PERMISSION_DENIED,
        Reason::Unreachable => DB_UNREACHABLE,
        Reason::LoginFailed => DB_LOGIN_FAILED,
        Reason::TlsFailed => DB_TLS_FAILED,
        Reason::Unsupported => DB_UNSUPPORTED,
        Reason::DatabaseError => DB_ERROR,
        Reason::RotationUnfinished => ROTATION_UNFINISHED,
        Reason::NoPassword => NO_PASSWORD,
        Reason::ApprovalRefused => PERMISSION_DENIED,
        Reason::SourceUnreachable => SOURCE_UNREACHABLE,
        Reason::SourceSealed => SOURCE_SEALED,
        Reason::SourceDenied => SOURCE_DENIED,
        Reason::SourceNotFound => SOURCE_NOT_FOUND,
        Reason::SourceLoginFailed => SOURCE_LOGIN_FAILED,
        Reason::AwsCredentials => AWS_CREDENTIALS,
        Reason::SourceFailed => SOURCE_FAILED,
        _ => OTHER,
    }
}

/// The exit code and the one-line message for a library error. The agent's
/// messages already say what to do; where one does not name the next step,
/// it is appended.
pub fn from_error(err: &Error) -> Failure {
    let code = code_for(err);
    let mut message = one_line(&err.to_string());
    if let Error::AgentStart(_) = err
        && let Some(hint) = agent_binary_hint()
    {
        message.push_str(": ");
        message.push_str(&hint);
    }
    let hint = match err.reason() {
        Some(Reason::Locked) if !message.contains("dbcreds unlock") => Some("run `dbcreds unlock`"),
        Some(Reason::NotInitialized) if !message.contains("dbcreds init") => {
            Some("run `dbcreds init`")
        }
        // A message that names a command already says what to do.
        Some(Reason::AlreadyExists)
            if !message.contains("--force") && !message.contains("`dbcreds ") =>
        {
            Some("use --force to replace it, or `dbcreds update` to change it")
        }
        Some(Reason::NotFound) if !message.contains("dbcreds ") => {
            Some("`dbcreds list` shows the environments there are")
        }
        _ => None,
    };
    if let Some(hint) = hint {
        if message.is_empty() {
            message = default_message(err.reason()).to_owned();
        }
        message.push_str(": ");
        message.push_str(hint);
    } else if message.is_empty() {
        message = default_message(err.reason()).to_owned();
    }
    Failure { code, message }
}

/// When the agent binary cannot be found, says where it is looked for.
fn agent_binary_hint() -> Option<String> {
    let bin = dbcreds::autostart::agent_binary();
    if std::env::var_os("DBCREDS_AGENT_BIN").is_some_and(|v| !v.is_empty()) {
        return (!bin.is_file()).then(|| {
            "DBCREDS_AGENT_BIN does not name a file: point it at the dbcreds-agent binary, or unset it"
                .to_owned()
        });
    }
    let found = if bin.components().count() > 1 {
        bin.is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(&bin).is_file()))
    };
    (!found).then(|| {
        "install dbcreds-agent next to dbcreds or on PATH, or set DBCREDS_AGENT_BIN to its path"
            .to_owned()
    })
}

fn default_message(reason: Option<Reason>) -> &'static str {
    match reason {
        Some(Reason::Locked) => "the vault is locked",
        Some(Reason::NotInitialized) => "there is no vault yet",
        Some(Reason::AlreadyExists) => "the environment exists already",
        Some(Reason::NotFound) => "no such environment",
        _ => "the agent refused without saying why (see its log)",
    }
}

/// Joins the lines of `s` into one, so every error is exactly one line on
/// stderr.
pub fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line for a clap parse error: the model's own message when a value
/// failed one of its parsers, else clap's message without its usage block.
pub fn clap_message(err: &clap::Error, verb: Option<&str>) -> String {
    use std::error::Error as _;
    if let Some(src) = err.source()
        && let Some(invalid) = src.downcast_ref::<InvalidInput>()
    {
        return invalid.to_string();
    }
    let text = err.render().to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line));
    }
    let mut msg = parts.join(" ");
    if msg.is_empty() {
        msg = "invalid arguments".into();
    }
    match verb {
        Some(v) => format!("{msg} (see `dbcreds {v} --help`)"),
        None => format!("{msg} (see `dbcreds --help`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn agent(reason: Reason, message: &str) -> Error {
        Error::Agent {
            reason,
            message: message.into(),
        }
    }

    #[test]
    fn every_reason_has_its_code() {
        let cases = [
            (Reason::Invalid, USAGE),
            (Reason::NotFound, NOT_FOUND),
            (Reason::AlreadyExists, ALREADY_EXISTS),
            (Reason::AlreadyInitialized, ALREADY_EXISTS),
            (Reason::Locked, LOCKED),
            (Reason::NotInitialized, NOT_INITIALIZED),
            (Reason::WrongPassphrase, WRONG_PASSPHRASE),
            (Reason::VaultCorrupt, VAULT_CORRUPT),
            (Reason::VaultTooNew, VAULT_TOO_NEW),
            (Reason::KeyringUnavailable, KEYRING_UNAVAILABLE),
            (Reason::PermissionDenied, PERMISSION_DENIED),
            (Reason::Internal, OTHER),
            (Reason::Unreachable, DB_UNREACHABLE),
            (Reason::LoginFailed, DB_LOGIN_FAILED),
            (Reason::TlsFailed, DB_TLS_FAILED),
            (Reason::Unsupported, DB_UNSUPPORTED),
            (Reason::DatabaseError, DB_ERROR),
            (Reason::RotationUnfinished, ROTATION_UNFINISHED),
            (Reason::NoPassword, NO_PASSWORD),
            (Reason::ApprovalRefused, PERMISSION_DENIED),
            // The client waits for it itself; it never reaches a user.
            (Reason::ApprovalPending, OTHER),
        ];
        for (reason, code) in cases {
            assert_eq!(code_for(&agent(reason, "x")), code, "{reason:?}");
        }
    }

    #[test]
    fn client_side_errors_have_their_codes() {
        let unreachable = Error::AgentUnreachable {
            socket: PathBuf::from("/nowhere"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(code_for(&unreachable), AGENT_UNREACHABLE);
        assert_eq!(
            code_for(&Error::AgentStart("no binary".into())),
            AGENT_UNREACHABLE
        );
        assert_eq!(
            code_for(&Error::ProtocolMismatch {
                agent: 2,
                client: 1
            }),
            AGENT_UNREACHABLE
        );
        assert_eq!(
            code_for(&Error::EnvVar {
                var: "DBCREDS_X_PORT".into(),
                why: "bad".into()
            }),
            USAGE
        );
        assert_eq!(
            code_for(&Error::Invalid(InvalidInput::Port("0".into()))),
            USAGE
        );
        assert_eq!(code_for(&Error::Protocol("garbage".into())), OTHER);
        let hung = Error::AgentUnresponsive {
            socket: PathBuf::from("/s"),
            pid: Some(42),
            waited: std::time::Duration::from_secs(4),
        };
        assert_eq!(code_for(&hung), AGENT_UNREACHABLE);
        let f = from_error(&hung);
        assert!(f.message.contains("pid 42"), "{}", f.message);
        assert!(f.message.contains("4s"), "{}", f.message);
        let lost = Error::AgentConnectionLost {
            socket: PathBuf::from("/s"),
            pid: None,
            detail: "connection closed".into(),
        };
        assert_eq!(code_for(&lost), AGENT_UNREACHABLE);
    }

    #[test]
    fn locked_message_names_the_fix() {
        let f = from_error(&agent(Reason::Locked, "the vault is locked"));
        assert_eq!(f.code, LOCKED);
        assert_eq!(f.message, "the vault is locked: run `dbcreds unlock`");
        let f = from_error(&agent(
            Reason::Locked,
            "the vault is locked: run `dbcreds unlock`",
        ));
        assert_eq!(f.message, "the vault is locked: run `dbcreds unlock`");
    }

    #[test]
    fn other_hints() {
        let f = from_error(&agent(Reason::AlreadyExists, "environment 'prod' exists"));
        assert_eq!(f.code, ALREADY_EXISTS);
        assert!(f.message.contains("--force"));
        assert!(f.message.contains("dbcreds update"));
        let f = from_error(&agent(
            Reason::AlreadyExists,
            "this vault has a passphrase unlocker already: change it with `dbcreds passphrase change`",
        ));
        assert!(!f.message.contains("--force"), "{}", f.message);
        let f = from_error(&agent(Reason::NotInitialized, ""));
        assert_eq!(f.code, NOT_INITIALIZED);
        assert_eq!(f.message, "there is no vault yet: run `dbcreds init`");
    }

    #[test]
    fn messages_are_one_line() {
        let f = from_error(&agent(Reason::Internal, "first\nsecond\r\n  third"));
        assert_eq!(f.message, "first second third");
        assert_eq!(Failure::usage("a\nb").message, "a b");
    }

    #[test]
    fn table_lists_every_code() {
        let codes = [
            OK,
            OTHER,
            USAGE,
            NOT_FOUND,
            LOCKED,
            ALREADY_EXISTS,
            AGENT_UNREACHABLE,
            VAULT_CORRUPT,
            VAULT_TOO_NEW,
            WRONG_PASSPHRASE,
            KEYRING_UNAVAILABLE,
            EXPIRED,
            NOT_INITIALIZED,
            PERMISSION_DENIED,
            NESTED,
            DB_UNREACHABLE,
            DB_LOGIN_FAILED,
            DB_TLS_FAILED,
            DB_UNSUPPORTED,
            DB_ERROR,
            ROTATION_UNFINISHED,
            NO_PASSWORD,
            SOURCE_UNREACHABLE,
            SOURCE_SEALED,
            SOURCE_DENIED,
            SOURCE_NOT_FOUND,
            SOURCE_LOGIN_FAILED,
            AWS_CREDENTIALS,
            SOURCE_FAILED,
            COMMAND_NOT_EXECUTABLE,
            COMMAND_NOT_FOUND,
        ];
        let listed: Vec<u8> = TABLE
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        assert_eq!(listed, codes);
        let row = |code: u8| {
            TABLE
                .lines()
                .find(|l| l.split_whitespace().next() == Some(code.to_string().as_str()))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(row(EXPIRED).contains("expired"));
        assert!(row(LOCKED).contains("locked"));
        assert!(row(AGENT_UNREACHABLE).contains("agent"));
        assert!(row(NOT_INITIALIZED).contains("init"));
    }

    #[test]
    fn help_prints_the_table() {
        use clap::CommandFactory;
        let help = crate::args::Cli::command()
            .get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(help.ends_with(TABLE), "{help}");
    }
}

//! Exit codes by name: the `dbcreds` CLI's table (`cli/src/exit.rs`, the
//! README's "Exit codes") and the agent's one code of its own. As `i32`, the
//! type of [`crate::Output::code`].

/// Success.
pub const OK: i32 = 0;
/// Any error without a code of its own (also: `doctor` found a problem).
pub const OTHER: i32 = 1;
/// Usage error or invalid input (name, kind, port, option, variable).
pub const USAGE: i32 = 2;
/// No environment of that name.
pub const NOT_FOUND: i32 = 3;
/// The vault is locked.
pub const LOCKED: i32 = 4;
/// The environment (or the vault, on `init`) exists already.
pub const ALREADY_EXISTS: i32 = 5;
/// No agent answers, it could not be started, or it speaks another protocol.
pub const AGENT_UNREACHABLE: i32 = 6;
/// The vault file is damaged or not a vault.
pub const VAULT_CORRUPT: i32 = 7;
/// The vault was written by a newer dbcreds.
pub const VAULT_TOO_NEW: i32 = 8;
/// The passphrase did not open the vault.
pub const WRONG_PASSPHRASE: i32 = 9;
/// The OS keyring did not answer, is locked, or lacks the key.
pub const KEYRING_UNAVAILABLE: i32 = 10;
/// The password has expired (`--require-fresh`; `check`: any expired).
pub const EXPIRED: i32 = 11;
/// There is no vault yet.
pub const NOT_INITIALIZED: i32 = 12;
/// The agent refused the caller: another user, a program the policy does
/// not allow, a confirmation refused or not answered in time.
pub const PERMISSION_DENIED: i32 = 13;
/// `exec` inside `dbcreds exec` of another environment without `--force`.
pub const NESTED: i32 = 14;
/// `test`/`rotate`: the database server did not answer.
pub const DB_UNREACHABLE: i32 = 15;
/// `test`/`rotate`: the database server refused the login.
pub const DB_LOGIN_FAILED: i32 = 16;
/// `test`/`rotate`: TLS with the database server failed.
pub const DB_TLS_FAILED: i32 = 17;
/// `test`/`rotate`: no driver for the kind, or not applicable to it.
pub const DB_UNSUPPORTED: i32 = 18;
/// `test`/`rotate`: the database server answered with an error.
pub const DB_ERROR: i32 = 19;
/// `rotate`: a rotation of the environment is unfinished.
pub const ROTATION_UNFINISHED: i32 = 20;
/// No password to hand out (`--auth cert|none`, or never set).
pub const NO_PASSWORD: i32 = 21;
/// The environment's source did not answer.
pub const SOURCE_UNREACHABLE: i32 = 22;
/// The OpenBao/Vault source is sealed.
pub const SOURCE_SEALED: i32 = 23;
/// The source's policy does not allow the path.
pub const SOURCE_DENIED: i32 = 24;
/// The source has no such secret or role.
pub const SOURCE_NOT_FOUND: i32 = 25;
/// The source refused the agent's login.
pub const SOURCE_LOGIN_FAILED: i32 = 26;
/// No usable AWS credentials.
pub const AWS_CREDENTIALS: i32 = 27;
/// pass, gpg or the password command failed.
pub const SOURCE_FAILED: i32 = 28;
/// `exec`: the command exists but cannot be run.
pub const COMMAND_NOT_EXECUTABLE: i32 = 126;
/// `exec`: no such command.
pub const COMMAND_NOT_FOUND: i32 = 127;

/// `dbcreds-agent`: it cannot start because another agent serves the socket
/// or holds the vault (the CLI's "agent" code; `daemon/src/run.rs` `exit`).
pub const AGENT_CANNOT_START: i32 = AGENT_UNREACHABLE;

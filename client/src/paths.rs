//! Where things live: the data directory (vault, agent log) and the agent's
//! socket. One function each, used by the agent, the CLI and applications, so
//! they always agree.
//!
//! - `DBCREDS_HOME` overrides the whole data directory; with it set the
//!   socket moves into it too, so two homes (two test runs, two profiles)
//!   never share an agent.
//! - `DBCREDS_SOCK` overrides the socket everywhere, then the config's
//!   `socket` key: one resolver ([`resolve_socket`]) for every caller.

use std::path::{Path, PathBuf};

/// Name of the socket file inside its directory.
pub const SOCKET_FILE: &str = "agent.sock";
/// Name of the vault file inside the data directory.
pub const VAULT_FILE: &str = "vault.db";

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The data directory: `$DBCREDS_HOME`, else `$XDG_DATA_HOME/dbcreds`, else
/// the platform's data directory (`~/.local/share/dbcreds` on Linux).
///
/// ```
/// // SAFETY (test): no other thread reads the environment here.
/// unsafe { std::env::set_var("DBCREDS_HOME", "/tmp/x") };
/// assert_eq!(dbcreds::paths::home(), std::path::PathBuf::from("/tmp/x"));
/// ```
pub fn home() -> PathBuf {
    env_path("DBCREDS_HOME")
        .or_else(|| env_path("XDG_DATA_HOME").map(|d| d.join("dbcreds")))
        .or_else(|| dirs::data_dir().map(|d| d.join("dbcreds")))
        .unwrap_or_else(|| PathBuf::from(".dbcreds"))
}

/// The vault file inside [`home`].
pub fn vault() -> PathBuf {
    home().join(VAULT_FILE)
}

/// The agent's socket, as every caller (CLI, applications, the agent
/// itself) finds it: [`resolve_socket`] with no flag and the config's
/// `socket` key.
///
/// ```
/// unsafe { std::env::set_var("DBCREDS_SOCK", "/tmp/s.sock") };
/// assert_eq!(dbcreds::paths::socket(), std::path::PathBuf::from("/tmp/s.sock"));
/// ```
pub fn socket() -> PathBuf {
    resolve_socket(None, configured_socket().as_deref())
}

/// The one rule for where the socket is: `flag` (the agent's `--socket`);
/// else `$DBCREDS_SOCK`; else the config file's `socket` key (`config`);
/// else `$DBCREDS_HOME/agent.sock` when `DBCREDS_HOME` is set; else
/// `$XDG_RUNTIME_DIR/dbcreds/agent.sock`; else `/tmp/dbcreds-$UID/agent.sock`
/// (macOS: under `$TMPDIR`); on Windows the named pipe
/// `\\.\pipe\dbcreds-agent-<user>`.
///
/// ```
/// use std::path::{Path, PathBuf};
/// unsafe { std::env::remove_var("DBCREDS_SOCK") };
/// let cfg = Some(Path::new("/run/cfg.sock"));
/// assert_eq!(dbcreds::paths::resolve_socket(None, cfg), PathBuf::from("/run/cfg.sock"));
/// assert_eq!(
///     dbcreds::paths::resolve_socket(Some(Path::new("/flag.sock")), cfg),
///     PathBuf::from("/flag.sock")
/// );
/// ```
pub fn resolve_socket(flag: Option<&Path>, config: Option<&Path>) -> PathBuf {
    if let Some(p) = flag.filter(|p| !p.as_os_str().is_empty()) {
        return p.to_owned();
    }
    if let Some(p) = env_path("DBCREDS_SOCK") {
        return p;
    }
    if let Some(p) = config.filter(|p| !p.as_os_str().is_empty()) {
        return p.to_owned();
    }
    if let Some(h) = env_path("DBCREDS_HOME") {
        return h.join(SOCKET_FILE);
    }
    default_socket()
}

/// The config file's `socket` key, read only when `DBCREDS_SOCK` does not
/// decide already (so `dbcreds get` reads no file in that case). A config
/// file that cannot be read or parsed is skipped here: every command that
/// loads the whole config ([`crate::config::Config::load`]), and the agent,
/// report it.
fn configured_socket() -> Option<PathBuf> {
    if env_path("DBCREDS_SOCK").is_some() {
        return None;
    }
    crate::config::Config::from_file(&crate::config::path())
        .ok()
        .and_then(|c| c.socket)
}

#[cfg(unix)]
fn default_socket() -> PathBuf {
    if let Some(run) = env_path("XDG_RUNTIME_DIR") {
        return run.join("dbcreds").join(SOCKET_FILE);
    }
    let uid = rustix::process::getuid().as_raw();
    let base = if cfg!(target_os = "macos") {
        std::env::temp_dir()
    } else {
        PathBuf::from("/tmp")
    };
    base.join(format!("dbcreds-{uid}")).join(SOCKET_FILE)
}

#[cfg(windows)]
fn default_socket() -> PathBuf {
    let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".into());
    PathBuf::from(format!(r"\\.\pipe\dbcreds-agent-{user}"))
}

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

/// Set by [`avoid_nss`].
static AVOID_NSS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For a statically linked program (the `dbcreds` CLI is static-pie on
/// x86_64 Linux glibc): from now on the home directory comes from `$HOME`,
/// else from the user's line in `/etc/passwd`, else it is unknown (the
/// paths fall back to `.local/share/dbcreds` and `.config` relative to the
/// working directory), and never from glibc's `getpwuid`. In a static
/// binary that call loads the NSS modules `nsswitch.conf` names
/// (`systemd`, `sss`, `ldap`) with `dlopen`, which brings in the shared
/// libc beside the static one: the process dies of SIGSEGV (seen with
/// `libnss_systemd` for a user not in `/etc/passwd`). With `$HOME` set,
/// as in every login session, nothing is looked up at all.
pub fn avoid_nss() {
    AVOID_NSS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `$HOME`, else, after [`avoid_nss`], the user's line in `/etc/passwd`
/// only; `None` when that does not tell either.
#[cfg(all(unix, not(target_os = "macos")))]
fn home_without_nss() -> Option<PathBuf> {
    if let Some(h) = env_path("HOME") {
        return Some(h);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_home(&passwd, rustix::process::getuid().as_raw())
}

/// The home directory of `uid` in the text of an `/etc/passwd`
/// (`name:password:uid:gid:gecos:home:shell` lines).
///
#[cfg(all(unix, not(target_os = "macos")))]
fn passwd_home(passwd: &str, uid: u32) -> Option<PathBuf> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && f[2].parse::<u32>().ok() == Some(uid) && !f[5].is_empty())
            .then(|| PathBuf::from(f[5]))
    })
}

/// The platform's data directory (`dirs::data_dir`), without NSS after
/// [`avoid_nss`].
fn data_dir() -> Option<PathBuf> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if AVOID_NSS.load(std::sync::atomic::Ordering::Relaxed) {
        return env_path("XDG_DATA_HOME")
            .or_else(|| home_without_nss().map(|h| h.join(".local").join("share")));
    }
    dirs::data_dir()
}

/// The platform's config directory (`dirs::config_dir`), without NSS
/// after [`avoid_nss`].
pub(crate) fn config_dir() -> Option<PathBuf> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if AVOID_NSS.load(std::sync::atomic::Ordering::Relaxed) {
        return env_path("XDG_CONFIG_HOME")
            .or_else(|| home_without_nss().map(|h| h.join(".config")));
    }
    dirs::config_dir()
}

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
        .or_else(|| data_dir().map(|d| d.join("dbcreds")))
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

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;

    #[test]
    fn passwd_home_finds_the_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      # a comment\n\
                      broken line\n\
                      nohome:x:1001:1001::: /bin/sh\n\
                      dev:x:1000:1000:Dev,,,:/home/dev:/bin/bash\n";
        assert_eq!(passwd_home(passwd, 0), Some(PathBuf::from("/root")));
        assert_eq!(passwd_home(passwd, 1000), Some(PathBuf::from("/home/dev")));
        assert_eq!(passwd_home(passwd, 1001), None);
        assert_eq!(passwd_home(passwd, 4242), None);
    }
}

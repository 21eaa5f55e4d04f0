//! The configuration file, `~/.config/dbcreds/config.toml`
//! (`$XDG_CONFIG_HOME/dbcreds/config.toml`; `DBCREDS_CONFIG` names another
//! file). Every key is optional; a `DBCREDS_*` variable overrides its key,
//! and a command-line flag overrides both. An unknown key is an error that
//! names it, so a typo never silently does nothing.
//!
//! ```toml
//! # Socket the agent listens on and clients dial (DBCREDS_SOCK).
//! socket = "/run/user/1000/dbcreds/agent.sock"
//! # Lock after this long without a request that touches a secret
//! # (DBCREDS_LOCK_AFTER; default 1h). "never" or "0" disables it.
//! lock_after = "8h"
//! # Lock this long after an unlock, however busy (DBCREDS_MAX_UNLOCKED;
//! # default 12h). "never" or "0" disables it.
//! max_unlocked = "12h"
//! # Days a new password stays fresh; "never" for no expiry
//! # (DBCREDS_DEFAULT_EXPIRES_DAYS).
//! default_expires_days = 90
//! # Unlocker `dbcreds init` prefers: auto, keyring or passphrase
//! # (DBCREDS_UNLOCKER).
//! unlocker = "auto"
//! # How long one OS keyring call may take (DBCREDS_KEYRING_TIMEOUT).
//! keyring_timeout = "10s"
//! # How long a client waits to reach the agent (DBCREDS_AGENT_CONNECT_TIMEOUT).
//! agent_connect_timeout = "2s"
//! # How long a client waits for a quick request: status, list, show...
//! # (DBCREDS_AGENT_TIMEOUT). Requests that may wait on the keyring get
//! # keyring_timeout + 20s; test and rotate 10 minutes.
//! agent_timeout = "5s"
//! # The program the agent asks confirmations with, run like `ssh-add -c`
//! # runs SSH_ASKPASS (DBCREDS_ASKPASS; else SSH_ASKPASS; docs/security.md).
//! askpass = "/usr/bin/ssh-askpass"
//! # How long the agent waits for a confirmation before refusing
//! # (DBCREDS_APPROVAL_TIMEOUT; default 60s).
//! approval_timeout = "60s"
//! # How long the agent keeps a secret from a source that gives it no
//! # lifetime (KV, AWS Secrets Manager) before fetching it again
//! # (DBCREDS_SOURCE_CACHE_TTL; default 5m; docs/team.md).
//! source_cache_ttl = "5m"
//! # Whether lock and shutdown revoke the leases the agent holds (default true).
//! revoke_on_lock = true
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::unlocker::InitUnlocker;

/// A bad configuration file or variable; the message names the file or
/// variable, the key, and what is accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a bad value.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's words (they name the key and line).
        message: String,
    },
    /// A `DBCREDS_*` variable has a bad value.
    #[error("{var}={value}: {why}")]
    Var {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is accepted.
        why: &'static str,
    },
}

/// A duration that may be switched off ("never", "0", "off").
///
/// ```
/// use dbcreds::config::Limit;
/// assert_eq!("8h".parse::<Limit>().unwrap(), Limit::After(std::time::Duration::from_secs(8 * 3600)));
/// assert_eq!("never".parse::<Limit>().unwrap(), Limit::Never);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Limit {
    /// No limit.
    #[default]
    Never,
    /// Lock after this long.
    After(Duration),
}

impl Limit {
    /// The duration, if any.
    pub fn duration(self) -> Option<Duration> {
        match self {
            Self::Never => None,
            Self::After(d) => Some(d),
        }
    }
}

impl std::str::FromStr for Limit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "never" | "off" | "0" | "" => Ok(Self::Never),
            other => match humantime::parse_duration(other) {
                Ok(d) if d.is_zero() => Ok(Self::Never),
                Ok(d) => Ok(Self::After(d)),
                Err(e) => Err(format!(
                    "'{other}' is not a duration ({e}): use for example 30m, 8h, 2d, or never"
                )),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A bound on a wait: a duration above zero (`"never"` is not one).
///
/// ```
/// use dbcreds::config::Timeout;
/// assert_eq!("2s".parse::<Timeout>().unwrap().0, std::time::Duration::from_secs(2));
/// assert!("never".parse::<Timeout>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub Duration);

/// Parses a [`Timeout`]; the error says what is accepted.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "'{s}' is not a timeout: use a duration above zero, for example 500ms, 5s or 1m"
        )),
    }
}

impl std::str::FromStr for Timeout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_timeout(s).map(Self)
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Days before a password expires, or never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiresDays(pub Option<u32>);

impl Default for ExpiresDays {
    fn default() -> Self {
        Self(Some(crate::model::DEFAULT_EXPIRES_DAYS))
    }
}

impl std::str::FromStr for ExpiresDays {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "never" => Ok(Self(None)),
            // "0", and "00" or "+0" too: no expiry, as the number 0 in the file.
            n => n
                .parse::<u32>()
                .map(|d| Self((d > 0).then_some(d)))
                .map_err(|_| {
                    format!("'{n}' is not a number of days: use for example 90, or never")
                }),
        }
    }
}

impl<'de> Deserialize<'de> for ExpiresDays {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(0) => Ok(Self(None)),
            Raw::N(n) => Ok(Self(Some(n))),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The idle lock when nothing sets one: as rbw's default, so a vault
/// left alone does not stay decrypted until logout.
pub const DEFAULT_LOCK_AFTER: Duration = Duration::from_secs(3600);

/// The hard cap when nothing sets one: a working day and then some.
pub const DEFAULT_MAX_UNLOCKED: Duration = Duration::from_secs(12 * 3600);

/// Settings after file, variables and defaults are combined.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// Socket path (else the discovered default).
    pub socket: Option<PathBuf>,
    /// Idle lock.
    pub lock_after: Limit,
    /// Hard cap on how long the vault stays unlocked.
    pub max_unlocked: Limit,
    /// Expiry policy for new environments.
    pub default_expires_days: ExpiresDays,
    /// Preferred unlocker for `init`.
    pub unlocker: Option<InitUnlocker>,
    /// Bound on one keyring call.
    pub keyring_timeout: Option<Limit>,
    /// Bound on reaching the agent ([`crate::transport::Timeouts`]).
    pub agent_connect_timeout: Option<Timeout>,
    /// Bound on a quick request to the agent.
    pub agent_timeout: Option<Timeout>,
    /// The agent's askpass program for confirmations.
    pub askpass: Option<PathBuf>,
    /// How long the agent waits for a confirmation.
    pub approval_timeout: Option<Timeout>,
    /// How long the agent keeps a secret fetched from a source that gives
    /// no lifetime of its own (KV secrets, AWS Secrets Manager) before it
    /// fetches it again; 5 minutes when unset.
    pub source_cache_ttl: Option<Timeout>,
    /// Whether `lock` (and shutdown) revokes the leases the agent holds
    /// (dynamic database users); true when unset.
    pub revoke_on_lock: Option<bool>,
}

/// Every key at its default: the idle lock and the hard cap on
/// ([`DEFAULT_LOCK_AFTER`], [`DEFAULT_MAX_UNLOCKED`]), everything else unset.
///
/// ```
/// use dbcreds::config::{Config, Limit, DEFAULT_LOCK_AFTER};
/// assert_eq!(Config::default().lock_after, Limit::After(DEFAULT_LOCK_AFTER));
/// ```
impl Default for Config {
    fn default() -> Self {
        Self {
            socket: None,
            lock_after: Limit::After(DEFAULT_LOCK_AFTER),
            max_unlocked: Limit::After(DEFAULT_MAX_UNLOCKED),
            default_expires_days: ExpiresDays::default(),
            unlocker: None,
            keyring_timeout: None,
            agent_connect_timeout: None,
            agent_timeout: None,
            askpass: None,
            approval_timeout: None,
            source_cache_ttl: None,
            revoke_on_lock: None,
        }
    }
}

/// The configuration file's path.
///
/// ```
/// unsafe { std::env::set_var("DBCREDS_CONFIG", "/etc/x.toml") };
/// assert_eq!(dbcreds::config::path(), std::path::PathBuf::from("/etc/x.toml"));
/// ```
pub fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("DBCREDS_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(crate::paths::config_dir)
        .unwrap_or_else(|| PathBuf::from(".config"))
        .join("dbcreds")
        .join("config.toml")
}

impl Config {
    /// Reads [`path`] (a missing file is an empty config), then applies
    /// `DBCREDS_*` overrides.
    pub fn load() -> Result<Self, ConfigError> {
        let mut cfg = Self::from_file(&path())?;
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// Parses one file; a missing file is the default config.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let p = dir.path().join("c.toml");
    /// std::fs::write(&p, "lock_afterr = \"1h\"").unwrap();
    /// let err = dbcreds::config::Config::from_file(&p).unwrap_err();
    /// assert!(err.to_string().contains("lock_afterr"));
    /// ```
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned()
                + &e.span()
                    .map(|s| format!(" (at line {})", text[..s.start].lines().count().max(1)))
                    .unwrap_or_default(),
        })
    }

    /// Applies `DBCREDS_SOCK`, `DBCREDS_LOCK_AFTER`, `DBCREDS_MAX_UNLOCKED`,
    /// `DBCREDS_DEFAULT_EXPIRES_DAYS`, `DBCREDS_UNLOCKER`,
    /// `DBCREDS_KEYRING_TIMEOUT`, `DBCREDS_AGENT_CONNECT_TIMEOUT`,
    /// `DBCREDS_AGENT_TIMEOUT`, `DBCREDS_ASKPASS` and
    /// `DBCREDS_APPROVAL_TIMEOUT` from `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr<Err = String>>(
            var: &'static str,
            value: String,
        ) -> Result<T, ConfigError> {
            value.parse().map_err(|_| ConfigError::Var {
                var,
                value,
                why: "not a valid value; see `dbcreds doctor` and the config documentation",
            })
        }
        if let Some(v) = var("DBCREDS_SOCK").filter(|v| !v.is_empty()) {
            self.socket = Some(v.into());
        }
        if let Some(v) = var("DBCREDS_LOCK_AFTER") {
            self.lock_after = parse("DBCREDS_LOCK_AFTER", v)?;
        }
        if let Some(v) = var("DBCREDS_MAX_UNLOCKED") {
            self.max_unlocked = parse("DBCREDS_MAX_UNLOCKED", v)?;
        }
        if let Some(v) = var("DBCREDS_DEFAULT_EXPIRES_DAYS") {
            self.default_expires_days = parse("DBCREDS_DEFAULT_EXPIRES_DAYS", v)?;
        }
        if let Some(v) = var("DBCREDS_UNLOCKER") {
            // An empty value means "auto" on the wire, but in a variable it
            // is more likely a mistake than a choice.
            match v.parse() {
                Ok(u) if !v.is_empty() => self.unlocker = Some(u),
                _ => {
                    return Err(ConfigError::Var {
                        var: "DBCREDS_UNLOCKER",
                        value: v,
                        why: "use auto, keyring or passphrase",
                    });
                }
            }
        }
        if let Some(v) = var("DBCREDS_KEYRING_TIMEOUT") {
            self.keyring_timeout = Some(parse("DBCREDS_KEYRING_TIMEOUT", v)?);
        }
        if let Some(v) = var("DBCREDS_AGENT_CONNECT_TIMEOUT").filter(|v| !v.is_empty()) {
            self.agent_connect_timeout = Some(parse("DBCREDS_AGENT_CONNECT_TIMEOUT", v)?);
        }
        if let Some(v) = var("DBCREDS_AGENT_TIMEOUT").filter(|v| !v.is_empty()) {
            self.agent_timeout = Some(parse("DBCREDS_AGENT_TIMEOUT", v)?);
        }
        if let Some(v) = var("DBCREDS_ASKPASS").filter(|v| !v.is_empty()) {
            self.askpass = Some(v.into());
        }
        if let Some(v) = var("DBCREDS_APPROVAL_TIMEOUT").filter(|v| !v.is_empty()) {
            self.approval_timeout = Some(parse("DBCREDS_APPROVAL_TIMEOUT", v)?);
        }
        if let Some(v) = var("DBCREDS_SOURCE_CACHE_TTL").filter(|v| !v.is_empty()) {
            self.source_cache_ttl = Some(parse("DBCREDS_SOURCE_CACHE_TTL", v)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses() {
        let cfg: Config = toml::from_str(
            r#"
            socket = "/tmp/s"
            lock_after = "8h"
            max_unlocked = "never"
            default_expires_days = "never"
            unlocker = "passphrase"
            keyring_timeout = "3s"
            agent_connect_timeout = "1s"
            agent_timeout = "4s"
            askpass = "/usr/bin/ssh-askpass"
            approval_timeout = "30s"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.lock_after, Limit::After(Duration::from_secs(8 * 3600)));
        assert_eq!(cfg.max_unlocked, Limit::Never);
        assert_eq!(cfg.default_expires_days, ExpiresDays(None));
        assert_eq!(
            cfg.keyring_timeout,
            Some(Limit::After(Duration::from_secs(3)))
        );
        assert_eq!(
            cfg.unlocker,
            Some(InitUnlocker::Only(crate::Unlocker::Passphrase))
        );
        assert_eq!(cfg.agent_timeout, Some(Timeout(Duration::from_secs(4))));
        assert_eq!(
            cfg.agent_connect_timeout,
            Some(Timeout(Duration::from_secs(1)))
        );
        assert_eq!(cfg.askpass, Some(PathBuf::from("/usr/bin/ssh-askpass")));
        assert_eq!(cfg.approval_timeout, Some(Timeout(Duration::from_secs(30))));
        assert!(toml::from_str::<Config>("agent_timeout = \"0\"").is_err());
    }

    #[test]
    fn unlocker_is_checked_in_file_and_variable() {
        let err = toml::from_str::<Config>("unlocker = \"usb\"").unwrap_err();
        assert!(err.message().contains("usb"), "{}", err.message());
        let mut cfg = Config::default();
        cfg.apply_env(|k| (k == "DBCREDS_UNLOCKER").then(|| "auto".to_string()))
            .unwrap();
        assert_eq!(cfg.unlocker, Some(InitUnlocker::Auto));
        for bad in ["", "usb"] {
            let err = cfg
                .apply_env(|k| (k == "DBCREDS_UNLOCKER").then(|| bad.to_string()))
                .unwrap_err();
            assert!(err.to_string().contains("DBCREDS_UNLOCKER"), "{err}");
        }
    }

    #[test]
    fn the_locks_are_on_by_default_and_never_turns_them_off() {
        let cfg: Config = toml::from_str("").unwrap();
        assert_eq!(cfg.lock_after, Limit::After(DEFAULT_LOCK_AFTER));
        assert_eq!(cfg.max_unlocked, Limit::After(DEFAULT_MAX_UNLOCKED));
        let cfg: Config = toml::from_str("lock_after = \"never\"").unwrap();
        assert_eq!(cfg.lock_after, Limit::Never);
        assert_eq!(cfg.max_unlocked, Limit::After(DEFAULT_MAX_UNLOCKED));
        let mut cfg = Config::default();
        cfg.apply_env(|k| (k == "DBCREDS_MAX_UNLOCKED").then(|| "0".to_string()))
            .unwrap();
        assert_eq!(cfg.max_unlocked, Limit::Never);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = toml::from_str::<Config>("lockafter = \"1h\"").unwrap_err();
        assert!(err.message().contains("lockafter"), "{}", err.message());
    }

    #[test]
    fn env_overrides_file() {
        let mut cfg: Config = toml::from_str("lock_after = \"8h\"").unwrap();
        cfg.apply_env(|k| (k == "DBCREDS_LOCK_AFTER").then(|| "2s".to_string()))
            .unwrap();
        assert_eq!(cfg.lock_after, Limit::After(Duration::from_secs(2)));
        let bad = cfg.apply_env(|k| (k == "DBCREDS_LOCK_AFTER").then(|| "soon".to_string()));
        assert!(bad.unwrap_err().to_string().contains("DBCREDS_LOCK_AFTER"));
    }
}

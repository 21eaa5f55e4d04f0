//! Environments defined by `DBCREDS_<ENV>_*` variables, for CI jobs and
//! containers that have no agent and no keyring.
//!
//! The rule, in full:
//!
//! - Any field can be set: `_KIND`, `_HOST`, `_PORT`, `_DATABASE`,
//!   `_USERNAME` (or `_USER`), `_PASSWORD`, `_AUTH` (`password`, `none`,
//!   `cert`), `_EXPIRES_AT` (RFC 3339), `_PRODUCTION` (`true`/`false`), and
//!   any option as `_OPT_<KEY>` (`DBCREDS_PROD_OPT_SSLMODE=verify-full`; the
//!   key is read in lower case).
//! - A **complete** definition is used as it is, and no agent is asked: a
//!   server needs `_HOST`, `_DATABASE`, `_USERNAME` and, unless `_AUTH` says
//!   `none` or `cert`, `_PASSWORD`; a SQLite file needs `_DATABASE`. `_KIND`
//!   defaults to postgres, `_PORT` to the kind's port; without
//!   `_EXPIRES_AT` the password never expires.
//! - A **partial** one overlays the vault's environment of that name field
//!   by field (`DBCREDS_PROD_HOST=replica` alone sends `prod` elsewhere).
//!   When the vault has no such environment (or there is no vault, or no
//!   agent), it is an error that names the variables still missing.
//!
//! `<ENV>` is the name upper-cased with `-` as `_`, so two names could
//! share one set (`eu-prod`, `eu_prod`); the agent refuses the second of
//! such a pair, and inside `dbcreds exec eu-prod` (`DBCREDS_ENV=eu-prod`)
//! the variables are eu-prod's alone: a lookup of `eu_prod` skips them and
//! asks the agent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::error::{Error, Reason, Result};
use crate::model::{Auth, Credential, DatabaseKind, EnvName, Environment, parse_port};

/// The variable that names the environment a process runs in, set by
/// `dbcreds exec`.
pub const CURRENT_ENV: &str = "DBCREDS_ENV";

/// Every `DBCREDS_<ENV>_<SUFFIX>` this module reads, besides the options'
/// `_OPT_<KEY>`.
pub const SUFFIXES: [&str; 10] = [
    "KIND",
    "HOST",
    "PORT",
    "DATABASE",
    "USERNAME",
    "USER",
    "PASSWORD",
    "AUTH",
    "EXPIRES_AT",
    "PRODUCTION",
];

/// The prefix of an option's variable suffix.
pub const OPTION_PREFIX: &str = "OPT_";

/// The variable suffix for option `key` (`sslmode` → `OPT_SSLMODE`;
/// `ssl-ca` → `OPT_SSL_CA`), or `None` for a key no variable name can
/// carry.
///
/// ```
/// assert_eq!(dbcreds::envvars::option_suffix("ssl-ca").as_deref(), Some("OPT_SSL_CA"));
/// assert_eq!(dbcreds::envvars::option_suffix("a.b"), None);
/// ```
pub fn option_suffix(key: &str) -> Option<String> {
    key.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        .then(|| {
            format!(
                "{OPTION_PREFIX}{}",
                key.to_ascii_uppercase().replace('-', "_")
            )
        })
}

/// `DBCREDS_<ENV>_EXPIRES_AT` for `at`, as `dbcreds exec` sets it (RFC
/// 3339, UTC, whole seconds), so `--require-fresh` inside honours the
/// vault's expiry.
///
/// ```
/// use chrono::TimeZone;
/// let at = chrono::Utc.with_ymd_and_hms(2026, 4, 1, 12, 0, 0).unwrap();
/// assert_eq!(dbcreds::envvars::expires_at_value(at), "2026-04-01T12:00:00Z");
/// ```
pub fn expires_at_value(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The `DBCREDS_<ENV>_*` variables set for one environment.
#[derive(Clone)]
pub struct Vars {
    name: EnvName,
    stem: String,
    /// Suffix (`HOST`, `OPT_SSLMODE`) to value.
    set: BTreeMap<String, String>,
}

/// Where an environment comes from, by the rule above.
// Made once per call and consumed at once: boxing the large variant would
// buy nothing but an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// The variables define it completely.
    Vars(Box<Credential>),
    /// The agent's vault, with the variables (if any) laid over it.
    Agent(Option<Vars>),
}

/// Where `name` comes from in this process's environment.
///
/// ```
/// let name = dbcreds::EnvName::parse("nowhere-at-all").unwrap();
/// assert!(matches!(dbcreds::envvars::source(&name).unwrap(), dbcreds::envvars::Source::Agent(None)));
/// ```
pub fn source(name: &EnvName) -> Result<Source> {
    source_from(name, std::env::vars())
}

/// [`source`] over any set of variables (tests, a parsed `.env` file).
pub fn source_from(
    name: &EnvName,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Source> {
    let Some(v) = Vars::read(name, vars) else {
        return Ok(Source::Agent(None));
    };
    Ok(match v.complete()? {
        Some(cred) => Source::Vars(Box::new(cred)),
        None => Source::Agent(Some(v)),
    })
}

/// The credential the variables define completely, or `None` (no
/// variables, or only some: then the agent's vault is needed, see
/// [`source`]).
///
/// ```
/// use secrecy::ExposeSecret;
/// let name = dbcreds::EnvName::parse("ci").unwrap();
/// let vars = [("DBCREDS_CI_PASSWORD", "pw"), ("DBCREDS_CI_HOST", "db"),
///             ("DBCREDS_CI_DATABASE", "app"), ("DBCREDS_CI_USERNAME", "app")]
///     .map(|(k, v)| (k.to_string(), v.to_string()));
/// let cred = dbcreds::envvars::lookup_in(&name, vars).unwrap().unwrap();
/// assert_eq!(cred.password().expose_secret(), "pw");
/// assert_eq!(cred.environment().port, 5432);
/// ```
pub fn lookup_in(
    name: &EnvName,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Option<Credential>> {
    match source_from(name, vars)? {
        Source::Vars(c) => Ok(Some(*c)),
        Source::Agent(_) => Ok(None),
    }
}

/// The credential for `name` once the agent answered `fetched`: the
/// agent's, with `overlay`'s variables laid over it. When the vault has no
/// such environment (or there is none) a partial definition is an error
/// naming the variables still missing.
pub fn finish(overlay: Option<&Vars>, fetched: Result<Credential>) -> Result<Credential> {
    let Some(v) = overlay else {
        return fetched;
    };
    match fetched {
        Ok(base) => v.overlay(base),
        Err(e) if v.vault_lacks_it(&e) => Err(v.incomplete()),
        Err(e) => Err(e),
    }
}

impl Vars {
    /// The variables of `name` among `vars`; `None` when none is set, or
    /// when `DBCREDS_ENV` names another environment with the same
    /// variables (they are that one's).
    pub fn read(name: &EnvName, vars: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let stem = format!("DBCREDS_{}_", name.env_var_stem());
        let mut set = BTreeMap::new();
        let mut current = None;
        for (k, v) in vars {
            if k == CURRENT_ENV {
                current = EnvName::parse(&v).ok();
            } else if let Some(suffix) = k.strip_prefix(&stem)
                && (SUFFIXES.contains(&suffix) || suffix.starts_with(OPTION_PREFIX))
            {
                set.insert(suffix.to_owned(), v);
            }
        }
        if set.is_empty() || current.is_some_and(|c| c.shares_variables_with(name)) {
            return None;
        }
        Some(Self {
            name: name.clone(),
            stem,
            set,
        })
    }

    fn get(&self, suffix: &str) -> Option<&str> {
        self.set.get(suffix).map(String::as_str)
    }

    fn var(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.stem)
    }

    fn bad(&self, suffix: &str, why: impl Into<String>) -> Error {
        Error::EnvVar {
            var: self.var(suffix),
            why: why.into(),
        }
    }

    fn username(&self) -> Option<&str> {
        self.get("USERNAME").or_else(|| self.get("USER"))
    }

    fn kind(&self) -> Result<Option<DatabaseKind>> {
        self.get("KIND")
            .map(|k| {
                k.parse()
                    .map_err(|e: crate::InvalidInput| self.bad("KIND", e.to_string()))
            })
            .transpose()
    }

    fn auth(&self) -> Result<Option<Auth>> {
        self.get("AUTH")
            .map(|a| {
                a.parse()
                    .map_err(|e: crate::InvalidInput| self.bad("AUTH", e.to_string()))
            })
            .transpose()
    }

    /// The variables a complete definition still needs, by name.
    pub fn missing(&self) -> Result<Vec<String>> {
        let kind = self.kind()?.unwrap_or(DatabaseKind::Postgres);
        let mut need = vec!["DATABASE"];
        if kind.has_server() {
            need.extend(["HOST", "USERNAME"]);
            let auth = self.auth()?.unwrap_or(Auth::Password);
            if auth.uses_password() {
                need.push("PASSWORD");
            }
        }
        Ok(need
            .into_iter()
            .filter(|s| match *s {
                "USERNAME" => self.username().is_none(),
                s => self.get(s).is_none(),
            })
            .map(|s| self.var(s))
            .collect())
    }

    /// The credential, when the variables define it completely.
    pub fn complete(&self) -> Result<Option<Credential>> {
        if !self.missing()?.is_empty() {
            return Ok(None);
        }
        let kind = self.kind()?.unwrap_or(DatabaseKind::Postgres);
        let mut env = Environment::new(self.name.clone(), kind);
        // Variables carry no expiry policy; `_EXPIRES_AT` alone sets one.
        env.expires_days = None;
        env.host.clear();
        let password = SecretString::from(String::new());
        self.overlay(Credential::new(env, password)).map(Some)
    }

    /// `base` with every variable that is set laid over it.
    pub fn overlay(&self, base: Credential) -> Result<Credential> {
        let mut env = base.environment().clone();
        let mut password = base.password().clone();
        self.overlay_env(&mut env)?;
        if let Some(p) = self.get("PASSWORD") {
            password = SecretString::from(p.to_owned());
            if self.get("AUTH").is_none() {
                env.auth = Auth::Password;
            }
            env.password_missing = false;
        }
        if !env.auth.uses_password() {
            password = SecretString::from(String::new());
        }
        Ok(Credential::new(env, password))
    }

    /// `env`'s fields with every variable but the password laid over them.
    pub fn overlay_env(&self, env: &mut Environment) -> Result<()> {
        if let Some(kind) = self.kind()? {
            if kind != env.kind {
                env.port = kind.default_port().unwrap_or(0);
            }
            env.kind = kind;
        }
        if let Some(p) = self.get("PORT") {
            env.port = parse_port(p).map_err(|e| self.bad("PORT", e.to_string()))?;
        }
        if !env.kind.has_server() {
            env.port = 0;
        }
        for (suffix, field) in [("HOST", &mut env.host), ("DATABASE", &mut env.database)] {
            if let Some(v) = self.get(suffix) {
                v.clone_into(field);
            }
        }
        if let Some(u) = self.username() {
            u.clone_into(&mut env.username);
        }
        if let Some(a) = self.auth()? {
            env.auth = a;
        }
        if let Some(p) = self.get("PRODUCTION") {
            env.production = parse_bool(p)
                .ok_or_else(|| self.bad("PRODUCTION", format!("'{p}' is not true or false")))?;
        }
        if let Some(raw) = self.get("EXPIRES_AT") {
            let at = DateTime::parse_from_rfc3339(raw.trim())
                .map_err(|_| {
                    self.bad(
                        "EXPIRES_AT",
                        format!("'{raw}' is not a time: use RFC 3339, e.g. 2026-04-01T12:00:00Z"),
                    )
                })?
                .with_timezone(&Utc);
            // The model has no "expires at": a policy of 0 days from `at`
            // is that instant.
            env.password_updated_at = Some(at);
            env.expires_days = Some(0);
        }
        for (suffix, value) in &self.set {
            if let Some(key) = suffix.strip_prefix(OPTION_PREFIX) {
                let key = key.to_ascii_lowercase();
                if value.is_empty() {
                    env.options.remove(&key);
                } else {
                    env.options.insert(key, value.clone());
                }
            }
        }
        crate::edit::validate(env).map_err(|e| Error::EnvVar {
            var: format!("{}*", self.stem),
            why: e.to_string(),
        })
    }

    /// True when `e` means the vault has no environment to lay the
    /// variables over.
    fn vault_lacks_it(&self, e: &Error) -> bool {
        matches!(e.reason(), Some(Reason::NotFound | Reason::NotInitialized))
            || matches!(e, Error::AgentUnreachable { .. } | Error::AgentStart(_))
    }

    /// The error for a partial definition with nothing under it.
    pub fn incomplete(&self) -> Error {
        let missing = self.missing().unwrap_or_default();
        Error::EnvVar {
            var: format!("{}*", self.stem),
            why: format!(
                "they define '{}' only in part and the vault has no '{}' to complete it: set {} as well (or add '{}' to the vault)",
                self.name,
                self.name,
                join_and(&missing),
                self.name
            ),
        }
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests;

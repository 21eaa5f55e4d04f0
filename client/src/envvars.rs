//! Environments defined by `DBCREDS_<ENV>_*` variables, for CI jobs and
//! containers that have no agent and no keyring. They win over the agent:
//! a job that sets them gets exactly what it set.
//!
//! `<ENV>` is the name upper-cased with `-` as `_`, so two names could
//! share one set (`eu-prod`, `eu_prod`); the agent refuses the second of
//! such a pair, and inside `dbcreds exec eu-prod` (`DBCREDS_ENV=eu-prod`)
//! the variables are eu-prod's alone: a lookup of `eu_prod` skips them and
//! asks the agent.

use secrecy::SecretString;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::model::{Credential, DatabaseKind, EnvName, Environment, parse_port};

/// The variable that names the environment a process runs in, set by
/// `dbcreds exec`.
pub const CURRENT_ENV: &str = "DBCREDS_ENV";

/// Every `DBCREDS_<ENV>_<SUFFIX>` this module reads.
pub const SUFFIXES: [&str; 7] = [
    "KIND",
    "HOST",
    "PORT",
    "DATABASE",
    "USERNAME",
    "PASSWORD",
    "EXPIRES_AT",
];

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

/// Reads `env` from `DBCREDS_<ENV>_HOST/_PORT/_DATABASE/_USERNAME/_PASSWORD/_KIND`
/// (`<ENV>` upper case, `-` as `_`) and `_EXPIRES_AT`. `Ok(None)` when
/// `DBCREDS_<ENV>_PASSWORD` is not set, or when `DBCREDS_ENV` names another
/// environment with the same variables (they are that one's); `KIND`
/// defaults to postgres and `PORT` to the kind's default. Without
/// `EXPIRES_AT` the password never expires.
///
/// ```
/// use secrecy::ExposeSecret;
/// let name = dbcreds::EnvName::parse("ci").unwrap();
/// unsafe {
///     std::env::set_var("DBCREDS_CI_PASSWORD", "pw");
///     std::env::set_var("DBCREDS_CI_HOST", "db");
/// }
/// let cred = dbcreds::envvars::lookup(&name).unwrap().unwrap();
/// assert_eq!(cred.password().expose_secret(), "pw");
/// assert_eq!(cred.environment().port, 5432);
/// ```
pub fn lookup(name: &EnvName) -> Result<Option<Credential>> {
    lookup_with(name, |k| std::env::var(k).ok())
}

/// [`lookup`] over any variable source (tests, a parsed `.env` file).
///
/// ```
/// let name = dbcreds::EnvName::parse("x").unwrap();
/// assert!(dbcreds::envvars::lookup_with(&name, |_| None).unwrap().is_none());
/// ```
pub fn lookup_with(
    name: &EnvName,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Credential>> {
    let stem = format!("DBCREDS_{}_", name.env_var_stem());
    let get = |suffix: &str| var(&format!("{stem}{suffix}"));
    let Some(password) = get("PASSWORD") else {
        return Ok(None);
    };
    if let Some(current) = var(CURRENT_ENV).and_then(|c| EnvName::parse(&c).ok())
        && current.shares_variables_with(name)
    {
        return Ok(None);
    }
    let bad = |suffix: &str, why: String| Error::EnvVar {
        var: format!("{stem}{suffix}"),
        why,
    };
    let kind = match get("KIND") {
        Some(k) => k
            .parse::<DatabaseKind>()
            .map_err(|e| bad("KIND", e.to_string()))?,
        None => DatabaseKind::Postgres,
    };
    let mut env = Environment::new(name.clone(), kind);
    if let Some(p) = get("PORT") {
        env.port = parse_port(&p).map_err(|e| bad("PORT", e.to_string()))?;
    }
    if let Some(h) = get("HOST") {
        env.host = h;
    }
    env.database = get("DATABASE").unwrap_or_default();
    env.username = get("USERNAME").unwrap_or_default();
    env.expires_days = None;
    if let Some(raw) = get("EXPIRES_AT") {
        let at = DateTime::parse_from_rfc3339(raw.trim())
            .map_err(|_| {
                bad(
                    "EXPIRES_AT",
                    format!("'{raw}' is not a time: use RFC 3339, e.g. 2026-04-01T12:00:00Z"),
                )
            })?
            .with_timezone(&Utc);
        // The model has no "expires at": a policy of 0 days from `at` is
        // that instant.
        env.password_updated_at = Some(at);
        env.expires_days = Some(0);
    }
    Ok(Some(Credential::new(env, SecretString::from(password))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn source(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// What `lookup_with` finds for `name` among `pairs`.
    fn read(name: &str, pairs: &[(&str, &str)]) -> Result<Option<Credential>> {
        lookup_with(&EnvName::parse(name).unwrap(), source(pairs))
    }

    #[test]
    fn reads_every_field() {
        let cred = read(
            "eu-prod",
            &[
                ("DBCREDS_EU_PROD_PASSWORD", "pw"),
                ("DBCREDS_EU_PROD_KIND", "mariadb"),
                ("DBCREDS_EU_PROD_PORT", "3307"),
                ("DBCREDS_EU_PROD_USERNAME", "u"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(cred.environment().kind, DatabaseKind::Mariadb);
        assert_eq!(cred.environment().port, 3307);
        assert_eq!(cred.password().expose_secret(), "pw");
    }

    #[test]
    fn another_environment_with_the_same_variables_is_not_read() {
        let vars = [
            ("DBCREDS_EU_PROD_PASSWORD", "pw"),
            ("DBCREDS_ENV", "eu-prod"),
        ];
        assert!(read("eu-prod", &vars).unwrap().is_some());
        assert!(read("eu_prod", &vars).unwrap().is_none());
        // Without DBCREDS_ENV (a CI job's own variables) they count.
        let ci = [("DBCREDS_EU_PROD_PASSWORD", "pw")];
        assert!(read("eu_prod", &ci).unwrap().is_some());
    }

    #[test]
    fn expiry_comes_from_expires_at() {
        let past = read(
            "ci",
            &[
                ("DBCREDS_CI_PASSWORD", "pw"),
                ("DBCREDS_CI_EXPIRES_AT", "2020-01-01T00:00:00Z"),
            ],
        )
        .unwrap()
        .unwrap();
        assert!(past.environment().expiry(Utc::now()).is_expired());
        let err = read(
            "ci",
            &[
                ("DBCREDS_CI_PASSWORD", "pw"),
                ("DBCREDS_CI_EXPIRES_AT", "soon"),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("DBCREDS_CI_EXPIRES_AT"), "{err}");
    }

    #[test]
    fn bad_port_names_the_variable() {
        let name = EnvName::parse("ci").unwrap();
        let err = lookup_with(
            &name,
            source(&[("DBCREDS_CI_PASSWORD", "pw"), ("DBCREDS_CI_PORT", "0")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("DBCREDS_CI_PORT"));
    }
}

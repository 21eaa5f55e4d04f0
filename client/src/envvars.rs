//! Environments defined by `DBCREDS_<ENV>_*` variables, for CI jobs and
//! containers that have no agent and no keyring. They win over the agent:
//! a job that sets them gets exactly what it set.

use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::model::{Credential, DatabaseKind, EnvName, Environment, parse_port};

/// Reads `env` from `DBCREDS_<ENV>_HOST/_PORT/_DATABASE/_USERNAME/_PASSWORD/_KIND`
/// (`<ENV>` upper case, `-` as `_`). `Ok(None)` when `DBCREDS_<ENV>_PASSWORD`
/// is not set; `KIND` defaults to postgres and `PORT` to the kind's default.
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
    // Expiry is the vault's business; a variable-defined password has none.
    env.expires_days = None;
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

    #[test]
    fn reads_every_field() {
        let name = EnvName::parse("eu-prod").unwrap();
        let cred = lookup_with(
            &name,
            source(&[
                ("DBCREDS_EU_PROD_PASSWORD", "pw"),
                ("DBCREDS_EU_PROD_KIND", "mariadb"),
                ("DBCREDS_EU_PROD_PORT", "3307"),
                ("DBCREDS_EU_PROD_USERNAME", "u"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(cred.environment().kind, DatabaseKind::Mariadb);
        assert_eq!(cred.environment().port, 3307);
        assert_eq!(cred.password().expose_secret(), "pw");
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

//! `dbcreds get NAME [FIELD]`: one value on stdout, nothing else.

use dbcreds::{EnvName, Environment, render};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::check_expiry;
use crate::args::{Field, GetArgs};
use crate::exit::Failure;
use crate::output;

pub async fn run(a: GetArgs) -> Result<(), Failure> {
    let value = fetch(&a.name, a.field, a.require_fresh).await?;
    output::stdout_line(&value)
}

/// What `get NAME FIELD` prints (`copy` copies it): a field with the
/// password through `Get` (audited), any other through `Describe`, which
/// works while the vault is locked and reveals nothing.
pub async fn fetch(
    name: &EnvName,
    field: Field,
    require_fresh: bool,
) -> Result<Zeroizing<String>, Failure> {
    if field.reveals_password() {
        let cred = super::credential(name, field.purpose()).await?;
        revealed(&cred, field, require_fresh)
    } else {
        let (env, _) = super::describe(name).await?;
        if env.source.is_some() && env.cached.is_none() {
            // Nothing fetched yet: the field may come from the secret (a
            // KV secret's host, a lease's user), so fetch it.
            let cred = super::credential(name, dbcreds::Purpose::Get).await?;
            return Ok(value(cred.environment(), "", field));
        }
        Ok(value(&env, "", field))
    }
}

/// What `get` prints of a credential the agent revealed.
fn revealed(
    cred: &dbcreds::Credential,
    field: Field,
    require_fresh: bool,
) -> Result<Zeroizing<String>, Failure> {
    let env = cred.environment();
    if field == Field::Password && !env.auth.uses_password() {
        return Err(no_password(env));
    }
    check_expiry(env, require_fresh)?;
    Ok(value(env, cred.password().expose_secret(), field))
}

/// `get` over the direct protocol (`dbcreds::direct`), before any runtime
/// exists: the whole of a `get` that succeeds or that the agent refuses.
/// `None` when gRPC must take it: variables alone define the environment,
/// no agent (or an older one) listens, or a person must confirm.
#[cfg(target_os = "linux")]
pub fn direct(a: &GetArgs) -> Option<Result<(), Failure>> {
    use dbcreds::envvars::{Source, finish};
    if !a.field.reveals_password() {
        return None;
    }
    let Ok(Source::Agent(overlay)) = dbcreds::envvars::source(&a.name) else {
        return None;
    };
    let fetched = match dbcreds::direct::get(&a.name, a.field.purpose())? {
        // gRPC finds out whether the agent is of another version.
        Err(e) if super::may_be_stale(&e) => return None,
        other => other,
    };
    if let Some(w) = fetched.as_ref().ok().and_then(|c| c.warning()) {
        output::warn(w);
    }
    Some(
        finish(overlay.as_ref(), fetched)
            .map_err(Failure::from)
            .and_then(|cred| revealed(&cred, a.field, a.require_fresh))
            .and_then(|v| output::stdout_line(&v)),
    )
}

/// `get NAME` of an environment that logs in without a password.
fn no_password(env: &Environment) -> Failure {
    Failure::new(
        crate::exit::NO_PASSWORD,
        format!(
            "'{}' {} and has no password: `dbcreds get {} uri` gives its connection, `dbcreds exec {}` runs a client with it",
            env.name,
            env.auth.describe(),
            env.name,
            env.name
        ),
    )
}

/// The text `get` prints for `field` (without the newline).
pub fn value(env: &Environment, password: &str, field: Field) -> Zeroizing<String> {
    Zeroizing::new(match field {
        Field::Password => password.to_owned(),
        Field::Host => env.host.clone(),
        Field::Port => env.port.to_string(),
        Field::Database => env.database.clone(),
        Field::User => env.username.clone(),
        Field::Uri => render::uri(env, Some(password)),
        Field::Kind => env.kind.as_str().to_owned(),
        Field::Jdbc => render::jdbc(env, password),
        Field::Libpq => render::libpq(env, password),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbcreds::{DatabaseKind, EnvName};

    #[test]
    fn fields() {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.host = "db".into();
        env.database = "app".into();
        env.username = "app".into();
        assert_eq!(*value(&env, "p@ss", Field::Password), "p@ss");
        assert_eq!(*value(&env, "p@ss", Field::Port), "5432");
        assert_eq!(*value(&env, "p@ss", Field::User), "app");
        assert_eq!(*value(&env, "p@ss", Field::Kind), "postgres");
        assert_eq!(
            *value(&env, "p@ss", Field::Uri),
            "postgresql://app:p%40ss@db:5432/app"
        );
        assert!(value(&env, "p@ss", Field::Libpq).contains("password=p@ss"));
        assert!(value(&env, "p@ss", Field::Jdbc).starts_with("jdbc:postgresql://db:5432/app"));
    }
}

//! `dbcreds get NAME [FIELD]`: one value on stdout, nothing else.

use dbcreds::{Client, Environment, render};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::check_expiry;
use crate::args::{Field, GetArgs};
use crate::exit::Failure;
use crate::output;

pub async fn run(a: GetArgs) -> Result<(), Failure> {
    if let Some(cred) = dbcreds::envvars::lookup(&a.name)? {
        if a.field.reveals_password() {
            check_expiry(cred.environment(), a.require_fresh)?;
        }
        let value = value(cred.environment(), cred.password().expose_secret(), a.field);
        return output::stdout_line(&value);
    }
    let mut client = Client::connect_or_start().await?;
    if a.field.reveals_password() {
        let cred = super::fetch(client, &a.name, a.field.purpose()).await?;
        check_expiry(cred.environment(), a.require_fresh)?;
        let value = value(cred.environment(), cred.password().expose_secret(), a.field);
        output::stdout_line(&value)
    } else {
        // No secret needed: Describe works while locked and reveals nothing.
        let env = client.describe(&a.name).await?;
        output::stdout_line(&value(&env, "", a.field))
    }
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

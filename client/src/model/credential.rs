//! An environment together with its password.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::Environment;

/// An environment together with its password.
///
/// The password is a [`SecretString`]: it is zeroed when the credential is
/// dropped and never shown by `Debug`.
///
/// ```
/// use dbcreds::{Credential, DatabaseKind, EnvName, Environment};
/// use secrecy::ExposeSecret;
/// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
/// env.username = "app".into();
/// let cred = Credential::new(env, "s3cret".into());
/// assert_eq!(cred.password().expose_secret(), "s3cret");
/// assert!(!format!("{cred:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Credential {
    environment: Environment,
    password: SecretString,
    warning: Option<String>,
}

impl Credential {
    /// Pairs an environment with its password.
    pub fn new(environment: Environment, password: SecretString) -> Self {
        Self {
            environment,
            password,
            warning: None,
        }
    }

    /// What the agent warned about when it handed this out (its source is
    /// down and this came from its cache), for stderr.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// Attaches the agent's warning.
    pub fn set_warning(&mut self, warning: String) {
        self.warning = Some(warning);
    }

    /// The non-secret part.
    ///
    /// ```
    /// # use dbcreds::{Credential, DatabaseKind, EnvName, Environment};
    /// # let cred = Credential::new(Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Mysql), "x".into());
    /// assert_eq!(cred.environment().port, 3306);
    /// ```
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The password; call `expose_secret()` on it only where it is used.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// A connection URI with the password percent-encoded, for example
    /// `postgresql://app:p%40ss@db.internal:5432/app`.
    ///
    /// ```
    /// # use dbcreds::{Credential, DatabaseKind, EnvName, Environment};
    /// use secrecy::ExposeSecret;
    /// let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
    /// env.host = "db.internal".into();
    /// env.database = "app".into();
    /// env.username = "app".into();
    /// let cred = Credential::new(env, "p@ss/word".into());
    /// assert_eq!(cred.uri().expose_secret(), "postgresql://app:p%40ss%2Fword@db.internal:5432/app");
    /// ```
    pub fn uri(&self) -> SecretString {
        crate::render::uri(&self.environment, Some(self.password.expose_secret())).into()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("environment", &self.environment)
            .field("password", &"[redacted]")
            .finish()
    }
}

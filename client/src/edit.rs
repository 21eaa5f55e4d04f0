//! The rules an environment must keep when it is created or changed: what a
//! [`Patch`] may carry, how it applies, and the bounds on every field. They
//! live in the domain model so the agent (which enforces them) and any
//! client that wants to check early agree on one set.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use crate::error::InvalidInput;
use crate::model::{Environment, check_port};

/// Upper bound for a password, so one request cannot make the agent hold
/// arbitrary amounts of secret memory.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// A partial change to an environment: every `None` leaves its field alone.
/// In `options`, an empty value removes the option.
#[derive(Default)]
pub struct Patch {
    /// New database kind (`postgres`, `mysql`, ...).
    pub kind: Option<String>,
    /// New host.
    pub host: Option<String>,
    /// New port, checked to be 1-65535.
    pub port: Option<u32>,
    /// New database name (the file path for SQLite).
    pub database: Option<String>,
    /// New user name.
    pub username: Option<String>,
    /// New password (resets its age).
    pub password: Option<SecretString>,
    /// New production flag.
    pub production: Option<bool>,
    /// New description.
    pub description: Option<String>,
    /// Days the password stays fresh; 0 means never expires.
    pub expires_days: Option<u32>,
    /// Options to set (or, with an empty value, remove).
    pub options: BTreeMap<String, String>,
}

impl Patch {
    /// Applies the patch to `env`, then checks the result with [`validate`].
    ///
    /// ```
    /// use dbcreds::edit::Patch;
    /// use dbcreds::{DatabaseKind, EnvName, Environment};
    /// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
    /// env.host = "db".into();
    /// let patch = Patch { port: Some(70000), ..Patch::default() };
    /// assert!(patch.apply(&mut env).is_err());
    /// let patch = Patch { port: Some(6543), ..Patch::default() };
    /// patch.apply(&mut env).unwrap();
    /// assert_eq!(env.port, 6543);
    /// ```
    pub fn apply(&self, env: &mut Environment) -> Result<(), InvalidInput> {
        if let Some(k) = &self.kind {
            env.kind = k.parse()?;
        }
        if let Some(h) = &self.host {
            env.host.clone_from(h);
        }
        if let Some(p) = self.port {
            env.port = check_port(p)?;
        }
        if let Some(d) = &self.database {
            env.database.clone_from(d);
        }
        if let Some(u) = &self.username {
            env.username.clone_from(u);
        }
        if let Some(p) = self.production {
            env.production = p;
        }
        if let Some(d) = &self.description {
            env.description.clone_from(d);
        }
        if let Some(days) = self.expires_days {
            env.expires_days = (days > 0).then_some(days);
        }
        for (k, v) in &self.options {
            if v.is_empty() {
                env.options.remove(k);
            } else {
                env.options.insert(k.clone(), v.clone());
            }
        }
        if let Some(p) = &self.password {
            check_password(p)?;
        }
        validate(env)
    }
}

/// A password must be non-empty and at most [`MAX_PASSWORD_BYTES`].
///
/// ```
/// use dbcreds::secrecy::SecretString;
/// assert!(dbcreds::edit::check_password(&SecretString::from("")).is_err());
/// assert!(dbcreds::edit::check_password(&SecretString::from("x".repeat(4097))).is_err());
/// assert!(dbcreds::edit::check_password(&SecretString::from("s3cret")).is_ok());
/// ```
pub fn check_password(p: &SecretString) -> Result<(), InvalidInput> {
    let len = p.expose_secret().len();
    if len == 0 {
        return Err(field(
            "password",
            "it is empty; give the database user's password",
        ));
    }
    if len > MAX_PASSWORD_BYTES {
        return Err(field(
            "password",
            &format!("it is longer than {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Checks a whole environment and its password before it is stored: a
/// SQLite file may have no password; every server kind needs one.
pub fn check_new(env: &Environment, password: &SecretString) -> Result<(), InvalidInput> {
    if env.kind.has_server() || !password.expose_secret().is_empty() {
        check_password(password)?;
    }
    validate(env)
}

/// Rules beyond what the model's types already enforce: a server kind needs
/// a host, SQLite a file path, and every text field has a length bound.
pub fn validate(env: &Environment) -> Result<(), InvalidInput> {
    if env.kind.has_server() && env.host.trim().is_empty() {
        return Err(field("host", "it is empty; pass --host"));
    }
    if !env.kind.has_server() && env.database.trim().is_empty() {
        return Err(field(
            "database",
            "a SQLite environment needs the file path; pass --database",
        ));
    }
    for (name, value, max) in [
        ("host", &env.host, 255),
        ("database", &env.database, 1024),
        ("username", &env.username, 256),
        ("description", &env.description, 4096),
    ] {
        if value.len() > max {
            return Err(field(name, &format!("it is longer than {max} bytes")));
        }
    }
    Ok(())
}

fn field(field: &str, why: &str) -> InvalidInput {
    InvalidInput::Field {
        field: field.into(),
        why: why.into(),
    }
}

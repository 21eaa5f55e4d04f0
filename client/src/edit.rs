//! The rules an environment must keep when it is created or changed: what a
//! [`Patch`] may carry, how it applies, and the bounds on every field. They
//! live in the domain model so the agent (which enforces them) and any
//! client that wants to check early agree on one set.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::error::InvalidInput;
use crate::model::{Auth, Environment, check_port};

/// Upper bound for a password, so one request cannot make the agent hold
/// arbitrary amounts of secret memory.
pub const MAX_PASSWORD_BYTES: usize = 4096;
/// Upper bound for a host name (DNS names are at most 253).
pub const MAX_HOST_BYTES: usize = 255;
/// Upper bound for a database name or SQLite file path.
pub const MAX_DATABASE_BYTES: usize = 1024;
/// Upper bound for a user name.
pub const MAX_USERNAME_BYTES: usize = 256;
/// Upper bound for a description.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;
/// Most options an environment may have.
pub const MAX_OPTIONS: usize = 32;
/// Upper bound for an option's key: 1 to 64 of `A-Z a-z 0-9 _ . -`.
pub const MAX_OPTION_KEY_BYTES: usize = 64;
/// Upper bound for an option's value (a certificate path, say).
pub const MAX_OPTION_VALUE_BYTES: usize = 1024;
/// Upper bound for a whole environment: every field, option and the
/// password together. It keeps any request well inside what the agent
/// reads ([`dbcreds_proto::MAX_REQUEST_BYTES`]).
pub const MAX_ENVIRONMENT_BYTES: usize = 32 * 1024;

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
    /// New auth mode (`password`, `none`, `cert`). Leaving `password`
    /// forgets the stored password; coming to it without a new password
    /// leaves the environment waiting for one.
    pub auth: Option<String>,
    /// When the password last changed, to backdate it (the Python tool's
    /// web UI could); with a new password it stands instead of "now".
    pub password_changed_at: Option<DateTime<Utc>>,
}

impl Patch {
    /// Checks every field the patch sets on its own (the bounds, control
    /// characters, known options, the password), so a client can refuse a
    /// bad change before sending it; [`Patch::apply`] checks the result
    /// as a whole.
    ///
    /// ```
    /// use dbcreds::edit::Patch;
    /// let mut patch = Patch::default();
    /// patch.options.insert("sslmode".into(), "bogus".into());
    /// assert!(patch.check().unwrap_err().to_string().contains("sslmode"));
    /// ```
    pub fn check(&self) -> Result<(), InvalidInput> {
        for (name, value, max) in [
            ("host", &self.host, MAX_HOST_BYTES),
            ("database", &self.database, MAX_DATABASE_BYTES),
            ("username", &self.username, MAX_USERNAME_BYTES),
            ("description", &self.description, MAX_DESCRIPTION_BYTES),
        ] {
            if let Some(v) = value {
                check_text(name, v, max)?;
            }
        }
        if self.options.len() > MAX_OPTIONS {
            return Err(too_many_options(self.options.len()));
        }
        for (k, v) in &self.options {
            // An empty value removes the option.
            if v.is_empty() {
                check_option_key(k)?;
            } else {
                check_option(k, v)?;
            }
        }
        if let Some(p) = &self.password {
            check_password(p)?;
        }
        if let Some(a) = &self.auth {
            a.parse::<Auth>()?;
        }
        if let Some(at) = self.password_changed_at {
            check_changed_at(at)?;
        }
        Ok(())
    }

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
            let before = env.kind;
            env.kind = k.parse()?;
            // A new kind without a port gets its default port, not the old
            // kind's (SQLite's 0 would leave a server environment unreadable).
            if env.kind != before && self.port.is_none() {
                env.port = env.kind.default_port().unwrap_or(0);
            }
        }
        if let Some(h) = &self.host {
            env.host.clone_from(h);
        }
        if let Some(p) = self.port {
            env.port = check_port(p)?;
        }
        if !env.kind.has_server() {
            // A file has no port; clients read any port of SQLite as 0.
            env.port = 0;
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
        self.apply_auth(env)?;
        if let Some(at) = self.password_changed_at {
            check_changed_at(at)?;
            env.password_updated_at = Some(at);
        }
        validate(env)
    }

    /// The auth mode and the password together: a password only where the
    /// mode takes one, and the "waiting for a password" mark kept true.
    fn apply_auth(&self, env: &mut Environment) -> Result<(), InvalidInput> {
        let before = env.auth;
        if let Some(a) = &self.auth {
            env.auth = a.parse()?;
        }
        match &self.password {
            Some(_) if !env.auth.uses_password() => return Err(no_password_taken(env.auth)),
            Some(p) => {
                check_password(p)?;
                env.password_missing = false;
            }
            None if env.auth.uses_password() && !before.uses_password() => {
                env.password_missing = env.kind.has_server();
            }
            None if !env.auth.uses_password() => env.password_missing = false,
            None => {}
        }
        Ok(())
    }
}

/// The refusal of a password for an environment whose mode has none.
fn no_password_taken(auth: Auth) -> InvalidInput {
    field(
        "password",
        &format!(
            "the environment {} and takes no password: drop the password, or pass --auth password",
            auth.describe()
        ),
    )
}

/// A "password last changed" date may not lie in the future (it would
/// make an old password look fresh for longer than its policy).
fn check_changed_at(at: DateTime<Utc>) -> Result<(), InvalidInput> {
    // Before 2000 is no real date of a password here (and 1970, Unix 0,
    // is what "none" is on the wire).
    if at.timestamp() < 946_684_800 {
        return Err(field(
            "password change time",
            &format!(
                "{} is before 2000: give the day the password really changed",
                at.format("%Y-%m-%d")
            ),
        ));
    }
    if at > Utc::now() {
        return Err(field(
            "password change time",
            &format!(
                "{} is in the future: give the day the password really changed",
                at.format("%Y-%m-%d")
            ),
        ));
    }
    Ok(())
}

/// A "password last changed" time must not be in the future: an expiry
/// counted from a time to come would hide an old password.
///
/// ```
/// use chrono::{Duration, Utc};
/// assert!(dbcreds::edit::check_password_changed(Utc::now() - Duration::days(3)).is_ok());
/// assert!(dbcreds::edit::check_password_changed(Utc::now() + Duration::days(3)).is_err());
/// ```
pub fn check_password_changed(at: DateTime<Utc>) -> Result<(), InvalidInput> {
    check_changed_at(at)
}

/// The "password last changed" time of an update request (Unix seconds).
///
/// ```
/// assert!(dbcreds::edit::password_changed_from_secs(1_700_000_000).is_ok());
/// assert!(dbcreds::edit::password_changed_from_secs(i64::MAX).is_err());
/// ```
pub fn password_changed_from_secs(secs: i64) -> Result<DateTime<Utc>, InvalidInput> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| {
        field(
            "password change time",
            &format!("{secs} is not a time dbcreds can store"),
        )
    })
}

/// A password must be non-empty, at most [`MAX_PASSWORD_BYTES`], and free
/// of NUL bytes (no program can take one in a variable or an argument, so
/// `exec` could not pass it on).
///
/// ```
/// use dbcreds::secrecy::SecretString;
/// assert!(dbcreds::edit::check_password(&SecretString::from("")).is_err());
/// assert!(dbcreds::edit::check_password(&SecretString::from("x".repeat(4097))).is_err());
/// assert!(dbcreds::edit::check_password(&SecretString::from("a\0b")).is_err());
/// assert!(dbcreds::edit::check_password(&SecretString::from("s3cret")).is_ok());
/// ```
pub fn check_password(p: &SecretString) -> Result<(), InvalidInput> {
    let secret = p.expose_secret();
    if secret.is_empty() {
        return Err(field(
            "password",
            "it is empty; give the database user's password",
        ));
    }
    if secret.len() > MAX_PASSWORD_BYTES {
        return Err(field(
            "password",
            &format!("it is longer than {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    if secret.contains('\0') {
        return Err(field(
            "password",
            "it contains a NUL byte, which no program can be given in a variable or argument",
        ));
    }
    Ok(())
}

/// A text field: at most `max` bytes, and no control characters (a
/// newline in a host becomes a second `.pgpass` line; an escape sequence
/// in a user name rewrites the terminal of whoever runs `dbcreds list`).
fn check_text(name: &str, value: &str, max: usize) -> Result<(), InvalidInput> {
    if value.len() > max {
        return Err(field(
            name,
            &format!("it is {} bytes, longer than {max}", value.len()),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(field(
            name,
            &format!(
                "it contains the control character {}: remove it",
                c.escape_unicode()
            ),
        ));
    }
    Ok(())
}

fn check_option_key(key: &str) -> Result<(), InvalidInput> {
    let ok = !key.is_empty()
        && key.len() <= MAX_OPTION_KEY_BYTES
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        return Ok(());
    }
    Err(InvalidInput::Field {
        field: format!("option key '{}'", key.escape_debug()),
        why: format!(
            "use 1 to {MAX_OPTION_KEY_BYTES} of A-Z, a-z, 0-9, '_', '.' and '-' (remove it with --option '{}=')",
            key.escape_debug()
        ),
    })
}

/// One option: its key's form, its value's bounds, and the value of an
/// option dbcreds knows ([`crate::tls::check_option`]).
fn check_option(key: &str, value: &str) -> Result<(), InvalidInput> {
    check_option_key(key)?;
    check_text(&format!("option {key}"), value, MAX_OPTION_VALUE_BYTES)?;
    crate::tls::check_option(key, value)
}

fn too_many_options(n: usize) -> InvalidInput {
    field(
        "options",
        &format!("there are {n}, more than {MAX_OPTIONS}: remove some with --option KEY="),
    )
}

/// Checks a whole environment and its password before it is stored: a
/// server environment that logs in with a password needs one (unless it is
/// marked as waiting for it), one that does not takes none; a SQLite file
/// may have one or not.
pub fn check_new(env: &Environment, password: &SecretString) -> Result<(), InvalidInput> {
    let given = !password.expose_secret().is_empty();
    if let Some(src) = &env.source {
        src.check()?;
        if given {
            return Err(field(
                "password",
                "the password comes from the environment's source: give none",
            ));
        }
    } else if !env.auth.uses_password() {
        if given {
            return Err(no_password_taken(env.auth));
        }
    } else if env.password_missing {
        if given {
            return Err(field(
                "password",
                "the environment is marked as waiting for its password, but one was given",
            ));
        }
    } else if env.kind.has_server() || given {
        check_password(password)?;
    }
    validate(env)
}

/// Rules beyond what the model's types already enforce: a server kind needs
/// a host, SQLite a file path, every text field has a length bound and no
/// control characters, options are bounded in number and size and the
/// known ones hold valid values, and the whole environment is at most
/// [`MAX_ENVIRONMENT_BYTES`].
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment};
/// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
/// env.host = "db\n*".into();
/// assert!(dbcreds::edit::validate(&env).unwrap_err().to_string().contains("host"));
/// ```
pub fn validate(env: &Environment) -> Result<(), InvalidInput> {
    // A secret that carries the connection fields fills an empty host.
    let host_from_source = env.source.as_ref().is_some_and(|s| s.kind.carries_fields());
    if env.kind.has_server() && env.host.trim().is_empty() && !host_from_source {
        return Err(field("host", "it is empty; pass --host"));
    }
    if env.kind.has_server() && env.port == 0 {
        return Err(InvalidInput::Port("0".into()));
    }
    if env.auth == Auth::Cert && env.kind.has_server() && !has_client_cert(env) {
        return Err(field(
            "auth",
            "--auth cert needs the client certificate and key: pass -o sslcert=FILE -o sslkey=FILE",
        ));
    }
    if !env.kind.has_server() && env.database.trim().is_empty() {
        return Err(field(
            "database",
            "a SQLite environment needs the file path; pass --database",
        ));
    }
    for (name, value, max) in [
        ("host", &env.host, MAX_HOST_BYTES),
        ("database", &env.database, MAX_DATABASE_BYTES),
        ("username", &env.username, MAX_USERNAME_BYTES),
        ("description", &env.description, MAX_DESCRIPTION_BYTES),
    ] {
        check_text(name, value, max)?;
    }
    if env.options.len() > MAX_OPTIONS {
        return Err(too_many_options(env.options.len()));
    }
    for (k, v) in &env.options {
        check_option(k, v)?;
    }
    let total = size_of(env);
    if total > MAX_ENVIRONMENT_BYTES {
        return Err(field(
            "environment",
            &format!(
                "its fields and options come to {total} bytes, more than {MAX_ENVIRONMENT_BYTES}: shorten the description or the options"
            ),
        ));
    }
    Ok(())
}

/// Whether the options name a client certificate and its key (any of the
/// spellings [`crate::tls`] reads).
fn has_client_cert(env: &Environment) -> bool {
    let any = |keys: &[&str]| keys.iter().any(|k| env.options.contains_key(*k));
    any(&["sslcert", "ssl-cert", "ssl_cert"]) && any(&["sslkey", "ssl-key", "ssl_key"])
}

/// The bytes of an environment's text: what a request carrying it spends
/// on it (the password is bounded apart).
fn size_of(env: &Environment) -> usize {
    env.name.as_str().len()
        + env.host.len()
        + env.database.len()
        + env.username.len()
        + env.description.len()
        + env
            .options
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

fn field(field: &str, why: &str) -> InvalidInput {
    InvalidInput::Field {
        field: field.into(),
        why: why.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DatabaseKind, EnvName};

    fn env() -> Environment {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.host = "db".into();
        env
    }

    #[test]
    fn control_characters_are_refused_in_every_field() {
        for field in ["host", "database", "username", "description"] {
            let mut e = env();
            let bad = "a\u{1b}[2Jb".to_owned();
            match field {
                "host" => e.host = bad,
                "database" => e.database = bad,
                "username" => e.username = bad,
                _ => e.description = bad,
            }
            let err = validate(&e).unwrap_err().to_string();
            assert!(err.contains(field) && err.contains("control"), "{err}");
        }
        let mut e = env();
        e.options.insert("application_name".into(), "x\ny".into());
        assert!(validate(&e).is_err());
        let mut e = env();
        e.options.insert("a\nb".into(), "x".into());
        assert!(validate(&e).unwrap_err().to_string().contains("option key"));
    }

    #[test]
    fn options_are_bounded() {
        let mut e = env();
        for i in 0..=MAX_OPTIONS {
            e.options.insert(format!("k{i}"), "v".into());
        }
        assert!(validate(&e).unwrap_err().to_string().contains("options"));
        let mut e = env();
        e.options
            .insert("k".into(), "v".repeat(MAX_OPTION_VALUE_BYTES + 1));
        assert!(validate(&e).unwrap_err().to_string().contains("option k"));
        let mut e = env();
        e.options.insert("k".repeat(65), "v".into());
        assert!(validate(&e).is_err());
        // Many options at their bound go over the whole environment's.
        let mut e = env();
        for i in 0..MAX_OPTIONS {
            e.options
                .insert(format!("k{i}"), "v".repeat(MAX_OPTION_VALUE_BYTES));
        }
        e.description = "d".repeat(MAX_DESCRIPTION_BYTES);
        let err = validate(&e).unwrap_err().to_string();
        assert!(err.contains("environment"), "{err}");
    }

    #[test]
    fn known_options_are_checked_on_write() {
        let mut e = env();
        e.options.insert("sslmode".into(), "bogus".into());
        assert!(validate(&e).unwrap_err().to_string().contains("sslmode"));
        let mut e = env();
        e.options.insert("connect_timeout".into(), "abc".into());
        assert!(validate(&e).is_err());
        let mut e = env();
        e.options.insert("sslmode".into(), "verify-full".into());
        e.options.insert("connect_timeout".into(), "10".into());
        validate(&e).unwrap();
    }

    #[test]
    fn a_patch_is_checked_on_its_own() {
        let mut p = Patch {
            host: Some("h\0".into()),
            ..Patch::default()
        };
        assert!(p.check().is_err());
        p.host = Some("h".into());
        // Removing an option (empty value) is fine, whatever it held.
        p.options.insert("sslmode".into(), String::new());
        p.check().unwrap();
        p.password = Some(SecretString::from("x".repeat(MAX_PASSWORD_BYTES + 1)));
        assert!(p.check().unwrap_err().to_string().contains("password"));
    }

    #[test]
    fn a_password_change_time_is_set_and_never_in_the_future() {
        let at = Utc::now() - chrono::Duration::days(40);
        let p = Patch {
            password_changed_at: Some(at),
            ..Patch::default()
        };
        p.check().unwrap();
        let mut e = env();
        p.apply(&mut e).unwrap();
        assert_eq!(e.password_updated_at, Some(at));
        let p = Patch {
            password_changed_at: Some(Utc::now() + chrono::Duration::days(1)),
            ..Patch::default()
        };
        let err = p.check().unwrap_err().to_string();
        assert!(err.contains("in the future"), "{err}");
        let mut e = env();
        assert!(p.apply(&mut e).is_err());
        assert_eq!(e.password_updated_at, None);
    }
}

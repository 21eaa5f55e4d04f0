//! Ready [sqlx](https://docs.rs/sqlx) pools and connect options for a
//! dbcreds environment, with its TLS options applied (cargo features
//! `postgres` and `mysql`). The agent builds its own connections
//! (`dbcreds test`, `dbcreds rotate`) with the same functions.
//!
//! ```no_run
//! # async fn demo() -> dbcreds_sqlx::Result<()> {
//! let pool = dbcreds_sqlx::pg_pool("prod").await?;
//! let (one,): (i32,) = sqlx::query_as("SELECT 1").fetch_one(&pool).await?;
//! # let _ = one;
//! # Ok(()) }
//! ```
//!
//! To follow password rotations, keep a [`dbcreds::Watch`] open and build a
//! new pool when it reports that the environment's password changed (see
//! [`dbcreds::Client::watch`] and `examples/pool.rs`).
//!
//! This is its own crate rather than a feature of `dbcreds` so that the
//! `dbcreds` CLI, which shares the `dbcreds` crate with the agent in a
//! workspace build, never links a SQL driver.

#![warn(missing_docs)]

use dbcreds::tls::ConnectSettings;
use dbcreds::{Credential, InvalidInput, Reason};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use dbcreds::{DatabaseKind, tls::TlsMode};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use secrecy::ExposeSecret;

/// What can go wrong getting a pool: the credential (from the agent or
/// `DBCREDS_<ENV>_*` variables, or unusable options), or the connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Getting the credential failed, or its options break the rules.
    #[error(transparent)]
    Credentials(#[from] dbcreds::Error),
    /// Connecting to the database failed; `reason` is
    /// [`Reason::Unreachable`], [`Reason::LoginFailed`],
    /// [`Reason::TlsFailed`] or [`Reason::DatabaseError`].
    #[error("cannot connect to the database ({}): {source}", reason.as_str())]
    Database {
        /// Why, as the agent would say it.
        reason: Reason,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

impl Error {
    /// The reason, as [`dbcreds::Error::reason`] gives it for the agent's
    /// refusals and [`classify`] for connection failures.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Credentials(e) => e.reason(),
            Self::Database { reason, .. } => Some(*reason),
        }
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Self::Credentials(e.into())
    }
}

impl From<sqlx::Error> for Error {
    fn from(source: sqlx::Error) -> Self {
        Error::Database {
            reason: classify(&source),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The TLS and timeout settings of `cred`'s environment.
pub fn settings(cred: &Credential) -> Result<ConnectSettings> {
    Ok(ConnectSettings::from_options(&cred.environment().options)?)
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn wrong_kind(cred: &Credential, want: &str) -> Error {
    Error::from(InvalidInput::Field {
        field: "kind".into(),
        why: format!(
            "environment '{}' is a {} database, not {want}",
            cred.environment().name,
            cred.environment().kind
        ),
    })
}

/// What went wrong in words a person can act on, for a connection error.
/// The reason decides the CLI's exit code; the text never contains the
/// password (drivers do not echo it).
///
/// ```
/// use dbcreds::Reason;
/// let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
/// assert_eq!(dbcreds_sqlx::classify(&io), Reason::Unreachable);
/// ```
pub fn classify(err: &sqlx::Error) -> Reason {
    match err {
        // rustls reports a failed handshake (an untrusted certificate, a
        // name mismatch) through the I/O error of the stream it wraps.
        sqlx::Error::Io(e)
            if e.get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            Reason::TlsFailed
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => Reason::Unreachable,
        sqlx::Error::Tls(_) => Reason::TlsFailed,
        // Something answered that does not speak the database's protocol
        // (another service on that port, a proxy): not the server asked for.
        sqlx::Error::Protocol(_) => Reason::Unreachable,
        sqlx::Error::Database(db) => {
            // SQLSTATE class 28: invalid authorization specification. Both
            // PostgreSQL (28P01 wrong password, 28000 no pg_hba entry) and
            // MySQL/MariaDB (1045 access denied = 28000) use it.
            if db.code().is_some_and(|c| c.starts_with("28")) {
                Reason::LoginFailed
            } else {
                Reason::DatabaseError
            }
        }
        sqlx::Error::Configuration(_) => Reason::Invalid,
        _ => Reason::DatabaseError,
    }
}

/// Connect options for a PostgreSQL environment: host, port, database,
/// user, password and the TLS options (`sslmode`, `sslrootcert`, `sslcert`,
/// `sslkey`). `PG*` variables of the process act as defaults for what the
/// environment leaves out, as with libpq; `~/.pgpass` is not read.
#[cfg(feature = "postgres")]
pub fn pg_options(cred: &Credential) -> Result<sqlx::postgres::PgConnectOptions> {
    use sqlx::postgres::{PgConnectOptions, PgSslMode};
    let env = cred.environment();
    if env.kind != DatabaseKind::Postgres {
        return Err(wrong_kind(cred, "postgres"));
    }
    let s = settings(cred)?;
    let mut o = PgConnectOptions::new_without_pgpass()
        .host(&env.host)
        .port(env.port)
        .username(&env.username)
        .password(cred.password().expose_secret());
    if !env.database.is_empty() {
        o = o.database(&env.database);
    }
    if let Some(mode) = s.mode {
        o = o.ssl_mode(match mode {
            TlsMode::Disable => PgSslMode::Disable,
            TlsMode::Allow => PgSslMode::Allow,
            TlsMode::Prefer => PgSslMode::Prefer,
            TlsMode::Require => PgSslMode::Require,
            TlsMode::VerifyCa => PgSslMode::VerifyCa,
            TlsMode::VerifyFull => PgSslMode::VerifyFull,
        });
    }
    if let Some(p) = &s.root_cert {
        o = o.ssl_root_cert(p);
    }
    if let Some(p) = &s.client_cert {
        o = o.ssl_client_cert(p);
    }
    if let Some(p) = &s.client_key {
        o = o.ssl_client_key(p);
    }
    Ok(o)
}

/// Connect options for a MySQL or MariaDB environment, TLS options applied
/// (`ssl-mode`/`sslmode`, `ssl-ca`/`sslrootcert`, `ssl-cert`, `ssl-key`).
#[cfg(feature = "mysql")]
pub fn mysql_options(cred: &Credential) -> Result<sqlx::mysql::MySqlConnectOptions> {
    use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
    let env = cred.environment();
    if !matches!(env.kind, DatabaseKind::Mysql | DatabaseKind::Mariadb) {
        return Err(wrong_kind(cred, "mysql or mariadb"));
    }
    let s = settings(cred)?;
    let mut o = MySqlConnectOptions::new()
        .host(&env.host)
        .port(env.port)
        .username(&env.username)
        .password(cred.password().expose_secret());
    if !env.database.is_empty() {
        o = o.database(&env.database);
    }
    if let Some(mode) = s.mode {
        o = o.ssl_mode(match mode {
            TlsMode::Disable => MySqlSslMode::Disabled,
            TlsMode::Allow | TlsMode::Prefer => MySqlSslMode::Preferred,
            TlsMode::Require => MySqlSslMode::Required,
            TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
            TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
        });
    }
    if let Some(p) = &s.root_cert {
        o = o.ssl_ca(p);
    }
    if let Some(p) = &s.client_cert {
        o = o.ssl_client_cert(p);
    }
    if let Some(p) = &s.client_key {
        o = o.ssl_client_key(p);
    }
    Ok(o)
}

/// A connected PostgreSQL pool for the environment `name`
/// (`DBCREDS_<NAME>_*` variables first, then the agent). Fails at once when
/// the first connection fails, with a [`Reason`] that says why.
///
/// ```no_run
/// # async fn demo() -> dbcreds_sqlx::Result<()> {
/// let pool = dbcreds_sqlx::pg_pool("prod").await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "postgres")]
pub async fn pg_pool(name: &str) -> Result<sqlx::PgPool> {
    pg_pool_for(&dbcreds::get(name).await?).await
}

/// A connected PostgreSQL pool for a credential already in hand (after a
/// [`dbcreds::Client::get`], for example to rebuild a pool after a rotation).
#[cfg(feature = "postgres")]
pub async fn pg_pool_for(cred: &Credential) -> Result<sqlx::PgPool> {
    pool_for(cred, pg_options).await
}

/// A connected MySQL/MariaDB pool for the environment `name`.
///
/// ```no_run
/// # async fn demo() -> dbcreds_sqlx::Result<()> {
/// let pool = dbcreds_sqlx::mysql_pool("shop").await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "mysql")]
pub async fn mysql_pool(name: &str) -> Result<sqlx::MySqlPool> {
    mysql_pool_for(&dbcreds::get(name).await?).await
}

/// A connected MySQL/MariaDB pool for a credential already in hand.
#[cfg(feature = "mysql")]
pub async fn mysql_pool_for(cred: &Credential) -> Result<sqlx::MySqlPool> {
    pool_for(cred, mysql_options).await
}

/// A pool connected with `options(cred)`, waiting for a connection at most
/// the environment's `connect_timeout`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn pool_for<DB: sqlx::Database>(
    cred: &Credential,
    options: fn(&Credential) -> Result<<DB::Connection as sqlx::Connection>::Options>,
) -> Result<sqlx::Pool<DB>> {
    let timeout = settings(cred)?.connect_timeout;
    Ok(sqlx::pool::PoolOptions::<DB>::new()
        .acquire_timeout(timeout)
        .connect_with(options(cred)?)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    use dbcreds::{EnvName, Environment};

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn cred(kind: DatabaseKind, opts: &[(&str, &str)]) -> Credential {
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), kind);
        env.host = "db.internal".into();
        env.database = "app".into();
        env.username = "app".into();
        for (k, v) in opts {
            env.options.insert((*k).into(), (*v).into());
        }
        Credential::new(env, "pw".to_owned().into())
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn pg_options_carry_the_tls_mode() {
        use sqlx::postgres::PgSslMode;
        let o = pg_options(&cred(DatabaseKind::Postgres, &[("sslmode", "verify-full")])).unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyFull));
        assert_eq!(o.get_host(), "db.internal");
        assert_eq!(o.get_database(), Some("app"));
        assert!(pg_options(&cred(DatabaseKind::Mysql, &[])).is_err());
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_options_map_pg_mode_names() {
        use sqlx::mysql::MySqlSslMode;
        let o = mysql_options(&cred(DatabaseKind::Mariadb, &[("sslmode", "require")])).unwrap();
        assert!(matches!(o.get_ssl_mode(), MySqlSslMode::Required));
        let o = mysql_options(&cred(
            DatabaseKind::Mysql,
            &[("ssl-mode", "VERIFY_IDENTITY")],
        ))
        .unwrap();
        assert!(matches!(o.get_ssl_mode(), MySqlSslMode::VerifyIdentity));
    }

    #[test]
    fn classification() {
        assert_eq!(classify(&sqlx::Error::Tls("no".into())), Reason::TlsFailed);
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), Reason::Unreachable);
    }
}

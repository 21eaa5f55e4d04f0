//! Connecting to an environment's database from the agent, with sqlx
//! (PostgreSQL, MySQL/MariaDB, SQLite), its TLS options applied and a
//! bounded connect time; and the words for every way that can fail.

use std::time::{Duration, Instant};

use dbcreds::{Credential, DatabaseKind, Reason};
use sqlx::{ConnectOptions, Connection};

use crate::error::DbError;

/// An open connection of any supported kind.
pub enum Conn {
    Pg(sqlx::PgConnection),
    My(sqlx::MySqlConnection),
    Lite(sqlx::SqliteConnection),
}

/// What a successful test found.
pub struct Probe {
    /// "PostgreSQL 15.4 (Debian ...)", "MariaDB 10.11.6-MariaDB-...", ...
    pub version: String,
    pub tls: bool,
    pub latency: Duration,
}

/// "host:port", or the file of a SQLite database.
fn target(cred: &Credential) -> String {
    let env = cred.environment();
    if env.kind.has_server() {
        if env.host.contains(':') {
            format!("[{}]:{}", env.host, env.port)
        } else {
            format!("{}:{}", env.host, env.port)
        }
    } else {
        env.database.clone()
    }
}

/// Kinds the agent has no driver for.
pub fn unsupported(cred: &Credential, what: &str) -> DbError {
    let env = cred.environment();
    DbError {
        reason: Reason::Unsupported,
        message: format!(
            "dbcreds has no driver for {} databases, so it cannot {what} '{}': it can for postgres, mysql, mariadb and sqlite",
            env.kind, env.name
        ),
    }
}

/// The driver's own words for `err`, one line, without the generic prefix
/// sqlx puts in front. Drivers never echo the password.
fn detail(err: &sqlx::Error) -> String {
    let text = match err {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(e) => e.to_string(),
        sqlx::Error::Tls(e) => {
            // rustls' reason sits at the end of the source chain.
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e.as_ref());
            while let Some(inner) = src {
                s = format!("{s}: {inner}");
                src = inner.source();
            }
            s
        }
        other => other.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Turns a driver error into the agent's error, with what to do next.
pub fn describe(cred: &Credential, err: &sqlx::Error) -> DbError {
    let reason = dbcreds_sqlx::classify(err);
    if let sqlx::Error::Protocol(detail) = err {
        let env = cred.environment();
        return DbError {
            reason,
            message: format!(
                "something answered at {} but it is not a {} server ({detail}): check the host and port (`dbcreds show {}`)",
                target(cred),
                env.kind,
                env.name
            ),
        };
    }
    explain(cred, reason, &detail(err))
}

pub fn explain(cred: &Credential, reason: Reason, detail: &str) -> DbError {
    let env = cred.environment();
    let (kind, name, at) = (env.kind, &env.name, target(cred));
    let message = match reason {
        Reason::Unreachable if env.kind.has_server() => format!(
            "cannot reach the {kind} server at {at} ({detail}): check the host and port (`dbcreds show {name}`) and that the server is up"
        ),
        Reason::Unreachable => format!(
            "cannot open the {kind} database {at} ({detail}): check the path (`dbcreds show {name}`)"
        ),
        Reason::LoginFailed => format!(
            "the {kind} server at {at} refused the login of user '{user}' ({detail}): the stored password is wrong or the server's access rules reject it; set the right one with `dbcreds update {name} --password`",
            user = env.username
        ),
        Reason::TlsFailed => format!(
            "TLS with the {kind} server at {at} failed ({detail}): the server has no TLS, or its certificate did not verify; check the sslmode and sslrootcert options (`dbcreds show {name}`)"
        ),
        Reason::Invalid => format!(
            "the connection options of '{name}' are unusable ({detail}): fix them with `dbcreds update {name} --option KEY=VALUE`"
        ),
        _ => format!("the {kind} server at {at} answered with an error: {detail}"),
    };
    DbError { reason, message }
}

/// Opens a connection, within the environment's connect timeout (default
/// 5 s) so an unreachable host fails fast.
pub async fn connect(cred: &Credential) -> Result<Conn, DbError> {
    let env = cred.environment();
    let settings = dbcreds_sqlx::settings(cred).map_err(|e| DbError {
        reason: Reason::Invalid,
        message: e.to_string(),
    })?;
    let timeout = settings.connect_timeout;
    let attempt = async {
        match env.kind {
            DatabaseKind::Postgres => {
                let opts = dbcreds_sqlx::pg_options(cred)
                    .map_err(|e| explain(cred, Reason::Invalid, &e.to_string()))?
                    .application_name("dbcreds-agent")
                    // sqlx logs statements at debug level; a rotation's
                    // statement carries a verifier (or, on MySQL, the
                    // password), which has no place in the agent's log.
                    .disable_statement_logging();
                sqlx::PgConnection::connect_with(&opts)
                    .await
                    .map(Conn::Pg)
                    .map_err(|e| describe(cred, &e))
            }
            DatabaseKind::Mysql | DatabaseKind::Mariadb => {
                let opts = dbcreds_sqlx::mysql_options(cred)
                    .map_err(|e| explain(cred, Reason::Invalid, &e.to_string()))?
                    .disable_statement_logging();
                sqlx::MySqlConnection::connect_with(&opts)
                    .await
                    .map(Conn::My)
                    .map_err(|e| describe(cred, &e))
            }
            DatabaseKind::Sqlite => {
                // Read-only and never created: a test must not leave an
                // empty database where a path was mistyped.
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&env.database)
                    .read_only(true)
                    .create_if_missing(false);
                sqlx::SqliteConnection::connect_with(&opts)
                    .await
                    .map(Conn::Lite)
                    .map_err(|e| match e {
                        // A missing or unreadable file is the SQLite way of
                        // "unreachable".
                        sqlx::Error::Database(ref db) if db.code().as_deref() == Some("14") => {
                            explain(cred, Reason::Unreachable, &detail(&e))
                        }
                        other => describe(cred, &other),
                    })
            }
            _ => Err(unsupported(cred, "connect to")),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(explain(
            cred,
            Reason::Unreachable,
            &format!("no answer within {} s", timeout.as_secs()),
        )),
    }
}

impl Conn {
    /// The server's version, and whether this connection is encrypted.
    pub async fn inspect(&mut self) -> Result<(String, bool), sqlx::Error> {
        match self {
            Conn::Pg(c) => {
                let v: String = sqlx::query_scalar("SHOW server_version")
                    .fetch_one(&mut *c)
                    .await?;
                let tls: Option<bool> =
                    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                        .fetch_optional(&mut *c)
                        .await?;
                Ok((format!("PostgreSQL {v}"), tls.unwrap_or(false)))
            }
            Conn::My(c) => {
                let v: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(&mut *c)
                    .await?;
                let cipher: Option<(String, String)> =
                    sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                        .fetch_optional(&mut *c)
                        .await?;
                let product = if v.contains("MariaDB") {
                    "MariaDB"
                } else {
                    "MySQL"
                };
                Ok((
                    format!("{product} {v}"),
                    cipher.is_some_and(|(_, c)| !c.is_empty()),
                ))
            }
            Conn::Lite(c) => {
                let v: String = sqlx::query_scalar("SELECT sqlite_version()")
                    .fetch_one(&mut *c)
                    .await?;
                Ok((format!("SQLite {v}"), false))
            }
        }
    }

    /// Whether this is a MariaDB server (which takes `mysql_native_password`
    /// hashes in `SET PASSWORD`/`ALTER USER`), as opposed to MySQL.
    pub async fn is_mariadb(&mut self) -> Result<bool, sqlx::Error> {
        match self {
            Conn::My(c) => {
                let v: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(&mut *c)
                    .await?;
                Ok(v.contains("MariaDB"))
            }
            _ => Ok(false),
        }
    }

    pub async fn close(self) {
        // A failed goodbye changes nothing for the caller.
        let _ = match self {
            Conn::Pg(c) => c.close().await,
            Conn::My(c) => c.close().await,
            Conn::Lite(c) => c.close().await,
        };
    }
}

/// Connects, asks for the version, and measures the whole.
pub async fn probe(cred: &Credential) -> Result<Probe, DbError> {
    let started = Instant::now();
    let mut conn = connect(cred).await?;
    let inspected = conn.inspect().await;
    let latency = started.elapsed();
    conn.close().await;
    let (version, tls) = inspected.map_err(|e| describe(cred, &e))?;
    Ok(Probe {
        version,
        tls,
        latency,
    })
}

/// The answer to "does this password log in?", as a rotation needs it: a
/// refusal is an answer; an unreachable server is not.
pub enum Login {
    Works,
    Refused,
    Unknown(DbError),
}

pub async fn try_login(cred: &Credential) -> Login {
    match connect(cred).await {
        Ok(c) => {
            c.close().await;
            Login::Works
        }
        Err(e) if e.reason == Reason::LoginFailed => Login::Refused,
        Err(e) => Login::Unknown(e),
    }
}

//! Step 2 of a rotation: changing the user's password on the server while
//! sending only what the server stores (a SCRAM-SHA-256 verifier, a
//! `mysql_native_password` hash), never the password itself.

use dbcreds::{Credential, Reason};
use secrecy::{ExposeSecret, SecretString};

use super::connect::{self, Conn};
use super::scram;
use crate::error::DbError;

/// `ALTER ROLE`'s role name as a quoted identifier.
fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A MySQL string literal for names (user and host of an account).
fn my_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// How setting the password on the server failed.
pub(super) enum Set {
    /// The server has not changed: the connection failed, or the statement
    /// was refused.
    Untouched(DbError),
    /// The statement may or may not have taken effect.
    Unknown(DbError),
}

/// Step 2: logs in (as the user, or as `admin`) and changes the user's
/// password to `new`, sending only what the server stores.
pub(super) async fn set_on_server(
    user: &Credential,
    admin: Option<&Credential>,
    new: &SecretString,
) -> std::result::Result<(), Set> {
    let via = admin.unwrap_or(user);
    let env = user.environment();
    let mut conn = connect::connect(via).await.map_err(Set::Untouched)?;
    let statement = match &mut conn {
        Conn::Pg(_) => format!(
            "ALTER ROLE {} PASSWORD '{}'",
            pg_ident(&env.username),
            scram::pg_scram_verifier(new.expose_secret())
        ),
        Conn::My(_) => {
            let mariadb = conn
                .is_mariadb()
                .await
                .map_err(|e| Set::Untouched(connect::describe(via, &e)))?;
            let account = match admin {
                None => None,
                Some(_) => Some(
                    mysql_account(user, &mut conn)
                        .await
                        .map_err(Set::Untouched)?,
                ),
            };
            mysql_statement(mariadb, account.as_deref(), new)
        }
        Conn::Lite(_) => {
            return Err(Set::Untouched(DbError {
                reason: Reason::Unsupported,
                message: "SQLite has no server password to rotate".into(),
            }));
        }
    };
    let result = match &mut conn {
        Conn::Pg(c) => sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut *c)
            .await
            .map(drop),
        Conn::My(c) => sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut *c)
            .await
            .map(drop),
        Conn::Lite(_) => Ok(()),
    };
    conn.close().await;
    match result {
        Ok(()) => Ok(()),
        // The server answered with an error: the statement did nothing.
        Err(e @ sqlx::Error::Database(_)) => {
            let d = connect::describe(via, &e);
            Err(Set::Untouched(DbError {
                reason: Reason::DatabaseError,
                message: format!(
                    "the server refused to change the password of '{}' ({}){}",
                    env.username,
                    d.message,
                    if admin.is_none() {
                        "; if the user may not change its own password, rotate through an admin environment with --admin ENV"
                    } else {
                        ""
                    }
                ),
            }))
        }
        Err(e) => Err(Set::Unknown(connect::describe(via, &e))),
    }
}

/// The statement that sets `new` on MariaDB/MySQL. MariaDB takes the
/// `mysql_native_password` hash, so the password is not in the SQL. MySQL
/// 8 has no hash form for its default `caching_sha2_password`: there the
/// password goes in the statement, which MySQL itself rewrites out of its
/// general, slow and binary logs.
fn mysql_statement(mariadb: bool, account: Option<&str>, new: &SecretString) -> String {
    match (mariadb, account) {
        (true, None) => format!(
            "SET PASSWORD = '{}'",
            scram::mysql_native_hash(new.expose_secret())
        ),
        (true, Some(acct)) => format!(
            "ALTER USER {acct} IDENTIFIED BY PASSWORD '{}'",
            scram::mysql_native_hash(new.expose_secret())
        ),
        // The alphabet has no quote or backslash, so the literal needs no
        // escaping.
        (false, None) => format!("ALTER USER USER() IDENTIFIED BY '{}'", new.expose_secret()),
        (false, Some(acct)) => format!("ALTER USER {acct} IDENTIFIED BY '{}'", new.expose_secret()),
    }
}

/// `'user'@'host'` of the account the user logs in as, for `--admin`: from
/// `CURRENT_USER()` when its current password still works, else the one
/// account of that user name in `mysql.user` (through the admin).
async fn mysql_account(
    user: &Credential,
    admin_conn: &mut Conn,
) -> std::result::Result<String, DbError> {
    let name = &user.environment().username;
    if let Ok(mut c) = connect::connect(user).await {
        let who: std::result::Result<String, _> = match &mut c {
            Conn::My(m) => {
                sqlx::query_scalar("SELECT CURRENT_USER()")
                    .fetch_one(&mut *m)
                    .await
            }
            _ => Err(sqlx::Error::RowNotFound),
        };
        c.close().await;
        if let Ok(who) = who
            && let Some((u, h)) = who.rsplit_once('@')
        {
            return Ok(format!("{}@{}", my_string(u), my_string(h)));
        }
    }
    let Conn::My(m) = admin_conn else {
        return Err(DbError {
            reason: Reason::Invalid,
            message: "the admin environment is not MySQL/MariaDB".into(),
        });
    };
    let hosts: Vec<String> = sqlx::query_scalar("SELECT Host FROM mysql.user WHERE User = ?")
        .bind(name)
        .fetch_all(&mut *m)
        .await
        .map_err(|e| connect::describe(user, &e))?;
    match hosts.as_slice() {
        [h] => Ok(format!("{}@{}", my_string(name), my_string(h))),
        [] => Err(DbError {
            reason: Reason::DatabaseError,
            message: format!("the server has no account for user '{name}'"),
        }),
        many => Err(DbError {
            reason: Reason::DatabaseError,
            message: format!(
                "user '{name}' has accounts for several hosts ({}) and its current password does not log in to tell which: fix the current password first (`dbcreds update {} --password`)",
                many.join(", "),
                user.environment().name
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(pg_ident("app"), "\"app\"");
        assert_eq!(pg_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(my_string("o'neil"), "'o\\'neil'");
    }

    #[test]
    fn mariadb_statements_carry_the_hash_not_the_password() {
        let pw = SecretString::from("Secret-Pass.123456".to_owned());
        for account in [None, Some("'app'@'%'")] {
            let sql = mysql_statement(true, account, &pw);
            assert!(!sql.contains("Secret-Pass"), "{sql}");
            assert!(sql.contains(&scram::mysql_native_hash("Secret-Pass.123456")));
        }
        assert!(mysql_statement(true, None, &pw).starts_with("SET PASSWORD = '*"));
    }
}

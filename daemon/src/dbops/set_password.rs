//! Step 2 of a rotation: changing the user's password on the server while
//! sending only what the server stores (a SCRAM-SHA-256 verifier, a
//! `mysql_native_password` hash), never the password itself.

use dbcreds::{Credential, Reason};
use secrecy::{ExposeSecret, SecretString};

use super::connect::{self, Conn};
use super::{accounts, scram};
use crate::error::DbError;

/// `ALTER ROLE`'s role name as a quoted identifier.
fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How setting the password on the server failed.
pub(super) enum Set {
    /// The server has not changed: the connection failed, or the statement
    /// was refused.
    Untouched(DbError),
    /// The statement may or may not have taken effect.
    Unknown(DbError),
}

/// What setting the password changed.
#[derive(Debug, Default)]
pub(super) struct Applied {
    /// MySQL/MariaDB: the accounts changed, as `'user'@'host'`.
    pub accounts: Vec<String>,
    /// What the user should know beside (accounts left alone, ...).
    pub notes: Vec<String>,
}

/// Step 2: logs in (as the user, or as `admin`) and changes the user's
/// password to `new`, sending only what the server stores. MySQL/MariaDB:
/// every account of the user name that [`accounts::plan`] picks (or those
/// of `hosts`), in one statement.
pub(super) async fn set_on_server(
    user: &Credential,
    admin: Option<&Credential>,
    new: &SecretString,
    hosts: &[String],
) -> std::result::Result<Applied, Set> {
    let via = admin.unwrap_or(user);
    let env = user.environment();
    let mut conn = connect::connect(via).await.map_err(Set::Untouched)?;
    let mut applied = Applied::default();
    let mut own_host = String::new();
    let statement = match &mut conn {
        Conn::Pg(_) => format!(
            "ALTER ROLE {} PASSWORD '{}'",
            pg_ident(&env.username),
            scram::pg_scram_verifier(new.expose_secret())
        ),
        Conn::My(m) => {
            let plan = accounts::plan(user, admin, m, hosts)
                .await
                .map_err(Set::Untouched)?;
            let mariadb = conn
                .is_mariadb()
                .await
                .map_err(|e| Set::Untouched(connect::describe(via, &e)))?;
            applied.accounts = plan
                .hosts
                .iter()
                .map(|h| accounts::account(&env.username, h))
                .collect();
            applied.notes = plan.notes;
            own_host = plan.hosts.first().cloned().unwrap_or_default();
            // The user alone, changing only the account it logs in to:
            // SET PASSWORD, which needs no privilege.
            let own_only = admin.is_none() && plan.own.is_some() && plan.hosts.len() == 1;
            if own_only {
                mysql_statement(mariadb, &[], new)
            } else {
                mysql_statement(mariadb, &applied.accounts, new)
            }
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
    let several = applied.accounts.len() > 1;
    match result {
        Ok(()) => Ok(applied),
        // MariaDB goes on past an account it cannot change (ER_CANNOT_USER)
        // and changes the others: which password each has is unknown.
        Err(e @ sqlx::Error::Database(_)) if several && accounts::server_code(&e) == Some(1396) => {
            let d = connect::describe(via, &e);
            Err(Set::Unknown(DbError {
                reason: Reason::DatabaseError,
                message: format!(
                    "the server changed some of the accounts {} but not all ({})",
                    applied.accounts.join(", "),
                    d.message
                ),
            }))
        }
        // The server answered with an error: the statement did nothing.
        Err(e @ sqlx::Error::Database(_)) => {
            let d = connect::describe(via, &e);
            let whose = if several {
                format!("the accounts {}", applied.accounts.join(", "))
            } else {
                format!("'{}'", env.username)
            };
            let hint = match (admin.is_none(), several) {
                (true, true) => format!(
                    "; a user may change only its own account unless it has the CREATE USER privilege: rotate through an admin environment with --admin ENV, or change only the account it logs in to with --hosts {}",
                    own_host
                ),
                (true, false) => "; if the user may not change its own password, rotate through an admin environment with --admin ENV".to_owned(),
                (false, _) => String::new(),
            };
            Err(Set::Untouched(DbError {
                reason: Reason::DatabaseError,
                message: format!(
                    "the server refused to change the password of {whose} ({}){hint}",
                    d.message
                ),
            }))
        }
        Err(e) => Err(Set::Unknown(connect::describe(via, &e))),
    }
}

/// The statement that sets `new` on MariaDB/MySQL: for the account logged
/// in when `accounts` is empty, else for each of `accounts` (quoted
/// `'user'@'host'`), in one statement. MariaDB takes the
/// `mysql_native_password` hash, so the password is not in the SQL. MySQL
/// 8 has no hash form for its default `caching_sha2_password`: there the
/// password goes in the statement, which MySQL itself rewrites out of its
/// general, slow and binary logs.
fn mysql_statement(mariadb: bool, accounts: &[String], new: &SecretString) -> String {
    // The alphabet has no quote or backslash, so the MySQL literal needs no
    // escaping.
    let how = if mariadb {
        format!(
            "IDENTIFIED BY PASSWORD '{}'",
            scram::mysql_native_hash(new.expose_secret())
        )
    } else {
        format!("IDENTIFIED BY '{}'", new.expose_secret())
    };
    match (mariadb, accounts) {
        (true, []) => format!(
            "SET PASSWORD = '{}'",
            scram::mysql_native_hash(new.expose_secret())
        ),
        (false, []) => format!("ALTER USER USER() {how}"),
        (_, many) => format!(
            "ALTER USER {}",
            many.iter()
                .map(|a| format!("{a} {how}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(pg_ident("app"), "\"app\"");
        assert_eq!(pg_ident("we\"ird"), "\"we\"\"ird\"");
    }

    #[test]
    fn mariadb_statements_carry_the_hash_not_the_password() {
        let pw = SecretString::from("Secret-Pass.123456".to_owned());
        let two = ["'app'@'%'".to_owned(), "'app'@'localhost'".to_owned()];
        for accounts in [&[][..], &two[..1], &two[..]] {
            let sql = mysql_statement(true, accounts, &pw);
            assert!(!sql.contains("Secret-Pass"), "{sql}");
            assert!(sql.contains(&scram::mysql_native_hash("Secret-Pass.123456")));
        }
        assert!(mysql_statement(true, &[], &pw).starts_with("SET PASSWORD = '*"));
        let both = mysql_statement(true, &two, &pw);
        assert!(
            both.starts_with("ALTER USER 'app'@'%' IDENTIFIED BY PASSWORD '*"),
            "{both}"
        );
        assert!(
            both.contains(", 'app'@'localhost' IDENTIFIED BY PASSWORD '*"),
            "{both}"
        );
    }
}

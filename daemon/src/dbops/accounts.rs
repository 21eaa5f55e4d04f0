//! Which MySQL/MariaDB accounts a rotation changes. An account is
//! `'user'@'host'`, and one user name often has several: `'app'@'%'` for
//! TCP clients, `'app'@'localhost'` for clients on the server's socket.
//! A client reaches whichever account matches where it connects from, so a
//! rotation that changed only the account the agent logs in to would lock
//! the same environment out everywhere else (a `mariadb` client on the
//! socket, say). A rotation therefore changes, in one statement:
//!
//! - with `--hosts`: exactly the accounts of those hosts;
//! - else the account the environment logs in to (`CURRENT_USER()`) and
//!   every other account of that user name in `mysql.user` with the same
//!   password (the same plugin and stored hash); accounts of the name with
//!   another password are left alone and named in a note;
//! - when `mysql.user` cannot be read (a plain user may not): only the
//!   account the environment logs in to, with a note saying so.

use dbcreds::{Credential, Reason};
use sqlx::MySqlConnection;

use super::connect::{self, Conn};
use crate::error::DbError;

/// A MySQL string literal for names (user and host of an account).
pub(super) fn my_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `'user'@'host'`, quoted for SQL (and shown to people as it is).
pub(super) fn account(user: &str, host: &str) -> String {
    format!("{}@{}", my_string(user), my_string(host))
}

/// The accounts to change, and what to tell the user about the others.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Hosts of the accounts of the environment's user name, the one it
    /// logs in to first.
    pub hosts: Vec<String>,
    /// The host of the account the environment logs in to, when known.
    pub own: Option<String>,
    pub notes: Vec<String>,
}

/// One row of `mysql.user` for the user name.
struct Row {
    host: String,
    plugin: String,
    auth: String,
}

/// The MySQL error number of `e` (not its SQLSTATE), if the server sent
/// one.
pub(super) fn server_code(e: &sqlx::Error) -> Option<u16> {
    match e {
        sqlx::Error::Database(d) => d
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(sqlx::mysql::MySqlDatabaseError::number),
        _ => None,
    }
}

/// `ER_TABLEACCESS_DENIED_ERROR`, `ER_COLUMNACCESS_DENIED_ERROR`,
/// `ER_DBACCESS_DENIED_ERROR`, `ER_SPECIFIC_ACCESS_DENIED_ERROR`.
fn is_access_denied(e: &sqlx::Error) -> bool {
    matches!(server_code(e), Some(1142 | 1143 | 1044 | 1227))
}

/// The host part of `CURRENT_USER()` on `conn` when its user part is
/// `user` (an anonymous account may have matched instead).
async fn current_host(
    conn: &mut MySqlConnection,
    user: &str,
) -> Result<Option<String>, sqlx::Error> {
    let who: String = sqlx::query_scalar("SELECT CAST(CURRENT_USER() AS CHAR)")
        .fetch_one(&mut *conn)
        .await?;
    Ok(who
        .rsplit_once('@')
        .filter(|(u, _)| *u == user)
        .map(|(_, h)| h.to_owned()))
}

/// The account `user` logs in to with its current password, through its
/// own login (for `--admin`, where `via` is another one); `None` when that
/// password no longer logs in.
async fn own_host(user: &Credential) -> Option<String> {
    let mut c = connect::connect(user).await.ok()?;
    let host = match &mut c {
        Conn::My(m) => current_host(m, &user.environment().username)
            .await
            .ok()
            .flatten(),
        _ => None,
    };
    c.close().await;
    host
}

/// The rows of `mysql.user` for `user`; `None` when `conn` may not read it.
async fn read_rows(
    conn: &mut MySqlConnection,
    user: &str,
) -> Result<Option<Vec<Row>>, sqlx::Error> {
    let rows: Vec<(String, String, String)> = match sqlx::query_as(
        "SELECT CAST(Host AS CHAR), CAST(plugin AS CHAR), CAST(authentication_string AS CHAR) \
         FROM mysql.user WHERE User = ? ORDER BY Host",
    )
    .bind(user)
    .fetch_all(&mut *conn)
    .await
    {
        Ok(rows) => rows,
        Err(e) if is_access_denied(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(
        rows.into_iter()
            .map(|(host, plugin, auth)| Row { host, plugin, auth })
            .collect(),
    ))
}

/// Checks the `--hosts` of a rotation: 1-32 host patterns of at most 255
/// bytes, no control characters; duplicates dropped.
pub fn check_hosts(hosts: &[String]) -> Result<Vec<String>, String> {
    if hosts.len() > 32 {
        return Err(format!("--hosts names {} hosts: at most 32", hosts.len()));
    }
    let mut out: Vec<String> = Vec::new();
    for h in hosts {
        let h = h.trim();
        if h.is_empty() || h.len() > 255 || h.chars().any(char::is_control) {
            return Err(format!(
                "--hosts: {h:?} is not a host of an account (1-255 characters, like %, localhost or 10.0.0.%)"
            ));
        }
        if !out.iter().any(|o| o == h) {
            out.push(h.to_owned());
        }
    }
    Ok(out)
}

/// Decides which accounts of the environment's user name to change (see
/// the module's documentation). `conn` is the connection the statement
/// will run on: the user's own, or the admin's.
pub(super) async fn plan(
    user: &Credential,
    admin: Option<&Credential>,
    conn: &mut MySqlConnection,
    hosts: &[String],
) -> Result<Plan, DbError> {
    let via = admin.unwrap_or(user);
    let env = user.environment();
    let name = env.username.as_str();
    let own = match admin {
        None => current_host(conn, name)
            .await
            .map_err(|e| connect::describe(via, &e))?,
        Some(_) => own_host(user).await,
    };
    let who = match admin {
        None => format!("user '{name}'"),
        Some(a) => format!("the admin environment '{}'", a.environment().name),
    };

    if !hosts.is_empty() {
        if let Some(o) = &own
            && !hosts.contains(o)
        {
            return Err(DbError {
                reason: Reason::Invalid,
                message: format!(
                    "--hosts {} leaves out {}, the account '{}' logs in to, so the new password would not log in: add {o}",
                    hosts.join(","),
                    account(name, o),
                    env.name
                ),
            });
        }
        let mut ordered: Vec<String> = own.iter().cloned().collect();
        ordered.extend(hosts.iter().filter(|h| Some(*h) != own.as_ref()).cloned());
        return Ok(Plan {
            hosts: ordered,
            own,
            notes: Vec::new(),
        });
    }

    let rows = read_rows(conn, name)
        .await
        .map_err(|e| connect::describe(via, &e))?;
    let Some(rows) = rows else {
        let Some(o) = own else {
            return Err(DbError {
                reason: Reason::DatabaseError,
                message: format!(
                    "cannot tell which account of user '{name}' to change: its current password does not log in, and {who} may not read mysql.user; name the accounts with --hosts HOST,... or fix the current password first (`dbcreds update {} --password`)",
                    env.name
                ),
            });
        };
        let note = format!(
            "{who} may not read mysql.user, so dbcreds could not look for other accounts of user '{name}' than {}, the one '{}' logs in to; only that one was changed. If '{name}' has accounts for other hosts (for the server's socket, say), rotate through an --admin that may read mysql.user, or name them all with --hosts",
            account(name, &o),
            env.name
        );
        return Ok(Plan {
            hosts: vec![o.clone()],
            own: Some(o),
            notes: vec![note],
        });
    };

    let Some(o) = own else {
        // The current password does not log in: only an unambiguous
        // account can be told.
        return match rows.as_slice() {
            [r] => Ok(Plan {
                hosts: vec![r.host.clone()],
                own: None,
                notes: Vec::new(),
            }),
            [] => Err(DbError {
                reason: Reason::DatabaseError,
                message: format!("the server has no account for user '{name}'"),
            }),
            many => Err(DbError {
                reason: Reason::DatabaseError,
                message: format!(
                    "user '{name}' has accounts for several hosts ({}) and its current password does not log in to tell which it uses: name them with --hosts HOST,..., or fix the current password first (`dbcreds update {} --password`)",
                    many.iter()
                        .map(|r| r.host.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    env.name
                ),
            }),
        };
    };
    let mine = rows.iter().find(|r| r.host == o);
    let same = |r: &Row| {
        mine.is_some_and(|m| !m.auth.is_empty() && r.plugin == m.plugin && r.auth == m.auth)
    };
    let mut plan = Plan {
        hosts: vec![o.clone()],
        own: Some(o.clone()),
        notes: Vec::new(),
    };
    let mut left = Vec::new();
    for r in rows.iter().filter(|r| r.host != o) {
        if same(r) {
            plan.hosts.push(r.host.clone());
        } else {
            left.push(account(name, &r.host));
        }
    }
    if !left.is_empty() {
        plan.notes.push(format!(
            "left alone: {} of user '{name}' {} another password than {} (or one dbcreds cannot compare); to change {} too, name the hosts with --hosts",
            left.join(", "),
            if left.len() == 1 { "has" } else { "have" },
            account(name, &o),
            if left.len() == 1 { "it" } else { "them" },
        ));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked_and_deduplicated() {
        let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_hosts(&v(&["%", " localhost ", "%"])).unwrap(),
            v(&["%", "localhost"])
        );
        assert!(check_hosts(&v(&[""])).is_err());
        assert!(check_hosts(&v(&["a\nb"])).is_err());
        assert!(check_hosts(&vec!["h".to_owned(); 33]).is_err());
        assert_eq!(account("o'neil", "%"), "'o\\'neil'@'%'");
    }
}

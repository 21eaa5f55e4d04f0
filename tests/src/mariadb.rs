//! MariaDB beyond one `name@'%'` login: more accounts of the same user name
//! (`'name'@'localhost'`, reached through the server's socket, beside
//! `'name'@'%'`, reached over TCP), what the server stores for each, and a
//! database of the test's own.

use std::process::Command;

use crate::bins::path_var;
use crate::databases::{MariaTestUser, mariadb_root, unique_db_name};
use crate::output::{Output, run};

/// The hosts (besides `%`) whose accounts the tests create, so that
/// dropping a login drops them all.
pub const EXTRA_HOSTS: &[&str] = &["localhost", "127.0.0.1", "192.0.2.1"];

/// `DROP USER` of every account of `name` the tests create.
pub fn drop_all_accounts_sql(name: &str) -> String {
    let mut accounts = vec![format!("'{name}'@'%'")];
    accounts.extend(EXTRA_HOSTS.iter().map(|h| format!("'{name}'@'{h}'")));
    format!("DROP USER IF EXISTS {}", accounts.join(", "))
}

/// The `mariadb` client as `name` with `password`, in a clean environment:
/// over TCP to 127.0.0.1 (`host` = `Some("127.0.0.1")`) or, with `None`,
/// through the server's Unix socket (where the server sees `localhost`).
pub fn mariadb_as(name: &str, password: &str, host: Option<&str>, sql: &str) -> Output {
    let mut cmd = Command::new("mariadb");
    cmd.env_clear()
        .env("PATH", path_var())
        .env("MYSQL_PWD", password)
        .args(["--no-defaults", "--connect-timeout=10"]);
    if let Some(h) = host {
        cmd.args(["-h", h]);
    }
    cmd.args(["-u", name, "-N", "-B", "-e", sql]);
    run(cmd, None)
}

impl MariaTestUser {
    /// Adds the account `'name'@'host'` with the login's own password
    /// (`host` one of [`EXTRA_HOSTS`]).
    pub fn add_account(&self, host: &str) {
        self.add_account_with(host, &self.password);
    }

    /// Adds the account `'name'@'host'` with `password`.
    pub fn add_account_with(&self, host: &str, password: &str) {
        assert!(
            EXTRA_HOSTS.contains(&host),
            "{host} is not dropped with the login"
        );
        let pw = password.replace('\\', "\\\\").replace('\'', "\\'");
        mariadb_root(&format!(
            "CREATE USER '{}'@'{host}' IDENTIFIED BY '{pw}'",
            self.name
        ))
        .ok();
    }

    /// Runs `GRANT {what} TO` every account of this login (`%` and those
    /// added), e.g. `SELECT ON mysql.user`, `CREATE USER ON *.*`.
    pub fn grant(&self, what: &str) {
        for host in self.hosts() {
            mariadb_root(&format!("GRANT {what} TO '{}'@'{host}'", self.name)).ok();
        }
    }

    /// The hosts of this login's accounts, from `mysql.user`.
    pub fn hosts(&self) -> Vec<String> {
        let out = mariadb_root(&format!(
            "SELECT Host FROM mysql.user WHERE User = '{}' ORDER BY Host",
            self.name
        ));
        out.ok();
        out.stdout.lines().map(str::to_owned).collect()
    }

    /// What the server stores as the password of `'name'@'host'`.
    pub fn stored_hash(&self, host: &str) -> String {
        let out = mariadb_root(&format!(
            "SELECT authentication_string FROM mysql.user WHERE User = '{}' AND Host = '{host}'",
            self.name
        ));
        out.ok();
        out.stdout.trim().to_owned()
    }

    /// Whether `password` logs in through the socket (the `localhost`
    /// account); a failure other than a refused password panics.
    #[track_caller]
    pub fn socket_login(&self, password: &str) -> bool {
        let out = mariadb_as(&self.name, password, None, "SELECT CURRENT_USER()");
        if out.code == Some(0) {
            assert_eq!(
                out.stdout.trim(),
                format!("{}@localhost", self.name),
                "{out}"
            );
            return true;
        }
        assert!(out.stderr.contains("Access denied"), "{out}");
        false
    }

    /// Asserts that TCP (`'name'@'%'`) and the socket (`'name'@'localhost'`)
    /// both take `new` and refuse `old`.
    #[track_caller]
    pub fn assert_both_take_only(&self, new: &str, old: &str) {
        self.assert_takes_only(new, old);
        assert!(
            self.socket_login(new),
            "the localhost account refuses the new password"
        );
        assert!(
            !self.socket_login(old),
            "the localhost account still takes the old password"
        );
    }
}

/// A MariaDB database of this test, on which `user` (its `%` account) has
/// every right; dropped with the value.
pub struct MariaTestDb {
    pub name: String,
}

impl MariaTestDb {
    pub fn create(user: &MariaTestUser) -> Self {
        let name = unique_db_name("db");
        mariadb_root(&format!(
            "CREATE DATABASE {name}; GRANT ALL ON {name}.* TO '{}'@'%'",
            user.name
        ))
        .ok();
        MariaTestDb { name }
    }
}

impl Drop for MariaTestDb {
    fn drop(&mut self) {
        let _ = mariadb_root(&format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}

//! Database servers: the machine's PostgreSQL and MariaDB, made ready by
//! `tests/support/databases.sh`. Test roles are members of the group
//! `dbcreds_test`, which a `scram-sha-256` rule first in pg_hba.conf makes
//! give their password over 127.0.0.1 even where other rules say `trust`.
//! Every test creates its own role or user with a unique name, dropped with
//! the value.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use crate::bins::path_var;
use crate::data::token;
use crate::env_spec::EnvSpec;
use crate::output::{Output, run, run_args};
use crate::process::skip;
use crate::sandbox::Sandbox;

/// Where the test servers listen (TCP, so passwords are checked).
pub const DB_HOST: &str = "127.0.0.1";

/// A password no test role has.
const WRONG_PASSWORD: &str = "certainly-not-the-password";

/// Runs SQL as the PostgreSQL superuser over the local socket (trust).
pub fn pg_superuser(sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.env("PGCONNECT_TIMEOUT", "10").args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "/var/run/postgresql",
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-tAc",
        sql,
    ]);
    run(cmd, None)
}

/// Runs SQL as MariaDB's root over the local socket (unix_socket auth).
pub fn mariadb_root(sql: &str) -> Output {
    run_args("mariadb", &["-u", "root", "-N", "-B", "-e", sql])
}

fn server_or_skip(what: &str, client: &str, probe: impl FnOnce() -> Output, test: &str) -> bool {
    let which = run_args("sh", &["-c", &format!("command -v {client}")]);
    let out = if which.code == Some(0) {
        probe()
    } else {
        which
    };
    out.code == Some(0)
        || skip(&format!(
            "{test}: {what} is not reachable (run tests/support/databases.sh as root):\n{out}"
        ))
}

/// True when the PostgreSQL server answers its superuser; otherwise skips
/// (prints why) or, under CI, panics.
pub fn postgres_or_skip(test: &str) -> bool {
    server_or_skip("PostgreSQL", "psql", || pg_superuser("SELECT 1"), test)
}

/// True when the MariaDB server answers its root; otherwise skips or,
/// under CI, panics.
pub fn mariadb_or_skip(test: &str) -> bool {
    server_or_skip("MariaDB", "mariadb", || mariadb_root("SELECT 1"), test)
}

/// A unique lower-case name for a role or user: `dbc_<prefix>_<12 hex>`.
pub fn unique_db_name(prefix: &str) -> String {
    format!("dbc_{prefix}_{}", &token()[..12])
}

/// A TCP port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind((DB_HOST, 0)).expect("bind");
    l.local_addr().expect("addr").port()
}

/// A PostgreSQL login role in `dbcreds_test` (so its password is enforced
/// on 127.0.0.1); dropped with the value.
pub struct PgTestRole {
    /// Role name.
    pub name: String,
    /// Its password as created.
    pub password: String,
}

impl PgTestRole {
    /// Creates the role with a random password; `extra` goes after `LOGIN`
    /// (e.g. `CREATEROLE`).
    pub fn create(prefix: &str, extra: &str) -> Self {
        Self::create_with(prefix, extra, &format!("pw-{}", token()))
    }

    /// Creates the role with `password` (any characters) and proves that the
    /// server refuses it a wrong one and takes this one.
    #[track_caller]
    pub fn with_password(prefix: &str, password: &str) -> Self {
        let role = Self::create_with(prefix, "", password);
        role.assert_password_enforced();
        role
    }

    fn create_with(prefix: &str, extra: &str, password: &str) -> Self {
        let name = unique_db_name(prefix);
        pg_superuser(&format!(
            "CREATE ROLE {name} LOGIN {extra} PASSWORD '{}' IN ROLE dbcreds_test",
            password.replace('\'', "''")
        ))
        .ok();
        Self {
            name,
            password: password.to_owned(),
        }
    }

    /// `psql` as this role over TCP with `password`, in a clean environment.
    pub fn psql(&self, password: &str, sql: &str) -> Output {
        let mut cmd = Command::new("psql");
        cmd.env_clear()
            .env("PATH", path_var())
            .env("PGPASSWORD", password)
            .env("PGPASSFILE", "/nonexistent")
            .env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-X", "-w", "-h", DB_HOST, "-U", &self.name, "-d", "postgres", "-tAc", sql,
            ]);
        run(cmd, None)
    }

    /// Whether the server lets this role in with `password`; any failure
    /// other than a refused password panics (the test would prove nothing).
    #[track_caller]
    pub fn logs_in_with(&self, password: &str) -> bool {
        let out = self.psql(password, "SELECT current_user");
        if out.code == Some(0) {
            assert_eq!(out.stdout.trim(), self.name, "{out}");
            return true;
        }
        assert!(
            out.stderr.contains("password authentication failed"),
            "expected a refused password, got:\n{out}"
        );
        false
    }

    /// Asserts that the server refuses a wrong password and takes the
    /// role's own.
    #[track_caller]
    pub fn assert_password_enforced(&self) {
        assert!(
            !self.logs_in_with(WRONG_PASSWORD),
            "PostgreSQL let role {} in with a wrong password: the pg_hba.conf rule \
             `host all +dbcreds_test 127.0.0.1/32 scram-sha-256` is missing or not first \
             (run tests/support/databases.sh)",
            self.name
        );
        assert!(self.logs_in_with(&self.password), "{}", self.name);
    }

    /// This role on [`DB_HOST`]:5432, database `postgres`, with its
    /// password, as environment `name`.
    pub fn env(&self, name: &str) -> EnvSpec {
        EnvSpec::new(name)
            .kind("postgres")
            .host(DB_HOST)
            .port(5432)
            .database("postgres")
            .user(&self.name)
            .password(&self.password)
    }

    /// Asserts that `dbcreds exec ENV -- psql` connects as this role.
    #[track_caller]
    pub fn assert_exec_connects(&self, sb: &Sandbox, env: &str) {
        let out = sb.exec_psql(env, "select current_user");
        out.ok();
        assert_eq!(out.stdout.trim(), self.name, "{out}");
    }
}

impl Drop for PgTestRole {
    fn drop(&mut self) {
        let _ = pg_superuser(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{0}'; \
             DROP ROLE IF EXISTS {0}",
            self.name
        ));
    }
}

/// A MariaDB user `name@'%'` identified by a password; dropped with the
/// value.
pub struct MariaTestUser {
    /// User name.
    pub name: String,
    /// Its password as created.
    pub password: String,
}

impl MariaTestUser {
    /// Creates the user with a random password; `grant` (e.g. `CREATE USER
    /// ON *.*`) is granted when not empty.
    pub fn create(prefix: &str, grant: &str) -> Self {
        let user = Self::create_with(prefix, &format!("pw-{}", token()));
        if !grant.is_empty() {
            mariadb_root(&format!("GRANT {grant} TO '{}'@'%'", user.name)).ok();
        }
        user
    }

    /// Creates the user with `password` (any characters) and proves that the
    /// server refuses it a wrong one and takes this one.
    #[track_caller]
    pub fn with_password(prefix: &str, password: &str) -> Self {
        let user = Self::create_with(prefix, password);
        user.assert_password_enforced();
        user
    }

    fn create_with(prefix: &str, password: &str) -> Self {
        let name = unique_db_name(prefix);
        mariadb_root(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY '{}'",
            password.replace('\\', "\\\\").replace('\'', "\\'")
        ))
        .ok();
        Self {
            name,
            password: password.to_owned(),
        }
    }

    /// Whether the server lets this user in over TCP with `password`.
    #[track_caller]
    pub fn logs_in_with(&self, password: &str) -> bool {
        let mut cmd = Command::new("mariadb");
        cmd.env_clear()
            .env("PATH", path_var())
            .env("MYSQL_PWD", password)
            .args([
                "--no-defaults",
                "--connect-timeout=10",
                "-h",
                DB_HOST,
                "-u",
                &self.name,
                "-N",
                "-B",
                "-e",
                "SELECT CURRENT_USER()",
            ]);
        let out = run(cmd, None);
        if out.code == Some(0) {
            assert_eq!(out.stdout.trim(), self.current_user(), "{out}");
            return true;
        }
        assert!(
            out.stderr.contains("Access denied"),
            "expected a refused password, got:\n{out}"
        );
        false
    }

    /// Asserts that the server refuses a wrong password and takes the
    /// user's own.
    #[track_caller]
    pub fn assert_password_enforced(&self) {
        assert!(
            !self.logs_in_with(WRONG_PASSWORD),
            "MariaDB let {} in with a wrong password",
            self.name
        );
        assert!(self.logs_in_with(&self.password), "{}", self.name);
    }

    /// What `CURRENT_USER()` says for this user: `name@%`.
    pub fn current_user(&self) -> String {
        format!("{}@%", self.name)
    }

    /// This user on [`DB_HOST`]:3306, no database (the test users have no
    /// rights on any), with its password, as environment `name`.
    pub fn env(&self, name: &str) -> EnvSpec {
        EnvSpec::new(name)
            .kind("mariadb")
            .host(DB_HOST)
            .port(3306)
            .database("")
            .user(&self.name)
            .password(&self.password)
    }
}

impl Drop for MariaTestUser {
    fn drop(&mut self) {
        let _ = mariadb_root(&format!("DROP USER IF EXISTS '{}'@'%'", self.name));
    }
}

impl Sandbox {
    /// `dbcreds exec ENV -- psql -X -tAc SQL`.
    pub fn exec_psql(&self, env: &str, sql: &str) -> Output {
        self.cli(&["exec", env, "--", "psql", "-X", "-tAc", sql])
    }
}

/// The log file of the PostgreSQL cluster on port 5432, from
/// `pg_lsclusters` (Debian's wrapper redirects the server's stderr there).
pub fn pg_log_file() -> Option<PathBuf> {
    let out = run_args("pg_lsclusters", &["--no-header"]);
    out.stdout.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.get(2) == Some(&"5432") && cols.len() >= 7).then(|| PathBuf::from(cols[6]))
    })
}

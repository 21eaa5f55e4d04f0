//! Database servers: the machine's PostgreSQL and MariaDB, made ready by
//! `tests/support/databases.sh`. Test roles are members of the group
//! `dbcreds_test`, which a `scram-sha-256` rule first in pg_hba.conf makes
//! give their password over 127.0.0.1 even where other rules say `trust`.
//! Every test creates its own logins ([`PgTestRole`], [`MariaTestUser`])
//! with unique names, dropped with the value.

use std::marker::PhantomData;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use crate::agent::AgentProcess;
use crate::bins::path_var;
use crate::data::{awkward_password, token};
use crate::env_spec::EnvSpec;
use crate::output::{Output, run, run_args};
use crate::process::skip;
use crate::sandbox::Sandbox;

/// Where the test servers listen (TCP, so passwords are checked).
pub const DB_HOST: &str = "127.0.0.1";

/// A password no test login has.
const WRONG_PASSWORD: &str = "certainly-not-the-password";

/// Runs SQL as the PostgreSQL superuser over the local socket (trust).
pub fn pg_superuser(sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.env("PGCONNECT_TIMEOUT", "10")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "/var/run/postgresql",
        ])
        .args(["-U", "postgres", "-d", "postgres", "-tAc", sql]);
    run(cmd, None)
}

/// Runs SQL as MariaDB's root over the local socket (unix_socket auth).
pub fn mariadb_root(sql: &str) -> Output {
    run_args("mariadb", &["-u", "root", "-N", "-B", "-e", sql])
}

/// True when the PostgreSQL server answers its superuser; otherwise skips
/// (prints why) or, under CI, panics.
pub fn postgres_or_skip(test: &str) -> bool {
    PgTestRole::server_or_skip(test)
}

/// True when the MariaDB server answers its root; otherwise skips or,
/// under CI, panics.
pub fn mariadb_or_skip(test: &str) -> bool {
    MariaTestUser::server_or_skip(test)
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

/// What a [`DbLogin`] needs to know of its server.
pub trait Server {
    /// For messages.
    const NAME: &'static str;
    /// Its command-line client.
    const CLIENT: &'static str;
    /// What the client says on stderr for a refused password.
    const REFUSED: &'static str;
    /// The dbcreds kind, port and database of an environment for a login.
    const ENV: (&'static str, u16, &'static str);
    /// Runs SQL as the server's administrator.
    fn admin(sql: &str) -> Output;
    /// SQL creating login `name` with `password`; `extra` is the server's
    /// own addition (PostgreSQL: role attributes; MariaDB: a grant).
    fn create_sql(name: &str, password: &str, extra: &str) -> String;
    /// SQL dropping login `name` (and ending its sessions).
    fn drop_sql(name: &str) -> String;
    /// The client logging in over TCP as `name` with `password`, asking who
    /// it is.
    fn login(name: &str, password: &str) -> Output;
    /// Who the server says `name` is after a login.
    fn current_user(name: &str) -> String;
}

/// PostgreSQL: login roles in the `dbcreds_test` group.
pub struct Postgres;

/// MariaDB: users `name@'%'`.
pub struct MariaDb;

impl Server for Postgres {
    const NAME: &'static str = "PostgreSQL";
    const CLIENT: &'static str = "psql";
    const REFUSED: &'static str = "password authentication failed";
    const ENV: (&'static str, u16, &'static str) = ("postgres", 5432, "postgres");

    fn admin(sql: &str) -> Output {
        pg_superuser(sql)
    }

    fn create_sql(name: &str, password: &str, extra: &str) -> String {
        let password = password.replace('\'', "''");
        format!("CREATE ROLE {name} LOGIN {extra} PASSWORD '{password}' IN ROLE dbcreds_test")
    }

    fn drop_sql(name: &str) -> String {
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'; \
             DROP ROLE IF EXISTS {name}"
        )
    }

    fn login(name: &str, password: &str) -> Output {
        psql_as(name, password, "SELECT current_user")
    }

    fn current_user(name: &str) -> String {
        name.to_owned()
    }
}

/// `psql` as `name` over TCP with `password`, in a clean environment.
fn psql_as(name: &str, password: &str, sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.env_clear()
        .env("PATH", path_var())
        .env("PGPASSWORD", password)
        .env("PGPASSFILE", "/nonexistent")
        .env("PGCONNECT_TIMEOUT", "10")
        .args(["-X", "-w", "-h", DB_HOST, "-U", name])
        .args(["-d", "postgres", "-tAc", sql]);
    run(cmd, None)
}

impl Server for MariaDb {
    const NAME: &'static str = "MariaDB";
    const CLIENT: &'static str = "mariadb";
    /// No database: the test users have no rights on any.
    const ENV: (&'static str, u16, &'static str) = ("mariadb", 3306, "");
    const REFUSED: &'static str = "Access denied";

    fn admin(sql: &str) -> Output {
        mariadb_root(sql)
    }

    fn create_sql(name: &str, password: &str, grant: &str) -> String {
        let password = password.replace('\\', "\\\\").replace('\'', "\\'");
        let mut sql = format!("CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'");
        if !grant.is_empty() {
            sql.push_str(&format!("; GRANT {grant} TO '{name}'@'%'"));
        }
        sql
    }

    fn drop_sql(name: &str) -> String {
        // Every account of the name a test may have added (crate::mariadb).
        crate::mariadb::drop_all_accounts_sql(name)
    }

    fn login(name: &str, password: &str) -> Output {
        let mut cmd = Command::new("mariadb");
        cmd.env_clear()
            .env("PATH", path_var())
            .env("MYSQL_PWD", password)
            .args(["--no-defaults", "--connect-timeout=10", "-h", DB_HOST])
            .args(["-u", name, "-N", "-B", "-e", "SELECT CURRENT_USER()"]);
        run(cmd, None)
    }

    fn current_user(name: &str) -> String {
        format!("{name}@%")
    }
}

/// A login of this test on server `S`, dropped with the value.
pub struct DbLogin<S: Server> {
    /// Its name.
    pub name: String,
    /// Its password as created.
    pub password: String,
    server: PhantomData<S>,
}

/// A PostgreSQL login role in `dbcreds_test` (so its password is enforced
/// on 127.0.0.1).
pub type PgTestRole = DbLogin<Postgres>;

/// A MariaDB user `name@'%'` identified by a password.
pub type MariaTestUser = DbLogin<MariaDb>;

impl<S: Server> DbLogin<S> {
    /// True when the server answers its administrator; otherwise skips
    /// (prints why) or, under CI, panics.
    pub fn server_or_skip(test: &str) -> bool {
        let which = run_args("sh", &["-c", &format!("command -v {}", S::CLIENT)]);
        let out = if which.code == Some(0) {
            S::admin("SELECT 1")
        } else {
            which
        };
        out.code == Some(0)
            || skip(&format!(
                "{test}: {} is not reachable (run tests/support/databases.sh as root):\n{out}",
                S::NAME
            ))
    }

    /// Creates a login with a random password; `extra` is the server's own
    /// addition: PostgreSQL role attributes after `LOGIN` (`CREATEROLE`),
    /// a MariaDB grant (`CREATE USER ON *.*`); empty for none.
    pub fn create(prefix: &str, extra: &str) -> Self {
        Self::create_with(prefix, &format!("pw-{}", token()), extra)
    }

    fn create_with(prefix: &str, password: &str, extra: &str) -> Self {
        let name = unique_db_name(prefix);
        S::admin(&S::create_sql(&name, password, extra)).ok();
        DbLogin {
            name,
            password: password.to_owned(),
            server: PhantomData,
        }
    }

    /// Creates a login with `password` (any characters) and proves that the
    /// server refuses it a wrong one and takes this one.
    #[track_caller]
    pub fn with_password(prefix: &str, password: &str) -> Self {
        let login = Self::create_with(prefix, password, "");
        login.assert_password_enforced();
        login
    }

    /// Whether the server lets this login in with `password`; any failure
    /// other than a refused password panics (the test would prove nothing).
    #[track_caller]
    pub fn logs_in_with(&self, password: &str) -> bool {
        let out = S::login(&self.name, password);
        if out.code == Some(0) {
            assert_eq!(out.stdout.trim(), self.current_user(), "{out}");
            return true;
        }
        assert!(
            out.stderr.contains(S::REFUSED),
            "expected a refused password, got:\n{out}"
        );
        false
    }

    /// Asserts that the server refuses a wrong password and takes the
    /// login's own.
    #[track_caller]
    pub fn assert_password_enforced(&self) {
        self.assert_takes_only(&self.password, WRONG_PASSWORD);
    }

    /// Asserts that the server takes `new` and refuses `old` (after a
    /// rotation, say).
    #[track_caller]
    pub fn assert_takes_only(&self, new: &str, old: &str) {
        assert!(
            !self.logs_in_with(old),
            "{} let {} in with the wrong or old password {old:?} (are the test logins' \
             passwords enforced? run tests/support/databases.sh)",
            S::NAME,
            self.name
        );
        assert!(
            self.logs_in_with(new),
            "{} refused {} the password it should take",
            S::NAME,
            self.name
        );
    }

    /// Who the server says this login is: `name` (PostgreSQL), `name@%`
    /// (MariaDB).
    pub fn current_user(&self) -> String {
        S::current_user(&self.name)
    }

    /// This login on [`DB_HOST`] with its password, as environment `name`
    /// (PostgreSQL: port 5432, database `postgres`; MariaDB: 3306, none).
    pub fn env(&self, name: &str) -> EnvSpec {
        let (kind, port, database) = S::ENV;
        EnvSpec::new(name)
            .kind(kind)
            .host(DB_HOST)
            .port(port)
            .database(database)
            .user(&self.name)
            .password(&self.password)
    }

    /// The start of a test against this server: `None` when there is none
    /// (skipped, or a panic under CI); else a sandbox whose agent unlocks
    /// from a passphrase file ([`Sandbox::with_passphrase_file_agent`]),
    /// that agent, and a new login with a random password, added as each of
    /// `envs`.
    pub fn vault_or_skip(
        test: &str,
        prefix: &str,
        envs: &[&str],
    ) -> Option<(Sandbox, AgentProcess, Self)> {
        if !Self::server_or_skip(test) {
            return None;
        }
        let (sb, agent) = Sandbox::with_passphrase_file_agent();
        let login = Self::create(prefix, "");
        login.add_as(&sb, envs);
        Some((sb, agent, login))
    }

    /// The start of an `exec`, `export` or `import` test: `None` when there
    /// is no server (skipped, or a panic under CI); else a passphrase vault
    /// ([`Sandbox::with_passphrase_vault`]) and a login whose password is an
    /// [`awkward_password`], which the server is shown to enforce, added as
    /// each of `envs`.
    pub fn awkward_or_skip(test: &str, prefix: &str, envs: &[&str]) -> Option<(Sandbox, Self)> {
        if !Self::server_or_skip(test) {
            return None;
        }
        let login = Self::with_password(prefix, &awkward_password());
        let sb = Sandbox::with_passphrase_vault();
        login.add_as(&sb, envs);
        Some((sb, login))
    }

    /// Adds this login to `sb` as each of `envs`.
    pub fn add_as(&self, sb: &Sandbox, envs: &[&str]) {
        for env in envs {
            sb.add(&self.env(env)).ok();
        }
    }
}

impl PgTestRole {
    /// `psql` as this role over TCP with `password`, in a clean environment.
    pub fn psql(&self, password: &str, sql: &str) -> Output {
        psql_as(&self.name, password, sql)
    }

    /// Asserts that `dbcreds exec ENV -- psql` connects as this role.
    #[track_caller]
    pub fn assert_exec_connects(&self, sb: &Sandbox, env: &str) {
        let out = sb.exec_psql(env, "select current_user");
        out.ok();
        assert_eq!(out.stdout.trim(), self.name, "{out}");
    }
}

impl<S: Server> Drop for DbLogin<S> {
    fn drop(&mut self) {
        let _ = S::admin(&S::drop_sql(&self.name));
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

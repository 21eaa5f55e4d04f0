//! `dbcreds exec`, `dbcreds check` and `dbcreds import`, end to end: the
//! real CLI and agent, real PostgreSQL and MariaDB servers that enforce
//! passwords, real `psql` and `mariadb` clients, and (for the Python
//! layout) a real Secret Service.
//!
//! PostgreSQL: each test creates its own login role, a member of the
//! `dbcreds_test` group role, for which `tests/support/databases.sh` puts a
//! `host all +dbcreds_test 127.0.0.1/32 scram-sha-256` rule first in
//! pg_hba.conf; every test proves that a wrong password is refused before
//! it proves anything with the right one. MariaDB: users
//! `'<name>'@'127.0.0.1' IDENTIFIED BY ...`, reached over TCP.
//!
//! Without a server the database tests are skipped, or fail when `CI` is
//! set.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use dbcreds_tests::{Output, Sandbox, in_ci, run, token, unique_password};

const PG_HOST: &str = "127.0.0.1";
const MARIADB_HOST: &str = "127.0.0.1";

// ---------------------------------------------------------------------------
// Servers and their test users

/// The PostgreSQL superuser over the local socket (trust).
fn pg_admin(sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "/var/run/postgresql",
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-Atc",
        sql,
    ]);
    run(cmd, None)
}

/// MariaDB's root over the local socket.
fn mariadb_admin(sql: &str) -> Output {
    let mut cmd = Command::new("mariadb");
    cmd.args(["-u", "root", "-N", "-B", "-e", sql]);
    run(cmd, None)
}

fn usable(cmd: &str, probe: Output, test: &str) -> bool {
    if probe.code == Some(0) {
        return true;
    }
    let why = format!("{test}: {cmd} is not reachable:\n{probe}");
    assert!(!in_ci(), "{why}\nCI is set: a missing server is a failure");
    eprintln!("SKIPPED {why}");
    false
}

/// Whether `program` is on PATH, as a finished command for the report.
fn on_path(program: &str) -> Output {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &format!("command -v {program}")]);
    run(cmd, None)
}

fn postgres_or_skip(test: &str) -> bool {
    let which = on_path("psql");
    if which.code != Some(0) {
        return usable("psql", which, test);
    }
    usable("PostgreSQL", pg_admin("select 1"), test)
}

fn mariadb_or_skip(test: &str) -> bool {
    let which = on_path("mariadb");
    if which.code != Some(0) {
        return usable("mariadb", which, test);
    }
    usable("MariaDB", mariadb_admin("select 1"), test)
}

/// A PostgreSQL login role of this test, dropped at the end.
struct PgRole {
    name: String,
    password: String,
}

impl PgRole {
    /// Creates `dbc_<prefix>_<random>` with `password`, in the
    /// `dbcreds_test` group (created if missing), and proves that the
    /// server refuses it a wrong password over TCP.
    fn create(prefix: &str, password: &str) -> Self {
        let name = format!("dbc_{prefix}_{}", &token()[..12]);
        let out = pg_admin(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbcreds_test') \
             THEN CREATE ROLE dbcreds_test NOLOGIN; END IF; END $$; \
             CREATE ROLE {name} LOGIN PASSWORD '{}' IN ROLE dbcreds_test;",
            password.replace('\'', "''")
        ));
        // A concurrent test may have created the group at the same moment.
        if out.code != Some(0) && out.stderr.contains("dbcreds_test") {
            pg_admin(&format!(
                "CREATE ROLE {name} LOGIN PASSWORD '{}' IN ROLE dbcreds_test;",
                password.replace('\'', "''")
            ))
            .ok();
        } else {
            out.ok();
        }
        let role = PgRole {
            name,
            password: password.to_owned(),
        };
        role.assert_password_enforced();
        role
    }

    /// `psql` as this role over TCP with `password` (nothing else in its
    /// environment).
    fn psql_with(&self, password: &str) -> Output {
        let mut cmd = Command::new("psql");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-X",
                "-h",
                PG_HOST,
                "-U",
                &self.name,
                "-d",
                "postgres",
                "-tAc",
                "select current_user",
            ]);
        run(cmd, None)
    }

    fn assert_password_enforced(&self) {
        let wrong = self.psql_with("certainly-not-the-password");
        assert_ne!(
            wrong.code,
            Some(0),
            "PostgreSQL let role {} in with a wrong password: the pg_hba.conf rule \
             `host all +dbcreds_test 127.0.0.1/32 scram-sha-256` is missing or not first \
             (run tests/support/databases.sh)\n{wrong}",
            self.name
        );
        assert!(
            wrong.stderr.contains("password authentication failed"),
            "{wrong}"
        );
        let right = self.psql_with(&self.password);
        right.ok();
        assert_eq!(right.stdout.trim(), self.name, "{right}");
    }
}

impl Drop for PgRole {
    fn drop(&mut self) {
        let _ = pg_admin(&format!("DROP ROLE IF EXISTS {}", self.name));
    }
}

/// A MariaDB user `'<name>'@'127.0.0.1'` of this test, dropped at the end.
struct MariaUser {
    name: String,
}

impl MariaUser {
    fn create(prefix: &str, password: &str) -> Self {
        let name = format!("dbc_{prefix}_{}", &token()[..12]);
        mariadb_admin(&format!(
            "CREATE USER '{name}'@'{MARIADB_HOST}' IDENTIFIED BY '{}'",
            password.replace('\\', "\\\\").replace('\'', "\\'")
        ))
        .ok();
        let user = MariaUser { name };
        // A wrong password is refused (the user exists, and only for this
        // password).
        let mut cmd = Command::new("mariadb");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("MYSQL_PWD", "certainly-not-the-password")
            .args([
                "--no-defaults",
                "-h",
                MARIADB_HOST,
                "-u",
                &user.name,
                "-N",
                "-B",
                "-e",
                "select current_user()",
            ]);
        let wrong = run(cmd, None);
        assert_ne!(
            wrong.code,
            Some(0),
            "MariaDB took a wrong password:\n{wrong}"
        );
        assert!(wrong.stderr.contains("Access denied"), "{wrong}");
        user
    }
}

impl Drop for MariaUser {
    fn drop(&mut self) {
        let _ = mariadb_admin(&format!(
            "DROP USER IF EXISTS '{}'@'{MARIADB_HOST}'",
            self.name
        ));
    }
}

// ---------------------------------------------------------------------------
// Sandboxes

/// A sandbox with a passphrase vault (no Secret Service needed).
fn vault() -> Sandbox {
    let sb = Sandbox::new();
    sb.init_passphrase("correct horse battery staple");
    sb
}

fn add_pg(sb: &Sandbox, env: &str, role: &PgRole) {
    sb.cli_stdin(
        &[
            "add",
            env,
            "--kind",
            "postgres",
            "--host",
            PG_HOST,
            "--port",
            "5432",
            "--database",
            "postgres",
            "--user",
            &role.name,
            "--password-stdin",
        ],
        &role.password,
    )
    .ok();
}

/// A password with the characters `.pgpass`, URIs and shells treat
/// specially (`:` `\` `@` `/` `?` `#` `%` `$` space), and a random tail.
fn awkward_password() -> String {
    format!("{} \\$x", unique_password())
}

// ---------------------------------------------------------------------------
// exec

#[test]
fn exec_runs_psql_as_the_stored_role() {
    if !postgres_or_skip("exec_runs_psql_as_the_stored_role") {
        return;
    }
    let role = PgRole::create("exec", &awkward_password());
    let sb = vault();
    add_pg(&sb, "prod", &role);

    let out = sb.cli(&[
        "exec",
        "prod",
        "--",
        "psql",
        "-X",
        "-tAc",
        "select current_user",
    ]);
    out.ok();
    assert_eq!(out.stdout, format!("{}\n", role.name), "{out}");

    // The connection really used the stored password: with a wrong one
    // stored, psql fails, and exec passes its exit code (2) through.
    sb.cli_stdin(&["update", "prod", "--password-stdin"], "wrong-password")
        .ok();
    let out = sb.cli(&[
        "exec",
        "prod",
        "--",
        "psql",
        "-X",
        "-tAc",
        "select current_user",
    ]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains("password authentication failed"),
        "{out}"
    );
}

#[test]
fn exec_runs_mariadb_as_the_stored_user() {
    if !mariadb_or_skip("exec_runs_mariadb_as_the_stored_user") {
        return;
    }
    let password = awkward_password();
    let user = MariaUser::create("exec", &password);
    let sb = vault();
    sb.cli_stdin(
        &[
            "add",
            "shop",
            "--kind",
            "mariadb",
            "--host",
            MARIADB_HOST,
            "--database",
            "mysql",
            "--user",
            &user.name,
            "--password-stdin",
        ],
        &password,
    )
    .ok();

    let out = sb.cli(&[
        "exec",
        "shop",
        "--",
        "mariadb",
        "-N",
        "-B",
        "-e",
        "select current_user()",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        format!("{}@{MARIADB_HOST}\n", user.name),
        "{out}"
    );
    // The option file that carries the user holds no password.
    let cnf = sb.root().join("xdg/runtime/dbcreds/mysql/shop/my.cnf");
    let text = fs::read_to_string(&cnf).expect("my.cnf written under XDG_RUNTIME_DIR");
    assert!(text.contains(&user.name), "{text}");
    assert!(
        !text.contains(&password),
        "the option file holds the password:\n{text}"
    );

    // A wrong stored password: the server refuses, exec passes the code on.
    sb.cli_stdin(&["update", "shop", "--password-stdin"], "wrong-password")
        .ok();
    let out = sb.cli(&["exec", "shop", "--", "mariadb", "-e", "select 1"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("Access denied"), "{out}");
}

#[test]
fn exec_sets_the_variables_and_passes_exit_codes_and_signals() {
    let sb = vault();
    let password = awkward_password();
    sb.add_postgres("prod", "db.internal", &password);

    let script = r#"printf '%s|' "$DBCREDS_ENV" "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE" "$PGSSLMODE" "$PGPASSWORD" "${PGSERVICE-unset}" "$DATABASE_URL" "$DBCREDS_PROD_PASSWORD"; grep '^SigIgn' /proc/self/status"#;
    let mut cmd = sb.cli_command(&["exec", "prod", "--", "sh", "-c", script]);
    // Left over from another connection: must not reach the child.
    cmd.env("PGSERVICE", "elsewhere")
        .env("PGHOSTADDR", "10.9.9.9");
    let out = run(cmd, None);
    out.ok();
    let (vars, sigign) = out.stdout.rsplit_once('|').expect("printf output");
    let vars: Vec<&str> = vars.split('|').collect();
    assert_eq!(
        vars[..8],
        [
            "prod",
            "db.internal",
            "5432",
            "app",
            "app",
            "prefer",
            password.as_str(),
            "unset"
        ],
        "{out}"
    );
    assert!(vars[8].starts_with("postgresql://app:"), "{out}");
    assert_eq!(vars[9], password, "{out}");
    // exec restores default dispositions: Rust's ignored SIGPIPE must not
    // leak into the child.
    let mask = sigign
        .trim()
        .strip_prefix("SigIgn:")
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no SigIgn line:\n{out}"));
    assert_eq!(
        mask & (1 << (13 - 1)),
        0,
        "SIGPIPE is ignored in the child:\n{out}"
    );

    let out = sb.cli(&["exec", "prod", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.code, Some(7), "{out}");
    assert_eq!(out.stderr, "", "{out}");

    // The command replaced dbcreds: a signal death is the caller's to see.
    let out = sb.cli(&["exec", "prod", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(
        out.code, None,
        "killed by SIGTERM, not an exit code:\n{out}"
    );

    // No command: $SHELL, reading its commands from stdin here.
    let mut cmd = sb.cli_command(&["exec", "prod"]);
    cmd.env("SHELL", "/bin/sh");
    let out = run(cmd, Some(b"echo \"in $DBCREDS_ENV as $PGUSER\"\nexit 3\n"));
    assert_eq!(out.code, Some(3), "{out}");
    assert_eq!(out.stdout, "in prod as app\n", "{out}");
}

#[test]
fn exec_bad_input() {
    let sb = vault();
    sb.add_postgres("prod", "db.internal", &unique_password());
    sb.add_postgres("staging", "db.internal", &unique_password());

    let out = sb.cli(&["exec", "prod", "--", "no-such-command-dbcreds"]);
    out.fails(
        127,
        &["command not found", "no-such-command-dbcreds", "PATH"],
    );

    let not_exec = sb.root().join("home/not-executable");
    fs::write(&not_exec, "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(&not_exec, fs::Permissions::from_mode(0o644)).unwrap();
    let out = sb.cli(&["exec", "prod", "--", not_exec.to_str().unwrap()]);
    out.fails(126, &["cannot run", "permission denied"]);

    let out = sb.cli(&["exec", "nosuchenv", "--", "true"]);
    out.fails(3, &["nosuchenv"]);

    let out = sb.cli(&["exec", "prod", "true"]);
    out.fails(2, &["--"]);

    // Nesting into another environment is refused without --force ...
    let mut cmd = sb.cli_command(&["exec", "prod", "--", "true"]);
    cmd.env("DBCREDS_ENV", "staging");
    run(cmd, None).fails(14, &["DBCREDS_ENV=staging", "--force"]);
    // ... and allowed with it, with the outer environment's variables gone.
    let mut cmd = sb.cli_command(&[
        "exec",
        "prod",
        "--force",
        "--",
        "sh",
        "-c",
        "echo \"$DBCREDS_ENV ${DBCREDS_STAGING_PASSWORD-gone}\"",
    ]);
    cmd.env("DBCREDS_ENV", "staging")
        .env("DBCREDS_STAGING_PASSWORD", "outer");
    let out = run(cmd, None);
    out.ok();
    assert_eq!(out.stdout, "prod gone\n", "{out}");
    // The same environment again is no nesting problem.
    let mut cmd = sb.cli_command(&["exec", "prod", "--", "true"]);
    cmd.env("DBCREDS_ENV", "prod");
    run(cmd, None).ok();
}

// ---------------------------------------------------------------------------
// check and expiry

/// An environment as `export --format json` writes it, with a password set
/// `age_days` ago.
fn env_json(name: &str, age_days: i64, expires_days: Option<u32>) -> serde_json::Value {
    let set = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - age_days * 86_400;
    serde_json::json!({
        "name": name, "kind": "postgres", "host": "db.internal", "port": 5432,
        "database": "app", "username": "app", "password": format!("pw-{name}"),
        "expires_days": expires_days, "password_updated_at": set,
    })
}

fn import_json(sb: &Sandbox, doc: &serde_json::Value) -> Output {
    let out = sb.cli_stdin(&["import", "--from", "json", "-"], &doc.to_string());
    out.ok();
    out
}

#[test]
fn check_exit_codes_and_expired_get() {
    let sb = vault();
    let out = sb.cli(&["check"]);
    out.ok();
    assert_eq!(out.stdout, "", "{out}");

    import_json(
        &sb,
        &serde_json::json!([
            env_json("dev", 10, Some(90)),
            env_json("staging", 80, Some(90)),
            env_json("forever", 1000, None),
        ]),
    );
    let out = sb.cli(&["check"]);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[1].starts_with("EXPIRING  staging"), "{out}");
    assert!(lines[1].contains("expires in 10 days"), "{out}");
    assert!(
        lines.last().unwrap().starts_with("0 expired, 1 expiring"),
        "{out}"
    );
    assert!(
        !out.stdout.contains('\x1b'),
        "colour without a terminal:\n{out}"
    );
    let quiet = sb.cli(&["check", "--quiet"]);
    quiet.ok();
    assert!(!quiet.stdout.contains("dev"), "{quiet}");
    assert!(quiet.stdout.contains("staging"), "{quiet}");

    import_json(&sb, &serde_json::json!(env_json("prod", 100, Some(90))));
    let out = sb.cli(&["check"]);
    assert_eq!(out.code, Some(11), "{out}");
    assert!(
        out.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("EXPIRED   prod"),
        "{out}"
    );
    assert_eq!(
        out.error_line(),
        "dbcreds: the password of 'prod' has expired: set a new one with `dbcreds update prod --password`"
    );
    let out = sb.cli(&["check", "--json"]);
    assert_eq!(out.code, Some(11), "{out}");
    let v = out.json();
    assert_eq!(
        (
            v["expired"].as_u64(),
            v["expiring"].as_u64(),
            v["healthy"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{out}"
    );
    assert_eq!(v["environments"][0]["name"], "prod");
    assert_eq!(v["environments"][0]["days_left"], -10);
    assert!(!out.stdout.contains("pw-prod"), "{out}");

    // get: the expired password with a warning on stderr only, or exit 11
    // with --require-fresh.
    let out = sb.cli(&["get", "prod"]);
    out.ok();
    assert_eq!(out.stdout, "pw-prod\n", "{out}");
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("expired"),
        "{out}"
    );
    sb.cli(&["get", "prod", "--require-fresh"])
        .fails(11, &["expired", "dbcreds update prod --password"]);
    sb.cli(&["exec", "prod", "--require-fresh", "--", "true"])
        .fails(11, &["expired"]);

    // A new password resets the clock: check is green again.
    sb.cli_stdin(&["update", "prod", "--password-stdin"], "new-pw")
        .ok();
    sb.cli(&["check"]).ok();

    // --expires-days round-trips and defaults to 90.
    sb.cli_stdin(
        &[
            "add",
            "fresh",
            "--host",
            "h",
            "--database",
            "d",
            "--user",
            "u",
            "--password-stdin",
        ],
        "pw",
    )
    .ok();
    let show = sb.cli(&["show", "fresh", "--json"]);
    assert_eq!(show.json()["expires_days"], 90, "{show}");
    sb.cli(&["update", "fresh", "--expires-days", "never"]).ok();
    assert_eq!(
        sb.cli(&["show", "fresh", "--json"]).json()["expires_days"],
        serde_json::Value::Null
    );
    sb.cli(&["update", "fresh", "--expires-days", "7"]).ok();
    let v = sb.cli(&["show", "fresh", "--json"]).json();
    assert_eq!(v["expires_days"], 7);
    assert_eq!(v["expiry"], "expires in 7 days");
}

// ---------------------------------------------------------------------------
// export --format pgpass with psql

#[test]
fn export_pgpass_is_read_by_psql() {
    if !postgres_or_skip("export_pgpass_is_read_by_psql") {
        return;
    }
    let role = PgRole::create("pgpass", &awkward_password());
    let sb = vault();
    add_pg(&sb, "prod", &role);
    let out = sb.cli(&["export", "prod", "--format", "pgpass"]);
    out.ok();
    let file = sb.root().join("home/exported.pgpass");
    fs::write(&file, &out.stdout).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();

    let mut cmd = sb.command("psql");
    cmd.env("PGPASSFILE", &file).args([
        "-X",
        "-w",
        "-h",
        PG_HOST,
        "-U",
        &role.name,
        "-d",
        "postgres",
        "-tAc",
        "select current_user",
    ]);
    let out = run(cmd, None);
    out.ok();
    assert_eq!(out.stdout.trim(), role.name, "{out}");
}

// ---------------------------------------------------------------------------
// import

#[test]
fn import_from_a_real_pgpass() {
    if !postgres_or_skip("import_from_a_real_pgpass") {
        return;
    }
    let role = PgRole::create("imppg", &awkward_password());
    let sb = vault();
    let escaped = role.password.replace('\\', "\\\\").replace(':', "\\:");
    let pgpass = format!(
        "# work databases\n\
         {PG_HOST}:5432:postgres:{name}:{escaped}\n\
         {PG_HOST}:5432:postgres:{name}:shadowed-by-the-first\n\
         *:*:*:{name}:wildcard\n\
         {PG_HOST}:5432:reports:{name}\n",
        name = role.name
    );
    let file = sb.root().join("home/.pgpass");
    fs::write(&file, pgpass).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();

    // Dry run: the summary, and nothing stored.
    let out = sb.cli(&["import", "--from", "pgpass", "--dry-run"]);
    out.ok();
    assert!(out.stdout.contains("would add"), "{out}");
    assert!(
        out.stdout
            .contains("Dry run, nothing changed: 1 would be added, 0 replaced, 3 skipped."),
        "{out}"
    );
    assert_eq!(sb.cli(&["list", "--json"]).json(), serde_json::json!([]));

    let out = sb.cli(&["import", "--from", "pgpass", "--json"]);
    out.ok();
    let v = out.json();
    assert_eq!(v["imported"][0]["name"], "postgres", "{out}");
    assert_eq!(v["imported"][0]["action"], "added", "{out}");
    let reasons: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("libpq uses the first match"), "{out}");
    assert!(reasons[1].contains("wildcard"), "{out}");
    assert!(reasons[2].contains("4 fields"), "{out}");
    assert!(!out.stdout.contains(&role.password), "{out}");

    // The imported credential is the real one.
    let out = sb.cli(&[
        "exec",
        "postgres",
        "--",
        "psql",
        "-X",
        "-tAc",
        "select current_user",
    ]);
    out.ok();
    assert_eq!(out.stdout.trim(), role.name, "{out}");

    // Importing again keeps what is there unless --overwrite.
    let out = sb.cli(&["import", "--from", "pgpass", file.to_str().unwrap()]);
    out.ok();
    assert!(out.stdout.contains("exists already"), "{out}");
    assert!(
        out.stdout.contains("0 added, 0 replaced, 4 skipped."),
        "{out}"
    );
    let out = sb.cli(&["import", "--from", "pgpass", "--overwrite", "--name", "pg"]);
    out.ok();
    assert!(out.stdout.contains("1 added"), "{out}");
    sb.assert_password("pg", &role.password);
}

#[test]
fn import_from_legacy_variables() {
    if !postgres_or_skip("import_from_legacy_variables") {
        return;
    }
    let role = PgRole::create("implegacy", &awkward_password());
    let sb = vault();
    let legacy = |cmd: &mut Command| {
        cmd.env("DB_SERVER", PG_HOST)
            .env("DB_PORT", "5432")
            .env("DB_NAME", "postgres")
            .env("DB_USER", &role.name)
            .env("DB_PWD", &role.password)
            .env("DB_PWD_EXPIRY", "30")
            .env("DB_PWD_DATE", "2020-01-01");
    };
    let mut cmd = sb.cli_command(&["import", "--from", "env", "--dry-run"]);
    legacy(&mut cmd);
    let out = run(cmd, None);
    out.ok();
    assert!(out.stdout.contains("would add"), "{out}");
    assert!(
        out.stdout.contains("default"),
        "--from env names it `default`:\n{out}"
    );
    assert!(
        out.stdout.contains("kind postgres guessed from port 5432"),
        "{out}"
    );

    let mut cmd = sb.cli_command(&["import", "--from", "env", "--name", "legacy"]);
    legacy(&mut cmd);
    let out = run(cmd, None);
    out.ok();
    assert!(
        out.stdout.contains("1 added, 0 replaced, 0 skipped."),
        "{out}"
    );

    let v = sb.cli(&["show", "legacy", "--json"]).json();
    assert_eq!(v["expires_days"], 30);
    assert_eq!(v["password_updated_at"], "2020-01-01T00:00:00Z");
    assert_eq!(v["expired"], true);
    let out = sb.cli(&[
        "exec",
        "legacy",
        "--",
        "psql",
        "-X",
        "-tAc",
        "select current_user",
    ]);
    out.ok();
    assert_eq!(out.stdout.trim(), role.name, "{out}");
    // It came in expired (set in 2020, 30 days): check says so.
    assert_eq!(sb.cli(&["check"]).code, Some(11));

    // Nothing set: one skipped line naming the variables, exit 0.
    let out = sb.cli(&["import", "--from", "env"]);
    out.ok();
    assert!(
        out.stdout
            .contains("DB_SERVER, DB_NAME, DB_USER, DB_PWD are not set"),
        "{out}"
    );
}

/// Stores `secret` in the sandbox's Secret Service the way python-keyring
/// did for the Python dbcreds: service `dbcreds`, user `dbcreds:<env>`.
fn store_python_entry(sb: &Sandbox, env: &str, secret: &str) {
    let keyring = sb.keyring().expect("a keyring sandbox");
    let mut cmd = keyring.command("secret-tool");
    cmd.args([
        "store",
        "--label",
        &format!("Password for 'dbcreds:{env}' on 'dbcreds'"),
        "service",
        "dbcreds",
        "username",
        &format!("dbcreds:{env}"),
    ]);
    run(cmd, Some(secret.as_bytes())).ok();
}

#[test]
fn import_from_the_python_layout_through_a_real_secret_service() {
    if !postgres_or_skip("import_from_the_python_layout_through_a_real_secret_service") {
        return;
    }
    let role = PgRole::create("imppy", &awkward_password());
    let sb = Sandbox::with_keyring();
    sb.init_keyring();

    let dir = sb.root().join("home/.dbcreds");
    fs::create_dir(&dir).unwrap();
    // As the Python tool wrote it (json.dump of model_dump(), default=str).
    fs::write(
        dir.join("environments.json"),
        r#"[
  {"name": "prod", "database_type": "postgresql", "description": "Main database",
   "is_production": true, "created_at": "2025-05-31 13:09:48.123456",
   "updated_at": "2025-05-31 13:09:48.123456"},
  {"name": "masked", "database_type": "postgresql", "description": null,
   "is_production": false, "created_at": "2025-05-31 13:09:48", "updated_at": "2025-05-31 13:09:48"},
  {"name": "gone", "database_type": "mysql", "description": null, "is_production": false},
  {"name": "legacy-db2", "database_type": "db2", "description": null, "is_production": false},
  {"name": "Reports", "database_type": "postgresql", "is_production": "false"}
]"#,
    )
    .unwrap();
    let prod_blob = serde_json::json!({
        "username": role.name, "password": role.password, "environment": "prod",
        "host": PG_HOST, "port": 5432, "database": "postgres", "options": {},
        "ssl_mode": null, "password_updated_at": "2026-01-10T08:00:00.250000",
        "password_expires_at": "2026-04-10T08:00:00.250000",
    });
    store_python_entry(&sb, "prod", &prod_blob.to_string());
    store_python_entry(
        &sb,
        "masked",
        r#"{"username": "app", "password": "**********", "host": "db", "port": 5432, "database": "app"}"#,
    );
    store_python_entry(
        &sb,
        "reports",
        r#"{"username": "rep", "password": "rep-pw", "host": "db", "port": "6432", "database": "reports", "password_expires_at": null}"#,
    );

    let out = sb.cli(&["import", "--from", "python", "--dry-run"]);
    out.ok();
    for want in [
        "would add",
        "Dry run, nothing changed: 2 would be added, 0 replaced, 3 skipped.",
        "mask",
        "no keyring entry (service 'dbcreds', user 'dbcreds:gone')",
        "unknown database_type 'db2'",
        "port \"6432\" was a string",
    ] {
        assert!(out.stdout.contains(want), "missing {want:?}:\n{out}");
    }
    assert!(!out.all().contains(&role.password), "{out}");
    assert_eq!(sb.cli(&["list", "--json"]).json(), serde_json::json!([]));

    let out = sb.cli(&["import", "--from", "python"]);
    out.ok();
    assert!(
        out.stdout.contains("2 added, 0 replaced, 3 skipped."),
        "{out}"
    );

    let v = sb.cli(&["show", "prod", "--json"]).json();
    assert_eq!(v["production"], true);
    assert_eq!(v["description"], "Main database");
    assert_eq!(v["expires_days"], 90);
    assert_eq!(v["password_updated_at"], "2026-01-10T08:00:00Z");
    let r = sb.cli(&["show", "reports", "--json"]).json();
    assert_eq!(
        (r["port"].as_u64(), &r["expires_days"]),
        (Some(6432), &serde_json::Value::Null)
    );
    sb.assert_password("reports", "rep-pw");

    let out = sb.cli(&[
        "exec",
        "prod",
        "--",
        "psql",
        "-X",
        "-tAc",
        "select current_user",
    ]);
    out.ok();
    assert_eq!(out.stdout.trim(), role.name, "{out}");
    // Each keyring read is in the audit log.
    let vault_bytes = fs::read(sb.vault()).unwrap();
    assert!(!dbcreds_tests::contains_bytes(
        &vault_bytes,
        role.password.as_bytes()
    ));

    // A directory that is not a Python dbcreds layout: one line, exit 2.
    sb.cli(&["import", "--from", "python", "/nonexistent-dbcreds-dir"])
        .fails(2, &["no environments.json", "/nonexistent-dbcreds-dir"]);
}

#[test]
fn import_json_round_trip_and_bad_input() {
    let sb = vault();
    let password = awkward_password();
    sb.add_postgres("prod", "db.internal", &password);
    sb.cli(&[
        "update",
        "prod",
        "--production",
        "true",
        "--option",
        "sslmode=require",
    ])
    .ok();
    let exported = sb.cli(&["export", "prod", "--format", "json"]);
    exported.ok();

    let out = sb.cli_stdin(
        &["import", "--from", "json", "-", "--name", "prod-copy"],
        &exported.stdout,
    );
    out.ok();
    assert!(out.stdout.contains("1 added"), "{out}");
    sb.assert_password("prod-copy", &password);
    let a = sb.cli(&["show", "prod", "--json"]).json();
    let b = sb.cli(&["show", "prod-copy", "--json"]).json();
    for k in [
        "kind",
        "host",
        "port",
        "database",
        "username",
        "options",
        "production",
        "expires_days",
        "password_updated_at",
    ] {
        assert_eq!(a[k], b[k], "{k}");
    }

    // Exists already: kept; --overwrite replaces.
    let file = sb.root().join("home/prod.json");
    fs::write(
        &file,
        exported
            .stdout
            .replace(&password.replace('\\', "\\\\"), "changed"),
    )
    .unwrap();
    let out = sb.cli(&["import", "--from", "json", file.to_str().unwrap()]);
    out.ok();
    assert!(out.stdout.contains("'prod' exists already"), "{out}");
    sb.assert_password("prod", &password);
    let out = sb.cli(&[
        "import",
        "--from",
        "json",
        file.to_str().unwrap(),
        "--overwrite",
    ]);
    out.ok();
    assert!(out.stdout.contains("1 replaced"), "{out}");
    sb.assert_password("prod", "changed");

    // Bad input: one line, exit 2, nothing changed.
    sb.cli_stdin(&["import", "--from", "json", "-"], "{not json")
        .fails(2, &["not valid JSON"]);
    sb.cli(&["import", "--from", "json"])
        .fails(2, &["needs the file"]);
    sb.cli(&["import", "--from", "json", "/nonexistent.json"])
        .fails(2, &["/nonexistent.json", "no such file"]);
    sb.cli(&["import", "--from", "pgpass", "--kind", "mysql"])
        .fails(2, &["--kind"]);
    let two = serde_json::json!([env_json("a", 1, Some(90)), env_json("b", 1, Some(90))]);
    sb.cli_stdin(
        &["import", "--from", "json", "-", "--name", "x"],
        &two.to_string(),
    )
    .fails(2, &["--name"]);
    assert_eq!(
        sb.cli(&["list", "--json"]).json().as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn import_from_python_without_a_keyring_says_so() {
    let sb = vault();
    let dir = sb.root().join("home/.dbcreds");
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("environments.json"),
        r#"[{"name": "prod", "database_type": "postgresql"}]"#,
    )
    .unwrap();
    // No Secret Service in this sandbox: exit 10, nothing imported.
    sb.cli(&["import", "--from", "python"]).fails(
        10,
        &["keyring entry 'dbcreds:prod'", "nothing was imported"],
    );
    assert_eq!(sb.cli(&["list", "--json"]).json(), serde_json::json!([]));
}

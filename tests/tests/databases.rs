//! `dbcreds test`, `dbcreds rotate` (crash-safe), `dbcreds audit` and the
//! library's pools and change stream, against the machine's real
//! PostgreSQL and MariaDB (made ready by `tests/support/databases.sh`).
//!
//! Password authentication is enforced for every role and user here (the
//! `dbcreds_test` scram-sha-256 rule; MariaDB `IDENTIFIED BY`), and
//! `wrong_passwords_are_refused_by_the_servers` proves it, so "the server
//! accepts the new password and refuses the old one" means something.
//! Every test has its own vault, agent and roles, so they run in parallel.
//! Under `CI` a missing server fails the test instead of skipping it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dbcreds_tests::{
    AgentProcess, DB_HOST, MariaTestUser, PgTestRole, Sandbox, contains_bytes, example,
    files_under, in_ci, is_root, mariadb_or_skip, mariadb_root, pg_log_file, pg_superuser,
    postgres_or_skip, read_or_empty, token,
};

const PASSPHRASE: &str = "correct horse battery staple";

// Exit codes (cli/src/exit.rs).
const LOCKED: i32 = 4;
const UNREACHABLE: i32 = 15;
const LOGIN_FAILED: i32 = 16;
const TLS_FAILED: i32 = 17;
const UNSUPPORTED: i32 = 18;
const DB_ERROR: i32 = 19;

/// A sandbox whose agent unlocks at start from a passphrase file (so a
/// restarted agent recovers on its own), with a vault, and the agent
/// running.
fn vault() -> (Sandbox, AgentProcess) {
    let mut sb = Sandbox::new();
    let file = sb.root().join("passphrase");
    std::fs::write(&file, PASSPHRASE).expect("write passphrase file");
    sb.set_env("DBCREDS_PASSPHRASE_FILE", file.as_os_str());
    let agent = sb.start_agent();
    sb.init_passphrase(PASSPHRASE);
    (sb, agent)
}

fn add_pg(sb: &Sandbox, env: &str, role: &PgTestRole, password: &str, options: &[&str]) {
    sb.add_db(env, "postgres", "postgres", &role.name, password, options);
}

fn add_maria(sb: &Sandbox, env: &str, user: &MariaTestUser, password: &str, options: &[&str]) {
    // No database: the test users have no rights on any.
    sb.add_db(env, "mariadb", "", &user.name, password, options);
}

fn get(sb: &Sandbox, env: &str) -> String {
    let out = sb.cli(&["get", env]);
    out.ok();
    out.stdout.trim_end_matches('\n').to_owned()
}

fn show_json(sb: &Sandbox, env: &str) -> serde_json::Value {
    let out = sb.cli(&["show", env, "--json"]);
    out.ok();
    out.json()
}

/// A TCP port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let l = TcpListener::bind((DB_HOST, 0)).expect("bind");
    l.local_addr().expect("addr").port()
}

fn audit(sb: &Sandbox, env: &str) -> Vec<serde_json::Value> {
    let out = sb.cli(&["audit", env, "--json"]);
    out.ok();
    out.json().as_array().cloned().unwrap_or_default()
}

fn has_event(events: &[serde_json::Value], op: &str, outcome: &str) -> bool {
    events
        .iter()
        .any(|e| e["operation"] == op && e["outcome"] == outcome)
}

#[test]
fn wrong_passwords_are_refused_by_the_servers() {
    if !postgres_or_skip("wrong_passwords_are_refused")
        || !mariadb_or_skip("wrong_passwords_are_refused")
    {
        return;
    }
    let role = PgTestRole::create("enf", "");
    assert!(
        !role.logs_in_with("certainly-not-the-password"),
        "PostgreSQL let {} in with a wrong password: run tests/support/databases.sh",
        role.name
    );
    assert!(role.logs_in_with(&role.password));
    let user = MariaTestUser::create("enf", "");
    assert!(!user.logs_in_with("certainly-not-the-password"));
    assert!(user.logs_in_with(&user.password));

    // And through the agent: exit code 16, a message that names the fix.
    let (sb, _agent) = vault();
    add_pg(&sb, "pg", &role, "certainly-not-the-password", &[]);
    sb.cli(&["test", "pg"]).fails(
        LOGIN_FAILED,
        &[
            "refused the login",
            &role.name,
            "dbcreds update pg --password",
        ],
    );
    add_maria(&sb, "maria", &user, "certainly-not-the-password", &[]);
    sb.cli(&["test", "maria"])
        .fails(LOGIN_FAILED, &["refused the login", "access denied"]);
    let shown = show_json(&sb, "pg");
    assert_eq!(shown["last_test"]["ok"], false, "{shown}");
    assert_eq!(shown["last_test"]["reason"], "login_failed", "{shown}");
}

#[test]
fn test_reports_version_latency_tls_and_stores_the_outcome() {
    if !postgres_or_skip("test_reports") || !mariadb_or_skip("test_reports") {
        return;
    }
    let (sb, _agent) = vault();
    let role = PgTestRole::create("tst", "");
    add_pg(&sb, "pg", &role, &role.password, &["sslmode=require"]);
    let out = sb.cli(&["test", "pg"]);
    out.ok();
    assert!(out.stdout.starts_with("pg: ok, PostgreSQL "), "{out}");
    assert!(out.stdout.contains(" ms, TLS"), "{out}");
    assert_eq!(out.stderr, "", "no spinner without a terminal:\n{out}");

    let out = sb.cli(&["test", "pg", "--json"]);
    out.ok();
    let j = out.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["tls"], true, "sslmode=require must give TLS: {j}");
    assert!(j["latency_ms"].as_u64().is_some(), "{j}");
    assert!(
        j["server_version"]
            .as_str()
            .unwrap_or("")
            .starts_with("PostgreSQL 1"),
        "{j}"
    );

    let user = MariaTestUser::create("tst", "");
    add_maria(&sb, "maria", &user, &user.password, &[]);
    let out = sb.cli(&["test", "maria"]);
    out.ok();
    assert!(out.stdout.starts_with("maria: ok, MariaDB "), "{out}");

    let file = sb.root().join("local.db");
    std::fs::File::create(&file).expect("create sqlite file");
    let out = sb.cli_stdin(
        &[
            "add",
            "lite",
            "--kind",
            "sqlite",
            "--database",
            file.to_str().unwrap_or_default(),
            "--password-stdin",
        ],
        "unused\n",
    );
    out.ok();
    let out = sb.cli(&["test", "lite"]);
    out.ok();
    assert!(out.stdout.starts_with("lite: ok, SQLite 3."), "{out}");

    // Stored, and shown by show and list.
    let shown = show_json(&sb, "pg");
    assert_eq!(shown["last_test"]["ok"], true, "{shown}");
    assert_eq!(shown["last_test"]["tls"], true, "{shown}");
    let out = sb.cli(&["show", "pg"]);
    out.ok();
    assert!(out.stdout.contains("last test:    ok, PostgreSQL"), "{out}");
    let out = sb.cli(&["list"]);
    out.ok();
    assert!(
        out.stdout
            .lines()
            .next()
            .unwrap_or("")
            .contains("LAST TEST"),
        "{out}"
    );
    let pg_row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("pg "))
        .unwrap_or_default();
    assert!(pg_row.contains(" ok ("), "{out}");
    let out = sb.cli(&["list", "--json"]);
    out.ok();
    let all = out.json();
    let maria = all
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == "maria"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(maria["last_test"]["ok"], true, "{all}");
}

#[test]
fn test_failures_are_fast_clear_and_have_their_own_exit_codes() {
    if !postgres_or_skip("test_failures") || !mariadb_or_skip("test_failures") {
        return;
    }
    let (sb, _agent) = vault();
    let role = PgTestRole::create("bad", "");

    // Nothing listens: refused at once.
    let port = closed_port().to_string();
    sb.cli_stdin(
        &[
            "add",
            "down",
            "--host",
            DB_HOST,
            "--port",
            &port,
            "--database",
            "postgres",
            "--user",
            &role.name,
            "--password-stdin",
        ],
        "x\n",
    )
    .ok();
    let started = Instant::now();
    sb.cli(&["test", "down"]).fails(
        UNREACHABLE,
        &["cannot reach", &format!("127.0.0.1:{port}"), "refused"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // Something accepts the connection but never answers: the connect
    // timeout bounds the wait (1 s here; 5 s by default).
    let silent = TcpListener::bind((DB_HOST, 0)).expect("bind");
    let silent_port = silent.local_addr().expect("addr").port().to_string();
    for (env, opts, bound) in [
        ("silent", vec!["connect_timeout=1"], Duration::from_secs(4)),
        ("silent-default", vec![], Duration::from_secs(9)),
    ] {
        let mut args = vec![
            "add",
            env,
            "--host",
            DB_HOST,
            "--port",
            &silent_port,
            "--database",
            "postgres",
            "--user",
            &role.name,
            "--password-stdin",
        ];
        for o in &opts {
            args.extend(["--option", o]);
        }
        sb.cli_stdin(&args, "x\n").ok();
        let started = Instant::now();
        sb.cli(&["test", env])
            .fails(UNREACHABLE, &["cannot reach", "no answer within"]);
        let took = started.elapsed();
        assert!(took < bound, "{env}: took {took:?}");
        if opts.is_empty() {
            assert!(
                took >= Duration::from_secs(4),
                "default timeout is 5 s, took {took:?}"
            );
        }
    }
    drop(silent);

    // TLS: a CA that did not sign the server's certificate.
    add_pg(
        &sb,
        "pg-verify",
        &role,
        &role.password,
        &[
            "sslmode=verify-full",
            "sslrootcert=/etc/ssl/certs/ca-certificates.crt",
        ],
    );
    sb.cli(&["test", "pg-verify"])
        .fails(TLS_FAILED, &["TLS", "sslrootcert"]);

    // TLS required, server without TLS (the machine's MariaDB has none).
    let have_ssl = mariadb_root("SHOW VARIABLES LIKE 'have_ssl'");
    have_ssl.ok();
    let user = MariaTestUser::create("bad", "");
    add_maria(
        &sb,
        "maria-tls",
        &user,
        &user.password,
        &["ssl-mode=REQUIRED"],
    );
    if have_ssl.stdout.contains("DISABLED") || have_ssl.stdout.contains("NO") {
        sb.cli(&["test", "maria-tls"])
            .fails(TLS_FAILED, &["TLS", "does not support TLS"]);
    } else {
        eprintln!("note: MariaDB has TLS here; the no-TLS case is not exercised");
    }

    // No driver.
    for kind in ["mssql", "oracle", "snowflake"] {
        sb.cli_stdin(
            &[
                "add",
                kind,
                "--kind",
                kind,
                "--host",
                "db.example",
                "--database",
                "d",
                "--user",
                "u",
                "--password-stdin",
            ],
            "x\n",
        )
        .ok();
        sb.cli(&["test", kind])
            .fails(UNSUPPORTED, &["no driver", kind]);
    }

    // Missing database: the server's own words.
    add_pg(&sb, "nodb", &role, &role.password, &[]);
    sb.cli(&[
        "update",
        "nodb",
        "--database",
        &format!("nosuch_{}", &token()[..8]),
    ])
    .ok();
    sb.cli(&["test", "nodb"])
        .fails(DB_ERROR, &["does not exist"]);

    // Missing SQLite file: never created by a test.
    let missing = sb.root().join("missing.db");
    sb.cli_stdin(
        &[
            "add",
            "lite",
            "--kind",
            "sqlite",
            "--database",
            missing.to_str().unwrap_or_default(),
            "--password-stdin",
        ],
        "x\n",
    )
    .ok();
    sb.cli(&["test", "lite"])
        .fails(UNREACHABLE, &["cannot open"]);
    assert!(!missing.exists(), "test created {}", missing.display());

    // Every failure was stored and audited.
    let out = sb.cli(&["list"]);
    out.ok();
    assert!(out.stdout.contains("failed: unreachable"), "{out}");
    assert!(out.stdout.contains("failed: tls_failed"), "{out}");
    assert!(has_event(&audit(&sb, "down"), "test", "unreachable"));
}

#[test]
fn rotate_postgres_sets_a_new_password_on_the_server_and_resets_the_clock() {
    if !postgres_or_skip("rotate_postgres") {
        return;
    }
    let (sb, agent) = vault();
    let role = PgTestRole::create("rot", "");
    add_pg(&sb, "prod", &role, &role.password, &[]);

    // Age the password past its expiry (straight in the vault, agent
    // stopped) to show that rotation resets the clock.
    agent.terminate();
    let sql = "UPDATE environments SET password_updated_at = password_updated_at - 100 * 86400 \
               WHERE name = 'prod';";
    let mut cmd = std::process::Command::new("sqlite3");
    cmd.arg(sb.vault()).arg(sql);
    dbcreds_tests::run(cmd, None).ok();
    let _agent = sb.start_agent();
    assert_eq!(show_json(&sb, "prod")["expired"], true);

    let out = sb.cli(&["rotate", "prod"]);
    out.ok();
    assert!(
        out.stdout.contains("rotated the password of 'prod'"),
        "{out}"
    );
    let new = get(&sb, "prod");
    assert_ne!(new, role.password);
    assert_eq!(new.len(), 32, "default length");
    assert!(
        new.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "{new}"
    );
    assert!(
        role.logs_in_with(&new),
        "the server must accept the new password"
    );
    assert!(
        !role.logs_in_with(&role.password),
        "the server must refuse the old password"
    );
    assert!(
        !out.all().contains(&new),
        "rotate must not print the password:\n{out}"
    );
    // Nor log it (the agent logs at debug level here), nor store it
    // unsealed.
    assert!(
        !sb.logs().contains(&new),
        "the new password is in the agent's log"
    );
    for f in files_under(&sb.home()) {
        assert!(
            !contains_bytes(&read_or_empty(&f), new.as_bytes()),
            "the new password is in {}",
            f.display()
        );
    }

    let shown = show_json(&sb, "prod");
    assert_eq!(shown["expired"], false, "{shown}");
    assert_eq!(shown["expiry"], "expires in 90 days", "{shown}");
    assert_eq!(shown["rotation"], serde_json::Value::Null, "{shown}");
    assert_eq!(
        shown["last_test"]["ok"], true,
        "the verifying login is the last test: {shown}"
    );
    sb.cli(&["get", "prod", "--require-fresh"]).ok();

    // Length and alphabet are configurable; JSON says what happened.
    let out = sb.cli(&[
        "rotate",
        "prod",
        "--length",
        "48",
        "--alphabet",
        "abcdefghijklmnop0123456789",
        "--json",
    ]);
    out.ok();
    assert_eq!(out.json()["outcome"], "rotated", "{out}");
    let newer = get(&sb, "prod");
    assert_eq!(newer.len(), 48);
    assert!(
        newer
            .chars()
            .all(|c| "abcdefghijklmnop0123456789".contains(c))
    );
    assert!(role.logs_in_with(&newer));
    assert!(!role.logs_in_with(&new));

    let events = audit(&sb, "prod");
    assert!(has_event(&events, "rotate", "rotated"), "{events:?}");
    let e = events
        .iter()
        .find(|e| e["operation"] == "rotate")
        .cloned()
        .unwrap_or_default();
    assert!(e["client_pid"].as_u64().is_some(), "{e}");
    assert!(
        e["client_exe"].as_str().unwrap_or("").ends_with("dbcreds"),
        "{e}"
    );
}

#[test]
fn rotate_mariadb_by_itself_and_through_an_admin() {
    if !mariadb_or_skip("rotate_mariadb") {
        return;
    }
    let (sb, _agent) = vault();
    let user = MariaTestUser::create("rot", "");
    let admin = MariaTestUser::create("adm", "CREATE USER ON *.*");
    add_maria(&sb, "shop", &user, &user.password, &[]);
    add_maria(&sb, "shop-admin", &admin, &admin.password, &[]);

    sb.cli(&["rotate", "shop"]).ok();
    let first = get(&sb, "shop");
    assert!(user.logs_in_with(&first));
    assert!(!user.logs_in_with(&user.password));

    sb.cli(&["rotate", "shop", "--admin", "shop-admin"]).ok();
    let second = get(&sb, "shop");
    assert_ne!(second, first);
    assert!(user.logs_in_with(&second));
    assert!(!user.logs_in_with(&first));
    assert!(
        admin.logs_in_with(&admin.password),
        "the admin's password is untouched"
    );
}

#[test]
fn rotate_postgres_through_an_admin_role_when_the_user_cannot_log_in() {
    if !postgres_or_skip("rotate_postgres_admin") {
        return;
    }
    let (sb, _agent) = vault();
    let role = PgTestRole::create("lost", "");
    let admin = PgTestRole::create("adm", "CREATEROLE");
    // The stored password is stale: the user cannot change it itself.
    add_pg(&sb, "app", &role, "stale-password", &[]);
    add_pg(&sb, "app-admin", &admin, &admin.password, &[]);
    sb.cli(&["rotate", "app"])
        .fails(LOGIN_FAILED, &["refused the login", "changed nothing"]);
    assert_eq!(get(&sb, "app"), "stale-password");

    sb.cli(&["rotate", "app", "--admin", "app-admin"]).ok();
    let new = get(&sb, "app");
    assert!(role.logs_in_with(&new));
    assert!(!role.logs_in_with(&role.password));
}

#[test]
fn a_failed_rotation_changes_no_stored_password() {
    if !postgres_or_skip("failed_rotation") {
        return;
    }
    let (sb, _agent) = vault();
    let role = PgTestRole::create("keep", "");
    let weak = PgTestRole::create("weak", "");

    // Wrong stored password: refused before anything changes.
    add_pg(&sb, "wrong", &role, "not-the-password", &[]);
    sb.cli(&["rotate", "wrong"])
        .fails(LOGIN_FAILED, &["refused the login", "changed nothing"]);
    assert_eq!(get(&sb, "wrong"), "not-the-password");
    assert!(
        role.logs_in_with(&role.password),
        "the server was not touched"
    );

    // Unreachable server.
    let port = closed_port().to_string();
    sb.cli_stdin(
        &[
            "add",
            "down",
            "--host",
            DB_HOST,
            "--port",
            &port,
            "--database",
            "postgres",
            "--user",
            &role.name,
            "--password-stdin",
        ],
        &format!("{}\n", role.password),
    )
    .ok();
    sb.cli(&["rotate", "down"])
        .fails(UNREACHABLE, &["cannot reach", "changed nothing"]);
    assert_eq!(get(&sb, "down"), role.password);

    // An admin that may not ALTER the role: the server refuses the statement.
    add_pg(&sb, "right", &role, &role.password, &[]);
    add_pg(&sb, "weak-admin", &weak, &weak.password, &[]);
    sb.cli(&["rotate", "right", "--admin", "weak-admin"]).fails(
        DB_ERROR,
        &["refused to change the password", "changed nothing"],
    );
    assert_eq!(get(&sb, "right"), role.password);
    assert!(role.logs_in_with(&role.password));

    // Kinds without a server password to rotate.
    sb.cli_stdin(
        &[
            "add",
            "ms",
            "--kind",
            "mssql",
            "--host",
            "db.example",
            "--database",
            "d",
            "--user",
            "u",
            "--password-stdin",
        ],
        "ms-password\n",
    )
    .ok();
    sb.cli(&["rotate", "ms"])
        .fails(UNSUPPORTED, &["no driver", "mssql"]);
    assert_eq!(get(&sb, "ms"), "ms-password");
    let file = sb.root().join("l.db");
    std::fs::File::create(&file).expect("sqlite file");
    sb.cli_stdin(
        &[
            "add",
            "lite",
            "--kind",
            "sqlite",
            "--database",
            file.to_str().unwrap_or_default(),
            "--password-stdin",
        ],
        "lite-password\n",
    )
    .ok();
    sb.cli(&["rotate", "lite"])
        .fails(UNSUPPORTED, &["sqlite", "no server password"]);

    // Bad options are refused before anything is stored.
    sb.cli(&["rotate", "right", "--alphabet", "ab'cdefghijkl"])
        .fails(2, &["--alphabet"]);
    sb.cli(&["rotate", "right", "--length", "8"]).code(2);
    assert_eq!(get(&sb, "right"), role.password);
    let events = audit(&sb, "wrong");
    assert!(has_event(&events, "rotate", "login_failed"), "{events:?}");
}

#[test]
fn the_postgres_log_of_a_rotation_lacks_the_password() {
    if !postgres_or_skip("rotation_log") {
        return;
    }
    if !is_root() {
        assert!(
            !in_ci(),
            "rotation_log: needs root to read the server log, and CI is set"
        );
        eprintln!("SKIPPED rotation_log: needs root to read the PostgreSQL log");
        return;
    }
    let Some(log) = pg_log_file() else {
        panic!("pg_lsclusters names no log file for the cluster on 5432");
    };
    let (sb, _agent) = vault();
    let role = PgTestRole::create("log", "");
    // Every statement of this role's sessions goes to the server log.
    pg_superuser(&format!(
        "ALTER ROLE {} SET log_statement = 'all'",
        role.name
    ))
    .ok();
    add_pg(&sb, "logged", &role, &role.password, &[]);
    sb.cli(&["rotate", "logged"]).ok();
    let new = get(&sb, "logged");
    assert!(role.logs_in_with(&new));

    let text =
        String::from_utf8_lossy(&std::fs::read(&log).expect("read the server log")).into_owned();
    // Positive control: the statement is in the log, with a SCRAM verifier.
    let statement = format!("ALTER ROLE \"{}\" PASSWORD 'SCRAM-SHA-256$4096:", role.name);
    assert!(
        text.contains(&statement),
        "the log {} should hold the rotation's statement `{statement}...` (log_statement=all)",
        log.display()
    );
    assert!(
        !text.contains(&new),
        "the new password is in the server log {}",
        log.display()
    );
    assert!(
        !text.contains(&role.password),
        "the old password is in the server log"
    );
}

/// Starts an agent that aborts at `failpoint`, rotates (the agent dies),
/// restarts a normal agent (which unlocks from the passphrase file and
/// settles the rotation), runs `rotate --resume`, and returns (password
/// before, password after, the audit events).
fn crash_and_recover(
    sb: &mut Sandbox,
    env: &str,
    failpoint: &str,
) -> (String, String, Vec<serde_json::Value>) {
    sb.set_env("DBCREDS_FAILPOINT", failpoint);
    let crashing = sb.start_agent();
    let before = get(sb, env);
    let out = sb.cli(&["rotate", env]);
    assert_ne!(
        out.code,
        Some(0),
        "{failpoint}: the rotation should have died:\n{out}"
    );
    assert!(out.stderr.contains("--resume"), "{out}");
    let status = crashing.terminate();
    assert_eq!(
        status.signal(),
        Some(6),
        "{failpoint}: the agent should have aborted: {status:?}"
    );

    // The vault says a rotation is under way (unless it died before storing
    // anything, which no failpoint does).
    sb.set_env("DBCREDS_FAILPOINT", "");
    let _agent = sb.start_agent();
    let out = sb.cli(&["rotate", "--resume", env, "--json"]);
    out.ok();
    let outcome = out.json()["outcome"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        ["nothing_to_resume", "finished", "rolled_back"].contains(&outcome.as_str()),
        "{failpoint}: {out}"
    );
    let after = get(sb, env);
    assert_eq!(show_json(sb, env)["rotation"], serde_json::Value::Null);
    (before, after, audit(sb, env))
}

#[test]
fn a_crash_at_any_step_of_a_rotation_loses_nothing() {
    if !postgres_or_skip("crash_rotation") {
        return;
    }
    let (mut sb, agent) = vault();
    let role = PgTestRole::create("crash", "");
    add_pg(&sb, "prod", &role, &role.password, &[]);
    agent.terminate();

    // Before the server is touched: rolled back, the current one stays.
    let (before, after, events) = crash_and_recover(&mut sb, "prod", "rotate:after_pending");
    assert_eq!(after, before);
    assert!(role.logs_in_with(&after));
    assert!(
        has_event(&events, "recover", "rolled_back")
            || has_event(&events, "rotate-resume", "rolled_back"),
        "{events:?}"
    );

    // After the server changed, and after the login was verified: the new
    // one is promoted, the server agrees, the old one is refused.
    for fp in ["rotate:after_server", "rotate:after_verify"] {
        let (before, after, events) = crash_and_recover(&mut sb, "prod", fp);
        assert_ne!(after, before, "{fp}");
        assert!(
            role.logs_in_with(&after),
            "{fp}: the server must take the stored password"
        );
        assert!(
            !role.logs_in_with(&before),
            "{fp}: the old password must be gone"
        );
        assert!(
            has_event(&events, "recover", "finished")
                || has_event(&events, "rotate-resume", "finished"),
            "{fp}: {events:?}"
        );
    }
}

#[test]
fn a_crash_during_a_mariadb_rotation_loses_nothing() {
    if !mariadb_or_skip("crash_rotation_mariadb") {
        return;
    }
    let (mut sb, agent) = vault();
    let user = MariaTestUser::create("crash", "");
    add_maria(&sb, "shop", &user, &user.password, &[]);
    agent.terminate();
    let (before, after, _) = crash_and_recover(&mut sb, "shop", "rotate:after_server");
    assert_ne!(after, before);
    assert!(user.logs_in_with(&after));
    assert!(!user.logs_in_with(&before));
}

#[test]
fn audit_lists_filters_and_needs_no_unlock() {
    if !postgres_or_skip("audit") {
        return;
    }
    let (sb, _agent) = vault();
    let role = PgTestRole::create("aud", "");
    add_pg(&sb, "a", &role, &role.password, &[]);
    add_pg(&sb, "b", &role, &role.password, &[]);
    get(&sb, "a");
    sb.cli(&["test", "a"]).ok();
    get(&sb, "b");

    let events = audit(&sb, "a");
    assert!(has_event(&events, "get", "ok"), "{events:?}");
    assert!(has_event(&events, "test", "ok"), "{events:?}");
    assert!(events.iter().all(|e| e["environment"] == "a"), "{events:?}");
    for e in &events {
        assert!(e["at"].as_str().unwrap_or("").ends_with('Z'), "{e}");
        assert!(e["client_pid"].as_u64().is_some(), "{e}");
    }

    let out = sb.cli(&["audit", "--since", "1h", "--json"]);
    out.ok();
    let recent = out.json();
    assert!(
        recent
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["environment"] == "b")),
        "{recent}"
    );
    let out = sb.cli(&["audit", "--since", "2999-01-01", "--json"]);
    out.ok();
    assert_eq!(out.json(), serde_json::json!([]));

    let out = sb.cli(&["audit"]);
    out.ok();
    assert!(out.stdout.starts_with("TIME"), "{out}");
    assert!(out.stdout.contains(" test "), "{out}");

    // Locked: still readable.
    sb.cli(&["lock"]).ok();
    let out = sb.cli(&["audit", "a", "--json"]);
    out.ok();
    assert!(!out.json().as_array().unwrap_or(&vec![]).is_empty());
    sb.cli(&["test", "a"])
        .fails(LOCKED, &["locked", "dbcreds unlock"]);
    sb.cli(&["audit", "--since", "yesterday"])
        .fails(2, &["--since"]);
}

/// Lines of a child's stdout, as they come.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn an_application_pool_follows_rotations_and_updates_through_watch() {
    if !postgres_or_skip("pool_watch") {
        return;
    }
    let (sb, _agent) = vault();
    let role = PgTestRole::create("app", "");
    add_pg(&sb, "prod", &role, &role.password, &[]);

    // client/examples/pool.rs: dbcreds::sqlx::pg_pool("prod"), then
    // Client::watch, rebuilding its pool on every password change.
    let mut cmd = sb.command(example("pool"));
    cmd.args(["prod", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut app = cmd.spawn().expect("spawn the pool example");
    let lines = lines_of(&mut app);
    let next = |what: &str| {
        lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the pool example printed no {what}"))
    };
    assert_eq!(next("first line"), format!("connected as {}", role.name));
    assert_eq!(next("watching line"), "watching");

    sb.cli(&["rotate", "prod"]).ok();
    assert_eq!(
        next("line after rotate"),
        format!("reconnected as {}", role.name)
    );

    // A password changed by hand (on the server, then in dbcreds).
    let manual = format!("manual-{}", token());
    pg_superuser(&format!("ALTER ROLE {} PASSWORD '{manual}'", role.name)).ok();
    sb.cli_stdin(
        &["update", "prod", "--password-stdin"],
        &format!("{manual}\n"),
    )
    .ok();
    assert_eq!(
        next("line after update"),
        format!("reconnected as {}", role.name)
    );

    let status = app.wait().expect("wait for the example");
    assert!(status.success(), "{status:?}");
}

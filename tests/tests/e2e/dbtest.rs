//! `dbcreds test` against the machine's real PostgreSQL and MariaDB (made
//! ready by `tests/support/databases.sh`): what it reports, what it stores,
//! and a code and message of its own for each way a connection fails.
//!
//! Password authentication is enforced for every role and user here (the
//! `dbcreds_test` scram-sha-256 rule; MariaDB `IDENTIFIED BY`), and
//! `wrong_passwords_are_refused_by_the_servers` proves it, so "the server
//! accepts the new password and refuses the old one" means something in
//! every database test. Under `CI` a missing server fails the test instead
//! of skipping it.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use dbcreds_tests::{
    DB_HOST, EnvSpec, MariaTestUser, PgTestRole, closed_port, exit, has_event, mariadb_or_skip,
    mariadb_root, token,
};

#[test]
fn wrong_passwords_are_refused_by_the_servers() {
    if !mariadb_or_skip("wrong_passwords_are_refused") {
        return;
    }
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip(
        "wrong_passwords_are_refused",
        "enf",
        &[]
    ));
    role.assert_password_enforced();
    let user = MariaTestUser::create("enf", "");
    user.assert_password_enforced();

    // And through the agent: exit code 16, a message that names the fix.
    sb.add(&role.env("pg").password("certainly-not-the-password"))
        .ok();
    sb.cli(&["test", "pg"]).fails(
        exit::DB_LOGIN_FAILED,
        &[
            "refused the login",
            &role.name,
            "dbcreds update pg --password",
        ],
    );
    sb.add(&user.env("maria").password("certainly-not-the-password"))
        .ok();
    sb.cli(&["test", "maria"]).fails(
        exit::DB_LOGIN_FAILED,
        &["refused the login", "access denied"],
    );
    let shown = sb.show_json("pg");
    assert_eq!(shown["last_test"]["ok"], false, "{shown}");
    assert_eq!(shown["last_test"]["reason"], "login_failed", "{shown}");
}

#[test]
fn test_reports_version_latency_tls_and_stores_the_outcome() {
    if !mariadb_or_skip("test_reports") {
        return;
    }
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip("test_reports", "tst", &[]));
    sb.add(&role.env("pg").options(&["sslmode=require"])).ok();
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
    sb.add(&user.env("maria")).ok();
    let out = sb.cli(&["test", "maria"]);
    out.ok();
    assert!(out.stdout.starts_with("maria: ok, MariaDB "), "{out}");

    let file = sb.root().join("local.db");
    std::fs::File::create(&file).expect("create sqlite file");
    sb.add(&EnvSpec::sqlite("lite", &file)).ok();
    let out = sb.cli(&["test", "lite"]);
    out.ok();
    assert!(out.stdout.starts_with("lite: ok, SQLite 3."), "{out}");

    // Stored, and shown by show and list.
    let shown = sb.show_json("pg");
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
    let all = sb.list_json();
    let maria = all
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == "maria"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(maria["last_test"]["ok"], true, "{all}");
}

#[test]
fn test_failures_are_fast_clear_and_have_their_own_exit_codes() {
    if !mariadb_or_skip("test_failures") {
        return;
    }
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip("test_failures", "bad", &[]));

    // Nothing listens: refused at once.
    let port = closed_port();
    sb.add(&role.env("down").port(port)).ok();
    let started = Instant::now();
    sb.cli(&["test", "down"]).fails(
        exit::DB_UNREACHABLE,
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
    let silent_port = silent.local_addr().expect("addr").port();
    for (env, opts, bound) in [
        ("silent", &["connect_timeout=1"][..], Duration::from_secs(4)),
        ("silent-default", &[], Duration::from_secs(9)),
    ] {
        sb.add(&role.env(env).port(silent_port).options(opts)).ok();
        let started = Instant::now();
        sb.cli(&["test", env])
            .fails(exit::DB_UNREACHABLE, &["cannot reach", "no answer within"]);
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
    sb.add(&role.env("pg-verify").options(&[
        "sslmode=verify-full",
        "sslrootcert=/etc/ssl/certs/ca-certificates.crt",
    ]))
    .ok();
    sb.cli(&["test", "pg-verify"])
        .fails(exit::DB_TLS_FAILED, &["TLS", "sslrootcert"]);

    // TLS required, server without TLS (the machine's MariaDB has none).
    let have_ssl = mariadb_root("SHOW VARIABLES LIKE 'have_ssl'");
    have_ssl.ok();
    let user = MariaTestUser::create("bad", "");
    sb.add(&user.env("maria-tls").options(&["ssl-mode=REQUIRED"]))
        .ok();
    if have_ssl.stdout.contains("DISABLED") || have_ssl.stdout.contains("NO") {
        sb.cli(&["test", "maria-tls"])
            .fails(exit::DB_TLS_FAILED, &["TLS", "does not support TLS"]);
    } else {
        eprintln!("note: MariaDB has TLS here; the no-TLS case is not exercised");
    }

    // No driver.
    for kind in ["mssql", "oracle", "snowflake"] {
        sb.add(&EnvSpec::driverless(kind, kind)).ok();
        sb.cli(&["test", kind])
            .fails(exit::DB_UNSUPPORTED, &["no driver", kind]);
    }

    // Missing database: the server's own words.
    sb.add(&role.env("nodb")).ok();
    let nosuch = format!("nosuch_{}", &token()[..8]);
    sb.cli(&["update", "nodb", "--database", &nosuch]).ok();
    sb.cli(&["test", "nodb"])
        .fails(exit::DB_ERROR, &["does not exist"]);

    // Missing SQLite file: never created by a test.
    let missing = sb.root().join("missing.db");
    sb.add(&EnvSpec::sqlite("lite", &missing)).ok();
    sb.cli(&["test", "lite"])
        .fails(exit::DB_UNREACHABLE, &["cannot open"]);
    assert!(!missing.exists(), "test created {}", missing.display());

    // Every failure was stored and audited.
    let out = sb.cli(&["list"]);
    out.ok();
    assert!(out.stdout.contains("failed: unreachable"), "{out}");
    assert!(out.stdout.contains("failed: tls_failed"), "{out}");
    assert!(has_event(&sb.audit_events("down"), "test", "unreachable"));
}

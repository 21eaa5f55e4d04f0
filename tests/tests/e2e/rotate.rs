//! `dbcreds rotate` against the real servers: a new password on the server
//! and in the vault, through an admin, never half done (a failed rotation
//! changes nothing; a crash at any step is settled by the next agent), never
//! in a log; and an application pool that follows it through `watch`.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use dbcreds_tests::{
    DbLogin, EnvSpec, MariaDb, MariaTestUser, PgTestRole, Postgres, Sandbox, Server,
    assert_no_file_holds, closed_port, example, exit, has_event, lines, pg_log_file, pg_superuser,
    root_or_skip, token,
};

#[test]
fn rotate_postgres_sets_a_new_password_on_the_server_and_resets_the_clock() {
    let (sb, agent, role) = or_return!(PgTestRole::vault_or_skip(
        "rotate_postgres",
        "rot",
        &["prod"]
    ));

    // Age the password past its expiry (straight in the vault, agent
    // stopped) to show that rotation resets the clock.
    agent.terminate();
    let sql = "UPDATE environments SET password_updated_at = password_updated_at - 100 * 86400 \
               WHERE name = 'prod';";
    sb.vault_sql(sql).ok();
    let _agent = sb.start_agent();
    assert_eq!(sb.show_json("prod")["expired"], true);

    let out = sb.cli(&["rotate", "prod"]);
    out.ok();
    assert!(
        out.stdout.contains("rotated the password of 'prod'"),
        "{out}"
    );
    let new = sb.password_of("prod");
    assert_ne!(new, role.password);
    assert_eq!(new.len(), 32, "default length");
    assert!(
        new.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "{new}"
    );
    // The server takes the new password and refuses the old one.
    role.assert_takes_only(&new, &role.password);
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
    assert_no_file_holds(&sb.home(), &[&new]);

    let shown = sb.show_json("prod");
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
    let newer = sb.password_of("prod");
    assert_eq!(newer.len(), 48);
    assert!(
        newer
            .chars()
            .all(|c| "abcdefghijklmnop0123456789".contains(c))
    );
    role.assert_takes_only(&newer, &new);

    let events = sb.audit_events("prod");
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
    let (sb, _agent, user) = or_return!(MariaTestUser::vault_or_skip("rotate_mariadb", "rot", &[]));
    let admin = MariaTestUser::create("adm", "CREATE USER ON *.*");
    sb.add(&user.env("shop")).ok();
    sb.add(&admin.env("shop-admin")).ok();

    sb.cli(&["rotate", "shop"]).ok();
    let first = sb.password_of("shop");
    user.assert_takes_only(&first, &user.password);

    sb.cli(&["rotate", "shop", "--admin", "shop-admin"]).ok();
    let second = sb.password_of("shop");
    assert_ne!(second, first);
    user.assert_takes_only(&second, &first);
    assert!(
        admin.logs_in_with(&admin.password),
        "the admin's password is untouched"
    );
}

#[test]
fn rotate_postgres_through_an_admin_role_when_the_user_cannot_log_in() {
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip(
        "rotate_postgres_admin",
        "lost",
        &[]
    ));
    let admin = PgTestRole::create("adm", "CREATEROLE");
    // The stored password is stale: the user cannot change it itself.
    sb.add(&role.env("app").password("stale-password")).ok();
    sb.add(&admin.env("app-admin")).ok();
    sb.cli(&["rotate", "app"]).fails(
        exit::DB_LOGIN_FAILED,
        &["refused the login", "changed nothing"],
    );
    assert_eq!(sb.password_of("app"), "stale-password");

    sb.cli(&["rotate", "app", "--admin", "app-admin"]).ok();
    let new = sb.password_of("app");
    role.assert_takes_only(&new, &role.password);
}

#[test]
fn a_failed_rotation_changes_no_stored_password() {
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip("failed_rotation", "keep", &[]));
    let weak = PgTestRole::create("weak", "");

    // Wrong stored password: refused before anything changes.
    sb.add(&role.env("wrong").password("not-the-password")).ok();
    sb.cli(&["rotate", "wrong"]).fails(
        exit::DB_LOGIN_FAILED,
        &["refused the login", "changed nothing"],
    );
    assert_eq!(sb.password_of("wrong"), "not-the-password");
    assert!(
        role.logs_in_with(&role.password),
        "the server was not touched"
    );

    // Unreachable server.
    sb.add(&role.env("down").port(closed_port())).ok();
    sb.cli(&["rotate", "down"])
        .fails(exit::DB_UNREACHABLE, &["cannot reach", "changed nothing"]);
    assert_eq!(sb.password_of("down"), role.password);

    // An admin that may not ALTER the role: the server refuses the statement.
    sb.add(&role.env("right")).ok();
    sb.add(&weak.env("weak-admin")).ok();
    sb.cli(&["rotate", "right", "--admin", "weak-admin"]).fails(
        exit::DB_ERROR,
        &["refused to change the password", "changed nothing"],
    );
    assert_eq!(sb.password_of("right"), role.password);
    assert!(role.logs_in_with(&role.password));

    // Kinds without a server password to rotate.
    sb.add(&EnvSpec::driverless("ms", "mssql").password("ms-password"))
        .ok();
    sb.cli(&["rotate", "ms"])
        .fails(exit::DB_UNSUPPORTED, &["no driver", "mssql"]);
    assert_eq!(sb.password_of("ms"), "ms-password");
    let file = sb.root().join("l.db");
    std::fs::File::create(&file).expect("sqlite file");
    sb.add(&EnvSpec::sqlite("lite", &file).password("lite-password"))
        .ok();
    sb.cli(&["rotate", "lite"])
        .fails(exit::DB_UNSUPPORTED, &["sqlite", "no server password"]);

    // Bad options are refused before anything is stored.
    sb.cli(&["rotate", "right", "--alphabet", "ab'cdefghijkl"])
        .fails(exit::USAGE, &["--alphabet"]);
    sb.cli(&["rotate", "right", "--length", "8"])
        .code(exit::USAGE);
    assert_eq!(sb.password_of("right"), role.password);
    let events = sb.audit_events("wrong");
    assert!(has_event(&events, "rotate", "login_failed"), "{events:?}");
}

#[test]
fn the_postgres_log_of_a_rotation_lacks_the_password() {
    if !root_or_skip("rotation_log (to read the PostgreSQL log)") {
        return;
    }
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip("rotation_log", "log", &[]));
    let Some(log) = pg_log_file() else {
        panic!("pg_lsclusters names no log file for the cluster on 5432");
    };
    // Every statement of this role's sessions goes to the server log.
    pg_superuser(&format!(
        "ALTER ROLE {} SET log_statement = 'all'",
        role.name
    ))
    .ok();
    sb.add(&role.env("logged")).ok();
    sb.cli(&["rotate", "logged"]).ok();
    let new = sb.password_of("logged");
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
    let before = sb.password_of(env);
    let out = sb.cli(&["rotate", env]);
    // Issue 9.8: the connection broke mid-request; that was exit code 1.
    out.fails(
        exit::AGENT_UNREACHABLE,
        &["broke during the request", "--resume"],
    );
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
    let resumed = sb.json(&["rotate", "--resume", env]);
    let outcome = resumed["outcome"].as_str().unwrap_or_default();
    assert!(
        ["nothing_to_resume", "finished", "rolled_back"].contains(&outcome),
        "{failpoint}: {resumed}"
    );
    let after = sb.password_of(env);
    assert_eq!(sb.show_json(env)["rotation"], serde_json::Value::Null);
    (before, after, sb.audit_events(env))
}

/// A vault holding a new login of server `S` as `env`, its agent stopped
/// (each [`crash_and_recover`] starts its own).
fn stopped_vault<S: Server>(test: &str, env: &str) -> Option<(Sandbox, DbLogin<S>)> {
    let (sb, agent, login) = DbLogin::<S>::vault_or_skip(test, "crash", &[env])?;
    agent.terminate();
    Some((sb, login))
}

#[test]
fn a_crash_at_any_step_of_a_rotation_loses_nothing() {
    let (mut sb, role) = or_return!(stopped_vault::<Postgres>("crash_rotation", "prod"));

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
        // The server takes the stored password, not the old one.
        role.assert_takes_only(&after, &before);
        assert!(
            has_event(&events, "recover", "finished")
                || has_event(&events, "rotate-resume", "finished"),
            "{fp}: {events:?}"
        );
    }
}

#[test]
fn a_crash_during_a_mariadb_rotation_loses_nothing() {
    let (mut sb, user) = or_return!(stopped_vault::<MariaDb>("crash_rotation_mariadb", "shop"));
    let (before, after, _) = crash_and_recover(&mut sb, "shop", "rotate:after_server");
    assert_ne!(after, before);
    user.assert_takes_only(&after, &before);
}

#[test]
fn an_application_pool_follows_rotations_and_updates_through_watch() {
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip("pool_watch", "app", &["prod"]));

    // client/examples/pool.rs: dbcreds::sqlx::pg_pool("prod"), then
    // Client::watch, rebuilding its pool on every password change.
    let mut cmd = sb.command(example("pool"));
    cmd.args(["prod", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut app = cmd.spawn().expect("spawn the pool example");
    let lines = lines(app.stdout.take().expect("piped stdout"));
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
    sb.set_password("prod", &manual);
    assert_eq!(
        next("line after update"),
        format!("reconnected as {}", role.name)
    );

    let status = app.wait().expect("wait for the example");
    assert!(status.success(), "{status:?}");
}

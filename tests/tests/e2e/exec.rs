//! `dbcreds exec`, end to end: real `psql` and `mariadb` clients against
//! the machine's servers (which enforce the passwords: each role is shown a
//! wrong password refused first), the variables the command gets, and exit
//! codes and signals passed through. Without a server the database tests
//! are skipped, or fail when `CI` is set.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use dbcreds_tests::{
    EnvSpec, MariaTestDb, MariaTestUser, PgTestRole, Sandbox, awkward_password, bin, exit,
    exported_env, run,
};

#[test]
fn exec_runs_psql_as_the_stored_role() {
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "exec_runs_psql_as_the_stored_role",
        "exec",
        &["prod"]
    ));

    role.assert_exec_connects(&sb, "prod");

    // The connection really used the stored password: with a wrong one
    // stored, psql fails, and exec passes its exit code (2) through.
    sb.set_password("prod", "wrong-password");
    let out = sb.exec_psql("prod", "select current_user");
    assert_eq!(
        out.code,
        Some(2),
        "psql's own code for a refused login:\n{out}"
    );
    assert!(
        out.stderr.contains("password authentication failed"),
        "{out}"
    );
}

#[test]
fn exec_runs_mariadb_as_the_stored_user() {
    let (sb, user) = or_return!(MariaTestUser::awkward_or_skip(
        "exec_runs_mariadb_as_the_stored_user",
        "exec",
        &[]
    ));
    let password = user.password.clone();
    let db = MariaTestDb::create(&user);
    sb.add(&user.env("shop").database(&db.name)).ok();

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
    assert_eq!(out.line(), user.current_user(), "{out}");
    // Issue 10.8: the client starts in the environment's database.
    let out = sb.cli(&[
        "exec",
        "shop",
        "--",
        "mariadb",
        "-N",
        "-e",
        "select database()",
    ]);
    out.ok();
    assert_eq!(out.line(), db.name, "{out}");
    // ... through the [mysql] group, which mariadb-admin and mariadb-dump
    // do not read (they reject a `database` option in [client]).
    sb.cli(&["exec", "shop", "--", "mariadb-admin", "ping"])
        .ok();
    let dump = sb.cli(&["exec", "shop", "--", "mariadb-dump", "--no-data", &db.name]);
    dump.ok();
    assert!(!dump.stderr.contains("database"), "{dump}");
    // The option file that carries the user holds no password.
    let cnf = sb.root().join("xdg/runtime/dbcreds/mysql/shop/my.cnf");
    let text = fs::read_to_string(&cnf).expect("my.cnf written under XDG_RUNTIME_DIR");
    assert!(text.contains(&user.name), "{text}");
    assert!(
        text.contains(&format!("[mysql]\ndatabase=\"{}\"\n", db.name)),
        "{text}"
    );
    assert!(
        !text.contains(&password),
        "the option file holds the password:\n{text}"
    );

    // A wrong stored password: the server refuses, exec passes the code on.
    sb.set_password("shop", "wrong-password");
    let out = sb.cli(&["exec", "shop", "--", "mariadb", "-e", "select 1"]);
    assert_eq!(out.code, Some(1), "the mariadb client's own code:\n{out}");
    assert!(out.stderr.contains("Access denied"), "{out}");
}

#[test]
fn exec_sets_the_variables_and_passes_exit_codes_and_signals() {
    let sb = Sandbox::with_passphrase_vault();
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
    assert_eq!(out.code, Some(7), "the command's own code:\n{out}");
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
    let sb = Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    sb.add_unique("staging");

    let out = sb.cli(&["exec", "prod", "--", "no-such-command-dbcreds"]);
    out.fails(
        exit::COMMAND_NOT_FOUND,
        &["command not found", "no-such-command-dbcreds", "PATH"],
    );

    let not_exec = sb.user_home().join("not-executable");
    fs::write(&not_exec, "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(&not_exec, fs::Permissions::from_mode(0o644)).unwrap();
    let out = sb.cli(&["exec", "prod", "--", not_exec.to_str().unwrap()]);
    out.fails(
        exit::COMMAND_NOT_EXECUTABLE,
        &["cannot run", "permission denied"],
    );

    let out = sb.cli(&["exec", "nosuchenv", "--", "true"]);
    out.fails(exit::NOT_FOUND, &["nosuchenv"]);

    let out = sb.cli(&["exec", "prod", "true"]);
    out.fails(exit::USAGE, &["--"]);

    // Nesting into another environment is refused without --force ...
    sb.cli_env(
        &["exec", "prod", "--", "true"],
        &[("DBCREDS_ENV", "staging")],
    )
    .fails(exit::NESTED, &["DBCREDS_ENV=staging", "--force"]);
    // ... and allowed with it, with the outer environment's variables gone.
    let out = sb.cli_env(
        &[
            "exec",
            "prod",
            "--force",
            "--",
            "sh",
            "-c",
            "echo \"$DBCREDS_ENV ${DBCREDS_STAGING_PASSWORD-gone}\"",
        ],
        &[
            ("DBCREDS_ENV", "staging"),
            ("DBCREDS_STAGING_PASSWORD", "outer"),
        ],
    );
    out.ok();
    assert_eq!(out.stdout, "prod gone\n", "{out}");
    // The same environment again is no nesting problem.
    sb.cli_env(&["exec", "prod", "--", "true"], &[("DBCREDS_ENV", "prod")])
        .ok();
}

/// Issue 9.6: `eu-prod` and `eu_prod` share `DBCREDS_EU_PROD_*`. Before,
/// both could be added, and inside `dbcreds exec eu-prod` a
/// `dbcreds get eu_prod` printed eu-prod's password.
#[test]
fn variables_of_one_environment_never_serve_another() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("eu-prod");

    // The second of the pair is refused, naming the first: by `add`...
    sb.add(&EnvSpec::postgres("eu_prod", "other.internal"))
        .fails(exit::USAGE, &["'eu-prod'", "DBCREDS_EU_PROD_*"]);
    // ... and by `import`, which skips it and says why.
    let out = sb.cli_stdin(
        &["import", "--from", "json", "-", "--json"],
        &serde_json::json!([exported_env("eu_prod", 1, Some(90))]).to_string(),
    );
    out.ok();
    let summary = out.json();
    assert_eq!(summary["imported"], serde_json::json!([]), "{out}");
    let reason = summary["skipped"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("'eu-prod'"), "{out}");
    sb.cli(&["get", "eu_prod"])
        .fails(exit::NOT_FOUND, &["eu_prod"]);

    // Inside `exec eu-prod` its variables serve eu-prod, and only it.
    let dbcreds = bin("dbcreds");
    let dbcreds = dbcreds.to_str().expect("a UTF-8 path");
    let out = sb.cli(&["exec", "eu-prod", "--", dbcreds, "get", "eu_prod"]);
    out.fails(exit::NOT_FOUND, &["eu_prod"]);
    assert!(!out.all().contains(&password), "{out}");
    let out = sb.cli(&["exec", "eu-prod", "--", dbcreds, "get", "eu-prod"]);
    out.ok();
    assert_eq!(out.line(), password, "{out}");
}

/// Issue 9.8: inside `exec` of an expired environment, `get
/// --require-fresh` succeeded (the variables carried no expiry).
#[test]
fn exec_carries_the_expiry() {
    let sb = Sandbox::with_passphrase_vault();
    crate::check::import_json(
        &sb,
        &serde_json::json!([
            exported_env("old", 100, Some(90)),
            exported_env("new", 1, Some(90)),
        ]),
    );
    let dbcreds = bin("dbcreds");
    let dbcreds = dbcreds.to_str().expect("a UTF-8 path");

    let out = sb.cli(&[
        "exec",
        "old",
        "--",
        dbcreds,
        "get",
        "old",
        "--require-fresh",
    ]);
    out.code(exit::EXPIRED);
    assert_eq!(out.stdout, "", "{out}");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("dbcreds: the password of 'old' expired 10 days ago")),
        "{out}"
    );
    let out = sb.cli(&[
        "exec",
        "new",
        "--",
        dbcreds,
        "get",
        "new",
        "--require-fresh",
    ]);
    out.ok();
    assert_eq!(out.line(), "pw-new", "{out}");

    let out = sb.cli(&[
        "exec",
        "new",
        "--",
        "sh",
        "-c",
        "echo \"$DBCREDS_NEW_EXPIRES_AT\"",
    ]);
    out.ok();
    let at = out.line();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "DBCREDS_NEW_EXPIRES_AT is RFC 3339 UTC: {out}"
    );
}

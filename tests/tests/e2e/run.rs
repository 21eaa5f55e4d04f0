//! `dbcreds run`: references `dbcreds://ENV/FIELD` in the environment and
//! in env files, resolved for a real `psql` that logs in with them; nothing
//! else added; every failure before the command starts, naming the
//! reference; one `Get` per environment.

use std::fs;

use dbcreds_tests::{PgTestRole, Sandbox, exit, has_event};

/// A command that proves it ran: it creates `ran` in the sandbox's home.
const MARK: &str = "touch ran";

#[test]
fn run_resolves_an_env_file_of_references_and_psql_logs_in() {
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "run_resolves_an_env_file_of_references_and_psql_logs_in",
        "run",
        &["prod"]
    ));
    let env_file = sb.user_home().join(".env");
    fs::write(
        &env_file,
        "# the app's own names\n\
         PGHOST=dbcreds://prod/host\n\
         export PGPORT=dbcreds://prod/port\n\
         PGUSER=\"dbcreds://prod/user\"\n\
         PGPASSWORD=dbcreds://prod/password\n\
         PGDATABASE=dbcreds://prod/database\n\
         APP_MODE=plain # not a reference\n",
    )
    .unwrap();
    let script = r#"psql -X -w -tAc 'select current_user' && psql -X -w "$APP_URL" -tAc 'select 2' && printf '%s|%s|%s|%s' "$APP_MODE" "$DBCREDS_ENV" "${DATABASE_URL-unset}" "${PGSSLMODE-unset}""#;
    let mut cmd = sb.cli_command(&["run", "--env-file", ".env", "--", "sh", "-c", script]);
    cmd.env("APP_URL", "dbcreds://prod/uri")
        .env("PGPASSFILE", "/nonexistent");
    let out = dbcreds_tests::run(cmd, None);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], role.name, "psql logged in as the role:\n{out}");
    assert_eq!(lines[1], "2", "the URI reference logged in too:\n{out}");
    // The env file's other variables pass; nothing of exec's is added.
    assert_eq!(lines[2], "plain|prod|unset|unset", "{out}");

    // Four references to the password (password, uri) and others: one Get.
    let gets = sb
        .audit_events("prod")
        .iter()
        .filter(|e| e["operation"] == "export")
        .count();
    assert_eq!(gets, 1, "one Get per environment, not per reference");

    // The stored password is what logs in: a wrong one fails in psql.
    sb.set_password("prod", "wrong-password");
    let mut cmd = sb.cli_command(&[
        "run",
        "--env-file",
        ".env",
        "--",
        "psql",
        "-X",
        "-w",
        "-c",
        "select 1",
    ]);
    cmd.env("PGPASSFILE", "/nonexistent");
    let out = dbcreds_tests::run(cmd, None);
    assert_eq!(out.code, Some(2), "psql's own exit code:\n{out}");
    assert!(
        out.stderr.contains("password authentication failed"),
        "{out}"
    );
}

#[test]
fn run_fails_before_the_command_starts_naming_the_reference() {
    let sb = Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    let ran = sb.user_home().join("ran");
    let try_run = |vars: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sh", "-c", MARK]);
        let out = sb.cli_env(&args, vars);
        assert!(!ran.exists(), "the command ran:\n{out}");
        out
    };

    try_run(&[("DB_PASSWORD", "dbcreds://nosuch/password")], &[])
        .fails(exit::NOT_FOUND, &["DB_PASSWORD", "nosuch"]);
    try_run(&[("DB_CA", "dbcreds://prod/option/sslrootcert")], &[])
        .fails(exit::NOT_FOUND, &["DB_CA", "no option 'sslrootcert'"]);
    try_run(&[("DB_PASSWORD", "dbcreds://prod/pasword")], &[]).fails(
        exit::USAGE,
        &["DB_PASSWORD", "no field 'pasword'", "option/KEY"],
    );
    try_run(&[("DB_PASSWORD", "dbcreds://Prod DB/password")], &[])
        .fails(exit::USAGE, &["DB_PASSWORD", "bad reference"]);
    // One good and one bad: nothing is handed out.
    try_run(
        &[
            ("A", "dbcreds://prod/password"),
            ("B", "dbcreds://gone/user"),
        ],
        &[],
    )
    .fails(exit::NOT_FOUND, &["gone"]);

    fs::write(
        sb.user_home().join("bad.env"),
        "OK=1\nX=dbcreds://prod/hots\n",
    )
    .unwrap();
    try_run(&[], &["--env-file", "bad.env"])
        .fails(exit::USAGE, &["X (bad.env:2)", "no field 'hots'"]);
    fs::write(
        sb.user_home().join("broken.env"),
        "OK=1\nthis is not a pair\n",
    )
    .unwrap();
    try_run(&[], &["--env-file", "broken.env"]).fails(exit::USAGE, &["broken.env:2", "KEY=VALUE"]);
    try_run(&[], &["--env-file", "missing.env"]).fails(exit::USAGE, &["missing.env"]);

    // Nesting: inside exec of another environment, refused without --force.
    try_run(
        &[("DBCREDS_ENV", "staging"), ("P", "dbcreds://prod/password")],
        &[],
    )
    .fails(exit::NESTED, &["DBCREDS_ENV=staging", "--force"]);

    // Nothing was revealed by the failures that came before a Get.
    assert!(!has_event(&sb.audit_events("prod"), "export", "ok"));
}

#[test]
fn run_exit_codes_dbcreds_env_and_non_secret_references() {
    let sb = Sandbox::with_passphrase_vault();
    let prod = sb.add_unique("prod");
    sb.add_unique("staging");

    let out = sb.cli_env(
        &[
            "run",
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$P\" \"${DBCREDS_ENV-unset}\"; exit 7",
        ],
        &[("P", "dbcreds://prod")],
    );
    out.code(7);
    assert_eq!(out.stdout, format!("{prod}|prod"), "{out}");

    // Two environments: DBCREDS_ENV names neither.
    let out = sb.cli_env(
        &[
            "run",
            "--force",
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$H\" \"$U\" \"${DBCREDS_ENV-unset}\"",
        ],
        &[
            ("H", "dbcreds://prod/host"),
            ("U", "dbcreds://staging/user"),
            ("DBCREDS_ENV", "prod"),
        ],
    );
    out.ok();
    assert_eq!(out.stdout, "db.internal|app|unset", "{out}");

    // Host and user need no password: Describe, no Get, even while locked.
    sb.cli(&["lock"]).ok();
    let out = sb.cli_env(
        &["run", "--", "sh", "-c", "echo \"$H\""],
        &[("H", "dbcreds://prod/host")],
    );
    out.ok();
    assert_eq!(out.line(), "db.internal", "{out}");
    sb.cli_env(&["run", "--", "true"], &[("P", "dbcreds://prod/password")])
        .fails(exit::LOCKED, &["P", "dbcreds unlock"]);

    // No references: said on stderr, the command runs unchanged.
    let out = sb.cli(&["run", "--", "sh", "-c", "exit 3"]);
    out.code(3);
    assert!(
        out.stderr.contains("no dbcreds://ENV/FIELD references"),
        "{out}"
    );
    sb.cli_env(
        &["run", "--", "no-such-command-dbcreds"],
        &[("H", "dbcreds://prod/host")],
    )
    .fails(exit::COMMAND_NOT_FOUND, &["no-such-command-dbcreds"]);
}

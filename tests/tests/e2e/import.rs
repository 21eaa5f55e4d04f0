//! `dbcreds import` from a real `.pgpass`, the legacy `DB_*` variables,
//! the Python dbcreds layout through a real Secret Service, and JSON.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use dbcreds_tests::{
    DB_HOST, PgTestRole, Sandbox, awkward_password, contains_bytes, exit, exported_env,
    postgres_or_skip, run,
};

#[test]
fn import_from_a_real_pgpass() {
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "import_from_a_real_pgpass",
        "imppg",
        &[]
    ));
    let escaped = role.password.replace('\\', "\\\\").replace(':', "\\:");
    let pgpass = format!(
        "# work databases\n\
         {DB_HOST}:5432:postgres:{name}:{escaped}\n\
         {DB_HOST}:5432:postgres:{name}:shadowed-by-the-first\n\
         *:*:*:{name}:wildcard\n\
         {DB_HOST}:5432:reports:{name}\n",
        name = role.name
    );
    let file = sb.user_home().join(".pgpass");
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
    assert_eq!(sb.list_json(), serde_json::json!([]));

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
    role.assert_exec_connects(&sb, "postgres");

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
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "import_from_legacy_variables",
        "implegacy",
        &[]
    ));
    let legacy = |cmd: &mut Command| {
        cmd.env("DB_SERVER", DB_HOST)
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

    let v = sb.show_json("legacy");
    assert_eq!(v["expires_days"], 30);
    assert_eq!(v["password_updated_at"], "2020-01-01T00:00:00Z");
    assert_eq!(v["expired"], true);
    role.assert_exec_connects(&sb, "legacy");
    // It came in expired (set in 2020, 30 days): check says so.
    sb.cli(&["check"]).code(exit::EXPIRED);

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
    let role = PgTestRole::with_password("imppy", &awkward_password());
    let sb = Sandbox::with_keyring_vault();

    let dir = sb.user_home().join(".dbcreds");
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
        "host": DB_HOST, "port": 5432, "database": "postgres", "options": {},
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
    assert_eq!(sb.list_json(), serde_json::json!([]));

    let out = sb.cli(&["import", "--from", "python"]);
    out.ok();
    assert!(
        out.stdout.contains("2 added, 0 replaced, 3 skipped."),
        "{out}"
    );

    let v = sb.show_json("prod");
    assert_eq!(v["production"], true);
    assert_eq!(v["description"], "Main database");
    assert_eq!(v["expires_days"], 90);
    assert_eq!(v["password_updated_at"], "2026-01-10T08:00:00Z");
    let r = sb.show_json("reports");
    assert_eq!(
        (r["port"].as_u64(), &r["expires_days"]),
        (Some(6432), &serde_json::Value::Null)
    );
    sb.assert_password("reports", "rep-pw");

    role.assert_exec_connects(&sb, "prod");
    // Each keyring read is in the audit log.
    let vault_bytes = fs::read(sb.vault()).unwrap();
    assert!(!contains_bytes(&vault_bytes, role.password.as_bytes()));

    // A directory that is not a Python dbcreds layout: one line, exit 2.
    sb.cli(&["import", "--from", "python", "/nonexistent-dbcreds-dir"])
        .fails(
            exit::USAGE,
            &["no environments.json", "/nonexistent-dbcreds-dir"],
        );
}

#[test]
fn import_json_round_trip_and_bad_input() {
    let sb = Sandbox::with_passphrase_vault();
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
    let a = sb.show_json("prod");
    let b = sb.show_json("prod-copy");
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
    let file = sb.user_home().join("prod.json");
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
        .fails(exit::USAGE, &["not valid JSON"]);
    sb.cli(&["import", "--from", "json"])
        .fails(exit::USAGE, &["needs the file"]);
    sb.cli(&["import", "--from", "json", "/nonexistent.json"])
        .fails(exit::USAGE, &["/nonexistent.json", "no such file"]);
    sb.cli(&["import", "--from", "pgpass", "--kind", "mysql"])
        .fails(exit::USAGE, &["--kind"]);
    let two = serde_json::json!([
        exported_env("a", 1, Some(90)),
        exported_env("b", 1, Some(90))
    ]);
    sb.cli_stdin(
        &["import", "--from", "json", "-", "--name", "x"],
        &two.to_string(),
    )
    .fails(exit::USAGE, &["--name"]);
    assert_eq!(sb.list_json().as_array().map(Vec::len), Some(2));
}

#[test]
fn import_from_python_without_a_keyring_says_so() {
    let sb = Sandbox::with_passphrase_vault();
    let dir = sb.user_home().join(".dbcreds");
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("environments.json"),
        r#"[{"name": "prod", "database_type": "postgresql"}]"#,
    )
    .unwrap();
    // No Secret Service in this sandbox: exit 10, nothing imported.
    sb.cli(&["import", "--from", "python"]).fails(
        exit::KEYRING_UNAVAILABLE,
        &["keyring entry 'dbcreds:prod'", "nothing was imported"],
    );
    assert_eq!(sb.list_json(), serde_json::json!([]));
}

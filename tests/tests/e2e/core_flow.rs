//! The main job on the keyring path: init, add, get (password, fields, URI),
//! agent restart without a prompt, lock and unlock, case folding.

use dbcreds_tests::{Sandbox, example, exit, kill_9, password_tail, run, unique_password};

/// `unique_password()` with its URI-special prefix percent-encoded as RFC
/// 3986 userinfo needs it (the random tail is hex, which stays as is).
fn uri_encoded(password: &str) -> String {
    let tail = password_tail(password);
    assert!(tail.chars().all(|c| c.is_ascii_hexdigit()));
    format!("p%40ss%3Aw%2Frd%3F%23%25-{tail}")
}

#[test]
fn keyring_init_add_get_password_fields_and_uri() {
    let sb = Sandbox::with_keyring();
    let keyring = sb.keyring().expect("keyring");
    let items_before = keyring.item_count();

    let init = sb.cli(&["init"]);
    init.ok();
    assert!(
        init.all().to_lowercase().contains("keyring"),
        "with a Secret Service answering, init must pick the keyring and say so:\n{init}"
    );
    assert!(
        keyring.item_count() > items_before,
        "init with the keyring unlocker stored nothing in the Secret Service"
    );
    assert!(
        sb.vault().is_file(),
        "init created no {}",
        sb.vault().display()
    );

    let password = sb.add_unique("prod");

    sb.assert_password("prod", &password);
    let out = sb.cli(&["get", "prod", "password"]);
    out.ok();
    assert_eq!(out.stdout, format!("{password}\n"), "{out}");

    let out = sb.cli(&["get", "prod", "uri"]);
    out.ok();
    assert_eq!(
        out.stdout,
        format!(
            "postgresql://app:{}@db.internal:5432/app\n",
            uri_encoded(&password)
        ),
        "{out}"
    );

    for (field, want) in [
        ("host", "db.internal"),
        ("port", "5432"),
        ("database", "app"),
        ("user", "app"),
    ] {
        let out = sb.cli(&["get", "prod", field]);
        out.ok();
        assert_eq!(out.stdout, format!("{want}\n"), "get prod {field}:\n{out}");
    }

    let status = sb.cli(&["status", "--json"]);
    status.ok();
    let json = status.json();
    assert_eq!(json["state"], "unlocked", "{status}");
    assert!(
        json["unlockers"]
            .as_array()
            .is_some_and(|u| u.iter().any(|x| x == "keyring")),
        "status must list the keyring unlocker:\n{status}"
    );
}

#[test]
fn agent_restarted_after_sigkill_unlocks_from_the_keyring_without_a_prompt() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");
    sb.assert_password("prod", &password);

    let first = sb.agent_pid();
    kill_9(first);

    // stdin is null: a prompt would fail. The CLI autostarts a new agent on
    // the stale socket, which unlocks through the keyring.
    sb.assert_password("prod", &password);
    let second = sb.agent_pid();
    assert_ne!(
        first, second,
        "the old agent cannot be answering after SIGKILL"
    );
    assert_eq!(sb.state(), "unlocked");
}

#[test]
fn foreground_agent_restart_unlocks_from_the_keyring() {
    let sb = Sandbox::with_keyring();
    let agent = sb.start_agent();
    assert_eq!(sb.agent_pid(), agent.pid());
    assert_eq!(sb.state(), "uninitialized");

    sb.init_keyring();
    let password = sb.add_unique("prod");
    assert_eq!(
        sb.agent_pid(),
        agent.pid(),
        "init/add must use the running agent"
    );
    agent.kill_9();

    // The new agent unlocks through the keyring (in the background after
    // its ready line, or at the latest on the first request): stdin is null,
    // so no prompt can stand in for it.
    let agent = sb.start_agent();
    sb.assert_password("prod", &password);
    assert_eq!(sb.agent_pid(), agent.pid());
    assert_eq!(sb.state(), "unlocked");
}

#[test]
fn lock_then_get_fails_until_unlock() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");

    sb.cli(&["lock"]).ok();
    assert_eq!(sb.state(), "locked");

    sb.cli(&["get", "prod"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);
    sb.cli(&["get", "prod", "uri"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);
    // Metadata needs no unlock: `get NAME FIELD` for a field without the
    // password asks the agent's Describe, which answers while locked (the
    // records are loaded; only the passwords are sealed).
    let out = sb.cli(&["get", "prod", "host"]);
    out.ok();
    assert_eq!(out.stdout, "db.internal\n", "{out}");
    assert_eq!(sb.state(), "locked", "reading metadata must not unlock");

    sb.cli(&["unlock"]).ok();
    sb.assert_password("prod", &password);
    assert_eq!(sb.state(), "unlocked");
}

#[test]
fn names_are_case_folded() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("Staging");
    sb.assert_password("staging", &password);
    sb.assert_password("STAGING", &password);
    let list = sb.cli(&["list", "--json"]);
    list.ok();
    assert!(list.stdout.contains("staging"), "{list}");
    assert!(!list.stdout.contains("Staging"), "{list}");
}

#[test]
fn update_password_and_remove() {
    let sb = Sandbox::with_keyring_vault();
    let old = unique_password();
    let new = unique_password();
    sb.add_postgres("dev", "db.internal", &old);
    sb.add_postgres("qa", "qa.internal", &unique_password());

    sb.set_password("dev", &new);
    sb.assert_password("dev", &new);
    let host = sb.cli(&["get", "dev", "host"]);
    assert_eq!(
        host.stdout, "db.internal\n",
        "update must keep other fields:\n{host}"
    );

    sb.cli(&["remove", "dev", "--force"]).ok();
    sb.cli(&["get", "dev"]).fails(exit::NOT_FOUND, &["dev"]);
    let list = sb.cli(&["list", "--json"]);
    list.ok();
    assert!(!list.stdout.contains("\"dev\""), "{list}");
    assert!(list.stdout.contains("qa"), "{list}");
}

/// `dbcreds export prod --format FORMAT`; asserts success.
fn export(sb: &Sandbox, format: &str) -> dbcreds_tests::Output {
    let out = sb.cli(&["export", "prod", "--format", format]);
    out.ok();
    out
}

#[test]
fn export_formats_carry_the_password() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");

    let uri = export(&sb, "uri");
    assert_eq!(
        uri.line(),
        format!(
            "postgresql://app:{}@db.internal:5432/app",
            uri_encoded(&password)
        ),
        "{uri}"
    );

    let json = export(&sb, "json");
    let v = json.json();
    let values: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("export json must be an object:\n{json}"))
        .values()
        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
        .collect();
    assert!(values.contains(&password), "{json}");
    assert!(values.iter().any(|x| x == "db.internal"), "{json}");

    // ~/.pgpass: host:port:database:user:password, with `:` and `\` escaped.
    let pgpass = export(&sb, "pgpass");
    assert_eq!(
        pgpass.line(),
        format!(
            "db.internal:5432:app:app:{}",
            password.replace('\\', "\\\\").replace(':', "\\:")
        ),
        "{pgpass}"
    );

    // The others quote or encode in their own ways; the random tail of the
    // password survives every one of them.
    let tail = password_tail(&password);
    for format in ["env", "dotenv", "libpq", "jdbc"] {
        let out = export(&sb, format);
        assert!(out.stdout.contains("db.internal"), "{format}:\n{out}");
        assert!(
            out.stdout.contains(tail),
            "{format} export lacks the password:\n{out}"
        );
    }
    sb.cli(&["export", "prod", "--format", "yaml"])
        .fails(exit::USAGE, &[]);
}

#[test]
fn the_client_example_gets_prod_through_the_agent_and_from_variables_without_one() {
    let sb = Sandbox::with_keyring_vault();
    let pw = sb.add_unique("prod");
    let through_agent = run(sb.command(example("get")), None);
    through_agent.ok();
    assert!(
        through_agent
            .stdout
            .contains("postgresql://app@db.internal:5432/app"),
        "{through_agent}"
    );
    assert!(
        through_agent
            .stdout
            .contains(&format!("password: {} characters", pw.chars().count())),
        "{through_agent}"
    );

    // No agent, no vault: the variables alone define prod.
    let mut cmd = sb.command(example("get"));
    cmd.env("DBCREDS_HOME", sb.root().join("nowhere"))
        .env("DBCREDS_AGENT_BIN", "/nonexistent")
        .env("DBCREDS_PROD_HOST", "ci-db")
        .env("DBCREDS_PROD_DATABASE", "ci")
        .env("DBCREDS_PROD_USERNAME", "runner")
        .env("DBCREDS_PROD_PASSWORD", "from-env");
    let from_env = run(cmd, None);
    from_env.ok();
    assert!(
        from_env
            .stdout
            .contains("postgresql://runner@ci-db:5432/ci"),
        "{from_env}"
    );
    assert!(
        from_env.stdout.contains("password: 8 characters"),
        "{from_env}"
    );
}

/// Issue 10.13: the Python dbcreds' short flags: `-v` for the version,
/// `-t` for the database type (`--type` too), with its type names.
#[test]
fn the_python_tools_short_flags_work() {
    let sb = Sandbox::with_passphrase_vault();
    for flag in ["-v", "-V", "--version"] {
        let out = sb.cli(&[flag]);
        out.ok();
        assert!(out.stdout.starts_with("dbcreds "), "{flag}: {out}");
    }
    let add = |args: &[&str]| {
        let mut all = vec!["add"];
        all.extend_from_slice(args);
        all.extend([
            "--host",
            "db",
            "--database",
            "app",
            "--user",
            "app",
            "--password-stdin",
        ]);
        sb.cli_stdin(&all, "pw").ok();
    };
    add(&["my", "-t", "mysql"]);
    add(&["pg", "--type", "postgresql"]);
    assert_eq!(sb.show_json("my")["kind"], "mysql");
    assert_eq!(sb.show_json("my")["port"], 3306);
    assert_eq!(sb.show_json("pg")["kind"], "postgres");
    sb.cli(&["update", "my", "-t", "mariadb"]).ok();
    assert_eq!(sb.show_json("my")["kind"], "mariadb");
}

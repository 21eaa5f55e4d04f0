//! Bad input gets the documented exit code and exactly one line on stderr
//! naming the problem, and loses nothing: the other environment still
//! answers with its password afterwards, and damaged vault files are left
//! byte-for-byte as they were.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dbcreds_tests::{Sandbox, run, unique_password};

/// A keyring sandbox with an initialized vault holding `other`.
fn vault_with_other() -> (Sandbox, String) {
    let sb = Sandbox::with_keyring();
    sb.init_keyring();
    let password = unique_password();
    sb.add_postgres("other", "other.internal", &password);
    (sb, password)
}

fn add_args<'a>(name: &'a str, kind: &'a str, port: &'a str) -> Vec<&'a str> {
    vec![
        "add",
        name,
        "--kind",
        kind,
        "--host",
        "db.internal",
        "--port",
        port,
        "--database",
        "app",
        "--user",
        "app",
        "--password-stdin",
    ]
}

#[test]
fn invalid_names_are_refused() {
    let (sb, other) = vault_with_other();
    let long = "a".repeat(51);
    for name in ["Prod DB!", long.as_str(), "", "prod/../x", "é"] {
        sb.cli_stdin(&add_args(name, "postgres", "5432"), "pw\n")
            .fails(2, &["name"]);
        sb.cli(&["get", name]).fails(2, &["name"]);
    }
    // The boundary itself is fine.
    let fifty = "a".repeat(50);
    let password = unique_password();
    sb.add_postgres(&fifty, "db.internal", &password);
    sb.assert_password(&fifty, &password);
    sb.assert_password("other", &other);
    let list = sb.cli(&["list", "--json"]);
    list.ok();
    assert!(!list.stdout.contains(&long), "{list}");
}

#[test]
fn ports_out_of_range_are_refused() {
    let (sb, other) = vault_with_other();
    for port in ["0", "70000", "65536", "abc"] {
        sb.cli_stdin(&add_args("prod", "postgres", port), "pw\n")
            .fails(2, &["port"]);
        sb.cli(&["update", "other", "--port", port])
            .fails(2, &["port"]);
    }
    sb.cli(&["get", "prod"]).fails(3, &["prod"]);
    let port = sb.cli(&["get", "other", "port"]);
    assert_eq!(port.stdout, "5432\n", "{port}");
    sb.assert_password("other", &other);
    // The boundaries are fine.
    sb.cli_stdin(&add_args("low", "postgres", "1"), "pw\n").ok();
    sb.cli_stdin(&add_args("high", "postgres", "65535"), "pw\n")
        .ok();
}

#[test]
fn unknown_kind_is_refused() {
    let (sb, other) = vault_with_other();
    sb.cli_stdin(&add_args("prod", "nosql", "5432"), "pw\n")
        .fails(2, &["nosql"]);
    sb.cli(&["get", "prod"]).fails(3, &["prod"]);
    sb.assert_password("other", &other);
}

#[test]
fn duplicate_add_needs_force() {
    let (sb, other) = vault_with_other();
    let replacement = unique_password();
    let args = add_args("other", "postgres", "6543");
    let out = sb.cli_stdin(&args, &format!("{replacement}\n"));
    out.fails(5, &["other"]);
    assert!(
        out.stderr.contains("--force") || out.stderr.contains("update"),
        "the error should say how to replace it:\n{out}"
    );
    sb.assert_password("other", &other);
    assert_eq!(sb.cli(&["get", "other", "port"]).stdout, "5432\n");

    let mut forced = args.clone();
    forced.push("--force");
    sb.cli_stdin(&forced, &format!("{replacement}\n")).ok();
    sb.assert_password("other", &replacement);
    assert_eq!(sb.cli(&["get", "other", "port"]).stdout, "6543\n");
}

#[test]
fn missing_environment_is_not_found() {
    let (sb, other) = vault_with_other();
    sb.cli(&["get", "nope"]).fails(3, &["nope"]);
    sb.cli(&["get", "nope", "uri"]).fails(3, &["nope"]);
    sb.cli(&["show", "nope"]).fails(3, &["nope"]);
    sb.cli(&["export", "nope", "--format", "uri"])
        .fails(3, &["nope"]);
    sb.cli(&["update", "nope", "--port", "1234"])
        .fails(3, &["nope"]);
    sb.cli(&["remove", "nope", "--force"]).fails(3, &["nope"]);
    sb.assert_password("other", &other);
}

#[test]
fn uninitialized_vault_says_init() {
    let sb = Sandbox::with_keyring();
    sb.cli(&["get", "prod"]).fails(12, &["dbcreds init"]);
    sb.cli_stdin(&add_args("prod", "postgres", "5432"), "pw\n")
        .fails(12, &["dbcreds init"]);
    assert!(!sb.vault().exists(), "a failed command created a vault");
}

#[test]
fn second_init_is_refused_and_keeps_the_vault() {
    let (sb, other) = vault_with_other();
    sb.cli(&["init"]).fails(5, &[]);
    sb.cli_stdin(
        &["init", "--unlocker", "passphrase", "--passphrase-stdin"],
        "another passphrase\n",
    )
    .fails(5, &[]);
    sb.assert_password("other", &other);
}

#[test]
fn no_agent_is_unreachable() {
    let mut sb = Sandbox::with_keyring();
    // status never starts an agent.
    sb.cli(&["status"]).fails(6, &[]);
    let out = sb.cli(&["status", "--json"]);
    out.code(6);
    assert_eq!(out.json()["running"], false, "{out}");
    // An agent binary that does not exist cannot be autostarted.
    sb.set_env("DBCREDS_AGENT_BIN", "/nonexistent/dbcreds-agent");
    sb.cli(&["list"]).fails(6, &[]);
    sb.cli(&["get", "prod"]).fails(6, &[]);
}

/// Snapshot of the vault files (main file, and WAL if present).
fn snapshot(vault: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for suffix in ["", "-wal"] {
        let mut p = vault.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if let Ok(bytes) = fs::read(&p) {
            files.push((p, bytes));
        }
    }
    assert!(!files.is_empty(), "no vault at {}", vault.display());
    files
}

#[track_caller]
fn assert_unchanged(before: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in before {
        let now = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            now == *bytes,
            "{} was modified ({} bytes before, {} after)",
            path.display(),
            bytes.len(),
            now.len()
        );
    }
}

#[test]
fn corrupted_vault_is_reported_and_left_untouched() {
    let sb = Sandbox::with_keyring();
    let agent = sb.start_agent();
    sb.init_keyring();
    sb.add_postgres("other", "other.internal", &unique_password());
    agent.terminate();

    // Garbage over the SQLite header and the first page.
    let vault = sb.vault();
    let mut bytes = fs::read(&vault).expect("vault");
    assert!(
        bytes.starts_with(b"SQLite format 3\0"),
        "vault is not SQLite"
    );
    for (i, b) in bytes.iter_mut().take(4096).enumerate() {
        *b = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    fs::write(&vault, &bytes).expect("corrupt vault");
    let before = snapshot(&vault);

    for args in [&["get", "other"][..], &["list"]] {
        let out = sb.cli(args);
        out.fails(7, &["vault.db"]);
        let line = out.error_line().to_lowercase();
        assert!(
            line.contains("corrupt") || line.contains("damaged"),
            "the error must say the vault is damaged:\n{out}"
        );
    }
    assert_unchanged(&before);
    // Nor may init "fix" it by starting over.
    let init = sb.cli(&["init"]);
    assert_ne!(
        init.code,
        Some(0),
        "init replaced a corrupted vault:\n{init}"
    );
    init.error_line();
    assert_unchanged(&before);
}

#[test]
fn vault_from_a_newer_version_is_refused_and_left_untouched() {
    let (sb, other) = vault_with_other();
    dbcreds_tests::terminate(sb.agent_pid());

    let vault = sb.vault();
    let mut sqlite = Command::new("sqlite3");
    sqlite.arg(&vault).arg(
        "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'future', 1, X'00', 0);",
    );
    let out = run(sqlite, None);
    assert_eq!(
        out.code,
        Some(0),
        "cannot age the vault (is the sqlite3 CLI installed?):\n{out}"
    );
    let before = snapshot(&vault);

    sb.cli(&["get", "other"]).fails(8, &["newer"]);
    sb.cli(&["list"]).fails(8, &["newer"]);
    assert_unchanged(&before);
    let init = sb.cli(&["init"]);
    assert_ne!(init.code, Some(0), "init replaced a newer vault:\n{init}");
    assert_unchanged(&before);
    // The password is still in there: removing the future row makes it
    // readable again.
    sb.kill_all_processes();
    let mut sqlite = Command::new("sqlite3");
    sqlite
        .arg(&vault)
        .arg("DELETE FROM _sqlx_migrations WHERE version = 99990101000000;");
    run(sqlite, None).ok();
    sb.assert_password("other", &other);
}

#[test]
fn wrong_passphrase_is_refused() {
    let sb = Sandbox::new();
    let passphrase = "the right passphrase";
    sb.init_passphrase(passphrase);
    let password = unique_password();
    sb.add_postgres("other", "other.internal", &password);
    sb.cli(&["lock"]).ok();

    sb.cli_stdin(&["unlock", "--passphrase-stdin"], "the wrong passphrase\n")
        .fails(9, &["passphrase"]);
    sb.cli(&["get", "other"]).fails(4, &["dbcreds unlock"]);

    sb.cli_stdin(
        &["unlock", "--passphrase-stdin"],
        &format!("{passphrase}\n"),
    )
    .ok();
    sb.assert_password("other", &password);
}

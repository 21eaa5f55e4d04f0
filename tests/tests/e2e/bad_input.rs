//! Bad input gets the documented exit code and exactly one line on stderr
//! naming the problem, and loses nothing: the other environment still
//! answers with its password afterwards, and damaged vault files are left
//! byte-for-byte as they were.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use dbcreds_tests::{EnvSpec, Output, Sandbox, exit, terminate, unique_password};

/// A keyring sandbox with an initialized vault holding `other`.
fn vault_with_other() -> (Sandbox, String) {
    let sb = Sandbox::with_keyring_vault();
    let password = unique_password();
    sb.add_postgres("other", "other.internal", &password);
    (sb, password)
}

/// `name` of `kind` on `db.internal:port`, database and user `app`.
fn spec(name: &str, kind: &str, port: &str) -> EnvSpec {
    EnvSpec::postgres(name, "db.internal").kind(kind).port(port)
}

#[test]
fn invalid_names_are_refused() {
    let (sb, other) = vault_with_other();
    let long = "a".repeat(51);
    for name in ["Prod DB!", long.as_str(), "", "prod/../x", "é"] {
        sb.add(&spec(name, "postgres", "5432"))
            .fails(exit::USAGE, &["name"]);
        sb.cli(&["get", name]).fails(exit::USAGE, &["name"]);
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
        sb.add(&spec("prod", "postgres", port))
            .fails(exit::USAGE, &["port"]);
        sb.cli(&["update", "other", "--port", port])
            .fails(exit::USAGE, &["port"]);
    }
    sb.cli(&["get", "prod"]).fails(exit::NOT_FOUND, &["prod"]);
    let port = sb.cli(&["get", "other", "port"]);
    assert_eq!(port.stdout, "5432\n", "{port}");
    sb.assert_password("other", &other);
    // The boundaries are fine.
    sb.add(&spec("low", "postgres", "1")).ok();
    sb.add(&spec("high", "postgres", "65535")).ok();
}

#[test]
fn unknown_kind_is_refused() {
    let (sb, other) = vault_with_other();
    sb.add(&spec("prod", "nosql", "5432"))
        .fails(exit::USAGE, &["nosql"]);
    sb.cli(&["get", "prod"]).fails(exit::NOT_FOUND, &["prod"]);
    sb.assert_password("other", &other);
}

#[test]
fn duplicate_add_needs_force() {
    let (sb, other) = vault_with_other();
    let replacement = unique_password();
    let replace = spec("other", "postgres", "6543").password(&replacement);
    let out = sb.add(&replace);
    out.fails(exit::ALREADY_EXISTS, &["other"]);
    assert!(
        out.stderr.contains("--force") || out.stderr.contains("update"),
        "the error should say how to replace it:\n{out}"
    );
    sb.assert_password("other", &other);
    assert_eq!(sb.cli(&["get", "other", "port"]).stdout, "5432\n");

    sb.add(&replace.force()).ok();
    sb.assert_password("other", &replacement);
    assert_eq!(sb.cli(&["get", "other", "port"]).stdout, "6543\n");
}

#[test]
fn missing_environment_is_not_found() {
    let (sb, other) = vault_with_other();
    for args in [
        &["get", "nope"][..],
        &["get", "nope", "uri"],
        &["show", "nope"],
        &["export", "nope", "--format", "uri"],
        &["update", "nope", "--port", "1234"],
        &["remove", "nope", "--force"],
    ] {
        sb.cli(args).fails(exit::NOT_FOUND, &["nope"]);
    }
    sb.assert_password("other", &other);
}

#[test]
fn uninitialized_vault_says_init() {
    let sb = Sandbox::with_keyring();
    sb.cli(&["get", "prod"])
        .fails(exit::NOT_INITIALIZED, &["dbcreds init"]);
    sb.add(&spec("prod", "postgres", "5432"))
        .fails(exit::NOT_INITIALIZED, &["dbcreds init"]);
    assert!(!sb.vault().exists(), "a failed command created a vault");
}

#[test]
fn second_init_is_refused_and_keeps_the_vault() {
    let (sb, other) = vault_with_other();
    sb.cli(&["init"]).fails(exit::ALREADY_EXISTS, &[]);
    sb.cli_stdin(
        &["init", "--unlocker", "passphrase", "--passphrase-stdin"],
        "another passphrase\n",
    )
    .fails(exit::ALREADY_EXISTS, &[]);
    sb.assert_password("other", &other);
}

#[test]
fn no_agent_is_unreachable() {
    let mut sb = Sandbox::with_keyring();
    // status never starts an agent.
    sb.cli(&["status"]).fails(exit::AGENT_UNREACHABLE, &[]);
    let out = sb.cli(&["status", "--json"]);
    out.code(exit::AGENT_UNREACHABLE);
    assert_eq!(out.json()["running"], false, "{out}");
    // Without a vault nothing is started just to say there is none.
    sb.cli(&["list"])
        .fails(exit::NOT_INITIALIZED, &["dbcreds init"]);
    assert!(sb.agent_pids().is_empty(), "an agent was started");
    // An agent binary that does not exist cannot be autostarted.
    sb.set_env("DBCREDS_AGENT_BIN", "/nonexistent/dbcreds-agent");
    sb.cli(&["agent", "start"])
        .fails(exit::AGENT_UNREACHABLE, &[]);
    sb.cli(&["init", "--unlocker", "keyring"])
        .fails(exit::AGENT_UNREACHABLE, &[]);
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
        out.fails(exit::VAULT_CORRUPT, &["vault.db"]);
        let line = out.error_line().to_lowercase();
        assert!(
            line.contains("corrupt") || line.contains("damaged"),
            "the error must say the vault is damaged:\n{out}"
        );
    }
    // Issue 9.8: status and unlock said "no vault yet: run `dbcreds init`".
    let out = sb.cli(&["status"]);
    out.code(exit::VAULT_CORRUPT);
    assert!(out.stdout.contains("damaged"), "{out}");
    assert!(!out.all().contains("no vault yet"), "{out}");
    let out = sb.cli(&["status", "--json"]);
    out.code(exit::VAULT_CORRUPT);
    let status = out.json();
    assert_eq!(status["state"], "damaged", "{out}");
    assert!(
        status["vault_error"]
            .as_str()
            .is_some_and(|e| e.contains("vault.db")),
        "{out}"
    );
    sb.cli(&["unlock"])
        .fails(exit::VAULT_CORRUPT, &["damaged", "vault.db"]);
    assert_unchanged(&before);
    // Nor may init "fix" it by starting over.
    sb.cli(&["init"]).failed().error_line();
    assert_unchanged(&before);
}

#[test]
fn vault_from_a_newer_version_is_refused_and_left_untouched() {
    let (sb, other) = vault_with_other();
    terminate(sb.agent_pid());

    let vault = sb.vault();
    let out = sb.vault_sql(
        "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'future', 1, X'00', 0);",
    );
    assert_eq!(
        out.code,
        Some(0),
        "cannot age the vault (is the sqlite3 CLI installed?):\n{out}"
    );
    let before = snapshot(&vault);

    sb.cli(&["get", "other"])
        .fails(exit::VAULT_TOO_NEW, &["newer"]);
    sb.cli(&["list"]).fails(exit::VAULT_TOO_NEW, &["newer"]);
    let out = sb.cli(&["status", "--json"]);
    out.code(exit::VAULT_TOO_NEW);
    assert_eq!(out.json()["state"], "too_new", "{out}");
    sb.cli(&["unlock"]).fails(exit::VAULT_TOO_NEW, &["newer"]);
    assert_unchanged(&before);
    sb.cli(&["init"]).failed();
    assert_unchanged(&before);
    // The password is still in there: removing the future row makes it
    // readable again.
    sb.kill_all_processes();
    sb.vault_sql("DELETE FROM _sqlx_migrations WHERE version = 99990101000000;")
        .ok();
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
        .fails(exit::WRONG_PASSPHRASE, &["passphrase"]);
    sb.cli(&["get", "other"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);

    sb.unlock_passphrase(passphrase);
    sb.assert_password("other", &password);
}

/// Issue 9.7: a 10 MB password on stdin failed with exit 1 ("h2 protocol
/// error") after the CLI had read all of it (500 MB took 1.96 GB of RSS).
#[test]
fn a_huge_password_on_stdin_is_refused_unread() {
    let (sb, other) = vault_with_other();
    let args = spec("prod", "postgres", "5432").args();
    let mut cmd = sb.cli_command(&args.iter().map(String::as_str).collect::<Vec<_>>());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn dbcreds add");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written until the CLI stops reading (closes its end): what it took.
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut taken = 0_usize;
        while taken < 10 * 1024 * 1024 {
            match stdin.write(&chunk) {
                Ok(n) => taken += n,
                Err(_) => break,
            }
        }
        taken
    });
    let out = child.wait_with_output().expect("wait for dbcreds add");
    let taken = feeder.join().expect("the feeder");
    let out = Output {
        command: "dbcreds add prod ... --password-stdin < 10 MB".into(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!(
        "a 10 MB password on stdin: exit {:?}, {taken} bytes written before the CLI stopped reading",
        out.code
    );
    out.fails(exit::USAGE, &["password", "longer than 4096 bytes"]);
    // What the pipe buffers and what the CLI read: far below the input.
    assert!(
        taken < 2 * 1024 * 1024,
        "the CLI read {taken} bytes of stdin"
    );
    sb.cli(&["get", "prod"]).fails(exit::NOT_FOUND, &["prod"]);

    // The bound itself is fine, with or without the newline.
    let longest = "p".repeat(4096);
    sb.add(&spec("prod", "postgres", "5432").password(&longest))
        .ok();
    sb.assert_password("prod", &longest);
    sb.add(
        &spec("prod", "postgres", "5432")
            .password(&"p".repeat(4097))
            .force(),
    )
    .fails(exit::USAGE, &["longer than 4096 bytes"]);
    sb.assert_password("other", &other);
}

/// Issue 9.7: control characters were stored (a host `db\n*` made `export
/// --format pgpass` write a wildcard line), and a NUL in a password was
/// stored and then failed `exec` with 126.
#[test]
fn control_characters_and_nul_are_refused() {
    let (sb, other) = vault_with_other();
    let esc = "a\u{1b}]0;owned\u{7}b";
    for (what, bad) in [
        ("host", spec("prod", "postgres", "5432").host("db\n*")),
        ("username", spec("prod", "postgres", "5432").user(esc)),
        (
            "database",
            spec("prod", "postgres", "5432").database("app\r"),
        ),
        (
            "description",
            spec("prod", "postgres", "5432").description(esc),
        ),
        (
            "option application_name",
            spec("prod", "postgres", "5432").option(&format!("application_name={esc}")),
        ),
        (
            "option key",
            spec("prod", "postgres", "5432").option("a/b=1"),
        ),
    ] {
        sb.add(&bad).fails(exit::USAGE, &[what]);
    }
    sb.cli(&["update", "other", "--description", esc])
        .fails(exit::USAGE, &["description", "control character"]);
    sb.add(&spec("prod", "postgres", "5432").password("a\0b"))
        .fails(exit::USAGE, &["password", "NUL"]);
    sb.cli(&["get", "prod"]).fails(exit::NOT_FOUND, &["prod"]);
    let pgpass = sb.cli(&["export", "other", "--format", "pgpass"]);
    pgpass.ok();
    assert_eq!(pgpass.stdout.lines().count(), 1, "{pgpass}");
    sb.assert_password("other", &other);
}

/// What a vault held before the rule (planted in the file) is escaped on a
/// terminal's way out: `show` and `list` printed ESC sequences raw.
#[test]
fn stored_control_characters_are_escaped_on_output() {
    let sb = Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    terminate(sb.agent_pid());
    sb.vault_sql(
        "UPDATE environments SET username = 'a' || char(27) || '[2J' || char(10) || 'b', \
         description = 'x' || char(27) || ']0;owned' || char(7) WHERE name = 'prod';",
    )
    .ok();
    sb.unlock_passphrase(dbcreds_tests::PASSPHRASE);
    for args in [&["show", "prod"][..], &["list"]] {
        let out = sb.cli(args);
        out.ok();
        assert!(
            !out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{7}'),
            "raw control characters on stdout:\n{out:?}"
        );
        assert!(out.stdout.contains("a\\u{1b}[2J\\nb"), "{out}");
    }
    // JSON escapes them its own way, and keeps the value exact.
    assert_eq!(sb.show_json("prod")["username"], "a\u{1b}[2J\nb");
}

/// Issue 9.7: options had no size limit (an environment over 64 KiB got
/// "decoded message length too large", exit 1), and `sslmode=bogus` or
/// `connect_timeout=abc` were stored and failed only at `test`/`rotate`.
#[test]
fn options_are_bounded_and_checked_when_written() {
    let (sb, other) = vault_with_other();
    let big = "v".repeat(2000);
    let many: Vec<String> = (0..40).map(|i| format!("k{i}={big}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    sb.add(&spec("prod", "postgres", "5432").options(&many))
        .fails(exit::USAGE, &["options", "more than 32"]);
    sb.add(&spec("prod", "postgres", "5432").option(&format!("k={big}")))
        .fails(exit::USAGE, &["option k", "longer than 1024"]);
    let kilo = "v".repeat(1024);
    let full: Vec<String> = (0..32).map(|i| format!("k{i}={kilo}")).collect();
    let full: Vec<&str> = full.iter().map(String::as_str).collect();
    sb.add(&spec("prod", "postgres", "5432").options(&full))
        .fails(exit::USAGE, &["environment", "32768"]);

    for (option, word) in [
        ("sslmode=bogus", "sslmode"),
        ("ssl-mode=maybe", "sslmode"),
        ("connect_timeout=abc", "connect_timeout"),
        ("connect_timeout=0", "connect_timeout"),
    ] {
        sb.add(&spec("prod", "postgres", "5432").option(option))
            .fails(exit::USAGE, &[word]);
        sb.cli(&["update", "other", "--option", option])
            .fails(exit::USAGE, &[word]);
    }
    sb.cli(&["get", "prod"]).fails(exit::NOT_FOUND, &["prod"]);
    sb.add(
        &spec("prod", "postgres", "5432").options(&["sslmode=verify-full", "connect_timeout=9"]),
    )
    .ok();
    assert_eq!(sb.show_json("prod")["options"]["sslmode"], "verify-full");
    sb.assert_password("other", &other);
}

/// Issue 9.7: a wrong passphrase to `unlock --passphrase-stdin` on an
/// unlocked vault exited 0.
#[test]
fn a_wrong_passphrase_fails_on_an_unlocked_vault_too() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    assert_eq!(sb.state(), "unlocked");
    sb.cli_stdin(&["unlock", "--passphrase-stdin"], "the wrong passphrase\n")
        .fails(exit::WRONG_PASSPHRASE, &["wrong passphrase", "unlocked"]);
    assert_eq!(sb.state(), "unlocked");
    sb.unlock_passphrase(dbcreds_tests::PASSPHRASE);
    sb.assert_password("prod", &password);
}

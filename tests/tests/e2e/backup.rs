//! `dbcreds backup`, `dbcreds restore` and `dbcreds export --all`: a vault
//! moved out as one file and back in on a fresh home, with its keyring
//! entry gone; the refusals that protect an existing vault; every
//! environment as JSON, passwords only when asked for.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dbcreds_tests::{
    PASSPHRASE, Sandbox, assert_no_file_holds, contains_bytes, exit, has_event, kill_9, run, token,
    unique_password,
};

/// A recovery passphrase nobody else has.
fn recovery() -> String {
    format!("recovery {}", token())
}

/// `dbcreds VERB FILE --passphrase-stdin EXTRA...` with `passphrase`.
fn with_passphrase(
    sb: &Sandbox,
    verb: &str,
    file: &Path,
    passphrase: &str,
    extra: &[&str],
) -> dbcreds_tests::Output {
    let mut args = vec![
        verb,
        file.to_str().expect("UTF-8 path"),
        "--passphrase-stdin",
    ];
    args.extend_from_slice(extra);
    sb.cli_stdin(&args, &format!("{passphrase}\n"))
}

fn backup(sb: &Sandbox, file: &Path, passphrase: &str, extra: &[&str]) -> dbcreds_tests::Output {
    with_passphrase(sb, "backup", file, passphrase, extra)
}

fn restore(sb: &Sandbox, file: &Path, passphrase: &str, extra: &[&str]) -> dbcreds_tests::Output {
    with_passphrase(sb, "restore", file, passphrase, extra)
}

/// The audit events about the whole vault (environment `*`).
fn vault_events(sb: &Sandbox) -> Vec<serde_json::Value> {
    let all = sb.json(&["audit"]);
    all.as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["environment"] == "*")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Deletes every `dbcreds` item of the sandbox's Secret Service.
fn clear_keyring(sb: &Sandbox) {
    let keyring = sb.keyring().expect("a keyring sandbox");
    let mut cmd = keyring.command("secret-tool");
    cmd.args(["clear", "service", "dbcreds"]);
    run(cmd, None).ok();
    assert_eq!(keyring.item_count(), 0, "the keyring entry is gone");
}

/// The `vault.db.before-restore-*` files in the sandbox's home.
fn kept_aside(sb: &Sandbox) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(sb.home())
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with("vault.db.before-restore-") && !n.ends_with("-wal")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The demonstration: a backup, then the home and the keyring
/// entry are lost, then the file alone (and its recovery passphrase)
/// brings every password back on a fresh home, which unlocks through the
/// keyring again afterwards.
#[test]
fn a_backup_restores_on_a_fresh_home_after_the_home_and_the_keyring_entry_are_gone() {
    let sb = Sandbox::with_keyring_vault();
    let prod = sb.add_unique("prod");
    let stage = sb.add_unique("stage");
    let pass = recovery();
    let file = sb.root().join("offsite").join("dbcreds-backup.db");
    std::fs::create_dir(file.parent().unwrap()).unwrap();
    let out = backup(&sb, &file, &pass, &[]);
    out.ok();
    assert!(out.stderr.contains("2 environments"), "{out}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the backup is the user's alone");
    // One file, nothing beside it, and no password in it in the clear.
    let beside: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(beside.len(), 1, "{beside:?}");
    assert_no_file_holds(file.parent().unwrap(), &[&prod, &stage, &pass]);
    let events = vault_events(&sb);
    assert!(has_event(&events, "backup", "ok"), "{events:?}");

    // The machine is gone: agent, DBCREDS_HOME and the keyring entry.
    kill_9(sb.agent_pid());
    std::fs::remove_dir_all(sb.home()).unwrap();
    clear_keyring(&sb);
    sb.cli(&["get", "prod"])
        .fails(exit::NOT_INITIALIZED, &["dbcreds init"]);

    // A wrong recovery passphrase changes nothing.
    restore(&sb, &file, "not it", &[]).fails(exit::WRONG_PASSPHRASE, &["passphrase"]);
    assert_eq!(sb.state(), "uninitialized");

    let out = restore(&sb, &file, &pass, &[]);
    out.ok();
    assert!(out.stderr.contains("Restored 2 environments"), "{out}");
    assert!(
        out.stderr.contains("unlocked"),
        "the state afterwards is said: {out}"
    );
    sb.assert_password("prod", &prod);
    sb.assert_password("stage", &stage);
    assert_eq!(sb.state(), "unlocked");
    assert_eq!(sb.unlockers(), ["keyring", "passphrase"]);
    let keyring = sb.keyring().expect("keyring");
    assert_eq!(
        keyring.item_count(),
        1,
        "a keyring entry for the restored key"
    );
    // The original file is untouched by the restore.
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A new agent unlocks through the new keyring entry by itself...
    kill_9(sb.agent_pid());
    sb.assert_password("prod", &prod);
    // ...and the recovery passphrase unlocks it too.
    sb.cli(&["lock"]).ok();
    sb.unlock_passphrase(&pass);
    sb.assert_password("stage", &stage);
}

/// The copy is taken while the agent serves: the last writes (in the WAL
/// only) are in it, and a backup taken during a stream of updates holds
/// one of the values written, never a torn one.
#[test]
fn a_backup_taken_while_the_agent_writes_is_consistent() {
    let sb = Sandbox::with_passphrase_vault();
    let other = sb.add_unique("other");
    let values: Vec<String> = (0..12).map(|i| format!("v{i}-{}", token())).collect();
    sb.add_postgres("prod", "db.internal", &values[0]);
    let pass = recovery();
    let files: Vec<PathBuf> = (0..3).map(|i| sb.root().join(format!("b{i}.db"))).collect();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for v in &values[1..] {
                sb.set_password("prod", v);
            }
        });
        for f in &files {
            backup(&sb, f, &pass, &[]).ok();
        }
        writer.join().expect("the writer");
    });
    let last = backup(&sb, &sb.root().join("last.db"), &pass, &[]);
    last.ok();

    let fresh = Sandbox::new();
    for f in &files {
        restore(&fresh, f, &pass, &["--force", "--no-keyring"]).ok();
        let got = fresh.password_of("prod");
        assert!(
            values.contains(&got),
            "{} holds {got:?}, not a value written",
            f.display()
        );
        fresh.assert_password("other", &other);
    }
    restore(
        &fresh,
        &sb.root().join("last.db"),
        &pass,
        &["--force", "--no-keyring"],
    )
    .ok();
    fresh.assert_password("prod", values.last().unwrap());
    assert_eq!(
        kept_aside(&fresh).len(),
        files.len(),
        "every replaced vault is kept"
    );
}

#[test]
fn restore_and_backup_refuse_what_would_lose_data_and_change_nothing() {
    let sb = Sandbox::with_passphrase_vault();
    let prod = sb.add_unique("prod");
    let pass = recovery();
    let file = sb.root().join("b.db");
    backup(&sb, &file, &pass, &[]).ok();
    let later = sb.add_unique("later");

    // An existing vault is replaced only with --force.
    restore(&sb, &file, &pass, &[]).fails(exit::ALREADY_EXISTS, &["--force"]);
    // Not a vault at all; a missing file; a vault without a passphrase.
    let junk = sb.root().join("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    restore(&sb, &junk, &pass, &["--force"]).fails(exit::VAULT_CORRUPT, &["not a dbcreds backup"]);
    restore(&sb, &sb.root().join("nothing.db"), &pass, &["--force"])
        .fails(exit::USAGE, &["nothing.db"]);
    restore(&sb, &file, "wrong", &["--force"]).fails(exit::WRONG_PASSPHRASE, &["passphrase"]);
    sb.assert_password("later", &later);
    assert!(kept_aside(&sb).is_empty(), "nothing was replaced");

    // Backups: an existing file needs --force; a locked vault, its unlock.
    backup(&sb, &file, &pass, &[]).fails(exit::ALREADY_EXISTS, &["--force"]);
    backup(&sb, &sb.root().join("no/such/dir/b.db"), &pass, &[])
        .fails(exit::USAGE, &["no/such/dir"]);
    sb.cli_stdin(&["backup", "x.db", "--passphrase-stdin"], "\n")
        .fails(exit::USAGE, &["empty"]);
    sb.cli(&["backup", "x.db"])
        .fails(exit::USAGE, &["--passphrase-stdin"]);
    sb.cli(&["lock"]).ok();
    backup(&sb, &sb.root().join("locked.db"), &pass, &[]).fails(exit::LOCKED, &["dbcreds unlock"]);
    assert!(!sb.root().join("locked.db").exists());
    sb.unlock_passphrase(PASSPHRASE);

    // --force: the backup replaces the vault, and the vault it replaced is
    // kept; restoring that one (it has a passphrase) brings `later` back.
    let out = restore(&sb, &file, &pass, &["--force"]);
    out.ok();
    let aside = kept_aside(&sb);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(out.stderr.contains(aside[0].to_str().unwrap()), "{out}");
    sb.assert_password("prod", &prod);
    sb.cli(&["get", "later"]).fails(exit::NOT_FOUND, &["later"]);
    restore(&sb, &aside[0], PASSPHRASE, &["--force"]).ok();
    sb.assert_password("later", &later);
    sb.assert_password("prod", &prod);
}

/// A plain copy of a keyring vault's file names that vault's keyring
/// entry: restored, it keeps only its passphrase (and a keyring entry of
/// its own when asked), so it can never delete the other's entry.
#[test]
fn a_restored_vault_file_never_shares_a_keyring_entry() {
    let sb = Sandbox::with_keyring_vault();
    let prod = sb.add_unique("prod");
    sb.cli_stdin(
        &["passphrase", "add", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    )
    .ok();
    // A clean stop merges the WAL: vault.db alone is then the whole vault.
    sb.cli(&["agent", "stop"]).ok();
    let copy = sb.root().join("copy.db");
    std::fs::copy(sb.vault(), &copy).unwrap();
    let keyring = sb.keyring().expect("keyring");
    assert_eq!(keyring.item_count(), 1);

    restore(&sb, &copy, PASSPHRASE, &["--force", "--no-keyring"]).ok();
    assert_eq!(sb.unlockers(), ["passphrase"]);
    restore(&sb, &copy, PASSPHRASE, &["--force"]).ok();
    assert_eq!(sb.unlockers(), ["keyring", "passphrase"]);
    assert_eq!(
        keyring.item_count(),
        2,
        "an entry of its own, the other's kept"
    );
    sb.cli(&["rekey", "--passphrase-stdin"]).code(exit::USAGE);
    sb.cli_stdin(&["rekey", "--passphrase-stdin"], &format!("{PASSPHRASE}\n"))
        .ok();
    assert_eq!(
        keyring.item_count(),
        2,
        "the re-key replaced only its own entry"
    );
    sb.assert_password("prod", &prod);
    // The first vault file still unlocks through its own entry.
    sb.cli(&["agent", "stop"]).ok();
    let aside = kept_aside(&sb);
    std::fs::copy(&aside[0], sb.vault()).unwrap();
    sb.assert_password("prod", &prod);
}

#[test]
fn export_all_writes_every_environment_and_passwords_only_when_asked() {
    let sb = Sandbox::with_passphrase_vault();
    let names = ["alpha", "beta", "gamma"];
    let passwords: Vec<String> = names.iter().map(|n| sb.add_unique(n)).collect();

    // Without passwords it needs no unlock, and holds none.
    sb.cli(&["lock"]).ok();
    let out = sb.cli(&["export", "--all", "--format", "json"]);
    out.ok();
    let docs = out.json();
    let docs = docs.as_array().expect("a JSON array");
    assert_eq!(docs.len(), 3, "{out}");
    for (doc, name) in docs.iter().zip(names) {
        assert_eq!(doc["name"], name);
        assert_eq!(doc["host"], "db.internal");
        assert!(
            doc.get("password").is_none() && doc.get("uri").is_none(),
            "{doc}"
        );
    }
    for p in &passwords {
        assert!(!out.all().contains(p.as_str()));
    }
    sb.cli(&["export", "--all", "--format", "json", "--include-passwords"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);
    sb.unlock_passphrase(PASSPHRASE);

    let out = sb.cli(&["export", "--all", "--format", "json", "--include-passwords"]);
    out.ok();
    assert_eq!(
        out.stderr, "",
        "no warning when stdout is not a terminal:\n{out}"
    );
    let docs = out.json();
    for (doc, pw) in docs.as_array().expect("array").iter().zip(&passwords) {
        assert_eq!(doc["password"].as_str(), Some(pw.as_str()), "{doc}");
    }
    for name in names {
        let events = sb.audit_events(name);
        assert!(has_event(&events, "export", "ok"), "{name}: {events:?}");
    }

    // What it writes, `import --from json` reads back elsewhere.
    let file = sb.root().join("all.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let other = Sandbox::with_passphrase_vault();
    other
        .cli(&["import", "--from", "json", file.to_str().unwrap()])
        .ok();
    for (name, pw) in names.iter().zip(&passwords) {
        other.assert_password(name, pw);
    }

    // Bad combinations are usage errors.
    sb.cli(&["export", "--all", "--format", "env"])
        .fails(exit::USAGE, &["--format json"]);
    sb.cli(&["export", "alpha", "--format", "json", "--include-passwords"])
        .fails(exit::USAGE, &["--all"]);
    sb.cli(&["export", "alpha", "--all", "--format", "json"])
        .code(exit::USAGE);
    sb.cli(&["export", "--format", "json"]).code(exit::USAGE);
}

/// On a terminal the passwords come with a warning (stdout is a pty made
/// by `script`).
#[test]
fn export_all_with_passwords_warns_on_a_terminal() {
    let sb = Sandbox::with_passphrase_vault();
    let pw = unique_password();
    sb.add_postgres("prod", "db.internal", &pw);
    let mut cmd = sb.command("script");
    let dbcreds = dbcreds_tests::bin("dbcreds");
    cmd.args(["-qec"])
        .arg(format!(
            "{} export --all --format json --include-passwords",
            dbcreds.display()
        ))
        .arg("/dev/null");
    let out = run(cmd, None);
    out.ok();
    // `script` puts the pty's output (stdout and stderr both) on its stdout.
    assert!(out.stdout.contains("warning"), "{out}");
    assert!(out.stdout.contains("terminal"), "{out}");
    assert!(
        contains_bytes(out.stdout.as_bytes(), pw.as_bytes()),
        "{out}"
    );
}

/// The vault's own error says "restore it from a backup": a damaged vault
/// is replaced with --force, and kept as it was.
#[test]
fn a_damaged_vault_is_replaced_by_a_restore_and_kept_aside() {
    let sb = Sandbox::with_passphrase_vault();
    let prod = sb.add_unique("prod");
    let pass = recovery();
    let file = sb.root().join("b.db");
    backup(&sb, &file, &pass, &[]).ok();
    kill_9(sb.agent_pid());
    let garbage = vec![0x5a_u8; 8192];
    std::fs::write(sb.vault(), &garbage).unwrap();
    let _ = std::fs::remove_file(sb.home().join("vault.db-wal"));
    sb.cli(&["get", "prod"])
        .fails(exit::VAULT_CORRUPT, &["restore it from a backup"]);

    restore(&sb, &file, &pass, &[]).fails(exit::ALREADY_EXISTS, &["--force"]);
    restore(&sb, &file, &pass, &["--force"]).ok();
    sb.assert_password("prod", &prod);
    let aside = kept_aside(&sb);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), garbage, "kept as it was");
}

//! The passphrase unlocker, with no Secret Service anywhere (children see
//! DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent), and keyrings that are
//! missing or locked.

use dbcreds_tests::{Sandbox, exit, kill_9, token};

fn unlockers(sb: &Sandbox) -> Vec<String> {
    let status = sb.cli(&["status", "--json"]);
    status.ok();
    status.json()["unlockers"]
        .as_array()
        .unwrap_or_else(|| panic!("status --json has no unlockers list:\n{status}"))
        .iter()
        .map(|u| u.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A passphrase nobody else has.
fn new_passphrase() -> String {
    format!("pp {}", token())
}

/// Unlocks with `passphrase`, then `prod` answers with `password` again.
#[track_caller]
fn unlock_and_get(sb: &Sandbox, passphrase: &str, password: &str) {
    sb.unlock_passphrase(passphrase);
    sb.assert_password("prod", password);
}

/// `init --unlocker keyring` fails for want of a keyring, leaving no vault.
#[track_caller]
fn keyring_init_fails(sb: &Sandbox) {
    sb.cli(&["init", "--unlocker", "keyring"])
        .fails(exit::KEYRING_UNAVAILABLE, &["keyring"]);
    assert_eq!(sb.state(), "uninitialized");
}

#[test]
fn passphrase_vault_without_any_secret_service() {
    let sb = Sandbox::new();
    let passphrase = new_passphrase();
    let init = sb.init_passphrase(&passphrase);
    assert!(
        init.all().to_lowercase().contains("passphrase"),
        "init must say which unlocker it set up:\n{init}"
    );
    assert_eq!(unlockers(&sb), ["passphrase"]);

    let password = sb.add_unique("prod");
    sb.assert_password("prod", &password);

    // A restarted agent has no way to the data key but the passphrase.
    kill_9(sb.agent_pid());
    sb.cli(&["get", "prod"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);
    assert_eq!(sb.state(), "locked");
    // Metadata is still there while locked.
    let list = sb.cli(&["list", "--json"]);
    list.ok();
    assert!(list.stdout.contains("db.internal"), "{list}");

    unlock_and_get(&sb, &passphrase, &password);
}

#[test]
fn unlock_without_passphrase_and_no_terminal_fails_cleanly() {
    let sb = Sandbox::new();
    let passphrase = new_passphrase();
    sb.init_passphrase(&passphrase);
    let password = sb.add_unique("prod");
    sb.cli(&["lock"]).ok();
    // stdin is null and there is no terminal: no prompt can be shown.
    // A usage error that names the ways to give it.
    sb.cli(&["unlock"])
        .fails(exit::USAGE, &["passphrase", "--passphrase-stdin"]);
    sb.cli(&["get", "prod"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);
    unlock_and_get(&sb, &passphrase, &password);
}

#[test]
fn auto_init_without_secret_service_picks_the_passphrase() {
    let sb = Sandbox::new();
    let passphrase = new_passphrase();
    let init = sb.cli_stdin(&["init", "--passphrase-stdin"], &format!("{passphrase}\n"));
    init.ok();
    assert!(
        init.all().to_lowercase().contains("passphrase"),
        "init must say it fell back to a passphrase:\n{init}"
    );
    assert_eq!(unlockers(&sb), ["passphrase"]);
}

#[test]
fn keyring_unlocker_without_secret_service_fails_and_leaves_nothing_behind() {
    let sb = Sandbox::new();
    keyring_init_fails(&sb);
    // Nothing half-made stands in the way of a passphrase vault.
    let passphrase = new_passphrase();
    sb.init_passphrase(&passphrase);
    let password = sb.add_unique("prod");
    sb.assert_password("prod", &password);
}

#[test]
fn locked_keyring_at_init_is_reported() {
    let sb = Sandbox::with_locked_keyring();
    keyring_init_fails(&sb);
}

#[test]
fn keyring_locked_after_init_is_reported_and_loses_nothing() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");
    kill_9(sb.agent_pid());
    let keyring = sb.keyring().expect("keyring");
    keyring.lock();

    // The new agent cannot reach the data key: its one automatic keyring
    // unlock fails, so the vault stays locked (the agent answers "locked";
    // only an explicit `unlock` reports the keyring itself).
    let out = sb.cli(&["get", "prod"]);
    out.fails(exit::LOCKED, &["dbcreds unlock"]);
    assert!(!out.all().contains(&password));
    sb.cli(&["unlock"])
        .fails(exit::KEYRING_UNAVAILABLE, &["keyring"]);
    // Metadata survives, and needs no unlock.
    let host = sb.cli(&["get", "prod", "host"]);
    host.ok();
    assert_eq!(host.stdout, "db.internal\n", "{host}");
    let list = sb.cli(&["list", "--json"]);
    list.ok();
    assert!(list.stdout.contains("db.internal"), "{list}");
}

#[test]
fn passphrase_file_unlocks_an_agent_started_as_a_service() {
    let mut sb = Sandbox::new();
    let passphrase = format!("service pp {}", token());
    sb.init_passphrase(&passphrase);
    let password = sb.add_unique("prod");
    kill_9(sb.agent_pid());

    // A wrong file: the agent starts, stays locked, says so.
    let file = sb.root().join("passphrase");
    std::fs::write(&file, "not it\n").expect("write passphrase file");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    sb.set_env("DBCREDS_PASSPHRASE_FILE", file.as_os_str());
    let agent = sb.start_agent();
    sb.cli(&["get", "prod"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);
    agent.kill_9();

    // The right one (trailing newline and all): unlocked with no one asked.
    std::fs::write(&file, format!("{passphrase}\n")).expect("write passphrase file");
    let _agent = sb.start_agent();
    sb.assert_password("prod", &password);
}

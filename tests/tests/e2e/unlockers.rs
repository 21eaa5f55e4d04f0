//! `dbcreds passphrase add|change|remove`: a passphrase beside the keyring
//! is the way back in when the keyring entry is lost; changing it needs
//! the current one; the last working unlocker cannot be removed.

use dbcreds_tests::{PASSPHRASE, Sandbox, exit, kill_9, run, token};

fn add(sb: &Sandbox, passphrase: &str) -> dbcreds_tests::Output {
    sb.cli_stdin(
        &["passphrase", "add", "--passphrase-stdin"],
        &format!("{passphrase}\n"),
    )
}

fn change(sb: &Sandbox, current: &str, new: &str) -> dbcreds_tests::Output {
    sb.cli_stdin(
        &["passphrase", "change", "--passphrase-stdin"],
        &format!("{current}\n{new}\n"),
    )
}

fn unlock(sb: &Sandbox, passphrase: &str) -> dbcreds_tests::Output {
    sb.cli_stdin(
        &["unlock", "--passphrase-stdin"],
        &format!("{passphrase}\n"),
    )
}

#[test]
fn a_passphrase_beside_the_keyring_is_the_way_back_when_the_keyring_entry_is_lost() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");
    let pass = format!("pp {}", token());
    let out = add(&sb, &pass);
    out.ok();
    assert!(out.stderr.contains("with a passphrase"), "{out}");
    assert_eq!(sb.unlockers(), ["keyring", "passphrase"]);
    let again = add(&sb, "another");
    again.fails(exit::ALREADY_EXISTS, &["passphrase change"]);
    assert!(
        !again.stderr.contains("--force"),
        "no flag to suggest: {again}"
    );

    // The keyring entry is lost: a new agent cannot unlock by itself...
    kill_9(sb.agent_pid());
    let keyring = sb.keyring().expect("keyring");
    let mut clear = keyring.command("secret-tool");
    clear.args(["clear", "service", "dbcreds"]);
    run(clear, None).ok();
    sb.cli(&["get", "prod"])
        .fails(exit::LOCKED, &["dbcreds unlock"]);
    // ...the passphrase can.
    unlock(&sb, &pass).ok();
    sb.assert_password("prod", &password);
    // And without a working keyring the passphrase is the only way in: it
    // cannot be removed.
    sb.cli(&["passphrase", "remove"])
        .fails(exit::USAGE, &["keyring", "stays"]);
    assert_eq!(sb.unlockers(), ["keyring", "passphrase"]);
}

#[test]
fn changing_needs_the_current_passphrase_and_the_last_unlocker_stays() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let new = format!("new {}", token());

    change(&sb, "not the passphrase", &new).fails(exit::WRONG_PASSPHRASE, &["passphrase"]);
    sb.cli(&["lock"]).ok();
    // It works while locked: the current passphrase opens the key.
    change(&sb, PASSPHRASE, &new).ok();
    unlock(&sb, PASSPHRASE).fails(exit::WRONG_PASSPHRASE, &["passphrase"]);
    unlock(&sb, &new).ok();
    sb.assert_password("prod", &password);

    // The passphrase is this vault's only unlocker.
    sb.cli(&["passphrase", "remove"])
        .fails(exit::USAGE, &["only unlocker"]);
    assert_eq!(sb.unlockers(), ["passphrase"]);
    sb.cli_stdin(&["passphrase", "add", "--passphrase-stdin"], "\n")
        .fails(exit::USAGE, &["empty"]);
    sb.cli(&["passphrase", "add"])
        .fails(exit::USAGE, &["--passphrase-stdin"]);
}

#[test]
fn the_passphrase_goes_when_the_keyring_hands_out_the_key() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");
    // Adding needs the key: a locked vault (locked on purpose, so no
    // automatic keyring unlock) is refused.
    sb.cli(&["lock"]).ok();
    add(&sb, "pp").fails(exit::LOCKED, &["dbcreds unlock"]);
    sb.cli(&["unlock"]).ok();
    add(&sb, "pp").ok();
    let out = sb.cli(&["passphrase", "remove"]);
    out.ok();
    assert!(out.stderr.contains("dbcreds backup"), "{out}");
    assert_eq!(sb.unlockers(), ["keyring"]);
    sb.cli(&["passphrase", "remove"])
        .fails(exit::KEYRING_UNAVAILABLE, &["no passphrase unlocker"]);
    change(&sb, "pp", "qq").fails(exit::KEYRING_UNAVAILABLE, &["passphrase add"]);
    kill_9(sb.agent_pid());
    sb.assert_password("prod", &password);
}

//! Links and shared directories planted where the agent keeps its files
//! (issue 9.3): nothing is followed, nothing shared is chmod'ed, and a
//! stale link of ours at the socket path is replaced, not a reason to fail.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use dbcreds_tests::{Sandbox, exit, unique_password};

fn private_home(sb: &Sandbox) {
    fs::create_dir_all(sb.home()).unwrap();
    fs::set_permissions(sb.home(), fs::Permissions::from_mode(0o700)).unwrap();
}

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The agent refused `dir` as shared (exit 13, the reason named) and left
/// its mode as it was.
fn refused_as_shared(failure: &dbcreds_tests::AgentStartFailure, dir: &std::path::Path, was: u32) {
    assert_eq!(
        failure.status.code(),
        Some(exit::PERMISSION_DENIED),
        "{failure}"
    );
    assert!(
        failure.first_line.contains("writable by other users"),
        "{failure}"
    );
    assert_eq!(mode(dir), was, "{} was chmod'ed", dir.display());
}

#[test]
fn a_planted_lock_link_is_not_followed() {
    let sb = Sandbox::new();
    private_home(&sb);
    let victim = sb.root().join("victim");
    fs::write(&victim, "keep me").unwrap();
    symlink(&victim, sb.home().join("agent.lock")).unwrap();
    let failure = sb
        .try_start_agent()
        .err()
        .expect("the agent started through a link");
    assert!(failure.first_line.contains("symbolic link"), "{failure}");
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "keep me",
        "the victim was written"
    );
}

#[test]
fn a_vault_link_is_refused_and_nothing_is_created_through_it() {
    let sb = Sandbox::new();
    private_home(&sb);
    let elsewhere = sb.root().join("attacker");
    fs::create_dir(&elsewhere).unwrap();
    symlink(elsewhere.join("vault.db"), sb.vault()).unwrap();
    let out = sb.cli_stdin(
        &["init", "--unlocker", "passphrase", "--passphrase-stdin"],
        "pp\n",
    );
    out.fails(exit::VAULT_CORRUPT, &["symbolic link"]);
    assert!(
        fs::read_dir(&elsewhere).unwrap().next().is_none(),
        "a vault was created through the link"
    );
}

#[test]
fn a_home_others_can_write_is_refused_and_left_as_it_was() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.home()).unwrap();
    fs::set_permissions(sb.home(), fs::Permissions::from_mode(0o777)).unwrap();
    let failure = sb
        .try_start_agent()
        .err()
        .expect("the agent used a 0777 home");
    refused_as_shared(&failure, &sb.home(), 0o777);
    assert!(!sb.home().join("agent.log").exists());
}

#[test]
fn a_socket_in_a_shared_sticky_directory_is_refused_and_the_directory_kept() {
    let sb = Sandbox::new();
    private_home(&sb);
    let shared = sb.root().join("tmp");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let failure = sb
        .try_start_agent_at(&shared.join("x.sock"))
        .err()
        .expect("the agent listened in a 1777 directory");
    refused_as_shared(&failure, &shared, 0o1777);
}

#[test]
fn a_dangling_link_of_ours_at_the_socket_path_is_replaced() {
    let sb = Sandbox::new();
    private_home(&sb);
    symlink(sb.root().join("nowhere"), sb.socket()).unwrap();
    let _agent = sb.start_agent();
    sb.init_passphrase("pp");
    let password = unique_password();
    sb.add_postgres("prod", "db.internal", &password);
    sb.assert_password("prod", &password);
    assert!(
        !fs::symlink_metadata(sb.socket())
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is still there"
    );
}

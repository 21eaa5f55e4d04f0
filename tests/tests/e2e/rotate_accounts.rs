//! Issue 10.8: a MariaDB user with accounts for several hosts —
//! `'u'@'%'` (TCP, where the agent logs in) and `'u'@'localhost'` (the
//! server's socket, where a `mariadb` client on the server goes) with the
//! same password. `dbcreds rotate` changes both, in one statement, or
//! refuses and names them; accounts with another password are left alone;
//! `--hosts` names the accounts; a crash midway loses nothing.

use std::os::unix::process::ExitStatusExt;

use dbcreds_tests::{EnvSpec, MariaTestUser, Sandbox, closed_port, exit};

/// A vault with `user` as `shop` (over TCP to 127.0.0.1: `'u'@'%'`), the
/// user also having `'u'@'localhost'` with the same password.
fn two_accounts(test: &str) -> Option<(Sandbox, dbcreds_tests::AgentProcess, MariaTestUser)> {
    let (sb, agent, user) = MariaTestUser::vault_or_skip(test, "acct", &["shop"])?;
    user.add_account("localhost");
    // Both ways in take the password before the rotation.
    assert!(user.logs_in_with(&user.password));
    assert!(user.socket_login(&user.password));
    Some((sb, agent, user))
}

#[test]
fn rotate_through_an_admin_changes_every_account_with_the_password() {
    let (sb, _agent, user) = or_return!(two_accounts("rotate_two_accounts_admin"));
    // A third account with a password of its own is none of the
    // environment's business.
    user.add_account_with("192.0.2.1", "another-password-entirely");
    let other_before = user.stored_hash("192.0.2.1");
    let admin = MariaTestUser::create("adm", "CREATE USER ON *.*");
    admin.grant("SELECT ON mysql.user");
    sb.add(&admin.env("shop-admin")).ok();

    let out = sb.cli(&["rotate", "shop", "--admin", "shop-admin"]);
    out.ok();
    let new = sb.password_of("shop");
    assert_ne!(new, user.password);
    let (u, pct, local) = (&user.name, "'%'", "'localhost'");
    assert!(
        out.stdout.contains(&format!("'{u}'@{pct}"))
            && out.stdout.contains(&format!("'{u}'@{local}")),
        "the output names both accounts:\n{out}"
    );
    // TCP and the socket both take the new password, neither the old one.
    user.assert_both_take_only(&new, &user.password);
    // The account with another password is untouched, and said so.
    assert_eq!(user.stored_hash("192.0.2.1"), other_before);
    assert!(
        out.stderr.contains("left alone") && out.stderr.contains("192.0.2.1"),
        "{out}"
    );

    // --json lists the accounts too.
    let v = sb.json(&["rotate", "shop", "--admin", "shop-admin"]);
    assert_eq!(v["outcome"], "rotated", "{v}");
    assert_eq!(v["accounts"].as_array().map(Vec::len), Some(2), "{v}");
    let newer = sb.password_of("shop");
    user.assert_both_take_only(&newer, &new);
}

#[test]
fn a_user_that_may_read_mysql_user_rotates_all_its_accounts_itself() {
    let (sb, _agent, user) = or_return!(two_accounts("rotate_two_accounts_self"));
    user.grant("SELECT ON mysql.user");
    // Without CREATE USER it may change only its own account: refused
    // whole, nothing changed, both accounts named, the ways out given.
    let out = sb.cli(&["rotate", "shop"]);
    out.fails(
        exit::DB_ERROR,
        &[
            "refused",
            "localhost",
            "--admin",
            "--hosts",
            "changed nothing",
        ],
    );
    assert_eq!(sb.password_of("shop"), user.password);
    assert!(user.logs_in_with(&user.password));
    assert!(user.socket_login(&user.password));

    // With it, the user changes both itself.
    user.grant("CREATE USER ON *.*");
    sb.cli(&["rotate", "shop"]).ok();
    let new = sb.password_of("shop");
    user.assert_both_take_only(&new, &user.password);
}

#[test]
fn without_mysql_user_only_the_own_account_changes_and_rotate_says_so() {
    let (sb, _agent, user) = or_return!(two_accounts("rotate_unreadable_accounts"));
    let out = sb.cli(&["rotate", "shop"]);
    out.ok();
    assert!(
        out.stderr.contains("may not read mysql.user") && out.stderr.contains("--hosts"),
        "the note says why only one account changed:\n{out}"
    );
    let new = sb.password_of("shop");
    user.assert_takes_only(&new, &user.password);
    assert!(
        user.socket_login(&user.password),
        "the localhost account was not touched"
    );

    // --hosts names the accounts: its own only (quietly), or one that
    // leaves out its own (refused before anything changes).
    let out = sb.cli(&["rotate", "shop", "--hosts", "%"]);
    out.ok();
    assert!(!out.stderr.contains("mysql.user"), "{out}");
    let newer = sb.password_of("shop");
    user.assert_takes_only(&newer, &new);
    sb.cli(&["rotate", "shop", "--hosts", "localhost"])
        .fails(exit::USAGE, &["--hosts", "leaves out", "changed nothing"]);
    assert_eq!(sb.password_of("shop"), newer);
}

#[test]
fn hosts_names_the_accounts_and_a_crash_after_the_server_loses_nothing() {
    let (mut sb, agent, user) = or_return!(two_accounts("rotate_two_accounts_crash"));
    user.grant("CREATE USER ON *.*");
    // --hosts: no need to read mysql.user.
    sb.cli(&["rotate", "shop", "--hosts", "%,localhost"]).ok();
    let first = sb.password_of("shop");
    user.assert_both_take_only(&first, &user.password);

    // The agent dies right after the server took the statement; the next
    // agent settles the rotation, and both accounts have the stored password.
    agent.terminate();
    sb.set_env("DBCREDS_FAILPOINT", "rotate:after_server");
    let crashing = sb.start_agent();
    sb.cli(&["rotate", "shop", "--hosts", "%,localhost"])
        .code(exit::AGENT_UNREACHABLE);
    assert_eq!(crashing.terminate().signal(), Some(6));
    sb.set_env("DBCREDS_FAILPOINT", "");
    let _agent = sb.start_agent();
    let resumed = sb.json(&["rotate", "--resume", "shop"]);
    assert!(
        ["finished", "nothing_to_resume"].contains(&resumed["outcome"].as_str().unwrap_or("")),
        "{resumed}"
    );
    let after = sb.password_of("shop");
    assert_ne!(after, first);
    user.assert_both_take_only(&after, &first);

    // A PostgreSQL role has one password: --hosts is refused before
    // anything is stored or any server is asked.
    sb.add(&EnvSpec::postgres("pg", "127.0.0.1").port(closed_port()))
        .ok();
    sb.cli(&["rotate", "pg", "--hosts", "%"])
        .fails(exit::USAGE, &["--hosts", "PostgreSQL"]);
}

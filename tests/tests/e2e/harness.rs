//! The harness itself: a private Secret Service really stores and returns
//! secrets, sessions do not share a keyring, and the locked variant is
//! locked.

use dbcreds_tests::{KeyringSession, run, token};

fn store(session: &KeyringSession, attr: &str, secret: &str) -> dbcreds_tests::Output {
    let mut cmd = session.command("secret-tool");
    cmd.args([
        "store",
        "--label=dbcreds harness",
        "service",
        "dbcreds-harness",
        "username",
        attr,
    ]);
    run(cmd, Some(secret.as_bytes()))
}

fn lookup(session: &KeyringSession, attr: &str) -> dbcreds_tests::Output {
    let mut cmd = session.command("secret-tool");
    cmd.args(["lookup", "service", "dbcreds-harness", "username", attr]);
    run(cmd, None)
}

#[test]
fn keyring_session_stores_and_looks_up() {
    let session = KeyringSession::start();
    assert!(!session.is_locked());
    let secret = token();
    store(&session, "alice", &secret).ok();
    let out = lookup(&session, "alice");
    out.ok();
    assert_eq!(out.stdout.trim_end(), secret, "{out}");
    // Nothing stored under another name.
    assert_ne!(lookup(&session, "bob").code, Some(0));
}

#[test]
fn keyring_sessions_are_private() {
    let a = KeyringSession::start();
    let b = KeyringSession::start();
    assert_ne!(a.address(), b.address());
    store(&a, "carol", &token()).ok();
    let out = lookup(&b, "carol");
    assert_ne!(
        out.code,
        Some(0),
        "session b sees session a's secret:\n{out}"
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn locked_keyring_session_refuses_writes() {
    let session = KeyringSession::start_locked();
    assert!(session.is_locked());
    let out = store(&session, "dave", &token());
    assert_ne!(
        out.code,
        Some(0),
        "a locked collection took a write:\n{out}"
    );
}

#[test]
fn lock_locks_an_unlocked_session() {
    let session = KeyringSession::start();
    store(&session, "erin", &token()).ok();
    session.lock();
    assert!(session.is_locked());
    assert_ne!(lookup(&session, "erin").code, Some(0));
}

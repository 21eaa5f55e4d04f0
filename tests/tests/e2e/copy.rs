//! `dbcreds copy`: on a real X server (Xvfb), read back by another client
//! (xclip): the value is there, it is cleared after `--clear-after`, and a
//! clipboard that changed meanwhile is left alone.

use std::time::{Duration, Instant};

use dbcreds_tests::{Sandbox, XServer, exit};

/// The `dbcreds` processes of the sandbox other than its agent: the
/// clipboard holder `copy` started.
fn holders(sb: &Sandbox) -> Vec<u32> {
    sb.processes()
        .into_iter()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "dbcreds"))
        })
        .collect()
}

/// Waits (bounded) until `done` holds.
#[track_caller]
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn copy_puts_the_value_on_the_clipboard_and_clears_it() {
    let Some(x) = XServer::start_or_skip("copy_puts_the_value_on_the_clipboard_and_clears_it")
    else {
        return;
    };
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let started = Instant::now();
    let out = sb.cli_env(
        &["copy", "prod", "--clear-after", "2s"],
        &[("DISPLAY", x.display())],
    );
    out.ok();
    assert_eq!(out.stdout, "", "nothing on stdout:\n{out}");
    assert!(out.stderr.contains("cleared in 2s"), "{out}");
    assert_eq!(x.clipboard().as_deref(), Some(password.as_str()));
    assert_eq!(holders(&sb).len(), 1, "one holder serves it");

    until("the clipboard is cleared", || x.clipboard().is_none());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "cleared before --clear-after"
    );
    until("the holder exits", || holders(&sb).is_empty());

    // Any field `get` knows.
    sb.cli_env(
        &["copy", "prod", "user", "--clear-after", "1s"],
        &[("DISPLAY", x.display())],
    )
    .ok();
    assert_eq!(x.clipboard().as_deref(), Some("app"));
    until("the clipboard is cleared", || x.clipboard().is_none());
}

#[test]
fn copy_leaves_a_clipboard_that_changed_meanwhile() {
    let Some(x) = XServer::start_or_skip("copy_leaves_a_clipboard_that_changed_meanwhile") else {
        return;
    };
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    sb.cli_env(
        &["copy", "prod", "--clear-after", "2s"],
        &[("DISPLAY", x.display())],
    )
    .ok();
    assert_eq!(x.clipboard().as_deref(), Some(password.as_str()));
    let mut other = x.copy_elsewhere("copied by the user afterwards");
    until("the holder exits", || holders(&sb).is_empty());
    assert_eq!(
        x.clipboard().as_deref(),
        Some("copied by the user afterwards"),
        "the holder cleared a clipboard it no longer held"
    );
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn copy_without_a_display_says_so() {
    let sb = Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    sb.cli(&["copy", "prod"])
        .fails(exit::OTHER, &["no clipboard", "DISPLAY", "dbcreds get"]);
    sb.cli(&["copy", "nosuch"])
        .fails(exit::NOT_FOUND, &["nosuch"]);
    sb.cli(&["copy", "prod", "--clear-after", "0s"])
        .fails(exit::USAGE, &["--clear-after"]);
}

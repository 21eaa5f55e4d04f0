//! When the page stops by itself: after its idle time, when the vault is
//! locked from elsewhere, when the agent stops. A lock from the page
//! itself keeps it (it shows the unlock form: see `browser`). Each wait is
//! on the process's exit (a pidfd), bounded.

use std::time::Duration;

use dbcreds_tests::{Sandbox, exit};

use super::page_with_prod;

/// Long enough for a debug build on two busy cores; the page itself acts
/// within a second of the cause.
const STOP_WITHIN: Duration = Duration::from_secs(20);

#[test]
fn it_stops_after_its_idle_time() {
    let sb = Sandbox::with_passphrase_vault();
    let mut ui = sb.start_ui(&["--idle-timeout", "2s"]);
    let cookie = ui.open_session();
    assert_eq!(ui.get("/", &[("Cookie", &cookie)]).status, 200);
    let status = ui
        .wait_exit(STOP_WITHIN)
        .expect("still running after its idle time");
    assert!(status.success(), "{status:?}\n{}", ui.stderr());
    assert!(
        ui.stderr().contains("stopped: no request for 2s"),
        "{}",
        ui.stderr()
    );
}

#[test]
fn it_stops_when_the_vault_is_locked_elsewhere() {
    let (sb, _password, mut ui, _cookie) = page_with_prod();
    sb.cli(&["lock"]).ok();
    let status = ui
        .wait_exit(STOP_WITHIN)
        .expect("still running after `dbcreds lock`");
    assert!(status.success(), "{status:?}\n{}", ui.stderr());
    assert!(
        ui.stderr().contains("stopped: the vault was locked"),
        "{}",
        ui.stderr()
    );
}

#[test]
fn it_stops_with_the_agent() {
    let (sb, _password, mut ui, _cookie) = page_with_prod();
    sb.cli(&["agent", "stop"]).ok();
    let status = ui
        .wait_exit(STOP_WITHIN)
        .expect("still running without an agent");
    assert!(status.success(), "{status:?}\n{}", ui.stderr());
    assert!(
        ui.stderr().contains("stopped: the agent stopped"),
        "{}",
        ui.stderr()
    );
}

#[test]
fn a_bad_idle_time_is_refused_before_anything_starts() {
    let sb = Sandbox::new();
    sb.cli(&["ui", "--no-open", "--idle-timeout", "never"])
        .fails(exit::USAGE, &["--idle-timeout", "not a duration"]);
    sb.cli(&["ui", "--no-open", "--idle-timeout", "3d"])
        .fails(exit::USAGE, &["outside 1s to 24h"]);
    // Nothing was started: no agent answers.
    assert!(sb.agent_pids().is_empty());
}

#[test]
fn a_missing_ui_binary_is_named() {
    let sb = Sandbox::new().with_env("DBCREDS_UI_BIN", "/nonexistent/dbcreds-ui");
    sb.cli(&["ui", "--no-open"])
        .fails(exit::OTHER, &["cannot run /nonexistent/dbcreds-ui"]);
}

#[test]
fn no_agent_to_start_is_exit_code_6_and_says_why() {
    // Without a vault no agent is started at all: the CLI's exit code 12.
    let sb = Sandbox::new().with_env("DBCREDS_AGENT_BIN", "/nonexistent/dbcreds-agent");
    let out = sb.cli(&["ui", "--no-open"]);
    out.code(exit::NOT_INITIALIZED);
    assert!(out.stderr.contains("dbcreds init"), "{out}");
    // With a vault and no agent binary to start: 6.
    let sb = Sandbox::with_passphrase_vault();
    sb.cli(&["agent", "stop"]).ok();
    let sb = sb.with_env("DBCREDS_AGENT_BIN", "/nonexistent/dbcreds-agent");
    let out = sb.cli(&["ui", "--no-open"]);
    out.code(exit::AGENT_UNREACHABLE);
    assert_eq!(out.stdout, "", "no link without an agent:\n{out}");
    assert!(
        out.stderr
            .starts_with("dbcreds ui: could not start dbcreds-agent: /nonexistent/dbcreds-agent"),
        "{out}"
    );
}

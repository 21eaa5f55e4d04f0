//! The `dbcreds-ui` binary itself. This file is also why `cargo test
//! --workspace` builds that binary, which the end-to-end tests of
//! `tests/tests/e2e/ui/` run.

use std::process::Command;

#[test]
fn a_bad_idle_time_is_refused_with_exit_code_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_dbcreds-ui"))
        .args(["--idle-timeout", "never"])
        .env(
            "DBCREDS_HOME",
            std::env::temp_dir().join("dbcreds-ui-binary-test"),
        )
        .output()
        .expect("run dbcreds-ui");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "no link on a refusal: {out:?}");
}

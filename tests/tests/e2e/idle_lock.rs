//! The agent locks by itself unless told not to: 1 h idle and 12 h after
//! an unlock by default, said by `dbcreds init`; `never` turns either off.

use dbcreds_tests::{PASSPHRASE, Sandbox};

#[test]
fn the_locks_are_on_by_default_init_says_so_and_never_turns_them_off() {
    let sb = Sandbox::new();
    let init = sb.init_passphrase(PASSPHRASE);
    assert!(
        init.stderr
            .contains("locks the vault after 1h without use, and 12h after an unlock"),
        "init must say when the vault locks:\n{init}"
    );
    let status = sb.json(&["status"]);
    let idle = status["idle_lock_in_secs"].as_i64().unwrap_or(-1);
    let hard = status["hard_lock_in_secs"].as_i64().unwrap_or(-1);
    assert!((3500..=3600).contains(&idle), "{status}");
    assert!((43_100..=43_200).contains(&hard), "{status}");

    let mut off = Sandbox::new();
    off.write_config("lock_after = \"never\"\nmax_unlocked = \"never\"\n");
    let init = off.init_passphrase(PASSPHRASE);
    assert!(
        init.stderr.contains("never locks the vault by itself"),
        "{init}"
    );
    let status = off.json(&["status"]);
    assert!(status["idle_lock_in_secs"].is_null(), "{status}");
    assert!(status["hard_lock_in_secs"].is_null(), "{status}");

    // One off, the other at its default.
    let only_cap = Sandbox::new().with_env("DBCREDS_LOCK_AFTER", "never");
    let init = only_cap.init_passphrase(PASSPHRASE);
    assert!(
        init.stderr.contains("locks the vault 12h after an unlock"),
        "{init}"
    );
}

//! `dbcreds doctor` on a healthy setup and on broken ones, each diagnosed
//! with its fix; and the transparent replacement of an agent that speaks
//! another protocol.

use std::os::unix::fs::PermissionsExt;

use dbcreds_tests::*;

/// The finding of `check` in `doctor --json` output.
pub(crate) fn finding(out: &Output, check: &str) -> serde_json::Value {
    out.json()
        .as_array()
        .and_then(|a| a.iter().find(|f| f["check"] == check))
        .cloned()
        .unwrap_or_else(|| panic!("no {check} finding:\n{out}"))
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let sb = Sandbox::with_keyring_vault();
    let out = sb.cli(&["doctor", "--json"]);
    out.ok();
    for check in ["config", "socket", "agent", "vault", "keyring", "units"] {
        assert_eq!(finding(&out, check)["ok"], true, "{check}:\n{out}");
    }
    assert!(
        finding(&out, "vault")["detail"]
            .as_str()
            .unwrap()
            .contains("integrity_check")
    );
    let human = sb.cli(&["doctor"]);
    human.ok();
    assert!(!human.stdout.contains("BAD"), "{human}");
}

#[test]
fn a_locked_keyring_is_diagnosed_with_its_fix() {
    let sb = Sandbox::with_keyring_vault();
    sb.keyring().expect("keyring").lock();
    let out = sb.cli(&["doctor", "--json"]);
    out.code(exit::OTHER); // doctor's code for "a problem found"
    let k = finding(&out, "keyring");
    assert_eq!(k["ok"], false, "{out}");
    assert!(k["fix"].as_str().unwrap().contains("unlock"), "{out}");
    assert_eq!(
        finding(&out, "vault")["ok"],
        true,
        "only the keyring is broken:\n{out}"
    );
}

#[test]
fn a_socket_directory_open_to_others_is_diagnosed_with_its_fix() {
    let sb = Sandbox::with_passphrase_vault();
    std::fs::set_permissions(sb.home(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sb.cli(&["doctor"]);
    out.code(exit::OTHER);
    assert!(out.stdout.contains("BAD socket"), "{out}");
    assert!(
        out.stdout
            .contains(&format!("chmod 700 {}", sb.home().display())),
        "{out}"
    );
    assert!(out.error_line().contains("1 problem"), "{out}");
}

#[test]
fn an_agent_of_another_protocol_is_diagnosed_then_replaced_transparently() {
    let mut sb = Sandbox::with_passphrase_vault();
    terminate(sb.agent_pid());
    // Debug builds of the agent honour this variable to play an old agent.
    sb.set_env("DBCREDS_TEST_AGENT_PROTOCOL", "0");
    let old = sb.start_agent();
    sb.set_env("DBCREDS_TEST_AGENT_PROTOCOL", "");

    let out = sb.cli(&["doctor", "--json"]);
    out.code(exit::OTHER);
    let agent = finding(&out, "agent");
    assert_eq!(agent["ok"], false, "{out}");
    assert!(
        agent["detail"].as_str().unwrap().contains("protocol 0"),
        "{out}"
    );
    assert!(
        agent["fix"]
            .as_str()
            .unwrap()
            .contains("dbcreds agent restart"),
        "{out}"
    );

    // Any ordinary command replaces it without being asked.
    let list = sb.cli(&["list"]);
    list.ok();
    assert!(
        list.stderr.contains("Replacing the running agent"),
        "{list}"
    );
    let status = sb.cli(&["status", "--json"]);
    status.ok();
    assert_eq!(
        status.json()["protocol"],
        status.json()["client_protocol"],
        "the replacement speaks this build's protocol"
    );
    assert_ne!(status.json()["pid"].as_u64(), Some(u64::from(old.pid())));
}

//! The agent process: ready line, one agent per socket and per vault,
//! graceful SIGTERM, detached autostart.

use std::fs;

use dbcreds_tests::{Sandbox, bin, exit, kill_9, run};

#[test]
fn second_agent_on_the_same_socket_is_refused() {
    let sb = Sandbox::with_keyring();
    let mut first = sb.start_agent();
    sb.init_keyring();
    let password = sb.add_unique("prod");

    let failure = match sb.try_start_agent() {
        Ok(second) => panic!(
            "a second agent (pid {}) started on {}",
            second.pid(),
            sb.socket().display()
        ),
        Err(f) => f,
    };
    assert!(!failure.status.success(), "{failure}");
    let line = failure.first_line.to_lowercase();
    assert!(
        line.starts_with("error: ")
            && (line.contains("already") || line.contains("running") || line.contains("in use")),
        "the second agent must say why on its ready line: {failure}"
    );

    assert!(first.is_running(), "the first agent died");
    assert!(sb.socket().exists(), "the second agent removed the socket");
    assert_eq!(sb.agent_pid(), first.pid());
    sb.assert_password("prod", &password);

    // The same through the CLI's way of starting it (--detach).
    let mut cmd = sb.command(bin("dbcreds-agent"));
    cmd.arg("--socket").arg(sb.socket()).arg("--detach");
    run(cmd, None).failed();
    assert!(first.is_running(), "the first agent died");
    sb.assert_password("prod", &password);
}

#[test]
fn sigterm_is_graceful() {
    let sb = Sandbox::with_keyring();
    let agent = sb.start_agent();
    sb.init_keyring();
    let password = sb.add_unique("prod");

    let status = agent.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM must end the agent cleanly: {status}"
    );
    assert!(
        !sb.socket().exists(),
        "a cleanly stopped agent removes its socket"
    );
    // The next command starts a new agent, which unlocks from the keyring.
    sb.assert_password("prod", &password);
}

#[test]
fn autostarted_agent_is_detached_and_logs_to_its_home() {
    let sb = Sandbox::with_keyring();
    assert!(!sb.socket().exists());
    sb.init_keyring();
    let pid = sb.agent_pid();
    assert_ne!(pid, std::process::id());

    // --detach: a session of its own (setsid), so the shell's hangup or
    // Ctrl-C cannot reach it.
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("agent stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat")
        .1
        .split_whitespace()
        .collect();
    // After the name: state ppid pgrp session ...
    let session: u32 = fields[3].parse().expect("session id");
    assert_eq!(session, pid, "the detached agent must lead its own session");

    let log = fs::read_to_string(sb.agent_log()).unwrap_or_default();
    assert!(
        !log.is_empty(),
        "the detached agent logs to {}",
        sb.agent_log().display()
    );

    let status = sb.cli(&["status", "--json"]);
    let json = status.json();
    assert_eq!(
        json["socket"].as_str(),
        sb.socket().to_str(),
        "DBCREDS_HOME moves the socket into it:\n{status}"
    );
    assert_eq!(json["vault_path"].as_str(), sb.vault().to_str(), "{status}");

    // The socket is private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(sb.socket())
        .expect("socket")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode & 0o077, 0, "socket mode {mode:o} lets others in");
}

#[test]
fn dead_agent_is_reported_by_status_and_replaced_by_the_next_command() {
    let sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");
    kill_9(sb.agent_pid());

    // status never starts an agent; the stale socket file does not fool it.
    sb.cli(&["status"]).fails(exit::AGENT_UNREACHABLE, &[]);
    let status = sb.cli(&["status", "--json"]);
    status.code(exit::AGENT_UNREACHABLE);
    assert_eq!(status.json()["running"], false, "{status}");

    // Any other command starts a new one on the stale socket.
    sb.assert_password("prod", &password);
    let status = sb.cli(&["status", "--json"]);
    status.ok();
    assert_eq!(status.json()["running"], true, "{status}");
}

/// One vault, one agent: a second agent on the same `DBCREDS_HOME` but
/// another socket would serve the same vault beside the first (two caches,
/// two sets of timers, lock on one and not the other). It must refuse to
/// start, naming the agent that has the vault and where it listens.
#[test]
fn second_agent_on_another_socket_for_the_same_vault_is_refused() {
    let mut sb = Sandbox::with_keyring();
    let socket_a = sb.root().join("a/agent.sock");
    let socket_b = sb.root().join("b/agent.sock");
    sb.set_env("DBCREDS_SOCK", socket_a.as_os_str());
    let mut first = sb.start_agent_at(&socket_a);
    sb.init_keyring();
    let password = sb.add_unique("prod");
    assert_eq!(sb.agent_pid(), first.pid());

    let failure = match sb.try_start_agent_at(&socket_b) {
        Ok(second) => panic!(
            "a second agent (pid {}) started on {} for the vault the agent {} on {} has open",
            second.pid(),
            socket_b.display(),
            first.pid(),
            socket_a.display()
        ),
        Err(f) => f,
    };
    assert_eq!(
        failure.status.code(),
        Some(exit::AGENT_CANNOT_START),
        "{failure}"
    );
    let line = &failure.first_line;
    assert!(line.starts_with("error: "), "{failure}");
    assert!(
        line.to_lowercase().contains("vault"),
        "names the vault: {failure}"
    );
    assert!(
        line.contains(&format!("pid {}", first.pid())),
        "names the running agent's pid: {failure}"
    );
    assert!(
        line.contains(&socket_a.display().to_string()),
        "names the socket the running agent serves: {failure}"
    );

    assert!(
        !socket_b.exists(),
        "the refused agent left {}",
        socket_b.display()
    );
    assert!(first.is_running(), "the first agent died");
    assert_eq!(sb.agent_pids(), [first.pid()], "one agent for the vault");
    sb.assert_password("prod", &password);
}

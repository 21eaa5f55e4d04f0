//! The agent process: ready line, one agent per socket and per vault,
//! graceful SIGTERM, detached autostart, `agent stop`/`restart` in well
//! under a second with the whole vault in `vault.db`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use dbcreds_tests::{
    Output, PASSPHRASE, Sandbox, bin, exit, kill_9, run, run_parallel, wait_for_exit,
};

/// How long `dbcreds agent stop` (and `restart`) may take: milliseconds in
/// fact; it took 5.0 s while the agent waited for idle connections.
const STOP_BOUND: Duration = Duration::from_secs(1);

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

/// `dbcreds agent VERB` in `sb`: asserts success within [`STOP_BOUND`] and
/// that the agent `pid` is gone afterwards.
#[track_caller]
fn agent_verb_ends_quickly(sb: &Sandbox, verb: &str, pid: u32) -> Output {
    let started = Instant::now();
    let out = sb.cli(&["agent", verb]);
    let took = started.elapsed();
    eprintln!("`dbcreds agent {verb}` took {took:?}");
    out.ok();
    assert!(
        took < STOP_BOUND,
        "`dbcreds agent {verb}` took {took:?} (at most {STOP_BOUND:?}):\n{out}\n{}",
        sb.logs()
    );
    assert!(
        wait_for_exit(pid, Duration::ZERO),
        "the agent {pid} still runs after `agent {verb}`"
    );
    out
}

/// A clean stop merges the write-ahead log: `vault.db` alone, copied into
/// another `DBCREDS_HOME`, is the whole vault.
#[test]
fn agent_stop_is_fast_and_leaves_the_whole_vault_in_vault_db() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    sb.assert_password("prod", &password);
    agent_verb_ends_quickly(&sb, "stop", sb.agent_pid());

    let wal = sb.home().join("vault.db-wal");
    let wal_len = fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(
        wal_len,
        0,
        "{} holds {wal_len} bytes after a clean stop",
        wal.display()
    );

    let copy = Sandbox::new();
    fs::create_dir(copy.home()).expect("create DBCREDS_HOME");
    fs::set_permissions(copy.home(), fs::Permissions::from_mode(0o700)).expect("chmod 0700");
    fs::copy(sb.vault(), copy.vault()).expect("copy vault.db");
    copy.unlock_passphrase(PASSPHRASE);
    copy.assert_password("prod", &password);
}

#[test]
fn agent_restart_is_fast_and_a_new_agent_answers() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let old = sb.agent_pid();
    agent_verb_ends_quickly(&sb, "restart", old);

    let new = sb.agent_pid();
    assert_ne!(new, old, "`agent restart` left the old agent serving");
    assert_eq!(sb.agent_pids(), [new], "one agent after the restart");
    // A passphrase vault comes back locked in a new agent.
    assert_eq!(sb.state(), "locked");
    sb.unlock_passphrase(PASSPHRASE);
    sb.assert_password("prod", &password);
}

/// Commands that find no agent each start one; one of them starts it and
/// the others use it (before, the losers exited 6 with "another
/// dbcreds-agent already serves"). Three rounds of 30 at once.
#[test]
fn parallel_commands_with_no_agent_start_one_and_all_use_it() {
    let (sb, agent) = Sandbox::with_passphrase_file_agent();
    let password = sb.add_unique("prod");
    agent.kill_9();
    for round in 0..3 {
        let outs = run_parallel((0..30).map(|_| sb.cli_command(&["get", "prod"])).collect());
        for (out, _) in &outs {
            out.ok();
            assert_eq!(out.stdout, format!("{password}\n"), "round {round}: {out}");
        }
        let pids = sb.agent_pids();
        assert_eq!(
            pids.len(),
            1,
            "round {round}: one agent for the vault, got {pids:?}"
        );
        kill_9(pids[0]);
    }
}

/// Issue 9.9: the autostarted agent kept its starter's descriptors, so a
/// caller reading a pipe the CLI had (here its stderr, also as fd 3 as a
/// shell's `3>&2` leaves it) waited for the agent too. The pipe must reach
/// end of file when the CLI exits, with the agent still running.
#[test]
fn the_autostarted_agent_keeps_none_of_the_callers_pipes() {
    let sb = Sandbox::new();
    assert!(sb.agent_pids().is_empty());
    let mut cmd = sb.command("sh");
    cmd.arg("-c")
        .arg(r#"exec "$0" agent start 3>&2"#)
        .arg(bin("dbcreds"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut cli = cmd.spawn().expect("spawn dbcreds agent start");
    let stderr = dbcreds_tests::lines(cli.stderr.take().expect("piped stderr"));
    let started = Instant::now();
    let status = cli.wait().expect("wait for dbcreds agent start");
    // No vault yet: `agent start` starts one anyway (as `init` does), and
    // the CLI exits.
    assert_eq!(status.code(), Some(exit::OK), "{status}");
    let mut said = Vec::new();
    let eof = loop {
        match stderr.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => said.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break true,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break false,
        }
    };
    eprintln!(
        "the caller's pipe reached end of file: {eof}, {:?} after the CLI started; it said {said:?}",
        started.elapsed()
    );
    assert!(
        eof,
        "the pipe stayed open after the CLI exited (the agent holds it): {said:?}\n{}",
        sb.logs()
    );
    assert!(
        said.iter().any(|l| l.contains("Started the agent")),
        "the CLI's own message came through: {said:?}"
    );
    let agents = sb.agent_pids();
    assert_eq!(agents.len(), 1, "the autostarted agent must keep running");
    assert_eq!(sb.agent_pid(), agents[0]);
}

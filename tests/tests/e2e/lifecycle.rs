//! The agent as a login service: autostart, stale sockets, systemd socket
//! activation, `--print-env`, lock timers, signals, and the packaged units.

use std::os::unix::fs::FileTypeExt;
use std::process::Stdio;
use std::time::Duration;

use dbcreds_tests::*;

#[test]
fn get_with_no_agent_running_starts_one() {
    let sb = Sandbox::new();
    sb.init_passphrase("pass phrase");
    let pw = sb.add_unique("prod");
    // Stop the agent `init` started; the next `get` must start a new one.
    terminate(sb.agent_pid());
    assert!(!sb.socket().exists(), "SIGTERM must remove the socket");
    let out = sb.cli(&["get", "prod"]);
    // A passphrase vault comes back locked: the autostarted agent answered.
    out.fails(exit::LOCKED, &["locked", "dbcreds unlock"]);
    sb.unlock_passphrase("pass phrase");
    sb.assert_password("prod", &pw);
}

#[test]
fn sigkill_leaves_a_stale_socket_that_the_next_agent_cleans_up() {
    let sb = Sandbox::with_passphrase_vault();
    let pid = sb.agent_pid();
    kill_9(pid);
    assert!(wait_for_exit(pid, EXIT_TIMEOUT));
    let meta = std::fs::symlink_metadata(sb.socket()).expect("stale socket left behind");
    assert!(meta.file_type().is_socket());
    let agent = sb.start_agent();
    let status = sb.cli(&["status", "--json"]);
    status.ok();
    assert_eq!(status.json()["pid"].as_u64(), Some(u64::from(agent.pid())));
}

#[test]
fn a_second_agent_exits_with_a_clear_message_and_the_first_keeps_serving() {
    let sb = Sandbox::new();
    let first = sb.start_agent();
    let failure = match sb.try_start_agent() {
        Ok(_) => panic!("a second agent must not start on the same socket"),
        Err(f) => f,
    };
    let text = failure.to_string();
    assert!(text.contains("already serves"), "{text}");
    assert!(
        text.contains(&first.pid().to_string()),
        "names the running agent's pid: {text}"
    );
    sb.cli(&["status"]).ok();
}

#[test]
fn socket_activation_serves_the_first_get_through_the_inherited_socket() {
    let sb = Sandbox::new();
    let socket = sb.socket();
    std::fs::create_dir_all(sb.home()).unwrap();
    let mut cmd = sb.command("systemd-socket-activate");
    cmd.arg("-l").arg(&socket);
    // The activator passes on only the variables named with -E.
    for (k, _) in sb.env() {
        cmd.arg("-E").arg(k);
    }
    cmd.arg(bin("dbcreds-agent"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut activator = cmd
        .spawn()
        .expect("systemd-socket-activate (Debian package systemd)");
    // systemd-socket-activate prints "Listening on ..." once the socket is bound.
    // Keep draining its stderr afterwards: a closed pipe would kill it with
    // SIGPIPE at its next message.
    let stderr = activator.stderr.take().expect("stderr");
    let line = first_line(stderr, READY_TIMEOUT).expect("systemd-socket-activate said nothing");
    let line = format!("{line:?}");
    assert!(
        line.contains("Listening"),
        "systemd-socket-activate said: {line}"
    );
    // No agent runs yet: the first connection makes the activator exec it.
    let mut pass = sb.command(bin("dbcreds"));
    pass.args(["status", "--json"])
        .env("DBCREDS_AGENT_BIN", "/nonexistent");
    let out = run(pass, None);
    out.ok();
    assert_eq!(
        out.json()["pid"].as_u64(),
        Some(u64::from(activator.id())),
        "the agent is the activated process"
    );
    sb.init_passphrase("pp");
    let pw = sb.add_unique("prod");
    sb.assert_password("prod", &pw);
    terminate(activator.id());
    let _ = activator.wait();
}

#[test]
fn print_env_starts_an_agent_and_prints_shell_lines() {
    let sb = Sandbox::new();
    let mut cmd = sb.command(bin("dbcreds-agent"));
    cmd.arg("--print-env").arg("--socket").arg(sb.socket());
    let out = run(cmd, None);
    out.ok();
    let sock = sb.socket().display().to_string();
    assert!(
        out.stdout
            .contains(&format!("DBCREDS_SOCK='{sock}'; export DBCREDS_SOCK;")),
        "{out}"
    );
    let pid = sb.agent_pid();
    assert!(
        out.stdout.contains(&format!(
            "DBCREDS_AGENT_PID={pid}; export DBCREDS_AGENT_PID;"
        )),
        "{out}"
    );
    // A second call finds the running agent and starts nothing new.
    let mut cmd = sb.command(bin("dbcreds-agent"));
    cmd.args(["--print-env", "fish"]);
    let fish = run(cmd, None);
    fish.ok();
    assert!(
        fish.stdout
            .contains(&format!("set -gx DBCREDS_AGENT_PID {pid};")),
        "{fish}"
    );
}

/// Issue 10.13: `dbcreds agent --print-env` does what the agent's own
/// `--print-env` does, and the lines work in `eval`.
#[test]
fn dbcreds_agent_print_env_starts_an_agent_and_prints_shell_lines() {
    let sb = Sandbox::new();
    let out = sb.cli(&["agent", "--print-env"]);
    out.ok();
    let sock = sb.socket().display().to_string();
    let pid = sb.agent_pid();
    assert_eq!(
        out.stdout,
        format!(
            "DBCREDS_SOCK='{sock}'; export DBCREDS_SOCK;\nDBCREDS_AGENT_PID={pid}; export DBCREDS_AGENT_PID;\necho Agent pid {pid};\n"
        ),
        "{out}"
    );
    let mut cmd = sb.command("sh");
    cmd.args(["-c", "eval \"$(\"$0\" agent --print-env)\" >/dev/null; echo \"$DBCREDS_SOCK $DBCREDS_AGENT_PID\""])
        .arg(bin("dbcreds"));
    let evaled = run(cmd, None);
    evaled.ok();
    assert_eq!(evaled.line(), format!("{sock} {pid}"), "{evaled}");
    let csh = sb.cli(&["agent", "--print-env", "csh"]);
    csh.ok();
    assert!(
        csh.stdout
            .contains(&format!("setenv DBCREDS_AGENT_PID {pid};")),
        "{csh}"
    );
    sb.cli(&["agent", "--print-env", "tcsh"]).code(exit::USAGE);
}

#[test]
fn lock_after_locks_an_idle_agent() {
    // The variable the config documents; `--lock-after 2s` is the same knob.
    let sb = Sandbox::new().with_env("DBCREDS_LOCK_AFTER", "2s");
    let _agent = sb.start_agent();
    sb.init_passphrase("pp");
    let pw = sb.add_unique("prod");
    sb.assert_password("prod", &pw);
    let status = sb.cli(&["status", "--json"]);
    status.ok();
    let left = status.json()["idle_lock_in_secs"]
        .as_i64()
        .expect("status shows time left");
    assert!((0..=2).contains(&left), "{status}");
    // The requirement is about wall-clock idleness: wait it out for real.
    std::thread::sleep(Duration::from_secs(3));
    sb.cli(&["get", "prod"]).fails(exit::LOCKED, &["locked"]);
}

#[test]
fn sigusr1_locks_and_sigterm_exits_zero_and_removes_the_socket() {
    let sb = Sandbox::new();
    let agent = sb.start_agent();
    sb.init_passphrase("pp");
    sb.add_unique("prod");
    signal(agent.pid(), rustix::process::Signal::USR1);
    // The signal is handled asynchronously: ask until the state says so.
    let mut locked = false;
    for _ in 0..200 {
        let s = sb.cli(&["status", "--json"]);
        if s.json()["state"].as_str() == Some("locked") {
            locked = true;
            break;
        }
    }
    assert!(locked, "SIGUSR1 must lock the vault");
    sb.cli(&["get", "prod"]).fails(exit::LOCKED, &["locked"]);
    let status = agent.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    assert!(!sb.socket().exists(), "the socket is removed on exit");
}

#[test]
fn systemd_units_verify() {
    let sb = Sandbox::new();
    let home = sb.root().join("home");
    let bin_dir = home.join(".cargo/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(bin("dbcreds-agent"), bin_dir.join("dbcreds-agent")).unwrap();
    let units = repo_path("packaging/systemd");
    let mut cmd = sb.command("systemd-analyze");
    cmd.args(["verify", "--user"])
        .arg(units.join("dbcreds-agent.socket"))
        .arg(units.join("dbcreds-agent.service"));
    let out = run(cmd, None);
    out.ok();
    assert!(
        out.all().trim().is_empty(),
        "systemd-analyze found problems:\n{out}"
    );
}

#[test]
fn man_pages_and_completions_are_generated_from_the_cli_definitions() {
    let sb = Sandbox::new();
    let out_dir = sb.root().join("docs");
    sb.cli(&["generate-docs", out_dir.to_str().unwrap()]).ok();
    let man = std::fs::read_to_string(out_dir.join("man/dbcreds-get.1")).expect("man page for get");
    assert!(
        man.contains(".TH") && man.contains("require\\-fresh"),
        "{man}"
    );
    let mut bash = sb.command("bash");
    bash.arg("-c").arg(format!(
        "source {} && complete -p dbcreds",
        out_dir.join("completions/dbcreds.bash").display()
    ));
    let out = run(bash, None);
    out.ok();
    assert!(out.stdout.contains("dbcreds"), "{out}");
    for f in ["_dbcreds", "dbcreds.fish"] {
        let text = std::fs::read_to_string(out_dir.join("completions").join(f)).unwrap();
        assert!(text.contains("unlock"), "{f} lacks subcommands");
    }
}

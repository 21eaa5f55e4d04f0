//! An agent that does not answer costs seconds, not forever (issue 9.5):
//! a real agent stopped with SIGSTOP, and a socket whose listener accepts
//! and never answers (or hangs up mid-request). Every command ends with
//! the agent-unreachable code and names the agent's pid; `agent stop`
//! kills a stopped agent after its grace period, and refuses to signal
//! what is not an agent. A long-lived client survives an agent restart.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dbcreds_tests::*;

/// How long a command may take against an agent that does not answer:
/// the client gives up after 1 s of silence plus 3 s for a ping (about 4 s;
/// the bound leaves room for debug builds on busy machines).
const ANSWER_BOUND: Duration = Duration::from_secs(10);
/// `agent stop` of a stopped agent: the same wait, then SIGTERM and a 3 s
/// grace period, then SIGKILL.
const STOP_BOUND: Duration = Duration::from_secs(15);

/// Runs `dbcreds ARGS...` and how long it took.
fn timed(sb: &Sandbox, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = sb.cli(args);
    (out, started.elapsed())
}

#[track_caller]
fn within(what: &str, took: Duration, bound: Duration, out: &Output) {
    assert!(
        took < bound,
        "{what} took {took:?}, more than {bound:?}:\n{out}"
    );
}

/// Before: `get`, `status`, `list`, `doctor` and `agent stop` of a stopped
/// agent hung until the harness killed them (90 s).
#[test]
fn a_stopped_agent_fails_every_command_within_seconds() {
    let sb = Sandbox::new();
    let mut agent = sb.start_agent();
    sb.init_passphrase(PASSPHRASE);
    let password = sb.add_unique("prod");
    let pid = agent.pid();
    let stopped = Stopped::new(pid);

    let runs = run_parallel(
        [&["get", "prod"][..], &["status"], &["list"], &["doctor"]]
            .iter()
            .map(|args| sb.cli_command(args))
            .collect(),
    );
    let took: Vec<Duration> = runs.iter().map(|(_, t)| *t).collect();
    eprintln!("get, status, list, doctor of a stopped agent ended after {took:?}");
    for (out, took) in &runs[..3] {
        out.fails(
            exit::AGENT_UNREACHABLE,
            &[
                &format!("pid {pid}"),
                "did not answer",
                "dbcreds agent stop",
            ],
        );
        assert!(!out.all().contains(&password), "{out}");
        within(&out.command, *took, ANSWER_BOUND, out);
    }
    let (doctor, doctor_took) = &runs[3];
    doctor.code(exit::OTHER);
    assert!(
        doctor.stdout.contains("did not answer"),
        "doctor must report the agent that does not answer:\n{doctor}"
    );
    within("doctor", *doctor_took, ANSWER_BOUND, doctor);

    let (out, took) = timed(&sb, &["agent", "stop"]);
    eprintln!("`agent stop` of a stopped agent took {took:?}");
    out.ok();
    assert!(
        out.stderr.contains("SIGKILL") && out.stderr.contains(&pid.to_string()),
        "`agent stop` must say it killed pid {pid}:\n{out}"
    );
    within("agent stop", took, STOP_BOUND, &out);
    drop(stopped);
    assert!(!agent.is_running(), "the stopped agent is still there");

    // And the next command starts a fresh agent, which serves the vault.
    sb.unlock_passphrase(PASSPHRASE);
    sb.assert_password("prod", &password);
}

/// Before: a listener that accepts and never answers kept `get` and
/// `status` waiting forever; `agent stop` too.
#[test]
fn a_socket_that_never_answers_is_not_waited_on() {
    let sb = Sandbox::new();
    let _silent = SilentSocket::bind(&sb.socket(), Silence::Hold);
    let me = std::process::id();

    for args in [&["get", "prod"][..], &["status"], &["get", "prod", "host"]] {
        let (out, took) = timed(&sb, args);
        eprintln!("`{}` on a silent socket took {took:?}", args.join(" "));
        out.fails(
            exit::AGENT_UNREACHABLE,
            &[&format!("pid {me}"), "did not answer"],
        );
        within(&out.command, took, ANSWER_BOUND, &out);
    }

    // The process behind the socket (this test) is no agent: `agent stop`
    // must not signal it (the test would not live to assert otherwise).
    let (out, took) = timed(&sb, &["agent", "stop"]);
    eprintln!("`agent stop` on a silent socket took {took:?}");
    out.fails(
        exit::AGENT_UNREACHABLE,
        &["not a dbcreds-agent", &format!("pid {me}")],
    );
    within("agent stop", took, ANSWER_BOUND, &out);
}

/// Before: a connection that broke during the request ended `get` with
/// exit code 1 ("h2 protocol error").
#[test]
fn a_connection_cut_mid_request_is_agent_unreachable() {
    let sb = Sandbox::new();
    let _silent = SilentSocket::bind(&sb.socket(), Silence::HangUpAfterRequest);
    let (out, took) = timed(&sb, &["get", "prod"]);
    eprintln!("`get` on a connection cut mid-request took {took:?}");
    out.fails(exit::AGENT_UNREACHABLE, &["broke during the request"]);
    within("get", took, ANSWER_BOUND, &out);
}

/// Before: the second `get` of one `blocking::Client` failed once the
/// agent it had connected to was replaced (the connection was dead).
#[test]
fn a_long_lived_client_survives_an_agent_restart() {
    let (sb, agent) = Sandbox::with_passphrase_file_agent();
    sb.add_postgres("prod", "db.internal", &unique_password());
    let first_pid = agent.pid();

    let mut cmd = sb.command(example("long_lived"));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut app = cmd.spawn().expect("spawn the long_lived example");
    let mut stdin = app.stdin.take().expect("piped stdin");
    let answers = lines(app.stdout.take().expect("piped stdout"));
    let mut ask = |name: &str| {
        writeln!(stdin, "{name}").expect("write to the example");
        stdin.flush().expect("flush");
        answers
            .recv_timeout(COMMAND_TIMEOUT)
            .expect("the example answered")
    };

    let before = ask("prod");
    assert!(
        before.starts_with("prod: postgresql://app@db.internal:5432/app"),
        "{before}"
    );

    let status = agent.terminate();
    assert!(status.success(), "{status}");
    let _second = sb.start_agent();
    assert_ne!(sb.agent_pid(), first_pid);

    let after = ask("prod");
    eprintln!("one blocking client, before and after an agent restart: {before:?} / {after:?}");
    assert_eq!(after, before, "the client must redial the new agent");
    let _ = app.kill();
    let _ = app.wait();
}

//! Production guardrails (docs/security.md), end to end: a real agent asks
//! a real askpass program (tests/support/askpass.sh: the interface
//! `ssh-add -c` uses; only the person is scripted), `dbcreds approve`
//! answers from another terminal (util-linux `script` gives it one), and
//! the allow list is checked against the real `psql` and `python3`
//! binaries. This file: the helpers and the confirmations themselves.

mod allow;
mod approve;
mod guarded;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dbcreds_tests::{EnvSpec, Output, PASSPHRASE, Sandbox, bin, example, exit, run, support};

/// The askpass program of a sandbox: what it answers, and what it was asked.
pub struct Askpass {
    answer: PathBuf,
    log: PathBuf,
}

impl Askpass {
    /// Points the sandbox's agent (started afterwards) at the askpass
    /// script, answering `answer`.
    pub fn install(sb: &mut Sandbox, answer: &str) -> Self {
        let ask = Askpass {
            answer: sb.root().join("askpass-answer"),
            log: sb.root().join("askpass-log"),
        };
        ask.answer(answer);
        sb.set_env("DBCREDS_ASKPASS", support("askpass.sh").as_os_str());
        sb.set_env("DBCREDS_TEST_ASKPASS_ANSWER", ask.answer.as_os_str());
        sb.set_env("DBCREDS_TEST_ASKPASS_LOG", ask.log.as_os_str());
        ask
    }

    /// What the next questions get: `yes`, `no` or `hang`.
    pub fn answer(&self, answer: &str) {
        fs::write(&self.answer, answer).expect("write the askpass answer");
    }

    /// Every question asked so far, as the program saw it (its argv and
    /// SSH_ASKPASS_PROMPT).
    pub fn questions(&self) -> Vec<String> {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        text.split("--- end of question\n")
            .filter(|q| !q.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A passphrase vault whose agent asks through the askpass script, with
/// the production environment `prod` (its password returned).
pub fn guarded_sandbox(answer: &str) -> (Sandbox, Askpass, String) {
    let mut sb = Sandbox::new();
    let ask = Askpass::install(&mut sb, answer);
    sb.init_passphrase(PASSPHRASE);
    let password = dbcreds_tests::unique_password();
    sb.add(
        &EnvSpec::postgres("prod", "db.internal")
            .production()
            .password(&password),
    )
    .ok();
    (sb, ask, password)
}

/// Polls `done` until it holds, for at most `limit`; panics with `what`.
pub fn eventually(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The decisions of the audit log (`audit --decisions --json`).
pub fn decisions(sb: &Sandbox) -> Vec<serde_json::Value> {
    sb.json(&["audit", "--decisions"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Asserts a refusal after a wait for a confirmation: exit 13, nothing on
/// stdout, and on stderr at most the one "waiting for approval" line, then
/// one `dbcreds: ` line naming each of `words`.
#[track_caller]
pub fn refused(out: &Output, words: &[&str]) {
    out.code(exit::PERMISSION_DENIED);
    assert_eq!(out.stdout, "", "a refusal prints nothing on stdout:\n{out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    let (last, before) = lines.split_last().expect("an error line");
    assert!(
        before.len() <= 1 && before.iter().all(|l| l.contains("waiting for approval of")),
        "only the wait is said before the error:\n{out}"
    );
    assert!(last.starts_with("dbcreds: "), "{out}");
    let line = last.to_lowercase();
    for w in words {
        assert!(
            line.contains(&w.to_lowercase()),
            "the error should mention {w:?}:\n{out}"
        );
    }
}

#[track_caller]
fn assert_waited_once(out: &Output) {
    let notes = out.stderr.matches("waiting for approval of 'prod'").count();
    assert_eq!(notes, 1, "the wait is said once on stderr:\n{out}");
}

#[test]
fn confirm_always_asks_at_every_reveal_and_a_refusal_reveals_nothing() {
    let (sb, ask, password) = guarded_sandbox("yes");
    sb.cli(&["policy", "set", "prod", "--confirm", "always"])
        .ok();
    assert_eq!(ask.questions().len(), 0, "tightening a policy asks nobody");

    for i in 1..=2 {
        let out = sb.cli(&["get", "prod"]);
        out.ok();
        assert_eq!(out.stdout, format!("{password}\n"), "{out}");
        assert_waited_once(&out);
        assert_eq!(ask.questions().len(), i, "asked at every reveal");
    }
    // Every kind of reveal asks: a URI, an export, an exec.
    sb.cli(&["get", "prod", "uri"]).ok();
    sb.cli(&["export", "prod", "--format", "env"]).ok();
    assert_eq!(ask.questions().len(), 4);
    // Fields without the secret ask nothing.
    sb.cli(&["get", "prod", "host"]).ok();
    sb.cli(&["show", "prod"]).ok();
    assert_eq!(ask.questions().len(), 4);

    let q = &ask.questions()[0];
    let cli = bin("dbcreds");
    assert!(q.contains("read the password of 'prod'"), "{q}");
    assert!(q.contains(&format!("allow {} (pid ", cli.display())), "{q}");
    assert!(q.contains("get prod"), "the command line is shown:\n{q}");
    assert!(q.contains("SSH_ASKPASS_PROMPT=confirm"), "{q}");

    ask.answer("no");
    let out = sb.cli(&["get", "prod"]);
    refused(&out, &["refused", "askpass"]);
    assert!(!out.all().contains(&password), "{out}");
    let exec = sb.cli(&["exec", "prod", "--", "sh", "-c", "echo ran"]);
    refused(&exec, &["refused"]);

    let d = decisions(&sb);
    let by = format!("askpass {}", support("askpass.sh").display());
    let approved = d.iter().filter(|e| e["outcome"] == "approved").count();
    let refused: Vec<_> = d.iter().filter(|e| e["outcome"] == "refused").collect();
    assert_eq!(approved, 4, "{d:#?}");
    assert_eq!(refused.len(), 2, "{d:#?}");
    for e in d.iter().filter(|e| e["environment"] == "prod") {
        assert_eq!(e["decision"]["by"], by.as_str(), "{e}");
        assert_eq!(e["client_exe"], cli.display().to_string(), "{e}");
        assert!(
            e["decision"]["valid_secs"].is_null(),
            "`always` holds for one request: {e}"
        );
    }
    // The library's typed error: an application matches it.
    let out = run(sb.command(example("get")), None);
    assert_eq!(out.code, Some(13), "{out}");
    assert!(out.stderr.contains("not approved"), "{out}");
}

#[test]
fn once_per_session_asks_once_then_again_from_another_session_and_after_approve_for() {
    let (sb, ask, password) = guarded_sandbox("yes");
    sb.cli(&[
        "policy",
        "set",
        "prod",
        "--confirm",
        "once-per-session",
        "--approve-for",
        "10m",
    ])
    .ok();
    for _ in 0..3 {
        sb.assert_password("prod", &password);
    }
    assert_eq!(ask.questions().len(), 1, "one question for this session");
    assert!(
        ask.questions()[0].contains("do it for 10m"),
        "{:?}",
        ask.questions()
    );

    // `setsid`: another session, another question; then it is approved too.
    let cli = bin("dbcreds").display().to_string();
    let mut cmd = sb.command("setsid");
    cmd.args(["-w", "sh", "-c", r#""$0" get prod && "$0" get prod"#, &cli]);
    let out = run(cmd, None);
    out.ok();
    assert_eq!(out.stdout, format!("{password}\n{password}\n"), "{out}");
    assert_eq!(ask.questions().len(), 2, "one more for the new session");
    // The first session's approval still holds.
    sb.assert_password("prod", &password);
    assert_eq!(ask.questions().len(), 2);

    let d = decisions(&sb);
    let sessions: Vec<&str> = d
        .iter()
        .filter(|e| e["environment"] == "prod")
        .map(|e| e["decision"]["session"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(sessions.len(), 2, "{d:#?}");
    assert_ne!(sessions[0], sessions[1], "two sessions: {d:#?}");
    assert!(
        d.iter().all(|e| e["decision"]["valid_secs"] == 600),
        "{d:#?}"
    );

    // A short approval runs out: asked again, bounded, without a fixed sleep.
    sb.cli(&["policy", "set", "prod", "--approve-for", "1s"])
        .ok();
    sb.assert_password("prod", &password);
    let asked = ask.questions().len();
    eventually(
        "an expired session approval asks again",
        Duration::from_secs(30),
        || {
            sb.assert_password("prod", &password);
            ask.questions().len() > asked
        },
    );
}

#[test]
fn no_answer_in_time_is_a_refusal_and_the_dialog_goes_away() {
    let (mut sb, ask, password) = guarded_sandbox("hang");
    sb.cli(&["policy", "set", "prod", "--confirm", "always"])
        .ok();
    // Read by the agent at its start: restart it with a short timeout.
    sb.cli(&["agent", "stop"]).ok();
    sb.set_env("DBCREDS_APPROVAL_TIMEOUT", "2s");
    sb.set_env("DBCREDS_PASSPHRASE_FILE", passphrase_file(&sb).as_os_str());
    let started = Instant::now();
    let out = sb.cli(&["get", "prod"]);
    refused(&out, &["nobody approved", "within 2s"]);
    assert!(!out.all().contains(&password), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "bounded by the timeout"
    );
    assert_eq!(ask.questions().len(), 1);
    let d = decisions(&sb);
    assert!(d.iter().any(|e| e["outcome"] == "timed_out"), "{d:#?}");
    // The hung askpass (now `sleep 600`) was killed with its request.
    eventually(
        "the askpass program is gone",
        Duration::from_secs(20),
        || {
            !sb.processes().iter().any(|pid| {
                fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.starts_with(b"sleep\x00600"))
            })
        },
    );
}

/// A file holding [`PASSPHRASE`], so an agent restarted by a test unlocks.
pub fn passphrase_file(sb: &Sandbox) -> PathBuf {
    let file = sb.root().join("passphrase");
    fs::write(&file, PASSPHRASE).expect("write passphrase file");
    file
}

//! `dbcreds approve`, where no askpass program is set: it lists who waits
//! for what, answers from another terminal, and nothing else may answer:
//! not the requester's own session, not a `setsid`'d script without a
//! terminal, not another program through the API.

use std::process::{Child, Stdio};
use std::time::Duration;

use dbcreds_tests::{EnvSpec, Output, PASSPHRASE, Sandbox, bin, exit, repo_path, run, support};

use super::{Askpass, decisions, eventually, refused};

/// A vault without an askpass program (the sandbox clears SSH_ASKPASS
/// too), `prod` under `confirm = always`.
fn approve_sandbox() -> (Sandbox, String) {
    let sb = Sandbox::new().with_env("DBCREDS_APPROVAL_TIMEOUT", "60s");
    sb.init_passphrase(PASSPHRASE);
    let password = dbcreds_tests::unique_password();
    sb.add(
        &EnvSpec::postgres("prod", "db.internal")
            .production()
            .password(&password),
    )
    .ok();
    sb.cli(&["policy", "set", "prod", "--confirm", "always"])
        .ok();
    (sb, password)
}

/// `dbcreds get prod`, started and left waiting.
fn waiting_get(sb: &Sandbox) -> Child {
    let mut cmd = sb.cli_command(&["get", "prod"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawn dbcreds get")
}

fn finish(child: Child) -> Output {
    let out = child.wait_with_output().expect("wait for dbcreds get");
    Output {
        command: "dbcreds get prod".into(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The one pending request, once it is there.
fn pending(sb: &Sandbox) -> serde_json::Value {
    let mut found = None;
    eventually("the request is pending", Duration::from_secs(30), || {
        let list = sb.json(&["approve"]);
        found = list.as_array().and_then(|a| a.first().cloned());
        found.is_some()
    });
    found.unwrap_or_default()
}

/// `dbcreds approve ARGS` on a terminal of its own (`script` makes a new
/// session with a pty): what a person in another terminal runs.
fn approve_on_a_terminal(sb: &Sandbox, args: &str) -> Output {
    let mut cmd = sb.command("script");
    cmd.args([
        "-q",
        "-e",
        "-c",
        &format!("{} approve {args}", bin("dbcreds").display()),
        "/dev/null",
    ]);
    run(cmd, None)
}

#[test]
fn approve_from_another_terminal_lets_the_request_through() {
    let (sb, password) = approve_sandbox();
    let child = waiting_get(&sb);
    let p = pending(&sb);
    assert_eq!(p["environment"], "prod", "{p}");
    assert_eq!(p["operation"], "get", "{p}");
    assert_eq!(p["client_pid"], child.id(), "{p}");
    assert_eq!(p["client_exe"], bin("dbcreds").display().to_string(), "{p}");
    let cmdline: Vec<&str> = p["client_cmdline"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(&cmdline[1..], ["get", "prod"], "{p}");
    let id = p["id"].to_string();
    let listed = sb.cli(&["approve"]);
    listed.ok();
    assert!(
        listed.stdout.contains(&format!("{id}  get 'prod'")),
        "{listed}"
    );
    assert!(listed.stdout.contains("command: "), "{listed}");

    let answered = approve_on_a_terminal(&sb, &id);
    assert_eq!(answered.code, Some(0), "{answered}");
    let out = finish(child);
    out.ok();
    assert_eq!(out.stdout, format!("{password}\n"), "{out}");
    assert_eq!(
        out.stderr.matches("waiting for approval of 'prod'").count(),
        1,
        "{out}"
    );
    assert!(
        out.stderr.contains(&format!("dbcreds approve {id}")),
        "{out}"
    );
    let d = decisions(&sb);
    let by = d[0]["decision"]["by"].as_str().unwrap_or("");
    assert!(
        by.starts_with("pid ") && by.contains(&bin("dbcreds").display().to_string()),
        "the approving pid and program are recorded: {d:#?}"
    );

    // Refused from the other terminal: nothing on stdout, exit 13.
    let child = waiting_get(&sb);
    let id = pending(&sb)["id"].to_string();
    assert_eq!(
        approve_on_a_terminal(&sb, &format!("--deny {id}")).code,
        Some(0)
    );
    refused(&finish(child), &["refused", "pid "]);
}

#[test]
fn the_requester_cannot_approve_itself() {
    let (sb, password) = approve_sandbox();
    let child = waiting_get(&sb);
    let id = pending(&sb)["id"].to_string();
    // The test runs the requester: this is the requester's own session.
    sb.cli(&["approve", &id])
        .fails(exit::PERMISSION_DENIED, &["same session"]);
    // A new session without a terminal: what a script gets with setsid.
    let mut cmd = sb.command("setsid");
    cmd.arg("-w").arg(bin("dbcreds")).args(["approve", &id]);
    run(cmd, None).fails(exit::PERMISSION_DENIED, &["terminal"]);

    // Another program, through the API: a request of its own, deferred,
    // then its own approval of it.
    let mut py = sb.command("python3");
    py.arg(support("policy_client.py"))
        .arg(repo_path("proto"))
        .arg(sb.socket())
        .args(["self-approve", "prod"]);
    let out = run(py, None);
    out.ok();
    assert!(out.stdout.contains("pending="), "{out}");
    assert!(
        out.stdout
            .contains("answer=PERMISSION_DENIED reason=permission_denied"),
        "{out}"
    );
    assert!(out.stdout.contains("only the dbcreds CLI"), "{out}");
    assert!(out.stdout.contains("still_pending=True"), "{out}");
    assert!(!out.stdout.contains(&password), "{out}");

    // None of that answered the waiting request: it is still pending.
    let listed = sb.json(&["approve"]);
    assert!(
        listed
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p["id"].as_u64() == id.parse().ok())),
        "{listed}"
    );
    assert!(decisions(&sb).is_empty(), "nothing was decided");
    assert_eq!(
        approve_on_a_terminal(&sb, &format!("--deny {id}")).code,
        Some(0)
    );
    refused(&finish(child), &["refused"]);
}

#[test]
fn an_askpass_that_cannot_run_leaves_dbcreds_approve() {
    let mut sb = Sandbox::new().with_env("DBCREDS_APPROVAL_TIMEOUT", "60s");
    let ask = Askpass::install(&mut sb, "yes");
    sb.set_env(
        "DBCREDS_ASKPASS",
        sb.root().join("no-such-askpass").as_os_str(),
    );
    sb.init_passphrase(PASSPHRASE);
    let password = sb.add_unique("prod");
    sb.cli(&["policy", "set", "prod", "--confirm", "always"])
        .ok();
    let child = waiting_get(&sb);
    let id = pending(&sb)["id"].to_string();
    assert_eq!(approve_on_a_terminal(&sb, &id).code, Some(0));
    let out = finish(child);
    out.ok();
    assert_eq!(out.stdout, format!("{password}\n"), "{out}");
    assert!(
        ask.questions().is_empty(),
        "nothing asked through the broken askpass"
    );
}

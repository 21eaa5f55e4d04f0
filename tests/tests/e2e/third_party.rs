//! The proto is the contract: a Python grpcio client, compiled from
//! `proto/dbcreds/v1/agent.proto` alone, talks to the agent over `unix://`
//! with grpc-core's defaults (issue 10.12: no `grpc.default_authority`
//! needed), with the raw socket path as authority (grpc-java's and
//! grpcurl's way), and with a plain host name.

use dbcreds_tests::*;

/// Runs the Python client against `sb` for `name` with `authority` and
/// `purpose` (see tests/support/python_client.py).
fn python(sb: &Sandbox, name: &str, authority: &str, purpose: Option<&str>) -> Output {
    let mut cmd = sb.command("python3");
    cmd.arg(support("python_client.py"))
        .arg(repo_path("proto"))
        .arg(sb.socket())
        .arg(name)
        .arg(authority);
    if let Some(p) = purpose {
        cmd.arg(p);
    }
    let out = run(cmd, None);
    out.ok();
    out
}

#[test]
fn python_grpcio_reads_status_and_get_and_the_reason_metadata() {
    let sb = Sandbox::with_passphrase_vault();
    let pw = sb.add_unique("prod");
    // This build's protocol, as the CLI reports its own.
    let protocol = sb.json(&["status"])["client_protocol"].clone();
    let socket = sb.socket().display().to_string();
    for authority in ["default", socket.as_str(), "localhost"] {
        let out = python(&sb, "prod", authority, None);
        assert!(
            out.stdout.contains(&format!("protocol={protocol}")),
            "authority {authority}: {out}"
        );
        assert!(
            out.stdout.contains(&format!("password={pw}")),
            "authority {authority}: {out}"
        );
    }
    let missing = python(&sb, "nosuch", "default", None);
    assert!(
        missing.stdout.contains("error=NOT_FOUND reason=not_found"),
        "{missing}"
    );
    // Issue 10.13: a client that does not say why it reads a password is
    // recorded as `get`; one that says records that; an unknown purpose is
    // refused before anything is revealed.
    python(&sb, "prod", "default", Some("exec"));
    let bogus = python(&sb, "prod", "default", Some("steal"));
    assert!(bogus.stdout.contains("error=INVALID_ARGUMENT"), "{bogus}");
    assert!(!bogus.stdout.contains(&pw), "{bogus}");
    let events = sb.audit_events("prod");
    let ops: Vec<&str> = events
        .iter()
        .filter_map(|e| e["operation"].as_str())
        .collect();
    assert_eq!(ops.iter().filter(|o| **o == "get").count(), 3, "{ops:?}");
    assert_eq!(ops.iter().filter(|o| **o == "exec").count(), 1, "{ops:?}");
    assert!(!ops.contains(&"steal"), "{ops:?}");
}

//! The proto is the contract: a Python grpcio client, compiled from
//! `proto/dbcreds/v1/agent.proto` alone, talks to the agent over `unix://`.

use dbcreds_tests::*;

#[test]
fn python_grpcio_reads_status_and_get_and_the_reason_metadata() {
    let sb = Sandbox::with_passphrase_vault();
    let pw = sb.add_unique("prod");
    let proto = repo_path("proto");
    let client = |name: &str| {
        let mut cmd = sb.command("python3");
        cmd.arg(support("python_client.py"))
            .arg(&proto)
            .arg(sb.socket())
            .arg(name);
        let out = run(cmd, None);
        out.ok();
        out
    };
    let out = client("prod");
    // This build's protocol, as the CLI reports its own.
    let protocol = sb.json(&["status"])["client_protocol"].clone();
    assert!(
        out.stdout.contains(&format!("protocol={protocol}")),
        "{out}"
    );
    assert!(out.stdout.contains(&format!("password={pw}")), "{out}");
    let missing = client("nosuch");
    assert!(
        missing.stdout.contains("error=NOT_FOUND reason=not_found"),
        "{missing}"
    );
}

//! Sources end to end (issue 11, docs/team.md): the real agent and CLI
//! against real peers — OpenBao in dev mode with its database engine on the
//! machine's PostgreSQL, moto_server for AWS Secrets Manager, a throwaway
//! `pass` store, password commands. Each test starts its own peers.

use std::path::Path;

use dbcreds_tests::{Sandbox, assert_no_file_holds, contains_bytes, read_or_empty};

#[path = "../../../../sources/tests/support/peers.rs"]
mod peers;

mod aws;
mod local;
mod openbao;

pub use peers::{Bao, Postgres, peers_venv};

/// A sandbox whose agent logs at trace level (every secret-leak search
/// covers the chattiest log), with a passphrase vault, and `vars` in the
/// agent's environment (set before it starts).
pub fn sandbox(vars: &[(&str, &str)]) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set_env(
        "DBCREDS_LOG",
        std::env::var("DBCREDS_TEST_AGENT_LOG").unwrap_or_else(|_| "trace".into()),
    );
    for (k, v) in vars {
        sb.set_env(k, *v);
    }
    sb.init_passphrase(dbcreds_tests::PASSPHRASE);
    sb
}

/// `dbcreds source add NAME` for an OpenBao dev server, logged in with
/// `token`.
pub fn add_bao_source(sb: &Sandbox, name: &str, bao: &Bao, token: &str) {
    sb.cli_stdin(
        &[
            "source",
            "add",
            name,
            "--kind",
            "openbao",
            "--address",
            &bao.address(),
            "--login-stdin",
        ],
        token,
    )
    .ok();
}

/// The vault and its WAL/SHM files, concatenated.
fn vault_bytes(sb: &Sandbox) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = sb.vault().into_os_string();
        p.push(suffix);
        all.extend(read_or_empty(Path::new(&p)));
    }
    all
}

/// No file of the sandbox (vault, WAL, agent log at trace level) and no
/// non-secret output (`show`, `list`, their `--json`, `status`, `source
/// list`) holds any of `secrets`; `env` names an environment those outputs
/// must show (the positive control).
#[track_caller]
pub fn assert_secrets_nowhere(sb: &Sandbox, env: &str, secrets: &[&str]) {
    for args in [
        &["show", env][..],
        &["show", env, "--json"],
        &["list"],
        &["list", "--json"],
        &["status"],
        &["source", "list", "--json"],
    ] {
        let out = sb.cli(args);
        out.ok();
        for s in secrets {
            assert!(
                !out.all().contains(s),
                "a secret leaked in {args:?}:\n{out}"
            );
        }
        if args[0] != "status" && args[0] != "source" {
            assert!(
                out.stdout.contains(env),
                "{args:?} should name {env}:\n{out}"
            );
        }
    }
    let searched = assert_no_file_holds(sb.root(), secrets);
    assert!(searched.contains(&sb.vault()), "the vault was not searched");
    assert!(
        searched.contains(&sb.agent_log()),
        "the agent log was not searched"
    );
    assert!(
        contains_bytes(&vault_bytes(sb), env.as_bytes()),
        "positive control: the environment's name is in the vault"
    );
    let log = String::from_utf8_lossy(&read_or_empty(&sb.agent_log())).into_owned();
    assert!(log.contains("TRACE"), "the agent log has no trace lines");
}

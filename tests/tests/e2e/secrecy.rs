//! Secrets never land on disk in the clear, in logs, or in outputs that are
//! not meant to reveal them. Every search has a positive control: something
//! that must be found in the same bytes, so a broken search cannot pass.

use std::path::{Path, PathBuf};

use dbcreds_tests::{
    Sandbox, assert_no_file_holds, contains_bytes, password_tail, read_or_empty, terminate, token,
    unique_password,
};

/// The password and the forms it could leak in.
fn forms(password: &str) -> Vec<String> {
    vec![
        password.to_owned(),
        // Percent-encoded, as in a URI.
        password
            .replace('%', "%25")
            .replace('@', "%40")
            .replace(':', "%3A")
            .replace('/', "%2F")
            .replace('?', "%3F")
            .replace('#', "%23"),
        // The random tail alone: unique, and survives any quoting.
        password_tail(password).to_owned(),
    ]
}

/// Asserts that no file under `dir` holds any form of `password`; returns
/// the files searched.
#[track_caller]
fn assert_no_file_holds_a_form(dir: &Path, password: &str) -> Vec<PathBuf> {
    let forms = forms(password);
    let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
    assert_no_file_holds(dir, &forms)
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

#[test]
fn passwords_never_reach_disk_logs_or_non_secret_outputs() {
    let sb = Sandbox::with_keyring_vault();
    let host = format!("host-{}.internal", token());
    let password = unique_password();
    let other_password = unique_password();
    sb.add_postgres("prod", &host, &password);
    sb.add_postgres("other", "other.internal", &other_password);
    // Reveal it, so the agent handles the secret in every code path.
    sb.assert_password("prod", &password);
    sb.cli(&["get", "prod", "uri"]).ok();
    sb.cli(&["export", "prod", "--format", "json"]).ok();
    sb.cli(&["lock"]).ok();
    sb.cli(&["unlock"]).ok();
    sb.assert_password("prod", &password);

    // Outputs that are not for secrets.
    for args in [
        &["show", "prod"][..],
        &["show", "prod", "--json"],
        &["list"],
        &["list", "--json"],
        &["status"],
        &["status", "--json"],
        &["get", "prod", "host"],
    ] {
        let out = sb.cli(args);
        out.ok();
        for form in forms(&password) {
            assert!(!out.all().contains(&form), "leak in {args:?}:\n{out}");
        }
        // Positive control where the output is about prod.
        if args.contains(&"prod") || args.contains(&"list") {
            assert!(
                out.stdout.contains(&host),
                "{args:?} should show the host:\n{out}"
            );
        }
    }

    // While the agent runs (WAL not yet checkpointed) ...
    let searched = assert_no_file_holds_a_form(sb.root(), &password);
    assert!(searched.contains(&sb.vault()), "the vault was not searched");
    let vault = vault_bytes(&sb);
    assert!(
        contains_bytes(&vault, host.as_bytes()),
        "positive control: the host must be stored in plain text in the vault files"
    );
    assert!(contains_bytes(&vault, b"prod"));

    // ... and after a graceful stop, which checkpoints the WAL.
    terminate(sb.agent_pid());
    assert_no_file_holds_a_form(sb.root(), &password);
    assert_no_file_holds_a_form(sb.root(), &other_password);
    assert!(contains_bytes(&vault_bytes(&sb), host.as_bytes()));

    // The agent log exists, has debug lines, and names the environment (the
    // search above covered it).
    let log = read_or_empty(&sb.agent_log());
    assert!(
        !log.is_empty(),
        "the detached agent wrote nothing to {}",
        sb.agent_log().display()
    );
}

#[test]
fn passphrase_never_reaches_disk_or_logs() {
    let sb = Sandbox::new();
    let passphrase = format!("correct horse {}", token());
    let agent = sb.start_agent();
    sb.init_passphrase(&passphrase);
    let password = sb.add_unique("prod");
    sb.cli(&["lock"]).ok();
    sb.unlock_passphrase(&passphrase);
    sb.assert_password("prod", &password);
    agent.terminate();

    assert_no_file_holds(sb.root(), &[&passphrase, &password]);
    assert!(contains_bytes(&vault_bytes(&sb), b"db.internal"));
    assert!(
        !read_or_empty(&sb.agent_stderr_log()).is_empty(),
        "positive control: the agent logged something"
    );
}

//! `allow`: only the executables a policy names get the secret, as the
//! kernel names the caller's (`/proc/PID/exe`) or the program `dbcreds
//! exec` runs, with links resolved: the real `psql` gets in, the real
//! `python3` does not, and neither a link named `psql` nor a copy of
//! python3 does until its own path is allowed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dbcreds_tests::{Output, PgTestRole, Sandbox, bin, exit, repo_path, run, run_args, support};

use super::{Askpass, decisions, passphrase_file};

/// The real python3 binary (the one `python3` on PATH ends up running).
fn real_python() -> PathBuf {
    let out = run_args(
        "python3",
        &[
            "-c",
            "import os, sys; print(os.path.realpath(sys.executable))",
        ],
    );
    out.ok();
    PathBuf::from(out.stdout.trim())
}

/// The grpcio client run by `python`: `Get(name)` over the agent's socket.
fn python_get(sb: &Sandbox, python: &Path, name: &str) -> Output {
    let mut cmd = sb.command(python);
    cmd.arg(support("policy_client.py"))
        .arg(repo_path("proto"))
        .arg(sb.socket())
        .args(["get", name]);
    let out = run(cmd, None);
    out.ok();
    out
}

#[track_caller]
fn assert_refused_to(out: &Output, exe: &Path, secret: &str) {
    assert!(
        out.stdout
            .contains("error=PERMISSION_DENIED reason=permission_denied"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains(&format!("not to {} (pid", exe.display())),
        "the refusal names the resolved executable {}:\n{out}",
        exe.display()
    );
    assert!(!out.all().contains(secret), "{out}");
}

#[test]
fn allow_lets_psql_in_and_keeps_python_out_whatever_it_is_called() {
    let (mut sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "allow_lets_psql_in_and_keeps_python_out_whatever_it_is_called",
        "allow",
        &["prod"]
    ));
    let password = role.password.clone();
    sb.cli(&["policy", "set", "prod", "--allow", "psql"]).ok();
    let psql = fs::canonicalize(run_args("sh", &["-c", "command -v psql"]).stdout.trim())
        .expect("psql resolves");
    let shown = sb.show_json("prod");
    assert_eq!(
        shown["policy"]["allow"],
        serde_json::json!([psql.display().to_string()]),
        "stored resolved: {shown}"
    );

    // psql, through exec: it connects as the role, with the password.
    role.assert_exec_connects(&sb, "prod");
    // The CLI itself is not psql: `get` prints nothing.
    sb.cli(&["get", "prod"]).fails(
        exit::PERMISSION_DENIED,
        &["only to", &bin("dbcreds").display().to_string()],
    );
    let list = sb.cli(&["list"]);
    assert!(list.stdout.contains("1 program"), "{list}");

    // python3, asking the agent itself (the kernel names the interpreter
    // binary), or run by exec (the CLI names what it would run: the first
    // python3 on PATH, resolved; a wrapper script where one is installed).
    let python = real_python();
    assert_refused_to(
        &python_get(&sb, Path::new("python3"), "prod"),
        &python,
        &password,
    );
    let code = "import os; print(os.environ.get('PGPASSWORD'))";
    let on_path = fs::canonicalize(run_args("sh", &["-c", "command -v python3"]).stdout.trim())
        .expect("python3 resolves");
    sb.cli(&["exec", "prod", "--", "python3", "-c", code])
        .fails(exit::PERMISSION_DENIED, &[&on_path.display().to_string()]);

    // A link named psql, first on PATH: the kernel (and exec) see python.
    let links = sb.root().join("links");
    fs::create_dir_all(&links).expect("mkdir");
    let link = links.join("psql");
    std::os::unix::fs::symlink(&python, &link).expect("symlink");
    assert_refused_to(&python_get(&sb, &link, "prod"), &python, &password);
    let mut on_path = sb.cli_command(&["exec", "prod", "--", "psql", "-c", code]);
    let path = format!(
        "{}:{}",
        links.display(),
        dbcreds_tests::path_var().to_string_lossy()
    );
    on_path.env("PATH", path);
    run(on_path, None).fails(exit::PERMISSION_DENIED, &[&python.display().to_string()]);

    // A copy of python3 called psql: its own path, not psql's.
    let copies = sb.root().join("copies");
    fs::create_dir_all(&copies).expect("mkdir");
    let copy = copies.join("psql");
    fs::copy(&python, &copy).expect("copy python3");
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_refused_to(&python_get(&sb, &copy, "prod"), &copy, &password);

    // Allowing the copy by its path lets exactly it in; python3 stays out.
    // A longer list loosens the policy: that needs a confirmation, so the
    // agent comes back with an askpass program.
    sb.cli(&["agent", "stop"]).ok();
    let ask = Askpass::install(&mut sb, "yes");
    sb.set_env("DBCREDS_PASSPHRASE_FILE", passphrase_file(&sb).as_os_str());
    let copy_arg = copy.display().to_string();
    sb.cli(&[
        "policy", "set", "prod", "--allow", "psql", "--allow", &copy_arg,
    ])
    .ok();
    assert!(
        ask.questions()[0].contains("loosen the policy of 'prod'"),
        "{:?}",
        ask.questions()
    );
    let out = python_get(&sb, &copy, "prod");
    assert!(
        out.stdout.contains(&format!("password={password}")),
        "{out}"
    );
    assert_refused_to(
        &python_get(&sb, Path::new("python3"), "prod"),
        &python,
        &password,
    );

    let d = decisions(&sb);
    let refused = d.iter().filter(|e| e["outcome"] == "not_allowed").count();
    assert!(refused >= 6, "every refusal is a decision: {d:#?}");
}

#[test]
fn only_the_dbcreds_cli_may_name_the_program_that_gets_the_secret() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    sb.cli(&["policy", "set", "prod", "--allow", "sh"]).ok();
    // `sh` is allowed, `dbcreds exec prod -- sh` gets it...
    let out = sb.cli(&[
        "exec",
        "prod",
        "--",
        "sh",
        "-c",
        "printf %s \"$PGPASSWORD\"",
    ]);
    out.ok();
    assert_eq!(out.stdout, password, "{out}");
    // ...but python3 naming sh as its "child" gets nothing: the child is
    // only the CLI's word, and only the CLI's is taken.
    let mut cmd = sb.command("python3");
    cmd.arg(support("policy_client.py"))
        .arg(repo_path("proto"))
        .arg(sb.socket())
        .args(["get", "prod", "/bin/sh"]);
    let out = run(cmd, None);
    assert!(out.stdout.contains("error=PERMISSION_DENIED"), "{out}");
    assert!(
        out.stdout.contains("only the dbcreds CLI may name"),
        "{out}"
    );
    assert!(!out.all().contains(&password), "{out}");
}

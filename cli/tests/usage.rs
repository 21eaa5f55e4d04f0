//! The `dbcreds` binary on things that need no agent: argument checking,
//! exit codes, one-line errors, and environments from `DBCREDS_<ENV>_*`
//! variables. Every run points DBCREDS_HOME and DBCREDS_SOCK into a temp
//! directory and DBCREDS_AGENT_BIN at nothing, so no real agent, vault or
//! keyring is touched (or started) whatever happens.

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Run {
    _dir: tempfile::TempDir,
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

fn dbcreds(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbcreds"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("DBCREDS_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .env("DBCREDS_HOME", dir.path().join("home"))
        .env("DBCREDS_SOCK", dir.path().join("nothing-listens.sock"))
        .env("DBCREDS_AGENT_BIN", "/nonexistent/dbcreds-agent")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Run {
        _dir: dir,
        cmd,
        stdin: None,
    }
}

impl Run {
    fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    fn prod_vars(self) -> Self {
        self.env("DBCREDS_PROD_PASSWORD", "p@ss w/rd:'x")
            .env("DBCREDS_PROD_HOST", "db.internal")
            .env("DBCREDS_PROD_DATABASE", "app")
            .env("DBCREDS_PROD_USERNAME", "app")
    }

    fn stdin(mut self, data: &str) -> Self {
        self.stdin = Some(data.as_bytes().to_vec());
        self.cmd.stdin(Stdio::piped());
        self
    }

    fn run(mut self) -> Outcome {
        let mut child = self.cmd.spawn().expect("spawn dbcreds");
        if let Some(data) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            // The command may exit before reading: a broken pipe is fine.
            let _ = pipe.write_all(&data);
        }
        let out = child.wait_with_output().expect("wait for dbcreds");
        Outcome(out)
    }
}

struct Outcome(Output);

impl Outcome {
    fn code(&self) -> i32 {
        self.0.status.code().expect("exit code, not a signal")
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts the exit code, an empty stdout, and exactly one stderr line
    /// of the form `dbcreds: ...`; returns that line.
    fn fails_with(&self, code: i32) -> String {
        let err = self.stderr();
        assert_eq!(self.code(), code, "stderr: {err}");
        assert_eq!(self.stdout(), "", "nothing on stdout on failure");
        assert_eq!(err.lines().count(), 1, "one line on stderr: {err:?}");
        assert!(err.starts_with("dbcreds: "), "{err}");
        assert!(err.ends_with('\n'));
        err
    }
}

#[test]
fn bad_name_is_a_usage_error_naming_the_name() {
    let err = dbcreds(&["get", "Prod DB!"]).run().fails_with(2);
    assert!(err.contains("'Prod DB!'"), "{err}");
    assert!(err.contains("a-z"), "{err}");
}

#[test]
fn unknown_kind_is_a_usage_error() {
    let err = dbcreds(&[
        "add",
        "x",
        "--kind",
        "nosuch",
        "--host",
        "h",
        "--database",
        "d",
        "--user",
        "u",
        "--password-stdin",
    ])
    .stdin("pw\n")
    .run()
    .fails_with(2);
    assert!(err.contains("nosuch"), "{err}");
    assert!(err.contains("postgres"), "{err}");
}

#[test]
fn ports_out_of_range_are_usage_errors() {
    for port in ["0", "70000", "http"] {
        let err = dbcreds(&[
            "add",
            "x",
            "--host",
            "h",
            "--port",
            port,
            "--database",
            "d",
            "--user",
            "u",
            "--password-stdin",
        ])
        .stdin("pw\n")
        .run()
        .fails_with(2);
        assert!(err.contains(&format!("'{port}'")), "{err}");
        assert!(err.contains("1 to 65535"), "{err}");
    }
}

#[test]
fn get_from_variables_prints_exactly_the_password_without_an_agent() {
    let r = dbcreds(&["get", "prod"]).prod_vars().run();
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    assert_eq!(r.stdout(), "p@ss w/rd:'x\n");
    assert_eq!(r.stderr(), "");
}

#[test]
fn get_uri_from_variables_percent_encodes_the_password() {
    let r = dbcreds(&["get", "PROD", "uri"]).prod_vars().run();
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    assert_eq!(
        r.stdout(),
        "postgresql://app:p%40ss%20w%2Frd%3A%27x@db.internal:5432/app\n"
    );
}

#[test]
fn get_other_fields_from_variables() {
    for (field, want) in [
        ("host", "db.internal"),
        ("port", "5432"),
        ("user", "app"),
        ("username", "app"),
        ("database", "app"),
        ("kind", "postgres"),
    ] {
        let r = dbcreds(&["get", "prod", field]).prod_vars().run();
        assert_eq!(r.code(), 0, "{field}: {}", r.stderr());
        assert_eq!(r.stdout(), format!("{want}\n"), "{field}");
    }
}

#[test]
fn a_bad_variable_is_a_usage_error_naming_it() {
    let err = dbcreds(&["get", "prod"])
        .prod_vars()
        .env("DBCREDS_PROD_PORT", "0")
        .run()
        .fails_with(2);
    assert!(err.contains("DBCREDS_PROD_PORT"), "{err}");
}

#[test]
fn export_env_from_variables() {
    let r = dbcreds(&["export", "prod", "--format", "env"])
        .prod_vars()
        .run();
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    let out = r.stdout();
    assert!(
        out.contains("export DBCREDS_PROD_PASSWORD='p@ss w/rd:'\\''x'\n"),
        "{out}"
    );
    assert!(
        out.contains("export DBCREDS_PROD_HOST='db.internal'\n"),
        "{out}"
    );
}

#[test]
fn status_without_an_agent_exits_6_and_starts_none() {
    let err = dbcreds(&["status"]).run().fails_with(6);
    assert!(err.contains("nothing-listens.sock"), "{err}");
    let err = dbcreds(&["agent", "status"]).run().fails_with(6);
    assert!(err.contains("no dbcreds agent answers"), "{err}");
}

#[test]
fn an_agent_that_cannot_start_exits_6() {
    let err = dbcreds(&["agent", "start"]).run().fails_with(6);
    assert!(err.contains("DBCREDS_AGENT_BIN"), "{err}");
}

#[test]
fn without_a_vault_no_agent_is_started_just_to_say_so() {
    // The agent binary is missing here: an attempt to start one would exit 6.
    let err = dbcreds(&["list"]).run().fails_with(12);
    assert!(err.contains("dbcreds init"), "{err}");
}

#[test]
fn remove_without_a_terminal_needs_force() {
    let err = dbcreds(&["remove", "staging"]).run().fails_with(2);
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn add_without_a_terminal_names_the_missing_flags() {
    let err = dbcreds(&["add", "x", "--host", "h"]).run().fails_with(2);
    assert!(err.contains("--database"), "{err}");
    assert!(err.contains("--user"), "{err}");
    assert!(!err.contains("--host"), "{err}");
}

#[test]
fn clap_errors_are_one_line_with_code_2() {
    let err = dbcreds(&["export", "prod"]).run().fails_with(2);
    assert!(err.contains("--format"), "{err}");
    let err = dbcreds(&["frobnicate"]).run().fails_with(2);
    assert!(err.contains("frobnicate"), "{err}");
}

#[test]
fn help_lists_the_exit_codes() {
    let r = dbcreds(&["--help"]).run();
    assert_eq!(r.code(), 0);
    let out = r.stdout();
    assert!(out.contains("Exit codes:"), "{out}");
    assert!(out.contains("11  password expired"), "{out}");
    let r = dbcreds(&["get", "--help"]).run();
    assert_eq!(r.code(), 0);
    assert!(r.stdout().contains("Examples:"));
}

#[test]
fn completions_are_printed() {
    let r = dbcreds(&["completions", "bash"]).run();
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("dbcreds"));
}

//! `exec`/`run --restart-on-change`: a command that logs in to the real
//! PostgreSQL is restarted after `dbcreds rotate` and logs in with the new
//! password; with `--signal USR1` the signal arrives and the pid stays;
//! signals are passed on and the command's exit code is dbcreds'.

use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use dbcreds_tests::{PgTestRole, Sandbox, lines, signal, wait_for_exit};
use rustix::process::Signal;

/// A supervised command whose stdout is read line by line.
struct Supervised {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Supervised {
    fn start(sb: &Sandbox, args: &[&str]) -> Self {
        Self::start_with(sb, args, &[])
    }

    fn start_with(sb: &Sandbox, args: &[&str], vars: &[(&str, &str)]) -> Self {
        let mut cmd = sb.cli_command(args);
        cmd.envs(vars.iter().copied())
            .env("PGPASSFILE", "/nonexistent")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start dbcreds");
        let lines = lines(child.stdout.take().expect("stdout"));
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line starting with `prefix` (bounded), without it.
    #[track_caller]
    fn next(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if let Some(rest) = l.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(_) => panic!("no line starting {prefix:?}; saw {:?}", self.seen),
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit code once it exits (bounded).
    #[track_caller]
    fn wait(mut self) -> Option<i32> {
        assert!(
            wait_for_exit(self.pid(), Duration::from_secs(20)),
            "dbcreds did not exit"
        );
        self.child.wait().expect("wait").code()
    }
}

/// Each start says its pid and who it logged in as, then waits.
/// The trap comes first: the test sends SIGTERM as soon as it reads
/// `login=`, and a shell that had not set it yet died of the signal (143).
const LOGIN_LOOP: &str = r#"trap 'exit 0' TERM; echo "pid=$$"; echo "login=$(psql -X -w -tAc 'select current_user' 2>&1)"; while :; do sleep 1 & wait $!; done"#;

#[test]
fn a_rotation_restarts_the_command_with_the_new_password() {
    let (sb, _agent, role) = or_return!(PgTestRole::vault_or_skip(
        "a_rotation_restarts_the_command_with_the_new_password",
        "restart",
        &["prod"]
    ));
    let mut s = Supervised::start(
        &sb,
        &[
            "exec",
            "prod",
            "--restart-on-change",
            "--",
            "sh",
            "-c",
            LOGIN_LOOP,
        ],
    );
    let first = s.next("pid=");
    assert_eq!(s.next("login="), role.name, "{:?}", s.seen);
    let old = sb.password_of("prod");

    sb.cli(&["rotate", "prod"]).ok();
    let second = s.next("pid=");
    assert_ne!(first, second, "the command was not restarted");
    assert_eq!(
        s.next("login="),
        role.name,
        "logged in after the rotation: {:?}",
        s.seen
    );
    // The new password was what it logged in with: the old one is refused.
    assert!(!role.logs_in_with(&old), "the old password still works");

    // `run` follows its references the same way.
    let script = format!(
        "PGHOST=$H PGUSER=$U PGDATABASE=postgres; export PGHOST PGUSER PGDATABASE; {LOGIN_LOOP}"
    );
    let mut r = Supervised::start_with(
        &sb,
        &["run", "--restart-on-change", "--", "sh", "-c", &script],
        &[
            ("H", "dbcreds://prod/host"),
            ("U", "dbcreds://prod/user"),
            ("PGPASSWORD", "dbcreds://prod/password"),
        ],
    );
    let first = r.next("pid=");
    assert_eq!(r.next("login="), role.name, "{:?}", r.seen);
    sb.cli(&["rotate", "prod"]).ok();
    assert_ne!(r.next("pid="), first);
    assert_eq!(r.next("login="), role.name, "{:?}", r.seen);

    // Both supervisors end on SIGTERM, with the command's own exit code.
    signal(s.pid(), Signal::TERM);
    assert_eq!(s.wait(), Some(0));
    signal(r.pid(), Signal::TERM);
    assert_eq!(r.wait(), Some(0));
}

#[test]
fn with_signal_the_command_keeps_its_pid_and_hears_the_change() {
    let sb = Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    let script = r#"trap 'echo "usr1 pid=$$"' USR1; trap 'exit 3' TERM; echo "pid=$$"; while :; do sleep 1 & wait $!; done"#;
    let mut s = Supervised::start(
        &sb,
        &[
            "exec",
            "prod",
            "--restart-on-change",
            "--signal",
            "USR1",
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    let pid = s.next("pid=");
    sb.set_password("prod", "a-new-password");
    assert_eq!(
        s.next("usr1 pid="),
        pid,
        "the signal reached the same process"
    );
    // An update that leaves the password alone sends nothing.
    sb.cli(&["update", "prod", "--description", "no password change"])
        .ok();
    sb.set_password("prod", "another-password");
    assert_eq!(s.next("usr1 pid="), pid);
    assert_eq!(
        s.seen.iter().filter(|l| l.starts_with("usr1")).count(),
        2,
        "{:?}",
        s.seen
    );
    signal(s.pid(), Signal::TERM);
    assert_eq!(s.wait(), Some(3), "the command's own exit code");
}

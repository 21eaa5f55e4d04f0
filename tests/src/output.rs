//! Running a command to completion, bounded, and what it did: [`Output`]
//! with the assertions every test makes on exit codes and stderr lines.

use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::process::{COMMAND_TIMEOUT, signal};

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"\\$!?#&*".contains(c))
        {
            s.push_str(&format!("{arg:?}"));
        } else {
            s.push_str(&arg);
        }
    }
    s
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\nexit code: {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Output {
    /// Asserts exit code 0; returns `self` for chaining.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "command failed:\n{self}");
        self
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code:\n{self}");
        self
    }

    /// Asserts a non-zero exit (or a death by signal).
    #[track_caller]
    pub fn failed(&self) -> &Self {
        assert_ne!(
            self.code,
            Some(0),
            "the command should have failed:\n{self}"
        );
        self
    }

    /// Asserts that stderr is exactly one line starting `dbcreds: ` and
    /// returns that line.
    #[track_caller]
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr must be exactly one line:\n{self}");
        assert!(
            lines[0].starts_with("dbcreds: "),
            "the error line must start with `dbcreds: `:\n{self}"
        );
        lines[0]
    }

    /// Asserts a failure: exit `code`, nothing on stdout, one `dbcreds: ` line
    /// on stderr containing each of `words` (case-insensitive).
    #[track_caller]
    pub fn fails(&self, code: i32, words: &[&str]) -> &Self {
        self.code(code);
        assert_eq!(
            self.stdout, "",
            "a failure prints nothing on stdout:\n{self}"
        );
        let line = self.error_line().to_lowercase();
        for w in words {
            assert!(
                line.contains(&w.to_lowercase()),
                "the error should mention {w:?}:\n{self}"
            );
        }
        self
    }

    /// Asserts that stdout contains each of `words` (case-sensitive).
    #[track_caller]
    pub fn says(&self, words: &[&str]) -> &Self {
        for w in words {
            assert!(self.stdout.contains(w), "stdout lacks {w:?}:\n{self}");
        }
        self
    }

    /// Stdout without its trailing newlines.
    pub fn line(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// Stdout and stderr together, for searching.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion with `input` on its stdin (null when `None`), for
/// at most [`COMMAND_TIMEOUT`].
pub fn run(mut cmd: Command, input: Option<&[u8]>) -> Output {
    let command = describe(&cmd);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        let input = input.to_vec();
        // Closing stdin (end of the thread) is the end of the input.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(COMMAND_TIMEOUT) {
        Ok(Ok(out)) => Output {
            command,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("waiting for {command}: {e}"),
        Err(_) => {
            signal(pid, Signal::KILL);
            panic!(
                "{command} did not finish within {COMMAND_TIMEOUT:?} \
                 (hung, or a process it started keeps its stdout/stderr open)"
            )
        }
    }
}

/// Runs `cmds` at the same time (each on a thread of its own, each as
/// [`run`] does, stdin null) and waits for all of them; each one's output
/// and how long after the start of the first it ended, in `cmds`' order.
pub fn run_parallel(cmds: Vec<Command>) -> Vec<(Output, Duration)> {
    let started = Instant::now();
    let runs: Vec<_> = cmds
        .into_iter()
        .map(|cmd| thread::spawn(move || (run(cmd, None), started.elapsed())))
        .collect();
    runs.into_iter()
        .map(|r| r.join().expect("a command's thread panicked"))
        .collect()
}

/// Runs `program ARGS...` (the test's own environment) to completion.
pub fn run_args(program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run(cmd, None)
}

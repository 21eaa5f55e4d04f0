//! Agents in a sandbox: started in the foreground with `--ready-line`
//! ([`AgentProcess`]), found (`status --json`, or `/proc`), and killed with
//! the sandbox.

use std::fmt;
use std::fs;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};

use rustix::process::Signal;

use crate::bins::bin;
use crate::data::PASSPHRASE;
use crate::process::{
    EXIT_TIMEOUT, READY_TIMEOUT, TimedOut, all_pids, first_line, signal, wait_for_exit,
};
use crate::sandbox::{SANDBOX_MARKER, Sandbox};

impl Sandbox {
    /// A sandbox whose agent unlocks at start from a passphrase file holding
    /// [`PASSPHRASE`] (so a restarted agent recovers on its own), with a
    /// vault, and that agent running.
    pub fn with_passphrase_file_agent() -> (Sandbox, AgentProcess) {
        let mut sb = Sandbox::new();
        let file = sb.root().join("passphrase");
        fs::write(&file, PASSPHRASE).expect("write passphrase file");
        sb.set_env("DBCREDS_PASSPHRASE_FILE", file.as_os_str());
        let agent = sb.start_agent();
        sb.init_passphrase(PASSPHRASE);
        (sb, agent)
    }

    /// The pid of the agent serving this sandbox, from `dbcreds status --json`.
    #[track_caller]
    pub fn agent_pid(&self) -> u32 {
        let out = self.cli(&["status", "--json"]);
        out.ok();
        let pid = out.json()["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("`status --json` has no numeric pid:\n{out}"));
        u32::try_from(pid).expect("pid fits u32")
    }

    /// Starts `dbcreds-agent --socket <sock> --ready-line` in the foreground
    /// (stderr appended to [`Sandbox::agent_stderr_log`]) and waits for its
    /// `ready` line. Panics if it does not come.
    #[track_caller]
    pub fn start_agent(&self) -> AgentProcess {
        self.start_agent_at(&self.socket())
    }

    /// [`Sandbox::start_agent`] on another socket.
    #[track_caller]
    pub fn start_agent_at(&self, socket: &Path) -> AgentProcess {
        match self.try_start_agent_at(socket) {
            Ok(agent) => agent,
            Err(failure) => panic!("the agent did not start: {failure}"),
        }
    }

    /// Like [`Sandbox::start_agent`], but an agent that refuses to start
    /// (prints `error: ...` or nothing, and exits) is an `Err`.
    pub fn try_start_agent(&self) -> Result<AgentProcess, AgentStartFailure> {
        self.try_start_agent_at(&self.socket())
    }

    /// [`Sandbox::try_start_agent`] on another socket.
    pub fn try_start_agent_at(&self, socket: &Path) -> Result<AgentProcess, AgentStartFailure> {
        let log_path = self.agent_stderr_log();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("agent stderr log");
        let mut cmd = self.command(bin("dbcreds-agent"));
        cmd.arg("--socket")
            .arg(socket)
            .arg("--ready-line")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = cmd.spawn().expect("spawn dbcreds-agent");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut agent = AgentProcess {
            child,
            status: None,
        };
        match first_line(stdout, READY_TIMEOUT) {
            Ok(Some(l)) if l == "ready" => Ok(agent),
            Ok(first_line) => {
                let pid = agent.pid();
                if !wait_for_exit(pid, EXIT_TIMEOUT) {
                    panic!(
                        "the agent said {first_line:?} instead of `ready` but did not exit\n{}",
                        self.logs()
                    );
                }
                let status = agent.child.wait().expect("wait agent");
                agent.status = Some(status);
                Err(AgentStartFailure {
                    first_line: first_line.unwrap_or_default(),
                    status,
                    log: fs::read_to_string(&log_path).unwrap_or_default(),
                })
            }
            Err(TimedOut) => {
                drop(agent);
                panic!(
                    "the agent printed nothing within {READY_TIMEOUT:?}\n{}",
                    self.logs()
                )
            }
        }
    }

    /// Every process that belongs to this sandbox (agents the CLI started
    /// detached included): those whose environment carries the sandbox
    /// marker, or whose command line names a path inside the sandbox. This
    /// test process is not one of them.
    pub fn processes(&self) -> Vec<u32> {
        let root = self.root().as_os_str().as_encoded_bytes().to_vec();
        let mut marker = format!("{SANDBOX_MARKER}=").into_bytes();
        marker.extend_from_slice(&root);
        marker.push(0);
        let me = std::process::id();
        let mut found = Vec::new();
        for pid in all_pids() {
            if pid == me {
                continue;
            }
            let environ = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let marked = environ
                .windows(marker.len())
                .any(|w| w == marker.as_slice());
            let names_root = cmdline.split(|b| *b == 0).skip(1).any(|arg| {
                arg.strip_prefix(root.as_slice())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
            });
            if marked || names_root {
                found.push(pid);
            }
        }
        found.sort_unstable();
        found
    }

    /// The `dbcreds-agent` processes among [`Sandbox::processes`] (by the
    /// file name of `/proc/PID/exe`).
    pub fn agent_pids(&self) -> Vec<u32> {
        self.processes()
            .into_iter()
            .filter(|pid| {
                fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
                    exe.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("dbcreds-agent"))
                })
            })
            .collect()
    }

    /// Kills every process of [`Sandbox::processes`] and waits until they
    /// are gone.
    pub fn kill_all_processes(&self) {
        let victims = self.processes();
        for pid in &victims {
            signal(*pid, Signal::KILL);
        }
        for pid in victims {
            wait_for_exit(pid, EXIT_TIMEOUT);
        }
    }
}

/// Why [`Sandbox::try_start_agent`] got no agent.
#[derive(Debug)]
pub struct AgentStartFailure {
    /// The first line on the agent's stdout (`error: ...`), or empty.
    pub first_line: String,
    /// How the agent exited.
    pub status: ExitStatus,
    /// The sandbox's agent stderr log.
    pub log: String,
}

impl fmt::Display for AgentStartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first line {:?}, {}\n--- agent stderr ---\n{}",
            self.first_line, self.status, self.log
        )
    }
}

/// An agent started by [`Sandbox::start_agent`]; killed when dropped.
pub struct AgentProcess {
    child: Child,
    status: Option<ExitStatus>,
}

impl AgentProcess {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap.
    pub fn kill_9(mut self) -> ExitStatus {
        signal(self.pid(), Signal::KILL);
        self.reap("SIGKILL")
    }

    /// SIGTERM, then wait (bounded) for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        signal(self.pid(), Signal::TERM);
        self.reap("SIGTERM")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.status.is_none() && matches!(self.child.try_wait(), Ok(None))
    }

    fn reap(&mut self, what: &str) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let pid = self.pid();
        if !wait_for_exit(pid, EXIT_TIMEOUT) {
            signal(pid, Signal::KILL);
            let _ = self.child.wait();
            panic!("agent {pid} did not exit within {EXIT_TIMEOUT:?} of {what}");
        }
        let status = self.child.wait().expect("wait agent");
        self.status = Some(status);
        status
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

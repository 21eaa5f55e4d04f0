//! `dbcreds agent start|stop|restart`.

use std::path::Path;
use std::time::Duration;

use dbcreds::{Client, Error};

use crate::args::PrintEnvShell;
use crate::exit::Failure;
use crate::output;

/// How long `agent stop` waits for an agent that answered to exit after
/// SIGTERM (its own shutdown gives up on a hung keyring call after 5 s)
/// before it sends SIGKILL.
#[cfg_attr(not(unix), allow(dead_code))]
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The same for an agent that did not answer (stopped or hung): it has
/// shown already that it is not serving.
#[cfg_attr(not(unix), allow(dead_code))]
const HUNG_GRACE: Duration = Duration::from_secs(3);
/// How long a SIGKILLed agent may take to be gone.
#[cfg_attr(not(unix), allow(dead_code))]
const KILL_WAIT: Duration = Duration::from_secs(5);
/// Poll interval while waiting for the agent to exit (without a pidfd).
#[cfg_attr(not(unix), allow(dead_code))]
const STOP_POLL: Duration = Duration::from_millis(20);

/// How a stopped agent went.
pub(super) enum Ended {
    /// It exited after SIGTERM.
    Exited,
    /// It was still there after the grace period and was SIGKILLed.
    Killed(Duration),
}

pub async fn start() -> Result<(), Failure> {
    let (mut client, started) = match Client::connect().await {
        Ok(c) => (c, false),
        Err(Error::AgentUnreachable { .. }) => {
            (Client::connect_or_start_without_vault().await?, true)
        }
        Err(e) => return Err(e.into()),
    };
    let st = client.status().await?;
    output::note(&format!(
        "{} at {} (pid {}, version {}).",
        if started {
            "Started the agent"
        } else {
            "An agent runs already"
        },
        client.socket().display(),
        st.pid,
        st.agent_version
    ));
    Ok(())
}

/// `dbcreds agent --print-env [SHELL]`: starts an agent unless one answers
/// and prints what `dbcreds-agent --print-env` prints, for `eval` (like
/// `ssh-agent -s`).
pub async fn print_env(shell: PrintEnvShell) -> Result<(), Failure> {
    // Asked for an agent, as `agent start` is: one starts without a vault.
    let mut client = Client::connect_or_start_without_vault().await?;
    let pid = client.status().await?.pid;
    let sock = dbcreds::render::shell_quote(&client.socket().display().to_string());
    let text = match shell {
        PrintEnvShell::Sh => format!(
            "DBCREDS_SOCK={sock}; export DBCREDS_SOCK;\nDBCREDS_AGENT_PID={pid}; export DBCREDS_AGENT_PID;\necho Agent pid {pid};\n"
        ),
        PrintEnvShell::Csh => format!(
            "setenv DBCREDS_SOCK {sock};\nsetenv DBCREDS_AGENT_PID {pid};\necho Agent pid {pid};\n"
        ),
        PrintEnvShell::Fish => format!(
            "set -gx DBCREDS_SOCK {sock};\nset -gx DBCREDS_AGENT_PID {pid};\necho Agent pid {pid};\n"
        ),
    };
    output::stdout(&text)
}

pub async fn stop() -> Result<(), Failure> {
    let mut client = match Client::connect().await {
        Ok(c) => c,
        Err(Error::AgentUnreachable { socket, .. }) => {
            output::note(&format!("No agent runs at {}.", socket.display()));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let socket = client.socket().to_owned();
    let (pid, answering) = match client.status().await {
        Ok(st) => (st.pid, true),
        // Stopped or hung: the kernel still names the process behind the
        // socket, and that is the one to end.
        Err(e @ (Error::AgentUnresponsive { .. } | Error::AgentConnectionLost { .. })) => {
            match client.agent_pid() {
                Some(pid) => (pid, false),
                None => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    // Our own connection must not keep a graceful shutdown waiting.
    drop(client);
    let silent = if answering {
        ""
    } else {
        ", which did not answer"
    };
    match terminate(pid, &socket, answering).await? {
        Ended::Exited => output::note(&format!("Stopped the agent (pid {pid}){silent}.")),
        Ended::Killed(grace) => output::note(&format!(
            "Killed the agent (pid {pid}){silent} with SIGKILL: it had not exited {}s after SIGTERM.",
            grace.as_secs()
        )),
    }
    Ok(())
}

pub async fn restart() -> Result<(), Failure> {
    stop().await?;
    start().await
}

/// Ends agent `pid` serving `socket`: SIGTERM, and SIGKILL when it is
/// still there after the grace period ([`STOP_GRACE`], or [`HUNG_GRACE`]
/// for an agent that did not `answer`). Only a process shown to be the
/// agent is signalled: the socket's owner when the agent answered, a
/// `dbcreds-agent` executable when it did not.
#[cfg(unix)]
pub(super) async fn terminate(pid: u32, socket: &Path, answering: bool) -> Result<Ended, Failure> {
    use rustix::process::{Pid, Signal};

    let raw = i32::try_from(pid).ok().filter(|p| *p > 1);
    let Some(target) = raw.and_then(Pid::from_raw) else {
        return Err(Failure::other(format!(
            "the agent reported pid {pid}, which cannot be signalled: stop it with your service manager"
        )));
    };
    if std::process::id() == pid {
        return Err(Failure::other("the agent reported this process's own pid"));
    }
    if answering {
        check_listener(pid, socket)?;
    } else {
        check_is_agent(pid, socket)?;
    }
    let process = Process::open(target);
    process.signal(Signal::TERM).map_err(|e| {
        Failure::other(format!("cannot send SIGTERM to the agent (pid {pid}): {e}"))
    })?;
    let grace = if answering { STOP_GRACE } else { HUNG_GRACE };
    if process.wait(grace).await {
        return Ok(Ended::Exited);
    }
    process.signal(Signal::KILL).map_err(|e| {
        Failure::other(format!("cannot send SIGKILL to the agent (pid {pid}): {e}"))
    })?;
    if process.wait(KILL_WAIT).await {
        return Ok(Ended::Killed(grace));
    }
    Err(Failure::other(format!(
        "the agent (pid {pid}) is still there {}s after SIGKILL: see `ps -o stat,wchan -p {pid}`",
        KILL_WAIT.as_secs()
    )))
}

/// A process to signal and wait for: through a pidfd on Linux (no pid
/// reuse between the signals, and a wait without polling), else its pid.
#[cfg(unix)]
struct Process {
    pid: rustix::process::Pid,
    #[cfg(target_os = "linux")]
    pidfd: Option<std::sync::Arc<rustix::fd::OwnedFd>>,
}

#[cfg(unix)]
impl Process {
    fn open(pid: rustix::process::Pid) -> Self {
        Self {
            pid,
            #[cfg(target_os = "linux")]
            pidfd: rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
                .ok()
                .map(std::sync::Arc::new),
        }
    }

    fn signal(&self, sig: rustix::process::Signal) -> rustix::io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            return match rustix::process::pidfd_send_signal(fd, sig) {
                // Gone already: nothing to signal.
                Err(rustix::io::Errno::SRCH) => Ok(()),
                other => other,
            };
        }
        match rustix::process::kill_process(self.pid, sig) {
            Err(rustix::io::Errno::SRCH) => Ok(()),
            other => other,
        }
    }

    /// True when the process has exited within `timeout`.
    async fn wait(&self, timeout: Duration) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(fd) = self.pidfd.clone() {
            // On the blocking pool: this runtime must stay free to close our
            // own connection, or the agent's graceful shutdown would wait
            // for it.
            return tokio::task::spawn_blocking(move || exited_within(&fd, timeout))
                .await
                .unwrap_or(false);
        }
        // Elsewhere polling is the only portable way to wait for a process
        // that is not our child.
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if rustix::process::test_kill_process(self.pid).is_err() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(STOP_POLL).await;
        }
    }
}

/// Linux: waits on a pidfd, which turns readable when the process exits
/// (even while it stays a zombie of a parent that has not reaped it).
#[cfg(target_os = "linux")]
fn exited_within(fd: &rustix::fd::OwnedFd, timeout: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let limit = Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&limit)), Ok(n) if n > 0)
}

/// Before signalling a process that did not answer: it must be a
/// `dbcreds-agent` (Linux: `/proc/PID/exe`), so that whatever else may
/// listen on the socket is never killed by mistake.
#[cfg(target_os = "linux")]
fn check_is_agent(pid: u32, socket: &Path) -> Result<(), Failure> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let is_agent = exe
        .as_ref()
        .and_then(|e| e.file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("dbcreds-agent"));
    if is_agent {
        return Ok(());
    }
    Err(Failure::new(
        crate::exit::AGENT_UNREACHABLE,
        format!(
            "what listens at {} (pid {pid}, {}) does not answer and is not a dbcreds-agent: not signalling it; end it yourself, or point DBCREDS_SOCK elsewhere",
            socket.display(),
            exe.map_or_else(
                || "executable unknown".to_owned(),
                |e| e.display().to_string()
            )
        ),
    ))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn check_is_agent(pid: u32, socket: &Path) -> Result<(), Failure> {
    Err(Failure::new(
        crate::exit::AGENT_UNREACHABLE,
        format!(
            "the agent at {} (pid {pid}) does not answer: end it with `kill {pid}` (`kill -KILL {pid}` if it stays)",
            socket.display()
        ),
    ))
}

/// On Linux, makes sure the pid the agent reported is the process that owns
/// the socket (SO_PEERCRED), so a stale or foreign pid is never signalled
/// and a socket-activated agent is left to systemd.
#[cfg(target_os = "linux")]
fn check_listener(pid: u32, socket: &Path) -> Result<(), Failure> {
    let Ok(stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return Ok(());
    };
    let Ok(cred) = rustix::net::sockopt::socket_peercred(&stream) else {
        return Ok(());
    };
    let owner = cred.pid.as_raw_pid();
    // A listener whose creator has exited (an agent that daemonized by
    // forking) cannot be checked this way; only a live other owner is.
    if i64::from(owner) == i64::from(pid) || rustix::process::test_kill_process(cred.pid).is_err() {
        return Ok(());
    }
    Err(Failure::other(format!(
        "the socket {} belongs to pid {owner}, not to the agent's pid {pid} (socket activation?): stop it with your service manager, e.g. `systemctl --user stop dbcreds-agent.socket dbcreds-agent.service`",
        socket.display()
    )))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn check_listener(_pid: u32, _socket: &Path) -> Result<(), Failure> {
    Ok(())
}

#[cfg(not(unix))]
pub(super) async fn terminate(
    pid: u32,
    _socket: &Path,
    _answering: bool,
) -> Result<Ended, Failure> {
    Err(Failure::other(format!(
        "`dbcreds agent stop` is not supported on this platform yet: end process {pid} (dbcreds-agent) with the task manager"
    )))
}

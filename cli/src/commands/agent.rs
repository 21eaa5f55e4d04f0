//! `dbcreds agent start|stop|restart`.

use std::path::Path;
use std::time::Duration;

use dbcreds::{Client, Error};

use crate::exit::Failure;
use crate::output;

/// How long `agent stop` waits for the agent to exit after SIGTERM.
#[cfg_attr(not(unix), allow(dead_code))]
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Poll interval while waiting for the agent to exit.
#[cfg_attr(not(unix), allow(dead_code))]
const STOP_POLL: Duration = Duration::from_millis(20);

pub async fn start() -> Result<(), Failure> {
    let (mut client, started) = match Client::connect().await {
        Ok(c) => (c, false),
        Err(Error::AgentUnreachable { .. }) => (Client::connect_or_start().await?, true),
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

pub async fn stop() -> Result<(), Failure> {
    let mut client = match Client::connect().await {
        Ok(c) => c,
        Err(Error::AgentUnreachable { socket, .. }) => {
            output::note(&format!("No agent runs at {}.", socket.display()));
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let st = client.status().await?;
    let socket = client.socket().to_owned();
    // Our own connection must not keep a graceful shutdown waiting.
    drop(client);
    terminate(st.pid, &socket).await?;
    output::note(&format!("Stopped the agent (pid {}).", st.pid));
    Ok(())
}

pub async fn restart() -> Result<(), Failure> {
    stop().await?;
    start().await
}

#[cfg(unix)]
pub(super) async fn terminate(pid: u32, socket: &Path) -> Result<(), Failure> {
    use rustix::process::{Pid, Signal, kill_process, test_kill_process};

    let raw = i32::try_from(pid).ok().filter(|p| *p > 1);
    let Some(target) = raw.and_then(Pid::from_raw) else {
        return Err(Failure::other(format!(
            "the agent reported pid {pid}, which cannot be signalled: stop it with your service manager"
        )));
    };
    if std::process::id() == pid {
        return Err(Failure::other("the agent reported this process's own pid"));
    }
    check_listener(pid, socket)?;
    kill_process(target, Signal::TERM).map_err(|e| {
        Failure::other(format!("cannot send SIGTERM to the agent (pid {pid}): {e}"))
    })?;
    // On the blocking pool: this runtime must stay free to close our own
    // connection, or the agent's graceful shutdown would wait for it.
    let exited = tokio::task::spawn_blocking(move || exited_within(target, STOP_TIMEOUT))
        .await
        .unwrap_or(false);
    if exited {
        return Ok(());
    }
    // Bounded wait for the process to go: elsewhere polling is the only
    // portable way to wait for a process that is not our child.
    let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
    loop {
        if test_kill_process(target).is_err() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Failure::other(format!(
                "the agent (pid {pid}) did not exit within {}s of SIGTERM: see its log, or `kill -KILL {pid}`",
                STOP_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(STOP_POLL).await;
    }
}

/// Linux: waits on a pidfd, which turns readable when the process exits
/// (even while it stays a zombie of a parent that has not reaped it). True
/// when it exited in time; false when that cannot be told this way.
#[cfg(target_os = "linux")]
fn exited_within(target: rustix::process::Pid, timeout: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let Ok(fd) = rustix::process::pidfd_open(target, rustix::process::PidfdFlags::empty()) else {
        // Gone already (ESRCH), or no pidfd support: let the caller poll.
        return rustix::process::test_kill_process(target).is_err();
    };
    let limit = Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&limit)), Ok(n) if n > 0)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn exited_within(_target: rustix::process::Pid, _timeout: Duration) -> bool {
    false
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
pub(super) async fn terminate(pid: u32, _socket: &Path) -> Result<(), Failure> {
    Err(Failure::other(format!(
        "`dbcreds agent stop` is not supported on this platform yet: end process {pid} (dbcreds-agent) with the task manager"
    )))
}

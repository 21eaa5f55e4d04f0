//! Starting an agent when none answers, in the manner of gpg-agent's
//! autostart: the agent is spawned detached, and the caller waits for its
//! start-up acknowledgement (a `ready` line on the agent's stdout, written
//! once it listens) instead of polling or sleeping.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};

/// Held while this process starts an agent for `socket`, so that clients
/// racing to start one (twenty `dbcreds get` at once after login) take
/// turns: the first starts it, the others wait on the lock in the kernel
/// (no polling) and then find it listening.
pub struct StartLock {
    _file: Option<std::fs::File>,
}

impl StartLock {
    /// Waits for the start lock of `socket` (`agent.start` beside it). The
    /// socket's directory is created private (0700) if missing, as the
    /// agent would.
    pub fn acquire(socket: &Path) -> Result<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            let fail = |e: std::io::Error| Error::AgentStart(format!("{}: {e}", socket.display()));
            if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(fail)?;
            }
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(socket.with_extension("start"))
                .map_err(fail)?;
            file.lock().map_err(fail)?;
            Ok(Self { _file: Some(file) })
        }
        #[cfg(not(unix))]
        {
            // A named pipe is created once (FIRST_PIPE_INSTANCE): the loser
            // of a race fails to listen and its client retries the connect.
            let _ = socket;
            Ok(Self { _file: None })
        }
    }
}

/// How long a starting agent may take to listen before we give up.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The agent binary: `$DBCREDS_AGENT_BIN`, else `dbcreds-agent` next to the
/// running executable, else `dbcreds-agent` on `PATH`.
pub fn agent_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("DBCREDS_AGENT_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let exe_name = format!("dbcreds-agent{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(&exe_name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(exe_name))
}

/// Starts `dbcreds-agent --socket SOCKET --detach` and blocks until it
/// reports that it listens (or fails, or [`START_TIMEOUT`] passes).
///
/// The agent's own refusal (for example "another agent is running") comes
/// back as [`Error::AgentStart`] with the agent's words.
pub fn start_agent(socket: &Path) -> Result<()> {
    start_agent_binary(&agent_binary(), socket)
}

/// [`start_agent`] with a given agent binary (the agent's `--print-env`
/// starts itself).
pub fn start_agent_binary(bin: &Path, socket: &Path) -> Result<()> {
    let mut cmd = Command::new(bin);
    cmd.arg("--socket")
        .arg(socket)
        .arg("--detach")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // No process_group(0) here: the agent's `--detach` calls setsid() as
    // its first act, which fails for a process-group leader. Its own
    // session also keeps a Ctrl-C in this shell from reaching it.
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::AgentStart(format!("{}: {e}", bin.display())))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(Error::AgentStart("no stdout from the agent".into()));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(START_TIMEOUT)
        .map_err(|_| Error::AgentStart(format!("it did not listen within {START_TIMEOUT:?}")))?;
    let line = line.trim();
    if line == "ready" {
        // Reap the child in the background: the agent forks nothing, so the
        // handle only matters for the agent's exit status.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        return Ok(());
    }
    let _ = child.wait();
    let msg = line.strip_prefix("error: ").unwrap_or(line);
    Err(Error::AgentStart(if msg.is_empty() {
        "it exited before listening (see its log in the dbcreds data directory)".into()
    } else {
        msg.to_owned()
    }))
}

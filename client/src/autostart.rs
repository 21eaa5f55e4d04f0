//! Starting an agent when none answers, in the manner of gpg-agent's
//! autostart: the agent is spawned detached, and the caller waits for its
//! start-up acknowledgement (a `ready` line on the agent's stdout, written
//! once it listens) instead of polling or sleeping.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};

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

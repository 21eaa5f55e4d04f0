//! Running a program that prints a secret (a password command, `pass`):
//! bounded in time, stdin closed, stdout captured into memory that is
//! zeroed when dropped. Nothing here logs what ran or what it printed.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use zeroize::Zeroizing;

/// How long a program may take before it is killed.
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// More than any password or JSON secret needs; the rest is not read (and
/// the program gets SIGPIPE), so a runaway program cannot fill memory.
const MAX_STDOUT: usize = 64 * 1024;
const MAX_STDERR: usize = 8 * 1024;

/// What a finished program left.
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: Zeroizing<Vec<u8>>,
    pub stderr: Vec<u8>,
}

/// Why a program gave no output.
#[derive(Debug)]
pub(crate) enum RunError {
    /// It could not be started (not installed, not executable).
    Spawn(io::Error),
    /// Still running after the timeout: it and its process group were
    /// killed.
    Timeout(Duration),
    /// Reading its output or waiting for it failed.
    Io(io::Error),
}

/// Runs `cmd` to the end (or for `timeout`), stdin from /dev/null.
pub(crate) async fn run(mut cmd: Command, timeout: Duration) -> Result<Output, RunError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills what `sh -c` started
        // too, not only the shell.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let (out, err) = tokio::join!(
            read_secret(stdout, MAX_STDOUT),
            read_plain(stderr, MAX_STDERR)
        );
        let status = child.wait().await.map_err(RunError::Io)?;
        Ok(Output {
            status,
            stdout: out.map_err(RunError::Io)?,
            stderr: err.map_err(RunError::Io)?,
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => {
            kill_group(pid);
            Err(RunError::Timeout(timeout))
        }
    }
}

/// Reads up to `max` bytes into a buffer allocated once, big enough that
/// reading never reallocates (a reallocation would leave an unzeroed copy
/// of the secret behind).
async fn read_secret(
    pipe: Option<impl AsyncRead + Unpin>,
    max: usize,
) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(max + 64));
    if let Some(pipe) = pipe {
        pipe.take(max as u64).read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

async fn read_plain(pipe: Option<impl AsyncRead + Unpin>, max: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(pipe) = pipe {
        pipe.take(max as u64).read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    if let Some(pgid) = rustix::process::Pid::from_raw(pid) {
        // The group may be gone already; kill_on_drop covers the leader.
        let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
    }
}

/// The first line of `bytes` without its `\n` or `\r\n`.
pub(crate) fn first_line(bytes: &[u8]) -> &[u8] {
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The first line of a program's stderr, at most 200 characters, for an
/// error message.
pub(crate) fn stderr_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(first_line(stderr))
        .trim()
        .chars()
        .take(200)
        .collect()
}

/// How a program ended, for an error message: `exit status: 3`,
/// `signal: 9 (SIGKILL)`.
pub(crate) fn status_text(status: ExitStatus) -> String {
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_strips_crlf() {
        assert_eq!(first_line(b"pw\r\nmore"), b"pw");
        assert_eq!(first_line(b"pw\n"), b"pw");
        assert_eq!(first_line(b"pw"), b"pw");
        assert_eq!(first_line(b""), b"");
    }

    #[test]
    fn stderr_line_is_bounded() {
        let long = "x".repeat(500) + "\nsecond";
        assert_eq!(stderr_line(long.as_bytes()).len(), 200);
        assert_eq!(stderr_line(b"  oops \nnext"), "oops");
    }
}

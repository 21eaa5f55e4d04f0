//! Asking a person through an askpass program, the way `ssh-add -c` does:
//! the question as the only argument, `SSH_ASKPASS_PROMPT=confirm` in its
//! environment (ssh-askpass then shows OK/Cancel instead of a password
//! field), and the answer in how it exits: 0 with nothing (or `yes`) on
//! stdout is yes, anything else no. It runs in a process group of its own,
//! killed when the question is settled some other way (`dbcreds approve`,
//! the timeout), so a dialog never outlives its request.

use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncReadExt;

/// What the askpass program said.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// It could not be run; the words say why.
    Failed(String),
}

/// Kills the askpass program's process group when dropped.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok())
            && let Some(pid) = rustix::process::Pid::from_raw(pid)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Runs `program` with `prompt` and waits for its answer (however long:
/// the caller bounds the wait by dropping this future).
pub async fn ask(program: &Path, prompt: &str) -> Answer {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(prompt)
        .env("SSH_ASKPASS_PROMPT", "confirm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Answer::Failed(format!("cannot run {}: {e}", program.display())),
    };
    let _group = Group(child.id());
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        // A confirmation answers in a word; more is not an answer.
        let _ = stdout.take(1024).read_to_end(&mut out).await;
    }
    match child.wait().await {
        Ok(status) if status.success() => {
            let said = String::from_utf8_lossy(&out);
            let said = said.trim();
            if said.is_empty() || said.eq_ignore_ascii_case("yes") {
                Answer::Yes
            } else {
                Answer::No
            }
        }
        Ok(_) => Answer::No,
        Err(e) => Answer::Failed(format!("{} failed: {e}", program.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_exit_status_and_the_output_are_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
            p
        };
        let yes = script(
            "yes",
            "[ \"$SSH_ASKPASS_PROMPT\" = confirm ] && [ -n \"$1\" ]",
        );
        let no = script("no", "exit 1");
        let says_no = script("says-no", "echo no");
        assert_eq!(ask(&yes, "allow?").await, Answer::Yes);
        assert_eq!(ask(&no, "allow?").await, Answer::No);
        assert_eq!(ask(&says_no, "allow?").await, Answer::No);
        assert!(matches!(
            ask(&dir.path().join("missing"), "allow?").await,
            Answer::Failed(_)
        ));
    }
}

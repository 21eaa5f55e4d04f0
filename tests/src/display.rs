//! A private X server (Xvfb) for the clipboard tests, and `xclip` to read
//! and write its clipboard as another application would.

use std::io::Write;
use std::process::{Child, Command, Stdio};

use crate::output::{Output, run};
use crate::process::{READY_TIMEOUT, first_line, skip};

/// An Xvfb on a display of its own (it picks a free one and says which on
/// stdout: `-displayfd 1`, so nothing polls); killed when dropped.
pub struct XServer {
    child: Child,
    display: String,
}

impl XServer {
    /// A new X server, or `None` when Xvfb or xclip is missing (skipped, or
    /// a panic under CI: `tests/run` installs them).
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let which = run(
            {
                let mut c = Command::new("sh");
                c.args(["-c", "command -v Xvfb && command -v xclip"]);
                c
            },
            None,
        );
        if which.code != Some(0) {
            skip(&format!(
                "{test}: needs Xvfb and xclip (tests/run installs them):\n{which}"
            ));
            return None;
        }
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let stdout = child.stdout.take().expect("Xvfb stdout");
        let number = match first_line(stdout, READY_TIMEOUT) {
            Ok(Some(n)) if !n.trim().is_empty() => n.trim().to_owned(),
            other => {
                let _ = child.kill();
                panic!("Xvfb did not say its display: {other:?}");
            }
        };
        Some(Self {
            child,
            display: format!(":{number}"),
        })
    }

    /// `DISPLAY` for clients of this server.
    pub fn display(&self) -> &str {
        &self.display
    }

    fn xclip(&self) -> Command {
        let mut c = Command::new("xclip");
        c.env_clear()
            .env("PATH", crate::bins::path_var())
            .env("DISPLAY", &self.display)
            .args(["-selection", "clipboard"]);
        c
    }

    /// What the clipboard holds as text; `None` when it holds nothing.
    pub fn clipboard(&self) -> Option<String> {
        let mut c = self.xclip();
        c.arg("-o");
        let out: Output = run(c, None);
        (out.code == Some(0)).then_some(out.stdout)
    }

    /// Another application copies `text`: an `xclip` in the foreground
    /// serving it until killed (returned to the caller to kill).
    pub fn copy_elsewhere(&self, text: &str) -> Child {
        let mut c = self.xclip();
        c.args(["-i", "-quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("start xclip");
        let mut stdin = child.stdin.take().expect("xclip stdin");
        stdin.write_all(text.as_bytes()).expect("feed xclip");
        drop(stdin);
        // `-quiet` says "Waiting for selection requests" once it owns it.
        let stderr = child.stderr.take().expect("xclip stderr");
        let said = first_line(stderr, READY_TIMEOUT);
        assert!(
            matches!(&said, Ok(Some(l)) if l.contains("Waiting for selection")),
            "xclip did not take the clipboard: {said:?}"
        );
        child
    }
}

impl Drop for XServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

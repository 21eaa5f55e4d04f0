//! `dbcreds copy NAME [FIELD]`: the value `get` would print, on the
//! clipboard, cleared after `--clear-after` (45 s) unless it changed
//! meanwhile — as `pass -c` does.
//!
//! On X11 the clipboard is served by the process that owns it, and on
//! Wayland arboard forks a server: either way someone has to stay. So the
//! CLI starts itself again as a hidden `clipboard-hold` in a session of its
//! own, hands it the value on a pipe (never on a command line or in the
//! environment), and waits for its first line: `ok` once the clipboard
//! holds the value, or `error: ...`. The holder, non-dumpable, keeps
//! serving until the deadline, then clears the clipboard if it still holds
//! the value and exits. The clipboard is marked for managers to leave out
//! of their history (`x-kde-passwordManagerHint`).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::args::{ClipboardHoldArgs, CopyArgs, Field};
use crate::exit::Failure;

/// How long `copy` waits for the holder to say the clipboard is set.
const HOLD_READY_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(a: CopyArgs) -> Result<(), Failure> {
    let value = super::get::fetch(&a.name, a.field, a.require_fresh).await?;
    let clear_after = a.clear_after;
    tokio::task::spawn_blocking(move || start_holder(&value, clear_after))
        .await
        .map_err(|e| Failure::other(format!("copy: {e}")))??;
    let what = match a.field {
        Field::Password => "password".to_owned(),
        f => f.name(),
    };
    crate::output::note(&format!(
        "dbcreds: copied the {what} of '{}' to the clipboard; it is cleared in {} unless it changes",
        a.name,
        humantime::format_duration(clear_after)
    ));
    Ok(())
}

/// Starts `dbcreds clipboard-hold`, gives it `value` and waits for its
/// first line.
fn start_holder(value: &str, clear_after: Duration) -> Result<(), Failure> {
    let exe = std::env::current_exe()
        .map_err(|e| Failure::other(format!("cannot find the dbcreds executable: {e}")))?;
    let mut child = Command::new(exe)
        .arg("clipboard-hold")
        .arg("--clear-after-ms")
        .arg(clear_after.as_millis().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Failure::other(format!("cannot start the clipboard holder: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(value.as_bytes())
            .map_err(|e| Failure::other(format!("cannot hand the value over: {e}")))?;
    }
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Failure::other("the clipboard holder has no stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(HOLD_READY_TIMEOUT).map_err(|_| {
        let _ = child.kill();
        Failure::other("the clipboard did not answer within 10 s (is the display server hung?)")
    })?;
    match line.trim_end() {
        "ok" => Ok(()),
        other => {
            let _ = child.wait();
            let why = other.strip_prefix("error: ").unwrap_or(other);
            Err(Failure::other(if why.is_empty() {
                "the clipboard holder exited without a word".to_owned()
            } else {
                why.to_owned()
            }))
        }
    }
}

/// What the holder needs of a clipboard (a trait, so the clearing rule is
/// tested without a display).
pub trait Board {
    /// The text on the clipboard now, if any.
    fn text(&mut self) -> Option<Zeroizing<String>>;
    /// Empties it.
    fn clear(&mut self) -> Result<(), String>;
}

/// Clears `board` when it still holds `ours`; true when it did.
pub fn clear_if_unchanged(board: &mut impl Board, ours: &str) -> Result<bool, String> {
    match board.text() {
        Some(now) if now.as_str() == ours => board.clear().map(|()| true),
        _ => Ok(false),
    }
}

struct Arboard(arboard::Clipboard);

impl Board for Arboard {
    fn text(&mut self) -> Option<Zeroizing<String>> {
        self.0.get_text().ok().map(Zeroizing::new)
    }

    fn clear(&mut self) -> Result<(), String> {
        self.0.clear().map_err(|e| e.to_string())
    }
}

/// The hidden `clipboard-hold`: reads the value from stdin, sets the
/// clipboard, says `ok`, serves until the deadline, clears if unchanged.
pub fn hold(a: ClipboardHoldArgs) -> Result<(), Failure> {
    detach();
    let mut value = Zeroizing::new(String::new());
    if let Err(e) = std::io::stdin().read_to_string(&mut value) {
        return say_error(&format!("cannot read the value: {e}"));
    }
    let deadline = Instant::now() + Duration::from_millis(a.clear_after_ms);
    let mut board = match arboard::Clipboard::new() {
        Ok(c) => Arboard(c),
        Err(e) => return say_error(&no_clipboard(&e)),
    };
    if let Err(e) = set(&mut board.0, &value) {
        return say_error(&no_clipboard(&e));
    }
    println!("ok");
    // The last word on stdout: `copy` stops reading after it.
    let _ = std::io::stdout().flush();
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    let _ = clear_if_unchanged(&mut board, &value);
    Ok(())
}

#[cfg(all(unix, not(target_os = "macos")))]
fn set(c: &mut arboard::Clipboard, value: &str) -> Result<(), arboard::Error> {
    use arboard::SetExtLinux;
    c.set().exclude_from_history().text(value)
}

#[cfg(any(not(unix), target_os = "macos"))]
fn set(c: &mut arboard::Clipboard, value: &str) -> Result<(), arboard::Error> {
    c.set_text(value)
}

fn no_clipboard(e: &arboard::Error) -> String {
    let session = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    if cfg!(all(unix, not(target_os = "macos"))) && !session {
        "no clipboard here: neither DISPLAY nor WAYLAND_DISPLAY is set (copy needs a desktop session; use `dbcreds get` in a pipe instead)".into()
    } else {
        format!("cannot use the clipboard: {e}")
    }
}

fn say_error(why: &str) -> Result<(), Failure> {
    println!("error: {}", crate::output::printable(why));
    Err(Failure::other(why.to_owned()))
}

/// A session of its own (a closing terminal does not end the holder) and
/// no core dumps or ptrace by the same user while it holds the value.
#[cfg(unix)]
fn detach() {
    let _ = rustix::process::setsid();
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

#[cfg(not(unix))]
fn detach() {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Option<String>, u32);

    impl Board for Fake {
        fn text(&mut self) -> Option<Zeroizing<String>> {
            self.0.clone().map(Zeroizing::new)
        }
        fn clear(&mut self) -> Result<(), String> {
            self.0 = None;
            self.1 += 1;
            Ok(())
        }
    }

    #[test]
    fn clears_only_what_is_still_ours() {
        let mut b = Fake(Some("s3cret".into()), 0);
        assert_eq!(clear_if_unchanged(&mut b, "s3cret"), Ok(true));
        assert_eq!((b.0.as_deref(), b.1), (None, 1));

        let mut b = Fake(Some("copied later".into()), 0);
        assert_eq!(clear_if_unchanged(&mut b, "s3cret"), Ok(false));
        assert_eq!((b.0.as_deref(), b.1), (Some("copied later"), 0));

        let mut b = Fake(None, 0);
        assert_eq!(clear_if_unchanged(&mut b, "s3cret"), Ok(false));
        assert_eq!(b.1, 0);
    }
}

//! A one-line spinner on stderr while the agent talks to a database, only
//! when stderr is a terminal (never in pipes, files or CI logs). It erases
//! itself when done, so the result is printed on a clean line.

use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Runs `work` with a spinner saying `label` beside it.
pub async fn with_spinner<T>(label: &str, work: impl Future<Output = T>) -> T {
    let term = std::env::var_os("TERM");
    if !std::io::stderr().is_terminal() || term.as_deref() == Some("dumb".as_ref()) {
        return work.await;
    }
    let label = label.to_owned();
    let spin = async move {
        const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
        // An animation frame rate, not a wait for anything.
        let mut tick = tokio::time::interval(Duration::from_millis(120));
        for i in 0usize.. {
            tick.tick().await;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{} {label}", FRAMES[i % FRAMES.len()]);
            let _ = err.flush();
        }
    };
    let spinner = tokio::spawn(spin);
    let out = work.await;
    spinner.abort();
    let _ = spinner.await;
    let mut err = std::io::stderr().lock();
    // Erase the line: carriage return, clear to end of line.
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
    out
}

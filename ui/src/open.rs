//! Opening the page in the user's browser: `xdg-open` (`open` on macOS)
//! when it is on PATH; otherwise the printed URL is all there is.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The opener of this system, when one is on PATH.
fn opener() -> Option<PathBuf> {
    let name = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Asks the opener to show `url`; false when there is none or it could
/// not be started. The opener is not waited for (it may be the browser).
pub fn browser(url: &str) -> bool {
    let Some(bin) = opener() else {
        return false;
    };
    let child = Command::new(bin)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            // Reaped in the background, so it leaves no zombie.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            true
        }
        Err(_) => false,
    }
}

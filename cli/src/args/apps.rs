//! The arguments of the verbs that hand credentials to applications where
//! they look for them: `run`, `inject`, `copy`, `serve-files`, and the
//! supervision flags `exec` and `run` share.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;
use dbcreds::EnvName;

use super::env::Field;
use super::values::parse_name;

/// How `exec` and `run` watch over their command (none of these: it
/// replaces dbcreds).
#[derive(Debug, Args, Clone, Default)]
pub struct SuperviseArgs {
    /// Replace the password in the command's output with *** (through a pty on a terminal)
    #[arg(long)]
    pub mask: bool,
    /// Restart the command when the password changes (rotate, update)
    #[arg(long)]
    pub restart_on_change: bool,
    /// With --restart-on-change: send this signal instead of restarting (HUP, USR1, ...)
    #[arg(long, value_name = "SIGNAL", requires = "restart_on_change", value_parser = parse_signal)]
    pub signal: Option<i32>,
}

impl SuperviseArgs {
    /// True when dbcreds stays to watch the command (no exec).
    pub fn supervises(&self) -> bool {
        self.mask || self.restart_on_change
    }
}

/// The signals `--signal` takes by name (with or without `SIG`), besides
/// a number.
#[cfg(unix)]
fn signals() -> [(&'static str, i32); 7] {
    use rustix::process::Signal;
    [
        ("HUP", Signal::HUP.as_raw()),
        ("INT", Signal::INT.as_raw()),
        ("QUIT", Signal::QUIT.as_raw()),
        ("USR1", Signal::USR1.as_raw()),
        ("USR2", Signal::USR2.as_raw()),
        ("TERM", Signal::TERM.as_raw()),
        ("WINCH", Signal::WINCH.as_raw()),
    ]
}

#[cfg(not(unix))]
fn signals() -> [(&'static str, i32); 0] {
    []
}

#[cfg(unix)]
fn catchable(n: i32) -> bool {
    use rustix::process::Signal;
    Signal::from_named_raw(n).is_some_and(|s| s != Signal::KILL && s != Signal::STOP)
}

#[cfg(not(unix))]
fn catchable(_: i32) -> bool {
    false
}

fn parse_signal(raw: &str) -> Result<i32, String> {
    let upper = raw.trim().to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let known = signals();
    if let Some((_, n)) = known.iter().find(|(s, _)| *s == name) {
        return Ok(*n);
    }
    // KILL and STOP cannot be caught: a reload signal they are not.
    match name.parse::<i32>() {
        Ok(n) if catchable(n) => Ok(n),
        _ => Err(format!(
            "'{raw}' is not a signal to send: use one of {} (or a number)",
            known.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A dotenv file whose variables the command gets, references resolved (repeatable; later files win)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Run even inside `dbcreds exec` of another environment
    #[arg(long)]
    pub force: bool,
    /// Fail (exit code 11) instead of handing out an expired password
    #[arg(long)]
    pub require_fresh: bool,
    #[command(flatten)]
    pub supervise: SuperviseArgs,
    /// The command and its arguments, after `--` [default: $SHELL]
    #[arg(last = true, value_name = "CMD", value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct InjectArgs {
    /// The template [default: standard input]
    #[arg(short, long = "in", value_name = "TEMPLATE")]
    pub input: Option<PathBuf>,
    /// The file to write (created 0600) [default: standard output]
    #[arg(short, long = "out", value_name = "FILE", conflicts_with = "check")]
    pub output: Option<PathBuf>,
    /// Only check that every reference resolves (no password is fetched, nothing written)
    #[arg(long)]
    pub check: bool,
    /// Replace an existing FILE readable or writable by others (the new one is 0600)
    #[arg(long)]
    pub force: bool,
    /// Fail (exit code 11) instead of writing an expired password
    #[arg(long)]
    pub require_fresh: bool,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Environment name
    #[arg(value_parser = parse_name)]
    pub name: EnvName,
    /// What to copy
    #[arg(value_enum, default_value_t = Field::Password)]
    pub field: Field,
    /// Clear the clipboard after this long, unless it changed meanwhile
    #[arg(long, value_name = "DURATION", default_value = "45s", value_parser = parse_duration)]
    pub clear_after: std::time::Duration,
    /// Fail (exit code 11) instead of copying an expired password
    #[arg(long)]
    pub require_fresh: bool,
}

/// `--clear-after`: 1 second to 1 hour.
fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(raw.trim())
        .or_else(|_| {
            raw.trim()
                .parse::<u64>()
                .map(std::time::Duration::from_secs)
        })
        .map_err(|_| format!("'{raw}' is not a duration: use 45s, 2m, ..."))?;
    if d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(3600) {
        return Err(format!("'{raw}' is out of range: from 1s to 1h"));
    }
    Ok(d)
}

/// The hidden `clipboard-hold` that `copy` starts (the value on stdin).
#[derive(Debug, Args)]
pub struct ClipboardHoldArgs {
    /// Clear the clipboard this many milliseconds from now
    #[arg(long)]
    pub clear_after_ms: u64,
}

#[derive(Debug, Args)]
pub struct ServeFilesArgs {
    /// The directory to keep the files in [default: $XDG_RUNTIME_DIR/dbcreds/files]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("HUP"), Ok(1));
        assert_eq!(parse_signal("sigusr1"), Ok(10));
        assert_eq!(parse_signal("15"), Ok(15));
        assert!(parse_signal("KILL").unwrap_err().contains("USR1"));
        assert!(parse_signal("9").is_err());
    }

    #[test]
    fn clear_after_bounds() {
        assert_eq!(
            parse_duration("45s"),
            Ok(std::time::Duration::from_secs(45))
        );
        assert_eq!(parse_duration("2"), Ok(std::time::Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2h").is_err());
    }
}

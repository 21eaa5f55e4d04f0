//! Who asks, from the kernel and never from the caller's word: its
//! executable (`/proc/PID/exe`, read again at each check and compared
//! with the one read when it connected), its session (`/proc/PID/stat`
//! field 6, else its process group), whether it has a controlling
//! terminal (field 7), and its command line (for the people who approve).
//! Elsewhere than Linux nothing is known, and policies that need it refuse.

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::error::AgentError;
use crate::transport::Peer;

/// A login session, as stable as the kernel makes it: the session id (or
/// process group) and the start time of its leader, so a session id reused
/// by a later session is another session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Session {
    kind: &'static str,
    id: i64,
    leader_start: u64,
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// The caller of one request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub pid: u32,
    /// Its executable now; `None` when the kernel does not say.
    pub exe: Option<String>,
    pub session: Option<Session>,
    /// It has a controlling terminal.
    pub tty: bool,
    pub cmdline: Vec<String>,
}

/// The fields of `/proc/PID/stat` after the command name (which may hold
/// spaces and parentheses, so it is skipped up to the last `)`): index 0 is
/// field 3 (state).
fn stat_fields(pid: i64) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

const PGRP: usize = 2;
const SESSION: usize = 3;
const TTY_NR: usize = 4;
const START_TIME: usize = 19;

fn field(fields: &[String], i: usize) -> Option<i64> {
    fields.get(i)?.parse().ok()
}

fn start_time(pid: i64) -> u64 {
    stat_fields(pid)
        .and_then(|f| f.get(START_TIME)?.parse().ok())
        .unwrap_or(0)
}

/// The session of a process from its stat fields: the session id when the
/// kernel shows one (0 when the leader is outside our pid namespace), else
/// the process group, else the process itself.
fn session_of(pid: u32, fields: &[String]) -> Session {
    let (kind, id) = match (field(fields, SESSION), field(fields, PGRP)) {
        (Some(s), _) if s > 0 => ("session", s),
        (_, Some(g)) if g > 0 => ("process group", g),
        _ => ("process", i64::from(pid)),
    };
    Session {
        kind,
        id,
        leader_start: start_time(id),
    }
}

fn exe_of(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string())
}

fn cmdline_of(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .take(64)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Caller {
    /// The caller of a request on a connection from `peer`. Refused when
    /// the process runs another program than the one that connected (it
    /// exec'd, or passed the connection on and its pid was reused).
    pub fn of(peer: Option<&Peer>) -> Result<Self, AgentError> {
        let Some(pid) = peer.and_then(|p| p.pid) else {
            return Err(AgentError::NotAllowed(
                "the agent cannot tell which process asks (no peer credentials), and this environment's policy needs to know".into(),
            ));
        };
        let exe = exe_of(pid);
        let connected = peer.and_then(|p| p.exe.as_deref().map(str::to_owned));
        if connected.is_some() && exe != connected {
            return Err(AgentError::NotAllowed(format!(
                "process {pid} connected as {} but now runs {}: connect again",
                connected.as_deref().unwrap_or("?"),
                exe.as_deref().unwrap_or("an unknown program")
            )));
        }
        let fields = stat_fields(i64::from(pid));
        Ok(Self {
            pid,
            exe,
            session: fields.as_deref().map(|f| session_of(pid, f)),
            tty: fields
                .as_deref()
                .and_then(|f| field(f, TTY_NR))
                .is_some_and(|t| t != 0),
            cmdline: cmdline_of(pid),
        })
    }

    /// The executable, or words for an unknown one.
    pub fn exe_words(&self) -> &str {
        self.exe.as_deref().unwrap_or("an unknown program")
    }

    /// True when this is the dbcreds CLI: the `dbcreds` binary beside the
    /// agent's own executable (the pair a package or `cargo install` puts
    /// side by side), matched by its resolved path.
    pub fn is_dbcreds_cli(&self) -> bool {
        match (cli_binary(), &self.exe) {
            (Some(cli), Some(exe)) => cli.as_os_str() == std::ffi::OsStr::new(exe),
            _ => false,
        }
    }

    /// The command line for people, shortened.
    pub fn cmdline_words(&self) -> String {
        let mut s = self.cmdline.join(" ");
        if s.chars().count() > 200 {
            s = s.chars().take(200).collect::<String>() + "...";
        }
        s
    }
}

/// The dbcreds CLI this agent trusts for `exec`'s child and for answering
/// approvals: `dbcreds` in the directory of the agent's executable.
pub fn cli_binary() -> Option<&'static PathBuf> {
    static CLI: OnceLock<Option<PathBuf>> = OnceLock::new();
    CLI.get_or_init(|| {
        let me = std::env::current_exe().ok()?;
        let name = if cfg!(windows) {
            "dbcreds.exe"
        } else {
            "dbcreds"
        };
        std::fs::canonicalize(me.parent()?.join(name)).ok()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_session_and_an_executable() {
        let peer = Peer {
            pid: Some(std::process::id()),
            uid: None,
            exe: None,
        };
        let me = Caller::of(Some(&peer)).unwrap();
        assert!(me.exe.is_some());
        assert!(me.session.is_some());
        assert!(!me.cmdline.is_empty());
        assert!(!me.is_dbcreds_cli());
    }

    #[test]
    fn a_process_that_changed_its_program_is_refused() {
        let peer = Peer {
            pid: Some(std::process::id()),
            uid: None,
            exe: Some("/usr/bin/psql".into()),
        };
        let err = Caller::of(Some(&peer)).unwrap_err();
        assert!(err.to_string().contains("now runs"), "{err}");
    }

    #[test]
    fn a_command_name_with_parentheses_does_not_shift_the_fields() {
        let text = "42 (a) b) S 1 7 9 34816 0";
        let rest = &text[text.rfind(')').unwrap() + 1..];
        let f: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
        assert_eq!(field(&f, SESSION), Some(9));
        assert_eq!(field(&f, PGRP), Some(7));
        assert_eq!(field(&f, TTY_NR), Some(34816));
    }
}

//! The words of confirmations: the askpass question, the subject of a
//! waiting note, and the JSON a decision leaves in the audit log.

use std::time::Duration;

use super::caller::{Caller, Session};
use super::confirm::Ask;

/// "'prod'", or "`export` on the whole vault".
pub fn subject(ask: &Ask) -> String {
    if ask.env == "*" {
        format!("`{}` on the whole vault", ask.op)
    } else {
        format!("'{}'", ask.env)
    }
}

/// The askpass question, as ssh-add -c words its own: who asks and what.
pub fn prompt(ask: &Ask, who: &Caller) -> String {
    let scope = match ask.session_for {
        Some(d) => format!(
            "Approving lets this session ({}) do it for {}.",
            who.session
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), ToString::to_string),
            humantime::format_duration(d)
        ),
        None => "Approving allows this request only.".to_owned(),
    };
    format!(
        "dbcreds: allow {} (pid {}) to {}?\n{}\n{}",
        who.exe_words(),
        who.pid,
        ask.what,
        who.cmdline_words(),
        scope
    )
}

/// The JSON a decision's audit event carries.
pub fn detail(ask: &Ask, by: &str, valid: Option<Duration>, session: Option<&Session>) -> String {
    serde_json::json!({
        "request": ask.op,
        "by": by,
        "valid_secs": valid.map_or(0, |d| d.as_secs()),
        "session": session.map(ToString::to_string).unwrap_or_default(),
        "child_exe": ask.child.clone().unwrap_or_default(),
    })
    .to_string()
}

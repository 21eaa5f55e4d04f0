//! `dbcreds status` (and `dbcreds agent status`): the agent's state. Never
//! starts an agent.

use chrono::{TimeZone, Utc};
use dbcreds::proto::PROTOCOL;
use dbcreds::{Client, Error, LockState, Status};
use serde::Serialize;

use crate::args::StatusArgs;
use crate::exit::{self, Failure};
use crate::output::{self, Paint};

#[derive(Serialize)]
struct StatusJson<'a> {
    running: bool,
    socket: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<u32>,
    client_version: &'static str,
    client_protocol: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unlockers: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vault_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environments: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unlocked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_lock_in_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hard_lock_in_secs: Option<i64>,
    /// Why the vault cannot be used; only for the states `damaged` and
    /// `too_new`.
    #[serde(skip_serializing_if = "Option::is_none")]
    vault_error: Option<&'a str>,
    /// Environments whose secret was forgotten after their policy's
    /// max_unlocked (`dbcreds unlock` brings them back).
    #[serde(skip_serializing_if = "Option::is_none")]
    forgotten: Option<&'a [String]>,
}

pub async fn run(a: StatusArgs) -> Result<(), Failure> {
    let mut client = match Client::connect().await {
        Ok(c) => c,
        Err(e @ Error::AgentUnreachable { .. }) => {
            if a.json {
                let socket = dbcreds::paths::socket();
                output::json(&StatusJson {
                    running: false,
                    socket: socket.display().to_string(),
                    agent_version: None,
                    protocol: None,
                    client_version: env!("CARGO_PKG_VERSION"),
                    client_protocol: PROTOCOL,
                    state: None,
                    unlockers: None,
                    vault_path: None,
                    pid: None,
                    environments: None,
                    unlocked_at: None,
                    idle_lock_in_secs: None,
                    hard_lock_in_secs: None,
                    vault_error: None,
                    forgotten: None,
                })?;
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let st = client.status().await?;
    let socket = client.socket().display().to_string();
    if a.json {
        output::json(&StatusJson {
            running: true,
            socket,
            agent_version: Some(&st.agent_version),
            protocol: Some(st.protocol),
            client_version: env!("CARGO_PKG_VERSION"),
            client_protocol: PROTOCOL,
            state: Some(st.state.as_str()),
            unlockers: Some(st.unlockers.iter().map(|u| u.as_str()).collect()),
            vault_path: Some(&st.vault_path),
            pid: Some(st.pid),
            environments: Some(st.environments),
            unlocked_at: unlocked_at(&st).map(output::rfc3339),
            idle_lock_in_secs: st.idle_lock_in_secs,
            hard_lock_in_secs: st.hard_lock_in_secs,
            vault_error: (!st.vault_error.is_empty()).then_some(st.vault_error.as_str()),
            forgotten: (!st.forgotten.is_empty()).then_some(st.forgotten.as_slice()),
        })?;
    } else {
        let mut text = human(&st, &socket, output::color_stdout());
        text.push_str(&sources_rows(&mut client).await);
        output::stdout(&text)?;
    }
    if st.protocol != PROTOCOL {
        return Err(Error::ProtocolMismatch {
            agent: st.protocol,
            client: PROTOCOL,
        }
        .into());
    }
    // Reported above; the exit code tells a script as get and list would.
    unusable_vault(&st).map_or(Ok(()), Err)
}

/// The failure of a vault the agent cannot use (the code `get` would
/// exit with), or `None`.
pub fn unusable_vault(st: &Status) -> Option<Failure> {
    let code = match st.state {
        LockState::Damaged => exit::VAULT_CORRUPT,
        LockState::TooNew => exit::VAULT_TOO_NEW,
        _ => return None,
    };
    Some(Failure::new(code, st.vault_error.clone()))
}

fn unlocked_at(st: &Status) -> Option<chrono::DateTime<Utc>> {
    if st.unlocked_at == 0 {
        None
    } else {
        Utc.timestamp_opt(st.unlocked_at, 0).single()
    }
}

/// "12m (idle), 7h 59m (at most)", or "never" with no timers running.
fn locks_in(st: &Status) -> String {
    let fmt = |s: i64| {
        let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
        match (h, m) {
            (0, 0) => format!("{sec}s"),
            (0, _) => format!("{m}m {sec}s"),
            _ => format!("{h}h {m}m"),
        }
    };
    let parts: Vec<String> = [
        (st.idle_lock_in_secs, "idle"),
        (st.hard_lock_in_secs, "at most"),
    ]
    .into_iter()
    .filter_map(|(v, what)| v.map(|s| format!("{} ({what})", fmt(s))))
    .collect();
    if parts.is_empty() {
        "never".into()
    } else {
        parts.join(", ")
    }
}

/// The sources and what the agent holds from them (lease times), when it
/// has any; nothing from an agent without sources (an older one).
async fn sources_rows(client: &mut Client) -> String {
    let Ok(sources) = client.sources(false).await else {
        return String::new();
    };
    if sources.is_empty() {
        return String::new();
    }
    let names: Vec<String> = sources
        .iter()
        .map(|s| format!("{} ({})", s.name, s.kind))
        .collect();
    let mut out = format!("{:<13} {}\n", "sources:", names.join(", "));
    let envs = client.list().await.unwrap_or_default();
    let held: Vec<String> = envs
        .iter()
        .filter_map(|e| {
            let c = e.cached.as_ref()?;
            let mut w = e.name.to_string();
            if !c.lease.is_empty() {
                w.push_str(&format!(" lease …{}", c.lease));
            }
            if let Some(t) = c.valid_until {
                w.push_str(&format!(" until {}", t.format("%H:%M:%S UTC")));
            }
            Some(w)
        })
        .collect();
    if !held.is_empty() {
        out.push_str(&format!("{:<13} {}\n", "cached:", held.join("; ")));
    }
    out
}

fn human(st: &Status, socket: &str, color: bool) -> String {
    let (state, paint) = match st.state {
        LockState::Unlocked => match unlocked_at(st) {
            Some(t) => (
                format!("unlocked since {}", output::human_time(t)),
                Paint::Green,
            ),
            None => ("unlocked".to_string(), Paint::Green),
        },
        LockState::Locked => ("locked (run `dbcreds unlock`)".to_string(), Paint::Yellow),
        LockState::Uninitialized => (
            "no vault yet (run `dbcreds init`)".to_string(),
            Paint::Yellow,
        ),
        LockState::Damaged | LockState::TooNew => (
            format!(
                "{} ({})",
                if st.state == LockState::Damaged {
                    "damaged"
                } else {
                    "written by a newer dbcreds"
                },
                st.vault_error
            ),
            Paint::Red,
        ),
        LockState::Unknown => ("unknown".to_string(), Paint::Red),
    };
    let unlockers = if st.unlockers.is_empty() {
        "-".to_string()
    } else {
        let names: Vec<&str> = st.unlockers.iter().map(|u| u.as_str()).collect();
        names.join(", ")
    };
    let mut rows = vec![
        (
            "agent",
            format!(
                "running, pid {}, version {} (protocol {})",
                st.pid, st.agent_version, st.protocol
            ),
            Paint::Plain,
        ),
        ("socket", socket.to_owned(), Paint::Plain),
        ("vault", st.vault_path.clone(), Paint::Plain),
        ("state", state, paint),
        ("unlockers", unlockers, Paint::Plain),
        ("environments", st.environments.to_string(), Paint::Plain),
        ("locks in", locks_in(st), Paint::Plain),
    ];
    if !st.forgotten.is_empty() {
        rows.push((
            "forgotten",
            format!(
                "{} (max_unlocked of their policy; `dbcreds unlock` brings them back)",
                st.forgotten.join(", ")
            ),
            Paint::Yellow,
        ));
    }
    let mut out = String::new();
    for (k, v, p) in rows {
        out.push_str(&format!("{:<13} {}\n", format!("{k}:"), p.apply(&v, color)));
    }
    out
}

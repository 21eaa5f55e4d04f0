//! `dbcreds audit [NAME]`: the agent's audit log (reveals, tests,
//! rotations), as a table or JSON. Works while the vault is locked.

use dbcreds::{AuditEvent, AuditQuery, Decision};
use serde::Serialize;

use crate::args::AuditArgs;
use crate::exit::Failure;
use crate::output::{self, Cell, Paint};

#[derive(Serialize)]
struct EventJson<'a> {
    at: String,
    environment: &'a str,
    operation: &'a str,
    client_pid: Option<u32>,
    client_uid: Option<u32>,
    client_exe: Option<&'a str>,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<DecisionJson<'a>>,
}

#[derive(Serialize)]
struct DecisionJson<'a> {
    request: &'a str,
    by: Option<&'a str>,
    valid_secs: Option<u64>,
    session: &'a str,
    child_exe: Option<&'a str>,
}

impl<'a> From<&'a Decision> for DecisionJson<'a> {
    fn from(d: &'a Decision) -> Self {
        Self {
            request: &d.request,
            by: d.by.as_deref(),
            valid_secs: d.valid_for.map(|v| v.as_secs()),
            session: &d.session,
            child_exe: d.child_exe.as_deref(),
        }
    }
}

pub async fn run(a: AuditArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let page = client
        .audit_page(&AuditQuery {
            name: a.name,
            since: a.since,
            limit: a.limit,
            decisions: a.decisions,
        })
        .await?;
    if let Some(before) = page.pruned_before {
        // On stderr: stdout stays the events alone, for scripts.
        eprintln!(
            "note: {} older events (up to {}) were removed by the retention (365 days, the newest 1,000,000 events)",
            page.pruned,
            output::rfc3339(before)
        );
    }
    let events = page.events;
    if a.json {
        let docs: Vec<EventJson<'_>> = events
            .iter()
            .map(|e| EventJson {
                at: output::rfc3339(e.at),
                environment: &e.environment,
                operation: &e.operation,
                client_pid: e.client_pid,
                client_uid: e.client_uid,
                client_exe: e.client_exe.as_deref(),
                outcome: &e.outcome,
                decision: e.decision.as_ref().map(DecisionJson::from),
            })
            .collect();
        return output::json(&docs);
    }
    if events.is_empty() {
        output::note("No audit events match.");
        return Ok(());
    }
    if a.decisions {
        return output::stdout(&decisions(&events, output::color_stdout()));
    }
    output::stdout(&table(&events, output::color_stdout()))
}

const DECISION_HEADER: [&str; 8] = [
    "TIME",
    "ENVIRONMENT",
    "DECISION",
    "REQUEST",
    "PID",
    "EXECUTABLE",
    "BY",
    "FOR",
];

/// `--decisions`: what was asked, what was answered, by whom, how long.
fn decisions(events: &[AuditEvent], color: bool) -> String {
    let plain = |s: String| -> Cell { (s, Paint::Plain) };
    let dash = || "-".to_owned();
    let rows: Vec<Vec<Cell>> = events
        .iter()
        .map(|e| {
            let d = e.decision.as_ref();
            let mut request = d.map_or_else(dash, |d| d.request.clone());
            if let Some(child) = d.and_then(|d| d.child_exe.as_deref()) {
                request.push_str(&format!(" -> {child}"));
            }
            vec![
                plain(e.at.format("%Y-%m-%d %H:%M:%S").to_string()),
                (e.environment.clone(), Paint::Bold),
                if e.outcome == "approved" {
                    (e.outcome.clone(), Paint::Green)
                } else {
                    (e.outcome.clone(), Paint::Red)
                },
                plain(request),
                plain(e.client_pid.map_or_else(dash, |p| p.to_string())),
                plain(e.client_exe.clone().unwrap_or_else(dash)),
                plain(d.and_then(|d| d.by.clone()).unwrap_or_else(dash)),
                plain(d.and_then(|d| d.valid_for).map_or_else(dash, |v| {
                    format!("{} (session)", humantime::format_duration(v))
                })),
            ]
        })
        .collect();
    output::table(&DECISION_HEADER, &rows, color)
}

const HEADER: [&str; 6] = [
    "TIME",
    "ENVIRONMENT",
    "OPERATION",
    "PID",
    "EXECUTABLE",
    "OUTCOME",
];

fn table(events: &[AuditEvent], color: bool) -> String {
    let plain = |s: String| -> Cell { (s, Paint::Plain) };
    let rows: Vec<Vec<Cell>> = events
        .iter()
        .map(|e| {
            vec![
                plain(e.at.format("%Y-%m-%d %H:%M:%S").to_string()),
                (e.environment.clone(), Paint::Bold),
                plain(e.operation.clone()),
                plain(e.client_pid.map_or_else(|| "-".into(), |p| p.to_string())),
                plain(e.client_exe.clone().unwrap_or_else(|| "-".into())),
                if e.outcome == "ok" {
                    plain(e.outcome.clone())
                } else {
                    (e.outcome.clone(), Paint::Red)
                },
            ]
        })
        .collect();
    output::table(&HEADER, &rows, color)
}

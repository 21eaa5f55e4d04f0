//! `dbcreds audit [NAME]`: the agent's audit log (reveals, tests,
//! rotations), as a table or JSON. Works while the vault is locked.

use dbcreds::{AuditEvent, AuditQuery};
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
}

pub async fn run(a: AuditArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let page = client
        .audit_page(&AuditQuery {
            name: a.name,
            since: a.since,
            limit: a.limit,
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
            })
            .collect();
        return output::json(&docs);
    }
    if events.is_empty() {
        output::note("No audit events match.");
        return Ok(());
    }
    output::stdout(&table(&events, output::color_stdout()))
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

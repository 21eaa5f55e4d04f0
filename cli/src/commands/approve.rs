//! `dbcreds approve [ID | --deny ID]`: the requests waiting for a
//! confirmation (who asks, with what command line, for what), and the
//! answer to one. The agent takes the answer only from this binary, on a
//! terminal of another session than the requester's.

use chrono::Utc;
use dbcreds::policy::PendingApproval;
use serde::Serialize;

use crate::args::ApproveArgs;
use crate::exit::Failure;
use crate::output;

#[derive(Serialize)]
struct PendingJson<'a> {
    id: u64,
    environment: &'a str,
    operation: &'a str,
    client_pid: u32,
    client_exe: &'a str,
    client_cmdline: &'a [String],
    child_exe: Option<&'a str>,
    session: &'a str,
    requested_at: Option<String>,
    expires_at: Option<String>,
}

pub async fn run(a: ApproveArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    if let Some((id, approve)) = a.id.map(|i| (i, true)).or(a.deny.map(|i| (i, false))) {
        client.answer_approval(id, approve).await?;
        output::note(&format!(
            "{} request {id}.",
            if approve { "Approved" } else { "Refused" }
        ));
        return Ok(());
    }
    let pending = client.approvals().await?;
    if a.json {
        let docs: Vec<PendingJson<'_>> = pending
            .iter()
            .map(|p| PendingJson {
                id: p.id,
                environment: &p.environment,
                operation: &p.operation,
                client_pid: p.client_pid,
                client_exe: &p.client_exe,
                client_cmdline: &p.client_cmdline,
                child_exe: p.child_exe.as_deref(),
                session: &p.session,
                requested_at: p.requested_at.map(output::rfc3339),
                expires_at: p.expires_at.map(output::rfc3339),
            })
            .collect();
        return output::json(&docs);
    }
    if pending.is_empty() {
        output::note("No request waits for a confirmation.");
        return Ok(());
    }
    output::stdout(&pending.iter().map(describe).collect::<String>())
}

/// One request in words: what, who, from where, until when.
fn describe(p: &PendingApproval) -> String {
    let left = p
        .expires_at
        .map(|t| (t - Utc::now()).num_seconds().max(0))
        .map_or_else(String::new, |s| {
            format!(", refused in {s}s unless answered")
        });
    let what = if p.environment == "*" {
        format!("{} (the whole vault)", p.operation)
    } else {
        format!("{} '{}'", p.operation, p.environment)
    };
    // Every line on its own: the command line is the requester's to choose.
    let mut lines = vec![
        format!("{}  {what}{left}", p.id),
        format!(
            "    by pid {} {} ({})",
            p.client_pid,
            if p.client_exe.is_empty() {
                "?"
            } else {
                &p.client_exe
            },
            p.session
        ),
        format!("    command: {}", p.client_cmdline.join(" ")),
    ];
    if let Some(child) = &p.child_exe {
        lines.push(format!("    for the program: {child} (dbcreds exec)"));
    }
    lines.push(format!(
        "    answer: dbcreds approve {id}   or   dbcreds approve --deny {id}",
        id = p.id
    ));
    lines
        .iter()
        .map(|l| format!("{}\n", output::printable(l)))
        .collect()
}

//! `GET /audit`: the agent's audit log, newest first, filtered by
//! environment and by time (`since`: a duration back from now or a time,
//! as `dbcreds audit --since` takes it).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use dbcreds::{AuditEvent, AuditQuery, EnvName, InvalidInput};
use maud::{Markup, html};
use serde::Deserialize;

use super::widgets::{Input, input};
use super::{Failure, Nav, page, when};
use crate::form::Errors;
use crate::state::AppState;

/// The filters (a GET form, so a filtered view can be bookmarked).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Filters {
    environment: String,
    since: String,
}

/// A duration back from now (`30m`, `12h`, `7d`, `2w`), an RFC 3339 time,
/// or a date (midnight UTC), as `dbcreds audit --since`.
pub fn parse_since(raw: &str) -> Result<DateTime<Utc>, InvalidInput> {
    let t = raw.trim();
    if let Ok(d) = humantime::parse_duration(t)
        && let Ok(d) = chrono::Duration::from_std(d)
        && let Some(at) = Utc::now().checked_sub_signed(d)
    {
        return Ok(at);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Some(at) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(at.and_utc());
    }
    Err(InvalidInput::Field {
        field: "since".into(),
        why: format!(
            "'{raw}' is neither a duration (30m, 12h, 7d) nor a time (2026-01-31T00:00:00Z, 2026-01-31)"
        ),
    })
}

pub async fn audit(
    State(st): State<Arc<AppState>>,
    Query(f): Query<Filters>,
) -> Result<Response, Failure> {
    let mut client = st.client();
    let names = client.list().await?;
    let mut errors = Errors::default();
    let mut q = AuditQuery::default();
    if !f.environment.is_empty() {
        match EnvName::parse(&f.environment) {
            Ok(n) => q.name = Some(n),
            Err(e) => errors.add("environment", e.to_string()),
        }
    }
    if !f.since.trim().is_empty() {
        match parse_since(&f.since) {
            Ok(t) => q.since = Some(t),
            Err(e) => errors.add("since", e.to_string()),
        }
    }
    let page_ = if errors.is_empty() {
        Some(client.audit_page(&q).await?)
    } else {
        None
    };
    let body = html! {
        h1 { "Audit log" }
        form.filters method="get" action="/audit" {
            div.field {
                label for="environment" { "Environment" }
                @if let Some(e) = errors.get("environment") { p.error #environment-error { (e) } }
                select #environment name="environment" {
                    option value="" selected[f.environment.is_empty()] { "every environment" }
                    @for n in &names {
                        option value=(n.name) selected[n.name.as_str() == f.environment] { (n.name) }
                    }
                }
            }
            (input("since", "Since", &f.since, Some("30m, 12h, 7d, or a day: 2026-01-31"), &errors, Input::Text))
            button type="submit" { "Show" }
        }
        @if let Some(p) = &page_ {
            @if p.pruned > 0 {
                p.muted { (p.pruned) " older events were removed by the retention (365 days, the newest 1,000,000)." }
            }
            (events(&p.events))
        }
    };
    let resp = page(&st, "Audit log", Nav::Audit, body);
    Ok(if errors.is_empty() {
        resp
    } else {
        (StatusCode::BAD_REQUEST, resp).into_response()
    })
}

fn events(events: &[AuditEvent]) -> Markup {
    html! {
        @if events.is_empty() {
            p { "No events." }
        } @else {
            table.audit {
                caption { (events.len()) " events, the newest first" }
                thead { tr {
                    th scope="col" { "Time" }
                    th scope="col" { "Environment" }
                    th scope="col" { "Operation" }
                    th scope="col" { "Outcome" }
                    th scope="col" { "Client" }
                } }
                tbody {
                    @for e in events.iter().rev() {
                        tr {
                            td data-label="Time" { (when(e.at)) }
                            td data-label="Environment" { (e.environment) }
                            td data-label="Operation" { (e.operation) }
                            td data-label="Outcome" {
                                @if e.outcome == "ok" { span.badge.healthy { "ok" } } @else { span.badge.expired { (e.outcome) } }
                            }
                            td data-label="Client" { (client(e)) }
                        }
                    }
                }
            }
        }
    }
}

/// The client's program name and pid: `dbcreds-ui (pid 4242)`.
fn client(e: &AuditEvent) -> String {
    let exe = e
        .client_exe
        .as_deref()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned())
        .unwrap_or_else(|| "unknown".into());
    match e.client_pid {
        Some(pid) => format!("{exe} (pid {pid})"),
        None => exe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_times_and_dates() {
        let d = parse_since("2d").unwrap();
        assert!((Utc::now() - d).num_hours() >= 47);
        assert_eq!(
            parse_since("2026-01-31").unwrap().to_rfc3339(),
            "2026-01-31T00:00:00+00:00"
        );
        assert!(parse_since("2026-01-31T10:00:00Z").is_ok());
        assert!(
            parse_since("last week")
                .unwrap_err()
                .to_string()
                .contains("neither a duration")
        );
    }
}

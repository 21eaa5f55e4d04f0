//! The environment list (`/`), the expiry overview (`/check`, as
//! `dbcreds check`), and the old tool's expiry JSON.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use dbcreds::model::EXPIRING_SOON_DAYS;
use dbcreds::{CheckEntry, Environment, Expiry};
use maud::{Markup, html};

use super::widgets::{expiry_badge, expiry_word, production_badge, test_badge};
use super::{Failure, Nav, env_name, page};
use crate::state::AppState;

/// `GET /`: every environment with its kind, host, production flag, last
/// test and expiry badge (the library's arithmetic, as `check`'s).
pub async fn list(State(st): State<Arc<AppState>>) -> Result<Response, Failure> {
    let envs = st.client().list().await?;
    let now = Utc::now();
    let body = html! {
        h1 { "Environments" }
        p { a.button href="/environments/new" { "Add an environment" } }
        @if envs.is_empty() {
            p { "No environments yet." }
        } @else {
            table.envs {
                caption.vh { (envs.len()) " environments" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Kind" }
                    th scope="col" { "Host" }
                    th scope="col" { "Production" }
                    th scope="col" { "Last test" }
                    th scope="col" { "Password" }
                    th scope="col" { "Actions" }
                } }
                tbody {
                    @for env in &envs { (row(env, env.expiry(now))) }
                }
            }
        }
    };
    Ok(page(&st, "Environments", Nav::Environments, body))
}

fn row(env: &Environment, expiry: Expiry) -> Markup {
    let name = env.name.as_str();
    html! {
        tr id={ "env-" (name) } {
            th scope="row" data-label="Name" { a href={ "/environments/" (name) } { (name) } }
            td data-label="Kind" { (env.kind) }
            td data-label="Host" { (location(env)) }
            td data-label="Production" { (production_badge(env.production)) }
            td data-label="Last test" { (test_badge(env.last_test.as_ref())) }
            td data-label="Password" { (expiry_badge(expiry)) }
            td data-label="Actions" {
                div.actions {
                    a href={ "/environments/" (name) "/edit" } { "Edit" span.vh { " " (name) } }
                    form.inline method="post" action={ "/environments/" (name) "/test" } {
                        button type="submit" { "Test" span.vh { " " (name) } }
                    }
                    a href={ "/environments/" (name) "/rotate" } { "Rotate" span.vh { " " (name) } }
                    a href={ "/environments/" (name) "/remove" } { "Remove" span.vh { " " (name) } }
                }
            }
        }
    }
}

/// `host:port`, or the file of a SQLite environment.
pub fn location(env: &Environment) -> String {
    if env.kind.has_server() {
        format!("{}:{}", env.host, env.port)
    } else {
        env.database.clone()
    }
}

/// Worst first: expired, expiring, fresh, never (as `dbcreds check`).
fn rank(e: Expiry) -> u8 {
    match e {
        Expiry::Expired { .. } => 0,
        Expiry::Soon { .. } => 1,
        Expiry::Fresh { .. } => 2,
        _ => 3,
    }
}

/// `GET /check`: what `dbcreds check` says, as a table.
pub async fn check(State(st): State<Arc<AppState>>) -> Result<Response, Failure> {
    let mut entries = st.client().check().await?;
    entries.sort_by_key(|e| (rank(e.expiry), e.environment.name.clone()));
    let count = |w: &str| {
        entries
            .iter()
            .filter(|e| expiry_word(e.expiry) == w)
            .count()
    };
    let body = html! {
        h1 { "Expiry check" }
        p.lead role="status" {
            (count("expired")) " expired, "
            (count("expiring")) " expiring within " (EXPIRING_SOON_DAYS) " days, "
            (count("healthy")) " healthy."
        }
        @if entries.is_empty() {
            p { "No environments yet." }
        } @else {
            table.envs {
                caption.vh { "Passwords, the worst first" }
                thead { tr {
                    th scope="col" { "Status" }
                    th scope="col" { "Name" }
                    th scope="col" { "Expires on" }
                    th scope="col" { "Production" }
                } }
                tbody { @for e in &entries { (check_row(e)) } }
            }
        }
    };
    Ok(page(&st, "Expiry check", Nav::Check, body))
}

fn check_row(e: &CheckEntry) -> Markup {
    let env = &e.environment;
    html! {
        tr {
            td data-label="Status" { (expiry_badge(e.expiry)) }
            th scope="row" data-label="Name" {
                a href={ "/environments/" (env.name) } { (env.name) }
            }
            td data-label="Expires on" {
                (env.password_expires_at().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "-".into()))
            }
            td data-label="Production" { (production_badge(env.production)) }
        }
    }
}

/// `GET /api/environments/{name}/expiry`: the old web UI's expiry JSON.
pub async fn expiry_json(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let env = st.client().describe(&env_name(&raw)?).await?;
    let expiry = env.expiry(Utc::now());
    let days_left = match expiry {
        Expiry::Fresh { days_left } | Expiry::Soon { days_left } => Some(days_left),
        Expiry::Expired { .. } => Some(0),
        _ => None,
    };
    let body = serde_json::json!({
        "name": env.name.as_str(),
        "status": expiry_word(expiry),
        "expiry": expiry.to_string(),
        "days_left": days_left,
        "is_expired": expiry.is_expired(),
        "expires_at": env.password_expires_at().map(|t| t.to_rfc3339()),
        "updated_at": env.password_updated_at.map(|t| t.to_rfc3339()),
        "has_expiry": env.password_expires_at().is_some(),
        "expires_days": env.expires_days,
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

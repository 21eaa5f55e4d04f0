//! What acts on an environment: the connection test, a rotation and a
//! removal (each confirmed first: by a button, or for production by typing
//! the name), and revealing the password (only on its own POST; the agent
//! records the reveal, with this program as the client, in the audit log).

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dbcreds::{EnvName, Environment, Reason, RotateOptions, TestResult};
use maud::{Markup, html};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::list::location;
use super::widgets::{Input, error_summary, input};
use super::{Failure, Nav, env_name, page, see_other, when};
use crate::form::{Errors, FORM};
use crate::state::AppState;

/// The reasons of a database that answered badly: shown on the page, not
/// as a failed page.
fn is_database_failure(e: &dbcreds::Error) -> bool {
    matches!(
        e.reason(),
        Some(
            Reason::Unreachable
                | Reason::LoginFailed
                | Reason::TlsFailed
                | Reason::Unsupported
                | Reason::DatabaseError
                | Reason::RotationUnfinished
        )
    )
}

/// `POST /environments/{name}/test`: the agent connects with the stored
/// credentials; the page shows the server version, latency and TLS, or
/// the failure in the agent's words.
pub async fn test(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let name = env_name(&raw)?;
    let mut client = st.client();
    let env = client.describe(&name).await?;
    let outcome = match client.test(&name).await {
        Ok(r) => success(&name, &r),
        Err(e) if is_database_failure(&e) => html! {
            div.result.failed role="alert" {
                h2 { "The connection failed" }
                p #test-error { (e.to_string()) }
                @if let Some(r) = e.reason() { p.muted { "Reason: " code { (r.as_str()) } } }
            }
        },
        Err(e) => return Err(e.into()),
    };
    let body = html! {
        h1 { "Connection test of " (name) }
        p { (env.kind) " at " (location(&env)) " as " (env.username) }
        (outcome)
        div.actions.bar {
            form.inline method="post" action={ "/environments/" (name) "/test" } {
                button type="submit" { "Test again" }
            }
            a href={ "/environments/" (name) "/edit" } { "Edit " (name) }
            a href={ "/environments/" (name) } { "Back to " (name) }
        }
    };
    Ok(page(
        &st,
        &format!("Test of {name}"),
        Nav::Environments,
        body,
    ))
}

fn success(name: &EnvName, r: &TestResult) -> Markup {
    let tls = if r.tls { "TLS" } else { "no TLS" };
    html! {
        div.result.ok role="status" {
            h2 { "Connected" }
            // The line `dbcreds test` prints.
            p { code #test-line { (name) ": ok, " (r.detail) ", " (r.latency_ms) " ms, " (tls) } }
            dl.details {
                dt { "Server version" } dd #test-version { (r.detail) }
                dt { "Latency" } dd #test-latency { (r.latency_ms) " ms" }
                dt { "Encryption" } dd #test-tls { (if r.tls { "TLS" } else { "none (no TLS)" }) }
                dt { "Tested at" } dd { (when(r.at)) }
            }
        }
    }
}

/// What a confirmation form posts.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Confirm {
    confirm: String,
    length: String,
    admin: String,
    resume: Option<String>,
}

/// The confirmation field: a production environment's name must be typed;
/// any other one's comes with the button.
fn confirm_field(env: &Environment, verb: &str, errors: &Errors) -> Markup {
    let name = env.name.as_str();
    html! {
        @if env.production {
            (input("confirm", &format!("Type {name} to {verb} it"), "",
                   Some("This is a production environment."), errors, Input::Text))
        } @else {
            input type="hidden" name="confirm" value=(name);
        }
    }
}

fn check_confirm(env: &Environment, given: &str, verb: &str, errors: &mut Errors) {
    if given.trim() != env.name.as_str() {
        errors.add(
            "confirm",
            format!(
                "type the environment's name, {}, to {verb} it; nothing was changed",
                env.name
            ),
        );
    }
}

/// `GET /environments/{name}/rotate`: what a rotation does, and its button.
pub async fn rotate_form(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let mut client = st.client();
    let env = client.describe(&env_name(&raw)?).await?;
    let others = client.list().await?;
    Ok(rotate_page(&st, &env, &others, &Errors::default()))
}

fn rotate_page(st: &AppState, env: &Environment, all: &[Environment], errors: &Errors) -> Response {
    let name = env.name.as_str();
    let body = html! {
        h1 { "Rotate the password of " (name) }
        (error_summary(errors))
        p {
            "dbcreds makes a new random password, sets it on " (env.kind) " at " (location(env))
            " for " (env.username) ", logs in with it, and only then stores it (the old one is kept as the previous). "
            "If a step fails, the stored password still logs in."
        }
        @if let Some(state) = &env.rotation {
            div.summary role="alert" {
                p { "A rotation of " (name) " is unfinished (" (state) "). Resuming it tries the pending, current and previous passwords and keeps the one the server takes." }
                form method="post" action={ "/environments/" (name) "/rotate" } {
                    input type="hidden" name="resume" value="on";
                    (confirm_field(env, "rotate", errors))
                    button type="submit" { "Resume the rotation of " (name) }
                }
            }
        }
        form method="post" action={ "/environments/" (name) "/rotate" } novalidate {
            (input("length", "Length of the new password", "32", Some("16 to 128 characters."), errors, Input::Number))
            div.field {
                label for="admin" { "Change it through" }
                select #admin name="admin" {
                    option value="" selected { (name) "'s own login" }
                    @for other in all.iter().filter(|o| o.name != env.name) {
                        option value=(other.name) { (other.name) " (an admin login)" }
                    }
                }
            }
            (confirm_field(env, "rotate", errors))
            div.actions.bar {
                button.danger type="submit" { "Rotate the password of " (name) }
                a href={ "/environments/" (name) } { "Cancel" }
            }
        }
    };
    let resp = page(st, &format!("Rotate {name}"), Nav::Environments, body);
    if errors.is_empty() {
        resp
    } else {
        (StatusCode::BAD_REQUEST, resp).into_response()
    }
}

/// The rotation's options from the form; errors under their fields.
fn rotate_options(c: &Confirm, errors: &mut Errors) -> RotateOptions {
    let mut opts = RotateOptions {
        resume: c.resume.is_some(),
        ..RotateOptions::default()
    };
    let len = c.length.trim();
    if !len.is_empty() {
        match len.parse::<u32>() {
            Ok(n) if (16..=128).contains(&n) => opts.length = Some(n),
            _ => errors.add(
                "length",
                format!("invalid length: '{len}' is not a number from 16 to 128"),
            ),
        }
    }
    if !c.admin.trim().is_empty() {
        match EnvName::parse(c.admin.trim()) {
            Ok(a) => opts.admin = Some(a),
            Err(e) => errors.add("admin", e.to_string()),
        }
    }
    opts
}

/// `POST /environments/{name}/rotate`.
pub async fn rotate(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
    Form(c): Form<Confirm>,
) -> Result<Response, Failure> {
    let mut client = st.client();
    let env = client.describe(&env_name(&raw)?).await?;
    let mut errors = Errors::default();
    check_confirm(&env, &c.confirm, "rotate", &mut errors);
    let opts = rotate_options(&c, &mut errors);
    if errors.is_empty() {
        match client.rotate(&env.name, &opts).await {
            Ok(r) => {
                let name = env.name.as_str();
                let body = html! {
                    h1 { "Rotated " (name) }
                    div.result.ok role="status" {
                        p #rotate-detail { (r.detail) }
                        p.muted { "Outcome: " code { (r.outcome) } }
                    }
                    p { "The new password is stored; the environment's page reveals it." }
                    p { a href={ "/environments/" (name) } { "Back to " (name) } }
                };
                return Ok(page(
                    &st,
                    &format!("Rotated {name}"),
                    Nav::Environments,
                    body,
                ));
            }
            Err(e) if is_database_failure(&e) || e.reason() == Some(Reason::Invalid) => {
                errors.add(FORM, e.to_string());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let all = client.list().await?;
    Ok(rotate_page(&st, &env, &all, &errors))
}

/// `GET /environments/{name}/remove`: the confirmation.
pub async fn remove_form(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let env = st.client().describe(&env_name(&raw)?).await?;
    Ok(remove_page(&st, &env, &Errors::default()))
}

fn remove_page(st: &AppState, env: &Environment, errors: &Errors) -> Response {
    let name = env.name.as_str();
    let body = html! {
        h1 { "Remove " (name) "?" }
        (error_summary(errors))
        p { "Its settings and its password leave the vault. The database and its user stay as they are." }
        form method="post" action={ "/environments/" (name) "/remove" } novalidate {
            (confirm_field(env, "remove", errors))
            div.actions.bar {
                button.danger type="submit" { "Remove " (name) }
                a href={ "/environments/" (name) } { "Cancel" }
            }
        }
    };
    let resp = page(st, &format!("Remove {name}"), Nav::Environments, body);
    if errors.is_empty() {
        resp
    } else {
        (StatusCode::BAD_REQUEST, resp).into_response()
    }
}

/// `POST /environments/{name}/remove`.
pub async fn remove(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
    Form(c): Form<Confirm>,
) -> Result<Response, Failure> {
    let mut client = st.client();
    let env = client.describe(&env_name(&raw)?).await?;
    let mut errors = Errors::default();
    check_confirm(&env, &c.confirm, "remove", &mut errors);
    if !errors.is_empty() {
        return Ok(remove_page(&st, &env, &errors));
    }
    client.remove(&env.name).await?;
    st.flash(format!("Removed {}.", env.name));
    Ok(see_other("/"))
}

/// `POST /environments/{name}/reveal`: the one page with a password in it.
pub async fn reveal(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let name = env_name(&raw)?;
    let cred = st.client().get(&name).await?;
    let body = html! {
        h1 { "Password of " (name) }
        div.field {
            label for="password" { "Password" }
            p.hint #password-hint { "Select it and copy it. The reveal is in the audit log; this page is not kept in the browser's cache." }
            input #password type="text" readonly value=(cred.password().expose_secret())
                aria-describedby="password-hint" autocomplete="off" spellcheck="false";
        }
        p { a href={ "/environments/" (name) } { "Back to " (name) } }
    };
    Ok(page(
        &st,
        &format!("Password of {name}"),
        Nav::Environments,
        body,
    ))
}

//! The vault's lock: the gate in front of the environment pages, the
//! unlock form (keyring button, passphrase field: what the vault has), the
//! lock button; and the settings page, which is `dbcreds status` and
//! `dbcreds doctor` in one.

use std::sync::Arc;

use axum::extract::{Form, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dbcreds::proto::PROTOCOL;
use dbcreds::{LockState, Reason, Status, Unlocker};
use maud::{Markup, html};
use serde::Deserialize;

use super::widgets::error_summary;
use super::{Failure, Nav, page, see_other};
use crate::form::{Errors, FORM, Secret};
use crate::state::AppState;

/// In front of every environment page: a vault that is not unlocked shows
/// the unlock form instead.
pub async fn require_unlocked(
    State(st): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    match st.client().status().await {
        Ok(s) if s.state == LockState::Unlocked => next.run(req).await,
        Ok(_) => see_other("/unlock"),
        Err(e) => Failure::from(e).into_response(),
    }
}

/// `GET /unlock`.
pub async fn unlock_form(State(st): State<Arc<AppState>>) -> Result<Response, Failure> {
    let status = st.client().status().await?;
    if status.state == LockState::Unlocked {
        return Ok(see_other("/"));
    }
    Ok(unlock_page(&st, &status, &Errors::default()))
}

fn unlock_page(st: &AppState, s: &Status, errors: &Errors) -> Response {
    let body = match s.state {
        LockState::Uninitialized => html! {
            h1 { "No vault yet" }
            p { "Create one in a terminal with " code { "dbcreds init" } ", then reload this page." }
        },
        LockState::Damaged | LockState::TooNew | LockState::Unknown => html! {
            h1 { "The vault cannot be used" }
            p.error role="alert" { (s.vault_error) }
            p { "See " a href="/settings" { "Settings" } " for the agent's checks." }
        },
        _ => unlock_forms(s, errors),
    };
    let resp = page(st, "Unlock", Nav::Locked, body);
    if errors.is_empty() {
        resp
    } else {
        (StatusCode::BAD_REQUEST, resp).into_response()
    }
}

fn unlock_forms(s: &Status, errors: &Errors) -> Markup {
    let keyring = s.unlockers.contains(&Unlocker::Keyring);
    let passphrase = s.unlockers.contains(&Unlocker::Passphrase);
    html! {
        h1 { "The vault is locked" }
        p { "The agent holds no key and no password until the vault is unlocked." }
        (error_summary(errors))
        @if keyring {
            form method="post" action="/unlock" {
                input type="hidden" name="method" value="keyring";
                button type="submit" { "Unlock through the OS keyring" }
            }
        }
        @if passphrase {
            form method="post" action="/unlock" novalidate {
                input type="hidden" name="method" value="passphrase";
                div.field {
                    label for="passphrase" { "Passphrase" }
                    @if let Some(e) = errors.get("passphrase") {
                        p.error #passphrase-error { span.vh { "Error: " } (e) }
                    }
                    input #passphrase type="password" name="passphrase" autocomplete="current-password"
                        aria-describedby=[errors.get("passphrase").map(|_| "passphrase-error")]
                        aria-invalid=[errors.get("passphrase").map(|_| "true")];
                }
                button type="submit" { "Unlock with the passphrase" }
            }
        }
    }
}

/// What the unlock forms post.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UnlockForm {
    method: String,
    passphrase: Secret,
}

/// `POST /unlock`.
pub async fn unlock(
    State(st): State<Arc<AppState>>,
    Form(mut f): Form<UnlockForm>,
) -> Result<Response, Failure> {
    let mut client = st.client();
    let mut errors = Errors::default();
    let passphrase = f.passphrase.take();
    let result = if f.method == "keyring" {
        client.unlock(None).await
    } else if secrecy::ExposeSecret::expose_secret(&passphrase).is_empty() {
        errors.add("passphrase", "type the vault's passphrase");
        let status = client.status().await?;
        return Ok(unlock_page(&st, &status, &errors));
    } else {
        client.unlock(Some(&passphrase)).await
    };
    match result {
        Ok(how) => {
            st.set_locked_here(false);
            st.flash(format!("Unlocked {}.", how.describe()));
            Ok(see_other("/"))
        }
        Err(e) => {
            match e.reason() {
                Some(Reason::WrongPassphrase) => errors.add("passphrase", e.to_string()),
                Some(_) => errors.add(FORM, e.to_string()),
                None => return Err(e.into()),
            }
            let status = client.status().await?;
            Ok(unlock_page(&st, &status, &errors))
        }
    }
}

/// `POST /lock`: the agent forgets the key and every password; this page
/// stays, showing the unlock form.
pub async fn lock(State(st): State<Arc<AppState>>) -> Result<Response, Failure> {
    {
        let _gate = st.lock_gate.lock().await;
        st.set_locked_here(true);
        st.client().lock().await?;
    }
    st.flash("Locked: the agent forgot the key and every password.");
    Ok(see_other("/unlock"))
}

/// `GET /settings`: this page, the agent, its checks and the config.
pub async fn settings(State(st): State<Arc<AppState>>) -> Result<Response, Failure> {
    let mut client = st.client();
    let s = client.status().await?;
    let checks = client.diagnose().await;
    let secs = |v: Option<i64>| {
        v.map(|s| {
            humantime::format_duration(std::time::Duration::from_secs(s.max(0) as u64)).to_string()
        })
        .unwrap_or_else(|| "off".into())
    };
    let body = html! {
        h1 { "Settings" }
        h2 { "This page" }
        dl.details {
            dt { "Version" } dd { "dbcreds-ui " (env!("CARGO_PKG_VERSION")) " (protocol " (PROTOCOL) ")" }
            dt { "Address" } dd { (st.origin) ", for this browser only" }
            dt { "Stops" } dd { "after " (humantime::format_duration(st.idle)) " without a request, when the vault is locked elsewhere, or when the agent stops" }
        }
        h2 { "Agent" }
        dl.details {
            dt { "Version" } dd {
                (s.agent_version) " (protocol " (s.protocol) ")"
                @if s.protocol != PROTOCOL { " " span.badge.expired { "another protocol: run dbcreds agent restart" } }
            }
            dt { "Process" } dd { (s.pid) }
            dt { "Socket" } dd { code { (client.socket().display()) } }
            dt { "Vault" } dd { code { (s.vault_path) } }
            dt { "State" } dd { (s.state.as_str()) }
            dt { "Environments" } dd { (s.environments) }
            dt { "Unlockers" } dd { (s.unlockers.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")) }
            dt { "Idle lock" } dd { (secs(s.lock_after_secs)) @if let Some(n) = s.idle_lock_in_secs { " (locks in " (secs(Some(n))) ")" } }
            dt { "Hard cap" } dd { (secs(s.max_unlocked_secs)) @if let Some(n) = s.hard_lock_in_secs { " (locks in " (secs(Some(n))) ")" } }
        }
        h2 { "Checks" }
        @match checks {
            Ok(list) => ul.checks {
                @for c in list {
                    li {
                        @if c.ok { span.badge.healthy { "ok" } } @else { span.badge.expired { "problem" } }
                        " " strong { (c.name) } ": " (c.detail)
                        @if !c.fix.is_empty() { br; "Fix: " (c.fix) }
                    }
                }
            },
            Err(e) => p.error { (e.to_string()) },
        }
        h2 { "Configuration" }
        (config())
    };
    Ok(page(&st, "Settings", Nav::Settings, body))
}

fn config() -> Markup {
    let path = dbcreds::config::path();
    let loaded = dbcreds::config::Config::load();
    let limit = |l: dbcreds::config::Limit| {
        l.duration()
            .map(|d| humantime::format_duration(d).to_string())
            .unwrap_or_else(|| "never".into())
    };
    html! {
        p { "File: " code { (path.display()) } @if !path.exists() { " (not present: the defaults)" } }
        @match loaded {
            Ok(c) => dl.details {
                dt { "lock_after" } dd { (limit(c.lock_after)) }
                dt { "max_unlocked" } dd { (limit(c.max_unlocked)) }
                dt { "default_expires_days" } dd { (c.default_expires_days.0.map_or_else(|| "never".into(), |d| d.to_string())) }
                dt { "unlocker" } dd { (c.unlocker.map_or_else(|| "auto".into(), |u| u.to_string())) }
                dt { "socket" } dd { (c.socket.map_or_else(|| "the default".into(), |p| p.display().to_string())) }
            },
            Err(e) => p.error role="alert" { (e.to_string()) },
        }
    }
}

//! One environment: its page, the add form and the edit form. Forms come
//! back with each error next to its field; a saved form redirects (so a
//! reload does not post it again).

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use dbcreds::{Environment, Reason};
use maud::{Markup, html};

use super::list::location;
use super::widgets::{
    Input, checkbox, error_summary, expiry_badge, input, kind_select, production_badge, textarea,
};
use super::{Failure, Nav, env_name, page, see_other, when};
use crate::form::{self, EnvForm, Errors, FORM};
use crate::state::AppState;

/// `GET /environments/{name}`: everything but the password, and what can
/// be done with it.
pub async fn show(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let env = st.client().describe(&env_name(&raw)?).await?;
    let name = env.name.as_str();
    let body = html! {
        h1 { "Environment " (name) }
        (details(&env))
        div.actions.bar {
            a.button href={ "/environments/" (name) "/edit" } { "Edit" }
            form.inline method="post" action={ "/environments/" (name) "/test" } {
                button type="submit" { "Test the connection" }
            }
            a.button.secondary href={ "/environments/" (name) "/rotate" } { "Rotate the password" }
            a.button.danger href={ "/environments/" (name) "/remove" } { "Remove" }
        }
        h2 { "Password" }
        p { "The password is never part of this page. Revealing it is recorded in the audit log." }
        form method="post" action={ "/environments/" (name) "/reveal" } {
            button.secondary type="submit" { "Reveal the password" }
        }
    };
    Ok(page(
        &st,
        &format!("Environment {name}"),
        Nav::Environments,
        body,
    ))
}

fn details(env: &Environment) -> Markup {
    let now = Utc::now();
    html! {
        dl.details {
            dt { "Kind" } dd { (env.kind) }
            dt { "Host" } dd { (location(env)) }
            dt { "Database" } dd { (env.database) }
            dt { "User" } dd { (env.username) }
            dt { "Production" } dd { (production_badge(env.production)) }
            dt { "Description" } dd { (env.description) }
            dt { "Options" } dd {
                @if env.options.is_empty() { span.muted { "none" } }
                @for (k, v) in &env.options { code { (k) "=" (v) } " " }
            }
            dt { "Password" } dd { (expiry_badge(env.expiry(now))) }
            dt { "Password last changed" } dd { (env.password_updated_at.map(when).unwrap_or_else(|| "unknown".into())) }
            dt { "Expires after" } dd {
                @match env.expires_days { Some(d) => { (d) " days" }, None => "never" }
            }
            dt { "Last test" } dd {
                @match &env.last_test {
                    None => span.muted { "never tested" },
                    Some(t) if t.ok => { "ok, " (t.detail) ", " (t.latency_ms) " ms, " (if t.tls { "TLS" } else { "no TLS" }) ", " (when(t.at)) },
                    Some(t) => { "failed (" (t.reason) "): " (t.detail) ", " (when(t.at)) },
                }
            }
            @if let Some(r) = &env.rotation {
                dt { "Rotation" } dd.error { "unfinished (" (r) "): resume it from Rotate" }
            }
            dt { "Created" } dd { (env.created_at.map(when).unwrap_or_default()) }
            dt { "Changed" } dd { (env.updated_at.map(when).unwrap_or_default()) }
        }
    }
}

/// Add or edit.
enum Mode<'a> {
    Add,
    Edit(&'a Environment),
}

fn env_form(f: &EnvForm, errors: &Errors, mode: Mode<'_>) -> Markup {
    let (action, submit) = match mode {
        Mode::Add => ("/environments".to_owned(), "Add the environment"),
        Mode::Edit(env) => (format!("/environments/{}", env.name), "Save the changes"),
    };
    let new_pw = matches!(mode, Mode::Edit(_));
    html! {
        (error_summary(errors))
        form.env method="post" action=(action) novalidate {
            @if let Mode::Add = mode {
                (input("name", "Name", &f.name, Some("1 to 50 of a-z, 0-9, _ and -: dev, staging, prod"), errors, Input::Text))
            }
            (kind_select(&f.kind, errors))
            (input("host", "Host", &f.host, Some("Not used by SQLite."), errors, Input::Text))
            (input("port", "Port", &f.port, Some("Empty: the kind's default port."), errors, Input::Number))
            (input("database", "Database", &f.database, Some("For SQLite, the file's path."), errors, Input::Text))
            (input("username", "User", &f.username, None, errors, Input::Text))
            fieldset {
                legend { (if new_pw { "New password" } else { "Password" }) }
                (input("password", if new_pw { "New password" } else { "Password" }, "",
                       new_pw.then_some("Empty: keep the current password."), errors, Input::Password))
                (input("password_repeat", "The same password again", "", None, errors, Input::Password))
            }
            @if new_pw {
                (input("password_changed", "Password last changed", &f.password_changed,
                       Some("The day the password was last set: set it back when it was changed elsewhere (the expiry counts from it)."),
                       errors, Input::Date))
            }
            (input("expires_days", "Password expires after (days)", &f.expires_days,
                   Some("A number of days, or never."), errors, Input::Number))
            (checkbox("production", "Production environment", f.is_production(),
                      Some("Production asks for the name before a rotation or a removal.")))
            (input("description", "Description", &f.description, None, errors, Input::Text))
            (textarea("options", "Options", &f.options,
                      Some("One KEY=VALUE per line: sslmode=verify-full, sslrootcert=/path/ca.pem, connect_timeout=10."),
                      errors))
            div.actions.bar {
                button type="submit" { (submit) }
                a href=(match mode { Mode::Add => "/".to_owned(), Mode::Edit(e) => format!("/environments/{}", e.name) }) { "Cancel" }
            }
        }
    }
}

/// `GET /environments/new`.
pub async fn new_form(State(st): State<Arc<AppState>>) -> Response {
    // The config's expiry policy, as `dbcreds add` uses it.
    let days = dbcreds::config::Config::load()
        .map(|c| c.default_expires_days.0)
        .unwrap_or(Some(dbcreds::model::DEFAULT_EXPIRES_DAYS));
    let f = EnvForm::blank(days);
    add_page(&st, &f, &Errors::default())
}

fn add_page(st: &AppState, f: &EnvForm, errors: &Errors) -> Response {
    let body = html! {
        h1 { "Add an environment" }
        (env_form(f, errors, Mode::Add))
    };
    with_status(
        page(st, "Add an environment", Nav::Environments, body),
        errors,
    )
}

/// A form with errors is a 400.
fn with_status(resp: Response, errors: &Errors) -> Response {
    if errors.is_empty() {
        resp
    } else {
        (StatusCode::BAD_REQUEST, resp).into_response()
    }
}

/// `POST /environments`: adds it, or shows the form again with the errors.
pub async fn create(
    State(st): State<Arc<AppState>>,
    Form(mut f): Form<EnvForm>,
) -> Result<Response, Failure> {
    let (env, password) = match form::new_environment(&mut f) {
        Ok(v) => v,
        Err(errors) => return Ok(add_page(&st, &f, &errors)),
    };
    match st.client().put(&env, &password, false).await {
        Ok(saved) => {
            st.flash(format!(
                "Added {}: {} (password {}).",
                saved.name,
                dbcreds::render::uri(&saved, None),
                saved.expiry(Utc::now())
            ));
            Ok(see_other(&format!("/environments/{}", saved.name)))
        }
        Err(e) => {
            let mut errors = Errors::default();
            match e.reason() {
                Some(Reason::AlreadyExists) => errors.add("name", e.to_string()),
                Some(Reason::Invalid) => errors.add(FORM, e.to_string()),
                _ => return Err(e.into()),
            }
            Ok(add_page(&st, &f, &errors))
        }
    }
}

/// `GET /environments/{name}/edit`.
pub async fn edit_form(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
) -> Result<Response, Failure> {
    let env = st.client().describe(&env_name(&raw)?).await?;
    Ok(edit_page(&st, &env, &EnvForm::of(&env), &Errors::default()))
}

fn edit_page(st: &AppState, env: &Environment, f: &EnvForm, errors: &Errors) -> Response {
    let title = format!("Edit {}", env.name);
    let body = html! {
        h1 { (title) }
        (env_form(f, errors, Mode::Edit(env)))
    };
    with_status(page(st, &title, Nav::Environments, body), errors)
}

/// `POST /environments/{name}` (and the old UI's `PUT`): the fields that
/// differ from what is stored.
pub async fn update(
    State(st): State<Arc<AppState>>,
    Path(raw): Path<String>,
    Form(mut f): Form<EnvForm>,
) -> Result<Response, Failure> {
    let name = env_name(&raw)?;
    let mut client = st.client();
    let current = client.describe(&name).await?;
    let patch = match form::patch(&mut f, &current) {
        Ok(p) => p,
        Err(errors) => return Ok(edit_page(&st, &current, &f, &errors)),
    };
    if form::is_empty(&patch) {
        st.flash("Nothing changed.");
        return Ok(see_other(&format!("/environments/{name}")));
    }
    match client.update(&name, patch).await {
        Ok(saved) => {
            st.flash(format!(
                "Updated {}: {} (password {}).",
                saved.name,
                dbcreds::render::uri(&saved, None),
                saved.expiry(Utc::now())
            ));
            Ok(see_other(&format!("/environments/{name}")))
        }
        Err(e) if e.reason() == Some(Reason::Invalid) => {
            let mut errors = Errors::default();
            errors.add(FORM, e.to_string());
            Ok(edit_page(&st, &current, &f, &errors))
        }
        Err(e) => Err(e.into()),
    }
}

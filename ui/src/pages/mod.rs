//! The pages: the routes, the layout every page shares, and how a failure
//! becomes a page. Each module holds one group of pages: the environment
//! list and the check overview ([`list`]), one environment and its forms
//! ([`env`]), the database operations and the reveal ([`ops`]), the vault's
//! lock and the settings ([`vault`]), the audit log ([`audit`]); the form
//! controls and badges they share are in [`widgets`].

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use dbcreds::{EnvName, Reason};
use maud::{DOCTYPE, Markup, html};

use crate::guard;
use crate::state::AppState;

mod audit;
mod env;
mod list;
mod ops;
mod vault;
mod widgets;

/// The stylesheet, compiled in: nothing is fetched from anywhere.
const STYLE: &str = include_str!("../style.css");

/// Every route. The environment pages need the vault unlocked (a locked
/// vault shows the unlock form instead); the unlock form, the lock button
/// and the settings do not.
pub fn routes(st: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(list::list))
        .route("/environments", get(list::list).post(env::create))
        .route("/environments/new", get(env::new_form))
        .route(
            "/environments/{name}",
            get(env::show).post(env::update).put(env::update),
        )
        .route("/environments/{name}/edit", get(env::edit_form))
        .route("/environments/{name}/test", post(ops::test))
        .route(
            "/environments/{name}/rotate",
            get(ops::rotate_form).post(ops::rotate),
        )
        .route(
            "/environments/{name}/remove",
            get(ops::remove_form).post(ops::remove),
        )
        .route("/environments/{name}/reveal", post(ops::reveal))
        .route("/check", get(list::check))
        .route("/audit", get(audit::audit))
        .route("/api/environments/{name}/expiry", get(list::expiry_json))
        .route_layer(from_fn_with_state(st.clone(), vault::require_unlocked))
        .route("/unlock", get(vault::unlock_form).post(vault::unlock))
        .route("/lock", post(vault::lock))
        .route("/settings", get(vault::settings))
        .route("/static/style.css", get(style))
        .route(guard::SESSION_PATH, get(guard::exchange))
        .fallback(not_found)
        .with_state(st)
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

async fn not_found() -> Response {
    Failure::NotFound("There is no such page.".into()).into_response()
}

/// Which entry of the navigation is the current page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Environments,
    Check,
    Audit,
    Settings,
    /// A page outside the navigation (the unlock form: no lock button).
    Locked,
}

/// A page with the navigation, and the notice left for it if any.
pub fn page(st: &AppState, title: &str, nav: Nav, body: Markup) -> Response {
    let flash = st.take_flash();
    html_page(title, Some(nav), flash.as_deref(), body).into_response()
}

/// A page without navigation: refusals and failures.
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html_page(title, None, None, body)
}

fn html_page(title: &str, nav: Option<Nav>, flash: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · dbcreds" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/" { "dbcreds" }
                    @if let Some(nav) = nav { (navigation(nav)) }
                }
                main #main tabindex="-1" {
                    @if let Some(f) = flash {
                        p.notice role="status" { (f) }
                    }
                    (body)
                }
                footer {
                    "dbcreds ui " (env!("CARGO_PKG_VERSION"))
                    " · served on 127.0.0.1 to this browser only"
                }
            }
        }
    }
}

fn navigation(current: Nav) -> Markup {
    let link = |nav: Nav, href: &str, text: &str| {
        html! {
            li { a href=(href) aria-current=[(nav == current).then_some("page")] { (text) } }
        }
    };
    html! {
        nav aria-label="Main" {
            ul {
                (link(Nav::Environments, "/", "Environments"))
                (link(Nav::Check, "/check", "Expiry check"))
                (link(Nav::Audit, "/audit", "Audit log"))
                (link(Nav::Settings, "/settings", "Settings"))
                @if current != Nav::Locked {
                    li {
                        form.inline method="post" action="/lock" {
                            button.secondary type="submit" { "Lock the vault" }
                        }
                    }
                }
            }
        }
    }
}

/// The see-other redirect after a form was handled.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A failed page: the agent's error (in the library's words, as the CLI
/// prints them), or a page that does not exist.
pub enum Failure {
    Agent(dbcreds::Error),
    NotFound(String),
}

impl From<dbcreds::Error> for Failure {
    fn from(e: dbcreds::Error) -> Self {
        Self::Agent(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m),
            Self::Agent(e) => match e.reason() {
                // The vault was locked meanwhile: the unlock form.
                Some(Reason::Locked) => return see_other("/unlock"),
                Some(Reason::NotFound) => (StatusCode::NOT_FOUND, e.to_string()),
                Some(Reason::Invalid) => (StatusCode::BAD_REQUEST, e.to_string()),
                Some(_) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                None => (StatusCode::BAD_GATEWAY, e.to_string()),
            },
        };
        let body = html! {
            h1 { "Something went wrong" }
            p.error role="alert" { (message) }
            p { a href="/" { "Back to the environments" } }
        };
        (status, bare_page("Error", body)).into_response()
    }
}

/// The environment named in a path, or a 404.
pub fn env_name(raw: &str) -> Result<EnvName, Failure> {
    EnvName::parse(raw).map_err(|e| Failure::NotFound(e.to_string()))
}

/// The time as pages show it: UTC, to the minute.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

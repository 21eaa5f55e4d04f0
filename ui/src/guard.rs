//! Every request passes here before any page: the `Host` must name
//! 127.0.0.1 and our port (a DNS-rebinding page names its own host), the
//! session cookie must be ours (except for the one token exchange), and a
//! request that changes anything must come from our own origin (CSRF).
//! Every response, refusals included, carries headers that keep it out of
//! frames, caches and referrers and run no script at all.
//!
//! Refusals, documented in the README: 421 Misdirected Request for a
//! foreign `Host`, 401 Unauthorized without our session, 403 Forbidden for
//! a POST from another origin and for a used or wrong token.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::pages::bare_page;
use crate::session::cookie;
use crate::state::AppState;

/// Where the printed URL points: it exchanges the token for the cookie.
pub const SESSION_PATH: &str = "/session";

/// No script, no plugin, no frame, no foreign anything: the page's own
/// stylesheet, and forms that post only to the page.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The checks, then the page, then the headers.
pub async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let mut resp = match refusal(&st, &req) {
        Some(r) => r,
        None => {
            st.touch();
            next.run(req).await
        }
    };
    let strict = resp.extensions().get::<NoReferrer>().is_some();
    secure_headers(resp.headers_mut());
    if strict {
        resp.headers_mut().insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    resp
}

/// Why `req` is refused, as the response; `None` when it may go on.
fn refusal(st: &AppState, req: &Request) -> Option<Response> {
    let headers = req.headers();
    if header_str(headers, header::HOST) != Some(st.host.as_str()) {
        return Some(refused(
            StatusCode::MISDIRECTED_REQUEST,
            "Not this page's address",
            &format!("This page answers only at {}.", st.origin),
        ));
    }
    if req.uri().path() != SESSION_PATH && !has_session(st, headers) {
        return Some(refused(
            StatusCode::UNAUTHORIZED,
            "No session",
            "This page opens only from the link `dbcreds ui` prints: run it again for a new one.",
        ));
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    if !safe && header_str(headers, header::ORIGIN) != Some(st.origin.as_str()) {
        return Some(refused(
            StatusCode::FORBIDDEN,
            "Refused",
            "A change must come from this page's own forms.",
        ));
    }
    None
}

fn has_session(st: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|h| cookie(h, &st.cookie))
        .any(|id| st.session.is_session(id))
}

fn header_str(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn refused(status: StatusCode, title: &str, why: &str) -> Response {
    (status, bare_page(title, html! { p { (why) } })).into_response()
}

fn secure_headers(h: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Not `no-referrer`: under it browsers send `Origin: null` on the
        // page's own form posts (Fetch), and the Origin check above could
        // not tell them from a foreign page's. `same-origin` sends no
        // referrer anywhere else; the one address with a secret in it,
        // the token link, gets `no-referrer` (see `exchange`).
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // A revealed password must not stay in a cache, nor any page
        // after the session ended.
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    for (name, value) in [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /session?token=T`: the token for the session cookie, once, then a
/// redirect that drops the token from the address bar.
pub async fn exchange(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    if let Some(id) = st.session.exchange(&q.token) {
        let cookie = format!("{}={id}; HttpOnly; SameSite=Strict; Path=/", st.cookie);
        let mut resp = Redirect::to("/").into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        return no_referrer(resp);
    }
    // The browser that holds the session (a reload of the old address)
    // goes on; anyone else is refused.
    if has_session(&st, &headers) {
        return no_referrer(Redirect::to("/").into_response());
    }
    no_referrer(refused(
        StatusCode::FORBIDDEN,
        "This link was used",
        "The link works once, for one browser. Run `dbcreds ui` again for a new one.",
    ))
}

/// The token's address goes nowhere as a referrer, not even to the page.
fn no_referrer(mut resp: Response) -> Response {
    resp.extensions_mut().insert(NoReferrer);
    resp
}

/// Marks a response whose request carried the token in its address.
#[derive(Clone, Copy)]
struct NoReferrer;

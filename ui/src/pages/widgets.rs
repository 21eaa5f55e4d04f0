//! Form controls and badges. Every control has a visible label tied to it
//! (`for`/`id`), a hint and an error tied by `aria-describedby`, and an
//! invalid one says so (`aria-invalid`); badges carry words, never colour
//! alone.

use dbcreds::model::TestResult;
use dbcreds::{DatabaseKind, Expiry};
use maud::{Markup, html};

use crate::form::{Errors, FORM};

/// What kind of text input.
#[derive(Clone, Copy)]
pub enum Input {
    Text,
    Number,
    Date,
    Password,
}

impl Input {
    fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "text",
            Self::Date => "date",
            Self::Password => "password",
        }
    }
}

/// `aria-describedby` for a control with an optional hint and error.
fn described_by(id: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if error {
        ids.push(format!("{id}-error"));
    }
    if hint {
        ids.push(format!("{id}-hint"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The label, hint and error above a control.
fn head(id: &str, label: &str, hint: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        label for=(id) { (label) }
        @if let Some(h) = hint { p.hint id={ (id) "-hint" } { (h) } }
        @if let Some(e) = error { p.error id={ (id) "-error" } { span.vh { "Error: " } (e) } }
    }
}

/// A labelled text input.
pub fn input(
    id: &str,
    label: &str,
    value: &str,
    hint: Option<&str>,
    errors: &Errors,
    kind: Input,
) -> Markup {
    let error = errors.get(id);
    html! {
        div.field {
            (head(id, label, hint, error))
            input type=(kind.as_str()) id=(id) name=(id)
                value=[(!matches!(kind, Input::Password)).then_some(value)]
                inputmode=[matches!(kind, Input::Number).then_some("numeric")]
                autocomplete=[matches!(kind, Input::Password).then_some("new-password")]
                aria-describedby=[described_by(id, hint.is_some(), error.is_some())]
                aria-invalid=[error.map(|_| "true")];
        }
    }
}

/// A labelled multi-line input.
pub fn textarea(id: &str, label: &str, value: &str, hint: Option<&str>, errors: &Errors) -> Markup {
    let error = errors.get(id);
    html! {
        div.field {
            (head(id, label, hint, error))
            textarea id=(id) name=(id) rows="3"
                aria-describedby=[described_by(id, hint.is_some(), error.is_some())]
                aria-invalid=[error.map(|_| "true")] { (value) }
        }
    }
}

/// The database kind, with each kind's default port in its name.
pub fn kind_select(value: &str, errors: &Errors) -> Markup {
    let id = "kind";
    let error = errors.get(id);
    html! {
        div.field {
            (head(id, "Database kind", None, error))
            select id=(id) name=(id)
                aria-describedby=[described_by(id, false, error.is_some())]
                aria-invalid=[error.map(|_| "true")] {
                @for k in DatabaseKind::ALL {
                    option value=(k.as_str()) selected[k.as_str() == value] {
                        (k.as_str())
                        @if let Some(p) = k.default_port() { " (port " (p) ")" } @else { " (a file)" }
                    }
                }
            }
        }
    }
}

/// A labelled checkbox.
pub fn checkbox(id: &str, label: &str, checked: bool, hint: Option<&str>) -> Markup {
    html! {
        div.field.check {
            input type="checkbox" id=(id) name=(id) checked[checked]
                aria-describedby=[hint.map(|_| format!("{id}-hint"))];
            label for=(id) { (label) }
            @if let Some(h) = hint { p.hint id={ (id) "-hint" } { (h) } }
        }
    }
}

/// Every error above the form, each a link to its field.
pub fn error_summary(errors: &Errors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.summary role="alert" aria-labelledby="summary-title" {
                h2 #summary-title { "Nothing was saved: fix " (if errors.all().len() == 1 { "this" } else { "these" }) }
                ul {
                    @for (field, message) in errors.all() {
                        @if *field == FORM {
                            li { (message) }
                        } @else {
                            li { a href={ "#" (field) } { (message) } }
                        }
                    }
                }
            }
        }
    }
}

/// The word `check` prints for where a password stands.
pub fn expiry_word(e: Expiry) -> &'static str {
    match e {
        Expiry::Expired { .. } => "expired",
        Expiry::Soon { .. } => "expiring",
        _ => "healthy",
    }
}

/// The password's state: a badge with `check`'s word, and the time left.
pub fn expiry_badge(e: Expiry) -> Markup {
    let word = expiry_word(e);
    html! {
        span class={ "badge " (word) } { (word) }
        " "
        span.detail { (e) }
    }
}

/// The outcome of the last connection test.
pub fn test_badge(t: Option<&TestResult>) -> Markup {
    html! {
        @match t {
            None => span.muted { "never tested" },
            Some(t) if t.ok => { span.badge.healthy { "ok" } " " span.detail { (t.latency_ms) " ms" } },
            Some(t) => { span.badge.expired { "failed" } " " span.detail { (t.reason) } },
        }
    }
}

/// The production marker.
pub fn production_badge(production: bool) -> Markup {
    html! {
        @if production { span.badge.prod { "production" } } @else { span.muted { "no" } }
    }
}

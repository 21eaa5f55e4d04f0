//! What the CLI prints: values on stdout (and only those), human notes on
//! stderr, aligned tables, JSON, and colour only where it is welcome
//! (`NO_COLOR` unset, `TERM` not dumb, and stdout a terminal).

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use dbcreds::{Environment, Expiry};
use serde::Serialize;

use crate::exit::Failure;

/// Whether to colour output written to stdout.
pub fn color_stdout() -> bool {
    color_allowed(
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
        io::stdout().is_terminal(),
    )
}

fn color_allowed(
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
    is_tty: bool,
) -> bool {
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if term.is_some_and(|t| t == "dumb") {
        return false;
    }
    is_tty
}

/// A colour (or weight) for a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Bold,
    Red,
    Yellow,
    Green,
}

impl Paint {
    fn code(self) -> Option<&'static str> {
        match self {
            Self::Plain => None,
            Self::Bold => Some("1"),
            Self::Red => Some("31"),
            Self::Yellow => Some("33"),
            Self::Green => Some("32"),
        }
    }

    /// `text` wrapped in ANSI codes when `color`, else as it is.
    pub fn apply(self, text: &str, color: bool) -> String {
        match self.code() {
            Some(c) if color => format!("\x1b[{c}m{text}\x1b[0m"),
            _ => text.to_owned(),
        }
    }
}

/// The colour for an expiry state.
pub fn expiry_paint(e: Expiry) -> Paint {
    match e {
        Expiry::Expired { .. } => Paint::Red,
        Expiry::Soon { .. } => Paint::Yellow,
        _ => Paint::Plain,
    }
}

fn write_failed(e: &io::Error) -> Failure {
    Failure::other(format!("cannot write to standard output: {e}"))
}

/// Writes `text` to stdout as it is. A closed pipe (`dbcreds list | head`)
/// is not an error.
pub fn stdout(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(write_failed(&e)),
        _ => Ok(()),
    }
}

/// Writes `value` and a newline to stdout in one write.
pub fn stdout_line(value: &str) -> Result<(), Failure> {
    let mut buf = zeroize::Zeroizing::new(String::with_capacity(value.len() + 1));
    buf.push_str(value);
    buf.push('\n');
    stdout(&buf)
}

/// Writes a human note to stderr, with anything unprintable escaped.
pub fn note(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", printable(text));
}

/// `text` with control characters and bidirectional overrides spelled as
/// escapes (`\u{1b}`), for text meant for a terminal: a stored field must
/// not move the cursor, recolour or reorder what `show` and `list` print.
/// The agent refuses control characters in new fields; this covers what
/// a vault held before.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes a warning to stderr as `dbcreds: warning: ...`.
pub fn warn(text: &str) {
    note(&format!("dbcreds: warning: {text}"));
}

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::other(format!("cannot encode JSON: {e}")))?;
    text.push('\n');
    stdout(&text)
}

/// A timestamp as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A timestamp for people: `2026-01-31 14:05 UTC`.
pub fn human_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Whole days since `t` (0 for the future).
pub fn age_days(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - t).num_days().max(0)
}

/// "1 day", "3 days".
pub fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// An environment as `--json` prints it: every field of [`Environment`],
/// timestamps in RFC 3339, and the expiry in words. Never a password.
#[derive(Debug, Serialize)]
pub struct EnvJson<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub username: &'a str,
    pub options: &'a std::collections::BTreeMap<String, String>,
    pub production: bool,
    pub description: &'a str,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub password_updated_at: Option<String>,
    pub expires_days: Option<u32>,
    pub password_expires_at: Option<String>,
    pub expiry: String,
    pub expired: bool,
    /// The connection URI without the password.
    pub uri: String,
    /// The last connection test, if any.
    pub last_test: Option<TestJson<'a>>,
    /// The state of an unfinished rotation (`pending`, `set`, `verified`).
    pub rotation: Option<&'a str>,
    /// How it logs in: `password`, `none` or `cert`.
    pub auth: &'a str,
    /// True for a password environment whose password is not set yet.
    pub password_missing: bool,
    /// Where the password comes from when not the vault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<serde_json::Value>,
    /// What the agent holds from the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached: Option<serde_json::Value>,
}

/// A stored connection-test result as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct TestJson<'a> {
    pub at: String,
    pub ok: bool,
    /// The server version on success, what went wrong on failure.
    pub detail: &'a str,
    pub latency_ms: u32,
    /// The failure's reason (`unreachable`, `login_failed`, ...); absent on success.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub reason: &'a str,
    pub tls: bool,
}

impl<'a> EnvJson<'a> {
    pub fn new(env: &'a Environment, now: DateTime<Utc>) -> Self {
        let expiry = env.expiry(now);
        Self {
            name: env.name.as_str(),
            kind: env.kind.as_str(),
            host: &env.host,
            port: env.port,
            database: &env.database,
            username: &env.username,
            options: &env.options,
            production: env.production,
            description: &env.description,
            created_at: env.created_at.map(rfc3339),
            updated_at: env.updated_at.map(rfc3339),
            password_updated_at: env.password_updated_at.map(rfc3339),
            expires_days: env.expires_days,
            password_expires_at: env.password_expires_at().map(rfc3339),
            expiry: expiry.to_string(),
            expired: expiry.is_expired(),
            uri: dbcreds::render::uri(env, None),
            last_test: env.last_test.as_ref().map(|t| TestJson {
                at: rfc3339(t.at),
                ok: t.ok,
                detail: &t.detail,
                latency_ms: t.latency_ms,
                reason: &t.reason,
                tls: t.tls,
            }),
            rotation: env.rotation.as_deref(),
            auth: env.auth.as_str(),
            password_missing: env.password_missing,
            source: env.source.as_ref().map(|s| {
                serde_json::json!({
                    "kind": s.kind.as_str(),
                    "source": s.source,
                    "location": s.location,
                    "cache_for_secs": s.cache_for.map(|d| d.as_secs()),
                })
            }),
            cached: env.cached.as_ref().map(|c| {
                serde_json::json!({
                    "fetched_at": c.fetched_at.map(rfc3339),
                    "refresh_at": c.refresh_at.map(rfc3339),
                    "valid_until": c.valid_until.map(rfc3339),
                    "lease": c.lease,
                    "renewable": c.renewable,
                    "version": c.version,
                    "from_source": c.from_source,
                })
            }),
        }
    }
}

/// Where the password stands, in a few words for notes: "password expires
/// in 90 days", "password not set yet: ...", "no password: a client
/// certificate".
pub fn password_state(env: &Environment, now: DateTime<Utc>) -> String {
    if env.password_missing {
        return format!(
            "password not set yet: run `dbcreds update {} --password`",
            env.name
        );
    }
    match env.auth {
        dbcreds::Auth::Cert => "no password: a client certificate".into(),
        dbcreds::Auth::None => "no password: --auth none".into(),
        _ => format!("password {}", env.expiry(now)),
    }
}

/// A cell: its text and its paint.
pub type Cell = (String, Paint);

/// Renders rows under a header as left-aligned columns separated by two
/// spaces, the header in bold. Widths count characters, and paint is
/// applied after padding so colour never shifts a column.
pub fn table(header: &[&str], rows: &[Vec<Cell>], color: bool) -> String {
    let cols = header.len();
    let rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|(t, p)| (printable(t).into_owned(), *p))
                .collect()
        })
        .collect();
    let rows = &rows;
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, (text, _)) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(text.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<(&str, Paint)>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (text, paint)) in cells.into_iter().enumerate() {
            let pad = if i == last {
                0
            } else {
                width[i] - text.chars().count() + 2
            };
            line.push_str(&paint.apply(text, color));
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(header.iter().map(|h| (*h, Paint::Bold)).collect());
    for row in rows {
        push_row(
            row.iter()
                .take(cols)
                .map(|(t, p)| (t.as_str(), *p))
                .collect(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_wins() {
        assert!(!color_allowed(Some(OsStr::new("1")), None, true));
        assert!(color_allowed(Some(OsStr::new("")), None, true));
        assert!(!color_allowed(None, Some(OsStr::new("dumb")), true));
        assert!(!color_allowed(None, None, false));
        assert!(color_allowed(None, Some(OsStr::new("xterm")), true));
    }

    #[test]
    fn paint_only_with_color() {
        assert_eq!(Paint::Red.apply("x", false), "x");
        assert_eq!(Paint::Red.apply("x", true), "\x1b[31mx\x1b[0m");
        assert_eq!(Paint::Plain.apply("x", true), "x");
    }

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec![
                ("prod".to_string(), Paint::Red),
                ("5432".into(), Paint::Plain),
            ],
            vec![
                ("a-long-name".to_string(), Paint::Plain),
                ("1".into(), Paint::Plain),
            ],
        ];
        let t = table(&["NAME", "PORT"], &rows, false);
        assert_eq!(t, "NAME         PORT\nprod         5432\na-long-name  1\n");
        let colored = table(&["NAME", "PORT"], &rows, true);
        assert!(colored.contains("\x1b[31mprod\x1b[0m         5432"));
    }

    #[test]
    fn unprintable_text_is_escaped() {
        assert_eq!(printable("db.internal"), "db.internal");
        assert_eq!(printable("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        let rows = vec![vec![("\u{1b}]0;owned\u{7}".to_string(), Paint::Plain)]];
        assert!(!table(&["USER"], &rows, false).contains('\u{1b}'));
    }

    #[test]
    fn json_has_no_password_and_rfc3339_times() {
        use chrono::TimeZone;
        let mut env = Environment::new(
            dbcreds::EnvName::parse("prod").unwrap(),
            dbcreds::DatabaseKind::Postgres,
        );
        env.username = "app".into();
        env.password_updated_at = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let now = Utc.with_ymd_and_hms(2026, 1, 11, 0, 0, 0).unwrap();
        let v = serde_json::to_value(EnvJson::new(&env, now)).unwrap();
        assert_eq!(v["password_updated_at"], "2026-01-01T00:00:00Z");
        assert_eq!(v["password_expires_at"], "2026-04-01T00:00:00Z");
        assert_eq!(v["expiry"], "expires in 80 days");
        assert_eq!(v["expired"], false);
        assert_eq!(v["created_at"], serde_json::Value::Null);
        assert!(v.get("password").is_none());
        assert_eq!(v["uri"], "postgresql://app@localhost:5432/");
    }
}

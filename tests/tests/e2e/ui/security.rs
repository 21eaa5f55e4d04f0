//! The page's refusals, with plain HTTP requests that carry exactly what a
//! test wants: no session, a foreign `Host` (DNS rebinding), a foreign or
//! missing `Origin` on a POST (CSRF), a replayed one-time token, another
//! user's connection; the headers every response carries; and no page
//! that holds the password unless it was revealed.

use std::process::Command;

use dbcreds_tests::{HttpResponse, is_root, root_or_skip, run};

use super::page_with_prod;

/// The headers that keep every response out of frames, caches, referrers
/// and scripts.
#[track_caller]
fn assert_secure_headers(r: &HttpResponse) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    for part in [
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "CSP lacks {part}:\n{r}");
    }
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{r}");
    // `same-origin`, not `no-referrer`: under that, browsers send
    // `Origin: null` on the page's own posts. The token link's answers
    // send none at all (below).
    let policy = r.header("referrer-policy");
    assert!(matches!(policy, Some("same-origin" | "no-referrer")), "{r}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r}");
}

#[test]
fn requests_without_the_session_the_host_or_the_origin_are_refused() {
    let sb = dbcreds_tests::Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    let ui = sb.start_ui(&[]);
    let host = ui.host();

    // No session: 401, and nothing of the vault in the answer.
    let r = ui.get("/", &[]);
    assert_eq!(r.status, 401, "{r}");
    assert!(!r.body.contains("prod"), "{r}");
    assert_secure_headers(&r);
    assert_eq!(ui.get("/static/style.css", &[]).status, 401);
    assert_eq!(ui.post("/lock", &[], "").status, 401);

    // A wrong token opens nothing and does not use up the right one.
    let wrong = format!("/session?token={}", "0".repeat(64));
    assert_eq!(ui.get(&wrong, &[]).status, 403);

    // The token: once, for an HttpOnly SameSite=Strict cookie, then "/".
    let r = ui.get(&ui.token_path(), &[]);
    assert_eq!(r.status, 303, "{r}");
    assert_eq!(r.header("location"), Some("/"), "{r}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{r}");
    let set = r.header("set-cookie").unwrap_or_default().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{attr} not in {set}");
    }
    let cookie = set.split(';').next().unwrap_or_default().to_owned();
    assert!(
        cookie.starts_with(&format!("dbcreds_ui_{}=", ui.port)),
        "{cookie}"
    );
    let c = [("Cookie", cookie.as_str())];
    assert_eq!(ui.get("/", &c).status, 200);

    // Replayed without the cookie: 403.
    let r = ui.get(&ui.token_path(), &[]);
    assert_eq!(r.status, 403, "{r}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{r}");
    assert!(!r.headers.iter().any(|(k, _)| k == "set-cookie"), "{r}");
    // A forged cookie: 401.
    let forged = format!("dbcreds_ui_{}={}", ui.port, "a".repeat(64));
    assert_eq!(ui.get("/", &[("Cookie", &forged)]).status, 401);

    // A foreign Host, even with the cookie: 421 (DNS rebinding).
    for bad in [
        format!("evil.example:{}", ui.port),
        format!("localhost:{}", ui.port),
        "127.0.0.1".into(),
    ] {
        let r = dbcreds_tests::http(
            ui.port,
            "GET",
            "/",
            &[("Host", &bad), ("Cookie", &cookie)],
            None,
        );
        assert_eq!(r.status, 421, "Host {bad}:\n{r}");
        assert!(!r.body.contains("prod"), "{r}");
        assert_secure_headers(&r);
    }

    // A POST from another origin, or with none: 403, and nothing changed.
    for origin in [Some("http://evil.example"), Some("null"), None] {
        let mut h = vec![("Host", host.as_str()), ("Cookie", cookie.as_str())];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        let r = dbcreds_tests::http(ui.port, "POST", "/lock", &h, Some(""));
        assert_eq!(r.status, 403, "Origin {origin:?}:\n{r}");
        let r = dbcreds_tests::http(
            ui.port,
            "POST",
            "/environments/prod/remove",
            &h,
            Some("confirm=prod"),
        );
        assert_eq!(r.status, 403, "Origin {origin:?}:\n{r}");
    }
    assert_eq!(sb.state(), "unlocked");
    assert_eq!(sb.list_json().as_array().map(Vec::len), Some(1));
    // Not even with a page's own `Sec-Fetch-Site` claim: only the Origin counts.
    let h = [
        ("Host", host.as_str()),
        ("Cookie", cookie.as_str()),
        ("Origin", "null"),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    assert_eq!(
        dbcreds_tests::http(ui.port, "POST", "/lock", &h, Some("")).status,
        403
    );

    // Its own origin may: the lock happens.
    let r = ui.post("/lock", &c, "");
    assert_eq!(r.status, 303, "{r}");
    assert_eq!(sb.state(), "locked");
    assert_secure_headers(&r);
}

#[test]
fn no_page_holds_the_password_unless_revealed() {
    let (sb, password, ui, cookie) = page_with_prod();
    let c = [("Cookie", cookie.as_str())];
    let pages = [
        "/",
        "/environments",
        "/environments/new",
        "/environments/prod",
        "/environments/prod/edit",
        "/environments/prod/rotate",
        "/environments/prod/remove",
        "/check",
        "/audit",
        "/audit?environment=prod&since=1d",
        "/settings",
        "/unlock",
        "/static/style.css",
        "/api/environments/prod/expiry",
        "/no-such-page",
    ];
    for p in pages {
        let r = ui.get(p, &c);
        assert!(matches!(r.status, 200 | 303 | 404), "{p}:\n{r}");
        assert!(!r.body.contains(&password), "{p} holds the password");
        assert_secure_headers(&r);
    }
    // The old web UI's expiry JSON, with the `check` words.
    let r = ui.get("/api/environments/prod/expiry", &c);
    assert_eq!(r.header("content-type"), Some("application/json"), "{r}");
    let j: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(j["status"], "healthy", "{j}");
    assert_eq!(j["is_expired"], false, "{j}");
    assert_eq!(j["expires_days"], 90, "{j}");
    // The old UI's PUT updates too (an Origin is still required).
    let r = ui.post(
        "/environments/prod",
        &c,
        "kind=postgres&host=db2.internal&port=5432&database=app&username=app&expires_days=90",
    );
    assert_eq!(r.status, 303, "{r}");
    assert_eq!(sb.show_json("prod")["host"], "db2.internal");
    let put = dbcreds_tests::http(
        ui.port,
        "PUT",
        "/environments/prod",
        &[
            ("Host", &ui.host()),
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some("kind=postgres&host=db3.internal&port=5432&database=app&username=app&expires_days=90"),
    );
    assert_eq!(put.status, 403, "a PUT without Origin:\n{put}");
    assert_eq!(sb.show_json("prod")["host"], "db2.internal");

    // A test (a POST) and a form sent back with errors hold none either.
    let r = ui.post("/environments/prod/test", &c, "");
    assert_eq!(r.status, 200, "{r}");
    assert!(!r.body.contains(&password));
    let form = format!(
        "kind=postgres&host=db.internal&port=99999&database=app&username=app&password={0}&password_repeat={0}&expires_days=90",
        form_encode(&password)
    );
    let r = ui.post("/environments/prod", &c, &form);
    assert_eq!(r.status, 400, "{r}");
    assert!(r.body.contains("invalid port '99999'"), "{r}");
    assert!(
        !r.body.contains(&password),
        "a form with errors echoes the password"
    );

    // The reveal: the password, once, audited as the page's.
    let r = ui.post("/environments/prod/reveal", &c, "");
    assert_eq!(r.status, 200, "{r}");
    assert!(r.body.contains(&password));
    assert_secure_headers(&r);
    let events = sb.audit_events("prod");
    let by_ui = events
        .iter()
        .filter(|e| e["operation"] == "get")
        .filter_map(|e| e["client_exe"].as_str())
        .any(|exe| exe.ends_with("/dbcreds-ui"));
    assert!(by_ui, "no reveal by dbcreds-ui in {events:?}");
}

/// `application/x-www-form-urlencoded` of `s`.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn another_user_cannot_use_the_page_even_with_the_cookie() {
    if !root_or_skip("ui_another_user") {
        return;
    }
    let (_sb, _password, ui, cookie) = page_with_prod();
    let url = format!("{}/", ui.origin());
    let curl = |uid: Option<u32>| {
        let mut cmd = match uid {
            Some(uid) => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={uid}"),
                    &format!("--regid={uid}"),
                    "--clear-groups",
                    "curl",
                ]);
                c
            }
            None => Command::new("curl"),
        };
        cmd.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
            .arg(format!("Cookie: {cookie}"))
            .arg(&url);
        run(cmd, None)
    };
    // The page's own user gets the page: the request is right.
    let mine = curl(None);
    assert_eq!(mine.stdout, "200", "{mine}");
    assert!(is_root());
    // nobody, with the same cookie, gets no answer at all.
    let theirs = curl(Some(65534));
    assert_eq!(theirs.stdout, "000", "{theirs}");
    theirs.failed();
    assert!(
        ui.stderr()
            .contains("refused a connection of another user (uid 65534)"),
        "{}",
        ui.stderr()
    );
}

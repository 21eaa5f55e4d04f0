//! The page in a real browser (headless Chromium over WebDriver), against
//! a real agent and the machine's PostgreSQL, whose test roles must give
//! their password: add through the form, see it listed, edit it, test it
//! (right password, then a wrong one), rotate it, read the audit log,
//! reveal, lock from the page and be asked to unlock, remove. With
//! `DBCREDS_UI_SCREENSHOTS=DIR` the list, edit and test pages are saved
//! as PNGs (docs/ui/ holds the committed ones).

use chrono::{Duration, Utc};
use dbcreds_tests::{Browser, PASSPHRASE, PgTestRole, Sandbox, exported_env, postgres_or_skip};

/// What `dbcreds ARGS` says on stderr, without `dbcreds: `: the page must
/// say the same.
fn cli_error(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.cli(args);
    out.failed();
    out.error_line()
        .strip_prefix("dbcreds: ")
        .unwrap_or_default()
        .to_owned()
}

/// `text` with each run of white space one space (a visually hidden
/// "Error:" prefix ends a line in the browser's text).
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fills the add form for `role` as environment `name` and submits it.
fn add(b: &Browser, name: &str, role: &PgTestRole, password: &str) {
    b.fill("#name", name);
    b.select("#kind", "postgres");
    b.fill("#host", "127.0.0.1");
    b.fill("#port", "");
    b.fill("#database", "postgres");
    b.fill("#username", &role.name);
    b.fill("#password", password);
    b.fill("#password_repeat", password);
    b.fill("#expires_days", "30");
    b.fill("#description", "the shop's database");
    b.fill("#options", "connect_timeout=5");
    b.click("form.env button[type=submit]");
}

/// Sets a new password through the edit form.
fn set_password(b: &Browser, origin: &str, name: &str, password: &str) {
    b.goto(&format!("{origin}/environments/{name}/edit"));
    b.fill("#password", password);
    b.fill("#password_repeat", password);
    b.click("form.env button[type=submit]");
    assert!(b.text(".notice").starts_with(&format!("Updated {name}")));
}

#[test]
fn a_day_in_the_browser_add_list_edit_test_rotate_audit_lock() {
    const T: &str = "ui_browser_day";
    if !postgres_or_skip(T) {
        return;
    }
    let b = or_return!(Browser::start_or_skip(T));
    let sb = Sandbox::with_passphrase_vault();
    let role = PgTestRole::create("ui", "");
    role.assert_password_enforced();
    let ui = sb.start_ui(&[]);
    let origin = ui.origin();

    // The link opens the session and leaves no token in the address.
    b.goto(&ui.url);
    assert_eq!(b.path(), "/");
    assert!(!b.url().contains("token"), "{}", b.url());
    assert!(b.text("main").contains("No environments yet."));

    // A bad name: the error sits next to the field, in the CLI's words.
    b.click("a[href='/environments/new']");
    add(&b, "Shop DB!", &role, &role.password);
    let want = cli_error(
        &sb,
        &[
            "add",
            "Shop DB!",
            "--host",
            "h",
            "--database",
            "d",
            "--user",
            "u",
            "--password-stdin",
        ],
    );
    assert_eq!(words(&b.text("#name-error")), format!("Error: {want}"));
    assert_eq!(
        b.eval("return document.getElementById('name').getAttribute('aria-invalid')"),
        "true"
    );
    assert_eq!(b.value("#password"), "", "a password is never sent back");

    // Added; the default port of the kind.
    add(&b, "shop", &role, &role.password);
    assert_eq!(b.path(), "/environments/shop");
    assert!(
        b.text(".notice").starts_with("Added shop"),
        "{}",
        b.source()
    );
    let shown = sb.show_json("shop");
    assert_eq!(shown["port"], 5432, "{shown}");
    assert_eq!(shown["username"], role.name.as_str(), "{shown}");
    assert_eq!(shown["options"]["connect_timeout"], "5", "{shown}");
    sb.assert_password("shop", &role.password);

    // Two more, imported: one expiring, one expired and in production.
    let mut legacy = exported_env("legacy", 120, Some(90));
    legacy["kind"] = "mariadb".into();
    legacy["port"] = 3306.into();
    legacy["production"] = true.into();
    let both = serde_json::json!([exported_env("analytics", 80, Some(90)), legacy]);
    sb.cli_stdin(&["import", "--from", "json", "-"], &both.to_string())
        .ok();

    // Listed, with kind, host, production, last test and expiry.
    b.click("a.brand");
    assert!(b.text("#env-analytics").contains("expiring"));
    let legacy = b.text("#env-legacy");
    for want in ["mariadb", "production", "expired 30 days ago"] {
        assert!(legacy.contains(want), "{want:?} not in the row: {legacy}");
    }
    let row = b.text("#env-shop");
    for want in [
        "shop",
        "postgres",
        "127.0.0.1:5432",
        "never tested",
        "healthy",
        "expires in 30 days",
    ] {
        assert!(row.contains(want), "{want:?} not in the row: {row}");
    }
    b.screenshot("list");

    // Edited: production, and the password's change backdated past expiry.
    b.click("#env-shop a[href='/environments/shop/edit']");
    b.screenshot("edit");
    b.toggle("#production");
    b.fill("#description", "the shop, in production");
    let back = (Utc::now() - Duration::days(40))
        .format("%Y-%m-%d")
        .to_string();
    // A date input takes keys in the browser's locale; its value is ISO.
    b.eval(&format!(
        "document.getElementById('password_changed').value = '{back}'; return 1"
    ));
    b.click("form.env button[type=submit]");
    assert!(b.text(".notice").starts_with("Updated shop"));
    assert!(
        b.text("dl.details").contains("expired 10 days ago"),
        "{}",
        b.text("dl.details")
    );
    let shown = sb.show_json("shop");
    assert_eq!(shown["production"], true, "{shown}");
    assert_eq!(shown["description"], "the shop, in production", "{shown}");
    assert!(
        shown["password_updated_at"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&back),
        "{shown}"
    );

    // Tested: the server's version, latency and TLS.
    b.click("main form[action='/environments/shop/test'] button");
    let line = b.text("#test-line");
    assert!(line.starts_with("shop: ok, PostgreSQL "), "{line}");
    assert!(
        line.ends_with("no TLS") || line.ends_with(", TLS"),
        "{line}"
    );
    assert!(b.text("#test-latency").ends_with(" ms"));
    b.screenshot("test");

    // A wrong password: the failure on the page, as the CLI says it.
    set_password(&b, &origin, "shop", "certainly-not-the-password");
    b.click("main form[action='/environments/shop/test'] button");
    let shown_error = b.text("#test-error");
    assert_eq!(shown_error, cli_error(&sb, &["test", "shop"]));
    assert!(shown_error.contains("refused the login"), "{shown_error}");
    set_password(&b, &origin, "shop", &role.password);

    // Rotated: production asks for the name first.
    b.goto(&format!("{origin}/environments/shop/rotate"));
    b.click("form[action='/environments/shop/rotate'] button.danger");
    assert!(
        b.text("#confirm-error")
            .contains("type the environment's name, shop")
    );
    sb.assert_password("shop", &role.password);
    b.fill("#confirm", "shop");
    b.click("form[action='/environments/shop/rotate'] button.danger");
    assert!(b.text("h1").starts_with("Rotated shop"), "{}", b.source());
    let rotated = sb.password_of("shop");
    assert_ne!(rotated, role.password);
    role.assert_takes_only(&rotated, &role.password);

    // Revealed on a click, and only then.
    b.goto(&format!("{origin}/environments/shop"));
    assert!(!b.source().contains(&rotated));
    b.click("form[action='/environments/shop/reveal'] button");
    assert_eq!(b.value("#password"), rotated);

    // The audit log: the test, the rotation, the reveal, by dbcreds-ui.
    b.goto(&format!("{origin}/audit?environment=shop"));
    let log = b.text("table.audit");
    for op in ["test", "rotate", "get"] {
        assert!(log.contains(op), "no {op} in the audit view:\n{log}");
    }
    assert!(log.contains("dbcreds-ui (pid"), "{log}");
    b.fill("#since", "last tuesday");
    b.click("form.filters button");
    assert!(b.text("#since-error").contains("neither a duration"));

    // Locked from the page: every page asks for the unlock.
    b.click("form[action='/lock'] button");
    assert_eq!(b.path(), "/unlock");
    assert_eq!(sb.state(), "locked");
    b.goto(&format!("{origin}/environments/shop"));
    assert_eq!(b.path(), "/unlock");
    assert!(b.exists("#passphrase"));
    b.fill("#passphrase", "not the passphrase");
    b.click("form[action='/unlock'] button");
    assert!(b.text("#passphrase-error").contains("wrong passphrase"));
    b.fill("#passphrase", PASSPHRASE);
    b.click("form[action='/unlock'] button");
    assert_eq!(b.path(), "/");
    assert_eq!(sb.state(), "unlocked");

    // Removed, after typing the name of a production environment.
    b.goto(&format!("{origin}/environments/shop/remove"));
    b.fill("#confirm", "shop");
    b.click("form[action='/environments/shop/remove'] button.danger");
    assert_eq!(b.path(), "/");
    assert!(b.text(".notice").contains("Removed shop."));
    assert!(!b.exists("#env-shop"));
    assert_eq!(sb.list_json().as_array().map(Vec::len), Some(2));
}

#[test]
fn narrow_window_labels_and_the_keyboard_alone() {
    const T: &str = "ui_narrow_keyboard";
    let b = or_return!(Browser::start_or_skip(T));
    let sb = Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    let ui = sb.start_ui(&[]);
    let origin = ui.origin();
    b.goto(&ui.url);
    b.window_size(360, 800);
    let pages = [
        "/",
        "/environments/new",
        "/environments/prod",
        "/environments/prod/edit",
        "/environments/prod/rotate",
        "/environments/prod/remove",
        "/check",
        "/audit",
        "/settings",
    ];
    for p in pages {
        b.goto(&format!("{origin}{p}"));
        assert_eq!(b.path(), p);
        // Nothing wider than the window.
        let overflow = b.eval(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        );
        assert_eq!(overflow, 0, "{p} scrolls sideways at 360 px");
        // Every control has a label (or, for buttons, its words).
        let unlabelled = b.eval(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')] \
             .filter(e => e.labels.length === 0).map(e => e.name)",
        );
        assert_eq!(unlabelled, serde_json::json!([]), "{p}");
        let wordless = b.eval(
            "return [...document.querySelectorAll('button, a')].filter(e => !e.textContent.trim()).length",
        );
        assert_eq!(wordless, 0, "{p}");
    }
    b.window_size(1100, 900);

    // The keyboard alone: Tab to the add form's button, Enter posts it.
    b.goto(&format!("{origin}/environments/new"));
    let mut reached = false;
    for _ in 0..40 {
        b.keys("\u{E004}");
        let focused = b.eval("return document.activeElement.textContent.trim()");
        if focused == "Add the environment" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the submit button");
    b.keys("\u{E007}");
    assert!(b.text(".summary").contains("Nothing was saved"));
    // The summary's links lead to the fields.
    assert!(b.exists(".summary a[href='#name']"));
}

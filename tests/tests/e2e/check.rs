//! `dbcreds check` and password expiry: the report, its exit code, and
//! `get`/`exec` with `--require-fresh`.

use dbcreds_tests::{EnvSpec, Output, Sandbox, exit, exported_env};

/// `dbcreds import --from json -` of `doc`; asserts success.
pub(crate) fn import_json(sb: &Sandbox, doc: &serde_json::Value) -> Output {
    let out = sb.cli_stdin(&["import", "--from", "json", "-"], &doc.to_string());
    out.ok();
    out
}

#[test]
fn check_exit_codes_and_expired_get() {
    let sb = Sandbox::with_passphrase_vault();
    let out = sb.cli(&["check"]);
    out.ok();
    assert_eq!(out.stdout, "", "{out}");

    import_json(
        &sb,
        &serde_json::json!([
            exported_env("dev", 10, Some(90)),
            exported_env("staging", 80, Some(90)),
            exported_env("forever", 1000, None),
        ]),
    );
    let out = sb.cli(&["check"]);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[1].starts_with("EXPIRING  staging"), "{out}");
    assert!(lines[1].contains("expires in 10 days"), "{out}");
    assert!(
        lines.last().unwrap().starts_with("0 expired, 1 expiring"),
        "{out}"
    );
    assert!(
        !out.stdout.contains('\x1b'),
        "colour without a terminal:\n{out}"
    );
    let quiet = sb.cli(&["check", "--quiet"]);
    quiet.ok();
    assert!(!quiet.stdout.contains("dev"), "{quiet}");
    assert!(quiet.stdout.contains("staging"), "{quiet}");

    import_json(&sb, &serde_json::json!(exported_env("prod", 100, Some(90))));
    let out = sb.cli(&["check"]);
    out.code(exit::EXPIRED);
    assert!(
        out.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("EXPIRED   prod"),
        "{out}"
    );
    assert_eq!(
        out.error_line(),
        "dbcreds: the password of 'prod' has expired: set a new one with `dbcreds update prod --password`"
    );
    // Issue 10.13: --quiet lists what needs doing and nothing more: no
    // summary line, healthy environments left out.
    let quiet = sb.cli(&["check", "--quiet"]);
    quiet.code(exit::EXPIRED);
    let rows: Vec<&str> = quiet.stdout.lines().collect();
    assert_eq!(rows.len(), 3, "header, prod, staging:\n{quiet}");
    assert!(rows[1].starts_with("EXPIRED   prod"), "{quiet}");
    assert!(rows[2].starts_with("EXPIRING  staging"), "{quiet}");
    assert!(!quiet.stdout.contains("healthy"), "{quiet}");
    let out = sb.cli(&["check", "--json"]);
    out.code(exit::EXPIRED);
    let v = out.json();
    assert_eq!(
        (
            v["expired"].as_u64(),
            v["expiring"].as_u64(),
            v["healthy"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{out}"
    );
    assert_eq!(v["environments"][0]["name"], "prod");
    assert_eq!(v["environments"][0]["days_left"], -10);
    assert!(!out.stdout.contains("pw-prod"), "{out}");

    // get: the expired password with a warning on stderr only, or exit 11
    // with --require-fresh.
    let out = sb.cli(&["get", "prod"]);
    out.ok();
    assert_eq!(out.stdout, "pw-prod\n", "{out}");
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("expired"),
        "{out}"
    );
    sb.cli(&["get", "prod", "--require-fresh"]).fails(
        exit::EXPIRED,
        &["expired", "dbcreds update prod --password"],
    );
    sb.cli(&["exec", "prod", "--require-fresh", "--", "true"])
        .fails(exit::EXPIRED, &["expired"]);

    // A new password resets the clock: check is green again.
    sb.set_password("prod", "new-pw");
    sb.cli(&["check"]).ok();

    // --expires-days round-trips and defaults to 90.
    sb.add(&EnvSpec::new("fresh").host("h").database("d").user("u"))
        .ok();
    assert_eq!(sb.show_json("fresh")["expires_days"], 90);
    sb.cli(&["update", "fresh", "--expires-days", "never"]).ok();
    assert_eq!(
        sb.show_json("fresh")["expires_days"],
        serde_json::Value::Null
    );
    sb.cli(&["update", "fresh", "--expires-days", "7"]).ok();
    let v = sb.show_json("fresh");
    assert_eq!(v["expires_days"], 7);
    assert_eq!(v["expiry"], "expires in 7 days");
}

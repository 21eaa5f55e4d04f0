//! `dbcreds audit`: what was revealed, tested and rotated, by whom; it
//! filters, and it needs no unlock.

use dbcreds_tests::{PgTestRole, exit, has_event};

#[test]
fn audit_lists_filters_and_needs_no_unlock() {
    let (sb, _agent, _role) = or_return!(PgTestRole::vault_or_skip("audit", "aud", &["a", "b"]));
    sb.password_of("a");
    sb.cli(&["test", "a"]).ok();
    sb.password_of("b");

    let events = sb.audit_events("a");
    assert!(has_event(&events, "get", "ok"), "{events:?}");
    assert!(has_event(&events, "test", "ok"), "{events:?}");
    assert!(events.iter().all(|e| e["environment"] == "a"), "{events:?}");
    for e in &events {
        assert!(e["at"].as_str().unwrap_or("").ends_with('Z'), "{e}");
        assert!(e["client_pid"].as_u64().is_some(), "{e}");
    }

    let recent = sb.json(&["audit", "--since", "1h"]);
    assert!(
        recent
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["environment"] == "b")),
        "{recent}"
    );
    assert_eq!(
        sb.json(&["audit", "--since", "2999-01-01"]),
        serde_json::json!([])
    );

    let out = sb.cli(&["audit"]);
    out.ok();
    assert!(out.stdout.starts_with("TIME"), "{out}");
    assert!(out.stdout.contains(" test "), "{out}");

    // Locked: still readable.
    sb.cli(&["lock"]).ok();
    assert!(!sb.audit_events("a").is_empty());
    sb.cli(&["test", "a"])
        .fails(exit::LOCKED, &["locked", "dbcreds unlock"]);
    sb.cli(&["audit", "--since", "yesterday"])
        .fails(exit::USAGE, &["--since"]);
}

/// The audit log has a retention (365 days, the newest 1,000,000 events),
/// pruned by the agent in the background from its start; `audit` says on
/// stderr how much was removed, and stdout stays the events.
#[test]
fn old_audit_events_are_pruned_and_audit_says_so() {
    let sb = dbcreds_tests::Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    sb.assert_password("prod", &password);
    sb.assert_password("prod", &password);
    sb.cli(&["agent", "stop"]).ok();
    // One reveal 400 days old, one fresh.
    sb.vault_sql("UPDATE audit SET at = at - 400*86400 WHERE id = (SELECT min(id) FROM audit WHERE operation = 'get')")
        .ok();
    let out = sb.cli(&["audit", "prod", "--json"]);
    out.ok();
    let events = out.json();
    let gets = events
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["operation"] == "get")
        .count();
    assert_eq!(gets, 1, "the 400-day-old reveal is still listed: {out}");
    assert!(
        out.stderr.contains("1 older events") && out.stderr.contains("retention"),
        "{out}"
    );
    assert_eq!(
        sb.vault_sql("SELECT value FROM meta WHERE key = 'audit_pruned'")
            .stdout
            .trim(),
        "1"
    );
}

/// Issue 10.13: the audit log records what a password was read for —
/// `get`, `get:uri` (and the other fields that carry it), `exec`, `export`
/// — not `get` for all of them; fields without the password are no reveal.
#[test]
fn audit_records_what_each_reveal_was_for() {
    let sb = dbcreds_tests::Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    sb.cli(&["get", "prod"]).ok();
    sb.cli(&["get", "prod", "uri"]).ok();
    sb.cli(&["get", "prod", "jdbc"]).ok();
    sb.cli(&["get", "prod", "libpq"]).ok();
    sb.cli(&["get", "prod", "host"]).ok();
    sb.cli(&["exec", "prod", "--", "true"]).ok();
    sb.cli(&["export", "prod", "--format", "env"]).ok();

    let ops: Vec<String> = sb
        .audit_events("prod")
        .iter()
        .filter(|e| e["outcome"] == "ok")
        .filter_map(|e| e["operation"].as_str().map(str::to_owned))
        .collect();
    let mut reveals: Vec<&str> = ops
        .iter()
        .map(String::as_str)
        .filter(|o| ["get", "get:uri", "get:jdbc", "get:libpq", "exec", "export"].contains(o))
        .collect();
    reveals.sort_unstable();
    assert_eq!(
        reveals,
        ["exec", "export", "get", "get:jdbc", "get:libpq", "get:uri"],
        "one event each, `get prod host` none: {ops:?}"
    );
    let out = sb.cli(&["audit", "prod"]);
    out.ok();
    assert!(out.stdout.contains(" get:uri "), "{out}");
    assert!(out.stdout.contains(" exec "), "{out}");
}

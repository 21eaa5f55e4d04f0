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

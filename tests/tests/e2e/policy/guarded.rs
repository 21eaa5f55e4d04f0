//! What a confirm policy guards besides reveals: rotation, removal,
//! `export --all`, and the policy itself (loosening it, or turning off the
//! production flag the default hangs on); the production default; and
//! `max_unlocked`, which forgets one secret while the others stay.

use std::time::Duration;

use dbcreds_tests::{EnvSpec, PASSPHRASE, Sandbox, closed_port, exit};

use super::{decisions, eventually, guarded_sandbox, refused};

#[test]
fn rotation_removal_and_export_all_wait_for_a_confirmation() {
    let (sb, ask, password) = guarded_sandbox("no");
    // Somewhere nothing listens: an approved rotation gets as far as that.
    let port = closed_port().to_string();
    sb.cli(&["update", "prod", "--host", "127.0.0.1", "--port", &port])
        .ok();
    sb.cli(&["policy", "set", "prod", "--confirm", "always"])
        .ok();

    refused(&sb.cli(&["rotate", "prod"]), &["refused"]);
    assert!(ask.questions()[0].contains("rotate the password of 'prod'"));
    ask.answer("yes");
    let out = sb.cli(&["rotate", "prod"]);
    assert_eq!(
        out.code,
        Some(exit::DB_UNREACHABLE),
        "approved, it tried: {out}"
    );

    ask.answer("no");
    let all = ["export", "--all", "--format", "json", "--include-passwords"];
    let out = sb.cli(&all);
    refused(&out, &["refused"]);
    assert!(!out.all().contains(&password), "{out}");
    // Without passwords it reveals nothing, and asks nobody.
    let asked = ask.questions().len();
    sb.cli(&["export", "--all", "--format", "json"]).ok();
    assert_eq!(ask.questions().len(), asked);
    ask.answer("yes");
    sb.cli(&all).ok().says(&[&password]);
    assert!(
        ask.questions()
            .last()
            .is_some_and(|q| q.contains("export every password"))
    );

    ask.answer("no");
    refused(&sb.cli(&["remove", "prod", "--force"]), &["refused"]);
    sb.cli(&["show", "prod"]).ok();
    ask.answer("yes");
    sb.cli(&["remove", "prod", "--force"]).ok();
    sb.cli(&["show", "prod"]).code(exit::NOT_FOUND);

    let ops: Vec<String> = decisions(&sb)
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["decision"]["request"].as_str().unwrap_or(""),
                e["outcome"].as_str().unwrap_or("")
            )
        })
        .collect();
    for op in [
        "rotate refused",
        "rotate approved",
        "export refused",
        "export approved",
        "remove refused",
        "remove approved",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} in {ops:?}");
    }
}

#[test]
fn loosening_a_policy_or_leaving_production_needs_a_confirmation() {
    let (sb, ask, password) = guarded_sandbox("no");
    sb.cli(&[
        "policy",
        "set",
        "--production-default",
        "--confirm",
        "always",
    ])
    .ok();
    assert_eq!(ask.questions().len(), 0, "tightening asks nobody");
    let show = sb.show_json("prod");
    assert_eq!(show["policy"]["source"], "production-default", "{show}");
    assert_eq!(show["policy"]["confirm"], "always", "{show}");
    let list = sb.cli(&["list"]);
    assert!(list.stdout.contains("confirm always"), "{list}");

    // A script turning the guard off, three ways: each is a question.
    refused(
        &sb.cli(&["policy", "set", "prod", "--confirm", "never"]),
        &["refused"],
    );
    refused(
        &sb.cli(&[
            "policy",
            "set",
            "--production-default",
            "--confirm",
            "never",
        ]),
        &["refused"],
    );
    refused(
        &sb.cli(&["update", "prod", "--production", "false"]),
        &["refused"],
    );
    assert_eq!(ask.questions().len(), 3);
    let show = sb.show_json("prod");
    assert_eq!(show["production"], true, "{show}");
    assert_eq!(show["policy"]["confirm"], "always", "unchanged: {show}");
    // Not a production environment: the default does not apply.
    let dev = dbcreds_tests::unique_password();
    sb.add(&EnvSpec::postgres("dev", "db.internal").password(&dev))
        .ok();
    sb.assert_password("dev", &dev);
    assert_eq!(ask.questions().len(), 3);

    ask.answer("yes");
    sb.cli(&["policy", "set", "prod", "--confirm", "never"])
        .ok();
    sb.assert_password("prod", &password);
    assert!(ask.questions()[3].contains("loosen the policy of 'prod'"));
    assert_eq!(ask.questions().len(), 4, "never: no question for the get");
    let shown = sb.json(&["policy", "show", "prod"]);
    assert_eq!(shown["source"], "own", "{shown}");
}

#[test]
fn max_unlocked_forgets_one_secret_until_the_next_unlock() {
    let sb = Sandbox::with_passphrase_vault();
    let prod = sb.add_unique("prod");
    let dev = sb.add_unique("dev");
    sb.cli(&["policy", "set", "prod", "--max-unlocked", "1s"])
        .ok();
    eventually("prod is forgotten", Duration::from_secs(30), || {
        sb.cli(&["get", "prod"]).code == Some(exit::LOCKED)
    });
    sb.cli(&["get", "prod"]).fails(
        exit::LOCKED,
        &["forgotten", "max_unlocked", "dbcreds unlock"],
    );
    sb.assert_password("dev", &dev);
    let status = sb.json(&["status"]);
    assert_eq!(status["state"], "unlocked", "{status}");
    assert_eq!(status["forgotten"], serde_json::json!(["prod"]), "{status}");
    assert_eq!(sb.show_json("prod")["policy"]["forgotten"], true);

    sb.unlock_passphrase(PASSPHRASE);
    sb.assert_password("prod", &prod);
    assert!(sb.json(&["status"])["forgotten"].is_null());
}

#[test]
fn a_backup_is_every_secret_and_waits_for_a_confirmation_too() {
    let (sb, ask, _) = guarded_sandbox("no");
    sb.cli(&["policy", "set", "prod", "--allow", "psql"]).ok();
    let file = sb.root().join("backup.db");
    let path = file.to_str().expect("UTF-8 path");
    let backup = || {
        sb.cli_stdin(
            &["backup", path, "--passphrase-stdin"],
            "recovery-pass-1234\n",
        )
    };
    refused(&backup(), &["refused"]);
    assert!(!file.exists(), "nothing written");
    assert!(ask.questions()[0].contains("write a backup of the whole vault"));
    ask.answer("yes");
    backup().ok();
    assert!(file.exists());
}

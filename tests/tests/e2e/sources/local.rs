//! Sources without a server: the `pass` store (through the real `pass` and
//! gpg) and password commands.

use std::time::Duration;

use dbcreds_tests::{exit, read_or_empty, token, unique_password};

use super::peers::PassStore;
use super::{assert_secrets_nowhere, sandbox};

#[test]
fn pass_entries_give_the_first_line_or_the_json_fields() {
    let store = or_return!(PassStore::try_new());
    let vars = store.env();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sb = sandbox(&vars);
    let (p1, p2) = (unique_password(), unique_password());
    store.insert("db/prod", &format!("{p1}\nurl: https://console.internal\n"));
    store.insert(
        "db/json",
        &format!(
            "{{\"host\":\"json.internal\",\"port\":6543,\"dbname\":\"shop\",\"username\":\"web\",\"password\":\"{p2}\"}}"
        ),
    );

    sb.cli(&[
        "add",
        "prod",
        "--source",
        "pass:db/prod",
        "--host",
        "db.internal",
        "--database",
        "app",
        "--user",
        "app",
    ])
    .ok();
    sb.assert_password("prod", &p1);
    sb.cli(&["add", "shop", "--source", "pass:db/json"]).ok();
    sb.assert_password("shop", &p2);
    assert_eq!(sb.cli(&["get", "shop", "host"]).line(), "json.internal");
    assert_eq!(sb.cli(&["get", "shop", "port"]).line(), "6543");
    assert_eq!(sb.cli(&["get", "shop", "user"]).line(), "web");

    sb.cli(&[
        "add",
        "gone",
        "--source",
        "pass:db/missing",
        "--host",
        "h",
        "--database",
        "d",
        "--user",
        "u",
    ])
    .ok();
    sb.cli(&["get", "gone"])
        .fails(exit::SOURCE_FAILED, &["pass failed for db/missing"]);
    assert_secrets_nowhere(&sb, "prod", &[&p1, &p2]);
}

#[test]
fn a_password_command_is_cached_for_its_time_and_its_failures_are_clear() {
    let sb = sandbox(&[]);
    // Outside the sandbox, whose every file is searched for the password.
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let password = unique_password();
    let pw_file = dir.join(format!("pw-{}", token()));
    std::fs::write(&pw_file, format!("{password}\n")).expect("write");
    let runs = dir.join("runs");
    // The command line carries a marker that must not reach any log.
    let marker = format!("marker-{}", token());
    let cmd = format!(
        "echo {marker} >> '{}'; cat '{}'",
        runs.display(),
        pw_file.display()
    );
    let common = [
        "--host",
        "db.internal",
        "--database",
        "app",
        "--user",
        "app",
    ];
    let mut add = vec![
        "add",
        "prod",
        "--password-command",
        &cmd,
        "--cache-for",
        "3s",
    ];
    add.extend(common);
    sb.cli(&add).ok();

    let count = || {
        String::from_utf8_lossy(&read_or_empty(&runs))
            .lines()
            .count()
    };
    sb.assert_password("prod", &password);
    sb.assert_password("prod", &password);
    assert_eq!(count(), 1, "the second get should come from the cache");
    // After --cache-for the command runs again.
    std::thread::sleep(Duration::from_millis(3500));
    sb.assert_password("prod", &password);
    assert_eq!(count(), 2);

    let mut failing = vec![
        "add",
        "bad",
        "--password-command",
        "echo 'vault: token expired, run op signin' >&2; echo second >&2; exit 3",
    ];
    failing.extend(common);
    sb.cli(&failing).ok();
    let out = sb.cli(&["get", "bad"]);
    out.fails(
        exit::SOURCE_FAILED,
        &["vault: token expired, run op signin"],
    );
    assert!(!out.stderr.contains("second"), "only the first line: {out}");

    let mut empty = vec!["add", "empty", "--password-command", "true"];
    empty.extend(common);
    sb.cli(&empty).ok();
    sb.cli(&["get", "empty"])
        .fails(exit::SOURCE_FAILED, &["printed nothing"]);

    // The command line is shown to its owner, never logged or audited.
    let show = sb.show_json("prod");
    assert_eq!(show["source"]["kind"], "command", "{show}");
    let audit = sb.cli(&["audit", "--json"]);
    audit.ok();
    assert!(audit.stdout.contains("source-fetch"), "{audit}");
    assert!(!audit.stdout.contains(&marker), "{audit}");
    let log = String::from_utf8_lossy(&read_or_empty(&sb.agent_log())).into_owned();
    assert!(
        !log.contains(&marker),
        "the command line reached the agent log"
    );
    assert_secrets_nowhere(&sb, "prod", &[&password]);
}

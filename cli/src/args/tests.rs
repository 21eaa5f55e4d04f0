//! Unit tests of the command line.

use super::data::parse_since;
use super::values::{ExpiresDays, MAX_EXPIRES_DAYS, parse_expires_days, parse_option};
use super::*;
use clap::CommandFactory;
use dbcreds::{DatabaseKind, InitUnlocker, Unlocker};

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

/// The fast path of `get` ([`plain_get`]) gives what clap gives, or
/// leaves the arguments to clap.
#[test]
fn plain_get_agrees_with_clap() {
    let cases: &[&[&str]] = &[
        &["get", "prod"],
        &["get", "PROD"],
        &["get", "prod", "uri"],
        &["get", "prod", "url"],
        &["get", "prod", "username"],
        &["get", "prod", "libpq", "--require-fresh"],
        &["get", "--require-fresh", "prod"],
        &["get", "--require-fresh", "--require-fresh", "prod"],
        &["get", "--require-fresh=true", "prod"],
        &["get", "prod", "URI"],
        &["get", "prod", "nope"],
        &["get", "prod", "uri", "host"],
        &["get", "bad name"],
        &["get", "-h"],
        &["get", "--help"],
        &["get", "--", "prod"],
        &["get"],
        &["ge", "prod"],
        &["list"],
    ];
    for case in cases {
        let fast = plain_get(case.iter().map(std::ffi::OsString::from));
        let mut argv = vec!["dbcreds"];
        argv.extend_from_slice(case);
        let slow = Cli::try_parse_from(&argv);
        match (fast, slow) {
            (Some(f), Ok(s)) => assert_eq!(format!("{f:?}"), format!("{s:?}"), "{case:?}"),
            (Some(f), Err(e)) => panic!("{case:?}: fast path took {f:?}, clap says {e}"),
            (None, _) => {}
        }
    }
    // The common forms do take the fast path.
    for case in [
        &["get", "prod"][..],
        &["get", "prod", "uri", "--require-fresh"],
    ] {
        assert!(
            plain_get(case.iter().map(std::ffi::OsString::from)).is_some(),
            "{case:?}"
        );
    }
}

#[test]
fn since_takes_durations_and_times() {
    let now = chrono::Utc::now();
    let d = parse_since("7d").unwrap();
    assert!((now - d - chrono::Duration::days(7)).num_seconds().abs() < 5);
    assert_eq!(
        parse_since("2026-01-31T10:00:00Z").unwrap().to_rfc3339(),
        "2026-01-31T10:00:00+00:00"
    );
    assert_eq!(
        parse_since("2026-01-31").unwrap().to_rfc3339(),
        "2026-01-31T00:00:00+00:00"
    );
    assert!(
        parse_since("yesterday")
            .unwrap_err()
            .to_string()
            .contains("--since")
    );
}

#[test]
fn rotate_resume_takes_no_generation_options() {
    assert!(
        Cli::try_parse_from(["dbcreds", "rotate", "prod", "--resume", "--length", "20"]).is_err()
    );
    assert!(Cli::try_parse_from(["dbcreds", "rotate", "prod", "--length", "8"]).is_err());
    let cli = Cli::try_parse_from(["dbcreds", "rotate", "prod", "--admin", "Admin"]).unwrap();
    let Command::Rotate(r) = cli.command else {
        panic!("not rotate")
    };
    assert_eq!(r.admin.unwrap().as_str(), "admin");
}

#[test]
fn expires_days() {
    assert_eq!(parse_expires_days("90"), Ok(ExpiresDays::Days(90)));
    assert_eq!(parse_expires_days("never"), Ok(ExpiresDays::Never));
    assert_eq!(parse_expires_days("NEVER"), Ok(ExpiresDays::Never));
    assert_eq!(parse_expires_days(" 7 "), Ok(ExpiresDays::Days(7)));
    assert_eq!(
        parse_expires_days("36500"),
        Ok(ExpiresDays::Days(MAX_EXPIRES_DAYS))
    );
    for bad in ["0", "-1", "36501", "abc", "", "4294967296"] {
        let err = parse_expires_days(bad).unwrap_err().to_string();
        assert!(err.contains("--expires-days"), "{bad}: {err}");
        assert!(err.contains("never"), "{bad}: {err}");
    }
    assert_eq!(ExpiresDays::Never.as_wire(), 0);
    assert_eq!(ExpiresDays::Days(30).as_wire(), 30);
    assert_eq!(ExpiresDays::Never.as_option(), None);
}

#[test]
fn options() {
    assert_eq!(
        parse_option("sslmode=require"),
        Ok(("sslmode".into(), "require".into()))
    );
    assert_eq!(parse_option("a=b=c"), Ok(("a".into(), "b=c".into())));
    assert_eq!(
        parse_option("sslmode="),
        Ok(("sslmode".into(), String::new()))
    );
    assert!(parse_option("sslmode").is_err());
    assert!(parse_option("=x").is_err());
    assert!(parse_option("ssl mode=x").is_err());
}

#[test]
fn bad_values_fail_in_the_parser_with_the_model_message() {
    let err = Cli::try_parse_from(["dbcreds", "get", "Prod DB!"]).unwrap_err();
    let msg = crate::exit::clap_message(&err, Some("get"));
    assert!(msg.contains("Prod DB!"), "{msg}");
    assert!(!msg.contains('\n'));

    let err = Cli::try_parse_from(["dbcreds", "add", "x", "--kind", "nosuch"]).unwrap_err();
    let msg = crate::exit::clap_message(&err, Some("add"));
    assert!(msg.starts_with("unknown database kind 'nosuch'"), "{msg}");

    for port in ["0", "70000"] {
        let err = Cli::try_parse_from(["dbcreds", "add", "x", "--port", port]).unwrap_err();
        let msg = crate::exit::clap_message(&err, Some("add"));
        assert!(msg.starts_with(&format!("invalid port '{port}'")), "{msg}");
    }
}

#[test]
fn kind_accepts_aliases_and_defaults() {
    let cli = Cli::try_parse_from(["dbcreds", "add", "x", "--kind", "PostgreSQL"]).unwrap();
    let Command::Add(a) = cli.command else {
        panic!("not add")
    };
    assert_eq!(a.kind, Some(DatabaseKind::Postgres));
    // No --kind: postgres without a terminal, asked on one.
    let cli = Cli::try_parse_from(["dbcreds", "add", "x", "--username", "u"]).unwrap();
    let Command::Add(a) = cli.command else {
        panic!("not add")
    };
    assert_eq!(a.kind, None);
    assert_eq!(a.user.as_deref(), Some("u"));
}

#[test]
fn get_fields() {
    let cli = Cli::try_parse_from(["dbcreds", "get", "prod", "username"]).unwrap();
    let Command::Get(g) = cli.command else {
        panic!("not get")
    };
    assert_eq!(g.field, Field::User);
    assert_eq!(g.name.as_str(), "prod");
    let cli = Cli::try_parse_from(["dbcreds", "get", "PROD"]).unwrap();
    let Command::Get(g) = cli.command else {
        panic!("not get")
    };
    assert_eq!(g.field, Field::Password);
    assert_eq!(g.name.as_str(), "prod");
}

#[test]
fn clap_usage_errors_become_one_line() {
    let err = Cli::try_parse_from(["dbcreds", "export", "prod"]).unwrap_err();
    let msg = crate::exit::clap_message(&err, Some("export"));
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains("--format"), "{msg}");
    assert!(msg.ends_with("(see `dbcreds export --help`)"), "{msg}");
}

#[test]
fn unlocker_takes_the_library_names() {
    for (arg, want) in [
        ("auto", InitUnlocker::Auto),
        ("keyring", InitUnlocker::Only(Unlocker::Keyring)),
        ("passphrase", InitUnlocker::Only(Unlocker::Passphrase)),
    ] {
        let cli = Cli::try_parse_from(["dbcreds", "init", "--unlocker", arg]).unwrap();
        let Command::Init(i) = cli.command else {
            panic!("not init")
        };
        assert_eq!(i.unlocker, want);
    }
    let Command::Init(i) = Cli::try_parse_from(["dbcreds", "init"]).unwrap().command else {
        panic!("not init")
    };
    assert_eq!(i.unlocker, InitUnlocker::Auto);
    assert!(Cli::try_parse_from(["dbcreds", "init", "--unlocker", "Keyring"]).is_err());
}

#[test]
fn the_data_safety_verbs_show_examples() {
    let cli = Cli::command();
    for verb in ["backup", "restore", "passphrase", "rekey", "export"] {
        let help = cli
            .find_subcommand(verb)
            .and_then(|c| c.get_after_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(help.contains(&format!("dbcreds {verb}")), "{verb}: {help}");
    }
    let export = cli
        .find_subcommand("export")
        .unwrap()
        .get_after_help()
        .unwrap()
        .to_string();
    assert!(export.contains("--all --format json"), "{export}");
}

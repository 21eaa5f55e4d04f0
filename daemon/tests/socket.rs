//! The agent's service over a real Unix socket, through the same `serve()`
//! that `main` runs and the same `dbcreds::Client` applications use. The
//! passphrase unlocker keeps these tests independent of any keyring.

use std::sync::Arc;

use dbcreds::edit::Patch;
use dbcreds::{
    Client, DatabaseKind, EnvName, Environment, InitUnlocker, LockState, Reason, Unlocker,
};
use dbcreds_agent::state::Agent;
use dbcreds_agent::{server, transport};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

struct Running {
    client: Client,
    _guard: transport::SocketGuard,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    dir: tempfile::TempDir,
}

async fn start_in(dir: tempfile::TempDir) -> Running {
    let socket = dir.path().join("agent.sock");
    // Bound before the server task starts: the client can connect at once.
    let bound = transport::bind(&socket).expect("bind");
    let agent = Arc::new(Agent::open(&dir.path().join("vault.db"), Default::default()).await);
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(server::serve(
        transport::incoming(bound.listener),
        agent,
        async {
            let _ = rx.await;
        },
    ));
    let client = Client::connect_to(&socket).await.expect("connect");
    Running {
        client,
        _guard: bound.guard,
        stop: Some(tx),
        task,
        dir,
    }
}

async fn start() -> Running {
    start_in(tempfile::tempdir().expect("tempdir")).await
}

impl Running {
    async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        drop(self.client);
        self.task.await.expect("join").expect("serve");
        self.dir
    }
}

fn pass(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn prod() -> Environment {
    let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
    env.host = "db.internal".into();
    env.database = "app".into();
    env.username = "app".into();
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_vault_lifecycle() {
    let mut a = start().await;
    let c = &mut a.client;
    assert_eq!(c.status().await.unwrap().state, LockState::Uninitialized);
    let err = c.get(&"prod".parse().unwrap()).await.unwrap_err();
    assert_eq!(err.reason(), Some(Reason::NotInitialized));

    let init = c
        .init(
            InitUnlocker::Only(Unlocker::Passphrase),
            Some(&pass("correct horse")),
        )
        .await
        .unwrap();
    assert_eq!(init.unlockers, vec![Unlocker::Passphrase]);
    c.put(&prod(), &pass("s3cr3t/p@ss"), false).await.unwrap();
    let cred = c.get(&"prod".parse().unwrap()).await.unwrap();
    assert_eq!(cred.password().expose_secret(), "s3cr3t/p@ss");

    let dup = c.put(&prod(), &pass("other"), false).await.unwrap_err();
    assert_eq!(dup.reason(), Some(Reason::AlreadyExists));

    c.lock().await.unwrap();
    let locked = c.get(&"prod".parse().unwrap()).await.unwrap_err();
    assert_eq!(locked.reason(), Some(Reason::Locked));
    assert!(locked.to_string().contains("dbcreds unlock"));
    // Listing needs no unlock.
    assert_eq!(c.list().await.unwrap().len(), 1);

    let wrong = c.unlock(Some(&pass("wrong"))).await.unwrap_err();
    assert_eq!(wrong.reason(), Some(Reason::WrongPassphrase));
    c.unlock(Some(&pass("correct horse"))).await.unwrap();
    assert_eq!(
        c.get(&"prod".parse().unwrap())
            .await
            .unwrap()
            .password()
            .expose_secret(),
        "s3cr3t/p@ss"
    );

    // A restarted agent finds the vault locked and the data intact.
    let dir = a.stop().await;
    let mut b = start_in(dir).await;
    let c = &mut b.client;
    assert_eq!(c.status().await.unwrap().state, LockState::Locked);
    c.unlock(Some(&pass("correct horse"))).await.unwrap();
    assert_eq!(
        c.get(&"prod".parse().unwrap())
            .await
            .unwrap()
            .password()
            .expose_secret(),
        "s3cr3t/p@ss"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_remove() {
    let mut a = start().await;
    let c = &mut a.client;
    c.init(InitUnlocker::Only(Unlocker::Passphrase), Some(&pass("pw")))
        .await
        .unwrap();
    c.put(&prod(), &pass("one"), false).await.unwrap();
    let env = c
        .update(
            &"prod".parse().unwrap(),
            Patch {
                port: Some(6543),
                password: Some(pass("two")),
                ..Patch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(env.port, 6543);
    let cred = c.get(&"prod".parse().unwrap()).await.unwrap();
    assert_eq!(cred.password().expose_secret(), "two");
    let bad = c
        .update(
            &"prod".parse().unwrap(),
            Patch {
                port: Some(70000),
                ..Patch::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.reason(), Some(Reason::Invalid));
    c.remove(&"prod".parse().unwrap()).await.unwrap();
    let gone = c.get(&"prod".parse().unwrap()).await.unwrap_err();
    assert_eq!(gone.reason(), Some(Reason::NotFound));
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_time_is_recorded_backdated_and_never_future() {
    use chrono::{Duration, Utc};
    let mut a = start().await;
    let c = &mut a.client;
    c.init(InitUnlocker::Only(Unlocker::Passphrase), Some(&pass("pw")))
        .await
        .unwrap();
    c.put(&prod(), &pass("one"), false).await.unwrap();
    let name: EnvName = "prod".parse().unwrap();
    // Whole seconds: the wire carries Unix seconds.
    let at = Utc::now() - Duration::days(100);
    let at = chrono::DateTime::from_timestamp(at.timestamp(), 0).unwrap();
    let env = c
        .update(
            &name,
            Patch {
                password_changed_at: Some(at),
                ..Patch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(env.password_updated_at, Some(at));
    assert!(
        env.expiry(Utc::now()).is_expired(),
        "{:?}",
        env.expiry(Utc::now())
    );
    // With a new password too, the given time wins over "now".
    let env = c
        .update(
            &name,
            Patch {
                password: Some(pass("two")),
                password_changed_at: Some(at),
                ..Patch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(env.password_updated_at, Some(at));
    let future = c
        .update(
            &name,
            Patch {
                password_changed_at: Some(Utc::now() + Duration::days(2)),
                ..Patch::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(future.reason(), Some(Reason::Invalid));
    assert!(future.to_string().contains("in the future"), "{future}");
    assert_eq!(
        c.describe(&name).await.unwrap().password_updated_at,
        Some(at)
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_agent_on_the_same_socket_is_refused() {
    let a = start().await;
    let err = transport::bind(&a.dir.path().join("agent.sock"))
        .err()
        .expect("second bind must fail");
    assert!(err.to_string().contains("already serves"), "{err}");
    a.stop().await;
}

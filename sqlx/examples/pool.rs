//! A long-running application's view of dbcreds: a ready sqlx pool for an
//! environment, rebuilt when the agent reports that its password changed
//! (after `dbcreds rotate`, `dbcreds update --password`, ...).
//!
//! ```sh
//! cargo run -p dbcreds-sqlx --features postgres,mysql --example pool -- prod      # runs until Ctrl-C
//! cargo run -p dbcreds-sqlx --features postgres,mysql --example pool -- prod 1    # exits after 1 change
//! ```
//!
//! It prints `connected as USER` once its pool works, `watching` once the
//! change stream is open, then `reconnected as USER` after each password
//! change. Never the password.

use dbcreds::{Client, DatabaseKind, EnvName};

enum Pool {
    Pg(sqlx::PgPool),
    My(sqlx::MySqlPool),
}

impl Pool {
    async fn open(client: &mut Client, name: &EnvName) -> dbcreds_sqlx::Result<Self> {
        let cred = client.get(name).await?;
        Ok(match cred.environment().kind {
            DatabaseKind::Postgres => Pool::Pg(dbcreds_sqlx::pg_pool_for(&cred).await?),
            _ => Pool::My(dbcreds_sqlx::mysql_pool_for(&cred).await?),
        })
    }

    async fn current_user(&self) -> dbcreds_sqlx::Result<String> {
        Ok(match self {
            Pool::Pg(p) => {
                sqlx::query_scalar("SELECT current_user")
                    .fetch_one(p)
                    .await?
            }
            Pool::My(p) => {
                sqlx::query_scalar("SELECT CURRENT_USER()")
                    .fetch_one(p)
                    .await?
            }
        })
    }
}

async fn run(name: &str, changes: Option<usize>) -> dbcreds_sqlx::Result<()> {
    // The first pool through the convenience call, as most apps would.
    let mut pool = match dbcreds::get(name).await?.environment().kind {
        DatabaseKind::Postgres => Pool::Pg(dbcreds_sqlx::pg_pool(name).await?),
        _ => Pool::My(dbcreds_sqlx::mysql_pool(name).await?),
    };
    println!("connected as {}", pool.current_user().await?);
    let name: EnvName = name.parse()?;
    let mut client = Client::connect_or_start().await?;
    let mut watch = client.watch(std::slice::from_ref(&name)).await?;
    println!("watching");
    let mut seen = 0;
    while let Some(change) = watch.next().await? {
        if !change.password_changed {
            continue;
        }
        // The old pool's connections stay logged in; new ones would fail.
        pool = Pool::open(&mut client, &name).await?;
        println!("reconnected as {}", pool.current_user().await?);
        seen += 1;
        if changes.is_some_and(|n| seen >= n) {
            break;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "prod".into());
    let changes = args.next().and_then(|n| n.parse().ok());
    if let Err(e) = run(&name, changes).await {
        eprintln!("pool {name}: {e}");
        std::process::exit(1);
    }
}

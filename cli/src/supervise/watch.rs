//! `--restart-on-change`: the agent's change stream (`Client::watch`), kept
//! open across agent restarts. After a reconnection the caller re-reads the
//! credentials, since changes made meanwhile were not announced.

use std::time::Duration;

use dbcreds::{Change, ChangeKind, Client, EnvName, Watch};

/// How often a lost agent is looked for again.
const RECONNECT_EVERY: Duration = Duration::from_secs(2);

/// What the supervisor should do about the stream's news.
#[derive(Debug, PartialEq, Eq)]
pub enum News {
    /// The password (or more) of a watched environment may have changed:
    /// read the credentials again.
    Reread(String),
    /// The agent went away; the stream is being reopened.
    Lost,
}

/// The change stream of every environment.
pub struct Watcher {
    watch: Option<Watch>,
    /// The environments that matter.
    names: Vec<EnvName>,
}

impl Watcher {
    /// Opens the stream before the credentials are read, so no change
    /// after the read can be missed.
    pub async fn open() -> Result<Self, dbcreds::Error> {
        let mut client = Client::connect_or_start().await?;
        let watch = client.watch(&[]).await?;
        Ok(Self {
            watch: Some(watch),
            names: Vec::new(),
        })
    }

    /// The environments whose changes matter from now on.
    pub fn follow(&mut self, names: &[EnvName]) {
        self.names = names.to_vec();
    }

    /// The next piece of news; waits until there is one.
    pub async fn next(&mut self) -> News {
        loop {
            let Some(watch) = self.watch.as_mut() else {
                tokio::time::sleep(RECONNECT_EVERY).await;
                if let Ok(mut client) = Client::connect().await
                    && let Ok(w) = client.watch(&[]).await
                {
                    self.watch = Some(w);
                    return News::Reread("the agent is back".into());
                }
                continue;
            };
            match watch.next().await {
                Ok(Some(c)) => {
                    if let Some(why) = self.matters(&c) {
                        return News::Reread(why);
                    }
                }
                Ok(None) | Err(_) => {
                    self.watch = None;
                    return News::Lost;
                }
            }
        }
    }

    /// Why change `c` calls for a re-read, if it does.
    fn matters(&self, c: &Change) -> Option<String> {
        if c.kind == ChangeKind::Lagged {
            return Some("changes were missed".into());
        }
        let name = c.environment.as_ref()?;
        (c.password_changed && self.names.contains(name)).then(|| {
            let what = match c.kind {
                ChangeKind::Rotate => "was rotated",
                ChangeKind::Remove => "was removed",
                ChangeKind::Put => "was replaced",
                _ => "changed",
            };
            format!("the password of '{name}' {what}")
        })
    }
}

//! `dbcreds serve-files [--dir DIR]`: keeps `pg_service.conf`, `.pgpass`
//! and `.my.cnf` for every environment in a private directory
//! (`$XDG_RUNTIME_DIR/dbcreds/files/`, 0700; files 0600) while the vault
//! is unlocked, so DBeaver, DataGrip, pgAdmin, psql and mariadb find them
//! with no password typed, and removes them the moment the vault locks,
//! the agent stops, or this command ends (SIGINT, SIGTERM, SIGHUP).
//!
//! A foreground command rather than an agent option: the agent never
//! writes a secret to disk, and this way the files live exactly as long as
//! a process the user chose to run (a terminal, a systemd user unit). It
//! follows the vault through `Client::watch_vault` (lock and unlock events,
//! and every change of an environment); when the agent goes away it waits
//! for one to come back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dbcreds::{ChangeKind, Client, Watch};
use tokio::signal::unix::{SignalKind, signal};

use super::services;
use crate::args::ServeFilesArgs;
use crate::exit::Failure;
use crate::output::note;

/// How often a lost agent is looked for again.
const RECONNECT_EVERY: Duration = Duration::from_secs(2);

/// The three files in their directory.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes (or removes) each file from the vault's credentials.
    async fn refresh(&self, client: &mut Client) {
        let creds = match client.export_all().await {
            Ok(c) => c,
            Err(e) => {
                note(&format!(
                    "dbcreds: cannot read the environments ({e}); the files are removed"
                ));
                return self.remove();
            }
        };
        let envs: Vec<_> = creds.iter().map(|c| c.environment().clone()).collect();
        let has_pg = services::has_kind(&creds, false);
        let has_my = services::has_kind(&creds, true);
        let wanted = [
            (
                "pg_service.conf",
                has_pg,
                zeroize::Zeroizing::new(services::pg_service_conf(&envs)),
            ),
            (".pgpass", has_pg, services::pgpass(&creds)),
            (".my.cnf", has_my, services::my_cnf(&creds)),
        ];
        for (name, present, text) in &wanted {
            let path = self.path(name);
            if !present {
                remove(&path);
            } else if let Err(f) = crate::files::write_private(&path, text.as_bytes(), true) {
                note(&format!("dbcreds: {f}"));
            }
        }
    }

    fn remove(&self) {
        for name in ["pg_service.conf", ".pgpass", ".my.cnf"] {
            remove(&self.path(name));
        }
    }
}

fn remove(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => note(&format!("dbcreds: cannot remove {}: {e}", path.display())),
    }
}

pub async fn run(a: ServeFilesArgs) -> Result<(), Failure> {
    let dir = match a.dir {
        Some(d) => d,
        None => crate::files::runtime_base()
            .ok_or_else(|| {
                Failure::usage("no runtime directory: set XDG_RUNTIME_DIR, or pass --dir")
            })?
            .join("files"),
    };
    crate::files::private_dir(&dir)
        .map_err(|e| Failure::other(format!("cannot use {} for the files: {e}", dir.display())))?;
    let files = Files { dir };
    let stop = stop_signals()?;
    let (client, watch) = open(true).await?;
    note(&format!(
        "dbcreds: keeping the files in {d} while the vault is unlocked; for psql: \
         PGSERVICEFILE={d}/pg_service.conf PGPASSFILE={d}/.pgpass; for mariadb: \
         --defaults-extra-file={d}/.my.cnf --defaults-group-suffix=_NAME",
        d = files.dir.display()
    ));
    let result = serve(&files, client, watch, stop).await;
    files.remove();
    result
}

/// Connects (checking the protocol, starting an agent when `start`) and
/// opens the change stream with the vault's events.
async fn open(start: bool) -> Result<(Client, Watch), Failure> {
    let mut client = if start {
        super::connect().await?
    } else {
        Client::connect().await?
    };
    let watch = client.watch_vault(&[]).await?;
    Ok((client, watch))
}

type Stop = Vec<tokio::signal::unix::Signal>;

fn stop_signals() -> Result<Stop, Failure> {
    [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ]
    .into_iter()
    .map(|k| signal(k).map_err(|e| Failure::other(format!("cannot handle signals: {e}"))))
    .collect()
}

/// Resolves when one of the stop signals arrives.
async fn stopped(stop: &mut Stop) {
    let mut futures: Vec<_> = stop.iter_mut().map(|s| Box::pin(s.recv())).collect();
    std::future::poll_fn(move |cx| {
        for f in &mut futures {
            if f.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await;
}

async fn serve(
    files: &Files,
    mut client: Client,
    watch: Watch,
    mut stop: Stop,
) -> Result<(), Failure> {
    let mut watch = Some(watch);
    let mut unlocked = false;
    loop {
        let Some(w) = watch.as_mut() else {
            tokio::select! {
                () = stopped(&mut stop) => return Ok(()),
                () = tokio::time::sleep(RECONNECT_EVERY) => {
                    if let Ok((c, w)) = open(false).await {
                        note("dbcreds: the agent is back");
                        client = c;
                        watch = Some(w);
                    }
                }
            }
            continue;
        };
        tokio::select! {
            () = stopped(&mut stop) => return Ok(()),
            change = w.next() => match change {
                Ok(Some(c)) => match c.kind {
                    ChangeKind::Unlock => {
                        unlocked = true;
                        files.refresh(&mut client).await;
                    }
                    ChangeKind::Lock => {
                        unlocked = false;
                        files.remove();
                    }
                    _ if unlocked => files.refresh(&mut client).await,
                    _ => {}
                },
                Ok(None) | Err(_) => {
                    files.remove();
                    unlocked = false;
                    watch = None;
                    note("dbcreds: the agent went away; the files are removed until it is back and unlocked");
                }
            }
        }
    }
}

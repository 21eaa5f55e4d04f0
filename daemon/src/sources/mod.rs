//! The agent's side of sources (docs/team.md): a session per configured
//! source, the credentials fetched from them (in memory only, zeroed on
//! drop), and the keeper that renews leases while they are used, replaces
//! them before they end and revokes them on lock.
//!
//! A `get` of a cached credential is a map lookup like a stored password;
//! only the first `get` after an unlock (or after the cache time) waits on
//! the source, bounded by its timeout.

mod cache;
mod keeper;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dbcreds::{Environment, SecretSource, SourceRefKind};
use dbcreds_sources::{SecretRef, Session, SourceError, Target};
use secrecy::SecretString;
use tokio::sync::Mutex;

use crate::error::{AgentError, Result};
use crate::events::Events;

pub use cache::Cached;

/// Where fetches, renewals and revocations are recorded (the agent's
/// audit log; a trait so this module need not know it).
pub trait AuditSink: Send + Sync {
    fn record<'a>(
        &'a self,
        env: &'a str,
        operation: &'static str,
        outcome: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;
}

/// What a `get` of a sourced environment answers.
pub struct Revealed {
    pub env: Environment,
    pub password: SecretString,
    /// The source is down and a cached credential was served.
    pub warning: Option<String>,
}

/// `source_cache_ttl` and `revoke_on_lock` from the config.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub default_ttl: Duration,
    pub revoke_on_lock: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(300),
            revoke_on_lock: true,
        }
    }
}

/// Sessions and cached credentials while unlocked; empty while locked.
#[derive(Default)]
pub struct Sources {
    settings: std::sync::Mutex<Settings>,
    sessions: std::sync::Mutex<HashMap<String, Arc<Session>>>,
    cache: cache::Cache,
    /// One fetch at a time per environment, so concurrent first `get`s
    /// share one lease (and a slow source holds up only its own).
    flights: std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Held until [`Sources::detach`]: the audit writer ends only when
    /// every sender is gone.
    audit: std::sync::Mutex<Option<Arc<dyn AuditSink>>>,
    events: std::sync::Mutex<Option<Events>>,
    /// Wakes the keeper when the cache changes.
    pub(crate) wake: tokio::sync::Notify,
}

impl Sources {
    pub fn configure(&self, settings: Settings) {
        if let Ok(mut s) = self.settings.lock() {
            *s = settings;
        }
    }

    fn settings(&self) -> Settings {
        self.settings.lock().map(|s| *s).unwrap_or_default()
    }

    /// The audit log and the change stream, once the service exists.
    pub fn attach(&self, audit: Arc<dyn AuditSink>, events: Events) {
        if let Ok(mut a) = self.audit.lock() {
            *a = Some(audit);
        }
        if let Ok(mut e) = self.events.lock() {
            *e = Some(events);
        }
    }

    /// At shutdown, once the leases are revoked: lets go of the audit log
    /// and the change stream so their tasks can end.
    pub fn detach(&self) {
        if let Ok(mut a) = self.audit.lock() {
            *a = None;
        }
        if let Ok(mut e) = self.events.lock() {
            *e = None;
        }
    }

    async fn audit(&self, env: &str, operation: &'static str, outcome: &str) {
        let log = self.audit.lock().ok().and_then(|a| a.clone());
        if let Some(a) = log {
            a.record(env, operation, outcome).await;
        }
    }

    pub(crate) fn announce(&self, env: &str) {
        if let Some(e) = self.events.lock().ok().and_then(|e| e.clone()) {
            e.send(env, "refresh", true);
        }
    }

    /// Whether anyone watches for changes (a pool, `exec
    /// --restart-on-change`): their credentials count as in use.
    fn watched(&self) -> bool {
        self.events
            .lock()
            .ok()
            .is_some_and(|e| e.as_ref().is_some_and(Events::watching))
    }

    /// The session of source `name`, built with `login` on first use.
    pub(crate) fn session(
        &self,
        name: &str,
        login: impl FnOnce() -> Result<(dbcreds_sources::SourceSpec, Option<SecretString>)>,
    ) -> Result<Arc<Session>> {
        if let Some(s) = self.sessions.lock().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(s);
        }
        let (spec, secret) = login()?;
        let session = Arc::new(Session::open(spec, secret)?);
        if let Ok(mut m) = self.sessions.lock() {
            m.insert(name.to_owned(), session.clone());
        }
        Ok(session)
    }

    fn flight(&self, env: &str) -> Arc<Mutex<()>> {
        self.flights
            .lock()
            .map(|mut m| m.entry(env.to_owned()).or_default().clone())
            .unwrap_or_default()
    }

    /// Before a source's config or login changes: revokes the leases
    /// fetched through it (while its session still holds the old login)
    /// and forgets the session.
    pub async fn forget_source(&self, name: &str) {
        let envs: Vec<String> = self
            .cache
            .with(|m| {
                m.iter()
                    .filter(|(_, c)| c.source == name)
                    .map(|(e, _)| e.clone())
                    .collect()
            })
            .unwrap_or_default();
        for env in envs {
            self.forget(&env).await;
        }
        self.drop_session(name);
    }

    /// Forgets the session of `name` (its config or login changed).
    pub fn drop_session(&self, name: &str) {
        if let Ok(mut m) = self.sessions.lock() {
            m.remove(name);
        }
    }

    fn sessions(&self) -> Vec<(String, Arc<Session>)> {
        self.sessions
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// The cached credential of `env`, if it is still fresh: no fetch.
    pub fn cached(&self, env: &Environment, src: &SecretSource) -> Option<Revealed> {
        self.cache.fresh(env, src)
    }

    /// What `show` and `list` say of a cached credential.
    pub fn describe(&self, env: &mut Environment) {
        self.cache.describe(env);
    }

    /// Fetches `env`'s credential from its source (or serves the cached
    /// one), with `login` to open the source's session on first use.
    /// With `fallback`, a source outage serves the cached credential while
    /// it still works (with a warning); without it (`refresh`), the outage
    /// is the answer and the cache stays as it was.
    pub async fn resolve(
        &self,
        env: Environment,
        src: SecretSource,
        fallback: bool,
        login: impl FnOnce(&str) -> Result<(dbcreds_sources::SourceSpec, Option<SecretString>)>,
    ) -> Result<Revealed> {
        if let Some(hit) = self.cache.fresh(&env, &src) {
            return Ok(hit);
        }
        let flight = self.flight(env.name.as_str());
        let _flight = flight.lock().await;
        if let Some(hit) = self.cache.fresh(&env, &src) {
            return Ok(hit);
        }
        let name = env.name.to_string();
        match self.fetch(&env, &src, login).await {
            Ok(fetched) => {
                let outcome = cache::outcome(&fetched);
                let hit = self
                    .cache
                    .store(&env, &src, fetched, self.settings().default_ttl);
                self.audit(&name, "source-fetch", &outcome).await;
                self.wake.notify_one();
                Ok(hit)
            }
            Err(e) => {
                self.audit(&name, "source-fetch", reason_word(&e)).await;
                if fallback
                    && e.is_outage()
                    && let Some(stale) = self.cache.still_valid(&env, &src, &e)
                {
                    tracing::warn!(environment = %name, "source down: serving the cached credential");
                    return Ok(stale);
                }
                Err(e.into())
            }
        }
    }

    async fn fetch(
        &self,
        env: &Environment,
        src: &SecretSource,
        login: impl FnOnce(&str) -> Result<(dbcreds_sources::SourceSpec, Option<SecretString>)>,
    ) -> std::result::Result<dbcreds_sources::Fetched, SourceError> {
        let r = secret_ref(src);
        if !src.kind.needs_source() {
            return dbcreds_sources::fetch_local(&r).await;
        }
        let session = self
            .session(&src.source, || login(&src.source))
            .map_err(|e| SourceError::Invalid(e.to_string()))?;
        let target = Target {
            host: env.host.clone(),
            port: env.port,
            username: env.username.clone(),
        };
        session.fetch(&r, &target).await
    }

    /// Makes `env`'s credential due for a fetch, keeping it to serve while
    /// the source is down.
    pub fn expire(&self, env: &str) {
        self.cache.with(|m| {
            if let Some(c) = m.get_mut(env) {
                c.refresh_at = tokio::time::Instant::now();
            }
        });
    }

    /// Drops what is cached for `env` (a refresh, an update, a removal),
    /// revoking its lease.
    pub async fn forget(&self, env: &str) {
        let gone = self.cache.take(env);
        for c in gone {
            self.revoke(env, c).await;
        }
    }

    /// Revokes the leases `env`'s newer credentials replaced (after a
    /// `refresh`: the user asked for a new one).
    pub async fn revoke_retired(&self, env: &str) {
        for c in self.cache.take_retired(env) {
            self.revoke(env, c).await;
        }
    }

    async fn revoke(&self, env: &str, c: Cached) {
        let (Some(lease), Some(session)) = (c.lease.clone(), self.session_of(&c.source)) else {
            return;
        };
        let outcome = match session.revoke(&lease).await {
            Ok(()) => format!("ok lease …{}", lease.suffix()),
            Err(e) => {
                tracing::warn!(environment = %env, lease = lease.suffix(), error = %e, "lease revocation failed");
                reason_word(&e).to_owned()
            }
        };
        self.audit(env, "source-revoke", &outcome).await;
    }

    fn session_of(&self, source: &str) -> Option<Arc<Session>> {
        self.sessions
            .lock()
            .ok()
            .and_then(|m| m.get(source).cloned())
    }

    /// On lock and shutdown: revokes every lease held (unless
    /// `revoke_on_lock = false`), then drops the credentials and sessions.
    pub async fn clear(&self) {
        let all = self.cache.take_all();
        if self.settings().revoke_on_lock {
            let revokes = all.into_iter().map(|(env, c)| async move {
                self.revoke(&env, c).await;
            });
            futures_util::future::join_all(revokes).await;
        }
        if let Ok(mut m) = self.sessions.lock() {
            m.clear();
        }
    }
}

/// The model's reference as the sources crate takes it.
pub fn secret_ref(src: &SecretSource) -> SecretRef {
    let source = src.source.clone();
    let path = src.location.clone();
    match src.kind {
        SourceRefKind::Dynamic => SecretRef::Dynamic { source, path },
        SourceRefKind::Static => SecretRef::Static { source, path },
        SourceRefKind::AwsSecret => SecretRef::AwsSecret { source, id: path },
        SourceRefKind::RdsIam => SecretRef::RdsIam { source },
        SourceRefKind::Pass => SecretRef::Pass { name: path },
        SourceRefKind::Command => SecretRef::Command {
            command: path,
            cache_for: src.cache_for.unwrap_or(Duration::from_secs(60)),
        },
        _ => SecretRef::Kv { source, path },
    }
}

/// The audit outcome of a failed source call: the reason's word only.
fn reason_word(e: &SourceError) -> &'static str {
    AgentError::reason_of_source(e).as_str()
}

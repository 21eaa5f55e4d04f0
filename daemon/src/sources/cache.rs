//! Credentials fetched from sources, by environment, with the times that
//! decide when they are served, renewed, replaced and dropped. Passwords
//! are `SecretString`s: dropping an entry zeroes them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dbcreds::{CachedCredential, Environment, SecretSource, SourceRefKind};
use dbcreds_sources::{Fetched, Lease, SourceError};
use secrecy::SecretString;
use tokio::time::Instant;

use super::Revealed;

/// One credential from a source.
pub struct Cached {
    pub src: SecretSource,
    /// The named source (empty for pass and commands).
    pub source: String,
    pub password: SecretString,
    pub fields: BTreeMap<String, String>,
    pub lease: Option<Lease>,
    pub version: Option<String>,
    pub fetched_at: DateTime<Utc>,
    /// Served without asking the source until then.
    pub refresh_at: Instant,
    /// When it stops working, if known (a lease's end, a token's expiry).
    pub valid_until: Option<Instant>,
    /// The last fetch or renewal.
    pub renewed_at: Instant,
    /// A renewal came back shorter than asked: the lease nears its max_ttl
    /// and the keeper replaces it instead.
    pub capped: bool,
    /// A renewal failed because the source is down: not again before.
    pub retry_at: Instant,
    pub last_used: Instant,
}

impl Cached {
    fn wall(&self, at: Instant) -> DateTime<Utc> {
        let now = Instant::now();
        let delta =
            chrono::Duration::from_std(at.saturating_duration_since(now)).unwrap_or_default();
        let back =
            chrono::Duration::from_std(now.saturating_duration_since(at)).unwrap_or_default();
        Utc::now() + delta - back
    }

    /// In use: asked for within its lifetime.
    pub fn used_within(&self, d: Duration) -> bool {
        self.last_used.elapsed() < d
    }
}

/// How long before a credential's end the agent fetches a new one: a fifth
/// of its lifetime, at most a minute.
pub fn margin(lifetime: Duration) -> Duration {
    (lifetime / 5).min(Duration::from_secs(60))
}

#[derive(Default)]
pub(super) struct Cache {
    current: Mutex<HashMap<String, Cached>>,
    /// Leases replaced by newer ones, kept to revoke on lock until they end.
    retired: Mutex<Vec<(String, Cached)>>,
}

impl Cache {
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Cached>) -> T) -> Option<T> {
        self.current.lock().ok().map(|mut m| f(&mut m))
    }

    pub(super) fn fresh(&self, env: &Environment, src: &SecretSource) -> Option<Revealed> {
        self.with(|m| {
            let c = m.get_mut(env.name.as_str()).filter(|c| c.src == *src)?;
            let now = Instant::now();
            if now >= c.refresh_at {
                return None;
            }
            c.last_used = now;
            Some(reveal(env.clone(), c, None))
        })
        .flatten()
    }

    /// The cached credential while it still works, with a warning that the
    /// source is down.
    pub(super) fn still_valid(
        &self,
        env: &Environment,
        src: &SecretSource,
        why: &SourceError,
    ) -> Option<Revealed> {
        self.with(|m| {
            let c = m.get_mut(env.name.as_str()).filter(|c| c.src == *src)?;
            let now = Instant::now();
            if c.valid_until.is_some_and(|v| now >= v) {
                return None;
            }
            c.last_used = now;
            let warning = format!(
                "{why}; served the credential fetched at {} from the agent's cache",
                c.fetched_at.format("%H:%M:%S UTC")
            );
            Some(reveal(env.clone(), c, Some(warning)))
        })
        .flatten()
    }

    pub(super) fn store(
        &self,
        env: &Environment,
        src: &SecretSource,
        f: Fetched,
        default_ttl: Duration,
    ) -> Revealed {
        let now = Instant::now();
        let (refresh_at, valid_until) = match (&f.lease, f.valid_for) {
            (Some(l), _) => (
                now + l.duration - margin(l.duration),
                Some(now + l.duration),
            ),
            // A command's output is kept exactly as long as asked.
            (None, Some(d)) if src.kind == SourceRefKind::Command => (now + d, None),
            (None, Some(d)) => (now + d - margin(d), Some(now + d)),
            (None, None) => (now + default_ttl, None),
        };
        let mut c = Cached {
            src: src.clone(),
            source: src.source.clone(),
            password: f.password,
            fields: f.fields,
            lease: f.lease,
            version: f.version,
            fetched_at: Utc::now(),
            refresh_at,
            valid_until,
            renewed_at: now,
            capped: false,
            retry_at: now,
            last_used: now,
        };
        let out = reveal(env.clone(), &mut c, None);
        let old = self.with(|m| m.insert(env.name.to_string(), c)).flatten();
        if let Some(old) = old.filter(|o| o.lease.is_some())
            && let Ok(mut r) = self.retired.lock()
        {
            r.push((env.name.to_string(), old));
        }
        out
    }

    /// `env` as its cached secret completes it, for `show` (no use, no
    /// fetch); unchanged when nothing is cached.
    pub(super) fn describe(&self, env: &mut Environment) {
        self.with(|m| {
            if let Some(c) = m
                .get(env.name.as_str())
                .filter(|c| Some(&c.src) == env.source.as_ref())
            {
                let filled = fill(env, c);
                let mut i = info(c);
                i.from_source = filled;
                env.cached = Some(i);
            }
        });
    }

    /// Removes `env`'s credential and its retired leases.
    pub(super) fn take(&self, env: &str) -> Vec<Cached> {
        let mut out: Vec<Cached> = self.with(|m| m.remove(env)).flatten().into_iter().collect();
        out.extend(self.take_retired(env));
        out
    }

    /// Removes `env`'s retired leases.
    pub(super) fn take_retired(&self, env: &str) -> Vec<Cached> {
        let Ok(mut r) = self.retired.lock() else {
            return Vec::new();
        };
        let (mine, rest): (Vec<_>, Vec<_>) = r.drain(..).partition(|(e, _)| e == env);
        *r = rest;
        mine.into_iter().map(|(_, c)| c).collect()
    }

    pub(super) fn take_all(&self) -> Vec<(String, Cached)> {
        let mut out: Vec<(String, Cached)> = self.with(|m| m.drain().collect()).unwrap_or_default();
        if let Ok(mut r) = self.retired.lock() {
            out.append(&mut r);
        }
        out
    }

    /// Drops retired leases that have ended on their own.
    pub(super) fn prune_retired(&self) {
        let now = Instant::now();
        if let Ok(mut r) = self.retired.lock() {
            r.retain(|(_, c)| c.valid_until.is_some_and(|v| v > now));
        }
    }
}

/// The environment as the secret completes it, and the password.
fn reveal(mut env: Environment, c: &mut Cached, warning: Option<String>) -> Revealed {
    let filled = fill(&mut env, c);
    let mut i = info(c);
    i.from_source = filled;
    env.cached = Some(i);
    Revealed {
        env,
        password: c.password.clone(),
        warning,
    }
}

/// Fills what the environment leaves empty from the secret's fields; the
/// user of a dynamic or static role is always the role's. Returns the
/// fields it filled.
fn fill(env: &mut Environment, c: &Cached) -> Vec<String> {
    let mut filled = Vec::new();
    let host_from_secret = env.host.trim().is_empty();
    for (k, v) in &c.fields {
        let took = match k.as_str() {
            "host" if host_from_secret => {
                env.host.clone_from(v);
                true
            }
            "port" if host_from_secret => match v.parse() {
                Ok(p) => {
                    env.port = p;
                    true
                }
                Err(_) => false,
            },
            "database" if env.database.is_empty() => {
                env.database.clone_from(v);
                true
            }
            "username"
                if env.username.is_empty()
                    || matches!(c.src.kind, SourceRefKind::Dynamic | SourceRefKind::Static) =>
            {
                env.username.clone_from(v);
                true
            }
            "host" | "port" | "database" | "username" | "kind" => false,
            _ if !env.options.contains_key(k) => {
                env.options.insert(k.clone(), v.clone());
                true
            }
            _ => false,
        };
        if took {
            filled.push(k.clone());
        }
    }
    filled
}

fn info(c: &Cached) -> CachedCredential {
    CachedCredential {
        fetched_at: Some(c.fetched_at),
        refresh_at: Some(c.wall(c.refresh_at)),
        valid_until: c.valid_until.map(|v| c.wall(v)),
        lease: c
            .lease
            .as_ref()
            .map(|l| l.suffix().to_owned())
            .unwrap_or_default(),
        renewable: c.lease.as_ref().is_some_and(|l| l.renewable),
        version: c.version.clone().unwrap_or_default(),
        from_source: Vec::new(),
    }
}

/// The audit outcome of a fetch: never the secret, only what identifies
/// the version or lease.
pub fn outcome(f: &Fetched) -> String {
    let mut s = String::from("ok");
    if let Some(l) = &f.lease {
        s.push_str(&format!(" lease …{}", l.suffix()));
    }
    if let Some(v) = &f.version {
        s.push_str(&format!(" version {v}"));
    }
    s
}

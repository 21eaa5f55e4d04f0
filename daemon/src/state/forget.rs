//! Forgetting one environment's secret after its policy's `max_unlocked`
//! while the others stay (docs/security.md): the secret leaves memory, and
//! only an unlock through an unlocker brings it back, as after a lock.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

use super::unlock::decrypt_all;
use super::{Agent, State, Unlocked};
use crate::error::{AgentError, Result};
use crate::vault::Record;
use crate::vault::crypto::DataKey;

impl Unlocked {
    /// Just unlocked: every secret loaded now.
    pub(super) fn new(key: DataKey, secrets: HashMap<String, SecretString>) -> Self {
        let now = Instant::now();
        Self {
            key,
            loaded: secrets.keys().map(|k| (k.clone(), now)).collect(),
            secrets,
            at: chrono::Utc::now(),
            forgotten: BTreeMap::new(),
        }
    }

    /// A secret the user just gave (put, update): in memory from now on.
    pub(super) fn insert(&mut self, name: String, secret: SecretString) {
        self.forgotten.remove(&name);
        self.loaded.insert(name.clone(), Instant::now());
        self.secrets.insert(name, secret);
    }

    pub(super) fn check_not_forgotten(&self, name: &str) -> Result<()> {
        match self.forgotten.get(name) {
            Some(limit) => Err(AgentError::Forgotten(
                name.to_owned(),
                humantime::format_duration(*limit).to_string(),
            )),
            None => Ok(()),
        }
    }

    /// An unlock while some secrets were forgotten: decrypts those again.
    pub(super) fn restore_forgotten(&mut self, records: &BTreeMap<String, Record>) -> Result<()> {
        let back: BTreeMap<String, Record> = records
            .iter()
            .filter(|(name, _)| self.forgotten.contains_key(*name))
            .map(|(n, r)| (n.clone(), r.clone()))
            .collect();
        let now = Instant::now();
        for (name, secret) in decrypt_all(&self.key, &back)? {
            self.loaded.insert(name.clone(), now);
            self.secrets.insert(name, secret);
        }
        self.forgotten.clear();
        Ok(())
    }
}

impl Agent {
    /// Forgets every secret whose `limits` entry (environment → its
    /// policy's `max_unlocked`) has run out since it was loaded; returns
    /// the next such moment, if any.
    pub async fn forget_due(&self, limits: &HashMap<String, Duration>) -> Option<Instant> {
        let mut state = self.state.write().await;
        let State::Open(o) = &mut *state else {
            return None;
        };
        let u = o.unlocked.as_mut()?;
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for (name, limit) in limits {
            let Some(at) = u.loaded.get(name).map(|t| *t + *limit) else {
                continue;
            };
            if u.forgotten.contains_key(name) {
                continue;
            }
            if at <= now {
                // Dropping the SecretString zeroes it.
                u.secrets.remove(name);
                u.forgotten.insert(name.clone(), *limit);
                tracing::info!(environment = %name, "secret forgotten (policy max_unlocked)");
            } else {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }

    /// Notified whenever secrets come into memory (unlock, put, update).
    pub fn loaded(&self) -> &tokio::sync::Notify {
        &self.loaded
    }
}

/// True when `name`'s secret was forgotten after its `max_unlocked`.
pub(super) fn is_forgotten(o: &super::OpenVault, name: &str) -> bool {
    o.unlocked
        .as_ref()
        .is_some_and(|u| u.forgotten.contains_key(name))
}

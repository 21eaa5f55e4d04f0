//! OpenBao / HashiCorp Vault: token, AppRole and userpass logins; KV v1 and
//! v2, database-engine dynamic and static roles; lease renewal and
//! revocation.
//!
//! Hand-written on `reqwest` rather than a client crate: `vaultrs` (0.8)
//! has no `sys/leases` renew/revoke, reads `VAULT_*` variables of the
//! agent's environment on its own, and parses secrets into plain `String`s
//! that are never zeroed. The part of the API used here is small.
//!
//! Logged: source names, paths and lease-id suffixes. Never tokens,
//! secret-ids, passwords or bodies.

mod http;
mod login;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;

use self::http::Api;
use self::login::Login;
use crate::{Fetched, Health, Lease, SecretRef, SourceError, VaultSpec};

pub(crate) struct VaultSession {
    api: Api,
    login: Login,
    /// Where each KV path the user gave was found: the mount and its KV
    /// version (asked once per path).
    kv_mounts: std::sync::Mutex<HashMap<String, KvMount>>,
}

#[derive(Debug, Clone)]
struct KvMount {
    /// `secret/`
    mount: String,
    v2: bool,
}

impl VaultSession {
    pub(crate) fn new(
        name: &str,
        spec: &VaultSpec,
        login: Option<SecretString>,
    ) -> Result<Self, SourceError> {
        Ok(Self {
            api: Api::new(name, spec)?,
            login: Login::new(spec.auth.clone(), login),
            kv_mounts: Default::default(),
        })
    }

    pub(crate) async fn fetch(&self, r: &SecretRef) -> Result<Fetched, SourceError> {
        match r {
            SecretRef::Kv { path, .. } => self.kv(clean(path)?).await,
            SecretRef::Dynamic { path, .. } => self.dynamic(clean(path)?).await,
            SecretRef::Static { path, .. } => self.static_creds(clean(path)?).await,
            other => Err(SourceError::Invalid(format!(
                "source '{}' is a Vault source: it has no {} secrets",
                self.api.name,
                other.kind()
            ))),
        }
    }

    /// A request with the login's token. A 403 may mean the token expired:
    /// an AppRole or userpass login logs in again and retries once; with a
    /// token login, a token that no longer works is `LoginFailed`.
    async fn authed(
        &self,
        method: Method,
        api_path: &str,
        body: Option<&serde_json::Value>,
        path: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, SourceError> {
        let token = self.login.token(&self.api).await?;
        let a = self
            .api
            .send(
                method.clone(),
                api_path,
                Some(&token),
                body.map(http::json_body),
            )
            .await?;
        if a.status.as_u16() != 403 {
            return self.api.ok(a, path);
        }
        if self.login.can_log_in_again() {
            tracing::debug!(source = %self.api.name, path, "vault: 403, logging in again once");
            let token = self.login.log_in_again(&self.api).await?;
            let a = self
                .api
                .send(method, api_path, Some(&token), body.map(http::json_body))
                .await?;
            return self.api.ok(a, path);
        }
        self.login.check_still_valid(&self.api).await?;
        Err(self.api.status_error(&a, path))
    }

    async fn kv(&self, path: &str) -> Result<Fetched, SourceError> {
        let m = self.kv_mount(path).await?;
        let rest = path.strip_prefix(m.mount.as_str()).unwrap_or(path);
        let api_path = if m.v2 {
            format!("{}data/{rest}", m.mount)
        } else {
            path.to_owned()
        };
        tracing::debug!(source = %self.api.name, path, v2 = m.v2, "vault: reading a KV secret");
        let body = self.authed(Method::GET, &api_path, None, path).await?;
        let env: Envelope<serde_json::Value> = self.api.parse(&body, path)?;
        let (mut data, version) = match (m.v2, env.data) {
            (true, Some(mut d)) => {
                let version = d
                    .pointer("/metadata/version")
                    .and_then(|v| v.as_u64())
                    .map(|v| v.to_string());
                (
                    d.get_mut("data")
                        .map(serde_json::Value::take)
                        .unwrap_or_default(),
                    version,
                )
            }
            (false, Some(d)) => (d, None),
            (_, None) => (serde_json::Value::Null, None),
        };
        let result = match &data {
            serde_json::Value::Object(obj) => crate::fields::from_json_object(obj, path),
            // A deleted KV v2 version answers with `data: null`.
            _ => Err(SourceError::NotFound {
                name: self.api.name.clone(),
                path: path.to_owned(),
            }),
        };
        crate::fields::zeroize_json(&mut data);
        let (password, fields) = result?;
        Ok(Fetched {
            password,
            fields,
            lease: None,
            valid_for: None,
            version,
        })
    }

    /// The mount of a KV path and its version: `sys/internal/ui/mounts/`
    /// answers for any token that may read something under the mount.
    /// When it does not answer, the first segment is taken as the mount
    /// and KV v2's layout is tried before v1's.
    async fn kv_mount(&self, path: &str) -> Result<KvMount, SourceError> {
        if let Some(m) = self.kv_mounts_lock().get(path) {
            return Ok(m.clone());
        }
        let m = match self.ask_mount(path).await? {
            Some(m) => m,
            None => self.probe_mount(path).await?,
        };
        self.kv_mounts_lock().insert(path.to_owned(), m.clone());
        Ok(m)
    }

    fn kv_mounts_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KvMount>> {
        // A panic while holding it left only a cache behind.
        self.kv_mounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn ask_mount(&self, path: &str) -> Result<Option<KvMount>, SourceError> {
        #[derive(Deserialize)]
        struct Mount {
            path: String,
            #[serde(default)]
            options: Option<HashMap<String, String>>,
        }
        let token = self.login.token(&self.api).await?;
        let a = self
            .api
            .send(
                Method::GET,
                &format!("sys/internal/ui/mounts/{path}"),
                Some(&token),
                None,
            )
            .await?;
        if !a.status.is_success() {
            if a.status.as_u16() == 503 {
                return Err(self.api.status_error(&a, path));
            }
            return Ok(None);
        }
        let env: Envelope<Mount> = self.api.parse(&a.body, path)?;
        Ok(env.data.filter(|m| !m.path.is_empty()).map(|m| KvMount {
            v2: m
                .options
                .as_ref()
                .and_then(|o| o.get("version"))
                .is_some_and(|v| v == "2"),
            mount: m.path,
        }))
    }

    async fn probe_mount(&self, path: &str) -> Result<KvMount, SourceError> {
        let (first, rest) = path.split_once('/').ok_or_else(|| {
            SourceError::Invalid(format!(
                "{path} is not a KV path: write it as mount/path (secret/db/prod)"
            ))
        })?;
        let mount = format!("{first}/");
        match self
            .authed(Method::GET, &format!("{mount}data/{rest}"), None, path)
            .await
        {
            Ok(_) => Ok(KvMount { mount, v2: true }),
            Err(SourceError::NotFound { .. } | SourceError::PermissionDenied { .. }) => {
                Ok(KvMount { mount, v2: false })
            }
            Err(e) => Err(e),
        }
    }

    async fn dynamic(&self, path: &str) -> Result<Fetched, SourceError> {
        #[derive(Deserialize)]
        struct Creds {
            username: String,
            password: SecretString,
        }
        let body = self.authed(Method::GET, path, None, path).await?;
        let env: Envelope<Creds> = self.api.parse(&body, path)?;
        let creds = env.data.ok_or_else(|| {
            self.api
                .protocol(format!("{path} answered without credentials"))
        })?;
        if env.lease_id.is_empty() {
            return Err(self.api.protocol(format!(
                "{path} answered without a lease: is it a database creds path?"
            )));
        }
        let duration = Duration::from_secs(env.lease_duration);
        let lease = Lease {
            id: env.lease_id,
            renewable: env.renewable,
            duration,
        };
        tracing::debug!(source = %self.api.name, path, lease = lease.suffix(), ttl = env.lease_duration, "vault: leased a credential");
        Ok(Fetched {
            password: creds.password,
            fields: BTreeMap::from([("username".to_owned(), creds.username)]),
            lease: Some(lease),
            valid_for: Some(duration),
            version: None,
        })
    }

    async fn static_creds(&self, path: &str) -> Result<Fetched, SourceError> {
        #[derive(Deserialize)]
        struct Creds {
            username: String,
            password: SecretString,
            #[serde(default)]
            ttl: u64,
        }
        let body = self.authed(Method::GET, path, None, path).await?;
        let env: Envelope<Creds> = self.api.parse(&body, path)?;
        let creds = env.data.ok_or_else(|| {
            self.api
                .protocol(format!("{path} answered without credentials"))
        })?;
        tracing::debug!(source = %self.api.name, path, ttl = creds.ttl, "vault: read a static role");
        Ok(Fetched {
            password: creds.password,
            fields: BTreeMap::from([("username".to_owned(), creds.username)]),
            lease: None,
            valid_for: Some(Duration::from_secs(creds.ttl)),
            version: None,
        })
    }

    pub(crate) async fn renew(
        &self,
        lease: &Lease,
        increment: Duration,
    ) -> Result<Duration, SourceError> {
        let body = serde_json::json!({"lease_id": lease.id, "increment": increment.as_secs()});
        let answer = self
            .authed(
                Method::PUT,
                "sys/leases/renew",
                Some(&body),
                "sys/leases/renew",
            )
            .await;
        let body = match answer {
            Ok(b) => b,
            Err(e) => return Err(self.lease_error(e)),
        };
        let env: Envelope<serde_json::Value> = self.api.parse(&body, "sys/leases/renew")?;
        tracing::debug!(source = %self.api.name, lease = lease.suffix(), ttl = env.lease_duration, "vault: renewed a lease");
        Ok(Duration::from_secs(env.lease_duration))
    }

    pub(crate) async fn revoke(&self, lease: &Lease) -> Result<(), SourceError> {
        let body = serde_json::json!({"lease_id": lease.id});
        match self
            .authed(
                Method::PUT,
                "sys/leases/revoke",
                Some(&body),
                "sys/leases/revoke",
            )
            .await
            .map_err(|e| self.lease_error(e))
        {
            // Gone already: what revoking wanted.
            Ok(_) | Err(SourceError::LeaseGone { .. }) => {
                tracing::debug!(source = %self.api.name, lease = lease.suffix(), "vault: revoked a lease");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Vault answers 400 "invalid lease" (or "lease not found") for a lease
    /// it no longer has.
    fn lease_error(&self, e: SourceError) -> SourceError {
        match e {
            SourceError::Protocol { ref detail, .. }
                if detail.starts_with("400")
                    && (detail.contains("invalid lease") || detail.contains("lease not found")) =>
            {
                SourceError::LeaseGone {
                    name: self.api.name.clone(),
                }
            }
            e => e,
        }
    }

    pub(crate) async fn keep_login(&self) -> Result<(), SourceError> {
        self.login.keep(&self.api).await
    }

    pub(crate) async fn health(&self) -> Health {
        #[derive(Deserialize, Default)]
        struct SysHealth {
            #[serde(default)]
            version: String,
        }
        let a = match self.api.send(Method::GET, "sys/health", None, None).await {
            Ok(a) => a,
            Err(e) => {
                return Health {
                    reachable: false,
                    token_ttl: None,
                    detail: e.to_string(),
                };
            }
        };
        let version = serde_json::from_slice::<SysHealth>(&a.body)
            .unwrap_or_default()
            .version;
        let state = match a.status.as_u16() {
            200 => "active",
            429 => "standby",
            472 => "disaster-recovery secondary",
            473 => "performance standby",
            501 => "not initialised",
            503 => "sealed",
            _ => "answering",
        };
        let mut detail = if version.is_empty() {
            state.to_owned()
        } else {
            format!("{state} (version {version})")
        };
        let token_ttl = match self.login.remaining(&self.api).await {
            Ok(Some(ttl)) => {
                detail.push_str(&format!(", token expires in {} s", ttl.as_secs()));
                Some(ttl)
            }
            Ok(None) => None,
            Err(e) => {
                detail.push_str(&format!(", login: {e}"));
                None
            }
        };
        Health {
            reachable: true,
            token_ttl,
            detail,
        }
    }
}

/// The common shape of Vault's answers.
#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default = "Option::default")]
    data: Option<T>,
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    renewable: bool,
    #[serde(default)]
    lease_duration: u64,
}

/// A path as the user wrote it, without the slashes around it; refused
/// when it would leave the path part of the URL.
fn clean(path: &str) -> Result<&str, SourceError> {
    let p = path.trim_matches('/');
    let bad = p.is_empty()
        || p.contains(['?', '#', '%', ' ', '\\'])
        || p.split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        return Err(SourceError::Invalid(format!(
            "{path:?} is not a Vault path (mount/path, no '..', '?', '#' or spaces)"
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn paths_stay_paths() {
        assert_eq!(clean("/secret/db/prod/").unwrap(), "secret/db/prod");
        assert_eq!(
            clean("database/creds/app-ro").unwrap(),
            "database/creds/app-ro"
        );
        for bad in [
            "",
            "/",
            "secret/../sys/seal",
            "secret//x",
            "secret/db?list=true",
            "a#b",
            "a b",
            "a%2e",
        ] {
            assert!(clean(bad).is_err(), "{bad:?}");
        }
    }
}

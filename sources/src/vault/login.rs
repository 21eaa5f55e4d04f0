//! A Vault source's login: the sealed login secret, the current token, and
//! when to renew it or log in again.

use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::Envelope;
use super::http::{self, Api};
use crate::{SourceError, VaultAuth};

pub(super) struct Login {
    auth: VaultAuth,
    /// The token, AppRole secret-id or userpass password.
    secret: Option<SecretString>,
    current: Mutex<Option<Token>>,
}

struct Token {
    value: SecretString,
    renewable: bool,
    /// `None`: it does not expire (a root token, a periodic token's `ttl`
    /// 0).
    ttl: Option<Duration>,
    since: Instant,
}

impl Token {
    fn past_half(&self) -> bool {
        self.ttl.is_some_and(|t| self.since.elapsed() >= t / 2)
    }
}

#[derive(Deserialize)]
struct Auth {
    client_token: SecretString,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct LookupSelf {
    #[serde(default)]
    ttl: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct AuthEnvelope {
    auth: Option<Auth>,
}

impl Login {
    pub fn new(auth: VaultAuth, secret: Option<SecretString>) -> Self {
        Self {
            auth,
            secret,
            current: Mutex::new(None),
        }
    }

    /// AppRole and userpass can get a new token by themselves; a token
    /// login cannot.
    pub fn can_log_in_again(&self) -> bool {
        !matches!(self.auth, VaultAuth::Token)
    }

    /// The current token, logging in first when there is none.
    pub async fn token(&self, api: &Api) -> Result<SecretString, SourceError> {
        let mut cur = self.current.lock().await;
        if let Some(t) = cur.as_ref() {
            return Ok(t.value.clone());
        }
        let t = self.log_in(api).await?;
        let value = t.value.clone();
        *cur = Some(t);
        Ok(value)
    }

    /// Drops the current token and logs in again (AppRole, userpass).
    pub async fn log_in_again(&self, api: &Api) -> Result<SecretString, SourceError> {
        let mut cur = self.current.lock().await;
        let t = self.log_in(api).await?;
        let value = t.value.clone();
        *cur = Some(t);
        Ok(value)
    }

    /// After a 403 with a token login: whether the token itself still
    /// works (`LoginFailed` when not).
    pub async fn check_still_valid(&self, api: &Api) -> Result<(), SourceError> {
        let mut cur = self.current.lock().await;
        let Some(t) = cur.as_ref() else {
            return Ok(());
        };
        match lookup_self(api, &t.value).await {
            Ok(_) => Ok(()),
            Err(e @ SourceError::LoginFailed { .. }) => {
                *cur = None;
                Err(e)
            }
            Err(_) => Ok(()),
        }
    }

    /// The token's remaining lifetime when logged in (asked of the server).
    pub async fn remaining(&self, api: &Api) -> Result<Option<Duration>, SourceError> {
        let cur = self.current.lock().await;
        let Some(t) = cur.as_ref() else {
            return Ok(None);
        };
        let l = lookup_self(api, &t.value).await?;
        Ok((l.ttl > 0).then(|| Duration::from_secs(l.ttl)))
    }

    /// Renews a renewable token once past half its ttl; logs in again when
    /// that fails or the token cannot be renewed (AppRole, userpass).
    pub async fn keep(&self, api: &Api) -> Result<(), SourceError> {
        let mut cur = self.current.lock().await;
        let Some(t) = cur.as_ref() else {
            return Ok(());
        };
        if !t.past_half() {
            return Ok(());
        }
        let renewed = if t.renewable {
            renew_self(api, &t.value).await
        } else {
            Err(SourceError::LoginFailed {
                name: api.name.clone(),
                detail: "the token cannot be renewed".into(),
            })
        };
        match renewed {
            Ok(auth) => {
                tracing::debug!(source = %api.name, ttl = auth.lease_duration, "vault: renewed the login token");
                *cur = Some(token_from_auth(auth));
                Ok(())
            }
            Err(e) if self.can_log_in_again() && !e.is_outage() => {
                tracing::debug!(source = %api.name, "vault: logging in again (the token could not be renewed)");
                *cur = Some(self.log_in(api).await?);
                Ok(())
            }
            // A token login that cannot be renewed runs until it expires.
            Err(SourceError::LoginFailed { .. }) if !t.renewable => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn log_in(&self, api: &Api) -> Result<Token, SourceError> {
        let secret = self
            .secret
            .as_ref()
            .ok_or_else(|| SourceError::LoginFailed {
                name: api.name.clone(),
                detail: "no login secret is stored".into(),
            })?;
        match &self.auth {
            VaultAuth::Token => {
                let l = lookup_self(api, secret).await?;
                tracing::debug!(source = %api.name, ttl = l.ttl, "vault: token login checked");
                Ok(Token {
                    value: secret.clone(),
                    renewable: l.renewable,
                    ttl: (l.ttl > 0).then(|| Duration::from_secs(l.ttl)),
                    since: Instant::now(),
                })
            }
            VaultAuth::Approle { role_id, mount } => {
                let path = format!("auth/{}/login", mount.as_deref().unwrap_or("approle"));
                let mut body =
                    serde_json::json!({"role_id": role_id, "secret_id": secret.expose_secret()});
                let auth = login_request(api, &path, &body).await;
                crate::fields::zeroize_json(&mut body);
                let auth = auth?;
                tracing::debug!(source = %api.name, ttl = auth.lease_duration, "vault: logged in with AppRole");
                Ok(token_from_auth(auth))
            }
            VaultAuth::Userpass { username, mount } => {
                let path = format!(
                    "auth/{}/login/{username}",
                    mount.as_deref().unwrap_or("userpass")
                );
                let mut body = serde_json::json!({"password": secret.expose_secret()});
                let auth = login_request(api, &path, &body).await;
                crate::fields::zeroize_json(&mut body);
                let auth = auth?;
                tracing::debug!(source = %api.name, ttl = auth.lease_duration, "vault: logged in with userpass");
                Ok(token_from_auth(auth))
            }
        }
    }
}

fn token_from_auth(auth: Auth) -> Token {
    Token {
        value: auth.client_token,
        renewable: auth.renewable,
        ttl: (auth.lease_duration > 0).then(|| Duration::from_secs(auth.lease_duration)),
        since: Instant::now(),
    }
}

/// A login request: 400 (bad secret-id, password) and 403 are refusals.
async fn login_request(
    api: &Api,
    path: &str,
    body: &serde_json::Value,
) -> Result<Auth, SourceError> {
    let a = api
        .send(Method::POST, path, None, Some(http::json_body(body)))
        .await?;
    if matches!(a.status.as_u16(), 400 | 403) {
        return Err(SourceError::LoginFailed {
            name: api.name.clone(),
            detail: refusal(&a.body),
        });
    }
    let body = api.ok(a, path)?;
    let env: AuthEnvelope = api.parse(&body, path)?;
    env.auth
        .ok_or_else(|| api.protocol(format!("{path} answered without a token")))
}

async fn lookup_self(api: &Api, token: &SecretString) -> Result<LookupSelf, SourceError> {
    let path = "auth/token/lookup-self";
    let a = api.send(Method::GET, path, Some(token), None).await?;
    if matches!(a.status.as_u16(), 400 | 403) {
        return Err(SourceError::LoginFailed {
            name: api.name.clone(),
            detail: format!("the token was refused: {}", refusal(&a.body)),
        });
    }
    let body = api.ok(a, path)?;
    let env: Envelope<LookupSelf> = api.parse(&body, path)?;
    env.data
        .ok_or_else(|| api.protocol(format!("{path} answered without data")))
}

async fn renew_self(api: &Api, token: &SecretString) -> Result<Auth, SourceError> {
    let path = "auth/token/renew-self";
    let a = api
        .send(
            Method::POST,
            path,
            Some(token),
            Some(http::json_body(&serde_json::json!({}))),
        )
        .await?;
    if matches!(a.status.as_u16(), 400 | 403) {
        return Err(SourceError::LoginFailed {
            name: api.name.clone(),
            detail: format!("renewing the token was refused: {}", refusal(&a.body)),
        });
    }
    let body = api.ok(a, path)?;
    let env: AuthEnvelope = api.parse(&body, path)?;
    env.auth
        .ok_or_else(|| api.protocol(format!("{path} answered without a token")))
}

fn refusal(body: &[u8]) -> String {
    let e = http::errors(body);
    if e.is_empty() {
        "permission denied".into()
    } else {
        e
    }
}

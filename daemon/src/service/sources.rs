//! The source handlers: `PutSource`, `ListSources`, `RemoveSource`,
//! `LoginSource`, `Refresh`. Login secrets arrive in wiped messages and
//! go straight into `SecretString`s.

use std::time::Duration;

use dbcreds::proto::v1;
use dbcreds_sources::{AwsSpec, SourceKind, SourceSpec, VaultAuth, VaultSpec};
use secrecy::SecretString;
use tonic::{Request, Response, Status};

use super::{Service, name, reply_env};
use crate::error::AgentError;
use crate::state::SourceView;

pub(super) async fn put(
    s: &Service,
    req: Request<v1::PutSourceRequest>,
) -> Result<Response<v1::SourceInfo>, Status> {
    let mut r = dbcreds::proto::Wiped(req.into_inner());
    let info =
        r.0.source.take().ok_or_else(|| {
            Status::from(AgentError::BadRequest("no source in the request".into()))
        })?;
    let spec = spec_from_wire(info)?;
    let login = (!r.login_secret.is_empty())
        .then(|| SecretString::from(std::mem::take(&mut r.0.login_secret)));
    let view = s.agent.put_source(spec, login, r.replace).await?;
    Ok(Response::new(info_of(&view, None)))
}

pub(super) async fn list(
    s: &Service,
    req: Request<v1::ListSourcesRequest>,
) -> Result<Response<v1::ListSourcesResponse>, Status> {
    let health = req.get_ref().health;
    let views = s.agent.list_sources().await?;
    let mut sources = Vec::with_capacity(views.len());
    for v in &views {
        let h = if health {
            s.agent.source_health(&v.spec.name).await
        } else {
            None
        };
        sources.push(info_of(v, h));
    }
    Ok(Response::new(v1::ListSourcesResponse { sources }))
}

pub(super) async fn remove(
    s: &Service,
    req: Request<v1::RemoveSourceRequest>,
) -> Result<Response<v1::RemoveSourceResponse>, Status> {
    s.agent.remove_source(&req.get_ref().name).await?;
    Ok(Response::new(v1::RemoveSourceResponse {}))
}

pub(super) async fn login(
    s: &Service,
    req: Request<v1::LoginSourceRequest>,
) -> Result<Response<v1::SourceInfo>, Status> {
    let mut r = dbcreds::proto::Wiped(req.into_inner());
    if r.login_secret.is_empty() {
        return Err(AgentError::BadRequest(
            "no login secret given: pass it on stdin or at the prompt".into(),
        )
        .into());
    }
    let secret = SecretString::from(std::mem::take(&mut r.0.login_secret));
    let view = s.agent.login_source(&r.name, secret).await?;
    // Log in now, so a bad secret shows here and not at the next `get`.
    let health = s.agent.source_health(&view.spec.name).await;
    Ok(Response::new(info_of(&view, health)))
}

pub(super) async fn refresh(
    s: &Service,
    req: Request<v1::RefreshRequest>,
) -> Result<Response<v1::RefreshResponse>, Status> {
    let n = name(&req.get_ref().name)?;
    let env = s.agent.refresh(&n).await?;
    s.events.send(n.as_str(), "refresh", true);
    Ok(Response::new(v1::RefreshResponse {
        environment: reply_env(&env),
    }))
}

fn opt(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

fn spec_from_wire(i: v1::SourceInfo) -> Result<SourceSpec, AgentError> {
    let timeout = (i.timeout_secs > 0).then(|| Duration::from_secs(i.timeout_secs.into()));
    let vault = |i: v1::SourceInfo| -> Result<VaultSpec, AgentError> {
        if i.address.trim().is_empty() {
            return Err(AgentError::BadRequest(
                "an openbao/vault source needs --address URL".into(),
            ));
        }
        let mount = opt(i.mount);
        let auth = match i.auth.as_str() {
            "" | "token" => VaultAuth::Token,
            "approle" => VaultAuth::Approle {
                role_id: opt(i.auth_name).ok_or_else(|| {
                    AgentError::BadRequest("--auth approle needs --role-id".into())
                })?,
                mount,
            },
            "userpass" => VaultAuth::Userpass {
                username: opt(i.auth_name).ok_or_else(|| {
                    AgentError::BadRequest("--auth userpass needs --username".into())
                })?,
                mount,
            },
            other => {
                return Err(AgentError::BadRequest(format!(
                    "unknown login method '{other}': use token, approle or userpass"
                )));
            }
        };
        Ok(VaultSpec {
            address: i.address,
            namespace: opt(i.namespace),
            ca_cert: opt(i.ca_cert).map(Into::into),
            auth,
            timeout,
        })
    };
    let name = i.name.clone();
    let kind = match i.kind.as_str() {
        "openbao" => SourceKind::Openbao(vault(i)?),
        "vault" => SourceKind::Vault(vault(i)?),
        "aws" => SourceKind::Aws(AwsSpec {
            region: opt(i.region),
            profile: opt(i.profile),
            endpoint: opt(i.endpoint),
            timeout,
        }),
        other => {
            return Err(AgentError::BadRequest(format!(
                "unknown source kind '{other}': use openbao, vault or aws"
            )));
        }
    };
    Ok(SourceSpec { name, kind })
}

fn info_of(v: &SourceView, health: Option<dbcreds_sources::Health>) -> v1::SourceInfo {
    let mut i = v1::SourceInfo {
        name: v.spec.name.clone(),
        kind: v.spec.kind.as_str().into(),
        has_login: v.has_login,
        environments: v.environments.clone(),
        ..Default::default()
    };
    let secs =
        |t: Option<Duration>| t.map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    match &v.spec.kind {
        SourceKind::Openbao(s) | SourceKind::Vault(s) => {
            i.address.clone_from(&s.address);
            i.namespace = s.namespace.clone().unwrap_or_default();
            i.ca_cert = s
                .ca_cert
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            i.timeout_secs = secs(s.timeout);
            let (method, who, mount) = match &s.auth {
                VaultAuth::Token => ("token", String::new(), None),
                VaultAuth::Approle { role_id, mount } => {
                    ("approle", role_id.clone(), mount.clone())
                }
                VaultAuth::Userpass { username, mount } => {
                    ("userpass", username.clone(), mount.clone())
                }
            };
            i.auth = method.into();
            i.auth_name = who;
            i.mount = mount.unwrap_or_default();
        }
        SourceKind::Aws(a) => {
            i.region = a.region.clone().unwrap_or_default();
            i.profile = a.profile.clone().unwrap_or_default();
            i.endpoint = a.endpoint.clone().unwrap_or_default();
            i.timeout_secs = secs(a.timeout);
        }
    }
    i.health = health.map(|h| v1::SourceHealth {
        reachable: h.reachable,
        detail: h.detail,
        token_expires_at: h.token_ttl.map_or(0, |t| {
            chrono::Utc::now().timestamp() + i64::try_from(t.as_secs()).unwrap_or(0)
        }),
    });
    i
}

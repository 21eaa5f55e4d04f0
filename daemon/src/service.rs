//! The gRPC face of the agent: decodes requests into model types, calls
//! [`Agent`], records reveals in the audit log, and encodes replies.

use std::sync::Arc;

use chrono::Utc;
use dbcreds::proto::v1::{self, agent_server};
use dbcreds::{EnvName, Environment};
use secrecy::{ExposeSecret, SecretString};
use tonic::{Request, Response, Status};

use crate::audit::AuditLog;
use crate::error::AgentError;
use crate::server::Peer;
use crate::state::{Agent, Patch};
use crate::vault::AuditEvent;

pub struct Service {
    agent: Arc<Agent>,
    audit: AuditLog,
}

impl Service {
    pub fn new(agent: Arc<Agent>, audit: AuditLog) -> Self {
        Self { agent, audit }
    }

    async fn audit(&self, peer: Option<&Peer>, env: &str, operation: &'static str, outcome: &str) {
        let peer = peer.cloned().unwrap_or_default();
        self.audit
            .record(AuditEvent {
                at: Utc::now(),
                environment: env.to_owned(),
                operation,
                client_pid: peer.pid,
                client_uid: peer.uid,
                client_exe: peer.exe,
                outcome: outcome.to_owned(),
            })
            .await;
    }
}

fn name(raw: &str) -> Result<EnvName, Status> {
    EnvName::parse(raw).map_err(|e| AgentError::from(e).into())
}

fn secret(s: String) -> SecretString {
    SecretString::from(s)
}

fn reply_env(env: &Environment) -> Option<v1::Environment> {
    Some(env.into())
}

#[tonic::async_trait]
impl agent_server::Agent for Service {
    async fn status(
        &self,
        _: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusResponse>, Status> {
        let s = self.agent.status().await;
        let left = self.agent.timers.left();
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(Response::new(v1::StatusResponse {
            agent_version: env!("CARGO_PKG_VERSION").into(),
            protocol: dbcreds::proto::PROTOCOL,
            state: s.state.into(),
            unlockers: s.unlockers,
            vault_path: self.agent.vault_path().display().to_string(),
            pid: std::process::id(),
            environments: s.environments,
            unlocked_at: s.unlocked_at.map_or(0, |t| t.timestamp()),
            idle_lock_in_secs: left.idle.map(secs),
            hard_lock_in_secs: left.hard.map(secs),
        }))
    }

    async fn init(
        &self,
        req: Request<v1::InitRequest>,
    ) -> Result<Response<v1::InitResponse>, Status> {
        let r = req.into_inner();
        let unlocker = if r.unlocker.is_empty() {
            "auto".to_owned()
        } else {
            r.unlocker
        };
        let unlockers = self.agent.init(&unlocker, r.passphrase.map(secret)).await?;
        Ok(Response::new(v1::InitResponse {
            unlockers,
            vault_path: self.agent.vault_path().display().to_string(),
        }))
    }

    async fn unlock(
        &self,
        req: Request<v1::UnlockRequest>,
    ) -> Result<Response<v1::UnlockResponse>, Status> {
        let how = self
            .agent
            .unlock(req.into_inner().passphrase.map(secret))
            .await?;
        Ok(Response::new(v1::UnlockResponse {
            unlocker: how.into(),
        }))
    }

    async fn lock(
        &self,
        _: Request<v1::LockRequest>,
    ) -> Result<Response<v1::LockResponse>, Status> {
        self.agent.lock(true).await;
        Ok(Response::new(v1::LockResponse {}))
    }

    async fn list(
        &self,
        _: Request<v1::ListRequest>,
    ) -> Result<Response<v1::ListResponse>, Status> {
        let envs = self.agent.list().await?;
        Ok(Response::new(v1::ListResponse {
            environments: envs.iter().map(Into::into).collect(),
        }))
    }

    async fn describe(
        &self,
        req: Request<v1::DescribeRequest>,
    ) -> Result<Response<v1::DescribeResponse>, Status> {
        let env = self.agent.describe(&name(&req.get_ref().name)?).await?;
        Ok(Response::new(v1::DescribeResponse {
            environment: reply_env(&env),
        }))
    }

    async fn get(&self, req: Request<v1::GetRequest>) -> Result<Response<v1::GetResponse>, Status> {
        let peer = req.extensions().get::<Peer>().cloned();
        let n = name(&req.get_ref().name)?;
        match self.agent.get(&n).await {
            Ok((env, password)) => {
                self.audit(peer.as_ref(), n.as_str(), "get", "ok").await;
                Ok(Response::new(v1::GetResponse {
                    environment: reply_env(&env),
                    password: password.expose_secret().to_owned(),
                }))
            }
            Err(e) => {
                self.audit(peer.as_ref(), n.as_str(), "get", e.reason().as_str())
                    .await;
                Err(e.into())
            }
        }
    }

    async fn put(&self, req: Request<v1::PutRequest>) -> Result<Response<v1::PutResponse>, Status> {
        let r = req.into_inner();
        let wire = r.environment.ok_or_else(|| {
            Status::from(AgentError::BadRequest(
                "no environment in the request".into(),
            ))
        })?;
        let env = Environment::try_from(wire).map_err(AgentError::from)?;
        let env = self.agent.put(env, secret(r.password), r.replace).await?;
        Ok(Response::new(v1::PutResponse {
            environment: reply_env(&env),
        }))
    }

    async fn update(
        &self,
        req: Request<v1::UpdateRequest>,
    ) -> Result<Response<v1::UpdateResponse>, Status> {
        let r = req.into_inner();
        let n = name(&r.name)?;
        let patch = Patch {
            kind: r.kind,
            host: r.host,
            port: r.port,
            database: r.database,
            username: r.username,
            password: r.password.map(secret),
            production: r.production,
            description: r.description,
            expires_days: r.expires_days,
            options: r.options.into_iter().collect(),
        };
        let env = self.agent.update(&n, patch).await?;
        Ok(Response::new(v1::UpdateResponse {
            environment: reply_env(&env),
        }))
    }

    async fn remove(
        &self,
        req: Request<v1::RemoveRequest>,
    ) -> Result<Response<v1::RemoveResponse>, Status> {
        self.agent.remove(&name(&req.get_ref().name)?).await?;
        Ok(Response::new(v1::RemoveResponse {}))
    }
}

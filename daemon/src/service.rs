//! The gRPC face of the agent: decodes requests into model types, calls
//! [`Agent`], records reveals in the audit log, and encodes replies.

use std::sync::Arc;

use chrono::Utc;
use dbcreds::proto::v1::{self, agent_server};
use dbcreds::{EnvName, Environment};
use secrecy::SecretString;
use tonic::{Request, Response, Status};

use crate::audit::AuditLog;
use crate::dbops::{DbOps, RotateParams};
use crate::error::AgentError;
use crate::events::{ChangeStream, Events};
use crate::policy::Guard;
use crate::state::Agent;
use crate::transport::Peer;
use dbcreds::edit::Patch;
use dbcreds::unlocker::InitUnlocker;

mod misc;
mod policy;
mod reveal;
mod safety;
mod sources;
mod wire;

use wire::check_entry;

pub struct Service {
    agent: Arc<Agent>,
    audit: AuditLog,
    ops: Arc<DbOps>,
    events: Events,
    /// Every path that reveals or changes what a policy protects asks it.
    guard: Guard,
}

/// The most audit events one `Audit` reply carries.
const AUDIT_MAX: u32 = 10_000;
const AUDIT_DEFAULT: u32 = 1_000;

impl Service {
    /// Also starts the task that finishes interrupted rotations whenever
    /// the vault is unlocked.
    pub fn new(agent: Arc<Agent>, audit: AuditLog) -> Self {
        let events = Events::new();
        let ops = DbOps::new(agent.clone(), audit.clone(), events.clone());
        ops.spawn_recovery();
        let guard = Guard::new(agent.clone(), audit.clone());
        agent
            .sources
            .attach(Arc::new(audit.clone()), events.clone());
        tokio::spawn(crate::state::run_keeper(agent.clone()));
        Self {
            agent,
            audit,
            ops,
            events,
            guard,
        }
    }

    /// The change stream's handle, so the server can end every `Watch` at
    /// shutdown.
    pub fn events(&self) -> Events {
        self.events.clone()
    }

    async fn audit(&self, peer: Option<&Peer>, env: &str, operation: &'static str, outcome: &str) {
        self.audit.record_by(peer, env, operation, outcome).await;
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
    type WatchStream = ChangeStream;

    async fn status(
        &self,
        _: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusResponse>, Status> {
        let s = self.agent.status().await;
        let left = self.agent.timers.left();
        let limits = self.agent.timers.limits();
        let (audit_held, audit_lost) = self.audit.health();
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(Response::new(v1::StatusResponse {
            agent_version: env!("CARGO_PKG_VERSION").into(),
            protocol: crate::testhooks::protocol(),
            state: s.state.into(),
            unlockers: s.unlockers.iter().map(|u| u.as_str().to_owned()).collect(),
            vault_path: self.agent.vault_path().display().to_string(),
            pid: std::process::id(),
            environments: s.environments,
            unlocked_at: s.unlocked_at.map_or(0, |t| t.timestamp()),
            idle_lock_in_secs: left.idle.map(secs),
            hard_lock_in_secs: left.hard.map(secs),
            audit_held,
            audit_lost,
            lock_after_secs: limits.lock_after.map(secs),
            max_unlocked_secs: limits.max_unlocked.map(secs),
            vault_error: s.vault_error,
            forgotten: s.forgotten,
        }))
    }

    async fn diagnose(
        &self,
        _: Request<v1::DiagnoseRequest>,
    ) -> Result<Response<v1::DiagnoseResponse>, Status> {
        let checks = self
            .agent
            .diagnose()
            .await
            .into_iter()
            .map(|c| v1::DiagnoseCheck {
                name: c.name.into(),
                ok: c.ok,
                detail: c.detail,
                fix: c.fix,
            })
            .collect();
        Ok(Response::new(v1::DiagnoseResponse { checks }))
    }

    async fn init(
        &self,
        req: Request<v1::InitRequest>,
    ) -> Result<Response<v1::InitResponse>, Status> {
        let r = req.into_inner();
        let unlocker: InitUnlocker = r.unlocker.parse().map_err(AgentError::BadRequest)?;
        let unlockers = self.agent.init(unlocker, r.passphrase.map(secret)).await?;
        Ok(Response::new(v1::InitResponse {
            unlockers: unlockers.iter().map(|u| u.as_str().to_owned()).collect(),
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
            unlocker: how.as_str().into(),
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
        reveal::get(self, req).await
    }

    async fn put(&self, req: Request<v1::PutRequest>) -> Result<Response<v1::PutResponse>, Status> {
        let peer = req.extensions().get::<Peer>().cloned();
        let r = req.into_inner();
        let wire = r.environment.ok_or_else(|| {
            Status::from(AgentError::BadRequest(
                "no environment in the request".into(),
            ))
        })?;
        let env = Environment::try_from(wire).map_err(AgentError::from)?;
        if r.replace {
            let approval = r.approval.as_ref();
            self.guard
                .change(
                    peer.as_ref(),
                    &env.name,
                    "put",
                    Some(env.production),
                    approval,
                )
                .await?;
        }
        let env = self.agent.put(env, secret(r.password), r.replace).await?;
        self.guard.environments_changed();
        self.events.send(env.name.as_str(), "put", true);
        Ok(Response::new(v1::PutResponse {
            environment: reply_env(&env),
        }))
    }

    async fn update(
        &self,
        req: Request<v1::UpdateRequest>,
    ) -> Result<Response<v1::UpdateResponse>, Status> {
        let peer = req.extensions().get::<Peer>().cloned();
        let r = req.into_inner();
        let n = name(&r.name)?;
        // The production flag decides whether the production default
        // applies: turning it off is a change a confirm policy guards.
        if let Some(production) = r.production
            && self.agent.describe(&n).await?.production != production
        {
            let approval = r.approval.as_ref();
            self.guard
                .change(peer.as_ref(), &n, "update", Some(production), approval)
                .await?;
        }
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
            auth: r.auth,
            password_changed_at: r
                .password_changed_at
                .map(dbcreds::edit::password_changed_from_secs)
                .transpose()
                .map_err(AgentError::from)?,
        };
        let password_changed = patch.password.is_some() || patch.auth.is_some();
        let env = self.agent.update(&n, patch).await?;
        self.guard.environments_changed();
        self.events.send(n.as_str(), "update", password_changed);
        Ok(Response::new(v1::UpdateResponse {
            environment: reply_env(&env),
        }))
    }

    async fn remove(
        &self,
        req: Request<v1::RemoveRequest>,
    ) -> Result<Response<v1::RemoveResponse>, Status> {
        let peer = req.extensions().get::<Peer>().cloned();
        let r = req.into_inner();
        let n = name(&r.name)?;
        self.guard
            .change(peer.as_ref(), &n, "remove", None, r.approval.as_ref())
            .await?;
        self.agent.remove(&n).await?;
        self.events.send(n.as_str(), "remove", true);
        Ok(Response::new(v1::RemoveResponse {}))
    }

    async fn test(
        &self,
        req: Request<v1::TestRequest>,
    ) -> Result<Response<v1::TestResponse>, Status> {
        let peer = req.extensions().get::<Peer>().cloned();
        let n = name(&req.get_ref().name)?;
        let t = self.ops.test(&n, peer.as_ref()).await?;
        Ok(Response::new(v1::TestResponse {
            result: Some((&t).into()),
        }))
    }

    async fn rotate(
        &self,
        req: Request<v1::RotateRequest>,
    ) -> Result<Response<v1::RotateResponse>, Status> {
        let peer = req.extensions().get::<Peer>().cloned();
        let r = req.into_inner();
        let n = name(&r.name)?;
        let params = RotateParams {
            length: (r.length != 0).then_some(r.length),
            alphabet: (!r.alphabet.is_empty()).then_some(r.alphabet),
            admin: r.admin.as_deref().map(name).transpose()?,
            resume: r.resume,
            hosts: r.hosts,
        };
        self.guard
            .change(peer.as_ref(), &n, "rotate", None, r.approval.as_ref())
            .await?;
        let rotated = self.ops.rotate(&n, params, peer.as_ref()).await?;
        Ok(Response::new(v1::RotateResponse {
            environment: reply_env(&rotated.env),
            outcome: rotated.outcome.as_str().into(),
            detail: rotated.words(),
            accounts: rotated.accounts,
            notes: rotated.notes,
        }))
    }

    async fn audit(
        &self,
        req: Request<v1::AuditRequest>,
    ) -> Result<Response<v1::AuditResponse>, Status> {
        misc::audit(self, req).await
    }

    async fn watch(
        &self,
        req: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let req = req.into_inner();
        let names = req
            .names
            .iter()
            .map(|raw| name(raw).map(|n| n.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let vault = req.vault_events.then(|| self.agent.unlocked_events());
        Ok(Response::new(self.events.stream(names, vault)))
    }

    async fn check(
        &self,
        _: Request<v1::CheckRequest>,
    ) -> Result<Response<v1::CheckResponse>, Status> {
        let envs = self.agent.list().await?;
        let now = Utc::now();
        Ok(Response::new(v1::CheckResponse {
            entries: envs.iter().map(|e| check_entry(e, now)).collect(),
            now: now.timestamp(),
        }))
    }

    async fn read_legacy_keyring(
        &self,
        req: Request<v1::ReadLegacyKeyringRequest>,
    ) -> Result<Response<v1::ReadLegacyKeyringResponse>, Status> {
        misc::read_legacy_keyring(self, req).await
    }

    // Backups, restores, passphrase changes and re-keys: in `safety`.

    async fn backup(
        &self,
        req: Request<v1::BackupRequest>,
    ) -> Result<Response<v1::BackupResponse>, Status> {
        safety::backup(self, req).await
    }

    async fn restore(
        &self,
        req: Request<v1::RestoreRequest>,
    ) -> Result<Response<v1::RestoreResponse>, Status> {
        safety::restore(self, req).await
    }

    async fn export_all(
        &self,
        req: Request<v1::ExportAllRequest>,
    ) -> Result<Response<v1::ExportAllResponse>, Status> {
        safety::export_all(self, req).await
    }

    async fn passphrase(
        &self,
        req: Request<v1::PassphraseRequest>,
    ) -> Result<Response<v1::PassphraseResponse>, Status> {
        safety::passphrase(self, req).await
    }

    async fn rekey(
        &self,
        req: Request<v1::RekeyRequest>,
    ) -> Result<Response<v1::RekeyResponse>, Status> {
        safety::rekey(self, req).await
    }

    // Policies and approvals: in `policy`.

    async fn get_policy(
        &self,
        req: Request<v1::GetPolicyRequest>,
    ) -> Result<Response<v1::PolicyInfo>, Status> {
        policy::get(self, req).await
    }

    async fn set_policy(
        &self,
        req: Request<v1::SetPolicyRequest>,
    ) -> Result<Response<v1::PolicyInfo>, Status> {
        policy::set(self, req).await
    }

    async fn list_policies(
        &self,
        req: Request<v1::ListPoliciesRequest>,
    ) -> Result<Response<v1::ListPoliciesResponse>, Status> {
        policy::list(self, req).await
    }

    async fn list_approvals(
        &self,
        req: Request<v1::ListApprovalsRequest>,
    ) -> Result<Response<v1::ListApprovalsResponse>, Status> {
        policy::approvals(self, req).await
    }

    async fn answer_approval(
        &self,
        req: Request<v1::AnswerApprovalRequest>,
    ) -> Result<Response<v1::AnswerApprovalResponse>, Status> {
        policy::answer(self, req).await
    }

    async fn await_approval(
        &self,
        req: Request<v1::AwaitApprovalRequest>,
    ) -> Result<Response<v1::AwaitApprovalResponse>, Status> {
        policy::await_approval(self, req).await
    }

    // Sources: in `sources`.

    async fn put_source(
        &self,
        req: Request<v1::PutSourceRequest>,
    ) -> Result<Response<v1::SourceInfo>, Status> {
        sources::put(self, req).await
    }

    async fn list_sources(
        &self,
        req: Request<v1::ListSourcesRequest>,
    ) -> Result<Response<v1::ListSourcesResponse>, Status> {
        sources::list(self, req).await
    }

    async fn remove_source(
        &self,
        req: Request<v1::RemoveSourceRequest>,
    ) -> Result<Response<v1::RemoveSourceResponse>, Status> {
        sources::remove(self, req).await
    }

    async fn login_source(
        &self,
        req: Request<v1::LoginSourceRequest>,
    ) -> Result<Response<v1::SourceInfo>, Status> {
        sources::login(self, req).await
    }

    async fn refresh(
        &self,
        req: Request<v1::RefreshRequest>,
    ) -> Result<Response<v1::RefreshResponse>, Status> {
        sources::refresh(self, req).await
    }
}

//! The handlers of policies and approvals: `GetPolicy`, `SetPolicy`,
//! `ListPolicies`, `ListApprovals`, `AnswerApproval`, `AwaitApproval`. The
//! decisions themselves are `crate::policy`'s.

use dbcreds::policy::{Policy, PolicySource, PolicyTarget};
use dbcreds::proto::v1;
use tonic::{Request, Response, Status};

use super::{Service, name};
use crate::error::AgentError;
use crate::policy::Caller;
use crate::state::PolicyView;
use crate::transport::Peer;
use crate::vault::PolicyRow;

fn info(view: &PolicyView) -> v1::PolicyInfo {
    let (row, source) = view.effective();
    v1::PolicyInfo {
        name: view.env.name.to_string(),
        policy: Some(
            row.map(|r| (&r.policy).into())
                .unwrap_or_else(|| (&Policy::default()).into()),
        ),
        source: source.as_str().into(),
        forgotten: view.forgotten,
        updated_at: row.map_or(0, |r| r.updated_at.timestamp()),
    }
}

fn default_info(row: Option<&PolicyRow>) -> v1::PolicyInfo {
    v1::PolicyInfo {
        name: String::new(),
        policy: Some(
            row.map(|r| (&r.policy).into())
                .unwrap_or_else(|| (&Policy::default()).into()),
        ),
        source: if row.is_some() {
            PolicySource::Own
        } else {
            PolicySource::None
        }
        .as_str()
        .into(),
        forgotten: false,
        updated_at: row.map_or(0, |r| r.updated_at.timestamp()),
    }
}

async fn info_of(s: &Service, target: &PolicyTarget) -> Result<v1::PolicyInfo, AgentError> {
    Ok(match target {
        PolicyTarget::Env(n) => info(&s.agent.policy_view(n).await?),
        PolicyTarget::ProductionDefault => default_info(s.agent.policy_views().await?.1.as_ref()),
    })
}

fn target(raw: &str, production_default: bool) -> Result<PolicyTarget, Status> {
    if production_default {
        Ok(PolicyTarget::ProductionDefault)
    } else {
        Ok(PolicyTarget::Env(name(raw)?))
    }
}

pub(super) async fn get(
    s: &Service,
    req: Request<v1::GetPolicyRequest>,
) -> Result<Response<v1::PolicyInfo>, Status> {
    let r = req.into_inner();
    let t = target(&r.name, r.production_default)?;
    Ok(Response::new(info_of(s, &t).await?))
}

pub(super) async fn set(
    s: &Service,
    req: Request<v1::SetPolicyRequest>,
) -> Result<Response<v1::PolicyInfo>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    let r = req.into_inner();
    let t = target(&r.name, r.production_default)?;
    let policy = if r.remove {
        None
    } else {
        let wire = r.policy.ok_or_else(|| {
            AgentError::BadRequest("no policy in the request (set `remove` to remove one)".into())
        })?;
        Some(Policy::try_from(wire).map_err(AgentError::from)?)
    };
    let result = s
        .guard
        .set_policy(peer.as_ref(), &t, policy, r.approval.as_ref())
        .await;
    let env = match &t {
        PolicyTarget::Env(n) => n.as_str(),
        PolicyTarget::ProductionDefault => "*",
    };
    match result {
        Ok(()) => s.audit(peer.as_ref(), env, "policy", "ok").await,
        Err(AgentError::ApprovalPending { .. }) => {}
        Err(ref e) => {
            s.audit(peer.as_ref(), env, "policy", e.reason().as_str())
                .await
        }
    }
    result?;
    Ok(Response::new(info_of(s, &t).await?))
}

pub(super) async fn list(
    s: &Service,
    _: Request<v1::ListPoliciesRequest>,
) -> Result<Response<v1::ListPoliciesResponse>, Status> {
    let (views, default) = s.agent.policy_views().await?;
    Ok(Response::new(v1::ListPoliciesResponse {
        environments: views.iter().map(info).collect(),
        production_default: Some(default_info(default.as_ref())),
    }))
}

pub(super) async fn approvals(
    s: &Service,
    _: Request<v1::ListApprovalsRequest>,
) -> Result<Response<v1::ListApprovalsResponse>, Status> {
    Ok(Response::new(v1::ListApprovalsResponse {
        pending: s.guard.confirmations().list(),
    }))
}

pub(super) async fn answer(
    s: &Service,
    req: Request<v1::AnswerApprovalRequest>,
) -> Result<Response<v1::AnswerApprovalResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    let r = req.into_inner();
    let caller = Caller::of(peer.as_ref())?;
    s.guard
        .confirmations()
        .answer(r.id, r.approve, &caller)
        .await?;
    Ok(Response::new(v1::AnswerApprovalResponse {}))
}

pub(super) async fn await_approval(
    s: &Service,
    req: Request<v1::AwaitApprovalRequest>,
) -> Result<Response<v1::AwaitApprovalResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    let caller = Caller::of(peer.as_ref())?;
    s.guard
        .confirmations()
        .await_decision(req.get_ref().id, &caller)
        .await?;
    Ok(Response::new(v1::AwaitApprovalResponse {}))
}

//! `Get`, the hottest RPC: the policy's allow list, the secret (stored, or
//! from the environment's source), the confirmation, the audit record.
//! Both wires take this one path: gRPC's handler ([`get`]) and the direct
//! protocol's ([`Service::get_direct`]).

use dbcreds::proto::v1;
use secrecy::ExposeSecret;
use tonic::{Request, Response, Status};

use super::wire::get_operation;
use super::{Service, name, reply_env};
use crate::error::AgentError;
use crate::transport::Peer;

/// What a Get that a person must confirm does on this wire.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asking {
    /// Ask (gRPC: the client can wait in `AwaitApproval`).
    Ask,
    /// Reveal nothing, record nothing, and say so: the client sends the
    /// same request over gRPC.
    Decline,
}

pub(super) async fn get(
    s: &Service,
    req: Request<v1::GetRequest>,
) -> Result<Response<v1::GetResponse>, Status> {
    // Borrowed, not cloned: the hottest RPC (its executable path is a
    // String, one allocation and one wiped free less per request).
    let (_, extensions, r) = req.into_parts();
    match reveal(s, extensions.get::<Peer>(), r, Asking::Ask).await? {
        Some(reply) => Ok(Response::new(reply)),
        None => Err(Status::internal("a confirmation was declined on gRPC")),
    }
}

impl Service {
    /// A Get from the direct protocol: `None` when a person would have to
    /// confirm it (the client then asks over gRPC, where it can wait).
    pub(crate) async fn get_direct(
        &self,
        peer: &Peer,
        r: v1::GetRequest,
    ) -> Result<Option<v1::GetResponse>, Status> {
        reveal(self, Some(peer), r, Asking::Decline).await
    }
}

async fn reveal(
    s: &Service,
    peer: Option<&Peer>,
    r: v1::GetRequest,
    asking: Asking,
) -> Result<Option<v1::GetResponse>, Status> {
    let n = name(&r.name)?;
    let op = get_operation(&r.purpose)?;
    // The allow list before the secret is fetched; the confirmation
    // after, so nobody is asked about a locked vault.
    let needed = match s.guard.before_reveal(peer, &n, &r.child_exe).await {
        Ok(Some(_)) if asking == Asking::Decline => return Ok(None),
        Ok(needed) => needed,
        Err(e) => {
            s.audit(peer, n.as_str(), op, e.reason().as_str()).await;
            return Err(e.into());
        }
    };
    let revealed = match s.agent.reveal(&n).await {
        Ok(found) => s
            .guard
            .confirm(needed, r.approval.as_ref())
            .await
            .map(|()| found),
        Err(e) => Err(e),
    };
    match revealed {
        Ok(r) => {
            s.audit(peer, n.as_str(), op, "ok").await;
            Ok(Some(v1::GetResponse {
                environment: reply_env(&r.env),
                password: r.password.expose_secret().to_owned(),
                warning: r.warning.unwrap_or_default(),
            }))
        }
        // The request comes again once approved; that one is audited.
        Err(e @ AgentError::ApprovalPending { .. }) => Err(e.into()),
        Err(e) => {
            s.audit(peer, n.as_str(), op, e.reason().as_str()).await;
            Err(e.into())
        }
    }
}

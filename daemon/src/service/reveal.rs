//! `Get`, the hottest RPC: the policy's allow list, the secret (stored, or
//! from the environment's source), the confirmation, the audit record.

use dbcreds::proto::v1;
use secrecy::ExposeSecret;
use tonic::{Request, Response, Status};

use super::wire::get_operation;
use super::{Service, name, reply_env};
use crate::error::AgentError;
use crate::transport::Peer;

pub(super) async fn get(
    s: &Service,
    req: Request<v1::GetRequest>,
) -> Result<Response<v1::GetResponse>, Status> {
    // Borrowed, not cloned: the hottest RPC (its executable path is a
    // String, one allocation and one wiped free less per request).
    let (_, extensions, r) = req.into_parts();
    let peer = extensions.get::<Peer>();
    let n = name(&r.name)?;
    let op = get_operation(&r.purpose)?;
    // The allow list before the secret is fetched; the confirmation
    // after, so nobody is asked about a locked vault.
    let revealed = match s.guard.before_reveal(peer, &n, &r.child_exe).await {
        Ok(needed) => match s.agent.reveal(&n).await {
            Ok(found) => s
                .guard
                .confirm(needed, r.approval.as_ref())
                .await
                .map(|()| found),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match revealed {
        Ok(r) => {
            s.audit(peer, n.as_str(), op, "ok").await;
            Ok(Response::new(v1::GetResponse {
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

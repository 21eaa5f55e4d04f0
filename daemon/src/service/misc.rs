//! The handlers that read logs and other sources: `Audit` and
//! `ReadLegacyKeyring`.

use dbcreds::EnvName;
use dbcreds::proto::v1;
use tonic::{Request, Response, Status};

use super::{AUDIT_DEFAULT, AUDIT_MAX, Service, name};
use crate::error::AgentError;
use crate::transport::Peer;

pub(super) async fn audit(
    s: &Service,
    req: Request<v1::AuditRequest>,
) -> Result<Response<v1::AuditResponse>, Status> {
    let r = req.into_inner();
    let env = r.name.as_deref().map(name).transpose()?;
    let limit = match r.limit {
        0 => AUDIT_DEFAULT,
        n => n.min(AUDIT_MAX),
    };
    // Reveals answered a moment ago may still be queued for the writer.
    s.audit.flush().await;
    let vault = s.agent.vault_or_error().await?;
    let only = r.decisions.then_some(crate::vault::DECISION);
    let rows = vault
        .audit_events(env.as_ref().map(EnvName::as_str), r.since, limit, only)
        .await
        .map_err(AgentError::from)?;
    let (pruned, pruned_before) = vault.audit_pruned().await.map_err(AgentError::from)?;
    Ok(Response::new(v1::AuditResponse {
        pruned,
        pruned_before,
        events: rows
            .into_iter()
            .map(|e| v1::AuditEvent {
                at: e.at,
                environment: e.environment,
                operation: e.operation,
                client_pid: e.client_pid,
                client_uid: e.client_uid,
                client_exe: e.client_exe.unwrap_or_default(),
                outcome: e.outcome,
                decision: e.detail.as_deref().and_then(decision),
            })
            .collect(),
    }))
}

/// A decision's stored JSON as the wire message; `None` for anything else.
fn decision(json: &str) -> Option<v1::AuditDecision> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    Some(v1::AuditDecision {
        request: text("request"),
        by: text("by"),
        valid_secs: v["valid_secs"].as_u64().unwrap_or(0),
        session: text("session"),
        child_exe: text("child_exe"),
    })
}

pub(super) async fn read_legacy_keyring(
    s: &Service,
    req: Request<v1::ReadLegacyKeyringRequest>,
) -> Result<Response<v1::ReadLegacyKeyringResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    // Only the Python tool's entries: a valid environment name can never
    // spell this vault's own key entry (`vault:<id>`).
    let n = name(&req.get_ref().environment)?;
    let user = dbcreds::legacy::keyring_user(&n);
    let service = dbcreds::legacy::KEYRING_SERVICE;
    match crate::keyring::fetch_secret(service, &user).await {
        Ok(secret) => {
            let outcome = if secret.is_some() { "ok" } else { "not_found" };
            s.audit(peer.as_ref(), n.as_str(), "import", outcome).await;
            Ok(Response::new(v1::ReadLegacyKeyringResponse {
                secret: secret.map(|s| s.to_vec()),
            }))
        }
        Err(e) => {
            s.audit(
                peer.as_ref(),
                n.as_str(),
                "import",
                dbcreds::Reason::KeyringUnavailable.as_str(),
            )
            .await;
            Err(legacy_keyring_status(&e))
        }
    }
}

/// A keyring failure while importing: the generic keyring messages point
/// at `dbcreds init`, which is no help here.
fn legacy_keyring_status(e: &crate::keyring::KeyringError) -> Status {
    use crate::keyring::KeyringError;
    let message = match e {
        KeyringError::Unavailable(why) => format!(
            "no OS keyring answered ({why}): run the import where the Python dbcreds ran, \
             in a session whose login keyring is unlocked"
        ),
        KeyringError::Timeout(limit) => format!(
            "the OS keyring did not answer within {limit:?} (is the login keyring locked?): \
             unlock it and run the import again"
        ),
        // NoEntry/BadKey speak of the vault's key; here they can only mean
        // the entry changed under us.
        _ => "the OS keyring failed while the entry was read: run the import again".to_owned(),
    };
    dbcreds::Reason::KeyringUnavailable.status(message)
}

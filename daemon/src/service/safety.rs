//! The handlers of the data-safety RPCs: `Backup`, `Restore`, `ExportAll`,
//! `Passphrase` and `Rekey`. Each decodes its request, calls [`Agent`]
//! and records the outcome in the audit log. Operations on the whole vault
//! are audited under the environment `*` (no environment name can be that).

use std::path::PathBuf;

use dbcreds::Unlocker;
use dbcreds::proto::v1;
use secrecy::{ExposeSecret, SecretString};
use tonic::{Request, Response, Status};

use super::Service;
use crate::error::AgentError;
use crate::state::PassphraseChange;
use crate::transport::Peer;

/// The audit log's environment for operations on the whole vault.
const WHOLE_VAULT: &str = "*";

fn names(unlockers: &[Unlocker]) -> Vec<String> {
    unlockers.iter().map(|u| u.as_str().to_owned()).collect()
}

/// A secret of a request, required.
fn required(value: Option<String>, what: &str) -> Result<SecretString, AgentError> {
    match value {
        Some(v) if !v.is_empty() => Ok(SecretString::from(v)),
        _ => Err(AgentError::BadRequest(format!("the request has no {what}"))),
    }
}

impl Service {
    /// Records `result`'s outcome of `operation` on the whole vault.
    async fn audit_vault<T>(
        &self,
        peer: Option<&Peer>,
        operation: &'static str,
        result: &Result<T, AgentError>,
    ) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.reason().as_str(),
        };
        self.audit
            .record_by(peer, WHOLE_VAULT, operation, outcome)
            .await;
    }
}

pub(super) async fn backup(
    s: &Service,
    req: Request<v1::BackupRequest>,
) -> Result<Response<v1::BackupResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    let r = req.into_inner();
    // A backup is every secret under a passphrase the caller chose.
    s.guard
        .whole_vault(peer.as_ref(), "backup", r.approval.as_ref())
        .await?;
    let result = match required(Some(r.passphrase), "recovery passphrase") {
        Ok(pass) => {
            s.agent
                .backup(&PathBuf::from(&r.path), pass, r.overwrite)
                .await
        }
        Err(e) => Err(e),
    };
    s.audit_vault(peer.as_ref(), "backup", &result).await;
    let done = result?;
    Ok(Response::new(v1::BackupResponse {
        path: done.path.display().to_string(),
        environments: u32::try_from(done.environments).unwrap_or(u32::MAX),
        bytes: done.bytes,
    }))
}

pub(super) async fn restore(
    s: &Service,
    req: Request<v1::RestoreRequest>,
) -> Result<Response<v1::RestoreResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    let r = req.into_inner();
    let pass = required(Some(r.passphrase), "recovery passphrase")?;
    if r.force {
        // The backup's policies replace these.
        s.guard
            .whole_vault(peer.as_ref(), "restore", r.approval.as_ref())
            .await?;
    }
    // No rotation may write into the vault while it is swapped.
    let result = {
        let _paused = s.ops.pause_rotations().await;
        s.agent
            .restore(&PathBuf::from(&r.path), pass, r.force, r.keyring)
            .await
    };
    // Into the restored vault's log when it worked, else the old one's.
    s.audit_vault(peer.as_ref(), "restore", &result).await;
    let done = result?;
    Ok(Response::new(v1::RestoreResponse {
        vault_path: done.vault_path.display().to_string(),
        environments: u32::try_from(done.environments).unwrap_or(u32::MAX),
        previous_vault: done
            .previous
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        unlockers: names(&done.unlockers),
        keyring_error: done.keyring_error.unwrap_or_default(),
        backup_created_at: done.backup_created_at.unwrap_or(0),
        state: v1::LockState::Unlocked.into(),
    }))
}

pub(super) async fn export_all(
    s: &Service,
    req: Request<v1::ExportAllRequest>,
) -> Result<Response<v1::ExportAllResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    s.guard
        .whole_vault(peer.as_ref(), "export", req.get_ref().approval.as_ref())
        .await?;
    let result = s.agent.export_all().await;
    if result.is_err() {
        s.audit_vault(peer.as_ref(), "export", &result).await;
    }
    let all = result?;
    // Every password revealed is one audit event, as a `get` is.
    let mut environments = Vec::with_capacity(all.len());
    for (env, password) in all {
        s.audit
            .record_by(peer.as_ref(), env.name.as_str(), "export", "ok")
            .await;
        environments.push(v1::ExportedEnvironment {
            environment: Some((&env).into()),
            password: password.expose_secret().to_owned(),
        });
    }
    Ok(Response::new(v1::ExportAllResponse { environments }))
}

pub(super) async fn passphrase(
    s: &Service,
    req: Request<v1::PassphraseRequest>,
) -> Result<Response<v1::PassphraseResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    let r = req.into_inner();
    if r.action == "add" {
        // A passphrase of the caller's choosing opens every secret offline.
        s.guard
            .whole_vault(peer.as_ref(), "passphrase-add", r.approval.as_ref())
            .await?;
    }
    let (operation, change) = match r.action.as_str() {
        "add" => (
            "passphrase-add",
            PassphraseChange::Add(required(r.passphrase, "new passphrase")?),
        ),
        "change" => (
            "passphrase-change",
            PassphraseChange::Change {
                current: required(r.current, "current passphrase")?,
                new: required(r.passphrase, "new passphrase")?,
            },
        ),
        "remove" => ("passphrase-remove", PassphraseChange::Remove),
        other => {
            return Err(AgentError::BadRequest(format!(
                "unknown passphrase action '{other}': use add, change or remove"
            ))
            .into());
        }
    };
    let result = s.agent.change_passphrase(change).await;
    s.audit_vault(peer.as_ref(), operation, &result).await;
    Ok(Response::new(v1::PassphraseResponse {
        unlockers: names(&result?),
    }))
}

pub(super) async fn rekey(
    s: &Service,
    req: Request<v1::RekeyRequest>,
) -> Result<Response<v1::RekeyResponse>, Status> {
    let peer = req.extensions().get::<Peer>().cloned();
    let pass = req
        .into_inner()
        .passphrase
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    // Rotations seal pending passwords under the key: none runs meanwhile.
    let result = {
        let _paused = s.ops.pause_rotations().await;
        s.agent.rekey(pass).await
    };
    s.audit_vault(peer.as_ref(), "rekey", &result).await;
    let done = result?;
    Ok(Response::new(v1::RekeyResponse {
        sealed: u32::try_from(done.sealed).unwrap_or(u32::MAX),
        unlockers: names(&done.unlockers),
    }))
}

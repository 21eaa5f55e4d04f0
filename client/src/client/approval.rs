//! Requests that may need a confirmation (docs/security.md): sent with
//! `Approval.defer`, so that an agent that must ask first answers at once
//! with reason `approval_pending` and the request's id. The client then
//! says so (through [`Client::on_approval_wait`]), waits in
//! `AwaitApproval` (a bound of its own: [`crate::transport::Timeouts`]'s
//! `approval`), and sends the request again with the id. The common path,
//! no confirmation, costs nothing more than the one request.

use std::sync::Arc;

use dbcreds_proto::v1;

use super::Client;
use crate::error::{APPROVAL_ID_KEY, Error, Reason, Result};

/// Called with the agent's words when a request waits for a confirmation.
type NoticeFn = dyn Fn(&str) + Send + Sync;

/// What to call when a request waits for a confirmation.
#[derive(Clone, Default)]
pub(crate) struct Notice(Option<Arc<NoticeFn>>);

impl std::fmt::Debug for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Notice(set)"
        } else {
            "Notice(none)"
        })
    }
}

/// The id of the pending request an `approval_pending` status names.
fn pending_id(status: &tonic::Status) -> Option<u64> {
    let meta = status.metadata();
    let reason = meta.get(crate::error::REASON_KEY)?.to_str().ok()?;
    if Reason::parse(reason) != Some(Reason::ApprovalPending) {
        return None;
    }
    meta.get(APPROVAL_ID_KEY)?.to_str().ok()?.parse().ok()
}

/// The approval a first attempt carries: none yet, and "do not wait in
/// this call".
pub(crate) fn first() -> v1::Approval {
    v1::Approval { id: 0, defer: true }
}

impl Client {
    /// Calls `notice` with a line such as "waiting for approval of 'prod'
    /// (askpass / `dbcreds approve`)..." whenever a request of this client
    /// waits for a confirmation, so a command line tool can say so on
    /// stderr. Without one the wait is silent.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let client = dbcreds::Client::connect().await?
    ///     .on_approval_wait(|line| eprintln!("{line}"));
    /// # Ok(()) }
    /// ```
    pub fn on_approval_wait(mut self, notice: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.notice = Notice(Some(Arc::new(notice)));
        self
    }

    /// Sends the request `make` builds to the RPC at `path`; when the agent
    /// defers it for a confirmation, waits for the answer and sends it
    /// again under the approval. A refusal or no answer in time is
    /// [`Reason::ApprovalRefused`].
    pub(crate) async fn approved<Req, Resp>(
        &mut self,
        path: &'static str,
        make: impl Fn(v1::Approval) -> Req,
    ) -> Result<Resp>
    where
        Req: prost::Message + Send + 'static,
        Resp: prost::Message + Default + Send + 'static,
    {
        let status = match self.unary(path, make(first())).await {
            Ok(r) => return Ok(r),
            Err(s) => s,
        };
        let Some(id) = pending_id(&status) else {
            return Err(Error::from_status(status));
        };
        if let Some(notice) = &self.notice.0 {
            notice(status.message());
        }
        self.await_approval(id).await?;
        let again = v1::Approval { id, defer: true };
        match self.unary(path, make(again)).await {
            Ok(r) => Ok(r),
            Err(s) if pending_id(&s).is_some() => Err(Error::Agent {
                reason: Reason::ApprovalRefused,
                message: "the agent asked for a second approval of the same request: run the command again".into(),
            }),
            Err(s) => Err(Error::from_status(s)),
        }
    }

    /// Waits until the pending request `id` (this client's own) is decided.
    async fn await_approval(&mut self, id: u64) -> Result<()> {
        self.inner
            .await_approval(v1::AwaitApprovalRequest { id })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_status_with_an_id_is_pending() {
        let mut s = Reason::ApprovalPending.status("waiting");
        assert_eq!(pending_id(&s), None, "no id");
        s.metadata_mut()
            .insert(APPROVAL_ID_KEY, "42".parse().unwrap());
        assert_eq!(pending_id(&s), Some(42));
        let mut refused = Reason::ApprovalRefused.status("no");
        refused
            .metadata_mut()
            .insert(APPROVAL_ID_KEY, "42".parse().unwrap());
        assert_eq!(pending_id(&refused), None);
    }
}

//! Policies and the approvals they ask for (docs/security.md): reading and
//! setting them, and answering pending confirmations (`dbcreds approve`).

use dbcreds_proto::v1;

use super::{Client, rpc};
use crate::error::{Error, Result};
use crate::policy::{PendingApproval, Policy, PolicyInfo, PolicyTarget};

/// Every environment's effective policy and the production default, as
/// [`Client::policies`] returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policies {
    /// One per environment, sorted by name.
    pub environments: Vec<PolicyInfo>,
    /// The default of production environments without a policy of their own.
    pub production_default: PolicyInfo,
}

fn target_fields(target: &PolicyTarget) -> (String, bool) {
    match target {
        PolicyTarget::Env(name) => (name.to_string(), false),
        PolicyTarget::ProductionDefault => (String::new(), true),
    }
}

fn info(m: v1::PolicyInfo) -> Result<PolicyInfo> {
    Ok(PolicyInfo::try_from(m)?)
}

impl Client {
    /// The policy in force for `target`. Works while locked.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// use dbcreds::policy::PolicyTarget;
    /// let mut client = dbcreds::Client::connect().await?;
    /// let p = client.policy(&PolicyTarget::Env("prod".parse()?)).await?;
    /// println!("{}", p.policy.summary());
    /// # Ok(()) }
    /// ```
    pub async fn policy(&mut self, target: &PolicyTarget) -> Result<PolicyInfo> {
        let (name, production_default) = target_fields(target);
        let r = self
            .inner
            .get_policy(v1::GetPolicyRequest {
                name,
                production_default,
            })
            .await?
            .into_inner();
        info(r)
    }

    /// Sets `target`'s policy (`Some`) or removes its own (`None`: it falls
    /// back to the production default). Weakening a policy that asks for
    /// confirmations needs one; this waits for it.
    pub async fn set_policy(
        &mut self,
        target: &PolicyTarget,
        policy: Option<&Policy>,
    ) -> Result<PolicyInfo> {
        let (name, production_default) = target_fields(target);
        let wire = policy.map(v1::Policy::from);
        let r: v1::PolicyInfo = self
            .approved(rpc::SET_POLICY, |approval| v1::SetPolicyRequest {
                name: name.clone(),
                production_default,
                policy: wire.clone(),
                remove: wire.is_none(),
                approval: Some(approval),
            })
            .await?;
        info(r)
    }

    /// Every environment's effective policy and the production default.
    pub async fn policies(&mut self) -> Result<Policies> {
        let r = self
            .inner
            .list_policies(v1::ListPoliciesRequest {})
            .await?
            .into_inner();
        let default = r
            .production_default
            .ok_or_else(|| Error::Protocol("reply without the production default".into()))?;
        Ok(Policies {
            environments: r
                .environments
                .into_iter()
                .map(info)
                .collect::<Result<_>>()?,
            production_default: info(default)?,
        })
    }

    /// The requests waiting for a confirmation.
    pub async fn approvals(&mut self) -> Result<Vec<PendingApproval>> {
        let r = self
            .inner
            .list_approvals(v1::ListApprovalsRequest {})
            .await?
            .into_inner();
        Ok(r.pending.into_iter().map(PendingApproval::from).collect())
    }

    /// Approves (`true`) or refuses a pending request. The agent takes the
    /// answer only from the dbcreds CLI run on a terminal of another
    /// session than the requester's.
    pub async fn answer_approval(&mut self, id: u64, approve: bool) -> Result<()> {
        self.inner
            .answer_approval(v1::AnswerApprovalRequest { id, approve })
            .await?;
        Ok(())
    }
}

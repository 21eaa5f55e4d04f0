//! Policies (docs/security.md): the one place that decides whether a
//! request may reveal, change or remove what a policy protects. The
//! service calls it on every such path; it reads the policies from the
//! state, checks the allow list against the caller the kernel names
//! ([`caller`], [`rules`]), asks for confirmations ([`confirm`], through
//! [`askpass`] or `dbcreds approve`; their [`words`]), audits every
//! decision, and forgets secrets after their `max_unlocked` ([`forget`]).

mod askpass;
mod caller;
mod confirm;
mod forget;
mod rules;
mod words;

use std::sync::Arc;
use std::time::Duration;

use dbcreds::EnvName;
use dbcreds::policy::{Confirm, Policy, PolicyTarget};
use dbcreds::proto::v1;
use tokio::sync::Notify;

use crate::audit::AuditLog;
use crate::error::AgentError;
use crate::state::{Agent, PolicyView};
use crate::transport::Peer;
use crate::vault::PolicyRow;

pub use caller::Caller;
pub use confirm::Settings;
use confirm::{Ask, Confirmations};

/// How long the agent waits for a confirmation unless configured.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);

impl Settings {
    /// From the agent's configuration and environment: `DBCREDS_ASKPASS`
    /// or the config's `askpass`, else `SSH_ASKPASS`; `approval_timeout`.
    pub fn load() -> Self {
        let cfg = dbcreds::config::Config::load().unwrap_or_default();
        let askpass = cfg.askpass.clone().or_else(|| {
            std::env::var_os("SSH_ASKPASS")
                .filter(|v| !v.is_empty())
                .map(Into::into)
        });
        Self {
            askpass,
            timeout: cfg
                .approval_timeout
                .map_or(DEFAULT_APPROVAL_TIMEOUT, |t| t.0),
        }
    }
}

/// A reveal that passed the allow list and still needs its confirmation.
pub struct Needed {
    ask: Ask,
    caller: Caller,
    peer: Option<Peer>,
}

pub struct Guard {
    agent: Arc<Agent>,
    audit: AuditLog,
    confirmations: Arc<Confirmations>,
    /// Told when a policy changes (the forget timer re-reads them).
    changed: Arc<Notify>,
}

fn effective(view: &PolicyView) -> Policy {
    view.effective()
        .0
        .map(|r| r.policy.clone())
        .unwrap_or_default()
}

impl Guard {
    /// Also starts the forget timer of `max_unlocked`.
    pub fn new(agent: Arc<Agent>, audit: AuditLog) -> Self {
        let settings = Settings::load();
        let confirmations = Arc::new(Confirmations::new(
            settings,
            audit.clone(),
            agent.unlock_events(),
        ));
        let changed = Arc::new(Notify::new());
        tokio::spawn(forget::run(agent.clone(), changed.clone()));
        Self {
            agent,
            audit,
            confirmations,
            changed,
        }
    }

    async fn not_allowed(
        &self,
        peer: Option<&Peer>,
        env: &str,
        op: &str,
        child: &str,
        e: AgentError,
    ) -> AgentError {
        let detail = serde_json::json!({ "request": op, "child_exe": child }).to_string();
        self.audit
            .record_decision(peer, env, "not_allowed", detail)
            .await;
        e
    }

    /// Before a reveal of `name` (`Get`; `child` is exec's program): the
    /// allow list now, and what [`Guard::confirm`] must still ask once the
    /// secret is at hand (so nobody is asked about a locked vault).
    pub async fn before_reveal(
        &self,
        peer: Option<&Peer>,
        name: &EnvName,
        child: &str,
    ) -> Result<Option<Needed>, AgentError> {
        let Some(PolicyRow { policy, .. }) = self.agent.effective_policy(name).await? else {
            return Ok(None);
        };
        if policy.confirm == Confirm::Never && policy.allow.is_empty() {
            return Ok(None);
        }
        let env = name.as_str();
        let checked = Caller::of(peer).and_then(|caller| {
            let receiver = rules::receiver(&caller, child)?;
            rules::check_allowed(env, &policy, &receiver, caller.pid)?;
            Ok((caller, receiver))
        });
        let (caller, receiver) = match checked {
            Ok(c) => c,
            Err(e) => return Err(self.not_allowed(peer, env, "get", child, e).await),
        };
        if policy.confirm == Confirm::Never {
            return Ok(None);
        }
        let child = (!child.is_empty()).then_some(receiver);
        let what = match &child {
            Some(c) => format!("pass the password of '{env}' to {c} (dbcreds exec)"),
            None => format!("read the password of '{env}'"),
        };
        Ok(Some(Needed {
            ask: Ask {
                env: env.to_owned(),
                op: "get",
                child,
                session_for: (policy.confirm == Confirm::OncePerSession)
                    .then_some(policy.approve_for),
                what,
            },
            caller,
            peer: peer.cloned(),
        }))
    }

    /// The confirmation [`Guard::before_reveal`] found needed.
    pub async fn confirm(
        &self,
        needed: Option<Needed>,
        approval: Option<&v1::Approval>,
    ) -> Result<(), AgentError> {
        match needed {
            None => Ok(()),
            Some(n) => {
                self.confirmations
                    .confirm(n.ask, n.caller, n.peer, approval)
                    .await
            }
        }
    }

    /// Asks once (for this request only) before `op` on `env`.
    async fn ask_once(
        &self,
        peer: Option<&Peer>,
        env: &str,
        op: &'static str,
        what: String,
        approval: Option<&v1::Approval>,
    ) -> Result<(), AgentError> {
        let caller = Caller::of(peer)?;
        let ask = Ask {
            env: env.to_owned(),
            op,
            child: None,
            session_for: None,
            what,
        };
        self.confirmations
            .confirm(ask, caller, peer.cloned(), approval)
            .await
    }

    /// Before a change that could undo what a policy protects: `rotate`
    /// and `remove` (and `put` over the environment) ask when its policy
    /// confirms; `put` and `update` that set `production` to `production`
    /// ask when that loosens the policy in force (the production default
    /// would stop applying). A name that does not exist passes (the
    /// operation says so, or creates it).
    pub async fn change(
        &self,
        peer: Option<&Peer>,
        name: &EnvName,
        op: &'static str,
        production: Option<bool>,
        approval: Option<&v1::Approval>,
    ) -> Result<(), AgentError> {
        let view = match self.agent.policy_view(name).await {
            Ok(v) => v,
            Err(AgentError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let old = effective(&view);
        let destroys = op != "update" && old.confirm != Confirm::Never;
        let loosens = production.is_some_and(|p| {
            let mut after = view.clone();
            after.env.production = p;
            rules::loosens(&old, &effective(&after))
        });
        if !destroys && !loosens {
            return Ok(());
        }
        let env = name.as_str();
        let what = match op {
            "rotate" => format!("rotate the password of '{env}'"),
            "remove" => format!("remove '{env}' and its password"),
            "put" => format!("replace '{env}'"),
            _ => format!("change whether '{env}' is a production environment"),
        };
        self.ask_once(peer, env, op, what, approval).await
    }

    /// Before an operation that hands out every secret, or the means to
    /// decrypt them all (`export --all`, `backup`, `passphrase add`,
    /// `restore --force`): asks once when any policy confirms or limits
    /// programs; `export` must also pass every allow list.
    pub async fn whole_vault(
        &self,
        peer: Option<&Peer>,
        op: &'static str,
        approval: Option<&v1::Approval>,
    ) -> Result<(), AgentError> {
        let views = match self.agent.policy_views().await {
            Ok((views, _)) => views,
            // No vault: the operation says what is wrong.
            Err(_) => return Ok(()),
        };
        let guarded: Vec<(String, Policy)> = views
            .iter()
            .map(|v| (v.env.name.to_string(), effective(v)))
            .filter(|(_, p)| p.confirm != Confirm::Never || !p.allow.is_empty())
            .collect();
        if guarded.is_empty() {
            return Ok(());
        }
        if op == "export" {
            let caller = Caller::of(peer)?;
            for (env, p) in &guarded {
                let checked = rules::receiver(&caller, "")
                    .and_then(|r| rules::check_allowed(env, p, &r, caller.pid));
                if let Err(e) = checked {
                    return Err(self.not_allowed(peer, env, op, "", e).await);
                }
            }
            if guarded.iter().all(|(_, p)| p.confirm == Confirm::Never) {
                return Ok(());
            }
        }
        let names: Vec<&str> = guarded.iter().map(|(n, _)| n.as_str()).collect();
        let what = match op {
            "export" => format!(
                "export every password ({} under a policy)",
                names.join(", ")
            ),
            "backup" => {
                "write a backup of the whole vault (every password, under a passphrase it chooses)"
                    .into()
            }
            "passphrase-add" => {
                "add a passphrase unlocker to the vault (it opens every password)".into()
            }
            _ => "replace the vault and its policies with a backup".into(),
        };
        self.ask_once(peer, "*", op, what, approval).await
    }

    /// `SetPolicy`: resolves the allowed paths, asks first when the change
    /// loosens the policy in force, then stores it.
    pub async fn set_policy(
        &self,
        peer: Option<&Peer>,
        target: &PolicyTarget,
        new: Option<Policy>,
        approval: Option<&v1::Approval>,
    ) -> Result<(), AgentError> {
        let new = new.map(rules::resolve).transpose()?;
        let now = chrono::Utc::now();
        let row = new.map(|policy| PolicyRow {
            policy,
            updated_at: now,
        });
        match target {
            PolicyTarget::Env(name) => {
                let view = self.agent.policy_view(name).await?;
                let old = effective(&view);
                let after = PolicyView {
                    own: row.clone(),
                    ..view
                };
                if rules::loosens(&old, &effective(&after)) {
                    let what = format!("loosen the policy of '{name}'");
                    self.ask_once(peer, name.as_str(), "policy", what, approval)
                        .await?;
                }
                self.agent.store_policy(name, row).await?;
                self.confirmations.forget_env(name.as_str());
            }
            PolicyTarget::ProductionDefault => {
                let (_, current) = self.agent.policy_views().await?;
                let old = current.map(|r| r.policy).unwrap_or_default();
                let after = row.as_ref().map(|r| r.policy.clone()).unwrap_or_default();
                if rules::loosens(&old, &after) {
                    let what = "loosen the default policy of production environments".to_owned();
                    self.ask_once(peer, "*", "policy", what, approval).await?;
                }
                self.agent.store_production_default(row).await?;
                let (views, _) = self.agent.policy_views().await?;
                for v in views.iter().filter(|v| v.env.production) {
                    self.confirmations.forget_env(v.env.name.as_str());
                }
            }
        }
        self.changed.notify_one();
        Ok(())
    }

    /// `max_unlocked` may have changed with an environment (its production
    /// flag): the forget timer looks again.
    pub fn environments_changed(&self) {
        self.changed.notify_one();
    }

    /// For `ListApprovals`, `AnswerApproval` and `AwaitApproval`.
    pub fn confirmations(&self) -> &Confirmations {
        &self.confirmations
    }
}

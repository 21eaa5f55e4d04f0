//! Confirmations: the agent asks, never the caller. A request that needs
//! one becomes a pending entry; a task asks the askpass program (if any)
//! and bounds the wait; `dbcreds approve` in another session may answer
//! first. The decision is audited, and for `once-per-session` remembered
//! for the requester's session. A caller that deferred (the Rust client
//! always does) waits in `AwaitApproval` and sends its request again with
//! the id: the approval is then a grant for exactly that request, from
//! that process, used once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dbcreds::proto::v1;
use tokio::sync::watch;
use tokio::time::Instant;

use super::askpass::{self, Answer};
use super::caller::{Caller, Session};
use super::words::{detail, prompt, subject};
use crate::audit::AuditLog;
use crate::error::AgentError;
use crate::transport::Peer;

/// How long an approved request may be sent again under its grant.
const GRANT_TTL: Duration = Duration::from_secs(60);
/// Decided entries are dropped this long after the decision.
const KEEP_DECIDED: Duration = Duration::from_secs(120);
/// Requests that may wait at once: beyond this a program asking in a loop
/// is refused rather than opening dialog after dialog.
const MAX_WAITING: usize = 32;

/// Where the confirmations go and how long they wait.
#[derive(Clone, Debug)]
pub struct Settings {
    pub askpass: Option<PathBuf>,
    pub timeout: Duration,
}

/// What is asked: an operation on an environment (or `*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub env: String,
    pub op: &'static str,
    /// `dbcreds exec`: the program that gets the secret.
    pub child: Option<String>,
    /// How long an approval holds for the session; `None`: this request.
    pub session_for: Option<Duration>,
    /// The question's words: "read the password of 'prod'".
    pub what: String,
}

#[derive(Clone, Debug)]
enum Decided {
    Approved(String),
    Refused(String),
    TimedOut,
}

struct Pending {
    ask: Ask,
    requester: Caller,
    peer: Option<Peer>,
    requested_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    decided: watch::Sender<Option<Decided>>,
    decided_at: Option<Instant>,
    used: bool,
}

#[derive(Default)]
struct Inner {
    pending: HashMap<u64, Pending>,
    /// (environment, session) → approved until, in that unlock generation.
    sessions: HashMap<(String, Session), (Instant, u64)>,
}

pub struct Confirmations {
    inner: Mutex<Inner>,
    next: AtomicU64,
    settings: Settings,
    audit: AuditLog,
    /// The vault's unlock count: an unlock starts every approval over.
    unlocks: watch::Receiver<u64>,
}

fn same_process(a: &Caller, b: &Caller) -> bool {
    a.pid == b.pid && a.exe == b.exe
}

impl Confirmations {
    pub fn new(settings: Settings, audit: AuditLog, unlocks: watch::Receiver<u64>) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            next: AtomicU64::new(1),
            settings,
            audit,
            unlocks,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The data is plain; a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn generation(&self) -> u64 {
        *self.unlocks.borrow()
    }

    /// Confirms `ask` for `caller`: through its session's approval, the
    /// grant of the approved request `approval` names, or by asking (and,
    /// unless `defer`, waiting for the answer here).
    pub async fn confirm(
        self: &Arc<Self>,
        ask: Ask,
        caller: Caller,
        peer: Option<Peer>,
        approval: Option<&v1::Approval>,
    ) -> Result<(), AgentError> {
        if self.session_approved(&ask, &caller) {
            return Ok(());
        }
        if let Some(id) = approval.map(|a| a.id).filter(|id| *id != 0) {
            return self.use_grant(id, &ask, &caller);
        }
        let subject = subject(&ask);
        let what = ask.what.clone();
        let (id, mut decided) = self.open(ask, caller, peer)?;
        if approval.is_some_and(|a| a.defer) {
            return Err(AgentError::ApprovalPending {
                id,
                message: format!("waiting for approval of {subject} ({})...", self.via(id)),
            });
        }
        let outcome = wait(&mut decided).await;
        self.finish(id, &what, outcome, true)
    }

    /// `AwaitApproval`: waits until request `id` of `caller` is decided.
    pub async fn await_decision(&self, id: u64, caller: &Caller) -> Result<(), AgentError> {
        let (mut decided, what) = {
            let inner = self.lock();
            let p = inner
                .pending
                .get(&id)
                .filter(|p| same_process(&p.requester, caller))
                .ok_or_else(|| not_yours(id))?;
            (p.decided.subscribe(), p.ask.what.clone())
        };
        let outcome = wait(&mut decided).await;
        self.finish(id, &what, outcome, false)
    }

    fn finish(
        &self,
        id: u64,
        what: &str,
        outcome: Decided,
        use_it: bool,
    ) -> Result<(), AgentError> {
        match outcome {
            Decided::Approved(_) => {
                if use_it && let Some(p) = self.lock().pending.get_mut(&id) {
                    p.used = true;
                }
                Ok(())
            }
            Decided::Refused(by) => Err(AgentError::ApprovalRefused(format!(
                "the request to {what} was refused ({by})"
            ))),
            Decided::TimedOut => Err(AgentError::ApprovalRefused(format!(
                "nobody approved the request to {what} within {}: {} (approval_timeout sets how long the agent waits)",
                humantime::format_duration(self.settings.timeout),
                if self.settings.askpass.is_some() {
                    "answer the askpass dialog, or run `dbcreds approve` in another terminal"
                } else {
                    "run `dbcreds approve` in another terminal (no askpass program is set: DBCREDS_ASKPASS)"
                }
            ))),
        }
    }

    fn session_approved(&self, ask: &Ask, caller: &Caller) -> bool {
        let (Some(_), Some(session)) = (ask.session_for, &caller.session) else {
            return false;
        };
        let generation = self.generation();
        let key = (ask.env.clone(), session.clone());
        let mut inner = self.lock();
        match inner.sessions.get(&key) {
            Some((until, g)) if *g == generation && Instant::now() < *until => true,
            Some(_) => {
                inner.sessions.remove(&key);
                false
            }
            None => false,
        }
    }

    fn use_grant(&self, id: u64, ask: &Ask, caller: &Caller) -> Result<(), AgentError> {
        let mut inner = self.lock();
        let p = inner
            .pending
            .get_mut(&id)
            .filter(|p| same_process(&p.requester, caller) && p.ask == *ask)
            .ok_or_else(|| not_yours(id))?;
        let fresh = p.decided_at.is_some_and(|t| t.elapsed() < GRANT_TTL);
        match &*p.decided.borrow() {
            Some(Decided::Approved(_)) if fresh && !p.used => {}
            _ => {
                return Err(AgentError::ApprovalRefused(format!(
                    "approval {id} does not cover this request (refused, used or stale): run the command again"
                )));
            }
        }
        p.used = true;
        Ok(())
    }

    /// Drops the session approvals of `env` (its policy changed).
    pub fn forget_env(&self, env: &str) {
        self.lock().sessions.retain(|(e, _), _| e != env);
    }

    /// Who can answer request `id`, for the waiting caller.
    fn via(&self, id: u64) -> String {
        if self.settings.askpass.is_some() {
            format!("askpass / `dbcreds approve {id}` in another terminal")
        } else {
            format!("`dbcreds approve {id}` in another terminal")
        }
    }

    /// A new pending request, and the task that settles it.
    fn open(
        self: &Arc<Self>,
        ask: Ask,
        requester: Caller,
        peer: Option<Peer>,
    ) -> Result<(u64, watch::Receiver<Option<Decided>>), AgentError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        let prompt = prompt(&ask, &requester);
        let now = Utc::now();
        let timeout = chrono::Duration::from_std(self.settings.timeout).unwrap_or_default();
        {
            let mut inner = self.lock();
            inner
                .pending
                .retain(|_, p| p.decided_at.is_none_or(|t| t.elapsed() < KEEP_DECIDED) && !p.used);
            let waiting = inner
                .pending
                .values()
                .filter(|p| p.decided_at.is_none())
                .count();
            if waiting >= MAX_WAITING {
                return Err(AgentError::ApprovalRefused(format!(
                    "{waiting} requests wait for a confirmation already: answer them (`dbcreds approve`) before asking again"
                )));
            }
            inner.pending.insert(
                id,
                Pending {
                    ask,
                    requester,
                    peer,
                    requested_at: now,
                    expires_at: now + timeout,
                    decided: tx,
                    decided_at: None,
                    used: false,
                },
            );
        }
        tokio::spawn(self.clone().decide(id, prompt, rx.clone()));
        Ok((id, rx))
    }

    /// Asks the askpass program (if any) and waits, at most the timeout,
    /// for it or for `dbcreds approve`.
    async fn decide(
        self: Arc<Self>,
        id: u64,
        prompt: String,
        mut answered: watch::Receiver<Option<Decided>>,
    ) {
        let via_askpass = async {
            let Some(program) = &self.settings.askpass else {
                return std::future::pending().await;
            };
            let by = format!("askpass {}", program.display());
            match askpass::ask(program, &prompt).await {
                Answer::Yes => Decided::Approved(by),
                Answer::No => Decided::Refused(by),
                Answer::Failed(why) => {
                    tracing::warn!(error = %why, "askpass failed; waiting for `dbcreds approve`");
                    std::future::pending().await
                }
            }
        };
        let decided = tokio::select! {
            d = via_askpass => d,
            () = tokio::time::sleep(self.settings.timeout) => Decided::TimedOut,
            _ = answered.wait_for(Option::is_some) => return,
        };
        self.settle(id, decided).await;
    }

    /// Records the decision on request `id` unless it has one.
    async fn settle(&self, id: u64, decided: Decided) {
        let generation = self.generation();
        let record = {
            let mut inner = self.lock();
            let Some(p) = inner.pending.get_mut(&id) else {
                return;
            };
            if p.decided.borrow().is_some() {
                return;
            }
            p.decided_at = Some(Instant::now());
            p.decided.send_replace(Some(decided.clone()));
            let remember = match (&decided, p.ask.session_for, &p.requester.session) {
                (Decided::Approved(_), Some(d), Some(s)) => {
                    Some(((p.ask.env.clone(), s.clone()), d))
                }
                _ => None,
            };
            let record = (p.ask.clone(), p.requester.clone(), p.peer.clone());
            if let Some((key, d)) = remember {
                inner.sessions.insert(key, (Instant::now() + d, generation));
            }
            record
        };
        let (ask, requester, peer) = record;
        let (outcome, by) = match &decided {
            Decided::Approved(by) => ("approved", by.as_str()),
            Decided::Refused(by) => ("refused", by.as_str()),
            Decided::TimedOut => ("timed_out", ""),
        };
        let valid = matches!(decided, Decided::Approved(_))
            .then_some(ask.session_for)
            .flatten();
        tracing::info!(id, environment = %ask.env, operation = ask.op, outcome, by, "confirmation decided");
        let detail = detail(&ask, by, valid, requester.session.as_ref());
        self.audit
            .record_decision(peer.as_ref(), &ask.env, outcome, detail)
            .await;
    }

    /// `AnswerApproval` from `answerer`: only the dbcreds CLI, on a
    /// terminal, in another session than the requester's.
    pub async fn answer(
        &self,
        id: u64,
        approve: bool,
        answerer: &Caller,
    ) -> Result<(), AgentError> {
        {
            let inner = self.lock();
            let p = inner
                .pending
                .get(&id)
                .ok_or_else(|| AgentError::NotFound(format!("approval {id}")))?;
            check_answerer(answerer, &p.requester)?;
            if p.decided.borrow().is_some() {
                return Err(AgentError::BadRequest(format!(
                    "request {id} is decided already"
                )));
            }
        }
        let by = format!("pid {} ({})", answerer.pid, answerer.exe_words());
        let decided = if approve {
            Decided::Approved(by)
        } else {
            Decided::Refused(by)
        };
        self.settle(id, decided).await;
        Ok(())
    }

    /// The requests still waiting, oldest first.
    pub fn list(&self) -> Vec<v1::PendingApproval> {
        let inner = self.lock();
        let mut out: Vec<_> = inner
            .pending
            .iter()
            .filter(|(_, p)| p.decided.borrow().is_none())
            .map(|(id, p)| v1::PendingApproval {
                id: *id,
                environment: p.ask.env.clone(),
                operation: p.ask.op.into(),
                client_pid: p.requester.pid,
                client_exe: p.requester.exe.clone().unwrap_or_default(),
                client_cmdline: p.requester.cmdline.clone(),
                child_exe: p.ask.child.clone().unwrap_or_default(),
                session: p
                    .requester
                    .session
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                requested_at: p.requested_at.timestamp(),
                expires_at: p.expires_at.timestamp(),
            })
            .collect();
        out.sort_by_key(|p| p.id);
        out
    }
}

/// Who may answer: the dbcreds CLI (so no other program of the user can
/// drive the API to approve), run on a terminal (so not a script that
/// `setsid`'s itself), in a session other than the requester's (so not the
/// requester, nor anything in its terminal). A person at another terminal
/// passes; a program that opens a terminal of its own can too
/// (docs/security.md says so).
fn check_answerer(answerer: &Caller, requester: &Caller) -> Result<(), AgentError> {
    let refuse = |why: String| Err(AgentError::NotAllowed(format!("cannot answer: {why}")));
    if !answerer.is_dbcreds_cli() {
        return refuse(format!(
            "only the dbcreds CLI answers confirmations, and {} is not it: run `dbcreds approve` in another terminal",
            answerer.exe_words()
        ));
    }
    match (&answerer.session, &requester.session) {
        (Some(a), Some(r)) if a != r => {}
        _ => {
            return refuse(format!(
                "the request came from this same session (pid {}): approve it from another terminal",
                requester.pid
            ));
        }
    }
    if !answerer.tty {
        return refuse(
            "`dbcreds approve` must run on a terminal (this process has no controlling terminal)"
                .into(),
        );
    }
    Ok(())
}

fn not_yours(id: u64) -> AgentError {
    AgentError::NotAllowed(format!(
        "approval {id} belongs to another request or process"
    ))
}

async fn wait(decided: &mut watch::Receiver<Option<Decided>>) -> Decided {
    match decided.wait_for(Option::is_some).await {
        Ok(d) => d.clone().unwrap_or(Decided::TimedOut),
        // The entry went away undecided (cannot happen while its task runs).
        Err(_) => Decided::TimedOut,
    }
}

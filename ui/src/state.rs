//! What every request shares: the agent connection, the session, where the
//! page is served, the last activity, a one-shot notice for the next page.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::session::Session;

/// The page's shared state.
pub struct AppState {
    /// The agent connection; each request uses a clone (one HTTP/2
    /// connection, many streams).
    pub client: dbcreds::Client,
    /// The session opened by the printed URL.
    pub session: Session,
    /// `127.0.0.1:PORT`: the only `Host` accepted.
    pub host: String,
    /// `http://127.0.0.1:PORT`: the only `Origin` a POST may carry.
    pub origin: String,
    /// The session cookie's name. Cookies are not kept apart by port, so
    /// two pages at once need two names.
    pub cookie: String,
    /// Stop after this long without a request.
    pub idle: Duration,
    /// When the last authenticated request came.
    last_request: Mutex<Instant>,
    /// Woken by each request, so the idle timer re-arms.
    pub activity: Notify,
    /// Set while the vault is locked because this page locked it: that
    /// lock shows the unlock form; any other one stops the page.
    locked_here: AtomicBool,
    /// Held by this page's lock request and by the lock watcher's look at
    /// the agent, so the watcher never sees the lock before it is noted.
    pub lock_gate: tokio::sync::Mutex<()>,
    /// A notice for the next page shown (after a redirect).
    flash: Mutex<Option<String>>,
}

impl AppState {
    /// The state of a page at `port`.
    pub fn new(client: dbcreds::Client, session: Session, port: u16, idle: Duration) -> Self {
        Self {
            client,
            session,
            host: format!("127.0.0.1:{port}"),
            origin: format!("http://127.0.0.1:{port}"),
            cookie: format!("dbcreds_ui_{port}"),
            idle,
            last_request: Mutex::new(Instant::now()),
            activity: Notify::new(),
            locked_here: AtomicBool::new(false),
            lock_gate: tokio::sync::Mutex::new(()),
            flash: Mutex::new(None),
        }
    }

    /// A new connection handle to the agent.
    pub fn client(&self) -> dbcreds::Client {
        self.client.clone()
    }

    /// Records a request now.
    pub fn touch(&self) {
        if let Ok(mut t) = self.last_request.lock() {
            *t = Instant::now();
        }
        self.activity.notify_one();
    }

    /// When the last request came.
    pub fn last_request(&self) -> Instant {
        self.last_request
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|_| Instant::now())
    }

    /// Notes whether the vault is locked by this page's own request.
    pub fn set_locked_here(&self, yes: bool) {
        self.locked_here.store(yes, Ordering::SeqCst);
    }

    /// True while the vault is locked by this page's own request.
    pub fn locked_here(&self) -> bool {
        self.locked_here.load(Ordering::SeqCst)
    }

    /// Leaves `text` for the next page.
    pub fn flash(&self, text: impl Into<String>) {
        if let Ok(mut f) = self.flash.lock() {
            *f = Some(text.into());
        }
    }

    /// The notice left for this page, if any (it is shown once).
    pub fn take_flash(&self) -> Option<String> {
        self.flash.lock().ok().and_then(|mut f| f.take())
    }
}

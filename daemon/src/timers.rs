//! Lock timers: the idle lock (`--lock-after`, reset by every request that
//! touches a secret) and the hard cap (`--max-unlocked`, counted from the
//! unlock). Both use tokio's clock, so tests drive them with paused time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub lock_after: Option<Duration>,
    pub max_unlocked: Option<Duration>,
}

#[derive(Debug)]
struct Clock {
    limits: Limits,
    last_touch: Instant,
    unlocked_at: Option<Instant>,
}

/// When the vault must lock, shared by the request handlers (which touch
/// it) and the timer task (which waits on it).
#[derive(Debug)]
pub struct Timers {
    clock: Mutex<Clock>,
    changed: Notify,
}

/// Time left before each lock fires.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub idle: Option<Duration>,
    pub hard: Option<Duration>,
}

impl Timers {
    pub fn new(limits: Limits) -> Self {
        Self {
            clock: Mutex::new(Clock {
                limits,
                last_touch: Instant::now(),
                unlocked_at: None,
            }),
            changed: Notify::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Clock) -> T) -> T {
        // A poisoned clock only means a panic elsewhere; its data is plain.
        let mut guard = self.clock.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub fn limits(&self) -> Limits {
        self.with(|c| c.limits)
    }

    pub fn set_limits(&self, limits: Limits) {
        self.with(|c| c.limits = limits);
        self.changed.notify_one();
    }

    /// A request used a secret: the idle clock starts again.
    pub fn touch(&self) {
        self.with(|c| c.last_touch = Instant::now());
    }

    pub fn unlocked(&self) {
        let now = Instant::now();
        self.with(|c| {
            c.unlocked_at = Some(now);
            c.last_touch = now;
        });
        self.changed.notify_one();
    }

    pub fn locked(&self) {
        self.with(|c| c.unlocked_at = None);
        self.changed.notify_one();
    }

    /// The earliest moment a lock fires; `None` while locked or with no limits.
    pub fn deadline(&self) -> Option<Instant> {
        self.with(|c| {
            let unlocked_at = c.unlocked_at?;
            let idle = c.limits.lock_after.map(|d| c.last_touch + d);
            let hard = c.limits.max_unlocked.map(|d| unlocked_at + d);
            match (idle, hard) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        })
    }

    pub fn left(&self) -> Left {
        let now = Instant::now();
        self.with(|c| match c.unlocked_at {
            None => Left::default(),
            Some(at) => Left {
                idle: c
                    .limits
                    .lock_after
                    .map(|d| (c.last_touch + d).saturating_duration_since(now)),
                hard: c
                    .limits
                    .max_unlocked
                    .map(|d| (at + d).saturating_duration_since(now)),
            },
        })
    }

    /// Waits until a lock is due. Returns at the deadline if it still holds
    /// then (a touch may have moved it), or re-waits.
    pub async fn wait_due(&self) {
        loop {
            match self.deadline() {
                None => self.changed.notified().await,
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {
                            if self.deadline().is_some_and(|d| d <= Instant::now()) {
                                return;
                            }
                        }
                        _ = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_lock_fires_after_the_idle_time_and_touch_postpones_it() {
        let t = Timers::new(Limits {
            lock_after: Some(Duration::from_secs(2)),
            max_unlocked: None,
        });
        assert_eq!(t.deadline(), None, "no deadline while locked");
        t.unlocked();
        let start = Instant::now();
        tokio::time::advance(Duration::from_millis(1500)).await;
        t.touch();
        t.wait_due().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(3500));
    }

    #[tokio::test(start_paused = true)]
    async fn hard_cap_ignores_touches() {
        let t = Timers::new(Limits {
            lock_after: Some(Duration::from_secs(10)),
            max_unlocked: Some(Duration::from_secs(12)),
        });
        t.unlocked();
        let start = Instant::now();
        for _ in 0..4 {
            tokio::time::advance(Duration::from_secs(4)).await;
            t.touch();
        }
        // Touched at 16 s, but the cap was at 12 s: due at once.
        t.wait_due().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(16));
        assert_eq!(t.left().hard, Some(Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn no_limits_never_fire() {
        let t = Timers::new(Limits::default());
        t.unlocked();
        let waited = tokio::time::timeout(Duration::from_secs(3600), t.wait_due()).await;
        assert!(waited.is_err());
    }
}

//! Hooks the end-to-end tests drive through environment variables. They
//! exist only in debug builds or with the `test-hooks` feature, so a
//! release agent reads neither variable: there `failpoint` does nothing
//! and `protocol` is the real one.

/// Crash injection for the rotation and re-key tests: with
/// `DBCREDS_FAILPOINT=rotate:after_pending` (or `rotate:after_server`,
/// `rotate:after_verify`, `rekey:after_record`, `rekey:after_keyring`,
/// `rekey:before_commit`, `rekey:after_commit`, `rekey:after_delete`) the
/// agent aborts at that point, as if it had been killed there, so tests
/// can show that `dbcreds rotate --resume` (or the next start) recovers.
#[cfg(any(debug_assertions, feature = "test-hooks"))]
pub(crate) fn failpoint(name: &str) {
    if std::env::var("DBCREDS_FAILPOINT").is_ok_and(|v| v == name) {
        tracing::warn!(failpoint = name, "DBCREDS_FAILPOINT: aborting on purpose");
        std::process::abort();
    }
}

#[cfg(not(any(debug_assertions, feature = "test-hooks")))]
#[inline(always)]
pub(crate) fn failpoint(_name: &str) {}

/// A step of a multi-step operation (the re-key): [`failpoint`] `name`,
/// then, with `DBCREDS_TEST_STEP_PAUSE_MS=N`, a pause of N ms, so that
/// SIGKILLs sent at random moments land between every pair of steps, not
/// only in the longest one.
#[cfg(any(debug_assertions, feature = "test-hooks"))]
pub(crate) async fn step(name: &str) {
    failpoint(name);
    if let Some(ms) = std::env::var("DBCREDS_TEST_STEP_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

#[cfg(not(any(debug_assertions, feature = "test-hooks")))]
#[inline(always)]
pub(crate) async fn step(_name: &str) {}

/// The protocol this agent reports. `DBCREDS_TEST_AGENT_PROTOCOL` lets
/// tests stand in for an agent of another version.
#[cfg(any(debug_assertions, feature = "test-hooks"))]
pub(crate) fn protocol() -> u32 {
    std::env::var("DBCREDS_TEST_AGENT_PROTOCOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(dbcreds::proto::PROTOCOL)
}

#[cfg(not(any(debug_assertions, feature = "test-hooks")))]
#[inline(always)]
pub(crate) fn protocol() -> u32 {
    dbcreds::proto::PROTOCOL
}

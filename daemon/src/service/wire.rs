//! What the handlers read from and write to the wire beyond the model's
//! conversions: the audit word for a `Get`'s purpose, and `Check` entries.

use chrono::Utc;
use dbcreds::Environment;
use dbcreds::proto::v1;
use tonic::Status;

use crate::error::AgentError;

/// The audit operation for a `Get`'s purpose (what the client says the
/// password is for); anything off this list is refused, so the log holds
/// only known words. Clients that do not say are recorded as `get`.
pub(super) fn get_operation(purpose: &str) -> Result<&'static str, Status> {
    Ok(match purpose {
        "" | "get" => "get",
        "get:uri" => "get:uri",
        "get:jdbc" => "get:jdbc",
        "get:libpq" => "get:libpq",
        "exec" => "exec",
        "export" => "export",
        other => {
            return Err(AgentError::BadRequest(format!(
                "unknown purpose {:?} for Get: one of get, get:uri, get:jdbc, get:libpq, exec, export (or none)",
                other.chars().take(64).collect::<String>()
            ))
            .into());
        }
    })
}

/// Where `env`'s password stands on `now`, for `Check`.
pub(super) fn check_entry(env: &Environment, now: chrono::DateTime<Utc>) -> v1::CheckEntry {
    use dbcreds::Expiry;
    let (state, days) = match env.expiry(now) {
        Expiry::Fresh { days_left } => (v1::ExpiryState::Fresh, days_left),
        Expiry::Soon { days_left } => (v1::ExpiryState::Soon, days_left),
        Expiry::Expired { days_ago } => (v1::ExpiryState::Expired, days_ago),
        _ => (v1::ExpiryState::Never, 0),
    };
    v1::CheckEntry {
        environment: Some(env.into()),
        state: state.into(),
        days,
        expires_at: env.password_expires_at().map_or(0, |t| t.timestamp()),
    }
}

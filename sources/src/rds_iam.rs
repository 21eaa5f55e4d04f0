//! RDS IAM auth tokens: a SigV4 presigned `connect` URL for host, port and
//! user, valid 15 minutes, signed locally (no request to AWS).

/// How long RDS accepts a token after it was signed.
pub const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);

//! RDS IAM auth tokens: a SigV4 presigned `connect` URL for host, port and
//! user, valid 15 minutes, signed locally (no request to AWS).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::SourceError;

/// How long RDS accepts a token after it was signed.
pub const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// RFC 3986's unreserved characters stay as they are; everything else is
/// percent-encoded, as botocore (and SigV4's canonical query) does.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The RDS IAM auth token for `user` at `host:port`, signed at `at`: what
/// botocore's `generate_db_auth_token` returns (the presigned URL without
/// `https://`), byte for byte; the reason when the input cannot be signed
/// (a host that is not a host name).
#[allow(clippy::too_many_arguments)] // the inputs of the token, each one a fact
pub fn token(
    access_key_id: &str,
    secret_access_key: &str,
    session_token: Option<&str>,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    at: SystemTime,
) -> Result<String, SourceError> {
    let invalid =
        |what: String| SourceError::Invalid(format!("cannot sign an RDS IAM token: {what}"));
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(invalid(format!("{host:?} is not a host name")));
    }
    let query = [("Action", "connect"), ("DBUser", user)];
    let url = format!(
        "https://{host}:{port}/?{}",
        encode(query.iter().map(|(k, v)| (*k, *v)))
    );
    let identity = Credentials::new(
        access_key_id,
        secret_access_key,
        session_token.map(str::to_owned),
        None,
        "dbcreds",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| invalid(e.to_string()))?
        .into();
    // The only header signed is `host`, taken from the URL.
    let signable = SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| invalid(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| invalid(e.to_string()))?
        .into_parts();
    // botocore's order: the request's own parameters, the X-Amz-* ones as
    // aws-sigv4 lists them, the signature last (aws-sigv4 puts the
    // session token after it).
    let mut all: Vec<(&str, &str)> = query.to_vec();
    let signed = instructions.params().iter().map(|(k, v)| (*k, v.as_ref()));
    let (signature, rest): (Vec<_>, Vec<_>) = signed.partition(|(k, _)| *k == "X-Amz-Signature");
    all.extend(rest);
    all.extend(signature);
    Ok(format!("{host}:{port}/?{}", encode(all.into_iter())))
}

fn encode<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// How long the agent may serve a token it just signed: its lifetime less
/// a minute, so no client gets one about to expire.
pub const SERVE_FOR: Duration = Duration::from_secs(TOKEN_LIFETIME.as_secs() - 60);

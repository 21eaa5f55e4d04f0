//! Requests to the Vault HTTP API: the client (timeout, CA, namespace),
//! one request with its body read into zeroed-on-drop memory, and what an
//! answer's status means.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{SourceError, VaultSpec};

/// No Vault answer dbcreds reads is this big; a bigger one is not Vault.
const MAX_BODY: usize = 1024 * 1024;

pub(super) struct Api {
    pub name: String,
    /// Without a trailing `/`.
    pub address: String,
    pub timeout: Duration,
    client: reqwest::Client,
}

/// A status and a body that may hold a secret.
pub(super) struct Answer {
    pub status: StatusCode,
    pub body: Zeroizing<Vec<u8>>,
}

impl Api {
    pub fn new(name: &str, spec: &VaultSpec) -> Result<Self, SourceError> {
        let timeout = spec.timeout.unwrap_or(crate::DEFAULT_TIMEOUT);
        let mut headers = HeaderMap::new();
        // The header Vault's own CLI sends; some deployments require it
        // against request forgery.
        headers.insert("X-Vault-Request", HeaderValue::from_static("true"));
        if let Some(ns) = &spec.namespace {
            let v = HeaderValue::from_str(ns).map_err(|_| {
                SourceError::Invalid(format!(
                    "source '{name}': namespace {ns:?} is not a valid header value"
                ))
            })?;
            headers.insert("X-Vault-Namespace", v);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would carry the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(path) = &spec.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                SourceError::Invalid(format!(
                    "source '{name}': cannot read the CA file {}: {e}",
                    path.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                SourceError::Invalid(format!(
                    "source '{name}': {} holds no PEM certificate: {e}",
                    path.display()
                ))
            })?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let client = builder.build().map_err(|e| {
            SourceError::Invalid(format!(
                "source '{name}': cannot set up its HTTP client: {e}"
            ))
        })?;
        Ok(Self {
            name: name.to_owned(),
            address: spec.address.trim_end_matches('/').to_owned(),
            timeout,
            client,
        })
    }

    /// `method /v1/<path>` with `token` and a JSON `body`; any status.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<Answer, SourceError> {
        let url = format!("{}/v1/{path}", self.address);
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            let mut v =
                HeaderValue::from_str(t.expose_secret()).map_err(|_| SourceError::LoginFailed {
                    name: self.name.clone(),
                    detail: "the token holds characters a token cannot have".into(),
                })?;
            v.set_sensitive(true);
            req = req.header("X-Vault-Token", v);
        }
        if let Some(b) = body {
            // reqwest keeps its own copy; ours is zeroed here.
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_vec());
        }
        let mut resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let cap = resp
            .content_length()
            .map_or(8 * 1024, |n| n as usize)
            .min(MAX_BODY);
        let mut buf = Zeroizing::new(Vec::with_capacity(cap));
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.unreachable(&e))? {
            if buf.len() + chunk.len() > MAX_BODY {
                return Err(self.protocol(format!("an answer over {MAX_BODY} bytes")));
            }
            if buf.len() + chunk.len() > buf.capacity() {
                // Grow by hand so the old buffer is zeroed, not just freed.
                let mut bigger = Zeroizing::new(Vec::with_capacity(
                    (buf.len() + chunk.len()).max(buf.capacity() * 2),
                ));
                bigger.extend_from_slice(&buf);
                buf = bigger;
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body: buf })
    }

    fn unreachable(&self, e: &reqwest::Error) -> SourceError {
        let detail = if e.is_timeout() {
            format!("no answer within {} s", self.timeout.as_secs_f32())
        } else {
            innermost(e)
        };
        SourceError::Unreachable {
            name: self.name.clone(),
            address: self.address.clone(),
            detail,
        }
    }

    pub fn protocol(&self, detail: String) -> SourceError {
        SourceError::Protocol {
            name: self.name.clone(),
            detail,
        }
    }

    /// What a non-2xx status means for `path` (the path the user gave).
    pub fn status_error(&self, a: &Answer, path: &str) -> SourceError {
        match a.status.as_u16() {
            503 => SourceError::Sealed {
                name: self.name.clone(),
            },
            403 => SourceError::PermissionDenied {
                name: self.name.clone(),
                path: path.to_owned(),
            },
            404 => SourceError::NotFound {
                name: self.name.clone(),
                path: path.to_owned(),
            },
            s => self.protocol(format!("{s} for {path}: {}", errors(&a.body))),
        }
    }

    /// The body of a 2xx answer, else the error its status means.
    pub fn ok(&self, a: Answer, path: &str) -> Result<Zeroizing<Vec<u8>>, SourceError> {
        if a.status.is_success() {
            Ok(a.body)
        } else {
            Err(self.status_error(&a, path))
        }
    }

    /// Parses a 2xx body as `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(
        &self,
        body: &[u8],
        path: &str,
    ) -> Result<T, SourceError> {
        serde_json::from_slice(body).map_err(|e| {
            self.protocol(format!(
                "the answer for {path} is not what Vault sends ({e})"
            ))
        })
    }
}

/// Vault's `errors` list, joined: messages, never secrets. Empty when the
/// body is not Vault's error shape.
pub(super) fn errors(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<String>,
    }
    serde_json::from_slice::<Errors>(body)
        .map(|e| {
            e.errors
                .join("; ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The deepest cause ("Connection refused (os error 111)"), without the URL
/// reqwest puts first.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A JSON request body in memory that is zeroed when dropped.
pub(super) fn json_body(v: &serde_json::Value) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(256));
    // Writing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, v);
    buf
}

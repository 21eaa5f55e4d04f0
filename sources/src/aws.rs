//! AWS: Secrets Manager secrets (RDS JSON shape, `AWSCURRENT`) and RDS IAM
//! auth tokens, with the standard credential chain (environment, shared
//! config and credentials files with the profile, SSO cache, IMDS). No AWS
//! key is stored in dbcreds.
//!
//! Logged: the source name and secret ids. Never keys, tokens or values.

use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use secrecy::SecretString;
use tokio::sync::OnceCell;

use crate::{AwsSpec, Fetched, Health, SecretRef, SourceError, Target};

pub(crate) struct AwsSession {
    name: String,
    spec: AwsSpec,
    timeout: Duration,
    /// Loaded on first use: loading reads files and may ask IMDS for the
    /// region, and `Session::open` does no I/O.
    loaded: OnceCell<Loaded>,
}

struct Loaded {
    config: SdkConfig,
    secrets: aws_sdk_secretsmanager::Client,
}

impl AwsSession {
    pub(crate) fn new(name: &str, spec: &AwsSpec) -> Result<Self, SourceError> {
        Ok(Self {
            name: name.to_owned(),
            spec: spec.clone(),
            timeout: spec.timeout.unwrap_or(crate::DEFAULT_TIMEOUT),
            loaded: OnceCell::new(),
        })
    }

    pub(crate) async fn fetch(
        &self,
        r: &SecretRef,
        target: &Target,
    ) -> Result<Fetched, SourceError> {
        match r {
            SecretRef::AwsSecret { id, .. } => self.secret(id).await,
            SecretRef::RdsIam { .. } => self.rds_iam(target).await,
            other => Err(SourceError::Invalid(format!(
                "source '{}' is an AWS source: it has no {} secrets",
                self.name,
                other.kind()
            ))),
        }
    }

    async fn loaded(&self) -> Result<&Loaded, SourceError> {
        self.loaded
            .get_or_try_init(|| async {
                let config = tokio::time::timeout(self.timeout * 2, self.load_config())
                    .await
                    .map_err(|_| {
                        self.unreachable("loading the AWS configuration timed out".into())
                    })?;
                let mut sm = aws_sdk_secretsmanager::config::Builder::from(&config);
                if let Some(e) = &self.spec.endpoint {
                    sm = sm.endpoint_url(e);
                }
                let secrets = aws_sdk_secretsmanager::Client::from_conf(sm.build());
                Ok(Loaded { config, secrets })
            })
            .await
    }

    async fn load_config(&self) -> SdkConfig {
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.timeout)
            .operation_attempt_timeout(self.timeout)
            .operation_timeout(self.timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https)
            .timeout_config(timeouts);
        if let Some(p) = &self.spec.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &self.spec.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        loader.load().await
    }

    async fn secret(&self, id: &str) -> Result<Fetched, SourceError> {
        let l = self.loaded().await?;
        if l.config.region().is_none() && self.spec.endpoint.is_none() {
            return Err(self.no_region());
        }
        tracing::debug!(source = %self.name, id, "aws: reading a Secrets Manager secret");
        let call = l
            .secrets
            .get_secret_value()
            .secret_id(id)
            // Always named: moto (and a race with rotation) can answer
            // another version when the stage is left out.
            .version_stage("AWSCURRENT")
            .send();
        let out = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| {
                self.unreachable(format!("no answer within {} s", self.timeout.as_secs_f32()))
            })?
            .map_err(|e| self.sdk_error(e, id))?;
        let version = out.version_id().map(str::to_owned);
        let text = out.secret_string().ok_or_else(|| SourceError::NoPassword {
            what: format!("AWS secret {id} (binary, no SecretString)"),
        })?;
        let what = format!("AWS secret {id}");
        let (password, fields) = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(mut v) => {
                let r = match &v {
                    serde_json::Value::Object(obj) => crate::fields::from_json_object(obj, &what),
                    _ => Err(SourceError::NoPassword { what }),
                };
                crate::fields::zeroize_json(&mut v);
                r?
            }
            // A plain-text secret is the password itself.
            Err(_) if !text.is_empty() => (SecretString::from(text.to_owned()), Default::default()),
            Err(_) => return Err(SourceError::NoPassword { what }),
        };
        Ok(Fetched {
            password,
            fields,
            lease: None,
            valid_for: None,
            version,
        })
    }

    async fn rds_iam(&self, target: &Target) -> Result<Fetched, SourceError> {
        let mut missing = Vec::new();
        if target.host.is_empty() {
            missing.push("the host (--host)");
        }
        if target.port == 0 {
            missing.push("the port (--port)");
        }
        if target.username.is_empty() {
            missing.push("the user (--user)");
        }
        if !missing.is_empty() {
            return Err(SourceError::Invalid(format!(
                "an RDS IAM token is signed for a host, port and user: set {} on the environment",
                missing.join(", ")
            )));
        }
        let l = self.loaded().await?;
        let region = l
            .config
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| self.no_region())?;
        let provider =
            l.config
                .credentials_provider()
                .ok_or_else(|| SourceError::AwsCredentials {
                    detail: "no credential provider is configured".into(),
                })?;
        let creds = tokio::time::timeout(self.timeout, provider.provide_credentials())
            .await
            .map_err(|_| SourceError::AwsCredentials {
                detail: format!(
                    "the credential chain gave no answer within {} s",
                    self.timeout.as_secs_f32()
                ),
            })?
            .map_err(|e| credentials_error(&e))?;
        let token = crate::rds_iam::token(
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token(),
            &region,
            &target.host,
            target.port,
            &target.username,
            SystemTime::now(),
        )?;
        tracing::debug!(source = %self.name, host = %target.host, user = %target.username, "aws: signed an RDS IAM token");
        Ok(Fetched {
            password: SecretString::from(token),
            fields: Default::default(),
            lease: None,
            valid_for: Some(crate::rds_iam::SERVE_FOR),
            version: None,
        })
    }

    pub(crate) async fn health(&self) -> Health {
        let l = match self.loaded().await {
            Ok(l) => l,
            Err(e) => return unhealthy(e),
        };
        let Some(provider) = l.config.credentials_provider() else {
            return unhealthy("no credential provider is configured");
        };
        match tokio::time::timeout(self.timeout, provider.provide_credentials()).await {
            Ok(Ok(c)) => {
                let token_ttl = c
                    .expiry()
                    .and_then(|t| t.duration_since(SystemTime::now()).ok());
                let region = l
                    .config
                    .region()
                    .map_or("no region".to_owned(), |r| r.to_string());
                Health {
                    reachable: true,
                    token_ttl,
                    detail: format!("credentials found ({region})"),
                }
            }
            Ok(Err(e)) => unhealthy(credentials_error(&e)),
            Err(_) => unhealthy("the credential chain gave no answer in time"),
        }
    }

    fn no_region(&self) -> SourceError {
        SourceError::Invalid(format!(
            "source '{}' has no AWS region: set it with `dbcreds source add {} --kind aws --region REGION`, AWS_REGION, or the profile's region",
            self.name, self.name
        ))
    }

    fn unreachable(&self, detail: String) -> SourceError {
        SourceError::Unreachable {
            name: self.name.clone(),
            address: self
                .spec
                .endpoint
                .clone()
                .unwrap_or_else(|| "AWS Secrets Manager".into()),
            detail,
        }
    }

    fn sdk_error<E, R>(&self, e: SdkError<E, R>, id: &str) -> SourceError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        if let Some(c) = find::<CredentialsError>(&e) {
            return credentials_error(c);
        }
        match &e {
            SdkError::ServiceError(s) => {
                let err = s.err();
                let code = err.code().unwrap_or("");
                let message = err.message().unwrap_or("").to_owned();
                match code {
                    "ResourceNotFoundException" => SourceError::NotFound {
                        name: self.name.clone(),
                        path: id.to_owned(),
                    },
                    "AccessDeniedException" | "AccessDenied" => SourceError::PermissionDenied {
                        name: self.name.clone(),
                        path: id.to_owned(),
                    },
                    "ExpiredTokenException"
                    | "ExpiredToken"
                    | "UnrecognizedClientException"
                    | "InvalidSignatureException"
                    | "InvalidClientTokenId"
                    | "SignatureDoesNotMatch" => SourceError::AwsCredentials {
                        detail: format!("{code}: {message}"),
                    },
                    _ => SourceError::Protocol {
                        name: self.name.clone(),
                        detail: format!("{code}: {message}"),
                    },
                }
            }
            SdkError::TimeoutError(_) => {
                self.unreachable(format!("no answer within {} s", self.timeout.as_secs_f32()))
            }
            SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
                self.unreachable(innermost(&e))
            }
            _ => SourceError::Protocol {
                name: self.name.clone(),
                detail: innermost(&e),
            },
        }
    }
}

fn unhealthy(detail: impl ToString) -> Health {
    Health {
        reachable: false,
        token_ttl: None,
        detail: detail.to_string(),
    }
}

fn credentials_error(e: &CredentialsError) -> SourceError {
    let detail = match e {
        CredentialsError::CredentialsNotLoaded(_) => {
            "no credentials in the environment, the shared config/credentials files, the SSO cache or instance metadata".to_owned()
        }
        other => innermost(other),
    };
    SourceError::AwsCredentials { detail }
}

/// The first error of type `T` in `e`'s source chain.
fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(t) = c.downcast_ref::<T>() {
            return Some(t);
        }
        cur = c.source();
    }
    None
}

/// The deepest cause, which says what happened (the outer layers say
/// "dispatch failure").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

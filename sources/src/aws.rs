//! AWS: Secrets Manager secrets (RDS JSON shape, `AWSCURRENT`) and RDS IAM
//! auth tokens, with the standard credential chain.

use crate::{AwsSpec, Fetched, Health, SecretRef, SourceError, Target};

pub(crate) struct AwsSession {
    name: String,
}

impl AwsSession {
    pub(crate) fn new(name: &str, spec: &AwsSpec) -> Result<Self, SourceError> {
        let _ = spec;
        Ok(Self {
            name: name.to_owned(),
        })
    }

    pub(crate) async fn fetch(
        &self,
        r: &SecretRef,
        target: &Target,
    ) -> Result<Fetched, SourceError> {
        let _ = target;
        Err(SourceError::Invalid(format!(
            "source '{}': {} is not built yet",
            self.name,
            r.kind()
        )))
    }

    pub(crate) async fn health(&self) -> Health {
        Health {
            reachable: false,
            token_ttl: None,
            detail: "not built yet".into(),
        }
    }
}

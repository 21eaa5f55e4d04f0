//! OpenBao / HashiCorp Vault: token, AppRole and userpass logins; KV v1 and
//! v2, database-engine dynamic and static roles; lease renewal and
//! revocation.

use std::time::Duration;

use secrecy::SecretString;

use crate::{Fetched, Health, Lease, SecretRef, SourceError, VaultSpec};

pub(crate) struct VaultSession {
    name: String,
}

impl VaultSession {
    pub(crate) fn new(
        name: &str,
        spec: &VaultSpec,
        login: Option<SecretString>,
    ) -> Result<Self, SourceError> {
        let _ = (spec, login);
        Ok(Self {
            name: name.to_owned(),
        })
    }

    pub(crate) async fn fetch(&self, r: &SecretRef) -> Result<Fetched, SourceError> {
        Err(SourceError::Invalid(format!(
            "source '{}': {} is not built yet",
            self.name,
            r.kind()
        )))
    }

    pub(crate) async fn renew(
        &self,
        lease: &Lease,
        increment: Duration,
    ) -> Result<Duration, SourceError> {
        let _ = increment;
        Ok(lease.duration)
    }

    pub(crate) async fn revoke(&self, lease: &Lease) -> Result<(), SourceError> {
        let _ = lease;
        Ok(())
    }

    pub(crate) async fn keep_login(&self) -> Result<(), SourceError> {
        Ok(())
    }

    pub(crate) async fn health(&self) -> Health {
        Health {
            reachable: false,
            token_ttl: None,
            detail: "not built yet".into(),
        }
    }
}

//! Sources (docs/team.md): shared secret stores an environment's secret
//! may come from. Only the agent talks to them; these calls configure
//! them and ask the agent to fetch again.

use dbcreds_proto::{Wiped, v1};
use secrecy::{ExposeSecret, SecretString};

use super::{Client, environment, rpc};
use crate::EnvName;
use crate::error::Result;
use crate::model::Environment;

/// A source's settings as the agent takes and shows them
/// (`name`, `kind` = openbao|vault|aws, `address`, `auth`, `region`, ...).
pub type SourceInfo = v1::SourceInfo;

impl Client {
    /// Adds (or with `replace`, replaces) a source. `login` is its token,
    /// AppRole secret-id or userpass password (none for aws), sealed in the
    /// vault: this needs the vault unlocked.
    pub async fn put_source(
        &mut self,
        source: SourceInfo,
        login: Option<&SecretString>,
        replace: bool,
    ) -> Result<SourceInfo> {
        let req = Wiped(v1::PutSourceRequest {
            source: Some(source),
            login_secret: login
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default(),
            replace,
        });
        self.send_wiped(rpc::PUT_SOURCE, req).await
    }

    /// Every source, sorted by name; with `health`, each is checked (one
    /// request, bounded by its timeout).
    pub async fn sources(&mut self, health: bool) -> Result<Vec<SourceInfo>> {
        let r = self
            .inner
            .list_sources(v1::ListSourcesRequest { health })
            .await?
            .into_inner();
        Ok(r.sources)
    }

    /// Removes a source no environment uses.
    pub async fn remove_source(&mut self, name: &str) -> Result<()> {
        self.inner
            .remove_source(v1::RemoveSourceRequest { name: name.into() })
            .await?;
        Ok(())
    }

    /// A new login secret for a source; the agent logs in with it at once
    /// and the answer carries what that found.
    pub async fn login_source(&mut self, name: &str, login: &SecretString) -> Result<SourceInfo> {
        let req = Wiped(v1::LoginSourceRequest {
            name: name.into(),
            login_secret: login.expose_secret().to_owned(),
        });
        self.send_wiped(rpc::LOGIN_SOURCE, req).await
    }

    /// Drops what the agent cached for `name` from its source (revoking a
    /// lease) and fetches it again.
    pub async fn refresh(&mut self, name: &EnvName) -> Result<Environment> {
        let r = self
            .inner
            .refresh(v1::RefreshRequest {
                name: name.to_string(),
            })
            .await?
            .into_inner();
        environment(r.environment)
    }
}

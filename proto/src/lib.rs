//! Generated gRPC code for the dbcreds agent API (`dbcreds.v1`).
//!
//! The wire contract lives in `dbcreds/v1/agent.proto`; this crate only
//! compiles it. Messages that carry a secret have a `Debug` that prints
//! `[redacted]` in place of the secret, so a stray `{:?}` in a log line can
//! never leak one, and implement `Zeroize`; [`Wiped`] wipes one on drop.

pub mod codec;
pub mod direct;
pub mod wiped;

pub use wiped::Wiped;

/// Version 1 of the API.
pub mod v1 {
    #![allow(missing_docs, clippy::doc_lazy_continuation)]
    tonic::include_proto!("dbcreds.v1");
}

/// Protocol number of this build. Bumped by hand when a change would break
/// older clients; the CLI compares it with the agent's and replaces an agent
/// that speaks another one. 4: auth modes, environments waiting for a
/// password, backdated password dates (an older agent would drop them).
/// 5: `GetRequest.purpose` (audited as asked), `RotateRequest.hosts`
/// (MySQL accounts to change) and the accounts and notes of a rotation (an
/// older agent would ignore `hosts` and record every reveal as `get`).
/// 6: policies and approvals (an older agent would ignore a `child_exe` and
/// enforce no policy).
/// 7: `Watch` with vault events (lock, unlock), which an older agent would
/// ignore, leaving a watcher waiting for a first message.
/// 8: sources (an older agent would store an environment's `source` as a
/// plain password environment without one).
pub const PROTOCOL: u32 = 8;

/// Largest message either side accepts, in bytes. A `List` of 10,000
/// environments is about 2 MiB; anything bigger is a bug or an attack.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// Largest request the agent reads, in bytes. Every request carries at
/// most one environment, bounded well below this by `dbcreds::edit`; the
/// client refuses to send a bigger one.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

mod redacted_debug {
    use super::v1::*;
    use std::fmt;

    const REDACTED: &str = "[redacted]";

    fn redact(o: &Option<String>) -> Option<&'static str> {
        o.as_ref().map(|_| REDACTED)
    }

    impl fmt::Debug for GetResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("GetResponse")
                .field("environment", &self.environment)
                .field("password", &REDACTED)
                .field("warning", &self.warning)
                .finish()
        }
    }

    impl fmt::Debug for PutSourceRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("PutSourceRequest")
                .field("source", &self.source)
                .field("login_secret", &REDACTED)
                .field("replace", &self.replace)
                .finish()
        }
    }

    impl fmt::Debug for LoginSourceRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("LoginSourceRequest")
                .field("name", &self.name)
                .field("login_secret", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for PutRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("PutRequest")
                .field("environment", &self.environment)
                .field("password", &REDACTED)
                .field("replace", &self.replace)
                .finish()
        }
    }

    impl fmt::Debug for UpdateRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("UpdateRequest")
                .field("name", &self.name)
                .field("password", &redact(&self.password))
                .finish_non_exhaustive()
        }
    }

    impl fmt::Debug for UnlockRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("UnlockRequest")
                .field("passphrase", &redact(&self.passphrase))
                .finish()
        }
    }

    impl fmt::Debug for ReadLegacyKeyringResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ReadLegacyKeyringResponse")
                .field("secret", &self.secret.as_ref().map(|_| REDACTED))
                .finish()
        }
    }

    impl fmt::Debug for BackupRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("BackupRequest")
                .field("path", &self.path)
                .field("passphrase", &REDACTED)
                .field("overwrite", &self.overwrite)
                .finish()
        }
    }

    impl fmt::Debug for RestoreRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RestoreRequest")
                .field("path", &self.path)
                .field("passphrase", &REDACTED)
                .field("force", &self.force)
                .field("keyring", &self.keyring)
                .finish()
        }
    }

    impl fmt::Debug for ExportedEnvironment {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ExportedEnvironment")
                .field("environment", &self.environment)
                .field("password", &REDACTED)
                .finish()
        }
    }

    impl fmt::Debug for ExportAllResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ExportAllResponse")
                .field("environments", &self.environments)
                .finish()
        }
    }

    impl fmt::Debug for PassphraseRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("PassphraseRequest")
                .field("action", &self.action)
                .field("current", &redact(&self.current))
                .field("passphrase", &redact(&self.passphrase))
                .finish()
        }
    }

    impl fmt::Debug for RekeyRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RekeyRequest")
                .field("passphrase", &redact(&self.passphrase))
                .finish()
        }
    }

    impl fmt::Debug for InitRequest {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("InitRequest")
                .field("unlocker", &self.unlocker)
                .field("passphrase", &redact(&self.passphrase))
                .finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::v1::*;

    #[test]
    fn debug_never_shows_a_password() {
        let r = GetResponse {
            environment: None,
            password: "hunter2-secret".into(),
            warning: String::new(),
        };
        assert!(!format!("{r:?}").contains("hunter2"));
        let s = PutSourceRequest {
            login_secret: "hunter2-token".into(),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        let l = LoginSourceRequest {
            name: "team".into(),
            login_secret: "hunter2-token".into(),
        };
        assert!(!format!("{l:?}").contains("hunter2"));
        let u = UpdateRequest {
            password: Some("hunter2-secret".into()),
            ..Default::default()
        };
        assert!(!format!("{u:?}").contains("hunter2"));
        let k = ReadLegacyKeyringResponse {
            secret: Some(b"hunter2-secret".to_vec()),
        };
        assert!(!format!("{k:?}").contains("hunter2"));
        assert!(!format!("{k:?}").contains("104, 117"));
        let e = ExportAllResponse {
            environments: vec![ExportedEnvironment {
                environment: None,
                password: "hunter2-secret".into(),
            }],
        };
        assert!(!format!("{e:?}").contains("hunter2"));
        let p = PassphraseRequest {
            action: "change".into(),
            current: Some("hunter2-old".into()),
            passphrase: Some("hunter2-new".into()),
            approval: None,
        };
        assert!(!format!("{p:?}").contains("hunter2"));
        let b = BackupRequest {
            path: "/b".into(),
            passphrase: "hunter2-secret".into(),
            overwrite: false,
            approval: None,
        };
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}

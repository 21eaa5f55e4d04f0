//! Wiping the messages that carry a secret.
//!
//! A generated message is moved into tonic, encoded, and dropped there; a
//! plain `String` field leaves the secret in freed memory. The messages
//! that carry one implement [`Zeroize`] (the secret fields only), and
//! [`Wiped`] wraps a message so that dropping it, wherever that happens
//! (after encoding, or with a request that never left), wipes it first.
//! `Wiped` implements [`prost::Message`] by delegation, so it is the very
//! value the codec encodes: there is no second copy to forget.
//!
//! The messages keep no `Drop` of their own so the agent can still move
//! fields out of a decoded request.

use std::fmt;
use std::ops::Deref;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use zeroize::Zeroize;

use crate::v1;

impl Zeroize for v1::PutRequest {
    fn zeroize(&mut self) {
        self.password.zeroize();
    }
}

impl Zeroize for v1::UpdateRequest {
    fn zeroize(&mut self) {
        self.password.zeroize();
    }
}

impl Zeroize for v1::UnlockRequest {
    fn zeroize(&mut self) {
        self.passphrase.zeroize();
    }
}

impl Zeroize for v1::InitRequest {
    fn zeroize(&mut self) {
        self.passphrase.zeroize();
    }
}

impl Zeroize for v1::GetResponse {
    fn zeroize(&mut self) {
        self.password.zeroize();
    }
}

impl Zeroize for v1::ReadLegacyKeyringResponse {
    fn zeroize(&mut self) {
        self.secret.zeroize();
    }
}

impl Zeroize for v1::BackupRequest {
    fn zeroize(&mut self) {
        self.passphrase.zeroize();
    }
}

impl Zeroize for v1::RestoreRequest {
    fn zeroize(&mut self) {
        self.passphrase.zeroize();
    }
}

impl Zeroize for v1::PassphraseRequest {
    fn zeroize(&mut self) {
        self.current.zeroize();
        self.passphrase.zeroize();
    }
}

impl Zeroize for v1::RekeyRequest {
    fn zeroize(&mut self) {
        self.passphrase.zeroize();
    }
}

impl Zeroize for v1::PutSourceRequest {
    fn zeroize(&mut self) {
        self.login_secret.zeroize();
    }
}

impl Zeroize for v1::LoginSourceRequest {
    fn zeroize(&mut self) {
        self.login_secret.zeroize();
    }
}

impl Zeroize for v1::ExportAllResponse {
    fn zeroize(&mut self) {
        for e in &mut self.environments {
            e.password.zeroize();
        }
    }
}

/// A message wiped (its secret fields zeroized) when dropped. Not `Clone`,
/// so it cannot be copied by accident either.
///
/// ```
/// use dbcreds_proto::{Wiped, v1};
/// let req = Wiped(v1::UnlockRequest { passphrase: Some("correct horse".into()) });
/// assert!(req.passphrase.is_some());
/// drop(req); // the passphrase's bytes are zeroed before they are freed
/// ```
#[derive(Default)]
pub struct Wiped<M: Zeroize>(pub M);

impl<M: Zeroize> Drop for Wiped<M> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<M: Zeroize> Deref for Wiped<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.0
    }
}

impl<M: Zeroize + fmt::Debug> fmt::Debug for Wiped<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The messages' own Debug already redacts the secret.
        self.0.fmt(f)
    }
}

impl<M: prost::Message + Zeroize> prost::Message for Wiped<M> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        self.0.encode_raw(buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        self.0.merge_field(tag, wire_type, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.encoded_len()
    }

    fn clear(&mut self) {
        // Clearing drops the old values: wipe them first.
        self.0.zeroize();
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn zeroize_clears_only_the_secret() {
        let mut put = v1::PutRequest {
            environment: Some(v1::Environment {
                name: "prod".into(),
                ..Default::default()
            }),
            password: "hunter2".into(),
            replace: true,
            approval: None,
        };
        put.zeroize();
        assert!(put.password.is_empty());
        assert!(put.replace);
        assert_eq!(put.environment.map(|e| e.name).as_deref(), Some("prod"));
        let mut up = v1::UpdateRequest {
            name: "prod".into(),
            password: Some("hunter2".into()),
            ..Default::default()
        };
        up.zeroize();
        assert_eq!((up.name.as_str(), up.password), ("prod", None));
    }

    #[test]
    fn wiped_encodes_and_decodes_as_the_message() {
        let plain = v1::InitRequest {
            unlocker: "passphrase".into(),
            passphrase: Some("hunter2".into()),
        };
        let wiped = Wiped(plain.clone());
        assert_eq!(wiped.encode_to_vec(), plain.encode_to_vec());
        let back = Wiped::<v1::InitRequest>::decode(plain.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back.0, plain);
        assert!(!format!("{wiped:?}").contains("hunter2"));
    }
}

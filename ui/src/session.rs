//! The page's secrets: a one-time token for the URL it prints, and the
//! session id the token is exchanged for (the cookie's value). Both are
//! 256 random bits from the OS, compared in constant time.

use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes of randomness in a token or a session id.
const SECRET_BYTES: usize = 32;

/// The token in the printed URL and the session it opens.
pub struct Session {
    token: String,
    id: String,
    /// Set by the one exchange of the token; no second one happens.
    used: AtomicBool,
}

impl Session {
    /// A new token and session id.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            token: random_hex()?,
            id: random_hex()?,
            used: AtomicBool::new(false),
        })
    }

    /// The one-time token, for the URL.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The session id for the cookie, when `token` is the token and it was
    /// not exchanged before; `None` otherwise (a wrong token does not use
    /// up the right one).
    pub fn exchange(&self, token: &str) -> Option<&str> {
        if !same(token, &self.token) {
            return None;
        }
        (!self.used.swap(true, Ordering::SeqCst)).then_some(self.id.as_str())
    }

    /// True when `id` is the session's id and the session was opened.
    pub fn is_session(&self, id: &str) -> bool {
        self.used.load(Ordering::SeqCst) && same(id, &self.id)
    }
}

/// Constant-time equality of two secrets (their lengths are public).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn random_hex() -> std::io::Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_opens_one_session_once() {
        let s = Session::new().unwrap();
        assert_eq!(s.token().len(), 64);
        let token = s.token().to_owned();
        assert!(!s.is_session(&s.id.clone()), "not before the exchange");
        assert_eq!(s.exchange("wrong"), None);
        assert_eq!(s.exchange(&"0".repeat(64)), None);
        let id = s.exchange(&token).unwrap().to_owned();
        assert_ne!(id, token);
        assert!(s.is_session(&id));
        assert!(!s.is_session(&token));
        assert_eq!(s.exchange(&token), None, "a replayed token");
    }

    #[test]
    fn secrets_differ() {
        let (a, b) = (Session::new().unwrap(), Session::new().unwrap());
        assert_ne!(a.token(), b.token());
        assert_ne!(a.token(), a.id);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "dbcreds_ui_1=aa; dbcreds_ui_12=bb;x=1";
        assert_eq!(cookie(h, "dbcreds_ui_12"), Some("bb"));
        assert_eq!(cookie(h, "dbcreds_ui_1"), Some("aa"));
        assert_eq!(cookie(h, "x"), Some("1"));
        assert_eq!(cookie(h, "dbcreds_ui"), None);
    }
}

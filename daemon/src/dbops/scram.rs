//! What a server stores instead of a password, computed here so the
//! password itself never appears in the SQL a rotation sends (and so never
//! in the server's statement log):
//!
//! - PostgreSQL: a SCRAM-SHA-256 verifier (RFC 5802 / RFC 7677), in the
//!   text form `pg_authid.rolpassword` holds and `ALTER ROLE ... PASSWORD`
//!   accepts: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
//! - MariaDB/MySQL: the `mysql_native_password` hash, `*` followed by
//!   `SHA1(SHA1(password))` in upper-case hex.
//!
//! Built from RustCrypto's pbkdf2, hmac, sha1 and sha2 and the base64
//! crate; nothing hand-rolled.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// PostgreSQL's own default (`scram_iterations`).
pub const SCRAM_ITERATIONS: u32 = 4096;
/// PostgreSQL's salt length.
const SALT_LEN: usize = 16;

type HmacSha256 = hmac::Hmac<Sha256>;

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// The verifier for `password` with a fresh random salt.
///
/// The password must be ASCII without control characters (the rotation's
/// alphabets are): then PostgreSQL's SASLprep leaves it unchanged and the
/// server derives the same keys from what the client sends.
pub fn pg_scram_verifier(password: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    pg_scram_verifier_with(password, &salt, SCRAM_ITERATIONS)
}

fn pg_scram_verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let (stored, server) = scram_keys(password, salt, iterations);
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored),
        STANDARD.encode(server)
    )
}

/// (StoredKey, ServerKey) of RFC 5802.
fn scram_keys(password: &str, salt: &[u8], iterations: u32) -> ([u8; 32], [u8; 32]) {
    let salted = Zeroizing::new(pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(
        password.as_bytes(),
        salt,
        iterations,
    ));
    let client_key = Zeroizing::new(hmac(salted.as_ref(), b"Client Key"));
    let stored: [u8; 32] = Sha256::digest(client_key.as_ref()).into();
    let server = hmac(salted.as_ref(), b"Server Key");
    (stored, server)
}

/// The `mysql_native_password` hash of `password`: `*` and 40 upper-case
/// hex digits.
pub fn mysql_native_hash(password: &str) -> String {
    use sha1::Sha1;
    let inner: Zeroizing<[u8; 20]> = Zeroizing::new(Sha1::digest(password.as_bytes()).into());
    let outer = Sha1::digest(inner.as_ref());
    let mut out = String::with_capacity(41);
    out.push('*');
    for b in outer {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's example exchange (user "user", password "pencil"): from
    /// our StoredKey and ServerKey, the client proof of the RFC must check
    /// out and the server signature must be the RFC's.
    #[test]
    fn matches_the_rfc_7677_exchange() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let (stored, server) = scram_keys("pencil", &salt, 4096);
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let proof = STANDARD
            .decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        let signature = hmac(&stored, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&client_key)), stored);
        assert_eq!(
            STANDARD.encode(hmac(&server, auth_message.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn verifier_has_postgres_text_form_and_no_password() {
        let v = pg_scram_verifier("hunter2-secret");
        let rest = v.strip_prefix("SCRAM-SHA-256$4096:").unwrap();
        let (salt, keys) = rest.split_once('$').unwrap();
        assert_eq!(STANDARD.decode(salt).unwrap().len(), 16);
        let (a, b) = keys.split_once(':').unwrap();
        assert_eq!(STANDARD.decode(a).unwrap().len(), 32);
        assert_eq!(STANDARD.decode(b).unwrap().len(), 32);
        assert!(!v.contains("hunter2"));
        assert!(!v.contains('\''));
        assert_ne!(
            v,
            pg_scram_verifier("hunter2-secret"),
            "fresh salt each time"
        );
    }

    #[test]
    fn mysql_native_hash_matches_the_server() {
        // SELECT PASSWORD('password') on MariaDB/MySQL 5.7.
        assert_eq!(
            mysql_native_hash("password"),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
    }
}

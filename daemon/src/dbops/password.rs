//! New passwords for rotations: uniformly random over an alphabet, from the
//! operating system-seeded CSPRNG (`rand::rng()`), straight into zeroizing
//! memory.

use rand::Rng;
use secrecy::SecretString;
use zeroize::Zeroizing;

/// Letters, digits and `-`, `_`, `.`: nothing a URI, a shell (unquoted,
/// even after `=`), a libpq string, a `.pgpass` line or SQL quoting treats
/// specially. 32 of these are 192 bits.
pub const DEFAULT_ALPHABET: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
pub const DEFAULT_LENGTH: u32 = 32;
pub const MIN_LENGTH: u32 = 16;
pub const MAX_LENGTH: u32 = 128;
/// Fewer distinct characters than this make a weak password at any length
/// a user would accept.
const MIN_DISTINCT: usize = 10;

/// Checks a requested length; `None` means the default.
pub fn length(requested: Option<u32>) -> Result<usize, String> {
    let n = requested.unwrap_or(DEFAULT_LENGTH);
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&n) {
        return Err(format!(
            "--length {n} is out of range: use {MIN_LENGTH} to {MAX_LENGTH}"
        ));
    }
    Ok(n as usize)
}

/// The distinct characters of a requested alphabet; `None` means the
/// default. Only printable ASCII without quotes or backslash: the new
/// password goes into SQL on MySQL, and SCRAM needs it unchanged by SASLprep.
pub fn alphabet(requested: Option<&str>) -> Result<Vec<char>, String> {
    let raw = requested.unwrap_or(DEFAULT_ALPHABET);
    let mut chars: Vec<char> = Vec::new();
    for c in raw.chars() {
        if !c.is_ascii_graphic() || matches!(c, '\'' | '"' | '\\' | '`') {
            return Err(format!(
                "--alphabet may hold printable ASCII except quotes, backslash and backtick; {c:?} is not allowed"
            ));
        }
        if !chars.contains(&c) {
            chars.push(c);
        }
    }
    if chars.len() < MIN_DISTINCT {
        return Err(format!(
            "--alphabet has {} distinct characters: give at least {MIN_DISTINCT}",
            chars.len()
        ));
    }
    Ok(chars)
}

/// A random password of `len` characters from `alphabet`. When the
/// alphabet has lower case, upper case, digits or symbols, each class it
/// has appears at least once (servers with a password policy ask for
/// that); drawing again until so keeps every such password equally likely.
pub fn generate(len: usize, alphabet: &[char]) -> SecretString {
    let classes: [fn(&char) -> bool; 4] = [
        char::is_ascii_lowercase,
        char::is_ascii_uppercase,
        char::is_ascii_digit,
        |c| !c.is_ascii_alphanumeric(),
    ];
    let wanted: Vec<_> = classes.iter().filter(|f| alphabet.iter().any(f)).collect();
    let mut rng = rand::rng();
    loop {
        let mut out = Zeroizing::new(String::with_capacity(len));
        for _ in 0..len {
            out.push(alphabet[rng.random_range(0..alphabet.len())]);
        }
        if len < wanted.len() || wanted.iter().all(|f| out.chars().any(|c| f(&c))) {
            return SecretString::from(out.as_str().to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn default_passwords() {
        let a = alphabet(None).unwrap();
        let len = length(None).unwrap();
        assert!(len >= 24);
        let p = generate(len, &a);
        let p = p.expose_secret();
        assert_eq!(p.len(), 32);
        assert!(p.chars().all(|c| DEFAULT_ALPHABET.contains(c)));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| "-_.".contains(c)));
        assert_ne!(p, generate(len, &a).expose_secret());
    }

    #[test]
    fn bad_requests_say_what_is_allowed() {
        assert!(length(Some(8)).unwrap_err().contains("16 to 128"));
        assert!(length(Some(129)).is_err());
        assert_eq!(length(Some(16)), Ok(16));
        assert!(alphabet(Some("abc")).unwrap_err().contains("at least 10"));
        assert!(
            alphabet(Some("abcdefghij'"))
                .unwrap_err()
                .contains("quotes")
        );
        assert!(alphabet(Some("abcdefghij ")).is_err());
        assert!(alphabet(Some("abcdéfghijk")).is_err());
        let hex = alphabet(Some("0123456789abcdef")).unwrap();
        let p = generate(20, &hex);
        assert!(p.expose_secret().chars().all(|c| c.is_ascii_hexdigit()));
    }
}

//! Terminal prompts and secrets from standard input. Secrets are read with
//! no echo and held as `SecretString`; nothing here prints a secret.

use std::io::{self, BufRead, IsTerminal, Write};

use secrecy::{ExposeSecret, SecretString};
use zeroize::{Zeroize, Zeroizing};

use crate::exit::Failure;

/// True when there is a person to ask: standard input and standard error
/// are both terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// Drops one trailing newline (`\n` or `\r\n`) and nothing else.
pub fn strip_one_newline(s: &mut String) {
    if s.ends_with("\r\n") {
        s.truncate(s.len() - 2);
    } else if s.ends_with('\n') {
        s.truncate(s.len() - 1);
    }
}

fn read_failed(what: &str, e: &io::Error) -> Failure {
    if e.kind() == io::ErrorKind::InvalidData {
        Failure::usage(format!("{what} is not valid UTF-8"))
    } else {
        Failure::other(format!("cannot read {what}: {e}"))
    }
}

/// The most a secret on standard input may have (a password's bound,
/// [`dbcreds::edit::MAX_PASSWORD_BYTES`]; passphrases get the same).
pub const MAX_STDIN_SECRET_BYTES: usize = dbcreds::edit::MAX_PASSWORD_BYTES;

/// All of standard input as a password, less one trailing newline; at
/// most [`MAX_STDIN_SECRET_BYTES`], and no more than that is read.
pub fn secret_from_stdin_all() -> Result<SecretString, Failure> {
    secret_from_stdin("the password", false)
}

/// The first line of standard input as a passphrase, without its
/// newline; at most [`MAX_STDIN_SECRET_BYTES`].
pub fn secret_from_stdin_line() -> Result<SecretString, Failure> {
    secret_from_stdin("the passphrase", true)
}

fn secret_from_stdin(what: &str, one_line: bool) -> Result<SecretString, Failure> {
    let mut buf = read_bounded(&mut io::stdin().lock(), MAX_STDIN_SECRET_BYTES, one_line)
        .map_err(|e| read_failed("standard input", &e))?;
    let text = String::from_utf8(std::mem::take(&mut *buf)).map_err(|e| {
        // The bytes go back to be wiped with the buffer.
        *buf = e.into_bytes();
        read_failed(
            "standard input",
            &io::Error::from(io::ErrorKind::InvalidData),
        )
    })?;
    let mut text = Zeroizing::new(text);
    strip_one_newline(&mut text);
    if text.len() > MAX_STDIN_SECRET_BYTES {
        return Err(Failure::usage(format!(
            "{what} on standard input is longer than {MAX_STDIN_SECRET_BYTES} bytes: give a shorter one"
        )));
    }
    Ok(SecretString::from(text.as_str()))
}

/// Reads from `r` up to the end (or, with `one_line`, the first newline),
/// but never more than `limit` bytes and a newline (`\r\n`) and one byte
/// more: enough to tell "too long" without holding what follows. The
/// buffer is allocated once, so no copy of a secret is left behind by a
/// reallocation, and zeroized when dropped.
fn read_bounded(
    r: &mut impl BufRead,
    limit: usize,
    one_line: bool,
) -> io::Result<Zeroizing<Vec<u8>>> {
    let cap = limit + 3;
    let mut buf = Zeroizing::new(Vec::with_capacity(cap));
    while buf.len() < cap {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let room = cap - buf.len();
        let (take, done) = match chunk.iter().take(room).position(|b| *b == b'\n') {
            Some(i) if one_line => (i + 1, true),
            _ => (chunk.len().min(room), false),
        };
        buf.extend_from_slice(&chunk[..take]);
        r.consume(take);
        if done {
            break;
        }
    }
    Ok(buf)
}

/// The first line of the file `path` as a secret (for
/// `DBCREDS_PASSPHRASE_FILE`).
pub fn secret_from_file(path: &std::path::Path) -> Result<SecretString, Failure> {
    let raw = Zeroizing::new(std::fs::read(path).map_err(|e| {
        Failure::other(format!(
            "cannot read the passphrase file {} (DBCREDS_PASSPHRASE_FILE): {e}",
            path.display()
        ))
    })?);
    let text = std::str::from_utf8(&raw).map_err(|_| {
        Failure::usage(format!(
            "the passphrase file {} (DBCREDS_PASSPHRASE_FILE) is not valid UTF-8",
            path.display()
        ))
    })?;
    let mut line = Zeroizing::new(text.split_inclusive('\n').next().unwrap_or("").to_owned());
    strip_one_newline(&mut line);
    Ok(SecretString::from(line.as_str()))
}

/// Asks for a secret on the terminal with no echo.
pub fn secret(label: &str) -> Result<SecretString, Failure> {
    let mut s = rpassword::prompt_password(label)
        .map_err(|e| Failure::other(format!("cannot read from the terminal: {e}")))?;
    let secret = SecretString::from(s.as_str());
    s.zeroize();
    Ok(secret)
}

/// Asks for a new secret twice; fails when the two differ.
pub fn new_secret(label: &str, again: &str, what: &str) -> Result<SecretString, Failure> {
    let first = secret(label)?;
    let second = secret(again)?;
    if first.expose_secret() != second.expose_secret() {
        return Err(Failure::usage(format!(
            "the two {what}s differ; nothing was changed: run the command again"
        )));
    }
    Ok(first)
}

/// Asks for a line of text, showing `default` (taken on an empty answer).
pub fn line(label: &str, default: Option<&str>) -> Result<String, Failure> {
    let mut err = io::stderr().lock();
    let shown = match default {
        Some(d) if !d.is_empty() => format!("{label} [{d}]: "),
        _ => format!("{label}: "),
    };
    let _ = err.write_all(shown.as_bytes());
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    let n = io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| read_failed("the answer", &e))?;
    if n == 0 {
        return Err(Failure::usage(format!(
            "no answer for {label} (end of input)"
        )));
    }
    let answer = answer.trim();
    Ok(match (answer.is_empty(), default) {
        (true, Some(d)) => d.to_owned(),
        _ => answer.to_owned(),
    })
}

/// Asks a yes/no question; anything but y/yes is no.
pub fn confirm(question: &str) -> Result<bool, Failure> {
    let answer = line(&format!("{question} [y/N]"), None);
    match answer {
        Ok(a) => Ok(is_yes(&a)),
        // End of input counts as "no".
        Err(f) if f.code == crate::exit::USAGE => Ok(false),
        Err(f) => Err(f),
    }
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_exactly_one_newline() {
        let cases = [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw\n\n", "pw\n"),
            ("pw\r\n\r\n", "pw\r\n"),
            ("pw", "pw"),
            ("pw \n", "pw "),
            (" pw", " pw"),
            ("pw\r", "pw\r"),
            ("\n", ""),
            ("", ""),
        ];
        for (input, want) in cases {
            let mut s = input.to_owned();
            strip_one_newline(&mut s);
            assert_eq!(s, want, "{input:?}");
        }
    }

    #[test]
    fn stdin_reads_stop_at_the_bound() {
        let big = vec![b'x'; 1 << 20];
        let mut r = io::Cursor::new(big);
        let got = read_bounded(&mut r, 10, false).unwrap();
        assert_eq!(got.len(), 13);
        assert_eq!(r.position(), 13, "read past the bound");
        let mut r = io::Cursor::new(b"pass\nrest".to_vec());
        assert_eq!(&**read_bounded(&mut r, 10, true).unwrap(), b"pass\n");
        let mut r = io::Cursor::new(
            b"x".repeat(10)
                .into_iter()
                .chain(*b"\r\n")
                .collect::<Vec<_>>(),
        );
        assert_eq!(read_bounded(&mut r, 10, false).unwrap().len(), 12);
    }

    #[test]
    fn yes_means_yes() {
        assert!(is_yes("y"));
        assert!(is_yes(" YES "));
        assert!(!is_yes(""));
        assert!(!is_yes("n"));
        assert!(!is_yes("yep"));
    }

    #[test]
    fn passphrase_file_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pass");
        std::fs::write(&p, "correct horse\r\nsecond line\n").unwrap();
        assert_eq!(
            secret_from_file(&p).unwrap().expose_secret(),
            "correct horse"
        );
        std::fs::write(&p, "no newline").unwrap();
        assert_eq!(secret_from_file(&p).unwrap().expose_secret(), "no newline");
        let missing = dir.path().join("missing");
        let f = secret_from_file(&missing).unwrap_err();
        assert!(f.message.contains("DBCREDS_PASSPHRASE_FILE"));
    }
}

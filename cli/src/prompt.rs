//! Terminal prompts and secrets from standard input. Secrets are read with
//! no echo and held as `SecretString`; nothing here prints a secret.

use std::io::{self, BufRead, IsTerminal, Read, Write};

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

/// All of standard input as a secret, less one trailing newline.
pub fn secret_from_stdin_all() -> Result<SecretString, Failure> {
    secret_from_stdin(Read::read_to_string)
}

/// The first line of standard input as a secret, without its newline.
pub fn secret_from_stdin_line() -> Result<SecretString, Failure> {
    secret_from_stdin(BufRead::read_line)
}

/// What `read` takes from standard input, as a secret less one trailing
/// newline; the buffer is zeroized.
fn secret_from_stdin(
    read: fn(&mut io::StdinLock<'static>, &mut String) -> io::Result<usize>,
) -> Result<SecretString, Failure> {
    let mut buf = Zeroizing::new(String::new());
    read(&mut io::stdin().lock(), &mut buf).map_err(|e| read_failed("standard input", &e))?;
    strip_one_newline(&mut buf);
    Ok(SecretString::from(buf.as_str()))
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

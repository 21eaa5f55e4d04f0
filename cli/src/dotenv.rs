//! A `.env` file reader for `dbcreds run --env-file`: the dotenv syntax
//! most tools agree on, and no more.
//!
//! - `KEY=VALUE` lines; `export KEY=VALUE` too; blank lines and lines
//!   starting with `#` are skipped. KEY is `[A-Za-z_][A-Za-z0-9_]*`.
//! - An unquoted value is trimmed, and a ` #` starts a comment.
//! - `'single quotes'` are literal; `"double quotes"` take `\n`, `\r`,
//!   `\t`, `\"`, `\\` and `\$` escapes and may span lines (as
//!   `dbcreds export --format dotenv` writes them).
//! - No `${VAR}` expansion: a value is what the file says.

use std::path::Path;

use crate::exit::Failure;

/// One `KEY=VALUE` and the line it starts on (1-based).
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Reads and parses `path`; errors name the file and line.
pub fn read(path: &Path) -> Result<Vec<Entry>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read the env file {}: {e}", path.display())))?;
    parse(&text).map_err(|(line, why)| Failure::usage(format!("{}:{line}: {why}", path.display())))
}

/// Parses dotenv text; an error is (line, why).
pub fn parse(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, rest)) = line.split_once('=') else {
            return Err((n, format!("'{}' is not KEY=VALUE", raw.trim())));
        };
        let key = key.trim_end();
        if !valid_key(key) {
            return Err((
                n,
                format!(
                    "'{key}' is not a variable name (letters, digits and _, not first a digit)"
                ),
            ));
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some('\'') => single_quoted(&rest[1..]).ok_or((n, "no closing ' quote".to_owned()))?,
            Some('"') => double_quoted(&rest[1..], &mut lines)
                .ok_or((n, "no closing \" quote".to_owned()))?,
            _ => unquoted(rest),
        };
        out.push(Entry {
            key: key.to_owned(),
            value,
            line: n,
        });
    }
    Ok(out)
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn unquoted(rest: &str) -> String {
    let end = rest
        .char_indices()
        .find(|&(i, c)| c == '#' && rest[..i].ends_with([' ', '\t']))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].trim().to_owned()
}

fn single_quoted(rest: &str) -> Option<String> {
    rest.find('\'').map(|end| rest[..end].to_owned())
}

/// The value of a double-quoted string starting after its `"`, reading
/// further lines from `more` until the closing quote.
fn double_quoted<'a>(
    first: &'a str,
    more: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Option<String> {
    let mut out = String::new();
    let mut line = first;
    loop {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(c @ ('"' | '\\' | '$' | '\'')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => out.push('\\'),
                },
                c => out.push(c),
            }
        }
        out.push('\n');
        line = more.next()?.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    #[test]
    fn the_usual_syntax() {
        let text = "# comment\n\nA=1\nexport B = two words # note\nC='a b # c'\nD=\"x\\\"y\\n\\$z\"\nE=a#b\nF=\nG=dbcreds://prod/password\n";
        assert_eq!(
            kv(text),
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "a b # c"),
                ("D", "x\"y\n$z"),
                ("E", "a#b"),
                ("F", ""),
                ("G", "dbcreds://prod/password"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn multi_line_double_quotes_and_what_export_writes() {
        assert_eq!(
            kv("K=\"a\nb\"\nL=2"),
            [("K".into(), "a\nb".into()), ("L".into(), "2".into())]
        );
        let awkward = "p@ss:w/rd?#% \\$x\"'\n";
        let line = format!("X={}", dbcreds::render::dotenv_quote(awkward));
        assert_eq!(kv(&line), [("X".to_owned(), awkward.to_owned())]);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("A=1\nnot a pair\n").unwrap_err().0, 2);
        assert!(parse("1A=x").unwrap_err().1.contains("'1A'"));
        assert_eq!(
            parse("A=1\nB=\"open\n").unwrap_err(),
            (2, "no closing \" quote".into())
        );
        assert!(parse("A='x").is_err());
    }
}

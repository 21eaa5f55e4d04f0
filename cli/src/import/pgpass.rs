//! libpq password files (`~/.pgpass`, `PGPASSFILE`), read the way libpq
//! reads them (PostgreSQL docs, "The Password File"):
//!
//! - one `hostname:port:database:username:password` per line; empty lines
//!   and lines starting with `#` are ignored; a trailing `\r` is dropped;
//! - `\` escapes the next character (`\:` is a colon, `\\` a backslash);
//! - `*` in one of the first four fields matches anything;
//! - the password ends at the next unescaped `:`, and anything after it is
//!   ignored;
//! - the first matching line wins, so a later line for the same server,
//!   database and user is never used.
//!
//! A line becomes a PostgreSQL environment named after its database (then
//! database-user, host-database-user, ... when that name is taken). A `*`
//! host, database or user cannot name one server, so such a line is
//! skipped with that reason; a `*` port means the default port, 5432.

use std::collections::BTreeSet;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{Batch, Entry, Skipped, finish, first_free};
use dbcreds::model::{DatabaseKind, EnvName, Environment, parse_port};

/// The fields of one line with the escapes undone: host, port, database,
/// user, password. `None` when the line has fewer than five fields. The
/// password ends at the next unescaped `:`, as in libpq.
pub fn split_line(line: &str) -> Option<[Zeroizing<String>; 5]> {
    let mut fields: Vec<Zeroizing<String>> = vec![Zeroizing::new(String::new())];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        let last = fields.len() - 1;
        match c {
            '\\' => match chars.next() {
                Some(next) => fields[last].push(next),
                // A trailing backslash stays, as libpq keeps it.
                None => fields[last].push('\\'),
            },
            ':' if fields.len() < 5 => fields.push(Zeroizing::new(String::new())),
            // The password ends at an unescaped colon.
            ':' => break,
            c => fields[last].push(c),
        }
    }
    let mut it = fields.into_iter();
    let out = [it.next()?, it.next()?, it.next()?, it.next()?, it.next()?];
    Some(out)
}

/// How many `:`-separated fields `line` has, escapes respected.
fn field_count(line: &str) -> usize {
    let mut n = 1;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            ':' => n += 1,
            _ => {}
        }
    }
    n
}

/// Whether field `index` (0-3) of `line` is a bare `*` wildcard, not an
/// escaped `\*`.
fn is_wildcard(line: &str, index: usize) -> bool {
    let mut field = 0;
    let mut start = 0;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b':' => {
                if field == index {
                    return &line[start..i] == "*";
                }
                field += 1;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    field == index && &line[start..] == "*"
}

/// Reads a whole password file.
pub fn parse(text: &str) -> Batch {
    let mut batch = Batch::default();
    // (host, port, database, user) of every line taken, with its number.
    let mut keys: Vec<((String, u16, String, String), usize)> = Vec::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (i, raw) in text.split('\n').enumerate() {
        let number = i + 1;
        let origin = format!("line {number}");
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let skip = |why: String| Skipped::new(None, origin.clone(), why);
        let Some([host, port, database, user, password]) = split_line(line) else {
            let n = field_count(line);
            batch.skipped.push(skip(format!(
                "it has {n} field{} where libpq wants 5 (host:port:database:user:password)",
                if n == 1 { "" } else { "s" }
            )));
            continue;
        };
        let wild: Vec<&str> = [(0, "host"), (2, "database"), (3, "user")]
            .into_iter()
            .filter(|(idx, _)| is_wildcard(line, *idx))
            .map(|(_, what)| what)
            .collect();
        if let [init @ .., last] = wild.as_slice() {
            let what = if init.is_empty() {
                format!("the {last} is a wildcard (*)")
            } else {
                format!("the {} and {last} are wildcards (*)", init.join(", "))
            };
            batch.skipped.push(skip(format!(
                "{what}: a wildcard line matches many servers and cannot make one \
                 environment; add the one you mean with `dbcreds add`"
            )));
            continue;
        }
        let mut notes = Vec::new();
        let port = if is_wildcard(line, 1) {
            notes.push("port * taken as the default port 5432".to_owned());
            5432
        } else {
            match parse_port(&port) {
                Ok(p) => p,
                Err(e) => {
                    batch.skipped.push(skip(e.to_string()));
                    continue;
                }
            }
        };
        let key = (
            host.to_string(),
            port,
            database.to_string(),
            user.to_string(),
        );
        if let Some((_, first)) = keys.iter().find(|(k, _)| *k == key) {
            batch.skipped.push(skip(format!(
                "line {first} has the same server, database and user, and libpq uses the first match"
            )));
            continue;
        }
        let candidates = [
            database.to_string(),
            format!("{}-{}", *database, *user),
            format!("{}-{}-{}", *host, *database, *user),
            format!("{}-{port}-{}-{}", *host, *database, *user),
        ];
        let Some(name) = first_free(&candidates, &taken) else {
            batch.skipped.push(skip(
                "no environment name can be made from its host, database and user: \
                 import it alone with --name"
                    .into(),
            ));
            continue;
        };
        keys.push((key, number));
        taken.insert(name.to_string());
        batch.push(entry(
            name, &host, port, &database, &user, &password, origin, notes,
        ));
    }
    batch.drop_duplicate_names();
    batch
}

#[allow(clippy::too_many_arguments)]
fn entry(
    name: EnvName,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
    password: &str,
    origin: String,
    notes: Vec<String>,
) -> Result<Entry, Skipped> {
    let mut env = Environment::new(name, DatabaseKind::Postgres);
    env.host = host.to_owned();
    env.port = port;
    env.database = database.to_owned();
    env.username = user.to_owned();
    env.description = "Imported from a libpq password file".into();
    finish(env, SecretString::from(password), origin, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn reasons(b: &Batch) -> Vec<String> {
        b.skipped
            .iter()
            .map(|s| format!("{}: {}", s.origin, s.reason))
            .collect()
    }

    #[test]
    fn escapes_follow_libpq() {
        let b = parse(r"h\\1:5432:d\:b:u\x:p\\a\:ss:rest");
        let e = &b.entries[0];
        assert_eq!(e.environment.host, r"h\1");
        assert_eq!(e.environment.database, "d:b");
        assert_eq!(e.environment.username, "ux");
        assert_eq!(e.password.expose_secret(), r"p\a:ss");
    }

    #[test]
    fn password_may_hold_an_escaped_star_and_end_in_backslash() {
        let b = parse("h:5432:d:u:*\\");
        assert_eq!(b.entries[0].password.expose_secret(), "*\\");
    }

    #[test]
    fn wildcards() {
        let b = parse(
            "*:5432:app:u:pw\nh:5432:*:u:pw\nh:5432:app:*:pw\n*:*:*:*:pw\nh:*:app:u:pw\n\\*:5432:lit:u:pw\n",
        );
        let r = reasons(&b);
        assert!(r[0].starts_with("line 1: the host is a wildcard"), "{r:?}");
        assert!(
            r[1].starts_with("line 2: the database is a wildcard"),
            "{r:?}"
        );
        assert!(r[2].starts_with("line 3: the user is a wildcard"), "{r:?}");
        assert!(
            r[3].starts_with("line 4: the host, database and user are wildcards"),
            "{r:?}"
        );
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].environment.port, 5432);
        assert!(b.entries[0].notes[0].contains("port *"));
        // An escaped star is a host literally named "*".
        assert_eq!(b.entries[1].environment.host, "*");
    }

    #[test]
    fn comments_blank_lines_crlf_and_short_lines() {
        let b = parse("# comment\r\n\r\n\nh:5432:app:u:pw\r\nh:5432:x\n");
        assert_eq!(b.entries.len(), 1);
        assert_eq!(b.entries[0].origin, "line 4");
        assert_eq!(b.entries[0].password.expose_secret(), "pw");
        let r = reasons(&b);
        assert_eq!(r.len(), 1);
        assert!(r[0].starts_with("line 5: it has 3 fields"), "{r:?}");
    }

    #[test]
    fn bad_ports_and_empty_passwords() {
        let b = parse("h:0:a:u:pw\nh:70000:b:u:pw\nh:abc:c:u:pw\nh:5432:d:u:\n");
        let r = reasons(&b);
        assert_eq!(b.entries.len(), 0);
        assert!(r[0].contains("invalid port '0'"), "{r:?}");
        assert!(r[1].contains("invalid port '70000'"), "{r:?}");
        assert!(r[2].contains("invalid port 'abc'"), "{r:?}");
        assert!(r[3].contains("no password"), "{r:?}");
    }

    #[test]
    fn first_match_wins_and_names_stay_unique() {
        let b = parse(
            "h:5432:app:u:first\nh:5432:app:u:second\nh:5432:app:admin:pw\nother:5432:app:u:pw\nother:6432:app:u:pw\n",
        );
        let names: Vec<&str> = b
            .entries
            .iter()
            .map(|e| e.environment.name.as_str())
            .collect();
        assert_eq!(names, ["app", "app-admin", "app-u", "other-app-u"]);
        assert_eq!(b.entries[0].password.expose_secret(), "first");
        assert!(reasons(&b)[0].contains("line 1 has the same server"));
    }

    #[test]
    fn odd_fields_still_make_a_valid_name() {
        // Nothing but the port survives name derivation.
        let b = parse("...:5432:...:...:pw\n");
        assert_eq!(b.entries[0].environment.name.as_str(), "5432");
    }

    #[test]
    fn debug_hides_passwords() {
        let b = parse("h:5432:app:u:hunter2-secret\n");
        assert!(!format!("{b:?}").contains("hunter2"));
    }

    #[test]
    fn example_module() {
        use crate::import::pgpass;
        let batch = pgpass::parse(r"db\:1:5432:app:web:pa\:ss\\word");
        let e = &batch.entries[0];
        assert_eq!(e.environment.host, "db:1");
        assert_eq!(e.environment.username, "web");
    }

    #[test]
    fn example_split_line() {
        use crate::import::pgpass::split_line;
        let f = split_line(r"h:*:d\\x:u:p\:w:ignored").unwrap();
        assert_eq!(*f[1], "*");
        assert_eq!(*f[2], r"d\x");
        assert_eq!(*f[4], "p:w");
        assert!(split_line("h:5432:d:u").is_none());
    }

    #[test]
    fn example_parse() {
        use crate::import::pgpass;
        let text = "# work\nlocalhost:5432:app:app:pw1\nlocalhost:5432:app:app:pw2\n";
        let batch = pgpass::parse(text);
        assert_eq!(batch.entries.len(), 1);
        assert!(batch.skipped[0].reason.contains("first match"));
    }
}

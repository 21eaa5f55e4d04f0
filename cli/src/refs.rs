//! References to a value of an environment, `dbcreds://ENV/FIELD`, as
//! `dbcreds run` finds them in variables and `dbcreds inject` in templates,
//! and their resolution: one `Get` (or, when no password is needed, one
//! `Describe`) per environment, however many references name it, and every
//! reference checked before anything is handed out.
//!
//! FIELD is what `dbcreds get` prints (`password`, `user`, `host`, `port`,
//! `database`, `uri`, `jdbc`, `libpq`, `kind`, with `get`'s aliases) or
//! `option/KEY`; without it (`dbcreds://prod`) the password, as `get prod`.

use std::collections::BTreeMap;
use std::fmt;

use clap::ValueEnum;
use dbcreds::{Credential, EnvName, Environment};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::args::Field;
use crate::exit::{self, Failure};

/// The scheme every reference starts with.
pub const SCHEME: &str = "dbcreds://";

/// What a reference asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefField {
    /// A field as `dbcreds get` prints it.
    Get(Field),
    /// The value of a driver option.
    Option(String),
}

/// One `dbcreds://ENV/FIELD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The environment.
    pub env: EnvName,
    /// The field.
    pub field: RefField,
}

impl Reference {
    /// Whether resolving it needs the password (a `Get`, audited).
    pub fn reveals_password(&self) -> bool {
        matches!(self.field, RefField::Get(f) if f.reveals_password())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            RefField::Get(field) => write!(f, "{SCHEME}{}/{}", self.env, field.name()),
            RefField::Option(key) => write!(f, "{SCHEME}{}/option/{key}", self.env),
        }
    }
}

/// The field names a reference takes, for error messages.
fn field_names() -> String {
    let mut names: Vec<String> = Field::value_variants().iter().map(|f| f.name()).collect();
    names.push("option/KEY".into());
    names.join(", ")
}

/// Parses `raw` when it is a reference: `Ok(None)` when it does not start
/// with `dbcreds://`, an error (exit code 2) when it does but is not a
/// valid one.
///
/// ```ignore
/// let r = parse("dbcreds://prod/user").unwrap().unwrap();
/// ```
pub fn parse(raw: &str) -> Result<Option<Reference>, Failure> {
    let Some(rest) = raw.strip_prefix(SCHEME) else {
        return Ok(None);
    };
    let bad = |why: String| Failure::usage(format!("bad reference '{raw}': {why}"));
    let (env, field) = rest.split_once('/').unwrap_or((rest, ""));
    let env = EnvName::parse(env).map_err(|e| bad(e.to_string()))?;
    let field = match field {
        "" => RefField::Get(Field::Password),
        f => match f.split_once('/') {
            Some(("option" | "options" | "opt", key)) if valid_option_key(key) => {
                RefField::Option(key.to_owned())
            }
            Some(("option" | "options" | "opt", key)) => {
                return Err(bad(format!(
                    "'{key}' is not an option key (1-64 of A-Z a-z 0-9 _ . -)"
                )));
            }
            _ => RefField::Get(Field::from_str(f, true).map_err(|_| {
                bad(format!(
                    "no field '{f}'; a reference names one of {}",
                    field_names()
                ))
            })?),
        },
    };
    Ok(Some(Reference { env, field }))
}

fn valid_option_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Where a reference was found, for messages: `DB_PASSWORD`, `app.yml:3`.
pub type Origin = String;

/// The references found in one input, with where each was found.
#[derive(Default)]
pub struct Wanted {
    refs: Vec<(Reference, Origin)>,
}

impl Wanted {
    /// Adds one reference.
    pub fn push(&mut self, r: Reference, origin: Origin) {
        self.refs.push((r, origin));
    }

    /// True when nothing was referenced.
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// How many references there are.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    /// The environments referenced, each once, sorted.
    pub fn environments(&self) -> Vec<EnvName> {
        let mut names: Vec<EnvName> = self.refs.iter().map(|(r, _)| r.env.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Fetches every environment referenced: a `Get` for those with a
    /// reference that needs the password, a `Describe` for the others (or
    /// for all, with `reveal` false: nothing secret is fetched), and checks
    /// that every reference resolves. The first failure names the
    /// reference and where it was found.
    pub async fn fetch(&self, reveal: bool, require_fresh: bool) -> Result<Resolved, Failure> {
        let mut envs = BTreeMap::new();
        for name in self.environments() {
            let (needs, origin) = self
                .refs
                .iter()
                .filter(|(r, _)| r.env == name)
                .fold((false, None), |(needs, origin), (r, o)| {
                    (needs || r.reveals_password(), origin.or(Some(o)))
                });
            let origin = origin.cloned().unwrap_or_default();
            let fetched = if needs && reveal {
                crate::commands::credential(&name, dbcreds::Purpose::Export)
                    .await
                    .map(|c| Fetched::Revealed(Box::new(c)))
            } else {
                crate::commands::describe(&name)
                    .await
                    .map(|(e, _)| Fetched::Described(Box::new(e)))
            };
            let fetched = fetched.map_err(|f| within(&origin, f))?;
            crate::commands::check_expiry(fetched.environment(), require_fresh && needs)
                .map_err(|f| within(&origin, f))?;
            envs.insert(name, fetched);
        }
        let resolved = Resolved { envs };
        for (r, origin) in &self.refs {
            resolved.check(r).map_err(|f| within(origin, f))?;
        }
        Ok(resolved)
    }
}

/// `f` with where the reference was found in front.
fn within(origin: &str, f: Failure) -> Failure {
    if origin.is_empty() {
        return f;
    }
    Failure::new(f.code, format!("{origin}: {}", f.message))
}

/// One environment as fetched for its references.
enum Fetched {
    Revealed(Box<Credential>),
    Described(Box<Environment>),
}

impl Fetched {
    fn environment(&self) -> &Environment {
        match self {
            Self::Revealed(c) => c.environment(),
            Self::Described(e) => e,
        }
    }
}

/// The referenced environments, fetched.
pub struct Resolved {
    envs: BTreeMap<EnvName, Fetched>,
}

impl Resolved {
    /// The environment a reference names, fetched.
    fn fetched(&self, r: &Reference) -> Result<&Fetched, Failure> {
        self.envs
            .get(&r.env)
            .ok_or_else(|| Failure::other(format!("{r} was not fetched")))
    }

    /// Fails when `r` cannot be resolved: an option the environment does
    /// not set, a password of an environment without one.
    fn check(&self, r: &Reference) -> Result<(), Failure> {
        let env = self.fetched(r)?.environment();
        match &r.field {
            RefField::Option(key) if !env.options.contains_key(key) => Err(Failure::new(
                exit::NOT_FOUND,
                format!(
                    "{r}: '{}' has no option '{key}' (it has: {})",
                    env.name,
                    if env.options.is_empty() {
                        "none".to_owned()
                    } else {
                        env.options.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ),
            )),
            RefField::Get(Field::Password) if !env.auth.uses_password() => Err(Failure::new(
                exit::NO_PASSWORD,
                format!(
                    "{r}: '{}' {} and has no password; reference its uri instead",
                    env.name,
                    env.auth.describe()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The value of `r` (checked by [`Wanted::fetch`]).
    pub fn value(&self, r: &Reference) -> Result<Zeroizing<String>, Failure> {
        self.check(r)?;
        let fetched = self.fetched(r)?;
        let env = fetched.environment();
        match (&r.field, fetched) {
            (RefField::Option(key), _) => Ok(Zeroizing::new(
                env.options.get(key).cloned().unwrap_or_default(),
            )),
            (RefField::Get(field), Fetched::Revealed(c)) => Ok(crate::commands::get_value(
                env,
                c.password().expose_secret(),
                *field,
            )),
            (RefField::Get(field), Fetched::Described(_)) if !field.reveals_password() => {
                Ok(crate::commands::get_value(env, "", *field))
            }
            (RefField::Get(_), Fetched::Described(_)) => {
                Err(Failure::other(format!("{r}: the password was not fetched")))
            }
        }
    }

    /// The passwords fetched, for masking output.
    pub fn passwords(&self) -> Vec<Zeroizing<String>> {
        self.envs
            .values()
            .filter_map(|f| match f {
                Fetched::Revealed(c) if c.environment().auth.uses_password() => {
                    Some(Zeroizing::new(c.password().expose_secret().to_owned()))
                }
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> Reference {
        parse(raw).unwrap().unwrap()
    }

    #[test]
    fn parses_fields_aliases_and_options() {
        assert_eq!(parse("postgres://x").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
        let r = ok("dbcreds://Prod/password");
        assert_eq!(r.env.as_str(), "prod");
        assert_eq!(r.field, RefField::Get(Field::Password));
        assert_eq!(ok("dbcreds://prod").field, RefField::Get(Field::Password));
        assert_eq!(
            ok("dbcreds://prod/username").field,
            RefField::Get(Field::User)
        );
        assert_eq!(ok("dbcreds://prod/URL").field, RefField::Get(Field::Uri));
        assert_eq!(
            ok("dbcreds://prod/option/sslmode").field,
            RefField::Option("sslmode".into())
        );
        assert!(ok("dbcreds://prod/jdbc").reveals_password());
        assert!(!ok("dbcreds://prod/host").reveals_password());
        assert_eq!(ok("dbcreds://prod/user").to_string(), "dbcreds://prod/user");
        assert_eq!(
            ok("dbcreds://prod/opt/ssl-ca").to_string(),
            "dbcreds://prod/option/ssl-ca"
        );
    }

    #[test]
    fn bad_references_name_the_problem() {
        let f = parse("dbcreds://prod/pasword").unwrap_err();
        assert_eq!(f.code, exit::USAGE);
        assert!(f.message.contains("no field 'pasword'"), "{}", f.message);
        assert!(f.message.contains("option/KEY"), "{}", f.message);
        let f = parse("dbcreds://Prod DB!/user").unwrap_err();
        assert!(
            f.message.contains("'dbcreds://Prod DB!/user'"),
            "{}",
            f.message
        );
        let f = parse("dbcreds://prod/option/a b").unwrap_err();
        assert!(
            f.message.contains("'a b' is not an option key"),
            "{}",
            f.message
        );
        assert!(parse("dbcreds:///user").is_err());
    }
}

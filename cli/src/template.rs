//! Templates for `dbcreds inject`: `{{ dbcreds://ENV/FIELD }}` anywhere in
//! a text file, optionally `{{ dbcreds://ENV/FIELD | json }}` to quote the
//! value for the format around it. Any other `{{ ... }}` (Helm, Jinja) is
//! left as it is.

use zeroize::Zeroizing;

use crate::exit::Failure;
use crate::refs::{self, Reference};

/// How a value is written into the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// As it is.
    Raw,
    /// A JSON string, quotes included (also a YAML double-quoted scalar).
    Json,
    /// A POSIX shell word in single quotes.
    Shell,
    /// A `.env` double-quoted value.
    Dotenv,
}

impl Filter {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "json" | "yaml" => Self::Json,
            "shell" | "sh" => Self::Shell,
            "dotenv" | "env" => Self::Dotenv,
            "raw" => Self::Raw,
            _ => return None,
        })
    }

    fn apply(self, v: &str) -> Zeroizing<String> {
        Zeroizing::new(match self {
            Self::Raw => v.to_owned(),
            Self::Json => serde_json::Value::from(v).to_string(),
            Self::Shell => dbcreds::render::shell_quote(v),
            Self::Dotenv => dbcreds::render::dotenv_quote(v),
        })
    }
}

/// One `{{ dbcreds://... }}` in a template: its byte range, what it names,
/// how it is written, and its line.
#[derive(Debug)]
pub struct Slot {
    pub start: usize,
    pub end: usize,
    pub reference: Reference,
    pub filter: Filter,
    pub line: usize,
}

/// Finds every slot in `text`; `name` (the template's) goes in errors.
pub fn scan(text: &str, name: &str) -> Result<Vec<Slot>, Failure> {
    let mut slots = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("{{") {
        let start = from + i;
        let inner_start = start + 2;
        let after = text[inner_start..].trim_start();
        if !after.starts_with(refs::SCHEME) {
            from = inner_start;
            continue;
        }
        let line = text[..start].matches('\n').count() + 1;
        let at = |why: String| Failure::usage(format!("{name}:{line}: {why}"));
        let Some(close) = text[inner_start..].find("}}") else {
            return Err(at("a {{ dbcreds://... without its closing }}".into()));
        };
        let inner = &text[inner_start..inner_start + close];
        if inner.contains('\n') {
            return Err(at("a {{ dbcreds://... }} must be on one line".into()));
        }
        let (raw_ref, filter) = match inner.split_once('|') {
            Some((r, f)) => {
                let f = f.trim();
                let filter = Filter::parse(f).ok_or_else(|| {
                    at(format!(
                        "'{f}' is not a filter: use json (or yaml), shell or dotenv"
                    ))
                })?;
                (r.trim(), filter)
            }
            None => (inner.trim(), Filter::Raw),
        };
        let reference = refs::parse(raw_ref)
            .map_err(|f| at(f.message))?
            .ok_or_else(|| at(format!("'{raw_ref}' is not a reference")))?;
        let end = inner_start + close + 2;
        slots.push(Slot {
            start,
            end,
            reference,
            filter,
            line,
        });
        from = end;
    }
    Ok(slots)
}

/// `text` with every slot replaced by `value(reference)`, written through
/// its filter.
pub fn render(
    text: &str,
    slots: &[Slot],
    mut value: impl FnMut(&Reference) -> Result<Zeroizing<String>, Failure>,
) -> Result<Zeroizing<String>, Failure> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut at = 0;
    for s in slots {
        out.push_str(&text[at..s.start]);
        out.push_str(&s.filter.apply(&value(&s.reference)?));
        at = s.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::RefField;

    #[test]
    fn finds_references_and_leaves_other_braces() {
        let text = "a: {{ dbcreds://prod/user }}\nb: {{dbcreds://prod|json}} {{ .Values.x }}\nc: {{ not }}";
        let slots = scan(text, "t").unwrap();
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[0].line, 1);
        assert_eq!(slots[1].line, 2);
        assert_eq!(slots[1].filter, Filter::Json);
        assert!(matches!(slots[1].reference.field, RefField::Get(_)));
        let out = render(text, &slots, |r| {
            Ok(Zeroizing::new(if r.reveals_password() {
                "p\"w".to_owned()
            } else {
                "app".to_owned()
            }))
        })
        .unwrap();
        assert_eq!(*out, "a: app\nb: \"p\\\"w\" {{ .Values.x }}\nc: {{ not }}");
    }

    #[test]
    fn errors_name_the_line() {
        let f = scan("x\n{{ dbcreds://prod/pw }}", "app.yml").unwrap_err();
        assert!(f.message.starts_with("app.yml:2: "), "{}", f.message);
        assert!(f.message.contains("no field 'pw'"), "{}", f.message);
        let f = scan("{{ dbcreds://prod", "t").unwrap_err();
        assert!(f.message.contains("closing }}"), "{}", f.message);
        let f = scan("{{ dbcreds://prod | base64 }}", "t").unwrap_err();
        assert!(
            f.message.contains("'base64' is not a filter"),
            "{}",
            f.message
        );
        let out = Filter::Shell.apply("it's");
        assert_eq!(*out, r"'it'\''s'");
    }
}

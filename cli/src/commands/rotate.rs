//! `dbcreds rotate NAME`: the agent sets a new generated password on the
//! server and in the vault (crash-safe; see the agent's `dbops::rotate`).
//! The new password is never printed here: `dbcreds get NAME` prints it.

use dbcreds::RotateOptions;
use serde::Serialize;

use crate::args::RotateArgs;
use crate::exit::Failure;
use crate::output;
use crate::spinner::with_spinner;

#[derive(Serialize)]
struct RotateJson<'a> {
    name: &'a str,
    outcome: &'a str,
    detail: &'a str,
    password_updated_at: Option<String>,
    accounts: &'a [String],
    notes: &'a [String],
}

pub async fn run(a: RotateArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let opts = RotateOptions {
        length: a.length,
        alphabet: a.alphabet,
        admin: a.admin,
        resume: a.resume,
        hosts: a.hosts,
    };
    let label = if a.resume {
        format!("resuming the rotation of '{}'...", a.name)
    } else {
        format!("rotating the password of '{}'...", a.name)
    };
    let r = match with_spinner(&label, client.rotate(&a.name, &opts)).await {
        Ok(r) => r,
        // The connection broke mid-rotation (the agent died): the vault
        // holds both passwords; say how to settle it.
        Err(
            e @ (dbcreds::Error::AgentConnectionLost { .. }
            | dbcreds::Error::AgentUnresponsive { .. }),
        ) => return Err(resume_hint(Failure::from(e), &a.name)),
        Err(e) if e.reason() == Some(dbcreds::Reason::Internal) => {
            return Err(resume_hint(Failure::from(e), &a.name));
        }
        Err(e) => return Err(e.into()),
    };
    if a.json {
        return output::json(&RotateJson {
            name: a.name.as_str(),
            outcome: &r.outcome,
            detail: &r.detail,
            password_updated_at: r.environment.password_updated_at.map(output::rfc3339),
            accounts: &r.accounts,
            notes: &r.notes,
        });
    }
    for n in &r.notes {
        output::note(&format!("dbcreds: note: {n}"));
    }
    output::stdout_line(&r.detail)
}

fn resume_hint(mut f: Failure, name: &dbcreds::EnvName) -> Failure {
    f.message.push_str(&format!(
        "; if the agent stopped during the rotation nothing is lost: run `dbcreds rotate --resume {name}`"
    ));
    f
}

//! `dbcreds remove NAME`: with confirmation on a terminal unless `--force`.

use crate::args::RemoveArgs;
use crate::exit::Failure;
use crate::{output, prompt};

pub async fn run(a: RemoveArgs) -> Result<(), Failure> {
    let ask = !a.force;
    if ask && !prompt::interactive() {
        return Err(Failure::usage(format!(
            "refusing to remove '{}' without confirmation and there is no terminal to ask on: pass --force",
            a.name
        )));
    }
    let mut client = super::connect().await?;
    if ask {
        // Describe first: a missing name fails before the question, and the
        // question says what would go.
        let env = client.describe(&a.name).await?;
        let question = format!(
            "Remove {}{} ({}) and its password?",
            if env.production {
                "the production environment "
            } else {
                ""
            },
            env.name,
            dbcreds::render::uri(&env, None)
        );
        if !prompt::confirm(&question)? {
            output::note("Nothing removed.");
            return Ok(());
        }
    }
    client.remove(&a.name).await?;
    output::note(&format!("Removed {}.", a.name));
    Ok(())
}

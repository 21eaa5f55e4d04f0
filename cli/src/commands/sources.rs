//! `dbcreds source add|list|show|remove|login` and `dbcreds refresh`.

use dbcreds::SourceInfo;
use secrecy::SecretString;

use crate::args::{
    LoginMethod, RefreshArgs, SourceAddArgs, SourceCommand, SourceKindArg, SourceListArgs,
    SourceLoginArgs, SourceNameArgs,
};
use crate::exit::Failure;
use crate::output::{self, Paint};
use crate::prompt;

pub async fn run(c: SourceCommand) -> Result<(), Failure> {
    match c {
        SourceCommand::Add(a) => add(*a).await,
        SourceCommand::List(a) => list(a).await,
        SourceCommand::Show(a) => show(a).await,
        SourceCommand::Remove(a) => remove(a).await,
        SourceCommand::Login(a) => login(a).await,
    }
}

async fn add(a: SourceAddArgs) -> Result<(), Failure> {
    let info = info_from(&a)?;
    let login = if a.kind == SourceKindArg::Aws {
        if a.login_stdin {
            return Err(Failure::usage(
                "an aws source stores no login: it uses the AWS credential chain; drop --login-stdin",
            ));
        }
        None
    } else {
        Some(login_secret(a.login_stdin, &login_label(a.auth))?)
    };
    let mut client = super::connect().await?;
    let saved = client.put_source(info, login.as_ref(), a.force).await?;
    drop(login);
    output::note(&format!(
        "{} source {} ({}). Use it with `dbcreds add ENV --source {} --kv PATH` (or --dynamic, --static, --secret, --auth rds-iam).",
        if a.force { "Saved" } else { "Added" },
        saved.name,
        summary(&saved),
        saved.name
    ));
    Ok(())
}

fn login_label(m: Option<LoginMethod>) -> String {
    match m {
        Some(LoginMethod::Approle) => "AppRole secret-id: ".into(),
        Some(LoginMethod::Userpass) => "Password: ".into(),
        _ => "Token: ".into(),
    }
}

/// The login secret: piped in, or asked on the terminal.
fn login_secret(stdin: bool, label: &str) -> Result<SecretString, Failure> {
    if stdin {
        return prompt::secret_from_stdin_all();
    }
    if !prompt::interactive() {
        return Err(Failure::usage(
            "no login secret given: pipe it in with --login-stdin, or run on a terminal to be prompted",
        ));
    }
    prompt::secret(label)
}

fn info_from(a: &SourceAddArgs) -> Result<SourceInfo, Failure> {
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    let vaultish = a.kind != SourceKindArg::Aws;
    if vaultish && a.address.is_none() {
        return Err(Failure::usage(
            "an openbao/vault source needs --address URL (e.g. https://bao.internal:8200)",
        ));
    }
    if !vaultish && (a.address.is_some() || a.auth.is_some()) {
        return Err(Failure::usage(
            "an aws source takes --region, --profile and --endpoint, not --address or --auth",
        ));
    }
    let (auth, auth_name) = match a.auth {
        None | Some(LoginMethod::Token) => ("token", String::new()),
        Some(LoginMethod::Approle) => (
            "approle",
            a.role_id
                .clone()
                .ok_or_else(|| Failure::usage("--auth approle needs --role-id ID"))?,
        ),
        Some(LoginMethod::Userpass) => (
            "userpass",
            a.username
                .clone()
                .ok_or_else(|| Failure::usage("--auth userpass needs --username NAME"))?,
        ),
    };
    Ok(SourceInfo {
        name: a.name.to_string(),
        kind: match a.kind {
            SourceKindArg::Openbao => "openbao",
            SourceKindArg::Vault => "vault",
            SourceKindArg::Aws => "aws",
        }
        .into(),
        address: text(&a.address),
        namespace: text(&a.namespace),
        ca_cert: a
            .ca_cert
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        auth: if vaultish { auth.into() } else { String::new() },
        auth_name,
        mount: text(&a.mount),
        region: text(&a.region),
        profile: text(&a.profile),
        endpoint: text(&a.endpoint),
        timeout_secs: a
            .timeout
            .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        ..Default::default()
    })
}

/// "openbao https://bao:8200, approle" / "aws eu-west-1, profile prod".
fn summary(s: &SourceInfo) -> String {
    if s.kind == "aws" {
        let mut parts = vec![format!(
            "aws {}",
            if s.region.is_empty() {
                "(default region)"
            } else {
                &s.region
            }
        )];
        if !s.profile.is_empty() {
            parts.push(format!("profile {}", s.profile));
        }
        if !s.endpoint.is_empty() {
            parts.push(format!("endpoint {}", s.endpoint));
        }
        return parts.join(", ");
    }
    let mut out = format!("{} {}, {} login", s.kind, s.address, s.auth);
    if !s.namespace.is_empty() {
        out.push_str(&format!(", namespace {}", s.namespace));
    }
    out
}

fn health_words(s: &SourceInfo) -> (String, Paint) {
    match &s.health {
        None => (String::new(), Paint::Plain),
        Some(h) if h.reachable => (
            if h.detail.is_empty() {
                "ok".into()
            } else {
                h.detail.clone()
            },
            Paint::Green,
        ),
        Some(h) => (h.detail.clone(), Paint::Red),
    }
}

fn json_of(s: &SourceInfo) -> serde_json::Value {
    serde_json::json!({
        "name": s.name,
        "kind": s.kind,
        "address": s.address,
        "namespace": s.namespace,
        "auth": s.auth,
        "region": s.region,
        "profile": s.profile,
        "endpoint": s.endpoint,
        "has_login": s.has_login,
        "environments": s.environments,
        "health": s.health.as_ref().map(|h| serde_json::json!({
            "reachable": h.reachable,
            "detail": h.detail,
            "token_expires_at": h.token_expires_at,
        })),
    })
}

async fn list(a: SourceListArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let sources = client.sources(a.check).await?;
    if a.json {
        return output::json(&sources.iter().map(json_of).collect::<Vec<_>>());
    }
    if sources.is_empty() {
        output::note(
            "No sources. Add one with `dbcreds source add NAME --kind openbao|vault|aws ...`.",
        );
        return Ok(());
    }
    let rows: Vec<Vec<output::Cell>> = sources
        .iter()
        .map(|s| {
            vec![
                (s.name.clone(), Paint::Bold),
                (summary(s), Paint::Plain),
                (s.environments.join(" "), Paint::Plain),
                health_words(s),
            ]
        })
        .collect();
    let header = if a.check {
        vec!["NAME", "WHAT", "ENVIRONMENTS", "CHECK"]
    } else {
        vec!["NAME", "WHAT", "ENVIRONMENTS", ""]
    };
    output::stdout(&output::table(&header, &rows, output::color_stdout()))
}

async fn show(a: SourceNameArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let sources = client.sources(true).await?;
    let s = sources
        .iter()
        .find(|s| s.name == a.name.as_str())
        .ok_or_else(|| {
            Failure::new(
                crate::exit::NOT_FOUND,
                format!("no source '{}': see `dbcreds source list`", a.name),
            )
        })?;
    if a.json {
        return output::json(&json_of(s));
    }
    let (check, _) = health_words(s);
    let mut text = format!("name          {}\nwhat          {}\n", s.name, summary(s));
    if s.kind != "aws" {
        text.push_str(&format!(
            "login         {} ({})\n",
            s.auth,
            if s.has_login {
                "sealed in the vault"
            } else {
                "none stored"
            }
        ));
    }
    text.push_str(&format!(
        "environments  {}\ncheck         {check}\n",
        s.environments.join(" ")
    ));
    output::stdout(&text)
}

async fn remove(a: SourceNameArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    client.remove_source(a.name.as_str()).await?;
    output::note(&format!("Removed source {}.", a.name));
    Ok(())
}

async fn login(a: SourceLoginArgs) -> Result<(), Failure> {
    let secret = login_secret(a.login_stdin, "Login secret: ")?;
    let mut client = super::connect().await?;
    let s = client.login_source(a.name.as_str(), &secret).await?;
    drop(secret);
    let (check, _) = health_words(&s);
    output::note(&format!(
        "Stored a new login for source {} ({check}).",
        s.name
    ));
    Ok(())
}

pub async fn refresh(a: RefreshArgs) -> Result<(), Failure> {
    let mut client = super::connect().await?;
    let env = client.refresh(&a.name).await?;
    let what = env
        .cached
        .as_ref()
        .map(|c| {
            let mut w = String::new();
            if !c.version.is_empty() {
                w.push_str(&format!(" (version {})", c.version));
            }
            if !c.lease.is_empty() {
                w.push_str(&format!(" (lease …{})", c.lease));
            }
            w
        })
        .unwrap_or_default();
    output::note(&format!(
        "Fetched {} from its source again{what}.",
        env.name
    ));
    Ok(())
}

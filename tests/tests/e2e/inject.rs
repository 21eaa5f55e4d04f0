//! `dbcreds inject`: a YAML file and a Rails-style `database.yml` written
//! from templates, read by an application that logs in to the real
//! PostgreSQL with what it was given; the output file's mode (0600, never
//! loosened); `--check` (Describe only: works locked, reveals nothing).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use dbcreds_tests::{PgTestRole, Sandbox, exit, has_event, python_or_skip, run, support};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

const DATABASE_YML: &str = "\
default: &default
  adapter: postgresql
  pool: 5

production:
  <<: *default
  host: {{ dbcreds://prod/host }}
  port: {{ dbcreds://prod/port }}
  database: {{ dbcreds://prod/database }}
  username: {{ dbcreds://prod/user }}
  password: {{ dbcreds://prod/password | yaml }}
";

const APP_YML: &str = "\
# {{ .Values.untouched }} stays as it is
service:
  url: {{dbcreds://prod/uri|json}}
";

/// Runs the YAML application on `file`, reading `key`.
fn app(sb: &Sandbox, file: &Path, key: &str) -> dbcreds_tests::Output {
    let mut cmd = sb.command("python3");
    cmd.arg(support("yaml_app.py")).arg(file).arg(key);
    run(cmd, None)
}

#[test]
fn inject_writes_yaml_an_application_logs_in_with() {
    let test = "inject_writes_yaml_an_application_logs_in_with";
    if !python_or_skip(test, &["yaml"]) {
        return;
    }
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(test, "inject", &["prod"]));
    let home = sb.user_home();
    fs::write(home.join("database.yml.tpl"), DATABASE_YML).unwrap();
    fs::create_dir(home.join("config")).unwrap();
    let out_file = home.join("config/database.yml");
    sb.cli(&[
        "inject",
        "-i",
        "database.yml.tpl",
        "-o",
        "config/database.yml",
    ])
    .ok();
    assert_eq!(mode(&out_file), 0o600, "written 0600");
    let text = fs::read_to_string(&out_file).unwrap();
    assert!(text.contains(&format!("username: {}", role.name)), "{text}");
    let out = app(&sb, &out_file, "production");
    out.ok();
    assert_eq!(
        out.line(),
        role.name,
        "the app logged in as the role:\n{out}"
    );

    // From stdin to stdout, the URI quoted as a JSON (and YAML) string.
    let out = sb.cli_stdin(&["inject"], APP_YML);
    out.ok();
    assert!(
        out.stdout.starts_with("# {{ .Values.untouched }} stays"),
        "{out}"
    );
    fs::write(home.join("app.yml"), &out.stdout).unwrap();
    let login = app(&sb, &home.join("app.yml"), "service");
    login.ok();
    assert_eq!(login.line(), role.name, "{login}");

    // A rotated password reaches the file on the next inject.
    sb.cli(&["rotate", "prod"]).ok();
    sb.cli(&[
        "inject",
        "-i",
        "database.yml.tpl",
        "-o",
        "config/database.yml",
    ])
    .ok();
    app(&sb, &out_file, "production").ok();
    assert!(
        !role.logs_in_with(&role.password),
        "the old password is gone"
    );
}

#[test]
fn inject_never_loosens_the_output_file() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let home = sb.user_home();
    fs::write(home.join("t"), "pw={{ dbcreds://prod/password }}\n").unwrap();
    let out_file = home.join("out");
    let inject = |extra: &[&str]| {
        let mut args = vec!["inject", "-i", "t", "-o", "out"];
        args.extend_from_slice(extra);
        sb.cli(&args)
    };

    fs::write(&out_file, "old\n").unwrap();
    fs::set_permissions(&out_file, fs::Permissions::from_mode(0o644)).unwrap();
    inject(&[]).fails(exit::ALREADY_EXISTS, &["mode 0644", "--force", "chmod 600"]);
    assert_eq!(
        fs::read_to_string(&out_file).unwrap(),
        "old\n",
        "left as it was"
    );
    assert_eq!(mode(&out_file), 0o644);

    inject(&["--force"]).ok();
    assert_eq!(mode(&out_file), 0o600, "replaced by a 0600 file");
    assert_eq!(
        fs::read_to_string(&out_file).unwrap(),
        format!("pw={password}\n")
    );

    fs::set_permissions(&out_file, fs::Permissions::from_mode(0o400)).unwrap();
    inject(&[]).ok();
    assert_eq!(mode(&out_file), 0o400, "a stricter mode is kept");
    // Nothing but the template and the output in the directory.
    let mut names: Vec<String> = fs::read_dir(home)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(".out") || n == "out" || n == "t")
        .collect();
    names.sort();
    assert_eq!(names, ["out", "t"], "no temporary file left behind");
}

#[test]
fn inject_check_validates_without_revealing() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let home = sb.user_home();
    fs::write(
        home.join("good"),
        "{{ dbcreds://prod/password }} {{ dbcreds://prod/uri }} {{ dbcreds://prod/option/sslmode }}\n",
    )
    .unwrap();
    sb.cli(&["update", "prod", "--option", "sslmode=require"])
        .ok();
    sb.cli(&["lock"]).ok();
    let out = sb.cli(&["inject", "--check", "-i", "good"]);
    out.ok();
    assert_eq!(out.stdout, "ok: 3 references (prod)\n", "{out}");
    assert!(!out.all().contains(&password), "{out}");
    sb.unlock_passphrase(dbcreds_tests::PASSPHRASE);
    assert!(
        !has_event(&sb.audit_events("prod"), "export", "ok"),
        "--check fetched a password"
    );

    fs::write(home.join("bad"), "a\nb {{ dbcreds://nosuch/password }}\n").unwrap();
    sb.cli(&["inject", "--check", "-i", "bad"])
        .fails(exit::NOT_FOUND, &["bad:2", "nosuch"]);
    fs::write(home.join("badopt"), "{{ dbcreds://prod/option/sslcert }}\n").unwrap();
    sb.cli(&["inject", "--check", "-i", "badopt"]).fails(
        exit::NOT_FOUND,
        &["badopt:1", "no option 'sslcert'", "sslmode"],
    );
    fs::write(home.join("badfield"), "\n\n{{ dbcreds://prod/secret }}\n").unwrap();
    sb.cli(&["inject", "-i", "badfield", "-o", "x"])
        .fails(exit::USAGE, &["badfield:3", "no field 'secret'"]);
    assert!(
        !home.join("x").exists(),
        "nothing written on a bad template"
    );
    sb.cli(&["inject", "-i", "nosuchfile"])
        .fails(exit::USAGE, &["nosuchfile"]);
}

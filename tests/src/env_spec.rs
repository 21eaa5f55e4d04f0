//! [`EnvSpec`]: an environment for `dbcreds add`, built field by field.

/// An environment to add with [`crate::Sandbox::add`]: its name, the
/// password given on stdin (`--password-stdin`), and the flags of
/// `dbcreds add` that are set (a field set twice keeps the last value;
/// `--option` accumulates).
///
/// ```no_run
/// # use dbcreds_tests::{EnvSpec, Sandbox};
/// # let sb = Sandbox::new();
/// sb.add(&EnvSpec::postgres("prod", "db.internal").password("s3cret").option("sslmode=require")).ok();
/// ```
#[derive(Debug, Clone)]
pub struct EnvSpec {
    name: String,
    password: String,
    fields: Vec<(&'static str, String)>,
    options: Vec<String>,
    switches: Vec<&'static str>,
    no_password: bool,
}

impl EnvSpec {
    /// Only a name (and the password `pw`): `add` fills in the rest with
    /// its defaults.
    pub fn new(name: &str) -> Self {
        EnvSpec {
            name: name.to_owned(),
            password: "pw".to_owned(),
            fields: Vec::new(),
            options: Vec::new(),
            switches: Vec::new(),
            no_password: false,
        }
    }

    /// PostgreSQL on `host`, port 5432, database and user `app`.
    pub fn postgres(name: &str, host: &str) -> Self {
        Self::new(name)
            .kind("postgres")
            .host(host)
            .port(5432)
            .database("app")
            .user("app")
    }

    /// A SQLite file.
    pub fn sqlite(name: &str, file: &std::path::Path) -> Self {
        Self::new(name)
            .kind("sqlite")
            .database(file.to_str().expect("a UTF-8 path"))
    }

    /// A kind without a driver here (mssql, oracle, snowflake) on
    /// `db.example`, database `d`, user `u`.
    pub fn driverless(name: &str, kind: &str) -> Self {
        Self::new(name)
            .kind(kind)
            .host("db.example")
            .database("d")
            .user("u")
    }

    fn set(mut self, flag: &'static str, value: impl ToString) -> Self {
        let value = value.to_string();
        match self.fields.iter_mut().find(|(f, _)| *f == flag) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((flag, value)),
        }
        self
    }

    /// `--kind`.
    pub fn kind(self, kind: &str) -> Self {
        self.set("--kind", kind)
    }

    /// `--host`.
    pub fn host(self, host: &str) -> Self {
        self.set("--host", host)
    }

    /// `--port` (a number, or any text for the bad-input tests).
    pub fn port(self, port: impl ToString) -> Self {
        self.set("--port", port)
    }

    /// `--database` (may be empty).
    pub fn database(self, database: &str) -> Self {
        self.set("--database", database)
    }

    /// `--user`.
    pub fn user(self, user: &str) -> Self {
        self.set("--user", user)
    }

    /// `--production`: mark it as production.
    pub fn production(self) -> Self {
        self.switch("--production")
    }

    /// `--expires-days` (a number or `never`).
    pub fn expires_days(self, days: impl ToString) -> Self {
        self.set("--expires-days", days)
    }

    /// `--description`.
    pub fn description(self, text: &str) -> Self {
        self.set("--description", text)
    }

    /// One more `--option KEY=VALUE`.
    pub fn option(mut self, option: &str) -> Self {
        self.options.push(option.to_owned());
        self
    }

    /// `--option` for each of `options`.
    pub fn options(self, options: &[&str]) -> Self {
        options.iter().fold(self, |spec, o| spec.option(o))
    }

    /// `--force`: replace an environment of that name.
    pub fn force(self) -> Self {
        self.switch("--force")
    }

    fn switch(mut self, flag: &'static str) -> Self {
        if !self.switches.contains(&flag) {
            self.switches.push(flag);
        }
        self
    }

    /// `--auth MODE`; a mode other than `password` is added without
    /// `--password-stdin`.
    pub fn auth(mut self, mode: &str) -> Self {
        self.fields.push(("--auth", mode.to_owned()));
        self.no_password = mode != "password";
        self
    }

    /// The password given on stdin.
    pub fn password(mut self, password: &str) -> Self {
        self.password = password.to_owned();
        self
    }

    /// Its name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The password it is added with.
    pub fn secret(&self) -> &str {
        &self.password
    }

    /// The arguments of `dbcreds add`, `--password-stdin` last.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["add".to_owned(), self.name.clone()];
        for (flag, value) in &self.fields {
            args.extend([(*flag).to_owned(), value.clone()]);
        }
        for o in &self.options {
            args.extend(["--option".to_owned(), o.clone()]);
        }
        args.extend(self.switches.iter().map(|s| (*s).to_owned()));
        if !self.no_password {
            args.push("--password-stdin".to_owned());
        }
        args
    }
}

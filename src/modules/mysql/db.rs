//! `mysql_db`: databases present (created with the encoding and collation the task
//! gives), absent, dumped with `mariadb-dump`/`mysqldump` or imported with the client,
//! as community.mysql's module does: the same checks, commands and messages.

use async_trait::async_trait;
use serde_json::json;

use super::{ClientError, Login, MyConn, Session, first, ident, literal, mark, masked};
use crate::connection::{Command, quote};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::private_input;
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages MySQL and MariaDB databases.
pub struct MysqlDb;

arg_enum! {
    /// What should become of the databases.
    pub enum State {
        Absent = "absent",
        Dump = "dump",
        Import = "import",
        Present = "present",
    }
}

module_args! {
    /// `mysql_db`'s arguments.
    pub struct DbArgs {
        ..conn: MyConn,
        /// The databases (`all`, for a dump or import, is every one).
        name: Vec<String> => .required().aliases(&["db"]),
        /// What should become of them.
        state: State => .default_str("present"),
        /// Their collation, at creation.
        collation: String => .default_str(""),
        /// Their character set, at creation; the client's for a dump or import.
        encoding: String => .default_str(""),
        /// The dump file.
        target: Option<String>,
        /// Dump in one transaction.
        single_transaction: bool => .default_bool(false),
        /// Dump row by row.
        quick: bool => .default_bool(true),
        /// `db.table`s the dump leaves out.
        ignore_tables: Vec<String>,
        /// Dump binary columns in hexadecimal.
        hex_blob: bool => .default_bool(false),
        /// Go on after SQL errors.
        force: bool => .default_bool(false),
        /// 0, 1 or 2: the replication position in the dump.
        master_data: i64 => .default_int(0),
        /// Dump without locking tables.
        skip_lock_tables: bool => .default_bool(false),
        /// More options for the dump.
        dump_extra_args: Option<String>,
        /// Import a compressed file through a shell pipe.
        use_shell: bool => .default_bool(false),
        /// Put the password on the dump's command line unquoted.
        unsafe_login_password: bool => .default_bool(false).no_log(),
        /// Read only `config_file` for a dump or import.
        restrict_config_file: bool => .default_bool(false),
        /// Try root without a password first.
        check_implicit_admin: bool => .default_bool(false),
        /// The config file's host and port win over the defaults.
        config_overrides_defaults: bool => .default_bool(false),
        /// The directory a dump or import runs in.
        chdir: Option<String>,
        /// Fail a compressed dump when the dump itself fails.
        pipefail: bool => .default_bool(false),
        /// Write the changes to the binary log.
        sql_log_bin: bool => .default_bool(true),
    }
}

/// The tools a dump or import may run.
const TOOLS: &[&str] = &[
    "mariadb-dump",
    "mysqldump",
    "mariadb",
    "mysql",
    "gzip",
    "bzip2",
    "xz",
    "zstd",
];

/// What the query finds.
#[derive(Debug)]
pub struct Found {
    /// The server's version (`VERSION()`).
    version: String,
    /// Whether each database exists, in the task's order.
    exists: Vec<bool>,
    /// Whether the session logged in as root without a password.
    implicit_admin: bool,
    /// For a dump or import: where it runs and what is there.
    files: Option<Files>,
}

/// Where a dump or import runs.
#[derive(Debug, Default)]
pub struct Files {
    /// The user's home, for `~`.
    home: String,
    /// `$PATH`, for a missing tool's message.
    path: String,
    /// Whether the target exists.
    target_exists: bool,
    /// The config file (`~` expanded), when it exists.
    config: Option<String>,
    /// Each of [`TOOLS`] found.
    tools: Vec<(String, String)>,
}

/// The changes to make.
#[derive(Debug)]
pub struct Plan {
    /// Statements reported as `executed_commands` (an import's missing databases).
    statements: Vec<String>,
    /// A dump's or import's command line, and the command as reported.
    run: Option<(String, String)>,
    /// Whether to log in as root without a password (`check_implicit_admin` worked).
    implicit_admin: bool,
}

/// The databases as the module reads them: names trimmed.
fn names(args: &DbArgs) -> Vec<String> {
    args.name.iter().map(|n| n.trim().to_string()).collect()
}

/// The checks community.mysql makes before it connects.
fn precheck(args: &DbArgs) -> Result<(), String> {
    let db = names(args);
    if !(0..=2).contains(&args.master_data) {
        return Err(format!(
            "value of master_data must be one of: 0, 1, 2, got: {}",
            args.master_data
        ));
    }
    if !(0..=65535).contains(&args.conn.login_port) {
        return Err("login_port must be a valid unix port number (0-65535)".into());
    }
    if args.ignore_tables.iter().any(String::is_empty) {
        return Err("Name of ignored table cannot be empty".into());
    }
    if db.len() > 1 && args.state == State::Import {
        return Err("Multiple databases are not supported with state=import".into());
    }
    match args.state {
        State::Dump | State::Import if args.target.is_none() => Err(format!(
            "with state={} target is required",
            args.state.as_str()
        )),
        State::Absent | State::Present if db == ["all"] => {
            Err("name is not allowed to equal 'all' unless state equals import, or dump.".into())
        }
        _ => Ok(()),
    }
}

/// `CREATE DATABASE` as `db_create` writes it.
fn create(args: &DbArgs, db: &str) -> String {
    let mut query = vec![format!("CREATE DATABASE {}", ident(db))];
    if !args.encoding.is_empty() {
        query.push(format!("CHARACTER SET {}", literal(&args.encoding)));
    }
    if !args.collation.is_empty() {
        query.push(format!("COLLATE {}", literal(&args.collation)));
    }
    query.join(" ")
}

impl Files {
    /// Where `tool` is, or `get_bin_path`'s failure.
    fn tool(&self, tool: &str) -> Result<String, String> {
        self.tools
            .iter()
            .find(|(name, path)| name == tool && !path.is_empty())
            .map(|(_, path)| path.clone())
            .ok_or_else(|| {
                format!(
                    "Failed to find required executable \"{tool}\" in paths: {}",
                    self.path
                )
            })
    }
}

/// The target path with `~` expanded (`type='path'`).
fn target_path(args: &DbArgs, home: &str) -> String {
    let target = args.target.clone().unwrap_or_default();
    match target.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
        _ => target,
    }
}

/// Whether the server is MariaDB 10.4.6 or later (its tools are `mariadb-dump` and
/// `mariadb`).
fn mariadb_tools(version: &str) -> bool {
    if !version.to_lowercase().contains("mariadb") {
        return false;
    }
    let numbers: Vec<u64> = version
        .split(['.', '-'])
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    numbers >= vec![10, 4, 6]
}

/// The login part of a dump or import command: the option file, the user and TLS.
/// The option file is community.mysql's `config_file` when it exists, or, when there
/// is a password to give, our own that includes it and adds the password.
fn login_flags(args: &DbArgs, implicit_admin: bool, files: &Files) -> (String, String) {
    let option = match args.restrict_config_file {
        true => "--defaults-file",
        false => "--defaults-extra-file",
    };
    let file = match (
        implicit_admin || args.conn.login_password.is_some(),
        &files.config,
    ) {
        (true, _) => format!("{option}=\"$d/my.cnf\""),
        (false, Some(config)) => format!("{option}={}", quote(config)),
        (false, None) => String::new(),
    };
    let mut flags = String::new();
    let login = Login {
        implicit_admin,
        overrides_defaults: false,
    };
    if let Some(user) = args.conn.user(login) {
        flags.push_str(&format!(" --user={}", quote(user)));
    }
    flags.push_str(&args.conn.tls_flags());
    (file, flags)
}

/// The socket or host and port words.
fn place(args: &DbArgs) -> String {
    match &args.conn.login_unix_socket {
        Some(socket) => format!(" --socket={}", quote(socket)),
        None => format!(
            " --host={} --port={}",
            quote(&args.conn.login_host),
            args.conn.login_port
        ),
    }
}

/// The compressor a file name asks for.
fn compressor<'a>(target: &str) -> Option<&'a str> {
    let ext = target.rsplit('/').next().unwrap_or(target);
    let ext = ext.trim_start_matches('.');
    match ext.rfind('.').map(|dot| &ext[dot..]) {
        Some(".gz") => Some("gzip"),
        Some(".bz2") => Some("bzip2"),
        Some(".xz") => Some("xz"),
        Some(".zst") => Some("zstd"),
        _ => None,
    }
}

/// The dump command `db_dump` runs.
fn dump(args: &DbArgs, found: &Found, files: &Files) -> Result<String, String> {
    let db = names(args);
    let tool = match mariadb_tools(&found.version) {
        true => "mariadb-dump",
        false => "mysqldump",
    };
    let (file, login) = login_flags(args, found.implicit_admin, files);
    let mut cmd = vec![files.tool(tool)?, file];
    cmd.push(login.trim_start().to_string());
    if args.force {
        cmd.push("--force".into());
    }
    cmd.push(place(args).trim_start().to_string());
    match db.as_slice() {
        [all] if all == "all" => cmd.push("--all-databases".into()),
        [one] => cmd.push(quote(one)),
        many => cmd.push(format!(
            "--databases {}",
            many.iter().map(|d| quote(d)).collect::<Vec<_>>().join(" ")
        )),
    }
    if args.skip_lock_tables {
        cmd.push("--skip-lock-tables".into());
    }
    if !args.encoding.is_empty() {
        cmd.push(format!("--default-character-set={}", quote(&args.encoding)));
    }
    if args.single_transaction {
        cmd.push("--single-transaction=true".into());
    }
    if args.quick {
        cmd.push("--quick".into());
    }
    for table in &args.ignore_tables {
        cmd.push(format!("--ignore-table={}", quote(table)));
    }
    if args.hex_blob {
        cmd.push("--hex-blob".into());
    }
    if args.master_data != 0 {
        cmd.push(format!("--master-data={}", args.master_data));
    }
    if let Some(extra) = &args.dump_extra_args {
        cmd.push(extra.clone());
    }
    let cmd = cmd
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let target = target_path(args, &files.home);
    Ok(match compressor(&target) {
        Some(program) => {
            let pipe = format!("{cmd} | {} > {}", files.tool(program)?, quote(&target));
            match args.pipefail {
                true => format!("bash -o pipefail -c {}", quote(&pipe)),
                false => pipe,
            }
        }
        None => format!("{cmd} > {}", quote(&target)),
    })
}

/// The import command `db_import` runs, and how it is reported.
fn import(args: &DbArgs, found: &Found, files: &Files) -> Result<(String, String), String> {
    let target = target_path(args, &files.home);
    if !files.target_exists {
        return Err(format!("target {target} does not exist on the host"));
    }
    let tool = match mariadb_tools(&found.version) {
        true => "mariadb",
        false => "mysql",
    };
    let (file, login) = login_flags(args, found.implicit_admin, files);
    let mut cmd = [files.tool(tool)?, file]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    cmd.push_str(&login);
    if args.force {
        cmd.push_str(" -f");
    }
    cmd.push_str(&place(args));
    if !args.encoding.is_empty() {
        cmd.push_str(&format!(
            " --default-character-set={}",
            quote(&args.encoding)
        ));
    }
    let db = names(args);
    if db != ["all"] {
        cmd.push_str(&format!(" --one-database {}", quote(&db.concat())));
    }
    Ok(match compressor(&target) {
        Some(program) => {
            let decompress = format!("{} -dc", files.tool(program)?);
            let run = format!("{decompress} {} | {cmd}", quote(&target));
            (run, format!("{decompress} {target} | {cmd}"))
        }
        None => {
            let run = format!("{cmd} < {}", quote(&target));
            (run.clone(), run)
        }
    })
}

impl DbArgs {
    /// A session as the task logs in.
    fn session(&self, implicit_admin: bool) -> Session<'_> {
        let mut session = Session::new(&self.conn);
        session.login = Login {
            implicit_admin,
            overrides_defaults: self.config_overrides_defaults,
        };
        if !self.sql_log_bin && matches!(self.state, State::Absent | State::Present) {
            session.opening.push_str("SET SQL_LOG_BIN=0;\n");
        }
        session
    }
}

/// The failure to connect, in mysql_db's words.
fn connect_failure(message: String, config: String, exists: bool) -> ModuleError {
    ModuleError::Failed(match exists {
        true => format!(
            "unable to connect to database, check login_user and login_password are correct or {config} has the credentials. Exception message: {message}"
        ),
        false => format!("unable to find {config}. Exception message: {message}"),
    })
}

#[async_trait]
impl StateModule for MysqlDb {
    const NAME: &'static str = "mysql_db";
    type Args = DbArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &DbArgs) -> Result<Found, ModuleError> {
        precheck(args).map_err(ModuleError::Failed)?;
        let db = names(args);
        let exists: Vec<String> = db
            .iter()
            .map(|d| {
                format!(
                    "(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {})",
                    literal(d)
                )
            })
            .collect();
        let mut sql = format!("{}SELECT VERSION();\n", mark("version"));
        if !exists.is_empty() {
            sql.push_str(&format!(
                "{}SELECT {};\n",
                mark("exists"),
                exists.join(", ")
            ));
        }
        let mut implicit_admin = false;
        let mut ran = Err(ClientError::Sql(String::new()));
        if args.check_implicit_admin {
            ran = args.session(true).run(on, &sql).await?;
            implicit_admin = ran.is_ok();
        }
        if !implicit_admin {
            ran = args.session(false).run(on, &sql).await?;
        }
        let results = match ran {
            Ok(results) => results,
            Err(ClientError::Connect(message, config, exists)) => {
                return Err(connect_failure(message, config, exists));
            }
            Err(ClientError::Sql(message)) => return Err(ModuleError::Failed(message)),
        };
        let counts = super::rows(&results, "exists");
        let exists = db
            .iter()
            .enumerate()
            .map(|(i, _)| {
                counts
                    .first()
                    .and_then(|row| row.get(i))
                    .is_some_and(|count| *count != "0")
            })
            .collect();
        let mut found = Found {
            version: first(&results, "version").unwrap_or_default().to_string(),
            exists,
            implicit_admin,
            files: None,
        };
        if matches!(args.state, State::Dump | State::Import) {
            let target = args.target.clone().unwrap_or_default();
            let t = match target.strip_prefix("~/") {
                Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
                None => quote(&target),
            };
            let chdir = match &args.chdir {
                Some(dir) => format!("cd {} || exit 3; ", quote(dir)),
                None => String::new(),
            };
            let cfg = match args.conn.config_file.strip_prefix("~/") {
                Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
                None => quote(&args.conn.config_file),
            };
            let script = format!(
                "{chdir}printf '%s\\n' \"$HOME\" \"$PATH\" {cfg}; [ -f {cfg} ] && echo 1 || echo 0; \
                 [ -e {t} ] && echo 1 || echo 0; for t in {}; do command -v \"$t\" || echo; done",
                TOOLS.join(" ")
            );
            let out = on.conn.exec(&Command::new(script)).await?;
            if out.rc == 3 {
                return Err(ModuleError::Failed(format!(
                    "Cannot change the current directory to {}: {}",
                    args.chdir.clone().unwrap_or_default(),
                    out.stderr_text().trim()
                )));
            }
            let text = out.stdout_text();
            let mut lines = text.lines().map(str::to_string);
            let mut next = || lines.next().unwrap_or_default();
            let (home, path, config) = (next(), next(), next());
            let config = Some(config).filter(|_| next() == "1");
            let target_exists = next() == "1";
            let tools = TOOLS.iter().map(|t| (t.to_string(), next())).collect();
            found.files = Some(Files {
                home,
                path,
                target_exists,
                config,
                tools,
            });
        }
        Ok(found)
    }

    fn decide(&self, args: &DbArgs, found: Found) -> Result<Decision<Plan>, String> {
        precheck(args)?;
        // Both only change how community.mysql puts the password on the dump's or
        // import's command line, or how it pipes a compressed import: here the
        // password is never on a command line and the pipe is always the shell's.
        let _ = (args.use_shell, args.unsafe_login_password);
        let db = names(args);
        if db.is_empty() {
            return Ok(Decision::unchanged()
                .with("db", json!([]))
                .with("db_list", json!([])));
        }
        let missing: Vec<&String> = db
            .iter()
            .zip(&found.exists)
            .filter(|(_, exists)| !**exists)
            .map(|(d, _)| d)
            .collect();
        let present: Vec<&String> = db
            .iter()
            .zip(&found.exists)
            .filter(|(_, exists)| **exists)
            .map(|(d, _)| d)
            .collect();
        let all = db == ["all"];
        let files = found.files.as_ref();
        let statements = |statements: Vec<String>| {
            Some(statements)
                .filter(|s| !s.is_empty())
                .map(|statements| Plan {
                    statements,
                    run: None,
                    implicit_admin: found.implicit_admin,
                })
        };
        let plan = match (args.state, files) {
            (State::Absent, _) => statements(
                present
                    .iter()
                    .map(|d| format!("DROP DATABASE {}", ident(d)))
                    .collect(),
            ),
            (State::Present, _) => statements(missing.iter().map(|d| create(args, d)).collect()),
            (State::Dump, Some(files)) => {
                if !missing.is_empty() && !all {
                    let names: Vec<&str> = missing.iter().map(|d| d.as_str()).collect();
                    return Err(format!(
                        "Cannot dump database(s) {} - not found",
                        crate::template::pyfmt::str_repr(&names.join(", "))
                    ));
                }
                let cmd = dump(args, &found, files)?;
                Some(Plan {
                    statements: Vec::new(),
                    run: Some((cmd.clone(), cmd)),
                    implicit_admin: found.implicit_admin,
                })
            }
            (State::Import, Some(files)) => {
                let (cmd, shown) = import(args, &found, files)?;
                let create = match all {
                    true => Vec::new(),
                    false => missing.iter().map(|d| create(args, d)).collect(),
                };
                Some(Plan {
                    statements: create,
                    run: Some((cmd, shown)),
                    implicit_admin: found.implicit_admin,
                })
            }
            (State::Dump | State::Import, None) => None,
        };
        Ok(Decision::maybe(plan)
            .with("db", db.join(" "))
            .with("db_list", json!(db))
            .with("executed_commands", json!([])))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &DbArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let mut outcome = Outcome::new();
        let Plan {
            statements,
            run,
            implicit_admin,
        } = plan;
        if !statements.is_empty() {
            let sql: String = statements.iter().map(|s| format!("{s};\n")).collect();
            let what = match args.state {
                State::Absent => "error deleting database",
                _ => "error creating database",
            };
            match args.session(implicit_admin).run(on, &sql).await? {
                Ok(_) => {}
                Err(ClientError::Connect(message, ..) | ClientError::Sql(message)) => {
                    return Err(ModuleError::Failed(format!("{what}: {message}")));
                }
            }
        }
        let mut executed = statements;
        if let Some((cmd, shown)) = run {
            let login = Login {
                implicit_admin,
                overrides_defaults: false,
            };
            let (before, after) = args.conn.options(login);
            let chdir = match &args.chdir {
                Some(dir) => format!("cd {} || exit 1\n", quote(dir)),
                None => String::new(),
            };
            let body = format!("{chdir}{}{cmd}", args.conn.option_file_script(0));
            let out = private_input::run(on, &[before, after], &body).await?;
            let stdout: String = out
                .stdout_text()
                .lines()
                .filter(|l| !l.starts_with(super::CONFIG))
                .map(|l| format!("{l}\n"))
                .collect();
            if out.rc != 0 {
                return Err(ModuleError::Failed(masked(
                    &out.stderr_text(),
                    &args.conn.secrets(),
                )));
            }
            outcome.insert("msg".into(), json!(stdout));
            executed.push(shown);
        }
        outcome.insert("executed_commands".into(), json!(executed));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::Value as Json;

    fn args(value: Json) -> DbArgs {
        from_json(value).expect("valid arguments")
    }

    fn found(exists: &[bool]) -> Found {
        Found {
            version: "10.11.6-MariaDB-0+deb12u1".into(),
            exists: exists.to_vec(),
            implicit_admin: false,
            files: None,
        }
    }

    fn files() -> Files {
        Files {
            home: "/root".into(),
            path: "/usr/bin".into(),
            target_exists: true,
            config: None,
            tools: TOOLS
                .iter()
                .map(|t| (t.to_string(), format!("/usr/bin/{t}")))
                .collect(),
        }
    }

    #[test]
    fn present_creates_what_is_missing_with_its_encoding() {
        let a =
            args(json!({"name": ["a", "b c"], "encoding": "utf8mb4", "collation": "utf8mb4_bin"}));
        let decision = MysqlDb.decide(&a, found(&[true, false])).expect("decides");
        assert_eq!(decision.result["db"], "a b c");
        assert_eq!(decision.result["db_list"], json!(["a", "b c"]));
        match decision.plan {
            Some(Plan { statements: s, .. }) => assert_eq!(
                s,
                ["CREATE DATABASE `b c` CHARACTER SET 'utf8mb4' COLLATE 'utf8mb4_bin'"]
            ),
            other => panic!("statements expected, not {other:?}"),
        }
        let a = args(json!({"name": "a", "state": "absent"}));
        assert!(
            MysqlDb
                .decide(&a, found(&[false]))
                .expect("decides")
                .plan
                .is_none()
        );
    }

    #[test]
    fn names_and_targets_are_checked_as_the_module_checks_them() {
        let err = MysqlDb
            .decide(&args(json!({"name": "all"})), found(&[false]))
            .expect_err("all");
        assert_eq!(
            err,
            "name is not allowed to equal 'all' unless state equals import, or dump."
        );
        let err = MysqlDb
            .decide(&args(json!({"name": "a", "state": "dump"})), found(&[true]))
            .expect_err("no target");
        assert_eq!(err, "with state=dump target is required");
        let mut f = found(&[false, false]);
        f.files = Some(files());
        let err = MysqlDb
            .decide(
                &args(json!({"name": ["a", "b"], "state": "dump", "target": "/t.sql"})),
                f,
            )
            .expect_err("missing");
        assert_eq!(err, "Cannot dump database(s) 'a, b' - not found");
    }

    #[test]
    fn dump_and_import_commands_are_the_module_s_without_the_password() {
        let a = args(
            json!({"name": "acme", "state": "dump", "target": "/tmp/a.sql.gz",
                            "login_user": "root", "login_password": "pw", "login_unix_socket": "/run/mysqld/mysqld.sock"}),
        );
        let cmd = dump(&a, &found(&[true]), &files()).expect("cmd");
        assert_eq!(
            cmd,
            "/usr/bin/mariadb-dump --defaults-extra-file=\"$d/my.cnf\" --user=root --socket=/run/mysqld/mysqld.sock acme --quick | /usr/bin/gzip > /tmp/a.sql.gz"
        );
        assert!(!cmd.contains("pw"));
        let a = args(json!({"name": "acme", "state": "import", "target": "~/a.sql"}));
        let (run, shown) = import(&a, &found(&[true]), &files()).expect("cmd");
        assert_eq!(
            run,
            "/usr/bin/mariadb --host=localhost --port=3306 --one-database acme < /root/a.sql"
        );
        assert_eq!(run, shown);
        assert!(mariadb_tools("10.11.6-MariaDB-0+deb12u1"));
        assert!(!mariadb_tools("10.3.39-MariaDB"));
        assert!(!mariadb_tools("8.0.36"));
    }
}

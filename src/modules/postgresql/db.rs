//! `postgresql_db`: a database present with its owner, connection limit, tablespace
//! and comment (created with the template, encoding and locale the task gives, which
//! cannot change afterwards), absent, renamed, or dumped to and restored from a file
//! with `pg_dump`, `pg_restore` or `psql`, following community.postgresql's module
//! step by step: the same checks, statements and messages.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::{PgConn, Session, check_input, ident, literal, version_of};
use crate::connection::{Command, quote};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::private_input::{self, part};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages PostgreSQL databases.
pub struct PostgresqlDb;

arg_enum! {
    /// What should become of the database.
    pub enum State {
        Absent = "absent",
        Dump = "dump",
        Present = "present",
        Rename = "rename",
        Restore = "restore",
    }
}

module_args! {
    /// `postgresql_db`'s arguments.
    pub struct DbArgs {
        ..conn: PgConn,
        /// The database.
        db: String => .required().aliases(&["name"]),
        /// The role that owns it.
        owner: String => .default_str(""),
        /// The template it is created from.
        template: String => .default_str(""),
        /// Its encoding, at creation.
        encoding: String => .default_str(""),
        /// Its LC_COLLATE, at creation.
        lc_collate: String => .default_str(""),
        /// Its LC_CTYPE, at creation.
        lc_ctype: String => .default_str(""),
        /// Its ICU locale, at creation (PostgreSQL 15 and later).
        icu_locale: String => .default_str(""),
        /// Its locale provider, at creation (PostgreSQL 15 and later).
        locale_provider: String => .default_str(""),
        /// The role to switch to after connecting.
        session_role: Option<String>,
        /// What should become of it.
        state: State => .default_str("present"),
        /// Drop it even while sessions use it.
        force: bool => .default_bool(false),
        /// The file to dump to or restore from; the new name with `rename`.
        target: String => .default_str(""),
        /// More options for pg_dump, pg_restore or psql.
        target_opts: String => .default_str(""),
        /// The database to connect to.
        maintenance_db: String => .default_str("postgres"),
        /// Its connection limit.
        conn_limit: String => .default_str(""),
        /// Its tablespace.
        tablespace: String => .default_str(""),
        /// More options for pg_dump.
        dump_extra_args: Option<String>,
        /// Whether to take the values as they are rather than check them for SQL.
        trust_input: bool => .default_bool(true),
        /// Its comment.
        comment: Option<String>,
    }
}

/// The tools a dump or restore may run, looked up by the query.
const TOOLS: &[&str] = &[
    "pg_dump",
    "pg_restore",
    "psql",
    "pigz",
    "gzip",
    "bzip2",
    "xz",
    "zcat",
    "bzcat",
    "xzcat",
];

/// What the query finds.
#[derive(Debug)]
pub enum Found {
    /// From the server: its version, the database, the task's encoding's id and
    /// whether the rename target exists.
    Server(Json),
    /// For a dump or restore (which never connects first, as in community.postgresql):
    /// where the task runs and where the tools are.
    Files(Files),
}

/// Where a dump or restore runs.
#[derive(Debug)]
pub struct Files {
    /// The directory it runs in.
    cwd: String,
    /// The user's home.
    home: String,
    /// `$PATH`, for the missing tool's message.
    path: String,
    /// Each of [`TOOLS`] found, by name.
    tools: Map<String, Json>,
}

/// The changes to make.
#[derive(Debug)]
pub enum Plan {
    /// Statements run one by one (each its own transaction): `quiet` first, not
    /// reported, then `reported`.
    Statements {
        /// Run first and not reported (closing other sessions before a forced drop).
        quiet: Vec<String>,
        /// Run and reported as `executed_commands`.
        reported: Vec<String>,
    },
    /// What the module refuses only once it would change something (community.postgresql
    /// finds it in `db_update`, while check mode only sees that the database differs).
    Refuse(String),
    /// A dump or restore: the shell command, and whether it is reported.
    Run {
        /// The command line.
        cmd: String,
        /// Whether it is reported as run (a compressed restore shows `cmd: ****`).
        reported: bool,
    },
}

impl DbArgs {
    /// The session to the maintenance database.
    fn session(&self) -> Session<'_> {
        Session::new(
            &self.conn,
            &self.maintenance_db,
            self.session_role.as_deref(),
        )
    }
}

/// The query: one JSON line.
fn query_sql(args: &DbArgs) -> String {
    let encoding_id = match args.encoding.is_empty() {
        true => "NULL".to_string(),
        false => format!("pg_char_to_encoding({})", literal(&args.encoding)),
    };
    let target_exists = match args.state {
        State::Rename => format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = {})",
            literal(&args.target)
        ),
        _ => "NULL".to_string(),
    };
    format!(
        "SELECT json_build_object('version', current_setting('server_version_num')::int, \
         'db', (SELECT to_jsonb(d) || jsonb_build_object('owner', r.rolname, \
         'encoding_name', pg_encoding_to_char(d.encoding), 'spcname', t.spcname, \
         'comment', pg_catalog.shobj_description(d.oid, 'pg_database')) \
         FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba \
         JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = {}), \
         'encoding_id', {encoding_id}, 'target_exists', {target_exists});\n",
        literal(&args.db)
    )
}

/// The database's settings as community.postgresql's `get_db_info` names them.
struct Info<'a>(&'a Json);

/// A value as Python's `str()` of what psycopg read shows it; `None` as empty.
fn text_of(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

impl Info<'_> {
    /// The setting `key` as text.
    fn text(&self, key: &str) -> String {
        text_of(&self.0[key])
    }

    /// `datlocale` (PostgreSQL 17) or `daticulocale` (15 and 16).
    fn icu_locale(&self) -> String {
        match self.0.get("datlocale") {
            Some(locale) => text_of(locale),
            None => self.text("daticulocale"),
        }
    }

    /// `datlocprovider` in words.
    fn locale_provider(&self) -> String {
        match self.0["datlocprovider"].as_str() {
            Some("c") => "libc".into(),
            Some("i") => "icu".into(),
            _ => String::new(),
        }
    }
}

/// `conn_limit` checked to be the integer community.postgresql writes into its SQL.
fn conn_limit(value: &str) -> Result<&str, String> {
    match value.trim().parse::<i64>() {
        Ok(_) => Ok(value.trim()),
        Err(_) => Err(format!("conn_limit must be an integer, not '{value}'")),
    }
}

/// `CREATE DATABASE` as `db_create` writes it, then the comment.
fn create(args: &DbArgs, version: i64) -> Result<Vec<String>, String> {
    let mut query = vec![format!("CREATE DATABASE {}", ident(&args.db))];
    if !args.owner.is_empty() {
        query.push(format!("OWNER {}", ident(&args.owner)));
    }
    if !args.template.is_empty() {
        query.push(format!("TEMPLATE {}", ident(&args.template)));
    }
    let icu = version >= 150000;
    for (given, word, applies) in [
        (&args.encoding, "ENCODING", true),
        (&args.lc_collate, "LC_COLLATE", true),
        (&args.lc_ctype, "LC_CTYPE", true),
        (&args.icu_locale, "ICU_LOCALE", icu),
        (&args.locale_provider, "LOCALE_PROVIDER", icu),
    ] {
        if !given.is_empty() && applies {
            query.push(format!("{word} {}", literal(given)));
        }
    }
    if !args.tablespace.is_empty() {
        query.push(format!("TABLESPACE {}", ident(&args.tablespace)));
    }
    if !args.conn_limit.is_empty() {
        query.push(format!(
            "CONNECTION LIMIT {}",
            conn_limit(&args.conn_limit)?
        ));
    }
    let mut statements = vec![query.join(" ")];
    if let Some(comment) = args.comment.as_deref().filter(|c| !c.is_empty()) {
        statements.push(comment_on(&args.db, comment));
    }
    Ok(statements)
}

/// `COMMENT ON DATABASE` as `set_comment` writes it.
fn comment_on(db: &str, comment: &str) -> String {
    format!("COMMENT ON DATABASE {} IS {}", ident(db), literal(comment))
}

/// What `db_update` refuses: a creation-time setting that differs.
fn unchangeable(args: &DbArgs, info: &Info, encoding_id: &Json) -> Option<String> {
    if !args.encoding.is_empty() && *encoding_id != info.0["encoding"] {
        return Some(format!(
            "Changing database encoding is not supported. Current encoding: {}",
            info.text("encoding_name")
        ));
    }
    let checks = [
        (
            &args.lc_collate,
            info.text("datcollate"),
            "Changing LC_COLLATE is not supported. Current LC_COLLATE: ",
        ),
        (
            &args.lc_ctype,
            info.text("datctype"),
            "Changing LC_CTYPE is not supported.Current LC_CTYPE: ",
        ),
        (
            &args.icu_locale,
            info.icu_locale(),
            "Changing ICU_LOCALE is not supported.Current ICU_LOCALE: ",
        ),
        (
            &args.locale_provider,
            info.locale_provider(),
            "Changing LOCALE_PROVIDER is not supported.Current LOCALE_PROVIDER: ",
        ),
    ];
    checks
        .into_iter()
        .find(|(given, current, _)| !given.is_empty() && given != &current)
        .map(|(_, current, message)| format!("{message}{current}"))
}

/// What `db_update` changes on an existing database.
fn update(args: &DbArgs, info: &Info) -> Result<Vec<String>, String> {
    let db = ident(&args.db);
    let mut statements = Vec::new();
    if !args.owner.is_empty() && args.owner != info.text("owner") {
        statements.push(format!(
            "ALTER DATABASE {db} OWNER TO {}",
            ident(&args.owner)
        ));
    }
    if !args.conn_limit.is_empty() && args.conn_limit != info.text("datconnlimit") {
        statements.push(format!(
            "ALTER DATABASE {db} CONNECTION LIMIT {}",
            conn_limit(&args.conn_limit)?
        ));
    }
    if !args.tablespace.is_empty() && args.tablespace != info.text("spcname") {
        statements.push(format!(
            "ALTER DATABASE {db} SET TABLESPACE {}",
            ident(&args.tablespace)
        ));
    }
    if let Some(comment) = &args.comment
        && *comment != info.text("comment")
    {
        statements.push(comment_on(&args.db, comment));
    }
    Ok(statements)
}

/// The extension `os.path.splitext` finds: from the last dot of the file name.
fn extension(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.trim_start_matches('.');
    match stem.rfind('.') {
        Some(dot) => &stem[dot..],
        None => "",
    }
}

impl Files {
    /// Where `tool` is, or `get_bin_path`'s failure.
    fn tool(&self, tool: &str) -> Result<String, String> {
        match self.tools.get(tool).and_then(Json::as_str) {
            Some(path) if !path.is_empty() => Ok(path.to_string()),
            _ => Err(format!(
                "Failed to find required executable \"{tool}\" in paths: {}",
                self.path
            )),
        }
    }

    /// The target as the module reads it: `~` expanded, and `<cwd>/<db>.sql` when
    /// none is given.
    fn target(&self, args: &DbArgs) -> String {
        if args.target.is_empty() {
            return format!("{}/{}.sql", self.cwd, args.db);
        }
        match args.target.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", self.home)
            }
            _ => args.target.clone(),
        }
    }
}

/// community.postgresql's `login_flags`: each a space and a word.
fn login_flags(args: &DbArgs, db_prefix: bool) -> String {
    let mut flags = match db_prefix {
        true => format!(" --dbname={}", quote(&args.db)),
        false => format!(" {}", quote(&args.db)),
    };
    let conn = &args.conn;
    let local = conn.login_host.is_empty() || conn.login_host == "localhost";
    let host = match local && !conn.login_unix_socket.is_empty() {
        true => &conn.login_unix_socket,
        false => &conn.login_host,
    };
    if !host.is_empty() {
        flags.push_str(&format!(" --host={}", quote(host)));
    }
    flags.push_str(&format!(" --port={}", conn.login_port));
    if !conn.login_user.is_empty() {
        flags.push_str(&format!(" --username={}", quote(&conn.login_user)));
    }
    flags
}

/// The dump command `db_dump` runs.
fn dump(args: &DbArgs, files: &Files) -> Result<String, String> {
    let target = files.target(args);
    let ext = extension(&target);
    let mut cmd = files.tool("pg_dump")?;
    cmd.push_str(&login_flags(args, false));
    match ext {
        ".tar" => cmd.push_str(" --format=t"),
        ".pgc" => cmd.push_str(" --format=c"),
        ".dir" => cmd.push_str(" --format=d"),
        _ => {}
    }
    let compressor = match ext {
        ".gz" => Some(files.tool("pigz").or_else(|_| files.tool("gzip"))?),
        ".bz2" => Some(files.tool("bzip2")?),
        ".xz" => Some(files.tool("xz")?),
        _ => None,
    };
    if let Some(role) = &args.session_role {
        cmd.push_str(&format!(" --role={}", quote(role)));
    }
    if let Some(extra) = &args.dump_extra_args {
        cmd.push_str(&format!(" {extra} "));
    }
    if !args.target_opts.is_empty() {
        cmd.push_str(&format!(" {} ", args.target_opts));
    }
    let t = quote(&target);
    Ok(match compressor {
        Some(compress) => {
            format!(
                "mkfifo \"$d/pg_fifo\" && {{ {compress} <\"$d/pg_fifo\" > {t} & {cmd} >\"$d/pg_fifo\"; rc=$?; wait; exit $rc; }}"
            )
        }
        None if cmd.contains(" --format=d") => format!("{cmd} -f {t}"),
        None => format!("{cmd} > {t}"),
    })
}

/// The restore command `db_restore` runs, and whether it is reported.
fn restore(args: &DbArgs, files: &Files) -> Result<(String, bool), String> {
    let target = files.target(args);
    let mut flags = login_flags(args, true);
    let mut cmd = files.tool("psql")?;
    let mut pg_restore = false;
    let mut decompress = None;
    match extension(&target) {
        ".sql" => flags.push_str(&format!(" --file={}", quote(&target))),
        format @ (".tar" | ".pgc" | ".dir") => {
            let word = match format {
                ".tar" => "Tar",
                ".pgc" => "Custom",
                _ => "Directory",
            };
            flags.push_str(&format!(" --format={word}"));
            cmd = files.tool("pg_restore")?;
            pg_restore = true;
        }
        ".gz" => decompress = Some(files.tool("zcat")?),
        ".bz2" => decompress = Some(files.tool("bzcat")?),
        ".xz" => decompress = Some(files.tool("xzcat")?),
        _ => {}
    }
    if let (true, Some(role)) = (pg_restore, &args.session_role) {
        flags.push_str(&format!(" --role={}", quote(role)));
    }
    cmd.push_str(&flags);
    if !args.target_opts.is_empty() {
        cmd.push_str(&format!(" {} ", args.target_opts));
    }
    let t = quote(&target);
    Ok(match decompress {
        Some(cat) => (
            format!(
                "{{ {cat} {t} 2>\"$d/e1\"; echo $? >\"$d/r1\"; }} | {cmd} >/dev/null; rc=$?; \
                 r1=$(cat \"$d/r1\"); [ \"$r1\" = 0 ] || {{ cat \"$d/e1\" >&2; exit \"$r1\"; }}; exit $rc"
            ),
            false,
        ),
        None if cmd.contains("--format=Directory") || cmd.contains("--format=Custom") => {
            (format!("{cmd} {t}"), true)
        }
        None if cmd.contains("--file=") => (cmd, true),
        None => (format!("{cmd} < {t}"), true),
    })
}

/// The rename's warning, as community.postgresql gives it.
const RENAME_DEPRECATED: &str = "The rename choice of the state option is deprecated and will be removed in version 5.0.0. Use the community.postgresql.postgresql_query module instead.";

/// The checks community.postgresql makes before it connects.
fn precheck(args: &DbArgs) -> Result<(), String> {
    if args.state == State::Rename {
        if args.target.is_empty() {
            return Err(
                "The \"target\" option must be defined when the \"rename\" option is used.".into(),
            );
        }
        if args.db == args.target {
            return Err(
                "The \"name/db\" option and the \"target\" option cannot be the same.".into(),
            );
        }
        if args.maintenance_db == args.db {
            return Err(
                "The \"maintenance_db\" option and the \"name/db\" option cannot be the same."
                    .into(),
            );
        }
    }
    if !args.trust_input {
        check_input([
            args.owner.as_str(),
            &args.conn_limit,
            &args.encoding,
            &args.db,
            &args.template,
            &args.tablespace,
            args.session_role.as_deref().unwrap_or(""),
            args.comment.as_deref().unwrap_or(""),
        ])?;
    }
    Ok(())
}

/// The decision on a database the server described.
fn decide_on_server(args: &DbArgs, server: &Json) -> Result<Decision<Plan>, String> {
    let version = version_of(server);
    let existing = server.get("db").filter(|d| !d.is_null());
    let statements = |reported: Vec<String>| {
        Some(reported)
            .filter(|r| !r.is_empty())
            .map(|reported| Plan::Statements {
                quiet: Vec::new(),
                reported,
            })
    };
    let plan = match (args.state, existing) {
        (State::Absent, None) => None,
        (State::Absent, Some(_)) => {
            let db = ident(&args.db);
            match (args.force, version >= 130000) {
                (true, true) => statements(vec![format!("DROP DATABASE {db} WITH (FORCE)")]),
                (true, false) => Some(Plan::Statements {
                    quiet: vec![format!(
                        "UPDATE pg_database SET datallowconn = false WHERE datname = {0}; \
                         SELECT pg_terminate_backend(pg_stat_activity.pid) FROM pg_stat_activity \
                         WHERE pg_stat_activity.datname = {0} AND pid <> pg_backend_pid()",
                        literal(&args.db)
                    )],
                    reported: vec![format!("DROP DATABASE {db}")],
                }),
                (false, _) => statements(vec![format!("DROP DATABASE {db}")]),
            }
        }
        (State::Present, None) => statements(create(args, version)?),
        (State::Present, Some(db)) => {
            let info = Info(db);
            match unchangeable(args, &info, &server["encoding_id"]) {
                Some(refusal) => Some(Plan::Refuse(refusal)),
                None => statements(update(args, &info)?),
            }
        }
        (State::Rename, source) => {
            let target = server["target_exists"].as_bool().unwrap_or(false);
            match (source.is_some(), target) {
                (true, true) => {
                    return Err("Both the source and the target databases exist.".into());
                }
                (false, false) => {
                    return Err("The source and the target databases do not exist.".into());
                }
                (false, true) => None,
                (true, false) => statements(vec![format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    ident(&args.db),
                    ident(&args.target)
                )]),
            }
        }
        (State::Dump | State::Restore, _) => None,
    };
    let mut decision = Decision::maybe(plan)
        .with("db", args.db.clone())
        .with("executed_commands", json!([]));
    if args.state == State::Rename {
        decision = decision.with("warnings", json!([RENAME_DEPRECATED]));
    }
    Ok(decision)
}

#[async_trait]
impl StateModule for PostgresqlDb {
    const NAME: &'static str = "postgresql_db";
    type Args = DbArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &DbArgs) -> Result<Found, ModuleError> {
        precheck(args).map_err(ModuleError::Failed)?;
        if matches!(args.state, State::Dump | State::Restore) {
            let script = format!(
                "{{ [ -r . ] && [ -x . ]; }} 2>/dev/null || cd ~ 2>/dev/null || cd /tmp; \
                 pwd -P; printf '%s\\n' \"$HOME\" \"$PATH\"; for t in {}; do command -v \"$t\" || echo; done",
                TOOLS.join(" ")
            );
            let out = on.conn.exec(&Command::new(script)).await?;
            let text = out.stdout_text();
            let mut lines = text.lines().map(str::to_string);
            let mut next = || lines.next().unwrap_or_default();
            let (cwd, home, path) = (next(), next(), next());
            let tools = TOOLS
                .iter()
                .map(|t| (t.to_string(), json!(next())))
                .collect();
            return Ok(Found::Files(Files {
                cwd,
                home,
                path,
                tools,
            }));
        }
        let mut found = args.session().select(on, &query_sql(args)).await?;
        Ok(Found::Server(found.pop().unwrap_or(Json::Null)))
    }

    fn decide(&self, args: &DbArgs, found: Found) -> Result<Decision<Plan>, String> {
        precheck(args)?;
        match found {
            Found::Server(server) => decide_on_server(args, &server),
            Found::Files(files) => {
                let (cmd, reported) = match args.state {
                    State::Dump => (dump(args, &files)?, true),
                    _ => restore(args, &files)?,
                };
                Ok(Decision::change(Plan::Run { cmd, reported })
                    .with("executed_commands", json!([])))
            }
        }
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &DbArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let mut outcome = Outcome::new();
        match plan {
            Plan::Refuse(message) => return Err(ModuleError::Failed(message)),
            Plan::Statements { quiet, reported } => {
                let session = args.session();
                let sql: String = quiet
                    .iter()
                    .chain(&reported)
                    .map(|statement| format!("{statement};\n"))
                    .collect();
                session
                    .run(on, &sql, false)
                    .await?
                    .map_err(|e| e.failure("Database query failed: "))?;
                outcome.insert("executed_commands".into(), json!(reported));
            }
            Plan::Run { cmd, reported } => {
                let passfile = args.conn.passfile().map_err(ModuleError::Failed)?;
                let env = match passfile {
                    Some(_) => format!("PGPASSFILE={}; export PGPASSFILE\n", part(0)),
                    None => String::new(),
                };
                let out = private_input::run(
                    on,
                    &passfile.into_iter().collect::<Vec<_>>(),
                    &format!("{env}{cmd}"),
                )
                .await?;
                let shown = match reported {
                    true => cmd.clone(),
                    false => "cmd: ****".to_string(),
                };
                let (stdout, stderr) = match reported {
                    true => (out.stdout_text(), out.stderr_text()),
                    false => (String::new(), out.stderr_text()),
                };
                let stderr = super::masked(&stderr, &args.conn.secrets());
                if out.rc != 0 {
                    let mut failure = crate::modules::failed(stderr.clone());
                    crate::modules::run::with_output(&mut failure, &stdout, &stderr);
                    failure.insert("rc".into(), json!(out.rc));
                    failure.insert("cmd".into(), json!(shown));
                    return Err(ModuleError::FailedWith(failure));
                }
                outcome.insert("msg".into(), json!(stdout));
                outcome.insert(
                    "stderr_lines".into(),
                    crate::modules::command::lines(&stderr),
                );
                outcome.insert("stderr".into(), json!(stderr));
                outcome.insert("rc".into(), json!(out.rc));
                outcome.insert("cmd".into(), json!(shown));
                let executed: Vec<String> = reported.then_some(cmd).into_iter().collect();
                outcome.insert("executed_commands".into(), json!(executed));
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(value: Json) -> DbArgs {
        from_json(value).expect("valid arguments")
    }

    fn decide(value: Json, server: Json) -> Result<Decision<Plan>, String> {
        PostgresqlDb.decide(&args(value), Found::Server(server))
    }

    fn reported(decision: Decision<Plan>) -> Vec<String> {
        match decision.plan {
            Some(Plan::Statements { reported, .. }) => reported,
            other => panic!("statements expected, not {other:?}"),
        }
    }

    fn existing() -> Json {
        json!({"version": 150004, "encoding_id": 6, "target_exists": null, "db": {
            "datname": "acme", "encoding": 6, "encoding_name": "UTF8", "datcollate": "C.UTF-8",
            "datctype": "C.UTF-8", "daticulocale": null, "datlocprovider": "c", "datconnlimit": -1,
            "owner": "postgres", "spcname": "pg_default", "comment": null}})
    }

    #[test]
    fn a_missing_database_is_created_as_db_create_writes_it() {
        let server = json!({"version": 150004, "db": null, "encoding_id": 6});
        let decision = decide(
            json!({"name": "acme", "owner": "app", "template": "template0", "encoding": "UTF-8",
                   "lc_collate": "C.UTF-8", "conn_limit": "100", "comment": "it's"}),
            server,
        )
        .expect("decides");
        assert_eq!(decision.result["db"], "acme");
        assert_eq!(decision.result["executed_commands"], json!([]));
        assert_eq!(
            reported(decision),
            [
                "CREATE DATABASE \"acme\" OWNER \"app\" TEMPLATE \"template0\" ENCODING 'UTF-8' LC_COLLATE 'C.UTF-8' CONNECTION LIMIT 100",
                "COMMENT ON DATABASE \"acme\" IS 'it''s'",
            ]
        );
    }

    #[test]
    fn an_existing_database_changes_only_what_differs_and_refuses_a_new_encoding() {
        let same =
            json!({"name": "acme", "owner": "postgres", "conn_limit": "-1", "encoding": "UTF8"});
        assert!(decide(same, existing()).expect("decides").plan.is_none());
        let other = json!({"name": "acme", "owner": "app", "conn_limit": "5", "comment": ""});
        assert_eq!(
            reported(decide(other, existing()).expect("decides")),
            [
                "ALTER DATABASE \"acme\" OWNER TO \"app\"",
                "ALTER DATABASE \"acme\" CONNECTION LIMIT 5",
            ]
        );
        let mut server = existing();
        server["encoding_id"] = json!(8);
        match decide(json!({"name": "acme", "encoding": "LATIN1"}), server)
            .expect("decides")
            .plan
        {
            Some(Plan::Refuse(msg)) => assert_eq!(
                msg,
                "Changing database encoding is not supported. Current encoding: UTF8"
            ),
            other => panic!("refusal expected, not {other:?}"),
        }
        assert!(
            decide(json!({"name": "acme", "conn_limit": "5; DROP"}), existing())
                .expect_err("not an integer")
                .contains("conn_limit must be an integer")
        );
    }

    #[test]
    fn absent_drops_with_force_as_the_server_version_allows() {
        let decision = decide(
            json!({"name": "acme", "state": "absent", "force": true}),
            existing(),
        )
        .expect("decides");
        assert_eq!(reported(decision), ["DROP DATABASE \"acme\" WITH (FORCE)"]);
        let gone = json!({"version": 150004, "db": null});
        assert!(
            decide(json!({"name": "acme", "state": "absent"}), gone)
                .expect("decides")
                .plan
                .is_none()
        );
    }

    #[test]
    fn rename_is_checked_as_community_postgresql_checks_it() {
        let err =
            decide(json!({"name": "acme", "state": "rename"}), existing()).expect_err("no target");
        assert_eq!(
            err,
            "The \"target\" option must be defined when the \"rename\" option is used."
        );
        let mut both = existing();
        both["target_exists"] = json!(true);
        assert_eq!(
            decide(
                json!({"name": "acme", "state": "rename", "target": "b"}),
                both
            )
            .expect_err("both"),
            "Both the source and the target databases exist."
        );
        let mut server = existing();
        server["target_exists"] = json!(false);
        let decision = decide(
            json!({"name": "acme", "state": "rename", "target": "b"}),
            server,
        )
        .expect("decides");
        assert_eq!(decision.result["warnings"], json!([RENAME_DEPRECATED]));
        assert_eq!(
            reported(decision),
            ["ALTER DATABASE \"acme\" RENAME TO \"b\""]
        );
    }

    #[test]
    fn untrusted_input_is_checked() {
        let err = decide(json!({"name": "a'; --", "trust_input": false}), existing())
            .expect_err("dangerous");
        assert_eq!(err, "Passed input 'a'; --' is potentially dangerous");
    }

    fn files() -> Files {
        let tools = TOOLS
            .iter()
            .filter(|t| **t != "pigz")
            .map(|t| (t.to_string(), json!(format!("/usr/bin/{t}"))))
            .collect();
        Files {
            cwd: "/root".into(),
            home: "/root".into(),
            path: "/usr/bin:/bin".into(),
            tools,
        }
    }

    #[test]
    fn dump_and_restore_commands_follow_the_file_name() {
        let a = args(json!({"name": "acme", "state": "dump"}));
        assert_eq!(
            dump(&a, &files()).expect("cmd"),
            "/usr/bin/pg_dump acme --port=5432 --username=postgres > /root/acme.sql"
        );
        let a = args(
            json!({"name": "acme", "state": "dump", "target": "~/b.pgc", "login_unix_socket": "/run/pg"}),
        );
        assert_eq!(
            dump(&a, &files()).expect("cmd"),
            "/usr/bin/pg_dump acme --host=/run/pg --port=5432 --username=postgres --format=c > /root/b.pgc"
        );
        let a = args(json!({"name": "acme", "state": "dump", "target": "/t/a.sql.gz"}));
        assert!(dump(&a, &files()).expect("cmd").starts_with("mkfifo \"$d/pg_fifo\" && { /usr/bin/gzip <\"$d/pg_fifo\" > /t/a.sql.gz & /usr/bin/pg_dump acme"));
        let a = args(json!({"name": "acme", "state": "restore", "target": "/t/a.sql"}));
        assert_eq!(
            restore(&a, &files()).expect("cmd"),
            (
                "/usr/bin/psql --dbname=acme --port=5432 --username=postgres --file=/t/a.sql"
                    .to_string(),
                true
            )
        );
        let a = args(json!({"name": "acme", "state": "restore", "target": "/t/a.tar"}));
        assert_eq!(
            restore(&a, &files()).expect("cmd").0,
            "/usr/bin/pg_restore --dbname=acme --port=5432 --username=postgres --format=Tar < /t/a.tar"
        );
        let mut no_tools = files();
        no_tools.tools.clear();
        assert_eq!(
            dump(&args(json!({"name": "acme", "state": "dump"})), &no_tools).expect_err("missing"),
            "Failed to find required executable \"pg_dump\" in paths: /usr/bin:/bin"
        );
        assert_eq!(extension("/a/b.sql.gz"), ".gz");
        assert_eq!(extension("/a/.hidden"), "");
    }
}

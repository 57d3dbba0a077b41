//! community.postgresql's `postgresql_db`, `postgresql_user` and `postgresql_privs`,
//! driven through the target's own `psql` (and `pg_dump`/`pg_restore`): no Python,
//! no psycopg. Each query is one `psql` run whose SELECTs print JSON lines; each change
//! is one `psql` run of the statements the module decided, in the module's words.
//!
//! Secrets never reach a command line: the login password goes to psql in a
//! `PGPASSFILE` and the SQL on standard input ([`super::private_input`]), and a role's
//! password is hashed here, on the control node, as PostgreSQL itself would hash it
//! ([`scram`]), so the target and its server log only ever see the hash.

mod db;
mod privs;
mod scram;
mod user;

pub use db::PostgresqlDb;
pub use privs::PostgresqlPrivs;
pub use user::PostgresqlUser;

use serde_json::{Map, Value as Json};

use super::ModuleError;
use super::Target;
use super::private_input::{self, part, require_tool};
use super::typed::{arg_enum, module_args};
use crate::connection::quote;

arg_enum! {
    /// libpq's `sslmode`.
    pub enum SslMode {
        Allow = "allow",
        Disable = "disable",
        Prefer = "prefer",
        Require = "require",
        VerifyCa = "verify-ca",
        VerifyFull = "verify-full",
    }
}

module_args! {
    /// How the modules reach the server: community.postgresql's `postgres` fragment.
    pub struct PgConn {
        /// The role to log in as.
        login_user: String => .default_str("postgres").aliases(&["login"]),
        /// Its password, if the server asks for one.
        login_password: String => .default_str("").no_log(),
        /// The server's host; empty for the local socket.
        login_host: String => .default_str("").aliases(&["host"]),
        /// The socket directory, used when the host is empty or `localhost`.
        login_unix_socket: String => .default_str("").aliases(&["unix_socket"]),
        /// The server's port.
        login_port: i64 => .default_int(5432).aliases(&["port"]),
        /// libpq's `sslmode`.
        ssl_mode: SslMode => .default_str("prefer"),
        /// The CA certificate the server's is checked against.
        ca_cert: Option<String> => .aliases(&["ssl_rootcert"]),
        /// The client certificate.
        ssl_cert: Option<String>,
        /// The client certificate's key.
        ssl_key: Option<String>,
        /// More libpq connection parameters.
        connect_params: Option<Map<String, Json>>,
    }
}

/// A libpq connection-string value: bare when it can be, else single-quoted with `\`
/// and `'` escaped.
fn conninfo_value(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && c != '\'' && c != '\\' && c != '=');
    if bare {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// A connect parameter's value as psycopg hands it to libpq.
fn param_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Bool(true) => "1".into(),
        Json::Bool(false) => "0".into(),
        other => other.to_string(),
    }
}

impl PgConn {
    /// The libpq connection string for `dbname`, as community.postgresql's
    /// `get_conn_params` builds its keywords: empty values left out, the socket
    /// directory as the host when the host is empty or `localhost`, `connect_params`
    /// last. The password is not in it ([`PgConn::passfile`]).
    fn conninfo(&self, dbname: &str) -> String {
        let mut words: Vec<(String, String)> = Vec::new();
        let mut add = |key: &str, value: &str| {
            if !value.is_empty() {
                words.push((key.to_string(), value.to_string()));
            }
        };
        add("dbname", dbname);
        let local = self.login_host.is_empty() || self.login_host == "localhost";
        match (local, self.login_unix_socket.is_empty()) {
            (true, false) => add("host", &self.login_unix_socket),
            _ => add("host", &self.login_host),
        }
        add("user", &self.login_user);
        add("port", &self.login_port.to_string());
        add("sslmode", self.ssl_mode.as_str());
        add("sslrootcert", self.ca_cert.as_deref().unwrap_or(""));
        add("sslcert", self.ssl_cert.as_deref().unwrap_or(""));
        add("sslkey", self.ssl_key.as_deref().unwrap_or(""));
        for (key, value) in self.connect_params.iter().flatten() {
            if key != "password" {
                add(key, &param_text(value));
            }
        }
        words
            .iter()
            .map(|(key, value)| format!("{key}={}", conninfo_value(value)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The password psql uses: `login_password`, or a `password` among the
    /// connect parameters.
    fn password(&self) -> &str {
        match self
            .connect_params
            .as_ref()
            .and_then(|p| p.get("password"))
            .and_then(Json::as_str)
        {
            Some(password) if self.login_password.is_empty() => password,
            _ => &self.login_password,
        }
    }

    /// The `PGPASSFILE` that gives the password for any server, database and user;
    /// `None` without one (psql then reads the user's own `~/.pgpass`, as libpq does).
    fn passfile(&self) -> Result<Option<Vec<u8>>, String> {
        let password = self.password();
        if password.is_empty() {
            return Ok(None);
        }
        if password.contains(['\n', '\r']) {
            return Err("login_password cannot contain a line break".into());
        }
        let escaped = password.replace('\\', "\\\\").replace(':', "\\:");
        Ok(Some(format!("*:*:*:*:{escaped}\n").into_bytes()))
    }

    /// The secrets a message must never show.
    fn secrets(&self) -> Vec<String> {
        Some(self.password().to_string())
            .filter(|p| !p.is_empty())
            .into_iter()
            .collect()
    }
}

/// `value` as an SQL string literal, as psycopg writes one: doubled quotes, and the
/// `E''` form when it holds a backslash, so it reads the same whatever the server's
/// `standard_conforming_strings`.
pub fn literal(value: &str) -> String {
    match value.contains('\\') {
        true => format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''")),
        false => format!("'{}'", value.replace('\'', "''")),
    }
}

/// `name` as one quoted SQL identifier, its double quotes doubled: quotes, spaces,
/// dots and semicolons in a name stay part of the name.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` with every secret replaced as Ansible's `remove_values` does.
fn masked(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |text, secret| {
        text.replace(secret, "********")
    })
}

/// Whether `value` looks like SQL injection (community.postgresql's
/// `is_input_dangerous`).
fn dangerous(value: &str) -> bool {
    static PATTERNS: std::sync::OnceLock<Vec<regex::Regex>> = std::sync::OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            r#"('|").*--"#,
            r"(?i)(UNION|INTERSECT|EXCEPT).*SELECT",
            r"(?i);.*(SELECT|UPDATE|INSERT|DELETE|DROP|TRUNCATE|ALTER)",
        ]
        .iter()
        .filter_map(|p| regex::Regex::new(p).ok())
        .collect()
    });
    !value.is_empty() && patterns.iter().any(|p| p.is_match(value))
}

/// `trust_input: false`: fails as `check_input` does when a value looks dangerous.
fn check_input<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let bad: Vec<&str> = values.into_iter().filter(|v| dangerous(v)).collect();
    match bad.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "Passed input '{}' is potentially dangerous",
            bad.join(", ")
        )),
    }
}

/// What went wrong in a psql run.
#[derive(Debug)]
enum PsqlError {
    /// No session: the server refused or could not be reached.
    Connect(String),
    /// `SET ROLE` to the session role failed.
    Role(String),
    /// A statement failed.
    Sql(String),
}

impl PsqlError {
    /// The module failure, in community.postgresql's words: a failed statement's
    /// message after `sql_prefix`.
    fn failure(self, sql_prefix: &str) -> ModuleError {
        ModuleError::Failed(match self {
            PsqlError::Connect(msg) => format!("unable to connect to database: {msg}"),
            PsqlError::Role(msg) => format!("Could not switch role: {msg}"),
            PsqlError::Sql(msg) => format!("{sql_prefix}{msg}"),
        })
    }
}

/// Printed once `SET ROLE` succeeded.
const ROLE_SET: &str = "@@bosun-role-set";

/// The message of a failed psql run: its error line without psql's prefixes.
fn psql_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.contains("ERROR:") || l.contains("FATAL:") || l.contains("error:"))
        .or(lines.last())
        .copied()
        .unwrap_or("psql failed without a message");
    let line = line.strip_prefix("psql: error: ").unwrap_or(line);
    let line = match line.strip_prefix("psql:") {
        Some(rest) => rest.splitn(3, ':').nth(2).unwrap_or(rest).trim_start(),
        None => line,
    };
    let line = line
        .strip_prefix("ERROR:")
        .or_else(|| line.strip_prefix("FATAL:"))
        .unwrap_or(line);
    line.trim().to_string()
}

/// One psql session against one database.
struct Session<'a> {
    conn: &'a PgConn,
    dbname: &'a str,
    session_role: Option<&'a str>,
    /// More secrets to keep out of messages (a role's password).
    secrets: Vec<String>,
}

impl<'a> Session<'a> {
    /// A session as `conn` says, to `dbname`, switching to `session_role` first.
    fn new(conn: &'a PgConn, dbname: &'a str, session_role: Option<&'a str>) -> Session<'a> {
        Session {
            conn,
            dbname,
            session_role,
            secrets: Vec::new(),
        }
    }

    /// The same session, keeping `secret` out of its messages too.
    fn hiding(mut self, secret: Option<&str>) -> Session<'a> {
        self.secrets
            .extend(secret.filter(|s| !s.is_empty()).map(str::to_string));
        self
    }

    /// Runs `sql` (in one transaction when `atomic`); the lines it printed, or why
    /// it failed. The target's missing psql fails the module as `get_bin_path` does.
    async fn run(
        &self,
        on: &Target<'_>,
        sql: &str,
        atomic: bool,
    ) -> Result<Result<Vec<String>, PsqlError>, ModuleError> {
        let passfile = self.conn.passfile().map_err(ModuleError::Failed)?;
        let mut script = String::new();
        if let Some(role) = self.session_role {
            script.push_str(&format!("SET ROLE {};\n\\echo {ROLE_SET}\n", ident(role)));
        }
        script.push_str(sql);
        let env = match passfile {
            Some(_) => format!("PGPASSFILE={} ", part(1)),
            None => String::new(),
        };
        let single = if atomic { " -1" } else { "" };
        let body = format!(
            "{}{env}\"$psql\" -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=terse{single} -d {} < {}",
            require_tool("psql", "psql"),
            quote(&self.conn.conninfo(self.dbname)),
            part(0),
        );
        let mut parts = vec![script.into_bytes()];
        parts.extend(passfile);
        let out = private_input::run(on, &parts, &body).await?;
        let stdout = out.stdout_text();
        let mut lines: Vec<String> = stdout.lines().map(str::to_string).collect();
        let role_set = lines.first().is_some_and(|l| l == ROLE_SET);
        if role_set {
            lines.remove(0);
        }
        let mut secrets = self.conn.secrets();
        secrets.extend(self.secrets.iter().cloned());
        let message = masked(&psql_message(&out.stderr_text()), &secrets);
        Ok(match out.rc {
            0 => Ok(lines),
            2 => Err(PsqlError::Connect(message)),
            _ if self.session_role.is_some() && !role_set => Err(PsqlError::Role(message)),
            _ => Err(PsqlError::Sql(message)),
        })
    }

    /// Runs SELECTs that each print one JSON value; the values, in order.
    async fn select(&self, on: &Target<'_>, sql: &str) -> Result<Vec<Json>, ModuleError> {
        let lines = self
            .run(on, sql, false)
            .await?
            .map_err(|e| e.failure("Database query failed: "))?;
        lines
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| {
                    ModuleError::Failed(format!("unexpected output of psql ({e}): {l}"))
                })
            })
            .collect()
    }
}

/// The server's version number (`server_version_num`, 150004 for 15.4) as the query
/// printed it.
fn version_of(state: &Json) -> i64 {
    state["version"].as_i64().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::{TypedArgs, from_json};
    use serde_json::json;

    module_args! {
        /// Only the connection options.
        struct OnlyConn {
            ..conn: PgConn,
        }
    }

    fn conn(args: Json) -> PgConn {
        let only: OnlyConn = from_json(args).expect("valid arguments");
        only.conn
    }

    #[test]
    fn the_connection_string_follows_get_conn_params() {
        let c = conn(json!({}));
        assert_eq!(
            c.conninfo("postgres"),
            "dbname=postgres user=postgres port=5432 sslmode=prefer"
        );
        let c =
            conn(json!({"login_unix_socket": "/run/pg", "login_host": "localhost", "port": 5433}));
        assert_eq!(
            c.conninfo("my db"),
            "dbname='my db' host=/run/pg user=postgres port=5433 sslmode=prefer"
        );
        let c = conn(
            json!({"login_unix_socket": "/run/pg", "login_host": "db.example", "connect_params": {"connect_timeout": 5, "password": "x"}}),
        );
        assert_eq!(
            c.conninfo("it's"),
            "dbname='it\\'s' host=db.example user=postgres port=5432 sslmode=prefer connect_timeout=5"
        );
        assert_eq!(
            c.passfile().expect("no line break"),
            Some(b"*:*:*:*:x\n".to_vec())
        );
    }

    #[test]
    fn the_password_file_escapes_what_libpq_reads() {
        let c = conn(json!({"login_password": "a:b\\c d"}));
        assert_eq!(
            c.passfile().expect("ok"),
            Some(b"*:*:*:*:a\\:b\\\\c d\n".to_vec())
        );
        assert_eq!(conn(json!({})).passfile().expect("ok"), None);
        assert!(conn(json!({"login_password": "a\nb"})).passfile().is_err());
        assert!(
            OnlyConn::PARAMS
                .iter()
                .any(|p| p.name == "login_password" && p.no_log)
        );
    }

    #[test]
    fn literals_and_identifiers_keep_hostile_names_whole() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\'b"), "E'a\\\\''b'");
        assert_eq!(ident("we\"ird; DROP x"), "\"we\"\"ird; DROP x\"");
    }

    #[test]
    fn psql_messages_lose_their_prefixes() {
        assert_eq!(
            psql_message(
                "psql: error: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  Peer authentication failed for user \"postgres\"\n"
            ),
            "connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  Peer authentication failed for user \"postgres\""
        );
        assert_eq!(
            psql_message("ERROR:  division by zero\n"),
            "division by zero"
        );
        assert_eq!(
            psql_message("NOTICE:  x\npsql:<stdin>:3: ERROR:  role \"a\" does not exist\n"),
            "role \"a\" does not exist"
        );
    }

    #[test]
    fn dangerous_input_is_found_as_check_input_finds_it() {
        assert!(dangerous("x'; --"));
        assert!(dangerous("1 union select 1"));
        assert!(dangerous("a; drop table b"));
        assert!(!dangerous("plain_name"));
        assert_eq!(
            check_input(["ok", "a; DROP x"]),
            Err("Passed input 'a; DROP x' is potentially dangerous".into())
        );
        assert_eq!(masked("pw is s3cret", &["s3cret".into()]), "pw is ********");
    }
}

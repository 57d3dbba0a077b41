//! community.mysql's `mysql_db` and `mysql_user`, driven through the target's own
//! `mariadb` (or `mysql`) client, `mariadb-dump` and `mysqldump`: no Python, no PyMySQL.
//! A query is one client run whose result sets are told apart by marker rows; a change
//! is one client run of the statements the module decided.
//!
//! The client reads an option file of our own, made in a private directory from the
//! command's standard input ([`super::private_input`]), that includes the task's
//! `config_file` (as PyMySQL's `read_default_file` does) and then the login password:
//! no password is ever on a command line. A user's password is hashed here
//! (`mysql_native_password`, as the module hashes it), so only the hash reaches the
//! server.

mod db;
mod privs;
mod user;

pub use db::MysqlDb;
pub use user::MysqlUser;

use serde_json::{Map, Value as Json};

use super::private_input::{self, NO_TOOL, part};
use super::typed::module_args;
use super::{ModuleError, Target};
use crate::connection::quote;

module_args! {
    /// How the modules reach the server: community.mysql's `mysql` fragment.
    pub struct MyConn {
        /// The user to log in as (the client's default when not given).
        login_user: Option<String>,
        /// Its password.
        login_password: Option<String> => .no_log(),
        /// The server's host.
        login_host: String => .default_str("localhost"),
        /// The server's port.
        login_port: i64 => .default_int(3306),
        /// The server's socket, used instead of the host and port.
        login_unix_socket: Option<String>,
        /// The option file read for defaults.
        config_file: String => .default_str("~/.my.cnf"),
        /// Seconds to wait for the connection.
        connect_timeout: i64 => .default_int(30),
        /// The client certificate.
        client_cert: Option<String> => .aliases(&["ssl_cert"]),
        /// The client certificate's key.
        client_key: Option<String> => .aliases(&["ssl_key"]),
        /// The CA certificate the server's is checked against.
        ca_cert: Option<String> => .aliases(&["ssl_ca"]),
        /// Whether the server's certificate must name its host.
        check_hostname: Option<bool>,
    }
}

/// A value in an option file: double-quoted, with the escapes the client reads.
fn option_value(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How a session logs in, beyond the connection options.
#[derive(Clone, Copy, Debug, Default)]
struct Login {
    /// `check_implicit_admin` succeeded: root without a password.
    implicit_admin: bool,
    /// `config_overrides_defaults`: the config file's host and port win over the
    /// defaults of `login_host` and `login_port`.
    overrides_defaults: bool,
}

impl MyConn {
    /// The option file's parts around the included `config_file`: before it, the
    /// host and port it may override; after it, the login password, so that wins.
    fn options(&self, login: Login) -> (Vec<u8>, Vec<u8>) {
        let before = match login.overrides_defaults {
            true => format!(
                "[client]\nhost={}\nport={}\n",
                option_value(&self.login_host),
                self.login_port
            ),
            false => String::new(),
        };
        let password = match login.implicit_admin {
            true => Some(""),
            false => self.login_password.as_deref(),
        };
        let after = match password {
            Some(password) => format!("[client]\npassword={}\n", option_value(password)),
            None => String::new(),
        };
        (before.into_bytes(), after.into_bytes())
    }

    /// Shell text that sets `$cfg` to the `config_file` (`~` expanded) and writes the
    /// option file `"$d/my.cnf"`: input part `before`, the config file when it
    /// exists, part `before + 1`. The first line printed says where the config file
    /// is and whether it exists.
    fn option_file_script(&self, before: usize) -> String {
        let cfg = match self.config_file.strip_prefix("~/") {
            Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
            None if self.config_file == "~" => "\"$HOME\"".to_string(),
            None => quote(&self.config_file),
        };
        format!(
            "cfg={cfg}; if [ -f \"$cfg\" ]; then e=1; else e=0; fi; printf '{CONFIG}\\t%s\\t%s\\n' \"$cfg\" \"$e\"\n\
             {{ cat {}; [ \"$e\" = 1 ] && printf '!include %s\\n' \"$cfg\"; cat {}; }} > \"$d/my.cnf\"\n",
            part(before),
            part(before + 1)
        )
    }

    /// The user to log in as.
    fn user(&self, login: Login) -> Option<&str> {
        match login.implicit_admin {
            true => Some("root"),
            false => self.login_user.as_deref(),
        }
    }

    /// The session's connection flags: user, socket or host and port, timeout and
    /// TLS. The client reaches `localhost` through its socket, as PyMySQL does where
    /// the config file names one (PyMySQL goes over TCP otherwise, where a root that
    /// logs in by `unix_socket` is refused).
    fn flags(&self, login: Login) -> String {
        let mut flags = String::new();
        if let Some(user) = self.user(login) {
            flags.push_str(&format!(" --user={}", quote(user)));
        }
        match &self.login_unix_socket {
            Some(socket) => flags.push_str(&format!(" --socket={}", quote(socket))),
            None if login.overrides_defaults => {}
            None => flags.push_str(&format!(
                " --host={} --port={}",
                quote(&self.login_host),
                self.login_port
            )),
        }
        flags.push_str(&format!(" --connect-timeout={}", self.connect_timeout));
        flags.push_str(&self.tls_flags());
        if self.check_hostname == Some(true) {
            flags.push_str(" --ssl-verify-server-cert");
        }
        flags
    }

    /// The TLS flags.
    fn tls_flags(&self) -> String {
        let mut flags = String::new();
        for (flag, value) in [
            ("--ssl-cert", &self.client_cert),
            ("--ssl-key", &self.client_key),
            ("--ssl-ca", &self.ca_cert),
        ] {
            if let Some(value) = value {
                flags.push_str(&format!(" {flag}={}", quote(value)));
            }
        }
        flags
    }

    /// The secrets a message must never show.
    fn secrets(&self) -> Vec<String> {
        self.login_password
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect()
    }
}

/// `value` as a MySQL string literal, escaped as PyMySQL's `escape_string` does (the
/// session turns `NO_BACKSLASH_ESCAPES` off first, so the escapes always hold).
pub fn literal(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `name` as one quoted identifier, its backticks doubled.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `user@host` as an account in SQL.
fn account(user: &str, host: &str) -> String {
    format!("{}@{}", literal(user), literal(host))
}

/// The first line the script prints: where the config file is.
const CONFIG: &str = "@@bosun:config";

/// The prefix of the marker rows that start each result set.
const MARK: &str = "@@bosun:";

/// The prefix of rows that are statements for a second client run of the same
/// session's script: a query writes the statements it needs to know the names of
/// first (`SHOW GRANTS` for each host of a user).
const RUN: &str = "@@bosun-run ";

/// A marker row's SELECT.
fn mark(name: &str) -> String {
    format!("SELECT '{MARK}{name}';\n")
}

/// `text` with every secret replaced as Ansible's `remove_values` does.
fn masked(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |text, secret| {
        text.replace(secret, "********")
    })
}

/// A client error (`ERROR 1045 (28000) at line 2: Access denied ...`) as PyMySQL
/// shows its exception: `(1045, "Access denied ...")`.
fn driver_message(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("ERROR "))
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("the client failed without a message");
    let Some(rest) = line.strip_prefix("ERROR ") else {
        return line.trim().to_string();
    };
    let (code, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let message = match rest.split_once(": ") {
        Some((_, message)) => message,
        None => rest,
    };
    format!(
        "({code}, {})",
        crate::template::pyfmt::str_repr(message.trim())
    )
}

/// What went wrong in a client run.
#[derive(Debug)]
enum ClientError {
    /// No session: the message, and where the config file is and whether it exists.
    Connect(String, String, bool),
    /// A statement failed.
    Sql(String),
}

/// The result sets of one run, by marker name: rows of tab-separated columns.
type Results = Map<String, Json>;

/// One client session.
struct Session<'a> {
    conn: &'a MyConn,
    /// How it logs in.
    login: Login,
    /// The database to use (`force_context`).
    database: Option<&'a str>,
    /// Statements that open the session (`SET SQL_LOG_BIN=0`, session variables).
    opening: String,
}

impl<'a> Session<'a> {
    /// A session as `conn` says.
    fn new(conn: &'a MyConn) -> Session<'a> {
        Session {
            conn,
            login: Login::default(),
            database: None,
            opening: String::new(),
        }
    }

    /// Runs `sql` (with marker rows, [`mark`]); its result sets, or why it failed.
    async fn run(
        &self,
        on: &Target<'_>,
        sql: &str,
    ) -> Result<Result<Results, ClientError>, ModuleError> {
        let database = match self.database {
            Some(db) => format!(" --database={}", quote(db)),
            None => String::new(),
        };
        let client = format!(
            "\"$my\" --defaults-file=\"$d/my.cnf\"{}{database} -N -B -r",
            self.conn.flags(self.login)
        );
        let body = format!(
            "my=$(command -v mariadb || command -v mysql) || {{ printf 'Failed to find required executable \"%s\" in paths: %s' mysql \"$PATH\" >&2; exit {NO_TOOL}; }}\n\
             {options}cat {opening} {sql} | {client} > \"$d/out\"; rc=$?; cat \"$d/out\"; [ $rc = 0 ] || exit $rc\n\
             sed -n 's/^{RUN}//p' \"$d/out\" > \"$d/next\"\n\
             [ -s \"$d/next\" ] || exit 0\n\
             cat {opening} \"$d/next\" | {client}",
            options = self.conn.option_file_script(1),
            opening = part(3),
            sql = part(0),
        );
        let opening = format!(
            "SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '');\n{}{}",
            mark("connected"),
            self.opening
        );
        let (before, after) = self.conn.options(self.login);
        let parts = [sql.as_bytes().to_vec(), before, after, opening.into_bytes()];
        let out = private_input::run(on, &parts, &body).await?;
        let stdout = out.stdout_text();
        let mut results = Results::new();
        let mut current: Option<String> = None;
        let mut config = (String::new(), false);
        for line in stdout.lines() {
            if line.starts_with(RUN) {
                continue;
            }
            if let Some(rest) = line.strip_prefix(CONFIG) {
                let mut fields = rest.trim_start_matches('\t').split('\t');
                config.0 = fields.next().unwrap_or_default().to_string();
                config.1 = fields.next() == Some("1");
            } else if let Some(name) = line.strip_prefix(MARK) {
                results.insert(name.to_string(), Json::Array(Vec::new()));
                current = Some(name.to_string());
            } else if let Some(Json::Array(rows)) =
                current.as_ref().and_then(|c| results.get_mut(c))
            {
                rows.push(Json::Array(
                    line.split('\t').map(|f| Json::String(f.into())).collect(),
                ));
            }
        }
        let message = masked(&driver_message(&out.stderr_text()), &self.conn.secrets());
        Ok(match (out.rc, results.contains_key("connected")) {
            (0, _) => Ok(results),
            (_, false) => Err(ClientError::Connect(message, config.0, config.1)),
            (_, true) => Err(ClientError::Sql(message)),
        })
    }
}

/// The rows of result set `name`.
fn rows<'r>(results: &'r Results, name: &str) -> Vec<Vec<&'r str>> {
    results
        .get(name)
        .and_then(Json::as_array)
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    row.as_array()
                        .map(|cells| cells.iter().filter_map(Json::as_str).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first cell of result set `name`.
fn first<'r>(results: &'r Results, name: &str) -> Option<&'r str> {
    rows(results, name)
        .first()
        .and_then(|row| row.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    module_args! {
        /// Only the connection options.
        struct OnlyConn {
            ..conn: MyConn,
        }
    }

    fn conn(args: Json) -> MyConn {
        let only: OnlyConn = from_json(args).expect("valid arguments");
        only.conn
    }

    #[test]
    fn the_client_connects_as_pymysql_would() {
        assert_eq!(
            conn(serde_json::json!({})).flags(Login::default()),
            " --host=localhost --port=3306 --connect-timeout=30"
        );
        let c = conn(
            serde_json::json!({"login_user": "root", "login_unix_socket": "/run/mysqld/mysqld.sock", "ssl_ca": "/ca.pem"}),
        );
        assert_eq!(
            c.flags(Login::default()),
            " --user=root --socket=/run/mysqld/mysqld.sock --connect-timeout=30 --ssl-ca=/ca.pem"
        );
    }

    #[test]
    fn the_password_goes_in_the_option_file_escaped() {
        let c = conn(serde_json::json!({"login_password": "a\"b'c\\d #e"}));
        let (before, after) = c.options(Login::default());
        assert!(before.is_empty());
        assert_eq!(
            String::from_utf8(after).expect("text"),
            "[client]\npassword=\"a\\\"b'c\\\\d #e\"\n"
        );
        let admin = Login {
            implicit_admin: true,
            overrides_defaults: true,
        };
        let (before, after) = c.options(admin);
        assert_eq!(before, b"[client]\nhost=\"localhost\"\nport=3306\n");
        assert_eq!(after, b"[client]\npassword=\"\"\n");
        assert_eq!(c.flags(admin), " --user=root --connect-timeout=30");
        assert!(
            conn(serde_json::json!({}))
                .options(Login::default())
                .1
                .is_empty()
        );
    }

    #[test]
    fn literals_and_identifiers_are_escaped() {
        assert_eq!(literal("o'ne\\il\n"), "'o\\'ne\\\\il\\n'");
        assert_eq!(ident("a`b c"), "`a``b c`");
        assert_eq!(account("app", "%"), "'app'@'%'");
    }

    #[test]
    fn client_errors_read_as_pymysql_shows_them() {
        assert_eq!(
            driver_message(
                "ERROR 1045 (28000): Access denied for user 'x'@'localhost' (using password: YES)\n"
            ),
            "(1045, \"Access denied for user 'x'@'localhost' (using password: YES)\")"
        );
        assert_eq!(
            driver_message(
                "ERROR 1007 (HY000) at line 3: Can't create database 'a'; database exists\n"
            ),
            "(1007, \"Can't create database 'a'; database exists\")"
        );
        assert_eq!(
            driver_message("ERROR 1064 (42000) at line 1: bad\n"),
            "(1064, 'bad')"
        );
    }
}

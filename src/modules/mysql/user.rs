//! `mysql_user`: an account (`name@host`, or every host of the name) present with its
//! password, authentication plugin, privileges, TLS requirements and lock, or absent,
//! deciding each change as community.mysql's `user_add`, `user_mod` and
//! `user_delete` do and reporting the same `msg` and `password_changed`. The password
//! is hashed here (`mysql_native_password`: `*` and SHA1(SHA1(password))), as the
//! module has the server hash it, so only the hash reaches the server.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use sha1::{Digest, Sha1};

use super::privs::{self, Privileges};
use super::{ClientError, MyConn, Results, Session, account, first, literal, mark, rows};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages MySQL and MariaDB accounts.
pub struct MysqlUser;

arg_enum! {
    /// Whether the account should exist.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

arg_enum! {
    /// When an existing account's password changes.
    pub enum UpdatePassword {
        Always = "always",
        OnCreate = "on_create",
        OnNewUsername = "on_new_username",
    }
}

arg_enum! {
    /// When the password expires.
    pub enum PasswordExpire {
        Now = "now",
        Never = "never",
        Default = "default",
        Interval = "interval",
    }
}

module_args! {
    /// `mysql_user`'s arguments.
    pub struct UserArgs {
        ..conn: MyConn,
        /// The user name.
        name: String => .required().aliases(&["user"]),
        /// Its password (`mysql_native_password`), or its hash with `encrypted`.
        password: Option<String> => .no_log(),
        /// Whether `password` is a `mysql_native_password` hash already.
        encrypted: bool => .default_bool(false),
        /// The host part of the account.
        host: String => .default_str("localhost"),
        /// Apply to every host of the name.
        host_all: bool => .default_bool(false),
        /// `db.table:PRIV,PRIV/...`, or a mapping of them.
        r#priv: Json,
        /// Add to the privileges rather than replace them.
        append_privs: bool => .default_bool(false),
        /// Revoke the privileges given and keep the others.
        subtract_privs: bool => .default_bool(false),
        /// TLS the account must use (SSL, X509, SUBJECT, ISSUER, CIPHER).
        tls_requires: Option<Map<String, Json>>,
        /// Write the changes to the binary log.
        sql_log_bin: bool => .default_bool(true),
        /// Run in the `mysql` database.
        force_context: bool => .default_bool(false),
        /// Whether the account should exist.
        state: State => .default_str("present"),
        /// Try root without a password first.
        check_implicit_admin: bool => .default_bool(false),
        /// When an existing account's password changes.
        update_password: UpdatePassword => .default_str("always"),
        /// The authentication plugin.
        plugin: Option<String>,
        /// The plugin's hash string (`IDENTIFIED WITH plugin AS ...`).
        plugin_hash_string: Option<String>,
        /// The plugin's authentication string (`IDENTIFIED WITH plugin BY ...`).
        plugin_auth_string: Option<String>,
        /// Session variables set first.
        session_vars: Option<Map<String, Json>>,
        /// Keep the case of column names in privileges.
        column_case_sensitive: Option<bool>,
        /// Whether the account is locked.
        locked: Option<bool>,
        /// User attributes (MySQL 8 only).
        attributes: Option<Map<String, Json>>,
        /// `MAX_QUERIES_PER_HOUR` and the other limits, by name.
        resource_limits: Option<Map<String, Json>>,
        /// When the password expires: now, never, default, interval.
        password_expire: Option<PasswordExpire> => .no_log(),
        /// Days until it expires, with `password_expire: interval`.
        password_expire_interval: Option<i64> => .no_log(),
    }
    rules: crate::modules::typed::Rules {
        mutually_exclusive: &[&["append_privs", "subtract_privs"]],
        required_if: &[("password_expire", "interval", &["password_expire_interval"])],
        ..crate::modules::typed::Rules::NONE
    };
}

/// The resource limits `get_resource_limits` reads, in its order (MariaDB's
/// `MAX_STATEMENT_TIME` last).
const LIMITS: &[&str] = &[
    "MAX_QUERIES_PER_HOUR",
    "MAX_UPDATES_PER_HOUR",
    "MAX_CONNECTIONS_PER_HOUR",
    "MAX_USER_CONNECTIONS",
    "MAX_STATEMENT_TIME",
];

/// `set_password_expire`'s statement for `who`.
fn expire_statement(args: &UserArgs, who: &str) -> Option<String> {
    let clause = match args.password_expire? {
        PasswordExpire::Never => "PASSWORD EXPIRE NEVER".to_string(),
        PasswordExpire::Default => "PASSWORD EXPIRE DEFAULT".to_string(),
        PasswordExpire::Interval => format!(
            "PASSWORD EXPIRE INTERVAL {} DAY",
            args.password_expire_interval.unwrap_or_default()
        ),
        PasswordExpire::Now => "PASSWORD EXPIRE".to_string(),
    };
    Some(format!("ALTER USER {who} {clause}"))
}

/// Whether the account's expiry already is what the task asks.
fn expiry_holds(args: &UserArgs, account: &Account) -> bool {
    match args.password_expire {
        None => true,
        Some(PasswordExpire::Default) => account.lifetime == -1,
        Some(PasswordExpire::Never) => account.lifetime == 0,
        Some(PasswordExpire::Interval) => Some(account.lifetime) == args.password_expire_interval,
        Some(PasswordExpire::Now) => account.expired,
    }
}

/// `limit_resources`' statement for the task's host: the limits that differ from
/// `current` (all of them for an account not there yet).
fn limits_statement(args: &UserArgs, current: Option<&Account>) -> Result<Option<String>, String> {
    let Some(wanted) = args.resource_limits.as_ref().filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let mut changes = Vec::new();
    for (key, value) in wanted {
        let text = match value {
            Json::String(text) => text.clone(),
            other => other.to_string(),
        };
        let Some(account) = current else {
            changes.push(format!("{key} {text}"));
            continue;
        };
        let Some((_, have)) = account.limits.iter().find(|(name, _)| name == key) else {
            return Err(format!("resource_limits: key '{key}' is unsupported."));
        };
        let number: i64 = text
            .trim()
            .parse()
            .map_err(|_| format!("Can't convert value '{text}' to integer."))?;
        if number as f64 != *have {
            changes.push(format!("{key} {number}"));
        }
    }
    Ok(Some(changes).filter(|c| !c.is_empty()).map(|changes| {
        format!(
            "ALTER USER {} WITH {}",
            account(&args.name, &args.host()),
            changes.join(" ")
        )
    }))
}

/// The warning community.mysql gives when `column_case_sensitive` is not given.
const COLUMN_CASE: &str = "Option column_case_sensitive is not provided. The default is now false, so the column's name will be uppercased. The default will be changed to true in community.mysql 4.0.0.";

/// One account of the name, as `mysql.user` and `SHOW GRANTS` describe it.
#[derive(Debug, Default, Clone)]
pub struct Account {
    /// Its host.
    host: String,
    /// The stored password hash (`Password`, else `authentication_string`).
    hash: String,
    /// Its authentication plugin.
    plugin: String,
    /// Its `authentication_string`.
    auth: String,
    /// Its `Password` column.
    password_column: String,
    /// `ssl_type`, `ssl_cipher`, `x509_issuer`, `x509_subject`.
    tls: [String; 4],
    /// `max_questions`, `max_updates`, `max_connections`, `max_user_connections`,
    /// `max_statement_time`, as the limits' names say them.
    limits: Vec<(&'static str, f64)>,
    /// `password_expired`: `Y` or `N`.
    expired: bool,
    /// The password's lifetime in days (`password_lifetime`; -1, the server's
    /// default, when none is set).
    lifetime: i64,
    /// Its `SHOW GRANTS` rows.
    grants: Vec<String>,
    /// Its `SHOW CREATE USER` text.
    create: String,
}

/// What the query finds.
#[derive(Debug, Default)]
pub struct Found {
    /// `@@sql_mode`.
    sql_mode: String,
    /// Every account of the name.
    accounts: Vec<Account>,
    /// Whether the session logged in as root without a password.
    implicit_admin: bool,
}

/// The changes to make.
#[derive(Debug)]
pub struct Plan {
    /// The statements, in order, with the index of each GRANT's privileges text for
    /// community.mysql's message when it fails.
    statements: Vec<String>,
    /// The message once done (check mode's may differ: `Password updated`).
    msg: String,
    /// Whether the change is sure (anything but privileges compared in a shared
    /// `db.table`, which count only if `SHOW GRANTS` then differs).
    sure: bool,
    /// The accounts' grants before, by host, when privileges are compared after.
    grants_before: Vec<(String, Privileges)>,
    /// Whether to log in as root without a password.
    implicit_admin: bool,
    /// A new account's `password_changed` once added (check mode reports none).
    added: Option<bool>,
}

/// `*` and the upper-case hex of SHA1(SHA1(password)): `mysql_native_password`.
fn native_hash(password: &str) -> String {
    let inner = Sha1::digest(password.as_bytes());
    format!("*{}", hex::encode_upper(Sha1::digest(inner)))
}

/// Whether `text` is a `mysql_native_password` hash (`is_hash`).
fn is_hash(text: &str) -> bool {
    text.len() == 41 && text.starts_with('*') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The TLS requirements as `sanitize_requires` makes them: a mapping of
/// SUBJECT/ISSUER/CIPHER, or `SSL` or `X509`.
#[derive(Debug, Clone, PartialEq)]
enum Requires {
    /// `REQUIRE SSL` or `REQUIRE X509`.
    Word(String),
    /// `REQUIRE SUBJECT '...' AND ...`.
    Specified(Vec<(String, String)>),
}

fn sanitize(requires: &Map<String, Json>) -> Option<Requires> {
    if requires.is_empty() {
        return None;
    }
    let upper: Vec<(String, Json)> = requires
        .iter()
        .map(|(k, v)| (k.to_uppercase(), v.clone()))
        .collect();
    let specified: Vec<(String, String)> = upper
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "CIPHER" | "ISSUER" | "SUBJECT"))
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect();
    if !specified.is_empty() {
        return Some(Requires::Specified(specified));
    }
    match upper.iter().any(|(k, _)| k == "X509") {
        true => Some(Requires::Word("X509".into())),
        false => Some(Requires::Word("SSL".into())),
    }
}

/// The account's current requirements (`get_tls_requires`, sanitized).
fn current_requires(account: &Account) -> Option<Requires> {
    let [kind, cipher, issuer, subject] = &account.tls;
    let mut map = Map::new();
    if kind == "ANY" {
        map.insert("SSL".into(), Json::Null);
    }
    if kind == "X509" {
        map.insert("X509".into(), Json::Null);
    }
    for (key, value) in [("CIPHER", cipher), ("ISSUER", issuer), ("SUBJECT", subject)] {
        if !value.is_empty() {
            map.insert(key.into(), json!(value));
        }
    }
    sanitize(&map)
}

/// ` REQUIRE ...` for `requires`.
fn require_clause(requires: &Requires) -> String {
    match requires {
        Requires::Word(word) => format!(" REQUIRE {word}"),
        Requires::Specified(items) => format!(
            " REQUIRE {}",
            items
                .iter()
                .map(|(k, v)| format!("{k} {}", literal(v)))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
    }
}

/// Python's `str()` of a list of strings: `['SELECT', 'INSERT']`.
fn python_list(items: &[String]) -> String {
    let shown: Vec<String> = items
        .iter()
        .map(|i| crate::template::pyfmt::str_repr(i))
        .collect();
    format!("[{}]", shown.join(", "))
}

impl UserArgs {
    /// The host as the module reads it: lower-cased.
    fn host(&self) -> String {
        self.host.to_lowercase()
    }

    /// A session as the task logs in.
    fn session(&self, implicit_admin: bool) -> Session<'_> {
        let mut session = Session::new(&self.conn);
        session.login.implicit_admin = implicit_admin;
        if self.force_context {
            session.database = Some("mysql");
        }
        if !self.sql_log_bin {
            session.opening.push_str("SET SQL_LOG_BIN=0;\n");
        }
        for (name, value) in self.session_vars.iter().flatten() {
            let value = match value {
                Json::String(text) => literal(text),
                Json::Bool(b) => literal(if *b { "1" } else { "0" }),
                other => other.to_string(),
            };
            session
                .opening
                .push_str(&format!("SET SESSION {} = {value};\n", super::ident(name)));
        }
        session
    }

    /// The task's privileges, unpacked for the server's `sql_mode`.
    fn privileges(&self, sql_mode: &str) -> Result<Option<Privileges>, String> {
        let Some(text) = privs::priv_string(&self.r#priv)? else {
            return Ok(None);
        };
        let ansi = sql_mode.contains("ANSI");
        let case_sensitive = self.column_case_sensitive == Some(true);
        privs::unpack(&text, ansi, case_sensitive, !self.subtract_privs).map(Some)
    }
}

/// The query: the server, every account of the name, and (in a second statement
/// list the first one writes) each account's `SHOW GRANTS` and `SHOW CREATE USER`.
fn query_sql(args: &UserArgs) -> String {
    let user = literal(&args.name);
    let only_host = match args.host_all {
        true => String::new(),
        false => format!(" AND Host = {}", literal(&args.host())),
    };
    format!(
        "{}SELECT @@sql_mode;\n{}SELECT Host, COALESCE(NULLIF(Password, ''), NULLIF(authentication_string, ''), ''), \
         plugin, authentication_string, Password, ssl_type, ssl_cipher, x509_issuer, x509_subject, \
         max_questions, max_updates, max_connections, max_user_connections, max_statement_time, password_expired, \
         COALESCE((SELECT JSON_EXTRACT(g.Priv, '$.password_lifetime') FROM mysql.global_priv g WHERE g.User = u.User AND g.Host = u.Host), -1) \
         FROM mysql.user u WHERE User = {user};\n\
         SELECT CONCAT('{RUN}', 'SELECT ', QUOTE(CONCAT('{MARKS}grants@', Host)), '; SHOW GRANTS FOR ', QUOTE(User), '@', QUOTE(Host), \
         '; SELECT ', QUOTE(CONCAT('{MARKS}create@', Host)), '; SHOW CREATE USER ', QUOTE(User), '@', QUOTE(Host), ';') \
         FROM mysql.user WHERE User = {user}{only_host};\n",
        mark("mode"),
        mark("accounts"),
        RUN = super::RUN,
        MARKS = super::MARK,
    )
}

/// The accounts in the query's results.
fn accounts(results: &Results) -> Vec<Account> {
    let text = |row: &Vec<&str>, i: usize| row.get(i).copied().unwrap_or_default().to_string();
    rows(results, "accounts")
        .iter()
        .map(|row| {
            let host = text(row, 0);
            let lines = |kind: &str| -> Vec<String> {
                rows(results, &format!("{kind}@{host}"))
                    .iter()
                    .map(|r| r.join("\t"))
                    .collect()
            };
            Account {
                hash: text(row, 1),
                plugin: text(row, 2),
                auth: text(row, 3),
                password_column: text(row, 4),
                tls: [text(row, 5), text(row, 6), text(row, 7), text(row, 8)],
                limits: LIMITS
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (*name, text(row, 9 + i).parse().unwrap_or(0.0)))
                    .collect(),
                expired: text(row, 14) == "Y",
                lifetime: text(row, 15).parse().unwrap_or(-1),
                grants: lines("grants"),
                create: lines("create").join("\n"),
                host,
            }
        })
        .collect()
}

/// What `user_add` does for a new account: its statements, and whether the password
/// it got is the task's (`password_changed`).
fn add(
    args: &UserArgs,
    found: &Found,
    privileges: Option<&Privileges>,
) -> Result<(Vec<String>, bool), String> {
    let host = args.host();
    let who = account(&args.name, &host);
    let mut password = args.password.clone().filter(|p| !p.is_empty());
    let mut plugin = args.plugin.clone();
    let mut plugin_hash = args.plugin_hash_string.clone();
    let mut reused = false;
    if args.update_password == UpdatePassword::OnNewUsername {
        let mut existing: Vec<(String, String)> = Vec::new();
        for account in &found.accounts {
            for auth in [&account.password_column, &account.auth] {
                let pair = (account.plugin.clone(), auth.clone());
                if !existing.contains(&pair) {
                    existing.push(pair);
                }
            }
        }
        if existing.len() == 1 {
            let (existing_plugin, existing_hash) = existing.remove(0);
            plugin = Some(existing_plugin);
            plugin_hash = Some(existing_hash);
            password = None;
            reused = true;
        }
    }
    let mut create = match (&password, &plugin) {
        (Some(password), _) if args.encrypted => {
            format!(
                "CREATE USER {who} IDENTIFIED BY PASSWORD {}",
                literal(password)
            )
        }
        (Some(password), _) => format!(
            "CREATE USER {who} IDENTIFIED WITH mysql_native_password AS {}",
            literal(&native_hash(password))
        ),
        (None, Some(plugin)) => match (&plugin_hash, &args.plugin_auth_string) {
            (Some(hash), _) => format!(
                "CREATE USER {who} IDENTIFIED WITH {} AS {}",
                literal(plugin),
                literal(hash)
            ),
            (None, Some(auth)) if plugin == "pam" => {
                format!(
                    "CREATE USER {who} IDENTIFIED WITH {} USING {}",
                    literal(plugin),
                    literal(auth)
                )
            }
            (None, Some(auth)) if plugin == "ed25519" => format!(
                "CREATE USER {who} IDENTIFIED WITH {} USING PASSWORD({})",
                literal(plugin),
                literal(auth)
            ),
            (None, Some(auth)) => {
                format!(
                    "CREATE USER {who} IDENTIFIED WITH {} BY {}",
                    literal(plugin),
                    literal(auth)
                )
            }
            (None, None) => format!("CREATE USER {who} IDENTIFIED WITH {}", literal(plugin)),
        },
        (None, None) => format!("CREATE USER {who}"),
    };
    if let Some(requires) = args.tls_requires.as_ref().and_then(sanitize) {
        create.push_str(&require_clause(&requires));
    }
    let mut statements = vec![create];
    statements.extend(expire_statement(args, &who));
    for (db_table, privileges) in privileges.into_iter().flatten() {
        statements.push(privs::grant(&who, db_table, privileges));
    }
    if args.locked == Some(true) {
        statements.push(format!("ALTER USER {who} ACCOUNT LOCK"));
    }
    Ok((statements, !reused))
}

/// What `user_mod` changes on one existing account.
struct Modified {
    statements: Vec<String>,
    /// The last message in check mode, and once done.
    msg: Option<(String, String)>,
    password_changed: bool,
    /// A change other than privileges compared in a shared `db.table`.
    sure: bool,
    /// Privileges compared in a shared `db.table` differ.
    compared: bool,
}

/// `user_mod` for `account`.
fn modify(
    args: &UserArgs,
    account: &Account,
    privileges: Option<&Privileges>,
) -> Result<Modified, String> {
    let who = super::account(&args.name, &account.host);
    let mut out = Modified {
        statements: Vec::new(),
        msg: None,
        password_changed: false,
        sure: false,
        compared: false,
    };
    let always = args.update_password == UpdatePassword::Always;
    if let Some(password) = args.password.as_deref().filter(|p| !p.is_empty() && always) {
        let hash = match args.encrypted {
            true if !is_hash(password) => {
                return Err("encrypted was specified however it does not appear to be a valid hash expecting: *SHA1(SHA1(your_password))".into());
            }
            true => password.to_string(),
            false => native_hash(password),
        };
        if account.hash != hash {
            out.password_changed = true;
            out.sure = true;
            out.msg = Some((
                "Password updated".into(),
                "Password updated (new style)".into(),
            ));
            out.statements.push(format!(
                "ALTER USER {who} IDENTIFIED WITH mysql_native_password AS {}",
                literal(&hash)
            ));
        }
    }
    if !expiry_holds(args, account)
        && let Some(statement) = expire_statement(args, &who)
    {
        out.statements.push(statement);
        out.password_changed = true;
        out.sure = true;
    }
    if let Some(plugin) = args.plugin.as_ref().filter(|_| always) {
        let differs = account.plugin != *plugin
            || args
                .plugin_hash_string
                .as_ref()
                .is_some_and(|h| *h != account.auth)
            || args
                .plugin_auth_string
                .as_ref()
                .is_some_and(|a| *a != account.auth);
        if differs {
            let p = literal(plugin);
            let statement = match (&args.plugin_hash_string, &args.plugin_auth_string) {
                (Some(hash), _) => {
                    format!("ALTER USER {who} IDENTIFIED WITH {p} AS {}", literal(hash))
                }
                (None, Some(auth)) if plugin == "pam" => {
                    format!(
                        "ALTER USER {who} IDENTIFIED WITH {p} USING {}",
                        literal(auth)
                    )
                }
                (None, Some(auth)) if plugin == "ed25519" => {
                    format!(
                        "ALTER USER {who} IDENTIFIED WITH {p} USING PASSWORD({})",
                        literal(auth)
                    )
                }
                (None, Some(auth)) => {
                    format!("ALTER USER {who} IDENTIFIED WITH {p} BY {}", literal(auth))
                }
                (None, None) => format!("ALTER USER {who} IDENTIFIED WITH {p}"),
            };
            out.statements.push(statement);
            out.password_changed = true;
            out.sure = true;
        }
    }
    if let Some(wanted) = privileges {
        let current = privs::parse_grants(
            &account
                .grants
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )?;
        let mut grant_option = false;
        if !args.append_privs && !args.subtract_privs {
            for (db_table, privileges) in &current {
                if privileges.iter().any(|p| p == "GRANT") {
                    grant_option = true;
                }
                if !wanted.contains_key(db_table)
                    && args.name != "root"
                    && !privileges.iter().any(|p| p == "PROXY")
                {
                    out.msg = Some(("Privileges updated".into(), "Privileges updated".into()));
                    out.statements
                        .extend(privs::revoke(&who, db_table, privileges, grant_option));
                    out.sure = true;
                }
            }
        }
        if !args.subtract_privs {
            for (db_table, privileges) in wanted {
                if !current.contains_key(db_table) {
                    let msg = "New privileges granted".to_string();
                    out.msg = Some((msg.clone(), msg));
                    out.statements
                        .push(privs::grant(&who, db_table, privileges));
                    out.sure = true;
                }
            }
        }
        for (db_table, new) in wanted {
            let Some(have) = current.get(db_table) else {
                continue;
            };
            let missing: Vec<String> = new.iter().filter(|p| !have.contains(p)).cloned().collect();
            let common: Vec<String> = new.iter().filter(|p| have.contains(p)).cloned().collect();
            let extra: Vec<String> = have.iter().filter(|p| !new.contains(p)).cloned().collect();
            let (mut grants, mut revokes) = match (args.append_privs, args.subtract_privs) {
                (true, _) => (missing, Vec::new()),
                (_, true) => (Vec::new(), common),
                _ => (missing, extra),
            };
            if !args.append_privs && !args.subtract_privs {
                if grants.iter().any(|p| p == "ALL" || p == "ALL PRIVILEGES") {
                    revokes.retain(|p| p == "GRANT" || p == "PROXY");
                }
                grant_option =
                    revokes.iter().any(|p| p == "GRANT") && !grants.iter().any(|p| p == "GRANT");
            }
            if grants == ["GRANT"] {
                grants.push("USAGE".into());
            }
            if !grants.is_empty() || !revokes.is_empty() {
                let msg = format!(
                    "Privileges updated: granted {}, revoked {}",
                    python_list(&grants),
                    python_list(&revokes)
                );
                out.msg = Some((msg.clone(), msg));
                if !revokes.is_empty() {
                    out.statements
                        .extend(privs::revoke(&who, db_table, &revokes, grant_option));
                }
                if !grants.is_empty() {
                    out.statements.push(privs::grant(&who, db_table, &grants));
                }
                out.compared = true;
            }
        }
    }
    if let Some(locked) = args.locked {
        let is_locked = account.create.find("ACCOUNT LOCK").is_some_and(|at| at > 0);
        if is_locked != locked {
            let (word, check, done) = match locked {
                true => ("LOCK", "User will be locked", "User locked"),
                false => ("UNLOCK", "User will be unlocked", "User unlocked"),
            };
            out.statements
                .push(format!("ALTER USER {who} ACCOUNT {word}"));
            out.msg = Some((check.into(), done.into()));
            out.sure = true;
        }
    }
    let wanted = args.tls_requires.as_ref().and_then(sanitize);
    if current_requires(account) != wanted {
        let clause = match &wanted {
            Some(requires) => require_clause(requires),
            None => " REQUIRE NONE".into(),
        };
        out.statements.push(format!("ALTER USER {who}{clause}"));
        let msg = "TLS requires updated".to_string();
        out.msg = Some((msg.clone(), msg));
        out.sure = true;
    }
    Ok(out)
}

#[async_trait]
impl StateModule for MysqlUser {
    const NAME: &'static str = "mysql_user";
    type Args = UserArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &UserArgs) -> Result<Found, ModuleError> {
        privs::priv_string(&args.r#priv).map_err(ModuleError::Failed)?;
        let sql = query_sql(args);
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
            Err(ClientError::Connect(message, config, _)) => {
                return Err(ModuleError::Failed(format!(
                    "unable to connect to database, check login_user and login_password are correct or {config} has the credentials. Exception message: {message}"
                )));
            }
            Err(ClientError::Sql(message)) => return Err(ModuleError::Failed(message)),
        };
        Ok(Found {
            sql_mode: first(&results, "mode").unwrap_or_default().to_string(),
            accounts: accounts(&results),
            implicit_admin,
        })
    }

    fn decide(&self, args: &UserArgs, found: Found) -> Result<Decision<Plan>, String> {
        let mut warnings = Vec::new();
        if args.column_case_sensitive.is_none() {
            warnings.push(COLUMN_CASE.to_string());
        }
        let host = args.host();
        let targets: Vec<&Account> = found
            .accounts
            .iter()
            .filter(|a| args.host_all || a.host == host)
            .collect();
        let plan = |statements: Vec<String>, msg: String, sure: bool, grants_before| {
            Some(Plan {
                statements,
                msg,
                sure,
                grants_before,
                implicit_admin: found.implicit_admin,
                added: None,
            })
        };
        let decision = |plan: Option<Plan>, msg: &str, password_changed: Json, attributes: Json| {
            let mut decision = Decision::maybe(plan)
                .with("user", args.name.clone())
                .with("msg", msg)
                .with("password_changed", password_changed)
                .with("attributes", attributes);
            if !warnings.is_empty() {
                decision = decision.with("warnings", json!(warnings));
            }
            decision
        };
        if args.state == State::Absent {
            if targets.is_empty() {
                return Ok(decision(
                    None,
                    "User doesn't exist",
                    json!(false),
                    Json::Null,
                ));
            }
            let statements = targets
                .iter()
                .map(|a| format!("DROP USER IF EXISTS {}", account(&args.name, &a.host)))
                .collect();
            let plan = plan(statements, "User deleted".into(), true, Vec::new());
            return Ok(decision(plan, "User deleted", json!(false), Json::Null));
        }
        if args.password_expire_interval.is_some_and(|days| days < 1) {
            return Err("password_expire_interval value should be positive number".into());
        }
        if args.attributes.as_ref().is_some_and(|a| !a.is_empty()) {
            return Err(
                "user attributes were specified but the server does not support user attributes"
                    .into(),
            );
        }
        let privileges = args.privileges(&found.sql_mode)?;
        if targets.is_empty() {
            if args.host_all {
                return Err("host_all parameter cannot be used when adding a user".into());
            }
            let privileges = privileges.filter(|_| !args.subtract_privs);
            let (mut statements, password_changed) = add(args, &found, privileges.as_ref())?;
            statements.extend(limits_statement(args, None)?);
            let plan = plan(statements, "User added".into(), true, Vec::new()).map(|plan| Plan {
                added: Some(password_changed),
                ..plan
            });
            // Check mode reports no password change for an account it did not add.
            return Ok(decision(plan, "User added", Json::Null, Json::Null));
        }
        let mut statements = Vec::new();
        let mut msg = ("User unchanged".to_string(), "User unchanged".to_string());
        let mut password_changed = false;
        let mut sure = false;
        let mut compared = false;
        let mut grants_before = Vec::new();
        for account in &targets {
            let modified = modify(args, account, privileges.as_ref())?;
            statements.extend(modified.statements);
            if let Some(m) = modified.msg {
                msg = m;
            }
            password_changed |= modified.password_changed;
            sure |= modified.sure;
            if modified.compared {
                compared = true;
                let before = privs::parse_grants(
                    &account
                        .grants
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )?;
                grants_before.push((account.host.clone(), before));
            }
        }
        let own = targets.iter().copied().find(|a| a.host == host);
        if let Some(limits) = limits_statement(args, own)? {
            statements.push(limits);
            sure = true;
        }
        let changed = sure || compared;
        let plan = match changed {
            true => plan(statements, msg.1, sure, grants_before),
            false => None,
        };
        Ok(decision(plan, &msg.0, json!(password_changed), json!({})))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &UserArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let mut sql: String = plan.statements.iter().map(|s| format!("{s};\n")).collect();
        for (host, _) in &plan.grants_before {
            sql.push_str(&format!(
                "{}SHOW GRANTS FOR {};\n",
                mark(&format!("after@{host}")),
                account(&args.name, host)
            ));
        }
        let results = match args.session(plan.implicit_admin).run(on, &sql).await? {
            Ok(results) => results,
            Err(ClientError::Connect(message, ..)) | Err(ClientError::Sql(message)) => {
                return Err(ModuleError::Failed(message));
            }
        };
        let mut outcome = Outcome::new();
        outcome.insert("msg".into(), json!(plan.msg));
        if let Some(password_changed) = plan.added {
            outcome.insert("password_changed".into(), json!(password_changed));
        }
        if !plan.sure {
            let mut differs = false;
            for (host, before) in &plan.grants_before {
                let rows: Vec<String> = rows(&results, &format!("after@{host}"))
                    .iter()
                    .map(|r| r.join("\t"))
                    .collect();
                let after =
                    privs::parse_grants(&rows.iter().map(String::as_str).collect::<Vec<_>>())
                        .map_err(ModuleError::Failed)?;
                differs |= after != *before;
            }
            outcome.insert("changed".into(), json!(differs));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(value: Json) -> UserArgs {
        from_json(value).expect("valid arguments")
    }

    fn existing(hash: &str, grants: &[&str]) -> Found {
        Found {
            sql_mode: "STRICT_TRANS_TABLES".into(),
            accounts: vec![Account {
                host: "localhost".into(),
                hash: hash.into(),
                plugin: "mysql_native_password".into(),
                auth: hash.into(),
                password_column: hash.into(),
                grants: grants.iter().map(|g| g.to_string()).collect(),
                lifetime: -1,
                create: "CREATE USER `app`@`localhost` IDENTIFIED BY PASSWORD '*X'".into(),
                ..Account::default()
            }],
            implicit_admin: false,
        }
    }

    fn decide(value: Json, found: Found) -> Decision<Plan> {
        MysqlUser.decide(&args(value), found).expect("decides")
    }

    #[test]
    fn the_native_hash_is_the_server_s() {
        assert_eq!(
            native_hash("a\"b'c\\d #e $f"),
            "*4F7EA84D4C4D7FCCA2BDC25E17E21415313CC309"
        );
        assert!(is_hash("*4F7EA84D4C4D7FCCA2BDC25E17E21415313CC309"));
        assert!(!is_hash("4F7EA84D"));
    }

    #[test]
    fn a_new_account_is_added_with_its_hash_and_privileges() {
        let decision = decide(
            json!({"name": "app", "password": "pw", "priv": "appdb.*:ALL", "column_case_sensitive": false}),
            Found::default(),
        );
        assert_eq!(decision.result["msg"], "User added");
        assert_eq!(decision.result["password_changed"], Json::Null);
        let plan = decision.plan.expect("a change");
        assert_eq!(
            plan.statements,
            [
                format!(
                    "CREATE USER 'app'@'localhost' IDENTIFIED WITH mysql_native_password AS '{}'",
                    native_hash("pw")
                ),
                "GRANT ALL ON `appdb`.* TO 'app'@'localhost'".to_string(),
                "GRANT USAGE ON *.* TO 'app'@'localhost'".to_string(),
            ]
        );
        assert!(!plan.statements.concat().contains("'pw'"));
        assert!(decision.result.get("warnings").is_none());
    }

    #[test]
    fn an_unchanged_account_changes_nothing_and_a_new_password_is_set() {
        let grants = [
            "GRANT USAGE ON *.* TO `app`@`localhost` IDENTIFIED BY PASSWORD '*X'",
            "GRANT ALL PRIVILEGES ON `appdb`.* TO `app`@`localhost`",
        ];
        let hash = native_hash("pw");
        let same = json!({"name": "app", "password": "pw", "priv": "appdb.*:ALL"});
        let decision = decide(same.clone(), existing(&hash, &grants));
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["msg"], "User unchanged");
        assert_eq!(decision.result["attributes"], json!({}));
        assert_eq!(decision.result["warnings"], json!([COLUMN_CASE]));
        let decision = decide(
            json!({"name": "app", "password": "new"}),
            existing(&hash, &grants),
        );
        assert_eq!(decision.result["msg"], "Password updated");
        assert_eq!(decision.result["password_changed"], true);
        let plan = decision.plan.expect("a change");
        assert_eq!(plan.msg, "Password updated (new style)");
        let on_create = json!({"name": "app", "password": "new", "update_password": "on_create"});
        assert!(decide(on_create, existing(&hash, &grants)).plan.is_none());
    }

    #[test]
    fn privileges_are_replaced_appended_or_subtracted() {
        let grants = [
            "GRANT USAGE ON *.* TO `app`@`localhost`",
            "GRANT SELECT, INSERT ON `a`.* TO `app`@`localhost`",
            "GRANT SELECT ON `b`.* TO `app`@`localhost`",
        ];
        let found = || existing("", &grants);
        let plan = decide(json!({"name": "app", "priv": "a.*:SELECT"}), found())
            .plan
            .expect("a change");
        assert_eq!(
            plan.statements,
            [
                "REVOKE SELECT ON `b`.* FROM 'app'@'localhost'",
                "FLUSH PRIVILEGES",
                "REVOKE INSERT ON `a`.* FROM 'app'@'localhost'",
                "FLUSH PRIVILEGES",
            ]
        );
        assert!(plan.sure);
        let decision = decide(
            json!({"name": "app", "priv": "a.*:DELETE", "append_privs": true}),
            found(),
        );
        assert_eq!(
            decision.result["msg"],
            "Privileges updated: granted ['DELETE'], revoked []"
        );
        let plan = decision.plan.expect("a change");
        assert_eq!(
            plan.statements,
            ["GRANT DELETE ON `a`.* TO 'app'@'localhost'"]
        );
        assert!(!plan.sure, "counted only if SHOW GRANTS then differs");
        let plan = decide(
            json!({"name": "app", "priv": "a.*:INSERT", "subtract_privs": true}),
            found(),
        )
        .plan
        .expect("a change");
        assert_eq!(
            plan.statements,
            [
                "REVOKE INSERT ON `a`.* FROM 'app'@'localhost'",
                "FLUSH PRIVILEGES"
            ]
        );
        let both = json!({"name": "app", "append_privs": true, "subtract_privs": true});
        assert_eq!(
            from_json::<UserArgs>(both).expect_err("exclusive"),
            "parameters are mutually exclusive: append_privs|subtract_privs"
        );
    }

    #[test]
    fn absent_drops_every_host_with_host_all() {
        let mut found = existing("", &[]);
        let mut other = found.accounts[0].clone();
        other.host = "%".into();
        found.accounts.push(other);
        let decision = decide(
            json!({"name": "app", "state": "absent", "host_all": true}),
            found,
        );
        assert_eq!(decision.result["msg"], "User deleted");
        assert_eq!(
            decision.plan.expect("a change").statements,
            [
                "DROP USER IF EXISTS 'app'@'localhost'",
                "DROP USER IF EXISTS 'app'@'%'"
            ]
        );
        let decision = decide(json!({"name": "app", "state": "absent"}), Found::default());
        assert_eq!(decision.result["msg"], "User doesn't exist");
        assert!(decision.plan.is_none());
        let err = MysqlUser
            .decide(
                &args(json!({"name": "app", "host_all": true})),
                Found::default(),
            )
            .expect_err("cannot add");
        assert_eq!(err, "host_all parameter cannot be used when adding a user");
    }

    #[test]
    fn expiry_and_resource_limits_change_only_when_they_differ() {
        let mut found = existing("", &["GRANT USAGE ON *.* TO `app`@`localhost`"]);
        found.accounts[0].limits = LIMITS.iter().map(|l| (*l, 0.0)).collect();
        let same = json!({"name": "app", "password_expire": "default", "resource_limits": {"MAX_USER_CONNECTIONS": 0}});
        assert!(decide(same, existing_with(&found)).plan.is_none());
        let other = json!({"name": "app", "password_expire": "interval", "password_expire_interval": 90,
                           "resource_limits": {"MAX_QUERIES_PER_HOUR": "10", "MAX_STATEMENT_TIME": 0}});
        let decision = decide(other, existing_with(&found));
        assert_eq!(decision.result["password_changed"], true);
        assert_eq!(
            decision.plan.expect("a change").statements,
            [
                "ALTER USER 'app'@'localhost' PASSWORD EXPIRE INTERVAL 90 DAY",
                "ALTER USER 'app'@'localhost' WITH MAX_QUERIES_PER_HOUR 10"
            ]
        );
        let bad = json!({"name": "app", "resource_limits": {"MAX_FUN": 1}});
        assert_eq!(
            MysqlUser
                .decide(&args(bad), existing_with(&found))
                .expect_err("unsupported"),
            "resource_limits: key 'MAX_FUN' is unsupported."
        );
        assert_eq!(
            from_json::<UserArgs>(json!({"name": "app", "password_expire": "interval"}))
                .expect_err("no interval"),
            "password_expire is interval but all of the following are missing: password_expire_interval"
        );
    }

    fn existing_with(found: &Found) -> Found {
        Found {
            sql_mode: found.sql_mode.clone(),
            accounts: found.accounts.clone(),
            implicit_admin: false,
        }
    }

    #[test]
    fn a_lock_and_tls_requirements_follow_the_task() {
        let found = existing("", &["GRANT USAGE ON *.* TO `app`@`localhost`"]);
        let decision = decide(
            json!({"name": "app", "locked": true, "tls_requires": {"x509": null}}),
            found,
        );
        assert_eq!(decision.result["msg"], "TLS requires updated");
        assert_eq!(
            decision.plan.expect("a change").statements,
            [
                "ALTER USER 'app'@'localhost' ACCOUNT LOCK",
                "ALTER USER 'app'@'localhost' REQUIRE X509"
            ]
        );
    }
}

//! `postgresql_user`: a role present with its password, attribute flags, expiry,
//! connection limit, comment and configuration, or absent, deciding each change as
//! community.postgresql does (a stored SCRAM secret is checked against the password,
//! an MD5 hash recomputed), and reporting the same `queries`. The password goes to the
//! server already hashed for its `password_encryption` ([`super::scram`]).

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::scram::{self, DEFAULT_ITERATIONS};
use super::{PgConn, PsqlError, Session, check_input, ident, literal, version_of};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages PostgreSQL roles.
pub struct PostgresqlUser;

arg_enum! {
    /// Whether the role should exist.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `postgresql_user`'s arguments.
    pub struct UserArgs {
        ..conn: PgConn,
        /// The role.
        user: String => .required().aliases(&["name"]),
        /// Its password: clear, or an MD5 or SCRAM-SHA-256 hash; empty for none.
        password: Option<String> => .no_log(),
        /// Whether it should exist.
        state: State => .default_str("present"),
        /// The database to connect to.
        login_db: String => .default_str("").aliases(&["db"]),
        /// Whether failing to drop the role fails the task.
        fail_on_user: bool => .default_bool(true).aliases(&["fail_on_role"]),
        /// `CREATEDB,NOSUPERUSER` ...
        role_attr_flags: String => .default_str(""),
        /// Whether the server stores the password hashed.
        encrypted: bool => .default_bool(true),
        /// Whether to leave an existing role's password and other settings alone.
        no_password_changes: bool => .default_bool(false),
        /// When the password expires.
        expires: Option<String>,
        /// Its connection limit.
        conn_limit: Option<i64>,
        /// The role to switch to after connecting.
        session_role: Option<String>,
        /// Its comment.
        comment: Option<String>,
        /// Whether to take the values as they are rather than check them for SQL.
        trust_input: bool => .default_bool(true),
        /// Its default settings (`ALTER ROLE ... SET`).
        configuration: Option<Map<String, Json>>,
        /// Whether settings the task does not give are reset.
        reset_unspecified_configuration: bool => .default_bool(false),
        /// Whether setting values are quoted.
        quote_configuration_values: bool => .default_bool(true),
    }
}

/// The attribute flags `parse_role_attrs` accepts.
const FLAGS: &[&str] = &[
    "SUPERUSER",
    "CREATEROLE",
    "CREATEDB",
    "INHERIT",
    "LOGIN",
    "REPLICATION",
];

/// The `pg_authid` column of a flag.
fn column(flag: &str) -> &'static str {
    match flag {
        "SUPERUSER" => "rolsuper",
        "CREATEROLE" => "rolcreaterole",
        "CREATEDB" => "rolcreatedb",
        "INHERIT" => "rolinherit",
        "LOGIN" => "rolcanlogin",
        "REPLICATION" => "rolreplication",
        _ => "rolbypassrls",
    }
}

/// `role_attr_flags` checked and written as `parse_role_attrs` does (each once, in
/// the order given), for `version` of the server.
fn parse_flags(text: &str, version: i64) -> Result<Vec<String>, String> {
    let mut flags: Vec<String> = Vec::new();
    for flag in text.split(',').filter(|f| !f.is_empty()) {
        let flag = flag.to_uppercase();
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    let valid = |flag: &str| {
        let bare = flag.strip_prefix("NO").unwrap_or(flag);
        FLAGS.contains(&bare) || (bare == "BYPASSRLS" && version >= 90500)
    };
    let invalid: Vec<&str> = flags
        .iter()
        .map(String::as_str)
        .filter(|f| !valid(f))
        .collect();
    match invalid.is_empty() {
        true => Ok(flags),
        false => Err(format!(
            "Invalid role_attr_flags specified: {}",
            invalid.join(" ")
        )),
    }
}

/// Whether the role's flags differ from `flags` (`need_to_change_role_attr_flags`).
fn flags_differ(flags: &[String], role: &Json) -> bool {
    flags.iter().any(|flag| {
        let (name, wanted) = match flag.strip_prefix("NO") {
            Some(name) => (name, false),
            None => (flag.as_str(), true),
        };
        role[column(name)].as_bool() != Some(wanted)
    })
}

/// What the query finds.
#[derive(Debug)]
pub struct Found {
    /// The role's `pg_authid` row (or `pg_roles`' where pg_authid is not readable).
    role: Option<Json>,
    /// Server settings and the role's comment, configuration and expiry comparison.
    server: Json,
}

/// The changes to make.
#[derive(Debug)]
pub enum Plan {
    /// Statements run in one transaction: the SQL run and the text reported for each.
    Present(Vec<(String, String)>),
    /// `DROP USER`.
    Drop(String),
    /// What community.postgresql refuses only once it would change the role.
    Refuse(String),
}

/// The password as it is sent: a hash made here for the server's
/// `password_encryption`, or the value given when it is a hash already (or must go
/// unencrypted).
fn password_to_send(args: &UserArgs, password: &str, server: &Json) -> Result<String, String> {
    if !args.encrypted || scram::is_scram(password) || scram::is_md5(password) {
        return Ok(password.to_string());
    }
    match server["password_encryption"].as_str() {
        Some("scram-sha-256") => {
            let iterations = server["scram_iterations"]
                .as_str()
                .and_then(|i| i.parse().ok())
                .unwrap_or(DEFAULT_ITERATIONS);
            scram::new_scram_secret(password, iterations)
        }
        Some("md5") => Ok(scram::md5_secret(password, &args.user)),
        _ => Ok(password.to_string()),
    }
}

/// Whether the role's password must change (`user_should_we_change_password`).
fn password_differs(args: &UserArgs, role: &Json, server: &Json) -> bool {
    let Some(password) = &args.password else {
        return false;
    };
    let current = role["rolpassword"].as_str();
    if password.is_empty() {
        return current.is_some();
    }
    if scram::is_scram(password) {
        return current != Some(password.as_str());
    }
    if let Some(stored) = current.filter(|c| scram::is_scram(c)) {
        return !scram::scram_matches(password, stored);
    }
    if scram::is_md5(password) || !args.encrypted {
        return current != Some(password.as_str());
    }
    match server["password_encryption"].as_str() {
        Some("md5") => current != Some(scram::md5_secret(password, &args.user).as_str()),
        Some("scram-sha-256") => true,
        _ => false,
    }
}

/// `WITH ENCRYPTED` or `WITH UNENCRYPTED`.
fn crypt(args: &UserArgs) -> &'static str {
    match args.encrypted {
        true => "ENCRYPTED",
        false => "UNENCRYPTED",
    }
}

/// A statement with the password and expiry in it, and the same as reported, with
/// psycopg's placeholders for them.
struct Statement {
    run: Vec<String>,
    shown: Vec<String>,
}

impl Statement {
    fn new(first: String) -> Statement {
        Statement {
            run: vec![first.clone()],
            shown: vec![first],
        }
    }

    /// A part the same in both.
    fn push(&mut self, part: String) {
        self.run.push(part.clone());
        self.shown.push(part);
    }

    /// A part whose value is a placeholder in the report.
    fn push_value(&mut self, run: String, shown: &str) {
        self.run.push(run);
        self.shown.push(shown.to_string());
    }

    fn done(self) -> (String, String) {
        (self.run.join(" "), self.shown.join(" "))
    }
}

/// `CREATE USER` as `user_add` writes it.
fn create(args: &UserArgs, flags: &[String], server: &Json) -> Result<(String, String), String> {
    let mut statement = Statement::new(format!("CREATE USER {}", ident(&args.user)));
    if let Some(password) = args.password.as_deref().filter(|p| !p.is_empty()) {
        statement.push(format!("WITH {}", crypt(args)));
        let sent = password_to_send(args, password, server)?;
        statement.push_value(
            format!("PASSWORD {}", literal(&sent)),
            "PASSWORD %(password)s",
        );
    }
    if let Some(expires) = &args.expires {
        statement.push_value(
            format!("VALID UNTIL {}", literal(expires)),
            "VALID UNTIL %(expires)s",
        );
    }
    if let Some(limit) = args.conn_limit {
        statement.push(format!("CONNECTION LIMIT {limit}"));
    }
    statement.push(flags.join(" "));
    Ok(statement.done())
}

/// What `user_alter` changes on an existing role, or why it refuses.
fn alter(
    args: &UserArgs,
    flags: &[String],
    role: &Json,
    server: &Json,
) -> Result<Result<Option<(String, String)>, String>, String> {
    let user = ident(&args.user);
    if args.user == "PUBLIC" {
        if args.password.is_some() {
            return Ok(Err("cannot change the password for PUBLIC user".into()));
        }
        if !flags.is_empty() {
            return Ok(Err(
                "cannot change the role_attr_flags for PUBLIC user".into()
            ));
        }
        return Ok(Ok(None));
    }
    let flags_text = flags.join(" ");
    let anything = args.password.is_some()
        || !flags.is_empty()
        || args.expires.is_some()
        || args.conn_limit.is_some();
    if !args.no_password_changes && anything {
        let password = password_differs(args, role, server);
        let attributes = flags_differ(flags, role);
        let expires = args.expires.is_some() && server["expires_differs"].as_bool() == Some(true);
        let limit = args
            .conn_limit
            .is_some_and(|l| role["rolconnlimit"].as_i64() != Some(l));
        if !(password || attributes || expires || limit) {
            return Ok(Ok(None));
        }
        let mut statement = Statement::new(format!("ALTER USER {user}"));
        match (password, args.password.as_deref()) {
            (true, Some(new)) if !new.is_empty() => {
                statement.push(format!("WITH {}", crypt(args)));
                let sent = password_to_send(args, new, server)?;
                statement.push_value(
                    format!("PASSWORD {}", literal(&sent)),
                    "PASSWORD %(password)s",
                );
                statement.push(flags_text);
            }
            (true, _) => {
                statement.push("WITH PASSWORD NULL".into());
                statement.push(flags_text);
            }
            (false, _) if !flags.is_empty() => statement.push(format!("WITH {flags_text}")),
            (false, _) => {}
        }
        if let Some(expires) = &args.expires {
            statement.push_value(
                format!("VALID UNTIL {}", literal(expires)),
                "VALID UNTIL %(expires)s",
            );
        }
        if let Some(limit) = args.conn_limit {
            statement.push(format!("CONNECTION LIMIT {limit}"));
        }
        return Ok(Ok(Some(statement.done())));
    }
    if args.no_password_changes && !flags.is_empty() && flags_differ(flags, role) {
        let text = format!("ALTER USER {user} WITH {flags_text}");
        return Ok(Ok(Some((text.clone(), text))));
    }
    Ok(Ok(None))
}

/// A configuration value as text.
fn setting_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// What `user_configuration` runs: settings reset, then set.
fn configuration(args: &UserArgs, current: &[String]) -> Result<Vec<String>, String> {
    let desired = args.configuration.clone().unwrap_or_default();
    if args.quote_configuration_values && desired.keys().any(|k| k.contains(['"', '\''])) {
        return Err("The key of a configuration may not contain single or double quotes".into());
    }
    let current: Vec<(&str, &str)> = current
        .iter()
        .map(|setting| setting.split_once('=').unwrap_or((setting, "")))
        .collect();
    let user = ident(&args.user);
    let mut statements = Vec::new();
    if args.reset_unspecified_configuration {
        for (key, _) in current.iter().filter(|(k, _)| !desired.contains_key(*k)) {
            statements.push(format!("ALTER ROLE {user} RESET {};", ident(key)));
        }
    }
    for (key, value) in &desired {
        let value = setting_text(value);
        if current.iter().any(|(k, v)| k == key && *v == value) {
            continue;
        }
        let shown = match args.quote_configuration_values {
            true => literal(&value),
            false => value,
        };
        statements.push(format!("ALTER ROLE {user} SET {} TO {shown};", ident(key)));
    }
    Ok(statements)
}

/// The query: whether `pg_authid` may be read (else `pg_roles`, as on managed
/// servers), the role, and the server's settings.
fn query_sql(args: &UserArgs) -> String {
    let user = literal(&args.user);
    let expires_differs = match &args.expires {
        Some(expires) => format!(
            "({}::timestamptz IS DISTINCT FROM (SELECT rolvaliduntil FROM pg_roles WHERE rolname = {user}))",
            literal(expires)
        ),
        None => "NULL".into(),
    };
    format!(
        "SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS bosun_authid \\gset\n\
         \\if :bosun_authid\n\
         SELECT coalesce((SELECT to_jsonb(a) FROM pg_catalog.pg_authid a WHERE a.rolname = {user}), 'null');\n\
         \\else\n\
         SELECT coalesce((SELECT to_jsonb(a) FROM pg_catalog.pg_roles a WHERE a.rolname = {user}), 'null');\n\
         \\endif\n\
         SELECT json_build_object('version', current_setting('server_version_num')::int, \
         'password_encryption', current_setting('password_encryption'), \
         'scram_iterations', current_setting('scram_iterations', true), \
         'expires_differs', {expires_differs}, \
         'comment', (SELECT pg_catalog.shobj_description(r.oid, 'pg_authid') FROM pg_catalog.pg_roles r WHERE r.rolname = {user}), \
         'config', (SELECT to_json(r.rolconfig) FROM pg_catalog.pg_roles r WHERE r.rolname = {user}));\n"
    )
}

impl UserArgs {
    /// The session to the login database.
    fn session(&self) -> Session<'_> {
        Session::new(&self.conn, &self.login_db, self.session_role.as_deref())
            .hiding(self.password.as_deref())
    }

    /// The values `trust_input: false` checks.
    fn checked(&self) -> Result<(), String> {
        if self.trust_input {
            return Ok(());
        }
        let mut values: Vec<String> = [
            Some(&self.user),
            self.password.as_ref(),
            self.expires.as_ref(),
            Some(&self.role_attr_flags),
            self.comment.as_ref(),
            self.session_role.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        for (key, value) in self.configuration.iter().flatten() {
            values.push(key.clone());
            values.push(setting_text(value));
        }
        let password = self.password.clone().unwrap_or_default();
        check_input(values.iter().map(String::as_str)).map_err(|message| {
            match password.is_empty() {
                true => message,
                false => message.replace(&password, "********"),
            }
        })
    }
}

#[async_trait]
impl StateModule for PostgresqlUser {
    const NAME: &'static str = "postgresql_user";
    type Args = UserArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &UserArgs) -> Result<Found, ModuleError> {
        args.checked().map_err(ModuleError::Failed)?;
        let mut found = args.session().select(on, &query_sql(args)).await?;
        let server = found.pop().unwrap_or(Json::Null);
        let role = found.pop().filter(|r| !r.is_null());
        Ok(Found { role, server })
    }

    fn decide(&self, args: &UserArgs, found: Found) -> Result<Decision<Plan>, String> {
        args.checked()?;
        let Found { role, server } = found;
        let exists = role.is_some() || args.user == "PUBLIC";
        let decision = |plan: Option<Plan>, queries: Vec<String>| {
            Decision::maybe(plan)
                .with("user", args.user.clone())
                .with("queries", json!(queries))
        };
        if args.state == State::Absent {
            return Ok(match exists {
                false => decision(None, Vec::new()),
                true => decision(
                    Some(Plan::Drop(format!("DROP USER {}", ident(&args.user)))),
                    Vec::new(),
                )
                .with("user_removed", true),
            });
        }
        let flags = parse_flags(&args.role_attr_flags, version_of(&server))?;
        let mut statements: Vec<(String, String)> = Vec::new();
        match &role {
            None if args.user == "PUBLIC" => {
                if let Err(refusal) = alter(args, &flags, &Json::Null, &server)? {
                    return Ok(decision(Some(Plan::Refuse(refusal)), Vec::new()));
                }
            }
            None => statements.push(create(args, &flags, &server)?),
            Some(role) => match alter(args, &flags, role, &server)? {
                Err(refusal) => return Ok(decision(Some(Plan::Refuse(refusal)), Vec::new())),
                Ok(change) => statements.extend(change),
            },
        }
        if let Some(comment) = &args.comment {
            let current = server["comment"].as_str().unwrap_or("");
            if comment != current {
                let text = format!(
                    "COMMENT ON ROLE {} IS {}",
                    ident(&args.user),
                    literal(comment)
                );
                statements.push((text.clone(), text));
            }
        }
        let current: Vec<String> = server["config"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for text in configuration(args, &current)? {
            statements.push((text.clone(), text));
        }
        let queries = statements.iter().map(|(_, shown)| shown.clone()).collect();
        let plan = Some(statements)
            .filter(|s| !s.is_empty())
            .map(Plan::Present);
        Ok(decision(plan, queries))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &UserArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let mut outcome = Outcome::new();
        match plan {
            Plan::Refuse(message) => return Err(ModuleError::Failed(message)),
            Plan::Present(statements) => {
                let sql: String = statements
                    .iter()
                    .map(|(run, _)| format!("{run};\n"))
                    .collect();
                let created = statements
                    .first()
                    .is_some_and(|(run, _)| run.starts_with("CREATE USER"));
                let prefix = match created {
                    true => "Unable to add user with given requirement due to : ",
                    false => "Database query failed: ",
                };
                args.session()
                    .run(on, &sql, true)
                    .await?
                    .map_err(|e| e.failure(prefix))?;
            }
            Plan::Drop(statement) => {
                let ran = args
                    .session()
                    .run(on, &format!("{statement};\n"), true)
                    .await?;
                match ran {
                    Ok(_) => {
                        outcome.insert("queries".into(), json!([statement]));
                    }
                    Err(PsqlError::Sql(_)) if !args.fail_on_user => {
                        outcome.insert("changed".into(), json!(false));
                        outcome.insert("user_removed".into(), json!(false));
                        outcome.insert("queries".into(), json!([statement]));
                    }
                    Err(PsqlError::Sql(message)) => {
                        return Err(ModuleError::Failed(format!(
                            "Unable to remove user: {message}"
                        )));
                    }
                    Err(other) => return Err(other.failure("Database query failed: ")),
                }
            }
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

    fn server() -> Json {
        json!({"version": 150004, "password_encryption": "scram-sha-256", "scram_iterations": null,
               "expires_differs": null, "comment": null, "config": null})
    }

    fn role(password: Option<&str>) -> Json {
        json!({"rolname": "app", "rolsuper": false, "rolcreatedb": false, "rolcreaterole": false,
               "rolinherit": true, "rolcanlogin": true, "rolreplication": false, "rolbypassrls": false,
               "rolconnlimit": -1, "rolpassword": password, "rolvaliduntil": null})
    }

    fn decide(value: Json, role: Option<Json>, server: Json) -> Decision<Plan> {
        PostgresqlUser
            .decide(&args(value), Found { role, server })
            .expect("decides")
    }

    fn statements(decision: &Decision<Plan>) -> Vec<(String, String)> {
        match &decision.plan {
            Some(Plan::Present(statements)) => statements.clone(),
            other => panic!("statements expected, not {other:?}"),
        }
    }

    #[test]
    fn a_new_role_is_created_with_its_password_hashed_here() {
        let decision = decide(
            json!({"name": "app", "password": "s3cret", "role_attr_flags": "CREATEDB,NOSUPERUSER", "conn_limit": 5}),
            None,
            server(),
        );
        assert_eq!(
            decision.result["queries"],
            json!([
                "CREATE USER \"app\" WITH ENCRYPTED PASSWORD %(password)s CONNECTION LIMIT 5 CREATEDB NOSUPERUSER"
            ])
        );
        let (run, _) = &statements(&decision)[0];
        assert!(!run.contains("s3cret"), "{run}");
        let secret = run.split('\'').nth(1).expect("a literal");
        assert!(scram::scram_matches("s3cret", secret), "{secret}");
    }

    #[test]
    fn a_matching_scram_secret_changes_nothing_and_another_password_changes_it() {
        let stored = scram::scram_secret("s3cret", b"0123456789abcdef", 4096);
        let same = json!({"name": "app", "password": "s3cret", "role_attr_flags": "LOGIN"});
        assert!(
            decide(same, Some(role(Some(&stored))), server())
                .plan
                .is_none()
        );
        let other = json!({"name": "app", "password": "other"});
        let decision = decide(other, Some(role(Some(&stored))), server());
        assert_eq!(
            decision.result["queries"],
            json!(["ALTER USER \"app\" WITH ENCRYPTED PASSWORD %(password)s "])
        );
        let kept = json!({"name": "app", "password": "other", "no_password_changes": true});
        assert!(
            decide(kept, Some(role(Some(&stored))), server())
                .plan
                .is_none()
        );
    }

    #[test]
    fn md5_servers_compare_the_md5_hash() {
        let mut md5 = server();
        md5["password_encryption"] = json!("md5");
        let stored = scram::md5_secret("pw", "app");
        assert!(
            decide(
                json!({"name": "app", "password": "pw"}),
                Some(role(Some(&stored))),
                md5.clone()
            )
            .plan
            .is_none()
        );
        let decision = decide(
            json!({"name": "app", "password": "pw2"}),
            Some(role(Some(&stored))),
            md5,
        );
        let (run, _) = &statements(&decision)[0];
        assert!(run.contains(&scram::md5_secret("pw2", "app")), "{run}");
    }

    #[test]
    fn flags_expiry_and_limits_change_only_when_they_differ() {
        let decision = decide(
            json!({"name": "app", "role_attr_flags": "createdb", "conn_limit": -1}),
            Some(role(None)),
            server(),
        );
        assert_eq!(
            decision.result["queries"],
            json!(["ALTER USER \"app\" WITH CREATEDB CONNECTION LIMIT -1"])
        );
        let mut later = server();
        later["expires_differs"] = json!(false);
        assert!(
            decide(
                json!({"name": "app", "expires": "infinity"}),
                Some(role(None)),
                later
            )
            .plan
            .is_none()
        );
        let err = PostgresqlUser
            .decide(
                &args(json!({"name": "app", "role_attr_flags": "CREATEDB,SUPER"})),
                Found {
                    role: None,
                    server: server(),
                },
            )
            .expect_err("invalid flag");
        assert_eq!(err, "Invalid role_attr_flags specified: SUPER");
    }

    #[test]
    fn absent_drops_and_reports_removal() {
        let decision = decide(
            json!({"name": "app", "state": "absent"}),
            Some(role(None)),
            server(),
        );
        assert_eq!(decision.result["user_removed"], true);
        assert_eq!(decision.result["queries"], json!([]));
        assert!(matches!(decision.plan, Some(Plan::Drop(ref s)) if s == "DROP USER \"app\""));
        assert!(
            decide(json!({"name": "app", "state": "absent"}), None, server())
                .plan
                .is_none()
        );
    }

    #[test]
    fn comments_and_configuration_follow_the_module() {
        let mut current = server();
        current["config"] = json!(["work_mem=4MB", "search_path=app"]);
        let decision = decide(
            json!({"name": "app", "comment": "it's", "configuration": {"work_mem": "8MB", "search_path": "app"},
                   "reset_unspecified_configuration": true}),
            Some(role(None)),
            current,
        );
        assert_eq!(
            decision.result["queries"],
            json!([
                "COMMENT ON ROLE \"app\" IS 'it''s'",
                "ALTER ROLE \"app\" SET \"work_mem\" TO '8MB';"
            ])
        );
    }

    #[test]
    fn untrusted_input_never_shows_the_password() {
        let err = PostgresqlUser
            .decide(
                &args(json!({"name": "app", "password": "x'; --", "trust_input": false})),
                Found {
                    role: None,
                    server: server(),
                },
            )
            .expect_err("dangerous");
        assert_eq!(err, "Passed input '********' is potentially dangerous");
    }
}

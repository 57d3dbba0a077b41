//! `postgresql_privs`: privileges on databases, schemas, tables, sequences, languages
//! and tablespaces, and group memberships, granted or revoked as community.postgresql's
//! module does. Like the module, the query tries the GRANT or REVOKE in a transaction
//! it rolls back and compares the access lists before and after: the change is exactly
//! what the server would make of the statement.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{PgConn, PsqlError, Session, check_input, ident, literal, version_of};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages PostgreSQL privileges.
pub struct PostgresqlPrivs;

arg_enum! {
    /// Whether the privileges should be held.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

arg_enum! {
    /// The kind of object.
    pub enum ObjType {
        Table = "table",
        Sequence = "sequence",
        Function = "function",
        Procedure = "procedure",
        Database = "database",
        Schema = "schema",
        Language = "language",
        Tablespace = "tablespace",
        Group = "group",
        DefaultPrivs = "default_privs",
        ForeignDataWrapper = "foreign_data_wrapper",
        ForeignServer = "foreign_server",
        Type = "type",
        Parameter = "parameter",
    }
}

module_args! {
    /// `postgresql_privs`' arguments.
    pub struct PrivsArgs {
        ..conn: PgConn,
        /// The database to connect to (and the object of `type: database`).
        login_db: String => .required().aliases(&["db", "database"]),
        /// Whether the privileges should be held.
        state: State => .default_str("present"),
        /// `SELECT,INSERT`, `ALL` ...
        privs: Option<String> => .aliases(&["priv"]),
        /// The kind of object.
        r#type: ObjType => .default_str("table"),
        /// The objects, comma-separated; `ALL_IN_SCHEMA` for every table or sequence.
        objs: Option<String> => .aliases(&["obj"]),
        /// The objects' schema.
        schema: Option<String>,
        /// The roles that get or lose the privileges, comma-separated.
        roles: String => .required().aliases(&["role"]),
        /// The role to switch to after connecting.
        session_role: Option<String>,
        /// Roles whose default privileges change (`default_privs` only).
        target_roles: Option<String>,
        /// Whether the roles may grant the privileges on.
        grant_option: Option<bool> => .aliases(&["admin_option"]),
        /// Whether a missing role fails the task.
        fail_on_role: bool => .default_bool(true),
        /// Whether to take the values as they are rather than check them for SQL.
        trust_input: bool => .default_bool(true),
    }
}

/// The privileges `VALID_PRIVS` allows.
const VALID_PRIVS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
    "TEMP",
    "EXECUTE",
    "USAGE",
    "ALL",
    "SET",
    "ALTER_SYSTEM",
    "MAINTAIN",
];

/// The roles every server knows, and the version that brought each.
const IMPLICIT_ROLES: &[(&str, i64)] = &[
    ("PUBLIC", 0),
    ("CURRENT_USER", 90500),
    ("SESSION_USER", 90500),
    ("CURRENT_ROLE", 140000),
];

/// The arguments as the module settles them before it connects.
#[derive(Debug, Clone)]
struct Settled {
    /// The schema, for the kinds that live in one.
    schema: Option<String>,
    /// The objects (`ALL_IN_SCHEMA` still as it is).
    objs: Vec<String>,
    /// The privileges, upper-case, each once.
    privs: Vec<String>,
    /// A warning to give.
    warnings: Vec<String>,
}

/// Python's `repr` of a set of strings (`frozenset({'X'})`).
fn frozenset(items: &[String]) -> String {
    let shown: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("frozenset({{{}}})", shown.join(", "))
}

/// The checks the module makes before it connects, and what it settles.
fn settle(args: &PrivsArgs) -> Result<Settled, String> {
    let kind = args.r#type;
    let in_schema = matches!(
        kind,
        ObjType::Table
            | ObjType::Sequence
            | ObjType::Function
            | ObjType::Procedure
            | ObjType::Type
            | ObjType::DefaultPrivs
    );
    let schema = match (in_schema, &args.schema) {
        (true, schema) => {
            let none = args.objs.as_deref() == Some("schemas")
                || schema.as_deref() == Some("not-specified");
            match none {
                true => None,
                false => Some(
                    schema
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "public".into()),
                ),
            }
        }
        (false, Some(schema)) if !schema.is_empty() => {
            return Err(format!(
                "Argument \"schema\" is not allowed for type \"{}\".",
                kind.as_str()
            ));
        }
        (false, _) => None,
    };
    let objs_text = args.objs.clone().filter(|o| !o.is_empty());
    if objs_text.as_deref() == Some("ALL_IN_SCHEMA")
        && !matches!(
            kind,
            ObjType::Table | ObjType::Sequence | ObjType::Function | ObjType::Procedure
        )
    {
        return Err(format!(
            "Argument \"objs\": ALL_IN_SCHEMA can be used only for type: table, sequence, function or procedure, {} was passed.",
            kind.as_str()
        ));
    }
    let objs_text = match (kind, objs_text) {
        (ObjType::Database, objs) => objs.unwrap_or_else(|| args.login_db.clone()),
        (_, Some(objs)) => objs,
        (_, None) => {
            return Err(format!(
                "Argument \"objs\" is required for type \"{}\".",
                kind.as_str()
            ));
        }
    };
    let privs_text = args.privs.clone().filter(|p| !p.is_empty());
    match (kind, &privs_text) {
        (ObjType::Group, Some(_)) => {
            return Err("Argument \"privs\" is not allowed for type \"group\".".into());
        }
        (ObjType::Group, None) => {}
        (_, None) => {
            return Err(format!(
                "Argument \"privs\" is required for type \"{}\".",
                kind.as_str()
            ));
        }
        _ => {}
    }
    if !args.trust_input {
        check_input([
            args.roles.as_str(),
            args.target_roles.as_deref().unwrap_or(""),
            args.session_role.as_deref().unwrap_or(""),
            schema.as_deref().unwrap_or(""),
        ])?;
    }
    let mut privs: Vec<String> = Vec::new();
    for word in privs_text.iter().flat_map(|p| p.split(',')) {
        let word = word.to_uppercase();
        if !privs.contains(&word) {
            privs.push(word);
        }
    }
    let invalid: Vec<String> = privs
        .iter()
        .filter(|p| !VALID_PRIVS.contains(&p.as_str()))
        .cloned()
        .collect();
    if !invalid.is_empty() {
        return Err(format!(
            "Invalid privileges specified: {}",
            frozenset(&invalid)
        ));
    }
    if !matches!(
        kind,
        ObjType::Table
            | ObjType::Sequence
            | ObjType::Database
            | ObjType::Schema
            | ObjType::Language
            | ObjType::Tablespace
            | ObjType::Group
    ) {
        return Err(format!(
            "type \"{}\" is not supported by bosun's postgresql_privs (table, sequence, database, schema, language, tablespace and group are)",
            kind.as_str()
        ));
    }
    let mut warnings = Vec::new();
    if args.target_roles.is_some() {
        warnings.push("\"target_roles\" will be ignored Argument \"type: default_privs\" is required for usage of \"target_roles\".".to_string());
    }
    Ok(Settled {
        schema,
        objs: objs_text.split(',').map(str::to_string).collect(),
        privs,
        warnings,
    })
}

/// The roles as the statement names them: an implicit role upper-case and bare, any
/// other quoted; the ones that do not exist left out (or the failure).
fn role_words(
    args: &PrivsArgs,
    existing: &[String],
    version: i64,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    for role in args.roles.split(',') {
        let implicit = IMPLICIT_ROLES
            .iter()
            .any(|(name, since)| *name == role.to_uppercase() && version >= *since);
        if implicit {
            words.push(role.to_uppercase());
        } else if existing.iter().any(|e| e == role) {
            words.push(ident(role));
        } else if args.fail_on_role {
            return Err(format!("Role '{role}' does not exist"));
        } else {
            warnings.push(format!("Role '{role}' does not exist, pass it"));
        }
    }
    Ok(words)
}

/// The object a kind's statement names (`TABLE`, `DATABASE` ... as the module writes
/// them: its type in lower case).
fn object_ids(kind: ObjType, schema: Option<&str>, objs: &[String]) -> Vec<String> {
    match kind {
        ObjType::Table | ObjType::Sequence => objs
            .iter()
            .map(|o| match schema {
                Some(schema) => format!("{}.{}", ident(schema), ident(o)),
                None => ident(o),
            })
            .collect(),
        _ => objs.iter().map(|o| ident(o)).collect(),
    }
}

/// The statement `QueryBuilder` builds: GRANT (with or without the grant option) or
/// REVOKE, lines joined by newlines.
fn statement(args: &PrivsArgs, settled: &Settled, roles: &[String]) -> String {
    let kind = args.r#type;
    let for_whom = roles.join(",");
    let all = settled.objs == ["ALL_IN_SCHEMA"];
    let set_what = match kind {
        ObjType::Group => object_ids(kind, None, &settled.objs).join(","),
        _ => {
            let privs = settled.privs.join(",").replace('_', " ");
            match (all, &settled.schema) {
                (true, schema) => {
                    let plural = match kind {
                        ObjType::Sequence => "SEQUENCES",
                        _ => "TABLES",
                    };
                    let schema = schema.as_deref().map(ident).unwrap_or_default();
                    format!("{privs} ON ALL {plural} IN SCHEMA {schema}")
                }
                (false, schema) => format!(
                    "{privs} ON {} {}",
                    kind.as_str().replace('_', " "),
                    object_ids(kind, schema.as_deref(), &settled.objs).join(",")
                ),
            }
        }
    };
    let mut query = Vec::new();
    match args.state {
        State::Absent => query.push(format!("REVOKE {set_what} FROM {for_whom};")),
        State::Present => {
            let grant = format!("GRANT {set_what} TO {for_whom}");
            let option = match kind {
                ObjType::Group => "ADMIN",
                _ => "GRANT",
            };
            match args.grant_option {
                Some(true) => query.push(format!("{grant} WITH {option} OPTION;")),
                Some(false) => {
                    query.push(format!("{grant};"));
                    query.push(format!(
                        "REVOKE {option} OPTION FOR {set_what} FROM {for_whom};"
                    ));
                }
                None => query.push(format!("{grant};")),
            }
        }
    }
    query.join("\n")
}

/// The SELECT that prints the objects' access lists as one JSON array (the module's
/// `get_*_acls`, sorted).
fn status_sql(kind: ObjType, schema: Option<&str>, objs: &[String]) -> String {
    let names = format!(
        "ARRAY[{}]::text[]",
        objs.iter()
            .map(|o| literal(o))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let in_schema = |relkind: &str| match schema {
        Some(schema) => format!(
            "SELECT relacl::text AS acl, relname AS name FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE nspname = {} AND relkind IN ({relkind}) AND relname = ANY ({names})",
            literal(schema)
        ),
        None => format!(
            "SELECT relacl::text AS acl, relname AS name FROM pg_catalog.pg_class \
             WHERE relkind IN ({relkind}) AND relname = ANY ({names})"
        ),
    };
    let source = match kind {
        ObjType::Table => in_schema("'r','p','v','m','f'"),
        ObjType::Sequence => in_schema("'S'"),
        ObjType::Schema => format!(
            "SELECT nspacl::text AS acl, nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ANY ({names})"
        ),
        ObjType::Language => format!(
            "SELECT lanacl::text AS acl, lanname AS name FROM pg_catalog.pg_language WHERE lanname = ANY ({names})"
        ),
        ObjType::Tablespace => format!(
            "SELECT spcacl::text AS acl, spcname AS name FROM pg_catalog.pg_tablespace WHERE spcname = ANY ({names})"
        ),
        ObjType::Group => format!(
            "SELECT json_build_array(am.roleid, am.grantor, am.member, am.admin_option)::text AS acl, r.rolname AS name \
             FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_roles r ON r.oid = am.roleid WHERE r.rolname = ANY ({names})"
        ),
        _ => format!(
            "SELECT datacl::text AS acl, datname AS name FROM pg_catalog.pg_database WHERE datname = ANY ({names})"
        ),
    };
    format!("SELECT coalesce(json_agg(s.acl ORDER BY s.acl), '[]') FROM ({source}) s;\n")
}

/// What the query finds: the statement, and the access lists before and after it
/// (tried and rolled back); `None` when there is nothing to do.
#[derive(Debug)]
pub struct Found {
    /// The statement and the lists, when roles and objects remain.
    tried: Option<(String, Json, Json)>,
    /// Warnings on the way.
    warnings: Vec<String>,
}

#[async_trait]
impl StateModule for PostgresqlPrivs {
    const NAME: &'static str = "postgresql_privs";
    type Args = PrivsArgs;
    type State = Found;
    type Plan = String;

    async fn query(&self, on: &Target<'_>, args: &PrivsArgs) -> Result<Found, ModuleError> {
        let mut settled = settle(args).map_err(ModuleError::Failed)?;
        let session = Session::new(&args.conn, &args.login_db, args.session_role.as_deref());
        let role_failure = |e: PsqlError| match e {
            PsqlError::Role(msg) => ModuleError::Failed(format!(
                "Could not switch to role {}: {msg}",
                args.session_role.clone().unwrap_or_default()
            )),
            other => other.failure(""),
        };
        let roles: Vec<String> = args.roles.split(',').map(str::to_string).collect();
        let all_in_schema = settled.objs == ["ALL_IN_SCHEMA"];
        let schema = settled.schema.clone().unwrap_or_default();
        let everything = match (all_in_schema, args.r#type) {
            (false, _) => "NULL".to_string(),
            (true, kind) => {
                let relkind = match kind {
                    ObjType::Sequence => "'S'",
                    _ => "'r','v','m','p','f'",
                };
                format!(
                    "(SELECT coalesce(json_agg(relname), '[]') FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
                     ON n.oid = c.relnamespace WHERE nspname = {} AND relkind IN ({relkind}))",
                    literal(&schema)
                )
            }
        };
        let sql = format!(
            "SELECT json_build_object('version', current_setting('server_version_num')::int, \
             'roles', (SELECT coalesce(json_agg(rolname), '[]') FROM pg_catalog.pg_roles WHERE rolname = ANY (ARRAY[{}]::text[])), \
             'schema_exists', EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = {}), \
             'objects', {everything});\n",
            roles
                .iter()
                .map(|r| literal(r))
                .collect::<Vec<_>>()
                .join(", "),
            literal(&schema)
        );
        let lines = session.run(on, &sql, false).await?.map_err(role_failure)?;
        let first: Json = lines
            .iter()
            .find(|l| !l.is_empty())
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Json::Null);
        let existing: Vec<String> = first["roles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut warnings = std::mem::take(&mut settled.warnings);
        let words = role_words(args, &existing, version_of(&first), &mut warnings)
            .map_err(ModuleError::Failed)?;
        if words.is_empty() {
            warnings.push("No valid roles provided, nothing to do".into());
            return Ok(Found {
                tried: None,
                warnings,
            });
        }
        let status_objs = match all_in_schema {
            true => {
                if first["schema_exists"] != json!(true) {
                    return Err(ModuleError::Failed(format!(
                        "Schema \"{schema}\" does not exist."
                    )));
                }
                first["objects"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Json::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            }
            false => settled.objs.clone(),
        };
        if status_objs.is_empty() {
            return Ok(Found {
                tried: None,
                warnings,
            });
        }
        let query = statement(args, &settled, &words);
        let status = status_sql(args.r#type, settled.schema.as_deref(), &status_objs);
        let trial = format!("BEGIN;\n{status}{query}\n{status}ROLLBACK;\n");
        let lines = session
            .run(on, &trial, false)
            .await?
            .map_err(role_failure)?;
        let mut lists = lines
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str::<Json>(l).unwrap_or(Json::Null));
        let before = lists.next().unwrap_or(Json::Null);
        let after = lists.next().unwrap_or(Json::Null);
        Ok(Found {
            tried: Some((query, before, after)),
            warnings,
        })
    }

    fn decide(&self, args: &PrivsArgs, found: Found) -> Result<Decision<String>, String> {
        settle(args)?;
        let mut decision = match found.tried {
            None => Decision::unchanged().with("queries", json!([])),
            Some((query, before, after)) => {
                Decision::maybe(Some(query.clone()).filter(|_| before != after))
                    .with("queries", json!([query]))
            }
        };
        if !found.warnings.is_empty() {
            decision = decision.with("warnings", json!(found.warnings));
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &PrivsArgs,
        query: String,
    ) -> Result<Outcome, ModuleError> {
        Session::new(&args.conn, &args.login_db, args.session_role.as_deref())
            .run(on, &format!("{query}\n"), true)
            .await?
            .map_err(|e| e.failure(""))?;
        Ok(Outcome::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(value: Json) -> PrivsArgs {
        from_json(value).expect("valid arguments")
    }

    fn statement_for(value: Json, roles: &[&str]) -> String {
        let a = args(value);
        let settled = settle(&a).expect("settles");
        statement(
            &a,
            &settled,
            &roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn statements_are_written_as_the_query_builder_writes_them() {
        assert_eq!(
            statement_for(
                json!({"db": "app", "type": "database", "privs": "all", "roles": "app"}),
                &["\"app\""]
            ),
            "GRANT ALL ON database \"app\" TO \"app\";"
        );
        assert_eq!(
            statement_for(
                json!({"db": "app", "objs": "t1,t2", "privs": "SELECT,INSERT", "roles": "r", "grant_option": false}),
                &["\"r\""]
            ),
            "GRANT SELECT,INSERT ON table \"public\".\"t1\",\"public\".\"t2\" TO \"r\";\nREVOKE GRANT OPTION FOR SELECT,INSERT ON table \"public\".\"t1\",\"public\".\"t2\" FROM \"r\";"
        );
        assert_eq!(
            statement_for(
                json!({"db": "app", "objs": "ALL_IN_SCHEMA", "schema": "s", "privs": "USAGE", "type": "sequence", "roles": "r", "state": "absent"}),
                &["PUBLIC"]
            ),
            "REVOKE USAGE ON ALL SEQUENCES IN SCHEMA \"s\" FROM PUBLIC;"
        );
        assert_eq!(
            statement_for(
                json!({"db": "app", "type": "group", "objs": "admins", "roles": "r", "admin_option": true}),
                &["\"r\""]
            ),
            "GRANT \"admins\" TO \"r\" WITH ADMIN OPTION;"
        );
    }

    #[test]
    fn arguments_are_checked_as_the_module_checks_them() {
        let err = |value: Json| settle(&args(value)).expect_err("refused");
        assert_eq!(
            err(json!({"db": "a", "objs": "t", "privs": "SELEC", "roles": "r"})),
            "Invalid privileges specified: frozenset({'SELEC'})"
        );
        assert_eq!(
            err(json!({"db": "a", "privs": "ALL", "roles": "r"})),
            "Argument \"objs\" is required for type \"table\"."
        );
        assert_eq!(
            err(
                json!({"db": "a", "type": "database", "schema": "s", "privs": "ALL", "roles": "r"})
            ),
            "Argument \"schema\" is not allowed for type \"database\"."
        );
        assert_eq!(
            err(json!({"db": "a", "type": "group", "objs": "g", "privs": "ALL", "roles": "r"})),
            "Argument \"privs\" is not allowed for type \"group\"."
        );
        assert!(err(json!({"db": "a", "type": "function", "objs": "f()", "privs": "EXECUTE", "roles": "r"})).contains("not supported by bosun"));
        let mut warnings = Vec::new();
        let a = args(
            json!({"db": "a", "objs": "t", "privs": "ALL", "roles": "public,ghost", "fail_on_role": false}),
        );
        assert_eq!(
            role_words(&a, &[], 150000, &mut warnings).expect("passes"),
            ["PUBLIC"]
        );
        assert_eq!(warnings, ["Role 'ghost' does not exist, pass it"]);
        let a = args(json!({"db": "a", "objs": "t", "privs": "ALL", "roles": "ghost"}));
        assert_eq!(
            role_words(&a, &[], 150000, &mut warnings).expect_err("fails"),
            "Role 'ghost' does not exist"
        );
    }

    #[test]
    fn the_change_is_what_the_trial_shows() {
        let a = args(json!({"db": "app", "type": "database", "privs": "ALL", "roles": "app"}));
        let query = "GRANT ALL ON database \"app\" TO \"app\";".to_string();
        let same = Found {
            tried: Some((
                query.clone(),
                json!(["{=Tc/postgres}"]),
                json!(["{=Tc/postgres}"]),
            )),
            warnings: Vec::new(),
        };
        let decision = PostgresqlPrivs.decide(&a, same).expect("decides");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["queries"], json!([query]));
        let differs = Found {
            tried: Some((query.clone(), json!([null]), json!(["{app=CTc/postgres}"]))),
            warnings: Vec::new(),
        };
        assert_eq!(
            PostgresqlPrivs.decide(&a, differs).expect("decides").plan,
            Some(query)
        );
    }
}

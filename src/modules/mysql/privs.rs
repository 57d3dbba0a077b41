//! Privileges as community.mysql reads and writes them: the task's `db.table:PRIV,PRIV/...`
//! string unpacked (`privileges_unpack`), `SHOW GRANTS` rows parsed
//! (`privileges_get`), column grants normalized so the two compare, and the GRANT and
//! REVOKE statements `privileges_grant` and `privileges_revoke` write.

use indexmap::IndexMap;

/// Privileges by `db.table` (quoted as the server's `SHOW GRANTS` quotes it).
pub type Privileges = IndexMap<String, Vec<String>>;

/// The privileges column grants are written for (`normalize_col_grants`).
const COLUMN_GRANTS: &[&str] = &["SELECT", "UPDATE", "INSERT", "REFERENCES"];

/// `SELECT (b, a)` with its columns sorted and unquoted (`sort_column_order`).
fn sort_columns(statement: &str) -> String {
    let mut parts = statement.splitn(2, '(');
    let name = parts.next().unwrap_or_default();
    let columns = parts.next().unwrap_or_default().trim_end_matches(')');
    let mut columns: Vec<&str> = columns
        .split(',')
        .map(|c| c.trim().trim_matches('`'))
        .collect();
    columns.sort_unstable();
    format!("{name}({})", columns.join(", "))
}

/// Column grants split at their commas joined again and sorted (`normalize_col_grants`).
fn normalize(mut privileges: Vec<String>) -> Vec<String> {
    for grant in COLUMN_GRANTS {
        let opening = format!("{grant} (");
        let Some(start) = privileges.iter().position(|p| p.contains(&opening)) else {
            continue;
        };
        let Some(end) = (start..privileges.len()).find(|&n| privileges[n].contains(')')) else {
            continue;
        };
        let joined = sort_columns(&privileges[start..=end].join(", "));
        privileges.splice(start..=end, [joined]);
    }
    privileges
}

/// Splits `text` at the commas outside parentheses, dropping the spaces after them.
fn split_outside_parentheses(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut()
            && !(last.is_empty() && c.is_whitespace())
        {
            last.push(c);
        }
    }
    parts
}

/// Whether a privilege word could end the GRANT statement it goes into.
fn unsafe_word(word: &str) -> bool {
    word.contains([';', '\'', '"', '#', '\n', '\r', '\\'])
        || word.contains("--")
        || word.contains("/*")
}

/// One side of `db.table` quoted with `quote`, as `privileges_unpack` quotes it (a `*`
/// stays bare), the quote inside doubled.
fn quote_side(side: &str, quote: char) -> String {
    let bare = side.trim_matches('`');
    match bare == "*" {
        true => bare.to_string(),
        false => {
            let doubled = bare.replace(quote, &format!("{quote}{quote}"));
            format!("{quote}{doubled}{quote}")
        }
    }
}

/// The task's privileges (`privileges_unpack`): `db.table` quoted as the server quotes
/// it in `sql_mode` (`"` under ANSI, else backticks), the privileges upper-cased (and
/// their columns too unless `column_case_sensitive`), `*.*: USAGE` added unless
/// `ensure_usage` is off or `*.*` is given.
pub fn unpack(
    priv_text: &str,
    ansi: bool,
    column_case_sensitive: bool,
    ensure_usage: bool,
) -> Result<Privileges, String> {
    let quote = if ansi { '"' } else { '`' };
    let mut output = Privileges::new();
    for item in priv_text.trim().split('/') {
        let item = item.trim();
        let Some((target, privileges)) = item.rsplit_once(':') else {
            return Err(format!(
                "invalid priv string '{item}': expected db.table:PRIV[,PRIV...]"
            ));
        };
        let (mut object_type, mut target) = ("", target);
        if let Some((kind, rest)) = target.split_once(' ')
            && (kind == "FUNCTION" || kind == "PROCEDURE")
        {
            object_type = kind;
            target = rest;
        }
        let sides: Vec<String> = match target.rsplit_once('.') {
            Some((db, table)) => vec![quote_side(db, quote), quote_side(table, quote)],
            None => vec![quote_side(target, quote)],
        };
        let key = match object_type {
            "" => sides.join("."),
            kind => format!("{kind} {}", sides.join(".")),
        };
        let words = match privileges.contains('(') && column_case_sensitive {
            true => split_outside_parentheses(privileges),
            false => split_outside_parentheses(&privileges.to_uppercase()),
        };
        if let Some(bad) = words.iter().find(|w| unsafe_word(w)) {
            return Err(format!("invalid privilege '{bad}' in priv string '{item}'"));
        }
        output.insert(key, normalize(words));
    }
    if ensure_usage && !output.contains_key("*.*") {
        output.insert("*.*".into(), vec!["USAGE".into()]);
    }
    Ok(output)
}

/// The task's `priv` as the string `privileges_unpack` reads: a mapping written as
/// `key:value/key:value` (`convert_priv_dict_to_str`).
pub fn priv_string(value: &serde_json::Value) -> Result<Option<String>, String> {
    use serde_json::Value as Json;
    match value {
        Json::Null => Ok(None),
        Json::String(text) if text.is_empty() => Ok(None),
        Json::String(text) => Ok(Some(text.clone())),
        Json::Object(map) if map.is_empty() => Ok(None),
        Json::Object(map) => Ok(Some(
            map.iter()
                .map(|(k, v)| match v {
                    Json::String(s) => format!("{k}:{s}"),
                    other => format!("{k}:{other}"),
                })
                .collect::<Vec<_>>()
                .join("/"),
        )),
        Json::Array(_) => {
            Err("priv parameter must be str or dict but <class 'list'> was passed".into())
        }
        Json::Bool(_) => {
            Err("priv parameter must be str or dict but <class 'bool'> was passed".into())
        }
        Json::Number(n) if n.is_i64() || n.is_u64() => {
            Err("priv parameter must be str or dict but <class 'int'> was passed".into())
        }
        Json::Number(_) => {
            Err("priv parameter must be str or dict but <class 'float'> was passed".into())
        }
    }
}

/// The privileges in `SHOW GRANTS` rows (`privileges_get`): role grants skipped,
/// `ALL PRIVILEGES` read as `ALL`, `WITH GRANT OPTION` as `GRANT`.
pub fn parse_grants(rows: &[&str]) -> Result<Privileges, String> {
    use crate::pyre::{Anchor, Flags, compile};
    let grant = compile(
        r#"GRANT (.+) ON (.+) TO (['`"]).*\3@(['`"]).*\4( IDENTIFIED BY PASSWORD (['`"]).+\6)? ?(.*)"#,
        Flags::default(),
        Anchor::Start,
    )?;
    let role = compile(
        r#"GRANT (.+) TO (['`"]).*|SET DEFAULT ROLE (.+) FOR (['`"]).*"#,
        Flags::default(),
        Anchor::Start,
    )?;
    let mut output = Privileges::new();
    for row in rows {
        let Some(found) = grant.search(row)? else {
            if role.search(row)?.is_some() {
                continue;
            }
            return Err(format!("unable to parse the MySQL grant string: {row}"));
        };
        let group = |n: usize| found.get(n).map(|m| m.as_str()).unwrap_or_default();
        let mut privileges: Vec<String> = group(1)
            .split(',')
            .map(|p| match p.trim() {
                "ALL PRIVILEGES" => "ALL".to_string(),
                other => other.to_string(),
            })
            .collect();
        privileges = normalize(privileges);
        if group(7).contains("WITH GRANT OPTION") {
            privileges.push("GRANT".into());
        }
        output
            .entry(group(2).to_string())
            .or_default()
            .extend(privileges);
    }
    Ok(output)
}

/// The privileges of a list but `GRANT`, comma-joined.
fn without_grant(privileges: &[String]) -> String {
    privileges
        .iter()
        .filter(|p| *p != "GRANT")
        .cloned()
        .collect::<Vec<_>>()
        .join(",")
}

/// `privileges_grant`'s statement: `GRANT ... ON db_table TO account`, with the grant
/// option when `GRANT` is among them.
pub fn grant(account: &str, db_table: &str, privileges: &[String]) -> String {
    let mut statement = format!(
        "GRANT {} ON {db_table} TO {account}",
        without_grant(privileges)
    );
    if privileges.iter().any(|p| p == "GRANT") {
        statement.push_str(" WITH GRANT OPTION");
    }
    statement
}

/// `privileges_revoke`'s statements: the grant option first when `grant_option`, then
/// the privileges, then `FLUSH PRIVILEGES`.
pub fn revoke(
    account: &str,
    db_table: &str,
    privileges: &[String],
    grant_option: bool,
) -> Vec<String> {
    let mut statements = Vec::new();
    if grant_option {
        statements.push(format!("REVOKE GRANT OPTION ON {db_table} FROM {account}"));
    }
    let listed = without_grant(privileges);
    let only_usage_left = grant_option && listed == "USAGE";
    if !listed.is_empty() && !only_usage_left {
        statements.push(format!("REVOKE {listed} ON {db_table} FROM {account}"));
    }
    statements.push("FLUSH PRIVILEGES".into());
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_task_s_privileges_unpack_as_the_module_unpacks_them() {
        let privs = unpack("app.*:ALL/other.t:select,insert", false, false, true).expect("valid");
        assert_eq!(privs["`app`.*"], list(&["ALL"]));
        assert_eq!(privs["`other`.`t`"], list(&["SELECT", "INSERT"]));
        assert_eq!(privs["*.*"], list(&["USAGE"]));
        let privs = unpack("*.*:REPLICATION CLIENT,GRANT", true, false, true).expect("valid");
        assert_eq!(privs.len(), 1);
        assert_eq!(privs["*.*"], list(&["REPLICATION CLIENT", "GRANT"]));
        let privs = unpack("we`ird db.*:SELECT (b, A),INSERT", false, false, false).expect("valid");
        assert_eq!(privs["`we``ird db`.*"], list(&["SELECT (A, B)", "INSERT"]));
        let privs = unpack("FUNCTION db.f:EXECUTE", false, false, false).expect("valid");
        assert_eq!(privs["FUNCTION `db`.`f`"], list(&["EXECUTE"]));
        assert!(unpack("db.*", false, false, true).is_err());
        assert!(unpack("db.*:SELECT; DROP DATABASE x", false, false, true).is_err());
    }

    #[test]
    fn show_grants_rows_parse_as_privileges_get_reads_them() {
        let rows = [
            "GRANT USAGE ON *.* TO `app`@`localhost` IDENTIFIED BY PASSWORD '*ABC'",
            "GRANT ALL PRIVILEGES ON `app`.* TO `app`@`localhost` WITH GRANT OPTION",
            "GRANT SELECT (`b`, `a`), INSERT ON `x`.`t` TO `app`@`localhost`",
            "GRANT `role1` TO `app`@`localhost`",
        ];
        let privs = parse_grants(&rows).expect("parses");
        assert_eq!(privs["*.*"], list(&["USAGE"]));
        assert_eq!(privs["`app`.*"], list(&["ALL", "GRANT"]));
        assert_eq!(privs["`x`.`t`"], list(&["SELECT (a, b)", "INSERT"]));
        assert!(parse_grants(&["nonsense"]).is_err());
    }

    #[test]
    fn grants_and_revokes_are_written_as_the_module_writes_them() {
        let account = "'app'@'localhost'";
        assert_eq!(
            grant(account, "`app`.*", &list(&["ALL", "GRANT"])),
            "GRANT ALL ON `app`.* TO 'app'@'localhost' WITH GRANT OPTION"
        );
        assert_eq!(
            revoke(account, "`app`.*", &list(&["SELECT", "GRANT"]), true),
            [
                "REVOKE GRANT OPTION ON `app`.* FROM 'app'@'localhost'",
                "REVOKE SELECT ON `app`.* FROM 'app'@'localhost'",
                "FLUSH PRIVILEGES"
            ]
        );
        assert_eq!(
            priv_string(&serde_json::json!({"db1.*": "ALL", "db2.*": "SELECT"}))
                .expect("a mapping"),
            Some("db1.*:ALL/db2.*:SELECT".into())
        );
    }
}

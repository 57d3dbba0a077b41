//! `getent`: reads a name service database on the target and sets the fact
//! `getent_<database>`, as Ansible's module does.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// The databases whose fields are separated by `:` unless `split` says otherwise.
const COLON_DATABASES: &[&str] = &["passwd", "shadow", "group", "gshadow"];

/// Queries `getent` and returns the entries as facts; never changes anything.
pub struct Getent;

#[async_trait]
impl Module for Getent {
    fn name(&self) -> &'static str {
        "getent"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("database", Kind::Str).required(),
            Param::new("key", Kind::Str),
            Param::new("split", Kind::Str),
            Param::new("fail_key", Kind::Bool),
            Param::new("service", Kind::Str),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let database = args.str("database").unwrap_or_default();
        let key = args.str("key").filter(|k| !k.is_empty());
        let mut script = String::from("getent");
        if let Some(service) = args.str("service") {
            script.push_str(&format!(" -s {}", quote(service)));
        }
        script.push_str(&format!(" {}", quote(database)));
        if let Some(key) = key {
            script.push_str(&format!(" {}", quote(key)));
        }
        let out = ctx.conn.exec(&Command::new(script)).await?;
        let split = args
            .str("split")
            .or_else(|| COLON_DATABASES.contains(&database).then_some(":"));
        let fact = format!("getent_{database}");
        let mut entries = parse_entries(&out.stdout_text(), split);
        let message = match out.rc {
            0 => None,
            1 => Some("Missing arguments, or database unknown.".to_string()),
            2 => Some("One or more supplied key could not be found in the database.".to_string()),
            3 => Some("Enumeration not supported for this database.".to_string()),
            127 => Some("getent is not installed on the target".to_string()),
            rc => Some(format!(
                "Unexpected failure (rc={rc}): {}",
                out.stderr_text().trim()
            )),
        };
        let mut outcome = super::ok(false);
        if let Some(msg) = message {
            if out.rc == 2 && !args.bool_or("fail_key", true) {
                if let Some(key) = key {
                    entries.insert(key.to_string(), Json::Null);
                }
                outcome.insert("msg".into(), json!(msg));
            } else {
                let mut failed = super::failed(msg);
                failed.insert("rc".into(), json!(out.rc));
                return Ok(failed);
            }
        }
        let mut facts = Map::new();
        facts.insert(fact, Json::Object(entries));
        outcome.insert("ansible_facts".into(), Json::Object(facts));
        Ok(outcome)
    }
}

/// Turns `getent` output into `{first field: [other fields]}`; a key seen more than
/// once holds the list of all its records, as Ansible's module keeps them.
fn parse_entries(output: &str, split: Option<&str>) -> Map<String, Json> {
    let mut entries = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in output.lines() {
        let fields: Vec<&str> = match split {
            Some(separator) => line.split(separator).collect(),
            None => line.split_whitespace().collect(),
        };
        let Some((first, rest)) = fields.split_first() else {
            continue;
        };
        let record = json!(rest);
        let count = seen.entry(first.to_string()).or_insert(0);
        *count += 1;
        match (*count, entries.get_mut(*first)) {
            (2, Some(existing)) => {
                let earlier = existing.take();
                *existing = json!([earlier, record]);
            }
            (_, Some(Json::Array(all))) => all.push(record),
            _ => {
                entries.insert(first.to_string(), record);
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_split_on_colons() {
        let entries = parse_entries(
            "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2::/bin:/usr/sbin/nologin\n",
            Some(":"),
        );
        assert_eq!(
            entries["root"],
            json!(["x", "0", "0", "root", "/root", "/bin/bash"])
        );
        assert_eq!(entries["bin"][3], json!(""), "empty fields are kept");
    }

    #[test]
    fn other_databases_split_on_whitespace_and_repeat_keys_become_lists() {
        let entries = parse_entries("127.0.0.1       localhost\n127.0.0.1 other  alias\n", None);
        assert_eq!(
            entries["127.0.0.1"],
            json!([["localhost"], ["other", "alias"]])
        );
        let services = parse_entries("ssh  22/tcp\n", None);
        assert_eq!(services["ssh"], json!(["22/tcp"]));
    }
}

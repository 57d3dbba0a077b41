//! `getent`: reads a name service database on the target and sets the fact
//! `getent_<database>`, as Ansible's module does. It only reads: its query runs
//! `getent`, `decide` turns the entries into the fact, and there is never a plan.

use std::convert::Infallible;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::typed::module_args;
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// The databases whose fields are separated by `:` unless `split` says otherwise.
const COLON_DATABASES: &[&str] = &["passwd", "shadow", "group", "gshadow"];

/// Queries `getent` and returns the entries as facts; never changes anything.
pub struct Getent;

module_args! {
    /// `getent`'s arguments.
    pub struct GetentArgs {
        /// The database (`passwd`, `group`, `hosts` ...).
        database: String => .required(),
        /// The entry to look up; all entries when not given.
        key: Option<String>,
        /// The field separator; `:` for the colon databases, whitespace otherwise.
        split: Option<String>,
        /// Whether a missing key fails the task.
        fail_key: bool => .default_bool(true),
        /// The name service to ask (`getent -s`).
        service: Option<String>,
    }
}

impl GetentArgs {
    /// The key, unless empty.
    fn key(&self) -> Option<&str> {
        self.key.as_deref().filter(|k| !k.is_empty())
    }
}

/// What `getent` printed, once its exit status is known not to fail the task.
pub struct Found {
    /// Its exit status (0, or 2 for a missing key when `fail_key` is off).
    rc: i32,
    /// Its standard output.
    stdout: String,
}

#[async_trait]
impl StateModule for Getent {
    const NAME: &'static str = "getent";
    type Args = GetentArgs;
    type State = Found;
    type Plan = Infallible;

    async fn query(&self, on: &Target<'_>, args: &GetentArgs) -> Result<Found, ModuleError> {
        let mut script = String::from("getent");
        if let Some(service) = &args.service {
            script.push_str(&format!(" -s {}", quote(service)));
        }
        script.push_str(&format!(" {}", quote(&args.database)));
        if let Some(key) = args.key() {
            script.push_str(&format!(" {}", quote(key)));
        }
        let out = on.conn.exec(&Command::new(script)).await?;
        if let Some(msg) = failure(out.rc, &out.stderr_text())
            && (out.rc != 2 || args.fail_key)
        {
            let mut failed = super::failed(msg);
            failed.insert("rc".into(), json!(out.rc));
            return Err(ModuleError::FailedWith(failed));
        }
        Ok(Found {
            rc: out.rc,
            stdout: out.stdout_text(),
        })
    }

    fn decide(&self, args: &GetentArgs, found: Found) -> Result<Decision<Infallible>, String> {
        let split = args.split.as_deref().or_else(|| {
            COLON_DATABASES
                .contains(&args.database.as_str())
                .then_some(":")
        });
        let mut entries = parse_entries(&found.stdout, split);
        let mut decision = Decision::unchanged();
        if let Some(msg) = failure(found.rc, "") {
            if let Some(key) = args.key() {
                entries.insert(key.to_string(), Json::Null);
            }
            decision = decision.with("msg", msg);
        }
        let mut facts = Map::new();
        facts.insert(format!("getent_{}", args.database), Json::Object(entries));
        Ok(decision.with("ansible_facts", Json::Object(facts)))
    }

    async fn apply(
        &self,
        _on: &Target<'_>,
        _args: &GetentArgs,
        plan: Infallible,
    ) -> Result<Outcome, ModuleError> {
        match plan {}
    }
}

/// Ansible's message for `getent`'s exit status `rc`, when it is a failure.
fn failure(rc: i32, stderr: &str) -> Option<String> {
    match rc {
        0 => None,
        1 => Some("Missing arguments, or database unknown.".to_string()),
        2 => Some("One or more supplied key could not be found in the database.".to_string()),
        3 => Some("Enumeration not supported for this database.".to_string()),
        127 => Some("getent is not installed on the target".to_string()),
        rc => Some(format!("Unexpected failure (rc={rc}): {}", stderr.trim())),
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

    fn decide(args: Json, rc: i32, stdout: &str) -> Result<Decision<Infallible>, String> {
        let args = crate::modules::typed::from_json(args).expect("valid arguments");
        let found = Found {
            rc,
            stdout: stdout.to_string(),
        };
        Getent.decide(&args, found)
    }

    #[test]
    fn the_fact_is_named_after_the_database() {
        let decision = decide(
            json!({"database": "passwd", "key": "root"}),
            0,
            "root:x:0:0:root:/root:/bin/bash\n",
        )
        .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(
            decision.result["ansible_facts"]["getent_passwd"]["root"][4],
            json!("/root")
        );
        assert!(!decision.result.contains_key("msg"));
    }

    #[test]
    fn a_missing_key_allowed_by_fail_key_is_null_with_a_message() {
        let decision = decide(
            json!({"database": "group", "key": "nobody-here", "fail_key": false}),
            2,
            "",
        )
        .expect("a decision");
        assert_eq!(
            decision.result["ansible_facts"]["getent_group"],
            json!({"nobody-here": null})
        );
        assert_eq!(
            decision.result["msg"],
            json!("One or more supplied key could not be found in the database.")
        );
        let hosts =
            decide(json!({"database": "hosts", "split": "."}), 0, "a.b\n").expect("a decision");
        assert_eq!(
            hosts.result["ansible_facts"]["getent_hosts"]["a"],
            json!(["b"])
        );
    }

    #[test]
    fn exit_statuses_are_worded_as_ansible_words_them() {
        assert_eq!(failure(0, ""), None);
        assert_eq!(
            failure(3, "").as_deref(),
            Some("Enumeration not supported for this database.")
        );
        assert_eq!(
            failure(5, " boom\n").as_deref(),
            Some("Unexpected failure (rc=5): boom")
        );
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

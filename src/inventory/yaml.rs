//! Ansible's YAML (and JSON) inventory format:
//! `all: {hosts: {h: {vars}}, children: {g: {hosts, children, vars}}, vars: {}}`,
//! plus other top-level groups. Values keep their YAML types.

use std::path::Path;

use crate::source::SourceError;
use crate::yaml::{Node, Value};

use super::{Inventory, range};

/// The keys a group definition may have.
const SECTIONS: [&str; 3] = ["vars", "children", "hosts"];

/// Parses a YAML inventory document into `inventory`.
pub fn parse(inventory: &mut Inventory, root: &Node, path: &Path) -> Result<(), SourceError> {
    let entries = match &root.value {
        Value::Null => return Ok(()),
        Value::Map(entries) => entries,
        _ => {
            return Err(SourceError::new(
                &root.span,
                format!(
                    "a YAML inventory must be a mapping of group names, but this is {}",
                    root.type_name()
                ),
            )
            .with_help("start the file with `all:` and list hosts under `all: {hosts: ...}`"));
        }
    };
    if let Some(plugin) = root.get("plugin") {
        return Err(SourceError::new(
            &plugin.span,
            format!("this is a configuration for the inventory plugin '{}'", plugin.key_string()),
        )
        .with_help("name the file with a .yml or .yaml ending: only those are read as inventory plugin configurations, as in Ansible"));
    }
    let mut parser = Parser { inventory, path };
    for (key, value) in entries {
        let name = key.key_string();
        if matches!(value.value, Value::Null | Value::Map(_)) {
            parser.group(&name, value)?;
        } else {
            parser.inventory.warnings.push(format!(
                "{}: skipping '{name}' as it is not a valid group definition (expected a mapping, found {})",
                key.span,
                value.type_name()
            ));
        }
    }
    Ok(())
}

struct Parser<'a> {
    inventory: &'a mut Inventory,
    path: &'a Path,
}

impl Parser<'_> {
    /// One group definition: creates the group, then its vars, children and hosts in
    /// the order written.
    fn group(&mut self, name: &str, data: &Node) -> Result<(), SourceError> {
        self.inventory.add_group(name);
        let Some(entries) = data.as_map() else {
            return Ok(());
        };
        for (key, value) in entries {
            let section = key.key_string();
            if !SECTIONS.contains(&section.as_str()) {
                self.inventory.warnings.push(format!(
                    "{}: skipping unexpected key '{section}' in group '{name}'; only vars, children and hosts are valid",
                    key.span
                ));
                continue;
            }
            let items: Vec<(String, &Node, Option<&Node>)> = match &value.value {
                Value::Null => continue,
                Value::Str(single) => vec![(single.clone(), value, None)],
                Value::Map(items) => items
                    .iter()
                    .map(|(k, v)| (k.key_string(), k, Some(v)))
                    .collect(),
                _ => {
                    return Err(SourceError::new(
                        &value.span,
                        format!(
                            "invalid \"{section}\" entry for group '{name}': it must be a mapping, but this is {}",
                            value.type_name()
                        ),
                    )
                    .with_help(format!(
                        "write one `name:` per line under `{section}:` (note the colon), not a `- name` list"
                    )));
                }
            };
            for (item, at, data) in items {
                match section.as_str() {
                    "vars" => {
                        let value = data.map_or(serde_json::Value::Null, Node::to_json);
                        self.inventory
                            .set_group_var(name, &item, value)
                            .map_err(|why| SourceError::new(&at.span, why))?;
                    }
                    "children" => self.child(name, &item, at, data)?,
                    _ => self.hosts(name, &item, at, data)?,
                }
            }
        }
        Ok(())
    }

    fn child(
        &mut self,
        parent: &str,
        name: &str,
        at: &Node,
        data: Option<&Node>,
    ) -> Result<(), SourceError> {
        match data {
            None => self.inventory.add_group(name),
            Some(data) if matches!(data.value, Value::Null | Value::Map(_)) => {
                self.group(name, data)?
            }
            Some(data) => {
                return Err(SourceError::new(
                    &data.span,
                    format!("group '{name}' must be a mapping of hosts, children and vars, but this is {}", data.type_name()),
                )
                .with_help(format!("write `{name}:` with `hosts:`, `children:` or `vars:` under it")));
            }
        }
        self.inventory.add_child(parent, name).map_err(|why| {
            SourceError::new(&at.span, why)
                .with_help("remove one of the children entries that form the cycle")
        })
    }

    fn hosts(
        &mut self,
        group: &str,
        pattern: &str,
        at: &Node,
        data: Option<&Node>,
    ) -> Result<(), SourceError> {
        let (names, port) =
            range::expand_host_pattern(pattern).map_err(|why| SourceError::new(&at.span, why))?;
        let vars = match data.map(Node::to_json) {
            None => serde_json::Map::new(),
            Some(serde_json::Value::Object(vars)) => vars,
            Some(value) if is_empty(&value) => serde_json::Map::new(),
            Some(_) => {
                let span = data.map_or(&at.span, |d| &d.span);
                return Err(SourceError::new(
                    span,
                    format!("the variables of host '{pattern}' must be a mapping"),
                )
                .with_help(format!(
                    "write `{pattern}:` followed by indented `name: value` lines, or nothing"
                )));
            }
        };
        for host in &names {
            if host.is_empty() {
                return Err(SourceError::new(&at.span, "a host name cannot be empty"));
            }
            self.inventory.add_host(host, group, port, Some(self.path));
            for (key, value) in &vars {
                self.inventory.set_host_var(host, key, value.clone());
            }
        }
        Ok(())
    }
}

/// Values Python treats as false, which Ansible reads as "no host variables".
fn is_empty(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::Bool(b) => !b,
        serde_json::Value::Number(n) => n.as_f64() == Some(0.0),
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Array(items) => items.is_empty(),
        serde_json::Value::Object(map) => map.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;
    use serde_json::{Value as Json, json};

    fn load(text: &str) -> Result<Inventory, SourceError> {
        let mut inventory = Inventory::empty();
        let root = parse_str("inv.yml", text)?;
        parse(&mut inventory, &root, Path::new("inv.yml"))?;
        inventory.reconcile();
        Ok(inventory)
    }

    #[test]
    fn groups_and_hosts() {
        let cases: &[(&str, Json)] = &[
            (
                "all:\n  hosts:\n    a:\n    b:\n",
                json!({"all": ["a", "b"], "ungrouped": ["a", "b"]}),
            ),
            (
                "all:\n  children:\n    web:\n      hosts:\n        w[1:2]:\n    db:\n      hosts: d1\n",
                json!({"all": ["w1", "w2", "d1"], "ungrouped": [], "web": ["w1", "w2"], "db": ["d1"]}),
            ),
            (
                "web:\n  hosts:\n    w1:\nprod:\n  children:\n    web:\n    db:\n      hosts: {d1: }\n",
                json!({"all": ["w1", "d1"], "ungrouped": [], "web": ["w1"], "prod": ["w1", "d1"], "db": ["d1"]}),
            ),
            (
                "all:\n  children:\n    a:\n      children:\n        b:\n          hosts: {deep: }\n      hosts: {top: }\n",
                json!({"all": ["top", "deep"], "ungrouped": [], "a": ["top", "deep"], "b": ["deep"]}),
            ),
            ("", json!({"all": [], "ungrouped": []})),
        ];
        for (text, expected) in cases {
            let inventory = load(text).expect(text);
            assert_eq!(
                &serde_json::to_value(inventory.groups()).expect("json"),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn values_keep_yaml_types() {
        let inventory = load(
            "all:\n  vars:\n    flag: yes\n    port: '22'\n  hosts:\n    h1:\n      n: 2222\n      l: [1, a]\n      m: {k: 1.5}\n    h2:2200:\n",
        )
        .expect("parses");
        assert_eq!(
            Json::Object(inventory.groups["all"].vars.clone()),
            json!({"flag": true, "port": "22"})
        );
        assert_eq!(
            Json::Object(inventory.hosts["h1"].vars.clone()),
            json!({"n": 2222, "l": [1, "a"], "m": {"k": 1.5}})
        );
        assert_eq!(inventory.hosts["h2"].vars["ansible_port"], json!(2200));
    }

    #[test]
    fn same_host_in_several_groups() {
        let inventory = load(
            "all:\n  children:\n    a:\n      hosts:\n        h: {x: 1}\n    b:\n      hosts:\n        h: {y: 2}\n",
        )
        .expect("parses");
        assert_eq!(inventory.host_names(), ["h"]);
        assert_eq!(
            Json::Object(inventory.hosts["h"].vars.clone()),
            json!({"x": 1, "y": 2})
        );
        assert_eq!(inventory.group_names("h"), ["a", "b"]);
    }

    #[test]
    fn skipped_entries_warn() {
        let inventory = load("all:\n  hostz:\n    h1:\nbogus: 3\n").expect("parses");
        let warnings = inventory.warnings().join("\n");
        assert!(warnings.contains("unexpected key 'hostz'"), "{warnings}");
        assert!(warnings.contains("'bogus'"), "{warnings}");
    }

    #[test]
    fn errors_have_positions() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "- a\n- b\n",
                "inv.yml:1:1",
                "must be a mapping of group names",
            ),
            (
                "all:\n  hosts:\n    - h1\n",
                "inv.yml:3:5",
                "invalid \"hosts\" entry",
            ),
            (
                "all:\n  hosts:\n    h1: 3\n",
                "inv.yml:3:9",
                "must be a mapping",
            ),
            (
                "all:\n  hosts:\n    w[3:1]:\n",
                "inv.yml:3:5",
                "begin <= end",
            ),
            (
                "all:\n  children:\n    g: [1]\n",
                "inv.yml:3:8",
                "group 'g' must be a mapping",
            ),
            ("plugin: aws_ec2\n", "inv.yml:1:9", "inventory plugin"),
            (
                "a:\n  children:\n    b:\n      children:\n        a:\n",
                "inv.yml:3:5",
                "b -> a -> b",
            ),
        ];
        for (text, position, needle) in cases {
            let message = load(text).expect_err(text).to_string();
            assert!(
                message.starts_with(&format!("{position}:")),
                "{text}: {message}"
            );
            assert!(message.contains(needle), "{text}: {message}");
        }
    }
}

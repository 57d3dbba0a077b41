//! `ansible-inventory --list --yaml`: the inventory as a YAML inventory document,
//! `all:` with nested `children:` and `hosts:` (each host's variables where it is
//! first listed), written as PyYAML's `yaml.dump(default_flow_style=False)` writes it.

use std::collections::HashSet;

use serde_json::{Map, Value as Json};

use super::Inventory;
use crate::template::yaml_dump::{self, YamlOptions};

/// `value` as `yaml.dump(value, default_flow_style=False)` writes it (`{}` for an
/// empty mapping).
pub fn dump(value: &Json) -> String {
    let options = YamlOptions {
        flow_style: Some(false),
        ..YamlOptions::default()
    };
    // The document holds only strings, numbers, booleans, lists and mappings, which
    // the emitter always writes.
    yaml_dump::dump(&minijinja::Value::from_serialize(value), &options).unwrap_or_default()
}

/// The document Ansible's `yaml_inventory` builds, before it is written.
pub fn to_list_document(inventory: &Inventory) -> Json {
    let available: HashSet<String> = inventory.group_hosts("all").into_iter().collect();
    let mut walk = Walk {
        inventory,
        available: &available,
        seen_hosts: HashSet::new(),
        seen_groups: HashSet::new(),
    };
    let mut document = Map::new();
    if let Some(all) = walk.group("all") {
        document.insert("all".into(), all);
    }
    Json::Object(document)
}

/// The state of one walk down from `all`.
struct Walk<'a> {
    inventory: &'a Inventory,
    available: &'a HashSet<String>,
    seen_hosts: HashSet<&'a str>,
    seen_groups: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    /// One group: its children (a group met before is an empty entry), then its
    /// hosts; empty sections are left out, and so is a group with nothing in it.
    fn group(&mut self, name: &'a str) -> Option<Json> {
        let group = self.inventory.groups.get(name)?;
        let mut entry = Map::new();
        let mut children = Map::new();
        for child in &group.children {
            if child == "all" {
                continue;
            }
            if self.seen_groups.contains(child.as_str()) {
                children.insert(child.clone(), Json::Object(Map::new()));
            } else {
                if let Some(data) = self.group(child) {
                    children.insert(child.clone(), data);
                }
                self.seen_groups.insert(child);
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Json::Object(children));
        }
        let mut hosts = Map::new();
        if name != "all" {
            for host in group.hosts.iter().filter(|h| self.available.contains(*h)) {
                let vars = if self.seen_hosts.insert(host) {
                    self.inventory.host_vars(host)
                } else {
                    Map::new()
                };
                hosts.insert(host.clone(), Json::Object(vars));
            }
        }
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Json::Object(hosts));
        }
        (!entry.is_empty()).then_some(Json::Object(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn inventory(text: &str) -> Inventory {
        let mut inventory = Inventory::empty();
        super::super::ini::parse(&mut inventory, &SourceFile::new("hosts", text)).expect("parses");
        inventory.reconcile();
        inventory
    }

    #[test]
    fn lists_like_ansible_inventory_yaml() {
        let cases = [
            ("", "{}\n"),
            (
                "solo z=1 a=\"x y\"\n[web]\nw1\n[edge]\ne1 n=2\n[web:children]\nedge\n[prod:children]\nweb\n[empty]\n",
                "all:\n  children:\n    prod:\n      children:\n        web:\n          children:\n            edge:\n              hosts:\n                e1:\n                  n: 2\n          hosts:\n            w1: {}\n    ungrouped:\n      hosts:\n        solo:\n          a: x y\n          z: 1\n",
            ),
            (
                "[a]\nh v=1\n[b]\nh\n",
                "all:\n  children:\n    a:\n      hosts:\n        h:\n          v: 1\n    b:\n      hosts:\n        h: {}\n",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                dump(&to_list_document(&inventory(text))),
                expected,
                "{text}"
            );
        }
    }
}

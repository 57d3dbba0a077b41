//! `ansible-inventory --list` JSON: every non-empty group with its direct hosts and
//! child groups, and `_meta` with each host's merged variables (`hostvars`) and the
//! JSON `profile` Ansible 2.19 names.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value as Json};

use super::Inventory;

/// The `--list` document, with object keys sorted as `ansible-inventory` prints them.
pub fn to_list_json(inventory: &Inventory) -> Json {
    let hosts = inventory.group_hosts("all");
    let available: HashSet<&str> = hosts.iter().map(String::as_str).collect();
    let mut groups = BTreeMap::new();
    let mut seen = HashSet::new();
    format_group(inventory, "all", &available, &mut seen, &mut groups);
    let hostvars: Map<String, Json> = hosts
        .iter()
        .map(|host| (host.clone(), Json::Object(listed_vars(inventory, host))))
        .filter(|(_, vars)| vars.as_object().is_some_and(|v| !v.is_empty()))
        .collect();
    let mut document: Map<String, Json> = groups.into_iter().collect();
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Json::Object(hostvars));
    meta.insert("profile".into(), Json::from("inventory_legacy"));
    document.insert("_meta".into(), Json::Object(meta));
    sorted(Json::Object(document))
}

/// A host's variables as `--list` shows them: those a template computed (and that no
/// `host_vars/` file replaces) with every string marked `__ansible_unsafe`, as
/// Ansible's `inventory_legacy` encoder marks strings it does not trust.
fn listed_vars(inventory: &Inventory, host: &str) -> Map<String, Json> {
    let mut vars = inventory.host_vars(host);
    let Some(entry) = inventory.hosts.get(host) else {
        return vars;
    };
    let dirs = || {
        inventory
            .inventory_vars
            .iter()
            .chain(&inventory.playbook_vars)
    };
    for key in &entry.untrusted {
        let replaced = dirs().any(|dir| dir.host(host).is_some_and(|v| v.contains_key(key)));
        if let Some(value) = vars.get_mut(key).filter(|_| !replaced) {
            *value = crate::template::trust::mark_unsafe(value.take());
        }
    }
    vars
}

/// Adds `name` (and, once each, the groups below it) to `out`, omitting empty entries.
fn format_group<'a>(
    inventory: &'a Inventory,
    name: &'a str,
    available: &HashSet<&str>,
    seen: &mut HashSet<&'a str>,
    out: &mut BTreeMap<String, Json>,
) {
    let Some(group) = inventory.groups.get(name) else {
        return;
    };
    let mut entry = Map::new();
    if !group.children.is_empty() {
        entry.insert("children".into(), Json::from(group.children.clone()));
    }
    for child in &group.children {
        if !seen.contains(child.as_str()) {
            format_group(inventory, child, available, seen, out);
            seen.insert(child);
        }
    }
    let hosts: Vec<&String> = group
        .hosts
        .iter()
        .filter(|h| name != "all" && available.contains(h.as_str()))
        .collect();
    if !hosts.is_empty() {
        entry.insert(
            "hosts".into(),
            Json::from(hosts.into_iter().cloned().collect::<Vec<_>>()),
        );
    }
    if !entry.is_empty() {
        out.insert(name.to_string(), Json::Object(entry));
    }
}

/// Sorts the keys of every object, at any depth (Python's `sort_keys=True`).
fn sorted(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let ordered: BTreeMap<String, Json> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Json::Object(ordered.into_iter().collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use serde_json::json;

    fn inventory(text: &str) -> Inventory {
        let mut inventory = Inventory::empty();
        super::super::ini::parse(&mut inventory, &SourceFile::new("hosts", text)).expect("parses");
        inventory.reconcile();
        inventory
    }

    #[test]
    fn lists_like_ansible_inventory() {
        let cases: &[(&str, Json)] = &[
            (
                "",
                json!({"_meta": {"hostvars": {}, "profile": "inventory_legacy"}, "all": {"children": ["ungrouped"]}}),
            ),
            (
                "solo z=1 a=2\n[web]\nw1\n[prod:children]\nweb\n[web:vars]\nport=80\n[empty]\n",
                json!({
                    "_meta": {"hostvars": {"solo": {"a": 2, "z": 1}, "w1": {"port": 80}}, "profile": "inventory_legacy"},
                    "all": {"children": ["ungrouped", "prod", "empty"]},
                    "prod": {"children": ["web"]},
                    "ungrouped": {"hosts": ["solo"]},
                    "web": {"hosts": ["w1"]},
                }),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(&to_list_json(&inventory(text)), expected, "{text}");
        }
    }

    #[test]
    fn keys_are_sorted_at_every_level() {
        let inventory = inventory("h b=\"{'z': 1, 'a': {'y': 2, 'b': 3}}\" a=1\n");
        let text = serde_json::to_string(&to_list_json(&inventory)).expect("serializes");
        assert_eq!(
            text,
            r#"{"_meta":{"hostvars":{"h":{"a":1,"b":{"a":{"b":3,"y":2},"z":1}}},"profile":"inventory_legacy"},"all":{"children":["ungrouped"]},"ungrouped":{"hosts":["h"]}}"#
        );
    }
}

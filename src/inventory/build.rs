//! Building an inventory: adding groups, hosts, variables and child links, and
//! Ansible's final reconciliation of `all` and `ungrouped`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value as Json;

use super::{Group, Host, Inventory, LOCALHOST_NAMES};

impl Inventory {
    /// An inventory of only these groups and hosts (what the `groups` variable holds),
    /// for matching host patterns as the `inventory_hostnames` lookup does.
    pub fn from_groups(groups: &indexmap::IndexMap<String, Vec<String>>) -> Inventory {
        let mut inventory = Inventory::empty();
        for (group, hosts) in groups {
            inventory.add_group(group);
            for host in hosts {
                inventory.add_host(host, group, None, None);
            }
        }
        inventory.reconcile();
        inventory
    }

    /// Creates a group unless it exists.
    pub(super) fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group::new());
        }
    }

    /// Adds a host (created on first sight, with `ansible_port` from `port`) to an
    /// existing group. Later sightings keep the first port and source.
    pub(super) fn add_host(
        &mut self,
        name: &str,
        group: &str,
        port: Option<u64>,
        source: Option<&Path>,
    ) {
        if !self.hosts.contains_key(name) {
            let mut host = Host {
                source: source.map(Path::to_path_buf),
                ..Host::default()
            };
            if let Some(port) = port.filter(|p| *p != 0) {
                host.vars.insert("ansible_port".into(), Json::from(port));
            }
            self.hosts.insert(name.to_string(), host);
            if LOCALHOST_NAMES.contains(&name) {
                match &self.localhost {
                    None => self.localhost = Some(name.to_string()),
                    Some(first) => self.warnings.push(format!(
                        "a duplicate localhost-like entry was found ({name}); the first one found was {first}"
                    )),
                }
            }
        }
        let Some(entry) = self.groups.get_mut(group) else {
            return;
        };
        // A host is in few groups, a group may hold 100,000 hosts: ask the host.
        let Some(host) = self.hosts.get_mut(name) else {
            return;
        };
        if !host.groups.iter().any(|g| g == group) {
            host.groups.push(group.to_string());
            entry.hosts.push(name.to_string());
        }
    }

    /// Sets one variable on a host.
    pub(super) fn set_host_var(&mut self, host: &str, key: &str, value: Json) {
        if let Some(host) = self.hosts.get_mut(host) {
            host.untrusted.remove(key);
            crate::hash_behaviour::set(&mut host.vars, key.to_string(), value);
        }
    }

    /// Sets one variable a template computed on a host (see `Host::untrusted`).
    pub(super) fn set_untrusted_host_var(&mut self, host: &str, key: &str, value: Json) {
        if let Some(host) = self.hosts.get_mut(host) {
            host.untrusted.insert(key.to_string());
            crate::hash_behaviour::set(&mut host.vars, key.to_string(), value);
        }
    }

    /// Sets one variable on a group; `ansible_group_priority` sets its priority.
    pub(super) fn set_group_var(
        &mut self,
        group: &str,
        key: &str,
        value: Json,
    ) -> Result<(), String> {
        let Some(group) = self.groups.get_mut(group) else {
            return Ok(());
        };
        if key == "ansible_group_priority" {
            group.priority = match &value {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("ansible_group_priority must be an integer, not {value}"))?;
        } else {
            crate::hash_behaviour::set(&mut group.vars, key.to_string(), value);
        }
        Ok(())
    }

    /// Makes `child` a child group of `parent`, refusing cycles.
    pub(super) fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if child == "all" {
            return Err(format!(
                "the group 'all' cannot be a child of '{parent}': every group is already inside 'all'"
            ));
        }
        if parent == child {
            return Err(format!("the group '{parent}' cannot be a child of itself"));
        }
        if let Some(path) = self.descendant_path(child, parent) {
            return Err(format!(
                "making '{child}' a child of '{parent}' creates a cycle: {} -> {child}",
                path.join(" -> ")
            ));
        }
        self.link(parent, child);
        Ok(())
    }

    /// Records the parent/child link (both groups must exist).
    pub(super) fn link(&mut self, parent: &str, child: &str) {
        if let Some(group) = self.groups.get_mut(parent)
            && !group.children.iter().any(|c| c == child)
        {
            group.children.push(child.to_string());
            if let Some(group) = self.groups.get_mut(child) {
                group.parents.push(parent.to_string());
            }
        }
    }

    /// The chain of groups from `from` down to its descendant `to`, if there is one.
    fn descendant_path(&self, from: &str, to: &str) -> Option<Vec<String>> {
        if from == to {
            return Some(vec![to.to_string()]);
        }
        for child in &self.groups.get(from)?.children {
            if let Some(mut rest) = self.descendant_path(child, to) {
                rest.insert(0, from.to_string());
                return Some(rest);
            }
        }
        None
    }

    /// Ansible's `reconcile_inventory`: parentless groups join `all`, hosts in no
    /// group join `ungrouped`, hosts in a real group leave it; depths are computed.
    pub(super) fn reconcile(&mut self) {
        let roots: Vec<String> = self
            .groups
            .iter()
            .filter(|(name, group)| *name != "all" && group.parents.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        for root in roots {
            self.link("all", &root);
        }
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        let mut grouped = HashSet::new();
        for name in &names {
            let groups = self.host_groups(name);
            let real = groups.iter().any(|g| *g != "all" && *g != "ungrouped");
            if groups.contains(&"ungrouped") {
                if real {
                    grouped.insert(name.clone());
                }
            } else if !real {
                self.add_host(name, "ungrouped", None, None);
            }
        }
        self.remove_from_ungrouped(&grouped);
        self.compute_depths();
        for name in self.groups.keys() {
            if self.hosts.contains_key(name) {
                self.warnings
                    .push(format!("found both a group and a host named '{name}'"));
            }
        }
    }

    /// Sets every group's depth, its longest distance from `all`.
    pub(super) fn compute_depths(&mut self) {
        let mut depths = HashMap::new();
        let group_names: Vec<String> = self.groups.keys().cloned().collect();
        for name in &group_names {
            let depth = self.depth_of(name, &mut depths);
            if let Some(group) = self.groups.get_mut(name) {
                group.depth = depth;
            }
        }
    }

    /// Takes `hosts` out of `ungrouped` in one pass over the group.
    fn remove_from_ungrouped(&mut self, hosts: &HashSet<String>) {
        if hosts.is_empty() {
            return;
        }
        if let Some(entry) = self.groups.get_mut("ungrouped") {
            entry.hosts.retain(|h| !hosts.contains(h));
        }
        for host in hosts {
            if let Some(entry) = self.hosts.get_mut(host) {
                entry.groups.retain(|g| g != "ungrouped");
            }
        }
    }

    /// The longest distance from `all`, as Ansible's group depth.
    fn depth_of(&self, name: &str, memo: &mut HashMap<String, usize>) -> usize {
        if let Some(depth) = memo.get(name) {
            return *depth;
        }
        let depth = self.groups.get(name).map_or(0, |group| {
            group
                .parents
                .iter()
                .map(|parent| self.depth_of(parent, memo) + 1)
                .max()
                .unwrap_or(0)
        });
        memo.insert(name.to_string(), depth);
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An inventory from `(parent, child)` group links and `(group, host)` memberships.
    fn build(links: &[(&str, &str)], members: &[(&str, &str)]) -> Inventory {
        let mut inventory = Inventory::empty();
        for (parent, child) in links {
            inventory.add_group(parent);
            inventory.add_group(child);
            inventory.add_child(parent, child).expect("no cycle");
        }
        for (group, host) in members {
            inventory.add_group(group);
            inventory.add_host(host, group, None, None);
        }
        inventory.reconcile();
        inventory
    }

    #[test]
    fn depth_is_the_longest_path_from_all() {
        let inventory = build(
            &[("a", "b"), ("b", "c"), ("a", "c"), ("all", "d"), ("d", "c")],
            &[],
        );
        let cases = [
            ("all", 0),
            ("ungrouped", 1),
            ("a", 1),
            ("b", 2),
            ("c", 3),
            ("d", 1),
        ];
        for (group, depth) in cases {
            assert_eq!(inventory.groups[group].depth, depth, "{group}");
        }
        assert_eq!(inventory.groups["all"].children, ["ungrouped", "d", "a"]);
    }

    #[test]
    fn ungrouped_holds_hosts_in_no_other_group() {
        let inventory = build(
            &[],
            &[
                ("ungrouped", "u"),
                ("ungrouped", "both"),
                ("web", "both"),
                ("all", "direct"),
                ("web", "w"),
            ],
        );
        assert_eq!(inventory.groups["ungrouped"].hosts, ["u", "direct"]);
        assert_eq!(inventory.hosts["both"].groups, ["web"]);
        assert_eq!(inventory.groups["all"].hosts, ["direct"]);
    }

    /// Existing links, the link to add, and a part of the expected error.
    type CycleCase = (
        &'static [(&'static str, &'static str)],
        (&'static str, &'static str),
        &'static str,
    );

    #[test]
    fn child_links_refuse_cycles_and_all() {
        let cases: &[CycleCase] = &[
            (&[], ("a", "a"), "cannot be a child of itself"),
            (&[("a", "b")], ("b", "a"), "a -> b -> a"),
            (&[("a", "b"), ("b", "c")], ("c", "a"), "a -> b -> c -> a"),
            (&[], ("a", "all"), "'all' cannot be a child"),
        ];
        for (links, (parent, child), needle) in cases {
            let mut inventory = build(links, &[]);
            inventory.add_group(parent);
            inventory.add_group(child);
            let err = inventory.add_child(parent, child).expect_err(needle);
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn first_port_and_source_stick() {
        let mut inventory = Inventory::empty();
        inventory.add_group("g");
        inventory.add_host("h", "g", Some(22), Some(Path::new("one")));
        inventory.add_host("h", "g", Some(23), Some(Path::new("two")));
        inventory.add_host("z", "g", Some(0), None);
        assert_eq!(inventory.hosts["h"].vars["ansible_port"], Json::from(22));
        assert_eq!(inventory.inventory_file("h"), Some(Path::new("one")));
        assert!(inventory.hosts["z"].vars.is_empty());
        assert_eq!(inventory.groups["g"].hosts, ["h", "z"]);
    }
}

//! Changes a playbook makes to the inventory while it runs: `add_host` and `group_by`,
//! applied as Ansible's strategy applies them (`_add_host`, `_add_group`), each saying
//! whether it changed anything.

use serde_json::{Map, Value as Json};

use super::address::parse_address;
use super::{Inventory, InventoryError};

/// One change made at run time, kept so `meta: refresh_inventory` can make it again.
#[derive(Clone, Debug)]
pub enum Change {
    /// `add_host`.
    Host {
        name: String,
        groups: Vec<String>,
        vars: Map<String, Json>,
    },
    /// `group_by`.
    Group {
        host: String,
        group: String,
        parents: Vec<String>,
    },
}

impl Inventory {
    /// `meta: refresh_inventory`: the sources read again, with the changes the run
    /// made kept, as Ansible keeps hosts and groups added while it ran.
    pub fn refreshed(&self) -> Result<Inventory, InventoryError> {
        let (sources, playbook_dir) = &self.origin;
        let mut fresh = Inventory::load_with(sources, self.unparsed)?;
        if let Some(dir) = playbook_dir {
            fresh.load_playbook_vars(dir)?;
        }
        for change in &self.changes {
            match change {
                Change::Host { name, groups, vars } => {
                    fresh.add_runtime_host(name, groups, vars.clone())?;
                }
                // A host the sources no longer have stays out of its groups, as
                // Ansible's add_dynamic_group skips it on refresh.
                Change::Group { host, .. } if fresh.resolve(host).is_none() => {}
                Change::Group {
                    host,
                    group,
                    parents,
                } => {
                    fresh.add_runtime_group(host, group, parents)?;
                }
            }
        }
        Ok(fresh)
    }

    /// `add_host`: the host created unless it exists, `vars` merged over its own,
    /// and made a member of `groups` (created as needed). `name` may carry a port
    /// (`web1:2222`), which becomes `ansible_ssh_port`.
    pub fn add_runtime_host(
        &mut self,
        name: &str,
        groups: &[String],
        mut vars: Map<String, Json>,
    ) -> Result<bool, InventoryError> {
        self.changes.push(Change::Host {
            name: name.to_string(),
            groups: groups.to_vec(),
            vars: vars.clone(),
        });
        let (name, port) = parse_address(name, false).unwrap_or((name.to_string(), None));
        if let Some(port) = port {
            vars.insert("ansible_ssh_port".into(), Json::from(port));
        }
        let mut changed = false;
        if !self.hosts.contains_key(&name) {
            self.add_host(&name, "all", None, None);
            changed = true;
        }
        for (key, value) in vars {
            let host = self.hosts.get_mut(&name);
            if let Some(host) = host.filter(|h| h.vars.get(&key) != Some(&value)) {
                host.vars.insert(key, value);
                changed = true;
            }
        }
        for group in groups {
            changed |= self.join_group(&name, group);
        }
        self.reconcile();
        self.load_new_vars(groups.iter().map(String::as_str), Some(&name))?;
        Ok(changed)
    }

    /// `group_by`: `host` made a member of `group`, which is made a child of each
    /// of `parents` (all groups created as needed).
    pub fn add_runtime_group(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, InventoryError> {
        self.changes.push(Change::Group {
            host: host.to_string(),
            group: group.to_string(),
            parents: parents.to_vec(),
        });
        let mut changed = false;
        self.add_group(group);
        for parent in parents {
            if !self.groups.contains_key(parent) {
                self.add_group(parent);
                changed = true;
            }
            let linked = self.groups[parent.as_str()]
                .children
                .iter()
                .any(|c| c == group);
            if !linked && parent != group && self.add_child(parent, group).is_ok() {
                changed = true;
            }
        }
        let name = self
            .resolve(host)
            .map(|resolved| match resolved {
                super::Resolved::Listed(name, _) | super::Resolved::ImplicitLocalhost(name) => {
                    name.to_string()
                }
            })
            .unwrap_or_else(|| host.to_string());
        changed |= self.join_group(&name, group);
        self.reconcile();
        let names = std::iter::once(group).chain(parents.iter().map(String::as_str));
        self.load_new_vars(names, None)?;
        Ok(changed)
    }

    /// Makes `host` a direct member of `group` (created as needed); whether it was not.
    fn join_group(&mut self, host: &str, group: &str) -> bool {
        self.add_group(group);
        let member = self
            .hosts
            .get(host)
            .is_some_and(|h| h.groups.iter().any(|g| g == group));
        if !member {
            self.add_host(host, group, None, None);
        }
        !member
    }

    /// Reads `group_vars/`/`host_vars/` of groups and hosts made at run time.
    fn load_new_vars<'a>(
        &mut self,
        groups: impl Iterator<Item = &'a str> + Clone,
        host: Option<&str>,
    ) -> Result<(), InventoryError> {
        for dir in self
            .inventory_vars
            .iter_mut()
            .chain(self.playbook_vars.as_mut())
        {
            for group in groups.clone() {
                dir.load_new(Some(group), None)?;
            }
            dir.load_new(None, host)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Inventory;
    use serde_json::{Map, json};

    fn inventory(text: &str) -> Inventory {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hosts.ini");
        std::fs::write(&path, text).expect("write");
        Inventory::load(&[path.display().to_string()]).expect("inventory")
    }

    #[test]
    fn add_host_creates_the_host_in_its_groups_and_reports_change_once() {
        let mut inv = inventory("web1\n");
        let mut vars = Map::new();
        vars.insert("role".into(), json!("db"));
        let groups = vec!["dbs".to_string()];
        assert!(
            inv.add_runtime_host("db1:2222", &groups, vars.clone())
                .expect("add")
        );
        assert_eq!(inv.select("dbs").expect("pattern"), ["db1"]);
        assert_eq!(inv.host_vars("db1")["ansible_ssh_port"], json!(2222));
        assert_eq!(inv.host_vars("db1")["role"], json!("db"));
        assert!(
            !inv.add_runtime_host("db1:2222", &groups, vars)
                .expect("again")
        );
        assert!(
            !inv.select("ungrouped")
                .expect("pattern")
                .contains(&"db1".to_string())
        );
    }

    #[test]
    fn group_by_makes_a_group_under_its_parents() {
        let mut inv = inventory("web1\nweb2\n");
        let parents = vec!["os".to_string()];
        assert!(
            inv.add_runtime_group("web1", "os_debian", &parents)
                .expect("add")
        );
        assert!(
            !inv.add_runtime_group("web1", "os_debian", &parents)
                .expect("again")
        );
        assert_eq!(inv.select("os").expect("pattern"), ["web1"]);
        assert_eq!(inv.group_names("web1"), ["os", "os_debian"]);
        assert!(inv.select("ungrouped").expect("pattern") == ["web2"]);
    }
}

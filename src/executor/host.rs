//! What the executor keeps for each host during a play: its variables from each
//! source, its connection, and whether it failed.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::connection::Connection;
use crate::modules::prefetch::Prefetched;

/// One host's state during a run.
pub struct HostState {
    /// Inventory name.
    pub name: String,
    /// Inventory variables (group and host vars, group_vars/, host_vars/).
    pub inventory_vars: Map<String, Json>,
    /// Gathered facts, as `ansible_*` names.
    pub facts: Map<String, Json>,
    /// `include_vars` results.
    pub included_vars: Map<String, Json>,
    /// `set_fact` and `register` results.
    pub host_vars: Map<String, Json>,
    /// The open connection, made on first use.
    pub connection: Option<Arc<dyn Connection>>,
    /// Failed in this play (no further tasks run).
    pub failed: bool,
    /// Could not be reached.
    pub unreachable: bool,
    /// Stopped by `meta: end_host` / `end_play`.
    pub ended: bool,
    /// Handlers notified and not yet run, in notification order.
    pub notified: Vec<String>,
    /// What the running loop asked for ahead of its items (copy, template).
    pub prefetched: Option<Arc<Prefetched>>,
}

impl HostState {
    /// A fresh state for `name` with its inventory variables.
    pub fn new(name: &str, inventory_vars: Map<String, Json>) -> HostState {
        HostState {
            name: name.to_string(),
            inventory_vars,
            facts: Map::new(),
            included_vars: Map::new(),
            host_vars: Map::new(),
            connection: None,
            failed: false,
            unreachable: false,
            ended: false,
            notified: Vec::new(),
            prefetched: None,
        }
    }

    /// Whether tasks still run on this host.
    pub fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended
    }

    /// Stores gathered or set facts: `ansible_x` both top-level and under `ansible_facts`.
    pub fn add_facts(&mut self, facts: &Map<String, Json>) {
        let mut nested = match self.facts.remove("ansible_facts") {
            Some(Json::Object(map)) => map,
            _ => Map::new(),
        };
        for (key, value) in facts {
            let short = key.strip_prefix("ansible_").unwrap_or(key);
            nested.insert(short.to_string(), value.clone());
            self.facts.insert(key.clone(), value.clone());
        }
        self.facts
            .insert("ansible_facts".into(), Json::Object(nested));
    }

    /// The variables other hosts see through `hostvars[this]`.
    pub fn visible_vars(&self) -> Map<String, Json> {
        let mut vars = self.inventory_vars.clone();
        vars.extend(self.facts.clone());
        vars.extend(self.included_vars.clone());
        vars.extend(self.host_vars.clone());
        vars.insert("inventory_hostname".into(), Json::String(self.name.clone()));
        vars
    }
}

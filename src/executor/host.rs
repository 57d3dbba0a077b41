//! What the executor keeps for each host during a play: its variables from each
//! source, its connection, and whether it failed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json};

use crate::connection::{Answers, Connection};
use crate::modules::Args;
use crate::modules::prefetch::Prefetched;
use crate::playbook::ConnectKeywords;

/// A host's variables from one source, shared rather than copied by the scopes that
/// read them (`hostvars`, what later plays start from) and copied only on a write.
pub type SharedVars = Arc<Map<String, Json>>;

/// One host's state during a run.
pub struct HostState {
    /// Inventory name.
    pub name: String,
    /// Inventory variables (group and host vars, group_vars/, host_vars/).
    pub inventory_vars: SharedVars,
    /// Which version of the inventory `inventory_vars` were read from.
    pub inventory_changes: u64,
    /// Gathered facts, as `ansible_*` names.
    pub facts: SharedVars,
    /// `include_vars` results.
    pub included_vars: SharedVars,
    /// `set_fact` and `register` results.
    pub host_vars: SharedVars,
    /// The open connection and the keywords it was made with, made on first use.
    pub connection: Option<(ConnectKeywords, Arc<dyn Connection>)>,
    /// Failed in this play (no further tasks run).
    pub failed: bool,
    /// Could not be reached.
    pub unreachable: bool,
    /// Stopped by `meta: end_host` / `end_play`.
    pub ended: bool,
    /// How many times `meta: clear_host_errors` forgave the host's failures in this
    /// play: a failure an `always:` section set aside is not restored after one.
    pub errors_cleared: usize,
    /// How many enclosing blocks with a `rescue:` the host is in the `block:` part
    /// of: a failure there counts as rescued, not failed, as Ansible counts it when
    /// the host turns to the rescue (`is_any_block_rescuing`).
    pub rescuable: usize,
    /// Handlers notified and not yet run, in notification order.
    pub notified: Vec<String>,
    /// What the running loop asked for ahead of its items (copy, template).
    pub prefetched: Option<Arc<Prefetched>>,
    /// The running loop's items' first questions, asked ahead in one round trip.
    pub answers: Option<Arc<Answers>>,
    /// The running loop's items' arguments, while its answers last.
    pub siblings: Option<Arc<Vec<Args>>>,
    /// Deduplicated roles ([`crate::playbook::RoleScope::dedup`]) one of whose tasks
    /// ran here (ok, changed or failed; not skipped or unreachable) in this play.
    pub roles_ran: HashSet<String>,
    /// Deduplicated roles this host completed in this play: later uses skip it.
    pub roles_done: HashSet<String>,
    /// Sits out the running task, part of a role it completed earlier.
    pub role_done_here: bool,
    /// Passes over the rest of the running role after `meta: end_role`, until the
    /// role's `role_complete` marker.
    pub role_ended: bool,
}

/// What a host keeps from play to play, as in Ansible: its facts, `include_vars`,
/// `set_fact` and `register` results, and whether it failed or was unreachable (such
/// a host takes no part in later plays).
#[derive(Clone, Debug, Default)]
pub struct Remembered {
    facts: SharedVars,
    included_vars: SharedVars,
    host_vars: SharedVars,
    /// Failed in an earlier play.
    pub failed: bool,
    /// Unreachable in an earlier play.
    pub unreachable: bool,
}

/// Every host's [`Remembered`] state, shared by the run's plays and `hostvars`.
pub type Memory = Arc<Mutex<HashMap<String, Remembered>>>;

/// What earlier plays left of host `name`, if it took part in one. A lock poisoned by
/// a panicking task still holds good bookkeeping, so it is read as it is.
pub fn recalled(memory: &Memory, name: &str) -> Option<Remembered> {
    memory
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(name)
        .cloned()
}

/// What a host shows other hosts through `hostvars[host]`: its inventory variables,
/// then facts, included and set variables.
pub fn visible_vars(
    name: &str,
    inventory_vars: &Map<String, Json>,
    remembered: &Remembered,
) -> Map<String, Json> {
    let mut vars = inventory_vars.clone();
    for layer in [
        &remembered.facts,
        &remembered.included_vars,
        &remembered.host_vars,
    ] {
        vars.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    vars.insert("inventory_hostname".into(), Json::String(name.to_string()));
    vars
}

impl HostState {
    /// The state a later play starts from.
    pub fn remember(&self) -> Remembered {
        Remembered {
            facts: self.facts.clone(),
            included_vars: self.included_vars.clone(),
            host_vars: self.host_vars.clone(),
            failed: self.failed,
            unreachable: self.unreachable,
        }
    }

    /// Takes up what earlier plays left; a host that failed or was unreachable there
    /// starts inactive.
    pub fn restore(&mut self, remembered: Remembered) {
        self.facts = remembered.facts;
        self.included_vars = remembered.included_vars;
        self.host_vars = remembered.host_vars;
        self.failed = remembered.failed;
        self.unreachable = remembered.unreachable;
    }

    /// Whether the host failed or was unreachable.
    pub fn fallen(&self) -> bool {
        self.failed || self.unreachable
    }

    /// A fresh state for `name` with its inventory variables.
    pub fn new(name: &str, inventory_vars: Map<String, Json>) -> HostState {
        HostState {
            name: name.to_string(),
            inventory_vars: Arc::new(inventory_vars),
            inventory_changes: 0,
            facts: SharedVars::default(),
            included_vars: SharedVars::default(),
            host_vars: SharedVars::default(),
            connection: None,
            failed: false,
            unreachable: false,
            ended: false,
            rescuable: 0,
            errors_cleared: 0,
            notified: Vec::new(),
            prefetched: None,
            answers: None,
            siblings: None,
            roles_ran: HashSet::new(),
            roles_done: HashSet::new(),
            role_done_here: false,
            role_ended: false,
        }
    }

    /// Counts a failure of this host: as rescued inside a block with a rescue.
    pub fn count_failure(&self, stats: &mut crate::output::HostStats) {
        match self.rescuable {
            0 => stats.failures += 1,
            _ => stats.rescued += 1,
        }
    }

    /// Whether tasks still run on this host (and the running one, see
    /// [`HostState::role_done_here`]).
    pub fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended && !self.role_done_here && !self.role_ended
    }

    /// Stores gathered or set facts: `ansible_x` both top-level and under `ansible_facts`.
    pub fn add_facts(&mut self, facts: &Map<String, Json>) {
        let own = Arc::make_mut(&mut self.facts);
        let mut nested = match own.remove("ansible_facts") {
            Some(Json::Object(map)) => map,
            _ => Map::new(),
        };
        for (key, value) in facts {
            let short = key.strip_prefix("ansible_").unwrap_or(key);
            nested.insert(short.to_string(), value.clone());
            own.insert(key.clone(), value.clone());
        }
        own.insert("ansible_facts".into(), Json::Object(nested));
    }
}

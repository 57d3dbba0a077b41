//! The variables a task sees on a host, merged in Ansible's precedence order, plus the
//! magic variables (`inventory_hostname`, `groups`, `hostvars` ...).

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use serde_json::{Map, Value as Json};

use super::host::{Memory, Remembered, SharedVars, recalled, visible_vars};
use super::{HostState, InventoryNow};
use crate::hash_behaviour::layer;
use crate::playbook::{Play, RoleScope, Task};
use crate::template::Vars;

pub use crate::template::OMIT;

/// What is the same for every host during one task.
pub struct TaskScope<'a> {
    /// The play.
    pub play: &'a Play,
    /// The magic variables that name hosts and groups (`groups`, `play_hosts`,
    /// `ansible_play_hosts`, `ansible_play_hosts_all`, `ansible_play_batch`), made
    /// once per task: every host's variables share them rather than copy them, so a
    /// task's cost per host does not grow with the number of hosts.
    pub host_lists: HashMap<String, Value>,
    /// Every host's visible variables, for `hostvars`.
    pub hostvars: Arc<HostVars>,
    /// `vars_files` of the play, loaded per host.
    pub vars_files: &'a HashMap<String, Map<String, Json>>,
    /// The play's role names.
    pub role_names: &'a super::role_names::RoleNames,
    /// The handlers roles brought in by `include_role` registered so far.
    pub included_handlers: &'a std::sync::Mutex<Vec<Task>>,
}

/// `hostvars`: every inventory host's variables by name; the batch's hosts as they
/// stand, the others as earlier plays left them, read when a template asks and
/// templated in their host's own context.
pub struct HostVars {
    /// The batch's hosts as they stand (their inventory variables and what they keep),
    /// shared, not copied: a host's variables are merged only when a template asks.
    pub hosts: indexmap::IndexMap<String, (SharedVars, Remembered)>,
    /// The inventory, for the other hosts.
    pub inventory: Arc<InventoryNow>,
    /// What earlier plays left of every host.
    pub memory: Memory,
    /// The engine each host's variables render with, in that host's own context.
    pub templar: Arc<crate::template::Templar>,
}

impl std::fmt::Debug for HostVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.hosts.keys()).finish()
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        let mut vars = match self.hosts.get(name) {
            Some((inventory_vars, kept)) => visible_vars(name, inventory_vars, kept),
            None if !self.inventory.has_host(name) => return None,
            None => {
                let remembered = recalled(&self.memory, name).unwrap_or_default();
                visible_vars(name, &self.inventory.host_vars(name), &remembered)
            }
        };
        // The magic variables that are the host's own, as Ansible's hostvars has them.
        vars.insert(
            "group_names".into(),
            serde_json::json!(self.inventory.group_names(name)),
        );
        vars.insert(
            "inventory_hostname_short".into(),
            Json::from(name.split('.').next().unwrap_or_default()),
        );
        let mut objects = HashMap::new();
        objects.insert("hostvars".to_string(), Value::from_dyn_object(self.clone()));
        Some(Value::from_dyn_object(Vars::with_unlisted_objects(
            self.templar.clone(),
            vars,
            objects,
        )))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: Vec<Value> = self.hosts.keys().map(|k| Value::from(k.as_str())).collect();
        for name in self.inventory.host_names() {
            if !self.hosts.contains_key(&name) {
                names.push(Value::from(name));
            }
        }
        Enumerator::Values(names)
    }
}

/// Builds the variables `task` sees on `host`, lowest precedence first: role defaults,
/// inventory, facts, play vars, vars_files, role vars, block and task vars,
/// include_vars, set_fact/register, role params, extra vars, then magic variables.
pub fn task_vars(
    runner: &super::Runner,
    scope: &TaskScope<'_>,
    host: &HostState,
    task: Option<&Task>,
    extra: &[(String, Json)],
) -> Arc<Vars> {
    let role = task.and_then(|t| t.role.as_ref());
    // Every role of the play (dependencies before the roles that need them), since
    // Ansible makes role defaults and vars visible play-wide (private_role_vars off);
    // then a role task's own chain, which ranks highest.
    let mut roles: Vec<Arc<RoleScope>> = scope
        .play
        .roles
        .iter()
        .filter_map(|block| block.role.clone())
        .collect();
    let chain = role.map(role_chain).unwrap_or_default();
    roles.extend(chain.iter().rev().cloned());
    let mut vars = Map::new();
    for role in &roles {
        layer(&mut vars, role.defaults.clone());
    }
    layer(&mut vars, (*host.inventory_vars).clone());
    // The facts are shared, not copied: a layer under the other variables, which
    // the names of the lower layers (role defaults, inventory) they override leave.
    // Merging dictionaries across layers (`hash_behaviour = merge`) needs the copy.
    let facts_below = !crate::hash_behaviour::merging();
    if facts_below {
        vars.retain(|name, _| !host.facts.contains_key(name));
    } else {
        layer(&mut vars, (*host.facts).clone());
    }
    // A host without gathered facts still has `ansible_facts`, empty, as in Ansible.
    if !host.facts.contains_key("ansible_facts") {
        vars.entry("ansible_facts")
            .or_insert_with(|| Json::Object(Map::new()));
    }
    layer(&mut vars, scope.play.vars.clone());
    if let Some(files) = scope.vars_files.get(&host.name) {
        layer(&mut vars, files.clone());
    }
    for (index, role) in roles.iter().enumerate() {
        // The task's own role sees its dependencies' vars above those it inherits.
        if index + 1 == roles.len() && !chain.is_empty() {
            layer(&mut vars, role.dependency_vars.clone());
        }
        layer(&mut vars, role.vars.clone());
    }
    if let Some(task) = task {
        layer(&mut vars, task.vars.clone());
    }
    layer(&mut vars, (*host.included_vars).clone());
    layer(&mut vars, (*host.host_vars).clone());
    // A role's parameters, after those of the roles that pulled it in as a
    // dependency (outermost first), as Ansible's `get_role_params` walks the chain.
    for scope in chain.iter().rev() {
        layer(&mut vars, scope.params.clone());
    }
    layer(&mut vars, runner.options.extra_vars.clone());

    let name = host.name.clone();
    let short = name.split('.').next().unwrap_or_default().to_string();
    let magic: [(&str, Json); 14] = [
        ("inventory_hostname", Json::String(name.clone())),
        ("inventory_hostname_short", Json::String(short)),
        (
            "group_names",
            serde_json::json!(runner.inventory().group_names(&name)),
        ),
        (
            "ansible_play_name",
            Json::String(
                scope
                    .play
                    .name
                    .clone()
                    .unwrap_or_else(|| scope.play.hosts.clone()),
            ),
        ),
        ("ansible_check_mode", Json::Bool(runner.options.check)),
        ("ansible_diff_mode", Json::Bool(runner.options.diff)),
        ("ansible_verbosity", Json::from(runner.options.verbosity)),
        (
            "ansible_version",
            serde_json::json!({
                "full": "2.19.14", "major": 2, "minor": 19, "revision": 14,
                "string": "2.19.14", "bosun": env!("CARGO_PKG_VERSION"),
            }),
        ),
        (
            "playbook_dir",
            Json::String(scope.play.dir.display().to_string()),
        ),
        ("omit", Json::String(OMIT.into())),
        (
            "ansible_run_tags",
            serde_json::json!(if runner.options.tags.only.is_empty() {
                vec!["all".to_string()]
            } else {
                runner.options.tags.only.clone()
            }),
        ),
        (
            "ansible_skip_tags",
            serde_json::json!(runner.options.tags.skip),
        ),
        ("ansible_forks", Json::from(runner.options.forks)),
        (
            "ansible_playbook_python",
            Json::String(crate::inventory::CONTROLLER_PYTHON.clone()),
        ),
    ];
    for (key, value) in magic {
        vars.insert(key.into(), value);
    }
    scope.role_names.insert_into(&mut vars);
    if !vars.contains_key("ansible_host") {
        vars.insert("ansible_host".into(), Json::String(name.clone()));
    }
    if let Some(role) = role {
        vars.insert(
            "role_path".into(),
            Json::String(role.path.display().to_string()),
        );
        vars.insert("role_name".into(), Json::String(role.name.clone()));
        vars.insert("ansible_role_name".into(), Json::String(role.name.clone()));
    }
    let role_dirs: Vec<&std::path::Path> = chain.iter().map(|r| r.path.as_path()).collect();
    vars.insert(
        "ansible_search_path".into(),
        crate::template::search_path(
            &role_dirs,
            task.map(|t| t.span.file.path.as_path()),
            &scope.play.dir,
        ),
    );
    let mut objects = scope.host_lists.clone();
    for (key, value) in extra {
        objects.remove(key);
        vars.insert(key.clone(), value.clone());
    }
    objects.insert(
        "hostvars".to_string(),
        Value::from_dyn_object(scope.hostvars.clone()),
    );
    let facts = facts_below.then(|| Vars::shared(runner.templar.clone(), host.facts.clone()));
    Vars::over(runner.templar.clone(), vars, objects, facts)
}

/// The role and the roles that pulled it in, innermost first.
fn role_chain(role: &Arc<RoleScope>) -> Vec<Arc<RoleScope>> {
    let mut chain = vec![role.clone()];
    let mut current = role.parent.clone();
    while let Some(parent) = current {
        current = parent.parent.clone();
        chain.push(parent);
    }
    chain
}

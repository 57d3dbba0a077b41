//! The variables a task sees on a host, merged in Ansible's precedence order, plus the
//! magic variables (`inventory_hostname`, `groups`, `hostvars` ...).

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use serde_json::{Map, Value as Json};

use super::HostState;
use crate::playbook::{Play, RoleScope, Task};
use crate::template::Vars;

/// The placeholder `omit` renders to; arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__bosun";

/// What is the same for every host during one task.
pub struct TaskScope<'a> {
    /// The play.
    pub play: &'a Play,
    /// The hosts of the play (`ansible_play_hosts`).
    pub play_hosts: &'a [String],
    /// `groups`.
    pub groups: &'a Json,
    /// Every host's visible variables, for `hostvars`.
    pub hostvars: Arc<HostVars>,
    /// `vars_files` of the play, loaded per host.
    pub vars_files: &'a HashMap<String, Map<String, Json>>,
}

/// `hostvars`: every host's variables by name.
#[derive(Debug)]
pub struct HostVars {
    /// Variables per host.
    pub hosts: Map<String, Json>,
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.hosts.get(key.as_str()?).map(Value::from_serialize)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.hosts.keys().map(|k| Value::from(k.as_str())).collect())
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
    // A role's own chain; for tasks outside roles, every role of the play, since
    // Ansible makes role defaults and vars visible play-wide (private_role_vars off).
    let roles: Vec<Arc<RoleScope>> = match role {
        Some(role) => role_chain(role).into_iter().rev().collect(),
        None => scope
            .play
            .roles
            .iter()
            .filter_map(|block| block.role.clone())
            .collect(),
    };
    let mut vars = Map::new();
    for role in &roles {
        vars.extend(role.defaults.clone());
    }
    vars.extend(host.inventory_vars.clone());
    vars.extend(host.facts.clone());
    vars.extend(scope.play.vars.clone());
    if let Some(files) = scope.vars_files.get(&host.name) {
        vars.extend(files.clone());
    }
    for role in &roles {
        vars.extend(role.vars.clone());
    }
    if let Some(task) = task {
        vars.extend(task.vars.clone());
    }
    vars.extend(host.included_vars.clone());
    vars.extend(host.host_vars.clone());
    if let Some(role) = role {
        vars.extend(role.params.clone());
    }
    vars.extend(runner.options.extra_vars.clone());

    let name = host.name.clone();
    let short = name.split('.').next().unwrap_or_default().to_string();
    let play_hosts = Json::Array(
        scope
            .play_hosts
            .iter()
            .map(|h| Json::String(h.clone()))
            .collect(),
    );
    let magic: [(&str, Json); 16] = [
        ("inventory_hostname", Json::String(name.clone())),
        ("inventory_hostname_short", Json::String(short)),
        (
            "group_names",
            serde_json::json!(runner.inventory.group_names(&name)),
        ),
        ("groups", scope.groups.clone()),
        ("play_hosts", play_hosts.clone()),
        ("ansible_play_hosts", play_hosts.clone()),
        ("ansible_play_hosts_all", play_hosts.clone()),
        ("ansible_play_batch", play_hosts),
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
                "full": "2.17.0", "major": 2, "minor": 17, "revision": 0,
                "string": "2.17.0", "bosun": env!("CARGO_PKG_VERSION"),
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
    ];
    for (key, value) in magic {
        vars.insert(key.into(), value);
    }
    if let Some(role) = role {
        vars.insert(
            "role_path".into(),
            Json::String(role.path.display().to_string()),
        );
        vars.insert("role_name".into(), Json::String(role.name.clone()));
        vars.insert("ansible_role_name".into(), Json::String(role.name.clone()));
    }
    let chain = role.map(role_chain).unwrap_or_default();
    let role_dirs: Vec<&std::path::Path> = chain.iter().map(|r| r.path.as_path()).collect();
    vars.insert(
        "ansible_search_path".into(),
        crate::template::search_path(
            &role_dirs,
            task.map(|t| t.span.file.path.as_path()),
            &scope.play.dir,
        ),
    );
    for (key, value) in extra {
        vars.insert(key.clone(), value.clone());
    }
    let mut objects = HashMap::new();
    objects.insert(
        "hostvars".to_string(),
        Value::from_dyn_object(scope.hostvars.clone()),
    );
    Vars::with_objects(runner.templar.clone(), vars, objects)
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

//! The play's role names as Ansible's magic variables give them:
//! `ansible_play_role_names` (and `role_names`) for the roles a play names itself
//! (`roles:`, `import_role`, `include_role`), `ansible_dependent_role_names` for
//! those pulled in by `meta/main.yml` dependencies, `ansible_role_names` for both.

use std::collections::BTreeSet;

use serde_json::{Map, Value as Json};

use crate::playbook::{Action, Play, Task};

/// The role names of one play.
#[derive(Debug, Default)]
pub struct RoleNames {
    /// Roles the play names, in first-use order.
    play: Vec<String>,
    /// Roles that are some role's dependency.
    dependent: Vec<String>,
}

impl RoleNames {
    /// The names of the roles in `play`'s tasks. An `include_role` counts from the
    /// play's start (Ansible adds it once it has run) when its name is no template.
    pub fn of(play: &Play) -> RoleNames {
        let mut names = RoleNames::default();
        for list in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
            names.collect(list);
        }
        names
    }

    fn collect(&mut self, tasks: &[Task]) {
        for task in tasks {
            if let Some(role) = &task.role {
                let list = match role.dependency {
                    true => &mut self.dependent,
                    false => &mut self.play,
                };
                if !list.contains(&role.name) {
                    list.push(role.name.clone());
                }
            }
            match &task.action {
                Action::Block {
                    block,
                    rescue,
                    always,
                } => {
                    self.collect(block);
                    self.collect(rescue);
                    self.collect(always);
                }
                Action::IncludeRole { name, .. }
                    if !crate::template::is_template(name) && !self.play.contains(name) =>
                {
                    self.play.push(name.clone());
                }
                _ => {}
            }
        }
    }

    /// The magic variables, added to `vars`.
    pub fn insert_into(&self, vars: &mut Map<String, Json>) {
        let all: BTreeSet<&String> = self.play.iter().chain(&self.dependent).collect();
        vars.insert("ansible_role_names".into(), serde_json::json!(all));
        vars.insert(
            "ansible_play_role_names".into(),
            Json::from(self.play.clone()),
        );
        vars.insert("role_names".into(), Json::from(self.play.clone()));
        vars.insert(
            "ansible_dependent_role_names".into(),
            Json::from(self.dependent.clone()),
        );
    }
}

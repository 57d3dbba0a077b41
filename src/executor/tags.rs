//! Tag selection: which tasks `--tags` and `--skip-tags` let run, with Ansible's
//! special tags `all`, `always`, `never`, `tagged` and `untagged`.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::play::PlayRun;
use super::vars::task_vars;
use super::{HostState, Runner};
use crate::playbook::Task;

impl Runner {
    /// `task`'s tags, templated ones (`tags: "{{ t }}"`) rendered with the variables
    /// of the first of `hosts`, as Ansible's `evaluate_tags` renders them before
    /// choosing; a tag that does not render stays as written.
    pub(super) fn task_tags<'t>(
        &self,
        run: &PlayRun<'_>,
        task: &'t Task,
        hosts: &[HostState],
    ) -> Cow<'t, [String]> {
        let templated = |tag: &String| tag.contains("{{") || tag.contains("{%");
        let Some(host) = hosts.first().filter(|_| task.tags.iter().any(templated)) else {
            return Cow::Borrowed(&task.tags);
        };
        let vars = task_vars(self, &self.scope(run, hosts), host, Some(task), &[]);
        let mut tags = Vec::new();
        for tag in &task.tags {
            match self.templar.render_value(&Json::String(tag.clone()), &vars) {
                Ok(rendered) if templated(tag) => flatten_into(&mut tags, rendered),
                _ => tags.push(tag.clone()),
            }
        }
        Cow::Owned(tags)
    }
}

/// Adds a rendered tag (a name, a number or a list of them) to `tags`.
fn flatten_into(tags: &mut Vec<String>, rendered: Json) {
    match rendered {
        Json::Array(items) => items.into_iter().for_each(|i| flatten_into(tags, i)),
        Json::String(name) => tags.push(name),
        other => tags.push(other.to_string()),
    }
}

/// The user's tag choice.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    /// `--tags` (empty means all).
    pub only: Vec<String>,
    /// `--skip-tags`.
    pub skip: Vec<String>,
}

impl TagFilter {
    /// Whether a task with `tags` runs.
    pub fn allows(&self, tags: &[String]) -> bool {
        let has = |name: &str| tags.iter().any(|t| t == name);
        let requested = |name: &str| self.only.iter().any(|t| t == name);
        if self.skip.iter().any(|s| has(s))
            || (self.skip.iter().any(|s| s == "tagged") && !tags.is_empty())
            || (self.skip.iter().any(|s| s == "untagged") && tags.is_empty())
        {
            return false;
        }
        if has("never") && !tags.iter().any(|t| t != "never" && requested(t)) && !requested("never")
        {
            return false;
        }
        if self.only.is_empty() || requested("all") {
            return true;
        }
        has("always")
            || tags.iter().any(|t| requested(t))
            || (requested("tagged") && !tags.is_empty())
            || (requested("untagged") && tags.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(only: &[&str], skip: &[&str]) -> TagFilter {
        TagFilter {
            only: only.iter().map(|s| s.to_string()).collect(),
            skip: skip.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rendered_tags_are_flattened() {
        let mut out = Vec::new();
        flatten_into(&mut out, serde_json::json!(["a", ["b"], 3]));
        flatten_into(&mut out, serde_json::json!("c"));
        assert_eq!(out, tags(&["a", "b", "3", "c"]));
    }

    #[test]
    fn ansible_tag_rules() {
        let none = filter(&[], &[]);
        assert!(none.allows(&tags(&[])));
        assert!(none.allows(&tags(&["config"])));
        assert!(
            !none.allows(&tags(&["never"])),
            "never runs only when asked for"
        );
        assert!(none.allows(&tags(&["always"])));

        let config = filter(&["config"], &[]);
        assert!(config.allows(&tags(&["config", "x"])));
        assert!(!config.allows(&tags(&["install"])));
        assert!(!config.allows(&tags(&[])));
        assert!(
            config.allows(&tags(&["always"])),
            "always runs with any --tags"
        );
        assert!(
            config.allows(&tags(&["never", "config"])),
            "never + a requested tag runs"
        );

        assert!(!filter(&[], &["always"]).allows(&tags(&["always"])));
        assert!(!filter(&[], &["config"]).allows(&tags(&["config"])));
        assert!(filter(&["untagged"], &[]).allows(&tags(&[])));
        assert!(!filter(&["tagged"], &[]).allows(&tags(&[])));
    }
}

//! Tag selection: which tasks `--tags` and `--skip-tags` let run, with Ansible's
//! special tags `all`, `always`, `never`, `tagged` and `untagged`.

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

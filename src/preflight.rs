//! Finds variables that no source can define before anything runs, so a typo in
//! `{{ pakages }}` is pointed at with `file:line:col` before the run starts. These are
//! warnings: Ansible fails such a task only when it runs (and `ignore_errors`, a
//! `when` that skips it or a rescue may make that fine), so the run goes on.
//!
//! The check is conservative: a name counts as known if any source in the play may
//! define it (vars, vars_files, roles, inventory, extra vars, facts, `register`,
//! `set_fact`, loop variables, magic variables), and a use guarded by `is defined` or
//! `default(...)` is never reported. A play that includes files or variables at run
//! time (`include_*`, `add_host`, `group_by`) is not checked, nor are the plays after
//! it, since those can define anything.

use std::collections::HashSet;
use std::sync::LazyLock;

use minijinja::Environment;
use regex::Regex;
use serde_json::Value as Json;

use crate::playbook::{Action, Play, Playbook, Task, loader};
use crate::source::{SourceError, Span};
use crate::template::{check_expression, check_template, shielded};

/// Names every template may use without defining them.
const ALWAYS_KNOWN: &[&str] = &[
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
    "groups",
    "hostvars",
    "play_hosts",
    "playbook_dir",
    "role_path",
    "role_name",
    "omit",
    "vars",
    "item",
    "environment",
    "lookup",
    "query",
    "q",
    "range",
    "dict",
    "namespace",
    "lipsum",
    "cycler",
    "joiner",
    "now",
    "loop",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "inventory_dir",
    "inventory_file",
];

/// Reports every unguarded use of a variable nothing in its play (or an earlier one,
/// whose `register` and `set_fact` names last for the run) can define. Once a play
/// includes or changes things at run time, it and the plays after it are not checked.
pub fn undefined_variables(playbook: &Playbook, outer_known: &HashSet<String>) -> Vec<SourceError> {
    let mut errors = Vec::new();
    let mut carried: HashSet<String> = HashSet::new();
    for play in &playbook.plays {
        let tasks = all_tasks(play);
        if tasks.iter().any(|t| is_dynamic(t)) {
            break;
        }
        for task in &tasks {
            carried.extend(task.register.clone());
            if let Action::SetFact { facts, .. } = &task.action {
                carried.extend(facts.keys().cloned());
            }
        }
        let Some(mut known) = play_names(play) else {
            continue;
        };
        known.extend(outer_known.iter().cloned());
        known.extend(carried.iter().cloned());
        let Some(facts) = module_facts(&tasks) else {
            continue;
        };
        known.extend(facts);
        for task in &tasks {
            if let Some(role) = &task.role {
                known.extend(role.defaults.keys().cloned());
                known.extend(role.vars.keys().cloned());
                known.extend(role.params.keys().cloned());
            }
        }
        for task in &tasks {
            check_task(task, &known, &mut errors);
        }
    }
    errors
}

/// The facts modules of these tasks set under names of their own (`getent` sets
/// `getent_<database>`); `None` when a name is only known at run time.
fn module_facts(tasks: &[&Task]) -> Option<Vec<String>> {
    let mut facts = Vec::new();
    for task in tasks {
        if let Action::Module { module, args } = &task.action
            && module.name() == "getent"
        {
            let database = args.get("database").and_then(Json::as_str)?;
            if crate::template::is_template(database) {
                return None;
            }
            facts.push(format!("getent_{database}"));
        }
    }
    Some(facts)
}

/// Names defined for the whole play; `None` when vars_files cannot be read statically.
fn play_names(play: &Play) -> Option<HashSet<String>> {
    let mut known: HashSet<String> = play.vars.keys().cloned().collect();
    let prompted = play
        .vars_prompt
        .iter()
        .filter_map(|entry| entry.get("name"));
    known.extend(prompted.filter_map(|name| name.as_str().map(str::to_string)));
    for (candidates, _) in &play.vars_files {
        if candidates
            .iter()
            .any(|file| crate::template::is_template(file))
        {
            return None;
        }
        let found = candidates
            .iter()
            .find_map(|file| loader::find_vars_file(&play.dir, file))?;
        let vars = loader::load_vars_file(&found).ok()?;
        known.extend(vars.keys().cloned());
    }
    Some(known)
}

fn check_task(task: &Task, known: &HashSet<String>, errors: &mut Vec<SourceError>) {
    let mut local = known.clone();
    local.extend(task.vars.keys().cloned());
    if task.loop_.is_some() {
        local.insert(task.loop_control.loop_var.clone());
        local.extend(task.loop_control.index_var.clone());
    }
    let mut templates: Vec<(String, bool)> = Vec::new();
    for condition in task
        .when
        .iter()
        .chain(task.changed_when.iter().flatten())
        .chain(task.failed_when.iter().flatten())
        .chain(task.until.iter().flatten())
    {
        templates.push((condition.text.clone(), true));
    }
    if let Some(spec) = &task.loop_ {
        collect_strings(&spec.items, &mut templates);
    }
    match &task.action {
        Action::Module { args, .. } | Action::DropIn { args, .. } => {
            for value in args.values() {
                collect_strings(value, &mut templates);
            }
        }
        Action::SetFact { facts, .. } => {
            for value in facts.values() {
                collect_strings(value, &mut templates);
            }
        }
        _ => {}
    }
    for (text, is_expression) in templates {
        if let Some(name) = first_unknown(&text, is_expression, &local) {
            errors.push(undefined_error(&task.span, &name, &text));
        }
    }
}

fn undefined_error(task_span: &Span, name: &str, text: &str) -> SourceError {
    let span = locate(task_span, text);
    SourceError::new(&span, format!("'{name}' is undefined (used in \"{text}\")")).with_help(
        "define it (vars, vars_files, group_vars/, host_vars/, -e) or guard it with `is defined` or `| default(...)`",
    )
}

/// The position of `text` inside the task that starts at `task_span`, if found there.
fn locate(task_span: &Span, text: &str) -> Span {
    let file = &task_span.file;
    let Some(found) = file
        .text
        .get(task_span.offset..)
        .and_then(|rest| rest.find(text))
    else {
        return task_span.clone();
    };
    let offset = task_span.offset + found;
    let before = &file.text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Span {
        file: file.clone(),
        line,
        col,
        offset,
        len: text.len(),
    }
}

fn collect_strings(value: &Json, out: &mut Vec<(String, bool)>) {
    match value {
        Json::String(s) if crate::template::is_template(s) => out.push((s.clone(), false)),
        Json::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Json::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// The first variable of `text` that nothing defines and nothing guards. A text nested
/// too deeply to parse safely is left alone here: running it reports the error.
fn first_unknown(text: &str, is_expression: bool, known: &HashSet<String>) -> Option<String> {
    static ENV: LazyLock<Environment<'static>> = LazyLock::new(Environment::new);
    let names = if is_expression {
        let expression = text.trim().trim_start_matches("{{").trim_end_matches("}}");
        check_expression(expression).ok()?;
        shielded(|| ENV.compile_expression(expression))
            .ok()?
            .undeclared_variables(false)
    } else {
        check_template(text).ok()?;
        shielded(|| ENV.template_from_str(text))
            .ok()?
            .undeclared_variables(false)
    };
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort();
    names.into_iter().find(|name| {
        !known.contains(name)
            && !ALWAYS_KNOWN.contains(&name.as_str())
            && !name.starts_with("ansible_")
            && !guarded(text, name)
    })
}

/// Whether `text` tests `name` for definedness or gives it a default.
fn guarded(text: &str, name: &str) -> bool {
    static GUARD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^[\w.\[\]'"]*\s*(is\s+(not\s+)?(defined|undefined|none)\b|\|\s*(default|d|mandatory)\b)"#)
            .expect("valid regex")
    });
    text.match_indices(name).any(|(at, _)| {
        let word = |c: char| c.is_alphanumeric() || c == '_';
        let rest = &text[at + name.len()..];
        let whole_word = !text[..at].chars().next_back().is_some_and(word)
            && !rest.chars().next().is_some_and(word);
        whole_word && GUARD.is_match(rest)
    })
}

fn is_dynamic(task: &Task) -> bool {
    matches!(
        task.action,
        Action::IncludeTasks { .. }
            | Action::IncludeRole { .. }
            | Action::IncludeVars { .. }
            | Action::Control { .. }
    )
}

/// Every task of the play, blocks flattened, handlers included.
fn all_tasks(play: &Play) -> Vec<&Task> {
    fn walk<'a>(tasks: &'a [Task], out: &mut Vec<&'a Task>) {
        for task in tasks {
            out.push(task);
            if let Action::Block {
                block,
                rescue,
                always,
            } = &task.action
            {
                walk(block, out);
                walk(rescue, out);
                walk(always, out);
            }
        }
    }
    let mut out = Vec::new();
    for list in [
        &play.pre_tasks,
        &play.roles,
        &play.tasks,
        &play.post_tasks,
        &play.handlers,
    ] {
        walk(list, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(names: &[&str]) -> HashSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unknown_names_are_found() {
        assert_eq!(
            first_unknown("{{ pakages }}", false, &known(&["packages"])),
            Some("pakages".into())
        );
        assert_eq!(
            first_unknown("{{ packages | join(',') }}", false, &known(&["packages"])),
            None
        );
        assert_eq!(first_unknown("x == 1", true, &known(&[])), Some("x".into()));
    }

    #[test]
    fn guarded_uses_are_not_reported() {
        let none = known(&[]);
        assert_eq!(
            first_unknown("x is defined and x.y == 1", true, &none),
            None
        );
        assert_eq!(first_unknown("{{ x | default('a') }}", false, &none), None);
        assert_eq!(first_unknown("{{ x.y | d(1) }}", false, &none), None);
        assert_eq!(first_unknown("x is not defined", true, &none), None);
        assert_eq!(
            first_unknown("{{ xx | default(1) }} {{ x }}", false, &none),
            Some("x".into())
        );
    }

    #[test]
    fn facts_and_magic_variables_are_known() {
        let none = known(&[]);
        assert_eq!(
            first_unknown(
                "{{ ansible_distribution }} {{ inventory_hostname }}",
                false,
                &none
            ),
            None
        );
        assert_eq!(
            first_unknown("{{ lookup('env', 'HOME') }}", false, &none),
            None
        );
    }
}

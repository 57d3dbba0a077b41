//! The loader's checks, read as a user meets them: what a task becomes, and what is
//! refused when the playbook loads.

use super::*;

/// The tasks of `yaml` (a task list) loaded from a scratch directory.
fn tasks(yaml: &str) -> Result<Vec<Task>, SourceError> {
    let dir = std::env::temp_dir();
    let ctx = LoadContext::top(&dir);
    let node = crate::yaml::parse_str("tasks.yml", yaml)?;
    Loader::new(Vec::new(), Vec::new()).parse_tasks(&node, &ctx)
}

fn one(yaml: &str) -> Task {
    let mut loaded = tasks(yaml).expect("the task loads");
    assert_eq!(loaded.len(), 1);
    loaded.remove(0)
}

#[test]
fn a_module_is_resolved_once_whatever_its_collection_prefix() {
    for yaml in [
        "- copy: {content: x, dest: /tmp/x}",
        "- ansible.builtin.copy: {content: x, dest: /tmp/x}",
        "- action: copy content=x dest=/tmp/x",
        "- action: {module: ansible.legacy.copy, args: {content: x, dest: /tmp/x}}",
    ] {
        let Action::Module { module, args } = one(yaml).action else {
            panic!("{yaml} is a module call");
        };
        assert_eq!(module.name(), "copy", "{yaml}");
        assert_eq!(args["dest"], "/tmp/x", "{yaml}");
    }
}

#[test]
fn free_form_commands_keep_their_line_and_options() {
    let Action::Module { module, args } = one("- shell: echo hi > out chdir=/tmp").action else {
        panic!("a module call");
    };
    assert_eq!(module.name(), "shell");
    assert_eq!(args["_raw_params"], "echo hi > out");
    assert_eq!(args["chdir"], "/tmp");
}

#[test]
fn meta_actions_are_read_into_their_enum() {
    assert!(matches!(
        one("- meta: end_host").action,
        Action::Meta(Meta::EndHost)
    ));
    let err = tasks("- meta: end_everything").expect_err("no such meta action");
    assert!(
        err.message
            .starts_with("invalid meta action requested: end_everything"),
        "{}",
        err.message
    );
}

#[test]
fn an_unknown_module_is_refused_with_a_suggestion() {
    let err = tasks("- coppy: {dest: /tmp/x}").expect_err("a typo");
    assert!(err.message.contains("'coppy'"), "{}", err.message);
    let help = err.help.unwrap_or_default();
    assert!(help.contains("copy"), "{help}");
}

#[test]
fn keywords_and_loops_land_in_the_task() {
    let task = one(
        "- name: Loop\n  debug: msg={{ item }}\n  loop: [1, 2]\n  when: x is defined\n  tags: [a, b]\n  notify: h\n  register: r\n",
    );
    assert_eq!(task.name.as_deref(), Some("Loop"));
    let spec = task.loop_.expect("a loop");
    assert_eq!(spec.items, serde_json::json!([1, 2]));
    assert_eq!(spec.kind, LoopKind::List);
    assert_eq!(task.when.len(), 1);
    assert_eq!(task.when[0].text, "x is defined");
    assert_eq!(task.tags, ["a", "b"]);
    assert_eq!(task.notify, ["h"]);
    assert_eq!(task.register.as_deref(), Some("r"));
}

#[test]
fn two_actions_in_one_task_are_refused() {
    let err = tasks("- copy: {dest: /x}\n  file: {path: /x}").expect_err("two actions");
    assert!(
        err.message.contains("copy") && err.message.contains("file"),
        "{}",
        err.message
    );
}

#[test]
fn set_fact_and_include_vars_become_their_actions() {
    let Action::SetFact { facts, cacheable } = one("- set_fact: {a: 1, cacheable: true}").action
    else {
        panic!("set_fact");
    };
    assert_eq!(facts.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(cacheable, Some(Json::Bool(true)));
    let Action::IncludeVars { args } = one("- include_vars: {dir: vars, name: loaded}").action
    else {
        panic!("include_vars");
    };
    assert_eq!(args.keys().collect::<Vec<_>>(), ["dir", "name"]);
}

/// A role's `defaults/main/` directory: every file in it, sorted and walked into
/// subdirectories, later files winning, hidden files and backups left out, as
/// Ansible's `_get_dir_vars_files` (the roles target's `data` role).
#[test]
fn a_main_directory_of_variables_is_read_file_by_file() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let main = dir.path().join("defaults/main");
    std::fs::create_dir_all(main.join("10-more")).expect("directories");
    for (name, text) in [
        ("00.yml", "a: 0\nb: 0\n"),
        ("01.yaml", "b: 1\n"),
        ("10-more/x.json", "{\"c\": 2}"),
        ("20.txt", "d: never\n"),
        (".hidden.yml", "e: never\n"),
        ("30.yml~", "f: never\n"),
    ] {
        std::fs::write(main.join(name), text).expect("a vars file");
    }
    let vars = load_vars_in(&dir.path().join("defaults")).expect("loads");
    let keys: Vec<&str> = vars.keys().map(String::as_str).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    assert_eq!(vars["b"], 1);
    std::fs::write(dir.path().join("defaults/main.yml"), "only: file\n").expect("main.yml");
    let vars = load_vars_in(&dir.path().join("defaults")).expect("loads");
    assert_eq!(vars.keys().collect::<Vec<_>>(), ["only"]);
}

/// A handler cannot be a role, nor a block inside a block of handlers: Ansible
/// refuses both when the play loads (a block of handlers itself it flattens).
#[test]
fn a_role_as_a_handler_is_refused() {
    let loader = Loader::new(Vec::new(), Vec::new());
    let dir = std::env::temp_dir();
    let mut ctx = LoadContext::top(&dir);
    ctx.loading_handlers = true;
    let nested = "- name: h\n  block:\n    - debug: msg=x\n    - block:\n        - debug: msg=y\n";
    let err = loader.parse_tasks(
        &crate::yaml::parse_str("h.yml", nested).expect("yaml"),
        &ctx,
    );
    assert_eq!(
        err.expect_err("a block in a block of handlers").message,
        "Using a block as a handler is not supported."
    );
    let flat = "- name: h\n  block:\n    - debug: msg=x\n";
    assert!(
        loader
            .parse_tasks(&crate::yaml::parse_str("h.yml", flat).expect("yaml"), &ctx)
            .is_ok()
    );
    for (handler, message) in [
        (
            "- name: h\n  include_role: {name: r}\n",
            "Using 'include_role' as a handler is not supported.",
        ),
        (
            "- name: h\n  import_role: {name: r}\n",
            "Using 'import_role' as a handler is not supported.",
        ),
    ] {
        let node = crate::yaml::parse_str("handlers.yml", handler).expect("yaml");
        let err = loader.parse_tasks(&node, &ctx).expect_err(handler);
        assert_eq!(err.message, message);
    }
}

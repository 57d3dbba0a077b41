//! `validate_argument_spec` and roles' `meta/argument_specs.yml`, checked on entry:
//! a role whose arguments fail its spec never runs its own tasks. Expectations read off
//! ansible-playbook 2.19 running the same playbooks.

mod common;

use common::{Scratch, stderr, stdout};

/// A role `web` whose `main` entry point needs an int port and whose `tls` entry point
/// needs a certificate path; each entry point writes a file when it runs.
fn web_role(scratch: &Scratch) {
    scratch.write(
        "roles/web/meta/argument_specs.yml",
        "argument_specs:\n  main:\n    short_description: Serve the site.\n    options:\n      web_port: {type: int, required: true}\n      web_mode: {type: str, choices: [fast, safe], default: safe}\n  tls:\n    options:\n      web_cert: {type: path, required: true}\n",
    );
    scratch.write(
        "roles/web/tasks/main.yml",
        "- copy: {content: \"{{ web_port }}\", dest: \"{{ playbook_dir }}/main-ran\"}\n",
    );
    scratch.write(
        "roles/web/tasks/tls.yml",
        "- copy: {content: \"{{ web_cert }}\", dest: \"{{ playbook_dir }}/tls-ran\"}\n",
    );
    scratch.write(
        "roles/web/tasks/nospec.yml",
        "- copy: {content: \"x\", dest: \"{{ playbook_dir }}/nospec-ran\"}\n",
    );
}

fn run(scratch: &Scratch, play: &str) -> (Option<i32>, String) {
    scratch.write("site.yml", play);
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    (
        output.status.code(),
        format!("{}{}", stdout(&output), stderr(&output)),
    )
}

#[test]
fn a_role_with_valid_arguments_runs_after_its_validation_task() {
    let scratch = Scratch::new();
    web_role(&scratch);
    let (code, out) = run(
        &scratch,
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - {role: web, web_port: \"8080\"}\n  tasks:\n    - include_role: {name: web, tasks_from: tls}\n      vars: {web_cert: /etc/ssl/x.pem}\n    - import_role: {name: web, tasks_from: nospec}\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("TASK [web : Validating arguments against arg spec 'main' - Serve the site.]"),
        "{out}"
    );
    assert!(
        out.contains("TASK [web : Validating arguments against arg spec 'tls']"),
        "{out}"
    );
    assert!(
        !out.contains("arg spec 'nospec'"),
        "an entry point without a spec gets no task: {out}"
    );
    assert_eq!(scratch.read("main-ran"), "8080");
    assert_eq!(scratch.read("tls-ran"), "/etc/ssl/x.pem");
    assert_eq!(scratch.read("nospec-ran"), "x");
}

#[test]
fn a_role_with_invalid_arguments_stops_before_its_tasks() {
    let scratch = Scratch::new();
    web_role(&scratch);
    let (code, out) = run(
        &scratch,
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - {role: web, web_port: eighty, web_mode: slow, web_typo: 1}\n",
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(
            "\"msg\": \"Validation of arguments failed:\\nargument 'web_port' is of type str and we were unable to convert to int: \\\"'eighty'\\\" cannot be converted to an int\\nvalue of web_mode must be one of: fast, safe, got: slow\\nweb_typo. Supported parameters include: web_mode, web_port.\""
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "\"validate_args_context\": {\"argument_spec_name\": \"main\", \"name\": \"web\""
        ),
        "{out}"
    );
    assert!(
        !scratch.path().join("main-ran").exists(),
        "the role's tasks never ran"
    );
}

#[test]
fn rolespec_validate_false_skips_the_check_and_the_spec_defaults_are_not_variables() {
    let scratch = Scratch::new();
    web_role(&scratch);
    scratch.write(
        "roles/web/tasks/mode.yml",
        "- copy: {content: \"{{ web_mode | default('unset') }}\", dest: \"{{ playbook_dir }}/mode-ran\"}\n",
    );
    scratch.write(
        "roles/web/meta/argument_specs.yml",
        "argument_specs:\n  mode:\n    options:\n      web_mode: {type: str, default: safe}\n      web_port: {type: int, required: true}\n",
    );
    let (code, out) = run(
        &scratch,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - import_role: {name: web, tasks_from: mode, rolespec_validate: false}\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("Validating arguments"), "{out}");
    assert_eq!(
        scratch.read("mode-ran"),
        "unset",
        "the spec's default is no variable"
    );
}

#[test]
fn validate_argument_spec_checks_variables_and_provided_arguments() {
    let scratch = Scratch::new();
    let (code, out) = run(
        &scratch,
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    port: \"12\"\n  tasks:\n    - validate_argument_spec:\n        argument_spec:\n          port: {type: int}\n          name: {required: true}\n          opts:\n            type: dict\n            options: {a: {type: bool}}\n        provided_arguments: {opts: {a: maybe}}\n      register: checked\n      ignore_errors: true\n    - copy: {content: \"{{ checked.argument_errors | to_json }}\", dest: \"{{ playbook_dir }}/errors\"}\n    - validate_argument_spec:\n        argument_spec: {port: {type: int}}\n      register: passed\n    - copy: {content: \"{{ passed.msg }}\", dest: \"{{ playbook_dir }}/passed\"}\n",
    );
    assert_eq!(code, Some(0), "{out}");
    let errors: serde_json::Value = serde_json::from_str(&scratch.read("errors")).expect("JSON");
    assert_eq!(
        errors,
        serde_json::json!([
            "missing required arguments: name",
            "argument 'a' is of type str found in 'opts'. and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: 0, 1, 'n', 'f', 't', '0', '1', 'false', 'no', 'true', 'yes', 'y', 'on', 'off'"
        ])
    );
    assert_eq!(scratch.read("passed"), "The arg spec validation passed");
}

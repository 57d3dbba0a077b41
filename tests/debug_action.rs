//! `debug` as Ansible 2.19 runs it: `var`'s undefined values replaced by numbered
//! placeholders and warned about, `omit` shown as a placeholder, templating errors
//! failing the task. Each expectation was read off ansible-playbook 2.19.

mod common;

use common::{Scratch, stderr, stdout};

/// Runs `playbook` on localhost (with `host_vars`, if any) and gives the text its
/// tasks wrote to `out`.
fn run_with(playbook: &str, host_vars: &str) -> String {
    let scratch = Scratch::new();
    scratch.write("site.yml", playbook);
    scratch.write("host_vars/localhost.yml", host_vars);
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    scratch.read("out")
}

fn run(playbook: &str) -> String {
    run_with(playbook, "{}\n")
}

#[test]
fn undefined_values_of_var_become_numbered_placeholders() {
    let written = run(r#"
- hosts: localhost
  gather_facts: false
  vars:
    tmpl: "{{ not_defined }}"
    d: {a: "{{ nope }}", b: "{{ nope2 }}", c: 1}
  tasks:
    - debug: var=undefined_variable
      register: whole
    - debug: var=tmpl
      register: templated
    - debug: var=d
      register: nested
    - copy:
        content: "{{ whole.undefined_variable }}|{{ whole.warnings }}|{{ templated.tmpl }}|{{ nested.d.b }}|{{ nested.warnings | length }}"
        dest: "{{ playbook_dir }}/out"
"#);
    assert_eq!(
        written,
        "<< error 1 - 'undefined_variable' is undefined >>|[\"Encountered 1 template error.\\nerror 1 - 'undefined_variable' is undefined\"]|<< error 1 - 'not_defined' is undefined >>|<< error 2 - 'nope2' is undefined >>|2"
    );
}

#[test]
fn omit_and_division_by_zero_are_handled_as_ansible_does() {
    let written = run(r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ 5 / 0 }}"
      register: divided
      ignore_errors: true
    - debug: var=indirect_omit
      vars:
        indirect_omit: "{{ omit }}"
      register: omitted_var
    - debug:
      args: "{{ omit }}"
      register: omitted_args
    - copy:
        content: "{{ divided is failed }} {{ 'division by zero' in divided.msg }}|{{ omitted_var.indirect_omit }}|{{ omitted_var.warnings[0] }}|{{ omitted_args.msg }}"
        dest: "{{ playbook_dir }}/out"
"#);
    assert_eq!(
        written,
        "True True|<<Omit>>|The result of the `var` expression could not be omitted; a placeholder was used instead.|Hello world!"
    );
}

#[test]
fn var_must_render_to_a_trusted_name_and_hostvars_are_templated() {
    let written = run_with(
        r#"
- hosts: localhost
  gather_facts: false
  vars:
    k1: v1
  tasks:
    - debug:
        var: '{{ "k1" }}'
      register: constant
      ignore_errors: true
    - debug:
        var: "{{ item }}"
      loop: [k1]
      register: indirect
    - copy:
        content: "{{ constant.msg }}|{{ indirect.results[0].k1 }}|{{ hostvars['localhost']['nested_y']['value'].x }}"
        dest: "{{ playbook_dir }}/out"
"#,
        "nested_x: {value: {x: 100}}\nnested_y: \"{{ nested_x }}\"\n",
    );
    assert_eq!(
        written,
        "Task failed: Error while resolving `var` expression: Encountered untrusted template or expression.|v1|100"
    );
}

#[test]
fn none_is_written_as_nothing_and_a_null_msg_stays_null() {
    let written = run(r#"
- hosts: localhost
  gather_facts: false
  vars: {x: null}
  tasks:
    - debug: msg="a{{ x }}b"
      register: joined
    - debug: msg="{{ x }}"
      register: alone
    - copy:
        dest: "{{ playbook_dir }}/out"
        content: "{{ joined.msg }}|{{ alone.msg | to_json }}|{{ [x] }}|{% for i in [x, 1] %}[{{ i }}]{% endfor %}"
"#);
    assert_eq!(written, "ab|null|[None]|[][1]");
}

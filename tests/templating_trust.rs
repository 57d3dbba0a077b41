//! What Ansible 2.19 does not trust as a template: strings tagged `!unsafe` are never
//! rendered, an expression that is one of them is refused, a conditional must give a
//! boolean, and a whole-template conditional must give an expression some trusted
//! variable holds as written. Each expectation was read off ansible-playbook 2.19.

mod common;

use common::{Scratch, recap_line, stderr, stdout};

#[test]
fn unsafe_strings_are_never_templated_and_refused_as_expressions() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars:
    nottemplate: FAIL
    me: hi
  tasks:
    - debug:
        var: !unsafe me
      register: unsafe_var
      ignore_errors: true
    - copy:
        content: "{{ one }} {{ many[0] }} {{ nested.a }} {{ unsafe_var.msg }}"
        dest: "{{ playbook_dir }}/out"
      vars:
        one: !unsafe b{{nottemplate}}
        many: !unsafe ['c{{nottemplate}}', 'd']
        nested: !unsafe
          a: e{{nottemplate}}
"#,
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let written = std::fs::read_to_string(scratch.path().join("out")).expect("out");
    assert_eq!(
        written,
        "b{{nottemplate}} c{{nottemplate}} e{{nottemplate}} Task failed: Error while resolving `var` expression: Encountered untrusted template or expression."
    );
}

const CONDITIONALS: &str = r#"
- hosts: localhost
  gather_facts: false
  vars:
    trusted: "1 == 1"
    indirect: "{{ trusted }}"
  tasks:
    - assert:
        that: "{{ '1 == 1' }}"
      register: untrusted
      ignore_errors: true
    - assert:
        that: "'a string'"
      register: broken
      ignore_errors: true
    - assert:
        that: ["{{ trusted }}", "{{ indirect }}"]
      register: indirect_ok
    - copy:
        content: "{{ untrusted.msg }}|{{ broken.msg }}|{{ indirect_ok is failed }}"
        dest: "{{ playbook_dir }}/out"
"#;

#[test]
fn conditionals_must_be_trusted_and_boolean() {
    let scratch = Scratch::new();
    scratch.write("site.yml", CONDITIONALS);
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let written = std::fs::read_to_string(scratch.path().join("out")).expect("out");
    let parts: Vec<&str> = written.split('|').collect();
    assert!(
        parts[0].ends_with("Encountered untrusted template or expression."),
        "{written}"
    );
    assert!(
        parts[1].contains("Conditional result (True) was derived from value of type 'str'")
            && parts[1].ends_with("Conditionals must have a boolean result."),
        "{written}"
    );
    assert_eq!(parts[2], "False");
    assert!(recap_line(&out, "localhost").contains("ignored=2"), "{out}");
}

#[test]
fn allow_broken_conditionals_lets_truthy_results_pass() {
    let scratch = Scratch::new();
    scratch.write("site.yml", CONDITIONALS);
    let output = scratch.bosun_with(
        &["run", "-c", "local", "-i", "localhost,", "site.yml"],
        &[(
            "ANSIBLE_ALLOW_BROKEN_CONDITIONALS",
            std::path::Path::new("1"),
        )],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(recap_line(&out, "localhost").contains("ignored=1"), "{out}");
}

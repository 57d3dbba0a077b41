//! Ansible 2.19's data tags as its own tests look at them: variables' strings as
//! written are `TrustedAsTemplate`, a `!vault` value set by `set_fact` stays
//! `vault_encrypted`, and `ansible._protomatter.debug` evaluates expressions with
//! undefined values replaced. Each expectation was read off ansible-playbook 2.19.

mod common;

use common::{Scratch, stderr, stdout};

const VAULTED: &str = "$ANSIBLE_VAULT;1.1;AES256
          35323961353038346165643738646465376139363061353835303739663538343266303232326635
          3365353662646236356665323135633630656238316530640a663362363763633436373439663031
          33663433383037396438656464636433653837376361313638366362333037323961316364363363
          3835616438623261650a636164376534376661393134326662326362323131373964313961623365
          3833";

#[test]
fn tags_follow_values_through_set_fact_include_vars_and_vault() {
    let scratch = Scratch::new();
    scratch.write("password", "test-vault-password\n");
    scratch.write("vars.yml", "from_file: text\n");
    scratch.write(
        "site.yml",
        &format!(
            r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - set_fact:
        foo: bar
        vaulted_value: !vault |
          {VAULTED}
      register: set
    - include_vars: vars.yml
      register: included
    - copy:
        content: "{{{{ set.ansible_facts.foo is ansible._protomatter.tagged_with('TrustedAsTemplate') }}}} {{{{ included.ansible_facts.from_file is ansible._protomatter.tagged_with('TrustedAsTemplate') }}}} {{{{ ('a' ~ 'b') is ansible._protomatter.tagged_with('TrustedAsTemplate') }}}} {{{{ vaulted_value is vault_encrypted }}}} {{{{ foo is vault_encrypted }}}} {{{{ vaulted_value | length > 0 }}}}"
        dest: "{{{{ playbook_dir }}}}/out"
"#
        ),
    );
    let output = scratch.bosun(&[
        "run",
        "-c",
        "local",
        "-i",
        "localhost,",
        "--vault-password-file",
        "password",
        "site.yml",
    ]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(scratch.read("out"), "True True False True False True");
}

#[test]
fn protomatter_debug_replaces_undefined_values_across_its_expressions() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible._protomatter.debug:
        expression:
          - 1 + 1
          - lookup('env', 'BOSUN_SURELY_UNSET', default=undef('custom'))
          - bogus_var
      register: result
    - copy:
        content: "{{ result.expression_result }} {{ result.warnings | length }}"
        dest: "{{ playbook_dir }}/out"
"#,
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(
        scratch.read("out"),
        "[2, '<< error 1 - custom >>', \"<< error 2 - 'bogus_var' is undefined >>\"] 2"
    );
}

//! The magic variables Ansible sets for every task and for templates, as
//! ansible-playbook 2.19 set them for the same playbook.

mod common;

use common::{Scratch, stderr, stdout};

#[test]
fn tasks_and_templates_see_ansibles_magic_variables() {
    let scratch = Scratch::new();
    scratch.write(
        "templates/t.j2",
        "{{ template_path }} {{ (template_mtime | string)[:4] | int > 2000 }} {{ ansible_managed }}\n",
    );
    scratch.write(
        "site.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - copy:
        content: "{{ ansible_version.full }}|{{ ansible_host }}|{{ ansible_skip_tags }}|{{ ansible_run_tags }}|{{ ansible_forks }}|{{ ansible_playbook_python is string }}"
        dest: "{{ playbook_dir }}/magic"
    - template: {src: t.j2, dest: "{{ playbook_dir }}/templated"}
"#,
    );
    let output = scratch.bosun(&[
        "run",
        "-c",
        "local",
        "-i",
        "web1,",
        "-f",
        "7",
        "--skip-tags",
        "never",
        "site.yml",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(
        scratch.read("magic"),
        "2.19.14|web1|['never']|['all']|7|True"
    );
    assert_eq!(scratch.read("templated"), "t.j2 True Ansible managed\n");
}

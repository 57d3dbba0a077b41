//! Role variables and parameters as Ansible layers them: a dependency sees the
//! parameters of the roles that pulled it in, and a role sees its dependencies' vars.
//! Expectations read off ansible-playbook 2.19 running the same playbook.

mod common;

use common::{Scratch, stderr, stdout};

#[test]
fn dependencies_see_parent_params_and_parents_see_dependency_vars() {
    let scratch = Scratch::new();
    scratch.write(
        "roles/top/meta/main.yml",
        "dependencies:\n  - {role: middle, param_var: from_top_meta}\n  - {role: other, param_var: other_param}\n",
    );
    scratch.write(
        "roles/top/tasks/main.yml",
        "- copy: {content: \"{{ shared }}\", dest: \"{{ playbook_dir }}/top\"}\n",
    );
    scratch.write("roles/middle/meta/main.yml", "dependencies:\n  - leaf\n");
    scratch.write("roles/middle/vars/main.yml", "shared: from_middle\n");
    scratch.write("roles/middle/tasks/main.yml", "- debug: msg=middle\n");
    scratch.write("roles/other/vars/main.yml", "shared: from_other\n");
    scratch.write("roles/other/tasks/main.yml", "- debug: msg=other\n");
    scratch.write(
        "roles/leaf/tasks/main.yml",
        "- copy: {content: \"{{ param_var }}\", dest: \"{{ playbook_dir }}/leaf\"}\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - {role: top, param_var: from_play}\n",
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(
        scratch.read("leaf"),
        "from_top_meta",
        "the parent's params reach the leaf"
    );
    assert_eq!(
        scratch.read("top"),
        "from_other",
        "the last dependency's vars win"
    );
}

#[test]
fn the_recap_lists_hosts_by_name() {
    let scratch = Scratch::new();
    scratch.write(
        "inventory",
        "zeta ansible_connection=local\nalpha ansible_connection=local\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n",
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "site.yml"]);
    let out = stdout(&output);
    let recap: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(recap, ["alpha", "zeta"], "{out}");
}

#[test]
fn collection_roles_are_found_beside_the_playbook_and_in_collections_path() {
    let scratch = Scratch::new();
    scratch.write(
        "collections/ansible_collections/acme/web/roles/site/tasks/main.yml",
        "- copy: {dest: \"{{ playbook_dir }}/from-site\", content: \"{{ greeting }}\"}\n",
    );
    scratch.write(
        "shared/ansible_collections/acme/base/roles/common/tasks/main.yml",
        "- copy: {dest: \"{{ playbook_dir }}/from-common\", content: common}\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: acme.web.site\n      greeting: hello\n  tasks:\n    - import_role: {name: acme.base.common}\n",
    );
    let shared = scratch.path().join("shared");
    let output = scratch.bosun_with(
        &["run", "site.yml", "-i", "localhost,", "-c", "local"],
        &[("ANSIBLE_COLLECTIONS_PATH", shared.as_path())],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(scratch.read("from-site"), "hello");
    assert_eq!(scratch.read("from-common"), "common");

    scratch.write(
        "missing.yml",
        "- hosts: localhost\n  roles: [acme.none.x]\n",
    );
    let output = scratch.bosun(&["run", "missing.yml", "-i", "localhost,"]);
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stderr(&output).contains("the role 'acme.none.x' was not found in"),
        "{}",
        stderr(&output)
    );
}

/// The play of Ansible's `roles_var_inheritance` target: two roles share a dependency
/// that pulls in a role marked `allow_duplicates` whose own dependency sets a variable.
fn shared_dependency_scratch() -> Scratch {
    let scratch = Scratch::new();
    for (name, value) in [("a", "A"), ("b", "B")] {
        scratch.write(
            &format!("roles/{name}/meta/main.yml"),
            &format!("dependencies:\n  - role: common\n    vars:\n      test_var: {value}\n"),
        );
    }
    scratch.write("roles/common/vars/main.yml", "precedence: parent\n");
    scratch.write(
        "roles/common/meta/main.yml",
        "dependencies:\n  - role: nested\n    vars:\n      nested_var: \"{{ test_var }}\"\n",
    );
    scratch.write(
        "roles/nested/meta/main.yml",
        "allow_duplicates: yes\ndependencies:\n  - child\n",
    );
    scratch.write(
        "roles/nested/tasks/main.yml",
        "- debug: msg=\"{{ nested_var }} {{ precedence }}\"\n",
    );
    scratch.write("roles/child/vars/main.yml", "precedence: dependency\n");
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles: [a, b]\n",
    );
    scratch
}

#[test]
fn allow_duplicates_runs_a_role_again_and_dependency_vars_beat_inherited_ones() {
    let scratch = shared_dependency_scratch();
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let messages: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"msg\": "))
        .collect();
    assert_eq!(messages, ["\"A dependency\"", "\"B dependency\""], "{out}");
}

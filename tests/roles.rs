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

/// A role used again in a play runs only on the hosts that have not completed an
/// identical use (same role, parameters, `when` and `tags`): a use whose tasks were
/// all skipped does not count, and the role's handlers still run. Expectations read
/// off ansible-playbook 2.19.14 on the same play (Ansible's role_complete).
#[test]
fn a_role_runs_again_only_where_no_identical_use_completed() {
    let scratch = Scratch::new();
    scratch.write(
        "roles/a/tasks/main.yml",
        "- debug: msg=\"A on {{ inventory_hostname }}\"\n  changed_when: true\n  notify: a handler\n",
    );
    scratch.write(
        "roles/a/handlers/main.yml",
        "- name: a handler\n  debug: msg=\"handled on {{ inventory_hostname }}\"\n",
    );
    scratch.write(
        "roles/set_var/tasks/main.yml",
        "- set_fact: {go: true}\n  when: inventory_hostname == 'h1'\n",
    );
    scratch.write(
        "hosts",
        "h1 ansible_connection=local\nh2 ansible_connection=local\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: h1,h2\n  gather_facts: false\n  roles:\n    - {role: a, when: go is defined}\n    \
         - set_var\n    - {role: a, when: go is defined}\n    - {role: a, when: go is defined}\n    - a\n",
    );
    let output = scratch.bosun(&["run", "-i", "hosts", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let said = |text: &str| out.matches(&format!("\"msg\": \"{text}\"")).count();
    // The first use is skipped everywhere; the second runs on h1 only, the third is
    // h1's duplicate and skipped on h2; the last (no `when`) is another role to Ansible.
    assert_eq!((said("A on h1"), said("A on h2")), (2, 1), "{out}");
    assert_eq!(
        (said("handled on h1"), said("handled on h2")),
        (1, 1),
        "{out}"
    );
    for (host, recap) in [
        (
            "h1",
            "ok=4    changed=2    unreachable=0    failed=0    skipped=1",
        ),
        (
            "h2",
            "ok=2    changed=1    unreachable=0    failed=0    skipped=4",
        ),
    ] {
        assert!(
            common::recap_line(&out, host).contains(recap),
            "{host}: {out}"
        );
    }
}

/// `meta: end_role` passes over the rest of the role on the hosts where its `when`
/// holds, the role's handlers still run, and the role counts as completed there:
/// `include_role` with `allow_duplicates: false` does not run it again, while
/// `import_role` (duplicates allowed by default) does. As ansible-playbook 2.19.14
/// runs the roles target's end_role.yml.
#[test]
fn end_role_skips_the_rest_of_the_role() {
    let scratch = Scratch::new();
    scratch.write(
        "roles/ending/tasks/main.yml",
        "- set_fact: {runs: \"{{ runs | default(0) | int + 1 }}\"}\n\
         - debug: msg=notify\n  changed_when: true\n  notify: ending handler\n\
         - meta: end_role\n  when: inventory_hostname == 'h1'\n\
         - set_fact: {after_end: true}\n",
    );
    scratch.write(
        "roles/ending/handlers/main.yml",
        "- name: ending handler\n  set_fact: {handled: true}\n",
    );
    scratch.write(
        "hosts",
        "h1 ansible_connection=local\nh2 ansible_connection=local\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: h1,h2\n  gather_facts: false\n  roles: [ending]\n  tasks:\n    \
         - import_role: {name: ending}\n    \
         - include_role: {name: ending, allow_duplicates: false}\n  post_tasks:\n    \
         - debug: msg=\"{{ inventory_hostname }} {{ runs }} {{ after_end is defined }} {{ handled }}\"\n",
    );
    let output = scratch.bosun(&["run", "-i", "hosts", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(out.contains("\"msg\": \"h1 2 False True\""), "{out}");
    assert!(out.contains("\"msg\": \"h2 2 True True\""), "{out}");
    for (host, recap) in [("h1", "ok=7    changed=2"), ("h2", "ok=9    changed=2")] {
        assert!(
            common::recap_line(&out, host).contains(recap),
            "{host}: {out}"
        );
    }
}

/// `meta: end_role` outside a role, or in a handler, is refused when the playbook
/// loads, with Ansible's words.
#[test]
fn end_role_outside_a_role_is_refused_at_load_time() {
    let scratch = Scratch::new();
    for (name, play) in [
        ("tasks.yml", "  tasks:\n    - meta: end_role\n"),
        (
            "handlers.yml",
            "  tasks:\n    - debug: msg=hi\n  handlers:\n    - name: h\n      meta: end_role\n",
        ),
    ] {
        scratch.write(
            name,
            &format!("- hosts: localhost\n  gather_facts: false\n{play}"),
        );
        let output = scratch.bosun(&["run", "-c", "local", name]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(4), "{err}");
        let from = if name == "tasks.yml" {
            "outside of a role"
        } else {
            "a handler"
        };
        assert!(
            err.contains(&format!("Cannot execute 'end_role' from {from}")),
            "{err}"
        );
        assert!(!stdout(&output).contains("TASK ["), "nothing ran");
    }
}

/// A role whose tasks are only an `include_tasks` completes too: listed twice, it runs
/// once (the inclusion is a task of the role that ran).
#[test]
fn a_role_of_includes_is_deduplicated_too() {
    let scratch = Scratch::new();
    scratch.write("roles/inc/tasks/main.yml", "- include_tasks: inner.yml\n");
    scratch.write("roles/inc/tasks/inner.yml", "- debug: msg=\"inner ran\"\n");
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles: [inc, inc]\n",
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(out.matches("\"msg\": \"inner ran\"").count(), 1, "{out}");
}

//! Includes in loops and task arguments given as templates, as real roles write them.
//! Each expectation was read off ansible-playbook 2.19 running the same playbook.

mod common;

use common::{Scratch, recap_line, stderr, stdout};

/// `bosun run site.yml` on localhost with the local connection, and its stdout.
fn run_site(scratch: &Scratch) -> (std::process::Output, String) {
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    (output, out)
}

const TWO_LOCAL_HOSTS: &str = "h1 ansible_connection=local\nh2 ansible_connection=local\n";

/// The lines of `out` that start with `prefix`, in order.
fn lines_starting<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn include_tasks_and_include_role_run_once_per_loop_item_with_the_loop_variables() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "item.yml",
        "- copy:\n    content: \"{{ item }} {{ ansible_loop.index }}/{{ ansible_loop.length }} {{ idx }}\"\n    dest: \"{{ playbook_dir }}/out-{{ inventory_hostname }}-{{ item }}\"\n",
    );
    scratch.write(
        "roles/r/tasks/main.yml",
        "- copy:\n    content: \"{{ flavour }}\"\n    dest: \"{{ playbook_dir }}/role-{{ inventory_hostname }}-{{ flavour }}\"\n",
    );
    scratch.write(
        "site.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - include_tasks: item.yml
      loop: [a, b]
      loop_control:
        extended: true
        index_var: idx
    - include_tasks: item.yml
      when: false
    - include_role: name=r
      loop: [x, y]
      loop_control:
        loop_var: flavour
      when: flavour == 'y' or inventory_hostname == 'h1'
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let item_file = scratch.path().join("item.yml");
    let item_file = std::fs::canonicalize(item_file).expect("item.yml");
    assert_eq!(
        lines_starting(&out, "included:"),
        [
            format!("included: {} for h1, h2 => (item=a)", item_file.display()),
            format!("included: {} for h1, h2 => (item=b)", item_file.display()),
            "included: r for h1 => (item=x)".to_string(),
            "included: r for h1, h2 => (item=y)".to_string(),
        ],
        "{out}"
    );
    assert!(out.contains("TASK [include_role : r]"), "{out}");
    assert!(out.contains("skipping: [h2] => (item=x)"), "{out}");
    let read = |name: &str| std::fs::read_to_string(scratch.path().join(name)).ok();
    assert_eq!(read("out-h1-a").as_deref(), Some("a 1/2 0"));
    assert_eq!(read("out-h2-b").as_deref(), Some("b 2/2 1"));
    assert_eq!(read("role-h1-x").as_deref(), Some("x"));
    assert_eq!(read("role-h2-x"), None);
    assert_eq!(read("role-h2-y").as_deref(), Some("y"));
    // Each file included counts once as ok per host; a skipped include counts as skipped.
    assert!(
        recap_line(&out, "h1")
            .contains("ok=8    changed=4    unreachable=0    failed=0    skipped=1"),
        "{out}"
    );
    assert!(
        recap_line(&out, "h2")
            .contains("ok=6    changed=3    unreachable=0    failed=0    skipped=1"),
        "{out}"
    );
}

#[test]
fn loop_control_renders_its_loop_var_and_stops_at_break_when() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars:
    name_of_var: fruit
  tasks:
    - shell: echo {{ fruit }} >> {{ playbook_dir }}/eaten
      loop: [apple, pear, plum]
      loop_control:
        loop_var: "{{ name_of_var }}"
        break_when: fruit == 'pear'
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let eaten = std::fs::read_to_string(scratch.path().join("eaten")).expect("eaten");
    assert_eq!(eaten, "apple\npear\n", "{out}");
}

#[test]
fn module_arguments_given_as_templates_render_when_the_task_runs() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars:
    copy_args: {content: "from a template\n", dest: "{{ playbook_dir }}/templated"}
    a_key: my_key
    not_a_mapping: "msg=hello"
  tasks:
    - copy: this is not how copy is called
      when: false
    - set_fact: "{{ item }}=moo"
      loop: [cow, calf]
    - set_fact:
        "{{ a_key }}": my_value
    - copy:
      args: "{{ copy_args }}"
    - copy: "{{ copy_args }}"
      register: again
    - assert:
        that:
          - cow == 'moo' and calf == 'moo'
          - my_key == 'my_value'
          - again is not changed
    - debug: "{{ not_a_mapping }}"
      register: not_mapping
      ignore_errors: true
    - set_fact:
        "{{ 'true' }}": value
      register: reserved
      ignore_errors: true
    - assert:
        that:
          - not_mapping.msg is contains "Task args must resolve to a 'dict' not 'str'"
          - reserved.msg is contains "Invalid variable name 'true'"
    - copy: still not how copy is called
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(2), "{out}{}", stderr(&output));
    let written = std::fs::read_to_string(scratch.path().join("templated")).expect("copied");
    assert_eq!(written, "from a template\n");
    assert!(
        out.contains("Action 'ansible.builtin.copy' does not support raw params."),
        "raw params fail when the task runs, not at load time:\n{out}"
    );
    assert!(
        stderr(&output).contains("[WARNING]: Using a template for task args is unsafe"),
        "{}",
        stderr(&output)
    );
    assert!(
        recap_line(&out, "localhost").contains(
            "ok=8    changed=1    unreachable=0    failed=1    skipped=1    rescued=0    ignored=2"
        ),
        "{out}"
    );
}

#[test]
fn role_entry_keywords_are_not_role_parameters() {
    let scratch = Scratch::new();
    scratch.write("roles/web/defaults/main.yml", "port: 80\nweb_port: 80\n");
    scratch.write(
        "roles/web/tasks/main.yml",
        "- copy: {content: \"{{ port }} {{ web_port }}\", dest: \"{{ playbook_dir }}/ports\"}\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - {role: web, port: 8080, web_port: 8080}\n",
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let ports = std::fs::read_to_string(scratch.path().join("ports")).expect("ports");
    assert_eq!(
        ports, "80 8080",
        "`port` is the connection keyword of the entry"
    );
}

#[test]
fn a_handler_may_include_tasks_and_set_fact_in_a_loop_accumulates() {
    let scratch = Scratch::new();
    scratch.write(
        "cleanup.yml",
        "- copy: {content: \"{{ words | join(' ') }}\", dest: \"{{ playbook_dir }}/cleaned\"}\n",
    );
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - set_fact:
        words: "{{ words | default([]) + [item] }}"
      loop: [one, two, three]
    - command: "true"
      notify: clean up
  handlers:
    - name: clean up
      include_tasks: cleanup.yml
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(out.contains("RUNNING HANDLER [clean up]"), "{out}");
    assert!(out.contains("RUNNING HANDLER [copy]"), "{out}");
    let cleaned = std::fs::read_to_string(scratch.path().join("cleaned")).expect("cleaned");
    assert_eq!(cleaned, "one two three");
    assert_eq!(
        recap_line(&out, "localhost"),
        "localhost                  : ok=4    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   "
    );
}

#[test]
fn a_module_named_by_a_template_is_resolved_per_host_when_the_task_runs() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "site.yml",
        r#"
- hosts: all
  gather_facts: false
  vars:
    variable_module_name: debug
  tasks:
    - set_fact:
        module_to_run: "{{ 'debug' if inventory_hostname == 'h1' else 'ping' }}"
    - action:
        module: '{{ module_to_run }}'
      register: out
    - action: "{{ variable_module_name }} msg='this should be debugged'"
      register: result
    - copy:
        content: "{{ result.msg }}|{{ 'msg' in out }}|{{ 'ping' in out }}"
        dest: "{{ playbook_dir }}/out-{{ inventory_hostname }}"
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(scratch.read("out-h1"), "this should be debugged|True|False");
    assert_eq!(scratch.read("out-h2"), "this should be debugged|False|True");
    assert!(
        !out.contains("\"changed\": false,\n    \"msg\": \"this should"),
        "shown as debug shows its message:\n{out}"
    );
}

#[test]
fn loop_items_are_labelled_as_python_prints_them() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n      loop: [[1, a], {b: 2}, 'str', true, null]\n",
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let labels: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("ok: [localhost] => (item="))
        .collect();
    assert_eq!(
        labels,
        [
            "[1, 'a']) => {",
            "{'b': 2}) => {",
            "str) => {",
            "True) => {",
            "None) => {"
        ]
    );
}

#[test]
fn notify_on_an_import_or_block_is_inherited_by_its_tasks() {
    let scratch = Scratch::new();
    scratch.write(
        "trigger.yml",
        "- debug: msg=\"I trigger changed!\"\n  changed_when: true\n",
    );
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  pre_tasks:
    - import_tasks: trigger.yml
      notify: hello
  tasks:
    - block:
        - command: "true"
      notify: again
  handlers:
    - name: hello
      copy: {content: "hello", dest: "{{ playbook_dir }}/hello"}
    - name: again
      copy: {content: "again", dest: "{{ playbook_dir }}/again"}
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(scratch.path().join("hello").is_file(), "{out}");
    assert!(scratch.path().join("again").is_file(), "{out}");
}

#[test]
fn a_role_handler_includes_a_file_from_the_roles_tasks() {
    let scratch = Scratch::new();
    scratch.write(
        "roles/r/tasks/main.yml",
        "- command: \"true\"\n  notify: clean up\n",
    );
    scratch.write(
        "roles/r/tasks/cleanup.yml",
        "- copy: {content: cleaned, dest: \"{{ playbook_dir }}/cleaned\"}\n",
    );
    scratch.write(
        "roles/r/handlers/main.yml",
        "- name: clean up\n  include_tasks: cleanup.yml\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles: [r]\n",
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(scratch.path().join("cleaned").is_file(), "{out}");
}

#[test]
fn import_playbook_vars_reach_every_imported_play_over_its_own() {
    let scratch = Scratch::new();
    scratch.write(
        "imported.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars:
    colour: red
    shape: square
  tasks:
    - copy:
        content: "{{ colour }} {{ shape }}"
        dest: "{{ playbook_dir }}/{{ name }}"
"#,
    );
    scratch.write(
        "site.yml",
        r#"
- import_playbook: imported.yml
  vars:
    colour: blue
    name: first
- import_playbook: imported.yml
  vars:
    name: second
"#,
    );
    let output = scratch.bosun(&["run", "site.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        scratch.read("first"),
        "blue square",
        "the import's vars win over the play's"
    );
    assert_eq!(scratch.read("second"), "red square");
}

#[test]
fn include_vars_walks_a_directory_as_ansibles_action_does() {
    let scratch = Scratch::new();
    for (file, text) in [
        ("vars/conf/a.yml", "a: 1\nd: {x: 1}\n"),
        ("vars/conf/b.json", "{\"b\": 2}\n"),
        ("vars/conf/skip.bak", "not: read\n"),
        ("vars/conf/sub/c.yaml", "c: 3\n"),
        ("vars/conf/sub/deeper/e.yml", "e: 5\n"),
        ("vars/list.yml", "- not a mapping\n"),
        ("over.yml", "d: {y: 2}\n"),
    ] {
        scratch.write(file, text);
    }
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - include_vars: {dir: vars/conf, depth: 2, ignore_files: [bak], name: conf}
      register: walked
    - include_vars: {dir: vars/conf, files_matching: "^c", extensions: [yaml]}
      register: matched
    - include_vars: nothere.yml
      register: missing
      ignore_errors: true
    - include_vars: list.yml
      register: listed
      ignore_errors: true
    - include_vars: {dir: vars/conf, bogus: 1}
      register: bogus
      ignore_errors: true
    - include_vars: {dir: vars/conf, depth: 1, ignore_files: [bak]}
    - include_vars: {file: over.yml, hash_behaviour: merge}
    - copy:
        dest: "{{ playbook_dir }}/report.json"
        content: "{{ {'walked': walked.ansible_included_var_files, 'conf': conf,
          'matched': matched.ansible_included_var_files, 'c': c,
          'missing': missing.message, 'listed': listed.message,
          'bogus': bogus.msg, 'd': d} | to_json }}"
"#,
    );
    let output = scratch.bosun(&["run", "site.yml", "-i", "localhost,", "-c", "local"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let dir = scratch.path().canonicalize().expect("absolute scratch");
    let path = |rel: &str| format!("{}/{rel}", dir.display());
    let report: serde_json::Value =
        serde_json::from_str(&scratch.read("report.json")).expect("JSON");
    assert_eq!(
        report["walked"],
        serde_json::json!([
            path("vars/conf/a.yml"),
            path("vars/conf/b.json"),
            path("vars/conf/sub/c.yaml")
        ]),
        "sorted, two levels deep, .bak ignored, absolute paths"
    );
    assert_eq!(
        report["conf"],
        serde_json::json!({"a": 1, "d": {"x": 1}, "b": 2, "c": 3})
    );
    assert_eq!(
        report["matched"],
        serde_json::json!([path("vars/conf/sub/c.yaml")])
    );
    assert_eq!(report["c"], 3);
    let missing = report["missing"].as_str().expect("a message");
    assert!(
        missing.starts_with(&format!(
            "Could not find or access 'nothere.yml'\nSearched in:\n\t{}\n",
            path("vars/nothere.yml")
        )),
        "{missing}"
    );
    assert_eq!(
        report["listed"],
        format!(
            "{} must be stored as a dictionary/hash",
            path("vars/list.yml")
        )
    );
    assert_eq!(
        report["bogus"],
        "Task failed: bogus is not a valid option in include_vars"
    );
    assert_eq!(
        report["d"],
        serde_json::json!({"x": 1, "y": 2}),
        "hash_behaviour: merge"
    );
}

#[test]
fn apply_gives_its_keywords_to_every_included_task() {
    let scratch = Scratch::new();
    let changing = "- debug: msg=changing\n  changed_when: true\n";
    scratch.write("change.yml", changing);
    scratch.write("roles/r/tasks/main.yml", changing);
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - include_tasks:
        file: change.yml
        apply:
          notify: tasks_handler
    - include_role:
        name: r
        apply:
          notify: role_handler
          when: false
  handlers:
    - name: tasks_handler
      debug: msg=handled
    - name: role_handler
      debug: msg=never
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(out.contains("RUNNING HANDLER [tasks_handler]"), "{out}");
    assert!(!out.contains("never"), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("ok=4 ")
            && recap_line(&out, "localhost").contains("skipped=1 "),
        "{out}"
    );
}

#[test]
fn an_included_roles_handlers_run_once_however_often_it_is_included() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write("roles/r/tasks/main.yml", "- command: echo\n  notify: h\n");
    scratch.write(
        "roles/r/handlers/main.yml",
        "- name: h\n  debug: msg=handled\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role: {name: r}\n    - include_role: {name: r}\n",
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(
        lines_starting(&out, "RUNNING HANDLER [r : h]").len(),
        1,
        "{out}"
    );
    for host in ["h1", "h2"] {
        assert!(recap_line(&out, host).contains("ok=5 "), "{out}");
    }
}

#[test]
fn handlers_from_picks_the_roles_handler_file() {
    let scratch = Scratch::new();
    scratch.write("roles/r/tasks/main.yml", "- command: echo\n  notify: h\n");
    scratch.write(
        "roles/r/handlers/main.yml",
        "- name: h\n  debug: msg=from_main\n",
    );
    scratch.write(
        "roles/r/handlers/alt.yml",
        "- name: h\n  debug: msg=from_alt\n",
    );
    scratch.write(
        "site.yml",
        concat!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n",
            "    - include_role: {name: r, handlers_from: alt}\n",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n",
            "    - import_role: {name: r, handlers_from: alt.yml}\n",
        ),
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert_eq!(out.matches("from_alt").count(), 2, "{out}");
    assert!(!out.contains("from_main"), "{out}");
}

/// A dynamic include keeps its own tags to itself: with `--tags x`, an
/// `include_tasks` tagged `x` runs, but of its tasks only those tagged `x` (or
/// `always`), unless `apply` gives them the tag. As ansible-playbook 2.19.14 runs it
/// (and its handlers target's 58841.yml through `include_role`).
#[test]
fn an_include_keeps_its_own_tags_to_itself() {
    let scratch = Scratch::new();
    scratch.write(
        "inc.yml",
        "- debug: msg=untagged\n- debug: msg=tagged\n  tags: [x]\n- debug: msg=always\n  tags: [always]\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_tasks: inc.yml\n      \
         tags: [x]\n    - include_tasks:\n        file: inc.yml\n        apply: {tags: [x]}\n      tags: [x]\n",
    );
    let output = scratch.bosun(&["run", "-c", "local", "site.yml", "--tags", "x"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let said = |text: &str| out.matches(&format!("\"msg\": \"{text}\"")).count();
    assert_eq!(
        (said("untagged"), said("tagged"), said("always")),
        (1, 2, 2),
        "{out}"
    );
    assert!(recap_line(&out, "localhost").contains("ok=7 "), "{out}");
}

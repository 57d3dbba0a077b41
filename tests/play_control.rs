//! What stops a task, a host or the run, as Ansible decides it: `meta` actions honour
//! `when`; a condition, keyword or host pattern that cannot be evaluated is reported
//! where Ansible reports it, never turned into a skip or its raw text. Each expectation
//! here was read off ansible-playbook 2.19 running the same playbook.

mod common;

use common::{Scratch, recap_line, stderr, stdout};

/// `bosun run site.yml` on localhost with the local connection, and its stdout.
fn run_site(scratch: &Scratch) -> (std::process::Output, String) {
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    (output, out)
}

const TWO_LOCAL_HOSTS: &str = "a ansible_connection=local\nb ansible_connection=local\n";

#[test]
fn end_play_honours_when_and_ends_the_later_batches_too() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "end_play.yml",
        r#"
- hosts: all
  serial: 1
  gather_facts: false
  tasks:
    - meta: end_play
      when: inventory_hostname == 'nobody'
    - copy: {content: "x", dest: "{{ playbook_dir }}/out-{{ inventory_hostname }}-1"}
    - meta: end_play
      when: inventory_hostname == 'a'
    - copy: {content: "x", dest: "{{ playbook_dir }}/out-{{ inventory_hostname }}-2"}
- hosts: b
  gather_facts: false
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/out-second-play"}
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "end_play.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let made: Vec<bool> = [
        "out-a-1",
        "out-a-2",
        "out-b-1",
        "out-b-2",
        "out-second-play",
    ]
    .iter()
    .map(|name| scratch.path().join(name).is_file())
    .collect();
    assert_eq!(
        made,
        [true, false, false, false, true],
        "a false `when` does not end the play; a true one ends it for b's batch too, \
         and the next play runs\n{out}"
    );
    assert!(recap_line(&out, "a").contains("ok=1    changed=1"), "{out}");
}

#[test]
fn end_host_ends_only_the_hosts_where_its_condition_holds() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "end_host.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - meta: end_host
      when: inventory_hostname == 'a'
    - copy: {content: "x", dest: "{{ playbook_dir }}/out-{{ inventory_hostname }}"}
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "end_host.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(!scratch.path().join("out-a").exists());
    assert!(scratch.path().join("out-b").is_file());
}

#[test]
fn clear_host_errors_brings_unreachable_hosts_back_at_once_and_failed_ones_next_play() {
    let scratch = Scratch::new();
    scratch.write(
        "inventory",
        "a ansible_connection=local\nb ansible_connection=local\nu ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1011\n",
    );
    scratch.write(
        "clear.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - ping:
      failed_when: inventory_hostname == 'a'
    - meta: clear_host_errors
    - debug: msg=same_play
- hosts: all
  gather_facts: false
  tasks:
    - assert: {that: "ansible_play_hosts | length == 3"}
      run_once: true
    - ping:
      when: inventory_hostname != 'u'
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "clear.yml"]);
    let out = stdout(&output);
    let recap = |host: &str| {
        recap_line(&out, host)
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        recap("a").starts_with("ok=2 changed=0 unreachable=0 failed=1 "),
        "{out}"
    );
    assert!(
        recap("b").starts_with("ok=3 changed=0 unreachable=0 failed=0 "),
        "{out}"
    );
    assert!(
        recap("u").starts_with("ok=1 changed=0 unreachable=1 failed=0 skipped=1 "),
        "{out}"
    );
}

/// The PLAY RECAP counters of `host`, from `ok=` on, single-spaced.
fn recap_of(out: &str, host: &str) -> String {
    let line = recap_line(out, host);
    line.split_whitespace()
        .skip(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn any_errors_fatal_sends_every_host_to_its_rescue_and_a_rescued_failure_counts_once() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "fatal.yml",
        r#"
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - fail:
          when: inventory_hostname == 'a'
        - debug: msg=never
      rescue:
        - debug: msg=rescued
        - fail:
          when: inventory_hostname == 'b'
      always:
        - debug: msg=always
    - debug: msg=after
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "fatal.yml"]);
    let out = stdout(&output);
    assert!(!out.contains("never") && !out.contains("after"), "{out}");
    assert_eq!(
        recap_of(&out, "a"),
        "ok=2 changed=0 unreachable=0 failed=0 skipped=1 rescued=1 ignored=0",
        "{out}"
    );
    assert_eq!(
        recap_of(&out, "b"),
        "ok=2 changed=0 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0",
        "{out}"
    );
}

#[test]
fn an_include_that_cannot_be_loaded_fails_its_hosts_without_being_included() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "incl.yml",
        r#"
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - include_tasks: missing.yml
      when: inventory_hostname == 'b'
    - debug: msg=never
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "incl.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(
        !out.contains("included:") && !out.contains("never"),
        "{out}"
    );
    assert!(
        recap_of(&out, "a").starts_with("ok=0 changed=0 unreachable=0 failed=0 skipped=1 "),
        "{out}"
    );
    assert!(
        recap_of(&out, "b").starts_with("ok=0 changed=0 unreachable=0 failed=1 "),
        "{out}"
    );
}

#[test]
fn the_exit_code_follows_how_hosts_stand_at_the_end_not_the_recap() {
    let scratch = Scratch::new();
    scratch.write(
        "rescued.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - block:
        - include_tasks: missing.yml
      rescue:
        - debug: msg=rescued
"#,
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "rescued.yml"]);
    let out = stdout(&output);
    assert_eq!(
        recap_of(&out, "localhost"),
        "ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0",
        "an include that cannot be loaded counts as failed even when rescued:\n{out}"
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "the host was rescued:\n{out}"
    );
}

#[test]
fn handlers_imported_or_in_a_block_are_notified_by_their_own_names() {
    let scratch = Scratch::new();
    scratch.write("roles/r/handlers/main.yml", "- import_tasks: more.yml\n");
    scratch.write(
        "roles/r/handlers/more.yml",
        "- name: imported\n  debug: msg=ran_imported\n",
    );
    scratch.write(
        "roles/r/tasks/main.yml",
        "- command: echo\n  notify: [imported, in_block]\n",
    );
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  roles: [r]
  handlers:
    - block:
        - name: in_block
          debug: msg=ran_in_block
"#,
    );
    let (_, out) = run_site(&scratch);
    assert!(
        out.contains("ran_imported") && out.contains("ran_in_block"),
        "{out}"
    );
    assert!(
        recap_of(&out, "localhost").starts_with("ok=3 changed=1 "),
        "{out}"
    );
}

#[test]
fn refresh_inventory_drops_hosts_the_sources_no_longer_have_even_from_their_groups() {
    let scratch = Scratch::new();
    scratch.write("inv", TWO_LOCAL_HOSTS);
    scratch.write(
        "site.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - group_by: {key: g}
    - copy:
        dest: "{{ playbook_dir }}/inv"
        content: "b ansible_connection=local\n"
      delegate_to: localhost
      run_once: true
    - meta: refresh_inventory
    - debug: msg=after
- hosts: g
  gather_facts: false
  tasks:
    - debug: msg=second
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inv", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(recap_of(&out, "a").starts_with("ok=2 changed=2 "), "{out}");
    assert!(recap_of(&out, "b").starts_with("ok=3 changed=1 "), "{out}");
}

#[test]
fn throttle_limits_hosts_at_once_under_both_strategies_and_must_be_an_integer() {
    let scratch = Scratch::new();
    scratch.write(
        "inventory",
        "a ansible_connection=local\nb ansible_connection=local\nc ansible_connection=local\n",
    );
    for strategy in ["linear", "free"] {
        scratch.write(
            &format!("{strategy}.yml"),
            &format!(
                r#"
- hosts: all
  gather_facts: false
  strategy: {strategy}
  tasks:
    - block:
        - shell: mkdir "{{{{ playbook_dir }}}}/lock" && sleep 0.3 && rmdir "{{{{ playbook_dir }}}}/lock"
      throttle: "{{{{ 1 }}}}"
"#
            ),
        );
        let output = scratch.bosun(&[
            "run",
            "-i",
            "inventory",
            "--forks",
            "5",
            &format!("{strategy}.yml"),
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{strategy}: {}",
            stdout(&output)
        );
    }
    scratch.write(
        "bad.yml",
        "- hosts: a\n  gather_facts: false\n  tasks:\n    - debug:\n      throttle: \"{{ 'nope' }}\"\n",
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "bad.yml"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains(
            "Failed to convert the throttle value to an integer: invalid literal for int() with base 10: 'nope'"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn clear_host_errors_in_always_keeps_the_host_going() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - block:
        - fail:
      rescue:
        - fail:
      always:
        - meta: clear_host_errors
    - debug: msg=still_running
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("still_running"), "{out}");
    assert_eq!(
        recap_of(&out, "localhost"),
        "ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=1 ignored=0",
        "{out}"
    );
}

#[test]
fn every_handler_listening_to_a_topic_runs_once_per_notification() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: echo
      notify: topic
  handlers:
    - name: first
      debug: msg=first_ran
      listen: topic
    - debug: msg=second_ran
      listen: topic
"#,
    );
    let (_, out) = run_site(&scratch);
    assert!(
        out.contains("first_ran") && out.contains("second_ran"),
        "{out}"
    );
    assert!(
        recap_of(&out, "localhost").starts_with("ok=3 changed=1 "),
        "{out}"
    );
}

#[test]
fn a_meta_condition_that_cannot_be_evaluated_stops_the_run() {
    let scratch = Scratch::new();
    scratch.write(
        "broken_meta.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - meta: end_host
      when: nothing_here.y
      ignore_errors: true
    - copy: {content: "x", dest: "{{ playbook_dir }}/after"}
"#,
    );
    let output = scratch.bosun(&["run", "broken_meta.yml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}{err}", stdout(&output));
    assert!(err.contains("ERROR!"), "{err}");
    assert!(err.contains("'nothing_here' is undefined"), "{err}");
    assert!(
        !scratch.path().join("after").exists(),
        "no task runs after the error"
    );
}

#[test]
fn broken_keywords_and_include_conditions_fail_the_task_instead_of_being_skipped() {
    let scratch = Scratch::new();
    scratch.write(
        "roles/r/tasks/main.yml",
        "- copy: {content: x, dest: \"{{ playbook_dir }}/role-ran\"}\n",
    );
    scratch.write(
        "broken.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - include_role: {name: r}
      when: nothing_here.x
      ignore_errors: true
    - copy: {content: "n", dest: "{{ playbook_dir }}/notified"}
      notify: "{{ nothing_here }}"
      ignore_errors: true
    - copy: {content: "d", dest: "{{ playbook_dir }}/delegated"}
      delegate_to: "{{ nothing_here }}"
      ignore_errors: true
    - copy: {content: "b", dest: "{{ playbook_dir }}/became"}
      become: true
      become_user: "{{ nothing_here }}"
      ignore_errors: true
  handlers:
    - name: h
      debug: msg=h
"#,
    );
    let output = scratch.bosun(&["run", "broken.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    for (keyword, file) in [
        ("conditional", "role-ran"),
        ("keyword 'notify'", "notified"),
        ("keyword 'delegate_to'", "delegated"),
        ("keyword 'become_user'", "became"),
    ] {
        assert!(
            out.contains(&format!("{keyword}: 'nothing_here' is undefined")),
            "{keyword}:\n{out}"
        );
        assert!(
            !scratch.path().join(file).exists(),
            "the task failed before it ran: {file}"
        );
    }
    assert_eq!(
        recap_line(&out, "localhost"),
        "localhost                  : ok=4    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=4   "
    );
}

#[test]
fn an_invalid_host_pattern_stops_the_run_before_any_later_play() {
    let scratch = Scratch::new();
    scratch.write(
        "pattern.yml",
        r#"
- hosts: "~("
  gather_facts: false
  tasks:
    - debug: msg=never
- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/second"}
"#,
    );
    let output = scratch.bosun(&["run", "pattern.yml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}{err}", stdout(&output));
    assert!(err.contains("ERROR! invalid host pattern '~('"), "{err}");
    assert!(!scratch.path().join("second").exists());
}

#[test]
fn boolean_keywords_that_cannot_be_rendered_are_reported_as_ansible_reports_them() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "flags.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - set_fact: {a: 1, cacheable: "{{ nothing_here }}"}
      ignore_errors: true
    - fail: msg=boom
      ignore_errors: "{{ nothing_here }}"
    - copy: {content: "x", dest: "{{ playbook_dir }}/after-{{ inventory_hostname }}"}
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "flags.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("argument 'cacheable': 'nothing_here' is undefined"),
        "{out}"
    );
    assert!(
        out.contains("keyword 'ignore_errors': 'nothing_here' is undefined"),
        "{out}"
    );
    // ansible-playbook 2.19 ignores the failure of a task whose ignore_errors cannot
    // be rendered: its strategy reads the keyword as written, a non-empty string.
    for host in ["a", "b"] {
        assert_eq!(
            recap_line(&out, host),
            format!(
                "{host:<27}: ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=2   "
            )
        );
        assert!(scratch.path().join(format!("after-{host}")).is_file());
    }
}

#[test]
fn a_run_once_that_cannot_be_rendered_stops_the_run() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "once.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/once-{{ inventory_hostname }}"}
      run_once: "{{ nothing_here }}"
    - copy: {content: "x", dest: "{{ playbook_dir }}/after-{{ inventory_hostname }}"}
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "once.yml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}{err}", stdout(&output));
    assert!(
        err.contains("keyword 'run_once': 'nothing_here' is undefined"),
        "{err}"
    );
    for file in ["once-a", "once-b", "after-a", "after-b"] {
        assert!(!scratch.path().join(file).exists(), "{file} was written");
    }
}

#[test]
fn a_play_name_that_cannot_be_rendered_stops_the_run_and_the_listing() {
    let scratch = Scratch::new();
    scratch.write(
        "named.yml",
        r#"
- hosts: localhost
  name: "deploy {{ release }}"
  gather_facts: false
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/ran"}
"#,
    );
    for listing in [None, Some("--list-hosts")] {
        let mut args = vec!["run", "named.yml"];
        args.extend(listing);
        let output = scratch.bosun(&args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(4), "{}{err}", stdout(&output));
        assert!(
            err.contains("Error processing keyword 'name': 'release' is undefined"),
            "{err}"
        );
        assert!(stdout(&output).trim().is_empty(), "{}", stdout(&output));
    }
    assert!(!scratch.path().join("ran").exists());
    let output = scratch.bosun(&["run", "named.yml", "-e", "release=7"]);
    assert!(
        stdout(&output).contains("PLAY [deploy 7]"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn list_hosts_refuses_a_pattern_that_selects_past_the_end() {
    let scratch = Scratch::new();
    scratch.write("inventory", TWO_LOCAL_HOSTS);
    scratch.write(
        "list.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n",
    );
    let output = scratch.bosun(&[
        "run",
        "-i",
        "inventory",
        "list.yml",
        "--list-hosts",
        "-l",
        "all[7]",
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}{err}", stdout(&output));
    assert!(
        err.contains("no hosts matched the subscripted pattern 'all[7]'"),
        "{err}"
    );
    assert!(stdout(&output).trim().is_empty(), "{}", stdout(&output));
}

#[test]
fn handlers_are_notified_by_name_rendered_per_loop_item() {
    let scratch = Scratch::new();
    scratch.write(
        "loop_notify.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {content: "{{ item }}", dest: "{{ playbook_dir }}/item-{{ item }}"}
      loop: [one, two]
      notify: "say {{ item }}"
  handlers:
    - name: say one
      copy: {content: "1", dest: "{{ playbook_dir }}/handler-one"}
    - name: say two
      copy: {content: "2", dest: "{{ playbook_dir }}/handler-two"}
"#,
    );
    let output = scratch.bosun(&["run", "loop_notify.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    for file in ["handler-one", "handler-two"] {
        assert!(scratch.path().join(file).is_file(), "{file} did not run");
    }
}

#[test]
fn argument_values_are_checked_when_the_task_runs_not_when_the_playbook_loads() {
    let scratch = Scratch::new();
    scratch.write(
        "arguments.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/first"}
    - file: {state: touch}
      ignore_errors: true
    - copy: {dest: "{{ playbook_dir }}/never", content: a, force: maybe}
      ignore_errors: true
    - file: {state: touch}
      when: false
"#,
    );
    let output = scratch.bosun(&["run", "arguments.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(scratch.path().join("first").is_file(), "the first task ran");
    assert!(!scratch.path().join("never").exists());
    assert!(
        out.contains(r#"{"changed": false, "msg": "missing required arguments: path"}"#),
        "{out}"
    );
    assert!(
        out.contains("argument 'force' is of type str and we were unable to convert to bool"),
        "{out}"
    );
    assert_eq!(
        recap_line(&out, "localhost"),
        "localhost                  : ok=3    changed=1    unreachable=0    failed=0    skipped=1    rescued=0    ignored=2   "
    );
}

#[test]
fn an_ansible_module_bosun_lacks_loads_and_fails_only_when_it_runs() {
    let scratch = Scratch::new();
    scratch.write(
        "unsupported.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.dnf: {name: httpd}
      when: "'Debian' == 'RedHat'"
    - ansible.builtin.rpm_key: {key: "https://example.invalid/key.asc"}
      ignore_errors: true
    - yum: {name: httpd}
      ignore_errors: true
    - copy: {content: "x", dest: "{{ playbook_dir }}/after"}
"#,
    );
    let output = scratch.bosun(&["run", "unsupported.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("module rpm_key is not supported by bosun"),
        "{out}"
    );
    // ansible-core routes `yum` to `dnf`: known by name, failing when it runs.
    assert!(
        out.contains("module yum is not supported by bosun"),
        "{out}"
    );
    assert!(scratch.path().join("after").is_file(), "the play went on");
    let typo = scratch.write(
        "typo.yml",
        "- hosts: localhost\n  tasks:\n    - add_hots: {name: x}\n",
    );
    let output = scratch.bosun(&["run", typo.to_str().unwrap_or_default()]);
    assert_eq!(
        output.status.code(),
        Some(4),
        "a name Ansible does not know is refused"
    );
    let err = stderr(&output);
    assert!(err.contains("did you mean 'add_host'?"), "{err}");
}

#[test]
fn environment_layers_may_be_a_list_and_a_bad_one_is_skipped_with_a_warning() {
    let scratch = Scratch::new();
    scratch.write(
        "environment.yml",
        r#"
- hosts: localhost
  gather_facts: false
  environment:
    - {A: one, B: b}
    - {A: two}
  tasks:
    - shell: echo "$A $B" > "{{ playbook_dir }}/merged"
    - shell: echo "${A-unset}" > "{{ playbook_dir }}/skipped"
      environment: 5
"#,
    );
    let output = scratch.bosun(&["run", "environment.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(scratch.read("merged"), "two b\n", "later layers win");
    assert_eq!(
        scratch.read("skipped"),
        "unset\n",
        "a bad layer drops the whole environment"
    );
    assert!(
        stderr(&output).contains("could not parse environment value, skipping"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_module_runs_with_the_environment_and_omitted_entries_are_left_out() {
    let scratch = Scratch::new();
    scratch.write(
        "environment.yml",
        r#"
- hosts: localhost
  gather_facts: true
  environment:
    PATH: "{{ ansible_env.PATH }}:/nowhere"
    GREETING: hello
  tasks:
    - copy:
        content: "{{ ansible_env.GREETING }} {{ ansible_env.PATH is search('nowhere') }}"
        dest: "{{ playbook_dir }}/facts"
    - shell: echo "$KEPT-${DROPPED-unset}-${GONE-unset}" > "{{ playbook_dir }}/omitted"
      environment:
        - {KEPT: yes, DROPPED: "{{ omit }}"}
        - "{{ omit }}"
"#,
    );
    let output = scratch.bosun(&["run", "environment.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        scratch.read("facts"),
        "hello False",
        "fact gathering saw the play's environment, without the value that needs its facts"
    );
    assert_eq!(scratch.read("omitted"), "True-unset-unset\n");
}

#[test]
fn strategy_may_be_a_template_or_host_pinned_and_an_unknown_one_stops_the_run() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  strategy: "{{ test_strategy | default('linear') }}"
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/templated"}
- hosts: localhost
  gather_facts: false
  strategy: host_pinned
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/pinned"}
- hosts: localhost
  gather_facts: false
  strategy: nope
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/never"}
"#,
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}{err}", stdout(&output));
    assert!(
        err.contains("Invalid play strategy specified: nope"),
        "{err}"
    );
    let made = |name: &str| scratch.path().join(name).is_file();
    assert_eq!(
        [made("templated"), made("pinned"), made("never")],
        [true, true, false]
    );
}

#[test]
fn vars_files_take_the_first_file_of_a_list_and_skip_what_is_missing_or_undefined() {
    let scratch = Scratch::new();
    scratch.write("vars/found.yml", "from_list: vars dir\n");
    scratch.write("plain.yml", "plain: beside the play\n");
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars_files:
    - missing.yml
    - [nope.yml, "{{ 'found' }}.yml", plain.yml]
    - "{{ undefined_thing }}.yml"
    - plain.yml
  tasks:
    - copy:
        content: "{{ from_list }} / {{ plain }}"
        dest: "{{ playbook_dir }}/out"
"#,
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{}{err}", stdout(&output));
    assert!(
        err.contains("[WARNING]: skipping vars_files item due to an undefined variable"),
        "{err}"
    );
    let out = std::fs::read_to_string(scratch.path().join("out")).expect("out");
    assert_eq!(out, "vars dir / beside the play");
}

#[test]
fn failed_when_sets_failed_either_way_and_until_keeps_a_module_failure() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: /bin/false
      register: r
      until: true
      retries: 1
      delay: 0
      ignore_errors: true
    - command: /bin/false
      failed_when: false
      register: f
    - copy:
        content: "{{ r.failed }} {{ r.attempts }} {{ 'failed' in f }} {{ f.failed }}"
        dest: "{{ playbook_dir }}/out"
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let written = std::fs::read_to_string(scratch.path().join("out")).expect("out");
    assert_eq!(written, "True 1 True False");
    assert!(recap_line(&out, "localhost").contains("ignored=1"), "{out}");
}

#[test]
fn a_changed_when_that_cannot_be_evaluated_fails_the_task_and_keeps_its_result() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: echo foo
      changed_when: boomboomboom
      register: invalid_conditional
      ignore_errors: true
    - copy:
        content: "{{ invalid_conditional is failed }} {{ invalid_conditional.stdout }} {{ invalid_conditional.changed_when_result is contains('boomboomboom') }}"
        dest: "{{ playbook_dir }}/out"
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let written = std::fs::read_to_string(scratch.path().join("out")).expect("out");
    assert_eq!(written, "True foo True");
}

#[test]
fn false_condition_keeps_the_written_value_and_a_null_when_runs_the_task() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - debug: msg=skipped
      when: false
      register: by_bool
    - debug: msg=skipped
      when: ["1 == 1", "2 == 3"]
      register: by_text
    - debug: msg=runs
      when:
      register: by_null
    - debug: msg=runs
      when: ["1 == 1", ~]
      register: by_null_item
    - debug: msg=never
      when: " "
      register: by_empty
      ignore_errors: true
    - copy:
        content: "{{ by_bool.false_condition is sameas false }} {{ by_text.false_condition }} {{ by_null.msg }} {{ by_null_item.msg }} {{ by_empty.msg }}"
        dest: "{{ playbook_dir }}/out"
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let written = std::fs::read_to_string(scratch.path().join("out")).expect("out");
    assert!(
        written.starts_with("True 2 == 3 runs runs Task failed: ")
            && written.ends_with("Empty conditional expressions are not allowed."),
        "{written}"
    );
}

#[test]
fn notifying_a_handler_the_play_lacks_stops_the_run_unless_configured_to_warn() {
    let scratch = Scratch::new();
    scratch.write(
        "p.yml",
        "- hosts: localhost\n  gather_facts: false\n  handlers:\n    - name: known\n      debug: msg=known\n      listen: topic\n  tasks:\n    - command: \"true\"\n      notify: [known, topic]\n    - command: \"true\"\n      notify: nothere\n    - command: touch after\n",
    );
    let output = scratch.bosun(&["run", "-i", "localhost,", "-c", "local", "p.yml"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("The requested handler 'nothere' was not found in either the main handlers list nor in the listening handlers list"),
        "{}",
        stderr(&output)
    );
    assert!(!scratch.path().join("after").exists(), "no later task ran");

    let mut command =
        scratch.bosun_command(&["run", "-i", "localhost,", "-c", "local", "p.yml"], &[]);
    let output = command
        .env("ANSIBLE_ERROR_ON_MISSING_HANDLER", "false")
        .output()
        .expect("bosun runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(scratch.path().join("after").exists(), "the run went on");
}

#[test]
fn a_notification_runs_one_handler_by_name_and_every_listener_once_per_name() {
    let scratch = Scratch::new();
    scratch.write(
        "roles/web/handlers/main.yml",
        "- name: reload\n  command: touch role-listener\n  listen: changed\n",
    );
    scratch.write(
        "roles/web/tasks/main.yml",
        "- command: \"true\"\n  notify: \"web : changed\"\n",
    );
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  roles: [web]
  handlers:
    - name: same
      command: touch first
    - name: same
      command: touch second
    - name: one
      command: touch listener-one
      listen: same
    - name: one
      command: touch listener-duplicate
      listen: same
  tasks:
    - command: "true"
      notify: same
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}");
    for (file, ran) in [
        ("first", true),
        ("second", false),
        ("listener-one", true),
        ("listener-duplicate", false),
        ("role-listener", true),
    ] {
        assert_eq!(scratch.path().join(file).exists(), ran, "{file}: {out}");
    }
    let role_first = out.find("RUNNING HANDLER [web : reload]");
    assert!(
        role_first < out.find("RUNNING HANDLER [same]"),
        "roles' handlers run first: {out}"
    );
}

#[test]
fn handler_names_are_templated_and_a_notify_template_may_list_several() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars:
    second: two
    both: [one, two]
  handlers:
    - name: one
      command: touch ran-one
    - name: "{{ second }}"
      command: touch ran-two
    - name: listener
      command: touch ran-listener
      listen: "{{ second }}"
  tasks:
    - command: "true"
      notify: "{{ both }}"
"#,
    );
    let (output, out) = run_site(&scratch);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(
        out.contains("RUNNING HANDLER [two]"),
        "the rendered name is shown: {out}"
    );
    assert!(scratch.path().join("ran-one").exists(), "{out}");
    assert!(scratch.path().join("ran-two").exists(), "{out}");
    assert!(
        !scratch.path().join("ran-listener").exists(),
        "listen is not templated"
    );
}

#[test]
fn handlers_without_a_usable_name_answer_only_their_topics() {
    let scratch = Scratch::new();
    let handlers = r#"
  handlers:
    - debug: msg=unnamed
    - name: "h {{ inventory_hostname }}"
      debug: msg=hostvar-named
    - name: "x {{ nope }}"
      debug: msg=listener-ran
      listen: topic
"#;
    let play = |notify: &str| {
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo a\n      notify: {notify}\n      changed_when: true\n    - command: echo b\n      notify: {notify}\n      changed_when: true\n{handlers}"
        )
    };
    // As ansible-playbook 2.19: a handler without a name is not notified by its action,
    // and one whose name cannot be rendered warns (once) and answers its topics only.
    scratch.write("by-action.yml", &play("debug"));
    let output = scratch.bosun(&["run", "by-action.yml"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}{err}", stdout(&output));
    assert!(
        err.contains("The requested handler 'debug' was not found"),
        "{err}"
    );
    scratch.write("by-topic.yml", &play("topic"));
    let output = scratch.bosun(&["run", "by-topic.yml"]);
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("listener-ran"), "{out}");
    assert_eq!(
        err.matches("Handler 'h {{ inventory_hostname }}' is unusable")
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn a_template_inside_a_conditionals_string_constant_is_rendered() {
    // Ansible 2.19 renders such constants (deprecated, to be off in 2.23); a constant
    // that cannot be rendered is left for the conditional to short-circuit past.
    let scratch = Scratch::new();
    scratch.write(
        "embedded.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars: {d: /x, items_: [1, 2]}
  tasks:
    - assert:
        that:
          - "'{{ d }}/a' == '/x/a'"
          - '"{{''hi''}}" == "hi"'
          - "'{{ items_ }}' == [1, 2]"
          - "missing is defined and '{{ missing }}' == 'a' or true"
    - copy: {content: "x", dest: "{{ playbook_dir }}/ran"}
      when: "'{{ d }}' == '/x'"
"#,
    );
    let output = scratch.bosun(&["run", "embedded.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(scratch.path().join("ran").is_file(), "{out}");
}

/// A handler that is `meta: flush_handlers` stops the run when it runs, with exit 1
/// and no recap, as ansible-playbook 2.19.14 does (the handlers target's
/// test_flush_handlers_as_handler.yml); the tasks before it have run.
#[test]
fn flush_handlers_as_a_handler_stops_the_run() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo\n      notify: handler\n    \
         - copy: {content: ran, dest: \"{{ playbook_dir }}/after\"}\n  handlers:\n    - name: handler\n      \
         meta: flush_handlers\n",
    );
    let (output, out) = run_site(&scratch);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("flush_handlers cannot be used as a handler"),
        "{err}"
    );
    assert!(!out.contains("PLAY RECAP"), "{out}");
    assert_eq!(scratch.read("after"), "ran");
}

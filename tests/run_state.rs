//! What lasts from task to task and play to play: inventory changes (`add_host`,
//! `group_by`), facts and variables carried into later plays and `hostvars`, and hosts
//! that failed staying out of later plays. Each expectation was read off
//! ansible-playbook 2.19 running the same playbook.

mod common;

use common::{Scratch, recap_line, stderr, stdout};

const THREE_LOCAL_HOSTS: &str =
    "h1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n";

#[test]
fn add_host_and_group_by_change_the_inventory_for_later_tasks_and_plays() {
    let scratch = Scratch::new();
    scratch.write("inventory", THREE_LOCAL_HOSTS);
    scratch.write("group_vars/kind_a.yml", "flavour: from group_vars\n");
    scratch.write(
        "site.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - group_by:
        key: "kind_{{ 'a' if inventory_hostname == 'h1' else 'b' }}"
        parents: [kinds]
    - copy:
        content: "{{ flavour | default('none') }} {{ group_names | join(',') }}"
        dest: "{{ playbook_dir }}/groups-{{ inventory_hostname }}"
    - add_host:
        name: "new{{ item }}"
        groups: added
        ansible_connection: local
        colour: blue
      loop: [1, 2]
    - set_stats:
        data: {my_int: 1}
      register: stats
    - wait_for_connection:
        timeout: 5
    - wait_for_connection:
        foo: bar
      register: invalid
      ignore_errors: true
    - assert:
        that:
          - "stats.ansible_stats == {'data': {'my_int': 1}, 'per_host': false, 'aggregate': true}"
          - "invalid.msg == 'Invalid options for wait_for_connection: foo'"
- hosts: added
  gather_facts: false
  tasks:
    - copy:
        content: "{{ colour }} {{ groups['added'] | join(',') }} {{ groups['kinds'] | join(',') }}"
        dest: "{{ playbook_dir }}/added-{{ inventory_hostname }}"
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let read = |name: &str| std::fs::read_to_string(scratch.path().join(name)).ok();
    assert_eq!(
        read("groups-h1").as_deref(),
        Some("from group_vars kind_a,kinds")
    );
    assert_eq!(read("groups-h2").as_deref(), Some("none kind_b,kinds"));
    let added = "blue new1,new2 h1,h2,h3";
    assert_eq!(read("added-new1").as_deref(), Some(added));
    assert_eq!(read("added-new2").as_deref(), Some(added));
    // add_host runs once, on the first host; group_by reports a change per host.
    assert!(out.contains("changed: [h1] => (item=1)"), "{out}");
    assert!(!out.contains("[h2] => (item=1)"), "{out}");
    assert_eq!(
        recap_line(&out, "h1"),
        "h1                         : ok=7    changed=3    unreachable=0    failed=0    skipped=0    rescued=0    ignored=1   "
    );
    assert_eq!(
        recap_line(&out, "h2"),
        "h2                         : ok=6    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=1   "
    );
}

#[test]
fn facts_and_variables_last_into_later_plays_and_failed_hosts_stay_out() {
    let scratch = Scratch::new();
    scratch.write("inventory", THREE_LOCAL_HOSTS);
    scratch.write(
        "site.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - set_fact: marker="{{ inventory_hostname }}-set"
    - command: /bin/false
      when: inventory_hostname == 'h2'
    - debug: msg=x
      register: reg
- hosts: all
  gather_facts: false
  tasks:
    - copy:
        content: "{{ marker }} {{ reg.msg }} {{ ansible_play_hosts_all }} {{ ansible_play_batch }} {{ hostvars['h3']['marker'] }} {{ hostvars | length }}"
        dest: "{{ playbook_dir }}/second-{{ inventory_hostname }}"
- hosts: h2
  gather_facts: false
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/h2-ran"}
- hosts: h1
  gather_facts: false
  tasks:
    - command: /bin/false
- hosts: all
  gather_facts: false
  tasks:
    - copy: {content: "x", dest: "{{ playbook_dir }}/after-all-failed"}
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{out}{}", stderr(&output));
    let read = |name: &str| std::fs::read_to_string(scratch.path().join(name)).ok();
    let expected = "h1-set x ['h1', 'h2', 'h3'] ['h1', 'h3'] h3-set 3";
    assert_eq!(read("second-h1").as_deref(), Some(expected), "{out}");
    assert_eq!(
        read("second-h2"),
        None,
        "a failed host takes no part in later plays"
    );
    assert_eq!(read("h2-ran"), None, "{out}");
    assert_eq!(
        read("after-all-failed"),
        None,
        "a batch where every host failed ends the playbook\n{out}"
    );
    assert!(out.contains("PLAY [h2]"), "{out}");
}

#[test]
fn async_tasks_run_in_the_background_and_async_status_follows_them() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - shell: sleep 2 && echo done > {{ playbook_dir }}/async-out
      async: 20
      poll: 0
      register: job
    - async_status: jid={{ job.ansible_job_id }}
      register: status
      until: status.finished
      retries: 10
      delay: 1
    - shell: echo sync
      async: 10
      poll: 1
      register: sync
    - shell: sleep 5
      async: 1
      poll: 1
      register: slow
      ignore_errors: true
    - copy: content=x dest={{ playbook_dir }}/x
      async: 5
      ignore_errors: true
      register: nocopy
    - copy:
        content: "{{ job.finished }} {{ status.finished }} {{ sync.stdout }} {{ slow is failed }} {{ nocopy.msg }}"
        dest: "{{ playbook_dir }}/summary"
"#,
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let read = |name: &str| std::fs::read_to_string(scratch.path().join(name)).ok();
    assert_eq!(read("async-out").as_deref(), Some("done\n"));
    assert_eq!(
        read("summary").as_deref(),
        Some("False True sync True This action (copy) does not support async."),
        "a task past its async time fails (Ansible words it 'Timeout exceeded' or 'async task did \
         not complete within the requested time', depending on which of its timers fires first)"
    );
    assert_eq!(
        recap_line(&out, "localhost"),
        "localhost                  : ok=6    changed=4    unreachable=0    failed=0    skipped=0    rescued=0    ignored=2   "
    );
}

#[test]
fn refresh_inventory_reads_the_sources_again_and_keeps_added_hosts() {
    let scratch = Scratch::new();
    scratch.write("inventory", "one ansible_connection=local\n");
    scratch.write(
        "site.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - add_host: {name: added, ansible_connection: local}
    - copy:
        content: "one ansible_connection=local\ntwo ansible_connection=local\n"
        dest: "{{ playbook_dir }}/inventory"
    - meta: refresh_inventory
- hosts: all
  gather_facts: false
  tasks:
    - copy:
        content: "{{ ansible_play_hosts | sort | join(',') }}"
        dest: "{{ playbook_dir }}/seen-{{ inventory_hostname }}"
"#,
    );
    let output = scratch.bosun(&["run", "-i", "inventory", "site.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let read = |name: &str| std::fs::read_to_string(scratch.path().join(name)).ok();
    assert_eq!(read("seen-two").as_deref(), Some("added,one,two"), "{out}");
    assert_eq!(
        read("seen-added").as_deref(),
        Some("added,one,two"),
        "{out}"
    );
}

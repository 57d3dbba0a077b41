//! Playbooks run by the real binary in local mode; effects are checked on disk.

mod common;

use common::{Scratch, assert_golden, normalise, recap_line, stderr, stdout};

fn run(scratch: &Scratch, args: &[&str]) -> (i32, String, String) {
    let output = scratch.bosun(args);
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

#[test]
fn every_keyword_works_and_the_second_run_changes_nothing() {
    let scratch = Scratch::new();
    scratch.copy_fixture("keywords");
    let (code, out, err) = run(&scratch, &["run", "keywords/site.yml"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let target = scratch.path();
    for made in [
        "pre",
        "dict-a-1",
        "always",
        "rescued-This_fails",
        "imported-import",
        "included",
        "delegated",
        "notifier",
        "handler-ran",
        "web-8080",
        "web-handler",
        "role-base",
    ] {
        assert!(target.join(made).is_file(), "{made} was not created\n{out}");
    }
    for absent in ["never", "never-tag", "unreachable-in-block"] {
        assert!(
            !target.join(absent).exists(),
            "{absent} must not exist\n{out}"
        );
    }
    let count = std::fs::read_to_string(target.join("count")).expect("until wrote a counter");
    assert_eq!(
        count.trim(),
        "3",
        "until retried until the counter reached 3"
    );
    assert!(!out.contains("hunter2"), "no_log hides the secret:\n{out}");
    assert!(out.contains("...ignoring"), "{out}");
    assert_eq!(
        recap_line(&out, "localhost"),
        "localhost                  : ok=32   changed=14   unreachable=0    failed=0    skipped=1    rescued=1    ignored=1   "
    );

    let second = scratch.bosun(&["run", "keywords/site.yml"]);
    let out = stdout(&second);
    assert_eq!(second.status.code(), Some(0), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "second run must not change anything:\n{out}"
    );
}

#[test]
fn output_matches_ansible_format() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (code, out, _) = run(&scratch, &["run", "output/output.yml"]);
    assert_eq!(code, 0, "{out}");
    assert_golden("output.out", &normalise(&out, scratch.path()));
    assert!(scratch.path().join("made").is_file());
}

#[test]
fn verbose_output_shows_results() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (_, out, _) = run(&scratch, &["run", "output/output.yml", "-v"]);
    assert!(
        out.contains("changed: [localhost] => {\"changed\": true, \"cmd\": [\"touch\""),
        "{out}"
    );
}

#[test]
fn a_failed_task_stops_the_host_and_exits_2() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (code, out, _) = run(&scratch, &["run", "output/failing.yml"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "fatal: [localhost]: FAILED! => {\"changed\": false, \"msg\": \"this task fails\"}"
        ),
        "{out}"
    );
    assert!(!out.contains("Not reached"), "{out}");
    assert!(recap_line(&out, "localhost").contains("failed=1 "), "{out}");
}

#[test]
fn load_errors_name_the_place_and_touch_nothing() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let cases = [
        (
            "output/bad_module.yml",
            "bad_module.yml:10:7",
            "couldn't resolve module/action 'comand'",
            Some("did you mean 'command'?"),
        ),
        (
            "output/bad_arg.yml",
            "bad_arg.yml:7:9",
            "Unsupported parameters: chdirr",
            Some("Did you mean 'chdir'?"),
        ),
        (
            "output/bad_sub_option.yml",
            "bad_sub_option.yml:10:9",
            "docker_image: build: Unsupported parameters: dockerfil.",
            Some("Did you mean 'dockerfile'?"),
        ),
        (
            "output/bad_keyword.yml",
            "bad_keyword.yml:3:3",
            "'taks' is not a valid attribute for a Play",
            Some("did you mean 'tasks'?"),
        ),
        (
            "output/bad_yaml.yml",
            "bad_yaml.yml:",
            "YAML syntax error",
            None,
        ),
    ];
    for (file, place, message, hint) in cases {
        let (code, out, err) = run(&scratch, &["run", file]);
        assert_eq!(code, 4, "{file}: {out}{err}");
        assert!(err.contains(place), "{file} names {place}:\n{err}");
        assert!(err.contains(message), "{file}: {message}\n{err}");
        if let Some(hint) = hint {
            assert!(err.contains(hint), "{file}: {hint}\n{err}");
        }
        assert!(
            !out.contains("PLAY ["),
            "nothing runs when {file} does not load:\n{out}"
        );
    }
    assert!(!scratch.path().join("touched").exists(), "no task ran");
}

#[test]
fn undefined_variable_names_variable_and_task() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (code, out, _) = run(&scratch, &["run", "output/undefined.yml"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("'not_defined_anywhere' is undefined"), "{out}");
    assert!(out.contains("undefined.yml:6:7"), "{out}");
}

#[test]
fn check_mode_changes_nothing_and_reports_what_would_change() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (code, out, _) = run(&scratch, &["run", "output/check.yml", "-C"]);
    assert_eq!(code, 0, "{out}");
    assert!(!scratch.path().join("check-plain").exists());
    assert!(!scratch.path().join("check-creates").exists());
    assert!(
        scratch.path().join("forced").exists(),
        "check_mode: false runs for real"
    );
    assert!(out.contains("TASK [Would run] ****"), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=2 "),
        "creates= and check_mode: false report changes:\n{out}"
    );
    assert!(
        recap_line(&out, "localhost").contains("skipped=1 "),
        "{out}"
    );
}

#[test]
fn tags_select_tasks() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (code, out, _) = run(&scratch, &["run", "output/tags.yml", "-t", "config"]);
    assert_eq!(code, 0, "{out}");
    let exists = |name: &str| scratch.path().join(name).exists();
    assert!(exists("tag-config") && exists("tag-always"));
    assert!(!exists("tag-install") && !exists("tag-none"));

    let (code, _, _) = run(
        &scratch,
        &["run", "output/tags.yml", "--skip-tags", "always"],
    );
    assert_eq!(code, 0);
    assert!(exists("tag-install") && exists("tag-none"));
}

#[test]
fn templated_tags_are_rendered_before_choosing() {
    let scratch = Scratch::new();
    scratch.write("roles/r/tasks/main.yml", "- debug: msg=in_role\n");
    scratch.write(
        "play.yml",
        concat!(
            "- hosts: localhost\n  gather_facts: false\n",
            "  vars: {t: tag1, listed: [tag1]}\n  tags: \"{{ t }}\"\n",
            "  roles:\n    - {role: r, tags: \"{{ t }}\"}\n",
            "  tasks:\n    - block:\n        - debug: msg=in_block\n      tags: \"{{ listed }}\"\n",
        ),
    );
    let (code, out, err) = run(&scratch, &["run", "play.yml", "--tags", "tag1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("in_role") && out.contains("in_block"), "{out}");
    let (code, out, err) = run(&scratch, &["run", "play.yml", "--skip-tags", "tag1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !out.contains("in_role") && !out.contains("in_block"),
        "{out}"
    );
}

#[test]
fn extra_vars_win_over_play_vars() {
    let scratch = Scratch::new();
    scratch.write(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    x: play\n  tasks:\n    - assert:\n        that: x == 'cli' and y == 2 and z.k == 'v'\n",
    );
    scratch.write("more.yml", "z:\n  k: v\n");
    let (code, out, err) = run(
        &scratch,
        &[
            "run",
            "play.yml",
            "-e",
            "x=cli",
            "-e",
            "{\"y\": 2}",
            "-e",
            "@more.yml",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn json_output_is_one_document() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (code, out, _) = run(&scratch, &["run", "output/output.yml", "--output", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON document");
    assert_eq!(
        doc["stats"]["localhost"]["changed"], 2,
        "the ignored failure changed too"
    );
    // The shape ansible.posix.json gives the same playbook (ansible-core 2.19,
    // ansible 12): sorted keys indented by four, ids, paths and durations.
    assert!(out.starts_with("{\n    \"custom_stats\": {},\n    \"global_custom_stats\""));
    let play = &doc["plays"][0];
    let playbook = std::path::absolute(scratch.path().join("output/output.yml")).expect("a path");
    assert_eq!(play["play"]["path"], format!("{}:2", playbook.display()));
    let lines: Vec<u64> = [8, 12, 16, 22, 27, 31, 36].into();
    let tasks = play["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), lines.len());
    let mut ids = std::collections::HashSet::new();
    for (task, line) in tasks.iter().zip(lines) {
        let entry = &task["task"];
        assert_eq!(entry["path"], format!("{}:{line}", playbook.display()));
        assert!(
            ids.insert(entry["id"].to_string()),
            "ids are unique: {entry}"
        );
        let duration = &entry["duration"];
        assert!(
            duration["start"].as_str() <= duration["end"].as_str(),
            "{duration}"
        );
    }
    let result = |index: usize| &tasks[index]["hosts"]["localhost"];
    assert_eq!(result(0)["msg"], "Hello world");
    assert_eq!(result(0)["action"], "debug");
    assert_eq!(result(0)["_ansible_no_log"], false);
    assert_eq!(result(2)["action"], "command");
    let module_args = &result(2)["invocation"]["module_args"];
    assert_eq!(
        module_args["creates"],
        format!("{}/made", scratch.path().display())
    );
    assert_eq!(module_args["chdir"], serde_json::Value::Null);
    assert_eq!(
        module_args["strip_empty_ends"], true,
        "defaults are filled in"
    );
    assert!(
        result(0).get("invocation").is_none(),
        "debug is a control-node action"
    );
    assert!(result(2).get("failed").is_none(), "{}", result(2));
    assert_eq!(result(3)["results"][1]["_ansible_item_label"], "two");
    assert_eq!(result(3)["results"][0]["_ansible_item_label"], 1);
    assert!(
        result(3).get("_ansible_no_log").is_none(),
        "a loop's summary has none"
    );
    assert_eq!(result(4)["skipped"], true);
    assert_eq!(result(5)["failed"], true);
    assert!(result(5).get("ignored").is_none(), "{}", result(5));
}

#[test]
fn syntax_check_and_listings() {
    let scratch = Scratch::new();
    scratch.copy_fixture("output");
    let (code, out, _) = run(&scratch, &["run", "output/tags.yml", "--syntax-check"]);
    assert_eq!(code, 0);
    assert_eq!(out, "\nplaybook: output/tags.yml\n");
    let (code, out, _) = run(&scratch, &["run", "output/tags.yml", "--list-tags"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("TASK TAGS: [always, config, install]"),
        "{out}"
    );
    assert!(
        !scratch.path().join("tag-none").exists(),
        "listing runs nothing"
    );
}

#[test]
fn bad_options_exit_5() {
    let scratch = Scratch::new();
    let (code, _, err) = run(&scratch, &["run", "--no-such-option", "x.yml"]);
    assert_eq!(code, 5, "{err}");
}

#[test]
fn a_variable_nothing_defines_is_a_warning_first_and_fails_its_task_when_it_runs() {
    let scratch = Scratch::new();
    scratch.write(
        "typo.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    packages: [a]\n  tasks:\n    - name: First task would run\n      command: touch {{ lookup('env', 'TARGET') }}/first\n    - name: Typo\n      debug:\n        msg: \"{{ pakages }}\"\n",
    );
    let (code, out, err) = run(&scratch, &["run", "typo.yml"]);
    assert_eq!(code, 2, "the task fails as in Ansible: {out}{err}");
    let warning = err.split("PLAY").next().unwrap_or_default();
    assert!(warning.contains("[WARNING]"), "{err}");
    assert!(err.contains("typo.yml:10:15"), "{err}");
    assert!(err.contains("'pakages' is undefined"), "{err}");
    assert!(scratch.path().join("first").exists(), "the first task ran");
    assert!(out.contains("'pakages' is undefined"), "{out}");
    let (code, _, err) = run(&scratch, &["run", "typo.yml", "-e", "pakages=x"]);
    assert_eq!(code, 0, "an extra var defines it: {err}");
    assert!(!err.contains("pakages"), "{err}");
}

#[test]
fn strategy_free_lets_fast_hosts_run_ahead() {
    let scratch = Scratch::new();
    scratch.write(
        "free.yml",
        "- hosts: all\n  gather_facts: false\n  strategy: free\n  tasks:\n    - pause:\n        seconds: \"{{ 3 if inventory_hostname == 'slow' else 1 }}\"\n    - debug:\n        msg: \"second on {{ inventory_hostname }}\"\n",
    );
    let (code, out, _) = run(
        &scratch,
        &["run", "free.yml", "-i", "slow,fast,", "-c", "local"],
    );
    assert_eq!(code, 0, "{out}");
    let fast_done = out
        .find("second on fast")
        .expect("fast ran its second task");
    let slow_first = out.find("ok: [slow]").expect("slow ran");
    assert!(
        fast_done < slow_first,
        "fast finished before slow's first task:\n{out}"
    );
}

#[test]
fn serial_runs_batches_one_after_another() {
    let scratch = Scratch::new();
    scratch.write(
        "serial.yml",
        "- hosts: all\n  gather_facts: false\n  serial: 1\n  tasks:\n    - shell: echo {{ inventory_hostname }} >> {{ lookup('env', 'TARGET') }}/order\n    - shell: echo {{ inventory_hostname }}-2 >> {{ lookup('env', 'TARGET') }}/order\n",
    );
    let (code, out, _) = run(
        &scratch,
        &["run", "serial.yml", "-i", "a,b,c,", "-c", "local"],
    );
    assert_eq!(code, 0, "{out}");
    let order = std::fs::read_to_string(scratch.path().join("order")).expect("order");
    assert_eq!(
        order, "a\na-2\nb\nb-2\nc\nc-2\n",
        "each batch finishes before the next starts"
    );
}

#[test]
fn the_example_playbook_is_idempotent() {
    let scratch = Scratch::new();
    let playbook = format!("{}/playbooks/hello.yml", env!("CARGO_MANIFEST_DIR"));
    let first = scratch.bosun(&["run", &playbook, "-c", "local"]);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    assert!(
        std::path::Path::new("/tmp/bosun-hello").exists(),
        "the marker was made"
    );
    let second = scratch.bosun(&["run", &playbook, "-c", "local"]);
    let out = stdout(&second);
    assert_eq!(second.status.code(), Some(0), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "{out}"
    );
}

#[test]
fn variable_precedence_follows_ansible() {
    let scratch = Scratch::new();
    scratch.copy_fixture("precedence");
    let (code, out, err) = run(
        &scratch,
        &[
            "run",
            "precedence/site.yml",
            "-i",
            "precedence/inventory/hosts.ini",
            "-c",
            "local",
            "-e",
            "extra_beats_all=extra",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(recap_line(&out, "node").contains("failed=0 "), "{out}");
}

#[test]
fn import_playbook_with_items_role_when_post_tasks_and_ignore_unreachable() {
    let scratch = Scratch::new();
    scratch.copy_fixture("more");
    scratch.write("hosts.ini", "localhost ansible_connection=local\nghost ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 ansible_ssh_timeout=2\n");
    let (code, out, err) = run(&scratch, &["run", "more/site.yml", "-i", "hosts.ini"]);
    let target = scratch.path();
    for made in [
        "imported-play",
        "item-a",
        "item-b",
        "item-c",
        "post-localhost",
        "post-ghost",
    ] {
        assert_eq!(
            made != "post-ghost",
            target.join(made).exists(),
            "{made}\n{out}{err}"
        );
    }
    assert!(
        !target.join("role-ran").exists(),
        "a role with a false when is skipped"
    );
    assert!(out.contains("fatal: [ghost]: UNREACHABLE!"), "{out}");
    assert!(
        recap_line(&out, "ghost").contains("ignored=1"),
        "ignore_unreachable counts as ignored:\n{out}"
    );
    assert_eq!(
        code, 4,
        "the unreachable post task still makes the run fail: {out}"
    );
}

#[test]
fn task_timeout_stops_a_hung_command() {
    let scratch = Scratch::new();
    scratch.write(
        "hang.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: sleep 30\n      timeout: 1\n    - debug: msg=unreached\n",
    );
    let started = std::time::Instant::now();
    let (code, out, _) = run(&scratch, &["run", "hang.yml", "-c", "local"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the timeout cut the task short"
    );
    assert!(
        out.contains("Task failed: Timed out after 1 second(s)."),
        "{out}"
    );
}

#[test]
fn a_multi_line_shell_block_runs_line_by_line() {
    let scratch = Scratch::new();
    let target = scratch.path().join("lines.txt");
    scratch.write(
        "lines.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - shell: |\n        echo one > {t}\n        echo two >> {t}\n",
            t = target.display()
        ),
    );
    let (code, out, err) = run(&scratch, &["run", "lines.yml", "-c", "local"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(&target).expect("the block wrote the file"),
        "one\ntwo\n"
    );
}

#[test]
fn local_tasks_keep_the_open_file_limit_bosun_started_with() {
    let scratch = Scratch::new();
    scratch.write(
        "limit.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: sh -c 'ulimit -Sn'\n      register: soft\n    - copy: {content: '{{ soft.stdout }}', dest: '{{ playbook_dir }}/soft'}\n",
    );
    let bosun = assert_cmd::cargo::cargo_bin("bosun");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn 1000 && exec {} run limit.yml -c local -i localhost,",
            bosun.display()
        ))
        .current_dir(scratch.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("sh runs bosun");
    assert!(status.success());
    let soft = std::fs::read_to_string(scratch.path().join("soft")).expect("written");
    assert_eq!(
        soft, "1000",
        "bosun's own lifted limit does not leak into tasks"
    );
}

#[test]
fn ansible_roles_path_from_the_environment_finds_roles() {
    let scratch = Scratch::new();
    scratch.write(
        "elsewhere/greet/tasks/main.yml",
        "- copy: {content: hi, dest: \"{{ lookup('env', 'TARGET') }}/greeted\"}\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles: [greet]\n",
    );
    let (code, _, err) = run(&scratch, &["run", "site.yml"]);
    assert_eq!(code, 4, "without the variable the role is not found: {err}");
    let elsewhere = scratch.path().join("elsewhere");
    let output = scratch.bosun_with(&["run", "site.yml"], &[("ANSIBLE_ROLES_PATH", &elsewhere)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(scratch.path().join("greeted").is_file());
}

#[test]
fn a_vars_file_that_does_not_parse_stops_the_run_before_the_play() {
    let scratch = Scratch::new();
    scratch.write("broken.yml", "a: [\n");
    let marker = scratch.path().join("ran");
    scratch.write(
        "play.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  vars_files:\n    - missing.yml\n    - broken.yml\n  tasks:\n    - command: touch {}\n",
            marker.display()
        ),
    );
    let (code, out, err) = run(&scratch, &["run", "play.yml", "-c", "local"]);
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(
        err.contains("broken.yml:2:1"),
        "names the file and line: {err}"
    );
    assert!(!out.contains("PLAY"), "no play started: {out}");
    assert!(!marker.exists(), "no task ran");
}

#[test]
fn an_argument_named_with_the_internal_prefix_is_refused_before_the_run() {
    let scratch = Scratch::new();
    scratch.write(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo _ansible_ok=1\n    - set_fact:\n        _ansible_foo: bar\n      ignore_errors: true\n",
    );
    let (code, out, err) = run(&scratch, &["run", "play.yml", "-c", "local"]);
    assert_eq!(code, 1, "a general error, as Ansible's: {out}\n{err}");
    assert!(
        err.contains("Invalid parameter specified beginning with keyword '_ansible_' for action 'set_fact': '_ansible_foo'. The prefix '_ansible_' is reserved for internal use only."),
        "{err}"
    );
    assert!(!out.contains("TASK"), "nothing ran: {out}");
}

#[test]
fn python_percent_formatting_renders_as_in_ansible() {
    let scratch = Scratch::new();
    scratch.write(
        "play.yml",
        r#"- hosts: localhost
  gather_facts: false
  vars:
    d: {name: web, port: 8080}
    items: [1, 2]
  tasks:
    - copy:
        dest: "{{ playbook_dir }}/out"
        content: |
          {{ "%s:%d" % (d.name, d.port) }}
          {{ "%(name)s-%(port)05d" % d }}
          {{ "%.2f%%" % 12.3456 }}
          {{ "%-5s|%5s|" % ("a", "b") }}
          {{ "%s" % items }}
          {{ "%x" % 255 }} {{ 7 % 3 }}
    - debug: msg="{{ '%d' % 'x' }}"
      ignore_errors: true
      register: bad
    - copy:
        dest: "{{ playbook_dir }}/err"
        content: "{{ bad.msg is search('a real number is required, not str') }}"
"#,
    );
    let (code, out, err) = run(&scratch, &["run", "play.yml", "-c", "local"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        scratch.read("out"),
        "web:8080\nweb-08080\n12.35%\na    |    b|\n[1, 2]\nff 1\n",
        "the bytes ansible-playbook 2.19 writes"
    );
    assert_eq!(scratch.read("err"), "True", "Python's error, and str(True)");
}

#[test]
fn local_tasks_see_the_open_files_limit_bosun_was_started_with() {
    let scratch = Scratch::new();
    let bosun = assert_cmd::cargo::cargo_bin("bosun");
    // bosun lifts its own soft limit to the hard one; its local commands get the
    // soft limit back.
    let output = std::process::Command::new("sh")
        .current_dir(scratch.path())
        .env("NO_COLOR", "1")
        .args([
            "-c",
            "ulimit -S -n 512 && exec \"$0\" -m shell -a 'ulimit -Sn' localhost -c local -i localhost,",
        ])
        .arg(&bosun)
        .output()
        .expect("sh runs bosun");
    let out = stdout(&output);
    assert!(output.status.success(), "{out}{}", stderr(&output));
    assert!(out.contains("CHANGED | rc=0 >>\n512"), "{out}");
}

#[test]
fn an_unnamed_task_is_shown_by_its_action_as_written() {
    let scratch = Scratch::new();
    scratch.write("roles/r/tasks/main.yml", "- debug: msg=r\n");
    scratch.write(
        "unnamed.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars: {m: debug}
  tasks:
    - ansible.builtin.include_role: {name: r}
    - action: "{{ m }} msg=hi"
    - local_action: command echo
    - ansible.builtin.set_fact: {x: 1}
    - ansible.legacy.debug: msg=x
    - block:
        - ansible.builtin.debug: msg=y
"#,
    );
    let (code, out, err) = run(&scratch, &["run", "unnamed.yml"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let banners: Vec<&str> = out.lines().filter(|l| l.starts_with("TASK [")).collect();
    // Read off ansible-playbook 2.19 running the same playbook.
    let expected = [
        "ansible.builtin.include_role : r",
        "r : debug",
        "{{ m }}",
        "command",
        "ansible.builtin.set_fact",
        "ansible.legacy.debug",
        "ansible.builtin.debug",
    ];
    assert_eq!(banners.len(), expected.len(), "{out}");
    for (banner, name) in banners.iter().zip(expected) {
        assert!(banner.starts_with(&format!("TASK [{name}] ")), "{banner}");
    }
}

#[test]
fn double_verbose_names_the_playbook_and_where_each_task_was_written() {
    let scratch = Scratch::new();
    scratch.write(
        "paths.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=one\n",
    );
    let (code, out, err) = run(&scratch, &["run", "paths.yml", "-vv"]);
    assert_eq!(code, 0, "{out}{err}");
    let playbook = std::path::absolute(scratch.path().join("paths.yml")).expect("a path");
    let lines: Vec<&str> = out.lines().collect();
    let at = |text: &str| lines.iter().position(|l| l.starts_with(text));
    // ansible-playbook 2.19 -vv, line for line.
    let banner = at("PLAYBOOK: paths.yml ****").expect("the PLAYBOOK banner");
    assert_eq!(lines[banner + 1], "1 plays in paths.yml");
    let task = at("TASK [debug] ****").expect("the task banner");
    assert_eq!(
        lines[task + 1],
        format!("task path: {}:4", playbook.display())
    );
    let (_, plain, _) = run(&scratch, &["run", "paths.yml", "-v"]);
    assert!(
        !plain.contains("task path:") && !plain.contains("PLAYBOOK:"),
        "{plain}"
    );
}

#[test]
fn invocation_shows_every_argument_but_never_a_secret_one() {
    let scratch = Scratch::new();
    scratch.write(
        "secret.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - user: {name: bosun-argtest, password: "$6$salt$SECRET-HASH"}
      check_mode: true
"#,
    );
    for args in [
        &["run", "secret.yml", "--output", "json"][..],
        &["run", "secret.yml", "-vvv"],
    ] {
        let (code, out, err) = run(&scratch, args);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            !out.contains("SECRET-HASH") && !err.contains("SECRET-HASH"),
            "{out}"
        );
        assert!(out.contains("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"), "{out}");
        assert!(out.contains("\"update_password\": \"always\""), "{out}");
    }
    let (_, out, _) = run(&scratch, &["run", "secret.yml", "-vv"]);
    assert!(!out.contains("\"invocation\""), "only -vvv shows it: {out}");
}

#[test]
fn set_stats_are_added_up_and_shown_after_the_recap_when_asked() {
    let scratch = Scratch::new();
    scratch.write(
        "stats.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - set_stats: {data: {a: 1, l: [1]}}
    - set_stats: {data: {a: 2, l: [2]}}
    - set_stats: {data: {mine: x}, per_host: true}
    - set_stats: {data: {never: 1}}
      when: false
"#,
    );
    let (_, plain, _) = run(&scratch, &["run", "stats.yml"]);
    assert!(!plain.contains("CUSTOM STATS"), "{plain}");
    let show = [("ANSIBLE_SHOW_CUSTOM_STATS", std::path::Path::new("true"))];
    let output = scratch.bosun_with(&["run", "stats.yml"], &show);
    let out = stdout(&output);
    // ansible-playbook 2.19 with ANSIBLE_SHOW_CUSTOM_STATS=1, line for line.
    let tail: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("CUSTOM STATS: "))
        .collect();
    assert_eq!(
        tail,
        [
            "CUSTOM STATS: ******************************************************************",
            "\tlocalhost: { \"mine\": \"x\"}",
            "",
            "\tRUN: { \"a\": 3, \"l\": [  1,  2 ]}",
            "",
        ],
        "{out}"
    );
    let output = scratch.bosun_with(&["run", "stats.yml", "--output", "json"], &show);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(
        doc["custom_stats"],
        serde_json::json!({"localhost": {"mine": "x"}})
    );
    assert_eq!(
        doc["global_custom_stats"],
        serde_json::json!({"a": 3, "l": [1, 2]})
    );
}

#[test]
fn a_registered_result_keeps_its_invocation_as_data_not_a_template() {
    let scratch = Scratch::new();
    scratch.write("t.j2", "plain\n");
    scratch.write(
        "reg.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - template: {src: t.j2, dest: \"{{ playbook_dir }}/t.out\"}\n      register: single\n    - template: {src: t.j2, dest: \"{{ playbook_dir }}/t2.out\"}\n      register: looped\n      loop: [1]\n    - assert:\n        that:\n          - single is changed\n          - looped is changed\n          - single.invocation is not defined\n          - looped.results[0].invocation.module_args.block_end_string == '%' ~ '}'\n",
    );
    // template's invocation holds its default delimiters; reading the registered
    // variable must not render them (check_mode's conformance target caught it). As in
    // Ansible, a loop item keeps its invocation and the task's own is not kept.
    let (code, out, err) = run(&scratch, &["run", "reg.yml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok=3    changed=2"), "{out}");
}

#[test]
fn an_unknown_argument_fails_only_the_task_that_runs_as_in_ansible() {
    let scratch = Scratch::new();
    let dest = scratch.path().join("out.txt");
    scratch.write(
        "play.yml",
        &format!(
            "- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {{content: x, dest: {dest}, option_of_a_newer_ansible: 1}}
      when: false
    - copy: {{content: x, dest: {dest}, _diff_peek: true, zzz: 2}}
      register: r
      ignore_errors: true
    - copy: {{content: written, dest: {dest}}}
",
            dest = dest.display()
        ),
    );
    let (code, out, err) = run(&scratch, &["run", "play.yml", "-c", "local"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "Unsupported parameters for (copy) module: _diff_peek, zzz. Supported parameters include: "
        ),
        "{out}"
    );
    assert!(
        recap_line(&out, "localhost").contains("skipped=1 "),
        "{out}"
    );
    assert!(recap_line(&out, "localhost").contains("ignored=1"), "{out}");
    assert_eq!(std::fs::read_to_string(&dest).expect("written"), "written");
}

#[test]
fn copy_and_template_mode_preserve_take_the_sources_mode_as_ansible_does() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    let src = scratch.write("src547", "foo.txt\n");
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o547)).expect("chmod");
    let template = scratch.write("t750.j2", "v={{ 1 + 1 }}\n");
    std::fs::set_permissions(&template, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let deep = scratch.write("tree/sub/b", "b");
    std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o604)).expect("chmod");
    let at = |name: &str| scratch.path().join(name).display().to_string();
    scratch.write(
        "play.yml",
        &format!(
            "- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {{src: {src}, dest: {p1}, mode: preserve}}
    - copy: {{src: {p1}, dest: {p2}, mode: preserve, remote_src: true}}
    - copy: {{content: x, dest: {p3}, mode: preserve}}
    - template: {{src: {template}, dest: {p4}, mode: preserve}}
    - copy: {{src: {tree}/, dest: {p5}/, mode: preserve}}
",
            src = src.display(),
            p1 = at("p1"),
            p2 = at("p2"),
            p3 = at("p3"),
            p4 = at("p4"),
            template = template.display(),
            tree = at("tree"),
            p5 = at("p5"),
        ),
    );
    let (code, out, err) = run(&scratch, &["run", "play.yml", "-c", "local"]);
    assert_eq!(code, 0, "{out}{err}");
    // ansible-playbook 2.19.14 leaves 0547, 0547, 0600 (its content goes through a
    // temporary file first), 0750, and in a recursive copy each file's own.
    let mode = |name: &str| {
        let meta = std::fs::metadata(scratch.path().join(name)).expect("copied");
        format!("{:o}", meta.permissions().mode() & 0o7777)
    };
    assert_eq!(
        [
            mode("p1"),
            mode("p2"),
            mode("p3"),
            mode("p4"),
            mode("p5/sub/b")
        ],
        ["547", "547", "600", "750", "604"]
    );
    let (code, out, _) = run(&scratch, &["run", "play.yml", "-c", "local"]);
    assert_eq!(code, 0);
    assert!(recap_line(&out, "localhost").contains("changed=0"), "{out}");
}

/// At -v a result is shown, but never gathered facts: Ansible's setup forbids it
/// (`_ansible_verbose_override`), for the implicit gathering and a `setup` task alike.
#[test]
fn verbose_output_never_shows_gathered_facts() {
    let scratch = Scratch::new();
    scratch.write(
        "play.yml",
        "- hosts: localhost\n  gather_facts: true\n  gather_subset: [min]\n  tasks:\n    \
         - setup:\n        gather_subset: [min]\n    - command: echo shown\n",
    );
    let (code, out, err) = run(&scratch, &["run", "play.yml", "-c", "local", "-v"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("ansible_facts"), "{out}");
    assert!(
        out.contains("\"stdout\": \"shown\""),
        "-v shows other results:\n{out}"
    );
    assert_eq!(out.matches("ok: [localhost]\n").count(), 2, "{out}");
}

//! An Ansible user's project as they have it: an ansible.cfg, `ANSIBLE_*` variables,
//! the flags they type. bosun runs it with no bosun-specific change, and the effects
//! (files the play writes, roles found through roles_path) prove each setting.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Scratch, recap_line, stderr, stdout};

/// bosun run in `dir` with `HOME` in the scratch directory (so no ~/.ansible.cfg of
/// the machine counts), `env` added, and `input` on its standard input.
fn bosun_in(
    scratch: &Scratch,
    dir: &str,
    args: &[&str],
    env: &[(&str, &str)],
    input: &str,
) -> Output {
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut command: Command = scratch.bosun_command(args, &[("HOME", &home)]);
    command
        .current_dir(scratch.path().join(dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("bosun starts");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("answers written");
    }
    child.wait_with_output().expect("bosun runs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A project with an ansible.cfg naming its inventory and a shared roles directory
/// outside it (relative to the ansible.cfg, as Ansible resolves it).
fn ansible_project(scratch: &Scratch) {
    scratch.write(
        "project/ansible.cfg",
        "[defaults]\n\
         inventory = inventory/hosts.ini\n\
         roles_path = ../shared-roles ; roles the team shares\n\
         retry_files_enabled = True\n\
         some_future_setting = accepted\n\
         [ssh_connection]\n\
         pipelining = True\n\
         control_path = %(directory)s/%%h\n\
         directory = /tmp\n",
    );
    scratch.write(
        "project/inventory/hosts.ini",
        "[app]\nlocalhost ansible_connection=local\n",
    );
    scratch.write(
        "shared-roles/greeter/tasks/main.yml",
        "- name: greet\n  copy:\n    dest: \"{{ out }}/greeting\"\n    content: \"{{ greeting }} {{ who }} from {{ ansible_forks }} forks, {{ 'facts' if ansible_hostname is defined else 'no facts' }}\\n\"\n",
    );
    scratch.write(
        "project/site.yml",
        "- hosts: app\n  roles:\n    - greeter\n",
    );
    scratch.write("project/extra.yml", "who: world\n");
}

#[test]
fn an_ansible_project_runs_as_ansible_runs_it() {
    let scratch = Scratch::new();
    ansible_project(&scratch);
    let out = scratch.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let out_var = format!("{{\"out\": \"{}\"}}", out.display());
    let output = bosun_in(
        &scratch,
        "project",
        &[
            "run",
            "site.yml",
            "-e",
            "greeting=hi",
            "-e",
            "@extra.yml",
            "-e",
            &out_var,
            "-e",
            "greeting=hello",
        ],
        &[("ANSIBLE_FORKS", "3"), ("ANSIBLE_GATHERING", "explicit")],
        "",
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert_eq!(
        read(&out.join("greeting")),
        "hello world from 3 forks, no facts\n",
        "the role came from roles_path, -e merged (last wins), forks from ANSIBLE_FORKS, no facts under gathering=explicit"
    );
    assert!(text.contains("TASK [greeter : greet]"), "{text}");
}

#[test]
fn the_environment_wins_over_ansible_cfg_and_the_command_line_over_both() {
    let scratch = Scratch::new();
    ansible_project(&scratch);
    scratch.write(
        "elsewhere/hosts.ini",
        "[app]\nlocalhost ansible_connection=local\nghost ansible_host=192.0.2.1\n",
    );
    let inventory = scratch.path().join("elsewhere/hosts.ini");
    let list = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["run", "site.yml", "--list-hosts"];
        all.extend_from_slice(args);
        stdout(&bosun_in(&scratch, "project", &all, env, ""))
    };
    assert!(list(&[], &[]).contains("hosts (1):"));
    let from_env = list(
        &[("ANSIBLE_INVENTORY", inventory.to_str().expect("utf-8"))],
        &[],
    );
    assert!(from_env.contains("hosts (2):"), "{from_env}");
    let from_cli = list(
        &[("ANSIBLE_INVENTORY", inventory.to_str().expect("utf-8"))],
        &["-i", "inventory/hosts.ini"],
    );
    assert!(from_cli.contains("hosts (1):"), "{from_cli}");
}

#[test]
fn config_dump_shows_which_file_and_where_each_value_came_from() {
    let scratch = Scratch::new();
    ansible_project(&scratch);
    let output = bosun_in(
        &scratch,
        "project",
        &["config", "dump", "--only-changed"],
        &[("ANSIBLE_TIMEOUT", "3")],
        "",
    );
    let text = stdout(&output);
    let cfg = scratch.path().join("project/ansible.cfg");
    let cfg = cfg.display();
    let project = scratch.path().join("project");
    assert!(
        text.contains(&format!("\nCONFIG_FILE() = {cfg}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "DEFAULT_HOST_LIST({cfg}) = ['{}/inventory/hosts.ini']\n",
            project.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "DEFAULT_ROLES_PATH({cfg}) = ['{}/shared-roles']\n",
            scratch.path().display()
        )),
        "{text}"
    );
    assert!(
        text.contains("DEFAULT_TIMEOUT(env: ANSIBLE_TIMEOUT) = 3\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("control_path({cfg}) = /tmp/%h  # bosun: ignored")),
        "interpolated as configparser does, and marked as ignored: {text}"
    );
    assert!(
        !text.contains("some_future_setting"),
        "unknown keys are ignored: {text}"
    );
    let view = stdout(&bosun_in(&scratch, "project", &["config", "view"], &[], ""));
    assert_eq!(view, read(&scratch.path().join("project/ansible.cfg")));
}

#[test]
fn ansible_config_names_the_file_and_a_world_writable_directory_is_not_trusted() {
    let scratch = Scratch::new();
    scratch.write("team/ansible.cfg", "[defaults]\nforks = 9\n");
    scratch.write("public/ansible.cfg", "[defaults]\nforks = 4\n");
    use std::os::unix::fs::PermissionsExt;
    let public = scratch.path().join("public");
    std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let output = bosun_in(
        &scratch,
        "public",
        &["config", "dump", "--only-changed"],
        &[],
        "",
    );
    assert!(
        stdout(&output).contains("\nCONFIG_FILE() = None\n"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains(&format!(
            "[WARNING]: Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source.",
            public.display()
        )),
        "{}",
        stderr(&output)
    );
    let team = scratch.path().join("team");
    let output = bosun_in(
        &scratch,
        "public",
        &["config", "dump", "--only-changed"],
        &[("ANSIBLE_CONFIG", team.to_str().expect("utf-8"))],
        "",
    );
    assert!(
        stdout(&output).contains(&format!(
            "DEFAULT_FORKS({}/ansible.cfg) = 9",
            team.display()
        )),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bosun_toml_is_read_on_top_of_ansible_cfg_with_a_warning() {
    let scratch = Scratch::new();
    scratch.write("p/ansible.cfg", "[defaults]\nforks = 9\ntimeout = 7\n");
    scratch.write("p/bosun.toml", "forks = 11\n");
    let output = bosun_in(
        &scratch,
        "p",
        &["config", "dump", "--only-changed"],
        &[],
        "",
    );
    let text = stdout(&output);
    assert!(
        text.contains("bosun.toml) = 11") && text.contains("DEFAULT_TIMEOUT("),
        "{text}"
    );
    assert!(
        stderr(&output)
            .contains("bosun.toml's settings win over the same settings in the ansible.cfg"),
        "{}",
        stderr(&output)
    );
    scratch.write("p/bosun.toml", "frks = 11\n");
    let output = bosun_in(&scratch, "p", &["config", "dump"], &[], "");
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("did you mean 'forks'?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn retry_files_and_limit_at_file() {
    let scratch = Scratch::new();
    ansible_project(&scratch);
    scratch.write(
        "project/inventory/hosts.ini",
        "[app]\nweb1 ansible_connection=local\nweb2 ansible_connection=local\nweb3 ansible_connection=local\n",
    );
    scratch.write(
        "project/flaky.yml",
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - fail: msg=down\n      when: inventory_hostname != 'web2'\n    - file:\n        path: \"{{ playbook_dir }}/ran-{{ inventory_hostname }}\"\n        state: touch\n",
    );
    let output = bosun_in(&scratch, "project", &["run", "flaky.yml"], &[], "");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    let retry = scratch.path().join("project/flaky.retry");
    assert_eq!(read(&retry), "web1\nweb3\n");
    assert!(
        text.contains(&format!(
            "\tto retry, use: --limit @{}\n\nPLAY RECAP",
            retry.display()
        )),
        "{text}"
    );
    let project = scratch.path().join("project");
    assert!(project.join("ran-web2").exists(), "web2 did not fail");
    std::fs::remove_file(project.join("ran-web2")).expect("rm");
    scratch.write(
        "project/flaky.yml",
        &read(&project.join("flaky.yml"))
            .replace("when: inventory_hostname != 'web2'", "when: false"),
    );
    let output = bosun_in(
        &scratch,
        "project",
        &["run", "flaky.yml", "-l", "web2", "--limit", "@flaky.retry"],
        &[],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(project.join("ran-web1").exists() && project.join("ran-web3").exists());
    assert!(!project.join("ran-web2").exists(), "the last --limit wins");
    let missing = bosun_in(
        &scratch,
        "project",
        &["run", "flaky.yml", "--limit", "@nope.retry"],
        &[],
        "",
    );
    assert!(stderr(&missing).contains("Unable to find limit file b'nope.retry'"));
}

#[test]
fn force_handlers_runs_notified_handlers_after_a_failure() {
    let scratch = Scratch::new();
    scratch.write(
        "p/site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      notify: mark\n    - fail: msg=stop\n  handlers:\n    - name: mark\n      file:\n        path: \"{{ playbook_dir }}/handled\"\n        state: touch\n",
    );
    let handled = scratch.path().join("p/handled");
    bosun_in(&scratch, "p", &["run", "site.yml", "-c", "local"], &[], "");
    assert!(
        !handled.exists(),
        "without --force-handlers a failed host runs no handler"
    );
    let output = bosun_in(
        &scratch,
        "p",
        &["run", "site.yml", "-c", "local", "--force-handlers"],
        &[],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(handled.exists(), "{}", stdout(&output));
    std::fs::remove_file(&handled).expect("rm");
    bosun_in(
        &scratch,
        "p",
        &["run", "site.yml", "-c", "local"],
        &[("ANSIBLE_FORCE_HANDLERS", "yes")],
        "",
    );
    assert!(handled.exists(), "force_handlers from the environment");
}

#[test]
fn step_asks_before_each_task() {
    let scratch = Scratch::new();
    scratch.write(
        "p/site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: first\n      file: path={{ playbook_dir }}/first state=touch\n    - name: second\n      file: path={{ playbook_dir }}/second state=touch\n    - name: third\n      file: path={{ playbook_dir }}/third state=touch\n    - name: fourth\n      file: path={{ playbook_dir }}/fourth state=touch\n",
    );
    let output = bosun_in(
        &scratch,
        "p",
        &["run", "site.yml", "-c", "local", "--step"],
        &[],
        "y\nn\nc\n",
    );
    let text = stdout(&output);
    let p = scratch.path().join("p");
    assert!(
        p.join("first").exists() && !p.join("second").exists(),
        "{text}"
    );
    assert!(
        p.join("third").exists() && p.join("fourth").exists(),
        "c runs the rest without asking: {text}"
    );
    assert!(
        text.contains("Perform task: TASK: first (N)o/(y)es/(c)ontinue: \nPerform task: TASK: first (N)o/(y)es/(c)ontinue: ****"),
        "{text}"
    );
    assert!(!text.contains("TASK: fourth (N)o"), "{text}");
    assert!(!text.contains("TASK [second]"), "{text}");
}

#[test]
fn module_path_flag_finds_drop_in_modules() {
    let scratch = Scratch::new();
    scratch.write(
        "lib/hello",
        "#!/bin/sh\nprintf '{\"changed\": true, \"msg\": \"hello from the library\"}'\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        scratch.path().join("lib/hello"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    scratch.write("p/site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - hello:\n      register: said\n    - copy:\n        dest: \"{{ playbook_dir }}/said\"\n        content: \"{{ said.msg }}\"\n");
    let lib = scratch.path().join("lib");
    let output = bosun_in(
        &scratch,
        "p",
        &[
            "run",
            "site.yml",
            "-c",
            "local",
            "-M",
            lib.to_str().expect("utf-8"),
        ],
        &[],
        "",
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(
        read(&scratch.path().join("p/said")),
        "hello from the library"
    );
}

#[test]
fn output_settings_choose_the_callback_and_timings() {
    let scratch = Scratch::new();
    scratch.write(
        "p/site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo hi\n    - debug: msg=skipped\n      when: false\n",
    );
    let run = |env: &[(&str, &str)]| {
        stdout(&bosun_in(
            &scratch,
            "p",
            &["run", "site.yml", "-c", "local"],
            env,
            "",
        ))
    };
    assert_eq!(
        run(&[("ANSIBLE_STDOUT_CALLBACK", "oneline")]),
        "localhost | CHANGED | rc=0 | (stdout) hi\nlocalhost | SKIPPED\n"
    );
    let hidden = run(&[("ANSIBLE_DISPLAY_SKIPPED_HOSTS", "false")]);
    assert!(
        !hidden.contains("skipping:") && !hidden.contains("TASK [debug]"),
        "{hidden}"
    );
    let timed = run(&[(
        "ANSIBLE_CALLBACKS_ENABLED",
        "ansible.posix.profile_tasks, timer",
    )]);
    let recap = timed.find("PLAY RECAP").expect("recap");
    let summary = &timed[recap..];
    assert!(summary.contains("\n===================="), "{timed}");
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("command ---") && l.ends_with('s')),
        "{timed}"
    );
    assert!(
        summary.contains("Playbook run took 0 days, 0 hours, 0 minutes, "),
        "{timed}"
    );
    let yaml = bosun_in(
        &scratch,
        "p",
        &["run", "site.yml"],
        &[("ANSIBLE_STDOUT_CALLBACK", "yaml")],
        "",
    );
    assert_ne!(yaml.status.code(), Some(0));
    assert!(
        stderr(&yaml).contains("Could not load 'yaml' callback plugin"),
        "{}",
        stderr(&yaml)
    );
}

#[test]
fn list_tasks_names_unnamed_plays_by_their_hosts_and_renders_names() {
    let scratch = Scratch::new();
    scratch.write(
        "p/site.yml",
        "- hosts: localhost\n  tasks:\n    - debug: msg=hi\n- name: \"{{ stage }} {{ what }}\"\n  hosts: localhost\n  vars:\n    what: web\n  tasks: []\n",
    );
    let args = ["run", "site.yml", "--list-tasks", "-e", "stage=prod"];
    let text = stdout(&bosun_in(&scratch, "p", &args, &[], ""));
    assert!(
        text.contains("  play #1 (localhost): localhost\tTAGS: []"),
        "{text}"
    );
    assert!(
        text.contains("  play #2 (localhost): prod web\tTAGS: []"),
        "{text}"
    );
}

#[test]
fn a_playbook_given_as_a_pattern_or_a_mistyped_command_gets_the_command_meant() {
    let scratch = Scratch::new();
    scratch.write("p/site.yml", "- hosts: localhost\n  tasks: []\n");
    let output = bosun_in(&scratch, "p", &["site.yml", "-i", "hosts"], &[], "");
    assert_eq!(output.status.code(), Some(5));
    assert!(
        stderr(&output).contains("'site.yml' looks like a playbook, not a host pattern: did you mean `bosun run site.yml -i hosts`?"),
        "{}",
        stderr(&output)
    );
    let output = bosun_in(&scratch, "p", &["rn", "site.yml"], &[], "");
    assert_eq!(output.status.code(), Some(5));
    assert!(
        stderr(&output).contains("unknown command 'rn': did you mean `bosun run site.yml`?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn doc_and_completions() {
    let scratch = Scratch::new();
    let doc = stdout(&scratch.bosun(&["doc", "sysctl"]));
    assert!(doc.starts_with("> MODULE ansible.builtin.sysctl"), "{doc}");
    assert!(
        doc.contains("= name\n") && doc.contains("choices: [present, absent]"),
        "{doc}"
    );
    let list = stdout(&scratch.bosun(&["doc", "--list"]));
    assert!(
        list.lines().any(|l| l.starts_with("ansible.builtin.copy ")),
        "{list}"
    );
    let missing = scratch.bosun(&["doc", "sysclt"]);
    assert!(stderr(&missing).contains("Did you mean 'sysctl'?"));
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&scratch.bosun(&["completions", shell]));
        assert!(
            script.contains("inventory") && script.contains("force-handlers"),
            "{shell}"
        );
    }
}

#[test]
fn connection_flags_are_accepted_and_the_last_one_wins() {
    let scratch = Scratch::new();
    scratch.write("p/site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: \"{{ playbook_dir }}/ran\"\n        content: ok\n");
    let output = bosun_in(
        &scratch,
        "p",
        &[
            "run",
            "site.yml",
            "-c",
            "ssh",
            "-c",
            "local",
            "-T",
            "5",
            "--timeout",
            "7",
            "--ssh-common-args",
            "-o ConnectTimeout=3",
            "--ssh-extra-args",
            "-o ServerAliveInterval=5",
            "--scp-extra-args",
            "-l 100",
            "--sftp-extra-args",
            "-l 100",
            "--become-method",
            "su",
            "--become-user",
            "nobody",
            "--flush-cache",
            "-f",
            "2",
            "-f",
            "1",
        ],
        &[],
        "",
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(recap_line(&stdout(&output), "localhost").contains("changed=1"));
}

#[test]
fn become_settings_come_from_privilege_escalation_and_the_flags_win() {
    let scratch = Scratch::new();
    scratch.write(
        "p/ansible.cfg",
        "[privilege_escalation]\nbecome = yes\nbecome_method = from-file\n",
    );
    scratch.write(
        "p/site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: id\n",
    );
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["run", "site.yml", "-c", "local"];
        all.extend_from_slice(args);
        stdout(&bosun_in(&scratch, "p", &all, env, ""))
    };
    assert!(run(&[], &[]).contains("become_method 'from-file' is not supported"));
    let env = [("ANSIBLE_BECOME_METHOD", "from-env")];
    assert!(run(&env, &[]).contains("become_method 'from-env' is not supported"));
    assert!(
        run(&env, &["--become-method", "from-flag"])
            .contains("become_method 'from-flag' is not supported")
    );
    assert!(run(&[("ANSIBLE_BECOME", "no")], &[]).contains("changed: [localhost]"));
}

#[test]
fn password_files_are_read_as_ansible_reads_them() {
    let scratch = Scratch::new();
    scratch.write(
        "p/site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks: []\n",
    );
    scratch.write("p/empty", "\n");
    let run = |args: &[&str]| {
        let mut all = vec!["run", "site.yml", "-c", "local"];
        all.extend_from_slice(args);
        bosun_in(&scratch, "p", &all, &[], "")
    };
    let missing = run(&["--become-password-file", "nope"]);
    assert!(
        stderr(&missing).contains("The password file nope was not found"),
        "{}",
        stderr(&missing)
    );
    let empty = run(&["--connection-password-file", "empty"]);
    assert!(
        stderr(&empty).contains("Empty password was provided from file (empty)"),
        "{}",
        stderr(&empty)
    );
    scratch.write("p/pw", "s3cret\n");
    assert_eq!(run(&["--become-pass-file", "pw"]).status.code(), Some(0));
}

#[test]
fn colors_come_from_the_colors_section_when_colour_is_forced() {
    let scratch = Scratch::new();
    scratch.write(
        "p/ansible.cfg",
        "[defaults]\nforce_color = yes\n[colors]\nchanged = color33\n",
    );
    scratch.write(
        "p/site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo hi\n",
    );
    let text = stdout(&bosun_in(
        &scratch,
        "p",
        &["run", "site.yml", "-c", "local"],
        &[],
        "",
    ));
    assert!(
        text.contains("\x1b[38;5;33mchanged: [localhost]\x1b[0m"),
        "{text:?}"
    );
    let plain = stdout(&bosun_in(
        &scratch,
        "p",
        &["run", "site.yml", "-c", "local"],
        &[("ANSIBLE_FORCE_COLOR", "no")],
        "",
    ));
    assert!(
        plain.contains("\nchanged: [localhost]\n"),
        "no colour without a terminal: {plain:?}"
    );
}

#[test]
fn ad_hoc_playbook_dir_brings_its_group_vars() {
    let scratch = Scratch::new();
    scratch.write(
        "site/group_vars/all.yml",
        "greeting: from the playbook dir\n",
    );
    std::fs::create_dir_all(scratch.path().join("p")).expect("p");
    let args = [
        "localhost",
        "-c",
        "local",
        "-m",
        "debug",
        "-a",
        "var=greeting",
        "--playbook-dir",
        "../site",
    ];
    let output = bosun_in(&scratch, "p", &args, &[], "");
    assert_eq!(
        stdout(&output),
        "localhost | SUCCESS => {\n    \"greeting\": \"from the playbook dir\"\n}\n"
    );
}

#[test]
fn hash_behaviour_merge_merges_dictionaries_across_every_variable_layer() {
    let scratch = Scratch::new();
    scratch.write(
        "p/one.yml",
        "all:\n  hosts:\n    h1:\n      ansible_connection: local\n      d: {from_one: 1, shared: one}\n",
    );
    scratch.write(
        "p/two.yml",
        "all:\n  hosts:\n    h1:\n      d: {from_two: 2, shared: two}\n",
    );
    scratch.write(
        "p/group_vars/all.yml",
        "d: {from_group: 0, shared: group}\n",
    );
    scratch.write(
        "p/play.yml",
        "- hosts: h1\n  gather_facts: false\n  vars:\n    d: {from_play: 3, deep: {a: 1}}\n  tasks:\n    - copy:\n        content: \"{{ d | to_json }}\"\n        dest: \"{{ out }}\"\n",
    );
    let out = scratch.path().join("d.json");
    let out_var = format!("out={}", out.display());
    let extra = r#"{"d": {"deep": {"b": 2}}}"#;
    let args = [
        "run", "play.yml", "-i", "one.yml", "-i", "two.yml", "-e", &out_var, "-e", extra,
    ];
    let merged = bosun_in(
        &scratch,
        "p",
        &args,
        &[("ANSIBLE_HASH_BEHAVIOUR", "merge")],
        "",
    );
    assert_eq!(merged.status.code(), Some(0), "{}", stdout(&merged));
    let written: serde_json::Value = serde_json::from_str(&read(&out)).expect("JSON");
    assert_eq!(
        written,
        serde_json::json!({"from_group": 0, "from_one": 1, "from_two": 2, "shared": "two",
            "from_play": 3, "deep": {"a": 1, "b": 2}})
    );

    let replaced = bosun_in(&scratch, "p", &args, &[], "");
    assert_eq!(replaced.status.code(), Some(0), "{}", stdout(&replaced));
    let written: serde_json::Value = serde_json::from_str(&read(&out)).expect("JSON");
    assert_eq!(
        written,
        serde_json::json!({"deep": {"b": 2}}),
        "replace is the default"
    );

    let bogus = bosun_in(
        &scratch,
        "p",
        &args,
        &[("ANSIBLE_HASH_BEHAVIOUR", "bogus")],
        "",
    );
    assert_ne!(bogus.status.code(), Some(0));
    assert!(
        stderr(&bogus).contains("Invalid value 'bogus' for config 'DEFAULT_HASH_BEHAVIOUR'. Valid values are: replace, merge"),
        "{}",
        stderr(&bogus)
    );
}

#[test]
fn a_project_with_an_inventory_script_a_constructed_group_and_a_vault_password_file() {
    let scratch = Scratch::new();
    scratch.write(
        "project/ansible.cfg",
        "[defaults]\ninventory = inventory/\nvault_password_file = vault-pass.txt\nroles_path = roles\n",
    );
    scratch.write(
        "project/inventory/01-hosts.ini",
        "[app]\nlocalhost ansible_connection=local\n",
    );
    scratch.write_executable(
        "project/inventory/02-cloud.sh",
        "#!/bin/sh\n[ \"$1\" = --list ] && echo '{\"cloud\": {\"hosts\": [\"localhost\"], \"vars\": {\"region\": \"eu\"}}, \"_meta\": {\"hostvars\": {}}}'\n",
    );
    scratch.write(
        "project/inventory/03-constructed.yml",
        "plugin: ansible.builtin.constructed\ngroups:\n  in_eu: region == 'eu'\ncompose:\n  site_name: \"'site-' ~ region\"\n",
    );
    scratch.write("project/vault-pass.txt", "team-password\n");
    scratch.write(
        "project/group_vars/all/vault.yml",
        "secret_word: swordfish\n",
    );
    let encrypted = bosun_in(
        &scratch,
        "project",
        &["vault", "encrypt", "group_vars/all/vault.yml"],
        &[],
        "",
    );
    assert!(encrypted.status.success(), "{}", stderr(&encrypted));
    assert!(
        read(&scratch.path().join("project/group_vars/all/vault.yml"))
            .starts_with("$ANSIBLE_VAULT;1.1;AES256")
    );
    scratch.write(
        "project/roles/report/tasks/main.yml",
        "- copy:\n    dest: \"{{ playbook_dir }}/report\"\n    content: \"{{ site_name }} {{ secret_word }} {{ group_names | join(',') }}\\n\"\n",
    );
    scratch.write(
        "project/site.yml",
        "- hosts: in_eu\n  gather_facts: false\n  roles: [report]\n",
    );
    let output = bosun_in(&scratch, "project", &["run", "site.yml"], &[], "");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(
        read(&scratch.path().join("project/report")),
        "site-eu swordfish app,cloud,in_eu\n",
        "the script's group and variable, the constructed group and compose, the vaulted group_vars"
    );
}

//! `bosun inventory` and inventories used by runs, with the repository's example
//! inventories (INI and YAML must describe the same hosts).

mod common;

use common::{Scratch, stdout};

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn graph_of_the_example_inventory() {
    let scratch = Scratch::new();
    for file in ["inventory/hosts.ini", "inventory/hosts.yml"] {
        let output = scratch.bosun(&["inventory", "-i", &repo(file), "--graph"]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(
            stdout(&output),
            "@all:\n  |--@ungrouped:\n  |--@stack:\n  |  |--@web:\n  |  |  |--web1\n  |  |  |--web2\n  |  |--@app:\n  |  |  |--app1\n  |  |--@docker:\n  |  |  |--docker1\n",
            "{file}"
        );
    }
}

#[test]
fn host_vars_merge_group_vars_and_inline_literals() {
    let scratch = Scratch::new();
    let output = scratch.bosun(&[
        "inventory",
        "-i",
        &repo("inventory/hosts.ini"),
        "--host",
        "web2",
    ]);
    let vars: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(
        vars["http_port"], 8081,
        "inline values are literals: an int"
    );
    assert_eq!(vars["app_env"], "demo", ":vars values are strings");
    assert_eq!(
        vars["greeting"], "Hello",
        "group_vars/all.yml beside the inventory applies"
    );
}

#[test]
fn list_is_ansible_inventory_json() {
    let scratch = Scratch::new();
    let output = scratch.bosun(&["inventory", "-i", &repo("inventory/hosts.yml"), "--list"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(list["web"]["hosts"], serde_json::json!(["web1", "web2"]));
    assert_eq!(
        list["_meta"]["hostvars"]["app1"]["ansible_connection"],
        "local"
    );
}

#[test]
fn adhoc_over_an_inventory_pattern() {
    let scratch = Scratch::new();
    let output = scratch.bosun(&[
        "-m",
        "ping",
        "web:&stack:!web2",
        "-i",
        &repo("inventory/hosts.ini"),
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "web1 | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"
    );
}

#[test]
fn comma_list_inventory_and_limit() {
    let scratch = Scratch::new();
    scratch.write(
        "play.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: touch {{ lookup('env', 'TARGET') }}/{{ inventory_hostname }}\n",
    );
    let output = scratch.bosun(&[
        "run", "play.yml", "-i", "a,b,c,", "-c", "local", "--limit", "a:c", "-f", "2",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(scratch.path().join("a").exists() && scratch.path().join("c").exists());
    assert!(!scratch.path().join("b").exists(), "--limit excluded b");
}

#[test]
fn unreachable_host_is_reported_and_others_go_on() {
    let scratch = Scratch::new();
    scratch.write(
        "play.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: touch {{ lookup('env', 'TARGET') }}/{{ inventory_hostname }}\n",
    );
    scratch.write(
        "hosts.ini",
        "good ansible_connection=local\nbad ansible_host=127.0.0.1 ansible_port=1\n",
    );
    let output = scratch.bosun(&["run", "play.yml", "-i", "hosts.ini"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(4), "{out}");
    assert!(out.contains("fatal: [bad]: UNREACHABLE! =>"), "{out}");
    assert!(scratch.path().join("good").exists());
    assert!(
        common::recap_line(&out, "bad").contains("unreachable=1"),
        "{out}"
    );
}

#[test]
fn a_missing_inventory_source_is_a_warning_and_the_run_goes_on_with_localhost() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  connection: local\n  tasks:\n    - copy: {content: x, dest: \"{{ playbook_dir }}/ran\"}\n- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=never\n",
    );
    let output = scratch.bosun(&["run", "-i", "nowhere", "site.yml"]);
    let err = common::stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{}{err}", stdout(&output));
    let nowhere = scratch.path().join("nowhere");
    for warning in [
        format!(
            "[WARNING]: Unable to parse {} as an inventory source",
            nowhere.display()
        ),
        "[WARNING]: No inventory was parsed, only implicit localhost is available".to_string(),
        "[WARNING]: provided hosts list is empty, only localhost is available".to_string(),
    ] {
        assert!(err.contains(&warning), "{warning}\n{err}");
    }
    assert!(
        !err.contains("Could not match supplied host pattern, ignoring: all"),
        "{err}"
    );
    assert!(scratch.path().join("ran").is_file());
    assert!(stdout(&output).contains("skipping: no hosts matched"));
}

#[test]
fn an_inventory_path_with_commas_is_a_file_when_it_exists() {
    let scratch = Scratch::new();
    scratch.write("a,b,c/hosts", "web1 ansible_connection=local\n");
    scratch.write("a,b,c/group_vars/all.yml", "from_group_vars: here\n");
    let output = scratch.bosun(&["inventory", "-i", "a,b,c/hosts", "--host", "web1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let vars: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(
        vars["from_group_vars"], "here",
        "the directory's group_vars"
    );
    let list = scratch.bosun(&["inventory", "-i", "a,b,c/hosts", "--list"]);
    assert!(
        !stdout(&list).contains("\"a\""),
        "not a host list: {}",
        stdout(&list)
    );
}

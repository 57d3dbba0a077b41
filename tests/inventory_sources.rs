//! Inventory sources beyond INI and YAML files: executable inventory scripts,
//! `constructed` plugin configuration files, `--list --yaml`, and Terraform state.
//! Where the behaviour is Ansible's, bosun's `inventory --list` is compared with
//! `ansible-inventory` from `/work/ansible-venv` (or `BOSUN_ANSIBLE_VENV`); those
//! comparisons are skipped when it is not installed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, stderr, stdout};
use serde_json::{Value as Json, json};

/// `ansible-inventory` from the venv, or `None` (skipped) when it is missing.
fn ansible_inventory() -> Option<PathBuf> {
    let venv = PathBuf::from(
        std::env::var("BOSUN_ANSIBLE_VENV").unwrap_or_else(|_| "/work/ansible-venv".into()),
    );
    let program = venv.join("bin/ansible-inventory");
    if program.exists() {
        Some(program)
    } else {
        eprintln!("skipped: no ansible-inventory at {}", program.display());
        None
    }
}

/// bosun's `inventory ARGS` standard output, which must succeed.
fn bosun_inventory(scratch: &Scratch, args: &[&str]) -> String {
    let mut all = vec!["inventory"];
    all.extend_from_slice(args);
    let output = scratch.bosun(&all);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    stdout(&output)
}

/// Compares `bosun inventory ARGS` with `ansible-inventory ARGS`, run in the
/// scratch directory, byte for byte.
fn assert_same_as_ansible(scratch: &Scratch, args: &[&str]) {
    let Some(program) = ansible_inventory() else {
        return;
    };
    let theirs = Command::new(&program)
        .current_dir(scratch.path())
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
        .env("ANSIBLE_NOCOLOR", "1")
        .args(args)
        .output()
        .expect("ansible-inventory runs");
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let ours = bosun_inventory(scratch, args);
    assert_eq!(
        ours,
        String::from_utf8_lossy(&theirs.stdout),
        "bosun inventory {args:?} differs from ansible-inventory"
    );
}

/// A Python inventory script printing `list` for `--list` and `{"from_host": HOST}`
/// for `--host HOST`.
fn python_script(list: &Json) -> String {
    format!(
        "#!/usr/bin/env python3\nimport json, sys\nif sys.argv[1] == '--list':\n    print(json.dumps({list}))\nelse:\n    print(json.dumps({{'from_host': sys.argv[2]}}))\n",
        list = serde_json::to_string(&serde_json::to_string(list).expect("json"))
            .map(|quoted| format!("json.loads({quoted})"))
            .expect("json"),
    )
}

/// The `--list` output of a script with groups of every form and `_meta`.
fn grouped_list() -> Json {
    json!({
        "web": {"hosts": ["w1", "w2"], "vars": {"http_port": 80}, "children": ["edge"]},
        "edge": ["e1"],
        "db": {"hosts": ["d1"], "vars": {"ansible_group_priority": 5, "tier": "back"}},
        "all": {"vars": {"site": "lab"}},
        "_meta": {"hostvars": {"w1": {"x": 1, "nested": {"b": [1, "two"], "a": null}}, "e1": {"y": "two"}}}
    })
}

#[test]
fn a_script_with_meta_lists_as_ansible_lists_it() {
    let scratch = Scratch::new();
    scratch.write_executable("inventory.py", &python_script(&grouped_list()));
    let list: Json = serde_json::from_str(&bosun_inventory(
        &scratch,
        &["-i", "inventory.py", "--list"],
    ))
    .expect("JSON");
    assert_eq!(
        list["web"],
        json!({"children": ["edge"], "hosts": ["w1", "w2"]})
    );
    assert_eq!(list["edge"], json!({"hosts": ["e1"]}));
    assert_eq!(
        list["_meta"]["hostvars"]["e1"],
        json!({"http_port": 80, "site": "lab", "y": "two"})
    );
    assert_same_as_ansible(&scratch, &["-i", "inventory.py", "--list"]);
    assert_same_as_ansible(&scratch, &["-i", "inventory.py", "--list", "--yaml"]);
    assert_same_as_ansible(&scratch, &["-i", "inventory.py", "--graph"]);
}

#[test]
fn without_meta_the_script_is_asked_for_each_host() {
    let scratch = Scratch::new();
    let list = json!({"web": {"hosts": ["w1", "w2"]}, "solo": ["s1"]});
    scratch.write_executable("inventory.py", &python_script(&list));
    let output = scratch.bosun(&["inventory", "-i", "inventory.py", "--host", "w2"]);
    let vars: Json = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(vars, json!({"from_host": "w2"}));
    assert!(
        stderr(&output).contains("Inventory scripts should always provide 'meta.hostvars'"),
        "{}",
        stderr(&output)
    );
    assert_same_as_ansible(&scratch, &["-i", "inventory.py", "--list"]);
}

#[test]
fn script_failures_are_errors_in_ansibles_words() {
    let scratch = Scratch::new();
    let cases = [
        (
            "#!/bin/sh\necho 'no credentials' >&2\nexit 3\n",
            "Inventory script returned non-zero exit code 3.\nStandard error from inventory script:\nno credentials",
        ),
        (
            "#!/bin/sh\necho 'not json'\n",
            "Inventory script result could not be parsed as JSON",
        ),
        (
            "#!/bin/sh\necho '{\"web\": {\"hosts\": \"w1\"}, \"_meta\": {\"hostvars\": {}}}'\n",
            "Value contains 'web.hosts' which is 'str' instead of 'list'.",
        ),
        (
            "#!/bin/sh\necho '{\"_meta\": {}}'\n",
            "Value contains '_meta.hostvars' which is 'NoneType' instead of 'dict'.",
        ),
    ];
    for (index, (script, needle)) in cases.into_iter().enumerate() {
        let name = format!("broken{index}.sh");
        let path = scratch.write_executable(&name, script);
        // As ansible-inventory: a warning, and the run goes on without the source.
        let output = scratch.bosun(&["inventory", "-i", &name, "--list"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{script}");
        assert!(
            err.contains(&format!(
                "[WARNING]: Failed to parse inventory: failed to parse inventory script {}: ",
                path.display()
            )),
            "{err}"
        );
        assert!(err.contains(needle), "{needle}\n{err}");
        assert!(err.contains("as an inventory source"), "{err}");
        let strict = scratch.bosun_with(
            &["inventory", "-i", &name, "--list"],
            &[(
                "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED",
                Path::new("true"),
            )],
        );
        assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
        assert!(
            stderr(&strict).contains("ERROR! Completely failed to parse inventory source"),
            "{}",
            stderr(&strict)
        );
    }
}

#[test]
fn a_directory_runs_its_scripts_and_reads_an_executable_yaml_file_as_yaml() {
    let scratch = Scratch::new();
    scratch.write_executable("inv/10-cloud.py", &python_script(&grouped_list()));
    scratch.write_executable("inv/20-static.yml", "all:\n  hosts:\n    y1:\n      z: 1\n");
    scratch.write("inv/30-hosts.ini", "[ini]\ni1 k=v\n");
    scratch.write("inv/group_vars/web.yml", "from_group_vars: yes\n");
    let list: Json =
        serde_json::from_str(&bosun_inventory(&scratch, &["-i", "inv", "--list"])).expect("JSON");
    assert_eq!(list["_meta"]["hostvars"]["y1"]["z"], 1);
    assert_eq!(list["_meta"]["hostvars"]["w2"]["from_group_vars"], true);
    assert_same_as_ansible(&scratch, &["-i", "inv", "--list"]);
}

/// A static inventory and a `constructed` configuration after it.
fn constructed_project(scratch: &Scratch) {
    scratch.write(
        "inv/01-hosts.yml",
        "all:\n  hosts:\n    w1: {role: web, env: prod, public_ip: 192.0.2.1, labels: {Team: ops, Tier: ''}, os: [debian, linux], n: 3}\n    w2: {role: web, env: '', os: []}\n    d1: {role: db-main, env: staging}\n  children:\n    db:\n      hosts:\n        d1:\n      vars:\n        backup: true\n",
    );
    scratch.write(
        "inv/group_vars/all.yml",
        "not_seen_without_vars_plugins: 1\n",
    );
    scratch.write(
        "inv/02-constructed.yml",
        "plugin: ansible.builtin.constructed\nstrict: false\ncompose:\n  ansible_host: public_ip\n  upper_role: role | upper\n  short: inventory_hostname_short\n  missing: nosuch.attr\ngroups:\n  webservers: role == 'web'\n  big-ones: n is defined and n > 2\n  backed_up: backup | default(false)\n  not_a_bool: n | default(0)\nkeyed_groups:\n  - key: role\n    prefix: role\n  - key: env\n    default_value: none\n    parent_group: envs\n  - key: labels\n    prefix: label\n  - key: labels\n    prefix: lbl\n    trailing_separator: false\n  - key: os\n",
    );
}

#[test]
fn constructed_groups_and_variables_match_ansible() {
    let scratch = Scratch::new();
    constructed_project(&scratch);
    let list: Json =
        serde_json::from_str(&bosun_inventory(&scratch, &["-i", "inv", "--list"])).expect("JSON");
    assert_eq!(list["webservers"]["hosts"], json!(["w1", "w2"]));
    assert_eq!(list["big_ones"]["hosts"], json!(["w1"]));
    assert_eq!(list["backed_up"]["hosts"], json!(["d1"]));
    assert_eq!(list["role_db_main"]["hosts"], json!(["d1"]));
    assert_eq!(
        list["envs"]["children"],
        json!(["_prod", "_none", "_staging"])
    );
    assert_eq!(list["label_Tier_"]["hosts"], json!(["w1"]));
    assert_eq!(list["lbl_Tier"]["hosts"], json!(["w1"]));
    assert!(
        list.get("not_a_bool").is_none(),
        "conditions must be booleans"
    );
    let w1 = &list["_meta"]["hostvars"]["w1"];
    assert_eq!(w1["ansible_host"], "192.0.2.1");
    assert_eq!(w1["upper_role"], json!({"__ansible_unsafe": "WEB"}));
    assert!(w1.get("missing").is_none());
    assert_same_as_ansible(&scratch, &["-i", "inv", "--list"]);
    assert_same_as_ansible(&scratch, &["-i", "inv", "--list", "-y"]);
    assert_same_as_ansible(&scratch, &["-i", "inv", "--graph"]);
}

#[test]
fn constructed_runs_in_source_order_over_several_sources() {
    let scratch = Scratch::new();
    scratch.write("hosts.ini", "a1 size=2\na2 size=5\n");
    scratch.write(
        "sizes.yml",
        "plugin: constructed\nuse_vars_plugins: true\ngroups:\n  large: size | int > 3\n  tagged: tag is defined\n",
    );
    scratch.write("group_vars/ungrouped.yml", "tag: from_group_vars\n");
    scratch.write("later.ini", "[late]\nz1 size=9\n");
    let args = [
        "-i",
        "hosts.ini",
        "-i",
        "sizes.yml",
        "-i",
        "later.ini",
        "--list",
    ];
    let list: Json = serde_json::from_str(&bosun_inventory(&scratch, &args)).expect("JSON");
    assert_eq!(list["large"]["hosts"], json!(["a2"]), "z1 came after");
    assert_eq!(list["tagged"]["hosts"], json!(["a1", "a2"]));
    assert_same_as_ansible(&scratch, &args);
}

#[test]
fn strict_constructed_stops_on_the_first_expression_that_fails() {
    let scratch = Scratch::new();
    scratch.write("hosts.ini", "h1\n");
    scratch.write(
        "c.yml",
        "plugin: constructed\nstrict: true\ngroups:\n  g: nosuch == 1\n",
    );
    let output = scratch.bosun(&["inventory", "-i", "hosts.ini", "-i", "c.yml", "--list"]);
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a warning, as in Ansible: {err}"
    );
    assert!(
        err.contains("Could not add host h1 to group g: Error while evaluating conditional"),
        "{err}"
    );
    let list: Json = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert!(
        list.get("g").is_none(),
        "the failed source added nothing: {list}"
    );
}

#[test]
fn plugin_files_name_the_plugin_and_what_bosun_has() {
    let scratch = Scratch::new();
    let cases = [
        (
            "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n",
            "specifies unknown plugin 'amazon.aws.aws_ec2'; bosun's inventory plugins are ansible.builtin.constructed",
        ),
        (
            "plugin: cloud.terraform.terraform_state\nbackend_type: s3\n",
            "pass the terraform.tfstate file",
        ),
        (
            "plugin: ansible.builtin.yaml\nall:\n  hosts: {h: }\n",
            "Plugin configuration YAML file, not YAML inventory",
        ),
        (
            "plugin: ini\n",
            "the 'ini' plugin reads INI inventory files",
        ),
        (
            "plugin: constructed\ncompose: [1]\n",
            "Config 'compose' for 'constructed' inventory plugin from 'Direct' has an invalid value",
        ),
        (
            "plugin: constructed\nkeyed_groups:\n  - key: x\n    default_value: a\n    trailing_separator: false\n",
            "parameters are mutually exclusive for keyed groups: default_value|trailing_separator",
        ),
    ];
    scratch.write("hosts.ini", "h1 x=''\n");
    for (index, (text, needle)) in cases.into_iter().enumerate() {
        let name = format!("plugin{index}.yml");
        scratch.write(&name, text);
        let output = scratch.bosun(&["inventory", "-i", "hosts.ini", "-i", &name, "--list"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(err.contains(needle), "{needle}\n{err}");
        assert!(
            stdout(&output).contains("\"h1\""),
            "the other source is read"
        );
    }
}

#[test]
fn playbook_tasks_see_the_hostvars_a_script_gives() {
    let scratch = Scratch::new();
    let list = json!({
        "app": {"hosts": ["app1", "app2"], "vars": {"ansible_connection": "local", "greeting": "hello"}},
        "_meta": {"hostvars": {"app1": {"port": 8081}, "app2": {"port": 8082}}}
    });
    scratch.write_executable("inventory.py", &python_script(&list));
    scratch.write(
        "site.yml",
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"{{ greeting }} {{ port }} {{ group_names | join(',') }}\"\n        dest: \"{{ playbook_dir }}/{{ inventory_hostname }}.txt\"\n",
    );
    let output = scratch.bosun(&["run", "site.yml", "-i", "inventory.py"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    for (host, port) in [("app1", 8081), ("app2", 8082)] {
        let text =
            std::fs::read_to_string(scratch.path().join(format!("{host}.txt"))).expect("written");
        assert_eq!(text, format!("hello {port} app"));
    }
}

/// A Terraform state (format version 4) with servers of three providers, a count,
/// a for_each in a module, a data source and a resource that is not a server.
const TFSTATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.9.5",
  "serial": 7,
  "lineage": "3f1c2d",
  "outputs": {},
  "resources": [
    {"mode": "data", "type": "aws_ami", "name": "debian", "instances": [{"attributes": {"id": "ami-1"}}]},
    {"mode": "managed", "type": "aws_instance", "name": "web", "instances": [
      {"index_key": 0, "schema_version": 1, "attributes": {"id": "i-1", "public_ip": "203.0.113.10", "private_ip": "10.0.0.10", "instance_type": "t3.micro", "user_data": "secret", "tags": {"Name": "web-0", "Role": "web"}, "tags_all": {"Name": "web-0", "Role": "web", "Env": "prod"}}, "sensitive_attributes": [[{"type": "get_attr", "value": "user_data"}]]},
      {"index_key": 1, "schema_version": 1, "attributes": {"id": "i-2", "public_ip": "", "private_ip": "10.0.0.11", "tags": {"Role": "web"}, "tags_all": {"Role": "web"}}, "sensitive_attributes": []}
    ]},
    {"mode": "managed", "type": "aws_security_group", "name": "sg", "instances": [{"attributes": {"id": "sg-1"}}]},
    {"module": "module.db", "mode": "managed", "type": "hcloud_server", "name": "db", "instances": [
      {"index_key": "primary", "attributes": {"name": "db-primary", "ipv4_address": "198.51.100.5", "labels": {"role": "db", "backup": ""}}}
    ]},
    {"mode": "managed", "type": "digitalocean_droplet", "name": "cache", "instances": [
      {"attributes": {"name": "cache1", "ipv4_address": "", "ipv4_address_private": "10.1.0.3", "tags": ["cache", "prod"]}}
    ]}
  ]
}"#;

#[test]
fn terraform_state_instances_become_hosts_grouped_by_tags() {
    let scratch = Scratch::new();
    scratch.write("terraform.tfstate", TFSTATE);
    let list: Json = serde_json::from_str(&bosun_inventory(
        &scratch,
        &["-i", "terraform.tfstate", "--list"],
    ))
    .expect("JSON");
    let groups = [
        ("web", json!(["web-0", "aws_instance_web_1"])),
        ("type_aws_instance", json!(["web-0", "aws_instance_web_1"])),
        ("tag_Role_web", json!(["web-0", "aws_instance_web_1"])),
        ("tag_Env_prod", json!(["web-0"])),
        ("db", json!(["db-primary"])),
        ("tag_role_db", json!(["db-primary"])),
        ("tag_backup", json!(["db-primary"])),
        ("tag_cache", json!(["cache1"])),
        ("type_digitalocean_droplet", json!(["cache1"])),
    ];
    for (group, hosts) in groups {
        assert_eq!(list[group]["hosts"], hosts, "{group}");
    }
    assert!(list.get("sg").is_none() && list.get("debian").is_none());
    let hostvars = &list["_meta"]["hostvars"];
    let addresses = [
        ("web-0", "203.0.113.10", "aws_instance.web[0]"),
        ("aws_instance_web_1", "10.0.0.11", "aws_instance.web[1]"),
        (
            "db-primary",
            "198.51.100.5",
            "module.db.hcloud_server.db[\"primary\"]",
        ),
        ("cache1", "10.1.0.3", "digitalocean_droplet.cache"),
    ];
    for (host, address, resource) in addresses {
        assert_eq!(hostvars[host]["ansible_host"], address, "{host}");
        assert_eq!(hostvars[host]["terraform_address"], resource, "{host}");
    }
    assert_eq!(
        hostvars["web-0"]["terraform_attributes"]["instance_type"],
        "t3.micro"
    );
    assert!(
        hostvars["web-0"]["terraform_attributes"]
            .get("user_data")
            .is_none(),
        "sensitive attributes are left out"
    );
}

#[test]
fn terraform_show_json_with_child_modules_and_a_playbook_over_it() {
    let scratch = Scratch::new();
    let shown = json!({
        "format_version": "1.0",
        "terraform_version": "1.9.5",
        "values": {"root_module": {
            "resources": [{
                "address": "libvirt_domain.vm", "mode": "managed", "type": "libvirt_domain", "name": "vm",
                "values": {"name": "vm1", "network_interface": [{"addresses": ["192.168.122.5"]}]},
                "sensitive_values": {}
            }],
            "child_modules": [{"address": "module.gce", "resources": [{
                "address": "module.gce.google_compute_instance.app[0]", "mode": "managed",
                "type": "google_compute_instance", "name": "app", "index": 0,
                "values": {"name": "app-0", "labels": {"env": "dev"}, "tags": ["http"],
                           "network_interface": [{"network_ip": "10.2.0.4", "access_config": [{"nat_ip": "34.1.2.3"}]}],
                           "metadata": {"ssh-keys": "k"}},
                "sensitive_values": {"metadata": true}
            }]}]
        }}
    });
    scratch.write("show.json", &shown.to_string());
    let list: Json =
        serde_json::from_str(&bosun_inventory(&scratch, &["-i", "show.json", "--list"]))
            .expect("JSON");
    assert_eq!(list["tag_env_dev"]["hosts"], json!(["app-0"]));
    let hostvars = &list["_meta"]["hostvars"];
    assert_eq!(hostvars["app-0"]["ansible_host"], "34.1.2.3");
    assert_eq!(hostvars["vm1"]["ansible_host"], "192.168.122.5");
    assert!(
        hostvars["app-0"]["terraform_attributes"]
            .get("metadata")
            .is_none()
    );
    scratch.write(
        "local.yml",
        "plugin: constructed\ncompose:\n  ansible_connection: \"'local'\"\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: type_google_compute_instance\n  gather_facts: false\n  tasks:\n    - copy: {content: \"{{ ansible_host }}\", dest: \"{{ playbook_dir }}/{{ inventory_hostname }}\"}\n",
    );
    let output = scratch.bosun(&["run", "site.yml", "-i", "show.json", "-i", "local.yml"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let written = std::fs::read_to_string(scratch.path().join("app-0")).expect("written");
    assert_eq!(written, "34.1.2.3");
    assert!(!Path::new(&scratch.path().join("vm1")).exists());
}

#[test]
fn a_source_that_cannot_be_parsed_is_a_warning_unless_the_settings_say_otherwise() {
    let scratch = Scratch::new();
    scratch.write("inv/10-good.ini", "[web]\nw1\n");
    scratch.write("inv/20-broken.ini", "[db\nd1\n");
    scratch.write("broken.ini", "[db\nd1\n");
    let output = scratch.bosun(&["inventory", "-i", "inv", "--list"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    let list: Json = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(
        list["web"]["hosts"],
        json!(["w1"]),
        "the good file of the directory"
    );
    assert!(
        list.get("db").is_none(),
        "nothing of the broken one: {list}"
    );
    assert!(
        err.contains("20-broken.ini as an inventory source"),
        "{err}"
    );

    let only_broken = ["inventory", "-i", "broken.ini", "--list"];
    let output = scratch.bosun(&only_broken);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("No inventory was parsed, only implicit localhost is available"),
        "{}",
        stderr(&output)
    );
    let failed = Path::new("1");
    let output = scratch.bosun_with(
        &only_broken,
        &[("ANSIBLE_INVENTORY_UNPARSED_FAILED", failed)],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "ERROR! No inventory was parsed, please check your configuration and options."
        ),
        "{}",
        stderr(&output)
    );
    let output = scratch.bosun_with(
        &["inventory", "-i", "inv", "--list"],
        &[("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", failed)],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

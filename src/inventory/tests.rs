//! Tests of loading sources and of the public queries, on fixture files.

use std::fs;
use std::path::Path;

use serde_json::{Value as Json, json};
use tempfile::TempDir;

use super::*;

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn load_one(path: &Path) -> Inventory {
    Inventory::load(&[path.to_string_lossy().into_owned()]).expect("loads")
}

#[test]
fn no_sources_leave_only_the_implicit_localhost() {
    let inventory = Inventory::load(&[]).expect("loads");
    assert!(inventory.host_names().is_empty());
    assert_eq!(inventory.select("all").expect("ok"), Vec::<String>::new());
    assert_eq!(inventory.select("localhost").expect("ok"), ["localhost"]);
    let vars = inventory.host_vars("localhost");
    assert_eq!(vars["ansible_connection"], json!("local"));
    assert!(vars.contains_key("ansible_python_interpreter"), "{vars:?}");
    assert!(inventory.host_vars("elsewhere").is_empty());
}

#[test]
fn comma_lists() {
    let cases: &[(&str, &[&str], Json)] = &[
        ("web1,web2,", &["web1", "web2"], json!({})),
        ("localhost,", &["localhost"], json!({})),
        (" a , b:2222 ,", &["a", "b"], json!({"ansible_port": 2222})),
        ("web[1:2],", &["web[1:2]"], json!({})),
    ];
    for (list, hosts, last_vars) in cases {
        let inventory = Inventory::load(&[list.to_string()]).expect(list);
        assert_eq!(inventory.host_names(), *hosts, "{list}");
        assert_eq!(inventory.select("all").expect("ok"), *hosts, "{list}");
        assert_eq!(inventory.groups()["ungrouped"], *hosts, "{list}");
        let last = hosts.last().expect("a host");
        assert_eq!(
            &Json::Object(inventory.host_vars(last)),
            last_vars,
            "{list}"
        );
    }
}

#[test]
fn a_missing_source_is_a_warning_as_in_ansible() {
    let inv = Inventory::load(&["/no/such/inventory".into()]).expect("loads");
    assert_eq!(
        inv.warnings(),
        [
            "Unable to parse /no/such/inventory as an inventory source",
            "No inventory was parsed, only implicit localhost is available"
        ]
    );
    assert!(inv.host_names().is_empty());
    let inv = Inventory::load(&["/no/such/inventory".into(), "web1,".into()]).expect("loads");
    assert_eq!(inv.warnings().len(), 1, "one source parsed");
}

#[test]
fn file_formats_are_detected() {
    let tmp = TempDir::new().expect("tempdir");
    let cases: &[(&str, &str, &[&str])] = &[
        ("plain", "[web]\nw1\n", &["w1"]),
        ("hosts.ini", "[web]\nw1 x=1\n", &["w1"]),
        ("hosts.txt", "w1\nw2\n", &["w1", "w2"]),
        ("inv.yml", "all:\n  hosts:\n    y1:\n", &["y1"]),
        ("inv.yaml", "web:\n  hosts: {y1: , y2: }\n", &["y1", "y2"]),
        (
            "inv.json",
            "{\"all\": {\"hosts\": {\"j1\": {\"a\": 1}}}}",
            &["j1"],
        ),
        (
            "noext_yaml",
            "all:\n  children:\n    web:\n      hosts:\n        n1:\n",
            &["n1"],
        ),
        ("one_line", "lonely\n", &["lonely"]),
        ("empty", "", &[]),
    ];
    for (name, text, hosts) in cases {
        write(tmp.path(), name, text);
        let inventory = load_one(&tmp.path().join(name));
        assert_eq!(inventory.host_names(), *hosts, "{name}");
    }
}

#[test]
fn yaml_errors_win_for_yaml_looking_files() {
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), "hosts", "---\nall:\n  hosts: [\n");
    let path = tmp.path().join("hosts").to_string_lossy().into_owned();
    let inventory = Inventory::load(std::slice::from_ref(&path)).expect("a warning, as in Ansible");
    assert!(
        inventory.warnings()[0].contains("YAML syntax error"),
        "{:?}",
        inventory.warnings()
    );
    let strict = Unparsed {
        any_is_failed: true,
        ..Unparsed::default()
    };
    let message = Inventory::load_with(&[path], strict)
        .expect_err("bad yaml")
        .to_string();
    assert!(message.contains("YAML syntax error"), "{message}");
}

#[test]
fn directories_load_every_inventory_file() {
    let tmp = TempDir::new().expect("tempdir");
    let dir = tmp.path().join("inventory");
    write(&dir, "01-hosts", "[web]\nw1\n");
    write(
        &dir,
        "02-more.yml",
        "all:\n  children:\n    db:\n      hosts: {d1: }\n",
    );
    write(&dir, "sub/03-nested.ini", "[web]\nw2\n");
    write(&dir, "README.md", "# not [an] inventory: at all\n");
    write(&dir, ".hidden", "[[[\n");
    write(&dir, "hosts.bak", "[[[\n");
    write(&dir, "hosts~", "[[[\n");
    write(&dir, "ansible.cfg", "[defaults]\nx = 1\n");
    write(&dir, "group_vars/web.yml", "role: web\n");
    write(&dir, "host_vars/d1.yml", "id: 1\n");
    write(&dir, "sub/group_vars/web.yml", "role: not-loaded\n");
    let inventory = load_one(&dir);
    assert_eq!(inventory.host_names(), ["w1", "d1", "w2"]);
    assert_eq!(inventory.groups()["web"], ["w1", "w2"]);
    assert_eq!(inventory.host_vars("w2")["role"], json!("web"));
    assert_eq!(inventory.host_vars("d1")["id"], json!(1));
    assert_eq!(
        inventory.inventory_file("w2"),
        Some(dir.join("sub/03-nested.ini").as_path())
    );
}

#[test]
fn several_sources_merge() {
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), "a/hosts", "[web]\nw1 from=a\n");
    write(
        tmp.path(),
        "b/hosts.yml",
        "web:\n  hosts:\n    w1: {extra: b}\n    w2:\n",
    );
    write(tmp.path(), "a/group_vars/web.yml", "who: a\nonly_a: 1\n");
    write(tmp.path(), "b/group_vars/web.yml", "who: b\n");
    let sources: Vec<String> = ["a/hosts", "b/hosts.yml", "extra,"]
        .iter()
        .map(|s| {
            if s.contains(',') {
                s.to_string()
            } else {
                tmp.path().join(s).to_string_lossy().into_owned()
            }
        })
        .collect();
    let inventory = Inventory::load(&sources).expect("loads");
    assert_eq!(inventory.host_names(), ["w1", "w2", "extra"]);
    assert_eq!(
        Json::Object(inventory.host_vars("w1")),
        json!({"who": "b", "only_a": 1, "from": "a", "extra": "b"})
    );
}

/// Each layer is written on top of the previous ones; `v` must then come from it.
#[test]
fn variable_precedence_layers() {
    let ini = "[web]\nweb1\n[prod:children]\nweb\n[all:vars]\nv=ini_all\n[prod:vars]\nv=ini_prod\n";
    let layers: &[(&str, &str, &str)] = &[
        ("inv/hosts", ini, "ini_prod"),
        (
            "inv/hosts",
            &format!("{ini}[web:vars]\nv=ini_web\n"),
            "ini_web",
        ),
        ("inv/group_vars/all.yml", "v: inv_all\n", "inv_all"),
        ("play/group_vars/all.yml", "v: play_all\n", "play_all"),
        ("inv/group_vars/prod.yml", "v: inv_prod\n", "inv_prod"),
        ("inv/group_vars/web/main.yml", "v: inv_web\n", "inv_web"),
        ("play/group_vars/prod.yml", "v: play_prod\n", "play_prod"),
        ("play/group_vars/web.yml", "v: play_web\n", "play_web"),
        (
            "inv/hosts",
            &format!("{ini}[web]\nweb1 v=ini_host\n"),
            "ini_host",
        ),
        ("inv/host_vars/web1", "v: inv_host\n", "inv_host"),
        (
            "play/host_vars/web1.json",
            "{\"v\": \"play_host\"}",
            "play_host",
        ),
    ];
    let tmp = TempDir::new().expect("tempdir");
    for (file, text, expected) in layers {
        write(tmp.path(), file, text);
        let mut inventory = load_one(&tmp.path().join("inv/hosts"));
        inventory
            .load_playbook_vars(&tmp.path().join("play"))
            .expect("playbook vars");
        assert_eq!(
            inventory.host_vars("web1")["v"],
            json!(expected),
            "after {file}"
        );
    }
}

#[test]
fn top_level_keys_replace_without_deep_merge() {
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), "hosts", "h1\n");
    write(
        tmp.path(),
        "group_vars/all.yml",
        "d: {a: 1, b: 2}\nkeep: 1\n",
    );
    write(tmp.path(), "host_vars/h1.yml", "d: {a: 3}\n");
    let inventory = load_one(&tmp.path().join("hosts"));
    assert_eq!(
        Json::Object(inventory.host_vars("h1")),
        json!({"d": {"a": 3}, "keep": 1})
    );
}

#[test]
fn same_depth_groups_order_by_priority_then_name() {
    let cases: &[(&str, &str)] = &[
        ("", "b_grp"),
        ("[a_grp:vars]\nansible_group_priority=10\n", "a_grp"),
        ("[b_grp:vars]\nansible_group_priority=0\n", "a_grp"),
        (
            "[a_grp:vars]\nansible_group_priority=5\n[b_grp:vars]\nansible_group_priority=5\n",
            "b_grp",
        ),
    ];
    for (extra, winner) in cases {
        let text = format!(
            "[a_grp]\nh\n[b_grp]\nh\n[a_grp:vars]\nv=a_grp\n[b_grp:vars]\nv=b_grp\n{extra}"
        );
        let tmp = TempDir::new().expect("tempdir");
        write(tmp.path(), "hosts", &text);
        let inventory = load_one(&tmp.path().join("hosts"));
        assert_eq!(inventory.host_vars("h")["v"], json!(winner), "{extra}");
    }
}

#[test]
fn implicit_localhost() {
    let tmp = TempDir::new().expect("tempdir");
    write(
        tmp.path(),
        "hosts",
        "[web]\nw1\n[all:vars]\nz=3\n[web:vars]\nw=1\n",
    );
    write(tmp.path(), "group_vars/all.yml", "x: 1\n");
    write(tmp.path(), "host_vars/localhost.yml", "y: 2\n");
    let inventory = load_one(&tmp.path().join("hosts"));
    assert_eq!(inventory.select("localhost").expect("ok"), ["localhost"]);
    assert_eq!(inventory.select("all").expect("ok"), ["w1"]);
    assert_eq!(inventory.select("*").expect("ok"), ["w1"]);
    assert_eq!(inventory.groups()["all"], ["w1"]);
    assert_eq!(inventory.host_names(), ["w1"]);
    assert!(inventory.group_names("localhost").is_empty());
    let mut vars = inventory.host_vars("localhost");
    let python = vars.remove("ansible_python_interpreter");
    assert!(
        python
            .as_ref()
            .and_then(Json::as_str)
            .is_some_and(|p| p.ends_with("/python3")),
        "{python:?}"
    );
    assert_eq!(
        Json::Object(vars),
        json!({"z": 3, "x": 1, "ansible_connection": "local", "y": 2})
    );
}

#[test]
fn explicit_localhost_is_a_normal_host() {
    let tmp = TempDir::new().expect("tempdir");
    write(
        tmp.path(),
        "hosts",
        "[local]\nlocalhost ansible_connection=ssh\n",
    );
    let inventory = load_one(&tmp.path().join("hosts"));
    assert_eq!(inventory.select("all").expect("ok"), ["localhost"]);
    assert_eq!(inventory.group_names("localhost"), ["local"]);
    assert_eq!(
        Json::Object(inventory.host_vars("localhost")),
        json!({"ansible_connection": "ssh"})
    );
}

#[test]
fn membership_queries() {
    let tmp = TempDir::new().expect("tempdir");
    write(
        tmp.path(),
        "hosts",
        "loose\n[web]\nw1\n[db]\nd1\nw1\n[prod:children]\nweb\n[dc:children]\nprod\n",
    );
    let inventory = load_one(&tmp.path().join("hosts"));
    let cases: &[(&str, &[&str])] = &[
        ("w1", &["db", "dc", "prod", "web"]),
        ("d1", &["db"]),
        ("loose", &[]),
        ("nobody", &[]),
    ];
    for (host, groups) in cases {
        assert_eq!(inventory.group_names(host), *groups, "{host}");
    }
    assert_eq!(
        serde_json::to_value(inventory.groups()).expect("json"),
        json!({
            "all": ["loose", "d1", "w1"],
            "ungrouped": ["loose"],
            "web": ["w1"],
            "db": ["d1", "w1"],
            "prod": ["w1"],
            "dc": ["w1"],
        })
    );
    let keys: Vec<String> = inventory.groups().keys().cloned().collect();
    assert_eq!(keys, ["all", "ungrouped", "web", "db", "prod", "dc"]);
}

#[test]
fn group_and_host_with_one_name_warn() {
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), "hosts", "[web]\nweb\n");
    let inventory = load_one(&tmp.path().join("hosts"));
    assert_eq!(inventory.select("web").expect("ok"), ["web"]);
    assert!(inventory.warnings().iter().any(|w| w.contains("'web'")));
}

#[test]
fn list_and_graph_from_files() {
    let tmp = TempDir::new().expect("tempdir");
    write(tmp.path(), "hosts", "[web]\nw1\n");
    write(tmp.path(), "group_vars/web.yml", "port: 80\n");
    let inventory = load_one(&tmp.path().join("hosts"));
    assert_eq!(
        inventory.to_list_json(),
        json!({
            "_meta": {"hostvars": {"w1": {"port": 80}}, "profile": "inventory_legacy"},
            "all": {"children": ["ungrouped", "web"]},
            "web": {"hosts": ["w1"]},
        })
    );
    assert_eq!(
        inventory.graph(None).expect("graph"),
        "@all:\n  |--@ungrouped:\n  |--@web:\n  |  |--w1"
    );
    assert_eq!(
        inventory.graph(Some("web")).expect("graph"),
        "@web:\n  |--w1"
    );
    assert!(inventory.graph(Some("nope")).is_err());
}

//! `dpkg_selections`, `service_facts`, `known_hosts` and `debconf` run by the real binary over SSH against a
//! Debian container with systemd as PID 1, checked there with `dpkg` and `systemctl`.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

const HOLD: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - dpkg_selections:
        name: openssh-server
        selection: hold
      register: held
    - assert:
        that:
          - held.after == 'hold'
          - held.before in ['install', 'hold']
";

const INSTALL: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - dpkg_selections: name=openssh-server selection=install
";

#[test]
fn dpkg_selections_holds_and_releases_a_package() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let selection = "dpkg --get-selections openssh-server | awk '{print $2}'";
    fleet.play_expecting("install.yml", INSTALL, &[], 0);

    fleet.play_expecting("hold.yml", HOLD, &["--check"], 1);
    assert_eq!(fleet.on_host(0, selection), "install", "check mode held it");
    fleet.play_expecting("hold.yml", HOLD, &[], 1);
    assert_eq!(fleet.on_host(0, selection), "hold");
    fleet.play_expecting("hold.yml", HOLD, &[], 0);

    fleet.play_expecting("install.yml", INSTALL, &[], 1);
    assert_eq!(fleet.on_host(0, selection), "install");

    fleet.play_fails(
        "missing.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - dpkg_selections: name=no-such-package-bosun selection=hold\n",
        &[],
        "Failed to find package 'no-such-package-bosun' to perform selection 'hold'.",
    );
    fleet.play_fails(
        "bad.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - dpkg_selections: name=tree selection=keep\n",
        &[],
        "selection",
    );
}

#[test]
fn service_facts_reports_systemd_units_and_init_scripts() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let play = "
- hosts: all
  gather_facts: false
  tasks:
    - service_facts:
    - assert:
        that:
          - ansible_facts.services['ssh.service'].state == 'running'
          - ansible_facts.services['ssh.service'].status == 'enabled'
          - ansible_facts.services['ssh.service'].source == 'systemd'
          - ansible_facts.services['systemd-journald.service'].state == 'running'
          - services['ssh.service'].name == 'ssh.service'
    - debug:
        msg: \"{{ ansible_facts.services | length }} services\"
";
    let out = fleet.play_expecting("services.yml", play, &[], 0);
    assert!(out.contains(" services\""), "{out}");
    let (code, out) = fleet.play("services.yml", play, &["--check"]);
    assert_eq!(code, 0, "service_facts reads in check mode too: {out}");
}

const KEY_A: &str = "git.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const KEY_B: &str = "git.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJm";

fn known_host(key: &str, extra: &str) -> String {
    format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - known_hosts:\n        name: git.example.org\n        key: \"{key}\"\n{extra}"
    )
}

#[test]
fn known_hosts_adds_replaces_and_removes_a_host_key() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(0, "mkdir -p /root/.ssh && touch /root/.ssh/known_hosts && ssh-keygen -R git.example.org -f /root/.ssh/known_hosts >/dev/null 2>&1; rm -f /root/.ssh/known_hosts.old");
    let lookup =
        "ssh-keygen -F git.example.org -f /root/.ssh/known_hosts | grep -v '^#' || echo none";
    let add = known_host(KEY_A, "");
    fleet.play_expecting("add.yml", &add, &["--check"], 1);
    assert_eq!(fleet.on_host(0, lookup), "none", "check mode wrote");
    fleet.play_expecting("add.yml", &add, &[], 1);
    assert_eq!(fleet.on_host(0, lookup), KEY_A);
    fleet.play_expecting("add.yml", &add, &[], 0);

    let out = fleet.play_expecting("replace.yml", &known_host(KEY_B, ""), &["--diff"], 1);
    assert!(out.contains(&format!("+{KEY_B}")), "{out}");
    assert_eq!(fleet.on_host(0, lookup), KEY_B);
    assert_eq!(
        fleet.on_host(0, "grep -c git.example.org /root/.ssh/known_hosts"),
        "1",
        "the old key was replaced"
    );

    let hashed = known_host(KEY_A, "        hash_host: true\n");
    fleet.play_expecting("hashed.yml", &hashed, &[], 1);
    assert!(fleet.on_host(0, lookup).starts_with("|1|"), "hashed");
    fleet.play_expecting("hashed.yml", &hashed, &[], 0);

    let remove = "- hosts: all\n  gather_facts: false\n  tasks:\n    - known_hosts: name=git.example.org state=absent\n";
    fleet.play_expecting("remove.yml", remove, &[], 1);
    assert_eq!(fleet.on_host(0, lookup), "none");
    fleet.play_expecting("remove.yml", remove, &[], 0);
    fleet.play_fails(
        "nokey.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - known_hosts: name=git.example.org\n",
        &[],
        "No key specified when adding a host",
    );
}

fn priority(value: &str) -> String {
    format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debconf:\n        name: debconf\n        question: debconf/priority\n        vtype: select\n        value: {value}\n      register: answer\n    - assert:\n        that: answer.current['debconf/priority'] == '{value}'\n"
    )
}

#[test]
fn debconf_sets_an_answer_once() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let shown = "debconf-show debconf | sed -n 's/^[* ]*debconf\\/priority: //p'";
    fleet.play_expecting(
        "high.yml",
        &priority("high"),
        &[],
        usize::from(fleet.on_host(0, shown) != "high"),
    );
    fleet.play_expecting("critical.yml", &priority("critical"), &["--check"], 1);
    assert_eq!(fleet.on_host(0, shown), "high", "check mode answered");
    let out = fleet.play_expecting("critical.yml", &priority("critical"), &["--diff"], 1);
    assert!(out.contains("critical"), "{out}");
    assert_eq!(fleet.on_host(0, shown), "critical");
    fleet.play_expecting("critical.yml", &priority("critical"), &[], 0);
    fleet.play_expecting("high.yml", &priority("high"), &[], 1);
    let read = "- hosts: all\n  gather_facts: false\n  tasks:\n    - debconf: name=debconf\n      register: all\n    - assert:\n        that: all.current['debconf/priority'] == 'high'\n";
    fleet.play_expecting("read.yml", read, &[], 0);
    fleet.play_fails(
        "bad.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debconf: name=debconf question=debconf/priority\n",
        &[],
        "parameters are required together",
    );
}

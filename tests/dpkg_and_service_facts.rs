//! `dpkg_selections` and `service_facts` run by the real binary over SSH against a
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

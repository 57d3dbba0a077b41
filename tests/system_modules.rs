//! `apt`, `package`, `systemd`, `systemd_service` and `service` run by the real binary
//! over SSH against a Debian container with systemd as PID 1 (one container, shared by
//! the tests of this file), checked there with `dpkg-query` and `systemctl`.

mod common;

use std::time::Instant;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, recap_line, stderr, stdout};

/// Runs `playbook` (written to the scratch dir as `name`) against the container, with
/// `extra` arguments: the exit code and everything bosun printed.
fn play(fleet: &SystemdFleet, name: &str, playbook: &str, extra: &[&str]) -> (i32, String) {
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    scratch.write(name, playbook);
    let mut args = vec!["run", name, "-i", "hosts.ini"];
    args.extend_from_slice(extra);
    let output = scratch.bosun_with(&args, &[("HOME", fleet.home())]);
    let text = format!("{}{}", stdout(&output), stderr(&output));
    (output.status.code().unwrap_or(-1), text)
}

/// The `changed=N` count of the container's recap line.
fn changed(fleet: &SystemdFleet, output: &str) -> String {
    let line = recap_line(output, &fleet.hosts()[0].name);
    line.split_whitespace()
        .find(|w| w.starts_with("changed="))
        .unwrap_or_default()
        .to_string()
}

/// What `command` prints in the container (stdout, trimmed).
fn on_host(fleet: &SystemdFleet, command: &str) -> String {
    let output = fleet.ssh(0, command);
    stdout(&output).trim().to_string()
}

const INSTALL: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: install tree
      apt:
        name: tree
        update_cache: true
        cache_valid_time: 3600
";

const INSTALL_AGAIN: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: tree is there
      apt: name=tree state=present
    - name: and the package module agrees
      package:
        name: [tree]
";

const REMOVE: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: remove tree
      apt: name=tree state=absent
";

#[test]
fn apt_installs_keeps_and_removes_a_package() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let status = "dpkg-query -W -f='${db:Status-Status}' tree 2>/dev/null || echo not-installed";

    let started = Instant::now();
    let (code, out) = play(fleet, "install.yml", INSTALL, &[]);
    eprintln!(
        "apt: update + install of tree took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=1", "{out}");
    assert_eq!(on_host(fleet, status), "installed");

    let (code, out) = play(fleet, "again.yml", INSTALL_AGAIN, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=0", "{out}");
    let (code, out) = play(fleet, "install.yml", INSTALL, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        changed(fleet, &out),
        "changed=0",
        "cache still valid: {out}"
    );

    let (code, out) = play(fleet, "remove.yml", REMOVE, &["--check"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=1", "{out}");
    assert_eq!(on_host(fleet, status), "installed", "check mode left it");

    let (code, out) = play(fleet, "remove.yml", REMOVE, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=1", "{out}");
    assert_eq!(on_host(fleet, status), "not-installed");
    let (_, out) = play(fleet, "remove.yml", REMOVE, &[]);
    assert_eq!(changed(fleet, &out), "changed=0", "{out}");
}

#[test]
fn apt_reports_what_it_cannot_find() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - apt: name=bosun-no-such-package
";
    let (code, out) = play(fleet, "missing.yml", playbook, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("No package matching 'bosun-no-such-package' is available"),
        "{out}"
    );
}

const UNIT: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: unit file
      copy:
        dest: /etc/systemd/system/bosun-sleeper.service
        content: |
          [Unit]
          Description=bosun test sleeper
          [Service]
          ExecStart=/bin/sleep infinity
          [Install]
          WantedBy=multi-user.target
    - name: running and enabled
      systemd: daemon_reload=yes name=bosun-sleeper state=started enabled=yes
";

fn state_playbook(module: &str, state: &str) -> String {
    format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - {module}: name=bosun-sleeper state={state}
"
    )
}

#[test]
fn systemd_starts_enables_restarts_and_stops_a_unit() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let active = "systemctl is-active bosun-sleeper; systemctl is-enabled bosun-sleeper";
    let main_pid = "systemctl show -p MainPID --value bosun-sleeper";

    let (code, out) = play(fleet, "unit.yml", UNIT, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=2", "{out}");
    assert_eq!(on_host(fleet, active), "active\nenabled");
    let (code, out) = play(fleet, "unit.yml", UNIT, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=0", "{out}");

    let before = on_host(fleet, main_pid);
    assert!(before.parse::<u32>().is_ok_and(|pid| pid > 0), "{before}");
    let restart = state_playbook("systemd_service", "restarted");
    let (code, out) = play(fleet, "restart.yml", &restart, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=1", "{out}");
    let after = on_host(fleet, main_pid);
    assert_ne!(before, after, "a restart gives the unit a new main process");
    assert_eq!(on_host(fleet, active), "active\nenabled");

    let stop = state_playbook("service", "stopped");
    let (code, out) = play(fleet, "stop.yml", &stop, &["--check"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=1", "{out}");
    assert_eq!(
        on_host(fleet, active),
        "active\nenabled",
        "check mode left it"
    );
    let (code, out) = play(fleet, "stop.yml", &stop, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(changed(fleet, &out), "changed=1", "{out}");
    assert_eq!(on_host(fleet, active), "inactive\nenabled");
    let (_, out) = play(fleet, "stop.yml", &stop, &[]);
    assert_eq!(changed(fleet, &out), "changed=0", "{out}");
}

#[test]
fn systemd_reports_status_and_missing_units_like_ansible() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - name: ssh status
      systemd: name=ssh state=started
      register: ssh
    - assert:
        that:
          - not ssh.changed
          - ssh.state == 'started'
          - ssh.status.ActiveState == 'active'
          - ssh.status.SubState == 'running'
          - ssh.status.LoadState == 'loaded'
          - ssh.status.UnitFileState == 'enabled'
          - ssh.status.FragmentPath == '/lib/systemd/system/ssh.service'
    - name: no such unit
      systemd: name=bosun-no-such-unit state=started
";
    let (code, out) = play(fleet, "status.yml", playbook, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("All assertions passed"), "{out}");
    assert!(
        out.contains("Could not find the requested service bosun-no-such-unit: host"),
        "{out}"
    );
}

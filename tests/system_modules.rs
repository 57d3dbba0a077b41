//! `apt`, `package`, `systemd`, `systemd_service` and `service` run by the real binary
//! over SSH against a Debian container with systemd as PID 1 (one container, shared by
//! the tests of this file), checked there with `dpkg-query` and `systemctl`.

mod common;

use std::time::Instant;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

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
    let (code, out) = fleet.play("install.yml", INSTALL, &[]);
    eprintln!(
        "apt: update + install of tree took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(fleet.changed(0, &out), "changed=1", "{out}");
    assert_eq!(fleet.on_host(0, status), "installed");

    fleet.play_expecting("again.yml", INSTALL_AGAIN, &[], 0);
    fleet.on_host(0, "apt-mark auto tree");
    assert_eq!(fleet.on_host(0, "apt-mark showauto tree"), "tree");
    fleet.play_expecting("again.yml", INSTALL_AGAIN, &[], 0);
    assert_eq!(
        fleet.on_host(0, "apt-mark showmanual tree"),
        "tree",
        "present marks an automatically installed package manual without counting a change, as Ansible does"
    );
    let (code, out) = fleet.play("install.yml", INSTALL, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.changed(0, &out),
        "changed=0",
        "cache still valid: {out}"
    );

    fleet.play_expecting("remove.yml", REMOVE, &["--check"], 1);
    assert_eq!(fleet.on_host(0, status), "installed", "check mode left it");

    fleet.play_expecting("remove.yml", REMOVE, &[], 1);
    assert_eq!(fleet.on_host(0, status), "not-installed");
    let (_, out) = fleet.play("remove.yml", REMOVE, &[]);
    assert_eq!(fleet.changed(0, &out), "changed=0", "{out}");
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
    fleet.play_fails(
        "missing.yml",
        playbook,
        &[],
        "No package matching 'bosun-no-such-package' is available",
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

    fleet.play_expecting("unit.yml", UNIT, &[], 2);
    assert_eq!(fleet.on_host(0, active), "active\nenabled");
    fleet.play_expecting("unit.yml", UNIT, &[], 0);

    let before = fleet.on_host(0, main_pid);
    assert!(before.parse::<u32>().is_ok_and(|pid| pid > 0), "{before}");
    let restart = state_playbook("systemd_service", "restarted");
    fleet.play_expecting("restart.yml", &restart, &[], 1);
    let after = fleet.on_host(0, main_pid);
    assert_ne!(before, after, "a restart gives the unit a new main process");
    assert_eq!(fleet.on_host(0, active), "active\nenabled");

    let stop = state_playbook("service", "stopped");
    fleet.play_expecting("stop.yml", &stop, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, active),
        "active\nenabled",
        "check mode left it"
    );
    fleet.play_expecting("stop.yml", &stop, &[], 1);
    assert_eq!(fleet.on_host(0, active), "inactive\nenabled");
    let (_, out) = fleet.play("stop.yml", &stop, &[]);
    assert_eq!(fleet.changed(0, &out), "changed=0", "{out}");
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
    let out = fleet.play_fails("status.yml", playbook, &[], "All assertions passed");
    assert!(
        out.contains("Could not find the requested service bosun-no-such-unit: host"),
        "{out}"
    );
}

#[test]
fn daemon_reload_runs_outside_check_mode_only_and_changes_nothing() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let unit = "/etc/systemd/system/bosun-reload.service";
    fleet.on_host(
        0,
        &format!(
            "printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > {unit} && \
             systemctl daemon-reload && systemctl start bosun-reload && \
             echo '# edited behind systemd' >> {unit}"
        ),
    );
    let needs = "systemctl show -p NeedDaemonReload --value bosun-reload";
    assert_eq!(fleet.on_host(0, needs), "yes");
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - systemd_service: daemon_reload=yes name=bosun-reload
      register: reloaded
    - systemd: daemon_reload=yes
      register: alone
    - assert:
        that:
          - reloaded is not changed
          - reloaded.name == 'bosun-reload'
          - reloaded.status.NeedDaemonReload == needs
          - alone is not changed
          - alone.name is none
          - alone.status == {}
";
    fleet.play_expecting("reload.yml", playbook, &["--check", "-e", "needs=yes"], 0);
    assert_eq!(fleet.on_host(0, needs), "yes", "check mode did not reload");
    fleet.play_expecting("reload.yml", playbook, &["-e", "needs=no"], 0);
    assert_eq!(fleet.on_host(0, needs), "no");
    fleet.on_host(0, &format!("systemctl stop bosun-reload; rm -f {unit}"));
}

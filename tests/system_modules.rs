//! `apt`, `package`, `systemd`, `systemd_service` and `service` run by the real binary
//! over SSH against a Debian container with systemd as PID 1 (one container, shared by
//! the tests of this file), checked there with `dpkg-query` and `systemctl`.

mod common;

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use common::ansible::ansible_or_skip;
use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, stdout};

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
    // The apt loop test updates the lists meanwhile otherwise.
    let _turn = fleet.apt_turn();
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
    // The apt loop test updates the lists meanwhile otherwise.
    let _turn = fleet.apt_turn();
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
    let _turn = manager_turn();
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
    let _turn = manager_turn();
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

/// An init script that runs no systemd unit: `start` leaves a `sleep` in a session of
/// its own and logs every verb with its arguments to /var/log/bosun-rc.log.
const INIT_SCRIPT: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          bosun-rc
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: bosun's init script test service
### END INIT INFO
PIDFILE=/run/bosun-rc.pid
echo "$*" >> /var/log/bosun-rc.log
case "$1" in
  start) setsid sleep 424242 </dev/null >/dev/null 2>&1 & echo $! > $PIDFILE; echo "Starting rc." ;;
  stop) [ -f $PIDFILE ] && kill $(cat $PIDFILE); rm -f $PIDFILE; echo "Stopping rc." ;;
  reload) echo "Reloading rc." ;;
  status) if [ -f $PIDFILE ] && kill -0 $(cat $PIDFILE) 2>/dev/null; then echo "rc is running"; else echo "rc is not running"; exit 3; fi ;;
  *) echo "usage" >&2; exit 2 ;;
esac
"#;

/// Installs [`INIT_SCRIPT`] as /etc/init.d/bosun-rc in container 0: no boot links, none
/// of its processes (an earlier start's may have lost its pid file), an empty log.
fn fresh_init_script(fleet: &SystemdFleet) {
    fleet.on_host(
        0,
        &format!("cat > /etc/init.d/bosun-rc <<'END'\n{INIT_SCRIPT}END"),
    );
    fleet.on_host(
        0,
        "chmod 755 /etc/init.d/bosun-rc; pgrep -f '^sleep 424242$' | xargs -r kill; \
         rm -f /run/bosun-rc.pid; update-rc.d -f bosun-rc remove >/dev/null 2>&1; \
         : > /var/log/bosun-rc.log",
    );
}

/// A turn at the init script: the tests that use it take turns.
/// A turn at systemd's manager: a daemon-reload by one test would clear the
/// `NeedDaemonReload` another is looking at.
fn manager_turn() -> MutexGuard<'static, ()> {
    static MANAGER: Mutex<()> = Mutex::new(());
    MANAGER.lock().unwrap_or_else(|e| e.into_inner())
}

fn rc_turn() -> MutexGuard<'static, ()> {
    static RC: Mutex<()> = Mutex::new(());
    RC.lock().unwrap_or_else(|e| e.into_inner())
}

/// The boot links, whether the service's process runs, and the verbs its script ran.
const RC_STATE: &str = "ls /etc/rc?.d | grep -c '^S..bosun-rc'; ls /etc/rc?.d/K??bosun-rc 2>/dev/null | wc -l; \
     pgrep -fc '^sleep 424242$'; tr '\\n' ',' < /var/log/bosun-rc.log";

const SYSVINIT: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.sysvinit:
        name: bosun-rc
        state: started
        enabled: true
        pattern: sleep 424242
      register: up
    - copy:
        dest: /var/tmp/bosun-rc-result
        content: '{{ up.status.enabled.changed }} {{ up.status.started.changed }} {{ up.status.started.stdout | trim }}'
      when: up is changed and not ansible_check_mode
";

#[test]
fn sysvinit_starts_enables_restarts_and_stops_an_init_script() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let _turn = rc_turn();
    fresh_init_script(fleet);
    fleet.play_expecting("rc.yml", SYSVINIT, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, RC_STATE),
        "0\n0\n0",
        "check mode did nothing"
    );

    fleet.play_expecting("rc.yml", SYSVINIT, &[], 2);
    assert_eq!(fleet.on_host(0, RC_STATE), "4\n3\n1\nstart,");
    assert_eq!(
        fleet.on_host(0, "cat /var/tmp/bosun-rc-result"),
        "True True Starting rc."
    );
    fleet.play_expecting("rc.yml", SYSVINIT, &[], 0);

    let restart = "
- hosts: all
  gather_facts: false
  tasks:
    - sysvinit: name=bosun-rc state=restarted sleep=0 arguments=\"--now 'a b'\"
    - sysvinit: {name: bosun-rc, state: reloaded}
";
    fleet.play_expecting("restart.yml", restart, &[], 2);
    assert_eq!(
        fleet.on_host(0, RC_STATE),
        "4\n3\n1\nstart,stop --now a b,start --now a b,reload,"
    );

    let stop = "
- hosts: all
  gather_facts: false
  tasks:
    - sysvinit: {name: bosun-rc, state: stopped, enabled: false, runlevels: ['3', '5'], pattern: sleep 424242}
";
    fleet.play_expecting("stop.yml", stop, &[], 1);
    let state = fleet.on_host(0, RC_STATE);
    assert!(state.starts_with("2\n5\n0\n"), "{state}");
    assert_eq!(
        fleet.on_host(0, "ls /etc/rc3.d /etc/rc5.d | grep bosun-rc"),
        "K01bosun-rc\nK01bosun-rc"
    );
    fleet.play_expecting("stop.yml", stop, &[], 0);

    fleet.play_fails(
        "missing.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - sysvinit: name=bosun-no-such-rc state=started\n",
        &[],
        "Could not find the requested service bosun-no-such-rc: ",
    );
    let (code, out) = fleet.play(
        "bad.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - sysvinit: name=bosun-rc\n",
        &[],
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("one of the following is required: state, enabled"),
        "{out}"
    );
}

/// Every way of `sysvinit`, each result registered and written as JSON on the control
/// node (without the keys only one tool has).
const SYSVINIT_WAYS: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - sysvinit: {name: bosun-rc, enabled: true}
      register: a
    - sysvinit: {name: bosun-rc, state: started, pattern: "sleep 424242"}
      register: b
    - sysvinit: {name: bosun-rc, state: started, enabled: true}
      register: c
    - sysvinit: {name: bosun-rc, state: reloaded}
      register: d
    - sysvinit: {name: bosun-rc, state: restarted, sleep: 0, args: "x 'y z'"}
      register: e
    - sysvinit: {name: bosun-rc, state: stopped, enabled: false, runlevels: [3, 5]}
      register: f
    - sysvinit: {name: bosun-rc, state: stopped, pattern: "sleep 424242"}
      register: g
    - sysvinit: {name: bosun-no-such-rc, state: started}
      register: h
      ignore_errors: true
    - sysvinit: {name: bosun-rc, enabled: true, runlevels: [3]}
      register: i
    - sysvinit: {name: bosun-rc, state: started, daemonize: true, pattern: "sleep 424242"}
      register: j
    - copy:
        dest: "{{ out }}"
        content: "{{ [a, b, c, d, e, f, g, h, i, j] | map('dict2items')
          | map('rejectattr', 'key', 'in', ['ansible_facts', 'exception', 'invocation', 'warnings'])
          | map('items2dict') | to_nice_json(sort_keys=true) }}"
      delegate_to: localhost
"#;

#[test]
fn sysvinit_reports_and_does_what_ansible_does() {
    let Some(bin) = ansible_or_skip("sysvinit_reports_and_does_what_ansible_does") else {
        return;
    };
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["python3"]);
    let _turn = rc_turn();
    let seen = fleet.ansible_then_bosun(
        &bin,
        SYSVINIT_WAYS,
        || fresh_init_script(fleet),
        || fleet.on_host(0, RC_STATE),
    );
    assert_eq!(
        seen[1].0, seen[0].0,
        "bosun's results (left) against Ansible's (right)"
    );
    assert_eq!(seen[1].1, seen[0].1, "the effects on the host");
    // Started twice: `service bosun-rc status` asks systemd, which did not start it.
    assert_eq!(
        seen[0].1,
        "3\n4\n1\nstart,start,reload,stop x y z,start x y z,stop,"
    );
}

const APT_LOOP: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - apt: name={{ item }}
      loop: [vim-tiny, vim-common, openssh-server, dbus]
";

/// Runs `playbook` with bosun counting its round trips and showing what it sends
/// (`-vvvv`): the recap's `changed=` word, the count, and how many `dpkg-query`s the
/// target was asked to run.
fn counted_play(fleet: &SystemdFleet, playbook: &str) -> (String, String, usize) {
    let (out, trips) = shown_play(fleet, playbook);
    (
        fleet.changed(0, &out),
        trips,
        out.matches("dpkg-query -W").count(),
    )
}

#[test]
fn an_apt_loop_asks_one_question_and_each_item_sees_the_ones_before() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let _turn = fleet.apt_turn();
    fleet.on_host(
        0,
        // A freshly booted container's apt-daily may hold the lists' lock a while.
        "apt-get purge -y -q vim-tiny vim-common >/dev/null 2>&1; \
         for i in 1 2 3 4 5 6 7 8 9 10; do apt-get update -q >/dev/null 2>&1 && break; sleep 3; done",
    );
    // vim-tiny pulls vim-common in as automatic: the second item must see it installed
    // (asking again, as the first item changed the host) and only mark it manual, as
    // Ansible does, not install it.
    let (changed, _, asked) = counted_play(fleet, APT_LOOP);
    assert_eq!(changed, "changed=1");
    assert!(asked > 1, "the items after the change asked again: {asked}");
    assert_eq!(
        fleet.on_host(
            0,
            "dpkg-query -W -f='${Status} ' vim-tiny vim-common; apt-mark showauto vim-common | wc -l"
        ),
        "install ok installed install ok installed 0"
    );
    assert_eq!(
        counted_play(fleet, APT_LOOP),
        ("changed=0".to_string(), "1".to_string(), 1),
        "a converged loop asks one question, once, for all its items"
    );
}

const SERVICE_LOOP: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: the loop
      systemd:
        name: \"{{ item.name }}\"
        state: started
        enabled: \"{{ item.enabled | default(omit) }}\"
      loop: &units
        - {name: ssh, enabled: true}
        - {name: sshd}
        - {name: systemd-journald, enabled: true}
        - {name: bosun-looper, enabled: true}
      register: looped
    - name: one by one
      systemd:
        name: \"{{ item.name }}\"
        state: started
        enabled: \"{{ item.enabled | default(omit) }}\"
      loop: *units
      loop_control:
        pause: 0.01
      register: alone
    - name: the same answers
      assert:
        that:
          - looped.results[item].changed == alone.results[item].changed
          - looped.results[item].enabled | default('-') == alone.results[item].enabled | default('-')
          - looped.results[item].state == alone.results[item].state
          - looped.results[item].status.Id == alone.results[item].status.Id
          - looped.results[item].status.ActiveState == alone.results[item].status.ActiveState
          - looped.results[item].status.UnitFileState == alone.results[item].status.UnitFileState
          - looped.results[item].status.FragmentPath == alone.results[item].status.FragmentPath
          - looped.results[item].status | length == alone.results[item].status | length
      loop: [0, 1, 2, 3]
";

#[test]
fn a_service_loop_asks_one_systemctl_show_for_all_its_units() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let _turn = manager_turn();
    // A unit of its own: the other systemd tests start from no bosun-sleeper.
    fleet.play(
        "looper.yml",
        &UNIT.replace("bosun-sleeper", "bosun-looper"),
        &[],
    );
    let (changed, _, _) = counted_play(fleet, SERVICE_LOOP);
    assert_eq!(changed, "changed=0");

    let only_the_loop = &SERVICE_LOOP[..SERVICE_LOOP.find("    - name: one by one").unwrap_or(0)];
    let (out, trips) = shown_play(fleet, only_the_loop);
    let asked_all = "systemctl show -- bosun-looper ssh sshd systemd-journald";
    assert_eq!(out.matches(asked_all).count(), 1, "{out}");
    assert_eq!(
        out.matches("systemctl show -- ").count(),
        2,
        "only the alias sshd asks again, alone: {out}"
    );
    assert_eq!(trips, "2");
}

/// Runs `playbook` showing what bosun sends (`-vvvv`) and counting its round trips.
fn shown_play(fleet: &SystemdFleet, playbook: &str) -> (String, String) {
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    scratch.write("play.yml", playbook);
    let ran = scratch.bosun_with(
        &["run", "play.yml", "-i", "hosts.ini", "-vvvv"],
        &[
            ("HOME", fleet.home()),
            ("BOSUN_ROUND_TRIPS", std::path::Path::new("1")),
        ],
    );
    let out = stdout(&ran);
    assert!(ran.status.success(), "{out}");
    let trips = common::stderr(&ran)
        .lines()
        .find_map(|l| {
            l.strip_prefix("bosun: ")?
                .strip_suffix(" round trips to targets")
        })
        .unwrap_or_default()
        .to_string();
    (out, trips)
}

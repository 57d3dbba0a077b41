//! `getent`, `sysctl`, `hostname`, `authorized_key` and `cron` run by the real binary
//! over SSH against a Debian container with systemd as PID 1 (one container, shared by
//! the tests of this file), checked there with the system's own tools.

mod common;

use common::ansible::ansible_or_skip;
use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

#[test]
fn getent_sets_facts_from_the_target_databases() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - getent: database=passwd key=root
    - getent:
        database: shadow
        key: root
    - getent: database=group
    - getent: database=gshadow key=bosun-nobody fail_key=false
      register: missing
    - name: write what the facts say
      copy:
        dest: /tmp/getent-facts
        content: |
          {{ getent_passwd.root[4] }}|{{ getent_passwd.root[5] }}
          {{ getent_shadow.root[1] }}
          {{ getent_group.root[1] }}
          {{ getent_gshadow['bosun-nobody'] is none }}|{{ missing.msg }}
";
    let (code, out) = fleet.play("getent.yml", playbook, &[]);
    assert_eq!(code, 0, "{out}");
    let shell = fleet.on_host(0, "getent passwd root | cut -d: -f7");
    let home = fleet.on_host(0, "getent passwd root | cut -d: -f6");
    let last_change = fleet.on_host(0, "getent shadow root | cut -d: -f3");
    assert!(last_change.parse::<u32>().is_ok(), "{last_change}");
    assert_eq!(
        fleet.on_host(0, "cat /tmp/getent-facts"),
        format!(
            "{home}|{shell}\n{last_change}\n0\nTrue|One or more supplied key could not be found in the database."
        ),
        "the facts hold the target's entries"
    );

    let failing = "
- hosts: all
  gather_facts: false
  tasks:
    - getent: database=passwd key=bosun-nobody
";
    fleet.play_fails(
        "missing.yml",
        failing,
        &["--check"],
        "One or more supplied key could not be found in the database.",
    );
}

const SYSCTL: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - sysctl:
        name: net.core.somaxconn
        value: '{{ conns }}'
        sysctl_file: /etc/sysctl.d/90-bosun-test.conf
        sysctl_set: true
";

#[test]
fn sysctl_sets_the_file_and_the_kernel() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let live = "sysctl -n net.core.somaxconn";
    let file = "cat /etc/sysctl.d/90-bosun-test.conf 2>/dev/null || echo missing";
    // nspawn mounts /proc/sys read-only; the container has a network namespace of its
    // own, so making /proc/sys/net writable there touches nothing outside it.
    fleet.on_host(
        0,
        "mountpoint -q /proc/sys/net || { mount --bind /proc/sys/net /proc/sys/net && \
         mount -o remount,bind,rw /proc/sys/net; }",
    );
    fleet.on_host(0, "printf '# tuning\\nnet.ipv4.ip_local_port_range = 32768\\t60999\\n' > /etc/sysctl.d/90-bosun-test.conf");
    let original = fleet.on_host(0, live);
    let wanted = if original == "1111" { "2222" } else { "1111" };
    let extra = format!("conns={wanted}");

    let out = fleet.play_expecting(
        "sysctl.yml",
        SYSCTL,
        &["-e", &extra, "--check", "--diff"],
        1,
    );
    assert!(
        out.contains(&format!("+net.core.somaxconn={wanted}")),
        "{out}"
    );
    assert_eq!(
        fleet.on_host(0, live),
        original,
        "check mode left the kernel"
    );
    assert_eq!(
        fleet.on_host(0, file),
        "# tuning\nnet.ipv4.ip_local_port_range = 32768\t60999"
    );

    fleet.play_expecting("sysctl.yml", SYSCTL, &["-e", &extra], 1);
    assert_eq!(fleet.on_host(0, live), wanted);
    assert_eq!(
        fleet.on_host(0, file),
        format!("# tuning\nnet.ipv4.ip_local_port_range=32768\t60999\nnet.core.somaxconn={wanted}"),
        "rewritten as Ansible's module writes it"
    );
    fleet.play_expecting("sysctl.yml", SYSCTL, &["-e", &extra], 0);

    let absent = "
- hosts: all
  gather_facts: false
  tasks:
    - sysctl: name=net.core.somaxconn state=absent sysctl_file=/etc/sysctl.d/90-bosun-test.conf
";
    fleet.play_expecting("absent.yml", absent, &[], 1);
    assert_eq!(
        fleet.on_host(0, file),
        "# tuning\nnet.ipv4.ip_local_port_range=32768\t60999"
    );

    let bogus = "
- hosts: all
  gather_facts: false
  tasks:
    - sysctl: name=net.core.bosun_no_such_key value=1 sysctl_file=/etc/sysctl.d/91-bosun-bogus.conf
";
    let out = fleet.play_fails("bogus.yml", bogus, &[], "Failed to reload sysctl");
    assert!(out.contains("bosun_no_such_key"), "{out}");
}

#[test]
fn hostname_renames_through_hostnamectl_and_etc_hostname() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let names = "hostname; cat /etc/hostname";
    let original = fleet.on_host(0, "hostname");
    let rename = |name: &str, strategy: &str| {
        format!(
            "
- hosts: all
  gather_facts: false
  tasks:
    - hostname: name={name} {strategy}
      register: renamed
    - copy: dest=/tmp/hostname-facts content='{{{{ ansible_hostname }}}} {{{{ ansible_domain }}}}'
"
        )
    };
    let playbook = rename("bosun-web1.example.net", "");
    fleet.play_expecting("hostname.yml", &playbook, &["--check"], 2);
    assert_eq!(fleet.on_host(0, "hostname"), original, "check mode left it");

    let (code, out) = fleet.play("hostname.yml", &playbook, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.on_host(0, names),
        "bosun-web1.example.net\nbosun-web1.example.net"
    );
    assert_eq!(
        fleet.on_host(0, "hostnamectl --static"),
        "bosun-web1.example.net"
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/hostname-facts"),
        "bosun-web1 example.net"
    );
    fleet.play_expecting("hostname.yml", &playbook, &[], 0);

    let playbook = rename(&original, "use=debian");
    let (code, out) = fleet.play("back.yml", &playbook, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fleet.on_host(0, names), format!("{original}\n{original}"));
    let (_, out) = fleet.play("back.yml", &playbook, &[]);
    assert_eq!(fleet.changed(0, &out), "changed=0", "{out}");

    let playbook = rename("other", "use=solaris");
    fleet.play_fails(
        "solaris.yml",
        &playbook,
        &[],
        "hostname strategy 'solaris' is not supported by bosun",
    );
    assert_eq!(fleet.on_host(0, "hostname"), original);
}

const KEY_A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBosunKeyA alice@laptop";
const KEY_B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABosunKeyB bob@desk";

fn key_playbook(task: &str) -> String {
    format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - user: name=keyuser shell=/bin/sh
    - authorized_key:
{task}
"
    )
}

#[test]
fn authorized_key_adds_replaces_and_removes_keys() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let keys = "cat /home/keyuser/.ssh/authorized_keys 2>/dev/null || echo missing";
    let modes = "stat -c '%a %U %G' /home/keyuser/.ssh /home/keyuser/.ssh/authorized_keys";
    let add = key_playbook(&format!(
        "        user: keyuser\n        key: '{KEY_A}'\n        key_options: 'no-pty,from=\"198.51.100.0/24\"'"
    ));
    fleet.play(
        "user.yml",
        &key_playbook("        user: keyuser\n        key: ''\n        state: absent"),
        &[],
    );

    fleet.play_expecting("add.yml", &add, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, keys),
        "missing",
        "check mode wrote nothing"
    );

    fleet.play_expecting("add.yml", &add, &[], 1);
    assert_eq!(
        fleet.on_host(0, keys),
        format!("no-pty,from=\"198.51.100.0/24\" {KEY_A}")
    );
    assert_eq!(
        fleet.on_host(0, modes),
        "700 keyuser keyuser\n600 keyuser keyuser"
    );
    let (_, out) = fleet.play("add.yml", &add, &[]);
    assert_eq!(fleet.changed(0, &out), "changed=0", "{out}");

    fleet.on_host(
        0,
        "echo '# kept by hand' >> /home/keyuser/.ssh/authorized_keys",
    );
    let both = key_playbook(&format!(
        "        user: keyuser\n        key: |\n          {KEY_A}\n          {KEY_B}\n        exclusive: true"
    ));
    let out = fleet.play_expecting("both.yml", &both, &["--diff"], 1);
    assert!(out.contains(&format!("+{KEY_B}")), "{out}");
    assert_eq!(
        fleet.on_host(0, keys),
        format!("{KEY_A}\n{KEY_B}"),
        "options dropped (the key is replaced at the end), the hand-made line removed"
    );
    assert_eq!(
        fleet.on_host(0, modes),
        "700 keyuser keyuser\n600 keyuser keyuser"
    );
    let (_, out) = fleet.play("both.yml", &both, &[]);
    assert_eq!(fleet.changed(0, &out), "changed=0", "{out}");

    let remove = key_playbook(&format!(
        "        user: keyuser\n        key: '{KEY_A}'\n        state: absent"
    ));
    fleet.play_expecting("remove.yml", &remove, &[], 1);
    assert_eq!(fleet.on_host(0, keys), KEY_B);

    let bad = key_playbook("        user: keyuser\n        key: not-a-key");
    fleet.play_fails("bad.yml", &bad, &[], "invalid key specified: not-a-key");
    let nouser = "
- hosts: all
  gather_facts: false
  tasks:
    - authorized_key: user=bosun-nobody key='ssh-ed25519 AAAA'
";
    fleet.play_fails(
        "nouser.yml",
        nouser,
        &[],
        "Failed to lookup user bosun-nobody",
    );
}

const CRONTAB: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - user: name=cronuser shell=/bin/sh
    - cron:
        name: PATH
        env: true
        job: /usr/bin:/bin
        user: cronuser
    - cron:
        name: backup
        user: cronuser
        minute: '5'
        hour: '2'
        job: /usr/local/bin/backup
    - name: a job Ansible wrote, updated in place
      cron: name=legacy user=cronuser special_time=daily job=/usr/local/bin/new
";

#[test]
fn cron_manages_user_crontabs_and_cron_files() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.play_fails(
        "nocron.yml",
        CRONTAB,
        &[],
        "crontab is not installed on the target: install the 'cron' package",
    );
    fleet.apt_install(&["cron"]);

    let crontab = "crontab -l -u cronuser 2>&1";
    fleet.on_host(
        0,
        "printf '#Ansible: legacy\\n0 0 * * * /usr/local/bin/old\\n' | crontab -u cronuser -",
    );
    fleet.play_expecting("crontab.yml", CRONTAB, &["--check"], 3);
    assert_eq!(
        fleet.on_host(0, crontab),
        "#Ansible: legacy\n0 0 * * * /usr/local/bin/old",
        "check mode left it"
    );
    fleet.play_expecting("crontab.yml", CRONTAB, &[], 3);
    assert_eq!(
        fleet.on_host(0, crontab),
        "PATH=\"/usr/bin:/bin\"\n#Ansible: legacy\n@daily /usr/local/bin/new\n#Ansible: backup\n5 2 * * * /usr/local/bin/backup"
    );
    fleet.play_expecting("crontab.yml", CRONTAB, &[], 0);

    let cron_file = "
- hosts: all
  gather_facts: false
  tasks:
    - cron:
        name: rotate
        cron_file: bosun-rotate
        user: nobody
        weekday: '1-5'
        minute: '*/10'
        job: /bin/true
        disabled: '{{ off | default(false) }}'
    - cron: name=backup user=cronuser state=absent
    - cron: name=SHELL env=true job=/bin/sh insertbefore=NOPE user=cronuser
";
    let file = "stat -c %a /etc/cron.d/bosun-rotate; cat /etc/cron.d/bosun-rotate";
    fleet.play_fails(
        "file.yml",
        cron_file,
        &[],
        "Variable named 'NOPE' not found.",
    );
    assert_eq!(
        fleet.on_host(0, file),
        "644\n#Ansible: rotate\n*/10 * * * 1-5 nobody /bin/true"
    );
    assert_eq!(
        fleet.on_host(0, crontab),
        "PATH=\"/usr/bin:/bin\"\n#Ansible: legacy\n@daily /usr/local/bin/new"
    );
    let (code, out) = fleet.play("file.yml", cron_file, &["-e", "off=true"]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(fleet.changed(0, &out), "changed=1", "{out}");
    assert_eq!(
        fleet.on_host(0, file),
        "644\n#Ansible: rotate\n#*/10 * * * 1-5 nobody /bin/true"
    );
    let (_, out) = fleet.play("file.yml", cron_file, &["-e", "off=true"]);
    assert_eq!(fleet.changed(0, &out), "changed=0", "{out}");

    let backups = "
- hosts: all
  gather_facts: false
  tasks:
    - cron: name=legacy user=cronuser special_time=weekly job=/usr/local/bin/new backup=true
      register: saved
    - cron: name=rotate cron_file=bosun-rotate user=nobody minute=0 job=/bin/true backup=true
      register: saved_file
    - copy:
        dest: /tmp/cron-backups
        content: \"{{ saved.backup_file }} {{ saved_file.backup_file }}\"
";
    fleet.play_expecting("backups.yml", backups, &[], 3);
    assert_eq!(
        fleet.on_host(0, "cat $(cat /tmp/cron-backups)"),
        "PATH=\"/usr/bin:/bin\"\n#Ansible: legacy\n@daily /usr/local/bin/new\n\
         #Ansible: rotate\n#*/10 * * * 1-5 nobody /bin/true",
        "the crontab and the cron file as they were before"
    );
    assert_eq!(
        fleet.on_host(0, file),
        "644\n#Ansible: rotate\n0 * * * * nobody /bin/true"
    );
}

#[test]
fn user_locks_expires_and_ages_a_password_and_a_system_user_gets_a_home() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let _turn = accounts_turn();
    let playbook = |lock: bool| {
        format!(
            "- hosts: all
  gather_facts: false
  tasks:
    - user:
        name: agingu
        password: '$6$salt$hash'
        password_lock: {lock}
        expires: 1767225600
        password_expire_max: 90
        password_expire_warn: 14
    - user: {{name: sysu, system: true}}
"
        )
    };
    let shadow = "getent shadow agingu | cut -d: -f2,5,6,8; test -d /home/sysu && echo sysu-home";
    let (code, out) = fleet.play("aging-check.yml", &playbook(true), &["--check"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fleet.changed(0, &out), "changed=2", "{out}");
    assert_eq!(fleet.on_host(0, shadow), "", "check mode touched nothing");
    fleet.play_expecting("aging.yml", &playbook(true), &[], 2);
    // The values ansible-playbook 2.19 leaves for the same tasks.
    assert_eq!(
        fleet.on_host(0, shadow),
        "!$6$salt$hash:90:14:20454\nsysu-home"
    );
    fleet.play_expecting("aging.yml", &playbook(true), &[], 0);
    fleet.play_expecting("unlock.yml", &playbook(false), &[], 1);
    assert_eq!(
        fleet.on_host(0, "getent shadow agingu | cut -d: -f2"),
        "$6$salt$hash"
    );
    fleet.play_expecting(
        "cleanup.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - user: {name: agingu, state: absent, remove: true}\n    - user: {name: sysu, state: absent, remove: true}\n",
        &[],
        2,
    );
}

/// `user` tasks whose results and effects are compared with ansible-playbook's: a new
/// account, converged ones, a removed home made again (in check mode only reported),
/// a home moved by name only and then made, a new primary group, the removal.
/// A turn at the container's accounts: the user tests number the accounts they make,
/// so they take turns.
fn accounts_turn() -> std::sync::MutexGuard<'static, ()> {
    static ACCOUNTS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `playbook` under ansible-playbook 2.19.14 and under bosun on the shared
/// container, `reset` run there before each, and requires the same results of both;
/// gives the container, the turn at its accounts (held until dropped) and the results.
fn accounts_as_ansible_leaves_them(
    test: &str,
    playbook: &str,
    reset: &str,
) -> Option<(
    &'static SystemdFleet,
    std::sync::MutexGuard<'static, ()>,
    String,
)> {
    let bin = ansible_or_skip(test)?;
    let fleet = or_skip(SystemdFleet::shared())?;
    let turn = accounts_turn();
    fleet.apt_install(&["python3"]);
    let reset = || {
        fleet.on_host(0, reset);
    };
    let [(theirs, _), (ours, _)] = fleet.ansible_then_bosun(&bin, playbook, reset, String::new);
    assert_eq!(
        ours, theirs,
        "bosun's results (left) against Ansible's (right)"
    );
    Some((fleet, turn, theirs))
}

const USER_WAYS: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - user: {name: bosun-hu, groups: [adm, "", audio], shell: /bin/sh, comment: "Home U"}
      register: a
    - user: {name: bosun-hu, groups: [audio], append: true}
      register: b
    - user: {name: bosun-hu}
      register: c
    - command: rm -rf /home/bosun-hu
    - user: {name: bosun-hu}
      check_mode: true
      register: d
    - user: {name: bosun-hu, skeleton: /etc/skel}
      register: e
    - user: {name: bosun-hu, home: /srv/hu/home, create_home: false}
      register: f
    - user: {name: bosun-hu, home: /srv/hu/home}
      register: g
    - shell: stat -c '%a %U %G %n' /home/bosun-hu /home/bosun-hu/.bashrc /srv/hu /srv/hu/home /srv/hu/home/.profile
      register: homes
    - user: {name: bosun-hu, group: audio}
      register: h
    - user: {name: bosun-hu, state: absent, remove: true}
      register: i
    - copy:
        dest: "{{ out }}"
        content: "{{ (([a, b, c, d, e, f, g, h, i] | map('dict2items')
          | map('rejectattr', 'key', 'in', ['ansible_facts', 'exception', 'invocation', 'warnings'])
          | map('items2dict') | list) + [homes.stdout]) | to_nice_json(sort_keys=true) }}"
      delegate_to: localhost
"#;

#[test]
fn user_reports_and_does_what_ansible_does() {
    let Some((_, _turn, theirs)) = accounts_as_ansible_leaves_them(
        "user_reports_and_does_what_ansible_does",
        USER_WAYS,
        "rm -rf /home/bosun-hu /srv/hu; groupdel bosun-hu 2>/dev/null; true",
    ) else {
        return;
    };
    assert!(
        theirs.contains("755 bosun-hu bosun-hu /home/bosun-hu\\n")
            && theirs.contains("755 root root /srv/hu")
            && theirs.contains("644 bosun-hu bosun-hu /srv/hu/home/.profile"),
        "both homes made again from the skeleton, owned by the account: {theirs}"
    );
}

const USER_LOOPS: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - user: {name: "{{ item }}", shell: /bin/sh}
      loop: [bosun-la, bosun-lb]
      register: made
    - command: rm -rf /home/bosun-lb
    - user:
        name: "{{ item.name }}"
        shell: /bin/sh
        groups: "{{ item.groups | default(omit) }}"
      loop: [{name: bosun-la}, {name: bosun-lb}, {name: bosun-lc, groups: [audio]}, {name: bosun-ld}]
      check_mode: true
      register: checked
    - user:
        name: "{{ item.name }}"
        shell: /bin/sh
        groups: "{{ item.groups | default(omit) }}"
      loop: [{name: bosun-la}, {name: bosun-lb}, {name: bosun-lc, groups: [audio]}]
      register: again
    - shell: stat -c '%a %U %n' /home/bosun-la /home/bosun-lb /home/bosun-lc
      register: homes
    - user: {name: "{{ item }}", state: absent, remove: true}
      loop: [bosun-la, bosun-lb, bosun-lc, bosun-ld]
      register: gone
    - copy:
        dest: "{{ out }}"
        content: "{{ (([made, checked, again, gone] | map(attribute='results') | flatten
          | map('dict2items')
          | map('rejectattr', 'key', 'in', ['ansible_facts', 'exception', 'invocation', 'warnings'])
          | map('items2dict') | list) + [homes.stdout]) | to_nice_json(sort_keys=true) }}"
      delegate_to: localhost
"#;

#[test]
fn user_loops_ask_one_question_and_report_what_ansible_reports() {
    let reset =
        "for u in la lb lc ld; do userdel -r bosun-$u; groupdel bosun-$u; done 2>/dev/null; true";
    let Some((fleet, _turn, theirs)) = accounts_as_ansible_leaves_them(
        "user_loops_ask_one_question_and_report_what_ansible_reports",
        USER_LOOPS,
        reset,
    ) else {
        return;
    };
    assert!(
        theirs.contains("755 bosun-lb /home/bosun-lb"),
        "the missing home made again: {theirs}"
    );

    let converged = &USER_LOOPS[..USER_LOOPS.find("    - command:").unwrap_or(0)];
    let scratch = common::Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    scratch.write("loop.yml", converged);
    let run = || {
        scratch.bosun_with(
            &["run", "loop.yml", "-i", "hosts.ini", "-vvvv"],
            &[
                ("HOME", fleet.home()),
                ("BOSUN_ROUND_TRIPS", std::path::Path::new("1")),
            ],
        )
    };
    run();
    let ran = run();
    let out = common::stdout(&ran);
    assert!(ran.status.success(), "{out}");
    assert_eq!(
        out.matches("getent passwd bosun-la bosun-lb").count(),
        1,
        "{out}"
    );
    assert!(
        common::stderr(&ran).contains("bosun: 1 round trips to targets"),
        "{}",
        common::stderr(&ran)
    );
    fleet.on_host(0, reset);
}

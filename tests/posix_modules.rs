//! `mount`, `acl`, `patch` and the other modules of ansible.posix and community.general
//! that drive the target's own tools, run by the real binary over SSH against a Debian
//! container with systemd as PID 1 (one container, shared by the tests of this file),
//! checked there with the tools themselves (`findmnt`, `getfacl`, `cat`).

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

const MOUNTS: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: a tmpfs
      mount:
        path: /mnt/bosun/t
        src: tmpfs
        fstype: tmpfs
        opts: '{{ size }}'
        state: mounted
        backup: true
      register: tmpfs
    - name: a bind mount
      ansible.posix.mount: path=/mnt/bosun-b src=/srv/bosun-data fstype=none opts=bind state=mounted
    - debug: var=tmpfs
";

/// What the container says about a mount point: its source and options, or `none`.
fn mounted(fleet: &SystemdFleet, path: &str) -> String {
    fleet.on_host(
        0,
        &format!("findmnt -n -o FSTYPE,OPTIONS --mountpoint {path} || echo none"),
    )
}

/// fstab's lines that name `/mnt/bosun`.
fn fstab(fleet: &SystemdFleet) -> String {
    fleet.on_host(0, "grep /mnt/bosun /etc/fstab || true")
}

#[test]
fn mount_writes_fstab_mounts_remounts_and_unmounts() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(0, "mkdir -p /srv/bosun-data && echo hi > /srv/bosun-data/f");

    let out = fleet.play_expecting("mounts.yml", MOUNTS, &["-e", "size=size=1m", "--check"], 2);
    assert!(out.contains("\"backup_file\": \"\""), "{out}");
    assert_eq!(
        mounted(fleet, "/mnt/bosun/t"),
        "none",
        "check mode mounts nothing"
    );
    assert_eq!(fstab(fleet), "", "check mode leaves fstab");
    assert_eq!(
        fleet.on_host(0, "ls -d /mnt/bosun 2>&1 || true"),
        "ls: cannot access '/mnt/bosun': No such file or directory"
    );

    let out = fleet.play_expecting("mounts.yml", MOUNTS, &["-e", "size=size=1m"], 2);
    assert!(out.contains("\"opts\": \"size=1m\""), "{out}");
    assert!(out.contains("\"boot\": \"yes\""), "{out}");
    assert!(
        mounted(fleet, "/mnt/bosun/t").starts_with("tmpfs "),
        "{out}"
    );
    assert!(mounted(fleet, "/mnt/bosun/t").contains("size=1024k"));
    assert_eq!(fleet.on_host(0, "cat /mnt/bosun-b/f"), "hi", "bound");
    assert_eq!(
        fstab(fleet),
        "tmpfs /mnt/bosun/t tmpfs size=1m 0 0\n/srv/bosun-data /mnt/bosun-b none bind 0 0"
    );
    fleet.play_expecting("mounts.yml", MOUNTS, &["-e", "size=size=1m"], 0);

    let out = fleet.play_expecting("mounts.yml", MOUNTS, &["-e", "size=size=2m"], 1);
    assert!(
        mounted(fleet, "/mnt/bosun/t").contains("size=2048k"),
        "remounted: {out}"
    );
    let backup = fleet.on_host(0, "grep -l 'size=1m' /etc/fstab.*~");
    assert!(
        out.contains(&format!("\"backup_file\": \"{backup}\"")),
        "{backup}: {out}"
    );
    fleet.on_host(0, "rm -f /etc/fstab.*~");

    let unmount = "
- hosts: all
  gather_facts: false
  tasks:
    - mount: path=/mnt/bosun-b state=unmounted
    - mount: path=/mnt/bosun-e src=tmpfs fstype=tmpfs opts=size=64k state=ephemeral
";
    fleet.play_expecting("unmount.yml", unmount, &[], 2);
    assert_eq!(mounted(fleet, "/mnt/bosun-b"), "none");
    assert!(mounted(fleet, "/mnt/bosun-e").contains("size=64k"));
    assert!(!fstab(fleet).contains("bosun-e"), "ephemeral: not in fstab");
    assert!(
        fstab(fleet).contains("bosun-b"),
        "unmounted: still in fstab"
    );
    fleet.play_expecting("unmount.yml", unmount, &["-e", "x=1"], 1);
    fleet.on_host(0, "umount /mnt/bosun-e");

    let bad = "
- hosts: all
  gather_facts: false
  tasks:
    - mount: path=/mnt/bosun/bad/deep src=tmpfs fstype=nosuchfs state=mounted
";
    fleet.play_fails(
        "bad.yml",
        bad,
        &[],
        "Error mounting /mnt/bosun/bad/deep: mount: /mnt/bosun/bad/deep: unknown filesystem type 'nosuchfs'",
    );
    assert!(!fstab(fleet).contains("nosuchfs"), "fstab put back");
    assert_eq!(
        fleet.on_host(0, "ls /mnt/bosun"),
        "t",
        "the directories made are removed"
    );
    let missing = "
- hosts: all
  gather_facts: false
  tasks:
    - mount: path=/mnt/bosun/x state=present
";
    fleet.play_fails(
        "missing.yml",
        missing,
        &[],
        "state is present but all of the following are missing: src, fstype",
    );

    let absent = "
- hosts: all
  gather_facts: false
  tasks:
    - mount: path=/mnt/bosun/t state=absent
    - mount: path=/mnt/bosun-b state=absent_from_fstab
";
    fleet.play_expecting("absent.yml", absent, &[], 2);
    assert_eq!(fstab(fleet), "");
    assert_eq!(mounted(fleet, "/mnt/bosun/t"), "none");
    assert_eq!(
        fleet.on_host(0, "ls -A /mnt/bosun"),
        "",
        "the mount point is removed"
    );
    fleet.play_expecting("absent.yml", absent, &[], 0);
}

const ACL: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: nobody may read the file
      acl: path=/srv/bosun-acl/f etype=user entity=nobody permissions=r state=present
    - name: daemon reads everything made in the tree (of directories only, since a file
        in it would show `*,*` to `setfacl --test` and Ansible would change nothing)
      ansible.posix.acl:
        path: /srv/bosun-acl/tree
        entry: default:group:daemon:rx
        recursive: true
        state: present
      register: tree
    - debug: var=tree.acl
";

#[test]
fn acl_sets_keeps_and_removes_entries() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["acl"]);
    fleet.on_host(
        0,
        "mkdir -p /srv/bosun-acl/tree/sub && echo x > /srv/bosun-acl/f",
    );
    let file_acl = "getfacl --omit-header /srv/bosun-acl/f 2>/dev/null";
    let before = fleet.on_host(0, file_acl);
    assert!(!before.contains("nobody"), "{before}");

    fleet.play_expecting("acl.yml", ACL, &["--check"], 2);
    assert_eq!(
        fleet.on_host(0, file_acl),
        before,
        "check mode sets nothing"
    );

    let out = fleet.play_expecting("acl.yml", ACL, &[], 2);
    assert!(fleet.on_host(0, file_acl).contains("user:nobody:r--"));
    assert!(
        fleet
            .on_host(
                0,
                "getfacl -d --omit-header /srv/bosun-acl/tree/sub 2>/dev/null"
            )
            .contains("group:daemon:r-x"),
        "recursive default entry"
    );
    assert!(
        out.contains("\"group:daemon:r-x\""),
        "the default ACL after the change: {out}"
    );
    fleet.play_expecting("acl.yml", ACL, &[], 0);

    let absent = "
- hosts: all
  gather_facts: false
  tasks:
    - acl: path=/srv/bosun-acl/f etype=user entity=nobody state=absent
    - acl: path=/srv/bosun-acl/tree entry=d:g:daemon recursive=true state=absent
";
    fleet.play_expecting("absent.yml", absent, &[], 2);
    assert_eq!(
        fleet.on_host(0, file_acl),
        "user::rw-\ngroup::r--\nmask::r--\nother::r--",
        "the entry is gone, the mask stays (as setfacl -x leaves it)"
    );
    fleet.play_expecting("absent.yml", absent, &[], 0);

    let bad = "
- hosts: all
  gather_facts: false
  tasks:
    - acl: path=/srv/bosun-acl/f entry=u:nobody:r etype=user state=present
";
    fleet.play_fails(
        "bad.yml",
        bad,
        &[],
        "'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set.",
    );
    let nfs = "
- hosts: all
  gather_facts: false
  tasks:
    - acl: path=/srv/bosun-acl/f use_nfsv4_acls=true
";
    fleet.play_fails("nfs.yml", nfs, &[], "use_nfsv4_acls is not supported");
    let missing = "
- hosts: all
  gather_facts: false
  tasks:
    - acl: path=/srv/bosun-acl/none
";
    fleet.play_fails(
        "missing.yml",
        missing,
        &[],
        "Path not found or not accessible.",
    );
}

/// A unified diff that turns `a b c` into `a B c`.
const FIX: &str = "--- app.conf\n+++ app.conf\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";

#[test]
fn patch_applies_once_and_reverts() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["patch"]);
    let control = common::Scratch::new();
    let fix = control.write("fix.patch", FIX);
    fleet.on_host(
        0,
        &format!(
            "mkdir -p /srv/bosun-patch && printf 'a\\nb\\nc\\n' > /srv/bosun-patch/app.conf && printf %s '{FIX}' > /srv/bosun-patch/remote.patch"
        ),
    );
    let conf = "cat /srv/bosun-patch/app.conf";
    let apply = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - patch: src={} dest=/srv/bosun-patch/app.conf backup=true
",
        fix.display()
    );
    fleet.play_expecting("apply.yml", &apply, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, conf),
        "a\nb\nc",
        "check mode patches nothing"
    );
    fleet.play_expecting("apply.yml", &apply, &[], 1);
    assert_eq!(fleet.on_host(0, conf), "a\nB\nc");
    assert_eq!(
        fleet.on_host(0, "cat /srv/bosun-patch/app.conf.~1~"),
        "a\nb\nc",
        "patch's numbered backup"
    );
    fleet.play_expecting("apply.yml", &apply, &[], 0);
    assert_eq!(
        fleet.on_host(0, "ls /srv/bosun-patch"),
        "app.conf\napp.conf.~1~\nremote.patch",
        "the uploaded patch is removed"
    );

    let revert = "
- hosts: all
  gather_facts: false
  tasks:
    - ansible.posix.patch:
        src: /srv/bosun-patch/remote.patch
        remote_src: true
        basedir: /srv/bosun-patch
        state: absent
";
    fleet.play_expecting("revert.yml", revert, &[], 1);
    assert_eq!(fleet.on_host(0, conf), "a\nb\nc");
    fleet.play_expecting("revert.yml", revert, &[], 0);

    fleet.on_host(0, "printf 'x\\ny\\n' > /srv/bosun-patch/app.conf");
    fleet.play_fails("apply.yml", &apply, &["--check"], "1 out of 1 hunk FAILED");
    assert_eq!(fleet.on_host(0, conf), "x\ny");
    let missing = "
- hosts: all
  gather_facts: false
  tasks:
    - patch: src=fix.patch
";
    fleet.play_fails(
        "missing.yml",
        missing,
        &[],
        "one of the following is required: dest, basedir",
    );
}

const UFW: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: ssh stays open
      ufw: rule=allow port=22 proto=tcp
    - name: on, refusing the rest
      community.general.ufw: state=enabled policy=deny
    - name: the app, from the inside
      ufw:
        rule: allow
        port: '8080'
        proto: tcp
        from_ip: 10.0.0.0/8
        comment: web app
";

#[test]
fn ufw_adds_rules_enables_and_deletes() {
    // The Docker-capable container has CAP_NET_ADMIN in its own network namespace.
    let Some(fleet) = or_skip(SystemdFleet::shared_docker()) else {
        return;
    };
    fleet.apt_install(&["ufw"]);
    let status = "ufw status | head -1";
    let out = fleet.play_expecting("ufw.yml", UFW, &["--check", "-v"], 3);
    assert!(
        out.contains(
            "--dry-run allow from 10.0.0.0/8 to any port 8080 proto tcp comment 'web app'"
        ),
        "{out}"
    );
    assert_eq!(fleet.on_host(0, status), "Status: inactive", "check mode");
    assert_eq!(
        fleet.on_host(0, "grep -c '^### tuple' /etc/ufw/user.rules || true"),
        "0"
    );

    fleet.play_expecting("ufw.yml", UFW, &[], 3);
    assert_eq!(fleet.on_host(0, status), "Status: active");
    let rules = fleet.on_host(0, "iptables -S ufw-user-input");
    assert!(
        rules.contains("-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT"),
        "{rules}"
    );
    assert!(
        rules.contains("-A ufw-user-input -s 10.0.0.0/8 -p tcp -m tcp --dport 8080 -j ACCEPT"),
        "{rules}"
    );
    assert!(
        fleet
            .on_host(0, "iptables -S INPUT")
            .contains("-P INPUT DROP")
    );
    fleet.play_expecting("ufw.yml", UFW, &[], 0);
    fleet.play_expecting("ufw.yml", UFW, &["--check"], 0);

    let delete = "
- hosts: all
  gather_facts: false
  tasks:
    - ufw: rule=allow port=8080 proto=tcp from_ip=10.0.0.0/8 delete=true
";
    fleet.play_expecting("delete.yml", delete, &[], 1);
    assert!(
        !fleet
            .on_host(0, "iptables -S ufw-user-input")
            .contains("8080")
    );
    fleet.play_expecting("delete.yml", delete, &[], 0);

    let bad = "
- hosts: all
  gather_facts: false
  tasks:
    - ufw: rule=allow port=bogus
";
    fleet.play_fails("bad.yml", bad, &[], "ERROR: Bad port 'bogus'");
    let no_direction = "
- hosts: all
  gather_facts: false
  tasks:
    - ufw: rule=allow interface=eth0
";
    fleet.play_fails(
        "nodir.yml",
        no_direction,
        &[],
        "missing parameter(s) required by 'interface': direction",
    );

    let reset = "
- hosts: all
  gather_facts: false
  tasks:
    - ufw: state=reset
";
    fleet.play_expecting("reset.yml", reset, &[], 1);
    assert_eq!(fleet.on_host(0, status), "Status: inactive");
}

const IPTABLES: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: the web port, new connections
      iptables:
        chain: INPUT
        protocol: tcp
        destination_port: '8081'
        ctstate: [NEW]
        jump: ACCEPT
        comment: bosun web
    - name: a chain of our own
      ansible.builtin.iptables: chain=BOSUN-TEST chain_management=true
    - name: nothing forwarded
      iptables: chain=FORWARD policy=DROP
";

#[test]
fn iptables_appends_creates_and_sets_policy() {
    let Some(fleet) = or_skip(SystemdFleet::shared_docker()) else {
        return;
    };
    fleet.apt_install(&["iptables"]);
    let rule = "-A INPUT -p tcp -m tcp --dport 8081 -m conntrack --ctstate NEW -m comment --comment \"bosun web\" -j ACCEPT";
    let rules = "iptables -S";
    let before = fleet.on_host(0, rules);
    fleet.play_expecting("iptables.yml", IPTABLES, &["--check"], 3);
    assert_eq!(fleet.on_host(0, rules), before, "check mode");

    fleet.play_expecting("iptables.yml", IPTABLES, &[], 3);
    let after = fleet.on_host(0, rules);
    assert!(after.contains(rule), "{after}");
    assert!(after.contains("-N BOSUN-TEST"), "{after}");
    assert!(after.contains("-P FORWARD DROP"), "{after}");
    fleet.play_expecting("iptables.yml", IPTABLES, &[], 0);
    assert_eq!(
        fleet.on_host(0, &format!("{rules} | grep -c 8081")),
        "1",
        "appended once"
    );

    let undo = "
- hosts: all
  gather_facts: false
  tasks:
    - iptables: chain=INPUT protocol=tcp destination_port=8081 ctstate=NEW jump=ACCEPT comment='bosun web' state=absent
    - iptables: chain=BOSUN-TEST chain_management=true state=absent
    - iptables: chain=FORWARD policy=ACCEPT
";
    fleet.play_expecting("undo.yml", undo, &[], 3);
    assert_eq!(fleet.on_host(0, rules), before);
    fleet.play_expecting("undo.yml", undo, &[], 0);

    let bad = "
- hosts: all
  gather_facts: false
  tasks:
    - iptables: chain=INPUT jump=NOSUCHTARGET
";
    fleet.play_fails(
        "bad.yml",
        bad,
        &[],
        "\"cmd\": \"/usr/sbin/iptables -t filter -A INPUT -j NOSUCHTARGET\"",
    );
    let no_chain = "
- hosts: all
  gather_facts: false
  tasks:
    - iptables: protocol=tcp
";
    fleet.play_fails(
        "nochain.yml",
        no_chain,
        &[],
        "flush is False but all of the following are missing: chain",
    );
}

#[test]
fn firewalld_without_firewalld_fails_only_when_it_runs() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let play = |when: &str| {
        format!(
            "
- hosts: all
  gather_facts: false
  tasks:
    - ansible.posix.firewalld:
        service: https
        zone: public
        permanent: true
        state: enabled
      when: {when}
    - debug: msg=after
"
        )
    };
    fleet.play_expecting("skipped.yml", &play("false"), &[], 0);
    let out = fleet.play_fails(
        "firewalld.yml",
        &play("true"),
        &[],
        "firewalld is not installed on this host: firewall-cmd was not found, so service https enabled in zone public, permanent cannot be set",
    );
    assert!(
        !out.contains("after"),
        "the play stops at the failure: {out}"
    );
    let bad = "
- hosts: all
  gather_facts: false
  tasks:
    - firewalld: service=https port=443/tcp state=enabled
";
    fleet.play_fails(
        "bad.yml",
        bad,
        &[],
        "parameters are mutually exclusive: icmp_block|",
    );
}

#[test]
fn synchronize_pushes_and_pulls_with_rsync_over_ssh() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    if std::process::Command::new("rsync")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: rsync is not installed on the control node");
        return;
    }
    fleet.apt_install(&["rsync"]);
    let control = common::Scratch::new();
    control.write("site/index.html", "<h1>hi</h1>\n");
    control.write("site/css/main.css", "body {}\n");
    let push = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - ansible.posix.synchronize:
        src: {}/site/
        dest: /srv/bosun-sync
        delete: true
",
        control.path().display()
    );
    let tree = "cd /srv/bosun-sync 2>/dev/null && find . -type f | sort | xargs cat";
    fleet.play_expecting("push.yml", &push, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, &format!("{tree} || echo none")),
        "none",
        "check mode"
    );
    fleet.play_expecting("push.yml", &push, &[], 1);
    assert_eq!(fleet.on_host(0, tree), "body {}\n<h1>hi</h1>");
    fleet.play_expecting("push.yml", &push, &[], 0);

    fleet.on_host(
        0,
        "echo stale > /srv/bosun-sync/old.txt && echo changed > /srv/bosun-sync/index.html",
    );
    let out = fleet.play_expecting("push.yml", &push, &["--diff"], 1);
    assert!(
        out.contains("index.html"),
        "rsync's itemized lines as the diff: {out}"
    );
    assert_eq!(
        fleet.on_host(0, tree),
        "body {}\n<h1>hi</h1>",
        "old.txt deleted, index.html restored"
    );

    let pull = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - synchronize: mode=pull src=/srv/bosun-sync/css/ dest={}/pulled/
",
        control.path().display()
    );
    fleet.play_expecting("pull.yml", &pull, &[], 1);
    assert_eq!(control.read("pulled/main.css"), "body {}\n");

    let missing = format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - synchronize: src={}/nothing/ dest=/srv/bosun-sync-x
",
        control.path().display()
    );
    fleet.play_fails("missing.yml", &missing, &[], "change_dir");
}

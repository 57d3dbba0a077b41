//! `archive`, `filesystem`, `npm` (community.general) and `expect` (ansible.builtin)
//! run by the real binary over SSH against a Debian container with systemd as PID 1
//! (one container, shared by the tests of this file), checked there with the system's
//! own tools.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

const ARCHIVE: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.archive:
        path: /srv/bosun-arc/app
        dest: /srv/bosun-arc/out/app.tar.gz
        exclusion_patterns: ['*.log']
        mode: '0600'
      register: tree
    - archive:
        path: /srv/bosun-arc/app/*
        dest: /srv/bosun-arc/out/app.zip
        format: zip
    - archive:
        path: /srv/bosun-arc/single.txt
        format: xz
    - copy:
        dest: /srv/bosun-arc/result
        content: '{{ tree.dest_state }}|{{ tree.arcroot }}|{{ tree.archived | sort | join(\",\") }}|{{ tree.state }}|{{ tree.mode }}'
      when: tree is changed and not ansible_check_mode
";

#[test]
fn archive_packs_trees_and_files_and_rewrites_only_what_changed() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["zip", "unzip", "xz-utils"]);
    fleet.on_host(
        0,
        "rm -rf /srv/bosun-arc; mkdir -p /srv/bosun-arc/app/sub /srv/bosun-arc/out; cd /srv/bosun-arc; \
         echo hello > app/a; echo noise > app/sub/b.log; echo deep > app/sub/c; ln -s a app/l; echo one > single.txt",
    );
    let sums = "cd /srv/bosun-arc; ls out; ls single.txt.xz 2>&1 | wc -l";
    let before = fleet.on_host(0, sums);

    let out = fleet.play_expecting("archive.yml", ARCHIVE, &["--check"], 3);
    assert_eq!(
        fleet.on_host(0, sums),
        before,
        "check mode wrote nothing: {out}"
    );

    fleet.play_expecting("archive.yml", ARCHIVE, &[], 4);
    assert_eq!(
        fleet.on_host(0, "tar -tzf /srv/bosun-arc/out/app.tar.gz | sort"),
        "app/a\napp/l\napp/sub/\napp/sub/c"
    );
    assert_eq!(
        fleet.on_host(0, "stat -c %a /srv/bosun-arc/out/app.tar.gz"),
        "600"
    );
    assert_eq!(
        fleet.on_host(0, "unzip -Z1 /srv/bosun-arc/out/app.zip | sort"),
        "a\nl\nsub/b.log\nsub/c"
    );
    assert_eq!(
        fleet.on_host(0, "xz -dc /srv/bosun-arc/single.txt.xz"),
        "one"
    );
    assert_eq!(
        fleet.on_host(0, "cat /srv/bosun-arc/result"),
        "archive|/srv/bosun-arc/|/srv/bosun-arc/app/a,/srv/bosun-arc/app/l,/srv/bosun-arc/app/sub,/srv/bosun-arc/app/sub/c|file|0600"
    );
    let stamp = "stat -c %Y.%i /srv/bosun-arc/out/app.tar.gz /srv/bosun-arc/out/app.zip /srv/bosun-arc/single.txt.xz";
    let written = fleet.on_host(0, stamp);
    fleet.play_expecting("archive.yml", ARCHIVE, &[], 0);
    assert_eq!(fleet.on_host(0, stamp), written, "nothing rewritten");

    // A changed member: check mode sees it, the run rewrites that archive only.
    fleet.on_host(
        0,
        "echo changed > /srv/bosun-arc/app/sub/c; touch -d '2001-01-01' /srv/bosun-arc/app/sub/c",
    );
    fleet.play_expecting("archive.yml", ARCHIVE, &["--check"], 2);
    assert_eq!(
        fleet.on_host(0, stamp),
        written,
        "check mode rewrote nothing"
    );
    fleet.play_expecting("archive.yml", ARCHIVE, &[], 2);
    assert_eq!(
        fleet.on_host(0, "tar -xzOf /srv/bosun-arc/out/app.tar.gz app/sub/c"),
        "changed"
    );
    // A log file changing is excluded from the tar archive, not from the zip one.
    fleet.on_host(0, "echo more >> /srv/bosun-arc/app/sub/b.log");
    fleet.play_expecting("archive.yml", ARCHIVE, &[], 1);
}

#[test]
fn archive_removes_sources_and_refuses_what_the_module_refuses() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(
        0,
        "rm -rf /srv/bosun-arc2; mkdir -p /srv/bosun-arc2/tree/d; echo x > /srv/bosun-arc2/tree/d/x; echo y > /srv/bosun-arc2/y",
    );
    let remove = "
- hosts: all
  gather_facts: false
  tasks:
    - archive: path=/srv/bosun-arc2/tree dest=/srv/bosun-arc2/tree.tar format=tar remove=true
    - archive: path=/srv/bosun-arc2/y remove=true
      register: single
    - copy: dest=/srv/bosun-arc2/result content={{ single.dest }}|{{ single.dest_state }}|{{ single.missing }}
";
    fleet.play_expecting("remove.yml", remove, &[], 3);
    assert_eq!(
        fleet.on_host(0, "cd /srv/bosun-arc2; ls; tar -tf tree.tar; gzip -dc y.gz"),
        "result\ntree.tar\ny.gz\ntree/d/\ntree/d/x\ny"
    );
    assert_eq!(
        fleet.on_host(0, "cat /srv/bosun-arc2/result"),
        "/srv/bosun-arc2/y.gz|compress|[]"
    );
    let no_dest = "
- hosts: all
  gather_facts: false
  tasks:
    - archive: path=/srv/bosun-arc2/*
";
    fleet.play_fails(
        "nodest.yml",
        no_dest,
        &[],
        "Error, must specify \\\"dest\\\" when archiving multiple files or trees",
    );
    let nothing = "
- hosts: all
  gather_facts: false
  tasks:
    - archive: path=/srv/bosun-arc2/none/* dest=/tmp/x.tgz
";
    fleet.play_fails(
        "nothing.yml",
        nothing,
        &[],
        "Error, no source paths were found",
    );
    let format = "
- hosts: all
  gather_facts: false
  tasks:
    - archive: path=/srv/bosun-arc2/y format=rar
";
    fleet.play_fails("format.yml", format, &[], "value of format must be one of");
}

const FILESYSTEM: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.filesystem:
        dev: /srv/bosun-fs.img
        fstype: ext4
        opts: -L bosunfs
";

#[test]
fn filesystem_makes_grows_replaces_and_wipes_file_systems() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["e2fsprogs"]);
    fleet.on_host(
        0,
        "rm -f /srv/bosun-fs.img; truncate -s 16M /srv/bosun-fs.img",
    );
    let probe = "blkid -c /dev/null -o value -s TYPE /srv/bosun-fs.img; blkid -c /dev/null -o value -s LABEL /srv/bosun-fs.img";

    fleet.play_expecting("fs.yml", FILESYSTEM, &["--check"], 1);
    assert_eq!(fleet.on_host(0, probe), "", "check mode made nothing");
    fleet.play_expecting("fs.yml", FILESYSTEM, &[], 1);
    assert_eq!(fleet.on_host(0, probe), "ext4\nbosunfs");
    let uuid = fleet.on_host(0, "blkid -c /dev/null -o value -s UUID /srv/bosun-fs.img");
    fleet.play_expecting("fs.yml", FILESYSTEM, &[], 0);
    assert_eq!(
        fleet.on_host(0, "blkid -c /dev/null -o value -s UUID /srv/bosun-fs.img"),
        uuid,
        "not made again"
    );

    // The image grows: resizefs grows the file system into it, once.
    fleet.on_host(0, "truncate -s 32M /srv/bosun-fs.img");
    let blocks = "tune2fs -l /srv/bosun-fs.img | awk -F: '/^Block count/ {print $2 * 1}; /^Block size/ {print $2 * 1}' | paste -sd*";
    let small = fleet.on_host(0, &format!("echo $(( $({blocks}) ))"));
    assert_eq!(small, (16 * 1024 * 1024).to_string());
    let grow = "
- hosts: all
  gather_facts: false
  tasks:
    - filesystem: dev=/srv/bosun-fs.img fstype=ext4 resizefs=true
      register: grown
    - copy: dest=/srv/bosun-fs.msg content={{ grown.msg }}
      when: not ansible_check_mode
";
    fleet.play_expecting("grow.yml", grow, &["--check"], 1);
    assert_eq!(fleet.on_host(0, &format!("echo $(( $({blocks}) ))")), small);
    fleet.play_expecting("grow.yml", grow, &[], 2);
    assert_eq!(
        fleet.on_host(0, &format!("echo $(( $({blocks}) ))")),
        (32 * 1024 * 1024).to_string()
    );
    let msg = fleet.on_host(0, "cat /srv/bosun-fs.msg");
    assert!(
        msg.contains("is now 32768 (1k) blocks long"),
        "resize2fs's output: {msg}"
    );
    fleet.play_expecting("grow.yml", grow, &[], 1);
    assert_eq!(
        fleet.on_host(0, "cat /srv/bosun-fs.msg"),
        "Ext4 filesystem is using the whole device /srv/bosun-fs.img"
    );

    // Another type needs force; absent wipes the signature.
    let swap = "
- hosts: all
  gather_facts: false
  tasks:
    - filesystem: dev=/srv/bosun-fs.img fstype=swap
";
    fleet.play_fails(
        "swap.yml",
        swap,
        &[],
        "'/srv/bosun-fs.img' is already used as ext4, use force=true to overwrite",
    );
    let forced = swap.replace("fstype=swap", "fstype=swap force=true");
    fleet.play_expecting("forced.yml", &forced, &[], 1);
    assert_eq!(fleet.on_host(0, probe), "swap");
    let absent = "
- hosts: all
  gather_facts: false
  tasks:
    - filesystem: dev=/srv/bosun-fs.img state=absent
    - filesystem: dev=/srv/bosun-no-such.img state=absent
";
    fleet.play_expecting("absent.yml", absent, &[], 1);
    assert_eq!(fleet.on_host(0, probe), "");
    fleet.play_expecting("absent.yml", absent, &[], 0);
    let missing = "
- hosts: all
  gather_facts: false
  tasks:
    - filesystem: dev=/srv/bosun-no-such.img fstype=ext4
";
    fleet.play_fails(
        "missing.yml",
        missing,
        &[],
        "Device /srv/bosun-no-such.img not found.",
    );
    let no_type = "
- hosts: all
  gather_facts: false
  tasks:
    - filesystem: dev=/srv/bosun-fs.img
";
    fleet.play_fails(
        "notype.yml",
        no_type,
        &[],
        "state is present but all of the following are missing: fstype",
    );
}

/// A program that asks for a user and a password twice on its terminal (the password
/// unechoed, as `passwd` does) and records what it got.
const ASK: &str = r#"#!/bin/bash
[ -t 0 ] || { echo 'not a terminal'; exit 9; }
printf 'Username: '; read -r user
printf 'New password: '; read -rs pass; echo
printf 'Retype new password: '; read -rs again; echo
[ "$pass" = "$again" ] || { echo 'Sorry, passwords do not match.'; exit 3; }
printf '%s:%s\n' "$user" "$pass" > /srv/bosun-expect/got
echo 'all tokens updated successfully'
"#;

#[test]
fn expect_answers_prompts_on_a_terminal_without_pexpect() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(
        0,
        &format!(
            "rm -rf /srv/bosun-expect; mkdir -p /srv/bosun-expect; cat > /srv/bosun-expect/ask <<'EOF'\n{ASK}EOF\nchmod +x /srv/bosun-expect/ask; \
             python3 -c 'import pexpect' 2>/dev/null && echo has-pexpect"
        ),
    );
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.expect:
        command: /srv/bosun-expect/ask
        chdir: /srv/bosun-expect
        creates: /srv/bosun-expect/got
        responses:
          Username: alice
          (?i)password: [s3cr3t-Pa55, s3cr3t-Pa55]
      no_log: true
      register: asked
    - copy:
        dest: /srv/bosun-expect/result
        content: '{{ asked.rc }}|{{ asked.stdout_lines | join(\",\") }}|{{ asked.changed }}'
      when: not ansible_check_mode
";
    fleet.play_expecting("expect.yml", playbook, &["--check"], 0);
    assert_eq!(
        fleet.on_host(0, "ls /srv/bosun-expect"),
        "ask",
        "nothing ran"
    );
    let out = fleet.play_expecting("expect.yml", playbook, &["-vvv"], 2);
    assert!(!out.contains("s3cr3t"), "the answers never show: {out}");
    assert_eq!(
        fleet.on_host(0, "cat /srv/bosun-expect/got"),
        "alice:s3cr3t-Pa55"
    );
    assert_eq!(
        fleet.on_host(0, "cat /srv/bosun-expect/result"),
        "0|Username: New password: ,Retype new password: ,all tokens updated successfully|True"
    );
    fleet.play_expecting("expect.yml", playbook, &[], 1);
    assert_eq!(
        fleet.on_host(0, "cat /srv/bosun-expect/result"),
        "0|skipped, since /srv/bosun-expect/got exists|False",
        "creates kept it from running again"
    );

    // Under become with a password, stdin carries the password: the job goes in a
    // private file that the helper removes before it starts.
    let sudo = "
- hosts: all
  gather_facts: false
  become: true
  vars:
    ansible_become_password: not-needed-for-root
  tasks:
    - expect:
        command: /srv/bosun-expect/ask
        responses:
          Username: dave
          (?i)password: pw-by-file
";
    fleet.on_host(0, "rm -f /srv/bosun-expect/got");
    fleet.play_expecting("sudo.yml", sudo, &[], 1);
    assert_eq!(
        fleet.on_host(
            0,
            "cat /srv/bosun-expect/got; ls -a /tmp | grep -c bosun-expect"
        ),
        "dave:pw-by-file\n0"
    );
    let failing = "
- hosts: all
  gather_facts: false
  tasks:
    - expect:
        command: /srv/bosun-expect/ask
        responses:
          Username: bob
          (?i)password: [one]
    ";
    fleet.play_fails(
        "nomore.yml",
        failing,
        &[],
        "No remaining responses for '(?i)password', output was 'b': \\\\r\\\\nRetype new password'",
    );
    let slow = "
- hosts: all
  gather_facts: false
  tasks:
    - expect:
        command: sleep 30
        responses: {}
        timeout: 1
";
    fleet.play_fails("slow.yml", slow, &[], "command exceeded timeout");
    let mismatch = "
- hosts: all
  gather_facts: false
  tasks:
    - expect:
        command: /srv/bosun-expect/ask
        echo: true
        responses:
          Username: carol
          'New password': first
          'Retype': second
";
    let out = fleet.play_fails("mismatch.yml", mismatch, &[], "non-zero return code");
    assert!(
        out.contains("Username: carol"),
        "echo shows the answers: {out}"
    );
    assert!(out.contains("\"rc\": 3"), "{out}");
}

#[test]
fn npm_installs_local_packages_in_a_path_and_globally() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["npm"]);
    fleet.on_host(
        0,
        "rm -rf /srv/bosun-npm; mkdir -p /srv/bosun-npm/left /srv/bosun-npm/app; cd /srv/bosun-npm; \
         printf 'audit=false\\nfund=false\\nupdate-notifier=false\\noffline=true\\n' > /root/.npmrc; \
         printf '{\"name\": \"bosun-left\", \"version\": \"1.0.0\", \"main\": \"index.js\"}' > left/package.json; \
         echo 'module.exports = (s, n) => s.padStart(n);' > left/index.js; \
         (cd left && npm pack --silent >/dev/null); \
         printf '{\"name\": \"app\", \"version\": \"1.0.0\", \"dependencies\": {\"bosun-left\": \"file:../left\"}}' > app/package.json",
    );
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.npm:
        path: /srv/bosun-npm/app
";
    fleet.play_expecting("npm.yml", playbook, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, "ls /srv/bosun-npm/app"),
        "package.json",
        "check mode installed nothing"
    );
    fleet.play_expecting("npm.yml", playbook, &[], 1);
    assert_eq!(
        fleet.on_host(
            0,
            "cd /srv/bosun-npm/app && node -e 'console.log(require(\"bosun-left\")(\"x\", 3))'"
        ),
        "x"
    );
    fleet.play_expecting("npm.yml", playbook, &[], 0);

    let global = "
- hosts: all
  gather_facts: false
  tasks:
    - npm:
        name: /srv/bosun-npm/left/bosun-left-1.0.0.tgz
        global: true
";
    fleet.play_expecting("global.yml", global, &[], 1);
    assert_eq!(
        fleet.on_host(
            0,
            "npm ls --global --depth=0 --parseable | grep -c bosun-left"
        ),
        "1"
    );
    let remove = "
- hosts: all
  gather_facts: false
  tasks:
    - npm: name=bosun-left global=true state=absent
    - npm: name=bosun-left path=/srv/bosun-npm/app state=absent
";
    fleet.play_expecting("remove.yml", remove, &["--check"], 2);
    fleet.play_expecting("remove.yml", remove, &[], 2);
    assert_eq!(
        fleet.on_host(
            0,
            "npm ls --global --depth=0 --parseable | grep -c bosun-left"
        ),
        "0"
    );
    assert_eq!(
        fleet.on_host(
            0,
            "ls /srv/bosun-npm/app/node_modules 2>/dev/null | grep -c bosun-left"
        ),
        "0"
    );
    fleet.play_expecting("remove.yml", remove, &[], 0);
    let no_path = "
- hosts: all
  gather_facts: false
  tasks:
    - npm: name=bosun-left
";
    fleet.play_fails(
        "nopath.yml",
        no_path,
        &[],
        "path must be specified when not using global",
    );
}

#[test]
fn community_general_modules_resolve_by_both_names() {
    for module in [
        "ufw",
        "timezone",
        "modprobe",
        "locale_gen",
        "alternatives",
        "ini_file",
        "make",
        "pam_limits",
        "capabilities",
        "archive",
        "filesystem",
        "npm",
    ] {
        for name in [format!("community.general.{module}"), module.to_string()] {
            let out = common::Scratch::new().bosun(&["doc", &name]);
            assert!(out.status.success(), "{name}: {}", common::stderr(&out));
            assert!(common::stdout(&out).contains(module), "{name}");
        }
    }
    for name in ["ansible.builtin.expect", "expect"] {
        let out = common::Scratch::new().bosun(&["doc", name]);
        assert!(out.status.success(), "{name}");
    }
}

//! `lineinfile`, `blockinfile` and `replace` run by the real binary in local mode on
//! files in a scratch directory; effects are checked byte for byte on disk.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Scratch, recap_line, stdout};

const APP_CONF: &str = "# app\nport=8080\nworkers=2\n#debug=true\n";
const HOSTS: &str = "127.0.0.1 localhost\n10.0.0.5 db.old.example db\n";
const SSHD: &str = "Port 22\nPermitRootLogin yes\n";

/// One task of each kind, plus a file created in a new directory.
const EDITS: &str = r##"- hosts: localhost
  gather_facts: false
  vars:
    dir: "{{ lookup('env', 'TARGET') }}/etc"
  tasks:
    - name: Set the port
      lineinfile:
        path: "{{ dir }}/app.conf"
        regexp: '^port='
        line: port=9090
    - name: Add a setting after the workers
      lineinfile:
        path: "{{ dir }}/app.conf"
        insertafter: '^workers='
        line: timeout=30
    - name: Drop commented settings
      lineinfile:
        path: "{{ dir }}/app.conf"
        regexp: '^#\w+='
        state: absent
    - name: Create a file in a new directory
      lineinfile:
        path: "{{ dir }}/new/motd"
        line: Welcome
        create: true
        mode: "0640"
    - name: Add a managed block
      blockinfile:
        path: "{{ dir }}/sshd_config"
        marker: "# {mark} bosun"
        block: |
          Match User deploy
            PasswordAuthentication no
    - name: Rename a host, keeping the short name
      replace:
        path: "{{ dir }}/hosts"
        regexp: '^(?P<ip>\S+)\s+db\.old\.example(\s+.*)?$'
        replace: '\g<ip> db.new.example\2 # $HOME stays'
"##;

fn seed(scratch: &Scratch) {
    scratch.write("etc/app.conf", APP_CONF);
    scratch.write("etc/hosts", HOSTS);
    scratch.write("etc/sshd_config", SSHD);
    scratch.write("edits.yml", EDITS);
}

fn read(scratch: &Scratch, name: &str) -> String {
    std::fs::read_to_string(scratch.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every file under `dir` with its mode and bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("readable directory") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let name = path
                .strip_prefix(dir)
                .expect("inside")
                .display()
                .to_string();
            if meta.is_dir() {
                pending.push(path);
                files.insert(name, (meta.permissions().mode(), Vec::new()));
            } else {
                let bytes = std::fs::read(&path).expect("readable file");
                files.insert(name, (meta.permissions().mode(), bytes));
            }
        }
    }
    files
}

#[test]
fn each_module_edits_its_file_and_a_second_run_changes_nothing() {
    let scratch = Scratch::new();
    seed(&scratch);
    let first = scratch.bosun(&["run", "edits.yml"]);
    let out = stdout(&first);
    assert_eq!(first.status.code(), Some(0), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=6 "),
        "{out}"
    );
    assert_eq!(
        read(&scratch, "etc/app.conf"),
        "# app\nport=9090\nworkers=2\ntimeout=30\n"
    );
    assert_eq!(read(&scratch, "etc/new/motd"), "Welcome\n");
    let mode = std::fs::metadata(scratch.path().join("etc/new/motd"))
        .expect("created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
    assert_eq!(
        read(&scratch, "etc/sshd_config"),
        "Port 22\nPermitRootLogin yes\n# BEGIN bosun\nMatch User deploy\n  PasswordAuthentication no\n# END bosun\n"
    );
    assert_eq!(
        read(&scratch, "etc/hosts"),
        "127.0.0.1 localhost\n10.0.0.5 db.new.example db # $HOME stays\n"
    );

    let before = snapshot(scratch.path());
    let second = scratch.bosun(&["run", "edits.yml"]);
    let out = stdout(&second);
    assert_eq!(second.status.code(), Some(0), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "{out}"
    );
    assert_eq!(
        snapshot(scratch.path()),
        before,
        "a second run writes nothing"
    );
}

#[test]
fn check_mode_reports_changes_and_touches_nothing() {
    let scratch = Scratch::new();
    seed(&scratch);
    let before = snapshot(scratch.path());
    let run = scratch.bosun(&["run", "edits.yml", "-C"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=6 "),
        "{out}"
    );
    assert_eq!(snapshot(scratch.path()), before, "check mode changed files");
}

#[test]
fn diff_mode_shows_each_edit() {
    let scratch = Scratch::new();
    seed(&scratch);
    let run = scratch.bosun(&["run", "edits.yml", "-D", "-C"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    let dir = scratch.path().join("etc").display().to_string();
    for expected in [
        format!("--- before: {dir}/app.conf (content)"),
        format!("+++ after: {dir}/app.conf (content)"),
        "-port=8080\n+port=9090".to_string(),
        "+timeout=30".to_string(),
        "-#debug=true".to_string(),
        format!("--- before: {dir}/new/motd (content)"),
        "+Welcome".to_string(),
        format!("+++ after: {dir}/sshd_config (content)"),
        "+# BEGIN bosun".to_string(),
        format!("--- before: {dir}/hosts\n+++ after: {dir}/hosts"),
        "+10.0.0.5 db.new.example db # $HOME stays".to_string(),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn a_failing_validate_leaves_the_file_alone() {
    let scratch = Scratch::new();
    seed(&scratch);
    scratch.write(
        "validate.yml",
        r##"- hosts: localhost
  gather_facts: false
  vars:
    dir: "{{ lookup('env', 'TARGET') }}/etc"
  tasks:
    - lineinfile:
        path: "{{ dir }}/app.conf"
        line: broken
        validate: /bin/false %s
      ignore_errors: true
    - blockinfile:
        path: "{{ dir }}/sshd_config"
        block: broken
        validate: /bin/false %s
      ignore_errors: true
    - replace:
        path: "{{ dir }}/hosts"
        regexp: localhost
        replace: broken
        validate: /bin/false %s
      ignore_errors: true
    - lineinfile:
        path: "{{ dir }}/app.conf"
        line: fine
        validate: grep -q fine %s
"##,
    );
    let before = snapshot(&scratch.path().join("etc"));
    let run = scratch.bosun(&["run", "validate.yml"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert_eq!(
        out.matches("\"msg\": \"failed to validate: rc:1 error:\"")
            .count(),
        3,
        "{out}"
    );
    assert!(
        recap_line(&out, "localhost").contains("changed=1 "),
        "{out}"
    );
    assert!(
        recap_line(&out, "localhost").contains("ignored=3 "),
        "{out}"
    );
    let mut after = snapshot(&scratch.path().join("etc"));
    let (_, app) = after.remove("app.conf").expect("still there");
    assert_eq!(String::from_utf8_lossy(&app), format!("{APP_CONF}fine\n"));
    let mut unchanged = before;
    unchanged.remove("app.conf");
    assert_eq!(after, unchanged, "failed validations changed or left files");
}

#[test]
fn backup_keeps_the_old_file_next_to_the_new_one() {
    let scratch = Scratch::new();
    seed(&scratch);
    scratch.write(
        "backup.yml",
        r##"- hosts: localhost
  gather_facts: false
  vars:
    dir: "{{ lookup('env', 'TARGET') }}/etc"
  tasks:
    - lineinfile:
        path: "{{ dir }}/app.conf"
        regexp: '^workers='
        line: workers=8
        backup: true
      register: line
    - blockinfile:
        path: "{{ dir }}/sshd_config"
        block: "X11Forwarding no"
        backup: true
      register: block
    - replace:
        path: "{{ dir }}/hosts"
        regexp: '^127\.0\.0\.1'
        replace: '127.0.1.1'
        backup: true
      register: swap
    - assert:
        that:
          - line.backup.startswith(dir ~ '/app.conf.') and line.backup.endswith('~')
          - block.backup_file.startswith(dir ~ '/sshd_config.')
          - swap.backup_file.startswith(dir ~ '/hosts.')
"##,
    );
    let run = scratch.bosun(&["run", "backup.yml"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    let stamp = regex::Regex::new(
        r"^(app\.conf|sshd_config|hosts)\.\d+\.\d{4}-\d{2}-\d{2}@\d{2}:\d{2}:\d{2}~$",
    )
    .expect("regex");
    let mut backups = Vec::new();
    for entry in std::fs::read_dir(scratch.path().join("etc")).expect("etc") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(caps) = stamp.captures(&name) {
            backups.push((caps[1].to_string(), read(&scratch, &format!("etc/{name}"))));
        }
    }
    backups.sort();
    assert_eq!(
        backups,
        vec![
            ("app.conf".to_string(), APP_CONF.to_string()),
            ("hosts".to_string(), HOSTS.to_string()),
            ("sshd_config".to_string(), SSHD.to_string()),
        ]
    );
    assert_eq!(
        read(&scratch, "etc/app.conf"),
        "# app\nport=8080\nworkers=8\n#debug=true\n"
    );
}

#[test]
fn missing_files_and_directories_fail_as_in_ansible() {
    let scratch = Scratch::new();
    seed(&scratch);
    scratch.write(
        "missing.yml",
        r##"- hosts: localhost
  gather_facts: false
  vars:
    dir: "{{ lookup('env', 'TARGET') }}/etc"
  tasks:
    - lineinfile:
        path: "{{ dir }}/nope"
        line: x
      ignore_errors: true
    - blockinfile:
        path: "{{ dir }}/nope"
        block: x
      ignore_errors: true
    - replace:
        path: "{{ dir }}"
        regexp: x
      ignore_errors: true
    - lineinfile:
        path: "{{ dir }}/nope"
        line: x
        state: absent
"##,
    );
    let run = scratch.bosun(&["run", "missing.yml"]);
    let out = stdout(&run);
    let dir = scratch.path().join("etc").display().to_string();
    assert_eq!(run.status.code(), Some(0), "{out}");
    for expected in [
        format!("\"msg\": \"Destination {dir}/nope does not exist !\", \"rc\": 257"),
        format!("\"msg\": \"Path {dir}/nope does not exist !\", \"rc\": 257"),
        format!("\"msg\": \"Path {dir} is a directory !\", \"rc\": 256"),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
    assert!(
        recap_line(&out, "localhost").contains("ignored=3 "),
        "{out}"
    );
    assert!(!scratch.path().join("etc/nope").exists());
}

#[test]
fn attribute_changes_are_reported_in_ansibles_words() {
    let scratch = Scratch::new();
    seed(&scratch);
    scratch.write(
        "attributes.yml",
        r##"- hosts: localhost
  gather_facts: false
  vars:
    dir: "{{ lookup('env', 'TARGET') }}/etc"
  tasks:
    - lineinfile:
        path: "{{ dir }}/app.conf"
        line: workers=2
        mode: "0600"
      register: only_mode
    - lineinfile:
        path: "{{ dir }}/app.conf"
        line: extra=1
        mode: u=rw,g=r
      register: both
    - replace:
        path: "{{ dir }}/hosts"
        regexp: nothing-matches
        mode: "0600"
      register: replaced
    - assert:
        that:
          - only_mode is changed
          - only_mode.msg == 'ownership, perms or SE linux context changed'
          - both.msg == 'line added and ownership, perms or SE linux context changed'
          - replaced.msg == 'ownership, perms or SE linux context changed'
          - replaced.rc == 0
"##,
    );
    let run = scratch.bosun(&["run", "attributes.yml"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    let mode = |name: &str| {
        std::fs::metadata(scratch.path().join(name))
            .expect("exists")
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!((mode("etc/app.conf"), mode("etc/hosts")), (0o640, 0o600));
    assert_eq!(
        read(&scratch, "etc/app.conf"),
        format!("{APP_CONF}extra=1\n")
    );
}

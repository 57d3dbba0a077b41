//! `stat`, `find`, `slurp`, `fetch` and `tempfile` run by the real binary in local
//! mode against files the tests make; results are checked by `assert` tasks in the
//! playbooks and again here, against the filesystem itself.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use common::{Scratch, recap_line, stderr, stdout};
use serde_json::Value as Json;

/// Runs `playbook` with `--output json` (plus `extra` arguments): the exit code and
/// the JSON document.
fn run_json(scratch: &Scratch, playbook: &str, extra: &[&str]) -> (i32, Json) {
    let mut args = vec!["run", playbook, "--output", "json"];
    args.extend_from_slice(extra);
    let output = scratch.bosun(&args);
    let text = stdout(&output);
    let doc = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("not JSON ({err}):\n{text}\n{}", stderr(&output)));
    (output.status.code().unwrap_or(-1), doc)
}

/// The result on localhost of the task called `name`.
fn result<'a>(doc: &'a Json, name: &str) -> &'a Json {
    doc["plays"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|play| play["tasks"].as_array().into_iter().flatten())
        .find(|task| task["task"]["name"] == name)
        .map(|task| &task["hosts"]["localhost"])
        .unwrap_or_else(|| panic!("no task {name} in {doc:#}"))
}

/// Runs `playbook` in the human format: exit code and output.
fn run(scratch: &Scratch, args: &[&str]) -> (i32, String) {
    let output = scratch.bosun(args);
    let text = stdout(&output) + &stderr(&output);
    (output.status.code().unwrap_or(-1), text)
}

/// Sets a path's modification time with `touch -d` (no crate for it here).
fn touch(path: &Path, date: &str) {
    let status = std::process::Command::new("touch")
        .args(["-h", "-d", date])
        .arg(path)
        .status()
        .expect("touch runs");
    assert!(status.success(), "touch -d {date} {}", path.display());
}

/// A time read back from JSON equals `expected` (serde_json may parse it one ulp off).
fn assert_close(value: &Json, expected: f64) {
    let actual = value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is a number"));
    assert!((actual - expected).abs() < 1e-6, "{actual} != {expected}");
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every path under `dir`, relative, sorted, with its size: what a run may not change.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let relative = path.strip_prefix(dir).expect("under dir");
            found.push((relative.display().to_string(), meta.len()));
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

const STAT_PLAY: &str = r#"- hosts: localhost
  gather_facts: false
  vars:
    t: "{{ lookup('env', 'TARGET') }}"
  tasks:
    - name: stat file
      stat:
        path: "{{ t }}/f.txt"
      register: f
    - name: stat link
      stat:
        path: "{{ t }}/lnk"
      register: l
    - name: stat link followed
      stat:
        path: "{{ t }}/lnk"
        follow: true
        checksum_algorithm: sha256
      register: lf
    - name: stat dir
      stat:
        dest: "{{ t }}/d"
        get_checksum: false
      register: d
    - name: stat missing
      stat:
        name: "{{ t }}/missing"
      register: m
    - name: stat md5
      stat:
        path: "{{ t }}/f.txt"
        checksum: md5
        get_mime: false
        get_attributes: false
      register: f5
    - name: check
      assert:
        that:
          - f.changed == false
          - f.stat.exists and f.stat.isreg and not f.stat.isdir and not f.stat.islnk
          - f.stat.path == t ~ '/f.txt'
          - f.stat.mode == '0640'
          - f.stat.size == 6
          - f.stat.mtime | int == 1577934245
          - f.stat.checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
          - f.stat.readable and f.stat.writeable and not f.stat.executable
          - f.stat.rusr and f.stat.wusr and f.stat.rgrp and not f.stat.wgrp and not f.stat.roth
          - f.stat.mimetype == 'text/plain' and f.stat.charset == 'us-ascii'
          - f.stat.attributes is defined and f.stat.attr_flags is defined
          - l.stat.islnk and not l.stat.isreg and l.stat.checksum is not defined
          - l.stat.lnk_target == 'f.txt'
          - l.stat.lnk_source == t ~ '/f.txt'
          - lf.stat.isreg and not lf.stat.islnk
          - lf.stat.checksum == '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03'
          - d.stat.isdir and d.stat.mode == '0750' and d.stat.checksum is not defined
          - "m.stat == {'exists': false}"
          - f5.stat.checksum == 'b1946ac92492d2347c6235b4d2611184'
          - f5.stat.mimetype is not defined and f5.stat.attributes is not defined
"#;

#[test]
fn stat_reports_what_is_on_disk() {
    let scratch = Scratch::new();
    let target = scratch.path();
    let file = scratch.write("f.txt", "hello\n");
    chmod(&file, 0o640);
    touch(&file, "2020-01-02 03:04:05 UTC");
    std::os::unix::fs::symlink("f.txt", target.join("lnk")).expect("symlink");
    std::fs::create_dir(target.join("d")).expect("mkdir");
    chmod(&target.join("d"), 0o750);
    scratch.write("stat.yml", STAT_PLAY);

    let (code, doc) = run_json(&scratch, "stat.yml", &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["localhost"]["changed"], 0);
    let stat = &result(&doc, "stat file")["stat"];
    let meta = std::fs::metadata(&file).expect("stat");
    assert_eq!(stat["uid"], meta.uid());
    assert_eq!(stat["gid"], meta.gid());
    assert_eq!(stat["inode"], meta.ino());
    assert_eq!(stat["dev"], meta.dev());
    assert_eq!(stat["nlink"], meta.nlink());
    assert_eq!(stat["mtime"], 1_577_934_245.0);
    let ctime = meta.ctime() as f64 + meta.ctime_nsec() as f64 * 1e-9;
    assert_close(&stat["ctime"], ctime);
    for flag in ["isblk", "ischr", "isfifo", "issock", "isuid", "isgid"] {
        assert_eq!(stat[flag], false, "{flag}");
    }
    let owner = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id runs");
    assert_eq!(
        stat["pw_name"],
        String::from_utf8_lossy(&owner.stdout).trim(),
        "the tests create files as the current user"
    );
}

const FIND_PLAY: &str = r#"- hosts: localhost
  gather_facts: false
  vars:
    t: "{{ lookup('env', 'TARGET') }}/logs"
  tasks:
    - name: logs
      find:
        paths: "{{ t }}"
        patterns: "*.log"
      register: logs
    - name: old
      find:
        paths: "{{ t }}"
        age: 30d
      register: old
    - name: young
      find:
        paths: "{{ t }}"
        age: -1d
        patterns: "*.log"
      register: young
    - name: big
      find:
        paths: "{{ t }}"
        size: 1k
      register: big
    - name: small
      find:
        paths: "{{ t }}"
        size: -1k
        patterns: "*.log"
      register: small
    - name: recursive
      find:
        paths: "{{ t }}"
        patterns: "*.log"
        recurse: true
      register: rec
    - name: depth
      find:
        paths: "{{ t }}"
        patterns: "*.log"
        recurse: true
        depth: 2
      register: depth
    - name: hidden
      find:
        paths: "{{ t }}"
        patterns: "*.log"
        hidden: true
      register: hidden
    - name: contains
      find:
        paths: "{{ t }}"
        contains: "^needle"
        recurse: true
      register: contains
    - name: regex and excludes
      find:
        paths: "{{ t }}"
        patterns: '^[ab]\..*'
        excludes: '.*\.txt'
        use_regex: true
      register: regex
    - name: directories
      find:
        paths: "{{ t }}"
        file_type: directory
        recurse: true
      register: dirs
    - name: links
      find:
        paths: "{{ t }}"
        file_type: link
      register: links
    - name: checksums
      find:
        paths: "{{ t }}"
        patterns: a.log
        get_checksum: true
      register: sums
    - name: missing
      find:
        paths:
          - "{{ t }}/nope"
          - "{{ t }}"
        patterns: b.log
      register: missing
    - name: check
      assert:
        that:
          - logs.changed == false and logs.msg == 'All paths examined'
          - logs.files | map(attribute='path') | map('basename') | sort | list == ['a.log', 'b.log']
          - logs.matched == 2 and logs.examined == 6 and logs.skipped_paths == {}
          - old.files | map(attribute='path') | map('basename') | sort | list == ['a.log', 'notes.txt']
          - young.files | map(attribute='path') | map('basename') | list == ['b.log']
          - big.files | map(attribute='path') | map('basename') | list == ['b.log']
          - small.files | map(attribute='path') | map('basename') | list == ['a.log']
          - rec.files | map(attribute='path') | map('basename') | sort | list == ['a.log', 'b.log', 'c.log', 'd.log']
          - rec.examined == 10
          - depth.files | map(attribute='path') | map('basename') | sort | list == ['a.log', 'b.log', 'c.log']
          - hidden.files | map(attribute='path') | map('basename') | sort | list == ['.h.log', 'a.log', 'b.log']
          - contains.files | map(attribute='path') | map('basename') | list == ['notes.txt']
          - regex.files | map(attribute='path') | map('basename') | sort | list == ['a.log', 'b.log']
          - dirs.files | map(attribute='path') | map('basename') | sort | list == ['deep', 'sub']
          - links.files | map(attribute='path') | map('basename') | list == ['l.log']
          - links.files[0].islnk
          - sums.files[0].checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
          - logs.files[0].checksum is not defined
          - missing.matched == 1
          - missing.skipped_paths[t ~ '/nope'] == "'" ~ t ~ "/nope' is not a directory"
          - missing.msg == 'Not all paths examined, check warnings for details'
"#;

#[test]
fn find_selects_as_ansible_does() {
    let scratch = Scratch::new();
    let a = scratch.write("logs/a.log", "hello\n");
    touch(&a, "2020-01-01 00:00:00 UTC");
    let b = scratch.write("logs/b.log", &"x".repeat(2000));
    chmod(&b, 0o600);
    scratch.write("logs/.h.log", "");
    let notes = scratch.write("logs/notes.txt", "first\nneedle here\n");
    touch(&notes, "2020-01-01 00:00:00 UTC");
    scratch.write("logs/sub/c.log", "c");
    scratch.write("logs/sub/deep/d.log", "d");
    scratch.write("logs/sub/deep/e.txt", "no needle\n");
    std::os::unix::fs::symlink("a.log", scratch.path().join("logs/l.log")).expect("symlink");
    scratch.write("find.yml", FIND_PLAY);

    let (code, doc) = run_json(&scratch, "find.yml", &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["localhost"]["changed"], 0);
    let files = &result(&doc, "logs")["files"];
    let record = files
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with("/b.log")))
        .expect("b.log is found");
    let meta = std::fs::metadata(&b).expect("stat");
    assert_eq!(
        record["path"],
        scratch.path().join("logs/b.log").display().to_string()
    );
    assert_eq!(record["mode"], "0600");
    assert_eq!(record["size"], 2000);
    assert_eq!(record["isreg"], true);
    assert_eq!(record["inode"], meta.ino());
    assert_close(
        &record["mtime"],
        meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9,
    );
    let skipped = &result(&doc, "missing")["skipped_paths"];
    assert_eq!(skipped.as_object().map(|m| m.len()), Some(1), "{skipped}");
}

const SLURP_PLAY: &str = r#"- hosts: localhost
  gather_facts: false
  vars:
    t: "{{ lookup('env', 'TARGET') }}"
    gone: "File not found: {{ t }}/missing"
    is_dir: "Source is a directory and must be a file: {{ t }}"
  tasks:
    - name: slurp text
      slurp:
        src: "{{ t }}/motd"
      register: motd
    - name: slurp binary
      slurp:
        path: "{{ t }}/blob"
      register: blob
    - name: slurp missing
      slurp:
        src: "{{ t }}/missing"
      register: missing
      ignore_errors: true
    - name: slurp directory
      slurp:
        src: "{{ t }}"
      register: dir
      ignore_errors: true
    - name: check
      assert:
        that:
          - motd.content | b64decode == 'Welcome to bosun\n'
          - motd.encoding == 'base64' and motd.source == t ~ '/motd'
          - motd.changed == false
          - missing.failed and missing.msg == gone
          - dir.failed and dir.msg == is_dir
"#;

#[test]
fn slurp_returns_the_bytes_base64_encoded() {
    let scratch = Scratch::new();
    scratch.write("motd", "Welcome to bosun\n");
    let bytes: Vec<u8> = (0..=255u8).rev().collect();
    std::fs::write(scratch.path().join("blob"), &bytes).expect("write blob");
    scratch.write("slurp.yml", SLURP_PLAY);

    let (code, doc) = run_json(&scratch, "slurp.yml", &[]);
    assert_eq!(code, 0, "{doc:#}");
    let stats = &doc["stats"]["localhost"];
    assert_eq!(
        (&stats["changed"], &stats["ignored"]),
        (&Json::from(0), &Json::from(2))
    );
    let content = result(&doc, "slurp binary")["content"]
        .as_str()
        .expect("content is a string")
        .to_string();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(content)
        .expect("base64");
    assert_eq!(decoded, bytes, "every byte value survives");
}

const FETCH_PLAY: &str = r#"- hosts: localhost
  gather_facts: false
  vars:
    t: "{{ lookup('env', 'TARGET') }}"
  tasks:
    - name: fetch tree
      fetch:
        src: "{{ t }}/remote/data.bin"
        dest: fetched
      register: tree
    - name: fetch flat
      fetch:
        src: "{{ t }}/remote/data.bin"
        dest: "{{ t }}/flat/"
        flat: true
      register: flat
    - name: fetch renamed
      fetch:
        src: "{{ t }}/remote/data.bin"
        dest: "{{ t }}/flat/copy.bin"
        flat: true
      register: renamed
    - name: fetch missing
      fetch:
        src: "{{ t }}/remote/missing"
        dest: "{{ t }}/flat/"
        flat: true
        fail_on_missing: false
      register: missing
    - name: fetch directory
      fetch:
        src: "{{ t }}/remote"
        dest: "{{ t }}/flat/"
        flat: true
      register: directory
      ignore_errors: true
    - name: check
      when: not ansible_check_mode
      assert:
        that:
          - tree.dest == t ~ '/fetched/localhost' ~ t ~ '/remote/data.bin'
          - tree.checksum | length == 40
          - not tree.changed or tree.checksum == tree.remote_checksum
          - tree.changed or tree.remote_checksum is not defined
          - flat.dest == t ~ '/flat/data.bin'
          - renamed.dest == t ~ '/flat/copy.bin'
          - missing is not failed and missing.changed == false
          - missing.msg == 'the remote file does not exist, not transferring, ignored'
          - directory is failed
          - directory.msg == 'remote file is a directory, fetch cannot work on directories'
"#;

#[test]
fn fetch_copies_to_the_control_node_once() {
    let scratch = Scratch::new();
    let target = scratch.path().to_path_buf();
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::create_dir(target.join("remote")).expect("mkdir");
    std::fs::write(target.join("remote/data.bin"), &bytes).expect("write data");
    scratch.write("fetch.yml", FETCH_PLAY);

    let before = listing(&target);
    let (code, out) = run(&scratch, &["run", "fetch.yml", "-C"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(listing(&target), before, "check mode writes nothing");
    assert!(
        recap_line(&out, "localhost").contains("changed=3 "),
        "check mode reports the three copies it would make:\n{out}"
    );

    let (code, out) = run(&scratch, &["run", "fetch.yml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=3 "),
        "{out}"
    );
    let relative = target.strip_prefix("/").expect("absolute scratch dir");
    for copy in [
        target
            .join("fetched/localhost")
            .join(relative)
            .join("remote/data.bin"),
        target.join("flat/data.bin"),
        target.join("flat/copy.bin"),
    ] {
        let fetched = std::fs::read(&copy)
            .unwrap_or_else(|err| panic!("{} was fetched: {err}", copy.display()));
        assert_eq!(fetched, bytes, "{} holds the same bytes", copy.display());
    }

    let (code, out) = run(&scratch, &["run", "fetch.yml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "identical checksums: nothing is copied again\n{out}"
    );
}

const TEMPFILE_PLAY: &str = r#"- hosts: localhost
  gather_facts: false
  vars:
    t: "{{ lookup('env', 'TARGET') }}"
  tasks:
    - name: temp file
      tempfile:
        path: "{{ t }}"
        prefix: "pre."
        suffix: ".txt"
      register: file
    - name: temp dir
      tempfile:
        state: directory
        path: "{{ t }}"
      register: dir
    - name: stat them
      stat:
        path: "{{ item }}"
      loop:
        - "{{ file.path }}"
        - "{{ dir.path }}"
      register: made
    - name: check
      assert:
        that:
          - file.changed and dir.changed
          - file.path is match(t ~ '/pre\..{8}\.txt$')
          - dir.path is match(t ~ '/ansible\..{8}$')
          - made.results[0].stat.isreg and made.results[0].stat.mode == '0600'
          - made.results[1].stat.isdir and made.results[1].stat.mode == '0700'
          - file.state == 'file' and file.mode == '0600' and file.size == 0
          - dir.state == 'directory' and dir.mode == '0700'
    - name: a prefix with a directory in it
      tempfile:
        path: "{{ t }}"
        prefix: "../escape."
      register: escaped
      ignore_errors: true
    - name: refused
      assert:
        that:
          - escaped is failed
          - escaped.msg == "prefix must be a valid file name component, got '../escape.'"
"#;

#[test]
fn tempfile_creates_private_files_and_skips_in_check_mode() {
    let scratch = Scratch::new();
    let target = scratch.path().to_path_buf();
    scratch.write("tempfile.yml", TEMPFILE_PLAY);

    let before = listing(&target);
    let (_, out) = run(&scratch, &["run", "tempfile.yml", "-C"]);
    assert!(
        out.contains("skipping: [localhost]"),
        "tempfile does not support check mode:\n{out}"
    );
    assert_eq!(listing(&target), before, "check mode creates nothing");

    let (code, doc) = run_json(&scratch, "tempfile.yml", &[]);
    assert_eq!(code, 0, "{doc:#}");
    for (task, is_dir) in [("temp file", false), ("temp dir", true)] {
        let path = result(&doc, task)["path"]
            .as_str()
            .expect("a path")
            .to_string();
        let meta = std::fs::metadata(&path).expect("it exists");
        assert_eq!(meta.is_dir(), is_dir, "{path}");
        assert_eq!(Path::new(&path).parent(), Some(target.as_path()));
    }
    assert_eq!(listing(&target).len(), before.len() + 2);
}

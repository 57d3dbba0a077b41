//! `assemble` run by the real binary: fragments on a Debian container (over SSH) and
//! fragments from the playbook's `files/` (local), the assembled file checked on the
//! target, a second run changing nothing and check mode touching nothing.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, recap_line, stderr, stdout};

const REMOTE: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: assemble the fragments
      assemble:
        src: /tmp/bosun-assemble/conf.d
        dest: /tmp/bosun-assemble/assembled.conf
        delimiter: '# --'
        regexp: '\\.conf$'
        ignore_hidden: true
        backup: true
        mode: '0640'
      register: made
    - assert:
        that:
          - made.state == 'file'
          - made.msg == 'OK'
          - made.src == '/tmp/bosun-assemble/conf.d'
";

#[test]
fn assemble_joins_remote_fragments_once_and_keeps_a_backup() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(
        0,
        "rm -rf /tmp/bosun-assemble && mkdir -p /tmp/bosun-assemble/conf.d && cd /tmp/bosun-assemble/conf.d \
         && printf 'b = 2' > 20-b.conf && printf 'a = 1\\n' > 10-a.conf \
         && printf 'hidden\\n' > .30-h.conf && printf 'skipped\\n' > README \
         && printf 'old\\n' > ../assembled.conf",
    );
    let read = "cat /tmp/bosun-assemble/assembled.conf";
    fleet.play_expecting("assemble.yml", REMOTE, &["--check"], 1);
    assert_eq!(fleet.on_host(0, read), "old", "check mode wrote");

    fleet.play_expecting("assemble.yml", REMOTE, &[], 1);
    assert_eq!(fleet.on_host(0, read), "a = 1\n# --\nb = 2");
    assert_eq!(
        fleet.on_host(0, "stat -c %a /tmp/bosun-assemble/assembled.conf"),
        "640"
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bosun-assemble/assembled.conf.*~"),
        "old",
        "the backup holds the old file"
    );
    fleet.play_expecting("assemble.yml", REMOTE, &[], 0);

    let out = fleet.play_fails(
        "validate.yml",
        &REMOTE
            .replace("mode: '0640'", "validate: 'grep -q nothing-like-this %s'")
            .replace("regexp: '\\.conf$'", "regexp: 'a'"),
        &[],
        "failed to validate: rc:1",
    );
    assert!(out.contains("changed=0"), "{out}");
    assert_eq!(fleet.on_host(0, read), "a = 1\n# --\nb = 2", "kept");
}

#[test]
fn assemble_takes_control_node_fragments_and_shows_a_diff() {
    let scratch = Scratch::new();
    scratch.write("files/parts/1-first", "first\n");
    scratch.write("files/parts/2-second", "second");
    let dest = scratch.path().join("out/joined.txt");
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("dir");
    scratch.write(
        "site.yml",
        &format!(
            "- hosts: localhost
  gather_facts: false
  tasks:
    - assemble:
        src: parts
        remote_src: false
        dest: {}
        delimiter: '--'
",
            dest.display()
        ),
    );
    let run = |args: &[&str]| {
        let output = scratch.bosun(args);
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert_eq!(output.status.code(), Some(0), "{text}");
        text
    };
    let out = run(&["run", "site.yml", "--check", "--diff"]);
    assert!(
        recap_line(&out, "localhost").contains("changed=1 "),
        "{out}"
    );
    assert!(
        out.contains("+second"),
        "the diff shows the new text: {out}"
    );
    assert!(!dest.exists(), "check mode wrote");

    let out = run(&["run", "site.yml"]);
    assert!(
        recap_line(&out, "localhost").contains("changed=1 "),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&dest).expect("written"),
        "first\n--\nsecond"
    );
    let out = run(&["run", "site.yml"]);
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "{out}"
    );
}

//! `script` run by the real binary: locally (the script found in the playbook's
//! `files/`, its effect checked on disk) and over SSH on a Debian container.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, recap_line, stderr, stdout};

const SCRIPT: &str = "#!/bin/sh\n\
    # writes its arguments, one a line, and where it ran, to the file named first\n\
    out=$1; shift\n\
    { pwd; for a in \"$@\"; do echo \"[$a]\"; done; echo \"env=$GREETING\"; } > \"$out\"\n\
    echo wrote \"$out\"\n\
    echo to-stderr >&2\n";

fn playbook(out: &str) -> String {
    format!(
        "- hosts: localhost
  gather_facts: false
  tasks:
    - name: run it
      script: make.sh {out} one 'two words' -\u{4e6}ther
      args:
        creates: {out}
        chdir: /
      environment:
        GREETING: hi
      register: made
    - assert:
        that:
          - ansible_check_mode or made is skipped or made.stdout_lines == ['wrote {out}']
          - ansible_check_mode or made is skipped or made.stderr == 'to-stderr\\n'
          - ansible_check_mode or made is skipped or made.rc == 0
"
    )
}

fn run(scratch: &Scratch, args: &[&str]) -> (i32, String) {
    let output = scratch.bosun(args);
    let text = format!("{}{}", stdout(&output), stderr(&output));
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn script_runs_once_with_its_arguments_and_check_mode_runs_nothing() {
    let scratch = Scratch::new();
    scratch.write("files/make.sh", SCRIPT);
    let out = scratch.path().join("made.txt").display().to_string();
    scratch.write("site.yml", &playbook(&out));

    let (code, text) = run(&scratch, &["run", "site.yml", "--check"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        recap_line(&text, "localhost").contains("changed=1 "),
        "check mode predicts the run: {text}"
    );
    assert!(
        !scratch.path().join("made.txt").exists(),
        "check mode ran it"
    );

    let (code, text) = run(&scratch, &["run", "site.yml"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        recap_line(&text, "localhost").contains("changed=1 "),
        "{text}"
    );
    let made = std::fs::read_to_string(scratch.path().join("made.txt")).expect("made");
    assert_eq!(made, "/\n[one]\n[two words]\n[-\u{4e6}ther]\nenv=hi\n");

    let (code, text) = run(&scratch, &["run", "site.yml", "-v"]);
    assert_eq!(code, 0, "{text}");
    let recap = recap_line(&text, "localhost");
    assert!(
        recap.contains("changed=0 ") && recap.contains("skipped=1 "),
        "{text}"
    );
    assert!(
        text.contains(&format!("{out} exists, matching creates option")),
        "{text}"
    );
}

#[test]
fn script_reports_failures_as_ansible_does() {
    let scratch = Scratch::new();
    scratch.write("files/fail.sh", "#!/bin/sh\necho partial\nexit 3\n");
    scratch.write("files/py", "print('via executable')\n");
    scratch.write(
        "site.yml",
        "- hosts: localhost
  gather_facts: false
  tasks:
    - script: fail.sh
      register: failing
      ignore_errors: true
    - script: missing.sh
      register: missing
      ignore_errors: true
    - script: fail.sh
      args: {chdir: relative}
      register: relative
      ignore_errors: true
    - script:
      register: nothing
      ignore_errors: true
    - script: py
      args: {executable: python3}
      register: python
    - script: fail.sh
      check_mode: true
      register: checked
    - assert:
        that:
          - failing is failed and failing is changed
          - failing.rc == 3 and failing.stdout == 'partial\\n'
          - failing.msg == 'non-zero return code'
          - missing.msg is search(\"Could not find or access 'missing.sh'\")
          - relative.msg == 'chdir relative must be an absolute path for a Unix-aware remote node'
          - \"nothing.msg == 'one of the following is required: _raw_params, cmd'\"
          - python.stdout == 'via executable\\n'
          - checked is skipped and checked is not changed
          - checked.msg == 'Check mode is not supported for this task.'
",
    );
    let (code, text) = run(&scratch, &["run", "site.yml"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        recap_line(&text, "localhost").contains("ignored=4 "),
        "{text}"
    );
}

#[test]
fn script_runs_over_ssh_with_become_and_leaves_no_temporary_files() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let script = dir.path().join("whoami.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nid -un > /tmp/bosun-script-ran\necho \"$1\"\n",
    )
    .expect("write");
    let play = format!(
        "- hosts: all
  gather_facts: false
  tasks:
    - script: {} as-nobody
      args:
        creates: /tmp/bosun-script-ran
      become: true
      become_user: nobody
      register: ran
    - assert:
        that: ansible_check_mode or ran is skipped or ran.stdout == 'as-nobody\\n'
",
        script.display()
    );
    fleet.on_host(0, "rm -f /tmp/bosun-script-ran");
    fleet.play_expecting("script.yml", &play, &["--check"], 1);
    assert_eq!(
        fleet.on_host(
            0,
            "test -e /tmp/bosun-script-ran && echo ran || echo absent"
        ),
        "absent"
    );
    fleet.play_expecting("script.yml", &play, &[], 1);
    assert_eq!(fleet.on_host(0, "cat /tmp/bosun-script-ran"), "nobody");
    fleet.play_expecting("script.yml", &play, &[], 0);
    assert_eq!(
        fleet.on_host(0, "find / -xdev -name 'ansible-tmp-*' 2>/dev/null | wc -l"),
        "0",
        "temporary directories are removed"
    );
}

//! `vars_prompt` answered at a real terminal (a pty made by `script`), and without
//! one; plus the play structures Ansible refuses or accepts when it loads a playbook.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Scratch, stderr, stdout};

const PROMPTS: &str = r#"- hosts: localhost
  gather_facts: false
  vars_prompt:
    - name: who
      prompt: Who
      default: nobody
    - name: secret
      confirm: true
    - name: hashed
      private: false
      encrypt: sha512_crypt
      salt: abcdefgh
  tasks:
    - copy: {dest: "{{ playbook_dir }}/answers", content: "{{ who }} {{ secret }} {{ hashed }}"}
"#;

#[test]
fn prompts_are_asked_at_the_terminal_confirmed_and_hashed() {
    let scratch = Scratch::new();
    scratch.write("p.yml", PROMPTS);
    let bosun = assert_cmd::cargo::cargo_bin("bosun");
    let command = format!("{} run -i localhost, -c local p.yml", bosun.display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(scratch.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut input = child.stdin.take().expect("stdin");
    for line in ["web", "s1", "s2", "s1", "s1", "pw"] {
        std::thread::sleep(Duration::from_millis(400));
        writeln!(input, "{line}").expect("typed");
    }
    std::thread::sleep(Duration::from_millis(1500));
    drop(input);
    let output = child.wait_with_output().expect("finished");
    let shown = String::from_utf8_lossy(&output.stdout).replace('\r', "");
    assert!(shown.contains("Who [nobody]: "), "{shown}");
    assert!(
        shown.contains("***** VALUES ENTERED DO NOT MATCH ****"),
        "{shown}"
    );
    assert!(
        !shown.contains("s1"),
        "a private answer is not echoed: {shown}"
    );
    assert!(shown.contains("hashed: pw"), "a public one is: {shown}");
    assert_eq!(
        scratch.read("answers"),
        "web s1 $6$rounds=656000$abcdefgh$pLncf7ljI4rnlGRtlaRLIaBXT8hoDhe5j.p3YfqrEPrlrDTn7qRk9ssGh4MFgYzW30TNcYrpyeSWhww63/Kel0",
        "passlib's sha512_crypt of 'pw' with that salt, as ansible-core 2.19"
    );
}

#[test]
fn without_a_terminal_defaults_are_used_and_extra_vars_are_not_asked() {
    let scratch = Scratch::new();
    scratch.write(
        "p.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars_prompt:\n    - name: who\n      default: \"{{ 40 + 2 }}\"\n    - name: given\n    - name: nothing\n  tasks:\n    - copy: {dest: \"{{ playbook_dir }}/answers\", content: \"{{ who }} {{ given }} {{ nothing }}\"}\n",
    );
    let output = scratch.bosun(&[
        "run",
        "-i",
        "localhost,",
        "-c",
        "local",
        "p.yml",
        "-e",
        "given=cli",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(stderr(&output).contains("Not prompting as we are not in interactive mode"));
    assert_eq!(
        scratch.read("answers"),
        "42 cli None",
        "as Ansible: default, -e, str(None)"
    );
}

#[test]
fn play_structures_are_refused_or_accepted_as_ansible_loads_them() {
    let scratch = Scratch::new();
    let cases: [(&str, &str, i32, &str); 6] = [
        (
            "empty.yml",
            "[]\n",
            4,
            "A playbook must contain at least one play",
        ),
        ("nothing.yml", "", 4, "Empty playbook, nothing to do"),
        (
            "no_hosts.yml",
            "- hosts: []\n  tasks: []\n",
            4,
            "Hosts list cannot be empty. Please check your playbook",
        ),
        (
            "old_role.yml",
            "- hosts: localhost\n  roles: ['foo,bar']\n",
            1,
            "Invalid old style role requirement: foo,bar",
        ),
        (
            "bad_prompt.yml",
            "- hosts: localhost\n  vars_prompt:\n    - prompt: x\n",
            4,
            "Invalid vars_prompt data structure, missing 'name' key",
        ),
        (
            "nulls.yml",
            "- hosts: localhost\n  gather_facts: false\n  vars_files: null\n  vars_prompt: null\n  roles: null\n  tasks: []\n",
            0,
            "",
        ),
    ];
    for (file, text, code, message) in cases {
        scratch.write(file, text);
        let output = scratch.bosun(&["run", "-i", "localhost,", "-c", "local", file]);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{file}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{file}: {}",
            stderr(&output)
        );
    }
}

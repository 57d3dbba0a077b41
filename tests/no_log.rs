//! `no_log: true` hides a task's values in every output mode, loop items and failed
//! results included, exactly as Ansible shows them; the registered variable keeps them.

mod common;

use common::{Scratch, recap_line, stdout};

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - command: "echo {{ item }}"
      loop: [s3cret1, s3cret2]
      no_log: true
      register: echoed
    - command: "false {{ item }}"
      loop: [s3cret3]
      loop_control:
        label: "label-{{ item }}"
      no_log: true
      ignore_errors: true
    - command: "false s3cret4"
      no_log: true
      ignore_errors: true
    - debug: msg="{{ item }}"
      loop: [s3cret5, public6]
      no_log: "{{ item == 's3cret5' }}"
    - copy:
        content: "{{ echoed.results | map(attribute='stdout') | join(',') }}"
        dest: "{{ out }}"
      no_log: true
"#;

fn run(scratch: &Scratch, extra: &[&str]) -> String {
    let out = scratch.path().join("kept.txt").display().to_string();
    let vars = format!("out={out}");
    let mut args = vec![
        "run",
        "p.yml",
        "-c",
        "local",
        "-i",
        "localhost,",
        "-e",
        &vars,
    ];
    args.extend_from_slice(extra);
    let output = scratch.bosun(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    format!(
        "{}{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn no_output_mode_shows_a_no_log_value() {
    let scratch = Scratch::new();
    scratch.write("p.yml", PLAYBOOK);
    let modes: [&[&str]; 9] = [
        &[],
        &["-v"],
        &["-vv"],
        &["-vvv"],
        &["-vvvv"],
        &["-D"],
        &["-C"],
        &["-D", "-C", "-vvvv"],
        &["--output", "json"],
    ];
    for mode in modes {
        let shown = run(&scratch, mode);
        assert!(
            !shown.contains("s3cret"),
            "{mode:?} shows a secret:\n{shown}"
        );
        if mode != ["--output", "json"] {
            assert_eq!(
                shown.matches("(item=(censored due to no_log))").count(),
                4,
                "{mode:?}:\n{shown}"
            );
            assert!(shown.contains("(item=public6)"), "{shown}");
        }
    }
    let kept = std::fs::read_to_string(scratch.path().join("kept.txt")).expect("written");
    assert_eq!(
        kept, "s3cret1,s3cret2",
        "the registered result keeps the values"
    );
}

#[test]
fn censored_results_read_as_ansible_prints_them() {
    let scratch = Scratch::new();
    scratch.write("p.yml", PLAYBOOK);
    let shown = run(&scratch, &[]);
    let censored = "{\"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\", \"changed\": true}";
    for line in [
        "changed: [localhost] => (item=(censored due to no_log))".to_string(),
        format!("failed: [localhost] (item=(censored due to no_log)) => {censored}"),
        format!("fatal: [localhost]: FAILED! => {censored}"),
        "ok: [localhost] => (item=(censored due to no_log))".to_string(),
    ] {
        assert!(
            shown.lines().any(|l| l == line),
            "no line {line:?} in:\n{shown}"
        );
    }
    // Ignored failures count as ok (and changed), as in Ansible's recap.
    assert_eq!(
        recap_line(&shown, "localhost"),
        "localhost                  : ok=5    changed=4    unreachable=0    failed=0    skipped=0    rescued=0    ignored=2   "
    );
}

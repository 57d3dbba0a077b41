//! A loop asks every item's first question in one round trip
//! (`connection::Answers`): a converged loop costs one round trip, and an item
//! always sees what the items before it changed.

mod common;

use common::{Scratch, recap_line, stderr, stdout};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const COUNTED: [(&str, &str); 1] = [("BOSUN_ROUND_TRIPS", "1")];

fn run_counted(scratch: &Scratch, playbook: &str) -> (String, String) {
    let env: Vec<(&str, &Path)> = COUNTED.iter().map(|(k, v)| (*k, Path::new(*v))).collect();
    let output = scratch.bosun_with(&["run", playbook], &env);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    (out, stderr(&output))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

#[test]
fn a_converged_loop_costs_one_round_trip_a_task() {
    let scratch = Scratch::new();
    scratch.write(
        "loops.yml",
        "- hosts: localhost
  gather_facts: false
  vars: {t: \"{{ lookup('env', 'TARGET') }}\"}
  tasks:
    - file: path={{ t }}/d{{ item }} state=directory mode=0750
      loop: [1, 2, 3, 4, 5, 6]
    - lineinfile: path={{ t }}/conf line='key{{ item }} = on' create=true mode=0640
      loop: [1, 2, 3]
    - file: path={{ t }}/d{{ item }}/f state=touch mode=0600
      loop: [1, 2, 3]
      when: item != 2
",
    );
    let (out, _) = run_counted(&scratch, "loops.yml");
    assert!(
        recap_line(&out, "localhost").contains("changed=3 "),
        "{out}"
    );
    let root = scratch.path();
    for i in 1..=6 {
        assert_eq!(mode(&root.join(format!("d{i}"))), 0o750);
    }
    assert_eq!(
        scratch.read("conf"),
        "key1 = on\nkey2 = on\nkey3 = on\n",
        "each lineinfile item saw the lines the items before it wrote"
    );
    assert_eq!(mode(&root.join("d1/f")), 0o600);
    assert!(
        !root.join("d2/f").exists(),
        "the skipped item touched nothing"
    );

    std::fs::set_permissions(root.join("d4"), PermissionsExt::from_mode(0o700)).expect("chmod");
    let (out, _) = run_counted(&scratch, "loops.yml");
    // The drifted directory, and the touch task, which always changes times.
    assert!(
        recap_line(&out, "localhost").contains("changed=2 "),
        "{out}"
    );
    assert_eq!(
        mode(&root.join("d4")),
        0o750,
        "the drifted item was put right"
    );

    // `touch` always changes times, so the converged run leaves that task out.
    scratch.write(
        "converged.yml",
        &scratch
            .read("loops.yml")
            .replace("state=touch", "state=file"),
    );
    let (out, err) = run_counted(&scratch, "converged.yml");
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "{out}"
    );
    assert!(err.contains("bosun: 3 round trips to targets"), "{err}");
}

#[test]
fn an_item_sees_what_the_item_before_it_changed() {
    // Both items edit the same line. Asked ahead, the second item's question says
    // `x=2`; once the first item has set `x=1` that answer is stale, and the second
    // item must ask again and set `x=2` back.
    let scratch = Scratch::new();
    scratch.write("conf", "x=2\n");
    scratch.write(
        "flip.yml",
        "- hosts: localhost
  gather_facts: false
  tasks:
    - lineinfile: path={{ lookup('env', 'TARGET') }}/conf regexp='^x=' line=x={{ item }}
      loop: [1, 2]
",
    );
    let (out, err) = run_counted(&scratch, "flip.yml");
    assert_eq!(scratch.read("conf"), "x=2\n", "{out}");
    assert!(out.contains("changed: [localhost] => (item=1)"), "{out}");
    assert!(out.contains("changed: [localhost] => (item=2)"), "{out}");
    // One round trip for both questions, the first item's write, then the second
    // item's own question and write.
    assert!(err.contains("bosun: 4 round trips to targets"), "{err}");
}

#[test]
fn check_mode_asks_ahead_and_touches_nothing() {
    let scratch = Scratch::new();
    scratch.write(
        "dirs.yml",
        "- hosts: localhost
  gather_facts: false
  tasks:
    - file: path={{ lookup('env', 'TARGET') }}/c{{ item }} state=directory
      loop: [1, 2, 3]
",
    );
    let env: Vec<(&str, &Path)> = COUNTED.iter().map(|(k, v)| (*k, Path::new(*v))).collect();
    let output = scratch.bosun_with(&["run", "dirs.yml", "--check"], &env);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("changed=1 "),
        "{out}"
    );
    for i in 1..=3 {
        assert!(!scratch.path().join(format!("c{i}")).exists(), "{out}");
    }
    assert!(
        stderr(&output).contains("bosun: 1 round trips to targets"),
        "{}",
        stderr(&output)
    );
}

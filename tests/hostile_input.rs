//! Hostile or broken input given to the real binary: every case ends with a clear
//! error and an exit code, never an abort, a runaway allocation or a hang.

mod common;

use common::{Scratch, stderr, stdout};

/// Runs bosun locally on `localhost`; returns the exit code (None if killed by a
/// signal, as a stack overflow is) and stdout with stderr.
fn run(scratch: &Scratch, args: &[&str]) -> (Option<i32>, String) {
    let mut all = args.to_vec();
    all.extend(["-i", "localhost,", "-c", "local"]);
    let output = scratch.bosun(&all);
    let text = format!("{}\n{}", stdout(&output), stderr(&output));
    (output.status.code(), text)
}

/// Expressions that overflowed minijinja's recursive parser.
fn deep_expressions() -> Vec<String> {
    vec![
        format!("1 {}1", "- ".repeat(10_000)),
        format!("{}true", "not ".repeat(10_000)),
        vec!["1"; 10_000].join(" + "),
        format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000)),
        format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)),
    ]
}

#[test]
fn deep_jinja_is_an_error_in_every_place_it_can_be_written() {
    let scratch = Scratch::new();
    for (index, expression) in deep_expressions().iter().enumerate() {
        scratch.write(
            &format!("deep{index}.j2"),
            &format!("line\n{{{{ {expression} }}}}\n"),
        );
        let playbook = format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
             \x20   - debug:\n        msg: \"{{{{ {expression} }}}}\"\n      ignore_errors: true\n\
             \x20   - debug: msg=when\n      when: \"{expression}\"\n      ignore_errors: true\n\
             \x20   - template:\n        src: deep{index}.j2\n        dest: out{index}\n      ignore_errors: true\n"
        );
        let name = format!("deep{index}.yml");
        scratch.write(&name, &playbook);
        let (code, out) = run(&scratch, &["run", "--syntax-check", &name]);
        assert_eq!(code, Some(0), "{index}: {out}");
        let (code, out) = run(&scratch, &["run", &name]);
        assert_eq!(code, Some(0), "{index}: {out}");
        assert_eq!(
            out.matches("more than 256 levels").count(),
            3,
            "{index}: {out}"
        );
    }
}

#[test]
fn alias_bombs_are_refused_at_the_alias() {
    let scratch = Scratch::new();
    let mut vars = String::from("    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 9].join(", ");
        vars.push_str(&format!("    a{level}: &a{level} [{items}]\n"));
    }
    let playbook = format!("- hosts: localhost\n  vars:\n{vars}  tasks: []\n");
    scratch.write("bomb.yml", &playbook);
    let (code, out) = run(&scratch, &["run", "--syntax-check", "bomb.yml"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("bomb.yml:8:"), "{out}");
    assert!(
        out.contains("aliases in this file expand to more than"),
        "{out}"
    );
}

#[test]
fn deep_yaml_is_refused_quickly() {
    let scratch = Scratch::new();
    let playbook = format!(
        "- hosts: localhost\n  vars:\n    x:\n      {}x\n  tasks: []\n",
        "- ".repeat(20_000)
    );
    scratch.write("deep.yml", &playbook);
    let started = std::time::Instant::now();
    let (code, out) = run(&scratch, &["run", "--syntax-check", "deep.yml"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("deep.yml:4:"), "{out}");
    assert!(
        out.contains("YAML nesting is deeper than 256 levels"),
        "{out}"
    );
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

#[test]
fn huge_host_ranges_are_refused_in_both_inventory_formats() {
    let scratch = Scratch::new();
    scratch.write("hosts.ini", "[web]\nh[1:100000000]\n");
    scratch.write("hosts.yml", "all:\n  hosts:\n    h[1:100000000]:\n");
    for (file, place) in [
        ("hosts.ini", "hosts.ini:2:1"),
        ("hosts.yml", "hosts.yml:3:5"),
    ] {
        let output = scratch.bosun(&["inventory", "--list", "-i", file]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(4), "{err}");
        assert!(err.contains(place), "{err}");
        assert!(err.contains("make 100000000 host names"), "{err}");
    }
}

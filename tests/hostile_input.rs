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
        // A source that cannot be parsed is a warning, as in Ansible; the range is
        // never made.
        let output = scratch.bosun(&["inventory", "--list", "-i", file]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{err}");
        assert!(err.contains(place), "{err}");
        assert!(err.contains("make 100000000 host names"), "{err}");
        assert!(!stdout(&output).contains("h1"), "{}", stdout(&output));
    }
}

#[test]
fn keywords_of_the_wrong_type_fail_the_task_when_it_runs() {
    let scratch = Scratch::new();
    let cases = [
        (
            "ignore_errors: maybe",
            "'ignore_errors': The value 'maybe' could not be converted to 'bool'",
            "ignored=1",
        ),
        (
            "retries: abc\n      until: true",
            "'retries': The value 'abc' could not be converted to 'int'",
            "failed=1",
        ),
        (
            "delay: [1]\n      until: true",
            "'delay': The value [1] could not be converted to 'float'",
            "failed=1",
        ),
        (
            "timeout: soon",
            "'timeout': The value 'soon' could not be converted to 'int'",
            "failed=1",
        ),
    ];
    for (keyword, message, counted) in cases {
        // As in Ansible: accepted when the playbook loads, refused when the task runs,
        // and never looked at in a task that is skipped.
        let playbook = format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: skipped\n      debug: msg=hi\n      when: false\n      {keyword}\n    - name: t\n      debug: msg=hi\n      {keyword}\n"
        );
        scratch.write("kw.yml", &playbook);
        let (code, out) = run(&scratch, &["run", "--syntax-check", "kw.yml"]);
        assert_eq!(code, Some(0), "{out}");
        let (_, out) = run(&scratch, &["run", "kw.yml"]);
        assert!(
            out.lines()
                .any(|l| l.contains("\"msg\": \"Task failed: kw.yml:")
                    && l.contains(&format!(":7: Error processing keyword {message}"))),
            "{out}"
        );
        assert!(out.contains("skipped=1"), "{out}");
        assert!(out.contains(counted), "{out}");
    }
}

#[test]
fn templated_keywords_are_checked_once_rendered() {
    let scratch = Scratch::new();
    let playbook = "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
        \x20   - debug: msg=fine\n      retries: \"{{ good }}\"\n      delay: \"{{ good }}\"\n      until: true\n\
        \x20   - debug: msg=broken\n      retries: \"{{ bad }}\"\n      until: true\n\
        \x20 vars: {good: 2, bad: abc}\n";
    scratch.write("kw.yml", playbook);
    let (code, out) = run(&scratch, &["run", "kw.yml"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("\"msg\": \"fine\""), "{out}");
    assert!(
        out.contains("kw.yml:8:7: Error processing keyword 'retries': The value 'abc' could not be converted to 'int'."),
        "{out}"
    );
}

#[test]
fn a_port_that_is_not_a_number_fails_the_task() {
    let scratch = Scratch::new();
    scratch.write(
        "hosts.ini",
        "h1 ansible_host=127.0.0.1 ansible_port=notaport\n",
    );
    scratch.write(
        "ping.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n",
    );
    let output = scratch.bosun(&["run", "ping.yml", "-i", "hosts.ini"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(
        out.contains("ping.yml:4:7: Error processing keyword 'port': The value 'notaport' could not be converted to 'int'."),
        "{out}"
    );
    assert!(out.contains("unreachable=0    failed=1"), "{out}");
}

#[test]
fn duplicate_keys_warn_as_ansible_does_and_keep_the_last_value() {
    let scratch = Scratch::new();
    scratch.write(
        "dup.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: first\n      debug: msg=hi\n      name: again\n",
    );
    let (code, out) = run(&scratch, &["run", "dup.yml"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "[WARNING]: Found duplicate mapping key 'name'.\nOrigin: dup.yml:6:7\n\n\
             4     - name: first\n5       debug: msg=hi\n6       name: again\n        ^ column 7\n\n\
             Using last defined value only."
        ),
        "{out}"
    );
    assert!(out.contains("TASK [again]"), "{out}");
}

#[test]
fn a_range_at_the_limit_loads_in_linear_time() {
    let scratch = Scratch::new();
    scratch.write("hosts.ini", "h[1:100000]\n");
    let started = std::time::Instant::now();
    let output = scratch.bosun(&["inventory", "--graph", "-i", "hosts.ini"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("h100000"));
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
}

#[test]
fn an_unbalanced_quote_in_a_free_form_command_is_refused_before_anything_runs() {
    let scratch = Scratch::new();
    scratch.write(
        "quote.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {content: x, dest: \"{{ playbook_dir }}/ran\"}\n    - shell: echo 'a   # b\n",
    );
    let (code, out) = run(&scratch, &["run", "quote.yml"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.contains(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes: echo 'a"
        ),
        "{out}"
    );
    assert!(out.contains("quote.yml:5:"), "{out}");
    assert!(!scratch.path().join("ran").exists(), "refused when loading");
}

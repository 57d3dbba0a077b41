//! Ad hoc mode (`bosun PATTERN -m MODULE -a ARGS`), output as Ansible's minimal callback.

mod common;

use common::{Scratch, stdout};

#[test]
fn ping_localhost() {
    let scratch = Scratch::new();
    let output = scratch.bosun(&["-m", "ping", "localhost"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "localhost | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"
    );
}

#[test]
fn shell_output_and_effect() {
    let scratch = Scratch::new();
    let marker = scratch.path().join("adhoc-marker");
    let command = format!("echo hi; touch {}", marker.display());
    let output = scratch.bosun(&["localhost", "-m", "shell", "-a", &command]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "localhost | CHANGED | rc=0 >>\nhi\n");
    assert!(marker.is_file(), "the command ran on the target");
}

#[test]
fn default_module_is_command_and_failures_exit_2() {
    let scratch = Scratch::new();
    let output = scratch.bosun(&["localhost", "-a", "/bin/sh -c 'echo oops >&2; exit 3'"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stdout(&output),
        "localhost | FAILED | rc=3 >>\noopsnon-zero return code\n"
    );
}

#[test]
fn unknown_module_is_refused_before_running() {
    let scratch = Scratch::new();
    let output = scratch.bosun(&["localhost", "-m", "pingg"]);
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pingg"));
}

#[test]
fn setup_reads_local_facts_and_honours_gather_subset_and_filter() {
    let scratch = Scratch::new();
    scratch.write("facts.d/app.fact", "{\"port\": 80}\n");
    scratch.write("facts.d/site.fact", "[main]\nName = web\n");
    let dir = scratch.path().join("facts.d");
    let args = format!(
        "fact_path={} gather_subset=!all,min filter=ansible_local,ansible_mem*,ansible_distribution",
        dir.display()
    );
    let output = scratch.bosun(&["localhost", "-m", "setup", "-a", &args]);
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    let json = out.split_once(" => ").expect("a result").1;
    let result: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let facts = &result["ansible_facts"];
    assert_eq!(
        facts["ansible_local"],
        serde_json::json!({"app": {"port": 80}, "site": {"main": {"name": "web"}}})
    );
    assert!(facts["ansible_distribution"].is_string(), "{out}");
    assert!(
        facts.get("ansible_memtotal_mb").is_none(),
        "hardware facts are not in min: {out}"
    );
}

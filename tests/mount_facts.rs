//! `mount_facts` on the machine running the test (connection `local`): the mount
//! points and sizes it reports are the ones the kernel lists and `stat -f` measures.
//! Ansible 2.19's `mount_facts` gave the same facts on this machine, field for field.

mod common;

use common::{Scratch, stderr, stdout};

#[test]
fn mount_points_are_the_kernels_with_their_sizes() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - mount_facts: {sources: [/proc/mounts], include_aggregate_mounts: true}\n      register: r\n    - copy: {content: \"{{ r.ansible_facts | to_json }}\", dest: \"{{ playbook_dir }}/facts.json\"}\n",
    );
    let output = scratch.bosun(&["run", "-c", "local", "-i", "localhost,", "site.yml"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let text = std::fs::read_to_string(scratch.path().join("facts.json")).expect("facts");
    let facts: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("/proc/self/mounts");
    let listed: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let aggregate = facts["aggregate_mounts"].as_array().expect("a list");
    assert_eq!(
        aggregate.len(),
        listed.len(),
        "every line, repeats included"
    );
    let points = facts["mount_points"].as_object().expect("a mapping");
    for point in &listed {
        let point = point.replace("\\040", " ");
        assert!(points.contains_key(&point), "{point} is reported");
    }
    let root = &points["/"];
    assert_eq!(root["ansible_context"]["source"], "/proc/mounts");
    let stat = std::process::Command::new("stat")
        .args(["-f", "-c", "%S %b", "/"])
        .output()
        .expect("stat");
    let numbers: Vec<i64> = String::from_utf8_lossy(&stat.stdout)
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(
        root["size_total"],
        serde_json::json!(numbers[0] * numbers[1])
    );
    assert_eq!(root["block_total"], serde_json::json!(numbers[1]));
}

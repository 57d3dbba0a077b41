//! Fact caching with the `jsonfile` plugin, as an Ansible user configures it
//! (`ANSIBLE_CACHE_PLUGIN*`): facts set with `cacheable: true` or gathered outlive the
//! run, `--flush-cache` forgets them, and bosun and ansible-playbook read each other's
//! cache directory.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::ansible::ansible_or_skip;
use common::{Scratch, stderr, stdout};

const SET: &str = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - set_fact: {ansible_kept: from_cache, plain_kept: 2, cacheable: true}\n    - set_fact: {not_kept: 1}\n";
const READ: &str = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: \"{{ playbook_dir }}/seen\"\n        content: \"{{ [ansible_kept | default('none'), ansible_facts.plain_kept | default('none'), not_kept | default('none')] | join(',') }}\"\n";

fn cache_env(command: &mut Command, dir: &Path) {
    command
        .env("ANSIBLE_CACHE_PLUGIN", "jsonfile")
        .env("ANSIBLE_CACHE_PLUGIN_CONNECTION", dir)
        .env("ANSIBLE_CACHE_PLUGIN_PREFIX", "prefix_");
}

fn bosun(scratch: &Scratch, cache: &Path, args: &[&str]) -> Output {
    let mut command = scratch.bosun_command(args, &[]);
    cache_env(&mut command, cache);
    command.output().expect("bosun runs")
}

fn ansible(bin: &Path, scratch: &Scratch, cache: &Path, playbook: &str) -> Output {
    let mut command = Command::new(bin.join("ansible-playbook"));
    command
        .current_dir(scratch.path())
        .args([playbook, "-i", "localhost,", "-c", "local"])
        .arg(format!(
            "-eansible_python_interpreter={}",
            bin.join("python").display()
        ));
    cache_env(&mut command, cache);
    command.output().expect("ansible-playbook runs")
}

fn ok(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(output),
        stderr(output)
    );
}

#[test]
fn cacheable_facts_outlive_the_run_until_flushed() {
    let scratch = Scratch::new();
    let cache = scratch.path().join("cache");
    scratch.write("set.yml", SET);
    scratch.write("read.yml", READ);
    ok(&bosun(
        &scratch,
        &cache,
        &["run", "set.yml", "-i", "localhost,", "-c", "local"],
    ));
    assert!(
        cache.join("prefix_s1_localhost").is_file(),
        "the host's cache file"
    );
    ok(&bosun(
        &scratch,
        &cache,
        &["run", "read.yml", "-i", "localhost,", "-c", "local"],
    ));
    assert_eq!(
        scratch.read("seen"),
        "from_cache,2,none",
        "cached facts only"
    );
    let flushed = [
        "run",
        "read.yml",
        "-i",
        "localhost,",
        "-c",
        "local",
        "--flush-cache",
    ];
    ok(&bosun(&scratch, &cache, &flushed));
    assert_eq!(scratch.read("seen"), "none,none,none");
    assert!(!cache.join("prefix_s1_localhost").exists(), "flushed");
}

#[test]
fn bosun_and_ansible_read_each_others_fact_cache() {
    let Some(bin) = ansible_or_skip("bosun_and_ansible_read_each_others_fact_cache") else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("set.yml", SET);
    scratch.write("read.yml", READ);
    let theirs = scratch.path().join("theirs");
    ok(&ansible(&bin, &scratch, &theirs, "set.yml"));
    ok(&bosun(
        &scratch,
        &theirs,
        &["run", "read.yml", "-i", "localhost,", "-c", "local"],
    ));
    assert_eq!(
        scratch.read("seen"),
        "from_cache,2,none",
        "bosun read Ansible's cache"
    );

    let ours = scratch.path().join("ours");
    ok(&bosun(
        &scratch,
        &ours,
        &["run", "set.yml", "-i", "localhost,", "-c", "local"],
    ));
    std::fs::remove_file(scratch.path().join("seen")).expect("clean");
    ok(&ansible(&bin, &scratch, &ours, "read.yml"));
    assert_eq!(
        scratch.read("seen"),
        "from_cache,2,none",
        "Ansible read bosun's cache"
    );
}

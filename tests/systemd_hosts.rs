//! The Debian containers of `vagrant/nspawn-hosts.sh` are real systemd hosts that bosun
//! reaches over SSH.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, stderr, stdout};
use serde_json::Value as Json;

fn text(output: &std::process::Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

#[test]
fn containers_run_systemd_and_bosun_reaches_them() {
    let Some(fleet) = or_skip(SystemdFleet::up(2)) else {
        return;
    };
    for (i, host) in fleet.hosts().iter().enumerate() {
        let output = fleet.ssh(i, "systemctl is-system-running --wait; cat /proc/1/comm");
        let seen = stdout(&output);
        let lines: Vec<&str> = seen.lines().collect();
        assert!(
            matches!(lines.first(), Some(&"running" | &"degraded")),
            "{}: systemctl is-system-running says {seen:?} ({})\nconsole:\n{}",
            host.name,
            stderr(&output),
            fleet.console(i)
        );
        assert_eq!(lines.get(1), Some(&"systemd"), "{}: PID 1", host.name);
    }

    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    let home = [("HOME", fleet.home())];
    let ping = scratch.bosun_with(&["-m", "ping", "all", "-i", "hosts.ini"], &home);
    assert_eq!(ping.status.code(), Some(0), "{}", text(&ping));
    for host in fleet.hosts() {
        assert!(
            stdout(&ping).contains(&format!("{} | SUCCESS", host.name)),
            "{}",
            text(&ping)
        );
    }

    scratch.write(
        "facts.yml",
        "- hosts: all\n  tasks:\n    - name: service manager\n      debug:\n        var: ansible_service_mgr\n",
    );
    let run = scratch.bosun_with(
        &["run", "facts.yml", "-i", "hosts.ini", "--output", "json"],
        &home,
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let doc: Json = serde_json::from_str(&stdout(&run))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&run)));
    let task = doc["plays"][0]["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|task| task["task"]["name"] == "service manager")
        .unwrap_or_else(|| panic!("no task 'service manager' in {doc:#}"));
    for host in fleet.hosts() {
        assert_eq!(
            task["hosts"][&host.name]["ansible_service_mgr"], "systemd",
            "{}: {task:#}",
            host.name
        );
    }
}

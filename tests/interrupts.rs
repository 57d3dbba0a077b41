//! A task's `timeout:`, Ctrl-C and SIGTERM stop the command on the target with what it
//! started, locally, over SSH and under become; not only bosun's end of it.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::ssh::{NetnsFleet, or_skip};
use common::{Scratch, stdout};

/// The processes of this machine (namespace hosts share its PID namespace) whose
/// command line holds `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let Ok(entry) = entry else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if args.contains(marker) {
            found.push(format!("{}: {args}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

/// Waits up to 5 s for every process holding `marker` to be gone.
fn assert_all_gone(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with(marker);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A playbook whose task starts a child and a grandchild that would outlive bosun by
/// minutes, marked with `marker` (a distinct sleep length) so the test can find them.
fn long_task(marker: &str, keywords: &str) -> String {
    format!(
        "
- hosts: all
  gather_facts: false
  tasks:
    - shell: \"sleep {marker} & sh -c 'sleep {marker}'; wait\"
{keywords}
"
    )
}

#[test]
fn a_task_timeout_stops_the_local_command_and_its_children() {
    let scratch = Scratch::new();
    let marker = "301.1001";
    scratch.write("p.yml", &long_task(marker, "      timeout: 1"));
    let output = scratch.bosun(&["run", "p.yml", "-c", "local", "-i", "localhost,"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(
        out.contains("Task failed: Timed out after 1 second(s)."),
        "{out}"
    );
    assert_all_gone(marker);
}

#[test]
fn a_task_timeout_stops_the_remote_command_with_and_without_become() {
    let Some(fleet) = or_skip(NetnsFleet::up(1)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    for (marker, keywords) in [
        ("302.1002", "      timeout: 1"),
        (
            "302.1003",
            "      timeout: 1\n      become: true\n      become_user: bosun-become",
        ),
    ] {
        scratch.write("p.yml", &long_task(marker, keywords));
        let started = Instant::now();
        let output = scratch.bosun_with(
            &["run", "p.yml", "-i", "hosts.ini"],
            &[("HOME", fleet.home())],
        );
        let out = stdout(&output);
        assert_eq!(output.status.code(), Some(2), "{out}");
        assert!(out.contains("Timed out after 1 second(s)."), "{out}");
        assert!(started.elapsed() < Duration::from_secs(20), "{out}");
        let seen = fleet.ssh(
            0,
            &format!("ps -eo args | grep -c '^sleep {marker}' || true"),
        );
        assert_eq!(
            String::from_utf8_lossy(&seen.stdout).trim(),
            "0",
            "{keywords}: the host runs no sleep {marker}"
        );
        assert_all_gone(marker);
    }
}

#[test]
fn sigterm_and_ctrl_c_stop_the_commands_on_every_host() {
    let Some(fleet) = or_skip(NetnsFleet::up(2)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    for (signal, marker) in [(libc::SIGTERM, "303.1004"), (libc::SIGINT, "303.1005")] {
        scratch.write("p.yml", &long_task(marker, ""));
        let bosun = scratch
            .bosun_command(
                &["run", "p.yml", "-i", "hosts.ini"],
                &[("HOME", fleet.home())],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bosun starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while processes_with(&format!("sleep {marker}")).len() < 6 {
            assert!(Instant::now() < deadline, "the commands never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        let pid = i32::try_from(bosun.id()).expect("pid");
        // SAFETY: signals the bosun child this test started, by its PID.
        unsafe { libc::kill(pid, signal) };
        let output = bosun.wait_with_output().expect("bosun ends");
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(99), "{err}");
        assert!(err.contains("[ERROR]"), "{err}");
        assert_all_gone(marker);
    }
}

//! The SSH test targets themselves (tests/common/ssh.rs and the scripts in vagrant/),
//! checked with the system `ssh` client: logins with the generated key and
//! known_hosts, hosts that are really separate, and nothing left behind.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::ssh::{LoopbackSshd, NetnsFleet, Target, or_skip};
use common::{stderr, stdout};

/// Asserts that `output` is a success and returns its stdout.
fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "ssh failed ({}): {}",
        output.status,
        stderr(output)
    );
    stdout(output)
}

/// The SHA256 fingerprint of the public key beside `key`, as sshd logs it.
fn fingerprint(key: &Path) -> String {
    let output = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(key.with_extension("pub"))
        .output()
        .expect("run ssh-keygen");
    let listing = ok(&output);
    listing
        .split_whitespace()
        .nth(1)
        .expect("ssh-keygen -l prints bits, fingerprint, comment")
        .to_string()
}

/// The first word of each line `command` prints, up to any `@` (`vh1@if2:` -> `vh1`).
fn names(command: &[&str]) -> Vec<String> {
    let output = Command::new(command[0])
        .args(&command[1..])
        .output()
        .expect("run ip");
    stdout(&output)
        .lines()
        .filter_map(|line| {
            let word = if command.contains(&"-o") {
                line.split_whitespace().nth(1)
            } else {
                line.split_whitespace().next()
            }?;
            Some(word.trim_end_matches(':').split('@').next()?.to_string())
        })
        .collect()
}

fn assert_removed(hosts: &[Target]) {
    let namespaces = names(&["ip", "netns", "list"]);
    let links = names(&["ip", "-o", "link", "show"]);
    for host in hosts {
        assert!(
            !namespaces.contains(&host.name),
            "netns {} is still there: {namespaces:?}",
            host.name
        );
        let veth = format!("v{}", host.name);
        assert!(!links.contains(&veth), "{veth} is still there: {links:?}");
    }
}

#[test]
fn loopback_sshd_takes_the_generated_key_and_known_hosts() {
    let Some(sshd) = or_skip(LoopbackSshd::start()) else {
        return;
    };
    let this_host = Command::new("hostname").output().expect("run hostname");
    assert_eq!(
        ok(&sshd.ssh("hostname; echo $HOME")),
        format!("{}/root\n", stdout(&this_host))
    );

    assert_eq!(sshd.key_path(), sshd.home().join(".ssh/id_ed25519"));
    assert_eq!(sshd.known_hosts(), sshd.home().join(".ssh/known_hosts"));
    let known = std::fs::read_to_string(sshd.known_hosts()).expect("known_hosts");
    assert!(
        known.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 AAAA", sshd.port())),
        "{known}"
    );
    let log = sshd.log();
    let key = fingerprint(&sshd.key_path());
    assert!(
        log.contains("Accepted publickey for root from 127.0.0.1 ") && log.contains(&key),
        "no login with {key} in the log:\n{log}"
    );
    assert_eq!(
        sshd.inventory_line("web1"),
        format!(
            "web1 ansible_host=127.0.0.1 ansible_port={} ansible_user=root ansible_ssh_private_key_file={}",
            sshd.port(),
            sshd.key_path().display()
        )
    );

    let addr = SocketAddr::from(([127, 0, 0, 1], sshd.port()));
    drop(sshd);
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "sshd still listens on {addr} after drop"
    );
}

#[test]
fn namespace_hosts_are_separate_machines() {
    let Some(fleet) = or_skip(NetnsFleet::up(3)) else {
        return;
    };
    let hosts = fleet.hosts().to_vec();
    let key = fingerprint(&fleet.key_path());
    for (i, host) in hosts.iter().enumerate() {
        assert_eq!(
            ok(&fleet.ssh(i, "hostname; echo $HOME")),
            format!("{}\n/root\n", host.name)
        );
        let log = fleet.log(i);
        assert!(
            log.contains("Accepted publickey for root from 198.51.100.1 ") && log.contains(&key),
            "no login with {key} in {}'s log:\n{log}",
            host.name
        );
    }

    let marker = format!("/tmp/bosun-marker-{}", std::process::id());
    assert_eq!(
        ok(&fleet.ssh(0, &format!("echo here > {marker}; cat {marker}"))),
        "here\n"
    );
    let elsewhere = fleet.ssh(1, &format!("test -e {marker}"));
    assert_eq!(
        elsewhere.status.code(),
        Some(1),
        "{marker} is visible in {}",
        hosts[1].name
    );
    assert!(
        !Path::new(&marker).exists(),
        "{marker} is visible on this machine"
    );

    let inventory = fleet.inventory();
    let known = std::fs::read_to_string(fleet.known_hosts()).expect("known_hosts");
    for host in &hosts {
        let line = format!(
            "{} ansible_host={} ansible_user=root ansible_ssh_private_key_file={}\n",
            host.name,
            host.addr,
            fleet.key_path().display()
        );
        assert!(inventory.contains(&line), "no `{line}` in:\n{inventory}");
        assert!(
            known.contains(&format!("{} ssh-ed25519 AAAA", host.addr)),
            "{known}"
        );
    }

    drop(fleet);
    assert_removed(&hosts);
}

#[test]
fn a_killed_host_drops_its_connections_and_the_others_carry_on() {
    let Some(fleet) = or_skip(NetnsFleet::up(2)) else {
        return;
    };
    let hosts = fleet.hosts().to_vec();
    std::thread::scope(|scope| {
        let session = scope.spawn(|| fleet.ssh(0, "sleep 60"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fleet.log(0).contains("Starting session: command") {
            assert!(
                Instant::now() < deadline,
                "no session started:\n{}",
                fleet.log(0)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let killed = Instant::now();
        fleet.kill_host(0);
        let session = session.join().expect("the ssh thread");
        assert_eq!(session.status.code(), Some(255), "{}", stderr(&session));
        assert!(killed.elapsed() < Duration::from_secs(10));
    });

    let refused = fleet.ssh(0, "true");
    assert_eq!(refused.status.code(), Some(255));
    assert!(
        stderr(&refused).contains("Connection refused"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        ok(&fleet.ssh(1, "hostname")),
        format!("{}\n", hosts[1].name)
    );

    drop(fleet);
    assert_removed(&hosts);
}

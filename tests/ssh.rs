//! bosun over real SSH: a loopback sshd and a fleet of network-namespace hosts, each
//! with its own sshd (started by tests/common/ssh.rs through vagrant/ scripts).

mod common;

use common::ssh::{LoopbackSshd, NetnsFleet, or_skip};
use common::{Scratch, recap_line, stdout};

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn adhoc_ping_reaches_twenty_hosts() {
    let Some(fleet) = or_skip(NetnsFleet::up(20)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    let output = scratch.bosun_with(
        &["-m", "ping", "all", "-i", "hosts.ini"],
        &[("HOME", fleet.home())],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(out.matches(" | SUCCESS => {").count(), 20, "{out}");
    for (i, host) in fleet.hosts().iter().enumerate() {
        assert!(out.contains(&format!("{} | SUCCESS", host.name)), "{out}");
        assert!(
            fleet.log(i).contains("Accepted publickey for root"),
            "sshd of {} saw the login",
            host.name
        );
    }
}

#[test]
fn playbook_converges_every_host_and_then_changes_nothing() {
    let Some(fleet) = or_skip(NetnsFleet::up(5)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.copy_fixture("remote");
    scratch.write("hosts.ini", &fleet.inventory());
    let home = [("HOME", fleet.home())];
    let output = scratch.bosun_with(&["run", "remote/site.yml", "-i", "hosts.ini"], &home);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    for (i, host) in fleet.hosts().iter().enumerate() {
        let check = fleet.ssh(
            i,
            "cat /tmp/bosun-site/host.conf /tmp/bosun-site/motd; stat -c '%a %U' /tmp/bosun-site/host.conf /tmp/by-become",
        );
        let seen = String::from_utf8_lossy(&check.stdout).into_owned();
        assert_eq!(
            seen,
            format!(
                "host={name}\nWelcome to {name} ({name}), one of 5 hosts.\n640 root\n644 bosun-become\n",
                name = host.name
            ),
            "the files on {} have the right bytes, modes and owners",
            host.name
        );
    }
    let again = scratch.bosun_with(&["run", "remote/site.yml", "-i", "hosts.ini"], &home);
    let out = stdout(&again);
    for host in fleet.hosts() {
        assert!(recap_line(&out, &host.name).contains("changed=0 "), "{out}");
    }
}

#[test]
fn wrong_key_is_unreachable_and_the_others_go_on() {
    let Some(fleet) = or_skip(NetnsFleet::up(3)) else {
        return;
    };
    let scratch = Scratch::new();
    let stranger = scratch.path().join("stranger");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let bad = &fleet.hosts()[1].name;
    let inventory = fleet
        .inventory()
        .lines()
        .map(|line| {
            if line.starts_with(&format!("{bad} ")) {
                let kept: Vec<&str> = line
                    .split_whitespace()
                    .filter(|w| !w.starts_with("ansible_ssh_private_key_file="))
                    .collect();
                format!(
                    "{} ansible_ssh_private_key_file={}",
                    kept.join(" "),
                    stranger.display()
                )
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    scratch.write("hosts.ini", &inventory);
    let output = scratch.bosun_with(
        &["-m", "ping", "all", "-i", "hosts.ini"],
        &[("HOME", fleet.home())],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    assert!(out.contains(&format!("{bad} | UNREACHABLE! =>")), "{out}");
    assert!(out.contains("Failed to authenticate"), "{out}");
    assert_eq!(out.matches(" | SUCCESS =>").count(), 2, "{out}");
}

#[test]
fn a_host_killed_mid_run_fails_only_that_host() {
    let Some(fleet) = or_skip(NetnsFleet::up(3)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    scratch.write(
        "slow.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 3\n    - command: touch /tmp/after-sleep\n",
    );
    let victim = fleet.hosts()[0].name.clone();
    let killer = {
        let fleet_ref = &fleet;
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(1200));
                fleet_ref.kill_host(0);
            });
            scratch.bosun_with(
                &["run", "slow.yml", "-i", "hosts.ini"],
                &[("HOME", fleet.home())],
            )
        })
    };
    let out = stdout(&killer);
    assert_eq!(killer.status.code(), Some(4), "{}", text(&killer));
    assert!(
        out.contains(&format!("fatal: [{victim}]: UNREACHABLE!")),
        "{out}"
    );
    for i in 1..3 {
        let name = &fleet.hosts()[i].name;
        assert!(recap_line(&out, name).contains("failed=0 "), "{out}");
        let check = fleet.ssh(i, "test -f /tmp/after-sleep && echo yes");
        assert_eq!(
            String::from_utf8_lossy(&check.stdout),
            "yes\n",
            "{name} went on"
        );
    }
}

#[test]
fn unknown_and_changed_host_keys_are_refused() {
    let Some(sshd) = or_skip(LoopbackSshd::start()) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &sshd.inventory_line("lo"));
    let known_hosts = sshd.known_hosts();
    let original = std::fs::read_to_string(&known_hosts).expect("known_hosts");

    std::fs::write(&known_hosts, "").expect("empty known_hosts");
    let output = scratch.bosun_with(
        &["-m", "ping", "all", "-i", "hosts.ini"],
        &[("HOME", sshd.home())],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(4), "{out}");
    assert!(out.contains("is unknown"), "{out}");
    assert!(
        out.contains("--accept-new-host-keys"),
        "the message says how to accept it: {out}"
    );

    let accepted = scratch.bosun_with(
        &[
            "-m",
            "ping",
            "all",
            "-i",
            "hosts.ini",
            "--accept-new-host-keys",
        ],
        &[("HOME", sshd.home())],
    );
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    let learned = std::fs::read_to_string(&known_hosts).expect("known_hosts");
    assert!(
        learned.contains(&format!("[127.0.0.1]:{}", sshd.port())),
        "{learned}"
    );

    let other_key = scratch.path().join("other");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .expect("ssh-keygen");
    let other_pub = std::fs::read_to_string(other_key.with_extension("pub")).expect("pub");
    let fake: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {}\n", sshd.port(), fake.join(" ")),
    )
    .expect("write");
    for extra in [&[][..], &["--accept-new-host-keys"][..]] {
        let mut args = vec!["-m", "ping", "all", "-i", "hosts.ini"];
        args.extend_from_slice(extra);
        let output = scratch.bosun_with(&args, &[("HOME", sshd.home())]);
        let out = stdout(&output);
        assert_eq!(output.status.code(), Some(4), "{out}");
        assert!(
            out.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
            "{out}"
        );
    }
    std::fs::write(&known_hosts, original).expect("restore");
}

#[test]
fn delegate_to_runs_on_the_other_host_with_this_hosts_variables() {
    let Some(fleet) = or_skip(NetnsFleet::up(2)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    let (first, second) = (&fleet.hosts()[0].name, &fleet.hosts()[1].name);
    scratch.write(
        "delegate.yml",
        &format!(
            "- hosts: {first}\n  gather_facts: false\n  tasks:\n    - command: touch /tmp/from-{{{{ inventory_hostname }}}}\n      delegate_to: {second}\n"
        ),
    );
    let output = scratch.bosun_with(
        &["run", "delegate.yml", "-i", "hosts.ini"],
        &[("HOME", fleet.home())],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        stdout(&output).contains(&format!("changed: [{first} -> {second}]")),
        "{}",
        stdout(&output)
    );
    let there = fleet.ssh(1, &format!("test -f /tmp/from-{first} && echo yes"));
    assert_eq!(
        String::from_utf8_lossy(&there.stdout),
        "yes\n",
        "the file is on the delegate"
    );
    let here = fleet.ssh(0, &format!("test -f /tmp/from-{first} || echo absent"));
    assert_eq!(
        String::from_utf8_lossy(&here.stdout),
        "absent\n",
        "not on the host itself"
    );
}

#[test]
fn proxy_jump_tunnels_through_another_sshd() {
    let Some(jump) = or_skip(LoopbackSshd::start()) else {
        return;
    };
    let Some(fleet) = or_skip(NetnsFleet::up(1)) else {
        return;
    };
    let scratch = Scratch::new();
    let host = &fleet.hosts()[0];
    scratch.write(
        "hosts.ini",
        &format!(
            "{} ansible_host={} ansible_user=root ansible_ssh_private_key_file={} ansible_ssh_common_args='-o ProxyJump=root@127.0.0.1:{} -o UserKnownHostsFile={}'\n",
            host.name,
            host.addr,
            fleet.key_path().display(),
            jump.port(),
            fleet.known_hosts().display()
        ),
    );
    let output = scratch.bosun_with(
        &["all", "-i", "hosts.ini", "-m", "shell", "-a", "hostname"],
        &[("HOME", jump.home())],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        stdout(&output),
        format!("{} | CHANGED | rc=0 >>\n{}\n", host.name, host.name)
    );
    assert!(
        jump.log().contains("Accepted publickey for root"),
        "the jump host saw the login:\n{}",
        jump.log()
    );
}

#[test]
fn an_encrypted_key_without_a_terminal_fails_clearly() {
    let Some(sshd) = or_skip(LoopbackSshd::start()) else {
        return;
    };
    let scratch = Scratch::new();
    let key = scratch.path().join("locked");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "open sesame", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let line = format!(
        "lo ansible_host=127.0.0.1 ansible_port={} ansible_user=root ansible_ssh_private_key_file={}",
        sshd.port(),
        key.display()
    );
    scratch.write("hosts.ini", &line);
    let output = scratch.bosun_with(
        &["-m", "ping", "all", "-i", "hosts.ini"],
        &[("HOME", sshd.home())],
    );
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stdout(&output).contains("encrypted: load it into ssh-agent, or run bosun on a terminal"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_burst_of_connections_to_one_sshd_never_fails_spuriously() {
    // OpenSSH's default MaxStartups (10:30:100) drops connections beyond 10 pending
    // handshakes; 40 inventory names for one server must all get through.
    let Some(sshd) = or_skip(LoopbackSshd::start_with("10:30:100")) else {
        return;
    };
    let scratch = Scratch::new();
    let inventory: String = (1..=40)
        .map(|i| format!("{}\n", sshd.inventory_line(&format!("n{i}"))))
        .collect();
    scratch.write("hosts.ini", &inventory);
    let output = scratch.bosun_with(
        &["-m", "ping", "all", "-i", "hosts.ini"],
        &[("HOME", sshd.home())],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(out.matches(" | SUCCESS =>").count(), 40, "{out}");
}

#[test]
fn uploads_and_stdin_travel_through_the_one_shell_byte_for_byte() {
    let Some(fleet) = or_skip(NetnsFleet::up(1)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    // Every byte value, no trailing newline: what a text-only path would mangle.
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    std::fs::write(scratch.path().join("blob.bin"), &binary).expect("write blob");
    // Above the limit for the shell: streamed on an exec channel instead.
    let large: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    std::fs::write(scratch.path().join("large.bin"), &large).expect("write large");
    scratch.write(
        "upload.yml",
        "
- hosts: all
  gather_facts: false
  tasks:
    - file: path=/tmp/up state=directory
    - copy: src=blob.bin dest=/tmp/up/blob.bin mode=0600
    - copy: {content: \"line one\\nline two\", dest: /tmp/up/text.txt}
    - copy: src=large.bin dest=/tmp/up/large.bin
    - command: sha256sum
      args:
        stdin: \"fed through stdin\"
      register: fed
    - copy: {content: \"{{ fed.stdout }}\", dest: /tmp/up/fed.txt}
",
    );
    let sessions_before = fleet.log(0).matches("Starting session:").count();
    let output = scratch.bosun_with(
        &["run", "upload.yml", "-i", "hosts.ini"],
        &[("HOME", fleet.home())],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let sessions = fleet.log(0).matches("Starting session:").count() - sessions_before;
    assert_eq!(
        sessions,
        2,
        "one session for the shell, one for the large upload:\n{}",
        fleet.log(0)
    );

    let sums = fleet.ssh(
        0,
        "cd /tmp/up && sha256sum blob.bin large.bin && stat -c '%a' blob.bin && cat text.txt fed.txt",
    );
    let digest = |data: &[u8]| {
        let out = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(data)?;
                child.wait_with_output()
            })
            .expect("sha256sum");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        String::from_utf8_lossy(&sums.stdout),
        format!(
            "{}  blob.bin\n{}  large.bin\n600\nline one\nline two{}  -",
            digest(&binary),
            digest(&large),
            digest(b"fed through stdin\n"),
        )
    );
}

#[test]
fn a_changed_host_key_gets_no_password_even_with_checking_off() {
    let Some(sshd) = or_skip(LoopbackSshd::start_taking_passwords()) else {
        return;
    };
    let scratch = Scratch::new();
    // No key anywhere: the password is the only way in (and is wrong, so sshd logs it).
    let home = scratch.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).expect("home");
    scratch.write(
        "hosts.ini",
        &format!(
            "lo ansible_host=127.0.0.1 ansible_port={} ansible_user=root ansible_password=not-the-password\n",
            sshd.port()
        ),
    );
    scratch.write("ansible.cfg", "[defaults]\nhost_key_checking = False\n");
    let offered = || sshd.log().matches("Failed password for root").count();
    let ping = || {
        let output = scratch.bosun_with(
            &["-m", "ping", "all", "-i", "hosts.ini"],
            &[("HOME", &home)],
        );
        assert_eq!(output.status.code(), Some(4), "{}", text(&output));
        text(&output)
    };

    // The recorded key: the password is offered (the test can see it).
    std::fs::copy(sshd.known_hosts(), home.join(".ssh/known_hosts")).expect("known_hosts");
    let shown = ping();
    assert!(!shown.contains("HAS CHANGED"), "{shown}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while offered() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let before = offered();
    assert!(before > 0, "sshd saw the password:\n{}", sshd.log());

    // Another key on record for this host: a loud warning, and no password sent.
    let other = scratch.path().join("other");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).expect("pub");
    let fake: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    std::fs::write(
        home.join(".ssh/known_hosts"),
        format!("[127.0.0.1]:{} {}\n", sshd.port(), fake.join(" ")),
    )
    .expect("write");
    let shown = ping();
    assert!(
        shown.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{shown}"
    );
    assert!(
        shown.contains("password authentication is disabled"),
        "{shown}"
    );
    assert!(
        shown.contains("password (disabled: the host key changed)"),
        "{shown}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        offered(),
        before,
        "no password reached sshd:\n{}",
        sshd.log()
    );
}

#[test]
fn a_host_whose_link_silently_drops_is_given_up_in_seconds() {
    let Some(fleet) = or_skip(NetnsFleet::up(2)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    scratch.write(
        "p.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 20\n",
    );
    let started = std::time::Instant::now();
    let bosun = scratch
        .bosun_command(
            &["run", "p.yml", "-i", "hosts.ini"],
            &[("HOME", fleet.home())],
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("bosun starts");
    let deadline = started + std::time::Duration::from_secs(15);
    while !fleet.log(1).contains("Starting session") {
        assert!(std::time::Instant::now() < deadline, "{}", fleet.log(1));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let cut = std::time::Instant::now();
    fleet.cut_link(1);
    let output = bosun.wait_with_output().expect("bosun ends");
    let out = stdout(&output);
    let host = &fleet.hosts()[1].name;
    assert!(
        recap_line(&out, host).contains("unreachable=1"),
        "{host} is given up:\n{out}"
    );
    assert!(
        recap_line(&out, &fleet.hosts()[0].name).contains("ok=1 "),
        "{out}"
    );
    // The healthy host's 20 s sleep bounds the run; the dead host never lengthens it.
    assert!(
        cut.elapsed() < std::time::Duration::from_secs(21),
        "the run went on {:?} after the cut:\n{out}",
        cut.elapsed()
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(20),
        "{out}"
    );
}

#[test]
fn triple_verbose_shows_the_login_and_each_command_but_nothing_of_a_no_log_task() {
    let Some(fleet) = or_skip(NetnsFleet::up(1)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    scratch.write(
        "traced.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - command: echo traced-command
    - shell: echo s3cret-in-no-log > /tmp/bosun-no-log
      no_log: true
"#,
    );
    let home = [("HOME", fleet.home())];
    let output = scratch.bosun_with(&["run", "traced.yml", "-i", "hosts.ini", "-vvv"], &home);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let host = &fleet.hosts()[0];
    let label = format!("<{}>", host.addr);
    assert!(
        out.contains(&format!("{label} ESTABLISH SSH CONNECTION FOR USER: root")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{label} SSH: port {}, keys ", host.port)),
        "{out}"
    );
    assert!(out.contains(&format!("{label} EXEC /bin/sh -c ")), "{out}");
    assert!(out.contains("traced-command"), "{out}");
    assert!(!out.contains("s3cret-in-no-log"), "{out}");
    let written = fleet.ssh(0, "cat /tmp/bosun-no-log");
    assert_eq!(
        String::from_utf8_lossy(&written.stdout),
        "s3cret-in-no-log\n"
    );
    assert!(fleet.log(0).contains("Accepted publickey for root"));
}

//! The `connection`, `remote_user` (a play's `user`) and `port` keywords against a real
//! sshd: they choose how a host is reached, a host's `ansible_user`/`ansible_port`
//! variables win over them, and they win over `-u` and the config, as in Ansible.

mod common;

use common::ssh::{LoopbackSshd, or_skip};
use common::{Scratch, recap_line, stdout};

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An inventory naming the sshd by address and key only: user and port come from
/// the keywords under test (`extra` adds host variables).
fn inventory(sshd: &LoopbackSshd, extra: &str) -> String {
    format!(
        "loopback ansible_host=127.0.0.1 ansible_ssh_private_key_file={} {extra}\n",
        sshd.key_path().display()
    )
}

/// A play on `loopback` with `keywords` whose one task touches `marker`.
fn touching_play(keywords: &str, task_keywords: &str, marker: &std::path::Path) -> String {
    format!(
        "- hosts: loopback\n  gather_facts: false\n{keywords}  tasks:\n    - command: touch {}\n{task_keywords}",
        marker.display()
    )
}

#[test]
fn remote_user_and_port_keywords_choose_the_login() {
    let Some(sshd) = or_skip(LoopbackSshd::start()) else {
        return;
    };
    let scratch = Scratch::new();
    let port = sshd.port();
    scratch.write("hosts.ini", &inventory(&sshd, ""));
    let marker = scratch.path().join("touched");
    scratch.write(
        "play.yml",
        &touching_play(
            &format!("  remote_user: root\n  port: \"{{{{ {port} }}}}\"\n"),
            "",
            &marker,
        ),
    );
    let output = scratch.bosun_with(
        &["run", "play.yml", "-i", "hosts.ini", "-u", "bosun-cli-user"],
        &[("HOME", sshd.home())],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(marker.exists(), "the task ran over ssh as root");
    assert!(
        sshd.log().contains("Accepted publickey for root"),
        "the play's remote_user won over -u: {}",
        sshd.log()
    );
    assert!(!sshd.log().contains("bosun-cli-user"), "{}", sshd.log());
}

#[test]
fn a_task_remote_user_wins_over_the_play_and_a_host_variable_over_both() {
    let Some(sshd) = or_skip(LoopbackSshd::start()) else {
        return;
    };
    let scratch = Scratch::new();
    let port = sshd.port();
    scratch.write(
        "hosts.ini",
        &inventory(&sshd, &format!("ansible_port={port}")),
    );
    let marker = scratch.path().join("by-task-keyword");
    scratch.write(
        "task.yml",
        &touching_play(
            "  user: bosun-ghost\n",
            "      remote_user: root\n",
            &marker,
        ),
    );
    let output = scratch.bosun_with(
        &["run", "task.yml", "-i", "hosts.ini"],
        &[("HOME", sshd.home())],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(marker.exists(), "the task's remote_user logged in");
    assert!(!sshd.log().contains("bosun-ghost"), "{}", sshd.log());

    let ghost = scratch.path().join("as-ghost");
    scratch.write(
        "ghost.yml",
        &touching_play("  remote_user: bosun-ghost\n", "", &ghost),
    );
    let output = scratch.bosun_with(
        &["run", "ghost.yml", "-i", "hosts.ini"],
        &[("HOME", sshd.home())],
    );
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    assert!(
        recap_line(&stdout(&output), "loopback").contains("unreachable=1"),
        "{}",
        text(&output)
    );
    assert!(!ghost.exists(), "nothing ran");
    assert!(
        sshd.log().contains("Invalid user bosun-ghost"),
        "the login was tried as the keyword's user: {}",
        sshd.log()
    );

    scratch.write(
        "hosts.ini",
        &inventory(&sshd, &format!("ansible_port={port} ansible_user=root")),
    );
    let output = scratch.bosun_with(
        &["run", "ghost.yml", "-i", "hosts.ini"],
        &[("HOME", sshd.home())],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(ghost.exists(), "ansible_user won over the keyword");
}

#[test]
fn connection_local_keyword_runs_on_the_control_node() {
    let scratch = Scratch::new();
    let marker = scratch.path().join("ran-here");
    scratch.write(
        "local.yml",
        &format!(
            "- hosts: nowhere.invalid\n  connection: local\n  gather_facts: false\n  tasks:\n    - command: touch {}\n",
            marker.display()
        ),
    );
    let output = scratch.bosun(&["run", "local.yml", "-i", "nowhere.invalid,"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(marker.exists(), "the task ran locally, not over ssh");
}

#[test]
fn a_play_with_user_and_remote_user_is_refused_at_load_time() {
    let scratch = Scratch::new();
    scratch.write(
        "both.yml",
        "- hosts: localhost\n  remote_user: a\n  user: b\n  tasks: []\n",
    );
    let output = scratch.bosun(&["run", "both.yml", "-i", "localhost,"]);
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    assert!(
        text(&output).contains("both 'user' and 'remote_user' are set for this play."),
        "{}",
        text(&output)
    );
}

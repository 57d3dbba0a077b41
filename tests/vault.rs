//! Ansible Vault end to end with the real binary: files and strings written by
//! `bosun vault` open in ansible-vault and the other way round; a playbook reads
//! vaulted files and values everywhere Ansible does; no output mode shows a secret.
//!
//! ansible-vault comes from tests/common/ansible.rs (a venv found or made once).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::ansible::ansible_or_skip;
use common::{Scratch, stderr, stdout};

/// The password every test file is encrypted with.
const PASSWORD: &str = "bosun-test-pw";
/// A secret that must never be printed.
const SECRET: &str = "s3cr3t-Tr0ub4dor";

fn write_password(scratch: &Scratch) -> PathBuf {
    scratch.write("pw", &format!("{PASSWORD}\n"))
}

/// Runs ansible-vault in the scratch directory.
fn ansible_vault(bin: &Path, scratch: &Scratch, args: &[&str]) -> std::process::Output {
    Command::new(bin.join("ansible-vault"))
        .current_dir(scratch.path())
        .args(args)
        .output()
        .expect("ansible-vault runs")
}

#[test]
fn bosun_and_ansible_vault_read_each_others_files() {
    let Some(bin) = ansible_or_skip("bosun_and_ansible_vault_read_each_others_files") else {
        return;
    };
    let scratch = Scratch::new();
    write_password(&scratch);
    // bosun encrypts (1.1 and 1.2), ansible-vault reads.
    scratch.write("a.yml", "a: one\n");
    scratch.write("b.yml", "b: two\n");
    let out = scratch.bosun(&["vault", "encrypt", "--vault-password-file", "pw", "a.yml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = scratch.bosun(&["vault", "encrypt", "--vault-id", "prod@pw", "b.yml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let b = std::fs::read_to_string(scratch.path().join("b.yml")).expect("b");
    assert!(b.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"), "{b}");
    let out = ansible_vault(
        &bin,
        &scratch,
        &["view", "--vault-password-file", "pw", "a.yml"],
    );
    assert_eq!(stdout(&out), "a: one\n", "{}", stderr(&out));
    let out = ansible_vault(&bin, &scratch, &["view", "--vault-id", "prod@pw", "b.yml"]);
    assert_eq!(stdout(&out), "b: two\n", "{}", stderr(&out));

    // ansible-vault encrypts, bosun reads, rekeys and edits; ansible-vault reads again.
    scratch.write("c.yml", "c: three\n");
    scratch.write("new-pw", "another one\n");
    let out = ansible_vault(
        &bin,
        &scratch,
        &["encrypt", "--vault-id", "dev@pw", "c.yml"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = scratch.bosun(&["vault", "view", "--vault-id", "dev@pw", "c.yml"]);
    assert_eq!(stdout(&out), "c: three\n", "{}", stderr(&out));
    let out = scratch.bosun(&[
        "vault",
        "rekey",
        "--vault-id",
        "dev@pw",
        "--new-vault-id",
        "new@new-pw",
        "c.yml",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut edit = assert_cmd::Command::cargo_bin("bosun").expect("bosun");
    let out = edit
        .current_dir(scratch.path())
        .env("EDITOR", "sed -i s/three/four/")
        .args(["vault", "edit", "--vault-id", "new@new-pw", "c.yml"])
        .output()
        .expect("edit runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = ansible_vault(
        &bin,
        &scratch,
        &["view", "--vault-id", "new@new-pw", "c.yml"],
    );
    assert_eq!(stdout(&out), "c: four\n", "{}", stderr(&out));
    let c = std::fs::read_to_string(scratch.path().join("c.yml")).expect("c");
    assert!(c.starts_with("$ANSIBLE_VAULT;1.2;AES256;new\n"), "{c}");
    let out = scratch.bosun(&[
        "vault",
        "decrypt",
        "--vault-password-file",
        "new-pw",
        "c.yml",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(scratch.path().join("c.yml")).expect("c"),
        "c: four\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("tmp")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("bosun-vault-"))
        .collect();
    assert!(leftovers.is_empty(), "edit left {leftovers:?}");
}

#[test]
fn encrypt_string_output_is_yaml_both_tools_read() {
    let Some(bin) = ansible_or_skip("encrypt_string_output_is_yaml_both_tools_read") else {
        return;
    };
    let scratch = Scratch::new();
    write_password(&scratch);
    let ours = scratch.bosun(&[
        "vault",
        "encrypt_string",
        "--vault-password-file",
        "pw",
        "--name",
        "ours",
        SECRET,
    ]);
    assert!(ours.status.success(), "{}", stderr(&ours));
    let theirs = ansible_vault(
        &bin,
        &scratch,
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "--name",
            "theirs",
            SECRET,
        ],
    );
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    scratch.write("vars.yml", &format!("{}{}", stdout(&ours), stdout(&theirs)));
    scratch.write(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - copy:\n        content: \"{{ ours }} {{ theirs }}\"\n        dest: \"{{ playbook_dir }}/out-{{ tool }}\"\n",
    );
    let out = scratch.bosun(&[
        "run",
        "-i",
        "localhost,",
        "-c",
        "local",
        "--vault-password-file",
        "pw",
        "-e",
        "tool=bosun",
        "play.yml",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = Command::new(bin.join("ansible-playbook"))
        .current_dir(scratch.path())
        .args([
            "-i",
            "localhost,",
            "-c",
            "local",
            "--vault-password-file",
            "pw",
        ])
        .args(["-e", "tool=ansible", "play.yml"])
        .arg("-e")
        .arg(format!(
            "ansible_python_interpreter={}",
            bin.join("python").display()
        ))
        .output()
        .expect("ansible-playbook runs");
    assert!(out.status.success(), "{}", stdout(&out));
    let expected = format!("{SECRET} {SECRET}");
    for tool in ["bosun", "ansible"] {
        let got = std::fs::read_to_string(scratch.path().join(format!("out-{tool}"))).expect("out");
        assert_eq!(got, expected, "{tool}");
    }
}

/// What `bosun ARGS` printed at a terminal (a pty made by `script`) where `typed`
/// was typed, a line at a time, in the scratch directory.
fn at_a_terminal(scratch: &Scratch, args: &str, typed: &[&str]) -> String {
    use std::io::Write;
    let bosun = assert_cmd::cargo::cargo_bin("bosun");
    let command = format!("{} {args}", bosun.display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(scratch.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut input = child.stdin.take().expect("stdin");
    for line in typed {
        std::thread::sleep(std::time::Duration::from_millis(400));
        writeln!(input, "{line}").expect("typed");
    }
    std::thread::sleep(std::time::Duration::from_millis(2000));
    drop(input);
    let output = child.wait_with_output().expect("finished");
    String::from_utf8_lossy(&output.stdout).replace('\r', "")
}

/// A project using vault everywhere: returns the scratch dir.
fn vaulted_project() -> Scratch {
    let scratch = Scratch::new();
    write_password(&scratch);
    scratch.write("prod-pw", "prod password\n");
    let encrypt = |file: &str, id: &str| {
        let out = scratch.bosun(&["vault", "encrypt", "--vault-id", id, file]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    scratch.write("hosts", "localhost ansible_connection=local\n");
    scratch.write("group_vars/all/vault.yml", &format!("gv: gv-{SECRET}\n"));
    encrypt("group_vars/all/vault.yml", "pw");
    scratch.write("prod.yml", &format!("pv: pv-{SECRET}\n"));
    encrypt("prod.yml", "prod@prod-pw");
    scratch.write("included.yml", &format!("iv: iv-{SECRET}\n"));
    encrypt("included.yml", "pw");
    scratch.write("files/secret.txt", &format!("file-{SECRET}\n"));
    encrypt("files/secret.txt", "pw");
    scratch.write("templates/conf.j2", &format!("tpl-{SECRET} {{{{ gv }}}}\n"));
    encrypt("templates/conf.j2", "pw");
    let inline = scratch.bosun(&[
        "vault",
        "encrypt_string",
        "--vault-password-file",
        "pw",
        SECRET,
    ]);
    let inline = stdout(&inline).replace('\n', "\n  ");
    scratch.write(
        "play.yml",
        &format!(
            "- hosts: all
  gather_facts: false
  vars_files: [prod.yml]
  vars:
    inline: {inline}
    never_used: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      6162
  tasks:
    - include_vars: included.yml
    - copy: {{src: secret.txt, dest: \"{{{{ playbook_dir }}}}/out/copied\"}}
    - template: {{src: conf.j2, dest: \"{{{{ playbook_dir }}}}/out/conf\"}}
    - copy:
        dest: \"{{{{ playbook_dir }}}}/out/values\"
        content: \"{{{{ gv }}}} {{{{ pv }}}} {{{{ iv }}}} {{{{ inline }}}} {{{{ lookup('file', 'secret.txt') }}}} {{{{ lookup('unvault', 'secret.txt') | trim }}}} {{{{ inline | vault('x') | unvault('x') }}}}\"
"
        ),
    );
    std::fs::create_dir_all(scratch.path().join("out")).expect("out dir");
    scratch
}

const VAULT_ARGS: [&str; 4] = ["--vault-password-file", "pw", "--vault-id", "prod@prod-pw"];

#[test]
fn a_playbook_reads_vault_everywhere_ansible_does() {
    let scratch = vaulted_project();
    let mut args = vec!["run", "-i", "hosts"];
    args.extend(VAULT_ARGS);
    args.push("play.yml");
    let out = scratch.bosun(&args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let read =
        |name: &str| std::fs::read_to_string(scratch.path().join("out").join(name)).expect(name);
    assert_eq!(read("copied"), format!("file-{SECRET}\n"));
    assert_eq!(read("conf"), format!("tpl-{SECRET} gv-{SECRET}\n"));
    assert_eq!(
        read("values"),
        format!(
            "gv-{SECRET} pv-{SECRET} iv-{SECRET} {SECRET} file-{SECRET} file-{SECRET} {SECRET}"
        )
    );
    if let Some(bin) =
        ansible_or_skip("a_playbook_reads_vault_everywhere_ansible_does (ansible half)")
    {
        let ours: Vec<String> = ["copied", "conf", "values"]
            .iter()
            .map(|n| read(n))
            .collect();
        std::fs::remove_dir_all(scratch.path().join("out")).expect("clean");
        std::fs::create_dir_all(scratch.path().join("out")).expect("out dir");
        let out = Command::new(bin.join("ansible-playbook"))
            .current_dir(scratch.path())
            .args(["-i", "hosts"])
            .args(VAULT_ARGS)
            .arg("-e")
            .arg(format!(
                "ansible_python_interpreter={}",
                bin.join("python").display()
            ))
            .arg("play.yml")
            .output()
            .expect("ansible-playbook runs");
        assert!(out.status.success(), "{}", stdout(&out));
        let theirs: Vec<String> = ["copied", "conf", "values"]
            .iter()
            .map(|n| read(n))
            .collect();
        assert_eq!(ours, theirs);
    }
}

#[test]
fn no_output_mode_shows_a_secret() {
    let scratch = vaulted_project();
    let modes: [&[&str]; 5] = [
        &[],
        &["-D"],
        &["-D", "-C"],
        &["--output", "json", "-D"],
        &["-vvv", "-D"],
    ];
    for mode in modes {
        std::fs::remove_dir_all(scratch.path().join("out")).expect("clean");
        std::fs::create_dir_all(scratch.path().join("out")).expect("out dir");
        let mut args = vec!["run", "-i", "hosts"];
        args.extend(VAULT_ARGS);
        args.extend(mode);
        args.push("play.yml");
        // The `values` task prints its content in diffs as Ansible does; leave it out.
        let play = std::fs::read_to_string(scratch.path().join("play.yml")).expect("play");
        let without_values = play
            .split("    - copy:\n        dest")
            .next()
            .unwrap_or(&play)
            .to_string();
        scratch.write("play-files.yml", &without_values);
        *args.last_mut().expect("play") = "play-files.yml";
        let out = scratch.bosun(&args);
        assert!(
            out.status.success(),
            "{mode:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        for text in [stdout(&out), stderr(&out)] {
            assert!(!text.contains(SECRET), "{mode:?} shows the secret:\n{text}");
        }
        if mode.contains(&"-D") && !mode.contains(&"json") {
            assert!(
                stdout(&out).contains("decrypted from a vault file"),
                "{mode:?}: {}",
                stdout(&out)
            );
        }
    }
    // A wrong password's error names the file and shows no secret either.
    scratch.write("wrong", "wrong\n");
    let out = scratch.bosun(&[
        "run",
        "-i",
        "hosts",
        "--vault-password-file",
        "wrong",
        "play.yml",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(err.contains("group_vars/all/vault.yml"), "{err}");
    assert!(err.contains("Decryption failed"), "{err}");
    assert!(!err.contains(SECRET) && !stdout(&out).contains(SECRET));
    // (`bosun inventory --list` prints decrypted group_vars, as ansible-inventory does:
    // listing variables is asking for them.)
}

#[test]
fn an_inline_value_that_cannot_be_decrypted_names_its_line_when_used() {
    let scratch = Scratch::new();
    scratch.write(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    broken: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n  tasks:\n    - debug: msg=fine\n    - debug: var=broken\n      ignore_errors: true\n    - debug: msg=\"{{ broken }}\"\n",
    );
    let out = scratch.bosun(&["run", "-i", "localhost,", "-c", "local", "play.yml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr(&out));
    assert!(
        !text.contains("VARIABLE IS NOT DEFINED"),
        "debug var= fails on it too, as in Ansible: {text}"
    );
    assert!(text.contains("...ignoring"), "{text}");
    assert!(
        text.contains("\"msg\": \"fine\""),
        "the unused value needed no password: {text}"
    );
    assert!(text.contains("!vault value at play.yml:5:7"), "{text}");
    assert!(text.contains("no vault secrets found"), "{text}");
}

#[test]
fn a_vaulted_inventory_role_and_connection_variable_reach_a_real_ssh_host() {
    let Some(fleet) = common::ssh::or_skip(common::ssh::NetnsFleet::up(1)) else {
        return;
    };
    let scratch = Scratch::new();
    write_password(&scratch);
    let encrypt = |file: &str| {
        let out = scratch.bosun(&["vault", "encrypt", "--vault-password-file", "pw", file]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // The whole INI inventory is encrypted, and the login user comes from an inline
    // !vault value in host_vars beside it.
    let host = fleet.hosts()[0].name.clone();
    let inventory = fleet.inventory().replace(" ansible_user=root", "");
    scratch.write(
        "inv/hosts",
        &format!("{inventory}\n[all:vars]\ninv_secret=inv-{SECRET}\n"),
    );
    encrypt("inv/hosts");
    let user = scratch.bosun(&[
        "vault",
        "encrypt_string",
        "--vault-password-file",
        "pw",
        "root",
    ]);
    assert!(user.status.success(), "{}", stderr(&user));
    scratch.write(
        &format!("inv/host_vars/{host}.yml"),
        &format!("ansible_user: {}", stdout(&user).replace('\n', "\n  ")),
    );
    scratch.write(
        "roles/r/vars/main.yml",
        &format!("role_secret: role-{SECRET}\n"),
    );
    encrypt("roles/r/vars/main.yml");
    scratch.write(
        "roles/r/tasks/main.yml",
        "- copy: {content: \"{{ role_secret }} {{ inv_secret }}\\n\", dest: /tmp/bosun-vault-ssh, mode: \"0600\"}\n",
    );
    scratch.write(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  roles: [r]\n",
    );
    let home = [("HOME", fleet.home())];
    let args = [
        "run",
        "-i",
        "inv",
        "--vault-password-file",
        "pw",
        "site.yml",
        "-v",
    ];
    let out = scratch.bosun_with(&args, &home);
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    let on_target = fleet.ssh(
        0,
        "stat -c %a /tmp/bosun-vault-ssh; cat /tmp/bosun-vault-ssh",
    );
    assert_eq!(
        String::from_utf8_lossy(&on_target.stdout),
        format!("600\nrole-{SECRET} inv-{SECRET}\n")
    );
    assert!(fleet.log(0).contains("Accepted publickey for root"));
    let again = scratch.bosun_with(&args, &home);
    assert!(stdout(&again).contains("changed=0"), "{}", stdout(&again));
}

#[test]
fn encrypt_string_asks_at_the_terminal_for_the_password_name_and_string() {
    let scratch = Scratch::new();
    let shown = at_a_terminal(
        &scratch,
        "vault encrypt_string -J --prompt --output out.yml",
        &[PASSWORD, PASSWORD, "db_password", SECRET],
    );
    for prompt in [
        "New Vault password: ",
        "Confirm New Vault password: ",
        "Variable name (enter for no name): ",
        "String to encrypt (hidden): ",
    ] {
        assert!(shown.contains(prompt), "{prompt}: {shown}");
    }
    assert!(
        !shown.contains(SECRET) && !shown.contains(PASSWORD),
        "{shown}"
    );
    let written = scratch.read("out.yml");
    assert!(written.starts_with("db_password: !vault |\n"), "{written}");
    write_password(&scratch);
    scratch.write(
        "show.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  vars:\n    {}\n  tasks:\n    - copy: {{content: \"{{{{ db_password }}}}\", dest: \"{{{{ playbook_dir }}}}/shown\"}}\n",
            written.trim_end().replace('\n', "\n    ")
        ),
    );
    let run = scratch.bosun(&["run", "show.yml", "--vault-password-file", "pw"]);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    assert_eq!(scratch.read("shown"), SECRET);
}

#[test]
fn no_process_bosun_starts_has_a_decrypted_value_in_its_arguments() {
    // What `ps` shows of a process is its argv: strace records every execve of the
    // run, children included, with their whole argument lists.
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace is missing; bash .ci/setup installs it");
        return;
    }
    let scratch = vaulted_project();
    scratch.write(
        "play-ps.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy: {src: secret.txt, dest: \"{{ playbook_dir }}/out/copied\"}\n    - template: {src: conf.j2, dest: \"{{ playbook_dir }}/out/conf\"}\n    - copy: {content: \"{{ gv }}\", dest: \"{{ playbook_dir }}/out/value\"}\n    - command: /bin/echo marker-in-argv\n",
    );
    let bosun = assert_cmd::cargo::cargo_bin("bosun");
    let trace = scratch.path().join("execve.trace");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=execve", "-s", "1000000", "-o"])
        .arg(&trace)
        .arg(&bosun)
        .args([
            "run",
            "-i",
            "hosts",
            "--vault-password-file",
            "pw",
            "play-ps.yml",
        ])
        .current_dir(scratch.path())
        .output()
        .expect("strace runs");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(scratch.read("out/value"), format!("gv-{SECRET}"));
    assert_eq!(scratch.read("out/copied"), format!("file-{SECRET}\n"));
    let traced = std::fs::read_to_string(&trace).expect("the trace");
    assert!(
        traced.contains("marker-in-argv"),
        "the trace sees commands' arguments: {traced}"
    );
    assert!(
        !traced.contains(SECRET),
        "a secret in a process's arguments:\n{traced}"
    );
}

#[test]
fn a_run_asks_for_a_labelled_vault_password_at_the_terminal() {
    let scratch = Scratch::new();
    scratch.write("dev-pw", "dev-secret-pw\n");
    scratch.write("vars.yml", &format!("word: {SECRET}\n"));
    let encrypted = scratch.bosun(&["vault", "encrypt", "--vault-id", "dev@dev-pw", "vars.yml"]);
    assert!(encrypted.status.success(), "{}", stderr(&encrypted));
    scratch.write(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - copy: {content: \"{{ word }}\", dest: \"{{ playbook_dir }}/word\"}\n",
    );
    let shown = at_a_terminal(
        &scratch,
        "run -i localhost, -c local --vault-id dev@prompt play.yml",
        &["dev-secret-pw"],
    );
    assert!(shown.contains("Vault password (dev): "), "{shown}");
    assert!(
        !shown.contains("dev-secret-pw") && !shown.contains(SECRET),
        "{shown}"
    );
    assert_eq!(scratch.read("word"), SECRET);
}

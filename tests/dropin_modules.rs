//! Drop-in modules: found beside the playbook, copied to the target, run with a JSON
//! arguments file, their JSON result used like any module's.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::ssh::{LoopbackSshd, or_skip};
use common::{Scratch, recap_line, stdout};

/// A one-page HTTP server on loopback, answering `body` to every request.
fn serve(body: &'static str) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (port, handle)
}

fn install_module(scratch: &Scratch) {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("modules/http_check");
    let target = scratch.path().join("modules/http_check");
    std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
    std::fs::copy(source, &target).expect("copy the module");
}

fn playbook(port: u16) -> String {
    format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Healthy\n      http_check:\n        url: http://127.0.0.1:{port}/\n        contains: hello bosun\n      register: health\n    - assert:\n        that:\n          - health.status == 200\n          - health.attempts == 1\n          - health is not changed\n    - name: Wrong text fails\n      http_check:\n        url: http://127.0.0.1:{port}/\n        contains: nope\n      ignore_errors: true\n      register: bad\n    - assert:\n        that:\n          - bad is failed\n          - \"'does not contain' in bad.msg\"\n"
    )
}

#[test]
fn shipped_http_check_runs_locally() {
    let scratch = Scratch::new();
    install_module(&scratch);
    let (port, server) = serve("hello bosun");
    scratch.write("check.yml", &playbook(port));
    let output = scratch.bosun(&["run", "check.yml", "-i", "localhost,", "-c", "local"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(recap_line(&out, "localhost").contains("failed=0 "), "{out}");
    assert!(
        recap_line(&out, "localhost").contains("ignored=1 "),
        "{out}"
    );
    drop(server);
}

#[test]
fn a_module_that_prints_garbage_is_a_module_failure() {
    let scratch = Scratch::new();
    scratch.write_executable(
        "library/broken",
        "#!/bin/sh\necho not json\necho oops >&2\nexit 3\n",
    );
    scratch.write(
        "broken.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - broken: {x: 1}\n",
    );
    let output = scratch.bosun(&["run", "broken.yml", "-c", "local"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(out.contains("MODULE FAILURE"), "{out}");
    assert!(out.contains("\"module_stdout\": \"not json\\n\""), "{out}");
    assert!(out.contains("\"rc\": 3"), "{out}");
}

#[test]
fn shipped_http_check_runs_over_ssh_and_is_cached() {
    let Some(sshd) = or_skip(LoopbackSshd::start()) else {
        return;
    };
    let scratch = Scratch::new();
    install_module(&scratch);
    let (port, server) = serve("hello bosun");
    scratch.write("check.yml", &playbook(port));
    scratch.write("hosts.ini", &sshd.inventory_line("lo"));
    let output = scratch.bosun_with(
        &["run", "check.yml", "-i", "hosts.ini"],
        &[("HOME", sshd.home())],
    );
    let out = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(recap_line(&out, "lo").contains("failed=0 "), "{out}");
    let cached = sshd.ssh("ls ${TMPDIR:-/tmp}/.bosun-modules-$(id -u)/");
    assert!(
        String::from_utf8_lossy(&cached.stdout).contains("-http_check"),
        "the module is cached on the target"
    );
    drop(server);
}

#[test]
fn unknown_module_names_still_fail_at_load_time() {
    let scratch = Scratch::new();
    install_module(&scratch);
    scratch.write(
        "typo.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - http_chek: {url: x}\n",
    );
    let output = scratch.bosun(&["run", "typo.yml", "-c", "local"]);
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("typo.yml:4:7"));
}

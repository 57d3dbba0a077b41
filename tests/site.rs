//! The mission end to end on a real Debian container with systemd as PID 1:
//! playbooks/site.yml installs nginx and a gunicorn-served app from Debian's packages
//! (through NAT to the mirrors), and the stack answers over HTTP from this machine.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, recap_line, stdout};

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn http_get(address: std::net::Ipv4Addr) -> String {
    let output = std::process::Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .arg(format!("http://{address}/"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn site_converges_a_fresh_host_then_changes_only_what_a_variable_touches() {
    let Some(fleet) = or_skip(SystemdFleet::up(1)) else {
        return;
    };
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    let home = [("HOME", fleet.home())];
    let site = repo("playbooks/site.yml");
    let roles = repo("roles");
    let modules = repo("modules");
    scratch.write(
        "bosun.toml",
        &format!("[defaults]\nroles_path = \"{roles}\"\nmodule_path = \"{modules}\"\n"),
    );
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            site.as_str(),
            "-i",
            "hosts.ini",
            "-e",
            "target_hosts=all",
        ];
        args.extend_from_slice(extra);
        scratch.bosun_with(&args, &home)
    };
    let host = fleet.hosts()[0].clone();

    let first = run(&[]);
    let out = stdout(&first);
    assert_eq!(first.status.code(), Some(0), "{out}");
    assert!(recap_line(&out, &host.name).contains("failed=0 "), "{out}");
    assert_eq!(
        http_get(host.addr),
        "Hello from bosun (/)\n",
        "nginx -> gunicorn -> app"
    );
    let units = fleet.ssh(
        0,
        "systemctl is-active hello nginx; systemctl is-enabled hello nginx",
    );
    assert_eq!(
        String::from_utf8_lossy(&units.stdout),
        "active\nactive\nenabled\nenabled\n"
    );

    let second = run(&[]);
    assert!(
        recap_line(&stdout(&second), &host.name).contains("changed=0 "),
        "{}",
        stdout(&second)
    );

    let changed = run(&["-e", "app_message=\"Changed by -e\""]);
    let out = stdout(&changed);
    assert_eq!(
        changed.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert!(
        recap_line(&out, &host.name).contains("changed=2 "),
        "the app file and its handler only:\n{out}"
    );
    assert!(out.contains("TASK [app : The application] ***"), "{out}");
    assert!(out.contains("RUNNING HANDLER [app : restart app]"), "{out}");
    assert_eq!(http_get(host.addr), "Changed by -e (/)\n");

    let before = fleet.ssh(
        0,
        "md5sum /opt/hello/app.py /etc/nginx/nginx.conf; systemctl show -p MainPID hello",
    );
    let checked = run(&["-e", "app_message=\"Only a preview\"", "--check", "--diff"]);
    let out = stdout(&checked);
    assert_eq!(checked.status.code(), Some(0), "{out}");
    assert!(
        out.contains("--- before: /opt/hello/app.py\n+++ after: /opt/hello/app.py\n"),
        "{out}"
    );
    assert!(
        out.contains("-MESSAGE = \"Changed by -e\"\n+MESSAGE = \"Only a preview\""),
        "{out}"
    );
    assert!(recap_line(&out, &host.name).contains("changed=2 "), "{out}");
    let after = fleet.ssh(
        0,
        "md5sum /opt/hello/app.py /etc/nginx/nginx.conf; systemctl show -p MainPID hello",
    );
    assert_eq!(
        before.stdout, after.stdout,
        "check mode touched no file and restarted nothing"
    );
    assert_eq!(http_get(host.addr), "Changed by -e (/)\n");
}

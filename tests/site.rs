//! The mission end to end on two real Debian containers with systemd as PID 1 (a web
//! host and a docker host): playbooks/site.yml installs nginx and a gunicorn-served app
//! on one, Docker Engine and a container on a published port on the other, all from
//! Debian's packages (through NAT to the mirrors), and both answer over HTTP from this
//! machine.

mod common;

use std::time::Instant;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, recap_line, stdout};

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn http_get(address: std::net::Ipv4Addr) -> String {
    http_get_port(address, 80)
}

fn http_get_port(address: std::net::Ipv4Addr, port: u16) -> String {
    let output = std::process::Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .arg(format!("http://{address}:{port}/"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn site_converges_fresh_hosts_then_changes_only_what_a_variable_touches() {
    let booted = Instant::now();
    let Some(fleet) = or_skip(SystemdFleet::up_docker(2)) else {
        return;
    };
    eprintln!(
        "site: 2 Docker-capable containers booted in {:.1}s",
        booted.elapsed().as_secs_f64()
    );
    let host = fleet.hosts()[0].clone();
    let docker_host = fleet.hosts()[1].clone();
    let scratch = Scratch::new();
    scratch.write(
        "hosts.ini",
        &format!(
            "{}\n[web]\n{}\n\n[docker]\n{}\n",
            fleet.inventory(),
            host.name,
            docker_host.name
        ),
    );
    let home = [("HOME", fleet.home())];
    let site = repo("playbooks/site.yml");
    let roles = repo("roles");
    let modules = repo("modules");
    scratch.write(
        "bosun.toml",
        &format!("[defaults]\nroles_path = \"{roles}\"\nmodule_path = \"{modules}\"\n"),
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["run", site.as_str(), "-i", "hosts.ini"];
        args.extend_from_slice(extra);
        scratch.bosun_with(&args, &home)
    };
    let unchanged = |out: &str, name: &str| {
        assert!(
            recap_line(out, name).contains("changed=0 "),
            "{name} unchanged:\n{out}"
        );
    };
    let container = "docker ps --filter name=hello-web --format '{{.Names}} {{.Ports}}'; \
                     docker inspect -f '{{.Id}}' hello-web; md5sum /etc/docker/daemon.json";

    let started = Instant::now();
    let first = run(&[]);
    let out = stdout(&first);
    eprintln!("site: first run {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(first.status.code(), Some(0), "{out}");
    assert!(recap_line(&out, &host.name).contains("failed=0 "), "{out}");
    assert!(
        recap_line(&out, &docker_host.name).contains("failed=0 "),
        "{out}"
    );
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

    let ps = fleet.ssh(1, container);
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        ps.starts_with("hello-web 0.0.0.0:8080->8080/tcp"),
        "docker ps shows the container and its port: {ps}"
    );
    assert_eq!(
        http_get_port(docker_host.addr, 8080),
        format!(
            "<!-- Ansible managed -->\n<p>Hello from a container on {}</p>\n",
            docker_host.name
        ),
        "the published port of the container answers"
    );
    assert_eq!(
        String::from_utf8_lossy(
            &fleet
                .ssh(1, "systemctl is-active docker; systemctl is-enabled docker")
                .stdout
        ),
        "active\nenabled\n"
    );

    let started = Instant::now();
    let second = run(&[]);
    eprintln!("site: second run {:.1}s", started.elapsed().as_secs_f64());
    unchanged(&stdout(&second), &host.name);
    unchanged(&stdout(&second), &docker_host.name);

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
    unchanged(&out, &docker_host.name);
    assert_eq!(http_get(host.addr), "Changed by -e (/)\n");

    let before = fleet.ssh(
        0,
        "md5sum /opt/hello/app.py /etc/nginx/nginx.conf; systemctl show -p MainPID hello",
    );
    let docker_before = fleet.ssh(1, container);
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
    unchanged(&out, &docker_host.name);
    let after = fleet.ssh(
        0,
        "md5sum /opt/hello/app.py /etc/nginx/nginx.conf; systemctl show -p MainPID hello",
    );
    assert_eq!(
        before.stdout, after.stdout,
        "check mode touched no file and restarted nothing"
    );
    assert_eq!(
        docker_before.stdout,
        fleet.ssh(1, container).stdout,
        "nor the container"
    );
    assert_eq!(http_get(host.addr), "Changed by -e (/)\n");
}

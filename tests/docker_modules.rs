//! `docker_image`, `docker_container` and `docker_network` run by the real binary over
//! SSH against a Docker-capable Debian container (systemd as PID 1, Debian's docker.io
//! installed once through the mirrors), checked there with the docker CLI and from
//! this machine over HTTP. No registry is reachable: images come from a tarball of
//! busybox-static made on the target.

mod common;

use std::sync::OnceLock;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

/// Installs Docker and busybox-static in the shared container, once, and makes the
/// fixtures: a root filesystem tarball, a build context, a saved image archive, the
/// image `fixture/busybox:1` and a page to serve. A download that times out is tried
/// again: the mirrors are real.
const SETUP: &str = r#"set -e
for attempt in 1 2 3; do
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static >/dev/null && break
  [ $attempt = 3 ] && exit 1 || sleep 3
done
d=/opt/bb
rm -rf $d && mkdir -p $d/rootfs/bin $d/ctx
cp /bin/busybox $d/rootfs/bin/ && tar -C $d/rootfs -cf $d/rootfs.tar .
cp /bin/busybox $d/ctx/
printf 'FROM scratch\nCOPY busybox /bin/busybox\nARG GREETING=none\nRUN ["/bin/busybox", "sh", "-c", "echo $GREETING > /greeting"]\n' >$d/ctx/Dockerfile
docker import $d/rootfs.tar fixture/busybox:1 >/dev/null
docker tag fixture/busybox:1 t/loaded:1 && docker save -o $d/saved.tar t/loaded:1 && docker rmi -f t/loaded:1
mkdir -p /srv/ct && echo 'page from the volume' >/srv/ct/index.html
"#;

/// The shared Docker-capable container, set up; `None` where containers are refused.
fn fleet() -> Option<&'static SystemdFleet> {
    static READY: OnceLock<()> = OnceLock::new();
    let fleet = or_skip(SystemdFleet::shared_docker())?;
    READY.get_or_init(|| {
        let setup = fleet.ssh(0, SETUP);
        assert!(
            setup.status.success(),
            "setup: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
    });
    Some(fleet)
}

/// Runs `playbook` (as `name`) and checks that it succeeded with `changed` changes.
fn converge(
    fleet: &SystemdFleet,
    name: &str,
    playbook: &str,
    extra: &[&str],
    changed: usize,
) -> String {
    let (code, out) = fleet.play(name, playbook, extra);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.changed(0, &out),
        format!("changed={changed}"),
        "{out}"
    );
    out
}

const IMAGES: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_image:
        name: t/built:1
        source: build
        force_source: "{{ force | default(false) }}"
        build:
          path: /opt/bb/ctx
          args:
            GREETING: "{{ greeting | default('hello') }}"
    - docker_image:
        name: t/loaded:1
        source: load
        load_path: /opt/bb/saved.tar
"#;

const NO_IMAGES: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - docker_image: name=t/built tag=1 state=absent
    - docker_image: name=t/loaded:1 state=absent force_absent=true
";

#[test]
fn docker_image_builds_loads_and_removes() {
    let Some(fleet) = fleet() else { return };
    let images = "for i in t/built:1 t/loaded:1; do docker image inspect -f . $i >/dev/null 2>&1 && echo $i; done | xargs";
    let greeting = "docker run --rm t/built:1 /bin/busybox cat /greeting";

    converge(fleet, "images.yml", IMAGES, &["--check"], 2);
    assert_eq!(fleet.on_host(0, images), "", "check mode made no image");

    converge(fleet, "images.yml", IMAGES, &[], 2);
    assert_eq!(fleet.on_host(0, images), "t/built:1 t/loaded:1");
    assert_eq!(
        fleet.on_host(0, greeting),
        "hello",
        "build args reach the build"
    );
    converge(fleet, "images.yml", IMAGES, &[], 0);

    // A forced build of the same context makes the same image: no change.
    converge(fleet, "images.yml", IMAGES, &["-e", "force=true"], 0);
    let before = fleet.on_host(0, "docker image inspect -f '{{.Id}}' t/built:1");
    converge(
        fleet,
        "images.yml",
        IMAGES,
        &["-e", "force=true", "-e", "greeting=bye"],
        1,
    );
    assert_eq!(fleet.on_host(0, greeting), "bye");
    assert_ne!(
        fleet.on_host(0, "docker image inspect -f '{{.Id}}' t/built:1"),
        before
    );

    converge(fleet, "gone.yml", NO_IMAGES, &["--check"], 2);
    assert_eq!(fleet.on_host(0, images), "t/built:1 t/loaded:1");
    converge(fleet, "gone.yml", NO_IMAGES, &[], 2);
    assert_eq!(fleet.on_host(0, images), "");
    converge(fleet, "gone.yml", NO_IMAGES, &[], 0);
}

const CONTAINER: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - docker_container:
        name: ct-web
        image: fixture/busybox:1
        state: "{{ state | default('started') }}"
        command: [/bin/busybox, httpd, -f, -p, "8080", -h, /www]
        ports: ["8090:8080"]
        env:
          GREETING: "{{ greeting | default('hello there') }}"
        labels:
          app: bosun-test
        volumes: ["/srv/ct:/www:ro"]
        restart_policy: unless-stopped
"#;

#[test]
fn docker_container_is_created_compared_recreated_and_removed() {
    let Some(fleet) = fleet() else { return };
    let addr = fleet.hosts()[0].addr;
    let page = || {
        let output = std::process::Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "10",
                "--retry",
                "5",
                "--retry-connrefused",
            ])
            .arg(format!("http://{addr}:8090/"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let show = "docker inspect -f '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}} {{.Config.Labels.app}} {{range .Config.Env}}{{.}};{{end}}' ct-web";
    let id = "docker inspect -f '{{.Id}}' ct-web";

    converge(fleet, "ct.yml", CONTAINER, &["--check"], 1);
    assert_eq!(fleet.on_host(0, "docker ps -aq -f name=ct-web"), "");

    converge(fleet, "ct.yml", CONTAINER, &[], 1);
    assert_eq!(
        fleet.on_host(0, show),
        "running unless-stopped bosun-test GREETING=hello there;"
    );
    assert_eq!(
        page(),
        "page from the volume\n",
        "the published port answers"
    );
    converge(fleet, "ct.yml", CONTAINER, &[], 0);
    let first = fleet.on_host(0, id);

    let out = converge(
        fleet,
        "ct.yml",
        CONTAINER,
        &["-e", "greeting=changed", "--check", "--diff"],
        1,
    );
    assert!(
        out.contains("-        \"GREETING\": \"hello there\""),
        "{out}"
    );
    assert!(out.contains("+        \"GREETING\": \"changed\""), "{out}");
    assert_eq!(fleet.on_host(0, id), first, "check mode recreated nothing");

    converge(fleet, "ct.yml", CONTAINER, &["-e", "greeting=changed"], 1);
    assert_ne!(fleet.on_host(0, id), first, "a real difference recreates");
    assert!(fleet.on_host(0, show).ends_with("GREETING=changed;"));
    assert_eq!(page(), "page from the volume\n");

    let changed = ["-e", "greeting=changed"];
    converge(
        fleet,
        "ct.yml",
        CONTAINER,
        &[&changed[..], &["-e", "state=stopped"]].concat(),
        1,
    );
    assert!(fleet.on_host(0, show).starts_with("exited "));
    converge(
        fleet,
        "ct.yml",
        CONTAINER,
        &[&changed[..], &["-e", "state=stopped"]].concat(),
        0,
    );
    converge(fleet, "ct.yml", CONTAINER, &changed, 1);
    assert!(fleet.on_host(0, show).starts_with("running "));

    converge(fleet, "ct.yml", CONTAINER, &["-e", "state=absent"], 1);
    assert_eq!(fleet.on_host(0, "docker ps -aq -f name=ct-web"), "");
    converge(fleet, "ct.yml", CONTAINER, &["-e", "state=absent"], 0);
}

const NETWORK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - docker_network:
        name: bt-net
        state: "{{ state | default('present') }}"
        ipam_config:
          - subnet: "{{ subnet }}"
        labels:
          app: bosun-test
    - docker_container:
        name: bt-member
        image: fixture/busybox:1
        command: /bin/busybox sleep 3600
        networks:
          - name: bt-net
            aliases: [member]
      when: state is not defined
"#;

#[test]
fn docker_network_is_created_compared_recreated_and_removed() {
    let Some(fleet) = fleet() else { return };
    let subnet = "docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.app}}' bt-net";
    let member = "docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.Aliases}}{{end}}' bt-member";
    let first = ["-e", "subnet=172.28.5.0/24"];
    let second = ["-e", "subnet=172.28.6.0/24"];

    converge(fleet, "net.yml", NETWORK, &first, 2);
    assert_eq!(fleet.on_host(0, subnet), "172.28.5.0/24 bosun-test");
    assert!(
        fleet.on_host(0, member).starts_with("bt-net ["),
        "connected"
    );
    assert!(
        fleet.on_host(0, member).contains("member"),
        "with its alias"
    );
    converge(fleet, "net.yml", NETWORK, &first, 0);

    converge(
        fleet,
        "net.yml",
        NETWORK,
        &[&second[..], &["--check"]].concat(),
        1,
    );
    assert_eq!(fleet.on_host(0, subnet), "172.28.5.0/24 bosun-test");

    // The network is made again; the container, disconnected by that, is reconnected.
    converge(fleet, "net.yml", NETWORK, &second, 2);
    assert_eq!(fleet.on_host(0, subnet), "172.28.6.0/24 bosun-test");
    assert!(fleet.on_host(0, member).starts_with("bt-net ["));
    converge(fleet, "net.yml", NETWORK, &second, 0);

    fleet.on_host(0, "docker rm -f bt-member");
    let absent = [&second[..], &["-e", "state=absent"]].concat();
    converge(fleet, "net.yml", NETWORK, &absent, 1);
    assert_eq!(fleet.on_host(0, "docker network ls -q -f name=bt-net"), "");
    converge(fleet, "net.yml", NETWORK, &absent, 0);
}

const VOLUME: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_volume:
        name: bt-vol
        state: "{{ state | default('present') }}"
        driver_options:
          type: tmpfs
          device: tmpfs
          o: "size={{ size | default('10m') }}"
        labels:
          app: bosun-test
        recreate: options-changed
      register: vol
    - when: not ansible_check_mode and (state | default('present')) == 'present'
      copy:
        dest: /tmp/bt-vol-result
        content: "{{ vol.volume.Name }} {{ vol.volume.Driver }} {{ vol.volume.Labels.app }}"
"#;

#[test]
fn docker_volume_is_created_compared_recreated_and_removed() {
    let Some(fleet) = fleet() else { return };
    let options = "docker volume inspect -f '{{.Options.o}} {{.Labels.app}}' bt-vol";
    fleet.on_host(0, "docker volume rm -f bt-vol; rm -f /tmp/bt-vol-result");

    converge(fleet, "vol.yml", VOLUME, &["--check"], 1);
    let exists = "docker volume ls -q -f name=^bt-vol$";
    assert_eq!(fleet.on_host(0, exists), "", "check mode made nothing");

    converge(fleet, "vol.yml", VOLUME, &[], 2);
    assert_eq!(fleet.on_host(0, options), "size=10m bosun-test");
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-vol-result"),
        "bt-vol local bosun-test"
    );
    converge(fleet, "vol.yml", VOLUME, &[], 0);

    let bigger = ["-e", "size=20m"];
    let out = converge(
        fleet,
        "vol.yml",
        VOLUME,
        &[&bigger[..], &["--check", "--diff"]].concat(),
        1,
    );
    assert!(
        out.contains("driver_options.o"),
        "the difference named: {out}"
    );
    assert_eq!(fleet.on_host(0, options), "size=10m bosun-test");
    converge(fleet, "vol.yml", VOLUME, &bigger, 1);
    assert_eq!(
        fleet.on_host(0, options),
        "size=20m bosun-test",
        "recreated"
    );
    converge(fleet, "vol.yml", VOLUME, &bigger, 0);

    let absent = ["-e", "state=absent"];
    converge(fleet, "vol.yml", VOLUME, &absent, 1);
    assert_eq!(fleet.on_host(0, exists), "");
    converge(fleet, "vol.yml", VOLUME, &absent, 0);

    let (code, out) = fleet.play(
        "bad.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_volume: {name: bt-vol, recreate: sometimes}\n",
        &[],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("value of recreate must be one of: always, never, options-changed"),
        "{out}"
    );
}

const EXEC: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_container_exec:
        container: bt-exec
        command: /bin/busybox sh -c 'echo "out $A $(pwd)"; echo err >&2; /bin/busybox cat > /received'
        env: {A: "b c"}
        chdir: /bin
        stdin: hello
      register: shown
    - docker_container_exec:
        container: bt-exec
        argv: [/bin/busybox, sh, -c, "/bin/busybox sleep 1; echo later > /detached"]
        detach: true
      register: detached
    - docker_container_exec:
        container: bt-exec
        argv: [/bin/busybox, sh, -c, "exit 3"]
      register: three
      ignore_errors: true
    - copy:
        dest: /tmp/bt-exec-result
        content: "{{ shown.stdout }}|{{ shown.stderr }}|{{ shown.rc }}|{{ detached.exec_id | length }}|{{ three.rc }} {{ three.failed }}"
"#;

#[test]
fn docker_container_exec_runs_a_command_in_a_container() {
    let Some(fleet) = fleet() else { return };
    fleet.on_host(
        0,
        "docker rm -f bt-exec >/dev/null 2>&1; docker run -d --name bt-exec fixture/busybox:1 /bin/busybox sleep 100000",
    );
    let (code, out) = fleet.play("exec.yml", EXEC, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ignored=1"),
        "rc 3 fails the task, as in Ansible: {out}"
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-exec-result"),
        "out b c /bin|err|0|64|3 True"
    );
    assert_eq!(
        fleet.on_host(0, "docker exec bt-exec /bin/busybox cat /received"),
        "hello"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        fleet.on_host(0, "docker exec bt-exec /bin/busybox cat /detached"),
        "later"
    );

    let (code, out) = fleet.play("exec.yml", EXEC, &["--check"]);
    assert!(
        out.contains("skipping: [c"),
        "no check mode, as in community.docker: {out}"
    );
    assert_ne!(code, 0, "the copy then lacks the results: {out}");

    let missing = "
- hosts: all
  gather_facts: false
  tasks:
    - docker_container_exec: {container: bt-none, argv: [/bin/true]}
";
    let (code, out) = fleet.play("missing.yml", missing, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("Could not find container \\\"bt-none\\\""),
        "{out}"
    );
    fleet.on_host(0, "docker rm -f bt-exec");
}

const PRUNE: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_prune:
        containers: true
        containers_filters:
          label: bt-prune=yes
        networks: true
        networks_filters:
          label: bt-prune
        volumes: true
        volumes_filters:
          label: bt-prune
      register: pruned
    - copy:
        dest: /tmp/bt-prune-result
        content: "{{ pruned.containers | length }} {{ pruned.containers_space_reclaimed }} {{ pruned.networks }} {{ pruned.volumes }}"
"#;

#[test]
fn docker_prune_removes_what_is_unused_and_says_what() {
    let Some(fleet) = fleet() else { return };
    fleet.on_host(
        0,
        "docker rm -f bt-p1 bt-p2 bt-keep >/dev/null 2>&1; \
         docker run --name bt-p1 --label bt-prune=yes fixture/busybox:1 /bin/busybox sh -c 'echo 123456789 > /f'; \
         docker create --name bt-p2 --label bt-prune=yes fixture/busybox:1 /bin/busybox true; \
         docker create --name bt-keep fixture/busybox:1 /bin/busybox true; \
         docker network create --label bt-prune bt-pnet; docker volume create --label bt-prune bt-pvol",
    );
    let (code, out) = fleet.play("prune.yml", PRUNE, &["--check"]);
    assert_eq!(
        code, 2,
        "the copy lacks the results when the prune is skipped: {out}"
    );
    assert!(
        out.contains("skipping: [c"),
        "no check mode, as in community.docker: {out}"
    );
    assert_eq!(fleet.on_host(0, "docker ps -aq -f name=bt-p | wc -l"), "2");

    converge(fleet, "prune.yml", PRUNE, &[], 2);
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-prune-result"),
        "2 10 ['bt-pnet'] ['bt-pvol']",
        "the deleted objects and the bytes the stopped container had written"
    );
    assert_eq!(fleet.on_host(0, "docker ps -aq -f name=bt-p | wc -l"), "0");
    assert_eq!(
        fleet.on_host(0, "docker ps -aq -f name=bt-keep | wc -l"),
        "1",
        "the filter kept it"
    );
    assert_eq!(fleet.on_host(0, "docker network ls -q -f name=bt-pnet"), "");
    assert_eq!(fleet.on_host(0, "docker volume ls -q -f name=bt-pvol"), "");

    converge(fleet, "prune.yml", PRUNE, &[], 1);
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-prune-result"),
        "0 0 [] []",
        "nothing left to prune"
    );
    fleet.on_host(0, "docker rm -f bt-keep");
}

//! The community.docker modules run by the real binary over SSH against a
//! Docker-capable Debian container (systemd as PID 1, Debian's docker.io installed once
//! through the mirrors), checked there with the docker CLI, the registry's API and from
//! this machine over HTTP. Images come from a tarball of busybox-static made on the
//! target; the registries are Debian's `docker-registry` on the target itself:
//! 127.0.0.1:5001 open, 127.0.0.1:5000 behind htpasswd (user `bosun`). The compose v2
//! plugin is trixie's `docker-compose` package (Debian 12's is Compose v1), from a
//! trixie source pinned low so that nothing else comes from there.

mod common;

use std::sync::OnceLock;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

/// The password of the authenticated registry's user `bosun`.
const REGISTRY_PASSWORD: &str = "bt-s3cret-Pw";

/// [`REGISTRY_PASSWORD`] as the login playbook's extra variable.
const PASSWORD_VAR: &str = "password=bt-s3cret-Pw";

/// Installs Docker, busybox-static, the registry, strace and the compose v2 plugin in
/// the shared container, once, and makes the fixtures: a root filesystem tarball, a
/// build context, a saved image archive, the image `fixture/busybox:1` and a page to
/// serve; starts both registries. A download that times out is tried again: the
/// mirrors are real.
const SETUP: &str = r#"set -e
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
  >/etc/apt/sources.list.d/trixie.sources
printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >/etc/apt/preferences.d/trixie-low
for attempt in 1 2 3; do
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io busybox-static docker-registry apache2-utils curl strace docker-compose/trixie >/dev/null && break
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
r=/etc/docker/registry
sed -i "s#path: $r\$#path: $r/htpasswd#" $r/config.yml
htpasswd -Bbc $r/htpasswd bosun "$REGISTRY_PASSWORD" 2>/dev/null
systemctl restart docker-registry
sed "s#addr: :5000#addr: 127.0.0.1:5001#; s#/var/lib/docker-registry\$#/var/lib/docker-registry-open#; /^auth:/,/path:/d" \
  $r/config.yml >$r/open.yml
systemd-run --unit=registry-open docker-registry serve $r/open.yml >/dev/null
for i in $(seq 50); do curl -sf http://127.0.0.1:5001/v2/ >/dev/null && curl -s http://127.0.0.1:5000/v2/ >/dev/null && break; sleep 0.2; done
docker compose version >/dev/null
"#;

/// The shared Docker-capable container, set up; `None` where containers are refused.
fn fleet() -> Option<&'static SystemdFleet> {
    static READY: OnceLock<()> = OnceLock::new();
    let fleet = or_skip(SystemdFleet::shared_docker())?;
    READY.get_or_init(|| {
        let setup = fleet.ssh(
            0,
            &format!("REGISTRY_PASSWORD='{REGISTRY_PASSWORD}'\n{SETUP}"),
        );
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

/// The repositories the open registry (127.0.0.1:5001) holds, as its catalog says.
const CATALOG: &str = "curl -s http://127.0.0.1:5001/v2/_catalog";

const PUSH: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_image:
        name: fixture/busybox
        tag: "1"
        source: local
        repository: 127.0.0.1:5001/bt/web
        push: true
"#;

const PULL: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - docker_image:
        name: 127.0.0.1:5001/bt/web:1
        source: pull
        force_source: "{{ force | default(false) }}"
        pull:
          platform: linux/amd64
      register: pulled
    - when: not ansible_check_mode
      copy:
        dest: /tmp/bt-pulled
        content: "{{ pulled.actions }} {{ pulled.image.RepoTags | sort | join(',') }}"
      changed_when: false
"#;

#[test]
fn docker_image_pushes_to_and_pulls_from_a_registry() {
    let Some(fleet) = fleet() else { return };
    let local = "docker image inspect -f '{{.Id}}' 127.0.0.1:5001/bt/web:1";
    fleet.on_host(
        0,
        "docker rmi 127.0.0.1:5001/bt/web:1 >/dev/null 2>&1; rm -f /tmp/bt-pulled",
    );

    let out = converge(fleet, "push.yml", PUSH, &["--check"], 1);
    assert!(!out.contains("bt/web"), "nothing said about the registry");
    assert!(
        !fleet.on_host(0, CATALOG).contains("bt/web"),
        "nothing pushed"
    );
    assert_eq!(
        fleet.on_host(0, &format!("{local} 2>/dev/null")),
        "",
        "nothing tagged"
    );

    converge(fleet, "push.yml", PUSH, &[], 1);
    assert!(fleet.on_host(0, CATALOG).contains("\"bt/web\""));
    assert_eq!(
        fleet.on_host(0, "curl -s http://127.0.0.1:5001/v2/bt/web/tags/list"),
        r#"{"name":"bt/web","tags":["1"]}"#
    );
    converge(fleet, "push.yml", PUSH, &[], 0);

    // Pulled back: a change only while the image is missing, not when forced again.
    fleet.on_host(0, "docker rmi 127.0.0.1:5001/bt/web:1");
    converge(fleet, "pull.yml", PULL, &["--check"], 1);
    assert_eq!(fleet.on_host(0, &format!("{local} 2>/dev/null")), "");
    converge(fleet, "pull.yml", PULL, &[], 1);
    assert_eq!(
        fleet.on_host(0, local),
        fleet.on_host(0, "docker image inspect -f '{{.Id}}' fixture/busybox:1")
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-pulled"),
        "['Pulled image 127.0.0.1:5001/bt/web:1'] 127.0.0.1:5001/bt/web:1,fixture/busybox:1"
    );
    converge(fleet, "pull.yml", PULL, &[], 0);
    fleet.on_host(0, "rm /tmp/bt-pulled");
    converge(fleet, "pull.yml", PULL, &["-e", "force=true"], 0);
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-pulled"),
        "['Pulled image 127.0.0.1:5001/bt/web:1'] 127.0.0.1:5001/bt/web:1,fixture/busybox:1",
        "forced: pulled again, the same image, so no change"
    );

    let no_source =
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_image: {name: bt/x}\n";
    fleet.play_fails(
        "bad.yml",
        no_source,
        &[],
        "state is present but all of the following are missing: source",
    );
    let bad_tag = "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_image: {name: bt/x, tag: -x, source: pull}\n";
    fleet.play_fails(
        "bad.yml",
        bad_tag,
        &[],
        "\\\"-x\\\" is not a valid docker tag!",
    );
}

#[test]
fn docker_image_removes_an_image_by_id() {
    let Some(fleet) = fleet() else { return };
    let id = fleet.on_host(
        0,
        "printf 'FROM fixture/busybox:1\\nLABEL bt=by-id\\n' | docker build -q -t bt/by-id:1 -",
    );
    assert!(id.starts_with("sha256:"), "{id}");
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_image: {{name: '{id}', state: absent, force_absent: true}}\n      register: gone\n    - debug: var=gone.image\n"
    );
    converge(fleet, "by-id.yml", &playbook, &["--check"], 1);
    assert_eq!(fleet.on_host(0, "docker images -q bt/by-id"), id[7..19]);
    let out = converge(fleet, "by-id.yml", &playbook, &[], 1);
    assert!(out.contains("\"state\": \"Deleted\""), "{out}");
    assert_eq!(fleet.on_host(0, "docker images -q bt/by-id"), "");
    converge(fleet, "by-id.yml", &playbook, &[], 0);
}

const SMALL_MODULES: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_image_tag:
        name: bt/stamped:1
        repository: [127.0.0.1:5001/bt/stamped:2]
    - community.docker.docker_image_push:
        name: 127.0.0.1:5001/bt/stamped:2
    - community.docker.docker_image_pull:
        name: 127.0.0.1:5001/bt/stamped
        tag: "2"
        pull: not_present
        platform: amd64
    - community.docker.docker_image_info:
        name: [127.0.0.1:5001/bt/stamped:2, bt/not-there]
      register: info
    - when: not ansible_check_mode
      copy:
        dest: /tmp/bt-info
        content: "{{ info.images | length }} {{ info.images[0].RepoTags | sort | join(',') }}"
"#;

#[test]
fn docker_image_tag_push_pull_and_info_work_together() {
    let Some(fleet) = fleet() else { return };
    // An image with a layer of its own, so that its push uploads something.
    fleet.on_host(
        0,
        "rm -rf /tmp/bt-stamp && mkdir /tmp/bt-stamp && date +%s%N >/tmp/bt-stamp/stamp && \
         printf 'FROM fixture/busybox:1\\nCOPY stamp /stamp\\n' >/tmp/bt-stamp/Dockerfile && \
         docker build -q -t bt/stamped:1 /tmp/bt-stamp && docker rmi 127.0.0.1:5001/bt/stamped:2 2>/dev/null; true",
    );
    let (code, out) = fleet.play("small.yml", SMALL_MODULES, &["--check"]);
    assert!(
        out.contains("skipping: [c"),
        "push has no check mode: {out}"
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.changed(0, &out),
        "changed=2",
        "the tag and the pull: {out}"
    );
    assert!(!fleet.on_host(0, CATALOG).contains("bt/stamped"));

    converge(fleet, "small.yml", SMALL_MODULES, &[], 3);
    assert!(fleet.on_host(0, CATALOG).contains("\"bt/stamped\""));
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-info"),
        "1 127.0.0.1:5001/bt/stamped:2,bt/stamped:1"
    );
    converge(fleet, "small.yml", SMALL_MODULES, &[], 0);

    let digest = "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_image_push: {name: 'bt/x@sha256:0000000000000000000000000000000000000000000000000000000000000000'}\n";
    fleet.play_fails("bad.yml", digest, &[], "Cannot push an image by digest");
}

/// The CLI's configuration file after logging in to 127.0.0.1:5000 as `bosun`.
fn logged_in_config() -> String {
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("bosun:{REGISTRY_PASSWORD}"));
    format!(
        "{{\n\t\"auths\": {{\n\t\t\"127.0.0.1:5000\": {{\n\t\t\t\"auth\": \"{auth}\"\n\t\t}}\n\t}}\n}}"
    )
}

const LOGIN: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_login:
        registry_url: 127.0.0.1:5000
        username: bosun
        password: "{{ password }}"
        reauthorize: "{{ reauth | default(false) }}"
        config_path: "{{ config | default('~/.docker/config.json') }}"
        state: "{{ state | default('present') }}"
      register: login
    - when: not ansible_check_mode and (state | default('present')) == 'present'
      copy:
        dest: /tmp/bt-login-result
        content: "{{ login.login_result }}"
      changed_when: false
"#;

#[test]
fn docker_login_writes_the_clis_configuration_and_no_command_line_holds_the_password() {
    let Some(fleet) = fleet() else { return };
    let config = "/root/.docker/config.json";
    fleet.on_host(0, &format!("rm -f {config} /tmp/bt-login.trace"));
    // Every program started in an SSH session, with its arguments and environment.
    fleet.on_host(
        0,
        "setsid strace -f -qq -v -s 65536 -e trace=execve -o /tmp/bt-login.trace -p $(pgrep -o -x sshd) \
         </dev/null >/dev/null 2>&1 & echo $! >/tmp/bt-strace.pid; sleep 1",
    );
    let with = |more: &[&'static str]| [&["-e", PASSWORD_VAR][..], more].concat();

    converge(fleet, "login.yml", LOGIN, &with(&["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("cat {config} 2>&1")),
        format!("cat: {config}: No such file or directory")
    );

    let out = converge(fleet, "login.yml", LOGIN, &with(&["-v"]), 1);
    assert!(!out.contains(REGISTRY_PASSWORD), "no_log: {out}");
    assert_eq!(
        fleet.on_host(0, &format!("cat {config}")),
        logged_in_config()
    );
    assert_eq!(fleet.on_host(0, &format!("stat -c %a {config}")), "600");
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-login-result"),
        r#"{"IdentityToken": "", "Status": "Login Succeeded"}"#
    );
    converge(fleet, "login.yml", LOGIN, &with(&[]), 0);
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-login-result"),
        r#"{"email": null, "serveraddress": "127.0.0.1:5000", "username": "bosun"}"#
    );
    converge(fleet, "login.yml", LOGIN, &with(&["-e", "reauth=true"]), 1);

    // The stored credentials let docker push to the registry that asks for them.
    assert!(
        fleet
            .on_host(0, "docker tag fixture/busybox:1 127.0.0.1:5000/bt/auth:1 && docker push 127.0.0.1:5000/bt/auth:1 >/dev/null && echo pushed")
            .ends_with("pushed")
    );

    let wrong = fleet.play_fails(
        "login.yml",
        LOGIN,
        &["-e", "password=not-it"],
        "Logging into 127.0.0.1:5000 for user bosun failed - Error response from daemon: login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized",
    );
    assert!(!wrong.contains("not-it"), "{wrong}");
    assert_eq!(
        fleet.on_host(0, &format!("cat {config}")),
        logged_in_config(),
        "kept"
    );

    // Another file than config.json: the CLI works on a copy.
    let other = ["-e", "config=/etc/bt-docker/auth.json"];
    converge(fleet, "login.yml", LOGIN, &with(&other), 1);
    assert_eq!(
        fleet.on_host(0, "cat /etc/bt-docker/auth.json"),
        logged_in_config()
    );
    assert_eq!(
        fleet.on_host(0, "stat -c %a /etc/bt-docker/auth.json"),
        "600"
    );
    converge(fleet, "login.yml", LOGIN, &with(&other), 0);

    let absent = ["-e", "state=absent"];
    converge(
        fleet,
        "login.yml",
        LOGIN,
        &with(&[&absent[..], &["--check"]].concat()),
        1,
    );
    assert_eq!(
        fleet.on_host(0, &format!("cat {config}")),
        logged_in_config()
    );
    converge(fleet, "login.yml", LOGIN, &with(&absent), 1);
    assert_eq!(
        fleet.on_host(0, &format!("cat {config}")),
        "{\n\t\"auths\": {}\n}"
    );
    converge(fleet, "login.yml", LOGIN, &with(&absent), 0);

    fleet.on_host(0, "kill $(cat /tmp/bt-strace.pid); sleep 0.5");
    let trace = fleet.on_host(0, "cat /tmp/bt-login.trace");
    assert!(
        trace.contains("\"--password-stdin\""),
        "the trace saw the logins"
    );
    assert!(
        !trace.contains(REGISTRY_PASSWORD),
        "no program got the password in its arguments or environment"
    );
    let missing =
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_login: {username: bosun}\n";
    fleet.play_fails(
        "bad.yml",
        missing,
        &[],
        "state is present but all of the following are missing: password",
    );
}

/// The project's Compose file: a web server on port 8092 serving a page that says the
/// greeting of the environment file, and a worker.
const COMPOSE_FILE: &str = r#"services:
  web:
    image: fixture/busybox:1
    command: [/bin/busybox, sh, -c, "echo $$GREETING >/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"]
    environment:
      GREETING: ${GREETING}
    tmpfs: [/www]
    ports: ["8092:8080"]
  worker:
    image: fixture/busybox:1
    command: [/bin/busybox, sleep, "3600"]
"#;

const COMPOSE: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.docker.docker_compose_v2:
        project_src: /srv/bt-compose
        env_files: [prod.env]
        state: "{{ state | default('present') }}"
      register: project
    - when: not ansible_check_mode
      copy:
        dest: /tmp/bt-compose-result
        content: "{{ project.containers | map(attribute='Service') | sort | join(',') }} {{ project.images | length }}"
      changed_when: false
"#;

const COMPOSE_INLINE: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - docker_compose_v2:
        project_name: bt-inline
        definition:
          services:
            worker:
              image: fixture/busybox:1
              command: [/bin/busybox, sleep, "3600"]
        scale:
          worker: "{{ workers | default(2) }}"
        state: "{{ state | default('present') }}"
"#;

#[test]
fn docker_compose_v2_brings_a_project_up_and_down() {
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
            .arg(format!("http://{addr}:8092/"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let states = "docker ps -a --filter label=com.docker.compose.project=bt-compose --format '{{.Label \"com.docker.compose.service\"}}={{.State}}' | sort | xargs";
    fleet.on_host(
        0,
        &format!(
            "docker compose -p bt-compose down >/dev/null 2>&1; rm -rf /srv/bt-compose; mkdir -p /srv/bt-compose && \
             cat >/srv/bt-compose/compose.yaml <<'EOF'\n{COMPOSE_FILE}EOF\necho GREETING=hello >/srv/bt-compose/prod.env"
        ),
    );

    converge(fleet, "compose.yml", COMPOSE, &["--check"], 1);
    assert_eq!(fleet.on_host(0, states), "", "check mode made nothing");

    converge(fleet, "compose.yml", COMPOSE, &[], 1);
    assert_eq!(fleet.on_host(0, states), "web=running worker=running");
    assert_eq!(page(), "hello\n", "the published port answers");
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-compose-result"),
        "web,worker 2"
    );
    converge(fleet, "compose.yml", COMPOSE, &[], 0);

    // Another greeting in the environment file recreates the web container only.
    fleet.on_host(0, "echo GREETING=changed >/srv/bt-compose/prod.env");
    let web_id = "docker ps -q --filter label=com.docker.compose.service=web --filter label=com.docker.compose.project=bt-compose";
    let before = fleet.on_host(0, web_id);
    converge(fleet, "compose.yml", COMPOSE, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, web_id),
        before,
        "check mode recreated nothing"
    );
    let out = converge(fleet, "compose.yml", COMPOSE, &["-v"], 1);
    assert!(out.contains("\"status\": \"Recreate\""), "{out}");
    assert_ne!(fleet.on_host(0, web_id), before);
    assert_eq!(page(), "changed\n");
    converge(fleet, "compose.yml", COMPOSE, &[], 0);

    let stopped = ["-e", "state=stopped"];
    converge(
        fleet,
        "compose.yml",
        COMPOSE,
        &[&stopped[..], &["--check"]].concat(),
        1,
    );
    assert_eq!(fleet.on_host(0, states), "web=running worker=running");
    converge(fleet, "compose.yml", COMPOSE, &stopped, 1);
    assert_eq!(fleet.on_host(0, states), "web=exited worker=exited");
    converge(fleet, "compose.yml", COMPOSE, &stopped, 0);

    let started = "docker inspect -f '{{.State.StartedAt}}' bt-compose-worker-1";
    converge(fleet, "compose.yml", COMPOSE, &[], 1);
    let first = fleet.on_host(0, started);
    converge(fleet, "compose.yml", COMPOSE, &["-e", "state=restarted"], 1);
    assert_ne!(fleet.on_host(0, started), first, "restarted");
    assert_eq!(fleet.on_host(0, states), "web=running worker=running");

    let absent = ["-e", "state=absent"];
    converge(
        fleet,
        "compose.yml",
        COMPOSE,
        &[&absent[..], &["--check"]].concat(),
        1,
    );
    assert_eq!(fleet.on_host(0, states), "web=running worker=running");
    converge(fleet, "compose.yml", COMPOSE, &absent, 1);
    assert_eq!(fleet.on_host(0, states), "");
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bt-compose-result"),
        "0",
        "none left"
    );
    converge(fleet, "compose.yml", COMPOSE, &absent, 0);

    // An inline definition in a temporary directory, scaled.
    let workers = "docker ps -q --filter label=com.docker.compose.project=bt-inline | wc -l";
    converge(fleet, "inline.yml", COMPOSE_INLINE, &[], 1);
    assert_eq!(fleet.on_host(0, workers), "2");
    converge(fleet, "inline.yml", COMPOSE_INLINE, &[], 0);
    converge(fleet, "inline.yml", COMPOSE_INLINE, &["-e", "workers=1"], 1);
    assert_eq!(fleet.on_host(0, workers), "1");
    converge(
        fleet,
        "inline.yml",
        COMPOSE_INLINE,
        &["-e", "state=absent"],
        1,
    );
    assert_eq!(fleet.on_host(0, workers), "0");

    let unnamed = "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_compose_v2:\n        definition: {services: {}}\n";
    fleet.play_fails(
        "bad.yml",
        unnamed,
        &[],
        "missing parameter(s) required by 'definition': project_name",
    );
    let nowhere = "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_compose_v2: {project_src: /srv/bt-none}\n";
    fleet.play_fails(
        "bad.yml",
        nowhere,
        &[],
        "\\\"/srv/bt-none\\\" is not a directory",
    );
    let pull = "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_compose_v2: {project_src: /srv/bt-compose, pull: sometimes}\n";
    fleet.play_fails(
        "bad.yml",
        pull,
        &[],
        "value of pull must be one of: always, missing, never, policy",
    );
}

#[test]
fn docker_image_archives_an_image_once() {
    let Some(fleet) = fleet() else { return };
    let playbook = "- hosts: all\n  gather_facts: false\n  tasks:\n    - docker_image: {name: fixture/busybox:1, source: local, archive_path: /tmp/bt-archive.tar}\n";
    fleet.on_host(0, "rm -f /tmp/bt-archive.tar");
    converge(fleet, "archive.yml", playbook, &["--check"], 1);
    assert_eq!(fleet.on_host(0, "ls /tmp/bt-archive.tar 2>/dev/null"), "");
    converge(fleet, "archive.yml", playbook, &[], 1);
    let manifest = fleet.on_host(0, "tar -xOf /tmp/bt-archive.tar manifest.json");
    let id = fleet.on_host(0, "docker image inspect -f '{{.Id}}' fixture/busybox:1");
    assert!(
        manifest.contains(&format!("\"Config\":\"{}.json\"", &id[7..]))
            && manifest.contains("\"RepoTags\":[\"fixture/busybox:1\"]"),
        "{manifest}"
    );
    converge(fleet, "archive.yml", playbook, &[], 0);
}

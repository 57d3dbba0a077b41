//! `apt_key`, `apt_repository`, `deb822_repository`, `pip`, `git` and `unarchive` run
//! by the real binary over SSH against a Debian container with systemd as PID 1 (one
//! container, shared by the tests of this file). What the targets fetch they fetch from
//! this machine: a signed apt repository, wheels and archives built here by the test
//! and served over HTTP on 198.51.100.1 by a server the test starts and stops.

mod common;

use std::path::Path;
use std::process::Command;

use common::http::HttpServer;
use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, stderr, stdout};

/// The host side of the containers' bridge, where the test's HTTP server listens.
const HOST: &str = "198.51.100.1";

/// Runs `tasks` (YAML list items, indented by four) as a play.
fn tasks(fleet: &SystemdFleet, tasks: &str, extra: &[&str]) -> (i32, String) {
    fleet.play(
        "play.yml",
        &format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}"),
        extra,
    )
}

/// Asserts a run succeeded with `expected` changes.
fn assert_run(fleet: &SystemdFleet, (code, out): &(i32, String), expected: usize) {
    assert_eq!(*code, 0, "{out}");
    assert_eq!(
        fleet.changed(0, out),
        format!("changed={expected}"),
        "{out}"
    );
}

/// Asserts a run failed (exit 2) saying `needle`.
fn assert_fails(fleet: &SystemdFleet, play_tasks: &str, needle: &str) {
    let (code, out) = tasks(fleet, play_tasks, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(needle), "{needle:?} not in:\n{out}");
}

/// Runs a shell script on this machine, panicking with its output if it fails.
fn sh(script: &str, dir: &Path) -> String {
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "{script}\n{}{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output).trim().to_string()
}

/// The SHA-256 of a local file.
fn sha256(path: &Path) -> String {
    let dir = path.parent().expect("a parent");
    sh(
        &format!("sha256sum '{}' | cut -d' ' -f1", path.display()),
        dir,
    )
}

/// A flat apt repository (`./`) holding `bosun-hello` 1.0, signed with a throwaway
/// key: `key.asc` (armored) and `key.gpg` (binary) beside it, and the fingerprint.
fn signed_repository(served: &HttpServer) -> String {
    let root = &served.root();
    sh(
        r#"
export GNUPGHOME="$PWD/gnupg"; mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'bosun test repo <repo@bosun.invalid>' ed25519 sign never
gpg --batch --armor --export > key.asc
gpg --batch --export > key.gpg
mkdir -p pkg/DEBIAN pkg/usr/share/bosun-hello
printf 'Package: bosun-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: bosun <t@bosun.invalid>\nDescription: bosun test package\n' > pkg/DEBIAN/control
echo 'hello from the test repository' > pkg/usr/share/bosun-hello/hello.txt
dpkg-deb --root-owner-group --build pkg bosun-hello_1.0_all.deb >/dev/null
rm -rf pkg
dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null
{ echo 'Origin: bosun'; echo 'Label: bosun'; echo "Date: $(date -Ru)"; echo 'SHA256:';
  printf ' %s %s Packages\n' "$(sha256sum < Packages | cut -d' ' -f1)" "$(stat -c %s Packages)"; } > Release
gpg --batch --yes --clearsign -o InRelease Release
gpg --batch --yes -abs -o Release.gpg Release
"#,
        root,
    );
    sh(
        "GNUPGHOME=$PWD/gnupg gpg --batch --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}'",
        root,
    )
}

const HELLO: &str = "/usr/share/bosun-hello/hello.txt";

#[test]
fn apt_key_and_apt_repository_install_from_a_signed_repository() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let served = HttpServer::start(HOST);
    let fingerprint = signed_repository(&served);
    let key_id = &fingerprint[24..];
    let keyring = format!("/etc/apt/trusted.gpg.d/{key_id}.gpg");
    let repo = format!("deb http://{HOST}:{}/ ./", served.port());
    let list = format!(
        "/etc/apt/sources.list.d/{}_{}.list",
        HOST.replace('.', "_"),
        served.port()
    );
    let add = format!(
        "    - apt_key:\n        url: {}\n        id: {fingerprint}\n    - apt_repository:\n        repo: {repo}\n",
        served.url("/key.asc")
    );
    let _apt = fleet.apt_turn();

    assert_run(fleet, &tasks(fleet, &add, &["--check"]), 2);
    assert_eq!(
        fleet.on_host(0, &format!("ls {keyring} {list} 2>/dev/null | wc -l")),
        "0",
        "check mode wrote nothing"
    );

    let added = tasks(fleet, &add, &["--diff"]);
    assert_run(fleet, &added, 2);
    assert!(
        added.1.contains(&format!("+{repo}")),
        "the diff shows the new line: {}",
        added.1
    );
    assert_eq!(
        fleet.on_host(0, &format!("sha256sum < {keyring} | cut -d' ' -f1")),
        sha256(&served.root().join("key.gpg")),
        "the keyring holds the key, dearmored"
    );
    assert_eq!(
        fleet.on_host(0, &format!("stat -c %a {list}; cat {list}")),
        format!("644\n{repo}")
    );
    let install = "    - apt: name=bosun-hello\n";
    assert_run(fleet, &tasks(fleet, install, &[]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("cat {HELLO}")),
        "hello from the test repository",
        "installed from the signed repository"
    );
    assert_run(fleet, &tasks(fleet, &add, &[]), 0);

    // The same line already in sources.list counts as present.
    fleet.on_host(
        0,
        &format!("rm {list}; echo '{repo}' >> /etc/apt/sources.list"),
    );
    assert_run(fleet, &tasks(fleet, &add, &[]), 0);
    assert_eq!(fleet.on_host(0, &format!("ls {list} 2>&1 | wc -l")), "1");

    // A repository apt cannot fetch: the cache update fails and the change is undone.
    let broken = format!(
        "    - apt_repository:\n        repo: deb http://{HOST}:9/ ./\n        filename: bosun-broken\n        update_cache_retries: 1\n"
    );
    assert_fails(fleet, &broken, "Failed to update apt cache");
    assert_eq!(
        fleet.on_host(
            0,
            "ls /etc/apt/sources.list.d/bosun-broken.list 2>/dev/null | wc -l"
        ),
        "0",
        "the failed source was taken back"
    );
    assert_fails(
        fleet,
        &format!(
            "    - apt_key:\n        url: {}\n",
            served.url("/missing.asc")
        ),
        "failed to download",
    );

    let remove = format!(
        "    - apt: name=bosun-hello state=absent\n    - apt_repository:\n        repo: {repo}\n        state: absent\n        update_cache: false\n    - apt_key:\n        id: {key_id}\n        state: absent\n"
    );
    assert_run(fleet, &tasks(fleet, &remove, &["--check"]), 3);
    assert_eq!(fleet.on_host(0, &format!("ls {keyring} | wc -l")), "1");
    assert_run(fleet, &tasks(fleet, &remove, &[]), 3);
    assert_eq!(
        fleet.on_host(0, &format!(
                "ls {keyring} {HELLO} 2>/dev/null | wc -l; cat /etc/apt/sources.list 2>/dev/null | grep -c {}",
                served.port()
            )
        ),
        "0\n0"
    );
    assert_run(fleet, &tasks(fleet, &remove, &[]), 0);
}

#[test]
fn deb822_repository_writes_sources_and_key_then_apt_installs() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let served = HttpServer::start(HOST);
    signed_repository(&served);
    let uri = served.url("/");
    let add = format!(
        "    - deb822_repository:
        name: bosun-deb822
        types: deb
        uris: {uri}
        suites: ./
        signed_by: {}
        check_valid_until: false
      register: repo
    - assert:
        that:
          - repo.dest == '/etc/apt/sources.list.d/bosun-deb822.sources'
          - repo.key_filename == '/etc/apt/keyrings/bosun-deb822.asc'
",
        served.url("/key.asc")
    );
    let sources = "/etc/apt/sources.list.d/bosun-deb822.sources";
    let key = "/etc/apt/keyrings/bosun-deb822.asc";
    let _apt = fleet.apt_turn();

    assert_run(fleet, &tasks(fleet, &add, &["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("ls {sources} {key} 2>/dev/null | wc -l")),
        "0"
    );
    assert_run(fleet, &tasks(fleet, &add, &[]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("stat -c %a {sources}; cat {sources}")),
        format!(
            "644\nCheck-Valid-Until: no\nX-Repolib-Name: bosun-deb822\nSigned-By: {key}\nSuites: ./\nTypes: deb\nURIs: {uri}"
        ),
        "the fields in Ansible's order"
    );
    assert_eq!(
        fleet.on_host(0, &format!("sha256sum < {key} | cut -d' ' -f1")),
        sha256(&served.root().join("key.asc"))
    );
    let install = "    - apt: name=bosun-hello update_cache=true\n";
    assert_run(fleet, &tasks(fleet, install, &[]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("cat {HELLO}")),
        "hello from the test repository"
    );
    assert_run(fleet, &tasks(fleet, &add, &[]), 0);

    assert_fails(
        fleet,
        &format!(
            "    - deb822_repository:\n        name: bosun-nokey\n        uris: {uri}\n        suites: ./\n        signed_by: {}\n",
            served.url("/missing.asc")
        ),
        "Could not fetch signed_by key",
    );

    let remove = "    - apt: name=bosun-hello state=absent\n    - deb822_repository: name=bosun-deb822 state=absent\n";
    assert_run(fleet, &tasks(fleet, remove, &["--check"]), 2);
    assert_eq!(
        fleet.on_host(0, &format!("ls {sources} {key} | wc -l")),
        "2"
    );
    assert_run(fleet, &tasks(fleet, remove, &[]), 2);
    assert_eq!(
        fleet.on_host(0, &format!("ls {sources} {key} 2>/dev/null | wc -l")),
        "0"
    );
    assert_run(fleet, &tasks(fleet, remove, &[]), 0);
}

/// The usual Docker install snippet loads and passes the argument checks (it is not
/// run: the containers cannot reach download.docker.com), and a misspelt argument in it
/// is reported with its place before anything runs.
#[test]
fn docker_snippet_passes_argument_checks() {
    let snippet = r#"
- hosts: localhost
  gather_facts: false
  vars:
    ansible_distribution_release: bookworm
  tasks:
    - name: Docker's apt repository
      deb822_repository:
        name: docker
        types: deb
        uris: https://download.docker.com/linux/debian
        suites: "{{ ansible_distribution_release }}"
        components: stable
        signed_by: https://download.docker.com/linux/debian/gpg
        state: present
        enabled: true
      when: false
"#;
    let scratch = Scratch::new();
    scratch.write("docker.yml", snippet);
    let output = scratch.bosun(&["run", "docker.yml", "-c", "local"]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("skipping: [localhost]"),
        "{}",
        stdout(&output)
    );

    scratch.write("bad.yml", &snippet.replace("signed_by:", "signed_bye:"));
    let output = scratch.bosun(&["run", "bad.yml", "-c", "local"]);
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(4), "{text}");
    assert!(text.contains("bad.yml:"), "{text}");
    assert!(text.contains("signed_bye"), "{text}");
}

/// Two versions of a trivial pure-Python wheel, `bosun-hello` 1.0 and 2.0, in
/// `wheels/` of the served directory.
fn wheels(served: &HttpServer) {
    sh(
        r#"mkdir wheels && python3 - <<'PY'
import base64, hashlib, zipfile
def digest(data):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
for v in ['1.0', '2.0']:
    info = f'bosun_hello-{v}.dist-info'
    files = {
        'bosun_hello/__init__.py': f'VERSION = "{v}"\n',
        f'{info}/METADATA': f'Metadata-Version: 2.1\nName: bosun-hello\nVersion: {v}\n',
        f'{info}/WHEEL': 'Wheel-Version: 1.0\nGenerator: bosun-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    }
    record = []
    with zipfile.ZipFile(f'wheels/bosun_hello-{v}-py3-none-any.whl', 'w') as whl:
        for name, text in files.items():
            data = text.encode()
            whl.writestr(name, data)
            record.append(f'{name},{digest(data)},{len(data)}')
        record.append(f'{info}/RECORD,,')
        whl.writestr(f'{info}/RECORD', '\n'.join(record) + '\n')
PY"#,
        &served.root(),
    );
}

#[test]
fn pip_installs_upgrades_and_removes_in_a_virtualenv() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["python3-venv"]);
    let served = HttpServer::start(HOST);
    wheels(&served);
    let venv = "/opt/bosun-venv";
    // pip takes the index options for installs only (uninstall refuses them).
    let pip = |state: &str, name: &str| {
        let mut task = format!(
            "    - pip:\n        name: {name}\n        state: {state}\n        virtualenv: {venv}\n"
        );
        if state != "absent" {
            task.push_str(&format!(
                "        extra_args: --no-index --trusted-host {HOST} --find-links {}\n",
                served.url("/wheels/")
            ));
        }
        task
    };
    let version =
        format!("{venv}/bin/python -c 'import bosun_hello; print(bosun_hello.VERSION)' 2>&1");

    let first = pip("present", "bosun-hello==1.0");
    assert_run(fleet, &tasks(fleet, &first, &["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("ls -d {venv} 2>/dev/null | wc -l")),
        "0"
    );
    assert_run(fleet, &tasks(fleet, &first, &[]), 1);
    assert_eq!(fleet.on_host(0, &version), "1.0");
    assert_run(fleet, &tasks(fleet, &first, &[]), 0);
    assert_run(fleet, &tasks(fleet, &pip("present", "bosun_hello"), &[]), 0);

    let latest = pip("latest", "bosun-hello");
    assert_run(fleet, &tasks(fleet, &latest, &[]), 1);
    assert_eq!(fleet.on_host(0, &version), "2.0");
    assert_run(fleet, &tasks(fleet, &latest, &[]), 0);

    let pinned = pip("present", "[bosun-hello<2]");
    assert_run(fleet, &tasks(fleet, &pinned, &["--check"]), 1);
    assert_eq!(fleet.on_host(0, &version), "2.0", "check mode kept 2.0");
    assert_run(fleet, &tasks(fleet, &pinned, &[]), 1);
    assert_eq!(fleet.on_host(0, &version), "1.0");

    fleet.on_host(0, "echo 'bosun-hello==2.0' > /opt/bosun-requirements.txt");
    let requirements = format!(
        "    - pip:\n        requirements: /opt/bosun-requirements.txt\n        virtualenv: {venv}\n        extra_args: --no-index --trusted-host {HOST} --find-links {}\n",
        served.url("/wheels/")
    );
    assert_run(fleet, &tasks(fleet, &requirements, &[]), 1);
    assert_eq!(fleet.on_host(0, &version), "2.0");
    assert_run(fleet, &tasks(fleet, &requirements, &[]), 0);

    let absent = pip("absent", "bosun-hello");
    assert_run(fleet, &tasks(fleet, &absent, &["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, &version),
        "2.0",
        "check mode removed nothing"
    );
    assert_run(fleet, &tasks(fleet, &absent, &[]), 1);
    assert!(
        fleet.on_host(0, &version).contains("No module named"),
        "removed"
    );
    assert_run(fleet, &tasks(fleet, &absent, &[]), 0);

    assert_fails(
        fleet,
        &pip("present", "bosun-no-such-wheel"),
        "No matching distribution",
    );
}

#[test]
fn git_clones_switches_versions_and_guards_local_changes() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["git"]);
    let src = "/srv/bosun-git-src";
    let dest = "/srv/bosun-git-checkout";
    let shas = fleet.on_host(
        0,
        &format!(
            "set -e; rm -rf {src} {dest}; git init -q -b main {src}; cd {src}; \
             git config user.email t@bosun.invalid; git config user.name bosun; \
             echo one > f; git add f; git commit -qm one; git tag -a v1 -m v1; git rev-parse HEAD; \
             echo two > f; git commit -qam two; git rev-parse HEAD"
        ),
    );
    let shas: Vec<&str> = shas.lines().collect();
    assert_eq!(shas.len(), 2, "{shas:?}");
    let git = |version: &str, extra: &str| {
        format!(
            "    - git:\n        repo: file://{src}\n        dest: {dest}\n        version: {version}\n{extra}      register: g\n    - debug: var=g\n"
        )
    };
    let content = format!("cat {dest}/f 2>&1");

    let tag = git("v1", "");
    assert_run(fleet, &tasks(fleet, &tag, &["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("ls -d {dest} 2>/dev/null | wc -l")),
        "0"
    );
    assert_run(fleet, &tasks(fleet, &tag, &[]), 1);
    assert_eq!(fleet.on_host(0, &content), "one");
    assert_run(fleet, &tasks(fleet, &tag, &[]), 0);

    let main = git("main", "");
    assert_run(fleet, &tasks(fleet, &main, &["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, &content),
        "one",
        "check mode left the checkout"
    );
    let (code, out) = tasks(fleet, &main, &[]);
    assert_run(fleet, &(code, out.clone()), 1);
    assert!(
        out.contains(&format!("\"before\": \"{}\"", shas[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("\"after\": \"{}\"", shas[1])),
        "{out}"
    );
    assert_eq!(fleet.on_host(0, &content), "two");
    assert_run(fleet, &tasks(fleet, &main, &[]), 0);

    fleet.on_host(0, &format!("echo local > {dest}/f"));
    assert_fails(fleet, &main, "Local modifications exist in the destination");
    assert_eq!(
        fleet.on_host(0, &content),
        "local",
        "nothing was overwritten"
    );
    assert_run(
        fleet,
        &tasks(fleet, &git("main", "        force: true\n"), &[]),
        1,
    );
    assert_eq!(fleet.on_host(0, &content), "two");

    let sha = git(shas[0], "");
    assert_run(fleet, &tasks(fleet, &sha, &[]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("git -C {dest} rev-parse HEAD")),
        shas[0]
    );
    assert_run(fleet, &tasks(fleet, &sha, &[]), 0);

    assert_fails(
        fleet,
        &git("no-such-version", ""),
        "Cannot find version no-such-version",
    );
}

#[test]
fn unarchive_unpacks_tar_and_zip_once() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["unzip"]);
    let scratch = Scratch::new();
    sh(
        "mkdir -p site/sub && echo '<h1>hi</h1>' > site/index.html && echo a > site/sub/a.txt \
         && tar -czf site.tar.gz site && zip -qr site.zip site && echo not an archive > plain.txt",
        scratch.path(),
    );
    let dest = "/srv/bosun-untar";
    let tgz = scratch.path().join("site.tar.gz");
    let untar = format!(
        "    - unarchive:\n        src: {}\n        dest: {dest}\n        mode: '0750'\n        list_files: true\n      register: u\n    - assert:\n        that: u.files | sort == ['site/', 'site/index.html', 'site/sub/', 'site/sub/a.txt']\n",
        tgz.display()
    );
    let listing =
        format!("cd {dest} 2>/dev/null && find . -type f | sort | xargs -r stat -c '%n %a %s'");
    let _ = fleet.on_host(
        0,
        &format!("rm -rf {dest} /srv/bosun-unzip; mkdir {dest} /srv/bosun-unzip"),
    );

    assert_run(fleet, &tasks(fleet, &untar, &["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, &listing),
        "",
        "check mode unpacked nothing"
    );
    assert_run(fleet, &tasks(fleet, &untar, &[]), 1);
    assert_eq!(
        fleet.on_host(0, &listing),
        "./site/index.html 750 12\n./site/sub/a.txt 750 2"
    );
    assert_run(fleet, &tasks(fleet, &untar, &[]), 0);
    fleet.on_host(0, &format!("echo changed > {dest}/site/index.html"));
    assert_run(fleet, &tasks(fleet, &untar, &[]), 1);
    assert_eq!(
        fleet.on_host(0, &format!("cat {dest}/site/index.html")),
        "<h1>hi</h1>"
    );

    let creates = format!(
        "    - unarchive:\n        src: {}\n        dest: /nonexistent\n        creates: {dest}/site\n",
        tgz.display()
    );
    assert_run(fleet, &tasks(fleet, &creates, &[]), 0);

    let copied = format!(
        "    - copy: src={} dest=/srv/site.zip\n",
        scratch.path().join("site.zip").display()
    );
    assert_run(fleet, &tasks(fleet, &copied, &[]), 1);
    let zip = "    - unarchive:\n        src: /srv/site.zip\n        dest: /srv/bosun-unzip\n        remote_src: true\n        exclude: ['site/sub/*']\n";
    let unzipped = "cd /srv/bosun-unzip 2>/dev/null && find . -type f | sort";
    assert_run(fleet, &tasks(fleet, zip, &["--check"]), 1);
    assert_eq!(
        fleet.on_host(0, unzipped),
        "",
        "check mode unpacked nothing"
    );
    assert_run(fleet, &tasks(fleet, zip, &[]), 1);
    assert_eq!(
        fleet.on_host(0, unzipped),
        "./site/index.html",
        "excluded site/sub"
    );
    assert_run(fleet, &tasks(fleet, zip, &[]), 0);

    assert_fails(
        fleet,
        &format!(
            "    - unarchive:\n        src: {}\n        dest: /srv/bosun-no-such-dir\n",
            tgz.display()
        ),
        "is not a directory",
    );
    assert_fails(
        fleet,
        &format!(
            "    - unarchive:\n        src: {}\n        dest: {dest}\n",
            scratch.path().join("plain.txt").display()
        ),
        "Failed to find handler",
    );
}

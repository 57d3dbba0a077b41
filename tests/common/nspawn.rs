//! Debian 12 containers with systemd as PID 1 for integration tests ([`SystemdFleet`]),
//! booted by `vagrant/nspawn-hosts.sh` and powered off when dropped, also when the
//! test fails. Each has the distribution's sshd, real `systemctl` and real `apt-get`
//! (the Debian mirrors through NAT).
//!
//! Like the namespace hosts of [`super::ssh`], a fleet comes with a fresh client
//! identity: run bosun with `HOME` set to [`SystemdFleet::home`]. Where the kernel or
//! the permissions refuse containers, [`SystemdFleet::up`] returns a [`Skip`];
//! anything else fails loudly:
//!
//! ```ignore
//! let Some(fleet) = or_skip(SystemdFleet::up(2)) else { return };
//! let Some(fleet) = or_skip(SystemdFleet::shared()) else { return };
//! ```
//!
//! [`SystemdFleet::up_docker`] and [`SystemdFleet::shared_docker`] boot containers that
//! can run Docker (`DOCKER=1` of the script); Docker itself is not installed in them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use super::ssh::{
    Client, Indices, Reservation, Skip, Target, namespaces_available, numbered_targets, require,
    require_root, run_script, stop_quietly, temp_dir,
};

/// The containers `vagrant/nspawn-hosts.sh` makes: `c1` to `c154` (198.51.100.254).
const CONTAINERS: Indices = Indices {
    prefix: "c",
    max: 154,
};

/// The fleet of [`SystemdFleet::shared`], powered off when the test binary exits.
static SHARED: OnceLock<Result<SystemdFleet, String>> = OnceLock::new();

/// The fleet of [`SystemdFleet::shared_docker`], powered off when the test binary exits.
static SHARED_DOCKER: OnceLock<Result<SystemdFleet, String>> = OnceLock::new();

/// Containers `c<k>` at 198.51.100.(100+k), each booted with systemd as PID 1 and
/// sshd on port 22, on a fresh overlay of the cached base rootfs; powered off and
/// removed on drop. Concurrent fleets get disjoint indices.
pub struct SystemdFleet {
    client: Client,
    base: PathBuf,
    first: usize,
    hosts: Vec<Target>,
    stopped: AtomicBool,
    _reservation: Reservation,
    dir: tempfile::TempDir,
}

impl SystemdFleet {
    /// Boots `n` containers (building the base rootfs first if it is missing: about
    /// 90 s, once per machine) and waits until every sshd answers.
    pub fn up(n: usize) -> Result<SystemdFleet, Skip> {
        SystemdFleet::boot(n, false)
    }

    /// Boots `n` containers that can run Docker: systemd-nspawn's flags for it and an
    /// empty `/var/lib/docker` of their own (the playbook installs Docker).
    pub fn up_docker(n: usize) -> Result<SystemdFleet, Skip> {
        SystemdFleet::boot(n, true)
    }

    fn boot(n: usize, docker: bool) -> Result<SystemdFleet, Skip> {
        assert!(
            (1..=CONTAINERS.max).contains(&n),
            "a fleet has 1 to {} containers, not {n}",
            CONTAINERS.max
        );
        require_root("systemd-nspawn containers")?;
        require(&[
            "systemd-nspawn",
            "debootstrap",
            "iptables",
            "ip",
            "ssh",
            "ssh-keygen",
            "flock",
            "setsid",
            "timeout",
        ])?;
        namespaces_available()?;
        overlay_available()?;
        let reservation = Reservation::take(&CONTAINERS, n);
        let dir = temp_dir("bosun-nspawn-");
        let client = Client::new(&dir.path().join("home"));
        let first = reservation.first;
        let hosts = numbered_targets("c", first, n, 100);
        // Built before the script runs, so that dropping it (on a panic too) cleans up.
        let fleet = SystemdFleet {
            client,
            base: dir.path().join("base"),
            first,
            hosts,
            stopped: AtomicBool::new(false),
            _reservation: reservation,
            dir,
        };
        let owner = std::process::id().to_string();
        run_script(
            "nspawn-hosts.sh",
            &["up", &n.to_string()],
            &[
                ("BASE", fleet.base.as_os_str()),
                ("FIRST", first.to_string().as_ref()),
                ("KEY", fleet.client.public_key().as_os_str()),
                ("OWNER_PID", owner.as_ref()),
                ("DOCKER", if docker { "1" } else { "0" }.as_ref()),
            ],
        );
        fleet
            .client
            .add_known_hosts(&fleet.base.join("known_hosts"));
        Ok(fleet)
    }

    /// One container shared by every test of this test binary that asks for it: booted
    /// by the first, powered off when the binary exits. Tests using it must not get in
    /// each other's way (distinct packages, units and paths).
    pub fn shared() -> Result<&'static SystemdFleet, Skip> {
        SystemdFleet::shared_in(&SHARED, false, stop_shared)
    }

    /// Like [`SystemdFleet::shared`], one Docker-capable container
    /// ([`SystemdFleet::up_docker`]).
    pub fn shared_docker() -> Result<&'static SystemdFleet, Skip> {
        SystemdFleet::shared_in(&SHARED_DOCKER, true, stop_shared_docker)
    }

    fn shared_in(
        cell: &'static OnceLock<Result<SystemdFleet, String>>,
        docker: bool,
        stop: extern "C" fn(),
    ) -> Result<&'static SystemdFleet, Skip> {
        cell.get_or_init(|| {
            let fleet = SystemdFleet::boot(1, docker).map_err(|skip| skip.0)?;
            // SAFETY: registers a plain function; it runs once, at exit.
            unsafe { libc::atexit(stop) };
            Ok(fleet)
        })
        .as_ref()
        .map_err(|reason| Skip(reason.clone()))
    }

    /// The containers, in order; other methods take an index into this slice.
    pub fn hosts(&self) -> &[Target] {
        &self.hosts
    }

    /// An INI inventory of the containers (`c1 ansible_host=198.51.100.101
    /// ansible_user=root ansible_ssh_private_key_file=...`), plus
    /// `ansible_ssh_common_args` naming the known_hosts file.
    pub fn inventory(&self) -> String {
        fs::read_to_string(self.base.join("inventory.ini"))
            .expect("nspawn-hosts.sh wrote inventory.ini")
    }

    /// A HOME for the client: `.ssh/id_ed25519` and `.ssh/known_hosts` (with every
    /// container's address) are there.
    pub fn home(&self) -> &Path {
        self.client.home()
    }

    /// The client's private key (authorized for root in every container).
    pub fn key_path(&self) -> PathBuf {
        self.client.key_path()
    }

    /// Runs `command` in container `i` with the system `ssh` client as root.
    pub fn ssh(&self, i: usize, command: &str) -> Output {
        self.client.ssh(&self.hosts[i], command)
    }

    /// Runs `playbook` (written as `name` in a fresh scratch directory) against every
    /// container with `extra` arguments: bosun's exit code and everything it printed.
    pub fn play(&self, name: &str, playbook: &str, extra: &[&str]) -> (i32, String) {
        let scratch = super::Scratch::new();
        scratch.write("hosts.ini", &self.inventory());
        scratch.write(name, playbook);
        let mut args = vec!["run", name, "-i", "hosts.ini"];
        args.extend_from_slice(extra);
        let output = scratch.bosun_with(&args, &[("HOME", self.home())]);
        let text = format!("{}{}", super::stdout(&output), super::stderr(&output));
        (output.status.code().unwrap_or(-1), text)
    }

    /// Runs `playbook` under ansible-playbook (from `ansible_bin`), then under bosun,
    /// against every container, each with `out=<scratch>/<tool>` for the playbook to
    /// write what it registered to; `reset` runs before each tool and `effects` after.
    /// Each tool's written results and effects, Ansible's first.
    pub fn ansible_then_bosun(
        &self,
        ansible_bin: &Path,
        playbook: &str,
        reset: impl Fn(),
        effects: impl Fn() -> String,
    ) -> [(String, String); 2] {
        let scratch = super::Scratch::new();
        scratch.write("hosts.ini", &self.inventory());
        scratch.write("ways.yml", playbook);
        ["ansible", "bosun"].map(|tool| {
            reset();
            let out = format!("out={}", scratch.path().join(tool).display());
            let args = ["ways.yml", "-i", "hosts.ini", "-e", out.as_str()];
            let ran = match tool {
                "ansible" => Command::new(ansible_bin.join("ansible-playbook"))
                    .current_dir(scratch.path())
                    .env("HOME", self.home())
                    .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
                    .args(args)
                    .output()
                    .expect("ansible-playbook runs"),
                _ => scratch.bosun_with(&[&["run"][..], &args].concat(), &[("HOME", self.home())]),
            };
            assert!(ran.status.success(), "{tool}: {}", super::stdout(&ran));
            (scratch.read(tool), effects())
        })
    }

    /// A turn at apt: the tests of one binary that install packages on a shared
    /// container take turns, since apt holds one lock per host.
    pub fn apt_turn(&self) -> MutexGuard<'static, ()> {
        static APT: Mutex<()> = Mutex::new(());
        APT.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs Debian packages in every container with bosun's `apt` module (lists
    /// updated when older than an hour), asserting success.
    pub fn apt_install(&self, packages: &[&str]) {
        let _turn = self.apt_turn();
        let playbook = format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - apt:\n        name: [{}]\n        update_cache: true\n        cache_valid_time: 3600\n",
            packages.join(", ")
        );
        let (code, out) = self.play("install.yml", &playbook, &[]);
        assert_eq!(code, 0, "{out}");
    }

    /// Runs `playbook` like [`SystemdFleet::play`], expecting it to succeed with
    /// `changed=<changed>` on the first container; returns the output.
    pub fn play_expecting(
        &self,
        name: &str,
        playbook: &str,
        extra: &[&str],
        changed: usize,
    ) -> String {
        let (code, out) = self.play(name, playbook, extra);
        assert_eq!(code, 0, "{out}");
        assert_eq!(self.changed(0, &out), format!("changed={changed}"), "{out}");
        out
    }

    /// Runs `playbook` like [`SystemdFleet::play`], expecting it to fail (exit 2)
    /// saying `message`; returns the output.
    pub fn play_fails(&self, name: &str, playbook: &str, extra: &[&str], message: &str) -> String {
        let (code, out) = self.play(name, playbook, extra);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains(message), "expected {message:?} in:\n{out}");
        out
    }

    /// The `changed=N` word of container `i`'s PLAY RECAP line in `output`.
    pub fn changed(&self, i: usize, output: &str) -> String {
        super::recap_line(output, &self.hosts[i].name)
            .split_whitespace()
            .find(|word| word.starts_with("changed="))
            .unwrap_or_default()
            .to_string()
    }

    /// What `command` prints in container `i` (standard output, trimmed).
    pub fn on_host(&self, i: usize, command: &str) -> String {
        super::stdout(&self.ssh(i, command)).trim().to_string()
    }

    /// What container `i` printed on its console so far (the boot messages).
    pub fn console(&self, i: usize) -> String {
        fs::read_to_string(self.base.join(&self.hosts[i].name).join("console.log"))
            .unwrap_or_default()
    }

    /// Powers the containers off and removes them and the client's files, once.
    fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let first = self.first.to_string();
        stop_quietly(
            "nspawn-hosts.sh",
            &["down", &self.hosts.len().to_string()],
            &[("BASE", self.base.as_os_str()), ("FIRST", first.as_ref())],
        );
        let _ = fs::remove_dir_all(self.dir.path());
    }
}

impl Drop for SystemdFleet {
    fn drop(&mut self) {
        self.stop();
    }
}

extern "C" fn stop_shared() {
    if let Some(Ok(fleet)) = SHARED.get() {
        fleet.stop();
    }
}

extern "C" fn stop_shared_docker() {
    if let Some(Ok(fleet)) = SHARED_DOCKER.get() {
        fleet.stop();
    }
}

/// Whether this kernel lets us mount overlayfs (each container's root is one): tried
/// once, in a throwaway mount namespace.
fn overlay_available() -> Result<(), Skip> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let dir = temp_dir("bosun-overlay-probe-");
            let parts = ["lower", "upper", "work", "merged"].map(|part| dir.path().join(part));
            for part in &parts {
                fs::create_dir(part).map_err(|e| format!("create {}: {e}", part.display()))?;
            }
            let output = Command::new("unshare")
                .args(["--mount", "sh", "-c"])
                .arg(r#"mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4""#)
                .arg("sh")
                .args(&parts)
                .output()
                .map_err(|e| format!("overlayfs cannot be tried: unshare: {e}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "this kernel refuses overlayfs mounts, which containers need: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ))
            }
        })
        .clone()
        .map_err(Skip)
}

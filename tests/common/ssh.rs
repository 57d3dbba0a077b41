//! Real SSH targets for integration tests: one sshd on 127.0.0.1 ([`LoopbackSshd`]) or
//! a fleet of network-namespace hosts ([`NetnsFleet`]), started by the scripts in
//! `vagrant/` and stopped when dropped, also when the test fails.
//!
//! Each comes with a fresh client identity: a HOME whose `.ssh/id_ed25519` is the
//! authorized key and whose `.ssh/known_hosts` holds the targets' host keys. Run bosun
//! with `HOME` set to [`LoopbackSshd::home`] or [`NetnsFleet::home`] and both resolve.
//!
//! Where this machine cannot run targets at all (no namespaces, sshd missing and not
//! installable), the constructors return a [`Skip`]; anything else fails loudly:
//!
//! ```ignore
//! let Some(fleet) = or_skip(NetnsFleet::up(3)) else { return };
//! ```

use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The namespace hosts `vagrant/netns-hosts.sh` makes: `h1` to `h89` (198.51.100.99).
const NETNS_HOSTS: Indices = Indices {
    prefix: "h",
    max: 89,
};
/// Directory of the per-index lock files that keep concurrent fleets apart.
const LOCK_DIR: &str = "/var/tmp/bosun-hosts.locks";
/// How long a fleet waits for free indices while other fleets hold them.
const WAIT: Duration = Duration::from_secs(600);
/// How long a started sshd may take to accept TCP connections.
const PORT_WAIT: Duration = Duration::from_secs(60);

/// Why SSH targets cannot run on this machine; tests print it and return.
#[derive(Debug)]
pub struct Skip(pub(crate) String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The targets, or `None` after printing why they cannot run here. The reason goes
/// straight to stderr, so it shows even when the test harness captures output.
pub fn or_skip<T>(targets: Result<T, Skip>) -> Option<T> {
    match targets {
        Ok(targets) => Some(targets),
        Err(skip) => {
            let _ = writeln!(std::io::stderr(), "SKIPPED: {skip}");
            None
        }
    }
}

/// One SSH target as a test addresses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Inventory name; for namespace hosts also the hostname (`h1`, `h2`, ...).
    pub name: String,
    /// The address sshd listens on.
    pub addr: Ipv4Addr,
    /// The port sshd listens on.
    pub port: u16,
}

/// An sshd on 127.0.0.1 on a free port, logging in as root; stopped on drop.
pub struct LoopbackSshd {
    client: Client,
    sshd_dir: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl LoopbackSshd {
    /// Starts the sshd with a fresh client identity and waits until it accepts TCP.
    pub fn start() -> Result<LoopbackSshd, Skip> {
        LoopbackSshd::start_with("100:30:200")
    }

    /// Like [`LoopbackSshd::start`], with sshd's `MaxStartups` set to `max_startups`
    /// (`start:rate:full`), to test bursts of connections.
    pub fn start_with(max_startups: &str) -> Result<LoopbackSshd, Skip> {
        LoopbackSshd::start_configured(&[("MAX_STARTUPS", max_startups)])
    }

    /// Like [`LoopbackSshd::start`], with password authentication on: root still logs
    /// in by key only, and the log shows every password offered (`Failed password`).
    pub fn start_taking_passwords() -> Result<LoopbackSshd, Skip> {
        LoopbackSshd::start_configured(&[("PASSWORD_AUTH", "yes")])
    }

    /// Starts the sshd with `settings` passed to loopback-sshd.sh's environment.
    fn start_configured(settings: &[(&str, &str)]) -> Result<LoopbackSshd, Skip> {
        require_root("sshd targets logging in as root")?;
        require(&["/usr/sbin/sshd", "ssh", "ssh-keygen", "ss", "ps"])?;
        let dir = temp_dir("bosun-loopback-");
        let client = Client::new(&dir.path().join("home"));
        let sshd_dir = dir.path().join("sshd");
        let key = client.public_key();
        let mut env = vec![("KEY", key.as_os_str())];
        env.extend(
            settings
                .iter()
                .map(|(key, value)| (*key, std::ffi::OsStr::new(*value))),
        );
        let output = run_script("loopback-sshd.sh", &["start", path_str(&sshd_dir)], &env);
        let printed = stdout_text(&output);
        // Built before checking the port, so that dropping it stops the sshd.
        let sshd = LoopbackSshd {
            client,
            sshd_dir,
            port: printed.trim().parse().unwrap_or(0),
            _dir: dir,
        };
        assert_ne!(sshd.port, 0, "loopback-sshd.sh printed no port: {printed}");
        sshd.client
            .add_known_hosts(&sshd.sshd_dir.join("known_hosts"));
        wait_for_port(&sshd.target(), || sshd.log());
        Ok(sshd)
    }

    /// The port sshd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// This sshd as a target named `loopback`.
    pub fn target(&self) -> Target {
        Target {
            name: "loopback".into(),
            addr: Ipv4Addr::LOCALHOST,
            port: self.port,
        }
    }

    /// A HOME for the client: `.ssh/id_ed25519` and `.ssh/known_hosts` (with
    /// `[127.0.0.1]:PORT`) are there.
    pub fn home(&self) -> &Path {
        self.client.home()
    }

    /// The client's private key (authorized for root).
    pub fn key_path(&self) -> PathBuf {
        self.client.key_path()
    }

    /// The client's known_hosts file, holding this sshd's host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.client.known_hosts()
    }

    /// What sshd logged so far (`LogLevel VERBOSE`: logins name the key fingerprint).
    pub fn log(&self) -> String {
        fs::read_to_string(self.sshd_dir.join("sshd.log")).unwrap_or_default()
    }

    /// An INI inventory line for this sshd under `name`.
    pub fn inventory_line(&self, name: &str) -> String {
        format!(
            "{name} ansible_host=127.0.0.1 ansible_port={} ansible_user=root ansible_ssh_private_key_file={}",
            self.port,
            self.key_path().display()
        )
    }

    /// Runs `command` here with the system `ssh` client and the client identity.
    pub fn ssh(&self, command: &str) -> Output {
        self.client.ssh(&self.target(), command)
    }
}

impl Drop for LoopbackSshd {
    fn drop(&mut self) {
        stop_quietly("loopback-sshd.sh", &["stop", path_str(&self.sshd_dir)], &[]);
    }
}

/// Namespace hosts `h<k>` at 198.51.100.(10+k), each with its own sshd on port 22,
/// hostname, /root, /tmp and /srv; removed on drop. Concurrent fleets (threads of one
/// test binary, or other test runs) get disjoint indices, so `h1` is only the first
/// host's name when no other fleet runs.
pub struct NetnsFleet {
    client: Client,
    base: PathBuf,
    first: usize,
    hosts: Vec<Target>,
    _reservation: Reservation,
    _dir: tempfile::TempDir,
}

impl NetnsFleet {
    /// Starts `n` hosts and waits until each accepts TCP on port 22.
    pub fn up(n: usize) -> Result<NetnsFleet, Skip> {
        assert!(
            (1..=NETNS_HOSTS.max).contains(&n),
            "a fleet has 1 to {} hosts, not {n}",
            NETNS_HOSTS.max
        );
        require_root("network namespace hosts")?;
        require(&[
            "/usr/sbin/sshd",
            "ssh",
            "ssh-keygen",
            "ip",
            "unshare",
            "flock",
        ])?;
        namespaces_available()?;
        let reservation = Reservation::take(&NETNS_HOSTS, n);
        let dir = temp_dir("bosun-fleet-");
        let client = Client::new(&dir.path().join("home"));
        let first = reservation.first;
        let hosts = numbered_targets("h", first, n, 10);
        // Built before `up` runs, so that a failure part way still tears down.
        let fleet = NetnsFleet {
            client,
            base: dir.path().join("base"),
            first,
            hosts,
            _reservation: reservation,
            _dir: dir,
        };
        let owner = std::process::id().to_string();
        run_script(
            "netns-hosts.sh",
            &["up", &n.to_string()],
            &[
                ("BASE", fleet.base.as_os_str()),
                ("FIRST", first.to_string().as_ref()),
                ("KEY", fleet.client.public_key().as_os_str()),
                ("OWNER_PID", owner.as_ref()),
            ],
        );
        fleet
            .client
            .add_known_hosts(&fleet.base.join("known_hosts"));
        for (i, host) in fleet.hosts.iter().enumerate() {
            wait_for_port(host, || fleet.log(i));
        }
        Ok(fleet)
    }

    /// The hosts, in order; other methods take an index into this slice.
    pub fn hosts(&self) -> &[Target] {
        &self.hosts
    }

    /// An INI inventory of the hosts (`h1 ansible_host=198.51.100.11 ansible_user=root
    /// ansible_ssh_private_key_file=...`), plus `ansible_ssh_common_args` naming the
    /// known_hosts file for ansible itself.
    pub fn inventory(&self) -> String {
        fs::read_to_string(self.base.join("inventory.ini"))
            .expect("netns-hosts.sh wrote inventory.ini")
    }

    /// A HOME for the client: `.ssh/id_ed25519` and `.ssh/known_hosts` (with every
    /// host's address) are there.
    pub fn home(&self) -> &Path {
        self.client.home()
    }

    /// The client's private key (authorized for root on every host).
    pub fn key_path(&self) -> PathBuf {
        self.client.key_path()
    }

    /// The client's known_hosts file, holding every host's key.
    pub fn known_hosts(&self) -> PathBuf {
        self.client.known_hosts()
    }

    /// What host `i`'s sshd logged so far (logins name the key fingerprint).
    pub fn log(&self, i: usize) -> String {
        fs::read_to_string(self.host_dir(i).join("sshd.log")).unwrap_or_default()
    }

    /// Kills host `i` as if it died: its sshd and every session in it (SIGKILL, by
    /// PID). Open connections to it close; new ones are refused.
    pub fn kill_host(&self, i: usize) {
        let name = &self.hosts[i].name;
        let pid = fs::read_to_string(self.host_dir(i).join("sshd.pid"))
            .unwrap_or_else(|e| panic!("{name} has no sshd pidfile: {e}"));
        kill(pid.trim());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = command_output(Command::new("ip").args(["netns", "pids", name]));
            let pids: Vec<&str> = pids.split_whitespace().collect();
            if pids.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "processes {pids:?} in {name} survive SIGKILL"
            );
            pids.iter().for_each(|pid| kill(pid));
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Cuts host `i`'s link without a word: its bridge-side veth goes down, so packets
    /// to and from it vanish (no reset, no ICMP), as when a cable or a VM dies.
    pub fn cut_link(&self, i: usize) {
        let veth = format!("v{}", self.hosts[i].name);
        let status = Command::new("ip")
            .args(["link", "set", &veth, "down"])
            .status()
            .expect("ip link");
        assert!(status.success(), "cannot set {veth} down");
    }

    /// Runs `command` on host `i` with the system `ssh` client and the client identity.
    pub fn ssh(&self, i: usize, command: &str) -> Output {
        self.client.ssh(&self.hosts[i], command)
    }

    /// Runs `command` on host `i` like [`NetnsFleet::ssh`], `input` on its stdin.
    pub fn ssh_fed(&self, i: usize, command: &str, input: &[u8]) -> Output {
        self.client.ssh_fed(&self.hosts[i], command, input)
    }

    fn host_dir(&self, i: usize) -> PathBuf {
        self.base.join(&self.hosts[i].name)
    }
}

impl Drop for NetnsFleet {
    fn drop(&mut self) {
        let first = self.first.to_string();
        stop_quietly(
            "netns-hosts.sh",
            &["down", &self.hosts.len().to_string()],
            &[("BASE", self.base.as_os_str()), ("FIRST", first.as_ref())],
        );
    }
}

/// A client identity: an ed25519 key pair and known hosts in `HOME/.ssh/`.
pub(crate) struct Client {
    home: PathBuf,
}

impl Client {
    /// A fresh key pair in `home/.ssh/`.
    pub(crate) fn new(home: &Path) -> Client {
        let ssh_dir = home.join(".ssh");
        fs::create_dir_all(&ssh_dir).expect("create the client's .ssh directory");
        fs::set_permissions(&ssh_dir, fs::Permissions::from_mode(0o700))
            .expect("make the client's .ssh directory private");
        let client = Client { home: home.into() };
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "bosun-test", "-f"])
            .arg(client.key_path()));
        client
    }

    pub(crate) fn home(&self) -> &Path {
        &self.home
    }

    pub(crate) fn key_path(&self) -> PathBuf {
        self.home.join(".ssh/id_ed25519")
    }

    pub(crate) fn public_key(&self) -> PathBuf {
        self.home.join(".ssh/id_ed25519.pub")
    }

    pub(crate) fn known_hosts(&self) -> PathBuf {
        self.home.join(".ssh/known_hosts")
    }

    pub(crate) fn add_known_hosts(&self, from: &Path) {
        let lines = fs::read_to_string(from)
            .unwrap_or_else(|e| panic!("no known_hosts at {}: {e}", from.display()));
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.known_hosts())
            .expect("open the client's known_hosts");
        file.write_all(lines.as_bytes())
            .expect("write the client's known_hosts");
    }

    /// OpenSSH ignores HOME (it reads the passwd entry), so everything is explicit.
    pub(crate) fn ssh(&self, target: &Target, command: &str) -> Output {
        self.ssh_fed(target, command, &[])
    }

    /// Runs `command` like [`Client::ssh`] with `input` as its standard input.
    pub(crate) fn ssh_fed(&self, target: &Target, command: &str, input: &[u8]) -> Output {
        let mut child = Command::new("ssh")
            .args([
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10"])
            .args(["-o", "GlobalKnownHostsFile=/dev/null"])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts().display()
            ))
            .arg("-i")
            .arg(self.key_path())
            .args(["-p", &target.port.to_string()])
            .arg(format!("root@{}", target.addr))
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ssh");
        let mut stdin = child.stdin.take().expect("ssh's stdin");
        stdin.write_all(input).expect("feed ssh");
        drop(stdin);
        child.wait_with_output().expect("ssh ends")
    }
}

/// A family of numbered targets a `vagrant/` script makes: `<prefix><k>` for k in
/// `1..=max`, recorded in `/run/bosun-hosts/<prefix><k>` with its BASE and owner.
pub(crate) struct Indices {
    /// `h` for namespace hosts, `c` for containers.
    pub(crate) prefix: &'static str,
    /// The highest index the script hands out.
    pub(crate) max: usize,
}

/// Indices `first+1..=first+n` of one family, reserved by holding the lock file of
/// each (`LOCK_DIR/<prefix><k>`) until dropped; the kernel releases them if the
/// process dies.
pub(crate) struct Reservation {
    /// The index before the first reserved one.
    pub(crate) first: usize,
    _locks: Vec<File>,
}

impl Reservation {
    /// Takes the lowest free range of `n` indices, waiting while none is free.
    pub(crate) fn take(family: &Indices, n: usize) -> Reservation {
        fs::create_dir_all(LOCK_DIR).unwrap_or_else(|e| panic!("create {LOCK_DIR}: {e}"));
        let deadline = Instant::now() + WAIT;
        let max = family.max;
        let prefix = family.prefix;
        loop {
            let mut first = 0;
            'range: while first + n <= max {
                let mut locks = Vec::with_capacity(n);
                for k in first + 1..=first + n {
                    match try_lock(prefix, k) {
                        Some(lock) if !foreign_host(prefix, k) => locks.push(lock),
                        _ => {
                            first = k;
                            continue 'range;
                        }
                    }
                }
                return Reservation {
                    first,
                    _locks: locks,
                };
            }
            assert!(
                Instant::now() < deadline,
                "no {n} free indices {prefix}1..={prefix}{max} for {WAIT:?}: see `status` of the vagrant/ scripts"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The lock of index `<prefix><k>`, if no one else holds it.
fn try_lock(prefix: &str, k: usize) -> Option<File> {
    let path = Path::new(LOCK_DIR).join(format!("{prefix}{k}"));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    locked.then_some(file)
}

/// Whether host `<prefix><k>` exists and belongs to someone alive who holds no lock:
/// started by hand, or by another tool. Hosts left by a dead test run are taken over.
fn foreign_host(prefix: &str, k: usize) -> bool {
    if !Path::new(&format!("/run/netns/{prefix}{k}")).exists() {
        return false;
    }
    let marker = fs::read_to_string(format!("/run/bosun-hosts/{prefix}{k}")).unwrap_or_default();
    match marker.lines().nth(1).filter(|pid| !pid.is_empty()) {
        Some(owner) => Path::new(&format!("/proc/{owner}")).exists(),
        None => true,
    }
}

/// Skips unless this process runs as the machine's root, which `what` needs: the
/// root of a user namespace cannot run sshd's privilege separation.
pub(crate) fn require_root(what: &str) -> Result<(), Skip> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid != 0 {
        return Err(Skip(format!(
            "{what} need root; this test runs as uid {uid}"
        )));
    }
    let map = fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    if map.split_whitespace().ne(["0", "0", "4294967295"]) {
        return Err(Skip(format!(
            "{what} need the machine's root; this test runs as root of a user namespace \
             (uid_map {})",
            map.trim()
        )));
    }
    Ok(())
}

/// Checks that the tools exist, running `bash .ci/setup` (once) to install them if
/// not. Names with a `/` are paths, others are looked up in PATH.
pub(crate) fn require(tools: &[&str]) -> Result<(), Skip> {
    static SETUP: OnceLock<String> = OnceLock::new();
    let missing = || -> Vec<&str> { tools.iter().copied().filter(|t| !installed(t)).collect() };
    if missing().is_empty() {
        return Ok(());
    }
    let report = SETUP.get_or_init(|| {
        let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/setup");
        match Command::new("bash").arg(&setup).output() {
            Ok(output) if output.status.success() => "it succeeded".into(),
            Ok(output) => format!("it failed: {}", String::from_utf8_lossy(&output.stderr)),
            Err(e) => format!("it could not run: {e}"),
        }
    });
    let still = missing();
    if still.is_empty() {
        return Ok(());
    }
    Err(Skip(format!(
        "{} not installed, and `bash .ci/setup` did not install them ({report}); \
         install the packages .ci/setup names",
        still.join(", ")
    )))
}

fn installed(tool: &str) -> bool {
    if tool.contains('/') {
        return Path::new(tool).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Whether this process may make network namespaces with bridges and veths: tried
/// once, in a throwaway namespace.
pub(crate) fn namespaces_available() -> Result<(), Skip> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let probe = "ip link add bosun-br type bridge && ip link add bosun-v0 type veth peer name bosun-v1";
            let output = Command::new("unshare")
                .args(["--net", "--mount", "--uts", "sh", "-c", probe])
                .output()
                .map_err(|e| format!("network namespaces are not available: unshare: {e}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "network namespaces are not available (they need CAP_SYS_ADMIN and \
                     CAP_NET_ADMIN: in a container, run it privileged): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ))
            }
        })
        .clone()
        .map_err(Skip)
}

pub(crate) fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("a temporary directory")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vagrant")
        .join(name)
}

/// Runs `vagrant/<name>` and panics, with its output, unless it succeeds.
pub(crate) fn run_script(name: &str, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let output = Command::new("bash")
        .arg(script(name))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run vagrant/{name}: {e}"));
    assert!(
        output.status.success(),
        "vagrant/{name} {} failed ({}) with {}:\n{}{}\n(`vagrant/{name} status` lists \
         what it runs on this machine)",
        args.join(" "),
        output.status,
        describe_env(env),
        stdout_text(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a teardown script; reports a failure without panicking (it runs in `drop`).
pub(crate) fn stop_quietly(name: &str, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) {
    let output = Command::new("bash")
        .arg(script(name))
        .args(args)
        .envs(env.iter().copied())
        .output();
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => eprintln!(
            "vagrant/{name} {} failed ({}): {}\nretry by hand: {} vagrant/{name} {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            describe_env(env),
            args.join(" ")
        ),
        Err(e) => eprintln!("could not run vagrant/{name}: {e}; clean up by hand"),
    }
}

fn describe_env(env: &[(&str, &std::ffi::OsStr)]) -> String {
    env.iter()
        .map(|(key, value)| format!("{key}={}", value.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hosts `{prefix}{k}` at 198.51.100.(`offset` + k) for k = `first`+1 ..= `first`+`n`,
/// as the vagrant/ scripts number them.
pub(crate) fn numbered_targets(prefix: &str, first: usize, n: usize, offset: usize) -> Vec<Target> {
    (first + 1..=first + n)
        .map(|k| Target {
            name: format!("{prefix}{k}"),
            addr: Ipv4Addr::new(198, 51, 100, (offset + k) as u8),
            port: 22,
        })
        .collect()
}

/// Waits until `target` accepts TCP connections; panics with `log()` if it never does.
fn wait_for_port(target: &Target, log: impl Fn() -> String) {
    let addr = SocketAddr::from((target.addr, target.port));
    let deadline = Instant::now() + PORT_WAIT;
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} ({addr}) accepts no connections after {PORT_WAIT:?}; its sshd log:\n{}",
            target.name,
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(pid: &str) {
    // A process that is already gone is fine: the point is that it ends.
    let _ = Command::new("kill").args(["-KILL", pid]).output();
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn command_output(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    stdout_text(&output)
}

pub(crate) fn stdout_text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

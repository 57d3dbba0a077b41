//! A write is complete or it does not happen: bosun killed with SIGKILL at any point of
//! a large upload leaves the destination with its old bytes or its new bytes, never a
//! part of them, and no temporary file behind once the target's commands end.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Scratch;
use common::ssh::{NetnsFleet, or_skip};

/// Kills per connection type: each at its own point of the run.
const TRIALS: u32 = 24;

/// The upload's size: well above what travels inside the persistent SSH shell.
const SIZE: usize = 6 << 20;

/// The destination's directory (on the target; locally, a directory of the test's).
const DIR: &str = "/tmp/bosun-kill";

/// Where the destination lives, and how the test reads it.
trait Target {
    /// The destination's bytes, or `None` when it is missing.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// Replaces the destination's bytes (outside bosun).
    fn write(&self, path: &str, data: &[u8]);
    /// The names in `dir`.
    fn list(&self, dir: &str) -> Vec<String>;
}

/// This machine, with a directory of the test's standing for `/tmp/bosun-kill`.
struct Local<'a>(&'a Path);

impl Local<'_> {
    fn map(&self, path: &str) -> PathBuf {
        self.0
            .join(path.trim_start_matches(DIR).trim_start_matches('/'))
    }
}

impl Target for Local<'_> {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        std::fs::read(self.map(path)).ok()
    }
    fn write(&self, path: &str, data: &[u8]) {
        std::fs::write(self.map(path), data).expect("write the old content");
    }
    fn list(&self, dir: &str) -> Vec<String> {
        std::fs::read_dir(self.map(dir))
            .expect("list the directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }
}

/// The first host of a namespace fleet, read and written with OpenSSH's client.
struct Remote<'a>(&'a NetnsFleet);

impl Target for Remote<'_> {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let out = self.0.ssh(0, &format!("cat {path}"));
        out.status.success().then_some(out.stdout)
    }
    fn write(&self, path: &str, data: &[u8]) {
        let out = self.0.ssh_fed(0, &format!("cat > {path}"), data);
        assert!(out.status.success(), "write the old content over ssh");
    }
    fn list(&self, dir: &str) -> Vec<String> {
        let out = self.0.ssh(0, &format!("ls -A {dir}"));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// Content of `len` bytes that differs from any other `seed`'s at every kilobyte.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i / 1024) as u8).wrapping_mul(31).wrapping_add(seed) ^ (i as u8))
        .collect()
}

fn start_bosun(scratch: &Scratch, args: &[&str], home: Option<&Path>) -> Child {
    let env: Vec<(&str, &Path)> = home.map(|home| ("HOME", home)).into_iter().collect();
    scratch
        .bosun_command(args, &env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bosun starts")
}

/// Runs the upload `TRIALS` times, killing bosun at points around the moment the bytes
/// move, and checks after each kill that the destination is the old or the new content.
fn kill_uploads(target: &dyn Target, scratch: &Scratch, args: &[&str], home: Option<&Path>) {
    let dest = format!("{DIR}/dest.bin");
    let old = pattern(SIZE, 1);
    let new = std::fs::read(scratch.path().join("new.bin")).expect("the new content");

    target.write(&dest, &old);
    let started = Instant::now();
    let full = start_bosun(scratch, args, home).wait_with_output();
    let whole_run = started.elapsed();
    assert!(
        full.expect("bosun ends").status.success(),
        "an uninterrupted run succeeds"
    );
    assert!(
        target.read(&dest) == Some(new.clone()),
        "an uninterrupted run writes it all"
    );

    // The kill points close in on the moment the old content turns into the new (the
    // upload and the rename), and widen again once they have narrowed to a millisecond.
    let (mut before, mut after) = (Duration::ZERO, whole_run);
    let (mut old_seen, mut new_seen) = (0, 0);
    for trial in 0..TRIALS {
        target.write(&dest, &old);
        if after - before < Duration::from_millis(1) {
            before = before.saturating_sub(Duration::from_millis(40));
            after += Duration::from_millis(40);
        }
        let at = (before + after) / 2;
        let mut bosun = start_bosun(scratch, args, home);
        std::thread::sleep(at);
        bosun.kill().expect("SIGKILL bosun");
        bosun.wait().expect("reap bosun");
        // Commands the dead bosun started on the target may still be finishing.
        std::thread::sleep(Duration::from_millis(300));
        match target.read(&dest) {
            Some(bytes) if bytes == old => {
                old_seen += 1;
                before = at;
            }
            Some(bytes) if bytes == new => {
                new_seen += 1;
                after = at;
            }
            Some(bytes) => panic!(
                "trial {trial}, killed after {at:?}: the destination has {} bytes, neither old ({}) nor new ({})",
                bytes.len(),
                old.len(),
                new.len()
            ),
            None => panic!("trial {trial}, killed after {at:?}: the destination is gone"),
        }
    }
    eprintln!("{TRIALS} kills: {old_seen} left the old content, {new_seen} the new");
    assert!(old_seen > 0, "some kills came before the rename");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = target.list(DIR);
        if names == ["dest.bin"] {
            break;
        }
        assert!(Instant::now() < deadline, "files left behind: {names:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const PLAYBOOK: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - copy: src=new.bin dest=/tmp/bosun-kill/dest.bin mode=0640
";

#[test]
fn killing_bosun_mid_upload_leaves_old_or_new_bytes_locally() {
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("new.bin"), pattern(SIZE, 2)).expect("write");
    let dir = tempfile::tempdir().expect("a directory for the destination");
    let playbook = PLAYBOOK.replace(DIR, &dir.path().display().to_string());
    scratch.write("upload.yml", &playbook);
    kill_uploads(
        &Local(dir.path()),
        &scratch,
        &["run", "upload.yml", "-c", "local", "-i", "localhost,"],
        None,
    );
}

#[test]
fn killing_bosun_mid_upload_leaves_old_or_new_bytes_over_ssh() {
    let Some(fleet) = or_skip(NetnsFleet::up(1)) else {
        return;
    };
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("new.bin"), pattern(SIZE, 2)).expect("write");
    scratch.write("upload.yml", PLAYBOOK);
    scratch.write("hosts.ini", &fleet.inventory());
    let remote = Remote(&fleet);
    assert!(fleet.ssh(0, &format!("mkdir -p {DIR}")).status.success());
    kill_uploads(
        &remote,
        &scratch,
        &["run", "upload.yml", "-i", "hosts.ini"],
        Some(fleet.home()),
    );
}

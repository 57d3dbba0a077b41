//! Helpers for integration tests: run the real `bosun` binary in a scratch directory
//! and normalise its output for golden comparisons; real SSH targets in [`ssh`], and
//! Debian containers with systemd as PID 1 in [`nspawn`].

#![allow(dead_code)]

pub mod ansible;
pub mod http;
pub mod nspawn;
pub mod ssh;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A scratch directory holding a copy of test files, where bosun runs.
pub struct Scratch {
    /// The directory (removed when dropped).
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// An empty scratch directory.
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `name` (parents created), returning the full path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::fs::write(&path, text).expect("write a test file");
        path
    }

    /// Writes `text` to `name` like [`Scratch::write`], executable (mode 0755).
    pub fn write_executable(&self, name: &str, text: &str) -> PathBuf {
        let path = self.write(name, text);
        let executable =
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
        std::fs::set_permissions(&path, executable).expect("chmod 0755");
        path
    }

    /// The text of `name` in the scratch directory (a file a run wrote), empty
    /// when there is none.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap_or_default()
    }

    /// Copies the repository's `tests/playbooks/<name>` tree into the scratch dir.
    pub fn copy_fixture(&self, name: &str) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/playbooks")
            .join(name);
        copy_tree(&source, &self.path().join(name));
    }

    /// Runs bosun with `args` in the scratch directory, with `TARGET` pointing at it.
    pub fn bosun(&self, args: &[&str]) -> Output {
        self.bosun_with(args, &[])
    }

    /// Runs bosun like [`Scratch::bosun`] with extra environment variables (`HOME`).
    pub fn bosun_with(&self, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut command = Command::cargo_bin("bosun").expect("the bosun binary");
        command
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("TARGET", self.path())
            .env_remove("SSH_AUTH_SOCK")
            .args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("bosun runs")
    }
}

impl Scratch {
    /// bosun with `args` and `env`, set up like [`Scratch::bosun_with`] but not started:
    /// for tests that signal it or watch it while it runs (they choose its stdio).
    pub fn bosun_command(&self, args: &[&str], env: &[(&str, &Path)]) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("bosun"));
        command
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("TARGET", self.path())
            .env_remove("SSH_AUTH_SOCK")
            .args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create directory");
        for entry in std::fs::read_dir(from).expect("read fixture dir") {
            let entry = entry.expect("entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy fixture file");
    }
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Replaces what changes from run to run (scratch paths, timestamps, durations).
pub fn normalise(text: &str, scratch: &Path) -> String {
    let text = text.replace(&scratch.display().to_string(), "$SCRATCH");
    let stamp = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}").expect("regex");
    let delta = regex::Regex::new(r"\d+:\d{2}:\d{2}\.\d{6}").expect("regex");
    let text = stamp.replace_all(&text, "<TIME>");
    delta.replace_all(&text, "<DELTA>").into_owned()
}

/// Compares `actual` with `tests/golden/<name>`; `BOSUN_BLESS=1` rewrites the file.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("BOSUN_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with BOSUN_BLESS=1",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// The PLAY RECAP line of `host`.
pub fn recap_line(output: &str, host: &str) -> String {
    output
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.starts_with(host))
        .unwrap_or_else(|| panic!("no recap line for {host} in:\n{output}"))
        .to_string()
}

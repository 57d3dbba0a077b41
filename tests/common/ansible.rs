//! ansible-core 2.19.14 for tests that compare with it or share files with it: from
//! `BOSUN_ANSIBLE_VENV`, `/work/ansible-venv`, or a venv made once in
//! `/var/tmp/bosun-vault-venv` (ansible-core from PyPI). Without it a test is skipped
//! with a message, and fails when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's `bin` directory with ansible-vault and ansible-playbook, if any: found or
/// made once for all the tests of this file.
pub fn ansible_bin() -> Option<PathBuf> {
    static BIN: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BIN.get_or_init(find_or_make_ansible).clone()
}

/// Looks for a venv with ansible-vault, or makes one with ansible-core 2.19.14.
fn find_or_make_ansible() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("BOSUN_ANSIBLE_VENV").map(PathBuf::from),
        Some(PathBuf::from("/work/ansible-venv")),
        Some(PathBuf::from("/var/tmp/bosun-vault-venv")),
    ];
    for venv in candidates.into_iter().flatten() {
        if venv.join("bin/ansible-vault").is_file() {
            return Some(venv.join("bin"));
        }
    }
    let venv = Path::new("/var/tmp/bosun-vault-venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "ansible-core==2.19.14",
            ])
            .status()
            .is_ok_and(|s| s.success());
    made.then(|| venv.join("bin"))
}

/// ansible's bin dir, or a loud skip (a failure under CI).
pub fn ansible_or_skip(test: &str) -> Option<PathBuf> {
    let found = ansible_bin();
    if found.is_none() {
        let message = format!(
            "SKIPPED {test}: ansible-core is not available (no venv, and python3 -m venv + pip install ansible-core failed)"
        );
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("\n\n*** {message} ***\n");
    }
    found
}

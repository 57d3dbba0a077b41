//! The `apt-get` command lines `apt` runs to apply a decision, in Ansible's words, and
//! the script around them (policy-rc.d, `apt-mark manual`).

use super::args::Upgrade;
use crate::connection::quote;

/// Printed when `apt-mark manual` fails after an install.
pub const MARK_FAILED: &str = "@@bosun-apt mark-failed";

/// The environment every apt command runs with: no prompts, parsable output.
pub const APT_ENV: &[(&str, &str)] = &[
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("DEBIAN_PRIORITY", "critical"),
    ("LANG", "C"),
    ("LC_ALL", "C"),
    ("LC_MESSAGES", "C"),
    ("LC_CTYPE", "C"),
];

/// The `apt-get` options the module's parameters ask for.
#[derive(Clone, Debug, Default)]
pub struct AptOptions {
    /// `dpkg_options`, split at commas (`force-confdef`, `force-confold`).
    pub dpkg_options: Vec<String>,
    /// `force`: `--force-yes`.
    pub force: bool,
    /// `install_recommends`; `None` keeps the system's default.
    pub install_recommends: Option<bool>,
    /// `default_release`: `-t`.
    pub default_release: Option<String>,
    /// `allow_unauthenticated`.
    pub allow_unauthenticated: bool,
    /// `allow_downgrade`.
    pub allow_downgrade: bool,
    /// `allow_change_held_packages`.
    pub allow_change_held_packages: bool,
    /// `autoremove`: `--auto-remove` with install and remove.
    pub autoremove: bool,
    /// `fail_on_autoremove`: `--no-remove`.
    pub fail_on_autoremove: bool,
    /// `only_upgrade`.
    pub only_upgrade: bool,
    /// `purge` (with remove and autoremove).
    pub purge: bool,
    /// Seconds to wait for another apt's lock.
    pub lock_timeout: i64,
    /// Check mode: `--simulate`.
    pub simulate: bool,
}

impl AptOptions {
    /// `apt-get -y` with the lock wait and the dpkg options.
    fn base(&self) -> Vec<String> {
        let mut words = vec![
            "apt-get".to_string(),
            "-y".to_string(),
            "-o".to_string(),
            format!("DPkg::Lock::Timeout={}", self.lock_timeout),
        ];
        for option in &self.dpkg_options {
            words.push("-o".into());
            words.push(format!("Dpkg::Options::=--{option}"));
        }
        if self.force {
            words.push("--force-yes".into());
        }
        if self.simulate {
            words.push("--simulate".into());
        }
        words
    }

    /// `apt-get install` (or `build-dep` with `build_dep`) of `packages`.
    pub fn install(&self, packages: &[String], fixed: bool, build_dep: bool) -> Vec<String> {
        let mut words = self.base();
        if self.only_upgrade {
            words.push("--only-upgrade".into());
        }
        if fixed {
            words.push("--fix-broken".into());
        }
        if self.autoremove && !build_dep {
            words.push("--auto-remove".into());
        }
        if self.fail_on_autoremove {
            words.push("--no-remove".into());
        }
        self.push_selection(&mut words);
        words.push(if build_dep { "build-dep" } else { "install" }.into());
        words.extend(packages.iter().cloned());
        words
    }

    /// `apt-get remove` of `packages`.
    pub fn remove(&self, packages: &[String]) -> Vec<String> {
        let mut words = self.base();
        words.insert(1, "-q".into());
        if self.purge {
            words.push("--purge".into());
        }
        if self.autoremove {
            words.push("--auto-remove".into());
        }
        if self.allow_change_held_packages {
            words.push("--allow-change-held-packages".into());
        }
        words.push("remove".into());
        words.extend(packages.iter().cloned());
        words
    }

    /// `apt-get upgrade --with-new-pkgs` (`yes`, `safe`) or `dist-upgrade` (`full`,
    /// `dist`): bosun always uses apt-get, as Ansible does without aptitude.
    pub fn upgrade(&self, mode: Upgrade) -> Vec<String> {
        let mut words = self.base();
        if self.fail_on_autoremove {
            words.push("--no-remove".into());
        }
        if self.allow_unauthenticated {
            words.push("--allow-unauthenticated".into());
        }
        if self.allow_downgrade {
            words.push("--allow-downgrades".into());
        }
        if let Some(release) = &self.default_release {
            words.extend(["-t".to_string(), release.clone()]);
        }
        if matches!(mode, Upgrade::Full | Upgrade::Dist) {
            words.push("dist-upgrade".into());
        } else {
            words.extend(["upgrade".to_string(), "--with-new-pkgs".to_string()]);
        }
        if self.autoremove {
            words.push("--auto-remove".into());
        }
        words
    }

    /// `aptitude safe-upgrade` (`yes`, `safe`) or `full-upgrade` (`full`), as Ansible
    /// runs them where aptitude is installed and `force_apt_get` is off: aptitude has
    /// no `--no-remove`, `--allow-downgrades` nor `--auto-remove`.
    pub fn aptitude_upgrade(&self, mode: Upgrade) -> Vec<String> {
        let mut words = vec!["aptitude".to_string(), "-y".to_string()];
        for option in &self.dpkg_options {
            words.push("-o".into());
            words.push(format!("Dpkg::Options::=--{option}"));
        }
        if self.force {
            words.extend(["--assume-yes".to_string(), "--allow-untrusted".to_string()]);
        }
        if self.allow_unauthenticated {
            words.push("--allow-unauthenticated".into());
        }
        if self.simulate {
            words.push("--simulate".into());
        }
        words.push(
            match mode {
                Upgrade::Full => "full-upgrade",
                _ => "safe-upgrade",
            }
            .into(),
        );
        if let Some(release) = &self.default_release {
            words.extend(["-t".to_string(), release.clone()]);
        }
        words
    }

    /// `apt-get autoremove` or `apt-get autoclean`.
    pub fn cleanup(&self, operation: &str) -> Vec<String> {
        let mut words = self.base();
        if self.purge {
            words.push("--purge".into());
        }
        words.push(operation.into());
        words
    }

    /// `-t`, recommends and the `allow_*` switches of an install.
    fn push_selection(&self, words: &mut Vec<String>) {
        if let Some(release) = &self.default_release {
            words.extend(["-t".to_string(), release.clone()]);
        }
        match self.install_recommends {
            Some(true) => words.extend(["-o".into(), "APT::Install-Recommends=yes".into()]),
            Some(false) => words.extend(["-o".into(), "APT::Install-Recommends=no".into()]),
            None => {}
        }
        if self.allow_unauthenticated {
            words.push("--allow-unauthenticated".into());
        }
        if self.allow_downgrade {
            words.push("--allow-downgrades".into());
        }
        if self.allow_change_held_packages {
            words.push("--allow-change-held-packages".into());
        }
    }
}

/// The command line as a shell runs it, every word quoted.
pub fn shell_line(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// The script that runs `words`, with `/usr/sbin/policy-rc.d` exiting `policy_rc_d`
/// meanwhile (the original put back after), then marks `manual` as installed by hand.
pub fn apply_script(words: &[String], policy_rc_d: Option<i64>, manual: &[String]) -> String {
    let mut script = String::new();
    if let Some(code) = policy_rc_d {
        script.push_str(&format!(
            "p=/usr/sbin/policy-rc.d; [ ! -e $p ] || mv -f $p $p.bosun-saved\n\
             printf '#!/bin/sh\\nexit %d\\n' {code} >$p && chmod 0755 $p\n"
        ));
    }
    script.push_str(&format!("{}\nrc=$?\n", shell_line(words)));
    if policy_rc_d.is_some() {
        script.push_str("rm -f $p; [ ! -e $p.bosun-saved ] || mv -f $p.bosun-saved $p\n");
    }
    if !manual.is_empty() {
        let names: Vec<String> = manual.iter().map(|n| quote(n)).collect();
        script.push_str(&format!(
            "if [ $rc -eq 0 ]; then m=$(apt-mark manual -- {} 2>&1) || \
             printf '\\n{MARK_FAILED}\\n%s\\n' \"$m\"; fi\n",
            names.join(" ")
        ));
    }
    script.push_str("exit $rc\n");
    script
}

/// Ansible's `parse_diff`: the part of apt's output that says what it will do, from
/// after `Reading state information...` to the `N upgraded` line.
pub fn prepared(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Reading state information...")
        .map_or(0, |i| i + 1);
    let end = lines
        .iter()
        .position(|l| {
            let mut words = l.split_whitespace();
            words
                .next()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                && matches!(
                    (words.next(), words.next()),
                    (Some("upgraded,"), _) | (Some("packages"), Some("upgraded,"))
                )
        })
        .map_or(lines.len(), |i| i + 1);
    lines
        .get(start..end.max(start))
        .unwrap_or_default()
        .join("\n")
}

/// Whether apt's output says nothing was upgraded or installed.
pub fn nothing_done(output: &str) -> bool {
    output.contains("\n0 upgraded, 0 newly installed") || output.starts_with("0 upgraded, 0 newly")
}

/// Whether aptitude's output says nothing was upgraded or installed.
pub fn aptitude_nothing_done(output: &str) -> bool {
    output.contains("\n0 packages upgraded, 0 newly installed")
        || output.starts_with("0 packages upgraded, 0 newly")
}

/// Whether apt's output says another apt or dpkg held a lock it needed.
pub fn is_locked(output: &str) -> bool {
    output.contains("Could not get lock")
        || output.contains("Unable to acquire the dpkg frontend lock")
        || output.contains("Unable to lock directory")
}

/// The message for a command that failed because another apt held its lock (`output`:
/// both of its streams), after waiting `waited` seconds for it.
pub fn lock_message(output: &str, waited: i64) -> Option<String> {
    if !is_locked(output) {
        return None;
    }
    let line = output
        .lines()
        .find(|l| l.contains("Could not get lock"))
        .or_else(|| output.lines().find(|l| l.starts_with("E: ")))
        .unwrap_or("a lock is held");
    let line = line
        .trim_start_matches("E: ")
        .trim_start_matches("Waiting for cache lock: ")
        .trim_end_matches("...");
    Some(format!(
        "Failed to lock apt for exclusive operation: {line} (waited {waited} s; another apt-get, \
         dpkg or unattended-upgrades holds it)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> AptOptions {
        AptOptions {
            dpkg_options: vec!["force-confdef".into(), "force-confold".into()],
            lock_timeout: 60,
            ..AptOptions::default()
        }
    }

    #[test]
    fn install_line_carries_every_switch() {
        let mut opts = options();
        opts.install_recommends = Some(false);
        opts.autoremove = true;
        opts.default_release = Some("bookworm-backports".into());
        let line =
            shell_line(&opts.install(&["tree=2.1.0-1".into(), "hello".into()], false, false));
        assert_eq!(
            line,
            "apt-get -y -o DPkg::Lock::Timeout=60 -o Dpkg::Options::=--force-confdef \
             -o Dpkg::Options::=--force-confold --auto-remove -t bookworm-backports \
             -o APT::Install-Recommends=no install tree=2.1.0-1 hello"
        );
        opts.simulate = true;
        opts.purge = true;
        let line = shell_line(&opts.remove(&["it's".into()]));
        assert!(
            line.starts_with("apt-get -q -y -o DPkg::Lock::Timeout=60"),
            "{line}"
        );
        assert!(
            line.ends_with("--simulate --purge --auto-remove remove 'it'\"'\"'s'"),
            "{line}"
        );
    }

    #[test]
    fn upgrade_modes_map_to_apt_get() {
        let opts = options();
        assert!(shell_line(&opts.upgrade(Upgrade::Yes)).ends_with(" upgrade --with-new-pkgs"));
        assert!(shell_line(&opts.upgrade(Upgrade::Safe)).ends_with(" upgrade --with-new-pkgs"));
        assert!(shell_line(&opts.upgrade(Upgrade::Dist)).ends_with(" dist-upgrade"));
        assert!(shell_line(&opts.upgrade(Upgrade::Full)).ends_with(" dist-upgrade"));
        assert!(shell_line(&opts.aptitude_upgrade(Upgrade::Yes)).ends_with(" safe-upgrade"));
        assert!(shell_line(&opts.aptitude_upgrade(Upgrade::Full)).ends_with(" full-upgrade"));
        assert!(aptitude_nothing_done(
            "x\n0 packages upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
        ));
        assert!(shell_line(&opts.cleanup("autoremove")).ends_with(" autoremove"));
    }

    #[test]
    fn apply_script_wraps_policy_rc_d_and_marks_manual() {
        let words = options().install(&["tree".into()], false, false);
        let script = apply_script(&words, Some(101), &["tree".into()]);
        assert!(script.contains("exit %d\\n' 101"), "{script}");
        assert!(script.contains("mv -f $p.bosun-saved $p"), "{script}");
        assert!(script.contains("apt-mark manual -- tree"), "{script}");
        assert!(script.ends_with("exit $rc\n"), "{script}");
        let plain = apply_script(&words, None, &[]);
        assert!(!plain.contains("policy-rc.d") && !plain.contains("apt-mark"));
    }

    #[test]
    fn diff_and_change_come_from_apts_words() {
        let output = "Reading package lists...\nBuilding dependency tree...\n\
                      Reading state information...\nThe following NEW packages will be installed:\n  tree\n\
                      0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\n\
                      Setting up tree (2.1.0-1) ...";
        assert_eq!(
            prepared(output),
            "The following NEW packages will be installed:\n  tree\n\
             0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
        );
        assert!(!nothing_done(output));
        assert!(nothing_done(
            "Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
        ));
    }

    #[test]
    fn lock_failures_are_named() {
        let output = "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 44 (perl)...\n\
                      E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?";
        let msg = lock_message(output, 60).expect("a lock failure");
        assert_eq!(
            msg,
            "Failed to lock apt for exclusive operation: Could not get lock /var/lib/dpkg/lock-frontend. \
             It is held by process 44 (perl) (waited 60 s; another apt-get, dpkg or unattended-upgrades holds it)"
        );
        let lists =
            "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 7 (apt-get)";
        assert!(is_locked(lists));
        assert_eq!(lock_message("E: Unable to locate package x", 60), None);
    }
}

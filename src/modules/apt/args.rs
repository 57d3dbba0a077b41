//! The arguments of `apt`, declared as Ansible's module declares them, and what they
//! mean once read: the specs, the `.deb` files, the update wanted, the `apt-get`
//! switches.

use super::cmd::AptOptions;
use super::spec::PackageSpec;
use crate::modules::typed::{Rules, arg_enum, module_args};

arg_enum! {
    /// What to do with the named packages.
    pub enum State {
        Absent = "absent",
        BuildDep = "build-dep",
        Latest = "latest",
        Present = "present",
        Fixed = "fixed",
    }
}

arg_enum! {
    /// `upgrade`: which upgrade of every installed package to run.
    pub enum Upgrade {
        Dist = "dist",
        Full = "full",
        No = "no",
        Safe = "safe",
        Yes = "yes",
    }
}

module_args! {
    /// `apt`'s arguments (also `package`'s on apt systems).
    pub struct AptArgs {
        /// The package specs (`nginx`, `nginx=1.22*`, `nginx>=1.22`, `*`).
        package: Vec<String> => .aliases(&["pkg", "name"]),
        state: State => .default_str("present"),
        update_cache: bool => .default_bool(false).aliases(&["update-cache"]),
        update_cache_retries: i64 => .default_int(5),
        update_cache_retry_max_delay: i64 => .default_int(12),
        /// Update the lists when they are older than this many seconds.
        cache_valid_time: i64 => .default_int(0),
        purge: bool => .default_bool(false),
        /// `.deb` files on the target, separated by commas.
        deb: Option<String>,
        default_release: Option<String> => .aliases(&["default-release"]),
        install_recommends: Option<bool> => .aliases(&["install-recommends"]),
        force: bool => .default_bool(false),
        /// `apt-get clean` first.
        clean: bool => .default_bool(false),
        upgrade: Option<Upgrade>,
        dpkg_options: String => .default_str("force-confdef,force-confold"),
        autoremove: bool => .default_bool(false),
        autoclean: bool => .default_bool(false),
        fail_on_autoremove: bool => .default_bool(false),
        /// The exit status `/usr/sbin/policy-rc.d` gives while apt runs.
        policy_rc_d: Option<i64>,
        only_upgrade: bool => .default_bool(false),
        /// Use apt-get even where aptitude is installed.
        force_apt_get: bool => .default_bool(false),
        allow_unauthenticated: bool => .default_bool(false).aliases(&["allow-unauthenticated"]),
        allow_downgrade: bool => .default_bool(false).aliases(&[
            "allow-downgrade",
            "allow_downgrades",
            "allow-downgrades",
        ]),
        allow_change_held_packages: bool => .default_bool(false),
        /// Seconds to wait for another apt's lock.
        lock_timeout: i64 => .default_int(60),
    }
    rules: Rules {
        mutually_exclusive: &[&["deb", "package", "upgrade"]],
        required_one_of: &[&[
            "autoremove",
            "deb",
            "package",
            "update_cache",
            "upgrade",
            "clean",
            "autoclean",
        ]],
        ..Rules::NONE
    };
}

/// What the arguments ask for, read and checked as Ansible's module reads them.
#[derive(Debug)]
pub struct Request {
    /// The package specs (`*` left out).
    pub specs: Vec<PackageSpec>,
    /// `name: "*"`: every installed package.
    pub all_installed: bool,
    /// Some name was given.
    pub named: bool,
    /// `state`.
    pub state: State,
    /// Update the lists when older than this many seconds (0: always); `None`: never.
    pub update: Option<i64>,
    /// `update_cache_retries`.
    pub retries: i64,
    /// `update_cache_retry_max_delay`.
    pub retry_max_delay: i64,
    /// `upgrade`, unless `no`.
    pub upgrade: Option<Upgrade>,
    /// Use aptitude for upgrades where it is installed (`force_apt_get` off).
    pub aptitude: bool,
    /// `deb`, split at commas.
    pub debs: Vec<String>,
    /// `clean`.
    pub clean: bool,
    /// `autoclean`.
    pub autoclean: bool,
    /// `autoremove`.
    pub autoremove: bool,
    /// `policy_rc_d`.
    pub policy_rc_d: Option<i64>,
    /// The `apt-get` switches.
    pub options: AptOptions,
}

impl AptArgs {
    /// Reads the arguments into a [`Request`], failing as Ansible does on a bad spec
    /// or a `deb` with another state.
    pub fn request(&self) -> Result<Request, String> {
        let all_installed = self.package.iter().any(|n| n == "*");
        let specs = self
            .package
            .iter()
            .filter(|n| *n != "*")
            .map(|n| PackageSpec::parse(n))
            .collect::<Result<Vec<_>, _>>()?;
        let debs: Vec<String> = self
            .deb
            .as_deref()
            .map(|d| d.split(',').map(|p| p.trim().to_string()).collect())
            .unwrap_or_default();
        if !debs.is_empty() && self.state != State::Present {
            return Err("deb only supports state=present".into());
        }
        if let Some(url) = debs.iter().find(|d| d.contains("://")) {
            return Err(format!(
                "deb: downloading {url} is not supported yet: copy the file to the target \
                 first and give its path"
            ));
        }
        let update =
            (self.update_cache || self.cache_valid_time > 0).then_some(self.cache_valid_time);
        let dpkg_options = self
            .dpkg_options
            .split(',')
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        Ok(Request {
            specs,
            all_installed,
            named: !self.package.is_empty(),
            state: self.state,
            update,
            retries: self.update_cache_retries,
            retry_max_delay: self.update_cache_retry_max_delay,
            upgrade: self.upgrade.filter(|u| *u != Upgrade::No),
            aptitude: !self.force_apt_get,
            debs,
            clean: self.clean,
            autoclean: self.autoclean,
            autoremove: self.autoremove,
            policy_rc_d: self.policy_rc_d,
            options: AptOptions {
                dpkg_options,
                force: self.force,
                install_recommends: self.install_recommends,
                default_release: self.default_release.clone(),
                allow_unauthenticated: self.allow_unauthenticated,
                allow_downgrade: self.allow_downgrade,
                allow_change_held_packages: self.allow_change_held_packages,
                autoremove: self.autoremove,
                fail_on_autoremove: self.fail_on_autoremove,
                only_upgrade: self.only_upgrade,
                purge: self.purge,
                lock_timeout: self.lock_timeout,
                simulate: false,
            },
        })
    }
}

impl Request {
    /// Whether the task only updates the lists or cleans: no package, upgrade or file.
    pub fn nothing_named(&self) -> bool {
        !self.named && self.upgrade.is_none() && self.debs.is_empty()
    }

    /// Whether the state installs packages (their candidates are looked up).
    pub fn installing(&self) -> bool {
        matches!(self.state, State::Present | State::Latest | State::Fixed)
    }

    /// How the install decision treats versions: `state: latest` upgrades.
    pub fn install_mode(&self) -> super::plan::InstallMode {
        super::plan::InstallMode {
            upgrade: self.state == State::Latest,
            only_upgrade: self.options.only_upgrade,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    fn request(value: Json) -> Result<Request, String> {
        crate::modules::typed::from_json::<AptArgs>(value)?.request()
    }

    #[test]
    fn parameters_are_checked_as_ansible_checks_them() {
        let err = request(json!({"state": "present"})).err();
        assert_eq!(
            err.as_deref(),
            Some(
                "one of the following is required: autoremove, deb, package, update_cache, \
                 upgrade, clean, autoclean"
            )
        );
        let err = request(json!({"name": "tree", "upgrade": "dist"})).err();
        assert_eq!(
            err.as_deref(),
            Some("parameters are mutually exclusive: deb|package|upgrade")
        );
        let err = request(json!({"deb": "/tmp/x.deb", "state": "absent"})).err();
        assert_eq!(err.as_deref(), Some("deb only supports state=present"));
        let err = request(json!({"name": "a=1=2"})).err();
        assert_eq!(err.as_deref(), Some("invalid package spec: a=1=2"));
    }

    #[test]
    fn defaults_follow_ansible() {
        let r = request(json!({"name": ["tree", "hello=2.10*"]})).expect("valid");
        assert_eq!(r.state, State::Present);
        assert_eq!(r.update, None);
        assert_eq!(r.upgrade, None);
        assert!(r.aptitude);
        assert_eq!(r.options.lock_timeout, 60);
        assert_eq!(
            r.options.dpkg_options,
            vec!["force-confdef", "force-confold"]
        );
        assert_eq!(r.specs.len(), 2);
        let r = request(json!({"name": "tree", "cache_valid_time": 3600})).expect("valid");
        assert_eq!(
            r.update,
            Some(3600),
            "cache_valid_time implies update_cache"
        );
        let r = request(json!({"update_cache": true})).expect("valid");
        assert_eq!(r.update, Some(0));
        assert!(r.nothing_named());
        let r = request(json!({"upgrade": true, "force_apt_get": true})).expect("valid");
        assert_eq!(r.upgrade, Some(Upgrade::Yes));
        assert!(!r.aptitude);
        let r = request(json!({"upgrade": "no"})).expect("valid");
        assert_eq!(r.upgrade, None);
        let r = request(json!({"name": "*", "state": "latest"})).expect("valid");
        assert!(r.all_installed && r.specs.is_empty());
    }
}

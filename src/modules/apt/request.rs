//! The parameters of `apt`, checked as Ansible checks them and with its defaults.

use serde_json::Value as Json;

use super::cmd::AptOptions;
use super::spec::PackageSpec;
use crate::modules::Args;

/// The module's parameters, checked and with Ansible's defaults.
pub struct Request {
    /// The package specs (`*` left out).
    pub specs: Vec<PackageSpec>,
    /// `name: "*"`: every installed package.
    pub all_installed: bool,
    /// Some `name` was given.
    pub named: bool,
    /// `state`.
    pub state: String,
    /// Update the lists when older than this many seconds (0: always); `None`: never.
    pub update: Option<i64>,
    /// `update_cache_retries`.
    pub retries: i64,
    /// `update_cache_retry_max_delay`.
    pub retry_max_delay: i64,
    /// `upgrade`, unless `no`.
    pub upgrade: Option<String>,
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

impl Request {
    /// Checks `args` and fills in the defaults.
    pub fn from_args(args: &Args) -> Result<Request, String> {
        let upgrade = args
            .str("upgrade")
            .filter(|u| *u != "no")
            .map(str::to_string);
        let given = |name: &str| args.get(name).is_some();
        if [given("deb"), given("name"), upgrade.is_some()]
            .iter()
            .filter(|g| **g)
            .count()
            > 1
        {
            return Err("parameters are mutually exclusive: deb|package|upgrade".into());
        }
        let wanted = [
            "autoremove",
            "deb",
            "name",
            "update_cache",
            "clean",
            "autoclean",
        ];
        if !wanted.iter().any(|name| given(name)) && upgrade.is_none() {
            return Err(
                "one of the following is required: autoremove, deb, package, update_cache, upgrade"
                    .into(),
            );
        }
        let names = args.strings("name");
        let all_installed = names.iter().any(|n| n == "*");
        let specs = names
            .iter()
            .filter(|n| *n != "*")
            .map(|n| PackageSpec::parse(n))
            .collect::<Result<Vec<_>, _>>()?;
        let state = args.str("state").unwrap_or("present").to_string();
        let debs: Vec<String> = args
            .str("deb")
            .map(|d| d.split(',').map(|p| p.trim().to_string()).collect())
            .unwrap_or_default();
        if !debs.is_empty() && state != "present" {
            return Err("deb only supports state=present".into());
        }
        if let Some(url) = debs.iter().find(|d| d.contains("://")) {
            return Err(format!(
                "deb: downloading {url} is not supported yet: copy the file to the target \
                 first and give its path"
            ));
        }
        let cache_valid_time = args.int("cache_valid_time").unwrap_or(0);
        let update = (args.bool_or("update_cache", false) || cache_valid_time > 0)
            .then_some(cache_valid_time);
        let lock_timeout = args.int("lock_timeout").unwrap_or(60);
        let dpkg_options = args
            .str("dpkg_options")
            .unwrap_or("force-confdef,force-confold")
            .split(',')
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        Ok(Request {
            specs,
            all_installed,
            named: !names.is_empty(),
            state,
            update,
            retries: args.int("update_cache_retries").unwrap_or(5),
            retry_max_delay: args.int("update_cache_retry_max_delay").unwrap_or(12),
            upgrade,
            debs,
            clean: args.bool_or("clean", false),
            autoclean: args.bool_or("autoclean", false),
            autoremove: args.bool_or("autoremove", false),
            policy_rc_d: args.int("policy_rc_d"),
            options: AptOptions {
                dpkg_options,
                force: args.bool_or("force", false),
                install_recommends: args.get("install_recommends").and_then(Json::as_bool),
                default_release: args.str("default_release").map(str::to_string),
                allow_unauthenticated: args.bool_or("allow_unauthenticated", false),
                allow_downgrade: args.bool_or("allow_downgrade", false),
                allow_change_held_packages: args.bool_or("allow_change_held_packages", false),
                autoremove: args.bool_or("autoremove", false),
                fail_on_autoremove: args.bool_or("fail_on_autoremove", false),
                only_upgrade: args.bool_or("only_upgrade", false),
                purge: args.bool_or("purge", false),
                lock_timeout,
                simulate: false,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::apt::APT_PARAMS;
    use indexmap::IndexMap;
    use serde_json::json;

    fn request(value: Json) -> Result<Request, String> {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        let args = Args::parse(APT_PARAMS, &raw)?;
        Request::from_args(&args)
    }

    #[test]
    fn parameters_are_checked_as_ansible_checks_them() {
        let err = request(json!({"state": "present"})).err();
        assert_eq!(
            err.as_deref(),
            Some(
                "one of the following is required: autoremove, deb, package, update_cache, upgrade"
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
        let r = request(json!({"name": ["tree", "hello=2.10*"], "upgrade": "no"})).expect("valid");
        assert_eq!(r.state, "present");
        assert_eq!(r.update, None);
        assert_eq!(r.upgrade, None);
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
        let r = request(json!({"upgrade": true})).expect("valid");
        assert_eq!(r.upgrade.as_deref(), Some("yes"));
        let r = request(json!({"name": "*", "state": "latest"})).expect("valid");
        assert!(r.all_installed && r.specs.is_empty());
    }
}

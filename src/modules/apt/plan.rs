//! What `apt` must change, decided from the specs and the [`Snapshot`] alone, the way
//! Ansible's module decides it.

use std::cmp::Ordering;

use super::query::{Providers, Snapshot};
use super::spec::{PackageSpec, VersionReq, compare};

/// What installing the specs takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstallPlan {
    /// The `apt-get install` arguments (`name` or `name=version`); empty: nothing to do.
    pub args: Vec<String>,
    /// Real packages named by the specs, to mark as installed manually afterwards.
    pub names: Vec<String>,
    /// Named packages already installed but marked automatic: marked manual without
    /// counting as a change.
    pub mark_manual: Vec<String>,
}

/// How the install decision treats versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstallMode {
    /// `state: latest`: upgrade installed packages to the candidate.
    pub upgrade: bool,
    /// `only_upgrade`: never install what is not installed.
    pub only_upgrade: bool,
}

/// Replaces wildcard specs (`python3-*`) by the package names they match, as Ansible
/// does (matching names only; multiarch names only when the pattern has a `:`).
pub fn expand(specs: Vec<PackageSpec>, names: &[String]) -> Result<Vec<PackageSpec>, String> {
    let mut expanded = Vec::new();
    for spec in specs {
        if !spec.is_pattern() {
            expanded.push(spec);
            continue;
        }
        let with_arch = spec.name.contains(':');
        let matches: Vec<&String> = names
            .iter()
            .filter(|n| with_arch || !n.contains(':'))
            .filter(|n| crate::glob::matches(&spec.name, n))
            .collect();
        if matches.is_empty() {
            return Err(format!("No package(s) matching '{}' available", spec.name));
        }
        expanded.extend(matches.into_iter().map(|name| PackageSpec {
            name: name.clone(),
            req: VersionReq::Any,
        }));
    }
    Ok(expanded)
}

/// The names that are neither installed nor available as real packages: virtual
/// packages, or no package at all. Their providers decide.
pub fn unresolved(specs: &[PackageSpec], snapshot: &Snapshot) -> Vec<String> {
    specs
        .iter()
        .filter(|spec| !is_real(snapshot, &spec.name) && !is_installed(snapshot, &spec.name))
        .map(|spec| spec.name.clone())
        .collect()
}

/// Whether an install of `specs` under `mode` can be decided from dpkg's records
/// alone, before the cache is asked: `state: present` of names without a `=pattern`
/// version (a pattern may match a newer candidate).
pub fn may_skip_candidates(specs: &[PackageSpec], mode: InstallMode) -> bool {
    !mode.upgrade
        && specs
            .iter()
            .all(|s| !matches!(s.req, VersionReq::Matches(_)))
}

/// Whether deciding the install needs the cache's candidates after all: not when
/// every name is installed at a version its spec accepts (nothing is installed then;
/// at most an automatic mark becomes manual).
pub fn needs_candidates(specs: &[PackageSpec], snapshot: &Snapshot) -> bool {
    specs.iter().any(|spec| {
        !snapshot
            .installed(&spec.name)
            .is_some_and(|i| i.is_installed() && spec.accepts(&i.version))
    })
}

/// Decides what `apt-get install` gets, or fails as Ansible does for a name nothing
/// provides.
pub fn plan_install(
    specs: &[PackageSpec],
    snapshot: &Snapshot,
    providers: &Providers,
    mode: InstallMode,
) -> Result<InstallPlan, String> {
    let mut plan = InstallPlan::default();
    for spec in specs {
        let name = &spec.name;
        if !is_real(snapshot, name) && !is_installed(snapshot, name) {
            // A virtual package is present when one of its providers is installed
            // (Ansible asks that only of a single provider, and reinstalls otherwise).
            let list = providers.get(name).map(Vec::as_slice).unwrap_or_default();
            if list.is_empty() {
                return Err(format!("No package matching '{name}' is available"));
            }
            if !list.iter().any(|(_, installed)| *installed) {
                plan.args.push(versioned(spec, None));
            }
            continue;
        }
        plan.names.push(name.clone());
        let best = best_version(spec, snapshot);
        let installed = snapshot
            .installed(name)
            .filter(|i| i.is_installed())
            .map(|i| i.version.as_str());
        let version_ok = installed.is_some_and(|v| spec.accepts(v));
        let installable = match installed {
            Some(version) => best.filter(|b| *b != version),
            None => best,
        };
        // With `only_upgrade`, apt-get skips what is not installed: so do we, so that a
        // second run reports no change.
        let needed = (installed.is_none() && !mode.only_upgrade)
            || (installed.is_some() && !version_ok)
            || (mode.upgrade
                && installable.is_some()
                && !(mode.only_upgrade && installed.is_none()));
        let wildcard_newer =
            version_ok && installable.is_some() && matches!(spec.req, VersionReq::Matches(_));
        if needed || wildcard_newer {
            plan.args.push(versioned(spec, installable));
        } else if installed.is_some() && snapshot.auto.contains(name) {
            plan.mark_manual.push(name.clone());
        }
    }
    Ok(plan)
}

/// `name=version` with the version apt should install (else the spec's own), or the
/// bare name.
fn versioned(spec: &PackageSpec, installable: Option<&str>) -> String {
    let version = match (&spec.req, installable) {
        (_, Some(version)) => Some(version),
        (VersionReq::Matches(v) | VersionReq::AtLeast(v), None) => Some(v.as_str()),
        (VersionReq::Any, None) => None,
    };
    match version {
        Some(version) => format!("{}={version}", spec.name),
        None => spec.name.clone(),
    }
}

/// The version apt would pick: the candidate, or for `name=pattern` the highest
/// available version matching it (none if none does).
fn best_version<'a>(spec: &PackageSpec, snapshot: &'a Snapshot) -> Option<&'a str> {
    let policy = snapshot.policy.get(&spec.name)?;
    match &spec.req {
        VersionReq::Matches(pattern) => policy
            .versions
            .iter()
            .filter(|v| crate::glob::matches(pattern, v))
            .max_by(|a, b| compare(a, b))
            .map(String::as_str),
        _ => policy.candidate.as_deref(),
    }
}

/// Whether the cache has versions of `name` (a virtual package has none).
fn is_real(snapshot: &Snapshot, name: &str) -> bool {
    snapshot
        .policy
        .get(name)
        .is_some_and(|p| p.candidate.is_some() || !p.versions.is_empty())
}

fn is_installed(snapshot: &Snapshot, name: &str) -> bool {
    snapshot.installed(name).is_some_and(|i| i.is_installed())
}

/// Decides what `apt-get remove` gets: the specs whose version is installed, and with
/// `purge` also those that left configuration files behind.
pub fn plan_remove(specs: &[PackageSpec], snapshot: &Snapshot, purge: bool) -> Vec<String> {
    specs
        .iter()
        .filter(|spec| {
            snapshot.installed(&spec.name).is_some_and(|installed| {
                (installed.is_installed() && spec.accepts(&installed.version))
                    || (purge && installed.has_files())
            })
        })
        .map(PackageSpec::text)
        .collect()
}

/// Decides which `.deb` files to install: those whose package is not installed at
/// exactly their version. Fails when a file cannot be read.
pub fn plan_debs(snapshot: &Snapshot) -> Result<Vec<String>, String> {
    let mut install = Vec::new();
    for deb in &snapshot.debs {
        let Some(fields) = &deb.fields else {
            let why = if deb.raw.trim().is_empty() {
                "no such file on the target"
            } else {
                deb.raw.trim()
            };
            return Err(format!("Unable to install package: {}: {why}", deb.path));
        };
        let version = fields.get("Version").map(String::as_str).unwrap_or("");
        let same = deb
            .installed
            .as_ref()
            .is_some_and(|i| i.is_installed() && compare(&i.version, version) == Ordering::Equal);
        if !same {
            install.push(deb.path.clone());
        }
    }
    Ok(install)
}

#[cfg(test)]
mod tests {
    use super::super::query::{Installed, Policy};
    use super::*;

    fn spec(text: &str) -> PackageSpec {
        PackageSpec::parse(text).expect("a valid spec")
    }

    fn installed(version: &str) -> Installed {
        Installed {
            status: "installed".into(),
            version: version.into(),
        }
    }

    /// tree 2.1.0-1 available, not installed; hello 2.10-3 installed (candidate
    /// 2.10-4, auto-installed); curl removed with its configuration left.
    fn snapshot() -> Snapshot {
        let mut snapshot = Snapshot::default();
        snapshot.policy.insert(
            "tree".into(),
            Policy {
                candidate: Some("2.1.0-1".into()),
                versions: vec!["2.1.0-1".into(), "2.0.4-1".into()],
            },
        );
        snapshot.policy.insert(
            "hello".into(),
            Policy {
                candidate: Some("2.10-4".into()),
                versions: vec!["2.10-4".into(), "2.10-3".into()],
            },
        );
        snapshot.policy.insert("awk".into(), Policy::default());
        snapshot
            .installed
            .insert("hello".into(), installed("2.10-3"));
        snapshot.installed.insert(
            "curl".into(),
            Installed {
                status: "config-files".into(),
                version: "7.88.1-10".into(),
            },
        );
        snapshot.auto.insert("hello".into());
        snapshot
    }

    fn install(specs: &[&str], mode: InstallMode) -> Result<InstallPlan, String> {
        let specs: Vec<PackageSpec> = specs.iter().map(|s| spec(s)).collect();
        plan_install(&specs, &snapshot(), &Providers::new(), mode)
    }

    #[test]
    fn present_of_installed_names_is_decided_without_the_cache() {
        let specs = |texts: &[&str]| texts.iter().map(|t| spec(t)).collect::<Vec<_>>();
        let present = InstallMode::default();
        let latest = InstallMode {
            upgrade: true,
            only_upgrade: false,
        };
        assert!(may_skip_candidates(
            &specs(&["hello", "tree>=2.0"]),
            present
        ));
        assert!(!may_skip_candidates(&specs(&["hello=2.10*"]), present));
        assert!(!may_skip_candidates(&specs(&["hello"]), latest));
        let mut dpkg_only = snapshot();
        dpkg_only.policy.clear();
        assert!(!needs_candidates(&specs(&["hello"]), &dpkg_only));
        assert!(!needs_candidates(&specs(&["hello>=2.10-3"]), &dpkg_only));
        assert!(needs_candidates(&specs(&["hello>=2.10-4"]), &dpkg_only));
        assert!(needs_candidates(&specs(&["hello", "tree"]), &dpkg_only));
        assert!(needs_candidates(&specs(&["curl"]), &dpkg_only));
        let plan = plan_install(&specs(&["hello"]), &dpkg_only, &Providers::new(), present)
            .expect("a plan");
        assert!(plan.args.is_empty());
        assert_eq!(plan.mark_manual, vec!["hello"]);
    }

    #[test]
    fn present_installs_only_what_is_missing() {
        let plan = install(&["tree", "hello"], InstallMode::default()).expect("a plan");
        assert_eq!(plan.args, vec!["tree=2.1.0-1"]);
        assert_eq!(plan.names, vec!["tree", "hello"]);
        assert_eq!(plan.mark_manual, vec!["hello"]);
        let plan = install(&["hello"], InstallMode::default()).expect("a plan");
        assert!(plan.args.is_empty());
    }

    #[test]
    fn latest_upgrades_to_the_candidate() {
        let upgrade = InstallMode {
            upgrade: true,
            only_upgrade: false,
        };
        let plan = install(&["hello", "tree"], upgrade).expect("a plan");
        assert_eq!(plan.args, vec!["hello=2.10-4", "tree=2.1.0-1"]);
        let only = InstallMode {
            upgrade: true,
            only_upgrade: true,
        };
        let plan = install(&["hello", "tree"], only).expect("a plan");
        assert_eq!(plan.args, vec!["hello=2.10-4"]);
    }

    #[test]
    fn versions_pick_the_matching_release() {
        let plan = install(&["tree=2.0*"], InstallMode::default()).expect("a plan");
        assert_eq!(plan.args, vec!["tree=2.0.4-1"]);
        let plan = install(&["hello=2.10-3"], InstallMode::default()).expect("a plan");
        assert!(plan.args.is_empty(), "{plan:?}");
        let plan = install(&["hello>=2.10-4"], InstallMode::default()).expect("a plan");
        assert_eq!(plan.args, vec!["hello=2.10-4"]);
        let plan = install(&["hello=2.10*"], InstallMode::default()).expect("a plan");
        assert_eq!(
            plan.args,
            vec!["hello=2.10-4"],
            "Ansible's legacy wildcard rule"
        );
    }

    #[test]
    fn virtual_and_unknown_names() {
        let specs = vec![spec("awk"), spec("nosuch"), spec("tree")];
        assert_eq!(unresolved(&specs, &snapshot()), vec!["awk", "nosuch"]);
        let mut providers = Providers::new();
        providers.insert("awk".into(), vec![("mawk".into(), true)]);
        let err = plan_install(&specs, &snapshot(), &providers, InstallMode::default())
            .expect_err("nosuch is nothing");
        assert_eq!(err, "No package matching 'nosuch' is available");
        let plan = plan_install(&specs[..1], &snapshot(), &providers, InstallMode::default())
            .expect("a plan");
        assert!(plan.args.is_empty(), "awk is provided by installed mawk");
        providers.insert(
            "awk".into(),
            vec![("gawk".into(), false), ("mawk".into(), true)],
        );
        let plan = plan_install(&specs[..1], &snapshot(), &providers, InstallMode::default())
            .expect("a plan");
        assert!(plan.args.is_empty(), "one of the providers is installed");
        providers.insert(
            "awk".into(),
            vec![("mawk".into(), false), ("gawk".into(), false)],
        );
        let plan = plan_install(&specs[..1], &snapshot(), &providers, InstallMode::default())
            .expect("a plan");
        assert_eq!(plan.args, vec!["awk"], "apt chooses the provider");
    }

    #[test]
    fn absent_removes_installed_and_purges_leftovers() {
        let specs = vec![spec("hello"), spec("curl"), spec("tree")];
        assert_eq!(plan_remove(&specs, &snapshot(), false), vec!["hello"]);
        assert_eq!(
            plan_remove(&specs, &snapshot(), true),
            vec!["hello", "curl"]
        );
        assert!(plan_remove(&[spec("hello=9*")], &snapshot(), false).is_empty());
    }

    #[test]
    fn wildcards_expand_against_the_cache() {
        let names: Vec<String> = ["tree", "treeline", "hello", "tree:i386"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let expanded = expand(vec![spec("tree*"), spec("hello=1")], &names).expect("matches");
        let texts: Vec<String> = expanded.iter().map(PackageSpec::text).collect();
        assert_eq!(texts, vec!["tree", "treeline", "hello=1"]);
        assert_eq!(
            expand(vec![spec("zz*")], &names),
            Err("No package(s) matching 'zz*' available".into())
        );
    }
}

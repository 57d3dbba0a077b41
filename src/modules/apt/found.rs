//! `apt`'s query: what the target holds for the task, asked in as few round trips as
//! the task allows (`apt-get clean` first when asked, the lists' age and an update
//! when due, the packages in dpkg and the cache, the providers of virtual names, and
//! a simulation of the operations whose effect only apt can tell).

use super::args::{AptArgs, Request, State, Upgrade};
use super::cmd::{self, AptOptions};
use super::plan;
use super::query::{Providers, Query, Snapshot};
use super::spec::PackageSpec;
use super::target::{AptOn, failure};
use crate::connection::CommandOutput;
use crate::modules::siblings::same_shape_names;
use crate::modules::typed::TypedArgs;
use crate::modules::{Args, ModuleError};

/// The time fields every install result carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheState {
    /// Whether the query's update changed the lists' time stamp.
    pub updated: bool,
    /// The lists' time stamp after the query.
    pub time: i64,
}

impl CacheState {
    /// The cache fields of `snapshot`.
    fn of(snapshot: &Snapshot) -> CacheState {
        CacheState {
            updated: snapshot.update.is_some() && snapshot.stamp_after() != snapshot.stamp,
            time: snapshot.stamp_after(),
        }
    }
}

/// The program an upgrade runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `apt-get`.
    AptGet,
    /// `aptitude`, where installed and `force_apt_get` is off.
    Aptitude,
}

/// An operation whose effect apt alone can tell, simulated by the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `upgrade` (or `state: latest` of `*`) with this mode and program.
    Upgrade(Upgrade, Tool),
    /// `autoremove` with no package named.
    Autoremove,
    /// `autoclean` with no package named.
    Autoclean,
    /// `state: build-dep` of these packages.
    BuildDep(Vec<PackageSpec>),
}

/// What the query found, by what the task asks.
#[derive(Debug)]
pub enum Found {
    /// `clean` alone: what `apt-get clean` printed (it runs in check mode too, as in
    /// Ansible).
    Cleaned(CommandOutput),
    /// The lists' update alone (or nothing named to install).
    Cache(CacheState),
    /// An operation simulated, with its output.
    Simulated {
        /// The operation.
        operation: Operation,
        /// What the simulation printed.
        out: CommandOutput,
        /// The cache fields.
        cache: CacheState,
    },
    /// `deb`: the files and the installed packages of the same names.
    Debs(Snapshot),
    /// Named packages to install or remove, wildcards expanded.
    Packages {
        /// The specs.
        specs: Vec<PackageSpec>,
        /// dpkg's and the cache's records of them.
        snapshot: Snapshot,
        /// What provides the names the cache has no versions of.
        providers: Providers,
        /// The cache fields.
        cache: CacheState,
    },
    /// `name: "*"` and other names under `state: latest`.
    AllAndNames,
}

/// Asks the target what the task needs to decide.
pub async fn query(apt: &AptOn<'_, '_>, r: &Request) -> Result<Found, ModuleError> {
    if r.clean {
        let out = apt
            .apt(&["apt-get".into(), "clean".into()], None, &[])
            .await?;
        if out.rc != 0 || !out.stderr.is_empty() {
            let msg = format!("apt-get clean failed: {}", out.stderr_text().trim());
            return Err(failure(msg, &out));
        }
        if r.nothing_named() {
            return Ok(Found::Cleaned(out));
        }
    }
    let patterns = r.specs.iter().any(PackageSpec::is_pattern);
    let names: Vec<String> = match patterns || r.state == State::BuildDep {
        true => Vec::new(),
        false => r.specs.iter().map(|s| s.name.clone()).collect(),
    };
    let defer = defers_candidates(r);
    let asked = asked_names(apt.on.siblings, r, &names);
    let first = Query {
        update_older_than: r.update,
        all_names: patterns,
        debs: &r.debs,
        ..ask(r, &asked, defer)
    };
    let mut snapshot = apt.query(&first, r.retries, r.retry_max_delay).await?;
    let cache = CacheState::of(&snapshot);
    if r.update.is_some() && r.nothing_named() {
        return Ok(Found::Cache(cache));
    }
    if let Some(mode) = r.upgrade {
        return simulate(apt, r, Operation::Upgrade(mode, Tool::AptGet), cache).await;
    }
    if !r.debs.is_empty() {
        return Ok(Found::Debs(snapshot));
    }
    if r.state == State::Latest && r.all_installed {
        if !r.specs.is_empty() {
            return Ok(Found::AllAndNames);
        }
        let upgrade = Operation::Upgrade(Upgrade::Yes, Tool::AptGet);
        return simulate(apt, r, upgrade, cache).await;
    }
    let mut specs = r.specs.clone();
    if patterns {
        specs = plan::expand(specs, &snapshot.names).map_err(ModuleError::Failed)?;
        let expanded: Vec<String> = match r.state {
            State::BuildDep => Vec::new(),
            _ => specs.iter().map(|s| s.name.clone()).collect(),
        };
        let all = std::mem::take(&mut snapshot.names);
        snapshot = apt
            .query(&ask(r, &expanded, defer), r.retries, r.retry_max_delay)
            .await?;
        snapshot.names = all;
    }
    if specs.is_empty() && (r.autoclean || r.autoremove) {
        let operation = match r.autoclean {
            true => Operation::Autoclean,
            false => Operation::Autoremove,
        };
        return simulate(apt, r, operation, cache).await;
    }
    if r.state == State::BuildDep && !specs.is_empty() {
        return simulate(apt, r, Operation::BuildDep(specs), cache).await;
    }
    if defer && plan::needs_candidates(&specs, &snapshot) {
        let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        let cache = apt
            .query(&candidates(r, &names), r.retries, r.retry_max_delay)
            .await?;
        snapshot.policy = cache.policy;
    }
    let providers = match r.installing() {
        true => apt.providers(&plan::unresolved(&specs, &snapshot)).await?,
        false => Providers::new(),
    };
    Ok(Found::Packages {
        specs,
        snapshot,
        providers,
        cache,
    })
}

/// Whether an install may be decided without the cache's candidates (asked later,
/// only if dpkg's records do not settle it).
fn defers_candidates(r: &Request) -> bool {
    r.state == State::Present && plan::may_skip_candidates(&r.specs, r.install_mode())
}

/// The names the first question asks about: the task's own or, for an item of a loop
/// asking ahead, those of every item whose question has the same shape, sorted, so
/// that all these items ask one identical question, asked once for them all. A
/// question that may update the lists, expand patterns or read `.deb` files stays the
/// item's own.
fn asked_names(siblings: Option<&[Args]>, r: &Request, own: &[String]) -> Vec<String> {
    let shape = |r: &Request| {
        let plain = !r.clean
            && r.update.is_none()
            && r.upgrade.is_none()
            && r.debs.is_empty()
            && !r.all_installed
            && r.state != State::BuildDep
            && !r.specs.iter().any(PackageSpec::is_pattern);
        plain.then(|| {
            (
                r.installing(),
                defers_candidates(r),
                r.options.default_release.clone(),
                r.options.lock_timeout,
            )
        })
    };
    let Some(mine) = shape(r) else {
        return own.to_vec();
    };
    same_shape_names(siblings, &mine, own, |args| {
        let other = AptArgs::from_args(args).ok()?.request().ok()?;
        let names = other.specs.iter().map(|s| s.name.clone()).collect();
        Some((shape(&other)?, names))
    })
    .unwrap_or_else(|| own.to_vec())
}

/// The query of dpkg's records and automatic marks of `names`, and of their
/// candidates unless the install may be decided without them (`defer`).
fn ask<'a>(r: &'a Request, names: &'a [String], defer: bool) -> Query<'a> {
    Query {
        installed: names,
        marks: if r.installing() { names } else { &[] },
        ..candidates(r, if defer { &[] } else { names })
    }
}

/// The query of the cache's candidates for `names` (none unless the task installs).
fn candidates<'a>(r: &'a Request, names: &'a [String]) -> Query<'a> {
    Query {
        lock_timeout: r.options.lock_timeout,
        available: if r.installing() { names } else { &[] },
        default_release: r.options.default_release.as_deref(),
        ..Query::default()
    }
}

/// The command line `operation` runs, simulated or for real; for an upgrade with
/// aptitude wanted, its [`Tool`] says which program the target has.
pub fn words(r: &Request, operation: &Operation, simulate: bool) -> Vec<String> {
    let options = AptOptions {
        simulate,
        ..r.options.clone()
    };
    match operation {
        Operation::Upgrade(mode, Tool::AptGet) => options.upgrade(*mode),
        Operation::Upgrade(mode, Tool::Aptitude) => options.aptitude_upgrade(*mode),
        Operation::Autoremove => options.cleanup("autoremove"),
        Operation::Autoclean => options.cleanup("autoclean"),
        Operation::BuildDep(specs) => {
            let packages: Vec<String> = specs.iter().map(PackageSpec::text).collect();
            options.install(&packages, false, true)
        }
    }
}

/// The first line of an upgrade simulation that chose between aptitude and apt-get.
const TOOL_LINE: &str = "@@bosun-apt tool aptitude\n";

/// Runs `operation` with `--simulate` (an upgrade with aptitude where Ansible would
/// use it), failing as the real run would.
async fn simulate(
    apt: &AptOn<'_, '_>,
    r: &Request,
    operation: Operation,
    cache: CacheState,
) -> Result<Found, ModuleError> {
    let apt_get = cmd::apply_script(&words(r, &operation, true), None, &[]);
    let mut operation = operation;
    let mut out = match operation {
        Operation::Upgrade(mode, _) if r.aptitude && mode != Upgrade::Dist => {
            let aptitude = Operation::Upgrade(mode, Tool::Aptitude);
            let aptitude = cmd::apply_script(&words(r, &aptitude, true), None, &[]);
            let script = format!(
                "if command -v aptitude >/dev/null 2>&1; then printf '{TOOL_LINE}'\n\
                 {aptitude}fi\n{apt_get}"
            );
            apt.run(script).await?
        }
        _ => apt.run(apt_get).await?,
    };
    if let (Operation::Upgrade(mode, _), Some(rest)) =
        (&operation, out.stdout.strip_prefix(TOOL_LINE.as_bytes()))
    {
        operation = Operation::Upgrade(*mode, Tool::Aptitude);
        out.stdout = rest.to_vec();
    }
    if out.rc != 0 {
        return Err(super::decide::failed_operation(r, &operation, &out));
    }
    Ok(Found::Simulated {
        operation,
        out,
        cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde_json::{Value as Json, json};

    fn args(value: Json) -> Args {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        Args::parse(AptArgs::PARAMS, &raw).expect("valid arguments")
    }

    fn request(value: Json) -> Request {
        AptArgs::from_args(&args(value))
            .and_then(|typed| typed.request())
            .expect("a request")
    }

    #[test]
    fn loop_items_asking_alike_ask_about_each_others_names() {
        let siblings = [
            args(json!({"name": "tree"})),
            args(json!({"name": ["curl", "bc"]})),
            args(json!({"name": "vim", "state": "absent"})),
            args(json!({"name": "git", "update_cache": true})),
        ];
        let own = |r: &Request| r.specs.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let tree = request(json!({"name": "tree"}));
        assert_eq!(
            asked_names(Some(&siblings), &tree, &own(&tree)),
            ["bc", "curl", "tree"]
        );
        let vim = request(json!({"name": "vim", "state": "absent"}));
        assert_eq!(asked_names(Some(&siblings), &vim, &own(&vim)), ["vim"]);
        let git = request(json!({"name": "git", "update_cache": true}));
        assert_eq!(
            asked_names(Some(&siblings), &git, &own(&git)),
            ["git"],
            "a question that may update the lists is the item's own"
        );
        assert_eq!(asked_names(None, &tree, &own(&tree)), ["tree"]);
    }
}

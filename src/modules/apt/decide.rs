//! `apt`'s decision: from the arguments and what the query found, the one command
//! line to run (or none) and the result keys, as Ansible's module reports them.

use serde_json::json;

use super::args::{Request, State};
use super::cmd;
use super::found::{CacheState, Found, Operation, Tool, words};
use super::plan;
use super::target::{add_output, failed_apt};
use crate::connection::CommandOutput;
use crate::modules::ModuleError;
use crate::modules::contract::Decision;

/// What `apt` changes.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing left to run: the query made the change (the lists' update, `clean`).
    Done,
    /// One apt command line.
    Run(Run),
    /// Installed packages to mark as installed by hand: Ansible does that without
    /// counting it as a change, and so does `apply`.
    MarkManual(Vec<String>),
}

/// An apt command line to run and how to read its result.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    /// The command line.
    pub words: Vec<String>,
    /// The exit status `/usr/sbin/policy-rc.d` gives meanwhile.
    pub policy_rc_d: Option<i64>,
    /// Packages to mark as installed by hand after it.
    pub manual: Vec<String>,
    /// The message when it fails; the command's stderr follows when `with_stderr`.
    pub failure: String,
    /// Whether the command's stderr ends the failure message.
    pub with_stderr: bool,
    /// Whether `msg` reports its output (upgrades do).
    pub msg: bool,
}

impl Run {
    /// A run of `words` whose failure is Ansible's `'<command line>' failed: <stderr>`.
    fn of(r: &Request, words: Vec<String>) -> Run {
        Run {
            failure: format!("'{}' failed: ", cmd::shell_line(&words)),
            words,
            policy_rc_d: r.policy_rc_d,
            manual: Vec::new(),
            with_stderr: true,
            msg: false,
        }
    }

    /// The failure for `out`, in Ansible's words (the lock's when it was the reason).
    pub fn failed(&self, out: &CommandOutput, waited: i64) -> ModuleError {
        let stderr = if self.with_stderr {
            out.stderr_text()
        } else {
            String::new()
        };
        failed_apt(format!("{}{stderr}", self.failure), out, waited)
    }
}

/// Chooses what brings the target to what `r` asks, given what the query found.
pub fn decide(r: &Request, found: Found) -> Result<Decision<Plan>, String> {
    Ok(match found {
        Found::Cleaned(out) => {
            let msg = out.stdout_text();
            with_output(Decision::change(Plan::Done), &out).with("msg", msg)
        }
        Found::Cache(cache) => {
            with_cache(Decision::maybe(cache.updated.then_some(Plan::Done)), cache)
        }
        Found::AllAndNames => {
            return Err(
                "unable to install additional packages when upgrading all installed packages"
                    .into(),
            );
        }
        Found::Simulated {
            operation,
            out,
            cache,
        } => simulated(r, operation, &out, cache),
        Found::Debs(snapshot) => {
            let paths = plan::plan_debs(&snapshot)?;
            if paths.is_empty() {
                return Ok(Decision::unchanged().with("stdout", "").with("stderr", ""));
            }
            // apt-get installs local files (a path with a `/`) and their dependencies.
            let files: Vec<String> = paths
                .iter()
                .map(|p| match p.contains('/') {
                    true => p.clone(),
                    false => format!("./{p}"),
                })
                .collect();
            let words = r.options.install(&files, false, false);
            let failure = format!("{} failed", cmd::shell_line(&words));
            Decision::change(Plan::Run(Run {
                failure,
                with_stderr: false,
                ..Run::of(r, words)
            }))
        }
        Found::Packages {
            specs,
            snapshot,
            providers,
            cache,
        } => match r.state {
            State::Absent => {
                let packages = plan::plan_remove(&specs, &snapshot, r.options.purge);
                if packages.is_empty() {
                    return Ok(Decision::unchanged());
                }
                let quoted: Vec<String> = packages.iter().map(|p| format!("'{p}'")).collect();
                let failure = format!("'apt-get remove {}' failed: ", quoted.join(" "));
                let words = r.options.remove(&packages);
                Decision::change(Plan::Run(Run {
                    failure,
                    ..Run::of(r, words)
                }))
            }
            State::BuildDep => with_cache(Decision::unchanged(), cache),
            State::Present | State::Latest | State::Fixed => {
                let plan = plan::plan_install(&specs, &snapshot, &providers, r.install_mode())?;
                let decision = match (plan.args.is_empty(), plan.mark_manual.is_empty()) {
                    (true, true) => Decision::unchanged(),
                    (true, false) => Decision::change(Plan::MarkManual(plan.mark_manual)),
                    (false, _) => {
                        let words = r
                            .options
                            .install(&plan.args, r.state == State::Fixed, false);
                        Decision::change(Plan::Run(Run {
                            manual: plan.names,
                            ..Run::of(r, words)
                        }))
                    }
                };
                with_cache(decision, cache)
            }
        },
    })
}

/// The decision after a simulation: the real run when apt said it would change
/// something, with the simulation's output and diff reported.
fn simulated(
    r: &Request,
    operation: Operation,
    out: &CommandOutput,
    cache: CacheState,
) -> Decision<Plan> {
    let stdout = out.stdout_text();
    let changed = match &operation {
        Operation::Upgrade(_, Tool::AptGet) | Operation::BuildDep(_) => !cmd::nothing_done(&stdout),
        Operation::Upgrade(_, Tool::Aptitude) => !cmd::aptitude_nothing_done(&stdout),
        Operation::Autoremove => stdout.contains("The following packages will be REMOVED"),
        Operation::Autoclean => stdout.contains("Del "),
    };
    let is_upgrade = matches!(operation, Operation::Upgrade(..));
    let run = changed.then(|| {
        let mut run = Run::of(r, words(r, &operation, false));
        run.failure = failure_prefix(&operation).unwrap_or(run.failure);
        run.msg = is_upgrade;
        run
    });
    let mut decision = with_output(Decision::maybe(run.map(Plan::Run)), out)
        .with_diff(json!({ "prepared": cmd::prepared(&stdout) }));
    if is_upgrade {
        decision = decision.with("msg", stdout);
    }
    match operation {
        Operation::BuildDep(_) => with_cache(decision, cache),
        _ => decision,
    }
}

/// The start of the message when `operation` fails, in Ansible's words; `None` when
/// it is the command line's.
fn failure_prefix(operation: &Operation) -> Option<String> {
    Some(match operation {
        Operation::Upgrade(mode, Tool::AptGet) => {
            let sub = match mode.as_str() {
                "full" | "dist" => "dist-upgrade",
                _ => "upgrade --with-new-pkgs",
            };
            format!("'apt-get {sub}' failed: ")
        }
        Operation::Upgrade(mode, Tool::Aptitude) => {
            let sub = match mode.as_str() {
                "full" => "full-upgrade",
                _ => "safe-upgrade",
            };
            format!("'aptitude {sub}' failed: ")
        }
        Operation::Autoremove => "'apt-get autoremove' failed: ".into(),
        Operation::Autoclean => "'apt-get autoclean' failed: ".into(),
        Operation::BuildDep(_) => return None,
    })
}

/// The failure of a simulated `operation` that apt refused.
pub fn failed_operation(r: &Request, operation: &Operation, out: &CommandOutput) -> ModuleError {
    let mut run = Run::of(r, words(r, operation, true));
    run.failure = failure_prefix(operation).unwrap_or(run.failure);
    run.failed(out, r.options.lock_timeout)
}

/// `decision` reporting the cache fields.
fn with_cache(decision: Decision<Plan>, cache: CacheState) -> Decision<Plan> {
    decision
        .with("cache_updated", cache.updated)
        .with("cache_update_time", cache.time)
}

/// `decision` reporting what `out` printed.
fn with_output(mut decision: Decision<Plan>, out: &CommandOutput) -> Decision<Plan> {
    add_output(&mut decision.result, out);
    decision
}

#[cfg(test)]
mod tests {
    use super::super::args::AptArgs;
    use super::super::query::{Installed, Policy, Providers, Snapshot};
    use super::*;
    use serde_json::Value as Json;

    fn request(args: Json) -> Request {
        let args: AptArgs = crate::modules::typed::from_json(args).expect("valid arguments");
        args.request().expect("a valid request")
    }

    fn output(stdout: &str) -> CommandOutput {
        CommandOutput {
            rc: 0,
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    const CACHE: CacheState = CacheState {
        updated: false,
        time: 1700,
    };

    /// tree available and not installed; hello installed, marked automatic.
    fn packages(r: &Request) -> Found {
        let mut snapshot = Snapshot::default();
        for (name, version) in [("tree", "2.1.0-1"), ("hello", "2.10-3")] {
            let policy = Policy {
                candidate: Some(version.into()),
                versions: vec![version.into()],
            };
            snapshot.policy.insert(name.into(), policy);
        }
        let installed = Installed {
            status: "installed".into(),
            version: "2.10-3".into(),
        };
        snapshot.installed.insert("hello".into(), installed);
        snapshot.auto.insert("hello".into());
        Found::Packages {
            specs: r.specs.clone(),
            snapshot,
            providers: Providers::new(),
            cache: CACHE,
        }
    }

    #[test]
    fn a_missing_package_is_installed_and_marked_manual() {
        let r = request(serde_json::json!({"name": ["tree", "hello"]}));
        let decision = decide(&r, packages(&r)).expect("a decision");
        let Some(Plan::Run(run)) = decision.plan else {
            panic!("an install: {:?}", decision.plan);
        };
        assert!(
            run.words
                .ends_with(&["install".into(), "tree=2.1.0-1".into()])
        );
        assert_eq!(run.manual, ["tree", "hello"]);
        assert_eq!(decision.result["cache_update_time"], 1700);
    }

    #[test]
    fn an_installed_automatic_package_is_only_marked() {
        let r = request(serde_json::json!({"name": "hello"}));
        let decision = decide(&r, packages(&r)).expect("a decision");
        assert_eq!(decision.plan, Some(Plan::MarkManual(vec!["hello".into()])));
        let r = request(serde_json::json!({"name": "hello", "state": "absent"}));
        let Some(Plan::Run(run)) = decide(&r, packages(&r)).expect("a decision").plan else {
            panic!("a removal");
        };
        assert_eq!(run.failure, "'apt-get remove 'hello'' failed: ");
        let r = request(serde_json::json!({"name": "tree", "state": "absent"}));
        assert!(decide(&r, packages(&r)).expect("a decision").plan.is_none());
    }

    #[test]
    fn an_upgrade_runs_only_when_the_simulation_changes_something() {
        let r = request(serde_json::json!({"upgrade": "dist"}));
        let quiet = Found::Simulated {
            operation: Operation::Upgrade(super::super::args::Upgrade::Dist, Tool::AptGet),
            out: output("Reading...\n0 upgraded, 0 newly installed, 0 to remove."),
            cache: CACHE,
        };
        let decision = decide(&r, quiet).expect("a decision");
        assert!(decision.plan.is_none());
        assert!(
            decision.result["msg"]
                .as_str()
                .is_some_and(|m| m.contains("0 upgraded"))
        );
        let busy = Found::Simulated {
            operation: Operation::Upgrade(super::super::args::Upgrade::Dist, Tool::AptGet),
            out: output("Reading...\n1 upgraded, 0 newly installed, 0 to remove."),
            cache: CACHE,
        };
        let Some(Plan::Run(run)) = decide(&r, busy).expect("a decision").plan else {
            panic!("an upgrade");
        };
        assert_eq!(run.words.last().map(String::as_str), Some("dist-upgrade"));
        assert!(!run.words.contains(&"--simulate".to_string()));
        assert_eq!(run.failure, "'apt-get dist-upgrade' failed: ");
    }

    #[test]
    fn cache_and_clean_alone_report_as_ansible() {
        let r = request(serde_json::json!({"update_cache": true}));
        let updated = CacheState {
            updated: true,
            time: 1800,
        };
        assert_eq!(
            decide(&r, Found::Cache(updated)).expect("a decision").plan,
            Some(Plan::Done)
        );
        assert!(
            decide(&r, Found::Cache(CACHE))
                .expect("a decision")
                .plan
                .is_none()
        );
        let r = request(serde_json::json!({"clean": true}));
        let decision = decide(&r, Found::Cleaned(output("cleaned"))).expect("a decision");
        assert_eq!(decision.plan, Some(Plan::Done));
        assert_eq!(decision.result["msg"], "cleaned");
        let r = request(serde_json::json!({"name": ["*", "tree"], "state": "latest"}));
        assert!(decide(&r, Found::AllAndNames).is_err());
    }
}

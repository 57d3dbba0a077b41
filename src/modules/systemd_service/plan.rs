//! What `systemd_service` must do to a unit, decided from the query's answer the way
//! Ansible's module decides it (mask, then enable, then the running state), and the
//! one script that does it.

use serde_json::{Map, Value as Json};

use super::unit::{MARK, UnitFacts};
use crate::connection::quote;

/// What the task asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `started`, `stopped`, `restarted`, `reloaded` or `tried-restart`.
    pub state: Option<String>,
    /// Start at boot.
    pub enabled: Option<bool>,
    /// Masked (impossible to start).
    pub masked: Option<bool>,
    /// `scope: system` (the init script fallbacks apply only there).
    pub system_scope: bool,
}

/// What a failing step means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Carry on (masking a unit systemd knows: some versions refuse, harmlessly).
    Ignore,
    /// The unit does not exist: "Could not find the requested service".
    Missing,
    /// "Unable to <verb> service <unit>: <output>".
    Unable,
}

/// One `systemctl` verb to run on the unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// `mask`, `enable`, `start` ...
    pub verb: &'static str,
    /// How its failure is reported.
    pub on_failure: OnFailure,
}

/// The decision: the steps, and what the result reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// The steps, in order; empty: nothing changes.
    pub steps: Vec<Step>,
    /// `systemctl show`'s properties before any change.
    pub status: Map<String, Json>,
    /// `enabled` in the result (the state after the run), when asked.
    pub enabled: Option<bool>,
    /// `state` in the result, when asked.
    pub state: Option<String>,
    /// Warnings for the result.
    pub warnings: Vec<String>,
}

/// The message for a unit that exists neither for systemd nor as an init script.
pub fn missing(unit: &str) -> String {
    format!("Could not find the requested service {unit}: host")
}

/// Checks the manager commands that ran before the query: a failure is fatal unless
/// systemd is not running (chroot, container build), where Ansible only warns.
pub fn check_manager(facts: &UnitFacts, warnings: &mut Vec<String>) -> Result<(), String> {
    for (verb, ran) in [
        ("daemon-reexec", &facts.reexec),
        ("daemon-reload", &facts.reload),
    ] {
        let Some(ran) = ran.as_ref().filter(|r| r.rc != 0) else {
            continue;
        };
        if facts.booted {
            return Err(format!(
                "failure {} during {verb}: {}",
                ran.rc,
                ran.output.trim()
            ));
        }
        warnings.push(format!(
            "{verb} failed, but target is a chroot or systemd is offline. Continuing. Error was: {} / {}",
            ran.rc,
            ran.output.trim()
        ));
    }
    Ok(())
}

/// Decides the steps for `unit`.
pub fn decide(unit: &str, facts: &UnitFacts, wanted: &Wanted) -> Result<Decision, String> {
    let mut decision = Decision::default();
    let is_systemd = match facts.status() {
        Some(status) => {
            let load = status.get("LoadState").and_then(Json::as_str);
            let is_systemd = load.is_some_and(|l| l != "not-found");
            if is_systemd
                && load != Some("masked")
                && let Some(error) = status.get("LoadError").and_then(Json::as_str)
            {
                return Err(format!("Error loading unit file '{unit}': {error}"));
            }
            decision.status = status;
            is_systemd
        }
        None if facts.enabled_proves_systemd() => true,
        None if !facts.booted && !facts.sysv => {
            let why = facts.show.as_ref().map(|s| s.output.trim()).unwrap_or("");
            return Err(format!("systemctl cannot manage {unit} here: {why}"));
        }
        None => false,
    };
    let found = is_systemd || facts.sysv;
    if facts.sysv && !is_systemd {
        decision.warnings.push(format!(
            "The service ({unit}) is actually an init script but the system is managed by systemd"
        ));
    }

    let mut masked_now = facts.enabled_word() == "masked";
    if let Some(masked) = wanted.masked
        && masked != masked_now
    {
        decision.steps.push(Step {
            verb: if masked { "mask" } else { "unmask" },
            on_failure: if found {
                OnFailure::Ignore
            } else {
                OnFailure::Missing
            },
        });
        masked_now = masked;
    }

    if let Some(enabled) = wanted.enabled {
        if !found {
            return Err(missing(unit));
        }
        let enabled_now = !masked_now && is_enabled(facts, wanted.system_scope);
        if enabled != enabled_now {
            decision.steps.push(Step {
                verb: if enabled { "enable" } else { "disable" },
                on_failure: OnFailure::Unable,
            });
        }
        decision.enabled = Some(enabled);
    }

    if let Some(state) = &wanted.state {
        if !found {
            return Err(missing(unit));
        }
        decision.state = Some(state.clone());
        match decision.status.get("ActiveState").and_then(Json::as_str) {
            Some(active) => {
                let running = matches!(active, "active" | "activating");
                let verb = match state.as_str() {
                    "started" => (!running).then_some("start"),
                    "stopped" => (running || active == "deactivating").then_some("stop"),
                    "tried-restart" => {
                        decision.state = Some(if running { "started" } else { "stopped" }.into());
                        running.then_some("restart")
                    }
                    _ => {
                        decision.state = Some("started".into());
                        Some(match (running, state.as_str()) {
                            (false, _) => "start",
                            (true, "reloaded") => "reload",
                            (true, _) => "restart",
                        })
                    }
                };
                if let Some(verb) = verb {
                    decision.steps.push(Step {
                        verb,
                        on_failure: OnFailure::Unable,
                    });
                }
            }
            None if !facts.booted => decision.warnings.push(
                "Target is a chroot or systemd is offline. This can lead to false positives or \
                 prevent the init system tools from working."
                    .into(),
            ),
            None => return Err("Service is in unknown state".into()),
        }
    }
    Ok(decision)
}

/// Whether the unit starts at boot, by `is-enabled` (`indirect` and `alias` are not),
/// or by its init script's rc links when systemd does not know it.
fn is_enabled(facts: &UnitFacts, system_scope: bool) -> bool {
    let rc = facts.is_enabled.as_ref().map_or(-1, |r| r.rc);
    let word = facts.enabled_word();
    match rc {
        0 => !matches!(word, "indirect" | "alias"),
        1 => system_scope && facts.sysv && !word.ends_with("disabled") && facts.sysv_enabled,
        _ => false,
    }
}

/// The script that runs the steps in order with `systemctl` (with its switches),
/// stopping at the first failure that is not ignored; each failure is reported as
/// `MARK failed VERB RC` followed by the command's output.
pub fn apply_script(systemctl: &str, unit: &str, steps: &[Step], user_scope: bool) -> String {
    let mut script = String::new();
    if user_scope {
        script.push_str("export XDG_RUNTIME_DIR=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"\n");
    }
    script.push_str(&format!(
        "step() {{ out=$({systemctl} \"$1\" -- {} 2>&1); rc=$?; [ $rc -eq 0 ] && return 0; \
         echo \"{MARK} failed $1 $rc\"; printf '%s\\n' \"$out\"; [ \"$2\" = ignore ]; }}\n",
        quote(unit)
    ));
    let chain: Vec<String> = steps
        .iter()
        .map(|step| {
            let mode = if step.on_failure == OnFailure::Ignore {
                "ignore"
            } else {
                "stop"
            };
            format!("step {} {mode}", step.verb)
        })
        .collect();
    script.push_str(&chain.join(" && "));
    script.push('\n');
    script
}

/// The first failure the apply script reported that is not ignored: its message.
pub fn apply_failure(unit: &str, steps: &[Step], output: &str) -> Option<String> {
    let mut failures: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in output.lines() {
        if let Some(header) = line.strip_prefix(MARK) {
            if let Some(verb) = header.split_whitespace().nth(1) {
                failures.push((verb, Vec::new()));
            }
        } else if let Some((_, body)) = failures.last_mut() {
            body.push(line);
        }
    }
    failures.into_iter().find_map(|(verb, body)| {
        let step = steps.iter().find(|s| s.verb == verb)?;
        let text = body.join("\n");
        match step.on_failure {
            OnFailure::Ignore => None,
            OnFailure::Missing => Some(missing(unit)),
            OnFailure::Unable => Some(format!("Unable to {verb} service {unit}: {}", text.trim())),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::unit::Ran;
    use super::*;

    fn facts(show: &str, enabled: &str, enabled_rc: i32) -> UnitFacts {
        UnitFacts {
            booted: true,
            show: Some(Ran {
                rc: 0,
                output: show.into(),
            }),
            is_enabled: Some(Ran {
                rc: enabled_rc,
                output: enabled.into(),
            }),
            ..UnitFacts::default()
        }
    }

    fn wanted(state: Option<&str>, enabled: Option<bool>, masked: Option<bool>) -> Wanted {
        Wanted {
            state: state.map(str::to_string),
            enabled,
            masked,
            system_scope: true,
        }
    }

    fn verbs(decision: &Decision) -> Vec<&'static str> {
        decision.steps.iter().map(|s| s.verb).collect()
    }

    const STOPPED: &str = "Id=x.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead";
    const RUNNING: &str = "Id=x.service\nLoadState=loaded\nActiveState=active\nSubState=running";

    #[test]
    fn started_and_enabled_from_scratch() {
        let d = decide(
            "x",
            &facts(STOPPED, "disabled", 1),
            &wanted(Some("started"), Some(true), None),
        )
        .expect("a decision");
        assert_eq!(verbs(&d), vec!["enable", "start"]);
        assert_eq!(d.enabled, Some(true));
        assert_eq!(d.state.as_deref(), Some("started"));
        assert_eq!(d.status["SubState"], "dead");
    }

    #[test]
    fn converged_units_need_nothing() {
        let d = decide(
            "x",
            &facts(RUNNING, "enabled", 0),
            &wanted(Some("started"), Some(true), Some(false)),
        )
        .expect("a decision");
        assert!(d.steps.is_empty(), "{d:?}");
        let d = decide(
            "x",
            &facts(RUNNING, "static", 0),
            &wanted(None, Some(true), None),
        )
        .expect("a decision");
        assert!(d.steps.is_empty(), "static counts as enabled");
        let d = decide(
            "x",
            &facts(STOPPED, "disabled", 1),
            &wanted(Some("stopped"), Some(false), None),
        )
        .expect("a decision");
        assert!(d.steps.is_empty(), "{d:?}");
    }

    #[test]
    fn restarted_and_reloaded_always_act() {
        let d = decide(
            "x",
            &facts(RUNNING, "enabled", 0),
            &wanted(Some("restarted"), None, None),
        )
        .expect("a decision");
        assert_eq!(verbs(&d), vec!["restart"]);
        let d = decide(
            "x",
            &facts(RUNNING, "enabled", 0),
            &wanted(Some("reloaded"), None, None),
        )
        .expect("a decision");
        assert_eq!(verbs(&d), vec!["reload"]);
        let d = decide(
            "x",
            &facts(STOPPED, "enabled", 0),
            &wanted(Some("reloaded"), None, None),
        )
        .expect("a decision");
        assert_eq!(verbs(&d), vec!["start"]);
        assert_eq!(d.state.as_deref(), Some("started"));
        let d = decide(
            "x",
            &facts(STOPPED, "enabled", 0),
            &wanted(Some("tried-restart"), None, None),
        )
        .expect("a decision");
        assert!(d.steps.is_empty());
        assert_eq!(d.state.as_deref(), Some("stopped"));
    }

    #[test]
    fn masking_comes_first_and_masked_units_are_not_enabled() {
        let d = decide(
            "x",
            &facts(RUNNING, "enabled", 0),
            &wanted(Some("stopped"), Some(false), Some(true)),
        )
        .expect("a decision");
        assert_eq!(verbs(&d), vec!["mask", "stop"]);
        let d = decide(
            "x",
            &facts(STOPPED, "masked", 1),
            &wanted(None, Some(true), Some(false)),
        )
        .expect("a decision");
        assert_eq!(verbs(&d), vec!["unmask", "enable"]);
    }

    #[test]
    fn unknown_units_fail_in_ansibles_words() {
        let not_found = "Id=nosuch.service\nLoadState=not-found\nActiveState=inactive";
        let err = decide(
            "nosuch",
            &facts(not_found, "", 4),
            &wanted(Some("started"), None, None),
        )
        .expect_err("missing");
        assert_eq!(err, "Could not find the requested service nosuch: host");
        let d = decide(
            "nosuch",
            &facts(not_found, "", 4),
            &wanted(None, None, Some(true)),
        )
        .expect("masking needs no unit");
        assert_eq!(d.steps[0].on_failure, OnFailure::Missing);
        let broken = "Id=x.service\nLoadState=bad-setting\nLoadError=org.freedesktop.systemd1.BadSetting \"bad\"";
        let err = decide(
            "x",
            &facts(broken, "", 1),
            &wanted(Some("started"), None, None),
        )
        .expect_err("a load error");
        assert!(err.starts_with("Error loading unit file 'x': "), "{err}");
    }

    #[test]
    fn init_scripts_count_when_systemd_does_not_know_the_unit() {
        let not_found = "Id=old.service\nLoadState=not-found\nActiveState=inactive";
        let mut f = facts(not_found, "", 1);
        f.sysv = true;
        f.sysv_enabled = true;
        let d = decide("old", &f, &wanted(None, Some(true), None)).expect("a decision");
        assert!(d.steps.is_empty(), "its rc links enable it: {d:?}");
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn manager_failures_are_fatal_only_where_systemd_runs() {
        let mut warnings = Vec::new();
        let mut f = facts(RUNNING, "enabled", 0);
        f.reload = Some(Ran {
            rc: 1,
            output: "Access denied".into(),
        });
        assert_eq!(
            check_manager(&f, &mut warnings),
            Err("failure 1 during daemon-reload: Access denied".into())
        );
        f.booted = false;
        assert_eq!(check_manager(&f, &mut warnings), Ok(()));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn the_apply_script_stops_at_the_first_real_failure() {
        let steps = vec![
            Step {
                verb: "mask",
                on_failure: OnFailure::Ignore,
            },
            Step {
                verb: "start",
                on_failure: OnFailure::Unable,
            },
        ];
        let script = apply_script("systemctl --no-block", "my app", &steps, false);
        assert!(
            script.contains("systemctl --no-block \"$1\" -- 'my app'"),
            "{script}"
        );
        assert!(
            script.ends_with("step mask ignore && step start stop\n"),
            "{script}"
        );
        let output = format!(
            "{MARK} failed mask 1\nFailed to mask unit: Access denied\n\
             {MARK} failed start 5\nJob for my app.service failed.\n"
        );
        assert_eq!(
            apply_failure("my app", &steps, &output).as_deref(),
            Some("Unable to start service my app: Job for my app.service failed.")
        );
        assert_eq!(apply_failure("my app", &steps, ""), None);
    }
}

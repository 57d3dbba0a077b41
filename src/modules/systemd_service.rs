//! `systemd_service` (alias `systemd`): systemd units as Ansible's module manages them,
//! on the contract. One query round trip (daemon-reexec/daemon-reload first, outside
//! check mode, then `systemctl show` and `systemctl is-enabled`), a pure decision
//! ([`UnitRequest::decide`]), and one script that masks, enables and starts (or the
//! opposites) in that order.
//!
//! `daemon_reload` and `daemon_reexec` must run before `systemctl show`, or a unit file
//! installed by the task before is not found yet; Ansible skips them in check mode and
//! never counts them as a change. So they are the module's
//! [`StateModule::prepare_and_query`], which the driver calls only outside check mode.

mod plan;
mod union;
mod unit;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::contract::{Decision, StateModule};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::Command;
pub use plan::{Step, Wanted};
#[cfg(test)]
pub use unit::Ran;
pub use unit::UnitFacts;
use unit::UnitQuery;

arg_enum! {
    /// Which manager to talk to.
    pub enum Scope {
        System = "system",
        User = "user",
        Global = "global",
    }
}

arg_enum! {
    /// What the unit should be doing.
    pub enum UnitState {
        Reloaded = "reloaded",
        Restarted = "restarted",
        Started = "started",
        Stopped = "stopped",
        TriedRestart = "tried-restart",
    }
}

module_args! {
    /// The arguments of `systemd_service` and `systemd`.
    pub struct SystemdArgs {
        /// The unit (`nginx`, `nginx.service`, `backup.timer`).
        name: Option<String> => .aliases(&["service", "unit"]),
        state: Option<UnitState>,
        /// Whether the unit starts at boot.
        enabled: Option<bool>,
        /// `systemctl --force`.
        force: bool => .default_bool(false),
        /// Whether the unit is masked (impossible to start).
        masked: Option<bool>,
        /// Whether to run `daemon-reload` before anything else.
        daemon_reload: bool => .default_bool(false) .aliases(&["daemon-reload"]),
        /// Whether to run `daemon-reexec` before anything else.
        daemon_reexec: bool => .default_bool(false) .aliases(&["daemon-reexec"]),
        scope: Scope => .default_str("system"),
        /// `systemctl --no-block`.
        no_block: bool => .default_bool(false),
    }
    rules: Rules {
        required_one_of: &[&["state", "enabled", "masked", "daemon_reload", "daemon_reexec"]],
        ..Rules::NONE
    };
}

/// `systemd_service`: starts, stops, restarts, reloads, enables and masks systemd
/// units. Registered under `systemd` too ([`super::contract::Alias`]).
pub struct SystemdService;

#[async_trait]
impl StateModule for SystemdService {
    const NAME: &'static str = "systemd_service";
    type Args = SystemdArgs;
    type State = UnitFacts;
    type Plan = Vec<Step>;

    async fn query(&self, on: &Target<'_>, args: &SystemdArgs) -> Result<UnitFacts, ModuleError> {
        let request = UnitRequest::from_typed(args).map_err(ModuleError::Failed)?;
        request.query(on, false).await
    }

    async fn prepare_and_query(
        &self,
        on: &Target<'_>,
        args: &SystemdArgs,
    ) -> Result<UnitFacts, ModuleError> {
        let request = UnitRequest::from_typed(args).map_err(ModuleError::Failed)?;
        request.query(on, true).await
    }

    fn decide(&self, args: &SystemdArgs, facts: UnitFacts) -> Result<Decision<Vec<Step>>, String> {
        UnitRequest::from_typed(args)?.decide(&facts, Vec::new())
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &SystemdArgs,
        steps: Vec<Step>,
    ) -> Result<Outcome, ModuleError> {
        let request = UnitRequest::from_typed(args).map_err(ModuleError::Failed)?;
        request.apply(on, &steps).await?;
        Ok(Outcome::new())
    }
}

/// A checked `systemd_service` task: what `service` hands over on systemd hosts too.
#[derive(Clone, Debug, Default)]
pub struct UnitRequest {
    /// The unit (`nginx`, `nginx.service`, `backup.timer`).
    pub unit: Option<String>,
    /// What the task asks of it.
    pub wanted: Wanted,
    /// `daemon_reload`.
    pub reload: bool,
    /// `daemon_reexec`.
    pub reexec: bool,
    /// `system`, `user` or `global`.
    pub scope: String,
    /// `no_block`.
    pub no_block: bool,
    /// `force`.
    pub force: bool,
}

impl UnitRequest {
    /// Checks the typed arguments as Ansible does (`name` required by `state`,
    /// `enabled` and `masked`; no glob patterns).
    pub fn from_typed(args: &SystemdArgs) -> Result<UnitRequest, String> {
        let unit = args.name.clone();
        if unit.is_none()
            && let Some(needs) = [
                ("state", args.state.is_some()),
                ("enabled", args.enabled.is_some()),
                ("masked", args.masked.is_some()),
            ]
            .into_iter()
            .find_map(|(name, given)| given.then_some(name))
        {
            return Err(format!("missing parameter(s) required by '{needs}': name"));
        }
        if let Some(unit) = &unit
            && let Some(glob) = ["*", "?", "["].into_iter().find(|g| unit.contains(g))
        {
            return Err(format!(
                "This module does not currently support using glob patterns, found '{glob}' in service name: {unit}"
            ));
        }
        Ok(UnitRequest {
            unit,
            wanted: Wanted {
                state: args.state.map(|s| s.as_str().to_string()),
                enabled: args.enabled,
                masked: args.masked,
                system_scope: args.scope == Scope::System,
            },
            reload: args.daemon_reload,
            reexec: args.daemon_reexec,
            scope: args.scope.as_str().to_string(),
            no_block: args.no_block,
            force: args.force,
        })
    }

    /// `systemctl` with the scope and mode switches.
    fn systemctl(&self) -> String {
        let mut command = String::from("systemctl");
        if self.scope != "system" {
            command.push_str(&format!(" --{}", self.scope));
        }
        if self.no_block {
            command.push_str(" --no-block");
        }
        if self.force {
            command.push_str(" --force");
        }
        command
    }

    /// Runs the query; daemon-reexec and daemon-reload first when asked and
    /// `prepare` (outside check mode).
    /// An item of a loop asks about its siblings' units too ([`union`]), and asks
    /// alone only when that answer does not settle its own unit.
    pub async fn query(&self, on: &Target<'_>, prepare: bool) -> Result<UnitFacts, ModuleError> {
        if let (Some(units), Some(unit)) = (union::units_asked(self, on.siblings), &self.unit) {
            let script = union::script(&self.systemctl(), self.scope != "system", &units);
            let out = on.conn.exec(&Command::new(script)).await?;
            if let Some(facts) = union::facts_of(&out.stdout_text(), &units, unit) {
                return Ok(facts);
            }
        }
        let own = Command {
            looks_only: !(prepare && (self.reload || self.reexec)),
            ..Command::new(self.query_script(prepare))
        };
        let out = on.conn.exec(&own).await?;
        Ok(UnitFacts::parse(&out.stdout_text()))
    }

    /// The query's script: daemon-reexec and daemon-reload first when asked and
    /// `prepare`.
    fn query_script(&self, prepare: bool) -> String {
        let systemctl = self.systemctl();
        UnitQuery {
            systemctl: &systemctl,
            user_scope: self.scope != "system",
            reexec: self.reexec && prepare,
            reload: self.reload && prepare,
            unit: self.unit.as_deref(),
        }
        .script()
    }

    /// Decides from `facts` the steps to run (none: nothing changes) and what the
    /// result reports, as Ansible does: `name`, `status` (before the change),
    /// `enabled`, `state`, and `warnings` (after the ones given).
    pub fn decide(
        &self,
        facts: &UnitFacts,
        mut warnings: Vec<String>,
    ) -> Result<Decision<Vec<Step>>, String> {
        plan::check_manager(facts, &mut warnings)?;
        let Some(unit) = &self.unit else {
            let decision = Decision::unchanged()
                .with("name", Json::Null)
                .with("status", json!({}));
            return Ok(with_warnings(decision, warnings));
        };
        let planned = plan::decide(unit, facts, &self.wanted)?;
        warnings.extend(planned.warnings.iter().cloned());
        let steps = Some(planned.steps).filter(|steps| !steps.is_empty());
        let mut decision = Decision::maybe(steps).with("name", json!(unit));
        if let Some(enabled) = planned.enabled {
            decision = decision.with("enabled", enabled);
        }
        if let Some(state) = planned.state {
            decision = decision.with("state", state);
        }
        let decision = decision.with("status", Json::Object(planned.status));
        Ok(with_warnings(decision, warnings))
    }

    /// Runs the decided steps in one script.
    pub async fn apply(&self, on: &Target<'_>, steps: &[Step]) -> Result<(), ModuleError> {
        let Some(unit) = &self.unit else {
            return Ok(());
        };
        let script = plan::apply_script(&self.systemctl(), unit, steps, self.scope != "system");
        let out = on.conn.exec(&Command::new(script)).await?;
        match plan::apply_failure(unit, steps, &out.stdout_text()) {
            Some(msg) => Err(ModuleError::Failed(msg)),
            None => Ok(()),
        }
    }
}

/// The decision with `warnings` in its result, when there are any.
fn with_warnings<P>(decision: Decision<P>, warnings: Vec<String>) -> Decision<P> {
    match warnings.is_empty() {
        true => decision,
        false => decision.with("warnings", json!(warnings)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn request(value: Json) -> Result<UnitRequest, String> {
        UnitRequest::from_typed(&from_json(value)?)
    }

    #[test]
    fn arguments_are_checked_as_ansible_checks_them() {
        assert_eq!(
            request(json!({"name": "x"})).err().as_deref(),
            Some(
                "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec"
            )
        );
        assert_eq!(
            request(json!({"state": "started"})).err().as_deref(),
            Some("missing parameter(s) required by 'state': name")
        );
        assert!(
            request(json!({"name": "x*", "state": "started"}))
                .err()
                .is_some_and(|e| e.contains("found '*' in service name: x*"))
        );
        let only_reload = request(json!({"daemon_reload": true})).expect("valid");
        assert!(only_reload.reload && only_reload.unit.is_none());
    }

    #[test]
    fn scope_and_modes_become_switches() {
        let r =
            request(json!({"name": "x", "state": "started", "scope": "user", "no_block": true}))
                .expect("valid");
        assert_eq!(r.systemctl(), "systemctl --user --no-block");
        assert!(!r.wanted.system_scope);
        let r = request(json!({"unit": "x", "enabled": "yes"})).expect("valid");
        assert_eq!(r.systemctl(), "systemctl");
        assert_eq!(r.wanted.enabled, Some(true));
    }

    fn facts(show: &str, enabled: &str, rc: i32) -> UnitFacts {
        UnitFacts::parse(&format!(
            "{m} booted yes\n{m} open show\n{show}\n{m} close show 0\n\
             {m} open is-enabled\n{enabled}\n{m} close is-enabled {rc}\n",
            m = unit::MARK
        ))
    }

    /// The contract's decision for a task, from `systemctl show` and `is-enabled`.
    fn decide(task: Json, facts: &UnitFacts) -> Decision<Vec<Step>> {
        let args: SystemdArgs = from_json(task).expect("valid");
        SystemdService
            .decide(&args, facts.clone())
            .expect("a decision")
    }

    fn verbs(decision: &Decision<Vec<Step>>) -> Vec<&'static str> {
        decision.plan.iter().flatten().map(|s| s.verb).collect()
    }

    const STOPPED: &str = "Id=x.service\nLoadState=loaded\nActiveState=inactive";
    const RUNNING: &str = "Id=x.service\nLoadState=loaded\nActiveState=active";

    #[test]
    fn the_decision_reports_status_and_what_was_asked() {
        let task = json!({"name": "x", "state": "started", "enabled": true});
        let d = decide(task.clone(), &facts(STOPPED, "disabled", 1));
        assert_eq!(verbs(&d), ["enable", "start"]);
        assert_eq!(d.result["name"], json!("x"));
        assert_eq!(d.result["status"]["ActiveState"], json!("inactive"));
        assert_eq!(d.result["enabled"], json!(true));
        assert_eq!(d.result["state"], json!("started"));
        assert!(d.diff.is_none());
        let d = decide(task, &facts(RUNNING, "enabled", 0));
        assert!(d.plan.is_none(), "converged: {d:?}");
        assert_eq!(d.result["status"]["ActiveState"], json!("active"));
        let r = request(json!({"name": "x", "state": "started"})).expect("valid");
        let d = r
            .decide(&facts(RUNNING, "enabled", 0), vec!["a warning".into()])
            .expect("a decision");
        assert_eq!(d.result["warnings"], json!(["a warning"]));
    }

    #[test]
    fn each_state_moves_the_unit_as_ansible_does() {
        let cases: &[(&str, &str, &[&str], &str)] = &[
            ("started", STOPPED, &["start"], "started"),
            ("started", RUNNING, &[], "started"),
            ("stopped", RUNNING, &["stop"], "stopped"),
            ("stopped", STOPPED, &[], "stopped"),
            ("restarted", RUNNING, &["restart"], "started"),
            ("restarted", STOPPED, &["start"], "started"),
            ("reloaded", RUNNING, &["reload"], "started"),
            ("reloaded", STOPPED, &["start"], "started"),
            ("tried-restart", RUNNING, &["restart"], "started"),
            ("tried-restart", STOPPED, &[], "stopped"),
        ];
        for (state, show, steps, reported) in cases {
            let d = decide(
                json!({"name": "x", "state": state}),
                &facts(show, "enabled", 0),
            );
            assert_eq!(verbs(&d), *steps, "{state} from {show}");
            assert_eq!(d.plan.is_some(), !steps.is_empty());
            assert_eq!(d.result["state"], json!(reported), "{state} from {show}");
            assert!(d.result.get("enabled").is_none());
        }
    }

    #[test]
    fn enabled_and_masked_follow_is_enabled() {
        let cases: &[(Json, &str, i32, &[&str])] = &[
            (json!({"enabled": true}), "disabled", 1, &["enable"]),
            (json!({"enabled": true}), "enabled", 0, &[]),
            (json!({"enabled": true}), "static", 0, &[]),
            (json!({"enabled": false}), "enabled", 0, &["disable"]),
            (json!({"enabled": false}), "disabled", 1, &[]),
            (json!({"masked": true}), "enabled", 0, &["mask"]),
            (json!({"masked": true}), "masked", 1, &[]),
            (json!({"masked": false}), "masked", 1, &["unmask"]),
            (json!({"masked": false}), "disabled", 1, &[]),
            (
                json!({"masked": false, "enabled": true}),
                "masked",
                1,
                &["unmask", "enable"],
            ),
            (
                json!({"masked": true, "enabled": false, "state": "stopped"}),
                "enabled",
                0,
                &["mask", "stop"],
            ),
        ];
        for (wanted, word, rc, steps) in cases {
            let mut task = wanted.clone();
            task["name"] = json!("x");
            let d = decide(task, &facts(RUNNING, word, *rc));
            assert_eq!(verbs(&d), *steps, "{wanted} when {word}");
            if let Some(enabled) = wanted.get("enabled") {
                assert_eq!(&d.result["enabled"], enabled);
            }
        }
    }

    #[test]
    fn the_manager_commands_run_only_when_preparing() {
        let r = request(
            json!({"name": "x", "state": "started", "daemon_reload": true, "daemon_reexec": true}),
        )
        .expect("valid");
        let prepared = r.query_script(true);
        assert!(prepared.contains("systemctl daemon-reload"), "{prepared}");
        assert!(prepared.contains("systemctl daemon-reexec"), "{prepared}");
        let looked = r.query_script(false);
        assert!(!looked.contains("daemon-re"), "check mode: {looked}");
        assert!(looked.contains("systemctl show -- x"), "{looked}");
    }

    #[test]
    fn daemon_reload_alone_changes_nothing_and_needs_no_name() {
        let reloaded = UnitFacts::parse(&format!(
            "{m} booted yes\n{m} open daemon-reload\n{m} close daemon-reload 0\n",
            m = unit::MARK
        ));
        for facts in [reloaded.clone(), UnitFacts::default()] {
            let d = decide(json!({"daemon_reload": true}), &facts);
            assert!(d.plan.is_none());
            assert_eq!(d.result["name"], Json::Null);
            assert_eq!(d.result["status"], json!({}));
            assert!(d.result.get("warnings").is_none());
        }
        let mut failed = reloaded;
        failed.reload = Some(unit::Ran {
            rc: 1,
            output: "Access denied".into(),
        });
        let args: SystemdArgs = from_json(json!({"daemon_reload": true})).expect("valid");
        assert_eq!(
            SystemdService.decide(&args, failed).err().as_deref(),
            Some("failure 1 during daemon-reload: Access denied")
        );
    }
}

//! `systemd_service` (alias `systemd`): systemd units as Ansible's module manages them.
//! One query round trip (daemon-reexec/daemon-reload when asked, then `systemctl show`
//! and `systemctl is-enabled`), a pure decision ([`UnitRequest::decide`]), and one
//! script that masks, enables and starts (or the opposites) in that order.
//!
//! Why it implements [`Module`] and not the contract's `StateModule`: its query acts
//! before it reads. `daemon_reload` and `daemon_reexec` must run before `systemctl
//! show`, or a unit file installed by the task before is not found yet, and Ansible
//! skips them in check mode. The contract's query cannot know the mode, and moving the
//! reload into the plan would report every `daemon_reload` task changed. So `run`
//! passes the query whether it may act, and otherwise keeps the contract's shape:
//! typed arguments, one query, a pure decision, an apply skipped in check mode.

mod plan;
mod unit;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::typed::{Rules, TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param, Target};
use crate::connection::Command;
pub use plan::Wanted;
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

/// `systemd_service`: starts, stops, restarts, reloads, enables and masks systemd units.
pub struct SystemdService;

/// `systemd`: the older name of `systemd_service`.
pub struct Systemd;

#[async_trait]
impl Module for SystemdService {
    fn name(&self) -> &'static str {
        "systemd_service"
    }

    fn params(&self) -> &'static [Param] {
        SystemdArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        run_systemd(ctx, args).await
    }
}

#[async_trait]
impl Module for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn params(&self) -> &'static [Param] {
        SystemdArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        run_systemd(ctx, args).await
    }
}

/// Types the arguments, then queries, decides and applies.
async fn run_systemd(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
    let typed = SystemdArgs::from_args(args).map_err(ModuleError::Failed)?;
    let request = UnitRequest::from_typed(&typed).map_err(ModuleError::Failed)?;
    request.converge(ctx, Vec::new()).await
}

/// A checked `systemd_service` task.
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

/// What [`UnitRequest::decide`] chose: the steps to run (empty: nothing changes) and
/// the result, as Ansible reports it.
#[derive(Debug)]
pub struct Converged {
    /// The steps, in order.
    steps: Vec<plan::Step>,
    /// `name`, `status` (before the change), `enabled`, `state`, `warnings`.
    result: Outcome,
}

impl Converged {
    /// Whether anything changes.
    pub fn changes(&self) -> bool {
        !self.steps.is_empty()
    }

    /// The steps to run.
    pub fn steps(&self) -> &[plan::Step] {
        &self.steps
    }

    /// The result's keys.
    pub fn into_result(self) -> Outcome {
        self.result
    }
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

    /// Runs the query; daemon-reexec and daemon-reload first when asked and `may_act`
    /// (Ansible skips them in check mode).
    pub async fn query(&self, on: &Target<'_>, may_act: bool) -> Result<UnitFacts, ModuleError> {
        let systemctl = self.systemctl();
        let query = UnitQuery {
            systemctl: &systemctl,
            user_scope: self.scope != "system",
            reexec: self.reexec && may_act,
            reload: self.reload && may_act,
            unit: self.unit.as_deref(),
        };
        let mut command = Command::new(query.script());
        command.env = on.env.clone();
        let out = on.conn.exec(&command).await?;
        Ok(UnitFacts::parse(&out.stdout_text()))
    }

    /// Decides from `facts` what must change and what the result reports, as
    /// Ansible does: `name`, `status` (before the change), `enabled`, `state`.
    pub fn decide(
        &self,
        facts: &UnitFacts,
        mut warnings: Vec<String>,
    ) -> Result<Converged, String> {
        plan::check_manager(facts, &mut warnings)?;
        let mut result = Outcome::new();
        result.insert("name".into(), json!(self.unit));
        let Some(unit) = &self.unit else {
            result.insert("status".into(), json!({}));
            add_warnings(&mut result, warnings);
            return Ok(Converged {
                steps: Vec::new(),
                result,
            });
        };
        let decision = plan::decide(unit, facts, &self.wanted)?;
        warnings.extend(decision.warnings.iter().cloned());
        if let Some(enabled) = decision.enabled {
            result.insert("enabled".into(), json!(enabled));
        }
        if let Some(state) = &decision.state {
            result.insert("state".into(), json!(state));
        }
        result.insert("status".into(), Json::Object(decision.status));
        add_warnings(&mut result, warnings);
        Ok(Converged {
            steps: decision.steps,
            result,
        })
    }

    /// Runs the decided steps in one script.
    pub async fn apply(&self, on: &Target<'_>, steps: &[plan::Step]) -> Result<(), ModuleError> {
        let Some(unit) = &self.unit else {
            return Ok(());
        };
        let script = plan::apply_script(&self.systemctl(), unit, steps, self.scope != "system");
        let mut command = Command::new(script);
        command.env = on.env.clone();
        let out = on.conn.exec(&command).await?;
        match plan::apply_failure(unit, steps, &out.stdout_text()) {
            Some(msg) => Err(ModuleError::Failed(msg)),
            None => Ok(()),
        }
    }

    /// The whole task: query, decide, apply outside check mode; `warnings` are added
    /// to the result.
    pub async fn converge(
        &self,
        ctx: &ModuleContext<'_>,
        warnings: Vec<String>,
    ) -> Result<Outcome, ModuleError> {
        let facts = self.query(ctx, !ctx.check_mode).await?;
        let converged = self.decide(&facts, warnings).map_err(ModuleError::Failed)?;
        let changed = converged.changes();
        if changed && !ctx.check_mode {
            self.apply(ctx, converged.steps()).await?;
        }
        let mut outcome = super::ok(changed);
        outcome.extend(converged.into_result());
        Ok(outcome)
    }
}

/// Adds `warnings` to the result, when there are any.
fn add_warnings(outcome: &mut Outcome, warnings: Vec<String>) {
    if !warnings.is_empty() {
        outcome.insert("warnings".into(), json!(warnings));
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

    #[test]
    fn the_decision_reports_status_and_what_was_asked() {
        let r = request(json!({"name": "x", "state": "started", "enabled": true})).expect("valid");
        let stopped = facts(
            "Id=x.service\nLoadState=loaded\nActiveState=inactive",
            "disabled",
            1,
        );
        let converged = r.decide(&stopped, Vec::new()).expect("a decision");
        let verbs: Vec<&str> = converged.steps.iter().map(|s| s.verb).collect();
        assert_eq!(verbs, ["enable", "start"]);
        assert_eq!(converged.result["status"]["ActiveState"], json!("inactive"));
        assert_eq!(converged.result["enabled"], json!(true));
        assert_eq!(converged.result["state"], json!("started"));
        let running = facts(
            "Id=x.service\nLoadState=loaded\nActiveState=active",
            "enabled",
            0,
        );
        let converged = r
            .decide(&running, vec!["a warning".into()])
            .expect("a decision");
        assert!(converged.steps.is_empty());
        assert_eq!(converged.result["warnings"], json!(["a warning"]));
        let reload_only = request(json!({"daemon_reload": true})).expect("valid");
        let converged = reload_only
            .decide(&UnitFacts::default(), Vec::new())
            .expect("a decision");
        assert!(converged.steps.is_empty());
        assert_eq!(converged.result["status"], json!({}));
    }
}

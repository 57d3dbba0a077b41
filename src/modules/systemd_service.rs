//! `systemd_service` (alias `systemd`): systemd units as Ansible's module manages them.
//! One query round trip (daemon-reexec/daemon-reload when asked, then `systemctl show`
//! and `systemctl is-enabled`), the decision made here, and one script that masks,
//! enables and starts (or the opposites) in that order.

mod plan;
mod unit;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;
pub use plan::Wanted;
pub use unit::UnitFacts;
use unit::UnitQuery;

/// The parameters of `systemd_service` and `systemd`.
const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str).aliases(&["service", "unit"]),
    Param::new("state", Kind::Str).choices(&[
        "reloaded",
        "restarted",
        "started",
        "stopped",
        "tried-restart",
    ]),
    Param::new("enabled", Kind::Bool),
    Param::new("force", Kind::Bool),
    Param::new("masked", Kind::Bool),
    Param::new("daemon_reload", Kind::Bool).aliases(&["daemon-reload"]),
    Param::new("daemon_reexec", Kind::Bool).aliases(&["daemon-reexec"]),
    Param::new("scope", Kind::Str).choices(&["system", "user", "global"]),
    Param::new("no_block", Kind::Bool),
];

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
        PARAMS
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
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        run_systemd(ctx, args).await
    }
}

async fn run_systemd(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
    let request = UnitRequest::from_args(args).map_err(ModuleError::Failed)?;
    let facts = request.query(ctx).await?;
    request.converge(ctx, &facts, Vec::new()).await
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

impl UnitRequest {
    /// Checks the arguments as Ansible does.
    pub fn from_args(args: &Args) -> Result<UnitRequest, String> {
        let given = |name: &str| args.get(name).is_some();
        let one_of = [
            "state",
            "enabled",
            "masked",
            "daemon_reload",
            "daemon_reexec",
        ];
        if !one_of.iter().any(|name| given(name)) {
            return Err(format!(
                "one of the following is required: {}",
                one_of.join(", ")
            ));
        }
        let unit = args.str("name").map(str::to_string);
        if unit.is_none()
            && let Some(needs) = ["state", "enabled", "masked"]
                .into_iter()
                .find(|n| given(n))
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
        let scope = args.str("scope").unwrap_or("system").to_string();
        Ok(UnitRequest {
            unit,
            wanted: Wanted {
                state: args.str("state").map(str::to_string),
                enabled: args.get("enabled").and_then(Json::as_bool),
                masked: args.get("masked").and_then(Json::as_bool),
                system_scope: scope == "system",
            },
            reload: args.bool_or("daemon_reload", false),
            reexec: args.bool_or("daemon_reexec", false),
            scope,
            no_block: args.bool_or("no_block", false),
            force: args.bool_or("force", false),
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

    /// Runs the query (daemon-reexec and daemon-reload first, except in check mode).
    pub async fn query(&self, ctx: &ModuleContext<'_>) -> Result<UnitFacts, ModuleError> {
        let systemctl = self.systemctl();
        let query = UnitQuery {
            systemctl: &systemctl,
            user_scope: self.scope != "system",
            reexec: self.reexec && !ctx.check_mode,
            reload: self.reload && !ctx.check_mode,
            unit: self.unit.as_deref(),
        };
        let mut command = Command::new(query.script());
        command.env = ctx.env.clone();
        let out = ctx.conn.exec(&command).await?;
        Ok(UnitFacts::parse(&out.stdout_text()))
    }

    /// Decides from `facts`, applies (except in check mode) and reports as Ansible
    /// does: `name`, `changed`, `status` (before the change), `enabled`, `state`.
    pub async fn converge(
        &self,
        ctx: &ModuleContext<'_>,
        facts: &UnitFacts,
        mut warnings: Vec<String>,
    ) -> Result<Outcome, ModuleError> {
        plan::check_manager(facts, &mut warnings).map_err(ModuleError::Failed)?;
        let mut outcome = super::ok(false);
        outcome.insert("name".into(), json!(self.unit));
        let Some(unit) = &self.unit else {
            outcome.insert("status".into(), json!({}));
            add_warnings(&mut outcome, warnings);
            return Ok(outcome);
        };
        let decision = plan::decide(unit, facts, &self.wanted).map_err(ModuleError::Failed)?;
        warnings.extend(decision.warnings.iter().cloned());
        if !decision.steps.is_empty() && !ctx.check_mode {
            let script = plan::apply_script(
                &self.systemctl(),
                unit,
                &decision.steps,
                self.scope != "system",
            );
            let mut command = Command::new(script);
            command.env = ctx.env.clone();
            let out = ctx.conn.exec(&command).await?;
            if let Some(msg) = plan::apply_failure(unit, &decision.steps, &out.stdout_text()) {
                return Err(ModuleError::Failed(msg));
            }
        }
        outcome.insert("changed".into(), json!(!decision.steps.is_empty()));
        if let Some(enabled) = decision.enabled {
            outcome.insert("enabled".into(), json!(enabled));
        }
        if let Some(state) = &decision.state {
            outcome.insert("state".into(), json!(state));
        }
        outcome.insert("status".into(), Json::Object(decision.status));
        add_warnings(&mut outcome, warnings);
        Ok(outcome)
    }
}

fn add_warnings(outcome: &mut Outcome, warnings: Vec<String>) {
    if !warnings.is_empty() {
        outcome.insert("warnings".into(), json!(warnings));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn request(value: Json) -> Result<UnitRequest, String> {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        UnitRequest::from_args(&Args::parse(PARAMS, &raw)?)
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
}

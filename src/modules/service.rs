//! `service`: starts, stops and enables services whatever the init. Like Ansible's
//! action, it hands the task to `systemd_service` where systemd runs as PID 1 (found
//! by the same query round trip, without facts), and otherwise drives the init script
//! (`/etc/init.d/NAME` or the `service` command) itself.
//!
//! It implements [`Module`] and not the contract's `StateModule` for the reason
//! `systemd_service` does: the systemd query runs `daemon-reload` first, except in
//! check mode, which the contract's query cannot know. Both paths keep the contract's
//! shape: typed arguments, one query, a pure decision, an apply skipped in check mode.

mod sysv;

use async_trait::async_trait;

use super::systemd_service::{Scope, UnitFacts, UnitRequest, Wanted};
use super::typed::{Rules, TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;
use sysv::{SysvFacts, SysvRequest};

arg_enum! {
    /// What the service should be doing.
    pub enum ServiceState {
        Reloaded = "reloaded",
        Restarted = "restarted",
        Started = "started",
        Stopped = "stopped",
    }
}

module_args! {
    /// Ansible's `service` arguments, plus the systemd ones bosun passes on.
    pub struct ServiceArgs {
        /// The service's name.
        name: String => .required().aliases(&["service"]),
        state: Option<ServiceState>,
        /// Whether the service starts at boot.
        enabled: Option<bool>,
        /// Seconds between stop and start when an init script restarts.
        sleep: Option<i64>,
        /// A string in the process list that means the service runs.
        pattern: Option<String>,
        /// OpenRC's runlevel: warned about on systemd, unused by init scripts.
        runlevel: Option<String>,
        /// Extra arguments for the init script.
        arguments: Option<String> => .aliases(&["args"]),
        /// `auto`, `systemd`, `sysvinit` or `service`.
        r#use: String => .default_str("auto"),
        /// Whether the unit is masked (systemd only).
        masked: Option<bool>,
        /// Whether to run `daemon-reload` first (systemd only).
        daemon_reload: bool => .default_bool(false) .aliases(&["daemon-reload"]),
        /// Whether to run `daemon-reexec` first (systemd only).
        daemon_reexec: bool => .default_bool(false) .aliases(&["daemon-reexec"]),
        /// The systemd manager to talk to.
        scope: Scope => .default_str("system"),
    }
    rules: Rules { required_one_of: &[&["state", "enabled"]], ..Rules::NONE };
}

impl ServiceArgs {
    /// The task as `systemd_service` reads it.
    fn unit_request(&self) -> UnitRequest {
        UnitRequest {
            unit: Some(self.name.clone()),
            wanted: Wanted {
                state: self.state.map(|s| s.as_str().to_string()),
                enabled: self.enabled,
                masked: self.masked,
                system_scope: self.scope == Scope::System,
            },
            reload: self.daemon_reload,
            reexec: self.daemon_reexec,
            scope: self.scope.as_str().to_string(),
            no_block: false,
            force: false,
        }
    }

    /// The task as the init script path reads it.
    fn sysv_request(&self) -> SysvRequest {
        SysvRequest {
            name: self.name.clone(),
            state: self.state.map(|s| s.as_str().to_string()),
            enabled: self.enabled,
            pattern: self.pattern.clone(),
            sleep: self.sleep,
            arguments: self.arguments.clone(),
        }
    }

    /// The warnings for init-script options given to a systemd host (Ansible's
    /// service action drops them, with a warning).
    fn ignored_by_systemd(&self) -> Vec<String> {
        [
            ("sleep", self.sleep.is_some()),
            ("pattern", self.pattern.is_some()),
            ("runlevel", self.runlevel.is_some()),
            ("arguments", self.arguments.is_some()),
        ]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| format!("Ignoring \"{name}\" as it is not used in \"systemd\""))
        .collect()
    }

    /// Refuses the systemd-only options where there is no systemd.
    fn check_sysv(&self) -> Result<(), String> {
        let systemd_only = [
            ("masked", self.masked == Some(true)),
            ("daemon_reload", self.daemon_reload),
            ("daemon_reexec", self.daemon_reexec),
        ];
        match systemd_only.into_iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(format!(
                "{name} needs systemd, which does not run on this host"
            )),
            None => Ok(()),
        }
    }
}

/// `service`: manages services with systemd or init scripts.
pub struct Service;

#[async_trait]
impl Module for Service {
    fn name(&self) -> &'static str {
        "service"
    }

    fn params(&self) -> &'static [Param] {
        ServiceArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = ServiceArgs::from_args(args).map_err(ModuleError::Failed)?;
        match args.r#use.as_str() {
            "auto" | "systemd" => {
                let request = args.unit_request();
                let facts: UnitFacts = request.query(ctx, !ctx.check_mode).await?;
                if facts.booted || args.r#use == "systemd" {
                    return converge_systemd(ctx, &request, &facts, &args).await;
                }
                run_sysv(ctx, &args).await
            }
            "sysvinit" | "service" => run_sysv(ctx, &args).await,
            other => Err(ModuleError::Failed(format!(
                "service: use={other} is not supported yet (auto, systemd and sysvinit are)"
            ))),
        }
    }
}

/// The systemd path, from the query's answer: decide, apply outside check mode.
async fn converge_systemd(
    ctx: &ModuleContext<'_>,
    request: &UnitRequest,
    facts: &UnitFacts,
    args: &ServiceArgs,
) -> Result<Outcome, ModuleError> {
    let converged = request
        .decide(facts, args.ignored_by_systemd())
        .map_err(ModuleError::Failed)?;
    let changed = converged.changes();
    if changed && !ctx.check_mode {
        request.apply(ctx, converged.steps()).await?;
    }
    let mut outcome = super::ok(changed);
    outcome.extend(converged.into_result());
    Ok(outcome)
}

/// The init script path: one query, the decision, one apply.
async fn run_sysv(ctx: &ModuleContext<'_>, args: &ServiceArgs) -> Result<Outcome, ModuleError> {
    args.check_sysv().map_err(ModuleError::Failed)?;
    let request = args.sysv_request();
    let exec = |script: String| {
        let mut command = Command::new(script);
        command.env = ctx.env.clone();
        command
    };
    let out = ctx.conn.exec(&exec(request.query_script())).await?;
    let facts = SysvFacts::parse(&out.stdout_text());
    let decision = request.decide(&facts).map_err(ModuleError::Failed)?;
    if !decision.steps.is_empty() && !ctx.check_mode {
        let out = ctx.conn.exec(&exec(sysv::apply_script(&decision))).await?;
        if let Some(msg) = sysv::apply_failure(&request.name, &out.stdout_text()) {
            return Err(ModuleError::Failed(msg));
        }
    }
    let mut outcome = super::ok(!decision.steps.is_empty());
    outcome.extend(request.result());
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn args(value: serde_json::Value) -> Result<ServiceArgs, String> {
        from_json(value)
    }

    #[test]
    fn state_or_enabled_is_required() {
        assert_eq!(
            args(json!({"name": "cron"})).err().as_deref(),
            Some("one of the following is required: state, enabled")
        );
        let typed = args(json!({"name": "cron", "state": "started", "sleep": 2, "args": "-x"}))
            .expect("valid");
        assert_eq!(
            typed.ignored_by_systemd(),
            [
                "Ignoring \"sleep\" as it is not used in \"systemd\"",
                "Ignoring \"arguments\" as it is not used in \"systemd\""
            ]
        );
        assert_eq!(typed.r#use, "auto");
    }

    #[test]
    fn the_task_reaches_both_paths() {
        let typed = args(json!({"name": "cron", "enabled": true, "masked": true})).expect("valid");
        let unit = typed.unit_request();
        assert_eq!(unit.unit.as_deref(), Some("cron"));
        assert_eq!(unit.wanted.masked, Some(true));
        assert!(unit.wanted.system_scope);
        assert_eq!(
            typed.check_sysv(),
            Err("masked needs systemd, which does not run on this host".into())
        );
        let sysv = typed.sysv_request();
        assert_eq!(sysv.enabled, Some(true));
        assert_eq!(sysv.state, None);
    }
}

//! `service`: starts, stops and enables services whatever the init. Like Ansible's
//! action, it hands the task to `systemd_service` where systemd runs as PID 1 (found
//! by the same query round trip, without facts), and otherwise drives the init script
//! (`/etc/init.d/NAME` or the `service` command) itself.

mod sysv;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::systemd_service::{UnitFacts, UnitRequest};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;
use sysv::{SysvFacts, SysvRequest};

/// Ansible's `service` parameters, plus the systemd ones bosun passes on.
const PARAMS: &[Param] = &[
    Param::new("name", Kind::Str)
        .required()
        .aliases(&["service"]),
    Param::new("state", Kind::Str).choices(&["reloaded", "restarted", "started", "stopped"]),
    Param::new("enabled", Kind::Bool),
    Param::new("sleep", Kind::Int),
    Param::new("pattern", Kind::Str),
    Param::new("runlevel", Kind::Str),
    Param::new("arguments", Kind::Str).aliases(&["args"]),
    Param::new("use", Kind::Str),
    Param::new("masked", Kind::Bool),
    Param::new("daemon_reload", Kind::Bool).aliases(&["daemon-reload"]),
    Param::new("daemon_reexec", Kind::Bool).aliases(&["daemon-reexec"]),
    Param::new("scope", Kind::Str).choices(&["system", "user", "global"]),
];

/// The init-script options systemd has no use for (Ansible's service action drops
/// them, with a warning).
const NOT_FOR_SYSTEMD: &[&str] = &["sleep", "pattern", "runlevel", "arguments"];

/// `service`: manages services with systemd or init scripts.
pub struct Service;

#[async_trait]
impl Module for Service {
    fn name(&self) -> &'static str {
        "service"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        if args.get("state").is_none() && args.get("enabled").is_none() {
            return Err(ModuleError::Failed(
                "one of the following is required: state, enabled".into(),
            ));
        }
        match args.str("use").unwrap_or("auto") {
            "auto" | "systemd" => {
                let request = UnitRequest::from_args(args).map_err(ModuleError::Failed)?;
                let facts: UnitFacts = request.query(ctx).await?;
                if facts.booted || args.str("use") == Some("systemd") {
                    return request.converge(ctx, &facts, ignored(args)).await;
                }
                run_sysv(ctx, args).await
            }
            "sysvinit" | "service" => run_sysv(ctx, args).await,
            other => Err(ModuleError::Failed(format!(
                "service: use={other} is not supported yet (auto, systemd and sysvinit are)"
            ))),
        }
    }
}

/// The warnings for init-script options given to a systemd host.
fn ignored(args: &Args) -> Vec<String> {
    NOT_FOR_SYSTEMD
        .iter()
        .filter(|name| args.get(name).is_some())
        .map(|name| format!("Ignoring \"{name}\" as it is not used in \"systemd\""))
        .collect()
}

/// The init script path: one query, the decision, one apply.
async fn run_sysv(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
    let systemd_only = ["masked", "daemon_reload", "daemon_reexec"];
    if let Some(name) = systemd_only
        .iter()
        .find(|name| args.get(name).and_then(Json::as_bool) == Some(true))
    {
        return Err(ModuleError::Failed(format!(
            "{name} needs systemd, which does not run on this host"
        )));
    }
    let request = SysvRequest {
        name: args.str("name").unwrap_or_default().to_string(),
        state: args.str("state").map(str::to_string),
        enabled: args.get("enabled").and_then(Json::as_bool),
        pattern: args.str("pattern").map(str::to_string),
        sleep: args.int("sleep"),
        arguments: args.str("arguments").map(str::to_string),
    };
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
    outcome.insert("name".into(), json!(request.name));
    if let Some(state) = &request.state {
        outcome.insert("state".into(), json!(state));
    }
    if let Some(enabled) = request.enabled {
        outcome.insert("enabled".into(), json!(enabled));
    }
    Ok(outcome)
}
